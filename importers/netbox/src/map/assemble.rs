//! The last pass: the templates of the types in use, and the tree of sites.

use super::*;

pub(super) fn templates(
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
pub(super) fn assemble(
    index: &Index,
    layout: &mut Layout,
    placed: &mut BTreeMap<i64, Vec<Placed>>,
    warnings: &mut Vec<String>,
) -> Vec<Site> {
    let mut out_sites = Vec::new();
    let mut site_ids = Ids::default();
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
        // NetBox slugs are unique, but a slug made from a name (none given) may not be.
        let wanted = slug(&s.slug);
        let id = take(&mut site_ids, wanted.clone(), Some(site_id));
        if id != wanted {
            warnings.push(format!(
                "site {}: id `{wanted}` is already another site's: `{id}` used instead",
                s.name
            ));
        }
        out_sites.push(Site {
            id,
            name: s.name.clone(),
            description: s.description.clone(),
            location: s.location.clone(),
            rooms: out_rooms,
        });
    }
    out_sites
}
