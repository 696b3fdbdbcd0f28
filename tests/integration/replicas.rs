//! Two real `rackscope serve` processes on one configuration, started 7 s apart, against a
//! real Prometheus scraping live data (issue #24): at every aligned instant both have
//! published, they report the same states and the same pending `for:` timer, and they fire
//! at the same instant, because refreshes are aligned to the wall clock and the later
//! replica rebuilds its timers from Prometheus before its first refresh.
//!
//! The data is live (serve evaluates at the current time), so the test serves its own
//! exporter and decides when the failure starts: just after an aligned instant, so that the
//! first replica sees it start and the second starts after it did.

use std::collections::BTreeMap;
use std::io::BufRead as _;
use std::process::{Child, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use crate::support;
use crate::support::prom::Prometheus;

/// `planner.cache_ttl_seconds`: the refresh period and the grid of aligned instants.
const TTL: u64 = 5;
/// The fan check's `for:`.
const FOR: u64 = 20;

const TOPOLOGY: &str = "\
sites:
- id: dc1
  name: DC 1
  rooms:
  - id: room-a
    name: Room A
    aisles:
    - id: aisle-1
      name: Aisle 1
      racks:
      - id: r01
        name: Rack 01
        template_id: plain
        devices:
        - {id: chassis-1, template_id: quad, u_position: 1, instance: \"n[01-04]\"}
";

const TEMPLATES: &str = "\
templates:
- id: quad
  name: Quad-node chassis
  u_height: 2
  layout: {type: grid, rows: 2, cols: 2, matrix: [[1, 2], [3, 4]]}
  checks: [fake_temp, fake_fan]
rack_templates:
- id: plain
  name: Plain rack
  u_height: 42
";

const CHECKS: &str = "\
checks:
- id: fake_temp
  name: Temperature
  scope: node
  expr: fake_temp_celsius{instance=~\"$instances\"}
  output: numeric
  rules:
  - {op: '>', value: 45, severity: CRIT}
  - {op: '>', value: 38, severity: WARN}
- id: fake_fan
  name: Fan state
  scope: node
  expr: fake_fan_state{instance=~\"$instances\"}
  output: numeric
  for: 20s
  rules:
  - {op: '==', value: 2, severity: CRIT}
";

/// The exporter's page. n01 is WARN from the start (so that it is in alert and the API
/// lists its pending escalation with its since-time), n02 CRIT without `for:`, and n01's
/// fan fails once `failing` is set.
fn page(failing: bool) -> String {
    let fan = if failing { 2 } else { 0 };
    format!(
        "# TYPE fake_temp_celsius gauge\n\
         fake_temp_celsius{{instance=\"n01\"}} 40\n\
         fake_temp_celsius{{instance=\"n02\"}} 50\n\
         fake_temp_celsius{{instance=\"n03\"}} 30\n\
         fake_temp_celsius{{instance=\"n04\"}} 30\n\
         # TYPE fake_fan_state gauge\n\
         fake_fan_state{{instance=\"n01\"}} {fan}\n\
         fake_fan_state{{instance=\"n02\"}} 0\n\
         fake_fan_state{{instance=\"n03\"}} 0\n\
         fake_fan_state{{instance=\"n04\"}} 0\n"
    )
}

/// Serves `page` on a loopback port, one response per connection; its host:port.
async fn exporter(failing: Arc<AtomicBool>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    tokio::spawn(async move {
        while let Ok((mut conn, _)) = listener.accept().await {
            let body = page(failing.load(Ordering::SeqCst));
            tokio::spawn(async move {
                let mut req = Vec::new();
                let mut buf = [0u8; 1024];
                // Prometheus sends a GET without a body: the blank line ends it.
                while !req.windows(4).any(|w| w == b"\r\n\r\n") && req.len() < 16_384 {
                    match conn.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => req.extend_from_slice(&buf[..n]),
                    }
                }
                let head = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                let _ = conn.write_all(head.as_bytes()).await;
                let _ = conn.write_all(body.as_bytes()).await;
                let _ = conn.shutdown().await;
            });
        }
    });
    addr
}

/// A `rackscope serve` child process, killed on drop.
struct Replica {
    child: Child,
    base: String,
}

impl Replica {
    fn start(app: &std::path::Path) -> Replica {
        let mut child = support::bin()
            .args(["serve", app.to_str().unwrap(), "--listen", "127.0.0.1:0"])
            .env("RACKSCOPE_LOG", "error")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        // Keeps draining stderr after the address, so the server never blocks on the pipe.
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stderr)
                .lines()
                .map_while(Result::ok)
            {
                if let Some(url) = line.split("listening on ").nth(1) {
                    let _ = tx.send(url.trim().to_owned());
                }
            }
        });
        let base = rx.recv_timeout(Duration::from_secs(20)).unwrap();
        Replica { child, base }
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What one replica shows at one snapshot: every node's state, and each alert's state,
/// checks and pending escalation (severity, since). `active_since` is left out: it is
/// the first refresh of a process's run in alert, rebuilt only as far back as the longest
/// `for:` window.
#[derive(Debug, Clone, PartialEq)]
struct Shown {
    nodes: BTreeMap<String, String>,
    alerts: Vec<AlertShown>,
    active_since: BTreeMap<String, u64>,
}

/// One alert as `/api/alerts/active` lists it, `active_since` aside.
#[derive(Debug, Clone, PartialEq)]
struct AlertShown {
    node: String,
    state: String,
    /// `id severity` of each failing check.
    checks: Vec<String>,
    /// The pending escalation: severity and since (unix seconds).
    pending: Option<(String, u64)>,
}

impl Shown {
    fn same_as(&self, other: &Shown) -> bool {
        self.nodes == other.nodes && self.alerts == other.alerts
    }

    fn node(&self, n: &str) -> &str {
        self.nodes.get(n).map_or("", String::as_str)
    }

    fn pending(&self, n: &str) -> Option<(String, u64)> {
        self.alerts
            .iter()
            .find(|a| a.node == n)
            .and_then(|a| a.pending.clone())
    }
}

async fn json(http: &reqwest::Client, url: String) -> Option<serde_json::Value> {
    let r = http.get(url).send().await.ok()?;
    if !r.status().is_success() {
        return None;
    }
    r.json().await.ok()
}

/// The snapshot a replica serves now: its `taken_ts` (ms) and what it shows, read between
/// two looks at the snapshot's sequence number so that both reads saw the same one.
async fn observe(http: &reqwest::Client, base: &str) -> Option<(u64, Shown)> {
    let seq = |v: &serde_json::Value| {
        let s = &v["snapshot"];
        Some((s["seq"].as_u64()?, s["taken_ts"].as_u64()?))
    };
    let before = seq(&json(http, format!("{base}/api/stats/telemetry")).await?)?;
    let rack = json(http, format!("{base}/api/racks/r01/state")).await?;
    let alerts = json(http, format!("{base}/api/alerts/active")).await?;
    let after = seq(&json(http, format!("{base}/api/stats/telemetry")).await?)?;
    if before != after {
        return None;
    }
    let nodes = rack["nodes"]
        .as_object()?
        .iter()
        .map(|(k, v)| (k.clone(), v["state"].as_str().unwrap_or("").to_owned()))
        .collect();
    let mut list = Vec::new();
    let mut active_since = BTreeMap::new();
    for a in alerts["alerts"].as_array()? {
        let id = a["node_id"].as_str().unwrap_or("").to_owned();
        let checks = a["checks"]
            .as_array()?
            .iter()
            .map(|c| {
                format!(
                    "{} {}",
                    c["id"].as_str().unwrap_or(""),
                    c["severity"].as_str().unwrap_or("")
                )
            })
            .collect();
        let pending = a["pending"].as_object().map(|p| {
            (
                p["severity"].as_str().unwrap_or("").to_owned(),
                p["since"].as_u64().unwrap_or(0),
            )
        });
        active_since.insert(id.clone(), a["active_since"].as_u64().unwrap_or(0));
        list.push(AlertShown {
            node: id,
            state: a["state"].as_str().unwrap_or("").to_owned(),
            checks,
            pending,
        });
    }
    Some((
        before.1,
        Shown {
            nodes,
            alerts: list,
            active_since,
        },
    ))
}

fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

async fn sleep_until_unix(t: f64) {
    let d = t - unix_now();
    if d > 0.0 {
        tokio::time::sleep(Duration::from_secs_f64(d)).await;
    }
}

/// The samples of `n01`'s fan series in the last 30 s, (unix seconds, value).
async fn fan_samples(http: &reqwest::Client, prom: &str) -> Vec<(f64, f64)> {
    let Some(v) = json(
        http,
        format!("{prom}/api/v1/query?query=fake_fan_state%7Binstance%3D%22n01%22%7D%5B30s%5D"),
    )
    .await
    else {
        return Vec::new();
    };
    v["data"]["result"]
        .get(0)
        .and_then(|s| s["values"].as_array())
        .map(|pts| {
            pts.iter()
                .filter_map(|p| {
                    let t = p.get(0)?.as_f64()?;
                    let v = p.get(1)?.as_str()?.parse().ok()?;
                    Some((t, v))
                })
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_started_apart_agree_on_states_and_for_timers() {
    let started = Instant::now();
    let failing = Arc::new(AtomicBool::new(false));
    let target = exporter(failing.clone()).await;
    let Some(prom) = Prometheus::scraping(&[target], 1) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for sub in ["templates", "checks", "metrics"] {
        std::fs::create_dir_all(d.join(sub)).unwrap();
    }
    std::fs::write(
        d.join("app.yaml"),
        format!(
            "app:\n  name: Replicas\npaths:\n  topology: topology.yaml\n  templates: templates\n  checks: checks\n  metrics: metrics\ntelemetry:\n  prometheus_url: {}\nplanner:\n  cache_ttl_seconds: {TTL}\n  stale_after_seconds: 60\n",
            prom.url()
        ),
    )
    .unwrap();
    std::fs::write(d.join("topology.yaml"), TOPOLOGY).unwrap();
    std::fs::write(d.join("templates/templates.yaml"), TEMPLATES).unwrap();
    std::fs::write(d.join("checks/checks.yaml"), CHECKS).unwrap();
    std::fs::write(d.join("metrics/metrics.yaml"), "metrics: []\n").unwrap();
    let out = support::bin().arg("check").arg(d).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let app = d.join("app.yaml");

    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(15);
    while fan_samples(&http, &prom.url()).await.is_empty() {
        assert!(
            Instant::now() < deadline,
            "Prometheus never scraped the exporter"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // The failure starts just after an aligned instant g; Prometheus's next scrape (every
    // second) records it before g + TTL, the first aligned instant that sees it: P.
    let grid = |t: f64| (t / TTL as f64).floor() * TTL as f64;
    sleep_until_unix(grid(unix_now()) + TTL as f64 + 0.2).await;
    failing.store(true, Ordering::SeqCst);
    let deadline = Instant::now() + Duration::from_secs(4);
    let first_failing = loop {
        if let Some(&(t, _)) = fan_samples(&http, &prom.url())
            .await
            .iter()
            .find(|(_, v)| *v == 2.0)
        {
            break t;
        }
        assert!(
            Instant::now() < deadline,
            "Prometheus did not record the failure within 4 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let p = (first_failing / TTL as f64).ceil() as u64 * TTL;

    // A starts before P, so it sees the failure begin at its own refresh at P; B starts
    // 7 s later, after P, so without the rebuild it would count from its first refresh.
    let t_a = p as f64 - 1.2;
    assert!(
        unix_now() < t_a,
        "the failure reached Prometheus too late to start replica A before it ({:.1} s past P - 1.2)",
        unix_now() - t_a
    );
    sleep_until_unix(t_a).await;
    let a = Replica::start(&app);

    // Every snapshot of each replica, by the instant it was taken: A's alone until B
    // starts, then both until both have shown the firing instant and the one after it.
    let fire = (p + FOR) * 1000;
    let mut seen: [BTreeMap<u64, Shown>; 2] = [BTreeMap::new(), BTreeMap::new()];
    let poll = async |seen: &mut [BTreeMap<u64, Shown>; 2], rs: &[&Replica]| {
        for (i, r) in rs.iter().enumerate() {
            if let Some((ts, shown)) = observe(&http, &r.base).await {
                seen[i].entry(ts).or_insert(shown);
            }
        }
        tokio::time::sleep(Duration::from_millis(150)).await;
    };
    while unix_now() < t_a + 7.0 {
        poll(&mut seen, &[&a]).await;
    }
    let b = Replica::start(&app);
    let deadline = Instant::now() + Duration::from_secs(FOR + 3 * TTL + 10);
    while !seen.iter().all(|m| m.contains_key(&(fire + TTL * 1000))) {
        assert!(
            Instant::now() < deadline,
            "the replicas did not both publish the instant after firing: {:?} / {:?}",
            seen[0].keys().collect::<Vec<_>>(),
            seen[1].keys().collect::<Vec<_>>()
        );
        poll(&mut seen, &[&a, &b]).await;
    }
    drop((a, b));

    let [sa, sb] = &seen;
    let b_first = *sb.keys().next().unwrap();
    assert_eq!(b_first % (TTL * 1000), 0, "B refreshes at aligned instants");
    assert!(
        b_first > p * 1000,
        "B's first refresh ({b_first}) must come after the failure began (P = {p})"
    );
    let common: Vec<u64> = sb.keys().copied().filter(|t| sa.contains_key(t)).collect();
    assert!(
        common.len() >= 3,
        "too few shared instants: {common:?} (A {:?}, B {:?})",
        sa.keys().collect::<Vec<_>>(),
        sb.keys().collect::<Vec<_>>()
    );
    for t in &common {
        let (x, y) = (&sa[t], &sb[t]);
        assert!(
            x.same_as(y),
            "at {t} the replicas differ:\nA {x:?}\nB {y:?}"
        );
        assert_eq!(x.node("n02"), "CRIT");
        assert_eq!(x.node("n03"), "OK");
        assert_eq!(x.node("n04"), "OK");
        if *t < fire {
            assert_eq!(x.node("n01"), "WARN", "at {t}: pending, not yet fired");
            // The pending CRIT dates from P on both: A saw it start, B rebuilt it from
            // Prometheus. A fresh process without the rebuild would give B's first refresh.
            assert_eq!(x.pending("n01"), Some(("CRIT".into(), p)), "A at {t}");
            assert_eq!(y.pending("n01"), Some(("CRIT".into(), p)), "B at {t}");
            assert!(p * 1000 < b_first);
        } else {
            assert_eq!(x.node("n01"), "CRIT", "at {t}: fired");
            assert_eq!(x.pending("n01"), None);
        }
    }
    assert!(
        common.iter().any(|t| *t < fire),
        "no shared pending instant: {common:?}"
    );
    // Both fire at P + for:, each at its first snapshot at or after it.
    let fired = |m: &BTreeMap<u64, Shown>| {
        m.iter()
            .find(|(_, s)| s.node("n01") == "CRIT")
            .map(|(t, _)| *t)
    };
    assert_eq!(fired(sa), Some(fire));
    assert_eq!(fired(sb), Some(fire));
    // A saw the failure begin: its snapshot before P shows nothing pending.
    let before_p = sa
        .range(..p * 1000)
        .next_back()
        .map(|(_, s)| s.pending("n01"));
    assert_eq!(
        before_p,
        Some(None),
        "A's snapshot before P: {:?}",
        sa.keys()
    );

    eprintln!(
        "replicas: P = {p}, A's instants {:?}, B's {:?}, shared {}, fired at {}; alert active_since A {:?} / B {:?}; {:.1} s",
        sa.keys().map(|t| t / 1000).collect::<Vec<_>>(),
        sb.keys().map(|t| t / 1000).collect::<Vec<_>>(),
        common.len(),
        fire / 1000,
        sa[&common[0]].active_since,
        sb[&common[0]].active_since,
        started.elapsed().as_secs_f64()
    );
}
