//! A real Alertmanager for tests (Debian's `prometheus-alertmanager`): started on a free
//! loopback port with a throwaway storage directory, a configuration with one receiver
//! that sends nothing, and no cluster gossip; killed on drop. Skips (or fails under
//! CI=true) when the binary is missing.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub(crate) const BINARY: &str = "prometheus-alertmanager";

pub(crate) struct Alertmanager {
    child: Child,
    pub port: u16,
    _dir: tempfile::TempDir,
}

/// Whether Alertmanager is here; under CI it must be (`.ci/run` installs it).
pub(crate) fn available() -> bool {
    let ok = Command::new(BINARY)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("{BINARY} is required under CI; .ci/run installs it");
        }
        eprintln!(
            "skipping: {BINARY} not installed (apt-get install prometheus-alertmanager, or run .ci/run)"
        );
    }
    ok
}

/// A port nobody listens on right now.
pub(crate) fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Alertmanager {
    pub(crate) fn start() -> Option<Alertmanager> {
        Alertmanager::start_with(None)
    }

    /// As `start`, with a `--web.config.file` (basic auth).
    pub(crate) fn start_with(web_config: Option<&str>) -> Option<Alertmanager> {
        if !available() {
            return None;
        }
        // Another process may take the port between our probe and Alertmanager's bind:
        // a few tries.
        let mut last = String::new();
        for _ in 0..5 {
            match Alertmanager::try_start(web_config) {
                Ok(a) => return Some(a),
                Err(e) => last = e,
            }
        }
        panic!("{BINARY} did not start: {last}");
    }

    fn try_start(web_config: Option<&str>) -> Result<Alertmanager, String> {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("alertmanager.yml");
        std::fs::write(
            &config,
            "route:\n  receiver: 'null'\nreceivers:\n- name: 'null'\n",
        )
        .unwrap();
        std::fs::create_dir_all(dir.path().join("data")).unwrap();
        let port = free_port();
        let log = std::fs::File::create(dir.path().join("log")).unwrap();
        let mut cmd = Command::new(BINARY);
        if let Some(w) = web_config {
            let p = dir.path().join("web.yml");
            std::fs::write(&p, w).unwrap();
            cmd.arg(format!("--web.config.file={}", p.display()));
        }
        let child = cmd
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg(format!(
                "--storage.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--config.file={}", config.display()))
            .arg("--cluster.listen-address=")
            .arg("--log.level=warn")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        let mut am = Alertmanager {
            child,
            port,
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = am.child.try_wait() {
                let log = std::fs::read_to_string(am._dir.path().join("log")).unwrap_or_default();
                return Err(format!("exited with {status}: {log}"));
            }
            if let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) {
                let _ = s.write_all(b"GET /-/ready HTTP/1.0\r\n\r\n");
                let mut buf = String::new();
                let _ = s.read_to_string(&mut buf);
                // Behind basic auth, a refusal is as good a sign of life.
                let status = buf.get(9..12).unwrap_or("");
                if buf.starts_with("HTTP/1.") && (status == "200" || status == "401") {
                    return Ok(am);
                }
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        am.kill();
        Err(format!("not ready on port {port} within 30 s"))
    }

    pub(crate) fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Alertmanager {
    fn drop(&mut self) {
        self.kill();
    }
}
