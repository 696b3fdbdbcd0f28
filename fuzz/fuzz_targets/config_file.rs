//! Fuzz target: any bytes as any configuration file must never panic the loader.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    rackscope_core::fuzzing::config_file(data);
});
