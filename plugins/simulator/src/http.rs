//! The simulator's HTTP side, on one loopback port: `/metrics` for Prometheus, and a small
//! control API (`/api/status`, `/api/overrides`) to force incidents by hand or from tests.

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get};
use rackscope_core::telemetry::source::BoxFuture;
use serde::Deserialize;
use serde_json::json;

use crate::{ControlError, Invalid, Override, Simulator, unix_now};

#[derive(Clone)]
pub struct Ctl {
    pub sim: Arc<Simulator>,
    /// Bearer token required by the routes that change something, when set.
    pub token: Option<Arc<str>>,
}

pub fn router(sim: Arc<Simulator>, token: Option<String>) -> Router {
    Router::new()
        .route("/", get(index))
        .route("/metrics", get(metrics))
        .route("/api/status", get(status))
        .route("/api/overrides", get(list).post(add).delete(clear))
        .route("/api/overrides/{id}", delete(remove))
        .with_state(Ctl {
            sim,
            token: token.map(Arc::from),
        })
}

/// Serves until `shutdown` completes.
///
/// A future boxed here, with the shutdown's type erased: an async fn's body (axum's
/// server with it) would be compiled again in every crate that awaits it, since its
/// coroutine is never exported; a `dyn Future` is polled through its vtable.
pub fn run(
    listener: tokio::net::TcpListener,
    sim: Arc<Simulator>,
    token: Option<String>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> BoxFuture<'static, std::io::Result<()>> {
    serve(listener, sim, token, Box::pin(shutdown))
}

#[inline(never)]
fn serve(
    listener: tokio::net::TcpListener,
    sim: Arc<Simulator>,
    token: Option<String>,
    shutdown: BoxFuture<'static, ()>,
) -> BoxFuture<'static, std::io::Result<()>> {
    Box::pin(async move {
        axum::serve(listener, router(sim, token))
            .with_graceful_shutdown(shutdown)
            .await
    })
}

/// One error type for the control API, rendered as `{"error": …}`.
#[derive(Debug)]
pub struct ApiError(StatusCode, String);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.0, Json(json!({ "error": self.1 }))).into_response()
    }
}

impl From<ControlError> for ApiError {
    fn from(e: ControlError) -> Self {
        let status = match &e {
            ControlError::Invalid(Invalid::UnknownInstance(_) | Invalid::UnknownRack(_)) => {
                StatusCode::NOT_FOUND
            }
            // The request is fine; the state refuses it until overrides are removed.
            ControlError::Invalid(Invalid::Full) => StatusCode::CONFLICT,
            ControlError::Invalid(_) => StatusCode::BAD_REQUEST,
            ControlError::Io(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        ApiError(status, e.to_string())
    }
}

fn authorize(ctl: &Ctl, headers: &HeaderMap) -> Result<(), ApiError> {
    let Some(token) = &ctl.token else {
        return Ok(());
    };
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    if given == Some(&**token) {
        Ok(())
    } else {
        Err(ApiError(
            StatusCode::UNAUTHORIZED,
            "this route needs `Authorization: Bearer <control token>`".into(),
        ))
    }
}

async fn index() -> &'static str {
    "Rackscope simulator\n\
     GET    /metrics              the exposition Prometheus scrapes\n\
     GET    /api/status           incident mode, seed and the incidents in force\n\
     GET    /api/overrides        forced values\n\
     POST   /api/overrides        {instance|rack_id, metric, value, slot?, ttl_seconds?}\n\
     DELETE /api/overrides[/id]   remove one or all\n"
}

async fn metrics(State(ctl): State<Ctl>) -> Response {
    // A large topology takes a noticeable time to render; keep it off the async workers.
    let sim = ctl.sim.clone();
    match tokio::task::spawn_blocking(move || sim.render()).await {
        Ok(body) => ([(header::CONTENT_TYPE, crate::expo::CONTENT_TYPE)], body).into_response(),
        Err(e) => ApiError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}

async fn status(State(ctl): State<Ctl>) -> Response {
    Json(ctl.sim.status(unix_now())).into_response()
}

async fn list(State(ctl): State<Ctl>) -> Response {
    Json(json!({ "overrides": ctl.sim.overrides(unix_now()) })).into_response()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NewOverride {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    instance: Option<String>,
    #[serde(default)]
    rack_id: Option<String>,
    metric: String,
    value: f64,
    #[serde(default)]
    slot: Option<serde_json::Value>,
    #[serde(default)]
    ttl_seconds: Option<u64>,
}

async fn add(
    State(ctl): State<Ctl>,
    headers: HeaderMap,
    body: Result<Json<NewOverride>, axum::extract::rejection::JsonRejection>,
) -> Result<Response, ApiError> {
    authorize(&ctl, &headers)?;
    let Json(n) = body.map_err(|e| ApiError(StatusCode::BAD_REQUEST, e.body_text()))?;
    let slot = match n.slot {
        None | Some(serde_json::Value::Null) => None,
        Some(serde_json::Value::String(s)) => Some(s),
        Some(serde_json::Value::Number(n)) => Some(n.to_string()),
        Some(other) => {
            return Err(ApiError(
                StatusCode::BAD_REQUEST,
                format!("`slot` must be a number or a string, not {other}"),
            ));
        }
    };
    let o = Override {
        id: n.id.unwrap_or_default(),
        instance: n.instance,
        rack_id: n.rack_id,
        metric: n.metric,
        value: n.value,
        slot,
        expires_at: None,
    };
    let now = unix_now();
    let added = ctl.sim.add_override(o, n.ttl_seconds, now)?;
    tracing::info!(id = %added.id, metric = %added.metric, "override added");
    Ok(Json(json!({ "added": added, "overrides": ctl.sim.overrides(now) })).into_response())
}

async fn clear(State(ctl): State<Ctl>, headers: HeaderMap) -> Result<Response, ApiError> {
    authorize(&ctl, &headers)?;
    ctl.sim.clear_overrides()?;
    Ok(Json(json!({ "overrides": [] })).into_response())
}

async fn remove(
    State(ctl): State<Ctl>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    authorize(&ctl, &headers)?;
    if !ctl.sim.remove_override(&id)? {
        return Err(ApiError(
            StatusCode::NOT_FOUND,
            format!("no override with id `{id}`"),
        ));
    }
    Ok(Json(json!({ "overrides": ctl.sim.overrides(unix_now()) })).into_response())
}
