//! Rhai scripted checks: the one sandboxed engine, compilation when the configuration loads,
//! and evaluation per series and per target.
//!
//! A script can only compute: no imports, no `eval`, no file or network access, and every
//! resource it could exhaust (operations, call depth, expression depth, string, array and
//! map sizes, variables, functions) is capped. A script that hits a cap or fails gives its
//! target UNKNOWN with the reason; it never hangs a refresh or takes the server down.

use std::collections::BTreeMap;
use std::sync::{Arc, LazyLock};

use rhai::packages::Package as _;
use rhai::{Dynamic, Engine, ImmutableString, Map, OptimizationLevel, Scope};

use crate::severity::Severity;
use crate::telemetry::source::Labels;

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
    uses_labels: bool,
    uses_ctx: bool,
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
        uses_labels: mentions(src, "labels"),
        uses_ctx: mentions(src, "ctx"),
    })
}

/// Whether `word` appears as an identifier; a false "yes" only costs building the input.
fn mentions(src: &str, word: &str) -> bool {
    src.match_indices(word).any(|(i, _)| {
        let before = src[..i].chars().next_back();
        let after = src[i + word.len()..].chars().next();
        let ident = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
        !ident(before) && !ident(after)
    })
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
        CheckScripts {
            series,
            aggregate,
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
}

/// A series as scripts see it, built once per sample and shared by its targets.
pub struct SeriesInput {
    labels: Dynamic,
}

impl SeriesInput {
    pub fn new(labels: &Labels, scripts: &CheckScripts) -> SeriesInput {
        let wanted =
            scripts.series.as_ref().is_some_and(|s| s.uses_labels) || scripts.aggregate.is_some();
        SeriesInput {
            labels: if wanted {
                labels_map(labels)
            } else {
                Dynamic::UNIT
            },
        }
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
        let wants_ctx = [&self.scripts.series, &self.scripts.aggregate]
            .into_iter()
            .flatten()
            .any(|s| s.uses_ctx);
        let ctx = if wants_ctx {
            ctx.clone()
        } else {
            Dynamic::UNIT
        };
        self.scope.push_constant_dynamic("ctx", ctx);
        // No previous state reads as OK: a hysteresis starts from healthy.
        self.scope
            .push_constant("previous", previous.unwrap_or(Severity::Ok).as_str());
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
        self.at_target()?;
        self.scope.push_constant("value", value);
        self.scope
            .push_constant_dynamic("labels", input.labels.clone());
        self.scope.push_constant("state", state.as_str());
        run(script, &mut self.scope)
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
        self.at_target()?;
        self.scope.push_constant("results", list);
        run(script, &mut self.scope)
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
    s.parse::<Severity>().map_err(|_| {
        format!("script returned {s:?}; expected \"OK\", \"WARN\", \"CRIT\" or \"UNKNOWN\"")
    })
}

fn labels_map(labels: &Labels) -> Dynamic {
    let map: Map = labels.iter().map(|(k, v)| (k.into(), v.into())).collect();
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
