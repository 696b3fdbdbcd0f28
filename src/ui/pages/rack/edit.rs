//! The rack page's "Edit rack" panel (issue #18's topology forms): add, move and remove a
//! device and change the rack's template, each a form posting to `/views/rack/{id}/edit`.
//! The operation is planned (`topology_edit::plan`), saved as one edit (`editing::apply`)
//! and reloaded; the page then redirects with a flash, or shows the refusal with what was
//! typed kept in the forms.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use rackscope_core::Config;
use rackscope_core::topology::RackIx;
use serde::{Deserialize, Serialize};

use super::{rack_url, render};
use crate::editing::EditingError;
use crate::server::AppState;
use crate::topology_edit::Op;
use crate::ui::Ctx;
use crate::ui::chrome::Link;
use crate::ui::urls::enc;

/// What the forms were sent, kept when a form is refused. All text: a browser sends text,
/// and a U that is not a number is the form's error, not a rejected request.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct TopoForm {
    #[serde(default)]
    pub op: String,
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub template: String,
    #[serde(default)]
    pub u: String,
    #[serde(default)]
    pub face: String,
    #[serde(default)]
    pub device: String,
    #[serde(default)]
    pub to_rack: String,
}

/// The panel's state beyond the rack itself.
#[derive(Debug, Default)]
pub(crate) struct Shown {
    /// The operation just applied (`?edited=`).
    pub edited: Option<String>,
    pub form: TopoForm,
    pub error: Option<String>,
    pub problems: Vec<String>,
    pub conflict: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct EditPanel {
    pub action: String,
    /// Device templates for the add form.
    pub templates: Vec<Link>,
    /// Rack templates for the template form.
    pub rack_templates: Vec<Link>,
    /// This rack's devices (`name` is the id, `url` the label).
    pub devices: Vec<Link>,
    /// The form that was sent (`op` says which), to keep its values.
    pub form: TopoForm,
    pub notice: Option<String>,
    pub error: Option<String>,
    pub problems: Vec<String>,
    pub conflict: Option<String>,
}

fn done_text(op: &str) -> &'static str {
    match op {
        "add_device" => "Device added",
        "move_device" => "Device moved",
        "remove_device" => "Device removed",
        "set_rack_template" => "Rack template changed",
        _ => "Topology edited",
    }
}

pub(super) fn panel(st: &AppState, config: &Config, x: RackIx, shown: Shown) -> EditPanel {
    let topo = &config.topology;
    let r = &topo.racks[x];
    let notice = shown.edited.as_deref().map(|op| {
        let s = st.reload.status();
        if s.ok {
            format!(
                "{}; the configuration reloaded (generation {}).",
                done_text(op),
                s.generation
            )
        } else {
            format!(
                "{}, but the configuration did not reload ({} error(s)): the last good one keeps running.",
                done_text(op),
                s.error_count
            )
        }
    });
    let mut templates: Vec<Link> = config
        .catalog
        .devices
        .iter()
        .map(|t| Link {
            name: t.def.id.value.clone(),
            url: format!("{} ({}U)", t.def.name, t.def.u_height.value),
        })
        .collect();
    templates.sort_by(|a, b| a.name.cmp(&b.name));
    let mut rack_templates: Vec<Link> = config
        .catalog
        .racks
        .iter()
        .map(|t| Link {
            name: t.def.id.value.clone(),
            url: format!("{} ({}U)", t.def.name, t.def.u_height),
        })
        .collect();
    rack_templates.sort_by(|a, b| a.name.cmp(&b.name));
    // Top of the rack first, as the elevation reads.
    let mut by_u: Vec<_> = r.devices.iter().map(|&d| &topo.devices[d]).collect();
    by_u.sort_by(|a, b| b.u_position.cmp(&a.u_position).then(a.id.cmp(&b.id)));
    let devices = by_u
        .into_iter()
        .map(|dev| Link {
            name: dev.id.clone(),
            url: format!("U{} · {}", dev.u_position, dev.name),
        })
        .collect();
    let mut form = shown.form;
    if form.template.is_empty() && form.op.is_empty() {
        form.template = r.template_id.clone().unwrap_or_default();
    }
    EditPanel {
        action: format!("{}/edit", rack_url(&r.id)),
        templates,
        rack_templates,
        devices,
        form,
        notice,
        error: shown.error,
        problems: shown.problems,
        conflict: shown.conflict,
    }
}

fn some(s: &str) -> Option<String> {
    let s = s.trim();
    (!s.is_empty()).then(|| s.to_owned())
}

/// The operation a form asks for on rack `rack`, or why it asks for none.
fn op_of(rack: &str, f: &TopoForm) -> Result<Op, String> {
    let u = || {
        f.u.trim()
            .parse::<u32>()
            .map_err(|_| format!("U must be a whole number, not `{}`", f.u.trim()))
    };
    let need = |v: &str, what: &str| some(v).ok_or_else(|| format!("{what} is required"));
    Ok(match f.op.as_str() {
        "add_device" => Op::AddDevice {
            rack: rack.to_owned(),
            id: need(&f.id, "the device id")?,
            name: some(&f.name),
            template: need(&f.template, "a template")?,
            u: u()?,
            face: some(&f.face),
        },
        "move_device" => Op::MoveDevice {
            rack: rack.to_owned(),
            device: need(&f.device, "a device")?,
            to_rack: some(&f.to_rack).unwrap_or_else(|| rack.to_owned()),
            u: u()?,
            face: some(&f.face),
        },
        "remove_device" => Op::RemoveDevice {
            rack: rack.to_owned(),
            device: need(&f.device, "a device")?,
        },
        "set_rack_template" => Op::SetRackTemplate {
            rack: rack.to_owned(),
            template: some(&f.template),
        },
        other => return Err(format!("`{other}` is not an edit this page makes")),
    })
}

/// `POST /views/rack/{id}/edit`.
pub async fn submit(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    axum::Form(f): axum::Form<TopoForm>,
) -> Response {
    let mut shown = Shown {
        form: f.clone(),
        ..Shown::default()
    };
    if let Err(why) = crate::server::editing_api::editors_allowed(&st) {
        shown.error = Some(format!("The editors cannot write on this server: {why}"));
        return render(&st, &ctx, &id, None, shown, StatusCode::FORBIDDEN).await;
    }
    let op = match op_of(&id, &f) {
        Ok(op) => op,
        Err(why) => {
            shown.error = Some(format!("Not saved: {why}."));
            return render(&st, &ctx, &id, None, shown, StatusCode::BAD_REQUEST).await;
        }
    };
    let who = ctx.user.name.clone().unwrap_or_else(|| "anonymous".into());
    let status = match crate::server::editing_api::plan_and_apply(st.engine.config(), op, who).await
    {
        Ok(paths) => {
            tracing::info!(rack = %id, op = %f.op, files = paths.len(), who = ?ctx.user.name, "Topology edited from the rack page.");
            // Applied now rather than by the file watcher, so that the page after the
            // redirect shows the new rack.
            st.reload.reload("editor").await;
            let url = format!("{}?edited={}", rack_url(&id), enc(&f.op));
            return Redirect::to(&url).into_response();
        }
        Err(Ok(refused)) => {
            shown.error = Some(format!("Not saved: {refused}."));
            StatusCode::BAD_REQUEST
        }
        Err(Err(EditingError::Invalid(problems))) => {
            shown.error = Some("Not saved: the configuration would not load.".into());
            shown.problems = problems
                .iter()
                .map(|p| {
                    format!(
                        "{}:{}:{}: {} [{}] {}",
                        p.file, p.line, p.col, p.level, p.code, p.message
                    )
                })
                .collect();
            StatusCode::UNPROCESSABLE_ENTITY
        }
        Err(Err(e @ EditingError::Conflict { .. })) => {
            if let EditingError::Conflict { diff, .. } = &e {
                shown.conflict = Some(diff.clone());
            }
            shown.error = Some(format!("Not saved: {e}."));
            StatusCode::CONFLICT
        }
        Err(Err(e)) => {
            tracing::error!(rack = %id, error = %e, "The topology edit could not be saved.");
            shown.error = Some(format!("Not saved: {e}."));
            StatusCode::INTERNAL_SERVER_ERROR
        }
    };
    render(&st, &ctx, &id, None, shown, status).await
}
