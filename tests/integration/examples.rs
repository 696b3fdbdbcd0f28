//! The real configurations of the Python Rackscope load unchanged, with exact counts, and
//! their real mistakes show up as warnings; our own examples load clean.

use rackscope_core::validate::summary;

use crate::support;

fn counts(example: &str) -> Option<(rackscope_core::Loaded, [usize; 6])> {
    let dir = support::shared(&format!("upstream-examples/{example}"))?;
    let loaded = support::load(&dir.join("app.yaml"));
    let c = loaded.config.topology.counts();
    Some((
        loaded,
        [c.sites, c.rooms, c.aisles, c.racks, c.devices, c.instances],
    ))
}

fn messages(loaded: &rackscope_core::Loaded, code: &str) -> Vec<String> {
    loaded
        .diagnostics
        .iter()
        .filter(|d| d.code == code)
        .map(|d| d.message.clone())
        .collect()
}

/// The upstream keys an example sets that Rackscope does not honour (one warning each,
/// at the key), by name.
fn ignored_keys(loaded: &rackscope_core::Loaded) -> Vec<String> {
    messages(loaded, "ignored-key")
        .iter()
        .filter_map(|m| m.split('`').nth(1).map(str::to_owned))
        .collect()
}

/// Every upstream example writes these; each is a warning, never an error.
const COMMON_IGNORED: [&str; 4] = [
    "refresh.rack_state_seconds",
    "cache.ttl_seconds",
    "cache.health_checks_ttl_seconds",
    "features.notifications_max_visible",
];

fn assert_ignored(loaded: &rackscope_core::Loaded, extra: &[&str]) {
    let mut want: Vec<&str> = COMMON_IGNORED.to_vec();
    want.extend_from_slice(extra);
    want.sort_unstable();
    let mut got = ignored_keys(loaded);
    got.sort();
    assert_eq!(got, want);
}

#[test]
fn homelab() {
    let Some((loaded, c)) = counts("homelab") else {
        return;
    };
    assert!(
        loaded.is_usable(),
        "{:#?}",
        loaded.diagnostics.errors().collect::<Vec<_>>()
    );
    assert_eq!(c, [1, 1, 1, 3, 23, 23]);
    assert_ignored(&loaded, &["map", "plugins.simulator.enabled"]);
    // Rack and component templates list Sequana checks that the library does not have.
    let unknown = messages(&loaded, "unknown-check");
    assert!(
        unknown.iter().any(|m| m.contains("`hmc_leak`")),
        "{unknown:#?}"
    );
    assert!(
        unknown.iter().any(|m| m.contains("`ipmi_temp_warn`")),
        "{unknown:#?}"
    );
}

#[test]
fn small_cluster() {
    let Some((loaded, c)) = counts("small-cluster") else {
        return;
    };
    assert!(
        loaded.is_usable(),
        "{:#?}",
        loaded.diagnostics.errors().collect::<Vec<_>>()
    );
    assert_eq!(c, [1, 1, 3, 11, 194, 608]);
    assert_ignored(&loaded, &["map", "plugins.simulator.enabled"]);
    // The Slurm plugin is honoured: its files load, and the CWD-relative mapping path of
    // the Python version is found beside config.yml, with a warning saying so.
    let slurm = loaded.config.slurm.as_ref().unwrap();
    assert_eq!(
        slurm.query(),
        "max by (node, status, partition, reason) (slurm_node_status)"
    );
    let w = messages(&loaded, "slurm");
    assert_eq!(w.len(), 2, "{w:?}");
    assert!(
        w.iter().any(|m| m.contains("does not exist;")
            && m.contains("plugins/slurm/node_mapping.yaml is used")),
        "{w:?}"
    );
    // Its metrics catalog is not among the shared files: said, not silently empty.
    assert!(
        w.iter()
            .any(|m| m.contains("metrics_catalogs names `metrics.yaml`")),
        "{w:?}"
    );
}

#[test]
fn hpc_cluster() {
    let Some((loaded, c)) = counts("hpc-cluster") else {
        return;
    };
    assert!(
        loaded.is_usable(),
        "{:#?}",
        loaded.diagnostics.errors().collect::<Vec<_>>()
    );
    assert_eq!(c, [1, 2, 5, 25, 762, 1912]);
    assert_ignored(
        &loaded,
        &[
            "features.playlist",
            "features.wizard",
            "map",
            "plugins.simulator.enabled",
        ],
    );
    // Its node mapping is the dict form the Python version silently ignored: expanded.
    let slurm = loaded.config.slurm.as_ref().unwrap();
    assert_eq!(slurm.mapping.entries.len(), 1400);
    assert_eq!(slurm.mapping.instance("c0042"), "compute0042");
    assert_eq!(slurm.mapping.instance("g007"), "gpu007");
    let unreachable = messages(&loaded, "unreachable-rule");
    assert!(
        unreachable
            .iter()
            .any(|m| m.contains("`node_temp_warn`") && m.contains("> 90 → CRIT")),
        "{unreachable:#?}"
    );
    assert_eq!(unreachable.len(), 5, "{unreachable:#?}");
    assert_eq!(messages(&loaded, "unknown-check").len(), 1);
    let s = summary(&loaded.config);
    assert_eq!((s.checks, s.checks_bound), (20, 20));
    // The lookups later issues rely on, answered from the index.
    let topo = &loaded.config.topology;
    let p = topo.locate_instance("compute0001").unwrap();
    assert_eq!(topo.racks[p.rack].id, "rack-c01");
    assert_eq!(topo.rooms[p.room].id, "machine-room-a");
    assert_eq!(topo.sites[p.site].id, "dc-paris");
    assert_eq!(topo.aisles[p.aisle.unwrap()].id, "aisle-compute-std");
    assert_eq!(
        topo.device_in_rack("rack-c01", "cc01-01").unwrap().name,
        "compute0001-compute0003"
    );
    assert!(topo.device_in_rack("rack-c02", "cc01-01").is_none());
}

#[test]
fn our_examples_load_without_any_diagnostic() {
    for (dir, expect) in [
        ("config/demo-small", [1, 1, 2, 6, 41, 77]),
        ("config/demo-multisite", [3, 5, 13, 41, 728, 2135]),
    ] {
        let loaded = support::load(&support::root().join(dir).join("app.yaml"));
        let d: Vec<_> = loaded.diagnostics.iter().map(ToString::to_string).collect();
        assert!(d.is_empty(), "{dir}: {d:#?}");
        let c = loaded.config.topology.counts();
        assert_eq!(
            [c.sites, c.rooms, c.aisles, c.racks, c.devices, c.instances],
            expect,
            "{dir}"
        );
    }
}

#[test]
fn flat_and_nested_site_coordinates_are_both_read() {
    let loaded = support::load(&support::root().join("config/demo-multisite/app.yaml"));
    let located = loaded
        .config
        .topology
        .sites
        .iter()
        .filter(|s| s.location.is_some())
        .count();
    assert_eq!(located, 3);
}

#[test]
fn generated_topologies_load_with_the_requested_size() {
    let tmp = tempfile::tempdir().unwrap();
    rackscope_core::generate::write(
        tmp.path(),
        rackscope_core::generate::Shape::for_instances(2_000),
    )
    .unwrap();
    let loaded = support::load(&tmp.path().join("app.yaml"));
    assert!(loaded.diagnostics.is_empty(), "{:#?}", loaded.diagnostics);
    assert_eq!(loaded.config.topology.counts().instances, 2_000);
}

#[test]
fn a_single_file_topology_loads() {
    let loaded = support::load(&support::root().join("tests/fixtures/monolithic/app.yaml"));
    let d: Vec<_> = loaded.diagnostics.iter().map(ToString::to_string).collect();
    assert!(d.is_empty(), "{d:#?}");
    let topo = &loaded.config.topology;
    let c = topo.counts();
    assert_eq!(
        [c.sites, c.rooms, c.aisles, c.racks, c.devices, c.instances],
        [1, 1, 1, 2, 3, 5]
    );
    assert_eq!(
        topo.site("lab")
            .unwrap()
            .location
            .as_ref()
            .map(|l| (l.lat, l.lon)),
        Some((45.19, 5.72))
    );
    let standalone = topo.rack("lab-r2").unwrap();
    assert_eq!((standalone.u_height, standalone.aisle), (24, None));
    let slots: Vec<_> = topo
        .device_instances(topo.device("q1").unwrap())
        .iter()
        .map(|i| (i.slot, i.name.as_str()))
        .collect();
    assert_eq!(slots, [(1, "lab002"), (2, "lab003"), (3, "lab004")]);
    let p = topo.locate_instance("lab005").unwrap();
    assert_eq!(topo.rooms[p.room].id, "lab-room");
}
