//! The pure mapping from NetBox's REST objects to Rackscope's inventory: no network, no
//! files, and no panic on any input (it is a fuzz target).
//!
//! This module reads NetBox values and records; the passes are its children: `index`,
//! `layout` (racks in sites, rooms and aisles), `devices`, then `assemble`.

use std::collections::{BTreeMap, BTreeSet};

use rackscope_importer_abi::{
    Aisle, Device, Face, Ids, Inventory, Location, NaturalKey, Rack, Records, Room, Site, Slots,
    Template, natural_key, slug,
};
use serde_json::Value;

use crate::fetch::Lists;
use crate::options::{AisleFrom, InstanceName, Options, RoomDepth};

mod assemble;
mod devices;
mod index;
mod layout;

use assemble::{assemble, templates};
use devices::{DevicePass, split_bays};
use index::Index;
use layout::Layout;

/// Deeper location trees than this are treated as broken (a parent cycle).
const MAX_DEPTH: usize = 64;
/// NetBox racks are at most 100U; anything far beyond is garbage.
const MAX_RACK_U: u32 = 1000;

// ---------------------------------------------------------------------------------------
// Reading NetBox values leniently: REST gives numbers and `{value, label}` enums, GraphQL
// gives strings; either is accepted.

fn as_int(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn id_of(v: &Value) -> Option<i64> {
    v.get("id").and_then(as_int)
}

/// The id of a related object: nested brief object `{id, ...}` or a bare id.
fn ref_id(v: &Value, key: &str) -> Option<i64> {
    match v.get(key)? {
        o @ Value::Object(_) => id_of(o),
        other => as_int(other),
    }
}

fn text<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// An enum field: REST `{"value": "front", "label": "Front"}`, or a plain string.
fn choice(v: &Value, key: &str) -> Option<String> {
    let x = v.get(key)?;
    let s = match x {
        Value::Object(_) => x.get("value").and_then(Value::as_str)?,
        Value::String(s) => s.as_str(),
        _ => return None,
    };
    let s = s.trim().to_ascii_lowercase();
    (!s.is_empty()).then_some(s)
}

fn as_f64(v: &Value) -> Option<f64> {
    let f = match v {
        Value::Number(n) => n.as_f64()?,
        Value::String(s) => s.trim().parse().ok()?,
        _ => return None,
    };
    f.is_finite().then_some(f)
}

/// A height or position in half units (NetBox allows steps of 0.5U).
fn half_units(v: &Value) -> Option<i64> {
    let f = as_f64(v)?;
    if !(-100_000.0..=100_000.0).contains(&f) {
        return None;
    }
    Some((f * 2.0).round() as i64)
}

fn show_half(h2: i64) -> String {
    if h2 % 2 == 0 {
        format!("{}", h2 / 2)
    } else {
        format!("{}.5", h2.div_euclid(2))
    }
}

/// Sort key of a named thing: the default one last, then natural name order, then id.
type SortKey = (bool, NaturalKey, i64);

fn key(name: &str, id: i64) -> SortKey {
    (false, natural_key(name), id)
}

fn default_key() -> SortKey {
    (true, NaturalKey::default(), 0)
}

/// An id unique within its kind: `wanted`, else suffixed with the NetBox id, else counted.
fn take(ids: &mut Ids, wanted: String, nb_id: Option<i64>) -> String {
    // Slugged again: a negative id would otherwise leave `--` in it.
    let with_id = nb_id.map(|id| slug(&format!("{wanted}-{id}")));
    let base = wanted.clone();
    ids.claim(std::iter::once(wanted).chain(with_id), &base)
}

// ---------------------------------------------------------------------------------------

struct SiteRec {
    name: String,
    slug: String,
    description: Option<String>,
    location: Option<Location>,
}

struct LocRec {
    name: String,
    slug: String,
    parent: Option<i64>,
    description: Option<String>,
}

struct GroupRec {
    name: String,
    slug: String,
}

struct TypeRec {
    slug: String,
    manufacturer_slug: String,
    name: String,
    /// Height in half units; `None` when NetBox did not say.
    u2: Option<i64>,
    full_depth: bool,
    bays: u32,
}

struct RackRec {
    nb_id: i64,
    id: String,
    name: String,
    u_height: u32,
    starting_unit: i64,
    desc_units: bool,
}

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum RoomKey {
    Location(i64),
    Default,
}

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum AisleKey {
    Group(i64),
    Location(i64),
    Default,
}

fn site_rec(v: &Value) -> SiteRec {
    let name = text(v, "name").unwrap_or("unnamed site").to_owned();
    let slug_ = text(v, "slug").map_or_else(|| slug(&name), slug);
    let location = match (
        v.get("latitude").and_then(as_f64),
        v.get("longitude").and_then(as_f64),
    ) {
        (Some(lat), Some(lon)) => Some(Location {
            lat,
            lon,
            address: text(v, "physical_address").map(|a| {
                a.lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty())
                    .collect::<Vec<_>>()
                    .join(", ")
            }),
        }),
        _ => None,
    };
    SiteRec {
        name,
        slug: slug_,
        description: text(v, "description").map(str::to_owned),
        location,
    }
}

fn type_rec(v: &Value) -> TypeRec {
    let model = text(v, "model")
        .or_else(|| text(v, "display"))
        .unwrap_or("unknown model");
    let manufacturer = v.get("manufacturer").unwrap_or(&Value::Null);
    let m_name = text(manufacturer, "name").unwrap_or("");
    TypeRec {
        slug: text(v, "slug").map_or_else(|| slug(model), slug),
        manufacturer_slug: text(manufacturer, "slug").map_or_else(|| slug(m_name), slug),
        name: if m_name.is_empty() {
            model.to_owned()
        } else {
            format!("{m_name} {model}")
        },
        u2: v.get("u_height").and_then(half_units),
        full_depth: v
            .get("is_full_depth")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        bays: v
            .get("device_bay_template_count")
            .and_then(as_int)
            .and_then(|n| u32::try_from(n).ok())
            .unwrap_or(0)
            .min(10_000),
    }
}

/// The template type Rackscope draws for a device role (slug and name matched by keyword).
fn kind_of_role(role: &str) -> String {
    let r = role.to_ascii_lowercase();
    let has = |words: &[&str]| words.iter().any(|w| r.contains(w));
    if has(&["pdu", "power", "ups"]) {
        "pdu".into()
    } else if has(&["storage", "san", "nas", "disk", "jbod"]) {
        "storage".into()
    } else if has(&[
        "switch", "router", "firewall", "network", "gateway", "balancer", "spine", "leaf", "tor",
        "wan", "wifi", "wireless",
    ]) {
        "network".into()
    } else if r.is_empty()
        || has(&[
            "server",
            "compute",
            "node",
            "host",
            "hypervisor",
            "gpu",
            "hpc",
        ])
    {
        "server".into()
    } else {
        slug(&r)
    }
}

/// Grid of a chassis with `n` node slots: two columns, as most 2U4N and blade chassis.
fn slots_for(n: usize) -> Slots {
    let n = u32::try_from(n).unwrap_or(u32::MAX).max(1);
    if n == 1 {
        Slots { rows: 1, cols: 1 }
    } else {
        Slots {
            rows: n.div_ceil(2),
            cols: 2,
        }
    }
}

/// The primary IP object of a device: `primary_ip`, else the v4 one, else the v6 one.
fn primary_ip(d: &Value) -> Option<&Value> {
    ["primary_ip", "primary_ip4", "primary_ip6"]
        .iter()
        .filter_map(|k| d.get(*k))
        .find(|v| v.is_object())
}

/// The instance name of a device, and what was missing when there is none.
fn instance_of(d: &Value, mode: &InstanceName, port: Option<u16>) -> Result<String, String> {
    let host = match mode {
        InstanceName::Name => text(d, "name")
            .map(str::to_owned)
            .ok_or_else(|| "no name".to_owned())?,
        InstanceName::DnsName => primary_ip(d)
            .and_then(|ip| text(ip, "dns_name"))
            .map(str::to_owned)
            .ok_or_else(|| "no DNS name on its primary IP".to_owned())?,
        InstanceName::PrimaryIp => primary_ip(d)
            .and_then(|ip| text(ip, "address"))
            .map(|a| a.split('/').next().unwrap_or(a).to_owned())
            .filter(|a| !a.is_empty())
            .ok_or_else(|| "no primary IP".to_owned())?,
        InstanceName::CustomField(f) => {
            match d.get("custom_fields").and_then(|c| c.get(f.as_str())) {
                Some(Value::String(s)) if !s.trim().is_empty() => s.trim().to_owned(),
                Some(Value::Number(n)) => n.to_string(),
                _ => return Err(format!("no custom field `{f}`")),
            }
        }
    };
    Ok(match port {
        // An IPv6 literal needs brackets before a port.
        Some(p) if host.contains(':') => format!("[{host}]:{p}"),
        Some(p) => format!("{host}:{p}"),
        None => host,
    })
}

/// The name shown for a device: NetBox's name, else its display (`vc:position` for stack
/// members, `Manufacturer model (id)` otherwise).
fn device_name(d: &Value, nb_id: i64) -> String {
    text(d, "name")
        .or_else(|| text(d, "display"))
        .map_or_else(|| format!("device {nb_id}"), str::to_owned)
}

/// The location chain of a rack, top-level first; `Err` names a broken tree.
fn chain(locations: &BTreeMap<i64, LocRec>, start: i64) -> Result<Vec<i64>, String> {
    let mut out = vec![start];
    let mut cur = start;
    while let Some(parent) = locations.get(&cur).and_then(|l| l.parent) {
        if out.contains(&parent) || out.len() > MAX_DEPTH {
            return Err(format!("location {start} has a parent cycle"));
        }
        out.push(parent);
        cur = parent;
    }
    out.reverse();
    Ok(out)
}

struct Placed {
    sort: (i64, i64, i64),
    device: Device,
}

/// Maps already fetched NetBox lists to an inventory, in passes: index the lists, lay the
/// racks out in sites, rooms and aisles, place the devices, then build the templates in use
/// and assemble the tree. Warnings keep the order of the passes.
pub fn map(lists: &Lists, options: &Options) -> Result<Inventory, String> {
    let mut warnings: Vec<String> = lists.warnings.clone();
    let index = Index::new(lists, &mut warnings);
    let mut layout = Layout::new(lists, &index, options, &mut warnings);
    let (top, children) = split_bays(lists, &mut warnings);
    let read = top.len() as u64;
    let mut devices = DevicePass::new(&index, &layout, options, &top);
    for &(nb_id, d) in &top {
        devices.place(nb_id, d, &children, &mut warnings);
    }
    let placed_count = devices.placed.values().map(|v| v.len() as u64).sum::<u64>();
    for (parent, kids) in &children {
        if !devices.placed_parents.contains(parent) {
            for (_, child_id, c) in kids {
                warnings.push(format!(
                    "device {} is in a bay of device {parent}, which is not imported: skipped",
                    device_name(c, *child_id)
                ));
            }
        }
    }
    let templates = templates(&index, &devices.used_types);
    let mut placed = devices.placed;
    let sites = assemble(&index, &mut layout, &mut placed, &mut warnings);
    Ok(Inventory {
        records: Some(Records {
            read,
            skipped: read.saturating_sub(placed_count),
        }),
        source: if options.url.is_empty() {
            "netbox".into()
        } else {
            format!("netbox {}", options.url)
        },
        sites,
        templates,
        warnings,
    })
}

/// Parses `{"sites": [...], "racks": [...], ...}` (each list also accepted as a NetBox page
/// `{"results": [...]}`) and maps it with default options: the fuzzing and offline entry.
pub fn from_json(bytes: &[u8]) -> Result<Inventory, String> {
    let v: Value =
        serde_json::from_slice(bytes).map_err(|e| format!("the input is not JSON: {e}"))?;
    let Value::Object(obj) = v else {
        return Err("the input must be a JSON object of endpoint lists".into());
    };
    let mut lists = Lists::default();
    for (k, v) in obj {
        let items = match v {
            Value::Array(a) => a,
            Value::Object(mut o) => match o.remove("results") {
                Some(Value::Array(a)) => a,
                _ => return Err(format!("`{k}` must be a list or a page with `results`")),
            },
            Value::Null => Vec::new(),
            _ => return Err(format!("`{k}` must be a list or a page with `results`")),
        };
        let slot = match k.as_str() {
            "sites" => &mut lists.sites,
            "locations" => &mut lists.locations,
            "rack_groups" | "rack-groups" => &mut lists.rack_groups,
            "racks" => &mut lists.racks,
            "device_types" | "device-types" => &mut lists.device_types,
            "devices" => &mut lists.devices,
            other => {
                return Err(format!(
                    "unknown list `{other}`; expected sites, locations, rack_groups, racks, device_types, devices"
                ));
            }
        };
        *slot = items;
    }
    map(&lists, &Options::default())
}
