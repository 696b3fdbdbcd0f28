//! The simulated hardware: one node per instance (or per instance-less device) and one
//! set of rack equipment per rack, derived once from a loaded configuration.

use std::collections::HashMap;
use std::sync::Arc;

use rackscope_core::Config;
use rackscope_core::topology::{DeviceIx, RackIx};

use crate::settings::{Profile, Settings};

/// What kind of machine a node is; decides its value profile and its exporters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Class {
    Compute,
    Gpu,
    Service,
    Network,
    Storage,
}

impl Class {
    pub fn as_str(self) -> &'static str {
        match self {
            Class::Compute => "compute",
            Class::Gpu => "gpu",
            Class::Service => "service",
            Class::Network => "network",
            Class::Storage => "storage",
        }
    }

    fn default_profile(self) -> Profile {
        let (base_temp, temp_range, base_power, power_var, load_min, load_max) = match self {
            Class::Compute => (24.0, 10.0, 180.0, 200.0, 25.0, 85.0),
            Class::Gpu => (26.0, 10.0, 250.0, 230.0, 5.0, 88.0),
            Class::Service => (23.0, 6.0, 120.0, 60.0, 10.0, 35.0),
            Class::Network => (30.0, 4.0, 90.0, 30.0, 10.0, 40.0),
            Class::Storage => (27.0, 5.0, 300.0, 150.0, 10.0, 40.0),
        };
        Profile {
            base_temp,
            temp_range,
            base_power,
            power_var,
            load_min,
            load_max,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Node {
    pub name: String,
    pub device: DeviceIx,
    pub rack: RackIx,
    pub class: Class,
    /// Disk slots of a storage array, on its first instance only (the array exports its
    /// drives once, whichever controller answers).
    pub slots: Vec<u32>,
    /// E-Series tray: 99 for a controller shelf, the shelf number otherwise.
    pub tray: u32,
}

#[derive(Debug)]
pub struct World {
    pub config: Arc<Config>,
    pub nodes: Vec<Node>,
    pub by_name: HashMap<String, u32>,
    /// Node indices of each rack.
    pub rack_nodes: Vec<Vec<u32>>,
    /// `pdu-<rack>`, `sequana-<rack>`, `rack-<rack>`: the exporters' instance labels.
    pub rack_instances: Vec<[String; 3]>,
    pub profiles: [Profile; 5],
}

impl World {
    pub fn new(config: Arc<Config>, settings: &Settings) -> World {
        let topo = &config.topology;
        let mut nodes = Vec::with_capacity(topo.instances.len() + topo.devices.len());
        let mut rack_nodes = vec![Vec::new(); topo.racks.len()];
        for (d, dev) in topo.devices.iter_ix() {
            let tpl = config.catalog.devices.get(&dev.template_id).map(|s| &s.def);
            let kind = tpl.map(|t| t.kind.as_str()).unwrap_or("server");
            let role = tpl.and_then(|t| t.role.as_deref()).unwrap_or("");
            let disk_slots: Vec<u32> = tpl
                .and_then(|t| t.disk_layout.as_ref().or(t.layout.as_ref()))
                .map(|l| l.slots().collect())
                .unwrap_or_default();
            let instances = topo.device_instances(dev);
            let names: Vec<&str> = if instances.is_empty() {
                vec![dev.id.as_str()]
            } else {
                instances.iter().map(|i| i.name.as_str()).collect()
            };
            for (k, name) in names.into_iter().enumerate() {
                let class = classify(kind, role, name);
                let slots = if class == Class::Storage && k == 0 {
                    disk_slots.clone()
                } else {
                    Vec::new()
                };
                rack_nodes[dev.rack.index()].push(nodes.len() as u32);
                nodes.push(Node {
                    name: name.to_string(),
                    device: d,
                    rack: dev.rack,
                    class,
                    slots,
                    tray: tray_of(name),
                });
            }
        }
        let mut by_name = HashMap::with_capacity(nodes.len());
        for (i, n) in nodes.iter().enumerate() {
            by_name.entry(n.name.clone()).or_insert(i as u32);
        }
        let rack_instances = topo
            .racks
            .iter()
            .map(|r| {
                [
                    format!("pdu-{}", r.id),
                    format!("sequana-{}", r.id),
                    format!("rack-{}", r.id),
                ]
            })
            .collect();
        let classes = [
            Class::Compute,
            Class::Gpu,
            Class::Service,
            Class::Network,
            Class::Storage,
        ];
        let profiles = classes.map(|c| {
            settings
                .profiles
                .get(c.as_str())
                .copied()
                .unwrap_or_else(|| c.default_profile())
        });
        World {
            config,
            nodes,
            by_name,
            rack_nodes,
            rack_instances,
            profiles,
        }
    }

    pub fn profile(&self, class: Class) -> &Profile {
        &self.profiles[class as usize]
    }

    pub fn rack_ix(&self, id: &str) -> Option<RackIx> {
        self.config.topology.rack_ix(id)
    }
}

/// The template's type first (switch, storage), then the node's role and name, as the
/// Python simulator did with names alone.
fn classify(kind: &str, role: &str, name: &str) -> Class {
    let kind = kind.to_ascii_lowercase();
    if matches!(kind.as_str(), "switch" | "network") {
        return Class::Network;
    }
    if kind == "storage" {
        return Class::Storage;
    }
    let role = role.to_ascii_lowercase();
    let name = name.to_ascii_lowercase();
    if role.contains("gpu") || name.starts_with("gpu") || name.contains("visu") {
        return Class::Gpu;
    }
    if matches!(kind.as_str(), "pdu" | "cooling")
        || ["login", "mngt", "mgmt", "service", "infra", "management"]
            .iter()
            .any(|p| role.contains(p) || name.starts_with(p))
        || name.starts_with("srv")
    {
        return Class::Service;
    }
    if name.contains("isw") || name.contains("esw") || name.starts_with("sw-") {
        return Class::Network;
    }
    Class::Compute
}

/// `da3-…` is shelf 2 of its array (the controller shelf `da1` is tray 99), as the Python
/// simulator numbered them.
fn tray_of(name: &str) -> u32 {
    let digits: String = name
        .strip_prefix("da")
        .map(|r| r.chars().take_while(char::is_ascii_digit).collect())
        .unwrap_or_default();
    match digits.parse::<u32>() {
        Ok(1) | Err(_) => 99,
        Ok(n) => n - 1,
    }
}
