//! Fuzz target: any text compiled and run as a Rhai series and aggregate script must never
//! panic and never hang (the engine's operation and size limits bound every run).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    rackscope_core::fuzzing::script(data);
});
