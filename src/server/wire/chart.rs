//! `/api/metrics/data`'s answer, serialized straight from the range answer.

use serde::Serialize;

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
