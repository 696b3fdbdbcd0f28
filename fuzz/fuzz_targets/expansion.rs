//! Fuzz target: instance expansion never panics, and folding its output round-trips.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Err(e) = rackscope_core::fuzzing::expansion(data) {
        panic!("{e}");
    }
});
