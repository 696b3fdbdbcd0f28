//! The subcommands of `rackscope`, one module each: argument parsing (clap), printing and
//! exit codes. Only the binary compiles this; what the integration tests drive lives in the
//! library (`server`, `import`, `demo`).

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod account;
mod check;
mod demo;
mod generate;
mod health;
mod import;
mod serve;
mod simulate;
mod test;

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
    /// Run the server: refresh health from Prometheus and serve it over HTTP.
    Serve(serve::Args),
    /// Run the simulator: a Prometheus exporter that imitates the hardware of a topology.
    Simulate(simulate::Args),
    /// The one-command demo: simulator, a real Prometheus scraping it, and the server.
    Demo(demo::Args),
    /// Import the topology from NetBox, RacksDB or BlueBanquise (or any importer plugin)
    /// into a configuration directory.
    Import(import::Args),
    /// Run check tests: input series, instants, and the health expected at each, evaluated
    /// with a real Prometheus (docs/testing-checks.md).
    Test(test::Args),
    /// Write a synthetic topology of any size (for benchmarks and load tests).
    Generate(generate::Args),
    /// Add users, set their passwords, list them (docs/auth.md).
    User(account::UserArgs),
    /// Make, list and revoke API tokens for scripts.
    Token(account::TokenArgs),
}

/// Parses the command line, runs the subcommand, and turns its error into exit code 2.
/// `logs` is the buffer the process's log is captured into, for the servers to show.
pub(crate) fn main(logs: std::sync::Arc<rackscope::logbook::LogBook>) -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Check(args) => check::run(&args),
        Command::Import(args) => import::run(&args),
        Command::Plan(args) => health::plan_cmd(&args),
        Command::Health(args) => health::health_cmd(&args),
        Command::Generate(args) => generate::run(&args),
        Command::User(args) => account::user(&args),
        Command::Token(args) => account::token(&args),
        Command::Serve(args) => runtime().and_then(|rt| rt.block_on(serve::run(args, logs))),
        Command::Simulate(args) => runtime().and_then(|rt| rt.block_on(simulate::run(args))),
        Command::Demo(args) => runtime().and_then(|rt| rt.block_on(demo::run(args, logs))),
        Command::Test(args) => runtime().and_then(|rt| rt.block_on(test::run(args))),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("rackscope: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}

/// Completes on Ctrl-C or SIGTERM.
async fn stop_signal() {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term => {}
    }
}

/// The incident modes `simulate` and `demo` accept.
fn parse_mode(s: &str) -> Result<rackscope_simulator::IncidentMode, String> {
    rackscope_simulator::IncidentMode::parse(s)
        .ok_or_else(|| "one of full_ok, light, medium, heavy, chaos, custom".to_string())
}
