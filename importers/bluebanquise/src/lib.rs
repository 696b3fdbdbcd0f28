//! Rackscope importer for BlueBanquise: reads the JSON of `ansible-inventory --list` (or runs
//! `ansible-inventory` on an inventory) and places hosts in racks by configurable rules.

mod mapping;
mod options;
mod source;

use std::path::Path;
use std::process::Command;

use rackscope_importer_abi::{Describe, Importer, Inventory, Reporter};

pub use options::{Input, Options};
pub use source::natural_cmp;

/// The importer type behind the exported C symbols.
pub struct BlueBanquise;

impl Importer for BlueBanquise {
    fn describe() -> Describe {
        Describe {
            name: "bluebanquise".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            description: "BlueBanquise (Ansible) inventory: hosts placed in racks by group-name \
                          patterns or host variables, hardware groups as device templates"
                .into(),
            options: options::specs(),
        }
    }

    fn run(config: serde_json::Value, progress: &mut Reporter<'_>) -> Result<Inventory, String> {
        let options = Options::from_config(&config)?;
        let bytes = match &options.input {
            Some(Input::Json(path)) => {
                progress.report(format!("reading {}", path.display()), 0, Some(2));
                std::fs::read(path)
                    .map_err(|e| format!("cannot read inventory_json {}: {e}", path.display()))?
            }
            Some(Input::Inventory(path)) => {
                progress.report(
                    format!(
                        "running {} on {}",
                        options.ansible_inventory_command,
                        path.display()
                    ),
                    0,
                    Some(2),
                );
                run_ansible_inventory(&options.ansible_inventory_command, path)?
            }
            None => return Err("no input: give inventory_json or inventory".into()),
        };
        progress.report("mapping hosts to racks", 1, Some(2));
        let inventory = from_json(&bytes, &options)?;
        let (_, racks, devices, instances) = inventory.counts();
        progress.report(
            format!("{racks} racks, {devices} devices, {instances} hosts"),
            2,
            Some(2),
        );
        Ok(inventory)
    }
}

rackscope_importer_abi::export_importer!(BlueBanquise);

/// Runs `<command> -i <path> --list` and returns its standard output; a source Ansible
/// cannot parse is an error, not a warning.
pub fn run_ansible_inventory(command: &str, path: &Path) -> Result<Vec<u8>, String> {
    if !path.exists() {
        return Err(format!("inventory {} does not exist", path.display()));
    }
    // ansible-inventory only warns about a source it cannot parse and exits 0 with an
    // empty (or phantom-host) inventory; these make it fail instead, so a typo in the
    // inventory never becomes an import that erases the topology.
    let out = Command::new(command)
        .env("ANSIBLE_INVENTORY_UNPARSED_FAILED", "True")
        .env("ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED", "True")
        .arg("-i")
        .arg(path)
        .arg("--list")
        .output()
        .map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                format!(
                    "`{command}` was not found: install ansible-core (`pip install \
                     ansible-core`) or run `ansible-inventory -i {} --list > inventory.json` \
                     where Ansible is installed and pass `inventory_json`",
                    path.display()
                )
            } else {
                format!("cannot run `{command}`: {e}")
            }
        })?;
    if !out.status.success() {
        return Err(format!(
            "`{command} -i {} --list` failed ({}): {}",
            path.display(),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(out.stdout)
}

/// Maps the JSON of `ansible-inventory --list` (or `--list --export`) to an inventory.
/// Pure (no file or process access) and total: bad input is an `Err`, never a panic.
pub fn from_json(bytes: &[u8], options: &Options) -> Result<Inventory, String> {
    let doc: serde_json::Value = serde_json::from_slice(bytes)
        .map_err(|e| format!("the ansible-inventory output is not JSON: {e}"))?;
    let mut warnings = Vec::new();
    let hosts = source::read(&doc, &mut warnings)?;
    if hosts.is_empty() {
        return Err("the ansible-inventory JSON lists no hosts".into());
    }
    let mut inventory = mapping::map(&hosts, options, &mut warnings);
    warnings.append(&mut inventory.warnings);
    inventory.warnings = warnings;
    Ok(inventory)
}

#[cfg(test)]
mod tests;
