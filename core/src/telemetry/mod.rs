//! Telemetry: the planner, the evaluation of answers, the health snapshot lifecycle and the
//! statistics, with Prometheus behind the `MetricsSource` trait.
//!
//! Data flow: `plan(config)` (pure) → `Engine::refresh` sends the plan's queries through a
//! `MetricsSource` → `evaluate` (pure apart from `for:` memory) → an immutable `Snapshot`.

pub mod adhoc;
pub mod alternation;
pub mod engine;
pub mod eval;
pub mod freshness;
pub mod metricq;
pub mod outage;
pub mod outcome;
pub mod plan;
mod rollup;
pub mod routing;
pub mod source;
pub mod stats;
pub mod supervise;
mod workload;

pub use engine::{Engine, QueryError, Snapshot, Stale, StaleCause};
pub use eval::{Alert, AlertCheck, AlertTarget, CheckResult, Health, Pending, TargetHealth};
pub use outcome::Outcome;
pub use plan::{Plan, plan};
pub use source::{
    InstantResult, Labels, MetricsSource, RangeResult, RangeSpec, Sample, SourceError,
};
pub use stats::StatsView;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_failopen;
#[cfg(test)]
mod tests_sources;
