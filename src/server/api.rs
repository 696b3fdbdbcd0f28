//! The read endpoints of seed 003 and the Python Rackscope's other read endpoints. Health
//! comes from the current snapshot and nothing here waits on Prometheus, except the
//! explicit live reads (`include_metrics`), which `live.rs` fetches.

use std::borrow::Cow;

use axum::Json;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use rackscope_core::Severity;
use rackscope_core::load::Config;
use rackscope_core::model::checks::Scope;
use rackscope_core::telemetry::stats::unix_ms;
use rackscope_core::telemetry::{
    AlertTarget, CheckResult, Snapshot, Stale, StaleCause, TargetHealth,
};
use rackscope_core::topology::{DeviceIx, RackIx, RoomIx};
use serde::Deserialize;
use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};
use serde_json::json;

use crate::server::error::ApiError;
use crate::server::{AppState, live, views};

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

/// A JSON object whose keys keep the order given (topology order), as the Python version's
/// dicts do.
pub struct Ordered<K, V>(pub Vec<(K, V)>);

impl<K: Serialize, V: Serialize> Serialize for Ordered<K, V> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

fn state_str(s: Option<Severity>) -> &'static str {
    s.unwrap_or(Severity::Unknown).as_str()
}

// ---------------------------------------------------------------- stats

/// `/api/stats/global`. `crit_count`/`warn_count` count racks (seed 003); `status` is the
/// global roll-up, the worst monitored state (CRIT > WARN > UNKNOWN > OK). Unlike the Python
/// version, rooms of every site are counted, and the status is UNKNOWN rather than OK before
/// the first refresh, when anything monitored is UNKNOWN, when nothing is monitored, and
/// when the data is past the stale window: "OK" must mean that something looked.
#[derive(Serialize, Debug, PartialEq)]
pub struct GlobalStats {
    pub total_rooms: usize,
    pub total_racks: usize,
    pub active_alerts: usize,
    pub crit_count: usize,
    pub warn_count: usize,
    pub status: &'static str,
    /// Racks whose state is UNKNOWN (an addition).
    pub unknown_count: usize,
    /// The states are not current: the last refresh failed, or none finished in time.
    pub stale: bool,
    /// Every query of the last refresh failed.
    pub last_refresh_failed: bool,
}

pub fn global_stats(config: &Config, snap: Option<&Snapshot>) -> GlobalStats {
    let Some(snap) = snap else {
        // Before the first refresh: the topology is known, its health is not.
        let topo = &config.topology;
        return GlobalStats {
            total_rooms: topo.rooms.len(),
            total_racks: topo.racks.len(),
            active_alerts: 0,
            crit_count: 0,
            warn_count: 0,
            status: "UNKNOWN",
            unknown_count: topo.racks.len(),
            stale: false,
            last_refresh_failed: false,
        };
    };
    let topo = &snap.config.topology;
    let (mut crit, mut warn, mut unknown) = (0, 0, 0);
    for r in &snap.health.racks {
        match r.state {
            Some(Severity::Crit) => crit += 1,
            Some(Severity::Warn) => warn += 1,
            Some(Severity::Unknown) => unknown += 1,
            _ => {}
        }
    }
    let stale = snap.stale.as_ref();
    let blind = stale
        .is_some_and(|s| s.expired)
        .then_some(Severity::Unknown);
    let status = snap.health.global.max(blind).unwrap_or(Severity::Unknown);
    GlobalStats {
        total_rooms: topo.rooms.len(),
        total_racks: topo.racks.len(),
        active_alerts: crit + warn,
        crit_count: crit,
        warn_count: warn,
        status: status.as_str(),
        unknown_count: unknown,
        stale: stale.is_some(),
        last_refresh_failed: stale.is_some_and(|s| s.cause == StaleCause::RefreshFailed),
    }
}

async fn stats_global(State(st): State<AppState>) -> Response {
    let Some(snap) = st.engine.snapshot() else {
        return Json(global_stats(&st.engine.config(), None)).into_response();
    };
    st.memo.json(snap.seq, "stats", || {
        global_stats(&snap.config, Some(&snap))
    })
}

async fn stats_prometheus(State(st): State<AppState>) -> Response {
    let s = st.engine.stats();
    let snap = st.engine.snapshot();
    Json(json!({
        "last_ms": s.last_ms,
        "avg_ms": s.avg_ms,
        "last_ts": s.last_ts,
        "heartbeat_seconds": s.heartbeat_seconds,
        "next_ts": s.next_ts,
        "heartbeat_ok": s.heartbeat_ok,
        "error": s.heartbeat_error,
        "stale": snap.as_ref().and_then(|s| s.stale.as_ref()).map(stale_json),
    }))
    .into_response()
}

async fn stats_telemetry(State(st): State<AppState>) -> Response {
    let s = st.engine.stats();
    let snap = st.engine.snapshot();
    Json(json!({
        "query_count": s.query_count,
        "cache_hits": s.cache_hits,
        "cache_misses": s.cache_misses,
        "in_flight": s.in_flight,
        "last_batch": s.last_batch,
        "last_ms": s.last_ms,
        "avg_ms": s.avg_ms,
        "last_ts": s.last_ts,
        "query_errors": s.query_errors,
        "refreshes_failed": s.refreshes_failed,
        "last_refresh_ok": s.last_refresh_ok,
        "refresh_restarts": s.refresh_restarts,
        "heartbeat_restarts": s.heartbeat_restarts,
        "snapshot": snap.map(|x| json!({
            "seq": x.seq,
            "taken_ts": unix_ms(x.taken_at),
            "duration_ms": x.duration.as_secs_f64() * 1000.0,
            "query_count": x.query_count,
            "failed_queries": x.errors.len(),
            "stale": x.stale.as_ref().map(stale_json),
        })),
    }))
    .into_response()
}

fn stale_json(x: &Stale) -> serde_json::Value {
    json!({
        "since_ts": unix_ms(x.since),
        "reason": x.reason,
        "expired": x.expired,
        "cause": match x.cause {
            StaleCause::RefreshFailed => "refresh_failed",
            StaleCause::NoRefresh => "no_refresh",
        },
    })
}

// ---------------------------------------------------------------- alerts

/// One alert of `GET /api/alerts/active` (seed 003), with the aisle and U position added
/// so that the operator sees the full physical location.
#[derive(Debug, Serialize, PartialEq)]
pub struct AlertView<'a> {
    #[serde(rename = "type")]
    pub kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node_id: Option<&'a str>,
    pub state: &'static str,
    pub checks: Vec<AlertCheckView<'a>>,
    pub site_id: &'a str,
    pub site_name: &'a str,
    pub room_id: &'a str,
    pub room_name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aisle_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aisle_name: Option<&'a str>,
    pub rack_id: &'a str,
    pub rack_name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device_name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub u_position: Option<u32>,
}

#[derive(Debug, Serialize, PartialEq)]
pub struct AlertCheckView<'a> {
    pub id: &'a str,
    pub severity: &'static str,
    /// The failing virtual node of an `expand_by_label` check (a disk slot).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub slot: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<f64>,
    /// What the check's script said.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<&'a str>,
}

pub fn alert_views(snap: &Snapshot) -> Vec<AlertView<'_>> {
    alert_views_where(snap, |_| true)
}

/// The views of the alerts whose rack passes `keep`, in the same order; a page about one
/// room or rack builds only its own.
pub fn alert_views_where(snap: &Snapshot, keep: impl Fn(RackIx) -> bool) -> Vec<AlertView<'_>> {
    let topo = &snap.config.topology;
    snap.health
        .alerts
        .iter()
        .map(|a| (a, snap.locate(a.target)))
        .filter(|(_, (rack_ix, _, _))| keep(*rack_ix))
        .map(|(a, (rack_ix, device_ix, key))| {
            let rack = &topo.racks[rack_ix as usize];
            let room = &topo.rooms[rack.room as usize];
            let site = &topo.sites[room.site as usize];
            let aisle = rack.aisle.map(|x| &topo.aisles[x as usize]);
            let device = device_ix.map(|d| &topo.devices[d as usize]);
            let is_rack = matches!(a.target, AlertTarget::Rack(_));
            AlertView {
                kind: if is_rack { "rack" } else { "node" },
                node_id: (!is_rack).then_some(key),
                state: a.state.as_str(),
                checks: a
                    .checks
                    .iter()
                    .map(|c| AlertCheckView {
                        id: &snap.plan.checks[c.check as usize].id,
                        severity: c.severity.as_str(),
                        slot: c.slot.as_deref(),
                        value: c.value.filter(|v| v.is_finite()),
                        message: c.message.as_deref(),
                    })
                    .collect(),
                site_id: &site.id,
                site_name: &site.name,
                room_id: &room.id,
                room_name: &room.name,
                aisle_id: aisle.map(|x| x.id.as_str()),
                aisle_name: aisle.map(|x| x.name.as_str()),
                rack_id: &rack.id,
                rack_name: &rack.name,
                device_id: device.map(|d| d.id.as_str()),
                device_name: device.map(|d| d.name.as_str()),
                u_position: device.map(|d| d.u_position),
            }
        })
        .collect()
}

async fn alerts_active(State(st): State<AppState>) -> Response {
    match st.engine.snapshot() {
        Some(s) => st
            .memo
            .json(s.seq, "alerts", || json!({ "alerts": alert_views(&s) })),
        None => Json(json!({ "alerts": [] })).into_response(),
    }
}

// ---------------------------------------------------------------- topology reads

async fn sites(State(st): State<AppState>) -> Response {
    let config = st.engine.config();
    let topo = &config.topology;
    let v: Vec<_> = topo.sites.iter().map(|s| views::site(topo, s)).collect();
    Json(v).into_response()
}

#[derive(Serialize)]
struct RoomSummary<'a> {
    id: &'a str,
    name: &'a str,
    site_id: &'a str,
    site_name: &'a str,
    aisle_count: usize,
    rack_count: usize,
    standalone_rack_count: usize,
    /// The Python version's list shape; standalone racks form a virtual aisle
    /// `<room>-standalone` named "Standalone", as its front end expects.
    aisles: Vec<AisleSummary<'a>>,
}

#[derive(Serialize)]
struct AisleSummary<'a> {
    id: Cow<'a, str>,
    name: &'a str,
    racks: Vec<RackRef<'a>>,
}

#[derive(Serialize)]
struct RackRef<'a> {
    id: &'a str,
    name: &'a str,
}

async fn rooms(State(st): State<AppState>) -> Response {
    let config = st.engine.config();
    let topo = &config.topology;
    let refs = |racks: &[RackIx]| -> Vec<RackRef<'_>> {
        racks
            .iter()
            .map(|&r| {
                let r = &topo.racks[r as usize];
                RackRef {
                    id: &r.id,
                    name: &r.name,
                }
            })
            .collect()
    };
    let v: Vec<RoomSummary<'_>> = topo
        .rooms
        .iter()
        .enumerate()
        .map(|(ix, room)| {
            let site = &topo.sites[room.site as usize];
            let mut aisles: Vec<AisleSummary<'_>> = room
                .aisles
                .iter()
                .map(|&a| {
                    let a = &topo.aisles[a as usize];
                    AisleSummary {
                        id: Cow::Borrowed(&a.id),
                        name: &a.name,
                        racks: refs(&a.racks),
                    }
                })
                .collect();
            if !room.standalone_racks.is_empty() {
                aisles.push(AisleSummary {
                    id: Cow::Owned(format!("{}-standalone", room.id)),
                    name: "Standalone",
                    racks: refs(&room.standalone_racks),
                });
            }
            RoomSummary {
                id: &room.id,
                name: &room.name,
                site_id: &site.id,
                site_name: &site.name,
                aisle_count: room.aisles.len(),
                rack_count: topo.room_racks(ix as RoomIx).count(),
                standalone_rack_count: room.standalone_racks.len(),
                aisles,
            }
        })
        .collect();
    Json(v).into_response()
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
    Ok(Json(views::room(topo, &topo.rooms[r as usize])).into_response())
}

async fn rack(
    State(st): State<AppState>,
    Path(rack_id): Path<String>,
) -> Result<Response, ApiError> {
    let config = st.engine.config();
    let r = find_rack(&config, &rack_id)?;
    let topo = &config.topology;
    Ok(Json(views::rack(topo, &topo.racks[r as usize])).into_response())
}

async fn rack_device(
    State(st): State<AppState>,
    Path((rack_id, device_id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let config = st.engine.config();
    let topo = &config.topology;
    let d = &topo.devices[find_device(&config, &rack_id, &device_id)? as usize];
    let rack = &topo.racks[d.rack as usize];
    let room = &topo.rooms[rack.room as usize];
    let site = &topo.sites[room.site as usize];
    let aisle = rack.aisle.map(|a| &topo.aisles[a as usize]);
    Ok(Json(json!({
        "device": views::device(topo, d),
        "template": config.catalog.devices.get(&d.template_id).map(|t| &t.def),
        "rack": views::rack(topo, rack),
        "room": { "id": room.id, "name": room.name },
        "site": { "id": site.id, "name": site.name, "description": site.description },
        "aisle": aisle.map(|a| json!({ "id": a.id, "name": a.name })),
    }))
    .into_response())
}

async fn catalog(State(st): State<AppState>) -> Response {
    let config = st.engine.config();
    let c = &config.catalog;
    Json(json!({
        "device_templates": c.devices.iter().map(|t| &t.def).collect::<Vec<_>>(),
        "rack_templates": c.racks.iter().map(|t| &t.def).collect::<Vec<_>>(),
        "rack_component_templates": c.components.iter().map(|t| &t.def).collect::<Vec<_>>(),
    }))
    .into_response()
}

async fn checks(State(st): State<AppState>) -> Response {
    let config = st.engine.config();
    let list: Vec<serde_json::Value> = config
        .checks
        .iter()
        .map(|c| {
            let mut v = serde_json::to_value(&c.def).unwrap_or_default();
            // A check grouped under `kinds:` carries its kind from the group.
            if let (Some(o), Some(k)) = (v.as_object_mut(), config.check_kinds.get(&*c.def.id)) {
                o.insert("kind".into(), json!(k));
            }
            v
        })
        .collect();
    Json(json!({ "checks": list })).into_response()
}

#[derive(Deserialize)]
struct LibraryFilter {
    category: Option<String>,
    tag: Option<String>,
}

async fn metrics_library(State(st): State<AppState>, Query(f): Query<LibraryFilter>) -> Response {
    let config = st.engine.config();
    let list: Vec<_> = config
        .metrics
        .iter()
        .map(|m| &m.def)
        .filter(|m| {
            f.category
                .as_deref()
                .is_none_or(|c| m.category.as_deref() == Some(c))
        })
        .filter(|m| {
            f.tag
                .as_deref()
                .is_none_or(|t| m.tags.iter().any(|x| x == t))
        })
        .collect();
    Json(json!({ "count": list.len(), "metrics": list })).into_response()
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

#[derive(Serialize)]
pub struct RackSummary {
    pub state: &'static str,
    pub node_total: usize,
    pub node_crit: usize,
    pub node_warn: usize,
}

/// The node-space targets of a rack: every instance, and every instance-less device.
fn rack_nodes(snap: &Snapshot, rack: RackIx) -> impl Iterator<Item = u32> + '_ {
    let topo = &snap.config.topology;
    topo.racks[rack as usize]
        .devices
        .iter()
        .flat_map(move |&d| snap.plan.targets.device_nodes(topo, d))
}

pub fn rack_summary(snap: &Snapshot, rack: RackIx) -> RackSummary {
    let (mut total, mut crit, mut warn) = (0, 0, 0);
    for n in rack_nodes(snap, rack) {
        total += 1;
        match snap.health.nodes.get(n as usize).and_then(|h| h.state) {
            Some(Severity::Crit) => crit += 1,
            Some(Severity::Warn) => warn += 1,
            _ => {}
        }
    }
    RackSummary {
        state: state_str(snap.health.racks[rack as usize].state),
        node_total: total,
        node_crit: crit,
        node_warn: warn,
    }
}

async fn room_state(
    State(st): State<AppState>,
    Path(room_id): Path<String>,
) -> Result<Response, ApiError> {
    let Some(snap) = st.engine.snapshot() else {
        find_room(&st.engine.config(), &room_id)?;
        return Ok(
            Json(json!({ "room_id": room_id, "state": "UNKNOWN", "racks": {} })).into_response(),
        );
    };
    let r = find_room(&snap.config, &room_id)?;
    Ok(st.memo.json(snap.seq, &format!("room:{room_id}"), || {
        let topo = &snap.config.topology;
        let racks = Ordered(
            topo.room_racks(r)
                .map(|x| (topo.racks[x as usize].id.as_str(), rack_summary(&snap, x)))
                .collect(),
        );
        json!({
            "room_id": room_id,
            "state": state_str(snap.health.rooms[r as usize]),
            "racks": racks,
        })
    }))
}

async fn rooms_states(State(st): State<AppState>) -> Response {
    let Some(snap) = st.engine.snapshot() else {
        let config = st.engine.config();
        let v = Ordered(
            config
                .topology
                .rooms
                .iter()
                .map(|r| (r.id.as_str(), "UNKNOWN"))
                .collect(),
        );
        return Json(v).into_response();
    };
    st.memo.json(snap.seq, "rooms", || {
        let topo = &snap.config.topology;
        Ordered(
            topo.rooms
                .iter()
                .zip(&snap.health.rooms)
                .map(|(r, s)| (r.id.as_str(), state_str(*s)))
                .collect(),
        )
    })
}

/// One check result as the rack and device views list it: seed 003's `{id, severity}`
/// with the Python version's `name`, plus what the engine knows besides.
#[derive(Serialize, Clone)]
pub struct CheckView<'a> {
    pub id: &'a str,
    pub name: &'a str,
    pub severity: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<f64>,
    /// A failing state waiting out the check's `for:`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pending: Option<&'static str>,
    /// Why no sample decided the state (no data, a failed query).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<&'a str>,
    /// What the check's script said about the state.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<&'a str>,
}

fn check_view<'a>(snap: &'a Snapshot, c: &'a CheckResult) -> CheckView<'a> {
    let bound = &snap.plan.checks[c.check as usize];
    CheckView {
        id: &bound.id,
        name: &snap.config.checks.items[bound.def].def.name,
        severity: c.severity.as_str(),
        value: c.value.filter(|v| v.is_finite()),
        pending: c.pending.map(|p| p.severity.as_str()),
        reason: c.reason.as_deref(),
        message: c.message.as_deref(),
    }
}

#[derive(Serialize)]
pub struct NodeView<'a> {
    pub state: &'static str,
    pub temperature: f64,
    pub power: f64,
    pub checks: Vec<CheckView<'a>>,
    pub alerts: Vec<CheckView<'a>>,
}

fn target_views<'a>(
    snap: &'a Snapshot,
    h: &'a TargetHealth,
) -> (Vec<CheckView<'a>>, Vec<CheckView<'a>>) {
    let checks: Vec<CheckView<'a>> = h.checks.iter().map(|c| check_view(snap, c)).collect();
    let alerts = h
        .checks
        .iter()
        .filter(|c| c.severity.is_alert())
        .map(|c| check_view(snap, c))
        .collect();
    (checks, alerts)
}

/// Live values for the rack view; zeros when not requested (seed 003).
#[derive(Default)]
pub struct RackLive {
    pub node_temperature: std::collections::HashMap<String, f64>,
    pub node_power: std::collections::HashMap<String, f64>,
    pub components: Vec<(String, Vec<(String, f64)>)>,
    pub error: Option<String>,
}

pub fn rack_state_json(
    snap: &Snapshot,
    rack: RackIx,
    live: Option<&RackLive>,
) -> serde_json::Value {
    let topo = &snap.config.topology;
    let r = &topo.racks[rack as usize];
    let rh = &snap.health.racks[rack as usize];
    let (checks, alerts) = target_views(snap, rh);
    let mut nodes: Vec<(Cow<'_, str>, NodeView<'_>)> = Vec::new();
    let mut devices: Vec<(&str, serde_json::Value)> = Vec::new();
    for &d in &r.devices {
        for n in snap.plan.targets.device_nodes(topo, d) {
            let key = snap.plan.targets.key(topo, Scope::Node, n);
            let Some(h) = snap.health.nodes.get(n as usize) else {
                continue;
            };
            let (c, a) = target_views(snap, h);
            let t = live.and_then(|l| l.node_temperature.get(key)).copied();
            let p = live.and_then(|l| l.node_power.get(key)).copied();
            nodes.push((
                Cow::Borrowed(key),
                NodeView {
                    state: state_str(h.state),
                    temperature: t.unwrap_or(0.0),
                    power: p.unwrap_or(0.0),
                    checks: c,
                    alerts: a,
                },
            ));
            // Virtual nodes (`<instance>:slot3`) of expand_by_label checks.
            for g in &h.slots {
                let bound = &snap.plan.checks[g.check as usize];
                for s in &g.slots {
                    let view = CheckView {
                        id: &bound.id,
                        name: &snap.config.checks.items[bound.def].def.name,
                        severity: s.severity.as_str(),
                        value: s.value.filter(|v| v.is_finite()),
                        pending: s.pending.map(|p| p.severity.as_str()),
                        reason: None,
                        message: None,
                    };
                    let alert = s.severity.is_alert();
                    nodes.push((
                        Cow::Owned(format!("{key}:{}{}", g.label, s.name)),
                        NodeView {
                            state: s.severity.as_str(),
                            temperature: 0.0,
                            power: 0.0,
                            alerts: if alert {
                                vec![view.clone()]
                            } else {
                                Vec::new()
                            },
                            checks: vec![view],
                        },
                    ));
                }
            }
        }
        let dh = &snap.health.devices[d as usize];
        let (c, a) = target_views(snap, dh);
        devices.push((
            topo.devices[d as usize].id.as_str(),
            json!({ "state": state_str(dh.state), "checks": c, "alerts": a }),
        ));
    }
    let temps: Vec<f64> = nodes
        .iter()
        .map(|(_, n)| n.temperature)
        .filter(|t| *t > 0.0)
        .collect();
    let temperature = if temps.is_empty() {
        0.0
    } else {
        temps.iter().sum::<f64>() / temps.len() as f64
    };
    let power: f64 = nodes.iter().map(|(_, n)| n.power).sum();
    let components = Ordered(
        live.map(|l| {
            l.components
                .iter()
                .map(|(k, v)| {
                    (
                        k.as_str(),
                        Ordered(v.iter().map(|(a, b)| (a.as_str(), *b)).collect()),
                    )
                })
                .collect()
        })
        .unwrap_or_default(),
    );
    let mut out = json!({
        "rack_id": r.id,
        "state": state_str(rh.state),
        "checks": checks,
        "alerts": alerts,
        "metrics": { "temperature": temperature, "power": power },
        "infra_metrics": { "components": components },
        "nodes": Ordered(nodes),
        "devices": Ordered(devices),
    });
    if let (Some(e), Some(o)) = (live.and_then(|l| l.error.as_ref()), out.as_object_mut()) {
        o.insert("metrics_error".into(), json!(e));
    }
    out
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
        return Ok(Json(json!({
            "rack_id": rack_id, "state": "UNKNOWN", "metrics": {}, "nodes": {}
        }))
        .into_response());
    };
    let r = find_rack(&snap.config, &rack_id)?;
    if !include {
        return Ok(st.memo.json(snap.seq, &format!("rack:{rack_id}"), || {
            rack_state_json(&snap, r, None)
        }));
    }
    let live = live::rack_live(&st.engine, &snap, r).await;
    Ok(Json(rack_state_json(&snap, r, Some(&live))).into_response())
}
