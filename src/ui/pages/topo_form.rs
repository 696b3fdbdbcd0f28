//! What the topology forms of the rack, room and site pages share: the fields a form sends,
//! saving its operation as one edit, and the feedback the page shows afterwards.
//!
//! A form's operation is planned (`topology_edit::plan`), saved as one edit
//! (`editing::apply`, through `editing_api::plan_and_apply`) and reloaded at once, so that
//! the page after the redirect shows the change; a refusal is shown on the page with what
//! was typed kept in the form.

use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

use crate::editing::EditingError;
use crate::server::AppState;
use crate::topology_edit::Op;
use crate::ui::Ctx;
use crate::ui::chrome::Link;

/// What a form sent, kept when it is refused. All text: a browser sends text, and a U that
/// is not a number is the form's error, not a rejected request.
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
    /// The aisle (or room, for a standalone rack) a new rack goes in.
    #[serde(default)]
    pub aisle: String,
    #[serde(default)]
    pub rack: String,
}

/// A panel's state: the operation just applied (`?edited=`), or a refused form.
#[derive(Debug, Default)]
pub(crate) struct Shown {
    pub edited: Option<String>,
    pub form: TopoForm,
    pub error: Option<String>,
    pub problems: Vec<String>,
    pub conflict: Option<String>,
}

/// The feedback every panel renders the same way (the `edit_feedback` component).
#[derive(Debug, Serialize)]
pub struct Feedback {
    pub notice: Option<String>,
    pub error: Option<String>,
    pub problems: Vec<String>,
    pub conflict: Option<String>,
}

impl Shown {
    /// The feedback to show, with the form kept apart for the panel's fields.
    pub(crate) fn feedback(self, st: &AppState) -> (Feedback, TopoForm) {
        let notice = self.edited.as_deref().map(|op| {
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
        let feedback = Feedback {
            notice,
            error: self.error,
            problems: self.problems,
            conflict: self.conflict,
        };
        (feedback, self.form)
    }
}

fn done_text(op: &str) -> &'static str {
    match op {
        "add_device" => "Device added",
        "move_device" => "Device moved",
        "remove_device" => "Device removed",
        "set_rack_template" => "Rack template changed",
        "add_rack" => "Rack added",
        "remove_rack" => "Rack removed",
        "add_aisle" => "Aisle added",
        "add_room" => "Room added",
        _ => "Topology edited",
    }
}

/// A field's trimmed text, `None` when blank.
pub(crate) fn some(s: &str) -> Option<String> {
    let s = s.trim();
    (!s.is_empty()).then(|| s.to_owned())
}

/// A required field's trimmed text, or what the form is missing.
pub(crate) fn need(v: &str, what: &str) -> Result<String, String> {
    some(v).ok_or_else(|| format!("{what} is required"))
}

/// Saves the form `f` of `page` (a label for the log) as `op`, or why it cannot: editing
/// not allowed on this server, a form that names no operation (`op` is `Err`), the
/// operation's own refusal, or the save pipeline's. On success the configuration is
/// reloaded before returning, so that the page after the redirect shows the change.
/// `Err` carries the status and the panel's state for the page to render.
pub(crate) async fn save(
    st: &AppState,
    ctx: &Ctx,
    page: &str,
    f: &TopoForm,
    op: Result<Op, String>,
) -> Result<(), (StatusCode, Shown)> {
    let mut shown = Shown {
        form: f.clone(),
        ..Shown::default()
    };
    if let Err(why) = crate::server::editing_api::editors_allowed(st) {
        shown.error = Some(format!("The editors cannot write on this server: {why}"));
        return Err((StatusCode::FORBIDDEN, shown));
    }
    let op = match op {
        Ok(op) => op,
        Err(why) => {
            shown.error = Some(format!("Not saved: {why}."));
            return Err((StatusCode::BAD_REQUEST, shown));
        }
    };
    let who = crate::editing::actor(ctx.user.name.clone());
    let status = match crate::server::editing_api::plan_and_apply(st.engine.config(), op, who).await
    {
        Ok(paths) => {
            tracing::info!(page, op = %f.op, files = paths.len(), who = ?ctx.user.name, "Topology edited from a page's form.");
            // Applied now rather than by the file watcher, so that the page after the
            // redirect shows the change.
            st.reload.reload("editor").await;
            return Ok(());
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
            tracing::error!(page, error = %e, "The topology edit could not be saved.");
            shown.error = Some(format!("Not saved: {e}."));
            StatusCode::INTERNAL_SERVER_ERROR
        }
    };
    Err((status, shown))
}

/// The rack templates for a form's select, by id (`name` is the id, `url` the label).
pub(crate) fn rack_templates(config: &rackscope_core::Config) -> Vec<Link> {
    let mut v: Vec<Link> = config
        .catalog
        .racks
        .iter()
        .map(|t| Link {
            name: t.def.id.value.clone(),
            url: format!("{} ({}U)", t.def.name, t.def.u_height),
        })
        .collect();
    v.sort_by(|a, b| a.name.cmp(&b.name));
    v
}
