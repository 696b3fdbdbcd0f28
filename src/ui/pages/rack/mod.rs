//! A rack: both faces' elevations, its devices, checks and alerts, and its live values.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use rackscope_core::Config;
use rackscope_core::read::check_outcomes;
use rackscope_core::telemetry::Snapshot;
use rackscope_core::topology::RackIx;
use serde::{Deserialize, Serialize};

use crate::server::AppState;
use crate::ui::chrome::{Above, Link, chrome, crumbs, world};
use crate::ui::draw::{self, St};
use crate::ui::rows::{AlertRow, CheckRow, alert_row, check_row};
use crate::ui::urls::{device_url, rack_device_url, rack_url};
use crate::ui::{Ctx, Page, html};

mod edit;
pub(crate) mod elevation;

pub use edit::{EditPanel, submit};

#[derive(Debug, Serialize)]
pub struct DeviceRow {
    pub u: String,
    pub name: String,
    pub url: String,
    pub rack_url: String,
    pub template: String,
    pub st: St,
    pub highlight: bool,
    /// The window the device is in, if one covers it whole.
    pub maint: Option<crate::ui::maint::Maint>,
    /// The worst Slurm status of its instances (the Slurm view on, the device a node).
    pub slurm: Option<crate::ui::pages::device::SlurmMark>,
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
    /// With the rack CRIT and the Slurm view on: the partitions it holds nodes of.
    pub impact: Vec<String>,
    /// `site/room/aisle/rack`, shown where the id alone is shared with another rack.
    pub path: Option<String>,
    /// The racks sharing this rack's id and rack-scope series (their state is one).
    pub shared_series: Vec<Link>,
    pub name: String,
    pub st: St,
    pub template: String,
    pub u_height: u32,
    pub elevations: Vec<draw::Elevation>,
    pub devices: Vec<DeviceRow>,
    pub checks: Vec<CheckRow>,
    pub alerts: Vec<AlertRow>,
    pub live: LiveView,
    /// The window the whole rack is in, if any.
    pub maint: Option<crate::ui::maint::Maint>,
    /// Whether a window covers part of it (a device, an instance, some checks).
    pub partly_maint: bool,
    pub start_maint: Option<crate::ui::maint::StartMaint>,
    /// The "Edit rack" forms, for administrators on a server that allows editing.
    pub edit: Option<EditPanel>,
}

impl Page for RackPage {
    const TEMPLATE: &'static str = "rack.html";
}

#[derive(Deserialize)]
pub struct RackQuery {
    pub device: Option<String>,
    /// The operation the "Edit rack" forms just applied (the redirect after a save).
    pub edited: Option<String>,
    /// A free unit picked on the elevation: the add form opens with it filled in. Text, so
    /// that a hand-typed `?add_u=x` opens the page rather than failing it.
    pub add_u: Option<String>,
    pub add_face: Option<String>,
}

pub async fn handler(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    Query(q): Query<RackQuery>,
) -> Response {
    let form = match q.add_u.as_deref().and_then(|u| u.parse::<u32>().ok()) {
        Some(u) => crate::ui::pages::topo_form::TopoForm {
            op: "add_device".into(),
            u: u.to_string(),
            face: q
                .add_face
                .clone()
                .filter(|f| f == "rear")
                .unwrap_or_default(),
            ..Default::default()
        },
        None => Default::default(),
    };
    let panel = crate::ui::pages::topo_form::Shown {
        edited: q.edited.clone(),
        form,
        ..Default::default()
    };
    render(&st, &ctx, &id, q.device.as_deref(), panel, StatusCode::OK).await
}

/// The rack page, with the edit panel in the state `shown` (a flash after a save, or a
/// refused form with what was typed).
async fn render(
    st: &AppState,
    ctx: &Ctx,
    id: &str,
    device: Option<&str>,
    shown: crate::ui::pages::topo_form::Shown,
    status: StatusCode,
) -> Response {
    let (snap, config) = world(st);
    let topo = &config.topology;
    let x = match crate::resolve::rack(topo, id) {
        Ok(x) => x,
        Err(e) => {
            return crate::ui::pages::ambiguous::unresolved(st, ctx, &config, snap.as_deref(), e);
        }
    };
    let m = st.engine.maintenances();
    let mut page = build(snap.as_deref(), &config, &m, x, device);
    let key = topo.rack_key(x);
    page.start_maint = crate::ui::maint::start_form(
        st,
        ctx,
        "rack",
        &key,
        rack_url(topo, x),
        &format!("rack {key} and every device in it"),
    );
    if ctx.user.admin && crate::server::editing_api::editors_allowed(st).is_ok() {
        page.edit = Some(edit::panel(st, &config, x, shown));
    }
    if let Some(s) = &snap {
        let live = crate::server::live::rack_live(&st.engine, s, x).await;
        page.live = live_view(&config, &live);
        device_bars(s, &config, x, &live, &mut page.elevations);
    }
    let r = &topo.racks[x];
    let crumbs = crumbs(topo, Above::Room(r.room));
    let c = chrome(st, ctx, &config, snap.as_deref(), &r.name, "", crumbs);
    html(st, ctx, status, &c, &page)
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

/// The worst Slurm mark of a device's instances; none for an instance-less device or
/// with the Slurm view off.
fn slurm_of_device(
    s: &Snapshot,
    dev: &rackscope_core::topology::Device,
) -> Option<crate::ui::pages::device::SlurmMark> {
    (dev.instances.start.get()..dev.instances.end.get())
        .filter_map(|i| {
            crate::ui::pages::device::SlurmMark::of(
                s,
                Some(rackscope_core::topology::InstanceIx::new(i)),
            )
        })
        .max_by_key(|m| m.level)
}

/// The rack page's data, without the live values; public for the render benchmark.
pub fn build(
    snap: Option<&Snapshot>,
    config: &Config,
    m: &rackscope_core::maintenance::Maintenances,
    x: RackIx,
    highlight: Option<&str>,
) -> RackPage {
    let topo = &config.topology;
    let cover = crate::ui::maint::cover(snap, config, m);
    let r = &topo.racks[x];
    let rack_u = r.u_height.max(1);
    let rack_h = snap.map(|s| &s.health.racks[x.index()]);
    let rack_sev = rack_h.and_then(|h| h.state);
    let rack_st = St::of(rack_sev);
    let mut elevations = Vec::new();
    for face in [
        rackscope_core::model::topology::Face::Front,
        rackscope_core::model::topology::Face::Rear,
    ] {
        elevations.push(elevation::elevation(
            snap,
            config,
            x,
            face,
            highlight,
            rack_sev,
            elevation::Shade::Health,
        ));
    }
    let mut devices: Vec<DeviceRow> = r
        .devices
        .iter()
        .map(|&d| {
            let dev = &topo.devices[d];
            let h = device_u_height(config, dev);
            DeviceRow {
                u: if h > 1 {
                    format!("U{}–U{}", dev.u_position, dev.u_position + h - 1)
                } else {
                    format!("U{}", dev.u_position)
                },
                name: dev.name.clone(),
                url: device_url(topo, d),
                rack_url: rack_device_url(topo, d),
                template: dev.template_id.clone(),
                st: St::of(snap.and_then(|s| s.health.devices[d.index()].state)),
                highlight: highlight == Some(dev.id.as_str()),
                maint: cover.device(d).map(crate::ui::maint::Maint::of),
                slurm: snap.and_then(|s| slurm_of_device(s, dev)),
            }
        })
        .collect();
    devices.reverse();
    for e in &mut elevations {
        for b in &mut e.devices {
            if let Some(w) = topo
                .device_ix_in_rack(x, &b.id)
                .and_then(|d| cover.device(d))
            {
                b.maint = true;
                b.title = format!("{}. {}", b.title, crate::ui::maint::Maint::of(w).title);
            }
        }
    }
    let shown = crate::ui::maint::shown_alerts(snap, &cover, |r| r == x);
    let alerts: Vec<AlertRow> = shown.iter().map(|a| alert_row(topo, a)).collect();
    hover_cards(snap, config, x, &cover, &shown, &alerts, &mut elevations);
    RackPage {
        impact: match (snap, rack_sev) {
            (Some(s), Some(rackscope_core::Severity::Crit)) if s.slurm.is_some() => {
                crate::ui::pages::slurm::impact_lines(s, &[x])
            }
            _ => Vec::new(),
        },
        id: r.id.clone(),
        path: topo.rack_is_ambiguous(x).then(|| topo.rack_path(x)),
        shared_series: rackscope_core::read::shared_series(config, x)
            .into_iter()
            .map(|o| Link {
                name: topo.rack_path(o),
                url: rack_url(topo, o),
            })
            .collect(),
        name: r.name.clone(),
        st: rack_st,
        template: r.template_id.clone().unwrap_or_default(),
        u_height: rack_u,
        elevations,
        devices,
        checks: match (snap, rack_h) {
            (Some(s), Some(h)) => check_outcomes(s, h).iter().map(check_row).collect(),
            _ => Vec::new(),
        },
        alerts,
        live: LiveView::default(),
        maint: cover.rack(x).map(crate::ui::maint::Maint::of),
        partly_maint: cover.touches_rack(x),
        start_maint: None,
        edit: None,
    }
}

pub(super) fn device_u_height(config: &Config, dev: &rackscope_core::topology::Device) -> u32 {
    config
        .catalog
        .devices
        .get(&dev.template_id)
        .map_or(1, |t| t.def.u_height.value.max(1))
}

/// The most failing nodes a device's hover card lists; the rest are counted.
const CARD_LINES: usize = 4;

/// What the hover cards of the elevations say beyond the state: each device's failing
/// nodes and checks, its maintenance and its Slurm status; each node cell's checks.
fn hover_cards(
    snap: Option<&Snapshot>,
    config: &Config,
    x: RackIx,
    cover: &rackscope_core::maintenance::Coverage<'_>,
    shown: &[rackscope_core::read::maintenance::Marked<'_, '_>],
    rows: &[AlertRow],
    elevations: &mut [draw::Elevation],
) {
    let topo = &config.topology;
    let mut by_node: std::collections::HashMap<&str, &str> = std::collections::HashMap::new();
    let mut by_device: std::collections::HashMap<rackscope_core::topology::DeviceIx, Vec<String>> =
        std::collections::HashMap::new();
    for (m, row) in shown.iter().zip(rows) {
        if let Some(n) = m.alert.node_id() {
            by_node.insert(n, row.checks.as_str());
        }
        if let Some(d) = m.alert.device_ix {
            by_device.entry(d).or_default().push(draw::short(
                &format!("{} {}: {}", row.st.icon, row.name, row.checks),
                110,
            ));
        }
    }
    for e in elevations {
        for b in &mut e.devices {
            let Some(d) = topo.device_ix_in_rack(x, &b.id) else {
                continue;
            };
            if let Some(lines) = by_device.get(&d) {
                let mut text: Vec<String> = lines.iter().take(CARD_LINES).cloned().collect();
                if lines.len() > CARD_LINES {
                    text.push(format!("and {} more", lines.len() - CARD_LINES));
                }
                b.hud.checks = text.join("\n");
            }
            b.hud.slurm = snap
                .and_then(|s| slurm_of_device(s, &topo.devices[d]))
                .filter(|m| m.level >= rackscope_core::slurm::Level::Warn)
                .map(|m| format!("{} ({})", m.status, m.partitions));
            b.hud.maint = cover
                .device(d)
                .map(|w| crate::ui::maint::Maint::of(w).title);
            for c in &mut b.cells {
                if let Some(checks) = by_node.get(c.name.as_str()) {
                    c.checks = (*checks).to_owned();
                }
            }
        }
    }
}

/// Each device's hottest node and the power its nodes draw, as bars of its hover card:
/// temperature up to the library's CRIT threshold, power against the rack's hungriest
/// device.
fn device_bars(
    snap: &Snapshot,
    config: &Config,
    x: RackIx,
    live: &crate::server::live::RackLive,
    elevations: &mut [draw::Elevation],
) {
    let topo = &config.topology;
    let crit = config
        .metrics
        .iter()
        .filter(|m| rackscope_core::telemetry::metricq::is_temperature(&m.def))
        .find_map(|m| m.def.display.thresholds.as_ref().and_then(|t| t.crit))
        .unwrap_or(50.0);
    let per_device = |d| {
        let keys = crate::server::live::node_keys(snap, d);
        let temp = keys
            .iter()
            .filter_map(|k| live.node_temperature.get(k))
            .copied()
            .fold(None, |m: Option<f64>, t| Some(m.map_or(t, |m| m.max(t))));
        let power = keys
            .iter()
            .filter_map(|k| live.node_power.get(k))
            .copied()
            .fold(None, |p: Option<f64>, w| Some(p.unwrap_or(0.0) + w));
        (temp, power)
    };
    let devices: Vec<_> = topo.racks[x]
        .devices
        .iter()
        .map(|&d| (d, per_device(d)))
        .collect();
    let most = devices
        .iter()
        .filter_map(|(_, (_, p))| *p)
        .fold(0.0, f64::max);
    for e in elevations {
        for b in &mut e.devices {
            let Some((_, (temp, power))) =
                devices.iter().find(|(d, _)| topo.devices[*d].id == b.id)
            else {
                continue;
            };
            b.hud.temp = temp.map(|t| draw::Bar {
                text: format!("hottest node {t:.1} °C"),
                frac: ((t - (crit - 25.0)) / 25.0).clamp(0.0, 1.0),
            });
            b.hud.power = power.map(|w| draw::Bar {
                text: format!("{} drawn", draw::power_text(w)),
                frac: if most > 0.0 {
                    (w / most).clamp(0.0, 1.0)
                } else {
                    0.0
                },
            });
        }
    }
}
