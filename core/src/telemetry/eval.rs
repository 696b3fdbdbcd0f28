//! Evaluation: the answers to a plan's queries become per-target check results, `for:`
//! debouncing is applied, and health rolls up the physical hierarchy.
//!
//! Pure apart from the `ForMemory` it is handed: the same plan, answers, time and memory
//! always give the same `Health`, which is what the unit tests and benchmarks rely on.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::SystemTime;

use crate::bind::Qualifiers;
use crate::config::Config;
use crate::labels::Labels;
use crate::model::checks::Scope;
use crate::script::{CheckScripts, Runner, SeriesInput, SeriesResult, Verdict};
use crate::severity::Severity;
use crate::telemetry::outcome::Outcome;
use crate::telemetry::plan::{BoundCheck, Chunk, Expand, Plan};
use crate::telemetry::rollup::{alerts, roll_up};
use crate::telemetry::source::{InstantResult, Sample};
use crate::topology::{DeviceIx, RackIx};

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
    /// What the check's script said about the state.
    pub message: Option<Arc<str>>,
    /// How the evaluation went, from which `severity` (before `for:`) and `reason` come.
    pub outcome: Outcome,
}

impl CheckResult {
    /// Why the state is what it is when no sample decided it (no data, a failed query, a
    /// script that failed). Derived, not stored: a million results would each carry it.
    pub fn reason(&self) -> Option<&str> {
        self.outcome.reason()
    }
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
    Device(DeviceIx),
    Rack(RackIx),
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
    /// The first refresh of the run of refreshes in which the target has been in alert
    /// (WARN or CRIT, either): kept across an escalation, reset when it clears.
    pub since: SystemTime,
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
    /// The instances the last answered Slurm query reported (`workload`).
    slurm_seen: HashSet<Box<str>>,
    /// Since when each target in alert has been (`Alert::since`), by its lasting name.
    alert_since: AlertSince,
}

/// `Alert::since` by lasting name, updated in place: every target of a million may be in
/// alert, and a map rebuilt at each refresh would hold its names twice.
#[derive(Debug, Clone, Default)]
struct AlertSince {
    /// The time, and the `mark` of the last refresh that saw the target in alert.
    by_name: HashMap<Box<str>, (SystemTime, bool)>,
    mark: bool,
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

/// One series' verdict: the rules, then the check's script when it has one.
#[derive(Clone)]
struct Judged {
    /// Evaluated, NaN, or the script failed.
    outcome: Outcome,
    /// What the script said.
    message: Option<Arc<str>>,
}

impl Judged {
    fn severity(&self) -> Severity {
        // A series' outcome is never `NoData`, so the unknown state does not matter here.
        self.outcome.severity(Severity::Unknown)
    }

    fn failed(error: Arc<str>) -> Judged {
        Judged {
            outcome: Outcome::ScriptFailed(error),
            message: None,
        }
    }

    fn said(v: Verdict, nan: bool) -> Judged {
        Judged {
            outcome: Outcome::judged(v.severity, nan),
            message: v.message,
        }
    }
}

/// What the series of one target gave so far.
#[derive(Clone, Default)]
struct Cell {
    /// The worst series' verdict.
    judged: Option<Judged>,
    /// That series' value.
    value: Option<f64>,
    /// The first query of the target that got no answer.
    failed: Option<u32>,
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
                .map_or("", |i| topo.instances[i].name.as_str());
            (inst, Some(d), topo.devices[d].rack)
        }
        Scope::Chassis => (
            "",
            Some(DeviceIx::new(g)),
            topo.devices[DeviceIx::new(g)].rack,
        ),
        Scope::Rack => ("", None, RackIx::new(g)),
    };
    let dev = device.map(|d| &topo.devices[d]);
    let template = dev.map_or("", |d| d.template_id.as_str());
    let role = config
        .catalog
        .devices
        .get(template)
        .and_then(|t| t.def.role.as_deref())
        .unwrap_or("");
    let r = &topo.racks[rack];
    let room = &topo.rooms[r.room];
    let aisle = r.aisle.map_or("", |a| topo.aisles[a].id.as_str());
    crate::script::context([
        ("scope", scope.as_str()),
        ("instance", instance),
        ("device", dev.map_or("", |d| d.id.as_str())),
        ("template", template),
        ("role", role),
        ("rack", r.id.as_str()),
        ("aisle", aisle),
        ("room", room.id.as_str()),
        ("site", topo.sites[room.site].id.as_str()),
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
    let targets = &plan.targets;
    let mut health = Health {
        nodes: vec![TargetHealth::default(); targets.len(Scope::Node)],
        devices: vec![TargetHealth::default(); targets.len(Scope::Chassis)],
        racks: vec![TargetHealth::default(); targets.len(Scope::Rack)],
        ..Health::default()
    };
    reserve_results(plan, &mut health);
    for (check_ix, check) in plan.checks.iter().enumerate() {
        if plan.slurm_check == Some(check_ix as u32) {
            continue;
        }
        let mut run = CheckRun::new(config, plan, check, &mut memory.scripts);
        for chunk in &check.chunks {
            run.take(answers, chunk, chunk.query, false);
            if let Some(discovery) = chunk.discovery {
                run.take(answers, chunk, discovery, true);
            }
        }
        run.aggregate_scripts();
        let for_memory = check.for_seconds.map(|_| {
            memory
                .checks
                .entry(check.id.clone())
                .or_insert_with(|| CheckMemory {
                    fingerprint: fingerprint(config, check),
                    targets: HashMap::new(),
                })
        });
        run.settle(check_ix as u32, answers, now, for_memory, &mut health);
    }
    super::workload::settle(config, plan, answers, &mut memory.slurm_seen, &mut health);
    roll_up(config, plan, &mut health);
    health.alerts = alerts(&health, now);
    stamp_since(config, plan, &mut health.alerts, &mut memory.alert_since);
    health
}

/// The labels evaluation reads from each query's answer, by query (`None`: every label).
/// The engine drops the others as each answer arrives: a refresh holds all its answers
/// until it evaluates them, and series carry many labels nobody reads here (`job`,
/// `__name__`, a scrape's target labels). Must name every label `CheckRun::sample` reads:
/// the key, the expand label and the qualifiers; a scripted check's series are seen whole
/// by its script, and the Slurm view reads its own.
pub(super) fn labels_read(config: &Config, plan: &Plan) -> Vec<Option<Vec<Box<str>>>> {
    let mut read: Vec<Option<Vec<Box<str>>>> = vec![Some(Vec::new()); plan.queries.len()];
    let t = &config.app.telemetry;
    let qualifiers = [&t.site_label, &t.room_label, &t.aisle_label];
    let all = |read: &mut Vec<Option<Vec<Box<str>>>>, q: u32| {
        if let Some(r) = read.get_mut(q as usize) {
            *r = None;
        }
    };
    for q in [plan.slurm_query, plan.slurm_jobs_query]
        .into_iter()
        .flatten()
    {
        all(&mut read, q);
    }
    for check in &plan.checks {
        let scripted = config.scripts_of(check.def).is_some();
        for chunk in &check.chunks {
            for q in std::iter::once(chunk.query).chain(chunk.discovery) {
                if scripted {
                    all(&mut read, q);
                    continue;
                }
                let Some(Some(names)) = read.get_mut(q as usize) else {
                    continue;
                };
                let expand = check.expand.as_ref().map(|e| &e.label);
                let wanted = std::iter::once(&check.key_label)
                    .chain(expand)
                    .chain(qualifiers.iter().copied().flatten());
                for name in wanted {
                    if !names.iter().any(|n| **n == **name) {
                        names.push(name.as_str().into());
                    }
                }
            }
        }
    }
    read
}

/// Sizes every target's result lists once, from the plan's bindings. Grown by pushes, a
/// list with one result would hold room for four (about 400 bytes per target), which at a
/// million targets, with the published snapshot alive beside the new one, is most of a
/// refresh's peak memory.
fn reserve_results(plan: &Plan, health: &mut Health) {
    let mut counts: [Vec<(u32, u32)>; 3] = [
        vec![(0, 0); health.nodes.len()],
        vec![(0, 0); health.devices.len()],
        vec![(0, 0); health.racks.len()],
    ];
    for check in &plan.checks {
        let of_scope = &mut counts[match check.scope {
            Scope::Node => 0,
            Scope::Chassis => 1,
            Scope::Rack => 2,
        }];
        for &t in &check.targets {
            if let Some((results, groups)) = of_scope.get_mut(t as usize) {
                *results += 1;
                *groups += u32::from(check.expand.is_some());
            }
        }
    }
    let lists = [&mut health.nodes, &mut health.devices, &mut health.racks];
    for (list, counts) in lists.into_iter().zip(&counts) {
        for (th, &(results, groups)) in list.iter_mut().zip(counts) {
            th.checks = Vec::with_capacity(results as usize);
            th.slots = Vec::with_capacity(groups as usize);
        }
    }
}

/// Carries each alert's `since` over from the last refresh, by a name that survives a
/// configuration reload (indices do not): the instance, or the device or rack path.
fn stamp_since(config: &Config, plan: &Plan, alerts: &mut [Alert], memory: &mut AlertSince) {
    use std::fmt::Write as _;
    let topo = &config.topology;
    let mark = !memory.mark;
    memory.mark = mark;
    let mut key = String::new();
    for a in alerts {
        key.clear();
        // Writing to a String cannot fail.
        let _ = match a.target {
            AlertTarget::Node(n) => match plan.targets.node_instance(n) {
                Some(i) => write!(key, "n {}", topo.instances[i].name),
                None => write!(
                    key,
                    "n {}",
                    topo.device_path(plan.targets.node_device(topo, n))
                ),
            },
            AlertTarget::Device(d) => write!(key, "d {}", topo.device_path(d)),
            AlertTarget::Rack(r) => write!(key, "r {}", topo.rack_path(r)),
        };
        match memory.by_name.get_mut(key.as_str()) {
            Some((since, seen)) => {
                a.since = *since;
                *seen = mark;
            }
            None => {
                memory.by_name.insert(key.as_str().into(), (a.since, mark));
            }
        }
    }
    memory.by_name.retain(|_, &mut (_, seen)| seen == mark);
}

/// The health of a target of a scope.
fn target_health(health: &mut Health, scope: Scope, target: u32) -> &mut TargetHealth {
    match scope {
        Scope::Node => &mut health.nodes[target as usize],
        Scope::Chassis => &mut health.devices[target as usize],
        Scope::Rack => &mut health.racks[target as usize],
    }
}

/// One check's evaluation over its targets: the answers gathered per target (position in
/// `BoundCheck::targets`), then settled into results.
struct CheckRun<'a> {
    config: &'a Config,
    plan: &'a Plan,
    check: &'a BoundCheck,
    cells: Vec<Cell>,
    /// Per target, for `expand_by_label` checks only.
    slots: Vec<Slots>,
    script: Option<ScriptRun<'a>>,
    /// The labels that narrow a shared rack id, and the reused buffer of a series' targets.
    qualifiers: Qualifiers,
    named: Vec<u32>,
}

impl<'a> CheckRun<'a> {
    fn new(
        config: &'a Config,
        plan: &'a Plan,
        check: &'a BoundCheck,
        memory: &'a mut HashMap<Arc<str>, ScriptMemory>,
    ) -> CheckRun<'a> {
        let targets = check.targets.len();
        let script = config.scripts_of(check.def).map(|scripts| {
            let memory = memory
                .entry(check.id.clone())
                .or_insert_with(|| ScriptMemory {
                    fingerprint: fingerprint(config, check),
                    ..ScriptMemory::default()
                });
            ScriptRun::new(scripts, memory, targets)
        });
        CheckRun {
            config,
            plan,
            check,
            cells: vec![Cell::default(); targets],
            slots: match check.expand {
                Some(_) => vec![Slots::new(); targets],
                None => Vec::new(),
            },
            script,
            qualifiers: Qualifiers::of(&config.app.telemetry),
            named: Vec::new(),
        }
    }

    /// Takes the answer to query `query` of a chunk (its discovery query when `discovery`).
    fn take(&mut self, answers: &[Answer<'_>], chunk: &Chunk, query: u32, discovery: bool) {
        match answers.get(query as usize) {
            Some(Answer::Ok(result)) => {
                for sample in &result.samples {
                    self.sample(sample, discovery, &chunk.span);
                }
            }
            _ => {
                for position in chunk.targets.clone() {
                    self.cells[position as usize].failed.get_or_insert(query);
                }
            }
        }
    }

    /// One series of an answer, for every target its key names among the positions `span`
    /// (those its source answers for). Reads only the labels `labels_read` names.
    fn sample(&mut self, sample: &Sample, discovery: bool, span: &std::ops::Range<u32>) {
        let (plan, check) = (self.plan, self.check);
        let Some(key) = sample.labels.get(&check.key_label) else {
            return;
        };
        let slot_name = match &check.expand {
            Some(expand) => match sample.labels.get(&expand.label) {
                Some(name) => Some(name),
                None => return,
            },
            None => None,
        };
        if discovery && slot_name.is_none() {
            return;
        }
        let input = self.script.as_ref().map(|s| s.input(&sample.labels));
        let mut named = std::mem::take(&mut self.named);
        plan.targets.of_series(
            &self.config.topology,
            check.scope,
            key,
            &sample.labels,
            &self.qualifiers,
            &mut named,
        );
        for &target in &named {
            let Some(position) = check.local(target) else {
                continue;
            };
            if !span.contains(&(position as u32)) {
                continue;
            }
            match slot_name {
                Some(name) => {
                    let severity = (!discovery).then(|| {
                        self.judge(sample, input.as_ref(), target, position)
                            .severity()
                    });
                    let slot = self.slots[position].entry(name.into()).or_insert(None);
                    if let Some(severity) = severity
                        && slot.is_none_or(|(worst, _)| severity > worst)
                    {
                        *slot = Some((severity, sample.value));
                    }
                }
                None => {
                    let judged = self.judge(sample, input.as_ref(), target, position);
                    let cell = &mut self.cells[position];
                    let worse = cell
                        .judged
                        .as_ref()
                        .is_none_or(|worst| judged.severity() > worst.severity());
                    if worse {
                        cell.judged = Some(judged);
                        cell.value = Some(sample.value);
                    }
                }
            }
        }
        self.named = named;
    }

    /// A series' verdict for one target: the threshold rules, then the series script.
    fn judge(
        &mut self,
        sample: &Sample,
        input: Option<&SeriesInput>,
        target: u32,
        position: usize,
    ) -> Judged {
        let state = self.check.classify(sample.value);
        let nan = sample.value.is_nan();
        match (self.script.as_mut(), input) {
            (Some(script), Some(input)) => {
                let at = TargetRef::new(self.config, self.plan, self.check, target, position);
                script.series(&at, input, sample.value, state)
            }
            _ => Judged {
                outcome: Outcome::judged(state, nan),
                message: None,
            },
        }
    }

    /// Runs the aggregate script of every target that got series.
    fn aggregate_scripts(&mut self) {
        let Some(script) = self.script.as_mut() else {
            return;
        };
        // Without an aggregate script nothing was gathered.
        for position in 0..script.gathered.len() {
            let target = self.check.targets[position];
            let at = TargetRef::new(self.config, self.plan, self.check, target, position);
            if let Some(judged) = script.aggregate(&at) {
                self.cells[position].judged = Some(judged);
            }
        }
        script.log_errors(&self.check.id);
    }

    /// Turns what each target gathered into its result, `for:` applied, into `health`.
    fn settle(
        mut self,
        check_ix: u32,
        answers: &[Answer<'_>],
        now: SystemTime,
        mut for_memory: Option<&mut CheckMemory>,
        health: &mut Health,
    ) {
        let (config, plan, check) = (self.config, self.plan, self.check);
        let unknown = config.app.planner.unknown_state;
        for (position, &target) in check.targets.iter().enumerate() {
            let cell = std::mem::take(&mut self.cells[position]);
            let key = plan.targets.key(&config.topology, check.scope, target);
            let failed = cell.failed.and_then(|q| match answers.get(q as usize) {
                Some(Answer::Failed(reason)) => Some(reason.clone()),
                _ => None,
            });
            let mut group = None;
            let (outcome, value, message, severity, pending) = if let Some(reason) = failed {
                // A failed query says nothing about the target: its `for:` timers stay as
                // they were, and the state is UNKNOWN with the query's error.
                (
                    Outcome::QueryFailed(reason),
                    None,
                    None,
                    Severity::Unknown,
                    None,
                )
            } else if let Some(expand) = &check.expand {
                let slots = std::mem::take(&mut self.slots[position]);
                let (out, outcome, value, pending) = settle_slots(
                    check,
                    expand,
                    slots,
                    key,
                    for_memory.as_deref_mut(),
                    now,
                    unknown,
                );
                let severity = outcome.severity(unknown);
                group = Some(SlotGroup {
                    check: check_ix,
                    label: Arc::from(expand.label.as_str()),
                    slots: out,
                });
                (outcome, value, None, severity, pending)
            } else {
                let (outcome, value, message) = match cell.judged {
                    Some(judged) => (judged.outcome, cell.value, judged.message),
                    None => (Outcome::NoData { slots: false }, None, None),
                };
                let raw = outcome.severity(unknown);
                let (severity, pending) =
                    debounce_target(check, for_memory.as_deref_mut(), key, raw, now);
                (outcome, value, message, severity, pending)
            };
            // Like `for:` timers, a failed query leaves the remembered state as it was.
            if let Some(script) = self.script.as_mut().filter(|_| outcome.observed()) {
                script.remember(key, severity);
            }
            let result = CheckResult {
                check: check_ix,
                severity,
                value,
                pending,
                message,
                outcome,
            };
            let th = target_health(health, check.scope, target);
            th.pending |= result.pending.is_some();
            th.checks.push(result);
            if let Some(group) = group {
                th.slots.push(group);
            }
        }
    }
}

/// A target's whole state through its check's `for:`, when it has one.
fn debounce_target(
    check: &BoundCheck,
    memory: Option<&mut CheckMemory>,
    key: &str,
    raw: Severity,
    now: SystemTime,
) -> (Severity, Option<Pending>) {
    match (check.for_seconds, memory) {
        // Nothing remembered and nothing failing: the common case, no lookup.
        (Some(secs), Some(m)) if raw.is_alert() || !m.targets.is_empty() => {
            let mut tm = m.targets.remove(key).unwrap_or_default();
            let settled = debounce(&mut tm.whole, raw, secs, now);
            if tm.whole.is_some() || !tm.slots.is_empty() {
                m.targets.insert(key.into(), tm);
            }
            settled
        }
        _ => (raw, None),
    }
}

/// The slots of an `expand_by_label` target, `for:` applied per slot, and its verdict.
fn settle_slots(
    check: &BoundCheck,
    expand: &Expand,
    slots: Slots,
    key: &str,
    mut memory: Option<&mut CheckMemory>,
    now: SystemTime,
    unknown: Severity,
) -> (Vec<SlotResult>, Outcome, Option<f64>, Option<Pending>) {
    let tm = memory.as_mut().and_then(|m| m.targets.remove(key));
    let (out, tm) = expand_slots(check, expand, slots, tm.unwrap_or_default(), now);
    if let Some(m) = memory
        && (tm.whole.is_some() || !tm.slots.is_empty())
    {
        m.targets.insert(key.into(), tm);
    }
    let (outcome, value, pending) = expand_verdict(expand, &out, unknown);
    (out, outcome, value, pending)
}

/// A target as a script sees it: its position in the check's targets and its `ctx`.
struct TargetRef<'a> {
    config: &'a Config,
    plan: &'a Plan,
    scope: Scope,
    target: u32,
    position: usize,
    key: &'a str,
}

impl<'a> TargetRef<'a> {
    fn new(
        config: &'a Config,
        plan: &'a Plan,
        check: &BoundCheck,
        target: u32,
        position: usize,
    ) -> TargetRef<'a> {
        TargetRef {
            config,
            plan,
            scope: check.scope,
            target,
            position,
            key: plan.targets.key(&config.topology, check.scope, target),
        }
    }
}

/// A scripted check's state through one evaluation.
struct ScriptRun<'a> {
    scripts: &'a CheckScripts,
    runner: Runner<'a>,
    memory: &'a mut ScriptMemory,
    /// Each target's `ctx`, built when first needed.
    ctxs: Vec<Option<rhai::Dynamic>>,
    /// Per target, its series' results for the aggregate script (empty without one).
    gathered: Vec<Vec<SeriesResult>>,
    errors: usize,
    first_error: Option<Arc<str>>,
    /// The target whose inputs the runner holds; series of one target usually arrive
    /// together, so its `ctx` is copied into the scope once, not per series.
    current: Option<usize>,
}

impl<'a> ScriptRun<'a> {
    fn new(scripts: &'a CheckScripts, memory: &'a mut ScriptMemory, targets: usize) -> Self {
        ScriptRun {
            scripts,
            runner: scripts.runner(),
            memory,
            ctxs: vec![None; targets],
            gathered: match scripts.aggregate {
                Some(_) => vec![Vec::new(); targets],
                None => Vec::new(),
            },
            errors: 0,
            first_error: None,
            current: None,
        }
    }

    fn input(&self, labels: &Labels) -> SeriesInput {
        SeriesInput::new(labels, self.scripts)
    }

    /// Hands the runner a target's `ctx` and `previous` state.
    fn enter(&mut self, at: &TargetRef<'_>) {
        let ctx = self.ctxs[at.position]
            .get_or_insert_with(|| script_ctx(at.config, at.plan, at.scope, at.target));
        let previous = self.memory.previous.get(at.key).copied();
        self.runner.target(ctx, previous);
    }

    fn failed(&mut self, error: String) -> Judged {
        self.errors += 1;
        let error: Arc<str> = Arc::from(error);
        self.first_error.get_or_insert_with(|| error.clone());
        Judged::failed(error)
    }

    /// The series script's verdict, kept for the aggregate script.
    fn series(
        &mut self,
        at: &TargetRef<'_>,
        input: &SeriesInput,
        value: f64,
        state: Severity,
    ) -> Judged {
        if self.current != Some(at.position) {
            self.enter(at);
            self.current = Some(at.position);
        }
        let judged = match self.runner.series(input, value, state) {
            Ok(v) => Judged::said(v, value.is_nan()),
            Err(e) => self.failed(e),
        };
        if let Some(list) = self.gathered.get_mut(at.position) {
            list.push(SeriesResult {
                value,
                labels: input.labels(),
                verdict: Verdict {
                    severity: judged.severity(),
                    message: judged.message.clone(),
                },
            });
        }
        judged
    }

    /// The aggregate script's verdict for a target that got series.
    fn aggregate(&mut self, at: &TargetRef<'_>) -> Option<Judged> {
        if self.gathered.get(at.position).is_none_or(Vec::is_empty) {
            return None;
        }
        self.enter(at);
        let list = &self.gathered[at.position];
        let nan = list.iter().any(|r| r.value.is_nan());
        Some(match self.runner.aggregate(list) {
            Ok(v) => Judged::said(v, nan),
            Err(e) => self.failed(e),
        })
    }

    /// Logs a failing script when its error changes, not at every refresh.
    fn log_errors(&mut self, check: &str) {
        let now_err = self.first_error.as_deref().map(str::to_owned);
        if let Some(e) = &now_err
            && self.memory.logged.as_deref() != Some(e.as_str())
        {
            tracing::warn!(check = %check, targets = self.errors, "script failed, its targets are UNKNOWN: {e}");
        }
        self.memory.logged = now_err;
    }

    /// Keeps a target's state for its `previous` at the next refresh.
    fn remember(&mut self, key: &str, severity: Severity) {
        if severity == Severity::Ok {
            self.memory.previous.remove(key);
        } else {
            self.memory.previous.insert(key.into(), severity);
        }
    }
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
) -> (Outcome, Option<f64>, Option<Pending>) {
    if out.is_empty() {
        return (Outcome::NoData { slots: true }, None, None);
    }
    let crit = out.iter().filter(|s| s.severity == Severity::Crit).count();
    let worst = out.iter().map(|s| s.severity).max().unwrap_or(unknown);
    let severity = if crit > 0 {
        match expand.crit_threshold {
            Some(th) if (crit as u32) < th => Severity::Warn,
            _ => Severity::Crit,
        }
    } else {
        worst
    };
    let pending = out
        .iter()
        .filter_map(|s| s.pending)
        .max_by_key(|p| p.severity);
    (Outcome::Evaluated(severity), Some(crit as f64), pending)
}
