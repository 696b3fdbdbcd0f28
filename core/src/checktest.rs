//! Unit tests for checks (`rackscope test`), in the spirit of promtool's rule tests: a YAML
//! file gives input series in promtool's value notation, evaluation instants, and what the
//! health must be at each: the state of a node, device, rack, room, site or the estate, an
//! alert present or absent, a check's value, reason, script message or pending `for:`.
//!
//! This module is the pure part: the file decoded with the position of every expectation,
//! the series expanded, and the expectations judged against a `Snapshot`. Evaluating the
//! series with a real Prometheus is the binary's (`src/checktest.rs`), so that PromQL is
//! Prometheus's own.

pub mod series;

use std::ops::Range;
use std::path::Path;
use std::sync::Arc;

use crate::diag::{Diagnostics, Pos, Span};
use crate::model::checks::Scope;
use crate::severity::Severity;
use crate::telemetry::{AlertTarget, CheckResult, Snapshot, TargetHealth};
use crate::yaml::{Kind, Node};

pub use series::{Selector, Step};

/// The instant the first input sample is written at. Fixed, so that a test's outcome never
/// depends on the clock; round, so that `at: 2m` reads as the second minute.
pub const START: u64 = 1_700_000_040;

/// The most input samples one test file may hold, all series together.
pub const MAX_SAMPLES: usize = 1_000_000;

/// The most refreshes one test file may ask for (its last instant over its interval).
pub const MAX_REFRESHES: u64 = 10_000;

/// A test file, decoded.
#[derive(Debug, Clone)]
pub struct TestFile {
    pub file: Arc<Path>,
    /// The configuration under test: `config:` relative to the file, else the `app.yaml`
    /// beside it, else the one in its parent directory.
    pub config: Option<(String, Pos)>,
    /// Seconds between two input samples.
    pub interval: u64,
    /// Prometheus's lookback (`--query.lookback-delta`), when the file sets it.
    pub lookback: Option<u64>,
    pub series: Vec<InputSeries>,
    pub evals: Vec<Eval>,
}

#[derive(Debug, Clone)]
pub struct InputSeries {
    pub selector: Selector,
    pub steps: Vec<Step>,
}

/// One evaluation instant and what must hold then.
#[derive(Debug, Clone)]
pub struct Eval {
    /// Seconds after `START`.
    pub at: u64,
    pub at_pos: Pos,
    pub at_text: String,
    pub expect: Vec<Expect>,
}

/// What an expectation is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Node(String),
    Device(String),
    Rack(String),
    Room(String),
    Site(String),
    Estate,
}

impl Target {
    fn describe(&self) -> String {
        match self {
            Target::Node(k) => format!("node `{k}`"),
            Target::Device(k) => format!("device `{k}`"),
            Target::Rack(k) => format!("rack `{k}`"),
            Target::Room(k) => format!("room `{k}`"),
            Target::Site(k) => format!("site `{k}`"),
            Target::Estate => "the estate".into(),
        }
    }
}

/// One expected field, where it is written (for the report and for `--update`).
#[derive(Debug, Clone, PartialEq)]
pub struct Field<T> {
    pub value: T,
    pub pos: Pos,
    /// The bytes of the value in the file, which `--update` replaces.
    pub span: Option<Range<usize>>,
}

/// An expected state: a severity, or `NONE` for a target no check watches.
pub type State = Option<Severity>;

#[derive(Debug, Clone, PartialEq)]
pub struct Expect {
    pub target: Target,
    pub pos: Pos,
    /// The check the fields below are about; `None`: the target itself.
    pub check: Option<String>,
    pub state: Option<Field<State>>,
    pub value: Option<Field<f64>>,
    /// Text the reason (why no sample decided the state) must contain.
    pub reason: Option<Field<String>>,
    /// Text the check script's message must contain.
    pub message: Option<Field<String>>,
    pub pending: Option<Field<bool>>,
    /// Whether the target is in the active alerts.
    pub alert: Option<Field<bool>>,
    /// The checks its alert lists, when it is listed.
    pub alert_checks: Option<Field<Vec<String>>>,
    /// Where its alert says it is: `site/room/aisle/rack/device`.
    pub alert_at: Option<Field<String>>,
}

/// An expectation that did not hold.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    pub pos: Pos,
    pub message: String,
    /// The value's bytes in the file and the YAML text of what was found, for `--update`.
    pub rewrite: Option<(Range<usize>, String)>,
}

fn state_text(s: State) -> &'static str {
    s.map_or("NONE", |s| s.as_str())
}

fn parse_state(s: &str) -> Option<State> {
    match s.trim().to_ascii_uppercase().as_str() {
        "NONE" => Some(None),
        other => other.parse::<Severity>().ok().map(Some),
    }
}

/// Seconds of a `30s` / `5m` / `1h30m` duration (`0` and `0s` are the start).
fn seconds(s: &str) -> Result<u64, String> {
    if s.trim() == "0" {
        return Ok(0);
    }
    crate::duration::Duration::parse(s).map(|d| d.seconds)
}

/// Decodes a test file; every problem is a diagnostic at its position.
pub fn parse(file: &Arc<Path>, src: &str, diags: &mut Diagnostics) -> Option<TestFile> {
    let root = match crate::yaml::parse(src) {
        Ok(n) => n,
        Err(e) => {
            diags.error("syntax", Span::new(file, e.pos), e.message);
            return None;
        }
    };
    let mut d = Decoder { file, src, diags };
    let before = d.diags.errors().count();
    let Kind::Map(_) = &root.kind else {
        d.error(
            &root,
            "a check test file is a mapping with `input_series` and `tests`",
        );
        return None;
    };
    d.known(
        &root,
        &["config", "interval", "lookback", "input_series", "tests"],
        "a test file",
    );
    let config = root
        .get("config")
        .and_then(|n| d.text(n))
        .map(|s| (s, root.get("config").map_or(Pos::FILE, |n| n.pos)));
    let interval = match root.get("interval") {
        Some(n) => d.duration(n).filter(|&s| s > 0).or_else(|| {
            d.error(n, "interval is a positive duration, such as 15s or 1m");
            None
        }),
        None => Some(60),
    };
    let lookback = root.get("lookback").and_then(|n| d.duration(n));
    let mut series: Vec<InputSeries> = Vec::new();
    match root.get("input_series").map(|n| (n, n.seq())) {
        Some((_, Some(items))) => {
            let mut samples = 0;
            for item in items {
                if let Some(s) = d.series(item) {
                    // Each step is a sample backfilled into Prometheus: bounded in all.
                    samples += s.steps.len();
                    if samples > MAX_SAMPLES {
                        d.error(
                            item,
                            format!("the input series hold more than {MAX_SAMPLES} samples in all"),
                        );
                        break;
                    }
                    series.push(s);
                }
            }
        }
        Some((n, None)) => d.error(n, "input_series is a list of {series, values}"),
        None => {}
    }
    let mut evals = Vec::new();
    match root.get("tests").map(|n| (n, n.seq())) {
        Some((_, Some(items))) if !items.is_empty() => {
            for item in items {
                if let Some(e) = d.eval(item) {
                    evals.push(e);
                }
            }
        }
        Some((n, _)) => d.error(n, "tests is a non-empty list of {at, expect}"),
        None => d.error(
            &root,
            "a test file needs `tests:`, the instants and what must hold at each",
        ),
    }
    evals.sort_by_key(|e| e.at);
    // The engine refreshes at every step up to the last instant: bounded, so that a
    // hostile `at: 1y` with `interval: 1s` cannot keep the runner busy for days.
    let step = interval.unwrap_or(60).max(1);
    for e in &evals {
        if e.at / step > MAX_REFRESHES {
            d.diags.error(
                "test-file",
                Span::new(file, e.at_pos),
                format!(
                    "at {} is {} steps of {step} s from the start; a test runs at most {MAX_REFRESHES} (raise `interval`)",
                    e.at_text,
                    e.at / step
                ),
            );
        }
    }
    (d.diags.errors().count() == before).then(|| TestFile {
        file: file.clone(),
        config,
        interval: interval.unwrap_or(60),
        lookback,
        series,
        evals,
    })
}

struct Decoder<'a> {
    file: &'a Arc<Path>,
    src: &'a str,
    diags: &'a mut Diagnostics,
}

impl Decoder<'_> {
    fn error(&mut self, n: &Node, msg: impl Into<String>) {
        self.diags
            .error("test-file", Span::new(self.file, n.pos), msg);
    }

    fn at(&mut self, n: &Node, offset: usize, msg: String) {
        // The error's column inside a one-line scalar; a quoted one starts one later.
        let quote = n.span().is_some_and(|r| {
            r.end > r.start && n.pos.col > 0 && n.as_str().is_some_and(|s| r.len() > s.len())
        });
        let col = n.pos.col + offset as u32 + u32::from(quote);
        self.diags.error(
            "test-file",
            Span::new(self.file, Pos::new(n.pos.line, col)),
            msg,
        );
    }

    fn known(&mut self, n: &Node, keys: &[&str], what: &str) {
        if let Kind::Map(entries) = &n.kind {
            for (k, _) in entries {
                let name = k.as_str().unwrap_or("");
                if !keys.contains(&name) {
                    self.error(
                        k,
                        format!(
                            "`{name}` is not a key of {what}; expected one of {}",
                            keys.join(", ")
                        ),
                    );
                }
            }
        }
    }

    fn text(&mut self, n: &Node) -> Option<String> {
        match &n.kind {
            Kind::Str(s) => Some(s.clone()),
            Kind::Int(i) => Some(i.to_string()),
            Kind::Float(f) => Some(f.to_string()),
            _ => {
                self.error(n, format!("expected a string, found {}", n.describe()));
                None
            }
        }
    }

    fn duration(&mut self, n: &Node) -> Option<u64> {
        let s = self.text(n)?;
        seconds(&s).map_err(|e| self.error(n, e)).ok()
    }

    fn series(&mut self, item: &Node) -> Option<InputSeries> {
        self.known(item, &["series", "values"], "an input series");
        let (Some(s), Some(v)) = (item.get("series"), item.get("values")) else {
            self.error(item, "an input series has `series` and `values`");
            return None;
        };
        let sel = self.text(s)?;
        let vals = self.text(v)?;
        let selector = series::selector(&sel)
            .map_err(|(o, e)| self.at(s, o, e))
            .ok();
        let steps = series::expand(&vals)
            .map_err(|(o, e)| self.at(v, o, e))
            .ok();
        Some(InputSeries {
            selector: selector?,
            steps: steps?,
        })
    }

    fn eval(&mut self, item: &Node) -> Option<Eval> {
        self.known(item, &["at", "expect"], "a test");
        let Some(at_node) = item.get("at") else {
            self.error(
                item,
                "a test needs `at`, the instant after the first sample (0, 90s, 5m)",
            );
            return None;
        };
        let at_text = self.text(at_node)?;
        let at = seconds(&at_text).map_err(|e| self.error(at_node, e)).ok()?;
        let mut expect = Vec::new();
        match item.get("expect").map(|n| (n, n.seq())) {
            Some((_, Some(items))) if !items.is_empty() => {
                for e in items {
                    if let Some(x) = self.expect(e) {
                        expect.push(x);
                    }
                }
            }
            Some((n, _)) => self.error(n, "expect is a non-empty list"),
            None => self.error(item, "a test needs `expect`"),
        }
        Some(Eval {
            at,
            at_pos: at_node.pos,
            at_text,
            expect,
        })
    }

    fn field<T>(n: &Node, value: T) -> Field<T> {
        Field {
            value,
            pos: n.pos,
            span: n.span(),
        }
    }

    fn expect(&mut self, e: &Node) -> Option<Expect> {
        const TARGETS: [&str; 6] = ["node", "device", "rack", "room", "site", "global"];
        self.known(
            e,
            &[
                "node",
                "device",
                "rack",
                "room",
                "site",
                "global",
                "check",
                "state",
                "value",
                "reason",
                "message",
                "pending",
                "alert",
                "alert_checks",
                "alert_at",
            ],
            "an expectation",
        );
        let given: Vec<&str> = TARGETS
            .iter()
            .copied()
            .filter(|t| e.get(t).is_some())
            .collect();
        if given.len() != 1 {
            self.error(
                e,
                format!(
                    "an expectation names one of node, device, rack, room, site or global{}",
                    if given.is_empty() {
                        String::new()
                    } else {
                        format!("; this one names {}", given.join(", "))
                    }
                ),
            );
            return None;
        }
        let which = given[0];
        let key_node = e.get(which)?;
        let mut state = None;
        let target = if which == "global" {
            // `global: CRIT` is the estate's state.
            let s = self.text(key_node)?;
            let Some(st) = parse_state(&s) else {
                self.error(
                    key_node,
                    format!("`{s}` is not OK, WARN, CRIT, UNKNOWN or NONE"),
                );
                return None;
            };
            state = Some(Self::field(key_node, st));
            Target::Estate
        } else {
            let k = self.text(key_node)?;
            match which {
                "node" => Target::Node(k),
                "device" => Target::Device(k),
                "rack" => Target::Rack(k),
                "room" => Target::Room(k),
                _ => Target::Site(k),
            }
        };
        if let Some(n) = e.get("state") {
            let s = self.text(n)?;
            match parse_state(&s) {
                Some(st) => state = Some(Self::field(n, st)),
                None => self.error(n, format!("`{s}` is not OK, WARN, CRIT, UNKNOWN or NONE")),
            }
        }
        let value = match e.get("value") {
            Some(n) => match &n.kind {
                Kind::Int(i) => Some(Self::field(n, *i as f64)),
                Kind::Float(f) => Some(Self::field(n, *f)),
                Kind::Str(s) if s == "NaN" => Some(Self::field(n, f64::NAN)),
                _ => {
                    self.error(n, format!("a value is a number, found {}", n.describe()));
                    None
                }
            },
            None => None,
        };
        let boolean = |d: &mut Self, key: &str| -> Option<Field<bool>> {
            let n = e.get(key)?;
            match n.kind {
                Kind::Bool(b) => Some(Self::field(n, b)),
                _ => {
                    d.error(n, format!("`{key}` is true or false"));
                    None
                }
            }
        };
        let pending = boolean(self, "pending");
        let alert = boolean(self, "alert");
        let text_field = |d: &mut Self, key: &str| -> Option<Field<String>> {
            let n = e.get(key)?;
            d.text(n).map(|s| Self::field(n, s))
        };
        let reason = text_field(self, "reason");
        let alert_at = text_field(self, "alert_at");
        let message = text_field(self, "message");
        let check = e.get("check").and_then(|n| self.text(n));
        let alert_checks = match e.get("alert_checks") {
            Some(n) => match n.seq() {
                Some(items) => {
                    let ids: Vec<String> = items.iter().filter_map(|i| self.text(i)).collect();
                    // The parser's span of a flow list is its `[`: `--update` rewrites up
                    // to the matching `]`; a block list is not rewritten.
                    let span = n.span().and_then(|r| {
                        let rest = self.src.get(r.start..)?;
                        rest.starts_with('[')
                            .then(|| rest.find(']'))
                            .flatten()
                            .map(|end| r.start..r.start + end + 1)
                    });
                    Some(Field {
                        value: ids,
                        pos: n.pos,
                        span,
                    })
                }
                None => {
                    self.error(n, "alert_checks is a list of check ids");
                    None
                }
            },
            None => None,
        };
        let per_check = value.is_some() || reason.is_some() || message.is_some();
        if per_check && check.is_none() {
            self.error(
                e,
                "value, reason and message are a check's: name it with `check:`",
            );
        }
        if check.is_some() && (alert.is_some() || alert_checks.is_some() || alert_at.is_some()) {
            self.error(
                e,
                "alert, alert_checks and alert_at are the target's, not a check's: leave `check:` out",
            );
        }
        if matches!(target, Target::Estate)
            && (check.is_some() || alert.is_some() || pending.is_some())
        {
            self.error(e, "`global` takes only the estate's state");
        }
        if state.is_none()
            && value.is_none()
            && reason.is_none()
            && message.is_none()
            && pending.is_none()
            && alert.is_none()
            && alert_checks.is_none()
            && alert_at.is_none()
        {
            self.error(e, "an expectation says what must hold: state, value, reason, message, pending, alert, alert_checks or alert_at");
        }
        Some(Expect {
            target,
            pos: key_node.pos,
            check,
            state,
            value,
            reason,
            message,
            pending,
            alert,
            alert_checks,
            alert_at,
        })
    }
}

/// The health of an expectation's target, or why it cannot be found.
enum Found<'s> {
    Target(&'s TargetHealth, Scope, u32),
    Level(State),
}

fn find<'s>(snap: &'s Snapshot, t: &Target) -> Result<Found<'s>, String> {
    let topo = &snap.config.topology;
    let h = &snap.health;
    let one = |what: &str, key: &str, all: Vec<u32>| -> Result<u32, String> {
        match all.as_slice() {
            [one] => Ok(*one),
            [] => Err(format!("there is no {what} `{key}` in the configuration")),
            _ => Err(format!(
                "{what} id `{key}` names {} {what}s; use its qualified path",
                all.len()
            )),
        }
    };
    Ok(match t {
        Target::Node(k) => {
            let n = one(
                "node",
                k,
                snap.plan.targets.lookup(Scope::Node, k).collect(),
            )?;
            Found::Target(&h.nodes[n as usize], Scope::Node, n)
        }
        Target::Device(k) => {
            let d = one(
                "device",
                k,
                topo.find_device(k).all().iter().map(|d| d.get()).collect(),
            )?;
            Found::Target(&h.devices[d as usize], Scope::Chassis, d)
        }
        Target::Rack(k) => {
            let r = one(
                "rack",
                k,
                topo.find_rack(k).all().iter().map(|r| r.get()).collect(),
            )?;
            Found::Target(&h.racks[r as usize], Scope::Rack, r)
        }
        Target::Room(k) => {
            let r = one(
                "room",
                k,
                topo.find_room(k).all().iter().map(|r| r.get()).collect(),
            )?;
            Found::Level(h.rooms.get(r as usize).copied().flatten())
        }
        Target::Site(k) => {
            let s = one(
                "site",
                k,
                topo.find_site(k).all().iter().map(|s| s.get()).collect(),
            )?;
            Found::Level(h.sites.get(s as usize).copied().flatten())
        }
        Target::Estate => Found::Level(h.global),
    })
}

/// An active alert on a target: the ids of the checks it lists, and where it says it is.
struct AlertSeen {
    checks: Vec<String>,
    at: String,
}

/// The active alert on this target, `None` when it has none.
fn alert_of(snap: &Snapshot, scope: Scope, t: u32) -> Option<AlertSeen> {
    let mine = |a: &AlertTarget| match (scope, a) {
        (Scope::Node, AlertTarget::Node(n)) => *n == t,
        (Scope::Rack, AlertTarget::Rack(r)) => r.get() == t,
        // A device's alerts are those of its node targets (instances, or itself).
        (Scope::Chassis, AlertTarget::Node(n)) => {
            snap.plan
                .targets
                .node_device(&snap.config.topology, *n)
                .get()
                == t
        }
        _ => false,
    };
    let first = snap.health.alerts.iter().find(|a| mine(&a.target))?;
    let mut ids: Vec<String> = snap
        .health
        .alerts
        .iter()
        .filter(|a| mine(&a.target))
        .flat_map(|a| {
            a.checks
                .iter()
                .map(|c| snap.plan.checks[c.check as usize].id.to_string())
        })
        .collect();
    ids.sort();
    ids.dedup();
    let (rack, device, _) = snap.locate(first.target);
    Some(AlertSeen {
        checks: ids,
        at: snap.config.topology.path(rack, device).join("/"),
    })
}

fn yaml_list(ids: &[String]) -> String {
    format!("[{}]", ids.join(", "))
}

fn value_text(v: Option<f64>) -> String {
    match v {
        None => "no value".into(),
        Some(v) if v.is_nan() => "NaN".into(),
        Some(v) => format!("{v}"),
    }
}

fn same(a: f64, b: f64) -> bool {
    (a.is_nan() && b.is_nan()) || a == b || (a - b).abs() <= 1e-9 * a.abs().max(b.abs())
}

/// Judges one evaluation's expectations against the snapshot taken at its instant.
pub fn judge(eval: &Eval, snap: &Snapshot) -> (usize, Vec<Failure>) {
    let mut passed = 0;
    let mut failures = Vec::new();
    for e in &eval.expect {
        let about = match &e.check {
            Some(c) => format!("at {}, {} check `{c}`", eval.at_text, e.target.describe()),
            None => format!("at {}, {}", eval.at_text, e.target.describe()),
        };
        let found = match find(snap, &e.target) {
            Ok(f) => f,
            Err(why) => {
                failures.push(Failure {
                    pos: e.pos,
                    message: format!("at {}: {why}", eval.at_text),
                    rewrite: None,
                });
                continue;
            }
        };
        let mut mine: Vec<Failure> = Vec::new();
        let mut fail = |pos: Pos,
                        what: &str,
                        expected: String,
                        found: String,
                        rewrite: Option<(Option<Range<usize>>, String)>| {
            mine.push(Failure {
                pos,
                message: format!("{about}: {what} expected {expected}, found {found}"),
                rewrite: rewrite.and_then(|(span, text)| Some((span?, text))),
            });
        };
        match (found, &e.check) {
            (Found::Level(state), _) => {
                if let Some(f) = &e.state
                    && f.value != state
                {
                    let s = state_text(state);
                    fail(
                        f.pos,
                        "state",
                        state_text(f.value).into(),
                        s.into(),
                        Some((f.span.clone(), s.into())),
                    );
                }
            }
            (Found::Target(h, scope, t), None) => {
                if let Some(f) = &e.state
                    && f.value != h.state
                {
                    let s = state_text(h.state);
                    fail(
                        f.pos,
                        "state",
                        state_text(f.value).into(),
                        s.into(),
                        Some((f.span.clone(), s.into())),
                    );
                }
                if let Some(f) = &e.pending
                    && f.value != h.pending
                {
                    fail(
                        f.pos,
                        "pending",
                        f.value.to_string(),
                        h.pending.to_string(),
                        Some((f.span.clone(), h.pending.to_string())),
                    );
                }
                let alert = alert_of(snap, scope, t);
                if let Some(f) = &e.alert
                    && f.value != alert.is_some()
                {
                    let says = |b: bool| if b { "an active alert" } else { "no alert" };
                    fail(
                        f.pos,
                        "alert",
                        says(f.value).into(),
                        says(alert.is_some()).into(),
                        Some((f.span.clone(), alert.is_some().to_string())),
                    );
                }
                if let Some(f) = &e.alert_checks {
                    let mut want = f.value.clone();
                    want.sort();
                    match &alert {
                        Some(a) if a.checks == want => {}
                        Some(a) => fail(
                            f.pos,
                            "alert_checks",
                            yaml_list(&f.value),
                            yaml_list(&a.checks),
                            Some((f.span.clone(), yaml_list(&a.checks))),
                        ),
                        None => fail(
                            f.pos,
                            "alert_checks",
                            yaml_list(&f.value),
                            "no alert".into(),
                            None,
                        ),
                    }
                }
                if let Some(f) = &e.alert_at {
                    match &alert {
                        Some(a) if a.at == f.value => {}
                        Some(a) => fail(
                            f.pos,
                            "alert_at",
                            f.value.clone(),
                            a.at.clone(),
                            Some((f.span.clone(), a.at.clone())),
                        ),
                        None => fail(f.pos, "alert_at", f.value.clone(), "no alert".into(), None),
                    }
                }
            }
            (Found::Target(h, _, _), Some(check)) => {
                match h.checks.iter().find(|c| &*snap.plan.checks[c.check as usize].id == check) {
                    Some(c) => judge_check(e, c, &mut fail),
                    None => mine.push(Failure {
                        pos: e.pos,
                        message: format!("{about}: the check does not run for this target (no template of it lists `{check}`)"),
                        rewrite: None,
                    }),
                }
            }
        }
        if mine.is_empty() {
            passed += 1;
        }
        failures.extend(mine);
    }
    (passed, failures)
}

type Fail<'a> = dyn FnMut(Pos, &str, String, String, Option<(Option<Range<usize>>, String)>) + 'a;

fn judge_check(e: &Expect, c: &CheckResult, fail: &mut Fail<'_>) {
    if let Some(f) = &e.state
        && f.value != Some(c.severity)
    {
        fail(
            f.pos,
            "state",
            state_text(f.value).into(),
            c.severity.as_str().into(),
            Some((f.span.clone(), c.severity.as_str().into())),
        );
    }
    if let Some(f) = &e.value
        && !c.value.is_some_and(|v| same(v, f.value))
    {
        fail(
            f.pos,
            "value",
            value_text(Some(f.value)),
            value_text(c.value),
            c.value.map(|v| (f.span.clone(), value_text(Some(v)))),
        );
    }
    if let Some(f) = &e.pending
        && f.value != c.pending.is_some()
    {
        let p = c.pending.is_some();
        fail(
            f.pos,
            "pending",
            f.value.to_string(),
            p.to_string(),
            Some((f.span.clone(), p.to_string())),
        );
    }
    for (f, got, what) in [
        (&e.reason, c.reason(), "reason"),
        (&e.message, c.message.as_deref(), "message"),
    ] {
        if let Some(f) = f
            && !got.is_some_and(|g| g.contains(f.value.as_str()))
        {
            let found = got.map_or_else(|| format!("no {what}"), |g| format!("{g:?}"));
            fail(
                f.pos,
                what,
                format!("text containing {:?}", f.value),
                found,
                None,
            );
        }
    }
}

/// `text` with each failure's expected value replaced by what was found, for review.
pub fn rewrite(text: &str, failures: &[Failure]) -> String {
    let mut edits: Vec<&(Range<usize>, String)> =
        failures.iter().filter_map(|f| f.rewrite.as_ref()).collect();
    edits.sort_by_key(|(r, _)| std::cmp::Reverse(r.start));
    edits.dedup_by_key(|(r, _)| r.start);
    let mut out = text.to_owned();
    for (r, new) in edits {
        if r.end <= out.len() && out.is_char_boundary(r.start) && out.is_char_boundary(r.end) {
            out.replace_range(r.clone(), new);
        }
    }
    out
}

/// The check ids a test file names in `check:` or `alert_checks:`, for `rackscope check`'s
/// list of checks without a test.
pub fn checks_named(t: &TestFile) -> impl Iterator<Item = &str> {
    t.evals.iter().flat_map(|e| e.expect.iter()).flat_map(|x| {
        x.check.iter().map(String::as_str).chain(
            x.alert_checks
                .iter()
                .flat_map(|a| a.value.iter().map(String::as_str)),
        )
    })
}

#[cfg(test)]
mod tests;
