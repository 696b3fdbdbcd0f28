//! Fuzz target: any bytes as NetBox endpoint lists (`{"sites": [...], "racks": [...], ...}`)
//! must map to an inventory or an error, never a panic.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = rackscope_importer_netbox::from_json(data);
});
