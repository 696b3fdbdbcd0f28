//! The first pass: sites, locations, rack groups and device types, indexed by NetBox id,
//! and the template id of every device type.

use super::*;

pub(super) struct Index {
    pub(super) sites: BTreeMap<i64, SiteRec>,
    pub(super) locations: BTreeMap<i64, LocRec>,
    pub(super) groups: BTreeMap<i64, GroupRec>,
    pub(super) types: BTreeMap<i64, TypeRec>,
    /// Device type id -> template id.
    pub(super) type_template: BTreeMap<i64, String>,
}

impl Index {
    pub(super) fn new(lists: &Lists, warnings: &mut Vec<String>) -> Index {
        let mut sites: BTreeMap<i64, SiteRec> = BTreeMap::new();
        for v in &lists.sites {
            let Some(id) = id_of(v) else {
                warnings.push("a site without an id was skipped".into());
                continue;
            };
            let rec = site_rec(v);
            // NetBox ids are unique: of two sites with one id, the first read is kept, as
            // for racks.
            if let Some(first) = sites.get(&id) {
                warnings.push(format!(
                    "site {}: its NetBox id ({id}) is also site {}'s: skipped",
                    rec.name, first.name
                ));
                continue;
            }
            sites.insert(id, rec);
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
    pub(super) fn location(&self, l: i64) -> (String, String) {
        let loc = self.locations.get(&l);
        let name = loc.map_or_else(|| format!("location {l}"), |x| x.name.clone());
        let slug_ = loc.map_or_else(|| slug(&name), |x| x.slug.clone());
        (name, slug_)
    }

    /// The name and slug of rack group `g`, made up when the list did not hold it.
    pub(super) fn group(&self, g: i64) -> (String, String) {
        let group = self.groups.get(&g);
        let name = group.map_or_else(|| format!("rack group {g}"), |x| x.name.clone());
        let slug_ = group.map_or_else(|| slug(&name), |x| x.slug.clone());
        (name, slug_)
    }
}

pub(super) fn loc_rec(v: &Value) -> LocRec {
    let name = text(v, "name").unwrap_or("unnamed location").to_owned();
    LocRec {
        slug: text(v, "slug").map_or_else(|| slug(&name), slug),
        name,
        parent: ref_id(v, "parent"),
        description: text(v, "description").map(str::to_owned),
    }
}

pub(super) fn group_rec(v: &Value) -> GroupRec {
    let name = text(v, "name").unwrap_or("unnamed rack group").to_owned();
    GroupRec {
        slug: text(v, "slug").map_or_else(|| slug(&name), slug),
        name,
    }
}

/// The listed device types, and the brief type nested in a device whose type is missing
/// from the list: it still gets a template (one without a height).
pub(super) fn device_types(lists: &Lists) -> BTreeMap<i64, TypeRec> {
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
pub(super) fn template_ids(types: &BTreeMap<i64, TypeRec>) -> BTreeMap<i64, String> {
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
