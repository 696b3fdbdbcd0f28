//! The alerts table, filtered by severity, site and room.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use rackscope_core::Config;
use rackscope_core::maintenance::Maintenances;
use rackscope_core::read::maintenance::Marked;
use rackscope_core::telemetry::Snapshot;
use serde::{Deserialize, Serialize};

use crate::server::AppState;
use crate::ui::chrome::{Above, chrome, crumbs, world};
use crate::ui::rows::{AlertRow, alert_row};
use crate::ui::{Ctx, Page, html};

#[derive(Debug, Serialize)]
pub struct Choice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

#[derive(Debug, Serialize)]
pub struct AlertsPage {
    pub rows: Vec<AlertRow>,
    pub total: usize,
    pub matched: usize,
    pub severities: Vec<Choice>,
    pub sites: Vec<Choice>,
    pub rooms: Vec<Choice>,
}

impl Page for AlertsPage {
    const TEMPLATE: &'static str = "alerts.html";
}

#[derive(Deserialize)]
pub struct AlertsQuery {
    pub severity: Option<String>,
    pub site: Option<String>,
    pub room: Option<String>,
}

/// Enough for a shift's worst; more would pass 200 KB on a large site (2,000 alerts).
const MAX_ALERT_ROWS: usize = 250;

pub async fn handler(
    State(st): State<AppState>,
    ctx: Ctx,
    Query(q): Query<AlertsQuery>,
) -> Response {
    let (snap, config) = world(&st);
    let snap = snap.as_deref();
    let m = st.engine.maintenances();
    let page = build(snap, &config, &m, q);
    let crumbs = crumbs(&config.topology, Above::Overview);
    let c = chrome(&st, &ctx, &config, snap, "Alerts", "alerts", crumbs);
    html(&st, &ctx, StatusCode::OK, &c, &page)
}

/// `m`: the maintenance windows, judged at the snapshot's publication (hidden alerts are
/// not listed, badged ones marked).
pub fn build(
    snap: Option<&Snapshot>,
    config: &Config,
    m: &Maintenances,
    q: AlertsQuery,
) -> AlertsPage {
    let topo = &config.topology;
    let cover = crate::ui::maint::cover(snap, config, m);
    let all = crate::ui::maint::shown_alerts(snap, &cover, |_| true);
    let sev = q.severity.filter(|s| !s.is_empty());
    let site = q.site.filter(|s| !s.is_empty());
    let room = q.room.filter(|s| !s.is_empty());
    // The room filter takes a room key (a short id where unique, else `site/room`); a
    // shared short id matches each room that carries it, as it did before paths existed.
    let rooms = room.as_deref().map(|r| topo.find_room(r).all());
    let matched: Vec<&Marked<'_, '_>> = all
        .iter()
        .filter(|a| sev.as_deref().is_none_or(|s| a.alert.state.as_str() == s))
        .filter(|a| site.as_deref().is_none_or(|s| a.alert.site.id == s))
        .filter(|a| {
            rooms
                .as_ref()
                .is_none_or(|rs| rs.contains(&topo.racks[a.alert.rack_ix].room))
        })
        .collect();
    let choice = |v: &str, l: &str, cur: &Option<String>| Choice {
        value: v.to_owned(),
        label: l.to_owned(),
        selected: cur.as_deref() == Some(v),
    };
    AlertsPage {
        total: all.len(),
        matched: matched.len(),
        rows: matched
            .iter()
            .take(MAX_ALERT_ROWS)
            .map(|a| alert_row(topo, a))
            .collect(),
        severities: [("CRIT", "✖ CRIT"), ("WARN", "▲ WARN")]
            .iter()
            .map(|(v, l)| choice(v, l, &sev))
            .collect(),
        sites: topo
            .sites
            .iter()
            .map(|s| choice(&s.id, &s.name, &site))
            .collect(),
        rooms: topo
            .rooms
            .iter_ix()
            .filter(|(_, r)| site.as_deref().is_none_or(|s| topo.sites[r.site].id == s))
            .map(|(ix, r)| choice(&topo.room_key(ix), &r.name, &room))
            .collect(),
    }
}
