//! `/slurm/wallboard?room=`: a room's floor plan with each rack coloured by the worst Slurm
//! severity of its nodes (INFO and OK alike green), with its CRIT and WARN Slurm nodes
//! counted, for a wall screen beside the hardware one.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::{Deserialize, Serialize};

use rackscope_core::Severity;
use rackscope_core::slurm::Level;
use rackscope_core::telemetry::Snapshot;
use rackscope_core::topology::{RackIx, RoomIx, Topology};

use crate::server::AppState;
use crate::ui::chrome::{Above, Link, chrome, crumbs, world};
use crate::ui::draw::{self, St};
use crate::ui::urls::{enc, rack_url};
use crate::ui::{Ctx, Page, html};

#[derive(Debug, Serialize)]
pub struct SlurmWallboardPage {
    pub off: Option<&'static str>,
    pub error: Option<String>,
    pub name: String,
    pub room: String,
    pub rooms: Vec<Link>,
    pub plan: Option<draw::FloorPlan>,
}

impl Page for SlurmWallboardPage {
    const TEMPLATE: &'static str = "slurm-wallboard.html";
}

#[derive(Deserialize, Default)]
pub struct WallboardQuery {
    #[serde(default)]
    pub room: String,
}

/// The hardware colour a Slurm severity is drawn in.
fn colour(l: Level) -> Severity {
    match l {
        Level::Info | Level::Ok => Severity::Ok,
        Level::Unknown => Severity::Unknown,
        Level::Warn => Severity::Warn,
        Level::Crit => Severity::Crit,
    }
}

/// A rack as the Slurm wallboard draws it: its nodes' worst Slurm severity (none when
/// Slurm reports none of them) and the counts of CRIT and WARN ones.
fn rack_in(topo: &Topology, snap: Option<&Snapshot>, x: RackIx) -> draw::RackIn {
    let rk = &topo.racks[x];
    let levels: Vec<Level> = snap
        .and_then(|s| s.slurm.as_ref())
        .map(|state| {
            rk.devices
                .iter()
                .flat_map(|&d| {
                    let r = &topo.devices[d].instances;
                    r.start.get()..r.end.get()
                })
                .filter_map(|i| {
                    state
                        .view
                        .nodes
                        .get(&rackscope_core::topology::InstanceIx::new(i))
                        .map(|n| n.level)
                })
                .collect()
        })
        .unwrap_or_default();
    draw::RackIn {
        id: rk.id.clone(),
        name: rk.name.clone(),
        url: rack_url(topo, x),
        st: St::of(levels.iter().max().map(|&l| colour(l))),
        crit: levels.iter().filter(|&&l| l == Level::Crit).count(),
        warn: levels.iter().filter(|&&l| l == Level::Warn).count(),
        maint: None,
    }
}

fn plan(topo: &Topology, snap: Option<&Snapshot>, ri: RoomIx) -> draw::FloorPlan {
    let room = &topo.rooms[ri];
    let mut rows: Vec<draw::RowIn> = room
        .aisles
        .iter()
        .map(|&a| draw::RowIn {
            label: topo.aisles[a].name.clone(),
            racks: topo.aisles[a]
                .racks
                .iter()
                .map(|&x| rack_in(topo, snap, x))
                .collect(),
        })
        .collect();
    if !room.standalone_racks.is_empty() {
        rows.push(draw::RowIn {
            label: "Standalone racks".into(),
            racks: room
                .standalone_racks
                .iter()
                .map(|&x| rack_in(topo, snap, x))
                .collect(),
        });
    }
    draw::floor_plan(&room.layout.clone().unwrap_or_default(), rows)
}

pub async fn handler(
    State(st): State<AppState>,
    ctx: Ctx,
    Query(q): Query<WallboardQuery>,
) -> Response {
    let (snap, config) = world(&st);
    let snap = snap.as_deref();
    let topo = &config.topology;
    let ri = if q.room.is_empty() {
        topo.rooms.ixs().next()
    } else {
        topo.find_room(&q.room).one()
    };
    let page = SlurmWallboardPage {
        off: config.slurm.is_none().then_some(super::OFF),
        error: rackscope_core::read::slurm::slurm_error(snap),
        name: ri.map_or_else(String::new, |r| topo.rooms[r].name.clone()),
        room: ri.map_or_else(String::new, |r| topo.room_key(r).into_owned()),
        rooms: topo
            .rooms
            .iter_ix()
            .map(|(r, room)| Link {
                name: room.name.clone(),
                url: format!("/slurm/wallboard?room={}", enc(&topo.room_key(r))),
            })
            .collect(),
        plan: ri
            .filter(|_| config.slurm.is_some())
            .map(|r| plan(topo, snap, r)),
    };
    let crumbs = crumbs(topo, Above::Overview);
    let title = format!("Slurm · {}", page.name);
    let c = chrome(&st, &ctx, &config, snap, &title, "slurm", crumbs);
    let status = if ri.is_none() && !q.room.is_empty() {
        StatusCode::NOT_FOUND
    } else {
        StatusCode::OK
    };
    html(&st, &ctx, status, &c, &page)
}
