//! The contract of ABI.md checked on an [`Inventory`]: one checker for the importers' tests
//! and fuzz targets, so that every importer is held to the same rules.
//!
//! It returns the broken rules instead of panicking, so a fuzz target or a test decides how
//! to fail; `Inventory` values built by hand may hold any numbers, hence the wide arithmetic.

use std::collections::{BTreeMap, BTreeSet};

use crate::{Face, Importer, Inventory, Reporter, Template, slug};

/// Every rule of the contract that `inventory` breaks, in the order they were found; empty
/// when it keeps them all.
pub fn violations(inventory: &Inventory) -> Vec<String> {
    let mut check = Checker::default();
    check.templates(&inventory.templates);
    let templates: BTreeMap<&str, &Template> = inventory
        .templates
        .iter()
        .map(|t| (t.id.as_str(), t))
        .collect();
    for site in &inventory.sites {
        check.id("site", &site.id);
        for room in &site.rooms {
            check.id("room", &room.id);
            for aisle in &room.aisles {
                check.id("aisle", &aisle.id);
                for rack in &aisle.racks {
                    check.id("rack", &rack.id);
                    check.rack(rack, &templates);
                }
            }
        }
    }
    for t in &inventory.templates {
        if !check.used_templates.contains(t.id.as_str()) {
            check.broken(format!("template {} is used by no device", t.id));
        }
    }
    check.found
}

/// `Ok` when `inventory` keeps the contract, else every broken rule, one a line.
pub fn check(inventory: &Inventory) -> Result<(), String> {
    let found = violations(inventory);
    if found.is_empty() {
        Ok(())
    } else {
        Err(found.join("\n"))
    }
}

/// The shared recordings of `importer` (`../shared/fixtures/importers/<importer>`, beside
/// the repository), or `None`, with a note, where they are absent: tests on them skip.
pub fn fixtures(importer: &str) -> Option<std::path::PathBuf> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/fixtures/importers")
        .join(importer);
    if root.is_dir() {
        Some(root)
    } else {
        eprintln!("skipped: ../shared/fixtures/importers not found");
        None
    }
}

/// Runs importer `I` as the host would, without progress reports.
pub fn run<I: Importer>(config: serde_json::Value) -> Result<Inventory, String> {
    I::run(config, &mut Reporter::silent())
}

#[derive(Default)]
struct Checker {
    ids: BTreeMap<&'static str, BTreeSet<String>>,
    instances: BTreeSet<String>,
    used_templates: BTreeSet<String>,
    found: Vec<String>,
}

impl Checker {
    fn broken(&mut self, rule: String) {
        self.found.push(rule);
    }

    /// Ids are slugs, unique within their kind.
    fn id(&mut self, kind: &'static str, id: &str) {
        if id != slug(id) {
            self.broken(format!("{kind} id {id} is not a slug"));
        }
        if !self.ids.entry(kind).or_default().insert(id.to_owned()) {
            self.broken(format!("{kind} id {id} is used twice"));
        }
    }

    /// Templates: sorted by id, ids unique slugs, at least 1 U high.
    fn templates(&mut self, templates: &[Template]) {
        if !templates.is_sorted_by(|a, b| a.id <= b.id) {
            self.broken("templates are not sorted by id".to_owned());
        }
        for t in templates {
            self.id("template", &t.id);
            if t.u_height < 1 {
                self.broken(format!("template {} is less than 1 U high", t.id));
            }
        }
    }

    /// Devices: ids unique slugs, a defined template, inside the rack, no overlap on one
    /// face, instances unique and no more than the template's slots (one without slots).
    fn rack(&mut self, rack: &crate::Rack, templates: &BTreeMap<&str, &Template>) {
        let mut taken: Vec<(Face, u64, u64)> = Vec::new();
        for d in &rack.devices {
            self.id("device", &d.id);
            for i in &d.instances {
                if !self.instances.insert(i.clone()) {
                    self.broken(format!("instance {i} is used twice"));
                }
            }
            let Some(t) = templates.get(d.template_id.as_str()) else {
                self.broken(format!("{}: template {} is missing", d.id, d.template_id));
                continue;
            };
            self.used_templates.insert(t.id.clone());
            let low = u64::from(d.u_position);
            let high = low + u64::from(t.u_height.max(1)) - 1;
            if low < 1 || high > u64::from(rack.u_height) {
                self.broken(format!("{} does not fit rack {}", d.id, rack.id));
            }
            if taken
                .iter()
                .any(|&(face, l, h)| face == d.face && l <= high && low <= h)
            {
                self.broken(format!("{} overlaps another device", d.id));
            }
            taken.push((d.face, low, high));
            let room = match t.slots {
                Some(s) => u64::from(s.rows) * u64::from(s.cols),
                None => 1,
            };
            if d.instances.len() as u64 > room {
                self.broken(format!(
                    "{} has {} instances for {room} slots",
                    d.id,
                    d.instances.len()
                ));
            }
        }
    }
}
