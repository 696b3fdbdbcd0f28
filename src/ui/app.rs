//! The application state with the pages in: the server knows nothing of pages, so the UI
//! loads its templates and hands its routes and its 404 page to `AppState::with_pages`.

use std::path::Path;
use std::sync::Arc;

use axum::extract::Request;
use axum::response::Response;
use rackscope_core::telemetry::Engine;

use super::{Ctx, Ui, UiError, chrome, pages};
use crate::server::{AppState, Pages};

/// The UI's routes and 404 page, for the server to mount.
pub const PAGES: Pages = Pages {
    routes: pages::routes,
    not_found,
};

fn not_found(st: &AppState, req: &Request) -> Response {
    let mut ctx = Ctx::of(req.headers(), req.uri());
    ctx.user = super::UserView::of(req.extensions().get());
    chrome::no_route(st, &ctx)
}

impl AppState {
    /// With the built-in templates.
    pub fn new(engine: Arc<Engine>) -> Result<AppState, UiError> {
        AppState::with_templates(engine, None)
    }

    /// With the templates of `dir` over the built-in ones (see `Ui::load`).
    pub fn with_templates(engine: Arc<Engine>, dir: Option<&Path>) -> Result<AppState, UiError> {
        Ok(AppState::with_pages(engine, Ui::load(dir)?, PAGES))
    }
}
