//! The pure mapping from NetBox's REST objects to Rackscope's inventory: no network, no
//! files, and no panic on any input (it is a fuzz target).

use std::collections::{BTreeMap, BTreeSet};

use rackscope_importer_abi::{
    Aisle, Device, Face, Ids, Inventory, Location, NaturalKey, Rack, Records, Room, Site, Slots,
    Template, natural_key, slug,
};
use serde_json::Value;

use crate::fetch::Lists;
use crate::options::{AisleFrom, InstanceName, Options, RoomDepth};

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
    let with_id = nb_id.map(|id| format!("{wanted}-{id}"));
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

/// Maps already fetched NetBox lists to an inventory.
pub fn map(lists: &Lists, options: &Options) -> Result<Inventory, String> {
    let mut warnings: Vec<String> = lists.warnings.clone();
    let mut warn = |s: String| warnings.push(s);

    // Sites, locations, groups, device types, indexed by NetBox id.
    let mut sites = BTreeMap::new();
    for v in &lists.sites {
        match id_of(v) {
            Some(id) => {
                sites.insert(id, site_rec(v));
            }
            None => warn("a site without an id was skipped".into()),
        }
    }
    let mut locations = BTreeMap::new();
    for v in &lists.locations {
        if let Some(id) = id_of(v) {
            let name = text(v, "name").unwrap_or("unnamed location").to_owned();
            locations.insert(
                id,
                LocRec {
                    slug: text(v, "slug").map_or_else(|| slug(&name), slug),
                    name,
                    parent: ref_id(v, "parent"),
                    description: text(v, "description").map(str::to_owned),
                },
            );
        }
    }
    let mut groups = BTreeMap::new();
    for v in &lists.rack_groups {
        if let Some(id) = id_of(v) {
            let name = text(v, "name").unwrap_or("unnamed rack group").to_owned();
            groups.insert(
                id,
                GroupRec {
                    slug: text(v, "slug").map_or_else(|| slug(&name), slug),
                    name,
                },
            );
        }
    }
    let mut types = BTreeMap::new();
    for v in &lists.device_types {
        if let Some(id) = id_of(v) {
            types.insert(id, type_rec(v));
        }
    }
    // A device whose type is missing from the list still gets a template, from the brief
    // type nested in the device (which carries no height).
    for d in &lists.devices {
        if let Some(t) = d.get("device_type").filter(|t| t.is_object())
            && let Some(id) = id_of(t)
            && !types.contains_key(&id)
        {
            let mut rec = type_rec(t);
            rec.u2 = None;
            types.insert(id, rec);
        }
    }
    // Template ids: the type slug, or manufacturer-slug when two manufacturers share it.
    let mut slug_count: BTreeMap<&str, usize> = BTreeMap::new();
    for t in types.values() {
        *slug_count.entry(t.slug.as_str()).or_default() += 1;
    }
    let mut template_ids = Ids::default();
    let mut type_template: BTreeMap<i64, String> = BTreeMap::new();
    for (id, t) in &types {
        let wanted = if slug_count.get(t.slug.as_str()).copied().unwrap_or(0) > 1 {
            slug(&format!("{}-{}", t.manufacturer_slug, t.slug))
        } else {
            slug(&t.slug)
        };
        type_template.insert(*id, take(&mut template_ids, wanted, Some(*id)));
    }

    // Racks: where each goes (site, room, aisle), in NetBox id order so ids are stable.
    let mut rack_values: Vec<(i64, &Value)> = Vec::new();
    for v in &lists.racks {
        match id_of(v) {
            Some(id) => rack_values.push((id, v)),
            None => warn("a rack without an id was skipped".into()),
        }
    }
    rack_values.sort_by_key(|(id, _)| *id);
    let mut rack_ids = Ids::default();
    let mut room_ids = Ids::default();
    let mut aisle_ids = Ids::default();
    let mut racks: BTreeMap<i64, RackRec> = BTreeMap::new();
    // site id -> room sort key -> (room, aisle sort key -> (aisle, rack sort key -> rack id))
    type Aisles = BTreeMap<SortKey, (Aisle, BTreeMap<SortKey, i64>)>;
    let mut tree: BTreeMap<i64, BTreeMap<SortKey, (Room, Aisles)>> = BTreeMap::new();
    let mut room_keys: BTreeMap<(i64, RoomKey), SortKey> = BTreeMap::new();
    let mut aisle_keys: BTreeMap<(i64, RoomKey, AisleKey), SortKey> = BTreeMap::new();
    let mut defaulted_rooms: BTreeMap<i64, Vec<String>> = BTreeMap::new();
    let mut defaulted_aisles: BTreeMap<(i64, RoomKey), Vec<String>> = BTreeMap::new();
    for (nb_id, v) in rack_values {
        let name = text(v, "name")
            .or_else(|| text(v, "facility_id"))
            .map_or_else(|| format!("rack {nb_id}"), str::to_owned);
        let Some(site_id) = ref_id(v, "site") else {
            warn(format!("rack {name} has no site: skipped"));
            continue;
        };
        let Some(site) = sites.get(&site_id) else {
            warn(format!(
                "rack {name}: its site ({site_id}) is not among the imported sites: skipped"
            ));
            continue;
        };
        let u_height = match v.get("u_height").and_then(as_f64) {
            Some(u) if u >= 1.0 && u <= f64::from(MAX_RACK_U) => u.ceil() as u32,
            _ => {
                warn(format!(
                    "rack {name} in site {}: no valid u_height: skipped",
                    site.name
                ));
                continue;
            }
        };
        let starting_unit = match v.get("starting_unit").map(as_int) {
            None | Some(None) => 1,
            Some(Some(s)) if (-100_000..=100_000).contains(&s) => s,
            Some(Some(s)) => {
                warn(format!(
                    "rack {name}: starting unit {s} is out of range: 1 assumed"
                ));
                1
            }
        };
        let desc_units = v
            .get("desc_units")
            .and_then(Value::as_bool)
            .unwrap_or(false);

        let loc_chain = match ref_id(v, "location") {
            Some(l) => match chain(&locations, l) {
                Ok(c) => c,
                Err(e) => {
                    warn(format!("rack {name}: {e}: placed as if it had no location"));
                    Vec::new()
                }
            },
            None => Vec::new(),
        };
        let room_key = match options.room_location_depth {
            RoomDepth::None => RoomKey::Default,
            RoomDepth::Depth(n) => match loc_chain.get(n).or(loc_chain.last()) {
                Some(l) => {
                    if loc_chain.len() <= n {
                        warn(format!(
                            "rack {name}: its location is shallower than room_location_depth {n}: its deepest location is its room"
                        ));
                    }
                    RoomKey::Location(*l)
                }
                None => RoomKey::Default,
            },
        };
        let aisle_loc_depth = match options.room_location_depth {
            RoomDepth::None => 0,
            RoomDepth::Depth(n) => n + 1,
        };
        let group = ref_id(v, "group").filter(|g| groups.contains_key(g));
        let aisle_loc = loc_chain.get(aisle_loc_depth).copied();
        let aisle_key = match options.aisle_from {
            AisleFrom::Auto => group
                .map(AisleKey::Group)
                .or(aisle_loc.map(AisleKey::Location)),
            AisleFrom::RackGroup => group.map(AisleKey::Group),
            AisleFrom::Location => aisle_loc.map(AisleKey::Location),
            AisleFrom::None => None,
        }
        .unwrap_or(AisleKey::Default);

        let id = take(
            &mut rack_ids,
            slug(&format!("{}-{name}", site.slug)),
            Some(nb_id),
        );
        let rooms = tree.entry(site_id).or_default();
        let room_sort = match room_keys.get(&(site_id, room_key)) {
            Some(k) => k.clone(),
            None => {
                let (k, room) = match room_key {
                    RoomKey::Location(l) => {
                        let loc = locations.get(&l);
                        let lname = loc.map_or_else(|| format!("location {l}"), |x| x.name.clone());
                        let lslug = loc.map_or_else(|| slug(&lname), |x| x.slug.clone());
                        (
                            key(&lname, l),
                            Room {
                                id: take(
                                    &mut room_ids,
                                    slug(&format!("{}-{lslug}", site.slug)),
                                    Some(l),
                                ),
                                name: lname,
                                description: loc.and_then(|x| x.description.clone()),
                                aisles: Vec::new(),
                            },
                        )
                    }
                    RoomKey::Default => (
                        default_key(),
                        Room {
                            id: take(&mut room_ids, slug(&format!("{}-default", site.slug)), None),
                            name: "default".into(),
                            description: None,
                            aisles: Vec::new(),
                        },
                    ),
                };
                rooms.insert(k.clone(), (room, BTreeMap::new()));
                room_keys.insert((site_id, room_key), k.clone());
                k
            }
        };
        let Some((room, aisles)) = rooms.get_mut(&room_sort) else {
            continue;
        };
        if room_key == RoomKey::Default && options.room_location_depth != RoomDepth::None {
            defaulted_rooms
                .entry(site_id)
                .or_default()
                .push(name.clone());
        }
        let aisle_sort = match aisle_keys.get(&(site_id, room_key, aisle_key)) {
            Some(k) => k.clone(),
            None => {
                let (k, aname, aslug, nb) = match aisle_key {
                    AisleKey::Group(g) => {
                        let gr = groups.get(&g);
                        let n = gr.map_or_else(|| format!("rack group {g}"), |x| x.name.clone());
                        let s = gr.map_or_else(|| slug(&n), |x| x.slug.clone());
                        (key(&n, g), n, s, Some(g))
                    }
                    AisleKey::Location(l) => {
                        let loc = locations.get(&l);
                        let n = loc.map_or_else(|| format!("location {l}"), |x| x.name.clone());
                        let s = loc.map_or_else(|| slug(&n), |x| x.slug.clone());
                        (key(&n, l), n, s, Some(l))
                    }
                    AisleKey::Default => (
                        default_key(),
                        "default".to_owned(),
                        "default".to_owned(),
                        None,
                    ),
                };
                aisles.insert(
                    k.clone(),
                    (
                        Aisle {
                            id: take(&mut aisle_ids, slug(&format!("{}-{aslug}", room.id)), nb),
                            name: aname,
                            racks: Vec::new(),
                        },
                        BTreeMap::new(),
                    ),
                );
                aisle_keys.insert((site_id, room_key, aisle_key), k.clone());
                k
            }
        };
        // A rack in the default room is in its default aisle too: one warning says both.
        if aisle_key == AisleKey::Default
            && (room_key != RoomKey::Default || options.room_location_depth == RoomDepth::None)
        {
            defaulted_aisles
                .entry((site_id, room_key))
                .or_default()
                .push(name.clone());
        }
        if let Some((_, members)) = aisles.get_mut(&aisle_sort) {
            members.insert(key(&name, nb_id), nb_id);
        }
        racks.insert(
            nb_id,
            RackRec {
                nb_id,
                id,
                name,
                u_height,
                starting_unit,
                desc_units,
            },
        );
    }
    for (site_id, names) in &defaulted_rooms {
        let site = sites.get(site_id).map_or("?", |s| s.name.as_str());
        warn(format!(
            "site {site}: {} rack(s) without a location put in room `default`, aisle `default`: {}",
            names.len(),
            names.join(", ")
        ));
    }
    if options.aisle_from != AisleFrom::None {
        for ((site_id, room_key), names) in &defaulted_aisles {
            let site = sites.get(site_id).map_or("?", |s| s.name.as_str());
            let room = match room_key {
                RoomKey::Location(l) => locations.get(l).map_or("?", |x| x.name.as_str()),
                RoomKey::Default => "default",
            };
            warn(format!(
                "site {site}, room {room}: {} rack(s) without a rack group or aisle location put in aisle `default`: {}",
                names.len(),
                names.join(", ")
            ));
        }
    }

    // Instance names are Prometheus identities and must be unique; NetBox only makes
    // names unique per site. instance -> the device that claimed it first.
    let mut claimed: BTreeMap<String, String> = BTreeMap::new();

    // Devices. Children in bays become their parent's instances.
    // parent id -> (bay sort key, child id, child)
    type Bays<'a> = Vec<(NaturalKey, i64, &'a Value)>;
    let mut children: BTreeMap<i64, Bays<'_>> = BTreeMap::new();
    let mut top: Vec<(i64, &Value)> = Vec::new();
    for d in &lists.devices {
        let Some(nb_id) = id_of(d) else {
            warn("a device without an id was skipped".into());
            continue;
        };
        match ref_id(d, "parent_device") {
            Some(parent) => {
                let bay = d
                    .get("parent_device")
                    .and_then(|p| p.get("device_bay"))
                    .and_then(|b| text(b, "name"))
                    .unwrap_or("");
                children
                    .entry(parent)
                    .or_default()
                    .push((natural_key(bay), nb_id, d));
            }
            None => top.push((nb_id, d)),
        }
    }
    for list in children.values_mut() {
        list.sort_by(|a, b| (&a.0, a.1).cmp(&(&b.0, b.1)));
    }
    // A device's id is its name when that is unique, else prefixed with its rack id.
    let mut name_count: BTreeMap<String, usize> = BTreeMap::new();
    for (nb_id, d) in &top {
        *name_count.entry(slug(&device_name(d, *nb_id))).or_default() += 1;
    }
    let mut device_ids = Ids::default();
    let mut placed: BTreeMap<i64, Vec<Placed>> = BTreeMap::new();
    let mut occupied: BTreeMap<(i64, u8, u32), String> = BTreeMap::new();
    let mut placed_parents: BTreeSet<i64> = BTreeSet::new();
    // type id -> (role kinds seen, largest child count)
    let mut used_types: BTreeMap<i64, (BTreeMap<String, usize>, usize)> = BTreeMap::new();
    let read = top.len() as u64;
    for (nb_id, d) in top {
        let name = device_name(d, nb_id);
        let Some(rack_nb) = ref_id(d, "rack") else {
            warn(format!("device {name} is not in a rack: skipped"));
            continue;
        };
        let Some(rack) = racks.get(&rack_nb) else {
            warn(format!(
                "device {name}: its rack ({rack_nb}) is not among the imported racks: skipped"
            ));
            continue;
        };
        let Some(p2) = d.get("position").and_then(half_units) else {
            warn(format!(
                "device {name} in rack {} has no position (0U or not mounted): skipped",
                rack.name
            ));
            continue;
        };
        let face = match choice(d, "face").as_deref() {
            Some("rear") => Face::Rear,
            Some("front") => Face::Front,
            _ => {
                warn(format!("device {name}: no face in NetBox: front assumed"));
                Face::Front
            }
        };
        let type_id = ref_id(d, "device_type");
        let (Some(type_id), Some(template_id)) =
            (type_id, type_id.and_then(|t| type_template.get(&t)))
        else {
            warn(format!("device {name} has no device type: skipped"));
            continue;
        };
        let t = types.get(&type_id);
        let type_name = t.map_or("?", |t| t.name.as_str());
        let h2 = match t.and_then(|t| t.u2) {
            Some(h) if h > 0 => h,
            Some(_) => {
                warn(format!(
                    "device {name}: device type {type_name} is 0U high in NetBox but mounted: drawn as 1U"
                ));
                2
            }
            None => {
                warn(format!(
                    "device {name}: the height of device type {type_name} is unknown: drawn as 1U"
                ));
                2
            }
        };
        let height = u32::try_from((h2 + 1) / 2).unwrap_or(1).max(1);
        if h2 % 2 != 0 {
            warn(format!(
                "device {name}: device type {type_name} is {}U high: drawn as {height}U",
                show_half(h2)
            ));
        }
        let n2 = i64::from(rack.u_height) * 2;
        // Half units from the bottom of the rack to the bottom of the device.
        let b2 = if rack.desc_units {
            n2 - (p2 - 2 * rack.starting_unit) - h2
        } else {
            p2 - 2 * rack.starting_unit
        };
        let u_position = match u32::try_from(b2.div_euclid(2) + 1) {
            Ok(u) if b2 >= 0 => u,
            _ => {
                warn(format!(
                    "device {name}: position {} is outside rack {} (starting unit {}): skipped",
                    show_half(p2),
                    rack.name,
                    rack.starting_unit
                ));
                continue;
            }
        };
        if b2 % 2 != 0 {
            warn(format!(
                "device {name}: half-unit position {} in rack {}: placed at U{u_position}",
                show_half(p2),
                rack.name
            ));
        }
        let top_u = u64::from(u_position) + u64::from(height) - 1;
        if top_u > u64::from(rack.u_height) {
            warn(format!(
                "device {name}: U{u_position}-U{top_u} does not fit in rack {} ({}U): skipped",
                rack.name, rack.u_height
            ));
            continue;
        }
        let full_depth = t.is_some_and(|t| t.full_depth);
        let faces: Vec<u8> = match (face, full_depth) {
            (_, true) => vec![0, 1],
            (Face::Front, false) => vec![0],
            (Face::Rear, false) => vec![1],
        };
        let clash = (u_position..=u_position.saturating_add(height - 1))
            .flat_map(|u| faces.iter().map(move |f| (rack_nb, *f, u)))
            .find_map(|k| occupied.get(&k).cloned());
        if let Some(other) = clash {
            warn(format!(
                "device {name} overlaps device {other} in rack {}: skipped",
                rack.name
            ));
            continue;
        }
        for u in u_position..=u_position.saturating_add(height - 1) {
            for f in &faces {
                occupied.insert((rack_nb, *f, u), name.clone());
            }
        }

        let mut instances = Vec::new();
        let kids = children.get(&nb_id).map(Vec::as_slice).unwrap_or(&[]);
        if kids.is_empty() {
            match instance_of(d, &options.instance_name, options.instance_port) {
                Ok(i) => instances.push(i),
                Err(why) => warn(format!("device {name} has {why}: no instance")),
            }
        } else {
            placed_parents.insert(nb_id);
            for (_, child_id, c) in kids {
                match instance_of(c, &options.instance_name, options.instance_port) {
                    Ok(i) => instances.push(i),
                    Err(why) => warn(format!(
                        "device {} in a bay of {name} has {why}: no instance",
                        device_name(c, *child_id)
                    )),
                }
            }
        }

        instances.retain(|i| match claimed.get(i) {
            Some(first) => {
                warn(format!(
                    "device {name}: instance `{i}` already belongs to device {first} (NetBox names are unique per site only): no instance; choose another instance_name"
                ));
                false
            }
            None => {
                claimed.insert(i.clone(), name.clone());
                true
            }
        });

        let role = d
            .get("role")
            .or_else(|| d.get("device_role"))
            .and_then(|r| text(r, "slug").or_else(|| text(r, "name")))
            .unwrap_or("");
        let entry = used_types.entry(type_id).or_default();
        *entry.0.entry(kind_of_role(role)).or_default() += 1;
        if !kids.is_empty() {
            entry.1 = entry.1.max(kids.len());
        }

        let name_slug = slug(&name);
        let wanted = if name_count.get(&name_slug).copied().unwrap_or(0) > 1 {
            slug(&format!("{}-{name}", rack.id))
        } else {
            name_slug
        };
        let mut labels = BTreeMap::new();
        labels.insert("netbox_id".to_owned(), nb_id.to_string());
        if !role.is_empty() {
            labels.insert("role".to_owned(), role.to_owned());
        }
        placed.entry(rack.nb_id).or_default().push(Placed {
            sort: (i64::from(u_position), i64::from(face == Face::Rear), nb_id),
            device: Device {
                id: take(&mut device_ids, wanted, Some(nb_id)),
                name,
                template_id: template_id.clone(),
                u_position,
                face,
                instances,
                labels,
            },
        });
    }
    let placed_count = placed.values().map(|v| v.len() as u64).sum::<u64>();
    for (parent, kids) in &children {
        if !placed_parents.contains(parent) {
            for (_, child_id, c) in kids {
                warn(format!(
                    "device {} is in a bay of device {parent}, which is not imported: skipped",
                    device_name(c, *child_id)
                ));
            }
        }
    }

    // Templates of the types in use.
    let mut templates = Vec::new();
    for (type_id, (kinds, max_children)) in &used_types {
        let (Some(t), Some(id)) = (types.get(type_id), type_template.get(type_id)) else {
            continue;
        };
        let kind = if *max_children > 0 {
            "server".to_owned()
        } else {
            // The most common kind among the devices of this type; ties by name.
            kinds
                .iter()
                .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)))
                .map_or_else(|| "server".to_owned(), |(k, _)| k.clone())
        };
        let u_height =
            t.u2.filter(|h| *h > 0)
                .map_or(1, |h| u32::try_from((h + 1) / 2).unwrap_or(1).max(1));
        let slots = (*max_children > 0).then(|| slots_for((*max_children).max(t.bays as usize)));
        templates.push(Template {
            id: id.clone(),
            name: t.name.clone(),
            kind,
            u_height,
            slots,
        });
    }
    templates.sort_by(|a, b| a.id.cmp(&b.id));

    // Assemble; sites without racks are left out.
    let mut out_sites = Vec::new();
    let mut site_order: Vec<(SortKey, i64)> = sites
        .iter()
        .map(|(id, s)| (key(&s.name, *id), *id))
        .collect();
    site_order.sort();
    for (_, site_id) in site_order {
        let Some(s) = sites.get(&site_id) else {
            continue;
        };
        let Some(rooms) = tree.remove(&site_id) else {
            warn(format!("site {} has no racks: skipped", s.name));
            continue;
        };
        let mut out_rooms = Vec::new();
        for (_, (mut room, aisles)) in rooms {
            for (_, (mut aisle, members)) in aisles {
                for (_, rack_nb) in members {
                    let Some(r) = racks.get(&rack_nb) else {
                        continue;
                    };
                    let mut devices = placed.remove(&rack_nb).unwrap_or_default();
                    devices.sort_by_key(|p| p.sort);
                    aisle.racks.push(Rack {
                        id: r.id.clone(),
                        name: r.name.clone(),
                        u_height: r.u_height,
                        devices: devices.into_iter().map(|p| p.device).collect(),
                    });
                }
                room.aisles.push(aisle);
            }
            out_rooms.push(room);
        }
        out_sites.push(Site {
            id: slug(&s.slug),
            name: s.name.clone(),
            description: s.description.clone(),
            location: s.location.clone(),
            rooms: out_rooms,
        });
    }

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
        sites: out_sites,
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
