//! The Debian package as `packaging/deb/build` makes it from the binary under test: its
//! contents and fields, the starter configuration checking clean, and, as root with dpkg,
//! a real install whose unit's command answers `/readyz` as the unit's user, then a purge.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::support;

/// Whether a command can be run at all (`--version` answers).
fn have(cmd: &str) -> bool {
    Command::new(cmd)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// dpkg-deb is part of every Debian system; elsewhere these tests skip, under CI they fail.
fn dpkg_deb_available() -> bool {
    if have("dpkg-deb") {
        return true;
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("dpkg-deb is required under CI (CI runs on Debian)");
    }
    eprintln!("skipping: dpkg-deb is not installed (the package tests need a Debian system)");
    false
}

fn run(cmd: &mut Command) -> Output {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}):\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn stdout(cmd: &mut Command) -> String {
    String::from_utf8(run(cmd).stdout).unwrap()
}

/// The package built from the test binary into `dir`; its path.
fn build_deb(dir: &Path) -> PathBuf {
    // gzip rather than the default xz: the same package, in a fifth of the time.
    let printed = stdout(
        Command::new(support::root().join("packaging/deb/build"))
            .arg(env!("CARGO_BIN_EXE_rackscope"))
            .arg(dir)
            .env("RACKSCOPE_DEB_COMPRESSION", "gzip"),
    );
    let deb = PathBuf::from(printed.trim());
    assert!(deb.is_file(), "the build script printed {printed:?}");
    deb
}

#[test]
fn the_deb_holds_the_binary_the_unit_and_the_configuration_as_conffiles() {
    if !dpkg_deb_available() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let deb = build_deb(tmp.path());
    let arch = stdout(Command::new("dpkg").arg("--print-architecture"));
    assert_eq!(
        deb.file_name().unwrap().to_string_lossy(),
        format!(
            "rackscope_{}_{}.deb",
            env!("CARGO_PKG_VERSION"),
            arch.trim()
        )
    );

    let field = |name: &str| stdout(Command::new("dpkg-deb").arg("--field").arg(&deb).arg(name));
    assert_eq!(field("Package").trim(), "rackscope");
    assert_eq!(field("Version").trim(), env!("CARGO_PKG_VERSION"));
    let depends = field("Depends");
    assert!(depends.contains("adduser"), "{depends}");
    assert!(depends.contains("libc6 (>= 2."), "{depends}");

    let contents = stdout(Command::new("dpkg-deb").arg("--contents").arg(&deb));
    let entry = |path: &str| {
        contents
            .lines()
            .find(|l| l.ends_with(path))
            .unwrap_or_else(|| panic!("{path} is not in the package:\n{contents}"))
            .to_owned()
    };
    // Owned by root, whoever built it (--root-owner-group).
    assert!(entry("./usr/bin/rackscope").starts_with("-rwxr-xr-x root/root"));
    entry("./lib/systemd/system/rackscope.service");
    entry("./usr/share/doc/rackscope/copyright");
    for f in [
        "app.yaml",
        "topology.yaml",
        "templates/devices.yaml",
        "checks/checks.yaml",
    ] {
        assert!(entry(&format!("./etc/rackscope/{f}")).starts_with("-rw-r--r-- root/root"));
    }

    // Every file under /etc is a conffile, so an upgrade never overwrites an edit.
    let x = tmp.path().join("control");
    run(Command::new("dpkg-deb").arg("--control").arg(&deb).arg(&x));
    let conffiles = std::fs::read_to_string(x.join("conffiles")).unwrap();
    let etc: Vec<&str> = contents
        .lines()
        .filter(|l| l.starts_with('-'))
        .filter_map(|l| l.split_whitespace().last())
        .filter(|p| p.starts_with("./etc/"))
        .map(|p| &p[1..])
        .collect();
    assert!(!etc.is_empty());
    let mut listed: Vec<&str> = conffiles.lines().collect();
    listed.sort_unstable();
    let mut want = etc.clone();
    want.sort_unstable();
    assert_eq!(listed, want);
    for s in ["postinst", "prerm", "postrm"] {
        let script = std::fs::read_to_string(x.join(s)).unwrap();
        assert!(script.starts_with("#!/bin/sh\n"), "{s}");
    }

    // `cargo deb` users get the same files: every starter file is an asset and a conffile
    // in Cargo.toml's [package.metadata.deb].
    let manifest = std::fs::read_to_string(support::root().join("Cargo.toml")).unwrap();
    for f in &etc {
        let rel = f.trim_start_matches("/etc/rackscope/");
        assert!(
            manifest.contains(&format!("\"{f}\"")),
            "{f} is not a conf-file in Cargo.toml"
        );
        assert!(
            manifest.contains(&format!("\"packaging/etc/rackscope/{rel}\"")),
            "{f} is not an asset in Cargo.toml"
        );
    }

    let unit =
        std::fs::read_to_string(support::root().join("packaging/deb/rackscope.service")).unwrap();
    let unit = Unit::parse(&unit);
    assert_eq!(unit.get("ExecStart"), Some("/usr/bin/rackscope serve"));
    assert_eq!(unit.get("User"), Some("rackscope"));
    assert_eq!(unit.get("Restart"), Some("on-failure"));
    assert_eq!(unit.get("ProtectSystem"), Some("strict"));
    assert_eq!(unit.get("NoNewPrivileges"), Some("yes"));
}

#[test]
fn the_starter_configuration_checks_clean() {
    let out = support::bin()
        .args(["check", "packaging/etc/rackscope"])
        .current_dir(support::root())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("result: usable (0 errors, 0 warnings)"),
        "{text}"
    );
}

/// A systemd unit's `[Service]` settings as the test needs them: the last value of each
/// key, and every `Environment=` assignment in order.
struct Unit {
    settings: Vec<(String, String)>,
}

impl Unit {
    fn parse(text: &str) -> Unit {
        let mut in_service = false;
        let mut settings = Vec::new();
        for line in text.lines().map(str::trim) {
            if line.starts_with('[') {
                in_service = line == "[Service]";
            } else if in_service
                && !line.starts_with('#')
                && let Some((k, v)) = line.split_once('=')
            {
                settings.push((k.trim().to_owned(), v.trim().to_owned()));
            }
        }
        Unit { settings }
    }

    fn get(&self, key: &str) -> Option<&str> {
        self.settings
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    fn environment(&self) -> Vec<(String, String)> {
        self.settings
            .iter()
            .filter(|(k, _)| k == "Environment")
            .flat_map(|(_, v)| v.split_whitespace())
            .filter_map(|a| a.trim_matches('"').split_once('='))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect()
    }
}

/// Purges the package (and kills the server) however the test ends.
struct Installed {
    server: Option<Child>,
    purged: bool,
}

impl Drop for Installed {
    fn drop(&mut self) {
        if let Some(mut c) = self.server.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        if self.purged {
            return;
        }
        let _ = Command::new("dpkg")
            .args(["--purge", "rackscope"])
            .stdout(Stdio::null())
            .status();
    }
}

/// dpkg's status of the package, `None` when dpkg has never heard of it.
fn package_status() -> Option<String> {
    let out = Command::new("dpkg-query")
        .args(["-W", "-f=${Status}", "rackscope"])
        .stderr(Stdio::null())
        .output()
        .ok()?;
    let status = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    (out.status.success() && !status.is_empty()).then_some(status)
}

/// `GET path` over plain HTTP/1.1; the status code, or `None` when nothing answers.
fn status_of(addr: &str, path: &str) -> Option<u16> {
    let mut s = TcpStream::connect(addr).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut head = [0u8; 12];
    s.read_exact(&mut head).ok()?;
    std::str::from_utf8(&head[9..12]).ok()?.parse().ok()
}

#[test]
fn the_installed_package_serves_as_its_user_and_purges_clean() {
    if !dpkg_deb_available() {
        return;
    }
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
    if !root || !have("dpkg") || !have("setpriv") {
        eprintln!(
            "skipping the install: it needs root, dpkg and setpriv (CI runs as root on a disposable machine)"
        );
        return;
    }
    // Never clobber a real installation, or an administrator's files.
    if let Some(status) = package_status().filter(|s| !s.ends_with("not-installed")) {
        eprintln!("skipping the install: a rackscope package is already here ({status})");
        return;
    }
    if Path::new("/etc/rackscope").exists() {
        eprintln!("skipping the install: /etc/rackscope exists and no package owns it");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let deb = build_deb(tmp.path());
    let mut guard = Installed {
        server: None,
        purged: false,
    };
    run(Command::new("dpkg")
        .arg("-i")
        .arg(&deb)
        .stdin(Stdio::null())
        .env("DEBIAN_FRONTEND", "noninteractive"));

    let user = stdout(Command::new("getent").args(["passwd", "rackscope"]));
    let uid: u32 = user.split(':').nth(2).unwrap().parse().unwrap();
    assert_ne!(uid, 0);
    assert_eq!(user.split(':').nth(5), Some("/var/lib/rackscope"), "{user}");
    let owner = |p: &str| {
        use std::os::unix::fs::MetadataExt as _;
        std::fs::metadata(p).unwrap().uid()
    };
    // The editors, maintenance windows and cluster views write beside app.yaml.
    assert_eq!(owner("/etc/rackscope"), uid);
    assert_eq!(owner("/var/lib/rackscope"), uid);

    // The installed unit's command, run the way systemd would run it.
    let unit =
        Unit::parse(&std::fs::read_to_string("/lib/systemd/system/rackscope.service").unwrap());
    let exec: Vec<&str> = unit.get("ExecStart").unwrap().split_whitespace().collect();
    let as_user = unit.get("User").unwrap();
    assert_eq!(as_user, "rackscope");
    let group = unit.get("Group").unwrap_or(as_user);
    let mut cmd = Command::new("setpriv");
    cmd.arg(format!("--reuid={as_user}"))
        .arg(format!("--regid={group}"))
        .arg("--init-groups")
        .arg("--")
        .args(&exec)
        .env_clear()
        .env("PATH", "/usr/local/bin:/usr/bin:/bin")
        .env("HOME", "/var/lib/rackscope")
        .env("USER", as_user)
        .env("LOGNAME", as_user);
    if let Some(dir) = unit.get("WorkingDirectory") {
        cmd.current_dir(dir);
    }
    for (k, v) in unit.environment() {
        cmd.env(k, v);
    }
    // Port 0: the server picks a free one and says which.
    cmd.env("RACKSCOPE_LISTEN", "127.0.0.1:0");
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    guard.server = Some(child);
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut seen = Vec::new();
    let addr = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) => {
                if let Some(a) = line.strip_prefix("Rackscope listening on http://") {
                    break a.trim().to_owned();
                }
                seen.push(line);
            }
            Err(_) => panic!(
                "the unit's command never listened; it said:\n{}",
                seen.join("\n")
            ),
        }
    };
    // A first snapshot is published even with no Prometheus to ask (states UNKNOWN).
    loop {
        if status_of(&addr, "/readyz") == Some(200) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "/readyz never answered 200 at {addr}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(status_of(&addr, "/"), Some(200));

    if let Some(mut c) = guard.server.take() {
        c.kill().unwrap();
        c.wait().unwrap();
    }
    run(Command::new("dpkg").args(["--purge", "rackscope"]));
    guard.purged = true;
    assert_eq!(
        package_status().filter(|s| !s.ends_with("not-installed")),
        None
    );
    assert!(!Path::new("/usr/bin/rackscope").exists());
    assert!(!Path::new("/var/lib/rackscope").exists());
    assert!(
        !Path::new("/etc/rackscope").exists(),
        "purge left {:?}",
        std::fs::read_dir("/etc/rackscope")
            .map(|d| d.flatten().map(|e| e.path()).collect::<Vec<_>>())
    );
}
