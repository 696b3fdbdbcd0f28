//! The third pass: devices at their U and face; children in bays become their parent's
//! instances.

use super::*;

/// (bay sort key, child id, child) of the devices in one parent's bays.
pub(super) type Bays<'a> = Vec<(NaturalKey, i64, &'a Value)>;

/// The devices mounted themselves, and the children of each parent, in bay order.
#[allow(clippy::type_complexity)] // two maps of bays, named by the line above
pub(super) fn split_bays<'a>(
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

pub(super) struct DevicePass<'a> {
    pub(super) index: &'a Index,
    pub(super) racks: &'a BTreeMap<i64, RackRec>,
    pub(super) options: &'a Options,
    /// A device's id is its name when that is unique, else prefixed with its rack id.
    pub(super) name_count: BTreeMap<String, usize>,
    pub(super) device_ids: Ids,
    /// Instance names are Prometheus identities and must be unique; NetBox only makes
    /// names unique per site. instance -> the device that claimed it first.
    pub(super) claimed: BTreeMap<String, String>,
    /// (rack, face, U) -> the device there; face 0 is the front.
    pub(super) occupied: BTreeMap<(i64, u8, u32), String>,
    pub(super) placed: BTreeMap<i64, Vec<Placed>>,
    pub(super) placed_parents: BTreeSet<i64>,
    /// type id -> (role kinds seen, largest child count)
    pub(super) used_types: BTreeMap<i64, (BTreeMap<String, usize>, usize)>,
}

impl<'a> DevicePass<'a> {
    pub(super) fn new(
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

    pub(super) fn place(
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
    pub(super) fn occupy(
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
    pub(super) fn instances(
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
pub(super) fn device_height(
    t: Option<&TypeRec>,
    name: &str,
    warnings: &mut Vec<String>,
) -> (i64, u32) {
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
pub(super) fn u_position(
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

pub(super) fn role(d: &Value) -> &str {
    d.get("role")
        .or_else(|| d.get("device_role"))
        .and_then(|r| text(r, "slug").or_else(|| text(r, "name")))
        .unwrap_or("")
}
