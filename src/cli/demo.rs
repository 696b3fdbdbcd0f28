//! `rackscope demo`: the simulator, a real Prometheus scraping it, and the server, in one
//! command; the orchestration itself is `rackscope::demo`.

use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args)]
pub(super) struct Args {
    /// The configuration to run (a directory holding app.yaml).
    #[arg(
        long,
        env = "RACKSCOPE_APP_CONFIG",
        default_value = "config/demo-multisite"
    )]
    config: PathBuf,
    /// Where Prometheus keeps its data and log, and the simulator its overrides
    /// (default: $XDG_STATE_HOME/rackscope/<config dir name>).
    #[arg(long)]
    state_dir: Option<PathBuf>,
    /// Port of the Rackscope server.
    #[arg(long, default_value_t = 8000)]
    port: u16,
    /// Port of the demo's Prometheus (not 9090, which a system Prometheus may hold).
    #[arg(long, default_value_t = 9190)]
    prometheus_port: u16,
    /// Port of the simulator's exporter and control API.
    #[arg(long, default_value_t = 9000)]
    simulator_port: u16,
    /// How often Prometheus scrapes the simulator, in seconds.
    #[arg(long, default_value_t = 5)]
    scrape_interval: u64,
    /// The Prometheus binary (default: `prometheus` on PATH, installed when missing).
    #[arg(long)]
    prometheus_bin: Option<PathBuf>,
    /// Seed of the simulator's incident draws.
    #[arg(long)]
    seed: Option<u64>,
    /// Incident mode, overriding the configuration's plugin.yaml.
    #[arg(long, value_parser = super::parse_mode)]
    incident_mode: Option<rackscope_simulator::IncidentMode>,
    /// Print a status line on every refresh, not only on changes.
    #[arg(long)]
    verbose: bool,
    /// A directory of templates to use over the built-in ones (see `serve`).
    #[arg(long, env = "RACKSCOPE_TEMPLATES")]
    templates: Option<PathBuf>,
}

pub(super) async fn run(
    a: Args,
    logs: std::sync::Arc<rackscope::logbook::LogBook>,
) -> anyhow::Result<ExitCode> {
    if !a.config.exists() {
        anyhow::bail!(
            "{} not found: run the demo from the repository root, or pass --config DIR",
            a.config.display()
        );
    }
    let opts = rackscope::demo::DemoOptions {
        config: a.config,
        state_dir: a.state_dir,
        port: a.port,
        prometheus_port: a.prometheus_port,
        simulator_port: a.simulator_port,
        scrape_interval_seconds: a.scrape_interval.max(1),
        prometheus_bin: a.prometheus_bin,
        seed: a.seed,
        incident_mode: a.incident_mode,
        verbose: a.verbose,
        templates: a.templates,
        logs,
    };
    rackscope::demo::demo(opts, super::stop_signal()).await?;
    Ok(ExitCode::SUCCESS)
}
