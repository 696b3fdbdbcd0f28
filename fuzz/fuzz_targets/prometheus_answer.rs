//! Fuzz target: any bytes as a Prometheus API answer must decode within the limits or fail
//! with an error whose text is bounded, never panic.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Err(e) = rackscope_core::fuzzing::prometheus_answer(data) {
        panic!("{e}");
    }
});
