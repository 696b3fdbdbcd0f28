//! Tests on the real RacksDB example database and on the recorded output of RacksDB 0.7.0
//! (CLI and REST) for that same database; the key check is that every device's U from the
//! YAML equals the position RacksDB itself computed.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use rackscope_importer_abi::{Importer, Inventory, Reporter, slug, testkit};
use serde_json::{Value, json};

use super::*;

fn fixtures() -> Option<PathBuf> {
    testkit::fixtures("racksdb")
}

fn opts() -> Options {
    Options::default()
}

fn read_json(path: PathBuf) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// Every equipment item of RacksDB's own `infrastructures` output:
/// (name, rack, type id, type height, type width, position height, position width).
#[derive(Debug, Clone)]
struct Recorded {
    name: String,
    category: &'static str,
    rack: String,
    type_id: String,
    width: f64,
    height_u: u64,
    offset: i64,
    column: i64,
}

fn recorded_items(dir: &str) -> Vec<Recorded> {
    let root = fixtures().unwrap();
    let infras = read_json(root.join(dir).join("infrastructures.json"));
    let mut out = Vec::new();
    for infra in infras.as_array().unwrap() {
        for part in infra["layout"].as_array().unwrap() {
            for cat in ["nodes", "storage", "network", "misc"] {
                for e in part[cat].as_array().unwrap() {
                    out.push(Recorded {
                        name: e["name"].as_str().unwrap().into(),
                        category: cat,
                        rack: part["rack"].as_str().unwrap().into(),
                        type_id: e["type"]["id"].as_str().unwrap().into(),
                        width: e["type"]["width"].as_f64().unwrap(),
                        height_u: e["type"]["height"].as_u64().unwrap(),
                        offset: e["position"]["height"].as_i64().unwrap(),
                        column: e["position"]["width"].as_i64().unwrap(),
                    });
                }
            }
        }
    }
    out
}

/// (devices, instances) computed from RacksDB's output alone: fractional-width items of one
/// type at one height in one rack share a device.
fn expected_devices(items: &[Recorded]) -> usize {
    let groups: BTreeSet<(String, i64, String)> = items
        .iter()
        .filter(|i| i.width < 1.0)
        .map(|i| (i.rack.clone(), i.offset, i.type_id.clone()))
        .collect();
    groups.len() + items.iter().filter(|i| i.width >= 1.0).count()
}

fn yaml_db() -> Option<Inventory> {
    let root = fixtures()?;
    Some(from_yaml_dir(&root.join("examples/db"), &opts()).unwrap())
}

/// Where each instance sits: name → (rack id, device u, device height, index in device,
/// device instance count, template id).
fn placements(inv: &Inventory) -> BTreeMap<String, (String, u32, u32, usize, usize, String)> {
    let heights: BTreeMap<&str, u32> = inv
        .templates
        .iter()
        .map(|t| (t.id.as_str(), t.u_height))
        .collect();
    let mut out = BTreeMap::new();
    for site in &inv.sites {
        for room in &site.rooms {
            for aisle in &room.aisles {
                for rack in &aisle.racks {
                    for d in &rack.devices {
                        for (i, inst) in d.instances.iter().enumerate() {
                            let prev = out.insert(
                                inst.clone(),
                                (
                                    rack.id.clone(),
                                    d.u_position,
                                    heights[d.template_id.as_str()],
                                    i,
                                    d.instances.len(),
                                    d.template_id.clone(),
                                ),
                            );
                            assert!(prev.is_none(), "instance {inst} appears twice");
                        }
                    }
                }
            }
        }
    }
    out
}

/// The same inventory whatever the source form: sites in name order, no source line.
fn normalized(mut inv: Inventory) -> Inventory {
    inv.source.clear();
    inv.sites.sort_by(|a, b| a.id.cmp(&b.id));
    inv
}

/// The contract of the importer ABI, and RacksDB's own rule: a device without slots is
/// exactly one node.
fn assert_model_rules(inv: &Inventory) {
    assert_eq!(testkit::violations(inv), Vec::<String>::new());
    let templates: BTreeMap<&str, _> = inv.templates.iter().map(|t| (t.id.as_str(), t)).collect();
    for d in inv.devices() {
        if templates[d.template_id.as_str()].slots.is_none() {
            assert_eq!(d.instances.len(), 1, "{}", d.id);
        }
    }
}

#[test]
fn counts_equal_the_source() {
    let Some(inv) = yaml_db() else { return };
    let items = recorded_items("recorded-cli-v0.7.0");
    // The figures the fixtures README documents…
    let per_cat = |c: &str| items.iter().filter(|i| i.category == c).count();
    assert_eq!(
        (
            per_cat("nodes"),
            per_cat("storage"),
            per_cat("network"),
            per_cat("misc")
        ),
        (130, 17, 14, 2)
    );
    // …and the source's counts against the inventory's.
    let root = fixtures().unwrap();
    let racks = read_json(root.join("recorded-cli-v0.7.0/racks.json"));
    let dcs = read_json(root.join("recorded-cli-v0.7.0/datacenters.json"));
    let rooms: usize = dcs
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["rooms"].as_array().unwrap().len())
        .sum();
    let rows: usize = dcs
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|d| d["rooms"].as_array().unwrap())
        .map(|r| r["rows"].as_array().unwrap().len())
        .sum();
    assert_eq!((rooms, rows, racks.as_array().unwrap().len()), (3, 15, 101));
    let devices = expected_devices(&items);
    assert_eq!(devices, 95);
    assert_eq!(
        inv.counts(),
        (dcs.as_array().unwrap().len(), 101, devices, items.len())
    );
    assert_eq!(inv.counts(), (2, 101, 95, 163));
    let inv_rooms: usize = inv.sites.iter().map(|s| s.rooms.len()).sum();
    let inv_aisles: usize = inv
        .sites
        .iter()
        .flat_map(|s| &s.rooms)
        .map(|r| r.aisles.len())
        .sum();
    assert_eq!((inv_rooms, inv_aisles), (rooms, rows));
    assert_model_rules(&inv);
}

#[test]
fn every_u_matches_racksdb_positions() {
    let Some(inv) = yaml_db() else { return };
    for dir in ["recorded-cli-v0.7.0", "recorded-rest-v0.7.0"] {
        let items = recorded_items(dir);
        let got = placements(&inv);
        assert_eq!(got.len(), items.len());
        for item in &items {
            let (rack, u, height, index, count, template) = &got[&item.name];
            assert_eq!(rack, &slug(&item.rack), "{} rack", item.name);
            assert_eq!(i64::from(*u), item.offset + 1, "{} U", item.name);
            assert_eq!(u64::from(*height), item.height_u, "{} height", item.name);
            assert_eq!(template, &slug(&item.type_id), "{} template", item.name);
            if item.width < 1.0 {
                // Instances are in slot order, which is RacksDB's column order.
                assert_eq!(*index as i64, item.column, "{} column", item.name);
            } else {
                assert_eq!((*index, *count), (0, 1), "{} alone", item.name);
            }
        }
    }
}

#[test]
fn the_placement_rule_reproduces_every_recorded_position() {
    let Some(root) = fixtures() else { return };
    // The pure rule, fed from the YAML sets, against RacksDB's numbers one by one.
    let text = std::fs::read_to_string(root.join("recorded-cli-v0.7.0/dump.yaml")).unwrap();
    let src = db::read(&db::parse_yaml(&text, "dump").unwrap()).unwrap();
    let recorded: BTreeMap<String, Recorded> = recorded_items("recorded-cli-v0.7.0")
        .into_iter()
        .map(|r| (r.name.clone(), r))
        .collect();
    let mut seen = 0;
    for set in &src.sets {
        let ty = &src.types[&(set.category, set.type_id.clone())];
        for (k, name) in set.names.iter().enumerate() {
            let r = &recorded[name];
            assert_eq!(
                place(set.first_slot, 1, k, ty),
                (r.offset, r.column),
                "{name}"
            );
            seen += 1;
        }
    }
    assert_eq!(seen, 163);
}

#[test]
fn specific_devices_sit_where_racksdb_puts_them() {
    let Some(inv) = yaml_db() else { return };
    let dev = |name: &str| {
        inv.racks()
            .flat_map(|r| r.devices.iter().map(move |d| (r.id.clone(), d)))
            .find(|(_, d)| d.instances.iter().any(|i| i == name))
            .unwrap()
    };
    let (rack, d) = dev("mecn0001");
    assert_eq!((rack.as_str(), d.u_position), ("r1-a01", 1));
    assert_eq!(d.instances, ["mecn0001", "mecn0002"]);
    assert_eq!(
        (d.id.as_str(), d.name.as_str()),
        ("mecn0001", "mecn[0001-0002]")
    );
    assert_eq!(d.labels["infrastructure"], "mercury");
    assert_eq!(d.labels["tags"], "compute");
    let (rack, d) = dev("mecn0064");
    assert_eq!((rack.as_str(), d.u_position), ("r1-a02", 3));
    assert_eq!(d.instances.len(), 7);
    assert_eq!(d.name, "mecn[0061-0067]");
    let (_, d) = dev("mecn0116");
    assert_eq!(d.u_position, 38);
    for (name, u) in [
        ("junas01", 4),
        ("junas02", 6),
        ("junas03", 8),
        ("junas04", 10),
    ] {
        let (rack, d) = dev(name);
        assert_eq!(
            (rack.as_str(), d.u_position, d.template_id.as_str()),
            ("racke01", u, "qnaph1277")
        );
    }
    let (rack, d) = dev("mecn0200");
    assert_eq!((rack.as_str(), d.u_position), ("r1-a01", 22));
    let (rack, d) = dev("netsw03");
    assert_eq!(
        (rack.as_str(), d.u_position, d.template_id.as_str()),
        ("r5-a01", 40, "cisco3650")
    );
    let (_, d) = dev("jukvm01");
    assert_eq!((d.u_position, d.template_id.as_str()), (18, "kvm"));

    let t = |id: &str| inv.templates.iter().find(|t| t.id == id).unwrap();
    assert_eq!(
        (
            t("sm220bt").u_height,
            t("sm220bt").slots.map(|s| (s.rows, s.cols))
        ),
        (1, Some((1, 2)))
    );
    assert_eq!(
        (
            t("hpesyn480").u_height,
            t("hpesyn480").slots.map(|s| (s.rows, s.cols))
        ),
        (5, Some((1, 7)))
    );
    assert_eq!(
        (t("bullsx440a5").u_height, t("bullsx440a5").slots),
        (2, None)
    );
    assert_eq!(t("hpesyn480").name, "HPE Synergy 480 Gen10 Compute Module");
    let kinds: BTreeMap<&str, &str> = inv
        .templates
        .iter()
        .map(|t| (t.id.as_str(), t.kind.as_str()))
        .collect();
    assert_eq!(kinds["dellr550"], "server");
    assert_eq!(kinds["qnaph1277"], "storage");
    assert_eq!(kinds["cisco3650"], "network");
    assert_eq!(kinds["kvm"], "other");
    assert_eq!(inv.templates.len(), 8);
}

#[test]
fn hierarchy_follows_the_database() {
    let Some(inv) = yaml_db() else { return };
    let paris = inv.sites.iter().find(|s| s.id == "paris").unwrap();
    let loc = paris.location.as_ref().unwrap();
    assert_eq!((loc.lat, loc.lon), (48.858093, 2.294694));
    assert_eq!(paris.rooms.len(), 1);
    assert_eq!(paris.rooms[0].id, "paris-noisy");
    let aisle = |name: &str| {
        paris.rooms[0]
            .aisles
            .iter()
            .find(|a| a.name == name)
            .unwrap()
    };
    assert_eq!(aisle("R3").id, "paris-noisy-r3");
    let r3: Vec<&str> = aisle("R3").racks.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(
        r3,
        [
            "R3-A01", "R3-A02", "R3-A03", "R3-A04", "R3-A05", "R3-A07", "R3-A08", "R3-A09",
            "R3-A10"
        ]
    );
    let r2: Vec<(&str, u32)> = aisle("R2")
        .racks
        .iter()
        .map(|r| (r.name.as_str(), r.u_height))
        .collect();
    assert_eq!(r2[..3], [("R2-A01", 24), ("R2-A02", 24), ("R2-A03", 42)]);
    assert_eq!(r2.len(), 10);
    let paris_racks: usize = paris
        .rooms
        .iter()
        .flat_map(|r| &r.aisles)
        .map(|a| a.racks.len())
        .sum();
    assert_eq!(paris_racks, 53);
    let london = inv.sites.iter().find(|s| s.id == "london").unwrap();
    let rooms: Vec<&str> = london.rooms.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(rooms, ["level1", "level2"]);
    assert_eq!(london.rooms[1].aisles[0].racks[0].id, "racke01");
}

#[test]
fn recorded_json_gives_the_same_inventory_as_the_yaml() {
    let Some(root) = fixtures() else { return };
    let yaml = normalized(yaml_db().unwrap());
    for dir in ["recorded-cli-v0.7.0", "recorded-rest-v0.7.0"] {
        let json = from_path(&root.join(dir), &opts()).unwrap();
        assert!(json.source.contains(dir));
        assert_eq!(normalized(json), yaml, "{dir}");
    }
    // The two files given as separate documents, and as one combined object.
    let dc = std::fs::read(root.join("recorded-rest-v0.7.0/datacenters.json")).unwrap();
    let inf = std::fs::read(root.join("recorded-rest-v0.7.0/infrastructures.json")).unwrap();
    let docs = from_json_documents(&[&dc, &inf], &opts()).unwrap();
    assert_eq!(normalized(docs), yaml);
    let combined = json!({
        "datacenters": serde_json::from_slice::<Value>(&dc).unwrap(),
        "infrastructures": serde_json::from_slice::<Value>(&inf).unwrap(),
    });
    let one = from_json(combined.to_string().as_bytes(), &opts()).unwrap();
    assert_eq!(normalized(one), yaml);
}

#[test]
fn folded_json_is_placed_by_the_rule() {
    let Some(root) = fixtures() else { return };
    let yaml = normalized(yaml_db().unwrap());
    let dc = std::fs::read(root.join("recorded-rest-v0.7.0/datacenters.fold.json")).unwrap();
    let inf = std::fs::read(root.join("recorded-rest-v0.7.0/infrastructures.fold.json")).unwrap();
    let inv = from_json_documents(&[&dc, &inf], &opts()).unwrap();
    assert_eq!(normalized(inv), yaml);
}

#[test]
fn racks_and_nodes_output_alone_give_the_compute_nodes_with_a_warning() {
    let Some(root) = fixtures() else { return };
    let racks = std::fs::read(root.join("recorded-cli-v0.7.0/racks.json")).unwrap();
    let nodes = std::fs::read(root.join("recorded-cli-v0.7.0/nodes.json")).unwrap();
    let inv = from_json_documents(&[&racks, &nodes], &opts()).unwrap();
    let (sites, racks_n, _, instances) = inv.counts();
    assert_eq!((sites, racks_n, instances), (2, 101, 130));
    assert!(
        inv.warnings
            .iter()
            .any(|w| w.contains("only compute nodes"))
    );
    assert_model_rules(&inv);
    // The nodes' U are RacksDB's.
    let got = placements(&inv);
    for item in recorded_items("recorded-cli-v0.7.0")
        .iter()
        .filter(|i| i.category == "nodes")
    {
        assert_eq!(
            i64::from(got[&item.name].1),
            item.offset + 1,
            "{}",
            item.name
        );
    }
    // The racks output alone names node types without describing them.
    let racks = std::fs::read(root.join("recorded-cli-v0.7.0/racks.json")).unwrap();
    let inv = from_json(&racks, &opts()).unwrap();
    assert!(
        inv.warnings
            .iter()
            .any(|w| w.contains("does not describe it"))
    );
    assert_model_rules(&inv);
}

#[test]
fn single_file_dump_equals_the_split_tree() {
    let Some(root) = fixtures() else { return };
    let yaml = normalized(yaml_db().unwrap());
    let text = std::fs::read_to_string(root.join("recorded-rest-v0.7.0/dump.yaml")).unwrap();
    assert_eq!(normalized(from_yaml_str(&text, &opts()).unwrap()), yaml);
    let file = from_path(&root.join("recorded-cli-v0.7.0/dump.yaml"), &opts()).unwrap();
    assert_eq!(normalized(file), yaml);
}

#[test]
fn deterministic() {
    let Some(a) = yaml_db() else { return };
    let b = yaml_db().unwrap();
    assert_eq!(a, b);
    assert_eq!(
        serde_json::to_string(&a).unwrap(),
        serde_json::to_string(&b).unwrap()
    );
}

#[test]
fn warnings_on_the_example_are_only_the_face_assumption() {
    let Some(inv) = yaml_db() else { return };
    assert_eq!(
        inv.warnings,
        ["RacksDB has no device face: every device is placed on the front of its rack"]
    );
}

#[test]
fn options_are_checked() {
    let err = Options::from_config(&json!({"pth": "x"})).unwrap_err();
    assert!(
        err.contains("`pth`") && err.contains("path, format"),
        "{err}"
    );
    let o = Options::from_config(&json!({"path": "/x", "instance_port": "9100", "datacenter": "paris, london", "format": "JSON"})).unwrap();
    assert_eq!(o.instance_port, Some(9100));
    assert_eq!(o.datacenters, ["paris", "london"]);
    assert_eq!(o.format, Format::Json);
    assert_eq!(
        Options::from_config(&json!({"instance_port": 9100}))
            .unwrap()
            .instance_port,
        Some(9100)
    );
    assert!(Options::from_config(&json!({"instance_port": 0})).is_err());
    assert!(Options::from_config(&json!({"instance_port": "http"})).is_err());
    assert!(Options::from_config(&json!({"format": "xml"})).is_err());
    assert!(Options::from_config(&json!({"path": 3})).is_err());
    assert!(Options::from_config(&json!([1])).is_err());
    assert_eq!(
        Options::from_config(&Value::Null).unwrap(),
        Options::default()
    );
    let d = RacksDb::describe();
    assert_eq!(d.name, "racksdb");
    let names: Vec<&str> = d.options.iter().map(|o| o.name.as_str()).collect();
    assert_eq!(names, OPTION_NAMES);
    assert!(d.options.iter().all(|o| !o.help.is_empty()));
}

#[test]
fn run_reads_the_path_and_applies_options() {
    let Some(root) = fixtures() else { return };
    let path = root.join("examples/db");
    let config =
        json!({"path": path.to_str().unwrap(), "instance_port": 9100, "datacenter": "paris"});
    let inv = testkit::run::<RacksDb>(config).unwrap();
    let (sites, racks, _, _) = inv.counts();
    assert_eq!((sites, racks), (1, 53));
    assert!(placements(&inv).contains_key("mecn0001:9100"));
    // Jupiter's London racks are filtered out silently; its Paris racks stay.
    assert!(placements(&inv).contains_key("jusrv1:9100"));
    assert!(!placements(&inv).contains_key("junas01:9100"));
    assert!(!inv.warnings.iter().any(|w| w.contains("junas")));

    let inv = testkit::run::<RacksDb>(
        json!({"path": path.to_str().unwrap(), "infrastructure": "jupiter"}),
    )
    .unwrap();
    let (_, racks, devices, instances) = inv.counts();
    assert_eq!((racks, devices, instances), (101, 22, 22));

    let err =
        testkit::run::<RacksDb>(json!({"path": path.to_str().unwrap(), "datacenter": "berlin"}))
            .unwrap_err();
    assert!(err.contains("berlin") && err.contains("paris"), "{err}");
    let err =
        testkit::run::<RacksDb>(json!({"path": path.to_str().unwrap(), "infrastructure": "venus"}))
            .unwrap_err();
    assert!(err.contains("venus") && err.contains("mercury"), "{err}");
    let err = testkit::run::<RacksDb>(json!({"path": "/nonexistent/racksdb"})).unwrap_err();
    assert!(err.contains("/nonexistent/racksdb"), "{err}");
    assert!(
        testkit::run::<RacksDb>(json!({}))
            .unwrap_err()
            .contains("`path`")
    );
    // Forcing the wrong format fails cleanly.
    let err = testkit::run::<RacksDb>(json!({"path": path.to_str().unwrap(), "format": "json"}))
        .unwrap_err();
    assert!(err.contains("no *.json"), "{err}");
}

#[test]
fn run_reports_progress() {
    let Some(root) = fixtures() else { return };
    let mut seen = Vec::new();
    let mut sink = |p: &rackscope_importer_abi::Progress| seen.push(p.message.clone());
    let mut reporter = Reporter::new(Some(&mut sink));
    let config = json!({"path": root.join("recorded-cli-v0.7.0").to_str().unwrap()});
    RacksDb::run(config, &mut reporter).unwrap();
    assert!(seen.iter().any(|m| m.starts_with("reading")));
    assert!(seen.iter().any(|m| m == "done"));
}

const SMALL: &str = r#"
types:
  racks:
  - id: std
    slots: 10u
  - id: zero
    slots: 10u
    initial: 0
  nodes:
    half:
      model: Half
      height: 1u
      width: 1/2
    big:
      height: 4u
      width: full
  network:
  - id: sw
    height: 1u
datacenters:
- name: DC 1
  location: {latitude: 1.5, longitude: -2}
  rooms:
  - name: room
    rows:
    - name: A
      racks:
      - name: r[2-3]
        type: std
        slot: 5
      - name: r1
        type: zero
infrastructures:
- name: infra
  layout:
  - rack: r1
    nodes:
    - name: n[1-3]
      type: half
      slot: 0
    - name: big1
      type: big
      slot: 1
    - name: big2
      type: big
      slot: 8
  - rack: r2
    network:
    - name: sw[1-2]
      type: sw
      slot: 1
    - name: sw3
      type: sw
      slot: 2
    - name: sw4
      type: nosuch
      slot: 5
    - name: sw5
      type: sw
      slot: 0
  - rack: r9
    network:
    - name: lost
      type: sw
      slot: 1
"#;

#[test]
fn overlaps_misfits_and_unknowns_are_warned_and_skipped() {
    let inv = from_yaml_str(SMALL, &opts()).unwrap();
    assert_model_rules(&inv);
    let site = &inv.sites[0];
    assert_eq!((site.id.as_str(), site.name.as_str()), ("dc-1", "DC 1"));
    let racks: Vec<&str> = site.rooms[0].aisles[0]
        .racks
        .iter()
        .map(|r| r.id.as_str())
        .collect();
    assert_eq!(
        racks,
        ["r1", "r2", "r3"],
        "slot order: r1 at 0, r2-r3 at 5-6"
    );
    let got = placements(&inv);
    // initial 0: slot 0 is the bottom U; three half-width nodes fill U1 and the left of U2.
    assert_eq!(got["n1"].1, 1);
    assert_eq!((got["n2"].1, got["n2"].3), (1, 1));
    assert_eq!((got["n3"].1, got["n3"].3, got["n3"].4), (2, 0, 1));
    // big1 at slot 1 (U2-U5) overlaps n3; big2 at U9-U12 does not fit 10U.
    assert!(!got.contains_key("big1"));
    assert!(!got.contains_key("big2"));
    assert!(
        inv.warnings
            .iter()
            .any(|w| w.contains("`big1`") && w.contains("overlaps `n3`"))
    );
    assert!(
        inv.warnings
            .iter()
            .any(|w| w.contains("`big2`") && w.contains("does not fit"))
    );
    // sw1 U1, sw2 U2; sw3 at U2 overlaps sw2 (the first is kept); sw5 at slot 0 is below U1.
    assert_eq!((got["sw1"].1, got["sw2"].1), (1, 2));
    assert!(!got.contains_key("sw3"));
    assert!(
        inv.warnings
            .iter()
            .any(|w| w.contains("`sw3`") && w.contains("overlaps `sw2`"))
    );
    assert!(
        inv.warnings
            .iter()
            .any(|w| w.contains("`sw5`") && w.contains("below the first U"))
    );
    assert!(
        inv.warnings
            .iter()
            .any(|w| w.contains("`sw4`") && w.contains("unknown network type"))
    );
    assert!(
        inv.warnings
            .iter()
            .any(|w| w.contains("`lost`") && w.contains("`r9`"))
    );
    let half = inv.templates.iter().find(|t| t.id == "half").unwrap();
    assert_eq!((half.name.as_str(), half.kind.as_str()), ("Half", "server"));
    assert_eq!(
        inv.templates.iter().find(|t| t.id == "sw").unwrap().name,
        "sw"
    );
}

#[test]
fn odd_types_and_racks_get_defaults_with_warnings() {
    let text = r#"
types:
  racks: {}
  nodes:
    n: {height: 0u}
    w: {height: 1u, width: 3/2}
datacenters:
  dc:
    rooms:
      room:
        rows:
          row:
            racks:
            - name: a
              type: missing
infrastructures:
  i:
    layout:
    - rack: a
      nodes:
        x1: {type: n, slot: 1}
        y[1-2]: {type: w, slot: 3}
        z: {type: n}
"#;
    let inv = from_yaml_str(text, &opts()).unwrap();
    assert_model_rules(&inv);
    let w = &inv.warnings;
    assert!(
        w.iter()
            .any(|w| w.contains("rack type `missing`") && w.contains("42U")),
        "{w:?}"
    );
    assert!(
        w.iter()
            .any(|w| w.contains("nodes type `n`") && w.contains("less than 1U")),
        "{w:?}"
    );
    assert!(
        w.iter()
            .any(|w| w.contains("nodes type `n`") && w.contains("no width")),
        "{w:?}"
    );
    assert!(
        w.iter()
            .any(|w| w.contains("nodes type `w`") && w.contains("full width")),
        "{w:?}"
    );
    assert!(
        w.iter()
            .any(|w| w.contains("`z`") && w.contains("no valid slot")),
        "{w:?}"
    );
    let got = placements(&inv);
    assert_eq!((got["x1"].1, got["y1"].1, got["y2"].1), (1, 3, 4));
    assert_eq!(inv.sites[0].rooms[0].aisles[0].racks[0].u_height, 42);
}

#[test]
fn fractional_json_heights_round_up() {
    let doc = json!({
        "datacenters": [{"name": "d", "rooms": [{"name": "r", "rows": [{"name": "w", "racks": [
            {"name": "k", "slot": 0, "type": {"id": "t", "slots": 42, "initial": 1}}]}]}]}],
        "infrastructures": [{"name": "i", "layout": [{"rack": "k", "nodes": [
            {"name": "h1", "type": {"id": "odd", "height": 1.5, "width": 1.0}, "slot": 1,
             "position": {"height": 0, "width": 0}}]}]}]
    });
    let inv = from_json(doc.to_string().as_bytes(), &opts()).unwrap();
    assert_eq!(inv.templates[0].u_height, 2);
    assert!(
        inv.warnings
            .iter()
            .any(|w| w.contains("`odd`") && w.contains("rounded up to 2U"))
    );
}

#[test]
fn directory_layout_rules() {
    let dir = std::env::temp_dir().join(format!("rackscope-racksdb-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("types/racks.l")).unwrap();
    std::fs::create_dir_all(dir.join("datacenters")).unwrap();
    std::fs::write(dir.join("types/racks.l/a.yml"), "id: std\nslots: 42u\n").unwrap();
    std::fs::write(
        dir.join("types/nodes.yml"),
        "- id: s\n  height: 2u\n  width: full\n",
    )
    .unwrap();
    std::fs::write(dir.join("types/README.txt"), "not a database file").unwrap();
    std::fs::write(
        dir.join("datacenters/dc1.yml"),
        "rooms:\n- name: r\n  rows:\n  - name: w\n    racks:\n    - name: k1\n      type: std\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("infrastructures.yml"),
        "- name: i\n  layout:\n  - rack: k1\n    nodes:\n    - name: s[1-2]\n      type: s\n      slot: 41\n",
    )
    .unwrap();
    let inv = from_yaml_dir(&dir, &opts()).unwrap();
    let got = placements(&inv);
    assert_eq!(got["s1"].1, 41);
    assert!(!got.contains_key("s2"), "U43-44 does not fit");
    assert!(inv.warnings.iter().any(|w| w.contains("README.txt")));
    assert!(
        inv.warnings
            .iter()
            .any(|w| w.contains("`s2`") && w.contains("does not fit"))
    );
    assert_eq!(inv.sites[0].id, "dc1");
    // Auto: a directory with sub-directories is a database.
    assert_eq!(from_path(&dir, &opts()).unwrap(), inv);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn bad_input_is_an_error_not_a_panic() {
    for text in [
        "",
        "[1, 2]",
        "types: 3",
        "datacenters: [1]",
        "datacenters: {a: 1}",
        ": :",
        "{",
    ] {
        assert!(from_yaml_str(text, &opts()).is_err(), "{text:?}");
    }
    for bytes in [
        &b""[..],
        b"{",
        b"[]",
        b"{}",
        b"[1]",
        b"{\"datacenters\": 1}",
        b"\"x\"",
        b"[{\"x\":1}]",
    ] {
        assert!(
            from_json(bytes, &opts()).is_err(),
            "{:?}",
            String::from_utf8_lossy(bytes)
        );
    }
    let bad_range = "datacenters:\n- name: d\n  rooms:\n  - name: r\n    rows:\n    - name: w\n      racks:\n      - name: k[0-99999999]\n        type: t\n";
    assert!(
        from_yaml_str(bad_range, &opts())
            .unwrap_err()
            .contains("more than")
    );
}

/// Cheap deterministic fuzzing over the real files: truncations and byte flips must never
/// panic (the fuzz target does this at scale).
#[test]
fn mutated_real_inputs_never_panic() {
    let Some(root) = fixtures() else { return };
    let yaml = std::fs::read(root.join("recorded-cli-v0.7.0/dump.yaml")).unwrap();
    let json_doc = std::fs::read(root.join("recorded-cli-v0.7.0/infrastructures.json")).unwrap();
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for round in 0..300 {
        for (is_json, original) in [(false, &yaml), (true, &json_doc)] {
            let mut bytes = original.clone();
            let cut = (next() as usize) % (bytes.len() + 1);
            if round % 3 == 0 {
                bytes.truncate(cut);
            } else {
                for _ in 0..(1 + next() % 4) {
                    let i = (next() as usize) % bytes.len();
                    let table = b"[]{}:,-0123456789 \n\"/u";
                    bytes[i] = table[(next() as usize) % table.len()];
                }
            }
            if is_json {
                let _ = from_json(&bytes, &opts());
            } else {
                let _ = from_yaml_str(&String::from_utf8_lossy(&bytes), &opts());
            }
        }
    }
}

#[test]
fn extreme_numbers_neither_overflow_nor_panic() {
    let extremes = [
        json!(i64::MIN),
        json!(i64::MAX),
        json!(u64::MAX),
        json!(-1),
        json!(0),
        json!(1e300),
        json!(1e-300),
        json!(-0.5),
        json!("1/0"),
        json!("0/0"),
        json!("99999999999999999999u"),
        json!(null),
    ];
    for v in &extremes {
        for field in ["slot", "initial", "slots", "height", "width", "pos"] {
            let pick = |f: &str, default: Value| if f == field { v.clone() } else { default };
            let doc = json!({
                "datacenters": [{"name": "d", "rooms": [{"name": "r", "rows": [{"name": "w", "racks": [
                    {"name": "k[1-2]", "slot": pick("slot", json!(0)),
                     "type": {"id": "t", "slots": pick("slots", json!(42)), "initial": pick("initial", json!(1))}}]}]}]}],
                "infrastructures": [{"name": "i", "layout": [{"rack": "k1", "nodes": [
                    {"name": "n[1-9]", "slot": pick("slot", json!(1)),
                     "type": {"id": "x", "height": pick("height", json!(1)), "width": pick("width", json!(0.5))}},
                    {"name": "m1", "slot": 3, "type": {"id": "x", "height": 1, "width": 0.5},
                     "position": {"height": pick("pos", json!(2)), "width": pick("pos", json!(0))}}]}]}]
            });
            let _ = from_json(doc.to_string().as_bytes(), &opts());
        }
    }
}

#[test]
fn total_expansion_is_bounded() {
    let mut text = String::from(
        "datacenters:\n- name: d\n  rooms:\n  - name: r\n    rows:\n    - name: w\n      racks:\n",
    );
    for i in 0..11 {
        text.push_str(&format!("      - name: k{i}x[1-100000]\n        type: t\n"));
    }
    let err = from_yaml_str(&text, &opts()).unwrap_err();
    assert!(err.contains("in all"), "{err}");
}

/// A node named twice: in two racks, and twice in one rack's fractional U.
const NAME_TWICE_YAML: &str = r#"
types:
  racks: [{id: std, slots: 10u, initial: 1}]
  nodes: [{id: s, height: 1u, width: full}, {id: h, height: 1u, width: 1/2}]
datacenters:
- name: d
  rooms:
  - name: r
    rows:
    - name: w
      racks:
      - {name: k1, type: std}
      - {name: k2, type: std}
infrastructures:
- name: i
  layout:
  - rack: k1
    nodes:
    - {name: n1, type: s, slot: 1}
    - {name: h1, type: h, slot: 3}
    - {name: "h[0-1]", type: h, slot: 3}
  - rack: k2
    nodes:
    - {name: n1, type: s, slot: 5}
    - {name: n2, type: s, slot: 6}
"#;

/// The same name in two racks of `racksdb racks --format json`.
const NAME_TWICE_JSON: &str = r#"[
 {"name": "k1", "slot": 0, "type": {"id": "std", "slots": 42, "initial": 1},
  "datacenter": "d", "room": "r", "row": "w",
  "nodes": [{"name": "megpu0006", "type": "g", "slot": 1, "position": {"height": 0, "width": 0}}]},
 {"name": "k2", "slot": 1, "type": {"id": "std", "slots": 42, "initial": 1},
  "datacenter": "d", "room": "r", "row": "w",
  "nodes": [{"name": "megpu0006", "type": "g", "slot": 3, "position": {"height": 2, "width": 0}}]}
]"#;

#[test]
fn a_name_given_twice_is_imported_once() {
    let inv = from_yaml_str(NAME_TWICE_YAML, &opts()).unwrap();
    assert_model_rules(&inv);
    let got = placements(&inv);
    assert_eq!((got["n1"].0.as_str(), got["n1"].1), ("k1", 1));
    assert_eq!((got["n2"].0.as_str(), got["n2"].1), ("k2", 6));
    let has = |s: &str| inv.warnings.iter().any(|w| w == s);
    assert!(
        has("`n1` in rack `k2` (U5) is already in rack `k1` (U1); skipped"),
        "{:?}",
        inv.warnings
    );
    assert!(
        has("`h1` in rack `k1` (U3, column 1) is already in rack `k1` (U3, column 0); skipped"),
        "{:?}",
        inv.warnings
    );
    let inv = from_json(NAME_TWICE_JSON.as_bytes(), &opts()).unwrap();
    assert_model_rules(&inv);
    assert_eq!(inv.counts().3, 1);
    assert!(
        inv.warnings
            .iter()
            .any(|w| w == "`megpu0006` in rack `k2` (U3) is already in rack `k1` (U1); skipped"),
        "{:?}",
        inv.warnings
    );
}

/// Three half-width items at one U, the last at a column RacksDB never gives.
const COLUMN_OUTSIDE_JSON: &str = r#"{
 "datacenters": [{"name": "d", "rooms": [{"name": "r", "rows": [{"name": "w", "racks": [
  {"name": "k", "slot": 0, "type": {"id": "t", "slots": 42, "initial": 1}}]}]}]}],
 "infrastructures": [{"name": "i", "layout": [{"rack": "k", "nodes": [
  {"name": "a1", "type": {"id": "x", "height": 1, "width": 0.5}, "slot": 1, "position": {"height": 0, "width": 0}},
  {"name": "a2", "type": {"id": "x", "height": 1, "width": 0.5}, "slot": 1, "position": {"height": 0, "width": 1}},
  {"name": "a3", "type": {"id": "x", "height": 1, "width": 0.5}, "slot": 1, "position": {"height": 0, "width": 5}}]}]}]}"#;

#[test]
fn an_item_outside_its_types_columns_is_skipped() {
    let inv = from_json(COLUMN_OUTSIDE_JSON.as_bytes(), &opts()).unwrap();
    assert_model_rules(&inv);
    let got = placements(&inv);
    assert_eq!((got["a1"].3, got["a2"].3, got["a2"].4), (0, 1, 2));
    assert!(!got.contains_key("a3"));
    assert!(
        inv.warnings.iter().any(|w| w
            == "`a3` in rack `k` (U1): column 5 is outside the 2 columns of type `x`; skipped"),
        "{:?}",
        inv.warnings
    );
}

/// Inputs that broke the contract, replayed through the calls of the fuzz target
/// (`fuzz/fuzz_targets/import_racksdb.rs`), so that they stay fixed without libFuzzer.
#[test]
fn fuzz_findings_keep_the_contract() {
    for input in [NAME_TWICE_YAML, NAME_TWICE_JSON, COLUMN_OUTSIDE_JSON] {
        // An input that is an error in one form (YAML read as JSON, say) has nothing to check.
        let results = [
            from_yaml_str(input, &opts()),
            from_json(input.as_bytes(), &opts()),
        ];
        for inv in results.iter().flatten() {
            assert_eq!(testkit::violations(inv), Vec::<String>::new(), "{input}");
        }
    }
}
