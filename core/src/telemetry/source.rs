//! The one seam between the engine and Prometheus: a trait for instant and range queries,
//! the result types, and the decoding of Prometheus's JSON envelope.
//!
//! The engine only ever talks to `dyn MetricsSource`, so it runs the same against the real
//! HTTP client (crate `rackscope-prometheus`), against a fake in unit tests and benchmarks,
//! and against anything else that speaks the Prometheus HTTP API. Decoding lives here, not in
//! the client, so that the envelope rules are tested without a network.

use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Deserialize;

/// A boxed future, so that the trait stays object safe.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The label set of one series. Small and scanned linearly: Prometheus series rarely carry
/// more than a dozen labels, and a linear scan beats hashing at that size.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Labels(pub Vec<(Box<str>, Box<str>)>);

impl Labels {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| &**k == name).map(|(_, v)| &**v)
    }
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (&**k, &**v))
    }
}

impl<'a> FromIterator<(&'a str, &'a str)> for Labels {
    fn from_iter<I: IntoIterator<Item = (&'a str, &'a str)>>(it: I) -> Self {
        Labels(it.into_iter().map(|(k, v)| (k.into(), v.into())).collect())
    }
}

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
}

impl SourceError {
    /// Whether the failure says nothing about the query and everything about the server:
    /// connection refused, timeouts, and the 502/503/504 of a proxy in front of it.
    pub fn is_unavailable(&self) -> bool {
        match self {
            SourceError::Unreachable { .. } | SourceError::Timeout { .. } => true,
            SourceError::Http { status, .. } => matches!(status, 502..=504),
            SourceError::Api { .. } | SourceError::Decode(_) | SourceError::Busy { .. } => false,
        }
    }
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

#[derive(Deserialize)]
struct Envelope {
    status: String,
    #[serde(default)]
    data: Option<Data>,
    #[serde(default, rename = "errorType")]
    error_type: Option<String>,
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    warnings: Vec<String>,
    #[serde(default)]
    infos: Vec<String>,
}

#[derive(Deserialize)]
#[serde(tag = "resultType", content = "result", rename_all = "lowercase")]
enum Data {
    Vector(Vec<VectorItem>),
    Matrix(Vec<MatrixItem>),
    Scalar(Point),
    String(serde::de::IgnoredAny),
}

#[derive(Deserialize)]
struct VectorItem {
    #[serde(default)]
    metric: std::collections::BTreeMap<String, String>,
    /// Absent for native-histogram samples, which carry `histogram` instead; those have no
    /// single value a rule could compare, so they are skipped.
    #[serde(default)]
    value: Option<Point>,
}

#[derive(Deserialize)]
struct MatrixItem {
    #[serde(default)]
    metric: std::collections::BTreeMap<String, String>,
    #[serde(default)]
    values: Vec<Point>,
}

/// `[1700000000.123, "42"]`: a number and the value as a string (which may be NaN or ±Inf).
#[derive(Deserialize)]
struct Point(f64, String);

fn number(s: &str) -> Result<f64, SourceError> {
    s.parse::<f64>()
        .map_err(|_| SourceError::Decode(format!("sample value `{s}` is not a number")))
}

fn labels(m: std::collections::BTreeMap<String, String>) -> Labels {
    Labels(m.into_iter().map(|(k, v)| (k.into(), v.into())).collect())
}

fn envelope(status: u16, body: &[u8]) -> Result<(Data, Vec<String>), SourceError> {
    let env: Envelope = match serde_json::from_slice(body) {
        Ok(e) => e,
        Err(e) => {
            // Not Prometheus JSON: a proxy's error page, or a server that is not Prometheus.
            let text = String::from_utf8_lossy(body);
            let text: String = text.chars().take(300).collect();
            return Err(if status >= 400 {
                SourceError::Http {
                    status,
                    body: text.trim().to_owned(),
                }
            } else {
                SourceError::Decode(format!("{e} in `{}`", text.trim()))
            });
        }
    };
    let mut warnings = env.warnings;
    warnings.extend(env.infos);
    if env.status != "success" {
        return Err(SourceError::Api {
            status,
            error_type: env.error_type.unwrap_or_else(|| "unknown".into()),
            error: env.error.unwrap_or_default(),
            warnings,
        });
    }
    match env.data {
        Some(d) => Ok((d, warnings)),
        None => Err(SourceError::Decode("a success without `data`".into())),
    }
}

/// Decodes the answer to `/api/v1/query`.
pub fn decode_instant(status: u16, body: &[u8]) -> Result<InstantResult, SourceError> {
    let (data, warnings) = envelope(status, body)?;
    let samples = match data {
        Data::Vector(items) => {
            let mut out = Vec::with_capacity(items.len());
            for it in items {
                if let Some(Point(_, v)) = it.value {
                    out.push(Sample {
                        labels: labels(it.metric),
                        value: number(&v)?,
                    });
                }
            }
            out
        }
        Data::Scalar(Point(_, v)) => vec![Sample {
            labels: Labels::default(),
            value: number(&v)?,
        }],
        // An instant query over a range selector (`up[5m]`) returns a matrix: its newest
        // point is the value now.
        Data::Matrix(items) => {
            let mut out = Vec::with_capacity(items.len());
            for it in items {
                if let Some(Point(_, v)) = it.values.last() {
                    let value = number(v)?;
                    out.push(Sample {
                        labels: labels(it.metric),
                        value,
                    });
                }
            }
            out
        }
        Data::String(_) => {
            return Err(SourceError::Decode(
                "the expression returns a string, not a number".into(),
            ));
        }
    };
    Ok(InstantResult { samples, warnings })
}

/// Decodes the answer to `/api/v1/query_range`.
pub fn decode_range(status: u16, body: &[u8]) -> Result<RangeResult, SourceError> {
    let (data, warnings) = envelope(status, body)?;
    let series = match data {
        Data::Matrix(items) => {
            let mut out = Vec::with_capacity(items.len());
            for it in items {
                let mut points = Vec::with_capacity(it.values.len());
                for Point(t, v) in it.values {
                    points.push((t, number(&v)?));
                }
                out.push(RangeSeries {
                    labels: labels(it.metric),
                    points,
                });
            }
            out
        }
        _ => {
            return Err(SourceError::Decode(
                "a range query answered with something other than a matrix".into(),
            ));
        }
    };
    Ok(RangeResult { series, warnings })
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
        let r = decode_instant(200, body).unwrap();
        assert_eq!(r.samples.len(), 3);
        assert_eq!(r.samples[0].labels.get("instance"), Some("n1"));
        assert_eq!(r.samples[0].value, 1.0);
        assert!(r.samples[1].value.is_nan());
        assert_eq!(r.samples[2].value, f64::INFINITY);
        assert_eq!(r.warnings, ["w1"]);

        let s = decode_instant(
            200,
            br#"{"status":"success","data":{"resultType":"scalar","result":[1,"3.5"]}}"#,
        )
        .unwrap();
        assert_eq!(s.samples[0].value, 3.5);
    }

    #[test]
    fn surfaces_the_error_envelope() {
        let body = br#"{"status":"error","errorType":"bad_data","error":"parse error at char 3","warnings":["x"]}"#;
        let e = decode_instant(400, body).unwrap_err();
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
        let proxy = decode_instant(502, b"<html>Bad Gateway</html>").unwrap_err();
        assert!(proxy.is_unavailable(), "{proxy}");
        assert!(matches!(
            decode_instant(200, b"hello"),
            Err(SourceError::Decode(_))
        ));
    }

    #[test]
    fn decodes_matrices() {
        let body = br#"{"status":"success","data":{"resultType":"matrix","result":[
            {"metric":{"instance":"n1"},"values":[[10,"1"],[20,"2"]]}]}}"#;
        let r = decode_range(200, body).unwrap();
        assert_eq!(r.series[0].points, vec![(10.0, 1.0), (20.0, 2.0)]);
        // An instant query over a range selector keeps the newest point.
        assert_eq!(decode_instant(200, body).unwrap().samples[0].value, 2.0);
    }
}
