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
    let topo = &snap.config.topology;
    snap.health
        .alerts
        .iter()
        .map(|a| (a, snap.locate(a.target)))
        .filter(|(_, (rack_ix, _, _))| keep(*rack_ix))
        .map(|(a, (rack_ix, device_ix, key))| {
            let rack = &topo.racks[rack_ix];
            let room = &topo.rooms[rack.room];
            LocatedAlert {
                kind: match a.target {
                    AlertTarget::Rack(_) => AlertKind::Rack,
                    _ => AlertKind::Node,
                },
                key,
                state: a.state,
                checks: a
                    .checks
                    .iter()
                    .map(|c| LocatedCheck {
                        id: &snap.plan.checks[c.check as usize].id,
                        severity: c.severity,
                        slot: c.slot.as_deref(),
                        value: c.value.filter(|v| v.is_finite()),
                        message: c.message.as_deref(),
                    })
                    .collect(),
                site: &topo.sites[room.site],
                room,
                aisle: rack.aisle.map(|x| &topo.aisles[x]),
                rack,
                device: device_ix.map(|d| &topo.devices[d]),
                rack_ix,
                device_ix,
            }
        })
        .collect()
}
