//! Queries for the metrics library: one metric for many targets in one PromQL query, and
//! the answer mapped back to the targets (device metrics, rack metrics, charts).
//!
//! Library entries are written for one target (`ipmi_power_watts{instance="$instance"}`),
//! in two placeholder styles (`$instance` and `{instance}`). Asking Prometheus once per
//! node would be the query explosion the planner exists to avoid, so an equality matcher on
//! the placeholder becomes a regex matcher on the alternation of every target, and the
//! matcher's label tells which series belongs to which target.

use std::borrow::Cow;
use std::collections::HashMap;

use crate::model::metrics::MetricDef;
use crate::placeholder::{self, Literal, Placeholder, dollars, substitute, with_braces};
use crate::telemetry::plan::alternation;
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

/// The braced names rewritten to the `$` style. Only known names: a label matcher block is
/// never a lone word in braces.
const BRACED: [&str; 9] = [
    "instance",
    "instances",
    "node_id",
    "rack_id",
    "racks",
    "pduid",
    "chassis_id",
    "chassis",
    "inletid",
];

/// `{instance}` → `$instance`, so that one substitution handles both styles.
fn normalise(expr: &str) -> String {
    placeholder::replace(expr, with_braces(expr), |p| {
        (p.braced && BRACED.contains(&p.name)).then(|| Cow::Owned(format!("${}", p.name)))
    })
}

/// The metric's scope: the first placeholder it names, in either style, or `None` when it
/// names no target (a global metric).
pub fn scope_of(def: &MetricDef) -> Option<MetricScope> {
    let expr = normalise(def.query()?);
    let scopes = [
        MetricScope::Instance,
        MetricScope::Chassis,
        MetricScope::Rack,
    ];
    dollars(&expr).find_map(|p| scopes.into_iter().find(|s| s.names().contains(&p.name)))
}

/// A placeholder that is a label matcher's whole value: `label="$word"` (or `!=`, `=~`,
/// `!~`, any quote).
struct Matcher<'e> {
    /// Where the label starts and the closing quote ends.
    start: usize,
    end: usize,
    label: &'e str,
    op: &'e str,
    quote: char,
    name: &'e str,
}

fn matcher<'e>(expr: &'e str, p: &Placeholder<'e>) -> Option<Matcher<'e>> {
    let quote = match p.literal {
        Literal::Quoted(q) => q,
        Literal::Raw => b'`',
        Literal::Code => return None,
    };
    if p.braced || p.name.is_empty() || p.start == 0 {
        return None;
    }
    let bytes = expr.as_bytes();
    if bytes[p.start - 1] != quote || bytes.get(p.end) != Some(&quote) {
        return None;
    }
    let before = expr[..p.start - 1].trim_end();
    let op = ["=~", "!~", "!=", "="]
        .into_iter()
        .find(|op| before.ends_with(op))?;
    let before = before[..before.len() - op.len()].trim_end();
    let ident = before.len()
        - before
            .bytes()
            .rev()
            .take_while(|b| b.is_ascii_alphanumeric() || *b == b'_')
            .count();
    // A label starts with a letter or an underscore.
    let start = ident
        + before[ident..]
            .bytes()
            .take_while(u8::is_ascii_digit)
            .count();
    let label = &before[start..];
    (!label.is_empty()).then_some(Matcher {
        start,
        end: p.end + 1,
        label,
        op,
        quote: char::from(quote),
        name: p.name,
    })
}

/// The matchers on a placeholder of `names`, in order.
fn matchers<'e>(expr: &'e str, names: &'e [&str]) -> impl Iterator<Item = Matcher<'e>> + 'e {
    dollars(expr)
        .filter_map(move |p| matcher(expr, &p))
        .filter(move |m| names.contains(&m.name))
}

/// `expr` with each matcher on a placeholder of `names` replaced by what `rewrite` gives.
fn rewrite_matchers(
    expr: &str,
    names: &[&str],
    mut rewrite: impl FnMut(&Matcher<'_>) -> Option<String>,
) -> String {
    let mut out = String::with_capacity(expr.len());
    let mut copied = 0;
    for m in matchers(expr, names) {
        if let Some(text) = rewrite(&m) {
            out.push_str(&expr[copied..m.start]);
            out.push_str(&text);
            copied = m.end;
        }
    }
    out.push_str(&expr[copied..]);
    out
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
    let norm = normalise(expr);
    let names = scope.names();
    let equality = |m: &Matcher<'_>| matches!(m.op, "=" | "=~");
    // A negative matcher on the target cannot be batched meaningfully.
    let batchable = matchers(&norm, names).all(|m| equality(&m));
    let label = matchers(&norm, names)
        .find(equality)
        .map(|m| m.label.to_owned());
    let occurrences = dollars(&norm).filter(|p| names.contains(&p.name)).count();
    let in_matchers = matchers(&norm, names).filter(|m| equality(m)).count();
    if ids.len() > 1 && batchable && label.is_some() && occurrences == in_matchers {
        let rewritten = rewrite_matchers(&norm, names, |m| {
            equality(m).then(|| format!("{}=~{q}${}{q}", m.label, m.name, q = m.quote))
        });
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
            let expr = rewrite_matchers(&norm, names, |m| {
                (m.op == "=~").then(|| format!("{}=~{q}$__re{q}", m.label, q = m.quote))
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
                expr: r#"ipmi_temperature_celsius{instance=~"^(?:n(?:\\.2|1))$",name=~"CPU.*"}"#
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
        assert_eq!(
            q[0].expr,
            r#"avg by (instance) (x{instance=~"^(?:[ab])$"})"#
        );
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
                    labels: Labels::from_iter([("rack_id", "r1")]),
                    value: 100.0,
                },
                Sample {
                    labels: Labels::from_iter([("rack_id", "r1")]),
                    value: 50.0,
                },
                Sample {
                    labels: Labels::from_iter([("rack_id", "r2")]),
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
