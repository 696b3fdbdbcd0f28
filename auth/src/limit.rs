//! Sign-in attempt limiting: at most `max` failed attempts per key (a user name, an address)
//! inside a sliding window, kept in memory with a hard bound on the number of keys.
//!
//! Only failures count. The Python version counted every attempt, successes included, so a
//! script or a person signing in often locked themselves out while an attacker gained
//! nothing from it; a guesser only ever fails, so counting failures alone limits guessing
//! just as well. A success clears the key.

use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use crate::rng;

/// Keys longer than this are stored as their SHA-256, so a megabyte user name costs 71 bytes.
pub const MAX_KEY_BYTES: usize = 256;

/// Failure times per key, oldest first, at most `max` of them: older ones can no longer
/// decide anything.
type Failures = VecDeque<Instant>;

/// Counts failed sign-in attempts. Shared between requests (`&self` methods, internal lock).
#[derive(Debug)]
pub struct Attempts {
    max: u32,
    window: Duration,
    cap: usize,
    keys: Mutex<HashMap<String, Failures>>,
}

fn stored_key(key: &str) -> std::borrow::Cow<'_, str> {
    if key.len() <= MAX_KEY_BYTES {
        key.into()
    } else {
        format!("sha256:{}", rng::hex(&Sha256::digest(key.as_bytes()))).into()
    }
}

impl Attempts {
    /// `max` failures per `window` per key, at most `cap` keys remembered. `max` 0 turns
    /// limiting off (nothing is recorded, nothing refused); a `cap` of 0 is taken as 1,
    /// since recording nothing would turn limiting off without saying so.
    pub fn new(max: u32, window: Duration, cap: usize) -> Attempts {
        Attempts {
            max,
            window,
            cap: cap.max(1),
            keys: Mutex::new(HashMap::new()),
        }
    }

    /// The map, even if a thread panicked while holding it: the worst a half-done update
    /// leaves is one failure too many or too few, never a reason to stop serving sign-ins.
    fn lock(&self) -> MutexGuard<'_, HashMap<String, Failures>> {
        self.keys.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn live(&self, at: Instant, now: Instant) -> bool {
        now.saturating_duration_since(at) < self.window
    }

    fn prune(&self, failures: &mut Failures, now: Instant) {
        while failures.front().is_some_and(|&at| !self.live(at, now)) {
            failures.pop_front();
        }
    }

    /// `Ok` if one more attempt is allowed now; otherwise how long until one is.
    pub fn check(&self, key: &str, now: Instant) -> Result<(), Duration> {
        if self.max == 0 {
            return Ok(());
        }
        let key = stored_key(key);
        let mut keys = self.lock();
        let Some(failures) = keys.get_mut(key.as_ref()) else {
            return Ok(());
        };
        self.prune(failures, now);
        if failures.len() < self.max as usize {
            return Ok(());
        }
        // At most `max` are kept, so the oldest is the one that has to leave the window.
        let oldest = failures.front().copied().unwrap_or(now);
        let wait = self
            .window
            .saturating_sub(now.saturating_duration_since(oldest));
        // Never a zero wait with a refusal: round up to the clock's smallest step.
        Err(wait.max(Duration::from_nanos(1)))
    }

    /// Records a failed attempt.
    pub fn fail(&self, key: &str, now: Instant) {
        if self.max == 0 {
            return;
        }
        let key = stored_key(key);
        let mut keys = self.lock();
        if !keys.contains_key(key.as_ref()) && keys.len() >= self.cap {
            self.make_room(&mut keys, now);
        }
        let failures = keys.entry(key.into_owned()).or_default();
        self.prune(failures, now);
        failures.push_back(now);
        while failures.len() > self.max as usize {
            failures.pop_front();
        }
    }

    /// Checks and records an attempt in one step: `Ok` (and counted as a failure until
    /// `forgive`n) if one more is allowed, else how long until one is. Checking first and
    /// recording after the password check let concurrent attempts all pass the check before
    /// any was recorded.
    pub fn charge(&self, key: &str, now: Instant) -> Result<(), Duration> {
        self.check(key, now)?;
        self.fail(key, now);
        Ok(())
    }

    /// Takes back the latest charge of `key` (the attempt succeeded).
    pub fn forgive(&self, key: &str) {
        let key = stored_key(key);
        let mut keys = self.lock();
        if let Some(failures) = keys.get_mut(key.as_ref()) {
            failures.pop_back();
            if failures.is_empty() {
                keys.remove(key.as_ref());
            }
        }
    }

    /// Frees one slot: first forget keys with no failure left in the window, then, if none
    /// was stale, the key whose latest failure is oldest. Refusing to record instead would let
    /// an attacker fill the table with junk names and then guess freely.
    fn make_room(&self, keys: &mut HashMap<String, Failures>, now: Instant) {
        keys.retain(|_, failures| failures.back().is_some_and(|&at| self.live(at, now)));
        if keys.len() < self.cap {
            return;
        }
        let oldest = keys
            .iter()
            .min_by_key(|(_, failures)| failures.back().copied())
            .map(|(key, _)| key.clone());
        if let Some(oldest) = oldest {
            keys.remove(&oldest);
        }
    }

    /// Forgets a key's failures, after a successful sign-in.
    pub fn clear(&self, key: &str) {
        let key = stored_key(key);
        self.lock().remove(key.as_ref());
    }

    /// Keys remembered.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }
}

#[cfg(test)]
mod charge_tests {
    use super::*;

    #[test]
    fn charges_count_before_the_outcome_is_known_and_a_success_is_forgiven() {
        let a = Attempts::new(2, Duration::from_secs(60), 10);
        let t = Instant::now();
        assert!(a.charge("k", t).is_ok());
        assert!(a.charge("k", t).is_ok());
        // Two attempts in flight: a third is refused before either finished.
        assert!(a.charge("k", t).is_err());
        a.forgive("k");
        assert!(a.charge("k", t).is_ok());
        a.forgive("k");
        a.forgive("k");
        a.forgive("k");
        assert!(a.is_empty());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: Duration = Duration::from_secs(60);

    #[test]
    fn max_failures_inside_the_window_refuse() {
        let a = Attempts::new(3, MIN, 100);
        let t0 = Instant::now();
        for i in 0..3 {
            assert_eq!(a.check("alice", t0 + Duration::from_secs(i)), Ok(()));
            a.fail("alice", t0 + Duration::from_secs(i));
        }
        // The first failure leaves the window at t0 + 60 s.
        assert_eq!(
            a.check("alice", t0 + Duration::from_secs(10)),
            Err(Duration::from_secs(50))
        );
        assert_eq!(a.check("bob", t0 + Duration::from_secs(10)), Ok(()));
        assert_eq!(a.check("alice", t0 + Duration::from_secs(60)), Ok(()));
    }

    #[test]
    fn the_window_slides() {
        let a = Attempts::new(2, MIN, 100);
        let t0 = Instant::now();
        a.fail("k", t0);
        a.fail("k", t0 + Duration::from_secs(50));
        assert!(a.check("k", t0 + Duration::from_secs(55)).is_err());
        // The first failure has left; one attempt is allowed, and failing it refuses again
        // until the second leaves at t0 + 110 s.
        let t1 = t0 + Duration::from_secs(61);
        assert_eq!(a.check("k", t1), Ok(()));
        a.fail("k", t1);
        assert_eq!(a.check("k", t1), Err(Duration::from_secs(49)));
    }

    #[test]
    fn clear_forgets_and_successes_do_not_count() {
        let a = Attempts::new(2, MIN, 100);
        let t0 = Instant::now();
        a.fail("k", t0);
        a.fail("k", t0);
        assert!(a.check("k", t0).is_err());
        a.clear("k");
        assert_eq!(a.check("k", t0), Ok(()));
        assert_eq!(a.len(), 0);
        // Many checks (successful sign-ins) never lock anyone out.
        for _ in 0..100 {
            assert_eq!(a.check("k", t0), Ok(()));
        }
    }

    #[test]
    fn eviction_keeps_len_within_cap() {
        let a = Attempts::new(3, MIN, 10);
        let t0 = Instant::now();
        for i in 0..1000u64 {
            a.fail(&format!("user{i}"), t0 + Duration::from_millis(i));
            assert!(a.len() <= 10);
        }
        assert_eq!(a.len(), 10);
        // The newest keys survive; the oldest were evicted.
        assert!(a.check("user999", t0).is_ok());
        a.fail("user999", t0 + Duration::from_secs(1));
        a.fail("user999", t0 + Duration::from_secs(1));
        assert!(a.check("user999", t0 + Duration::from_secs(1)).is_err());
        assert_eq!(a.len(), 10);
    }

    #[test]
    fn eviction_drops_stale_keys_first() {
        let a = Attempts::new(2, MIN, 3);
        let t0 = Instant::now();
        a.fail("attacked", t0 + Duration::from_secs(100));
        a.fail("attacked", t0 + Duration::from_secs(100));
        a.fail("stale1", t0);
        a.fail("stale2", t0);
        // Both stale keys go, the attacked one stays locked.
        let later = t0 + Duration::from_secs(101);
        a.fail("new", later);
        assert_eq!(a.len(), 2);
        assert!(a.check("attacked", later).is_err());
        // With nothing stale, the key with the oldest latest failure goes.
        a.fail("newer", later + Duration::from_secs(1));
        a.fail("newest", later + Duration::from_secs(2));
        assert_eq!(a.len(), 3);
        assert!(a.check("attacked", later).is_ok());
    }

    #[test]
    fn long_keys_are_bounded() {
        let a = Attempts::new(1, MIN, 10);
        let t0 = Instant::now();
        let huge = "x".repeat(1 << 20);
        a.fail(&huge, t0);
        assert!(a.check(&huge, t0).is_err());
        assert!(a.check(&"x".repeat((1 << 20) - 1), t0).is_ok());
        assert!(a.lock().keys().all(|k| k.len() <= MAX_KEY_BYTES));
        a.clear(&huge);
        assert!(a.is_empty());
    }

    #[test]
    fn max_zero_is_off_and_cap_zero_is_one() {
        let off = Attempts::new(0, MIN, 10);
        let t0 = Instant::now();
        off.fail("k", t0);
        assert_eq!(off.check("k", t0), Ok(()));
        assert!(off.is_empty());
        let tiny = Attempts::new(1, MIN, 0);
        tiny.fail("a", t0);
        tiny.fail("b", t0);
        assert_eq!(tiny.len(), 1);
        assert!(tiny.check("b", t0).is_err());
    }

    #[test]
    fn a_poisoned_lock_keeps_working() {
        let a = std::sync::Arc::new(Attempts::new(1, MIN, 10));
        let t0 = Instant::now();
        let b = a.clone();
        let _ = std::thread::spawn(move || {
            let _guard = b.keys.lock();
            panic!("poison the lock");
        })
        .join();
        assert!(a.keys.is_poisoned());
        a.fail("k", t0);
        assert!(a.check("k", t0).is_err());
        assert_eq!(a.len(), 1);
    }

    #[test]
    fn times_before_a_failure_do_not_panic() {
        let a = Attempts::new(1, MIN, 10);
        let t0 = Instant::now();
        let later = t0 + Duration::from_secs(5);
        a.fail("k", later);
        assert_eq!(a.check("k", t0), Err(MIN));
    }
}
