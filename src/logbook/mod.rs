//! Rackscope's own log, kept for administrators: a ring buffer of the last `CAPACITY`
//! entries (the Python version's 1 000), each with a `_seq` that only grows, redacted and
//! bounded as it is captured (`Entry`), read by `/api/logs`, its stream and the `/logs`
//! page. `layer` captures tracing events into it and writes the process's log as text or
//! JSON lines. A `LogBook` is a value handed to the server (`AppState::with_logs`), not a
//! global: the binary passes the one its layer writes to, tests their own.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::SystemTime;

use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};
use tokio::sync::watch;

pub mod layer;
pub mod redact;

/// Entries kept.
pub const CAPACITY: usize = 1000;
/// Bytes of a message kept (more is cut at a character boundary, marked with `…`).
pub const MAX_MESSAGE: usize = 4096;
/// Fields kept per entry, the spans' included.
pub const MAX_FIELDS: usize = 32;
/// Bytes of a field's name.
pub const MAX_KEY: usize = 64;
/// Bytes of a field's value.
pub const MAX_VALUE: usize = 1024;
/// Bytes of a logger (tracing target).
pub const MAX_LOGGER: usize = 128;
/// Bytes of every field value of an entry together: with the message, an entry stays under
/// about 9 KB, so a full buffer under about 9 MB whatever was logged.
pub const MAX_FIELD_BYTES: usize = 4096;
/// Characters of a search that are used.
pub const MAX_SEARCH: usize = 200;

/// A level as the API and the JSON lines write it.
pub fn level_name(l: tracing::Level) -> &'static str {
    match l {
        tracing::Level::TRACE => "TRACE",
        tracing::Level::DEBUG => "DEBUG",
        tracing::Level::INFO => "INFO",
        tracing::Level::WARN => "WARN",
        tracing::Level::ERROR => "ERROR",
    }
}

/// The levels, most verbose first, as a filter offers them.
pub const LEVELS: [&str; 5] = ["TRACE", "DEBUG", "INFO", "WARN", "ERROR"];

/// One captured log entry, redacted and bounded.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = LogRecord)]
pub struct Record {
    /// Its place in the log: grows by one per entry, never reused, kept across a clear.
    #[serde(rename = "_seq")]
    pub seq: u64,
    /// RFC 3339, UTC, milliseconds.
    pub ts: String,
    /// `TRACE`, `DEBUG`, `INFO`, `WARN` or `ERROR`.
    #[schema(value_type = String)]
    pub level: &'static str,
    /// The tracing target (`rackscope_core::telemetry::engine`).
    pub logger: String,
    pub message: String,
    /// The event's other fields and those of the spans it happened in, as text, in order.
    #[serde(serialize_with = "as_map")]
    #[schema(value_type = std::collections::HashMap<String, String>)]
    pub fields: Vec<(String, String)>,
}

fn as_map<S: Serializer>(fields: &[(String, String)], s: S) -> Result<S::Ok, S::Error> {
    let mut m = s.serialize_map(Some(fields.len()))?;
    for (k, v) in fields {
        m.serialize_entry(k, v)?;
    }
    m.end()
}

/// An entry before the log book numbers it. Its constructors are the one place where
/// text is bounded and redacted, so whatever builds one (the tracing layer, a test) gets
/// the same guarantees.
#[derive(Debug, Clone)]
pub struct Entry {
    ts: String,
    level: tracing::Level,
    logger: String,
    message: String,
    fields: Vec<(String, String)>,
    field_bytes: usize,
}

impl Entry {
    /// An entry logged now.
    pub fn new(level: tracing::Level, logger: &str, message: &str) -> Entry {
        Entry {
            ts: rfc3339_millis(SystemTime::now()),
            level,
            logger: bound(logger, MAX_LOGGER).into_owned(),
            message: clean(message, MAX_MESSAGE),
            fields: Vec::new(),
            field_bytes: 0,
        }
    }

    /// With a field, unless its name is already there or the entry has all it may keep. A
    /// field whose name says it holds a secret keeps only its name.
    pub fn field(mut self, key: &str, value: &str) -> Entry {
        self.push_field(key, value);
        self
    }

    pub(crate) fn push_field(&mut self, key: &str, value: &str) {
        if self.fields.len() >= MAX_FIELDS || self.field_bytes >= MAX_FIELD_BYTES {
            return;
        }
        let key = bound(key, MAX_KEY);
        if key == "message" || self.fields.iter().any(|(k, _)| *k == key) {
            return;
        }
        let value = if redact::is_secret_name(&key) {
            redact::MASK.to_owned()
        } else {
            clean(value, MAX_VALUE.min(MAX_FIELD_BYTES - self.field_bytes))
        };
        self.field_bytes += value.len();
        self.fields.push((key.into_owned(), value));
    }

    pub(crate) fn set_message(&mut self, message: &str) {
        self.message = clean(message, MAX_MESSAGE);
    }

    pub fn level(&self) -> tracing::Level {
        self.level
    }
}

/// `text` redacted, then cut to `max` bytes. A text cut before redaction (the capture
/// stops at four times the limit) may end in half a secret the patterns no longer
/// recognise: its last word is dropped with the rest.
fn clean(text: &str, max: usize) -> String {
    let red = redact::redact(text);
    if red.len() <= max {
        return red.into_owned();
    }
    let kept = bound(&red, max.saturating_sub('…'.len_utf8()));
    let kept = match kept.rfind(char::is_whitespace) {
        Some(i) if i > 0 => &kept[..i],
        _ => "",
    };
    format!("{kept}…")
}

/// At most `max` bytes of `s`, cut at a character boundary.
fn bound(s: &str, max: usize) -> std::borrow::Cow<'_, str> {
    if s.len() <= max {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut end = max;
    while end > 0 && !s.is_char_boundary(end) {
        end -= 1;
    }
    std::borrow::Cow::Borrowed(&s[..end])
}

/// `2026-03-01T12:00:00.123Z`.
pub fn rfc3339_millis(t: SystemTime) -> String {
    let ms = t
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    let secs = u64::try_from(ms / 1000).unwrap_or(u64::MAX);
    let base = rackscope_core::clock::format_utc(secs);
    // `…:SSZ` → `…:SS.mmmZ`.
    let stem = base.strip_suffix('Z').unwrap_or(&base);
    format!("{stem}.{:03}Z", ms % 1000)
}

/// Which entries a reader wants: a level (exact, case-insensitive; `WARNING` is `WARN`)
/// and a search (case-insensitive, in the message or the logger).
#[derive(Debug, Clone, Default)]
pub struct Filter {
    level: Option<String>,
    search: Option<String>,
}

impl Filter {
    pub fn new(level: Option<&str>, search: Option<&str>) -> Filter {
        let level = level.map(str::trim).filter(|l| !l.is_empty()).map(|l| {
            let l = l.to_ascii_uppercase();
            if l == "WARNING" { "WARN".to_owned() } else { l }
        });
        let search = search.map(str::trim).filter(|s| !s.is_empty()).map(|s| {
            s.chars()
                .take(MAX_SEARCH)
                .collect::<String>()
                .to_lowercase()
        });
        Filter { level, search }
    }

    /// The level asked for, upper case, if any.
    pub fn level(&self) -> Option<&str> {
        self.level.as_deref()
    }

    pub fn matches(&self, r: &Record) -> bool {
        if self.level.as_deref().is_some_and(|l| l != r.level) {
            return false;
        }
        match &self.search {
            None => true,
            Some(s) => contains_lower(&r.message, s) || contains_lower(&r.logger, s),
        }
    }
}

fn contains_lower(hay: &str, needle_lower: &str) -> bool {
    hay.to_lowercase().contains(needle_lower)
}

/// The newest entries that match, oldest first.
#[derive(Debug, Clone)]
pub struct Tail {
    pub records: Vec<Arc<Record>>,
    /// How many entries in the buffer match (`records` holds at most `n` of them).
    pub total: usize,
    /// The `_seq` of the newest entry logged (0 before the first), matching or not: the
    /// `since_seq` of the next poll.
    pub last_seq: u64,
}

struct Ring {
    entries: VecDeque<Arc<Record>>,
    next_seq: u64,
}

/// The ring buffer. Pushing is a short critical section and never logs, so the tracing
/// layer can push from any thread, inside any span, without a runtime.
pub struct LogBook {
    capacity: usize,
    ring: Mutex<Ring>,
    /// The last `_seq` pushed, for streams to wake on instead of polling.
    last: watch::Sender<u64>,
}

impl Default for LogBook {
    fn default() -> Self {
        LogBook::new(CAPACITY)
    }
}

impl std::fmt::Debug for LogBook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogBook")
            .field("capacity", &self.capacity)
            .field("last_seq", &self.last_seq())
            .finish_non_exhaustive()
    }
}

impl LogBook {
    pub fn new(capacity: usize) -> LogBook {
        let capacity = capacity.max(1);
        LogBook {
            capacity,
            ring: Mutex::new(Ring {
                entries: VecDeque::with_capacity(capacity),
                next_seq: 1,
            }),
            last: watch::Sender::new(0),
        }
    }

    /// A poisoned lock only means a panic elsewhere while it was held; the ring is still
    /// whole (every change is one push or pop), so it is used as is.
    fn ring(&self) -> MutexGuard<'_, Ring> {
        self.ring
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Numbers `e`, keeps it (dropping the oldest past the capacity) and wakes the streams.
    pub fn push(&self, e: Entry) -> Arc<Record> {
        let (rec, seq) = {
            let mut ring = self.ring();
            let seq = ring.next_seq;
            ring.next_seq += 1;
            let rec = Arc::new(Record {
                seq,
                ts: e.ts,
                level: level_name(e.level),
                logger: e.logger,
                message: e.message,
                fields: e.fields,
            });
            if ring.entries.len() >= self.capacity {
                ring.entries.pop_front();
            }
            ring.entries.push_back(rec.clone());
            (rec, seq)
        };
        self.last.send_replace(seq);
        rec
    }

    /// The newest `n` entries after `since_seq` that `filter` lets through, oldest first.
    pub fn tail(&self, filter: &Filter, since_seq: u64, n: usize) -> Tail {
        let ring = self.ring();
        let last_seq = ring.next_seq - 1;
        let matching: Vec<&Arc<Record>> = ring
            .entries
            .iter()
            .filter(|r| r.seq > since_seq && filter.matches(r))
            .collect();
        let total = matching.len();
        let records = matching[total.saturating_sub(n)..]
            .iter()
            .map(|r| Arc::clone(r))
            .collect();
        Tail {
            records,
            total,
            last_seq,
        }
    }

    /// Empties the buffer; numbering goes on where it was, so a reader's `since_seq` stays
    /// meaningful. Returns how many entries were dropped.
    pub fn clear(&self) -> usize {
        let mut ring = self.ring();
        let n = ring.entries.len();
        ring.entries.clear();
        n
    }

    /// The `_seq` of the newest entry logged (0 before the first).
    pub fn last_seq(&self) -> u64 {
        *self.last.borrow()
    }

    /// Changes whenever an entry is pushed.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.last.subscribe()
    }

    pub fn len(&self) -> usize {
        self.ring().entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing::Level;

    fn book_with(n: usize) -> LogBook {
        let b = LogBook::new(n);
        for (i, (level, logger, msg)) in [
            (Level::INFO, "rackscope::server", "listening"),
            (
                Level::WARN,
                "rackscope_core::telemetry::engine",
                "query failed",
            ),
            (Level::ERROR, "rackscope::ui", "Page rendering failed"),
            (Level::INFO, "rackscope::audit", "users reloaded"),
        ]
        .into_iter()
        .enumerate()
        {
            b.push(Entry::new(level, logger, msg).field("i", &i.to_string()));
        }
        b
    }

    fn messages(t: &Tail) -> Vec<&str> {
        t.records.iter().map(|r| r.message.as_str()).collect()
    }

    #[test]
    fn the_ring_keeps_the_newest_and_numbers_only_grow() {
        let b = LogBook::new(3);
        for i in 0..10 {
            b.push(Entry::new(Level::INFO, "t", &format!("m{i}")));
        }
        assert_eq!(b.len(), 3);
        let t = b.tail(&Filter::default(), 0, 100);
        assert_eq!(messages(&t), ["m7", "m8", "m9"]);
        assert_eq!(
            t.records.iter().map(|r| r.seq).collect::<Vec<_>>(),
            [8, 9, 10]
        );
        assert_eq!(t.last_seq, 10);
        assert_eq!(b.clear(), 3);
        assert!(b.is_empty());
        let r = b.push(Entry::new(Level::INFO, "t", "after"));
        assert_eq!(r.seq, 11, "a clear does not reuse numbers");
        assert_eq!(b.tail(&Filter::default(), 0, 10).total, 1);
    }

    #[test]
    fn since_seq_and_n_take_the_newest_after() {
        let b = book_with(10);
        let t = b.tail(&Filter::default(), 2, 100);
        assert_eq!(messages(&t), ["Page rendering failed", "users reloaded"]);
        let t = b.tail(&Filter::default(), 0, 1);
        assert_eq!(messages(&t), ["users reloaded"]);
        assert_eq!(t.total, 4);
        assert_eq!(t.last_seq, 4);
        let t = b.tail(&Filter::default(), 4, 100);
        assert!(t.records.is_empty());
        assert_eq!(t.last_seq, 4);
    }

    #[test]
    fn level_is_exact_and_search_reads_message_and_logger() {
        let b = book_with(10);
        let f =
            |l: Option<&str>, s: Option<&str>| messages(&b.tail(&Filter::new(l, s), 0, 100)).len();
        assert_eq!(f(Some("info"), None), 2);
        assert_eq!(f(Some("WARNING"), None), 1);
        assert_eq!(f(Some("warn"), None), 1);
        assert_eq!(f(Some("nonsense"), None), 0);
        assert_eq!(f(Some(""), None), 4, "an empty level is no filter");
        assert_eq!(f(None, Some("QUERY")), 1);
        assert_eq!(f(None, Some("telemetry")), 1, "the logger is searched");
        assert_eq!(f(None, Some("AUDIT")), 1);
        assert_eq!(f(Some("error"), Some("render")), 1);
        assert_eq!(f(Some("info"), Some("render")), 0);
    }

    #[test]
    fn entries_are_bounded_and_redacted() {
        let long = "x".repeat(MAX_MESSAGE * 3);
        let mut e = Entry::new(Level::WARN, &"t".repeat(1000), &long);
        for i in 0..100 {
            e.push_field(&format!("k{i}{}", "y".repeat(200)), &"v".repeat(5000));
        }
        let e = e.field("password", "hunter2").field("uri", "http://a:b@c/");
        assert!(e.message.len() <= MAX_MESSAGE);
        assert!(e.message.ends_with('…'));
        assert!(e.logger.len() <= MAX_LOGGER);
        assert!(e.fields.len() <= MAX_FIELDS);
        assert!(
            e.fields
                .iter()
                .all(|(k, v)| k.len() <= MAX_KEY && v.len() <= MAX_VALUE)
        );
        assert!(e.fields.iter().map(|(_, v)| v.len()).sum::<usize>() <= MAX_FIELD_BYTES + 3);

        let e = Entry::new(Level::INFO, "t", "connecting to http://u:pw@prom:9090")
            .field("password", "hunter2")
            .field("db_password", "x")
            .field("uri", "/signin?token=abc")
            .field("uri", "second value ignored");
        assert_eq!(e.message, "connecting to http://u:***@prom:9090");
        assert_eq!(
            e.fields,
            [
                ("password".into(), "***".into()),
                ("db_password".into(), "***".into()),
                ("uri".into(), "/signin?token=***".into()),
            ]
        );
    }

    #[test]
    fn a_cut_drops_the_half_word_at_the_cut() {
        let text = format!("{} password=hunter2hunter2", "a ".repeat(100));
        let c = clean(&text, 210);
        assert!(!c.contains("hunter"), "{c}");
        assert!(c.ends_with('…'));
        let multibyte = "é".repeat(10);
        let c = clean(&multibyte, 7);
        assert!(c.len() <= 7, "{c}");
    }

    #[test]
    fn records_serialize_as_the_api_shows_them() {
        let b = LogBook::new(2);
        let r = b.push(Entry::new(Level::WARN, "rackscope::x", "m").field("a", "1"));
        let v = serde_json::to_value(&*r).unwrap_or_default();
        assert_eq!(v["_seq"], 1);
        assert_eq!(v["level"], "WARN");
        assert_eq!(v["logger"], "rackscope::x");
        assert_eq!(v["fields"]["a"], "1");
        let ts = v["ts"].as_str().unwrap_or_default();
        assert_eq!(ts.len(), "2026-03-01T12:00:00.123Z".len(), "{ts}");
        assert!(ts.ends_with('Z'));
    }

    #[test]
    fn the_clock_writes_milliseconds() {
        let t = SystemTime::UNIX_EPOCH + std::time::Duration::from_millis(1_709_294_400_042);
        assert_eq!(rfc3339_millis(t), "2024-03-01T12:00:00.042Z");
    }
}
