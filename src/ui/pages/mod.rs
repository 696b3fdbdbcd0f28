//! The pages, one module each: a view-model struct bound to its template (`Page`), a pure
//! function that builds it from the snapshot and the configuration, and a thin handler.

use axum::http::Method;
use axum::routing::get;

use crate::server::routes::{Need, Routes};

pub mod alerts;
pub mod ambiguous;
pub mod checks;
pub mod cluster;
pub mod device;
pub mod editors;
pub mod logs;
pub mod maintenances;
pub mod overview;
pub mod rack;
pub mod room;
pub mod search;
pub mod settings;
pub mod signin;
pub mod site;
pub mod slurm;
pub mod topo_form;
pub mod wallboard;

pub fn routes() -> Routes {
    Routes::new()
        .read("/", get(overview::handler))
        .read("/views/worldmap", get(overview::handler))
        .read("/views/site/{id}", get(site::handler))
        .read("/views/room/{id}", get(room::handler))
        .read("/views/rack/{id}", get(rack::handler))
        // The pages' topology forms write configuration files: administrators only.
        .route(
            "/views/site/{id}/edit",
            &[(Method::POST, Need::ADMIN)],
            axum::routing::post(site::submit),
        )
        .route(
            "/views/room/{id}/edit",
            &[(Method::POST, Need::ADMIN)],
            axum::routing::post(room::submit),
        )
        .route(
            "/views/rack/{id}/edit",
            &[(Method::POST, Need::ADMIN)],
            axum::routing::post(rack::submit),
        )
        .read("/views/device/{rack}/{device}", get(device::handler))
        // Named views are a display choice kept in a file: saving one is an operator's.
        .route(
            "/views/cluster",
            &[(Method::GET, Need::VIEWER), (Method::POST, Need::OPERATOR)],
            get(cluster::index).post(cluster::submit),
        )
        .read("/views/cluster/{id}", get(cluster::view))
        .read("/alerts", get(alerts::handler))
        .read("/alerts/feed", get(alerts::feed))
        // Windows hide or badge alerts: writing them is an operator's.
        .route(
            "/maintenances",
            &[(Method::GET, Need::VIEWER), (Method::POST, Need::OPERATOR)],
            get(maintenances::page).post(maintenances::submit),
        )
        .read("/notifications", get(alerts::handler))
        .route(
            "/checks",
            &[(Method::GET, Need::VIEWER), (Method::POST, Need::OPERATOR)],
            get(checks::handler)
                .post(checks::run)
                .layer(axum::extract::DefaultBodyLimit::max(
                    crate::server::live::TESTER_BODY_LIMIT,
                )),
        )
        // The editors write configuration files: administrators only, reading included
        // (the files may hold what viewers are not shown).
        .route(
            "/editors/settings",
            &[(Method::GET, Need::ADMIN), (Method::POST, Need::ADMIN)],
            get(settings::form).post(settings::submit),
        )
        .route(
            "/editors",
            &[(Method::GET, Need::ADMIN)],
            get(editors::index),
        )
        .route(
            "/editors/checks",
            &[(Method::GET, Need::ADMIN)],
            get(editors::checks_index),
        )
        .route(
            "/editors/{kind}/{*name}",
            &[(Method::GET, Need::ADMIN), (Method::POST, Need::ADMIN)],
            get(editors::open)
                .post(editors::submit)
                .layer(axum::extract::DefaultBodyLimit::max(
                    editors::EDITOR_BODY_LIMIT,
                )),
        )
        // Rackscope's own log: what it shows of requests and errors is for administrators.
        .route("/logs", &[(Method::GET, Need::ADMIN)], get(logs::handler))
        .read("/wallboard", get(wallboard::handler))
        .read("/playlist", get(wallboard::page))
        .read("/search", get(search::handler))
        .read("/slurm/overview", get(slurm::overview::handler))
        .read("/slurm/partitions", get(slurm::overview::handler))
        .read("/slurm/nodes", get(slurm::nodes::handler))
        .read("/slurm/alerts", get(slurm::nodes::alerts))
        .read("/slurm/wallboard", get(slurm::wallboard::handler))
        .read("/events", get(crate::ui::events::handler))
        .route(
            "/signin",
            &[(Method::GET, Need::Public), (Method::POST, Need::Public)],
            get(signin::form).post(signin::submit),
        )
        .route(
            "/signout",
            &[(Method::POST, Need::Public)],
            axum::routing::post(signin::signout),
        )
        .public("/theme/{name}", get(crate::ui::theme::handler))
        .public("/static/{file}", get(crate::ui::files::handler))
}
