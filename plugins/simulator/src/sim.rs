//! What the hardware is doing at a given instant: incidents drawn per cycle and values per
//! node and rack, all pure functions of (seed, time, overrides) so that a run is
//! reproducible and two scrapes at the same instant agree.

use std::f64::consts::TAU;

use crate::catalog::IPMI_STATES;
use crate::overrides::Forced;
use crate::settings::{IncidentMode, Settings};
use crate::world::{Class, World};
use rackscope_core::topology::RackIx;

/// A fixed past instant (2025-10-09) from which counters count and boot times are drawn,
/// so that counters only grow, whenever the simulator is (re)started.
pub const EPOCH: f64 = 1_760_000_000.0;

pub fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

pub fn hash(a: u64, b: u64, c: u64) -> u64 {
    mix(a ^ mix(b ^ mix(c)))
}

/// A number in [0, 1) from a hash.
pub fn unit(x: u64) -> f64 {
    (x >> 11) as f64 / (1u64 << 53) as f64
}

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(1);
        mix(self.0)
    }
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
    fn between(&mut self, lo: usize, hi: usize) -> usize {
        lo + self.below(hi - lo + 1)
    }
    /// `k` distinct indices of `0..n` (partial Fisher–Yates).
    fn pick(&mut self, n: usize, k: usize) -> Vec<u32> {
        let k = k.min(n);
        let mut v: Vec<u32> = (0..n as u32).collect();
        for i in 0..k {
            let j = i + self.below(n - i);
            v.swap(i, j);
        }
        v.truncate(k);
        v.sort_unstable();
        v
    }
}

/// The incidents of one cycle (`3600 / changes_per_hour` seconds).
#[derive(Debug, Clone, Default)]
pub struct Incidents {
    pub cycle: u64,
    pub crit: Vec<bool>,
    pub warn: Vec<bool>,
    pub racks_down: Vec<bool>,
    pub hot_aisles: Vec<bool>,
    /// (node, slot) of failed drives.
    pub failed_disks: Vec<(u32, u32)>,
    /// Slurm statuses forced on random eligible nodes (`slurm_random_statuses`).
    pub slurm: Vec<(u32, &'static str)>,
}

impl Incidents {
    pub fn draw(world: &World, settings: &Settings, seed: u64, cycle: u64) -> Incidents {
        let n = world.nodes.len();
        let racks = world.rack_nodes.len();
        let aisles = world.config.topology.aisles.len();
        let mut rng = Rng(hash(seed, cycle, 0x1dc));
        let pct = |p: f64, of: usize| ((of as f64) * p).round() as usize;
        let (crit, warn, rdown, hot) = match settings.mode {
            IncidentMode::FullOk => (0, 0, 0, 0),
            IncidentMode::Light => (rng.between(1, 3), rng.between(1, 5), 0, 0),
            IncidentMode::Medium => (rng.between(1, 3), rng.between(5, 10), 1, 0),
            IncidentMode::Heavy => (rng.between(5, 10), rng.between(10, 20), 2, 1),
            IncidentMode::Chaos => (
                pct(0.15, n),
                pct(0.25, n),
                pct(0.20, racks),
                pct(0.25, aisles),
            ),
            IncidentMode::Custom => (
                settings.custom.devices_crit,
                settings.custom.devices_warn,
                settings.custom.racks_crit,
                settings.custom.aisles_hot,
            ),
        };
        // CRIT and WARN never overlap: one draw, split.
        let chosen = rng.pick(n, crit + warn);
        let mut inc = Incidents {
            cycle,
            crit: vec![false; n],
            warn: vec![false; n],
            racks_down: vec![false; racks],
            hot_aisles: vec![false; aisles],
            failed_disks: Vec::new(),
            slurm: Vec::new(),
        };
        // Shuffle the chosen set so CRIT is not always the lowest indices.
        let mut order: Vec<u32> = chosen;
        for i in (1..order.len()).rev() {
            let j = rng.below(i + 1);
            order.swap(i, j);
        }
        for (k, i) in order.iter().enumerate() {
            if k < crit {
                inc.crit[*i as usize] = true;
            } else {
                inc.warn[*i as usize] = true;
            }
        }
        for r in rng.pick(racks, rdown) {
            inc.racks_down[r as usize] = true;
        }
        for a in rng.pick(aisles, hot) {
            inc.hot_aisles[a as usize] = true;
        }
        if settings.mode != IncidentMode::FullOk {
            for (i, node) in world.nodes.iter().enumerate() {
                for &s in &node.slots {
                    if unit(hash(seed ^ 0xd15c, cycle, ((i as u64) << 16) | s as u64)) < 0.01 {
                        inc.failed_disks.push((i as u32, s));
                    }
                }
            }
            let eligible: Vec<u32> = (0..n as u32)
                .filter(|&i| {
                    let name = &world.nodes[i as usize].name;
                    settings
                        .slurm_random_match
                        .iter()
                        .any(|p| crate::catalog::Pattern::new(p).matches(name))
                })
                .collect();
            let r = settings.slurm_random;
            let picks = rng.pick(eligible.len(), r.drain + r.down + r.maint);
            for (k, p) in picks.iter().enumerate() {
                let status = if k < r.drain {
                    "drain"
                } else if k < r.drain + r.down {
                    "down"
                } else {
                    "maint"
                };
                inc.slurm.push((eligible[*p as usize], status));
            }
        }
        inc
    }

    pub fn crit_nodes(&self) -> impl Iterator<Item = u32> + '_ {
        flags(&self.crit)
    }
    pub fn warn_nodes(&self) -> impl Iterator<Item = u32> + '_ {
        flags(&self.warn)
    }
    pub fn down_racks(&self) -> impl Iterator<Item = u32> + '_ {
        flags(&self.racks_down)
    }
    pub fn hot(&self) -> impl Iterator<Item = u32> + '_ {
        flags(&self.hot_aisles)
    }
}

fn flags(v: &[bool]) -> impl Iterator<Item = u32> + '_ {
    v.iter()
        .enumerate()
        .filter(|(_, b)| **b)
        .map(|(i, _)| i as u32)
}

/// One node at one instant.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NodeState {
    pub up: bool,
    pub ipmi_up: bool,
    pub load: f64,
    pub temp: f64,
    pub power: f64,
    /// 0 OK, 1 WARN, 2 CRIT.
    pub health: u8,
    /// In the order of `catalog::IPMI_STATES`.
    pub ipmi: [u8; 5],
    pub boot: f64,
    pub slurm: &'static str,
    /// A WARN incident on a network device shows as port errors.
    pub port_errors: bool,
}

/// One rack at one instant.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RackState {
    pub down: bool,
    pub hot: bool,
    pub avg_load: f64,
    pub up_fraction: f64,
    /// Total active power through the rack's PDUs, in watts.
    pub power: f64,
}

/// Everything a scrape at time `t` shows.
#[derive(Debug)]
pub struct Frame {
    pub t: f64,
    pub tick: u64,
    pub nodes: Vec<NodeState>,
    pub racks: Vec<RackState>,
    pub failed_disks: std::collections::HashSet<(u32, u32)>,
    pub forced: Forced,
}

impl Frame {
    pub fn compute(
        world: &World,
        settings: &Settings,
        seed: u64,
        t: f64,
        now: &Incidents,
        before: &Incidents,
        forced: Forced,
    ) -> Frame {
        let interval = settings.update_interval_seconds.max(1);
        let tick = (t.max(0.0) as u64) / interval;
        let racks_down: Vec<bool> = (0..world.rack_nodes.len())
            .map(|rack_ix| {
                now.racks_down[rack_ix]
                    || forced
                        .rack_value(rack_ix as u32, "rack_down")
                        .is_some_and(|v| v > 0.0)
            })
            .collect();
        let instant = Instant {
            world,
            seed,
            t,
            tick,
            cycle_start: (now.cycle * settings.cycle_seconds()) as f64,
            now,
            before,
            forced: &forced,
            racks_down,
        };
        let mut slurm = SlurmQueue::new(world, settings, now);
        let nodes: Vec<NodeState> = (0..world.nodes.len())
            .map(|node_ix| instant.node(node_ix, &mut slurm))
            .collect();
        let racks = world
            .rack_nodes
            .iter()
            .enumerate()
            .map(|(rack_ix, members)| instant.rack(rack_ix, members, &nodes))
            .collect();
        let mut failed_disks: std::collections::HashSet<(u32, u32)> =
            now.failed_disks.iter().copied().collect();
        for (&(node, slot), &v) in &forced.disks {
            if v > 0.0 {
                failed_disks.insert((node, slot));
            } else {
                failed_disks.remove(&(node, slot));
            }
        }
        Frame {
            t,
            tick,
            nodes,
            racks,
            failed_disks,
            forced,
        }
    }
}

/// What every value of one frame depends on.
struct Instant<'a> {
    world: &'a World,
    seed: u64,
    t: f64,
    tick: u64,
    cycle_start: f64,
    now: &'a Incidents,
    before: &'a Incidents,
    forced: &'a Forced,
    /// Down by an incident or by an override.
    racks_down: Vec<bool>,
}

/// Slurm states: forced ones first, then the first `allocated` healthy compute and GPU
/// nodes (in node order) are allocated and the others idle.
struct SlurmQueue {
    forced: std::collections::HashMap<u32, &'static str>,
    rank: usize,
    allocated: usize,
}

impl SlurmQueue {
    fn new(world: &World, settings: &Settings, now: &Incidents) -> Self {
        let total = world
            .nodes
            .iter()
            .filter(|n| matches!(n.class, Class::Compute | Class::Gpu))
            .count();
        SlurmQueue {
            forced: now.slurm.iter().map(|(n, s)| (*n, *s)).collect(),
            rank: 0,
            allocated: total * settings.slurm_alloc_percent as usize / 100,
        }
    }

    fn state(&mut self, node_ix: usize, class: Class, up: bool, health: u8) -> &'static str {
        if let Some(s) = self.forced.get(&(node_ix as u32)) {
            s
        } else if !up || health == 2 {
            "down"
        } else if health == 1 {
            "drain"
        } else if matches!(class, Class::Compute | Class::Gpu) {
            self.rank += 1;
            if self.rank <= self.allocated {
                "allocated"
            } else {
                "idle"
            }
        } else {
            "idle"
        }
    }
}

impl Instant<'_> {
    fn hot_rack(&self, rack_ix: RackIx) -> bool {
        self.world.config.topology.racks[rack_ix]
            .aisle
            .is_some_and(|a| self.now.hot_aisles.get(a.index()).copied().unwrap_or(false))
    }

    /// The load of a node before incidents and overrides: a slow wave for compute nodes,
    /// ten-minute jobs for GPUs, noise within the profile for the rest.
    fn base_load(&self, node_ix: usize, class: Class) -> f64 {
        let (seed, id, t, tick) = (self.seed, node_ix as u64, self.t, self.tick);
        let p = self.world.profile(class);
        match class {
            Class::Compute => {
                let phase = unit(hash(seed, id, 1)) * TAU;
                let mid = (p.load_min + p.load_max) / 2.0;
                let amp = (p.load_max - p.load_min) / 2.0;
                let noise = unit(hash(seed ^ 2, id, tick)) - 0.5;
                mid + amp * (TAU * t / 1800.0 + phase).sin() + noise * 6.0
            }
            Class::Gpu => {
                // Jobs of ten minutes: busy or nearly idle.
                let job = (t.max(0.0) as u64) / 600;
                if unit(hash(seed, id, job ^ 0x6a0b)) < 0.6 {
                    p.load_max - 8.0 * unit(hash(seed, id, tick ^ 3))
                } else {
                    p.load_min + 15.0 * unit(hash(seed, id, tick ^ 3))
                }
            }
            _ => p.load_min + (p.load_max - p.load_min) * unit(hash(seed, id, tick ^ 4)),
        }
        .clamp(0.0, 100.0)
    }

    fn node(&self, node_ix: usize, slurm: &mut SlurmQueue) -> NodeState {
        let node = &self.world.nodes[node_ix];
        let (seed, id, forced) = (self.seed, node_ix as u64, self.forced);
        let forced_value = |metric: &str| forced.node_value(node_ix as u32, metric);
        let p = self.world.profile(node.class);
        let mut load = self.base_load(node_ix, node.class);
        let hot = self.hot_rack(node.rack);
        let noise = unit(hash(seed ^ 5, id, self.tick)) - 0.5;
        let mut temp =
            p.base_temp + load / 100.0 * p.temp_range + noise * 0.6 + if hot { 12.0 } else { 0.0 };
        let mut ipmi = [0u8; 5];
        let warn = self.now.warn[node_ix];
        let mut port_errors = false;
        if warn {
            match hash(seed, id, self.now.cycle ^ 0x3a) % 3 {
                0 => {
                    temp = temp.max(39.0 + 3.0 * unit(hash(seed, id, 7)));
                    ipmi[3] = 1;
                }
                1 => ipmi[0] = 1,
                _ => ipmi[1] = 1,
            }
            port_errors = node.class == Class::Network;
        }
        let rack_down = self.racks_down[node.rack.index()];
        let up = forced_value("up").map_or(!(self.now.crit[node_ix] || rack_down), |v| v > 0.0);
        let mut power = p.base_power + load / 100.0 * p.power_var;
        if !up {
            load = 0.0;
            temp = p.base_temp - 3.0;
            power = 12.0;
        }
        let load = forced_value("node_load_percent").unwrap_or(load);
        let temp = forced_value("node_temperature_celsius").unwrap_or(temp);
        let power = forced_value("node_power_watts").unwrap_or(power);
        if temp > 45.0 {
            ipmi[3] = 2;
        } else if temp > 38.0 {
            ipmi[3] = ipmi[3].max(1);
        }
        for (state_ix, name) in IPMI_STATES.iter().enumerate() {
            if let Some(v) = forced_value(name) {
                ipmi[state_ix] = v.clamp(0.0, 2.0) as u8;
            }
        }
        let health = if !up || temp > 45.0 || ipmi.contains(&2) {
            2
        } else if warn || temp > 38.0 || ipmi.contains(&1) {
            1
        } else {
            0
        };
        let health = forced_value("node_health_status").map_or(health, |v| v.clamp(0.0, 2.0) as u8);
        let ipmi_up = forced_value("ipmi_up").map_or(!rack_down, |v| v > 0.0);
        NodeState {
            up,
            ipmi_up,
            load,
            temp,
            power,
            health,
            ipmi,
            boot: self.boot(node_ix, up),
            slurm: slurm.state(node_ix, node.class, up, health),
            port_errors,
        }
    }

    /// Back from a CRIT incident of the previous cycle: rebooted as this one began. Never
    /// later than the cycle's start, or `time() - node_boot_time_seconds` would be
    /// negative early in the cycle.
    fn boot(&self, node_ix: usize, up: bool) -> f64 {
        let was_crit = self.before.crit.get(node_ix).copied().unwrap_or(false);
        if was_crit && up && !self.now.crit[node_ix] {
            self.cycle_start
        } else {
            EPOCH - unit(hash(self.seed, node_ix as u64, 0xb007)) * 90.0 * 86400.0
        }
    }

    fn rack(&self, rack_ix: usize, members: &[u32], nodes: &[NodeState]) -> RackState {
        let (mut sum, mut up) = (0.0, 0usize);
        for &member in members {
            let s = &nodes[member as usize];
            if s.up {
                sum += s.load;
                up += 1;
            }
        }
        let avg_load = if up > 0 { sum / up as f64 } else { 0.0 };
        let up_fraction = if members.is_empty() {
            1.0
        } else {
            up as f64 / members.len() as f64
        };
        let down = self.racks_down[rack_ix];
        // Scaled to a 3.6 kW rack so that the example thresholds (5–8 kW) hold in normal
        // operation whatever the rack holds.
        let power = match self.forced.rack_current(rack_ix as u32) {
            Some(amps) => amps * 230.0 * 2.0,
            None if down => 150.0,
            None => 1200.0 + 2400.0 * avg_load / 100.0 * up_fraction,
        };
        RackState {
            down,
            hot: self.hot_rack(RackIx::new(rack_ix as u32)),
            avg_load,
            up_fraction,
            power,
        }
    }
}
