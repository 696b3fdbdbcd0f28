//! The answers of the endpoints that reach Prometheus: device metrics, chart data
//! (serialized straight from the range answer) and the check tester (Prometheus's own
//! shape).

use rackscope_core::telemetry::source::InstantResult;
use serde::Serialize;
use serde_json::{Value, json};

use super::Ordered;

/// `/api/devices/{rack}/{device}/metrics`: per node (or the device, for chassis- and
/// rack-level metrics), metric → value, in the order given; nodes without values left
/// out.
pub fn device_metrics(
    device_id: &str,
    rack_id: &str,
    rows: Vec<(String, Vec<(String, f64)>)>,
    error: Option<String>,
) -> Value {
    let metrics = Ordered(
        rows.into_iter()
            .filter(|(_, r)| !r.is_empty())
            .map(|(k, r)| (k, Ordered(r)))
            .collect(),
    );
    let mut out = json!({ "device_id": device_id, "rack_id": rack_id, "metrics": metrics });
    if let (Some(e), Some(o)) = (error, out.as_object_mut()) {
        o.insert("error".into(), json!(e));
    }
    out
}

/// `POST /api/checks/test`: the expression sent and Prometheus's answer in its own shape,
/// every sample at `ts`.
pub fn tester(expr: &str, res: &InstantResult, ts: f64) -> Value {
    let result: Vec<Value> = res
        .samples
        .iter()
        .map(|s| {
            json!({
                "metric": s.labels.iter().collect::<std::collections::BTreeMap<_, _>>(),
                "value": [ts, prom_number(s.value)],
            })
        })
        .collect();
    let mut prometheus = json!({
        "status": "success",
        "data": { "resultType": "vector", "result": result },
    });
    if !res.warnings.is_empty()
        && let Some(o) = prometheus.as_object_mut()
    {
        o.insert("warnings".into(), json!(res.warnings));
    }
    json!({ "expr": expr, "prometheus": prometheus })
}

/// `/api/metrics/data`'s answer, in the Python version's key order.
#[derive(Serialize)]
pub struct ChartData<'a> {
    pub metric_id: &'a str,
    pub target_id: &'a str,
    pub time_range: &'a str,
    pub step: String,
    pub unit: &'a str,
    pub aggregation: String,
    pub query: &'a str,
    pub series: Vec<ChartSeries<'a>>,
    pub warnings: &'a [String],
}

#[derive(Serialize)]
pub struct ChartSeries<'a> {
    pub metric: std::collections::BTreeMap<&'a str, &'a str>,
    pub values: Points<'a>,
}

/// `[[t, v], …]`, with every value that JSON cannot carry as null.
pub struct Points<'a>(pub &'a [(f64, f64)]);

impl Serialize for Points<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter().map(|(t, v)| (t, finite(*v))))
    }
}

/// JSON has no NaN or infinity: such points become null (a gap in the chart).
fn finite(v: f64) -> Option<f64> {
    v.is_finite().then_some(v)
}

/// Prometheus writes sample values as strings (`"NaN"`, `"+Inf"` included).
fn prom_number(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v == f64::INFINITY {
        "+Inf".into()
    } else if v == f64::NEG_INFINITY {
        "-Inf".into()
    } else {
        v.to_string()
    }
}
