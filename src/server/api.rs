//! The read endpoints of seed 003 and the Python Rackscope's other read endpoints. Health
//! comes from the current snapshot and nothing here waits on Prometheus, except the
//! explicit live reads (`include_metrics`), which `live.rs` fetches.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use rackscope_core::Config;
use rackscope_core::topology::{DeviceIx, RackIx, RoomIx};

use serde::Deserialize;
use utoipa::IntoParams;

use crate::server::error::{ApiError, ErrorBody};
use crate::server::routes::Routes;
use crate::server::{AppState, live, wire};

pub fn routes() -> Routes {
    Routes::new()
        .read("/api/stats/global", get(stats_global))
        .read("/api/stats/prometheus", get(stats_prometheus))
        .read("/api/stats/telemetry", get(stats_telemetry))
        .read("/api/alerts/active", get(alerts_active))
        // The alerts page's export: its rows in the API's shape (or CSV).
        .read("/alerts/export", get(crate::server::alerts_export::export))
        .read("/api/sites", get(sites))
        .read("/api/rooms", get(rooms))
        .read("/api/rooms/states", get(rooms_states))
        .read("/api/rooms/{room_id}/layout", get(room_layout))
        .read("/api/rooms/{room_id}/state", get(room_state))
        .read("/api/racks/{rack_id}", get(rack))
        .read("/api/racks/{rack_id}/state", get(rack_state))
        .read("/api/racks/{rack_id}/devices/{device_id}", get(rack_device))
        .read("/api/catalog", get(catalog))
        .read("/api/checks", get(checks))
        .read("/api/metrics/library", get(metrics_library))
        .read("/api/metrics/library/{metric_id}", get(metric))
}

#[utoipa::path(
    get,
    path = "/api/stats/global",
    operation_id = "statsGlobal",
    tag = "stats",
    summary = "Global health summary (seed 003)",
    description = "Counts racks by state from the current snapshot. `unknown_count`, `stale` and `last_refresh_failed` are additions. `status` is the worst monitored state (CRIT > WARN > UNKNOWN > OK): UNKNOWN before the first snapshot, whenever anything monitored is UNKNOWN and nothing is WARN or CRIT, and past planner.stale_after_seconds without data. `stale`: the states are not current (the last refresh failed, or none finished in time); `last_refresh_failed`: every query of the last refresh failed. Unlike the Python version, rooms of every site are counted.",
    responses(
        (status = 200, description = "Summary", body = wire::stats::GlobalStats, example = json!({"total_rooms": 4, "total_racks": 48, "active_alerts": 14, "crit_count": 3, "warn_count": 11, "status": "CRIT", "unknown_count": 0, "stale": false, "last_refresh_failed": false})),
    )
)]
async fn stats_global(State(st): State<AppState>) -> Response {
    let Some(snap) = st.engine.snapshot() else {
        return Json(wire::stats::global_stats(&st.engine.config(), None)).into_response();
    };
    st.memo.json(snap.seq, "stats", || {
        wire::stats::global_stats(&snap.config, Some(&snap))
    })
}

#[utoipa::path(
    get,
    path = "/api/stats/prometheus",
    operation_id = "statsPrometheus",
    tag = "stats",
    summary = "Prometheus latency and heartbeat (seed 003)",
    description = "`heartbeat_ok`, `error` and `stale` are additions. `stale` is null while the states are current, else `{since_ts, reason, expired, cause}` with cause `refresh_failed` (every query of the last refresh failed) or `no_refresh` (no refresh finished in time); `expired` means every state is UNKNOWN.",
    responses(
        (status = 200, description = "Latency", body = wire::stats::PrometheusStats, example = json!({"last_ms": 42.7, "avg_ms": 38.1, "last_ts": 1709295600000_u64, "heartbeat_seconds": 60, "next_ts": 1709295660000_u64, "heartbeat_ok": true, "error": null, "stale": null})),
    )
)]
async fn stats_prometheus(State(st): State<AppState>) -> Response {
    let snap = st.engine.snapshot();
    Json(wire::stats::prometheus(&st.engine.stats(), snap.as_deref())).into_response()
}

#[utoipa::path(
    get,
    path = "/api/stats/telemetry",
    operation_id = "statsTelemetry",
    tag = "stats",
    summary = "Planner and query statistics (seed 003)",
    responses(
        (status = 200, description = "Statistics", body = wire::stats::Telemetry, example = json!({"query_count": 1247, "cache_hits": 1189, "cache_misses": 58, "in_flight": 0, "last_batch": {"total_ids": 128, "query_count": 4, "max_ids_per_query": 50, "ts": 1709295600000.0}, "last_ms": 41.3, "avg_ms": 37.9, "last_ts": 1709295600000_u64, "query_errors": 0, "refreshes_failed": 0, "last_refresh_ok": true, "refresh_restarts": 0, "heartbeat_restarts": 0, "snapshot": {"seq": 12, "taken_ts": 1709295600000_u64, "duration_ms": 41.0, "query_count": 4, "failed_queries": 0, "stale": null}})),
    )
)]
async fn stats_telemetry(State(st): State<AppState>) -> Response {
    let snap = st.engine.snapshot();
    Json(wire::stats::telemetry(&st.engine.stats(), snap.as_deref())).into_response()
}

// ---------------------------------------------------------------- alerts

#[utoipa::path(
    get,
    path = "/api/alerts/active",
    operation_id = "alertsActive",
    tag = "alerts",
    summary = "Active WARN and CRIT alerts with their location (seed 003)",
    description = "Worst first. `aisle_id`, `aisle_name`, `u_position`, `checks[].slot` (failed disk slot) and `checks[].value` are additions. Instance-less devices alert as type node with node_id = device id.",
    responses(
        (status = 200, description = "Alerts", body = wire::alerts::ActiveAlerts, example = json!({"alerts": [{"type": "node", "node_id": "compute042", "state": "CRIT", "checks": [{"id": "ipmi_temp_crit", "severity": "CRIT", "value": 91.0}], "site_id": "dc1", "site_name": "Primary DC", "room_id": "dc1-r001", "room_name": "Server Room A", "aisle_id": "a01", "aisle_name": "Aisle 01", "rack_id": "a01-r03", "rack_name": "Rack A01-R03", "device_id": "blade-chassis-01", "device_name": "Blade Chassis 01", "u_position": 12}]})),
    )
)]
async fn alerts_active(State(st): State<AppState>) -> Response {
    match st.engine.snapshot() {
        Some(s) => {
            let m = st.engine.maintenances();
            st.memo
                .json(s.seq, "alerts", || wire::alerts::ActiveAlerts {
                    alerts: wire::alerts::alert_views(&s, &m),
                })
        }
        None => Json(wire::alerts::ActiveAlerts { alerts: Vec::new() }).into_response(),
    }
}

// ---------------------------------------------------------------- topology reads

#[utoipa::path(
    get,
    path = "/api/sites",
    operation_id = "sites",
    tag = "topology",
    summary = "The nested topology: sites, rooms, aisles, racks, devices",
    responses(
        (status = 200, description = "Sites", body = Vec<wire::topology::SiteView>),
    )
)]
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

#[utoipa::path(
    get,
    path = "/api/rooms",
    operation_id = "rooms",
    tag = "topology",
    summary = "Every room with its counts and aisle/rack structure (seed 003)",
    description = "Seed 003's counts plus the Python version's `aisles` list, where standalone racks form a virtual aisle `<room>-standalone`.",
    responses(
        (status = 200, description = "Rooms", body = Vec<wire::topology::RoomSummary>, example = json!([{"id": "dc1-r001", "name": "Server Room A", "site_id": "dc1", "site_name": "Primary DC", "aisle_count": 3, "rack_count": 36, "standalone_rack_count": 2, "aisles": [{"id": "a01", "name": "Aisle 01", "racks": [{"id": "a01-r01", "name": "Rack A01-R01"}]}]}])),
    )
)]
async fn rooms(State(st): State<AppState>) -> Response {
    let config = st.engine.config();
    Json(wire::topology::rooms(&config.topology)).into_response()
}

/// A room by short id or `site/room`: 404, or 409 with the candidates of a shared id.
fn find_room(config: &Config, id: &str) -> Result<RoomIx, ApiError> {
    Ok(crate::resolve::room(&config.topology, id)?)
}

/// A rack by short id or qualified path: 404, or 409 with the candidates.
pub(crate) fn find_rack(config: &Config, id: &str) -> Result<RackIx, ApiError> {
    Ok(crate::resolve::rack(&config.topology, id)?)
}

/// A device by its rack and its id: 404 names the rack when the rack is unknown, else
/// the device.
pub(crate) fn find_device(
    config: &Config,
    rack_id: &str,
    device_id: &str,
) -> Result<DeviceIx, ApiError> {
    let topo = &config.topology;
    if let Err(crate::resolve::Unresolved::Missing { .. }) = crate::resolve::rack(topo, rack_id) {
        return Err(ApiError::not_found("rack", rack_id));
    }
    match crate::resolve::device(topo, rack_id, device_id) {
        Err(crate::resolve::Unresolved::Missing { .. }) => {
            Err(ApiError::not_found("device", device_id))
        }
        found => Ok(found?),
    }
}

#[utoipa::path(
    get,
    path = "/api/rooms/{room_id}/layout",
    operation_id = "roomLayout",
    tag = "topology",
    summary = "A room with its layout, aisles, racks and devices (seed 003)",
    params(
        ("room_id" = String, Path, description = "Room id, or `site/room` where the id is shared"),
    ),
    responses(
        (status = 200, description = "Room", body = wire::topology::RoomView),
        (status = 404, description = "Unknown id", body = ErrorBody, example = json!({"detail": "rack `x` not found"})),
    )
)]
async fn room_layout(
    State(st): State<AppState>,
    Path(room_id): Path<String>,
) -> Result<Response, ApiError> {
    let config = st.engine.config();
    let r = find_room(&config, &room_id)?;
    let topo = &config.topology;
    Ok(Json(wire::topology::room(topo, r)).into_response())
}

#[utoipa::path(
    get,
    path = "/api/racks/{rack_id}",
    operation_id = "rack",
    tag = "topology",
    summary = "A rack with its devices (seed 003)",
    params(
        ("rack_id" = String, Path, description = "Rack id, or its qualified path `site/room/aisle/rack` where the id is shared"),
    ),
    responses(
        (status = 200, description = "Rack", body = wire::topology::RackView, example = json!({"id": "a01-r01", "name": "Rack A01-R01", "template_id": "standard-42u", "u_height": 42, "aisle_id": "a01", "room_id": "dc1-r001", "devices": [{"id": "blade-chassis-01", "name": "Blade Chassis 01", "template_id": "bullsequana-x440-quad", "u_position": 1, "face": "front", "instance": ["compute001", "compute002"], "labels": {}}]})),
        (status = 404, description = "Unknown id", body = ErrorBody, example = json!({"detail": "rack `x` not found"})),
    )
)]
async fn rack(
    State(st): State<AppState>,
    Path(rack_id): Path<String>,
) -> Result<Response, ApiError> {
    let config = st.engine.config();
    let r = find_rack(&config, &rack_id)?;
    let topo = &config.topology;
    Ok(Json(wire::topology::rack(topo, r)).into_response())
}

#[utoipa::path(
    get,
    path = "/api/racks/{rack_id}/devices/{device_id}",
    operation_id = "rackDevice",
    tag = "topology",
    summary = "A device with its template, rack, room, aisle and site",
    params(
        ("rack_id" = String, Path, description = "Rack id, or its qualified path `site/room/aisle/rack` where the id is shared"),
        ("device_id" = String, Path, description = "Device id"),
    ),
    responses(
        (status = 200, description = "Device", body = wire::topology::RackDevice),
        (status = 404, description = "Unknown id", body = ErrorBody, example = json!({"detail": "rack `x` not found"})),
    )
)]
async fn rack_device(
    State(st): State<AppState>,
    Path((rack_id, device_id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let config = st.engine.config();
    let d = find_device(&config, &rack_id, &device_id)?;
    Ok(Json(wire::topology::rack_device(&config, d)).into_response())
}

#[utoipa::path(
    get,
    path = "/api/catalog",
    operation_id = "catalog",
    tag = "library",
    summary = "Device, rack and rack component templates",
    responses(
        (status = 200, description = "Catalog", body = wire::topology::CatalogView),
    )
)]
async fn catalog(State(st): State<AppState>) -> Response {
    Json(wire::topology::catalog(&st.engine.config())).into_response()
}

#[utoipa::path(
    get,
    path = "/api/checks",
    operation_id = "checks",
    tag = "library",
    summary = "The checks library",
    responses(
        (status = 200, description = "Checks", body = wire::topology::ChecksView),
    )
)]
async fn checks(State(st): State<AppState>) -> Response {
    Json(wire::topology::checks(&st.engine.config())).into_response()
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct LibraryFilter {
    /// Only this category
    category: Option<String>,
    /// Only this tag
    tag: Option<String>,
}

#[utoipa::path(
    get,
    path = "/api/metrics/library",
    operation_id = "metricsLibrary",
    tag = "library",
    summary = "The metrics library",
    params(
        LibraryFilter,
    ),
    responses(
        (status = 200, description = "Metrics", body = wire::topology::MetricsLibrary, example = json!({"count": 1, "metrics": []})),
    )
)]
async fn metrics_library(State(st): State<AppState>, Query(f): Query<LibraryFilter>) -> Response {
    let config = st.engine.config();
    let body = wire::topology::metrics_library(&config, f.category.as_deref(), f.tag.as_deref());
    Json(body).into_response()
}

#[utoipa::path(
    get,
    path = "/api/metrics/library/{metric_id}",
    operation_id = "metric",
    tag = "library",
    summary = "One metric of the library",
    params(
        ("metric_id" = String, Path, description = "Metric id"),
    ),
    responses(
        (status = 200, description = "Metric", body = Object),
        (status = 404, description = "Unknown id", body = ErrorBody, example = json!({"detail": "rack `x` not found"})),
    )
)]
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

#[utoipa::path(
    get,
    path = "/api/rooms/{room_id}/state",
    operation_id = "roomState",
    tag = "state",
    summary = "A room's state with a per-rack breakdown (seed 003)",
    description = "Room state is the worst rack state, UNKNOWN included (the Python version counts UNKNOWN as OK). Before the first snapshot: state UNKNOWN and no racks.",
    params(
        ("room_id" = String, Path, description = "Room id, or `site/room` where the id is shared"),
    ),
    responses(
        (status = 200, description = "State", body = wire::rack::RoomState, example = json!({"room_id": "dc1-r001", "state": "WARN", "racks": {"a01-r01": {"state": "OK", "node_total": 16, "node_crit": 0, "node_warn": 0}}})),
        (status = 404, description = "Unknown id", body = ErrorBody, example = json!({"detail": "rack `x` not found"})),
    )
)]
async fn room_state(
    State(st): State<AppState>,
    Path(room_id): Path<String>,
) -> Result<Response, ApiError> {
    let Some(snap) = st.engine.snapshot() else {
        find_room(&st.engine.config(), &room_id)?;
        return Ok(Json(wire::rack::room_state_unknown(&room_id)).into_response());
    };
    let r = find_room(&snap.config, &room_id)?;
    let m = st.engine.maintenances();
    Ok(st.memo.json(snap.seq, &format!("room:{room_id}"), || {
        wire::rack::room_state(&snap, &m, r)
    }))
}

#[utoipa::path(
    get,
    path = "/api/rooms/states",
    operation_id = "roomsStates",
    tag = "state",
    summary = "State of every room",
    responses(
        (status = 200, description = "room id → state", body = std::collections::BTreeMap<String, String>, example = json!({"dc1-r001": "WARN"})),
    )
)]
async fn rooms_states(State(st): State<AppState>) -> Response {
    let Some(snap) = st.engine.snapshot() else {
        let config = st.engine.config();
        return Json(wire::rack::rooms_states(&config.topology, None)).into_response();
    };
    st.memo.json(snap.seq, "rooms", || {
        wire::rack::rooms_states(&snap.config.topology, Some(&snap))
    })
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct RackStateQuery {
    /// true to fetch live metrics
    #[serde(default)]
    #[param(value_type = Option<bool>)]
    include_metrics: Option<String>,
}

#[utoipa::path(
    get,
    path = "/api/racks/{rack_id}/state",
    operation_id = "rackState",
    tag = "state",
    summary = "A rack's state, its nodes and, optionally, live metrics (seed 003)",
    description = "Health from the snapshot. With include_metrics=true, node temperature and power and the rack components' metrics are fetched from Prometheus (batched, cached for cache.metrics_ttl_seconds); a failure leaves zeros and sets `metrics_error`. `devices` (chassis-level results) and per-check `name`, `value`, `pending`, `reason` are additions. Virtual nodes of expand_by_label checks appear as `<instance>:<label><value>`.",
    params(
        ("rack_id" = String, Path, description = "Rack id, or its qualified path `site/room/aisle/rack` where the id is shared"),
        RackStateQuery,
    ),
    responses(
        (status = 200, description = "State", body = wire::rack::RackState, example = json!({"rack_id": "a01-r01", "state": "WARN", "checks": [], "alerts": [], "metrics": {"temperature": 43.7, "power": 3240.0}, "infra_metrics": {"components": {"pdu-left": {"pdu_active_power": 1620.0}}}, "nodes": {"compute001": {"state": "OK", "temperature": 41.0, "power": 380.0, "checks": [{"id": "node_up", "name": "Node up", "severity": "OK", "value": 1.0}], "alerts": []}}, "devices": {"blade-chassis-01": {"state": "OK", "checks": [], "alerts": []}}})),
        (status = 400, description = "include_metrics is not a boolean", body = ErrorBody),
        (status = 404, description = "Unknown id", body = ErrorBody, example = json!({"detail": "rack `x` not found"})),
    )
)]
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
    let m = st.engine.maintenances();
    if !include {
        return Ok(st.memo.json(snap.seq, &format!("rack:{rack_id}"), || {
            wire::rack::rack_state(&snap, &m, r, None)
        }));
    }
    let live = live::rack_live(&st.engine, &snap, r).await;
    Ok(Json(wire::rack::rack_state(&snap, &m, r, Some(&live))).into_response())
}
