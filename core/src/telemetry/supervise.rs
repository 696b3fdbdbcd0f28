//! Keeps the engine's loops alive: a panic in one step (a refresh, a heartbeat), whatever
//! its cause, is caught, logged and counted, and the loop resumes after an exponential
//! backoff. Without this a panic ended the refresh loop while the server kept serving.

use std::any::Any;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::time::Duration;

use futures_util::FutureExt;

use crate::telemetry::stats::{Stats, Task};

/// The wait after a first panic; it doubles with each panic in a row.
pub const FIRST_BACKOFF: Duration = Duration::from_secs(1);
/// The longest wait between restarts.
pub const MAX_BACKOFF: Duration = Duration::from_secs(60);

/// Runs `step` forever, sleeping for the duration each step returns. A step that panics is
/// abandoned (its locks and guards are released by unwinding) and the next one starts after
/// the backoff; a step that finishes resets the backoff.
pub async fn supervise<F, Fut>(stats: &Stats, task: Task, mut step: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Duration>,
{
    let mut backoff = FIRST_BACKOFF;
    loop {
        match AssertUnwindSafe(step()).catch_unwind().await {
            Ok(wait) => {
                backoff = FIRST_BACKOFF;
                tokio::time::sleep(wait).await;
            }
            Err(payload) => {
                stats.restarted(task);
                tracing::error!(
                    task = task.as_str(),
                    restart_in_s = backoff.as_secs_f64(),
                    "the {} loop panicked ({}); restarting it",
                    task.as_str(),
                    panic_message(payload.as_ref()),
                );
                tokio::time::sleep(backoff).await;
                backoff = backoff.saturating_mul(2).min(MAX_BACKOFF);
            }
        }
    }
}

/// The text a panic was raised with, when it is text.
pub fn panic_message(payload: &(dyn Any + Send)) -> &str {
    if let Some(s) = payload.downcast_ref::<&str>() {
        s
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s
    } else {
        "a non-text panic payload"
    }
}
