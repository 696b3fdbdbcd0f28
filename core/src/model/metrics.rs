//! The metrics library: named PromQL expressions with display hints, for charts and panels.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::model::catalog::Thresholds;
use crate::model::topology::Skip;
use crate::yaml::Located;

/// A metrics file that holds a `metrics:` list (the other form is one metric per file).
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(default)]
pub struct MetricsFile {
    pub metrics: Option<Vec<Skip>>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MetricDef {
    pub id: Located<String>,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The PromQL (`$instance`, `$rack_id`, `{instance}`… placeholders). Seed 001 calls it
    /// `expr`; the example files call it `metric`. Both are accepted.
    #[serde(default)]
    pub metric: Option<Located<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expr: Option<Located<String>>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    #[serde(default)]
    pub display: Display,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
}

impl MetricDef {
    pub fn query(&self) -> Option<&Located<String>> {
        self.metric.as_ref().or(self.expr.as_ref())
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Display {
    pub unit: String,
    pub chart_type: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub color: Option<String>,
    pub time_ranges: Vec<String>,
    pub default_range: String,
    pub aggregation: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub thresholds: Option<Thresholds>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub format: Option<serde_json::Value>,
}

impl Default for Display {
    fn default() -> Self {
        Display {
            unit: String::new(),
            chart_type: "line".into(),
            color: None,
            time_ranges: vec!["1h".into(), "6h".into(), "24h".into(), "7d".into()],
            default_range: "24h".into(),
            aggregation: "avg".into(),
            thresholds: None,
            format: None,
        }
    }
}
