//! A rack: both faces' elevations, its devices, checks and alerts, and its live values.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use rackscope_core::Severity;
use rackscope_core::load::Config;
use rackscope_core::model::checks::Scope;
use rackscope_core::read::{check_outcomes, located_alerts_where};
use rackscope_core::telemetry::Snapshot;
use rackscope_core::topology::{DeviceIx, RackIx};
use serde::{Deserialize, Serialize};

use crate::server::AppState;
use crate::ui::chrome::{Above, Link, chrome, crumbs, node_state, not_found, world};
use crate::ui::draw::{self, St};
use crate::ui::rows::{AlertRow, CheckRow, alert_row, check_row};
use crate::ui::urls::{device_url, rack_device_url, rack_url};
use crate::ui::{Ctx, Page, html};

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

impl Page for RackPage {
    const TEMPLATE: &'static str = "rack.html";
}

#[derive(Deserialize)]
pub struct RackQuery {
    pub device: Option<String>,
}

pub async fn handler(
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
    let mut page = build(snap.as_deref(), &config, x, q.device.as_deref());
    if let Some(s) = &snap {
        let live = crate::server::live::rack_live(&st.engine, s, x).await;
        page.live = live_view(&config, &live);
    }
    let r = &topo.racks[x as usize];
    let crumbs = crumbs(topo, Above::Room(r.room));
    let c = chrome(&st, &ctx, &config, snap.as_deref(), &r.name, "", crumbs);
    html(&st, &ctx, StatusCode::OK, &c, &page)
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

/// The rack page's data, without the live values; public for the render benchmark.
pub fn build(
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
            located_alerts_where(s, |r| r == x)
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
            (Some(s), Some(h)) => check_outcomes(s, h).iter().map(check_row).collect(),
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
