//! The sign-in page (a plain form: no script needed), its submission, and sign-out. The
//! session is a signed cookie (`server::auth::cookie`); the gate checks the form's CSRF
//! token before these handlers run.

use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::{Deserialize, Serialize};

use crate::server::AppState;
use crate::server::auth::signin::{self, SignInError};
use crate::server::auth::{Principal, audit, cookie};
use crate::server::guard::same_site_path;
use crate::ui::chrome::{chrome, world};
use crate::ui::{Ctx, Page, html};

#[derive(Debug, Serialize)]
pub struct SignInPage {
    /// Sign-in is enabled at all.
    pub enabled: bool,
    pub username: String,
    pub next: String,
    pub error: Option<String>,
}

impl Page for SignInPage {
    const TEMPLATE: &'static str = "signin.html";
}

#[derive(Deserialize)]
pub struct Next {
    #[serde(default)]
    pub next: String,
}

/// Where to go after signing in: a path on this site, else the overview.
fn next_or_home(next: &str) -> String {
    if same_site_path(next) && !next.starts_with("/signin") {
        next.to_owned()
    } else {
        "/".to_owned()
    }
}

fn page(st: &AppState, ctx: &Ctx, status: StatusCode, page: &SignInPage) -> Response {
    let (snap, config) = world(st);
    let c = chrome(
        st,
        ctx,
        &config,
        snap.as_deref(),
        "Sign in",
        "signin",
        Vec::new(),
    );
    let mut r = html(st, ctx, status, &c, page);
    // The sign-in page must not be framed or cached.
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

pub async fn form(State(st): State<AppState>, ctx: Ctx, Query(q): Query<Next>) -> Response {
    let enabled = st.auth.access.load().enabled;
    page(
        &st,
        &ctx,
        StatusCode::OK,
        &SignInPage {
            enabled,
            username: String::new(),
            next: next_or_home(&q.next),
            error: None,
        },
    )
}

#[derive(Deserialize)]
pub struct SignInForm {
    #[serde(default)]
    pub username: String,
    #[serde(default)]
    pub password: String,
    #[serde(default)]
    pub next: String,
}

pub async fn submit(
    State(st): State<AppState>,
    ctx: Ctx,
    axum::Extension(p): axum::Extension<Principal>,
    headers: HeaderMap,
    axum::Form(f): axum::Form<SignInForm>,
) -> Response {
    let rid = crate::server::auth::api::request_id(&headers);
    let next = next_or_home(&f.next);
    match signin::sign_in(&st.auth, &f.username, &f.password, &p, &rid).await {
        Ok(done) => {
            let mut r = Redirect::to(&next).into_response();
            let h = r.headers_mut();
            h.extend(
                cookie::set(
                    cookie::SESSION,
                    &done.token,
                    Some(done.seconds),
                    false,
                    p.secure,
                )
                .map(|v| (header::SET_COOKIE, v)),
            );
            r
        }
        Err(e) => {
            let (status, msg) = match &e {
                SignInError::Invalid => (
                    StatusCode::UNAUTHORIZED,
                    "Wrong user name or password.".to_owned(),
                ),
                SignInError::RateLimited(_) => (StatusCode::TOO_MANY_REQUESTS, e.to_string()),
                SignInError::Disabled => (StatusCode::BAD_REQUEST, e.to_string()),
                SignInError::Busy => (StatusCode::SERVICE_UNAVAILABLE, e.to_string()),
            };
            page(
                &st,
                &ctx,
                status,
                &SignInPage {
                    enabled: !matches!(e, SignInError::Disabled),
                    username: f.username,
                    next,
                    error: Some(msg),
                },
            )
        }
    }
}

/// Ends this browser's session. The session is a signed cookie, so the server has nothing
/// to forget; removing the cookie is the sign-out (a copy taken before still works until it
/// expires or the password changes, which docs/auth.md says).
pub async fn signout(
    State(st): State<AppState>,
    axum::Extension(p): axum::Extension<Principal>,
    headers: HeaderMap,
) -> Response {
    let rid = crate::server::auth::api::request_id(&headers);
    st.auth
        .audit
        .event("signout", "ok", &audit::Who::of(&p, &rid));
    let mut r = Redirect::to("/signin").into_response();
    r.headers_mut()
        .extend(cookie::clear(cookie::SESSION, p.secure).map(|v| (header::SET_COOKIE, v)));
    r
}
