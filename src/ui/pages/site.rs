//! A site: its totals (nodes failing, power drawn, hottest node), its rooms, each with a
//! mini map of its racks and its own totals, the site's alerts, and for administrators the
//! "Add a room" form.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use rackscope_core::Config;
use rackscope_core::Severity;
use rackscope_core::telemetry::Snapshot;
use rackscope_core::topology::{RackIx, SiteIx};
use serde::Serialize;

use crate::server::AppState;
use crate::topology_edit::Op;
use crate::ui::chrome::{Above, chrome, crumbs, level, not_found, world};
use crate::ui::draw::{self, St};
use rackscope_core::read::rack_summary;

/// A room's or the site's nodes by state, the power they draw and the hottest of them:
/// power adds up, the hottest is the worst of the hottest.
#[derive(Debug, Default)]
struct Totals {
    nodes: usize,
    crit: usize,
    warn: usize,
    power: Option<f64>,
    temp: Option<f64>,
}

impl Totals {
    fn add_heat(&mut self, power: Option<f64>, temp: Option<f64>) {
        if let Some(p) = power {
            self.power = Some(self.power.unwrap_or(0.0) + p);
        }
        if let Some(t) = temp {
            self.temp = Some(self.temp.map_or(t, |m| m.max(t)));
        }
    }

    fn add(&mut self, o: &Totals) {
        self.nodes += o.nodes;
        self.crit += o.crit;
        self.warn += o.warn;
        self.add_heat(o.power, o.temp);
    }

    fn power_text(&self) -> Option<String> {
        self.power.map(draw::power_text)
    }

    fn temp_text(&self) -> Option<String> {
        self.temp.map(|t| format!("{t:.1} °C"))
    }
}

/// The alerts the page lists; the alerts page has them all.
const PAGE_ALERTS: usize = 50;
use crate::ui::pages::topo_form::{Feedback, Shown, TopoForm, need, save, some};
use crate::ui::rows::{AlertRow, alert_row};
use crate::ui::urls::{enc, rack_url, room_url, site_url};
use crate::ui::{Ctx, Page, html};

#[derive(Debug, Serialize)]
pub struct Mini {
    pub url: String,
    pub title: String,
    pub st: St,
    /// A maintenance window covers the rack or part of it.
    pub maint: bool,
}

#[derive(Debug, Serialize)]
pub struct RoomCard {
    pub name: String,
    pub url: String,
    pub st: St,
    /// The window the whole room is in, if any.
    pub maint: Option<crate::ui::maint::Maint>,
    pub racks: Vec<Mini>,
    /// Racks CRIT and WARN.
    pub crit: usize,
    pub warn: usize,
    pub nodes: usize,
    pub nodes_crit: usize,
    pub nodes_warn: usize,
    /// Power its nodes draw and its hottest node, when Prometheus answered.
    pub power: Option<String>,
    pub temp: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct SitePage {
    pub id: String,
    pub name: String,
    pub st: St,
    pub location: String,
    pub description: String,
    pub rooms: Vec<RoomCard>,
    /// `3 rooms · 42 racks · 1 200 nodes`, and the nodes failing.
    pub summary: String,
    pub failing: String,
    pub power: Option<String>,
    pub temp: Option<String>,
    /// Why the power and temperature are missing, when they are.
    pub live_error: Option<String>,
    pub alerts: Vec<AlertRow>,
    pub alerts_total: usize,
    pub alerts_url: String,
    /// The window the whole site is in, if any.
    pub maint: Option<crate::ui::maint::Maint>,
    pub start_maint: Option<crate::ui::maint::StartMaint>,
    /// The "Add a room" form, for administrators on a server that allows editing.
    pub edit: Option<SiteEdit>,
}

#[derive(Debug, Serialize)]
pub struct SiteEdit {
    pub action: String,
    pub form: TopoForm,
    pub feedback: Feedback,
}

#[derive(serde::Deserialize)]
pub struct SiteQuery {
    /// The operation the form just applied (the redirect after a save).
    pub edited: Option<String>,
}

impl Page for SitePage {
    const TEMPLATE: &'static str = "site.html";
}

pub async fn handler(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    Query(q): Query<SiteQuery>,
) -> Response {
    let shown = Shown {
        edited: q.edited,
        ..Shown::default()
    };
    render(&st, &ctx, &id, shown, StatusCode::OK).await
}

async fn render(st: &AppState, ctx: &Ctx, id: &str, shown: Shown, status: StatusCode) -> Response {
    let (snap, config) = world(st);
    let snap = snap.as_deref();
    let topo = &config.topology;
    let Some(si) = topo.site_ix(id) else {
        return not_found(st, ctx, &config, snap, "site", id);
    };
    let live = match snap {
        Some(s) => {
            let racks: Vec<RackIx> = topo.sites[si]
                .rooms
                .iter()
                .flat_map(|&r| topo.room_racks(r))
                .collect();
            Some(
                crate::server::live::room_live_within(
                    &st.engine,
                    s,
                    &racks,
                    crate::ui::pages::room::LIVE_WAIT,
                )
                .await,
            )
        }
        None => None,
    };
    let m = st.engine.maintenances();
    let mut page = build(snap, &config, &m, si, live.as_ref());
    page.start_maint = crate::ui::maint::start_form(
        st,
        ctx,
        "site",
        id,
        site_url(id),
        &format!("site {id}: every room and rack in it"),
    );
    if ctx.user.admin && crate::server::editing_api::editors_allowed(st).is_ok() {
        let (feedback, form) = shown.feedback(st);
        page.edit = Some(SiteEdit {
            action: format!("{}/edit", site_url(&topo.sites[si].id)),
            form,
            feedback,
        });
    }
    let crumbs = crumbs(&config.topology, Above::Overview);
    let c = chrome(st, ctx, &config, snap, &page.name, "", crumbs);
    html(st, ctx, status, &c, &page)
}

/// `POST /views/site/{id}/edit`: adds a room.
pub async fn submit(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    axum::Form(f): axum::Form<TopoForm>,
) -> Response {
    let op = match f.op.as_str() {
        "add_room" => need(&f.id, "the room id").map(|room| Op::AddRoom {
            site: id.clone(),
            id: room,
            name: some(&f.name),
        }),
        other => Err(format!("`{other}` is not an edit this page makes")),
    };
    match save(&st, &ctx, &format!("site {id}"), &f, op).await {
        Ok(()) => {
            let url = format!("{}?edited={}#edit", site_url(&id), enc(&f.op));
            Redirect::to(&url).into_response()
        }
        Err((status, shown)) => render(&st, &ctx, &id, shown, status).await,
    }
}

pub fn build(
    snap: Option<&Snapshot>,
    config: &Config,
    m: &rackscope_core::maintenance::Maintenances,
    si: SiteIx,
    live: Option<&crate::server::live::RoomLive>,
) -> SitePage {
    let topo = &config.topology;
    let cover = crate::ui::maint::cover(snap, config, m);
    let s = &topo.sites[si];
    let rack_st = |r: RackIx| St::of(snap.and_then(|s| s.health.racks[r.index()].state));
    let totals_of = |racks: &mut dyn Iterator<Item = RackIx>| {
        racks.fold(Totals::default(), |mut t, x| {
            if let Some(sum) = snap.map(|s| rack_summary(s, x)) {
                t.nodes += sum.node_total;
                t.crit += sum.node_crit;
                t.warn += sum.node_warn;
            }
            if let Some(h) = live.and_then(|l| l.racks.get(&x)) {
                t.add_heat(h.power_sum, h.temp_max);
            }
            t
        })
    };
    let mut site = Totals::default();
    let rooms: Vec<RoomCard> = s
        .rooms
        .iter()
        .map(|&r| {
            let room = &topo.rooms[r];
            let racks: Vec<Mini> = topo
                .room_racks(r)
                .map(|x| {
                    let rk = &topo.racks[x];
                    let st = rack_st(x);
                    let maint = cover.rack(x);
                    Mini {
                        url: rack_url(topo, x),
                        title: match maint {
                            Some(w) => format!(
                                "{} — {}. {}",
                                rk.name,
                                st.label,
                                crate::ui::maint::Maint::of(w).title
                            ),
                            None => format!("{} — {}", rk.name, st.label),
                        },
                        st,
                        maint: maint.is_some() || cover.touches_rack(x),
                    }
                })
                .collect();
            let t = totals_of(&mut topo.room_racks(r));
            site.add(&t);
            RoomCard {
                maint: cover.room(r).map(crate::ui::maint::Maint::of),
                name: room.name.clone(),
                url: room_url(topo, r),
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
                nodes: t.nodes,
                nodes_crit: t.crit,
                nodes_warn: t.warn,
                power: t.power_text(),
                temp: t.temp_text(),
            }
        })
        .collect();
    let rack_count: usize = rooms.iter().map(|r| r.racks.len()).sum();
    let plural = |n: usize, one: &str| format!("{n} {one}{}", if n == 1 { "" } else { "s" });
    let all: Vec<AlertRow> =
        crate::ui::maint::shown_alerts(snap, &cover, |x| topo.rooms[topo.racks[x].room].site == si)
            .iter()
            .map(|a| alert_row(topo, a))
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
        summary: format!(
            "{} · {} · {}",
            plural(rooms.len(), "room"),
            plural(rack_count, "rack"),
            plural(site.nodes, "node")
        ),
        failing: match (site.crit, site.warn) {
            (0, 0) => "no node failing".into(),
            (c, w) => format!("{c} CRIT and {w} WARN nodes"),
        },
        power: site.power_text(),
        temp: site.temp_text(),
        live_error: live.and_then(|l| l.error.clone()),
        alerts_url: format!("/alerts?site={}", enc(&s.id)),
        alerts_total: all.len(),
        alerts: all.into_iter().take(PAGE_ALERTS).collect(),
        rooms,
        maint: cover.site(si).map(crate::ui::maint::Maint::of),
        start_maint: None,
        edit: None,
    }
}
