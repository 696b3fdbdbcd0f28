//! A real VictoriaMetrics for tests (Debian's `victoria-metrics`): started on a free
//! loopback port with a throwaway data directory and a retention that keeps the fixture's
//! 2023 samples, fed the same OpenMetrics text as the Prometheus of `prom.rs` through its
//! import API, killed on drop. Skips (or fails under CI=true) when it is missing.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub(crate) struct VictoriaMetrics {
    child: Child,
    pub port: u16,
    _dir: tempfile::TempDir,
}

fn available() -> bool {
    let ok = Command::new("victoria-metrics")
        .arg("-version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        if std::env::var_os("CI").is_some() {
            panic!("victoria-metrics is required under CI; .ci/run installs it");
        }
        eprintln!(
            "skipping: victoria-metrics not installed (apt-get install victoria-metrics, or run .ci/run)"
        );
    }
    ok
}

/// One HTTP/1.0 exchange on loopback: the status line's code and the body.
fn http(port: u16, method: &str, path: &str, body: &str) -> Option<(u16, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(30))).ok()?;
    let req = format!(
        "{method} {path} HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    let code = out.split(' ').nth(1)?.parse().ok()?;
    let body = out.split_once("\r\n\r\n").map_or("", |(_, b)| b).to_owned();
    Some((code, body))
}

impl VictoriaMetrics {
    /// Starts VictoriaMetrics with `args` added (`-search.maxQueryLen=…`) and imports
    /// `openmetrics` (timestamps in seconds, as promtool takes them).
    pub(crate) fn start(openmetrics: &str, args: &[&str]) -> Option<VictoriaMetrics> {
        if !available() {
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new("victoria-metrics")
            .arg(format!("-storageDataPath={}", dir.path().display()))
            .arg(format!("-httpListenAddr=127.0.0.1:{port}"))
            .arg("-retentionPeriod=100y")
            // The fixture's samples are years old: no offset keeps the last 30 s out.
            .arg("-search.latencyOffset=0s")
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let vm = VictoriaMetrics {
            child,
            port,
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while http(port, "GET", "/health", "").is_none_or(|(c, _)| c != 200) {
            assert!(
                Instant::now() < deadline,
                "victoria-metrics never became ready"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        // The import API takes the text exposition format with timestamps in milliseconds.
        let mut text = String::new();
        for line in openmetrics
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
        {
            let (head, ts) = line.rsplit_once(' ').unwrap();
            let ms = (ts.parse::<f64>().unwrap() * 1000.0) as i64;
            text.push_str(&format!("{head} {ms}\n"));
        }
        let (code, body) = http(port, "POST", "/api/v1/import/prometheus", &text).unwrap();
        assert!(code == 204 || code == 200, "import: {code} {body}");
        let (code, _) = http(port, "GET", "/internal/force_flush", "").unwrap();
        assert_eq!(code, 200);
        Some(vm)
    }

    pub(crate) fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for VictoriaMetrics {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
