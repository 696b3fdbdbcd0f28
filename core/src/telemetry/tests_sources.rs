//! Several Prometheus sources (issue #24): each site's queries go to its own source, a
//! series from one source never names another source's target, and one source down holds
//! only its own sites, then turns them UNKNOWN.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use super::tests::t0;
use super::*;
use crate::config::Config;
use crate::model::app::Source;
use crate::severity::Severity;
use crate::testkit::{Table, row};
use crate::topology::RackIx;

/// The multi-site fixture (sites `paris` and `lyon`, rack `A01` in both) with Lyon asked
/// of its own source.
fn two_sources() -> Config {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/multisite/app.yaml");
    let loaded = crate::load_with_env(&p, std::iter::empty());
    assert!(loaded.is_usable(), "{:?}", loaded.diagnostics);
    let mut config = loaded.config;
    config.app.telemetry.sources = vec![Source {
        name: "lyon".into(),
        url: "http://lyon:9090".into(),
        sites: vec!["lyon".into()],
        ..Source::default()
    }];
    config.app.planner.stale_after_seconds = 60;
    config
}

fn site_of_rack(config: &Config, r: RackIx) -> &str {
    let topo = &config.topology;
    &topo.sites[topo.rooms[topo.racks[r].room].site].id
}

fn rack(config: &Config, site: &str, id: &str) -> RackIx {
    let topo = &config.topology;
    topo.racks
        .iter_ix()
        .find(|(ix, r)| r.id == id && site_of_rack(config, *ix) == site)
        .map(|(ix, _)| ix)
        .unwrap()
}

/// One site's Prometheus: every instance of the site up, and each of its racks drawing
/// `watts`.
fn site_table(config: &Config, site: &str, watts: f64) -> Table {
    let topo = &config.topology;
    let mut rows = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (ix, r) in topo.racks.iter_ix() {
        if site_of_rack(config, ix) != site {
            continue;
        }
        // Racks that share an id share its series, as in a real Prometheus.
        if seen.insert(r.id.clone()) {
            rows.push(row("rack_power_watts", &[("rack_id", &r.id)], watts));
        }
        for &d in &r.devices {
            for i in topo.device_instances(&topo.devices[d]) {
                rows.push(row("up", &[("instance", &i.name)], 1.0));
            }
        }
    }
    Table::new(rows)
}

#[test]
fn each_sites_queries_go_to_its_own_source() {
    let config = two_sources();
    let p = plan(&config);
    assert_eq!(p.routes.count(), 2);
    let topo = &config.topology;
    let mut sent = [0, 0];
    for c in &p.checks {
        for ch in &c.chunks {
            let source = p.queries[ch.query as usize].source;
            sent[usize::from(source)] += 1;
            for &t in &c.targets[ch.targets.start as usize..ch.targets.end as usize] {
                assert_eq!(
                    p.routes.target(topo, &p.targets, c.scope, t),
                    source,
                    "check {} target {t}",
                    c.id
                );
            }
            assert!(ch.span.start <= ch.targets.start && ch.targets.end <= ch.span.end);
        }
    }
    assert!(sent[0] > 0 && sent[1] > 0, "{sent:?}");
    // `rackscope plan` says where each query goes.
    let text = p.describe(&config, true);
    assert!(text.contains("source lyon: sites lyon"), "{text}");
    assert!(text.contains(" @lyon ["), "{text}");
}

#[tokio::test]
async fn one_source_down_holds_only_its_sites_then_turns_them_unknown() {
    let config = two_sources();
    let paris = Arc::new(site_table(&config, "paris", 6000.0));
    let lyon = Arc::new(site_table(&config, "lyon", 8000.0));
    let (p_a01, l_a01) = (rack(&config, "paris", "A01"), rack(&config, "lyon", "A01"));
    let engine = Engine::with_sources(Arc::new(config), vec![paris.clone(), lyon.clone()]);

    // Both answer: the same rack id gets each site's own value (WARN over 5000 in Paris,
    // CRIT over 7000 in Lyon): a series never crosses to the other site's rack.
    let s = engine.refresh_at(t0()).await;
    assert_eq!(s.health.racks[p_a01.index()].state, Some(Severity::Warn));
    assert_eq!(s.health.racks[l_a01.index()].state, Some(Severity::Crit));
    assert!(
        s.sources.iter().all(|x| x.down.is_none()),
        "{:?}",
        s.sources
    );
    assert!(paris.query_count() > 0 && lyon.query_count() > 0);

    // Lyon's Prometheus goes away: Paris stays current, Lyon keeps its last states.
    lyon.down.store(true, Ordering::Relaxed);
    paris.set("rack_power_watts", &[("rack_id", "A01")], 1000.0);
    let at = t0() + Duration::from_secs(30);
    let s = engine.refresh_at(at).await;
    assert!(s.stale.is_none(), "only one site is stale: {:?}", s.stale);
    assert_eq!(s.health.racks[p_a01.index()].state, Some(Severity::Ok));
    assert_eq!(s.health.racks[l_a01.index()].state, Some(Severity::Crit));
    let down = s.sources[1].down.as_ref().unwrap();
    assert_eq!((down.since, down.expired), (at, false));
    assert!(s.sources[0].down.is_none());
    let topo = &s.config.topology;
    let lyon_site = topo.rooms[topo.racks[l_a01].room].site;
    let paris_site = topo.rooms[topo.racks[p_a01].room].site;
    assert!(s.site_source_down(lyon_site).is_some());
    assert!(s.site_source_down(paris_site).is_none());

    // Past `stale_after_seconds`: Lyon's targets are UNKNOWN, with the source named.
    let s = engine.refresh_at(t0() + Duration::from_secs(120)).await;
    assert!(s.stale.is_none());
    assert_eq!(s.health.racks[p_a01.index()].state, Some(Severity::Ok));
    assert_eq!(s.health.racks[l_a01.index()].state, Some(Severity::Unknown));
    assert!(s.sources[1].down.as_ref().unwrap().expired);
    let reasons: Vec<String> = s.health.racks[l_a01.index()]
        .checks
        .iter()
        .filter_map(|c| c.reason().map(str::to_owned))
        .collect();
    assert!(
        reasons
            .iter()
            .any(|r| r.contains("Prometheus `lyon` unavailable for 90 s")),
        "{reasons:?}"
    );

    // Back: current again at once.
    lyon.down.store(false, Ordering::Relaxed);
    let s = engine.refresh_at(t0() + Duration::from_secs(150)).await;
    assert_eq!(s.health.racks[l_a01.index()].state, Some(Severity::Crit));
    assert!(s.sources.iter().all(|x| x.down.is_none()));
}

#[tokio::test]
async fn every_source_down_is_the_whole_snapshots_outage() {
    let config = two_sources();
    let paris = Arc::new(site_table(&config, "paris", 6000.0));
    let lyon = Arc::new(site_table(&config, "lyon", 8000.0));
    let engine = Engine::with_sources(Arc::new(config), vec![paris.clone(), lyon.clone()]);
    engine.refresh_at(t0()).await;
    paris.down.store(true, Ordering::Relaxed);
    lyon.down.store(true, Ordering::Relaxed);
    let s = engine.refresh_at(t0() + Duration::from_secs(30)).await;
    let stale = s.stale.as_ref().unwrap();
    assert!(!stale.expired);
    assert!(
        s.sources.iter().all(|x| x.down.is_some()),
        "{:?}",
        s.sources
    );
}
