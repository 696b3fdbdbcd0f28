//! The health engine against a real Prometheus, on the health fixture: every state comes
//! from series backfilled with promtool and queried at fixed times, so the outcome does not
//! depend on the clock.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rackscope_core::Severity::{self, *};
use rackscope_core::telemetry::{AlertTarget, Engine, Snapshot, TargetHealth};
use rackscope_prometheus::PrometheusClient;

use crate::support;
use crate::support::fixture::{T0, data};
use crate::support::prom::{OpenMetrics, Prometheus};

fn at(offset: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(T0 + offset)
}

fn engine(prom: &Prometheus) -> Arc<Engine> {
    engine_with(prom, |_| {})
}

fn engine_with(
    prom: &Prometheus,
    tune: impl FnOnce(&mut rackscope_core::model::app::AppConfig),
) -> Arc<Engine> {
    engine_at(&prom.url(), tune)
}

/// The fixture's engine over any Prometheus-API backend at `url`.
fn engine_at(
    url: &str,
    tune: impl FnOnce(&mut rackscope_core::model::app::AppConfig),
) -> Arc<Engine> {
    let mut loaded = support::load(&support::root().join("tests/fixtures/health/app.yaml"));
    loaded.config.app.telemetry.prometheus_url = Some(url.to_owned());
    tune(&mut loaded.config.app);
    let client =
        PrometheusClient::from_config(&loaded.config.app.telemetry, Path::new(".")).unwrap();
    Arc::new(Engine::new(Arc::new(loaded.config), Arc::new(client)))
}

fn node(s: &Snapshot, name: &str) -> TargetHealth {
    let i = s.config.topology.instance_ix(name).unwrap();
    s.health.nodes[i.index()].clone()
}

fn rack(s: &Snapshot, id: &str) -> Option<Severity> {
    s.health.racks[s.config.topology.rack_ix(id).unwrap().index()].state
}

fn check(s: &Snapshot, th: &TargetHealth, id: &str) -> rackscope_core::telemetry::CheckResult {
    th.checks
        .iter()
        .find(|c| &*s.plan.checks[c.check as usize].id == id)
        .cloned()
        .unwrap()
}

/// Where an alert sits: site/room/aisle/rack/device ids.
fn location(s: &Snapshot, target: AlertTarget) -> String {
    let (rack, device, _) = s.locate(target);
    s.config.topology.path(rack, device).join("/")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_from_a_real_prometheus() {
    let Some(mut prom) = Prometheus::start(&data()) else {
        return;
    };
    let engine = engine(&prom);
    let s = engine.refresh_at(at(0)).await;
    assert!(s.errors.is_empty(), "{:?}", s.errors);
    assert!(s.stale.is_none());
    // max_ids_per_query is 3: every check is split, and identical chunks are sent once.
    assert_eq!(s.query_count, s.plan.queries.len());
    assert!(s.query_count > s.plan.checks.len() * 2, "{}", s.query_count);
    assert!(s.plan.queries.iter().all(|q| q.ids <= 3));

    // A node down is CRIT at every level, and alerted with its full location.
    assert_eq!(node(&s, "node.1").state, Some(Crit));
    assert_eq!(rack(&s, "r01"), Some(Crit));
    let topo = &s.config.topology;
    assert_eq!(s.health.aisles[0], Some(Crit));
    assert_eq!(
        s.health.rooms[topo.room_ix("room-a").unwrap().index()],
        Some(Crit)
    );
    assert_eq!(
        s.health.sites[topo.site_ix("dc1").unwrap().index()],
        Some(Crit)
    );
    assert_eq!(s.health.global, Some(Crit));
    let down = s
        .health
        .alerts
        .iter()
        .find(|a| a.target == AlertTarget::Node(topo.instance_ix("node.1").unwrap().get()))
        .unwrap();
    assert_eq!(
        location(&s, down.target),
        "dc1/room-a/aisle-1/r01/chassis-1"
    );
    assert_eq!(&*s.plan.checks[down.checks[0].check as usize].id, "node_up");

    // Ids with regex metacharacters match their own series, not the decoys.
    assert_eq!(check(&s, &node(&s, "a+b"), "node_up").severity, Ok);
    assert_eq!(check(&s, &node(&s, "a+b"), "node_up").value, Some(1.0));

    // Temperature thresholds.
    assert_eq!(node(&s, "n03").state, Some(Warn));
    assert_eq!(node(&s, "n04").state, Some(Crit));
    assert_eq!(
        check(&s, &node(&s, "n04"), "node_temperature").value,
        Some(50.0)
    );
    // No series: UNKNOWN with the reason.
    let n16 = check(&s, &node(&s, "n16"), "node_temperature");
    assert_eq!(n16.severity, Unknown);
    assert!(n16.reason().unwrap().contains("no data"));

    // Rack-scope PDU check: sum over inlets (r02: 14 A WARN, r03: 20 A CRIT); r10 has no
    // PDU in its template, so its 60 A is never asked for.
    let r02 = s.config.topology.rack_ix("r02").unwrap().index();
    assert_eq!(
        check(&s, &s.health.racks[r02], "pdu_current").severity,
        Warn
    );
    assert_eq!(
        check(&s, &s.health.racks[r02], "pdu_current").value,
        Some(14.0)
    );
    assert_eq!(rack(&s, "r03"), Some(Crit));
    assert_eq!(rack(&s, "r10"), Some(Unknown), "n16 has no temperature");
    // Chassis scope rolls into device and rack.
    assert!(
        s.health
            .alerts
            .iter()
            .any(|a| matches!(a.target, AlertTarget::Device(d)
        if s.config.topology.devices[d].id == "chassis-2"))
    );

    // One failed disk, below expand_crit_threshold 2: WARN, alerted with its slot.
    let da = node(&s, "da01-c1");
    assert_eq!(da.state, Some(Warn));
    let disk = s
        .health
        .alerts
        .iter()
        .find(|a| a.target == AlertTarget::Node(topo.instance_ix("da01-c1").unwrap().get()))
        .unwrap();
    assert_eq!(disk.checks.len(), 1);
    assert_eq!(disk.checks[0].slot.as_deref(), Some("3"));
    assert_eq!(location(&s, disk.target), "dc1/room-a/aisle-1/r01/da01");

    // for: 1m: pending at T0, still pending at T0+30, firing at T0+61.
    let fan = check(&s, &node(&s, "n05"), "node_fan");
    assert_eq!(fan.severity, Ok);
    assert_eq!(fan.pending.unwrap().severity, Crit);
    let s = engine.refresh_at(at(30)).await;
    assert!(check(&s, &node(&s, "n05"), "node_fan").pending.is_some());
    let s = engine.refresh_at(at(61)).await;
    let fan = check(&s, &node(&s, "n05"), "node_fan");
    assert_eq!((fan.severity, fan.pending), (Crit, None));

    // The second disk fails at T0+100: the threshold is reached.
    let s = engine.refresh_at(at(120)).await;
    assert_eq!(node(&s, "da01-c1").state, Some(Crit));
    let before = s.health.clone();

    // Prometheus killed: the last snapshot stays, marked stale…
    prom.kill();
    let s = engine.refresh_at(at(130)).await;
    let stale = s.stale.clone().expect("stale");
    assert!(!stale.expired);
    assert!(stale.reason.contains("unreachable"), "{}", stale.reason);
    assert!(Arc::ptr_eq(&s.health, &before));
    assert_eq!(node(&s, "node.1").state, Some(Crit));
    // …then, past stale_after_seconds (60), everything is UNKNOWN with the reason…
    let s = engine.refresh_at(at(200)).await;
    assert!(s.stale.as_ref().unwrap().expired);
    let r = check(&s, &node(&s, "node.1"), "node_up");
    assert_eq!(r.severity, Unknown);
    assert!(
        r.reason()
            .unwrap()
            .contains("Prometheus unavailable for 70 s")
    );
    assert_eq!(s.health.global, Some(Unknown));
    // …and when it is back, states recover on the next refresh.
    prom.restart();
    let s = engine.refresh_at(at(210)).await;
    assert!(s.stale.is_none(), "{:?}", s.stale);
    assert_eq!(node(&s, "node.1").state, Some(Crit));
    assert_eq!(node(&s, "n09").state, Some(Ok));
    let stats = engine.stats();
    assert!(stats.query_errors > 0);
    assert!(stats.avg_ms.is_some() && stats.last_ts.is_some());
}

/// `planner.max_query_bytes` (issue #24): chunks over the byte bound are split before they
/// are sent, and the real Prometheus answers the smaller queries with the same states and
/// values as the one large query of each check.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queries_over_the_byte_bound_are_split_and_answered_alike() {
    let Some(prom) = Prometheus::start(&data()) else {
        return;
    };
    let whole = engine_with(&prom, |a| {
        a.planner.max_ids_per_query = 1000;
        a.planner.max_query_bytes = 0;
    });
    let split = engine_with(&prom, |a| {
        a.planner.max_ids_per_query = 1000;
        a.planner.max_query_bytes = 60;
    });
    let (a, b) = (whole.refresh_at(at(0)).await, split.refresh_at(at(0)).await);
    assert!(
        a.errors.is_empty() && b.errors.is_empty(),
        "{:?} {:?}",
        a.errors,
        b.errors
    );
    assert!(
        b.query_count > a.query_count,
        "{} vs {}",
        b.query_count,
        a.query_count
    );
    assert!(
        b.plan.queries.iter().filter(|q| q.expr.len() > 60).count()
            < a.plan.queries.iter().filter(|q| q.expr.len() > 60).count()
    );
    for i in &a.config.topology.instances {
        let (x, y) = (node(&a, &i.name), node(&b, &i.name));
        assert_eq!(x.state, y.state, "{}", i.name);
        let values = |t: &TargetHealth| {
            t.checks
                .iter()
                .map(|c| (c.severity, c.value.map(f64::to_bits)))
                .collect::<Vec<_>>()
        };
        assert_eq!(values(&x), values(&y), "{}", i.name);
    }
    assert_eq!(a.health.global, b.health.global);
}

/// Any Prometheus-API backend (issue #24): VictoriaMetrics, fed the same series, gives the
/// health fixture the same states and values as Prometheus at the instants the health
/// suite checks; the byte bound (`planner.max_query_bytes`) keeps every query under its
/// query-length limit, and a query it refuses all the same is asked again in halves.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn victoria_metrics_answers_as_prometheus_does() {
    let Some(prom) = Prometheus::start(&data()) else {
        return;
    };
    let Some(vm) = crate::support::vm::VictoriaMetrics::start(&data(), &["-search.maxQueryLen=70"])
    else {
        return;
    };
    let states = |s: &Snapshot| {
        s.config
            .topology
            .instances
            .iter()
            .map(|i| {
                let t = node(s, &i.name);
                let checks: Vec<_> = t
                    .checks
                    .iter()
                    .map(|c| (c.severity, c.value.map(f64::to_bits)))
                    .collect();
                (i.name.clone(), t.state, checks)
            })
            .collect::<Vec<_>>()
    };
    let bounded = |a: &mut rackscope_core::model::app::AppConfig| {
        a.planner.max_ids_per_query = 1000;
        a.planner.max_query_bytes = 70;
    };
    let p = engine_with(&prom, bounded);
    let v = engine_at(&vm.url(), bounded);
    for offset in [0, 30, 90] {
        let (a, b) = (
            p.refresh_at(at(offset)).await,
            v.refresh_at(at(offset)).await,
        );
        assert!(a.errors.is_empty(), "{:?}", a.errors);
        assert!(b.errors.is_empty(), "VictoriaMetrics: {:?}", b.errors);
        assert_eq!(states(&a), states(&b), "at T0+{offset}");
        assert_eq!(a.health.global, b.health.global);
    }
    // Without the bound, VictoriaMetrics refuses the long queries: each is asked again in
    // halves, and the states are the same, none UNKNOWN for it.
    let unbounded = engine_at(&vm.url(), |a| {
        a.planner.max_ids_per_query = 1000;
        a.planner.max_query_bytes = 0;
    });
    // Against a fresh engine: `p`'s `for:` timers have run since T0.
    let fresh = engine_with(&prom, bounded);
    let (a, b) = (
        fresh.refresh_at(at(0)).await,
        unbounded.refresh_at(at(0)).await,
    );
    assert!(
        b.plan.queries.iter().any(|q| q.expr.len() > 70),
        "some planned query is over VictoriaMetrics' limit"
    );
    assert!(b.errors.is_empty(), "{:?}", b.errors);
    // The refused ones went again as pieces: more queries sent than planned.
    assert!(
        unbounded.stats().query_count > b.plan.queries.len() as u64,
        "{} sent, {} planned",
        unbounded.stats().query_count,
        b.plan.queries.len()
    );
    assert_eq!(states(&a), states(&b));
}

/// Issue #24's restart: a fresh process rebuilds its `for:` timers from Prometheus
/// (`Engine::warm_up`), so it reports n05's failed fan pending since it failed, as the
/// process that watched it fail does, and fires at the same refresh.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_keeps_a_pending_for_timer() {
    let Some(prom) = Prometheus::start(&data()) else {
        return;
    };
    let since = |s: &Snapshot| {
        check(s, &node(s, "n05"), "node_fan")
            .pending
            .map(|p| (p.severity, p.since))
    };
    let watched = engine(&prom);
    watched.refresh_at(at(0)).await;
    let a = watched.refresh_at(at(30)).await;
    assert_eq!(
        since(&a),
        Some((Crit, at(0))),
        "pending since the fan failed"
    );

    let restarted = engine(&prom);
    assert!(restarted.warm_up(at(30)).await > 0);
    let b = restarted.refresh_at(at(30)).await;
    assert_eq!(since(&b), since(&a));
    // Without the rebuild, the timer would start at the restart.
    let naive = engine(&prom);
    let n = naive.refresh_at(at(30)).await;
    assert_eq!(since(&n), Some((Crit, at(30))));
    // Both fire at T0+60; the naive one only at T0+90.
    let (a, b) = (
        watched.refresh_at(at(60)).await,
        restarted.refresh_at(at(60)).await,
    );
    assert_eq!(node(&a, "n05").state, Some(Crit));
    assert_eq!(node(&b, "n05").state, Some(Crit));
    let n = naive.refresh_at(at(60)).await;
    assert_eq!(node(&n, "n05").state, Some(Ok));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_surfaces_errors_and_runs_range_queries() {
    let mut om = OpenMetrics::default();
    om.constant("x", &[("instance", "a")], T0 - 60, T0, 5.0);
    let Some(prom) = Prometheus::start(&om.finish()) else {
        return;
    };
    let t = rackscope_core::model::app::Telemetry {
        prometheus_url: Some(prom.url()),
        ..Default::default()
    };
    let c = PrometheusClient::from_config(&t, Path::new(".")).unwrap();
    use rackscope_core::telemetry::{MetricsSource, RangeSpec, SourceError};
    let e = c.instant("sum(", at(0)).await.unwrap_err();
    match &e {
        SourceError::Api {
            status, error_type, ..
        } => assert_eq!((*status, error_type.as_str()), (400, "bad_data")),
        other => panic!("{other:?}"),
    }
    assert!(!e.is_unavailable());
    let r = c
        .range(
            "x",
            RangeSpec {
                start: at(0) - Duration::from_secs(60),
                end: at(0),
                step: Duration::from_secs(30),
            },
        )
        .await
        .unwrap();
    assert_eq!(r.series[0].points.len(), 3);
    assert_eq!(r.series[0].points[2], ((T0) as f64, 5.0));
    let v = c.instant("x", at(0)).await.unwrap();
    assert_eq!(v.samples[0].labels.get("instance"), Some("a"));
}

/// TLS with a private CA, a required client certificate, and basic auth, all checked by
/// Prometheus itself (`--web.config.file`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_speaks_tls_client_certificates_and_basic_auth() {
    let tls = support::root().join("tests/fixtures/tls");
    let web = format!(
        "tls_server_config:\n  cert_file: {0}/server.pem\n  key_file: {0}/server-key.pem\n  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: {0}/ca.pem\nbasic_auth_users:\n  rackscope: '$2b$10$hoHYJw5kfvbXh0Jvho9fzuIs4CkNfTrn7nhuhUbvrV9.ZAYQGgtUu'\n",
        tls.display()
    );
    let mut om = OpenMetrics::default();
    om.constant("x", &[("instance", "a")], T0 - 60, T0, 5.0);
    let Some(prom) = Prometheus::start_with(&om.finish(), Some(&web)) else {
        return;
    };
    let good = rackscope_core::model::app::Telemetry {
        prometheus_url: Some(prom.url()),
        basic_auth_user: Some("rackscope".into()),
        basic_auth_password: Some("rackscope-test".into()),
        tls_ca_file: Some("ca.pem".into()),
        tls_cert_file: Some("client.pem".into()),
        tls_key_file: Some("client-key.pem".into()),
        ..Default::default()
    };
    use rackscope_core::telemetry::{MetricsSource, SourceError};
    let q = |t: &rackscope_core::model::app::Telemetry| {
        let c = PrometheusClient::from_config(t, &tls).unwrap();
        async move { c.instant("x", at(0)).await }
    };
    assert_eq!(q(&good).await.unwrap().samples[0].value, 5.0);

    // Without the CA the server certificate is refused, unless verification is off.
    let no_ca = rackscope_core::model::app::Telemetry {
        tls_ca_file: None,
        ..good.clone()
    };
    let e = q(&no_ca).await.unwrap_err();
    assert!(
        e.is_unavailable() && e.to_string().to_lowercase().contains("certificate"),
        "{e}"
    );
    let insecure = rackscope_core::model::app::Telemetry {
        tls_verify: false,
        ..no_ca
    };
    assert!(q(&insecure).await.is_ok());

    // Without the client certificate the handshake fails.
    let no_cert = rackscope_core::model::app::Telemetry {
        tls_cert_file: None,
        tls_key_file: None,
        ..good.clone()
    };
    assert!(q(&no_cert).await.unwrap_err().is_unavailable());

    // A wrong password is refused with a message that says what to fix.
    let wrong = rackscope_core::model::app::Telemetry {
        basic_auth_password: Some("nope".into()),
        ..good
    };
    match q(&wrong).await.unwrap_err() {
        SourceError::Http { status, body } => {
            assert_eq!(status, 401);
            assert!(body.contains("basic_auth_user"), "{body}");
        }
        other => panic!("{other:?}"),
    }
}

/// `rackscope health`: one refresh printed as the tree and the alerts with their location.
#[test]
fn health_command_prints_the_tree_and_alerts() {
    let Some(prom) = Prometheus::start(&data()) else {
        return;
    };
    let app = support::root().join("tests/fixtures/health/app.yaml");
    let out = support::bin()
        .arg("health")
        .arg(&app)
        .args(["--prometheus", &prom.url(), "--at", &T0.to_string()])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("global: CRIT"), "{stdout}");
    assert!(
        stdout.contains("CRIT dc1/room-a/aisle-1/r01/chassis-1 node.1: node_up=0 CRIT"),
        "{stdout}"
    );
    assert!(
        stdout.contains("WARN dc1/room-a/aisle-1/r01/da01 da01-c1: eseries_drive_status[3]=1 CRIT"),
        "{stdout}"
    );
    assert!(stdout.contains("site dc2 UNKNOWN"), "{stdout}");
}
