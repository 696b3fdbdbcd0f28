//! Room and rack states: `/api/rooms/states`, `/api/rooms/{id}/state` and
//! `/api/racks/{id}/state` (with the live values when asked for).

use rackscope_core::read::{self, CheckOutcome};
use rackscope_core::telemetry::Snapshot;
use rackscope_core::topology::{RackIx, RoomIx};
use std::borrow::Cow;

use serde::Serialize;
use serde_json::{Value, json};
use utoipa::ToSchema;

use super::{Ordered, state_str};
use crate::server::live::RackLive;

#[derive(Serialize, ToSchema)]
pub struct RackSummary {
    #[schema(value_type = String)]
    pub state: &'static str,
    pub node_total: usize,
    pub node_crit: usize,
    pub node_warn: usize,
    /// The maintenance window covering the whole rack, if any (the state is still the
    /// checks' own).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub maintenance: Option<super::alerts::MaintenanceMark>,
}

impl From<read::RackSummary> for RackSummary {
    fn from(s: read::RackSummary) -> RackSummary {
        RackSummary {
            state: state_str(s.state),
            node_total: s.node_total,
            node_crit: s.node_crit,
            node_warn: s.node_warn,
            maintenance: None,
        }
    }
}

pub fn rack_summary(snap: &Snapshot, rack: RackIx) -> RackSummary {
    read::rack_summary(snap, rack).into()
}

/// One check result as the rack and device views list it: seed 003's `{id, severity}`
/// with the Python version's `name`, plus what the engine knows besides.
#[derive(Serialize, Clone, ToSchema)]
pub struct CheckView<'a> {
    pub id: &'a str,
    pub name: &'a str,
    #[schema(value_type = String)]
    pub severity: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<f64>,
    /// A failing state waiting out the check's `for:`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub pending: Option<&'static str>,
    /// Why no sample decided the state (no data, a failed query).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<&'a str>,
    /// What the check's script said about the state.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<&'a str>,
}

impl<'a> From<&CheckOutcome<'a>> for CheckView<'a> {
    fn from(c: &CheckOutcome<'a>) -> CheckView<'a> {
        CheckView {
            id: c.id,
            name: c.name,
            severity: c.severity.as_str(),
            value: c.finite_value(),
            pending: c.pending.map(|p| p.as_str()),
            reason: c.reason,
            message: c.message,
        }
    }
}

/// A target's checks, and those of them that alert.
fn checks_and_alerts<'a>(
    outcomes: &[CheckOutcome<'a>],
) -> (Vec<CheckView<'a>>, Vec<CheckView<'a>>) {
    let checks = outcomes.iter().map(CheckView::from).collect();
    let alerts = outcomes
        .iter()
        .filter(|c| c.severity.is_alert())
        .map(CheckView::from)
        .collect();
    (checks, alerts)
}

#[derive(Serialize, ToSchema)]
pub struct NodeView<'a> {
    #[schema(value_type = String)]
    pub state: &'static str,
    pub temperature: f64,
    pub power: f64,
    pub checks: Vec<CheckView<'a>>,
    pub alerts: Vec<CheckView<'a>>,
}

/// A chassis-level device's own results (an addition).
#[derive(Serialize, ToSchema)]
pub struct DeviceStateView<'a> {
    #[schema(value_type = String)]
    state: &'static str,
    checks: Vec<CheckView<'a>>,
    alerts: Vec<CheckView<'a>>,
}

/// `/api/racks/{id}/state`. Before the first snapshot only `rack_id`, `state` (UNKNOWN),
/// an empty `metrics` and an empty `nodes` are written.
#[derive(Serialize, ToSchema)]
pub struct RackState<'a> {
    pub rack_id: &'a str,
    /// The rack's qualified path (`site/room/aisle/rack`).
    #[schema(required = false)]
    pub path: String,
    #[schema(value_type = String)]
    pub state: &'static str,
    #[schema(required = false)]
    pub checks: Vec<CheckView<'a>>,
    #[schema(required = false)]
    pub alerts: Vec<CheckView<'a>>,
    pub metrics: RackMetrics,
    #[schema(required = false)]
    pub infra_metrics: InfraMetrics<'a>,
    /// Node (instance, or `<instance>:<label><value>` for a virtual node) → its state.
    #[schema(value_type = HashMap<String, NodeView>)]
    pub nodes: Ordered<Cow<'a, str>, NodeView<'a>>,
    /// Device id → its chassis-level results.
    #[schema(value_type = HashMap<String, DeviceStateView>, required = false)]
    pub devices: Ordered<&'a str, DeviceStateView<'a>>,
    /// Why live values are missing, when they were asked for and a query failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metrics_error: Option<String>,
    /// The maintenance window covering the whole rack, if any: `state` stays what the
    /// checks found.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub maintenance: Option<super::alerts::MaintenanceMark>,
    /// The qualified paths of the racks that share this rack's id and its rack-scope
    /// series (no configured site, room or aisle label tells them apart): the rack-scope
    /// checks' states here are theirs too. Absent when none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[schema(required = false)]
    pub shared_series: Vec<String>,
}

/// The rack's live totals: mean node temperature and summed power, zeros when not asked
/// for.
#[derive(Serialize, ToSchema)]
pub struct RackMetrics {
    #[schema(required = false)]
    pub temperature: f64,
    #[schema(required = false)]
    pub power: f64,
}

#[derive(Serialize, ToSchema)]
pub struct InfraMetrics<'a> {
    /// Component template id → metric id → value.
    #[schema(value_type = HashMap<String, HashMap<String, f64>>)]
    pub components: Ordered<&'a str, Ordered<&'a str, f64>>,
}

/// `/api/racks/{id}/state`; the live values are zeros when not requested (seed 003).
pub fn rack_state<'a>(
    snap: &'a Snapshot,
    m: &rackscope_core::maintenance::Maintenances,
    rack: RackIx,
    live: Option<&'a RackLive>,
) -> RackState<'a> {
    let rs = read::rack_state(snap, rack);
    let (checks, alerts) = checks_and_alerts(&rs.checks);
    let nodes: Vec<_> = rs
        .nodes
        .into_iter()
        .map(|n| {
            let (c, a) = checks_and_alerts(&n.checks);
            let value = |m: Option<&std::collections::HashMap<String, f64>>| {
                m.filter(|_| n.real)
                    .and_then(|m| m.get(&*n.key))
                    .copied()
                    .unwrap_or(0.0)
            };
            let view = NodeView {
                state: state_str(n.state),
                temperature: value(live.map(|l| &l.node_temperature)),
                power: value(live.map(|l| &l.node_power)),
                checks: c,
                alerts: a,
            };
            (n.key, view)
        })
        .collect();
    let devices: Vec<_> = rs
        .devices
        .iter()
        .map(|d| {
            let (checks, alerts) = checks_and_alerts(&d.checks);
            let view = DeviceStateView {
                state: state_str(d.state),
                checks,
                alerts,
            };
            (d.id, view)
        })
        .collect();
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
    RackState {
        rack_id: &rs.rack.id,
        path: snap.config.topology.rack_path(rack),
        shared_series: read::shared_series(&snap.config, rack)
            .into_iter()
            .map(|r| snap.config.topology.rack_path(r))
            .collect(),
        state: state_str(rs.state),
        checks,
        alerts,
        metrics: RackMetrics { temperature, power },
        infra_metrics: InfraMetrics { components },
        nodes: Ordered(nodes),
        devices: Ordered(devices),
        metrics_error: live.and_then(|l| l.error.clone()),
        maintenance: rackscope_core::read::maintenance::coverage(m, snap)
            .rack(rack)
            .map(super::alerts::MaintenanceMark::of),
    }
}

/// `/api/racks/{id}/state` before the first refresh.
pub fn rack_state_unknown(rack_id: &str) -> Value {
    json!({ "rack_id": rack_id, "state": "UNKNOWN", "metrics": {}, "nodes": {} })
}

/// `/api/rooms/{id}/state`: the room's state and each of its racks' summary.
#[derive(Serialize, ToSchema)]
pub struct RoomState<'a> {
    pub room_id: &'a str,
    /// `site/room`.
    #[schema(required = false)]
    pub path: String,
    #[schema(value_type = String)]
    pub state: &'static str,
    /// Rack id → its summary, in topology order; empty before the first snapshot. A rack
    /// whose id another rack shares is keyed by its qualified path.
    #[schema(value_type = HashMap<String, RackSummary>)]
    pub racks: Ordered<Cow<'a, str>, RackSummary>,
    /// The maintenance window covering the whole room, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub maintenance: Option<super::alerts::MaintenanceMark>,
}

pub fn room_state<'a>(
    snap: &'a Snapshot,
    m: &rackscope_core::maintenance::Maintenances,
    room: RoomIx,
) -> RoomState<'a> {
    let topo = &snap.config.topology;
    let cover = rackscope_core::read::maintenance::coverage(m, snap);
    RoomState {
        room_id: &topo.rooms[room].id,
        path: topo.room_path(room),
        state: state_str(snap.health.rooms[room.index()]),
        racks: Ordered(
            topo.room_racks(room)
                .map(|x| {
                    let mut s = rack_summary(snap, x);
                    s.maintenance = cover.rack(x).map(super::alerts::MaintenanceMark::of);
                    (topo.rack_key(x), s)
                })
                .collect(),
        ),
        maintenance: cover.room(room).map(super::alerts::MaintenanceMark::of),
    }
}

/// `/api/rooms/{id}/state` before the first refresh.
pub fn room_state_unknown(room_id: &str) -> Value {
    json!({ "room_id": room_id, "state": "UNKNOWN", "racks": {} })
}

/// `/api/rooms/states`: every room's state, UNKNOWN without a snapshot; a room whose id
/// another site's room shares is keyed by `site/room` (the Python version collapsed them).
pub fn rooms_states<'a>(
    topo: &'a rackscope_core::topology::Topology,
    snap: Option<&Snapshot>,
) -> Ordered<Cow<'a, str>, &'static str> {
    Ordered(
        topo.rooms
            .ixs()
            .map(|r| {
                let s = snap.and_then(|s| s.health.rooms.get(r.index()).copied().flatten());
                (topo.room_key(r), state_str(s))
            })
            .collect(),
    )
}
