//! Rhai scripted checks: the one sandboxed engine, compilation when the configuration loads,
//! and evaluation per series and per target.
//!
//! A script can only compute: no imports, no `eval`, no file or network access, and every
//! resource it could exhaust (operations, call depth, expression depth, string, array and
//! map sizes, variables, functions) is capped. A script that hits a cap or fails gives its
//! target UNKNOWN with the reason; it never hangs a refresh or takes the server down.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, LazyLock};

use rhai::packages::Package as _;
use rhai::{Dynamic, Engine, ImmutableString, Map, OptimizationLevel, Scope};

use crate::labels::Labels;
use crate::severity::Severity;

/// Operations one evaluation may run: thousands of times what a real check needs, and
/// still about a millisecond of CPU at worst.
pub const MAX_OPERATIONS: u64 = 100_000;
pub const MAX_CALL_LEVELS: usize = 16;
pub const MAX_EXPR_DEPTH: usize = 32;
pub const MAX_FUNCTION_EXPR_DEPTH: usize = 16;
pub const MAX_STRING_SIZE: usize = 4096;
pub const MAX_ARRAY_SIZE: usize = 1024;
pub const MAX_MAP_SIZE: usize = 256;
pub const MAX_VARIABLES: usize = 64;
pub const MAX_FUNCTIONS: usize = 32;

static ENGINE: LazyLock<Engine> = LazyLock::new(build_engine);

/// The only place an engine is built, so no script ever runs without the limits.
fn build_engine() -> Engine {
    let mut e = Engine::new_raw();
    // The standard packages without anything that reaches outside: Rhai has no file or
    // network functions, and modules are refused below.
    e.register_global_module(rhai::packages::StandardPackage::new().as_shared_module());
    e.set_max_operations(MAX_OPERATIONS)
        .set_max_call_levels(MAX_CALL_LEVELS)
        .set_max_expr_depths(MAX_EXPR_DEPTH, MAX_FUNCTION_EXPR_DEPTH)
        .set_max_string_size(MAX_STRING_SIZE)
        .set_max_array_size(MAX_ARRAY_SIZE)
        .set_max_map_size(MAX_MAP_SIZE)
        .set_max_variables(MAX_VARIABLES)
        .set_max_functions(MAX_FUNCTIONS)
        .set_max_modules(0)
        .set_strict_variables(true)
        .set_fail_on_invalid_map_property(false)
        .set_optimization_level(OptimizationLevel::Simple);
    e.set_module_resolver(rhai::module_resolvers::DummyModuleResolver::new());
    // The standard package's `sleep` blocks outside the operation limit (and panics on
    // huge values); a check has no reason to wait. Overriding the function, not the
    // symbol, also catches `Fn("sleep").call(…)`.
    e.register_fn(
        "sleep",
        |_: rhai::INT| -> Result<(), Box<rhai::EvalAltResult>> {
            Err("`sleep` is not available to checks".into())
        },
    );
    e.register_fn(
        "sleep",
        |_: rhai::FLOAT| -> Result<(), Box<rhai::EvalAltResult>> {
            Err("`sleep` is not available to checks".into())
        },
    );
    // Without the clock a script is a pure function of its inputs, which is what lets a
    // refresh reuse a verdict (`Runner`'s memo) and replays give the same states.
    e.register_fn("timestamp", || -> Result<(), Box<rhai::EvalAltResult>> {
        Err("`timestamp` is not available to checks: a state must depend on the data only".into())
    });
    // Refused when the script compiles, with the position, rather than when it runs.
    e.disable_symbol("eval").disable_symbol("import");
    e.on_print(|s| tracing::info!(target: "rackscope::script", "{s}"));
    e.on_debug(|s, src, pos| {
        tracing::debug!(target: "rackscope::script", source = src.unwrap_or(""), %pos, "{s}")
    });
    e
}

/// Which of the two entry points a script is: what it sees differs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Runs per series: `value`, `labels`, `state`, `ctx`, `params`, `previous`.
    Series,
    /// Runs per target: `results`, `ctx`, `params`, `previous`.
    Aggregate,
}

impl Kind {
    fn inputs(self) -> &'static [&'static str] {
        match self {
            Kind::Series => &["value", "labels", "state", "ctx", "params", "previous"],
            Kind::Aggregate => &["results", "ctx", "params", "previous"],
        }
    }
}

const SEVERITIES: [&str; 4] = ["OK", "WARN", "CRIT", "UNKNOWN"];

/// A compile error, at a 1-based line and column of the script text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct CompileError {
    pub message: String,
    pub line: u32,
    pub col: u32,
}

/// A compiled script and what it reads, so unused inputs are not built per series.
#[derive(Debug, Clone)]
pub struct Compiled {
    ast: rhai::AST,
    kind: Kind,
    labels: LabelUse,
    uses_ctx: bool,
}

/// Which labels a script reads, so a series' map holds only those.
#[derive(Debug, Clone, PartialEq)]
enum LabelUse {
    None,
    /// Only `labels.<name>` reads of these names.
    Some(Vec<String>),
    All,
}

/// Compiles a script of `kind`; names it does not know are compile errors.
pub fn compile(kind: Kind, src: &str) -> Result<Compiled, CompileError> {
    let mut scope = Scope::new();
    // Plain variables, not constants: the optimiser would fold constants' placeholder
    // values into the script.
    for name in kind.inputs().iter().chain(SEVERITIES.iter()) {
        scope.push_dynamic(*name, Dynamic::UNIT);
    }
    let ast = ENGINE.compile_with_scope(&scope, src).map_err(|e| {
        let pos = e.position();
        CompileError {
            message: e.err_type().to_string(),
            line: pos.line().unwrap_or(0) as u32,
            col: pos.position().unwrap_or(0) as u32,
        }
    })?;
    Ok(Compiled {
        ast,
        kind,
        labels: label_use(src),
        uses_ctx: !occurrences(src, "ctx").is_empty(),
    })
}

/// Byte offsets where `word` appears as a whole identifier (a false hit only costs
/// building an input the script does not read).
fn occurrences(src: &str, word: &str) -> Vec<usize> {
    let ident = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
    src.match_indices(word)
        .map(|(i, _)| i)
        .filter(|&i| {
            !ident(src[..i].chars().next_back()) && !ident(src[i + word.len()..].chars().next())
        })
        .collect()
}

/// `labels.name` reads only (no method call, no other use of `labels`) give the names;
/// anything else needs every label.
fn label_use(src: &str) -> LabelUse {
    let at = occurrences(src, "labels");
    if at.is_empty() {
        return LabelUse::None;
    }
    let mut names = Vec::new();
    for i in at {
        let rest = &src[i + "labels".len()..];
        let Some(after_dot) = rest.strip_prefix('.') else {
            return LabelUse::All;
        };
        let name: String = after_dot
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        let next = after_dot[name.len()..].trim_start().chars().next();
        if name.is_empty() || next == Some('(') {
            return LabelUse::All;
        }
        if !names.contains(&name) {
            names.push(name);
        }
    }
    LabelUse::Some(names)
}

/// What a script decided for a series or a target.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    pub severity: Severity,
    pub message: Option<Arc<str>>,
}

/// The scripts of one check, compiled, and its `params` ready to hand them.
#[derive(Debug, Clone)]
pub struct CheckScripts {
    pub series: Option<Compiled>,
    pub aggregate: Option<Compiled>,
    params: Dynamic,
    /// Either script reads `ctx`; otherwise the unit value stands in for it.
    uses_ctx: bool,
}

impl CheckScripts {
    pub fn new(
        series: Option<Compiled>,
        aggregate: Option<Compiled>,
        params: &BTreeMap<String, serde_json::Value>,
    ) -> CheckScripts {
        let map: Map = params
            .iter()
            .map(|(k, v)| (k.as_str().into(), json_to_dynamic(v)))
            .collect();
        let uses_ctx = [&series, &aggregate]
            .into_iter()
            .flatten()
            .any(|s| s.uses_ctx);
        CheckScripts {
            series,
            aggregate,
            uses_ctx,
            params: Dynamic::from_map(map),
        }
    }

    /// A runner for one check's evaluation: the scope is built once and rewound per call.
    pub fn runner(&self) -> Runner<'_> {
        let mut scope = Scope::new();
        for s in SEVERITIES {
            scope.push_constant(s, s);
        }
        scope.push_constant_dynamic("params", self.params.clone());
        Runner {
            scripts: self,
            base: scope.len(),
            target_base: None,
            previous: Severity::Ok,
            memo: HashMap::new(),
            failures: 0,
            scope,
        }
    }
}

/// Evaluates a check's scripts with a reused scope: the severities and `params` are pushed
/// once per check, a target's `ctx` and `previous` once per target, and only what belongs
/// to a series per series. Values are plain copies: Rhai refuses shared values nested in
/// data, and a script could nest them (`[ctx]`).
pub struct Runner<'a> {
    scripts: &'a CheckScripts,
    scope: Scope<'static>,
    base: usize,
    /// Scope length once the current target's inputs are pushed.
    target_base: Option<usize>,
    /// The current target's `previous`, part of the memo key.
    previous: Severity,
    /// Verdicts of this check in this refresh, by everything the script can see. Scripts
    /// are pure (no clock, no I/O, inputs read-only), so equal inputs give equal verdicts;
    /// discrete data (codes, states) then costs one evaluation per distinct value.
    memo: HashMap<MemoKey, Result<Verdict, String>>,
    /// Failures in this refresh: past `MAX_FAILURES` the script is not run again, so a
    /// script that always hits its operation limit costs a bounded time per refresh.
    failures: usize,
}

/// Failures of one check's scripts in one refresh before the rest are skipped.
pub const MAX_FAILURES: usize = 100;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct MemoKey {
    value: u64,
    state: Severity,
    previous: Severity,
    labels: Vec<Box<str>>,
}

/// Bound on remembered verdicts per check and refresh, so memory stays small whatever
/// the data.
const MEMO_LIMIT: usize = 4096;

/// A series as scripts see it, built once per sample and shared by its targets.
pub struct SeriesInput {
    labels: Dynamic,
    /// The values of the labels the script reads, in its order: part of the memo key.
    read: Option<Vec<Box<str>>>,
}

impl SeriesInput {
    pub fn new(labels: &Labels, scripts: &CheckScripts) -> SeriesInput {
        let wanted = match (&scripts.series, &scripts.aggregate) {
            // Aggregate scripts get every series' labels in `results`.
            (_, Some(_)) => &LabelUse::All,
            (Some(s), None) => &s.labels,
            (None, None) => &LabelUse::None,
        };
        let (map, read) = match wanted {
            LabelUse::None => (Dynamic::UNIT, Some(Vec::new())),
            LabelUse::All => (labels_map(labels.iter()), None),
            LabelUse::Some(names) => (
                labels_map(labels.iter().filter(|(k, _)| names.iter().any(|n| n == k))),
                Some(
                    names
                        .iter()
                        .map(|n| labels.get(n).unwrap_or("\u{0}").into())
                        .collect(),
                ),
            ),
        };
        SeriesInput { labels: map, read }
    }
}

impl SeriesInput {
    /// The labels as scripts see them.
    pub fn labels(&self) -> Dynamic {
        self.labels.clone()
    }
}

/// One series' result kept for a target's aggregate script.
#[derive(Debug, Clone)]
pub struct SeriesResult {
    pub value: f64,
    pub labels: Dynamic,
    pub verdict: Verdict,
}

impl Runner<'_> {
    /// Sets the target the next calls are about; cheap when it is the current one's inputs
    /// again only if the caller skips it, so callers call it when the target changes.
    pub fn target(&mut self, ctx: &Dynamic, previous: Option<Severity>) {
        self.scope.rewind(self.base);
        let ctx = if self.scripts.uses_ctx {
            ctx.clone()
        } else {
            Dynamic::UNIT
        };
        self.scope.push_constant_dynamic("ctx", ctx);
        // No previous state reads as OK: a hysteresis starts from healthy.
        self.previous = previous.unwrap_or(Severity::Ok);
        self.scope.push_constant("previous", self.previous.as_str());
        self.target_base = Some(self.scope.len());
    }

    fn at_target(&mut self) -> Result<(), String> {
        let base = self
            .target_base
            .ok_or_else(|| "internal: script run before its target was set".to_owned())?;
        self.scope.rewind(base);
        Ok(())
    }

    /// Runs the series script for the current target: `state` is what the check's rules
    /// gave (OK without rules).
    pub fn series(
        &mut self,
        input: &SeriesInput,
        value: f64,
        state: Severity,
    ) -> Result<Verdict, String> {
        let Some(script) = &self.scripts.series else {
            return Ok(Verdict {
                severity: state,
                message: None,
            });
        };
        // A script that reads `ctx` or every label sees something per target or series
        // that the key does not hold: it always runs.
        let key = match (&input.read, script.uses_ctx) {
            (Some(read), false) => Some(MemoKey {
                value: value.to_bits(),
                state,
                previous: self.previous,
                labels: read.clone(),
            }),
            _ => None,
        };
        if let Some(v) = key.as_ref().and_then(|k| self.memo.get(k)) {
            return v.clone();
        }
        self.give_up()?;
        self.at_target()?;
        self.scope.push_constant("value", value);
        self.scope
            .push_constant_dynamic("labels", input.labels.clone());
        self.scope.push_constant("state", state.as_str());
        let verdict = run(script, &mut self.scope);
        self.failures += usize::from(verdict.is_err());
        if let Some(k) = key
            && self.memo.len() < MEMO_LIMIT
        {
            self.memo.insert(k, verdict.clone());
        }
        verdict
    }

    fn give_up(&self) -> Result<(), String> {
        if self.failures >= MAX_FAILURES {
            return Err(format!(
                "script not run: it failed {MAX_FAILURES} times in this refresh already"
            ));
        }
        Ok(())
    }

    /// Runs the aggregate script over every series result of the current target.
    pub fn aggregate(&mut self, results: &[SeriesResult]) -> Result<Verdict, String> {
        let Some(script) = &self.scripts.aggregate else {
            return Err("the check has no aggregate script".into());
        };
        let list: rhai::Array = results
            .iter()
            .map(|r| {
                let mut m = Map::new();
                m.insert("value".into(), Dynamic::from_float(r.value));
                m.insert("labels".into(), r.labels.clone());
                m.insert("severity".into(), r.verdict.severity.as_str().into());
                m.insert(
                    "message".into(),
                    r.verdict
                        .message
                        .as_deref()
                        .map_or(Dynamic::UNIT, |m| ImmutableString::from(m).into()),
                );
                Dynamic::from_map(m)
            })
            .collect();
        self.give_up()?;
        self.at_target()?;
        self.scope.push_constant("results", list);
        let verdict = run(script, &mut self.scope);
        self.failures += usize::from(verdict.is_err());
        verdict
    }
}

fn run(script: &Compiled, scope: &mut Scope<'static>) -> Result<Verdict, String> {
    debug_assert!(script.kind == Kind::Series || scope.contains("results"));
    // Rhai reports failures as errors; this only guards against a defect inside it, so one
    // script can never take a refresh down with it.
    let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        ENGINE.eval_ast_with_scope::<Dynamic>(scope, &script.ast)
    }))
    .map_err(|_| "script error: the script engine failed internally".to_owned())?
    .map_err(|e| format!("script error: {e}"))?;
    verdict(out)
}

/// A script returns a severity, or `#{severity: …, message: …}`.
fn verdict(out: Dynamic) -> Result<Verdict, String> {
    let type_name = out.type_name();
    if out.is_string() {
        let s = out.into_immutable_string().unwrap_or_default();
        return Ok(Verdict {
            severity: parse_severity(&s)?,
            message: None,
        });
    }
    if let Some(map) = out.try_cast::<Map>() {
        let severity = match map.get("severity") {
            Some(s) if s.is_string() => {
                parse_severity(&s.clone().into_immutable_string().unwrap_or_default())?
            }
            Some(other) => {
                return Err(format!(
                    "script returned a map whose `severity` is a {}, not a string",
                    other.type_name()
                ));
            }
            None => return Err("script returned a map without `severity`".into()),
        };
        let message = match map.get("message") {
            None => None,
            Some(m) if m.is_unit() => None,
            Some(m) => Some(Arc::from(m.to_string())),
        };
        return Ok(Verdict { severity, message });
    }
    Err(format!(
        "script returned a {type_name}; expected \"OK\", \"WARN\", \"CRIT\", \"UNKNOWN\" or #{{severity, message}}"
    ))
}

fn parse_severity(s: &str) -> Result<Severity, String> {
    // The constants scripts return, without the case-folding allocation of `from_str`.
    match s {
        "OK" => return Ok(Severity::Ok),
        "WARN" => return Ok(Severity::Warn),
        "CRIT" => return Ok(Severity::Crit),
        "UNKNOWN" => return Ok(Severity::Unknown),
        _ => {}
    }
    s.parse::<Severity>().map_err(|_| {
        format!("script returned {s:?}; expected \"OK\", \"WARN\", \"CRIT\" or \"UNKNOWN\"")
    })
}

fn labels_map<'a>(labels: impl Iterator<Item = (&'a str, &'a str)>) -> Dynamic {
    let map: Map = labels.map(|(k, v)| (k.into(), v.into())).collect();
    Dynamic::from_map(map)
}

/// The target a script runs for, as `ctx` shows it.
pub fn context<'a>(fields: impl IntoIterator<Item = (&'a str, &'a str)>) -> Dynamic {
    let map: Map = fields
        .into_iter()
        .map(|(k, v)| (k.into(), v.into()))
        .collect();
    Dynamic::from_map(map)
}

fn json_to_dynamic(v: &serde_json::Value) -> Dynamic {
    use serde_json::Value as J;
    match v {
        J::Null => Dynamic::UNIT,
        J::Bool(b) => (*b).into(),
        J::Number(n) => match n.as_i64() {
            Some(i) => i.into(),
            None => n.as_f64().unwrap_or(f64::NAN).into(),
        },
        J::String(s) => s.as_str().into(),
        J::Array(a) => Dynamic::from_array(a.iter().map(json_to_dynamic).collect()),
        J::Object(o) => Dynamic::from_map(
            o.iter()
                .map(|(k, v)| (k.as_str().into(), json_to_dynamic(v)))
                .collect(),
        ),
    }
}

#[cfg(test)]
mod tests;
