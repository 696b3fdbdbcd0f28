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

// ---------------------------------------------------------------------------------------
// Pass 1: sites, locations, rack groups and device types, indexed by NetBox id.

struct Index {
    sites: BTreeMap<i64, SiteRec>,
    locations: BTreeMap<i64, LocRec>,
    groups: BTreeMap<i64, GroupRec>,
    types: BTreeMap<i64, TypeRec>,
    /// Device type id -> template id.
    type_template: BTreeMap<i64, String>,
}

impl Index {
    fn new(lists: &Lists, warnings: &mut Vec<String>) -> Index {
        let mut sites = BTreeMap::new();
        for v in &lists.sites {
            match id_of(v) {
                Some(id) => {
                    sites.insert(id, site_rec(v));
                }
                None => warnings.push("a site without an id was skipped".into()),
            }
        }
        let locations = lists
            .locations
            .iter()
            .filter_map(|v| Some((id_of(v)?, loc_rec(v))))
            .collect();
        let groups = lists
            .rack_groups
            .iter()
            .filter_map(|v| Some((id_of(v)?, group_rec(v))))
            .collect();
        let types = device_types(lists);
        let type_template = template_ids(&types);
        Index {
            sites,
            locations,
            groups,
            types,
            type_template,
        }
    }

    /// The name and slug of location `l`, made up when the list did not hold it.
    fn location(&self, l: i64) -> (String, String) {
        let loc = self.locations.get(&l);
        let name = loc.map_or_else(|| format!("location {l}"), |x| x.name.clone());
        let slug_ = loc.map_or_else(|| slug(&name), |x| x.slug.clone());
        (name, slug_)
    }

    /// The name and slug of rack group `g`, made up when the list did not hold it.
    fn group(&self, g: i64) -> (String, String) {
        let group = self.groups.get(&g);
        let name = group.map_or_else(|| format!("rack group {g}"), |x| x.name.clone());
        let slug_ = group.map_or_else(|| slug(&name), |x| x.slug.clone());
        (name, slug_)
    }
}

fn loc_rec(v: &Value) -> LocRec {
    let name = text(v, "name").unwrap_or("unnamed location").to_owned();
    LocRec {
        slug: text(v, "slug").map_or_else(|| slug(&name), slug),
        name,
        parent: ref_id(v, "parent"),
        description: text(v, "description").map(str::to_owned),
    }
}

fn group_rec(v: &Value) -> GroupRec {
    let name = text(v, "name").unwrap_or("unnamed rack group").to_owned();
    GroupRec {
        slug: text(v, "slug").map_or_else(|| slug(&name), slug),
        name,
    }
}

/// The listed device types, and the brief type nested in a device whose type is missing
/// from the list: it still gets a template (one without a height).
fn device_types(lists: &Lists) -> BTreeMap<i64, TypeRec> {
    let mut types = BTreeMap::new();
    for v in &lists.device_types {
        if let Some(id) = id_of(v) {
            types.insert(id, type_rec(v));
        }
    }
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
    types
}

/// Template ids: the type slug, or manufacturer-slug when two manufacturers share it.
fn template_ids(types: &BTreeMap<i64, TypeRec>) -> BTreeMap<i64, String> {
    let mut slug_count: BTreeMap<&str, usize> = BTreeMap::new();
    for t in types.values() {
        *slug_count.entry(t.slug.as_str()).or_default() += 1;
    }
    let mut template_ids = Ids::default();
    let mut type_template = BTreeMap::new();
    for (id, t) in types {
        let wanted = if slug_count.get(t.slug.as_str()).copied().unwrap_or(0) > 1 {
            slug(&format!("{}-{}", t.manufacturer_slug, t.slug))
        } else {
            slug(&t.slug)
        };
        type_template.insert(*id, take(&mut template_ids, wanted, Some(*id)));
    }
    type_template
}

// ---------------------------------------------------------------------------------------
// Pass 2: where each rack goes (site, room, aisle), in NetBox id order so ids are stable.

/// aisle sort key -> (aisle, rack sort key -> rack id)
type Aisles = BTreeMap<SortKey, (Aisle, BTreeMap<SortKey, i64>)>;

#[derive(Default)]
struct Layout {
    rack_ids: Ids,
    room_ids: Ids,
    aisle_ids: Ids,
    racks: BTreeMap<i64, RackRec>,
    /// site id -> room sort key -> (room, its aisles)
    tree: BTreeMap<i64, BTreeMap<SortKey, (Room, Aisles)>>,
    room_keys: BTreeMap<(i64, RoomKey), SortKey>,
    aisle_keys: BTreeMap<(i64, RoomKey, AisleKey), SortKey>,
    defaulted_rooms: BTreeMap<i64, Vec<String>>,
    defaulted_aisles: BTreeMap<(i64, RoomKey), Vec<String>>,
}

impl Layout {
    fn new(lists: &Lists, index: &Index, options: &Options, warnings: &mut Vec<String>) -> Layout {
        let mut rack_values: Vec<(i64, &Value)> = Vec::new();
        for v in &lists.racks {
            match id_of(v) {
                Some(id) => rack_values.push((id, v)),
                None => warnings.push("a rack without an id was skipped".into()),
            }
        }
        rack_values.sort_by_key(|(id, _)| *id);
        let mut layout = Layout::default();
        for (nb_id, v) in rack_values {
            layout.add(nb_id, v, index, options, warnings);
        }
        layout.warn_defaults(index, options, warnings);
        layout
    }

    fn add(
        &mut self,
        nb_id: i64,
        v: &Value,
        index: &Index,
        options: &Options,
        warnings: &mut Vec<String>,
    ) {
        let name = text(v, "name")
            .or_else(|| text(v, "facility_id"))
            .map_or_else(|| format!("rack {nb_id}"), str::to_owned);
        let Some(site_id) = ref_id(v, "site") else {
            warnings.push(format!("rack {name} has no site: skipped"));
            return;
        };
        let Some(site) = index.sites.get(&site_id) else {
            warnings.push(format!(
                "rack {name}: its site ({site_id}) is not among the imported sites: skipped"
            ));
            return;
        };
        let u_height = match v.get("u_height").and_then(as_f64) {
            Some(u) if u >= 1.0 && u <= f64::from(MAX_RACK_U) => u.ceil() as u32,
            _ => {
                warnings.push(format!(
                    "rack {name} in site {}: no valid u_height: skipped",
                    site.name
                ));
                return;
            }
        };
        let starting_unit = starting_unit(v, &name, warnings);
        let desc_units = v
            .get("desc_units")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let loc_chain = match ref_id(v, "location") {
            Some(l) => chain(&index.locations, l).unwrap_or_else(|e| {
                warnings.push(format!("rack {name}: {e}: placed as if it had no location"));
                Vec::new()
            }),
            None => Vec::new(),
        };
        let room_key = room_key(&loc_chain, options.room_location_depth, &name, warnings);
        let aisle_key = aisle_key(v, &loc_chain, index, options);
        let id = take(
            &mut self.rack_ids,
            slug(&format!("{}-{name}", site.slug)),
            Some(nb_id),
        );
        let room_sort = self.room(site_id, site, room_key, index);
        let Some(aisle_sort) = self.aisle(site_id, &room_sort, room_key, aisle_key, index) else {
            return;
        };
        if room_key == RoomKey::Default && options.room_location_depth != RoomDepth::None {
            self.defaulted_rooms
                .entry(site_id)
                .or_default()
                .push(name.clone());
        }
        // A rack in the default room is in its default aisle too: one warning says both.
        if aisle_key == AisleKey::Default
            && (room_key != RoomKey::Default || options.room_location_depth == RoomDepth::None)
        {
            self.defaulted_aisles
                .entry((site_id, room_key))
                .or_default()
                .push(name.clone());
        }
        if let Some((_, members)) = self
            .tree
            .get_mut(&site_id)
            .and_then(|rooms| rooms.get_mut(&room_sort))
            .and_then(|(_, aisles)| aisles.get_mut(&aisle_sort))
        {
            members.insert(key(&name, nb_id), nb_id);
        }
        self.racks.insert(
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

    /// The sort key of the room `room_key` of a site, made on first use.
    fn room(&mut self, site_id: i64, site: &SiteRec, room_key: RoomKey, index: &Index) -> SortKey {
        if let Some(k) = self.room_keys.get(&(site_id, room_key)) {
            return k.clone();
        }
        let (k, name, description, wanted, nb) = match room_key {
            RoomKey::Location(l) => {
                let (name, lslug) = index.location(l);
                let description = index.locations.get(&l).and_then(|x| x.description.clone());
                (key(&name, l), name, description, lslug, Some(l))
            }
            RoomKey::Default => (
                default_key(),
                "default".to_owned(),
                None,
                "default".to_owned(),
                None,
            ),
        };
        let room = Room {
            id: take(
                &mut self.room_ids,
                slug(&format!("{}-{wanted}", site.slug)),
                nb,
            ),
            name,
            description,
            aisles: Vec::new(),
        };
        self.tree
            .entry(site_id)
            .or_default()
            .insert(k.clone(), (room, BTreeMap::new()));
        self.room_keys.insert((site_id, room_key), k.clone());
        k
    }

    /// The sort key of the aisle `aisle_key` of a room, made on first use.
    fn aisle(
        &mut self,
        site_id: i64,
        room_sort: &SortKey,
        room_key: RoomKey,
        aisle_key: AisleKey,
        index: &Index,
    ) -> Option<SortKey> {
        let (room, aisles) = self.tree.get_mut(&site_id)?.get_mut(room_sort)?;
        if let Some(k) = self.aisle_keys.get(&(site_id, room_key, aisle_key)) {
            return Some(k.clone());
        }
        let (k, name, aslug, nb) = match aisle_key {
            AisleKey::Group(g) => {
                let (name, gslug) = index.group(g);
                (key(&name, g), name, gslug, Some(g))
            }
            AisleKey::Location(l) => {
                let (name, lslug) = index.location(l);
                (key(&name, l), name, lslug, Some(l))
            }
            AisleKey::Default => (
                default_key(),
                "default".to_owned(),
                "default".to_owned(),
                None,
            ),
        };
        let aisle = Aisle {
            id: take(
                &mut self.aisle_ids,
                slug(&format!("{}-{aslug}", room.id)),
                nb,
            ),
            name,
            racks: Vec::new(),
        };
        aisles.insert(k.clone(), (aisle, BTreeMap::new()));
        self.aisle_keys
            .insert((site_id, room_key, aisle_key), k.clone());
        Some(k)
    }

    fn warn_defaults(&self, index: &Index, options: &Options, warnings: &mut Vec<String>) {
        let site_name = |id: &i64| index.sites.get(id).map_or("?", |s| s.name.as_str());
        for (site_id, names) in &self.defaulted_rooms {
            warnings.push(format!(
                "site {}: {} rack(s) without a location put in room `default`, aisle `default`: {}",
                site_name(site_id),
                names.len(),
                names.join(", ")
            ));
        }
        if options.aisle_from == AisleFrom::None {
            return;
        }
        for ((site_id, room_key), names) in &self.defaulted_aisles {
            let room = match room_key {
                RoomKey::Location(l) => index.locations.get(l).map_or("?", |x| x.name.as_str()),
                RoomKey::Default => "default",
            };
            warnings.push(format!(
                "site {}, room {room}: {} rack(s) without a rack group or aisle location put in aisle `default`: {}",
                site_name(site_id),
                names.len(),
                names.join(", ")
            ));
        }
    }
}

fn starting_unit(v: &Value, name: &str, warnings: &mut Vec<String>) -> i64 {
    match v.get("starting_unit").map(as_int) {
        None | Some(None) => 1,
        Some(Some(s)) if (-100_000..=100_000).contains(&s) => s,
        Some(Some(s)) => {
            warnings.push(format!(
                "rack {name}: starting unit {s} is out of range: 1 assumed"
            ));
            1
        }
    }
}

/// The room of a rack: its location at `room_location_depth`, or its deepest one.
fn room_key(
    loc_chain: &[i64],
    depth: RoomDepth,
    name: &str,
    warnings: &mut Vec<String>,
) -> RoomKey {
    let RoomDepth::Depth(n) = depth else {
        return RoomKey::Default;
    };
    match loc_chain.get(n).or(loc_chain.last()) {
        Some(l) => {
            if loc_chain.len() <= n {
                warnings.push(format!(
                    "rack {name}: its location is shallower than room_location_depth {n}: its deepest location is its room"
                ));
            }
            RoomKey::Location(*l)
        }
        None => RoomKey::Default,
    }
}

/// The aisle of a rack, from its rack group or its location one level below the room.
fn aisle_key(v: &Value, loc_chain: &[i64], index: &Index, options: &Options) -> AisleKey {
    let aisle_loc_depth = match options.room_location_depth {
        RoomDepth::None => 0,
        RoomDepth::Depth(n) => n + 1,
    };
    let group = ref_id(v, "group").filter(|g| index.groups.contains_key(g));
    let aisle_loc = loc_chain.get(aisle_loc_depth).copied();
    match options.aisle_from {
        AisleFrom::Auto => group
            .map(AisleKey::Group)
            .or(aisle_loc.map(AisleKey::Location)),
        AisleFrom::RackGroup => group.map(AisleKey::Group),
        AisleFrom::Location => aisle_loc.map(AisleKey::Location),
        AisleFrom::None => None,
    }
    .unwrap_or(AisleKey::Default)
}

// ---------------------------------------------------------------------------------------
// Pass 3: devices at their U and face; children in bays become their parent's instances.

/// (bay sort key, child id, child) of the devices in one parent's bays.
type Bays<'a> = Vec<(NaturalKey, i64, &'a Value)>;

/// The devices mounted themselves, and the children of each parent, in bay order.
#[allow(clippy::type_complexity)]
fn split_bays<'a>(
    lists: &'a Lists,
    warnings: &mut Vec<String>,
) -> (Vec<(i64, &'a Value)>, BTreeMap<i64, Bays<'a>>) {
    let mut children: BTreeMap<i64, Bays<'_>> = BTreeMap::new();
    let mut top: Vec<(i64, &Value)> = Vec::new();
    for d in &lists.devices {
        let Some(nb_id) = id_of(d) else {
            warnings.push("a device without an id was skipped".into());
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
    (top, children)
}

struct DevicePass<'a> {
    index: &'a Index,
    racks: &'a BTreeMap<i64, RackRec>,
    options: &'a Options,
    /// A device's id is its name when that is unique, else prefixed with its rack id.
    name_count: BTreeMap<String, usize>,
    device_ids: Ids,
    /// Instance names are Prometheus identities and must be unique; NetBox only makes
    /// names unique per site. instance -> the device that claimed it first.
    claimed: BTreeMap<String, String>,
    /// (rack, face, U) -> the device there; face 0 is the front.
    occupied: BTreeMap<(i64, u8, u32), String>,
    placed: BTreeMap<i64, Vec<Placed>>,
    placed_parents: BTreeSet<i64>,
    /// type id -> (role kinds seen, largest child count)
    used_types: BTreeMap<i64, (BTreeMap<String, usize>, usize)>,
}

impl<'a> DevicePass<'a> {
    fn new(
        index: &'a Index,
        layout: &'a Layout,
        options: &'a Options,
        top: &[(i64, &Value)],
    ) -> Self {
        let mut name_count: BTreeMap<String, usize> = BTreeMap::new();
        for (nb_id, d) in top {
            *name_count.entry(slug(&device_name(d, *nb_id))).or_default() += 1;
        }
        DevicePass {
            index,
            racks: &layout.racks,
            options,
            name_count,
            device_ids: Ids::default(),
            claimed: BTreeMap::new(),
            occupied: BTreeMap::new(),
            placed: BTreeMap::new(),
            placed_parents: BTreeSet::new(),
            used_types: BTreeMap::new(),
        }
    }

    fn place(
        &mut self,
        nb_id: i64,
        d: &Value,
        children: &BTreeMap<i64, Bays<'_>>,
        warnings: &mut Vec<String>,
    ) {
        let name = device_name(d, nb_id);
        let Some(rack_nb) = ref_id(d, "rack") else {
            warnings.push(format!("device {name} is not in a rack: skipped"));
            return;
        };
        let Some(rack) = self.racks.get(&rack_nb) else {
            warnings.push(format!(
                "device {name}: its rack ({rack_nb}) is not among the imported racks: skipped"
            ));
            return;
        };
        let Some(p2) = d.get("position").and_then(half_units) else {
            warnings.push(format!(
                "device {name} in rack {} has no position (0U or not mounted): skipped",
                rack.name
            ));
            return;
        };
        let face = match choice(d, "face").as_deref() {
            Some("rear") => Face::Rear,
            Some("front") => Face::Front,
            _ => {
                warnings.push(format!("device {name}: no face in NetBox: front assumed"));
                Face::Front
            }
        };
        let type_id = ref_id(d, "device_type");
        let (Some(type_id), Some(template_id)) = (
            type_id,
            type_id.and_then(|t| self.index.type_template.get(&t)),
        ) else {
            warnings.push(format!("device {name} has no device type: skipped"));
            return;
        };
        let t = self.index.types.get(&type_id);
        let (h2, height) = device_height(t, &name, warnings);
        let Some(u_position) = u_position(rack, p2, (h2, height), &name, warnings) else {
            return;
        };
        let faces: &[u8] = match (face, t.is_some_and(|t| t.full_depth)) {
            (_, true) => &[0, 1],
            (Face::Front, false) => &[0],
            (Face::Rear, false) => &[1],
        };
        if !self.occupy(rack, &name, (u_position, height), faces, warnings) {
            return;
        }
        let kids = children.get(&nb_id).map(Vec::as_slice).unwrap_or(&[]);
        let instances = self.instances(nb_id, d, &name, kids, warnings);
        let role = role(d);
        let entry = self.used_types.entry(type_id).or_default();
        *entry.0.entry(kind_of_role(role)).or_default() += 1;
        if !kids.is_empty() {
            entry.1 = entry.1.max(kids.len());
        }
        let name_slug = slug(&name);
        let wanted = if self.name_count.get(&name_slug).copied().unwrap_or(0) > 1 {
            slug(&format!("{}-{name}", rack.id))
        } else {
            name_slug
        };
        let mut labels = BTreeMap::new();
        labels.insert("netbox_id".to_owned(), nb_id.to_string());
        if !role.is_empty() {
            labels.insert("role".to_owned(), role.to_owned());
        }
        self.placed.entry(rack.nb_id).or_default().push(Placed {
            sort: (i64::from(u_position), i64::from(face == Face::Rear), nb_id),
            device: Device {
                id: take(&mut self.device_ids, wanted, Some(nb_id)),
                name,
                template_id: template_id.clone(),
                u_position,
                face,
                instances,
                labels,
            },
        });
    }

    /// Takes the rack units (lowest U, height) of a device on its faces (0 front, 1 rear;
    /// both when full depth); `false`, with a warning, when another device holds one.
    fn occupy(
        &mut self,
        rack: &RackRec,
        name: &str,
        (u_position, height): (u32, u32),
        faces: &[u8],
        warnings: &mut Vec<String>,
    ) -> bool {
        let units = || u_position..=u_position.saturating_add(height - 1);
        let clash = units()
            .flat_map(|u| faces.iter().map(move |f| (rack.nb_id, *f, u)))
            .find_map(|k| self.occupied.get(&k).cloned());
        if let Some(other) = clash {
            warnings.push(format!(
                "device {name} overlaps device {other} in rack {}: skipped",
                rack.name
            ));
            return false;
        }
        for u in units() {
            for f in faces {
                self.occupied.insert((rack.nb_id, *f, u), name.to_owned());
            }
        }
        true
    }

    /// The device's own instance, or those of the children in its bays; an instance
    /// another device claimed first is dropped with a warning.
    fn instances(
        &mut self,
        nb_id: i64,
        d: &Value,
        name: &str,
        kids: &[(NaturalKey, i64, &Value)],
        warnings: &mut Vec<String>,
    ) -> Vec<String> {
        let (mode, port) = (&self.options.instance_name, self.options.instance_port);
        let mut instances = Vec::new();
        if kids.is_empty() {
            match instance_of(d, mode, port) {
                Ok(i) => instances.push(i),
                Err(why) => warnings.push(format!("device {name} has {why}: no instance")),
            }
        } else {
            self.placed_parents.insert(nb_id);
            for (_, child_id, c) in kids {
                match instance_of(c, mode, port) {
                    Ok(i) => instances.push(i),
                    Err(why) => warnings.push(format!(
                        "device {} in a bay of {name} has {why}: no instance",
                        device_name(c, *child_id)
                    )),
                }
            }
        }
        instances.retain(|i| match self.claimed.get(i) {
            Some(first) => {
                warnings.push(format!(
                    "device {name}: instance `{i}` already belongs to device {first} (NetBox names are unique per site only): no instance; choose another instance_name"
                ));
                false
            }
            None => {
                self.claimed.insert(i.clone(), name.to_owned());
                true
            }
        });
        instances
    }
}

/// The device's height in half units and in whole U, with warnings for what is assumed.
fn device_height(t: Option<&TypeRec>, name: &str, warnings: &mut Vec<String>) -> (i64, u32) {
    let type_name = t.map_or("?", |t| t.name.as_str());
    let h2 = match t.and_then(|t| t.u2) {
        Some(h) if h > 0 => h,
        Some(_) => {
            warnings.push(format!(
                "device {name}: device type {type_name} is 0U high in NetBox but mounted: drawn as 1U"
            ));
            2
        }
        None => {
            warnings.push(format!(
                "device {name}: the height of device type {type_name} is unknown: drawn as 1U"
            ));
            2
        }
    };
    let height = u32::try_from((h2 + 1) / 2).unwrap_or(1).max(1);
    if h2 % 2 != 0 {
        warnings.push(format!(
            "device {name}: device type {type_name} is {}U high: drawn as {height}U",
            show_half(h2)
        ));
    }
    (h2, height)
}

/// The lowest U of a device at NetBox position `p2` (half units, in the rack's numbering);
/// `None`, with a warning, when it is outside the rack or does not fit.
fn u_position(
    rack: &RackRec,
    p2: i64,
    (h2, height): (i64, u32),
    name: &str,
    warnings: &mut Vec<String>,
) -> Option<u32> {
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
            warnings.push(format!(
                "device {name}: position {} is outside rack {} (starting unit {}): skipped",
                show_half(p2),
                rack.name,
                rack.starting_unit
            ));
            return None;
        }
    };
    if b2 % 2 != 0 {
        warnings.push(format!(
            "device {name}: half-unit position {} in rack {}: placed at U{u_position}",
            show_half(p2),
            rack.name
        ));
    }
    let top_u = u64::from(u_position) + u64::from(height) - 1;
    if top_u > u64::from(rack.u_height) {
        warnings.push(format!(
            "device {name}: U{u_position}-U{top_u} does not fit in rack {} ({}U): skipped",
            rack.name, rack.u_height
        ));
        return None;
    }
    Some(u_position)
}

fn role(d: &Value) -> &str {
    d.get("role")
        .or_else(|| d.get("device_role"))
        .and_then(|r| text(r, "slug").or_else(|| text(r, "name")))
        .unwrap_or("")
}

// ---------------------------------------------------------------------------------------
// Pass 4: the templates of the types in use, and the tree of sites.

fn templates(
    index: &Index,
    used_types: &BTreeMap<i64, (BTreeMap<String, usize>, usize)>,
) -> Vec<Template> {
    let mut templates = Vec::new();
    for (type_id, (kinds, max_children)) in used_types {
        let (Some(t), Some(id)) = (index.types.get(type_id), index.type_template.get(type_id))
        else {
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
    templates
}

/// The sites in name order with their rooms, aisles and racks; sites without racks are left
/// out.
fn assemble(
    index: &Index,
    layout: &mut Layout,
    placed: &mut BTreeMap<i64, Vec<Placed>>,
    warnings: &mut Vec<String>,
) -> Vec<Site> {
    let mut out_sites = Vec::new();
    let mut site_order: Vec<(SortKey, i64)> = index
        .sites
        .iter()
        .map(|(id, s)| (key(&s.name, *id), *id))
        .collect();
    site_order.sort();
    for (_, site_id) in site_order {
        let Some(s) = index.sites.get(&site_id) else {
            continue;
        };
        let Some(rooms) = layout.tree.remove(&site_id) else {
            warnings.push(format!("site {} has no racks: skipped", s.name));
            continue;
        };
        let mut out_rooms = Vec::new();
        for (_, (mut room, aisles)) in rooms {
            for (_, (mut aisle, members)) in aisles {
                for (_, rack_nb) in members {
                    let Some(r) = layout.racks.get(&rack_nb) else {
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
    out_sites
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
