//! A site: its rooms, each with a mini map of its racks.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use rackscope_core::Config;
use rackscope_core::Severity;
use rackscope_core::telemetry::Snapshot;
use rackscope_core::topology::{RackIx, SiteIx};
use serde::Serialize;

use crate::server::AppState;
use crate::ui::chrome::{Above, chrome, crumbs, level, not_found, world};
use crate::ui::draw::St;
use crate::ui::urls::{rack_url, room_url};
use crate::ui::{Ctx, Page, html};

#[derive(Debug, Serialize)]
pub struct Mini {
    pub url: String,
    pub title: String,
    pub st: St,
}

#[derive(Debug, Serialize)]
pub struct RoomCard {
    pub name: String,
    pub url: String,
    pub st: St,
    pub racks: Vec<Mini>,
    pub crit: usize,
    pub warn: usize,
}

#[derive(Debug, Serialize)]
pub struct SitePage {
    pub id: String,
    pub name: String,
    pub st: St,
    pub location: String,
    pub description: String,
    pub rooms: Vec<RoomCard>,
}

impl Page for SitePage {
    const TEMPLATE: &'static str = "site.html";
}

pub async fn handler(State(st): State<AppState>, ctx: Ctx, Path(id): Path<String>) -> Response {
    let (snap, config) = world(&st);
    let snap = snap.as_deref();
    let topo = &config.topology;
    let Some(si) = topo.site_ix(&id) else {
        return not_found(&st, &ctx, &config, snap, "site", &id);
    };
    let page = build(snap, &config, si);
    let crumbs = crumbs(&config.topology, Above::Overview);
    let c = chrome(&st, &ctx, &config, snap, &page.name, "", crumbs);
    html(&st, &ctx, StatusCode::OK, &c, &page)
}

pub fn build(snap: Option<&Snapshot>, config: &Config, si: SiteIx) -> SitePage {
    let topo = &config.topology;
    let s = &topo.sites[si];
    let rack_st = |r: RackIx| St::of(snap.and_then(|s| s.health.racks[r.index()].state));
    let rooms = s
        .rooms
        .iter()
        .map(|&r| {
            let room = &topo.rooms[r];
            let racks: Vec<Mini> = topo
                .room_racks(r)
                .map(|x| {
                    let rk = &topo.racks[x];
                    let st = rack_st(x);
                    Mini {
                        url: rack_url(&rk.id),
                        title: format!("{} — {}", rk.name, st.label),
                        st,
                    }
                })
                .collect();
            RoomCard {
                name: room.name.clone(),
                url: room_url(&room.id),
                st: St::of(level(snap.map(|s| &s.health.rooms), r.get()).flatten()),
                crit: racks
                    .iter()
                    .filter(|m| m.st == St::of(Some(Severity::Crit)))
                    .count(),
                warn: racks
                    .iter()
                    .filter(|m| m.st == St::of(Some(Severity::Warn)))
                    .count(),
                racks,
            }
        })
        .collect();
    SitePage {
        id: s.id.clone(),
        name: s.name.clone(),
        st: St::of(level(snap.map(|s| &s.health.sites), si.get()).flatten()),
        location: s.location.as_ref().map_or_else(String::new, |l| {
            let mut t = format!("{:.4}, {:.4}", l.lat, l.lon);
            if let Some(a) = &l.address {
                t = format!("{a} ({t})");
            }
            t
        }),
        description: s.description.clone().unwrap_or_default(),
        rooms,
    }
}
