//! Real processes' stand-ins on loopback: the simulator with a fixed seed, and the server
//! with its refresh loop (`rackscope::demo::serve`) reading a real Prometheus.

use std::sync::Arc;

use rackscope_core::telemetry::Engine;
use rackscope_prometheus::PrometheusClient;
use rackscope_simulator::{IncidentMode, Simulator};

use super::load;

/// A simulator for `app` with a fixed seed and no overrides file (fixtures stay untouched),
/// served on a free loopback port. Returns it with its address.
pub(crate) async fn start_simulator(
    app: &std::path::Path,
    mode: Option<IncidentMode>,
) -> (Arc<Simulator>, String, tokio::sync::oneshot::Sender<()>) {
    start_simulator_seeded(app, mode, 2026).await
}

/// A simulator for `app` with `seed`, not listening: to look at what a seed draws.
pub(crate) fn simulator(app: &std::path::Path, mode: Option<IncidentMode>, seed: u64) -> Simulator {
    let loaded = load(app);
    assert!(loaded.is_usable(), "{}", app.display());
    let config = Arc::new(loaded.config);
    let (mut settings, catalog, _) = Simulator::load_settings(&config).unwrap();
    settings.seed = Some(seed);
    settings.overrides_file = None;
    if let Some(m) = mode {
        settings.mode = m;
    }
    Simulator::new(config, settings, catalog)
}

/// `start_simulator` with a chosen seed (incidents are drawn from the seed and the cycle).
pub(crate) async fn start_simulator_seeded(
    app: &std::path::Path,
    mode: Option<IncidentMode>,
    seed: u64,
) -> (Arc<Simulator>, String, tokio::sync::oneshot::Sender<()>) {
    let sim = Arc::new(simulator(app, mode, seed));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(rackscope_simulator::http::run(
        listener,
        sim.clone(),
        None,
        async move {
            let _ = rx.await;
        },
    ));
    (sim, addr, tx)
}

pub(crate) fn client_for(config: &rackscope_core::Config, url: &str) -> PrometheusClient {
    let mut t = config.app.telemetry.clone();
    t.prometheus_url = Some(url.to_string());
    PrometheusClient::from_config(&t, &config.base_dir).unwrap()
}

/// `rackscope::demo::serve` (the server and its refresh loop, every second) over `config`
/// reading the Prometheus at `prom_url`, on a free loopback port.
pub(crate) struct Served {
    pub web: String,
    pub engine: Arc<Engine>,
    stop: tokio::sync::watch::Sender<bool>,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl Served {
    pub(crate) async fn start(config: &rackscope_core::Config, prom_url: &str) -> Served {
        let mut cfg = config.clone();
        cfg.app.planner.cache_ttl_seconds = 1;
        let engine = Arc::new(Engine::new(
            Arc::new(cfg),
            Arc::new(client_for(config, prom_url)),
        ));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let web = format!("http://{}", listener.local_addr().unwrap());
        let (stop, mut stop_rx) = tokio::sync::watch::channel(false);
        let task = tokio::spawn(rackscope::demo::serve(
            rackscope::server::AppState::new(engine.clone()).unwrap(),
            listener,
            async move {
                let _ = stop_rx.wait_for(|s| *s).await;
            },
        ));
        Served {
            web,
            engine,
            stop,
            task,
        }
    }

    /// Stops the server and waits for it, refresh loop included.
    pub(crate) async fn stop(self) -> anyhow::Result<()> {
        let _ = self.stop.send(true);
        self.task.await?
    }
}
