//! Rackscope's own log over the API, as the Python version's routes, administrators only:
//! `GET /api/logs` (the newest entries that match), `DELETE /api/logs` (clears the
//! buffer) and `GET /api/logs/stream` (server-sent events of new entries). The entries
//! are the `LogBook`'s, already redacted and bounded; here only the requests are bounded:
//! `n`, the search, the number of streams and how long each lasts.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, Method, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::logbook::{CAPACITY, Filter, LogBook, Record};
use crate::server::AppState;
use crate::server::error::{ApiError, ErrorBody};
use crate::server::routes::{Need, Routes};

/// Streams open at once, over every client (the Python version's 5): each holds a task
/// and a connection, and an administrator needs one or two.
pub const MAX_STREAMS: usize = 5;
/// A stream ends after this; the browser opens a new one, through the gate again, so a
/// session that expired or a user demoted stops receiving the log.
pub const MAX_STREAM_TIME: Duration = Duration::from_secs(10 * 60);
/// A comment this often keeps proxies from closing a quiet stream.
pub const PING: Duration = Duration::from_secs(30);
/// At most one batch per this long: a burst of entries goes out together, and a stream
/// that itself causes log lines (a debug level on the HTTP stack) cannot spin.
const MIN_GAP: Duration = Duration::from_millis(250);
/// Entries returned when `n` is not given.
pub const DEFAULT_N: usize = 200;

pub fn routes() -> Routes {
    Routes::new()
        .route(
            "/api/logs",
            &[(Method::GET, Need::ADMIN), (Method::DELETE, Need::ADMIN)],
            get(list).delete(clear),
        )
        .route(
            "/api/logs/stream",
            &[(Method::GET, Need::ADMIN)],
            get(stream),
        )
}

/// `GET /api/logs`'s query.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LogsQuery {
    /// How many entries, newest last: 1 to 1000 (clamped), 200 by default.
    #[param(value_type = Option<i64>)]
    pub n: Option<String>,
    /// Only this level (`INFO`, `WARN`, `ERROR`, …; any case; `WARNING` is `WARN`).
    pub level: Option<String>,
    /// Only entries whose message or logger contains this (any case).
    pub search: Option<String>,
    /// Only entries after this `_seq`.
    #[param(value_type = Option<u64>)]
    pub since_seq: Option<String>,
}

/// The newest entries that match.
#[derive(Debug, Serialize, ToSchema)]
pub struct LogTail {
    /// Oldest first.
    pub records: Vec<Record>,
    /// How many entries in the buffer match (at most `n` of them are in `records`).
    pub total: usize,
    /// The `_seq` of the newest entry logged, matching or not: the next `since_seq`.
    pub last_seq: u64,
}

/// `n` as given, clamped to 1..=1000; 200 when absent or empty.
pub fn n_of(n: Option<&str>) -> Result<usize, ApiError> {
    match n.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(DEFAULT_N),
        Some(s) => s
            .parse::<i64>()
            .map(|n| usize::try_from(n.clamp(1, CAPACITY as i64)).unwrap_or(DEFAULT_N))
            .map_err(|_| ApiError::BadRequest(format!("n must be a whole number, not `{s}`"))),
    }
}

/// `since_seq` as given; 0 when absent, empty or negative.
pub fn since_of(s: Option<&str>) -> Result<u64, ApiError> {
    match s.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(0),
        Some(s) => s
            .parse::<i64>()
            .map(|v| u64::try_from(v).unwrap_or(0))
            .map_err(|_| {
                ApiError::BadRequest(format!("since_seq must be a whole number, not `{s}`"))
            }),
    }
}

/// The entries `q` asks for.
pub fn tail_of(book: &LogBook, q: &LogsQuery) -> Result<LogTail, ApiError> {
    let n = n_of(q.n.as_deref())?;
    let since = since_of(q.since_seq.as_deref())?;
    let filter = Filter::new(q.level.as_deref(), q.search.as_deref());
    let t = book.tail(&filter, since, n);
    Ok(LogTail {
        records: t.records.iter().map(|r| (**r).clone()).collect(),
        total: t.total,
        last_seq: t.last_seq,
    })
}

#[utoipa::path(
    get,
    path = "/api/logs",
    operation_id = "logs",
    tag = "logs",
    summary = "Rackscope's own log: the newest entries that match (administrators)",
    description = "From a ring buffer of the last 1000 entries, redacted as they were captured (credentials in URLs, password, token, secret, api_key and authorization values, API tokens, JSON Web Tokens). The buffer holds INFO and above, and whatever more RACKSCOPE_LOG lets through. `fields` holds the event's other fields and those of its spans (a request's `request_id`, `method`, `uri`).",
    params(LogsQuery),
    responses(
        (status = 200, description = "Entries, oldest first", body = LogTail, example = json!({"records": [{"_seq": 41, "ts": "2026-03-01T12:00:00.123Z", "level": "WARN", "logger": "rackscope_core::telemetry::engine", "message": "query failed", "fields": {"query": "up{job=\"node\"}", "error": "connection refused"}}], "total": 1, "last_seq": 57})),
        (status = 400, description = "`n` or `since_seq` is not a number", body = ErrorBody),
    )
)]
pub(crate) async fn list(
    State(st): State<AppState>,
    Query(q): Query<LogsQuery>,
) -> Result<Json<LogTail>, ApiError> {
    tail_of(&st.logs, &q).map(Json)
}

/// What a clear dropped.
#[derive(Debug, Serialize, ToSchema)]
pub struct Cleared {
    pub cleared: usize,
}

#[utoipa::path(
    delete,
    path = "/api/logs",
    operation_id = "logsClear",
    tag = "logs",
    summary = "Empty the log buffer (administrators)",
    description = "Numbering goes on: the next entry's `_seq` follows the last one before the clear. With sign-in off, allowed only where the editors are (a server on loopback, or `editors.enabled: true`): otherwise anyone could erase what the log shows.",
    responses(
        (status = 200, description = "How many entries were dropped", body = Cleared, example = json!({"cleared": 212})),
        (status = 403, description = "Sign-in is off and the server listens beyond loopback", body = ErrorBody),
    )
)]
pub(crate) async fn clear(State(st): State<AppState>) -> Result<Json<Cleared>, ApiError> {
    crate::server::editing_api::editors_allowed(&st).map_err(|why| {
        ApiError::Forbidden(why.replace("editing the configuration", "clearing the log"))
    })?;
    let cleared = st.logs.clear();
    tracing::info!(cleared, "The log buffer was cleared.");
    Ok(Json(Cleared { cleared }))
}

/// `GET /api/logs/stream`'s query.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StreamQuery {
    /// Only this level (as `/api/logs`).
    pub level: Option<String>,
    /// Only entries whose message or logger contains this (any case).
    pub search: Option<String>,
    /// Start after this `_seq` (the `last_seq` of a list just read), rather than with
    /// the next entry. A reconnecting browser's `Last-Event-ID` wins over it.
    #[param(value_type = Option<u64>)]
    pub since_seq: Option<String>,
}

#[utoipa::path(
    get,
    path = "/api/logs/stream",
    operation_id = "logsStream",
    tag = "logs",
    summary = "New log entries as server-sent events (administrators)",
    description = "Each event's data is one record of `/api/logs` and its id the record's `_seq` (a reconnecting EventSource resumes after it). A `: ping` comment every 30 s while quiet; the stream ends after 10 minutes (the browser reconnects). At most 5 streams are open at once: another gets a single event `data: {\"error\": \"...\"}` and the stream ends.",
    params(StreamQuery),
    responses(
        (status = 200, description = "Server-sent events", content_type = "text/event-stream", body = String),
        (status = 400, description = "`since_seq` is not a number", body = ErrorBody),
    )
)]
pub(crate) async fn stream(
    State(st): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<StreamQuery>,
) -> Result<Response, ApiError> {
    let filter = Filter::new(q.level.as_deref(), q.search.as_deref());
    let resume = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    let since = match resume {
        Some(id) => Some(id),
        None => q
            .since_seq
            .as_deref()
            .filter(|s| !s.trim().is_empty())
            .map(|s| since_of(Some(s)))
            .transpose()?,
    };
    let Ok(permit) = st.log_streams.clone().try_acquire_owned() else {
        let refusal = serde_json::json!({
            "error": format!("too many log streams are open (at most {MAX_STREAMS}); close one and retry"),
        });
        let once = futures_util::stream::once(async move {
            Ok::<_, Infallible>(Event::default().data(refusal.to_string()))
        });
        return Ok(sse_headers(Sse::new(once).into_response()));
    };
    let book = st.logs.clone();
    let last = book.last_seq();
    // A resume point past the newest entry is another process's numbering (the server
    // restarted): everything kept is new to this reader.
    let cursor = match since {
        Some(s) if s > last => 0,
        Some(s) => s,
        None => last,
    };
    let tail = Tailing {
        rx: book.subscribe(),
        book,
        filter,
        cursor,
        pending: VecDeque::new(),
        closing: st.closing.subscribe(),
        until: tokio::time::Instant::now() + MAX_STREAM_TIME,
        _permit: permit,
    };
    let events = futures_util::stream::unfold(tail, |mut t| async move {
        let rec = t.next().await?;
        let event = Event::default()
            .id(rec.seq.to_string())
            .data(serde_json::to_string(&*rec).unwrap_or_else(|_| "{}".to_owned()));
        Some((Ok::<_, Infallible>(event), t))
    });
    let sse = Sse::new(events).keep_alive(KeepAlive::new().interval(PING).text("ping"));
    Ok(sse_headers(sse.into_response()))
}

/// Proxies (nginx) must pass each event on at once, and nothing may cache the stream.
fn sse_headers(mut r: Response) -> Response {
    let h = r.headers_mut();
    h.insert("x-accel-buffering", HeaderValue::from_static("no"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// One stream's position in the log.
struct Tailing {
    book: Arc<LogBook>,
    rx: tokio::sync::watch::Receiver<u64>,
    filter: Filter,
    /// The `_seq` after which entries are new to this reader.
    cursor: u64,
    pending: VecDeque<Arc<Record>>,
    closing: tokio::sync::watch::Receiver<bool>,
    until: tokio::time::Instant,
    _permit: tokio::sync::OwnedSemaphorePermit,
}

impl Tailing {
    /// The next entry for this reader, waiting for one; `None` when the stream is over
    /// (its time is up, or the server is closing).
    async fn next(&mut self) -> Option<Arc<Record>> {
        loop {
            if let Some(r) = self.pending.pop_front() {
                return Some(r);
            }
            if *self.closing.borrow() || tokio::time::Instant::now() >= self.until {
                return None;
            }
            let t = self.book.tail(&self.filter, self.cursor, CAPACITY);
            self.cursor = self.cursor.max(t.last_seq);
            if !t.records.is_empty() {
                self.pending.extend(t.records);
                continue;
            }
            tokio::select! {
                changed = self.rx.changed() => changed.ok()?,
                _ = self.closing.wait_for(|c| *c) => return None,
                () = tokio::time::sleep_until(self.until) => return None,
            }
            tokio::time::sleep(MIN_GAP).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn n_is_clamped_and_checked() {
        assert_eq!(n_of(None).ok(), Some(200));
        assert_eq!(n_of(Some("")).ok(), Some(200));
        assert_eq!(n_of(Some("0")).ok(), Some(1));
        assert_eq!(n_of(Some("-5")).ok(), Some(1));
        assert_eq!(n_of(Some("50")).ok(), Some(50));
        assert_eq!(n_of(Some("99999999999")).ok(), Some(1000));
        assert!(n_of(Some("ten")).is_err());
        assert_eq!(since_of(Some("-1")).ok(), Some(0));
        assert!(since_of(Some("x")).is_err());
    }
}
