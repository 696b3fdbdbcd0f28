//! The one seam between the engine and Prometheus: a trait for instant and range queries,
//! the result types, and the decoding of Prometheus's JSON envelope.
//!
//! The engine only ever talks to `dyn MetricsSource`, so it runs the same against the real
//! HTTP client (crate `rackscope-prometheus`), against a fake in unit tests and benchmarks,
//! and against anything else that speaks the Prometheus HTTP API. Decoding lives here, not in
//! the client, so that the envelope rules are tested without a network.
//!
//! Everything read from an answer is bounded: its bytes, series, points and labels
//! (`Limits`, checked while decoding, in `decode`), and every text kept from it in an error
//! (`clip`, `MAX_UPSTREAM_TEXT`), because an error's text is copied into every reason of
//! every target of the failed query.

use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

mod decode;

pub use decode::{decode_instant, decode_range};

/// A boxed future, so that the trait stays object safe.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

pub use crate::labels::Labels;

/// One sample of an instant query.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub labels: Labels,
    pub value: f64,
}

/// The answer to an instant query: a vector (a scalar comes back as one unlabelled sample).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct InstantResult {
    pub samples: Vec<Sample>,
    /// Prometheus's `warnings` (and `infos`), surfaced rather than dropped.
    pub warnings: Vec<String>,
}

/// One series of a range query.
#[derive(Debug, Clone, PartialEq)]
pub struct RangeSeries {
    pub labels: Labels,
    /// (unix seconds, value), in time order.
    pub points: Vec<(f64, f64)>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct RangeResult {
    pub series: Vec<RangeSeries>,
    pub warnings: Vec<String>,
}

/// The window and resolution of a range query.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RangeSpec {
    pub start: SystemTime,
    pub end: SystemTime,
    pub step: Duration,
}

/// Why a query got no answer. `is_unavailable` separates "Prometheus is not there" (the
/// snapshot goes stale) from "Prometheus refused this query" (only its targets go UNKNOWN).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SourceError {
    #[error("Prometheus at {url} is unreachable: {reason}")]
    Unreachable { url: String, reason: String },
    #[error("Prometheus at {url} did not answer within {seconds} s")]
    Timeout { url: String, seconds: f64 },
    #[error("Prometheus rejected the query ({error_type}): {error}")]
    Api {
        status: u16,
        error_type: String,
        error: String,
        warnings: Vec<String>,
    },
    #[error("Prometheus answered HTTP {status}: {body}")]
    Http { status: u16, body: String },
    #[error("unexpected answer from Prometheus: {0}")]
    Decode(String),
    /// Not sent: the server's own bound on queries made for requests was reached.
    #[error("too many queries to Prometheus in flight ({limit}); try again shortly")]
    Busy { limit: usize },
    /// The answer passed one of the `Limits`: a failed query, like a refused one, so only
    /// its own targets go UNKNOWN.
    #[error("Prometheus's answer is too large: {0}")]
    TooLarge(String),
}

impl SourceError {
    /// Whether the failure says nothing about the query and everything about the server:
    /// connection refused, timeouts, and the 502/503/504 of a proxy in front of it.
    /// Whether the backend refused the query for its length (VictoriaMetrics'
    /// `-search.maxQueryLen`, a proxy's 413 or 414): the same ids in smaller queries can
    /// still be answered.
    pub fn is_too_long(&self) -> bool {
        match self {
            SourceError::Http { status, .. } => matches!(status, 413 | 414),
            SourceError::Api { status, error, .. } => {
                let e = error.to_ascii_lowercase();
                matches!(status, 400 | 413 | 414 | 422)
                    && (e.contains("too long")
                        || e.contains("maxquerylen")
                        || e.contains("too large"))
            }
            _ => false,
        }
    }

    pub fn is_unavailable(&self) -> bool {
        match self {
            SourceError::Unreachable { .. } | SourceError::Timeout { .. } => true,
            SourceError::Http { status, .. } => matches!(status, 502..=504),
            SourceError::Api { .. }
            | SourceError::Decode(_)
            | SourceError::TooLarge(_)
            | SourceError::Busy { .. } => false,
        }
    }
}

/// The most characters of upstream text (an error body, an API `error`, a warning, a value
/// quoted in a decoding error) kept in a `SourceError` or a result. One bound, applied by
/// `clip` to every such text: a reason is repeated for every target of a failed query, so
/// a 20 MB error page would otherwise be copied into every check of a rack page.
pub const MAX_UPSTREAM_TEXT: usize = 512;

/// The most warnings (with infos) kept from one answer; the rest are counted in a last one.
pub const MAX_WARNINGS: usize = 16;

/// Upstream text made safe to keep: control characters (newlines, terminal escapes) become
/// spaces, surrounding blanks are trimmed, and past `MAX_UPSTREAM_TEXT` characters the rest
/// is replaced by a count of what was cut.
pub fn clip(text: &str) -> String {
    clip_with(text.trim(), 0)
}

/// `clip` for raw bytes: only the start is decoded (lossily), so a huge body is never
/// turned into a string whole.
pub fn clip_bytes(bytes: &[u8]) -> String {
    // Four bytes per character at most, plus one to know whether there is more.
    let head = &bytes[..bytes.len().min(MAX_UPSTREAM_TEXT * 4 + 1)];
    let text = String::from_utf8_lossy(head);
    let missing = bytes.len() - head.len();
    let text = if missing == 0 {
        text.trim()
    } else {
        text.trim_start()
    };
    clip_with(text, missing)
}

/// `text` clipped, `missing` bytes of it having been left unread.
fn clip_with(text: &str, missing: usize) -> String {
    let mut out = String::with_capacity(text.len().min(MAX_UPSTREAM_TEXT + 32));
    for (n, (i, c)) in text.char_indices().enumerate() {
        if n == MAX_UPSTREAM_TEXT {
            let rest = text.len() - i + missing;
            out.push_str(&format!("… ({rest} more bytes)"));
            return out;
        }
        out.push(if c.is_control() { ' ' } else { c });
    }
    if missing > 0 {
        out.push_str(&format!("… ({missing} more bytes)"));
    }
    out
}

/// Keeps at most `MAX_WARNINGS` clipped warnings; `dropped` more are counted in a last one.
pub fn bounded_warnings(mut kept: Vec<String>, dropped: usize) -> Vec<String> {
    let extra = kept.len().saturating_sub(MAX_WARNINGS) + dropped;
    kept.truncate(MAX_WARNINGS);
    if extra > 0 {
        kept.push(format!("… and {extra} more warnings"));
    }
    kept
}

impl SourceError {
    /// An HTTP error whose body is the upstream's, clipped.
    pub fn http(status: u16, body: &[u8]) -> SourceError {
        SourceError::Http {
            status,
            body: clip_bytes(body),
        }
    }

    /// An answer longer than `telemetry.max_response_bytes`.
    pub fn too_many_bytes(max: u64) -> SourceError {
        SourceError::TooLarge(format!(
            "more than {max} bytes; raise telemetry.max_response_bytes or narrow the query"
        ))
    }
}

/// The bounds of one answer. A query whose answer passes one fails alone, with a message
/// naming the setting to raise; it never takes the process's memory with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Bytes of the body, as received (the client asks for no compression).
    pub max_response_bytes: u64,
    /// Series (vector samples or matrix series) in one answer.
    pub max_series: usize,
    /// Points (a vector sample is one, a matrix series has one per timestamp).
    pub max_points: usize,
}

pub use crate::model::app::{DEFAULT_MAX_POINTS, DEFAULT_MAX_RESPONSE_BYTES, DEFAULT_MAX_SERIES};
/// Labels are bounded per answer through the series cap: on average a series may carry
/// this many (Prometheus series rarely carry more than a dozen). Without it, an answer of
/// few series with millions of tiny labels would cost ten times its bytes in memory.
pub const LABELS_PER_SERIES: usize = 64;

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            max_series: to_usize(DEFAULT_MAX_SERIES),
            max_points: to_usize(DEFAULT_MAX_POINTS),
        }
    }
}

impl Limits {
    /// The limits set in app.yaml's `telemetry` section.
    pub fn from_config(t: &crate::model::app::Telemetry) -> Limits {
        Limits {
            max_response_bytes: t.max_response_bytes,
            max_series: to_usize(t.max_series_per_answer),
            max_points: to_usize(t.max_points_per_answer),
        }
    }

    /// The most labels one answer may carry in all.
    pub fn max_labels(&self) -> usize {
        self.max_series.saturating_mul(LABELS_PER_SERIES)
    }
}

fn to_usize(n: u64) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}

/// Where the engine's queries go. Implementations must be cheap to call concurrently.
pub trait MetricsSource: Send + Sync {
    /// An instant query evaluated at `at`.
    fn instant<'a>(
        &'a self,
        query: &'a str,
        at: SystemTime,
    ) -> BoxFuture<'a, Result<InstantResult, SourceError>>;

    /// A range query, for charts.
    fn range<'a>(
        &'a self,
        query: &'a str,
        range: RangeSpec,
    ) -> BoxFuture<'a, Result<RangeResult, SourceError>>;

    /// A short description for logs and the status page (the URL, for the HTTP client).
    fn describe(&self) -> String;
}

/// Seconds since the epoch with millisecond precision, as Prometheus's `time` parameter
/// takes it.
pub fn unix_seconds(t: SystemTime) -> f64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_secs_f64(),
        Err(e) => -e.duration().as_secs_f64(),
    }
}

/// Formats a time for Prometheus: `1700000000.123`.
pub fn format_time(t: SystemTime) -> String {
    format!("{:.3}", unix_seconds(t))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_vectors_scalars_and_special_values() {
        let body = br#"{"status":"success","data":{"resultType":"vector","result":[
            {"metric":{"__name__":"up","instance":"n1"},"value":[1700000000.5,"1"]},
            {"metric":{"instance":"n2"},"value":[1700000000.5,"NaN"]},
            {"metric":{"instance":"n3"},"value":[1700000000.5,"+Inf"]}]},
            "warnings":["w1"]}"#;
        let r = decode_instant(200, body, &Limits::default()).unwrap();
        assert_eq!(r.samples.len(), 3);
        assert_eq!(r.samples[0].labels.get("instance"), Some("n1"));
        assert_eq!(r.samples[0].value, 1.0);
        assert!(r.samples[1].value.is_nan());
        assert_eq!(r.samples[2].value, f64::INFINITY);
        assert_eq!(r.warnings, ["w1"]);

        let s = decode_instant(
            200,
            br#"{"status":"success","data":{"resultType":"scalar","result":[1,"3.5"]}}"#,
            &Limits::default(),
        )
        .unwrap();
        assert_eq!(s.samples[0].value, 3.5);
    }

    #[test]
    fn surfaces_the_error_envelope() {
        let body = br#"{"status":"error","errorType":"bad_data","error":"parse error at char 3","warnings":["x"]}"#;
        let e = decode_instant(400, body, &Limits::default()).unwrap_err();
        assert_eq!(
            e,
            SourceError::Api {
                status: 400,
                error_type: "bad_data".into(),
                error: "parse error at char 3".into(),
                warnings: vec!["x".into()],
            }
        );
        assert!(!e.is_unavailable());
        let proxy =
            decode_instant(502, b"<html>Bad Gateway</html>", &Limits::default()).unwrap_err();
        assert!(proxy.is_unavailable(), "{proxy}");
        assert!(matches!(
            decode_instant(200, b"hello", &Limits::default()),
            Err(SourceError::Decode(_))
        ));
    }

    #[test]
    fn decodes_matrices() {
        let body = br#"{"status":"success","data":{"resultType":"matrix","result":[
            {"metric":{"instance":"n1"},"values":[[10,"1"],[20,"2"]]}]}}"#;
        let r = decode_range(200, body, &Limits::default()).unwrap();
        assert_eq!(r.series[0].points, vec![(10.0, 1.0), (20.0, 2.0)]);
        // An instant query over a range selector keeps the newest point.
        assert_eq!(
            decode_instant(200, body, &Limits::default())
                .unwrap()
                .samples[0]
                .value,
            2.0
        );
    }
}
