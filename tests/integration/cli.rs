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

/// A copy of the valid base configuration with `app.yaml` replaced.
fn base_with_app(app_yaml: &str) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    support::copy_dir(&support::root().join("tests/fixtures/base"), tmp.path());
    std::fs::write(tmp.path().join("app.yaml"), app_yaml).unwrap();
    tmp
}

const AUTH_ON: &str = "paths:\n  topology: topology\nauth:\n  enabled: true\n";

/// Waits for a command that must exit on its own; a refusal that does not happen would
/// otherwise leave a server running, so the child is killed and the test fails.
fn exit_of(mut cmd: std::process::Command) -> (Option<i32>, String) {
    let mut child = cmd
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    for _ in 0..600 {
        if child.try_wait().unwrap().is_some() {
            let out = child.wait_with_output().unwrap();
            let text = String::from_utf8_lossy(&out.stdout).into_owned()
                + String::from_utf8_lossy(&out.stderr).as_ref();
            return (out.status.code(), text);
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    child.kill().unwrap();
    panic!("the command kept running instead of refusing the configuration");
}

#[test]
fn serve_and_demo_refuse_sign_in_that_nobody_could_pass() {
    let tmp = base_with_app(AUTH_ON);
    let mut serve = support::bin();
    serve
        .arg("serve")
        .arg(tmp.path())
        .args(["--listen", "127.0.0.1:0"]);
    let (code, text) = exit_of(serve);
    assert_eq!(code, Some(2), "{text}");
    assert!(text.contains("nobody can sign in"), "{text}");
    assert!(text.contains("rackscope user add"), "{text}");
    assert!(!text.contains("listening"), "{text}");

    let mut demo = support::bin();
    demo.arg("demo")
        .arg("--config")
        .arg(tmp.path())
        .arg("--state-dir")
        .arg(tmp.path().join("state"));
    let (code, text) = exit_of(demo);
    assert_eq!(code, Some(2), "{text}");
    assert!(text.contains("nobody can sign in"), "{text}");

    let out = support::bin()
        .arg("check")
        .arg(tmp.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("app.yaml:4:12: error[auth]"), "{stdout}");
}

#[test]
fn rackscope_app_config_names_the_configuration_when_no_argument_does() {
    let out = support::bin()
        .arg("check")
        .env("RACKSCOPE_APP_CONFIG", "tests/fixtures/base/app.yaml")
        .current_dir(support::root())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(stdout.contains("7 instances"), "{stdout}");

    // An argument still wins over the variable.
    let tmp = base_with_app(AUTH_ON);
    let out = support::bin()
        .arg("check")
        .arg(tmp.path())
        .env("RACKSCOPE_APP_CONFIG", "tests/fixtures/base/app.yaml")
        .current_dir(support::root())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));

    let out = support::bin()
        .arg("plan")
        .env("RACKSCOPE_APP_CONFIG", "tests/fixtures/base")
        .current_dir(support::root())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(stdout.contains("node_up"), "{stdout}");
}

#[test]
fn prometheus_url_overrides_the_file_and_our_variable_overrides_it() {
    let run = |vars: &[(&str, &str)]| {
        let mut cmd = support::bin();
        cmd.args(["check", "tests/fixtures/base/app.yaml"])
            .env_remove("PROMETHEUS_URL")
            .env_remove("RACKSCOPE_TELEMETRY__PROMETHEUS_URL")
            .current_dir(support::root());
        for (k, v) in vars {
            cmd.env(k, v);
        }
        let out = cmd.output().unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    // An unusable URL shows which value won: the file's is valid, so an error naming the
    // variable's value proves the variable was read.
    let (code, stdout) = run(&[("PROMETHEUS_URL", "ftp://from-env:9090")]);
    assert_eq!(code, Some(1), "{stdout}");
    assert!(stdout.contains("ftp://from-env:9090"), "{stdout}");
    let (code, stdout) = run(&[
        ("PROMETHEUS_URL", "ftp://from-env:9090"),
        ("RACKSCOPE_TELEMETRY__PROMETHEUS_URL", "http://ours:9090"),
    ]);
    assert_eq!(code, Some(0), "{stdout}");
    let (code, stdout) = run(&[("PROMETHEUS_URL", "")]);
    assert_eq!(code, Some(0), "{stdout}");
}

#[cfg(unix)]
#[test]
fn a_script_file_leaving_the_configuration_is_refused_and_never_quoted() {
    let outer = tempfile::tempdir().unwrap();
    let conf = outer.path().join("conf");
    support::copy_dir(&support::root().join("tests/fixtures/base"), &conf);
    std::fs::write(outer.path().join("secret.rhai"), "SECRET-LINE-42 +\n").unwrap();
    let scripts = conf.join("checks/library/scripts");
    std::fs::create_dir_all(&scripts).unwrap();
    std::os::unix::fs::symlink(outer.path().join("secret.rhai"), scripts.join("evil.rhai"))
        .unwrap();
    let checks = conf.join("checks/library/checks.yaml");
    let text = std::fs::read_to_string(&checks).unwrap().replacen(
        "  rules:\n  - op: \"==\"\n    value: 0\n    severity: CRIT\n",
        "  script_file: scripts/evil.rhai\n  aggregate_script_file: ../../../secret.rhai\n",
        1,
    );
    std::fs::write(&checks, text).unwrap();
    let out = support::bin().arg("check").arg(&conf).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert_eq!(
        stdout
            .matches("resolves outside the configuration directory")
            .count(),
        2,
        "{stdout}"
    );
    assert!(!stdout.contains("SECRET-LINE"), "{stdout}");
}

#[cfg(unix)]
#[test]
fn symlink_loops_in_walked_directories_are_reported_not_followed() {
    let tmp = tempfile::tempdir().unwrap();
    support::copy_dir(&support::root().join("tests/fixtures/base"), tmp.path());
    for (link, target) in [
        ("topology/loop", "."),
        ("topology/datacenters/dc1/up", ".."),
        ("templates/loop", "."),
        ("metrics/library/loop", "../library"),
    ] {
        std::os::unix::fs::symlink(target, tmp.path().join(link)).unwrap();
    }
    let loaded = support::load(&tmp.path().join("app.yaml"));
    let loops: Vec<_> = loaded
        .diagnostics
        .iter()
        .filter(|d| d.code == "directory-loop")
        .map(|d| d.span.file.strip_prefix(tmp.path()).unwrap().to_path_buf())
        .collect();
    assert_eq!(loops.len(), 4, "{:#?}", loaded.diagnostics);
    assert!(
        loops.iter().any(|p| p.ends_with("templates/loop")),
        "{loops:?}"
    );
    assert_eq!(
        loaded.diagnostics.len(),
        4,
        "nothing loaded twice: {:#?}",
        loaded.diagnostics
    );
    assert!(loaded.is_usable());
    assert_eq!(loaded.config.topology.racks.len(), 2);

    let out = support::bin()
        .arg("check")
        .arg(tmp.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(stdout.contains("warning[directory-loop]"), "{stdout}");
}

#[test]
fn out_of_range_numbers_from_the_environment_make_the_configuration_unusable() {
    for (value, needle) in [
        ("-1", "telemetry.prometheus_connect_timeout_seconds is -1"),
        ("301", "telemetry.prometheus_connect_timeout_seconds is 301"),
        (
            "1e20",
            "RACKSCOPE_TELEMETRY__PROMETHEUS_CONNECT_TIMEOUT_SECONDS",
        ),
        (
            "NaN",
            "RACKSCOPE_TELEMETRY__PROMETHEUS_CONNECT_TIMEOUT_SECONDS",
        ),
    ] {
        let out = support::bin()
            .args(["check", "tests/fixtures/base/app.yaml"])
            .env(
                "RACKSCOPE_TELEMETRY__PROMETHEUS_CONNECT_TIMEOUT_SECONDS",
                value,
            )
            .current_dir(support::root())
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(1), "{value}: {stdout}");
        assert!(stdout.contains(needle), "{value}: {stdout}");
    }
}

#[cfg(unix)]
#[test]
fn a_rack_file_linked_outside_the_configuration_is_refused_and_never_quoted() {
    let outer = tempfile::tempdir().unwrap();
    let conf = outer.path().join("conf");
    support::copy_dir(&support::root().join("tests/fixtures/base"), &conf);
    std::fs::write(outer.path().join("r02.yaml"), "SECRET-LINE: [\n").unwrap();
    let rack = conf.join("topology/datacenters/dc1/rooms/room1/aisles/aisle1/racks/r02.yaml");
    std::fs::remove_file(&rack).unwrap();
    std::os::unix::fs::symlink(outer.path().join("r02.yaml"), &rack).unwrap();
    let out = support::bin().arg("check").arg(&conf).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("aisle.yaml:5:3: error[path-escape]"),
        "{stdout}"
    );
    assert!(!stdout.contains("SECRET-LINE"), "{stdout}");
}
