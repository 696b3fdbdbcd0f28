//! Tests on the recorded `ansible-inventory` output of BlueBanquise's example inventories.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use rackscope_importer_abi::{Device, Face, Importer, Inventory, Rack, testkit};
use serde_json::{Value, json};

use super::*;

fn fixtures() -> Option<PathBuf> {
    testkit::fixtures("bluebanquise")
}

fn recorded(name: &str) -> Option<Vec<u8>> {
    let p = fixtures()?.join("recorded-ansible-inventory").join(name);
    Some(std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display())))
}

fn import(bytes: &[u8], config: Value) -> Inventory {
    let mut config = config;
    config
        .as_object_mut()
        .unwrap()
        .insert("inventory_json".into(), json!("recorded.json"));
    let options = Options::from_config(&config).unwrap();
    let inv = from_json(bytes, &options).unwrap();
    check_model(&inv);
    inv
}

/// Host names as the source lists them, read without the importer's code.
fn source_hosts(bytes: &[u8]) -> BTreeSet<String> {
    let doc: Value = serde_json::from_slice(bytes).unwrap();
    let mut hosts: BTreeSet<String> = doc["_meta"]["hostvars"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    for (name, g) in doc.as_object().unwrap() {
        if name != "_meta" {
            for h in g["hosts"].as_array().into_iter().flatten() {
                hosts.insert(h.as_str().unwrap().to_owned());
            }
        }
    }
    hosts
}

fn racks(inv: &Inventory) -> Vec<&Rack> {
    inv.racks().collect()
}

fn devices(inv: &Inventory) -> BTreeMap<String, (String, &Device)> {
    racks(inv)
        .into_iter()
        .flat_map(|r| {
            r.devices
                .iter()
                .map(move |d| (d.id.clone(), (r.id.clone(), d)))
        })
        .collect()
}

fn warned(inv: &Inventory, needles: &[&str]) -> usize {
    inv.warnings
        .iter()
        .filter(|w| needles.iter().all(|n| w.contains(n)))
        .count()
}

/// The contract's rules on the model, checked on every inventory the tests build, and the
/// importer's own: every device is at least one host.
fn check_model(inv: &Inventory) {
    assert_eq!(testkit::violations(inv), Vec::<String>::new());
    for rack in racks(inv) {
        for d in &rack.devices {
            assert!(!d.instances.is_empty());
        }
    }
}

#[test]
fn simple_cluster_counts_placement_and_warnings() {
    let Some(bytes) = recorded("simple_cluster.list.json") else {
        return;
    };
    let hosts = source_hosts(&bytes);
    assert_eq!(hosts.len(), 7, "documented: simple_cluster has 7 hosts");
    let inv = import(&bytes, json!({}));

    // No host carries a rack: one default rack holds all of them.
    assert_eq!(inv.counts(), (1, 1, hosts.len(), hosts.len()));
    assert_eq!(inv.sites[0].name, "bluebanquise.cluster.local");
    assert_eq!(inv.sites[0].id, "bluebanquise.cluster.local");
    let rack = racks(&inv)[0];
    assert_eq!((rack.id.as_str(), rack.u_height), ("unplaced", 42));
    let order: Vec<(&str, u32)> = rack
        .devices
        .iter()
        .map(|d| (d.name.as_str(), d.u_position))
        .collect();
    assert_eq!(
        order,
        [
            ("c001", 1),
            ("c002", 2),
            ("c003", 3),
            ("c004", 4),
            ("g001", 5),
            ("g002", 6),
            ("mgt1", 7)
        ]
    );
    let all: BTreeSet<String> = rack
        .devices
        .iter()
        .flat_map(|d| d.instances.clone())
        .collect();
    assert_eq!(all, hosts);
    for h in &hosts {
        assert_eq!(
            warned(
                &inv,
                &[&format!("host {h}:"), "no rack found", "default rack"]
            ),
            1,
            "{h}"
        );
    }

    // hw_* groups become templates; type B has no hw_equipment_type.
    let t: Vec<(&str, &str, u32)> = inv
        .templates
        .iter()
        .map(|t| (t.id.as_str(), t.kind.as_str(), t.u_height))
        .collect();
    assert_eq!(
        t,
        [
            ("hw_cpu_server_type_a", "server", 1),
            ("hw_cpu_server_type_c", "server", 1),
            ("hw_gpu_server_type_b", "server", 1)
        ]
    );
    assert_eq!(
        warned(&inv, &["template hw_gpu_server_type_B", "server assumed"]),
        1
    );
    let d = devices(&inv);
    assert_eq!(d["g001"].1.template_id, "hw_gpu_server_type_b");
    assert_eq!(d["mgt1"].1.template_id, "hw_cpu_server_type_c");
    assert_eq!(d["mgt1"].1.labels["function"], "fn_management");
    assert_eq!(d["c001"].1.labels["os"], "os_ubuntu_24");
    assert_eq!(d["c001"].1.labels["hardware"], "hw_cpu_server_type_A");
    assert_eq!(d["c001"].1.instances, ["c001"]);
    assert!(warned(&inv, &["no physical location model"]) == 1);
}

#[test]
fn coconutshaker_rack_group_and_rack_number() {
    let Some(bytes) = recorded("coconutshaker.list.json") else {
        return;
    };
    let hosts = source_hosts(&bytes);
    assert_eq!(hosts.len(), 12, "documented: coconutshaker has 12 hosts");
    // Independently: hosts listed in the rack_1 group (whose group var is rack_number=1).
    let doc: Value = serde_json::from_slice(&bytes).unwrap();
    let in_rack: BTreeSet<String> = doc["rack_1"]["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h.as_str().unwrap().to_owned())
        .collect();
    for h in &in_rack {
        assert_eq!(doc["_meta"]["hostvars"][h]["rack_number"], json!(1), "{h}");
    }
    let unplaced: BTreeSet<&String> = hosts.difference(&in_rack).collect();
    assert_eq!((in_rack.len(), unplaced.len()), (7, 5));

    let inv = import(&bytes, json!({}));
    assert_eq!(inv.counts(), (1, 2, hosts.len(), hosts.len()));
    assert_eq!(inv.sites[0].name, "algoric");
    assert_eq!(warned(&inv, &["site named `algoric`", "cluster_name"]), 1);

    let rs = racks(&inv);
    assert_eq!(rs[0].id, "rack1");
    assert_eq!(rs[1].id, "unplaced");
    let names =
        |r: &Rack| -> BTreeSet<String> { r.devices.iter().map(|d| d.name.clone()).collect() };
    assert_eq!(names(rs[0]), in_rack);
    assert_eq!(names(rs[1]).iter().collect::<BTreeSet<_>>(), unplaced);

    let d = devices(&inv);
    // Stacked in natural order: compute1..4, login1, management1, storage1.
    assert_eq!(d["compute1"].1.u_position, 1);
    assert_eq!(d["compute4"].1.u_position, 4);
    assert_eq!(d["storage1"].1.u_position, 7);
    assert_eq!(d["mgt1"].1.u_position, 5);
    assert_eq!(d["login1"].1.template_id, "equipment_typel");
    assert_eq!(d["login1"].1.labels["function"], "mg_logins");
    assert_eq!(d["compute1"].1.template_id, "generic-1u");
    assert_eq!(d["c001"].1.labels["function"], "mg_computes");

    for h in &unplaced {
        assert_eq!(
            warned(&inv, &[&format!("host {h}:"), "no rack found"]),
            1,
            "{h}"
        );
    }
    for h in &in_rack {
        assert_eq!(
            warned(&inv, &[&format!("host {h}:"), "stacked at U"]),
            1,
            "{h}"
        );
        assert_eq!(
            warned(&inv, &[&format!("host {h}:"), "no rack found"]),
            0,
            "{h}"
        );
    }
    // Hosts in rack_1 are not in any equipment_* group except login1 and storage1.
    for h in [
        "compute1",
        "compute2",
        "compute3",
        "compute4",
        "management1",
    ] {
        assert_eq!(
            warned(&inv, &[&format!("host {h}:"), "generic server template"]),
            1
        );
    }
    let storage = inv
        .templates
        .iter()
        .find(|t| t.id == "equipment_types")
        .unwrap();
    assert_eq!(
        storage.kind, "server",
        "ep_equipment_type of typeS is server"
    );
}

#[test]
fn rack_from_group_pattern_alone_and_from_rack_var_alone() {
    let Some(bytes) = recorded("coconutshaker.list.json") else {
        return;
    };
    let full = import(&bytes, json!({}));
    let by_group = import(&bytes, json!({"rack_var": ""}));
    let by_var = import(&bytes, json!({"rack_group_pattern": ""}));
    let strip = |mut i: Inventory| {
        i.warnings
            .retain(|w| !w.contains("no rack found") && !w.contains("physical location"));
        i
    };
    assert_eq!(strip(full.clone()), strip(by_group));
    assert_eq!(strip(full), strip(by_var));
    let named = import(
        &bytes,
        json!({"rack_var": [], "rack_group_pattern": "^(r)ack_(?P<rack>\\d+)$", "rack_prefix": "R"}),
    );
    assert_eq!(racks(&named)[0].name, "R1");
    assert_eq!(racks(&named)[0].devices.len(), 7);
    let none = import(&bytes, json!({"rack_group_pattern": "", "rack_var": ""}));
    assert_eq!(none.counts(), (1, 1, 12, 12));
    assert_eq!(warned(&none, &["no rack found"]), 12);
}

#[test]
fn export_json_gives_the_same_inventory_as_list() {
    let (Some(list), Some(export)) = (
        recorded("simple_cluster.list.json"),
        recorded("simple_cluster.export.json"),
    ) else {
        return;
    };
    assert_eq!(import(&list, json!({})), import(&export, json!({})));
}

#[test]
fn deterministic() {
    for f in ["simple_cluster.list.json", "coconutshaker.list.json"] {
        let Some(bytes) = recorded(f) else { return };
        let a = import(&bytes, json!({"instance_port": 9100}));
        let b = import(&bytes, json!({"instance_port": 9100}));
        assert_eq!(a, b, "{f}");
        assert_eq!(
            serde_json::to_string(&a).unwrap(),
            serde_json::to_string(&b).unwrap()
        );
    }
}

#[test]
fn instance_port_and_options_given_as_strings() {
    let Some(bytes) = recorded("simple_cluster.list.json") else {
        return;
    };
    let inv = import(
        &bytes,
        json!({"instance_port": "9100", "rack_height": "8", "site": "DC One", "room": "Hall A"}),
    );
    let d = devices(&inv);
    assert_eq!(d["c001"].1.instances, ["c001:9100"]);
    assert_eq!(inv.sites[0].id, "dc-one");
    assert_eq!(inv.sites[0].rooms[0].name, "Hall A");
    assert_eq!(racks(&inv)[0].u_height, 8);
}

/// simple_cluster with host variables added the way a site would set them.
fn simple_with(hostvars: Value) -> Option<Vec<u8>> {
    let bytes = recorded("simple_cluster.list.json")?;
    let mut doc: Value = serde_json::from_slice(&bytes).unwrap();
    for (h, vars) in hostvars.as_object().unwrap() {
        let hv = doc["_meta"]["hostvars"][h].as_object_mut().unwrap();
        for (k, v) in vars.as_object().unwrap() {
            hv.insert(k.clone(), v.clone());
        }
    }
    Some(serde_json::to_vec(&doc).unwrap())
}

#[test]
fn location_dict_chassis_and_stacking_around_explicit_devices() {
    let Some(bytes) = simple_with(json!({
        "c001": {"rackscope": {"rack": "R01", "u": 10, "height": 2, "slot": 2}},
        "c002": {"rackscope": {"rack": "R01", "u": 10, "height": 2, "slot": 1}},
        "c003": {"rackscope": {"rack": "R01", "u": 10, "height": 2}},
        "c004": {"rackscope": {"rack": "R01", "u": 1, "face": "rear", "room": "Hall B"}},
        "g001": {"labels": {"rack": "R01"}, "rack_u": "2", "hw_u_height": 2.5},
        "g002": {"labels": {"rack": "R01"}},
        "mgt1": {"rack_number": 7, "rackscope": {"template": "Mgmt server"}}
    })) else {
        return;
    };
    let inv = import(&bytes, json!({}));
    assert_eq!(inv.counts(), (1, 3, 5, 7));
    let d = devices(&inv);
    // Shared rack + U: one device, instances in slot order, slots grid.
    let (rack, chassis) = &d["room-aisle-r01-u10"];
    assert_eq!(rack, "room-aisle-r01");
    assert_eq!(chassis.name, "R01 U10");
    assert_eq!(chassis.instances, ["c002", "c001", "c003"]);
    assert_eq!(chassis.u_position, 10);
    let t = inv
        .templates
        .iter()
        .find(|t| t.id == chassis.template_id)
        .unwrap();
    assert_eq!(
        (t.u_height, t.slots.map(|s| (s.rows, s.cols))),
        (2, Some((2, 2)))
    );
    // Half U rounded up, with a warning naming the host.
    assert_eq!(d["g001"].1.u_position, 2);
    assert_eq!(warned(&inv, &["host g001", "rounded up to 3U"]), 1);
    // g002 has no U: stacked at the lowest free U (U1; the rear U1 device is in the R01 of
    // another room, and g001 holds U2-U4).
    assert_eq!(d["g002"].1.u_position, 1);
    assert_eq!(d["c004"].1.face, Face::Rear);
    assert_eq!(d["mgt1"].0, "rack7");
    assert_eq!(d["mgt1"].1.template_id, "mgmt-server");
    // R01 exists in two rooms: ids stay unique.
    let ids: Vec<&str> = racks(&inv).iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids.len(), 3);
    assert_eq!(warned(&inv, &["no rack found"]), 0);
}

#[test]
fn overlap_and_overflow_are_warned_and_skipped() {
    let Some(bytes) = simple_with(json!({
        "c001": {"rack_number": 1, "rack_u": 1, "hw_u_height": 2},
        "c002": {"rack_number": 1, "rack_u": 2},
        "c003": {"rack_number": 1, "rack_u": 4, "hw_u_height": 2}
    })) else {
        return;
    };
    let inv = import(&bytes, json!({"rack_height": 3}));
    assert_eq!(warned(&inv, &["c002", "overlaps"]), 1);
    assert_eq!(warned(&inv, &["c003", "does not fit"]), 1);
    // The four unplaced hosts fill `unplaced` (3U) and spill into `unplaced-2`.
    let names: Vec<&str> = racks(&inv).iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["rack1", "unplaced", "unplaced-2"]);
    assert_eq!(warned(&inv, &["`unplaced` is full"]), 1);
    assert_eq!(inv.counts(), (1, 3, 5, 5));
}

#[test]
fn disagreeing_rack_sources_are_reported() {
    let Some(bytes) = recorded("coconutshaker.list.json") else {
        return;
    };
    let mut doc: Value = serde_json::from_slice(&bytes).unwrap();
    doc["_meta"]["hostvars"]["login1"]["rack_number"] = json!(2);
    let inv = import(&serde_json::to_vec(&doc).unwrap(), json!({}));
    assert_eq!(devices(&inv)["login1"].0, "rack2");
    assert_eq!(
        warned(
            &inv,
            &["host login1", "rack rack2", "group rack_1 says rack1"]
        ),
        1
    );
}

#[test]
fn bad_options_are_errors() {
    let err = |v: Value| Options::from_config(&v).unwrap_err();
    let e = err(json!({"inventory_json": "x", "rack_hieght": 42}));
    assert!(
        e.contains("rack_hieght") && e.contains("rack_height"),
        "{e}"
    );
    assert!(err(json!({"inventory_json": "x", "inventory": "y"})).contains("only one"));
    assert!(err(json!({})).contains("inventory_json"));
    let e = err(json!({"inventory_json": "x", "rack_group_pattern": "rack_(\\d+"}));
    assert!(e.contains("invalid regex"), "{e}");
    assert!(err(json!({"inventory_json": "x", "rack_height": 0})).contains("rack_height"));
    assert!(err(json!({"inventory_json": "x", "rack_height": "tall"})).contains("rack_height"));
    assert!(err(json!({"inventory_json": "x", "instance_port": 70000})).contains("port"));
    assert!(err(json!({"inventory_json": "x", "rack_var": "labels..rack"})).contains("dotted"));
    assert!(err(json!(["inventory_json"])).contains("object"));
}

#[test]
fn every_described_option_is_accepted() {
    let d = BlueBanquise::describe();
    assert_eq!(d.name, "bluebanquise");
    for spec in &d.options {
        let mut config = json!({"inventory_json": "x"});
        let value = match spec.name.as_str() {
            "inventory_json" => json!("y"),
            "inventory" => continue,
            _ => json!(spec.default.clone().unwrap_or_else(|| "9100".into())),
        };
        config[&spec.name] = value;
        Options::from_config(&config).unwrap_or_else(|e| panic!("{}: {e}", spec.name));
    }
}

#[test]
fn run_reads_the_file_and_reports_missing_inputs() {
    let Some(dir) = fixtures() else { return };
    let path = dir.join("recorded-ansible-inventory/simple_cluster.list.json");
    let inv =
        testkit::run::<BlueBanquise>(json!({"inventory_json": path.to_str().unwrap()})).unwrap();
    assert_eq!(inv.counts(), (1, 1, 7, 7));
    assert!(inv.source.contains("simple_cluster.list.json"));
    let e =
        testkit::run::<BlueBanquise>(json!({"inventory_json": "/nonexistent.json"})).unwrap_err();
    assert!(e.contains("/nonexistent.json"), "{e}");
    let e = testkit::run::<BlueBanquise>(
        json!({"inventory": dir.join("resources/examples/simple_cluster").to_str().unwrap(),
               "ansible_inventory_command": "rackscope-no-such-ansible-inventory"}),
    )
    .unwrap_err();
    assert!(
        e.contains("ansible-core") && e.contains("inventory_json"),
        "{e}"
    );
}

#[test]
fn ansible_inventory_on_the_example_matches_the_recording() {
    let Some(dir) = fixtures() else { return };
    if Command::new("ansible-inventory")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("skipped: ansible-inventory not on PATH (pip install ansible-core to run this)");
        return;
    }
    let example = dir.join("resources/examples/simple_cluster");
    let live =
        testkit::run::<BlueBanquise>(json!({"inventory": example.to_str().unwrap()})).unwrap();
    let recorded = import(&recorded("simple_cluster.list.json").unwrap(), json!({}));
    assert_eq!(
        Inventory {
            source: String::new(),
            ..live
        },
        Inventory {
            source: String::new(),
            ..recorded
        }
    );
}

#[test]
fn never_panics_on_odd_input() {
    let options = Options::default();
    let odd = [
        "",
        "null",
        "[]",
        "{}",
        r#"{"_meta": 3}"#,
        r#"{"_meta": {"hostvars": []}}"#,
        r#"{"_meta": {"hostvars": {"a": 1}}, "g": 5}"#,
        r#"{"all": {"children": ["all", "x"]}, "x": {"children": ["all"], "hosts": ["h", 3]}}"#,
        r#"{"_meta": {"hostvars": {"h": {"rackscope": {"rack": [], "u": -1, "height": 1e308,
            "face": 3, "slot": "x", "template": {}, "site": null, "zzz": 1}}}}}"#,
        r#"{"_meta": {"hostvars": {"h": {"rack_number": 1, "rack_u": 4294967295,
            "hw_u_height": 4294967295}}}}"#,
        r#"{"_meta": {"hostvars": {"h": {"rack_number": 1, "rack_u": 1.5, "hw_u_height": 99}}}}"#,
        r#"{"_meta": {"hostvars": {"h": {"labels": {"rack": ""}, "rack_number": true}}}}"#,
        r#"{"rack_": {"hosts": ["h"]}, "_meta": {"hostvars": {"H": {}, "h": {}}}}"#,
    ];
    for s in odd {
        if let Ok(inv) = from_json(s.as_bytes(), &options) {
            check_model(&inv);
        }
    }
    for f in ["simple_cluster.list.json", "coconutshaker.list.json"] {
        let Some(bytes) = recorded(f) else { return };
        for cut in (0..bytes.len()).step_by(97) {
            let _ = from_json(&bytes[..cut], &options);
        }
    }
}

#[test]
fn natural_order() {
    let mut v = vec!["c10", "c2", "c1", "b", "c02", "c"];
    v.sort_by(|a, b| natural_cmp(a, b));
    assert_eq!(v, ["b", "c", "c1", "c02", "c2", "c10"]);
}

#[test]
fn stacked_hosts_go_around_explicit_ones() {
    let Some(bytes) = recorded("coconutshaker.list.json") else {
        return;
    };
    let mut doc: Value = serde_json::from_slice(&bytes).unwrap();
    doc["_meta"]["hostvars"]["login1"]["rack_u"] = json!(2);
    doc["_meta"]["hostvars"]["login1"]["hw_u_height"] = json!(2);
    let inv = import(&serde_json::to_vec(&doc).unwrap(), json!({}));
    let d = devices(&inv);
    let at = |h: &str| d[h].1.u_position;
    // compute1 takes U1, login1 holds U2-U3, the rest continue from U4.
    assert_eq!(
        [
            "compute1",
            "login1",
            "compute2",
            "compute3",
            "compute4",
            "management1",
            "storage1"
        ]
        .map(at),
        [1, 2, 4, 5, 6, 7, 8]
    );
    let t = inv
        .templates
        .iter()
        .find(|t| t.id == d["login1"].1.template_id)
        .unwrap();
    assert_eq!(t.u_height, 2);
    assert_eq!(warned(&inv, &["host login1", "stacked"]), 0);
}

/// A stand-in for `ansible-inventory` that behaves as ansible-core does on a source it
/// cannot parse: a warning and a phantom host with exit 0, unless the two settings that
/// turn unparsed sources into failures are set.
#[cfg(unix)]
#[test]
fn an_inventory_ansible_cannot_parse_is_an_error_not_a_phantom_host() {
    use std::os::unix::fs::PermissionsExt as _;
    let tmp = std::env::temp_dir().join(format!("bb-unparsed-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    let fake = tmp.join("ansible-inventory");
    std::fs::write(
        &fake,
        "#!/bin/sh\n\
         if [ \"$ANSIBLE_INVENTORY_UNPARSED_FAILED\" = True ] && \
            [ \"$ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED\" = True ]; then\n\
           echo '[ERROR]: Completely failed to parse inventory source' >&2; exit 1\n\
         fi\n\
         echo '[WARNING]: Unable to parse inventory source' >&2\n\
         echo '{\"_meta\":{\"hostvars\":{\"garbage\":{}}},\"all\":{\"children\":[\"ungrouped\"]},\"ungrouped\":{\"hosts\":[\"garbage\"]}}'\n",
    )
    .unwrap();
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
    let inventory = tmp.join("hosts.txt");
    std::fs::write(&inventory, "[broken\n").unwrap();
    let e = testkit::run::<BlueBanquise>(json!({"inventory": inventory.to_str().unwrap(),
               "ansible_inventory_command": fake.to_str().unwrap()}))
    .unwrap_err();
    std::fs::remove_dir_all(&tmp).unwrap();
    assert!(e.contains("failed to parse inventory source"), "{e}");
}
