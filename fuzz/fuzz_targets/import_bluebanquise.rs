//! Fuzz target: any bytes as `ansible-inventory --list` JSON must map to an inventory that
//! keeps the contract, or to an error; never a panic.
#![no_main]

use std::sync::LazyLock;

use rackscope_importer_abi::testkit;
use rackscope_importer_bluebanquise::Options;

// Built once: the default options compile two regular expressions.
static OPTIONS: LazyLock<Options> = LazyLock::new(Options::default);

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(inventory) = rackscope_importer_bluebanquise::from_json(data, &OPTIONS) {
        if let Err(broken) = testkit::check(&inventory) {
            panic!("the inventory breaks the contract:\n{broken}");
        }
    }
});
