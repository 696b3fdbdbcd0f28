//! `rackscope check`: diagnostics printed like a compiler's, a summary, and an exit code.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use rackscope_core::{Level, diag};

#[derive(clap::Args)]
pub(super) struct Args {
    /// The configuration's app.yaml, or its directory.
    #[arg(env = "RACKSCOPE_APP_CONFIG")]
    app: PathBuf,
    /// Output format: human-readable text, or JSON for CI.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Print only errors, not warnings.
    #[arg(long)]
    quiet: bool,
    /// Print how long loading took and the peak memory of the process (to stderr).
    #[arg(long)]
    timings: bool,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Format {
    Text,
    Json,
}

pub(super) fn run(args: &Args) -> anyhow::Result<ExitCode> {
    rackscope::demo::finish_interrupted_import(&args.app)?;
    let started = Instant::now();
    let mut loaded = rackscope_core::load(&args.app);
    // What the core cannot judge without a TLS library: whether the files parse and match.
    if let Some(d) = rackscope::server::tls::diagnostic(&loaded.config) {
        loaded.diagnostics.push(d);
        loaded.diagnostics.sort();
    }
    let elapsed = started.elapsed();
    let summary = rackscope_core::validate::summary(&loaded.config);
    let usable = loaded.is_usable();
    let errors = loaded.diagnostics.errors().count();
    let warnings = loaded.diagnostics.warnings().count();
    match args.format {
        Format::Json => {
            let diagnostics: Vec<_> = loaded
                .diagnostics
                .iter()
                .filter(|d| !args.quiet || d.level == Level::Error)
                .collect();
            let out = serde_json::json!({
                "usable": usable,
                "errors": errors,
                "warnings": warnings,
                "summary": summary,
                "diagnostics": diagnostics,
            });
            println!("{}", serde_json::to_string_pretty(&out)?);
        }
        Format::Text => {
            let mut sources: HashMap<&Path, Option<String>> = HashMap::new();
            for d in loaded.diagnostics.iter() {
                if args.quiet && d.level != Level::Error {
                    continue;
                }
                let src = sources
                    .entry(&d.span.file)
                    .or_insert_with(|| std::fs::read_to_string(&d.span.file).ok());
                print!("{}", diag::render(d, src.as_deref()));
            }
            let c = summary.counts;
            // One machine placed twice is one machine; the extra places are said apart.
            let placed = match c.instance_placements.checked_sub(c.instances) {
                Some(extra) if extra > 0 => format!(" ({} placements)", c.instance_placements),
                _ => String::new(),
            };
            println!(
                "summary: {} sites, {} rooms, {} aisles, {} racks, {} devices, {} instances{placed}; {} checks ({} bound); {} device templates, {} rack templates, {} rack component templates; {} metrics",
                c.sites,
                c.rooms,
                c.aisles,
                c.racks,
                c.devices,
                c.instances,
                summary.checks,
                summary.checks_bound,
                summary.device_templates,
                summary.rack_templates,
                summary.rack_component_templates,
                summary.metrics
            );
            print_ambiguous(&summary.ambiguous);
            print_untested(&args.app, &loaded.config);
            if usable {
                println!("result: usable ({errors} errors, {warnings} warnings)");
            } else {
                println!("result: NOT usable ({errors} errors, {warnings} warnings)");
            }
        }
    }
    if args.timings {
        let peak = peak_memory_kib()
            .map(|k| format!("{:.1} MiB", k as f64 / 1024.0))
            .unwrap_or_else(|| "unknown".into());
        eprintln!(
            "timings: loaded in {:.1} ms; peak memory {peak}",
            elapsed.as_secs_f64() * 1000.0
        );
    }
    Ok(if usable {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// The short ids that name several objects, a line per kind: how many, and the first few
/// with their qualified paths (a large estate repeats `aisle-1` in every room).
fn print_ambiguous(all: &[rackscope_core::validate::AmbiguousId]) {
    const SHOWN: usize = 5;
    for kind in ["room", "aisle", "rack", "device"] {
        let of_kind: Vec<_> = all.iter().filter(|a| a.kind == kind).collect();
        if of_kind.is_empty() {
            continue;
        }
        let shown: Vec<String> = of_kind
            .iter()
            .take(SHOWN)
            .map(|a| {
                let mut at = a.paths[..a.paths.len().min(SHOWN)].join(", ");
                if a.paths.len() > SHOWN {
                    at.push_str(&format!(" and {} more", a.paths.len() - SHOWN));
                }
                format!("`{}` at {at}", a.id)
            })
            .collect();
        let more = of_kind.len().saturating_sub(SHOWN);
        let more = if more > 0 {
            format!("; and {more} more")
        } else {
            String::new()
        };
        println!(
            "ambiguous {kind} ids ({}): {}{more}; address these by qualified path",
            of_kind.len(),
            shown.join("; ")
        );
    }
}

/// The check test files of a configuration: `*.test.yaml` beside its app.yaml and in its
/// `tests/` directory.
fn test_files(app: &Path) -> Vec<PathBuf> {
    let dir = if app.is_dir() {
        app
    } else {
        app.parent().unwrap_or(Path::new("."))
    };
    let mut out: Vec<PathBuf> = [dir.to_path_buf(), dir.join("tests")]
        .iter()
        .filter_map(|d| std::fs::read_dir(d).ok())
        .flatten()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.to_string_lossy().ends_with(".test.yaml"))
        .collect();
    out.sort();
    out
}

/// The checks in use that no check test names (docs/testing-checks.md).
fn print_untested(app: &Path, config: &rackscope_core::Config) {
    let mut named = std::collections::HashSet::new();
    for f in test_files(app) {
        let Ok(text) =
            rackscope_core::walk::read_bounded(&f, rackscope::checktest::MAX_TEST_FILE_BYTES)
        else {
            continue;
        };
        let file: std::sync::Arc<Path> = std::sync::Arc::from(f.as_path());
        let mut d = rackscope_core::Diagnostics::default();
        if let Some(t) = rackscope_core::checktest::parse(&file, &text, &mut d) {
            named.extend(rackscope_core::checktest::checks_named(&t).map(str::to_owned));
        }
    }
    let in_use: Vec<&str> = (0..config.checks.len())
        .filter(|&i| config.bindings.listing(i) == rackscope_core::bind::Listing::InUse)
        .map(|i| config.checks.items[i].def.id.value.as_str())
        .collect();
    let mut untested: Vec<&str> = in_use
        .iter()
        .copied()
        .filter(|c| !named.contains(*c))
        .collect();
    untested.sort_unstable();
    if !untested.is_empty() {
        println!(
            "checks without a test ({} of {}): {}; see docs/testing-checks.md",
            untested.len(),
            in_use.len(),
            untested.join(", ")
        );
    }
}

/// The process's peak resident memory (VmHWM), on Linux.
fn peak_memory_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}
