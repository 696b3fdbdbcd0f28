//! The read models on the health fixture with one node down: the alert is located, and
//! the rack's summary, its state and the global roll-up agree with it.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use super::*;
use crate::Severity::Crit;
use crate::telemetry::Engine;
use crate::testkit::{Table, row};

#[tokio::test]
async fn a_node_down_is_located_counted_and_rolled_up() {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/health/app.yaml");
    let loaded = crate::load_with_env(&p, std::iter::empty());
    assert!(loaded.is_usable(), "{:?}", loaded.diagnostics);
    let config = Arc::new(loaded.config);
    let rows = config
        .topology
        .instances
        .iter()
        .map(|i| {
            let up = if i.name == "node.1" { 0.0 } else { 1.0 };
            row("up", &[("instance", &i.name)], up)
        })
        .collect();
    let engine = Engine::new(config.clone(), Arc::new(Table::new(rows)));
    let s = engine
        .refresh_at(UNIX_EPOCH + Duration::from_secs(1_700_000_000))
        .await;
    let topo = &config.topology;

    let alerts = located_alerts(&s);
    let a = alerts
        .iter()
        .find(|a| a.node_id() == Some("node.1"))
        .expect("node.1 alerts");
    assert_eq!(a.kind, AlertKind::Node);
    assert_eq!(a.state, Crit);
    let device = a.device.expect("a node alert has its device");
    assert_eq!(device.rack, topo.rack_ix(&a.rack.id).unwrap());
    assert_eq!(a.room.id, topo.rooms[a.rack.room].id);
    assert_eq!(a.site.id, topo.sites[a.room.site].id);
    assert!(a.checks.iter().any(|c| c.severity == Crit));

    let x = device.rack;
    let only_here = located_alerts_where(&s, |r| r == x);
    assert!(only_here.iter().all(|b| b.rack.id == a.rack.id));
    assert!(only_here.iter().any(|b| b.key == "node.1"));

    let sum = rack_summary(&s, x);
    assert!(sum.node_crit >= 1);
    assert_eq!(sum.state, Some(Crit), "node.1 is down, so its rack is CRIT");

    let state = rack_state(&s, x);
    // The summary (the API's room state) and the rack state (the rack page) agree.
    assert_eq!(
        sum.node_total,
        state.nodes.iter().filter(|n| n.real).count()
    );
    let node = state
        .nodes
        .iter()
        .find(|n| n.key == "node.1")
        .expect("node.1 listed");
    assert!(node.real);
    assert_eq!(node.state, Some(Crit));
    assert!(
        node.checks
            .iter()
            .any(|c| c.severity == Crit && !c.name.is_empty())
    );
    assert_eq!(state.devices.len(), topo.racks[x].devices.len());

    let g = global_stats(&config, Some(&s));
    assert!(g.crit_count >= 1);
    assert_eq!(g.status, Crit);
    assert_eq!(g.total_racks, topo.racks.len());
    let before = global_stats(&config, None);
    assert_eq!(before.status, crate::Severity::Unknown);
    assert_eq!(before.unknown_count, topo.racks.len());
}
