//! Returning freed heap memory to the system after large Prometheus answers.
//!
//! glibc's malloc keeps freed blocks in its arenas for reuse, and only gives memory back
//! from the top of an arena. After a large answer is decoded and dropped, tens to hundreds
//! of MiB of free blocks stay resident (bench: `cargo bench --bench promjson`).
//! `malloc_trim(0)` returns every free page of every arena. It walks the free lists, so it
//! runs only after answers have brought in `TRIM_AFTER_BYTES` since the last trim, from a
//! thread of its own, never on a request's or the refresh's path.

use std::sync::Weak;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Bytes of answers received since the last trim that make the next tick trim.
pub const TRIM_AFTER_BYTES: u64 = 64 * 1024 * 1024;

/// How often the counter is looked at. A trim comes one to two periods after the answers
/// that caused it, by when the request or refresh that read them has usually dropped them.
pub const TRIM_PERIOD: Duration = Duration::from_secs(5);

/// Gives free heap memory back to the system; returns whether any was.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
pub fn trim() -> bool {
    // SAFETY: malloc_trim takes a plain integer, has no precondition, and is thread-safe
    // (it takes each arena's lock); it only releases pages malloc holds free.
    unsafe { libc::malloc_trim(0) == 1 }
}

/// Other allocators return memory on their own.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn trim() -> bool {
    false
}

/// When to trim, from successive readings of the received-bytes counter: once answers
/// totalling `TRIM_AFTER_BYTES` have arrived, at the reading after the one that saw them,
/// so that whoever read them has had a period to drop them.
#[derive(Debug, Default)]
pub struct TrimPolicy {
    trimmed_at: u64,
    seen: u64,
}

impl TrimPolicy {
    /// Takes a reading; returns whether to trim now.
    pub fn tick(&mut self, received: u64) -> bool {
        let trim = self.seen.saturating_sub(self.trimmed_at) >= TRIM_AFTER_BYTES;
        if trim {
            self.trimmed_at = self.seen;
        }
        self.seen = received;
        trim
    }
}

/// Watches a client's received-bytes counter (`PrometheusClient::received_counter`) every
/// `TRIM_PERIOD` and trims as `TrimPolicy` says. The thread ends when the client is
/// dropped.
pub fn spawn_trimmer(received: Weak<AtomicU64>) {
    let spawned = std::thread::Builder::new()
        .name("rackscope-trim".into())
        .spawn(move || {
            let mut policy = TrimPolicy::default();
            loop {
                std::thread::sleep(TRIM_PERIOD);
                let Some(counter) = received.upgrade() else {
                    return;
                };
                let now = counter.load(Ordering::Relaxed);
                drop(counter);
                if policy.tick(now) {
                    let released = trim();
                    tracing::debug!(received = now, released, "heap trimmed");
                }
            }
        });
    if let Err(e) = spawned {
        tracing::warn!("memory is not returned after large answers: no thread ({e})");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_once_a_period_after_large_answers_only() {
        let mut p = TrimPolicy::default();
        // Small answers, however many readings: never.
        let mut total = 0;
        for _ in 0..10 {
            total += 1024 * 1024;
            assert!(!p.tick(total));
        }
        // A large answer: not at the reading that sees it, at the next one, then not again.
        total += TRIM_AFTER_BYTES;
        assert!(!p.tick(total));
        assert!(p.tick(total));
        assert!(!p.tick(total));
        assert!(!p.tick(total + 1));
        // Smaller answers adding up to the threshold count together.
        total += TRIM_AFTER_BYTES / 2;
        assert!(!p.tick(total));
        total += TRIM_AFTER_BYTES / 2;
        assert!(!p.tick(total));
        assert!(p.tick(total));
    }
}
