//! The URLs of the pages, with ids percent-encoded (ids are free text in the YAML).
//!
//! A room, rack or device is named in its URL by its short id where that is unique, and by
//! its qualified path (`site/room/aisle/rack`, the slashes encoded) where the short id is
//! shared, so every link the pages draw opens one page, never a disambiguation.

use rackscope_core::topology::{DeviceIx, RackIx, RoomIx, Topology};

/// Percent-encodes a path segment or query value (ids are free text in the YAML).
pub fn enc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

pub fn site_url(id: &str) -> String {
    format!("/views/site/{}", enc(id))
}
pub fn room_url(topo: &Topology, room: RoomIx) -> String {
    room_href(&topo.room_key(room))
}
/// The room page of a room key as the request spelled it (a form's redirect).
pub fn room_href(key: &str) -> String {
    format!("/views/room/{}", enc(key))
}
pub fn rack_url(topo: &Topology, rack: RackIx) -> String {
    rack_href(&topo.rack_key(rack))
}
/// The rack page of a rack key as the request spelled it (a form's redirect).
pub fn rack_href(key: &str) -> String {
    format!("/views/rack/{}", enc(key))
}
pub fn device_url(topo: &Topology, device: DeviceIx) -> String {
    let d = &topo.devices[device];
    format!(
        "/views/device/{}/{}",
        enc(&topo.rack_key(d.rack)),
        enc(&d.id)
    )
}
/// The rack page with the device highlighted and scrolled to.
pub fn rack_device_url(topo: &Topology, device: DeviceIx) -> String {
    let d = &topo.devices[device];
    format!(
        "{}?device={}#dev-{}",
        rack_url(topo, d.rack),
        enc(&d.id),
        enc(&d.id)
    )
}
