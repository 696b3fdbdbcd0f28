//! `/api/stats/*`: the global roll-up and the engine's Prometheus and telemetry figures.

use rackscope_core::read;
use rackscope_core::telemetry::stats::unix_ms;
use rackscope_core::telemetry::{Snapshot, Stale, StaleCause, StatsView};
use serde::Serialize;
use utoipa::ToSchema;

/// `/api/stats/global`. `crit_count`/`warn_count` count racks (seed 003); `status` is the
/// global roll-up (`read::GlobalStats`). Unlike the Python version, rooms of every site
/// are counted, and the status is UNKNOWN rather than OK when nothing looked.
#[derive(Serialize, Debug, PartialEq, ToSchema)]
pub struct GlobalStats {
    pub total_rooms: usize,
    pub total_racks: usize,
    pub active_alerts: usize,
    pub crit_count: usize,
    pub warn_count: usize,
    #[schema(value_type = String, example = "CRIT")]
    pub status: &'static str,
    /// Racks whose state is UNKNOWN (an addition).
    pub unknown_count: usize,
    /// The states are not current: the last refresh failed, or none finished in time.
    pub stale: bool,
    /// Every query of the last refresh failed.
    pub last_refresh_failed: bool,
    /// Sites whose own Prometheus (`telemetry.sources`) does not answer while others do:
    /// their states are the last ones, or UNKNOWN once the hold expired (an addition).
    pub stale_sites: Vec<String>,
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
            stale_sites: Vec::new(),
        }
    }
}

pub fn global_stats(config: &rackscope_core::Config, snap: Option<&Snapshot>) -> GlobalStats {
    let mut g: GlobalStats = read::global_stats(config, snap).into();
    if let Some(s) = snap {
        g.stale_sites = s
            .config
            .topology
            .sites
            .iter_ix()
            .filter(|(ix, _)| s.site_source_down(*ix).is_some())
            .map(|(_, site)| site.id.clone())
            .collect();
    }
    g
}

/// `/api/stats/prometheus`: seed 003's latency and heartbeat; `heartbeat_ok`, `error`
/// and `stale` are additions.
#[derive(Serialize, ToSchema)]
pub struct PrometheusStats {
    pub last_ms: Option<f64>,
    pub avg_ms: Option<f64>,
    /// Unix milliseconds of the last successful query.
    pub last_ts: Option<u64>,
    pub heartbeat_seconds: u64,
    /// Unix milliseconds of the next scheduled heartbeat.
    pub next_ts: Option<u64>,
    pub heartbeat_ok: Option<bool>,
    pub error: Option<String>,
    /// Null while the states are current.
    pub stale: Option<StaleView>,
}

pub fn prometheus(s: &StatsView, snap: Option<&Snapshot>) -> PrometheusStats {
    PrometheusStats {
        last_ms: s.last_ms,
        avg_ms: s.avg_ms,
        last_ts: s.last_ts,
        heartbeat_seconds: s.heartbeat_seconds,
        next_ts: s.next_ts,
        heartbeat_ok: s.heartbeat_ok,
        error: s.heartbeat_error.clone(),
        stale: snap.and_then(|s| s.stale.as_ref()).map(stale),
    }
}

/// `/api/stats/telemetry`: the planner's and the queries' figures (seed 003).
#[derive(Serialize, ToSchema)]
pub struct Telemetry {
    pub query_count: u64,
    pub cache_hits: u64,
    pub cache_misses: u64,
    pub in_flight: u64,
    pub last_batch: Option<BatchView>,
    pub last_ms: Option<f64>,
    pub avg_ms: Option<f64>,
    pub last_ts: Option<u64>,
    pub query_errors: u64,
    pub refreshes_failed: u64,
    pub last_refresh_ok: Option<bool>,
    pub refresh_restarts: u64,
    pub heartbeat_restarts: u64,
    /// Null before the first snapshot.
    pub snapshot: Option<SnapshotView>,
}

/// The last refresh's batch (`BatchInfo`, in its own key order).
#[derive(Serialize, ToSchema)]
pub struct BatchView {
    pub total_ids: usize,
    pub query_count: usize,
    pub max_ids_per_query: usize,
    /// Unix time in milliseconds.
    pub ts: f64,
}

/// The refresh behind the current snapshot.
#[derive(Serialize, ToSchema)]
pub struct SnapshotView {
    pub seq: u64,
    pub taken_ts: u64,
    pub duration_ms: f64,
    pub query_count: usize,
    pub failed_queries: usize,
    pub stale: Option<StaleView>,
    /// Each Prometheus source as this refresh found it (one, `default`, unless
    /// `telemetry.sources` names more).
    pub sources: Vec<SourceView>,
}

/// A Prometheus source and the sites it answers for.
#[derive(Serialize, ToSchema)]
pub struct SourceView {
    pub name: String,
    pub url: String,
    /// Site ids; every site no other source names, for `default`.
    pub sites: Vec<String>,
    pub queries: usize,
    pub up: bool,
    /// Unix milliseconds of the first refresh it did not answer.
    pub down_since_ts: Option<u64>,
    pub error: Option<String>,
    /// Down past `planner.stale_after_seconds`: its sites are UNKNOWN.
    pub expired: bool,
}

fn sources(x: &Snapshot) -> Vec<SourceView> {
    let topo = &x.config.topology;
    x.sources
        .iter()
        .enumerate()
        .map(|(i, st)| SourceView {
            name: st.name.to_string(),
            url: st.url.clone(),
            sites: x
                .plan
                .routes
                .sites_of(u16::try_from(i).unwrap_or(u16::MAX))
                .filter_map(|s| topo.sites.get(s).map(|s| s.id.clone()))
                .collect(),
            queries: st.queries,
            up: st.down.is_none(),
            down_since_ts: st.down.as_ref().map(|d| unix_ms(d.since)),
            error: st.down.as_ref().map(|d| d.reason.clone()),
            expired: st.down.as_ref().is_some_and(|d| d.expired),
        })
        .collect()
}

pub fn telemetry(s: &StatsView, snap: Option<&Snapshot>) -> Telemetry {
    Telemetry {
        query_count: s.query_count,
        cache_hits: s.cache_hits,
        cache_misses: s.cache_misses,
        in_flight: s.in_flight,
        last_batch: s.last_batch.map(|b| BatchView {
            total_ids: b.total_ids,
            query_count: b.query_count,
            max_ids_per_query: b.max_ids_per_query,
            ts: b.ts,
        }),
        last_ms: s.last_ms,
        avg_ms: s.avg_ms,
        last_ts: s.last_ts,
        query_errors: s.query_errors,
        refreshes_failed: s.refreshes_failed,
        last_refresh_ok: s.last_refresh_ok,
        refresh_restarts: s.refresh_restarts,
        heartbeat_restarts: s.heartbeat_restarts,
        snapshot: snap.map(|x| SnapshotView {
            seq: x.seq,
            taken_ts: unix_ms(x.taken_at),
            duration_ms: x.duration.as_secs_f64() * 1000.0,
            query_count: x.query_count,
            failed_queries: x.errors.len(),
            stale: x.stale.as_ref().map(stale),
            sources: sources(x),
        }),
    }
}

/// Why the states are not current.
#[derive(Serialize, ToSchema)]
pub struct StaleView {
    pub since_ts: u64,
    pub reason: String,
    /// Past `planner.stale_after_seconds`: every state is UNKNOWN.
    pub expired: bool,
    #[schema(value_type = String, example = "refresh_failed")]
    pub cause: &'static str,
}

fn stale(x: &Stale) -> StaleView {
    StaleView {
        since_ts: unix_ms(x.since),
        reason: x.reason.clone(),
        expired: x.expired,
        cause: match x.cause {
            StaleCause::RefreshFailed => "refresh_failed",
            StaleCause::NoRefresh => "no_refresh",
        },
    }
}
