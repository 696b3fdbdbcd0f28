//! Maintenance windows written to `maintenances.yaml`: create, change, stop, reactivate and
//! delete, each one edit of the file in place (`core::edit`, comments and layout kept),
//! checked as the loader checks the file before it is written, written atomically under
//! the directory lock, audited, and committed with `editors.git_commit`. The API and the
//! pages call these from `spawn_blocking`; the caller puts the result in force
//! (`Engine::set_maintenances`).

use rackscope_core::Config;
use rackscope_core::edit::{Doc, Seg, lock_dir_of, write_atomic};
use rackscope_core::maintenance::{Maintenances, format_time, parse_time};
use rackscope_core::model::maintenance::{Effect, TargetType};

use crate::editing::Problem;

/// The largest maintenances file read.
const MAX_FILE_BYTES: u64 = 16 * 1024 * 1024;

/// What a new file starts with.
const HEADER: &str = "# Maintenance windows (docs/maintenance.md): written by Rackscope's API and pages,\n\
# and fine to edit by hand; times are ISO 8601, UTC unless they carry an offset.\n";

#[derive(Debug, thiserror::Error)]
pub enum MaintenanceError {
    #[error("no maintenance `{0}`")]
    NotFound(String),
    /// A value of the request that cannot be a window.
    #[error("{0}")]
    BadRequest(String),
    /// The file would not load with the change (or does not load now): its problems.
    #[error("maintenances.yaml would not load")]
    Invalid(Vec<Problem>),
    #[error("{0}")]
    Io(String),
}

type Result<T> = std::result::Result<T, MaintenanceError>;

/// A window to create. Times are ISO 8601; without an offset they are read in the target
/// site's time zone. `duration` (`90m`, `4h`, `2d`) sets `expires_at` from the start.
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewWindow {
    pub target_type: String,
    pub target_id: String,
    #[serde(default)]
    pub reason: String,
    /// `hide` or `badge` (the default).
    #[serde(default)]
    pub effect: Option<String>,
    /// A check id or kind the window is limited to.
    #[serde(default)]
    pub check: Option<String>,
    #[serde(default)]
    pub starts_at: Option<String>,
    #[serde(default)]
    pub expires_at: Option<String>,
    #[serde(default)]
    pub duration: Option<String>,
    /// Repeats (`sunday 02:00-04:00`, in the site's time zone): active only during each
    /// occurrence, between `starts_at` and `expires_at`.
    #[serde(default)]
    pub every: Option<String>,
}

/// A change to a window: each field present is set, and a field present as `null` is
/// cleared (the Python version's partial update).
#[derive(Debug, Clone, Default)]
pub struct Patch {
    pub reason: Option<String>,
    pub effect: Option<String>,
    pub starts_at: Option<Option<String>>,
    pub expires_at: Option<Option<String>>,
}

impl Patch {
    /// From a JSON object: only `reason`, `effect`, `starts_at` and `expires_at`.
    pub fn from_json(v: &serde_json::Value) -> Result<Patch> {
        let obj = v
            .as_object()
            .ok_or_else(|| MaintenanceError::BadRequest("the body must be a JSON object".into()))?;
        let mut p = Patch::default();
        for (k, v) in obj {
            let text = || -> Result<Option<String>> {
                match v {
                    serde_json::Value::Null => Ok(None),
                    serde_json::Value::String(s) => Ok(Some(s.clone())),
                    _ => Err(MaintenanceError::BadRequest(format!(
                        "`{k}` must be a string or null"
                    ))),
                }
            };
            match k.as_str() {
                "reason" => p.reason = Some(text()?.unwrap_or_default()),
                "effect" => p.effect = text()?,
                "starts_at" => p.starts_at = Some(text()?),
                "expires_at" => p.expires_at = Some(text()?),
                other => {
                    return Err(MaintenanceError::BadRequest(format!(
                        "`{other}` cannot be changed (reason, effect, starts_at, expires_at can)"
                    )));
                }
            }
        }
        Ok(p)
    }
}

/// What a change does to the file's document.
enum Change<'a> {
    Create(&'a NewWindow),
    Update(&'a str, &'a Patch),
    Stop(&'a str),
    Reactivate(&'a str),
    Delete(&'a str),
}

fn now() -> i64 {
    rackscope_core::clock::unix_seconds(std::time::SystemTime::now())
}

pub fn create(config: &Config, w: &NewWindow, who: &str) -> Result<(String, Maintenances)> {
    let (m, id) = write(config, Change::Create(w), who)?;
    Ok((id, m))
}

pub fn update(config: &Config, id: &str, p: &Patch, who: &str) -> Result<Maintenances> {
    write(config, Change::Update(id, p), who).map(|(m, _)| m)
}

/// What can be done to a window by its id alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Sets `ended_at`: the window is over from now.
    Stop,
    /// Clears `ended_at`.
    Reactivate,
    /// Removes the window from the file.
    Delete,
}

impl Action {
    pub fn parse(s: &str) -> Option<Action> {
        match s {
            "stop" => Some(Action::Stop),
            "reactivate" => Some(Action::Reactivate),
            "delete" => Some(Action::Delete),
            _ => None,
        }
    }
}

pub fn act(config: &Config, action: Action, id: &str, who: &str) -> Result<Maintenances> {
    let change = match action {
        Action::Stop => Change::Stop(id),
        Action::Reactivate => Change::Reactivate(id),
        Action::Delete => Change::Delete(id),
    };
    write(config, change, who).map(|(m, _)| m)
}

/// Applies `change` to the file under the directory lock; returns the windows in force
/// after it and the id of the window changed.
fn write(config: &Config, change: Change<'_>, who: &str) -> Result<(Maintenances, String)> {
    let path = rackscope_core::maintenance::file_of(&config.app_file);
    let io = |e: std::io::Error| MaintenanceError::Io(format!("{}: {e}", path.display()));
    let _lock = lock_dir_of(&path).map_err(io)?;
    let text = match rackscope_core::walk::read_bounded(&path, MAX_FILE_BYTES) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => HEADER.to_owned(),
        Err(e) => return Err(io(e)),
    };
    // The windows as they are now: a file that does not load is fixed first, by hand or
    // in the editor, rather than written over.
    let (current, diags) = rackscope_core::load::maintenances_of(config, Some(&text));
    if diags.has_errors() {
        return Err(MaintenanceError::Invalid(
            diags.errors().take(50).map(Problem::of).collect(),
        ));
    }
    let mut doc = Doc::parse(&text).map_err(|e| MaintenanceError::Io(e.to_string()))?;
    let edit = |e: rackscope_core::edit::EditError| MaintenanceError::Io(e.to_string());
    let index = |id: &str| -> Result<usize> {
        doc_index(&doc, id).ok_or_else(|| MaintenanceError::NotFound(id.to_owned()))
    };
    let list = [Seg::Key("maintenances")];
    let (id, action) = match change {
        Change::Create(w) => {
            let fields = new_fields(config, &current, w, who)?;
            // Scalars written plain where that reads back the same, as operators write
            // them (quoted only where YAML needs it).
            let item = rackscope_core::yaml::Node::mapping(
                fields
                    .iter()
                    .map(|(k, v)| (*k, rackscope_core::yaml::Node::string(v)))
                    .collect(),
            );
            doc.push_node(&list, &item, None).map_err(edit)?;
            (fields[0].1.clone(), "create")
        }
        Change::Update(id, p) => {
            let i = index(id)?;
            let w = current
                .get(id)
                .ok_or_else(|| MaintenanceError::NotFound(id.to_owned()))?;
            let tz = site_tz(config, w.entry.target_type, &w.entry.target_id);
            if let Some(r) = &p.reason {
                let r = reason(r)?;
                doc.set_str(&item(i, "reason"), &r).map_err(edit)?;
            }
            if let Some(e) = &p.effect {
                let e = effect(Some(e))?;
                doc.set_str(&item(i, "effect"), e.as_str()).map_err(edit)?;
            }
            for (key, v) in [("starts_at", &p.starts_at), ("expires_at", &p.expires_at)] {
                match v {
                    Some(None) if doc.get(&item(i, key)).is_some() => {
                        doc.remove_key(&item(i, key)).map_err(edit)?;
                    }
                    None | Some(None) => {}
                    Some(Some(t)) => {
                        let t = time(key, t, tz.as_deref())?;
                        doc.set_str(&item(i, key), &format_time(t)).map_err(edit)?;
                    }
                }
            }
            (id.to_owned(), "update")
        }
        Change::Stop(id) => {
            let i = index(id)?;
            if current.get(id).is_some_and(|w| w.ended.is_some()) {
                return Err(MaintenanceError::BadRequest(format!(
                    "maintenance `{id}` is already stopped"
                )));
            }
            doc.set_str(&item(i, "ended_at"), &format_time(now()))
                .map_err(edit)?;
            (id.to_owned(), "stop")
        }
        Change::Reactivate(id) => {
            let i = index(id)?;
            if current.get(id).is_some_and(|w| w.ended.is_none()) {
                return Err(MaintenanceError::BadRequest(format!(
                    "maintenance `{id}` is not stopped"
                )));
            }
            doc.remove_key(&item(i, "ended_at")).map_err(edit)?;
            (id.to_owned(), "reactivate")
        }
        Change::Delete(id) => {
            let i = index(id)?;
            doc.remove_item(&list, i).map_err(edit)?;
            (id.to_owned(), "delete")
        }
    };
    let (after, diags) = rackscope_core::load::maintenances_of(config, Some(doc.text()));
    if diags.has_errors() {
        return Err(MaintenanceError::Invalid(
            diags.errors().take(50).map(Problem::of).collect(),
        ));
    }
    write_atomic(&path, doc.text(), false).map_err(io)?;
    tracing::info!(
        target: "rackscope::audit",
        event = "maintenance",
        action,
        id = %id.escape_debug(),
        user = %who.escape_debug(),
        "maintenance window changed"
    );
    if config.app.editors.git_commit {
        crate::editing::git_commit_files(std::slice::from_ref(&path), "maintenance windows", who);
    }
    Ok((after, id))
}

fn item<'a>(i: usize, key: &'a str) -> [Seg<'a>; 3] {
    [Seg::Key("maintenances"), Seg::Index(i), Seg::Key(key)]
}

fn doc_index(doc: &Doc, id: &str) -> Option<usize> {
    doc.find_item(&[Seg::Key("maintenances")], "id", id)
}

fn reason(r: &str) -> Result<String> {
    let r = r.trim();
    if r.is_empty() {
        return Err(MaintenanceError::BadRequest("a reason is required".into()));
    }
    if r.len() > rackscope_core::maintenance::MAX_REASON
        || r.chars().any(|c| c.is_control() && c != '\n')
    {
        return Err(MaintenanceError::BadRequest(format!(
            "the reason must be printable text of at most {} bytes",
            rackscope_core::maintenance::MAX_REASON
        )));
    }
    Ok(r.to_owned())
}

fn effect(e: Option<&String>) -> Result<Effect> {
    match e.map(|s| s.trim()) {
        None | Some("") => Ok(Effect::Badge),
        Some(s) => Effect::parse(s).ok_or_else(|| {
            MaintenanceError::BadRequest(format!("effect `{s}` is neither hide nor badge"))
        }),
    }
}

fn time(key: &str, s: &str, tz: Option<&str>) -> Result<i64> {
    parse_time(s, tz).map_err(|why| MaintenanceError::BadRequest(format!("{key} `{s}`: {why}")))
}

/// The time zone of the site a target is in, when it has one.
fn site_tz(config: &Config, t: TargetType, id: &str) -> Option<String> {
    rackscope_core::maintenance::site_of(&config.topology, t, id)
        .and_then(|s| config.topology.sites[s].timezone.clone())
}

/// The fields of a new window, in the file's order, its id first.
fn new_fields(
    config: &Config,
    current: &Maintenances,
    w: &NewWindow,
    who: &str,
) -> Result<Vec<(&'static str, String)>> {
    let target_type = TargetType::parse(w.target_type.trim()).ok_or_else(|| {
        MaintenanceError::BadRequest(format!(
            "target_type `{}` is not one of site, room, aisle, rack, device, instance",
            w.target_type
        ))
    })?;
    let target_id = w.target_id.trim();
    if target_id.is_empty() {
        return Err(MaintenanceError::BadRequest("target_id is required".into()));
    }
    if let Some(paths) =
        rackscope_core::maintenance::ambiguity(&config.topology, target_type, target_id)
    {
        return Err(MaintenanceError::BadRequest(format!(
            "{} id `{target_id}` names several: {}; give one's qualified path",
            target_type.as_str(),
            paths.join(", ")
        )));
    }
    let Some(site) = rackscope_core::maintenance::site_of(&config.topology, target_type, target_id)
    else {
        return Err(MaintenanceError::BadRequest(format!(
            "there is no {} `{target_id}` in the topology",
            target_type.as_str()
        )));
    };
    let tz = config.topology.sites[site].timezone.clone();
    let reason = reason(&w.reason)?;
    let effect = effect(w.effect.as_ref())?;
    let check = match w.check.as_deref().map(str::trim).filter(|c| !c.is_empty()) {
        Some(c) => {
            let known =
                config.checks.get(c).is_some() || config.check_kinds.values().any(|k| k == c);
            if !known {
                return Err(MaintenanceError::BadRequest(format!(
                    "no check has the id or kind `{c}`"
                )));
            }
            Some(c.to_owned())
        }
        None => None,
    };
    let now = now();
    let starts = match w.starts_at.as_deref().filter(|s| !s.trim().is_empty()) {
        Some(s) => Some(time("starts_at", s, tz.as_deref())?),
        None => None,
    };
    let expires = match (
        w.expires_at.as_deref().filter(|s| !s.trim().is_empty()),
        w.duration.as_deref().filter(|s| !s.trim().is_empty()),
    ) {
        (Some(_), Some(_)) => {
            return Err(MaintenanceError::BadRequest(
                "give expires_at or duration, not both".into(),
            ));
        }
        (Some(s), None) => Some(time("expires_at", s, tz.as_deref())?),
        (None, Some(d)) => {
            let d = rackscope_core::duration::Duration::parse(d.trim())
                .map_err(|why| MaintenanceError::BadRequest(format!("duration `{d}`: {why}")))?;
            let secs = i64::try_from(d.seconds).unwrap_or(i64::MAX);
            Some(starts.unwrap_or(now).saturating_add(secs))
        }
        (None, None) => None,
    };
    if let Some(e) = expires
        && e <= starts.unwrap_or(now)
    {
        return Err(MaintenanceError::BadRequest(
            "the window would end before it starts (or has ended already)".into(),
        ));
    }
    let every = match w.every.as_deref().map(str::trim).filter(|e| !e.is_empty()) {
        Some(e) => {
            rackscope_core::maintenance::Recurrence::parse(e, tz.as_deref())
                .map_err(|why| MaintenanceError::BadRequest(format!("every `{e}`: {why}")))?;
            Some(e.to_owned())
        }
        None => None,
    };
    let mut id = new_id();
    while current.get(&id).is_some() {
        id = new_id();
    }
    let mut fields: Vec<(&'static str, String)> = vec![
        ("id", id),
        ("target_type", target_type.as_str().to_owned()),
        ("target_id", target_id.to_owned()),
    ];
    if let Some(c) = check {
        fields.push(("check", c));
    }
    fields.push(("reason", reason));
    fields.push(("effect", effect.as_str().to_owned()));
    fields.push(("created_at", format_time(now)));
    fields.push(("created_by", crate::editing::actor(Some(who.to_owned()))));
    if let Some(s) = starts {
        fields.push(("starts_at", format_time(s)));
    }
    if let Some(e) = expires {
        fields.push(("expires_at", format_time(e)));
    }
    if let Some(e) = every {
        fields.push(("every", e));
    }
    Ok(fields)
}

/// Twelve hex digits, as the Python version makes them.
fn new_id() -> String {
    rackscope_auth::token::random_secret()[..12].to_owned()
}
