//! Slurm severity as a node check (`affects_health`, issue #21): every node the refresh's
//! one Slurm answer reports gets a result of the `slurm_node_status` check, which then rolls
//! up and alerts like any other.
//!
//! A node Slurm does not report (a switch, a PDU) gets no result: it is not a Slurm node,
//! and UNKNOWN there would be noise. When the Slurm query fails, the nodes it reported last
//! turn UNKNOWN with the error: they are not assumed fine.

use std::collections::HashSet;
use std::sync::Arc;

use crate::config::Config;
use crate::slurm::NodeState;
use crate::telemetry::eval::{Answer, CheckResult, Health};
use crate::telemetry::outcome::Outcome;
use crate::telemetry::plan::Plan;

/// Adds the Slurm check's results to `health` (before the roll-up). `seen` holds the
/// instances the last answered Slurm query reported, carried between refreshes.
pub(super) fn settle(
    config: &Config,
    plan: &Plan,
    answers: &[Answer<'_>],
    seen: &mut HashSet<Box<str>>,
    health: &mut Health,
) {
    let (Some(slurm), Some(check), Some(query)) =
        (config.slurm.as_deref(), plan.slurm_check, plan.slurm_query)
    else {
        seen.clear();
        return;
    };
    let topo = &config.topology;
    let mut result = |node: usize, outcome: Outcome, message: Option<Arc<str>>| {
        let severity = outcome.severity(config.app.planner.unknown_state);
        if let Some(th) = health.nodes.get_mut(node) {
            th.checks.push(CheckResult {
                check,
                severity,
                value: None,
                pending: None,
                message,
                outcome,
            });
        }
    };
    match answers.get(query as usize) {
        Some(Answer::Ok(res)) => {
            let view = slurm.join(topo, res.samples.iter().map(|s| (&s.labels, s.value)));
            seen.clear();
            for (&ix, state) in &view.nodes {
                seen.insert(topo.instances[ix].name.as_str().into());
                // The node space starts with the instances, in order (`bind::Targets`).
                result(
                    ix.index(),
                    Outcome::Evaluated(state.level.severity()),
                    Some(message(state).into()),
                );
            }
        }
        other => {
            let why: Arc<str> = match other {
                Some(Answer::Failed(e)) => e.clone(),
                _ => "the Slurm query got no answer".into(),
            };
            for name in seen.iter() {
                if let Some(ix) = topo.instance_ix(name) {
                    result(ix.index(), Outcome::QueryFailed(why.clone()), None);
                }
            }
        }
    }
}

/// What an alert says of a node's Slurm state: `Slurm drained: fan failure`.
fn message(n: &NodeState) -> String {
    match &n.reason {
        Some(r) => format!("Slurm {} ({}): {r}", n.status, n.level.as_str()),
        None => format!("Slurm {} ({})", n.status, n.level.as_str()),
    }
}
