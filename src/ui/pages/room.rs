//! A room: its floor plan and its alerts.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use rackscope_core::Config;
use rackscope_core::read::{located_alerts_where, rack_summary};
use rackscope_core::telemetry::Snapshot;
use rackscope_core::topology::{RackIx, RoomIx};
use serde::Serialize;

use crate::server::AppState;
use crate::ui::chrome::{Above, chrome, crumbs, level, not_found, world};
use crate::ui::draw::{self, St};
use crate::ui::rows::{AlertRow, alert_row};
use crate::ui::urls::{enc, rack_url};
use crate::ui::{Ctx, Page, html};

#[derive(Debug, Serialize)]
pub struct RoomPage {
    pub id: String,
    pub name: String,
    pub st: St,
    pub plan: draw::FloorPlan,
    pub alerts: Vec<AlertRow>,
    pub alerts_total: usize,
    pub alerts_url: String,
}

impl Page for RoomPage {
    const TEMPLATE: &'static str = "room.html";
}

const PAGE_ALERTS: usize = 50;

pub async fn handler(State(st): State<AppState>, ctx: Ctx, Path(id): Path<String>) -> Response {
    let (snap, config) = world(&st);
    let snap = snap.as_deref();
    let topo = &config.topology;
    let Some(ri) = topo.room_ix(&id) else {
        return not_found(&st, &ctx, &config, snap, "room", &id);
    };
    let page = build(snap, &config, ri);
    let crumbs = crumbs(topo, Above::Site(topo.rooms[ri].site));
    let c = chrome(&st, &ctx, &config, snap, &page.name, "", crumbs);
    html(&st, &ctx, StatusCode::OK, &c, &page)
}

/// The room page's data; public for the render benchmark.
pub fn build(snap: Option<&Snapshot>, config: &Config, ri: RoomIx) -> RoomPage {
    let topo = &config.topology;
    let room = &topo.rooms[ri];
    let rack_in = |x: RackIx| {
        let rk = &topo.racks[x];
        let (st, crit, warn) = match snap {
            Some(s) => {
                let sum = rack_summary(s, x);
                (
                    St::of(s.health.racks[x.index()].state),
                    sum.node_crit,
                    sum.node_warn,
                )
            }
            None => (St::of(None), 0, 0),
        };
        draw::RackIn {
            id: rk.id.clone(),
            name: rk.name.clone(),
            url: rack_url(&rk.id),
            st,
            crit,
            warn,
        }
    };
    let mut rows: Vec<draw::RowIn> = room
        .aisles
        .iter()
        .map(|&a| {
            let aisle = &topo.aisles[a];
            draw::RowIn {
                label: aisle.name.clone(),
                racks: aisle.racks.iter().map(|&x| rack_in(x)).collect(),
            }
        })
        .collect();
    if !room.standalone_racks.is_empty() {
        rows.push(draw::RowIn {
            label: "Standalone racks".into(),
            racks: room.standalone_racks.iter().map(|&x| rack_in(x)).collect(),
        });
    }
    let layout = room.layout.clone().unwrap_or_default();
    let all: Vec<AlertRow> = snap
        .map(|s| {
            located_alerts_where(s, |x| topo.racks[x].room == ri)
                .iter()
                .map(alert_row)
                .collect()
        })
        .unwrap_or_default();
    RoomPage {
        id: room.id.clone(),
        name: room.name.clone(),
        st: St::of(level(snap.map(|s| &s.health.rooms), ri.get()).flatten()),
        plan: draw::floor_plan(&layout, rows),
        alerts_url: format!("/alerts?room={}", enc(&room.id)),
        alerts_total: all.len(),
        alerts: all.into_iter().take(PAGE_ALERTS).collect(),
    }
}
