//! The importer's options: their specification for `describe()` and their parsing from the
//! JSON object the host builds out of the importer file and `--set` flags.

use std::path::PathBuf;

use rackscope_importer_abi::OptionSpec;
use regex::Regex;
use serde_json::{Map, Value};

/// Where the `ansible-inventory --list` JSON comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// A file holding the output of `ansible-inventory --list`.
    Json(PathBuf),
    /// An inventory directory or file that `ansible-inventory` is run on.
    Inventory(PathBuf),
}

/// The parsed configuration. `Options::default()` is the documented defaults without an
/// input, which is all [`crate::from_json`] needs.
#[derive(Debug, Clone)]
pub struct Options {
    pub input: Option<Input>,
    pub ansible_inventory_command: String,
    /// `None`: from `cluster_name` / `bb_domain_name`, else "cluster".
    pub site: Option<String>,
    pub room: String,
    pub aisle: String,
    pub rack_height: u32,
    pub rack_prefix: String,
    /// Dotted paths; empty disables the source.
    pub location_var: Vec<String>,
    pub rack_var: Vec<String>,
    pub rack_group_pattern: Option<Regex>,
    pub u_var: Vec<String>,
    pub height_var: Vec<String>,
    pub hardware_group_pattern: Option<Regex>,
    pub kind_var: Vec<String>,
    pub default_rack: String,
    pub instance_port: Option<u16>,
}

pub const DEFAULT_RACK_GROUP_PATTERN: &str = r"^rack_?(\d+)$";
pub const DEFAULT_HARDWARE_GROUP_PATTERN: &str = r"^(hw|equipment)_";

impl Default for Options {
    fn default() -> Self {
        Options {
            input: None,
            ansible_inventory_command: "ansible-inventory".into(),
            site: None,
            room: "room".into(),
            aisle: "aisle".into(),
            rack_height: 42,
            rack_prefix: "rack".into(),
            location_var: vec!["rackscope".into()],
            rack_var: vec!["rack_number".into(), "labels.rack".into()],
            rack_group_pattern: Regex::new(DEFAULT_RACK_GROUP_PATTERN).ok(),
            u_var: vec!["rack_u".into()],
            height_var: vec!["hw_u_height".into()],
            hardware_group_pattern: Regex::new(DEFAULT_HARDWARE_GROUP_PATTERN).ok(),
            kind_var: vec!["hw_equipment_type".into(), "ep_equipment_type".into()],
            default_rack: "unplaced".into(),
            instance_port: None,
        }
    }
}

/// (name, default, help): the single list `describe()` and the unknown-key check share.
const SPECS: &[(&str, Option<&str>, &str)] = &[
    (
        "inventory_json",
        None,
        "Path to a file holding the JSON of `ansible-inventory -i <inventory> --list` \
         (`--list --export` works too). Give exactly one of inventory_json and inventory.",
    ),
    (
        "inventory",
        None,
        "Path to a BlueBanquise (Ansible) inventory directory or file; the importer runs \
         `ansible-inventory -i <path> --list`, which needs ansible-core installed.",
    ),
    (
        "ansible_inventory_command",
        Some("ansible-inventory"),
        "The program run for `inventory` (e.g. the one in a virtualenv).",
    ),
    (
        "site",
        None,
        "Site name. Default: the host variable cluster_name, else bb_domain_name, else `cluster`.",
    ),
    (
        "room",
        Some("room"),
        "Room name for hosts whose location gives none.",
    ),
    (
        "aisle",
        Some("aisle"),
        "Aisle name for hosts whose location gives none.",
    ),
    ("rack_height", Some("42"), "Height of every rack, in U."),
    (
        "rack_prefix",
        Some("rack"),
        "Prefix of a rack name when the rack value is a bare number (1 -> rack1).",
    ),
    (
        "location_var",
        Some("rackscope"),
        "Host variable (dotted path) holding a dict {site, room, aisle, rack, u, height, \
         template, face, slot}; set it per host or per group. Highest priority. Empty: off.",
    ),
    (
        "rack_var",
        Some("rack_number,labels.rack"),
        "Comma-separated host variables (dotted paths) giving the rack, tried in order after \
         location_var. Empty: off.",
    ),
    (
        "rack_group_pattern",
        Some(DEFAULT_RACK_GROUP_PATTERN),
        "Regex on group names; a host in a matching group is in the rack named by the group \
         `rack` (or the first) capture group, else by the whole group name. Used after \
         rack_var. Empty: off.",
    ),
    (
        "u_var",
        Some("rack_u"),
        "Comma-separated host variables giving the lowest U of the host (1 = bottom). Hosts \
         without one are stacked bottom-up in name order.",
    ),
    (
        "height_var",
        Some("hw_u_height"),
        "Comma-separated host variables giving the height in U (usually a hw_ group var). \
         Default height 1.",
    ),
    (
        "hardware_group_pattern",
        Some(DEFAULT_HARDWARE_GROUP_PATTERN),
        "Regex on group names: the host's matching group (hw_* in 3.x, equipment_* in 1.x) \
         becomes its device template.",
    ),
    (
        "kind_var",
        Some("hw_equipment_type,ep_equipment_type"),
        "Comma-separated host variables giving the template type (server, storage, switch...).",
    ),
    (
        "default_rack",
        Some("unplaced"),
        "Rack for hosts without a rack (each one is warned about); more racks \
         (unplaced-2, ...) are added when it is full.",
    ),
    (
        "instance_port",
        None,
        "Port appended to each instance name (`c001:9100`), to match Prometheus `instance`.",
    ),
];

pub fn specs() -> Vec<OptionSpec> {
    SPECS
        .iter()
        .map(|(name, default, help)| OptionSpec {
            name: (*name).into(),
            help: (*help).into(),
            required: false,
            default: default.map(str::to_owned),
        })
        .collect()
}

fn valid_keys() -> String {
    SPECS
        .iter()
        .map(|(n, _, _)| *n)
        .collect::<Vec<_>>()
        .join(", ")
}

/// A scalar as text: flags arrive as YAML scalars, so numbers and booleans are accepted
/// where a string is expected. `None` for null (an empty YAML value).
fn text(key: &str, v: &Value) -> Result<Option<String>, String> {
    match v {
        Value::Null => Ok(None),
        Value::String(s) => Ok(Some(s.trim().to_owned())),
        Value::Number(n) => Ok(Some(n.to_string())),
        Value::Bool(b) => Ok(Some(b.to_string())),
        _ => Err(format!("option `{key}`: expected a string, got {v}")),
    }
}

fn non_empty(key: &str, v: &Value) -> Result<Option<String>, String> {
    match text(key, v)? {
        Some(s) if s.is_empty() => Err(format!("option `{key}` must not be empty")),
        other => Ok(other),
    }
}

fn integer(key: &str, v: &Value) -> Result<Option<u64>, String> {
    let bad = || format!("option `{key}`: expected a positive integer, got {v}");
    match v {
        Value::Null => Ok(None),
        Value::Number(n) => n.as_u64().map(Some).ok_or_else(bad),
        Value::String(s) => s.trim().parse::<u64>().map(Some).map_err(|_| bad()),
        _ => Err(bad()),
    }
}

/// A list of dotted variable paths: a comma-separated string or a JSON list.
fn paths(key: &str, v: &Value) -> Result<Option<Vec<String>>, String> {
    let items: Vec<String> = match v {
        Value::Null => return Ok(None),
        Value::Array(a) => a
            .iter()
            .map(|x| text(key, x).map(Option::unwrap_or_default))
            .collect::<Result<_, _>>()?,
        _ => text(key, v)?
            .unwrap_or_default()
            .split(',')
            .map(str::to_owned)
            .collect(),
    };
    let items: Vec<String> = items
        .into_iter()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect();
    if let Some(bad) = items
        .iter()
        .find(|p| p.split('.').any(|seg| seg.trim().is_empty()))
    {
        return Err(format!(
            "option `{key}`: `{bad}` is not a dotted variable path"
        ));
    }
    Ok(Some(items))
}

fn pattern(key: &str, v: &Value) -> Result<Option<Option<Regex>>, String> {
    match text(key, v)? {
        None => Ok(None),
        Some(s) if s.is_empty() => Ok(Some(None)),
        Some(s) => Regex::new(&s)
            .map(|r| Some(Some(r)))
            .map_err(|e| format!("option `{key}`: invalid regex `{s}`: {e}")),
    }
}

impl Options {
    /// Parses the configuration object; every key must be known.
    pub fn from_config(config: &Value) -> Result<Options, String> {
        let empty = Map::new();
        let map = match config {
            Value::Object(m) => m,
            Value::Null => &empty,
            other => return Err(format!("the configuration must be an object, got {other}")),
        };
        let mut o = Options::default();
        let mut json = None;
        let mut dir = None;
        for (key, v) in map {
            match key.as_str() {
                "inventory_json" => json = non_empty(key, v)?,
                "inventory" => dir = non_empty(key, v)?,
                "ansible_inventory_command" => {
                    if let Some(s) = non_empty(key, v)? {
                        o.ansible_inventory_command = s;
                    }
                }
                "site" => o.site = non_empty(key, v)?,
                "room" => {
                    if let Some(s) = non_empty(key, v)? {
                        o.room = s;
                    }
                }
                "aisle" => {
                    if let Some(s) = non_empty(key, v)? {
                        o.aisle = s;
                    }
                }
                "rack_height" => {
                    if let Some(n) = integer(key, v)? {
                        o.rack_height = u32::try_from(n)
                            .ok()
                            .filter(|h| (1..=1000).contains(h))
                            .ok_or_else(|| {
                                format!("option `{key}`: {n} is not a height between 1 and 1000")
                            })?;
                    }
                }
                "rack_prefix" => {
                    if let Some(s) = text(key, v)? {
                        o.rack_prefix = s;
                    }
                }
                "location_var" => {
                    if let Some(p) = paths(key, v)? {
                        o.location_var = p;
                    }
                }
                "rack_var" => {
                    if let Some(p) = paths(key, v)? {
                        o.rack_var = p;
                    }
                }
                "u_var" => {
                    if let Some(p) = paths(key, v)? {
                        o.u_var = p;
                    }
                }
                "height_var" => {
                    if let Some(p) = paths(key, v)? {
                        o.height_var = p;
                    }
                }
                "kind_var" => {
                    if let Some(p) = paths(key, v)? {
                        o.kind_var = p;
                    }
                }
                "rack_group_pattern" => {
                    if let Some(r) = pattern(key, v)? {
                        o.rack_group_pattern = r;
                    }
                }
                "hardware_group_pattern" => {
                    if let Some(r) = pattern(key, v)? {
                        o.hardware_group_pattern = r;
                    }
                }
                "default_rack" => {
                    if let Some(s) = non_empty(key, v)? {
                        o.default_rack = s;
                    }
                }
                "instance_port" => {
                    if let Some(n) = integer(key, v)? {
                        o.instance_port =
                            Some(u16::try_from(n).ok().filter(|p| *p > 0).ok_or_else(|| {
                                format!("option `{key}`: {n} is not a port (1-65535)")
                            })?);
                    }
                }
                other => {
                    return Err(format!(
                        "unknown option `{other}`; valid options: {}",
                        valid_keys()
                    ));
                }
            }
        }
        o.input = match (json, dir) {
            (Some(j), None) => Some(Input::Json(PathBuf::from(j))),
            (None, Some(d)) => Some(Input::Inventory(PathBuf::from(d))),
            (Some(_), Some(_)) => {
                return Err(
                    "give only one of `inventory_json` and `inventory`, not both".to_owned(),
                );
            }
            (None, None) => {
                return Err("give `inventory_json` (a file with the output of \
                     `ansible-inventory -i <inventory> --list`) or `inventory` (an inventory \
                     directory, read with ansible-inventory)"
                    .to_owned());
            }
        };
        Ok(o)
    }

    /// The text of `Inventory.source`.
    pub fn source(&self) -> String {
        match &self.input {
            Some(Input::Json(p)) => format!("bluebanquise ansible-inventory JSON {}", p.display()),
            Some(Input::Inventory(p)) => {
                format!("bluebanquise inventory {} (ansible-inventory)", p.display())
            }
            None => "bluebanquise ansible-inventory JSON".to_owned(),
        }
    }
}
