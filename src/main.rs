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
    /// Run the server: refresh health from Prometheus and serve it over HTTP.
    Serve {
        /// The configuration directory or its app.yaml.
        #[arg(env = "RACKSCOPE_APP_CONFIG")]
        config: PathBuf,
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8000")]
        listen: std::net::SocketAddr,
        /// A directory of templates (and `static/` files) to use over the built-in ones,
        /// file by file.
        #[arg(long, env = "RACKSCOPE_TEMPLATES")]
        templates: Option<PathBuf>,
    },
    /// Run the simulator: a Prometheus exporter that imitates the hardware of a topology.
    Simulate(SimulateArgs),
    /// The one-command demo: simulator, a real Prometheus scraping it, and the server.
    Demo(DemoArgs),
    /// Import the topology from NetBox, RacksDB or BlueBanquise (or any importer plugin)
    /// into a configuration directory.
    Import(rackscope::import::Args),
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
        // Colour codes only for a terminal: logs redirected to a file or journald stay plain.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Check(args) => check::run(&args),
        Command::Import(args) => rackscope::import::run(&args),
        Command::Plan(args) => health::plan_cmd(&args),
        Command::Health(args) => health::health_cmd(&args),
        Command::Generate { out, instances } => generate(&out, instances),
        Command::Serve {
            config,
            listen,
            templates,
        } => runtime().and_then(|rt| {
            rt.block_on(async {
                let cfg = rackscope::demo::load_config(&config)?;
                let engine = rackscope::demo::engine_for(cfg)?;
                let state =
                    rackscope::server::AppState::with_templates(engine, templates.as_deref())
                        .map_err(|e| anyhow::anyhow!("web UI templates: {e}"))?;
                let listener = rackscope::demo::bind(listen, "Rackscope", "--listen").await?;
                eprintln!("Rackscope listening on http://{}", listener.local_addr()?);
                rackscope::demo::serve(state, listener, stop_signal()).await?;
                Ok(ExitCode::SUCCESS)
            })
        }),
        Command::Simulate(args) => runtime().and_then(|rt| rt.block_on(simulate(args))),
        Command::Demo(args) => runtime().and_then(|rt| rt.block_on(demo(args))),
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

fn parse_mode(s: &str) -> Result<rackscope_simulator::IncidentMode, String> {
    rackscope_simulator::IncidentMode::parse(s)
        .ok_or_else(|| "one of full_ok, light, medium, heavy, chaos, custom".to_string())
}

#[derive(clap::Args)]
struct SimulateArgs {
    /// The configuration directory or its app.yaml.
    #[arg(env = "RACKSCOPE_APP_CONFIG")]
    config: PathBuf,
    /// Address to serve /metrics and the control API on.
    #[arg(long, default_value = "127.0.0.1:9000")]
    listen: std::net::SocketAddr,
    /// Seed of the incident draws (plugin.yaml `seed`; random when neither is set).
    #[arg(long)]
    seed: Option<u64>,
    /// Incident mode, overriding plugin.yaml.
    #[arg(long, value_parser = parse_mode)]
    incident_mode: Option<rackscope_simulator::IncidentMode>,
    /// Overrides file, instead of the one plugin.yaml names.
    #[arg(long)]
    overrides: Option<PathBuf>,
    /// Bearer token the control API requires for changes.
    #[arg(long, env = "SIMULATOR_CONTROL_TOKEN", hide_env_values = true)]
    control_token: Option<String>,
}

async fn simulate(args: SimulateArgs) -> anyhow::Result<ExitCode> {
    let config = std::sync::Arc::new(rackscope::demo::load_config(&args.config)?);
    let sim = std::sync::Arc::new(rackscope::demo::simulator(
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
    rackscope_simulator::http::run(listener, sim, args.control_token, stop_signal()).await?;
    Ok(ExitCode::SUCCESS)
}

#[derive(clap::Args)]
struct DemoArgs {
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
    #[arg(long, value_parser = parse_mode)]
    incident_mode: Option<rackscope_simulator::IncidentMode>,
    /// Print a status line on every refresh, not only on changes.
    #[arg(long)]
    verbose: bool,
    /// A directory of templates to use over the built-in ones (see `serve`).
    #[arg(long, env = "RACKSCOPE_TEMPLATES")]
    templates: Option<PathBuf>,
}

async fn demo(a: DemoArgs) -> anyhow::Result<ExitCode> {
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
    };
    rackscope::demo::demo(opts, stop_signal()).await?;
    Ok(ExitCode::SUCCESS)
}
