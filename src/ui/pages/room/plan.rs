//! How a browser wants its floor plans drawn: rack style, heat metric, aisle order and
//! hidden aisles. The query string says it (so a view can be bookmarked or put on a
//! wallboard, and works without JavaScript); the `rackscope_plan` cookie remembers the last
//! choice per browser for pages opened without one.

use axum::http::{HeaderMap, HeaderValue, header};
use rackscope_core::topology::{RoomIx, Topology};
use rackscope_core::util::form_pairs;
use serde::Serialize;

use crate::ui::draw::Style;
use crate::ui::urls::enc;

pub const COOKIE: &str = "rackscope_plan";
/// The most hidden aisles remembered, over every room: a cookie stays well under the 4 KB
/// browsers keep.
const MAX_HIDDEN: usize = 64;
const MAX_COOKIE: usize = 3000;

/// What the heat style colours racks by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum HeatBy {
    /// The hottest node of the rack.
    #[default]
    Temperature,
    /// The power all its nodes draw.
    Power,
}

/// In what order the aisles are drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Sort {
    /// As the topology lists them.
    #[default]
    Layout,
    /// The aisle with the most failing nodes first.
    Severity,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Prefs {
    pub style: Style,
    pub heat: HeatBy,
    pub sort: Sort,
    /// Qualified aisle paths (`site/room/aisle`), of any room.
    pub hidden: Vec<String>,
}

impl Prefs {
    /// Parses `style=…&heat=…&sort=…&hide=…&hide=…` (a query or the cookie); unknown
    /// keys and values are ignored, so an old bookmark never breaks the page. Also says
    /// whether any plan key was present.
    fn parse(q: &str) -> (Prefs, bool) {
        let mut p = Prefs::default();
        let mut any = false;
        for (k, v) in form_pairs(q, 4 * MAX_HIDDEN) {
            match k {
                "style" => p.style = Style::parse(&v).unwrap_or_default(),
                "heat" => {
                    p.heat = if v == "power" {
                        HeatBy::Power
                    } else {
                        HeatBy::Temperature
                    }
                }
                "sort" => {
                    p.sort = if v == "severity" {
                        Sort::Severity
                    } else {
                        Sort::Layout
                    }
                }
                "hide" if !v.is_empty() && p.hidden.len() < MAX_HIDDEN => {
                    if !p.hidden.contains(&v) {
                        p.hidden.push(v);
                    }
                }
                // The form's marker: an empty set of hidden aisles is a choice too.
                "plan" | "hide" => {}
                _ => continue,
            }
            any = true;
        }
        (p, any)
    }

    /// The cookie form, parsed back by `parse`.
    fn encode(&self) -> String {
        let mut s = format!(
            "style={}&heat={}&sort={}",
            self.style.name(),
            match self.heat {
                HeatBy::Temperature => "temperature",
                HeatBy::Power => "power",
            },
            match self.sort {
                Sort::Layout => "layout",
                Sort::Severity => "severity",
            }
        );
        for h in &self.hidden {
            let more = format!("&hide={}", enc(h));
            if s.len() + more.len() > MAX_COOKIE {
                break;
            }
            s.push_str(&more);
        }
        s
    }

    pub fn is_hidden(&self, aisle_path: &str) -> bool {
        self.hidden.iter().any(|h| h == aisle_path)
    }
}

/// The preferences a room page is drawn with, and the `Set-Cookie` that remembers them
/// when the query changed what the browser had.
pub fn of_request(
    headers: &HeaderMap,
    query: Option<&str>,
    topo: &Topology,
    room: RoomIx,
) -> (Prefs, Option<HeaderValue>) {
    let cookie = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|kv| kv.trim().strip_prefix(COOKIE)?.strip_prefix('='))
        .unwrap_or("");
    let (saved, _) = Prefs::parse(cookie);
    let (asked, explicit) = Prefs::parse(query.unwrap_or(""));
    if !explicit {
        return (saved, None);
    }
    // This room's aisles come from the query; other rooms' stay as the cookie had them.
    let here: Vec<String> = topo.rooms[room]
        .aisles
        .iter()
        .map(|&a| topo.aisle_path(a))
        .collect();
    let mut hidden: Vec<String> = asked
        .hidden
        .iter()
        .filter(|h| here.contains(h))
        .cloned()
        .collect();
    hidden.extend(
        saved
            .hidden
            .iter()
            .filter(|h| !here.contains(h))
            .take(MAX_HIDDEN.saturating_sub(hidden.len()))
            .cloned(),
    );
    let p = Prefs { hidden, ..asked };
    let encoded = p.encode();
    let set = (encoded != cookie)
        .then(|| {
            HeaderValue::from_str(&format!(
                "{COOKIE}={encoded}; Path=/; Max-Age=31536000; SameSite=Lax"
            ))
            .ok()
        })
        .flatten();
    (p, set)
}

/// One option of a select.
#[derive(Debug, Serialize)]
pub struct Choice {
    pub value: &'static str,
    pub label: &'static str,
    pub selected: bool,
}

/// An aisle of the room and whether it is hidden.
#[derive(Debug, Serialize)]
pub struct AisleChoice {
    pub value: String,
    pub label: String,
    pub hidden: bool,
}

/// The "Display" form above the floor plan.
#[derive(Debug, Serialize)]
pub struct Controls {
    pub action: String,
    pub styles: Vec<Choice>,
    pub heat: Vec<Choice>,
    pub sort: Vec<Choice>,
    pub aisles: Vec<AisleChoice>,
    pub hidden: usize,
    /// The same view with every aisle shown.
    pub show_all: String,
}

pub fn controls(p: &Prefs, topo: &Topology, room: RoomIx, action: String) -> Controls {
    let aisles: Vec<AisleChoice> = topo.rooms[room]
        .aisles
        .iter()
        .map(|&a| {
            let value = topo.aisle_path(a);
            AisleChoice {
                hidden: p.is_hidden(&value),
                label: topo.aisles[a].name.clone(),
                value,
            }
        })
        .collect();
    let show_all = format!(
        "{action}?plan=1&style={}&heat={}&sort={}",
        p.style.name(),
        if p.heat == HeatBy::Power {
            "power"
        } else {
            "temperature"
        },
        if p.sort == Sort::Severity {
            "severity"
        } else {
            "layout"
        }
    );
    Controls {
        styles: Style::ALL
            .into_iter()
            .map(|s| Choice {
                value: s.name(),
                label: s.title(),
                selected: s == p.style,
            })
            .collect(),
        heat: [
            (HeatBy::Temperature, "temperature", "Temperature"),
            (HeatBy::Power, "power", "Power"),
        ]
        .into_iter()
        .map(|(h, value, label)| Choice {
            value,
            label,
            selected: h == p.heat,
        })
        .collect(),
        sort: [
            (Sort::Layout, "layout", "As laid out"),
            (Sort::Severity, "severity", "Most failing first"),
        ]
        .into_iter()
        .map(|(s, value, label)| Choice {
            value,
            label,
            selected: s == p.sort,
        })
        .collect(),
        hidden: aisles.iter().filter(|a| a.hidden).count(),
        aisles,
        show_all,
        action,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_query_and_the_cookie_read_alike_and_nonsense_is_ignored() {
        let (p, any) =
            Prefs::parse("style=heat&heat=power&sort=severity&hide=s%2Fr%2Fa1&hide=s/r/a2&x=1");
        assert!(any);
        assert_eq!(p.style, Style::Heat);
        assert_eq!(p.heat, HeatBy::Power);
        assert_eq!(p.sort, Sort::Severity);
        assert_eq!(p.hidden, ["s/r/a1", "s/r/a2"]);
        assert_eq!(Prefs::parse(&p.encode()).0, p);
        let (q, any) = Prefs::parse("style=%ZZ&sort=sideways&edited=add_rack");
        assert!(any, "style and sort were given, though wrong");
        assert_eq!(q, Prefs::default());
        assert!(!Prefs::parse("edited=add_rack").1);
    }

    #[test]
    fn the_cookie_stays_bounded() {
        let long = (0..500)
            .map(|i| format!("hide=site/room/aisle-with-a-long-name-{i}"))
            .collect::<Vec<_>>()
            .join("&");
        let (p, _) = Prefs::parse(&long);
        assert_eq!(p.hidden.len(), MAX_HIDDEN);
        assert!(p.encode().len() <= MAX_COOKIE);
    }
}
