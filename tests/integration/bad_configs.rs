//! Data-driven bad configurations (in the spirit of Prometheus's promqltest files).
//!
//! Each `tests/fixtures/bad/*.bad.yaml` holds `# expect: level[code] path:line:col` lines,
//! then `### file: <path>` sections that replace or add files of the valid configuration in
//! `tests/fixtures/base`. The test applies them in a temporary directory and requires the
//! diagnostics to be exactly the expected ones: nothing missing, nothing extra. The
//! diagnostics are those of `rackscope check`: the loader's, and the binary's TLS check.

use std::path::Path;

use crate::support;

struct Case {
    expect: Vec<String>,
    files: Vec<(String, String)>,
}

fn parse_case(text: &str) -> Case {
    let mut expect = Vec::new();
    let mut files: Vec<(String, String)> = Vec::new();
    for line in text.lines() {
        if let Some(e) = line.strip_prefix("# expect: ")
            && files.is_empty()
        {
            expect.push(e.trim().to_owned());
            continue;
        }
        if let Some(f) = line.strip_prefix("### file: ") {
            files.push((f.trim().to_owned(), String::new()));
            continue;
        }
        if let Some((_, body)) = files.last_mut() {
            body.push_str(line);
            body.push('\n');
        }
    }
    Case { expect, files }
}

fn diagnostics_of(dir: &Path) -> (Vec<String>, Vec<String>) {
    let loaded = support::load(&dir.join("app.yaml"));
    // What `rackscope check` adds to the loader's diagnostics (the TLS files' contents).
    let tls = rackscope::server::tls::diagnostic(&loaded.config);
    let mut keys = Vec::new();
    let mut full = Vec::new();
    for d in loaded.diagnostics.iter().chain(tls.as_ref()) {
        let rel = d
            .span
            .file
            .strip_prefix(dir)
            .unwrap_or(&d.span.file)
            .display()
            .to_string();
        let level = match d.level {
            rackscope_core::Level::Error => "error",
            rackscope_core::Level::Warning => "warning",
        };
        keys.push(format!(
            "{level}[{}] {rel}:{}:{}",
            d.code, d.span.pos.line, d.span.pos.col
        ));
        full.push(format!(
            "{level}[{}] {rel}:{}:{}: {}",
            d.code, d.span.pos.line, d.span.pos.col, d.message
        ));
    }
    keys.sort();
    (keys, full)
}

#[test]
fn the_base_configuration_is_clean() {
    let (keys, full) = diagnostics_of(&support::root().join("tests/fixtures/base"));
    assert!(keys.is_empty(), "{full:#?}");
}

#[test]
fn every_bad_configuration_gives_exactly_its_diagnostics() {
    let dir = support::root().join("tests/fixtures/bad");
    let mut cases: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".bad.yaml"))
        .collect();
    cases.sort();
    assert!(
        cases.len() >= 15,
        "expected the fixture set, found {}",
        cases.len()
    );
    let mut failures = Vec::new();
    for path in &cases {
        let case = parse_case(&std::fs::read_to_string(path).unwrap());
        assert!(
            !case.expect.is_empty(),
            "{} has no `# expect:` line",
            path.display()
        );
        let tmp = tempfile::tempdir().unwrap();
        support::copy_dir(&support::root().join("tests/fixtures/base"), tmp.path());
        for (rel, body) in &case.files {
            let p = tmp.path().join(rel);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, body).unwrap();
        }
        let (actual, full) = diagnostics_of(tmp.path());
        let mut expected = case.expect.clone();
        expected.sort();
        if actual != expected {
            failures.push(format!(
                "{}:\n  expected {expected:#?}\n  actual   {full:#?}",
                path.file_name().unwrap().to_string_lossy()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
