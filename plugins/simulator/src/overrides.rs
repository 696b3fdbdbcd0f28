//! Forced values: the overrides YAML file (`overrides: [{id, instance | rack_id, metric,
//! value, slot?, expires_at?}]`, the Python simulator's format plus `slot`) and the
//! operations of the control API on it. Every change is written back atomically.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use rackscope_core::Diagnostic;
use rackscope_core::topology::Found;
use serde::{Deserialize, Serialize};

use crate::catalog::{Gen, Scope};
use crate::world::World;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Override {
    #[serde(default)]
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rack_id: Option<String>,
    pub metric: String,
    pub value: f64,
    /// The drive slot, for `eseries_drive_status` (1 failed, 0 optimal).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slot: Option<String>,
    /// Unix seconds after which the override no longer applies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<f64>,
}

impl Override {
    pub fn expired(&self, now: f64) -> bool {
        self.expires_at.is_some_and(|e| e <= now)
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct OverridesFile {
    #[serde(default)]
    overrides: Vec<Override>,
}

/// Why an override was refused.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum Invalid {
    #[error("give exactly one of `instance` and `rack_id`")]
    Target,
    #[error("unknown instance `{0}`")]
    UnknownInstance(String),
    #[error("unknown rack `{0}`")]
    UnknownRack(String),
    #[error("rack id `{0}` names several racks; give one's qualified path: {1}")]
    AmbiguousRack(String, String),
    #[error("`{0}` is not a metric the simulator emits for this target")]
    Metric(String),
    #[error("`{metric}` takes {expected}; got {value}")]
    Value {
        metric: String,
        expected: &'static str,
        value: f64,
    },
    #[error("`eseries_drive_status` needs the `slot` of a drive of `{0}`")]
    Slot(String),
    #[error("`{0}` has no slots: `slot` is only for `eseries_drive_status`")]
    SlotNotTaken(String),
    #[error("an override `id` is 1 to {MAX_ID_LEN} letters, digits, `-`, `_` or `.`")]
    Id,
    #[error(
        "the simulator holds at most {MAX_OVERRIDES} overrides; remove some (DELETE /api/overrides/{{id}}) or let them expire first"
    )]
    Full,
}

/// The most overrides in force at once, from the control API and the file together. Each
/// one is checked against the topology, so real uses (a rack down, a few failed disks) stay
/// far below; the bound keeps the file, rewritten on every change, and each scrape's work
/// small whatever a client sends.
pub const MAX_OVERRIDES: usize = 1000;
/// The longest override id.
pub const MAX_ID_LEN: usize = 128;

fn valid_id(id: &str) -> bool {
    id.len() <= MAX_ID_LEN
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// Checks an override against the simulated world.
pub fn validate(o: &Override, world: &World) -> Result<(), Invalid> {
    let value_in = |expected: &'static str, ok: bool| {
        if ok {
            Ok(())
        } else {
            Err(Invalid::Value {
                metric: o.metric.clone(),
                expected,
                value: o.value,
            })
        }
    };
    if !o.value.is_finite() {
        return value_in("a finite number", false);
    }
    if !valid_id(&o.id) {
        return Err(Invalid::Id);
    }
    // Only a drive has slots; any other slot would make a distinct, meaningless override.
    if o.slot.is_some() && o.metric != "eseries_drive_status" {
        return Err(Invalid::SlotNotTaken(o.metric.clone()));
    }
    match (&o.instance, &o.rack_id) {
        (Some(i), None) => {
            let Some(&n) = world.by_name.get(i) else {
                return Err(Invalid::UnknownInstance(i.clone()));
            };
            match o.metric.as_str() {
                "up" | "ipmi_up" => value_in("0 or 1", o.value == 0.0 || o.value == 1.0),
                "node_health_status" => value_in("0, 1 or 2", matches!(o.value, 0.0 | 1.0 | 2.0)),
                "eseries_drive_status" => {
                    let node = &world.nodes[n as usize];
                    let slot_ok = o
                        .slot
                        .as_deref()
                        .and_then(|s| s.parse::<u32>().ok())
                        .is_some_and(|s| node.slots.contains(&s));
                    if !slot_ok {
                        return Err(Invalid::Slot(i.clone()));
                    }
                    value_in(
                        "1 (failed) or 0 (optimal)",
                        o.value == 0.0 || o.value == 1.0,
                    )
                }
                m => match Gen::of(m) {
                    Some((_, Scope::Node)) => Ok(()),
                    _ => Err(Invalid::Metric(m.to_string())),
                },
            }
        }
        (None, Some(r)) => {
            let topo = &world.config.topology;
            match topo.find_rack(r) {
                Found::One(_) => {}
                Found::None => return Err(Invalid::UnknownRack(r.clone())),
                Found::Many(all) => {
                    let paths: Vec<String> = all.iter().map(|&x| topo.rack_path(x)).collect();
                    return Err(Invalid::AmbiguousRack(r.clone(), paths.join(", ")));
                }
            }
            match o.metric.as_str() {
                "rack_down" => Ok(()),
                m => match Gen::of(m) {
                    Some((_, Scope::Rack)) => Ok(()),
                    _ => Err(Invalid::Metric(m.to_string())),
                },
            }
        }
        _ => Err(Invalid::Target),
    }
}

/// The overrides in force, file-backed when a file is configured. The file is read again
/// whenever it changes on disk, so hand edits apply at the next scrape.
#[derive(Debug)]
pub struct Store {
    file: Option<PathBuf>,
    list: Vec<Override>,
    seen: Option<SystemTime>,
    next: u64,
}

impl Store {
    pub fn new(file: Option<PathBuf>) -> Store {
        Store {
            file,
            list: Vec::new(),
            seen: None,
            next: 1,
        }
    }

    pub fn file(&self) -> Option<&Path> {
        self.file.as_deref()
    }

    /// Re-reads the file if it changed. A broken file keeps the previous overrides and
    /// returns its error (with position) for the caller to log. Entries of a hand-edited
    /// file are held to the control API's rules: an invalid one, or one past
    /// [`MAX_OVERRIDES`], is dropped with a warning in the log.
    pub fn sync(&mut self, world: &World) -> Result<(), Diagnostic> {
        let Some(f) = &self.file else { return Ok(()) };
        let mtime = std::fs::metadata(f).and_then(|m| m.modified()).ok();
        if mtime.is_none() || mtime == self.seen {
            return Ok(());
        }
        self.seen = mtime;
        let (file, _warnings) = rackscope_core::load::read_yaml::<Option<OverridesFile>>(f)?;
        let read = file.map(|f| f.overrides).unwrap_or_default();
        let mut list = Vec::with_capacity(read.len().min(MAX_OVERRIDES));
        for mut o in read {
            if o.id.is_empty() {
                o.id = format!("ovr-{}", self.next);
                self.next += 1;
            }
            let verdict = if list.len() >= MAX_OVERRIDES {
                Err(Invalid::Full)
            } else {
                validate(&o, world)
            };
            match verdict {
                Ok(()) => list.push(o),
                Err(e) => tracing::warn!(file = %f.display(), id = %o.id, "override ignored: {e}"),
            }
        }
        self.list = list;
        Ok(())
    }

    /// Whether `o` fits under [`MAX_OVERRIDES`]: one it replaces, or one expired at `now`,
    /// makes room.
    pub fn has_room_for(&self, o: &Override, now: f64) -> bool {
        let kept = self
            .list
            .iter()
            .filter(|x| !x.expired(now) && !replaces(o, x))
            .count();
        kept < MAX_OVERRIDES
    }

    /// Overrides that have not expired at `now` (Unix seconds).
    pub fn active(&self, now: f64) -> impl Iterator<Item = &Override> {
        self.list.iter().filter(move |o| !o.expired(now))
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// Adds (or replaces, by id, or by target and metric) an override and saves.
    pub fn add(&mut self, mut o: Override, now: f64) -> std::io::Result<Override> {
        if o.id.is_empty() {
            o.id = loop {
                let id = format!("ovr-{}", self.next);
                self.next += 1;
                if !self.list.iter().any(|x| x.id == id) {
                    break id;
                }
            };
        }
        self.list.retain(|x| !replaces(&o, x));
        self.list.retain(|x| !x.expired(now));
        self.list.push(o.clone());
        self.save()?;
        Ok(o)
    }

    pub fn remove(&mut self, id: &str) -> std::io::Result<bool> {
        let before = self.list.len();
        self.list.retain(|x| x.id != id);
        let removed = self.list.len() != before;
        if removed {
            self.save()?;
        }
        Ok(removed)
    }

    pub fn clear(&mut self) -> std::io::Result<()> {
        self.list.clear();
        self.save()
    }

    pub fn list(&self) -> &[Override] {
        &self.list
    }

    fn save(&mut self) -> std::io::Result<()> {
        let Some(f) = &self.file else { return Ok(()) };
        let body = OverridesFile {
            overrides: self.list.clone(),
        };
        let yaml = serde_saphyr::to_string(&body).map_err(std::io::Error::other)?;
        let text = format!(
            "# Simulator overrides, managed by the control API (hand edits apply at the next scrape).\n{yaml}"
        );
        write_atomic(f, text.as_bytes())?;
        self.seen = std::fs::metadata(f).and_then(|m| m.modified()).ok();
        Ok(())
    }
}

/// Whether adding `new` replaces `old`: the same id, or the same target, metric and slot.
fn replaces(new: &Override, old: &Override) -> bool {
    old.id == new.id
        || (old.instance == new.instance
            && old.rack_id == new.rack_id
            && old.metric == new.metric
            && old.slot == new.slot)
}

/// Writes through a temporary file in the same directory, fsynced, and a rename, then
/// syncs the directory: a crash leaves the old file or the new one, never half of one,
/// and a completed write survives a power cut.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(dir)?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "file".into());
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let written = std::fs::File::create(&tmp)
        .and_then(|mut f| f.write_all(bytes).and_then(|()| f.sync_all()))
        .and_then(|()| std::fs::rename(&tmp, path));
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    #[cfg(unix)]
    std::fs::File::open(dir)?.sync_all()?;
    Ok(())
}

/// Active overrides indexed for rendering.
#[derive(Debug, Default)]
pub struct Forced {
    pub node: HashMap<u32, Vec<(String, f64)>>,
    pub rack: HashMap<u32, Vec<(String, f64)>>,
    pub disks: HashMap<(u32, u32), f64>,
}

impl Forced {
    pub fn build<'a>(world: &World, active: impl Iterator<Item = &'a Override>) -> Forced {
        let mut f = Forced::default();
        for o in active {
            if let Some(i) = &o.instance
                && let Some(&n) = world.by_name.get(i)
            {
                if o.metric == "eseries_drive_status" {
                    if let Some(s) = o.slot.as_deref().and_then(|s| s.parse().ok()) {
                        f.disks.insert((n, s), o.value);
                    }
                } else {
                    f.node
                        .entry(n)
                        .or_default()
                        .push((o.metric.clone(), o.value));
                }
            } else if let Some(r) = &o.rack_id
                && let Some(r) = world.rack_ix(r)
            {
                f.rack
                    .entry(r.get())
                    .or_default()
                    .push((o.metric.clone(), o.value));
            }
        }
        f
    }

    pub fn node_value(&self, node: u32, metric: &str) -> Option<f64> {
        forced_value(&self.node, node, metric)
    }

    pub fn rack_value(&self, rack: u32, metric: &str) -> Option<f64> {
        forced_value(&self.rack, rack, metric)
    }

    /// A rack override of a metric ending in `_current_ampere` (the Python simulator's rule).
    pub fn rack_current(&self, r: u32) -> Option<f64> {
        self.rack
            .get(&r)?
            .iter()
            .find(|(m, _)| m.ends_with("_current_ampere"))
            .map(|(_, v)| *v)
    }
}

/// The value forced on `metric` for target `ix`, if any.
fn forced_value(
    by_target: &HashMap<u32, Vec<(String, f64)>>,
    ix: u32,
    metric: &str,
) -> Option<f64> {
    by_target
        .get(&ix)?
        .iter()
        .find(|(m, _)| m == metric)
        .map(|(_, v)| *v)
}
