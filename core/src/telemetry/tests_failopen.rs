//! Fail-open tests (issue #15): NaN and ±Inf samples, refreshes whose queries all fail,
//! a panicking source under the supervised loop, staleness judged at read time, and the
//! headline roll-up property.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use proptest::prelude::*;

use super::eval::{Answer, ForMemory, Health, evaluate};
use super::freshness::fresh_for_seconds;
use super::source::SourceError;
use super::tests::{World, answering, check_state, fixture, node, t0};
use super::*;
use crate::config::Config;
use crate::severity::Severity::{self, *};
use crate::testkit::{Table, row};
use crate::topology::RackIx;

fn evaluate_world(config: &Config, w: &World) -> (Plan, Health) {
    let p = plan(config);
    let answers: Vec<_> = p.queries.iter().map(|q| w.answer(&q.expr)).collect();
    let view: Vec<Answer<'_>> = answers
        .iter()
        .map(|a| Answer::Ok(a.as_ref().unwrap()))
        .collect();
    let h = evaluate(config, &p, &view, t0(), &mut ForMemory::default());
    (p, h)
}

fn engine_on(config: Config, src: Table) -> Arc<Engine> {
    Arc::new(Engine::new(Arc::new(config), Arc::new(src)))
}

#[tokio::test]
async fn a_nan_sample_is_unknown_with_the_reason_never_ok() {
    let config = fixture();
    let mut w = World::healthy(&config);
    w.set("up", "n03", f64::NAN);
    w.set("node_temperature_celsius", "n05", f64::NAN);
    let s = engine_on(config, w.table()).refresh_at(t0()).await;
    for (name, check) in [("n03", "node_up"), ("n05", "node_temperature")] {
        let r = check_state(&s, &node(&s, name), check);
        assert_eq!(r.severity, Unknown, "{name} {check}");
        assert_eq!(r.reason(), Some("value is NaN"));
        assert_eq!(node(&s, name).state, Some(Unknown));
    }
    // Nothing else is wrong: the headline is UNKNOWN, not OK.
    assert_eq!(s.health.global, Some(Unknown));
    assert!(s.health.alerts.is_empty());
    assert_eq!(node(&s, "n04").state, Some(Ok));
}

#[tokio::test]
async fn infinities_compare_as_numbers() {
    let config = fixture();
    let mut w = World::healthy(&config);
    w.set("node_temperature_celsius", "n03", f64::INFINITY);
    w.set("node_temperature_celsius", "n04", f64::NEG_INFINITY);
    w.set("up", "n05", f64::INFINITY);
    let s = engine_on(config, w.table()).refresh_at(t0()).await;
    let hot = check_state(&s, &node(&s, "n03"), "node_temperature");
    assert_eq!((hot.severity, hot.reason()), (Crit, None), "+Inf > 45");
    let cold = check_state(&s, &node(&s, "n04"), "node_temperature");
    assert_eq!(cold.severity, Ok, "-Inf is below every threshold");
    let up = check_state(&s, &node(&s, "n05"), "node_up");
    assert_eq!(up.severity, Ok, "+Inf is not == 0");
}

pub(super) fn scripted() -> Config {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/scripted/app.yaml");
    let loaded = crate::load_with_env(&p, std::iter::empty());
    assert!(loaded.is_usable(), "{:?}", loaded.diagnostics);
    loaded.config
}

/// The scripted fixture's Prometheus: probes (mode "ok", so the script says OK) at 1 except
/// n03's at NaN; three PSUs per chassis at 0 (working), except a NaN PSU in chassis-1 and
/// chassis-3, and a failed one (1) in chassis-1.
fn scripted_table(config: &Config) -> Table {
    let mut rows = Vec::new();
    for i in &config.topology.instances {
        let v = if i.name == "n03" { f64::NAN } else { 1.0 };
        rows.push(row(
            "scripted_probe",
            &[("instance", &i.name), ("mode", "ok")],
            v,
        ));
    }
    for d in &config.topology.devices {
        for psu in ["1", "2", "3"] {
            let v = match (d.id.as_str(), psu) {
                ("chassis-1" | "chassis-3", "2") => f64::NAN,
                ("chassis-1", "3") => 1.0,
                _ => 0.0,
            };
            rows.push(row(
                "chassis_psu_status",
                &[("chassis_id", &d.id), ("psu", psu)],
                v,
            ));
        }
    }
    Table::new(rows)
}

#[tokio::test]
async fn a_script_may_raise_a_nan_sample_but_not_call_it_ok() {
    let config = scripted();
    let table = scripted_table(&config);
    let s = engine_on(config, table).refresh_at(t0()).await;
    // The probe script returns OK whatever the value: for NaN that is not knowledge.
    let probe = check_state(&s, &node(&s, "n03"), "probe");
    assert_eq!(probe.severity, Unknown);
    assert_eq!(probe.reason(), Some("value is NaN"));
    assert_eq!(check_state(&s, &node(&s, "n04"), "probe").severity, Ok);
    let topo = &s.config.topology;
    let psu = |id: &str| {
        let d = topo.devices.iter().position(|d| d.id == id).unwrap();
        check_state(&s, &s.health.devices[d], "psu_redundancy")
    };
    // The aggregate script (`r.value != 0.0`) does not count the NaN PSU as lost and says
    // OK: not knowledge, so UNKNOWN with the reason.
    let c3 = psu("chassis-3");
    assert_eq!(c3.severity, Unknown, "{c3:?}");
    assert_eq!(c3.reason(), Some("value is NaN"));
    // A WARN the script found beside a NaN series stands, with its message.
    let c1 = psu("chassis-1");
    assert_eq!(c1.severity, Warn, "{c1:?}");
    assert_eq!(c1.message.as_deref(), Some("1 of 3 PSUs lost"));
    assert_eq!(c1.reason(), None);
    assert_eq!(psu("chassis-2").severity, Ok);
}

fn failing(err: SourceError) -> Table {
    answering(move |_| Err(err.clone()))
}

fn http_500() -> SourceError {
    SourceError::Api {
        status: 500,
        error_type: "internal".into(),
        error: "storage is broken".into(),
        warnings: vec![],
    }
}

#[tokio::test]
async fn every_query_failing_is_a_failed_refresh_whatever_the_error() {
    for err in [
        http_500(),
        SourceError::Decode("expected value at line 1".into()),
    ] {
        let config = fixture();
        let racks = config.topology.racks.len();
        let engine = engine_on(config, failing(err.clone()));
        let s = engine.refresh_at(t0()).await;
        let stale = s.stale.clone().expect("a failed refresh is flagged");
        assert_eq!(stale.cause, StaleCause::RefreshFailed);
        assert!(stale.expired, "no earlier states to show: {err}");
        assert!(
            stale.reason.contains("every query failed"),
            "{}",
            stale.reason
        );
        assert_eq!(s.health.global, Some(Unknown));
        let unknown = s.health.racks.iter().filter(|r| r.state == Some(Unknown));
        assert_eq!(unknown.count(), racks);
        let st = engine.stats();
        assert_eq!((st.refreshes_failed, st.last_refresh_ok), (1, Some(false)));
    }
}

#[tokio::test]
async fn a_failed_refresh_after_a_good_one_serves_the_last_states_marked_stale() {
    let config = fixture();
    let mut w = World::healthy(&config);
    w.set("up", "node.1", 0.0);
    let broken = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let b2 = broken.clone();
    let src = answering(move |q| {
        if b2.load(Ordering::Relaxed) {
            Err(http_500())
        } else {
            w.answer(q)
        }
    });
    let engine = engine_on(config, src);
    let good = engine.refresh_at(t0()).await;
    assert_eq!(engine.stats().last_refresh_ok, Some(true));
    broken.store(true, Ordering::Relaxed);
    let s = engine.refresh_at(t0() + Duration::from_secs(10)).await;
    let stale = s.stale.clone().unwrap();
    assert_eq!(
        (stale.cause, stale.expired),
        (StaleCause::RefreshFailed, false)
    );
    assert!(stale.reason.contains("storage is broken"));
    assert!(Arc::ptr_eq(&s.health, &good.health));
    assert_eq!(engine.stats().refreshes_failed, 1);
    let s = engine.refresh_at(t0() + Duration::from_secs(61)).await;
    assert!(s.stale.as_ref().unwrap().expired);
    let r = check_state(&s, &node(&s, "node.1"), "node_up");
    assert_eq!(r.severity, Unknown);
    assert!(r.reason().unwrap().contains("every query failed for 51 s"));
    broken.store(false, Ordering::Relaxed);
    let s = engine.refresh_at(t0() + Duration::from_secs(70)).await;
    assert!(s.stale.is_none());
    let st = engine.stats();
    assert_eq!((st.refreshes_failed, st.last_refresh_ok), (2, Some(true)));
}

/// A source whose first refresh queries and first heartbeat panic.
fn panicking(config: &Config, refreshes: usize, heartbeats: usize) -> Table {
    let w = World::healthy(config);
    let refreshes = AtomicUsize::new(refreshes);
    let heartbeats = AtomicUsize::new(heartbeats);
    let take = |n: &AtomicUsize| {
        n.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |v| v.checked_sub(1))
            .is_ok()
    };
    answering(move |q| {
        let left = if q == "vector(1)" {
            &heartbeats
        } else {
            &refreshes
        };
        if take(left) {
            panic!("the source exploded on {q}");
        }
        w.answer(q)
    })
}

#[tokio::test(start_paused = true)]
async fn the_loop_survives_a_panicking_source_and_keeps_publishing() {
    let config = fixture();
    let src = panicking(&config, 2, 1);
    let engine = engine_on(config, src);
    let mut seq = engine.subscribe();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let e2 = engine.clone();
    let mut task = tokio::spawn(async move {
        e2.run(async {
            let _ = rx.await;
        })
        .await;
    });
    // Paused time: the backoff and refresh sleeps pass as soon as the runtime is idle. An
    // unsupervised loop dies with the first panic and this fails rather than waits.
    tokio::select! {
        r = seq.wait_for(|s| *s >= 1) => { r.unwrap(); }
        r = &mut task => panic!("the loop ended before publishing: {r:?}"),
    }
    let st = engine.stats();
    assert_eq!(st.refresh_restarts, 2, "two panics, two restarts");
    let first = engine.snapshot().unwrap();
    assert!(first.stale.is_none());
    seq.wait_for(|s| *s >= first.seq + 2).await.unwrap();
    assert_eq!(engine.stats().refresh_restarts, 2);
    assert_eq!(engine.stats().heartbeat_restarts, 1);
    assert_eq!(engine.stats().heartbeat_ok, Some(true));
    tx.send(()).unwrap();
    task.await.unwrap();
}

#[tokio::test]
async fn staleness_is_judged_when_the_snapshot_is_read() {
    let config = fixture();
    let fresh = fresh_for_seconds(&config);
    let mut w = World::healthy(&config);
    w.set("up", "node.1", 0.0);
    let engine = engine_on(config, w.table());
    let s = engine.refresh_at(t0()).await;
    let now = Instant::now();
    assert!(Arc::ptr_eq(&engine.snapshot_at(now).unwrap(), &s));

    // The loop is overdue: the last states, marked stale, under a new seq.
    let later = now + Duration::from_secs_f64(fresh + 1.0);
    let overdue = engine.snapshot_at(later).unwrap();
    assert!(overdue.seq > s.seq);
    let stale = overdue.stale.clone().unwrap();
    assert_eq!((stale.cause, stale.expired), (StaleCause::NoRefresh, false));
    assert_eq!(node(&overdue, "node.1").state, Some(Crit));
    assert!(Arc::ptr_eq(&engine.snapshot_at(later).unwrap(), &overdue));

    // Past stale_after_seconds (60): every state UNKNOWN with the reason.
    let expired = engine.snapshot_at(now + Duration::from_secs(61)).unwrap();
    assert!(expired.stale.as_ref().unwrap().expired);
    let r = check_state(&expired, &node(&expired, "node.1"), "node_up");
    assert_eq!(r.severity, Unknown);
    assert!(r.reason().unwrap().contains("no refresh for 61 s"));
    assert_eq!(expired.health.global, Some(Unknown));
    assert!(expired.health.alerts.is_empty());

    // A refresh that works replaces all of it.
    let s = engine.refresh_at(t0() + Duration::from_secs(61)).await;
    assert!(s.stale.is_none());
    assert!(Arc::ptr_eq(&engine.snapshot().unwrap(), &s));
}

#[tokio::test]
async fn a_stale_snapshot_whose_loop_died_expires_at_read() {
    let config = fixture();
    let broken = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let b2 = broken.clone();
    let w = World::healthy(&config);
    let src = answering(move |q| {
        if b2.load(Ordering::Relaxed) {
            Err(SourceError::Decode("garbage".into()))
        } else {
            w.answer(q)
        }
    });
    let engine = engine_on(config, src);
    engine.refresh_at(t0()).await;
    broken.store(true, Ordering::Relaxed);
    let s = engine.refresh_at(t0() + Duration::from_secs(30)).await;
    assert!(!s.stale.as_ref().unwrap().expired);
    // No further refresh: 31 s more make the data 61 s old.
    let read = engine
        .snapshot_at(Instant::now() + Duration::from_secs(31))
        .unwrap();
    let stale = read.stale.clone().unwrap();
    assert!(stale.expired);
    assert_eq!(stale.since, t0() + Duration::from_secs(30));
    assert_eq!(read.health.global, Some(Unknown));
}

fn put(w: &mut World, metric: &'static str, id: &str, v: Option<f64>) {
    match v {
        Some(v) => w.set(metric, id, v),
        None => w.unset(metric, id),
    }
}

/// A leaf's own verdict: the worst of its own checks.
fn own(th: &TargetHealth) -> Option<Severity> {
    th.checks.iter().map(|c| c.severity).max()
}

fn value() -> impl Strategy<Value = Option<f64>> {
    prop_oneof![
        Just(None),
        Just(Some(0.0)),
        Just(Some(1.0)),
        Just(Some(2.0)),
        Just(Some(f64::NAN)),
        Just(Some(f64::INFINITY)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Every headline (rack, aisle, room, site, global) is exactly the worst of the monitored
    /// checks below it, so it is never OK while anything below is UNKNOWN, WARN or CRIT.
    #[test]
    fn headlines_are_the_worst_of_their_monitored_descendants(
        temps in proptest::collection::vec(value(), 16),
        ups in proptest::collection::vec(value(), 16),
        psus in proptest::collection::vec(value(), 4),
        pdus in proptest::collection::vec(value(), 8),
    ) {
        let config = fixture();
        let topo = &config.topology;
        let mut w = World::healthy(&config);
        // Temperatures 30/40/50 °C (OK, WARN, CRIT), `up` 0 is CRIT, PSU states as they
        // are, PDUs 8/16/24 A (OK, WARN, CRIT); NaN, +Inf and missing series everywhere.
        for (i, (t, u)) in temps.iter().zip(&ups).enumerate() {
            let name = topo.instances.as_slice()[i].name.clone();
            put(&mut w, "node_temperature_celsius", &name, t.map(|v| 30.0 + 10.0 * v));
            put(&mut w, "up", &name, *u);
        }
        for (i, v) in psus.iter().enumerate() {
            put(&mut w, "chassis_psu_state", &format!("chassis-{}", i + 1), *v);
        }
        for (r, v) in topo.racks.iter().zip(&pdus) {
            put(&mut w, "raritan_pdu_current_ampere", &r.id, v.map(|v| 8.0 * (1.0 + v)));
        }
        let (p, h) = evaluate_world(&config, &w);
        // Bottom-up from the leaves' own checks, independently of `aggregate`.
        let rack_want: Vec<Option<Severity>> = topo.racks.iter().enumerate().map(|(r, rack)| {
            let mut s = own(&h.racks[r]);
            for &d in &rack.devices {
                s = s.max(own(&h.devices[d.index()]));
                for n in p.targets.device_nodes(topo, d) {
                    s = s.max(own(&h.nodes[n as usize]));
                }
            }
            s
        }).collect();
        let under = |racks: &mut dyn Iterator<Item = RackIx>| {
            racks.map(|r| rack_want[r.index()]).max().flatten()
        };
        for (r, want) in rack_want.iter().enumerate() {
            prop_assert_eq!(h.racks[r].state, *want);
        }
        for (a, aisle) in topo.aisles.iter().enumerate() {
            prop_assert_eq!(h.aisles[a], under(&mut aisle.racks.iter().copied()));
        }
        for (ri, _) in topo.rooms.iter_ix() {
            prop_assert_eq!(h.rooms[ri.index()], under(&mut topo.room_racks(ri)));
        }
        for (si, site) in topo.sites.iter().enumerate() {
            let mut racks = site.rooms.iter().flat_map(|&ri| topo.room_racks(ri));
            prop_assert_eq!(h.sites[si], under(&mut racks));
        }
        let all = rack_want.iter().copied().max().flatten();
        prop_assert_eq!(h.global, all);
        // The headline shown is never OK while anything monitored below is not OK.
        let any_bad = rack_want.iter().any(|s| s.is_some_and(|s| s != Ok));
        prop_assert!(!(any_bad && h.global == Some(Ok)));
    }
}

#[tokio::test]
async fn requests_reach_prometheus_again_once_it_is_back() {
    let config = fixture();
    let table = Arc::new(World::healthy(&config).table());
    let engine = Arc::new(Engine::new(Arc::new(config), table.clone()));
    let down = |d: bool| table.down.store(d, Ordering::Relaxed);

    down(true);
    assert!(engine.instant_now("up").await.is_err());
    down(false);
    // Within the failure memory the error is repeated without asking Prometheus.
    let asked = table.query_count();
    assert!(engine.instant_now("up").await.is_err());
    assert_eq!(table.query_count(), asked);
    // A refresh that gets answers clears the memory at once.
    engine.refresh_at(t0()).await;
    assert!(
        engine.instant_now("up").await.is_ok(),
        "the refresh did not clear it"
    );

    // With no refresh in between, the one probe let through past the memory reaches
    // Prometheus, and its answer clears the memory for everyone.
    down(true);
    assert!(engine.instant_now("up").await.is_err());
    down(false);
    tokio::time::sleep(super::adhoc::FAILURE_TTL + Duration::from_millis(100)).await;
    let asked = table.query_count();
    assert!(
        engine.instant_now("up").await.is_ok(),
        "the probe never reached Prometheus"
    );
    assert_eq!(table.query_count(), asked + 1);
    assert!(engine.instant_now("up").await.is_ok());
}
