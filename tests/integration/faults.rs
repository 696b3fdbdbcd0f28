//! The fault suite: the health fixture against a real Prometheus behind the faulty front
//! (`faulty.rs`), one fault after another at fixed evaluation times, asserting for each the
//! states, the headline, the banner and `/metrics`, and recovery when the fault ends; then
//! the real `rackscope serve` process under oversized answers, for its memory.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rackscope::server::AppState;
use rackscope_core::Severity::{self, *};
use rackscope_core::telemetry::{Engine, Snapshot};
use rackscope_prometheus::PrometheusClient;

use crate::support;
use crate::support::faulty::{Fault, Faulty};
use crate::support::fixture::{T0, data};
use crate::support::prom::Prometheus;
use crate::support::router::get;

fn at(offset: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(T0 + offset)
}

struct Rig {
    _prom: Prometheus,
    faulty: Faulty,
    state: AppState,
    /// The same configuration reading Prometheus directly, refreshed at the same times:
    /// what the states are when nothing is wrong (`for:` timers move on with time).
    reference: Arc<Engine>,
}

impl Rig {
    async fn start() -> Option<Rig> {
        let prom = Prometheus::start(&data())?;
        let faulty = Faulty::start(prom.port, None).await;
        let mut loaded = support::load(&support::root().join("tests/fixtures/health/app.yaml"));
        let t = &mut loaded.config.app.telemetry;
        t.prometheus_url = Some(faulty.url());
        t.prometheus_timeout_seconds = 1.0;
        t.prometheus_connect_timeout_seconds = 0.5;
        loaded.config.app.planner.stale_after_seconds = 30;
        let client =
            PrometheusClient::from_config(&loaded.config.app.telemetry, Path::new(".")).unwrap();
        let mut direct = loaded.config.clone();
        direct.app.telemetry.prometheus_url = Some(prom.url());
        let direct_client =
            PrometheusClient::from_config(&direct.app.telemetry, Path::new(".")).unwrap();
        let engine = Arc::new(Engine::new(Arc::new(loaded.config), Arc::new(client)));
        Some(Rig {
            _prom: prom,
            faulty,
            state: AppState::new(engine).unwrap(),
            reference: Arc::new(Engine::new(Arc::new(direct), Arc::new(direct_client))),
        })
    }

    async fn refresh(&self, fault: Fault, offset: u64) -> Arc<Snapshot> {
        self.faulty.set(fault);
        self.reference.refresh_at(at(offset)).await;
        self.state.engine.refresh_at(at(offset)).await
    }

    /// The rack states without any fault at the last refresh.
    fn healthy(&self) -> Vec<Option<Severity>> {
        racks(&self.reference.snapshot().unwrap())
    }

    async fn headline(&self) -> serde_json::Value {
        get(&self.state, "/api/stats/global").await.json()
    }

    async fn metrics(&self) -> String {
        get(&self.state, "/metrics").await.text()
    }
}

fn racks(s: &Snapshot) -> Vec<Option<Severity>> {
    s.health.racks.iter().map(|r| r.state).collect()
}

fn monitored(s: &Snapshot) -> Vec<Severity> {
    s.health.racks.iter().filter_map(|r| r.state).collect()
}

/// Every reason a check of any node, device or rack carries.
fn reasons(s: &Snapshot) -> Vec<String> {
    s.health
        .nodes
        .iter()
        .chain(&s.health.devices)
        .chain(&s.health.racks)
        .flat_map(|t| &t.checks)
        .filter_map(|c| c.reason().map(str::to_owned))
        .collect()
}

fn gauge(metrics: &str, name: &str) -> Option<f64> {
    metrics
        .lines()
        .find(|l| l.starts_with(name) && l[name.len()..].starts_with(' '))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_fault_of_prometheus_is_shown_as_what_it_is_and_recovers() {
    let Some(rig) = Rig::start().await else {
        return;
    };
    // The world as it is: node.1 down makes its rack CRIT.
    let base = rig.refresh(Fault::Pass, 0).await;
    assert!(base.errors.is_empty(), "{:?}", base.errors);
    assert_eq!(rig.headline().await["status"], "CRIT");
    assert_eq!(racks(&base), rig.healthy());
    assert_eq!(
        gauge(&rig.metrics().await, "rackscope_last_refresh_success"),
        Some(1.0)
    );

    // NaN is not a value: UNKNOWN with the reason, never OK, and the headline says so.
    let s = rig.refresh(Fault::Values("NaN"), 10).await;
    assert!(s.stale.is_none());
    assert!(
        monitored(&s).iter().all(|st| *st == Unknown),
        "{:?}",
        racks(&s)
    );
    assert!(reasons(&s).iter().any(|r| r.contains("value is NaN")));
    assert_eq!(rig.headline().await["status"], "UNKNOWN");

    // +Inf compares as a number (docs/health.md): above every temperature threshold.
    let s = rig.refresh(Fault::Values("+Inf"), 20).await;
    assert!(monitored(&s).contains(&Crit), "{:?}", racks(&s));
    assert_eq!(rig.headline().await["status"], "CRIT");

    let s = rig.refresh(Fault::Pass, 30).await;
    assert_eq!(racks(&s), rig.healthy(), "recovered after odd values");

    // Every query failing, whatever the way: a failed refresh. The last states stay,
    // marked stale, with the banner and /metrics saying so; past
    // planner.stale_after_seconds (30 here) every state and the headline are UNKNOWN;
    // the first good refresh restores everything.
    let faults = [
        Fault::Error500,
        Fault::Truncated,
        Fault::Unauthorized(20 << 20),
        Fault::Oversized(300_000),
        Fault::Hang,
        Fault::Close,
        Fault::Drip(Duration::from_millis(200)),
    ];
    for (i, fault) in faults.into_iter().enumerate() {
        let t = 40 + i as u64 * 55;
        let before = racks(&rig.state.engine.snapshot().unwrap());
        let s = rig.refresh(fault.clone(), t).await;
        let stale = s
            .stale
            .as_ref()
            .unwrap_or_else(|| panic!("{fault:?}: not stale"));
        assert!(!stale.expired, "{fault:?}");
        assert_eq!(
            racks(&s),
            before,
            "{fault:?}: the last states, marked stale"
        );
        assert!(!s.errors.is_empty(), "{fault:?}");
        let longest = s.errors.iter().map(|e| e.error.to_string().len()).max();
        assert!(
            longest < Some(1_024),
            "{fault:?}: an error of {longest:?} bytes"
        );
        let h = rig.headline().await;
        assert_eq!(h["stale"], true, "{fault:?}: {h}");
        assert_eq!(h["last_refresh_failed"], true, "{fault:?}: {h}");
        let m = rig.metrics().await;
        assert_eq!(
            gauge(&m, "rackscope_last_refresh_success"),
            Some(0.0),
            "{fault:?}"
        );
        assert_eq!(
            gauge(&m, "rackscope_snapshot_stale"),
            Some(1.0),
            "{fault:?}"
        );
        let page = get(&rig.state, "/").await.text();
        assert!(
            page.contains("Refreshes failing for") || page.contains("unreachable"),
            "{fault:?}: no banner"
        );

        let s = rig.refresh(fault.clone(), t + 40).await;
        assert!(s.stale.as_ref().is_some_and(|st| st.expired), "{fault:?}");
        assert!(
            monitored(&s).iter().all(|st| *st == Unknown),
            "{fault:?}: {:?}",
            racks(&s)
        );
        assert_eq!(rig.headline().await["status"], "UNKNOWN", "{fault:?}");
        // The reason names the failure, clipped: a 20 MB error page is not in every check.
        let longest = reasons(&s).iter().map(String::len).max().unwrap_or(0);
        assert!(
            (1..=2_048).contains(&longest),
            "{fault:?}: reason of {longest} bytes"
        );
        let rack = get(&rig.state, "/api/racks/r01/state").await;
        assert!(
            rack.body.len() < 256 * 1024,
            "{fault:?}: {} bytes",
            rack.body.len()
        );
        let page = get(&rig.state, "/views/rack/r01").await;
        assert!(
            page.body.len() < 512 * 1024,
            "{fault:?}: {} bytes",
            page.body.len()
        );
        if let Fault::Oversized(_) = fault {
            assert!(
                s.errors
                    .iter()
                    .any(|e| e.error.to_string().contains("series")),
                "{:?}",
                s.errors.first()
            );
        }

        let s = rig.refresh(Fault::Pass, t + 50).await;
        assert!(s.stale.is_none(), "{fault:?}: not recovered");
        assert_eq!(racks(&s), rig.healthy(), "{fault:?}: not recovered");
        assert_eq!(rig.headline().await["status"], "CRIT", "{fault:?}");
        assert_eq!(
            gauge(&rig.metrics().await, "rackscope_last_refresh_success"),
            Some(1.0)
        );
    }
}

/// The server's resident memory, from /proc.
fn rss_mib(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

/// `rackscope serve` as an operator runs it, on a copy of the health fixture reading
/// Prometheus through `faulty`; killed on drop.
struct Server {
    child: std::process::Child,
    base: String,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    fn start(faulty: &Faulty) -> Server {
        use std::io::BufRead as _;
        let dir = tempfile::tempdir().unwrap();
        support::copy_dir(&support::root().join("tests/fixtures/health"), dir.path());
        let app = dir.path().join("app.yaml");
        let text = std::fs::read_to_string(&app)
            .unwrap()
            .replace("http://127.0.0.1:9090", &faulty.url())
            .replace("cache_ttl_seconds: 5", "cache_ttl_seconds: 1")
            // Failed refreshes turn UNKNOWN after this long (a failed refresh keeps the
            // last states, marked stale, until then).
            .replace("stale_after_seconds: 60", "stale_after_seconds: 5");
        std::fs::write(&app, text).unwrap();
        let mut child = support::bin()
            .args(["serve", app.to_str().unwrap(), "--listen", "127.0.0.1:0"])
            .env("RACKSCOPE_LOG", "error")
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
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
        let base = rx.recv_timeout(Duration::from_secs(30)).unwrap();
        Server {
            child,
            base,
            _dir: dir,
        }
    }

    async fn status(&self) -> String {
        let Result::Ok(r) = rackscope_prometheus::tls::http_client()
            .get(format!("{}/api/stats/global", self.base))
            .send()
            .await
        else {
            return String::new();
        };
        r.json::<serde_json::Value>().await.map_or_else(
            |_| String::new(),
            |v| v["status"].as_str().unwrap_or("").to_owned(),
        )
    }

    /// Polls the headline until it is `want` (at most a minute); the peak RSS meanwhile.
    async fn until(&self, want: &str) -> f64 {
        let mut peak = 0.0f64;
        for _ in 0..600 {
            peak = peak.max(rss_mib(self.child.id()));
            if self.status().await == want {
                return peak;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the headline never became {want}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_process_keeps_its_memory_under_oversized_answers() {
    let Some(prom) = Prometheus::start(&data()) else {
        return;
    };
    // The server asks about now; the front pins its queries to the backfilled world.
    let faulty = Faulty::start(prom.port, Some((T0 + 10) as f64)).await;
    let server = Server::start(&faulty);
    server.until("CRIT").await;
    let settled = rss_mib(server.child.id());
    // Every answer: 300,000 series (about 36 MB), three times the default series cap.
    faulty.set(Fault::Oversized(300_000));
    let mut peak = server.until("UNKNOWN").await;
    for _ in 0..50 {
        peak = peak.max(rss_mib(server.child.id()));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(server.status().await, "UNKNOWN");
    faulty.set(Fault::Pass);
    server.until("CRIT").await;
    // Freed memory is given back a few seconds after large answers (src/mem.rs).
    tokio::time::sleep(Duration::from_secs(12)).await;
    let after = rss_mib(server.child.id());
    eprintln!("server RSS: settled {settled:.0} MiB, peak {peak:.0} MiB, after {after:.0} MiB");
    assert!(
        peak < settled + 768.0,
        "peak {peak:.0} MiB from {settled:.0} MiB"
    );
    assert!(
        after < settled + 64.0,
        "kept {after:.0} MiB after a spike from {settled:.0} MiB"
    );
}
