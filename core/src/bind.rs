//! Binding: which check runs for which target, computed once per configuration from the
//! templates the topology uses, and read by validation (`unbound-check`), the planner and
//! the pages.
//!
//! A device template binds its own checks and those of its rear components (its power
//! supplies, fans…: parts of the device, checked like it); a rack template binds its own
//! checks and those of the rack component templates it places. A check then runs, by its
//! scope, for the instances (node), the devices (chassis) or the racks (rack) concerned.
//!
//! Targets live in three index spaces, one per scope:
//! - node: every instance (its index is its `InstanceIx`), then every device that has no
//!   instance, which is checked under its own id;
//! - chassis: every device (`DeviceIx`);
//! - rack: every rack (`RackIx`).

use std::collections::{HashMap, HashSet};
use std::ops::Range;
use std::sync::Arc;

use crate::library::{Catalog, Library};
use crate::model::catalog::{DeviceTemplate, RackTemplate};
use crate::model::checks::{CheckDef, Scope};
use crate::topology::{DeviceIx, InstanceIx, RackIx, Topology};
use crate::yaml::Located;

/// The labels that tell apart racks (and their chassis) that share an id: the series' site,
/// room and aisle, as `telemetry.site_label` / `room_label` / `aisle_label` name them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Qualifiers {
    pub site: Option<String>,
    pub room: Option<String>,
    pub aisle: Option<String>,
}

impl Qualifiers {
    pub fn of(t: &crate::model::app::Telemetry) -> Qualifiers {
        Qualifiers {
            site: t.site_label.clone(),
            room: t.room_label.clone(),
            aisle: t.aisle_label.clone(),
        }
    }
}

impl Qualifiers {
    /// Whether a series carrying the configured labels tells rack `a` from rack `b`.
    pub fn tell_apart(&self, topo: &Topology, a: RackIx, b: RackIx) -> bool {
        let (ra, rb) = (&topo.racks[a], &topo.racks[b]);
        let (ma, mb) = (&topo.rooms[ra.room], &topo.rooms[rb.room]);
        let aisle = |r: &crate::topology::Rack| r.aisle.map(|x| topo.aisles[x].id.as_str());
        (self.site.is_some() && topo.sites[ma.site].id != topo.sites[mb.site].id)
            || (self.room.is_some() && ma.id != mb.id)
            || (self.aisle.is_some() && aisle(ra) != aisle(rb))
    }
}

/// No target: the end of a `KeyIndex` chain.
const NONE: u32 = u32::MAX;

/// The targets of each scope and the ids Prometheus knows them by. Cheap to clone: the plan
/// and the bindings share one.
#[derive(Debug, Clone, Default)]
pub struct Targets(Arc<Spaces>);

#[derive(Debug, Default)]
struct Spaces {
    instances: u32,
    /// Devices without instances, in the node space after the instances.
    bare_devices: Vec<DeviceIx>,
    /// For each device, its node-space index when it has no instance.
    bare_of_device: HashMap<DeviceIx, u32>,
    keys: [KeyIndex; 3],
}

/// Id → first target with that id, plus a chain for ids defined more than once (the same
/// device id in two racks is legal, and both must get the result).
#[derive(Debug, Clone, Default)]
struct KeyIndex {
    first: HashMap<Box<str>, u32>,
    next: Vec<u32>,
}

impl KeyIndex {
    fn build<'a>(keys: impl Iterator<Item = &'a str>) -> KeyIndex {
        let mut ix = KeyIndex::default();
        let mut last: HashMap<u32, u32> = HashMap::new();
        for (position, key) in keys.enumerate() {
            let position = position as u32;
            ix.next.push(NONE);
            match ix.first.get(key) {
                Some(&first) => {
                    let tail = last.get(&first).copied().unwrap_or(first);
                    ix.next[tail as usize] = position;
                    last.insert(first, position);
                }
                None => {
                    ix.first.insert(key.into(), position);
                }
            }
        }
        ix
    }
    fn lookup(&self, key: &str) -> impl Iterator<Item = u32> + '_ {
        let mut cur = self.first.get(key).copied().unwrap_or(NONE);
        std::iter::from_fn(move || {
            if cur == NONE {
                return None;
            }
            let found = cur;
            cur = self.next[found as usize];
            Some(found)
        })
    }
}

/// The position of a scope in per-scope arrays.
pub fn scope_ix(s: Scope) -> usize {
    match s {
        Scope::Node => 0,
        Scope::Chassis => 1,
        Scope::Rack => 2,
    }
}

impl Targets {
    pub fn build(topo: &Topology) -> Targets {
        let instances = topo.instances.len() as u32;
        let bare_devices: Vec<DeviceIx> = topo
            .devices
            .iter_ix()
            .filter(|(_, d)| d.instances.is_empty())
            .map(|(d, _)| d)
            .collect();
        let bare_of_device = bare_devices
            .iter()
            .enumerate()
            .map(|(k, &d)| (d, instances + k as u32))
            .collect();
        let node_keys = topo
            .instances
            .iter()
            .map(|i| i.name.as_str())
            .chain(bare_devices.iter().map(|&d| topo.devices[d].id.as_str()));
        let keys = [
            KeyIndex::build(node_keys),
            KeyIndex::build(topo.devices.iter().map(|d| d.id.as_str())),
            KeyIndex::build(topo.racks.iter().map(|r| r.id.as_str())),
        ];
        Targets(Arc::new(Spaces {
            instances,
            bare_devices,
            bare_of_device,
            keys,
        }))
    }

    /// How many targets a scope has.
    pub fn len(&self, scope: Scope) -> usize {
        self.0.keys[scope_ix(scope)].next.len()
    }

    /// The targets Prometheus calls `key` in a scope.
    pub fn lookup<'a>(&'a self, scope: Scope, key: &str) -> impl Iterator<Item = u32> + 'a {
        self.0.keys[scope_ix(scope)].lookup(key)
    }

    /// The targets a result series names, into `out`: every target its key names, but
    /// where a rack or chassis key is shared (rack `A01` in every room), only the holders
    /// whose site, room and aisle match the series' `site_label` / `room_label` /
    /// `aisle_label` values, for the
    /// labels that are configured and that the series carries. A series without them stays
    /// shared by every holder, which `rackscope check` warns about (`ambiguous-series`).
    pub fn of_series(
        &self,
        topo: &Topology,
        scope: Scope,
        key: &str,
        labels: &crate::labels::Labels,
        qualifiers: &Qualifiers,
        out: &mut Vec<u32>,
    ) {
        out.clear();
        out.extend(self.lookup(scope, key));
        if out.len() < 2 || scope == Scope::Node {
            return;
        }
        let site = qualifiers.site.as_deref().and_then(|l| labels.get(l));
        let room = qualifiers.room.as_deref().and_then(|l| labels.get(l));
        let aisle = qualifiers.aisle.as_deref().and_then(|l| labels.get(l));
        if site.is_none() && room.is_none() && aisle.is_none() {
            return;
        }
        out.retain(|&t| {
            let rack = match scope {
                Scope::Chassis => topo.devices[DeviceIx::new(t)].rack,
                _ => RackIx::new(t),
            };
            let rack = &topo.racks[rack];
            let r = &topo.rooms[rack.room];
            let a = rack.aisle.map(|a| topo.aisles[a].id.as_str());
            site.is_none_or(|s| topo.sites[r.site].id == s)
                && room.is_none_or(|m| r.id == m)
                && aisle.is_none_or(|x| a == Some(x))
        });
    }

    /// The other targets of a rack or chassis scope whose series cannot be told from
    /// `t`'s: the same id, in racks the qualifiers do not tell apart. Empty for a node.
    pub fn shared_with(&self, topo: &Topology, q: &Qualifiers, scope: Scope, t: u32) -> Vec<u32> {
        let rack_of = |t: u32| match scope {
            Scope::Chassis => topo.devices[DeviceIx::new(t)].rack,
            _ => RackIx::new(t),
        };
        if scope == Scope::Node {
            return Vec::new();
        }
        self.lookup(scope, self.key(topo, scope, t))
            .filter(|&o| o != t && !q.tell_apart(topo, rack_of(t), rack_of(o)))
            .collect()
    }

    /// The id of a target, as queries and results spell it.
    pub fn key<'t>(&self, topo: &'t Topology, scope: Scope, t: u32) -> &'t str {
        match scope {
            Scope::Node => match self.node_instance(t) {
                Some(i) => &topo.instances[i].name,
                None => &topo.devices[self.node_device(topo, t)].id,
            },
            Scope::Chassis => &topo.devices[DeviceIx::new(t)].id,
            Scope::Rack => &topo.racks[RackIx::new(t)].id,
        }
    }

    /// The instance behind a node target, `None` for an instance-less device.
    pub fn node_instance(&self, t: u32) -> Option<InstanceIx> {
        (t < self.0.instances).then_some(InstanceIx::new(t))
    }

    /// The device a node target belongs to.
    pub fn node_device(&self, topo: &Topology, t: u32) -> DeviceIx {
        match self.node_instance(t) {
            Some(i) => topo.instances[i].device,
            None => self.0.bare_devices[(t - self.0.instances) as usize],
        }
    }

    /// The node targets of a device: its instances, or the device itself.
    pub fn device_nodes(&self, topo: &Topology, d: DeviceIx) -> Range<u32> {
        let dev = &topo.devices[d];
        if dev.instances.is_empty() {
            let n = self.0.bare_of_device.get(&d).copied().unwrap_or(0);
            n..n + 1
        } else {
            dev.instances.start.get()..dev.instances.end.get()
        }
    }

    /// The targets of a scope inside one device.
    fn of_device(&self, topo: &Topology, scope: Scope, d: DeviceIx, out: &mut Vec<u32>) {
        match scope {
            Scope::Node => out.extend(self.device_nodes(topo, d)),
            Scope::Chassis => out.push(d.get()),
            Scope::Rack => out.push(topo.devices[d].rack.get()),
        }
    }

    /// The targets of a scope inside one rack.
    fn of_rack(&self, topo: &Topology, scope: Scope, r: RackIx, out: &mut Vec<u32>) {
        match scope {
            Scope::Rack => out.push(r.get()),
            _ => {
                for &d in &topo.racks[r].devices {
                    self.of_device(topo, scope, d, out);
                }
            }
        }
    }
}

/// The check ids a device template lists: its own, then its rear components'.
pub fn device_template_checks(t: &DeviceTemplate) -> impl Iterator<Item = &Located<String>> {
    t.checks
        .iter()
        .chain(t.rear_components.iter().flat_map(|r| r.checks.iter()))
}

/// The check ids a rack template lists: its own, then those of the rack component templates
/// it places.
fn rack_template_checks<'c>(
    t: &'c RackTemplate,
    catalog: &'c Catalog,
) -> impl Iterator<Item = &'c Located<String>> {
    let components = t.infrastructure.rack_components.iter();
    t.checks.iter().chain(
        components
            .filter_map(|c| catalog.components.get(&c.template_id.value))
            .flat_map(|c| c.def.checks.iter()),
    )
}

/// Whether any template lists a check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Listing {
    /// No template lists it: it never runs, and validation warns.
    #[default]
    Unlisted,
    /// Only templates that the topology does not use list it.
    Listed,
    /// A template that the topology uses lists it.
    InUse,
}

/// Which check runs for which target.
#[derive(Debug, Clone, Default)]
pub struct Bindings {
    pub targets: Targets,
    /// Per check (its index in `Config::checks`).
    listing: Vec<Listing>,
    /// Per check, its targets in its scope's space, sorted by id, each once.
    of_check: Vec<Vec<u32>>,
}

impl Bindings {
    /// Binds every check of the library to the targets of the templates that list it.
    pub fn compute(topo: &Topology, catalog: &Catalog, checks: &Library<CheckDef>) -> Bindings {
        let targets = Targets::build(topo);
        let listing = listing(topo, catalog, checks);
        let resolve = |ids: &mut dyn Iterator<Item = &Located<String>>| -> Vec<usize> {
            ids.filter_map(|id| checks.index_of(&id.value)).collect()
        };
        let device_checks: HashMap<&str, Vec<usize>> = catalog
            .devices
            .iter()
            .map(|t| {
                let ids = resolve(&mut device_template_checks(&t.def));
                (t.def.id.value.as_str(), ids)
            })
            .collect();
        let rack_checks: HashMap<&str, Vec<usize>> = catalog
            .racks
            .iter()
            .map(|t| {
                let ids = resolve(&mut rack_template_checks(&t.def, catalog));
                (t.def.id.value.as_str(), ids)
            })
            .collect();
        let scope_of = |check: usize| checks.items[check].def.scope;
        let mut of_check: Vec<Vec<u32>> = vec![Vec::new(); checks.len()];
        for (rack_ix, rack) in topo.racks.iter_ix() {
            if let Some(bound) = rack.template_id.as_deref().and_then(|t| rack_checks.get(t)) {
                for &check in bound {
                    targets.of_rack(topo, scope_of(check), rack_ix, &mut of_check[check]);
                }
            }
            for &d in &rack.devices {
                let template = topo.devices[d].template_id.as_str();
                for &check in device_checks.get(template).into_iter().flatten() {
                    targets.of_device(topo, scope_of(check), d, &mut of_check[check]);
                }
            }
        }
        for (check, list) in of_check.iter_mut().enumerate() {
            let scope = scope_of(check);
            list.sort_unstable_by(|a, b| {
                let key = |t: u32| targets.key(topo, scope, t);
                key(*a).cmp(key(*b)).then(a.cmp(b))
            });
            list.dedup();
        }
        Bindings {
            targets,
            listing,
            of_check,
        }
    }

    /// The targets a check runs for, in its scope's space, sorted by id.
    pub fn targets_of(&self, check: usize) -> &[u32] {
        self.of_check.get(check).map_or(&[], Vec::as_slice)
    }

    /// Binds a check to every instance, whatever its template: Slurm's check, for the nodes
    /// a scheduler reports.
    pub fn bind_all_instances(&mut self, topo: &Topology, check: usize) {
        if self.of_check.len() <= check {
            self.of_check.resize(check + 1, Vec::new());
            self.listing.resize(check + 1, Listing::Unlisted);
        }
        let targets = &self.targets;
        let mut list: Vec<u32> = (0..topo.instances.len() as u32).collect();
        list.sort_unstable_by(|a, b| {
            let key = |t: u32| targets.key(topo, Scope::Node, t);
            key(*a).cmp(key(*b)).then(a.cmp(b))
        });
        self.of_check[check] = list;
        self.listing[check] = Listing::InUse;
    }

    /// Whether templates list a check.
    pub fn listing(&self, check: usize) -> Listing {
        self.listing.get(check).copied().unwrap_or_default()
    }
}

/// Per check, whether a template lists it and whether the topology uses that template.
fn listing(topo: &Topology, catalog: &Catalog, checks: &Library<CheckDef>) -> Vec<Listing> {
    let used_devices: HashSet<&str> = topo
        .devices
        .iter()
        .map(|d| d.template_id.as_str())
        .collect();
    let used_racks: HashSet<&str> = topo
        .racks
        .iter()
        .filter_map(|r| r.template_id.as_deref())
        .collect();
    let mut out = vec![Listing::Unlisted; checks.len()];
    let mut mark = |ids: &mut dyn Iterator<Item = &Located<String>>, in_use: bool| {
        for check in ids.filter_map(|id| checks.index_of(&id.value)) {
            let level = if in_use {
                Listing::InUse
            } else {
                Listing::Listed
            };
            if out[check] != Listing::InUse {
                out[check] = level;
            }
        }
    };
    for t in catalog.devices.iter() {
        let in_use = used_devices.contains(t.def.id.value.as_str());
        mark(&mut device_template_checks(&t.def), in_use);
    }
    for t in catalog.racks.iter() {
        mark(
            &mut t.def.checks.iter(),
            used_racks.contains(t.def.id.value.as_str()),
        );
    }
    // A component template counts as used when a used rack template places it.
    let used_components: HashSet<&str> = catalog
        .racks
        .iter()
        .filter(|t| used_racks.contains(t.def.id.value.as_str()))
        .flat_map(|t| t.def.infrastructure.rack_components.iter())
        .map(|r| r.template_id.value.as_str())
        .collect();
    for t in catalog.components.iter() {
        let in_use = used_components.contains(t.def.id.value.as_str());
        mark(&mut t.def.checks.iter(), in_use);
    }
    out
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    /// Rear components bind like the device's own checks: each check runs for the targets
    /// of the templates that list it, at its scope.
    #[test]
    fn rear_components_bind_to_their_device() {
        let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/rear/app.yaml");
        let config = crate::load_with_env(&p, std::iter::empty()).config;
        let bindings = &config.bindings;
        let targets_of = |id: &str| -> Vec<&str> {
            let ix = config.checks.index_of(id).unwrap();
            let scope = config.checks.items[ix].def.scope;
            bindings
                .targets_of(ix)
                .iter()
                .map(|&t| bindings.targets.key(&config.topology, scope, t))
                .collect()
        };
        assert!(targets_of("psu_state").contains(&"srv-2"));
        assert!(targets_of("psu_fan").contains(&"n01"));
        assert!(targets_of("node_up").contains(&"n01"));
        for ix in 0..config.checks.len() {
            assert_eq!(bindings.listing(ix), Listing::InUse);
        }
    }
}
