//! Rackscope importer for RacksDB: reads a RacksDB database (a YAML file or a directory tree)
//! or the JSON that `racksdb … --format json` and `racksdb-web` produce, and returns the
//! datacenters, rooms, rows, racks and equipment as a Rackscope inventory.
//!
//! Entry points without the plugin ABI, for tests and fuzzing: [`from_path`],
//! [`from_yaml_dir`], [`from_yaml_str`], [`from_json`] and [`from_json_documents`].

mod build;
mod computed;
mod db;
mod nodeset;
mod source;

use std::path::{Path, PathBuf};

use rackscope_importer_abi::{Describe, Importer, Inventory, OptionSpec, Reporter};
use serde_json::Value;

pub use build::place;
pub use nodeset::{expand as expand_nodeset, fold as fold_nodeset};

/// How the file or directory at `path` is read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Format {
    /// Decided from the path: `*.json` files are RacksDB output, anything else a database.
    #[default]
    Auto,
    /// A RacksDB database: one YAML file or a directory tree of `*.yml` files.
    Yaml,
    /// RacksDB output in JSON (`racksdb datacenters|infrastructures|racks|nodes --format json`):
    /// one file, or a directory of such files.
    Json,
}

/// The importer's options, from the configuration object the host builds.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Options {
    pub path: Option<PathBuf>,
    pub format: Format,
    /// Only these datacenters (empty: all).
    pub datacenters: Vec<String>,
    /// Only the equipment of these infrastructures (empty: all); racks are kept.
    pub infrastructures: Vec<String>,
    pub instance_port: Option<u16>,
}

const OPTION_NAMES: [&str; 5] = [
    "path",
    "format",
    "datacenter",
    "infrastructure",
    "instance_port",
];

fn option_specs() -> Vec<OptionSpec> {
    let spec = |name: &str, help: &str, required: bool, default: Option<&str>| OptionSpec {
        name: name.into(),
        help: help.into(),
        required,
        default: default.map(Into::into),
    };
    vec![
        spec(
            "path",
            "RacksDB database (a directory such as /var/lib/racksdb, or one .yml file), or RacksDB \
             JSON output: a file, or a directory of the files written by `racksdb datacenters \
             --format json` and `racksdb infrastructures --format json`",
            true,
            None,
        ),
        spec(
            "format",
            "auto, yaml or json: how to read `path`; auto treats *.json files (or a directory \
             holding only *.json files) as RacksDB output and anything else as a database",
            false,
            Some("auto"),
        ),
        spec(
            "datacenter",
            "import only these datacenters (a name, or a comma-separated list)",
            false,
            None,
        ),
        spec(
            "infrastructure",
            "import only the equipment of these infrastructures (a name, or a comma-separated \
             list); racks are imported all the same",
            false,
            None,
        ),
        spec(
            "instance_port",
            "append :<port> to every instance name (Prometheus `instance` labels are usually \
             host:port)",
            false,
            None,
        ),
    ]
}

fn name_list(key: &str, v: &Value) -> Result<Vec<String>, String> {
    let from_text = |s: &str| -> Vec<String> {
        s.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()
    };
    match v {
        Value::Null => Ok(Vec::new()),
        Value::String(s) => Ok(from_text(s)),
        Value::Number(n) => Ok(vec![n.to_string()]),
        Value::Array(items) => {
            let mut out = Vec::new();
            for item in items {
                match item {
                    Value::String(s) => out.extend(from_text(s)),
                    Value::Number(n) => out.push(n.to_string()),
                    other => {
                        return Err(format!(
                            "option `{key}`: expected names, found {}",
                            source::short(other)
                        ));
                    }
                }
            }
            Ok(out)
        }
        other => Err(format!(
            "option `{key}`: expected a name or a list of names, found {}",
            source::short(other)
        )),
    }
}

impl Options {
    /// Reads the configuration object; unknown keys are errors, so that a typo is not
    /// silently ignored.
    pub fn from_config(config: &Value) -> Result<Options, String> {
        let map = match config {
            Value::Object(m) => m.clone(),
            Value::Null => serde_json::Map::new(),
            other => {
                return Err(format!(
                    "the racksdb importer configuration must be an object, found {}",
                    source::short(other)
                ));
            }
        };
        let mut opts = Options::default();
        for (key, value) in &map {
            match key.as_str() {
                "path" => {
                    opts.path = match value {
                        Value::Null => None,
                        Value::String(s) if !s.trim().is_empty() => Some(PathBuf::from(s)),
                        other => {
                            return Err(format!(
                                "option `path`: expected a file or directory name, found {}",
                                source::short(other)
                            ));
                        }
                    }
                }
                "format" => {
                    opts.format = match value.as_str().map(|s| s.trim().to_ascii_lowercase()) {
                        None if value.is_null() => Format::Auto,
                        Some(s) if s == "auto" => Format::Auto,
                        Some(s) if s == "yaml" || s == "yml" => Format::Yaml,
                        Some(s) if s == "json" => Format::Json,
                        _ => {
                            return Err(format!(
                                "option `format`: expected auto, yaml or json, found {}",
                                source::short(value)
                            ));
                        }
                    }
                }
                "datacenter" => opts.datacenters = name_list(key, value)?,
                "infrastructure" => opts.infrastructures = name_list(key, value)?,
                "instance_port" => {
                    let port = match value {
                        Value::Null => None,
                        Value::Number(n) => n.as_u64(),
                        Value::String(s) if s.trim().is_empty() => {
                            opts.instance_port = None;
                            continue;
                        }
                        Value::String(s) => s.trim().parse::<u64>().ok(),
                        _ => None,
                    };
                    opts.instance_port = match (value, port) {
                        (Value::Null, _) => None,
                        (_, Some(p)) if (1..=65535).contains(&p) => u16::try_from(p).ok(),
                        _ => {
                            return Err(format!(
                                "option `instance_port`: expected a port number from 1 to 65535, found {}",
                                source::short(value)
                            ));
                        }
                    };
                }
                other => {
                    return Err(format!(
                        "unknown option `{other}` for the racksdb importer; valid options: {}",
                        OPTION_NAMES.join(", ")
                    ));
                }
            }
        }
        Ok(opts)
    }
}

/// Reads `path` as `options.format` says (or as its name and content suggest).
pub fn from_path(path: &Path, options: &Options) -> Result<Inventory, String> {
    from_path_reporting(path, options, &mut Reporter::silent())
}

fn from_path_reporting(
    path: &Path,
    options: &Options,
    progress: &mut Reporter<'_>,
) -> Result<Inventory, String> {
    let meta =
        std::fs::metadata(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let json = match options.format {
        Format::Yaml => false,
        Format::Json => true,
        Format::Auto if meta.is_dir() => dir_holds_only_json(path)?,
        Format::Auto => match path.extension().and_then(|e| e.to_str()) {
            Some("json") => true,
            Some("yml" | "yaml") => false,
            _ => {
                let bytes = std::fs::read(path)
                    .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
                serde_json::from_slice::<Value>(&bytes).is_ok()
            }
        },
    };
    progress.report(format!("reading {}", path.display()), 0, None);
    if !json {
        return yaml_path(path, options, progress);
    }
    let files: Vec<PathBuf> = if meta.is_dir() {
        json_files(path)?
    } else {
        vec![path.to_path_buf()]
    };
    if files.is_empty() {
        return Err(format!("{} holds no *.json file", path.display()));
    }
    let mut docs = Vec::new();
    for f in &files {
        let bytes = std::fs::read(f).map_err(|e| format!("cannot read {}: {e}", f.display()))?;
        docs.push((f.display().to_string(), bytes));
    }
    let docs: Vec<(&str, &[u8])> = docs
        .iter()
        .map(|(n, b)| (n.as_str(), b.as_slice()))
        .collect();
    json_documents(
        &docs,
        options,
        format!("RacksDB JSON {}", path.display()),
        progress,
    )
}

/// A directory holding `*.json` files and no `*.yml` file nor sub-directory is RacksDB output.
fn dir_holds_only_json(path: &Path) -> Result<bool, String> {
    let mut json = false;
    for entry in
        std::fs::read_dir(path).map_err(|e| format!("cannot list {}: {e}", path.display()))?
    {
        let Ok(entry) = entry else { continue };
        let p = entry.path();
        let name = entry.file_name();
        if name.to_string_lossy().starts_with('.') {
            continue;
        }
        if p.is_dir() || p.extension().is_some_and(|e| e == "yml") {
            return Ok(false);
        }
        json |= p.extension().is_some_and(|e| e == "json");
    }
    Ok(json)
}

/// The `*.json` files of a directory in name order; `X.fold.json` is left out when `X.json`
/// is there, since it holds the same data without RacksDB's computed positions.
fn json_files(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| format!("cannot list {}: {e}", dir.display()))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_file() && p.extension().is_some_and(|e| e == "json"))
        .filter(|p| {
            !p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with('.'))
        })
        .collect();
    files.sort();
    let names: Vec<String> = files
        .iter()
        .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .collect();
    files.retain(|p| {
        let name = p
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        match name.strip_suffix(".fold.json") {
            Some(stem) => !names.contains(&format!("{stem}.json")),
            None => true,
        }
    });
    Ok(files)
}

/// Reads a RacksDB database: a directory tree merged as RacksDB merges it, or one YAML file.
pub fn from_yaml_dir(path: &Path, options: &Options) -> Result<Inventory, String> {
    yaml_path(path, options, &mut Reporter::silent())
}

fn yaml_path(
    path: &Path,
    options: &Options,
    progress: &mut Reporter<'_>,
) -> Result<Inventory, String> {
    let mut warnings = Vec::new();
    let root = db::load_tree(path, &mut warnings)?;
    let mut src = db::read(&root)?;
    warnings.append(&mut src.warnings);
    src.warnings = warnings;
    build::build(
        src,
        options,
        format!("RacksDB database {}", path.display()),
        progress,
    )
}

/// Reads a single-file RacksDB database from its text.
pub fn from_yaml_str(text: &str, options: &Options) -> Result<Inventory, String> {
    let root = db::parse_yaml(text, "the RacksDB database")?;
    let src = db::read(&root)?;
    build::build(
        src,
        options,
        "RacksDB database".into(),
        &mut Reporter::silent(),
    )
}

/// Reads one JSON document of RacksDB output (or an object combining several under the keys
/// `datacenters`, `infrastructures`, `racks`, `nodes`, or a whole database in JSON).
pub fn from_json(bytes: &[u8], options: &Options) -> Result<Inventory, String> {
    from_json_documents(&[bytes], options)
}

/// Reads several JSON documents of RacksDB output together, such as the output of
/// `racksdb datacenters --format json` and `racksdb infrastructures --format json`.
pub fn from_json_documents(docs: &[&[u8]], options: &Options) -> Result<Inventory, String> {
    let named: Vec<(String, &[u8])> = docs
        .iter()
        .enumerate()
        .map(|(i, b)| (format!("JSON document {}", i + 1), *b))
        .collect();
    let named: Vec<(&str, &[u8])> = named.iter().map(|(n, b)| (n.as_str(), *b)).collect();
    json_documents(
        &named,
        options,
        "RacksDB JSON".into(),
        &mut Reporter::silent(),
    )
}

fn json_documents(
    docs: &[(&str, &[u8])],
    options: &Options,
    source: String,
    progress: &mut Reporter<'_>,
) -> Result<Inventory, String> {
    let mut lists = Vec::new();
    let mut database = None;
    for (name, bytes) in docs {
        let value: Value =
            serde_json::from_slice(bytes).map_err(|e| format!("{name} is not valid JSON: {e}"))?;
        match computed::classify(value, name)? {
            computed::Document::Lists(mut l) => lists.append(&mut l),
            computed::Document::Database(v) => {
                if database.is_some() {
                    return Err(format!(
                        "{name}: only one RacksDB database can be read at a time"
                    ));
                }
                database = Some(v);
            }
        }
    }
    let src = match database {
        Some(db_value) => {
            if !lists.is_empty() {
                return Err("a RacksDB database and RacksDB command output cannot be mixed".into());
            }
            db::read(&db_value)?
        }
        None => computed::read(lists)?,
    };
    build::build(src, options, source, progress)
}

/// The importer the host loads.
pub struct RacksDb;

impl Importer for RacksDb {
    fn describe() -> Describe {
        Describe {
            name: "racksdb".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            description: "RacksDB database (YAML files) or RacksDB JSON output: datacenters → \
                          sites, rooms → rooms, rows → aisles, racks in slot order, equipment at \
                          the U RacksDB computes; fractional-width nodes sharing a U become one \
                          multi-instance device"
                .into(),
            options: option_specs(),
        }
    }

    fn run(config: Value, progress: &mut Reporter<'_>) -> Result<Inventory, String> {
        let options = Options::from_config(&config)?;
        let Some(path) = options.path.clone() else {
            return Err(
                "option `path` is required: a RacksDB database directory or file, or RacksDB JSON output"
                    .into(),
            );
        };
        from_path_reporting(&path, &options, progress)
    }
}

rackscope_importer_abi::export_importer!(RacksDb);

#[cfg(test)]
mod tests;
