//! `rackscope test FILE…`: unit tests for checks (docs/testing-checks.md). Failures print
//! like `rackscope check`'s diagnostics, at the line of the expectation; `--update`
//! rewrites the expected values that were wrong, for review in the diff.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::ExitCode;

use rackscope::checktest::{Report, run_file};
use rackscope_core::diag;

#[derive(clap::Args)]
pub(super) struct Args {
    /// Test files (YAML); a directory runs every `*.test.yaml` in it.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Output format: human-readable text, or JSON for CI.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Rewrite each wrong expected value with the one found (review the diff).
    #[arg(long)]
    update: bool,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Format {
    Text,
    Json,
}

/// The files to run: those given, and the `*.test.yaml` of the directories given.
fn files(args: &Args) -> anyhow::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for f in &args.files {
        if f.is_dir() {
            let mut found: Vec<PathBuf> = std::fs::read_dir(f)?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.to_string_lossy().ends_with(".test.yaml"))
                .collect();
            found.sort();
            if found.is_empty() {
                anyhow::bail!("{} holds no *.test.yaml file", f.display());
            }
            out.extend(found);
        } else {
            out.push(f.clone());
        }
    }
    Ok(out)
}

pub(super) async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let mut reports: Vec<Report> = Vec::new();
    for f in files(&args)? {
        reports.push(run_file(&f).await?);
    }
    let failed: usize = reports.iter().map(Report::failed).sum();
    let passed: usize = reports.iter().map(|r| r.passed).sum();
    if args.update {
        for r in &reports {
            if let Some(text) = &r.updated {
                std::fs::write(&r.file, text)?;
                eprintln!("updated {}", r.file.display());
            }
        }
    }
    match args.format {
        Format::Json => {
            let files: Vec<_> = reports
                .iter()
                .map(|r| {
                    serde_json::json!({
                        "file": r.file,
                        "passed": r.passed,
                        "failed": r.failed(),
                        "diagnostics": r.diagnostics,
                    })
                })
                .collect();
            let out = serde_json::json!({ "passed": passed, "failed": failed, "files": files });
            println!("{}", serde_json::to_string_pretty(&out)?);
        }
        Format::Text => {
            let mut sources: HashMap<PathBuf, Option<String>> = HashMap::new();
            for r in &reports {
                for d in &r.diagnostics {
                    let src = sources
                        .entry(d.span.file.to_path_buf())
                        .or_insert_with(|| std::fs::read_to_string(&d.span.file).ok());
                    print!("{}", diag::render(d, src.as_deref()));
                }
            }
            println!(
                "tests: {passed} passed, {failed} failed, in {} file{}",
                reports.len(),
                if reports.len() == 1 { "" } else { "s" }
            );
        }
    }
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
