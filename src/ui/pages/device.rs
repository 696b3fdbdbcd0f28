//! A device: its checks, its instances' checks and slots, and a chart per metric.

use std::time::{Duration, SystemTime};

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use rackscope_core::Config;
use rackscope_core::model::checks::Scope;
use rackscope_core::read::check_outcomes;
use rackscope_core::telemetry::{RangeSpec, Snapshot};
use rackscope_core::topology::DeviceIx;
use serde::{Deserialize, Serialize};

use crate::server::{AppState, live};
use crate::ui::chrome::{Above, chrome, crumbs, world};
use crate::ui::draw::{self, St};
use crate::ui::rows::{CheckRow, check_row};
use crate::ui::urls::{device_url, rack_device_url};
use crate::ui::{Ctx, Page, html};

#[derive(Debug, Serialize)]
pub struct InstanceCard {
    pub name: String,
    /// What Slurm says of the node, beside its hardware health (the Slurm view on).
    pub slurm: Option<SlurmMark>,
    pub anchor: String,
    pub st: St,
    pub checks: Vec<CheckRow>,
    pub slots: Vec<CheckRow>,
    pub selected: bool,
}

/// A node's Slurm status and partitions, coloured by its Slurm severity.
#[derive(Debug, Serialize)]
pub struct SlurmMark {
    pub status: String,
    #[serde(skip)]
    pub level: rackscope_core::slurm::Level,
    pub sev: crate::ui::pages::slurm::Sev,
    pub partitions: String,
}

impl SlurmMark {
    /// The mark of instance `i` at the snapshot: `unknown` when the view is on but Slurm
    /// said nothing of it (or its query failed), none when the view is off.
    pub fn of(
        snap: &Snapshot,
        i: Option<rackscope_core::topology::InstanceIx>,
    ) -> Option<SlurmMark> {
        let state = snap.slurm.as_ref()?;
        let node = i.and_then(|i| state.view.nodes.get(&i));
        Some(match node {
            Some(n) => SlurmMark {
                status: n.status.clone(),
                level: n.level,
                sev: crate::ui::pages::slurm::Sev::of(n.level),
                partitions: n.partitions.join(", "),
            },
            None => SlurmMark {
                status: "unknown".into(),
                level: rackscope_core::slurm::Level::Unknown,
                sev: crate::ui::pages::slurm::Sev::of(rackscope_core::slurm::Level::Unknown),
                partitions: String::new(),
            },
        })
    }
}

#[derive(Debug, Serialize)]
pub struct ChartView {
    pub title: String,
    pub unit: String,
    pub query: String,
    pub chart: Option<draw::Chart>,
    pub error: Option<String>,
    /// Series not drawn beyond `draw::MAX_LINES`.
    pub omitted: usize,
}

#[derive(Debug, Serialize)]
pub struct RangeLink {
    pub label: &'static str,
    pub url: String,
    pub active: bool,
}

#[derive(Debug, Serialize)]
pub struct DevicePage {
    pub id: String,
    pub name: String,
    pub rack_url: String,
    pub template: String,
    pub kind: String,
    pub u: u32,
    pub u_height: u32,
    pub st: St,
    pub checks: Vec<CheckRow>,
    pub instances: Vec<InstanceCard>,
    pub ranges: Vec<RangeLink>,
    pub charts: Vec<ChartView>,
    /// The window the device is in, if one covers it whole.
    pub maint: Option<crate::ui::maint::Maint>,
    pub start_maint: Option<crate::ui::maint::StartMaint>,
}

impl Page for DevicePage {
    const TEMPLATE: &'static str = "device.html";
}

#[derive(Deserialize)]
pub struct DeviceQuery {
    pub range: Option<String>,
    pub instance: Option<String>,
}

const RANGES: [&str; 4] = ["1h", "6h", "24h", "7d"];

pub async fn handler(
    State(st): State<AppState>,
    ctx: Ctx,
    Path((rack_id, device_id)): Path<(String, String)>,
    Query(q): Query<DeviceQuery>,
) -> Response {
    let (snap, config) = world(&st);
    let topo = &config.topology;
    let d = match crate::resolve::device(topo, &rack_id, &device_id) {
        Ok(d) => d,
        Err(e) => {
            return crate::ui::pages::ambiguous::unresolved(&st, &ctx, &config, snap.as_deref(), e);
        }
    };
    let x = topo.devices[d].rack;
    let range = q
        .range
        .as_deref()
        .filter(|r| RANGES.contains(r))
        .unwrap_or("1h");
    let mut page = build(snap.as_deref(), &config, d, q.instance.as_deref(), range);
    page.charts = charts(&st, &config, d, range).await;
    let m = st.engine.maintenances();
    let cover = crate::ui::maint::cover(snap.as_deref(), &config, &m);
    page.maint = cover.device(d).map(crate::ui::maint::Maint::of);
    let key = topo.device_key(d);
    page.start_maint = crate::ui::maint::start_form(
        &st,
        &ctx,
        "device",
        &key,
        crate::ui::urls::device_url(topo, d),
        &format!("device {key} and its instances"),
    );
    let crumbs = crumbs(topo, Above::Rack(x, &device_id));
    let c = chrome(&st, &ctx, &config, snap.as_deref(), &page.name, "", crumbs);
    html(&st, &ctx, StatusCode::OK, &c, &page)
}

/// The device page's data, without the charts.
pub fn build(
    snap: Option<&Snapshot>,
    config: &Config,
    d: DeviceIx,
    selected: Option<&str>,
    range: &str,
) -> DevicePage {
    let topo = &config.topology;
    let dev = &topo.devices[d];
    let tpl = config.catalog.devices.get(&dev.template_id).map(|t| &t.def);
    let mut instances = Vec::new();
    if let Some(s) = snap {
        for n in s.plan.targets.device_nodes(topo, d) {
            let Some(h) = s.health.nodes.get(n as usize) else {
                continue;
            };
            let name = s.plan.targets.key(topo, Scope::Node, n).to_owned();
            let slots = h
                .slots
                .iter()
                .flat_map(|g| {
                    let bound = &s.plan.checks[g.check as usize];
                    g.slots.iter().map(move |r| CheckRow {
                        id: format!("{}:{}{}", bound.id, g.label, r.name),
                        name: format!("{} {}", g.label, r.name),
                        st: St::of(Some(r.severity)),
                        value: r
                            .value
                            .map_or_else(|| "–".into(), |v| draw::value_text(v, "")),
                        pending: r
                            .pending
                            .map(|p| format!("pending {}", p.severity.as_str())),
                        message: String::new(),
                    })
                })
                .collect();
            let slurm = SlurmMark::of(s, s.plan.targets.node_instance(n));
            instances.push(InstanceCard {
                anchor: format!("inst-{name}"),
                selected: selected == Some(name.as_str()),
                slurm,
                name,
                st: St::of(h.state),
                checks: check_outcomes(s, h).iter().map(check_row).collect(),
                slots,
            });
        }
    } else {
        for i in topo.device_instances(dev) {
            instances.push(InstanceCard {
                anchor: format!("inst-{}", i.name),
                selected: selected == Some(i.name.as_str()),
                slurm: None,
                name: i.name.clone(),
                st: St::of(None),
                checks: Vec::new(),
                slots: Vec::new(),
            });
        }
    }
    let base = device_url(topo, d);
    DevicePage {
        id: dev.id.clone(),
        name: dev.name.clone(),
        rack_url: rack_device_url(topo, d),
        template: dev.template_id.clone(),
        kind: tpl.map_or_else(String::new, |t| t.kind.clone()),
        u: dev.u_position,
        u_height: tpl.map_or(1, |t| t.u_height.value),
        st: St::of(snap.and_then(|s| s.health.devices[d.index()].state)),
        checks: snap.map_or_else(Vec::new, |s| {
            check_outcomes(s, &s.health.devices[d.index()])
                .iter()
                .map(check_row)
                .collect()
        }),
        instances,
        ranges: RANGES
            .iter()
            .map(|l| RangeLink {
                label: l,
                url: format!("{base}?range={l}"),
                active: *l == range,
            })
            .collect(),
        charts: Vec::new(),
        maint: None,
        start_maint: None,
    }
}

/// One chart per metric of the device's template, from the range queries `live` sends.
async fn charts(st: &AppState, config: &Config, d: DeviceIx, range: &str) -> Vec<ChartView> {
    let span = live::parse_range(range).unwrap_or(Duration::from_secs(3600));
    let end = SystemTime::now();
    let spec = RangeSpec {
        start: end.checked_sub(span).unwrap_or(SystemTime::UNIX_EPOCH),
        end,
        step: live::auto_step(span),
    };
    let start = rackscope_core::telemetry::source::unix_seconds(spec.start);
    let stop = rackscope_core::telemetry::source::unix_seconds(spec.end);
    live::device_ranges(&st.engine, config, d, spec)
        .await
        .into_iter()
        .map(|m| {
            let def = m.def;
            let unit = def.display.unit.clone();
            let (warn, crit) = def
                .display
                .thresholds
                .as_ref()
                .map_or((None, None), |t| (t.warn, t.crit));
            let omitted = m.series.len().saturating_sub(draw::MAX_LINES);
            ChartView {
                title: def.name.clone(),
                chart: (!m.series.is_empty())
                    .then(|| draw::chart(&m.series, start, stop, &unit, warn, crit)),
                unit,
                query: m.query,
                error: m.error,
                omitted,
            }
        })
        .collect()
}
