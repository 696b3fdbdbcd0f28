//! Maps the source model to an inventory: datacenter → site, room → room, row → aisle,
//! rack → rack in slot order, equipment → devices at the U RacksDB's placement rule gives,
//! with fractional-width items sharing a U grouped into one multi-instance device.

use std::collections::{BTreeMap, BTreeSet};

use rackscope_importer_abi::{
    Aisle, Device, Face, Ids, Inventory, Location, Rack, Reporter, Room, Site, Slots, Template,
    slug,
};

use crate::Options;
use crate::source::{Category, Datacenter, EqSet, EqType, RowSrc, Source};

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
pub(crate) fn columns(ty: &EqType) -> u64 {
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

type Types = BTreeMap<(Category, String), EqType>;

fn matches(filter: &[String], name: &str) -> bool {
    filter.is_empty() || filter.iter().any(|f| f == name || slug(f) == slug(name))
}

/// Maps the source in passes: check the filters, lay out the racks, name the templates,
/// place the equipment, turn it into devices rack by rack, then list the templates in use.
pub(crate) fn build(
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
    check_filters(&datacenters, &sets, opts)?;
    let mut layout = Layout::new(datacenters, opts, &mut warnings);
    progress.report("racks laid out", layout.rack_refs.len() as u64, None);
    let template_of = template_ids(&types, &mut warnings);
    let total_sets = sets.len() as u64;
    let work = layout.gather(sets, &types, opts, progress, &mut warnings);
    let mut device_ids = Ids::default();
    let mut claimed = BTreeMap::new();
    let mut used_templates: BTreeSet<(Category, String)> = BTreeSet::new();
    for (rack_ix, rw) in work {
        let Some(rack) = layout.rack_mut(rack_ix) else {
            continue;
        };
        let mut taken: Vec<(u32, u32, String)> = Vec::new();
        for cand in rw.candidates {
            let key = (cand.category, cand.type_id.clone());
            let (Some(ty), Some(template_id)) = (types.get(&key), template_of.get(&key)) else {
                continue;
            };
            let mut ctx = DeviceContext {
                rack_name: &rack.name,
                rack_height: rack.u_height,
                taken: &mut taken,
                device_ids: &mut device_ids,
                claimed: &mut claimed,
                opts,
                warnings: &mut warnings,
            };
            if let Some(device) = ctx.device(cand, ty, template_id) {
                used_templates.insert(key);
                rack.devices.push(device);
            }
        }
        rack.devices.sort_by(|a, b| {
            a.u_position
                .cmp(&b.u_position)
                .then_with(|| a.id.cmp(&b.id))
        });
    }
    let templates = templates(&used_templates, &types, &template_of);
    if !templates.is_empty() {
        warnings.push(
            "RacksDB has no device face: every device is placed on the front of its rack".into(),
        );
    }
    progress.report("done", total_sets, Some(total_sets));
    Ok(Inventory {
        source,
        sites: layout.sites,
        templates,
        warnings,
        records: None,
    })
}

/// Every datacenter and infrastructure the options name must be in the source.
fn check_filters(datacenters: &[Datacenter], sets: &[EqSet], opts: &Options) -> Result<(), String> {
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
    Ok(())
}

/// The physical hierarchy, with an index from rack name to its place.
#[derive(Default)]
struct Layout {
    site_ids: Ids,
    room_ids: Ids,
    aisle_ids: Ids,
    rack_ids: Ids,
    sites: Vec<Site>,
    rack_refs: Vec<RackRef>,
    rack_by_name: BTreeMap<String, usize>,
    /// Racks of the datacenters the options leave out: their equipment goes silently.
    filtered_racks: BTreeSet<String>,
}

impl Layout {
    fn new(datacenters: Vec<Datacenter>, opts: &Options, warnings: &mut Vec<String>) -> Layout {
        let mut layout = Layout::default();
        for dc in datacenters {
            if matches(&opts.datacenters, &dc.name) {
                let site = layout.site(dc, warnings);
                layout.sites.push(site);
            } else {
                for room in &dc.rooms {
                    for row in &room.rows {
                        layout
                            .filtered_racks
                            .extend(row.racks.iter().map(|r| r.name.clone()));
                    }
                }
            }
        }
        layout
    }

    fn site(&mut self, dc: Datacenter, warnings: &mut Vec<String>) -> Site {
        let site_ix = self.sites.len();
        let site_id = take(
            &mut self.site_ids,
            slug(&dc.name),
            &format!("datacenter `{}`", dc.name),
            warnings,
        );
        let mut rooms = Vec::new();
        for (room_ix, room) in dc.rooms.into_iter().enumerate() {
            let room_id = take(
                &mut self.room_ids,
                slug(&format!("{}-{}", dc.name, room.name)),
                &format!("room `{}`", room.name),
                warnings,
            );
            let mut aisles = Vec::new();
            for (aisle_ix, row) in room.rows.into_iter().enumerate() {
                let aisle = self.aisle(row, &room_id, (site_ix, room_ix, aisle_ix), warnings);
                aisles.push(aisle);
            }
            rooms.push(Room {
                id: room_id,
                name: room.name,
                description: None,
                aisles,
            });
        }
        Site {
            id: site_id,
            name: dc.name,
            description: None,
            location: dc.location.map(|l| Location {
                lat: l.lat,
                lon: l.lon,
                address: None,
            }),
            rooms,
        }
    }

    /// A row as an aisle; `place` is its (site, room, aisle) index.
    fn aisle(
        &mut self,
        row: RowSrc,
        room_id: &str,
        (site, room, aisle): (usize, usize, usize),
        warnings: &mut Vec<String>,
    ) -> Aisle {
        let aisle_id = take(
            &mut self.aisle_ids,
            slug(&format!("{room_id}-{}", row.name)),
            &format!("row `{}`", row.name),
            warnings,
        );
        let mut racks_src = row.racks;
        // The row's physical order is RacksDB's rack `slot`, not the order written.
        racks_src.sort_by_key(|r| r.slot);
        let mut racks = Vec::new();
        for (rack, r) in racks_src.into_iter().enumerate() {
            if self.rack_by_name.contains_key(&r.name) {
                warnings.push(format!(
                    "rack `{}` is defined more than once; equipment goes to the first",
                    r.name
                ));
            } else {
                self.rack_by_name
                    .insert(r.name.clone(), self.rack_refs.len());
            }
            self.rack_refs.push(RackRef {
                site,
                room,
                aisle,
                rack,
                initial: r.initial,
            });
            racks.push(Rack {
                id: take(
                    &mut self.rack_ids,
                    slug(&r.name),
                    &format!("rack `{}`", r.name),
                    warnings,
                ),
                name: r.name,
                u_height: r.units,
                devices: Vec::new(),
            });
        }
        Aisle {
            id: aisle_id,
            name: row.name,
            racks,
        }
    }

    fn rack_mut(&mut self, rack_ix: usize) -> Option<&mut Rack> {
        let rr = self.rack_refs.get(rack_ix)?;
        self.sites
            .get_mut(rr.site)
            .and_then(|s| s.rooms.get_mut(rr.room))
            .and_then(|r| r.aisles.get_mut(rr.aisle))
            .and_then(|a| a.racks.get_mut(rr.rack))
    }

    /// Places every item and gathers, rack by rack, the items that share a device.
    fn gather(
        &self,
        sets: Vec<EqSet>,
        types: &Types,
        opts: &Options,
        progress: &mut Reporter<'_>,
        warnings: &mut Vec<String>,
    ) -> BTreeMap<usize, RackWork> {
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
            let Some(&rack_ix) = self.rack_by_name.get(&set.rack) else {
                if !self.filtered_racks.contains(&set.rack) {
                    warnings.push(format!(
                        "{label}: rack `{}` is not in any datacenter; skipped",
                        set.rack
                    ));
                }
                continue;
            };
            let Some(rack) = self.rack_refs.get(rack_ix) else {
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
            work.entry(rack_ix).or_default().add(set, rack.initial, ty);
        }
        work
    }
}

impl RackWork {
    /// The items of `set`, at their place; fractional-width items of one type that share
    /// a U join one candidate.
    fn add(&mut self, set: EqSet, initial: i64, ty: &EqType) {
        for (k, name) in set.names.into_iter().enumerate() {
            let (offset, column) = match set.positions.as_ref().and_then(|p| p.get(k)) {
                Some(&p) => p,
                None => place(set.first_slot, initial, k, ty),
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
                if let Some(c) = self
                    .groups
                    .get(&key)
                    .and_then(|&ix| self.candidates.get_mut(ix))
                {
                    c.items.push(placed);
                    continue;
                }
                self.groups.insert(key, self.candidates.len());
            }
            self.candidates.push(Candidate {
                offset,
                category: set.category,
                type_id: set.type_id.clone(),
                items: vec![placed],
            });
        }
    }
}

/// Template ids: the type id, made unique across categories.
fn template_ids(types: &Types, warnings: &mut Vec<String>) -> BTreeMap<(Category, String), String> {
    let mut template_ids = Ids::default();
    let mut template_of = BTreeMap::new();
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
            warnings,
        );
        template_of.insert((*cat, id.clone()), tid);
    }
    template_of
}

/// What turning one rack's candidates into devices needs: the rack, the units already
/// taken (the first of any overlap is kept), and the ids and names handed out.
struct DeviceContext<'a> {
    rack_name: &'a str,
    rack_height: u32,
    taken: &'a mut Vec<(u32, u32, String)>,
    device_ids: &'a mut Ids,
    /// Equipment name -> where its device is. A name is an instance, which must be unique,
    /// but RacksDB does not stop a database from naming one item twice.
    claimed: &'a mut BTreeMap<String, String>,
    opts: &'a Options,
    warnings: &'a mut Vec<String>,
}

impl DeviceContext<'_> {
    /// The device of a candidate; `None`, with a warning, when it does not fit or overlaps.
    fn device(&mut self, mut cand: Candidate, ty: &EqType, template_id: &str) -> Option<Device> {
        cand.items.sort_by_key(|p| p.column);
        let mut items: Vec<Placed> = Vec::new();
        let cols = i64::try_from(columns(ty)).unwrap_or(i64::MAX);
        for p in cand.items {
            // RacksDB's own positions are within the type's columns; one outside them
            // would be an instance beyond the template's slots.
            if ty.width < 1.0 && !(0..cols).contains(&p.column) {
                self.warnings.push(format!(
                    "`{}` in rack `{}` (U{}): column {} is outside the {cols} columns of type `{}`; skipped",
                    p.name,
                    self.rack_name,
                    p.offset.saturating_add(1),
                    p.column,
                    ty.id
                ));
                continue;
            }
            if let Some(prev) = items.iter().find(|q| q.column == p.column) {
                self.warnings.push(format!(
                    "`{}` in rack `{}` takes the same place as `{}` (U{}, column {}); skipped",
                    p.name,
                    self.rack_name,
                    prev.name,
                    p.offset.saturating_add(1),
                    p.column
                ));
                continue;
            }
            let here = self.place_of(&p, ty);
            let first = match self.claimed.get(&p.name) {
                Some(first) => Some(first.clone()),
                None => items
                    .iter()
                    .find(|q| q.name == p.name)
                    .map(|q| self.place_of(q, ty)),
            };
            if let Some(first) = first {
                self.warnings.push(format!(
                    "`{}` in {here} is already in {first}; skipped",
                    p.name
                ));
                continue;
            }
            items.push(p);
        }
        if items.is_empty() {
            return None;
        }
        let names: Vec<String> = items.iter().map(|p| p.name.clone()).collect();
        let name = crate::nodeset::fold(&names);
        let (u, top) = self.units(&name, cand.offset, ty)?;
        self.taken.push((u, top, name.clone()));
        // Claimed only once placed, so that an item skipped here does not hide a later one.
        for p in &items {
            let place = self.place_of(p, ty);
            self.claimed.insert(p.name.clone(), place);
        }
        let first = names.first().cloned().unwrap_or_default();
        let id = take(
            self.device_ids,
            slug(&first),
            &format!("device `{name}`"),
            self.warnings,
        );
        let instances = names
            .iter()
            .map(|n| match self.opts.instance_port {
                Some(port) => format!("{n}:{port}"),
                None => n.clone(),
            })
            .collect();
        Some(Device {
            id,
            name,
            template_id: template_id.to_owned(),
            u_position: u,
            face: Face::Front,
            instances,
            labels: labels(&items),
        })
    }

    /// Where an item sits, as the warnings name it: its rack and U, and its column when
    /// items share the U.
    fn place_of(&self, p: &Placed, ty: &EqType) -> String {
        let u = p.offset.saturating_add(1);
        if ty.width < 1.0 {
            format!("rack `{}` (U{u}, column {})", self.rack_name, p.column)
        } else {
            format!("rack `{}` (U{u})", self.rack_name)
        }
    }

    /// The lowest and highest U of a device at `offset`; `None`, with a warning, when they
    /// are outside the rack or overlap a device already there.
    fn units(&mut self, name: &str, offset: i64, ty: &EqType) -> Option<(u32, u32)> {
        let rack = self.rack_name;
        let Ok(u) = u32::try_from(offset.saturating_add(1)) else {
            self.warnings.push(format!(
                "`{name}` in rack `{rack}`: its slot puts it below the first U (offset {offset}); skipped"
            ));
            return None;
        };
        if u == 0 {
            self.warnings.push(format!(
                "`{name}` in rack `{rack}`: its slot puts it below the first U; skipped"
            ));
            return None;
        }
        let top = u.saturating_add(ty.height.saturating_sub(1));
        if top > self.rack_height {
            self.warnings.push(format!(
                "`{name}` in rack `{rack}`: U{u}-U{top} does not fit a {}U rack; skipped",
                self.rack_height
            ));
            return None;
        }
        if let Some((_, _, other)) = self.taken.iter().find(|(lo, hi, _)| u <= *hi && *lo <= top) {
            self.warnings.push(format!(
                "`{name}` in rack `{rack}` (U{u}-U{top}) overlaps `{other}`; skipped"
            ));
            return None;
        }
        Some((u, top))
    }
}

/// The infrastructures and tags of a device's items, each joined with commas.
fn labels(items: &[Placed]) -> BTreeMap<String, String> {
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
    labels
}

fn templates(
    used: &BTreeSet<(Category, String)>,
    types: &Types,
    template_of: &BTreeMap<(Category, String), String>,
) -> Vec<Template> {
    let mut templates: Vec<Template> = used
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
    templates
}

fn nodeset_label(names: &[String]) -> String {
    crate::nodeset::fold(names)
}
