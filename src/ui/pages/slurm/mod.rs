//! The Slurm pages (issue #21): the overview (counts by severity and status, the
//! partitions) and the nodes table (filterable; its alerts preset lists the nodes that are
//! not fine), each node with its physical location. Built from `core::read::slurm`, the
//! API's read models, so the pages and `/api/slurm/*` agree.

pub mod nodes;
pub mod overview;
pub mod wallboard;

use rackscope_core::slurm::Level;
use serde::Serialize;

use crate::ui::draw::St;

/// A Slurm severity as the pages colour it: the hardware states' classes, and INFO apart.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
pub struct Sev {
    pub class: &'static str,
    pub label: &'static str,
}

impl Sev {
    pub fn of(l: Level) -> Sev {
        use rackscope_core::Severity;
        let st = |s: Severity| {
            let st = St::of(Some(s));
            Sev {
                class: st.class,
                label: st.label,
            }
        };
        match l {
            Level::Info => Sev {
                class: "st-INFO",
                label: "INFO",
            },
            Level::Ok => st(Severity::Ok),
            Level::Unknown => st(Severity::Unknown),
            Level::Warn => st(Severity::Warn),
            Level::Crit => st(Severity::Crit),
        }
    }
}

/// "gpu: 8 of 64 nodes, 6 busy, 12 running jobs" for each partition the racks hold nodes
/// of; the jobs where the exporter counts them.
pub fn impact_lines(
    snap: &rackscope_core::telemetry::Snapshot,
    racks: &[rackscope_core::topology::RackIx],
) -> Vec<String> {
    rackscope_core::read::slurm::impact(snap, racks)
        .iter()
        .map(|i| {
            let jobs = match i.jobs {
                Some(1) => ", 1 running job".to_owned(),
                Some(n) => format!(", {n} running jobs"),
                None => String::new(),
            };
            format!(
                "{}: {} of {} nodes, {} busy{jobs}",
                i.partition, i.here, i.total, i.busy
            )
        })
        .collect()
}

/// The page to show when the view is off: a plain explanation, not a 404 of a missing
/// route.
pub(crate) const OFF: &str = "The Slurm view is off. Enable it with `plugins: {slurm: {enabled: true}}` in app.yaml; its settings are plugins/slurm/config.yml beside it (docs/slurm.md).";
