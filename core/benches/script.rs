//! Rhai script benchmarks (issue: "100,000 evaluations of a typical script in under 50 ms
//! in a release build"), printing figures rather than asserting them. Every evaluation
//! goes through the public API as the evaluator uses it: one `runner()` per check,
//! `target()` when the target changes, `SeriesInput::new` per series, then `series()` or
//! `aggregate()`.
//! 1. the demo's hysteresis series script (node_temperature_high), 100,000 evaluations as
//!    1,000 targets × 100 series and as 100,000 targets × 1 series;
//! 2. the demo's IPMI vendor-code series script (ipmi_sensor_state), the same two layouts;
//! 3. the demo's PSU redundancy aggregate script, 10,000 targets of 2 results each;
//! 4. the compile time of each script;
//! 5. a breakdown of the IPMI evaluation (labels map, scope pushes, the script itself).
//!
//! Run: `cargo bench -p rackscope-core --bench script` (release build). A further argument
//! runs only the figures whose label contains it (e.g. `-- "script \`OK\`"`, for `perf`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::Instant;

use rackscope_core::Severity;
use rackscope_core::script::{
    CheckScripts, Kind, SeriesInput, SeriesResult, Verdict, compile, context,
};
use rackscope_core::telemetry::source::Labels;
use rhai::Dynamic;

/// `node_temperature_high` in config/demo-small/checks/library/node.yaml, verbatim.
const HYSTERESIS: &str = r#"let crit_at = if previous == CRIT { params.crit - params.clear } else { params.crit };
let warn_at = if previous != OK { params.warn - params.clear } else { params.warn };
if value > crit_at {
  #{ severity: CRIT, message: `${value} °C, above ${crit_at} °C` }
} else if value > warn_at {
  #{ severity: WARN, message: `${value} °C, above ${warn_at} °C` }
} else {
  OK
}
"#;
const IPMI: &str =
    include_str!("../../config/demo-small/checks/library/scripts/ipmi_sensor_codes.rhai");
const PSU: &str =
    include_str!("../../config/demo-small/checks/library/scripts/psu_redundancy.rhai");

const EVALS: usize = 100_000;
const RUNS: usize = 10;

fn params(v: serde_json::Value) -> BTreeMap<String, serde_json::Value> {
    serde_json::from_value(v).unwrap()
}

/// The `ctx` the evaluator builds for a node target (the nine fields of `script_ctx`).
fn node_ctx(i: usize) -> Dynamic {
    let instance = format!("n{i:05}");
    let device = format!("dev{:05}", i / 4);
    let rack = format!("r{:03}", i / 160);
    context([
        ("scope", "node"),
        ("instance", instance.as_str()),
        ("device", device.as_str()),
        ("template", "bs-x440-4n"),
        ("role", "compute"),
        ("rack", rack.as_str()),
        ("aisle", "a01"),
        ("room", "room1"),
        ("site", "paris"),
    ])
}

/// Whether the figure labelled `what` is wanted: every one unless an argument (not a
/// `--` option, which cargo passes) narrows them down.
fn wanted(what: &str) -> bool {
    std::env::args()
        .skip(1)
        .find(|a| !a.starts_with("--"))
        .is_none_or(|f| what.contains(&f))
}

/// Times `f` `RUNS` times after one warm-up run; returns the sorted times in ms.
fn measure(mut f: impl FnMut() -> usize) -> Vec<f64> {
    let mut sink = f();
    let mut times: Vec<f64> = (0..RUNS)
        .map(|_| {
            let t = Instant::now();
            sink = sink.wrapping_add(f());
            t.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    black_box(sink);
    times.sort_by(f64::total_cmp);
    times
}

fn report(what: &str, evals: usize, times: &[f64], unit: &str) {
    let median = times[times.len() / 2];
    println!(
        "{what}: best {:.1} ms, median {:.1} ms ({:.3} us/{unit})",
        times[0],
        median,
        median * 1000.0 / evals as f64
    );
}

/// A series layout: `targets` targets of `per` series each, with each series' labels and
/// value and each target's `ctx` and previous state, all built before timing.
struct Layout {
    targets: Vec<(Dynamic, Option<Severity>)>,
    per: usize,
    labels: Vec<Labels>,
    values: Vec<f64>,
}

impl Layout {
    fn new(
        targets: usize,
        per: usize,
        job: &str,
        sensor: impl Fn(usize) -> String,
        value: impl Fn(usize) -> f64,
        previous: impl Fn(usize) -> Option<Severity>,
    ) -> Layout {
        let n = targets * per;
        let labels = (0..n)
            .map(|i| {
                let instance = format!("n{:05}:9100", i / per);
                let s = sensor(i % per);
                Labels::from_iter([
                    ("instance", instance.as_str()),
                    ("job", job),
                    ("sensor", s.as_str()),
                ])
            })
            .collect();
        Layout {
            targets: (0..targets).map(|t| (node_ctx(t), previous(t))).collect(),
            per,
            labels,
            values: (0..n).map(value).collect(),
        }
    }

    /// One refresh's worth of evaluations of `scripts`, as the evaluator runs them; returns
    /// how many verdicts were not OK (and panics on a script error: a broken bench).
    fn run(&self, scripts: &CheckScripts) -> usize {
        let mut runner = scripts.runner();
        let mut alerts = 0;
        for (t, (ctx, previous)) in self.targets.iter().enumerate() {
            runner.target(ctx, *previous);
            for i in t * self.per..(t + 1) * self.per {
                let input = SeriesInput::new(&self.labels[i], scripts);
                let v = runner
                    .series(&input, self.values[i], Severity::Ok)
                    .unwrap_or_else(|e| panic!("script error: {e}"));
                alerts += usize::from(v.severity != Severity::Ok);
            }
        }
        alerts
    }
}

fn main() {
    println!("== Rhai scripts: {RUNS} timed runs each after a warm-up ==");
    series_benches();
    aggregate_bench();
    compile_bench();
    breakdown();
}

fn series_benches() {
    // Temperatures: 9 in 10 series below the WARN threshold, the rest spread over WARN and
    // CRIT; one target in 20 was already WARN (the hysteresis branch).
    let temp = |i: usize| match i % 20 {
        0 => 47.5,
        1 => 40.25,
        k => 25.0 + k as f64 * 0.5,
    };
    let prev = |t: usize| t.is_multiple_of(20).then_some(Severity::Warn);
    let hysteresis = CheckScripts::new(
        Some(compile(Kind::Series, HYSTERESIS).unwrap()),
        None,
        &params(serde_json::json!({"warn": 38, "crit": 45, "clear": 2})),
    );
    // IPMI codes: mostly 0 (nominal), some WARN/CRIT codes and an unknown one.
    let code = |i: usize| match i % 50 {
        0 => 1.0,
        1 => 2.0,
        2 => 6.0,
        3 => 9.0,
        _ => 0.0,
    };
    let ipmi = CheckScripts::new(
        Some(compile(Kind::Series, IPMI).unwrap()),
        None,
        &params(serde_json::json!({"codes": {
            "0": ["OK", "nominal"],
            "1": ["WARN", "non-critical threshold crossed"],
            "2": ["CRIT", "critical threshold crossed"],
            "3": ["CRIT", "non-recoverable"],
            "6": ["WARN", "sensor reading unavailable"],
        }})),
    );
    // The worst case for the per-refresh memo: no two series share a value, so every
    // evaluation runs the script.
    let distinct = |i: usize| 25.0 + i as f64 * 0.0002;
    for (name, scripts, job, value) in [
        (
            "hysteresis",
            &hysteresis,
            "node",
            &temp as &dyn Fn(usize) -> f64,
        ),
        (
            "hysteresis, every value distinct (no verdict reused)",
            &hysteresis,
            "node",
            &distinct,
        ),
        ("ipmi codes", &ipmi, "ipmi", &code),
    ] {
        for (targets, per) in [(1_000, 100), (100_000, 1)] {
            let what = format!("{name}, {EVALS} evals ({targets} targets x {per})");
            if !wanted(&what) {
                continue;
            }
            let layout = Layout::new(targets, per, job, |k| format!("CPU{k} Temp"), value, prev);
            let alerts = layout.run(scripts);
            let times = measure(|| layout.run(scripts));
            report(&format!("{what}, {alerts} not OK"), EVALS, &times, "eval");
        }
    }
}

fn aggregate_bench() {
    const TARGETS: usize = 10_000;
    if !wanted("psu redundancy, aggregate") {
        return;
    }
    let scripts = CheckScripts::new(
        None,
        Some(compile(Kind::Aggregate, PSU).unwrap()),
        &params(serde_json::json!({"expected": 2, "tolerated": 1})),
    );
    // Each rack's two PSU series, gathered as the evaluator gathers them: one rack in 25 has
    // a PSU lost, one in 100 both.
    let lists: Vec<Vec<SeriesResult>> = (0..TARGETS)
        .map(|r| {
            (0..2)
                .map(|p| {
                    let rack = format!("r{r:05}");
                    let psu = format!("{p}");
                    let labels = Labels::from_iter([
                        ("rack_id", rack.as_str()),
                        ("psu", psu.as_str()),
                        ("instance", "simulator:9000"),
                        ("job", "rack"),
                    ]);
                    let value = match (r % 100, p) {
                        (0, _) | (1 | 26 | 51 | 76, 0) => 1.0,
                        _ => 0.0,
                    };
                    SeriesResult {
                        value,
                        labels: SeriesInput::new(&labels, &scripts).labels(),
                        verdict: Verdict {
                            severity: Severity::Ok,
                            message: None,
                        },
                    }
                })
                .collect()
        })
        .collect();
    let ctxs: Vec<Dynamic> = (0..TARGETS).map(node_ctx).collect();
    let run = || {
        let mut runner = scripts.runner();
        let mut alerts = 0;
        for (ctx, list) in ctxs.iter().zip(&lists) {
            runner.target(ctx, None);
            let v = runner
                .aggregate(list)
                .unwrap_or_else(|e| panic!("script error: {e}"));
            alerts += usize::from(v.severity != Severity::Ok);
        }
        alerts
    };
    let alerts = run();
    let times = measure(run);
    report(
        &format!("psu redundancy, aggregate, {TARGETS} evals (2 results each), {alerts} not OK"),
        TARGETS,
        &times,
        "eval",
    );
}

fn compile_bench() {
    const N: usize = 1_000;
    for (name, kind, src) in [
        ("hysteresis", Kind::Series, HYSTERESIS),
        ("ipmi codes", Kind::Series, IPMI),
        ("psu redundancy", Kind::Aggregate, PSU),
    ] {
        if !wanted(&format!("compile {name}")) {
            continue;
        }
        let times = measure(|| {
            (0..N)
                .map(|_| usize::from(compile(kind, black_box(src)).is_ok()))
                .sum()
        });
        let median = times[times.len() / 2];
        println!(
            "compile {name} ({} bytes), {N} compiles: best {:.1} us, median {:.1} us per compile",
            src.len(),
            times[0] * 1000.0 / N as f64,
            median * 1000.0 / N as f64
        );
    }
}

/// Where the time of a series evaluation goes, by elimination: the same 100,000 series
/// (1,000 targets × 100) through the same loop (scope rewinds and pushes, the engine call,
/// the verdict) with scripts doing part of the work, and variants of the demo scripts.
fn breakdown() {
    let temps = Layout::new(
        1_000,
        100,
        "node",
        |k| format!("CPU{k} Temp"),
        |_| 30.0,
        |_| None,
    );
    let hot = Layout::new(
        1_000,
        100,
        "node",
        |k| format!("CPU{k} Temp"),
        |_| 47.5,
        |_| None,
    );
    let codes = Layout::new(
        1_000,
        100,
        "ipmi",
        |k| format!("CPU{k} Temp"),
        |_| 0.0,
        |_| None,
    );
    let hysteresis_params = params(serde_json::json!({"warn": 38, "crit": 45, "clear": 2}));
    let ipmi_params = params(serde_json::json!({"codes": {
        "0": ["OK", "nominal"],
        "1": ["WARN", "non-critical threshold crossed"],
        "2": ["CRIT", "critical threshold crossed"],
        "3": ["CRIT", "non-recoverable"],
        "6": ["WARN", "sensor reading unavailable"],
    }}));
    let row = |what: &str, layout: &Layout, p: &BTreeMap<String, serde_json::Value>, src: &str| {
        if !wanted(what) {
            return;
        }
        let scripts = CheckScripts::new(Some(compile(Kind::Series, src).unwrap()), None, p);
        let times = measure(|| layout.run(&scripts));
        report(what, EVALS, &times, "eval");
    };

    println!("-- breakdown: 100000 series (1000 targets x 100), parts of the work --");
    let ipmi = CheckScripts::new(
        Some(compile(Kind::Series, IPMI).unwrap()),
        None,
        &ipmi_params,
    );
    if wanted("SeriesInput::new alone") {
        let times = measure(|| {
            codes
                .labels
                .iter()
                .map(|l| usize::from(!SeriesInput::new(l, &ipmi).labels().is_unit()))
                .sum()
        });
        report(
            "SeriesInput::new alone (3-label map)",
            EVALS,
            &times,
            "series",
        );
    }
    // The same with only the label the script reads, and with a real ipmi_exporter label
    // set (8 labels): what narrowing the map to the `labels.<name>` read would save.
    for (what, full) in [
        ("SeriesInput::new alone (1-label map)", false),
        ("SeriesInput::new alone (8-label map)", true),
    ] {
        if !wanted(what) {
            continue;
        }
        let sets: Vec<Labels> = codes
            .labels
            .iter()
            .map(|l| {
                let mut v: Vec<(&str, &str)> = Vec::new();
                if full {
                    v.extend(l.iter());
                    v.extend([
                        ("__name__", "ipmi_sensor_state"),
                        ("id", "42"),
                        ("name", "CPU1 Temp"),
                        ("type", "Temperature"),
                        ("cluster", "paris-hpc"),
                    ]);
                } else {
                    v.push(("sensor", l.get("sensor").unwrap()));
                }
                Labels::from_iter(v)
            })
            .collect();
        let times = measure(|| {
            sets.iter()
                .map(|l| usize::from(!SeriesInput::new(l, &ipmi).labels().is_unit()))
                .sum()
        });
        report(what, EVALS, &times, "series");
    }
    let p = &hysteresis_params;
    row("script `OK` (fixed cost of a call)", &temps, p, "OK");
    row("script `state` (returns an input)", &temps, p, "state");
    row(
        "script `labels; OK` (+ labels map)",
        &codes,
        p,
        "labels; OK",
    );
    row(
        "`let a = params.crit; OK`",
        &temps,
        p,
        "let a = params.crit; OK",
    );
    row(
        "`if value > params.crit { CRIT } else { OK }`",
        &temps,
        p,
        "if value > params.crit { CRIT } else { OK }",
    );
    row(
        "hysteresis's two `let`s, then OK",
        &temps,
        p,
        "let crit_at = if previous == CRIT { params.crit - params.clear } else { params.crit };\n\
         let warn_at = if previous != OK { params.warn - params.clear } else { params.warn };\nOK",
    );
    row("full hysteresis, all OK (30 °C)", &temps, p, HYSTERESIS);
    row(
        "full hysteresis, all CRIT (47.5 °C, message built)",
        &hot,
        p,
        HYSTERESIS,
    );
    let p = &ipmi_params;
    row(
        "`let c = `${value.to_int()}`; OK`",
        &codes,
        p,
        "let c = `${value.to_int()}`; OK",
    );
    row(
        "`let c = value.to_int().to_string(); OK`",
        &codes,
        p,
        "let c = value.to_int().to_string(); OK",
    );
    row(
        "+ `if c in params.codes` (clones the codes map)",
        &codes,
        p,
        "let c = `${value.to_int()}`; if c in params.codes { OK } else { WARN }",
    );
    row(
        "+ `if params.codes.contains(c)` (no clone)",
        &codes,
        p,
        "let c = `${value.to_int()}`; if params.codes.contains(c) { OK } else { WARN }",
    );
    row("full ipmi script, all code 0", &codes, p, IPMI);
    row(
        "ipmi script with `params.codes.contains(code)`",
        &codes,
        p,
        &IPMI.replace("code in params.codes", "params.codes.contains(code)"),
    );

    println!("-- what per-check constants would give: params written into the script text --");
    let p = &hysteresis_params;
    let inlined = HYSTERESIS
        .replace("params.crit", "45")
        .replace("params.warn", "38")
        .replace("params.clear", "2");
    row(
        "hysteresis, params inlined, all OK (30 °C)",
        &temps,
        p,
        &inlined,
    );
    row(
        "hysteresis, params inlined, all CRIT (47.5 °C)",
        &hot,
        p,
        &inlined,
    );
}
