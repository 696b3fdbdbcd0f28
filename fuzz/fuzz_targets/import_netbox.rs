//! Fuzz target: any bytes as NetBox endpoint lists (`{"sites": [...], "racks": [...], ...}`)
//! must map to an inventory that keeps the contract, or to an error; never a panic.
#![no_main]

use rackscope_importer_abi::testkit;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(inventory) = rackscope_importer_netbox::from_json(data) {
        if let Err(broken) = testkit::check(&inventory) {
            panic!("the inventory breaks the contract:\n{broken}");
        }
    }
});
