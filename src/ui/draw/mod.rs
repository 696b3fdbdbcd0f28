//! SVG geometry computed on the server: the room floor plan, the rack elevation, the metric
//! chart and the world map markers. Pure functions of their inputs; templates only emit
//! the elements at the coordinates given here.

use rackscope_core::clock::civil_from_days;
use serde::Serialize;

/// A state as pages show it: a class for colour, and an icon and a word, so that colour is
/// never the only signal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct St {
    pub class: &'static str,
    pub label: &'static str,
    pub icon: &'static str,
}

impl St {
    pub fn of(s: Option<rackscope_core::Severity>) -> St {
        use rackscope_core::Severity::*;
        match s {
            Some(Crit) => St {
                class: "st-CRIT",
                label: "CRIT",
                icon: "✖",
            },
            Some(Warn) => St {
                class: "st-WARN",
                label: "WARN",
                icon: "▲",
            },
            Some(Unknown) => St {
                class: "st-UNKNOWN",
                label: "UNKNOWN",
                icon: "?",
            },
            Some(Ok) => St {
                class: "st-OK",
                label: "OK",
                icon: "✔",
            },
            None => St {
                class: "st-NONE",
                label: "NOT MONITORED",
                icon: "–",
            },
        }
    }
}

mod floor;
pub use floor::*;

/// `s` cut to `n` characters with an ellipsis.
pub fn short(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_owned()
    } else {
        let mut t: String = s.chars().take(n.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

// ---------------------------------------------------------------- rack elevation

pub const U_PX: f64 = 18.0;
pub const U_LABEL: f64 = 26.0;
pub const BODY_W: f64 = 250.0;
pub const SIDE_W: f64 = 12.0;

#[derive(Debug, Serialize)]
pub struct UnitMark {
    pub y: f64,
    pub n: u32,
}

#[derive(Debug, Serialize)]
pub struct Cell {
    pub x: f64,
    pub y: f64,
    pub w: f64,
    pub h: f64,
    pub st: St,
    pub title: String,
    /// The node or disk it stands for, and its failing checks (the hover card).
    pub name: String,
    pub checks: String,
}

#[derive(Debug, Serialize)]
pub struct DeviceBox {
    pub x: f64,
    pub y: f64,
    pub w: f64,
    pub h: f64,
    pub id: String,
    pub name: String,
    pub label: String,
    pub url: String,
    pub st: St,
    pub highlight: bool,
    /// Drawn on this face only as an outline: it is mounted on the other one.
    pub ghost: bool,
    /// The element id's suffix (`dev-<id>`), for the rack page's links to a device; none
    /// for an outline or where several racks share the page.
    pub anchor: Option<String>,
    pub cells: Vec<Cell>,
    pub title: String,
    /// Covered by a maintenance window (the device, or anything above it).
    pub maint: bool,
    pub hud: Hud,
}

#[derive(Debug, Serialize)]
pub struct SideBar {
    pub x: f64,
    pub y: f64,
    pub w: f64,
    pub h: f64,
    pub name: String,
    pub st: St,
}

#[derive(Debug, Serialize)]
pub struct Elevation {
    pub face: &'static str,
    pub w: f64,
    pub h: f64,
    pub body_x: f64,
    pub units: Vec<UnitMark>,
    pub devices: Vec<DeviceBox>,
    pub sides: Vec<SideBar>,
    /// The units no device of this face occupies, where the edit panel offers to add one.
    pub free: Vec<FreeU>,
}

/// A free unit of an elevation: a link that fills the "Add a device" form with its U and
/// face.
#[derive(Debug, Serialize)]
pub struct FreeU {
    pub n: u32,
    pub x: f64,
    pub y: f64,
    pub w: f64,
    pub h: f64,
    pub url: String,
}

/// A device's box in a rack of `rack_u` units: U1 at the bottom.
pub fn device_rect(rack_u: u32, u_position: u32, u_height: u32) -> (f64, f64) {
    let top_u = (u_position + u_height.max(1)).saturating_sub(1).min(rack_u);
    let y = f64::from(rack_u.saturating_sub(top_u)) * U_PX + 4.0;
    let h = f64::from(u_height.max(1)) * U_PX - 2.0;
    (y, h)
}

/// Lays `cells` (row, col, state, title) of a `rows`×`cols` grid into the right part of a
/// device box, leaving the left part for the name.
pub fn grid_cells(
    x: f64,
    y: f64,
    w: f64,
    h: f64,
    rows: u32,
    cols: u32,
    cells: Vec<(u32, u32, St, String, String)>,
) -> Vec<Cell> {
    let rows = rows.max(1);
    let cols = cols.max(1);
    let area_x = x + w * 0.42;
    let area_w = w * 0.58 - 3.0;
    let cw = area_w / f64::from(cols);
    let ch = (h - 2.0) / f64::from(rows);
    cells
        .into_iter()
        .map(|(r, c, st, title, name)| Cell {
            x: area_x + f64::from(c) * cw + 0.5,
            y: y + 1.0 + f64::from(r) * ch + 0.5,
            w: (cw - 1.0).max(1.0),
            h: (ch - 1.0).max(1.0),
            st,
            title,
            name,
            checks: String::new(),
        })
        .collect()
}

// ---------------------------------------------------------------- charts

#[derive(Debug, Serialize)]
pub struct Tick {
    pub x: f64,
    pub y: f64,
    pub label: String,
}

#[derive(Debug, Serialize)]
pub struct SeriesLine {
    pub class: String,
    /// SVG path data.
    pub d: String,
    pub label: String,
    pub last: String,
}

#[derive(Debug, Serialize)]
pub struct Threshold {
    pub y: f64,
    pub class: &'static str,
    pub label: String,
}

#[derive(Debug, Serialize)]
pub struct Chart {
    pub w: f64,
    pub h: f64,
    pub x0: f64,
    pub y0: f64,
    pub x1: f64,
    pub y1: f64,
    pub series: Vec<SeriesLine>,
    pub yticks: Vec<Tick>,
    pub xticks: Vec<Tick>,
    pub thresholds: Vec<Threshold>,
}

/// At most this many lines per chart; the legend says how many were left out.
pub const MAX_LINES: usize = 8;

/// A line chart of `series` (label, points of (unix seconds, value)) over `[start, end]`,
/// with warn/crit threshold lines when they fall inside the value range. NaN points break
/// the line.
pub fn chart(
    series: &[(String, Vec<(f64, f64)>)],
    start: f64,
    end: f64,
    unit: &str,
    warn: Option<f64>,
    crit: Option<f64>,
) -> Chart {
    let (w, h) = (640.0, 200.0);
    let (x0, x1, y0, y1) = (52.0, w - 10.0, 10.0, h - 24.0);
    let (lo, hi) = value_range(series, warn, crit);
    let span = (end - start).max(1.0);
    let sx = |t: f64| x0 + (t - start) / span * (x1 - x0);
    let sy = |v: f64| y1 - (v - lo) / (hi - lo) * (y1 - y0);
    let lines = series
        .iter()
        .take(MAX_LINES)
        .enumerate()
        .map(|(i, (label, pts))| {
            let d = path_data(pts, sx, sy);
            let last = pts
                .iter()
                .rev()
                .find(|(_, v)| v.is_finite())
                .map_or_else(|| "no data".to_owned(), |(_, v)| value_text(*v, unit));
            SeriesLine {
                class: format!("s{i}"),
                d,
                label: label.clone(),
                last,
            }
        })
        .collect();
    let yticks = (0..=4)
        .map(|k| {
            let v = lo + (hi - lo) * f64::from(k) / 4.0;
            Tick {
                x: x0 - 6.0,
                y: sy(v),
                label: compact(v),
            }
        })
        .collect();
    let xticks = (0..=4)
        .map(|k| {
            let t = start + span * f64::from(k) / 4.0;
            Tick {
                x: sx(t),
                y: h - 6.0,
                label: time_label(t, span),
            }
        })
        .collect();
    let thresholds = [(warn, "warn"), (crit, "crit")]
        .into_iter()
        .filter_map(|(t, class)| {
            let t = t?;
            (t >= lo && t <= hi).then(|| Threshold {
                y: sy(t),
                class,
                label: format!("{class} {}", value_text(t, unit)),
            })
        })
        .collect();
    Chart {
        w,
        h,
        x0,
        y0,
        x1,
        y1,
        series: lines,
        yticks,
        xticks,
        thresholds,
    }
}

/// The value axis: the data's range, stretched to a threshold close above it, from zero
/// when the data is not far from it, padded by 5 %.
fn value_range(
    series: &[(String, Vec<(f64, f64)>)],
    warn: Option<f64>,
    crit: Option<f64>,
) -> (f64, f64) {
    let finite = series
        .iter()
        .flat_map(|(_, p)| p.iter().map(|(_, v)| *v))
        .filter(|v| v.is_finite());
    let (mut lo, mut hi) = finite.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
        (a.min(v), b.max(v))
    });
    if !lo.is_finite() {
        (lo, hi) = (0.0, 1.0);
    }
    for t in [warn, crit].into_iter().flatten() {
        // A threshold close above the data is worth showing; one far away would flatten it.
        if t > hi && t <= hi + (hi - lo).abs().max(1.0) * 0.5 {
            hi = t;
        }
    }
    if lo > 0.0 && lo < (hi - lo) {
        lo = 0.0;
    }
    if (hi - lo).abs() < 1e-9 {
        hi = lo + 1.0;
    }
    let pad = (hi - lo) * 0.05;
    (lo - if lo == 0.0 { 0.0 } else { pad }, hi + pad)
}

/// SVG path data rather than a polyline, so that a NaN (a gap) starts a new segment.
fn path_data(pts: &[(f64, f64)], sx: impl Fn(f64) -> f64, sy: impl Fn(f64) -> f64) -> String {
    let mut d = String::new();
    let mut pen_down = false;
    for (t, v) in pts {
        if v.is_finite() {
            if !d.is_empty() {
                d.push(' ');
            }
            d.push(if pen_down { 'L' } else { 'M' });
            d.push_str(&format!("{:.1},{:.1}", sx(*t), sy(*v)));
            pen_down = true;
        } else {
            pen_down = false;
        }
    }
    d
}

/// A number for an axis: short, no needless decimals.
pub fn compact(v: f64) -> String {
    let a = v.abs();
    if a >= 1e9 {
        format!("{:.1}G", v / 1e9)
    } else if a >= 1e6 {
        format!("{:.1}M", v / 1e6)
    } else if a >= 1e4 {
        format!("{:.1}k", v / 1e3)
    } else if a >= 100.0 || v == v.trunc() {
        format!("{v:.0}")
    } else {
        format!("{v:.2}")
    }
}

/// A value with its unit, as tables show it.
pub fn value_text(v: f64, unit: &str) -> String {
    if !v.is_finite() {
        return v.to_string();
    }
    let n = if v == v.trunc() && v.abs() < 1e12 {
        format!("{v:.0}")
    } else if v.abs() >= 100.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    };
    if unit.is_empty() {
        n
    } else {
        format!("{n} {unit}")
    }
}

/// Watts as a person reads them: `850 W`, `3.2 kW`.
pub fn power_text(w: f64) -> String {
    if w.abs() >= 1000.0 {
        format!("{:.1} kW", w / 1000.0)
    } else {
        format!("{w:.0} W")
    }
}

/// `HH:MM` (UTC) for spans up to two days, `MM-DD` beyond.
pub fn time_label(t: f64, span: f64) -> String {
    let secs = t.max(0.0) as i64;
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    if span <= 2.0 * 86_400.0 {
        format!("{:02}:{:02}", rem / 3600, rem % 3600 / 60)
    } else {
        let (_, m, d) = civil_from_days(days);
        format!("{m:02}-{d:02}")
    }
}

// ---------------------------------------------------------------- world map

#[derive(Debug, Serialize)]
pub struct Marker {
    pub x: f64,
    pub y: f64,
    pub name: String,
    pub url: String,
    pub st: St,
    pub alerts: usize,
    /// Where its label is drawn (`place_labels`), and how it is anchored there.
    pub lx: f64,
    pub ly: f64,
    pub anchor: &'static str,
}

/// A map label's size at font size 5: per character, and its height.
const MAP_CHAR_W: f64 = 2.9;
const MAP_LABEL_H: f64 = 6.0;

/// Places each marker's label where it overlaps no label placed before it and no marker:
/// right of its dot, else left, above, below, then further down on the right. Sites close
/// together (Paris and Frankfurt at world scale) get labels that do not collide.
pub fn place_labels(markers: &mut [Marker]) {
    type Box4 = (f64, f64, f64, f64);
    let overlaps = |a: Box4, b: Box4| a.0 < b.2 && b.0 < a.2 && a.1 < b.3 && b.1 < a.3;
    let dots: Vec<Box4> = markers
        .iter()
        .map(|m| (m.x - 3.0, m.y - 3.0, m.x + 3.0, m.y + 3.0))
        .collect();
    let mut placed: Vec<Box4> = Vec::new();
    // Top to bottom, so that the search below a label finds room the same way each time.
    let mut order: Vec<usize> = (0..markers.len()).collect();
    order.sort_by(|&a, &b| markers[a].y.total_cmp(&markers[b].y).then(a.cmp(&b)));
    for i in order {
        let m = &markers[i];
        // The icon, a space and the name.
        let w = (m.name.chars().count() as f64 + 2.0) * MAP_CHAR_W;
        let (x, y) = (m.x, m.y);
        let mut candidates: Vec<(f64, f64, &'static str, Box4)> = vec![
            (
                x + 4.0,
                y + 1.5,
                "start",
                (x + 4.0, y - 3.5, x + 4.0 + w, y + 2.5),
            ),
            (
                x - 4.0,
                y + 1.5,
                "end",
                (x - 4.0 - w, y - 3.5, x - 4.0, y + 2.5),
            ),
            (
                x,
                y - 4.5,
                "middle",
                (x - w / 2.0, y - 9.5, x + w / 2.0, y - 3.5),
            ),
            (
                x,
                y + 8.5,
                "middle",
                (x - w / 2.0, y + 3.5, x + w / 2.0, y + 9.5),
            ),
        ];
        for k in 1..=8 {
            let dy = k as f64 * MAP_LABEL_H;
            candidates.push((
                x + 4.0,
                y + 1.5 + dy,
                "start",
                (x + 4.0, y - 3.5 + dy, x + 4.0 + w, y + 2.5 + dy),
            ));
        }
        let free = |b: Box4| {
            !placed.iter().any(|p| overlaps(*p, b))
                && !dots
                    .iter()
                    .enumerate()
                    .any(|(j, d)| j != i && overlaps(*d, b))
        };
        let pick = candidates
            .iter()
            .find(|c| free(c.3))
            .or(candidates.first())
            .copied();
        if let Some((lx, ly, anchor, b)) = pick {
            placed.push(b);
            let m = &mut markers[i];
            m.lx = lx;
            m.ly = ly;
            m.anchor = anchor;
        }
    }
}

/// The world map's frame: equirectangular, from 80°N to 60°S (no site is in Antarctica).
/// The world map's view: where it opens (`home`, from `map.*` of app.yaml), the whole
/// drawing it may pan over, and how far in and out it may zoom, as SVG viewBox widths.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MapView {
    pub home: String,
    pub bounds: String,
    pub min_w: f64,
    pub max_w: f64,
}

/// The drawing's extent (`MAP_VIEWBOX`): x, y, width, height.
const MAP_BOUNDS: [f64; 4] = [0.0, 10.0, 360.0, 140.0];

/// A zoom level as the Python version's map counts it (2: the whole world; each level
/// halves the width shown) as a viewBox width.
fn zoom_width(z: u32) -> f64 {
    MAP_BOUNDS[2] / 2f64.powi(z.clamp(1, 18) as i32 - 2)
}

pub fn map_view(m: &rackscope_core::model::app::MapConfig) -> MapView {
    let [bx, by, bw, bh] = MAP_BOUNDS;
    let preset = match m.default_view.as_str() {
        "continent" => 4,
        "country" => 6,
        "city" => 8,
        _ => 2,
    };
    let (lo, hi) = (m.min_zoom.min(m.max_zoom), m.max_zoom.max(m.min_zoom));
    let z = m.default_zoom.unwrap_or(preset).clamp(lo, hi);
    let max_w = zoom_width(lo).min(bw);
    let min_w = zoom_width(hi).min(max_w);
    let w = zoom_width(z).clamp(min_w, max_w);
    let h = w * bh / bw;
    let (cx, cy) = if z <= 2 && m.default_zoom.is_none() {
        (bx + bw / 2.0, by + bh / 2.0)
    } else {
        project(m.center.lat, m.center.lon)
    };
    // Kept inside the drawing: a center near the edge shows the edge, not emptiness.
    let x = (cx - w / 2.0).clamp(bx, bx + bw - w);
    let y = (cy - h / 2.0).clamp(by, (by + bh - h).max(by));
    MapView {
        home: format!("{x:.2} {y:.2} {w:.2} {h:.2}"),
        bounds: format!("{bx} {by} {bw} {bh}"),
        min_w,
        max_w,
    }
}

pub const MAP_VIEWBOX: &str = "0 10 360 140";

/// Where a site at (`lat`, `lon`) is drawn on `world::LAND_PATH`.
pub fn project(lat: f64, lon: f64) -> (f64, f64) {
    (
        (lon.clamp(-180.0, 180.0) + 180.0),
        (90.0 - lat.clamp(-90.0, 90.0)),
    )
}

#[cfg(test)]
mod tests {

    #![allow(clippy::unwrap_used)]
    use super::*;

    fn marker(name: &str, x: f64, y: f64) -> Marker {
        Marker {
            x,
            y,
            name: name.into(),
            url: String::new(),
            st: St::of(None),
            alerts: 0,
            lx: 0.0,
            ly: 0.0,
            anchor: "start",
        }
    }

    #[test]
    fn map_labels_of_close_sites_do_not_overlap() {
        // Paris and Frankfurt at world scale: a few units apart.
        let (px, py) = project(48.86, 2.35);
        let (fx, fy) = project(50.11, 8.68);
        let mut m = vec![
            marker("Paris", px, py),
            marker("Frankfurt", fx, fy),
            marker("Amsterdam", project(52.37, 4.9).0, project(52.37, 4.9).1),
        ];
        place_labels(&mut m);
        let boxes: Vec<(f64, f64, f64, f64)> = m
            .iter()
            .map(|k| {
                let w = (k.name.chars().count() as f64 + 2.0) * MAP_CHAR_W;
                let x0 = match k.anchor {
                    "start" => k.lx,
                    "end" => k.lx - w,
                    _ => k.lx - w / 2.0,
                };
                (x0, k.ly - 5.0, x0 + w, k.ly + 1.0)
            })
            .collect();
        for (i, a) in boxes.iter().enumerate() {
            for b in &boxes[i + 1..] {
                let overlap = a.0 < b.2 && b.0 < a.2 && a.1 < b.3 && b.1 < a.3;
                assert!(!overlap, "{a:?} and {b:?} overlap: {m:?}");
            }
        }
        // A lone site keeps the usual place, right of its dot.
        let mut one = vec![marker("Tokyo", 300.0, 50.0)];
        place_labels(&mut one);
        assert_eq!(
            (one[0].lx, one[0].ly, one[0].anchor),
            (304.0, 51.5, "start")
        );
    }

    #[test]
    fn the_map_opens_where_app_yaml_says_within_its_zoom_range() {
        use rackscope_core::model::app::{LatLon, MapConfig};
        let world = map_view(&MapConfig::default());
        assert_eq!(world.home, "0.00 10.00 360.00 140.00");
        assert_eq!((world.min_w, world.max_w), (360.0 / 32.0, 360.0));
        let paris = MapConfig {
            default_zoom: Some(5),
            center: LatLon {
                lat: 48.85,
                lon: 2.35,
            },
            ..MapConfig::default()
        };
        let v = map_view(&paris);
        let n: Vec<f64> = v.home.split(' ').map(|x| x.parse().unwrap()).collect();
        assert_eq!(n[2], 45.0, "zoom 5 shows an eighth of the width");
        let (px, py) = project(48.85, 2.35);
        assert!((n[0] + n[2] / 2.0 - px).abs() < 0.01 && (n[1] + n[3] / 2.0 - py).abs() < 0.01);
        // A zoom past max_zoom is held at it; the preset of a view name applies without one.
        let far = MapConfig {
            default_zoom: Some(18),
            ..paris.clone()
        };
        assert!(
            map_view(&far).home.contains(" 11.25 "),
            "{}",
            map_view(&far).home
        );
        let country = MapConfig {
            default_view: "country".into(),
            ..MapConfig::default()
        };
        assert!(map_view(&country).home.contains(" 22.50 "));
    }

    #[test]
    fn dates_and_times() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(20_454), (2026, 1, 1));
        assert_eq!(civil_from_days(19_782), (2024, 2, 29));
        assert_eq!(time_label(3600.0 * 13.0 + 60.0 * 7.0, 3600.0), "13:07");
        assert_eq!(time_label(20_454.0 * 86_400.0, 7.0 * 86_400.0), "01-01");
    }

    #[test]
    fn devices_stack_from_u1_at_the_bottom() {
        // In a 42U rack, U1 is the last row and U42 the first.
        assert_eq!(device_rect(42, 1, 1).0, 41.0 * U_PX + 4.0);
        assert_eq!(device_rect(42, 42, 1).0, 4.0);
        let (y, h) = device_rect(42, 10, 4);
        assert_eq!(y, (42.0 - 13.0) * U_PX + 4.0);
        assert_eq!(h, 4.0 * U_PX - 2.0);
    }

    #[test]
    fn chart_scales_and_breaks_on_gaps() {
        let s = vec![(
            "n1".to_owned(),
            vec![(0.0, 10.0), (10.0, f64::NAN), (20.0, 30.0), (30.0, 20.0)],
        )];
        let c = chart(&s, 0.0, 30.0, "°C", Some(32.0), Some(1000.0));
        let line = &c.series[0];
        assert_eq!(line.d.matches('M').count(), 2, "{}", line.d);
        assert!(line.d.starts_with(&format!("M{:.1},", c.x0)));
        assert_eq!(line.last, "20 °C");
        // The warn line near the data is shown; the crit line far above is not.
        assert_eq!(c.thresholds.len(), 1);
        assert_eq!(c.thresholds[0].class, "warn");
        assert!(c.thresholds[0].y >= c.y0 && c.thresholds[0].y <= c.y1);
    }
}
