//! The NOC wallboard: `/wallboard` starts the configured playlist in kiosk mode, and
//! `/playlist` shows it and lets a browser build its own (kept in that browser's storage,
//! played by the page's script with the same controls).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use rackscope_core::Config;
use serde::Serialize;

use crate::server::AppState;
use crate::ui::chrome::{chrome, playlist, playlist_timed, world};
use crate::ui::urls::room_url;
use crate::ui::{Ctx, Page, html};

/// The NOC wallboard: the first playlist view in kiosk mode; each view moves on to the
/// next after `playlist.interval_seconds` (a meta refresh, so it runs without JavaScript).
pub async fn handler(State(st): State<AppState>) -> Response {
    let config = st.engine.config();
    let views = playlist(&config);
    let first = views.first().map_or("/", String::as_str);
    let sep = if first.contains('?') { '&' } else { '?' };
    Redirect::to(&format!("{first}{sep}kiosk=1&pl=0")).into_response()
}

/// The most views the builder offers: a topology of thousands of rooms lists its first.
const MAX_CANDIDATES: usize = 400;

#[derive(Debug, Serialize)]
pub struct PlaylistPage {
    /// The playlist of app.yaml (or the default one), with each view's seconds.
    pub configured: Vec<Entry>,
    /// What a browser's own playlist can show, grouped.
    pub groups: Vec<Group>,
    pub seconds: u32,
}

#[derive(Debug, Serialize)]
pub struct Entry {
    pub url: String,
    pub seconds: u32,
}

#[derive(Debug, Serialize)]
pub struct Group {
    pub name: &'static str,
    pub views: Vec<Candidate>,
}

#[derive(Debug, Serialize)]
pub struct Candidate {
    pub url: String,
    pub label: String,
}

impl Page for PlaylistPage {
    const TEMPLATE: &'static str = "playlist.html";
}

/// The playlist page's data; public for the render benchmark.
pub fn build(config: &Config) -> PlaylistPage {
    let topo = &config.topology;
    let c = |url: &str, label: &str| Candidate {
        url: url.to_owned(),
        label: label.to_owned(),
    };
    let mut groups = vec![Group {
        name: "Pages",
        views: vec![
            c("/", "Overview"),
            c("/views/worldmap", "World map"),
            c("/alerts", "Alerts"),
            c("/alerts?severity=CRIT", "CRIT alerts"),
        ],
    }];
    if config.slurm.is_some() {
        groups[0].views.extend([
            c("/slurm/overview", "Slurm overview"),
            c("/slurm/wallboard", "Slurm wallboard"),
        ]);
    }
    groups.push(Group {
        name: "Rooms",
        views: topo
            .rooms
            .iter_ix()
            .take(MAX_CANDIDATES)
            .map(|(r, room)| Candidate {
                url: room_url(topo, r),
                label: format!("{} › {}", topo.sites[room.site].name, room.name),
            })
            .collect(),
    });
    let (views, _) = crate::cluster_views::current(config);
    if !views.cluster.is_empty() {
        groups.push(Group {
            name: "Cluster views",
            views: views
                .cluster
                .iter()
                .map(|v| Candidate {
                    url: format!("/views/cluster/{}", crate::ui::urls::enc(&v.def.id)),
                    label: v.name().to_owned(),
                })
                .collect(),
        });
    }
    PlaylistPage {
        configured: playlist_timed(config)
            .into_iter()
            .map(|(url, seconds)| Entry { url, seconds })
            .collect(),
        groups,
        seconds: config.app.playlist.interval_seconds.max(5),
    }
}

/// `/playlist`: the configured playlist, and the builder of this browser's own.
pub async fn page(State(st): State<AppState>, ctx: Ctx) -> Response {
    let (snap, config) = world(&st);
    let page = build(&config);
    let c = chrome(
        &st,
        &ctx,
        &config,
        snap.as_deref(),
        "Playlist",
        "",
        Vec::new(),
    );
    html(&st, &ctx, StatusCode::OK, &c, &page)
}
