//! The contract between Rackscope and an importer library: the C symbols, the JSON they
//! carry, and `export_importer!`, which writes the symbols for an importer author.
//!
//! The specification for third-party authors is `importers/ABI.md`; this crate is its
//! reference implementation. Only bytes of UTF-8 JSON cross the boundary, so a plugin
//! built by another compiler (or in another language) works as long as it keeps to it.

#[doc(hidden)]
pub mod glue;
pub mod model;
pub mod options;
#[cfg(feature = "testkit")]
pub mod testkit;

pub use model::*;

/// Bumped on any incompatible change to the symbols or to the JSON shapes.
pub const ABI_VERSION: u32 = 1;

/// `extern "C" fn() -> u32`: the ABI version the plugin was built for; called first.
pub const SYM_ABI_VERSION: &str = "rackscope_importer_abi_version";
/// `extern "C" fn(out: *mut Buf) -> i32`: the plugin's [`Describe`] as JSON.
pub const SYM_DESCRIBE: &str = "rackscope_importer_describe";
/// `extern "C" fn(config: *const u8, len: usize, progress: Option<ProgressFn>, ctx: *mut c_void, out: *mut Buf) -> i32`:
/// runs the import with its configuration (a JSON object) and returns an [`Inventory`] as JSON.
pub const SYM_RUN: &str = "rackscope_importer_run";
/// `extern "C" fn(out: *mut Buf) -> i32`: the message of the last failure on this thread.
pub const SYM_LAST_ERROR: &str = "rackscope_importer_last_error";
/// `extern "C" fn(buf: Buf)`: frees a buffer the plugin returned.
pub const SYM_FREE: &str = "rackscope_importer_free";

/// Return codes of the functions that return `i32`.
pub const OK: i32 = 0;
/// The importer reported an error; `last_error` has its message.
pub const ERR: i32 = 1;
/// The importer panicked; the panic was caught and `last_error` has its message.
pub const PANIC: i32 = 2;

/// Bytes allocated by the plugin and handed to the host, which gives them back to `free`.
#[repr(C)]
#[derive(Debug)]
pub struct Buf {
    pub ptr: *mut u8,
    pub len: usize,
    /// The allocation's capacity, so the plugin can rebuild its `Vec` on free.
    pub cap: usize,
}

impl Buf {
    pub const EMPTY: Buf = Buf {
        ptr: std::ptr::null_mut(),
        len: 0,
        cap: 0,
    };
}

/// Progress callback: the host passes it with an opaque context; the plugin calls it with a
/// JSON [`Progress`] object (pointer and length), on the thread that called `run`.
pub type ProgressFn = extern "C" fn(ctx: *mut std::ffi::c_void, json: *const u8, len: usize);

/// What an importer author implements; `export_importer!` turns it into the C symbols.
pub trait Importer {
    fn describe() -> Describe;
    /// `config` is the JSON object built from the user's importer file and flags.
    fn run(config: serde_json::Value, progress: &mut Reporter<'_>) -> Result<Inventory, String>;
}

/// Hands progress to the host; a no-op when the host passed no callback.
pub struct Reporter<'a> {
    sink: Option<&'a mut dyn FnMut(&Progress)>,
}

impl<'a> Reporter<'a> {
    pub fn new(sink: Option<&'a mut dyn FnMut(&Progress)>) -> Self {
        Reporter { sink }
    }
    /// A reporter that drops everything, for tests and fuzzing.
    pub fn silent() -> Reporter<'static> {
        Reporter { sink: None }
    }
    pub fn report(&mut self, message: impl Into<String>, done: u64, total: Option<u64>) {
        if let Some(sink) = self.sink.as_mut() {
            sink(&Progress {
                message: message.into(),
                done,
                total,
            });
        }
    }
}

/// Writes the five C symbols of the ABI for an [`Importer`] type.
#[macro_export]
macro_rules! export_importer {
    ($ty:ty) => {
        #[allow(unsafe_code)]
        #[unsafe(no_mangle)]
        pub extern "C" fn rackscope_importer_abi_version() -> u32 {
            $crate::ABI_VERSION
        }

        #[allow(unsafe_code)]
        #[unsafe(no_mangle)]
        pub extern "C" fn rackscope_importer_describe(out: *mut $crate::Buf) -> i32 {
            $crate::glue::describe::<$ty>(out)
        }

        #[allow(unsafe_code)]
        #[unsafe(no_mangle)]
        pub extern "C" fn rackscope_importer_run(
            config: *const u8,
            len: usize,
            progress: Option<$crate::ProgressFn>,
            ctx: *mut ::std::ffi::c_void,
            out: *mut $crate::Buf,
        ) -> i32 {
            $crate::glue::run::<$ty>(config, len, progress, ctx, out)
        }

        #[allow(unsafe_code)]
        #[unsafe(no_mangle)]
        pub extern "C" fn rackscope_importer_last_error(out: *mut $crate::Buf) -> i32 {
            $crate::glue::last_error(out)
        }

        #[allow(unsafe_code)]
        #[unsafe(no_mangle)]
        pub extern "C" fn rackscope_importer_free(buf: $crate::Buf) {
            $crate::glue::free(buf)
        }
    };
}
