//! The answers of the endpoints that reach Prometheus: device metrics, chart data
//! (serialized straight from the range answer) and the check tester (Prometheus's own
//! shape).

use rackscope_core::telemetry::source::InstantResult;
use std::collections::BTreeMap;

use serde::Serialize;
use utoipa::ToSchema;

use super::Ordered;

/// `/api/devices/{rack}/{device}/metrics` (seed 003).
#[derive(Serialize, ToSchema)]
pub struct DeviceMetrics<'a> {
    pub device_id: &'a str,
    pub rack_id: &'a str,
    /// Instance (or the device id, for chassis- and rack-level metrics) → metric-library
    /// id → value, in the device's order; empty before the first snapshot.
    #[schema(value_type = HashMap<String, HashMap<String, f64>>)]
    pub metrics: Ordered<String, Ordered<String, f64>>,
    /// The first Prometheus failure, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Per node (or the device, for chassis- and rack-level metrics), metric → value, in the
/// order given; nodes without values left out.
pub fn device_metrics<'a>(
    device_id: &'a str,
    rack_id: &'a str,
    rows: Vec<(String, Vec<(String, f64)>)>,
    error: Option<String>,
) -> DeviceMetrics<'a> {
    DeviceMetrics {
        device_id,
        rack_id,
        metrics: Ordered(
            rows.into_iter()
                .filter(|(_, r)| !r.is_empty())
                .map(|(k, r)| (k, Ordered(r)))
                .collect(),
        ),
        error,
    }
}

/// `POST /api/checks/test`: the expression sent and Prometheus's answer in its own shape.
#[derive(Serialize, ToSchema)]
pub struct TestResult<'a> {
    /// The expression as sent, its variables filled in.
    pub expr: &'a str,
    pub prometheus: PromAnswer<'a>,
}

/// Prometheus's instant-query answer (`/api/v1/query`).
#[derive(Serialize, ToSchema)]
pub struct PromAnswer<'a> {
    #[schema(value_type = String, example = "success")]
    pub status: &'static str,
    pub data: PromVector<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Vec<String>>)]
    pub warnings: Option<&'a [String]>,
}

#[derive(Serialize, ToSchema)]
pub struct PromVector<'a> {
    #[serde(rename = "resultType")]
    #[schema(value_type = String, example = "vector")]
    pub result_type: &'static str,
    pub result: Vec<PromSample<'a>>,
}

#[derive(Serialize, ToSchema)]
pub struct PromSample<'a> {
    #[schema(value_type = BTreeMap<String, String>)]
    pub metric: BTreeMap<&'a str, &'a str>,
    /// `[unix seconds, value as a string]` (`"NaN"`, `"+Inf"` included).
    #[schema(value_type = Vec<Object>)]
    pub value: (f64, String),
}

/// Every sample at `ts`.
pub fn tester<'a>(expr: &'a str, res: &'a InstantResult, ts: f64) -> TestResult<'a> {
    TestResult {
        expr,
        prometheus: PromAnswer {
            status: "success",
            data: PromVector {
                result_type: "vector",
                result: res
                    .samples
                    .iter()
                    .map(|s| PromSample {
                        metric: s.labels.iter().collect(),
                        value: (ts, prom_number(s.value)),
                    })
                    .collect(),
            },
            warnings: (!res.warnings.is_empty()).then_some(res.warnings.as_slice()),
        },
    }
}

/// `/api/metrics/data`'s answer, in the Python version's key order.
#[derive(Serialize, ToSchema)]
pub struct ChartData<'a> {
    pub metric_id: &'a str,
    pub target_id: &'a str,
    pub time_range: &'a str,
    pub step: String,
    pub unit: &'a str,
    pub aggregation: String,
    pub query: &'a str,
    pub series: Vec<ChartSeries<'a>>,
    #[schema(value_type = Vec<String>)]
    pub warnings: &'a [String],
}

#[derive(Serialize, ToSchema)]
pub struct ChartSeries<'a> {
    #[schema(value_type = BTreeMap<String, String>)]
    pub metric: BTreeMap<&'a str, &'a str>,
    /// `[[unix seconds, value], …]`; a value JSON cannot carry is null.
    #[schema(value_type = Vec<Vec<Option<f64>>>)]
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
pub(crate) fn finite(v: f64) -> Option<f64> {
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
