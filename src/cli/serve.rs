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
    #[arg(long, env = "RACKSCOPE_LISTEN", default_value = "127.0.0.1:8000")]
    listen: SocketAddr,
    /// A directory of templates (and `static/` files) to use over the built-in ones,
    /// file by file.
    #[arg(long, env = "RACKSCOPE_TEMPLATES")]
    templates: Option<PathBuf>,
    /// Serve HTTPS with this PEM certificate chain (over app.yaml's `server.tls_cert`).
    #[arg(long, requires = "tls_key", value_name = "FILE")]
    tls_cert: Option<PathBuf>,
    /// The PEM private key of --tls-cert (over app.yaml's `server.tls_key`).
    #[arg(long, requires = "tls_cert", value_name = "FILE")]
    tls_key: Option<PathBuf>,
}

pub(super) async fn run(
    args: Args,
    logs: std::sync::Arc<rackscope::logbook::LogBook>,
) -> anyhow::Result<ExitCode> {
    let cfg = rackscope::demo::load_config(&args.config)?;
    if !cfg.access.enabled && !args.listen.ip().is_loopback() {
        eprintln!(
            "warning: sign-in is disabled (auth.enabled: false): everyone who can reach {} \
             may do everything; docs/auth.md sets it up",
            args.listen
        );
    }
    // Flags win over app.yaml; clap makes them come in pairs, the loader the keys.
    let pair = match (args.tls_cert, args.tls_key) {
        (Some(c), Some(k)) => Some((c, k)),
        _ => cfg.paths.tls_cert.clone().zip(cfg.paths.tls_key.clone()),
    };
    // Checked before listening: a server that cannot do TLS must not start at all, rather
    // than accept connections it can only drop.
    let tls = match pair {
        Some((cert, key)) => Some(rackscope::server::tls::load(&cert, &key)?),
        None => None,
    };
    let engine = rackscope::demo::engine_for(cfg)?;
    let state = rackscope::server::AppState::with_templates(engine, args.templates.as_deref())
        .map_err(|e| anyhow::anyhow!("web UI templates: {e}"))?
        .with_logs(logs);
    let listener = rackscope::demo::bind(args.listen, "Rackscope", "--listen").await?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    eprintln!(
        "Rackscope listening on {scheme}://{}",
        listener.local_addr()?
    );
    rackscope::demo::serve_tls(state, listener, tls, super::stop_signal()).await?;
    Ok(ExitCode::SUCCESS)
}
