//! A broken importer for the loader's tests: built for an ABI version that does not exist.
#![allow(unsafe_code)]

#[unsafe(no_mangle)]
pub extern "C" fn rackscope_importer_abi_version() -> u32 {
    rackscope_importer_abi::ABI_VERSION + 98
}
