//! The physical tree, resolved: Site → Room → Aisle → Rack → Device → Instance.
//!
//! Everything lives in flat arenas addressed by small indices, each child knowing its
//! parent, so that "where is instance X" is one hash lookup and a few array reads, and the
//! planner can walk ids without chasing pointers. Built once per configuration load and
//! never mutated afterwards.

use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use crate::diag::Span;
use crate::model::topology::{Face, Location, RoomLayout};

pub type SiteIx = u32;
pub type RoomIx = u32;
pub type AisleIx = u32;
pub type RackIx = u32;
pub type DeviceIx = u32;
pub type InstanceIx = u32;

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
    pub instances: std::ops::Range<InstanceIx>,
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
    pub sites: Vec<Site>,
    pub rooms: Vec<Room>,
    pub aisles: Vec<Aisle>,
    pub racks: Vec<Rack>,
    pub devices: Vec<Device>,
    pub instances: Vec<Instance>,
    index: Index,
}

#[derive(Debug, Clone, Default)]
struct Index {
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
        let mut ix = Index::default();
        for (i, s) in self.sites.iter().enumerate() {
            ix.sites.entry(s.id.clone()).or_insert(i as u32);
        }
        for (i, r) in self.rooms.iter().enumerate() {
            ix.rooms.entry(r.id.clone()).or_insert(i as u32);
        }
        for (i, a) in self.aisles.iter().enumerate() {
            ix.aisles.entry(a.id.clone()).or_insert(i as u32);
        }
        for (i, r) in self.racks.iter().enumerate() {
            ix.racks.entry(r.id.clone()).or_insert(i as u32);
        }
        ix.devices.reserve(self.devices.len());
        ix.rack_devices.reserve(self.devices.len());
        for (i, d) in self.devices.iter().enumerate() {
            match ix.devices.entry(d.id.clone()) {
                Entry::Occupied(e) => dups.devices.push((i as u32, *e.get())),
                Entry::Vacant(e) => {
                    e.insert(i as u32);
                }
            }
            ix.rack_devices
                .entry((d.rack, d.id.clone()))
                .or_insert(i as u32);
        }
        ix.instances.reserve(self.instances.len());
        for (i, inst) in self.instances.iter().enumerate() {
            match ix.instances.entry(inst.name.clone()) {
                Entry::Occupied(e) => dups.instances.push((i as u32, *e.get())),
                Entry::Vacant(e) => {
                    e.insert(i as u32);
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
        self.index.sites.get(id).map(|&i| &self.sites[i as usize])
    }
    pub fn room(&self, id: &str) -> Option<&Room> {
        self.index.rooms.get(id).map(|&i| &self.rooms[i as usize])
    }
    pub fn aisle(&self, id: &str) -> Option<&Aisle> {
        self.index.aisles.get(id).map(|&i| &self.aisles[i as usize])
    }
    pub fn rack(&self, id: &str) -> Option<&Rack> {
        self.index.racks.get(id).map(|&i| &self.racks[i as usize])
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
        self.index
            .devices
            .get(id)
            .map(|&i| &self.devices[i as usize])
    }
    /// A device by rack and device id, the unambiguous lookup the API uses.
    pub fn device_in_rack(&self, rack_id: &str, device_id: &str) -> Option<&Device> {
        let ix = self.device_ix_in_rack(self.rack_ix(rack_id)?, device_id)?;
        Some(&self.devices[ix as usize])
    }
    pub fn device_ix_in_rack(&self, rack: RackIx, device_id: &str) -> Option<DeviceIx> {
        self.index
            .rack_devices
            .get(&(rack, device_id.to_owned()))
            .copied()
    }
    pub fn instance(&self, name: &str) -> Option<&Instance> {
        self.instance_ix(name).map(|i| &self.instances[i as usize])
    }
    pub fn instance_ix(&self, name: &str) -> Option<InstanceIx> {
        self.index.instances.get(name).copied()
    }
    pub fn device_instances(&self, d: &Device) -> &[Instance] {
        &self.instances[d.instances.start as usize..d.instances.end as usize]
    }

    pub fn placement_of_device(&self, device: DeviceIx) -> Placement {
        let d = &self.devices[device as usize];
        let rack = &self.racks[d.rack as usize];
        let room = &self.rooms[rack.room as usize];
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
        let r = &self.racks[rack as usize];
        let room = &self.rooms[r.room as usize];
        let mut path = vec![self.sites[room.site as usize].id.as_str(), room.id.as_str()];
        if let Some(a) = r.aisle {
            path.push(&self.aisles[a as usize].id);
        }
        path.push(&r.id);
        if let Some(d) = device {
            path.push(&self.devices[d as usize].id);
        }
        path
    }

    /// Every rack of a room: aisle racks in aisle order, then standalone racks.
    pub fn room_racks(&self, room: RoomIx) -> impl Iterator<Item = RackIx> + '_ {
        let r = &self.rooms[room as usize];
        r.aisles
            .iter()
            .flat_map(|a| self.aisles[*a as usize].racks.iter().copied())
            .chain(r.standalone_racks.iter().copied())
    }
}
