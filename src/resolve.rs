//! Naming a room, rack or device from a request: a short id where it is unique, or a
//! qualified path (`site/room/aisle/rack`); a short id several objects carry is answered
//! with every candidate and where it stands (409 in the API, a disambiguation page in the
//! UI), never with the first one.

use rackscope_core::topology::{DeviceIx, Found, RackIx, RoomIx, Topology};
use serde::Serialize;

/// One object a shared short id names, located for a person to choose.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Candidate {
    /// `room`, `rack` or `device`.
    pub kind: &'static str,
    pub id: String,
    pub name: String,
    /// The qualified path, which names this one object everywhere a short id is accepted.
    pub path: String,
    /// The names from the site down to its parent: `Paris › Machine room A › Aisle 1`.
    pub location: String,
    #[serde(skip)]
    pub ix: Ix,
}

/// What a candidate is, for the page that links to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Ix {
    #[default]
    None,
    Room(RoomIx),
    Rack(RackIx),
    Device(DeviceIx),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Unresolved {
    #[error("{kind} `{key}` not found")]
    Missing { kind: &'static str, key: String },
    #[error("{kind} id `{key}` names {} {kind}s; ask for one by its qualified path: {}", candidates.len(), paths(candidates))]
    Ambiguous {
        kind: &'static str,
        key: String,
        candidates: Vec<Candidate>,
    },
}

fn paths(c: &[Candidate]) -> String {
    c.iter()
        .map(|c| c.path.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

fn resolve<I: Copy>(
    kind: &'static str,
    key: &str,
    found: Found<I>,
    candidate: impl Fn(I) -> Candidate,
) -> Result<I, Unresolved> {
    match found {
        Found::One(i) => Ok(i),
        Found::None => Err(Unresolved::Missing {
            kind,
            key: key.to_owned(),
        }),
        Found::Many(all) => Err(Unresolved::Ambiguous {
            kind,
            key: key.to_owned(),
            candidates: all.into_iter().map(candidate).collect(),
        }),
    }
}

pub fn room(topo: &Topology, key: &str) -> Result<RoomIx, Unresolved> {
    resolve("room", key, topo.find_room(key), |r| {
        room_candidate(topo, r)
    })
}

pub fn rack(topo: &Topology, key: &str) -> Result<RackIx, Unresolved> {
    resolve("rack", key, topo.find_rack(key), |r| {
        rack_candidate(topo, r)
    })
}

/// A device by its rack's key and its own id. When the rack key is shared, the candidates
/// are the devices of that id in each of those racks (the racks without it are not).
pub fn device(topo: &Topology, rack_key: &str, device_id: &str) -> Result<DeviceIx, Unresolved> {
    let in_rack = |r: RackIx| topo.device_ix_in_rack(r, device_id);
    let found = match topo.find_rack(rack_key) {
        Found::None => Found::None,
        Found::One(r) => in_rack(r).map_or(Found::None, Found::One),
        Found::Many(racks) => {
            let mut all: Vec<DeviceIx> = racks.into_iter().filter_map(in_rack).collect();
            match all.len() {
                0 => Found::None,
                1 => Found::One(all.remove(0)),
                _ => Found::Many(all),
            }
        }
    };
    let key = format!("{rack_key}/{device_id}");
    resolve("device", &key, found, |d| device_candidate(topo, d))
}

fn located(topo: &Topology, rack: Option<RackIx>, room: RoomIx) -> String {
    let r = &topo.rooms[room];
    let mut names = vec![topo.sites[r.site].name.as_str(), r.name.as_str()];
    if let Some(a) = rack.and_then(|x| topo.racks[x].aisle) {
        names.push(&topo.aisles[a].name);
    }
    names.join(" › ")
}

fn room_candidate(topo: &Topology, r: RoomIx) -> Candidate {
    let room = &topo.rooms[r];
    Candidate {
        kind: "room",
        id: room.id.clone(),
        name: room.name.clone(),
        path: topo.room_path(r),
        location: topo.sites[room.site].name.clone(),
        ix: Ix::Room(r),
    }
}

fn rack_candidate(topo: &Topology, x: RackIx) -> Candidate {
    let rack = &topo.racks[x];
    Candidate {
        kind: "rack",
        id: rack.id.clone(),
        name: rack.name.clone(),
        path: topo.rack_path(x),
        location: located(topo, Some(x), rack.room),
        ix: Ix::Rack(x),
    }
}

fn device_candidate(topo: &Topology, d: DeviceIx) -> Candidate {
    let dev = &topo.devices[d];
    let rack = &topo.racks[dev.rack];
    Candidate {
        kind: "device",
        id: dev.id.clone(),
        name: dev.name.clone(),
        path: topo.device_path(d),
        location: format!(
            "{} › {} › U{}",
            located(topo, Some(dev.rack), rack.room),
            rack.name,
            dev.u_position
        ),
        ix: Ix::Device(d),
    }
}
