//! The rack page's "Edit rack" panel (issue #18's topology forms): add, move and remove a
//! device and change the rack's template, each a form posting to `/views/rack/{id}/edit`
//! and saved through `topo_form::save`.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use rackscope_core::Config;
use rackscope_core::topology::RackIx;
use serde::Serialize;

use super::{rack_url, render};
use crate::server::AppState;
use crate::topology_edit::Op;
use crate::ui::Ctx;
use crate::ui::chrome::Link;
use crate::ui::pages::topo_form::{Feedback, Shown, TopoForm, need, save, some};
use crate::ui::urls::{enc, rack_href};

#[derive(Debug, Serialize)]
pub struct EditPanel {
    pub action: String,
    /// Device templates for the add form.
    pub templates: Vec<Link>,
    /// Rack templates for the template form.
    pub rack_templates: Vec<Link>,
    /// The rack's template now: the template form's choice unless that form was refused.
    pub current_template: String,
    /// This rack's devices (`name` is the id, `url` the label).
    pub devices: Vec<Link>,
    /// The form that was sent (`op` says which), to keep its values.
    pub form: TopoForm,
    pub feedback: Feedback,
}

pub(super) fn panel(st: &AppState, config: &Config, x: RackIx, shown: Shown) -> EditPanel {
    let topo = &config.topology;
    let r = &topo.racks[x];
    let (feedback, form) = shown.feedback(st);
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
    let rack_templates = crate::ui::pages::topo_form::rack_templates(config);
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
    EditPanel {
        action: format!("{}/edit", rack_url(topo, x)),
        templates,
        rack_templates,
        current_template: r.template_id.clone().unwrap_or_default(),
        devices,
        form,
        feedback,
    }
}

/// The operation a form asks for on rack `rack`, or why it asks for none.
fn op_of(rack: &str, f: &TopoForm) -> Result<Op, String> {
    let u = || {
        f.u.trim()
            .parse::<u32>()
            .map_err(|_| format!("U must be a whole number, not `{}`", f.u.trim()))
    };
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
    match save(&st, &ctx, &format!("rack {id}"), &f, op_of(&id, &f)).await {
        Ok(()) => {
            let url = format!("{}?edited={}", rack_href(&id), enc(&f.op));
            Redirect::to(&url).into_response()
        }
        Err((status, shown)) => render(&st, &ctx, &id, None, shown, status).await,
    }
}
