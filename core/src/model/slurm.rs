//! The Slurm plugin's files as the Python Rackscope writes them: `plugins/slurm/config.yml`
//! and its `node_mapping.yaml`. Meaning is given in `slurm.rs`.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::yaml::Located;

/// `plugins/slurm/config.yml`. Defaults are the upstream model's.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct SlurmFile {
    pub enabled: bool,
    pub metric: String,
    pub label_node: String,
    pub label_status: String,
    pub label_partition: String,
    /// Ours: the label that says why a node is drained or down (the exporters' `reason`).
    pub label_reason: String,
    /// Ours: a per-node gauge of running jobs labelled by `label_node`, where the exporter
    /// has one (the simulator's `slurm_node_jobs`); the impact of a failing rack then counts
    /// the jobs it runs. Without it the impact counts busy nodes only.
    pub jobs_metric: Option<Located<String>>,
    pub status_map: StatusMapDef,
    pub severity_colors: BTreeMap<String, String>,
    /// Upstream keys its code never reads; accepted so the files load.
    pub roles: Vec<String>,
    pub include_unlabeled: bool,
    pub mapping_path: Option<Located<String>>,
    pub metrics_catalog_dir: Option<String>,
    pub metrics_catalogs: Vec<Located<String>>,
    /// Ours: whether a node's Slurm severity rolls into its hardware health (off, as
    /// upstream, where it never does).
    pub affects_health: bool,
}

impl Default for SlurmFile {
    fn default() -> Self {
        let colors = [
            ("ok", "#22c55e"),
            ("warn", "#f59e0b"),
            ("crit", "#ef4444"),
            ("info", "#3b82f6"),
        ];
        SlurmFile {
            enabled: true,
            metric: "slurm_node_status".into(),
            label_node: "node".into(),
            label_status: "status".into(),
            label_partition: "partition".into(),
            label_reason: "reason".into(),
            jobs_metric: None,
            status_map: StatusMapDef::default(),
            severity_colors: colors
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            roles: Vec::new(),
            include_unlabeled: false,
            mapping_path: None,
            metrics_catalog_dir: None,
            metrics_catalogs: Vec::new(),
            affects_health: false,
        }
    }
}

/// Which Slurm statuses are which severity.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct StatusMapDef {
    pub ok: Vec<Located<String>>,
    pub warn: Vec<Located<String>>,
    pub crit: Vec<Located<String>>,
    pub info: Vec<Located<String>>,
}

impl Default for StatusMapDef {
    fn default() -> Self {
        let l = |v: &[&str]| {
            v.iter()
                .map(|s| Located::new((*s).to_owned(), crate::diag::Pos::FILE))
                .collect()
        };
        StatusMapDef {
            ok: l(&["idle", "allocated", "alloc", "completing", "comp"]),
            warn: l(&[
                "mixed",
                "mix",
                "maint",
                "planned",
                "plnd",
                "reserved",
                "resv",
                "blocked",
                "block",
                "power_down",
                "pow_dn",
                "power_up",
                "pow_up",
                "powering_up",
                "powered_down",
                "reboot_issued",
                "reboot_req",
            ]),
            crit: l(&[
                "down", "drain", "drained", "draining", "drng", "fail", "failing", "failg",
                "error", "unknown", "unk", "noresp", "inval",
            ]),
            info: Vec::new(),
        }
    }
}

/// A Slurm metrics catalog file (`metrics_catalog_dir/<name>`): workload metrics to show
/// (`metrics: [{id, name, description, metric, scope, display}]`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct MetricsCatalogFile {
    pub metrics: Vec<SlurmMetricDef>,
}

#[derive(Debug, Clone, Deserialize, serde::Serialize)]
pub struct SlurmMetricDef {
    pub id: Located<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    /// The PromQL expression.
    pub metric: Located<String>,
    /// `global`, `node`, `partition` or `job`: what one series is about.
    #[serde(default)]
    pub scope: Option<String>,
    /// Unit, chart type and thresholds, as written (for the client).
    #[serde(default)]
    pub display: Option<serde_json::Value>,
}

/// `node_mapping.yaml`: the upstream list (`mappings: [{node, instance}]`, `*` capturing a
/// suffix), or the dict of patterns (`mapping: {"c[001-480]": "compute[001-480]"}`) that
/// upstream ignores and we expand.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct MappingFile {
    pub mappings: Vec<MappingEntry>,
    pub mapping: BTreeMap<String, Located<String>>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct MappingEntry {
    pub node: Located<String>,
    pub instance: Located<String>,
}
