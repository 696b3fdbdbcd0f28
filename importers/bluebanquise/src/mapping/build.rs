//! The inventory of placed racks: templates from hardware groups, then sites, rooms and
//! aisles opened in rack order, with ids unique per kind.

use super::*;

/// An id unique within its kind: the slug of the name, else prefixed with its parent's.
pub(super) fn claim(ids: &mut Ids, name: &str, parent: &str) -> String {
    let prefixed = slug(&format!("{parent}-{name}"));
    ids.claim([slug(name), prefixed.clone()], &prefixed)
}

pub(super) fn slots_for(n: usize) -> Option<Slots> {
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
pub(super) fn kind_of(raw: &str) -> String {
    match raw.to_ascii_lowercase().as_str() {
        "server" | "node" | "compute" => "server".into(),
        "storage" | "disk" | "nas" | "san" => "storage".into(),
        "switch" | "network" | "router" | "firewall" | "ethernet_switch" | "infiniband_switch"
        | "ib_switch" => "network".into(),
        "pdu" => "pdu".into(),
        other => slug(other),
    }
}

pub(super) fn cmp_rack(a: &PlacedRack, b: &PlacedRack) -> Ordering {
    natural_cmp(&a.site, &b.site)
        .then_with(|| natural_cmp(&a.room, &b.room))
        .then_with(|| natural_cmp(&a.aisle, &b.aisle))
        .then_with(|| a.default.cmp(&b.default))
        .then_with(|| natural_cmp(&a.name, &b.name))
}

pub(super) fn build(
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
pub(super) type TemplateIds = BTreeMap<(String, u32, usize), String>;

/// Template ids: a hardware group keeps its own name unless its devices differ in height
/// or node count; the generic one always says its height.
pub(super) fn templates(
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
pub(super) fn template_name(
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
pub(super) struct TreeIds {
    pub(super) sites: Ids,
    pub(super) rooms: Ids,
    pub(super) aisles: Ids,
    pub(super) racks: Ids,
    pub(super) devices: Ids,
}

/// The sites, rooms and aisles of racks sorted by them, each opened at its first rack.
pub(super) fn tree(racks: Vec<PlacedRack>, ids_of: &TemplateIds, o: &Options) -> Vec<Site> {
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
pub(super) fn device(
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
