//! `/alerts/export?format=csv|json&…`: the alerts page's rows, every page of them, in the
//! filters and order of its URL. JSON rows are `/api/alerts/active`'s; CSV cells that a
//! spreadsheet would run as a formula are quoted as text.

use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use rackscope_core::read::triage::{AlertsQuery, Triage};

use crate::server::AppState;
use crate::server::wire::alerts::{AlertView, MaintenanceMark};

#[derive(Debug, Deserialize)]
pub struct Format {
    pub format: Option<String>,
}

#[utoipa::path(
    get,
    path = "/alerts/export",
    operation_id = "alertsExport",
    tag = "alerts",
    summary = "The alerts page's rows as CSV or JSON (an addition)",
    description = "Every active alert that the alerts page's filters select (`severity`, `type` node|chassis|rack|slot, `site`, `room`, `rack`, `check`, `q`), in its order (`sort` state|where|location|checks|since, `dir` asc|desc), all pages. `format=csv` (the default) or `json` (`{alerts: [...]}`, each row as in /api/alerts/active). Maintenance applies as in every list.",
    params(
        ("format" = Option<String>, Query, description = "csv (default) or json"),
    ),
    responses(
        (status = 200, description = "The rows, as an attachment", content_type = "text/csv"),
        (status = 400, description = "A format other than csv or json"),
    )
)]
pub async fn export(
    State(st): State<AppState>,
    Query(f): Query<Format>,
    Query(q): Query<AlertsQuery>,
) -> Response {
    let snap = st.engine.snapshot();
    let m = st.engine.maintenances();
    // The alerts as every list shows them (maintenance applied); none before a refresh.
    let all = match snap.as_deref() {
        Some(s) => rackscope_core::read::maintenance::apply(
            &rackscope_core::read::maintenance::coverage(&m, s),
            rackscope_core::read::located_alerts(s),
        ),
        None => Vec::new(),
    };
    let config = st.engine.config();
    let rows = Triage::of(q).select(&config.topology, &all);
    let views: Vec<AlertView<'_>> = rows
        .iter()
        .map(|marked| AlertView {
            maintenance: marked.maintenance.map(MaintenanceMark::of),
            ..AlertView::from(marked.alert.clone())
        })
        .collect();
    match f.format.as_deref() {
        Some("json") => (
            [
                (header::CONTENT_TYPE, "application/json"),
                (
                    header::CONTENT_DISPOSITION,
                    "attachment; filename=\"rackscope-alerts.json\"",
                ),
            ],
            serde_json::to_string(&serde_json::json!({ "alerts": views }))
                .unwrap_or_else(|_| "{\"alerts\":[]}".into()),
        )
            .into_response(),
        Some("csv") | None => (
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
                (
                    header::CONTENT_DISPOSITION,
                    "attachment; filename=\"rackscope-alerts.csv\"",
                ),
            ],
            csv(&views),
        )
            .into_response(),
        Some(_) => (StatusCode::BAD_REQUEST, "format is csv or json".to_owned()).into_response(),
    }
}

const COLUMNS: [&str; 14] = [
    "state",
    "type",
    "target",
    "site",
    "room",
    "aisle",
    "rack",
    "rack_path",
    "device",
    "u",
    "checks",
    "active_since",
    "pending",
    "maintenance",
];

fn csv(views: &[AlertView<'_>]) -> String {
    let mut out = COLUMNS.join(",");
    out.push_str("\r\n");
    for v in views {
        let checks = v
            .checks
            .iter()
            .map(|c| {
                let mut s = format!("{} {}", c.id, c.severity);
                if let Some(slot) = c.slot {
                    s.push_str(&format!(" [{slot}]"));
                }
                if let Some(x) = c.value {
                    s.push_str(&format!(" = {x}"));
                }
                if let Some(m) = c.message {
                    s.push_str(&format!(": {m}"));
                }
                s
            })
            .collect::<Vec<_>>()
            .join("; ");
        let since = u64::try_from(v.active_since)
            .map(rackscope_core::clock::format_utc)
            .unwrap_or_default();
        let cells = [
            v.state.to_owned(),
            v.target_type.to_owned(),
            v.node_id.or(v.device_name).unwrap_or(v.rack_id).to_owned(),
            v.site_name.to_owned(),
            v.room_name.to_owned(),
            v.aisle_name.unwrap_or_default().to_owned(),
            v.rack_name.to_owned(),
            v.rack_path.clone(),
            v.device_id.unwrap_or_default().to_owned(),
            v.u_position.map(|u| u.to_string()).unwrap_or_default(),
            checks,
            since,
            v.pending
                .as_ref()
                .map(|p| p.severity.to_owned())
                .unwrap_or_default(),
            v.maintenance
                .as_ref()
                .map(|m| format!("{} ({})", m.id, m.reason))
                .unwrap_or_default(),
        ];
        let line: Vec<String> = cells.iter().map(|c| cell(c)).collect();
        out.push_str(&line.join(","));
        out.push_str("\r\n");
    }
    out
}

/// One CSV cell (RFC 4180): quoted when it holds a comma, a quote or a line break; a
/// leading `=`, `+`, `-`, `@`, tab or carriage return is prefixed with `'`, so that a
/// spreadsheet shows an id or a script message from a hostile config as text instead of
/// running it.
pub fn cell(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_owned()
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::cell;

    #[test]
    fn cells_are_quoted_and_formulas_defused() {
        assert_eq!(cell("n01"), "n01");
        assert_eq!(cell("a,b"), "\"a,b\"");
        assert_eq!(cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(cell("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(cell("-1"), "'-1");
        assert_eq!(cell("two\nlines"), "\"two\nlines\"");
    }
}
