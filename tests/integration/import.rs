//! `rackscope import` end to end: each importer library loaded by the real binary, on the
//! real recorded data of its source; the output checked, re-imported byte for byte, diffed
//! with --dry-run, and protected from overwriting; the loader against broken plugins.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Output;

use crate::support;

fn import(args: &[&str]) -> Output {
    support::bin().arg("import").args(args).output().unwrap()
}

fn ok(out: &Output) -> String {
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(
        out.status.success(),
        "import failed\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    format!("{stdout}{stderr}")
}

fn failed(out: &Output) -> String {
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!out.status.success(), "expected a failure, got:\n{text}");
    text
}

/// Every file under `dir` with its bytes (a symbolic link as its target, not followed).
fn tree(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            let (p, kind) = (e.path(), e.file_type().unwrap());
            if kind.is_symlink() {
                let target = std::fs::read_link(&p).unwrap();
                out.insert(
                    p.strip_prefix(dir).unwrap().to_path_buf(),
                    format!("-> {}", target.display()).into_bytes(),
                );
            } else if kind.is_dir() {
                stack.push(p);
            } else {
                out.insert(
                    p.strip_prefix(dir).unwrap().to_path_buf(),
                    std::fs::read(&p).unwrap(),
                );
            }
        }
    }
    out
}

/// Loads the output like `rackscope check` and returns (sites, racks, devices, instances).
fn counts(out: &Path) -> (usize, usize, usize, usize) {
    let loaded = support::load(&out.join("app.yaml"));
    let errors: Vec<_> = loaded.diagnostics.errors().map(|d| d.to_string()).collect();
    assert!(errors.is_empty(), "{errors:#?}");
    let check = support::bin()
        .arg("check")
        .arg(out.join("app.yaml"))
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stdout)
    );
    let t = &loaded.config.topology;
    (
        t.sites.len(),
        t.racks.len(),
        t.devices.len(),
        t.instances.len(),
    )
}

fn device_at(out: &Path, id: &str) -> (String, u32, Vec<String>) {
    let loaded = support::load(&out.join("app.yaml"));
    let t = &loaded.config.topology;
    let d = t
        .devices
        .iter()
        .find(|d| d.id == id)
        .unwrap_or_else(|| panic!("no device {id}"));
    let names = t
        .device_instances(d)
        .iter()
        .map(|i| i.name.clone())
        .collect();
    (t.racks[d.rack].id.clone(), d.u_position, names)
}

#[test]
fn racksdb_database_imports_and_reimports_identically() {
    let Some(db) = support::shared("importers/racksdb/examples/db") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("conf");
    let path = format!("path={}", db.display());
    let first = ok(&import(&[
        "racksdb",
        "--set",
        &path,
        "--out",
        out.to_str().unwrap(),
    ]));
    assert!(first.contains("racks: 101 added"), "{first}");
    // RacksDB's own figures: 2 datacenters, 101 racks, 163 items (130 nodes, 17 storage,
    // 14 network, 2 misc); half-width nodes sharing a U make one device of two instances.
    let (sites, racks, devices, instances) = counts(&out);
    assert_eq!((sites, racks, instances), (2, 101, 163));
    assert!(devices < instances, "{devices}");
    assert_eq!(
        device_at(&out, "mecn0061"),
        (
            "r1-a02".into(),
            3,
            (61..=67).map(|i| format!("mecn{i:04}")).collect()
        )
    );

    // The user gives a generated template its checks; re-imports keep them.
    let template = out.join("templates/devices/racksdb/sm220bt.yaml");
    let mut text = std::fs::read_to_string(&template).unwrap();
    text.push_str("  checks: [node_up]\n");
    std::fs::write(&template, &text).unwrap();

    let before = tree(&out);
    let again = ok(&import(&[
        "racksdb",
        "--set",
        &path,
        "--out",
        out.to_str().unwrap(),
    ]));
    assert!(again.contains("writes 0, removes 0"), "{again}");
    assert_eq!(before, tree(&out), "a second import changed files");

    // A narrower import, dry-run: the report names what would go, and nothing is touched.
    let dry = ok(&import(&[
        "racksdb",
        "--set",
        &path,
        "--set",
        "datacenter=paris",
        "--out",
        out.to_str().unwrap(),
        "--dry-run",
    ]));
    assert!(
        dry.contains("racks: 0 added, 48 removed, 0 changed"),
        "{dry}"
    );
    assert!(dry.contains("  - racka01"), "{dry}");
    assert_eq!(before, tree(&out), "--dry-run wrote something");
}

#[test]
fn files_the_importer_did_not_write_are_not_overwritten_without_force() {
    let Some(db) = support::shared("importers/racksdb/examples/db") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path();
    std::fs::create_dir_all(out.join("topology")).unwrap();
    let mine = "sites:\n- id: handmade\n  name: Hand made\n";
    std::fs::write(out.join("topology/sites.yaml"), mine).unwrap();
    let path = format!("path={}", db.display());
    let args = ["racksdb", "--set", &path, "--out", out.to_str().unwrap()];
    let err = failed(&import(&args));
    assert!(
        err.contains("did not write") && err.contains("topology/sites.yaml"),
        "{err}"
    );
    assert_eq!(
        std::fs::read_to_string(out.join("topology/sites.yaml")).unwrap(),
        mine
    );
    assert!(
        !out.join("topology/datacenters").exists(),
        "files were written despite the refusal"
    );

    let mut forced = args.to_vec();
    forced.push("--force");
    ok(&import(&forced));
    assert_eq!(counts(out).1, 101);
    // No temporary files are left behind by the atomic writes.
    assert!(
        tree(out)
            .keys()
            .all(|p| !p.to_string_lossy().contains(".tmp-"))
    );
}

#[test]
fn bluebanquise_inventory_imports_with_its_rack_group() {
    let Some(json) = support::shared(
        "importers/bluebanquise/recorded-ansible-inventory/coconutshaker.list.json",
    ) else {
        return;
    };
    let inventory: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let hosts = inventory["_meta"]["hostvars"].as_object().unwrap().len();
    let tmp = tempfile::tempdir().unwrap();
    let text = ok(&import(&[
        "bluebanquise",
        "--set",
        &format!("inventory_json={}", json.display()),
        "--set",
        "instance_port=9100",
        "--out",
        tmp.path().to_str().unwrap(),
    ]));
    // No physical model: every assumption is said, one warning per unplaced host.
    assert!(
        text.contains("warning: bluebanquise: host mgt1: no rack found"),
        "{text}"
    );
    let (sites, racks, devices, instances) = counts(tmp.path());
    assert_eq!((sites, devices, instances), (1, hosts, hosts));
    assert_eq!(racks, 2, "rack_1 and the default rack");
    let (rack, u, names) = device_at(tmp.path(), "compute1");
    assert_eq!(
        (rack.as_str(), u, names),
        ("rack1", 1, vec!["compute1:9100".to_owned()])
    );
}

#[test]
fn an_import_that_would_not_load_writes_nothing() {
    let Some(json) = support::shared(
        "importers/bluebanquise/recorded-ansible-inventory/coconutshaker.list.json",
    ) else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("conf");
    // The user's own template already uses an id the import generates.
    let mine = "templates:\n- id: equipment_c_redhat_7\n  name: Mine\n  u_height: 1\n";
    std::fs::create_dir_all(out.join("templates/devices")).unwrap();
    std::fs::write(out.join("templates/devices/mine.yaml"), mine).unwrap();
    let before = tree(&out);
    let err = failed(&import(&[
        "bluebanquise",
        "--set",
        &format!("inventory_json={}", json.display()),
        "--out",
        out.to_str().unwrap(),
    ]));
    assert!(
        err.contains("nothing was written") && err.contains("equipment_c_redhat_7"),
        "{err}"
    );
    assert!(
        !err.contains("rackscope-import-"),
        "the trial directory leaks into messages: {err}"
    );
    assert_eq!(before, tree(&out));
    // The trial copy is gone.
    let left: Vec<_> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left, [std::ffi::OsString::from("conf")]);
}

#[test]
fn netbox_imports_through_its_rest_api() {
    let (Some(pristine), Some(augmented)) = (
        support::shared("importers/netbox/recorded-api-v4.6.8"),
        support::shared("importers/netbox/recorded-api-v4.6.8-augmented"),
    ) else {
        return;
    };
    let replay = rackscope_importer_netbox::replay::serve(&[augmented, pristine]).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let cfg = tmp.path().join("netbox.yaml");
    std::fs::write(
        &cfg,
        format!(
            "url: {}\ntoken: {}\npage_size: 50\n",
            replay.url,
            rackscope_importer_netbox::replay::TOKEN_V2
        ),
    )
    .unwrap();
    let out = tmp.path().join("conf");
    ok(&import(&[
        "netbox",
        "--config",
        cfg.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]));
    // Pagination was followed: devices came in pages of 50, with the v2 token.
    let seen = replay.seen();
    assert!(
        seen.iter()
            .any(|s| s.target.contains("/api/dcim/devices/") && s.target.contains("offset=50")),
        "{seen:?}"
    );
    assert!(seen.iter().all(|s| {
        s.authorization
            .as_deref()
            .is_some_and(|a| a.starts_with("Bearer nbt_"))
    }));
    let (sites, racks, devices, instances) = counts(&out);
    assert_eq!((sites, racks), (17, 42));
    assert!(devices > 0 && instances > 0);
    // The multi-node chassis: its bay children are its instances, in bay order.
    let (rack, u, names) = device_at(&out, "flex-chassis01");
    assert!(rack.ends_with("r201"), "{rack}");
    assert_eq!(u, 9);
    assert_eq!(
        names,
        ["compute001", "compute002", "compute003", "compute004"]
    );

    // A wrong token: the error names the HTTP status, and nothing is written.
    let bad = tmp.path().join("bad");
    let err = failed(&import(&[
        "netbox",
        "--set",
        &format!("url={}", replay.url),
        "--set",
        "token=wrong",
        "--out",
        bad.to_str().unwrap(),
    ]));
    assert!(err.contains("403"), "{err}");
    assert!(!bad.exists());
}

#[test]
fn broken_plugins_give_clear_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().to_str().unwrap();
    // Named outside the importer namespace, so `--list` never shows them: given by path.
    let lib = |name: &str| {
        let bin = std::path::PathBuf::from(env!("CARGO_BIN_EXE_rackscope"));
        let file = format!(
            "{}rackscope_test_plugin_{name}{}",
            std::env::consts::DLL_PREFIX,
            std::env::consts::DLL_SUFFIX
        );
        let path = bin.parent().unwrap().join("deps").join(file);
        assert!(path.is_file(), "{} was not built", path.display());
        path.to_str().unwrap().to_owned()
    };
    let cases = [
        (
            lib("broken_abi"),
            "built for importer ABI version 99, but this rackscope speaks version 1",
        ),
        (
            lib("broken_symbol"),
            "not a Rackscope importer: symbol `rackscope_importer_run` is missing",
        ),
        (
            lib("broken_panic"),
            "run failed: the importer panicked: index out of range",
        ),
        (lib("broken_json"), "run returned invalid JSON"),
        (
            "no-such-importer".to_owned(),
            "no importer `no-such-importer`: looked for librackscope_importer_no_such_importer",
        ),
    ];
    for (name, want) in cases {
        let err = failed(&import(&[&name, "--out", out]));
        assert!(err.contains(want), "{name}: {err}");
    }
    // The host survived each of them and wrote nothing.
    assert!(tree(tmp.path()).is_empty());
    // A library that is not one at all.
    let junk = tmp.path().join("librackscope_importer_junk.so");
    std::fs::write(&junk, b"not an ELF file").unwrap();
    let err = failed(&import(&[junk.to_str().unwrap(), "--out", out]));
    assert!(err.contains("cannot load the library"), "{err}");
}

#[test]
fn list_shows_the_three_importers_and_their_options() {
    let text = ok(&import(&["--list"]));
    assert!(!text.contains("broken"), "test plugins are listed: {text}");
    for name in ["netbox", "racksdb", "bluebanquise"] {
        assert!(text.contains(&format!("{name} 0.1.0")), "{text}");
    }
    assert!(text.contains("instance_port"), "{text}");
}

fn racksdb_args<'a>(path: &'a str, out: &'a Path, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["racksdb", "--set", path, "--out", out.to_str().unwrap()];
    args.extend_from_slice(extra);
    args
}

/// Finding 15 (and 16 for the import's walks): a marked file reached through a linked
/// directory is never removed, a layout directory that is a link is never written through,
/// and self-links in the tree do not make the import walk forever.
#[cfg(unix)]
#[test]
fn links_never_lead_the_import_out_of_its_directory() {
    use std::os::unix::fs::symlink;
    let Some(db) = support::shared("importers/racksdb/examples/db") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("conf");
    let path = format!("path={}", db.display());
    ok(&import(&racksdb_args(&path, &out, &[])));

    // Marked files outside --out, reachable through a link that looks like a site.
    let outside = tmp.path().join("outside");
    support::copy_dir(&out.join("topology/datacenters/paris"), &outside);
    symlink(&outside, out.join("topology/datacenters/ghost")).unwrap();
    // Self-links: a walk that follows them visits 2^40 paths while memory grows. (Placed
    // where the import walks and the loader does not: the loader's own walks of topology/
    // and templates/ are the loader's to bound.)
    for dir in [".", "notes"] {
        std::fs::create_dir_all(out.join(dir)).unwrap();
        symlink(".", out.join(dir).join("loop1")).unwrap();
        symlink(".", out.join(dir).join("loop2")).unwrap();
    }
    let outside_before = tree(&outside);
    let text = ok(&import(&racksdb_args(&path, &out, &["--prune"])));
    assert!(text.contains("removes 0"), "{text}");
    assert_eq!(
        outside_before,
        tree(&outside),
        "a file outside --out changed"
    );

    // A directory of the layout that is a link: refused before anything is written.
    let moved = tmp.path().join("moved");
    std::fs::rename(out.join("topology/datacenters/paris"), &moved).unwrap();
    symlink(&moved, out.join("topology/datacenters/paris")).unwrap();
    let (moved_before, out_before) = (tree(&moved), tree(&out));
    let err = failed(&import(&racksdb_args(&path, &out, &["--force", "--prune"])));
    assert!(
        err.contains("symbolic link") && err.contains("datacenters/paris"),
        "{err}"
    );
    assert_eq!(moved_before, tree(&moved));
    assert_eq!(out_before, tree(&out));
}

/// Finding 15: an operator's copy inside --out, even one at paths of the layout with the
/// importer's mark, is listed by --dry-run and left alone without --prune.
#[test]
fn an_operators_copy_inside_out_is_left_alone_without_prune() {
    let Some(db) = support::shared("importers/racksdb/examples/db") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("conf");
    let path = format!("path={}", db.display());
    ok(&import(&racksdb_args(&path, &out, &[])));
    // A backup of the whole topology beside it, and one of a site inside the layout.
    support::copy_dir(&out.join("topology"), &out.join("backup/topology"));
    support::copy_dir(
        &out.join("topology/datacenters/paris"),
        &out.join("topology/datacenters/paris-2024"),
    );
    let copied = tree(&out.join("topology/datacenters/paris-2024")).len();
    assert!(copied > 10, "{copied}");
    let before = tree(&out);

    let dry = ok(&import(&racksdb_args(&path, &out, &["--dry-run"])));
    assert!(dry.contains("removes 0"), "{dry}");
    assert!(
        dry.contains(&format!("leaves {copied} (needs --prune)")),
        "{dry}"
    );
    assert!(
        dry.contains(
            "  leave topology/datacenters/paris-2024/rooms/paris-noisy/room.yaml (not written by the previous import: --prune removes it)"
        ),
        "{dry}"
    );
    assert!(!dry.contains("backup/"), "{dry}");
    assert_eq!(before, tree(&out), "--dry-run wrote something");

    let text = ok(&import(&racksdb_args(&path, &out, &[])));
    assert!(text.contains("removes 0"), "{text}");
    assert!(text.contains("--prune to remove them"), "{text}");
    assert_eq!(before, tree(&out), "the copies were touched");

    let pruned = ok(&import(&racksdb_args(&path, &out, &["--prune"])));
    assert!(pruned.contains(&format!("removes {copied}")), "{pruned}");
    assert!(
        !out.join("topology/datacenters/paris-2024/rooms/paris-noisy/room.yaml")
            .exists()
    );
    // Outside the layout's paths, even --prune removes nothing.
    let backup = out.join("backup/topology");
    assert_eq!(
        tree(&backup),
        before
            .iter()
            .filter_map(|(p, b)| Some((
                p.strip_prefix("backup/topology").ok()?.to_path_buf(),
                b.clone()
            )))
            .collect()
    );
}

/// Finding 19: an import that would remove most of the devices stops unless forced, and
/// --dry-run says it would.
#[test]
fn a_mass_removal_is_refused_unless_forced() {
    let Some(db) = support::shared("importers/racksdb/examples/db") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("conf");
    let path = format!("path={}", db.display());
    ok(&import(&racksdb_args(&path, &out, &[])));
    let (_, racks, devices, _) = counts(&out);
    let before = tree(&out);
    let narrow = ["--set", "datacenter=london"];
    let err = failed(&import(&racksdb_args(&path, &out, &narrow)));
    assert!(
        err.contains(&format!("of the {devices} devices")) && err.contains("--force-removal"),
        "{err}"
    );
    assert!(err.contains("nothing was written"), "{err}");
    assert_eq!(before, tree(&out));
    let dry = ok(&import(&racksdb_args(
        &path,
        &out,
        &["--set", "datacenter=london", "--dry-run"],
    )));
    assert!(dry.contains("would stop: the import would remove"), "{dry}");
    // A higher threshold or --force-removal lets it through.
    let mut forced = narrow.to_vec();
    forced.push("--force-removal");
    ok(&import(&racksdb_args(&path, &out, &forced)));
    let (_, racks_after, devices_after, _) = counts(&out);
    assert!(racks_after < racks && devices_after * 2 < devices);
}

/// A NetBox replay whose answers in `overrides` (file name → JSON) replace the recorded ones.
fn netbox(
    tmp: &Path,
    overrides: &[(&str, serde_json::Value)],
) -> Option<(rackscope_importer_netbox::replay::Replay, PathBuf)> {
    let pristine = support::shared("importers/netbox/recorded-api-v4.6.8")?;
    let over = tmp.join(format!("replay-{}", overrides.len()));
    std::fs::create_dir_all(&over).unwrap();
    for (name, body) in overrides {
        std::fs::write(over.join(name), body.to_string()).unwrap();
    }
    let replay = rackscope_importer_netbox::replay::serve(&[over, pristine]).unwrap();
    let cfg = tmp.join(format!("netbox-{}.yaml", overrides.len()));
    std::fs::write(
        &cfg,
        format!(
            "url: {}\ntoken: {}\n",
            replay.url,
            rackscope_importer_netbox::replay::TOKEN_V2
        ),
    )
    .unwrap();
    Some((replay, cfg))
}

/// Finding 19: every device record malformed is an unreadable source, not an empty data
/// centre: the import fails and the existing topology stays.
#[test]
fn a_source_whose_every_record_is_skipped_fails() {
    let tmp = tempfile::tempdir().unwrap();
    let Some((_replay, cfg)) = netbox(tmp.path(), &[]) else {
        return;
    };
    let out = tmp.path().join("conf");
    let args = |cfg: &Path| {
        vec![
            "netbox".to_owned(),
            "--config".to_owned(),
            cfg.to_str().unwrap().to_owned(),
            "--out".to_owned(),
            out.to_str().unwrap().to_owned(),
        ]
    };
    let run = |a: Vec<String>| support::bin().arg("import").args(a).output().unwrap();
    ok(&run(args(&cfg)));
    assert_eq!(counts(&out).2, 72);
    let before = tree(&out);

    let pristine = support::shared("importers/netbox/recorded-api-v4.6.8").unwrap();
    let mut devices: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(pristine.join("dcim-devices.json")).unwrap())
            .unwrap();
    for d in devices["results"].as_array_mut().unwrap() {
        d["rack"] = serde_json::Value::String("garbage".into());
    }
    let (_broken, broken_cfg) = netbox(tmp.path(), &[("dcim-devices.json", devices)]).unwrap();
    let mut forced = args(&broken_cfg);
    forced.extend(["--force-removal".to_owned(), "--prune".to_owned()]);
    let err = failed(&run(forced));
    assert!(
        err.contains("skipped every one of the 72 device records"),
        "{err}"
    );
    assert_eq!(before, tree(&out));
}

/// Finding 20: racks and no device types, into a fresh --out: every directory app.yaml
/// names is created, and the result loads.
#[test]
fn a_racks_only_source_imports_into_a_fresh_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let empty = serde_json::json!({"count": 0, "next": null, "previous": null, "results": []});
    let Some((_replay, cfg)) = netbox(
        tmp.path(),
        &[
            ("dcim-devices.json", empty.clone()),
            ("dcim-device-types.json", empty),
        ],
    ) else {
        return;
    };
    let out = tmp.path().join("fresh");
    let text = ok(&import(&[
        "netbox",
        "--config",
        cfg.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]));
    assert!(text.contains("0 templates"), "{text}");
    let (_, racks, devices, _) = counts(&out);
    assert_eq!((racks, devices), (42, 0));
    for dir in ["topology", "templates", "checks/library", "metrics/library"] {
        assert!(out.join(dir).is_dir(), "{dir}");
    }
}

/// Finding 18: a crash between staging and the commit leaves the old tree; a crash after
/// the commit is finished by the next command that loads the directory.
#[test]
fn an_interrupted_import_leaves_the_old_tree_or_is_finished_before_loading() {
    use rackscope::import::apply;
    let Some(db) = support::shared("importers/racksdb/examples/db") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("conf");
    let path = format!("path={}", db.display());
    ok(&import(&racksdb_args(&path, &out, &[])));
    let rack = PathBuf::from(
        "topology/datacenters/paris/rooms/paris-noisy/aisles/paris-noisy-r1/racks/r1-a01.yaml",
    );
    let old = std::fs::read_to_string(out.join(&rack)).unwrap();
    let new = old.replace("u_height: 42", "u_height: 48");
    assert_ne!(old, new);
    let writes = BTreeMap::from([(rack.clone(), new.clone())]);
    let check = || {
        let o = support::bin()
            .arg("check")
            .arg(out.join("app.yaml"))
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stdout));
    };

    // Staged, then the process dies before the commit: the old tree, which loads.
    let journal = apply::stage(&out, "racksdb", &writes, &[], &[]).unwrap();
    check();
    assert_eq!(std::fs::read_to_string(out.join(&rack)).unwrap(), old);
    // The next import sweeps the staged file.
    ok(&import(&racksdb_args(&path, &out, &[])));
    assert!(
        tree(&out)
            .keys()
            .all(|p| !p.to_string_lossy().contains("staged"))
    );

    // Committed, then the process dies: `check` finishes it first and sees the new tree.
    let journal2 = apply::stage(&out, "racksdb", &writes, &[], &[]).unwrap();
    assert_eq!(journal.renames, journal2.renames);
    apply::commit(&out, &journal2).unwrap();
    check();
    assert_eq!(std::fs::read_to_string(out.join(&rack)).unwrap(), new);
    assert!(!out.join(apply::JOURNAL).exists());
}
