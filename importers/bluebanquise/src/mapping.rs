//! Turns Ansible hosts into Rackscope's hierarchy. BlueBanquise has no physical model, so
//! every location comes from configurable rules (a location dict, rack variables, rack
//! group names) and what they leave open is filled by defaults, each one warned about.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};

use rackscope_importer_abi::{
    Aisle, Device, Face, Ids, Inventory, Rack, Room, Site, Slots, Template, slug,
};
use serde_json::{Map, Value};

use crate::options::Options;
use crate::source::{Host, lookup, natural_cmp};

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
pub fn map(hosts: &[Host], o: &Options, warnings: &mut Vec<String>) -> Inventory {
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

/// One host read through the options' rules; every reading warns about what it ignores.
struct HostRules<'a> {
    host: &'a Host,
    o: &'a Options,
    /// The location dict and the variable path it came from.
    loc: Option<(&'a str, &'a Map<String, Value>)>,
}

impl<'a> HostRules<'a> {
    fn new(host: &'a Host, o: &'a Options, warnings: &mut Vec<String>) -> Self {
        let name = &host.name;
        let mut loc = None;
        for path in &o.location_var {
            match lookup(&host.vars, path) {
                Some(Value::Object(m)) => {
                    loc = Some((path.as_str(), m));
                    break;
                }
                Some(Value::Null) | None => {}
                Some(other) => warnings.push(format!(
                    "host {name}: `{path}` should be a dict of {}, got {other}; ignored",
                    LOCATION_KEYS.join("/")
                )),
            }
        }
        if let Some((path, m)) = loc {
            for k in m.keys() {
                if !LOCATION_KEYS.contains(&k.as_str()) {
                    warnings.push(format!(
                        "host {name}: unknown key `{k}` in `{path}` ignored (known: {})",
                        LOCATION_KEYS.join(", ")
                    ));
                }
            }
        }
        HostRules { host, o, loc }
    }

    /// A key of the location dict, with the dotted path it is read from.
    fn loc_value(&self, key: &str) -> Option<(String, &'a Value)> {
        self.loc.and_then(|(path, m)| {
            m.get(key)
                .filter(|v| !v.is_null())
                .map(|v| (format!("{path}.{key}"), v))
        })
    }

    /// The location dict's `key`, else the first of the host variables `paths` set.
    fn loc_or_var(&self, key: &str, paths: &[String]) -> Option<(String, &'a Value)> {
        self.loc_value(key)
            .into_iter()
            .chain(paths.iter().filter_map(|p| {
                lookup(&self.host.vars, p)
                    .filter(|v| !v.is_null())
                    .map(|v| (p.clone(), v))
            }))
            .next()
    }

    fn text_of(&self, key: &str, default: &str, warnings: &mut Vec<String>) -> String {
        match self.loc_value(key) {
            Some((src, v)) => scalar(v).unwrap_or_else(|| {
                warnings.push(format!(
                    "host {}: `{src}` is not a name ({v}); `{default}` used",
                    self.host.name
                ));
                default.to_owned()
            }),
            None => default.to_owned(),
        }
    }

    /// Every rule is consulted so that disagreeing sources can be reported; the first wins.
    fn rack(&self, warnings: &mut Vec<String>) -> Option<String> {
        let (name, o) = (&self.host.name, self.o);
        let mut candidates: Vec<(String, String)> = Vec::new();
        let mut push_rack =
            |src: String, v: &Value, warnings: &mut Vec<String>| match rack_name(v, o) {
                Some(r) => candidates.push((src, r)),
                None => warnings.push(format!(
                    "host {name}: `{src}` is not a rack name ({v}); ignored"
                )),
            };
        if let Some((src, v)) = self.loc_value("rack") {
            push_rack(src, v, warnings);
        }
        for path in &o.rack_var {
            if let Some(v) = lookup(&self.host.vars, path).filter(|v| !v.is_null()) {
                push_rack(path.clone(), v, warnings);
            }
        }
        if let Some(re) = &o.rack_group_pattern {
            let mut matched: Vec<&String> =
                self.host.groups.iter().filter(|g| re.is_match(g)).collect();
            matched.sort_by(|a, b| natural_cmp(a, b));
            for g in matched {
                let value = re.captures(g).and_then(|c| {
                    c.name("rack")
                        .or_else(|| c.get(1))
                        .or_else(|| c.get(0))
                        .map(|m| m.as_str().to_owned())
                });
                if let Some(v) = value.filter(|v| !v.trim().is_empty()) {
                    push_rack(format!("group {g}"), &Value::String(v), warnings);
                }
            }
        }
        let (src, r) = candidates.first()?;
        let others: Vec<String> = candidates
            .iter()
            .filter(|(_, x)| x != r)
            .map(|(s, x)| format!("{s} says {x}"))
            .collect();
        if !others.is_empty() {
            warnings.push(format!(
                "host {name}: rack {r} (from {src}) used, but {}",
                others.join(", ")
            ));
        }
        Some(r.clone())
    }

    fn u(&self, warnings: &mut Vec<String>) -> Option<u32> {
        let name = &self.host.name;
        let (src, v) = self.loc_or_var("u", &self.o.u_var)?;
        match units(v) {
            Units::Whole(n) => Some(clamp_u32(n)),
            Units::Fraction(f) => {
                let n = f.floor();
                warnings.push(format!(
                    "host {name}: U {f} (from {src}) is not whole; U{n} used"
                ));
                Some(clamp_u32(n as u64))
            }
            Units::Bad => {
                warnings.push(format!(
                    "host {name}: `{src}` is not a U position (1 = bottom): {v}; ignored"
                ));
                None
            }
        }
    }

    fn height(&self, warnings: &mut Vec<String>) -> u32 {
        let name = &self.host.name;
        let Some((src, v)) = self.loc_or_var("height", &self.o.height_var) else {
            return 1;
        };
        match units(v) {
            Units::Whole(n) => clamp_u32(n),
            Units::Fraction(f) => {
                let n = f.ceil();
                warnings.push(format!(
                    "host {name}: height {f}U (from {src}) rounded up to {n}U"
                ));
                clamp_u32(n as u64)
            }
            Units::Bad => {
                warnings.push(format!(
                    "host {name}: `{src}` is not a height in U: {v}; 1U used"
                ));
                1
            }
        }
    }

    fn face(&self, warnings: &mut Vec<String>) -> Face {
        let Some((src, v)) = self.loc_value("face") else {
            return Face::Front;
        };
        match scalar(v).map(|s| s.to_ascii_lowercase()).as_deref() {
            Some("front") => Face::Front,
            Some("rear" | "back") => Face::Rear,
            _ => {
                warnings.push(format!(
                    "host {}: `{src}` should be front or rear, got {v}; front used",
                    self.host.name
                ));
                Face::Front
            }
        }
    }

    fn slot(&self, warnings: &mut Vec<String>) -> Option<u64> {
        self.loc_value("slot").and_then(|(src, v)| match units(v) {
            Units::Whole(n) => Some(n),
            _ => {
                warnings.push(format!(
                    "host {}: `{src}` is not a slot number: {v}; ignored",
                    self.host.name
                ));
                None
            }
        })
    }

    /// The host's groups matching hardware_group_pattern, in natural order.
    fn hardware_groups(&self) -> Vec<&'a String> {
        let mut hw: Vec<&String> = match &self.o.hardware_group_pattern {
            Some(re) => self.host.groups.iter().filter(|g| re.is_match(g)).collect(),
            None => Vec::new(),
        };
        hw.sort_by(|a, b| natural_cmp(a, b));
        hw
    }

    /// The location's template, else the first hardware group, else the generic one.
    fn template(&self, hw: &[&String], warnings: &mut Vec<String>) -> String {
        let name = &self.host.name;
        let mut template_name = None;
        if let Some((src, v)) = self.loc_value("template") {
            match scalar(v) {
                Some(t) => template_name = Some(t),
                None => warnings.push(format!(
                    "host {name}: `{src}` is not a template name ({v}); ignored"
                )),
            }
        }
        if template_name.is_none()
            && let Some(first) = hw.first()
        {
            if hw.len() > 1 {
                warnings.push(format!(
                    "host {name}: in several hardware groups ({}); template from {first}",
                    hw.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
                ));
            }
            template_name = Some((*first).clone());
        }
        template_name.unwrap_or_else(|| {
            warnings.push(format!(
                "host {name}: no group matches hardware_group_pattern{}; generic server \
                 template used",
                self.o
                    .hardware_group_pattern
                    .as_ref()
                    .map(|r| format!(" `{}`", r.as_str()))
                    .unwrap_or_default()
            ));
            GENERIC.to_owned()
        })
    }

    /// Records the host's equipment type on its template; the first type given wins.
    fn note_kind(
        &self,
        template: &str,
        bases: &mut BTreeMap<String, TemplateBase>,
        warnings: &mut Vec<String>,
    ) {
        let kind = self
            .o
            .kind_var
            .iter()
            .find_map(|p| lookup(&self.host.vars, p).and_then(scalar));
        let base = bases
            .entry(template.to_owned())
            .or_insert_with(|| TemplateBase {
                name: template.to_owned(),
                kind: None,
                kind_conflict: false,
                variants: BTreeSet::new(),
            });
        if template == GENERIC {
            return;
        }
        match (&base.kind, kind) {
            (None, k) => base.kind = k,
            (Some(a), Some(b)) if *a != b && !base.kind_conflict => {
                base.kind_conflict = true;
                warnings.push(format!(
                    "template {}: hosts disagree on the equipment type ({a}, {b}); {a} used",
                    base.name
                ));
            }
            _ => {}
        }
    }

    /// Function, OS, iceberg and hardware groups as labels.
    fn labels(&self, hw: &[&String]) -> BTreeMap<&'static str, BTreeSet<String>> {
        let mut labels: BTreeMap<&'static str, BTreeSet<String>> = BTreeMap::new();
        for g in &self.host.groups {
            let key = if g.starts_with("fn_") || g.starts_with("mg_") {
                "function"
            } else if g.starts_with("os_") {
                "os"
            } else if g.starts_with("iceberg") {
                "iceberg"
            } else if hw.contains(&g) {
                "hardware"
            } else {
                continue;
            };
            labels.entry(key).or_default().insert(g.clone());
        }
        labels
    }
}

fn plan(
    h: &Host,
    o: &Options,
    site: &str,
    bases: &mut BTreeMap<String, TemplateBase>,
    warnings: &mut Vec<String>,
) -> Plan {
    let rules = HostRules::new(h, o, warnings);
    let site = rules.text_of("site", site, warnings);
    let room = rules.text_of("room", &o.room, warnings);
    let aisle = rules.text_of("aisle", &o.aisle, warnings);
    let rack = rules.rack(warnings);
    let u = rules.u(warnings);
    let height = rules.height(warnings);
    let face = rules.face(warnings);
    let slot = rules.slot(warnings);
    let hw = rules.hardware_groups();
    let template = rules.template(&hw, warnings);
    rules.note_kind(&template, bases, warnings);
    let labels = rules.labels(&hw);
    let (u, u_ignored) = if rack.is_some() { (u, None) } else { (None, u) };
    Plan {
        host: h.name.clone(),
        site,
        room,
        aisle,
        rack,
        u,
        u_ignored,
        height,
        face,
        slot,
        template,
        labels,
    }
}

/// Lowest U from which `height` free units are found, above `from`, among sorted intervals.
fn first_fit(occupied: &[(u64, u64)], height: u64, rack_height: u64) -> Option<u64> {
    let mut candidate = 1u64;
    for &(lo, hi) in occupied {
        if candidate + height - 1 < lo {
            break;
        }
        candidate = candidate.max(hi + 1);
    }
    (candidate + height - 1 <= rack_height).then_some(candidate)
}

fn occupy(occupied: &mut Vec<(u64, u64)>, lo: u64, hi: u64) {
    let at = occupied.partition_point(|&(l, _)| l < lo);
    occupied.insert(at, (lo, hi));
}

fn overlaps(occupied: &[(u64, u64)], lo: u64, hi: u64) -> bool {
    occupied.iter().any(|&(l, h)| l <= hi && lo <= h)
}

type RackKey = (String, String, String, Option<String>);

fn place(plans: Vec<Plan>, o: &Options, warnings: &mut Vec<String>) -> Vec<PlacedRack> {
    let mut by_rack: BTreeMap<RackKey, Vec<Plan>> = BTreeMap::new();
    for p in plans {
        by_rack
            .entry((
                p.site.clone(),
                p.room.clone(),
                p.aisle.clone(),
                p.rack.clone(),
            ))
            .or_default()
            .push(p);
    }
    let mut out = Vec::new();
    for ((site, room, aisle, rack), mut plans) in by_rack {
        plans.sort_by(|a, b| natural_cmp(&a.host, &b.host));
        let racks = RackMaker { site, room, aisle };
        match rack {
            Some(rack) => out.push(place_in_rack(&racks, rack, plans, o, warnings)),
            None => place_unplaced(&racks, plans, o, warnings, &mut out),
        }
    }
    out
}

/// Where the racks of one aisle go.
struct RackMaker {
    site: String,
    room: String,
    aisle: String,
}

impl RackMaker {
    fn rack(&self, name: String, default: bool) -> PlacedRack {
        PlacedRack {
            site: self.site.clone(),
            room: self.room.clone(),
            aisle: self.aisle.clone(),
            name,
            default,
            devices: Vec::new(),
        }
    }
}

/// Hosts without a rack: stacked in the default rack, which overflows into more racks.
fn place_unplaced(
    racks: &RackMaker,
    plans: Vec<Plan>,
    o: &Options,
    warnings: &mut Vec<String>,
    out: &mut Vec<PlacedRack>,
) {
    let rack_height = u64::from(o.rack_height);
    let mut current = racks.rack(o.default_rack.clone(), true);
    let mut occupied = Vec::new();
    let mut number = 1;
    for p in plans {
        let h = u64::from(p.height);
        let mut at = first_fit(&occupied, h, rack_height);
        if at.is_none() && !current.devices.is_empty() {
            number += 1;
            let full = std::mem::replace(
                &mut current,
                racks.rack(format!("{}-{number}", o.default_rack), true),
            );
            warnings.push(format!(
                "default rack `{}` is full; rack `{}` added",
                full.name, current.name
            ));
            out.push(full);
            occupied.clear();
            at = first_fit(&occupied, h, rack_height);
        }
        let Some(u) = at else {
            warnings.push(format!(
                "host {}: {}U does not fit a {}U rack; skipped",
                p.host, p.height, o.rack_height
            ));
            continue;
        };
        warnings.push(format!(
            "host {}: no rack found ({}); placed in default rack `{}` at U{u}{}",
            p.host,
            rack_sources(o),
            current.name,
            p.u_ignored
                .map(|x| format!(" (its U{x} is ignored without a rack)"))
                .unwrap_or_default()
        ));
        occupy(&mut occupied, u, u + h - 1);
        current.devices.push(single(p, clamp_u32(u)));
    }
    if !current.devices.is_empty() {
        out.push(current);
    }
}

/// Hosts of a named rack: those with a U first, then the others stacked in the gaps.
fn place_in_rack(
    racks: &RackMaker,
    rack: String,
    plans: Vec<Plan>,
    o: &Options,
    warnings: &mut Vec<String>,
) -> PlacedRack {
    let mut placed = racks.rack(rack, false);
    let (explicit, stacked): (Vec<Plan>, Vec<Plan>) =
        plans.into_iter().partition(|p| p.u.is_some());
    let mut both = place_explicit(&mut placed, explicit, o, warnings);
    // Stacked hosts avoid both faces: a server without a U is assumed full depth.
    both.sort_unstable();
    let rack = &placed.name;
    let rack_height = u64::from(o.rack_height);
    for p in stacked {
        let h = u64::from(p.height);
        match first_fit(&both, h, rack_height) {
            Some(u) => {
                warnings.push(format!(
                    "host {}: no U{} in rack {rack}; stacked at U{u}",
                    p.host,
                    if o.u_var.is_empty() {
                        String::new()
                    } else {
                        format!(" ({})", o.u_var.join(", "))
                    }
                ));
                occupy(&mut both, u, u + h - 1);
                placed.devices.push(single(p, clamp_u32(u)));
            }
            None => warnings.push(format!(
                "host {}: no room left for {}U in rack {rack} ({}U); skipped",
                p.host, p.height, o.rack_height
            )),
        }
    }
    placed.devices.sort_by(|a, b| {
        a.u.cmp(&b.u)
            .then_with(|| (a.face == Face::Rear).cmp(&(b.face == Face::Rear)))
    });
    placed
}

/// Hosts at a given U; those at the same U and face share one device, a multi-node
/// chassis. Returns the units taken, front ones then rear ones.
fn place_explicit(
    placed: &mut PlacedRack,
    explicit: Vec<Plan>,
    o: &Options,
    warnings: &mut Vec<String>,
) -> Vec<(u64, u64)> {
    let rack = placed.name.clone();
    let rack_height = u64::from(o.rack_height);
    let mut front: Vec<(u64, u64)> = Vec::new();
    let mut rear: Vec<(u64, u64)> = Vec::new();
    let mut at_u: BTreeMap<(u32, bool), Vec<Plan>> = BTreeMap::new();
    for p in explicit {
        let u = p.u.unwrap_or(1);
        at_u.entry((u, p.face == Face::Rear)).or_default().push(p);
    }
    for ((u, _), mut group) in at_u {
        group.sort_by(|a, b| {
            a.slot
                .unwrap_or(u64::MAX)
                .cmp(&b.slot.unwrap_or(u64::MAX))
                .then_with(|| natural_cmp(&a.host, &b.host))
        });
        let names: Vec<String> = group.iter().map(|p| p.host.clone()).collect();
        let label = names.join(", ");
        let height = group.iter().map(|p| p.height).max().unwrap_or(1);
        let (lo, hi) = (u64::from(u), u64::from(u) + u64::from(height) - 1);
        if hi > rack_height {
            warnings.push(format!(
                "{label}: U{lo}-U{hi} does not fit rack {rack} ({}U); skipped",
                o.rack_height
            ));
            continue;
        }
        let face = group.first().map(|p| p.face).unwrap_or_default();
        let same_face = if face == Face::Rear {
            &mut rear
        } else {
            &mut front
        };
        if overlaps(same_face, lo, hi) {
            warnings.push(format!(
                "{label}: U{lo}-U{hi} overlaps a device placed lower in rack {rack}; skipped"
            ));
            continue;
        }
        occupy(same_face, lo, hi);
        let mut device = chassis(group, u, height, warnings);
        device.hosts = names;
        placed.devices.push(device);
    }
    front.extend(rear);
    front
}

fn single(p: Plan, u: u32) -> PlacedDevice {
    PlacedDevice {
        hosts: vec![p.host],
        u,
        height: p.height,
        face: p.face,
        template: p.template,
        labels: p.labels,
    }
}

fn chassis(group: Vec<Plan>, u: u32, height: u32, warnings: &mut Vec<String>) -> PlacedDevice {
    let mut labels: BTreeMap<&'static str, BTreeSet<String>> = BTreeMap::new();
    let mut template = None::<String>;
    let mut face = Face::Front;
    let mut others = BTreeSet::new();
    for (i, p) in group.into_iter().enumerate() {
        if i == 0 {
            face = p.face;
            template = Some(p.template.clone());
        } else if template.as_deref() != Some(p.template.as_str()) {
            others.insert(p.template.clone());
        }
        for (k, v) in p.labels {
            labels.entry(k).or_default().extend(v);
        }
    }
    let template = template.unwrap_or_else(|| GENERIC.to_owned());
    if !others.is_empty() {
        warnings.push(format!(
            "hosts sharing U{u}: hardware differs ({}); template of the first host used",
            others
                .iter()
                .map(|t| shown(t))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    PlacedDevice {
        hosts: Vec::new(),
        u,
        height,
        face,
        template,
        labels,
    }
}

fn shown(template: &str) -> &str {
    if template == GENERIC {
        "generic"
    } else {
        template
    }
}

/// An id unique within its kind: the slug of the name, else prefixed with its parent's.
fn claim(ids: &mut Ids, name: &str, parent: &str) -> String {
    let prefixed = slug(&format!("{parent}-{name}"));
    ids.claim([slug(name), prefixed.clone()], &prefixed)
}

fn slots_for(n: usize) -> Option<Slots> {
    if n <= 1 {
        return None;
    }
    let n = u32::try_from(n).unwrap_or(u32::MAX);
    let mut cols = 1u32;
    while cols.saturating_mul(cols) < n {
        cols += 1;
    }
    Some(Slots {
        rows: n.div_ceil(cols),
        cols,
    })
}

/// Rackscope's type for a BlueBanquise equipment type.
fn kind_of(raw: &str) -> String {
    match raw.to_ascii_lowercase().as_str() {
        "server" | "node" | "compute" => "server".into(),
        "storage" | "disk" | "nas" | "san" => "storage".into(),
        "switch" | "network" | "router" | "firewall" | "ethernet_switch" | "infiniband_switch"
        | "ib_switch" => "network".into(),
        "pdu" => "pdu".into(),
        other => slug(other),
    }
}

fn cmp_rack(a: &PlacedRack, b: &PlacedRack) -> Ordering {
    natural_cmp(&a.site, &b.site)
        .then_with(|| natural_cmp(&a.room, &b.room))
        .then_with(|| natural_cmp(&a.aisle, &b.aisle))
        .then_with(|| a.default.cmp(&b.default))
        .then_with(|| natural_cmp(&a.name, &b.name))
}

fn build(
    mut racks: Vec<PlacedRack>,
    mut bases: BTreeMap<String, TemplateBase>,
    o: &Options,
    warnings: &mut Vec<String>,
) -> Inventory {
    racks.sort_by(cmp_rack);
    for r in &racks {
        for d in &r.devices {
            if let Some(b) = bases.get_mut(&d.template) {
                b.variants.insert((d.height, d.hosts.len()));
            }
        }
    }
    let (templates, ids_of) = templates(&bases, o, warnings);
    Inventory {
        source: o.source(),
        sites: tree(racks, &ids_of, o),
        templates,
        warnings: Vec::new(),
        records: None,
    }
}

/// (template base, height, node count) -> template id.
type TemplateIds = BTreeMap<(String, u32, usize), String>;

/// Template ids: a hardware group keeps its own name unless its devices differ in height
/// or node count; the generic one always says its height.
fn templates(
    bases: &BTreeMap<String, TemplateBase>,
    o: &Options,
    warnings: &mut Vec<String>,
) -> (Vec<Template>, TemplateIds) {
    let mut template_ids = Ids::default();
    let mut ids_of = TemplateIds::new();
    let mut templates = Vec::new();
    for (key, b) in bases {
        let generic = key == GENERIC;
        let kind = if generic {
            "server".to_owned()
        } else {
            match &b.kind {
                Some(k) if !k.eq_ignore_ascii_case("none") => kind_of(k),
                _ => {
                    if !b.variants.is_empty() {
                        warnings.push(format!(
                            "template {}: no equipment type ({}); type server assumed",
                            b.name,
                            o.kind_var.join(", ")
                        ));
                    }
                    "server".to_owned()
                }
            }
        };
        let several = b.variants.len() > 1;
        for &(height, n) in &b.variants {
            let (wanted, name) = template_name(b, generic, several, height, n);
            let id = claim(&mut template_ids, &wanted, "template");
            ids_of.insert((key.clone(), height, n), id.clone());
            templates.push(Template {
                id,
                name,
                kind: kind.clone(),
                u_height: height,
                slots: slots_for(n),
            });
        }
    }
    templates.sort_by(|a, b| a.id.cmp(&b.id));
    (templates, ids_of)
}

/// (wanted id, name) of the variant of `b` that is `height` U high with `n` nodes.
fn template_name(
    b: &TemplateBase,
    generic: bool,
    several: bool,
    height: u32,
    n: usize,
) -> (String, String) {
    let nodes = if n > 1 {
        format!(" {n} nodes")
    } else {
        String::new()
    };
    let suffix = if n > 1 {
        format!("-{n}n")
    } else {
        String::new()
    };
    if generic {
        (
            format!("generic-{height}u{suffix}"),
            format!("Generic {height}U server{nodes}"),
        )
    } else if several {
        (
            format!("{}-{height}u{suffix}", b.name),
            format!("{} {height}U{nodes}", b.name),
        )
    } else {
        (b.name.clone(), b.name.clone())
    }
}

#[derive(Default)]
struct TreeIds {
    sites: Ids,
    rooms: Ids,
    aisles: Ids,
    racks: Ids,
    devices: Ids,
}

/// The sites, rooms and aisles of racks sorted by them, each opened at its first rack.
fn tree(racks: Vec<PlacedRack>, ids_of: &TemplateIds, o: &Options) -> Vec<Site> {
    let mut ids = TreeIds::default();
    let port = o.instance_port.map(|p| format!(":{p}")).unwrap_or_default();
    let mut sites: Vec<Site> = Vec::new();
    for r in racks {
        if sites.last().map(|s| &s.name) != Some(&r.site) {
            sites.push(Site {
                id: claim(&mut ids.sites, &r.site, "site"),
                name: r.site.clone(),
                description: None,
                location: None,
                rooms: Vec::new(),
            });
        }
        let Some(site) = sites.last_mut() else {
            continue;
        };
        if site.rooms.last().map(|x| &x.name) != Some(&r.room) {
            let id = claim(&mut ids.rooms, &r.room, &site.id);
            site.rooms.push(Room {
                id,
                name: r.room.clone(),
                description: None,
                aisles: Vec::new(),
            });
        }
        let Some(room) = site.rooms.last_mut() else {
            continue;
        };
        if room.aisles.last().map(|x| &x.name) != Some(&r.aisle) {
            let id = claim(&mut ids.aisles, &r.aisle, &room.id);
            room.aisles.push(Aisle {
                id,
                name: r.aisle.clone(),
                racks: Vec::new(),
            });
        }
        let Some(aisle) = room.aisles.last_mut() else {
            continue;
        };
        let rack_id = claim(&mut ids.racks, &r.name, &aisle.id);
        let devices = r
            .devices
            .into_iter()
            .map(|d| device(d, &r.name, &rack_id, &mut ids.devices, ids_of, &port))
            .collect();
        aisle.racks.push(Rack {
            id: rack_id,
            name: r.name,
            u_height: o.rack_height,
            devices,
        });
    }
    sites
}

/// A placed device: named after its host, or after its rack and U when it holds several.
fn device(
    d: PlacedDevice,
    rack_name: &str,
    rack_id: &str,
    device_ids: &mut Ids,
    ids_of: &TemplateIds,
    port: &str,
) -> Device {
    let (id, name) = match d.hosts.as_slice() {
        [one] => (claim(device_ids, one, rack_id), one.clone()),
        _ => {
            let rear = if d.face == Face::Rear { " rear" } else { "" };
            let name = format!("{rack_name} U{}{rear}", d.u);
            (
                claim(device_ids, &format!("{rack_id}-u{}{rear}", d.u), rack_id),
                name,
            )
        }
    };
    let template_id = ids_of
        .get(&(d.template.clone(), d.height, d.hosts.len()))
        .cloned()
        .unwrap_or_else(|| slug(shown(&d.template)));
    Device {
        id,
        name,
        template_id,
        u_position: d.u,
        face: d.face,
        instances: d.hosts.iter().map(|h| format!("{h}{port}")).collect(),
        labels: d
            .labels
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.into_iter().collect::<Vec<_>>().join(",")))
            .collect(),
    }
}
