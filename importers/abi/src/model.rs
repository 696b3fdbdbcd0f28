//! The JSON an importer returns: the physical hierarchy and device templates, in the terms of
//! Rackscope's configuration, which the host writes out as segmented YAML.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

/// `describe`: who the importer is and what configuration it takes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Describe {
    pub name: String,
    pub version: String,
    pub description: String,
    #[serde(default)]
    pub options: Vec<OptionSpec>,
}

/// One configuration key; the host turns `--set key=value` and the config file into the
/// JSON object, and lists these in `rackscope import <name> --help-options`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OptionSpec {
    pub name: String,
    pub help: String,
    #[serde(default)]
    pub required: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
}

/// A progress report, sent while the importer works.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Progress {
    pub message: String,
    pub done: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total: Option<u64>,
}

/// What `run` returns. Order is meaningful and kept: racks in an aisle are written in the
/// order given, so an importer lists them in their physical order.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Inventory {
    /// A short description of the source (kind and address), written into file headers.
    pub source: String,
    pub sites: Vec<Site>,
    /// Device templates referenced by devices.
    #[serde(default)]
    pub templates: Vec<Template>,
    /// Things the user should know: defaults applied, items skipped, values rounded.
    #[serde(default)]
    pub warnings: Vec<String>,
    /// How many device records the source returned and how many were skipped as unusable,
    /// when the importer knows. The host refuses an import in which every record was
    /// skipped: such a source described nothing readable, not an empty data centre.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub records: Option<Records>,
}

/// Device records read from the source, and those skipped (each with its warning).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Records {
    pub read: u64,
    pub skipped: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Site {
    pub id: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
    pub rooms: Vec<Room>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Location {
    pub lat: f64,
    pub lon: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Room {
    pub id: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub aisles: Vec<Aisle>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Aisle {
    pub id: String,
    pub name: String,
    pub racks: Vec<Rack>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rack {
    pub id: String,
    pub name: String,
    pub u_height: u32,
    pub devices: Vec<Device>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Device {
    pub id: String,
    pub name: String,
    pub template_id: String,
    /// Lowest U the device occupies, counted from the bottom of the rack, starting at 1.
    pub u_position: u32,
    #[serde(default)]
    pub face: Face,
    /// The Prometheus identities of the device, in slot order (slot 1 first). One name for
    /// a plain server; a chassis lists its nodes.
    #[serde(default)]
    pub instances: Vec<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Face {
    #[default]
    Front,
    Rear,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Template {
    pub id: String,
    pub name: String,
    /// `server`, `storage`, `network`, `pdu`, or any other type Rackscope draws generically.
    #[serde(rename = "type")]
    pub kind: String,
    pub u_height: u32,
    /// Node slots of a multi-node chassis, drawn as a grid of `rows` × `cols`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slots: Option<Slots>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Slots {
    pub rows: u32,
    pub cols: u32,
}

impl Inventory {
    /// Every rack, site by site, in the inventory's order.
    pub fn racks(&self) -> impl Iterator<Item = &Rack> {
        self.sites
            .iter()
            .flat_map(|s| &s.rooms)
            .flat_map(|r| &r.aisles)
            .flat_map(|a| &a.racks)
    }

    /// Every device, rack by rack, in the inventory's order.
    pub fn devices(&self) -> impl Iterator<Item = &Device> {
        self.racks().flat_map(|r| &r.devices)
    }

    /// (sites, racks, devices, instances): what tests compare with the source's own counts.
    pub fn counts(&self) -> (usize, usize, usize, usize) {
        let instances = self.devices().map(|d| d.instances.len()).sum();
        (
            self.sites.len(),
            self.racks().count(),
            self.devices().count(),
            instances,
        )
    }
}

/// An identifier safe in Rackscope's configuration and as a file name: lower case ASCII
/// letters, digits, `-`, `_` and `.`; anything else becomes `-`, and runs of `-` collapse.
pub fn slug(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.trim().chars() {
        let c = c.to_ascii_lowercase();
        let c = if c.is_ascii_alphanumeric() || c == '_' || c == '.' {
            c
        } else {
            '-'
        };
        if c == '-' && (out.is_empty() || out.ends_with('-')) {
            continue;
        }
        out.push(c);
    }
    while out.ends_with('-') || out.ends_with('.') {
        out.pop();
    }
    // A leading dot would hide the file it names.
    let out = out.trim_start_matches(['.', '-']).to_owned();
    if out.is_empty() {
        "unnamed".into()
    } else {
        out
    }
}

/// Hands out ids unique within one kind (racks, devices, templates…), as the model needs.
#[derive(Debug, Default)]
pub struct Ids(BTreeSet<String>);

impl Ids {
    pub fn contains(&self, id: &str) -> bool {
        self.0.contains(id)
    }

    /// The first of `candidates` not handed out yet, else `base-2`, `base-3`, …
    pub fn claim(&mut self, candidates: impl IntoIterator<Item = String>, base: &str) -> String {
        for c in candidates {
            if self.0.insert(c.clone()) {
                return c;
            }
        }
        let mut n = 2u64;
        loop {
            let c = format!("{base}-{n}");
            if self.0.insert(c.clone()) {
                return c;
            }
            n += 1;
        }
    }
}

/// Natural order, the order people read names in: `R2` before `R10`, case ignored.
/// Importers sort by it where the source has no physical order (racks, rooms, bays, hosts).
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct NaturalKey(Vec<Chunk>);

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Chunk {
    /// Digits without leading zeros, compared by length then text: no overflow.
    Num(usize, String),
    Text(String),
}

pub fn natural_key(s: &str) -> NaturalKey {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut digits = false;
    let flush = |cur: &mut String, digits: bool, out: &mut Vec<Chunk>| {
        if cur.is_empty() {
            return;
        }
        if digits {
            let n = cur.trim_start_matches('0').to_owned();
            out.push(Chunk::Num(n.len(), n));
        } else {
            out.push(Chunk::Text(cur.to_lowercase()));
        }
        cur.clear();
    };
    for c in s.chars() {
        let d = c.is_ascii_digit();
        if d != digits {
            flush(&mut cur, digits, &mut out);
            digits = d;
        }
        cur.push(c);
    }
    flush(&mut cur, digits, &mut out);
    NaturalKey(out)
}

/// Natural order of two names; names equal in it (`c02`, `c2`) fall back to plain order,
/// so sorting stays deterministic.
pub fn natural_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    natural_key(a).cmp(&natural_key(b)).then_with(|| a.cmp(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_take_the_first_free_candidate_then_count() {
        let mut ids = Ids::default();
        assert_eq!(ids.claim(["a".to_owned()], "a"), "a");
        assert_eq!(ids.claim(["a".to_owned(), "r-a".to_owned()], "r-a"), "r-a");
        assert_eq!(
            ids.claim(["a".to_owned(), "r-a".to_owned()], "r-a"),
            "r-a-2"
        );
        assert_eq!(ids.claim(["a".to_owned()], "a"), "a-2");
    }

    #[test]
    fn natural_order_reads_numbers_as_numbers() {
        let mut v = vec![
            "c10",
            "c2",
            "C3",
            "c1",
            "b",
            "c02",
            "c",
            "c99999999999999999999999",
        ];
        v.sort_by(|a, b| natural_cmp(a, b));
        assert_eq!(
            v,
            [
                "b",
                "c",
                "c1",
                "c02",
                "c2",
                "C3",
                "c10",
                "c99999999999999999999999"
            ]
        );
    }

    #[test]
    fn slug_keeps_safe_characters_and_folds_the_rest() {
        assert_eq!(slug("DM-Akron"), "dm-akron");
        assert_eq!(slug(" Row 1 hot aisle "), "row-1-hot-aisle");
        assert_eq!(slug("R1-A01/../x"), "r1-a01-..-x");
        assert_eq!(slug("..."), "unnamed");
        assert_eq!(slug(".hidden"), "hidden");
        assert_eq!(slug("compute001.example"), "compute001.example");
    }
}
