//! Turns Ansible hosts into Rackscope's hierarchy. BlueBanquise has no physical model, so
//! every location comes from configurable rules (a location dict, rack variables, rack
//! group names) and what they leave open is filled by defaults, each one warned about.
//!
//! The passes are its children: `rules` (what the rules say about each host), `place`
//! (hosts in racks) and `build` (templates and the tree).

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};

use rackscope_importer_abi::{
    Aisle, Device, Face, Ids, Inventory, Rack, Room, Site, Slots, Template, slug,
};
use serde_json::{Map, Value};

use crate::options::Options;
use crate::source::{Host, lookup, natural_cmp};

mod build;
mod place;
mod rules;

use build::build;
use place::place;
use rules::plan;

/// Keys understood in the location dict (`location_var`).
const LOCATION_KEYS: &[&str] = &[
    "site", "room", "aisle", "rack", "u", "height", "template", "face", "slot",
];

/// Template of hosts without a hardware group.
const GENERIC: &str = "\u{0}generic";

/// What the rules say about one host.
struct Plan {
    host: String,
    site: String,
    room: String,
    aisle: String,
    rack: Option<String>,
    u: Option<u32>,
    /// Set when a U was given for a host without a rack (it cannot be honoured).
    u_ignored: Option<u32>,
    height: u32,
    face: Face,
    slot: Option<u64>,
    template: String,
    labels: BTreeMap<&'static str, BTreeSet<String>>,
}

struct TemplateBase {
    name: String,
    kind: Option<String>,
    kind_conflict: bool,
    /// (height, instance count) of the devices using it.
    variants: BTreeSet<(u32, usize)>,
}

struct PlacedDevice {
    /// Hosts in slot order.
    hosts: Vec<String>,
    u: u32,
    height: u32,
    face: Face,
    template: String,
    labels: BTreeMap<&'static str, BTreeSet<String>>,
}

struct PlacedRack {
    site: String,
    room: String,
    aisle: String,
    name: String,
    /// Default racks sort after the named ones of their aisle.
    default: bool,
    devices: Vec<PlacedDevice>,
}

/// Builds the inventory from hosts in natural name order.
pub(crate) fn map(hosts: &[Host], o: &Options, warnings: &mut Vec<String>) -> Inventory {
    warnings.push(format!(
        "BlueBanquise has no physical location model: racks come from {}; U from {}; \
         hosts without a rack go to `{}`",
        rack_sources(o),
        if o.u_var.is_empty() {
            "stacking in name order".to_owned()
        } else {
            format!("{} or stacking in name order", o.u_var.join(", "))
        },
        o.default_rack
    ));
    let site = default_site(hosts, o, warnings);

    let mut bases: BTreeMap<String, TemplateBase> = BTreeMap::new();
    let mut plans = Vec::with_capacity(hosts.len());
    let mut default_room_used = false;
    for h in hosts {
        let p = plan(h, o, &site, &mut bases, warnings);
        default_room_used |= p.room == o.room || p.aisle == o.aisle;
        plans.push(p);
    }
    if default_room_used {
        warnings.push(format!(
            "room `{}` and aisle `{}` are defaults (options room, aisle) for hosts whose \
             location names none",
            o.room, o.aisle
        ));
    }

    let racks = place(plans, o, warnings);
    build(racks, bases, o, warnings)
}

fn rack_sources(o: &Options) -> String {
    let mut s: Vec<String> = o.location_var.iter().map(|v| format!("{v}.rack")).collect();
    s.extend(o.rack_var.iter().cloned());
    if let Some(r) = &o.rack_group_pattern {
        s.push(format!("groups matching `{}`", r.as_str()));
    }
    if s.is_empty() {
        "nowhere (all rack rules are off)".to_owned()
    } else {
        s.join(", ")
    }
}

fn default_site(hosts: &[Host], o: &Options, warnings: &mut Vec<String>) -> String {
    if let Some(s) = &o.site {
        return s.clone();
    }
    for var in ["cluster_name", "bb_domain_name"] {
        let found = hosts
            .iter()
            .find_map(|h| h.vars.get(var).and_then(scalar).map(|v| (h, v)));
        if let Some((h, v)) = found {
            warnings.push(format!(
                "site named `{v}` after the host variable {var} (of {}); set option `site` to \
                 choose another name",
                h.name
            ));
            return v;
        }
    }
    warnings.push(
        "no option `site` and no cluster_name or bb_domain_name variable: site named `cluster`"
            .to_owned(),
    );
    "cluster".to_owned()
}

/// A string or number as trimmed text; `None` for anything else or an empty string.
fn scalar(v: &Value) -> Option<String> {
    let s = match v {
        Value::String(s) => s.trim().to_owned(),
        Value::Number(n) => n.to_string(),
        _ => return None,
    };
    (!s.is_empty()).then_some(s)
}

/// A rack value as a rack name: a bare number gets the prefix (1 -> rack1).
fn rack_name(v: &Value, o: &Options) -> Option<String> {
    let s = scalar(v)?;
    if s.bytes().all(|b| b.is_ascii_digit()) {
        Some(format!("{}{s}", o.rack_prefix))
    } else {
        Some(s)
    }
}

enum Units {
    Whole(u64),
    Fraction(f64),
    Bad,
}

fn units(v: &Value) -> Units {
    let f = match v {
        Value::Number(n) => {
            if let Some(i) = n.as_u64() {
                return if i >= 1 { Units::Whole(i) } else { Units::Bad };
            }
            n.as_f64()
        }
        Value::String(s) => {
            let s = s.trim();
            if let Ok(i) = s.parse::<u64>() {
                return if i >= 1 { Units::Whole(i) } else { Units::Bad };
            }
            s.parse::<f64>().ok()
        }
        _ => None,
    };
    match f {
        Some(f) if f.is_finite() && f >= 1.0 && f <= f64::from(u32::MAX) => Units::Fraction(f),
        _ => Units::Bad,
    }
}

fn clamp_u32(n: u64) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// A template as the warnings name it.
fn shown(template: &str) -> &str {
    if template == GENERIC {
        "generic"
    } else {
        template
    }
}
