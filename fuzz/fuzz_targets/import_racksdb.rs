//! Fuzz target: any bytes as a single-file RacksDB database (YAML) and as RacksDB JSON
//! output must map to an inventory or an error, never a panic.
#![no_main]

use rackscope_importer_racksdb::Options;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let options = Options::default();
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = rackscope_importer_racksdb::from_yaml_str(text, &options);
    }
    let _ = rackscope_importer_racksdb::from_json(data, &options);
});
