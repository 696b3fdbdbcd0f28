//! Loading a configuration directory: app.yaml, the topology, templates, checks, metrics.
//!
//! Loading never stops at the first problem. Every file is read, every list item decoded on
//! its own, and each problem lands in `Diagnostics` with its position; what could be read is
//! assembled into a `Config` anyway, so `rackscope check` can report everything at once.
//! Whether the result is usable is the caller's decision (`Loaded::is_usable`).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::de::DeserializeOwned;

use crate::bind::Bindings;
use crate::diag::{Diagnostics, Pos, Span};
use crate::expand;
use crate::model::app::AppConfig;
use crate::model::catalog::{
    DeviceTemplate, RackComponentTemplate, RackTemplate, TemplatesFile, default_rack_height,
};
use crate::model::checks::{CheckDef, ChecksFile};
use crate::model::metrics::{MetricDef, MetricsFile};
use crate::model::topology::{
    AisleEntry, AisleFile, DeviceDef, InstanceSpec, Location, RackDef, RoomDef, SiteDef, SitesFile,
};
use crate::script;
use crate::topology::{
    Aisle, AisleIx, Device, Instance, Rack, RackIx, Room, RoomIx, Site, SiteIx, Topology,
};
use crate::vfs::{self, Overlay};
use crate::walk::{Escape, confine, read_bounded, yaml_files};
use crate::yaml::{self, Ctx, Kind, Located, Node};

pub use crate::config::{Config, ResolvedPaths};
pub use crate::library::{Catalog, HasId, Library, Sourced};

/// The result of loading: the configuration as far as it could be read, and every problem.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub config: Config,
    pub diagnostics: Diagnostics,
}

impl Loaded {
    /// Errors make a configuration unusable; warnings do not.
    pub fn is_usable(&self) -> bool {
        !self.diagnostics.has_errors()
    }
}

/// Loads the configuration named by `app_file`, with `RACKSCOPE_*` environment overrides.
pub fn load(app_file: &Path) -> Loaded {
    load_with_env(app_file, std::env::vars())
}

/// Loads with an explicit set of environment variables (tests pass their own). A
/// directory stands for its `app.yaml`.
pub fn load_with_env(app_file: &Path, env: impl IntoIterator<Item = (String, String)>) -> Loaded {
    // Collected here so that the loader below is compiled once, in this crate, rather than
    // again in every crate that calls with another iterator type.
    load_from_disk(app_file, env.into_iter().collect())
}

/// Loads as `load_with_env` does, but sees the files as they will be once `overlay` is
/// written: what the configuration would be with an edit applied, found before anything is
/// written (the editors' validation). See `vfs`.
pub fn load_overlay(
    app_file: &Path,
    env: impl IntoIterator<Item = (String, String)>,
    overlay: &Overlay,
) -> Loaded {
    if overlay.is_empty() {
        return load_with_env(app_file, env);
    }
    let _scope = vfs::Scope::set(overlay);
    load_from_disk(app_file, env.into_iter().collect())
}

/// **The one way the loader reads a file**: the overlay's text when one is set and names
/// this file, otherwise the file on disk, up to `max` bytes.
fn read_source(path: &Path, max: u64) -> std::io::Result<String> {
    match vfs::text(path) {
        Some(Ok(text)) if text.len() as u64 > max => Err(std::io::Error::new(
            // The kind and words `read_bounded` uses for a file on disk too large.
            std::io::ErrorKind::FileTooLarge,
            format!("larger than {max} bytes"),
        )),
        Some(answer) => answer,
        None => read_bounded(path, max),
    }
}

fn load_from_disk(app_file: &Path, env: Vec<(String, String)>) -> Loaded {
    let dir_app;
    let app_file = if vfs::is_dir(app_file) {
        dir_app = app_file.join("app.yaml");
        dir_app.as_path()
    } else {
        app_file
    };
    let mut diags = Diagnostics::default();
    let mut config = Config {
        app_file: app_file.to_path_buf(),
        ..Config::default()
    };
    let app_arc: Arc<Path> = Arc::from(app_file);
    let base_dir = app_file.parent().map(Path::to_path_buf).unwrap_or_default();
    let base_dir = if base_dir.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        base_dir
    };
    config.base_dir = base_dir.clone();

    let (app, app_node) = match read_file(app_file, &mut diags) {
        Some((file, src, node)) => (
            decode_one::<AppConfig>(&node, &src, &file, &mut diags).unwrap_or_default(),
            node,
        ),
        None => {
            crate::validate::finish(&config, &mut diags);
            return Loaded {
                config,
                diagnostics: diags,
            };
        }
    };
    config.app = match crate::env::apply(&app, env) {
        Ok(app) => app,
        Err(e) => {
            diags.error("env", Span::file_only(&app_arc), e);
            app
        }
    };
    crate::validate::app(&config.app, &app_node, &app_arc, &mut diags);
    config.access = load_access(&config.app, &app_node, &app_arc, &base_dir, &mut diags);

    let p = &config.app.paths;
    config.paths = ResolvedPaths {
        topology: resolve_path(&base_dir, &p.topology),
        templates: resolve_path(&base_dir, &p.templates),
        checks: resolve_path(&base_dir, &p.checks),
        metrics: resolve_path(&base_dir, &p.metrics),
        tls_cert: config
            .app
            .server
            .tls_cert
            .as_ref()
            .map(|c| resolve_path(&base_dir, c)),
        tls_key: config
            .app
            .server
            .tls_key
            .as_ref()
            .map(|k| resolve_path(&base_dir, k)),
    };
    crate::validate::server_tls(&config.paths, &app_node, &app_arc, &mut diags);

    config.catalog = load_templates(&config.paths.templates, &app_arc, &mut diags);
    let (checks, kinds, scripts) = load_checks(&config.paths.checks, &app_arc, &mut diags);
    config.checks = checks;
    config.check_kinds = kinds;
    config.scripts = scripts;
    config.metrics = load_metrics(&config.paths.metrics, &mut diags);
    config.topology = TopologyLoader::new(&mut diags).load(&config.paths.topology, &app_arc);
    resolve_rack_heights(&mut config.topology, &config.catalog);
    config.slurm = slurm(&config, &app_arc, &mut diags).map(Arc::new);
    let slurm_check = slurm_check(&mut config, &mut diags);
    config.bindings = Bindings::compute(&config.topology, &config.catalog, &config.checks);
    if let Some(ix) = slurm_check {
        config.bindings.bind_all_instances(&config.topology, ix);
    }
    let file = crate::maintenance::file_of(app_file);
    let parsed = vfs::exists(&file)
        .then(|| read_file(&file, &mut diags))
        .flatten();
    config.maintenances = Arc::new(maintenances(&config, &file, parsed, &mut diags));
    // Read again by the server at each view; checked here so that `rackscope validate`
    // and a reload report a broken views.yaml with its position.
    let (_, view_diags) = views_of(&config, None);
    diags.extend(view_diags.iter().cloned());
    crate::validate::finish(&config, &mut diags);
    crate::validate::playlist(&config, &app_node, &app_arc, &mut diags);
    crate::validate::sources(&config, &app_node, &app_arc, &mut diags);
    diags.sort();
    Loaded {
        config,
        diagnostics: diags,
    }
}

/// Only `maintenances.yaml`, checked against `config`'s topology and checks: `text` when
/// given (a change the API is about to write), else the file on disk. The server keeps
/// the result without reloading the rest of the configuration.
pub fn maintenances_of(
    config: &Config,
    text: Option<&str>,
) -> (crate::maintenance::Maintenances, Diagnostics) {
    let mut diags = Diagnostics::default();
    let file = crate::maintenance::file_of(&config.app_file);
    // A text to check is read through the overlay, so its syntax errors read as the
    // file's would.
    let overlay = text.map(|t| Overlay::texts(HashMap::from([(file.clone(), t.to_owned())])));
    let _scope = overlay.as_ref().map(vfs::Scope::set);
    let parsed = vfs::exists(&file)
        .then(|| read_file(&file, &mut diags))
        .flatten();
    let m = maintenances(config, &file, parsed, &mut diags);
    diags.sort();
    (m, diags)
}

/// The windows of a parsed `maintenances.yaml` (`None`: no file, or one that did not
/// parse, already reported), each entry decoded on its own.
fn maintenances(
    config: &Config,
    file: &Path,
    parsed: Option<(Arc<Path>, String, Node)>,
    diags: &mut Diagnostics,
) -> crate::maintenance::Maintenances {
    let Some((arc, src, node)) = parsed else {
        return crate::maintenance::Maintenances {
            windows: Vec::new(),
            file: file.to_path_buf(),
        };
    };
    let items = list_under(&node, "maintenances", "windows", "maintenance", &arc, diags);
    let entries = items
        .iter()
        .take(crate::maintenance::MAX_WINDOWS + 1)
        .enumerate()
        .map(|(i, item)| (i, decode_one(item, &src, &arc, diags)))
        .collect();
    let now = crate::clock::unix_seconds(std::time::SystemTime::now());
    let known =
        |c: &str| config.checks.get(c).is_some() || config.check_kinds.values().any(|k| k == c);
    crate::maintenance::resolve(
        &arc,
        Some(&node),
        entries,
        &config.topology,
        &known,
        now,
        diags,
    )
}

/// The list under `key` of a file that holds only that list (`maintenances:`, `views:`):
/// an empty file or key is an empty list; anything else is an error at its position.
fn list_under<'n>(
    node: &'n Node,
    key: &str,
    of: &str,
    code: &'static str,
    file: &Arc<Path>,
    diags: &mut Diagnostics,
) -> &'n [Node] {
    match node.get(key) {
        None if node.is_null() => &[],
        Some(n) if n.is_null() => &[],
        Some(n) => n.seq().unwrap_or_else(|| {
            diags.error(
                code,
                Span::new(file, n.pos),
                format!("`{key}:` must be a list of {of}"),
            );
            &[]
        }),
        None => {
            diags.error(
                code,
                Span::new(file, node.pos),
                format!("expected `{key}:`, a list of {of}"),
            );
            &[]
        }
    }
}

/// Only `views.yaml` (named cluster views), checked against `config`'s topology: `text`
/// when given (a change about to be written), else the file on disk. No file is no view.
pub fn views_of(config: &Config, text: Option<&str>) -> (crate::views::Views, Diagnostics) {
    use crate::views::{ClusterViewDef, MAX_VIEWS, Views, check, resolve};
    let mut diags = Diagnostics::default();
    let file = crate::views::file_of(&config.app_file);
    let overlay = text.map(|t| Overlay::texts(HashMap::from([(file.clone(), t.to_owned())])));
    let _scope = overlay.as_ref().map(vfs::Scope::set);
    let mut views = Views {
        cluster: Vec::new(),
        file: file.clone(),
    };
    let Some((arc, src, node)) = vfs::exists(&file)
        .then(|| read_file(&file, &mut diags))
        .flatten()
    else {
        return (views, diags);
    };
    let items = list_under(&node, "views", "views", "views", &arc, &mut diags);
    if items.len() > MAX_VIEWS {
        diags.error(
            "views",
            Span::new(&arc, items[MAX_VIEWS].pos),
            format!("at most {MAX_VIEWS} views; the rest are ignored"),
        );
    }
    for item in items.iter().take(MAX_VIEWS) {
        let Some(def) = decode_one::<ClusterViewDef>(item, &src, &arc, &mut diags) else {
            continue;
        };
        let at = Span::new(&arc, item.pos);
        if let Err(why) = check(&def) {
            diags.error("views", at, why);
            continue;
        }
        if views.get(&def.id).is_some() {
            diags.error("views", at, format!("view `{}` is defined twice", def.id));
            continue;
        }
        let v = resolve(def, &config.topology);
        for key in &v.missing {
            let why = match config.topology.find_rack(key).all().len() {
                0 => "no rack has this id or path",
                _ => "several racks share this id: give its qualified path site/room/aisle/rack",
            };
            diags.warning(
                "views",
                at.clone(),
                format!("view `{}`: rack `{}`: {why}", v.def.id, key.escape_debug()),
            );
        }
        views.cluster.push(v);
    }
    diags.sort();
    (views, diags)
}

/// Only app.yaml's `auth:` section and the users file, read again while the server runs (a
/// token revoked, a password changed) without reloading the rest of the configuration.
pub fn access_of(
    app_file: &Path,
    env: impl IntoIterator<Item = (String, String)>,
) -> (crate::access::Access, Diagnostics) {
    // As in `load_with_env`: the reading below is compiled once, here.
    access_of_env(app_file, env.into_iter().collect())
}

fn access_of_env(
    app_file: &Path,
    env: Vec<(String, String)>,
) -> (crate::access::Access, Diagnostics) {
    let mut diags = Diagnostics::default();
    let app_arc: Arc<Path> = Arc::from(app_file);
    let base_dir = match app_file.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let Some((file, src, node)) = read_file(app_file, &mut diags) else {
        return (crate::access::Access::default(), diags);
    };
    let app = decode_one::<AppConfig>(&node, &src, &file, &mut diags).unwrap_or_default();
    let app = match crate::env::apply(&app, env) {
        Ok(app) => app,
        Err(e) => {
            diags.error("env", Span::file_only(&app_arc), e);
            app
        }
    };
    let access = load_access(&app, &node, &app_arc, &base_dir, &mut diags);
    (access, diags)
}

/// The `auth:` section with the users file beside it (read when it exists; an
/// `auth.users_file` named explicitly must exist).
fn load_access(
    app: &AppConfig,
    app_node: &Node,
    app_file: &Arc<Path>,
    base_dir: &Path,
    diags: &mut Diagnostics,
) -> crate::access::Access {
    let named = &app.auth.users_file;
    let path = if named.is_absolute() {
        named.clone()
    } else {
        base_dir.join(named)
    };
    let default = crate::model::app::Auth::default().users_file;
    let parsed = if vfs::exists(&path) {
        read_file(&path, diags)
    } else {
        if *named != default {
            diags.error(
                "missing-file",
                Span::new(
                    app_file,
                    crate::app_keys::key_pos(app_node, &["auth", "users_file"]),
                ),
                format!("auth.users_file `{}` does not exist", path.display()),
            );
        }
        None
    };
    let source = parsed.as_ref().and_then(|(file, src, node)| {
        let decoded = decode_one::<crate::model::users::UsersFile>(node, src, file, diags)?;
        Some(crate::access::UsersSource {
            file: file.clone(),
            node,
            decoded,
        })
    });
    // A users file that exists but does not read has its error from `read_file` or
    // `decode_one` already, which makes the configuration unusable: nobody signs in with
    // half a file.
    crate::access::resolve(app, app_node, app_file, path, source, diags)
}

/// A rack without `u_height` takes its template's, else the default height.
fn resolve_rack_heights(topo: &mut Topology, catalog: &Catalog) {
    for rack in topo.racks.iter_mut().filter(|r| r.u_height == 0) {
        rack.u_height = rack
            .template_id
            .as_deref()
            .and_then(|t| catalog.racks.get(t))
            .map_or_else(default_rack_height, |t| t.def.u_height);
    }
}

/// Relative paths: against app.yaml's directory first, then the working directory (the
/// Python version's configurations often say `config/topology`, relative to where the
/// server runs). When neither exists, the app.yaml-relative path is reported as missing.
pub fn resolve_path(base: &Path, p: &Path) -> PathBuf {
    if p.is_absolute() {
        return p.to_path_buf();
    }
    let from_base = base.join(p);
    if vfs::exists(&from_base) {
        return from_base;
    }
    if vfs::exists(p) {
        return p.to_path_buf();
    }
    from_base
}

type Parsed = Result<(Arc<Path>, String, Node), crate::diag::Diagnostic>;

/// The largest configuration file read (128 MiB): a monolithic topology of a million
/// instances is a fraction of it, and a link to an endless file stops here.
pub const MAX_CONFIG_FILE_BYTES: u64 = 128 << 20;

fn parse_file(path: &Path) -> Parsed {
    let file: Arc<Path> = Arc::from(path);
    let src = read_source(path, MAX_CONFIG_FILE_BYTES).map_err(|e| crate::diag::Diagnostic {
        level: crate::diag::Level::Error,
        code: "io",
        span: Span::file_only(&file),
        message: format!("cannot read file: {e}"),
    })?;
    match yaml::parse(&src) {
        Ok(node) => Ok((file, src, node)),
        Err(e) => Err(crate::diag::Diagnostic {
            level: crate::diag::Level::Error,
            code: "syntax",
            span: Span::new(&file, e.pos),
            message: format!("YAML syntax: {}", e.message),
        }),
    }
}

/// Reads one YAML file outside the configuration tree proper (the simulator's plugin files,
/// importer settings) into `T`. A syntax or type error is one diagnostic with its
/// file:line:column; warnings such as unknown keys come back beside the value.
pub fn read_yaml<T: DeserializeOwned>(
    path: &Path,
) -> Result<(T, Vec<crate::diag::Diagnostic>), crate::diag::Diagnostic> {
    let (file, src, node) = parse_file(path)?;
    let ctx = Ctx::new(&src, &file);
    let r = yaml::decode::<T>(&node, &ctx);
    let warnings = ctx.take_warnings();
    r.map(|v| (v, warnings))
        .map_err(|e| e.into_diagnostic(&file, node.pos))
}

/// The Slurm plugin's files, when app.yaml enables it: `plugins/slurm/config.yml` beside
/// app.yaml (the upstream place; its defaults without one) and the node mapping it names.
fn slurm(config: &Config, app: &Arc<Path>, diags: &mut Diagnostics) -> Option<crate::slurm::Slurm> {
    if !config.app.plugin_enabled("slurm") {
        return None;
    }
    let dir = config.base_dir.join("plugins/slurm");
    let path = dir.join("config.yml");
    let (at, file) = match vfs::exists(&path)
        .then(|| read_file(&path, diags))
        .flatten()
    {
        Some((at, src, node)) => {
            let file = decode_one::<crate::model::slurm::SlurmFile>(&node, &src, &at, diags)?;
            (at, file)
        }
        None => (app.clone(), crate::model::slurm::SlurmFile::default()),
    };
    if !file.enabled {
        return None;
    }
    // Upstream wrote mapping paths relative to its working directory
    // (`config/examples/hpc-cluster/plugins/slurm/node_mapping.yaml`): relative to the
    // configuration first, then the conventional place beside config.yml.
    let beside = dir.join("node_mapping.yaml");
    let mapping_path = match &file.mapping_path {
        Some(p) => {
            let written = resolve_path(&config.base_dir, Path::new(&p.value));
            if vfs::exists(&written) {
                Some(written)
            } else if vfs::exists(&beside) {
                diags.warning(
                    "slurm",
                    Span::new(&at, p.pos),
                    format!(
                        "mapping_path {} does not exist; {} is used",
                        written.display(),
                        beside.display()
                    ),
                );
                Some(beside)
            } else {
                diags.warning(
                    "slurm",
                    Span::new(&at, p.pos),
                    format!(
                        "mapping_path {} does not exist: Slurm node names are taken as instance names",
                        written.display()
                    ),
                );
                None
            }
        }
        None => vfs::exists(&beside).then_some(beside),
    };
    let mapping = mapping_path.and_then(|p| {
        let (mat, src, node) = read_file(&p, diags)?;
        let m = decode_one::<crate::model::slurm::MappingFile>(&node, &src, &mat, diags)?;
        Some((mat, m))
    });
    let mut slurm = crate::slurm::check(&file, &at, mapping.as_ref().map(|(a, m)| (a, m)), diags);
    // app.yaml's `plugins.slurm.affects_health` (the spelling) or config.yml's.
    slurm.affects_health |= config
        .app
        .plugins
        .get("slurm")
        .and_then(|v| v.get("affects_health"))
        .and_then(serde_json::Value::as_bool)
        .unwrap_or(false);
    slurm_catalogs(config, &file, &at, &dir, &mut slurm, diags);
    Some(slurm)
}

/// With `affects_health`, Slurm severity is a check of its own (`slurm_node_status`) in
/// the library, defined at the plugin file: its index, to bind to every instance.
fn slurm_check(config: &mut Config, diags: &mut Diagnostics) -> Option<usize> {
    let slurm = config.slurm.as_deref().filter(|s| s.affects_health)?;
    let file = slurm.file.clone()?;
    if let Some(mine) = config.checks.get(crate::slurm::CHECK_ID) {
        diags.error(
            "slurm",
            mine.span(mine.def.id.pos),
            format!(
                "check id `{}` is the check Slurm's affects_health adds; rename this check or turn affects_health off",
                crate::slurm::CHECK_ID
            ),
        );
        return None;
    }
    let def = slurm.check_def(crate::diag::Pos::FILE);
    let id = def.id.clone();
    config
        .checks
        .insert(&id, crate::library::Sourced { def, file }, "check", diags);
    config.scripts.resize(config.checks.len(), None);
    config.checks.index_of(crate::slurm::CHECK_ID)
}

/// The Slurm metrics catalogs `metrics_catalogs` names, in `metrics_catalog_dir` (relative
/// to the configuration, else `plugins/slurm/metrics`): each metric's PromQL checked, a
/// later file's metric replacing an earlier one of the same id.
fn slurm_catalogs(
    config: &Config,
    file: &crate::model::slurm::SlurmFile,
    at: &Arc<Path>,
    plugin_dir: &Path,
    slurm: &mut crate::slurm::Slurm,
    diags: &mut Diagnostics,
) {
    let written = file
        .metrics_catalog_dir
        .as_deref()
        .map(|d| resolve_path(&config.base_dir, Path::new(d)));
    let dir = written
        .filter(|d| vfs::is_dir(d))
        .unwrap_or_else(|| plugin_dir.join("metrics"));
    let mut available: Vec<String> = vfs::read_dir(&dir)
        .into_iter()
        .flatten()
        .filter(|p| p.extension().is_some_and(|x| x == "yaml" || x == "yml"))
        .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .collect();
    available.sort();
    slurm.catalog_available = available;
    for located in &file.metrics_catalogs {
        let name = &located.value;
        let path = dir.join(name);
        if name.contains('/') || name.starts_with('.') || !vfs::is_file(&path) {
            diags.warning(
                "slurm",
                Span::new(at, located.pos),
                format!(
                    "metrics_catalogs names `{name}`, which is not a file of {}; its metrics are not shown",
                    dir.display()
                ),
            );
            continue;
        }
        let Some((at, src, node)) = read_file(&path, diags) else {
            continue;
        };
        let Some(cat) =
            decode_one::<crate::model::slurm::MetricsCatalogFile>(&node, &src, &at, diags)
        else {
            continue;
        };
        for m in cat.metrics {
            if let Err(e) = crate::promql::parse(&m.metric.value) {
                diags.warning(
                    "slurm",
                    Span::new(&at, m.metric.pos),
                    format!(
                        "Slurm metric `{}` does not parse as PromQL: {e}",
                        m.id.value
                    ),
                );
                continue;
            }
            slurm.catalog.retain(|x| x.id.value != m.id.value);
            slurm.catalog.push(m);
        }
        slurm.catalog_files.push(name.clone());
    }
}

/// Reads and parses one YAML file; problems become diagnostics.
fn read_file(path: &Path, diags: &mut Diagnostics) -> Option<(Arc<Path>, String, Node)> {
    parse_file(path).map_err(|d| diags.push(d)).ok()
}

/// Parses every YAML file under `dir` on all cores. Parsing is most of the load time of a
/// large topology and files are independent; the loader then takes them in its own order.
fn prefetch(dir: &Path, diags: &mut Diagnostics) -> HashMap<PathBuf, Parsed> {
    let files = yaml_files(dir, true, diags);
    let workers = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(8);
    // The workers cannot see this thread's overlay: the walk reads each file itself then
    // (the walk above still ran, for its warnings).
    if workers <= 1 || files.len() < 8 || vfs::active() {
        return HashMap::new();
    }
    let next = std::sync::atomic::AtomicUsize::new(0);
    let results: Vec<Vec<(PathBuf, Parsed)>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                s.spawn(|| {
                    let mut out = Vec::new();
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(p) = files.get(i) else { break };
                        out.push((p.clone(), parse_file(p)));
                    }
                    out
                })
            })
            .collect();
        handles.into_iter().filter_map(|h| h.join().ok()).collect()
    });
    results.into_iter().flatten().collect()
}

/// Decodes a node; a failure is reported and gives `None`, unknown keys become warnings.
fn decode_one<T: DeserializeOwned>(
    node: &Node,
    src: &str,
    file: &Arc<Path>,
    diags: &mut Diagnostics,
) -> Option<T> {
    let ctx = Ctx::new(src, file);
    let r = yaml::decode::<T>(node, &ctx);
    diags.extend(ctx.take_warnings());
    match r {
        Ok(v) => Some(v),
        Err(e) => {
            diags.push(e.into_diagnostic(file, node.pos));
            None
        }
    }
}

/// Decodes every item of the template list under `key` into `lib`, each on its own; a
/// template defined again in a later file replaces the earlier one (`insert_later_wins`).
#[allow(clippy::too_many_arguments)]
fn load_list<T: DeserializeOwned + serde::Serialize>(
    node: &Node,
    key: &str,
    src: &str,
    file: &Arc<Path>,
    lib: &mut Library<T>,
    what: &str,
    id: impl Fn(&T) -> &Located<String>,
    diags: &mut Diagnostics,
) {
    for item in list(node, key, file, diags) {
        if let Some(t) = decode_one::<T>(item, src, file, diags) {
            let tid = id(&t).clone();
            lib.insert_later_wins(
                &tid,
                Sourced {
                    def: t,
                    file: file.clone(),
                },
                what,
                diags,
            );
        }
    }
}

/// A list under `key`: its items, or a type error when it is not a list.
fn list<'n>(node: &'n Node, key: &str, file: &Arc<Path>, diags: &mut Diagnostics) -> &'n [Node] {
    match node.get(key) {
        None => &[],
        Some(n) => match n.seq() {
            Some(items) => items,
            None => {
                diags.error(
                    "type",
                    Span::new(file, n.pos),
                    format!("`{key}` must be a list, found {}", n.describe()),
                );
                &[]
            }
        },
    }
}

fn load_templates(dir: &Path, app: &Arc<Path>, diags: &mut Diagnostics) -> Catalog {
    let mut cat = Catalog::default();
    if !vfs::is_dir(dir) {
        diags.error(
            "missing-path",
            Span::file_only(app),
            format!(
                "paths.templates: directory {} does not exist",
                dir.display()
            ),
        );
        return cat;
    }
    for path in yaml_files(dir, true, diags) {
        let Some((file, src, node)) = read_file(&path, diags) else {
            continue;
        };
        if node.is_null() {
            continue;
        }
        if decode_one::<TemplatesFile>(&node, &src, &file, diags).is_none() {
            continue;
        }
        load_list(
            &node,
            "templates",
            &src,
            &file,
            &mut cat.devices,
            "device template",
            |t: &DeviceTemplate| &t.id,
            diags,
        );
        load_list(
            &node,
            "rack_templates",
            &src,
            &file,
            &mut cat.racks,
            "rack template",
            |t: &RackTemplate| &t.id,
            diags,
        );
        load_list(
            &node,
            "rack_component_templates",
            &src,
            &file,
            &mut cat.components,
            "rack component template",
            |t: &RackComponentTemplate| &t.id,
            diags,
        );
    }
    cat
}

fn load_checks(path: &Path, app: &Arc<Path>, diags: &mut Diagnostics) -> LoadedChecks {
    let mut lib = Library::default();
    let mut scripts_of = Vec::new();
    let mut kinds = HashMap::new();
    let files = if vfs::is_file(path) {
        vec![path.to_path_buf()]
    } else if vfs::is_dir(path) {
        yaml_files(path, false, diags)
    } else {
        diags.error(
            "missing-path",
            Span::file_only(app),
            format!("paths.checks: {} does not exist", path.display()),
        );
        return (lib, kinds, scripts_of);
    };
    // `script_file:` is relative to the checks directory (to its folder when it is a file),
    // and must stay inside it or inside the configuration directory.
    let scripts_dir = if vfs::is_file(path) {
        path.parent().unwrap_or(path).to_path_buf()
    } else {
        path.to_path_buf()
    };
    let config_dir = match app.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let scripts = ScriptRoots {
        dir: &scripts_dir,
        config: config_dir,
    };
    for path in files {
        let Some((file, src, node)) = read_file(&path, diags) else {
            continue;
        };
        if node.is_null() || decode_one::<ChecksFile>(&node, &src, &file, diags).is_none() {
            continue;
        }
        let mut items: Vec<(&Node, Option<String>)> = list(&node, "checks", &file, diags)
            .iter()
            .map(|n| (n, None))
            .collect();
        if let Some(Node {
            kind: Kind::Map(groups),
            ..
        }) = node.get("kinds")
        {
            for (k, v) in groups {
                let kind = k.as_str().map(str::to_owned);
                match v.seq() {
                    Some(checks) => items.extend(checks.iter().map(|n| (n, kind.clone()))),
                    None => diags.error(
                        "type",
                        Span::new(&file, v.pos),
                        format!(
                            "a `kinds:` group must be a list of checks, found {}",
                            v.describe()
                        ),
                    ),
                }
            }
        }
        for (item, group_kind) in items {
            if let Some(mut c) = decode_one::<CheckDef>(item, &src, &file, diags) {
                let compiled = compile_scripts(&c, &src, &file, &scripts, diags);
                if c.kind.is_none() {
                    c.kind = group_kind;
                }
                if let Some(k) = &c.kind {
                    kinds.insert(c.id.value.clone(), k.clone());
                }
                let id = c.id.clone();
                lib.insert(
                    &id,
                    Sourced {
                        def: c,
                        file: file.clone(),
                    },
                    "check",
                    diags,
                );
                // A duplicate id was refused: its scripts go with it.
                if scripts_of.len() < lib.len() {
                    scripts_of.push(compiled);
                }
            }
        }
    }
    (lib, kinds, scripts_of)
}

/// The checks library, the kind of each check, and each check's compiled scripts.
type LoadedChecks = (
    Library<CheckDef>,
    HashMap<String, String>,
    Vec<Option<Arc<script::CheckScripts>>>,
);

/// Where `script_file:` paths are resolved (`dir`) and the directories they may not leave.
struct ScriptRoots<'a> {
    dir: &'a Path,
    config: &'a Path,
}

impl ScriptRoots<'_> {
    /// Reads a script file named in a check. A path that leaves the roots is refused before
    /// anything is read, and no message ever quotes the file.
    fn read(&self, rel: &str) -> Result<(PathBuf, String), String> {
        let path = match confine(self.dir, Path::new(rel), &[self.dir, self.config]) {
            Ok(p) => p,
            Err(Escape::Outside) => {
                return Err(format!(
                    "`{rel}` resolves outside the configuration directory {}; script files \
                     must live inside it",
                    self.config.display()
                ));
            }
            Err(Escape::Missing(e)) => {
                return Err(format!(
                    "`{rel}` cannot be read ({}: {e})",
                    self.dir.join(rel).display()
                ));
            }
        };
        if !vfs::is_file(&path) {
            return Err(format!("`{rel}` is not a file"));
        }
        let text = read_source(&path, MAX_SCRIPT_BYTES).map_err(|e| {
            format!(
                "`{rel}` cannot be read ({}: {e})",
                self.dir.join(rel).display()
            )
        })?;
        Ok((path, text))
    }
}

/// The largest script file read (1 MiB): scripts are a few lines; anything bigger is a
/// mistake, and reading it whole would cost memory for nothing.
const MAX_SCRIPT_BYTES: u64 = 1 << 20;

/// Compiles a check's scripts; every error is reported at its line and column, in the YAML
/// file for inline scripts and in the `.rhai` file for `script_file`.
fn compile_scripts(
    c: &CheckDef,
    src: &str,
    file: &Arc<Path>,
    dir: &ScriptRoots<'_>,
    diags: &mut Diagnostics,
) -> Option<Arc<script::CheckScripts>> {
    if !c.is_scripted() {
        return None;
    }
    let id = &c.id.value;
    let mut ok = true;
    let mut one = |inline: &Option<Located<String>>,
                   from_file: &Option<Located<String>>,
                   kind: script::Kind,
                   field: &str,
                   diags: &mut Diagnostics|
     -> Option<script::Compiled> {
        let (text, at): (String, Box<dyn Fn(u32, u32) -> Span>) = match (inline, from_file) {
            (None, None) => return None,
            (Some(_), Some(f)) => {
                diags.error(
                    "script",
                    Span::new(file, f.pos),
                    format!("check `{id}`: set `{field}` or `{field}_file`, not both"),
                );
                ok = false;
                return None;
            }
            (Some(s), None) => {
                let (line, col, block) = script_origin(src, s.pos);
                let file = file.clone();
                let at = move |l: u32, c: u32| {
                    let pos = match (block, l) {
                        (_, 0) => Pos::new(line, col),
                        (_, 1) => Pos::new(line, col + c - 1),
                        // Lines of a block scalar share its indentation.
                        (true, l) => Pos::new(line + l - 1, col + c - 1),
                        (false, l) => Pos::new(line + l - 1, c),
                    };
                    Span::new(&file, pos)
                };
                (s.value.clone(), Box::new(at))
            }
            (None, Some(f)) => match dir.read(&f.value) {
                Ok((_, text)) => {
                    // Positions name the path as written, not the canonical one.
                    let rhai: Arc<Path> = Arc::from(dir.dir.join(&f.value).as_path());
                    (text, Box::new(move |l, c| Span::new(&rhai, Pos::new(l, c))))
                }
                Err(e) => {
                    diags.error(
                        "script",
                        Span::new(file, f.pos),
                        format!("check `{id}`: {field}_file {e}"),
                    );
                    ok = false;
                    return None;
                }
            },
        };
        match script::compile(kind, &text) {
            Ok(compiled) => Some(compiled),
            Err(e) => {
                diags.error(
                    "script",
                    at(e.line, e.col),
                    format!("check `{id}`: {field} does not compile: {}", e.message),
                );
                ok = false;
                None
            }
        }
    };
    let series = one(
        &c.script,
        &c.script_file,
        script::Kind::Series,
        "script",
        diags,
    );
    let aggregate = one(
        &c.aggregate_script,
        &c.aggregate_script_file,
        script::Kind::Aggregate,
        "aggregate_script",
        diags,
    );
    ok.then(|| Arc::new(script::CheckScripts::new(series, aggregate, &c.params)))
}

/// Where an inline script's first character is, and whether it is a block scalar (`|`,
/// `>`), whose later lines keep the same indentation. The parser places a block scalar at
/// its first content line and a quoted one at its opening quote.
fn script_origin(src: &str, pos: Pos) -> (u32, u32, bool) {
    let line_at = |n: u32| src.lines().nth((n as usize).wrapping_sub(1)).unwrap_or("");
    let rest = line_at(pos.line)
        .get((pos.col as usize).saturating_sub(1)..)
        .unwrap_or("");
    let quoted = rest.starts_with('"') || rest.starts_with('\'');
    let above = line_at(pos.line.saturating_sub(1)).trim_end();
    let block = !quoted
        && above
            .trim_end_matches(|c: char| c == '-' || c == '+' || c.is_ascii_digit())
            .ends_with(['|', '>']);
    (pos.line.max(1), pos.col.max(1) + u32::from(quoted), block)
}

fn load_metrics(dir: &Path, diags: &mut Diagnostics) -> Library<MetricDef> {
    let mut lib = Library::default();
    // The metrics library is optional: charts are a convenience, health does not need it.
    if !vfs::exists(dir) {
        return lib;
    }
    let files = if vfs::is_file(dir) {
        vec![dir.to_path_buf()]
    } else {
        yaml_files(dir, true, diags)
    };
    for path in files {
        let Some((file, src, node)) = read_file(&path, diags) else {
            continue;
        };
        if node.is_null() {
            continue;
        }
        let items: Vec<&Node> = if node.get("metrics").is_some() {
            if decode_one::<MetricsFile>(&node, &src, &file, diags).is_none() {
                continue;
            }
            list(&node, "metrics", &file, diags).iter().collect()
        } else if node.get("id").is_some() {
            vec![&node]
        } else {
            diags.warning(
                "empty-file",
                Span::file_only(&file),
                "neither a `metrics:` list nor a single metric with an `id`; file ignored",
            );
            continue;
        };
        for item in items {
            if let Some(m) = decode_one::<MetricDef>(item, &src, &file, diags) {
                let id = m.id.clone();
                lib.insert(
                    &id,
                    Sourced {
                        def: m,
                        file: file.clone(),
                    },
                    "metric",
                    diags,
                );
            }
        }
    }
    lib
}

/// Walks the topology files and fills the arenas.
struct TopologyLoader<'d> {
    diags: &'d mut Diagnostics,
    /// Files parsed ahead of time, taken out as the walk reaches them.
    parsed: HashMap<PathBuf, Parsed>,
    topo: Topology,
    /// Where each id was first defined, to report duplicates with both places.
    seen_sites: HashMap<String, Span>,
    /// Ids are unique among siblings only: a room's within its site, a rack's within its
    /// aisle (or its room's standalone racks).
    seen_rooms: HashMap<(SiteIx, String), Span>,
    seen_racks: HashMap<(RoomIx, Option<AisleIx>, String), Span>,
    /// Canonical directories that files named by the topology (room, aisle and rack files,
    /// `rooms_path`) must stay inside: the topology directory and the configuration's.
    roots: Vec<PathBuf>,
}

impl<'d> TopologyLoader<'d> {
    fn new(diags: &'d mut Diagnostics) -> Self {
        TopologyLoader {
            diags,
            parsed: HashMap::new(),
            topo: Topology::default(),
            seen_sites: HashMap::new(),
            seen_rooms: HashMap::new(),
            seen_racks: HashMap::new(),
            roots: Vec::new(),
        }
    }

    /// Whether `path`, symlinks followed, stays inside the roots; an error at `at` when it
    /// does not. A missing path passes, for the caller to report as missing.
    fn confined(&mut self, path: &Path, at: &Span) -> bool {
        let Ok(real) = vfs::canonicalize(path) else {
            return true;
        };
        if self.roots.is_empty() || self.roots.iter().any(|r| real.starts_with(r)) {
            return true;
        }
        self.diags.error(
            "path-escape",
            at.clone(),
            format!(
                "{} resolves outside the topology and configuration directories; files it \
                 names must live inside them",
                path.display()
            ),
        );
        false
    }

    fn load(mut self, path: &Path, app: &Arc<Path>) -> Topology {
        if vfs::is_file(path) {
            if let Some((file, src, node)) = read_file(path, self.diags) {
                self.sites(&node, &src, &file, None);
            }
        } else if vfs::is_dir(path) {
            let config_dir = app.parent().filter(|p| !p.as_os_str().is_empty());
            self.roots = [Some(path), config_dir]
                .into_iter()
                .flatten()
                .filter_map(|p| vfs::canonicalize(p).ok())
                .collect();
            self.parsed = prefetch(path, self.diags);
            let sites = path.join("sites.yaml");
            if let Some((file, src, node)) = self.read(&sites) {
                self.sites(&node, &src, &file, Some(path));
            }
        } else {
            self.diags.error(
                "missing-path",
                Span::file_only(app),
                format!("paths.topology: {} does not exist", path.display()),
            );
        }
        let dups = self.topo.reindex();
        self.report(dups);
        self.topo
    }

    /// Every holder of a repeated room or rack id but the first is told where the first
    /// is and which qualified path names it: the short id no longer names one object anywhere it is
    /// accepted (URLs, the API, search, `playlist.views`, maintenance targets).
    fn report_ambiguities(&mut self) {
        let topo = &self.topo;
        let amb = topo.ambiguities();
        let mut say = |kind: &str, id: &str, spans: Vec<(&Span, String)>| {
            let Some(((first, first_path), rest)) = spans.split_first() else {
                return;
            };
            for (at, path) in rest {
                self.diags.warning(
                    "ambiguous-id",
                    (*at).clone(),
                    format!(
                        "{kind} id `{id}` is also used at {first} (`{first_path}`); it is unique \
                         among its siblings, but the short id is ambiguous: this {kind} is \
                         `{path}`, and the short id alone is answered with the candidates"
                    ),
                );
            }
        };
        for (id, all) in &amb.rooms {
            let spans = all
                .iter()
                .map(|&r| (&topo.rooms[r].span, topo.room_path(r)));
            say("room", id, spans.collect());
        }
        for (id, all) in &amb.racks {
            let spans = all
                .iter()
                .map(|&r| (&topo.racks[r].span, topo.rack_path(r)));
            say("rack", id, spans.collect());
        }
        // Aisle and device ids repeat in every room and rack of most estates ("aisle-1",
        // "pdu-1"); they are addressed under their parent, so their repetition is counted
        // by `rackscope check`, not warned about one by one.
    }

    /// Short ids several objects carry, and instance names claimed twice, found by the
    /// index build (which hashes every name anyway).
    fn report(&mut self, dups: crate::topology::Duplicates) {
        self.report_ambiguities();
        let topo = &self.topo;
        // The same machine cannot sit in two places: a mistake to point out at both, but
        // not one that should stop the dashboard. Both places show the one series' state
        // (the planner looks targets up by name, every target of that name).
        for (dup, first) in dups.instances {
            let name = &topo.instances[dup].name;
            let d = &topo.devices[topo.instances[dup].device];
            let f = &topo.devices[topo.instances[first].device];
            let (here, there) = (
                Span::new(&d.span.file, d.instance_pos),
                Span::new(&f.span.file, f.instance_pos),
            );
            for (at, other) in [(&here, &there), (&there, &here)] {
                self.diags.warning(
                    "duplicate-instance",
                    at.clone(),
                    format!(
                        "instance `{name}` is also placed at {other}; one machine cannot be in two places, and both show the state of its one series"
                    ),
                );
            }
        }
    }

    fn read(&mut self, path: &Path) -> Option<(Arc<Path>, String, Node)> {
        match self.parsed.remove(path) {
            Some(parsed) => parsed.map_err(|d| self.diags.push(d)).ok(),
            None => read_file(path, self.diags),
        }
    }

    fn first_seen<K: Eq + std::hash::Hash>(
        map: &mut HashMap<K, Span>,
        key: K,
        span: &Span,
    ) -> Option<Span> {
        match map.entry(key) {
            std::collections::hash_map::Entry::Occupied(e) => Some(e.get().clone()),
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert(span.clone());
                None
            }
        }
    }

    /// `sites.yaml` (segmented, `dir` set) or the single topology file (monolithic).
    fn sites(&mut self, node: &Node, src: &str, file: &Arc<Path>, dir: Option<&Path>) {
        if node.is_null() {
            self.diags.warning(
                "empty-topology",
                Span::file_only(file),
                "the topology defines no sites",
            );
            return;
        }
        if decode_one::<SitesFile>(node, src, file, self.diags).is_none() {
            return;
        }
        for item in list(node, "sites", file, self.diags) {
            let Some(def) = decode_one::<SiteDef>(item, src, file, self.diags) else {
                continue;
            };
            let span = Span::new(file, def.id.pos);
            if let Some(prev) = Self::first_seen(&mut self.seen_sites, def.id.value.clone(), &span)
            {
                self.diags.error(
                    "duplicate-id",
                    span,
                    format!("site id `{}` is already used at {prev}", def.id.value),
                );
                continue;
            }
            let location = match (&def.location, def.lat, def.lon) {
                (Some(l), None, None) => Some(l.clone()),
                (Some(l), Some(_), _) | (Some(l), _, Some(_)) => {
                    self.diags.warning(
                        "ambiguous-location",
                        span.clone(),
                        "site has both `location:` and flat `lat`/`lon`; `location:` is used",
                    );
                    Some(l.clone())
                }
                (None, Some(lat), Some(lon)) => Some(Location {
                    lat,
                    lon,
                    address: None,
                }),
                (None, None, None) => None,
                (None, _, _) => {
                    self.diags.error(
                        "incomplete-location",
                        span.clone(),
                        "a site with flat coordinates needs both `lat` and `lon`",
                    );
                    None
                }
            };
            if let Some(l) = &location
                && (!(-90.0..=90.0).contains(&l.lat) || !(-180.0..=180.0).contains(&l.lon))
            {
                self.diags.error(
                    "bad-location",
                    span.clone(),
                    format!(
                        "coordinates ({}, {}) are outside latitude -90..90 / longitude -180..180",
                        l.lat, l.lon
                    ),
                );
            }
            let site_ix = self.topo.sites.next_ix();
            self.topo.sites.push(Site {
                id: def.id.value.clone(),
                name: def.name.clone().unwrap_or_else(|| def.id.value.clone()),
                description: def.description.clone(),
                location,
                timezone: def.timezone.clone(),
                rooms: Vec::new(),
                span,
            });
            let rooms_dir = dir.map(|d| match &def.rooms_path {
                Some(p) => d.join(p),
                None => d.join("datacenters").join(&def.id.value).join("rooms"),
            });
            if let (Some(rd), Some(at)) = (&rooms_dir, item.get("rooms_path"))
                && !self.confined(rd, &Span::new(file, at.pos))
            {
                continue;
            }
            let listed = list(item, "rooms", file, self.diags);
            if listed.is_empty() {
                if let Some(rooms_dir) = &rooms_dir {
                    self.discover_rooms(site_ix, rooms_dir);
                }
                continue;
            }
            for r in listed {
                self.room_entry(site_ix, r, src, file, rooms_dir.as_deref());
            }
        }
    }

    fn discover_rooms(&mut self, site: SiteIx, rooms_dir: &Path) {
        let mut dirs: Vec<PathBuf> = vfs::read_dir(rooms_dir)
            .into_iter()
            .flatten()
            .filter(|p| vfs::is_dir(p))
            .collect();
        dirs.sort();
        for d in dirs {
            let id = d
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let room_file = d.join("room.yaml");
            let dir_file: Arc<Path> = Arc::from(d.as_path());
            if !self.confined(&room_file, &Span::file_only(&dir_file)) {
                continue;
            }
            if !vfs::exists(&room_file) {
                let file: Arc<Path> = Arc::from(d.as_path());
                self.diags.warning(
                    "missing-file",
                    Span::file_only(&file),
                    "room directory without room.yaml; skipped",
                );
                continue;
            }
            if let Some((file, src, node)) = self.read(&room_file) {
                self.room(site, &node, &src, &file, Some(&d), &id, None);
            }
        }
    }

    /// A site's `rooms:` item: `id`, `{id}`/`{id, name}` naming a room directory, or an
    /// inline room.
    fn room_entry(
        &mut self,
        site: SiteIx,
        item: &Node,
        src: &str,
        file: &Arc<Path>,
        rooms_dir: Option<&Path>,
    ) {
        let (id, is_ref) = match &item.kind {
            Kind::Str(_) | Kind::Int(_) => {
                match decode_one::<String>(item, src, file, self.diags) {
                    Some(id) => (id, true),
                    None => return,
                }
            }
            Kind::Map(entries) => {
                let Some(id) = item
                    .get("id")
                    .and_then(|n| decode_one::<String>(n, src, file, self.diags))
                else {
                    self.diags.error(
                        "type",
                        Span::new(file, item.pos),
                        "a room entry needs an `id`",
                    );
                    return;
                };
                let only_names = entries
                    .iter()
                    .all(|(k, _)| matches!(k.as_str(), Some("id" | "name")));
                (id, only_names && rooms_dir.is_some())
            }
            _ => {
                self.diags.error(
                    "type",
                    Span::new(file, item.pos),
                    format!(
                        "a room entry must be an id or a mapping, found {}",
                        item.describe()
                    ),
                );
                return;
            }
        };
        if !is_ref {
            self.room(site, item, src, file, None, &id, None);
            return;
        }
        let Some(rooms_dir) = rooms_dir else {
            self.diags.error(
                "inline-required",
                Span::new(file, item.pos),
                format!("room `{id}` must be defined inline in a single-file topology"),
            );
            return;
        };
        let room_dir = rooms_dir.join(&id);
        let room_file = room_dir.join("room.yaml");
        if !vfs::exists(&room_file) {
            self.diags.error(
                "missing-file",
                Span::new(file, item.pos),
                format!(
                    "room `{id}` is listed but {} does not exist",
                    room_file.display()
                ),
            );
            return;
        }
        if !self.confined(&room_file, &Span::new(file, item.pos)) {
            return;
        }
        if let Some((rfile, rsrc, rnode)) = self.read(&room_file) {
            self.room(
                site,
                &rnode,
                &rsrc,
                &rfile,
                Some(&room_dir),
                &id,
                Some(Span::new(file, item.pos)),
            );
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn room(
        &mut self,
        site: SiteIx,
        node: &Node,
        src: &str,
        file: &Arc<Path>,
        dir: Option<&Path>,
        listed_id: &str,
        listed_at: Option<Span>,
    ) {
        let Some(def) = decode_one::<RoomDef>(node, src, file, self.diags) else {
            return;
        };
        let Some((id, span)) = self.room_id(site, &def, node, file, listed_id, listed_at) else {
            return;
        };
        let room_ix: RoomIx = self.topo.rooms.next_ix();
        self.topo.rooms.push(Room {
            id: id.clone(),
            name: def.name.clone().unwrap_or_else(|| id.clone()),
            description: def.description.clone(),
            layout: def.layout.clone(),
            site,
            aisles: Vec::new(),
            standalone_racks: Vec::new(),
            span,
        });
        self.topo.sites[site].rooms.push(room_ix);

        self.room_contents(room_ix, &id, node, src, file, dir);
    }

    /// A room's id (its file's, else the one it is listed under), checked against the
    /// listing, its site and the rooms seen before; `None` for a duplicate.
    fn room_id(
        &mut self,
        site: SiteIx,
        def: &RoomDef,
        node: &Node,
        file: &Arc<Path>,
        listed_id: &str,
        listed_at: Option<Span>,
    ) -> Option<(String, Span)> {
        let id = def
            .id
            .as_ref()
            .map(|l| l.value.clone())
            .unwrap_or_else(|| listed_id.to_owned());
        let pos = def.id.as_ref().map(|l| l.pos).unwrap_or(node.pos);
        let span = Span::new(file, pos);
        if id != listed_id
            && let Some(at) = listed_at.as_ref()
        {
            self.diags.warning("id-mismatch", span.clone(), format!("room is listed as `{listed_id}` at {at} but its file says `{id}`; `{id}` is used"));
        }
        let site_id = self.topo.sites[site].id.clone();
        if let Some(sid) = &def.site_id
            && sid.value != site_id
        {
            self.diags.warning(
                "id-mismatch",
                Span::new(file, sid.pos),
                format!(
                    "`site_id: {}` but the room belongs to site `{site_id}`",
                    sid.value
                ),
            );
        }
        if let Some(prev) = Self::first_seen(&mut self.seen_rooms, (site, id.clone()), &span) {
            match listed_at.clone() {
                Some(at) if prev == span => self.diags.error(
                    "duplicate-id",
                    at,
                    format!("room `{id}` is listed more than once"),
                ),

                _ => self.diags.error(
                    "duplicate-id",
                    span,
                    format!("room id `{id}` is already used in this site at {prev}"),
                ),
            }
            return None;
        }
        Some((id, span))
    }

    /// A room's aisles (listed, and directories not listed) and standalone racks.
    fn room_contents(
        &mut self,
        room_ix: RoomIx,
        id: &str,
        node: &Node,
        src: &str,
        file: &Arc<Path>,
        dir: Option<&Path>,
    ) {
        let mut aisle_ids = HashSet::new();
        for a in list(node, "aisles", file, self.diags) {
            let Some(entry) = decode_one::<AisleEntry>(a, src, file, self.diags) else {
                continue;
            };
            if !aisle_ids.insert(entry.id.value.clone()) {
                self.diags.error(
                    "duplicate-id",
                    Span::new(file, entry.id.pos),
                    format!("aisle id `{}` appears twice in room `{id}`", entry.id.value),
                );
                continue;
            }
            self.aisle(room_ix, &entry, a, src, file, dir);
        }
        if let Some(dir) = dir {
            let aisles_dir = dir.join("aisles");
            let mut extra: Vec<String> = vfs::read_dir(&aisles_dir)
                .into_iter()
                .flatten()
                .filter(|p| vfs::is_dir(p))
                .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
                .filter(|n| !aisle_ids.contains(n))
                .collect();
            extra.sort();
            for name in extra {
                self.diags.warning(
                    "unlisted-aisle",
                    Span::file_only(file),
                    format!(
                        "aisle directory `aisles/{name}` is not listed in `aisles:` and is ignored"
                    ),
                );
            }
        }
        let standalone_dir = dir.map(|d| d.join("standalone_racks"));
        for r in list(node, "standalone_racks", file, self.diags) {
            if let Some(rack) =
                self.rack_ref(r, src, file, standalone_dir.as_deref(), room_ix, None)
            {
                self.topo.rooms[room_ix].standalone_racks.push(rack);
            }
        }
    }

    fn aisle(
        &mut self,
        room: RoomIx,
        entry: &AisleEntry,
        node: &Node,
        src: &str,
        file: &Arc<Path>,
        room_dir: Option<&Path>,
    ) {
        let aisle_ix = self.topo.aisles.next_ix();
        let mut name = entry.name.clone();
        self.topo.aisles.push(Aisle {
            id: entry.id.value.clone(),
            name: String::new(),
            room,
            racks: Vec::new(),
            span: Span::new(file, entry.id.pos),
        });
        self.topo.rooms[room].aisles.push(aisle_ix);
        if entry.racks.is_some() || room_dir.is_none() {
            // Racks listed in room.yaml itself (or a single-file topology).
            for r in list(node, "racks", file, self.diags) {
                if let Some(rack) = self.rack_ref(
                    r,
                    src,
                    file,
                    room_dir
                        .map(|d| d.join("aisles").join(&entry.id.value).join("racks"))
                        .as_deref(),
                    room,
                    Some(aisle_ix),
                ) {
                    self.topo.aisles[aisle_ix].racks.push(rack);
                }
            }
        } else if let Some(room_dir) = room_dir {
            let aisle_dir = room_dir.join("aisles").join(&entry.id.value);
            let aisle_file = aisle_dir.join("aisle.yaml");
            if !self.confined(&aisle_file, &Span::new(file, entry.id.pos)) {
                // Reported; the aisle stays, empty.
            } else if !vfs::exists(&aisle_file) {
                self.diags.error(
                    "missing-file",
                    Span::new(file, entry.id.pos),
                    format!(
                        "aisle `{}` is listed but {} does not exist",
                        entry.id.value,
                        aisle_file.display()
                    ),
                );
            } else if let Some((afile, asrc, anode)) = self.read(&aisle_file)
                && let Some(def) = decode_one::<AisleFile>(&anode, &asrc, &afile, self.diags)
            {
                if let Some(aid) = &def.id
                    && aid.value != entry.id.value
                {
                    self.diags.warning(
                        "id-mismatch",
                        Span::new(&afile, aid.pos),
                        format!(
                            "aisle file says `{}` but room.yaml lists `{}`; `{}` is used",
                            aid.value, entry.id.value, entry.id.value
                        ),
                    );
                }
                if name.is_none() {
                    name = def.name.clone();
                }
                let racks_dir = aisle_dir.join("racks");
                for r in list(&anode, "racks", &afile, self.diags) {
                    if let Some(rack) =
                        self.rack_ref(r, &asrc, &afile, Some(&racks_dir), room, Some(aisle_ix))
                    {
                        self.topo.aisles[aisle_ix].racks.push(rack);
                    }
                }
            }
        }
        self.topo.aisles[aisle_ix].name = name.unwrap_or_else(|| entry.id.value.clone());
    }

    /// A rack reference: a plain id or `{id: x}` naming `<racks_dir>/x.yaml`, or an inline rack.
    fn rack_ref(
        &mut self,
        item: &Node,
        src: &str,
        file: &Arc<Path>,
        racks_dir: Option<&Path>,
        room: RoomIx,
        aisle: Option<AisleIx>,
    ) -> Option<RackIx> {
        let id = match &item.kind {
            Kind::Str(_) | Kind::Int(_) | Kind::Float(_) => {
                decode_one::<String>(item, src, file, self.diags)?
            }
            Kind::Map(entries) if entries.len() == 1 && entries[0].0.as_str() == Some("id") => {
                decode_one::<String>(&entries[0].1, src, file, self.diags)?
            }
            Kind::Map(_) => return self.rack(item, src, file, room, aisle, None),
            _ => {
                self.diags.error(
                    "type",
                    Span::new(file, item.pos),
                    format!(
                        "a rack entry must be an id or a rack mapping, found {}",
                        item.describe()
                    ),
                );
                return None;
            }
        };
        let Some(racks_dir) = racks_dir else {
            self.diags.error(
                "inline-required",
                Span::new(file, item.pos),
                format!("rack `{id}` must be defined inline in a single-file topology"),
            );
            return None;
        };
        let rack_file = racks_dir.join(format!("{id}.yaml"));
        let rack_file = if vfs::exists(&rack_file) {
            rack_file
        } else {
            racks_dir.join(format!("{id}.yml"))
        };
        if !vfs::exists(&rack_file) {
            self.diags.error(
                "missing-file",
                Span::new(file, item.pos),
                format!(
                    "rack `{id}` is listed but {} does not exist",
                    racks_dir.join(format!("{id}.yaml")).display()
                ),
            );
            return None;
        }
        if !self.confined(&rack_file, &Span::new(file, item.pos)) {
            return None;
        }
        let (rfile, rsrc, rnode) = self.read(&rack_file)?;
        if let Some(own) = rnode.get("id").and_then(Node::as_str)
            && own != id
        {
            self.diags.warning(
                "id-mismatch",
                Span::new(&rfile, rnode.get("id").map(|n| n.pos).unwrap_or_default()),
                format!("rack file says `{own}` but it is listed as `{id}`; `{own}` is used"),
            );
        }
        self.rack(
            &rnode,
            &rsrc,
            &rfile,
            room,
            aisle,
            Some(Span::new(file, item.pos)),
        )
    }

    /// `listed_at`: where the rack was referenced, when it lives in a file of its own.
    fn rack(
        &mut self,
        node: &Node,
        src: &str,
        file: &Arc<Path>,
        room: RoomIx,
        aisle: Option<AisleIx>,
        listed_at: Option<Span>,
    ) -> Option<RackIx> {
        let def = decode_one::<RackDef>(node, src, file, self.diags)?;
        let span = Span::new(file, def.id.pos);
        if let Some(prev) = Self::first_seen(
            &mut self.seen_racks,
            (room, aisle, def.id.value.clone()),
            &span,
        ) {
            match listed_at {
                Some(at) if prev == span => self.diags.error(
                    "duplicate-id",
                    at,
                    format!("rack `{}` is listed more than once", def.id.value),
                ),

                _ => self.diags.error(
                    "duplicate-id",
                    span,
                    format!(
                        "rack id `{}` is already used among its siblings at {prev}",
                        def.id.value
                    ),
                ),
            }
            return None;
        }
        let rack_ix = self.topo.racks.next_ix();
        self.topo.racks.push(Rack {
            id: def.id.value.clone(),
            name: def.name.clone().unwrap_or_else(|| def.id.value.clone()),
            // Resolved against the rack template in validation, once templates are known.
            u_height: def.u_height.as_ref().map(|h| h.value).unwrap_or(0),
            template_id: def.template_id.as_ref().map(|t| t.value.clone()),
            template_pos: def
                .template_id
                .as_ref()
                .map(|t| t.pos)
                .unwrap_or(def.id.pos),
            room,
            aisle,
            devices: Vec::new(),
            span,
        });
        let mut in_rack: HashMap<String, Span> = HashMap::new();
        for d in list(node, "devices", file, self.diags) {
            let Some(dev) = decode_one::<DeviceDef>(d, src, file, self.diags) else {
                continue;
            };
            let dspan = Span::new(file, dev.id.pos);
            if let Some(prev) = in_rack.get(&dev.id.value) {
                self.diags.error(
                    "duplicate-id",
                    dspan,
                    format!(
                        "device id `{}` is already used in this rack at {prev}",
                        dev.id.value
                    ),
                );
                continue;
            }
            in_rack.insert(dev.id.value.clone(), dspan.clone());
            self.device(rack_ix, dev, file, dspan);
        }
        Some(rack_ix)
    }

    fn device(&mut self, rack: RackIx, dev: DeviceDef, file: &Arc<Path>, span: Span) {
        let device_ix = self.topo.devices.next_ix();
        let spec = match (dev.instance, dev.nodes) {
            (Some(i), None) => Some(i),
            (None, Some(n)) => {
                self.diags.warning(
                    "deprecated",
                    Span::new(file, n.pos),
                    "`nodes:` is deprecated; rename it to `instance:` (it is honoured for now)",
                );
                Some(n)
            }
            (Some(i), Some(n)) => {
                self.diags.warning(
                    "deprecated",
                    Span::new(file, n.pos),
                    "`nodes:` is deprecated and ignored because `instance:` is also set",
                );
                Some(i)
            }
            (None, None) => None,
        };
        let start = self.topo.instances.next_ix();
        let instance_pos = spec.as_ref().map(|s| s.pos).unwrap_or(dev.id.pos);
        if let Some(spec) = spec {
            match expand_instances(&spec.value) {
                Ok(list) => {
                    for (slot, name) in list {
                        self.topo.instances.push(Instance {
                            name,
                            slot,
                            device: device_ix,
                        });
                    }
                }
                Err(e) => self.diags.error("instance", Span::new(file, spec.pos), e),
            }
        }
        let end = self.topo.instances.next_ix();
        self.topo.devices.push(Device {
            id: dev.id.value.clone(),
            name: dev.name.unwrap_or_else(|| dev.id.value.clone()),
            template_id: dev.template_id.value.clone(),
            u_position: dev.u_position.value,
            template_pos: dev.template_id.pos,
            u_pos: dev.u_position.pos,
            instance_pos,
            face: dev.face.unwrap_or_default(),
            rack,
            instances: start..end,
            labels: dev.labels,
            span,
        });
        self.topo.racks[rack].devices.push(device_ix);
    }
}

/// Expands a device's `instance:` into (slot, name) pairs, slots 1-based.
///
/// A name or pattern fills slots 1, 2, …; a list does the same item after item (items may be
/// patterns); in a slot map each value fills its slot and, when it is a pattern, the slots
/// after it.
pub fn expand_instances(spec: &InstanceSpec) -> Result<Vec<(u32, String)>, String> {
    let mut out = Vec::new();
    match spec {
        InstanceSpec::One(p) => {
            if p.trim().is_empty() {
                return Ok(out);
            }
            for (i, n) in expand::expand(p)
                .map_err(|e| e.message)?
                .into_iter()
                .enumerate()
            {
                out.push((i as u32 + 1, n));
            }
        }
        InstanceSpec::List(items) => {
            for p in items {
                for n in expand::expand(p).map_err(|e| e.message)? {
                    out.push((out.len() as u32 + 1, n));
                }
            }
        }
        InstanceSpec::Slots(map) => {
            let mut slots: BTreeMap<u32, String> = BTreeMap::new();
            for (slot, p) in map {
                if *slot == 0 {
                    return Err("slot numbers start at 1".into());
                }
                for (k, n) in expand::expand(p)
                    .map_err(|e| e.message)?
                    .into_iter()
                    .enumerate()
                {
                    let s = slot + k as u32;
                    if let Some(prev) = slots.insert(s, n.clone()) {
                        return Err(format!("slot {s} is given twice (`{prev}` and `{n}`)"));
                    }
                }
            }
            out.extend(slots);
        }
    }
    let mut seen = HashSet::with_capacity(out.len());
    for (_, n) in &out {
        if !seen.insert(n.as_str()) {
            return Err(format!("instance `{n}` appears twice in this device"));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod overlay_tests {
    use std::collections::HashMap;
    use std::path::{Path, PathBuf};

    use super::{load_overlay, load_with_env};
    use crate::vfs::Overlay;

    fn fixture(rel: &str) -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("..")
            .join(rel)
    }

    fn threshold(config: &crate::Config) -> f64 {
        let check = config.checks.get("node_temperature").unwrap();
        check.def.rules[0].value.value.as_number().unwrap()
    }

    #[test]
    fn an_overlaid_file_is_read_as_given_and_the_disk_is_untouched() {
        let app = fixture("tests/fixtures/health/app.yaml");
        let checks =
            std::fs::canonicalize(fixture("tests/fixtures/health/checks/checks.yaml")).unwrap();
        let on_disk = std::fs::read_to_string(&checks).unwrap();
        let edited = on_disk.replace("value: 45, severity: CRIT", "value: 51, severity: CRIT");
        assert_ne!(edited, on_disk);
        let overlay = Overlay::texts(HashMap::from([(checks.clone(), edited)]));
        let loaded = load_overlay(&app, std::iter::empty(), &overlay);
        assert!(loaded.is_usable(), "{:?}", loaded.diagnostics);
        assert_eq!(threshold(&loaded.config), 51.0);
        assert_eq!(std::fs::read_to_string(&checks).unwrap(), on_disk);
        // The overlay ends with its load: the next plain load reads the disk.
        let plain = load_with_env(&app, std::iter::empty());
        assert_eq!(threshold(&plain.config), 45.0);
    }

    #[test]
    fn a_broken_overlay_is_reported_at_its_file_and_line() {
        let app = fixture("tests/fixtures/health/app.yaml");
        // A non-canonical key (with `..`) names the same file.
        let checks = fixture("tests/fixtures/health/checks/checks.yaml");
        let on_disk = std::fs::read_to_string(&checks).unwrap();
        let broken = on_disk.replace(
            "  - {op: '>', value: 45, severity: CRIT}",
            "  - {op: '>', value: 45, severity: CRIT",
        );
        let overlay = Overlay::texts(HashMap::from([(checks, broken)]));
        let loaded = load_overlay(&app, std::iter::empty(), &overlay);
        assert!(!loaded.is_usable());
        let e = loaded.diagnostics.errors().next().unwrap();
        assert!(e.span.file.ends_with("checks/checks.yaml"), "{e:?}");
        assert!(e.span.pos.line >= 16, "{e:?}");
    }

    #[test]
    fn topology_files_and_scripts_are_overlaid_too() {
        let app = fixture("config/demo-small/app.yaml");
        let base = std::fs::canonicalize(fixture("config/demo-small")).unwrap();
        let rack = base
            .join("topology/datacenters/uga-lab/rooms/lab-room/aisles/aisle-a/racks/rack-a01.yaml");
        let text = std::fs::read_to_string(&rack).unwrap().replace(
            "name: Compute Rack A01 (1U)",
            "name: Renamed in the overlay",
        );
        let script = base.join("checks/library/scripts/psu_redundancy.rhai");
        let overlay = Overlay::texts(HashMap::from([
            (rack, text),
            (script, "let x = ;\n".to_owned()),
        ]));
        let loaded = load_overlay(&app, std::iter::empty(), &overlay);
        assert!(
            loaded
                .config
                .topology
                .racks
                .iter()
                .any(|r| r.name == "Renamed in the overlay")
        );
        let e = loaded.diagnostics.errors().next().unwrap();
        assert!(
            e.span.file.ends_with(Path::new("psu_redundancy.rhai")),
            "{e:?}"
        );
    }

    #[test]
    fn new_files_in_new_directories_and_removed_files_are_seen_before_they_are_written() {
        let app = fixture("config/demo-small/app.yaml");
        let aisles = std::fs::canonicalize(fixture(
            "config/demo-small/topology/datacenters/uga-lab/rooms/lab-room/aisles",
        ))
        .unwrap();
        let a03 = aisles.join("aisle-a/racks/rack-a03.yaml");
        let aisle_a = aisles.join("aisle-a/aisle.yaml");
        let without_a03 = std::fs::read_to_string(&aisle_a)
            .unwrap()
            .replace("- id: rack-a03\n", "");
        let new_aisle = aisles.join("aisle-c/aisle.yaml");
        let new_rack = aisles.join("aisle-c/racks/rack-c01.yaml");
        let overlay = Overlay {
            files: HashMap::from([
                (aisle_a, without_a03),
                (
                    new_aisle.clone(),
                    "id: aisle-c\nname: Aisle C\nracks:\n- id: rack-c01\n".to_owned(),
                ),
                (
                    new_rack.clone(),
                    "id: rack-c01\nname: New rack C01\nu_height: 42\ndevices: []\n".to_owned(),
                ),
            ]),
            deleted: [a03.clone()].into(),
        };
        // The new aisle's directory is listed by the walk, so far unlisted in its room.
        let loaded = load_overlay(&app, std::iter::empty(), &overlay);
        assert!(loaded.is_usable(), "{:?}", loaded.diagnostics);
        assert!(
            loaded
                .diagnostics
                .warnings()
                .any(|w| w.code == "unlisted-aisle" && w.message.contains("aisles/aisle-c")),
            "{:?}",
            loaded.diagnostics
        );
        let room = aisles.parent().unwrap().join("room.yaml");
        let listed = std::fs::read_to_string(&room).unwrap().replace(
            "standalone_racks:",
            "- id: aisle-c\n  name: Aisle C\nstandalone_racks:",
        );
        let mut overlay = overlay;
        overlay.files.insert(room, listed);
        let loaded = load_overlay(&app, std::iter::empty(), &overlay);
        assert!(loaded.is_usable(), "{:?}", loaded.diagnostics);
        let racks = &loaded.config.topology.racks;
        assert!(
            racks
                .iter()
                .any(|r| r.id == "rack-c01" && r.name == "New rack C01")
        );
        assert!(!racks.iter().any(|r| r.id == "rack-a03"));
        // Nothing was written or removed.
        assert!(!new_aisle.parent().unwrap().exists());
        assert!(a03.exists());
        let plain = load_with_env(&app, std::iter::empty());
        assert!(
            plain
                .config
                .topology
                .racks
                .iter()
                .any(|r| r.id == "rack-a03")
        );
        assert!(
            !plain
                .config
                .topology
                .racks
                .iter()
                .any(|r| r.id == "rack-c01")
        );

        // A removed file still named by its aisle is missing, at the aisle's line.
        let only_removed = Overlay {
            deleted: [a03].into(),
            ..Overlay::default()
        };
        let loaded = load_overlay(&app, std::iter::empty(), &only_removed);
        assert!(!loaded.is_usable());
        let e = loaded.diagnostics.errors().next().unwrap();
        assert!(e.span.file.ends_with("aisle-a/aisle.yaml"), "{e:?}");
    }

    #[test]
    fn a_template_defined_again_in_a_later_file_wins_with_a_warning_unless_identical() {
        let app = fixture("tests/fixtures/health/app.yaml");
        let dir = std::fs::canonicalize(fixture("tests/fixtures/health/templates")).unwrap();
        let jbod =
            |u: u32| format!("templates:\n- id: generic-2u-jbod\n  name: JBOD\n  u_height: {u}\n");
        let (a, b) = (
            dir.join("vendor-a/jbod.yaml"),
            dir.join("vendor-b/jbod.yaml"),
        );
        let load = |files: Vec<(PathBuf, String)>| {
            load_overlay(
                &app,
                std::iter::empty(),
                &Overlay::texts(files.into_iter().collect()),
            )
        };
        let differ = load(vec![(a.clone(), jbod(2)), (b.clone(), jbod(4))]);
        assert!(differ.is_usable(), "{:?}", differ.diagnostics);
        let t = differ
            .config
            .catalog
            .devices
            .get("generic-2u-jbod")
            .unwrap();
        assert_eq!(t.def.u_height.value, 4, "the later file wins");
        let w: Vec<_> = differ
            .diagnostics
            .warnings()
            .filter(|d| d.code == "template-redefined")
            .collect();
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(w[0].span.file.ends_with("vendor-b/jbod.yaml"), "{w:?}");
        assert!(w[0].message.contains("vendor-a/jbod.yaml"), "{w:?}");
        // The same definition twice says nothing.
        let same = load(vec![(a.clone(), jbod(2)), (b, jbod(2))]);
        assert!(
            !same
                .diagnostics
                .iter()
                .any(|d| d.code == "template-redefined" || d.code == "duplicate-id"),
            "{:?}",
            same.diagnostics
        );
        // Twice in one file stays an error.
        let twice = format!(
            "{}- id: generic-2u-jbod\n  name: Again\n  u_height: 3\n",
            jbod(2)
        );
        let one_file = load(vec![(a, twice)]);
        assert!(!one_file.is_usable());
        assert!(
            one_file
                .diagnostics
                .errors()
                .any(|d| d.code == "duplicate-id")
        );
    }
}
