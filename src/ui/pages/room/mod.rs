//! A room: its floor plan (drawn as the browser prefers, `plan`) and its alerts, and for
//! administrators the "Edit room" forms (add a rack to an aisle or as a standalone rack,
//! remove a rack, add an aisle).

mod hud;
pub mod plan;

use axum::extract::{Path, Query, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use rackscope_core::Config;
use rackscope_core::read::rack_summary;
use rackscope_core::telemetry::Snapshot;
use rackscope_core::topology::{RackIx, RoomIx};
use serde::Serialize;

use crate::server::AppState;
use crate::topology_edit::Op;
use crate::ui::chrome::{Above, Link, chrome, crumbs, level, world};
use crate::ui::draw::{self, St};
use crate::ui::pages::topo_form::{self, Feedback, Shown, TopoForm, need, save, some};
use crate::ui::rows::{AlertRow, alert_row};
use crate::ui::urls::{enc, rack_url};
use crate::ui::{Ctx, Page, html};

#[derive(Debug, Serialize)]
pub struct RoomPage {
    pub id: String,
    pub name: String,
    pub st: St,
    pub plan: draw::FloorPlan,
    pub controls: plan::Controls,
    /// The heat style's scale, and why it has no values when Prometheus did not answer.
    pub legend: Option<HeatLegend>,
    pub alerts: Vec<AlertRow>,
    pub alerts_total: usize,
    pub alerts_url: String,
    /// The window the whole room is in, if any.
    pub maint: Option<crate::ui::maint::Maint>,
    pub start_maint: Option<crate::ui::maint::StartMaint>,
    /// The "Edit room" forms, for administrators on a server that allows editing.
    pub edit: Option<RoomEdit>,
}

/// The heat style's colour scale.
#[derive(Debug, Serialize)]
pub struct HeatLegend {
    pub what: &'static str,
    pub lo: String,
    pub hi: String,
    /// The scale's colours (`draw::heat_fill`), as SVG gradient stops: the page's policy
    /// allows no inline style.
    pub stops: Vec<Stop>,
    pub racks: usize,
    pub error: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Stop {
    pub offset: f64,
    pub color: String,
}

#[derive(Debug, Serialize)]
pub struct RoomEdit {
    pub action: String,
    /// Where a new rack can go: each aisle, then the room itself for a standalone rack
    /// (`name` is the id sent, `url` the label).
    pub places: Vec<Link>,
    /// The room's racks, for removal.
    pub racks: Vec<Link>,
    pub rack_templates: Vec<Link>,
    pub form: TopoForm,
    pub feedback: Feedback,
}

#[derive(serde::Deserialize)]
pub struct RoomQuery {
    /// The operation the forms just applied (the redirect after a save).
    pub edited: Option<String>,
}

impl Page for RoomPage {
    const TEMPLATE: &'static str = "room.html";
}

const PAGE_ALERTS: usize = 50;

pub async fn handler(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    Query(q): Query<RoomQuery>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Response {
    let shown = Shown {
        edited: q.edited,
        ..Shown::default()
    };
    render(
        &st,
        &ctx,
        &id,
        shown,
        StatusCode::OK,
        (&headers, raw.as_deref()),
    )
    .await
}

/// How long the floor plan waits for temperatures and power before drawing without them:
/// the room's state never waits on a slow Prometheus.
pub(crate) const LIVE_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

async fn render(
    st: &AppState,
    ctx: &Ctx,
    id: &str,
    shown: Shown,
    status: StatusCode,
    (headers, query): (&HeaderMap, Option<&str>),
) -> Response {
    let (snap, config) = world(st);
    let snap = snap.as_deref();
    let topo = &config.topology;
    let ri = match crate::resolve::room(topo, id) {
        Ok(ri) => ri,
        Err(e) => return crate::ui::pages::ambiguous::unresolved(st, ctx, &config, snap, e),
    };
    let (prefs, set_cookie) = plan::of_request(headers, query, topo, ri);
    let live = match snap {
        Some(s) => {
            let racks: Vec<RackIx> = topo.room_racks(ri).collect();
            Some(crate::server::live::room_live_within(&st.engine, s, &racks, LIVE_WAIT).await)
        }
        None => None,
    };
    let m = st.engine.maintenances();
    let mut page = build(snap, &config, &m, ri, &prefs, live.as_ref());
    let key = topo.room_key(ri);
    page.start_maint = crate::ui::maint::start_form(
        st,
        ctx,
        "room",
        &key,
        crate::ui::urls::room_url(topo, ri),
        &format!("room {key}: every rack in it"),
    );
    if ctx.user.admin && crate::server::editing_api::editors_allowed(st).is_ok() {
        page.edit = Some(edit_panel(st, &config, ri, shown));
    }
    let crumbs = crumbs(topo, Above::Site(topo.rooms[ri].site));
    let c = chrome(st, ctx, &config, snap, &page.name, "", crumbs);
    let mut r = html(st, ctx, status, &c, &page);
    if let Some(v) = set_cookie {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    r
}

fn edit_panel(st: &AppState, config: &Config, ri: RoomIx, shown: Shown) -> RoomEdit {
    let topo = &config.topology;
    let room = &topo.rooms[ri];
    let (feedback, form) = shown.feedback(st);
    let mut places: Vec<Link> = room
        .aisles
        .iter()
        .map(|&a| Link {
            // Qualified: `aisle-1` is in most rooms.
            name: topo.aisle_path(a),
            url: format!("aisle {}", topo.aisles[a].name),
        })
        .collect();
    places.push(Link {
        name: topo.room_path(ri),
        url: "standalone, in the room".into(),
    });
    let racks = topo
        .room_racks(ri)
        .map(|x| Link {
            name: topo.rack_key(x).into_owned(),
            url: topo.racks[x].name.clone(),
        })
        .collect();
    RoomEdit {
        action: format!("{}/edit", crate::ui::urls::room_url(topo, ri)),
        places,
        racks,
        rack_templates: topo_form::rack_templates(config),
        form,
        feedback,
    }
}

/// The operation a form of room `room` asks for, or why it asks for none.
fn op_of(room: &str, f: &TopoForm) -> Result<Op, String> {
    Ok(match f.op.as_str() {
        "add_rack" => Op::AddRack {
            aisle: need(&f.aisle, "an aisle")?,
            id: need(&f.id, "the rack id")?,
            name: some(&f.name),
            template: some(&f.template),
        },
        "remove_rack" => Op::RemoveRack {
            rack: need(&f.rack, "a rack")?,
        },
        "add_aisle" => Op::AddAisle {
            room: room.to_owned(),
            id: need(&f.id, "the aisle id")?,
            name: some(&f.name),
        },
        other => return Err(format!("`{other}` is not an edit this page makes")),
    })
}

/// `POST /views/room/{id}/edit`.
pub async fn submit(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    axum::Form(f): axum::Form<TopoForm>,
) -> Response {
    match save(&st, &ctx, &format!("room {id}"), &f, op_of(&id, &f)).await {
        Ok(()) => {
            let url = format!(
                "{}?edited={}#edit",
                crate::ui::urls::room_href(&id),
                enc(&f.op)
            );
            Redirect::to(&url).into_response()
        }
        Err((status, shown)) => {
            render(&st, &ctx, &id, shown, status, (&HeaderMap::new(), None)).await
        }
    }
}

/// The room page's data; public for the render benchmark.
pub fn build(
    snap: Option<&Snapshot>,
    config: &Config,
    m: &rackscope_core::maintenance::Maintenances,
    ri: RoomIx,
    prefs: &plan::Prefs,
    live: Option<&crate::server::live::RoomLive>,
) -> RoomPage {
    let topo = &config.topology;
    let room = &topo.rooms[ri];
    let cover = crate::ui::maint::cover(snap, config, m);
    let shown = crate::ui::maint::shown_alerts(snap, &cover, |x| topo.racks[x].room == ri);
    let all: Vec<AlertRow> = shown.iter().map(|a| alert_row(topo, a)).collect();
    let by_rack = hud::by_rack(&all, &shown);
    let scale = hud::Scale::of(live);
    // Only the cells and gauge styles draw the nodes one by one.
    let per_node = matches!(prefs.style, draw::Style::Cells | draw::Style::Gauge);
    let rack_in = |x: RackIx| {
        let rk = &topo.racks[x];
        let (sev, crit, warn, nodes) = match snap {
            Some(s) => {
                let sum = rack_summary(s, x);
                let nodes = if per_node {
                    rackscope_core::read::rack_nodes(s, x)
                        .map(|n| s.health.nodes.get(n as usize).and_then(|h| h.state))
                        .collect()
                } else {
                    Vec::new()
                };
                (sum.state, sum.node_crit, sum.node_warn, nodes)
            }
            None => (None, 0, 0, Vec::new()),
        };
        let heat = live.and_then(|l| l.racks.get(&x)).copied();
        draw::RackIn {
            id: rk.id.clone(),
            name: rk.name.clone(),
            url: rack_url(topo, x),
            sev,
            st: St::of(sev),
            crit,
            warn,
            maint: cover
                .rack(x)
                .map(|w| crate::ui::maint::Maint::of(w).title)
                .or_else(|| {
                    cover
                        .touches_rack(x)
                        .then(|| "Partly in maintenance: a device or some of its checks".to_owned())
                }),
            nodes,
            heat: heat.and_then(|h| scale.heat(h, prefs.heat)),
            hud: draw::Hud {
                checks: by_rack.get(&x).map_or_else(String::new, |m| hud::checks(m)),
                temp: heat.and_then(|h| scale.temp_bar(h)),
                power: heat.and_then(|h| scale.power_bar(h)),
                slurm: snap.and_then(|s| hud::slurm(s, x)),
                maint: None,
            },
        }
    };
    let aisle_row = |a: rackscope_core::topology::AisleIx| {
        let aisle = &topo.aisles[a];
        draw::RowIn {
            label: aisle.name.clone(),
            racks: aisle.racks.iter().map(|&x| rack_in(x)).collect(),
        }
    };
    let mut rows: Vec<draw::RowIn> = room
        .aisles
        .iter()
        .filter(|&&a| !prefs.is_hidden(&topo.aisle_path(a)))
        .map(|&a| aisle_row(a))
        .collect();
    if prefs.sort == plan::Sort::Severity {
        draw::worst_first(&mut rows);
    }
    if !room.standalone_racks.is_empty() {
        rows.push(draw::RowIn {
            label: "Standalone racks".into(),
            racks: room.standalone_racks.iter().map(|&x| rack_in(x)).collect(),
        });
    }
    let layout = room.layout.clone().unwrap_or_default();
    let url = crate::ui::urls::room_url(topo, ri);
    let plan = draw::floor_plan(&layout, rows, prefs.style);
    let legend = (prefs.style == draw::Style::Heat).then(|| scale.legend(prefs.heat, live));
    RoomPage {
        id: room.id.clone(),
        name: room.name.clone(),
        st: St::of(level(snap.map(|s| &s.health.rooms), ri.get()).flatten()),
        plan,
        controls: plan::controls(prefs, topo, ri, url),
        legend,
        maint: cover.room(ri).map(crate::ui::maint::Maint::of),
        start_maint: None,
        alerts_url: format!("/alerts?room={}", enc(&room.id)),
        alerts_total: all.len(),
        alerts: all.into_iter().take(PAGE_ALERTS).collect(),
        edit: None,
    }
}
