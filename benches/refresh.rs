//! Refresh benchmarks (issue #3), printing figures rather than asserting them:
//! 1. plan and evaluate a generated 100,000-instance topology (and the sizes listed in
//!    `RACKSCOPE_BENCH_INSTANCES`, e.g. `100000,1000000`) against a fake source that answers
//!    one series per id: load time, CPU time of one full refresh (every thread of the
//!    process: evaluation runs on the blocking pool), resident memory, and the latency of
//!    a room-state read from another thread while refreshes run;
//! 2. hpc-cluster against a real Prometheus holding synthetic series for every planned
//!    query: refresh wall time against the floor, the sum of Prometheus's own query times
//!    divided by the concurrency (target: within 1.2×).
//!
//! Run: `cargo bench --bench refresh` (release build). Part 2 needs `prometheus`/`promtool`
//! and `../shared`; it is skipped with a message otherwise.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

// The test harness's Prometheus launcher; the bench uses only part of it.
#[allow(dead_code)]
#[path = "../tests/integration/support/prom.rs"]
mod prom;
mod support;
use support::{flatten, process_cpu_ns};

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant, UNIX_EPOCH};

use rackscope_core::telemetry::{Engine, Labels, plan};
use rackscope_core::testkit::{Table, ids_in, one_series_per_id};

/// On-CPU time of the calling thread, in nanoseconds (scheduler statistics).
fn thread_cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// `VmRSS` and `VmHWM` (peak) of the process, in MiB.
fn rss_mib() -> (f64, f64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |k: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(k))
            .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
            .unwrap_or(0.0)
            / 1024.0
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// Resets `VmHWM` to the current resident size (`clear_refs` value 5), so that the next
/// reading is the peak of what ran in between.
fn reset_peak() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

fn ms(ns: u64) -> f64 {
    ns as f64 / 1e6
}

fn main() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let sizes = std::env::var("RACKSCOPE_BENCH_INSTANCES").unwrap_or_else(|_| "100000".into());
    for n in sizes
        .split(',')
        .filter_map(|n| n.trim().parse::<usize>().ok())
    {
        fake(&rt, n);
    }
    real_hpc(&rt);
}

fn fake(rt: &tokio::runtime::Runtime, instances: usize) {
    let dir = tempfile::tempdir().unwrap();
    let shape = rackscope_core::generate::Shape::for_instances(instances);
    rackscope_core::generate::write(dir.path(), shape).unwrap();
    rackscope::mem::trim();
    let (rss_start, _) = rss_mib();
    reset_peak();
    let t = Instant::now();
    let loaded = rackscope_core::load_with_env(&dir.path().join("app.yaml"), std::iter::empty());
    let load_ms = t.elapsed().as_secs_f64() * 1000.0;
    let (_, load_peak) = rss_mib();
    assert!(loaded.is_usable());
    let config = Arc::new(loaded.config);

    let c0 = thread_cpu_ns();
    let p = plan(&config);
    let plan_ns = thread_cpu_ns() - c0;

    let (rss_loaded, _) = rss_mib();
    // One series per id for every planned query, built before timing, with the labels a
    // real answer carries besides the id (the metric's name and the scrape job), since
    // label sets are most of an answer's memory.
    let mut answers = one_series_per_id(&config, &p, 1.0);
    for a in answers.values_mut() {
        for s in &mut a.samples {
            let extra = [
                ("__name__", "node_hardware_state"),
                ("job", "node-exporter"),
            ];
            s.labels = Labels::from_pairs(s.labels.iter().chain(extra));
        }
    }
    let (rss_answers, _) = rss_mib();
    let series: usize = answers.values().map(|a| a.samples.len()).sum();
    let answers = Arc::new(answers);
    let a2 = answers.clone();
    let source = Arc::new(
        Table::new(Vec::new()).with_hook(move |q| Some(Ok(a2.get(q).cloned().unwrap_or_default()))),
    );
    let engine = Engine::new(config.clone(), source);
    let at = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    // Warm-up, then measured refreshes.
    let engine = Arc::new(engine);
    rt.block_on(engine.refresh_at(at));
    let runs = 10;
    let mut cpu = Vec::new();
    let mut wall = Vec::new();
    for i in 0..runs {
        let c = process_cpu_ns();
        let t = Instant::now();
        let s = rt.block_on(engine.refresh_at(at + Duration::from_secs(30 * (i + 1))));
        wall.push(t.elapsed().as_secs_f64() * 1000.0);
        cpu.push(ms(process_cpu_ns() - c));
        assert!(s.errors.is_empty());
        // Every target got its series (value 1 is WARN for the IPMI state check).
        assert_eq!(s.health.global, Some(rackscope_core::Severity::Warn));
    }
    // A reader on its own thread, as a request handler is: the state of the first room's
    // racks from the current snapshot, timed while the refreshes run, then as long again
    // with none running.
    let (reading, reader) = spawn_reader(engine.clone());
    let t = Instant::now();
    for i in 0..5 {
        rt.block_on(engine.refresh_at(at + Duration::from_secs(30 * (runs + i + 1))));
    }
    let refreshing = t.elapsed();
    reading.store(false, std::sync::atomic::Ordering::Relaxed);
    let lat = sorted(reader.join().unwrap());
    let (reading, reader) = spawn_reader(engine.clone());
    std::thread::sleep(refreshing);
    reading.store(false, std::sync::atomic::Ordering::Relaxed);
    let idle = sorted(reader.join().unwrap());
    let pct = |lat: &[f64], q: f64| lat[((lat.len() as f64 - 1.0) * q) as usize];
    let (rss, peak) = rss_mib();
    // The server's trimmer (`rackscope::mem`) gives freed answer memory back after large
    // answers: what stays resident in `rackscope serve`.
    rackscope::mem::trim();
    let (rss_trimmed, _) = rss_mib();
    // A refresh as the server runs it, the trimmer having run since the last one: the
    // highest resident size it reaches, less the fake source's stored answers (a real
    // source holds none; the copies it hands out stand for the decoded answers).
    let mut refresh_peak: f64 = 0.0;
    for i in 0..3 {
        rackscope::mem::trim();
        reset_peak();
        rt.block_on(engine.refresh_at(at + Duration::from_secs(30 * (2 * runs + i + 1))));
        refresh_peak = refresh_peak.max(rss_mib().1);
    }
    cpu.sort_by(f64::total_cmp);
    wall.sort_by(f64::total_cmp);
    println!("== fake source, generated topology ==");
    println!("load (read, check, bind): {load_ms:.0} ms wall");
    println!(
        "instances {}  checks bound {}  queries {}  series per refresh {} (3 labels each)",
        config.topology.instances.len(),
        p.checks.len(),
        p.queries.len(),
        series
    );
    println!(
        "plan (once per configuration load): {:.1} ms CPU",
        ms(plan_ns)
    );
    println!(
        "refresh (execute + evaluate + publish), {runs} runs: CPU best {:.1} ms, median {:.1} ms; wall median {:.1} ms  [target: < 200 ms CPU]",
        cpu[0],
        cpu[runs as usize / 2],
        wall[runs as usize / 2]
    );
    for (when, lat) in [("during the refreshes", &lat), ("between refreshes", &idle)] {
        println!(
            "room-state read on another thread {when}: {} reads, p50 {:.3} ms, p99 {:.3} ms, max {:.3} ms",
            lat.len(),
            pct(lat, 0.5),
            pct(lat, 0.99),
            lat[lat.len() - 1]
        );
    }
    println!(
        "resident memory: {rss_loaded:.0} MiB loaded and planned; {:.0} MiB more for the fake source's answers; {rss:.0} MiB after the refreshes ({:.0} MiB without those answers), {peak:.0} MiB peak",
        rss_answers - rss_loaded,
        rss - (rss_answers - rss_loaded)
    );
    println!(
        "resident memory after the server's heap trim: {rss_trimmed:.0} MiB ({:.0} MiB without the fake source's answers)",
        rss_trimmed - (rss_answers - rss_loaded)
    );
    println!(
        "peak resident memory: loading {load_peak:.0} MiB (from {rss_start:.0} before); a refresh after a trim {refresh_peak:.0} MiB ({:.0} MiB without the fake source's answers)  [target: <= 2048 MiB]",
        refresh_peak - (rss_answers - rss_loaded)
    );
}

/// Reads the first room's rack states from the engine's current snapshot in a loop on a
/// thread of its own until the flag is cleared; returns each read's latency in ms.
fn spawn_reader(
    engine: Arc<Engine>,
) -> (
    Arc<std::sync::atomic::AtomicBool>,
    std::thread::JoinHandle<Vec<f64>>,
) {
    let reading = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let flag = reading.clone();
    let handle = std::thread::spawn(move || {
        let mut lat = Vec::new();
        while flag.load(std::sync::atomic::Ordering::Relaxed) {
            let t = Instant::now();
            let s = engine.snapshot().unwrap();
            let topo = &s.config.topology;
            let room = topo.rooms.ixs().next().unwrap();
            let crit: usize = topo
                .room_racks(room)
                .map(|x| rackscope_core::read::rack_summary(&s, x).node_crit)
                .sum();
            std::hint::black_box(crit);
            lat.push(t.elapsed().as_secs_f64() * 1000.0);
        }
        lat
    });
    (reading, handle)
}

fn sorted(mut v: Vec<f64>) -> Vec<f64> {
    v.sort_by(f64::total_cmp);
    v
}

/// The series (`name{labels}`) that make every selector of a planned query match each of
/// its ids.
fn synth_series(expr: &str, out: &mut BTreeSet<String>) {
    use promql_parser::label::MatchOp;
    use promql_parser::parser::{Expr, parse};
    use promql_parser::util::{ExprVisitor, walk_expr};
    struct V(Vec<(String, Vec<(String, String)>)>);
    impl ExprVisitor for V {
        type Error = ();
        fn pre_visit(&mut self, e: &Expr) -> Result<bool, ()> {
            if let Expr::VectorSelector(vs) = e {
                let mut fixed = Vec::new();
                let mut name = vs.name.clone().unwrap_or_default();
                for m in &vs.matchers.matchers {
                    match &m.op {
                        MatchOp::Equal if m.name == "__name__" => name = m.value.clone(),
                        MatchOp::Equal => fixed.push((m.name.clone(), m.value.clone())),
                        MatchOp::Re(_) if m.value.starts_with("^(?:") => {
                            // A planner alternation: one series per id, added below.
                            fixed.push((m.name.clone(), String::new()));
                        }
                        MatchOp::Re(_) => {
                            let first = m.value.split('|').next().unwrap_or("");
                            if !first.contains('*') && !first.is_empty() {
                                fixed.push((m.name.clone(), first.trim_matches(['(', ')']).into()));
                            }
                        }
                        _ => {}
                    }
                }
                self.0.push((name, fixed));
            }
            Ok(true)
        }
    }
    let Ok(parsed) = parse(expr) else { return };
    let mut v = V(Vec::new());
    let _ = walk_expr(&mut v, &parsed);
    for (name, fixed) in v.0 {
        if name.is_empty() {
            continue;
        }
        for (label, _) in fixed.iter().filter(|(_, v)| v.is_empty()) {
            for id in ids_in(expr, label) {
                let labels: Vec<String> = fixed
                    .iter()
                    .map(|(k, v)| {
                        let v = if v.is_empty() { &id } else { v };
                        format!("{k}=\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\""))
                    })
                    .collect();
                out.insert(format!("{name}{{{}}}", labels.join(",")));
            }
        }
    }
}

fn real_hpc(rt: &tokio::runtime::Runtime) {
    let app = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/fixtures/upstream-examples/hpc-cluster/app.yaml");
    if !app.exists() {
        println!("== real Prometheus: skipped ({} absent) ==", app.display());
        return;
    }
    if !prom::available() {
        println!("== real Prometheus: skipped (prometheus not installed) ==");
        return;
    }
    let loaded = rackscope_core::load_with_env(&app, std::iter::empty());
    let p = plan(&loaded.config);
    let t0: u64 = 1_700_000_000;
    let ts: Vec<u64> = (t0 - 120..=t0).step_by(15).collect();
    let mut all = BTreeSet::new();
    for q in &p.queries {
        synth_series(&q.expr, &mut all);
    }
    // promtool wants each series' samples together and in time order.
    let mut om = String::new();
    for s in &all {
        for t in &ts {
            om.push_str(&format!("{s} 0 {t}\n"));
        }
    }
    om.push_str("# EOF\n");
    let series = all.len();
    let prom = prom::Prometheus::start(&om).unwrap();
    let at = UNIX_EPOCH + Duration::from_secs(t0);

    // The floor: Prometheus's own execution time of every planned query, one at a time.
    let http = rackscope_prometheus::tls::http_client();
    let url = format!("{}/api/v1/query", prom.url());
    let own_ms = |q: String| {
        let http = http.clone();
        let url = url.clone();
        async move {
            let body = http
                .post(&url)
                .form(&[
                    ("query", q.as_str()),
                    ("time", &t0.to_string()),
                    ("stats", "all"),
                ])
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            let v: serde_json::Value = serde_json::from_str(&body).unwrap();
            v["data"]["stats"]["timings"]["execTotalTime"]
                .as_f64()
                .unwrap_or(0.0)
                * 1000.0
        }
    };
    // A second floor: the full HTTP round trip of every planned query sent one by one
    // with a bare client (what Prometheus's API layer costs beyond its engine: parsing,
    // JSON encoding). Our own overhead is what a refresh adds on top of this.
    let raw_ms = |q: String| {
        let http = http.clone();
        let url = url.clone();
        async move {
            let t = Instant::now();
            let r = http
                .post(&url)
                .form(&[("query", q.as_str()), ("time", &t0.to_string())])
                .send()
                .await
                .unwrap();
            let _ = r.bytes().await.unwrap();
            t.elapsed().as_secs_f64() * 1000.0
        }
    };
    // The same queries with flat alternations (`a|b|c`, as before folding): what folding
    // saves in bytes and in round-trip time.
    let folded: Vec<String> = p.queries.iter().map(|q| q.expr.clone()).collect();
    let flat: Vec<String> = folded.iter().map(|q| flatten(q)).collect();
    let floor = |qs: &[String]| {
        let mut runs = Vec::new();
        for _ in 0..5 {
            let mut sum = 0.0;
            for q in qs {
                sum += rt.block_on(raw_ms(q.clone()));
            }
            runs.push(sum);
        }
        runs.sort_by(f64::total_cmp);
        runs[2]
    };
    let raw = floor(&folded);
    let raw_flat = floor(&flat);
    let bytes = |qs: &[String]| qs.iter().map(String::len).sum::<usize>() as f64 / 1024.0;
    println!(
        "query text per refresh: {:.1} KB folded, {:.1} KB as flat alternations; plain-client floor (sequential round trips) {raw:.1} ms folded, {raw_flat:.1} ms flat",
        bytes(&folded),
        bytes(&flat)
    );
    for conc in [1u32, 2, 8] {
        let mut config = loaded.config.clone();
        config.app.telemetry.prometheus_url = Some(prom.url());
        config.app.planner.max_concurrent_queries = conc;
        let client = rackscope_prometheus::PrometheusClient::from_config(
            &config.app.telemetry,
            Path::new("."),
        )
        .unwrap();
        let engine = Engine::new(Arc::new(config), Arc::new(client));
        rt.block_on(engine.refresh_at(at));
        let mut walls = Vec::new();
        let mut floors = Vec::new();
        for _ in 0..5 {
            let t = Instant::now();
            let s = rt.block_on(engine.refresh_at(at));
            walls.push(t.elapsed().as_secs_f64() * 1000.0);
            assert!(s.errors.is_empty(), "{:?}", s.errors.first());
            let mut sum = 0.0;
            for q in &p.queries {
                sum += rt.block_on(own_ms(q.expr.clone()));
            }
            floors.push(sum / f64::from(conc));
        }
        walls.sort_by(f64::total_cmp);
        floors.sort_by(f64::total_cmp);
        let (w, f) = (walls[2], floors[2]);
        if conc == 1 {
            println!("== real Prometheus 2.x, hpc-cluster ==");
            println!(
                "instances {}  queries per refresh {}  synthetic series {}",
                loaded.config.topology.instances.len(),
                p.queries.len(),
                series
            );
        }
        let cores =
            f64::from(conc.min(std::thread::available_parallelism().map_or(1, |n| n.get() as u32)));
        println!(
            "concurrency {conc}: refresh wall median {w:.1} ms; floor (sum of Prometheus execTotalTime / {conc}) {f:.1} ms, ratio {:.2} [target: <= 1.2]; raw HTTP round trips {raw:.1} ms / {cores} usable cores = {:.1} ms, ratio {:.2}",
            w / f.max(0.001),
            raw / cores,
            w / (raw / cores).max(0.001)
        );
    }
}
