//! Unit tests of the planner, evaluation and engine against a fake source, on the health
//! fixture (`tests/fixtures/health`).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use proptest::prelude::*;

use super::eval::{Answer, ForMemory, evaluate};
use super::plan::{alternation, plan};
use super::source::{InstantResult, SourceError};
use super::*;
use crate::config::Config;
use crate::severity::Severity::{self, *};
use crate::testkit::{Series, Table, ids_in, row, sample};
use crate::topology::DeviceIx;

pub(super) fn fixture() -> Config {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/health/app.yaml");
    let loaded = crate::load_with_env(&p, std::iter::empty());
    assert!(loaded.is_usable(), "{:?}", loaded.diagnostics);
    loaded.config
}

pub(super) fn t0() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_700_000_000)
}

/// What the fake Prometheus holds: metric → id → value; eseries slots separately.
#[derive(Clone, Default)]
pub(super) struct World {
    values: HashMap<&'static str, HashMap<String, f64>>,
    /// (instance, slot) → status
    drives: BTreeMap<(String, String), &'static str>,
}

impl World {
    pub(super) fn healthy(config: &Config) -> World {
        let mut w = World::default();
        for i in &config.topology.instances {
            w.set("up", &i.name, 1.0);
            w.set("node_temperature_celsius", &i.name, 30.0);
            w.set("node_fan_state", &i.name, 0.0);
        }
        w.set("up", "sw-1", 1.0);
        for d in &config.topology.devices {
            w.set("chassis_psu_state", &d.id, 0.0);
        }
        for r in &config.topology.racks {
            w.set("raritan_pdu_current_ampere", &r.id, 8.0);
        }
        for s in 1..=6 {
            w.drives
                .insert(("da01-c1".into(), s.to_string()), "optimal");
        }
        w
    }
    pub(super) fn set(&mut self, metric: &'static str, id: &str, v: f64) {
        self.values.entry(metric).or_default().insert(id.into(), v);
    }
    pub(super) fn unset(&mut self, metric: &'static str, id: &str) {
        if let Some(m) = self.values.get_mut(metric) {
            m.remove(id);
        }
    }
    /// The world as Prometheus would hold it: one series per metric and id, labelled as
    /// the fixture's checks select them.
    fn rows(&self) -> Vec<Series> {
        let mut rows = Vec::new();
        for (metric, ids) in &self.values {
            let label = match *metric {
                "chassis_psu_state" => "chassis_id",
                "raritan_pdu_current_ampere" => "rack_id",
                _ => "instance",
            };
            for (id, v) in ids {
                rows.push(row(metric, &[(label, id)], *v));
            }
        }
        for ((inst, slot), status) in &self.drives {
            let v = if *status == "optimal" { 0.0 } else { 1.0 };
            rows.push(row(
                "eseries_drive_status",
                &[("instance", inst), ("slot", slot), ("status", status)],
                v,
            ));
        }
        rows
    }
    /// The fake Prometheus holding this world.
    pub(super) fn table(&self) -> Table {
        Table::new(self.rows())
    }
    /// Its answer to one query.
    pub(super) fn answer(&self, q: &str) -> Result<InstantResult, SourceError> {
        self.table().answer(q)
    }
}

/// The fake Prometheus answering every query through `f` (faults, special answers).
pub(super) fn answering(
    f: impl Fn(&str) -> Result<InstantResult, SourceError> + Send + Sync + 'static,
) -> Table {
    Table::new(Vec::new()).with_hook(move |q| Some(f(q)))
}

fn shared_world(w: World) -> (Arc<std::sync::Mutex<World>>, Arc<Table>) {
    let world = Arc::new(std::sync::Mutex::new(w));
    let w2 = world.clone();
    let src = Arc::new(answering(move |q| w2.lock().unwrap().answer(q)));
    (world, src)
}

pub(super) fn node(snap: &Snapshot, name: &str) -> TargetHealth {
    let i = snap.config.topology.instance_ix(name).unwrap();
    snap.health.nodes[i.index()].clone()
}

fn device(snap: &Snapshot, id: &str) -> TargetHealth {
    let d = snap
        .config
        .topology
        .devices
        .iter()
        .position(|d| d.id == id)
        .unwrap();
    snap.health.devices[d].clone()
}

pub(super) fn rack(snap: &Snapshot, id: &str) -> Option<Severity> {
    let r = snap.config.topology.rack_ix(id).unwrap();
    snap.health.racks[r.index()].state
}

pub(super) fn check_state(snap: &Snapshot, th: &TargetHealth, check: &str) -> CheckResult {
    th.checks
        .iter()
        .find(|c| &*snap.plan.checks[c.check as usize].id == check)
        .cloned()
        .unwrap_or_else(|| panic!("no result for {check}"))
}

#[test]
fn binding_follows_templates_and_scopes() {
    let config = fixture();
    let p = plan(&config);
    let keys = |id: &str| -> Vec<&str> {
        let c = p.checks.iter().find(|c| &*c.id == id).unwrap();
        c.targets
            .iter()
            .map(|&t| p.targets.key(&config.topology, c.scope, t))
            .collect()
    };
    assert_eq!(keys("switch_up"), ["sw-1"]);
    assert_eq!(keys("eseries_drive_status"), ["da01-c1"]);
    assert_eq!(
        keys("pdu_current"),
        ["r01", "r02", "r03"],
        "r10's template has no PDU"
    );
    assert_eq!(
        keys("chassis_psu"),
        ["chassis-1", "chassis-2", "chassis-3", "chassis-4"]
    );
    assert_eq!(keys("node_up").len(), 16);
    assert!(p.unbound(&config).is_empty());
    // 16 nodes + sw-1 + da01-c1, 4 chassis, 3 racks.
    assert_eq!(p.total_ids, 18 + 4 + 3);
}

/// A device template's rear components are parts of the device: their checks bind to it
/// (node scope: its instances; chassis: the device) and no `unbound-check` is reported.
#[test]
fn rear_component_checks_bind_to_their_device() {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/rear/app.yaml");
    let loaded = crate::load_with_env(&p, std::iter::empty());
    assert!(loaded.is_usable(), "{:?}", loaded.diagnostics);
    assert!(
        !loaded.diagnostics.iter().any(|d| d.code == "unbound-check"),
        "{:?}",
        loaded.diagnostics
    );
    let config = loaded.config;
    let p = plan(&config);
    let bound: BTreeMap<&str, Vec<&str>> = p
        .checks
        .iter()
        .map(|c| {
            let keys = c
                .targets
                .iter()
                .map(|&t| p.targets.key(&config.topology, c.scope, t));
            (&*c.id, keys.collect())
        })
        .collect();
    assert_eq!(bound["psu_state"], ["srv-1", "srv-2"]);
    assert_eq!(bound["psu_fan"], ["n01", "n02"]);
    assert_eq!(bound["node_up"], ["n01", "n02"]);
    assert!(p.unbound(&config).is_empty());
}

#[test]
fn queries_respect_the_id_limit_escape_ids_and_cover_each_target_once() {
    let config = fixture();
    let p = plan(&config);
    assert_eq!(p.max_ids_per_query, 3);
    for c in &p.checks {
        let mut seen = Vec::new();
        for ch in &c.chunks {
            let q = &p.queries[ch.query as usize];
            let ids = ids_in(&q.expr, &c.key_label);
            assert!(ids.len() <= 3, "{}", q.expr);
            assert_eq!(q.ids as usize, ids.len());
            seen.extend(ids);
        }
        let want: Vec<String> = c
            .targets
            .iter()
            .map(|&t| p.targets.key(&config.topology, c.scope, t).to_owned())
            .collect();
        assert_eq!(seen, want, "check {}", c.id);
    }
    let up = &p.queries[p.checks[0].chunks[0].query as usize].expr;
    // n03 and n04 folded into one class.
    assert_eq!(up, r#"up{job=~"^(?:.*)$",instance=~"^(?:a\\+b|n0[34])$"}"#);
    assert!(
        p.queries.iter().any(|q| q.expr.contains(r"node\\.1")),
        "node.1 is escaped"
    );
}

#[test]
fn identical_queries_are_sent_once() {
    let mut config = fixture();
    // A second check with node_up's expression, bound to the same template.
    let mut twin = config.checks.items[0].clone();
    twin.def.id.value = "node_up_twin".into();
    let before = plan(&config).queries.len();
    config.checks.items.push(twin);
    // Rebuild the library's index through its public surface: the quad template lists it.
    let lib = std::mem::take(&mut config.checks);
    config.checks = crate::load::Library::from_items(lib.items);
    for t in &mut config.catalog.devices.items {
        if t.def.id.value == "quad" {
            t.def.checks.push(crate::yaml::Located::new(
                "node_up_twin".into(),
                crate::diag::Pos::default(),
            ));
        }
    }
    config.bindings =
        crate::bind::Bindings::compute(&config.topology, &config.catalog, &config.checks);
    let p = plan(&config);
    assert_eq!(p.checks.len(), 8);
    assert_eq!(p.queries.len(), before, "the twin adds no query");
}

fn engine_with(world: World) -> (Arc<Engine>, Arc<std::sync::Mutex<World>>, Arc<Table>) {
    let config = Arc::new(fixture());
    let (w, src) = shared_world(world);
    (Arc::new(Engine::new(config, src.clone())), w, src)
}

#[tokio::test]
async fn health_rolls_up_with_full_locations() {
    let config = fixture();
    let mut w = World::healthy(&config);
    w.set("up", "node.1", 0.0);
    w.set("node_temperature_celsius", "n03", 40.0);
    w.set("node_temperature_celsius", "n04", 50.0);
    w.set("chassis_psu_state", "chassis-2", 1.0);
    w.set("raritan_pdu_current_ampere", "r03", 20.0);
    w.set("raritan_pdu_current_ampere", "r02", 14.0);
    w.set("up", "sw-1", 0.0);
    w.drives.insert(("da01-c1".into(), "3".into()), "failed");
    w.unset("node_temperature_celsius", "n16");
    let (engine, _, src) = engine_with(w);
    assert!(engine.snapshot().is_none());
    let s = engine.refresh_at(t0()).await;
    assert_eq!(s.query_count, src.query_count());
    assert!(s.errors.is_empty());

    assert_eq!(node(&s, "node.1").state, Some(Crit));
    assert_eq!(
        node(&s, "a+b").state,
        Some(Ok),
        "a+b is found: its id is escaped"
    );
    assert_eq!(node(&s, "n03").state, Some(Warn));
    assert_eq!(node(&s, "n04").state, Some(Crit));
    assert_eq!(
        check_state(&s, &node(&s, "n04"), "node_temperature").value,
        Some(50.0)
    );
    // Chassis scope rolls into its device and rack.
    assert_eq!(device(&s, "chassis-2").state, Some(Warn));
    assert_eq!(rack(&s, "r02"), Some(Warn));
    // Rack scope.
    assert_eq!(rack(&s, "r03"), Some(Crit));
    // An instance-less device counts in its rack.
    let sw = s
        .plan
        .targets
        .device_nodes(&s.config.topology, DeviceIx::new(1))
        .start;
    assert_eq!(s.health.nodes[sw as usize].state, Some(Crit));
    assert_eq!(device(&s, "sw-1").state, Some(Crit));
    // Disk 3 failed, below expand_crit_threshold 2: WARN, with the slot named.
    let da = node(&s, "da01-c1");
    assert_eq!(da.state, Some(Warn));
    assert_eq!(da.slots[0].slots.len(), 6);
    let failed: Vec<_> = da.slots[0]
        .slots
        .iter()
        .filter(|x| x.severity == Crit)
        .map(|x| &*x.name)
        .collect();
    assert_eq!(failed, ["3"]);
    // No data: unknown_state with the reason.
    let n16 = check_state(&s, &node(&s, "n16"), "node_temperature");
    assert_eq!(n16.severity, Unknown);
    assert!(n16.reason().unwrap().contains("no data"));
    // A device no check covers is not monitored and does not count.
    assert_eq!(device(&s, "panel-1").state, None);
    // Up the tree.
    let topo = &s.config.topology;
    assert_eq!(
        s.health.rooms[topo.room_ix("room-a").unwrap().index()],
        Some(Crit)
    );
    assert_eq!(
        s.health.sites[topo.site_ix("dc1").unwrap().index()],
        Some(Crit)
    );
    assert_eq!(
        s.health.sites[topo.site_ix("dc2").unwrap().index()],
        Some(Unknown),
        "UNKNOWN ranks above OK"
    );
    assert_eq!(s.health.global, Some(Crit));

    // Alerts: worst first; the failed slot is there with its name.
    let a = &s.health.alerts;
    assert!(a.windows(2).all(|w| w[0].state >= w[1].state));
    let da_ix = topo.instance_ix("da01-c1").unwrap();
    let disk = a
        .iter()
        .find(|x| x.target == AlertTarget::Node(da_ix.get()))
        .unwrap();
    assert_eq!(disk.checks[0].slot.as_deref(), Some("3"));
    assert_eq!(disk.checks[0].severity, Crit);
    let rack_alert = a
        .iter()
        .find(|x| x.target == AlertTarget::Rack(topo.rack_ix("r03").unwrap()))
        .unwrap();
    assert_eq!(rack_alert.state, Crit);
    assert!(a.iter().any(|x| matches!(x.target, AlertTarget::Device(_))));
    let stats = engine.stats();
    assert_eq!(stats.last_batch.unwrap().query_count, s.query_count);
    assert_eq!(stats.in_flight, 0);
}

#[tokio::test]
async fn expand_threshold_reached_is_crit() {
    let config = fixture();
    let mut w = World::healthy(&config);
    w.drives.insert(("da01-c1".into(), "3".into()), "failed");
    w.drives.insert(("da01-c1".into(), "5".into()), "failed");
    let (engine, _, _) = engine_with(w);
    let s = engine.refresh_at(t0()).await;
    assert_eq!(node(&s, "da01-c1").state, Some(Crit));
    assert_eq!(rack(&s, "r01"), Some(Crit));
}

#[tokio::test]
async fn for_holds_the_confirmed_state_then_fires_and_survives_reload() {
    let config = fixture();
    let mut w = World::healthy(&config);
    w.set("node_fan_state", "n05", 2.0);
    let (engine, world, _) = engine_with(w);
    let s = engine.refresh_at(t0()).await;
    let r = check_state(&s, &node(&s, "n05"), "node_fan");
    assert_eq!(r.severity, Ok, "the last confirmed state, not UNKNOWN");
    assert_eq!(
        r.pending,
        Some(Pending {
            severity: Crit,
            since: t0()
        })
    );
    assert!(node(&s, "n05").pending && rack(&s, "r02") == Some(Ok));

    let s = engine.refresh_at(t0() + Duration::from_secs(30)).await;
    assert_eq!(check_state(&s, &node(&s, "n05"), "node_fan").severity, Ok);

    // A reload with the same checks keeps the timer.
    engine.reload(Arc::new(fixture())).await;
    let s = engine.refresh_at(t0() + Duration::from_secs(61)).await;
    let r = check_state(&s, &node(&s, "n05"), "node_fan");
    assert_eq!((r.severity, r.pending), (Crit, None));
    assert_eq!(rack(&s, "r02"), Some(Crit));

    // Recovery counts at once.
    world.lock().unwrap().set("node_fan_state", "n05", 0.0);
    let s = engine.refresh_at(t0() + Duration::from_secs(70)).await;
    assert_eq!(check_state(&s, &node(&s, "n05"), "node_fan").severity, Ok);

    // A changed check forgets its timers.
    world.lock().unwrap().set("node_fan_state", "n05", 2.0);
    engine.refresh_at(t0() + Duration::from_secs(80)).await;
    let mut changed = fixture();
    let i = changed.checks.index_of("node_fan").unwrap();
    changed.checks.items[i].def.name = "Renamed".into();
    engine.reload(Arc::new(changed)).await;
    let s = engine.refresh_at(t0() + Duration::from_secs(150)).await;
    let r = check_state(&s, &node(&s, "n05"), "node_fan");
    assert_eq!(r.severity, Ok);
    assert_eq!(r.pending.unwrap().since, t0() + Duration::from_secs(150));
}

#[tokio::test]
async fn for_works_with_expanded_slots() {
    let mut config = fixture();
    let i = config.checks.index_of("eseries_drive_status").unwrap();
    config.checks.items[i].def.for_duration = Some(crate::yaml::Located::new(
        crate::duration::Duration { seconds: 60 },
        crate::diag::Pos::default(),
    ));
    let mut w = World::healthy(&config);
    w.drives.insert(("da01-c1".into(), "2".into()), "failed");
    let (world, src) = shared_world(w);
    let engine = Engine::new(Arc::new(config), src);
    let s = engine.refresh_at(t0()).await;
    assert_eq!(node(&s, "da01-c1").state, Some(Ok));
    assert!(node(&s, "da01-c1").pending);
    let s = engine.refresh_at(t0() + Duration::from_secs(60)).await;
    assert_eq!(node(&s, "da01-c1").state, Some(Warn));
    assert!(
        s.health
            .alerts
            .iter()
            .any(|a| a.checks.iter().any(|c| c.slot.as_deref() == Some("2")))
    );
    drop(world);
}

#[tokio::test]
async fn a_rejected_query_makes_only_its_targets_unknown() {
    let config = fixture();
    let w = World::healthy(&config);
    let world = Arc::new(w);
    let src = Arc::new(answering(move |q| {
        if ids_in(q, "instance").iter().any(|i| i == "n03") && q.starts_with("node_temperature") {
            Err(SourceError::Api {
                status: 422,
                error_type: "execution".into(),
                error: "too many samples".into(),
                warnings: vec![],
            })
        } else {
            world.answer(q)
        }
    }));
    let engine = Engine::new(Arc::new(config), src);
    let s = engine.refresh_at(t0()).await;
    assert_eq!(s.errors.len(), 1);
    assert_eq!(&*s.errors[0].checks[0], "node_temperature");
    let r = check_state(&s, &node(&s, "n03"), "node_temperature");
    assert_eq!(r.severity, Unknown);
    assert!(r.reason().unwrap().contains("too many samples"));
    assert_eq!(node(&s, "n09").state, Some(Ok));
    assert!(s.stale.is_none());
}

#[tokio::test]
async fn unreachable_prometheus_goes_stale_then_unknown_then_recovers() {
    let config = fixture();
    let mut w = World::healthy(&config);
    w.set("up", "node.1", 0.0);
    let down = Arc::new(AtomicBool::new(false));
    let d2 = down.clone();
    let world = Arc::new(w);
    let src = Arc::new(answering(move |q| {
        if d2.load(Ordering::Relaxed) {
            Err(SourceError::Unreachable {
                url: "http://x".into(),
                reason: "connection refused".into(),
            })
        } else {
            world.answer(q)
        }
    }));
    let engine = Engine::new(Arc::new(config), src);
    let first = engine.refresh_at(t0()).await;
    assert_eq!(node(&first, "node.1").state, Some(Crit));

    down.store(true, Ordering::Relaxed);
    let s = engine.refresh_at(t0() + Duration::from_secs(30)).await;
    let stale = s.stale.clone().unwrap();
    assert!(!stale.expired);
    assert_eq!(stale.since, t0() + Duration::from_secs(30));
    assert!(stale.reason.contains("connection refused"));
    assert!(
        Arc::ptr_eq(&s.health, &first.health),
        "the last states stay"
    );
    assert_eq!(
        s.age(t0() + Duration::from_secs(30)),
        Duration::from_secs(30)
    );

    let s = engine.refresh_at(t0() + Duration::from_secs(61)).await;
    let stale = s.stale.clone().unwrap();
    assert!(stale.expired, "older than stale_after_seconds (60)");
    let r = check_state(&s, &node(&s, "node.1"), "node_up");
    assert_eq!(r.severity, Unknown);
    assert!(r.reason().unwrap().contains("unavailable for 31 s"));
    assert_eq!(s.health.global, Some(Unknown));

    // Still down: stays UNKNOWN (not back to the old states).
    let s = engine.refresh_at(t0() + Duration::from_secs(65)).await;
    assert!(s.stale.as_ref().unwrap().expired);

    down.store(false, Ordering::Relaxed);
    let s = engine.refresh_at(t0() + Duration::from_secs(70)).await;
    assert!(s.stale.is_none());
    assert_eq!(node(&s, "node.1").state, Some(Crit));
    assert_eq!(node(&s, "n03").state, Some(Ok));
}

#[tokio::test]
async fn the_loop_publishes_and_stops_on_shutdown() {
    let config = fixture();
    let (engine, _, _) = engine_with(World::healthy(&config));
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let e2 = engine.clone();
    let task = tokio::spawn(async move {
        e2.run(async {
            let _ = rx.await;
        })
        .await;
    });
    for _ in 0..200 {
        if engine.snapshot().is_some() && engine.stats().heartbeat_ok.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert!(engine.snapshot().is_some());
    assert_eq!(engine.stats().heartbeat_ok, Some(true));
    tx.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(5), task)
        .await
        .unwrap()
        .unwrap();
}

#[tokio::test]
async fn the_query_cache_counts_hits_and_misses() {
    let config = fixture();
    let (engine, _, src) = engine_with(World::healthy(&config));
    let q = r#"up{instance=~"^(?:n03)$"}"#;
    let a = engine
        .instant_cached(q, Duration::from_secs(60))
        .await
        .unwrap();
    let b = engine
        .instant_cached(q, Duration::from_secs(60))
        .await
        .unwrap();
    assert!(Arc::ptr_eq(&a, &b));
    assert_eq!(src.query_count(), 1);
    let v = engine.stats();
    assert_eq!((v.cache_hits, v.cache_misses), (1, 1));
}

fn severity() -> impl Strategy<Value = f64> {
    prop_oneof![Just(0.0), Just(1.0), Just(2.0), Just(f64::NAN)]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// A parent is never better than its worst child, at every level.
    #[test]
    fn aggregation_is_monotone(fans in proptest::collection::vec(proptest::option::of(severity()), 16),
                               psus in proptest::collection::vec(severity(), 4)) {
        let config = fixture();
        let mut w = World::healthy(&config);
        for (i, f) in fans.iter().enumerate() {
            let name = config.topology.instances.as_slice()[i].name.clone();
            match f {
                Some(v) => w.set("node_temperature_celsius", &name, 30.0 + 10.0 * v),
                None => w.unset("node_temperature_celsius", &name),
            }
        }
        for (i, v) in psus.iter().enumerate() {
            w.set("chassis_psu_state", &format!("chassis-{}", i + 1), *v);
        }
        let p = plan(&config);
        let answers: Vec<_> = p.queries.iter().map(|q| w.answer(&q.expr)).collect();
        let view: Vec<Answer<'_>> = answers.iter().map(|a| match a {
            Result::Ok(r) => Answer::Ok(r),
            Err(e) => panic!("the table answers every query: {e}"),
        }).collect();
        let h = evaluate(&config, &p, &view, t0(), &mut ForMemory::default());
        let topo = &config.topology;
        for (d, dev) in topo.devices.iter_ix() {
            for n in p.targets.device_nodes(topo, d) {
                prop_assert!(h.devices[d.index()].state >= h.nodes[n as usize].state);
            }
            prop_assert!(h.racks[dev.rack.index()].state >= h.devices[d.index()].state);
        }
        for (r, rack) in topo.racks.iter_ix() {
            if let Some(a) = rack.aisle {
                prop_assert!(h.aisles[a.index()] >= h.racks[r.index()].state);
            }
            prop_assert!(h.rooms[rack.room.index()] >= h.racks[r.index()].state);
        }
        for (r, room) in topo.rooms.iter_ix() {
            prop_assert!(h.sites[room.site.index()] >= h.rooms[r.index()]);
        }
        for s in &h.sites {
            prop_assert!(h.global >= *s);
        }
    }

    /// The alternation matches exactly its ids, whatever characters they hold.
    #[test]
    fn alternations_match_exactly_their_ids(ids in proptest::collection::btree_set("[a-c.+*?()|\\[\\]{}^$\\\\-]{1,4}", 1..6),
                                            probe in "[a-c.+*?()|\\[\\]{}^$\\\\-]{1,4}") {
        let list: Vec<&str> = ids.iter().map(String::as_str).collect();
        let re = regex::Regex::new(&alternation(&list)).unwrap();
        prop_assert_eq!(re.is_match(&probe), ids.contains(&probe));
        for id in &ids {
            prop_assert!(re.is_match(id));
        }
    }

    /// Whatever the limits, every target of every check is in exactly one query, and a
    /// query over the byte bound is one a single group of targets sharing an id fills.
    #[test]
    fn batching_covers_every_id_exactly_once(max in 1u32..20, bytes in prop_oneof![Just(0u32), 40u32..400]) {
        let mut config = fixture();
        config.app.planner.max_ids_per_query = max;
        config.app.planner.max_query_bytes = bytes;
        // The regex batching itself; queries without the id regex are tested below.
        config.app.planner.unfiltered_coverage_percent = 0;
        let p = plan(&config);
        for c in &p.checks {
            let mut seen = BTreeSet::new();
            let mut count = 0;
            for ch in &c.chunks {
                let q = &p.queries[ch.query as usize];
                prop_assert!(q.ids <= max);
                if bytes > 0 && q.expr.len() > bytes as usize {
                    let keys: BTreeSet<&str> = c.targets[ch.targets.start as usize..ch.targets.end as usize]
                        .iter()
                        .map(|&t| p.targets.key(&config.topology, c.scope, t))
                        .collect();
                    prop_assert_eq!(keys.len(), 1, "{} bytes over {}: {}", q.expr.len(), bytes, q.expr);
                }
                for id in ids_in(&q.expr, &c.key_label) {
                    count += 1;
                    seen.insert(id);
                }
            }
            let want: BTreeSet<String> = c.targets.iter()
                .map(|&t| p.targets.key(&config.topology, c.scope, t).to_owned()).collect();
            prop_assert_eq!(count, want.len());
            prop_assert_eq!(seen, want);
        }
    }
}

/// The cost model: a check covering enough of its scope's ids, that would take several
/// regex chunks, is one query without the id regex, and evaluates to the same states; the
/// reason is in the plan, and each guard keeps the chunks.
#[tokio::test]
async fn a_check_covering_most_ids_goes_without_the_id_regex_and_agrees() {
    let mut config = fixture();
    config.app.planner.max_ids_per_query = 3;
    config.app.planner.unfiltered_coverage_percent = 1;
    let p = plan(&config);
    let up = p.checks.iter().find(|c| &*c.id == "node_up").unwrap();
    assert!(up.choice.unfiltered, "{}", up.choice.reason);
    assert_eq!(up.chunks.len(), 1);
    let q = &p.queries[up.chunks[0].query as usize];
    assert!(q.unfiltered && q.expr.contains(r#"=~".+""#), "{}", q.expr);
    assert!(
        p.describe(&config, true).contains("no id regex: covers"),
        "{}",
        p.describe(&config, true)
    );

    let mut world = World::healthy(&config);
    world.set("up", "n03", 0.0);
    world.set("node_temperature_celsius", "n04", 50.0);
    // A series of a host the topology does not hold: the answer carries it, nothing takes it.
    world.set("up", "stranger", 0.0);
    let lean = Engine::new(Arc::new(config.clone()), Arc::new(world.table()))
        .refresh_at(t0())
        .await;
    let mut filtered = config.clone();
    filtered.app.planner.unfiltered_coverage_percent = 0;
    let fp = plan(&filtered);
    assert!(fp.checks.iter().all(|c| !c.choice.unfiltered));
    assert!(fp.queries.len() > p.queries.len());
    let regexed = Engine::new(Arc::new(filtered), Arc::new(world.table()))
        .refresh_at(t0())
        .await;
    assert_eq!(node(&lean, "n03").state, Some(Severity::Crit));
    for (a, b) in lean.health.nodes.iter().zip(&regexed.health.nodes) {
        assert_eq!(a.state, b.state);
    }
    assert_eq!(lean.health.alerts.len(), regexed.health.alerts.len());

    // Guards: coverage under the bound, and an answer for every id over the series bound.
    config.app.planner.unfiltered_coverage_percent = 100;
    let covered = plan(&config);
    let partial = covered
        .checks
        .iter()
        .filter(|c| !c.choice.unfiltered)
        .count();
    assert!(partial > 0);
    config.app.planner.unfiltered_coverage_percent = 1;
    config.app.telemetry.max_series_per_answer = 2;
    let capped = plan(&config);
    let up = capped.checks.iter().find(|c| &*c.id == "node_up").unwrap();
    assert!(!up.choice.unfiltered);
    assert!(
        up.choice.reason.contains("max_series_per_answer"),
        "{}",
        up.choice.reason
    );
}

#[test]
fn the_byte_bound_splits_chunks_the_id_bound_lets_through() {
    let mut config = fixture();
    config.app.planner.max_ids_per_query = 1000;
    config.app.planner.max_query_bytes = 0;
    let whole = plan(&config);
    config.app.planner.max_query_bytes = 60;
    let split = plan(&config);
    let chunks = |p: &Plan| p.checks.iter().map(|c| c.chunks.len()).sum::<usize>();
    assert!(
        chunks(&split) > chunks(&whole),
        "{} vs {}\n{}",
        chunks(&split),
        chunks(&whole),
        whole.describe(&config, true)
    );
    assert!(
        split
            .describe(&config, true)
            .contains("at most 1000 ids and 60 bytes per query")
    );
}

#[tokio::test]
async fn selectors_name_the_label_that_identifies_targets() {
    let mut config = fixture();
    let i = config.checks.index_of("node_temperature").unwrap();
    config.checks.items[i].def.selectors = vec!["host".into()];
    let src = Arc::new(answering(|q| {
        let samples = if q.starts_with("node_temperature") {
            ids_in(q, "instance")
                .iter()
                .map(|id| {
                    let v = if id == "n07" { 50.0 } else { 30.0 };
                    // The identity is in `host`; `instance` names the exporter.
                    sample(&[("host", id), ("instance", "exporter:9100")], v)
                })
                .collect()
        } else {
            Vec::new()
        };
        Result::Ok(InstantResult {
            samples,
            warnings: vec![],
        })
    }));
    let engine = Engine::new(Arc::new(config), src);
    let s = engine.refresh_at(t0()).await;
    assert_eq!(
        check_state(&s, &node(&s, "n07"), "node_temperature").severity,
        Crit
    );
    assert_eq!(
        check_state(&s, &node(&s, "n06"), "node_temperature").severity,
        Ok
    );
}

#[tokio::test]
async fn an_alert_keeps_its_first_refresh_through_escalation_and_reload_until_it_clears() {
    let config = fixture();
    let mut w = World::healthy(&config);
    w.set("node_temperature_celsius", "n03", 40.0);
    let (engine, world, _) = engine_with(w);
    let since = |s: &Snapshot, id: &str| {
        let n = s.config.topology.instance_ix(id).unwrap().index() as u32;
        s.health
            .alerts
            .iter()
            .find(|a| a.target == eval::AlertTarget::Node(n))
            .map(|a| (a.state, a.since))
    };
    let s = engine.refresh_at(t0()).await;
    assert_eq!(since(&s, "n03"), Some((Warn, t0())));
    // WARN to CRIT is the same alert, active since its first refresh.
    world
        .lock()
        .unwrap()
        .set("node_temperature_celsius", "n03", 50.0);
    let s = engine.refresh_at(t0() + Duration::from_secs(30)).await;
    assert_eq!(since(&s, "n03"), Some((Crit, t0())));
    // A reload renumbers nothing that matters: the name carries it.
    engine.reload(Arc::new(fixture())).await;
    let s = engine.refresh_at(t0() + Duration::from_secs(60)).await;
    assert_eq!(since(&s, "n03"), Some((Crit, t0())));
    // Cleared, then back: a new alert.
    world
        .lock()
        .unwrap()
        .set("node_temperature_celsius", "n03", 30.0);
    let s = engine.refresh_at(t0() + Duration::from_secs(90)).await;
    assert_eq!(since(&s, "n03"), None);
    world
        .lock()
        .unwrap()
        .set("node_temperature_celsius", "n03", 40.0);
    let s = engine.refresh_at(t0() + Duration::from_secs(120)).await;
    assert_eq!(
        since(&s, "n03"),
        Some((Warn, t0() + Duration::from_secs(120)))
    );
}

/// Answers keep only what evaluation reads: the key, the expand label and the qualifiers;
/// every label for a scripted check.
#[test]
fn answers_keep_the_labels_evaluation_reads() {
    let mut config = fixture();
    config.app.telemetry.site_label = Some("dc".into());
    let p = plan(&config);
    let read = super::eval::labels_read(&config, &p);
    assert_eq!(read.len(), p.queries.len());
    let mut expand_seen = false;
    for c in &p.checks {
        for ch in &c.chunks {
            let names = read[ch.query as usize]
                .as_ref()
                .expect("no scripts in this fixture");
            assert!(
                names.iter().any(|n| **n == *c.key_label),
                "{}: {names:?}",
                c.id
            );
            assert!(names.iter().any(|n| &**n == "dc"), "{}: {names:?}", c.id);
            if let Some(e) = &c.expand {
                expand_seen = true;
                assert!(names.iter().any(|n| **n == *e.label), "{}: {names:?}", c.id);
            }
            assert!(!names.iter().any(|n| &**n == "job"));
        }
    }
    assert!(expand_seen, "the fixture has an expand check");
    let labels =
        crate::labels::Labels::from_iter([("instance", "n1"), ("job", "node"), ("dc", "par")]);
    let names = read[p.checks[0].chunks[0].query as usize]
        .clone()
        .unwrap_or_default();
    let kept = labels.only(&names);
    assert_eq!(kept.get("job"), None);
    assert_eq!(kept.get("dc"), Some("par"));
    // A scripted check's script sees the whole series.
    let scripted = super::tests_failopen::scripted();
    let p = plan(&scripted);
    let read = super::eval::labels_read(&scripted, &p);
    let c = p
        .checks
        .iter()
        .find(|c| scripted.scripts_of(c.def).is_some())
        .expect("a scripted check");
    assert!(read[c.chunks[0].query as usize].is_none());
}
