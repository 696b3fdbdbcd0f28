//! The Rackscope HTTP server: reads the engine's current snapshot and never waits on
//! Prometheus. Issue #4 brings the first routes (health probes and the active alerts, in
//! the shapes of seed 003); the JSON API of #5 and the UI of #6 grow from here.

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use rackscope_core::telemetry::{AlertTarget, Engine, Snapshot};
use serde::Serialize;
use serde_json::json;

#[derive(Clone)]
pub struct AppState {
    pub engine: Arc<Engine>,
}

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(index))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/api/alerts/active", get(alerts_active))
        .with_state(state)
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
    let body = format!(
        "Rackscope: {}\nglobal state: {}\nactive alerts: {} ({} CRIT, {} WARN)\nrefresh #{}: {} queries in {} ms\n\nGET /api/alerts/active · /healthz · /readyz\n",
        snap.config.app.app.name,
        h.global.map_or("UNKNOWN", |s| s.as_str()),
        h.alerts.len(),
        crit,
        h.alerts.len() - crit,
        snap.seq,
        snap.query_count,
        snap.duration.as_millis(),
    );
    body.into_response()
}

async fn healthz() -> Response {
    Json(json!({ "status": "ok" })).into_response()
}

/// Ready once a configuration is loaded and a first snapshot is published.
async fn readyz(State(st): State<AppState>) -> Response {
    match st.engine.snapshot() {
        Some(s) => Json(json!({ "status": "ready", "snapshot": s.seq })).into_response(),
        None => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "status": "starting", "reason": "no snapshot yet" })),
        )
            .into_response(),
    }
}

/// One alert of `GET /api/alerts/active` (seed 003), with the aisle and U position added
/// so that the operator sees the full physical location.
#[derive(Debug, Serialize, PartialEq)]
pub struct AlertView {
    #[serde(rename = "type")]
    pub kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node_id: Option<String>,
    pub state: &'static str,
    pub checks: Vec<AlertCheckView>,
    pub site_id: String,
    pub site_name: String,
    pub room_id: String,
    pub room_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aisle_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aisle_name: Option<String>,
    pub rack_id: String,
    pub rack_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub u_position: Option<u32>,
}

#[derive(Debug, Serialize, PartialEq)]
pub struct AlertCheckView {
    pub id: String,
    pub severity: &'static str,
    /// The failing virtual node of an `expand_by_label` check (a disk slot).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub slot: Option<String>,
}

pub fn alert_views(snap: &Snapshot) -> Vec<AlertView> {
    let topo = &snap.config.topology;
    snap.health
        .alerts
        .iter()
        .map(|a| {
            let (rack_ix, device_ix, key) = snap.locate(a.target);
            let rack = &topo.racks[rack_ix as usize];
            let room = &topo.rooms[rack.room as usize];
            let site = &topo.sites[room.site as usize];
            let aisle = rack.aisle.map(|x| &topo.aisles[x as usize]);
            let device = device_ix.map(|d| &topo.devices[d as usize]);
            let is_rack = matches!(a.target, AlertTarget::Rack(_));
            AlertView {
                kind: if is_rack { "rack" } else { "node" },
                node_id: (!is_rack).then(|| key.to_string()),
                state: a.state.as_str(),
                checks: a
                    .checks
                    .iter()
                    .map(|c| AlertCheckView {
                        id: snap.plan.checks[c.check as usize].id.to_string(),
                        severity: c.severity.as_str(),
                        slot: c.slot.as_deref().map(str::to_string),
                    })
                    .collect(),
                site_id: site.id.clone(),
                site_name: site.name.clone(),
                room_id: room.id.clone(),
                room_name: room.name.clone(),
                aisle_id: aisle.map(|x| x.id.clone()),
                aisle_name: aisle.map(|x| x.name.clone()),
                rack_id: rack.id.clone(),
                rack_name: rack.name.clone(),
                device_id: device.map(|d| d.id.clone()),
                device_name: device.map(|d| d.name.clone()),
                u_position: device.map(|d| d.u_position),
            }
        })
        .collect()
}

async fn alerts_active(State(st): State<AppState>) -> Response {
    let alerts = st
        .engine
        .snapshot()
        .map(|s| alert_views(&s))
        .unwrap_or_default();
    Json(json!({ "alerts": alerts })).into_response()
}
