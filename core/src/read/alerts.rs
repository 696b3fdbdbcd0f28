//! The active alerts with their full physical location (site, room, aisle, rack, device).

use crate::Severity;
use crate::telemetry::{AlertTarget, Snapshot};
use crate::topology::{Aisle, Device, DeviceIx, Rack, RackIx, Room, Site};

/// What an alert is raised on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlertKind {
    Rack,
    /// A node (an instance, or a device without instances).
    Node,
}

/// One active alert and where it is.
#[derive(Debug, Clone)]
pub struct LocatedAlert<'a> {
    pub kind: AlertKind,
    /// The id the alert is raised under (instance, device or rack id).
    pub key: &'a str,
    pub state: Severity,
    pub checks: Vec<LocatedCheck<'a>>,
    pub site: &'a Site,
    pub room: &'a Room,
    pub aisle: Option<&'a Aisle>,
    pub rack: &'a Rack,
    pub device: Option<&'a Device>,
    pub rack_ix: RackIx,
    pub device_ix: Option<DeviceIx>,
    pub target: AlertTarget,
    /// When the target went into alert (`Alert::since`).
    pub since: std::time::SystemTime,
    /// The worst failing state among the target's own checks that has not yet lasted its
    /// `for:`: an escalation on its way.
    pub pending: Option<crate::telemetry::eval::Pending>,
}

/// What an alert is about, finer than `AlertKind`: for the triage filters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum TargetType {
    Node,
    Chassis,
    Rack,
    /// A node alert raised by a virtual node of an `expand_by_label` check (a disk slot).
    Slot,
}

impl TargetType {
    pub fn as_str(self) -> &'static str {
        match self {
            TargetType::Node => "node",
            TargetType::Chassis => "chassis",
            TargetType::Rack => "rack",
            TargetType::Slot => "slot",
        }
    }
}

/// One failing check of an alert.
#[derive(Debug, Clone, PartialEq)]
pub struct LocatedCheck<'a> {
    pub id: &'a str,
    pub severity: Severity,
    /// The failing virtual node of an `expand_by_label` check (a disk slot).
    pub slot: Option<&'a str>,
    /// The value, when it is a number (NaN and infinities are none).
    pub value: Option<f64>,
    /// What the check's script said.
    pub message: Option<&'a str>,
}

impl<'a> LocatedAlert<'a> {
    /// The node id of a node alert.
    pub fn node_id(&self) -> Option<&'a str> {
        (self.kind == AlertKind::Node).then_some(self.key)
    }

    pub fn target_type(&self) -> TargetType {
        match self.target {
            AlertTarget::Rack(_) => TargetType::Rack,
            AlertTarget::Device(_) => TargetType::Chassis,
            AlertTarget::Node(_) if self.checks.iter().any(|c| c.slot.is_some()) => {
                TargetType::Slot
            }
            AlertTarget::Node(_) => TargetType::Node,
        }
    }
}

/// Every active alert, worst first (the snapshot's order).
pub fn located_alerts(snap: &Snapshot) -> Vec<LocatedAlert<'_>> {
    located_alerts_where(snap, |_| true)
}

/// The alerts whose rack passes `keep`, in the same order; a page about one room or rack
/// builds only its own.
pub fn located_alerts_where(
    snap: &Snapshot,
    keep: impl Fn(RackIx) -> bool,
) -> Vec<LocatedAlert<'_>> {
    snap.health
        .alerts
        .iter()
        .filter(|a| keep(snap.locate(a.target).0))
        .map(|a| {
            let checks = a
                .checks
                .iter()
                .map(|c| LocatedCheck {
                    id: &snap.plan.checks[c.check as usize].id,
                    severity: c.severity,
                    slot: c.slot.as_deref(),
                    value: c.value.filter(|v| v.is_finite()),
                    message: c.message.as_deref(),
                })
                .collect();
            located(snap, a.target, a.state, checks, a.since)
        })
        .collect()
}

/// The targets holding a failing state that has not yet lasted its `for:` and that are not
/// in alert: escalations on their way, each as an alert whose `state`, checks and `since`
/// are the pending ones. Worst first, then the longest pending.
pub fn pending_alerts(snap: &Snapshot) -> Vec<LocatedAlert<'_>> {
    let h = &snap.health;
    let nodes = h
        .nodes
        .iter()
        .enumerate()
        .map(|(i, t)| (AlertTarget::Node(i as u32), t));
    let devices = h
        .devices
        .iter()
        .enumerate()
        .map(|(i, t)| (AlertTarget::Device(DeviceIx::new(i as u32)), t));
    let racks = h
        .racks
        .iter()
        .enumerate()
        .map(|(i, t)| (AlertTarget::Rack(RackIx::new(i as u32)), t));
    let mut out: Vec<LocatedAlert<'_>> = nodes
        .chain(devices)
        .chain(racks)
        .filter(|(_, t)| t.pending && !t.checks.iter().any(|c| c.severity.is_alert()))
        .filter_map(|(target, t)| {
            let worst = pending_of(snap, target)?;
            let checks = t
                .checks
                .iter()
                .filter_map(|c| {
                    let p = c.pending?;
                    Some(LocatedCheck {
                        id: &snap.plan.checks[c.check as usize].id,
                        severity: p.severity,
                        slot: None,
                        value: c.value.filter(|v| v.is_finite()),
                        message: None,
                    })
                })
                .collect();
            Some(located(snap, target, worst.severity, checks, worst.since))
        })
        .collect();
    out.sort_by(|a, b| b.state.cmp(&a.state).then(a.since.cmp(&b.since)));
    out
}

fn located<'s>(
    snap: &'s Snapshot,
    target: AlertTarget,
    state: Severity,
    checks: Vec<LocatedCheck<'s>>,
    since: std::time::SystemTime,
) -> LocatedAlert<'s> {
    let topo = &snap.config.topology;
    let (rack_ix, device_ix, key) = snap.locate(target);
    let rack = &topo.racks[rack_ix];
    let room = &topo.rooms[rack.room];
    LocatedAlert {
        kind: match target {
            AlertTarget::Rack(_) => AlertKind::Rack,
            _ => AlertKind::Node,
        },
        key,
        state,
        checks,
        site: &topo.sites[room.site],
        room,
        aisle: rack.aisle.map(|x| &topo.aisles[x]),
        rack,
        device: device_ix.map(|d| &topo.devices[d]),
        rack_ix,
        device_ix,
        target,
        since,
        pending: pending_of(snap, target),
    }
}

/// The worst pending state of a target's own checks.
fn pending_of(snap: &Snapshot, t: AlertTarget) -> Option<crate::telemetry::eval::Pending> {
    let h = match t {
        AlertTarget::Node(n) => snap.health.nodes.get(n as usize),
        AlertTarget::Device(d) => snap.health.devices.get(d.index()),
        AlertTarget::Rack(r) => snap.health.racks.get(r.index()),
    }?;
    h.checks
        .iter()
        .filter_map(|c| c.pending)
        .max_by_key(|p| (p.severity, std::cmp::Reverse(p.since)))
}
