//! The physical tree, resolved: Site → Room → Aisle → Rack → Device → Instance.
//!
//! Everything lives in flat arenas addressed by small indices, each child knowing its
//! parent, so that "where is instance X" is one hash lookup and a few array reads, and the
//! planner can walk ids without chasing pointers. Built once per configuration load and
//! never mutated afterwards.

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
    sites: HashMap<String, SiteIx>,
    rooms: HashMap<String, RoomIx>,
    aisles: HashMap<String, AisleIx>,
    racks: HashMap<String, RackIx>,
    devices: HashMap<String, DeviceIx>,
    rack_devices: HashMap<(RackIx, String), DeviceIx>,
    instances: HashMap<String, InstanceIx>,
}

/// Definitions that the index found a second time: (later index, first index).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Duplicates {
    pub devices: Vec<(DeviceIx, DeviceIx)>,
    pub instances: Vec<(InstanceIx, InstanceIx)>,
}

/// Counts shown by `rackscope check` and the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
pub struct Counts {
    pub sites: usize,
    pub rooms: usize,
    pub aisles: usize,
    pub racks: usize,
    pub devices: usize,
    pub instances: usize,
}

impl Topology {
    /// Builds the lookup tables. The first definition of an id wins; device ids and instance
    /// names defined again are returned (later, first) for the loader to report.
    pub fn reindex(&mut self) -> Duplicates {
        let mut dups = Duplicates::default();
        let mut ix = Lookup::default();
        for (i, s) in self.sites.iter_ix() {
            ix.sites.entry(s.id.clone()).or_insert(i);
        }
        for (i, r) in self.rooms.iter_ix() {
            ix.rooms.entry(r.id.clone()).or_insert(i);
        }
        for (i, a) in self.aisles.iter_ix() {
            ix.aisles.entry(a.id.clone()).or_insert(i);
        }
        for (i, r) in self.racks.iter_ix() {
            ix.racks.entry(r.id.clone()).or_insert(i);
        }
        ix.devices.reserve(self.devices.len());
        ix.rack_devices.reserve(self.devices.len());
        for (i, d) in self.devices.iter_ix() {
            match ix.devices.entry(d.id.clone()) {
                Entry::Occupied(e) => dups.devices.push((i, *e.get())),
                Entry::Vacant(e) => {
                    e.insert(i);
                }
            }
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

    pub fn counts(&self) -> Counts {
        Counts {
            sites: self.sites.len(),
            rooms: self.rooms.len(),
            aisles: self.aisles.len(),
            racks: self.racks.len(),
            devices: self.devices.len(),
            instances: self.instances.len(),
        }
    }

    pub fn site(&self, id: &str) -> Option<&Site> {
        self.index.sites.get(id).map(|&i| &self.sites[i])
    }
    pub fn room(&self, id: &str) -> Option<&Room> {
        self.index.rooms.get(id).map(|&i| &self.rooms[i])
    }
    pub fn aisle(&self, id: &str) -> Option<&Aisle> {
        self.index.aisles.get(id).map(|&i| &self.aisles[i])
    }
    pub fn rack(&self, id: &str) -> Option<&Rack> {
        self.index.racks.get(id).map(|&i| &self.racks[i])
    }
    pub fn rack_ix(&self, id: &str) -> Option<RackIx> {
        self.index.racks.get(id).copied()
    }
    pub fn room_ix(&self, id: &str) -> Option<RoomIx> {
        self.index.rooms.get(id).copied()
    }
    pub fn site_ix(&self, id: &str) -> Option<SiteIx> {
        self.index.sites.get(id).copied()
    }
    /// A device by its id alone (ids are unique across the topology in practice; when they
    /// are not, the first one wins and `rackscope check` warns).
    pub fn device(&self, id: &str) -> Option<&Device> {
        self.index.devices.get(id).map(|&i| &self.devices[i])
    }
    /// A device's index by its id alone, as `device` finds it.
    pub fn device_ix(&self, id: &str) -> Option<DeviceIx> {
        self.index.devices.get(id).copied()
    }
    /// A device by rack and device id, the unambiguous lookup the API uses.
    pub fn device_in_rack(&self, rack_id: &str, device_id: &str) -> Option<&Device> {
        let ix = self.device_ix_in_rack(self.rack_ix(rack_id)?, device_id)?;
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
