//! Everything the integration tests share: paths, loading, snapshots, the binary, and the
//! stand-ins below (a real Prometheus, the faulty front, the health fixture's data, the
//! router without a socket, served processes). Test modules import from here, never from
//! each other.

pub(crate) mod alertmanager;
pub(crate) mod auth;
pub(crate) mod faulty;
pub(crate) mod fixture;
pub(crate) mod prom;
pub(crate) mod router;
pub(crate) mod served;
pub(crate) mod vm;

use std::path::{Path, PathBuf};

/// The repository root.
pub(crate) fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `../shared/fixtures/<rel>`, or `None` with a message when `../shared` is absent, so that
/// the suite passes anywhere.
pub(crate) fn shared(rel: &str) -> Option<PathBuf> {
    let p = root().join("../shared/fixtures").join(rel);
    if p.exists() {
        Some(p)
    } else {
        eprintln!(
            "skipping: {} is not present (the shared fixtures live beside the repository)",
            p.display()
        );
        None
    }
}

/// Copies a directory tree.
pub(crate) fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dest = to.join(e.file_name());
        if e.path().is_dir() {
            copy_dir(&e.path(), &dest);
        } else {
            std::fs::copy(e.path(), dest).unwrap();
        }
    }
}

/// Loads a configuration with no environment overrides, whatever the test runner's env is.
/// A writable copy of the health fixture with `more` appended to its app.yaml: the
/// directory (kept while it lives) and the app.yaml path.
pub(crate) fn health_with(more: &str) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    copy_dir(&root().join("tests/fixtures/health"), tmp.path());
    let app = tmp.path().join("app.yaml");
    let text = std::fs::read_to_string(&app).unwrap();
    std::fs::write(&app, format!("{text}{more}")).unwrap();
    (tmp, app)
}

pub(crate) fn load(app: &Path) -> rackscope_core::Loaded {
    rackscope_core::load_with_env(app, std::iter::empty())
}

/// The `rackscope` binary built for these tests.
pub(crate) fn bin() -> std::process::Command {
    std::process::Command::new(env!("CARGO_BIN_EXE_rackscope"))
}

/// Compares `text` with the snapshot file `tests/snapshots/<rel>`, or rewrites it when
/// `RACKSCOPE_BLESS=1` is set (after the difference was checked by a human).
pub(crate) fn assert_snapshot(rel: &str, text: &str) {
    let snap = root().join("tests/snapshots").join(rel);
    if std::env::var("RACKSCOPE_BLESS").is_ok_and(|v| v == "1") {
        // CI compares; a blessing there would pass whatever the output became.
        assert!(
            std::env::var("CI").map_or(true, |v| v != "true"),
            "RACKSCOPE_BLESS is refused under CI=true"
        );
        std::fs::create_dir_all(snap.parent().unwrap()).unwrap();
        std::fs::write(&snap, text).unwrap();
        return;
    }
    let want = std::fs::read_to_string(&snap)
        .unwrap_or_else(|_| panic!("{} is missing; run with RACKSCOPE_BLESS=1", snap.display()));
    if text != want {
        let first = text
            .lines()
            .zip(want.lines())
            .position(|(a, b)| a != b)
            .unwrap_or_else(|| text.lines().count().min(want.lines().count()));
        panic!(
            "{rel} changed (first difference at line {}):\n  got:  {}\n  want: {}\nrun with RACKSCOPE_BLESS=1 after checking",
            first + 1,
            text.lines().nth(first).unwrap_or(""),
            want.lines().nth(first).unwrap_or("")
        );
    }
}

/// Runs git in `dir` with a fixed identity for the setup's own commits; its output.
pub(crate) fn git(dir: &Path, args: &[&str]) -> String {
    let o = std::process::Command::new("git")
        .arg("-C")
        .arg(dir)
        .args([
            "-c",
            "user.name=setup",
            "-c",
            "user.email=setup@example.org",
        ])
        .args(args)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).unwrap()
}
