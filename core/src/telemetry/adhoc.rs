//! The guard in front of queries sent on behalf of requests (live values, charts, the
//! tester): one bound on how many are in flight for the whole server, and a short memory of
//! failures, so that a hung Prometheus and a room full of open pages cannot pile up
//! hundreds of queries that all wait for the same timeout.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::telemetry::routing::SourceIx;
use crate::telemetry::source::SourceError;

/// How long a failure is remembered: long enough to absorb a page's burst of identical
/// requests, short enough that a recovered Prometheus is used again within seconds.
pub const FAILURE_TTL: Duration = Duration::from_secs(5);
/// How long a request waits for a free slot before it is told the server is busy.
pub const WAIT_FOR_SLOT: Duration = Duration::from_secs(5);
/// Failures remembered at most (a tester key may be 64 KiB long); past it all are
/// forgotten. Expired ones are swept on insert once there are `SWEEP_AT`.
const MAX_REMEMBERED: usize = 1024;
const SWEEP_AT: usize = 64;

/// The bound and the failure memory. All methods take `&self`.
pub struct AdHoc {
    slots: Arc<Semaphore>,
    size: Mutex<usize>,
    /// Permits still to be taken away after a reload lowered the bound.
    debt: Mutex<usize>,
    failures: Mutex<HashMap<String, (Instant, SourceError)>>,
    /// The last "Prometheus is not there" failure of each source, which holds for every
    /// query to that source (one site's Prometheus gone does not refuse another's charts).
    down: Mutex<HashMap<SourceIx, (Instant, SourceError)>>,
}

impl AdHoc {
    pub fn new(limit: usize) -> AdHoc {
        let limit = limit.max(1);
        AdHoc {
            slots: Arc::new(Semaphore::new(limit)),
            size: Mutex::new(limit),
            debt: Mutex::new(0),
            failures: Mutex::new(HashMap::new()),
            down: Mutex::new(HashMap::new()),
        }
    }

    /// Changes the bound (a reload); queries in flight keep their slots.
    pub fn resize(&self, limit: usize) {
        let limit = limit.max(1);
        let Ok(mut size) = self.size.lock() else {
            return;
        };
        if limit > *size {
            self.slots.add_permits(limit - *size);
        } else {
            // Permits in use are taken away as they come back (`slot`).
            let gone = self.slots.forget_permits(*size - limit);
            if let Ok(mut debt) = self.debt.lock() {
                *debt += *size - limit - gone;
            }
        }
        *size = limit;
    }

    /// The bound in force.
    pub fn limit(&self) -> usize {
        self.size.lock().map_or(1, |s| *s)
    }

    /// Queries in flight now.
    pub fn in_flight(&self) -> usize {
        self.limit().saturating_sub(self.slots.available_permits())
    }

    /// A remembered failure for `key` (or for every query, when Prometheus was not there),
    /// younger than `FAILURE_TTL`, as `Err`; `Ok(true)` when this caller is the one let
    /// through to probe a Prometheus that was down. While it is down, one caller per
    /// `FAILURE_TTL` probes and the others keep the remembered error: letting them all
    /// through would make every open page wait out the query timeout again.
    pub fn admit(&self, source: SourceIx, key: &str) -> Result<bool, SourceError> {
        if let Ok(mut d) = self.down.lock()
            && let Some((at, e)) = d.get_mut(&source)
        {
            if at.elapsed() < FAILURE_TTL {
                return Err(e.clone());
            }
            // This caller probes; the others wait for its answer (`succeeded` or `fail`).
            *at = Instant::now();
            return Ok(true);
        }
        match self.failures.lock() {
            Ok(f) => match f.get(key).filter(|(at, _)| at.elapsed() < FAILURE_TTL) {
                Some((_, e)) => Err(e.clone()),
                None => Ok(false),
            },
            Err(_) => Ok(false),
        }
    }

    /// As `admit`, when only the remembered failure matters.
    pub fn remembered(&self, source: SourceIx, key: &str) -> Option<SourceError> {
        self.admit(source, key).err()
    }

    /// Remembers a failure; a busy refusal is ours, not Prometheus's, and is not kept.
    pub fn fail(&self, source: SourceIx, key: &str, e: &SourceError) {
        if matches!(e, SourceError::Busy { .. }) {
            return;
        }
        if e.is_unavailable() {
            if let Ok(mut d) = self.down.lock() {
                d.insert(source, (Instant::now(), e.clone()));
            }
            return;
        }
        if let Ok(mut f) = self.failures.lock() {
            // Expired entries go at once, not when the map is full: keys are whole queries.
            if f.len() >= SWEEP_AT {
                f.retain(|_, (at, _)| at.elapsed() < FAILURE_TTL);
            }
            if f.len() >= MAX_REMEMBERED {
                f.clear();
            }
            f.insert(key.to_owned(), (Instant::now(), e.clone()));
        }
    }

    /// Forgets that a source was down: an answer came back from it.
    pub fn succeeded(&self, source: SourceIx) {
        if let Ok(mut d) = self.down.lock() {
            d.remove(&source);
        }
    }

    /// A slot, waiting at most `WAIT_FOR_SLOT`.
    pub async fn slot(&self) -> Result<OwnedSemaphorePermit, SourceError> {
        let busy = || SourceError::Busy {
            limit: self.limit(),
        };
        let deadline = tokio::time::Instant::now() + WAIT_FOR_SLOT;
        loop {
            let permit = tokio::time::timeout_at(deadline, self.slots.clone().acquire_owned())
                .await
                .map_err(|_| busy())?
                .map_err(|_| busy())?;
            match self.debt.lock() {
                Ok(mut debt) if *debt > 0 => {
                    *debt -= 1;
                    permit.forget();
                }
                _ => return Ok(permit),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn the_bound_holds_and_a_full_server_says_busy() {
        let a = AdHoc::new(2);
        let p1 = a.slot().await.unwrap();
        let _p2 = a.slot().await.unwrap();
        assert_eq!(a.in_flight(), 2);
        assert_eq!(a.slot().await.unwrap_err(), SourceError::Busy { limit: 2 });
        drop(p1);
        assert!(a.slot().await.is_ok());
        a.resize(4);
        assert_eq!(a.limit(), 4);
        let more: Vec<_> = [a.slot().await.unwrap(), a.slot().await.unwrap()].into();
        a.resize(1);
        assert_eq!(a.limit(), 1);
        // Three slots are still held: none is free until they come back and the debt is paid.
        assert_eq!(a.slot().await.unwrap_err(), SourceError::Busy { limit: 1 });
        drop(more);
        drop(_p2);
        let only = a.slot().await.unwrap();
        assert_eq!(a.slot().await.unwrap_err(), SourceError::Busy { limit: 1 });
        drop(only);
    }

    #[tokio::test(start_paused = true)]
    async fn failures_are_remembered_briefly_and_unavailability_holds_for_all() {
        let a = AdHoc::new(1);
        let refused = SourceError::Api {
            status: 400,
            error_type: "bad_data".into(),
            error: "x".into(),
            warnings: vec![],
        };
        a.fail(0, "q1", &refused);
        assert_eq!(a.remembered(0, "q1"), Some(refused));
        assert_eq!(a.remembered(0, "q2"), None);
        let down = SourceError::Timeout {
            url: "u".into(),
            seconds: 1.0,
        };
        a.fail(0, "q3", &down);
        assert_eq!(a.remembered(0, "anything"), Some(down.clone()));
        // Another source's queries are not refused for it.
        assert_eq!(a.remembered(1, "anything"), None);
        // Past the memory, one caller probes and the others still get the error.
        if let Ok(mut d) = a.down.lock()
            && let Some((at, _)) = d.get_mut(&0)
        {
            *at = at.checked_sub(FAILURE_TTL).unwrap();
        }
        assert_eq!(a.remembered(0, "probe"), None);
        assert_eq!(a.remembered(0, "other"), Some(down));
        a.succeeded(1);
        assert!(
            a.remembered(0, "other").is_some(),
            "another source's answer proves nothing"
        );
        a.succeeded(0);
        assert_eq!(a.remembered(0, "anything"), None);
        a.fail(0, "busy", &SourceError::Busy { limit: 1 });
        assert_eq!(a.remembered(0, "busy"), None);
    }
}
