//! Query statistics of seeds 001 and 003: counters, latency over a rolling window, the last
//! planner batch and the heartbeat, shared lock-light between the engine and its readers.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use serde::Serialize;

use crate::telemetry::source::unix_seconds;

/// Metadata of the most recent refresh's batch (`last_batch` of `/api/stats/telemetry`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct BatchInfo {
    pub total_ids: usize,
    pub query_count: usize,
    pub max_ids_per_query: usize,
    /// Unix time in milliseconds.
    pub ts: f64,
}

/// A copy of the statistics at one moment, in the shapes the API serves.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StatsView {
    pub query_count: u64,
    pub cache_hits: u64,
    pub cache_misses: u64,
    pub in_flight: u64,
    /// Queries that got no answer (unreachable, timeout, rejected) since startup.
    pub query_errors: u64,
    pub last_batch: Option<BatchInfo>,
    pub last_ms: Option<f64>,
    pub avg_ms: Option<f64>,
    /// Unix milliseconds of the last successful query.
    pub last_ts: Option<u64>,
    pub heartbeat_seconds: u64,
    /// Unix milliseconds of the next scheduled heartbeat.
    pub next_ts: Option<u64>,
    /// Whether the last heartbeat got an answer; `None` before the first.
    pub heartbeat_ok: Option<bool>,
    pub heartbeat_error: Option<String>,
    /// Refreshes in which every query failed, since startup.
    pub refreshes_failed: u64,
    /// Whether the last refresh got at least one answer; `None` before the first.
    pub last_refresh_ok: Option<bool>,
    /// Panics caught in the refresh loop, each followed by a restart after a backoff.
    pub refresh_restarts: u64,
    /// Panics caught in the heartbeat loop.
    pub heartbeat_restarts: u64,
}

#[derive(Debug, Default)]
struct Latency {
    window: VecDeque<f64>,
    capacity: usize,
    last_ms: Option<f64>,
    last_ok: Option<SystemTime>,
}

#[derive(Debug, Default)]
struct Heartbeat {
    seconds: u64,
    next: Option<SystemTime>,
    ok: Option<bool>,
    error: Option<String>,
}

#[derive(Debug, Default)]
pub struct Stats {
    query_count: AtomicU64,
    cache_hits: AtomicU64,
    cache_misses: AtomicU64,
    in_flight: AtomicU64,
    query_errors: AtomicU64,
    latency: Mutex<Latency>,
    last_batch: Mutex<Option<BatchInfo>>,
    heartbeat: Mutex<Heartbeat>,
    refreshes_failed: AtomicU64,
    /// 0 before the first refresh, 1 after a failed one, 2 after one that got answers.
    last_refresh: AtomicU8,
    refresh_restarts: AtomicU64,
    heartbeat_restarts: AtomicU64,
}

/// Which of the engine's loops a caught panic restarted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Task {
    Refresh,
    Heartbeat,
}

impl Task {
    pub fn as_str(self) -> &'static str {
        match self {
            Task::Refresh => "refresh",
            Task::Heartbeat => "heartbeat",
        }
    }
}

/// Locks a mutex whose data stays valid even if a holder panicked (plain counters).
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Unix milliseconds, the unit of every timestamp the API shows.
pub fn unix_ms(t: SystemTime) -> u64 {
    (unix_seconds(t) * 1000.0).max(0.0) as u64
}

impl Stats {
    pub fn new(latency_window: u32, heartbeat_seconds: u64) -> Stats {
        let s = Stats::default();
        s.configure(latency_window, heartbeat_seconds);
        s
    }

    pub fn configure(&self, latency_window: u32, heartbeat_seconds: u64) {
        let mut l = lock(&self.latency);
        l.capacity = latency_window.max(1) as usize;
        while l.window.len() > l.capacity {
            l.window.pop_front();
        }
        lock(&self.heartbeat).seconds = heartbeat_seconds;
    }

    /// Marks a query as sent; the guard marks it answered when dropped, so a cancelled
    /// query never stays "in flight".
    pub fn start_query(&self) -> InFlight<'_> {
        self.query_count.fetch_add(1, Ordering::Relaxed);
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        InFlight(self)
    }

    pub fn record_success(&self, elapsed: Duration, at: SystemTime) {
        let ms = elapsed.as_secs_f64() * 1000.0;
        let mut l = lock(&self.latency);
        if l.window.len() >= l.capacity.max(1) {
            l.window.pop_front();
        }
        l.window.push_back(ms);
        l.last_ms = Some(ms);
        l.last_ok = Some(at);
    }

    pub fn record_error(&self) {
        self.query_errors.fetch_add(1, Ordering::Relaxed);
    }

    pub fn cache_hit(&self) {
        self.cache_hits.fetch_add(1, Ordering::Relaxed);
    }
    pub fn cache_miss(&self) {
        self.cache_misses.fetch_add(1, Ordering::Relaxed);
    }

    pub fn set_batch(&self, b: BatchInfo) {
        *lock(&self.last_batch) = Some(b);
    }

    pub fn heartbeat_done(&self, result: Result<(), String>, next: SystemTime) {
        let mut h = lock(&self.heartbeat);
        h.ok = Some(result.is_ok());
        h.error = result.err();
        h.next = Some(next);
    }

    /// A refresh ended: `ok` is false when every one of its queries failed.
    pub fn refresh_done(&self, ok: bool) {
        if !ok {
            self.refreshes_failed.fetch_add(1, Ordering::Relaxed);
        }
        self.last_refresh.store(1 + u8::from(ok), Ordering::Relaxed);
    }

    /// A loop of the engine panicked and is restarted.
    pub fn restarted(&self, task: Task) {
        let c = match task {
            Task::Refresh => &self.refresh_restarts,
            Task::Heartbeat => &self.heartbeat_restarts,
        };
        c.fetch_add(1, Ordering::Relaxed);
    }

    pub fn view(&self) -> StatsView {
        let l = lock(&self.latency);
        let h = lock(&self.heartbeat);
        let avg =
            (!l.window.is_empty()).then(|| l.window.iter().sum::<f64>() / l.window.len() as f64);
        StatsView {
            query_count: self.query_count.load(Ordering::Relaxed),
            cache_hits: self.cache_hits.load(Ordering::Relaxed),
            cache_misses: self.cache_misses.load(Ordering::Relaxed),
            in_flight: self.in_flight.load(Ordering::Relaxed),
            query_errors: self.query_errors.load(Ordering::Relaxed),
            last_batch: *lock(&self.last_batch),
            last_ms: l.last_ms,
            avg_ms: avg,
            last_ts: l.last_ok.map(unix_ms),
            heartbeat_seconds: h.seconds,
            next_ts: h.next.map(unix_ms),
            heartbeat_ok: h.ok,
            heartbeat_error: h.error.clone(),
            refreshes_failed: self.refreshes_failed.load(Ordering::Relaxed),
            last_refresh_ok: match self.last_refresh.load(Ordering::Relaxed) {
                0 => None,
                v => Some(v == 2),
            },
            refresh_restarts: self.refresh_restarts.load(Ordering::Relaxed),
            heartbeat_restarts: self.heartbeat_restarts.load(Ordering::Relaxed),
        }
    }
}

pub struct InFlight<'a>(&'a Stats);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rolling_average_covers_the_window() {
        let s = Stats::new(2, 30);
        assert_eq!(s.view().avg_ms, None);
        for ms in [10, 20, 40] {
            let _q = s.start_query();
            s.record_success(Duration::from_millis(ms), SystemTime::UNIX_EPOCH);
        }
        let v = s.view();
        assert_eq!(v.last_ms, Some(40.0));
        assert_eq!(v.avg_ms, Some(30.0));
        assert_eq!(v.query_count, 3);
        assert_eq!(v.in_flight, 0);
    }
}
