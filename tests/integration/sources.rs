//! Several Prometheus sources against real Prometheus servers (issue #24): the multi-site
//! fixture with Lyon asked of its own Prometheus. Both answer; then Lyon's is killed and
//! only Lyon goes stale (its last states held), then UNKNOWN; Paris stays current, and the
//! API, the metrics and the pages say which site and why.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rackscope::server::AppState;
use rackscope_core::Severity::{Crit, Ok, Unknown, Warn};
use rackscope_core::telemetry::Snapshot;
use rackscope_core::topology::RackIx;

use crate::support::fixture::T0;
use crate::support::prom::{OpenMetrics, Prometheus};
use crate::support::router::get;
use crate::support::{self, copy_dir, root};

fn at(offset: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(T0 + offset)
}

/// One site's series: its instances up and its racks drawing `watts`, over the five
/// minutes before T0 (so that T0 + 120 still sees them).
fn site_data(config: &rackscope_core::Config, site: &str, watts: f64) -> String {
    let topo = &config.topology;
    let mut om = OpenMetrics::default();
    let mut racks = std::collections::BTreeSet::new();
    for r in topo.racks.iter() {
        if topo.sites[topo.rooms[r.room].site].id != site {
            continue;
        }
        if racks.insert(r.id.clone()) {
            om.constant(
                "rack_power_watts",
                &[("rack_id", &r.id)],
                T0 - 240,
                T0,
                watts,
            );
        }
        for &d in &r.devices {
            for i in topo.device_instances(&topo.devices[d]) {
                om.constant("up", &[("instance", &i.name)], T0 - 240, T0, 1.0);
            }
        }
    }
    om.finish()
}

fn rack(s: &Snapshot, site: &str, id: &str) -> RackIx {
    let topo = &s.config.topology;
    topo.racks
        .iter_ix()
        .find(|(_, r)| r.id == id && topo.sites[topo.rooms[r.room].site].id == site)
        .map(|(ix, _)| ix)
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_sites_prometheus_down_leaves_only_that_site_stale() {
    let fixture = root().join("tests/fixtures/multisite");
    let plain = support::load(&fixture.join("app.yaml")).config;
    let Some(paris) = Prometheus::start(&site_data(&plain, "paris", 6000.0)) else {
        return;
    };
    let Some(mut lyon) = Prometheus::start(&site_data(&plain, "lyon", 8000.0)) else {
        return;
    };
    // The fixture with Lyon's own Prometheus, written as an operator would.
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&fixture, dir.path());
    let app = dir.path().join("app.yaml");
    let text = std::fs::read_to_string(&app).unwrap().replace(
        "telemetry:\n  prometheus_url: http://127.0.0.1:9090\n",
        &format!(
            "telemetry:\n  prometheus_url: {}\n  sources:\n  - name: lyon\n    url: {}\n    sites: [lyon]\n    timeout_seconds: 2\n  - name: spare\n    url: http://127.0.0.1:9\n",
            paris.url(),
            lyon.url()
        ),
    ) + "  stale_after_seconds: 60\n";
    std::fs::write(&app, &text).unwrap();
    let loaded = support::load(&app);
    assert!(
        loaded
            .diagnostics
            .iter()
            .all(|d| d.level != rackscope_core::diag::Level::Error),
        "{:?}",
        loaded.diagnostics
    );
    let engine = std::sync::Arc::new(rackscope::demo::connected_engine(loaded.config).unwrap());
    let state = AppState::new(engine.clone()).unwrap();

    // Both answer: rack A01 of each site gets its own site's value.
    let s = engine.refresh_at(at(0)).await;
    assert!(s.errors.is_empty(), "{:?}", s.errors);
    let (p_a01, l_a01) = (rack(&s, "paris", "A01"), rack(&s, "lyon", "A01"));
    assert_eq!(s.health.racks[p_a01.index()].state, Some(Warn));
    assert_eq!(s.health.racks[l_a01.index()].state, Some(Crit));
    assert_eq!(s.sources.len(), 3);
    assert!(
        s.sources[..2]
            .iter()
            .all(|x| x.down.is_none() && x.queries > 0)
    );
    // A source for no site is asked nothing (a warning at check time).
    assert_eq!((s.sources[2].queries, &s.sources[2].down), (0, &None));

    // Lyon's Prometheus dies: Paris is current, Lyon holds its last states.
    lyon.kill();
    let s = engine.refresh_at(at(30)).await;
    assert!(s.stale.is_none(), "{:?}", s.stale);
    assert_eq!(s.health.racks[p_a01.index()].state, Some(Warn));
    assert_eq!(s.health.racks[l_a01.index()].state, Some(Crit));
    let down = s.sources[1].down.as_ref().unwrap();
    assert!(
        !down.expired && down.reason.contains("unreachable"),
        "{down:?}"
    );

    let global = get(&state, "/api/stats/global").await.json();
    assert_eq!(global["stale"], false);
    assert_eq!(global["stale_sites"], serde_json::json!(["lyon"]));
    let telemetry = get(&state, "/api/stats/telemetry").await.json();
    let sources = &telemetry["snapshot"]["sources"];
    assert_eq!(sources[0]["name"], "default");
    assert_eq!(sources[0]["up"], true);
    assert_eq!(sources[1]["name"], "lyon");
    assert_eq!(sources[1]["up"], false);
    assert_eq!(sources[1]["sites"], serde_json::json!(["lyon"]));
    let metrics = get(&state, "/metrics").await.text();
    assert!(
        metrics.contains("rackscope_source_up{source=\"lyon\"} 0"),
        "{metrics}"
    );
    assert!(metrics.contains("rackscope_source_up{source=\"default\"} 1"));
    assert!(
        !metrics.contains("source=\"spare\""),
        "a source asked nothing has no sample: {metrics}"
    );
    assert!(metrics.contains("rackscope_snapshot_stale 0"));
    let page = get(&state, "/").await.text();
    assert!(
        page.contains("Prometheus `lyon` has not answered")
            && page.contains("Lyon shown as last answered"),
        "the banner names the site"
    );

    // Past `stale_after_seconds`: Lyon is UNKNOWN with the reason, Paris still current.
    let s = engine.refresh_at(at(120)).await;
    assert!(s.stale.is_none());
    assert_eq!(s.health.racks[p_a01.index()].state, Some(Warn));
    assert_eq!(s.health.racks[l_a01.index()].state, Some(Unknown));
    let lyon_node = s.config.topology.instance_ix("la1a01n01").unwrap();
    let reason = s.health.nodes[lyon_node.index()].checks[0]
        .reason()
        .unwrap_or_default()
        .to_owned();
    assert!(
        reason.contains("Prometheus `lyon` unavailable for 90 s"),
        "{reason}"
    );
    let paris_node = s.config.topology.instance_ix("pa1a01n01").unwrap();
    assert_eq!(s.health.nodes[paris_node.index()].state, Some(Ok));
    let page = get(&state, "/").await.text();
    assert!(
        page.contains("Lyon UNKNOWN"),
        "the banner says the hold expired"
    );
}
