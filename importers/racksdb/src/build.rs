//! Maps the source model to an inventory: datacenter → site, room → room, row → aisle,
//! rack → rack in slot order, equipment → devices at the U RacksDB's placement rule gives,
//! with fractional-width items sharing a U grouped into one multi-instance device.

use std::collections::{BTreeMap, BTreeSet};

use rackscope_importer_abi::{
    Aisle, Device, Face, Ids, Inventory, Location, Rack, Reporter, Room, Site, Slots, Template,
    slug,
};

use crate::Options;
use crate::source::{Category, EqType, Source};

/// RacksDB's placement of item `k` (0-based) of a set whose first item sits at `first_slot`:
/// returns (U offset from the bottom of the rack, 0-based; column from the left, 0-based).
///
/// The arithmetic is RacksDB's own (`racksdb/bases.py`, computed `position`), floating point
/// included, so that the result is the one RacksDB shows:
/// height = first_slot − initial + ⌊k·width⌋·type height; column = k mod int(1/width).
pub fn place(first_slot: i64, initial: i64, k: usize, ty: &EqType) -> (i64, i64) {
    let k_f = k as f64;
    let row = (k_f * ty.width).floor();
    let row = if row.is_finite() { row as i64 } else { 0 };
    let offset = first_slot
        .saturating_sub(initial)
        .saturating_add(row.saturating_mul(i64::from(ty.height)));
    let column = (k as u64) % columns(ty);
    (offset, i64::try_from(column).unwrap_or(i64::MAX))
}

/// How many items of a type sit side by side: int(1/width), as RacksDB computes it.
pub fn columns(ty: &EqType) -> u64 {
    let c = 1.0 / ty.width;
    if c.is_finite() && c >= 1.0 {
        c as u64
    } else {
        1
    }
}

/// An id unique within its kind, naming any renaming in the warnings.
fn take(ids: &mut Ids, base: String, what: &str, warnings: &mut Vec<String>) -> String {
    let id = ids.claim([base.clone()], &base);
    if id != base {
        warnings.push(format!(
            "{what}: id `{base}` is already used; `{id}` used instead"
        ));
    }
    id
}

struct RackRef {
    site: usize,
    room: usize,
    aisle: usize,
    rack: usize,
    initial: i64,
}

struct Placed {
    name: String,
    offset: i64,
    column: i64,
    infrastructure: String,
    tags: Vec<String>,
}

/// Items that become one device: one item, or the fractional-width items of one type that
/// share a U.
struct Candidate {
    offset: i64,
    category: Category,
    type_id: String,
    items: Vec<Placed>,
}

#[derive(Default)]
struct RackWork {
    candidates: Vec<Candidate>,
    groups: BTreeMap<(i64, Category, String), usize>,
}

fn matches(filter: &[String], name: &str) -> bool {
    filter.is_empty() || filter.iter().any(|f| f == name || slug(f) == slug(name))
}

pub fn build(
    src: Source,
    opts: &Options,
    source: String,
    progress: &mut Reporter<'_>,
) -> Result<Inventory, String> {
    let Source {
        datacenters,
        types,
        sets,
        mut warnings,
        names_left: _,
    } = src;
    if datacenters.is_empty() {
        return Err("the RacksDB source has no datacenters".into());
    }
    for wanted in &opts.datacenters {
        if !datacenters
            .iter()
            .any(|d| matches(std::slice::from_ref(wanted), &d.name))
        {
            let known: Vec<&str> = datacenters.iter().map(|d| d.name.as_str()).collect();
            return Err(format!(
                "datacenter `{wanted}` is not in the source; it has: {}",
                known.join(", ")
            ));
        }
    }
    for wanted in &opts.infrastructures {
        if !sets
            .iter()
            .any(|s| matches(std::slice::from_ref(wanted), &s.infrastructure))
        {
            let known: BTreeSet<&str> = sets.iter().map(|s| s.infrastructure.as_str()).collect();
            return Err(format!(
                "infrastructure `{wanted}` is not in the source; it has: {}",
                known.into_iter().collect::<Vec<_>>().join(", ")
            ));
        }
    }

    // The physical hierarchy, with an index from rack name to its place.
    let mut site_ids = Ids::default();
    let mut room_ids = Ids::default();
    let mut aisle_ids = Ids::default();
    let mut rack_ids = Ids::default();
    let mut sites = Vec::new();
    let mut rack_refs: Vec<RackRef> = Vec::new();
    let mut rack_by_name: BTreeMap<String, usize> = BTreeMap::new();
    let mut filtered_racks: BTreeSet<String> = BTreeSet::new();
    for dc in datacenters {
        if !matches(&opts.datacenters, &dc.name) {
            for room in &dc.rooms {
                for row in &room.rows {
                    filtered_racks.extend(row.racks.iter().map(|r| r.name.clone()));
                }
            }
            continue;
        }
        let site_ix = sites.len();
        let site_id = take(
            &mut site_ids,
            slug(&dc.name),
            &format!("datacenter `{}`", dc.name),
            &mut warnings,
        );
        let mut rooms = Vec::new();
        for (room_ix, room) in dc.rooms.into_iter().enumerate() {
            let room_id = take(
                &mut room_ids,
                slug(&format!("{}-{}", dc.name, room.name)),
                &format!("room `{}`", room.name),
                &mut warnings,
            );
            let mut aisles = Vec::new();
            for (aisle_ix, row) in room.rows.into_iter().enumerate() {
                let aisle_id = take(
                    &mut aisle_ids,
                    slug(&format!("{room_id}-{}", row.name)),
                    &format!("row `{}`", row.name),
                    &mut warnings,
                );
                let mut racks_src = row.racks;
                // The row's physical order is RacksDB's rack `slot`, not the order written.
                racks_src.sort_by_key(|r| r.slot);
                let mut racks = Vec::new();
                for (i, r) in racks_src.into_iter().enumerate() {
                    if rack_by_name.contains_key(&r.name) {
                        warnings.push(format!(
                            "rack `{}` is defined more than once; equipment goes to the first",
                            r.name
                        ));
                    } else {
                        rack_by_name.insert(r.name.clone(), rack_refs.len());
                    }
                    rack_refs.push(RackRef {
                        site: site_ix,
                        room: room_ix,
                        aisle: aisle_ix,
                        rack: i,
                        initial: r.initial,
                    });
                    racks.push(Rack {
                        id: take(
                            &mut rack_ids,
                            slug(&r.name),
                            &format!("rack `{}`", r.name),
                            &mut warnings,
                        ),
                        name: r.name,
                        u_height: r.units,
                        devices: Vec::new(),
                    });
                }
                aisles.push(Aisle {
                    id: aisle_id,
                    name: row.name,
                    racks,
                });
            }
            rooms.push(Room {
                id: room_id,
                name: room.name,
                description: None,
                aisles,
            });
        }
        sites.push(Site {
            id: site_id,
            name: dc.name,
            description: None,
            location: dc.location.map(|l| Location {
                lat: l.lat,
                lon: l.lon,
                address: None,
            }),
            rooms,
        });
    }
    progress.report("racks laid out", rack_refs.len() as u64, None);

    // Template ids: the type id, made unique across categories.
    let mut template_ids = Ids::default();
    let mut template_of: BTreeMap<(Category, String), String> = BTreeMap::new();
    for (cat, id) in types.keys() {
        let base = slug(id);
        let base = if template_ids.contains(&base) {
            slug(&format!("{}-{id}", cat.key()))
        } else {
            base
        };
        let tid = take(
            &mut template_ids,
            base,
            &format!("{} type `{id}`", cat.key()),
            &mut warnings,
        );
        template_of.insert((*cat, id.clone()), tid);
    }

    // Place every item and gather the items that share a device.
    let mut work: BTreeMap<usize, RackWork> = BTreeMap::new();
    let total_sets = sets.len() as u64;
    for (done, set) in sets.into_iter().enumerate() {
        if done % 64 == 0 {
            progress.report("placing equipment", done as u64, Some(total_sets));
        }
        if !matches(&opts.infrastructures, &set.infrastructure) {
            continue;
        }
        let label = format!("{} `{}`", set.category.key(), nodeset_label(&set.names));
        let Some(&rack_ix) = rack_by_name.get(&set.rack) else {
            if !filtered_racks.contains(&set.rack) {
                warnings.push(format!(
                    "{label}: rack `{}` is not in any datacenter; skipped",
                    set.rack
                ));
            }
            continue;
        };
        let Some(rack) = rack_refs.get(rack_ix) else {
            continue;
        };
        let Some(ty) = types.get(&(set.category, set.type_id.clone())) else {
            warnings.push(format!(
                "{label}: unknown {} type `{}`; skipped",
                set.category.key(),
                set.type_id
            ));
            continue;
        };
        let rw = work.entry(rack_ix).or_default();
        for (k, name) in set.names.into_iter().enumerate() {
            let (offset, column) = match set.positions.as_ref().and_then(|p| p.get(k)) {
                Some(&p) => p,
                None => place(set.first_slot, rack.initial, k, ty),
            };
            let placed = Placed {
                name,
                offset,
                column,
                infrastructure: set.infrastructure.clone(),
                tags: set.tags.clone(),
            };
            if ty.width < 1.0 {
                let key = (offset, set.category, set.type_id.clone());
                if let Some(c) = rw
                    .groups
                    .get(&key)
                    .and_then(|&ix| rw.candidates.get_mut(ix))
                {
                    c.items.push(placed);
                    continue;
                }
                rw.groups.insert(key, rw.candidates.len());
            }
            rw.candidates.push(Candidate {
                offset,
                category: set.category,
                type_id: set.type_id.clone(),
                items: vec![placed],
            });
        }
    }

    // Turn candidates into devices, rack by rack, keeping the first of any overlap.
    let mut device_ids = Ids::default();
    let mut used_templates: BTreeSet<(Category, String)> = BTreeSet::new();
    for (rack_ix, rw) in work {
        let Some(rr) = rack_refs.get(rack_ix) else {
            continue;
        };
        let Some(rack) = sites
            .get_mut(rr.site)
            .and_then(|s| s.rooms.get_mut(rr.room))
            .and_then(|r| r.aisles.get_mut(rr.aisle))
            .and_then(|a| a.racks.get_mut(rr.rack))
        else {
            continue;
        };
        let mut taken: Vec<(u32, u32, String)> = Vec::new();
        for mut cand in rw.candidates {
            let Some(ty) = types.get(&(cand.category, cand.type_id.clone())) else {
                continue;
            };
            let Some(template_id) = template_of.get(&(cand.category, cand.type_id.clone())) else {
                continue;
            };
            cand.items.sort_by_key(|p| p.column);
            let mut items: Vec<Placed> = Vec::new();
            for p in cand.items {
                if let Some(prev) = items.iter().find(|q| q.column == p.column) {
                    warnings.push(format!(
                        "`{}` in rack `{}` takes the same place as `{}` (U{}, column {}); skipped",
                        p.name,
                        rack.name,
                        prev.name,
                        p.offset.saturating_add(1),
                        p.column
                    ));
                    continue;
                }
                items.push(p);
            }
            let names: Vec<String> = items.iter().map(|p| p.name.clone()).collect();
            let name = crate::nodeset::fold(&names);
            let u = cand.offset.saturating_add(1);
            let Ok(u) = u32::try_from(u) else {
                warnings.push(format!(
                    "`{name}` in rack `{}`: its slot puts it below the first U (offset {}); skipped",
                    rack.name, cand.offset
                ));
                continue;
            };
            if u == 0 {
                warnings.push(format!(
                    "`{name}` in rack `{}`: its slot puts it below the first U; skipped",
                    rack.name
                ));
                continue;
            }
            let top = u.saturating_add(ty.height.saturating_sub(1));
            if top > rack.u_height {
                warnings.push(format!(
                    "`{name}` in rack `{}`: U{u}-U{top} does not fit a {}U rack; skipped",
                    rack.name, rack.u_height
                ));
                continue;
            }
            if let Some((_, _, other)) = taken.iter().find(|(lo, hi, _)| u <= *hi && *lo <= top) {
                warnings.push(format!(
                    "`{name}` in rack `{}` (U{u}-U{top}) overlaps `{other}`; skipped",
                    rack.name
                ));
                continue;
            }
            taken.push((u, top, name.clone()));
            let first = names.first().cloned().unwrap_or_default();
            let id = take(
                &mut device_ids,
                slug(&first),
                &format!("device `{name}`"),
                &mut warnings,
            );
            let mut labels = BTreeMap::new();
            let infras: BTreeSet<&str> = items.iter().map(|p| p.infrastructure.as_str()).collect();
            let infras: Vec<&str> = infras.into_iter().filter(|s| !s.is_empty()).collect();
            if !infras.is_empty() {
                labels.insert("infrastructure".to_owned(), infras.join(","));
            }
            let tags: BTreeSet<&str> = items
                .iter()
                .flat_map(|p| p.tags.iter().map(String::as_str))
                .collect();
            if !tags.is_empty() {
                labels.insert(
                    "tags".to_owned(),
                    tags.into_iter().collect::<Vec<_>>().join(","),
                );
            }
            let instances = names
                .iter()
                .map(|n| match opts.instance_port {
                    Some(port) => format!("{n}:{port}"),
                    None => n.clone(),
                })
                .collect();
            used_templates.insert((cand.category, cand.type_id.clone()));
            rack.devices.push(Device {
                id,
                name,
                template_id: template_id.clone(),
                u_position: u,
                face: Face::Front,
                instances,
                labels,
            });
        }
        rack.devices.sort_by(|a, b| {
            a.u_position
                .cmp(&b.u_position)
                .then_with(|| a.id.cmp(&b.id))
        });
    }

    let mut templates: Vec<Template> = used_templates
        .iter()
        .filter_map(|key| {
            let ty = types.get(key)?;
            let id = template_of.get(key)?.clone();
            Some(Template {
                id,
                name: ty.model.clone().unwrap_or_else(|| ty.id.clone()),
                kind: key.0.kind().to_owned(),
                u_height: ty.height,
                slots: (ty.width < 1.0).then(|| Slots {
                    rows: 1,
                    cols: u32::try_from(columns(ty)).unwrap_or(u32::MAX),
                }),
            })
        })
        .collect();
    templates.sort_by(|a, b| a.id.cmp(&b.id));
    if !templates.is_empty() {
        warnings.push(
            "RacksDB has no device face: every device is placed on the front of its rack".into(),
        );
    }
    progress.report("done", total_sets, Some(total_sets));
    Ok(Inventory {
        source,
        sites,
        templates,
        warnings,
        records: None,
    })
}

fn nodeset_label(names: &[String]) -> String {
    crate::nodeset::fold(names)
}
