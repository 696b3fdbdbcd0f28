//! `/alerts/feed`: what the pages' notifications read at each live update: the bell's
//! counts and the newest alerts, each with a stable id, so that the browser toasts the
//! ones it has not seen. Small by construction: counts plus at most `MAX_FEED` rows.

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::server::AppState;
use crate::ui::chrome::world;
use crate::ui::rows::alert_row;

/// The newest alerts a feed carries: more new ones at once are summed up in one toast.
const MAX_FEED: usize = 100;

#[derive(Debug, Serialize)]
struct FeedItem {
    /// Stable across refreshes and reloads: the type, the rack's path and the target.
    id: String,
    state: &'static str,
    name: String,
    place: String,
    url: String,
    checks: String,
    since: i64,
}

#[derive(Debug, Serialize)]
struct Feed {
    seq: u64,
    crit: usize,
    warn: usize,
    /// Alerts in all; `alerts` holds the newest `MAX_FEED`.
    total: usize,
    alerts: Vec<FeedItem>,
}

pub async fn feed(State(st): State<AppState>) -> Response {
    let (snap, config) = world(&st);
    let snap = snap.as_deref();
    let m = st.engine.maintenances();
    let cover = crate::ui::maint::cover(snap, &config, &m);
    let mut all = crate::ui::maint::shown_alerts(snap, &cover, |_| true);
    let count = |s| all.iter().filter(|a| a.alert.state == s).count();
    let (crit, warn) = (
        count(rackscope_core::Severity::Crit),
        count(rackscope_core::Severity::Warn),
    );
    let total = all.len();
    all.sort_by_key(|a| std::cmp::Reverse(a.alert.since));
    let topo = &config.topology;
    let alerts = all
        .iter()
        .take(MAX_FEED)
        .map(|m| {
            let a = &m.alert;
            let row = alert_row(topo, m);
            FeedItem {
                id: format!(
                    "{}:{}:{}",
                    a.target_type().as_str(),
                    topo.rack_path(a.rack_ix),
                    a.key
                ),
                state: a.state.as_str(),
                name: row.name,
                place: row.path,
                url: row.url,
                checks: row.checks,
                since: rackscope_core::clock::unix_seconds(a.since),
            }
        })
        .collect();
    Json(Feed {
        seq: snap.map_or(0, |s| s.seq),
        crit,
        warn,
        total,
        alerts,
    })
    .into_response()
}
