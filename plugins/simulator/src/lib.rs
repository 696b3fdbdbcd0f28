//! A Prometheus exporter that simulates the hardware of a Rackscope topology: nodes, racks,
//! PDUs, liquid cooling, storage drives and Slurm, with incidents drawn per cycle and
//! overrides forced through a YAML file or a small HTTP control API. For the demo and for
//! tests against a real Prometheus; it never talks to Prometheus itself.

pub mod catalog;
pub mod expo;
pub mod http;
pub mod overrides;
pub mod settings;
pub mod sim;
pub mod world;

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};

use rackscope_core::topology::{AisleIx, RackIx};
use rackscope_core::{Config, Diagnostic};
use serde::Serialize;

pub use catalog::Catalog;
pub use overrides::{Invalid, Override};
pub use settings::{IncidentMode, Settings};

use crate::overrides::{Forced, Store};
use crate::sim::{Frame, Incidents};
use crate::world::World;

/// Incidents of the current and the previous cycle, kept until the cycle changes.
type CycleCache = Option<(u64, Arc<Incidents>, Arc<Incidents>)>;

pub struct Simulator {
    world: Arc<World>,
    catalog: Arc<Catalog>,
    settings: Settings,
    seed: u64,
    overrides: Mutex<Store>,
    cycles: Mutex<CycleCache>,
    scrapes: AtomicU64,
    /// Length of the last exposition, to size the next one's buffer.
    last_len: AtomicU64,
    /// Problems in the plugin files that did not stop the simulator.
    pub warnings: Vec<Diagnostic>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock leaves plain data behind; keep serving.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

pub fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

impl Simulator {
    /// Reads the plugin file and catalogs beside the configuration.
    pub fn load_settings(
        config: &Config,
    ) -> Result<(Settings, Catalog, Vec<Diagnostic>), Diagnostic> {
        let (settings, mut warnings) = Settings::load(&config.base_dir)?;
        let (catalog, w) = Catalog::load(&settings.catalogs)?;
        warnings.extend(w);
        Ok((settings, catalog, warnings))
    }

    pub fn new(config: Arc<Config>, settings: Settings, catalog: Catalog) -> Simulator {
        let seed = settings.seed.unwrap_or_else(|| {
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(0)
                % 1_000_000
        });
        let world = Arc::new(World::new(config, &settings));
        let store = Store::new(settings.overrides_file.clone());
        Simulator {
            world,
            catalog: Arc::new(catalog),
            settings,
            seed,
            overrides: Mutex::new(store),
            cycles: Mutex::new(None),
            scrapes: AtomicU64::new(0),
            last_len: AtomicU64::new(0),
            warnings: Vec::new(),
        }
    }

    pub fn seed(&self) -> u64 {
        self.seed
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    pub fn world(&self) -> &World {
        &self.world
    }

    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    /// The incidents in force at `t` and those of the cycle before.
    pub fn incidents_at(&self, t: f64) -> (Arc<Incidents>, Arc<Incidents>) {
        let cycle = (t.max(0.0) as u64) / self.settings.cycle_seconds();
        let mut c = lock(&self.cycles);
        if let Some((k, now, before)) = &*c
            && *k == cycle
        {
            return (now.clone(), before.clone());
        }
        // Time moves forward one cycle at a time: the cycle that was current is the new
        // one's previous, so one draw is enough.
        let before = match c.take() {
            Some((k, prev, _)) if k + 1 == cycle => prev,
            _ => Arc::new(Incidents::draw(
                &self.world,
                &self.settings,
                self.seed,
                cycle.saturating_sub(1),
            )),
        };
        let now = Arc::new(Incidents::draw(
            &self.world,
            &self.settings,
            self.seed,
            cycle,
        ));
        *c = Some((cycle, now.clone(), before.clone()));
        (now, before)
    }

    fn forced_at(&self, t: f64) -> Forced {
        let mut store = lock(&self.overrides);
        if let Err(d) = store.sync(&self.world) {
            tracing::warn!(%d, "overrides file not applied; the previous overrides stay in force");
        }
        Forced::build(&self.world, store.active(t))
    }

    pub fn frame_at(&self, t: f64) -> Arc<Frame> {
        let (now, before) = self.incidents_at(t);
        let forced = self.forced_at(t);
        Arc::new(Frame::compute(
            &self.world,
            &self.settings,
            self.seed,
            t,
            &now,
            &before,
            forced,
        ))
    }

    /// The exposition a scrape at Unix time `t` gets.
    pub fn render_at(&self, t: f64) -> String {
        self.scrapes.fetch_add(1, Ordering::Relaxed);
        let hint = self.last_len.load(Ordering::Relaxed) as usize;
        let body = expo::render(&self.world, &self.catalog, self.frame_at(t), hint);
        self.last_len.store(body.len() as u64, Ordering::Relaxed);
        body
    }

    pub fn render(&self) -> String {
        self.render_at(unix_now())
    }

    /// Validates and adds an override; `ttl_seconds` of 0 means no expiry, `None` the
    /// configured default.
    pub fn add_override(
        &self,
        mut o: Override,
        ttl_seconds: Option<u64>,
        now: f64,
    ) -> Result<Override, ControlError> {
        overrides::validate(&o, &self.world)?;
        let ttl = match ttl_seconds {
            Some(0) => None,
            Some(t) => Some(t),
            None => self.settings.default_ttl_seconds,
        };
        o.expires_at = ttl.map(|t| now + t as f64);
        let mut store = lock(&self.overrides);
        // Pick up hand edits first so that saving does not drop them.
        let _ = store.sync(&self.world);
        if !store.has_room_for(&o, now) {
            return Err(Invalid::Full.into());
        }
        Ok(store.add(o, now)?)
    }

    pub fn remove_override(&self, id: &str) -> Result<bool, ControlError> {
        let mut store = lock(&self.overrides);
        let _ = store.sync(&self.world);
        Ok(store.remove(id)?)
    }

    pub fn clear_overrides(&self) -> Result<(), ControlError> {
        Ok(lock(&self.overrides).clear()?)
    }

    pub fn overrides(&self, now: f64) -> Vec<Override> {
        let mut store = lock(&self.overrides);
        let _ = store.sync(&self.world);
        store.active(now).cloned().collect()
    }

    pub fn status(&self, now: f64) -> Status {
        let (inc, _) = self.incidents_at(now);
        let w = &self.world;
        let topo = &w.config.topology;
        let node = |n: u32| {
            let node = &w.nodes[n as usize];
            NodeRef {
                instance: node.name.clone(),
                rack_id: topo.racks[node.rack].id.clone(),
            }
        };
        let cycle_s = self.settings.cycle_seconds();
        let store = lock(&self.overrides);
        Status {
            incident_mode: self.settings.mode.as_str(),
            seed: self.seed,
            update_interval_seconds: self.settings.update_interval_seconds,
            cycle_seconds: cycle_s,
            next_change_in_seconds: cycle_s - (now.max(0.0) as u64 % cycle_s),
            nodes: w.nodes.len(),
            racks: w.rack_nodes.len(),
            families: self
                .catalog
                .families
                .iter()
                .map(|f| f.name.clone())
                .collect(),
            incidents: IncidentsView {
                crit: inc.crit_nodes().map(node).collect(),
                warn: inc.warn_nodes().map(node).collect(),
                racks_down: inc
                    .down_racks()
                    .map(|r| topo.racks[RackIx::new(r)].id.clone())
                    .collect(),
                hot_aisles: inc
                    .hot()
                    .map(|a| topo.aisles[AisleIx::new(a)].id.clone())
                    .collect(),
                failed_disks: inc
                    .failed_disks
                    .iter()
                    .map(|(n, s)| DiskRef {
                        instance: w.nodes[*n as usize].name.clone(),
                        slot: *s,
                    })
                    .collect(),
            },
            overrides: store.active(now).count(),
            overrides_file: store.file().map(|p| p.display().to_string()),
            scrapes: self.scrapes.load(Ordering::Relaxed),
        }
    }
}

/// Loads the simulator for a configuration directory's app.yaml: configuration, plugin
/// file and catalogs. For the command line and tests.
pub fn open(app_file: &Path) -> Result<Simulator, String> {
    let loaded = rackscope_core::load(app_file);
    if !loaded.is_usable() {
        let first = loaded
            .diagnostics
            .errors()
            .next()
            .map(|d| d.to_string())
            .unwrap_or_default();
        return Err(format!(
            "{} has errors (first: {first}); `rackscope check` lists them all",
            app_file.display()
        ));
    }
    let config = Arc::new(loaded.config);
    let (settings, catalog, warnings) =
        Simulator::load_settings(&config).map_err(|d| d.to_string())?;
    let mut sim = Simulator::new(config, settings, catalog);
    sim.warnings = warnings;
    Ok(sim)
}

#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    #[error(transparent)]
    Invalid(#[from] Invalid),
    #[error("cannot save the overrides file: {0}")]
    Io(#[from] std::io::Error),
}

#[derive(Debug, Serialize)]
pub struct Status {
    pub incident_mode: &'static str,
    pub seed: u64,
    pub update_interval_seconds: u64,
    pub cycle_seconds: u64,
    pub next_change_in_seconds: u64,
    pub nodes: usize,
    pub racks: usize,
    pub families: Vec<String>,
    pub incidents: IncidentsView,
    pub overrides: usize,
    pub overrides_file: Option<String>,
    pub scrapes: u64,
}

#[derive(Debug, Serialize)]
pub struct IncidentsView {
    pub crit: Vec<NodeRef>,
    pub warn: Vec<NodeRef>,
    pub racks_down: Vec<String>,
    pub hot_aisles: Vec<String>,
    pub failed_disks: Vec<DiskRef>,
}

#[derive(Debug, Serialize)]
pub struct NodeRef {
    pub instance: String,
    pub rack_id: String,
}

#[derive(Debug, Serialize)]
pub struct DiskRef {
    pub instance: String,
    pub slot: u32,
}

#[cfg(test)]
mod tests;
