//! A broken importer for the loader's tests: a valid description, but `run` hands back
//! bytes that are not the inventory's JSON.
#![allow(unsafe_code)]

use rackscope_importer_abi::{Buf, OK};

fn give(out: *mut Buf, bytes: &[u8]) -> i32 {
    let mut v = std::mem::ManuallyDrop::new(bytes.to_vec());
    let buf = Buf {
        ptr: v.as_mut_ptr(),
        len: v.len(),
        cap: v.capacity(),
    };
    // SAFETY: the host passes a writable `Buf`.
    unsafe { out.write(buf) };
    OK
}

#[unsafe(no_mangle)]
pub extern "C" fn rackscope_importer_abi_version() -> u32 {
    rackscope_importer_abi::ABI_VERSION
}

#[unsafe(no_mangle)]
pub extern "C" fn rackscope_importer_describe(out: *mut Buf) -> i32 {
    give(
        out,
        br#"{"name": "broken-json", "version": "0.0.0", "description": "bad JSON"}"#,
    )
}

#[unsafe(no_mangle)]
pub extern "C" fn rackscope_importer_run(
    _config: *const u8,
    _len: usize,
    _progress: Option<rackscope_importer_abi::ProgressFn>,
    _ctx: *mut std::ffi::c_void,
    out: *mut Buf,
) -> i32 {
    give(out, br#"{"source": "x", "sites": [{"id": "s1", "rooms": ["#)
}

#[unsafe(no_mangle)]
pub extern "C" fn rackscope_importer_last_error(out: *mut Buf) -> i32 {
    rackscope_importer_abi::glue::last_error(out)
}

#[unsafe(no_mangle)]
pub extern "C" fn rackscope_importer_free(buf: Buf) {
    rackscope_importer_abi::glue::free(buf)
}
