//! `rackscope simulate`: the simulator's exporter and control API over one configuration.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

#[derive(clap::Args)]
pub(super) struct Args {
    /// The configuration directory or its app.yaml.
    #[arg(env = "RACKSCOPE_APP_CONFIG")]
    config: PathBuf,
    /// Address to serve /metrics and the control API on.
    #[arg(long, default_value = "127.0.0.1:9000")]
    listen: SocketAddr,
    /// Seed of the incident draws (plugin.yaml `seed`; random when neither is set).
    #[arg(long)]
    seed: Option<u64>,
    /// Incident mode, overriding plugin.yaml.
    #[arg(long, value_parser = super::parse_mode)]
    incident_mode: Option<rackscope_simulator::IncidentMode>,
    /// Overrides file, instead of the one plugin.yaml names.
    #[arg(long)]
    overrides: Option<PathBuf>,
    /// Bearer token the control API requires for changes.
    #[arg(long, env = "SIMULATOR_CONTROL_TOKEN", hide_env_values = true)]
    control_token: Option<String>,
}

pub(super) async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let config = Arc::new(rackscope::demo::load_config(&args.config)?);
    let sim = Arc::new(rackscope::demo::simulator(
        config,
        args.seed,
        args.incident_mode,
        args.overrides,
    )?);
    let listener = rackscope::demo::bind(args.listen, "simulator", "--listen").await?;
    eprintln!(
        "simulator: {} nodes, {} metric families, seed {}, {} incidents; http://{}/metrics",
        sim.world().nodes.len(),
        sim.catalog().families.len(),
        sim.seed(),
        sim.settings().mode.as_str(),
        listener.local_addr()?
    );
    rackscope_simulator::http::run(listener, sim, args.control_token, super::stop_signal()).await?;
    Ok(ExitCode::SUCCESS)
}
