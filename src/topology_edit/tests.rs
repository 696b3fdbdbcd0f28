//! `plan` on copies of both topology layouts: each change applied, loaded again, its effect
//! seen in the `Topology` and its diff no larger than the edited item.

use std::path::{Path, PathBuf};

use rackscope_core::Config;
use rackscope_core::model::topology::Face;

use super::*;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), &target).unwrap();
        }
    }
}

/// A temporary copy of a fixture configuration.
struct Fixture {
    dir: tempfile::TempDir,
}

const SEGMENTED: &str = "config/demo-small";
const BASE: &str = "tests/fixtures/base";
const MONOLITHIC: &str = "tests/fixtures/health";

impl Fixture {
    fn new(rel: &str) -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        copy_dir(&root().join(rel), dir.path());
        Fixture { dir }
    }

    fn config(&self) -> Config {
        let loaded =
            rackscope_core::load_with_env(&self.dir.path().join("app.yaml"), std::iter::empty());
        assert!(
            loaded.is_usable(),
            "{:?}",
            loaded.diagnostics.iter().collect::<Vec<_>>()
        );
        loaded.config
    }

    fn plan(&self, op: Op) -> Vec<Change> {
        plan(&self.config(), &op).unwrap_or_else(|e| panic!("{op:?}: {e}"))
    }

    /// Applies the changes (after checking that each `before` is the file as it is) and loads
    /// the result.
    fn apply(&self, changes: &[Change]) -> Config {
        for c in changes {
            let now = std::fs::read_to_string(&c.path).unwrap_or_default();
            assert_eq!(now, c.before, "{}", c.path.display());
            if c.delete {
                std::fs::remove_file(&c.path).unwrap();
            } else {
                std::fs::create_dir_all(c.path.parent().unwrap()).unwrap();
                std::fs::write(&c.path, &c.after).unwrap();
            }
        }
        self.config()
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }
}

/// The length of the longest common subsequence of lines.
fn lcs(a: &[&str], b: &[&str]) -> usize {
    let mut row = vec![0usize; b.len() + 1];
    for x in a {
        let mut diag = 0;
        for (j, y) in b.iter().enumerate() {
            let up = row[j + 1];
            row[j + 1] = if x == y {
                diag + 1
            } else {
                row[j + 1].max(row[j])
            };
            diag = up;
        }
    }
    row[b.len()]
}

/// The diff is minimal: every original line but the `dropped` ones of the edited item is
/// still there, in order, and at most `added` lines are new.
fn minimal(c: &Change, dropped: usize, added: usize) {
    let before: Vec<&str> = c.before.lines().collect();
    let after: Vec<&str> = c.after.lines().collect();
    let kept = lcs(&before, &after);
    assert!(
        before.len() - kept <= dropped && after.len() - kept <= added,
        "{}: {} lines dropped (≤ {dropped}), {} added (≤ {added})\n--- before\n{}\n--- after\n{}",
        c.path.display(),
        before.len() - kept,
        after.len() - kept,
        c.before,
        c.after
    );
}

fn change<'c>(changes: &'c [Change], ends_with: &str) -> &'c Change {
    changes
        .iter()
        .find(|c| c.path.ends_with(ends_with))
        .unwrap_or_else(|| panic!("no change to {ends_with} in {changes:#?}"))
}

fn add_device(rack: &str, id: &str, template: &str, u: u32, face: Option<&str>) -> Op {
    Op::AddDevice {
        rack: rack.into(),
        id: id.into(),
        name: Some(format!("{id} name")),
        template: template.into(),
        u,
        face: face.map(str::to_string),
    }
}

fn move_device(rack: &str, device: &str, to: &str, u: u32, face: Option<&str>) -> Op {
    Op::MoveDevice {
        rack: rack.into(),
        device: device.into(),
        to_rack: to.into(),
        u,
        face: face.map(str::to_string),
    }
}

#[test]
fn a_device_is_added_at_its_u_in_both_layouts() {
    for (fixture, rack, template, file) in [
        (SEGMENTED, "rack-a01", "generic-1u-server", "rack-a01.yaml"),
        (MONOLITHIC, "r02", "switch", "topology.yaml"),
    ] {
        let f = Fixture::new(fixture);
        let changes = f.plan(add_device(rack, "new-1", template, 20, Some("rear")));
        assert_eq!(changes.len(), 1);
        minimal(change(&changes, file), 0, 5);
        let config = f.apply(&changes);
        let d = config.topology.device_in_rack(rack, "new-1").unwrap();
        assert_eq!(
            (d.u_position, d.face, d.name.as_str()),
            (20, Face::Rear, "new-1 name")
        );
        assert!(
            changes[0].after.contains("  u_position: 20\n"),
            "a number stays plain"
        );
    }
}

#[test]
fn a_device_moves_between_rack_files_with_its_fields() {
    let f = Fixture::new(SEGMENTED);
    let changes = f.plan(move_device("rack-a02", "a02-u01", "rack-b01", 30, None));
    assert_eq!(changes.len(), 2);
    minimal(change(&changes, "rack-a02.yaml"), 10, 0);
    minimal(change(&changes, "rack-b01.yaml"), 0, 10);
    let config = f.apply(&changes);
    let topo = &config.topology;
    assert!(topo.device_in_rack("rack-a02", "a02-u01").is_none());
    let d = topo.device_in_rack("rack-b01", "a02-u01").unwrap();
    assert_eq!((d.u_position, d.face), (30, Face::Front));
    assert_eq!(d.name, "compute017-compute020");
    let slots: Vec<(u32, &str)> = topo
        .device_instances(d)
        .iter()
        .map(|i| (i.slot, i.name.as_str()))
        .collect();
    assert_eq!(
        slots,
        [
            (1, "compute017"),
            (2, "compute018"),
            (3, "compute019"),
            (4, "compute020")
        ]
    );
}

#[test]
fn a_device_moves_within_its_rack_and_turns() {
    let f = Fixture::new(SEGMENTED);
    let changes = f.plan(move_device(
        "rack-a01",
        "a01-u16",
        "rack-a01",
        30,
        Some("rear"),
    ));
    assert_eq!(changes.len(), 1);
    minimal(&changes[0], 2, 2);
    let config = f.apply(&changes);
    let d = config
        .topology
        .device_in_rack("rack-a01", "a01-u16")
        .unwrap();
    assert_eq!((d.u_position, d.face), (30, Face::Rear));
    // Nothing to do is no change at all.
    assert!(
        f.plan(move_device("rack-a01", "a01-u16", "rack-a01", 30, None))
            .is_empty()
    );
}

#[test]
fn a_flow_style_device_moves_in_a_single_file_topology() {
    let f = Fixture::new(MONOLITHIC);
    let changes = f.plan(move_device("r01", "chassis-1", "r03", 20, Some("rear")));
    assert_eq!(changes.len(), 1);
    minimal(&changes[0], 1, 10);
    let config = f.apply(&changes);
    let topo = &config.topology;
    assert!(topo.device_in_rack("r01", "chassis-1").is_none());
    let d = topo.device_in_rack("r03", "chassis-1").unwrap();
    assert_eq!((d.u_position, d.face), (20, Face::Rear));
    let names: Vec<&str> = topo
        .device_instances(d)
        .iter()
        .map(|i| i.name.as_str())
        .collect();
    assert_eq!(names, ["node.1", "a+b", "n03", "n04"]);
}

#[test]
fn a_device_is_removed_in_both_layouts() {
    for (fixture, rack, device, dropped) in [
        (SEGMENTED, "rack-a01", "a01-u05", 6),
        (MONOLITHIC, "r01", "sw-1", 1),
    ] {
        let f = Fixture::new(fixture);
        let changes = f.plan(Op::RemoveDevice {
            rack: rack.into(),
            device: device.into(),
        });
        assert_eq!(changes.len(), 1);
        minimal(&changes[0], dropped, 0);
        let config = f.apply(&changes);
        assert!(config.topology.device_in_rack(rack, device).is_none());
        assert!(config.topology.rack(rack).is_some());
    }
}

#[test]
fn racks_are_added_to_aisles_and_rooms() {
    // Segmented: a reference in aisle.yaml and a rack file of its own.
    let f = Fixture::new(SEGMENTED);
    let changes = f.plan(Op::AddRack {
        aisle: "aisle-a".into(),
        id: "rack-a04".into(),
        name: Some("Compute Rack A04".into()),
        template: Some("rack-42u-air".into()),
    });
    assert_eq!(changes.len(), 2);
    minimal(change(&changes, "aisle.yaml"), 0, 1);
    let file = change(&changes, "racks/rack-a04.yaml");
    assert_eq!(file.before, "");
    assert_eq!(
        file.after,
        "id: rack-a04\nname: Compute Rack A04\ntemplate_id: rack-42u-air\ndevices: []\n"
    );
    let config = f.apply(&changes);
    let topo = &config.topology;
    let rack = topo.rack("rack-a04").unwrap();
    assert_eq!(topo.aisles[rack.aisle.unwrap()].id, "aisle-a");
    assert_eq!(rack.u_height, 42);
    // A device goes into the new, empty rack.
    let changes = f.plan(add_device(
        "rack-a04",
        "a04-u01",
        "generic-1u-server",
        1,
        None,
    ));
    let config = f.apply(&changes);
    assert!(
        config
            .topology
            .device_in_rack("rack-a04", "a04-u01")
            .is_some()
    );

    // A standalone rack, named by its room.
    let changes = f.plan(Op::AddRack {
        aisle: "lab-room".into(),
        id: "rack-s02".into(),
        name: None,
        template: None,
    });
    minimal(change(&changes, "room.yaml"), 0, 1);
    let config = f.apply(&changes);
    let rack = config.topology.rack("rack-s02").unwrap();
    assert!(rack.aisle.is_none());

    // Single file: an inline rack.
    let f = Fixture::new(MONOLITHIC);
    let changes = f.plan(Op::AddRack {
        aisle: "aisle-2".into(),
        id: "r04".into(),
        name: Some("Rack 04".into()),
        template: Some("rack-plain".into()),
    });
    assert_eq!(changes.len(), 1);
    minimal(&changes[0], 0, 3);
    let config = f.apply(&changes);
    let rack = config.topology.rack("r04").unwrap();
    assert_eq!(config.topology.aisles[rack.aisle.unwrap()].id, "aisle-2");
}

#[test]
fn racks_are_removed_with_their_file_or_their_item() {
    let f = Fixture::new(SEGMENTED);
    let changes = f.plan(Op::RemoveRack {
        rack: "rack-a02".into(),
    });
    assert_eq!(changes.len(), 2);
    minimal(change(&changes, "aisle.yaml"), 1, 0);
    assert!(change(&changes, "rack-a02.yaml").delete);
    let config = f.apply(&changes);
    assert!(config.topology.rack("rack-a02").is_none());
    assert!(config.topology.rack("rack-a03").is_some());
    // The only standalone rack: the list is left `[]`.
    let changes = f.plan(Op::RemoveRack {
        rack: "rack-s01".into(),
    });
    minimal(change(&changes, "room.yaml"), 2, 1);
    let config = f.apply(&changes);
    assert!(config.topology.rack("rack-s01").is_none());

    let f = Fixture::new(MONOLITHIC);
    let changes = f.plan(Op::RemoveRack { rack: "r01".into() });
    minimal(&changes[0], 7, 0);
    let config = f.apply(&changes);
    assert!(config.topology.rack("r01").is_none());
    assert!(config.topology.rack("r02").is_some());
}

#[test]
fn rooms_and_aisles_are_created() {
    // Rooms discovered from the directory: a room file only.
    let f = Fixture::new(SEGMENTED);
    let changes = f.plan(Op::AddRoom {
        site: "uga-lab".into(),
        id: "lab-room-2".into(),
        name: Some("Second room".into()),
    });
    assert_eq!(changes.len(), 1);
    assert_eq!(
        changes[0].after,
        "id: lab-room-2\nname: Second room\nsite_id: uga-lab\naisles: []\n"
    );
    let config = f.apply(&changes);
    assert_eq!(
        config.topology.room("lab-room-2").unwrap().name,
        "Second room"
    );
    // An aisle in it: listed in room.yaml, with an aisle file; then a rack in the aisle.
    let changes = f.plan(Op::AddAisle {
        room: "lab-room-2".into(),
        id: "aisle-c".into(),
        name: Some("Aisle C".into()),
    });
    assert_eq!(changes.len(), 2);
    // `aisles: []` opens into a block list.
    minimal(change(&changes, "lab-room-2/room.yaml"), 1, 3);
    let config = f.apply(&changes);
    let aisle = config.topology.aisle("aisle-c").unwrap();
    assert_eq!(config.topology.rooms[aisle.room].id, "lab-room-2");
    let changes = f.plan(Op::AddRack {
        aisle: "aisle-c".into(),
        id: "rack-c01".into(),
        name: None,
        template: None,
    });
    let config = f.apply(&changes);
    assert!(config.topology.rack("rack-c01").is_some());

    // Rooms listed in sites.yaml: the listing gets the new room too.
    let f = Fixture::new(BASE);
    let changes = f.plan(Op::AddRoom {
        site: "dc1".into(),
        id: "room2".into(),
        name: None,
    });
    assert_eq!(changes.len(), 2);
    minimal(change(&changes, "sites.yaml"), 0, 1);
    let config = f.apply(&changes);
    assert!(config.topology.room("room2").is_some());
    let changes = f.plan(Op::AddAisle {
        room: "room1".into(),
        id: "aisle2".into(),
        name: None,
    });
    minimal(change(&changes, "room1/room.yaml"), 0, 1);
    let config = f.apply(&changes);
    assert!(config.topology.aisle("aisle2").is_some());

    // Single file: inline entries.
    let f = Fixture::new(MONOLITHIC);
    let changes = f.plan(Op::AddRoom {
        site: "dc2".into(),
        id: "room-c".into(),
        name: Some("Room C".into()),
    });
    minimal(&changes[0], 0, 2);
    f.apply(&changes);
    let changes = f.plan(Op::AddAisle {
        room: "room-c".into(),
        id: "aisle-c1".into(),
        name: None,
    });
    minimal(&changes[0], 0, 2);
    let config = f.apply(&changes);
    let aisle = config.topology.aisle("aisle-c1").unwrap();
    assert_eq!(config.topology.rooms[aisle.room].id, "room-c");
}

#[test]
fn a_racks_template_is_changed_or_removed() {
    let f = Fixture::new(SEGMENTED);
    let changes = f.plan(Op::SetRackTemplate {
        rack: "rack-a01".into(),
        template: Some("rack-42u-network".into()),
    });
    minimal(&changes[0], 1, 1);
    let config = f.apply(&changes);
    let rack = config.topology.rack("rack-a01").unwrap();
    assert_eq!(rack.template_id.as_deref(), Some("rack-42u-network"));
    let changes = f.plan(Op::SetRackTemplate {
        rack: "rack-a01".into(),
        template: None,
    });
    minimal(&changes[0], 1, 0);
    let config = f.apply(&changes);
    assert_eq!(config.topology.rack("rack-a01").unwrap().template_id, None);

    let f = Fixture::new(MONOLITHIC);
    let changes = f.plan(Op::SetRackTemplate {
        rack: "r10".into(),
        template: Some("rack-pdu".into()),
    });
    minimal(&changes[0], 1, 1);
    let config = f.apply(&changes);
    let rack = config.topology.rack("r10").unwrap();
    assert_eq!(rack.template_id.as_deref(), Some("rack-pdu"));
}

#[test]
fn refusals_come_before_any_text() {
    let f = Fixture::new(SEGMENTED);
    let config = f.config();
    let refused = |op: Op| plan(&config, &op).expect_err(&format!("{op:?}"));
    let cases: Vec<(Op, &str)> = vec![
        (
            add_device("rack-zz", "x", "generic-1u-server", 20, None),
            "UnknownId",
        ),
        (
            add_device("rack-a01", "a01-u02", "generic-1u-server", 20, None),
            "Exists",
        ),
        // Used in another rack: a form never makes a duplicate.
        (
            add_device("rack-a01", "b01-u20", "generic-1u-server", 20, None),
            "Exists",
        ),
        (
            add_device("rack-a01", "x", "generic-1u-server", 43, None),
            "OutOfRack",
        ),
        (
            add_device("rack-a01", "x", "generic-1u-server", 0, None),
            "OutOfRack",
        ),
        (
            add_device("rack-a01", "x", "generic-2u-quad", 42, None),
            "OutOfRack",
        ),
        (
            add_device("rack-a01", "x", "generic-1u-server", 5, None),
            "Overlap",
        ),
        (
            add_device("rack-a01", "x", "generic-1u-server", 5, Some("front")),
            "Overlap",
        ),
        (
            add_device("rack-a01", "x", "generic-2u-quad", 16, None),
            "Overlap",
        ),
        (
            add_device("rack-a01", "x", "no-such-template", 20, None),
            "UnknownTemplate",
        ),
        (
            add_device("rack-a01", "x", "generic-1u-server", 20, Some("side")),
            "Invalid",
        ),
        (
            move_device("rack-a01", "a01-u01", "rack-a01", 2, None),
            "Overlap",
        ),
        (
            move_device("rack-a01", "nope", "rack-b01", 30, None),
            "UnknownId",
        ),
        (
            move_device("rack-a01", "a01-u01", "rack-zz", 30, None),
            "UnknownId",
        ),
        (
            move_device("rack-a02", "a02-u01", "rack-b01", 42, None),
            "OutOfRack",
        ),
        (
            Op::AddRack {
                aisle: "aisle-a".into(),
                id: "rack-a01".into(),
                name: None,
                template: None,
            },
            "Exists",
        ),
        (
            Op::AddRack {
                aisle: "aisle-zz".into(),
                id: "rack-new".into(),
                name: None,
                template: None,
            },
            "UnknownId",
        ),
        (
            Op::AddRack {
                aisle: "aisle-a".into(),
                id: "rack-new".into(),
                name: None,
                template: Some("no-such".into()),
            },
            "UnknownTemplate",
        ),
        (
            Op::AddRack {
                aisle: "aisle-a".into(),
                id: "../escape".into(),
                name: None,
                template: None,
            },
            "Invalid",
        ),
        (
            Op::SetRackTemplate {
                rack: "rack-a01".into(),
                template: Some("no-such".into()),
            },
            "UnknownTemplate",
        ),
        (
            Op::RemoveRack {
                rack: "rack-zz".into(),
            },
            "UnknownId",
        ),
        (
            Op::AddRoom {
                site: "uga-lab".into(),
                id: "lab-room".into(),
                name: None,
            },
            "Exists",
        ),
        (
            Op::AddAisle {
                room: "lab-room".into(),
                id: "aisle-b".into(),
                name: None,
            },
            "Exists",
        ),
    ];
    for (op, want) in cases {
        let e = refused(op.clone());
        let got = format!("{e:?}");
        assert!(got.starts_with(want), "{op:?}: {got}");
    }
    // The rear of a front-only U is free: the overlap rule is per face, as in validation.
    assert!(
        plan(
            &config,
            &add_device("rack-a01", "x", "generic-1u-server", 5, Some("rear"))
        )
        .is_ok()
    );
}

#[test]
fn the_overlap_error_names_the_device_in_the_way() {
    let f = Fixture::new(MONOLITHIC);
    let e = plan(&f.config(), &add_device("r01", "x", "switch", 2, None)).unwrap_err();
    match e {
        TopologyEditError::Overlap { with, face, .. } => {
            assert_eq!((with.as_str(), face), ("chassis-1", "front"))
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_device_the_editor_cannot_copy_is_refused_with_what_to_do() {
    let f = Fixture::new(BASE);
    let r01 = f.path("topology/datacenters/dc1/rooms/room1/aisles/aisle1/racks/r01.yaml");
    let text = std::fs::read_to_string(&r01).unwrap();
    let text = text.replace(
        "  instance: node01\n",
        "  labels: &l {role: x}\n  instance: node01\n",
    );
    std::fs::write(&r01, text).unwrap();
    let e = plan(&f.config(), &move_device("r01", "srv01", "r02", 20, None)).unwrap_err();
    match e {
        TopologyEditError::Unsupported(msg) => {
            assert!(msg.contains("by hand") && msg.contains("r01.yaml"), "{msg}")
        }
        other => panic!("{other:?}"),
    }
}
