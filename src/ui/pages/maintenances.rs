//! The maintenance windows: every window with its status, and for operators the forms to
//! start one (targets picked from the topology, not typed), stop, reactivate or delete it.
//! The pages' "Start maintenance" forms post here too and come back to their page.

use std::collections::HashMap;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use rackscope_core::Config;
use rackscope_core::maintenance::{Maintenances, Status, format_time};
use serde::Serialize;

use crate::maintenance::{self as store, MaintenanceError, NewWindow};
use crate::server::AppState;
use crate::server::maintenance_api::{in_force, now};
use crate::ui::chrome::{Above, Link, chrome, crumbs, world};
use crate::ui::{Ctx, Page, html};

/// Past this many devices, the device picker lists none (the id is typed, checked on
/// submit): a datalist of a hundred thousand entries would be the page.
const MAX_PICK_DEVICES: usize = 5_000;

#[derive(Debug, Serialize)]
pub struct Row {
    pub id: String,
    pub status: &'static str,
    /// `st-CRIT`-like class for the status badge.
    pub class: &'static str,
    pub target: String,
    pub url: String,
    pub check: String,
    pub reason: String,
    pub effect: &'static str,
    pub starts: String,
    pub expires: String,
    pub ended: String,
    pub every: String,
    pub by: String,
    pub stoppable: bool,
}

#[derive(Debug, Serialize)]
pub struct MaintenancesPage {
    pub rows: Vec<Row>,
    pub active: usize,
    /// The forms, for operators on a server that lets them write windows.
    pub can_write: bool,
    pub refused: Option<String>,
    pub sites: Vec<Link>,
    pub rooms: Vec<Link>,
    pub aisles: Vec<Link>,
    pub racks: Vec<Link>,
    pub devices: Vec<Link>,
    pub checks: Vec<Link>,
    pub error: Option<String>,
    /// The create form's values, kept when it is refused.
    pub form: Form,
}

/// The create form's fields as sent, every one present (empty when not sent).
#[derive(Debug, Default, Serialize)]
pub struct Form {
    pub target_type: String,
    pub site_id: String,
    pub room_id: String,
    pub aisle_id: String,
    pub rack_id: String,
    pub device_id: String,
    pub check: String,
    pub reason: String,
    pub starts_at: String,
    pub effect: String,
    pub every: String,
}

impl Form {
    fn of(f: &HashMap<String, String>) -> Form {
        let get = |k: &str| f.get(k).cloned().unwrap_or_default();
        Form {
            target_type: get("target_type"),
            site_id: get("site_id"),
            room_id: get("room_id"),
            aisle_id: get("aisle_id"),
            rack_id: get("rack_id"),
            device_id: get("device_id"),
            check: get("check"),
            reason: get("reason"),
            starts_at: get("starts_at"),
            effect: get("effect"),
            every: get("every"),
        }
    }
}

impl Page for MaintenancesPage {
    const TEMPLATE: &'static str = "maintenances.html";
}

fn time(t: Option<i64>) -> String {
    t.map(format_time).unwrap_or_default()
}

/// The page's data.
pub fn build(config: &Config, m: &Maintenances, now: i64) -> MaintenancesPage {
    let topo = &config.topology;
    let rows: Vec<Row> = m
        .windows
        .iter()
        .rev()
        .map(|w| {
            let status = w.status(now);
            let e = &w.entry;
            let line = crate::ui::maint::line_of(w, config);
            Row {
                id: e.id.clone(),
                status: status.as_str(),
                class: match status {
                    Status::Active => "st-WARN",
                    Status::Scheduled => "st-UNKNOWN",
                    Status::Expired => "st-OK",
                },
                target: line.target,
                url: line.url,
                check: e.check.clone().unwrap_or_default(),
                reason: e.reason.clone(),
                effect: e.effect.as_str(),
                starts: time(w.starts),
                expires: time(w.expires),
                ended: time(w.ended),
                every: e.every.clone().unwrap_or_default(),
                by: e.created_by.clone().unwrap_or_default(),
                stoppable: w.ended.is_none(),
            }
        })
        .collect();
    let link = |id: &str, label: String| Link {
        name: id.to_owned(),
        url: label,
    };
    let mut checks: Vec<Link> = config
        .checks
        .iter()
        .map(|c| link(&c.def.id.value, format!("check {}", c.def.name)))
        .collect();
    let mut kinds: Vec<&String> = config.check_kinds.values().collect();
    kinds.sort();
    kinds.dedup();
    checks.extend(
        kinds
            .into_iter()
            .map(|k| link(k, format!("every {k} check"))),
    );
    MaintenancesPage {
        active: m
            .windows
            .iter()
            .filter(|w| w.status(now) == Status::Active)
            .count(),
        rows,
        can_write: false,
        refused: None,
        sites: topo
            .sites
            .iter()
            .map(|s| link(&s.id, s.name.clone()))
            .collect(),
        rooms: topo
            .rooms
            .iter()
            .map(|r| link(&r.id, format!("{} ({})", r.name, topo.sites[r.site].name)))
            .collect(),
        aisles: topo
            .aisles
            .iter()
            .map(|a| link(&a.id, format!("{} ({})", a.name, topo.rooms[a.room].name)))
            .collect(),
        racks: topo
            .racks
            .iter()
            .map(|r| link(&r.id, format!("{} ({})", r.name, topo.rooms[r.room].name)))
            .collect(),
        devices: if topo.devices.len() <= MAX_PICK_DEVICES {
            topo.devices
                .iter()
                .map(|d| link(&d.id, format!("{} in {}", d.name, topo.racks[d.rack].name)))
                .collect()
        } else {
            Vec::new()
        },
        checks,
        error: None,
        form: Form::default(),
    }
}

pub async fn page(State(st): State<AppState>, ctx: Ctx) -> Response {
    render(&st, &ctx, None, HashMap::new(), StatusCode::OK)
}

fn render(
    st: &AppState,
    ctx: &Ctx,
    error: Option<String>,
    form: HashMap<String, String>,
    status: StatusCode,
) -> Response {
    let (snap, config) = world(st);
    let m = st.engine.maintenances();
    let mut page = build(&config, &m, now());
    let allowed = crate::server::editing_api::editors_allowed(st);
    page.can_write = ctx.user.operator && allowed.is_ok();
    if ctx.user.operator {
        page.refused = allowed
            .err()
            .map(|why| why.replace("editing the configuration", "changing maintenance windows"));
    }
    page.error = error;
    page.form = Form::of(&form);
    let crumbs = crumbs(&config.topology, Above::Overview);
    let c = chrome(
        st,
        ctx,
        &config,
        snap.as_deref(),
        "Maintenance",
        "maintenances",
        crumbs,
    );
    html(st, ctx, status, &c, &page)
}

/// Where to go after a form: the page it came from when that is one of ours.
fn back_to(f: &HashMap<String, String>) -> String {
    match f.get("back").map(String::as_str) {
        Some(b) if b.starts_with('/') && !b.starts_with("//") && !b.contains('\\') => b.to_owned(),
        _ => "/maintenances".to_owned(),
    }
}

/// `POST /maintenances`: `action` is create, stop, reactivate or delete.
pub async fn submit(
    State(st): State<AppState>,
    ctx: Ctx,
    axum::Form(f): axum::Form<HashMap<String, String>>,
) -> Response {
    if let Err(why) = crate::server::editing_api::editors_allowed(&st) {
        let why = why.replace("editing the configuration", "changing maintenance windows");
        return render(&st, &ctx, Some(why), f, StatusCode::FORBIDDEN);
    }
    let who = crate::editing::actor(ctx.user.name.clone());
    let get = |k: &str| f.get(k).cloned().unwrap_or_default();
    let id = get("id");
    let action = get("action");
    let result = match action.as_str() {
        "create" => {
            let ty = get("target_type");
            // The pickers send one field per level; the "Start maintenance" forms send
            // `target_id` itself.
            let target = match f.get("target_id").filter(|t| !t.is_empty()) {
                Some(t) => t.clone(),
                None => get(&format!("{ty}_id")),
            };
            let w = NewWindow {
                target_type: ty,
                target_id: target,
                reason: get("reason"),
                effect: f.get("effect").cloned(),
                check: f.get("check").cloned(),
                starts_at: f.get("starts_at").cloned(),
                expires_at: f.get("expires_at").cloned(),
                duration: f.get("duration").cloned(),
                every: f.get("every").cloned(),
            };
            in_force(&st, move |c| {
                store::create(c, &w, &who).map(|(_, m)| (m, ()))
            })
            .await
            .map(|_| ())
        }
        other => match store::Action::parse(other) {
            Some(a) => in_force(&st, move |c| store::act(c, a, &id, &who).map(|m| (m, ())))
                .await
                .map(|_| ()),
            None => Err(MaintenanceError::BadRequest(format!(
                "`{other}` is not an action of this page"
            ))),
        },
    };
    match result {
        Ok(_) => Redirect::to(&back_to(&f)).into_response(),
        Err(e) => {
            let (status, text) = match &e {
                MaintenanceError::BadRequest(m) => (StatusCode::BAD_REQUEST, m.clone()),
                MaintenanceError::NotFound(_) => (StatusCode::NOT_FOUND, e.to_string()),
                MaintenanceError::Invalid(problems) => (
                    StatusCode::UNPROCESSABLE_ENTITY,
                    format!(
                        "maintenances.yaml does not load, so nothing was written: {}",
                        problems
                            .iter()
                            .map(|p| format!("{}:{}:{} {}", p.file, p.line, p.col, p.message))
                            .collect::<Vec<_>>()
                            .join("; ")
                    ),
                ),
                MaintenanceError::Io(m) => {
                    tracing::error!(error = %m, "maintenances.yaml could not be written");
                    (StatusCode::INTERNAL_SERVER_ERROR, m.clone())
                }
            };
            render(&st, &ctx, Some(format!("Not saved: {text}")), f, status)
        }
    }
}
