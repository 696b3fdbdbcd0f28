//! Queries for the metrics library: one metric for many targets in one PromQL query, and
//! the answer mapped back to the targets (device metrics, rack metrics, charts).
//!
//! Library entries are written for one target (`ipmi_power_watts{instance="$instance"}`),
//! in two placeholder styles (`$instance` and `{instance}`). Asking Prometheus once per
//! node would be the query explosion the planner exists to avoid, so an equality matcher on
//! the placeholder becomes a regex matcher on the alternation of every target, and the
//! matcher's label tells which series belongs to which target.

use std::collections::HashMap;
use std::sync::LazyLock;

use regex::Regex;

use crate::model::metrics::MetricDef;
use crate::telemetry::plan::{alternation, substitute};
use crate::telemetry::source::InstantResult;

/// What a metric is measured on: which placeholder its query uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MetricScope {
    /// `$instance` / `{instance}` (and `$node_id`): one value per instance.
    Instance,
    /// `$rack_id` / `{rack_id}` (and `$pduid`, which the Python examples set to the rack).
    Rack,
    /// `$chassis_id` / `{chassis_id}`: one value per device.
    Chassis,
}

impl MetricScope {
    fn names(self) -> &'static [&'static str] {
        match self {
            MetricScope::Instance => &["instance", "instances", "node_id"],
            MetricScope::Rack => &["rack_id", "racks", "pduid"],
            MetricScope::Chassis => &["chassis_id", "chassis"],
        }
    }
}

/// `{instance}` → `$instance`, so that one substitution handles both styles. Only known
/// names are rewritten: a label matcher block is never a lone word in braces.
static BRACED: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\{(instance|instances|node_id|rack_id|racks|pduid|chassis_id|chassis|inletid)\}")
        .unwrap_or_else(|_| unreachable!("constant regex"))
});

/// `label="$word"` (or `!=`, `=~`, `!~`), capturing the label, the operator, the quote and
/// the placeholder.
static MATCHER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*(["'`])\$([A-Za-z_]+)(["'`])"#)
        .unwrap_or_else(|_| unreachable!("constant regex"))
});

/// The query text of a metric with the braced style normalised, and its scope (the first
/// placeholder it names), or `None` when it names no target (a global metric).
pub fn scope_of(def: &MetricDef) -> Option<MetricScope> {
    let expr = def.query()?;
    let norm = BRACED.replace_all(expr, "$$$1");
    [
        MetricScope::Instance,
        MetricScope::Chassis,
        MetricScope::Rack,
    ]
    .into_iter()
    .filter_map(|s| {
        s.names()
            .iter()
            .filter_map(|n| find_placeholder(&norm, n))
            .min()
            .map(|at| (at, s))
    })
    .min_by_key(|(at, _)| *at)
    .map(|(_, s)| s)
}

fn find_placeholder(expr: &str, name: &str) -> Option<usize> {
    placeholders(expr, name).next()
}

/// Where `$name` occurs as a whole word (`$instance` is not in `$instances`).
fn placeholders<'e>(expr: &'e str, name: &str) -> impl Iterator<Item = usize> + 'e {
    let needle = format!("${name}");
    let len = needle.len();
    expr.match_indices(&needle)
        .map(|(i, _)| i)
        .filter(move |i| {
            expr[i + len..]
                .chars()
                .next()
                .is_none_or(|c| !(c.is_ascii_alphanumeric() || c == '_'))
        })
        .collect::<Vec<_>>()
        .into_iter()
}

/// A query ready to send, and how to read its answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricQuery {
    pub expr: String,
    /// The label whose value names the target in the answer; `None` when the query was
    /// built for one target only (every series is that target's).
    pub label: Option<String>,
    /// The only target of a single-target query.
    pub target: Option<String>,
}

/// The queries that fetch `def` for `ids` (all of `scope`): one query when every occurrence
/// of the placeholder sits in an equality or regex matcher, else one per id.
pub fn queries(def: &MetricDef, scope: MetricScope, ids: &[&str]) -> Vec<MetricQuery> {
    let Some(expr) = def.query() else {
        return Vec::new();
    };
    let norm = BRACED.replace_all(expr, "$$$1").into_owned();
    let names = scope.names();
    let mut label = None;
    let mut batchable = true;
    let rewritten = MATCHER.replace_all(&norm, |c: &regex::Captures<'_>| {
        let (lab, op, q1, word, q2) = (&c[1], &c[2], &c[3], &c[4], &c[5]);
        if !names.contains(&word) || q1 != q2 {
            return c[0].to_string();
        }
        match op {
            "=" | "=~" => {
                label.get_or_insert_with(|| lab.to_string());
                format!("{lab}=~{q1}${word}{q2}")
            }
            // A negative matcher on the target cannot be batched meaningfully.
            _ => {
                batchable = false;
                c[0].to_string()
            }
        }
    });
    let occurrences: usize = names.iter().map(|n| placeholders(&norm, n).count()).sum();
    let in_matchers = MATCHER
        .captures_iter(&norm)
        .filter(|c| names.contains(&&c[4]) && matches!(&c[2], "=" | "=~"))
        .count();
    if ids.len() > 1 && batchable && label.is_some() && occurrences == in_matchers {
        let re = alternation(ids);
        let out = substitute(&rewritten, |w| fill(w, names, &re));
        return vec![MetricQuery {
            expr: out,
            label,
            target: None,
        }];
    }
    ids.iter()
        .map(|id| {
            // One target: its literal name for an equality, an anchored regex for a regex
            // matcher (so `n1` does not also match `n10`).
            let re = alternation(&[id]);
            let expr = MATCHER.replace_all(&norm, |c: &regex::Captures<'_>| {
                if names.contains(&&c[4]) && &c[2] == "=~" && c[3] == c[5] {
                    format!("{}=~{}$__re{}", &c[1], &c[3], &c[5])
                } else {
                    c[0].to_string()
                }
            });
            MetricQuery {
                expr: substitute(&expr, |w| {
                    if w == "$__re" {
                        Some(re.as_str())
                    } else {
                        fill(w, names, id)
                    }
                }),
                label: None,
                target: Some((*id).to_string()),
            }
        })
        .collect()
}

fn fill<'a>(word: &str, names: &[&str], value: &'a str) -> Option<&'a str> {
    let w = word.strip_prefix('$')?;
    if names.contains(&w) {
        Some(value)
    } else if w == "inletid" {
        // The Python examples' PDU metrics name the first inlet this way.
        Some("I1")
    } else {
        None
    }
}

/// How several series of one target combine into one number: power and current add up
/// (two PDUs, many outlets), anything else (temperatures) is averaged.
pub fn combine(unit: &str, values: &[f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let sum: f64 = values.iter().sum();
    let additive = matches!(
        unit.trim(),
        "W" | "kW" | "MW" | "A" | "Wh" | "kWh" | "VA" | "kVA" | "watts" | "amperes"
    );
    Some(if additive {
        sum
    } else {
        sum / values.len() as f64
    })
}

/// Collects the answer of `q` into `target → values`, skipping NaN.
pub fn collect(q: &MetricQuery, res: &InstantResult, out: &mut HashMap<String, Vec<f64>>) {
    for s in &res.samples {
        if s.value.is_nan() {
            continue;
        }
        let key = match (&q.label, &q.target) {
            (Some(l), _) => s.labels.get(l),
            (None, Some(t)) => Some(t.as_str()),
            (None, None) => None,
        };
        if let Some(k) = key {
            out.entry(k.to_string()).or_default().push(s.value);
        }
    }
}

/// Which quantity a metric measures, for the rack view's temperature and power columns:
/// decided by its unit, which every library entry must give.
pub fn is_temperature(def: &MetricDef) -> bool {
    let u = def.display.unit.trim();
    matches!(u, "°C" | "C" | "celsius" | "degC" | "℃")
}

pub fn is_power(def: &MetricDef) -> bool {
    matches!(def.display.unit.trim(), "W" | "watts")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::metrics::Display;
    use crate::telemetry::source::{Labels, Sample};
    use crate::yaml::Located;

    fn metric(expr: &str, unit: &str) -> MetricDef {
        MetricDef {
            id: Located::new("m".into(), Default::default()),
            name: "m".into(),
            description: None,
            metric: Some(Located::new(expr.into(), Default::default())),
            expr: None,
            labels: Default::default(),
            display: Display {
                unit: unit.into(),
                ..Display::default()
            },
            category: None,
            tags: Vec::new(),
        }
    }

    #[test]
    fn an_equality_matcher_batches_into_one_regex_query() {
        let m = metric(
            r#"ipmi_temperature_celsius{instance="$instance",name=~"CPU.*"}"#,
            "°C",
        );
        assert_eq!(scope_of(&m), Some(MetricScope::Instance));
        let q = queries(&m, MetricScope::Instance, &["n1", "n.2"]);
        assert_eq!(
            q,
            vec![MetricQuery {
                expr: r#"ipmi_temperature_celsius{instance=~"^(?:n1|n\\.2)$",name=~"CPU.*"}"#
                    .into(),
                label: Some("instance".into()),
                target: None,
            }]
        );
    }

    #[test]
    fn the_plural_placeholder_batches_too() {
        let m = metric(r#"avg by (instance) (x{instance=~"$instances"})"#, "W");
        let q = queries(&m, MetricScope::Instance, &["a", "b"]);
        assert_eq!(q.len(), 1);
        assert_eq!(q[0].expr, r#"avg by (instance) (x{instance=~"^(?:a|b)$"})"#);
    }

    #[test]
    fn braced_placeholders_and_single_targets() {
        let m = metric(r#"pdu_total_load_watts{rack_id="{rack_id}"}"#, "W");
        assert_eq!(scope_of(&m), Some(MetricScope::Rack));
        let q = queries(&m, MetricScope::Rack, &["r-1"]);
        assert_eq!(q[0].expr, r#"pdu_total_load_watts{rack_id="r-1"}"#);
        assert_eq!(q[0].target.as_deref(), Some("r-1"));
    }

    #[test]
    fn a_placeholder_outside_a_matcher_gives_one_query_per_target() {
        let m = metric(
            r#"label_replace(x{instance="$instance"}, "n", "$instance", "", "")"#,
            "W",
        );
        let q = queries(&m, MetricScope::Instance, &["a", "b"]);
        assert_eq!(q.len(), 2);
        assert_eq!(
            q[1].expr,
            r#"label_replace(x{instance="b"}, "n", "b", "", "")"#
        );
    }

    #[test]
    fn answers_map_back_and_combine_by_unit() {
        let m = metric(r#"p{rack_id="$rack_id"}"#, "W");
        let q = &queries(&m, MetricScope::Rack, &["r1", "r2"])[0];
        let res = InstantResult {
            samples: vec![
                Sample {
                    labels: Labels(vec![("rack_id".into(), "r1".into())]),
                    value: 100.0,
                },
                Sample {
                    labels: Labels(vec![("rack_id".into(), "r1".into())]),
                    value: 50.0,
                },
                Sample {
                    labels: Labels(vec![("rack_id".into(), "r2".into())]),
                    value: f64::NAN,
                },
            ],
            warnings: Vec::new(),
        };
        let mut out = HashMap::new();
        collect(q, &res, &mut out);
        assert_eq!(combine("W", &out["r1"]), Some(150.0));
        assert_eq!(combine("°C", &[40.0, 50.0]), Some(45.0));
        assert!(!out.contains_key("r2"));
        assert_eq!(scope_of(&metric("vector(1)", "")), None);
    }
}
