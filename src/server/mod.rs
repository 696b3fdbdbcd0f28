//! The Rackscope HTTP server: the JSON API of seed 003 (`api`), the endpoints that reach
//! Prometheus (`live`), and operations (`ops`: probes, `/metrics`, OpenAPI). Health reads
//! come from the engine's current snapshot and never wait on Prometheus.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use rackscope_core::telemetry::Engine;
use tower::ServiceBuilder;
use tower_http::compression::CompressionLayer;
use tower_http::request_id::{PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

pub mod api;
pub mod error;
pub mod live;
pub mod memo;
pub mod ops;
pub mod views;

pub use api::{AlertView, alert_views};
pub use error::ApiError;

#[derive(Clone)]
pub struct AppState {
    pub engine: Arc<Engine>,
    pub http: Arc<ops::HttpMetrics>,
    pub memo: Arc<memo::Memo>,
}

impl AppState {
    pub fn new(engine: Arc<Engine>) -> AppState {
        AppState {
            engine,
            http: Arc::new(ops::HttpMetrics::default()),
            memo: Arc::new(memo::Memo::default()),
        }
    }
}

/// Every route, with request ids (`x-request-id`, set when the client sent none, echoed in
/// the response and recorded on the request's span), compression and request metrics.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(index))
        .merge(api::routes())
        .merge(live::routes())
        .merge(ops::routes())
        .fallback(not_found)
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
}

/// Serves `router` on `listener` until `shutdown` completes; tests bind port 0.
pub async fn run(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await
}

async fn not_found(req: Request) -> Response {
    (
        StatusCode::NOT_FOUND,
        axum::Json(serde_json::json!({ "detail": format!("no route for {}", req.uri().path()) })),
    )
        .into_response()
}

/// A plain-text summary until the web UI (issue #6) takes `/` over.
async fn index(State(st): State<AppState>) -> Response {
    let Some(snap) = st.engine.snapshot() else {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "Rackscope: waiting for the first refresh\n",
        )
            .into_response();
    };
    let h = &snap.health;
    let crit = h
        .alerts
        .iter()
        .filter(|a| a.state == rackscope_core::Severity::Crit)
        .count();
    format!(
        "Rackscope: {}\nglobal state: {}\nactive alerts: {} ({} CRIT, {} WARN)\nrefresh #{}: {} queries in {} ms\n\nAPI: /api/docs · /api/stats/global · /api/alerts/active · /metrics\n",
        snap.config.app.app.name,
        h.global.map_or("UNKNOWN", |s| s.as_str()),
        h.alerts.len(),
        crit,
        h.alerts.len() - crit,
        snap.seq,
        snap.query_count,
        snap.duration.as_millis(),
    )
    .into_response()
}
