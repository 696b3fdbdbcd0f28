//! Simulator benchmark (issue #4), printing figures rather than asserting them: render the
//! exposition of the generated 100,000-instance topology repeatedly, with the time per
//! scrape (target: under 1 s), the series and bytes per scrape, and the resident memory
//! after each scrape (target: flat).
//!
//! Run: `cargo bench --bench simulator` (release build).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::Instant;

use rackscope_simulator::{Catalog, Settings, Simulator};

/// Resident set size in MiB (from /proc/self/statm).
fn rss_mib() -> f64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: f64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0.0);
    pages * 4096.0 / 1048576.0
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let shape = rackscope_core::generate::Shape::for_instances(100_000);
    rackscope_core::generate::write(dir.path(), shape).unwrap();
    let loaded = rackscope_core::load_with_env(&dir.path().join("app.yaml"), std::iter::empty());
    assert!(loaded.is_usable());
    let config = Arc::new(loaded.config);
    let settings = Settings {
        seed: Some(1),
        overrides_file: None,
        ..Settings::default()
    };
    let sim = Simulator::new(config, settings, Catalog::builtin());
    println!(
        "simulator: {} nodes, {} racks, {} families",
        sim.world().nodes.len(),
        sim.world().rack_nodes.len(),
        sim.catalog().families.len()
    );
    let t0 = 1_790_000_000.0;
    let mut times = Vec::new();
    for i in 0..10 {
        let started = Instant::now();
        let body = sim.render_at(t0 + 15.0 * i as f64);
        let ms = started.elapsed().as_secs_f64() * 1000.0;
        let series = body
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
            .count();
        println!(
            "scrape {i:2}: {ms:7.1} ms, {series} series, {:.1} MiB, RSS after {:.1} MiB",
            body.len() as f64 / 1048576.0,
            rss_mib()
        );
        times.push(ms);
        drop(body);
    }
    times.sort_by(|a, b| a.partial_cmp(b).unwrap());
    println!(
        "render per scrape: median {:.1} ms, max {:.1} ms (target < 1000 ms)",
        times[times.len() / 2],
        times[times.len() - 1]
    );
}
