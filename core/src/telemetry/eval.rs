//! Evaluation: the answers to a plan's queries become per-target check results, `for:`
//! debouncing is applied, and health rolls up the physical hierarchy.
//!
//! Pure apart from the `ForMemory` it is handed: the same plan, answers, time and memory
//! always give the same `Health`, which is what the unit tests and benchmarks rely on.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::SystemTime;

use crate::config::Config;
use crate::model::checks::Scope;
use crate::severity::Severity;
use crate::telemetry::plan::{BoundCheck, Expand, Plan};
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
    /// Why the state is what it is when no sample decided it (no data, a failed query,
    /// a script that failed).
    pub reason: Option<Arc<str>>,
    /// What the check's script said about the state.
    pub message: Option<Arc<str>>,
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
    /// What the check's script said.
    pub message: Option<Arc<str>>,
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
    scripts: HashMap<Arc<str>, ScriptMemory>,
}

/// What a scripted check carries between refreshes: each target's last state, which its
/// script sees as `previous` (hysteresis), and the last error logged, so a failing script
/// is logged when its error changes rather than at every series of every refresh.
#[derive(Debug, Clone, Default)]
struct ScriptMemory {
    fingerprint: String,
    /// Targets whose last state was not OK.
    previous: HashMap<Box<str>, Severity>,
    logged: Option<String>,
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
        let scripted: HashMap<&str, String> = plan
            .checks
            .iter()
            .filter(|c| config.scripts_of(c.def).is_some())
            .map(|c| (&*c.id, fingerprint(config, c)))
            .collect();
        self.scripts
            .retain(|id, m| scripted.get(&**id).is_some_and(|f| *f == m.fingerprint));
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

#[derive(Clone, Default)]
struct Cell {
    severity: Option<Severity>,
    value: Option<f64>,
    failed: Option<u32>,
    /// From the script that decided the state.
    message: Option<Arc<str>>,
    /// The script failed for the series that decided the state.
    error: Option<Arc<str>>,
}

/// A series' verdict: rules, then the check's script when it has one.
struct Judged {
    severity: Severity,
    message: Option<Arc<str>>,
    error: Option<Arc<str>>,
}

impl Judged {
    fn of(severity: Severity) -> Judged {
        Judged {
            severity,
            message: None,
            error: None,
        }
    }

    fn said(v: crate::script::Verdict) -> Judged {
        Judged {
            severity: v.severity,
            message: v.message,
            error: None,
        }
    }
}

/// The reason of a state that a NaN sample decided.
const NAN_REASON: &str = "value is NaN";

/// A NaN sample is at least UNKNOWN: rules cannot compare it, and a script written for
/// numbers (`value > 90`) would call it OK by accident. A script may still raise it to WARN
/// or CRIT. When it stays UNKNOWN, the reason says why.
fn nan_floor(mut j: Judged, nan: bool) -> Judged {
    if nan {
        j.severity = j.severity.max(Severity::Unknown);
        if j.severity == Severity::Unknown && j.error.is_none() {
            j.error = Some(Arc::from(NAN_REASON));
        }
    }
    j
}

/// The `ctx` a script sees for a target: where it sits and what it is.
fn script_ctx(config: &Config, plan: &Plan, scope: Scope, g: u32) -> rhai::Dynamic {
    let topo = &config.topology;
    let t = &plan.targets;
    let (instance, device, rack) = match scope {
        Scope::Node => {
            let d = t.node_device(topo, g);
            let inst = t
                .node_instance(g)
                .map_or("", |i| topo.instances[i as usize].name.as_str());
            (inst, Some(d), topo.devices[d as usize].rack)
        }
        Scope::Chassis => ("", Some(g), topo.devices[g as usize].rack),
        Scope::Rack => ("", None, g),
    };
    let dev = device.map(|d| &topo.devices[d as usize]);
    let template = dev.map_or("", |d| d.template_id.as_str());
    let role = config
        .catalog
        .devices
        .get(template)
        .and_then(|t| t.def.role.as_deref())
        .unwrap_or("");
    let r = &topo.racks[rack as usize];
    let room = &topo.rooms[r.room as usize];
    let aisle = r.aisle.map_or("", |a| topo.aisles[a as usize].id.as_str());
    crate::script::context([
        ("scope", scope.as_str()),
        ("instance", instance),
        ("device", dev.map_or("", |d| d.id.as_str())),
        ("template", template),
        ("role", role),
        ("rack", r.id.as_str()),
        ("aisle", aisle),
        ("room", room.id.as_str()),
        ("site", topo.sites[room.site as usize].id.as_str()),
    ])
}

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
        let mut cells = vec![Cell::default(); check.targets.len()];
        let scripts = config.scripts_of(check.def);
        let mut runner = scripts.map(|s| s.runner());
        let mut smem = scripts.map(|_| {
            memory
                .scripts
                .entry(check.id.clone())
                .or_insert_with(|| ScriptMemory {
                    fingerprint: fingerprint(config, check),
                    ..ScriptMemory::default()
                })
        });
        let mut ctxs: Vec<Option<rhai::Dynamic>> = match scripts {
            Some(_) => vec![None; check.targets.len()],
            None => Vec::new(),
        };
        let aggregate = scripts.is_some_and(|s| s.aggregate.is_some());
        let mut gathered: Vec<Vec<crate::script::SeriesResult>> = match aggregate {
            true => vec![Vec::new(); check.targets.len()],
            false => Vec::new(),
        };
        let mut script_errors = 0usize;
        let mut first_error: Option<Arc<str>> = None;
        // The target whose inputs the runner holds; series of one target usually arrive
        // together, so its `ctx` is copied into the scope once, not per series.
        let mut current: Option<usize> = None;
        let previous = |smem: &Option<&mut ScriptMemory>, g: u32| {
            smem.as_ref()
                .and_then(|m| m.previous.get(t.key(topo, check.scope, g)).copied())
        };
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
                        let input =
                            scripts.map(|sc| crate::script::SeriesInput::new(&s.labels, sc));
                        let mut judge = |g: u32, l: usize| -> Judged {
                            let state = check.classify(s.value);
                            let (Some(run), Some(input)) = (runner.as_mut(), input.as_ref()) else {
                                return nan_floor(Judged::of(state), s.value.is_nan());
                            };
                            if current != Some(l) {
                                let ctx = ctxs[l].get_or_insert_with(|| {
                                    script_ctx(config, plan, check.scope, g)
                                });
                                run.target(ctx, previous(&smem, g));
                                current = Some(l);
                            }
                            let verdict = run.series(input, s.value, state);
                            let judged = match verdict {
                                Ok(v) => nan_floor(
                                    Judged {
                                        severity: v.severity,
                                        message: v.message,
                                        error: None,
                                    },
                                    s.value.is_nan(),
                                ),
                                Err(e) => {
                                    script_errors += 1;
                                    let e: Arc<str> = Arc::from(e);
                                    first_error.get_or_insert_with(|| e.clone());
                                    Judged {
                                        severity: Severity::Unknown,
                                        message: None,
                                        error: Some(e),
                                    }
                                }
                            };
                            if let Some(list) = gathered.get_mut(l) {
                                list.push(crate::script::SeriesResult {
                                    value: s.value,
                                    labels: input.labels(),
                                    verdict: crate::script::Verdict {
                                        severity: judged.severity,
                                        message: judged.message.clone(),
                                    },
                                });
                            }
                            judged
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
                                    let sev = (!discovery).then(|| judge(g, l).severity);
                                    let e = slots[l].entry(name.into()).or_insert(None);
                                    if let Some(sev) = sev
                                        && e.is_none_or(|(w, _)| sev > w)
                                    {
                                        *e = Some((sev, s.value));
                                    }
                                }
                                None if !discovery => {
                                    let j = judge(g, l);
                                    let c = &mut cells[l];
                                    if c.severity.is_none_or(|w| j.severity > w) {
                                        c.severity = Some(j.severity);
                                        c.value = Some(s.value);
                                        c.message = j.message;
                                        c.error = j.error;
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
        if let Some(run) = runner.as_mut() {
            for (l, list) in gathered.iter().enumerate() {
                if list.is_empty() {
                    continue;
                }
                let g = check.targets[l];
                let ctx = ctxs[l].get_or_insert_with(|| script_ctx(config, plan, check.scope, g));
                run.target(ctx, previous(&smem, g));
                let c = &mut cells[l];
                match run.aggregate(list) {
                    Ok(v) => {
                        let nan = list.iter().any(|r| r.value.is_nan());
                        let j = nan_floor(Judged::said(v), nan);
                        c.severity = Some(j.severity);
                        c.message = j.message;
                        c.error = j.error;
                    }
                    Err(e) => {
                        script_errors += 1;
                        let e: Arc<str> = Arc::from(e);
                        first_error.get_or_insert_with(|| e.clone());
                        c.severity = Some(Severity::Unknown);
                        c.message = None;
                        c.error = Some(e);
                    }
                }
            }
        }
        if let Some(m) = smem.as_mut() {
            let now_err = first_error.as_deref().map(str::to_owned);
            if let Some(e) = &now_err
                && m.logged.as_deref() != Some(e.as_str())
            {
                tracing::warn!(check = %check.id, targets = script_errors, "script failed, its targets are UNKNOWN: {e}");
            }
            m.logged = now_err;
        }
        for (l, &g) in check.targets.iter().enumerate() {
            let cell = std::mem::take(&mut cells[l]);
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
                message: None,
            };
            let mut group = None;
            let query_failed = failed.is_some();
            if let Some(reason) = failed {
                // A failed query says nothing about the target: its `for:` timers stay as
                // they were, and the state is UNKNOWN with the query's error.
                result.severity = Severity::Unknown;
                result.reason = Some(reason);
            } else if let Some(expand) = &check.expand {
                let slots = std::mem::take(&mut slots[l]);
                let tm = mem.as_mut().and_then(|m| m.targets.remove(key));
                let (out, tm) = expand_slots(check, expand, slots, tm.unwrap_or_default(), now);
                if let Some(m) = mem.as_mut()
                    && (tm.whole.is_some() || !tm.slots.is_empty())
                {
                    m.targets.insert(key.into(), tm);
                }
                expand_verdict(expand, &out, unknown, &no_slots, &mut result);
                group = Some(SlotGroup {
                    check: ci,
                    label: Arc::from(expand.label.as_str()),
                    slots: out,
                });
            } else {
                let raw = match cell.severity {
                    Some(s) => {
                        result.value = cell.value;
                        result.message = cell.message;
                        result.reason = cell.error;
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
            // Like `for:` timers, a failed query leaves the remembered state as it was.
            if let Some(m) = smem.as_mut().filter(|_| !query_failed) {
                let key = t.key(topo, check.scope, g);
                if result.severity == Severity::Ok {
                    m.previous.remove(key);
                } else {
                    m.previous.insert(key.into(), result.severity);
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

/// The slots of one target of an `expand_by_label` check, `for:` applied per slot, and the
/// target's memory updated.
fn expand_slots(
    check: &BoundCheck,
    expand: &Expand,
    slots: Slots,
    mut tm: TargetMemory,
    now: SystemTime,
) -> (Vec<SlotResult>, TargetMemory) {
    let mut out = Vec::with_capacity(slots.len());
    for (name, main) in slots {
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
    (out, tm)
}

/// An expanded check's verdict from its slots: the worst slot, except that fewer CRIT slots
/// than `expand_crit_threshold` make a WARN; the value is the number of CRIT slots.
fn expand_verdict(
    expand: &Expand,
    out: &[SlotResult],
    unknown: Severity,
    no_slots: &Arc<str>,
    result: &mut CheckResult,
) {
    if out.is_empty() {
        result.reason = Some(no_slots.clone());
        return;
    }
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
