//! Maintenance-window benchmark (issue #20), printing figures rather than asserting them:
//! on the generated 100,000-instance topology with every node failing (100,000 alerts), the
//! time to build the alert list of `/api/alerts/active` with no window, with 100 rack
//! windows and with 1,000 (half hiding, half badging), and the time to list the rack and
//! device maintenance series of `/metrics`. Windows are judged when a surface reads a
//! snapshot, so this is what each read pays.
//!
//! Run: `cargo bench --bench maintenance` (release build).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::Instant;

use rackscope_core::telemetry::{Engine, plan};
use rackscope_core::testkit::{Table, one_series_per_id};

fn main() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let shape = rackscope_core::generate::Shape::for_instances(100_000);
    rackscope_core::generate::write(dir.path(), shape).unwrap();
    let loaded = rackscope_core::load_with_env(&dir.path().join("app.yaml"), std::iter::empty());
    assert!(loaded.is_usable());
    let config = Arc::new(loaded.config);
    // Every series at 0: every node is down, every check that reads `up` fails.
    let answers = one_series_per_id(&config, &plan(&config), 0.0);
    let table = Table::new(Vec::new())
        .with_hook(move |q| Some(Ok(answers.get(q).cloned().unwrap_or_default())));
    let engine = Engine::new(config.clone(), Arc::new(table));
    let snap = rt.block_on(engine.refresh());
    let topo = &config.topology;
    println!(
        "== generated: {} racks, {} instances, {} alerts ==",
        topo.racks.len(),
        topo.instances.len(),
        snap.health.alerts.len()
    );
    for n in [0usize, 100, 1_000] {
        let mut text = String::from("maintenances:\n");
        for (i, r) in topo.racks.iter().take(n).enumerate() {
            let effect = if i % 2 == 0 { "hide" } else { "badge" };
            text.push_str(&format!(
                "- id: w{i}\n  target_type: rack\n  target_id: {}\n  reason: bench\n  effect: {effect}\n",
                r.id
            ));
        }
        let (m, diags) = rackscope_core::load::maintenances_of(&config, Some(&text));
        assert!(!diags.has_errors(), "{diags:?}");
        let mut times = Vec::new();
        let mut shown = 0;
        for _ in 0..5 {
            let t = Instant::now();
            shown = std::hint::black_box(rackscope::server::alert_views(&snap, &m)).len();
            times.push(t.elapsed().as_secs_f64() * 1e3);
        }
        times.sort_by(f64::total_cmp);
        let t = Instant::now();
        let cover = rackscope_core::read::maintenance::coverage(&m, &snap);
        let covered = topo
            .racks
            .ixs()
            .filter(|&x| cover.rack(x).is_some())
            .count()
            + topo
                .devices
                .ixs()
                .filter(|&d| cover.device(d).is_some())
                .count();
        let series_ms = t.elapsed().as_secs_f64() * 1e3;
        println!(
            "{n:>5} windows: alert list {:.1} ms median ({:.1} max), {shown} alerts shown; metrics series {covered} in {series_ms:.1} ms",
            times[2], times[4]
        );
    }
}
