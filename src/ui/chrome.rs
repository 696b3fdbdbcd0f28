//! The frame of every page: navigation, breadcrumbs, the Prometheus pill, the stale
//! banner and the wallboard's next view; and the 404 pages, which are only a frame.

use std::time::SystemTime;

use axum::response::Response;
use rackscope_core::Config;
use rackscope_core::telemetry::{Snapshot, Stale, StaleCause, StatsView};
use rackscope_core::topology::{RackIx, RoomIx, Topology};
use serde::Serialize;

use super::draw::St;
use super::urls::{enc, rack_url, room_url, site_url};
use super::{Ctx, PageError, THEMES, error_page};
use crate::server::AppState;

#[derive(Debug, Clone, Serialize)]
pub struct Link {
    pub name: String,
    pub url: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct NavItem {
    pub name: String,
    /// Empty for an aisle, which has no page.
    pub url: String,
    pub st: St,
    /// The page shown is this object's.
    pub current: bool,
    /// A site's rooms; the current room's aisles (and its standalone racks, as one row
    /// without a name); an aisle's racks.
    pub children: Vec<NavItem>,
}

/// The most racks the tree lists under the current room; past it, its aisles only.
const MAX_TREE_RACKS: usize = 300;

/// The site, room and rack the page at `here` shows, from its path.
fn located(topo: &Topology, here: &str) -> (Option<usize>, Option<RoomIx>, Option<RackIx>) {
    let path = here.split(['?', '#']).next().unwrap_or_default();
    let dec = rackscope_core::util::percent_decode;
    let seg: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let rack = match seg.as_slice() {
        ["views", "rack", key] | ["views", "device", key, _] => topo.find_rack(&dec(key)).one(),
        _ => None,
    };
    let room = match seg.as_slice() {
        ["views", "room", key] => topo.find_room(&dec(key)).one(),
        _ => rack.map(|r| topo.racks[r].room),
    };
    let site = match seg.as_slice() {
        ["views", "site", id] => topo.sites.iter().position(|s| s.id == dec(id)),
        _ => room.map(|r| topo.rooms[r].site.index()),
    };
    (site, room, rack)
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
    /// Where this view stands in the wallboard's playlist, for its controls.
    pub wallboard: Option<Wallboard>,
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
    /// Who is signed in, and what the role allows.
    pub user: super::UserView,
    /// Sign-in is enabled (the menu offers it to anonymous viewers).
    pub auth: bool,
    /// This page's path and query, URL-encoded, for `/signin?next=`.
    pub here_enc: String,
    /// `features.maintenances`: the Maintenance entry of the navigation and the pages'
    /// Start maintenance forms.
    pub maintenances: bool,
    /// `plugins.slurm.enabled`: the Workload entry of the navigation.
    pub slurm: bool,
    /// The header's bell: active alerts by severity (`features.notifications`).
    pub bell: Option<Bell>,
}

/// The wallboard controls' data: this view's place in the playlist, the previous one,
/// and its time on screen.
#[derive(Debug, Clone, Serialize)]
pub struct Wallboard {
    pub index: usize,
    pub count: usize,
    pub prev: String,
    pub seconds: u32,
}

/// The bell's counts and the browser's notification defaults from app.yaml's `features`.
#[derive(Debug, Clone, Serialize)]
pub struct Bell {
    pub crit: usize,
    pub warn: usize,
    pub max_visible: u32,
    pub toast_seconds: u32,
    pub toast_position: &'static str,
    pub toast_stack: u32,
}

impl Bell {
    fn of(
        config: &Config,
        snap: Option<&Snapshot>,
        m: &rackscope_core::maintenance::Maintenances,
    ) -> Bell {
        let f = &config.app.features;
        let cover = crate::ui::maint::cover(snap, config, m);
        let shown = crate::ui::maint::shown_alerts(snap, &cover, |_| true);
        let count =
            |s: rackscope_core::Severity| shown.iter().filter(|a| a.alert.state == s).count();
        Bell {
            crit: count(rackscope_core::Severity::Crit),
            warn: count(rackscope_core::Severity::Warn),
            max_visible: f.notifications_max_visible.clamp(1, 50),
            toast_seconds: f.toast_duration_seconds.unwrap_or(8).clamp(2, 600),
            toast_position: match f.toast_position.as_deref() {
                Some("top-left") => "top-left",
                Some("bottom-left") => "bottom-left",
                Some("bottom-right") => "bottom-right",
                Some("top-center") => "top-center",
                Some("bottom-center") => "bottom-center",
                _ => "top-right",
            },
            toast_stack: f.toast_stack_threshold.unwrap_or(3).clamp(1, 50),
        }
    }
}

impl Chrome {
    pub fn titled(&self, title: &str) -> Chrome {
        Chrome {
            title: title.to_owned(),
            ..self.clone()
        }
    }
}

/// A refused reload: what is on disk is not what runs, and why.
fn config_banner(s: &crate::server::reload::Status) -> Option<Pill> {
    if s.ok {
        return None;
    }
    let first = s.errors.first().map_or_else(String::new, |p| {
        format!(" First: {}:{}:{}: {}.", p.file, p.line, p.col, p.message)
    });
    Some(Pill {
        class: "st-WARN",
        text: format!(
            "The configuration on disk has {} error{}; the last good configuration keeps running.{first} \
             (GET /api/config/status lists them all; `rackscope check` too.)",
            s.error_count,
            if s.error_count == 1 { "" } else { "s" }
        ),
        title: String::new(),
    })
}

/// The state of a level, `None` (not monitored) when there is no snapshot.
pub fn level<T: Copy>(v: Option<&Vec<T>>, i: u32) -> Option<T> {
    v.and_then(|v| v.get(i as usize).copied())
}

/// The views the wallboard rotates through: `playlist.views` that this server shows
/// (the Slurm views with the Slurm view on), else the overview, the alerts and
/// every room.
pub fn playlist(config: &Config) -> Vec<String> {
    playlist_timed(config).into_iter().map(|(v, _)| v).collect()
}

/// The wallboard's views, each with its time on screen: its own `seconds`, else
/// `playlist.interval_seconds`; never under 5 s.
pub fn playlist_timed(config: &Config) -> Vec<(String, u32)> {
    let ours = |v: &str| {
        v == "/"
            || v.starts_with("/views/")
            || (v.starts_with("/slurm/") && config.slurm.is_some())
            || ["/alerts", "/notifications", "/checks"].contains(&v)
    };
    let pl = &config.app.playlist;
    let every = pl.interval_seconds.max(5);
    let views: Vec<(String, u32)> = pl
        .views
        .iter()
        .filter(|v| ours(v.path()))
        .map(|v| (v.path().to_owned(), v.seconds().map_or(every, |s| s.max(5))))
        .collect();
    if !views.is_empty() {
        return views;
    }
    let mut v = vec!["/".to_owned(), "/alerts".to_owned()];
    let topo = &config.topology;
    v.extend(topo.rooms.ixs().map(|r| room_url(topo, r)));
    v.into_iter().map(|x| (x, every)).collect()
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
    let views = playlist_timed(config);
    let shown = ctx.user.role.is_some();
    // `pl` comes from the URL: reduce it before adding, so a huge one cannot overflow.
    let len = views.len().max(1);
    let at = |n: usize| {
        let v = views.get(n).map_or("/", |(v, _)| v.as_str());
        let sep = if v.contains('?') { '&' } else { '?' };
        format!("{v}{sep}kiosk=1&pl={n}")
    };
    // The next view names a room: not for a client with no role.
    let wallboard = ctx.playlist.filter(|_| shown).map(|i| {
        let i = i % len;
        Wallboard {
            index: i + 1,
            count: views.len(),
            prev: at((i + len - 1) % len),
            seconds: views.get(i).map_or(30, |(_, s)| *s),
        }
    });
    let next_url = ctx
        .playlist
        .filter(|_| shown)
        .map(|i| at((i % len + 1) % len));
    let back = enc(&ctx.here);
    Chrome {
        maintenances: config.app.features.maintenances,
        slurm: config.slurm.is_some(),
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
        interval: wallboard
            .as_ref()
            .map_or(config.app.playlist.interval_seconds.max(5), |w| w.seconds),
        wallboard,
        refresh: config.app.refresh.room_state_seconds.max(10),
        seq: snap.map_or(0, |s| s.seq),
        active,
        // A client with no role sees no place names and no state: only the way to sign in.
        nav: if shown {
            nav(&config.topology, snap, &ctx.here)
        } else {
            Vec::new()
        },
        crumbs: if shown { crumbs } else { Vec::new() },
        prom: if shown {
            prom_pill(&st.engine.stats())
        } else {
            Pill {
                class: "",
                text: String::new(),
                title: String::new(),
            }
        },
        banner: if shown {
            config_banner(&st.reload.status()).or_else(|| banner(snap, SystemTime::now()))
        } else {
            None
        },
        q: String::new(),
        v: st.ui.version.clone(),
        user: ctx.user.clone(),
        auth: st.auth.access.load().enabled,
        here_enc: back.clone(),
        bell: (shown && config.app.features.notifications)
            .then(|| Bell::of(config, snap, &st.engine.maintenances())),
    }
}

/// The navigation: every site with its rooms, each with its state.
fn nav(topo: &Topology, snap: Option<&Snapshot>, here: &str) -> Vec<NavItem> {
    let h = snap.map(|s| &*s.health);
    let (site, room, rack) = located(topo, here);
    let rack_item = |x: RackIx| NavItem {
        name: topo.racks[x].name.clone(),
        url: crate::ui::urls::rack_url(topo, x),
        st: St::of(h.and_then(|h| h.racks.get(x.index())).and_then(|r| r.state)),
        current: rack == Some(x),
        children: Vec::new(),
    };
    // The current room opens on its aisles and racks, bounded for a hall of thousands.
    let inside = |r: RoomIx| -> Vec<NavItem> {
        let room = &topo.rooms[r];
        let racks = topo.room_racks(r).count() <= MAX_TREE_RACKS;
        let mut out: Vec<NavItem> = room
            .aisles
            .iter()
            .map(|&a| NavItem {
                name: topo.aisles[a].name.clone(),
                url: String::new(),
                st: St::of(level(h.map(|h| &h.aisles), a.get()).flatten()),
                current: false,
                children: if racks {
                    topo.aisles[a].racks.iter().map(|&x| rack_item(x)).collect()
                } else {
                    Vec::new()
                },
            })
            .collect();
        if racks && !room.standalone_racks.is_empty() {
            out.push(NavItem {
                name: "Standalone racks".into(),
                url: String::new(),
                st: St::of(None),
                current: false,
                children: room
                    .standalone_racks
                    .iter()
                    .map(|&x| rack_item(x))
                    .collect(),
            });
        }
        out
    };
    topo.sites
        .iter()
        .enumerate()
        .map(|(si, s)| NavItem {
            name: s.name.clone(),
            url: site_url(&s.id),
            st: St::of(level(h.map(|h| &h.sites), si as u32).flatten()),
            current: site == Some(si) && room.is_none(),
            children: s
                .rooms
                .iter()
                .map(|&r| {
                    let open = room == Some(r);
                    NavItem {
                        name: topo.rooms[r].name.clone(),
                        url: room_url(topo, r),
                        st: St::of(level(h.map(|h| &h.rooms), r.get()).flatten()),
                        current: open && rack.is_none(),
                        children: if open { inside(r) } else { Vec::new() },
                    }
                })
                .collect(),
        })
        .collect()
}

/// The Prometheus pill: unreachable, its latency, or waiting for a first answer.
fn prom_pill(stats: &StatsView) -> Pill {
    match (stats.heartbeat_ok, stats.last_ms) {
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
    }
}

/// The banner when the states cannot be trusted: none yet, stale, or partly failed.
fn banner(snap: Option<&Snapshot>, now: SystemTime) -> Option<Pill> {
    match snap {
        None => Some(Pill {
            class: "st-UNKNOWN",
            text: "Waiting for the first refresh from Prometheus: every state is UNKNOWN for now."
                .into(),
            title: String::new(),
        }),
        Some(s) => match &s.stale {
            Some(stale) => Some(stale_banner(s, stale, now)),
            None if s.sources.iter().any(|x| x.down.is_some()) => Some(sources_banner(s, now)),
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
    }
}

/// The banner when some sites' own Prometheus does not answer while others do: which
/// sites, since when, and whether their states are held or UNKNOWN.
fn sources_banner(s: &Snapshot, now: SystemTime) -> Pill {
    let topo = &s.config.topology;
    let mut expired = false;
    let parts: Vec<String> = s
        .sources
        .iter()
        .enumerate()
        .filter_map(|(i, st)| {
            let down = st.down.as_ref()?;
            expired |= down.expired;
            let sites: Vec<&str> = s
                .plan
                .routes
                .sites_of(u16::try_from(i).unwrap_or(u16::MAX))
                .filter_map(|x| topo.sites.get(x).map(|x| x.name.as_str()))
                .collect();
            let for_s = now.duration_since(down.since).unwrap_or_default().as_secs();
            let shown = if down.expired {
                "UNKNOWN"
            } else {
                "shown as last answered"
            };
            Some(format!(
                "Prometheus `{}` has not answered for {for_s} s ({}): {} {shown}",
                st.name,
                down.reason,
                sites.join(", ")
            ))
        })
        .collect();
    Pill {
        class: if expired { "st-CRIT" } else { "st-WARN" },
        text: format!("{}. Other sites are current.", parts.join("; ")),
        title: String::new(),
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
pub fn world(st: &AppState) -> (Option<std::sync::Arc<Snapshot>>, std::sync::Arc<Config>) {
    let snap = st.engine.snapshot();
    let config = snap
        .as_ref()
        .map_or_else(|| st.engine.config(), |s| s.config.clone());
    (snap, config)
}

/// What a page sits under, for its breadcrumbs.
pub enum Above<'a> {
    Overview,
    Site(rackscope_core::topology::SiteIx),
    Room(RoomIx),
    /// A device page: its rack, linked with the device highlighted.
    Rack(RackIx, &'a str),
}

/// The breadcrumbs from the overview down to the page's parent.
pub fn crumbs(topo: &Topology, above: Above<'_>) -> Vec<Link> {
    let mut out = vec![Link {
        name: "Overview".into(),
        url: "/".into(),
    }];
    let (site, room, rack) = match above {
        Above::Overview => (None, None, None),
        Above::Site(s) => (Some(s), None, None),
        Above::Room(r) => (Some(topo.rooms[r].site), Some(r), None),
        Above::Rack(x, device) => {
            let r = topo.racks[x].room;
            (Some(topo.rooms[r].site), Some(r), Some((x, device)))
        }
    };
    if let Some(s) = site {
        let s = &topo.sites[s];
        out.push(Link {
            name: s.name.clone(),
            url: site_url(&s.id),
        });
    }
    if let Some(r) = room {
        out.push(Link {
            name: topo.rooms[r].name.clone(),
            url: room_url(topo, r),
        });
    }
    if let Some((x, device)) = rack {
        let r = &topo.racks[x];
        out.push(Link {
            name: r.name.clone(),
            url: format!(
                "{}?device={}#dev-{}",
                rack_url(topo, x),
                enc(device),
                enc(device)
            ),
        });
    }
    out
}

pub fn not_found(
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

/// The state of node `n`, `None` without a snapshot.
pub fn node_state(snap: Option<&Snapshot>, n: u32) -> Option<rackscope_core::Severity> {
    snap.and_then(|s| s.health.nodes.get(n as usize))
        .and_then(|h| h.state)
}
