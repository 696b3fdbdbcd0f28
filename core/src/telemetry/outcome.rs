//! How a check's evaluation for one target went, apart from the severity it gives: the
//! severity and the reason shown beside it are both derived from it, here and only here.

use std::sync::Arc;

use crate::severity::Severity;

/// The reason of a state that a NaN sample decided.
const NAN_REASON: &str = "value is NaN";
/// The reason of a target no series named.
const NO_DATA: &str = "no data: the query returned no series for this target";
/// The reason of an `expand_by_label` target that neither query named.
const NO_SLOTS: &str = "no data: neither query returned a series for this target";

#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Samples were judged (rules, then the script) and gave this state, before `for:`.
    Evaluated(Severity),
    /// The sample that decided the state is NaN, and no script raised it above UNKNOWN.
    NotANumber,
    /// No series named the target; `slots` for an `expand_by_label` check, whose discovery
    /// query found nothing either.
    NoData { slots: bool },
    /// The query failed (or the whole refresh did), with the error.
    QueryFailed(Arc<str>),
    /// The check's script failed for the series that decided the state, with the error.
    ScriptFailed(Arc<str>),
}

impl Outcome {
    /// The state before `for:`: what was judged, `planner.unknown_state` without data, and
    /// UNKNOWN when nothing could be judged.
    pub fn severity(&self, unknown_state: Severity) -> Severity {
        match self {
            Outcome::Evaluated(s) => *s,
            Outcome::NoData { .. } => unknown_state,
            Outcome::NotANumber | Outcome::QueryFailed(_) | Outcome::ScriptFailed(_) => {
                Severity::Unknown
            }
        }
    }

    /// Why the state is what it is when no sample decided it (the API's `reason`).
    pub fn reason(&self) -> Option<&str> {
        match self {
            Outcome::Evaluated(_) => None,
            Outcome::NotANumber => Some(NAN_REASON),
            Outcome::NoData { slots: false } => Some(NO_DATA),
            Outcome::NoData { slots: true } => Some(NO_SLOTS),
            Outcome::QueryFailed(e) | Outcome::ScriptFailed(e) => Some(e),
        }
    }

    /// Whether `for:` timers and a script's remembered states may move: not when the query
    /// failed, which says nothing about the target.
    pub fn observed(&self) -> bool {
        !matches!(self, Outcome::QueryFailed(_))
    }

    /// A judged state, floored at UNKNOWN for a NaN sample (rules cannot compare it, and a
    /// script written for numbers, `value > 90`, would call it OK by accident); a script may
    /// still raise it to WARN or CRIT.
    pub fn judged(severity: Severity, nan: bool) -> Outcome {
        if !nan {
            return Outcome::Evaluated(severity);
        }
        match severity.max(Severity::Unknown) {
            Severity::Unknown => Outcome::NotANumber,
            raised => Outcome::Evaluated(raised),
        }
    }
}
