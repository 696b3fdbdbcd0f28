//! The web UI: pages rendered on the server with Tera from one view-model struct each,
//! SVG drawn on the server, and one small hand-written script for live updates. Each page
//! (`pages/<page>.rs`) builds its view model from the core's read models, bound to its
//! template by `Page`; `draw` computes the SVG; templates (`templates/`, loaded by
//! `render`) only render. The UI depends on the server (its state, `live` for the queries a
//! page sends), never the reverse: `app.rs` hands the pages to `AppState::with_pages`.
//!
//! Live updates: `/events` pushes the snapshot sequence number (server-sent events); the
//! script then fetches the same URL with `X-Rackscope-Fragment: main` and swaps `<main>`.
//! Without JavaScript a `<noscript>` refresh reloads the page.

use std::collections::HashMap;

use axum::extract::{FromRequestParts, Query};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{Html, IntoResponse, Response};
use serde::Serialize;

use crate::server::AppState;

pub mod app;
pub mod chrome;
pub mod draw;
pub mod events;
pub mod files;
pub mod maint;
pub mod pages;
pub mod rows;
pub mod theme;
pub mod urls;
pub mod world;

pub use crate::render::{Asset, Ui, UiError};
pub use pages::routes;

pub const THEMES: [&str; 3] = ["dark", "light", "matrix"];
const THEME_COOKIE: &str = "rackscope_theme";
const FRAGMENT_HEADER: &str = "x-rackscope-fragment";

/// What every page needs to know about its request.
#[derive(Debug, Clone)]
pub struct Ctx {
    pub theme: &'static str,
    /// The position in the NOC playlist, when the page is shown on the wallboard.
    pub playlist: Option<usize>,
    /// Only `<main>` is wanted (a live update).
    pub fragment: bool,
    pub request_id: String,
    /// Path and query, for links back to this page.
    pub here: String,
    /// Who is asking, as the gate found it.
    pub user: UserView,
}

/// Who the page is shown to: the user menu and the actions the role allows.
#[derive(Debug, Clone, Default, Serialize)]
pub struct UserView {
    pub name: Option<String>,
    pub role: Option<&'static str>,
    /// Signed in with a password (so the page offers sign-out).
    pub signed_in: bool,
    /// The value forms send back as `csrf`.
    pub csrf: String,
    /// May run the query tester (operator and up).
    pub operator: bool,
    pub admin: bool,
}

impl UserView {
    pub fn of(p: Option<&crate::server::auth::Principal>) -> UserView {
        use rackscope_core::model::users::Role;
        let Some(p) = p else {
            return UserView::default();
        };
        UserView {
            name: p.name.clone(),
            role: p.role.map(|r| r.as_str()),
            signed_in: p.signed_in(),
            csrf: p.csrf.clone(),
            operator: p.allows(Role::Operator),
            admin: p.allows(Role::Admin),
        }
    }
}

impl FromRequestParts<AppState> for Ctx {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &AppState) -> Result<Ctx, Self::Rejection> {
        let mut ctx = Ctx::of(&parts.headers, &parts.uri);
        ctx.user = UserView::of(parts.extensions.get());
        Ok(ctx)
    }
}

impl Ctx {
    /// What a request with these headers and this URI asks of its page.
    pub fn of(h: &HeaderMap, uri: &Uri) -> Ctx {
        let theme = h
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|kv| kv.trim().strip_prefix(THEME_COOKIE)?.strip_prefix('='))
            .find_map(|v| THEMES.iter().find(|t| **t == v).copied())
            .unwrap_or(THEMES[0]);
        let query: HashMap<String, String> = Query::try_from_uri(uri)
            .map(|Query(q)| q)
            .unwrap_or_default();
        let playlist = query
            .get("kiosk")
            .filter(|v| *v != "0")
            .map(|_| query.get("pl").and_then(|p| p.parse().ok()).unwrap_or(0));
        Ctx {
            theme,
            playlist,
            fragment: h.contains_key(FRAGMENT_HEADER),
            request_id: h
                .get("x-request-id")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_owned(),
            here: uri
                .path_and_query()
                .map_or_else(|| "/".to_owned(), |p| p.as_str().to_owned()),
            user: UserView::default(),
        }
    }
}

/// A page's view model, bound to the template that renders it.
pub trait Page: Serialize {
    /// The template's name under `templates/`.
    const TEMPLATE: &'static str;
}

/// A page's HTML, or the error page when rendering failed.
pub fn html<P: Page>(
    st: &AppState,
    ctx: &Ctx,
    status: StatusCode,
    chrome: &chrome::Chrome,
    page: &P,
) -> Response {
    let template = P::TEMPLATE;
    match st
        .ui
        .render(template, chrome, page, ctx.fragment.then_some(chrome.seq))
    {
        Ok(body) => {
            let mut r = (status, Html(body)).into_response();
            // Pages show live state: a cached copy would be a lie.
            let h = r.headers_mut();
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            // The fragment shares the page's URL: caches must keep them apart.
            h.insert(
                header::VARY,
                HeaderValue::from_static("x-rackscope-fragment"),
            );
            r
        }
        Err(e) => {
            tracing::error!(template, error = %e, request_id = %ctx.request_id, "Page rendering failed.");
            let err = PageError::Internal(format!("the page `{template}` could not be rendered"));
            error_page(st, ctx, chrome, &err)
        }
    }
}

/// Why a page cannot be shown.
#[derive(Debug, Clone, thiserror::Error)]
pub enum PageError {
    #[error("{kind} `{id}` not found")]
    NotFound { kind: &'static str, id: String },
    #[error("no page at {0}")]
    NoRoute(String),
    #[error("{0}")]
    Internal(String),
    #[error("{0}")]
    Forbidden(String),
}

impl PageError {
    pub fn status(&self) -> StatusCode {
        match self {
            PageError::NotFound { .. } | PageError::NoRoute(_) => StatusCode::NOT_FOUND,
            PageError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            PageError::Forbidden(_) => StatusCode::FORBIDDEN,
        }
    }
}

#[derive(Serialize)]
struct ErrorPage<'a> {
    status: u16,
    title: &'static str,
    message: String,
    request_id: &'a str,
}

impl Page for ErrorPage<'_> {
    const TEMPLATE: &'static str = "error.html";
}

/// The error page; if even that cannot be rendered, plain text, never a loop.
pub fn error_page(st: &AppState, ctx: &Ctx, chrome: &chrome::Chrome, err: &PageError) -> Response {
    let status = err.status();
    let page = ErrorPage {
        status: status.as_u16(),
        title: match err {
            PageError::Internal(_) => "Something broke on our side",
            PageError::Forbidden(_) => "Not allowed",
            _ => "Not found",
        },
        message: err.to_string(),
        request_id: &ctx.request_id,
    };
    let chrome = chrome.titled(page.title);
    match st.ui.render(
        ErrorPage::TEMPLATE,
        &chrome,
        &page,
        ctx.fragment.then_some(chrome.seq),
    ) {
        Ok(body) => (status, Html(body)).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "The error page could not be rendered.");
            (
                status,
                format!("{}\nrequest id: {}\n", page.message, ctx.request_id),
            )
                .into_response()
        }
    }
}
