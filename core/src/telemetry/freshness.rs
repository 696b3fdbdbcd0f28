//! Staleness judged when a snapshot is read, not only inside the refresh loop: a loop that
//! died, hangs or is starved must not leave the last states looking current. A snapshot the
//! loop has not replaced within its freshness bound is shown stale; once its data is older
//! than `planner.stale_after_seconds`, its states are UNKNOWN with the reason, as the loop
//! itself would have made them.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::config::Config;
use crate::telemetry::engine::{Snapshot, Stale, StaleCause};
use crate::telemetry::eval::{Answer, ForMemory, evaluate};

/// The longest query timeout the bound allows for, so that an absurd setting cannot make
/// a dead loop look alive for days.
const MAX_TIMEOUT_S: f64 = 3600.0;

/// How long after its publication a snapshot is fresh: two refresh intervals and the query
/// timeouts (a refresh that waits on a slow Prometheus), in seconds.
pub fn fresh_for_seconds(config: &Config) -> f64 {
    let t = &config.app.telemetry;
    let timeouts = t.prometheus_timeout_seconds + t.prometheus_connect_timeout_seconds;
    let timeouts = if timeouts.is_finite() && timeouts >= 0.0 {
        timeouts.min(MAX_TIMEOUT_S)
    } else {
        MAX_TIMEOUT_S
    };
    2.0 * f64::from(config.app.planner.cache_ttl_seconds.max(1)) + timeouts
}

/// The snapshot as it must be shown at `now`, when that differs from what was published:
/// marked stale (the loop is overdue), or with every state UNKNOWN (its data is too old).
pub fn at_read(snap: &Snapshot, now: Instant) -> Option<Snapshot> {
    if snap.stale.as_ref().is_some_and(|s| s.expired) {
        return None;
    }
    let silent = now.saturating_duration_since(snap.published_instant);
    if silent.as_secs_f64() <= fresh_for_seconds(&snap.config) {
        return None;
    }
    let wall_now = snap
        .published_at
        .checked_add(silent)
        .unwrap_or(snap.published_at);
    let window = Duration::from_secs(u64::from(snap.config.app.planner.stale_after_seconds));
    let expired = snap.age(wall_now) > window;
    let already = snap
        .stale
        .as_ref()
        .is_some_and(|s| s.cause == StaleCause::NoRefresh);
    if already && !expired {
        return None;
    }
    let since = snap.stale.as_ref().map_or(snap.published_at, |s| s.since);
    let reason = format!(
        "no refresh for {} s: the refresh loop is stuck or stopped",
        silent.as_secs()
    );
    let mut marked = Snapshot {
        stale: Some(Stale {
            since,
            reason: reason.clone(),
            expired,
            cause: StaleCause::NoRefresh,
        }),
        ..snap.clone()
    };
    if expired {
        tracing::warn!(%reason, "the last snapshot is too old; every state is UNKNOWN");
        let reason: Arc<str> = Arc::from(reason);
        let failed: Vec<Answer<'_>> = snap
            .plan
            .queries
            .iter()
            .map(|_| Answer::Failed(reason.clone()))
            .collect();
        // A throwaway memory: failed answers leave `for:` timers alone anyway, and the
        // loop's own memory is not this reader's to touch.
        let health = evaluate(
            &snap.config,
            &snap.plan,
            &failed,
            wall_now,
            &mut ForMemory::default(),
        );
        marked.health = Arc::new(health);
        marked.errors = Vec::new();
        // Slurm states as old as the health are as unknown.
        marked.slurm = snap.slurm.as_ref().map(|_| {
            Arc::new(crate::slurm::SlurmState {
                view: Default::default(),
                error: Some(reason.to_string()),
                jobs: None,
            })
        });
    } else {
        tracing::warn!(%reason, "the snapshot is overdue; marked stale");
    }
    Some(marked)
}
