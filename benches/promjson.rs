//! Memory of one large Prometheus answer (issue #15, item 9), printing figures rather than
//! asserting them: resident memory before the query, the peak while it is read and
//! decoded, and after the result is dropped (and after the binary's trim, when it runs).
//!
//! Scenarios: an instant query answering 1,000,000 series (refused by the default caps,
//! then accepted with the caps raised) and a range query answering 300 series × 11,000
//! points. The answer is served by an in-process HTTP server from one pre-built buffer
//! and fetched with the production client, so the figures include reading the body.
//! `old` rows run the decoder this one replaced (kept below: the whole body, then serde's
//! derive with a map per series) for comparison. Each scenario runs in a child process of
//! its own, so peaks do not leak between them.
//!
//! Run: `cargo bench --bench promjson` (release build).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Write as _;
use std::path::Path;
use std::time::{Duration, SystemTime};

use axum::body::Bytes;
use rackscope_core::model::app::Telemetry;
use rackscope_core::telemetry::{MetricsSource, RangeSpec};
use rackscope_prometheus::PrometheusClient;

const SCENARIO: &str = "RACKSCOPE_PROMJSON_SCENARIO";

fn main() {
    match std::env::var(SCENARIO) {
        Ok(name) => run(&name),
        Err(_) => {
            println!(
                "scenario                       answer   before    peak   after-drop  after-trim  outcome"
            );
            for name in [
                "old instant-1m",
                "instant-1m",
                "instant-1m-raised",
                "old range-300x11000",
                "range-300x11000",
            ] {
                let out = std::process::Command::new(std::env::current_exe().unwrap())
                    .env(SCENARIO, name)
                    .output()
                    .unwrap();
                std::io::stdout().write_all(&out.stdout).unwrap();
                if !out.status.success() {
                    eprintln!("{name} failed: {}", String::from_utf8_lossy(&out.stderr));
                }
            }
        }
    }
}

/// `VmRSS` or `VmHWM` of this process, in MiB.
fn status_mib(key: &str) -> f64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap();
    s.lines()
        .find(|l| l.starts_with(key))
        .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        .map(|kib| kib / 1024.0)
        .unwrap()
}

fn range_body(series: usize, points: usize) -> Vec<u8> {
    let mut b = Vec::with_capacity(series * (points * 28 + 120) + 100);
    b.extend_from_slice(br#"{"status":"success","data":{"resultType":"matrix","result":["#);
    for s in 0..series {
        if s > 0 {
            b.push(b',');
        }
        write!(
            b,
            r#"{{"metric":{{"__name__":"ipmi_temperature_celsius","instance":"node{s:05}","sensor":"CPU1 Temp"}},"values":["#
        )
        .unwrap();
        for p in 0..points {
            if p > 0 {
                b.push(b',');
            }
            write!(
                b,
                r#"[{},"{}.{}"]"#,
                1_700_000_000 + p * 15,
                30 + p % 40,
                p % 997
            )
            .unwrap();
        }
        b.extend_from_slice(b"]}");
    }
    b.extend_from_slice(b"]}}");
    b
}

/// Serves a small answer to the first POST (the warm-up) and `body` to every other on a
/// loopback port; returns the base URL.
async fn serve(body: Bytes) -> String {
    let warm = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let app = axum::Router::new().fallback(axum::routing::post(move || {
        let body = if warm.swap(false, std::sync::atomic::Ordering::Relaxed) {
            Bytes::from_static(
                br#"{"status":"success","data":{"resultType":"vector","result":[]}}"#,
            )
        } else {
            body.clone()
        };
        async move { ([("content-type", "application/json")], body) }
    }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

fn run(name: &str) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let old = name.starts_with("old ");
    let (body, raised) = match name.trim_start_matches("old ") {
        "instant-1m" => (rackscope_core::testkit::vector_answer(1_000_000), false),
        "instant-1m-raised" => (rackscope_core::testkit::vector_answer(1_000_000), true),
        "range-300x11000" => (range_body(300, 11_000), false),
        _ => panic!("unknown scenario {name}"),
    };
    let size = body.len() as f64 / (1024.0 * 1024.0);
    let body = Bytes::from(body);
    rt.block_on(async move {
        let mut t = Telemetry {
            prometheus_url: Some(serve(body).await),
            prometheus_timeout_seconds: 120.0,
            ..Telemetry::default()
        };
        if raised {
            raise_limits(&mut t);
        }
        let client = PrometheusClient::from_config(&t, Path::new(".")).unwrap();
        // Warm the connection and the runtime so that the baseline includes them.
        let _ = client.instant("up", SystemTime::now()).await;
        std::fs::write("/proc/self/clear_refs", "5").unwrap();
        let before = status_mib("VmRSS");
        let outcome = if old {
            old::query(t.url(), name.contains("range")).await
        } else if name.contains("range") {
            let end = SystemTime::now();
            let spec = RangeSpec {
                start: end - Duration::from_secs(3600),
                end,
                step: Duration::from_secs(15),
            };
            match client.range("x", spec).await {
                Ok(r) => format!(
                    "{} series, {} points",
                    r.series.len(),
                    r.series.iter().map(|s| s.points.len()).sum::<usize>()
                ),
                Err(e) => format!("refused: {e}"),
            }
        } else {
            match client.instant("x", SystemTime::now()).await {
                Ok(r) => format!("{} samples", r.samples.len()),
                Err(e) => format!("refused: {e}"),
            }
        };
        let peak = status_mib("VmHWM");
        let after = status_mib("VmRSS");
        let trimmed = trim();
        println!(
            "{name:<28} {size:>6.0} MiB {before:>6.0} MiB {peak:>6.0} MiB {after:>8.0} MiB {trimmed:>9} {outcome}",
        );
    });
}

/// Raises the caps so that the whole million-series answer is decoded.
fn raise_limits(t: &mut Telemetry) {
    t.max_series_per_answer = 2_000_000;
    t.max_points_per_answer = 2_000_000;
}

/// Resident memory after the binary's trim (`rackscope::mem`, run after large answers).
fn trim() -> String {
    rackscope::mem::trim();
    format!("{:.0} MiB", status_mib("VmRSS"))
}

/// The decoder this one replaced, for the `old` rows: the whole body read at once, then
/// serde's derive with a map per series.
mod old {
    use std::collections::BTreeMap;

    use serde::Deserialize;

    #[derive(Deserialize)]
    struct Envelope {
        #[allow(dead_code)]
        status: String,
        data: Option<Data>,
    }

    #[derive(Deserialize)]
    #[serde(tag = "resultType", content = "result", rename_all = "lowercase")]
    enum Data {
        Vector(Vec<VectorItem>),
        Matrix(Vec<MatrixItem>),
    }

    #[derive(Deserialize)]
    struct VectorItem {
        #[serde(default)]
        metric: BTreeMap<String, String>,
        value: Option<(f64, String)>,
    }

    #[derive(Deserialize)]
    struct MatrixItem {
        #[serde(default)]
        metric: BTreeMap<String, String>,
        #[serde(default)]
        values: Vec<(f64, String)>,
    }

    type Labels = Vec<(Box<str>, Box<str>)>;

    fn labels(m: BTreeMap<String, String>) -> Labels {
        m.into_iter().map(|(k, v)| (k.into(), v.into())).collect()
    }

    pub(crate) async fn query(url: &str, range: bool) -> String {
        let resp = rackscope_prometheus::tls::http_client()
            .post(format!("{url}/api/v1/query"))
            .form(&[("query", "x")])
            .send()
            .await
            .unwrap();
        // As the old client did: the body copied out of reqwest's buffer, and alive until
        // the answer was decoded.
        let body = resp.bytes().await.unwrap().to_vec();
        let env: Envelope = serde_json::from_slice(&body).unwrap();
        match (env.data.unwrap(), range) {
            (Data::Vector(items), false) => {
                let samples: Vec<(Labels, f64)> = items
                    .into_iter()
                    .filter_map(|i| Some((labels(i.metric), i.value?.1.parse().unwrap())))
                    .collect();
                format!("{} samples", samples.len())
            }
            (Data::Matrix(items), true) => {
                let series: Vec<(Labels, Vec<(f64, f64)>)> = items
                    .into_iter()
                    .map(|i| {
                        let pts = i.values.into_iter().map(|(t, v)| (t, v.parse().unwrap()));
                        (labels(i.metric), pts.collect())
                    })
                    .collect();
                let points: usize = series.iter().map(|s| s.1.len()).sum();
                format!("{} series, {points} points", series.len())
            }
            _ => "unexpected".into(),
        }
    }
}
