//! The Slurm view over the API, in the Python version's routes and shapes (`/api/slurm/
//! summary`, `/partitions`, `/nodes`, `/rooms/{id}/nodes`, `/mapping`, `/metrics/catalog`)
//! and `/impact` (ours), read from the current snapshot: the one Slurm query rides each
//! health refresh, so Slurm and hardware states are of the same instant
//! (`/metrics/data` queries, so it lives in `live.rs`). 404 while `plugins.slurm.enabled`
//! is off, as upstream (which does not mount them). `error` is an addition: the Slurm query
//! failed, so no node is claimed fine.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::Method;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::{IntoParams, ToSchema};

use rackscope_core::Config;
use rackscope_core::read::slurm::{
    SlurmNode, room_instances, slurm_error as error_of, slurm_nodes, slurm_partitions,
    slurm_summary,
};
use rackscope_core::telemetry::Snapshot;

use crate::server::AppState;
use crate::server::error::{ApiError, ErrorBody};
use crate::server::routes::{Need, Routes};

pub fn routes() -> Routes {
    let read = |p| (p, [(Method::GET, Need::VIEWER)]);
    let mut r = Routes::new();
    for (path, handler) in [
        ("/api/slurm/summary", get(summary)),
        ("/api/slurm/partitions", get(partitions)),
        ("/api/slurm/nodes", get(nodes)),
        ("/api/slurm/rooms/{room_id}/nodes", get(room_nodes)),
        ("/api/slurm/mapping", get(mapping)),
        ("/api/slurm/impact", get(impact)),
        ("/api/slurm/metrics/catalog", get(catalog)),
    ] {
        let (path, needs) = read(path);
        r = r.route(path, &needs, handler);
    }
    r
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RoomQuery {
    /// Only this room (a room id, or `site/room` where the id is shared).
    room_id: Option<String>,
}

/// The Slurm settings and the current snapshot, or why the view cannot answer.
fn view(
    st: &AppState,
) -> Result<(std::sync::Arc<Config>, Option<std::sync::Arc<Snapshot>>), ApiError> {
    let config = st.engine.config();
    slurm_of(&config)?;
    Ok((config, st.engine.snapshot()))
}

/// The Slurm settings, or the 404 that says how to turn the view on.
pub(crate) fn slurm_of(config: &Config) -> Result<&rackscope_core::slurm::Slurm, ApiError> {
    config.slurm.as_deref().ok_or_else(|| {
        ApiError::not_found(
            "view",
            "slurm (set plugins.slurm.enabled: true in app.yaml)",
        )
    })
}

fn room_of(
    config: &Config,
    q: &RoomQuery,
) -> Result<Option<rackscope_core::topology::RoomIx>, ApiError> {
    q.room_id
        .as_deref()
        .map(|r| crate::resolve::room(&config.topology, r))
        .transpose()
        .map_err(ApiError::from)
}

/// A JSON answer, with `error` added when the Slurm state is not current.
fn answer(mut body: Value, snap: Option<&Snapshot>) -> Response {
    if let Some(e) = error_of(snap) {
        body["error"] = Value::String(e);
    }
    Json(body).into_response()
}

#[derive(Serialize, ToSchema)]
pub struct SlurmSummaryView {
    room_id: Option<String>,
    total_nodes: usize,
    by_status: std::collections::BTreeMap<String, usize>,
    /// OK, WARN, CRIT, UNKNOWN, and INFO where a status maps to it.
    by_severity: std::collections::BTreeMap<String, usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

#[utoipa::path(
    get,
    path = "/api/slurm/summary",
    operation_id = "slurmSummary",
    tag = "slurm",
    summary = "Slurm nodes by status and by severity (the Python version's shape)",
    params(RoomQuery),
    responses(
        (status = 200, description = "Counts", body = SlurmSummaryView),
        (status = 404, description = "The Slurm view is off, or no such room", body = ErrorBody),
        (status = 409, description = "A room id several sites share", body = ErrorBody),
    )
)]
async fn summary(
    State(st): State<AppState>,
    Query(q): Query<RoomQuery>,
) -> Result<Response, ApiError> {
    let (config, snap) = view(&st)?;
    let room = room_of(&config, &q)?;
    let nodes = snap
        .as_deref()
        .map(|s| slurm_nodes(s, room))
        .unwrap_or_default();
    let s = slurm_summary(&nodes);
    let mut by_severity: std::collections::BTreeMap<String, usize> =
        ["OK", "WARN", "CRIT", "UNKNOWN"]
            .iter()
            .map(|k| ((*k).to_owned(), 0))
            .collect();
    for (level, n) in &s.by_level {
        *by_severity.entry(level.as_str().to_owned()).or_default() += n;
    }
    Ok(Json(SlurmSummaryView {
        room_id: q.room_id.clone(),
        total_nodes: s.total,
        by_status: s
            .by_status
            .iter()
            .map(|(k, v)| ((*k).to_owned(), *v))
            .collect(),
        by_severity,
        error: error_of(snap.as_deref()),
    })
    .into_response())
}

#[utoipa::path(
    get,
    path = "/api/slurm/partitions",
    operation_id = "slurmPartitions",
    tag = "slurm",
    summary = "Per partition, its nodes by status",
    params(RoomQuery),
    responses(
        (status = 200, description = "`{room_id, partitions: {partition: {status: count}}}`", body = Object),
        (status = 404, description = "The Slurm view is off, or no such room", body = ErrorBody),
    )
)]
async fn partitions(
    State(st): State<AppState>,
    Query(q): Query<RoomQuery>,
) -> Result<Response, ApiError> {
    let (config, snap) = view(&st)?;
    let room = room_of(&config, &q)?;
    let nodes = snap
        .as_deref()
        .map(|s| slurm_nodes(s, room))
        .unwrap_or_default();
    Ok(answer(
        json!({ "room_id": q.room_id, "partitions": slurm_partitions(&nodes) }),
        snap.as_deref(),
    ))
}

fn node_json(topo: &rackscope_core::topology::Topology, n: &SlurmNode<'_>) -> Value {
    json!({
        "node": n.state.node,
        "instance": n.instance,
        "status": n.state.status,
        "severity": n.state.level.as_str(),
        "statuses": n.state.statuses,
        "partitions": n.state.partitions,
        "reason": n.state.reason,
        "site_id": n.site.id, "site_name": n.site.name,
        "room_id": n.room.id, "room_name": n.room.name,
        "aisle_id": n.aisle.map(|a| a.id.as_str()),
        "rack_id": n.rack.id, "rack_name": n.rack.name,
        "rack_path": topo.rack_path(n.rack_ix),
        "device_id": n.device.id, "device_name": n.device.name,
        "u_position": n.device.u_position,
    })
}

#[utoipa::path(
    get,
    path = "/api/slurm/nodes",
    operation_id = "slurmNodes",
    tag = "slurm",
    summary = "Every node Slurm reports, with its statuses, partitions and physical location",
    params(RoomQuery),
    responses(
        (status = 200, description = "`{room_id, nodes: [{node, instance, status, severity, statuses, partitions, site_id, room_id, aisle_id, rack_id, rack_path, device_id, …}]}`", body = Object),
        (status = 404, description = "The Slurm view is off, or no such room", body = ErrorBody),
    )
)]
async fn nodes(
    State(st): State<AppState>,
    Query(q): Query<RoomQuery>,
) -> Result<Response, ApiError> {
    let (config, snap) = view(&st)?;
    let room = room_of(&config, &q)?;
    let list: Vec<Value> = match snap.as_deref() {
        Some(s) => slurm_nodes(s, room)
            .iter()
            .map(|n| node_json(&s.config.topology, n))
            .collect(),
        None => Vec::new(),
    };
    Ok(answer(
        json!({ "room_id": q.room_id, "nodes": list }),
        snap.as_deref(),
    ))
}

#[utoipa::path(
    get,
    path = "/api/slurm/rooms/{room_id}/nodes",
    operation_id = "slurmRoomNodes",
    tag = "slurm",
    summary = "Every instance of a room with its Slurm state (`unknown` where Slurm says nothing)",
    params(("room_id" = String, Path, description = "Room id, or `site/room` where the id is shared")),
    responses(
        (status = 200, description = "`{room_id, nodes: {instance: {status, severity, statuses, partitions}}}`", body = Object),
        (status = 404, description = "The Slurm view is off, or no such room", body = ErrorBody),
        (status = 409, description = "A room id several sites share", body = ErrorBody),
    )
)]
async fn room_nodes(
    State(st): State<AppState>,
    Path(room_id): Path<String>,
) -> Result<Response, ApiError> {
    let (config, snap) = view(&st)?;
    let room = crate::resolve::room(&config.topology, &room_id)?;
    let mut nodes = serde_json::Map::new();
    if let Some(s) = snap.as_deref() {
        let topo = &s.config.topology;
        for (i, state) in room_instances(s, room) {
            let v = match state {
                Some(n) => json!({
                    "status": n.status, "severity": n.level.as_str(),
                    "statuses": n.statuses, "partitions": n.partitions,
                }),
                None => {
                    json!({ "status": "unknown", "severity": "UNKNOWN", "statuses": [], "partitions": [] })
                }
            };
            nodes.insert(topo.instances[i].name.clone(), v);
        }
    }
    Ok(answer(
        json!({ "room_id": room_id, "nodes": nodes }),
        snap.as_deref(),
    ))
}

#[utoipa::path(
    get,
    path = "/api/slurm/metrics/catalog",
    operation_id = "slurmMetricsCatalog",
    tag = "slurm",
    summary = "The Slurm metrics catalogs: their metrics, the files read, and the files there",
    responses(
        (status = 200, description = "`{metrics: [{id, name, description, metric, scope, display}], loaded_files, available_files}`", body = Object),
        (status = 404, description = "The Slurm view is off", body = ErrorBody),
    )
)]
async fn catalog(State(st): State<AppState>) -> Result<Response, ApiError> {
    let config = st.engine.config();
    let s = slurm_of(&config)?;
    let metrics: Vec<Value> = s
        .catalog
        .iter()
        .map(|m| {
            json!({
                "id": m.id.value, "name": m.name, "description": m.description,
                "metric": m.metric.value, "scope": m.scope, "display": m.display,
            })
        })
        .collect();
    Ok(Json(json!({
        "metrics": metrics,
        "loaded_files": s.catalog_files,
        "available_files": s.catalog_available,
    }))
    .into_response())
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ImpactQuery {
    /// A rack (id, or qualified path where the id is shared).
    rack_id: Option<String>,
    /// A room (id, or `site/room`).
    room_id: Option<String>,
}

#[utoipa::path(
    get,
    path = "/api/slurm/impact",
    operation_id = "slurmImpact",
    tag = "slurm",
    summary = "What losing a rack or a room takes from each Slurm partition (an addition)",
    description = "For each partition the rack (or room) holds nodes of: how many (`nodes`), of how many in the estate (`total`), how many of those Slurm shows busy (allocated, mixed, completing), and the running jobs on them (`jobs`, null unless plugins/slurm/config.yml names a per-node `jobs_metric`), largest share first. Without rack_id or room_id, every rack that is CRIT now.",
    params(ImpactQuery),
    responses(
        (status = 200, description = "`{racks: [paths], partitions: [{partition, nodes, total, busy, jobs}]}`", body = Object),
        (status = 404, description = "The Slurm view is off, or no such rack or room", body = ErrorBody),
        (status = 409, description = "A shared id", body = ErrorBody),
    )
)]
async fn impact(
    State(st): State<AppState>,
    Query(q): Query<ImpactQuery>,
) -> Result<Response, ApiError> {
    let (config, snap) = view(&st)?;
    let topo = &config.topology;
    let racks: Vec<rackscope_core::topology::RackIx> = match (&q.rack_id, &q.room_id) {
        (Some(r), _) => vec![crate::resolve::rack(topo, r)?],
        (None, Some(r)) => topo.room_racks(crate::resolve::room(topo, r)?).collect(),
        (None, None) => match snap.as_deref() {
            Some(s) => topo
                .racks
                .ixs()
                .filter(|&r| {
                    s.health.racks[r.index()].state == Some(rackscope_core::Severity::Crit)
                })
                .collect(),
            None => Vec::new(),
        },
    };
    let partitions: Vec<Value> = match snap.as_deref() {
        Some(s) => rackscope_core::read::slurm::impact(s, &racks)
            .iter()
            .map(|i| json!({"partition": i.partition, "nodes": i.here, "total": i.total, "busy": i.busy, "jobs": i.jobs}))
            .collect(),
        None => Vec::new(),
    };
    let paths: Vec<String> = racks.iter().map(|&r| topo.rack_path(r)).collect();
    Ok(answer(
        json!({ "racks": paths, "partitions": partitions }),
        snap.as_deref(),
    ))
}

#[utoipa::path(
    get,
    path = "/api/slurm/mapping",
    operation_id = "slurmMapping",
    tag = "slurm",
    summary = "The node-name mapping in force, each entry expanded",
    responses(
        (status = 200, description = "`{mapping_path, entries: [{node, instance}]}`", body = Object),
        (status = 404, description = "The Slurm view is off", body = ErrorBody),
    )
)]
async fn mapping(State(st): State<AppState>) -> Result<Response, ApiError> {
    let config = st.engine.config();
    let s = slurm_of(&config)?;
    let entries: Vec<Value> = s
        .mapping
        .entries
        .iter()
        .map(|(node, instance)| json!({ "node": node, "instance": instance }))
        .collect();
    Ok(Json(json!({ "mapping_path": s.mapping.file, "entries": entries })).into_response())
}
