//! The global roll-up: rooms, racks, alerts and the worst monitored state.

use crate::Severity;
use crate::config::Config;
use crate::telemetry::{Snapshot, StaleCause};

/// `crit_count`/`warn_count` count racks; `status` is the worst monitored state (CRIT >
/// WARN > UNKNOWN > OK), UNKNOWN rather than OK before the first refresh, when anything
/// monitored is UNKNOWN, when nothing is monitored, and when the data is past the stale
/// window: "OK" must mean that something looked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GlobalStats {
    pub total_rooms: usize,
    pub total_racks: usize,
    pub active_alerts: usize,
    pub crit_count: usize,
    pub warn_count: usize,
    pub status: Severity,
    /// Racks whose state is UNKNOWN.
    pub unknown_count: usize,
    /// The states are not current: the last refresh failed, or none finished in time.
    pub stale: bool,
    /// Every query of the last refresh failed.
    pub last_refresh_failed: bool,
}

pub fn global_stats(config: &Config, snap: Option<&Snapshot>) -> GlobalStats {
    let Some(snap) = snap else {
        // Before the first refresh: the topology is known, its health is not.
        let topo = &config.topology;
        return GlobalStats {
            total_rooms: topo.rooms.len(),
            total_racks: topo.racks.len(),
            active_alerts: 0,
            crit_count: 0,
            warn_count: 0,
            status: Severity::Unknown,
            unknown_count: topo.racks.len(),
            stale: false,
            last_refresh_failed: false,
        };
    };
    let topo = &snap.config.topology;
    let (mut crit, mut warn, mut unknown) = (0, 0, 0);
    for r in &snap.health.racks {
        match r.state {
            Some(Severity::Crit) => crit += 1,
            Some(Severity::Warn) => warn += 1,
            Some(Severity::Unknown) => unknown += 1,
            _ => {}
        }
    }
    let stale = snap.stale.as_ref();
    let blind = stale
        .is_some_and(|s| s.expired)
        .then_some(Severity::Unknown);
    GlobalStats {
        total_rooms: topo.rooms.len(),
        total_racks: topo.racks.len(),
        active_alerts: crit + warn,
        crit_count: crit,
        warn_count: warn,
        status: snap.health.global.max(blind).unwrap_or(Severity::Unknown),
        unknown_count: unknown,
        stale: stale.is_some(),
        last_refresh_failed: stale.is_some_and(|s| s.cause == StaleCause::RefreshFailed),
    }
}
