//! The process's logging: tracing events captured into the `LogBook` (`Capture`), and the
//! log written to stderr as text (tracing's usual format) or as JSON lines (`JsonLines`,
//! `RACKSCOPE_LOG_FORMAT=json`, what the Python version's log shippers read). Both
//! outputs are redacted like the buffer: the JSON lines are the captured records
//! themselves, the text goes through `RedactingStderr`.
//!
//! What each part lets through: stderr follows `RACKSCOPE_LOG` (default `warn`); the
//! buffer takes that and every INFO event besides, so the logs page has the server's
//! story (reloads, saves, audit lines) even when the terminal is kept quiet.

use std::cell::RefCell;
use std::fmt::Write as _;
use std::io::Write as _;
use std::sync::Arc;

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record as SpanValues};
use tracing::{Event, Subscriber};
use tracing_subscriber::filter::{EnvFilter, FilterExt, LevelFilter};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;

use super::{Entry, LogBook, MAX_FIELDS, MAX_MESSAGE, MAX_VALUE, Record};

/// How the log is written to stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// tracing's usual lines (the default).
    Text,
    /// One JSON object per line, the records of `/api/logs` (`_seq`, `ts`, `level`,
    /// `logger`, `message`, `fields`).
    Json,
}

impl Format {
    /// `RACKSCOPE_LOG_FORMAT`'s value: `text` or `json`, any case; empty is `text`.
    pub fn parse(s: &str) -> Option<Format> {
        match s.trim().to_ascii_lowercase().as_str() {
            "" | "text" => Some(Format::Text),
            "json" => Some(Format::Json),
            _ => None,
        }
    }
}

/// Installs the process's subscriber: `book` captures, stderr gets `format`, filtered by
/// `spec` (`RACKSCOPE_LOG`'s directives; `warn` when absent or not understood). Does
/// nothing when a subscriber is already installed.
pub fn install(book: Arc<LogBook>, format: Format, spec: Option<&str>) {
    let env = || {
        spec.and_then(|s| EnvFilter::try_new(s).ok())
            .unwrap_or_else(|| EnvFilter::new("warn"))
    };
    let capture = Capture {
        book,
        hand_over: format == Format::Json,
    }
    .with_filter(env().or(LevelFilter::INFO));
    let text = (format == Format::Text).then(|| {
        tracing_subscriber::fmt::layer()
            .with_writer(RedactingStderr)
            // Colour codes would sit between a field's name and its value, where redaction
            // no longer sees them: plain text, on a terminal too.
            .with_ansi(false)
            .with_filter(env())
    });
    let json = (format == Format::Json).then(|| JsonLines.with_filter(env()));
    let _ = tracing_subscriber::registry()
        .with(capture)
        .with(text)
        .with(json)
        .try_init();
}

thread_local! {
    /// The record `Capture` made of the event being dispatched on this thread, for
    /// `JsonLines` (the next layer, same event) to write with its `_seq` rather than build
    /// again: (event address, callsite address, record).
    static CAPTURED: RefCell<Option<(usize, usize, Arc<Record>)>> = const { RefCell::new(None) };
}

fn event_key(e: &Event<'_>) -> (usize, usize) {
    (
        std::ptr::from_ref(e) as usize,
        std::ptr::from_ref(e.metadata()) as usize,
    )
}

/// Captures every event it is let see into a `LogBook`, with the fields of the spans it
/// happened in (a request's id and path).
pub struct Capture {
    book: Arc<LogBook>,
    /// Leave each record for `JsonLines` (installed after this layer) to write.
    hand_over: bool,
}

impl Capture {
    pub fn new(book: Arc<LogBook>) -> Capture {
        Capture {
            book,
            hand_over: false,
        }
    }
}

/// A span's fields, as text, kept in the span's extensions until it closes.
struct SpanFields(Vec<(&'static str, String)>);

impl<S> Layer<S> for Capture
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut v = FieldText::default();
        attrs.record(&mut v);
        span.extensions_mut().insert(SpanFields(v.fields));
    }

    fn on_record(&self, id: &Id, values: &SpanValues<'_>, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut v = FieldText::default();
        values.record(&mut v);
        let mut ext = span.extensions_mut();
        match ext.get_mut::<SpanFields>() {
            Some(f) => {
                for (k, val) in v.fields {
                    if let Some(slot) = f.0.iter_mut().find(|(n, _)| *n == k) {
                        slot.1 = val;
                    } else if f.0.len() < MAX_FIELDS {
                        f.0.push((k, val));
                    }
                }
            }
            None => ext.insert(SpanFields(v.fields)),
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let entry = entry_of(event, &ctx);
        let rec = self.book.push(entry);
        // Only when JSON lines are written: otherwise nothing takes the record back, and
        // each thread would keep its last one alive.
        if self.hand_over {
            let (e, m) = event_key(event);
            CAPTURED.with(|c| *c.borrow_mut() = Some((e, m, rec)));
        }
    }
}

/// An event as an `Entry`: its message, its fields, then its spans' (innermost first; a
/// name already taken keeps the nearer value).
fn entry_of<S>(event: &Event<'_>, ctx: &Context<'_, S>) -> Entry
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    let meta = event.metadata();
    let mut v = FieldText::default();
    event.record(&mut v);
    let mut entry = Entry::new(*meta.level(), meta.target(), "");
    entry.set_message(&v.message);
    for (k, val) in &v.fields {
        entry.push_field(k, val);
    }
    if let Some(scope) = ctx.event_scope(event) {
        for span in scope {
            if let Some(f) = span.extensions().get::<SpanFields>() {
                for (k, val) in &f.0 {
                    entry.push_field(k, val);
                }
            }
        }
    }
    entry
}

/// Writes each event to stderr as one JSON line: the record `Capture` just made of it when
/// there is one (so the line's `_seq` is the buffer's), else one of its own, unnumbered.
pub struct JsonLines;

impl<S> Layer<S> for JsonLines
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let key = event_key(event);
        let captured = CAPTURED.with(|c| c.borrow_mut().take());
        let line = match captured {
            Some((e, m, rec)) if (e, m) == key => serde_json::to_vec(&*rec),
            _ => serde_json::to_vec(&Unnumbered::of(entry_of(event, &ctx))),
        };
        if let Ok(mut line) = line {
            line.push(b'\n');
            // One write per line, under stderr's lock: lines from several threads never
            // interleave. A failed write to stderr has nowhere to be reported.
            let _ = std::io::stderr().lock().write_all(&line);
        }
    }
}

/// A record the buffer did not number (the buffer's filter refused its event).
#[derive(serde::Serialize)]
struct Unnumbered {
    ts: String,
    level: &'static str,
    logger: String,
    message: String,
    #[serde(serialize_with = "super::as_map")]
    fields: Vec<(String, String)>,
}

impl Unnumbered {
    fn of(e: Entry) -> Unnumbered {
        Unnumbered {
            ts: e.ts,
            level: super::level_name(e.level),
            logger: e.logger,
            message: e.message,
            fields: e.fields,
        }
    }
}

/// A tracing event's fields as text. Each is captured up to four times its kept length
/// (then `Entry` redacts and cuts), so a huge `{:?}` costs a bounded copy.
#[derive(Default)]
struct FieldText {
    message: String,
    fields: Vec<(&'static str, String)>,
}

impl FieldText {
    fn put(&mut self, field: &Field, value: impl FnOnce(&mut Bounded)) {
        let message = field.name() == "message";
        if !message && self.fields.len() >= MAX_FIELDS {
            return;
        }
        let mut b = Bounded::new(if message { MAX_MESSAGE } else { MAX_VALUE } * 4);
        value(&mut b);
        if message {
            self.message = b.s;
        } else {
            self.fields.push((field.name(), b.s));
        }
    }
}

impl Visit for FieldText {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.put(field, |b| {
            let _ = write!(b, "{value:?}");
        });
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.put(field, |b| {
            let _ = b.write_str(value);
        });
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.put(field, |b| {
            let _ = write!(b, "{value}");
        });
    }
}

/// A `fmt::Write` that keeps the first `cap` bytes and drops the rest without failing, so
/// that formatting a huge value stops costing memory at the cap.
struct Bounded {
    s: String,
    cap: usize,
}

impl Bounded {
    fn new(cap: usize) -> Bounded {
        Bounded {
            s: String::new(),
            cap,
        }
    }
}

impl std::fmt::Write for Bounded {
    fn write_str(&mut self, part: &str) -> std::fmt::Result {
        let room = self.cap.saturating_sub(self.s.len());
        if room == 0 {
            return Ok(());
        }
        let mut end = part.len().min(room);
        while end > 0 && !part.is_char_boundary(end) {
            end -= 1;
        }
        self.s.push_str(&part[..end]);
        // The cut is at a character boundary; the rest of a longer capture is dropped.
        if end < part.len() {
            self.cap = self.s.len();
        }
        Ok(())
    }
}

/// stderr, with each formatted event redacted before it is written: tracing's formatter
/// writes one event per writer, so each writer holds exactly one line.
pub struct RedactingStderr;

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for RedactingStderr {
    type Writer = RedactingLine;

    fn make_writer(&'a self) -> RedactingLine {
        RedactingLine(Vec::new())
    }
}

/// One event's text, written (redacted) when dropped.
pub struct RedactingLine(Vec<u8>);

impl std::io::Write for RedactingLine {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for RedactingLine {
    fn drop(&mut self) {
        if self.0.is_empty() {
            return;
        }
        let text = String::from_utf8_lossy(&self.0);
        let _ = std::io::stderr()
            .lock()
            .write_all(super::redact::redact(&text).as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logbook::Filter;

    fn captured(f: impl FnOnce()) -> Arc<LogBook> {
        let book = Arc::new(LogBook::new(100));
        let sub = tracing_subscriber::registry().with(
            Capture::new(book.clone()).with_filter(EnvFilter::new("warn").or(LevelFilter::INFO)),
        );
        tracing::subscriber::with_default(sub, f);
        book
    }

    #[test]
    fn events_are_captured_with_their_fields_and_spans_redacted() {
        let book = captured(|| {
            let span = tracing::info_span!(
                "request",
                method = "GET",
                uri = "/x?token=abc",
                request_id = "r-1"
            );
            let _g = span.enter();
            tracing::warn!(password = "hunter2", rack = %"r01", n = 3, "query to http://u:p@prom failed");
            tracing::debug!("not captured: below INFO and RACKSCOPE_LOG");
            tracing::info!(target: "rackscope::audit", "users reloaded");
        });
        let t = book.tail(&Filter::default(), 0, 10);
        assert_eq!(t.records.len(), 2, "{:?}", t.records);
        let r = &t.records[0];
        assert_eq!(r.level, "WARN");
        assert_eq!(r.message, "query to http://u:***@prom failed");
        assert_eq!(r.logger, module_path!());
        let f: std::collections::HashMap<_, _> = r.fields.iter().cloned().collect();
        assert_eq!(f["password"], "***");
        assert_eq!(f["rack"], "r01");
        assert_eq!(f["n"], "3");
        assert_eq!(f["request_id"], "r-1");
        assert_eq!(f["uri"], "/x?token=***");
        assert_eq!(t.records[1].logger, "rackscope::audit");
        assert_eq!(t.records[1].seq, 2);
    }

    #[test]
    fn a_huge_field_costs_a_bounded_copy() {
        let huge = "z".repeat(1 << 20);
        let book = captured(|| tracing::error!(blob = %huge, "{huge}"));
        let t = book.tail(&Filter::default(), 0, 10);
        let r = &t.records[0];
        assert!(r.message.len() <= MAX_MESSAGE);
        assert!(r.fields[0].1.len() <= MAX_VALUE);
    }

    #[test]
    fn formats_parse() {
        assert_eq!(Format::parse("JSON"), Some(Format::Json));
        assert_eq!(Format::parse(" text "), Some(Format::Text));
        assert_eq!(Format::parse(""), Some(Format::Text));
        assert_eq!(Format::parse("xml"), None);
    }

    #[test]
    fn bounded_cuts_at_a_character_boundary() {
        let mut b = Bounded::new(5);
        let _ = b.write_str("ab");
        let _ = b.write_str("éééé");
        let _ = b.write_str("c");
        assert_eq!(b.s, "abé");
    }
}
