//! A rack's elevation, one face at a time: U numbers, its devices with a cell per instance
//! (or per disk slot), the devices of the other face as outlines, and the rack template's
//! side and mounted components; coloured by hardware health, or by Slurm severity on the
//! Slurm wallboard.

use rackscope_core::Config;
use rackscope_core::Severity;
use rackscope_core::model::catalog::RackTemplate;
use rackscope_core::model::checks::Scope;
use rackscope_core::model::topology::Face;
use rackscope_core::telemetry::Snapshot;
use rackscope_core::topology::{Device, DeviceIx, Rack, RackIx};

use crate::ui::chrome::node_state;
use crate::ui::draw::{self, St};
use crate::ui::urls::{device_url, rack_url};

/// A grid cell of a device: row, column, state and tooltip.
/// A cell: row, column, state, tooltip and the name of what it stands for (a node, a disk).
type Cell = (u32, u32, St, String, String);

/// Where a face is drawn: the rack's height and the body's left edge.
#[derive(Clone, Copy)]
struct Frame {
    rack_u: u32,
    body_x: f64,
}

/// What an elevation colours devices and cells by.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shade {
    Health,
    /// Each node in its Slurm severity, a device in its nodes' worst; what Slurm does not
    /// report (disks, fans, PDUs, a switch) has no colour.
    Slurm,
}

impl Shade {
    fn node(self, snap: Option<&Snapshot>, n: u32) -> Option<Severity> {
        match self {
            Shade::Health => node_state(snap, n),
            Shade::Slurm => {
                let s = snap?;
                let i = s.plan.targets.node_instance(n)?;
                s.slurm
                    .as_ref()?
                    .view
                    .nodes
                    .get(&i)
                    .map(|x| x.level.severity())
            }
        }
    }

    fn device(self, snap: Option<&Snapshot>, config: &Config, d: DeviceIx) -> Option<Severity> {
        match self {
            Shade::Health => snap.and_then(|s| s.health.devices[d.index()].state),
            Shade::Slurm => {
                let r = &config.topology.devices[d].instances;
                (r.start.get()..r.end.get())
                    .filter_map(|n| self.node(snap, n))
                    .max()
            }
        }
    }
}

/// One face of rack `x`.
pub(crate) fn elevation(
    snap: Option<&Snapshot>,
    config: &Config,
    x: RackIx,
    face: Face,
    highlight: Option<&str>,
    rack_sev: Option<Severity>,
    shade: Shade,
) -> draw::Elevation {
    let r = &config.topology.racks[x];
    let page = rack_url(&config.topology, x);
    let f = Frame {
        rack_u: r.u_height.max(1),
        body_x: draw::U_LABEL + draw::SIDE_W + 2.0,
    };
    let units = (1..=f.rack_u)
        .map(|n| draw::UnitMark {
            y: f64::from(f.rack_u - n) * draw::U_PX + 4.0 + draw::U_PX * 0.7,
            n,
        })
        .collect();
    let mut devices: Vec<draw::DeviceBox> = r
        .devices
        .iter()
        .map(|&d| device_box(snap, config, d, face, highlight, f, shade))
        .collect();
    let tpl = r
        .template_id
        .as_deref()
        .and_then(|t| config.catalog.racks.get(t))
        .map(|t| &t.def);
    let mut sides = Vec::new();
    if let Some(t) = tpl {
        // The side components' checks are the rack's own, so they show the rack's checks'
        // state.
        let rack_own = snap
            .map(|s| &s.health.racks[x.index()])
            .and_then(|h| Severity::worst(h.checks.iter().map(|c| c.severity)));
        let st = match shade {
            Shade::Health => St::of(rack_own.or(rack_sev)),
            Shade::Slurm => St::of(None),
        };
        sides = side_bars(t, st, f);
        devices.extend(mounted(t, &page, face, f));
    }
    let free = free_units(config, r, &page, face, f);
    draw::Elevation {
        free,
        face: match face {
            Face::Front => "Front",
            Face::Rear => "Rear",
        },
        w: f.body_x + draw::BODY_W + draw::SIDE_W + 6.0,
        h: f64::from(f.rack_u) * draw::U_PX + 8.0,
        body_x: f.body_x,
        units,
        devices,
        sides,
    }
}

/// The units of `face` no device on it occupies, each a link to the add form with that U
/// and face filled in (the overlap rule is per face, as validation's).
fn free_units(config: &Config, r: &Rack, page: &str, face: Face, f: Frame) -> Vec<draw::FreeU> {
    let mut taken = vec![false; f.rack_u as usize + 1];
    for &d in &r.devices {
        let dev = &config.topology.devices[d];
        if dev.face != face {
            continue;
        }
        let top = dev.u_position + super::device_u_height(config, dev).max(1) - 1;
        for u in dev.u_position..=top.min(f.rack_u) {
            if let Some(t) = taken.get_mut(u as usize) {
                *t = true;
            }
        }
    }
    let face_name = match face {
        Face::Front => "front",
        Face::Rear => "rear",
    };
    (1..=f.rack_u)
        .filter(|&n| !taken[n as usize])
        .map(|n| {
            let (y, h) = draw::device_rect(f.rack_u, n, 1);
            draw::FreeU {
                n,
                x: f.body_x,
                y,
                w: draw::BODY_W,
                h,
                url: format!("{page}?add_u={n}&add_face={face_name}#edit"),
            }
        })
        .collect()
}

/// One device on `face`: drawn in full on its own face, as an outline on the other.
fn device_box(
    snap: Option<&Snapshot>,
    config: &Config,
    d: DeviceIx,
    face: Face,
    highlight: Option<&str>,
    f: Frame,
    shade: Shade,
) -> draw::DeviceBox {
    let dev = &config.topology.devices[d];
    let uh = super::device_u_height(config, dev);
    let (y, h) = draw::device_rect(f.rack_u, dev.u_position, uh);
    let w = draw::BODY_W;
    let st = St::of(shade.device(snap, config, d));
    let ghost = dev.face != face;
    let (rows, cols, cells) = if ghost {
        (1, 1, Vec::new())
    } else {
        device_cells(snap, config, dev, d, face, shade)
    };
    draw::DeviceBox {
        x: f.body_x,
        y,
        w,
        h,
        id: dev.id.clone(),
        name: dev.name.clone(),
        label: draw::short(&dev.name, if uh > 1 { 22 } else { 18 }),
        url: device_url(&config.topology, d),
        st,
        highlight: highlight == Some(dev.id.as_str()),
        ghost,
        anchor: (!ghost).then(|| dev.id.clone()),
        cells: draw::grid_cells(f.body_x, y, w, h, rows, cols, cells),
        title: format!(
            "{} (U{}, {}) — {}",
            dev.name, dev.u_position, dev.template_id, st.label
        ),
        maint: false,
        hud: draw::Hud::default(),
    }
}

/// A device's cells on its own face, with the grid's rows and columns: the template's
/// disk layout for storage, its layout in front, its rear layout behind, else one cell
/// per node in a row.
fn device_cells(
    snap: Option<&Snapshot>,
    config: &Config,
    dev: &Device,
    d: DeviceIx,
    face: Face,
    shade: Shade,
) -> (u32, u32, Vec<Cell>) {
    let topo = &config.topology;
    let tpl = config.catalog.devices.get(&dev.template_id).map(|t| &t.def);
    let dev_sev = match shade {
        Shade::Health => shade.device(snap, config, d),
        Shade::Slurm => None,
    };
    let grid = tpl.and_then(|t| match face {
        Face::Front => t
            .disk_layout
            .as_ref()
            .filter(|_| t.kind == "storage")
            .map(|l| (&l.value, true))
            .or(t.layout.as_ref().map(|l| (&l.value, false))),
        Face::Rear => t.rear_layout.as_ref().map(|l| (&l.value, false)),
    });
    let instances = topo.device_instances(dev);
    let slot_state = |slot: u32| -> (Option<Severity>, String) {
        match instances.iter().position(|i| i.slot == slot) {
            Some(k) => {
                let n = dev.instances.start.get() + k as u32;
                (shade.node(snap, n), instances[k].name.clone())
            }
            None => (None, format!("slot {slot} (empty)")),
        }
    };
    let mut cells = Vec::new();
    match grid {
        Some((l, disks)) => {
            for (ri, row) in l.matrix.iter().enumerate() {
                for (ci, v) in row.iter().enumerate() {
                    if *v <= 0 {
                        continue;
                    }
                    let v = *v as u32;
                    let (s, title) = if disks && shade == Shade::Slurm {
                        (None, format!("disk {v}"))
                    } else if disks {
                        disk_state(snap, config, dev, d, v)
                    } else if face == Face::Rear && v > 900 {
                        let kind = if v.is_multiple_of(2) { "PSU" } else { "fan" };
                        (dev_sev, format!("{kind} {v}"))
                    } else {
                        slot_state(v)
                    };
                    let s = St::of(s);
                    cells.push((
                        ri as u32,
                        ci as u32,
                        s,
                        format!("{title} — {}", s.label),
                        title,
                    ));
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
            (rows, cols, cells)
        }
        None if face == Face::Front || dev.face == Face::Rear => {
            let nodes: Vec<u32> = snap
                .map(|s| s.plan.targets.device_nodes(topo, d).collect())
                .unwrap_or_default();
            for (k, &n) in nodes.iter().enumerate() {
                let s = St::of(shade.node(snap, n));
                let name = snap
                    .map(|sn| sn.plan.targets.key(topo, Scope::Node, n).to_owned())
                    .unwrap_or_default();
                cells.push((0, k as u32, s, format!("{name} — {}", s.label), name));
            }
            (1, nodes.len().max(1) as u32, cells)
        }
        None => (1, 1, cells),
    }
}

/// Side-mounted components (PDUs) of the rack template, drawn on both faces.
fn side_bars(t: &RackTemplate, st: St, f: Frame) -> Vec<draw::SideBar> {
    let infra = &t.infrastructure;
    let mut sides = Vec::new();
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
                f.body_x + draw::BODY_W + 2.0 + off
            } else {
                draw::U_LABEL + off
            },
            y: 4.0,
            w,
            h: f64::from(f.rack_u) * draw::U_PX - 2.0,
            name,
            st,
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
    sides
}

/// Front- and rear-mounted infrastructure of the rack template (cooling doors, patch
/// panels, rack PDUs in U): drawn where they are mounted, unlinked, unmonitored.
fn mounted(t: &RackTemplate, page: &str, face: Face, f: Frame) -> Vec<draw::DeviceBox> {
    let infra = &t.infrastructure;
    let all = infra
        .components
        .iter()
        .map(|c| (c, c.location.as_deref() != Some("rear")))
        .chain(infra.front_components.iter().map(|c| (c, true)))
        .chain(infra.rear_components.iter().map(|c| (c, false)));
    let mut out = Vec::new();
    for (c, front) in all {
        let (Some(u), true) = (c.u_position, front == (face == Face::Front)) else {
            continue;
        };
        if c.location.as_deref().is_some_and(|l| l.starts_with("side")) {
            continue;
        }
        let (y, h) = draw::device_rect(f.rack_u, u, c.u_height.unwrap_or(1));
        let name = c.name.clone().unwrap_or_else(|| c.id.clone());
        out.push(draw::DeviceBox {
            x: f.body_x,
            y,
            w: draw::BODY_W,
            h,
            id: c.id.clone(),
            label: draw::short(&name, 22),
            url: page.to_owned(),
            st: St::of(None),
            highlight: false,
            ghost: true,
            anchor: None,
            cells: Vec::new(),
            title: format!("{name} (U{u}, rack infrastructure)"),
            maint: false,
            hud: draw::Hud::default(),
            name,
        });
    }
    out
}

/// A disk slot of a storage device: the virtual node `<instance>:slot<N>` of an
/// `expand_by_label` check, or the instance's own state when no check expands by slot.
fn disk_state(
    snap: Option<&Snapshot>,
    config: &Config,
    dev: &Device,
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
