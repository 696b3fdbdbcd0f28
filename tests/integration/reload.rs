//! Live configuration: a reload applies a usable configuration and keeps the last good one
//! (with the reasons shown) when the files on disk do not load; the server notices edits
//! by itself, and a burst of them is one reload.

use std::sync::Arc;
use std::time::{Duration, Instant};

use rackscope::server::AppState;
use rackscope_core::telemetry::Engine;
use rackscope_core::testkit::Table;

use crate::support::fixture::world;
use crate::support::router::get;

/// The health fixture copied to a temporary directory, served from there.
fn copied() -> (tempfile::TempDir, AppState) {
    let tmp = tempfile::tempdir().unwrap();
    crate::support::copy_dir(
        &crate::support::root().join("tests/fixtures/health"),
        tmp.path(),
    );
    let loaded = crate::support::load(&tmp.path().join("app.yaml"));
    assert!(loaded.is_usable());
    let engine = Arc::new(Engine::new(
        Arc::new(loaded.config),
        Arc::new(Table::new(world())),
    ));
    (tmp, AppState::new(engine).unwrap())
}

fn threshold(st: &AppState) -> f64 {
    let config = st.engine.config();
    let check = config.checks.get("node_temperature").unwrap();
    check.def.rules[0].value.value.as_number().unwrap()
}

#[tokio::test]
async fn a_broken_edit_keeps_the_last_good_configuration_and_says_where() {
    let (tmp, st) = copied();
    let checks = tmp.path().join("checks/checks.yaml");
    let good = std::fs::read_to_string(&checks).unwrap();
    // A typo on line 17: the rule list is no longer a list.
    std::fs::write(
        &checks,
        good.replace(
            "  - {op: '>', value: 45, severity: CRIT}",
            "  - {op: '>', value: 45, severity: CRIT",
        ),
    )
    .unwrap();
    let s = st.reload.reload("api").await;
    assert!(!s.ok);
    assert_eq!(s.generation, 0);
    let first = &s.errors[0];
    assert!(first.file.ends_with("checks/checks.yaml"), "{first:?}");
    assert!(first.line >= 16, "{first:?}");
    assert_eq!(
        threshold(&st),
        45.0,
        "the last good configuration still runs"
    );

    // Said on the API, on /metrics and in a banner on every page.
    let j = get(&st, "/api/config/status").await.json();
    assert_eq!(j["ok"], false);
    assert!(
        j["errors"][0]["file"]
            .as_str()
            .unwrap()
            .ends_with("checks.yaml")
    );
    let m = get(&st, "/metrics").await.text();
    assert!(m.contains("rackscope_config_last_reload_success 0"), "{m}");
    let page = get(&st, "/alerts").await.text();
    assert!(
        page.contains("The configuration on disk has 1 error"),
        "{page}"
    );

    // Fixed (with a new threshold): applied, the banner gone.
    std::fs::write(
        &checks,
        good.replace("value: 45, severity: CRIT", "value: 50, severity: CRIT"),
    )
    .unwrap();
    let s = st.reload.reload("api").await;
    assert!(s.ok, "{:?}", s.errors);
    assert_eq!(s.generation, 1);
    assert_eq!(threshold(&st), 50.0);
    assert!(
        !get(&st, "/alerts")
            .await
            .text()
            .contains("configuration on disk")
    );
    let m = get(&st, "/metrics").await.text();
    assert!(m.contains("rackscope_config_last_reload_success 1"), "{m}");
    assert!(m.contains("rackscope_config_generation 1"), "{m}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_sees_an_edit_within_two_seconds_and_a_burst_is_one_reload() {
    let (tmp, st) = copied();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let (stop, mut stop_rx) = tokio::sync::watch::channel(false);
    let server = tokio::spawn(rackscope::server::run(listener, st.clone(), async move {
        let _ = stop_rx.wait_for(|s| *s).await;
    }));
    // Let the watcher start.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let checks = tmp.path().join("checks/checks.yaml");
    let good = std::fs::read_to_string(&checks).unwrap();
    let edited = Instant::now();
    std::fs::write(
        &checks,
        good.replace("value: 45, severity: CRIT", "value: 47, severity: CRIT"),
    )
    .unwrap();
    while st.reload.status().generation == 0 {
        assert!(
            edited.elapsed() < Duration::from_secs(2),
            "no reload 2 s after the edit"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(threshold(&st), 47.0);
    // Twenty writes in quick succession, like a checkout: one reload.
    for i in 0..20 {
        std::fs::write(
            &checks,
            good.replace(
                "value: 45, severity: CRIT",
                &format!("value: {}, severity: CRIT", 60 + i),
            ),
        )
        .unwrap();
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(st.reload.status().generation, 2, "{:?}", st.reload.status());
    assert_eq!(threshold(&st), 79.0);
    let _ = stop.send(true);
    server.await.unwrap().unwrap();
}

/// A node whose chassis moves to another rack keeps its `for:` timer through the reload:
/// the state belongs to the node, not to where it sits.
#[tokio::test]
async fn a_moved_node_keeps_its_for_timer_and_its_new_rack_shows_it() {
    use rackscope::topology_edit::{Op, plan};
    use std::time::UNIX_EPOCH;
    let (tmp, st) = copied();
    let t0 = UNIX_EPOCH + Duration::from_secs(crate::support::fixture::T0);
    // n05's fan has failed: pending for the check's 1m, so no CRIT alert for it yet.
    let s = st.engine.refresh_at(t0).await;
    let n05 = |s: &rackscope_core::telemetry::Snapshot| {
        rackscope::server::alert_views(s, &s.config.maintenances)
            .iter()
            .find(|a| a.node_id == Some("n05"))
            .map(|a| (a.state, a.rack_id.to_owned()))
    };
    assert_eq!(n05(&s), None, "pending, not yet an alert");
    let config = st.engine.config();
    let changes = plan(
        &config,
        &Op::MoveDevice {
            rack: "r02".into(),
            device: "chassis-2".into(),
            to_rack: "r03".into(),
            u: 20,
            face: None,
        },
    )
    .unwrap();
    for c in &changes {
        assert!(!c.delete);
        std::fs::write(&c.path, &c.after).unwrap();
    }
    let loaded = crate::support::load(&tmp.path().join("app.yaml"));
    assert!(loaded.is_usable(), "{:?}", loaded.diagnostics);
    st.engine.reload(Arc::new(loaded.config)).await;
    // 61 s after the failure: it fires, as it would have without the move, in its new rack.
    let s = st.engine.refresh_at(t0 + Duration::from_secs(61)).await;
    assert_eq!(n05(&s), Some(("CRIT", "r03".to_owned())));
}
