//! Read models: what the JSON API and the HTML pages both show, computed from a `Snapshot`
//! (and the `Config` before the first refresh). Typed (`Severity`, topology references),
//! never serialized here: the server's wire shapes and the UI's page models are built from
//! them, so that pages and JSON agree by construction. A thin layer over the snapshot.

pub mod alerts;
pub mod checks;
pub mod maintenance;
pub mod racks;
pub mod slurm;
pub mod stats;
pub mod triage;

pub use alerts::{AlertKind, LocatedAlert, LocatedCheck, located_alerts, located_alerts_where};
pub use checks::{CheckOutcome, check_outcome, check_outcomes};
pub use racks::{
    DeviceEntry, NodeEntry, RackState, RackSummary, rack_nodes, rack_state, rack_summary,
    shared_series,
};
pub use stats::{GlobalStats, global_stats};

#[cfg(test)]
mod tests;
