//! `rackscope check` as a user runs it: exit codes, compiler-style output, JSON for CI.

use crate::support;

#[test]
fn check_a_valid_configuration() {
    let out = support::bin()
        .args(["check", "tests/fixtures/base/app.yaml"])
        .current_dir(support::root())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(stdout.contains("summary: 1 sites, 1 rooms, 1 aisles, 2 racks, 3 devices, 7 instances; 3 checks (3 bound)"), "{stdout}");
    assert!(
        stdout.contains("result: usable (0 errors, 0 warnings)"),
        "{stdout}"
    );
}

#[test]
fn check_an_unusable_configuration_prints_the_line_and_fails() {
    let tmp = tempfile::tempdir().unwrap();
    support::copy_dir(&support::root().join("tests/fixtures/base"), tmp.path());
    let rack = tmp
        .path()
        .join("topology/datacenters/dc1/rooms/room1/aisles/aisle1/racks/r02.yaml");
    std::fs::write(
        &rack,
        "id: r02\ndevices:\n- id: d1\n  template_id: nope-2u\n  u_position: 1\n",
    )
    .unwrap();
    let out = support::bin()
        .args(["check", "app.yaml"])
        .current_dir(tmp.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("topology/datacenters/dc1/rooms/room1/aisles/aisle1/racks/r02.yaml:4:16: error[unknown-template]: unknown device template `nope-2u`"), "{stdout}");
    assert!(
        stdout.contains("4 |   template_id: nope-2u\n  |                ^"),
        "{stdout}"
    );
    assert!(
        stdout.contains("result: NOT usable (1 errors, 0 warnings)"),
        "{stdout}"
    );

    let out = support::bin()
        .args(["check", "app.yaml", "--format", "json"])
        .current_dir(tmp.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["usable"], false);
    assert_eq!(v["summary"]["racks"], 2);
    assert_eq!(v["diagnostics"][0]["code"], "unknown-template");
    assert_eq!(v["diagnostics"][0]["line"], 4);
    assert_eq!(v["diagnostics"][0]["col"], 16);
}

#[test]
fn environment_overrides_reach_the_configuration() {
    let out = support::bin()
        .args(["check", "tests/fixtures/base/app.yaml"])
        .env("RACKSCOPE_PLANNER__MAX_IDS_PER_QUERY", "zero")
        .current_dir(support::root())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("RACKSCOPE_PLANNER__MAX_IDS_PER_QUERY"),
        "{stdout}"
    );
}

#[test]
fn the_upstream_examples_pass_check() {
    for ex in ["homelab", "small-cluster", "hpc-cluster"] {
        let Some(dir) = support::shared(&format!("upstream-examples/{ex}")) else {
            return;
        };
        let out = support::bin()
            .arg("check")
            .arg(dir.join("app.yaml"))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{ex}: {}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
}

#[test]
fn generate_refuses_to_overwrite() {
    let tmp = tempfile::tempdir().unwrap();
    let out = support::bin()
        .args(["generate", "--instances", "100", "--out"])
        .arg(tmp.path())
        .output()
        .unwrap();
    assert!(out.status.success());
    let out = support::bin()
        .args(["generate", "--instances", "100", "--out"])
        .arg(tmp.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("already holds a configuration"));
}
