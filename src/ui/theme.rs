//! `/theme/{name}`: the theme cookie, set by a plain link.

use axum::extract::{Path, Query};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::THEMES;

#[derive(Deserialize)]
pub struct ThemeQuery {
    pub back: Option<String>,
}

/// Sets the theme cookie and goes back; a link, so that it works without JavaScript.
pub async fn handler(Path(name): Path<String>, Query(q): Query<ThemeQuery>) -> Response {
    let back = q
        .back
        .filter(|b| crate::server::guard::same_site_path(b))
        .unwrap_or_else(|| "/".into());
    let Some(t) = THEMES.iter().find(|t| **t == name) else {
        return Redirect::to(&back).into_response();
    };
    let mut r = Redirect::to(&back).into_response();
    if let Ok(v) = HeaderValue::from_str(&format!(
        "{}={t}; Path=/; Max-Age=31536000; SameSite=Lax",
        super::THEME_COOKIE
    )) {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    r
}
