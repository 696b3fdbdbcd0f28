//! What both readers (the YAML database and RacksDB's computed JSON) turn the source into
//! before `build` maps it to an inventory, plus lenient accessors for the loosely typed values.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

/// The four equipment lists of an infrastructure part; the order is RacksDB's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Category {
    Nodes,
    Storage,
    Network,
    Misc,
}

impl Category {
    pub(crate) const ALL: [Category; 4] = [
        Category::Nodes,
        Category::Storage,
        Category::Network,
        Category::Misc,
    ];

    /// The key of the list in RacksDB (`types.<key>`, `layout[].<key>`).
    pub(crate) fn key(self) -> &'static str {
        match self {
            Category::Nodes => "nodes",
            Category::Storage => "storage",
            Category::Network => "network",
            Category::Misc => "misc",
        }
    }

    /// The Rackscope template type.
    pub(crate) fn kind(self) -> &'static str {
        match self {
            Category::Nodes => "server",
            Category::Storage => "storage",
            Category::Network => "network",
            Category::Misc => "other",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Location {
    pub lat: f64,
    pub lon: f64,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct Datacenter {
    pub name: String,
    pub location: Option<Location>,
    pub rooms: Vec<RoomSrc>,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct RoomSrc {
    pub name: String,
    pub rows: Vec<RowSrc>,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct RowSrc {
    pub name: String,
    pub racks: Vec<RackSrc>,
}

#[derive(Debug, Clone)]
pub(crate) struct RackSrc {
    pub name: String,
    /// Index of the rack in its row (RacksDB `slot`), which orders the row.
    pub slot: i64,
    /// Number of U (rack type `slots`).
    pub units: u32,
    /// Label of the lowest U (rack type `initial`), which equipment `slot`s count from.
    pub initial: i64,
}

impl RackSrc {
    /// The racks of a set (`names` expanded from one node set), in consecutive slots from
    /// `first`, all of one rack type.
    pub(crate) fn set(
        names: Vec<String>,
        first: i64,
        (units, initial): (u32, i64),
    ) -> Vec<RackSrc> {
        names
            .into_iter()
            .enumerate()
            .map(|(k, name)| RackSrc {
                name,
                slot: first.saturating_add(i64::try_from(k).unwrap_or(i64::MAX)),
                units,
                initial,
            })
            .collect()
    }
}

/// A datacenter's `location`, when it has both coordinates.
pub(crate) fn location(v: Option<&Value>) -> Option<Location> {
    let l = v?.as_object()?;
    Some(Location {
        lat: number(l.get("latitude"))?,
        lon: number(l.get("longitude"))?,
    })
}

/// An equipment type, reduced to what placement and templates need.
#[derive(Debug, Clone)]
pub struct EqType {
    pub id: String,
    pub model: Option<String>,
    /// In U, at least 1.
    pub height: u32,
    /// Fraction of the rack width, in (0, 1].
    pub width: f64,
}

/// A set of equipment as declared (`name: mecn[0001-0040]`, `slot: 1`), or a single item
/// of RacksDB's expanded output with its computed position.
#[derive(Debug, Clone)]
pub(crate) struct EqSet {
    pub names: Vec<String>,
    pub category: Category,
    pub type_id: String,
    pub rack: String,
    pub infrastructure: String,
    pub tags: Vec<String>,
    /// RacksDB `slot` of the first item of the set.
    pub first_slot: i64,
    /// RacksDB's own `position` of each item (0-based U offset, column), when the source
    /// carries it; otherwise computed by `build::place`.
    pub positions: Option<Vec<(i64, i64)>>,
}

#[derive(Debug)]
pub(crate) struct Source {
    pub datacenters: Vec<Datacenter>,
    pub types: BTreeMap<(Category, String), EqType>,
    pub sets: Vec<EqSet>,
    pub warnings: Vec<String>,
    /// How many more names node sets may expand to (see `nodeset::expand_within`).
    pub names_left: usize,
}

impl Default for Source {
    fn default() -> Self {
        Source {
            datacenters: Vec::new(),
            types: BTreeMap::new(),
            sets: Vec::new(),
            warnings: Vec::new(),
            names_left: crate::nodeset::MAX_TOTAL_NAMES,
        }
    }
}

/// A scalar as text: RacksDB names may be written as YAML numbers.
pub(crate) fn text(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

pub(crate) fn number(v: Option<&Value>) -> Option<f64> {
    match v? {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok(),
        _ => None,
    }
    .filter(|f| f.is_finite())
}

/// An integer, or a number with no fractional part.
pub(crate) fn integer(v: Option<&Value>) -> Option<i64> {
    match v? {
        Value::Number(n) => n.as_i64().or_else(|| {
            n.as_f64()
                .filter(|f| f.is_finite() && f.fract() == 0.0 && f.abs() < 9.0e15)
                .map(|f| f as i64)
        }),
        Value::String(s) => s.trim().parse::<i64>().ok(),
        _ => None,
    }
}

/// A height in U: `2u` in the database, `2` in the computed output. Fractional values
/// come back as they are for the caller to round.
pub(crate) fn units(v: Option<&Value>) -> Option<f64> {
    match v? {
        Value::String(s) => {
            let s = s.trim();
            let s = s
                .strip_suffix('u')
                .or_else(|| s.strip_suffix('U'))
                .unwrap_or(s);
            s.trim().parse::<f64>().ok()
        }
        other => number(Some(other)),
    }
    .filter(|f| f.is_finite())
}

/// A width as RacksDB parses it: `full`, `1/7`, `1`, or a number in the computed output.
/// The arithmetic is the one of RacksDB (`dividend / divisor` in floating point), so that
/// placement reproduces its rounding exactly.
pub(crate) fn width(v: Option<&Value>) -> Option<f64> {
    match v? {
        Value::String(s) => {
            let s = s.trim();
            if s == "full" {
                return Some(1.0);
            }
            match s.split_once('/') {
                Some((a, b)) => {
                    let a = a.trim().parse::<u64>().ok()? as f64;
                    let b = b.trim().parse::<u64>().ok()? as f64;
                    Some(a / b)
                }
                None => s.parse::<f64>().ok(),
            }
        }
        other => number(Some(other)),
    }
    .filter(|f| f.is_finite())
}

pub(crate) fn string_list(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::Array(items)) => items.iter().filter_map(|i| text(Some(i))).collect(),
        Some(other) => text(Some(other)).into_iter().collect(),
        None => Vec::new(),
    }
}

/// A RacksDB list of keyed objects, which may also be written as a mapping from the key
/// to the rest of the object (that is how a directory of files reads, too).
pub(crate) fn keyed_list(
    v: Option<&Value>,
    key: &str,
    what: &str,
) -> Result<Vec<Map<String, Value>>, String> {
    match v {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| match item {
                Value::Object(m) => Ok(m.clone()),
                _ => Err(format!(
                    "an item of {what} is not a mapping: {}",
                    short(item)
                )),
            })
            .collect(),
        Some(Value::Object(map)) => map
            .iter()
            .map(|(k, item)| {
                let mut m = match item {
                    Value::Object(m) => m.clone(),
                    Value::Null => Map::new(),
                    _ => return Err(format!("{what} `{k}` is not a mapping: {}", short(item))),
                };
                if !m.contains_key(key) {
                    m.insert(key.to_owned(), Value::String(k.clone()));
                }
                Ok(m)
            })
            .collect(),
        Some(other) => Err(format!(
            "{what} is neither a list nor a mapping: {}",
            short(other)
        )),
    }
}

pub(crate) use rackscope_importer_abi::options::short;

/// A type from its fields (`height`, `width`, `model`), with defaults and rounding named in
/// `warnings`. `default_width` is RacksDB's schema default (full for all but nodes).
pub(crate) fn eq_type(
    category: Category,
    id: &str,
    m: &Map<String, Value>,
    warnings: &mut Vec<String>,
) -> EqType {
    let what = format!("{} type `{id}`", category.key());
    let height = match units(m.get("height")) {
        Some(h) if h >= 1.0 => {
            if h.fract() != 0.0 {
                warnings.push(format!(
                    "{what}: height {h}U is not a whole number of units; rounded up to {}U",
                    h.ceil()
                ));
            }
            h.ceil().min(f64::from(u16::MAX)) as u32
        }
        Some(h) => {
            warnings.push(format!("{what}: height {h}U is less than 1U; drawn as 1U"));
            1
        }
        None => {
            warnings.push(format!("{what}: no valid height; 1U assumed"));
            1
        }
    };
    let width = match (m.get("width"), width(m.get("width"))) {
        (None, _) => {
            if category == Category::Nodes {
                warnings.push(format!("{what}: no width; full width assumed"));
            }
            1.0
        }
        // Narrower than 1/100 of a rack is a typo, and would draw a grid of that many columns.
        (Some(_), Some(w)) if (0.01..=1.0).contains(&w) => w,
        (Some(raw), _) => {
            warnings.push(format!(
                "{what}: width {} is not a fraction of the rack from 1/100 to 1; full width assumed",
                short(raw)
            ));
            1.0
        }
    };
    EqType {
        id: id.to_owned(),
        model: text(m.get("model")).filter(|s| !s.trim().is_empty()),
        height,
        width,
    }
}
