//! The room floor plan: rows of racks in aisle order inside the room's outline, drawn in
//! one of several rack styles (state, compact, cells, gauge, heat).

use rackscope_core::Severity;
use serde::Serialize;

use super::{St, short};

/// How the racks of a floor plan are drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Style {
    /// A box per rack: its name, state mark and failing-node counts.
    #[default]
    State,
    /// Small boxes, for rooms of hundreds of racks.
    Compact,
    /// One coloured cell per node.
    Cells,
    /// The state box with a bar of the share of nodes in each state.
    Gauge,
    /// Racks coloured by a live metric (hottest node, or power drawn).
    Heat,
}

impl Style {
    pub const ALL: [Style; 5] = [
        Style::State,
        Style::Compact,
        Style::Cells,
        Style::Gauge,
        Style::Heat,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Style::State => "state",
            Style::Compact => "compact",
            Style::Cells => "cells",
            Style::Gauge => "gauge",
            Style::Heat => "heat",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Style::State => "State",
            Style::Compact => "Compact",
            Style::Cells => "Cells: one per node",
            Style::Gauge => "Gauge: nodes by state",
            Style::Heat => "Heat",
        }
    }

    pub fn parse(s: &str) -> Option<Style> {
        Style::ALL.into_iter().find(|x| x.name() == s)
    }
}

/// A bar of the hover card: its text and how full it is (0 to 1).
#[derive(Debug, Clone, Serialize)]
pub struct Bar {
    pub text: String,
    pub frac: f64,
}

/// What the hover card of a rack says beyond its state and counts.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Hud {
    /// The failing nodes and their checks, worst first, a line each.
    pub checks: String,
    pub temp: Option<Bar>,
    pub power: Option<Bar>,
    /// Nodes Slurm reports in a failing status, by status.
    pub slurm: Option<String>,
    /// The maintenance window covering it (devices; a rack's is `RackIn::maint`).
    pub maint: Option<String>,
}

/// A rack's heat-style colour and the value it stands for.
#[derive(Debug, Clone, Serialize)]
pub struct Heat {
    pub text: String,
    pub fill: String,
}

/// A rack to place on the floor plan, in aisle order.
pub struct RackIn {
    pub id: String,
    pub name: String,
    pub url: String,
    pub sev: Option<Severity>,
    pub st: St,
    pub crit: usize,
    pub warn: usize,
    /// What a maintenance window covering the rack (or part of it) says, if one does.
    pub maint: Option<String>,
    /// Its nodes' states in topology order (the cells and gauge styles).
    pub nodes: Vec<Option<Severity>>,
    /// The heat style's colour, when the metric answered for this rack.
    pub heat: Option<Heat>,
    pub hud: Hud,
}

/// One row of racks: an aisle, or the room's standalone racks.
pub struct RowIn {
    pub label: String,
    pub racks: Vec<RackIn>,
}

/// The cells of one state in a rack, as one SVG path (a rect per cell would weigh four
/// times as much on a room of thousands of nodes).
#[derive(Debug, Serialize)]
pub struct CellPath {
    pub class: &'static str,
    pub d: String,
}

/// One segment of a gauge bar.
#[derive(Debug, Serialize)]
pub struct Seg {
    pub class: &'static str,
    pub x: f64,
    pub w: f64,
}

#[derive(Debug, Serialize)]
pub struct RackBox {
    pub x: f64,
    pub y: f64,
    pub w: f64,
    pub h: f64,
    pub id: String,
    pub name: String,
    pub url: String,
    pub st: St,
    pub crit: usize,
    pub warn: usize,
    /// Short text under the id: `2✖ 1▲`, empty when nothing fails.
    pub counts: String,
    /// The id as drawn, cut to fit the box.
    pub label: String,
    /// The maintenance marker's text, when a window covers the rack or part of it.
    pub maint: Option<String>,
    pub cells: Vec<CellPath>,
    /// Nodes past the most cells a rack draws.
    pub cells_more: usize,
    pub gauge: Vec<Seg>,
    pub heat: Option<Heat>,
    pub hud: Hud,
}

#[derive(Debug, Serialize)]
pub struct RowLabel {
    pub x: f64,
    pub y: f64,
    pub text: String,
}

#[derive(Debug, Serialize)]
pub struct Line {
    pub x1: f64,
    pub y1: f64,
    pub x2: f64,
    pub y2: f64,
}

#[derive(Debug, Serialize)]
pub struct DoorShape {
    pub x: f64,
    pub y: f64,
    pub w: f64,
    pub h: f64,
    pub label: String,
    pub lx: f64,
    pub ly: f64,
    /// On a side wall the label runs along it, so it never covers the first racks.
    pub rotate: i32,
}

#[derive(Debug, Serialize)]
pub struct FloorPlan {
    pub w: f64,
    pub h: f64,
    pub style: Style,
    /// The rack labels' font size.
    pub font: u32,
    pub grid: Vec<Line>,
    pub door: Option<DoorShape>,
    /// Where the compass sits and how far its arrow turns from pointing up.
    pub compass_x: f64,
    pub compass_y: f64,
    pub compass_rotate: u32,
    pub rows: Vec<RowLabel>,
    pub racks: Vec<RackBox>,
}

const RACK_GAP: f64 = 4.0;
const RACK_W: f64 = 40.0;
/// The widest a rack is drawn to fit its label; past it the label is cut, and the HUD and
/// the tooltip give the whole name.
const RACK_W_MAX: f64 = 120.0;
/// The width of one character of a rack label (9 px bold), with room to spare.
const LABEL_CHAR_W: f64 = 6.0;
const RACK_H: f64 = 58.0;
const MARGIN: f64 = 56.0;
const ROW_GAP: f64 = 40.0;
/// A node cell's side in the cells style.
const CELL: f64 = 6.0;
/// The most cells one rack draws; past it a count says how many more nodes it has.
pub const MAX_CELLS: usize = 256;

/// A rack's size in a style: width, height, the label's font size and most characters.
struct Geometry {
    w: f64,
    h: f64,
    font: u32,
    chars: usize,
    cols: usize,
    row_gap: f64,
}

fn geometry(style: Style, longest: usize, most_nodes: usize) -> Geometry {
    let fit = |char_w: f64, min: f64, max: f64| (longest as f64 * char_w + 8.0).clamp(min, max);
    match style {
        Style::Compact => {
            let w = fit(4.6, 24.0, 72.0);
            Geometry {
                w,
                h: 30.0,
                font: 7,
                chars: ((w - 6.0) / 4.6) as usize,
                cols: 0,
                row_gap: 24.0,
            }
        }
        Style::Cells => {
            let n = most_nodes.clamp(1, MAX_CELLS);
            // Near square, a little wider than tall like the other boxes.
            let cols = ((n as f64).sqrt().ceil() as usize).clamp(4, 16);
            let rows = n.div_ceil(cols);
            let w = fit(LABEL_CHAR_W, RACK_W, RACK_W_MAX).max(cols as f64 * CELL + 8.0);
            Geometry {
                w,
                h: 20.0 + rows as f64 * CELL + 6.0,
                font: 9,
                chars: ((w - 8.0) / LABEL_CHAR_W) as usize,
                cols,
                row_gap: ROW_GAP,
            }
        }
        Style::State | Style::Gauge | Style::Heat => {
            let w = fit(LABEL_CHAR_W, RACK_W, RACK_W_MAX);
            Geometry {
                w,
                h: RACK_H,
                font: 9,
                chars: ((w - 8.0) / LABEL_CHAR_W) as usize,
                cols: 0,
                row_gap: ROW_GAP,
            }
        }
    }
}

/// The class a node's state is drawn with.
fn class_of(s: Option<Severity>) -> &'static str {
    St::of(s).class
}

/// A rack's node cells, one path per state, laid out `cols` to a row from `(x, y)`.
fn cell_paths(nodes: &[Option<Severity>], cols: usize, x: f64, y: f64) -> Vec<CellPath> {
    let mut out: Vec<CellPath> = Vec::new();
    for (i, s) in nodes.iter().take(MAX_CELLS).enumerate() {
        let class = class_of(*s);
        let cx = x + (i % cols.max(1)) as f64 * CELL;
        let cy = y + (i / cols.max(1)) as f64 * CELL;
        let d = format!("M{cx} {cy}h{w}v{w}h-{w}z", w = CELL - 1.0);
        match out.iter_mut().find(|p| p.class == class) {
            Some(p) => p.d.push_str(&d),
            None => out.push(CellPath { class, d }),
        }
    }
    out
}

/// The gauge's segments across `w`: CRIT, WARN, UNKNOWN, then OK and unmonitored nodes.
fn gauge(nodes: &[Option<Severity>], x: f64, w: f64) -> Vec<Seg> {
    if nodes.is_empty() {
        return Vec::new();
    }
    let order = [
        Some(Severity::Crit),
        Some(Severity::Warn),
        Some(Severity::Unknown),
        Some(Severity::Ok),
        None,
    ];
    let mut at = x;
    order
        .into_iter()
        .filter_map(|s| {
            let n = nodes.iter().filter(|n| **n == s).count();
            (n > 0).then(|| {
                let sw = w * n as f64 / nodes.len() as f64;
                let seg = Seg {
                    class: class_of(s),
                    x: at,
                    w: sw,
                };
                at += sw;
                seg
            })
        })
        .collect()
}

/// The room as rows of racks in aisle order (the topology has no rack coordinates), inside
/// an outline at least as large as `layout.size` in grid cells, with the door on its wall
/// and the compass turned to the configured north.
pub fn floor_plan(
    layout: &rackscope_core::model::topology::RoomLayout,
    rows: Vec<RowIn>,
    style: Style,
) -> FloorPlan {
    use rackscope_core::model::topology::Side4;
    let cell = f64::from(layout.grid.cell.max(4));
    let cols = rows.iter().map(|r| r.racks.len()).max().unwrap_or(0) as f64;
    let labels: Vec<Vec<String>> = rows
        .iter()
        .map(|r| row_labels(&r.racks.iter().map(|x| x.id.as_str()).collect::<Vec<_>>()))
        .collect();
    // Every rack as wide as the longest label needs, so that names read whole.
    let longest = labels
        .iter()
        .flatten()
        .map(|l| l.chars().count())
        .max()
        .unwrap_or(0);
    let most_nodes = rows
        .iter()
        .flat_map(|r| &r.racks)
        .map(|r| r.nodes.len())
        .max()
        .unwrap_or(0);
    let g = geometry(style, longest, most_nodes);
    let unit = g.w + RACK_GAP;
    let need_w = MARGIN * 2.0 + cols * unit;
    let need_h = MARGIN * 2.0 + rows.len() as f64 * (g.h + g.row_gap + 14.0);
    let w = need_w.max(f64::from(layout.size.width) * cell);
    let h = need_h.max(f64::from(layout.size.height) * cell);
    let mut out_rows = Vec::new();
    let mut racks = Vec::new();
    let mut y = MARGIN;
    for (row, labels) in rows.into_iter().zip(labels) {
        out_rows.push(RowLabel {
            x: MARGIN,
            y: y + 10.0,
            text: row.label,
        });
        y += 16.0;
        for (i, (r, label)) in row.racks.into_iter().zip(labels).enumerate() {
            let counts = match (r.crit, r.warn) {
                (0, 0) => String::new(),
                (c, 0) => format!("{c}✖"),
                (0, w) => format!("{w}▲"),
                (c, w) => format!("{c}✖ {w}▲"),
            };
            let x = MARGIN + i as f64 * unit;
            let (cells, cells_more) = if style == Style::Cells {
                let inner = g.cols as f64 * CELL;
                (
                    cell_paths(&r.nodes, g.cols, x + (g.w - inner) / 2.0, y + 20.0),
                    r.nodes.len().saturating_sub(MAX_CELLS),
                )
            } else {
                (Vec::new(), 0)
            };
            racks.push(RackBox {
                x,
                y,
                w: g.w,
                h: g.h,
                label: short(&label, g.chars),
                id: r.id,
                name: r.name,
                url: r.url,
                st: r.st,
                crit: r.crit,
                warn: r.warn,
                counts,
                maint: r.maint,
                cells,
                cells_more,
                gauge: if style == Style::Gauge {
                    gauge(&r.nodes, x + 3.0, g.w - 6.0)
                } else {
                    Vec::new()
                },
                heat: if style == Style::Heat { r.heat } else { None },
                hud: r.hud,
            });
        }
        y += g.h + g.row_gap;
    }
    let grid = if layout.grid.enabled {
        grid_lines(cell, w, h)
    } else {
        Vec::new()
    };
    // Sides clockwise from the top; compass points clockwise from north.
    let north = match layout.orientation.north {
        Side4::Top => 0,
        Side4::Right => 1,
        Side4::Bottom => 2,
        Side4::Left => 3,
    };
    let door = Some(door(&layout.door, north, w, h));
    FloorPlan {
        w,
        h,
        style,
        font: g.font,
        grid,
        door,
        compass_x: w - 26.0,
        compass_y: 30.0,
        compass_rotate: north * 90,
        rows: out_rows,
        racks,
    }
}

/// Rows in the order an operator triages them: the worst rack state first, then the most
/// CRIT and WARN nodes; rows that fail alike keep their layout order.
pub fn worst_first(rows: &mut [RowIn]) {
    rows.sort_by_key(|r| {
        let (c, w) = r
            .racks
            .iter()
            .fold((0, 0), |(c, w), x| (c + x.crit, w + x.warn));
        let worst = r.racks.iter().map(|x| x.sev).max().flatten();
        std::cmp::Reverse((worst, c, w))
    });
}

/// The colour of a heat value at `frac` of its scale: blue when cool, through green and
/// amber, to red at the top.
pub fn heat_fill(frac: f64) -> String {
    let f = if frac.is_finite() {
        frac.clamp(0.0, 1.0)
    } else {
        0.0
    };
    format!("hsl({:.0} 70% 42%)", 215.0 * (1.0 - f))
}

/// The labels of a row's racks: what tells them apart. A prefix every id of the row shares
/// up to a separator (`rack-` of `rack-a01`, `rack-a02`) is left out, as the row's label
/// says where they are; a lone rack keeps its whole id.
pub fn row_labels(ids: &[&str]) -> Vec<String> {
    let shared = match ids {
        [] | [_] => 0,
        [first, rest @ ..] => {
            let common = rest.iter().fold(first.len(), |n, id| {
                first
                    .char_indices()
                    .zip(id.chars())
                    .take_while(|((i, a), b)| *i < n && a == b)
                    .map(|((i, a), _)| i + a.len_utf8())
                    .last()
                    .unwrap_or(0)
            });
            // Back to just after the last separator, so a label never starts mid-word.
            first[..common]
                .rfind(['-', '_', '.', ' ', '/'])
                .map_or(0, |i| i + 1)
        }
    };
    ids.iter()
        .map(|id| match id.get(shared..) {
            Some(rest) if !rest.is_empty() => rest.to_owned(),
            _ => (*id).to_owned(),
        })
        .collect()
}

/// The room's grid: a line every `cell` across and down.
fn grid_lines(cell: f64, w: f64, h: f64) -> Vec<Line> {
    let mut g = Vec::new();
    let mut x = cell;
    while x < w {
        g.push(Line {
            x1: x,
            y1: 0.0,
            x2: x,
            y2: h,
        });
        x += cell;
    }
    let mut yy = cell;
    while yy < h {
        g.push(Line {
            x1: 0.0,
            y1: yy,
            x2: w,
            y2: yy,
        });
        yy += cell;
    }
    g
}

/// The door on its wall: the compass side it faces, turned by where north is (`north`,
/// sides clockwise from the top).
fn door(d: &rackscope_core::model::topology::Door, north: u32, w: f64, h: f64) -> DoorShape {
    use rackscope_core::model::topology::Compass;
    let compass = match d.side {
        Compass::North => 0,
        Compass::East => 1,
        Compass::South => 2,
        Compass::West => 3,
    };
    let side = (north + compass) % 4;
    let pos = d.position.clamp(0.0, 1.0);
    let (dw, dt) = ((RACK_W + RACK_GAP) * 1.5, 8.0);
    match side {
        0 => DoorShape {
            x: (w - dw) * pos,
            y: 0.0,
            w: dw,
            h: dt,
            label: d.label.clone(),
            lx: (w - dw) * pos + dw / 2.0,
            ly: dt + 14.0,
            rotate: 0,
        },
        1 => DoorShape {
            x: w - dt,
            y: (h - dw) * pos,
            w: dt,
            h: dw,
            label: d.label.clone(),
            lx: w - dt - 10.0,
            ly: (h - dw) * pos + dw / 2.0,
            rotate: 90,
        },
        2 => DoorShape {
            x: (w - dw) * pos,
            y: h - dt,
            w: dw,
            h: dt,
            label: d.label.clone(),
            lx: (w - dw) * pos + dw / 2.0,
            ly: h - dt - 6.0,
            rotate: 0,
        },
        _ => DoorShape {
            x: 0.0,
            y: (h - dw) * pos,
            w: dt,
            h: dw,
            label: d.label.clone(),
            lx: dt + 14.0,
            ly: (h - dw) * pos + dw / 2.0,
            rotate: -90,
        },
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_row_label_drops_the_prefix_its_racks_share_up_to_a_separator() {
        assert_eq!(
            row_labels(&["rack-a01", "rack-a02", "rack-a10"]),
            ["a01", "a02", "a10"]
        );
        assert_eq!(row_labels(&["par-a-r01", "par-a-r02"]), ["r01", "r02"]);
        // No separator in the shared part: the ids stay whole.
        assert_eq!(row_labels(&["A01", "A02"]), ["A01", "A02"]);
        assert_eq!(row_labels(&["rack-s01"]), ["rack-s01"]);
        // An id that is all prefix keeps itself; multi-byte ids are cut on characters.
        assert_eq!(row_labels(&["r-", "r-1"]), ["r-", "1"]);
        assert_eq!(row_labels(&["é-1", "é-2"]), ["1", "2"]);
        assert!(row_labels(&[]).is_empty());
    }

    #[test]
    fn door_follows_the_north_orientation() {
        use rackscope_core::model::topology::{Compass, RoomLayout, Side4};
        let mut l = RoomLayout::default();
        l.door.side = Compass::West;
        l.orientation.north = Side4::Top;
        let p = floor_plan(&l, Vec::new(), Style::State);
        assert_eq!(
            p.door.as_ref().unwrap().x,
            0.0,
            "west is left when north is up"
        );
        l.orientation.north = Side4::Right;
        let p = floor_plan(&l, Vec::new(), Style::State);
        let d = p.door.unwrap();
        assert_eq!(d.y, 0.0, "west is the top when north is on the right");
        assert_eq!(p.compass_rotate, 90);
    }

    fn rack(id: &str, nodes: Vec<Option<Severity>>) -> RackIn {
        RackIn {
            id: id.into(),
            name: id.into(),
            url: format!("/views/rack/{id}"),
            sev: None,
            st: St::of(None),
            crit: 0,
            warn: 0,
            maint: None,
            nodes,
            heat: None,
            hud: Hud::default(),
        }
    }

    #[test]
    fn cells_draw_one_per_node_grouped_by_state_and_count_the_rest() {
        use Severity::{Crit, Ok};
        let mut nodes = vec![Some(Ok); 300];
        nodes[1] = Some(Crit);
        let rows = vec![RowIn {
            label: "a".into(),
            racks: vec![rack("r1", nodes), rack("r2", vec![Some(Ok); 4])],
        }];
        let p = floor_plan(
            &rackscope_core::model::topology::RoomLayout::default(),
            rows,
            Style::Cells,
        );
        let r1 = &p.racks[0];
        assert_eq!(r1.cells_more, 300 - MAX_CELLS);
        let count = |class: &str| {
            r1.cells
                .iter()
                .find(|c| c.class == class)
                .map_or(0, |c| c.d.matches('M').count())
        };
        assert_eq!((count("st-CRIT"), count("st-OK")), (1, MAX_CELLS - 1));
        // Every rack of the plan is as tall as the one with the most nodes.
        assert_eq!(p.racks[1].h, r1.h);
        assert!(r1.w >= 16.0 * CELL);
    }

    #[test]
    fn a_gauge_splits_the_width_by_state_worst_first() {
        use Severity::{Crit, Ok, Warn};
        let g = gauge(&[Some(Ok), Some(Crit), Some(Ok), Some(Warn)], 10.0, 40.0);
        let parts: Vec<_> = g.iter().map(|s| (s.class, s.x, s.w)).collect();
        assert_eq!(
            parts,
            [
                ("st-CRIT", 10.0, 10.0),
                ("st-WARN", 20.0, 10.0),
                ("st-OK", 30.0, 20.0)
            ]
        );
        assert!(gauge(&[], 0.0, 10.0).is_empty());
    }

    #[test]
    fn heat_runs_from_blue_to_red_and_survives_nonsense() {
        assert_eq!(heat_fill(0.0), "hsl(215 70% 42%)");
        assert_eq!(heat_fill(1.0), "hsl(0 70% 42%)");
        assert_eq!(heat_fill(7.0), heat_fill(1.0));
        assert_eq!(heat_fill(f64::NAN), heat_fill(0.0));
    }

    #[test]
    fn the_worst_row_comes_first_and_ties_keep_their_order() {
        let row = |label: &str, sev: Option<Severity>, crit: usize| {
            let mut r = rack(label, Vec::new());
            r.sev = sev;
            r.crit = crit;
            RowIn {
                label: label.into(),
                racks: vec![r],
            }
        };
        let mut rows = vec![
            row("ok", Some(Severity::Ok), 0),
            row("crit-1", Some(Severity::Crit), 1),
            row("warn", Some(Severity::Warn), 0),
            row("crit-3", Some(Severity::Crit), 3),
            row("ok-2", Some(Severity::Ok), 0),
        ];
        worst_first(&mut rows);
        let order: Vec<&str> = rows.iter().map(|r| r.label.as_str()).collect();
        assert_eq!(order, ["crit-3", "crit-1", "warn", "ok", "ok-2"]);
    }

    #[test]
    fn styles_parse_by_name_only() {
        for s in Style::ALL {
            assert_eq!(Style::parse(s.name()), Some(s));
        }
        assert_eq!(Style::parse("HEAT"), None);
    }
}
