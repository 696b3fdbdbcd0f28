//! The alerts' triage (issue #22), shared by the alerts page and its export: the filters of the URL
//! (severity, type, site, room, rack, check, text), the sort and the page, each read
//! leniently (a value that means nothing is no filter, never a 400).

use std::cmp::Ordering;

use crate::read::maintenance::Marked;
use crate::topology::Topology;
use serde::Deserialize;

/// The URL of the alerts page, every key optional.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct AlertsQuery {
    pub severity: Option<String>,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub site: Option<String>,
    pub room: Option<String>,
    pub rack: Option<String>,
    pub check: Option<String>,
    pub q: Option<String>,
    pub sort: Option<String>,
    pub dir: Option<String>,
    pub page: Option<String>,
    pub per: Option<String>,
}

/// The longest search text kept: a search box, not a document.
const MAX_TEXT: usize = 200;
pub const PER_DEFAULT: usize = 100;
/// The most rows a page holds: past it the page would pass 200 KB on a large estate.
const MAX_PER: usize = 250;
pub const PER_CHOICES: [usize; 4] = [25, 50, 100, 250];

/// A column the table sorts by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Column {
    State,
    Where,
    Location,
    Checks,
    Since,
}

impl Column {
    pub const ALL: [Column; 5] = [
        Column::State,
        Column::Where,
        Column::Location,
        Column::Checks,
        Column::Since,
    ];

    pub fn key(self) -> &'static str {
        match self {
            Column::State => "state",
            Column::Where => "where",
            Column::Location => "location",
            Column::Checks => "checks",
            Column::Since => "since",
        }
    }

    fn of(s: &str) -> Option<Column> {
        Column::ALL.into_iter().find(|c| c.key() == s)
    }

    /// The direction a first click sorts in: the worst and the oldest first.
    fn natural_desc(self) -> bool {
        matches!(self, Column::State)
    }
}

/// The filters, sort and page of a request, cleaned.
#[derive(Debug, Clone, Default)]
pub struct Triage {
    pub severity: Option<String>,
    pub kind: Option<String>,
    pub site: Option<String>,
    pub room: Option<String>,
    pub rack: Option<String>,
    pub check: Option<String>,
    pub text: Option<String>,
    pub sort: Option<Column>,
    pub desc: bool,
    pub page: usize,
    pub per: usize,
}

fn clean(v: Option<String>) -> Option<String> {
    v.map(|s| s.trim().chars().take(MAX_TEXT).collect::<String>())
        .filter(|s| !s.is_empty())
}

impl Triage {
    pub fn of(q: AlertsQuery) -> Triage {
        let sort = q.sort.as_deref().and_then(Column::of);
        let desc = match q.dir.as_deref() {
            Some("asc") => false,
            Some("desc") => true,
            _ => sort.is_some_and(Column::natural_desc),
        };
        let per = q
            .per
            .as_deref()
            .and_then(|p| p.parse::<usize>().ok())
            .unwrap_or(PER_DEFAULT)
            .clamp(1, MAX_PER);
        Triage {
            severity: clean(q.severity).filter(|s| s == "CRIT" || s == "WARN"),
            kind: clean(q.kind)
                .filter(|k| ["node", "chassis", "rack", "slot"].contains(&k.as_str())),
            site: clean(q.site),
            room: clean(q.room),
            rack: clean(q.rack),
            check: clean(q.check),
            text: clean(q.q).map(|t| t.to_lowercase()),
            sort,
            desc,
            page: q
                .page
                .as_deref()
                .and_then(|p| p.parse::<usize>().ok())
                .unwrap_or(1)
                .max(1),
            per,
        }
    }

    /// The alerts that pass every filter, sorted.
    pub fn select<'a, 's, 'w>(
        &self,
        topo: &Topology,
        all: &'a [Marked<'s, 'w>],
    ) -> Vec<&'a Marked<'s, 'w>> {
        // A room or rack key matches each object that carries it, as the filters did
        // before paths existed: a shared short id lists both.
        let rooms = self.room.as_deref().map(|r| topo.find_room(r).all());
        let racks = self.rack.as_deref().map(|r| topo.find_rack(r).all());
        let mut out: Vec<&Marked<'_, '_>> = all
            .iter()
            .filter(|m| {
                let a = &m.alert;
                self.severity
                    .as_deref()
                    .is_none_or(|s| a.state.as_str() == s)
                    && self
                        .kind
                        .as_deref()
                        .is_none_or(|k| a.target_type().as_str() == k)
                    && self.site.as_deref().is_none_or(|s| a.site.id == s)
                    && rooms.as_ref().is_none_or(|rs| rs.contains(&a.rack.room))
                    && racks.as_ref().is_none_or(|rs| rs.contains(&a.rack_ix))
                    && self
                        .check
                        .as_deref()
                        .is_none_or(|c| a.checks.iter().any(|x| x.id == c))
                    && self
                        .text
                        .as_deref()
                        .is_none_or(|t| matches_text(topo, m, t))
            })
            .collect();
        if let Some(col) = self.sort {
            out.sort_by(|x, y| {
                let o = compare(col, x, y);
                if self.desc { o.reverse() } else { o }
            });
        }
        out
    }

    /// The page shown of `n` rows: its 0-based range and the number of pages.
    pub fn window(&self, n: usize) -> (std::ops::Range<usize>, usize) {
        let pages = n.div_ceil(self.per).max(1);
        let page = self.page.min(pages);
        let start = (page - 1) * self.per;
        (start..(start + self.per).min(n), pages)
    }
}

/// Whether an alert's names, place, checks or messages hold `t` (lower case).
fn matches_text(topo: &Topology, m: &Marked<'_, '_>, t: &str) -> bool {
    let a = &m.alert;
    let mut fields: Vec<&str> = vec![
        a.key,
        &a.site.id,
        &a.site.name,
        &a.room.id,
        &a.room.name,
        &a.rack.id,
        &a.rack.name,
    ];
    if let Some(x) = a.aisle {
        fields.extend([x.id.as_str(), x.name.as_str()]);
    }
    if let Some(d) = a.device {
        fields.extend([d.id.as_str(), d.name.as_str()]);
    }
    for c in &a.checks {
        fields.push(c.id);
        fields.extend(c.slot);
        fields.extend(c.message);
    }
    let path = topo.rack_path(a.rack_ix);
    fields
        .iter()
        .chain([&path.as_str()])
        .any(|f| f.to_lowercase().contains(t))
}

/// The location as sorted: the path of names the table shows.
fn location(m: &Marked<'_, '_>) -> (String, u32) {
    let a = &m.alert;
    let aisle = a.aisle.map_or("", |x| x.name.as_str());
    (
        format!("{}/{}/{}/{}", a.site.name, a.room.name, aisle, a.rack.name),
        a.device.map_or(0, |d| d.u_position),
    )
}

fn compare(col: Column, x: &Marked<'_, '_>, y: &Marked<'_, '_>) -> Ordering {
    let (a, b) = (&x.alert, &y.alert);
    match col {
        Column::State => a.state.cmp(&b.state),
        Column::Where => a.key.cmp(b.key),
        Column::Location => location(x).cmp(&location(y)),
        Column::Checks => {
            let (fa, fb) = (
                a.checks.first().map(|c| c.id),
                b.checks.first().map(|c| c.id),
            );
            fa.cmp(&fb)
        }
        // Oldest first in ascending order.
        Column::Since => a.since.cmp(&b.since),
    }
    .then_with(|| a.key.cmp(b.key))
}
