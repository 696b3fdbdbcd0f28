//! The Rackscope HTTP server: the JSON API of seed 003 (`api`, shaped by `wire`), the
//! endpoints that reach Prometheus (`live`), operations (`ops`: probes, `/metrics`,
//! OpenAPI), and the pages it mounts without knowing them (`Pages`: the web UI depends on
//! the server, not the reverse). Health reads come from the engine's current snapshot and
//! never wait on Prometheus.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use rackscope_core::telemetry::Engine;
use tower::ServiceBuilder;
use tower_http::compression::CompressionLayer;
use tower_http::request_id::{PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::render::Ui;

pub mod alertmanager;
pub mod alerts_export;
pub mod api;
pub mod auth;
pub mod editing_api;
pub mod error;
pub mod guard;
pub mod headers;
pub mod listen;
pub mod live;
pub mod logs_api;
pub mod maintenance_api;
pub mod memo;
pub mod openapi;
pub mod ops;
pub mod reload;
pub mod routes;
pub mod slurm_api;
pub mod tls;
pub mod wire;

pub use error::ApiError;
pub use wire::alerts::{AlertView, alert_views};

#[derive(Clone)]
pub struct AppState {
    pub engine: Arc<Engine>,
    pub http: Arc<ops::HttpMetrics>,
    pub memo: Arc<memo::Memo>,
    pub ui: Arc<Ui>,
    /// Set when the server begins to shut down, so that endless responses (server-sent
    /// events) end and the graceful shutdown does not wait on open pages.
    pub closing: Arc<tokio::sync::watch::Sender<bool>>,
    /// One permit per open live-update stream (`server.max_sse_clients`).
    pub sse: Arc<tokio::sync::Semaphore>,
    /// The query tester's rate (`api.query_tester_per_minute`).
    pub tester: Arc<guard::Rate>,
    /// Users, sessions, sign-in limits and the audit counters.
    pub auth: Arc<auth::AuthState>,
    /// Reloads of the configuration and how the last one went.
    pub reload: Arc<reload::Reloader>,
    /// Whether the server listens on loopback only (set by `run_tls` from its listener;
    /// true until then): with sign-in off, editing the configuration is allowed only then
    /// unless `editors.enabled` (`editing_api::editors_allowed`).
    pub local_only: Arc<std::sync::atomic::AtomicBool>,
    /// What the Alertmanager reconciler reports on `/metrics`.
    pub alertmanager: Arc<alertmanager::Stats>,
    /// Rackscope's own log for administrators (`/api/logs`, `/logs`): the binary's, which
    /// its tracing layer writes to (`with_logs`), else an empty one of this state's own.
    pub logs: Arc<crate::logbook::LogBook>,
    /// One permit per open log stream (`logs_api::MAX_STREAMS`).
    pub log_streams: Arc<tokio::sync::Semaphore>,
    pub pages: Pages,
}

/// The HTML side of the server, handed over by whoever builds the state (the UI's
/// `AppState::{new, with_templates}`), so that the server mounts pages without depending
/// on them.
#[derive(Clone, Copy)]
pub struct Pages {
    /// Every page's route, with the role each needs.
    pub routes: fn() -> routes::Routes,
    /// The page for a path outside `/api/` that no route serves.
    pub not_found: fn(&AppState, &Request) -> Response,
}

impl AppState {
    /// With `ui`'s templates and files, and `pages` mounted by `router`.
    pub fn with_pages(engine: Arc<Engine>, ui: Ui, pages: Pages) -> AppState {
        let config = engine.config();
        AppState {
            sse: Arc::new(tokio::sync::Semaphore::new(
                config.app.server.max_sse_clients.max(1) as usize,
            )),
            tester: Arc::new(guard::Rate::per_minute(
                config.app.api.query_tester_per_minute,
            )),
            auth: Arc::new(auth::AuthState::new(&config.access)),
            reload: Arc::new(reload::Reloader::new(engine.clone())),
            engine,
            http: Arc::new(ops::HttpMetrics::default()),
            memo: Arc::new(memo::Memo::default()),
            ui: Arc::new(ui),
            closing: Arc::new(tokio::sync::watch::Sender::new(false)),
            local_only: Arc::new(std::sync::atomic::AtomicBool::new(true)),
            alertmanager: Arc::new(alertmanager::Stats::default()),
            logs: Arc::new(crate::logbook::LogBook::default()),
            log_streams: Arc::new(tokio::sync::Semaphore::new(logs_api::MAX_STREAMS)),
            pages,
        }
    }

    /// With `logs` as the log the administrators read.
    pub fn with_logs(self, logs: Arc<crate::logbook::LogBook>) -> AppState {
        AppState { logs, ..self }
    }
}

/// Every route the server has, each with the role it needs: the pages and the server's
/// own.
pub fn all_routes(pages: &Pages) -> routes::Routes {
    (pages.routes)().merge(server_routes())
}

/// The API, the live endpoints, operations and sign-in.
pub fn server_routes() -> routes::Routes {
    api::routes()
        .merge(live::routes())
        .merge(ops::routes())
        .merge(auth::api::routes())
        .merge(reload::routes())
        .merge(editing_api::routes())
        .merge(maintenance_api::routes())
        .merge(slurm_api::routes())
        .merge(logs_api::routes())
}

/// Every route, with request ids (`x-request-id`, set when the client sent none, echoed in
/// the response and recorded on the request's span), compression, request metrics, a time
/// bound per request, the refusal of cross-site writes, the gate that checks who the client
/// is against the role each route needs, and the security headers (outermost, so that
/// timeouts and 404s carry them too).
pub fn router(state: AppState) -> Router {
    headers::prepare();
    let timeout = std::time::Duration::from_secs(u64::from(
        state
            .engine
            .config()
            .app
            .server
            .request_timeout_seconds
            .max(1),
    ));
    let (routes, policy) = all_routes(&state.pages).into_parts();
    let gate = auth::gate::Gate {
        app: state.clone(),
        policy: Arc::new(policy),
    };
    routes
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(gate, auth::gate::gate))
        .layer(axum::middleware::from_fn(guard::same_site_writes))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            timeout,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            ops::track,
        ))
        .with_state(state)
        .layer(
            ServiceBuilder::new()
                .layer(SetRequestIdLayer::x_request_id(ops::Ids::default()))
                .layer(TraceLayer::new_for_http().make_span_with(|req: &Request| {
                    let id = req
                        .headers()
                        .get("x-request-id")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("");
                    tracing::info_span!(
                        "request",
                        method = %req.method(),
                        uri = %req.uri(),
                        request_id = %id
                    )
                }))
                .layer(PropagateRequestIdLayer::x_request_id())
                .layer(CompressionLayer::new()),
        )
        .layer(axum::middleware::from_fn(headers::security))
}

/// Serves `router` on `listener` until `shutdown` completes, within the connection limits
/// of app.yaml's `server:` section; tests bind port 0.
pub async fn run(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    run_boxed(listener, state, None, Box::pin(shutdown)).await
}

/// A shutdown signal with its type erased. The serving functions take one so that their
/// bodies (the accept loop, the spawned tasks) are compiled once, in this crate, instead of
/// again in every crate that passes a future of its own type (the binary, tests, benches).
pub type Shutdown = std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send + 'static>>;

/// As `run`, over TLS when `tls` is given (`tls::load`).
pub async fn run_tls(
    listener: tokio::net::TcpListener,
    state: AppState,
    tls: Option<Arc<rustls::ServerConfig>>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    run_boxed(listener, state, tls, Box::pin(shutdown)).await
}

pub(crate) async fn run_boxed(
    listener: tokio::net::TcpListener,
    state: AppState,
    tls: Option<Arc<rustls::ServerConfig>>,
    shutdown: Shutdown,
) -> std::io::Result<()> {
    let limits = listen::Limits::of(&state.engine.config().app.server);
    // An address we cannot read counts as reachable from elsewhere: the stricter case.
    let loopback = listener.local_addr().is_ok_and(|a| a.ip().is_loopback());
    state
        .local_only
        .store(loopback, std::sync::atomic::Ordering::Relaxed);
    let closing = state.closing.clone();
    tokio::spawn(auth::reload::watch(
        state.auth.clone(),
        state.engine.config().app_file.clone(),
        closing.subscribe(),
    ));
    tokio::spawn(reload::watch(state.reload.clone(), closing.subscribe()));
    tokio::spawn(reload::on_hangup(state.reload.clone(), closing.subscribe()));
    tokio::spawn(alertmanager::run(
        state.engine.clone(),
        state.alertmanager.clone(),
        closing.subscribe(),
    ));
    listen::serve_boxed(listener, router(state), limits, tls, closing, shutdown).await
}

/// Unknown paths: JSON under `/api/` (clients of the API read `detail`), the HTML 404
/// page elsewhere.
async fn not_found(State(st): State<AppState>, req: Request) -> Response {
    let path = req.uri().path();
    if path == "/api" || path.starts_with("/api/") {
        return (
            StatusCode::NOT_FOUND,
            axum::Json(serde_json::json!({ "detail": format!("no route for {path}") })),
        )
            .into_response();
    }
    (st.pages.not_found)(&st, &req)
}
