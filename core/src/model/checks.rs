//! The checks library: `checks:` lists and the `kinds: {kind: [...]}` grouping.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::duration::Duration;
use crate::model::topology::Skip;
use crate::severity::Severity;
use crate::yaml::Located;

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(default)]
pub struct ChecksFile {
    pub checks: Option<Vec<Skip>>,
    pub kinds: Option<BTreeMap<String, Skip>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    Node,
    Chassis,
    Rack,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Node => "node",
            Scope::Chassis => "chassis",
            Scope::Rack => "rack",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Output {
    #[default]
    Bool,
    Numeric,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CheckDef {
    pub id: Located<String>,
    pub name: String,
    pub scope: Scope,
    #[serde(default)]
    pub kind: Option<String>,
    pub expr: Located<String>,
    #[serde(default)]
    pub output: Output,
    #[serde(default)]
    pub rules: Vec<Located<Rule>>,
    /// When set, results are keyed by the label `selectors[0]` instead of the scope's label.
    #[serde(default)]
    pub selectors: Vec<String>,
    #[serde(default)]
    pub expand_by_label: Option<String>,
    #[serde(default)]
    pub expand_discovery_expr: Option<Located<String>>,
    #[serde(default)]
    pub expand_absent_state: Option<Severity>,
    #[serde(default)]
    pub expand_crit_threshold: Option<u32>,
    /// How long a failing state must hold before it counts (`30s`, `5m`, `1h`, `1d`).
    #[serde(rename = "for", default)]
    pub for_duration: Option<Located<Duration>>,
    #[serde(default)]
    pub description: Option<String>,
    /// Rhai logic run per series, after the rules (whose verdict it sees as `state`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub script: Option<Located<String>>,
    /// The same, from a `.rhai` file relative to the checks directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub script_file: Option<Located<String>>,
    /// Rhai logic that decides a target's state from all of its series.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aggregate_script: Option<Located<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aggregate_script_file: Option<Located<String>>,
    /// Values handed to the scripts as `params`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub params: BTreeMap<String, serde_json::Value>,
}

impl CheckDef {
    pub fn is_scripted(&self) -> bool {
        self.script.is_some()
            || self.script_file.is_some()
            || self.aggregate_script.is_some()
            || self.aggregate_script_file.is_some()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rule {
    pub op: Op,
    pub value: RuleValue,
    pub severity: Severity,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Op {
    #[serde(rename = "==")]
    Eq,
    #[serde(rename = "!=")]
    Ne,
    #[serde(rename = ">")]
    Gt,
    #[serde(rename = ">=")]
    Ge,
    #[serde(rename = "<")]
    Lt,
    #[serde(rename = "<=")]
    Le,
}

impl Op {
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Eq => "==",
            Op::Ne => "!=",
            Op::Gt => ">",
            Op::Ge => ">=",
            Op::Lt => "<",
            Op::Le => "<=",
        }
    }
    pub fn test(self, sample: f64, threshold: f64) -> bool {
        match self {
            Op::Eq => sample == threshold,
            Op::Ne => sample != threshold,
            Op::Gt => sample > threshold,
            Op::Ge => sample >= threshold,
            Op::Lt => sample < threshold,
            Op::Le => sample <= threshold,
        }
    }
}

/// A rule threshold: a number, or a string compared as a number when it parses as one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum RuleValue {
    Number(f64),
    Text(String),
}

impl RuleValue {
    pub fn as_number(&self) -> Option<f64> {
        match self {
            RuleValue::Number(n) => Some(*n),
            RuleValue::Text(t) => t.trim().parse().ok(),
        }
    }
}

impl Rule {
    /// Whether a sample matches this rule. A threshold that is not a number never matches.
    pub fn matches(&self, sample: f64) -> bool {
        self.value
            .as_number()
            .is_some_and(|t| self.op.test(sample, t))
    }
}
