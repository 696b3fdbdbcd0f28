//! The second pass: where each rack goes (site, room, aisle), in NetBox id order so ids are
//! stable.

use super::*;

/// aisle sort key -> (aisle, rack sort key -> rack id)
pub(super) type Aisles = BTreeMap<SortKey, (Aisle, BTreeMap<SortKey, i64>)>;

#[derive(Default)]
pub(super) struct Layout {
    pub(super) rack_ids: Ids,
    pub(super) room_ids: Ids,
    pub(super) aisle_ids: Ids,
    pub(super) racks: BTreeMap<i64, RackRec>,
    /// site id -> room sort key -> (room, its aisles)
    pub(super) tree: BTreeMap<i64, BTreeMap<SortKey, (Room, Aisles)>>,
    pub(super) room_keys: BTreeMap<(i64, RoomKey), SortKey>,
    pub(super) aisle_keys: BTreeMap<(i64, RoomKey, AisleKey), SortKey>,
    pub(super) defaulted_rooms: BTreeMap<i64, Vec<String>>,
    pub(super) defaulted_aisles: BTreeMap<(i64, RoomKey), Vec<String>>,
}

impl Layout {
    pub(super) fn new(
        lists: &Lists,
        index: &Index,
        options: &Options,
        warnings: &mut Vec<String>,
    ) -> Layout {
        let mut rack_values: Vec<(i64, &Value)> = Vec::new();
        for v in &lists.racks {
            match id_of(v) {
                Some(id) => rack_values.push((id, v)),
                None => warnings.push("a rack without an id was skipped".into()),
            }
        }
        // Stable: of records sharing an id, the first in the list comes first.
        rack_values.sort_by_key(|(id, _)| *id);
        let mut layout = Layout::default();
        // NetBox ids are unique, and racks, their members and their devices are all keyed
        // by id: a second record with an id already read is a broken source, not a rack.
        let mut first_of: BTreeMap<i64, String> = BTreeMap::new();
        for (nb_id, v) in rack_values {
            let name = rack_name(v, nb_id);
            if let Some(first) = first_of.get(&nb_id) {
                warnings.push(format!(
                    "rack {name}: its NetBox id ({nb_id}) is also rack {first}'s: skipped"
                ));
                continue;
            }
            first_of.insert(nb_id, name);
            layout.add(nb_id, v, index, options, warnings);
        }
        layout.warn_defaults(index, options, warnings);
        layout
    }

    pub(super) fn add(
        &mut self,
        nb_id: i64,
        v: &Value,
        index: &Index,
        options: &Options,
        warnings: &mut Vec<String>,
    ) {
        let name = rack_name(v, nb_id);
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
    pub(super) fn room(
        &mut self,
        site_id: i64,
        site: &SiteRec,
        room_key: RoomKey,
        index: &Index,
    ) -> SortKey {
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
    pub(super) fn aisle(
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

    pub(super) fn warn_defaults(
        &self,
        index: &Index,
        options: &Options,
        warnings: &mut Vec<String>,
    ) {
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

/// The name shown for a rack: its name, else its facility id, else its NetBox id.
pub(super) fn rack_name(v: &Value, nb_id: i64) -> String {
    text(v, "name")
        .or_else(|| text(v, "facility_id"))
        .map_or_else(|| format!("rack {nb_id}"), str::to_owned)
}

pub(super) fn starting_unit(v: &Value, name: &str, warnings: &mut Vec<String>) -> i64 {
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
pub(super) fn room_key(
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
pub(super) fn aisle_key(
    v: &Value,
    loc_chain: &[i64],
    index: &Index,
    options: &Options,
) -> AisleKey {
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
