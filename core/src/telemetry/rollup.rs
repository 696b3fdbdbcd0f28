//! The roll-up of one refresh's results: node → device → rack → aisle → room → site →
//! global, worst wins, and the alerts (every target in WARN or CRIT).

use std::time::SystemTime;

use crate::config::Config;
use crate::severity::Severity;
use crate::telemetry::eval::{Alert, AlertCheck, AlertTarget, CheckResult, Health, TargetHealth};
use crate::telemetry::plan::Plan;
use crate::topology::{DeviceIx, RackIx};

fn worst(a: Option<Severity>, b: Option<Severity>) -> Option<Severity> {
    a.max(b)
}

fn own_state(th: &TargetHealth) -> Option<Severity> {
    th.checks.iter().map(|c| c.severity).max()
}

/// Rolls health up: node → device → rack → aisle → room → site → global, worst wins
/// (CRIT > WARN > UNKNOWN > OK) at every level; what no check covers does not count.
pub(super) fn roll_up(config: &Config, plan: &Plan, h: &mut Health) {
    let topo = &config.topology;
    for node in &mut h.nodes {
        node.state = own_state(node);
    }
    for (device_ix, device) in topo.devices.ixs().zip(h.devices.iter_mut()) {
        let mut state = own_state(device);
        let mut pending = device.pending;
        for node_ix in plan.targets.device_nodes(topo, device_ix) {
            if let Some(node) = h.nodes.get(node_ix as usize) {
                state = worst(state, node.state);
                pending |= node.pending;
            }
        }
        device.state = state;
        device.pending = pending;
    }
    for (r, rack) in topo.racks.iter().zip(h.racks.iter_mut()) {
        let mut state = own_state(rack);
        let mut pending = rack.pending;
        for &device_ix in &r.devices {
            let device = &h.devices[device_ix.index()];
            state = worst(state, device.state);
            pending |= device.pending;
        }
        rack.state = state;
        rack.pending = pending;
    }
    h.aisles = topo
        .aisles
        .iter()
        .map(|aisle| {
            aisle
                .racks
                .iter()
                .map(|&rack_ix| h.racks[rack_ix.index()].state)
                .fold(None, worst)
        })
        .collect();
    h.rooms = topo
        .rooms
        .iter()
        .map(|room| {
            let aisles = room
                .aisles
                .iter()
                .map(|&aisle_ix| h.aisles[aisle_ix.index()])
                .fold(None, worst);
            room.standalone_racks
                .iter()
                .map(|&rack_ix| h.racks[rack_ix.index()].state)
                .fold(aisles, worst)
        })
        .collect();
    h.sites = topo
        .sites
        .iter()
        .map(|site| {
            site.rooms
                .iter()
                .map(|&room_ix| h.rooms[room_ix.index()])
                .fold(None, worst)
        })
        .collect();
    h.global = h.sites.iter().copied().fold(None, worst);
}

fn alert_of(target: AlertTarget, th: &TargetHealth, now: SystemTime) -> Option<Alert> {
    let group = |c: &CheckResult| th.slots.iter().find(|g| g.check == c.check);
    let alerting = th.checks.iter().filter(|c| c.severity.is_alert());
    // Sized before filling: every target may be in alert, and a list grown by pushes keeps
    // room for four.
    let len = alerting
        .clone()
        .map(|c| {
            group(c).map_or(1, |g| {
                g.slots.iter().filter(|s| s.severity.is_alert()).count()
            })
        })
        .sum();
    let mut checks = Vec::with_capacity(len);
    for c in alerting {
        match group(c) {
            Some(g) => checks.extend(g.slots.iter().filter(|s| s.severity.is_alert()).map(|s| {
                AlertCheck {
                    check: c.check,
                    severity: s.severity,
                    slot: Some(s.name.clone()),
                    value: s.value,
                    message: None,
                }
            })),
            None => checks.push(AlertCheck {
                check: c.check,
                severity: c.severity,
                slot: None,
                value: c.value,
                message: c.message.clone(),
            }),
        }
    }
    // The target's own verdict, not its worst slot: one failed disk below
    // `expand_crit_threshold` is a WARN array with a CRIT disk.
    let state = th
        .checks
        .iter()
        .map(|c| c.severity)
        .filter(|s| s.is_alert())
        .max()?;
    Some(Alert {
        target,
        state,
        checks,
        since: now,
    })
}

/// Every target in WARN or CRIT: nodes (slots included), devices, racks; worst first.
pub(super) fn alerts(h: &Health, now: SystemTime) -> Vec<Alert> {
    let mut out: Vec<Alert> = Vec::new();
    let nodes = h
        .nodes
        .iter()
        .enumerate()
        .map(|(i, n)| (AlertTarget::Node(i as u32), n));
    let devices = h
        .devices
        .iter()
        .enumerate()
        .map(|(i, n)| (AlertTarget::Device(DeviceIx::new(i as u32)), n));
    let racks = h
        .racks
        .iter()
        .enumerate()
        .map(|(i, n)| (AlertTarget::Rack(RackIx::new(i as u32)), n));
    for (target, th) in nodes.chain(devices).chain(racks) {
        if let Some(a) = alert_of(target, th, now) {
            out.push(a);
        }
    }
    out.sort_by_key(|a| std::cmp::Reverse(a.state));
    out.shrink_to_fit();
    out
}
