//! The plugin side of the C symbols: every export catches panics, keeps the last error per
//! thread, and hands out buffers that only `free` gives back to the allocator.
#![allow(unsafe_code)]
// These functions are only reached through the C symbols, whose contract (ABI.md) is what
// makes the pointers valid; marking them `unsafe` would not move that check anywhere.
#![allow(clippy::not_unsafe_ptr_arg_deref)]

use std::cell::RefCell;
use std::ffi::c_void;
use std::panic::{AssertUnwindSafe, catch_unwind};

use crate::{Buf, ERR, Importer, OK, PANIC, Progress, ProgressFn, Reporter};

thread_local! {
    static LAST_ERROR: RefCell<String> = const { RefCell::new(String::new()) };
}

fn set_error(message: String) {
    LAST_ERROR.with(|e| *e.borrow_mut() = message);
}

fn panic_message(p: &(dyn std::any::Any + Send)) -> String {
    let what = p
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_owned());
    format!("the importer panicked: {what}")
}

fn into_buf(bytes: Vec<u8>) -> Buf {
    let mut bytes = std::mem::ManuallyDrop::new(bytes);
    Buf {
        ptr: bytes.as_mut_ptr(),
        len: bytes.len(),
        cap: bytes.capacity(),
    }
}

fn put(out: *mut Buf, bytes: Vec<u8>) -> i32 {
    if out.is_null() {
        set_error("the host passed a null output pointer".into());
        return ERR;
    }
    // SAFETY: the host passes a valid, writable `Buf` (the ABI's contract).
    unsafe { out.write(into_buf(bytes)) };
    OK
}

/// Runs `f` with panics caught; its `Err` and any panic become `last_error`.
fn guarded(out: *mut Buf, f: impl FnOnce() -> Result<Vec<u8>, String>) -> i32 {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(bytes)) => put(out, bytes),
        Ok(Err(message)) => {
            set_error(message);
            ERR
        }
        Err(p) => {
            set_error(panic_message(p.as_ref()));
            PANIC
        }
    }
}

pub fn describe<I: Importer>(out: *mut Buf) -> i32 {
    guarded(out, || {
        serde_json::to_vec(&I::describe()).map_err(|e| format!("cannot encode describe: {e}"))
    })
}

pub fn run<I: Importer>(
    config: *const u8,
    len: usize,
    progress: Option<ProgressFn>,
    ctx: *mut c_void,
    out: *mut Buf,
) -> i32 {
    guarded(out, || {
        let bytes: &[u8] = if config.is_null() || len == 0 {
            b"{}"
        } else {
            // SAFETY: the host passes `len` readable bytes at `config` for the call's duration.
            unsafe { std::slice::from_raw_parts(config, len) }
        };
        let config: serde_json::Value = serde_json::from_slice(bytes)
            .map_err(|e| format!("the importer configuration is not valid JSON: {e}"))?;
        let mut send = |p: &Progress| {
            if let (Some(f), Ok(json)) = (progress, serde_json::to_vec(p)) {
                f(ctx, json.as_ptr(), json.len());
            }
        };
        let mut reporter = Reporter::new(Some(&mut send));
        let inventory = I::run(config, &mut reporter)?;
        serde_json::to_vec(&inventory).map_err(|e| format!("cannot encode the inventory: {e}"))
    })
}

pub fn last_error(out: *mut Buf) -> i32 {
    let message = LAST_ERROR.with(|e| e.borrow().clone());
    put(out, message.into_bytes())
}

pub fn free(buf: Buf) {
    if buf.ptr.is_null() {
        return;
    }
    // SAFETY: `buf` came from `into_buf` in this library and is freed once (the contract).
    drop(unsafe { Vec::from_raw_parts(buf.ptr, buf.len, buf.cap) });
}
