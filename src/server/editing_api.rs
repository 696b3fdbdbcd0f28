//! The configuration's files over the API (issue #18): list, read, validate and save one
//! file, admins only, over `crate::editing`. A save needs the `If-Match` of the text it
//! replaces, is refused when the result would not load, and is applied by a reload at once.
//! With sign-in off, nobody is an admin by proof, so editing is further limited to a server
//! on loopback unless app.yaml says `editors.enabled: true` (`editors_allowed`).

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, Method, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::editing::{self, EditingError, Kind, Problem};
use crate::server::AppState;
use crate::server::auth::Principal;
use crate::server::error::{ApiError, ErrorBody};
use crate::server::reload::Status;
use crate::server::routes::{Need, Routes};

/// The largest request body: a text at the editors' limit, with room for its JSON
/// escaping (a newline or quote is two bytes there).
pub const BODY_LIMIT: usize = editing::MAX_TEXT_BYTES + 4 * 1024 * 1024;

pub fn routes() -> Routes {
    Routes::new()
        .route(
            "/api/files/{kind}",
            &[(Method::GET, Need::ADMIN)],
            get(list_files),
        )
        .route(
            "/api/files/{kind}/{*name}",
            &[(Method::GET, Need::ADMIN), (Method::PUT, Need::ADMIN)],
            get(open_file)
                .put(save_file)
                .layer(axum::extract::DefaultBodyLimit::max(BODY_LIMIT)),
        )
        .route(
            "/api/topology/edit",
            &[(Method::POST, Need::ADMIN)],
            post(topology_edit),
        )
        .route(
            "/api/config/validate",
            &[(Method::POST, Need::ADMIN)],
            post(validate).layer(axum::extract::DefaultBodyLimit::max(BODY_LIMIT)),
        )
}

/// Whether this server lets anyone edit its configuration. With sign-in on, the routes'
/// admin role is the gate. With it off, every client is let in as an admin, so editing is
/// allowed only when the server listens on loopback (whoever reaches it is on the machine)
/// or when app.yaml asks for it with `editors.enabled: true`.
pub fn editors_allowed(st: &AppState) -> Result<(), String> {
    if st.auth.access.load().enabled {
        return Ok(());
    }
    if st.local_only.load(std::sync::atomic::Ordering::Relaxed)
        || st.engine.config().app.editors.enabled
    {
        return Ok(());
    }
    Err(
        "editing the configuration is off: sign-in is disabled and the server listens beyond \
         loopback, so anyone who reaches it could rewrite its files; turn sign-in on \
         (auth.enabled: true, docs/auth.md), listen on 127.0.0.1, or set editors.enabled: \
         true in app.yaml to allow it anyway"
            .to_owned(),
    )
}

fn allowed(st: &AppState) -> Result<(), ApiError> {
    editors_allowed(st).map_err(ApiError::Forbidden)
}

fn kind_of(s: &str) -> Result<Kind, ApiError> {
    Kind::parse(s).ok_or_else(|| ApiError::not_found("file kind", s))
}

fn api_error(e: EditingError) -> ApiError {
    match e {
        EditingError::BadName(_) => ApiError::BadRequest(e.to_string()),
        EditingError::NotFound(name) => ApiError::not_found("file", &name),
        EditingError::TooLarge(_) => ApiError::TooLarge(e.to_string()),
        EditingError::Invalid(ref problems) => ApiError::Invalid {
            detail: e.to_string(),
            problems: problems.clone(),
        },
        EditingError::Conflict {
            ref current_etag,
            ref diff,
        } => ApiError::Conflict {
            detail: e.to_string(),
            current_etag: current_etag.clone(),
            diff: diff.clone(),
        },
        EditingError::Io(msg) => {
            tracing::error!(error = %msg, "a configuration file could not be read or written");
            ApiError::Internal(format!("the file could not be read or written: {msg}"))
        }
    }
}

/// Runs editing work off the async threads (file IO and whole loads).
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, EditingError> + Send + 'static,
) -> Result<T, ApiError> {
    editing::blocking(f).await.map_err(api_error)
}

fn json_body<T>(body: Result<Json<T>, JsonRejection>) -> Result<T, ApiError> {
    body.map(|Json(b)| b).map_err(|e| {
        if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::TooLarge(format!("the request body is over {} MiB", BODY_LIMIT >> 20))
        } else {
            ApiError::BadRequest(e.body_text())
        }
    })
}

fn with_etag(mut r: Response, etag: &str) -> Response {
    if let Ok(v) = HeaderValue::from_str(etag) {
        r.headers_mut().insert(header::ETAG, v);
    }
    r
}

/// The files of one kind.
#[derive(Serialize, ToSchema)]
pub struct FileList {
    pub kind: &'static str,
    /// Relative to the kind's directory (or the file name when it is one file), sorted.
    pub files: Vec<String>,
}

/// One file's text and its entity tag.
#[derive(Serialize, ToSchema)]
pub struct FileText {
    pub kind: &'static str,
    pub name: String,
    pub text: String,
    /// What a save of this file sends back as `If-Match`.
    pub etag: String,
    /// The importer whose `rackscope import <name>` generated this text (its first line
    /// carries that importer's mark); `null` for other files. Saving it is allowed, but
    /// when the file is at a path of that importer's layout, the command's next run into
    /// this directory rewrites it from its source, keeping only a template's one-line
    /// `checks:` and `metrics:`, unless the mark was deleted (the import then stops with a
    /// conflict instead); docs/importers.md.
    pub generated_by: Option<String>,
}

#[derive(Deserialize, ToSchema)]
pub struct SaveBody {
    pub text: String,
}

/// A save done, and the reload that applied it.
#[derive(Serialize, ToSchema)]
pub struct Saved {
    pub kind: &'static str,
    pub name: String,
    /// The new text's entity tag (also the `ETag` header).
    pub etag: String,
    pub reload: Status,
}

/// The answer to a save that met a file changed since it was opened (412).
#[derive(Serialize, ToSchema)]
pub struct ConflictBody {
    pub detail: String,
    pub current_etag: String,
    /// The file on disk against the submitted text, unified style, at most ~200 lines.
    pub diff: String,
}

/// The answer to a save that would make the configuration unusable (422).
#[derive(Serialize, ToSchema)]
pub struct InvalidBody {
    pub detail: String,
    pub problems: Vec<Problem>,
}

#[derive(Deserialize, ToSchema)]
pub struct ValidateBody {
    /// `app`, `topology`, `templates`, `checks` or `metrics`.
    pub kind: String,
    pub name: String,
    pub text: String,
}

#[derive(Serialize, ToSchema)]
pub struct Validation {
    /// Whether the configuration would load with this text.
    pub ok: bool,
    /// The errors when not, else the warnings; in file and line order, at most 200.
    pub problems: Vec<Problem>,
}

#[utoipa::path(
    get,
    path = "/api/files/{kind}",
    operation_id = "listFiles",
    tag = "configuration",
    summary = "The configuration files of one kind",
    description = "Kinds: `app`, `topology`, `templates`, `checks`, `metrics`. Admins only (app.yaml holds secrets); with sign-in off, only on loopback or with `editors.enabled`.",
    params(("kind" = String, Path, description = "app, topology, templates, checks or metrics")),
    responses(
        (status = 200, description = "Files", body = FileList),
        (status = 403, description = "Editing not allowed on this server", body = ErrorBody),
        (status = 404, description = "Unknown kind", body = ErrorBody)
    )
)]
pub(crate) async fn list_files(
    State(st): State<AppState>,
    Path(kind): Path<String>,
) -> Result<Json<FileList>, ApiError> {
    allowed(&st)?;
    let kind = kind_of(&kind)?;
    let config = st.engine.config();
    let files = blocking(move || Ok(editing::list(&config, kind))).await?;
    Ok(Json(FileList {
        kind: kind.as_str(),
        files,
    }))
}

#[utoipa::path(
    get,
    path = "/api/files/{kind}/{name}",
    operation_id = "openFile",
    tag = "configuration",
    summary = "One configuration file's text",
    description = "With its entity tag in `etag` and the `ETag` header: a save sends it back as `If-Match`. `generated_by` names the importer when the file is an import's output.",
    params(
        ("kind" = String, Path, description = "app, topology, templates, checks or metrics"),
        ("name" = String, Path, description = "The file, relative to the kind's directory (may contain `/`)")
    ),
    responses(
        (status = 200, description = "The file", body = FileText),
        (status = 400, description = "A name outside the kind's files", body = ErrorBody),
        (status = 403, description = "Editing not allowed on this server", body = ErrorBody),
        (status = 404, description = "No such file", body = ErrorBody)
    )
)]
pub(crate) async fn open_file(
    State(st): State<AppState>,
    Path((kind, name)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    allowed(&st)?;
    let kind = kind_of(&kind)?;
    let config = st.engine.config();
    let opened = blocking(move || editing::open(&config, kind, &name)).await?;
    let etag = opened.etag.clone();
    let r = Json(FileText {
        kind: kind.as_str(),
        generated_by: crate::import::layout::mark(&opened.text).map(|m| m.importer.to_owned()),
        name: opened.name,
        text: opened.text,
        etag: opened.etag,
    })
    .into_response();
    Ok(with_etag(r, &etag))
}

#[utoipa::path(
    put,
    path = "/api/files/{kind}/{name}",
    operation_id = "saveFile",
    tag = "configuration",
    summary = "Save one configuration file and apply it",
    description = "Needs `If-Match` with the etag of the text being replaced. Written (atomically, mode and owner kept, committed to Git with `editors.git_commit`) only when the file is unchanged since and the whole configuration loads with the new text; then reloaded at once. Only existing files are edited.",
    params(
        ("kind" = String, Path, description = "app, topology, templates, checks or metrics"),
        ("name" = String, Path, description = "The file, relative to the kind's directory"),
        ("If-Match" = String, Header, description = "The etag of the text this edit started from")
    ),
    request_body = SaveBody,
    responses(
        (status = 200, description = "Saved and reloaded", body = Saved),
        (status = 400, description = "A name outside the kind's files", body = ErrorBody),
        (status = 403, description = "Editing not allowed on this server", body = ErrorBody),
        (status = 404, description = "No such file", body = ErrorBody),
        (status = 412, description = "The file changed since it was opened; nothing written", body = ConflictBody),
        (status = 413, description = "Text over 16 MiB", body = ErrorBody),
        (status = 422, description = "The configuration would not load; nothing written", body = InvalidBody),
        (status = 428, description = "No If-Match", body = ErrorBody)
    )
)]
pub(crate) async fn save_file(
    State(st): State<AppState>,
    Path((kind, name)): Path<(String, String)>,
    principal: Option<axum::Extension<Principal>>,
    headers: HeaderMap,
    body: Result<Json<SaveBody>, JsonRejection>,
) -> Result<Response, ApiError> {
    allowed(&st)?;
    let kind = kind_of(&kind)?;
    let if_match = headers
        .get(header::IF_MATCH)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .ok_or_else(|| {
            ApiError::PreconditionRequired(
                "a save needs If-Match: the etag of the text it replaces (GET the file first)"
                    .to_owned(),
            )
        })?;
    let body = json_body(body)?;
    let who = editing::actor(principal.and_then(|axum::Extension(p)| p.name));
    let config = st.engine.config();
    let saved =
        blocking(move || editing::save(&config, kind, &name, &body.text, &if_match, &who)).await?;
    let reload = (*st.reload.reload("editor").await).clone();
    let r = Json(Saved {
        kind: kind.as_str(),
        name: saved.name,
        etag: saved.etag.clone(),
        reload,
    })
    .into_response();
    Ok(with_etag(r, &saved.etag))
}

#[utoipa::path(
    post,
    path = "/api/config/validate",
    operation_id = "validateFile",
    tag = "configuration",
    summary = "Whether the configuration would load with one file's text replaced",
    description = "Nothing is written. `ok` false: `problems` are the errors; true: the warnings.",
    request_body = ValidateBody,
    responses(
        (status = 200, description = "The verdict", body = Validation),
        (status = 400, description = "A name outside the kind's files", body = ErrorBody),
        (status = 403, description = "Editing not allowed on this server", body = ErrorBody),
        (status = 404, description = "No such file or kind", body = ErrorBody)
    )
)]
pub(crate) async fn validate(
    State(st): State<AppState>,
    body: Result<Json<ValidateBody>, JsonRejection>,
) -> Result<Json<Validation>, ApiError> {
    allowed(&st)?;
    let body = json_body(body)?;
    let kind = kind_of(&body.kind)?;
    let config = st.engine.config();
    let verdict = tokio::task::spawn_blocking(move || {
        editing::validate(&config, kind, &body.name, &body.text)
    })
    .await
    .map_err(|e| ApiError::Internal(format!("the validation task failed: {e}")))?;
    match verdict {
        Ok(problems) => Ok(Json(Validation { ok: true, problems })),
        Err(EditingError::Invalid(problems)) => Ok(Json(Validation {
            ok: false,
            problems,
        })),
        Err(e) => Err(api_error(e)),
    }
}

/// A topology edit done: the files it wrote or removed, and the reload that applied it.
#[derive(Serialize, ToSchema)]
pub struct Edited {
    pub changed: Vec<String>,
    pub reload: Status,
}

/// Plans `op` on `config` and applies it as one save: the shared path of the API and the
/// rack page's forms. `Err(Ok(_))` is the operation's own refusal (an unknown id, an
/// overlap), `Err(Err(_))` the save pipeline's.
pub async fn plan_and_apply(
    config: std::sync::Arc<rackscope_core::Config>,
    op: crate::topology_edit::Op,
    who: String,
) -> Result<Vec<std::path::PathBuf>, Result<crate::topology_edit::TopologyEditError, EditingError>>
{
    let applied = editing::blocking(move || {
        let changes = match crate::topology_edit::plan(&config, &op) {
            Ok(c) => c,
            Err(refused) => return Ok(Err(refused)),
        };
        editing::apply(&config, &changes, &who).map(Ok)
    })
    .await;
    match applied {
        Ok(Ok(paths)) => Ok(paths),
        Ok(Err(refused)) => Err(Ok(refused)),
        Err(e) => Err(Err(e)),
    }
}

#[utoipa::path(
    post,
    path = "/api/topology/edit",
    operation_id = "editTopology",
    tag = "configuration",
    summary = "Change the topology: add, move or remove a device; add or remove a rack; add a room or an aisle; change a rack's template",
    description = "The body names the operation in `op`. The files it touches are changed with minimal diffs (only the lines of the edited item), checked before anything is written: the ids and templates exist, the device fits the rack and overlaps nothing on its face, each file is still what was read and the whole configuration loads with every change; then written, audited, committed with `editors.git_commit`, and reloaded at once.",
    request_body = crate::topology_edit::Op,
    responses(
        (status = 200, description = "Written and reloaded", body = Edited),
        (status = 400, description = "The operation is refused (unknown id, overlap, outside the rack, ...)", body = ErrorBody),
        (status = 403, description = "Editing not allowed on this server", body = ErrorBody),
        (status = 412, description = "A file changed while the edit was made; nothing written", body = ConflictBody),
        (status = 422, description = "The configuration would not load; nothing written", body = InvalidBody)
    )
)]
pub(crate) async fn topology_edit(
    State(st): State<AppState>,
    principal: Option<axum::Extension<Principal>>,
    body: Result<Json<crate::topology_edit::Op>, JsonRejection>,
) -> Result<Json<Edited>, ApiError> {
    allowed(&st)?;
    let op = json_body(body)?;
    let who = editing::actor(principal.and_then(|axum::Extension(p)| p.name));
    let changed = match plan_and_apply(st.engine.config(), op, who).await {
        Ok(paths) => paths,
        Err(Ok(refused)) => return Err(ApiError::BadRequest(refused.to_string())),
        Err(Err(e)) => return Err(api_error(e)),
    };
    let reload = (*st.reload.reload("editor").await).clone();
    Ok(Json(Edited {
        changed: changed.iter().map(|p| p.display().to_string()).collect(),
        reload,
    }))
}
