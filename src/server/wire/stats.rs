//! `/api/stats/*`: the global roll-up and the engine's Prometheus and telemetry figures.

use rackscope_core::read;
use rackscope_core::telemetry::stats::unix_ms;
use rackscope_core::telemetry::{Snapshot, Stale, StaleCause, StatsView};
use serde::Serialize;
use serde_json::{Value, json};

/// `/api/stats/global`. `crit_count`/`warn_count` count racks (seed 003); `status` is the
/// global roll-up (`read::GlobalStats`). Unlike the Python version, rooms of every site
/// are counted, and the status is UNKNOWN rather than OK when nothing looked.
#[derive(Serialize, Debug, PartialEq)]
pub struct GlobalStats {
    pub total_rooms: usize,
    pub total_racks: usize,
    pub active_alerts: usize,
    pub crit_count: usize,
    pub warn_count: usize,
    pub status: &'static str,
    /// Racks whose state is UNKNOWN (an addition).
    pub unknown_count: usize,
    /// The states are not current: the last refresh failed, or none finished in time.
    pub stale: bool,
    /// Every query of the last refresh failed.
    pub last_refresh_failed: bool,
}

impl From<read::GlobalStats> for GlobalStats {
    fn from(g: read::GlobalStats) -> GlobalStats {
        GlobalStats {
            total_rooms: g.total_rooms,
            total_racks: g.total_racks,
            active_alerts: g.active_alerts,
            crit_count: g.crit_count,
            warn_count: g.warn_count,
            status: g.status.as_str(),
            unknown_count: g.unknown_count,
            stale: g.stale,
            last_refresh_failed: g.last_refresh_failed,
        }
    }
}

pub fn global_stats(config: &rackscope_core::Config, snap: Option<&Snapshot>) -> GlobalStats {
    read::global_stats(config, snap).into()
}

/// `/api/stats/prometheus`.
pub fn prometheus(s: &StatsView, snap: Option<&Snapshot>) -> Value {
    json!({
        "last_ms": s.last_ms,
        "avg_ms": s.avg_ms,
        "last_ts": s.last_ts,
        "heartbeat_seconds": s.heartbeat_seconds,
        "next_ts": s.next_ts,
        "heartbeat_ok": s.heartbeat_ok,
        "error": s.heartbeat_error,
        "stale": snap.and_then(|s| s.stale.as_ref()).map(stale),
    })
}

/// `/api/stats/telemetry`.
pub fn telemetry(s: &StatsView, snap: Option<&Snapshot>) -> Value {
    json!({
        "query_count": s.query_count,
        "cache_hits": s.cache_hits,
        "cache_misses": s.cache_misses,
        "in_flight": s.in_flight,
        "last_batch": s.last_batch,
        "last_ms": s.last_ms,
        "avg_ms": s.avg_ms,
        "last_ts": s.last_ts,
        "query_errors": s.query_errors,
        "refreshes_failed": s.refreshes_failed,
        "last_refresh_ok": s.last_refresh_ok,
        "refresh_restarts": s.refresh_restarts,
        "heartbeat_restarts": s.heartbeat_restarts,
        "snapshot": snap.map(|x| json!({
            "seq": x.seq,
            "taken_ts": unix_ms(x.taken_at),
            "duration_ms": x.duration.as_secs_f64() * 1000.0,
            "query_count": x.query_count,
            "failed_queries": x.errors.len(),
            "stale": x.stale.as_ref().map(stale),
        })),
    })
}

fn stale(x: &Stale) -> Value {
    json!({
        "since_ts": unix_ms(x.since),
        "reason": x.reason,
        "expired": x.expired,
        "cause": match x.cause {
            StaleCause::RefreshFailed => "refresh_failed",
            StaleCause::NoRefresh => "no_refresh",
        },
    })
}
