//! Unit tests of the simulator on the project's demo configuration: determinism, incident
//! modes, overrides and the control API (through tower's `oneshot`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use tower::ServiceExt as _;

use crate::settings::IncidentMode;
use crate::{Override, Simulator, open};

fn demo_small() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/demo-small/app.yaml")
}

fn sim(mode: IncidentMode, seed: u64, overrides: Option<std::path::PathBuf>) -> Simulator {
    // Loaded once: tests vary only the settings.
    static BASE: std::sync::OnceLock<Simulator> = std::sync::OnceLock::new();
    let s = BASE.get_or_init(|| open(&demo_small()).unwrap());
    let config = s.world().config.clone();
    let mut settings = s.settings().clone();
    settings.mode = mode;
    settings.seed = Some(seed);
    settings.overrides_file = overrides;
    Simulator::new(config, settings, s.catalog().clone())
}

/// The value of the first sample of `metric` whose line contains every one of `needles`.
fn value(expo: &str, metric: &str, needles: &[&str]) -> Option<f64> {
    expo.lines()
        .filter(|l| l.starts_with(&format!("{metric}{{")))
        .find(|l| needles.iter().all(|n| l.contains(n)))
        .and_then(|l| l.rsplit(' ').next()?.parse().ok())
}

const T: f64 = 1_790_000_000.0;

/// The first node with drive slots: a storage array.
fn storage_array(s: &Simulator) -> crate::world::Node {
    s.world()
        .nodes
        .iter()
        .find(|n| !n.slots.is_empty())
        .unwrap()
        .clone()
}

#[test]
fn same_seed_and_instant_give_the_same_exposition() {
    let a = sim(IncidentMode::Medium, 42, None).render_at(T);
    let b = sim(IncidentMode::Medium, 42, None).render_at(T);
    assert_eq!(a, b);
    let c = sim(IncidentMode::Medium, 43, None).render_at(T);
    assert_ne!(a, c, "another seed draws other incidents and values");
    assert!(a.ends_with("# EOF\n"));
}

#[test]
fn every_instance_has_an_up_series_and_labels_locate_it() {
    let s = sim(IncidentMode::FullOk, 1, None);
    let expo = s.render_at(T);
    let topo = &s.world().config.topology;
    for inst in &topo.instances {
        let needle = format!("instance=\"{}\"", inst.name);
        assert_eq!(
            value(&expo, "up", &[&needle]),
            Some(1.0),
            "{} has no up=1 series in full_ok mode",
            inst.name
        );
    }
    // Node series carry the physical location.
    let line = expo.lines().find(|l| l.starts_with("up{")).unwrap();
    for k in [
        "site_id=",
        "room_id=",
        "rack_id=",
        "chassis_id=",
        "job=\"node\"",
    ] {
        assert!(line.contains(k), "{line}");
    }
}

#[test]
fn incident_modes_draw_the_documented_counts() {
    for (mode, crit, warn, racks) in [
        (IncidentMode::FullOk, 0..=0, 0..=0, 0..=0),
        (IncidentMode::Light, 1..=3, 1..=5, 0..=0),
        (IncidentMode::Medium, 1..=3, 5..=10, 1..=1),
        (IncidentMode::Heavy, 5..=10, 10..=20, 2..=2),
    ] {
        for seed in 0..20 {
            let s = sim(mode, seed, None);
            let (inc, _) = s.incidents_at(T);
            let c = inc.crit_nodes().count();
            let w = inc.warn_nodes().count();
            assert!(crit.contains(&c), "{mode:?} seed {seed}: {c} CRIT");
            assert!(warn.contains(&w), "{mode:?} seed {seed}: {w} WARN");
            assert!(racks.contains(&inc.down_racks().count()));
            assert!(
                inc.crit_nodes().all(|n| !inc.warn[n as usize]),
                "CRIT and WARN overlap"
            );
        }
    }
}

#[test]
fn crit_nodes_are_down_and_warn_nodes_show_a_warning() {
    let s = sim(IncidentMode::Medium, 9, None);
    let (inc, _) = s.incidents_at(T);
    let frame = s.frame_at(T);
    for n in inc.crit_nodes() {
        assert!(!frame.nodes[n as usize].up);
        assert_eq!(frame.nodes[n as usize].health, 2);
    }
    for n in inc.warn_nodes() {
        let st = &frame.nodes[n as usize];
        if !st.up {
            continue; // also in a rack that is down
        }
        assert!(st.health >= 1, "WARN node {n} reports health {}", st.health);
    }
    for r in inc.down_racks() {
        for &n in &s.world().rack_nodes[r as usize] {
            assert!(
                !frame.nodes[n as usize].up,
                "node {n} of down rack {r} is up"
            );
        }
        assert!(frame.racks[r as usize].down);
    }
}

#[test]
fn healthy_values_stay_inside_the_example_thresholds() {
    // full_ok: nothing may look like a warning to the demo and example checks.
    let s = sim(IncidentMode::FullOk, 5, None);
    for k in 0..200 {
        let f = s.frame_at(T + k as f64 * 37.0);
        for (i, n) in f.nodes.iter().enumerate() {
            assert!(n.up && n.health == 0, "node {i} at step {k}: {n:?}");
            assert!(n.temp < 38.0 && n.power < 500.0 && n.load < 90.0, "{n:?}");
        }
        for r in &f.racks {
            assert!(r.power < 5000.0 && !r.down && !r.hot, "{r:?}");
        }
    }
}

#[test]
fn counters_only_grow() {
    let s = sim(IncidentMode::Light, 2, None);
    let a = s.render_at(T);
    let b = s.render_at(T + 15.0);
    let needle = "pduid=\"1\"";
    let e1 = value(&a, "raritan_pdu_activeenergy_watthour_total", &[needle]).unwrap();
    let e2 = value(&b, "raritan_pdu_activeenergy_watthour_total", &[needle]).unwrap();
    assert!(e2 >= e1);
    let sw = s
        .world()
        .nodes
        .iter()
        .find(|n| n.class == crate::world::Class::Network)
        .unwrap()
        .name
        .clone();
    let inst = format!("instance=\"{sw}\"");
    let o1 = value(&a, "switch_port_in_octets", &[&inst]).unwrap();
    let o2 = value(&b, "switch_port_in_octets", &[&inst]).unwrap();
    assert!(o2 > o1);
}

#[test]
fn overrides_force_values_persist_and_expire() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("overrides.yaml");
    let s = sim(IncidentMode::FullOk, 1, Some(file.clone()));
    let inst = "compute001";
    s.add_override(
        Override {
            id: String::new(),
            instance: Some(inst.into()),
            rack_id: None,
            metric: "up".into(),
            value: 0.0,
            slot: None,
            expires_at: None,
        },
        Some(60),
        T,
    )
    .unwrap();
    let needle = format!("instance=\"{inst}\"");
    assert_eq!(value(&s.render_at(T + 1.0), "up", &[&needle]), Some(0.0));
    assert_eq!(
        value(&s.render_at(T + 1.0), "node_health_status", &[&needle]),
        Some(2.0)
    );
    // Expired after its TTL.
    assert_eq!(value(&s.render_at(T + 61.0), "up", &[&needle]), Some(1.0));

    // Saved to the file, which another simulator reads.
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(
        text.contains("compute001") && text.contains("expires_at"),
        "{text}"
    );
    let s2 = sim(IncidentMode::FullOk, 1, Some(file.clone()));
    assert_eq!(s2.overrides(T).len(), 1);

    // A hand edit of the file applies at the next scrape.
    std::thread::sleep(std::time::Duration::from_millis(20));
    std::fs::write(
        &file,
        "overrides:\n- {id: hand, rack_id: rack-a01, metric: rack_down, value: 1}\n",
    )
    .unwrap();
    let expo = s2.render_at(T);
    assert_eq!(
        value(&expo, "up", &[&needle]),
        Some(0.0),
        "rack-a01 is down"
    );
    assert_eq!(
        value(&expo, "rack_psu_status", &["rack_id=\"rack-a01\""]),
        Some(1.0)
    );
}

#[test]
fn a_failed_disk_override_fails_that_slot_only() {
    let s = sim(IncidentMode::FullOk, 1, None);
    let array = storage_array(&s);
    let slot = array.slots[2];
    s.add_override(
        Override {
            id: String::new(),
            instance: Some(array.name.clone()),
            rack_id: None,
            metric: "eseries_drive_status".into(),
            value: 1.0,
            slot: Some(slot.to_string()),
            expires_at: None,
        },
        Some(0),
        T,
    )
    .unwrap();
    let expo = s.render_at(T);
    let inst = format!("instance=\"{}\"", array.name);
    let failed = expo
        .lines()
        .filter(|l| {
            l.starts_with("eseries_drive_status{")
                && l.contains(&inst)
                && l.contains("status=\"failed\"")
                && l.ends_with(" 1.0")
        })
        .collect::<Vec<_>>();
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert!(failed[0].contains(&format!("slot=\"{slot}\"")));
}

#[test]
fn invalid_overrides_are_refused_with_the_reason() {
    let s = sim(IncidentMode::FullOk, 1, None);
    let bad = |instance: Option<&str>, rack: Option<&str>, metric: &str, value: f64| {
        s.add_override(
            Override {
                id: String::new(),
                instance: instance.map(str::to_string),
                rack_id: rack.map(str::to_string),
                metric: metric.into(),
                value,
                slot: None,
                expires_at: None,
            },
            None,
            T,
        )
        .unwrap_err()
        .to_string()
    };
    assert!(bad(Some("nope"), None, "up", 0.0).contains("unknown instance `nope`"));
    assert!(bad(None, Some("nope"), "rack_down", 1.0).contains("unknown rack"));
    assert!(bad(Some("compute001"), None, "up", 3.0).contains("0 or 1"));
    assert!(bad(Some("compute001"), None, "rack_down", 1.0).contains("not a metric"));
    assert!(bad(None, None, "up", 0.0).contains("exactly one"));
    assert!(bad(Some("compute001"), None, "eseries_drive_status", 1.0).contains("slot"));
}

async fn call(app: &axum::Router, method: &str, uri: &str, body: &str) -> (StatusCode, String) {
    let req = Request::builder()
        .method(method)
        .uri(uri)
        .header("content-type", "application/json")
        .header("authorization", "Bearer sekret")
        .body(Body::from(body.to_string()))
        .unwrap();
    let res = app.clone().oneshot(req).await.unwrap();
    let status = res.status();
    let bytes = axum::body::to_bytes(res.into_body(), usize::MAX)
        .await
        .unwrap();
    (status, String::from_utf8_lossy(&bytes).into_owned())
}

#[tokio::test]
async fn control_api_adds_lists_and_removes_overrides() {
    let s = Arc::new(sim(IncidentMode::Light, 4, None));
    let app = crate::http::router(s.clone(), Some("sekret".into()));

    let (st, body) = call(
        &app,
        "POST",
        "/api/overrides",
        r#"{"instance":"compute002","metric":"node_temperature_celsius","value":50,"ttl_seconds":0}"#,
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    let id = v["added"]["id"].as_str().unwrap().to_string();
    assert_eq!(v["overrides"].as_array().unwrap().len(), 1);
    assert!(
        v["added"].get("expires_at").is_none(),
        "ttl 0 never expires"
    );

    let (st, expo) = call(&app, "GET", "/metrics", "").await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(
        value(
            &expo,
            "node_temperature_celsius",
            &["instance=\"compute002\""]
        ),
        Some(50.0)
    );
    assert_eq!(
        value(
            &expo,
            "ipmi_temperature_state",
            &["instance=\"compute002\""]
        ),
        Some(2.0),
        "the IPMI state follows a forced temperature"
    );

    let (st, body) = call(&app, "GET", "/api/status", "").await;
    assert_eq!(st, StatusCode::OK);
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["incident_mode"], "light");
    assert_eq!(v["seed"], 4);
    assert_eq!(v["overrides"], 1);

    let (st, body) = call(
        &app,
        "POST",
        "/api/overrides",
        r#"{"instance":"ghost","metric":"up","value":0}"#,
    )
    .await;
    assert_eq!(st, StatusCode::NOT_FOUND, "{body}");
    assert!(body.contains("unknown instance `ghost`"));
    let (st, body) = call(
        &app,
        "POST",
        "/api/overrides",
        r#"{"instance":"compute001"}"#,
    )
    .await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.contains("metric"), "{body}");

    let (st, _) = call(&app, "DELETE", &format!("/api/overrides/{id}"), "").await;
    assert_eq!(st, StatusCode::OK);
    let (st, body) = call(&app, "DELETE", &format!("/api/overrides/{id}"), "").await;
    assert_eq!(st, StatusCode::NOT_FOUND, "{body}");
    assert!(s.overrides(T).is_empty());

    // Without the token, changes are refused; reads are not.
    let req = Request::builder()
        .method("DELETE")
        .uri("/api/overrides")
        .body(Body::empty())
        .unwrap();
    let res = app.clone().oneshot(req).await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
}

/// Finding 21: made-up slots are refused, and past the documented cap the API answers
/// 409 with the reason, writing nothing; replacing or removing makes room again.
#[tokio::test]
async fn overrides_are_bounded_and_slots_checked_against_the_topology() {
    use crate::overrides::MAX_OVERRIDES;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("overrides.yaml");
    let s = Arc::new(sim(IncidentMode::FullOk, 1, Some(file.clone())));
    let app = crate::http::router(s.clone(), Some("sekret".into()));
    let post = |body: String| {
        let app = app.clone();
        async move { call(&app, "POST", "/api/overrides", &body).await }
    };
    // The finding: distinct made-up slots on a metric without slots.
    let (st, body) =
        post(r#"{"instance":"compute001","metric":"up","value":0,"slot":"x1"}"#.into()).await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.contains("only for `eseries_drive_status`"), "{body}");
    // A slot the storage array does not have.
    let array = storage_array(&s);
    let missing = array.slots.iter().max().unwrap() + 1;
    let (st, body) = post(format!(
        r#"{{"instance":"{}","metric":"eseries_drive_status","value":1,"slot":{missing}}}"#,
        array.name
    ))
    .await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{body}");
    let (st, body) =
        post(r#"{"id":"../../x y","instance":"compute001","metric":"up","value":0}"#.into()).await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{body}");

    // Fill past the cap with distinct valid overrides, by hand in the file (one write):
    // the entries past it are left out.
    let nodes: Vec<String> = s.world().nodes.iter().map(|n| n.name.clone()).collect();
    let metrics = [
        "up",
        "ipmi_up",
        "node_health_status",
        "node_temperature_celsius",
        "node_power_watts",
        "node_load_percent",
        "node_boot_time_seconds",
        "ipmi_temperature_celsius",
        "ipmi_power_watts",
        "switch_port_in_octets",
        "switch_port_out_octets",
        "node_cpu_seconds_total",
        "node_memory_MemTotal_bytes",
        "node_memory_MemAvailable_bytes",
        "node_filesystem_size_bytes",
        "node_filesystem_avail_bytes",
    ];
    let mut yaml = String::from("overrides:\n");
    let pairs = nodes
        .iter()
        .flat_map(|n| metrics.iter().map(move |m| (n, m)));
    for (i, (node, m)) in pairs.take(MAX_OVERRIDES + 5).enumerate() {
        yaml.push_str(&format!(
            "- {{id: o{i}, instance: {node}, metric: {m}, value: 0}}\n"
        ));
    }
    // No write has succeeded yet, so the file is new to the simulator whatever its mtime.
    std::fs::write(&file, yaml).unwrap();
    assert_eq!(
        s.overrides(T).len(),
        MAX_OVERRIDES,
        "the fixture is too small"
    );
    let saved = std::fs::read_to_string(&file).unwrap();
    let (st, body) =
        post(r#"{"id":"one-more","rack_id":"rack-a01","metric":"rack_down","value":1}"#.into())
            .await;
    assert_eq!(st, StatusCode::CONFLICT, "{body}");
    assert!(
        body.contains(&format!("at most {MAX_OVERRIDES} overrides")),
        "{body}"
    );
    assert_eq!(
        saved,
        std::fs::read_to_string(&file).unwrap(),
        "the file changed"
    );
    // Replacing one in force is no growth; removing one makes room.
    let (st, body) =
        post(r#"{"id":"o0","instance":"compute001","metric":"up","value":1}"#.into()).await;
    assert_eq!(st, StatusCode::OK, "{body}");
    let (st, _) = call(&app, "DELETE", "/api/overrides/o1", "").await;
    assert_eq!(st, StatusCode::OK);
    let (st, body) =
        post(r#"{"id":"one-more","rack_id":"rack-a01","metric":"rack_down","value":1}"#.into())
            .await;
    assert_eq!(st, StatusCode::OK, "{body}");
    assert_eq!(s.overrides(T).len(), MAX_OVERRIDES);
}

/// A hand-edited overrides file is held to the same rules: invalid entries are dropped.
#[test]
fn a_hand_edited_overrides_file_is_validated() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("overrides.yaml");
    std::fs::write(
        &file,
        "overrides:\n\
         - {id: ok, instance: compute001, metric: up, value: 0}\n\
         - {id: ghost, instance: nope, metric: up, value: 0}\n\
         - {id: slotted, instance: compute001, metric: ipmi_up, value: 0, slot: '9'}\n",
    )
    .unwrap();
    let s = sim(IncidentMode::FullOk, 1, Some(file));
    let ids: Vec<String> = s.overrides(T).into_iter().map(|o| o.id).collect();
    assert_eq!(ids, ["ok"]);
}

#[test]
fn plugin_file_paths_of_the_python_examples_resolve_beside_the_configuration() {
    let Some(homelab) = crate::tests::shared("upstream-examples/homelab") else {
        return;
    };
    let (settings, warnings) = crate::Settings::load(&homelab).unwrap();
    assert_eq!(settings.mode, IncidentMode::Light);
    assert_eq!(settings.update_interval_seconds, 20);
    assert_eq!(
        settings.catalogs,
        vec![homelab.join("plugins/simulator/metrics/metrics_full.yaml")]
    );
    assert_eq!(
        settings.overrides_file,
        Some(homelab.join("plugins/simulator/overrides/overrides.yaml"))
    );
    // The disabled Slurm catalog is skipped silently; nothing else to report.
    assert!(warnings.is_empty(), "{warnings:?}");
    let (catalog, w) = crate::Catalog::load(&settings.catalogs).unwrap();
    assert!(w.is_empty(), "{w:?}");
    // The homelab catalog restricts IPMI to some names and enables node_exporter extras.
    let ipmi = catalog.family("ipmi_up").unwrap();
    assert!(ipmi.applies("compute001") && !ipmi.applies("mgmt01"));
    assert!(catalog.family("node_cpu_seconds_total").is_some());
    // Built-in families it does not list stay.
    assert!(catalog.family("rack_psu_status").is_some());
}

/// A path under `../shared/fixtures`, or `None` (with a message) when it is absent.
pub(crate) fn shared(rel: &str) -> Option<std::path::PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/fixtures")
        .join(rel);
    if p.exists() {
        Some(p)
    } else {
        eprintln!("skipping: {} is absent", p.display());
        None
    }
}

#[test]
fn catalog_labels_replace_base_labels_and_labels_only_drops_them() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("catalog.yaml");
    std::fs::write(
        &file,
        "metrics:\n- {name: rack_psu_status, scope: rack, labels: {job: ipmi, psu: $psu}}\n",
    )
    .unwrap();
    let (catalog, warnings) = crate::Catalog::load(&[&file]).unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
    let base = sim(IncidentMode::FullOk, 1, None);
    let s = Simulator::new(
        base.world().config.clone(),
        base.settings().clone(),
        catalog,
    );
    let expo = s.render_at(T);
    let psu = expo
        .lines()
        .find(|l| l.starts_with("rack_psu_status{"))
        .unwrap();
    assert_eq!(psu.matches("job=").count(), 1, "{psu}");
    assert!(
        psu.contains("job=\"ipmi\"") && psu.contains("instance=\"rack-"),
        "{psu}"
    );
    let slurm = expo
        .lines()
        .find(|l| l.starts_with("slurm_node_status{"))
        .unwrap();
    assert!(slurm.starts_with("slurm_node_status{node=\""), "{slurm}");
    assert!(
        !slurm.contains("site_id") && !slurm.contains("instance="),
        "{slurm}"
    );
}

#[test]
fn incidents_of_consecutive_cycles_are_those_drawn_alone() {
    // The cycle cache hands the previous cycle on; it must equal a fresh draw.
    let s = sim(IncidentMode::Heavy, 8, None);
    let cycle = s.settings().cycle_seconds() as f64;
    let (first, _) = s.incidents_at(T);
    let (_, before) = s.incidents_at(T + cycle);
    assert_eq!(first.crit, before.crit);
    let fresh = sim(IncidentMode::Heavy, 8, None);
    let (_, before_fresh) = fresh.incidents_at(T + cycle);
    assert_eq!(before.crit, before_fresh.crit);
    assert_eq!(before.warn, before_fresh.warn);
    assert_eq!(before.racks_down, before_fresh.racks_down);
}

#[test]
fn a_node_back_from_crit_booted_as_the_cycle_began_never_later() {
    let s = sim(IncidentMode::Heavy, 8, None);
    let cycle = s.settings().cycle_seconds() as f64;
    let start = (T / cycle).ceil() * cycle;
    let (now, before) = s.incidents_at(start);
    let world = s.world();
    let back = before
        .crit_nodes()
        .find(|n| !now.crit[*n as usize])
        .map(|n| world.nodes[n as usize].name.clone())
        .expect("heavy mode heals some CRIT node at the next cycle");
    let needle = format!("instance=\"{back}\"");
    // A scrape one second into the cycle: the uptime must already be non-negative.
    let t = start + 1.0;
    let boot = value(&s.render_at(t), "node_boot_time_seconds", &[&needle]).unwrap();
    assert!(boot <= t, "{back} boots at {boot}, after the scrape at {t}");
    assert!(
        t - boot <= 1.0,
        "{back} rebooted at the cycle's start: {boot}"
    );
}

/// The multi-site fixture: rack `A01` in two aisles of one room, in another room and in
/// another site.
fn multisite() -> Simulator {
    let app = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/multisite/app.yaml");
    let s = open(&app).unwrap();
    let mut settings = s.settings().clone();
    settings.mode = IncidentMode::FullOk;
    settings.seed = Some(1);
    Simulator::new(s.world().config.clone(), settings, s.catalog().clone())
}

#[test]
fn racks_sharing_an_id_get_distinct_series_and_overrides_name_one_by_path() {
    let s = multisite();
    let expo = s.render_at(T);
    // Every rack series is written once: the aisle tells apart the two A01s of one room.
    let psu: Vec<&str> = expo
        .lines()
        .filter(|l| l.starts_with("rack_psu_status{") && l.contains("rack_id=\"A01\""))
        .collect();
    let distinct: std::collections::BTreeSet<&str> =
        psu.iter().map(|l| l.rsplit_once(' ').unwrap().0).collect();
    assert_eq!(psu.len(), distinct.len(), "{psu:#?}");
    assert!(
        psu.iter().any(|l| l.contains("room_id=\"machine-room-a\"") && l.contains("aisle_id=\"aisle-2\"")),
        "{psu:#?}"
    );
    let ovr = |rack: &str| Override {
        id: "down".into(),
        instance: None,
        rack_id: Some(rack.into()),
        metric: "rack_down".into(),
        value: 1.0,
        slot: None,
        expires_at: None,
    };
    // The short id names four racks: refused with their paths, never the first one.
    let err = s
        .add_override(ovr("A01"), Some(0), T)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("names several racks") && err.contains("lyon/machine-room-a/aisle-1/A01"),
        "{err}"
    );
    // By path: that rack alone goes down.
    s.add_override(ovr("lyon/machine-room-a/aisle-1/A01"), Some(0), T)
        .unwrap();
    let expo = s.render_at(T);
    assert_eq!(value(&expo, "up", &["instance=\"la1a01n01\""]), Some(0.0));
    assert_eq!(value(&expo, "up", &["instance=\"pa1a01n01\""]), Some(1.0));
    assert_eq!(value(&expo, "up", &["instance=\"pa2a01n01\""]), Some(1.0));
}
