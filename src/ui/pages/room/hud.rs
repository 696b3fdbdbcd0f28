//! What a rack's hover card on the floor plan says beyond its state: the failing nodes and
//! their checks, temperature and power against the room's scale, and Slurm's bad news.

use std::collections::{BTreeMap, HashMap};

use rackscope_core::read::maintenance::Marked;
use rackscope_core::telemetry::Snapshot;
use rackscope_core::topology::{InstanceIx, RackIx};

use super::plan::HeatBy;
use super::{HeatLegend, Stop};
use crate::server::live::{RackHeat, RoomLive};
use crate::ui::draw::{self, Bar, Heat, power_text, short};
use crate::ui::rows::AlertRow;

/// The most failing nodes a card lists; the rest are counted.
const MAX_LINES: usize = 4;
const LINE_CHARS: usize = 110;

/// The room's alert rows by rack: `rows` are the alerts as listed and `shown` the same
/// alerts, in the same order, with their racks.
pub(super) fn by_rack<'r>(
    rows: &'r [AlertRow],
    shown: &[Marked<'_, '_>],
) -> HashMap<RackIx, Vec<&'r AlertRow>> {
    let mut out: HashMap<RackIx, Vec<&AlertRow>> = HashMap::new();
    for (r, m) in rows.iter().zip(shown) {
        out.entry(m.alert.rack_ix).or_default().push(r);
    }
    out
}

/// A rack's failing nodes (`mine`, its alert rows), a line each.
pub(super) fn checks(mine: &[&AlertRow]) -> String {
    let mut lines: Vec<String> = mine
        .iter()
        .take(MAX_LINES)
        .map(|r| {
            short(
                &format!("{} {}: {}", r.st.icon, r.name, r.checks),
                LINE_CHARS,
            )
        })
        .collect();
    if mine.len() > MAX_LINES {
        lines.push(format!("and {} more", mine.len() - MAX_LINES));
    }
    lines.join("\n")
}

/// Slurm's failing statuses among the rack's nodes, `2 drain, 1 down`; none when the view
/// is off or every node is fine.
pub(super) fn slurm(s: &Snapshot, x: RackIx) -> Option<String> {
    use rackscope_core::slurm::Level;
    let state = s.slurm.as_ref()?;
    let topo = &s.config.topology;
    let mut by: BTreeMap<&str, usize> = BTreeMap::new();
    for &d in &topo.racks[x].devices {
        let r = &topo.devices[d].instances;
        for i in r.start.get()..r.end.get() {
            if let Some(n) = state.view.nodes.get(&InstanceIx::new(i))
                && n.level >= Level::Warn
            {
                *by.entry(n.status.as_str()).or_default() += 1;
            }
        }
    }
    (!by.is_empty()).then(|| {
        by.iter()
            .map(|(k, n)| format!("{n} {k}"))
            .collect::<Vec<_>>()
            .join(", ")
    })
}

/// The room's scales: temperature from well below the metric's CRIT threshold to it, power
/// from zero to the rack drawing most.
pub(super) struct Scale {
    temp: (f64, f64),
    power_max: f64,
}

fn temp_text(c: f64) -> String {
    format!("{c:.1} °C")
}

impl Scale {
    pub(super) fn of(live: Option<&RoomLive>) -> Scale {
        let temps = || {
            live.into_iter()
                .flat_map(|l| l.racks.values().filter_map(|h| h.temp_max))
        };
        let max_t = temps().fold(f64::NEG_INFINITY, f64::max);
        let min_t = temps().fold(f64::INFINITY, f64::min);
        let crit = live.and_then(|l| l.temp_thresholds.1);
        let hi = crit.or(max_t.is_finite().then_some(max_t)).unwrap_or(50.0);
        // 25 degrees below the top, or lower when a rack runs colder: cool air is blue.
        let lo = if min_t.is_finite() {
            min_t.min(hi - 25.0)
        } else {
            hi - 25.0
        };
        let power_max = live
            .into_iter()
            .flat_map(|l| l.racks.values().filter_map(|h| h.power_sum))
            .fold(0.0, f64::max);
        Scale {
            temp: (lo, hi),
            power_max,
        }
    }

    fn temp_frac(&self, v: f64) -> f64 {
        let (lo, hi) = self.temp;
        ((v - lo) / (hi - lo).max(1.0)).clamp(0.0, 1.0)
    }

    fn power_frac(&self, v: f64) -> f64 {
        if self.power_max > 0.0 {
            (v / self.power_max).clamp(0.0, 1.0)
        } else {
            0.0
        }
    }

    pub(super) fn heat(&self, h: RackHeat, by: HeatBy) -> Option<Heat> {
        let (text, frac) = match by {
            HeatBy::Temperature => h.temp_max.map(|v| (temp_text(v), self.temp_frac(v)))?,
            HeatBy::Power => h.power_sum.map(|v| (power_text(v), self.power_frac(v)))?,
        };
        Some(Heat {
            text,
            fill: draw::heat_fill(frac),
        })
    }

    pub(super) fn temp_bar(&self, h: RackHeat) -> Option<Bar> {
        h.temp_max.map(|v| Bar {
            text: format!("hottest node {}", temp_text(v)),
            frac: self.temp_frac(v),
        })
    }

    pub(super) fn power_bar(&self, h: RackHeat) -> Option<Bar> {
        h.power_sum.map(|v| Bar {
            text: format!("{} drawn", power_text(v)),
            frac: self.power_frac(v),
        })
    }

    pub(super) fn legend(&self, by: HeatBy, live: Option<&RoomLive>) -> HeatLegend {
        let racks = live.map_or(0, |l| {
            l.racks
                .values()
                .filter(|h| match by {
                    HeatBy::Temperature => h.temp_max.is_some(),
                    HeatBy::Power => h.power_sum.is_some(),
                })
                .count()
        });
        let (what, lo, hi) = match by {
            HeatBy::Temperature => (
                "Hottest node of each rack",
                temp_text(self.temp.0),
                temp_text(self.temp.1),
            ),
            HeatBy::Power => (
                "Power drawn by each rack's nodes",
                power_text(0.0),
                power_text(self.power_max),
            ),
        };
        HeatLegend {
            what,
            lo,
            hi,
            stops: [0.0, 0.25, 0.5, 0.75, 1.0]
                .map(|f| Stop {
                    offset: f,
                    color: draw::heat_fill(f),
                })
                .to_vec(),
            racks,
            error: live
                .and_then(|l| l.error.clone())
                .or_else(|| (racks == 0).then(|| "No rack of this room reports it.".to_owned())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn live(temps: &[f64], crit: Option<f64>) -> RoomLive {
        RoomLive {
            racks: temps
                .iter()
                .enumerate()
                .map(|(i, &t)| {
                    (
                        RackIx::new(i as u32),
                        RackHeat {
                            temp_max: Some(t),
                            power_sum: Some(1000.0 * (i + 1) as f64),
                        },
                    )
                })
                .collect(),
            temp_thresholds: (None, crit),
            error: None,
        }
    }

    #[test]
    fn temperature_runs_up_to_the_crit_threshold_and_power_to_the_room_max() {
        let l = live(&[30.0, 40.0], Some(45.0));
        let s = Scale::of(Some(&l));
        assert_eq!(s.temp, (20.0, 45.0));
        let hot = RackHeat {
            temp_max: Some(50.0),
            power_sum: Some(1000.0),
        };
        assert_eq!(s.temp_bar(hot).map(|b| b.frac), Some(1.0));
        assert_eq!(s.power_bar(hot).map(|b| b.frac), Some(0.5));
        let heat = s.heat(hot, HeatBy::Power);
        assert_eq!(heat.map(|h| h.text), Some("1.0 kW".to_owned()));
        // A room colder than the scale's floor moves the floor down.
        assert_eq!(Scale::of(Some(&live(&[10.0], Some(45.0)))).temp.0, 10.0);
    }

    #[test]
    fn no_values_say_so_in_the_legend() {
        let s = Scale::of(None);
        let l = s.legend(HeatBy::Temperature, None);
        assert_eq!(l.racks, 0);
        assert!(l.error.is_some());
        assert!(s.heat(RackHeat::default(), HeatBy::Temperature).is_none());
    }
}
