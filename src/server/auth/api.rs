//! `/api/auth/*`, in the Python version's shapes so that its scripts keep working: the
//! status, sign-in for a bearer token, who am I, and a password change.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Extension, State};
use axum::http::Method;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::signin::{self, SignInError};
use super::{Principal, audit, reload};
use crate::accounts::{self, AccountError};
use crate::server::AppState;
use crate::server::error::{ApiError, ErrorBody};
use crate::server::routes::{Need, Routes};

/// A sign-in or password body: two short strings.
const BODY_LIMIT: usize = 16 * 1024;

pub fn routes() -> Routes {
    Routes::new()
        .public("/api/auth/status", get(status))
        .route(
            "/api/auth/login",
            &[(Method::POST, Need::Public)],
            post(login).layer(axum::extract::DefaultBodyLimit::max(BODY_LIMIT)),
        )
        .read("/api/auth/me", get(me))
        .route(
            "/api/auth/change-password",
            &[(Method::POST, Need::VIEWER)],
            post(change_password).layer(axum::extract::DefaultBodyLimit::max(BODY_LIMIT)),
        )
}

#[derive(Serialize, ToSchema)]
pub struct AuthStatus {
    pub enabled: bool,
    /// Some user has a password.
    pub configured: bool,
    /// The Python version's single user name (`auth.username`).
    pub username: String,
    pub policy: PolicyView,
    /// Addition: the role of a client that has not signed in, if any.
    pub anonymous: Option<&'static str>,
}

#[derive(Serialize, ToSchema)]
pub struct PolicyView {
    pub min_length: u32,
    pub max_length: u32,
    pub require_digit: bool,
    pub require_symbol: bool,
}

#[utoipa::path(
    get,
    path = "/api/auth/status",
    operation_id = "authStatus",
    tag = "auth",
    summary = "Whether sign-in is required, and the password policy",
    responses((status = 200, description = "Status", body = AuthStatus))
)]
async fn status(
    State(st): State<AppState>,
    Extension(p): Extension<Principal>,
) -> Json<AuthStatus> {
    let a = st.auth.access.load();
    let app = st.engine.config();
    Json(AuthStatus {
        enabled: a.enabled,
        configured: a.users.values().any(|u| !u.password_hash.is_empty()),
        // The admin's name is half of a guess, and enough to lock them out: only clients
        // that may already see the server learn it.
        username: if p.role.is_some() {
            app.app.auth.username.clone()
        } else {
            String::new()
        },
        policy: PolicyView {
            min_length: a.policy.min_length,
            max_length: a.policy.max_length,
            require_digit: a.policy.require_digit,
            require_symbol: a.policy.require_symbol,
        },
        anonymous: a.anonymous.map(|r| r.as_str()),
    })
}

#[derive(Deserialize, ToSchema)]
pub struct LoginBody {
    pub username: String,
    pub password: String,
}

#[derive(Serialize, ToSchema)]
pub struct LoginAnswer {
    pub access_token: String,
    pub token_type: &'static str,
    /// Seconds (a year with `session_duration: unlimited`, where the Python version said
    /// null and its token never expired).
    pub expires_in: Option<u64>,
    pub username: String,
    /// Addition: the user's role.
    pub role: &'static str,
}

fn body<T>(b: Result<Json<T>, JsonRejection>) -> Result<T, ApiError> {
    b.map(|Json(v)| v)
        .map_err(|e| ApiError::BadRequest(e.body_text()))
}

fn signin_error(e: SignInError) -> ApiError {
    match e {
        SignInError::Invalid => ApiError::Unauthorized(e.to_string()),
        SignInError::RateLimited(wait) => ApiError::TooManyRequests(wait),
        SignInError::Disabled => ApiError::BadRequest(e.to_string()),
        SignInError::Busy => ApiError::NotReady("the server is busy checking other sign-ins"),
    }
}

#[utoipa::path(
    post,
    path = "/api/auth/login",
    operation_id = "authLogin",
    tag = "auth",
    summary = "Sign in for a bearer token",
    description = "The token is accepted as `Authorization: Bearer` on every route, by every replica sharing `auth.secret_key`. Failed attempts are limited per user name and per client address (429 with Retry-After). A wrong user and a wrong password get the same answer.",
    request_body(content = LoginBody),
    responses(
        (status = 200, description = "Signed in", body = LoginAnswer),
        (status = 400, description = "Authentication is disabled", body = ErrorBody),
        (status = 401, description = "Invalid credentials", body = ErrorBody),
        (status = 429, description = "Too many failed attempts", body = ErrorBody),
    )
)]
async fn login(
    State(st): State<AppState>,
    Extension(p): Extension<Principal>,
    headers: axum::http::HeaderMap,
    b: Result<Json<LoginBody>, JsonRejection>,
) -> Result<Json<LoginAnswer>, ApiError> {
    let b = body(b)?;
    let rid = request_id(&headers);
    let done = signin::sign_in(&st.auth, &b.username, &b.password, &p, &rid)
        .await
        .map_err(signin_error)?;
    let (user, claims) = (done.user, done.claims);
    Ok(Json(LoginAnswer {
        access_token: done.token,
        token_type: "bearer",
        expires_in: claims.exp.map(|e| e.saturating_sub(claims.iat)),
        username: user.name,
        role: user.role.as_str(),
    }))
}

pub fn request_id(h: &axum::http::HeaderMap) -> String {
    h.get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned()
}

#[derive(Serialize, ToSchema)]
pub struct Me {
    pub username: String,
    /// Addition: the role, and how the client proved who it is (`session`, `bearer`,
    /// `token`).
    pub role: &'static str,
    pub via: &'static str,
}

#[utoipa::path(
    get,
    path = "/api/auth/me",
    operation_id = "authMe",
    tag = "auth",
    summary = "Who the request is signed in as",
    responses(
        (status = 200, description = "The user or token", body = Me),
        (status = 401, description = "Not signed in", body = ErrorBody),
    )
)]
async fn me(Extension(p): Extension<Principal>) -> Result<Json<Me>, ApiError> {
    match (&p.name, p.role) {
        (Some(name), Some(role)) => Ok(Json(Me {
            username: name.clone(),
            role: role.as_str(),
            via: p.via.label(),
        })),
        _ => Err(ApiError::Unauthorized("Not authenticated".into())),
    }
}

#[derive(Deserialize, ToSchema)]
pub struct ChangePassword {
    pub current_password: String,
    pub new_password: String,
}

#[utoipa::path(
    post,
    path = "/api/auth/change-password",
    operation_id = "authChangePassword",
    tag = "auth",
    summary = "Change the signed-in user's password",
    description = "Writes a new Argon2id hash where the user is defined (users file or app.yaml), keeping the file's comments. Every session and login token of the user stops working, on every replica.",
    request_body(content = ChangePassword),
    responses(
        (status = 200, description = "Changed"),
        (status = 401, description = "Not signed in with a password, or the current password is wrong", body = ErrorBody),
        (status = 422, description = "The new password breaks the policy", body = ErrorBody),
    )
)]
async fn change_password(
    State(st): State<AppState>,
    Extension(p): Extension<Principal>,
    headers: axum::http::HeaderMap,
    b: Result<Json<ChangePassword>, JsonRejection>,
) -> Result<Response, ApiError> {
    let name = match (&p.name, p.signed_in()) {
        (Some(n), true) => n.clone(),
        _ => {
            return Err(ApiError::Unauthorized(
                "sign in with a password to change it".into(),
            ));
        }
    };
    let b = body(b)?;
    let rid = request_id(&headers);
    let refused = |outcome: &'static str| {
        st.auth
            .audit
            .event("password", outcome, &audit::Who::of(&p, &rid));
    };
    if let Err(e) = signin::check_password(&st.auth, &name, &b.current_password, p.addr).await {
        refused(e.label());
        return Err(signin_error(e));
    }
    let access = st.auth.access.load_full();
    // Hashing takes a core for tens of milliseconds: it queues with the sign-ins.
    let Ok(_permit) = st.auth.verifying.clone().acquire_owned().await else {
        return Err(ApiError::NotReady("the server is shutting down"));
    };
    let hash = match accounts::hash_new(&access, &b.new_password).await {
        Ok(h) => h,
        Err(e @ AccountError::Policy(_)) => {
            refused("policy");
            return Err(ApiError::Unprocessable(e.to_string()));
        }
        Err(e) => return Err(internal(e)),
    };
    let app_file = st.engine.config().app_file.clone();
    let (file, written) = (app_file.clone(), name.clone());
    tokio::task::spawn_blocking(move || accounts::set_password(&access, &file, &written, &hash))
        .await
        .map_err(|e| internal(e.to_string()))?
        .map_err(internal)?;
    // Read back at once, so that the old password stops working now rather than at the
    // next look at the files.
    let (auth, file) = (st.auth.clone(), app_file.clone());
    match tokio::task::spawn_blocking(move || reload::reload(&auth, &file)).await {
        Ok(Ok(())) => {}
        // The password is written; the poller takes it at its next look.
        failed => tracing::warn!(?failed, "the new password is written but not yet read back"),
    }
    st.auth
        .audit
        .event("password", "ok", &audit::Who::of(&p, &rid));
    Ok(Json(serde_json::json!({ "status": "ok" })).into_response())
}

/// A failure the client cannot fix: logged in full, answered in general.
fn internal(e: impl std::fmt::Display) -> ApiError {
    tracing::error!(error = %e, "a password change failed");
    ApiError::Internal("the password could not be changed; the server log says why".into())
}
