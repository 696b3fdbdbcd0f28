//! `rackscope serve`: the server over one configuration, until Ctrl-C or SIGTERM.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args)]
pub(super) struct Args {
    /// The configuration directory or its app.yaml.
    #[arg(env = "RACKSCOPE_APP_CONFIG")]
    config: PathBuf,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8000")]
    listen: SocketAddr,
    /// A directory of templates (and `static/` files) to use over the built-in ones,
    /// file by file.
    #[arg(long, env = "RACKSCOPE_TEMPLATES")]
    templates: Option<PathBuf>,
}

pub(super) async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let cfg = rackscope::demo::load_config(&args.config)?;
    if !cfg.access.enabled && !args.listen.ip().is_loopback() {
        eprintln!(
            "warning: sign-in is disabled (auth.enabled: false): everyone who can reach {} \
             may do everything; docs/auth.md sets it up",
            args.listen
        );
    }
    let engine = rackscope::demo::engine_for(cfg)?;
    let state = rackscope::server::AppState::with_templates(engine, args.templates.as_deref())
        .map_err(|e| anyhow::anyhow!("web UI templates: {e}"))?;
    let listener = rackscope::demo::bind(args.listen, "Rackscope", "--listen").await?;
    eprintln!("Rackscope listening on http://{}", listener.local_addr()?);
    rackscope::demo::serve(state, listener, super::stop_signal()).await?;
    Ok(ExitCode::SUCCESS)
}
