//! A broken importer for the loader's tests: it panics inside `run`, which the exported
//! wrapper must catch and report instead of aborting the host.

use rackscope_importer_abi::{Describe, Importer, Inventory, Reporter};

pub struct Panics;

impl Importer for Panics {
    fn describe() -> Describe {
        Describe {
            name: "broken-panic".into(),
            version: "0.0.0".into(),
            description: "panics in run".into(),
            options: Vec::new(),
        }
    }
    #[allow(clippy::panic)]
    fn run(config: serde_json::Value, progress: &mut Reporter<'_>) -> Result<Inventory, String> {
        progress.report("about to fail", 1, Some(2));
        panic!("index out of range while reading {config}");
    }
}

rackscope_importer_abi::export_importer!(Panics);
