//! Slurm state from Prometheus (issue #21), in the upstream plugin's files: which node
//! statuses are which severity, how Slurm node names map to instances, and the state of each
//! instance from one `slurm_node_status{node,status,partition}` answer.
//!
//! Pure: the files are checked here (`load::slurm`), the one query is the engine's, and
//! what a page shows is built from `SlurmView`.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;

use crate::diag::{Diagnostics, Span};
use crate::labels::Labels;
use crate::model::checks::{CheckDef, Scope};
use crate::model::slurm::{MappingFile, SlurmFile};
use crate::severity::Severity;
use crate::topology::{InstanceIx, Topology};
use crate::yaml::Located;

/// A Slurm severity. The order is the worst-last order of the hardware states with INFO
/// below OK: a node that is `idle` (INFO when configured) is fine, and a status no list
/// names is UNKNOWN, above OK (the Python version ranked UNKNOWN lowest).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Level {
    Info,
    Ok,
    Unknown,
    Warn,
    Crit,
}

impl Level {
    /// The hardware severity a Slurm level counts as when it rolls into health
    /// (`affects_health`): INFO is a fine node.
    pub fn severity(self) -> Severity {
        match self {
            Level::Info | Level::Ok => Severity::Ok,
            Level::Unknown => Severity::Unknown,
            Level::Warn => Severity::Warn,
            Level::Crit => Severity::Crit,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Level::Info => "INFO",
            Level::Ok => "OK",
            Level::Unknown => "UNKNOWN",
            Level::Warn => "WARN",
            Level::Crit => "CRIT",
        }
    }
}

/// Slurm's short forms, as `sinfo` prints them, to the long ones the status map lists.
const ALIASES: [(&str, &str); 12] = [
    ("alloc", "allocated"),
    ("comp", "completing"),
    ("drng", "draining"),
    ("failg", "failing"),
    ("futr", "future"),
    ("mix", "mixed"),
    ("plnd", "planned"),
    ("pow_dn", "power_down"),
    ("pow_up", "power_up"),
    ("resv", "reserved"),
    ("unk", "unknown"),
    ("block", "blocked"),
];

/// A raw status, trimmed, lower-cased and its alias resolved; and whether it carried
/// Slurm's trailing `*` (the node does not respond).
pub fn normalize(raw: &str) -> (String, bool) {
    let t = raw.trim().to_ascii_lowercase();
    let (t, star) = match t.strip_suffix('*') {
        Some(s) => (s.trim_end().to_owned(), true),
        None => (t, false),
    };
    let long = ALIASES
        .iter()
        .find(|(short, _)| *short == t)
        .map_or(t.clone(), |(_, long)| (*long).to_owned());
    (long, star)
}

/// The severity of each status the configuration names.
#[derive(Debug, Clone, Default)]
pub struct StatusMap {
    levels: HashMap<String, Level>,
}

impl StatusMap {
    /// A status's severity: a `*` is CRIT whatever the status; a status no list names is
    /// UNKNOWN.
    pub fn level(&self, status: &str, star: bool) -> Level {
        if star {
            return Level::Crit;
        }
        self.levels.get(status).copied().unwrap_or(Level::Unknown)
    }
}

/// Slurm node name → instance name.
#[derive(Debug, Clone, Default)]
pub struct Mapping {
    exact: HashMap<String, String>,
    /// `(node prefix, instance pattern with one `*`)`: the node's suffix after the prefix
    /// fills the `*`; the first rule that matches wins.
    stars: Vec<(String, String)>,
    /// Where the mapping was read from, for the API.
    pub file: Option<PathBuf>,
    /// The entries as written (expanded), for the API.
    pub entries: Vec<(String, String)>,
}

impl Mapping {
    /// The instance a Slurm node is; the node name itself when no rule names it.
    pub fn instance<'a>(&'a self, node: &'a str) -> Cow<'a, str> {
        if let Some(i) = self.exact.get(node) {
            return Cow::Borrowed(i);
        }
        for (prefix, pattern) in &self.stars {
            if let Some(rest) = node.strip_prefix(prefix.as_str()) {
                return Cow::Owned(pattern.replacen('*', rest, 1));
            }
        }
        Cow::Borrowed(node)
    }
}

/// The Slurm settings of a configuration, checked.
#[derive(Debug, Clone, Default)]
pub struct Slurm {
    pub metric: String,
    pub label_node: String,
    pub label_status: String,
    pub label_partition: String,
    /// The label that says why a node is drained or down, where the exporter has one.
    pub label_reason: String,
    /// The per-node running-jobs gauge, where the exporter has one.
    pub jobs_metric: Option<String>,
    pub status: StatusMap,
    pub colors: BTreeMap<String, String>,
    pub mapping: Mapping,
    pub affects_health: bool,
    /// The plugin file (`plugins/slurm/config.yml`, or app.yaml without one).
    pub file: Option<std::sync::Arc<std::path::Path>>,
    /// The workload metrics of the catalogs, each id once (a later catalog's wins).
    pub catalog: Vec<crate::model::slurm::SlurmMetricDef>,
    /// The catalog files read, and those the catalog directory holds.
    pub catalog_files: Vec<String>,
    pub catalog_available: Vec<String>,
}

impl Slurm {
    /// The one query per refresh: every node's statuses, partitions and reasons.
    pub fn query(&self) -> String {
        format!(
            "max by ({}, {}, {}, {}) ({})",
            self.label_node,
            self.label_status,
            self.label_partition,
            self.label_reason,
            self.metric
        )
    }

    /// The running jobs of each node, where `jobs_metric` names a gauge: sent in the same
    /// batch as `query`.
    pub fn jobs_query(&self) -> Option<String> {
        let m = self.jobs_metric.as_ref()?;
        Some(format!("sum by ({}) ({m})", self.label_node))
    }

    /// Each instance's running jobs, from the answer to `jobs_query`: nodes that map to no
    /// instance, and values that are not counts, are left out.
    pub fn jobs<'s>(
        &self,
        topo: &Topology,
        samples: impl IntoIterator<Item = (&'s Labels, f64)>,
    ) -> HashMap<InstanceIx, u32> {
        let mut out = HashMap::new();
        for (labels, value) in samples {
            if !value.is_finite() || value < 0.0 {
                continue;
            }
            let Some(node) = labels.get(&self.label_node) else {
                continue;
            };
            if let Some(ix) = topo.instance_ix(&self.mapping.instance(node)) {
                // A gauge far past any node's job count is clamped rather than trusted.
                let n = value.min(f64::from(u32::MAX)) as u32;
                let e: &mut u32 = out.entry(ix).or_default();
                *e = e.saturating_add(n);
            }
        }
        out
    }

    /// The check Slurm severity becomes when it rolls into health (`affects_health`): a
    /// node check of its own, so that alerts name it, evaluated from the one Slurm answer
    /// (`telemetry::workload`) rather than by rules.
    pub fn check_def(&self, at: crate::diag::Pos) -> CheckDef {
        CheckDef {
            id: Located::new(CHECK_ID.to_owned(), at),
            name: "Slurm node status".into(),
            scope: Scope::Node,
            kind: Some("slurm".into()),
            expr: Located::new(self.query(), at),
            output: Default::default(),
            rules: Vec::new(),
            selectors: Vec::new(),
            expand_by_label: None,
            expand_discovery_expr: None,
            expand_absent_state: None,
            expand_crit_threshold: None,
            for_duration: None,
            description: Some(
                "The node's Slurm status, by plugins/slurm/config.yml's status_map (affects_health)"
                    .into(),
            ),
            script: None,
            script_file: None,
            aggregate_script: None,
            aggregate_script_file: None,
            params: BTreeMap::new(),
        }
    }

    /// The state of every instance Slurm reports, from the query's answer.
    pub fn join<'s>(
        &self,
        topo: &Topology,
        samples: impl IntoIterator<Item = (&'s Labels, f64)>,
    ) -> SlurmView {
        let mut nodes: BTreeMap<InstanceIx, NodeState> = BTreeMap::new();
        let mut unplaced = BTreeSet::new();
        // Per instance: the status of partition `all`, which wins where a node has it.
        let mut in_all: HashMap<InstanceIx, (String, Level)> = HashMap::new();
        for (labels, value) in samples {
            // Upstream's exporters write 1 for the status a node is in and 0 otherwise.
            if value.is_nan() || value <= 0.0 {
                continue;
            }
            let (Some(node), Some(raw)) =
                (labels.get(&self.label_node), labels.get(&self.label_status))
            else {
                continue;
            };
            let instance = self.mapping.instance(node);
            let Some(ix) = topo.instance_ix(&instance) else {
                unplaced.insert(node.to_owned());
                continue;
            };
            let (status, star) = normalize(raw);
            let level = self.status.level(&status, star);
            let shown = if star { format!("{status}*") } else { status };
            let partition = labels.get(&self.label_partition).unwrap_or("");
            let reason = labels
                .get(&self.label_reason)
                .filter(|r| !r.trim().is_empty())
                .map(|r| r.chars().take(MAX_REASON).collect::<String>());
            let n = nodes.entry(ix).or_insert_with(|| NodeState {
                node: node.to_owned(),
                status: shown.clone(),
                level,
                statuses: Vec::new(),
                partitions: Vec::new(),
                reason: reason.clone(),
            });
            if level > n.level {
                n.level = level;
                n.status = shown.clone();
                n.reason = reason.clone();
            }
            if n.reason.is_none() {
                n.reason = reason;
            }
            if partition == "all" {
                in_all.insert(ix, (shown.clone(), level));
            } else if !partition.is_empty() && !n.partitions.iter().any(|p| p == partition) {
                n.partitions.push(partition.to_owned());
            }
            if !n.statuses.contains(&shown) {
                n.statuses.push(shown);
            }
        }
        for (ix, n) in &mut nodes {
            if let Some((status, level)) = in_all.remove(ix) {
                n.status = status;
                n.level = level;
            }
            n.partitions.sort();
            n.statuses.sort();
        }
        SlurmView {
            nodes,
            unplaced: unplaced.into_iter().collect(),
        }
    }
}

/// One instance's Slurm state.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct NodeState {
    /// The Slurm node name (before mapping).
    pub node: String,
    /// The status shown: the worst one, or the one in partition `all` where there is one.
    pub status: String,
    pub level: Level,
    pub statuses: Vec<String>,
    pub partitions: Vec<String>,
    /// Why Slurm drained or downed the node (the exporter's reason label), where it says.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// The longest reason kept: an exporter's label is hostile input shown on pages.
const MAX_REASON: usize = 200;

/// The id of the check Slurm severity becomes when it rolls into health.
pub const CHECK_ID: &str = "slurm_node_status";

/// The Slurm state of an estate at one refresh.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SlurmView {
    pub nodes: BTreeMap<InstanceIx, NodeState>,
    /// Slurm nodes that map to no instance of the topology.
    pub unplaced: Vec<String>,
}

/// The Slurm state a refresh found: the view, or why the query failed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SlurmState {
    pub view: SlurmView,
    pub error: Option<String>,
    /// Running jobs per instance, when `jobs_metric` is set and its query answered: `None`
    /// means unknown, never zero.
    pub jobs: Option<HashMap<InstanceIx, u32>>,
}

/// Checks the plugin file and its mapping into `Slurm`; every problem is a diagnostic at
/// its line. `mapping` is the mapping file's text and node, when it exists.
pub fn check(
    file: &SlurmFile,
    at: &std::sync::Arc<std::path::Path>,
    mapping: Option<(&std::sync::Arc<std::path::Path>, &MappingFile)>,
    diags: &mut Diagnostics,
) -> Slurm {
    let mut levels: HashMap<String, Level> = HashMap::new();
    // The most severe list wins a status listed twice, as upstream looks crit first.
    for (list, level) in [
        (&file.status_map.crit, Level::Crit),
        (&file.status_map.warn, Level::Warn),
        (&file.status_map.ok, Level::Ok),
        (&file.status_map.info, Level::Info),
    ] {
        for s in list {
            let (status, _) = normalize(&s.value);
            match levels.get(&status) {
                Some(first) if *first != level => diags.warning(
                    "slurm",
                    Span::new(at, s.pos),
                    format!(
                        "status `{}` is also listed as {}; {} is used",
                        s.value,
                        first.as_str(),
                        first.as_str()
                    ),
                ),
                Some(_) => {}
                None => {
                    levels.insert(status, level);
                }
            }
        }
    }
    for (key, label) in [
        ("label_node", &file.label_node),
        ("label_status", &file.label_status),
        ("label_partition", &file.label_partition),
        ("label_reason", &file.label_reason),
    ] {
        if label.is_empty() || !label.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            diags.error(
                "slurm",
                Span::file_only(at),
                format!("{key} `{label}` is not a Prometheus label name"),
            );
        }
    }
    if file.metric.is_empty()
        || !file
            .metric
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
    {
        diags.error(
            "slurm",
            Span::file_only(at),
            format!("metric `{}` is not a Prometheus metric name", file.metric),
        );
    }
    let mapping = match mapping {
        Some((path, m)) => mapping_of(path, m, diags),
        None => Mapping::default(),
    };
    Slurm {
        metric: file.metric.clone(),
        label_node: file.label_node.clone(),
        label_status: file.label_status.clone(),
        label_partition: file.label_partition.clone(),
        label_reason: file.label_reason.clone(),
        jobs_metric: jobs_metric(file, at, diags),
        status: StatusMap { levels },
        colors: file.severity_colors.clone(),
        mapping,
        affects_health: file.affects_health,
        file: Some(at.clone()),
        catalog: Vec::new(),
        catalog_files: Vec::new(),
        catalog_available: Vec::new(),
    }
}

/// `jobs_metric`, when it is a metric name (a selector is refused: the query sums it by
/// node itself).
fn jobs_metric(
    file: &SlurmFile,
    at: &std::sync::Arc<std::path::Path>,
    diags: &mut Diagnostics,
) -> Option<String> {
    let m = file.jobs_metric.as_ref()?;
    let ok = !m.value.is_empty()
        && !m.value.starts_with(|c: char| c.is_ascii_digit())
        && m.value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':');
    if !ok {
        diags.error(
            "slurm",
            Span::new(at, m.pos),
            format!("jobs_metric `{}` is not a Prometheus metric name", m.value),
        );
        return None;
    }
    Some(m.value.clone())
}

/// The most nodes a mapping may name once expanded: far past any cluster, and a bound on
/// what a hostile file can make the loader hold.
pub const MAX_MAPPING: usize = 2_000_000;

/// Both mapping forms, expanded with the one instance grammar.
fn mapping_of(
    path: &std::sync::Arc<std::path::Path>,
    m: &MappingFile,
    diags: &mut Diagnostics,
) -> Mapping {
    let mut out = Mapping {
        file: Some(path.to_path_buf()),
        ..Mapping::default()
    };
    for e in &m.mappings {
        let (node, instance) = (&e.node.value, &e.instance.value);
        match node.split_once('*') {
            Some((prefix, "")) if instance.matches('*').count() == 1 => {
                out.stars.push((prefix.to_owned(), instance.clone()));
            }
            Some(_) => diags.error(
                "slurm",
                Span::new(path, e.node.pos),
                format!(
                    "`{node}` → `{instance}`: a `*` ends the node name and appears once in the instance"
                ),
            ),
            None if instance.contains('*') => diags.error(
                "slurm",
                Span::new(path, e.instance.pos),
                format!("`{instance}` has a `*` but node `{node}` has none to fill it"),
            ),
            None => {
                out.exact.entry(node.clone()).or_insert_with(|| instance.clone());
            }
        }
        out.entries.push((node.clone(), instance.clone()));
    }
    for (nodes, instances) in &m.mapping {
        let at = Span::new(path, instances.pos);
        let (n, i) = match (
            crate::expand::expand(nodes),
            crate::expand::expand(&instances.value),
        ) {
            (Ok(n), Ok(i)) => (n, i),
            (Err(e), _) | (_, Err(e)) => {
                diags.error(
                    "slurm",
                    at,
                    format!("`{nodes}` → `{}`: {e}", instances.value),
                );
                continue;
            }
        };
        if out.entries.len() + n.len() > MAX_MAPPING {
            diags.error(
                "slurm",
                at,
                format!("the mapping names more than {MAX_MAPPING} nodes; the rest is ignored"),
            );
            break;
        }
        if n.len() != i.len() {
            diags.error(
                "slurm",
                at,
                format!(
                    "`{nodes}` names {} nodes but `{}` names {} instances; each node maps to one instance",
                    n.len(),
                    instances.value,
                    i.len()
                ),
            );
            continue;
        }
        for (node, instance) in n.into_iter().zip(i) {
            out.entries.push((node.clone(), instance.clone()));
            out.exact.entry(node).or_insert(instance);
        }
    }
    out
}

#[cfg(test)]
mod tests;
