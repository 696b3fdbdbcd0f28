//! The disambiguation page: a room, rack or device URL whose short id several objects
//! carry lists every candidate, where it stands and its state, each linked by its qualified
//! path; the page never opens one of them on its own.

use axum::http::StatusCode;
use axum::response::Response;
use rackscope_core::Config;
use rackscope_core::telemetry::Snapshot;
use serde::Serialize;

use crate::resolve::{Candidate, Ix, Unresolved};
use crate::server::AppState;
use crate::ui::chrome::{Above, chrome, crumbs, not_found};
use crate::ui::draw::St;
use crate::ui::urls::{device_url, rack_url, room_url};
use crate::ui::{Ctx, Page, html};

#[derive(Debug, Serialize)]
pub struct Choice {
    pub name: String,
    pub location: String,
    pub path: String,
    pub url: String,
    pub st: St,
}

#[derive(Debug, Serialize)]
pub struct AmbiguousPage {
    pub kind: &'static str,
    pub key: String,
    pub choices: Vec<Choice>,
}

impl Page for AmbiguousPage {
    const TEMPLATE: &'static str = "ambiguous.html";
}

fn choice(config: &Config, snap: Option<&Snapshot>, c: Candidate) -> Choice {
    let topo = &config.topology;
    let h = snap.map(|s| &*s.health);
    let (url, state) = match c.ix {
        Ix::Room(r) => (
            room_url(topo, r),
            h.and_then(|h| h.rooms.get(r.index()).copied().flatten()),
        ),
        Ix::Rack(x) => (
            rack_url(topo, x),
            h.and_then(|h| h.racks.get(x.index()).and_then(|t| t.state)),
        ),
        Ix::Device(d) => (
            device_url(topo, d),
            h.and_then(|h| h.devices.get(d.index()).and_then(|t| t.state)),
        ),
        Ix::None => (String::new(), None),
    };
    Choice {
        name: c.name,
        location: c.location,
        path: c.path,
        url,
        st: St::of(state),
    }
}

/// The answer to a room, rack or device URL that does not name one object: the 404 page,
/// or the candidates (300 Multiple Choices).
pub fn unresolved(
    st: &AppState,
    ctx: &Ctx,
    config: &Config,
    snap: Option<&Snapshot>,
    err: Unresolved,
) -> Response {
    match err {
        Unresolved::Missing { kind, key } => not_found(st, ctx, config, snap, kind, &key),
        Unresolved::Ambiguous {
            kind,
            key,
            candidates,
        } => {
            let page = AmbiguousPage {
                kind,
                choices: candidates
                    .into_iter()
                    .map(|c| choice(config, snap, c))
                    .collect(),
                key,
            };
            let title = format!("Which {kind} {}?", page.key);
            let crumbs = crumbs(&config.topology, Above::Overview);
            let c = chrome(st, ctx, config, snap, &title, "", crumbs);
            html(st, ctx, StatusCode::MULTIPLE_CHOICES, &c, &page)
        }
    }
}
