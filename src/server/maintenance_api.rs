//! Maintenance windows over the API, as the Python version's routes (`GET/POST
//! /api/maintenances`, `PUT/DELETE /api/maintenances/{id}`, `POST …/stop`,
//! `…/reactivate`): reading for viewers, writing for operators, over `crate::maintenance`.
//! Every write is put in force at once (`Engine::set_maintenances`), without a reload or
//! a query. With sign-in off, writes follow the editors' rule (`editors_allowed`): a
//! window can hide alerts, which nobody unknown may do from the network.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Serialize;
use utoipa::ToSchema;

use rackscope_core::maintenance::{Maintenances, Status, Window};

use crate::maintenance::{self as store, Action, MaintenanceError, NewWindow, Patch};
use crate::server::AppState;
use crate::server::auth::Principal;
use crate::server::error::{ApiError, ErrorBody};
use crate::server::routes::{Need, Routes};

/// A request body is a few fields.
const BODY_LIMIT: usize = 64 * 1024;

pub fn routes() -> Routes {
    let limit = || axum::extract::DefaultBodyLimit::max(BODY_LIMIT);
    Routes::new()
        .route(
            "/api/maintenances",
            &[(Method::GET, Need::VIEWER), (Method::POST, Need::OPERATOR)],
            get(list).post(create).layer(limit()),
        )
        .route(
            "/api/maintenances/{id}",
            &[
                (Method::PUT, Need::OPERATOR),
                (Method::DELETE, Need::OPERATOR),
            ],
            axum::routing::put(update).delete(delete).layer(limit()),
        )
        .route(
            "/api/maintenances/{id}/stop",
            &[(Method::POST, Need::OPERATOR)],
            post(stop),
        )
        .route(
            "/api/maintenances/{id}/reactivate",
            &[(Method::POST, Need::OPERATOR)],
            post(reactivate),
        )
}

/// One window as stored, with its status now.
#[derive(Debug, Serialize, ToSchema)]
pub struct MaintenanceView {
    pub id: String,
    /// `site`, `room`, `aisle`, `rack`, `device` (a device id or an instance name) or
    /// `instance`.
    pub target_type: String,
    pub target_id: String,
    /// The check id or kind the window is limited to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub check: Option<String>,
    pub reason: String,
    /// `hide` or `badge`.
    pub effect: String,
    pub created_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
    pub starts_at: Option<String>,
    pub expires_at: Option<String>,
    pub ended_at: Option<String>,
    /// Repeats (`sunday 02:00-04:00`, site time): active only during each occurrence.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub every: Option<String>,
    /// `ACTIVE`, `SCHEDULED` or `EXPIRED`.
    pub status: String,
}

impl MaintenanceView {
    pub fn of(w: &Window, now: i64) -> MaintenanceView {
        let e = &w.entry;
        MaintenanceView {
            id: e.id.clone(),
            target_type: e.target_type.as_str().to_owned(),
            target_id: e.target_id.clone(),
            check: e.check.clone(),
            reason: e.reason.clone(),
            effect: e.effect.as_str().to_owned(),
            created_at: e.created_at.clone(),
            created_by: e.created_by.clone(),
            starts_at: e.starts_at.clone(),
            expires_at: e.expires_at.clone(),
            ended_at: e.ended_at.clone(),
            every: e.every.clone(),
            status: w.status(now).as_str().to_owned(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct MaintenanceList {
    pub maintenances: Vec<MaintenanceView>,
}

pub(crate) fn now() -> i64 {
    rackscope_core::clock::unix_seconds(std::time::SystemTime::now())
}

fn api_error(e: MaintenanceError) -> ApiError {
    match e {
        MaintenanceError::NotFound(id) => ApiError::not_found("maintenance", &id),
        MaintenanceError::BadRequest(m) => ApiError::BadRequest(m),
        MaintenanceError::Invalid(problems) => ApiError::Invalid {
            detail: "maintenances.yaml would not load with this change (or does not load now); nothing was written".into(),
            problems,
        },
        MaintenanceError::Io(m) => {
            tracing::error!(error = %m, "maintenances.yaml could not be read or written");
            ApiError::Internal(format!("maintenances.yaml could not be read or written: {m}"))
        }
    }
}

fn allowed(st: &AppState) -> Result<(), ApiError> {
    crate::server::editing_api::editors_allowed(st).map_err(|why| {
        ApiError::Forbidden(
            why.replace("editing the configuration", "changing maintenance windows"),
        )
    })
}

fn who(principal: Option<axum::Extension<Principal>>) -> String {
    crate::editing::actor(principal.and_then(|axum::Extension(p)| p.name))
}

/// Runs a store operation off the async threads and puts the windows it leaves in force;
/// returns them with what else the operation answered.
async fn run<T: Send + 'static>(
    st: &AppState,
    f: impl FnOnce(&rackscope_core::Config) -> Result<(Maintenances, T), MaintenanceError>
    + Send
    + 'static,
) -> Result<(std::sync::Arc<Maintenances>, T), ApiError> {
    allowed(st)?;
    in_force(st, f).await.map_err(api_error)
}

/// Runs a store operation off the async threads and puts the windows it leaves in force
/// (the API's and the pages' one way to change them).
pub(crate) async fn in_force<T: Send + 'static>(
    st: &AppState,
    f: impl FnOnce(&rackscope_core::Config) -> Result<(Maintenances, T), MaintenanceError>
    + Send
    + 'static,
) -> Result<(std::sync::Arc<Maintenances>, T), MaintenanceError> {
    let config = st.engine.config();
    let (m, t) = tokio::task::spawn_blocking(move || f(&config))
        .await
        .map_err(|e| MaintenanceError::Io(format!("the maintenance task failed: {e}")))??;
    let m = std::sync::Arc::new(m);
    st.engine.set_maintenances(m.clone());
    Ok((m, t))
}

fn view(m: &Maintenances, id: &str) -> Result<Json<MaintenanceView>, ApiError> {
    m.get(id)
        .map(|w| Json(MaintenanceView::of(w, now())))
        .ok_or_else(|| ApiError::not_found("maintenance", id))
}

#[utoipa::path(
    get,
    path = "/api/maintenances",
    operation_id = "maintenances",
    tag = "maintenance",
    summary = "Every maintenance window with its status (ACTIVE, SCHEDULED, EXPIRED)",
    responses((status = 200, description = "The windows, in the file's order", body = MaintenanceList))
)]
pub(crate) async fn list(State(st): State<AppState>) -> Json<MaintenanceList> {
    let m = st.engine.maintenances();
    let now = now();
    Json(MaintenanceList {
        maintenances: m
            .windows
            .iter()
            .map(|w| MaintenanceView::of(w, now))
            .collect(),
    })
}

#[utoipa::path(
    post,
    path = "/api/maintenances",
    operation_id = "createMaintenance",
    tag = "maintenance",
    summary = "Start or schedule a maintenance window",
    description = "`target_type` is site, room, aisle, rack, device (a device id or, as the Python version, an instance name) or instance; the target must exist. `reason` is required. `effect` is `badge` (default: the alerts stay, marked) or `hide` (they leave every alert list). `check` limits the window to a check id or kind. `starts_at` (default: now) and `expires_at` are ISO 8601; without an offset they are read in the target site's `timezone`, else UTC. `duration` (`90m`, `4h`, `2d`) sets `expires_at` from the start instead. `every` (`sunday 02:00-04:00`, `sat,sun 22:00-06:00`, `weekdays 12:00-13:00`, `day 03:00-03:30`, in the site's time zone) makes it repeat: active only during each occurrence, between `starts_at` and `expires_at`. Written to maintenances.yaml beside app.yaml (comments kept) and in force at once.",
    request_body = NewWindow,
    responses(
        (status = 201, description = "Created", body = MaintenanceView),
        (status = 400, description = "A value that cannot be a window (unknown target, blank reason, bad time)", body = ErrorBody),
        (status = 403, description = "Not allowed on this server", body = ErrorBody),
        (status = 422, description = "maintenances.yaml does not load; nothing written", body = ErrorBody),
    )
)]
pub(crate) async fn create(
    State(st): State<AppState>,
    principal: Option<axum::Extension<Principal>>,
    body: Result<Json<NewWindow>, JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(w) = body.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let who = who(principal);
    let (m, id) = run(&st, move |c| {
        store::create(c, &w, &who).map(|(id, m)| (m, id))
    })
    .await?;
    Ok((StatusCode::CREATED, view(&m, &id)?).into_response())
}

#[utoipa::path(
    put,
    path = "/api/maintenances/{id}",
    operation_id = "updateMaintenance",
    tag = "maintenance",
    summary = "Change a window's reason, effect, starts_at or expires_at",
    description = "A partial update: each field present is set; `starts_at` or `expires_at` present as null is cleared.",
    params(("id" = String, Path, description = "The window's id")),
    request_body = Object,
    responses(
        (status = 200, description = "Changed", body = MaintenanceView),
        (status = 400, description = "A value that cannot be set", body = ErrorBody),
        (status = 404, description = "No such window", body = ErrorBody),
    )
)]
pub(crate) async fn update(
    State(st): State<AppState>,
    principal: Option<axum::Extension<Principal>>,
    Path(id): Path<String>,
    body: Result<Json<serde_json::Value>, JsonRejection>,
) -> Result<Json<MaintenanceView>, ApiError> {
    let Json(v) = body.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let patch = Patch::from_json(&v).map_err(api_error)?;
    let who = who(principal);
    let key = id.clone();
    let (m, ()) = run(&st, move |c| {
        store::update(c, &key, &patch, &who).map(|m| (m, ()))
    })
    .await?;
    view(&m, &id)
}

#[utoipa::path(
    delete,
    path = "/api/maintenances/{id}",
    operation_id = "deleteMaintenance",
    tag = "maintenance",
    summary = "Remove a window from the file",
    params(("id" = String, Path, description = "The window's id")),
    responses(
        (status = 204, description = "Removed"),
        (status = 404, description = "No such window", body = ErrorBody),
    )
)]
pub(crate) async fn delete(
    State(st): State<AppState>,
    principal: Option<axum::Extension<Principal>>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    act(&st, principal, &id, Action::Delete).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Does `action` to window `id` and answers the window as it is after.
async fn act(
    st: &AppState,
    principal: Option<axum::Extension<Principal>>,
    id: &str,
    action: Action,
) -> Result<std::sync::Arc<Maintenances>, ApiError> {
    let who = who(principal);
    let key = id.to_owned();
    let (m, ()) = run(st, move |c| {
        store::act(c, action, &key, &who).map(|m| (m, ()))
    })
    .await?;
    Ok(m)
}

#[utoipa::path(
    post,
    path = "/api/maintenances/{id}/stop",
    operation_id = "stopMaintenance",
    tag = "maintenance",
    summary = "End a window now (sets ended_at)",
    params(("id" = String, Path, description = "The window's id")),
    responses(
        (status = 200, description = "Stopped", body = MaintenanceView),
        (status = 400, description = "Already stopped", body = ErrorBody),
        (status = 404, description = "No such window", body = ErrorBody),
    )
)]
pub(crate) async fn stop(
    State(st): State<AppState>,
    principal: Option<axum::Extension<Principal>>,
    Path(id): Path<String>,
) -> Result<Json<MaintenanceView>, ApiError> {
    let m = act(&st, principal, &id, Action::Stop).await?;
    view(&m, &id)
}

#[utoipa::path(
    post,
    path = "/api/maintenances/{id}/reactivate",
    operation_id = "reactivateMaintenance",
    tag = "maintenance",
    summary = "Undo a stop (clears ended_at)",
    params(("id" = String, Path, description = "The window's id")),
    responses(
        (status = 200, description = "Reactivated", body = MaintenanceView),
        (status = 400, description = "Not stopped", body = ErrorBody),
        (status = 404, description = "No such window", body = ErrorBody),
    )
)]
pub(crate) async fn reactivate(
    State(st): State<AppState>,
    principal: Option<axum::Extension<Principal>>,
    Path(id): Path<String>,
) -> Result<Json<MaintenanceView>, ApiError> {
    let m = act(&st, principal, &id, Action::Reactivate).await?;
    view(&m, &id)
}

/// Whether a window is active now (for pages that list the active ones).
pub fn active_now(w: &Window) -> bool {
    w.status(now()) == Status::Active
}
