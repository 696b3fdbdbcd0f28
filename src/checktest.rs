//! `rackscope test`: runs check test files (`rackscope_core::checktest`) against a real
//! Prometheus, so that every expression is evaluated with Prometheus's own PromQL: the input
//! series are backfilled with `promtool tsdb create-blocks-from openmetrics` into a
//! throwaway data directory, a short-lived `prometheus` serves them on a free loopback port,
//! and the health engine refreshes against it at every input step up to each evaluation
//! instant, as a server refreshing at that cadence would.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use rackscope_core::checktest::{self, START, Step, TestFile};
use rackscope_core::diag::{Diagnostic, Diagnostics, Level, Pos, Span};
use rackscope_core::telemetry::Engine;
use rackscope_prometheus::PrometheusClient;

/// The largest test file read: a test is meant to be read by a person.
pub const MAX_TEST_FILE_BYTES: u64 = 16 << 20;

/// Why a file could not be run at all (its failures are a `Report`).
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(
        "`rackscope test` evaluates PromQL with a real Prometheus, and `{0}` was not found: install Debian's `prometheus` package (it provides prometheus and promtool), or put both on PATH"
    )]
    Missing(&'static str),
    #[error("{0}")]
    Lab(String),
}

/// The outcome of one test file.
#[derive(Debug, Default)]
pub struct Report {
    pub file: PathBuf,
    pub passed: usize,
    /// Failed expectations, and problems of the file or its configuration: each at its line.
    pub diagnostics: Vec<Diagnostic>,
    /// The file's text with every wrong expected value replaced by the one found.
    pub updated: Option<String>,
}

impl Report {
    pub fn failed(&self) -> usize {
        self.diagnostics
            .iter()
            .filter(|d| d.level == Level::Error)
            .count()
    }
}

/// Where a test file's configuration is: its `config:`, else `app.yaml` beside it, else in
/// the directory above (tests kept in `<config>/tests/`).
fn config_of(path: &Path, t: &TestFile) -> PathBuf {
    let dir = path.parent().unwrap_or(Path::new("."));
    match &t.config {
        Some((c, _)) => dir.join(c),
        None if dir.join("app.yaml").is_file() => dir.join("app.yaml"),
        None => dir.join("../app.yaml"),
    }
}

/// The input series as OpenMetrics for promtool: one family per metric name, samples at
/// `START + i × interval`; a missing step writes nothing, and `stale` ends the series
/// until its next value.
pub fn openmetrics(t: &TestFile) -> String {
    let mut families: std::collections::BTreeMap<&str, Vec<String>> = Default::default();
    for s in &t.series {
        let labels: Vec<String> = s
            .selector
            .labels
            .iter()
            .map(|(k, v)| {
                let v = v
                    .replace('\\', "\\\\")
                    .replace('"', "\\\"")
                    .replace('\n', "\\n");
                format!("{k}=\"{v}\"")
            })
            .collect();
        let lines = families.entry(&s.selector.name).or_default();
        for (i, step) in s.steps.iter().enumerate() {
            if let Step::Value(v) = step {
                let at = START + i as u64 * t.interval;
                let v = if v.is_nan() {
                    "NaN".to_owned()
                } else if v.is_infinite() {
                    if *v > 0.0 { "+Inf" } else { "-Inf" }.to_owned()
                } else {
                    format!("{v}")
                };
                lines.push(format!(
                    "{}{{{}}} {v} {at}",
                    s.selector.name,
                    labels.join(",")
                ));
            }
        }
    }
    let mut out = String::new();
    for (name, lines) in families {
        out.push_str(&format!("# TYPE {name} gauge\n"));
        for l in lines {
            out.push_str(&l);
            out.push('\n');
        }
    }
    out.push_str("# EOF\n");
    out
}

fn find_bin(name: &'static str) -> Result<PathBuf, RunError> {
    crate::demo::find_bin(name).ok_or(RunError::Missing(name))
}

/// A throwaway directory, removed with everything in it when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> std::io::Result<Scratch> {
        let nanos = std::time::SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let dir =
            std::env::temp_dir().join(format!("rackscope-test-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        Ok(Scratch(dir))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A short-lived Prometheus over backfilled series; killed when dropped.
struct Lab {
    url: String,
    _child: tokio::process::Child,
    _dir: Scratch,
}

impl Lab {
    async fn start(om: &str, lookback: Option<u64>) -> Result<Lab, RunError> {
        let prometheus = find_bin("prometheus")?;
        let promtool = find_bin("promtool")?;
        let lab = |e: std::io::Error| RunError::Lab(format!("preparing the test Prometheus: {e}"));
        let dir = Scratch::new().map_err(lab)?;
        let data = dir.0.join("data");
        std::fs::write(dir.0.join("series.om"), om).map_err(lab)?;
        let out = tokio::process::Command::new(&promtool)
            .args(["tsdb", "create-blocks-from", "openmetrics", "-q"])
            .arg(dir.0.join("series.om"))
            .arg(&data)
            .output()
            .await
            .map_err(lab)?;
        if !out.status.success() {
            return Err(RunError::Lab(format!(
                "promtool refused the input series: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            )));
        }
        std::fs::write(
            dir.0.join("prometheus.yml"),
            "global: {scrape_interval: 1m}\nscrape_configs: []\n",
        )
        .map_err(lab)?;
        let port = std::net::TcpListener::bind(("127.0.0.1", 0))
            .and_then(|l| l.local_addr())
            .map_err(lab)?
            .port();
        let log = std::fs::File::create(dir.0.join("prometheus.log")).map_err(lab)?;
        let mut cmd = tokio::process::Command::new(&prometheus);
        cmd.arg(format!(
            "--config.file={}",
            dir.0.join("prometheus.yml").display()
        ))
        .arg(format!("--storage.tsdb.path={}", data.display()))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .arg("--storage.tsdb.retention.time=100y")
        .stdin(Stdio::null())
        .stdout(log.try_clone().map_err(lab)?)
        .stderr(log)
        .kill_on_drop(true);
        if let Some(l) = lookback {
            cmd.arg(format!("--query.lookback-delta={l}s"));
        }
        let mut child = cmd.spawn().map_err(lab)?;
        let url = format!("http://127.0.0.1:{port}");
        crate::demo::wait_ready(&url, &mut child, &dir.0.join("prometheus.log"))
            .await
            .map_err(|e| RunError::Lab(format!("the test Prometheus: {e:#}")))?;
        Ok(Lab {
            url,
            _child: child,
            _dir: dir,
        })
    }
}

/// Runs one test file. `Err` only when no Prometheus can run; problems of the file, of its
/// configuration, and failed expectations are the report's diagnostics.
/// Boxed here so that the binary does not compile the runner again (see `demo::serve`).
#[inline(never)]
pub fn run_file(
    path: &Path,
) -> rackscope_core::telemetry::source::BoxFuture<'_, Result<Report, RunError>> {
    Box::pin(run_file_inner(path))
}

async fn run_file_inner(path: &Path) -> Result<Report, RunError> {
    let mut report = Report {
        file: path.to_owned(),
        ..Report::default()
    };
    let file: Arc<Path> = Arc::from(path);
    let mut diags = Diagnostics::default();
    let text = match rackscope_core::walk::read_bounded(path, MAX_TEST_FILE_BYTES) {
        Ok(t) => t,
        Err(e) => {
            diags.error(
                "io",
                Span::file_only(&file),
                format!("{}: {e}", path.display()),
            );
            report.diagnostics = diags.iter().cloned().collect();
            return Ok(report);
        }
    };
    let Some(t) = checktest::parse(&file, &text, &mut diags) else {
        report.diagnostics = diags.iter().cloned().collect();
        return Ok(report);
    };
    let app = config_of(path, &t);
    let loaded = rackscope_core::load(&app);
    if !loaded.is_usable() {
        let at = t.config.as_ref().map_or(Pos::FILE, |(_, p)| *p);
        diags.error(
            "test-config",
            Span::new(&file, at),
            format!(
                "the configuration under test, {}, does not load: {}",
                app.display(),
                loaded
                    .diagnostics
                    .errors()
                    .take(3)
                    .map(|d| d.to_string())
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
        );
        report.diagnostics = diags.iter().cloned().collect();
        return Ok(report);
    }
    let lab = Lab::start(&openmetrics(&t), t.lookback).await?;
    let mut config = loaded.config;
    config.app.telemetry.prometheus_url = Some(lab.url.clone());
    let client = PrometheusClient::from_config(&config.app.telemetry, Path::new("."))
        .map_err(|e| RunError::Lab(format!("the Prometheus client: {e}")))?;
    let engine = Engine::new(Arc::new(config), Arc::new(client));
    let mut failures = Vec::new();
    let instant = |secs: u64| UNIX_EPOCH + Duration::from_secs(START + secs);
    let mut next = 0;
    for eval in &t.evals {
        // Every step up to the instant, so that `for:` sees the failure last.
        let mut last = None;
        while next <= eval.at {
            last = Some(engine.refresh_at(instant(next)).await);
            next += t.interval;
        }
        // Between two steps the engine also refreshes at the instant itself; a second
        // evaluation at one step judges that step's refresh again.
        let on_step = eval.at % t.interval == 0;
        let snap = match (last, on_step, engine.snapshot()) {
            (Some(s), true, _) | (None, true, Some(s)) => s,
            _ => engine.refresh_at(instant(eval.at)).await,
        };
        judge_into(eval, &snap, &file, &mut report, &mut diags, &mut failures);
    }
    report.diagnostics = diags.iter().cloned().collect();
    report.updated = failures
        .iter()
        .any(|f| f.rewrite.is_some())
        .then(|| checktest::rewrite(&text, &failures));
    Ok(report)
}

fn judge_into(
    eval: &checktest::Eval,
    snap: &rackscope_core::telemetry::Snapshot,
    file: &Arc<Path>,
    report: &mut Report,
    diags: &mut Diagnostics,
    failures: &mut Vec<checktest::Failure>,
) {
    // A query Prometheus refused is the configuration's fault, not an expectation's: say
    // which, once per instant.
    if let Some(e) = snap.errors.first() {
        diags.error(
            "test",
            Span::new(file, Pos::FILE),
            format!(
                "at {}: the query of {} failed: {}",
                eval.at_text,
                e.checks.join(", "),
                e.error
            ),
        );
    }
    let (passed, failed) = checktest::judge(eval, snap);
    report.passed += passed;
    for f in &failed {
        diags.error("test", Span::new(file, f.pos), f.message.clone());
    }
    failures.extend(failed);
}
