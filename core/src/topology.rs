//! The physical tree, resolved: Site → Room → Aisle → Rack → Device → Instance.
//!
//! Everything lives in flat arenas addressed by small indices, each child knowing its
//! parent, so that "where is instance X" is one hash lookup and a few array reads, and the
//! planner can walk ids without chasing pointers. Built once per configuration load and
//! never mutated afterwards.

use std::borrow::Cow;
use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::marker::PhantomData;
use std::ops::{Index, IndexMut, Range};

use serde::Serialize;

use crate::diag::Span;
use crate::model::topology::{Face, Location, RoomLayout};

/// Defines one index type per arena: a distinct type each, so that a rack index passed
/// where a device index is expected is a compile error rather than a wrong lookup.
macro_rules! arena_index {
    ($($(#[$meta:meta])* $name:ident;)*) => {$(
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(u32);

        impl $name {
            /// From a number that is known to address this arena: a plan target of the
            /// matching space, or a position in a per-index table such as `Health`'s.
            #[inline]
            pub const fn new(ix: u32) -> Self {
                Self(ix)
            }
            /// The number, for a plan target space or a serialization.
            #[inline]
            pub const fn get(self) -> u32 {
                self.0
            }
            /// The position in a table laid out like the arena (`Health`'s vectors).
            #[inline]
            pub const fn index(self) -> usize {
                self.0 as usize
            }
        }

        impl ArenaIndex for $name {
            #[inline]
            fn from_position(position: usize) -> Self {
                // No configuration comes near 2^32 items; saturating keeps this total
                // without a panic in library code.
                Self(u32::try_from(position).unwrap_or(u32::MAX))
            }
            #[inline]
            fn position(self) -> usize {
                self.0 as usize
            }
        }
    )*};
}

/// An index type of an arena (see `arena_index!`).
pub trait ArenaIndex: Copy {
    fn from_position(position: usize) -> Self;
    fn position(self) -> usize;
}

arena_index! {
    SiteIx;
    RoomIx;
    AisleIx;
    RackIx;
    DeviceIx;
    InstanceIx;
}

/// A vector addressed only by its own index type `I`: the one way to reach an item from an
/// index, so indices of different arenas cannot be mixed up.
#[derive(Clone)]
pub struct Arena<I, T> {
    items: Vec<T>,
    ix: PhantomData<fn(I) -> I>,
}

impl<I, T> Default for Arena<I, T> {
    fn default() -> Self {
        Self {
            items: Vec::new(),
            ix: PhantomData,
        }
    }
}

impl<I, T: fmt::Debug> fmt::Debug for Arena<I, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.items.fmt(f)
    }
}

impl<I: ArenaIndex, T> Arena<I, T> {
    /// Appends an item and returns its index.
    pub fn push(&mut self, item: T) -> I {
        let ix = self.next_ix();
        self.items.push(item);
        ix
    }
    /// The index the next `push` returns, for children built before their parent is.
    pub fn next_ix(&self) -> I {
        I::from_position(self.items.len())
    }
    pub fn get(&self, ix: I) -> Option<&T> {
        self.items.get(ix.position())
    }
    pub fn len(&self) -> usize {
        self.items.len()
    }
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
    pub fn reserve(&mut self, additional: usize) {
        self.items.reserve(additional);
    }
    pub fn iter(&self) -> std::slice::Iter<'_, T> {
        self.items.iter()
    }
    pub fn iter_mut(&mut self) -> std::slice::IterMut<'_, T> {
        self.items.iter_mut()
    }
    /// Every item with its index, in arena order.
    pub fn iter_ix(&self) -> impl DoubleEndedIterator<Item = (I, &T)> + ExactSizeIterator {
        self.items
            .iter()
            .enumerate()
            .map(|(i, t)| (I::from_position(i), t))
    }
    /// Every index, in arena order.
    pub fn ixs(&self) -> impl DoubleEndedIterator<Item = I> + ExactSizeIterator + use<I, T> {
        (0..self.items.len()).map(I::from_position)
    }
    /// The items of a contiguous range of indices (a device's instances).
    pub fn slice(&self, range: Range<I>) -> &[T] {
        &self.items[range.start.position()..range.end.position()]
    }
    pub fn first(&self) -> Option<&T> {
        self.items.first()
    }
    pub fn as_slice(&self) -> &[T] {
        &self.items
    }
    pub fn last_mut(&mut self) -> Option<&mut T> {
        self.items.last_mut()
    }
}

impl<I: ArenaIndex, T> Index<I> for Arena<I, T> {
    type Output = T;
    fn index(&self, ix: I) -> &T {
        &self.items[ix.position()]
    }
}

impl<I: ArenaIndex, T> IndexMut<I> for Arena<I, T> {
    fn index_mut(&mut self, ix: I) -> &mut T {
        &mut self.items[ix.position()]
    }
}

impl<'a, I, T> IntoIterator for &'a Arena<I, T> {
    type Item = &'a T;
    type IntoIter = std::slice::Iter<'a, T>;
    fn into_iter(self) -> Self::IntoIter {
        self.items.iter()
    }
}

impl<I, T> From<Vec<T>> for Arena<I, T> {
    fn from(items: Vec<T>) -> Self {
        Self {
            items,
            ix: PhantomData,
        }
    }
}

impl<I, T> FromIterator<T> for Arena<I, T> {
    fn from_iter<It: IntoIterator<Item = T>>(iter: It) -> Self {
        Vec::from_iter(iter).into()
    }
}

#[derive(Debug, Clone)]
pub struct Site {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    pub location: Option<Location>,
    pub timezone: Option<String>,
    pub rooms: Vec<RoomIx>,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub struct Room {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    pub layout: Option<RoomLayout>,
    pub site: SiteIx,
    pub aisles: Vec<AisleIx>,
    pub standalone_racks: Vec<RackIx>,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub struct Aisle {
    pub id: String,
    pub name: String,
    pub room: RoomIx,
    pub racks: Vec<RackIx>,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub struct Rack {
    pub id: String,
    pub name: String,
    pub u_height: u32,
    pub template_id: Option<String>,
    /// Where `template_id` is written, for diagnostics.
    pub template_pos: crate::diag::Pos,
    pub room: RoomIx,
    /// `None` for a standalone rack.
    pub aisle: Option<AisleIx>,
    pub devices: Vec<DeviceIx>,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub struct Device {
    pub id: String,
    pub name: String,
    pub template_id: String,
    pub u_position: u32,
    /// Where `template_id`, `u_position` and `instance` are written, for diagnostics.
    pub template_pos: crate::diag::Pos,
    pub u_pos: crate::diag::Pos,
    pub instance_pos: crate::diag::Pos,
    pub face: Face,
    pub rack: RackIx,
    /// The device's instances, a contiguous range of the instance arena.
    pub instances: Range<InstanceIx>,
    pub labels: BTreeMap<String, String>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Instance {
    pub name: String,
    /// The slot of the device's layout the instance is drawn in (1-based).
    pub slot: u32,
    #[serde(skip)]
    pub device: DeviceIx,
}

/// Where something sits, as indices; every level above a device is always known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Placement {
    pub site: SiteIx,
    pub room: RoomIx,
    pub aisle: Option<AisleIx>,
    pub rack: RackIx,
    pub device: DeviceIx,
}

#[derive(Debug, Clone, Default)]
pub struct Topology {
    pub sites: Arena<SiteIx, Site>,
    pub rooms: Arena<RoomIx, Room>,
    pub aisles: Arena<AisleIx, Aisle>,
    pub racks: Arena<RackIx, Rack>,
    pub devices: Arena<DeviceIx, Device>,
    pub instances: Arena<InstanceIx, Instance>,
    index: Lookup,
}

#[derive(Debug, Clone, Default)]
struct Lookup {
    sites: Named<SiteIx>,
    rooms: Named<RoomIx>,
    aisles: Named<AisleIx>,
    racks: Named<RackIx>,
    devices: Named<DeviceIx>,
    rack_devices: HashMap<(RackIx, String), DeviceIx>,
    instances: HashMap<String, InstanceIx>,
}

/// Short id → the objects that carry it. Ids are unique only among siblings, so one id
/// may name several objects; the common case (one) costs one map entry, and only repeated
/// ids pay for a list.
#[derive(Debug, Clone)]
struct Named<I> {
    first: HashMap<String, I>,
    /// Every holder, in arena order, of the ids held more than once.
    repeated: HashMap<String, Vec<I>>,
}

impl<I> Default for Named<I> {
    fn default() -> Self {
        Self {
            first: HashMap::new(),
            repeated: HashMap::new(),
        }
    }
}

impl<I: Copy> Named<I> {
    fn build<'a>(items: impl ExactSizeIterator<Item = (I, &'a str)>) -> Self {
        let mut named = Named {
            first: HashMap::with_capacity(items.len()),
            repeated: HashMap::new(),
        };
        for (ix, id) in items {
            match named.first.entry(id.to_owned()) {
                Entry::Occupied(e) => named
                    .repeated
                    .entry(id.to_owned())
                    .or_insert_with(|| vec![*e.get()])
                    .push(ix),
                Entry::Vacant(e) => {
                    e.insert(ix);
                }
            }
        }
        named
    }

    fn find(&self, id: &str) -> Found<I> {
        match self.repeated.get(id) {
            Some(all) => Found::Many(all.clone()),
            None => self.first.get(id).copied().map_or(Found::None, Found::One),
        }
    }

    fn is_repeated(&self, id: &str) -> bool {
        self.repeated.contains_key(id)
    }
}

/// What a short id or a qualified path names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found<I> {
    None,
    One(I),
    /// A short id several objects carry, every one of them in arena order: the caller
    /// must ask which (409, a disambiguation page), never pick one.
    Many(Vec<I>),
}

impl<I: Copy> Found<I> {
    /// The object, when exactly one is named.
    pub fn one(&self) -> Option<I> {
        match self {
            Found::One(i) => Some(*i),
            _ => None,
        }
    }
    /// Every object named: none, one, or the candidates of an ambiguous id.
    pub fn all(&self) -> Vec<I> {
        match self {
            Found::None => Vec::new(),
            Found::One(i) => vec![*i],
            Found::Many(v) => v.clone(),
        }
    }
}

/// Separates the ids of a qualified path (`site/room/aisle/rack/device`).
pub const PATH_SEP: char = '/';

/// Definitions that the index found a second time: (later index, first index).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Duplicates {
    pub instances: Vec<(InstanceIx, InstanceIx)>,
}

/// Short ids that name more than one object, each with every holder: not errors (ids are
/// unique among siblings only), but every place a short id is accepted must ask which.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ambiguities {
    pub rooms: Vec<(String, Vec<RoomIx>)>,
    pub aisles: Vec<(String, Vec<AisleIx>)>,
    pub racks: Vec<(String, Vec<RackIx>)>,
    pub devices: Vec<(String, Vec<DeviceIx>)>,
}

impl Ambiguities {
    pub fn is_empty(&self) -> bool {
        self.rooms.is_empty()
            && self.aisles.is_empty()
            && self.racks.is_empty()
            && self.devices.is_empty()
    }
}

/// Counts shown by `rackscope check` and the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
pub struct Counts {
    pub sites: usize,
    pub rooms: usize,
    pub aisles: usize,
    pub racks: usize,
    pub devices: usize,
    /// Machines: distinct instance names (one machine placed twice is one machine).
    pub instances: usize,
    /// Places instances are drawn at; more than `instances` when a name is placed twice.
    pub instance_placements: usize,
}

impl Topology {
    /// Builds the lookup tables. Instance names placed twice are returned (later, first)
    /// for the loader to report; repeated ids of the other levels are kept, all of them,
    /// for `find_*` to answer `Found::Many`.
    pub fn reindex(&mut self) -> Duplicates {
        let mut dups = Duplicates::default();
        let mut ix = Lookup {
            sites: Named::build(self.sites.iter_ix().map(|(i, s)| (i, s.id.as_str()))),
            rooms: Named::build(self.rooms.iter_ix().map(|(i, r)| (i, r.id.as_str()))),
            aisles: Named::build(self.aisles.iter_ix().map(|(i, a)| (i, a.id.as_str()))),
            racks: Named::build(self.racks.iter_ix().map(|(i, r)| (i, r.id.as_str()))),
            devices: Named::build(self.devices.iter_ix().map(|(i, d)| (i, d.id.as_str()))),
            ..Lookup::default()
        };
        ix.rack_devices.reserve(self.devices.len());
        for (i, d) in self.devices.iter_ix() {
            ix.rack_devices.entry((d.rack, d.id.clone())).or_insert(i);
        }
        ix.instances.reserve(self.instances.len());
        for (i, inst) in self.instances.iter_ix() {
            match ix.instances.entry(inst.name.clone()) {
                Entry::Occupied(e) => dups.instances.push((i, *e.get())),
                Entry::Vacant(e) => {
                    e.insert(i);
                }
            }
        }
        self.index = ix;
        dups
    }

    /// The short ids that name more than one object, sorted by id.
    pub fn ambiguities(&self) -> Ambiguities {
        fn sorted<I: Copy>(n: &Named<I>) -> Vec<(String, Vec<I>)> {
            let mut v: Vec<_> = n
                .repeated
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            v.sort_by(|a, b| a.0.cmp(&b.0));
            v
        }
        Ambiguities {
            rooms: sorted(&self.index.rooms),
            aisles: sorted(&self.index.aisles),
            racks: sorted(&self.index.racks),
            devices: sorted(&self.index.devices),
        }
    }

    pub fn counts(&self) -> Counts {
        Counts {
            sites: self.sites.len(),
            rooms: self.rooms.len(),
            aisles: self.aisles.len(),
            racks: self.racks.len(),
            devices: self.devices.len(),
            instances: self.index.instances.len(),
            instance_placements: self.instances.len(),
        }
    }

    /// A site by its id (site ids are global).
    pub fn find_site(&self, key: &str) -> Found<SiteIx> {
        self.index.sites.find(key)
    }
    /// A room by its short id, or by `site/room`.
    pub fn find_room(&self, key: &str) -> Found<RoomIx> {
        self.found(key, &self.index.rooms, |p| self.room_at(p))
    }
    /// An aisle by its short id, or by `site/room/aisle`.
    pub fn find_aisle(&self, key: &str) -> Found<AisleIx> {
        self.found(key, &self.index.aisles, |p| self.aisle_at(p))
    }
    /// A rack by its short id, or by `site/room/aisle/rack` (`site/room/rack` for a
    /// standalone rack).
    pub fn find_rack(&self, key: &str) -> Found<RackIx> {
        self.found(key, &self.index.racks, |p| self.rack_at(p))
    }
    /// A device by its short id, or by its rack's path followed by its id.
    pub fn find_device(&self, key: &str) -> Found<DeviceIx> {
        self.found(key, &self.index.devices, |p| {
            let (device, rack) = p.split_last()?;
            self.device_ix_in_rack(self.rack_at(rack)?, device)
        })
    }

    /// A short id first (an id may hold the separator, and then it is only a short id),
    /// else a qualified path.
    fn found<I: Copy>(
        &self,
        key: &str,
        named: &Named<I>,
        at: impl FnOnce(&[&str]) -> Option<I>,
    ) -> Found<I> {
        match named.find(key) {
            Found::None if key.contains(PATH_SEP) => {
                let parts: Vec<&str> = key.split(PATH_SEP).collect();
                at(&parts).map_or(Found::None, Found::One)
            }
            found => found,
        }
    }

    fn room_at(&self, path: &[&str]) -> Option<RoomIx> {
        let [site, room] = path else { return None };
        let site = self.index.sites.first.get(*site)?;
        self.sites[*site]
            .rooms
            .iter()
            .copied()
            .find(|&r| self.rooms[r].id == *room)
    }
    fn aisle_at(&self, path: &[&str]) -> Option<AisleIx> {
        let (aisle, room) = path.split_last()?;
        let room = self.room_at(room)?;
        self.rooms[room]
            .aisles
            .iter()
            .copied()
            .find(|&a| self.aisles[a].id == *aisle)
    }
    fn rack_at(&self, path: &[&str]) -> Option<RackIx> {
        let (rack, parent) = path.split_last()?;
        let racks = match parent.len() {
            2 => &self.rooms[self.room_at(parent)?].standalone_racks,
            3 => &self.aisles[self.aisle_at(parent)?].racks,
            _ => return None,
        };
        racks.iter().copied().find(|&r| self.racks[r].id == *rack)
    }

    /// Whether a short id names more than one room (its links and labels then carry the
    /// qualified path).
    pub fn room_is_ambiguous(&self, room: RoomIx) -> bool {
        self.index.rooms.is_repeated(&self.rooms[room].id)
    }
    pub fn rack_is_ambiguous(&self, rack: RackIx) -> bool {
        self.index.racks.is_repeated(&self.racks[rack].id)
    }
    pub fn device_is_ambiguous(&self, device: DeviceIx) -> bool {
        self.index.devices.is_repeated(&self.devices[device].id)
    }

    /// `site/room`: unique, always.
    pub fn room_path(&self, room: RoomIx) -> String {
        let r = &self.rooms[room];
        format!("{}{PATH_SEP}{}", self.sites[r.site].id, r.id)
    }
    /// `site/room/aisle`.
    pub fn aisle_path(&self, aisle: AisleIx) -> String {
        let a = &self.aisles[aisle];
        format!("{}{PATH_SEP}{}", self.room_path(a.room), a.id)
    }
    /// `site/room/aisle/rack`, or `site/room/rack` for a standalone rack.
    pub fn rack_path(&self, rack: RackIx) -> String {
        self.path(rack, None).join("/")
    }
    /// The rack's path followed by the device id.
    pub fn device_path(&self, device: DeviceIx) -> String {
        self.path(self.devices[device].rack, Some(device)).join("/")
    }

    /// The way to name a room to a person or in a URL: its short id when that is unique,
    /// else its qualified path.
    pub fn room_key(&self, room: RoomIx) -> Cow<'_, str> {
        if self.room_is_ambiguous(room) {
            Cow::Owned(self.room_path(room))
        } else {
            Cow::Borrowed(&self.rooms[room].id)
        }
    }
    /// A rack's short id when unique, else its qualified path.
    pub fn rack_key(&self, rack: RackIx) -> Cow<'_, str> {
        if self.rack_is_ambiguous(rack) {
            Cow::Owned(self.rack_path(rack))
        } else {
            Cow::Borrowed(&self.racks[rack].id)
        }
    }

    /// A device's short id when unique, else its qualified path.
    pub fn device_key(&self, device: DeviceIx) -> Cow<'_, str> {
        if self.device_is_ambiguous(device) {
            Cow::Owned(self.device_path(device))
        } else {
            Cow::Borrowed(&self.devices[device].id)
        }
    }

    pub fn site(&self, id: &str) -> Option<&Site> {
        self.site_ix(id).map(|i| &self.sites[i])
    }
    /// A room named unambiguously (short id or path); see `find_room` for the candidates.
    pub fn room(&self, key: &str) -> Option<&Room> {
        self.room_ix(key).map(|i| &self.rooms[i])
    }
    pub fn aisle(&self, key: &str) -> Option<&Aisle> {
        self.find_aisle(key).one().map(|i| &self.aisles[i])
    }
    pub fn rack(&self, key: &str) -> Option<&Rack> {
        self.rack_ix(key).map(|i| &self.racks[i])
    }
    pub fn rack_ix(&self, key: &str) -> Option<RackIx> {
        self.find_rack(key).one()
    }
    pub fn room_ix(&self, key: &str) -> Option<RoomIx> {
        self.find_room(key).one()
    }
    pub fn site_ix(&self, id: &str) -> Option<SiteIx> {
        self.find_site(id).one()
    }
    /// A device named unambiguously (short id or path); see `find_device`.
    pub fn device(&self, key: &str) -> Option<&Device> {
        self.device_ix(key).map(|i| &self.devices[i])
    }
    pub fn device_ix(&self, key: &str) -> Option<DeviceIx> {
        self.find_device(key).one()
    }
    /// A device by rack key and device id, the lookup the API uses.
    pub fn device_in_rack(&self, rack: &str, device_id: &str) -> Option<&Device> {
        let ix = self.device_ix_in_rack(self.rack_ix(rack)?, device_id)?;
        Some(&self.devices[ix])
    }
    pub fn device_ix_in_rack(&self, rack: RackIx, device_id: &str) -> Option<DeviceIx> {
        self.index
            .rack_devices
            .get(&(rack, device_id.to_owned()))
            .copied()
    }
    pub fn instance(&self, name: &str) -> Option<&Instance> {
        self.instance_ix(name).map(|i| &self.instances[i])
    }
    pub fn instance_ix(&self, name: &str) -> Option<InstanceIx> {
        self.index.instances.get(name).copied()
    }
    pub fn device_instances(&self, d: &Device) -> &[Instance] {
        self.instances.slice(d.instances.clone())
    }

    pub fn placement_of_device(&self, device: DeviceIx) -> Placement {
        let d = &self.devices[device];
        let rack = &self.racks[d.rack];
        let room = &self.rooms[rack.room];
        Placement {
            site: room.site,
            room: rack.room,
            aisle: rack.aisle,
            rack: d.rack,
            device,
        }
    }

    /// Instance name → where it lives, in O(1).
    pub fn locate_instance(&self, name: &str) -> Option<Placement> {
        let inst = self.instance(name)?;
        Some(self.placement_of_device(inst.device))
    }

    /// The ids from the site down to a rack, or to a device of it: `dc1/room-a/aisle-1/r01/
    /// chassis-1`. A standalone rack has no aisle in its path.
    pub fn path(&self, rack: RackIx, device: Option<DeviceIx>) -> Vec<&str> {
        let r = &self.racks[rack];
        let room = &self.rooms[r.room];
        let mut path = vec![self.sites[room.site].id.as_str(), room.id.as_str()];
        if let Some(a) = r.aisle {
            path.push(&self.aisles[a].id);
        }
        path.push(&r.id);
        if let Some(d) = device {
            path.push(&self.devices[d].id);
        }
        path
    }

    /// Every rack of a room: aisle racks in aisle order, then standalone racks.
    pub fn room_racks(&self, room: RoomIx) -> impl Iterator<Item = RackIx> + '_ {
        let r = &self.rooms[room];
        r.aisles
            .iter()
            .flat_map(|a| self.aisles[*a].racks.iter().copied())
            .chain(r.standalone_racks.iter().copied())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn multisite() -> Topology {
        let app = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../tests/fixtures/multisite/app.yaml");
        crate::load(&app).config.topology
    }

    fn paths(t: &Topology, found: Found<RackIx>) -> Vec<String> {
        found.all().into_iter().map(|r| t.rack_path(r)).collect()
    }

    /// Each case: a key, and the paths of the racks it names (several: ambiguous).
    #[test]
    fn a_key_names_one_rack_several_or_none() {
        let t = multisite();
        let cases: &[(&str, &[&str])] = &[
            ("B01", &["paris/machine-room-b/aisle-1/B01"]),
            ("S01", &["lyon/machine-room-a/S01"]),
            ("lyon/machine-room-a/S01", &["lyon/machine-room-a/S01"]),
            (
                "paris/machine-room-a/aisle-2/A01",
                &["paris/machine-room-a/aisle-2/A01"],
            ),
            (
                "A01",
                &[
                    "paris/machine-room-a/aisle-1/A01",
                    "paris/machine-room-a/aisle-2/A01",
                    "paris/machine-room-b/aisle-1/A01",
                    "lyon/machine-room-a/aisle-1/A01",
                ],
            ),
            // A standalone rack is not under an aisle, nor an aisle rack under its room.
            ("lyon/machine-room-a/aisle-1/S01", &[]),
            ("lyon/machine-room-a/A01", &[]),
            ("paris/machine-room-a/aisle-3/A01", &[]),
            ("nowhere/machine-room-a/aisle-1/A01", &[]),
            ("", &[]),
            ("/", &[]),
            ("//////", &[]),
        ];
        for (key, want) in cases {
            assert_eq!(paths(&t, t.find_rack(key)), *want, "{key:?}");
            let one = t.rack_ix(key);
            assert_eq!(one.is_some(), want.len() == 1, "{key:?}");
        }
    }

    #[test]
    fn rooms_aisles_and_devices_resolve_by_path_and_keys_name_each_once() {
        let t = multisite();
        assert!(matches!(t.find_room("machine-room-a"), Found::Many(ref v) if v.len() == 2));
        let lyon = t.room_ix("lyon/machine-room-a").unwrap();
        assert_eq!(t.rooms[lyon].name, "Lyon Machine Room A");
        assert_eq!(
            t.room_ix("machine-room-b"),
            t.room_ix("paris/machine-room-b")
        );
        assert!(matches!(t.find_aisle("aisle-1"), Found::Many(ref v) if v.len() == 3));
        assert!(t.aisle("paris/machine-room-b/aisle-1").is_some());
        assert!(matches!(t.find_device("pdu-1"), Found::Many(ref v) if v.len() == 7));
        let d = t.device_ix("lyon/machine-room-a/S01/srv-1").unwrap();
        assert_eq!(t.device_path(d), "lyon/machine-room-a/S01/srv-1");
        // Every object's key names that object alone.
        for r in t.racks.ixs() {
            assert_eq!(t.rack_ix(&t.rack_key(r)), Some(r));
        }
        for r in t.rooms.ixs() {
            assert_eq!(t.room_ix(&t.room_key(r)), Some(r));
        }
        for d in t.devices.ixs() {
            assert_eq!(t.device_ix(&t.device_key(d)), Some(d));
        }
        assert_eq!(t.rack_key(t.rack_ix("B01").unwrap()), "B01");
    }
}
