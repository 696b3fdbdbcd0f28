//! `/views/cluster`: any racks side by side (upstream's cluster wallboard), chosen by
//! `?racks=` or saved as a named view in `views.yaml` (`/views/cluster/{id}`); operators
//! save and delete views from the page.

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use rackscope_core::Config;
use rackscope_core::model::topology::Face;
use rackscope_core::read::rack_summary;
use rackscope_core::telemetry::Snapshot;
use rackscope_core::topology::RackIx;
use rackscope_core::util::form_pairs;
use rackscope_core::views::{ClusterViewDef, Views, rack_list};
use serde::Serialize;

use crate::server::AppState;
use crate::ui::chrome::{chrome, world};
use crate::ui::draw::{self, St};
use crate::ui::pages::rack::elevation::{Shade, elevation};
use crate::ui::urls::{enc, rack_url};
use crate::ui::{Ctx, Page, html};

/// Racks drawn as fronts; past this a view lists the rest as tiles, so that a page stays
/// under 200 KB on a wallboard (16 fronts of 42 devices weigh about 130 KB).
const MAX_DRAWN: usize = 16;
/// The racks the picker lists as boxes to tick; past this, the text field only.
const MAX_PICK: usize = 1500;

#[derive(Debug, Serialize)]
pub struct ClusterPage {
    pub title: String,
    /// The saved view shown, if this is one.
    pub id: Option<String>,
    pub description: Option<String>,
    pub st: St,
    pub summary: String,
    pub racks: Vec<RackFront>,
    /// Racks past `MAX_DRAWN`, as state tiles.
    pub tiles: Vec<Tile>,
    pub missing: Vec<String>,
    /// The racks shown, as the `racks=` value that shows them again.
    pub racks_query: String,
    pub saved: Vec<Saved>,
    pub picker: Vec<PickRoom>,
    pub pick_more: usize,
    pub save: Option<SaveForm>,
    pub feedback: Option<String>,
    pub error: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct RackFront {
    pub name: String,
    pub url: String,
    pub path: String,
    pub st: St,
    pub counts: String,
    pub elevation: draw::Elevation,
}

#[derive(Debug, Serialize)]
pub struct Tile {
    pub name: String,
    pub url: String,
    pub st: St,
    pub counts: String,
}

#[derive(Debug, Serialize)]
pub struct Saved {
    pub id: String,
    pub name: String,
    pub url: String,
    pub racks: usize,
    pub missing: usize,
    pub current: bool,
}

#[derive(Debug, Serialize)]
pub struct PickRoom {
    pub name: String,
    pub racks: Vec<PickRack>,
}

#[derive(Debug, Serialize)]
pub struct PickRack {
    pub key: String,
    pub name: String,
    pub checked: bool,
}

/// The "Save as a view" form: filled with the view shown when it is a saved one.
#[derive(Debug, Serialize)]
pub struct SaveForm {
    pub id: String,
    pub name: String,
    pub description: String,
    pub can_delete: bool,
}

impl Page for ClusterPage {
    const TEMPLATE: &'static str = "cluster.html";
}

/// The `racks=` list and the picker's repeated `rack=` of a query, in order, unique.
fn asked_racks(q: Option<&str>) -> Vec<String> {
    let mut keys = String::new();
    for (k, v) in form_pairs(q.unwrap_or(""), 4 * rackscope_core::views::MAX_RACKS) {
        if k == "racks" || k == "rack" {
            keys.push(',');
            keys.push_str(&v);
        }
    }
    rack_list(&keys)
}

/// The value of `key` in a query, decoded.
fn query_value(q: Option<&str>, key: &str) -> Option<String> {
    form_pairs(q.unwrap_or(""), 64).find_map(|(k, v)| (k == key).then_some(v))
}

fn counts(crit: usize, warn: usize) -> String {
    match (crit, warn) {
        (0, 0) => "no failing node".into(),
        (c, w) => format!("{c} CRIT · {w} WARN nodes"),
    }
}

/// The page's data for racks `racks` (found) and `missing` (not found); public for the
/// render benchmark.
pub fn build(
    snap: Option<&Snapshot>,
    config: &Config,
    views: &Views,
    shown: Option<&rackscope_core::views::ClusterView>,
    racks: &[RackIx],
    missing: Vec<String>,
) -> ClusterPage {
    let topo = &config.topology;
    let mut worst = None;
    let (mut crit, mut warn) = (0, 0);
    let mut fronts = Vec::new();
    let mut tiles = Vec::new();
    for (i, &x) in racks.iter().enumerate() {
        let r = &topo.racks[x];
        let sum = snap.map(|s| rack_summary(s, x));
        let sev = sum.and_then(|s| s.state);
        worst = worst.max(sev);
        let (c, w) = sum.map_or((0, 0), |s| (s.node_crit, s.node_warn));
        crit += c;
        warn += w;
        if i < MAX_DRAWN {
            let mut e = elevation(snap, config, x, Face::Front, None, sev, Shade::Health);
            for d in &mut e.devices {
                d.anchor = None;
            }
            fronts.push(RackFront {
                name: r.name.clone(),
                url: rack_url(topo, x),
                path: topo.path(x, None).join(" › "),
                st: St::of(sev),
                counts: counts(c, w),
                elevation: e,
            });
        } else {
            tiles.push(Tile {
                name: r.name.clone(),
                url: rack_url(topo, x),
                st: St::of(sev),
                counts: counts(c, w),
            });
        }
    }
    let keys: Vec<String> = racks
        .iter()
        .map(|&x| topo.rack_key(x).into_owned())
        .collect();
    let mut picker = Vec::new();
    let mut listed = 0;
    let mut pick_more = 0;
    for (ri, room) in topo.rooms.iter_ix() {
        let mut rs = Vec::new();
        for x in topo.room_racks(ri) {
            if listed >= MAX_PICK {
                pick_more += 1;
                continue;
            }
            listed += 1;
            let key = topo.rack_key(x).into_owned();
            rs.push(PickRack {
                checked: keys.contains(&key),
                name: topo.racks[x].name.clone(),
                key,
            });
        }
        if !rs.is_empty() {
            picker.push(PickRoom {
                name: format!("{} › {}", topo.sites[room.site].name, room.name),
                racks: rs,
            });
        }
    }
    ClusterPage {
        title: shown.map_or_else(|| "Cluster view".to_owned(), |v| v.name().to_owned()),
        id: shown.map(|v| v.def.id.clone()),
        description: shown.and_then(|v| v.def.description.clone()),
        st: St::of(worst),
        summary: if racks.is_empty() {
            String::new()
        } else {
            format!(
                "{} rack{} · {}",
                racks.len(),
                if racks.len() == 1 { "" } else { "s" },
                counts(crit, warn)
            )
        },
        racks: fronts,
        tiles,
        missing,
        racks_query: keys.join(","),
        saved: views
            .cluster
            .iter()
            .map(|v| Saved {
                id: v.def.id.clone(),
                name: v.name().to_owned(),
                url: format!("/views/cluster/{}", enc(&v.def.id)),
                racks: v.racks.len(),
                missing: v.missing.len(),
                current: shown.is_some_and(|s| s.def.id == v.def.id),
            })
            .collect(),
        picker,
        pick_more,
        save: None,
        feedback: None,
        error: None,
    }
}

fn may_save(st: &AppState, ctx: &Ctx) -> bool {
    ctx.user.operator && crate::server::editing_api::editors_allowed(st).is_ok()
}

/// `GET /views/cluster?racks=…`: the racks asked for, or the picker and the saved views.
pub async fn index(State(st): State<AppState>, ctx: Ctx, RawQuery(q): RawQuery) -> Response {
    let keys = asked_racks(q.as_deref());
    let feedback = query_value(q.as_deref(), "deleted").map(|id| format!("View `{id}` deleted."));
    render(&st, &ctx, None, keys, feedback, None, StatusCode::OK)
}

/// `GET /views/cluster/{id}`: a saved view.
pub async fn view(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Response {
    let saved = query_value(q.as_deref(), "saved").is_some_and(|v| v == "1");
    render(
        &st,
        &ctx,
        Some(&id),
        Vec::new(),
        saved.then(|| "View saved.".to_owned()),
        None,
        StatusCode::OK,
    )
}

fn render(
    st: &AppState,
    ctx: &Ctx,
    id: Option<&str>,
    keys: Vec<String>,
    feedback: Option<String>,
    error: Option<String>,
    status: StatusCode,
) -> Response {
    let (snap, config) = world(st);
    let snap = snap.as_deref();
    let (views, problem) = crate::cluster_views::current(&config);
    let shown = id.and_then(|i| views.get(i));
    if let (Some(i), None) = (id, shown) {
        let c = chrome(
            st,
            ctx,
            &config,
            snap,
            "Cluster view",
            "cluster",
            Vec::new(),
        );
        let why = problem.map_or_else(String::new, |p| format!(" (views.yaml does not load: {p})"));
        return crate::ui::error_page(
            st,
            ctx,
            &c,
            &crate::ui::PageError::NotFound {
                kind: "cluster view",
                id: format!("{i}{why}"),
            },
        );
    }
    let (racks, missing) = match shown {
        Some(v) => (v.racks.clone(), v.missing.clone()),
        None => {
            let v = rackscope_core::views::resolve(
                ClusterViewDef {
                    id: String::new(),
                    name: None,
                    description: None,
                    racks: keys,
                },
                &config.topology,
            );
            (v.racks, v.missing)
        }
    };
    let mut page = build(snap, &config, &views, shown, &racks, missing);
    page.feedback = feedback;
    page.error = error.or(problem.map(|p| format!("views.yaml does not load: {p}")));
    if may_save(st, ctx) && !racks.is_empty() {
        page.save = Some(SaveForm {
            id: shown.map_or_else(String::new, |v| v.def.id.clone()),
            name: shown.map_or_else(String::new, |v| v.name().to_owned()),
            description: shown
                .and_then(|v| v.def.description.clone())
                .unwrap_or_default(),
            can_delete: shown.is_some(),
        });
    }
    let title = page.title.clone();
    let c = chrome(st, ctx, &config, snap, &title, "cluster", Vec::new());
    html(st, ctx, status, &c, &page)
}

#[derive(serde::Deserialize)]
pub struct SaveBody {
    #[serde(default)]
    pub op: String,
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub racks: String,
}

/// `POST /views/cluster`: save (`op=save`) or delete (`op=delete`) a named view.
pub async fn submit(
    State(st): State<AppState>,
    ctx: Ctx,
    axum::Form(f): axum::Form<SaveBody>,
) -> Response {
    let keys = rack_list(&f.racks);
    let fail = |st: &AppState, why: String, status: StatusCode| {
        let id = (f.op == "delete").then_some(f.id.as_str());
        render(st, &ctx, id, keys.clone(), None, Some(why), status)
    };
    if let Err(why) = crate::server::editing_api::editors_allowed(&st) {
        let why = why.replace("editing the configuration", "saving cluster views");
        return fail(&st, why, StatusCode::FORBIDDEN);
    }
    let config = st.engine.config();
    let who = crate::editing::actor(ctx.user.name.clone());
    let id = f.id.trim().to_owned();
    let op = f.op.clone();
    let def = ClusterViewDef {
        id: id.clone(),
        name: Some(f.name.trim().to_owned()).filter(|n| !n.is_empty()),
        description: Some(f.description.trim().to_owned()).filter(|n| !n.is_empty()),
        racks: keys.clone(),
    };
    let result = tokio::task::spawn_blocking(move || match op.as_str() {
        "save" => crate::cluster_views::save(&config, &def, &who),
        "delete" => crate::cluster_views::delete(&config, &def.id, &who),
        other => Err(crate::cluster_views::ViewError::BadRequest(format!(
            "`{}` is not something this page does",
            other.escape_debug()
        ))),
    })
    .await;
    use crate::cluster_views::ViewError;
    match result {
        Ok(Ok(_)) if f.op == "delete" => {
            Redirect::to(&format!("/views/cluster?deleted={}", enc(&id))).into_response()
        }
        Ok(Ok(_)) => Redirect::to(&format!("/views/cluster/{}?saved=1", enc(&id))).into_response(),
        Ok(Err(ViewError::NotFound(i))) => {
            fail(&st, format!("no view `{i}`"), StatusCode::NOT_FOUND)
        }
        Ok(Err(ViewError::BadRequest(why))) => fail(&st, why, StatusCode::BAD_REQUEST),
        Ok(Err(ViewError::Invalid(problems))) => {
            let first = problems
                .first()
                .map(|p| format!("{}:{}:{}: {}", p.file, p.line, p.col, p.message))
                .unwrap_or_default();
            fail(
                &st,
                format!("views.yaml would not load: {first}"),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
        }
        Ok(Err(ViewError::Io(why))) => fail(&st, why, StatusCode::INTERNAL_SERVER_ERROR),
        Err(e) => fail(
            &st,
            format!("the save did not finish: {e}"),
            StatusCode::INTERNAL_SERVER_ERROR,
        ),
    }
}
