//! Rackscope importer for NetBox: reads sites, locations, rack groups, racks, device types
//! and devices over NetBox's REST API and returns them as a Rackscope inventory.
//!
//! Layers: [`options`] checks the configuration, [`fetch`] talks HTTP (blocking, so the
//! plugin needs no async runtime from the host), [`map`] is the pure mapping, and
//! [`replay`] serves recorded NetBox answers for tests.

pub mod fetch;
pub mod map;
pub mod options;
pub mod replay;

use rackscope_importer_abi::{Describe, Importer, Inventory, Reporter};

pub use fetch::{Lists, fetch};
pub use map::{from_json, map};
pub use options::Options;

/// The importer type behind the plugin's C symbols.
pub struct NetBox;

impl Importer for NetBox {
    fn describe() -> Describe {
        Describe {
            name: "netbox".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            description: "NetBox over its REST API: sites, locations (rooms), rack groups \
                          (aisles), racks, devices at their U and face, multi-node chassis \
                          with their bay devices as instances, device types as templates."
                .into(),
            options: options::specs(),
        }
    }

    fn run(config: serde_json::Value, progress: &mut Reporter<'_>) -> Result<Inventory, String> {
        let options = Options::from_value(&config)?;
        run_with(&options, progress)
    }
}

/// Fetches from the NetBox at `options.url` and maps the answer.
pub fn run_with(options: &Options, progress: &mut Reporter<'_>) -> Result<Inventory, String> {
    let lists = fetch(options, progress)?;
    progress.report("mapping", 0, None);
    let inventory = map(&lists, options)?;
    let (sites, racks, devices, instances) = inventory.counts();
    progress.report(
        format!("{sites} sites, {racks} racks, {devices} devices, {instances} instances"),
        1,
        Some(1),
    );
    Ok(inventory)
}

rackscope_importer_abi::export_importer!(NetBox);

#[cfg(test)]
mod tests;
