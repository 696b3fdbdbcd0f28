//! Refreshes against real backends (issue #24), printing figures rather than asserting
//! them: hpc-cluster and a generated topology (100,000 instances, or the sizes listed in
//! `RACKSCOPE_BENCH_INSTANCES`) against a real Prometheus and a real VictoriaMetrics, each
//! holding synthetic series for every planned query over the 5 minutes up to a fixed
//! instant T0 (a few nodes down, hot or in a bad IPMI state, so evaluation has alerts to
//! raise and `for:` timers to confirm). For each: the set-up time, the `for:` rebuild a
//! starting process runs, the refresh wall time at T0 (median), its CPU in this process,
//! the evaluation alone, the backend's own CPU, the query and answer bytes, and the floor:
//! the same planned queries sent by a bare HTTP client, one at a time and at the engine's
//! concurrency, and at that concurrency with the alternations written flat.
//!
//! Run: `cargo bench --bench backends` (release build). Needs `prometheus`/`promtool` and
//! `victoria-metrics` (each part is skipped with a message without them), and `../shared`
//! for hpc-cluster.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

// The test harness's backend launchers; the bench uses only part of them.
#[allow(dead_code)]
#[path = "../tests/integration/support/prom.rs"]
mod prom;
mod support;
#[allow(dead_code)]
#[path = "../tests/integration/support/vm.rs"]
mod vm;
use support::{flatten, process_cpu_ns};

use std::collections::{BTreeSet, HashMap};
use std::fmt::Write as _;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use futures_util::StreamExt as _;
use rackscope_core::Config;
use rackscope_core::telemetry::eval::{Answer, ForMemory, evaluate};
use rackscope_core::telemetry::source::BoxFuture;
use rackscope_core::telemetry::{
    Engine, InstantResult, MetricsSource, Plan, RangeResult, RangeSpec, SourceError, plan,
};
use rackscope_core::testkit::ids_in;

const T0: u64 = 1_700_000_000;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

fn secs(t: Instant) -> f64 {
    t.elapsed().as_secs_f64()
}

/// A cheap, stable hash of an id: which synthetic targets fail does not change between
/// runs or backends.
fn fnv(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}

/// The value a synthetic series holds: healthy, except for a few ids per metric (about 1 %
/// of nodes down, 1 % hot enough for CRIT and 2 % for WARN after their `for:`, 1 % in a
/// bad IPMI state, 2 % of racks over their power threshold).
fn value(name: &str, id: &str) -> f64 {
    let h = fnv(id) % 1000;
    match name {
        "up" => f64::from(h >= 10),
        "node_temperature_celsius" if h >= 990 => 95.0,
        "node_temperature_celsius" if h >= 970 => 80.0,
        "node_temperature_celsius" => 40.0,
        "raritan_pdu_activepower_watt" if h < 20 => 8000.0,
        "raritan_pdu_activepower_watt" => 3000.0,
        n if n.contains("flow") => 10.0,
        n if (n.ends_with("_state") || n.ends_with("_status")) && (500..510).contains(&h) => 1.0,
        _ => 0.0,
    }
}

/// The series (name, `k="v",…`, id) that make every selector of a planned query match each
/// of its ids.
fn synth_series(expr: &str, out: &mut BTreeSet<(String, String, String)>) {
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
                        // A planner alternation: one series per id, filled in below.
                        MatchOp::Re(_) if m.value.starts_with("^(?:") => {
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
                out.insert((name.clone(), labels.join(","), id.clone()));
            }
        }
    }
}

/// OpenMetrics text (promtool's input: each series' samples together, in time order) with
/// a sample every `step` seconds over the 5 minutes up to T0, and the series count.
fn openmetrics(p: &Plan, step: u64) -> (String, usize) {
    let mut all = BTreeSet::new();
    for q in &p.queries {
        synth_series(&q.expr, &mut all);
    }
    let mut om = String::new();
    for (name, labels, id) in &all {
        let v = value(name, id);
        for t in (T0 - 300..=T0).step_by(step as usize) {
            let _ = writeln!(om, "{name}{{{labels}}} {v} {t}");
        }
    }
    om.push_str("# EOF\n");
    (om, all.len())
}

/// A source that keeps every answer it passes on while `on`, so that evaluation can be
/// timed alone; off while refreshes are timed, so that copying answers costs them nothing.
struct Recording {
    inner: rackscope_prometheus::PrometheusClient,
    on: AtomicBool,
    answers: Mutex<HashMap<String, InstantResult>>,
}

impl MetricsSource for Recording {
    fn instant<'a>(
        &'a self,
        query: &'a str,
        at: SystemTime,
    ) -> BoxFuture<'a, Result<InstantResult, SourceError>> {
        Box::pin(async move {
            let r = self.inner.instant(query, at).await;
            if let Ok(a) = &r
                && self.on.load(Ordering::Relaxed)
            {
                self.answers
                    .lock()
                    .unwrap()
                    .insert(query.to_owned(), a.clone());
            }
            r
        })
    }

    fn range<'a>(
        &'a self,
        query: &'a str,
        range: RangeSpec,
    ) -> BoxFuture<'a, Result<RangeResult, SourceError>> {
        self.inner.range(query, range)
    }

    fn describe(&self) -> String {
        self.inner.describe()
    }
}

/// The CPU time (user and system, in seconds) of this process's child named `comm`: the
/// backend it started. VictoriaMetrics's own `process_cpu_seconds_total` did not move
/// between refreshes here, so both are read from the kernel (in ticks of 10 ms: Linux's
/// USER_HZ is 100).
fn backend_cpu(comm: &str) -> f64 {
    let me = std::process::id().to_string();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return f64::NAN;
    };
    for e in dir.filter_map(Result::ok) {
        let Ok(stat) = std::fs::read_to_string(e.path().join("stat")) else {
            continue;
        };
        // `pid (comm) state ppid … utime stime …`: comm may hold spaces, so split after it.
        let Some((head, rest)) = stat.rsplit_once(") ") else {
            continue;
        };
        let name = head.split_once(" (").map_or("", |(_, n)| n);
        let f: Vec<&str> = rest.split_whitespace().collect();
        if name.starts_with(comm) && f.get(1) == Some(&me.as_str()) {
            let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
            // utime and stime are fields 14 and 15 of the line, 11 and 12 after `state`.
            return (ticks(11) + ticks(12)) / 100.0;
        }
    }
    f64::NAN
}

/// One planned query sent by a bare client: its answer's size in bytes.
async fn send(http: &reqwest::Client, url: &str, q: &str) -> usize {
    let t = rackscope_core::telemetry::source::format_time(UNIX_EPOCH + Duration::from_secs(T0));
    let r = http
        .post(format!("{url}/api/v1/query"))
        .form(&[("query", q), ("time", t.as_str())])
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}: {}", r.status(), q);
    r.bytes().await.unwrap().len()
}

/// The floor: every planned query sent by a bare client with `conc` in flight; the wall
/// time in ms and the answers' bytes.
async fn floor(http: &reqwest::Client, url: &str, qs: &[String], conc: usize) -> (f64, usize) {
    let t = Instant::now();
    let bytes: usize = futures_util::stream::iter(qs)
        .map(|q| send(http, url, q))
        .buffer_unordered(conc)
        .collect::<Vec<usize>>()
        .await
        .into_iter()
        .sum();
    (secs(t) * 1000.0, bytes)
}

/// One line of the final table.
struct Row {
    what: String,
    backend: &'static str,
    instances: usize,
    series: usize,
    queries: usize,
    query_kb: f64,
    answer_kb: f64,
    setup_s: f64,
    warm_up: String,
    wall_ms: f64,
    floor_seq_ms: f64,
    floor_conc_ms: f64,
    floor_flat_ms: f64,
    flat_kb: f64,
    conc: u32,
    cpu_ms: f64,
    eval_ms: f64,
    backend_cpu_ms: f64,
    states: String,
}

/// What `measure` finds, in ms where a time.
struct Measured {
    wall: f64,
    floor_seq: f64,
    floor_conc: f64,
    /// The floor at the engine's concurrency with the alternations written flat.
    floor_flat: f64,
    flat_kb: f64,
    cpu: f64,
    eval: f64,
    backend_cpu: f64,
    answer_bytes: usize,
    warm_up: String,
    states: String,
}

/// Measures refreshes of `config` against the backend at `url` (already holding the data).
async fn measure(
    config: &Config,
    url: &str,
    comm: &str,
    runs: usize,
    floor_runs: usize,
) -> Measured {
    let mut config = config.clone();
    config.app.telemetry.prometheus_url = Some(url.to_owned());
    let conc = config.app.planner.max_concurrent_queries as usize;
    let client =
        rackscope_prometheus::PrometheusClient::from_config(&config.app.telemetry, Path::new("."))
            .unwrap();
    let source = Arc::new(Recording {
        inner: client,
        on: AtomicBool::new(false),
        answers: Mutex::new(HashMap::new()),
    });
    let config = Arc::new(config);
    let engine = Engine::new(config.clone(), source.clone());
    let at = UNIX_EPOCH + Duration::from_secs(T0);
    let http = rackscope_prometheus::tls::http_client();

    // What a starting `rackscope serve` does before its first refresh.
    let t = Instant::now();
    let instants = engine.warm_up(at).await;
    let warm_up = format!("{:.1} s ({instants} instants)", secs(t));

    let first = engine.refresh_at(at).await;
    assert!(
        first.errors.is_empty(),
        "{} failed queries, first: {:?}",
        first.errors.len(),
        first.errors.first().map(|e| &e.error)
    );
    let mut walls = Vec::new();
    let mut cpus = Vec::new();
    let mut backend = Vec::new();
    let mut last = first;
    for _ in 0..runs {
        let b = backend_cpu(comm);
        let c = process_cpu_ns();
        let t = Instant::now();
        last = engine.refresh_at(at).await;
        walls.push(secs(t) * 1000.0);
        cpus.push((process_cpu_ns() - c) as f64 / 1e6);
        backend.push((backend_cpu(comm) - b) * 1000.0);
        assert!(last.errors.is_empty());
    }
    let count = |s: rackscope_core::Severity| {
        last.health
            .nodes
            .iter()
            .filter(|n| n.state == Some(s))
            .count()
    };
    let pending = last.health.nodes.iter().filter(|n| n.pending).count();
    let states = format!(
        "nodes CRIT {} WARN {} pending {}; alerts {}",
        count(rackscope_core::Severity::Crit),
        count(rackscope_core::Severity::Warn),
        pending,
        last.health.alerts.len()
    );

    // One more refresh, recorded, for evaluation alone below.
    source.on.store(true, Ordering::Relaxed);
    engine.refresh_at(at).await;
    source.on.store(false, Ordering::Relaxed);

    let qs: Vec<String> = last.plan.queries.iter().map(|q| q.expr.clone()).collect();
    let flat: Vec<String> = qs.iter().map(|q| flatten(q)).collect();
    let mut seq = Vec::new();
    let mut par = Vec::new();
    let mut par_flat = Vec::new();
    let mut bytes = 0;
    for _ in 0..floor_runs {
        let (ms, b) = floor(&http, url, &qs, 1).await;
        seq.push(ms);
        bytes = b;
        par.push(floor(&http, url, &qs, conc).await.0);
        par_flat.push(floor(&http, url, &flat, conc).await.0);
    }

    // Evaluation alone, on the recorded answers, on this thread: pure CPU, so its wall
    // time is its CPU time (the kernel's per-thread counters only move at ticks).
    let recorded = source.answers.lock().unwrap().clone();
    let answers: Vec<Answer<'_>> = last
        .plan
        .queries
        .iter()
        .map(|q| match recorded.get(&q.expr) {
            Some(a) => Answer::Ok(a),
            None => Answer::Failed(Arc::from("not recorded")),
        })
        .collect();
    assert!(
        answers.iter().all(|a| matches!(a, Answer::Ok(_))),
        "an answer was not recorded"
    );
    let mut evals = Vec::new();
    for _ in 0..5 {
        let t = Instant::now();
        let mut n = 0u32;
        while n == 0 || t.elapsed() < Duration::from_millis(100) {
            let mut memory = ForMemory::default();
            std::hint::black_box(evaluate(&config, &last.plan, &answers, at, &mut memory));
            n += 1;
        }
        evals.push(secs(t) * 1000.0 / f64::from(n));
    }
    Measured {
        wall: median(walls),
        floor_seq: median(seq),
        floor_conc: median(par),
        floor_flat: median(par_flat),
        flat_kb: flat.iter().map(String::len).sum::<usize>() as f64 / 1024.0,
        cpu: median(cpus),
        eval: median(evals),
        backend_cpu: median(backend),
        answer_bytes: bytes,
        warm_up,
        states,
    }
}

/// Runs `config` against each backend in turn (one at a time: the machine is small), a
/// row for each.
async fn against_backends(
    what: &str,
    config: &Config,
    step: u64,
    runs: usize,
    floor_runs: usize,
    rows: &mut Vec<Row>,
) {
    let p = plan(config);
    let t = Instant::now();
    let (om, series) = openmetrics(&p, step);
    println!(
        "{what}: {} instances, {} queries, {series} synthetic series, {:.0} MB of OpenMetrics written in {:.1} s",
        config.topology.instances.len(),
        p.queries.len(),
        om.len() as f64 / 1e6,
        secs(t)
    );
    let query_kb = p.queries.iter().map(|q| q.expr.len()).sum::<usize>() as f64 / 1024.0;
    let http = rackscope_prometheus::tls::http_client();
    for backend in ["Prometheus", "VictoriaMetrics"] {
        let t = Instant::now();
        // Kept alive while measuring; dropping kills the process and removes its data.
        let (url, _prom, _vm) = match backend {
            "Prometheus" => {
                let Some(p) = prom::Prometheus::start(&om) else {
                    println!("{what} / {backend}: skipped (prometheus/promtool not installed)");
                    continue;
                };
                (p.url(), Some(p), None)
            }
            _ => {
                let Some(v) = vm::VictoriaMetrics::start("# EOF\n", &["-search.disableCache"])
                else {
                    println!("{what} / {backend}: skipped (victoria-metrics not installed)");
                    continue;
                };
                import_vm(&http, &v.url(), &om).await;
                (v.url(), None, Some(v))
            }
        };
        // Every `up` series answers before anything is timed (VictoriaMetrics makes new
        // series searchable in the background).
        let want =
            om.lines().filter(|l| l.starts_with("up{")).count() / ((300 / step) as usize + 1);
        wait_for_count(&http, &url, want).await;
        let setup_s = secs(t);
        println!(
            "{what} / {backend}: loaded and ready in {setup_s:.1} s{}",
            if backend == "Prometheus" {
                " (promtool backfill and start)"
            } else {
                " (start and import)"
            }
        );
        // The kernel keeps 15 characters of a command's name.
        let comm = if backend == "Prometheus" {
            "prometheus"
        } else {
            "victoria-metric"
        };
        let m = measure(config, &url, comm, runs, floor_runs).await;
        println!(
            "{what} / {backend}: refresh wall {:.1} ms, floor {:.1} ms (1 in flight), {:.1} ms (N in flight), {:.1} ms (N in flight, flat alternations); {}",
            m.wall, m.floor_seq, m.floor_conc, m.floor_flat, m.states
        );
        rows.push(Row {
            what: what.to_owned(),
            backend,
            instances: config.topology.instances.len(),
            series,
            queries: p.queries.len(),
            query_kb,
            answer_kb: m.answer_bytes as f64 / 1024.0,
            setup_s,
            warm_up: m.warm_up,
            wall_ms: m.wall,
            floor_seq_ms: m.floor_seq,
            floor_conc_ms: m.floor_conc,
            floor_flat_ms: m.floor_flat,
            flat_kb: m.flat_kb,
            conc: config.app.planner.max_concurrent_queries,
            cpu_ms: m.cpu,
            eval_ms: m.eval,
            backend_cpu_ms: m.backend_cpu,
            states: m.states,
        });
    }
}

/// Imports the OpenMetrics text into VictoriaMetrics in pieces of about 16 MB (its import
/// API takes timestamps in milliseconds), then flushes.
async fn import_vm(http: &reqwest::Client, url: &str, om: &str) {
    let mut chunk = String::new();
    let post = |body: String| async move {
        let r = http
            .post(format!("{url}/api/v1/import/prometheus"))
            .body(body)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "import: {}", r.status());
    };
    for line in om.lines().filter(|l| !l.starts_with('#') && !l.is_empty()) {
        let (head, ts) = line.rsplit_once(' ').unwrap();
        let _ = writeln!(chunk, "{head} {}000", ts);
        if chunk.len() > 16 << 20 {
            post(std::mem::take(&mut chunk)).await;
        }
    }
    if !chunk.is_empty() {
        post(chunk).await;
    }
    let r = http
        .get(format!("{url}/internal/force_flush"))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
}

/// Waits (at most 2 minutes) until `count(up)` at T0 is `want`.
async fn wait_for_count(http: &reqwest::Client, url: &str, want: usize) {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let r = http
            .post(format!("{url}/api/v1/query"))
            .form(&[("query", "count(up)"), ("time", &T0.to_string())])
            .send()
            .await;
        let got = match r {
            Ok(r) => r
                .json::<serde_json::Value>()
                .await
                .ok()
                .and_then(|v| v["data"]["result"][0]["value"][1].as_str()?.parse().ok())
                .unwrap_or(0usize),
            Err(_) => 0,
        };
        if got == want {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "count(up) is {got}, not {want}, after 2 minutes"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let mut rows = Vec::new();
    let app = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/fixtures/upstream-examples/hpc-cluster/app.yaml");
    if app.exists() {
        let loaded = rackscope_core::load_with_env(&app, std::iter::empty());
        assert!(loaded.is_usable());
        rt.block_on(against_backends(
            "hpc-cluster",
            &loaded.config,
            15,
            10,
            3,
            &mut rows,
        ));
    } else {
        println!("hpc-cluster: skipped ({} absent)", app.display());
    }
    let sizes = std::env::var("RACKSCOPE_BENCH_INSTANCES").unwrap_or_else(|_| "100000".into());
    for n in sizes
        .split(',')
        .filter_map(|n| n.trim().parse::<usize>().ok())
    {
        let dir = tempfile::tempdir().unwrap();
        rackscope_core::generate::write(
            dir.path(),
            rackscope_core::generate::Shape::for_instances(n),
        )
        .unwrap();
        let loaded =
            rackscope_core::load_with_env(&dir.path().join("app.yaml"), std::iter::empty());
        assert!(loaded.is_usable());
        rt.block_on(against_backends(
            &format!("generated {n}"),
            &loaded.config,
            60,
            5,
            1,
            &mut rows,
        ));
    }
    if rows.is_empty() {
        println!("no backend measured (install prometheus and victoria-metrics)");
        return;
    }
    println!();
    println!(
        "| topology | backend | instances | series | queries | query text | answers | set-up | for: rebuild | refresh wall (median) | floor, 1 in flight | floor, N in flight | floor, N in flight, flat alternations | refresh CPU (this process) | evaluation CPU | backend CPU per refresh |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    for r in &rows {
        println!(
            "| {} | {} | {} | {} | {} | {:.1} KB | {:.0} KB | {:.1} s | {} | {:.1} ms | {:.1} ms | {:.1} ms (N={}) | {:.1} ms ({:.0} KB of text) | {:.1} ms | {:.1} ms | {:.0} ms |",
            r.what,
            r.backend,
            r.instances,
            r.series,
            r.queries,
            r.query_kb,
            r.answer_kb,
            r.setup_s,
            r.warm_up,
            r.wall_ms,
            r.floor_seq_ms,
            r.floor_conc_ms,
            r.conc,
            r.floor_flat_ms,
            r.flat_kb,
            r.cpu_ms,
            r.eval_ms,
            r.backend_cpu_ms
        );
    }
    println!();
    for r in &rows {
        println!("{} / {}: {}", r.what, r.backend, r.states);
    }
}
