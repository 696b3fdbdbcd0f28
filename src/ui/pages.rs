//! The pages: one view-model struct per page, built from the current snapshot by its
//! handler, then rendered by its template. Nothing here waits on Prometheus except the
//! device charts, the rack's live values and the check tester, which say so when it fails.

use std::convert::Infallible;
use std::time::{Duration, SystemTime};

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use futures_util::StreamExt as _;
use rackscope_core::Severity;
use rackscope_core::load::Config;
use rackscope_core::model::checks::Scope;
use rackscope_core::telemetry::eval::{CheckResult, TargetHealth};
use rackscope_core::telemetry::metricq::{self, MetricScope};
use rackscope_core::telemetry::{RangeSpec, Snapshot, Stale, StaleCause};
use rackscope_core::topology::{DeviceIx, RackIx, RoomIx, Topology};
use serde::{Deserialize, Serialize};

use super::draw::{self, St};
use super::{Ctx, PageError, THEMES, error_page, html};
use crate::server::AppState;
use crate::server::wire::alerts::{AlertView, alert_views, alert_views_where};
use crate::server::wire::rack::rack_summary;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(overview))
        .route("/views/worldmap", get(overview))
        .route("/views/site/{id}", get(site))
        .route("/views/room/{id}", get(room))
        .route("/views/rack/{id}", get(rack))
        .route("/views/device/{rack}/{device}", get(device))
        .route("/alerts", get(alerts))
        .route("/notifications", get(alerts))
        .route("/checks", get(checks).post(checks_run))
        .route("/wallboard", get(wallboard))
        .route("/playlist", get(wallboard))
        .route("/search", get(search))
        .route("/events", get(events))
        .route("/theme/{name}", get(theme))
        .route("/static/{file}", get(asset))
}

// ---------------------------------------------------------------- the frame of every page

#[derive(Debug, Clone, Serialize)]
pub struct Link {
    pub name: String,
    pub url: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct NavItem {
    pub name: String,
    pub url: String,
    pub st: St,
    pub rooms: Vec<NavItem>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Pill {
    pub class: &'static str,
    pub text: String,
    pub title: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ThemeLink {
    pub name: &'static str,
    pub url: String,
    pub active: bool,
}

/// What the layout around every page shows: navigation, breadcrumbs, the Prometheus
/// status and the banner when the data cannot be trusted.
#[derive(Debug, Clone, Serialize)]
pub struct Chrome {
    pub app_name: String,
    pub title: String,
    pub theme: &'static str,
    pub themes: Vec<ThemeLink>,
    pub kiosk: bool,
    /// The next wallboard view and when to go there.
    pub next_url: Option<String>,
    pub interval: u32,
    /// Seconds between reloads when JavaScript is off.
    pub refresh: u32,
    pub seq: u64,
    pub active: &'static str,
    pub nav: Vec<NavItem>,
    pub crumbs: Vec<Link>,
    pub prom: Pill,
    pub banner: Option<Pill>,
    pub q: String,
    /// Static files' version, for their cache-busting URLs.
    pub v: String,
}

impl Chrome {
    pub fn titled(&self, title: &str) -> Chrome {
        Chrome {
            title: title.to_owned(),
            ..self.clone()
        }
    }
}

/// Percent-encodes a path segment or query value (ids are free text in the YAML).
pub fn enc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

pub fn site_url(id: &str) -> String {
    format!("/views/site/{}", enc(id))
}
pub fn room_url(id: &str) -> String {
    format!("/views/room/{}", enc(id))
}
pub fn rack_url(id: &str) -> String {
    format!("/views/rack/{}", enc(id))
}
pub fn device_url(rack: &str, device: &str) -> String {
    format!("/views/device/{}/{}", enc(rack), enc(device))
}
/// The rack page with the device highlighted and scrolled to.
pub fn rack_device_url(rack: &str, device: &str) -> String {
    format!(
        "/views/rack/{}?device={}#dev-{}",
        enc(rack),
        enc(device),
        enc(device)
    )
}

/// The state of a level, `None` (not monitored) when there is no snapshot.
fn level<T: Copy>(v: Option<&Vec<T>>, i: u32) -> Option<T> {
    v.and_then(|v| v.get(i as usize).copied())
}

/// The views the wallboard rotates through: `playlist.views` that this server shows
/// (the Python version's Slurm views are not ours), else the overview, the alerts and
/// every room.
pub fn playlist(config: &Config) -> Vec<String> {
    let ours = |v: &str| {
        v == "/"
            || v.starts_with("/views/")
            || ["/alerts", "/notifications", "/checks"].contains(&v)
    };
    let views: Vec<String> = config
        .app
        .playlist
        .views
        .iter()
        .filter(|v| ours(v))
        .cloned()
        .collect();
    if !views.is_empty() {
        return views;
    }
    let mut v = vec!["/".to_owned(), "/alerts".to_owned()];
    v.extend(config.topology.rooms.iter().map(|r| room_url(&r.id)));
    v
}

pub fn chrome(
    st: &AppState,
    ctx: &Ctx,
    config: &Config,
    snap: Option<&Snapshot>,
    title: &str,
    active: &'static str,
    crumbs: Vec<Link>,
) -> Chrome {
    let topo = &config.topology;
    let h = snap.map(|s| &*s.health);
    let nav = topo
        .sites
        .iter()
        .enumerate()
        .map(|(si, s)| NavItem {
            name: s.name.clone(),
            url: site_url(&s.id),
            st: St::of(level(h.map(|h| &h.sites), si as u32).flatten()),
            rooms: s
                .rooms
                .iter()
                .map(|&r| {
                    let room = &topo.rooms[r as usize];
                    NavItem {
                        name: room.name.clone(),
                        url: room_url(&room.id),
                        st: St::of(level(h.map(|h| &h.rooms), r).flatten()),
                        rooms: Vec::new(),
                    }
                })
                .collect(),
        })
        .collect();
    let stats = st.engine.stats();
    let prom = match (stats.heartbeat_ok, stats.last_ms) {
        (Some(false), _) => Pill {
            class: "st-CRIT",
            text: "Prometheus unreachable".into(),
            title: stats.heartbeat_error.clone().unwrap_or_default(),
        },
        (_, Some(ms)) => Pill {
            class: "st-OK",
            text: format!("Prometheus {ms:.0} ms"),
            title: format!(
                "{} average over the last queries",
                stats
                    .avg_ms
                    .map_or_else(String::new, |a| format!("{a:.1} ms"))
            ),
        },
        _ => Pill {
            class: "st-UNKNOWN",
            text: "Prometheus: waiting".into(),
            title: "no query answered yet".into(),
        },
    };
    let now = SystemTime::now();
    let banner = match snap {
        None => Some(Pill {
            class: "st-UNKNOWN",
            text: "Waiting for the first refresh from Prometheus: every state is UNKNOWN for now."
                .into(),
            title: String::new(),
        }),
        Some(s) => match &s.stale {
            Some(stale) => Some(stale_banner(s, stale, now)),
            None if !s.errors.is_empty() => Some(Pill {
                class: "st-WARN",
                text: format!(
                    "{} of {} queries failed in the last refresh ({}): their checks are UNKNOWN.",
                    s.errors.len(),
                    s.query_count,
                    s.errors[0].error
                ),
                title: String::new(),
            }),
            None => None,
        },
    };
    let views = playlist(config);
    let next_url = ctx.playlist.map(|i| {
        let n = (i + 1) % views.len().max(1);
        let v = views.get(n).map_or("/", String::as_str);
        let sep = if v.contains('?') { '&' } else { '?' };
        format!("{v}{sep}kiosk=1&pl={n}")
    });
    let back = enc(&ctx.here);
    Chrome {
        app_name: config.app.app.name.clone(),
        title: title.to_owned(),
        theme: ctx.theme,
        themes: THEMES
            .iter()
            .map(|t| ThemeLink {
                name: t,
                url: format!("/theme/{t}?back={back}"),
                active: *t == ctx.theme,
            })
            .collect(),
        kiosk: ctx.playlist.is_some(),
        next_url,
        interval: config.app.playlist.interval_seconds.max(5),
        refresh: config.app.refresh.room_state_seconds.max(10),
        seq: snap.map_or(0, |s| s.seq),
        active,
        nav,
        crumbs,
        prom,
        banner,
        q: String::new(),
        v: st.ui.version.clone(),
    }
}

/// The banner of a snapshot whose states are not current: amber while the last states are
/// shown, red once they are UNKNOWN.
fn stale_banner(s: &Snapshot, stale: &Stale, now: SystemTime) -> Pill {
    let down = now
        .duration_since(stale.since)
        .unwrap_or_default()
        .as_secs();
    let what = match stale.cause {
        StaleCause::RefreshFailed => format!("Refreshes failing for {down} s"),
        StaleCause::NoRefresh => format!("No refresh for {down} s"),
    };
    let (class, shown) = if stale.expired {
        ("st-CRIT", "every state below is UNKNOWN".to_owned())
    } else {
        (
            "st-WARN",
            format!("showing the states of {} s ago", s.age(now).as_secs()),
        )
    };
    Pill {
        class,
        text: format!("{what} ({}): {shown}.", stale.reason),
        title: String::new(),
    }
}

/// The snapshot and the configuration pages read: the snapshot's own, so that ids and
/// states always agree, or the engine's before the first refresh.
fn world(st: &AppState) -> (Option<std::sync::Arc<Snapshot>>, std::sync::Arc<Config>) {
    let snap = st.engine.snapshot();
    let config = snap
        .as_ref()
        .map_or_else(|| st.engine.config(), |s| s.config.clone());
    (snap, config)
}

/// What a page sits under, for its breadcrumbs.
enum Above<'a> {
    Overview,
    Site(rackscope_core::topology::SiteIx),
    Room(RoomIx),
    /// A device page: its rack, linked with the device highlighted.
    Rack(RackIx, &'a str),
}

/// The breadcrumbs from the overview down to the page's parent.
fn crumbs(topo: &Topology, above: Above<'_>) -> Vec<Link> {
    let mut out = vec![Link {
        name: "Overview".into(),
        url: "/".into(),
    }];
    let (site, room, rack) = match above {
        Above::Overview => (None, None, None),
        Above::Site(s) => (Some(s), None, None),
        Above::Room(r) => (Some(topo.rooms[r as usize].site), Some(r), None),
        Above::Rack(x, device) => {
            let r = topo.racks[x as usize].room;
            (
                Some(topo.rooms[r as usize].site),
                Some(r),
                Some((x, device)),
            )
        }
    };
    if let Some(s) = site {
        let s = &topo.sites[s as usize];
        out.push(Link {
            name: s.name.clone(),
            url: site_url(&s.id),
        });
    }
    if let Some(r) = room {
        let r = &topo.rooms[r as usize];
        out.push(Link {
            name: r.name.clone(),
            url: room_url(&r.id),
        });
    }
    if let Some((x, device)) = rack {
        let r = &topo.racks[x as usize];
        out.push(Link {
            name: r.name.clone(),
            url: rack_device_url(&r.id, device),
        });
    }
    out
}

fn not_found(
    st: &AppState,
    ctx: &Ctx,
    config: &Config,
    snap: Option<&Snapshot>,
    kind: &'static str,
    id: &str,
) -> Response {
    let c = chrome(st, ctx, config, snap, "Not found", "", Vec::new());
    error_page(
        st,
        ctx,
        &c,
        &PageError::NotFound {
            kind,
            id: id.to_owned(),
        },
    )
}

/// The 404 page for a path no route serves.
pub fn no_route(st: &AppState, ctx: &Ctx) -> Response {
    let (snap, config) = world(st);
    let c = chrome(
        st,
        ctx,
        &config,
        snap.as_deref(),
        "Not found",
        "",
        Vec::new(),
    );
    let path = ctx.here.split('?').next().unwrap_or("/").to_owned();
    error_page(st, ctx, &c, &PageError::NoRoute(path))
}

// ---------------------------------------------------------------- shared rows

/// One alert as the tables list it, with its full physical path.
#[derive(Debug, Serialize)]
pub struct AlertRow {
    pub st: St,
    pub name: String,
    pub url: String,
    pub rack_url: String,
    pub path: String,
    pub checks: String,
}

fn alert_row(a: &AlertView<'_>) -> AlertRow {
    let mut path = vec![a.site_name, a.room_name];
    if let Some(x) = a.aisle_name {
        path.push(x);
    }
    path.push(a.rack_name);
    let mut path = path.join(" › ");
    if let Some(u) = a.u_position {
        path.push_str(&format!(" › U{u}"));
    }
    let checks = a
        .checks
        .iter()
        .map(|c| {
            let mut s = c.id.to_owned();
            if let Some(slot) = c.slot {
                s.push_str(&format!(" [{slot}]"));
            }
            if let Some(v) = c.value {
                s.push_str(&format!(" = {}", draw::value_text(v, "")));
            }
            if let Some(m) = c.message {
                s.push_str(&format!(": {m}"));
            }
            s
        })
        .collect::<Vec<_>>()
        .join(", ");
    AlertRow {
        st: St::of(a.state.parse().ok()),
        name: a.node_id.or(a.device_name).unwrap_or(a.rack_id).to_owned(),
        url: match a.device_id {
            Some(d) => device_url(a.rack_id, d),
            None => rack_url(a.rack_id),
        },
        rack_url: match a.device_id {
            Some(d) => rack_device_url(a.rack_id, d),
            None => rack_url(a.rack_id),
        },
        path,
        checks,
    }
}

/// A check result as the rack and device pages list it.
#[derive(Debug, Serialize)]
pub struct CheckRow {
    pub id: String,
    pub name: String,
    pub st: St,
    pub value: String,
    pub pending: Option<String>,
    pub message: String,
}

fn check_row(snap: &Snapshot, c: &CheckResult) -> CheckRow {
    let bound = &snap.plan.checks[c.check as usize];
    let def = &snap.config.checks.items[bound.def].def;
    CheckRow {
        id: bound.id.to_string(),
        name: def.name.clone(),
        st: St::of(Some(c.severity)),
        value: c
            .value
            .map_or_else(|| "–".to_owned(), |v| draw::value_text(v, "")),
        pending: c
            .pending
            .map(|p| format!("pending {}", p.severity.as_str())),
        message: c
            .message
            .as_deref()
            .or(c.reason.as_deref())
            .map(str::to_owned)
            .or_else(|| def.description.clone())
            .unwrap_or_default(),
    }
}

fn check_rows(snap: &Snapshot, h: &TargetHealth) -> Vec<CheckRow> {
    h.checks.iter().map(|c| check_row(snap, c)).collect()
}

#[derive(Debug, Serialize)]
pub struct Card {
    pub st: St,
    pub num: usize,
    pub label: String,
}

// ---------------------------------------------------------------- overview

#[derive(Debug, Serialize)]
pub struct SiteRow {
    pub name: String,
    pub url: String,
    pub st: St,
    pub rooms: usize,
    pub racks: usize,
    pub alerts: usize,
}

#[derive(Debug, Serialize)]
pub struct OverviewPage {
    pub st: St,
    pub cards: Vec<Card>,
    pub alerts: Vec<AlertRow>,
    pub alerts_total: usize,
    pub map_viewbox: &'static str,
    pub land: &'static str,
    pub markers: Vec<draw::Marker>,
    pub sites: Vec<SiteRow>,
    pub prometheus: Vec<Link>,
}

const OVERVIEW_ALERTS: usize = 15;

async fn overview(State(st): State<AppState>, ctx: Ctx) -> Response {
    let (snap, config) = world(&st);
    let snap = snap.as_deref();
    let topo = &config.topology;
    let all = snap.map(alert_views).unwrap_or_default();
    let mut per_site = vec![0usize; topo.sites.len()];
    for a in &all {
        if let Some(i) = topo.sites.iter().position(|s| s.id == a.site_id) {
            per_site[i] += 1;
        }
    }
    let mut by = [0usize; 5];
    for (i, _) in topo.racks.iter().enumerate() {
        let s = snap.and_then(|s| s.health.racks[i].state);
        by[match s {
            Some(Severity::Crit) => 0,
            Some(Severity::Warn) => 1,
            Some(Severity::Unknown) => 2,
            Some(Severity::Ok) => 3,
            None => 4,
        }] += 1;
    }
    let crit_alerts = all.iter().filter(|a| a.state == "CRIT").count();
    let cards = vec![
        Card {
            st: St::of(Some(Severity::Crit)),
            num: by[0],
            label: format!("racks CRIT · {crit_alerts} CRIT alerts"),
        },
        Card {
            st: St::of(Some(Severity::Warn)),
            num: by[1],
            label: format!("racks WARN · {} WARN alerts", all.len() - crit_alerts),
        },
        Card {
            st: St::of(Some(Severity::Unknown)),
            num: by[2],
            label: "racks UNKNOWN".into(),
        },
        Card {
            st: St::of(Some(Severity::Ok)),
            num: by[3],
            label: "racks OK".into(),
        },
    ];
    let site_state = |i: usize| level(snap.map(|s| &s.health.sites), i as u32).flatten();
    let mut markers = Vec::new();
    let mut sites = Vec::new();
    for (i, s) in topo.sites.iter().enumerate() {
        let racks = s.rooms.iter().map(|&r| topo.room_racks(r).count()).sum();
        if let Some(loc) = &s.location {
            let (x, y) = draw::project(loc.lat, loc.lon);
            markers.push(draw::Marker {
                x,
                y,
                name: s.name.clone(),
                url: site_url(&s.id),
                st: St::of(site_state(i)),
                alerts: per_site[i],
            });
        }
        sites.push(SiteRow {
            name: s.name.clone(),
            url: site_url(&s.id),
            st: St::of(site_state(i)),
            rooms: s.rooms.len(),
            racks,
            alerts: per_site[i],
        });
    }
    let stats = st.engine.stats();
    let now = SystemTime::now();
    let mut prometheus = vec![Link {
        name: "URL".into(),
        url: config
            .app
            .telemetry
            .prometheus_url
            .clone()
            .unwrap_or_default(),
    }];
    if let Some(s) = snap {
        prometheus.push(Link {
            name: "Last refresh".into(),
            url: format!(
                "{} s ago, {} queries in {} ms",
                s.age(now).as_secs(),
                s.query_count,
                s.duration.as_millis()
            ),
        });
    }
    prometheus.push(Link {
        name: "Latency".into(),
        url: match (stats.last_ms, stats.avg_ms) {
            (Some(l), Some(a)) => format!("{l:.1} ms (average {a:.1} ms)"),
            _ => "no answer yet".into(),
        },
    });
    prometheus.push(Link {
        name: "Heartbeat".into(),
        url: match stats.heartbeat_ok {
            Some(true) => "answering".into(),
            Some(false) => format!(
                "failing: {}",
                stats.heartbeat_error.clone().unwrap_or_default()
            ),
            None => "not yet sent".into(),
        },
    });
    prometheus.push(Link {
        name: "Queries".into(),
        url: format!(
            "{} sent, {} failed, cache {} hits / {} misses",
            stats.query_count, stats.query_errors, stats.cache_hits, stats.cache_misses
        ),
    });
    let page = OverviewPage {
        st: St::of(snap.and_then(|s| s.health.global)),
        cards,
        alerts_total: all.len(),
        alerts: all.iter().take(OVERVIEW_ALERTS).map(alert_row).collect(),
        map_viewbox: draw::MAP_VIEWBOX,
        land: super::world::LAND_PATH,
        markers,
        sites,
        prometheus,
    };
    let c = chrome(&st, &ctx, &config, snap, "Overview", "overview", Vec::new());
    html(&st, &ctx, StatusCode::OK, "overview.html", &c, &page)
}

// ---------------------------------------------------------------- site

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

async fn site(State(st): State<AppState>, ctx: Ctx, Path(id): Path<String>) -> Response {
    let (snap, config) = world(&st);
    let snap = snap.as_deref();
    let topo = &config.topology;
    let Some(si) = topo.site_ix(&id) else {
        return not_found(&st, &ctx, &config, snap, "site", &id);
    };
    let s = &topo.sites[si as usize];
    let rack_st = |r: RackIx| St::of(snap.and_then(|s| s.health.racks[r as usize].state));
    let rooms = s
        .rooms
        .iter()
        .map(|&r| {
            let room = &topo.rooms[r as usize];
            let racks: Vec<Mini> = topo
                .room_racks(r)
                .map(|x| {
                    let rk = &topo.racks[x as usize];
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
                st: St::of(level(snap.map(|s| &s.health.rooms), r).flatten()),
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
    let page = SitePage {
        id: s.id.clone(),
        name: s.name.clone(),
        st: St::of(level(snap.map(|s| &s.health.sites), si).flatten()),
        location: s.location.as_ref().map_or_else(String::new, |l| {
            let mut t = format!("{:.4}, {:.4}", l.lat, l.lon);
            if let Some(a) = &l.address {
                t = format!("{a} ({t})");
            }
            t
        }),
        description: s.description.clone().unwrap_or_default(),
        rooms,
    };
    let crumbs = crumbs(&config.topology, Above::Overview);
    let c = chrome(&st, &ctx, &config, snap, &s.name, "", crumbs);
    html(&st, &ctx, StatusCode::OK, "site.html", &c, &page)
}

// ---------------------------------------------------------------- room

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

const PAGE_ALERTS: usize = 50;

async fn room(State(st): State<AppState>, ctx: Ctx, Path(id): Path<String>) -> Response {
    let (snap, config) = world(&st);
    let snap = snap.as_deref();
    let topo = &config.topology;
    let Some(ri) = topo.room_ix(&id) else {
        return not_found(&st, &ctx, &config, snap, "room", &id);
    };
    let page = room_page(snap, &config, ri);
    let crumbs = crumbs(topo, Above::Site(topo.rooms[ri as usize].site));
    let c = chrome(&st, &ctx, &config, snap, &page.name, "", crumbs);
    html(&st, &ctx, StatusCode::OK, "room.html", &c, &page)
}

/// The room page's data; public for the render benchmark.
pub fn room_page(snap: Option<&Snapshot>, config: &Config, ri: RoomIx) -> RoomPage {
    let topo = &config.topology;
    let room = &topo.rooms[ri as usize];
    let rack_in = |x: RackIx| {
        let rk = &topo.racks[x as usize];
        let (st, crit, warn) = match snap {
            Some(s) => {
                let sum = rack_summary(s, x);
                (
                    St::of(s.health.racks[x as usize].state),
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
            let aisle = &topo.aisles[a as usize];
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
            alert_views_where(s, |x| topo.racks[x as usize].room == ri)
                .iter()
                .map(alert_row)
                .collect()
        })
        .unwrap_or_default();
    RoomPage {
        id: room.id.clone(),
        name: room.name.clone(),
        st: St::of(level(snap.map(|s| &s.health.rooms), ri).flatten()),
        plan: draw::floor_plan(&layout, rows),
        alerts_url: format!("/alerts?room={}", enc(&room.id)),
        alerts_total: all.len(),
        alerts: all.into_iter().take(PAGE_ALERTS).collect(),
    }
}

// ---------------------------------------------------------------- rack

#[derive(Debug, Serialize)]
pub struct DeviceRow {
    pub u: String,
    pub name: String,
    pub url: String,
    pub rack_url: String,
    pub template: String,
    pub st: St,
    pub highlight: bool,
}

#[derive(Debug, Default, Serialize)]
pub struct LiveView {
    pub temperature: String,
    pub power: String,
    pub components: Vec<Link>,
    pub error: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct RackPage {
    pub id: String,
    pub name: String,
    pub st: St,
    pub template: String,
    pub u_height: u32,
    pub elevations: Vec<draw::Elevation>,
    pub devices: Vec<DeviceRow>,
    pub checks: Vec<CheckRow>,
    pub alerts: Vec<AlertRow>,
    pub live: LiveView,
}

#[derive(Deserialize)]
struct RackQuery {
    device: Option<String>,
}

async fn rack(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    Query(q): Query<RackQuery>,
) -> Response {
    let (snap, config) = world(&st);
    let topo = &config.topology;
    let Some(x) = topo.rack_ix(&id) else {
        return not_found(&st, &ctx, &config, snap.as_deref(), "rack", &id);
    };
    let mut page = rack_page(snap.as_deref(), &config, x, q.device.as_deref());
    if let Some(s) = &snap {
        let live = crate::server::live::rack_live(&st.engine, s, x).await;
        page.live = live_view(&config, &live);
    }
    let r = &topo.racks[x as usize];
    let crumbs = crumbs(topo, Above::Room(r.room));
    let c = chrome(&st, &ctx, &config, snap.as_deref(), &r.name, "", crumbs);
    html(&st, &ctx, StatusCode::OK, "rack.html", &c, &page)
}

fn live_view(config: &Config, live: &crate::server::live::RackLive) -> LiveView {
    let temps: Vec<f64> = live.node_temperature.values().copied().collect();
    let power: f64 = live.node_power.values().sum();
    let temperature = if temps.is_empty() {
        "no data".into()
    } else {
        let max = temps.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let avg = temps.iter().sum::<f64>() / temps.len() as f64;
        format!("average {avg:.1} °C, hottest {max:.1} °C")
    };
    let components = live
        .components
        .iter()
        .flat_map(|(comp, values)| {
            values.iter().map(move |(metric, v)| {
                let unit = config
                    .metrics
                    .get(metric)
                    .map(|m| m.def.display.unit.clone())
                    .unwrap_or_default();
                Link {
                    name: format!("{comp} · {metric}"),
                    url: draw::value_text(*v, &unit),
                }
            })
        })
        .collect();
    LiveView {
        temperature,
        power: if live.node_power.is_empty() {
            "no data".into()
        } else {
            format!("{power:.0} W over {} nodes", live.node_power.len())
        },
        components,
        error: live.error.clone(),
    }
}

/// The state of node `n`, `None` without a snapshot.
fn node_state(snap: Option<&Snapshot>, n: u32) -> Option<Severity> {
    snap.and_then(|s| s.health.nodes.get(n as usize))
        .and_then(|h| h.state)
}

/// The rack page's data, without the live values; public for the render benchmark.
pub fn rack_page(
    snap: Option<&Snapshot>,
    config: &Config,
    x: RackIx,
    highlight: Option<&str>,
) -> RackPage {
    let topo = &config.topology;
    let r = &topo.racks[x as usize];
    let rack_u = r.u_height.max(1);
    let rack_h = snap.map(|s| &s.health.racks[x as usize]);
    let rack_sev = rack_h.and_then(|h| h.state);
    let rack_st = St::of(rack_sev);
    let mut elevations = Vec::new();
    for face in [
        rackscope_core::model::topology::Face::Front,
        rackscope_core::model::topology::Face::Rear,
    ] {
        elevations.push(elevation(snap, config, x, face, highlight, rack_sev));
    }
    let mut devices: Vec<DeviceRow> = r
        .devices
        .iter()
        .map(|&d| {
            let dev = &topo.devices[d as usize];
            let h = device_u_height(config, dev);
            DeviceRow {
                u: if h > 1 {
                    format!("U{}–U{}", dev.u_position, dev.u_position + h - 1)
                } else {
                    format!("U{}", dev.u_position)
                },
                name: dev.name.clone(),
                url: device_url(&r.id, &dev.id),
                rack_url: rack_device_url(&r.id, &dev.id),
                template: dev.template_id.clone(),
                st: St::of(snap.and_then(|s| s.health.devices[d as usize].state)),
                highlight: highlight == Some(dev.id.as_str()),
            }
        })
        .collect();
    devices.reverse();
    let alerts = snap
        .map(|s| {
            alert_views_where(s, |r| r == x)
                .iter()
                .map(alert_row)
                .collect()
        })
        .unwrap_or_default();
    RackPage {
        id: r.id.clone(),
        name: r.name.clone(),
        st: rack_st,
        template: r.template_id.clone().unwrap_or_default(),
        u_height: rack_u,
        elevations,
        devices,
        checks: match (snap, rack_h) {
            (Some(s), Some(h)) => check_rows(s, h),
            _ => Vec::new(),
        },
        alerts,
        live: LiveView::default(),
    }
}

fn device_u_height(config: &Config, dev: &rackscope_core::topology::Device) -> u32 {
    config
        .catalog
        .devices
        .get(&dev.template_id)
        .map_or(1, |t| t.def.u_height.value.max(1))
}

/// One face of a rack: U numbers, its devices with a cell per instance (or per disk slot),
/// the devices of the other face as outlines, and the side components.
fn elevation(
    snap: Option<&Snapshot>,
    config: &Config,
    x: RackIx,
    face: rackscope_core::model::topology::Face,
    highlight: Option<&str>,
    rack_sev: Option<Severity>,
) -> draw::Elevation {
    use rackscope_core::model::topology::Face;
    let topo = &config.topology;
    let r = &topo.racks[x as usize];
    let rack_u = r.u_height.max(1);
    let body_x = draw::U_LABEL + draw::SIDE_W + 2.0;
    let units = (1..=rack_u)
        .map(|n| draw::UnitMark {
            y: f64::from(rack_u - n) * draw::U_PX + 4.0 + draw::U_PX * 0.7,
            n,
        })
        .collect();
    let mut devices = Vec::new();
    for &d in &r.devices {
        let dev = &topo.devices[d as usize];
        let tpl = config.catalog.devices.get(&dev.template_id).map(|t| &t.def);
        let uh = tpl.map_or(1, |t| t.u_height.value.max(1));
        let (y, h) = draw::device_rect(rack_u, dev.u_position, uh);
        let w = draw::BODY_W;
        let dev_sev = snap.and_then(|s| s.health.devices[d as usize].state);
        let st = St::of(dev_sev);
        let ghost = dev.face != face;
        let nodes: Vec<u32> = snap
            .map(|s| s.plan.targets.device_nodes(topo, d).collect())
            .unwrap_or_default();
        let instances = topo.device_instances(dev);
        // Which grid this face draws: disks for storage, the layout in front, the rear
        // layout behind.
        let grid = tpl.and_then(|t| match face {
            Face::Front => t
                .disk_layout
                .as_ref()
                .filter(|_| t.kind == "storage")
                .map(|l| (&l.value, true))
                .or(t.layout.as_ref().map(|l| (&l.value, false))),
            Face::Rear => t.rear_layout.as_ref().map(|l| (&l.value, false)),
        });
        let slot_state = |slot: u32| -> (Option<Severity>, String) {
            match instances.iter().position(|i| i.slot == slot) {
                Some(k) => {
                    let n = dev.instances.start + k as u32;
                    (node_state(snap, n), instances[k].name.clone())
                }
                None => (None, format!("slot {slot} (empty)")),
            }
        };
        let mut cells = Vec::new();
        let (rows, cols) = match (grid, ghost) {
            (_, true) => (1, 1),
            (Some((l, disks)), false) => {
                for (ri, row) in l.matrix.iter().enumerate() {
                    for (ci, v) in row.iter().enumerate() {
                        if *v <= 0 {
                            continue;
                        }
                        let v = *v as u32;
                        let (s, title) = if disks {
                            disk_state(snap, config, dev, d, v)
                        } else if face == Face::Rear && v > 900 {
                            let kind = if v.is_multiple_of(2) { "PSU" } else { "fan" };
                            (dev_sev, format!("{kind} {v}"))
                        } else {
                            slot_state(v)
                        };
                        let s = St::of(s);
                        cells.push((ri as u32, ci as u32, s, format!("{title} — {}", s.label)));
                    }
                }
                let rows = l.matrix.len().max(l.rows as usize) as u32;
                let cols = l
                    .matrix
                    .iter()
                    .map(Vec::len)
                    .max()
                    .unwrap_or(0)
                    .max(l.cols as usize) as u32;
                (rows, cols)
            }
            (None, false) if face == Face::Front || dev.face == Face::Rear => {
                // No layout: one cell per node, in a row.
                for (k, &n) in nodes.iter().enumerate() {
                    let s = St::of(node_state(snap, n));
                    let name = snap
                        .map(|sn| sn.plan.targets.key(topo, Scope::Node, n).to_owned())
                        .unwrap_or_default();
                    cells.push((0, k as u32, s, format!("{name} — {}", s.label)));
                }
                (1, nodes.len().max(1) as u32)
            }
            (None, false) => (1, 1),
        };
        let cells = draw::grid_cells(
            draw::U_LABEL + draw::SIDE_W + 2.0,
            y,
            w,
            h,
            rows,
            cols,
            cells,
        );
        devices.push(draw::DeviceBox {
            x: body_x,
            y,
            w,
            h,
            id: dev.id.clone(),
            label: draw::short(&dev.name, if uh > 1 { 22 } else { 18 }),
            url: device_url(&r.id, &dev.id),
            st,
            highlight: highlight == Some(dev.id.as_str()),
            ghost,
            cells,
            title: format!(
                "{} (U{}, {}) — {}",
                dev.name, dev.u_position, dev.template_id, st.label
            ),
        });
    }
    // Side-mounted components (PDUs) of the rack template, drawn on both faces; their
    // checks are the rack's own, so they show the rack's checks' state.
    let mut sides = Vec::new();
    let rack_own = snap
        .map(|s| &s.health.racks[x as usize])
        .and_then(|h| Severity::worst(h.checks.iter().map(|c| c.severity)));
    if let Some(t) = r
        .template_id
        .as_deref()
        .and_then(|t| config.catalog.racks.get(t))
    {
        let infra = &t.def.infrastructure;
        let mut left = 0;
        let mut right = 0;
        let mut side_of = |name: String, side: Option<&str>| {
            let on_right = side.is_some_and(|s| s.contains("right"));
            let k = if on_right { &mut right } else { &mut left };
            let w = draw::SIDE_W / 2.0;
            let off = f64::from(*k) * (w + 1.0);
            *k += 1;
            sides.push(draw::SideBar {
                x: if on_right {
                    body_x + draw::BODY_W + 2.0 + off
                } else {
                    draw::U_LABEL + off
                },
                y: 4.0,
                w,
                h: f64::from(rack_u) * draw::U_PX - 2.0,
                name,
                st: St::of(rack_own.or(rack_sev)),
            });
        };
        for c in &infra.side_components {
            side_of(
                c.name.clone().unwrap_or_else(|| c.id.clone()),
                c.location.as_deref(),
            );
        }
        for c in &infra.rack_components {
            let side = c.effective_side();
            if side.is_some_and(|s| s.starts_with("side") || s == "left" || s == "right") {
                let name = c.id.clone().unwrap_or_else(|| c.template_id.value.clone());
                side_of(name, side);
            }
        }
    }
    // Front- and rear-mounted infrastructure of the rack template (cooling doors, patch
    // panels, rack PDUs in U): drawn where they are mounted, unlinked, unmonitored.
    if let Some(t) = r
        .template_id
        .as_deref()
        .and_then(|t| config.catalog.racks.get(t))
    {
        let infra = &t.def.infrastructure;
        let mounted = infra
            .components
            .iter()
            .map(|c| (c, c.location.as_deref() != Some("rear")))
            .chain(infra.front_components.iter().map(|c| (c, true)))
            .chain(infra.rear_components.iter().map(|c| (c, false)));
        for (c, front) in mounted {
            let (Some(u), true) = (c.u_position, front == (face == Face::Front)) else {
                continue;
            };
            if c.location.as_deref().is_some_and(|l| l.starts_with("side")) {
                continue;
            }
            let (y, h) = draw::device_rect(rack_u, u, c.u_height.unwrap_or(1));
            let name = c.name.clone().unwrap_or_else(|| c.id.clone());
            devices.push(draw::DeviceBox {
                x: body_x,
                y,
                w: draw::BODY_W,
                h,
                id: c.id.clone(),
                label: draw::short(&name, 22),
                url: rack_url(&r.id),
                st: St::of(None),
                highlight: false,
                ghost: true,
                cells: Vec::new(),
                title: format!("{name} (U{u}, rack infrastructure)"),
            });
        }
    }
    draw::Elevation {
        face: match face {
            Face::Front => "Front",
            Face::Rear => "Rear",
        },
        w: body_x + draw::BODY_W + draw::SIDE_W + 6.0,
        h: f64::from(rack_u) * draw::U_PX + 8.0,
        body_x,
        units,
        devices,
        sides,
    }
}

/// A disk slot of a storage device: the virtual node `<instance>:slot<N>` of an
/// `expand_by_label` check, or the instance's own state when no check expands by slot.
fn disk_state(
    snap: Option<&Snapshot>,
    config: &Config,
    dev: &rackscope_core::topology::Device,
    d: DeviceIx,
    slot: u32,
) -> (Option<Severity>, String) {
    let topo = &config.topology;
    let Some(s) = snap else {
        return (None, format!("disk {slot}"));
    };
    let nodes = s.plan.targets.device_nodes(topo, d);
    let want = slot.to_string();
    let mut worst: Option<Severity> = None;
    let mut owner = String::new();
    for n in nodes.clone() {
        let Some(h) = s.health.nodes.get(n as usize) else {
            continue;
        };
        for g in &h.slots {
            if let Some(r) = g.slots.iter().find(|r| *r.name == *want) {
                worst = worst.max(Some(r.severity));
                owner = format!(
                    "{}:{}{}",
                    s.plan.targets.key(topo, Scope::Node, n),
                    g.label,
                    r.name
                );
            }
        }
    }
    if worst.is_none() {
        // No per-disk result: the disk shows its enclosure.
        let n = nodes.start;
        worst = node_state(Some(s), n);
        owner = format!("{} disk {slot}", dev.name);
    }
    (worst, owner)
}

// ---------------------------------------------------------------- device

#[derive(Debug, Serialize)]
pub struct InstanceCard {
    pub name: String,
    pub anchor: String,
    pub st: St,
    pub checks: Vec<CheckRow>,
    pub slots: Vec<CheckRow>,
    pub selected: bool,
}

#[derive(Debug, Serialize)]
pub struct ChartView {
    pub title: String,
    pub unit: String,
    pub query: String,
    pub chart: Option<draw::Chart>,
    pub error: Option<String>,
    /// Series not drawn beyond `draw::MAX_LINES`.
    pub omitted: usize,
}

#[derive(Debug, Serialize)]
pub struct RangeLink {
    pub label: &'static str,
    pub url: String,
    pub active: bool,
}

#[derive(Debug, Serialize)]
pub struct DevicePage {
    pub id: String,
    pub name: String,
    pub rack_url: String,
    pub template: String,
    pub kind: String,
    pub u: u32,
    pub u_height: u32,
    pub st: St,
    pub checks: Vec<CheckRow>,
    pub instances: Vec<InstanceCard>,
    pub ranges: Vec<RangeLink>,
    pub charts: Vec<ChartView>,
}

#[derive(Deserialize)]
struct DeviceQuery {
    range: Option<String>,
    instance: Option<String>,
}

const RANGES: [&str; 4] = ["1h", "6h", "24h", "7d"];

async fn device(
    State(st): State<AppState>,
    ctx: Ctx,
    Path((rack_id, device_id)): Path<(String, String)>,
    Query(q): Query<DeviceQuery>,
) -> Response {
    let (snap, config) = world(&st);
    let topo = &config.topology;
    let Some(x) = topo.rack_ix(&rack_id) else {
        return not_found(&st, &ctx, &config, snap.as_deref(), "rack", &rack_id);
    };
    let Some(d) = topo.device_ix_in_rack(x, &device_id) else {
        return not_found(
            &st,
            &ctx,
            &config,
            snap.as_deref(),
            "device",
            &format!("{rack_id}/{device_id}"),
        );
    };
    let range = q
        .range
        .as_deref()
        .filter(|r| RANGES.contains(r))
        .unwrap_or("1h");
    let mut page = device_page(snap.as_deref(), &config, d, q.instance.as_deref(), range);
    page.charts = charts(&st, &config, d, range).await;
    let crumbs = crumbs(topo, Above::Rack(x, &device_id));
    let c = chrome(&st, &ctx, &config, snap.as_deref(), &page.name, "", crumbs);
    html(&st, &ctx, StatusCode::OK, "device.html", &c, &page)
}

/// The device page's data, without the charts.
pub fn device_page(
    snap: Option<&Snapshot>,
    config: &Config,
    d: DeviceIx,
    selected: Option<&str>,
    range: &str,
) -> DevicePage {
    let topo = &config.topology;
    let dev = &topo.devices[d as usize];
    let r = &topo.racks[dev.rack as usize];
    let tpl = config.catalog.devices.get(&dev.template_id).map(|t| &t.def);
    let mut instances = Vec::new();
    if let Some(s) = snap {
        for n in s.plan.targets.device_nodes(topo, d) {
            let Some(h) = s.health.nodes.get(n as usize) else {
                continue;
            };
            let name = s.plan.targets.key(topo, Scope::Node, n).to_owned();
            let slots = h
                .slots
                .iter()
                .flat_map(|g| {
                    let bound = &s.plan.checks[g.check as usize];
                    g.slots.iter().map(move |r| CheckRow {
                        id: format!("{}:{}{}", bound.id, g.label, r.name),
                        name: format!("{} {}", g.label, r.name),
                        st: St::of(Some(r.severity)),
                        value: r
                            .value
                            .map_or_else(|| "–".into(), |v| draw::value_text(v, "")),
                        pending: r
                            .pending
                            .map(|p| format!("pending {}", p.severity.as_str())),
                        message: String::new(),
                    })
                })
                .collect();
            instances.push(InstanceCard {
                anchor: format!("inst-{name}"),
                selected: selected == Some(name.as_str()),
                name,
                st: St::of(h.state),
                checks: check_rows(s, h),
                slots,
            });
        }
    } else {
        for i in topo.device_instances(dev) {
            instances.push(InstanceCard {
                anchor: format!("inst-{}", i.name),
                selected: selected == Some(i.name.as_str()),
                name: i.name.clone(),
                st: St::of(None),
                checks: Vec::new(),
                slots: Vec::new(),
            });
        }
    }
    let base = device_url(&r.id, &dev.id);
    DevicePage {
        id: dev.id.clone(),
        name: dev.name.clone(),
        rack_url: rack_device_url(&r.id, &dev.id),
        template: dev.template_id.clone(),
        kind: tpl.map_or_else(String::new, |t| t.kind.clone()),
        u: dev.u_position,
        u_height: tpl.map_or(1, |t| t.u_height.value),
        st: St::of(snap.and_then(|s| s.health.devices[d as usize].state)),
        checks: snap.map_or_else(Vec::new, |s| check_rows(s, &s.health.devices[d as usize])),
        instances,
        ranges: RANGES
            .iter()
            .map(|l| RangeLink {
                label: l,
                url: format!("{base}?range={l}"),
                active: *l == range,
            })
            .collect(),
        charts: Vec::new(),
    }
}

/// One chart per metric of the device's template: a range query per metric for all the
/// device's nodes (batched like the live reads), one line per node.
async fn charts(st: &AppState, config: &Config, d: DeviceIx, range: &str) -> Vec<ChartView> {
    let topo = &config.topology;
    let dev = &topo.devices[d as usize];
    let Some(tpl) = config.catalog.devices.get(&dev.template_id) else {
        return Vec::new();
    };
    let span = crate::server::live::parse_range(range).unwrap_or(Duration::from_secs(3600));
    let step = crate::server::live::auto_step(span);
    let end = SystemTime::now();
    let spec = RangeSpec {
        start: end.checked_sub(span).unwrap_or(SystemTime::UNIX_EPOCH),
        end,
        step,
    };
    let names: Vec<String> = if dev.instances.is_empty() {
        vec![dev.id.clone()]
    } else {
        topo.device_instances(dev)
            .iter()
            .map(|i| i.name.clone())
            .collect()
    };
    // Every chart's queries first, sent together (within the engine's bound): one after
    // another, a page of ten charts waited ten round trips.
    let mut wanted = Vec::new();
    for m in &tpl.def.metrics {
        let Some(def) = config.metrics.get(&m.value).map(|x| &x.def) else {
            continue;
        };
        let (ids, scope): (Vec<&str>, _) = match metricq::scope_of(def) {
            Some(MetricScope::Instance) => (
                names.iter().map(String::as_str).collect(),
                MetricScope::Instance,
            ),
            Some(MetricScope::Chassis) => (vec![dev.id.as_str()], MetricScope::Chassis),
            Some(MetricScope::Rack) => (
                vec![topo.racks[dev.rack as usize].id.as_str()],
                MetricScope::Rack,
            ),
            None => continue,
        };
        wanted.push((def, metricq::queries(def, scope, &ids)));
    }
    let mut futures = Vec::new();
    for (_, queries) in &wanted {
        for q in queries {
            futures.push(st.engine.range(&q.expr, spec));
        }
    }
    let limit = (config.app.planner.max_concurrent_queries as usize).max(1);
    let mut answers = futures_util::stream::iter(futures)
        .buffered(limit)
        .collect::<Vec<_>>()
        .await
        .into_iter();
    let mut out = Vec::new();
    for (def, queries) in wanted {
        let unit = def.display.unit.clone();
        let mut series: Vec<(String, Vec<(f64, f64)>)> = Vec::new();
        let mut error = None;
        let mut query = String::new();
        for q in queries {
            query = q.expr.clone();
            let Some(answer) = answers.next() else {
                break;
            };
            match answer {
                Ok(res) => {
                    for s in res.series {
                        let who = match (&q.label, &q.target) {
                            (Some(l), _) => s.labels.get(l).map(str::to_owned),
                            (None, Some(t)) => Some(t.clone()),
                            (None, None) => None,
                        }
                        .unwrap_or_else(|| def.name.clone());
                        // Several series of one target (sensors, PSUs) keep their own line,
                        // named by what tells them apart.
                        let extra = s
                            .labels
                            .iter()
                            .filter(|(k, _)| {
                                !matches!(*k, "__name__" | "instance" | "job")
                                    && Some(*k) != q.label.as_deref()
                                    && !k.ends_with("_id")
                            })
                            .map(|(k, v)| format!("{k}={v}"))
                            .collect::<Vec<_>>();
                        let label = if extra.is_empty() {
                            who
                        } else {
                            format!("{who} {}", extra.join(","))
                        };
                        series.push((label, s.points));
                    }
                }
                Err(e) => {
                    error.get_or_insert_with(|| e.to_string());
                }
            }
        }
        series.sort_by(|a, b| a.0.cmp(&b.0));
        let (warn, crit) = def
            .display
            .thresholds
            .as_ref()
            .map_or((None, None), |t| (t.warn, t.crit));
        let start = rackscope_core::telemetry::source::unix_seconds(spec.start);
        let stop = rackscope_core::telemetry::source::unix_seconds(spec.end);
        let omitted = series.len().saturating_sub(draw::MAX_LINES);
        out.push(ChartView {
            title: def.name.clone(),
            unit: unit.clone(),
            query,
            chart: (!series.is_empty())
                .then(|| draw::chart(&series, start, stop, &unit, warn, crit)),
            error,
            omitted,
        });
    }
    out
}

// ---------------------------------------------------------------- alerts

#[derive(Debug, Serialize)]
pub struct Choice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

#[derive(Debug, Serialize)]
pub struct AlertsPage {
    pub rows: Vec<AlertRow>,
    pub total: usize,
    pub matched: usize,
    pub severities: Vec<Choice>,
    pub sites: Vec<Choice>,
    pub rooms: Vec<Choice>,
}

#[derive(Deserialize)]
struct AlertsQuery {
    severity: Option<String>,
    site: Option<String>,
    room: Option<String>,
}

/// Enough for a shift's worst; more would pass 200 KB on a large site (2,000 alerts).
const MAX_ALERT_ROWS: usize = 250;

async fn alerts(State(st): State<AppState>, ctx: Ctx, Query(q): Query<AlertsQuery>) -> Response {
    let (snap, config) = world(&st);
    let snap = snap.as_deref();
    let topo = &config.topology;
    let all = snap.map(alert_views).unwrap_or_default();
    let sev = q.severity.filter(|s| !s.is_empty());
    let site = q.site.filter(|s| !s.is_empty());
    let room = q.room.filter(|s| !s.is_empty());
    let matched: Vec<&AlertView<'_>> = all
        .iter()
        .filter(|a| sev.as_deref().is_none_or(|s| a.state == s))
        .filter(|a| site.as_deref().is_none_or(|s| a.site_id == s))
        .filter(|a| room.as_deref().is_none_or(|r| a.room_id == r))
        .collect();
    let choice = |v: &str, l: &str, cur: &Option<String>| Choice {
        value: v.to_owned(),
        label: l.to_owned(),
        selected: cur.as_deref() == Some(v),
    };
    let page = AlertsPage {
        total: all.len(),
        matched: matched.len(),
        rows: matched
            .iter()
            .take(MAX_ALERT_ROWS)
            .map(|a| alert_row(a))
            .collect(),
        severities: [("CRIT", "✖ CRIT"), ("WARN", "▲ WARN")]
            .iter()
            .map(|(v, l)| choice(v, l, &sev))
            .collect(),
        sites: topo
            .sites
            .iter()
            .map(|s| choice(&s.id, &s.name, &site))
            .collect(),
        rooms: topo
            .rooms
            .iter()
            .filter(|r| {
                site.as_deref()
                    .is_none_or(|s| topo.sites[r.site as usize].id == s)
            })
            .map(|r| choice(&r.id, &r.name, &room))
            .collect(),
    };
    let crumbs = crumbs(&config.topology, Above::Overview);
    let c = chrome(&st, &ctx, &config, snap, "Alerts", "alerts", crumbs);
    html(&st, &ctx, StatusCode::OK, "alerts.html", &c, &page)
}

// ---------------------------------------------------------------- checks

#[derive(Debug, Serialize)]
pub struct CheckCard {
    pub id: String,
    pub name: String,
    pub scope: &'static str,
    pub expr: String,
    pub rules: Vec<String>,
    pub for_: String,
    pub expand: String,
    pub description: String,
    pub templates: Vec<String>,
    pub test_url: String,
    pub file: String,
}

#[derive(Debug, Serialize)]
pub struct KindGroup {
    pub kind: String,
    pub checks: Vec<CheckCard>,
}

#[derive(Debug, Serialize)]
pub struct Var {
    pub name: String,
    pub value: String,
}

#[derive(Debug, Serialize)]
pub struct TestSeries {
    pub labels: String,
    pub value: String,
}

#[derive(Debug, Serialize)]
pub struct TestPanel {
    pub check: String,
    pub expr: String,
    pub vars: Vec<Var>,
    pub ran: bool,
    /// `api.query_tester`: without it the form is shown but cannot run.
    pub enabled: bool,
    pub query: String,
    pub error: Option<String>,
    pub series: Vec<TestSeries>,
}

#[derive(Debug, Serialize)]
pub struct ChecksPage {
    pub groups: Vec<KindGroup>,
    pub test: Option<TestPanel>,
}

/// The placeholders a check expression may use, with a value to try them with.
fn example_values(config: &Config) -> Vec<(&'static str, String)> {
    let topo = &config.topology;
    vec![
        (
            "$instances",
            topo.instances
                .first()
                .map_or_else(String::new, |i| i.name.clone()),
        ),
        (
            "$chassis",
            topo.devices
                .first()
                .map_or_else(String::new, |d| d.id.clone()),
        ),
        (
            "$racks",
            topo.racks
                .first()
                .map_or_else(String::new, |r| r.id.clone()),
        ),
        ("$jobs", config.app.telemetry.job_regex.clone()),
    ]
}

/// The library, and the tester's form when `?test=` names a check. A GET never sends a
/// query, so that a link or an image on another page cannot make this server run one.
async fn checks(
    State(st): State<AppState>,
    ctx: Ctx,
    Query(q): Query<std::collections::HashMap<String, String>>,
) -> Response {
    checks_page(&st, &ctx, &q, false).await
}

/// The tester's form, submitted: runs the query (when the tester is on).
async fn checks_run(
    State(st): State<AppState>,
    ctx: Ctx,
    axum::Form(q): axum::Form<std::collections::HashMap<String, String>>,
) -> Response {
    checks_page(&st, &ctx, &q, true).await
}

async fn checks_page(
    st: &AppState,
    ctx: &Ctx,
    q: &std::collections::HashMap<String, String>,
    run: bool,
) -> Response {
    let (snap, config) = world(st);
    let snap = snap.as_deref();
    let mut groups: Vec<KindGroup> = Vec::new();
    for c in config.checks.iter() {
        let def = &c.def;
        let kind = config
            .check_kinds
            .get(&def.id.value)
            .cloned()
            .unwrap_or_else(|| "other".into());
        let mut templates: Vec<String> = config
            .catalog
            .devices
            .iter()
            .filter(|t| t.def.checks.iter().any(|x| x.value == def.id.value))
            .map(|t| format!("device: {}", t.def.id.value))
            .chain(
                config
                    .catalog
                    .racks
                    .iter()
                    .filter(|t| t.def.checks.iter().any(|x| x.value == def.id.value))
                    .map(|t| format!("rack: {}", t.def.id.value)),
            )
            .chain(
                config
                    .catalog
                    .components
                    .iter()
                    .filter(|t| t.def.checks.iter().any(|x| x.value == def.id.value))
                    .map(|t| format!("component: {}", t.def.id.value)),
            )
            .collect();
        templates.sort();
        let card = CheckCard {
            id: def.id.value.clone(),
            name: def.name.clone(),
            scope: def.scope.as_str(),
            expr: def.expr.value.clone(),
            rules: def
                .rules
                .iter()
                .map(|r| {
                    let v = match &r.value.value {
                        rackscope_core::model::checks::RuleValue::Number(n) => {
                            draw::value_text(*n, "")
                        }
                        rackscope_core::model::checks::RuleValue::Text(t) => format!("\"{t}\""),
                    };
                    format!("value {} {v} → {}", r.value.op.as_str(), r.value.severity)
                })
                .collect(),
            for_: def
                .for_duration
                .as_ref()
                .map_or_else(String::new, |f| f.value.to_string()),
            expand: def.expand_by_label.clone().unwrap_or_default(),
            description: def.description.clone().unwrap_or_default(),
            templates,
            test_url: format!("/checks?test={}#test", enc(&def.id.value)),
            file: c.file.display().to_string(),
        };
        match groups.iter_mut().find(|g| g.kind == kind) {
            Some(g) => g.checks.push(card),
            None => groups.push(KindGroup {
                kind,
                checks: vec![card],
            }),
        }
    }
    let test = match q.get("test") {
        Some(id) => Some(test_panel(st, &config, id, q, run).await),
        None => None,
    };
    let crumbs = crumbs(&config.topology, Above::Overview);
    let page = ChecksPage { groups, test };
    let c = chrome(st, ctx, &config, snap, "Checks library", "checks", crumbs);
    html(st, ctx, StatusCode::OK, "checks.html", &c, &page)
}

/// The tester: the check's expression (or the edited one) with its placeholders filled
/// from the form, run through the engine's client when the form was submitted.
async fn test_panel(
    st: &AppState,
    config: &Config,
    id: &str,
    q: &std::collections::HashMap<String, String>,
    run: bool,
) -> TestPanel {
    let expr = q
        .get("expr")
        .cloned()
        .or_else(|| config.checks.get(id).map(|c| c.def.expr.value.clone()))
        .unwrap_or_default();
    let vars: Vec<Var> = example_values(config)
        .into_iter()
        .filter(|(name, _)| expr.contains(name))
        .map(|(name, example)| Var {
            name: name.trim_start_matches('$').to_owned(),
            value: q
                .get(name.trim_start_matches('$'))
                .cloned()
                .unwrap_or(example),
        })
        .collect();
    let mut panel = TestPanel {
        check: id.to_owned(),
        expr: expr.clone(),
        ran: run,
        enabled: config.app.api.query_tester,
        query: String::new(),
        error: None,
        series: Vec::new(),
        vars,
    };
    if !panel.ran {
        return panel;
    }
    let values: std::collections::HashMap<String, String> = panel
        .vars
        .iter()
        .map(|v| (v.name.clone(), v.value.clone()))
        .collect();
    match crate::server::live::admit_test(st, expr.clone(), values).await {
        Err(e) => panel.error = Some(e.to_string()),
        Ok(query) => {
            panel.query = query.clone();
            match st.engine.instant_now(&query).await {
                Ok(res) => {
                    panel.series = res
                        .samples
                        .iter()
                        .take(200)
                        .map(|s| TestSeries {
                            labels: s
                                .labels
                                .iter()
                                .map(|(k, v)| format!("{k}=\"{v}\""))
                                .collect::<Vec<_>>()
                                .join(", "),
                            value: draw::value_text(s.value, ""),
                        })
                        .collect();
                }
                Err(e) => panel.error = Some(e.to_string()),
            }
        }
    }
    panel
}

// ---------------------------------------------------------------- wallboard, search

/// The NOC wallboard: the first playlist view in kiosk mode; each view moves on to the
/// next after `playlist.interval_seconds` (a meta refresh, so it runs without JavaScript).
async fn wallboard(State(st): State<AppState>) -> Response {
    let config = st.engine.config();
    let views = playlist(&config);
    let first = views.first().map_or("/", String::as_str);
    let sep = if first.contains('?') { '&' } else { '?' };
    Redirect::to(&format!("{first}{sep}kiosk=1&pl=0")).into_response()
}

#[derive(Debug, Serialize)]
pub struct Hit {
    pub kind: &'static str,
    pub name: String,
    pub id: String,
    pub url: String,
    pub path: String,
    pub st: St,
}

#[derive(Debug, Serialize)]
pub struct SearchPage {
    pub q: String,
    pub hits: Vec<Hit>,
    pub more: bool,
}

#[derive(Deserialize)]
struct SearchQuery {
    #[serde(default)]
    q: String,
}

const MAX_HITS: usize = 50;

/// Every place whose id or name contains `q` (case-insensitive), best first: exact ids,
/// then the hierarchy from sites down to instances.
pub fn search_hits(snap: Option<&Snapshot>, topo: &Topology, q: &str) -> Vec<Hit> {
    let needle = q.trim().to_lowercase();
    if needle.is_empty() {
        return Vec::new();
    }
    let matches = |id: &str, name: &str| {
        id.to_lowercase().contains(&needle) || name.to_lowercase().contains(&needle)
    };
    let st_of = |v: Option<&Vec<Option<Severity>>>, i: u32| St::of(level(v, i).flatten());
    let h = snap.map(|s| &*s.health);
    let mut hits = Vec::new();
    for (i, s) in topo.sites.iter().enumerate() {
        if matches(&s.id, &s.name) {
            hits.push(Hit {
                kind: "site",
                name: s.name.clone(),
                id: s.id.clone(),
                url: site_url(&s.id),
                path: String::new(),
                st: st_of(h.map(|h| &h.sites), i as u32),
            });
        }
    }
    for (i, r) in topo.rooms.iter().enumerate() {
        if matches(&r.id, &r.name) {
            hits.push(Hit {
                kind: "room",
                name: r.name.clone(),
                id: r.id.clone(),
                url: room_url(&r.id),
                path: topo.sites[r.site as usize].name.clone(),
                st: st_of(h.map(|h| &h.rooms), i as u32),
            });
        }
    }
    for (i, r) in topo.racks.iter().enumerate() {
        if matches(&r.id, &r.name) {
            hits.push(Hit {
                kind: "rack",
                name: r.name.clone(),
                id: r.id.clone(),
                url: rack_url(&r.id),
                path: topo.path(i as u32, None).join(" › "),
                st: St::of(h.and_then(|h| h.racks[i].state)),
            });
        }
    }
    for (i, d) in topo.devices.iter().enumerate() {
        if matches(&d.id, &d.name) {
            let rack = &topo.racks[d.rack as usize];
            hits.push(Hit {
                kind: "device",
                name: d.name.clone(),
                id: d.id.clone(),
                url: device_url(&rack.id, &d.id),
                path: format!(
                    "{} › U{}",
                    topo.path(d.rack, None).join(" › "),
                    d.u_position
                ),
                st: St::of(h.and_then(|h| h.devices[i].state)),
            });
        }
    }
    for (i, inst) in topo.instances.iter().enumerate() {
        if matches(&inst.name, "") {
            let d = &topo.devices[inst.device as usize];
            let rack = &topo.racks[d.rack as usize];
            hits.push(Hit {
                kind: "instance",
                name: inst.name.clone(),
                id: inst.name.clone(),
                url: format!(
                    "{}?instance={}#inst-{}",
                    device_url(&rack.id, &d.id),
                    enc(&inst.name),
                    enc(&inst.name)
                ),
                path: format!(
                    "{} › U{} › {}",
                    topo.path(d.rack, None).join(" › "),
                    d.u_position,
                    d.name
                ),
                st: St::of(node_state(snap, i as u32)),
            });
        }
    }
    // Exact ids first, keeping the hierarchy order otherwise.
    hits.sort_by_key(|h| h.id.to_lowercase() != needle);
    hits
}

async fn search(State(st): State<AppState>, ctx: Ctx, Query(q): Query<SearchQuery>) -> Response {
    let (snap, config) = world(&st);
    let snap = snap.as_deref();
    let hits = search_hits(snap, &config.topology, &q.q);
    // One exact match: go straight there, as a jump box should.
    let exact: Vec<&Hit> = hits
        .iter()
        .filter(|h| h.id.eq_ignore_ascii_case(q.q.trim()))
        .collect();
    if exact.len() == 1 && !ctx.fragment {
        return Redirect::to(&exact[0].url).into_response();
    }
    let more = hits.len() > MAX_HITS;
    let page = SearchPage {
        q: q.q.clone(),
        hits: hits.into_iter().take(MAX_HITS).collect(),
        more,
    };
    let crumbs = crumbs(&config.topology, Above::Overview);
    let mut c = chrome(&st, &ctx, &config, snap, "Search", "", crumbs);
    c.q = q.q;
    html(&st, &ctx, StatusCode::OK, "search.html", &c, &page)
}

// ---------------------------------------------------------------- events, themes, files

/// Server-sent events: the sequence number of every published snapshot, starting with the
/// current one. Ends when the server shuts down, so that open pages do not hold it up.
async fn events(State(st): State<AppState>) -> Response {
    // Each open stream holds a permit; past `server.max_sse_clients` a page falls back to
    // polling (the script does so after stream errors) instead of growing memory.
    let Ok(permit) = st.sse.clone().try_acquire_owned() else {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::RETRY_AFTER, HeaderValue::from_static("30"))],
            "too many live-update streams are open; this page polls instead",
        )
            .into_response();
    };
    let mut rx = st.engine.subscribe();
    rx.mark_changed();
    let closing = st.closing.subscribe();
    let stream = futures_util::stream::unfold(
        (rx, closing, permit),
        |(mut rx, mut closing, permit)| async move {
            if *closing.borrow() {
                return None;
            }
            let seq = tokio::select! {
                changed = rx.changed() => changed.ok().map(|()| *rx.borrow_and_update()),
                _ = closing.wait_for(|c| *c) => None,
            }?;
            let event = Event::default().data(seq.to_string());
            Some((Ok::<_, Infallible>(event), (rx, closing, permit)))
        },
    );
    Sse::new(stream)
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response()
}

#[derive(Deserialize)]
struct ThemeQuery {
    back: Option<String>,
}

/// Sets the theme cookie and goes back; a link, so that it works without JavaScript.
async fn theme(Path(name): Path<String>, Query(q): Query<ThemeQuery>) -> Response {
    let back = q
        .back
        .filter(|b| crate::server::guard::same_site_path(b))
        .unwrap_or_else(|| "/".into());
    let Some(t) = THEMES.iter().find(|t| **t == name) else {
        return Redirect::to(&back).into_response();
    };
    let mut r = Redirect::to(&back).into_response();
    if let Ok(v) = HeaderValue::from_str(&format!(
        "{}={t}; Path=/; Max-Age=31536000; SameSite=Lax",
        super::THEME_COOKIE
    )) {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    r
}

async fn asset(State(st): State<AppState>, ctx: Ctx, Path(file): Path<String>) -> Response {
    match st.ui.asset(&file) {
        Some(a) => (
            [
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static(a.content_type),
                ),
                // URLs carry the version, so a changed file has a new URL.
                (
                    header::CACHE_CONTROL,
                    HeaderValue::from_static("public, max-age=86400"),
                ),
            ],
            a.bytes.clone(),
        )
            .into_response(),
        None => no_route(&st, &ctx),
    }
}
