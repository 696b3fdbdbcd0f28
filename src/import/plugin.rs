//! Loading an importer library and calling it through the C ABI of `rackscope-importer-abi`:
//! every failure a plugin can cause becomes an error naming the library.
#![allow(unsafe_code)]

use std::ffi::c_void;
use std::path::{Path, PathBuf};

use libloading::Library;
use rackscope_importer_abi as abi;
use rackscope_importer_abi::{Buf, Describe, Inventory, Progress};

#[derive(Debug, thiserror::Error)]
pub enum PluginError {
    #[error("no importer `{name}`: looked for {file} in {}", dirs.iter().map(|d| d.display().to_string()).collect::<Vec<_>>().join(", "))]
    NotFound {
        name: String,
        file: String,
        dirs: Vec<PathBuf>,
    },
    #[error("{}: cannot load the library: {reason}", path.display())]
    Load { path: PathBuf, reason: String },
    #[error("{}: not a Rackscope importer: symbol `{symbol}` is missing", path.display())]
    MissingSymbol { path: PathBuf, symbol: &'static str },
    #[error(
        "{}: built for importer ABI version {found}, but this rackscope speaks version {expected}; rebuild the importer against rackscope-importer-abi {expected}",
        path.display()
    )]
    AbiVersion {
        path: PathBuf,
        found: u32,
        expected: u32,
    },
    #[error("{}: {what} failed: {message}", path.display())]
    Failed {
        path: PathBuf,
        what: &'static str,
        message: String,
    },
    #[error("{}: {what} returned invalid JSON: {reason}", path.display())]
    BadJson {
        path: PathBuf,
        what: &'static str,
        reason: String,
    },
}

type AbiVersionFn = extern "C" fn() -> u32;
type DescribeFn = extern "C" fn(*mut Buf) -> i32;
type RunFn = extern "C" fn(*const u8, usize, Option<abi::ProgressFn>, *mut c_void, *mut Buf) -> i32;
type LastErrorFn = extern "C" fn(*mut Buf) -> i32;
type FreeFn = extern "C" fn(Buf);

/// A loaded importer. The library is never unloaded: code or thread-locals of a plugin
/// may outlive any call into it, and unloading would leave them dangling.
pub struct Plugin {
    pub path: PathBuf,
    pub describe: Describe,
    run: RunFn,
    last_error: LastErrorFn,
    free: FreeFn,
}

/// The file name of importer `name` on this platform (`librackscope_importer_netbox.so`).
pub fn file_name(name: &str) -> String {
    format!(
        "{}rackscope_importer_{}{}",
        std::env::consts::DLL_PREFIX,
        name.replace('-', "_"),
        std::env::consts::DLL_SUFFIX
    )
}

/// Where importers are looked for, in order: the configured directory, the directory of
/// the `rackscope` binary, then cargo's places in a checkout (`deps/` below the binary,
/// where `cargo test` leaves libraries, or the parent of a test binary in `deps/`), and
/// `../lib/rackscope` for an installed layout.
pub fn search_dirs(configured: Option<&Path>) -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    if let Some(d) = configured {
        dirs.push(d.to_path_buf());
    }
    if let Ok(exe) = std::env::current_exe()
        && let Some(dir) = exe.parent()
    {
        dirs.push(dir.to_path_buf());
        dirs.push(dir.join("deps"));
        if let Some(up) = dir.parent() {
            if dir.file_name().is_some_and(|n| n == "deps") {
                dirs.push(up.to_path_buf());
            }
            dirs.push(up.join("lib").join("rackscope"));
        }
    }
    dirs
}

/// Finds an importer by name, or takes `name` as a library path when it is one.
pub fn find(name: &str, dirs: &[PathBuf]) -> Result<PathBuf, PluginError> {
    let direct = Path::new(name);
    if name.contains(std::path::MAIN_SEPARATOR) || name.ends_with(std::env::consts::DLL_SUFFIX) {
        return Ok(direct.to_path_buf());
    }
    let file = file_name(name);
    dirs.iter()
        .map(|d| d.join(&file))
        .find(|p| p.is_file())
        .ok_or_else(|| PluginError::NotFound {
            name: name.to_owned(),
            file,
            dirs: dirs.to_vec(),
        })
}

/// Every importer library in `dirs`, first one of each name winning.
pub fn discover(dirs: &[PathBuf]) -> Vec<PathBuf> {
    let prefix = format!("{}rackscope_importer_", std::env::consts::DLL_PREFIX);
    let mut seen = std::collections::BTreeSet::new();
    let mut out = Vec::new();
    for d in dirs {
        let Ok(entries) = std::fs::read_dir(d) else {
            continue;
        };
        let mut names: Vec<_> = entries
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with(&prefix) && n.ends_with(std::env::consts::DLL_SUFFIX))
            .collect();
        names.sort();
        for n in names {
            if seen.insert(n.clone()) {
                out.push(d.join(n));
            }
        }
    }
    out
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

impl Plugin {
    /// Loads the library, checks its ABI version first, then reads its description.
    pub fn load(path: &Path) -> Result<Plugin, PluginError> {
        let path = path.to_path_buf();
        // SAFETY: loading runs the library's initialisers; a plugin is trusted code the
        // user chose to run, like any program. It is leaked, so never unloaded.
        let lib: &'static Library = match unsafe { Library::new(&path) } {
            Ok(l) => Box::leak(Box::new(l)),
            Err(e) => {
                return Err(PluginError::Load {
                    path,
                    reason: error_chain(&e),
                });
            }
        };
        // SAFETY: each symbol is read with the type the ABI specification gives it.
        let version: AbiVersionFn = unsafe { symbol(lib, &path, abi::SYM_ABI_VERSION)? };
        let found = version();
        if found != abi::ABI_VERSION {
            return Err(PluginError::AbiVersion {
                path,
                found,
                expected: abi::ABI_VERSION,
            });
        }
        let describe: DescribeFn = unsafe { symbol(lib, &path, abi::SYM_DESCRIBE)? };
        let run: RunFn = unsafe { symbol(lib, &path, abi::SYM_RUN)? };
        let last_error: LastErrorFn = unsafe { symbol(lib, &path, abi::SYM_LAST_ERROR)? };
        let free: FreeFn = unsafe { symbol(lib, &path, abi::SYM_FREE)? };
        let mut plugin = Plugin {
            path,
            describe: Describe {
                name: String::new(),
                version: String::new(),
                description: String::new(),
                options: Vec::new(),
            },
            run,
            last_error,
            free,
        };
        let bytes = plugin.call("describe", |out| describe(out))?;
        plugin.describe = plugin.decode("describe", &bytes)?;
        Ok(plugin)
    }

    /// Runs the import; `progress` receives the plugin's reports as they come.
    pub fn run(
        &self,
        config: &serde_json::Value,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<Inventory, PluginError> {
        let json = serde_json::to_vec(config).map_err(|e| PluginError::Failed {
            path: self.path.clone(),
            what: "encoding the configuration",
            message: e.to_string(),
        })?;
        let mut sink: &mut dyn FnMut(Progress) = progress;
        let ctx = (&mut sink) as *mut &mut dyn FnMut(Progress) as *mut c_void;
        let bytes = self.call("run", |out| {
            (self.run)(json.as_ptr(), json.len(), Some(on_progress), ctx, out)
        })?;
        self.decode("run", &bytes)
    }

    /// Calls an export that fills a buffer, copies the bytes out and frees the buffer.
    fn call(
        &self,
        what: &'static str,
        f: impl FnOnce(*mut Buf) -> i32,
    ) -> Result<Vec<u8>, PluginError> {
        let mut out = Buf::EMPTY;
        let code = f(&mut out);
        let bytes = self.take(out);
        match code {
            abi::OK => Ok(bytes),
            code => {
                let mut e = Buf::EMPTY;
                let message = match (self.last_error)(&mut e) {
                    abi::OK => String::from_utf8_lossy(&self.take(e)).into_owned(),
                    _ => format!("error code {code}, and no message"),
                };
                Err(PluginError::Failed {
                    path: self.path.clone(),
                    what,
                    message,
                })
            }
        }
    }

    fn take(&self, buf: Buf) -> Vec<u8> {
        if buf.ptr.is_null() {
            return Vec::new();
        }
        // SAFETY: the plugin returned `len` initialised bytes at `ptr` (the ABI contract),
        // valid until they are given back to its `free`, which happens right after.
        let bytes = unsafe { std::slice::from_raw_parts(buf.ptr, buf.len) }.to_vec();
        (self.free)(buf);
        bytes
    }

    fn decode<T: serde::de::DeserializeOwned>(
        &self,
        what: &'static str,
        bytes: &[u8],
    ) -> Result<T, PluginError> {
        serde_json::from_slice(bytes).map_err(|e| PluginError::BadJson {
            path: self.path.clone(),
            what,
            reason: e.to_string(),
        })
    }
}

/// # Safety
/// `T` must be the function-pointer type the ABI gives `name`.
unsafe fn symbol<T: Copy>(
    lib: &'static Library,
    path: &Path,
    name: &'static str,
) -> Result<T, PluginError> {
    let missing = || PluginError::MissingSymbol {
        path: path.to_path_buf(),
        symbol: name,
    };
    // SAFETY: per this function's contract; the library is leaked, so the pointer copied
    // out of the `Symbol` stays valid for the life of the process.
    unsafe { lib.get::<T>(name.as_bytes()) }
        .map(|s| *s)
        .map_err(|_| missing())
}

extern "C" fn on_progress(ctx: *mut c_void, json: *const u8, len: usize) {
    if ctx.is_null() || json.is_null() {
        return;
    }
    // SAFETY: `ctx` is the `&mut &mut dyn FnMut` that `Plugin::run` passed and that lives
    // for the whole call; `json` points at `len` bytes for the duration of this callback.
    let (sink, bytes) = unsafe {
        (
            &mut *(ctx as *mut &mut dyn FnMut(Progress)),
            std::slice::from_raw_parts(json, len),
        )
    };
    if let Ok(p) = serde_json::from_slice::<Progress>(bytes) {
        // A panic must not unwind into the plugin's frames.
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| sink(p)));
    }
}
