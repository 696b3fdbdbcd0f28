//! Evaluation: the answers to a plan's queries become per-target check results, `for:`
//! debouncing is applied, and health rolls up the physical hierarchy.
//!
//! Pure apart from the `ForMemory` it is handed: the same plan, answers, time and memory
//! always give the same `Health`, which is what the unit tests and benchmarks rely on.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::SystemTime;

use crate::load::Config;
use crate::model::checks::Scope;
use crate::severity::Severity;
use crate::telemetry::plan::{BoundCheck, Plan};
use crate::telemetry::source::InstantResult;

/// The answer to one planned query, as evaluation sees it.
#[derive(Debug, Clone)]
pub enum Answer<'a> {
    Ok(&'a InstantResult),
    /// The query failed; its targets turn UNKNOWN with this reason.
    Failed(Arc<str>),
}

/// A failing state waiting out its `for:` duration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pending {
    pub severity: Severity,
    pub since: SystemTime,
}

/// The result of one check for one target.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckResult {
    /// Index into `Plan::checks`.
    pub check: u32,
    /// The state that counts: for a `for:` check, the last confirmed one.
    pub severity: Severity,
    /// The value of the sample that decided the state (the worst one when there are several).
    pub value: Option<f64>,
    pub pending: Option<Pending>,
    /// Why the state is what it is when no sample decided it (no data, a failed query).
    pub reason: Option<Arc<str>>,
}

/// One virtual node of an `expand_by_label` check (a disk slot, a port).
#[derive(Debug, Clone, PartialEq)]
pub struct SlotResult {
    /// The label's value (`3` for `slot="3"`).
    pub name: Box<str>,
    pub severity: Severity,
    pub value: Option<f64>,
    pub pending: Option<Pending>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SlotGroup {
    pub check: u32,
    pub label: Arc<str>,
    pub slots: Vec<SlotResult>,
}

/// The health of one target (node, device or rack).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TargetHealth {
    /// Worst of the target's own checks and, for devices and racks, of everything inside.
    /// `None` when no check runs for it or below it: it is not monitored.
    pub state: Option<Severity>,
    /// Some check of the target holds a failing state that has not yet lasted its `for:`.
    pub pending: bool,
    /// The target's own check results, in plan order.
    pub checks: Vec<CheckResult>,
    pub slots: Vec<SlotGroup>,
}

/// What an alert is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AlertTarget {
    /// A node-space target (an instance, or a device checked under its own id).
    Node(u32),
    /// A device, through its chassis-scope checks.
    Device(u32),
    Rack(u32),
}

#[derive(Debug, Clone, PartialEq)]
pub struct AlertCheck {
    pub check: u32,
    pub severity: Severity,
    /// The virtual node that failed, for `expand_by_label` checks.
    pub slot: Option<Box<str>>,
    pub value: Option<f64>,
}

/// A target in WARN or CRIT, with the checks that put it there.
#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    pub target: AlertTarget,
    pub state: Severity,
    pub checks: Vec<AlertCheck>,
}

/// Everything one refresh found, indexed like the topology.
#[derive(Debug, Clone, Default)]
pub struct Health {
    /// Node space (see `plan::Targets`).
    pub nodes: Vec<TargetHealth>,
    /// Per device: chassis-scope results; the state rolls up its nodes too.
    pub devices: Vec<TargetHealth>,
    /// Per rack: rack-scope results; the state rolls up its devices too.
    pub racks: Vec<TargetHealth>,
    pub aisles: Vec<Option<Severity>>,
    pub rooms: Vec<Option<Severity>>,
    pub sites: Vec<Option<Severity>>,
    pub global: Option<Severity>,
    /// Worst first, then in topology order.
    pub alerts: Vec<Alert>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct ForEntry {
    confirmed: Severity,
    pending: Option<Pending>,
}

#[derive(Debug, Clone, Default)]
struct TargetMemory {
    whole: Option<ForEntry>,
    slots: HashMap<Box<str>, ForEntry>,
}

#[derive(Debug, Clone, Default)]
struct CheckMemory {
    fingerprint: String,
    /// Only targets whose state is not plain OK are kept, so the map stays as small as the
    /// number of problems.
    targets: HashMap<Box<str>, TargetMemory>,
}

/// `for:` state carried from one refresh to the next: the last confirmed state and any
/// pending one, per check and target id. Kept across configuration reloads for every check
/// whose definition did not change.
#[derive(Debug, Clone, Default)]
pub struct ForMemory {
    checks: HashMap<Arc<str>, CheckMemory>,
}

/// A check definition's identity for `ForMemory`: its serialised form, positions left out.
pub fn fingerprint(config: &Config, check: &BoundCheck) -> String {
    serde_json::to_string(&config.checks.items[check.def].def).unwrap_or_default()
}

impl ForMemory {
    /// Drops the memory of checks that are gone or changed.
    pub fn retain_unchanged(&mut self, config: &Config, plan: &Plan) {
        let now: HashMap<&str, String> = plan
            .checks
            .iter()
            .filter(|c| c.for_seconds.is_some())
            .map(|c| (&*c.id, fingerprint(config, c)))
            .collect();
        self.checks
            .retain(|id, m| now.get(&**id).is_some_and(|f| *f == m.fingerprint));
    }
}

/// Applies `for:` to a raw state. A WARN or CRIT must hold for `seconds` before it counts;
/// meanwhile the confirmed state stays and the pending one is reported beside it. Anything
/// else counts at once and cancels what was pending.
fn debounce(
    entry: &mut Option<ForEntry>,
    raw: Severity,
    seconds: u64,
    now: SystemTime,
) -> (Severity, Option<Pending>) {
    let confirmed = entry.map_or(Severity::Ok, |e| e.confirmed);
    if !raw.is_alert() || raw == confirmed {
        *entry = (raw != Severity::Ok).then_some(ForEntry {
            confirmed: raw,
            pending: None,
        });
        return (raw, None);
    }
    let since = match entry.and_then(|e| e.pending) {
        Some(p) if p.severity == raw => p.since,
        _ => now,
    };
    let held = now.duration_since(since).map_or(0.0, |d| d.as_secs_f64());
    if held >= seconds as f64 {
        *entry = Some(ForEntry {
            confirmed: raw,
            pending: None,
        });
        return (raw, None);
    }
    let pending = Pending {
        severity: raw,
        since,
    };
    *entry = Some(ForEntry {
        confirmed,
        pending: Some(pending),
    });
    (confirmed, Some(pending))
}

#[derive(Clone, Copy)]
struct Cell {
    severity: Option<Severity>,
    value: Option<f64>,
    failed: Option<u32>,
}

const EMPTY: Cell = Cell {
    severity: None,
    value: None,
    failed: None,
};

/// Per target of an expand check: slot name → the worst state the main query gave it and
/// that sample's value; `None` for a slot only the discovery query returned.
type Slots = BTreeMap<Box<str>, Option<(Severity, f64)>>;

/// Evaluates one refresh. `answers` is indexed like `plan.queries`.
pub fn evaluate(
    config: &Config,
    plan: &Plan,
    answers: &[Answer<'_>],
    now: SystemTime,
    memory: &mut ForMemory,
) -> Health {
    let topo = &config.topology;
    let t = &plan.targets;
    let unknown = config.app.planner.unknown_state;
    let no_data: Arc<str> = Arc::from("no data: the query returned no series for this target");
    let no_slots: Arc<str> = Arc::from("no data: neither query returned a series for this target");
    let mut h = Health {
        nodes: vec![TargetHealth::default(); t.len(Scope::Node)],
        devices: vec![TargetHealth::default(); t.len(Scope::Chassis)],
        racks: vec![TargetHealth::default(); t.len(Scope::Rack)],
        ..Health::default()
    };

    for (ci, check) in plan.checks.iter().enumerate() {
        let ci = ci as u32;
        let mut cells = vec![EMPTY; check.targets.len()];
        let mut slots: Vec<Slots> = match check.expand {
            Some(_) => vec![Slots::new(); check.targets.len()],
            None => Vec::new(),
        };
        for chunk in &check.chunks {
            let mut take = |q: u32, discovery: bool| match answers.get(q as usize) {
                Some(Answer::Ok(r)) => {
                    for s in &r.samples {
                        let Some(key) = s.labels.get(&check.key_label) else {
                            continue;
                        };
                        let slot_name = match &check.expand {
                            Some(e) => match s.labels.get(&e.label) {
                                Some(v) => Some(v),
                                None => continue,
                            },
                            None => None,
                        };
                        for g in t.lookup(check.scope, key) {
                            let Some(l) = check.local(g) else { continue };
                            match slot_name {
                                Some(name) => {
                                    let e = slots[l].entry(name.into()).or_insert(None);
                                    if !discovery {
                                        let sev = check.classify(s.value);
                                        if e.is_none_or(|(w, _)| sev > w) {
                                            *e = Some((sev, s.value));
                                        }
                                    }
                                }
                                None if !discovery => {
                                    let sev = check.classify(s.value);
                                    let c = &mut cells[l];
                                    if c.severity.is_none_or(|w| sev > w) {
                                        c.severity = Some(sev);
                                        c.value = Some(s.value);
                                    }
                                }
                                None => {}
                            }
                        }
                    }
                }
                _ => {
                    for l in chunk.targets.clone() {
                        cells[l as usize].failed.get_or_insert(q);
                    }
                }
            };
            take(chunk.query, false);
            if let Some(d) = chunk.discovery {
                take(d, true);
            }
        }

        // Only `for:` checks have anything to remember.
        let mut mem = check.for_seconds.map(|_| {
            memory
                .checks
                .entry(check.id.clone())
                .or_insert_with(|| CheckMemory {
                    fingerprint: fingerprint(config, check),
                    targets: HashMap::new(),
                })
        });
        for (l, &g) in check.targets.iter().enumerate() {
            let cell = cells[l];
            let failed = cell.failed.and_then(|q| match answers.get(q as usize) {
                Some(Answer::Failed(r)) => Some(r.clone()),
                _ => None,
            });
            let key = t.key(topo, check.scope, g);
            let mut result = CheckResult {
                check: ci,
                severity: unknown,
                value: None,
                pending: None,
                reason: None,
            };
            let mut group = None;
            if let Some(reason) = failed {
                // A failed query says nothing about the target: its `for:` timers stay as
                // they were, and the state is UNKNOWN with the query's error.
                result.severity = Severity::Unknown;
                result.reason = Some(reason);
            } else if let Some(expand) = &check.expand {
                let mut out = Vec::with_capacity(slots[l].len());
                let mut tm = mem
                    .as_mut()
                    .and_then(|m| m.targets.remove(key))
                    .unwrap_or_default();
                for (name, main) in std::mem::take(&mut slots[l]) {
                    let (raw, value) = match main {
                        Some((s, v)) => (s, Some(v)),
                        None => (expand.absent_state, None),
                    };
                    let (severity, pending) = match check.for_seconds {
                        Some(secs) => {
                            let mut e = tm.slots.get(&name).copied();
                            let r = debounce(&mut e, raw, secs, now);
                            match e {
                                Some(e) => tm.slots.insert(name.clone(), e),
                                None => tm.slots.remove(&name),
                            };
                            r
                        }
                        None => (raw, None),
                    };
                    out.push(SlotResult {
                        name,
                        severity,
                        value,
                        pending,
                    });
                }
                if let Some(m) = mem.as_mut()
                    && (tm.whole.is_some() || !tm.slots.is_empty())
                {
                    m.targets.insert(key.into(), tm);
                }
                if out.is_empty() {
                    result.reason = Some(no_slots.clone());
                } else {
                    let crit = out.iter().filter(|s| s.severity == Severity::Crit).count();
                    let worst = out.iter().map(|s| s.severity).max().unwrap_or(unknown);
                    result.severity = if crit > 0 {
                        match expand.crit_threshold {
                            Some(th) if (crit as u32) < th => Severity::Warn,
                            _ => Severity::Crit,
                        }
                    } else {
                        worst
                    };
                    result.pending = out
                        .iter()
                        .filter_map(|s| s.pending)
                        .max_by_key(|p| p.severity);
                    result.value = Some(crit as f64);
                }
                group = Some(SlotGroup {
                    check: ci,
                    label: Arc::from(expand.label.as_str()),
                    slots: out,
                });
            } else {
                let raw = match cell.severity {
                    Some(s) => {
                        result.value = cell.value;
                        s
                    }
                    None => {
                        result.reason = Some(no_data.clone());
                        unknown
                    }
                };
                match (check.for_seconds, mem.as_mut()) {
                    // Nothing remembered and nothing failing: the common case, no lookup.
                    (Some(secs), Some(m)) if raw.is_alert() || !m.targets.is_empty() => {
                        let mut tm = m.targets.remove(key).unwrap_or_default();
                        let (s, p) = debounce(&mut tm.whole, raw, secs, now);
                        result.severity = s;
                        result.pending = p;
                        if tm.whole.is_some() || !tm.slots.is_empty() {
                            m.targets.insert(key.into(), tm);
                        }
                    }
                    _ => result.severity = raw,
                }
            }
            let th = match check.scope {
                Scope::Node => &mut h.nodes[g as usize],
                Scope::Chassis => &mut h.devices[g as usize],
                Scope::Rack => &mut h.racks[g as usize],
            };
            th.pending |= result.pending.is_some();
            th.checks.push(result);
            if let Some(g) = group {
                th.slots.push(g);
            }
        }
    }

    aggregate(config, plan, &mut h);
    h.alerts = alerts(&h);
    h
}

fn worst(a: Option<Severity>, b: Option<Severity>) -> Option<Severity> {
    a.max(b)
}

fn own_state(th: &TargetHealth) -> Option<Severity> {
    th.checks.iter().map(|c| c.severity).max()
}

/// Rolls health up: node → device → rack → aisle → room → site → global, worst wins
/// (CRIT > WARN > UNKNOWN > OK) at every level; what no check covers does not count.
fn aggregate(config: &Config, plan: &Plan, h: &mut Health) {
    let topo = &config.topology;
    for n in &mut h.nodes {
        n.state = own_state(n);
    }
    for (d, dev) in h.devices.iter_mut().enumerate() {
        let mut s = own_state(dev);
        let mut pending = dev.pending;
        for n in plan.targets.device_nodes(topo, d as u32) {
            if let Some(node) = h.nodes.get(n as usize) {
                s = worst(s, node.state);
                pending |= node.pending;
            }
        }
        dev.state = s;
        dev.pending = pending;
    }
    for (r, rack) in h.racks.iter_mut().enumerate() {
        let mut s = own_state(rack);
        let mut pending = rack.pending;
        for &d in &topo.racks[r].devices {
            s = worst(s, h.devices[d as usize].state);
            pending |= h.devices[d as usize].pending;
        }
        rack.state = s;
        rack.pending = pending;
    }
    h.aisles = topo
        .aisles
        .iter()
        .map(|a| {
            a.racks
                .iter()
                .map(|&r| h.racks[r as usize].state)
                .fold(None, worst)
        })
        .collect();
    h.rooms = topo
        .rooms
        .iter()
        .map(|room| {
            let a = room
                .aisles
                .iter()
                .map(|&a| h.aisles[a as usize])
                .fold(None, worst);
            room.standalone_racks
                .iter()
                .map(|&r| h.racks[r as usize].state)
                .fold(a, worst)
        })
        .collect();
    h.sites = topo
        .sites
        .iter()
        .map(|s| {
            s.rooms
                .iter()
                .map(|&r| h.rooms[r as usize])
                .fold(None, worst)
        })
        .collect();
    h.global = h.sites.iter().copied().fold(None, worst);
}

fn alert_of(target: AlertTarget, th: &TargetHealth) -> Option<Alert> {
    let mut checks = Vec::new();
    for c in th.checks.iter().filter(|c| c.severity.is_alert()) {
        match th.slots.iter().find(|g| g.check == c.check) {
            Some(g) => checks.extend(g.slots.iter().filter(|s| s.severity.is_alert()).map(|s| {
                AlertCheck {
                    check: c.check,
                    severity: s.severity,
                    slot: Some(s.name.clone()),
                    value: s.value,
                }
            })),
            None => checks.push(AlertCheck {
                check: c.check,
                severity: c.severity,
                slot: None,
                value: c.value,
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
    })
}

/// Every target in WARN or CRIT: nodes (slots included), devices, racks; worst first.
fn alerts(h: &Health) -> Vec<Alert> {
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
        .map(|(i, n)| (AlertTarget::Device(i as u32), n));
    let racks = h
        .racks
        .iter()
        .enumerate()
        .map(|(i, n)| (AlertTarget::Rack(i as u32), n));
    for (target, th) in nodes.chain(devices).chain(racks) {
        if let Some(a) = alert_of(target, th) {
            out.push(a);
        }
    }
    out.sort_by_key(|a| std::cmp::Reverse(a.state));
    out
}
