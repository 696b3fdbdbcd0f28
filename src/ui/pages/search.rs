//! The jump box: every place whose id or name contains the query.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use rackscope_core::Severity;
use rackscope_core::telemetry::Snapshot;
use rackscope_core::topology::Topology;
use serde::{Deserialize, Serialize};

use crate::server::AppState;
use crate::ui::chrome::{Above, chrome, crumbs, level, node_state, world};
use crate::ui::draw::St;
use crate::ui::urls::{device_url, enc, rack_url, room_url, site_url};
use crate::ui::{Ctx, Page, html};

#[derive(Debug, Serialize)]
pub struct Hit {
    pub kind: &'static str,
    pub name: String,
    pub id: String,
    pub url: String,
    pub path: String,
    pub st: St,
}

#[derive(Debug, Serialize)]
pub struct SearchPage {
    pub q: String,
    pub hits: Vec<Hit>,
    pub more: bool,
}

impl Page for SearchPage {
    const TEMPLATE: &'static str = "search.html";
}

#[derive(Deserialize)]
pub struct SearchQuery {
    #[serde(default)]
    pub q: String,
}

const MAX_HITS: usize = 50;

/// Every place whose id or name contains `q` (case-insensitive), best first: exact ids,
/// then the hierarchy from sites down to instances.
pub fn search_hits(snap: Option<&Snapshot>, topo: &Topology, q: &str) -> Vec<Hit> {
    let needle = q.trim().to_lowercase();
    if needle.is_empty() {
        return Vec::new();
    }
    let matches = |id: &str, name: &str| {
        id.to_lowercase().contains(&needle) || name.to_lowercase().contains(&needle)
    };
    let st_of = |v: Option<&Vec<Option<Severity>>>, i: u32| St::of(level(v, i).flatten());
    let h = snap.map(|s| &*s.health);
    let hit = |kind, id: &str, name: &str, url, path, st| Hit {
        kind,
        name: name.to_owned(),
        id: id.to_owned(),
        url,
        path,
        st,
    };
    let mut hits = Vec::new();
    for (i, s) in topo.sites.iter().enumerate() {
        if matches(&s.id, &s.name) {
            let st = st_of(h.map(|h| &h.sites), i as u32);
            hits.push(hit(
                "site",
                &s.id,
                &s.name,
                site_url(&s.id),
                String::new(),
                st,
            ));
        }
    }
    for (i, r) in topo.rooms.iter_ix() {
        if matches(&r.id, &r.name) {
            let site = topo.sites[r.site].name.clone();
            let st = st_of(h.map(|h| &h.rooms), i.get());
            hits.push(hit("room", &r.id, &r.name, room_url(topo, i), site, st));
        }
    }
    for (i, r) in topo.racks.iter_ix() {
        if matches(&r.id, &r.name) {
            let path = topo.path(i, None).join(" › ");
            let st = St::of(h.and_then(|h| h.racks[i.index()].state));
            hits.push(hit("rack", &r.id, &r.name, rack_url(topo, i), path, st));
        }
    }
    for (i, d) in topo.devices.iter_ix() {
        if matches(&d.id, &d.name) {
            let url = device_url(topo, i);
            let path = format!(
                "{} › U{}",
                topo.path(d.rack, None).join(" › "),
                d.u_position
            );
            let st = St::of(h.and_then(|h| h.devices[i.index()].state));
            hits.push(hit("device", &d.id, &d.name, url, path, st));
        }
    }
    for (i, inst) in topo.instances.iter().enumerate() {
        if matches(&inst.name, "") {
            let d = &topo.devices[inst.device];
            let url = format!(
                "{}?instance={}#inst-{}",
                device_url(topo, inst.device),
                enc(&inst.name),
                enc(&inst.name)
            );
            let path = format!(
                "{} › U{} › {}",
                topo.path(d.rack, None).join(" › "),
                d.u_position,
                d.name
            );
            let st = St::of(node_state(snap, i as u32));
            hits.push(hit("instance", &inst.name, &inst.name, url, path, st));
        }
    }
    // Exact ids first, keeping the hierarchy order otherwise.
    hits.sort_by_key(|h| h.id.to_lowercase() != needle);
    hits
}

pub async fn handler(
    State(st): State<AppState>,
    ctx: Ctx,
    Query(q): Query<SearchQuery>,
) -> Response {
    let (snap, config) = world(&st);
    let snap = snap.as_deref();
    let topo = &config.topology;
    // A qualified path names one object: go there.
    let key = q.q.trim();
    if key.contains(rackscope_core::topology::PATH_SEP) && !ctx.fragment {
        let url = topo
            .find_rack(key)
            .one()
            .map(|x| rack_url(topo, x))
            .or_else(|| topo.find_room(key).one().map(|r| room_url(topo, r)))
            .or_else(|| topo.find_device(key).one().map(|d| device_url(topo, d)));
        if let Some(url) = url {
            return Redirect::to(&url).into_response();
        }
    }
    let hits = search_hits(snap, topo, &q.q);
    // One exact match: go straight there, as a jump box should.
    let exact: Vec<&Hit> = hits
        .iter()
        .filter(|h| h.id.eq_ignore_ascii_case(q.q.trim()))
        .collect();
    if exact.len() == 1 && !ctx.fragment {
        return Redirect::to(&exact[0].url).into_response();
    }
    let more = hits.len() > MAX_HITS;
    let page = SearchPage {
        q: q.q.clone(),
        hits: hits.into_iter().take(MAX_HITS).collect(),
        more,
    };
    let crumbs = crumbs(&config.topology, Above::Overview);
    let mut c = chrome(&st, &ctx, &config, snap, "Search", "", crumbs);
    c.q = q.q;
    html(&st, &ctx, StatusCode::OK, &c, &page)
}
