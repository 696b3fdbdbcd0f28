//! `/logs`: Rackscope's own log for administrators, the newest entries of the `LogBook`
//! that match a level and a search, rendered on the server (a GET form, so it works with
//! JavaScript off and a filtered view can be bookmarked). With JavaScript on, `logs.js`
//! follows `/api/logs/stream` with the same filters and appends each new entry, with a
//! pause button and auto-scroll. The entries were redacted when captured.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::{Deserialize, Serialize};

use crate::logbook::{CAPACITY, Filter, LEVELS, LogBook, Record};
use crate::server::AppState;
use crate::ui::chrome::{chrome, world};
use crate::ui::urls::enc;
use crate::ui::{Ctx, Page, html};

/// Entries shown when the form does not say.
pub const DEFAULT_ROWS: usize = 200;

/// The form's values, as the URL carries them.
#[derive(Debug, Default, Deserialize)]
pub struct LogsForm {
    pub level: Option<String>,
    pub search: Option<String>,
    pub n: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct LevelOption {
    pub name: &'static str,
    pub selected: bool,
}

#[derive(Debug, Serialize)]
pub struct SizeOption {
    pub n: usize,
    pub selected: bool,
}

/// The row counts the form offers (any other from the URL is added to them).
const SIZES: [usize; 4] = [50, DEFAULT_ROWS, 500, CAPACITY];

/// One entry as a row.
#[derive(Debug, Serialize)]
pub struct LogRow {
    pub seq: u64,
    /// The full timestamp, for the cell's title and `<time datetime>`.
    pub ts: String,
    /// `HH:MM:SS.mmm`, what the cell shows.
    pub time: String,
    pub level: &'static str,
    /// The health class the level borrows its colour from.
    pub class: &'static str,
    pub logger: String,
    pub message: String,
    /// The other fields, `key=value` each.
    pub fields: Vec<String>,
}

impl LogRow {
    pub fn of(r: &Record) -> LogRow {
        LogRow {
            seq: r.seq,
            ts: r.ts.clone(),
            time: r
                .ts
                .split_once('T')
                .map_or(r.ts.as_str(), |(_, t)| t.trim_end_matches('Z'))
                .to_owned(),
            level: r.level,
            class: level_class(r.level),
            logger: r.logger.clone(),
            message: r.message.clone(),
            fields: r.fields.iter().map(|(k, v)| format!("{k}={v}")).collect(),
        }
    }
}

/// ERROR reads as CRIT, WARN as WARN; the rest carry no colour.
pub fn level_class(level: &str) -> &'static str {
    match level {
        "ERROR" => "st-CRIT",
        "WARN" => "st-WARN",
        "INFO" => "st-OK",
        _ => "st-NONE",
    }
}

#[derive(Debug, Serialize)]
pub struct LogsPage {
    /// The level asked for, upper case; empty for every level.
    pub level: String,
    pub search: String,
    pub n: usize,
    pub levels: Vec<LevelOption>,
    pub sizes: Vec<SizeOption>,
    /// Oldest first: the newest at the bottom, where the live entries are appended.
    pub rows: Vec<LogRow>,
    /// How many kept entries match (the page shows the newest `n`).
    pub total: usize,
    pub capacity: usize,
    /// The `_seq` of the newest entry logged: the stream starts after it.
    pub last_seq: u64,
    /// This view's URL (to reload it) and the stream's, with the same filters.
    pub here: String,
    pub stream: String,
}

impl Page for LogsPage {
    const TEMPLATE: &'static str = "logs.html";
}

/// The page for `form`, from the entries `book` holds now.
pub fn build(book: &LogBook, form: &LogsForm) -> LogsPage {
    let filter = Filter::new(form.level.as_deref(), form.search.as_deref());
    let level = filter.level().unwrap_or("").to_owned();
    let search = form.search.as_deref().unwrap_or("").trim().to_owned();
    // A form has no way to send a bad number but a hand-written URL does: the default then.
    let n = form
        .n
        .as_deref()
        .and_then(|n| n.trim().parse::<i64>().ok())
        .map_or(DEFAULT_ROWS, |n| {
            usize::try_from(n.clamp(1, CAPACITY as i64)).unwrap_or(DEFAULT_ROWS)
        });
    let t = book.tail(&filter, 0, n);
    let mut query = Vec::new();
    if !level.is_empty() {
        query.push(format!("level={}", enc(&level)));
    }
    if !search.is_empty() {
        query.push(format!("search={}", enc(&search)));
    }
    let mut view = query.clone();
    if n != DEFAULT_ROWS {
        view.push(format!("n={n}"));
    }
    let qs = |q: &[String]| {
        if q.is_empty() {
            String::new()
        } else {
            format!("?{}", q.join("&"))
        }
    };
    query.push(format!("since_seq={}", t.last_seq));
    LogsPage {
        levels: LEVELS
            .iter()
            .map(|l| LevelOption {
                name: l,
                selected: *l == level,
            })
            .collect(),
        sizes: {
            let mut sizes = SIZES.to_vec();
            if !sizes.contains(&n) {
                sizes.push(n);
                sizes.sort_unstable();
            }
            sizes
                .into_iter()
                .map(|s| SizeOption {
                    n: s,
                    selected: s == n,
                })
                .collect()
        },
        rows: t.records.iter().map(|r| LogRow::of(r)).collect(),
        total: t.total,
        capacity: book.capacity(),
        last_seq: t.last_seq,
        here: format!("/logs{}", qs(&view)),
        stream: format!("/api/logs/stream{}", qs(&query)),
        level,
        search,
        n,
    }
}

/// `GET /logs`.
pub async fn handler(
    State(st): State<AppState>,
    ctx: Ctx,
    Query(form): Query<LogsForm>,
) -> Response {
    let page = build(&st.logs, &form);
    let (snap, config) = world(&st);
    let c = chrome(
        &st,
        &ctx,
        &config,
        snap.as_deref(),
        "Logs",
        "logs",
        Vec::new(),
    );
    html(&st, &ctx, StatusCode::OK, &c, &page)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logbook::Entry;
    use tracing::Level;

    #[test]
    fn the_page_shows_the_newest_matching_oldest_first_with_its_urls() {
        let book = LogBook::new(10);
        for i in 0..5 {
            book.push(Entry::new(Level::WARN, "rackscope::x", &format!("w{i}")).field("k", "v"));
            book.push(Entry::new(Level::INFO, "rackscope::y", &format!("i{i}")));
        }
        let p = build(
            &book,
            &LogsForm {
                level: Some("warn".into()),
                search: Some(" w ".into()),
                n: Some("3".into()),
            },
        );
        assert_eq!(
            p.rows
                .iter()
                .map(|r| r.message.as_str())
                .collect::<Vec<_>>(),
            ["w2", "w3", "w4"]
        );
        assert_eq!(p.total, 5);
        assert_eq!(p.level, "WARN");
        assert_eq!(p.rows[0].fields, ["k=v"]);
        assert_eq!(p.rows[0].class, "st-WARN");
        assert_eq!(p.here, "/logs?level=WARN&search=w&n=3");
        assert_eq!(
            p.stream,
            "/api/logs/stream?level=WARN&search=w&since_seq=10"
        );
        assert!(p.levels.iter().any(|l| l.name == "WARN" && l.selected));

        let p = build(
            &book,
            &LogsForm {
                n: Some("lots".into()),
                ..LogsForm::default()
            },
        );
        assert_eq!(p.n, DEFAULT_ROWS);
        assert_eq!(p.rows.len(), 10);
        assert_eq!(p.here, "/logs");
        assert_eq!(p.stream, "/api/logs/stream?since_seq=10");
    }

    #[test]
    fn a_row_shows_the_time_of_day() {
        let book = LogBook::new(1);
        let r = book.push(Entry::new(Level::ERROR, "t", "m"));
        let row = LogRow::of(&r);
        assert_eq!(row.time.len(), "12:00:00.123".len(), "{}", row.time);
        assert_eq!(row.class, "st-CRIT");
    }
}
