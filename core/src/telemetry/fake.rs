//! An in-memory `MetricsSource` for unit tests and benchmarks: answers come from a function
//! of the query, so a test states exactly what "Prometheus" returns.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::SystemTime;

use crate::telemetry::source::{
    BoxFuture, InstantResult, Labels, MetricsSource, RangeResult, RangeSpec, Sample, SourceError,
};

type Answerer = dyn Fn(&str, SystemTime) -> Result<InstantResult, SourceError> + Send + Sync;

/// A source that answers from a function and counts the queries it got.
pub struct FakeSource {
    answer: Arc<Answerer>,
    pub queries: AtomicUsize,
}

impl FakeSource {
    pub fn new(
        f: impl Fn(&str, SystemTime) -> Result<InstantResult, SourceError> + Send + Sync + 'static,
    ) -> FakeSource {
        FakeSource {
            answer: Arc::new(f),
            queries: AtomicUsize::new(0),
        }
    }

    pub fn query_count(&self) -> usize {
        self.queries.load(Ordering::Relaxed)
    }
}

impl MetricsSource for FakeSource {
    fn instant<'a>(
        &'a self,
        query: &'a str,
        at: SystemTime,
    ) -> BoxFuture<'a, Result<InstantResult, SourceError>> {
        self.queries.fetch_add(1, Ordering::Relaxed);
        let r = (self.answer)(query, at);
        Box::pin(async move { r })
    }

    fn range<'a>(
        &'a self,
        _query: &'a str,
        _range: RangeSpec,
    ) -> BoxFuture<'a, Result<RangeResult, SourceError>> {
        Box::pin(async { Ok(RangeResult::default()) })
    }

    fn describe(&self) -> String {
        "fake source".into()
    }
}

/// A sample with the given labels and value.
pub fn sample(labels: &[(&str, &str)], value: f64) -> Sample {
    Sample {
        labels: labels.iter().copied().collect::<Labels>(),
        value,
    }
}

/// The ids a planned query matches on `label` (`label=~"^(?:a|b)$"`), unescaped: what a
/// real Prometheus would match. Lets a fake answer "one series per id" for any query.
pub fn ids_in(query: &str, label: &str) -> Vec<String> {
    let needle = format!("{label}=~\"^(?:");
    let Some(start) = query.find(&needle) else {
        return Vec::new();
    };
    let rest = &query[start + needle.len()..];
    let Some(end) = rest.find(")$") else {
        return Vec::new();
    };
    // Two escaping levels: the PromQL string literal's, then the regex's.
    let regex = rest[..end].replace("\\\\", "\\").replace("\\\"", "\"");
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut chars = regex.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => cur.extend(chars.next()),
            '|' => out.push(std::mem::take(&mut cur)),
            _ => cur.push(c),
        }
    }
    out.push(cur);
    out
}

/// For every query of `plan`, one series per id it asks for, all at `value`: a world where
/// every target answers, for benchmarks that need a state on everything.
pub fn one_series_per_id(
    plan: &crate::telemetry::plan::Plan,
    value: f64,
) -> std::collections::HashMap<String, InstantResult> {
    let mut answers = std::collections::HashMap::new();
    for c in &plan.checks {
        for ch in &c.chunks {
            let q = &plan.queries[ch.query as usize].expr;
            let samples = ids_in(q, &c.key_label)
                .iter()
                .map(|id| sample(&[(c.key_label.as_str(), id.as_str())], value))
                .collect();
            answers.insert(
                q.clone(),
                InstantResult {
                    samples,
                    warnings: vec![],
                },
            );
        }
    }
    answers
}

/// The JSON of a successful instant answer with `series` node-temperature samples, written
/// directly (no `Value` tree), for tests and benchmarks that need a large real-shaped
/// answer: each series has four labels, like an exporter's.
pub fn vector_answer(series: usize) -> Vec<u8> {
    use std::io::Write as _;
    let mut b = Vec::with_capacity(series * 120 + 100);
    b.extend_from_slice(br#"{"status":"success","data":{"resultType":"vector","result":["#);
    for i in 0..series {
        if i > 0 {
            b.push(b',');
        }
        // Writing to a Vec cannot fail.
        let _ = write!(
            b,
            r#"{{"metric":{{"__name__":"node_hwmon_temp_celsius","instance":"node{i:07}","job":"node","rack_id":"r{:05}"}},"value":[1700000000.123,"{}.5"]}}"#,
            i / 40,
            i % 90
        );
    }
    b.extend_from_slice(b"]}}");
    b
}
