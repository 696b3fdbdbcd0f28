//! Identities in real estates (issue #19): what may repeat and how each repetition is
//! shown. One machine placed twice is a warning at both places, and both places show the
//! state of its one series.

use std::sync::Arc;
use std::time::SystemTime;

use rackscope_core::telemetry::Engine;
use rackscope_core::testkit::Table;

use crate::support::fixture::world;

#[tokio::test]
async fn an_instance_placed_twice_is_warned_at_both_places_and_both_show_its_state() {
    let tmp = tempfile::tempdir().unwrap();
    crate::support::copy_dir(
        &crate::support::root().join("tests/fixtures/health"),
        tmp.path(),
    );
    // n04 (50 °C: CRIT) is also listed in r03's chassis.
    let topo = tmp.path().join("topology.yaml");
    let text = std::fs::read_to_string(&topo).unwrap();
    let twice = text.replace(r#"instance: "n[09-12]""#, "instance: [n09, n10, n11, n04]");
    assert_ne!(twice, text);
    std::fs::write(&topo, twice).unwrap();
    let loaded = crate::support::load(&tmp.path().join("app.yaml"));
    assert!(loaded.is_usable(), "{:?}", loaded.diagnostics);
    let warned: Vec<u32> = loaded
        .diagnostics
        .warnings()
        .filter(|d| d.code == "duplicate-instance" && d.message.contains("`n04`"))
        .map(|d| d.span.pos.line)
        .collect();
    assert_eq!(warned.len(), 2, "{:?}", loaded.diagnostics);
    assert_ne!(warned[0], warned[1], "one warning at each place");

    let engine = Engine::new(Arc::new(loaded.config), Arc::new(Table::new(world())));
    let snap = engine.refresh_at(SystemTime::now()).await;
    let topo = &snap.config.topology;
    let racks_of_n04: Vec<(&str, Option<rackscope_core::Severity>)> = topo
        .instances
        .iter_ix()
        .filter(|(_, i)| i.name == "n04")
        .map(|(ix, i)| {
            let rack = topo.devices[i.device].rack;
            (
                topo.racks[rack].id.as_str(),
                snap.health.nodes[ix.index()].state,
            )
        })
        .collect();
    assert_eq!(
        racks_of_n04,
        [
            ("r01", Some(rackscope_core::Severity::Crit)),
            ("r03", Some(rackscope_core::Severity::Crit))
        ]
    );
    // Both racks list the alert, each at its own place.
    let alerts = rackscope_core::read::located_alerts(&snap);
    let mut at: Vec<&str> = alerts
        .iter()
        .filter(|a| a.node_id() == Some("n04"))
        .map(|a| a.rack.id.as_str())
        .collect();
    at.sort();
    assert_eq!(at, ["r01", "r03"]);
}
