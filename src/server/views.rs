//! The topology as the API shows it: the Python Rackscope's "full model" shapes (site, room,
//! aisle, rack, device), borrowed from the resolved topology rather than copied.

use std::collections::BTreeMap;

use rackscope_core::model::topology::{Face, Location, RoomLayout};
use rackscope_core::topology::{Device, Rack, Room, Site, Topology};
use serde::Serialize;
use serde::ser::{SerializeMap, SerializeSeq, Serializer};

#[derive(Serialize)]
pub struct SiteView<'a> {
    pub id: &'a str,
    pub name: &'a str,
    pub description: Option<&'a str>,
    pub location: Option<&'a Location>,
    pub rooms: Vec<RoomView<'a>>,
}

#[derive(Serialize)]
pub struct RoomView<'a> {
    pub id: &'a str,
    pub name: &'a str,
    pub site_id: &'a str,
    pub description: Option<&'a str>,
    pub layout: Option<&'a RoomLayout>,
    pub aisles: Vec<AisleView<'a>>,
    pub standalone_racks: Vec<RackView<'a>>,
}

#[derive(Serialize)]
pub struct AisleView<'a> {
    pub id: &'a str,
    pub name: &'a str,
    pub racks: Vec<RackView<'a>>,
}

#[derive(Serialize)]
pub struct RackView<'a> {
    pub id: &'a str,
    pub name: &'a str,
    pub template_id: Option<&'a str>,
    pub u_height: u32,
    pub aisle_id: Option<&'a str>,
    pub room_id: &'a str,
    pub devices: Vec<DeviceView<'a>>,
}

#[derive(Serialize)]
pub struct DeviceView<'a> {
    pub id: &'a str,
    pub name: &'a str,
    pub template_id: &'a str,
    pub u_position: u32,
    pub face: Face,
    pub instance: InstanceView<'a>,
    pub labels: &'a BTreeMap<String, String>,
}

/// A device's instances as the Python Rackscope writes them: a list when they fill slots
/// 1…n in order, otherwise a map of slot number to name (so that no slot is lost).
pub struct InstanceView<'a>(&'a [rackscope_core::topology::Instance]);

impl Serialize for InstanceView<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let in_order = self
            .0
            .iter()
            .enumerate()
            .all(|(i, inst)| inst.slot as usize == i + 1);
        if in_order {
            let mut seq = s.serialize_seq(Some(self.0.len()))?;
            for i in self.0 {
                seq.serialize_element(&i.name)?;
            }
            seq.end()
        } else {
            let mut map = s.serialize_map(Some(self.0.len()))?;
            for i in self.0 {
                map.serialize_entry(&i.slot.to_string(), &i.name)?;
            }
            map.end()
        }
    }
}

pub fn site<'a>(topo: &'a Topology, s: &'a Site) -> SiteView<'a> {
    SiteView {
        id: &s.id,
        name: &s.name,
        description: s.description.as_deref(),
        location: s.location.as_ref(),
        rooms: s
            .rooms
            .iter()
            .map(|&r| room(topo, &topo.rooms[r as usize]))
            .collect(),
    }
}

pub fn room<'a>(topo: &'a Topology, r: &'a Room) -> RoomView<'a> {
    RoomView {
        id: &r.id,
        name: &r.name,
        site_id: &topo.sites[r.site as usize].id,
        description: r.description.as_deref(),
        layout: r.layout.as_ref(),
        aisles: r
            .aisles
            .iter()
            .map(|&a| {
                let a = &topo.aisles[a as usize];
                AisleView {
                    id: &a.id,
                    name: &a.name,
                    racks: a
                        .racks
                        .iter()
                        .map(|&x| rack(topo, &topo.racks[x as usize]))
                        .collect(),
                }
            })
            .collect(),
        standalone_racks: r
            .standalone_racks
            .iter()
            .map(|&x| rack(topo, &topo.racks[x as usize]))
            .collect(),
    }
}

pub fn rack<'a>(topo: &'a Topology, r: &'a Rack) -> RackView<'a> {
    RackView {
        id: &r.id,
        name: &r.name,
        template_id: r.template_id.as_deref(),
        u_height: r.u_height,
        aisle_id: r.aisle.map(|a| topo.aisles[a as usize].id.as_str()),
        room_id: &topo.rooms[r.room as usize].id,
        devices: r
            .devices
            .iter()
            .map(|&d| device(topo, &topo.devices[d as usize]))
            .collect(),
    }
}

pub fn device<'a>(topo: &'a Topology, d: &'a Device) -> DeviceView<'a> {
    DeviceView {
        id: &d.id,
        name: &d.name,
        template_id: &d.template_id,
        u_position: d.u_position,
        face: d.face,
        instance: InstanceView(topo.device_instances(d)),
        labels: &d.labels,
    }
}
