//! A rack's roll-up (state and node counts) and its per-node and per-device states.

use std::borrow::Cow;

use crate::Severity;
use crate::bind::Qualifiers;
use crate::config::Config;
use crate::model::checks::Scope;
use crate::telemetry::Snapshot;
use crate::topology::{Rack, RackIx};

use super::checks::{CheckOutcome, check_outcomes};

/// A rack's state and how many of its nodes fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RackSummary {
    pub state: Option<Severity>,
    pub node_total: usize,
    pub node_crit: usize,
    pub node_warn: usize,
}

/// The node-space targets of a rack: every instance, and every instance-less device.
pub fn rack_nodes(snap: &Snapshot, rack: RackIx) -> impl Iterator<Item = u32> + '_ {
    let topo = &snap.config.topology;
    topo.racks[rack]
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
        state: snap.health.racks[rack.index()].state,
        node_total: total,
        node_crit: crit,
        node_warn: warn,
    }
}

/// One node of a rack: an instance (or instance-less device), or a virtual node
/// (`<instance>:slot3`) of an `expand_by_label` check.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeEntry<'a> {
    pub key: Cow<'a, str>,
    /// False for a virtual node, which has no metrics of its own.
    pub real: bool,
    pub state: Option<Severity>,
    pub checks: Vec<CheckOutcome<'a>>,
}

/// One device of a rack with its own checks.
#[derive(Debug, Clone, PartialEq)]
pub struct DeviceEntry<'a> {
    pub id: &'a str,
    pub state: Option<Severity>,
    pub checks: Vec<CheckOutcome<'a>>,
}

/// A rack's state down to its nodes and devices, in topology order.
#[derive(Debug, Clone)]
pub struct RackState<'a> {
    pub rack: &'a Rack,
    pub state: Option<Severity>,
    pub checks: Vec<CheckOutcome<'a>>,
    pub nodes: Vec<NodeEntry<'a>>,
    pub devices: Vec<DeviceEntry<'a>>,
}

pub fn rack_state(snap: &Snapshot, rack: RackIx) -> RackState<'_> {
    let topo = &snap.config.topology;
    let r = &topo.racks[rack];
    let rh = &snap.health.racks[rack.index()];
    let mut nodes = Vec::new();
    let mut devices = Vec::new();
    for &d in &r.devices {
        for n in snap.plan.targets.device_nodes(topo, d) {
            let key = snap.plan.targets.key(topo, Scope::Node, n);
            let Some(h) = snap.health.nodes.get(n as usize) else {
                continue;
            };
            nodes.push(NodeEntry {
                key: Cow::Borrowed(key),
                real: true,
                state: h.state,
                checks: check_outcomes(snap, h),
            });
            for g in &h.slots {
                let bound = &snap.plan.checks[g.check as usize];
                let def = &snap.config.checks.items[bound.def].def;
                for s in &g.slots {
                    nodes.push(NodeEntry {
                        key: Cow::Owned(format!("{key}:{}{}", g.label, s.name)),
                        real: false,
                        state: Some(s.severity),
                        checks: vec![CheckOutcome {
                            id: &bound.id,
                            name: &def.name,
                            description: def.description.as_deref(),
                            severity: s.severity,
                            value: s.value,
                            pending: s.pending.map(|p| p.severity),
                            reason: None,
                            message: None,
                        }],
                    });
                }
            }
        }
        let dh = &snap.health.devices[d.index()];
        devices.push(DeviceEntry {
            id: &topo.devices[d].id,
            state: dh.state,
            checks: check_outcomes(snap, dh),
        });
    }
    RackState {
        rack: r,
        state: rh.state,
        checks: check_outcomes(snap, rh),
        nodes,
        devices,
    }
}

/// The other racks whose rack-scope series cannot be told from this rack's: they share its
/// id, a rack-scope check runs for both, and the configured `site_label` / `room_label` /
/// `aisle_label` do not tell them apart, so each shows the state of the one series. Empty
/// for a rack with a unique id (the common case).
pub fn shared_series(config: &Config, rack: RackIx) -> Vec<RackIx> {
    let topo = &config.topology;
    if !topo.rack_is_ambiguous(rack) {
        return Vec::new();
    }
    let q = Qualifiers::of(&config.app.telemetry);
    let b = &config.bindings;
    let others = b.targets.shared_with(topo, &q, Scope::Rack, rack.get());
    let rack_checks: Vec<&[u32]> = (0..config.checks.len())
        .filter(|&c| config.checks.items[c].def.scope == Scope::Rack)
        .map(|c| b.targets_of(c))
        .filter(|t| t.contains(&rack.get()))
        .collect();
    others
        .into_iter()
        .filter(|o| rack_checks.iter().any(|t| t.contains(o)))
        .map(RackIx::new)
        .collect()
}
