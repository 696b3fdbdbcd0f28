//! The URLs of the pages, with ids percent-encoded (ids are free text in the YAML).

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
pub fn room_url(id: &str) -> String {
    format!("/views/room/{}", enc(id))
}
pub fn rack_url(id: &str) -> String {
    format!("/views/rack/{}", enc(id))
}
pub fn device_url(rack: &str, device: &str) -> String {
    format!("/views/device/{}/{}", enc(rack), enc(device))
}
/// The rack page with the device highlighted and scrolled to.
pub fn rack_device_url(rack: &str, device: &str) -> String {
    format!(
        "/views/rack/{}?device={}#dev-{}",
        enc(rack),
        enc(device),
        enc(device)
    )
}
