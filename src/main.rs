//! The `rackscope` command: the edge where configuration, engine and (later) server meet.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod check;
mod health;

#[derive(Parser)]
#[command(
    name = "rackscope",
    version,
    about = "Prometheus-first physical infrastructure monitoring"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Validate a configuration and report every problem with its file, line and column.
    Check(check::Args),
    /// Print the batched PromQL queries a configuration sends on every refresh.
    Plan(health::PlanArgs),
    /// Run one refresh against Prometheus and print the health tree and the alerts.
    Health(health::HealthArgs),
    /// Write a synthetic topology of any size (for benchmarks and load tests).
    Generate {
        /// Directory to write the configuration into (created if missing).
        #[arg(long)]
        out: PathBuf,
        /// Number of instances (nodes) to generate.
        #[arg(long, default_value_t = 10_000)]
        instances: usize,
    },
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("RACKSCOPE_LOG")
                .unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Check(args) => check::run(&args),
        Command::Plan(args) => health::plan_cmd(&args),
        Command::Health(args) => health::health_cmd(&args),
        Command::Generate { out, instances } => generate(&out, instances),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("rackscope: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn generate(out: &std::path::Path, instances: usize) -> anyhow::Result<ExitCode> {
    use anyhow::Context as _;
    if out.join("app.yaml").exists() || out.join("topology").exists() {
        anyhow::bail!(
            "{} already holds a configuration; choose an empty directory",
            out.display()
        );
    }
    let shape = rackscope_core::generate::Shape::for_instances(instances);
    rackscope_core::generate::write(out, shape)
        .with_context(|| format!("writing {}", out.display()))?;
    println!(
        "wrote {} racks and {} instances to {}",
        shape.racks(),
        instances,
        out.join("app.yaml").display()
    );
    Ok(ExitCode::SUCCESS)
}
