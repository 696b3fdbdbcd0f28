//! Maintenance windows: `maintenances.yaml` checked into `Window`s with absolute times, the
//! status of each at an instant, and what the windows active at that instant cover in a
//! topology (`Coverage`), which every surface asks: the alert lists (hide or badge, in
//! `read::maintenance`), the roll-up markers of racks, rooms and sites, and the located
//! `/metrics` series.
//!
//! Nothing here changes a state: a window only says what an operator should be told about
//! the states the checks found, and the real state stays readable under every marker.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::diag::{Diagnostics, Pos, Span};
use crate::model::maintenance::{Effect, MaintenanceEntry, TargetType};
use crate::topology::{AisleIx, DeviceIx, RackIx, RoomIx, SiteIx, Topology};
use crate::yaml::Node;

/// The file's name, beside app.yaml (the Python version's place for it).
pub const FILE_NAME: &str = "maintenances.yaml";

/// More windows than this is a mistake (or an attack on memory), not a NOC's calendar.
pub const MAX_WINDOWS: usize = 10_000;

/// The longest reason kept.
pub const MAX_REASON: usize = 2_000;

/// A window's status at an instant, as the Python version computes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Status {
    Active,
    Scheduled,
    Expired,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Active => "ACTIVE",
            Status::Scheduled => "SCHEDULED",
            Status::Expired => "EXPIRED",
        }
    }
}

/// One window: the entry as written (the API answers with it) and its times as Unix
/// seconds.
#[derive(Debug, Clone, PartialEq)]
pub struct Window {
    pub entry: MaintenanceEntry,
    pub created: Option<i64>,
    pub starts: Option<i64>,
    pub expires: Option<i64>,
    pub ended: Option<i64>,
    /// `every:`, read.
    pub every: Option<Recurrence>,
    /// The entry in the file, for diagnostics.
    pub span: Span,
}

impl Window {
    /// `ended_at` set or `expires_at` reached: EXPIRED; `starts_at` still ahead, or a
    /// repeating window between two occurrences: SCHEDULED; else ACTIVE.
    pub fn status(&self, now: i64) -> Status {
        if self.ended.is_some() || self.expires.is_some_and(|e| e <= now) {
            Status::Expired
        } else if self.starts.is_some_and(|s| s > now)
            || self.every.as_ref().is_some_and(|r| !r.occurring(now))
        {
            Status::Scheduled
        } else {
            Status::Active
        }
    }

    pub fn effect(&self) -> Effect {
        self.entry.effect
    }
}

/// Every window of the file, in its order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Maintenances {
    pub windows: Vec<Window>,
    /// Where they are kept (and written).
    pub file: PathBuf,
}

impl Maintenances {
    pub fn get(&self, id: &str) -> Option<&Window> {
        self.windows.iter().find(|w| w.entry.id == id)
    }
}

/// The file beside `app_file`.
pub fn file_of(app_file: &Path) -> PathBuf {
    app_file
        .parent()
        .map_or_else(|| PathBuf::from(FILE_NAME), |d| d.join(FILE_NAME))
}

/// Checks the parsed file (`node` of `file`, absent when there is none) against the
/// topology: each entry decoded on its own, its times read (a time without an offset in
/// its site's time zone), its target looked up. A malformed entry is an error at its line;
/// a target that is not in the topology is a warning, unless the window is over.
pub fn resolve(
    file: &Arc<Path>,
    node: Option<&Node>,
    entries: Vec<(usize, Option<MaintenanceEntry>)>,
    topo: &Topology,
    check_ids: &dyn Fn(&str) -> bool,
    now: i64,
    diags: &mut Diagnostics,
) -> Maintenances {
    let mut out = Maintenances {
        windows: Vec::new(),
        file: file.to_path_buf(),
    };
    let items = node
        .and_then(|n| n.get("maintenances"))
        .and_then(Node::seq)
        .unwrap_or(&[]);
    if items.len() > MAX_WINDOWS {
        diags.error(
            "maintenance",
            Span::file_only(file),
            format!("more than {MAX_WINDOWS} maintenance windows"),
        );
        return out;
    }
    let mut seen: HashMap<String, Pos> = HashMap::new();
    for (i, entry) in entries {
        let Some(item) = items.get(i) else { continue };
        let Some(entry) = entry else { continue };
        let at = |key: &str| Span::new(file, item.get(key).map_or(item.pos, |n| n.pos));
        if let Err(why) = check_entry(&entry) {
            diags.error("maintenance", at(why.0), why.1);
            continue;
        }
        if let Some(first) = seen.insert(entry.id.clone(), item.pos) {
            diags.error(
                "maintenance",
                at("id"),
                format!(
                    "maintenance id `{}` is used twice (first at line {})",
                    entry.id, first.line
                ),
            );
            continue;
        }
        let tz = site_of(topo, entry.target_type, &entry.target_id)
            .and_then(|s| topo.sites[s].timezone.as_deref());
        let mut bad = false;
        let mut time = |key: &str, v: &Option<String>| -> Option<i64> {
            let s = v.as_deref()?;
            match parse_time(s, tz) {
                Ok(t) => Some(t),
                Err(why) => {
                    diags.error(
                        "maintenance",
                        at(key),
                        format!("`{key}: {s}` is not a time: {why}"),
                    );
                    bad = true;
                    None
                }
            }
        };
        let window = Window {
            created: time("created_at", &entry.created_at),
            starts: time("starts_at", &entry.starts_at),
            expires: time("expires_at", &entry.expires_at),
            ended: time("ended_at", &entry.ended_at),
            every: match entry.every.as_deref().map(|e| Recurrence::parse(e, tz)) {
                None => None,
                Some(Ok(r)) => Some(r),
                Some(Err(why)) => {
                    diags.error(
                        "maintenance",
                        at("every"),
                        format!("`every: {}`: {why}", entry.every.as_deref().unwrap_or("")),
                    );
                    bad = true;
                    None
                }
            },
            span: Span::new(file, item.pos),
            entry,
        };
        if bad {
            continue;
        }
        if let (Some(s), Some(e)) = (window.starts, window.expires)
            && e <= s
        {
            diags.error(
                "maintenance",
                at("expires_at"),
                "expires_at is not after starts_at: the window would never be active",
            );
            continue;
        }
        if window.status(now) != Status::Expired {
            if let Some(paths) = ambiguity(topo, window.entry.target_type, &window.entry.target_id)
            {
                diags.warning(
                    "maintenance",
                    at("target_id"),
                    format!(
                        "maintenance `{}`: {} id `{}` names several: {}; the window covers nothing until target_id is one's qualified path",
                        window.entry.id,
                        window.entry.target_type.as_str(),
                        window.entry.target_id,
                        paths.join(", ")
                    ),
                );
            } else if !target_exists(topo, window.entry.target_type, &window.entry.target_id) {
                diags.warning(
                    "maintenance",
                    at("target_id"),
                    format!(
                        "maintenance `{}`: there is no {} `{}` in the topology; the window covers nothing",
                        window.entry.id,
                        window.entry.target_type.as_str(),
                        window.entry.target_id
                    ),
                );
            }
            if let Some(c) = &window.entry.check
                && !check_ids(c)
            {
                diags.warning(
                    "maintenance",
                    at("check"),
                    format!(
                        "maintenance `{}`: no check has the id or kind `{c}`; the window covers nothing",
                        window.entry.id
                    ),
                );
            }
        }
        out.windows.push(window);
    }
    out
}

/// A field that is wrong on its own, with the key it is at.
fn check_entry(e: &MaintenanceEntry) -> Result<(), (&'static str, String)> {
    if e.id.trim().is_empty() || e.id.len() > 64 || e.id.chars().any(char::is_control) {
        return Err((
            "id",
            "a maintenance id is 1 to 64 printable characters".into(),
        ));
    }
    if e.target_id.trim().is_empty() {
        return Err(("target_id", "target_id is empty".into()));
    }
    if e.reason.len() > MAX_REASON {
        return Err(("reason", format!("the reason is over {MAX_REASON} bytes")));
    }
    Ok(())
}

/// Reads an ISO 8601 time: with an offset (`Z`, `+02:00`) as it says; without one in
/// time zone `tz` (an IANA name, a site's `timezone`), else UTC. A date alone is its
/// midnight. Unix seconds.
pub fn parse_time(s: &str, tz: Option<&str>) -> Result<i64, String> {
    let s = s.trim();
    if let Ok(t) = s.parse::<jiff::Timestamp>() {
        return Ok(t.as_second());
    }
    let civil = s
        .parse::<jiff::civil::DateTime>()
        .or_else(|_| {
            s.parse::<jiff::civil::Date>()
                .map(|d| d.to_datetime(jiff::civil::Time::midnight()))
        })
        .map_err(|_| {
            "expected an ISO 8601 date and time such as 2026-12-02T14:00:00Z".to_owned()
        })?;
    let zone = match tz {
        Some(name) => jiff::tz::TimeZone::get(name)
            .map_err(|_| format!("the site's timezone `{name}` is not a known time zone"))?,
        None => jiff::tz::TimeZone::UTC,
    };
    civil
        .to_zoned(zone)
        .map(|z| z.timestamp().as_second())
        .map_err(|e| e.to_string())
}

/// When a repeating window is on: some days of the week, from one time of day to another
/// (past midnight when the end is earlier), in a time zone.
#[derive(Debug, Clone)]
pub struct Recurrence {
    /// Monday first.
    days: [bool; 7],
    start: u16,
    end: u16,
    tz: jiff::tz::TimeZone,
}

impl PartialEq for Recurrence {
    fn eq(&self, o: &Recurrence) -> bool {
        self.days == o.days
            && self.start == o.start
            && self.end == o.end
            && self.tz.iana_name() == o.tz.iana_name()
    }
}

impl Recurrence {
    /// `<days> HH:MM-HH:MM` in time zone `tz` (UTC when `None`). Days: `day` (every day),
    /// `weekdays`, `weekend`, or names (`sunday`, `sun`) separated by commas.
    pub fn parse(s: &str, tz: Option<&str>) -> Result<Recurrence, String> {
        const NAMES: [&str; 7] = [
            "monday",
            "tuesday",
            "wednesday",
            "thursday",
            "friday",
            "saturday",
            "sunday",
        ];
        let usage = "expected days and hours such as `sunday 02:00-04:00`, `sat,sun 22:00-06:00` or `day 03:00-03:30`";
        let s = s.trim().to_ascii_lowercase();
        let (days_text, hours) = s.split_once(char::is_whitespace).ok_or(usage)?;
        let mut days = [false; 7];
        for d in days_text.split(',').map(str::trim) {
            match d {
                "day" | "daily" => days = [true; 7],
                "weekdays" => days[..5].iter_mut().for_each(|x| *x = true),
                "weekend" => days[5..].iter_mut().for_each(|x| *x = true),
                name => {
                    let i = NAMES
                        .iter()
                        .position(|n| *n == name || (name.len() == 3 && n.starts_with(name)))
                        .ok_or_else(|| format!("`{name}` is not a day; {usage}"))?;
                    days[i] = true;
                }
            }
        }
        let minutes = |t: &str| -> Option<u16> {
            let (h, m) = t.trim().split_once(':')?;
            let (h, m): (u16, u16) = (h.parse().ok()?, m.parse().ok()?);
            (h < 24 && m < 60).then_some(h * 60 + m)
        };
        let (a, b) = hours.trim().split_once('-').ok_or(usage)?;
        let (start, end) = (minutes(a).ok_or(usage)?, minutes(b).ok_or(usage)?);
        if start == end {
            return Err("the occurrence starts and ends at the same time".into());
        }
        let tz = match tz {
            Some(name) => jiff::tz::TimeZone::get(name)
                .map_err(|_| format!("the site's timezone `{name}` is not a known time zone"))?,
            None => jiff::tz::TimeZone::UTC,
        };
        Ok(Recurrence {
            days,
            start,
            end,
            tz,
        })
    }

    /// Whether an occurrence covers `now` (Unix seconds).
    pub fn occurring(&self, now: i64) -> bool {
        let Ok(t) = jiff::Timestamp::from_second(now) else {
            return false;
        };
        let z = t.to_zoned(self.tz.clone());
        let day = usize::from(z.weekday().to_monday_zero_offset().unsigned_abs());
        let minute =
            u16::try_from(z.hour()).unwrap_or(0) * 60 + u16::try_from(z.minute()).unwrap_or(0);
        if self.start < self.end {
            self.days[day] && (self.start..self.end).contains(&minute)
        } else {
            // Past midnight: the evening of a listed day, or the morning after one.
            (self.days[day] && minute >= self.start)
                || (self.days[(day + 6) % 7] && minute < self.end)
        }
    }
}

/// Unix seconds as the API writes them: RFC 3339 in UTC (`clock::format_utc`; before 1970
/// is written as the epoch).
pub fn format_time(t: i64) -> String {
    crate::clock::format_utc(u64::try_from(t).unwrap_or(0))
}

/// The site a target is in (for its time zone); `None` when the topology has no such
/// target.
pub fn site_of(topo: &Topology, t: TargetType, id: &str) -> Option<SiteIx> {
    Some(match scope_of(topo, t, id)? {
        Scope::Site(s) => s,
        Scope::Room(r) => topo.rooms[r].site,
        Scope::Aisle(a) => topo.rooms[topo.aisles[a].room].site,
        Scope::Rack(r) => topo.rooms[topo.racks[r].room].site,
        Scope::Device(d) => topo.rooms[topo.racks[topo.devices[d].rack].room].site,
        Scope::Instance(i) => {
            let d = topo.instances[i].device;
            topo.rooms[topo.racks[topo.devices[d].rack].room].site
        }
    })
}

/// The qualified paths of the objects a target's short id names, when it names several:
/// such a window covers nothing (never the first, never all) until it names one.
pub fn ambiguity(topo: &Topology, t: TargetType, id: &str) -> Option<Vec<String>> {
    let paths: Vec<String> = match t {
        TargetType::Site | TargetType::Instance => return None,
        TargetType::Room => topo
            .find_room(id)
            .all()
            .into_iter()
            .map(|r| topo.room_path(r))
            .collect(),
        TargetType::Aisle => topo
            .find_aisle(id)
            .all()
            .into_iter()
            .map(|a| topo.aisle_path(a))
            .collect(),
        TargetType::Rack => topo
            .find_rack(id)
            .all()
            .into_iter()
            .map(|r| topo.rack_path(r))
            .collect(),
        TargetType::Device => topo
            .find_device(id)
            .all()
            .into_iter()
            .map(|d| topo.device_path(d))
            .collect(),
    };
    (paths.len() > 1).then_some(paths)
}

fn target_exists(topo: &Topology, t: TargetType, id: &str) -> bool {
    scope_of(topo, t, id).is_some()
}

/// What a target names in one topology.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Scope {
    Site(SiteIx),
    Room(RoomIx),
    Aisle(AisleIx),
    Rack(RackIx),
    Device(DeviceIx),
    Instance(crate::topology::InstanceIx),
}

fn scope_of(topo: &Topology, t: TargetType, id: &str) -> Option<Scope> {
    match t {
        TargetType::Site => topo.site_ix(id).map(Scope::Site),
        TargetType::Room => topo.room_ix(id).map(Scope::Room),
        TargetType::Aisle => topo.find_aisle(id).one().map(Scope::Aisle),
        TargetType::Rack => topo.rack_ix(id).map(Scope::Rack),
        // A device id, else an instance name: the Python version matched device targets
        // against the instance names of node alerts.
        TargetType::Device => topo
            .device_ix(id)
            .map(Scope::Device)
            .or_else(|| topo.instance_ix(id).map(Scope::Instance)),
        TargetType::Instance => topo.instance_ix(id).map(Scope::Instance),
    }
}

/// Where an alert or a marker is, as indices.
#[derive(Debug, Clone, Copy)]
pub struct Place {
    pub site: SiteIx,
    pub room: RoomIx,
    pub aisle: Option<AisleIx>,
    pub rack: Option<RackIx>,
    pub device: Option<DeviceIx>,
    /// The instance of a node alert, by name.
    pub instance: Option<crate::topology::InstanceIx>,
}

/// The windows active at one instant, resolved in one topology: what each surface asks.
#[derive(Debug)]
pub struct Coverage<'a> {
    active: Vec<(Scope, &'a Window)>,
    /// The positions in `active` of the windows on each target, so that a place asks only
    /// the few windows on it and above it, not every window (an estate may hold a thousand
    /// during a campaign, and a list asks once per alert).
    on: HashMap<Scope, Vec<usize>>,
    /// The racks something inside of which is in maintenance.
    touched: std::collections::HashSet<RackIx>,
    kinds: &'a HashMap<String, String>,
    topo: &'a Topology,
}

impl<'a> Coverage<'a> {
    /// The windows of `m` active at `now` (Unix seconds) over `topo`; `kinds` is the kind
    /// of each check (`Config::check_kinds`), for windows limited to a kind.
    pub fn new(
        m: &'a Maintenances,
        topo: &'a Topology,
        kinds: &'a HashMap<String, String>,
        now: i64,
    ) -> Coverage<'a> {
        let active: Vec<(Scope, &Window)> = m
            .windows
            .iter()
            .filter(|w| w.status(now) == Status::Active)
            .filter_map(|w| Some((scope_of(topo, w.entry.target_type, &w.entry.target_id)?, w)))
            .collect();
        let mut on: HashMap<Scope, Vec<usize>> = HashMap::new();
        let mut touched = std::collections::HashSet::new();
        for (i, (s, _)) in active.iter().enumerate() {
            on.entry(*s).or_default().push(i);
            match *s {
                Scope::Device(d) => {
                    touched.insert(topo.devices[d].rack);
                }
                Scope::Instance(x) => {
                    touched.insert(topo.devices[topo.instances[x].device].rack);
                }
                _ => {}
            }
        }
        Coverage {
            active,
            on,
            touched,
            kinds,
            topo,
        }
    }

    /// The active windows on `p` or above it, in the file's order.
    fn over(&self, p: &Place) -> impl Iterator<Item = &(Scope, &'a Window)> + '_ {
        let keys = [
            Some(Scope::Site(p.site)),
            Some(Scope::Room(p.room)),
            p.aisle.map(Scope::Aisle),
            p.rack.map(Scope::Rack),
            p.device.map(Scope::Device),
            p.instance.map(Scope::Instance),
        ];
        let mut at: Vec<usize> = keys
            .into_iter()
            .flatten()
            .filter_map(|k| self.on.get(&k))
            .flatten()
            .copied()
            .collect();
        at.sort_unstable();
        at.into_iter().map(|i| &self.active[i])
    }

    /// No window is active.
    pub fn is_empty(&self) -> bool {
        self.active.is_empty()
    }

    /// The active windows, in the file's order.
    pub fn windows(&self) -> impl Iterator<Item = &'a Window> + '_ {
        self.active.iter().map(|(_, w)| *w)
    }

    /// The place of rack `r` (no device).
    pub fn rack_place(&self, r: RackIx) -> Place {
        let rack = &self.topo.racks[r];
        Place {
            site: self.topo.rooms[rack.room].site,
            room: rack.room,
            aisle: rack.aisle,
            rack: Some(r),
            device: None,
            instance: None,
        }
    }

    /// An instance by name, for the place of a node alert.
    pub fn instance_ix(&self, name: &str) -> Option<crate::topology::InstanceIx> {
        self.topo.instance_ix(name)
    }

    /// The window covering the whole of what is at `p` (every check), if any; one that
    /// hides before one that badges, as `check` chooses.
    pub fn whole(&self, p: &Place) -> Option<&'a Window> {
        let mut covering = self
            .over(p)
            .filter(|(_, w)| w.entry.check.is_none())
            .map(|(_, w)| *w);
        let first = covering.next()?;
        if first.effect() == Effect::Hide {
            return Some(first);
        }
        Some(
            covering
                .find(|w| w.effect() == Effect::Hide)
                .unwrap_or(first),
        )
    }

    /// The first window covering rack `r` entirely (it, its aisle, room or site).
    pub fn rack(&self, r: RackIx) -> Option<&'a Window> {
        self.whole(&self.rack_place(r))
    }

    /// The first window covering room `r` entirely (it or its site).
    pub fn room(&self, r: RoomIx) -> Option<&'a Window> {
        let p = Place {
            site: self.topo.rooms[r].site,
            room: r,
            aisle: None,
            rack: None,
            device: None,
            instance: None,
        };
        self.whole(&p)
    }

    /// The first window covering site `s` entirely.
    pub fn site(&self, s: SiteIx) -> Option<&'a Window> {
        self.on
            .get(&Scope::Site(s))?
            .iter()
            .map(|&i| self.active[i].1)
            .find(|w| w.entry.check.is_none())
    }

    /// The first window covering device `d` entirely (it or anything above it).
    pub fn device(&self, d: DeviceIx) -> Option<&'a Window> {
        let mut p = self.rack_place(self.topo.devices[d].rack);
        p.device = Some(d);
        self.whole(&p)
    }

    /// Whether any active window covers something inside rack `r` (a device, an instance,
    /// a check), for the "partly in maintenance" marker.
    pub fn touches_rack(&self, r: RackIx) -> bool {
        self.touched.contains(&r) || self.over(&self.rack_place(r)).next().is_some()
    }

    /// The window covering check `check` at `p`, if any: a window on the place or above
    /// it, for every check or for this check's id or kind. When several do, the first
    /// that hides wins over those that badge: an operator who hid a rack meant all of it,
    /// whatever an older badge on one of its nodes says.
    pub fn check(&self, p: &Place, check: &str) -> Option<&'a Window> {
        let mut covering = self.over(p).filter(|(_, w)| {
            w.entry
                .check
                .as_deref()
                .is_none_or(|c| c == check || self.kinds.get(check).is_some_and(|k| k == c))
        });
        let first = covering.next()?.1;
        if first.effect() == Effect::Hide {
            return Some(first);
        }
        Some(
            covering
                .map(|(_, w)| *w)
                .find(|w| w.effect() == Effect::Hide)
                .unwrap_or(first),
        )
    }
}

impl Window {
    /// When what the window does at `now` ends: the occurrence under way of a repeating
    /// window, or `expires_at` when earlier; `None` for an open-ended window. For those
    /// who must tell another system (an Alertmanager silence's end).
    pub fn active_until(&self, now: i64) -> Option<i64> {
        let occurrence = self.every.as_ref().and_then(|r| r.occurrence_end(now));
        match (occurrence, self.expires) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

impl Recurrence {
    /// When the occurrence covering `now` ends (Unix seconds), `None` when none does.
    pub fn occurrence_end(&self, now: i64) -> Option<i64> {
        if !self.occurring(now) {
            return None;
        }
        let z = jiff::Timestamp::from_second(now)
            .ok()?
            .to_zoned(self.tz.clone());
        let minute = u16::try_from(z.hour()).ok()? * 60 + u16::try_from(z.minute()).ok()?;
        // Today at `end`, unless this is the evening part of an occurrence past midnight.
        let date = if self.start > self.end && minute >= self.start {
            z.date().tomorrow().ok()?
        } else {
            z.date()
        };
        let end = jiff::civil::Time::new(
            i8::try_from(self.end / 60).ok()?,
            i8::try_from(self.end % 60).ok()?,
            0,
            0,
        )
        .ok()?;
        date.to_datetime(end)
            .to_zoned(self.tz.clone())
            .ok()
            .map(|z| z.timestamp().as_second())
    }
}

/// What a target names in a topology, for whoever must name it outside Rackscope
/// (Alertmanager silences): its level, its id, and the node names under it.
#[derive(Debug, Clone, Copy)]
pub struct Reach<'t> {
    scope: Scope,
    topo: &'t Topology,
}

impl<'t> Reach<'t> {
    /// `None` when the topology has no such target.
    pub fn of(topo: &'t Topology, t: TargetType, id: &str) -> Option<Reach<'t>> {
        scope_of(topo, t, id).map(|scope| Reach { scope, topo })
    }

    /// The level found: a `device` target naming an instance is an `Instance`.
    pub fn level(&self) -> TargetType {
        match self.scope {
            Scope::Site(_) => TargetType::Site,
            Scope::Room(_) => TargetType::Room,
            Scope::Aisle(_) => TargetType::Aisle,
            Scope::Rack(_) => TargetType::Rack,
            Scope::Device(_) => TargetType::Device,
            Scope::Instance(_) => TargetType::Instance,
        }
    }

    /// The id of what was found, as the topology spells it.
    pub fn id(&self) -> &'t str {
        let t = self.topo;
        match self.scope {
            Scope::Site(s) => &t.sites[s].id,
            Scope::Room(r) => &t.rooms[r].id,
            Scope::Aisle(a) => &t.aisles[a].id,
            Scope::Rack(r) => &t.racks[r].id,
            Scope::Device(d) => &t.devices[d].id,
            Scope::Instance(i) => &t.instances[i].name,
        }
    }

    /// The node names under it, in the topology's order, as queries spell them: each
    /// instance name, or the id of a device without instances. `None` past `max` names,
    /// found without walking the rest.
    pub fn nodes(&self, max: usize) -> Option<Vec<&'t str>> {
        let t = self.topo;
        let mut out = Vec::new();
        let device = |d: DeviceIx, out: &mut Vec<&'t str>| -> Option<()> {
            let dev = &t.devices[d];
            if dev.instances.is_empty() {
                out.push(dev.id.as_str());
            } else {
                out.extend(
                    t.instances
                        .slice(dev.instances.clone())
                        .iter()
                        .map(|i| i.name.as_str()),
                );
            }
            (out.len() <= max).then_some(())
        };
        let rack = |r: RackIx, out: &mut Vec<&'t str>| -> Option<()> {
            t.racks[r].devices.iter().try_for_each(|&d| device(d, out))
        };
        let room = |r: RoomIx, out: &mut Vec<&'t str>| -> Option<()> {
            let room = &t.rooms[r];
            room.aisles
                .iter()
                .flat_map(|&a| t.aisles[a].racks.iter())
                .chain(room.standalone_racks.iter())
                .try_for_each(|&k| rack(k, out))
        };
        match self.scope {
            Scope::Site(s) => t.sites[s]
                .rooms
                .iter()
                .try_for_each(|&r| room(r, &mut out))?,
            Scope::Room(r) => room(r, &mut out)?,
            Scope::Aisle(a) => t.aisles[a]
                .racks
                .iter()
                .try_for_each(|&k| rack(k, &mut out))?,
            Scope::Rack(r) => rack(r, &mut out)?,
            Scope::Device(d) => device(d, &mut out)?,
            Scope::Instance(i) => out.push(t.instances[i].name.as_str()),
        }
        (out.len() <= max).then_some(out)
    }
}

#[cfg(test)]
mod tests;
