//! Fuzz target: any bytes as a single-file RacksDB database (YAML) and as RacksDB JSON
//! output must map to an inventory that keeps the contract, or to an error; never a panic.
#![no_main]

use rackscope_importer_abi::{Inventory, testkit};
use rackscope_importer_racksdb::Options;

fn keeps_contract(result: Result<Inventory, String>) {
    if let Ok(inventory) = result {
        if let Err(broken) = testkit::check(&inventory) {
            panic!("the inventory breaks the contract:\n{broken}");
        }
    }
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let options = Options::default();
    if let Ok(text) = std::str::from_utf8(data) {
        keeps_contract(rackscope_importer_racksdb::from_yaml_str(text, &options));
    }
    keeps_contract(rackscope_importer_racksdb::from_json(data, &options));
});
