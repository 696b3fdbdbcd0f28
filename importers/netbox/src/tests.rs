//! Tests on the real NetBox 4.6.8 answers recorded in ../shared/fixtures/importers/netbox,
//! served over HTTP by the replay server, plus synthetic cases the recording lacks
//! (descending racks, half units, overlaps).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::path::PathBuf;

use rackscope_importer_abi::{
    Device, Face, Importer, Inventory, Progress, Rack, Reporter, testkit,
};
use serde_json::{Value, json};

use super::*;
use crate::options::{AisleFrom, InstanceName, RoomDepth};

/// The recording folders, or `None` (and a note) where the shared fixtures are absent.
fn fixtures() -> Option<(PathBuf, PathBuf)> {
    let root = testkit::fixtures("netbox")?;
    Some((
        root.join("recorded-api-v4.6.8"),
        root.join("recorded-api-v4.6.8-augmented"),
    ))
}

fn pristine() -> Option<Vec<PathBuf>> {
    fixtures().map(|(p, _)| vec![p])
}

/// The augmented recording holds only what changed: layer it over the pristine one.
fn augmented() -> Option<Vec<PathBuf>> {
    fixtures().map(|(p, a)| vec![a, p])
}

fn results(dirs: &[PathBuf], file: &str) -> Vec<Value> {
    let path = dirs
        .iter()
        .map(|d| d.join(file))
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("{file} not recorded"));
    let v: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    v["results"].as_array().unwrap().clone()
}

/// The lists as recorded, read straight from the files (no HTTP).
fn recorded_lists(dirs: &[PathBuf]) -> Lists {
    let has = |f: &str| dirs.iter().any(|d| d.join(f).is_file());
    Lists {
        sites: results(dirs, "dcim-sites.json"),
        locations: results(dirs, "dcim-locations.json"),
        rack_groups: if has("dcim-rack-groups.json") {
            results(dirs, "dcim-rack-groups.json")
        } else {
            Vec::new()
        },
        racks: results(dirs, "dcim-racks.json"),
        device_types: results(dirs, "dcim-device-types.json"),
        devices: results(dirs, "dcim-devices.json"),
        warnings: Vec::new(),
    }
}

/// (sites, racks, devices, instances) computed from the recorded JSON alone: sites that
/// hold a rack, every rack, every device mounted at a position outside a bay, and per
/// device its bay children or, without children, itself when it has a name; a name used by
/// devices of two sites is one Prometheus identity, so it counts once.
fn expected_counts(dirs: &[PathBuf]) -> (usize, usize, usize, usize) {
    let racks = results(dirs, "dcim-racks.json");
    let devices = results(dirs, "dcim-devices.json");
    let mut sites: Vec<i64> = racks
        .iter()
        .map(|r| r["site"]["id"].as_i64().unwrap())
        .collect();
    sites.sort();
    sites.dedup();
    let mut children: BTreeMap<i64, Vec<&str>> = BTreeMap::new();
    for d in &devices {
        if let Some(p) = d["parent_device"]["id"].as_i64() {
            children.entry(p).or_default().extend(d["name"].as_str());
        }
    }
    let mounted: Vec<&Value> = devices
        .iter()
        .filter(|d| {
            !d["rack"].is_null() && !d["position"].is_null() && d["parent_device"].is_null()
        })
        .collect();
    let instances = mounted
        .iter()
        .flat_map(|d| match children.get(&d["id"].as_i64().unwrap()) {
            Some(kids) => kids.clone(),
            None => d["name"].as_str().into_iter().collect(),
        })
        .collect::<std::collections::BTreeSet<&str>>()
        .len();
    (sites.len(), racks.len(), mounted.len(), instances)
}

fn options(url: &str, token: &str) -> Options {
    Options::from_value(&json!({"url": url, "token": token})).unwrap()
}

fn all_racks(inv: &Inventory) -> Vec<&Rack> {
    inv.racks().collect()
}

fn rack<'a>(inv: &'a Inventory, name: &str) -> &'a Rack {
    all_racks(inv)
        .into_iter()
        .find(|r| r.name == name)
        .unwrap_or_else(|| panic!("rack {name} missing"))
}

fn device<'a>(inv: &'a Inventory, name: &str) -> &'a Device {
    all_racks(inv)
        .into_iter()
        .flat_map(|r| &r.devices)
        .find(|d| d.name == name)
        .unwrap_or_else(|| panic!("device {name} missing"))
}

/// The rules every inventory must keep (contract of the importer ABI).
fn check_invariants(inv: &Inventory) {
    assert_eq!(testkit::violations(inv), Vec::<String>::new());
}

// ---------------------------------------------------------------------------------------
// Over HTTP, on the recorded answers.

#[test]
fn pristine_recording_over_http_with_a_v1_token() {
    let Some(dirs) = pristine() else { return };
    let server = replay::serve(&dirs).unwrap();
    let mut seen_progress: Vec<Progress> = Vec::new();
    let mut sink = |p: &Progress| seen_progress.push(p.clone());
    let mut reporter = Reporter::new(Some(&mut sink));
    let inv = run_with(&options(&server.url, replay::TOKEN_V1), &mut reporter).unwrap();

    let expected = expected_counts(&dirs);
    // 50 named devices, of which `PP:MDF` is in three sites: 48 identities.
    assert_eq!(expected, (17, 42, 72, 48), "the recording as documented");
    assert_eq!(inv.counts(), expected);
    check_invariants(&inv);
    assert_eq!(inv.source, format!("netbox {}", server.url));

    // Every request carried the v1 header; rack groups do not exist in this recording.
    let seen = server.seen();
    assert!(
        seen.iter()
            .all(|s| s.authorization.as_deref() == Some(&*format!("Token {}", replay::TOKEN_V1)))
    );
    assert!(
        seen.iter()
            .any(|s| s.target.starts_with("/api/dcim/rack-groups/") && s.status == 404)
    );
    assert!(inv.warnings.iter().any(|w| w.contains("no rack groups")));
    let devices = seen
        .iter()
        .find(|s| s.target.starts_with("/api/dcim/devices/"))
        .unwrap();
    assert!(devices.target.contains("exclude=config_context"));
    assert!(devices.target.contains("status=active"));
    assert!(
        seen_progress
            .iter()
            .any(|p| p.message == "fetching devices" && p.done == 72 && p.total == Some(72))
    );

    // Known places: the demo's comms closets and MDF rows (nothing is top-down here).
    let akron = inv.sites.iter().find(|s| s.name == "DM-Akron").unwrap();
    assert_eq!(akron.id, "dm-akron");
    assert_eq!(akron.rooms.len(), 1);
    assert_eq!(akron.rooms[0].name, "default");
    assert_eq!(
        akron.rooms[0].aisles[0].racks[0].id,
        "dm-akron-comms-closet"
    );
    let rtr = device(&inv, "dmi01-akron-rtr01");
    assert_eq!((rtr.u_position, rtr.face), (4, Face::Front));
    assert_eq!(rtr.instances, ["dmi01-akron-rtr01"]);
    assert_eq!(rtr.template_id, "isr1111");
    let core = device(&inv, "ncsu-coreswitch1");
    assert_eq!(core.u_position, 6);
    let tor = device(&inv, "r105-torsw:1");
    assert_eq!(
        (tor.id.as_str(), tor.u_position, tor.face),
        ("r105-torsw-1", 26, Face::Rear)
    );
    assert!(
        tor.instances.is_empty(),
        "unnamed stack members get no instance"
    );
    // Same name in three sites: ids prefixed with the rack id.
    let mut pp: Vec<&str> = all_racks(&inv)
        .into_iter()
        .flat_map(|r| &r.devices)
        .filter(|d| d.name == "PP:MDF")
        .map(|d| d.id.as_str())
        .collect();
    pp.sort();
    assert_eq!(
        pp,
        [
            "ncsu-117-idf117-pp-mdf",
            "ncsu-118-idf118-pp-mdf",
            "ncsu-128-idf128-pp-mdf"
        ]
    );

    let mdf = inv.sites.iter().find(|s| s.name == "MDF").unwrap();
    let rooms: Vec<&str> = mdf.rooms.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(
        rooms,
        ["Row 1", "Row 2", "Row 3", "default"],
        "Row 4 has no rack"
    );
    let row1: Vec<&str> = mdf.rooms[0].aisles[0]
        .racks
        .iter()
        .map(|r| r.name.as_str())
        .collect();
    assert_eq!(
        row1,
        [
            "R101", "R102", "R103", "R104", "R105", "R106", "R107", "R108"
        ]
    );
    assert_eq!(mdf.rooms[0].id, "ncsu-065-row-1");
    assert_eq!(mdf.rooms[0].aisles[0].id, "ncsu-065-row-1-default");
    assert_eq!(rack(&inv, "R305").u_height, 48, "available racks are kept");

    // The warnings the recording calls for.
    let has = |s: &str| inv.warnings.iter().any(|w| w.contains(s));
    assert!(has("site DM-NYC has no racks: skipped"));
    assert!(has(
        "site MDF: 2 rack(s) without a location put in room `default`, aisle `default`: Plant 1, Plant 2"
    ));
    assert!(has(
        "site MDF, room Row 1: 8 rack(s) without a rack group or aisle location put in aisle `default`: R101, R102"
    ));
    assert!(has(
        "device Panduit 48-Port Patch Panel (74) has no name: no instance"
    ));
    assert!(has("device r105-torsw:1 has no name: no instance"));
    let skipped_sites = inv
        .warnings
        .iter()
        .filter(|w| w.ends_with("has no racks: skipped"))
        .count();
    assert_eq!(skipped_sites, 24 - 17);
    // Nothing else was dropped.
    assert!(
        !inv.warnings
            .iter()
            .any(|w| w.contains("skipped") && !w.ends_with("has no racks: skipped"))
    );
}

#[test]
fn augmented_recording_chassis_and_rack_group_with_a_v2_token() {
    let Some(dirs) = augmented() else { return };
    let server = replay::serve(&dirs).unwrap();
    let opts = options(&server.url, replay::TOKEN_V2);
    let inv = run_with(&opts, &mut Reporter::silent()).unwrap();
    assert!(
        server
            .seen()
            .iter()
            .all(|s| s.authorization.as_deref() == Some(&*format!("Bearer {}", replay::TOKEN_V2)))
    );

    let expected = expected_counts(&dirs);
    // The demo's unnamed Flex chassis (R201 U9) was named flex-chassis01 and given 4 nodes.
    assert_eq!(expected, (17, 42, 72, 52));
    assert_eq!(inv.counts(), expected);
    check_invariants(&inv);

    let chassis = device(&inv, "flex-chassis01");
    assert_eq!((chassis.u_position, chassis.face), (9, Face::Front));
    assert_eq!(
        chassis.instances,
        ["compute001", "compute002", "compute003", "compute004"]
    );
    assert!(
        rack(&inv, "R201")
            .devices
            .iter()
            .any(|d| d.name == "flex-chassis01")
    );
    let t = inv
        .templates
        .iter()
        .find(|t| t.id == chassis.template_id)
        .unwrap();
    assert_eq!(
        (t.id.as_str(), t.name.as_str(), t.kind.as_str(), t.u_height),
        ("flex-system", "Lenovo Flex system", "server", 10)
    );
    assert_eq!(t.slots.map(|s| (s.rows, s.cols)), Some((7, 2)), "14 bays");
    assert!(
        !inv.templates.iter().any(|t| t.id == "flex-x240"),
        "bay devices are instances, not devices"
    );

    let mdf = inv.sites.iter().find(|s| s.name == "MDF").unwrap();
    let row1 = &mdf.rooms[0];
    assert_eq!(row1.name, "Row 1");
    let aisles: Vec<(&str, &str, Vec<&str>)> = row1
        .aisles
        .iter()
        .map(|a| {
            (
                a.id.as_str(),
                a.name.as_str(),
                a.racks.iter().map(|r| r.name.as_str()).collect(),
            )
        })
        .collect();
    assert_eq!(
        aisles,
        [
            (
                "ncsu-065-row-1-row-1-hot-aisle",
                "Row 1 hot aisle",
                vec!["R105", "R106", "R107", "R108"]
            ),
            (
                "ncsu-065-row-1-default",
                "default",
                vec!["R101", "R102", "R103", "R104"]
            ),
        ]
    );
    assert!(!inv.warnings.iter().any(|w| w.contains("no rack groups")));
}

#[test]
fn instance_names_from_dns_name_primary_ip_and_port() {
    let Some(dirs) = augmented() else { return };
    let server = replay::serve(&dirs).unwrap();
    let mut opts = options(&server.url, replay::TOKEN_V1);
    opts.instance_name = InstanceName::DnsName;
    opts.instance_port = Some(9100);
    let inv = run_with(&opts, &mut Reporter::silent()).unwrap();
    assert_eq!(
        device(&inv, "flex-chassis01").instances,
        (1..=4)
            .map(|i| format!("compute00{i}.mdf.example.net:9100"))
            .collect::<Vec<_>>()
    );
    // The demo devices have no primary IP: no instance, and a warning each.
    assert!(device(&inv, "dmi01-akron-rtr01").instances.is_empty());
    assert!(inv.warnings.iter().any(|w| w == "device dmi01-akron-rtr01 has no DNS name on its primary IP: no instance"));
    assert_eq!(inv.counts().3, 4);

    opts.instance_name = InstanceName::PrimaryIp;
    opts.instance_port = None;
    let inv = run_with(&opts, &mut Reporter::silent()).unwrap();
    assert_eq!(device(&inv, "flex-chassis01").instances[0], "10.65.0.1");
}

#[test]
fn pagination_follows_next_through_the_recorded_pages() {
    let Some(dirs) = pristine() else { return };
    let server = replay::serve(&dirs).unwrap();
    let whole = run_with(
        &options(&server.url, replay::TOKEN_V1),
        &mut Reporter::silent(),
    )
    .unwrap();

    // Without a status filter the request is the recorded one: the recorded `next` is followed.
    let paged_opts = Options::from_value(&json!({
        "url": format!("{}/api/", server.url),
        "token": replay::TOKEN_V1,
        "page_size": "50",
        "status": "all",
    }))
    .unwrap();
    let before = server.seen().len();
    let paged = run_with(&paged_opts, &mut Reporter::silent()).unwrap();
    let devices: Vec<_> = server.seen()[before..]
        .iter()
        .filter(|s| s.target.starts_with("/api/dcim/devices/"))
        .map(|s| s.target.clone())
        .collect();
    assert_eq!(
        devices,
        [
            "/api/dcim/devices/?limit=50&exclude=config_context",
            // Exactly the recorded page 1's `next` (its query order, not ours).
            "/api/dcim/devices/?exclude=config_context&limit=50&offset=50",
        ]
    );
    assert_eq!(paged.sites, whole.sites);
    assert_eq!(paged.templates, whole.templates);

    // With the default status filter the pages are computed by the replay server.
    let mut filtered = paged_opts.clone();
    filtered.status = vec!["active".into()];
    let before = server.seen().len();
    let again = run_with(&filtered, &mut Reporter::silent()).unwrap();
    let pages = server.seen()[before..]
        .iter()
        .filter(|s| s.target.starts_with("/api/dcim/devices/"))
        .count();
    assert_eq!(pages, 2);
    assert_eq!(again.sites, whole.sites);
}

#[test]
fn site_filter_is_sent_to_netbox() {
    let Some(dirs) = pristine() else { return };
    let server = replay::serve(&dirs).unwrap();
    let opts = Options::from_value(&json!({
        "url": server.url, "token": replay::TOKEN_V1, "site": "ncsu-065", "status": "all",
    }))
    .unwrap();
    let inv = run_with(&opts, &mut Reporter::silent()).unwrap();
    // The device list is the recorded `?site=ncsu-065` answer.
    let recorded = results(&dirs, "dcim-devices.filter-site-ncsu-065.json");
    let racks = results(&dirs, "dcim-racks.json")
        .iter()
        .filter(|r| r["site"]["slug"] == "ncsu-065")
        .count();
    assert_eq!(inv.counts(), (1, racks, recorded.len(), 5));
    assert_eq!(inv.sites[0].name, "MDF");
    assert!(server.seen().iter().any(|s| s.target.starts_with("/api/dcim/racks/") && s.target.contains("site=ncsu-065")));

    // The same through the replay server's own filtering (two filters, none recorded).
    let mut active = opts.clone();
    active.status = vec!["active".into()];
    assert_eq!(
        run_with(&active, &mut Reporter::silent()).unwrap().sites,
        inv.sites
    );
}

#[test]
fn bad_or_missing_tokens_are_refused_with_http_403() {
    let Some(dirs) = pristine() else { return };
    let server = replay::serve(&dirs).unwrap();
    let err = run_with(&options(&server.url, "wrong"), &mut Reporter::silent()).unwrap_err();
    assert!(
        err.contains("HTTP 403") && err.contains("Invalid v1 token"),
        "{err}"
    );
    assert!(!err.contains("wrong"), "the token is not echoed: {err}");

    let err = run_with(
        &options(&server.url, "nbt_wrong.key"),
        &mut Reporter::silent(),
    )
    .unwrap_err();
    assert!(err.contains("HTTP 403"), "{err}");
    assert_eq!(
        server.seen().last().unwrap().authorization.as_deref(),
        Some("Bearer nbt_wrong.key")
    );

    let mut anonymous = options(&server.url, replay::TOKEN_V1);
    anonymous.token = None;
    let err = run_with(&anonymous, &mut Reporter::silent()).unwrap_err();
    assert!(
        err.contains("HTTP 403") && err.contains("credentials were not provided"),
        "{err}"
    );
    assert_eq!(server.seen().last().unwrap().authorization, None);
}

#[test]
fn unreachable_netbox_is_an_error() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let err = run_with(&options(&url, "x"), &mut Reporter::silent()).unwrap_err();
    assert!(err.contains("cannot GET"), "{err}");
}

#[test]
fn https_and_wrong_paths_fail_cleanly() {
    let Some(dirs) = pristine() else { return };
    let server = replay::serve(&dirs).unwrap();
    // rustls is set up and fails the handshake with a plain HTTP server, without panicking.
    let https = server.url.replace("http://", "https://");
    let err = run_with(&options(&https, "x"), &mut Reporter::silent()).unwrap_err();
    assert!(err.contains("cannot GET https://"), "{err}");
    let err = run_with(
        &options(&format!("{}/nothing", server.url), replay::TOKEN_V1),
        &mut Reporter::silent(),
    )
    .unwrap_err();
    assert!(
        err.contains("HTTP 404") && err.contains("base URL"),
        "{err}"
    );
}

#[test]
fn the_importer_trait_checks_options_then_runs() {
    let Some(dirs) = pristine() else { return };
    let server = replay::serve(&dirs).unwrap();
    let inv = testkit::run::<NetBox>(
        json!({"url": server.url, "token": replay::TOKEN_V1, "instance_port": "9100"}),
    )
    .unwrap();
    assert_eq!(
        device(&inv, "dmi01-akron-rtr01").instances,
        ["dmi01-akron-rtr01:9100"]
    );
    let err = testkit::run::<NetBox>(json!({"url": server.url, "sitee": "x"})).unwrap_err();
    assert!(
        err.contains("unknown option `sitee`") && err.contains("site, tag"),
        "{err}"
    );
}

// ---------------------------------------------------------------------------------------
// The pure mapping on the recorded lists.

#[test]
fn mapping_is_deterministic_and_from_json_agrees() {
    let Some(dirs) = augmented() else { return };
    let lists = recorded_lists(&dirs);
    let a = map(&lists, &Options::default()).unwrap();
    let b = map(&lists, &Options::default()).unwrap();
    assert_eq!(a, b);
    assert_eq!(
        serde_json::to_string(&a).unwrap(),
        serde_json::to_string(&b).unwrap()
    );

    let input = json!({
        "sites": lists.sites, "locations": lists.locations, "rack-groups": lists.rack_groups,
        "racks": lists.racks, "device_types": lists.device_types,
        "devices": {"count": 76, "next": null, "previous": null, "results": lists.devices},
    });
    let c = from_json(&serde_json::to_vec(&input).unwrap()).unwrap();
    assert_eq!(c.sites, a.sites);
    assert_eq!(c.templates, a.templates);

    // Input order does not change ids or order.
    let mut reversed = lists.clone();
    reversed.racks.reverse();
    reversed.sites.reverse();
    assert_eq!(map(&reversed, &Options::default()).unwrap().sites, a.sites);
}

#[test]
fn locations_as_aisles_when_rooms_are_not_modelled() {
    let Some(dirs) = augmented() else { return };
    let lists = recorded_lists(&dirs);
    let opts = Options {
        room_location_depth: RoomDepth::None,
        aisle_from: AisleFrom::Location,
        ..Options::default()
    };
    let inv = map(&lists, &opts).unwrap();
    let mdf = inv.sites.iter().find(|s| s.name == "MDF").unwrap();
    assert_eq!(mdf.rooms.len(), 1);
    assert_eq!(mdf.rooms[0].id, "ncsu-065-default");
    let aisles: Vec<(&str, usize)> = mdf.rooms[0]
        .aisles
        .iter()
        .map(|a| (a.name.as_str(), a.racks.len()))
        .collect();
    assert_eq!(
        aisles,
        [("Row 1", 8), ("Row 2", 8), ("Row 3", 8), ("default", 2)]
    );
    assert!(inv.warnings.iter().any(|w| w == "site MDF, room default: 2 rack(s) without a rack group or aisle location put in aisle `default`: Plant 1, Plant 2"));
    assert!(
        !inv.warnings
            .iter()
            .any(|w| w.contains("put in room `default`")),
        "rooms are not modelled: no warning"
    );
    assert_eq!(inv.counts(), expected_counts(&dirs));

    // `auto` with locations as rooms: the rack group wins where there is one.
    let rack_groups_only = Options {
        aisle_from: AisleFrom::RackGroup,
        ..Options::default()
    };
    let inv = map(&lists, &rack_groups_only).unwrap();
    assert_eq!(
        inv.sites.iter().find(|s| s.name == "MDF").unwrap().rooms[0].aisles[0].name,
        "Row 1 hot aisle"
    );
}

// ---------------------------------------------------------------------------------------
// Synthetic cases in NetBox's shapes, for what the demo data lacks.

fn synthetic(devices: Vec<Value>, rack: Value) -> Lists {
    Lists {
        sites: vec![
            json!({"id": 1, "name": "Lab", "slug": "lab", "latitude": 45.5, "longitude": "-73.25",
                           "physical_address": "1 Main St\r\nTown"}),
        ],
        locations: vec![
            json!({"id": 10, "name": "Hall A", "slug": "hall-a", "parent": null, "_depth": 0}),
            json!({"id": 11, "name": "Row 7", "slug": "row-7", "parent": {"id": 10, "_depth": 0}, "_depth": 1}),
        ],
        rack_groups: vec![],
        racks: vec![rack],
        device_types: vec![
            json!({"id": 1, "slug": "srv1u", "model": "S1", "manufacturer": {"name": "Acme", "slug": "acme"}, "u_height": 1.0}),
            json!({"id": 2, "slug": "half", "model": "H", "manufacturer": {"name": "Acme", "slug": "acme"}, "u_height": 1.5}),
            json!({"id": 3, "slug": "chassis", "model": "C", "manufacturer": {"name": "Acme", "slug": "acme"}, "u_height": 2,
                   "subdevice_role": {"value": "parent"}, "device_bay_template_count": 4}),
            json!({"id": 4, "slug": "node", "model": "N", "manufacturer": {"name": "Acme", "slug": "acme"}, "u_height": 0,
                   "subdevice_role": {"value": "child"}}),
            json!({"id": 5, "slug": "srv1u", "model": "Other", "manufacturer": {"name": "Zed", "slug": "zed"}, "u_height": 1}),
        ],
        devices,
        warnings: vec![],
    }
}

fn dev(id: i64, name: Option<&str>, type_id: i64, position: Value, face: &str) -> Value {
    json!({"id": id, "name": name, "display": name.unwrap_or("unnamed"), "device_type": {"id": type_id},
           "role": {"slug": "compute"}, "rack": {"id": 100}, "position": position,
           "face": {"value": face}, "parent_device": null})
}

fn child(id: i64, name: &str, parent: i64, bay: &str) -> Value {
    json!({"id": id, "name": name, "device_type": {"id": 4}, "rack": {"id": 100}, "position": null,
           "face": null, "parent_device": {"id": parent, "device_bay": {"name": bay}}})
}

#[test]
fn descending_racks_starting_units_and_half_units() {
    let rack = json!({"id": 100, "name": "X1", "site": {"id": 1}, "location": {"id": 11},
                      "u_height": 42, "starting_unit": 5, "desc_units": true});
    let lists = synthetic(
        vec![
            // Top-down labels 5..46: label 5 is the top unit.
            dev(1, Some("top"), 1, json!(5), "front"),
            dev(2, Some("bottom"), 1, json!(46), "front"),
            dev(3, Some("halfheight"), 2, json!(20), "rear"),
            dev(4, Some("halfpos"), 1, json!(30.5), "front"),
            dev(5, Some("below"), 1, json!(47), "front"),
            dev(6, Some("clash"), 1, json!(5.0), "front"),
            dev(7, Some("rearside"), 1, json!(5), "rear"),
            dev(8, Some("zed"), 5, json!(10), "front"),
            dev(9, Some("floating"), 1, Value::Null, "front"),
        ],
        rack,
    );
    let inv = map(&lists, &Options::default()).unwrap();
    check_invariants(&inv);
    let u = |n: &str| device(&inv, n).u_position;
    assert_eq!(u("top"), 42);
    assert_eq!(u("bottom"), 1);
    // 1.5U whose top is label 20 (unit 27 from the bottom): the upper half of U26 and U27.
    assert_eq!(u("halfheight"), 26);
    assert_eq!(u("halfpos"), 16);
    assert_eq!(u("rearside"), 42, "the other face is free");
    let has = |s: &str| inv.warnings.iter().any(|w| w.contains(s));
    assert!(has(
        "device halfheight: device type Acme H is 1.5U high: drawn as 2U"
    ));
    assert!(has(
        "device halfpos: half-unit position 30.5 in rack X1: placed at U16"
    ));
    assert!(has(
        "device below: position 47 is outside rack X1 (starting unit 5): skipped"
    ));
    assert!(has("device clash overlaps device top in rack X1: skipped"));
    assert!(has("device floating in rack X1 has no position"));
    // Two manufacturers use the slug srv1u: template ids get the manufacturer.
    assert_eq!(device(&inv, "top").template_id, "acme-srv1u");
    assert_eq!(device(&inv, "zed").template_id, "zed-srv1u");
    // The location tree: the top-level location is the room, the next level the aisle.
    let site = &inv.sites[0];
    let loc = site.location.as_ref().unwrap();
    assert_eq!(
        (loc.lat, loc.lon, loc.address.as_deref()),
        (45.5, -73.25, Some("1 Main St, Town"))
    );
    assert_eq!(
        (
            site.rooms[0].id.as_str(),
            site.rooms[0].aisles[0].id.as_str()
        ),
        ("lab-hall-a", "lab-hall-a-row-7")
    );
    assert_eq!(site.rooms[0].aisles[0].racks[0].id, "lab-x1");
}

#[test]
fn ascending_rack_with_starting_unit_and_fit() {
    let rack = json!({"id": 100, "name": "X2", "site": {"id": 1}, "location": null,
                      "u_height": 10, "starting_unit": 0, "desc_units": false});
    let lists = synthetic(
        vec![
            dev(1, Some("first"), 1, json!(0), "front"),
            dev(2, Some("last"), 1, json!(9), "front"),
            dev(3, Some("toohigh"), 3, json!(9), "front"),
        ],
        rack,
    );
    let inv = map(&lists, &Options::default()).unwrap();
    assert_eq!(device(&inv, "first").u_position, 1);
    assert_eq!(device(&inv, "last").u_position, 10);
    assert!(
        inv.warnings
            .iter()
            .any(|w| w == "device toohigh: U10-U11 does not fit in rack X2 (10U): skipped")
    );
    assert!(inv.warnings.iter().any(|w| {
        w.contains("rack(s) without a location put in room `default`, aisle `default`: X2")
    }));
}

#[test]
fn chassis_nodes_follow_bay_order() {
    let rack = json!({"id": 100, "name": "X3", "site": {"id": 1}, "u_height": 42});
    let lists = synthetic(
        vec![
            child(21, "n10", 20, "Bay 10"),
            child(22, "n2", 20, "Bay 2"),
            child(23, "n1", 20, "Bay 1"),
            dev(20, Some("chassis"), 3, json!(1), "front"),
            dev(30, Some("empty-chassis"), 3, json!(3), "front"),
            child(41, "orphan", 40, "Bay 1"),
        ],
        rack,
    );
    let inv = map(&lists, &Options::default()).unwrap();
    check_invariants(&inv);
    assert_eq!(device(&inv, "chassis").instances, ["n1", "n2", "n10"]);
    assert_eq!(device(&inv, "empty-chassis").instances, ["empty-chassis"]);
    let t = inv.templates.iter().find(|t| t.id == "chassis").unwrap();
    assert_eq!(
        t.slots.map(|s| (s.rows, s.cols)),
        Some((2, 2)),
        "4 bay templates"
    );
    assert!(
        inv.warnings
            .iter()
            .any(|w| w == "device orphan is in a bay of device 40, which is not imported: skipped")
    );
    assert_eq!(inv.counts(), (1, 1, 2, 4));
}

#[test]
fn instance_from_a_custom_field() {
    let rack = json!({"id": 100, "name": "X4", "site": {"id": 1}, "u_height": 42});
    let mut d = dev(1, Some("a"), 1, json!(1), "front");
    d["custom_fields"] = json!({"prom": "a.example:9100"});
    let lists = synthetic(vec![d, dev(2, Some("b"), 1, json!(2), "front")], rack);
    let opts = Options {
        instance_name: InstanceName::CustomField("prom".into()),
        ..Options::default()
    };
    let inv = map(&lists, &opts).unwrap();
    assert_eq!(device(&inv, "a").instances, ["a.example:9100"]);
    assert!(device(&inv, "b").instances.is_empty());
    assert!(
        inv.warnings
            .iter()
            .any(|w| w == "device b has no custom field `prom`: no instance")
    );
}

#[test]
fn from_json_never_panics_on_odd_input() {
    let inputs: &[&[u8]] = &[
        b"",
        b"[]",
        b"null",
        b"{}",
        b"{\"sites\": 3}",
        b"{\"nope\": []}",
        br#"{"sites":[{"id":1}],"racks":[{"id":1,"site":1,"u_height":1e308}]}"#,
        br#"{"sites":[{"id":1}],"racks":[{"id":1,"site":{"id":1},"u_height":4,"starting_unit":-9223372036854775808,"desc_units":true}],
            "devices":[{"id":1,"rack":{"id":1},"position":1e300,"device_type":{"id":1}},
                       {"id":2,"rack":{"id":1},"position":-3,"device_type":{"id":1}},
                       {"id":3,"rack":1,"position":"2","device_type":1,"parent_device":{"id":3}}],
            "device_types":[{"id":1,"u_height":-5}]}"#,
        br#"{"locations":[{"id":1,"parent":2},{"id":2,"parent":1}],"sites":[{"id":1}],
            "racks":[{"id":1,"site":1,"location":1,"u_height":"42"}]}"#,
        // Found by the fuzzer: two racks with one NetBox id gave one rack id twice.
        DUPLICATE_RACK_ID,
        // Found by the fuzzer: two sites without a slug, of one name, gave one site id twice.
        SITE_SLUG_TWICE,
        // Found while fixing it: a negative NetBox id made a suffixed id that is no slug.
        NEGATIVE_RACK_IDS,
        SITE_ID_TWICE,
    ];
    for input in inputs {
        if let Ok(inv) = from_json(input) {
            check_invariants(&inv);
        }
    }
    let odd = from_json(inputs[8]).unwrap();
    assert_eq!(odd.counts(), (1, 1, 0, 0));
    assert!(odd.warnings.iter().any(|w| w.contains("parent cycle")));
}

const DUPLICATE_RACK_ID: &[u8] = br#"{"sites":[{"id":1,"name":"S","slug":"s"}],"racks":[{"id":7,"name":"A","site":{"id":1},"u_height":42},{"id":7,"name":"B","site":{"id":1},"u_height":42}]}"#;

#[test]
fn a_second_rack_with_the_same_netbox_id_is_skipped() {
    let inv = from_json(DUPLICATE_RACK_ID).unwrap();
    check_invariants(&inv);
    let racks: Vec<&str> = all_racks(&inv).iter().map(|r| r.id.as_str()).collect();
    assert_eq!(racks, ["s-a"]);
    assert!(
        inv.warnings
            .iter()
            .any(|w| w == "rack B: its NetBox id (7) is also rack A's: skipped"),
        "{:?}",
        inv.warnings
    );
}

const SITE_SLUG_TWICE: &[u8] = br#"{"sites":[{"id":1,"name":"A"},{"id":2,"name":"a"}],"racks":[{"id":1,"name":"R","site":{"id":1},"u_height":42},{"id":2,"name":"R","site":{"id":2},"u_height":42}]}"#;

#[test]
fn two_sites_with_one_slug_get_two_ids() {
    let inv = from_json(SITE_SLUG_TWICE).unwrap();
    check_invariants(&inv);
    let sites: Vec<&str> = inv.sites.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(sites, ["a", "a-2"]);
    assert!(
        inv.warnings
            .iter()
            .any(|w| w == "site a: id `a` is already another site's: `a-2` used instead"),
        "{:?}",
        inv.warnings
    );
}

const NEGATIVE_RACK_IDS: &[u8] = br#"{"sites":[{"id":1,"name":"S","slug":"s"}],"racks":[{"id":-7,"name":"A","site":{"id":1},"u_height":42},{"id":-8,"name":"A","site":{"id":1},"u_height":42}]}"#;

#[test]
fn an_id_suffixed_with_a_negative_netbox_id_is_a_slug() {
    let inv = from_json(NEGATIVE_RACK_IDS).unwrap();
    check_invariants(&inv);
    let racks: Vec<&str> = all_racks(&inv).iter().map(|r| r.id.as_str()).collect();
    assert_eq!(racks, ["s-a", "s-a-7"]);
}

const SITE_ID_TWICE: &[u8] = br#"{"sites":[{"id":1,"name":"S","slug":"s"},{"id":1,"name":"T","slug":"t"}],"racks":[{"id":7,"name":"A","site":{"id":1},"u_height":42}]}"#;

#[test]
fn a_second_site_with_the_same_netbox_id_is_skipped() {
    let inv = from_json(SITE_ID_TWICE).unwrap();
    check_invariants(&inv);
    let sites: Vec<&str> = inv.sites.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(sites, ["s"]);
    assert!(
        inv.warnings
            .iter()
            .any(|w| w == "site T: its NetBox id (1) is also site S's: skipped"),
        "{:?}",
        inv.warnings
    );
}

// ---------------------------------------------------------------------------------------
// Options and describe.

#[test]
fn options_are_checked() {
    let ok = Options::from_value(&json!({
        "url": "https://netbox.example.com/api/", "token": "abc", "site": ["a", "b,c"], "tag": "x, y",
        "status": ["active", "staged"], "page_size": 200, "timeout_seconds": "5",
        "room_location_depth": "none", "aisle_from": "location", "instance_name": "custom_field:prom",
        "instance_port": 9100,
    }))
    .unwrap();
    assert_eq!(ok.url, "https://netbox.example.com");
    assert_eq!(ok.site, ["a", "b", "c"]);
    assert_eq!(ok.tag, ["x", "y"]);
    assert_eq!(ok.status, ["active", "staged"]);
    assert_eq!((ok.page_size, ok.timeout_seconds), (200, 5));
    assert_eq!(ok.room_location_depth, RoomDepth::None);
    assert_eq!(ok.aisle_from, AisleFrom::Location);
    assert_eq!(ok.instance_name, InstanceName::CustomField("prom".into()));
    assert_eq!(ok.instance_port, Some(9100));
    assert_eq!(ok.authorization().unwrap(), "Token abc");
    assert_eq!(options::authorization_for("nbt_k.s"), "Bearer nbt_k.s");

    let d = Options::from_value(&json!({"url": "http://nb", "token": "t"})).unwrap();
    assert_eq!(
        (d.status.clone(), d.page_size, d.room_location_depth),
        (vec!["active".to_owned()], 1000, RoomDepth::Depth(0))
    );
    assert_eq!(
        Options::from_value(&json!({"url": "http://nb", "status": "all"}))
            .unwrap()
            .status,
        Vec::<String>::new()
    );

    let err = |v: Value| Options::from_value(&v).unwrap_err();
    assert!(err(json!({})).contains("`url` is required"));
    assert!(err(json!({"url": "netbox.example.com"})).contains("http://"));
    assert!(err(json!({"url": "http://x", "page_sise": 5})).contains("unknown option `page_sise`"));
    assert!(err(json!({"url": "http://x", "page_size": 0})).contains("page_size"));
    assert!(err(json!({"url": "http://x", "instance_port": "http"})).contains("instance_port"));
    assert!(err(json!({"url": "http://x", "aisle_from": "row"})).contains("aisle_from"));
    assert!(err(json!({"url": "http://x", "instance_name": "fqdn"})).contains("instance_name"));
    assert!(
        err(json!({"url": "http://x", "room_location_depth": -1})).contains("room_location_depth")
    );
}

#[test]
fn describe_lists_every_option() {
    let d = NetBox::describe();
    assert_eq!(d.name, "netbox");
    let names: Vec<&str> = d.options.iter().map(|o| o.name.as_str()).collect();
    for key in [
        "url",
        "token",
        "site",
        "tag",
        "status",
        "role",
        "rack_status",
        "rack_role",
        "page_size",
        "timeout_seconds",
        "room_location_depth",
        "aisle_from",
        "instance_name",
        "instance_port",
    ] {
        assert!(names.contains(&key), "{key}");
    }
    assert!(d.options.iter().find(|o| o.name == "url").unwrap().required);
}
