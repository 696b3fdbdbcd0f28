//! `rackscope serve` and `rackscope demo`: the server over a loaded configuration, and the
//! one-command demo that runs the simulator, a real Prometheus scraping it, and the server,
//! all on 127.0.0.1, and stops all three on Ctrl-C.

use std::future::Future;
use std::io::ErrorKind;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use rackscope_core::Config;
use rackscope_core::telemetry::Engine;
use rackscope_core::telemetry::source::BoxFuture;
use rackscope_prometheus::PrometheusClient;
use rackscope_simulator::{IncidentMode, Simulator};
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::server::{self, AppState};

/// Finishes an import into the directory of `app` that died after its commit, before
/// anyone reads the tree, so that no command ever sees half of one.
pub fn finish_interrupted_import(app: &Path) -> anyhow::Result<()> {
    let dir = if app.is_dir() {
        Some(app)
    } else {
        app.parent()
    };
    let Some(dir) = dir.filter(|d| d.join(crate::import::apply::JOURNAL).exists()) else {
        return Ok(());
    };
    if crate::import::apply::recover(dir).with_context(|| {
        format!(
            "cannot finish the interrupted import into {}",
            dir.display()
        )
    })? {
        tracing::warn!(dir = %dir.display(), "an interrupted import was completed");
    }
    Ok(())
}

/// Loads a configuration (a directory holding app.yaml, or the file) or says why not.
pub fn load_config(path: &Path) -> anyhow::Result<Config> {
    let app = if path.is_dir() {
        path.join("app.yaml")
    } else {
        path.to_path_buf()
    };
    finish_interrupted_import(&app)?;
    if !app.exists() {
        bail!("{} not found", app.display());
    }
    let loaded = rackscope_core::load(&app);
    if !loaded.is_usable() {
        let mut msg = format!("{} cannot be used:", app.display());
        for d in loaded.diagnostics.errors().take(5) {
            msg.push_str(&format!("\n  {d}"));
        }
        msg.push_str(&format!(
            "\n`rackscope check {}` lists every problem",
            app.display()
        ));
        bail!(msg);
    }
    Ok(loaded.config)
}

/// Binds a loopback port, turning "in use" into an error that names it and says what to do.
pub async fn bind(addr: SocketAddr, what: &str, flag: &str) -> anyhow::Result<TcpListener> {
    TcpListener::bind(addr).await.map_err(|e| {
        if e.kind() == ErrorKind::AddrInUse {
            anyhow::anyhow!(
                "port {} ({what}) is already in use on {}: stop what holds it (`ss -ltnp 'sport = :{}'` shows it) or choose another port with {flag}",
                addr.port(),
                addr.ip(),
                addr.port()
            )
        } else {
            anyhow::anyhow!("cannot listen on {addr} ({what}): {e}")
        }
    })
}

/// The engine for a configuration, reading the Prometheus its telemetry settings name.
pub fn engine_for(config: Config) -> anyhow::Result<Arc<Engine>> {
    Ok(Arc::new(connected_engine(config)?))
}

/// An engine on the configuration's Prometheus sources (`telemetry.prometheus_url` and
/// `telemetry.sources`), rebuilt when a reload changes them. Every source must build now:
/// a wrong URL or an unreadable CA file is a start-up error, not a silently dark site.
pub fn connected_engine(config: Config) -> anyhow::Result<Engine> {
    let connect = prometheus_sources();
    for (i, built) in connect(&config).into_iter().enumerate() {
        if let Err(e) = built {
            let what = match i {
                0 => "telemetry settings of app.yaml".to_owned(),
                _ => format!("telemetry.sources[{}] of app.yaml", i - 1),
            };
            return Err(anyhow::anyhow!(e).context(what));
        }
    }
    Ok(Engine::connected(Arc::new(config), connect))
}

/// Builds one Prometheus client per source of a configuration, each from its own settings
/// (`Telemetry::for_source`).
pub fn prometheus_sources() -> rackscope_core::telemetry::engine::Connect {
    Arc::new(|config: &Config| {
        let t = &config.app.telemetry;
        (0..t.source_count())
            .map(|i| {
                let settings = t
                    .for_source(i)
                    .ok_or_else(|| format!("no source at position {i}"))?;
                let client = PrometheusClient::from_config(&settings, &config.base_dir)
                    .map_err(|e| format!("source `{}`: {e}", t.source_name(i)))?;
                crate::mem::spawn_trimmer(client.received_counter());
                Ok(Arc::new(client) as Arc<dyn rackscope_core::telemetry::MetricsSource>)
            })
            .collect()
    })
}

// Why these return boxed futures made here: an async fn's body is compiled into every
// crate that awaits it (its coroutine is never exported), so the binary compiled the
// server, the engine and the demo a second time. A `dyn Future` built in this crate is
// polled through its vtable instead (docs/decisions/0020).

/// Runs the engine's refresh loop and the HTTP server until `shutdown`.
pub fn serve(
    state: AppState,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> BoxFuture<'static, anyhow::Result<()>> {
    serve_boxed(state, listener, None, Box::pin(shutdown))
}

/// As `serve`, over TLS when `tls` is given.
pub fn serve_tls(
    state: AppState,
    listener: TcpListener,
    tls: Option<Arc<rustls::ServerConfig>>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> BoxFuture<'static, anyhow::Result<()>> {
    serve_boxed(state, listener, tls, Box::pin(shutdown))
}

#[inline(never)]
fn serve_boxed(
    state: AppState,
    listener: TcpListener,
    tls: Option<Arc<rustls::ServerConfig>>,
    shutdown: server::Shutdown,
) -> BoxFuture<'static, anyhow::Result<()>> {
    Box::pin(serve_inner(state, listener, tls, shutdown))
}

async fn serve_inner(
    state: AppState,
    listener: TcpListener,
    tls: Option<Arc<rustls::ServerConfig>>,
    shutdown: server::Shutdown,
) -> anyhow::Result<()> {
    let engine = state.engine.clone();
    let (stop_tx, mut stop_rx) = watch::channel(false);
    let refresh = {
        let engine = engine.clone();
        tokio::spawn(async move {
            engine
                .run(async move {
                    let _ = stop_rx.wait_for(|s| *s).await;
                })
                .await;
        })
    };
    let result = server::run_boxed(listener, state, tls, shutdown).await;
    let _ = stop_tx.send(true);
    // The engine supervises its own loops; a panic reaching here escaped that supervision.
    if let Err(e) = refresh.await
        && e.is_panic()
    {
        tracing::error!("the refresh task panicked outside its supervisor: {e}");
    }
    result.context("HTTP server")
}

/// A simulator for `config` with its plugin files, and the command line's choices over
/// them; warnings about the plugin files are printed.
pub fn simulator(
    config: Arc<Config>,
    seed: Option<u64>,
    mode: Option<IncidentMode>,
    overrides_file: Option<PathBuf>,
) -> anyhow::Result<Simulator> {
    let (mut settings, catalog, warnings) =
        Simulator::load_settings(&config).map_err(|d| anyhow::anyhow!("{d}"))?;
    for w in &warnings {
        eprintln!("simulator: {w}");
    }
    if let Some(s) = seed {
        settings.seed = Some(s);
    }
    if let Some(m) = mode {
        settings.mode = m;
    }
    if let Some(o) = overrides_file {
        settings.overrides_file = Some(o);
    }
    Ok(Simulator::new(config, settings, catalog))
}

pub struct DemoOptions {
    /// A configuration directory (or its app.yaml).
    pub config: PathBuf,
    pub state_dir: Option<PathBuf>,
    pub port: u16,
    pub prometheus_port: u16,
    pub simulator_port: u16,
    pub scrape_interval_seconds: u64,
    pub prometheus_bin: Option<PathBuf>,
    pub seed: Option<u64>,
    pub incident_mode: Option<IncidentMode>,
    /// Print a line per refresh (the demo's own status output).
    pub verbose: bool,
    /// Templates over the built-in ones.
    pub templates: Option<PathBuf>,
    /// The process's log, for the server's logs page.
    pub logs: Arc<crate::logbook::LogBook>,
}

/// The default state directory: `$XDG_STATE_HOME/rackscope/<config dir name>` (or
/// ~/.local/state), so that each example keeps its own data.
pub fn default_state_dir(config: &Path) -> PathBuf {
    let name = config
        .canonicalize()
        .ok()
        .and_then(|p| {
            let p = if p.is_file() {
                p.parent().map(Path::to_path_buf)?
            } else {
                p
            };
            p.file_name().map(|n| n.to_string_lossy().into_owned())
        })
        .unwrap_or_else(|| "demo".into());
    let base = std::env::var_os("XDG_STATE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/state")))
        .unwrap_or_else(|| PathBuf::from(".rackscope-state"));
    base.join("rackscope").join(name)
}

/// Runs the demo until `shutdown` completes or a part of it fails. Boxed as `serve` is.
pub fn demo(
    opts: DemoOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> BoxFuture<'static, anyhow::Result<()>> {
    demo_boxed(opts, Box::pin(shutdown))
}

#[inline(never)]
fn demo_boxed(
    opts: DemoOptions,
    shutdown: server::Shutdown,
) -> BoxFuture<'static, anyhow::Result<()>> {
    Box::pin(demo_inner(opts, shutdown))
}

// One function on purpose (about 100 lines): it is the order in which three processes
// start and stop, and reading it top to bottom is the point.
async fn demo_inner(opts: DemoOptions, shutdown: server::Shutdown) -> anyhow::Result<()> {
    let mut config = load_config(&opts.config)?;
    let state_dir = opts
        .state_dir
        .clone()
        .unwrap_or_else(|| default_state_dir(&opts.config));
    std::fs::create_dir_all(state_dir.join("data"))
        .with_context(|| format!("creating the state directory {}", state_dir.display()))?;
    let ports = Ports::bind(&opts).await?;
    let sim_addr = ports.simulator.local_addr()?;
    let prometheus_bin = match &opts.prometheus_bin {
        Some(p) => p.clone(),
        None => find_prometheus().map_or_else(install_prometheus, Ok)?,
    };

    // The simulator: overrides live in the state directory, so the demo never edits the
    // configuration in the repository.
    let sim = Arc::new(simulator(
        Arc::new(config.clone()),
        opts.seed,
        opts.incident_mode,
        Some(state_dir.join("overrides.yaml")),
    )?);
    let (stop_tx, stop_rx) = watch::channel(false);
    let sim_task = tokio::spawn(rackscope_simulator::http::run(
        ports.simulator,
        sim.clone(),
        std::env::var("SIMULATOR_CONTROL_TOKEN").ok(),
        stopped(stop_rx.clone()),
    ));
    let prom = Prometheus::start(
        &prometheus_bin,
        &state_dir,
        sim_addr,
        ports.prometheus,
        &opts,
    )
    .await;
    let mut prom = match prom {
        Ok(p) => p,
        Err(e) => {
            let _ = stop_tx.send(true);
            return Err(e);
        }
    };

    config.app.telemetry.prometheus_url = Some(prom.url.clone());
    let name = config.app.app.name.clone();
    let instances = config.topology.instances.len();
    let engine = engine_for(config)?;
    let web_addr = ports.web.local_addr()?;
    let state = AppState::with_templates(engine.clone(), opts.templates.as_deref())
        .context("web UI templates")?
        .with_logs(opts.logs.clone());
    let web_task = tokio::spawn(serve(state, ports.web, stopped(stop_rx.clone())));
    println!(
        "Rackscope demo: {name}, {instances} instances, simulator seed {} ({} incidents)\n\
         \x20 Rackscope   http://{web_addr}   (alerts: http://{web_addr}/api/alerts/active)\n\
         \x20 Prometheus  {}   (data and log in {})\n\
         \x20 simulator   http://{sim_addr}/metrics   (control: http://{sim_addr}/api/status)\n\
         \x20 force a node down:  curl -X POST http://{sim_addr}/api/overrides -H 'content-type: application/json' -d '{{\"instance\":\"<name>\",\"metric\":\"up\",\"value\":0}}'\n\
         Live states appear within about {} seconds. Ctrl-C stops everything.",
        sim.seed(),
        sim.settings().mode.as_str(),
        prom.url,
        state_dir.display(),
        opts.scrape_interval_seconds + u64::from(engine.config().app.planner.cache_ttl_seconds),
    );
    let reporter = {
        let rx = stop_rx.clone();
        let verbose = opts.verbose;
        tokio::spawn(async move {
            tokio::select! {
                _ = report(engine, verbose) => {}
                _ = stopped(rx) => {}
            }
        })
    };

    // Run until Ctrl-C, or until Prometheus goes away under us.
    let outcome = tokio::select! {
        _ = shutdown => Ok(()),
        status = prom.child.wait() => Err(anyhow::anyhow!(
            "Prometheus exited ({}); its log is {}",
            status.map_or_else(|e| e.to_string(), |s| s.to_string()),
            prom.log.display()
        )),
    };
    eprintln!("stopping…");
    let _ = stop_tx.send(true);
    stop_child(&mut prom.child).await;
    let _ = reporter.await;
    let web_res = web_task.await;
    let sim_res = sim_task.await;
    outcome?;
    web_res
        .context("server task")?
        .context("Rackscope server")?;
    sim_res.context("simulator task")?.context("simulator")?;
    eprintln!("stopped");
    Ok(())
}

/// Completes once the demo's stop flag is raised.
async fn stopped(mut rx: watch::Receiver<bool>) {
    let _ = rx.wait_for(|s| *s).await;
}

/// The demo's three ports on loopback, taken before anything starts so that a port in use
/// is an error naming its flag.
struct Ports {
    web: TcpListener,
    simulator: TcpListener,
    prometheus: u16,
}

impl Ports {
    async fn bind(opts: &DemoOptions) -> anyhow::Result<Ports> {
        let lo = [127, 0, 0, 1];
        let web = bind(SocketAddr::from((lo, opts.port)), "Rackscope", "--port").await?;
        let simulator = bind(
            SocketAddr::from((lo, opts.simulator_port)),
            "simulator",
            "--simulator-port",
        )
        .await?;
        // Prometheus binds its port itself; check it is free first so the error is ours.
        let probe = bind(
            SocketAddr::from((lo, opts.prometheus_port)),
            "Prometheus",
            "--prometheus-port",
        )
        .await?;
        Ok(Ports {
            web,
            simulator,
            prometheus: probe.local_addr()?.port(),
        })
    }
}

/// The demo's Prometheus: a child process scraping the simulator, its data and log in the
/// state directory.
struct Prometheus {
    child: tokio::process::Child,
    url: String,
    log: PathBuf,
}

impl Prometheus {
    /// Writes the scrape configuration, starts the process and waits until it is ready
    /// (killing it when it never is).
    async fn start(
        bin: &Path,
        state_dir: &Path,
        sim: SocketAddr,
        port: u16,
        opts: &DemoOptions,
    ) -> anyhow::Result<Prometheus> {
        let prom_yml = state_dir.join("prometheus.yml");
        std::fs::write(
            &prom_yml,
            prometheus_config(sim, opts.scrape_interval_seconds),
        )
        .with_context(|| format!("writing {}", prom_yml.display()))?;
        let log_path = state_dir.join("prometheus.log");
        let log = std::fs::File::create(&log_path)
            .with_context(|| format!("creating {}", log_path.display()))?;
        let mut child = tokio::process::Command::new(bin)
            .arg(format!("--config.file={}", prom_yml.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                state_dir.join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--storage.tsdb.retention.time=2d")
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting {}", bin.display()))?;
        let url = format!("http://127.0.0.1:{port}");
        if let Err(e) = wait_ready(&url, &mut child, &log_path).await {
            let _ = child.kill().await;
            return Err(e);
        }
        Ok(Prometheus {
            child,
            url,
            log: log_path,
        })
    }
}

fn prometheus_config(sim: SocketAddr, interval: u64) -> String {
    format!(
        "# Written by `rackscope demo` on every start; edits are overwritten.\n\
         global:\n  scrape_interval: {interval}s\n  evaluation_interval: {interval}s\n\
         scrape_configs:\n\
         \x20 - job_name: rackscope-simulator\n\
         \x20   # The simulator exports `instance` and `job` per series, as the exporters it\n\
         \x20   # imitates would after relabelling; keep them.\n\
         \x20   honor_labels: true\n\
         \x20   scrape_timeout: {interval}s\n\
         \x20   static_configs:\n\
         \x20     - targets: ['{sim}']\n"
    )
}

/// Prints a line when the global state or the alert counts change (every refresh when
/// verbose): the demo's own status output.
async fn report(engine: Arc<Engine>, verbose: bool) {
    let mut seen = 0u64;
    let mut last = String::new();
    loop {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let Some(snap) = engine.snapshot() else {
            continue;
        };
        if snap.seq == seen {
            continue;
        }
        seen = snap.seq;
        let maintenances = engine.maintenances();
        let views = server::alert_views(&snap, &maintenances);
        let crit = views.iter().filter(|a| a.state == "CRIT").count();
        let line = format!(
            "global {} · {} CRIT, {} WARN alerts",
            snap.health.global.map_or("UNKNOWN", |s| s.as_str()),
            crit,
            views.len() - crit
        );
        if verbose || line != last {
            let worst = views.first().map_or(String::new(), |a| {
                format!(
                    " · worst: {} {} in {}/{}/{}{}",
                    a.node_id.unwrap_or(a.rack_id),
                    a.state,
                    a.site_id,
                    a.room_id,
                    a.rack_id,
                    a.u_position.map_or(String::new(), |u| format!(" U{u}"))
                )
            });
            println!("[refresh {}] {line}{worst}", snap.seq);
            last = line;
        }
    }
}

/// Waits until Prometheus answers `/-/ready`, failing fast if it exits.
pub(crate) async fn wait_ready(
    url: &str,
    child: &mut tokio::process::Child,
    log: &Path,
) -> anyhow::Result<()> {
    let client = rackscope_prometheus::tls::http_client();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(status) = child.try_wait()? {
            let tail = std::fs::read_to_string(log).unwrap_or_default();
            let tail: Vec<&str> = tail.lines().rev().take(5).collect();
            bail!(
                "Prometheus exited at start ({status}); last lines of {}:\n  {}",
                log.display(),
                tail.into_iter().rev().collect::<Vec<_>>().join("\n  ")
            );
        }
        if let Ok(r) = client
            .get(format!("{url}/-/ready"))
            .timeout(Duration::from_secs(2))
            .send()
            .await
            && r.status().is_success()
        {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!(
                "Prometheus did not become ready within 60 s; see {}",
                log.display()
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// SIGTERM (Prometheus flushes its head block), then SIGKILL after 10 s.
async fn stop_child(child: &mut tokio::process::Child) {
    if let Some(pid) = child.id() {
        let _ = tokio::process::Command::new("kill")
            .arg("-TERM")
            .arg(pid.to_string())
            .status()
            .await;
        if tokio::time::timeout(Duration::from_secs(10), child.wait())
            .await
            .is_ok()
        {
            return;
        }
    }
    let _ = child.kill().await;
}

/// The last `n` lines of a command's output, stdout then stderr (apt writes its errors to
/// stderr, after whatever it printed on stdout).
fn output_tail(stdout: &[u8], stderr: &[u8], n: usize) -> Vec<String> {
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(stdout),
        String::from_utf8_lossy(stderr)
    );
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    lines[lines.len().saturating_sub(n)..]
        .iter()
        .map(|l| (*l).to_owned())
        .collect()
}

fn find_prometheus() -> Option<PathBuf> {
    find_bin("prometheus")
}

/// A program on PATH, or where Debian's packages put it.
pub(crate) fn find_bin(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/bin"), PathBuf::from("/usr/sbin")])
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// Installs Debian's `prometheus` package when we may (root, or sudo without a password),
/// and otherwise says exactly what to install.
fn install_prometheus() -> anyhow::Result<PathBuf> {
    let root = std::process::Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
    let sudo = !root
        && std::process::Command::new("sudo")
            .args(["-n", "true"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
    let has_apt = Path::new("/usr/bin/apt-get").exists();
    if !has_apt || !(root || sudo) {
        bail!(
            "Prometheus is not installed. Install Debian's package with\n\n    sudo apt-get install prometheus\n\n\
             (or put a `prometheus` binary on PATH, or pass --prometheus-bin PATH), then run this command again."
        );
    }
    // One line while apt works, not apt's screens of output: the demo's own lines are what
    // the user is waiting for. apt's output is kept and its end shown only on failure.
    eprint!("Prometheus is not installed; installing Debian's `prometheus` package… ");
    let prefix: &[&str] = if root { &[] } else { &["sudo", "-n"] };
    for args in [
        &["apt-get", "update", "-qq"][..],
        &[
            "env",
            "DEBIAN_FRONTEND=noninteractive",
            "apt-get",
            "install",
            "-y",
            "-qq",
            "--no-install-recommends",
            "prometheus",
        ][..],
    ] {
        let all: Vec<&str> = prefix.iter().chain(args).copied().collect();
        let out = match std::process::Command::new(all[0])
            .args(&all[1..])
            .stdin(Stdio::null())
            .output()
        {
            Ok(out) => out,
            Err(e) => {
                eprintln!("failed");
                bail!("cannot run `{}`: {e}", all.join(" "));
            }
        };
        if !out.status.success() {
            eprintln!("failed");
            bail!(
                "`{}` failed ({}); its last lines:\n  {}",
                all.join(" "),
                out.status,
                output_tail(&out.stdout, &out.stderr, 15).join("\n  ")
            );
        }
    }
    eprintln!("done");
    find_prometheus()
        .context("the prometheus package is installed but no `prometheus` binary was found")
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_failed_install_shows_the_last_lines_stdout_then_stderr() {
        let out = b"Reading package lists...\n\nBuilding dependency tree...\n";
        let err = b"E: Unable to locate package prometheus\n";
        assert_eq!(
            super::output_tail(out, err, 2),
            [
                "Building dependency tree...",
                "E: Unable to locate package prometheus"
            ]
        );
        assert_eq!(super::output_tail(b"", b"", 15), Vec::<String>::new());
    }
}
