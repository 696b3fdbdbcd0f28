//! `rackscope test` (issue #23): the check tests of `tests/checks/`, the specification of
//! health semantics, run by the same runner as the command; and the runner's own
//! behaviour: each kind of failed expectation with its message and line, malformed files,
//! `--update` and JSON output.

use std::path::{Path, PathBuf};

use rackscope::checktest::run_file;

use crate::support;

fn spec_dir() -> PathBuf {
    support::root().join("tests/checks")
}

fn test_files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".test.yaml"))
        .collect();
    v.sort();
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_health_semantics_hold_as_their_test_files_state() {
    if !support::prom::available() {
        return;
    }
    let files = test_files(&spec_dir());
    assert!(files.len() >= 5, "{files:?}");
    for f in files {
        let r = run_file(&f).await.unwrap();
        let msgs: Vec<String> = r.diagnostics.iter().map(|d| d.to_string()).collect();
        assert_eq!(r.failed(), 0, "{}: {msgs:#?}", f.display());
        assert!(r.passed > 0, "{}", f.display());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_example_configurations_pass_their_tests() {
    if !support::prom::available() {
        return;
    }
    for dir in ["config/demo-small/tests", "config/demo-multisite/tests"] {
        let files = test_files(&support::root().join(dir));
        assert!(!files.is_empty(), "{dir}");
        for f in files {
            let r = run_file(&f).await.unwrap();
            let msgs: Vec<String> = r.diagnostics.iter().map(|d| d.to_string()).collect();
            assert_eq!(r.failed(), 0, "{}: {msgs:#?}", f.display());
        }
    }
}

/// A test file over the specification's configuration, written into `dir`.
fn write_test(dir: &Path, body: &str) -> PathBuf {
    let f = dir.join("t.test.yaml");
    let config = spec_dir().join("app.yaml");
    std::fs::write(&f, format!("config: {}\n{body}", config.display())).unwrap();
    f
}

const WRONG: &str = "interval: 1m
input_series:
- series: up{instance=\"n01\"}
  values: 1 0
- series: node_temperature_celsius{instance=\"n03\"}
  values: 40 40
- series: ipmi_sensor_state{instance=\"n10\"}
  values: 2 2
tests:
- at: 1m
  expect:
  - node: n01
    state: OK
  - node: n03
    check: node_temperature
    value: 41
  - node: n01
    alert: false
  - node: n01
    alert_checks: [node_temperature]
  - node: n03
    check: node_fan
    pending: true
  - node: n04
    check: node_up
    reason: timed out
  - node: n10
    check: ipmi_sensor
    message: nominal
  - rack: r99
    state: OK
  - device: array-1
    check: node_up
    state: OK
  - node: n02
    check: node_up
    state: NONE
";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_kind_of_failed_expectation_is_reported_at_its_line() {
    if !support::prom::available() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let f = write_test(tmp.path(), WRONG);
    let r = run_file(&f).await.unwrap();
    let got: Vec<String> = r
        .diagnostics
        .iter()
        .map(|d| format!("{}:{}: {}", d.span.pos.line, d.span.pos.col, d.message))
        .collect();
    // Lines count the `config:` line written first.
    assert_eq!(
        got,
        [
            "14:12: at 1m, node `n01`: state expected OK, found CRIT",
            "17:12: at 1m, node `n03` check `node_temperature`: value expected 41, found 40",
            "19:12: at 1m, node `n01`: alert expected no alert, found an active alert",
            "21:19: at 1m, node `n01`: alert_checks expected [node_temperature], found [node_up]",
            "24:14: at 1m, node `n03` check `node_fan`: pending expected true, found false",
            "27:13: at 1m, node `n04` check `node_up`: reason expected text containing \"timed out\", found \"no data: the query returned no series for this target\"",
            "30:14: at 1m, node `n10` check `ipmi_sensor`: message expected text containing \"nominal\", found \"critical threshold crossed\"",
            "31:11: at 1m: there is no rack `r99` in the configuration",
            "33:13: at 1m, device `array-1` check `node_up`: the check does not run for this target (no template of it lists `node_up`)",
            "38:12: at 1m, node `n02` check `node_up`: state expected NONE, found UNKNOWN",
        ],
        "{got:#?}"
    );
    assert_eq!(r.passed, 0);

    // The command: compiler-style output, exit 1; JSON for CI.
    let out = support::bin().arg("test").arg(&f).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains(&format!(
            "{}:14:12: error[test]: at 1m, node `n01`: state expected OK, found CRIT",
            f.display()
        )),
        "{text}"
    );
    assert!(text.contains("14 |     state: OK"), "{text}");
    assert!(
        text.contains("tests: 0 passed, 10 failed, in 1 file"),
        "{text}"
    );
    let out = support::bin()
        .args(["test", "--format", "json"])
        .arg(&f)
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["failed"], 10);
    assert_eq!(v["files"][0]["diagnostics"][0]["line"], 14);
    assert_eq!(v["files"][0]["diagnostics"][0]["code"], "test");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn update_rewrites_the_wrong_values_and_the_file_then_passes() {
    if !support::prom::available() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let f = write_test(
        tmp.path(),
        "input_series:\n- series: up{instance=\"n01\"}\n  values: 1 0\n- series: node_temperature_celsius{instance=\"n03\"}\n  values: 40 42.5\ntests:\n- at: 1m\n  expect:\n  - node: n01   # the node that went down\n    state: OK   # was it?\n    alert: false\n    alert_checks: []\n    alert_at: nowhere\n  - node: n03\n    check: node_temperature\n    state: \"OK\"\n    value: 41\n  - global: OK\n",
    );
    let before = std::fs::read_to_string(&f).unwrap();
    let out = support::bin()
        .args(["test", "--update"])
        .arg(&f)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "the run that updates still fails"
    );
    let after = std::fs::read_to_string(&f).unwrap();
    assert_ne!(before, after);
    // Only the wrong values changed; comments and layout stay.
    assert!(after.contains("    state: CRIT   # was it?\n"), "{after}");
    assert!(after.contains("    alert: true\n"), "{after}");
    assert!(after.contains("    alert_checks: [node_up]\n"), "{after}");
    assert!(
        after.contains("    alert_at: dc1/room-a/aisle-1/r01/chassis-1\n"),
        "{after}"
    );
    assert!(
        after.contains("    state: WARN\n    value: 42.5\n"),
        "{after}"
    );
    assert!(after.contains("  - global: CRIT\n"), "{after}");
    assert!(
        after.contains("  - node: n01   # the node that went down\n"),
        "{after}"
    );
    let out = support::bin().arg("test").arg(&f).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn malformed_test_files_are_reported_with_positions_and_nothing_runs() {
    let tmp = tempfile::tempdir().unwrap();
    let f = write_test(
        tmp.path(),
        "input_series:\n- series: up{instance=n01}\n  values: 1 x\ntests:\n- at: 1m\n  expect:\n  - node: n01\n    stat: OK\n",
    );
    let out = support::bin().arg("test").arg(&f).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    let name = f.display();
    for want in [
        format!(
            "{name}:3:14: error[test-file]: the value of `instance` is written in double quotes"
        ),
        format!("{name}:4:13: error[test-file]: `x`: not a number"),
        format!("{name}:9:5: error[test-file]: `stat` is not a key of an expectation"),
        format!("{name}:8:5: error[test-file]: an expectation says what must hold"),
    ] {
        assert!(text.contains(&want), "want {want}\n{text}");
    }
    // A configuration that does not load is the test file's error, at `config:`.
    std::fs::write(
        &f,
        "config: nowhere/app.yaml\ntests:\n- at: 0\n  expect:\n  - global: OK\n",
    )
    .unwrap();
    let out = support::bin().arg("test").arg(&f).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains(&format!(
            "{name}:1:9: error[test-config]: the configuration under test"
        )),
        "{text}"
    );
}

#[test]
fn check_names_the_checks_no_test_covers() {
    let out = support::bin()
        .arg("check")
        .arg(spec_dir().join("app.yaml"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    // Every check of the specification is named by one of its test files.
    assert!(!text.contains("without a test"), "{text}");
    let tmp = tempfile::tempdir().unwrap();
    support::copy_dir(&spec_dir(), tmp.path());
    for f in test_files(tmp.path()) {
        if !f.ends_with("rollup.test.yaml") {
            std::fs::remove_file(f).unwrap();
        }
    }
    let out = support::bin()
        .arg("check")
        .arg(tmp.path().join("app.yaml"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(
            "checks without a test (4 of 6): drive_status, ipmi_sensor, node_fan, pdu_current"
        ),
        "{text}"
    );
}
