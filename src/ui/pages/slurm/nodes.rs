//! `/slurm/nodes`: every node Slurm reports, filtered by status, severity, partition and
//! room (in the URL, for bookmarks and the wallboard), each with its physical location;
//! `/slurm/alerts` is the same table preset to the nodes that are not fine.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::{Deserialize, Serialize};

use rackscope_core::read::slurm::slurm_nodes;
use rackscope_core::slurm::Level;

use super::Sev;
use crate::server::AppState;
use crate::ui::chrome::{Above, chrome, crumbs, world};
use crate::ui::urls::{device_url, rack_url};
use crate::ui::{Ctx, Page, html};

/// Enough rows for a page that stays light; filter for the rest.
const MAX_ROWS: usize = 500;

#[derive(Debug, Serialize)]
pub struct Row {
    pub node: String,
    pub instance: String,
    pub status: String,
    pub sev: Sev,
    /// Why Slurm drained or downed it, where the exporter says.
    pub reason: String,
    pub partitions: String,
    pub location: String,
    pub device_url: String,
    pub rack_url: String,
}

#[derive(Debug, Serialize)]
pub struct SlurmNodesPage {
    pub off: Option<&'static str>,
    pub error: Option<String>,
    pub title: &'static str,
    pub rows: Vec<Row>,
    pub matched: usize,
    pub total: usize,
    pub status: String,
    pub severity: String,
    pub partition: String,
    pub room: String,
    pub rooms: Vec<crate::ui::chrome::Link>,
}

impl Page for SlurmNodesPage {
    const TEMPLATE: &'static str = "slurm-nodes.html";
}

#[derive(Deserialize, Default)]
pub struct NodesQuery {
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub severity: String,
    #[serde(default)]
    pub partition: String,
    #[serde(default)]
    pub room: String,
}

pub async fn handler(st: State<AppState>, ctx: Ctx, Query(q): Query<NodesQuery>) -> Response {
    render(st, ctx, q, false)
}

/// The nodes that are not fine: UNKNOWN, WARN and CRIT.
pub async fn alerts(st: State<AppState>, ctx: Ctx, Query(q): Query<NodesQuery>) -> Response {
    render(st, ctx, q, true)
}

fn render(State(st): State<AppState>, ctx: Ctx, q: NodesQuery, alerts: bool) -> Response {
    let (snap, config) = world(&st);
    let snap = snap.as_deref();
    let topo = &config.topology;
    let room = (!q.room.is_empty())
        .then(|| topo.find_room(&q.room).one())
        .flatten();
    let mut page = SlurmNodesPage {
        off: config.slurm.is_none().then_some(super::OFF),
        error: rackscope_core::read::slurm::slurm_error(snap),
        title: if alerts {
            "Slurm alerts"
        } else {
            "Slurm nodes"
        },
        rows: Vec::new(),
        matched: 0,
        total: 0,
        rooms: topo
            .rooms
            .iter_ix()
            .map(|(r, room)| crate::ui::chrome::Link {
                name: room.name.clone(),
                url: topo.room_key(r).into_owned(),
            })
            .collect(),
        status: q.status,
        severity: q.severity,
        partition: q.partition,
        room: q.room,
    };
    if let Some(s) = snap {
        let all = slurm_nodes(s, None);
        page.total = all.len();
        let stopo = &s.config.topology;
        let matched: Vec<_> = all
            .iter()
            .filter(|n| !alerts || n.state.level >= Level::Unknown)
            .filter(|n| page.status.is_empty() || n.state.status == page.status)
            .filter(|n| page.severity.is_empty() || n.state.level.as_str() == page.severity)
            .filter(|n| page.partition.is_empty() || n.state.partitions.contains(&page.partition))
            .filter(|n| {
                page.room.is_empty() || room.is_some_and(|r| stopo.racks[n.rack_ix].room == r)
            })
            .collect();
        page.matched = matched.len();
        let mut rows: Vec<&_> = matched;
        // Worst first, then in topology order.
        rows.sort_by_key(|n| std::cmp::Reverse(n.state.level));
        page.rows = rows
            .into_iter()
            .take(MAX_ROWS)
            .map(|n| {
                let mut place = vec![n.site.name.as_str(), n.room.name.as_str()];
                if let Some(a) = n.aisle {
                    place.push(&a.name);
                }
                place.push(&n.rack.name);
                Row {
                    node: n.state.node.clone(),
                    instance: n.instance.to_owned(),
                    status: n.state.status.clone(),
                    sev: Sev::of(n.state.level),
                    reason: n.state.reason.clone().unwrap_or_default(),
                    partitions: n.state.partitions.join(", "),
                    location: format!("{} › U{}", place.join(" › "), n.device.u_position),
                    device_url: device_url(stopo, n.device_ix),
                    rack_url: rack_url(stopo, n.rack_ix),
                }
            })
            .collect();
    }
    let crumbs = crumbs(topo, Above::Overview);
    let c = chrome(&st, &ctx, &config, snap, page.title, "slurm", crumbs);
    html(&st, &ctx, StatusCode::OK, &c, &page)
}
