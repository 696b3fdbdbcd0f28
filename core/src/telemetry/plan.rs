//! Planning: the few batched queries that cover the targets each check is bound to.
//!
//! A pure function of the configuration, built once per load and shared by every refresh:
//! nothing here touches the network or the clock, so the plan of any configuration can be
//! printed and compared (`rackscope plan`, and the snapshot tests of the examples).
//! Which check runs for which target is `bind`'s, computed when the configuration loads.

use std::collections::{HashMap, HashSet};
use std::ops::Range;
use std::sync::Arc;

pub use crate::bind::Targets;
use crate::bind::scope_ix;
use crate::config::Config;
use crate::model::app::Telemetry;
use crate::model::checks::{Op, Scope};
use crate::placeholder::{self, substitute};
use crate::severity::Severity;
use crate::telemetry::routing::{DEFAULT_SOURCE, Routes, SourceIx};
use crate::topology::{DeviceIx, RackIx, Topology};

/// No target: the filler of `BoundCheck::local`.
const NONE: u32 = u32::MAX;

/// A threshold rule, ready to test.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PlannedRule {
    pub op: Op,
    pub threshold: f64,
    pub severity: Severity,
}

/// `expand_by_label` settings of a check.
#[derive(Debug, Clone, PartialEq)]
pub struct Expand {
    pub label: String,
    /// State of a slot seen by the discovery query but absent from the main one.
    pub absent_state: Severity,
    pub crit_threshold: Option<u32>,
}

/// A check with the targets it runs for and the queries that cover them.
#[derive(Debug, Clone)]
pub struct BoundCheck {
    /// Index of the definition in `Config::checks`.
    pub def: usize,
    pub id: Arc<str>,
    pub scope: Scope,
    /// Target indices in the scope's space, sorted by id.
    pub targets: Vec<u32>,
    /// Scope space → position in `targets`, `u32::MAX` where the check does not run.
    local: Vec<u32>,
    pub chunks: Vec<Chunk>,
    /// The label that names a result's target: `selectors[0]`, else the scope's label.
    pub key_label: String,
    pub rules: Vec<PlannedRule>,
    pub expand: Option<Expand>,
    pub for_seconds: Option<u64>,
    /// How its ids reach Prometheus, and why.
    pub choice: Choice,
}

/// The planner's choice for one check: its ids in a regex per chunk (the default), or one
/// query per source without the id regex, the answer filtered here (`unfiltered`), when
/// the check covers most of its scope's ids and would otherwise need several queries.
/// `rackscope plan` prints the reason.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Choice {
    pub unfiltered: bool,
    pub reason: String,
}

/// The text an id placeholder takes in an unfiltered query: any non-empty value, as an id
/// alternation never matches the empty one. Prometheus evaluates it without a regex.
pub const ANY_ID: &str = ".+";

impl BoundCheck {
    /// Where a target sits in `targets`, if the check runs for it.
    pub fn local(&self, t: u32) -> Option<usize> {
        match self.local.get(t as usize) {
            Some(&l) if l != NONE => Some(l as usize),
            _ => None,
        }
    }

    /// The severity of one sample under this check's rules (`classify`).
    pub fn classify(&self, value: f64) -> Severity {
        classify(&self.rules, value)
    }
}

/// A check's threshold rules, ready to test (a threshold that is not a number never
/// matches, so it is left out).
pub fn planned_rules(def: &crate::model::checks::CheckDef) -> Vec<PlannedRule> {
    def.rules
        .iter()
        .filter_map(|r| {
            r.value.value.as_number().map(|threshold| PlannedRule {
                op: r.value.op,
                threshold,
                severity: r.value.severity,
            })
        })
        .collect()
}

/// The severity of one sample: the first matching rule, OK when none matches. NaN is
/// UNKNOWN: every comparison with it is false, so "no rule matched" would read as OK.
/// ±Inf compares as a number, as in Prometheus's own alert rules (`> 80` holds for +Inf).
/// The one place a rule decides a state: evaluation and the query tester both use it.
pub fn classify(rules: &[PlannedRule], value: f64) -> Severity {
    if value.is_nan() {
        return Severity::Unknown;
    }
    rules
        .iter()
        .find(|r| r.op.test(value, r.threshold))
        .map_or(Severity::Ok, |r| r.severity)
}

/// Consecutive targets of one check served by one query.
#[derive(Debug, Clone, PartialEq)]
pub struct Chunk {
    /// Range of `BoundCheck::targets`.
    pub targets: Range<u32>,
    /// Index into `Plan::queries`.
    pub query: u32,
    pub discovery: Option<u32>,
    /// The positions of the check's targets that its query's source answers for: a series
    /// from one site's Prometheus never names a target of a site asked elsewhere.
    pub span: Range<u32>,
}

/// One query to send; identical queries of different checks are sent once.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedQuery {
    pub expr: String,
    /// The most ids any placeholder of the query carries.
    pub ids: u32,
    /// Where it is sent (`Routes`).
    pub source: SourceIx,
    /// Sent without the id regex (`Choice`): an answer too large says which key turns
    /// that off.
    pub unfiltered: bool,
}

#[derive(Debug, Clone, Default)]
pub struct Plan {
    pub targets: Targets,
    pub checks: Vec<BoundCheck>,
    pub queries: Vec<PlannedQuery>,
    /// Distinct targets that at least one check runs for.
    pub total_ids: usize,
    pub max_ids_per_query: usize,
    /// The most bytes a query's text may have (`planner.max_query_bytes`; 0: no bound):
    /// backends refuse longer ones (VictoriaMetrics at 16 KB by default).
    pub max_query_bytes: usize,
    /// The Slurm view's one query (`slurm::Slurm::query`), sent with the checks' queries
    /// so that Slurm state and health come from the same refresh.
    pub slurm_query: Option<u32>,
    /// The Slurm running-jobs query (`slurm::Slurm::jobs_query`), where configured.
    pub slurm_jobs_query: Option<u32>,
    /// The `slurm_node_status` check (`affects_health`), index into `checks`: bound to
    /// every instance, without queries of its own; evaluation takes its results from the
    /// Slurm answer (`telemetry::workload`).
    pub slurm_check: Option<u32>,
    /// Which source answers for which site.
    pub routes: Routes,
}

impl Plan {
    /// The checks the configuration defines but no template binds: they never run.
    pub fn unbound<'c>(&self, config: &'c Config) -> Vec<&'c str> {
        let bound: HashSet<usize> = self.checks.iter().map(|c| c.def).collect();
        config
            .checks
            .iter()
            .enumerate()
            .filter(|(i, _)| !bound.contains(i))
            .map(|(_, c)| c.def.id.value.as_str())
            .collect()
    }

    /// A stable text rendering, one query per line under its check, for snapshot tests
    /// and `rackscope plan`.
    pub fn describe(&self, config: &Config, full: bool) -> String {
        let show = |e: &str| if full { e.to_owned() } else { elide(e) };
        use std::fmt::Write as _;
        let mut out = String::new();
        let _ = writeln!(
            out,
            "{} checks bound, {} queries, {} ids, at most {} ids and {} bytes per query",
            self.checks.len(),
            self.queries.len(),
            self.total_ids,
            self.max_ids_per_query,
            self.max_query_bytes
        );
        let at = |q: &PlannedQuery| match self.routes.is_single() {
            true => String::new(),
            false => format!(
                " @{}",
                self.routes
                    .names
                    .get(usize::from(q.source))
                    .map_or("?", |n| &**n)
            ),
        };
        if !self.routes.is_single() {
            for (i, name) in self.routes.names.iter().enumerate() {
                let sites: Vec<&str> = self
                    .routes
                    .sites_of(i as SourceIx)
                    .filter_map(|s| config.topology.sites.get(s).map(|s| s.id.as_str()))
                    .collect();
                let _ = writeln!(out, "source {name}: sites {}", sites.join(", "));
            }
        }
        for c in &self.checks {
            let _ = writeln!(
                out,
                "check {} ({}, {} targets, {} chunks)",
                c.id,
                c.scope.as_str(),
                c.targets.len(),
                c.chunks.len()
            );
            if !c.choice.reason.is_empty() {
                let _ = writeln!(out, "  {}", c.choice.reason);
            }
            if self
                .slurm_check
                .is_some_and(|s| std::ptr::eq(&self.checks[s as usize], c))
            {
                let _ = writeln!(out, "  from the slurm query (affects_health)");
            }
            for ch in &c.chunks {
                let q = &self.queries[ch.query as usize];
                let _ = writeln!(
                    out,
                    "  q{}{} [{} ids] {}",
                    ch.query,
                    at(q),
                    q.ids,
                    show(&q.expr)
                );
                if let Some(d) = ch.discovery {
                    let q = &self.queries[d as usize];
                    let _ = writeln!(
                        out,
                        "  discovery q{d}{} [{} ids] {}",
                        at(q),
                        q.ids,
                        show(&q.expr)
                    );
                }
            }
        }
        if let Some(q) = self.slurm_query {
            let _ = writeln!(out, "slurm q{q} {}", self.queries[q as usize].expr);
        }
        if let Some(q) = self.slurm_jobs_query {
            let _ = writeln!(out, "slurm jobs q{q} {}", self.queries[q as usize].expr);
        }
        let unbound = self.unbound(config);
        if !unbound.is_empty() {
            let _ = writeln!(out, "unbound (never run): {}", unbound.join(", "));
        }
        out
    }
}

/// Builds the plan of a configuration.
pub fn plan(config: &Config) -> Plan {
    let bindings = &config.bindings;
    let targets = bindings.targets.clone();
    let max_ids = (config.app.planner.max_ids_per_query as usize).max(1);
    let max_bytes = config.app.planner.max_query_bytes as usize;
    let mut queries = Queries::default();
    let mut checks = Vec::new();
    let mut seen: [HashSet<u32>; 3] = Default::default();
    let slurm_def = config
        .slurm
        .as_ref()
        .filter(|s| s.affects_health)
        .and_then(|_| config.checks.index_of(crate::slurm::CHECK_ID));
    let mut slurm_check = None;
    let routes = Routes::of(config);
    for (check_ix, item) in config.checks.iter().enumerate() {
        let list = bindings.targets_of(check_ix);
        if list.is_empty() {
            continue;
        }
        let def = &item.def;
        seen[scope_ix(def.scope)].extend(list.iter().copied());
        if slurm_def == Some(check_ix) {
            slurm_check = Some(checks.len() as u32);
            checks.push(bound_check(config, &targets, check_ix, list, Vec::new()));
            continue;
        }
        let discovery_expr = def
            .expand_by_label
            .as_ref()
            .and(def.expand_discovery_expr.as_ref())
            .map(|e| e.value.as_str());
        // With several sources, the targets are grouped by source (by id within each), so
        // that a chunk's targets, and so its query, belong to one source.
        let source_of = |t: u32| routes.target(&config.topology, &targets, def.scope, t);
        let by_source: std::borrow::Cow<'_, [u32]> = if routes.is_single() {
            list.into()
        } else {
            let mut v = list.to_vec();
            v.sort_by_key(|&t| source_of(t));
            v.into()
        };
        // Each source's run of targets, chunked with their ids in a regex.
        let mut runs: Vec<(SourceIx, Range<usize>, Vec<RawChunk>)> = Vec::new();
        let mut from = 0;
        while from < by_source.len() {
            let source = source_of(by_source[from]);
            let to = from
                + by_source[from..]
                    .iter()
                    .take_while(|&&t| source_of(t) == source)
                    .count();
            let raw = chunk(
                config,
                &targets,
                def.scope,
                &by_source[from..to],
                &def.expr.value,
                discovery_expr,
                Limits { max_ids, max_bytes },
            );
            runs.push((source, from..to, raw));
            from = to;
        }
        let chunk_count: usize = runs.iter().map(|(_, _, raw)| raw.len()).sum();
        let choice = choose(
            config,
            &targets,
            def,
            discovery_expr,
            list.len(),
            chunk_count,
            runs.len(),
        );
        if choice.unfiltered {
            for (_, range, raw) in &mut runs {
                *raw = vec![unfiltered(
                    config,
                    &def.expr.value,
                    discovery_expr,
                    range.len(),
                )];
            }
        }
        let unfiltered = choice.unfiltered;
        let mut chunks = Vec::new();
        for (source, range, raw) in runs {
            let span = range.start as u32..range.end as u32;
            chunks.extend(raw.into_iter().map(|c| {
                Chunk {
                    targets: c.range.start + span.start..c.range.end + span.start,
                    query: queries.intern(source, c.expr, c.ids, unfiltered),
                    discovery: c
                        .discovery
                        .map(|d| queries.intern(source, d, c.ids, unfiltered)),
                    span: span.clone(),
                }
            }));
        }
        let mut bound = bound_check(config, &targets, check_ix, &by_source, chunks);
        bound.choice = choice;
        checks.push(bound);
    }
    // Slurm's exporter runs beside its controller: the default source answers for it.
    let slurm_query = config
        .slurm
        .as_ref()
        .map(|s| queries.intern(DEFAULT_SOURCE, s.query(), 0, false));
    let slurm_jobs_query = config
        .slurm
        .as_ref()
        .and_then(|s| s.jobs_query())
        .map(|q| queries.intern(DEFAULT_SOURCE, q, 0, false));
    Plan {
        total_ids: seen.iter().map(HashSet::len).sum(),
        targets,
        checks,
        queries: queries.list,
        max_ids_per_query: max_ids,
        max_query_bytes: max_bytes,
        slurm_query,
        slurm_jobs_query,
        slurm_check,
        routes,
    }
}

/// The queries of a plan, each expression once.
#[derive(Default)]
struct Queries {
    list: Vec<PlannedQuery>,
    index: HashMap<(SourceIx, String), u32>,
}

impl Queries {
    /// The same text sent to two sources is two queries: each answers for its own sites.
    fn intern(&mut self, source: SourceIx, expr: String, ids: u32, unfiltered: bool) -> u32 {
        let key = (source, expr);
        if let Some(&ix) = self.index.get(&key) {
            return ix;
        }
        let ix = self.list.len() as u32;
        self.list.push(PlannedQuery {
            expr: key.1.clone(),
            ids,
            source,
            unfiltered,
        });
        self.index.insert(key, ix);
        ix
    }
}

/// A check of the library (`check_ix`) bound to its targets, its rules ready to test.
fn bound_check(
    config: &Config,
    targets: &Targets,
    check_ix: usize,
    list: &[u32],
    chunks: Vec<Chunk>,
) -> BoundCheck {
    let def = &config.checks.items[check_ix].def;
    let scope = def.scope;
    let mut local = vec![NONE; targets.len(scope)];
    for (position, &target) in list.iter().enumerate() {
        local[target as usize] = position as u32;
    }
    let key_label = match def.selectors.first() {
        Some(s) => s.clone(),
        None => scope_label(&config.app.telemetry, scope).to_owned(),
    };
    let rules = planned_rules(def);
    let expand = def.expand_by_label.as_ref().map(|label| Expand {
        label: label.clone(),
        absent_state: def
            .expand_absent_state
            .unwrap_or(config.app.planner.unknown_state),
        crit_threshold: def.expand_crit_threshold,
    });
    BoundCheck {
        def: check_ix,
        id: Arc::from(def.id.value.as_str()),
        scope,
        targets: list.to_vec(),
        local,
        chunks,
        key_label,
        rules,
        expand,
        for_seconds: def.for_duration.as_ref().map(|d| d.value.seconds),
        choice: Choice::default(),
    }
}

/// The cost model: whether a check's queries go without the id regex. Only when it is
/// sure to pay: the expression names its targets through its own scope's placeholder only
/// (an aggregate over related ids would then take in what the topology does not hold), the
/// check covers at least `planner.unfiltered_coverage_percent` of the scope's ids, the ids
/// would take several queries per source, and an answer holding every id of the scope stays
/// within `telemetry.max_series_per_answer` (else the one query would fail where chunks
/// answer).
fn choose(
    config: &Config,
    targets: &Targets,
    def: &crate::model::checks::CheckDef,
    discovery: Option<&str>,
    covered: usize,
    chunks: usize,
    runs: usize,
) -> Choice {
    let filtered = |reason: String| Choice {
        unfiltered: false,
        reason,
    };
    let uses = |p: &str| {
        placeholder::uses(&def.expr.value, p) || discovery.is_some_and(|d| placeholder::uses(d, p))
    };
    let own = placeholder::of_scope(def.scope);
    let others: Vec<&str> = placeholder::ID_PLACEHOLDERS
        .into_iter()
        .filter(|p| *p != own && uses(p))
        .collect();
    if chunks <= runs {
        return filtered(format!("ids in a regex: {chunks} query(s) hold them all"));
    }
    if !uses(own) {
        return filtered(format!("ids in a regex: the expression does not use {own}"));
    }
    if !others.is_empty() {
        return filtered(format!(
            "ids in a regex: the expression also filters on {}",
            others.join(", ")
        ));
    }
    let percent = config.app.planner.unfiltered_coverage_percent;
    if percent == 0 {
        return filtered("ids in a regex: planner.unfiltered_coverage_percent is 0".into());
    }
    let total = targets.len(def.scope).max(1);
    let share = covered * 100 / total;
    if share < percent as usize {
        return filtered(format!(
            "ids in a regex: covers {covered} of {total} {} ids ({share} %, under {percent} %)",
            def.scope.as_str()
        ));
    }
    let max_series = config.app.telemetry.max_series_per_answer;
    if total as u64 > max_series {
        return filtered(format!(
            "ids in a regex: an answer for all {total} {} ids would pass telemetry.max_series_per_answer ({max_series})",
            def.scope.as_str()
        ));
    }
    Choice {
        unfiltered: true,
        reason: format!(
            "no id regex: covers {covered} of {total} {} ids ({share} %), one query per source instead of {chunks}, filtered here",
            def.scope.as_str()
        ),
    }
}

/// The one chunk of a source's `len` targets sent without the id regex.
fn unfiltered(config: &Config, expr: &str, discovery: Option<&str>, len: usize) -> RawChunk {
    let exprs = ChunkExprs {
        expr,
        discovery,
        jobs: format!("^(?:{})$", config.app.telemetry.job_regex),
    };
    let any = || ANY_ID.to_owned();
    let (expr, discovery) = exprs.substituted(&[any(), any(), any()]);
    RawChunk {
        range: 0..len as u32,
        expr,
        discovery,
        ids: 0,
    }
}

/// The label that names a target of a scope in query results.
pub fn scope_label(t: &Telemetry, scope: Scope) -> &str {
    match scope {
        Scope::Node => &t.identity_label,
        Scope::Chassis => &t.chassis_label,
        Scope::Rack => &t.rack_label,
    }
}

struct RawChunk {
    range: Range<u32>,
    expr: String,
    discovery: Option<String>,
    ids: u32,
}

const INSTANCES: usize = 0;
const CHASSIS: usize = 1;
const RACKS: usize = 2;

/// The ids each id placeholder takes for one target: its own id for its scope's
/// placeholder, and the ids of what it contains or sits in for the others (a node-scope
/// check that also filters on `$racks` gets the racks of its nodes, not `.*`).
fn related<'t>(
    topo: &'t Topology,
    targets: &Targets,
    scope: Scope,
    t: u32,
    which: usize,
    out: &mut Vec<&'t str>,
) {
    let device_nodes = |d: DeviceIx, out: &mut Vec<&'t str>| {
        for n in targets.device_nodes(topo, d) {
            out.push(targets.key(topo, Scope::Node, n));
        }
    };
    // A chassis target is a device index, a rack target a rack index.
    let (device, rack) = (DeviceIx::new(t), RackIx::new(t));
    match (scope, which) {
        (Scope::Node, INSTANCES) => out.push(targets.key(topo, Scope::Node, t)),
        (Scope::Node, CHASSIS) => out.push(&topo.devices[targets.node_device(topo, t)].id),
        (Scope::Node, _) => {
            let d = targets.node_device(topo, t);
            out.push(&topo.racks[topo.devices[d].rack].id);
        }
        (Scope::Chassis, INSTANCES) => device_nodes(device, out),
        (Scope::Chassis, CHASSIS) => out.push(&topo.devices[device].id),
        (Scope::Chassis, _) => out.push(&topo.racks[topo.devices[device].rack].id),
        (Scope::Rack, INSTANCES) => {
            for &d in &topo.racks[rack].devices {
                device_nodes(d, out);
            }
        }
        (Scope::Rack, CHASSIS) => {
            for &d in &topo.racks[rack].devices {
                out.push(&topo.devices[d].id);
            }
        }
        (Scope::Rack, _) => out.push(&topo.racks[rack].id),
    }
}

/// Splits a check's sorted targets into chunks so that no placeholder of a query carries
/// more than `max_ids` ids, never splitting the targets that share one id, and substitutes
/// the placeholders of each chunk.
fn chunk(
    config: &Config,
    targets: &Targets,
    scope: Scope,
    list: &[u32],
    expr: &str,
    discovery: Option<&str>,
    limits: Limits,
) -> Vec<RawChunk> {
    let max_ids = limits.max_ids;
    let topo = &config.topology;
    let uses =
        |p: &str| placeholder::uses(expr, p) || discovery.is_some_and(|d| placeholder::uses(d, p));
    let used: Vec<usize> = [
        ("$instances", INSTANCES),
        ("$chassis", CHASSIS),
        ("$racks", RACKS),
    ]
    .into_iter()
    .filter(|(p, _)| uses(p))
    .map(|(_, w)| w)
    .collect();
    let exprs = ChunkExprs {
        expr,
        discovery,
        jobs: format!("^(?:{})$", config.app.telemetry.job_regex),
    };
    let occurrences = used
        .iter()
        .map(|&w| (w, exprs.occurrences(w)))
        .collect::<Vec<_>>();
    let base = exprs.render_len(&Default::default());
    let mut out = Vec::new();
    let mut filling = Filling {
        rendered: base,
        ..Filling::default()
    };
    let mut start = 0usize;
    // The ids per placeholder of the group being added, buffers reused across groups.
    let mut group_ids: [Vec<&str>; 3] = Default::default();
    let mut first = 0usize;
    while first < list.len() {
        // The group of targets that share one id.
        let key = targets.key(topo, scope, list[first]);
        let end = first
            + list[first..]
                .iter()
                .take_while(|&&t| targets.key(topo, scope, t) == key)
                .count();
        for &which in &used {
            group_ids[which].clear();
            for &t in &list[first..end] {
                related(topo, targets, scope, t, which, &mut group_ids[which]);
            }
        }
        if first > start && filling.would_exceed(&used, &group_ids, max_ids) {
            out.push(filling.flush(start..first, &exprs));
            filling.rendered = base;
            start = first;
        }
        // The byte bound: an upper bound of the growth (an id adds at most its escaped
        // text and a group's punctuation to the folded alternation) decides whether the
        // chunk needs rendering; only a chunk near the bound is rendered, and a group that
        // would push it over starts the next chunk.
        let growth: usize = occurrences
            .iter()
            .map(|&(w, n)| n * filling.fresh_bytes(w, &group_ids[w]))
            .sum();
        let mark = filling.mark();
        filling.add(&used, &group_ids);
        filling.pending += growth;
        if limits.max_bytes > 0
            && first > start
            && filling.rendered + filling.pending > limits.max_bytes
        {
            let len = exprs.render_len(&filling.order);
            if len > limits.max_bytes {
                filling.undo(mark);
                out.push(filling.flush(start..first, &exprs));
                start = first;
                filling.add(&used, &group_ids);
                filling.rendered = exprs.render_len(&filling.order);
            } else {
                filling.rendered = len;
            }
            filling.pending = 0;
        }
        first = end;
    }
    if start < list.len() {
        out.push(filling.flush(start..list.len(), &exprs));
    }
    out
}

/// The bounds a chunk keeps to.
#[derive(Debug, Clone, Copy)]
struct Limits {
    max_ids: usize,
    /// 0: no bound.
    max_bytes: usize,
}

/// What each chunk of one check substitutes into.
struct ChunkExprs<'e> {
    expr: &'e str,
    discovery: Option<&'e str>,
    /// `$jobs`, the same for every chunk.
    jobs: String,
}

impl ChunkExprs<'_> {
    /// The expression and discovery substituted with `regexes` per placeholder.
    fn substituted(&self, regexes: &[String; 3]) -> (String, Option<String>) {
        let sub = |e: &str| {
            substitute(e, |p| match p {
                "$instances" => Some(regexes[INSTANCES].as_str()),
                "$chassis" => Some(regexes[CHASSIS].as_str()),
                "$racks" => Some(regexes[RACKS].as_str()),
                "$jobs" => Some(self.jobs.as_str()),
                _ => None,
            })
        };
        (sub(self.expr), self.discovery.map(sub))
    }

    /// The bytes of the queries with `ids` per placeholder: what the bound is about (the
    /// discovery query is sent as well, and is bounded alike).
    fn render_len(&self, ids: &[Vec<&str>; 3]) -> usize {
        let regexes = ids.each_ref().map(|ids| alternation(ids));
        let (e, d) = self.substituted(&regexes);
        e.len().max(d.map_or(0, |d| d.len()))
    }

    /// How many times placeholder `which` appears in the longer query: its ids' bytes
    /// count that many times.
    fn occurrences(&self, which: usize) -> usize {
        const PROBE: usize = 64;
        let mut regexes: [String; 3] = Default::default();
        let (e0, d0) = self.substituted(&regexes);
        regexes[which] = "x".repeat(PROBE);
        let (e1, d1) = self.substituted(&regexes);
        let n = |a: usize, b: usize| b.saturating_sub(a) / PROBE;
        n(e0.len(), e1.len()).max(n(d0.map_or(0, |d| d.len()), d1.map_or(0, |d| d.len())))
    }
}

/// The ids each placeholder carries in the chunk being filled, in first-seen order.
#[derive(Default)]
struct Filling<'t> {
    sets: [HashSet<&'t str>; 3],
    order: [Vec<&'t str>; 3],
    /// The queries' bytes when last rendered, and an upper bound of what was added since.
    rendered: usize,
    pending: usize,
}

impl<'t> Filling<'t> {
    /// An upper bound of the bytes `ids` add to placeholder `which`'s alternation: each id
    /// escaped (at most twice its length, and twice again in the PromQL string) and a
    /// group's punctuation.
    fn fresh_bytes(&self, which: usize, ids: &[&'t str]) -> usize {
        ids.iter()
            .filter(|id| !self.sets[which].contains(*id))
            .map(|id| id.len() * 4 + 8)
            .sum()
    }

    /// Where each placeholder's list stands, for `undo`.
    fn mark(&self) -> [usize; 3] {
        self.order.each_ref().map(Vec::len)
    }

    /// Takes back the ids added since `mark`.
    fn undo(&mut self, mark: [usize; 3]) {
        for ((ids, set), at) in self.order.iter_mut().zip(self.sets.iter_mut()).zip(mark) {
            for id in ids.drain(at..) {
                set.remove(id);
            }
        }
    }

    /// Whether a group's ids would push a placeholder over the limit.
    fn would_exceed(&self, used: &[usize], group: &[Vec<&'t str>; 3], max_ids: usize) -> bool {
        used.iter().any(|&which| {
            let set = &self.sets[which];
            let fresh = match group[which].as_slice() {
                [one] => usize::from(!set.contains(one)),
                many => many
                    .iter()
                    .filter(|k| !set.contains(*k))
                    .collect::<HashSet<_>>()
                    .len(),
            };
            set.len() + fresh > max_ids
        })
    }

    fn add(&mut self, used: &[usize], group: &[Vec<&'t str>; 3]) {
        for &which in used {
            for &id in &group[which] {
                if self.sets[which].insert(id) {
                    self.order[which].push(id);
                }
            }
        }
    }

    /// The chunk of the targets `range`, its placeholders substituted; empties the filling.
    fn flush(&mut self, range: Range<usize>, exprs: &ChunkExprs<'_>) -> RawChunk {
        for ids in self.order.iter_mut() {
            ids.sort_unstable();
        }
        let regexes = self.order.each_ref().map(|ids| alternation(ids));
        let (expr, discovery) = exprs.substituted(&regexes);
        let chunk = RawChunk {
            range: range.start as u32..range.end as u32,
            expr,
            discovery,
            ids: self.order.iter().map(Vec::len).max().unwrap_or(0) as u32,
        };
        for (ids, set) in self.order.iter_mut().zip(self.sets.iter_mut()) {
            ids.clear();
            set.clear();
        }
        self.pending = 0;
        chunk
    }
}

pub use super::alternation::alternation;

/// Shortens every alternation of more than 6 branches to its first three, a count and its
/// last two, so that plans of large topologies stay readable; a folded alternation
/// (`alternation`) usually has few branches and shows whole.
pub fn elide(expr: &str) -> String {
    let mut out = String::with_capacity(expr.len().min(512));
    let mut rest = expr;
    while let Some(start) = rest.find("^(?:") {
        out.push_str(&rest[..start + 4]);
        rest = &rest[start + 4..];
        let end = rest.find(")$").unwrap_or(rest.len());
        let branches = top_level_branches(&rest[..end]);
        if branches.len() > 6 {
            out.push_str(&branches[..3].join("|"));
            out.push_str(&format!("|…{} more…|", branches.len() - 5));
            out.push_str(&branches[branches.len() - 2..].join("|"));
        } else {
            out.push_str(&rest[..end]);
        }
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

/// The branches of a regex body split at its top-level `|`: not inside a group or a class,
/// not escaped.
fn top_level_branches(body: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut depth, mut in_class, mut escaped, mut from) = (0usize, false, false, 0);
    for (i, c) in body.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '[' if !in_class => in_class = true,
            ']' if in_class => in_class = false,
            '(' if !in_class => depth += 1,
            ')' if !in_class => depth = depth.saturating_sub(1),
            '|' if !in_class && depth == 0 => {
                out.push(&body[from..i]);
                from = i + 1;
            }
            _ => {}
        }
    }
    out.push(&body[from..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alternations_escape_metacharacters() {
        assert_eq!(alternation(&["node.1", "a+b"]), r"^(?:a\+b|node\.1)$");
    }

    #[test]
    fn dashes_stay_and_long_alternations_elide() {
        assert_eq!(alternation(&["rack-01"]), "^(?:rack-01)$");
        let ids: Vec<String> = (1..=9).map(|i| format!("n{i}")).collect();
        let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
        let q = format!("up{{instance=~\"{}\"}}", alternation(&ids));
        // Folded: one branch, shown whole.
        assert_eq!(elide(&q), r#"up{instance=~"^(?:n[1-9])$"}"#);
        let ids = ["a1", "b(2", "c|3", "d[4]", "e5", "f6x", "g7y", "h8z"];
        let q = format!("up{{instance=~\"{}\"}}", alternation(&ids));
        assert_eq!(
            elide(&q),
            r#"up{instance=~"^(?:a1|b\(2|c\|3|…3 more…|g7y|h8z)$"}"#
        );
    }
}
