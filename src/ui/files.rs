//! `/static/{file}`: the CSS, the script and the icons, cached for long (their URLs carry
//! the version).

use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

use super::Ctx;
use super::chrome::no_route;
use crate::server::AppState;

pub async fn handler(State(st): State<AppState>, ctx: Ctx, Path(file): Path<String>) -> Response {
    match st.ui.asset(&file) {
        Some(a) => (
            [
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static(a.content_type),
                ),
                // URLs carry the version, so a changed file has a new URL.
                (
                    header::CACHE_CONTROL,
                    HeaderValue::from_static("public, max-age=86400"),
                ),
            ],
            a.bytes.clone(),
        )
            .into_response(),
        None => no_route(&st, &ctx),
    }
}
