//! Hosts placed in racks: at their U (hosts sharing a U make a chassis), stacked in the
//! gaps, or stacked in default racks when no rule gives a rack.

use super::*;

/// Lowest U from which `height` free units are found, above `from`, among sorted intervals.
pub(super) fn first_fit(occupied: &[(u64, u64)], height: u64, rack_height: u64) -> Option<u64> {
    let mut candidate = 1u64;
    for &(lo, hi) in occupied {
        if candidate + height - 1 < lo {
            break;
        }
        candidate = candidate.max(hi + 1);
    }
    (candidate + height - 1 <= rack_height).then_some(candidate)
}

pub(super) fn occupy(occupied: &mut Vec<(u64, u64)>, lo: u64, hi: u64) {
    let at = occupied.partition_point(|&(l, _)| l < lo);
    occupied.insert(at, (lo, hi));
}

pub(super) fn overlaps(occupied: &[(u64, u64)], lo: u64, hi: u64) -> bool {
    occupied.iter().any(|&(l, h)| l <= hi && lo <= h)
}

pub(super) type RackKey = (String, String, String, Option<String>);

pub(super) fn place(plans: Vec<Plan>, o: &Options, warnings: &mut Vec<String>) -> Vec<PlacedRack> {
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
pub(super) struct RackMaker {
    pub(super) site: String,
    pub(super) room: String,
    pub(super) aisle: String,
}

impl RackMaker {
    pub(super) fn rack(&self, name: String, default: bool) -> PlacedRack {
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
pub(super) fn place_unplaced(
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
pub(super) fn place_in_rack(
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
pub(super) fn place_explicit(
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

pub(super) fn single(p: Plan, u: u32) -> PlacedDevice {
    PlacedDevice {
        hosts: vec![p.host],
        u,
        height: p.height,
        face: p.face,
        template: p.template,
        labels: p.labels,
    }
}

pub(super) fn chassis(
    group: Vec<Plan>,
    u: u32,
    height: u32,
    warnings: &mut Vec<String>,
) -> PlacedDevice {
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
