//! Fuzz target: an expression the query tester's guard lets through never overflows the
//! parser's stack or panics it.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Err(e) = rackscope_core::fuzzing::expr_guard(data) {
        panic!("{e}");
    }
});
