//! `/slurm/wallboard?room=`: a room's floor plan with each rack coloured by the worst Slurm
//! severity of its nodes (INFO and OK alike green), with its CRIT and WARN Slurm nodes
//! counted, and the front elevation of each rack with every node in its Slurm severity, for
//! a wall screen beside the hardware one.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::{Deserialize, Serialize};

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
    pub racks: Vec<RackFront>,
    /// Racks of the room left out past `MAX_RACKS`.
    pub more: usize,
}

/// A rack's front elevation in Slurm colours.
#[derive(Debug, Serialize)]
pub struct RackFront {
    pub name: String,
    pub url: String,
    pub st: St,
    pub elevation: draw::Elevation,
}

/// The most elevations one wallboard draws: a hall of racks past this is a floor plan.
const MAX_RACKS: usize = 120;

impl Page for SlurmWallboardPage {
    const TEMPLATE: &'static str = "slurm-wallboard.html";
}

#[derive(Deserialize, Default)]
pub struct WallboardQuery {
    #[serde(default)]
    pub room: String,
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
        sev: levels.iter().max().map(|&l| l.severity()),
        st: St::of(levels.iter().max().map(|&l| l.severity())),
        crit: levels.iter().filter(|&&l| l == Level::Crit).count(),
        warn: levels.iter().filter(|&&l| l == Level::Warn).count(),
        maint: None,
        nodes: Vec::new(),
        heat: None,
        hud: draw::Hud::default(),
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
    draw::floor_plan(
        &room.layout.clone().unwrap_or_default(),
        rows,
        draw::Style::State,
    )
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
    let room_racks: Vec<RackIx> = match ri.filter(|_| config.slurm.is_some()) {
        Some(r) => topo.room_racks(r).collect(),
        None => Vec::new(),
    };
    let racks = room_racks
        .iter()
        .take(MAX_RACKS)
        .map(|&x| {
            let mut elevation = crate::ui::pages::rack::elevation::elevation(
                snap,
                &config,
                x,
                rackscope_core::model::topology::Face::Front,
                None,
                None,
                crate::ui::pages::rack::elevation::Shade::Slurm,
            );
            for d in &mut elevation.devices {
                d.anchor = None;
            }
            let r = rack_in(topo, snap, x);
            RackFront {
                name: r.name,
                url: r.url,
                st: r.st,
                elevation,
            }
        })
        .collect();
    let page = SlurmWallboardPage {
        racks,
        more: room_racks.len().saturating_sub(MAX_RACKS),
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
