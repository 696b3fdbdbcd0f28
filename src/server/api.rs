//! The read endpoints of seed 003 and the Python Rackscope's other read endpoints. Health
//! comes from the current snapshot and nothing here waits on Prometheus, except the
//! explicit live reads (`include_metrics`), which `live.rs` fetches.

use axum::Json;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use rackscope_core::load::Config;
use rackscope_core::topology::{DeviceIx, RackIx, RoomIx};
use serde::Deserialize;
use serde_json::json;

use crate::server::error::ApiError;
use crate::server::{AppState, live, wire};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/stats/global", get(stats_global))
        .route("/api/stats/prometheus", get(stats_prometheus))
        .route("/api/stats/telemetry", get(stats_telemetry))
        .route("/api/alerts/active", get(alerts_active))
        .route("/api/sites", get(sites))
        .route("/api/rooms", get(rooms))
        .route("/api/rooms/states", get(rooms_states))
        .route("/api/rooms/{room_id}/layout", get(room_layout))
        .route("/api/rooms/{room_id}/state", get(room_state))
        .route("/api/racks/{rack_id}", get(rack))
        .route("/api/racks/{rack_id}/state", get(rack_state))
        .route("/api/racks/{rack_id}/devices/{device_id}", get(rack_device))
        .route("/api/catalog", get(catalog))
        .route("/api/checks", get(checks))
        .route("/api/metrics/library", get(metrics_library))
        .route("/api/metrics/library/{metric_id}", get(metric))
}

async fn stats_global(State(st): State<AppState>) -> Response {
    let Some(snap) = st.engine.snapshot() else {
        return Json(wire::stats::global_stats(&st.engine.config(), None)).into_response();
    };
    st.memo.json(snap.seq, "stats", || {
        wire::stats::global_stats(&snap.config, Some(&snap))
    })
}

async fn stats_prometheus(State(st): State<AppState>) -> Response {
    let snap = st.engine.snapshot();
    Json(wire::stats::prometheus(&st.engine.stats(), snap.as_deref())).into_response()
}

async fn stats_telemetry(State(st): State<AppState>) -> Response {
    let snap = st.engine.snapshot();
    Json(wire::stats::telemetry(&st.engine.stats(), snap.as_deref())).into_response()
}

// ---------------------------------------------------------------- alerts

async fn alerts_active(State(st): State<AppState>) -> Response {
    match st.engine.snapshot() {
        Some(s) => st.memo.json(
            s.seq,
            "alerts",
            || json!({ "alerts": wire::alerts::alert_views(&s) }),
        ),
        None => Json(json!({ "alerts": [] })).into_response(),
    }
}

// ---------------------------------------------------------------- topology reads

async fn sites(State(st): State<AppState>) -> Response {
    let config = st.engine.config();
    let topo = &config.topology;
    let v: Vec<_> = topo
        .sites
        .iter()
        .map(|s| wire::topology::site(topo, s))
        .collect();
    Json(v).into_response()
}

async fn rooms(State(st): State<AppState>) -> Response {
    let config = st.engine.config();
    Json(wire::topology::rooms(&config.topology)).into_response()
}

fn find_room(config: &Config, id: &str) -> Result<RoomIx, ApiError> {
    config
        .topology
        .room_ix(id)
        .ok_or_else(|| ApiError::not_found("room", id))
}

pub(crate) fn find_rack(config: &Config, id: &str) -> Result<RackIx, ApiError> {
    config
        .topology
        .rack_ix(id)
        .ok_or_else(|| ApiError::not_found("rack", id))
}

/// A device by its rack and its id: 404 names the rack when the rack is unknown, else
/// the device.
pub(crate) fn find_device(
    config: &Config,
    rack_id: &str,
    device_id: &str,
) -> Result<DeviceIx, ApiError> {
    let r = find_rack(config, rack_id)?;
    config
        .topology
        .device_ix_in_rack(r, device_id)
        .ok_or_else(|| ApiError::not_found("device", device_id))
}

async fn room_layout(
    State(st): State<AppState>,
    Path(room_id): Path<String>,
) -> Result<Response, ApiError> {
    let config = st.engine.config();
    let r = find_room(&config, &room_id)?;
    let topo = &config.topology;
    Ok(Json(wire::topology::room(topo, &topo.rooms[r])).into_response())
}

async fn rack(
    State(st): State<AppState>,
    Path(rack_id): Path<String>,
) -> Result<Response, ApiError> {
    let config = st.engine.config();
    let r = find_rack(&config, &rack_id)?;
    let topo = &config.topology;
    Ok(Json(wire::topology::rack(topo, &topo.racks[r])).into_response())
}

async fn rack_device(
    State(st): State<AppState>,
    Path((rack_id, device_id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let config = st.engine.config();
    let d = find_device(&config, &rack_id, &device_id)?;
    let d = &config.topology.devices[d];
    Ok(Json(wire::topology::rack_device(&config, d)).into_response())
}

async fn catalog(State(st): State<AppState>) -> Response {
    Json(wire::topology::catalog(&st.engine.config())).into_response()
}

async fn checks(State(st): State<AppState>) -> Response {
    Json(wire::topology::checks(&st.engine.config())).into_response()
}

#[derive(Deserialize)]
struct LibraryFilter {
    category: Option<String>,
    tag: Option<String>,
}

async fn metrics_library(State(st): State<AppState>, Query(f): Query<LibraryFilter>) -> Response {
    let config = st.engine.config();
    let body = wire::topology::metrics_library(&config, f.category.as_deref(), f.tag.as_deref());
    Json(body).into_response()
}

async fn metric(
    State(st): State<AppState>,
    Path(metric_id): Path<String>,
) -> Result<Response, ApiError> {
    let config = st.engine.config();
    let m = config
        .metrics
        .get(&metric_id)
        .ok_or_else(|| ApiError::not_found("metric", &metric_id))?;
    Ok(Json(&m.def).into_response())
}

// ---------------------------------------------------------------- room and rack state

async fn room_state(
    State(st): State<AppState>,
    Path(room_id): Path<String>,
) -> Result<Response, ApiError> {
    let Some(snap) = st.engine.snapshot() else {
        find_room(&st.engine.config(), &room_id)?;
        return Ok(Json(wire::rack::room_state_unknown(&room_id)).into_response());
    };
    let r = find_room(&snap.config, &room_id)?;
    Ok(st.memo.json(snap.seq, &format!("room:{room_id}"), || {
        wire::rack::room_state(&snap, r, &room_id)
    }))
}

async fn rooms_states(State(st): State<AppState>) -> Response {
    let Some(snap) = st.engine.snapshot() else {
        let config = st.engine.config();
        return Json(wire::rack::rooms_states(&config.topology, None)).into_response();
    };
    st.memo.json(snap.seq, "rooms", || {
        wire::rack::rooms_states(&snap.config.topology, Some(&snap))
    })
}

#[derive(Deserialize)]
struct RackStateQuery {
    #[serde(default)]
    include_metrics: Option<String>,
}

async fn rack_state(
    State(st): State<AppState>,
    Path(rack_id): Path<String>,
    Query(q): Query<RackStateQuery>,
) -> Result<Response, ApiError> {
    let include = match q.include_metrics.as_deref() {
        None | Some("false" | "0" | "no" | "") => false,
        Some("true" | "1" | "yes") => true,
        Some(other) => {
            return Err(ApiError::BadRequest(format!(
                "include_metrics must be true or false, not `{other}`"
            )));
        }
    };
    let Some(snap) = st.engine.snapshot() else {
        find_rack(&st.engine.config(), &rack_id)?;
        return Ok(Json(wire::rack::rack_state_unknown(&rack_id)).into_response());
    };
    let r = find_rack(&snap.config, &rack_id)?;
    if !include {
        return Ok(st.memo.json(snap.seq, &format!("rack:{rack_id}"), || {
            wire::rack::rack_state_json(&snap, r, None)
        }));
    }
    let live = live::rack_live(&st.engine, &snap, r).await;
    Ok(Json(wire::rack::rack_state_json(&snap, r, Some(&live))).into_response())
}
