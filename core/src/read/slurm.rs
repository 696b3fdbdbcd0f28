//! The Slurm view's read models (issue #21): each instance Slurm reports with where it
//! is, the counts by status and severity, and the partitions, optionally for one room.

use std::collections::BTreeMap;

use crate::slurm::{Level, NodeState};
use crate::telemetry::Snapshot;
use crate::topology::{Aisle, Device, DeviceIx, InstanceIx, Rack, RackIx, Room, RoomIx, Site};

/// Why the Slurm state is not current: no refresh yet, or its query failed.
pub fn slurm_error(snap: Option<&Snapshot>) -> Option<String> {
    match snap {
        None => Some("no refresh yet".into()),
        Some(s) => s.slurm.as_ref().and_then(|v| v.error.clone()),
    }
}

/// A Slurm node placed in the topology.
#[derive(Debug, Clone)]
pub struct SlurmNode<'a> {
    pub instance: &'a str,
    pub instance_ix: InstanceIx,
    pub state: &'a NodeState,
    pub site: &'a Site,
    pub room: &'a Room,
    pub aisle: Option<&'a Aisle>,
    pub rack: &'a Rack,
    pub device: &'a Device,
    pub rack_ix: RackIx,
    pub device_ix: DeviceIx,
}

/// Every instance Slurm reported at the snapshot (of `room` only, when given), in topology
/// order. Empty when the Slurm view is off or its query failed (`Snapshot::slurm` says).
pub fn slurm_nodes(snap: &Snapshot, room: Option<RoomIx>) -> Vec<SlurmNode<'_>> {
    let topo = &snap.config.topology;
    let Some(state) = &snap.slurm else {
        return Vec::new();
    };
    state
        .view
        .nodes
        .iter()
        .filter_map(|(&ix, st)| {
            let p = topo.placement_of_device(topo.instances[ix].device);
            if room.is_some_and(|r| r != p.room) {
                return None;
            }
            Some(SlurmNode {
                instance: &topo.instances[ix].name,
                instance_ix: ix,
                state: st,
                site: &topo.sites[p.site],
                room: &topo.rooms[p.room],
                aisle: p.aisle.map(|a| &topo.aisles[a]),
                rack: &topo.racks[p.rack],
                device: &topo.devices[p.device],
                rack_ix: p.rack,
                device_ix: p.device,
            })
        })
        .collect()
}

/// Nodes by shown status and by severity.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SlurmSummary<'a> {
    pub total: usize,
    pub by_status: BTreeMap<&'a str, usize>,
    pub by_level: BTreeMap<Level, usize>,
}

pub fn slurm_summary<'a>(nodes: &[SlurmNode<'a>]) -> SlurmSummary<'a> {
    let mut s = SlurmSummary {
        total: nodes.len(),
        ..SlurmSummary::default()
    };
    for n in nodes {
        *s.by_status.entry(n.state.status.as_str()).or_default() += 1;
        *s.by_level.entry(n.state.level).or_default() += 1;
    }
    s
}

/// Partition → status → nodes: each node counts once in each of its partitions, under the
/// status it shows.
pub fn slurm_partitions<'a>(
    nodes: &[SlurmNode<'a>],
) -> BTreeMap<&'a str, BTreeMap<&'a str, usize>> {
    let mut out: BTreeMap<&str, BTreeMap<&str, usize>> = BTreeMap::new();
    for n in nodes {
        for p in &n.state.partitions {
            *out.entry(p.as_str())
                .or_default()
                .entry(n.state.status.as_str())
                .or_default() += 1;
        }
    }
    out
}

/// Every instance of a room with its Slurm state, `None` where Slurm reported nothing.
pub fn room_instances(snap: &Snapshot, room: RoomIx) -> Vec<(InstanceIx, Option<&NodeState>)> {
    let topo = &snap.config.topology;
    let view = snap.slurm.as_ref().map(|s| &s.view);
    topo.room_racks(room)
        .flat_map(|r| topo.racks[r].devices.iter())
        .flat_map(|&d| topo.devices[d].instances.start.get()..topo.devices[d].instances.end.get())
        .map(InstanceIx::new)
        .map(|i| (i, view.and_then(|v| v.nodes.get(&i))))
        .collect()
}

/// What a failing part of the estate takes from one partition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionImpact<'a> {
    pub partition: &'a str,
    /// Nodes of the partition in the part.
    pub here: usize,
    /// Nodes of the partition in the estate.
    pub total: usize,
    /// Of `here`, those Slurm shows busy (allocated, mixed or completing): their jobs are
    /// the ones at risk.
    pub busy: usize,
    /// The running jobs on `here`'s nodes, where the exporter counts them per node
    /// (`jobs_metric`); `None` when it does not. A job spanning two nodes counts twice.
    pub jobs: Option<u64>,
}

/// Which partitions the racks `racks` hold nodes of, and how many: the impact of losing
/// them, largest share first.
pub fn impact<'s>(snap: &'s Snapshot, racks: &[RackIx]) -> Vec<PartitionImpact<'s>> {
    let nodes = slurm_nodes(snap, None);
    let jobs = snap.slurm.as_ref().and_then(|s| s.jobs.as_ref());
    let mut by: BTreeMap<&str, PartitionImpact<'_>> = BTreeMap::new();
    for n in &nodes {
        let inside = racks.contains(&n.rack_ix);
        let busy = matches!(
            n.state.status.as_str(),
            "allocated" | "mixed" | "completing"
        );
        for p in &n.state.partitions {
            let e = by.entry(p.as_str()).or_insert(PartitionImpact {
                partition: p,
                here: 0,
                total: 0,
                busy: 0,
                jobs: jobs.map(|_| 0),
            });
            e.total += 1;
            if inside {
                e.here += 1;
                e.busy += usize::from(busy);
                if let (Some(sum), Some(jobs)) = (e.jobs.as_mut(), jobs) {
                    *sum += u64::from(jobs.get(&n.instance_ix).copied().unwrap_or(0));
                }
            }
        }
    }
    let mut out: Vec<_> = by.into_values().filter(|i| i.here > 0).collect();
    out.sort_by(|a, b| {
        (b.here * a.total)
            .cmp(&(a.here * b.total))
            .then(a.partition.cmp(b.partition))
    });
    out
}
