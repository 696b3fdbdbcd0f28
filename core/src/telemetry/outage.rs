//! One source down among several: the sites it answers for keep their last answers,
//! marked stale, for `planner.stale_after_seconds`, then turn UNKNOWN with the reason;
//! every other site goes on with fresh answers. When every source is down, the engine's
//! whole-snapshot staleness applies instead (`Engine::failed_refresh`).

use std::sync::{Arc, Weak};
use std::time::{Duration, SystemTime};

use crate::telemetry::plan::Plan;
use crate::telemetry::routing::SourceIx;
use crate::telemetry::source::{InstantResult, SourceError};

/// A source as the last refresh found it.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceStatus {
    pub name: Arc<str>,
    /// Where it is (the client's description: its URL).
    pub url: String,
    /// How many of the refresh's queries went there.
    pub queries: usize,
    pub down: Option<SourceDown>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SourceDown {
    /// The first refresh in which none of its queries was answered.
    pub since: SystemTime,
    pub reason: String,
    /// Past `planner.stale_after_seconds`: its sites are UNKNOWN, no longer held.
    pub expired: bool,
}

/// What a refresh makes of its sources' failures.
pub(crate) struct Verdict {
    pub statuses: Vec<SourceStatus>,
    /// Per source, the reason its targets get once its hold expired.
    pub reasons: Vec<Option<Arc<str>>>,
}

/// The engine's memory of its sources across refreshes.
#[derive(Default)]
pub(crate) struct Outages {
    down_since: Vec<Option<SystemTime>>,
    /// The last answer of every query of a plan with several sources: what the queries of
    /// a source that stops answering are held at. Only kept for that plan.
    held: Vec<Option<InstantResult>>,
    held_for: Weak<Plan>,
}

impl Outages {
    /// Judges each source from one refresh's answers: a source none of whose queries was
    /// answered is down. When `hold`, a down source's failed answers are replaced by its
    /// held ones while it has been down for at most `window`.
    pub(crate) fn judge(
        &mut self,
        plan: &Arc<Plan>,
        answers: &mut [Result<InstantResult, SourceError>],
        at: SystemTime,
        window: Duration,
        hold: bool,
        url: impl Fn(SourceIx) -> String,
    ) -> Verdict {
        let n = plan.routes.count();
        self.down_since.resize(n, None);
        if !std::ptr::eq(self.held_for.as_ptr(), Arc::as_ptr(plan)) {
            self.held.clear();
        }
        let mut sent = vec![0usize; n];
        let mut failed = vec![0usize; n];
        let mut first: Vec<Option<&SourceError>> = vec![None; n];
        for (q, a) in plan.queries.iter().zip(answers.iter()) {
            let s = usize::from(q.source).min(n - 1);
            sent[s] += 1;
            if let Err(e) = a {
                failed[s] += 1;
                // An outage is better explained by "unreachable" than by a refused query.
                if first[s].is_none_or(|f| !f.is_unavailable() && e.is_unavailable()) {
                    first[s] = Some(e);
                }
            }
        }
        let errors: Vec<String> = first
            .iter()
            .map(|e| e.map(ToString::to_string).unwrap_or_default())
            .collect();
        let mut statuses = Vec::with_capacity(n);
        let mut reasons = vec![None; n];
        let mut held_sources = vec![false; n];
        for s in 0..n {
            let name = plan.routes.names[s].clone();
            let ix = SourceIx::try_from(s).unwrap_or(SourceIx::MAX);
            let down = if sent[s] > 0 && failed[s] == sent[s] {
                let since = *self.down_since[s].get_or_insert(at);
                let for_s = at.duration_since(since).unwrap_or_default();
                let expired = for_s > window;
                if expired {
                    reasons[s] = Some(Arc::from(format!(
                        "Prometheus `{name}` unavailable for {} s: {}",
                        for_s.as_secs(),
                        errors[s]
                    )));
                } else {
                    held_sources[s] = hold;
                }
                Some(SourceDown {
                    since,
                    reason: errors[s].clone(),
                    expired,
                })
            } else {
                self.down_since[s] = None;
                None
            };
            statuses.push(SourceStatus {
                name,
                url: url(ix),
                queries: sent[s],
                down,
            });
        }
        if held_sources.iter().any(|h| *h) && self.held.len() == answers.len() {
            for (i, q) in plan.queries.iter().enumerate() {
                if held_sources[usize::from(q.source).min(n - 1)]
                    && let Some(h) = self.held[i].take()
                {
                    answers[i] = Ok(h);
                }
            }
        }
        Verdict { statuses, reasons }
    }

    /// Keeps a refresh's answers (its held ones included) for the next, when its plan has
    /// several sources; a single source's outage is the whole snapshot's, held as such.
    pub(crate) fn keep(
        &mut self,
        plan: &Arc<Plan>,
        answers: Vec<Result<InstantResult, SourceError>>,
    ) {
        if plan.routes.is_single() {
            self.held = Vec::new();
            return;
        }
        // A query that failed while its source answered others keeps nothing: holding an
        // older answer would hide that failure.
        self.held = answers.into_iter().map(Result::ok).collect();
        self.held_for = Arc::downgrade(plan);
    }
}
