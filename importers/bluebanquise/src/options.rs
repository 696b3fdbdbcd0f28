//! The importer's options: their specification for `describe()` and their parsing from the
//! JSON object the host builds out of the importer file and `--set` flags.

use std::path::PathBuf;

use rackscope_importer_abi::OptionSpec;
use rackscope_importer_abi::options::{self, Config, OptionDef};
use regex::Regex;
use serde_json::Value;

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

pub(crate) const DEFAULT_RACK_GROUP_PATTERN: &str = r"^rack_?(\d+)$";
pub(crate) const DEFAULT_HARDWARE_GROUP_PATTERN: &str = r"^(hw|equipment)_";

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

/// The options `describe()` lists and the configuration may hold.
const DEFS: &[OptionDef] = &[
    OptionDef::new(
        "inventory_json",
        "Path to a file holding the JSON of `ansible-inventory -i <inventory> --list` \
         (`--list --export` works too). Give exactly one of inventory_json and inventory.",
    ),
    OptionDef::new(
        "inventory",
        "Path to a BlueBanquise (Ansible) inventory directory or file; the importer runs \
         `ansible-inventory -i <path> --list`, which needs ansible-core installed.",
    ),
    OptionDef::new(
        "ansible_inventory_command",
        "The program run for `inventory` (e.g. the one in a virtualenv).",
    )
    .default("ansible-inventory"),
    OptionDef::new(
        "site",
        "Site name. Default: the host variable cluster_name, else bb_domain_name, else `cluster`.",
    ),
    OptionDef::new("room", "Room name for hosts whose location gives none.").default("room"),
    OptionDef::new("aisle", "Aisle name for hosts whose location gives none.").default("aisle"),
    OptionDef::new("rack_height", "Height of every rack, in U.").default("42"),
    OptionDef::new(
        "rack_prefix",
        "Prefix of a rack name when the rack value is a bare number (1 -> rack1).",
    )
    .default("rack"),
    OptionDef::new(
        "location_var",
        "Host variable (dotted path) holding a dict {site, room, aisle, rack, u, height, \
         template, face, slot}; set it per host or per group. Highest priority. Empty: off.",
    )
    .default("rackscope"),
    OptionDef::new(
        "rack_var",
        "Comma-separated host variables (dotted paths) giving the rack, tried in order after \
         location_var. Empty: off.",
    )
    .default("rack_number,labels.rack"),
    OptionDef::new(
        "rack_group_pattern",
        "Regex on group names; a host in a matching group is in the rack named by the group \
         `rack` (or the first) capture group, else by the whole group name. Used after \
         rack_var. Empty: off.",
    )
    .default(DEFAULT_RACK_GROUP_PATTERN),
    OptionDef::new(
        "u_var",
        "Comma-separated host variables giving the lowest U of the host (1 = bottom). Hosts \
         without one are stacked bottom-up in name order.",
    )
    .default("rack_u"),
    OptionDef::new(
        "height_var",
        "Comma-separated host variables giving the height in U (usually a hw_ group var). \
         Default height 1.",
    )
    .default("hw_u_height"),
    OptionDef::new(
        "hardware_group_pattern",
        "Regex on group names: the host's matching group (hw_* in 3.x, equipment_* in 1.x) \
         becomes its device template.",
    )
    .default(DEFAULT_HARDWARE_GROUP_PATTERN),
    OptionDef::new(
        "kind_var",
        "Comma-separated host variables giving the template type (server, storage, switch...).",
    )
    .default("hw_equipment_type,ep_equipment_type"),
    OptionDef::new(
        "default_rack",
        "Rack for hosts without a rack (each one is warned about); more racks \
         (unplaced-2, ...) are added when it is full.",
    )
    .default("unplaced"),
    OptionDef::new(
        "instance_port",
        "Port appended to each instance name (`c001:9100`), to match Prometheus `instance`.",
    ),
];

pub(crate) fn specs() -> Vec<OptionSpec> {
    options::specs(DEFS)
}

/// A list of dotted variable paths: a comma-separated string or a JSON list.
fn paths(c: &Config<'_>, key: &str) -> Result<Option<Vec<String>>, String> {
    let Some(items) = c.list(key)? else {
        return Ok(None);
    };
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

/// A regex; an empty one turns the rule off (`Some(None)`).
fn pattern(c: &Config<'_>, key: &str) -> Result<Option<Option<Regex>>, String> {
    match c.text(key)? {
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
        let c = Config::read("bluebanquise", config, DEFS)?;
        let d = Options::default();
        let mut options = Options {
            input: None,
            ansible_inventory_command: c
                .non_empty("ansible_inventory_command")?
                .unwrap_or(d.ansible_inventory_command),
            site: c.non_empty("site")?,
            room: c.non_empty("room")?.unwrap_or(d.room),
            aisle: c.non_empty("aisle")?.unwrap_or(d.aisle),
            rack_height: c
                .integer("rack_height", 1, 1000)?
                .map_or(d.rack_height, |h| h as u32),
            rack_prefix: c.text("rack_prefix")?.unwrap_or(d.rack_prefix),
            location_var: paths(&c, "location_var")?.unwrap_or(d.location_var),
            rack_var: paths(&c, "rack_var")?.unwrap_or(d.rack_var),
            rack_group_pattern: pattern(&c, "rack_group_pattern")?.unwrap_or(d.rack_group_pattern),
            u_var: paths(&c, "u_var")?.unwrap_or(d.u_var),
            height_var: paths(&c, "height_var")?.unwrap_or(d.height_var),
            hardware_group_pattern: pattern(&c, "hardware_group_pattern")?
                .unwrap_or(d.hardware_group_pattern),
            kind_var: paths(&c, "kind_var")?.unwrap_or(d.kind_var),
            default_rack: c.non_empty("default_rack")?.unwrap_or(d.default_rack),
            instance_port: c.port("instance_port")?,
        };
        // The input is checked once every value is read, so a bad value is reported first.
        options.input = Some(input(&c)?);
        Ok(options)
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

/// Exactly one of `inventory_json` and `inventory`.
fn input(c: &Config<'_>) -> Result<Input, String> {
    match (c.non_empty("inventory_json")?, c.non_empty("inventory")?) {
        (Some(j), None) => Ok(Input::Json(PathBuf::from(j))),
        (None, Some(d)) => Ok(Input::Inventory(PathBuf::from(d))),
        (Some(_), Some(_)) => {
            Err("give only one of `inventory_json` and `inventory`, not both".to_owned())
        }
        (None, None) => Err("give `inventory_json` (a file with the output of \
             `ansible-inventory -i <inventory> --list`) or `inventory` (an inventory \
             directory, read with ansible-inventory)"
            .to_owned()),
    }
}
