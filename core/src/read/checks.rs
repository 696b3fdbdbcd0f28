//! Check results with their definition's id and name, as the rack and device views list
//! them.

use crate::Severity;
use crate::telemetry::{CheckResult, Snapshot, TargetHealth};

/// One check's outcome on one target.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckOutcome<'a> {
    pub id: &'a str,
    pub name: &'a str,
    pub description: Option<&'a str>,
    pub severity: Severity,
    /// The value as evaluated (NaN and infinities included; see `finite_value`).
    pub value: Option<f64>,
    /// A failing state waiting out the check's `for:`.
    pub pending: Option<Severity>,
    /// Why no sample decided the state (no data, a failed query).
    pub reason: Option<&'a str>,
    /// What the check's script said about the state.
    pub message: Option<&'a str>,
}

impl CheckOutcome<'_> {
    /// The value when it is a number worth showing.
    pub fn finite_value(&self) -> Option<f64> {
        self.value.filter(|v| v.is_finite())
    }
}

pub fn check_outcome<'a>(snap: &'a Snapshot, c: &'a CheckResult) -> CheckOutcome<'a> {
    let bound = &snap.plan.checks[c.check as usize];
    let def = &snap.config.checks.items[bound.def].def;
    CheckOutcome {
        id: &bound.id,
        name: &def.name,
        description: def.description.as_deref(),
        severity: c.severity,
        value: c.value,
        pending: c.pending.map(|p| p.severity),
        reason: c.reason(),
        message: c.message.as_deref(),
    }
}

/// Every check of a target, in evaluation order.
pub fn check_outcomes<'a>(snap: &'a Snapshot, h: &'a TargetHealth) -> Vec<CheckOutcome<'a>> {
    h.checks.iter().map(|c| check_outcome(snap, c)).collect()
}
