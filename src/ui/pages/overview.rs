//! The overview (`/`, `/views/worldmap`): counts, the worst alerts, the world map, the
//! sites and the Prometheus connection.

use std::time::SystemTime;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use rackscope_core::Config;
use rackscope_core::Severity;
use rackscope_core::maintenance::Maintenances;
use rackscope_core::telemetry::{Snapshot, StatsView};
use serde::Serialize;

use crate::server::AppState;
use crate::ui::chrome::{Link, chrome, level, world};
use crate::ui::draw::{self, St};
use crate::ui::rows::{AlertRow, Card, alert_row};
use crate::ui::urls::site_url;
use crate::ui::{Ctx, Page, html};

#[derive(Debug, Serialize)]
pub struct SiteRow {
    pub name: String,
    pub url: String,
    pub st: St,
    pub rooms: usize,
    pub racks: usize,
    pub alerts: usize,
    /// The window the whole site is in, if any.
    pub maint: Option<crate::ui::maint::Maint>,
}

#[derive(Debug, Serialize)]
pub struct OverviewPage {
    pub st: St,
    pub cards: Vec<Card>,
    pub alerts: Vec<AlertRow>,
    pub alerts_total: usize,
    pub map: draw::MapView,
    /// `map.zoom_controls`: the zoom buttons (shown when the page's script runs).
    pub map_controls: bool,
    pub land: &'static str,
    pub markers: Vec<draw::Marker>,
    pub sites: Vec<SiteRow>,
    pub prometheus: Vec<Link>,
    /// The maintenance windows active now, linked to what they cover.
    pub maintenances: Vec<crate::ui::maint::MaintLine>,
}

impl Page for OverviewPage {
    const TEMPLATE: &'static str = "overview.html";
}

const OVERVIEW_ALERTS: usize = 15;

pub async fn handler(State(st): State<AppState>, ctx: Ctx) -> Response {
    let (snap, config) = world(&st);
    let snap = snap.as_deref();
    let m = st.engine.maintenances();
    let page = build(snap, &config, &m, &st.engine.stats(), SystemTime::now());
    let c = chrome(&st, &ctx, &config, snap, "Overview", "overview", Vec::new());
    html(&st, &ctx, StatusCode::OK, &c, &page)
}

/// The overview's data: the engine's query figures and the time are passed in.
pub fn build(
    snap: Option<&Snapshot>,
    config: &Config,
    m: &Maintenances,
    stats: &StatsView,
    now: SystemTime,
) -> OverviewPage {
    let topo = &config.topology;
    let cover = crate::ui::maint::cover(snap, config, m);
    let all = crate::ui::maint::shown_alerts(snap, &cover, |_| true);
    let mut per_site = vec![0usize; topo.sites.len()];
    for a in all.iter().map(|m| &m.alert) {
        if let Some(i) = topo.sites.iter().position(|s| s.id == a.site.id) {
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
    let crit_alerts = all
        .iter()
        .filter(|a| a.alert.state == Severity::Crit)
        .count();
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
                lx: x + 4.0,
                ly: y + 1.5,
                anchor: "start",
            });
        }
        sites.push(SiteRow {
            name: s.name.clone(),
            url: site_url(&s.id),
            st: St::of(site_state(i)),
            rooms: s.rooms.len(),
            racks,
            alerts: per_site[i],
            maint: topo
                .site_ix(&s.id)
                .and_then(|si| cover.site(si))
                .map(crate::ui::maint::Maint::of),
        });
    }
    draw::place_labels(&mut markers);
    OverviewPage {
        st: St::of(snap.and_then(|s| s.health.global)),
        cards,
        alerts_total: all.len(),
        alerts: all
            .iter()
            .take(OVERVIEW_ALERTS)
            .map(|a| alert_row(topo, a))
            .collect(),
        map: draw::map_view(&config.app.map),
        map_controls: config.app.map.zoom_controls,
        land: crate::ui::world::LAND_PATH,
        markers,
        sites,
        prometheus: prometheus_links(snap, config, stats, now),
        maintenances: crate::ui::maint::active_lines(&cover, config),
    }
}

/// The Prometheus panel: where it is, the last refresh, latency, heartbeat and counts.
fn prometheus_links(
    snap: Option<&Snapshot>,
    config: &Config,
    stats: &StatsView,
    now: SystemTime,
) -> Vec<Link> {
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
    prometheus
}
