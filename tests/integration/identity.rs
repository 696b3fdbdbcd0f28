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

// ---- Ids unique among siblings: the multi-site fixture ----------------------------------

fn multisite() -> std::path::PathBuf {
    crate::support::root().join("tests/fixtures/multisite/app.yaml")
}

/// A copy of the multi-site fixture whose app.yaml is `edit`ed: (the directory, its app.yaml).
fn multisite_copy(edit: impl FnOnce(&str) -> String) -> (tempfile::TempDir, std::path::PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    crate::support::copy_dir(
        &crate::support::root().join("tests/fixtures/multisite"),
        tmp.path(),
    );
    let app = tmp.path().join("app.yaml");
    let text = std::fs::read_to_string(&app).unwrap();
    std::fs::write(&app, edit(&text)).unwrap();
    (tmp, app)
}

/// (rack path, rack_power_watts) of the fixture's world: the four `A01`s each draw a
/// different load, so a series reaching the wrong rack shows.
const POWER: [(&str, f64); 7] = [
    ("paris/machine-room-a/aisle-1/A01", 8000.0),
    ("paris/machine-room-a/aisle-1/A02", 1000.0),
    ("paris/machine-room-a/aisle-2/A01", 6000.0),
    ("paris/machine-room-b/aisle-1/A01", 1000.0),
    ("paris/machine-room-b/aisle-1/B01", 1000.0),
    ("lyon/machine-room-a/aisle-1/A01", 2000.0),
    ("lyon/machine-room-a/S01", 1000.0),
];

/// The series of the fixture's world, labelled as the simulator labels them (`site_id`,
/// `room_id`, `aisle_id` where the rack has an aisle): every node up but `pb1b01n01`.
type Series = (&'static str, Vec<(&'static str, String)>, f64);

fn world_series() -> Vec<Series> {
    let loaded = crate::support::load(&multisite());
    let mut out = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for i in &loaded.config.topology.instances {
        if seen.insert(i.name.clone()) {
            let up = if i.name == "pb1b01n01" { 0.0 } else { 1.0 };
            out.push(("up", vec![("instance", i.name.clone())], up));
        }
    }
    for (path, watts) in POWER {
        let parts: Vec<&str> = path.split('/').collect();
        let mut labels = vec![
            ("site_id", parts[0].to_owned()),
            ("room_id", parts[1].to_owned()),
            ("rack_id", parts[parts.len() - 1].to_owned()),
        ];
        if parts.len() == 4 {
            labels.push(("aisle_id", parts[2].to_owned()));
        }
        out.push(("rack_power_watts", labels, watts));
    }
    out
}

fn table() -> Arc<Table> {
    let rows = world_series()
        .iter()
        .map(|(name, labels, v)| {
            let l: Vec<(&str, &str)> = labels.iter().map(|(k, v)| (*k, v.as_str())).collect();
            rackscope_core::testkit::row(name, &l, *v)
        })
        .collect();
    Arc::new(Table::new(rows))
}

fn codes(loaded: &rackscope_core::Loaded, code: &str) -> Vec<String> {
    let mut v: Vec<String> = loaded
        .diagnostics
        .iter()
        .filter(|d| d.code == code)
        .map(|d| {
            let rel = d
                .span
                .file
                .strip_prefix(crate::support::root().join("tests/fixtures/multisite"));
            format!(
                "{}:{}",
                rel.unwrap_or(&d.span.file).display(),
                d.span.pos.line
            )
        })
        .collect();
    v.sort();
    v
}

#[test]
fn a_real_estate_that_reuses_names_loads_counted_as_physical_objects() {
    let loaded = crate::support::load(&multisite());
    assert!(loaded.is_usable(), "{:#?}", loaded.diagnostics);
    assert_eq!(loaded.diagnostics.errors().count(), 0);
    let c = loaded.config.topology.counts();
    assert_eq!(
        [c.sites, c.rooms, c.aisles, c.racks, c.devices, c.instances],
        [2, 3, 4, 7, 21, 8]
    );
    assert_eq!(
        c.instance_placements, 9,
        "shared01 is one machine in two places"
    );
    let dc = "topology/datacenters";
    // The same room id in two sites, the same rack id in two aisles of one room and in two
    // other rooms: warned at each later holder, never refused.
    assert_eq!(
        codes(&loaded, "ambiguous-id"),
        [
            format!("{dc}/lyon/rooms/machine-room-a/aisles/aisle-1/racks/A01.yaml:1"),
            format!("{dc}/lyon/rooms/machine-room-a/room.yaml:1"),
            format!("{dc}/paris/rooms/machine-room-a/aisles/aisle-2/racks/A01.yaml:1"),
            format!("{dc}/paris/rooms/machine-room-b/aisles/aisle-1/racks/A01.yaml:1"),
        ]
    );
    let room = loaded
        .diagnostics
        .iter()
        .find(|d| d.code == "ambiguous-id" && d.message.contains("room id"))
        .unwrap();
    assert!(
        room.message.contains("paris/machine-room-a")
            && room.message.contains("`lyon/machine-room-a`"),
        "{}",
        room.message
    );
    // Two vendors' files: the differing JBOD is warned (the later file wins), the
    // identical server is not.
    let redefined: Vec<_> = loaded
        .diagnostics
        .iter()
        .filter(|d| d.code == "template-redefined")
        .collect();
    assert_eq!(redefined.len(), 1, "{redefined:?}");
    assert!(redefined[0].message.contains("generic-2u-jbod"));
    assert!(redefined[0].message.contains("vendor-a.yaml"));
    assert!(redefined[0].span.file.ends_with("vendor-b.yaml"));
    let jbod = loaded
        .config
        .catalog
        .devices
        .get("generic-2u-jbod")
        .unwrap();
    assert_eq!(jbod.def.name, "Generic JBOD (vendor B)");
    // One machine in two racks: a warning at both places.
    assert_eq!(
        codes(&loaded, "duplicate-instance"),
        [
            format!("{dc}/lyon/rooms/machine-room-a/aisles/aisle-1/racks/A01.yaml:11"),
            format!("{dc}/paris/rooms/machine-room-a/aisles/aisle-1/racks/A02.yaml:11"),
        ]
    );
    // The rack-scope check over the four A01s, without any qualifying label: each A01.
    assert_eq!(codes(&loaded, "ambiguous-series").len(), 4);

    // `rackscope check`: exit 0, the counts an operator counts, the ambiguities listed.
    let out = crate::support::bin()
        .arg("check")
        .arg(multisite())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(
        stdout.contains(
            "2 sites, 3 rooms, 4 aisles, 7 racks, 21 devices, 8 instances (9 placements)"
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains(
            "ambiguous rack ids (1): `A01` at paris/machine-room-a/aisle-1/A01, paris/machine-room-a/aisle-2/A01, paris/machine-room-b/aisle-1/A01, lyon/machine-room-a/aisle-1/A01"
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains(
            "ambiguous room ids (1): `machine-room-a` at paris/machine-room-a, lyon/machine-room-a"
        ),
        "{stdout}"
    );
    assert!(stdout.contains("ambiguous device ids (3)"), "{stdout}");
}

#[test]
fn siblings_with_one_id_stay_errors_with_both_positions() {
    let (tmp, _) = multisite_copy(str::to_owned);
    // Two rooms of one site with one id; the listing names each once.
    let room = tmp
        .path()
        .join("topology/datacenters/paris/rooms/machine-room-b/room.yaml");
    let text = std::fs::read_to_string(&room).unwrap();
    std::fs::write(
        &room,
        text.replace("id: machine-room-b", "id: machine-room-a"),
    )
    .unwrap();
    let loaded = crate::support::load(&tmp.path().join("app.yaml"));
    let errors: Vec<_> = loaded
        .diagnostics
        .errors()
        .filter(|d| d.code == "duplicate-id")
        .collect();
    assert_eq!(errors.len(), 1, "{:#?}", loaded.diagnostics);
    assert!(errors[0].span.file.ends_with("machine-room-b/room.yaml"));
    assert!(
        errors[0].message.contains("already used in this site at")
            && errors[0].message.contains("machine-room-a/room.yaml:1:5"),
        "{}",
        errors[0].message
    );
}

/// The fixture's world backfilled into a real Prometheus.
fn prometheus() -> Option<crate::support::prom::Prometheus> {
    use crate::support::fixture::T0;
    let mut om = crate::support::prom::OpenMetrics::default();
    for (name, labels, v) in world_series() {
        let l: Vec<(&str, &str)> = labels.iter().map(|(k, v)| (*k, v.as_str())).collect();
        om.constant(name, &l, T0 - 600, T0 + 300, v);
    }
    crate::support::prom::Prometheus::start(&om.finish())
}

/// Every rack's path and the worst of its rack-scope checks, after one refresh against
/// `prom` with the telemetry settings `tune` makes.
async fn rack_states(
    prom: &crate::support::prom::Prometheus,
    tune: impl FnOnce(&mut rackscope_core::model::app::Telemetry),
) -> Vec<(String, Option<rackscope_core::Severity>)> {
    use crate::support::fixture::T0;
    let mut loaded = crate::support::load(&multisite());
    loaded.config.app.telemetry.prometheus_url = Some(prom.url());
    tune(&mut loaded.config.app.telemetry);
    let client = rackscope_prometheus::PrometheusClient::from_config(
        &loaded.config.app.telemetry,
        std::path::Path::new("."),
    )
    .unwrap();
    let engine = Engine::new(Arc::new(loaded.config), Arc::new(client));
    let at = std::time::UNIX_EPOCH + std::time::Duration::from_secs(T0);
    let snap = engine.refresh_at(at).await;
    assert!(snap.errors.is_empty(), "{:?}", snap.errors);
    let topo = &snap.config.topology;
    topo.racks
        .ixs()
        .map(|r| {
            let worst = snap.health.racks[r.index()]
                .checks
                .iter()
                .map(|c| c.severity)
                .max();
            (topo.rack_path(r), worst)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rack_checks_tell_shared_rack_ids_apart_by_the_configured_labels() {
    use rackscope_core::Severity::{Crit, Ok, Warn};
    let Some(prom) = prometheus() else {
        return;
    };
    // No label: a series naming only `A01` is every A01's; each gets the worst (8000 W).
    let bare = rack_states(&prom, |_| {}).await;
    let a01: Vec<_> = bare
        .iter()
        .filter(|(p, _)| p.ends_with("/A01"))
        .map(|(_, s)| *s)
        .collect();
    assert_eq!(a01, [Some(Crit); 4], "{bare:?}");

    // Site, room and aisle labels: each A01 its own series.
    let told = rack_states(&prom, |t| {
        t.site_label = Some("site_id".into());
        t.room_label = Some("room_id".into());
        t.aisle_label = Some("aisle_id".into());
    })
    .await;
    let want: Vec<(String, Option<rackscope_core::Severity>)> = POWER
        .iter()
        .map(|(p, w)| {
            let s = if *w > 7000.0 {
                Crit
            } else if *w > 5000.0 {
                Warn
            } else {
                Ok
            };
            (p.to_string(), Some(s))
        })
        .collect();
    let mut told_sorted = told.clone();
    told_sorted.sort();
    let mut want_sorted = want;
    want_sorted.sort();
    assert_eq!(told_sorted, want_sorted);

    // Site and room only: the two A01s of paris/machine-room-a stay shared (both take the
    // worse), and `rackscope check` warns at exactly those two.
    let partly = rack_states(&prom, |t| {
        t.site_label = Some("site_id".into());
        t.room_label = Some("room_id".into());
    })
    .await;
    let of = |p: &str| partly.iter().find(|(x, _)| x == p).unwrap().1;
    assert_eq!(of("paris/machine-room-a/aisle-1/A01"), Some(Crit));
    assert_eq!(of("paris/machine-room-a/aisle-2/A01"), Some(Crit));
    assert_eq!(of("paris/machine-room-b/aisle-1/A01"), Some(Ok));
    assert_eq!(of("lyon/machine-room-a/aisle-1/A01"), Some(Ok));

    let (_tmp, app) = multisite_copy(|text| {
        text.replace(
            "  prometheus_url: http://127.0.0.1:9090\n",
            "  prometheus_url: http://127.0.0.1:9090\n  site_label: site_id\n  room_label: room_id\n",
        )
    });
    let loaded = crate::support::load(&app);
    let warned: Vec<_> = loaded
        .diagnostics
        .iter()
        .filter(|d| d.code == "ambiguous-series")
        .collect();
    assert_eq!(warned.len(), 2, "{warned:#?}");
    assert!(warned.iter().all(|d| {
        d.span
            .file
            .to_string_lossy()
            .contains("paris/rooms/machine-room-a/")
    }));
    assert!(
        warned[0]
            .message
            .contains("site_label `site_id` and room_label `room_id` cannot tell them apart"),
        "{}",
        warned[0].message
    );
}

/// The server over the multi-site fixture (no sign-in), refreshed once from the table.
async fn served() -> rackscope::server::AppState {
    let loaded = crate::support::load(&multisite());
    let engine = Arc::new(Engine::new(Arc::new(loaded.config), table()));
    engine.refresh_at(SystemTime::now()).await;
    rackscope::server::AppState::new(engine).unwrap()
}

/// `/` encoded, as a path segment carries a qualified path.
fn seg(path: &str) -> String {
    path.replace('/', "%2F")
}

/// A page as text, with the entities Tera writes for `/`, `&` and quotes decoded.
fn text(r: &crate::support::router::Reply) -> String {
    r.text()
        .replace("&#x2F;", "/")
        .replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&amp;", "&")
}

/// The `href`s of a page (decoded by `text`) that open a room, rack or device page.
fn place_links(html: &str) -> Vec<String> {
    let mut out: Vec<String> = html
        .split("href=\"")
        .skip(1)
        .filter_map(|s| s.split('"').next())
        .filter(|h| {
            h.starts_with("/views/room/")
                || h.starts_with("/views/rack/")
                || h.starts_with("/views/device/")
        })
        .map(|h| h.split('#').next().unwrap_or(h).to_owned())
        .collect();
    out.sort();
    out.dedup();
    out
}

#[tokio::test]
async fn every_route_takes_a_short_id_where_unique_and_a_qualified_path_always() {
    use crate::support::router::get;
    use axum::http::StatusCode;
    let st = served().await;
    let a2 = seg("paris/machine-room-a/aisle-2/A01");
    let pa = seg("paris/machine-room-a");
    // Unique short ids and qualified paths reach the same object, for every route.
    for (short, qualified) in [
        (
            "/api/racks/B01",
            "/api/racks/paris%2Fmachine-room-b%2Faisle-1%2FB01".to_owned(),
        ),
        (
            "/api/racks/B01/state",
            "/api/racks/paris%2Fmachine-room-b%2Faisle-1%2FB01/state".to_owned(),
        ),
        (
            "/api/racks/S01/devices/srv-1",
            "/api/racks/lyon%2Fmachine-room-a%2FS01/devices/srv-1".to_owned(),
        ),
        (
            "/api/rooms/machine-room-b/layout",
            "/api/rooms/paris%2Fmachine-room-b/layout".to_owned(),
        ),
        (
            "/api/rooms/machine-room-b/state",
            "/api/rooms/paris%2Fmachine-room-b/state".to_owned(),
        ),
    ] {
        let a = get(&st, short).await;
        let b = get(&st, &qualified).await;
        assert_eq!(a.status, StatusCode::OK, "{short}: {}", a.text());
        assert_eq!(b.status, StatusCode::OK, "{qualified}: {}", b.text());
        assert_eq!(a.json(), b.json(), "{short} and {qualified}");
    }
    // An A01 by path: its own rack, with the path field added to the seed's shape.
    let r = get(&st, &format!("/api/racks/{a2}")).await.json();
    assert_eq!(r["id"], "A01");
    assert_eq!(r["name"], "Paris A / aisle 2 / A01");
    assert_eq!(r["path"], "paris/machine-room-a/aisle-2/A01");
    assert_eq!(
        r["devices"][0]["path"],
        "paris/machine-room-a/aisle-2/A01/pdu-1"
    );
    let s = get(&st, &format!("/api/racks/{a2}/state")).await.json();
    assert_eq!(s["rack_id"], "A01");
    assert_eq!(s["path"], "paris/machine-room-a/aisle-2/A01");
    let d = get(&st, &format!("/api/racks/{a2}/devices/srv-1"))
        .await
        .json();
    assert_eq!(d["device"]["instance"], serde_json::json!(["pa2a01n01"]));
    assert_eq!(d["aisle"]["id"], "aisle-2");
    let room = get(&st, &format!("/api/rooms/{pa}/layout")).await.json();
    assert_eq!(room["name"], "Paris Machine Room A");
    assert_eq!(room["site_id"], "paris");
    // Lyon's room of the same id is another room.
    let lyon = get(
        &st,
        &format!("/api/rooms/{}/layout", seg("lyon/machine-room-a")),
    )
    .await
    .json();
    assert_eq!(lyon["name"], "Lyon Machine Room A");
    assert_eq!(
        lyon["standalone_racks"][0]["path"],
        "lyon/machine-room-a/S01"
    );

    // A shared short id: 409 with every candidate and where it is, never the first.
    for (uri, n, kind) in [
        ("/api/racks/A01", 4, "rack"),
        ("/api/racks/A01/state", 4, "rack"),
        ("/api/racks/A01/devices/pdu-1", 4, "device"),
        ("/api/rooms/machine-room-a/layout", 2, "room"),
        ("/api/rooms/machine-room-a/state", 2, "room"),
    ] {
        let r = get(&st, uri).await;
        assert_eq!(r.status, StatusCode::CONFLICT, "{uri}: {}", r.text());
        let body = r.json();
        let c = body["candidates"].as_array().unwrap();
        assert_eq!(c.len(), n, "{uri}: {body}");
        assert!(c.iter().all(|c| c["kind"] == kind), "{body}");
        assert!(
            body["detail"].as_str().unwrap().contains("qualified path"),
            "{body}"
        );
        // Where each stands: the site for a room, down to the aisle for a rack.
        for c in c {
            let at = c["location"].as_str().unwrap();
            assert!(at.starts_with("Paris") || at.starts_with("Lyon"), "{c}");
            assert_eq!(kind == "room", !at.contains(" › "), "{c}");
        }
    }
    let c = get(&st, "/api/racks/A01").await.json();
    let paths: Vec<&str> = c["candidates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["path"].as_str().unwrap())
        .collect();
    assert_eq!(
        paths,
        [
            "paris/machine-room-a/aisle-1/A01",
            "paris/machine-room-a/aisle-2/A01",
            "paris/machine-room-b/aisle-1/A01",
            "lyon/machine-room-a/aisle-1/A01"
        ]
    );
    // Unknown stays 404.
    assert_eq!(
        get(&st, "/api/racks/Z99").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        get(&st, "/api/racks/paris%2Fnowhere%2FA01").await.status,
        StatusCode::NOT_FOUND
    );

    // Maps keyed by id use the path for the ids that repeat; nothing collapses.
    let states = get(&st, "/api/rooms/states").await.json();
    let mut keys: Vec<&String> = states.as_object().unwrap().keys().collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "lyon/machine-room-a",
            "machine-room-b",
            "paris/machine-room-a"
        ]
    );
    let rs = get(&st, &format!("/api/rooms/{pa}/state")).await.json();
    let mut racks: Vec<&String> = rs["racks"].as_object().unwrap().keys().collect();
    racks.sort();
    assert_eq!(
        racks,
        [
            "A02",
            "paris/machine-room-a/aisle-1/A01",
            "paris/machine-room-a/aisle-2/A01"
        ]
    );
    let rooms = get(&st, "/api/rooms").await.json();
    assert_eq!(rooms.as_array().unwrap().len(), 3);
    // Alerts carry the rack's path: pb1b01n01 is down in B01.
    let alerts = get(&st, "/api/alerts/active").await.json();
    let down = alerts["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["node_id"] == "pb1b01n01")
        .unwrap();
    assert_eq!(down["rack_path"], "paris/machine-room-b/aisle-1/B01");
    // The shared rack-scope series is stated on each rack that shares it.
    let shared = get(&st, &format!("/api/racks/{a2}/state")).await.json();
    assert_eq!(
        shared["shared_series"].as_array().unwrap().len(),
        3,
        "{shared}"
    );
    let alone = get(&st, "/api/racks/B01/state").await.json();
    assert!(alone.get("shared_series").is_none(), "{alone}");
}

#[tokio::test]
async fn pages_open_by_short_id_or_path_and_a_shared_id_asks_which() {
    use crate::support::router::get;
    use axum::http::StatusCode;
    let st = served().await;
    for uri in [
        "/views/rack/B01".to_owned(),
        format!("/views/rack/{}", seg("paris/machine-room-b/aisle-1/B01")),
        "/views/room/machine-room-b".to_owned(),
        format!("/views/room/{}", seg("paris/machine-room-b")),
        "/views/device/B01/srv-1".to_owned(),
        format!(
            "/views/device/{}/srv-1",
            seg("paris/machine-room-b/aisle-1/B01")
        ),
        "/views/site/paris".to_owned(),
    ] {
        let r = get(&st, &uri).await;
        assert_eq!(r.status, StatusCode::OK, "{uri}");
    }
    let a2 = get(
        &st,
        &format!("/views/rack/{}", seg("paris/machine-room-a/aisle-2/A01")),
    )
    .await;
    assert_eq!(a2.status, StatusCode::OK);
    let html = text(&a2);
    assert!(html.contains("Paris A / aisle 2 / A01"));
    assert!(
        html.contains("<code>paris/machine-room-a/aisle-2/A01</code>"),
        "the path is shown where the id is shared"
    );
    assert!(html.contains("rack-scope checks below show the state of the one series they share"));
    // A shared short id: the disambiguation page, each candidate linked by its path and
    // opening its own page.
    for (uri, n) in [
        ("/views/rack/A01", 4),
        ("/views/room/machine-room-a", 2),
        ("/views/device/A01/srv-1", 4),
    ] {
        let r = get(&st, uri).await;
        assert_eq!(r.status, StatusCode::MULTIPLE_CHOICES, "{uri}");
        let html = text(&r);
        assert!(html.contains("Which "), "{uri}");
        // The candidates' links (the navigation links rooms too).
        let kind = uri.split('/').nth(2).unwrap_or_default();
        let links = place_links(&html)
            .into_iter()
            .filter(|l| l.starts_with(&format!("/views/{kind}/")) && l.contains("%2F"))
            .collect::<Vec<_>>();
        assert_eq!(links.len(), n, "{uri}: {links:?}");
        for l in links {
            assert_eq!(get(&st, &l).await.status, StatusCode::OK, "{l}");
        }
    }
    // No link our pages draw leads to a disambiguation page.
    for page in [
        "/".to_owned(),
        "/views/site/paris".to_owned(),
        "/views/site/lyon".to_owned(),
        format!("/views/room/{}", seg("paris/machine-room-a")),
        format!("/views/room/{}", seg("lyon/machine-room-a")),
        "/alerts".to_owned(),
        "/search?q=A0".to_owned(),
    ] {
        let html = text(&get(&st, &page).await);
        let links = place_links(&html);
        // Every page here links places (the navigation lists the rooms): none is vacuous.
        assert!(!links.is_empty(), "{page} links no place");
        for l in links {
            let status = get(&st, &l).await.status;
            assert_eq!(status, StatusCode::OK, "{page} links {l}");
        }
    }
    // Search: a shared id lists every holder with where it is; a path jumps to its page.
    let hits = get(&st, "/search?q=A01").await;
    assert_eq!(hits.status, StatusCode::OK);
    let html = text(&hits);
    for p in [
        "paris › machine-room-a › aisle-1 › A01",
        "lyon › machine-room-a › aisle-1 › A01",
    ] {
        assert!(html.contains(p), "{p}");
    }
    let jump = get(&st, "/search?q=lyon/machine-room-a/aisle-1/A01").await;
    assert_eq!(jump.status, StatusCode::SEE_OTHER);
    assert_eq!(
        jump.headers["location"],
        format!("/views/rack/{}", seg("lyon/machine-room-a/aisle-1/A01"))
    );
}

#[test]
fn a_playlist_or_maintenance_naming_a_shared_id_is_warned_and_covers_nothing() {
    let (tmp, app) = multisite_copy(|text| {
        format!(
            "{text}playlist:\n  views:\n  - /views/room/machine-room-a\n  - /views/room/paris%2Fmachine-room-a\n  - /views/rack/B01\n  - /views/rack/nowhere\n"
        )
    });
    std::fs::write(
        tmp.path().join("maintenances.yaml"),
        "maintenances:\n- id: w-short\n  target_type: rack\n  target_id: A01\n  reason: x\n  starts_at: '2020-01-01T00:00:00Z'\n- id: w-path\n  target_type: rack\n  target_id: lyon/machine-room-a/aisle-1/A01\n  reason: x\n  starts_at: '2020-01-01T00:00:00Z'\n",
    )
    .unwrap();
    let loaded = crate::support::load(&app);
    assert!(loaded.is_usable(), "{:#?}", loaded.diagnostics);
    let playlist: Vec<&str> = loaded
        .diagnostics
        .iter()
        .filter(|d| d.code == "playlist")
        .map(|d| d.message.as_str())
        .collect();
    assert_eq!(playlist.len(), 2, "{playlist:?}");
    assert!(
        playlist
            .iter()
            .any(|m| m.contains("/views/room/machine-room-a")
                && m.contains("names 2 rooms")
                && m.contains("/views/room/paris%2Fmachine-room-a")),
        "{playlist:?}"
    );
    assert!(
        playlist.iter().any(|m| m.contains("/views/rack/nowhere")),
        "{playlist:?}"
    );
    let maint: Vec<&str> = loaded
        .diagnostics
        .iter()
        .filter(|d| d.code == "maintenance")
        .map(|d| d.message.as_str())
        .collect();
    assert_eq!(maint.len(), 1, "{maint:?}");
    assert!(
        maint[0].contains("`w-short`") && maint[0].contains("names several"),
        "{maint:?}"
    );
    // The qualified window covers its rack alone; the short one nothing.
    let topo = &loaded.config.topology;
    let lyon = topo.rack_ix("lyon/machine-room-a/aisle-1/A01").unwrap();
    let m = &loaded.config.maintenances;
    let now = rackscope_core::clock::unix_seconds(SystemTime::now());
    let cover =
        rackscope_core::maintenance::Coverage::new(m, topo, &loaded.config.check_kinds, now);
    let covered: Vec<rackscope_core::topology::RackIx> = topo
        .racks
        .ixs()
        .filter(|&r| cover.rack(r).is_some())
        .collect();
    assert_eq!(covered, [lyon]);
}

#[tokio::test]
async fn metrics_and_alert_filters_keep_rooms_and_racks_of_one_id_apart() {
    use crate::support::router::get;
    let st = served().await;
    // /metrics: every rack by its site, room, aisle and rack, so the A01s are four series.
    let metrics = get(&st, "/metrics").await.text();
    let a01: Vec<&str> = metrics
        .lines()
        .filter(|l| l.starts_with("rackscope_rack_health{") && l.contains("rack=\"A01\""))
        .collect();
    assert_eq!(a01.len(), 4, "{a01:#?}");
    assert!(
        a01.iter()
            .any(|l| l.contains("site=\"lyon\"") && l.contains("room=\"machine-room-a\"")),
        "{a01:#?}"
    );
    // The alerts page's room filter: by key, one room of a shared id at a time.
    let page = text(&get(&st, "/alerts").await);
    assert!(
        page.contains("value=\"paris/machine-room-a\""),
        "the room choices use keys"
    );
    assert!(page.contains("value=\"machine-room-b\""));
    let b = text(&get(&st, "/alerts?room=machine-room-b").await);
    assert!(b.contains(">pb1b01n01</a>"), "{b}");
    let lyon = text(&get(&st, "/alerts?room=lyon%2Fmachine-room-a").await);
    assert!(!lyon.contains(">pb1b01n01</a>"), "{lyon}");
}

#[test]
fn a_window_is_created_on_a_qualified_path_and_refused_on_a_shared_id() {
    let (tmp, app) = multisite_copy(str::to_owned);
    let config = crate::support::load(&app).config;
    let new = |target_id: &str| rackscope::maintenance::NewWindow {
        target_type: "rack".into(),
        target_id: target_id.into(),
        reason: "PDU swap".into(),
        effect: None,
        check: None,
        starts_at: None,
        expires_at: None,
        duration: None,
        every: None,
    };
    let err = rackscope::maintenance::create(&config, &new("A01"), "ada").unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("names several") && msg.contains("paris/machine-room-b/aisle-1/A01"),
        "{msg}"
    );
    assert!(
        !tmp.path().join("maintenances.yaml").exists(),
        "nothing written"
    );
    let (_, m) =
        rackscope::maintenance::create(&config, &new("paris/machine-room-b/aisle-1/A01"), "ada")
            .unwrap();
    assert_eq!(m.windows.len(), 1);
    assert_eq!(
        m.windows[0].entry.target_id,
        "paris/machine-room-b/aisle-1/A01"
    );
}
