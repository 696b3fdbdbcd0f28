//! The Slurm view (issue #21) against a real Prometheus: a Slurm exporter's exposition
//! (written by hand, see `tests/fixtures/slurm-exporter/README.md`) backfilled with
//! promtool, the upstream plugin files, and the API's answers.

use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use axum::http::StatusCode;
use rackscope_core::telemetry::Engine;
use rackscope_prometheus::PrometheusClient;
use serde_json::json;

use crate::support;
use crate::support::fixture::T0;
use crate::support::prom::{OpenMetrics, Prometheus};
use crate::support::router::get;

/// The exposition as series over [T0-600, T0+300], for promtool.
fn exposition() -> String {
    let text = std::fs::read_to_string(
        support::root().join("tests/fixtures/slurm-exporter/exposition.prom"),
    )
    .unwrap();
    let mut om = OpenMetrics::default();
    for line in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
    {
        let (series, value) = line.rsplit_once(' ').unwrap();
        let sel = rackscope_core::checktest::series::selector(series).unwrap();
        let labels: Vec<(&str, &str)> = sel
            .labels
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        om.constant(
            &sel.name,
            &labels,
            T0 - 600,
            T0 + 300,
            value.parse().unwrap(),
        );
    }
    om.finish()
}

/// The health fixture with the Slurm plugin on, Slurm's `x…` names mapped to `n…`.
fn configured(dir: &std::path::Path, prom: &Prometheus) -> rackscope_core::Config {
    configured_with(dir, prom, "")
}

/// `configured`, with more keys under app.yaml's `plugins.slurm` (indented by four).
fn configured_with(dir: &std::path::Path, prom: &Prometheus, more: &str) -> rackscope_core::Config {
    support::copy_dir(&support::root().join("tests/fixtures/health"), dir);
    let app = dir.join("app.yaml");
    let text = std::fs::read_to_string(&app).unwrap();
    std::fs::write(
        &app,
        format!("{text}plugins:\n  slurm:\n    enabled: true\n{more}"),
    )
    .unwrap();
    std::fs::create_dir_all(dir.join("plugins/slurm")).unwrap();
    std::fs::write(
        dir.join("plugins/slurm/config.yml"),
        "metric: slurm_node_status\nlabel_node: node\nlabel_status: status\nlabel_partition: partition\njobs_metric: slurm_node_jobs\nmetrics_catalogs: [jobs.yaml]\n",
    )
    .unwrap();
    std::fs::create_dir_all(dir.join("plugins/slurm/metrics")).unwrap();
    std::fs::write(
        dir.join("plugins/slurm/metrics/jobs.yaml"),
        "metrics:\n- {id: running, name: Running jobs, metric: sum(slurm_jobs_running), scope: global}\n- {id: broken, metric: 'sum(', scope: global}\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("plugins/slurm/node_mapping.yaml"),
        "mappings:\n- node: 'x*'\n  instance: 'n*'\n",
    )
    .unwrap();
    let mut loaded = support::load(&app);
    assert!(loaded.is_usable(), "{:#?}", loaded.diagnostics);
    // A catalog metric that is not PromQL is left out, at its line.
    let bad: Vec<_> = loaded
        .diagnostics
        .iter()
        .filter(|d| d.code == "slurm")
        .collect();
    assert_eq!(bad.len(), 1, "{bad:?}");
    assert!(
        bad[0].message.contains("`broken` does not parse as PromQL") && bad[0].span.pos.line == 3,
        "{bad:?}"
    );
    loaded.config.app.telemetry.prometheus_url = Some(prom.url());
    loaded.config
}

/// The server over the configured fixture, refreshed once at T0 against `prom`.
async fn served(
    dir: &std::path::Path,
    prom: &Prometheus,
) -> (
    rackscope::server::AppState,
    Arc<rackscope_core::telemetry::Snapshot>,
) {
    let config = configured(dir, prom);
    let client =
        PrometheusClient::from_config(&config.app.telemetry, std::path::Path::new(".")).unwrap();
    let engine = Arc::new(Engine::new(Arc::new(config), Arc::new(client)));
    let snap = engine
        .refresh_at(UNIX_EPOCH + Duration::from_secs(T0))
        .await;
    (rackscope::server::AppState::new(engine).unwrap(), snap)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slurm_states_come_from_one_query_with_aliases_stars_and_partitions() {
    let Some(prom) = Prometheus::start(&exposition()) else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let (st, snap) = served(tmp.path(), &prom).await;
    assert!(snap.errors.is_empty(), "{:?}", snap.errors);
    // One query for the whole estate, in the same refresh as the checks'.
    let q = snap.plan.slurm_query.unwrap() as usize;
    assert_eq!(
        snap.plan.queries[q].expr,
        "max by (node, status, partition, reason) (slurm_node_status)"
    );

    let s = get(&st, "/api/slurm/summary").await;
    assert_eq!(s.status, StatusCode::OK, "{}", s.text());
    let s = s.json();
    // login9 maps to no instance; the 0 sample of x03 is not a status.
    assert_eq!(s["total_nodes"], 7, "{s}");
    assert_eq!(
        s["by_status"],
        json!({"allocated": 1, "mixed": 1, "draining": 1, "idle*": 1, "idle": 1, "down": 1, "future": 1})
    );
    // `idle*` (not responding) is CRIT; `down` in partition `all` wins over `idle`; an
    // unlisted status is UNKNOWN.
    assert_eq!(
        s["by_severity"],
        json!({"OK": 2, "WARN": 1, "CRIT": 3, "UNKNOWN": 1})
    );

    let p = get(&st, "/api/slurm/partitions").await.json();
    assert_eq!(
        p["partitions"],
        json!({
            "batch": {"allocated": 1, "mixed": 1, "draining": 1, "idle*": 1, "idle": 1, "down": 1},
            "gpu": {"mixed": 1},
            "debug": {"future": 1},
        })
    );

    let n = get(&st, "/api/slurm/nodes").await.json();
    let n05 = n["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["instance"] == "n05")
        .unwrap();
    assert_eq!(n05["node"], "x05");
    assert_eq!(n05["status"], "draining");
    assert_eq!(n05["severity"], "CRIT");
    assert_eq!(n05["rack_id"], "r02");
    assert_eq!(n05["rack_path"], "dc1/room-a/aisle-1/r02");
    assert_eq!(n05["device_id"], "chassis-2");
    // The exporter's reason label travels with the node.
    assert_eq!(n05["reason"], "fan");
    let n04 = n["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["instance"] == "n04")
        .unwrap();
    assert_eq!(n04["partitions"], json!(["batch", "gpu"]));

    // A room's every instance, `unknown` where Slurm said nothing.
    let r = get(&st, "/api/slurm/rooms/room-a/nodes").await.json();
    assert_eq!(r["nodes"]["n03"]["status"], "allocated");
    assert_eq!(
        r["nodes"]["node.1"],
        json!({"status": "unknown", "severity": "UNKNOWN", "statuses": [], "partitions": []})
    );
    let b = get(&st, "/api/slurm/summary?room_id=room-b").await.json();
    assert_eq!(b["total_nodes"], 0);
    assert_eq!(
        get(&st, "/api/slurm/summary?room_id=nope").await.status,
        StatusCode::NOT_FOUND
    );

    // Losing r01 (n03 allocated with 3 jobs, n04 mixed with 2, and node.1 and a+b that
    // Slurm does not report): batch loses 2 of its 6 nodes, gpu its only one.
    let i = get(&st, "/api/slurm/impact?rack_id=r01").await.json();
    assert_eq!(
        i["partitions"],
        json!([
            {"partition": "gpu", "nodes": 1, "total": 1, "busy": 1, "jobs": 2},
            {"partition": "batch", "nodes": 2, "total": 6, "busy": 2, "jobs": 5},
        ]),
        "{i}"
    );

    let c = get(&st, "/api/slurm/metrics/catalog").await.json();
    assert_eq!(c["metrics"][0]["id"], "running");
    assert_eq!(c["metrics"].as_array().unwrap().len(), 1);
    assert_eq!(c["available_files"], json!(["jobs.yaml"]));
    let m = get(&st, "/api/slurm/mapping").await.json();
    assert_eq!(m["entries"], json!([{"node": "x*", "instance": "n*"}]));
    assert!(
        m["mapping_path"]
            .as_str()
            .unwrap()
            .ends_with("plugins/slurm/node_mapping.yaml")
    );
}

/// The check of a node target by id, from a snapshot.
fn check_of<'s>(
    snap: &'s rackscope_core::telemetry::Snapshot,
    instance: &str,
    id: &str,
) -> Option<&'s rackscope_core::telemetry::eval::CheckResult> {
    let ix = snap.config.topology.instance_ix(instance)?;
    snap.health.nodes[ix.index()]
        .checks
        .iter()
        .find(|c| &*snap.plan.checks[c.check as usize].id == id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_affects_health_slurm_severity_is_a_check_of_its_own_that_fails_closed() {
    use crate::support::faulty::{Fault, Faulty};
    use rackscope_core::Severity;
    let Some(prom) = Prometheus::start(&exposition()) else {
        return;
    };
    let faulty = Faulty::start(prom.port, None).await;
    let tmp = tempfile::tempdir().unwrap();
    let mut config = configured_with(tmp.path(), &prom, "    affects_health: true\n");
    config.app.telemetry.prometheus_url = Some(faulty.url());
    // The check is in the library, defined at the plugin file, bound to every instance.
    let def = config.checks.get("slurm_node_status").unwrap();
    assert!(def.file.ends_with("plugins/slurm/config.yml"));
    let client =
        PrometheusClient::from_config(&config.app.telemetry, std::path::Path::new(".")).unwrap();
    let engine = Arc::new(Engine::new(Arc::new(config), Arc::new(client)));
    let at = UNIX_EPOCH + Duration::from_secs(T0);
    let snap = engine.refresh_at(at).await;
    assert!(snap.errors.is_empty(), "{:?}", snap.errors);
    let slurm = |i: &str| check_of(&snap, i, "slurm_node_status").map(|c| c.severity);
    // draining (with its reason), idle* and down are CRIT; idle OK; an unlisted status
    // UNKNOWN; a node Slurm does not report has no result at all.
    assert_eq!(slurm("n05"), Some(Severity::Crit));
    assert_eq!(slurm("n06"), Some(Severity::Crit));
    assert_eq!(slurm("n08"), Some(Severity::Crit));
    assert_eq!(slurm("n07"), Some(Severity::Ok));
    assert_eq!(slurm("n09"), Some(Severity::Unknown));
    assert_eq!(slurm("node.1"), None);
    // It rolls up: r02 holds n05-n08.
    let r02 = snap.config.topology.rack_ix("r02").unwrap();
    assert_eq!(snap.health.racks[r02.index()].state, Some(Severity::Crit));

    let st = rackscope::server::AppState::new(engine.clone()).unwrap();
    let alerts = get(&st, "/api/alerts/active").await.json();
    let n05 = alerts["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["node_id"] == "n05")
        .unwrap_or_else(|| panic!("{alerts}"));
    let check = n05["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "slurm_node_status")
        .unwrap_or_else(|| panic!("{n05}"));
    assert_eq!(check["severity"], "CRIT", "{check}");
    assert_eq!(check["message"], "Slurm draining (CRIT): fan", "{check}");
    // The CRIT rack's page says what losing it takes, jobs included (x05 runs one).
    let rack = page(&get(&st, "/views/rack/r02").await);
    assert!(
        rack.contains("batch: 4 of 6 nodes, 0 busy, 1 running job"),
        "{rack}"
    );

    // Only the Slurm query fails: the nodes it reported turn UNKNOWN with the error,
    // never OK, and a node it never reported stays without a result.
    faulty.set(Fault::Error500When("slurm_node_status"));
    let snap = engine.refresh_at(at + Duration::from_secs(30)).await;
    let c = check_of(&snap, "n07", "slurm_node_status").unwrap();
    assert_eq!(c.severity, Severity::Unknown);
    assert!(
        c.reason()
            .unwrap_or_default()
            .contains("storage is on fire"),
        "{c:?}"
    );
    assert!(check_of(&snap, "node.1", "slurm_node_status").is_none());
    // And the view says why it has no Slurm state.
    let s = snap.slurm.as_deref().unwrap();
    assert!(s.error.is_some() && s.jobs.is_none());
}

#[test]
fn a_check_of_ours_named_like_slurms_is_refused_at_its_line() {
    let (tmp, app) =
        support::health_with("plugins:\n  slurm:\n    enabled: true\n    affects_health: true\n");
    let checks = tmp.path().join("checks/slurm.yaml");
    std::fs::create_dir_all(checks.parent().unwrap()).unwrap();
    std::fs::write(
        &checks,
        "checks:\n- id: slurm_node_status\n  name: Mine\n  scope: node\n  expr: up\n",
    )
    .unwrap();
    let loaded = support::load(&app);
    let e: Vec<_> = loaded
        .diagnostics
        .iter()
        .filter(|d| d.code == "slurm")
        .collect();
    assert_eq!(e.len(), 1, "{:?}", loaded.diagnostics);
    assert!(e[0].message.contains("affects_health"), "{e:?}");
    assert!(e[0].span.file.ends_with("checks/slurm.yaml"));
    assert_eq!(e[0].span.pos.line, 2);
}

#[tokio::test]
async fn the_slurm_routes_say_the_view_is_off_when_it_is() {
    let (st, _) = crate::support::router::fixture(true).await;
    for uri in [
        "/api/slurm/summary",
        "/api/slurm/nodes",
        "/api/slurm/rooms/room-a/nodes",
        "/api/slurm/mapping",
    ] {
        let r = get(&st, uri).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{uri}");
        assert!(
            r.text().contains("plugins.slurm.enabled"),
            "{uri}: {}",
            r.text()
        );
    }
}

/// A page with the entities Tera writes for `/` and `&` decoded.
fn page(r: &crate::support::router::Reply) -> String {
    r.text().replace("&#x2F;", "/").replace("&amp;", "&")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_slurm_pages_count_filter_and_locate_nodes_without_javascript() {
    let Some(prom) = Prometheus::start(&exposition()) else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let (st, _) = served(tmp.path(), &prom).await;
    let o = get(&st, "/slurm/overview").await;
    assert_eq!(o.status, StatusCode::OK);
    let o = page(&o);
    assert!(
        o.contains(">Workload</a>"),
        "the navigation has the Workload entry"
    );
    assert!(o.contains("7 Slurm nodes"), "{o}");
    // Worst first, each a link to the nodes table filtered to it.
    let crit = o
        .find("href=\"/slurm/nodes?severity=CRIT\"><div class=\"num\">3</div>")
        .unwrap();
    let ok = o
        .find("href=\"/slurm/nodes?severity=OK\"><div class=\"num\">2</div>")
        .unwrap();
    assert!(crit < ok);
    assert!(
        o.contains("<a href=\"/slurm/nodes?partition=gpu&status=mixed\">mixed</a> 1"),
        "{o}"
    );
    assert_eq!(get(&st, "/slurm/partitions").await.status, StatusCode::OK);

    let n = page(&get(&st, "/slurm/nodes?severity=CRIT").await);
    assert!(
        n.contains("Slurm nodes <span class=\"count\">3 of 7</span>"),
        "{n}"
    );
    for (instance, node, status) in [
        ("n05", "x05", "draining"),
        ("n06", "x06", "idle*"),
        ("n08", "x08", "down"),
    ] {
        assert!(
            n.contains(&format!(">{instance}</a> <code>{node}</code></td><td><span class=\"badge st-CRIT\">{status}</span>")),
            "{instance}: {n}"
        );
    }
    // Each row says where the node is and links its rack and device.
    assert!(
        n.contains("Primary DC › Room A › Aisle 1 › Rack 02 › U1"),
        "{n}"
    );
    assert!(n.contains("href=\"/views/device/r02/chassis-2\""), "{n}");
    let p = page(&get(&st, "/slurm/nodes?partition=gpu").await);
    assert!(p.contains("1 of 7"), "{p}");
    let a = page(&get(&st, "/slurm/alerts").await);
    // Not fine: CRIT 3, WARN 1, UNKNOWN 1.
    assert!(
        a.contains("Slurm alerts <span class=\"count\">5 of 7</span>"),
        "{a}"
    );
    assert!(!a.contains(">n03</a>"), "allocated is fine: {a}");
    // The room wallboard: each rack in the colour of its worst Slurm node.
    let w = page(&get(&st, "/slurm/wallboard?room=room-a").await);
    for (rack, class, crit, warn) in [
        ("r01", "st-WARN", 0, 1),
        ("r02", "st-CRIT", 3, 0),
        ("r03", "st-UNKNOWN", 0, 0),
    ] {
        let want = format!("href=\"/views/rack/{rack}\" class=\"rack {class}\"");
        assert!(w.contains(&want), "{rack}: {want}\n{w}");
        assert!(
            w.contains(&format!("data-crit=\"{crit}\" data-warn=\"{warn}\"><rect")),
            "{rack}"
        );
    }
    // Under the plan, each rack's front with every node in its Slurm severity: chassis-2
    // (n05-n08) is CRIT for its draining, not-responding and down nodes, n07 (idle) OK.
    assert!(w.contains("<h2>Racks</h2>"), "{w}");
    assert!(
        w.contains(
            "<g class=\"device st-CRIT\"><a href=\"/views/device/r02/chassis-2\" data-name=\"chassis-2\" data-state=\"CRIT\""
        ),
        "{w}"
    );
    for (node, label) in [
        ("n05", "CRIT"),
        ("n06", "CRIT"),
        ("n07", "OK"),
        ("n08", "CRIT"),
        ("n03", "OK"),
    ] {
        assert!(
            w.contains(&format!("<rect class=\"cell st-{label}\""))
                && w.contains(&format!("<title>{node} — {label}</title>")),
            "{node}: {w}"
        );
    }
    // The wallboard draws several racks: no element id is repeated.
    assert!(!w.contains("id=\"dev-"), "{w}");
    let b = page(&get(&st, "/slurm/wallboard?room=room-b").await);
    assert!(
        b.contains("href=\"/views/rack/r10\" class=\"rack st-NONE\""),
        "Slurm says nothing of r10: {b}"
    );
    assert_eq!(
        get(&st, "/slurm/wallboard?room=nope").await.status,
        StatusCode::NOT_FOUND
    );
    let room = page(&get(&st, "/slurm/nodes?room=room-b").await);
    assert!(
        room.contains("0 of 7") && room.contains("No node matches."),
        "{room}"
    );
}

#[tokio::test]
async fn with_the_view_off_the_pages_say_how_to_turn_it_on_and_the_playlist_skips_them() {
    let (st, _) = crate::support::router::fixture(true).await;
    let o = page(&get(&st, "/slurm/overview").await);
    assert!(o.contains("The Slurm view is off"), "{o}");
    assert!(!o.contains(">Workload</a>"));
    let tmp = tempfile::tempdir().unwrap();
    support::copy_dir(&support::root().join("tests/fixtures/health"), tmp.path());
    let app = tmp.path().join("app.yaml");
    let text = std::fs::read_to_string(&app).unwrap();
    std::fs::write(
        &app,
        format!("{text}playlist:\n  views: [/slurm/overview, /alerts]\n"),
    )
    .unwrap();
    let loaded = support::load(&app);
    let w: Vec<_> = loaded
        .diagnostics
        .iter()
        .filter(|d| d.code == "playlist")
        .collect();
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(w[0].message.contains("Slurm view is off"));
    assert_eq!(rackscope::ui::chrome::playlist(&loaded.config), ["/alerts"]);
}

#[test]
fn with_the_view_on_slurm_pages_are_wallboard_views() {
    let tmp = tempfile::tempdir().unwrap();
    support::copy_dir(&support::root().join("tests/fixtures/health"), tmp.path());
    let app = tmp.path().join("app.yaml");
    let text = std::fs::read_to_string(&app).unwrap();
    std::fs::write(
        &app,
        format!("{text}plugins:\n  slurm:\n    enabled: true\nplaylist:\n  views: [/slurm/overview, /alerts]\n"),
    )
    .unwrap();
    let loaded = support::load(&app);
    assert!(
        !loaded.diagnostics.iter().any(|d| d.code == "playlist"),
        "{:?}",
        loaded.diagnostics
    );
    assert_eq!(
        rackscope::ui::chrome::playlist(&loaded.config),
        ["/slurm/overview", "/alerts"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_shows_the_simulators_slurm_states_beside_hardware_health() {
    use crate::support::served::{Served, start_simulator};
    use rackscope_simulator::world::Class;
    if !crate::support::prom::available() {
        return;
    }
    let app = support::root().join("config/demo-small/app.yaml");
    let (sim, addr, _stop) =
        start_simulator(&app, Some(rackscope_simulator::IncidentMode::FullOk)).await;
    let world = sim.world();
    let workers: Vec<&rackscope_simulator::world::Node> = world
        .nodes
        .iter()
        .filter(|n| matches!(n.class, Class::Compute | Class::Gpu))
        .collect();
    let gpus = workers.iter().filter(|n| n.class == Class::Gpu).count();
    // One compute node goes down: Slurm says `down`, hardware says CRIT, side by side.
    let victim = workers
        .iter()
        .find(|n| n.class == Class::Compute)
        .unwrap()
        .name
        .clone();
    sim.add_override(
        rackscope_simulator::Override {
            id: "down".into(),
            instance: Some(victim.clone()),
            rack_id: None,
            metric: "up".into(),
            value: 0.0,
            slot: None,
            expires_at: None,
        },
        Some(0),
        rackscope_simulator::unix_now(),
    )
    .unwrap();
    // And a whole rack of another node goes down: what it takes from each partition.
    let topo = &world.config.topology;
    let victim_rack = workers.iter().find(|n| n.name == victim).unwrap().rack;
    let down_rack = workers
        .iter()
        .map(|n| n.rack)
        .find(|&r| r != victim_rack)
        .unwrap();
    let down_path = topo.rack_path(down_rack);
    sim.add_override(
        rackscope_simulator::Override {
            id: "rack".into(),
            instance: None,
            rack_id: Some(topo.racks[down_rack].id.clone()),
            metric: "rack_down".into(),
            value: 1.0,
            slot: None,
            expires_at: None,
        },
        Some(0),
        rackscope_simulator::unix_now(),
    )
    .unwrap();
    let in_rack = |c: Class| {
        workers
            .iter()
            .filter(|n| n.rack == down_rack && n.class == c)
            .count()
    };
    let prom = Prometheus::scraping(std::slice::from_ref(&addr), 1).unwrap();
    let served = Served::start(&world.config, &prom.url()).await;
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let seen = served.engine.snapshot().and_then(|s| {
            let v = s.slurm.clone()?;
            let i = s.config.topology.instance_ix(&victim)?;
            let down = |n: Option<&rackscope_core::slurm::NodeState>| {
                n.is_some_and(|n| n.status == "down")
            };
            let rack_node = workers.iter().find(|n| n.rack == down_rack)?;
            let r = s.config.topology.instance_ix(&rack_node.name)?;
            (v.view.nodes.len() == workers.len()
                && down(v.view.nodes.get(&i))
                && down(v.view.nodes.get(&r))
                && s.health.racks[down_rack.index()].state == Some(rackscope_core::Severity::Crit))
            .then_some(())
        });
        if seen.is_some() {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the Slurm states never arrived"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let st = rackscope::server::AppState::new(served.engine.clone()).unwrap();
    let s = get(&st, "/api/slurm/summary").await.json();
    assert_eq!(s["total_nodes"], workers.len());
    let p = get(&st, "/api/slurm/partitions").await.json();
    let in_gpu: u64 = p["partitions"]["gpu"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_u64().unwrap())
        .sum();
    assert_eq!(in_gpu as usize, gpus);
    let all = get(&st, "/api/slurm/nodes").await.json();
    let row = all["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["instance"] == victim.as_str())
        .unwrap();
    assert_eq!(
        (row["status"].as_str(), row["severity"].as_str()),
        (Some("down"), Some("CRIT"))
    );
    let rack = row["rack_id"].as_str().unwrap().to_owned();
    let state = get(&st, &format!("/api/racks/{rack}/state")).await.json();
    assert_eq!(state["nodes"][victim.as_str()]["state"], "CRIT");
    // The rack that went down: each partition it held nodes of, of how many.
    let rack_id = topo.racks[down_rack].id.clone();
    let i = get(&st, &format!("/api/slurm/impact?rack_id={rack_id}"))
        .await
        .json();
    assert_eq!(i["racks"], json!([down_path]));
    for (partition, class, total) in [
        ("cpu", Class::Compute, workers.len() - gpus),
        ("gpu", Class::Gpu, gpus),
    ] {
        let here = in_rack(class);
        let row = i["partitions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["partition"] == partition);
        match row {
            Some(row) => {
                assert_eq!(row["nodes"], here, "{i}");
                assert_eq!(row["total"], total, "{i}");
                assert_eq!(row["busy"], 0, "its nodes are down, none busy: {i}");
                assert_eq!(row["jobs"], 0, "and they run no job: {i}");
            }
            None => assert_eq!(here, 0, "{i}"),
        }
    }
    let rack_page = page(&get(&st, &format!("/views/rack/{rack_id}")).await);
    assert!(
        rack_page.contains(&format!(
            "cpu: {} of {} nodes, 0 busy, 0 running jobs",
            in_rack(Class::Compute),
            workers.len() - gpus
        )),
        "{rack_page}"
    );
    // Its nodes' cards carry their Slurm status beside the hardware state.
    let dev = page(
        &get(
            &st,
            &format!(
                "/views/device/{}/{}",
                topo.racks[victim_rack].id,
                topo.devices[topo.instances[topo.instance_ix(&victim).unwrap()].device].id
            ),
        )
        .await,
    );
    assert!(dev.contains("Slurm down</span>"), "{dev}");
    // The demo's metrics catalog, and one of its metrics evaluated now.
    let c = get(&st, "/api/slurm/metrics/catalog").await.json();
    assert_eq!(c["loaded_files"], json!(["workload.yaml"]));
    assert_eq!(c["metrics"].as_array().unwrap().len(), 3, "{c}");
    // The simulator's allocated nodes run jobs, counted per node in the snapshot and by
    // the catalog's metric alike.
    let snap = served.engine.snapshot().unwrap();
    let counted: u64 = snap
        .slurm
        .as_ref()
        .and_then(|s| s.jobs.as_ref())
        .unwrap()
        .values()
        .map(|&n| u64::from(n))
        .sum();
    assert!(counted > 0, "an allocated node runs at least one job");
    let running = get(&st, "/api/slurm/metrics/data?metric_id=running_jobs")
        .await
        .json();
    // Drawn once per node and the incidents off: the same figure now as at the refresh.
    assert_eq!(
        running["data"][0]["value"].as_f64(),
        Some(counted as f64),
        "{running}"
    );
    let d = get(&st, "/api/slurm/metrics/data?metric_id=nodes_by_partition")
        .await
        .json();
    assert!(d.get("error").is_none(), "{d}");
    let by: std::collections::BTreeMap<String, f64> = d["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| {
            (
                x["labels"]["partition"].as_str().unwrap().to_owned(),
                x["value"].as_f64().unwrap(),
            )
        })
        .collect();
    assert_eq!(by.get("gpu").copied(), Some(gpus as f64), "{d}");
    assert_eq!(
        by.get("cpu").copied(),
        Some((workers.len() - gpus) as f64),
        "{d}"
    );
    assert_eq!(
        get(&st, "/api/slurm/metrics/data?metric_id=nope")
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    // The Workload page lists it among the Slurm alerts, where it is.
    let alerts = page(&get(&st, "/slurm/alerts").await);
    assert!(alerts.contains(&format!(">{victim}</a>")), "{alerts}");
    served.stop().await.unwrap();
}
