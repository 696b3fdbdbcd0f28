//! `/alerts`: the triage table. Sorted by any column, filtered by severity, type, site,
//! room, rack, check and text, paged, each alert with how long it has been active and any
//! escalation pending its `for:`; the view lives in the URL (bookmarks, wallboards) and
//! `/alerts/export` (`server::alerts_export`) gives the same rows as CSV or JSON.

mod feed;
mod triage;

use std::collections::BTreeSet;
use std::time::SystemTime;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use rackscope_core::Config;
use rackscope_core::maintenance::Maintenances;
use rackscope_core::telemetry::Snapshot;
use serde::Serialize;

pub use feed::feed;
pub use rackscope_core::read::triage::AlertsQuery;
use rackscope_core::read::triage::{Column, PER_CHOICES, Triage};
use triage::href;

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

/// A column header: a link that sorts by it, and the arrow of the current sort.
#[derive(Debug, Serialize)]
pub struct Header {
    pub label: &'static str,
    pub url: String,
    pub arrow: &'static str,
    /// `aria-sort`'s value.
    pub aria: &'static str,
}

#[derive(Debug, Serialize)]
pub struct TriageRow {
    #[serde(flatten)]
    pub row: AlertRow,
    /// "3 h 12 min", from the snapshot's time.
    pub active: String,
    /// Unix seconds, for the browser's "new since your last visit" mark.
    pub since: i64,
    pub pending: Option<String>,
    pub kind: &'static str,
}

#[derive(Debug, Serialize)]
pub struct AlertsPage {
    pub rows: Vec<TriageRow>,
    pub total: usize,
    pub matched: usize,
    /// 1-based rows shown, and the pages.
    pub first: usize,
    pub last: usize,
    pub page: usize,
    pub pages: usize,
    pub prev_url: Option<String>,
    pub next_url: Option<String>,
    pub headers: Vec<Header>,
    pub severities: Vec<Choice>,
    pub kinds: Vec<Choice>,
    pub sites: Vec<Choice>,
    pub rooms: Vec<Choice>,
    pub checks: Vec<Choice>,
    pub pers: Vec<Choice>,
    pub rack: String,
    pub text: String,
    pub csv_url: String,
    pub json_url: String,
    pub filtered: bool,
    /// The snapshot's time (unix seconds): what the browser remembers as its last visit.
    pub now: i64,
    /// Targets whose failing state waits out its `for:`, under the same filters.
    pub pending: Vec<TriageRow>,
    pub pending_more: usize,
}

/// The most pending escalations listed under the table.
const MAX_PENDING: usize = 100;

impl Page for AlertsPage {
    const TEMPLATE: &'static str = "alerts.html";
}

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

/// "45 s", "12 min", "3 h 12 min", "2 d 4 h".
pub fn active_text(secs: u64) -> String {
    match secs {
        s if s < 60 => format!("{s} s"),
        s if s < 3600 => format!("{} min", s / 60),
        s if s < 86_400 => format!("{} h {} min", s / 3600, s % 3600 / 60),
        s => format!("{} d {} h", s / 86_400, s % 86_400 / 3600),
    }
}

fn since_secs(now: SystemTime, t: SystemTime) -> u64 {
    now.duration_since(t).map_or(0, |d| d.as_secs())
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
    let t = Triage::of(q);
    let matched = t.select(topo, &all);
    let (range, pages) = t.window(matched.len());
    let page = t.page.min(pages);
    let now = snap.map_or(SystemTime::UNIX_EPOCH, |s| s.taken_at);
    let row = |a: &&rackscope_core::read::maintenance::Marked<'_, '_>| TriageRow {
        row: alert_row(topo, a),
        active: active_text(since_secs(now, a.alert.since)),
        since: a
            .alert
            .since
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64),
        pending: a.alert.pending.map(|p| {
            format!(
                "{} pending for {}",
                p.severity.as_str(),
                active_text(since_secs(now, p.since))
            )
        }),
        kind: a.alert.target_type().as_str(),
    };
    let rows = matched[range.clone()].iter().map(row).collect();
    let pending_all: Vec<rackscope_core::read::maintenance::Marked<'_, '_>> = snap
        .map(rackscope_core::read::alerts::pending_alerts)
        .unwrap_or_default()
        .into_iter()
        .map(|alert| rackscope_core::read::maintenance::Marked {
            alert,
            maintenance: None,
        })
        .collect();
    let pending_matched = t.select(topo, &pending_all);
    let choice = |v: &str, l: &str, cur: &Option<String>| Choice {
        value: v.to_owned(),
        label: l.to_owned(),
        selected: cur.as_deref() == Some(v),
    };
    let headers = [
        (Column::State, "State"),
        (Column::Where, "Where"),
        (Column::Location, "Location"),
        (Column::Checks, "Checks"),
        (Column::Since, "Active for"),
    ]
    .into_iter()
    .map(|(col, label)| {
        let on = t.sort == Some(col);
        // A click on the sorted column turns it round; on another, its natural order
        // (the worst, the longest active first).
        let desc = if on {
            !t.desc
        } else {
            matches!(col, Column::State)
        };
        let dir = if desc { "desc" } else { "asc" };
        Header {
            label,
            url: format!(
                "/alerts{}",
                href(
                    &t,
                    &[
                        ("sort", Some(col.key().to_owned())),
                        ("dir", Some(dir.to_owned())),
                        ("page", None),
                    ]
                )
            ),
            arrow: match (on, t.desc) {
                (false, _) => "",
                (true, true) => " ▼",
                (true, false) => " ▲",
            },
            aria: match (on, t.desc) {
                (false, _) => "none",
                (true, true) => "descending",
                (true, false) => "ascending",
            },
        }
    })
    .collect();
    let checks: BTreeSet<&str> = all
        .iter()
        .flat_map(|a| a.alert.checks.iter().map(|c| c.id))
        .chain(t.check.as_deref())
        .collect();
    let export_q = href(&t, &[("page", None), ("per", None)]);
    let sep = if export_q.is_empty() { "?" } else { "&" };
    AlertsPage {
        rows,
        total: all.len(),
        matched: matched.len(),
        first: if range.is_empty() { 0 } else { range.start + 1 },
        last: range.end,
        page,
        pages,
        prev_url: (page > 1).then(|| {
            format!(
                "/alerts{}",
                href(&t, &[("page", (page > 2).then(|| (page - 1).to_string()))])
            )
        }),
        next_url: (page < pages).then(|| {
            format!(
                "/alerts{}",
                href(&t, &[("page", Some((page + 1).to_string()))])
            )
        }),
        headers,
        severities: [("CRIT", "✖ CRIT"), ("WARN", "▲ WARN")]
            .iter()
            .map(|(v, l)| choice(v, l, &t.severity))
            .collect(),
        kinds: [
            ("node", "node"),
            ("chassis", "chassis"),
            ("rack", "rack"),
            ("slot", "disk slot"),
        ]
        .iter()
        .map(|(v, l)| choice(v, l, &t.kind))
        .collect(),
        sites: topo
            .sites
            .iter()
            .map(|s| choice(&s.id, &s.name, &t.site))
            .collect(),
        rooms: topo
            .rooms
            .iter_ix()
            .filter(|(_, r)| t.site.as_deref().is_none_or(|s| topo.sites[r.site].id == s))
            .map(|(ix, r)| choice(&topo.room_key(ix), &r.name, &t.room))
            .collect(),
        checks: checks.iter().map(|c| choice(c, c, &t.check)).collect(),
        pers: PER_CHOICES
            .iter()
            .map(|p| {
                let v = p.to_string();
                Choice {
                    selected: *p == t.per,
                    label: v.clone(),
                    value: v,
                }
            })
            .collect(),
        rack: t.rack.clone().unwrap_or_default(),
        text: t.text.clone().unwrap_or_default(),
        csv_url: format!("/alerts/export{export_q}{sep}format=csv"),
        json_url: format!("/alerts/export{export_q}{sep}format=json"),
        filtered: t.severity.is_some()
            || t.kind.is_some()
            || t.site.is_some()
            || t.room.is_some()
            || t.rack.is_some()
            || t.check.is_some()
            || t.text.is_some(),
        now: rackscope_core::clock::unix_seconds(now),
        pending: pending_matched.iter().take(MAX_PENDING).map(row).collect(),
        pending_more: pending_matched.len().saturating_sub(MAX_PENDING),
    }
}
