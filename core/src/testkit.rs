//! The one fake Prometheus, for tests and benchmarks (feature `testkit`, never shipped): a
//! table of series answered by evaluating each query's matchers (promql-parser's syntax
//! tree: one vector selector, optionally under a top-level `sum by (…)`), so a test states
//! what Prometheus holds rather than what it answers to a given string.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{PoisonError, RwLock};
use std::time::{SystemTime, UNIX_EPOCH};

use promql_parser::parser::{self, Expr};

use crate::labels::Labels;
use crate::telemetry::plan::Plan;
use crate::telemetry::source::{
    BoxFuture, InstantResult, MetricsSource, RangeResult, RangeSeries, RangeSpec, Sample,
    SourceError,
};

/// One stored series: name, labels, value.
pub type Series = (String, Vec<(String, String)>, f64);

/// What answers a query before the table does (a fault, a panic, a special answer);
/// `None` lets the table answer.
type Hook = dyn Fn(&str) -> Option<Result<InstantResult, SourceError>> + Send + Sync;

/// A Prometheus stand-in: selects from a table with the query's matchers, and applies a
/// top-level `sum by (…)`. Can be switched to unreachable (`down`) and counts its queries.
pub struct Table {
    series: RwLock<Vec<Series>>,
    pub down: AtomicBool,
    hook: Option<Box<Hook>>,
    queries: AtomicUsize,
}

impl Table {
    pub fn new(series: Vec<Series>) -> Table {
        Table {
            series: RwLock::new(series),
            down: AtomicBool::new(false),
            hook: None,
            queries: AtomicUsize::new(0),
        }
    }

    /// The table with `hook` consulted first for every instant query.
    pub fn with_hook(
        mut self,
        hook: impl Fn(&str) -> Option<Result<InstantResult, SourceError>> + Send + Sync + 'static,
    ) -> Table {
        self.hook = Some(Box::new(hook));
        self
    }

    /// Sets a series' value, adding the series when the table lacks it.
    pub fn set(&self, name: &str, labels: &[(&str, &str)], value: f64) {
        let new = row(name, labels, value);
        let mut series = self.series.write().unwrap_or_else(PoisonError::into_inner);
        match series.iter_mut().find(|s| s.0 == new.0 && s.1 == new.1) {
            Some(s) => s.2 = value,
            None => series.push(new),
        }
    }

    /// Removes a series.
    pub fn unset(&self, name: &str, labels: &[(&str, &str)]) {
        let gone = row(name, labels, 0.0);
        let mut series = self.series.write().unwrap_or_else(PoisonError::into_inner);
        series.retain(|s| !(s.0 == gone.0 && s.1 == gone.1));
    }

    /// How many instant queries it was sent.
    pub fn query_count(&self) -> usize {
        self.queries.load(Ordering::Relaxed)
    }

    /// The answer to an instant query, hook first.
    pub fn answer(&self, query: &str) -> Result<InstantResult, SourceError> {
        if let Some(answer) = self.hook.as_ref().and_then(|h| h(query)) {
            return answer;
        }
        self.select(query).map(|samples| InstantResult {
            samples,
            warnings: Vec::new(),
        })
    }

    fn select(&self, query: &str) -> Result<Vec<Sample>, SourceError> {
        if self.down.load(Ordering::Relaxed) {
            return Err(SourceError::Unreachable {
                url: "http://table".into(),
                reason: "connection refused".into(),
            });
        }
        let expr = parser::parse(query).map_err(|e| SourceError::Api {
            status: 400,
            error_type: "bad_data".into(),
            error: e,
            warnings: Vec::new(),
        })?;
        let (sel, by) = match &expr {
            Expr::Aggregate(a) => {
                let by = match &a.modifier {
                    Some(parser::LabelModifier::Include(l)) => Some(l.labels.clone()),
                    _ => Some(Vec::new()),
                };
                (&*a.expr, by)
            }
            e => (e, None),
        };
        let sel = match sel {
            Expr::Paren(p) => &*p.expr,
            e => e,
        };
        let Expr::VectorSelector(vs) = sel else {
            return Ok(Vec::new());
        };
        let series = self.series.read().unwrap_or_else(PoisonError::into_inner);
        let rows = series.iter().filter(|(name, labels, _)| {
            vs.name.as_deref().is_none_or(|n| n == name)
                && vs.matchers.matchers.iter().all(|m| {
                    let v = labels
                        .iter()
                        .find(|(k, _)| *k == m.name)
                        .map_or("", |(_, v)| v.as_str());
                    m.is_match(v)
                })
        });
        let mut out: Vec<Sample> = Vec::new();
        for (_, labels, v) in rows {
            let kept: Vec<(&str, &str)> = labels
                .iter()
                .filter(|(k, _)| by.as_ref().is_none_or(|b| b.contains(k)))
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            let l: Labels = kept.iter().copied().collect();
            match out.iter_mut().find(|s| by.is_some() && s.labels == l) {
                Some(s) => s.value += v,
                None => out.push(Sample {
                    labels: l,
                    value: *v,
                }),
            }
        }
        Ok(out)
    }
}

impl MetricsSource for Table {
    fn instant<'a>(
        &'a self,
        query: &'a str,
        _at: SystemTime,
    ) -> BoxFuture<'a, Result<InstantResult, SourceError>> {
        // Counted when polled, like a real client's request: a query built but never sent
        // (answered from the failure memory) is not a query.
        Box::pin(async move {
            self.queries.fetch_add(1, Ordering::Relaxed);
            self.answer(query)
        })
    }

    fn range<'a>(
        &'a self,
        query: &'a str,
        range: RangeSpec,
    ) -> BoxFuture<'a, Result<RangeResult, SourceError>> {
        let r = self.select(query).map(|samples| RangeResult {
            series: samples
                .into_iter()
                .map(|s| {
                    let start = range
                        .start
                        .duration_since(UNIX_EPOCH)
                        .unwrap_or_default()
                        .as_secs();
                    let n = range
                        .end
                        .duration_since(range.start)
                        .unwrap_or_default()
                        .as_secs()
                        / range.step.as_secs().max(1);
                    RangeSeries {
                        labels: s.labels,
                        points: (0..=n)
                            .map(|i| ((start + i * range.step.as_secs()) as f64, s.value))
                            .collect(),
                    }
                })
                .collect(),
            warnings: Vec::new(),
        });
        Box::pin(async move { r })
    }

    fn describe(&self) -> String {
        "table".into()
    }
}

/// A series of the table.
pub fn row(name: &str, labels: &[(&str, &str)], v: f64) -> Series {
    (
        name.into(),
        labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        v,
    )
}

/// A sample with the given labels and value, for hooks.
pub fn sample(labels: &[(&str, &str)], value: f64) -> Sample {
    Sample {
        labels: labels.iter().copied().collect::<Labels>(),
        value,
    }
}

/// The ids a planned query matches on `label` (`label=~"^(?:a|b)$"`), unescaped: what a
/// real Prometheus would match. For hooks that answer "one series per id".
pub fn ids_in(query: &str, label: &str) -> Vec<String> {
    let needle = format!("{label}=~\"^(?:");
    let Some(start) = query.find(&needle) else {
        return Vec::new();
    };
    let rest = &query[start + needle.len()..];
    let Some(end) = rest.find(")$") else {
        return Vec::new();
    };
    // The PromQL string literal's escaping first; then the folded regex read back.
    let regex = rest[..end].replace("\\\\", "\\").replace("\\\"", "\"");
    crate::telemetry::alternation::expand(&regex, 1_000_000).unwrap_or_default()
}

/// For every query of `plan`, one series per id it asks for, all at `value`: a world where
/// every target answers, for benchmarks that need a state on everything.
pub fn one_series_per_id(
    config: &crate::Config,
    plan: &Plan,
    value: f64,
) -> HashMap<String, InstantResult> {
    let mut answers = HashMap::new();
    for c in &plan.checks {
        for ch in &c.chunks {
            let planned = &plan.queries[ch.query as usize];
            let q = &planned.expr;
            // A query without the id regex names no ids: its chunk's targets are the ones
            // a Prometheus holding only the topology would answer for.
            let ids: Vec<String> = if planned.unfiltered {
                let mut keys: Vec<String> = c.targets
                    [ch.targets.start as usize..ch.targets.end as usize]
                    .iter()
                    .map(|&t| plan.targets.key(&config.topology, c.scope, t).to_owned())
                    .collect();
                keys.sort_unstable();
                keys.dedup();
                keys
            } else {
                ids_in(q, &c.key_label)
            };
            let samples = ids
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
