//! A real Prometheus for tests: backfilled with deterministic series through `promtool tsdb
//! create-blocks-from openmetrics`, started on a free loopback port with a throwaway data
//! directory, killed on drop. Skips (or fails under CI=true) when Prometheus is missing.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

pub(crate) struct Prometheus {
    child: Option<Child>,
    pub port: u16,
    dir: tempfile::TempDir,
    web_config: Option<PathBuf>,
    scheme: &'static str,
}

/// Whether the Prometheus binaries are here; under CI they must be (`.ci/run` installs them).
pub(crate) fn available() -> bool {
    let ok = ["prometheus", "promtool"].iter().all(|b| {
        Command::new(b)
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    });
    if !ok {
        if std::env::var_os("CI").is_some() {
            panic!("prometheus and promtool are required under CI; .ci/run installs them");
        }
        eprintln!(
            "skipping: prometheus/promtool not installed (apt-get install prometheus, or run .ci/run)"
        );
    }
    ok
}

impl Prometheus {
    /// Backfills `openmetrics` (must end with `# EOF`) and starts Prometheus on it.
    pub(crate) fn start(openmetrics: &str) -> Option<Prometheus> {
        Prometheus::start_with(openmetrics, None)
    }

    /// As `start`, with a `--web.config.file` (TLS, basic auth).
    pub(crate) fn start_with(openmetrics: &str, web_config: Option<&str>) -> Option<Prometheus> {
        if !available() {
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let om = dir.path().join("data.om");
        std::fs::write(&om, openmetrics).unwrap();
        let out = Command::new("promtool")
            .args(["tsdb", "create-blocks-from", "openmetrics", "-q"])
            .arg(&om)
            .arg(dir.path().join("data"))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "promtool: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        std::fs::write(
            dir.path().join("prometheus.yml"),
            "global: {scrape_interval: 15s}\nscrape_configs: []\n",
        )
        .unwrap();
        let scheme = if web_config.is_some_and(|w| w.contains("tls_server_config")) {
            "https"
        } else {
            "http"
        };
        let web_config = web_config.map(|w| {
            let p = dir.path().join("web.yml");
            std::fs::write(&p, w).unwrap();
            p
        });
        let mut p = Prometheus {
            child: None,
            port: 0,
            dir,
            web_config,
            scheme,
        };
        p.launch();
        Some(p)
    }

    /// Starts an empty Prometheus that scrapes `targets` (host:port) every `interval_s`
    /// seconds, keeping the labels they export (`honor_labels`), as the demo does.
    pub(crate) fn scraping(targets: &[String], interval_s: u32) -> Option<Prometheus> {
        if !available() {
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("data")).unwrap();
        let list = targets
            .iter()
            .map(|t| format!("'{t}'"))
            .collect::<Vec<_>>()
            .join(", ");
        std::fs::write(
            dir.path().join("prometheus.yml"),
            format!(
                "global: {{scrape_interval: {interval_s}s}}\nscrape_configs:\n- job_name: rackscope-simulator\n  honor_labels: true\n  scrape_timeout: {interval_s}s\n  static_configs: [{{targets: [{list}]}}]\n"
            ),
        )
        .unwrap();
        let mut p = Prometheus {
            child: None,
            port: 0,
            dir,
            web_config: None,
            scheme: "http",
        };
        p.launch();
        Some(p)
    }

    pub(crate) fn url(&self) -> String {
        format!("{}://127.0.0.1:{}", self.scheme, self.port)
    }

    fn launch(&mut self) {
        let mut cmd = Command::new("prometheus");
        cmd.arg(format!(
            "--config.file={}",
            self.dir.path().join("prometheus.yml").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{}", self.port))
        .arg(format!(
            "--storage.tsdb.path={}",
            self.dir.path().join("data").display()
        ))
        .arg("--storage.tsdb.retention.time=100y")
        .arg("--log.level=info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
        if let Some(w) = &self.web_config {
            cmd.arg(format!("--web.config.file={}", w.display()));
        }
        let mut child = cmd.spawn().unwrap();
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = mpsc::channel();
        // Keeps draining the log after the port is known, so Prometheus never blocks on a
        // full pipe.
        std::thread::spawn(move || {
            let mut tx = Some(tx);
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if let Some(t) = &tx
                    && line.contains("Listening on")
                    && let Some(a) = line.split("address=").nth(1)
                {
                    let port = a.trim().rsplit(':').next().unwrap_or("0").parse::<u16>();
                    let _ = t.send(port.unwrap_or(0));
                    tx = None;
                }
            }
        });
        let port = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("prometheus did not start listening");
        self.port = port;
        self.child = Some(child);
        self.wait_ready();
    }

    fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if self.scheme == "https" {
                // The TLS handshake is the client's business; a listening port is enough.
                if TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                    std::thread::sleep(Duration::from_millis(200));
                    return;
                }
            } else if let Ok(mut s) = TcpStream::connect(("127.0.0.1", self.port)) {
                let _ = s.write_all(b"GET /-/ready HTTP/1.0\r\n\r\n");
                let mut buf = String::new();
                let _ = s.read_to_string(&mut buf);
                if buf.starts_with("HTTP/1.0 200") || buf.starts_with("HTTP/1.1 200") {
                    return;
                }
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("prometheus on port {} never became ready", self.port);
    }

    /// SIGKILL: the way a crashed or unplugged Prometheus goes away.
    pub(crate) fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts again on the same port and data.
    pub(crate) fn restart(&mut self) {
        self.kill();
        self.launch();
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Builds an OpenMetrics text: `series(name, labels, values)` where values are
/// (unix seconds, value) in time order.
#[derive(Default)]
pub(crate) struct OpenMetrics {
    families: std::collections::BTreeMap<String, Vec<String>>,
}

impl OpenMetrics {
    pub(crate) fn series(&mut self, name: &str, labels: &[(&str, &str)], points: &[(u64, f64)]) {
        let l: Vec<String> = labels
            .iter()
            .map(|(k, v)| format!("{k}=\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\"")))
            .collect();
        let lines = self.families.entry(name.to_owned()).or_default();
        for (t, v) in points {
            lines.push(format!("{name}{{{}}} {v} {t}", l.join(",")));
        }
    }

    /// A constant value every 15 s over [from, to].
    pub(crate) fn constant(
        &mut self,
        name: &str,
        labels: &[(&str, &str)],
        from: u64,
        to: u64,
        v: f64,
    ) {
        let pts: Vec<(u64, f64)> = (from..=to).step_by(15).map(|t| (t, v)).collect();
        self.series(name, labels, &pts);
    }

    /// `before` until `switch` (exclusive), `after` from it, every 15 s over [from, to];
    /// a sample sits exactly at `switch`.
    pub(crate) fn step(
        &mut self,
        name: &str,
        labels: &[(&str, &str)],
        (from, switch, to): (u64, u64, u64),
        before: f64,
        after: f64,
    ) {
        let mut pts: Vec<(u64, f64)> = (from..switch).step_by(15).map(|t| (t, before)).collect();
        pts.extend((switch..=to).step_by(15).map(|t| (t, after)));
        self.series(name, labels, &pts);
    }

    pub(crate) fn finish(&self) -> String {
        let mut out = String::new();
        for (name, lines) in &self.families {
            out.push_str(&format!("# TYPE {name} gauge\n"));
            for l in lines {
                out.push_str(l);
                out.push('\n');
            }
        }
        out.push_str("# EOF\n");
        out
    }
}
