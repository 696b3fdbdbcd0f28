//! The simulator's settings: `plugins/simulator/config/plugin.yaml` of a configuration, in
//! the Python Rackscope's format, and where the files it names are found.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rackscope_core::Diagnostic;
use serde::Deserialize;

/// Where the plugin file sits in a configuration directory.
pub const PLUGIN_FILE: &str = "plugins/simulator/config/plugin.yaml";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IncidentMode {
    FullOk,
    #[default]
    Light,
    Medium,
    Heavy,
    Chaos,
    Custom,
}

impl IncidentMode {
    pub fn parse(s: &str) -> Option<IncidentMode> {
        Some(match s {
            "full_ok" => IncidentMode::FullOk,
            "light" => IncidentMode::Light,
            "medium" => IncidentMode::Medium,
            "heavy" => IncidentMode::Heavy,
            "chaos" => IncidentMode::Chaos,
            "custom" => IncidentMode::Custom,
            _ => return None,
        })
    }
    pub fn as_str(self) -> &'static str {
        match self {
            IncidentMode::FullOk => "full_ok",
            IncidentMode::Light => "light",
            IncidentMode::Medium => "medium",
            IncidentMode::Heavy => "heavy",
            IncidentMode::Chaos => "chaos",
            IncidentMode::Custom => "custom",
        }
    }
}

/// Exact incident counts for the `custom` mode.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct CustomIncidents {
    pub devices_crit: usize,
    pub devices_warn: usize,
    pub racks_crit: usize,
    pub aisles_hot: usize,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct SlurmRandom {
    pub drain: usize,
    pub down: usize,
    pub maint: usize,
}

/// One entry of `metrics_catalogs`: a bare path, or `{id, path, enabled}`.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum CatalogRef {
    Path(String),
    Entry {
        #[serde(default)]
        id: Option<String>,
        path: String,
        #[serde(default = "yes")]
        enabled: bool,
    },
}

fn yes() -> bool {
    true
}

/// Value profile of a class of nodes (the Python simulator's `profiles:`).
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(default)]
pub struct Profile {
    pub base_temp: f64,
    pub temp_range: f64,
    pub base_power: f64,
    pub power_var: f64,
    pub load_min: f64,
    pub load_max: f64,
}

impl Default for Profile {
    fn default() -> Self {
        Profile {
            base_temp: 24.0,
            temp_range: 10.0,
            base_power: 180.0,
            power_var: 200.0,
            load_min: 25.0,
            load_max: 85.0,
        }
    }
}

/// plugin.yaml as written. Every key is optional.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct PluginFile {
    pub update_interval_seconds: u64,
    pub seed: Option<u64>,
    pub incident_mode: String,
    pub changes_per_hour: f64,
    pub custom_incidents: CustomIncidents,
    pub overrides_path: Option<String>,
    pub default_ttl_seconds: Option<u64>,
    pub metrics_catalog_path: Option<String>,
    pub metrics_catalogs: Vec<CatalogRef>,
    pub slurm_alloc_percent: u8,
    pub slurm_random_statuses: SlurmRandom,
    pub slurm_random_match: Vec<String>,
    pub profiles: BTreeMap<String, Profile>,
}

impl Default for PluginFile {
    fn default() -> Self {
        PluginFile {
            update_interval_seconds: 20,
            seed: None,
            incident_mode: "light".into(),
            changes_per_hour: 2.0,
            custom_incidents: CustomIncidents::default(),
            overrides_path: None,
            default_ttl_seconds: Some(120),
            metrics_catalog_path: None,
            metrics_catalogs: Vec::new(),
            slurm_alloc_percent: 80,
            slurm_random_statuses: SlurmRandom {
                drain: 1,
                down: 1,
                maint: 1,
            },
            slurm_random_match: vec!["compute*".into(), "visu*".into()],
            profiles: BTreeMap::new(),
        }
    }
}

/// The settings the simulator runs with, paths resolved.
#[derive(Debug, Clone)]
pub struct Settings {
    pub update_interval_seconds: u64,
    pub seed: Option<u64>,
    pub mode: IncidentMode,
    pub changes_per_hour: f64,
    pub custom: CustomIncidents,
    /// Where overrides are read and written; `None` keeps them in memory only.
    pub overrides_file: Option<PathBuf>,
    pub default_ttl_seconds: Option<u64>,
    /// Catalog files to apply over the built-in one, in order.
    pub catalogs: Vec<PathBuf>,
    pub slurm_alloc_percent: u8,
    pub slurm_random: SlurmRandom,
    pub slurm_random_match: Vec<String>,
    pub profiles: BTreeMap<String, Profile>,
    /// Where the settings came from, for the status endpoint.
    pub source: Option<PathBuf>,
}

impl Default for Settings {
    fn default() -> Self {
        // Defaults keep overrides in memory: nothing is written unless a file is chosen.
        let mut s =
            Settings::from_file(PluginFile::default(), None, Path::new("."), &mut Vec::new());
        s.overrides_file = None;
        s
    }
}

impl Settings {
    /// Reads `<config dir>/plugins/simulator/config/plugin.yaml` when it exists (defaults
    /// otherwise). Problems that do not stop the simulator come back as warnings.
    pub fn load(config_dir: &Path) -> Result<(Settings, Vec<Diagnostic>), Diagnostic> {
        let file = config_dir.join(PLUGIN_FILE);
        let mut warnings = Vec::new();
        let exists = file.exists();
        let raw = if exists {
            let (raw, w) = rackscope_core::load::read_yaml::<Option<PluginFile>>(&file)?;
            warnings.extend(w);
            raw.unwrap_or_default()
        } else {
            PluginFile::default()
        };
        let source = exists.then_some(file.clone());
        let mut notes = Vec::new();
        let mut s = Settings::from_file(raw, source, config_dir, &mut notes);
        if s.source.is_none() {
            // Without a plugin file, overrides still live in the conventional place.
            s.overrides_file = Some(config_dir.join("plugins/simulator/overrides/overrides.yaml"));
        }
        warnings.extend(notes.into_iter().map(|m| Diagnostic {
            level: rackscope_core::Level::Warning,
            code: "simulator",
            span: rackscope_core::diag::Span::file_only(&std::sync::Arc::from(file.as_path())),
            message: m,
        }));
        Ok((s, warnings))
    }

    fn from_file(
        raw: PluginFile,
        source: Option<PathBuf>,
        dir: &Path,
        notes: &mut Vec<String>,
    ) -> Settings {
        let mode = IncidentMode::parse(&raw.incident_mode).unwrap_or_else(|| {
            notes.push(format!(
                "incident_mode `{}` is not one of full_ok, light, medium, heavy, chaos, custom; using light",
                raw.incident_mode
            ));
            IncidentMode::Light
        });
        let overrides_file = Some(
            raw.overrides_path
                .as_deref()
                .and_then(|p| locate(dir, p, "overrides"))
                .unwrap_or_else(|| dir.join("plugins/simulator/overrides/overrides.yaml")),
        );
        let mut catalogs = Vec::new();
        if let Some(p) = &raw.metrics_catalog_path {
            match locate(dir, p, "metrics") {
                Some(f) => catalogs.push(f),
                None => notes.push(format!(
                    "metrics catalog `{p}` not found beside the configuration; the built-in catalog applies"
                )),
            }
        }
        for c in &raw.metrics_catalogs {
            let (path, enabled) = match c {
                CatalogRef::Path(p) => (p, true),
                CatalogRef::Entry { path, enabled, .. } => (path, *enabled),
            };
            if !enabled {
                continue;
            }
            match locate(dir, path, "metrics") {
                Some(f) => catalogs.push(f),
                None => notes.push(format!("metrics catalog `{path}` not found; skipped")),
            }
        }
        let mut update = raw.update_interval_seconds;
        if update == 0 {
            notes.push("update_interval_seconds must be at least 1; using 1".into());
            update = 1;
        }
        Settings {
            update_interval_seconds: update,
            seed: raw.seed,
            mode,
            changes_per_hour: raw.changes_per_hour.max(1.0),
            custom: raw.custom_incidents,
            overrides_file,
            default_ttl_seconds: raw.default_ttl_seconds.filter(|t| *t > 0),
            catalogs,
            slurm_alloc_percent: raw.slurm_alloc_percent.min(100),
            slurm_random: raw.slurm_random_statuses,
            slurm_random_match: raw.slurm_random_match,
            profiles: raw.profiles,
            source,
        }
    }

    /// Seconds between two incident draws.
    pub fn cycle_seconds(&self) -> u64 {
        ((3600.0 / self.changes_per_hour) as u64).max(self.update_interval_seconds)
    }
}

/// Finds a file named in plugin.yaml. The Python examples write paths relative to the root
/// of the Python repository (`config/examples/homelab/plugins/simulator/...`), which means
/// nothing here; so after the path itself (absolute, beside the configuration, or relative
/// to the working directory) we look for the same file name in the configuration's own
/// `plugins/simulator/<kind>/` folder.
fn locate(dir: &Path, p: &str, kind: &str) -> Option<PathBuf> {
    let path = Path::new(p);
    if path.is_absolute() {
        return path.exists().then(|| path.to_path_buf());
    }
    let beside = dir.join(path);
    if beside.exists() {
        return Some(beside);
    }
    if path.exists() {
        return Some(path.to_path_buf());
    }
    let name = path.file_name()?;
    let conventional = dir.join("plugins/simulator").join(kind).join(name);
    if conventional.exists() {
        return Some(conventional);
    }
    // An overrides file that does not exist yet is created where it would be read.
    (kind == "overrides").then_some(conventional)
}
