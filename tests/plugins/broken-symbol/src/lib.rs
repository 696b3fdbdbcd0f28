//! A broken importer for the loader's tests: the right ABI version but no `run` symbol.
#![allow(unsafe_code)]

use rackscope_importer_abi::Buf;

#[unsafe(no_mangle)]
pub extern "C" fn rackscope_importer_abi_version() -> u32 {
    rackscope_importer_abi::ABI_VERSION
}

#[unsafe(no_mangle)]
pub extern "C" fn rackscope_importer_describe(out: *mut Buf) -> i32 {
    rackscope_importer_abi::glue::last_error(out)
}
