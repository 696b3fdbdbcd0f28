//! The pages, one module each: a view-model struct bound to its template (`Page`), a pure
//! function that builds it from the snapshot and the configuration, and a thin handler.

use axum::Router;
use axum::routing::get;

use crate::server::AppState;

pub mod alerts;
pub mod checks;
pub mod device;
pub mod overview;
pub mod rack;
pub mod room;
pub mod search;
pub mod site;
pub mod wallboard;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(overview::handler))
        .route("/views/worldmap", get(overview::handler))
        .route("/views/site/{id}", get(site::handler))
        .route("/views/room/{id}", get(room::handler))
        .route("/views/rack/{id}", get(rack::handler))
        .route("/views/device/{rack}/{device}", get(device::handler))
        .route("/alerts", get(alerts::handler))
        .route("/notifications", get(alerts::handler))
        .route(
            "/checks",
            get(checks::handler)
                .post(checks::run)
                .layer(axum::extract::DefaultBodyLimit::max(
                    crate::server::live::TESTER_BODY_LIMIT,
                )),
        )
        .route("/wallboard", get(wallboard::handler))
        .route("/playlist", get(wallboard::handler))
        .route("/search", get(search::handler))
        .route("/events", get(crate::ui::events::handler))
        .route("/theme/{name}", get(crate::ui::theme::handler))
        .route("/static/{file}", get(crate::ui::files::handler))
}
