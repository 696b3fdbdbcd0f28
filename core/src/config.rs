//! The resolved configuration: what loading produces and everything after it reads. Never
//! mutated once loaded.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use crate::bind::Bindings;
use crate::library::{Catalog, Library};
use crate::model::app::AppConfig;
use crate::model::checks::CheckDef;
use crate::model::metrics::MetricDef;
use crate::script::CheckScripts;
use crate::topology::Topology;

/// The paths of app.yaml, resolved.
#[derive(Debug, Clone, Default)]
pub struct ResolvedPaths {
    pub topology: PathBuf,
    pub templates: PathBuf,
    pub checks: PathBuf,
    pub metrics: PathBuf,
    /// `server.tls_cert` and `server.tls_key`, resolved like the paths above.
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
}

/// A loaded configuration: everything the engine needs, resolved.
#[derive(Debug, Clone, Default)]
pub struct Config {
    pub app_file: PathBuf,
    pub base_dir: PathBuf,
    pub app: AppConfig,
    pub paths: ResolvedPaths,
    pub topology: Topology,
    pub catalog: Catalog,
    pub checks: Library<CheckDef>,
    /// The kind of each check, from its own `kind:` or from the `kinds:` group it sits in.
    pub check_kinds: HashMap<String, String>,
    pub metrics: Library<MetricDef>,
    /// The compiled scripts of each check (by its index in `checks`), `None` for a check
    /// without scripts.
    pub scripts: Vec<Option<Arc<CheckScripts>>>,
    /// Which check runs for which target.
    pub bindings: Bindings,
    /// Who may sign in and what each role may do.
    pub access: crate::access::Access,
    /// The maintenance windows of `maintenances.yaml` beside app.yaml.
    pub maintenances: Arc<crate::maintenance::Maintenances>,
    /// The Slurm view's settings (`plugins/slurm/config.yml`), when `plugins.slurm` is
    /// enabled.
    pub slurm: Option<Arc<crate::slurm::Slurm>>,
}

impl Config {
    /// The compiled scripts of a check (its index in `checks`).
    pub fn scripts_of(&self, check: usize) -> Option<&CheckScripts> {
        self.scripts.get(check).and_then(Option::as_deref)
    }
}
