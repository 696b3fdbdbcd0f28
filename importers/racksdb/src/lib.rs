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

use rackscope_importer_abi::options::{self, Config, OptionDef};
use rackscope_importer_abi::{Describe, Importer, Inventory, Reporter};
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

/// The options `describe()` lists and the configuration may hold.
const OPTIONS: &[OptionDef] = &[
    OptionDef::new(
        "path",
        "RacksDB database (a directory such as /var/lib/racksdb, or one .yml file), or RacksDB \
         JSON output: a file, or a directory of the files written by `racksdb datacenters \
         --format json` and `racksdb infrastructures --format json`",
    )
    .required(),
    OptionDef::new(
        "format",
        "auto, yaml or json: how to read `path`; auto treats *.json files (or a directory \
         holding only *.json files) as RacksDB output and anything else as a database",
    )
    .default("auto"),
    OptionDef::new(
        "datacenter",
        "import only these datacenters (a name, or a comma-separated list)",
    ),
    OptionDef::new(
        "infrastructure",
        "import only the equipment of these infrastructures (a name, or a comma-separated \
         list); racks are imported all the same",
    ),
    OptionDef::new(
        "instance_port",
        "append :<port> to every instance name (Prometheus `instance` labels are usually \
         host:port)",
    ),
];

/// The option names in `describe()` order, which the tests compare with their own list.
#[cfg(test)]
const OPTION_NAMES: [&str; OPTIONS.len()] = {
    let mut names = [""; OPTIONS.len()];
    let mut i = 0;
    while i < names.len() {
        names[i] = OPTIONS[i].name;
        i += 1;
    }
    names
};

impl Options {
    /// Reads the configuration object; unknown keys are errors, so that a typo is not
    /// silently ignored. `path` is required by `run` only, so that tests may leave it out.
    pub fn from_config(config: &Value) -> Result<Options, String> {
        let c = Config::read("racksdb", config, OPTIONS)?;
        // A path is taken as written (not trimmed), and only from a string.
        let path = match c.raw("path") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) if !s.trim().is_empty() => Some(PathBuf::from(s)),
            Some(_) => return Err(c.invalid("path", "a file or directory name").into()),
        };
        let format = match c.raw("format") {
            None | Some(Value::Null) => Format::Auto,
            Some(v) => match v.as_str().map(|s| s.trim().to_ascii_lowercase()).as_deref() {
                Some("auto") => Format::Auto,
                Some("yaml" | "yml") => Format::Yaml,
                Some("json") => Format::Json,
                _ => return Err(c.invalid("format", "auto, yaml or json").into()),
            },
        };
        Ok(Options {
            path,
            format,
            datacenters: c.list("datacenter")?.unwrap_or_default(),
            infrastructures: c.list("infrastructure")?.unwrap_or_default(),
            instance_port: c.port("instance_port")?,
        })
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
            options: options::specs(OPTIONS),
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
