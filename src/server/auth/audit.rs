//! The audit trail: every sign-in, sign-out, failed attempt, refused credential and
//! state-changing request becomes one log line under the `rackscope::audit` target (user,
//! role, client address, request id) and a count on `/metrics`. Label values come from
//! fixed sets, never from the request, so no client can add a series.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;

use super::Principal;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct EventLabels {
    event: &'static str,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct WriteLabels {
    role: &'static str,
    outcome: &'static str,
}

#[derive(Default)]
pub struct Counters {
    events: Family<EventLabels, Counter>,
    writes: Family<WriteLabels, Counter>,
}

/// What the log line says about the request besides the event.
pub struct Who<'a> {
    pub name: &'a str,
    pub role: &'static str,
    pub addr: String,
    pub request_id: &'a str,
}

impl<'a> Who<'a> {
    pub fn of(p: &'a Principal, request_id: &'a str) -> Who<'a> {
        Who {
            name: p.name.as_deref().unwrap_or("-"),
            role: p.role.map_or("none", |r| r.as_str()),
            addr: p.addr.map_or_else(|| "-".to_owned(), |a| a.to_string()),
            request_id,
        }
    }
}

impl Counters {
    /// A sign-in, sign-out, password change or refused credential. `name` is what the
    /// client claimed (for a failed sign-in, maybe no user at all).
    pub fn event(&self, event: &'static str, outcome: &'static str, who: &Who<'_>) {
        self.events
            .get_or_create(&EventLabels { event, outcome })
            .inc();
        tracing::info!(
            target: "rackscope::audit",
            event,
            outcome,
            user = %who.name.escape_debug(),
            role = who.role,
            addr = %who.addr,
            request_id = who.request_id,
            "auth"
        );
    }

    /// A request that changes something, with its answer.
    pub fn write(&self, method: &str, route: &str, status: u16, who: &Who<'_>) {
        let outcome = if status < 400 { "done" } else { "refused" };
        self.writes
            .get_or_create(&WriteLabels {
                role: who.role,
                outcome,
            })
            .inc();
        tracing::info!(
            target: "rackscope::audit",
            event = "write",
            method,
            route,
            status,
            user = %who.name.escape_debug(),
            role = who.role,
            addr = %who.addr,
            request_id = who.request_id,
            "auth"
        );
    }

    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "rackscope_auth_events",
            "Sign-ins, sign-outs, password changes and refused credentials, by outcome",
            self.events.clone(),
        );
        registry.register(
            "rackscope_audit_writes",
            "Requests that change something, by the client's role and whether they were done",
            self.writes.clone(),
        );
    }
}
