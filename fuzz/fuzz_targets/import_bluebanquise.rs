//! Fuzz target: any bytes as `ansible-inventory --list` JSON must map to an inventory or an
//! error, never a panic.
#![no_main]

use std::sync::LazyLock;

use rackscope_importer_bluebanquise::Options;

// Built once: the default options compile two regular expressions.
static OPTIONS: LazyLock<Options> = LazyLock::new(Options::default);

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = rackscope_importer_bluebanquise::from_json(data, &OPTIONS);
});
