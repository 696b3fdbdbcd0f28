//! The endpoints that reach Prometheus: live metric values (rack view with
//! `include_metrics`, device metrics), chart data, and the check tester. Every query goes
//! through the engine, which times it out, counts it and (for instant queries) caches it;
//! one metric for many targets is one query (`metricq`).

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Query, State};
use axum::http::Method;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use futures_util::StreamExt;
use rackscope_core::Config;
use rackscope_core::model::checks::Scope;
use rackscope_core::model::metrics::MetricDef;
use rackscope_core::telemetry::metricq::{self, MetricQuery, MetricScope};
use rackscope_core::telemetry::routing::SourceIx;
use rackscope_core::telemetry::{Engine, RangeSpec, Snapshot, source};
use rackscope_core::topology::{DeviceIx, RackIx};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use crate::server::AppState;
use crate::server::api::find_device;
use crate::server::error::{ApiError, ErrorBody};
use crate::server::routes::{Need, Routes};
use crate::server::wire;
use crate::server::wire::live::{ChartData, ChartSeries, Points};

pub fn routes() -> Routes {
    Routes::new()
        .read(
            "/api/devices/{rack_id}/{device_id}/metrics",
            get(device_metrics),
        )
        .read("/api/metrics/data", get(metrics_data))
        .read("/api/slurm/metrics/data", get(slurm_metric_data))
        .route(
            "/api/checks/test",
            &[(Method::POST, Need::OPERATOR)],
            post(checks_test).layer(axum::extract::DefaultBodyLimit::max(TESTER_BODY_LIMIT)),
        )
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct SlurmMetricQuery {
    /// A metric id of the Slurm metrics catalog.
    metric_id: Option<String>,
}

#[utoipa::path(
    get,
    path = "/api/slurm/metrics/data",
    operation_id = "slurmMetricData",
    tag = "slurm",
    summary = "A Slurm catalog metric's current value (instant query, short cache)",
    description = "Runs the catalog entry's `metric` through the bounded, cached path the metrics views use. A Prometheus failure answers 200 with `data: []` and `error`, as the Python version.",
    params(SlurmMetricQuery),
    responses(
        (status = 200, description = "`{metric_id, name, scope, display, data: [{labels, value}], error?}`", body = Object),
        (status = 400, description = "No metric_id", body = ErrorBody),
        (status = 404, description = "The Slurm view is off, or no such metric", body = ErrorBody),
    )
)]
async fn slurm_metric_data(
    State(st): State<AppState>,
    Query(q): Query<SlurmMetricQuery>,
) -> Result<Response, ApiError> {
    let config = st.engine.config();
    let slurm = crate::server::slurm_api::slurm_of(&config)?;
    let id = q
        .metric_id
        .ok_or_else(|| ApiError::BadRequest("metric_id is required".into()))?;
    let m = slurm
        .catalog
        .iter()
        .find(|m| m.id.value == id)
        .ok_or_else(|| ApiError::not_found("Slurm metric", &id))?;
    let ttl = Duration::from_secs(u64::from(config.app.cache.metrics_ttl_seconds).max(1));
    let (data, error) = match st.engine.instant_cached(&m.metric.value, ttl).await {
        Ok(r) => (
            r.samples
                .iter()
                .map(|s| {
                    let labels: serde_json::Map<String, serde_json::Value> = s
                        .labels
                        .iter()
                        .map(|(k, v)| (k.to_owned(), serde_json::Value::String(v.to_owned())))
                        .collect();
                    serde_json::json!({ "labels": labels, "value": crate::server::wire::live::finite(s.value) })
                })
                .collect::<Vec<_>>(),
            None,
        ),
        Err(e) => (Vec::new(), Some(e.to_string())),
    };
    let mut body = serde_json::json!({
        "metric_id": id,
        "name": m.name.as_deref().unwrap_or(&m.id.value),
        "scope": m.scope,
        "display": m.display,
        "data": data,
    });
    if let Some(e) = error {
        body["error"] = serde_json::Value::String(e);
    }
    Ok(Json(body).into_response())
}

/// The largest tester request body: an expression at its limit plus its variables.
pub(crate) const TESTER_BODY_LIMIT: usize = 256 * 1024;
/// The most variables one tester request may fill in.
const MAX_TEST_VARIABLES: usize = 32;

/// Live values for the rack view (`include_metrics`, and the rack page).
#[derive(Default)]
pub struct RackLive {
    pub node_temperature: HashMap<String, f64>,
    pub node_power: HashMap<String, f64>,
    pub components: Vec<(String, Vec<(String, f64)>)>,
    pub error: Option<String>,
}

/// What to fetch: a metric of the library for some targets of its scope.
struct Want {
    metric: String,
    scope: MetricScope,
    ids: Vec<String>,
}

/// metric id → target → value (several series of one target combined by unit), and the
/// first error met, if any.
type Fetched = (HashMap<String, HashMap<String, f64>>, Option<String>);

/// The values `wants` names, asked of the source `via` (the site's the ids are in).
async fn fetch(engine: &Engine, config: &Config, via: SourceIx, wants: &[Want]) -> Fetched {
    let ttl = Duration::from_secs(u64::from(config.app.cache.metrics_ttl_seconds));
    let mut jobs: Vec<(usize, MetricQuery)> = Vec::new();
    for (i, w) in wants.iter().enumerate() {
        let Some(def) = config.metrics.get(&w.metric) else {
            continue;
        };
        let ids: Vec<&str> = w.ids.iter().map(String::as_str).collect();
        jobs.extend(
            metricq::queries(&def.def, w.scope, &ids)
                .into_iter()
                .map(|q| (i, q)),
        );
    }
    let limit = (config.app.planner.max_concurrent_queries as usize).max(1);
    // Built eagerly, not in a `map` closure: a closure returning a borrowing future makes
    // the handler's future not `Send` for every lifetime (the engine's refresh does the same).
    let mut futures = Vec::with_capacity(jobs.len());
    for (_, q) in &jobs {
        futures.push(engine.instant_cached_via(via, &q.expr, ttl));
    }
    let answers: Vec<_> = futures_util::stream::iter(futures)
        .buffered(limit)
        .collect()
        .await;
    let mut raw: Vec<HashMap<String, Vec<f64>>> = vec![HashMap::new(); wants.len()];
    let mut error = None;
    for ((i, q), a) in jobs.iter().zip(answers) {
        match a {
            Ok(res) => metricq::collect(q, &res, &mut raw[*i]),
            Err(e) => {
                error.get_or_insert_with(|| e.to_string());
            }
        }
    }
    let mut out: HashMap<String, HashMap<String, f64>> = HashMap::new();
    for (w, values) in wants.iter().zip(raw) {
        let unit = config
            .metrics
            .get(&w.metric)
            .map(|m| m.def.display.unit.clone())
            .unwrap_or_default();
        let m = out.entry(w.metric.clone()).or_default();
        for (target, v) in values {
            if let Some(x) = metricq::combine(&unit, &v) {
                m.insert(target, x);
            }
        }
    }
    (out, error)
}

/// The node-space names of a device: its instances, or its own id.
pub(crate) fn node_keys(snap: &Snapshot, d: DeviceIx) -> Vec<String> {
    let topo = &snap.config.topology;
    snap.plan
        .targets
        .device_nodes(topo, d)
        .map(|n| snap.plan.targets.key(topo, Scope::Node, n).to_owned())
        .collect()
}

/// Adds `ids` to the want for `metric`, creating it in first-seen order.
fn want(wants: &mut Vec<Want>, metric: &str, scope: MetricScope, ids: &[String]) {
    match wants.iter_mut().find(|w| w.metric == metric) {
        Some(w) => w.ids.extend(ids.iter().cloned()),
        None => wants.push(Want {
            metric: metric.to_owned(),
            scope,
            ids: ids.to_vec(),
        }),
    }
}

/// The temperature and power metrics of the nodes of `devices`, as their templates name
/// them, and for each metric whether it is the temperature (true) or the power column.
fn node_wants(snap: &Snapshot, devices: &[DeviceIx]) -> (Vec<Want>, HashMap<String, bool>) {
    let config = &*snap.config;
    let topo = &config.topology;
    let mut wants = Vec::new();
    let mut column: HashMap<String, bool> = HashMap::new();
    for &d in devices {
        let dev = &topo.devices[d];
        let Some(t) = config.catalog.devices.get(&dev.template_id) else {
            continue;
        };
        let keys = node_keys(snap, d);
        let node_metric = |pick: fn(&rackscope_core::model::metrics::MetricDef) -> bool| {
            t.def.metrics.iter().find(|id| {
                config.metrics.get(id).is_some_and(|m| {
                    pick(&m.def) && metricq::scope_of(&m.def) == Some(MetricScope::Instance)
                })
            })
        };
        if let Some(id) = node_metric(metricq::is_temperature) {
            want(&mut wants, id, MetricScope::Instance, &keys);
            column.insert(id.to_string(), true);
        }
        if let Some(id) = node_metric(metricq::is_power) {
            want(&mut wants, id, MetricScope::Instance, &keys);
            column.insert(id.to_string(), false);
        }
    }
    (wants, column)
}

/// The most node values (ids over the temperature and power metrics) a room or site page
/// fetches.
pub const MAX_LIVE_IDS: usize = 40_000;

/// A rack's hottest node and the power its nodes draw, as far as Prometheus answered.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct RackHeat {
    pub temp_max: Option<f64>,
    pub power_sum: Option<f64>,
}

/// The temperature and power of every rack of a room, and the warn and crit thresholds of
/// the temperature metric; a rack no node of which answered is left out.
#[derive(Debug, Default)]
pub struct RoomLive {
    pub racks: HashMap<RackIx, RackHeat>,
    pub temp_thresholds: (Option<f64>, Option<f64>),
    pub error: Option<String>,
}

/// `room_live`, waited on at most `wait`: a page draws without the values rather than
/// late, and says why.
pub async fn room_live_within(
    engine: &Engine,
    snap: &Snapshot,
    racks: &[RackIx],
    wait: Duration,
) -> RoomLive {
    tokio::time::timeout(wait, room_live(engine, snap, racks))
        .await
        .unwrap_or_else(|_| RoomLive {
            error: Some(format!(
                "Prometheus did not answer within {} s",
                wait.as_secs()
            )),
            ..RoomLive::default()
        })
}

/// Temperature and power of the racks `racks` (a room's), in one query per metric (and id
/// chunk), through the engine's cache: a floor plan refreshed by many screens costs
/// Prometheus one answer per cache period.
pub async fn room_live(engine: &Engine, snap: &Snapshot, racks: &[RackIx]) -> RoomLive {
    let config = &*snap.config;
    let topo = &config.topology;
    let devices: Vec<DeviceIx> = racks
        .iter()
        .flat_map(|&x| topo.racks[x].devices.iter().copied())
        .collect();
    let (wants, column) = node_wants(snap, &devices);
    // A page view must not cost Prometheus hundreds of queries: past this many node ids
    // (a hundred queries a metric at 200 ids each), the page goes without the values.
    let ids: usize = wants.iter().map(|w| w.ids.len()).sum();
    if ids > MAX_LIVE_IDS {
        return RoomLive {
            error: Some(format!(
                "{ids} node values to fetch: a page totals temperature and power for at most {MAX_LIVE_IDS}"
            )),
            ..RoomLive::default()
        };
    }
    // One room's or one site's racks: one source answers for them all.
    let via = racks.first().map_or(0, |&r| snap.plan.routes.rack(topo, r));
    let (values, error) = fetch(engine, config, via, &wants).await;
    let mut live = RoomLive {
        error,
        ..RoomLive::default()
    };
    for (metric, &is_temp) in &column {
        if is_temp
            && live.temp_thresholds == (None, None)
            && let Some(t) = config
                .metrics
                .get(metric)
                .and_then(|m| m.def.display.thresholds.as_ref())
        {
            live.temp_thresholds = (t.warn, t.crit);
        }
    }
    for &x in racks {
        let mut heat = RackHeat::default();
        for &d in &topo.racks[x].devices {
            for key in node_keys(snap, d) {
                for (metric, &is_temp) in &column {
                    let Some(v) = values.get(metric).and_then(|m| m.get(&key)).copied() else {
                        continue;
                    };
                    if !v.is_finite() {
                        continue;
                    }
                    if is_temp {
                        heat.temp_max = Some(heat.temp_max.map_or(v, |t| t.max(v)));
                    } else {
                        heat.power_sum = Some(heat.power_sum.unwrap_or(0.0) + v);
                    }
                }
            }
        }
        if heat != RackHeat::default() {
            live.racks.insert(x, heat);
        }
    }
    live
}

/// Temperature and power of every node of a rack and the metrics of its components, in as
/// few queries as the library allows.
pub async fn rack_live(engine: &Engine, snap: &Snapshot, rack: RackIx) -> RackLive {
    let config = &*snap.config;
    let topo = &config.topology;
    let r = &topo.racks[rack];
    let (mut wants, column) = node_wants(snap, &r.devices);
    // Rack components, keyed by their template id (two PDUs of one template are one entry,
    // as in the Python version: the query returns both and the unit adds them up).
    let mut components: Vec<(String, Vec<String>)> = Vec::new();
    if let Some(rt) = r
        .template_id
        .as_deref()
        .and_then(|t| config.catalog.racks.get(t))
    {
        for c in &rt.def.infrastructure.rack_components {
            let Some(ct) = config.catalog.components.get(&c.template_id) else {
                continue;
            };
            if components.iter().any(|(k, _)| **k == **ct.def.id) {
                continue;
            }
            let mut ids = Vec::new();
            for m in &ct.def.metrics {
                if let Some(def) = config.metrics.get(m)
                    && metricq::scope_of(&def.def) == Some(MetricScope::Rack)
                {
                    want(
                        &mut wants,
                        m,
                        MetricScope::Rack,
                        std::slice::from_ref(&r.id),
                    );
                    ids.push(m.to_string());
                }
            }
            components.push((ct.def.id.to_string(), ids));
        }
    }
    let via = snap.plan.routes.rack(topo, rack);
    let (values, error) = fetch(engine, config, via, &wants).await;
    let mut live = RackLive {
        error,
        ..RackLive::default()
    };
    for (metric, is_temp) in &column {
        let Some(v) = values.get(metric) else {
            continue;
        };
        let dest = if *is_temp {
            &mut live.node_temperature
        } else {
            &mut live.node_power
        };
        for (k, x) in v {
            dest.entry(k.clone()).or_insert(*x);
        }
    }
    live.components = components
        .into_iter()
        .map(|(k, ids)| {
            let vals = ids
                .into_iter()
                .filter_map(|m| {
                    let v = values.get(&m).and_then(|x| x.get(&r.id)).copied();
                    v.map(|v| (m, v))
                })
                .collect();
            (k, vals)
        })
        .collect();
    live
}

#[utoipa::path(
    get,
    path = "/api/devices/{rack_id}/{device_id}/metrics",
    operation_id = "deviceMetrics",
    tag = "live",
    summary = "Live values of a device's template metrics (seed 003)",
    description = "Keyed by instance, then by metric-library id (the Python version queried the ids as metric names). Chassis- and rack-level metrics appear under the device id. Before the first snapshot: empty metrics. A Prometheus failure sets `error`.",
    params(
        ("rack_id" = String, Path, description = "Rack id, or its qualified path `site/room/aisle/rack` where the id is shared"),
        ("device_id" = String, Path, description = "Device id"),
    ),
    responses(
        (status = 200, description = "Metrics", body = wire::live::DeviceMetrics, example = json!({"device_id": "blade-chassis-01", "rack_id": "a01-r01", "metrics": {"compute001": {"node_temperature": 41.0, "node_power": 380.0}}})),
        (status = 404, description = "Unknown id", body = ErrorBody, example = json!({"detail": "rack `x` not found"})),
    )
)]
async fn device_metrics(
    State(st): State<AppState>,
    Path((rack_id, device_id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let engine = &st.engine;
    let Some(snap) = engine.snapshot() else {
        return Ok(Json(wire::live::device_metrics(
            &device_id,
            &rack_id,
            Vec::new(),
            None,
        ))
        .into_response());
    };
    let config = &*snap.config;
    let d = find_device(config, &rack_id, &device_id)?;
    let dev = &config.topology.devices[d];
    let keys = node_keys(&snap, d);
    let mut wants = Vec::new();
    if let Some(t) = config.catalog.devices.get(&dev.template_id) {
        for m in &t.def.metrics {
            let Some(def) = config.metrics.get(m) else {
                continue;
            };
            match metricq::scope_of(&def.def) {
                Some(MetricScope::Instance) => want(&mut wants, m, MetricScope::Instance, &keys),
                Some(MetricScope::Chassis) => {
                    want(
                        &mut wants,
                        m,
                        MetricScope::Chassis,
                        std::slice::from_ref(&dev.id),
                    );
                }
                Some(MetricScope::Rack) => {
                    want(
                        &mut wants,
                        m,
                        MetricScope::Rack,
                        std::slice::from_ref(&rack_id),
                    );
                }
                None => {}
            }
        }
    }
    let via = snap.plan.routes.rack(&config.topology, dev.rack);
    let (values, error) = fetch(engine, config, via, &wants).await;
    // instance → metric → value, in the device's instance order then the template's metric
    // order; chassis- and rack-level metrics appear under the device id.
    let mut rows: Vec<(String, Vec<(String, f64)>)> =
        keys.iter().map(|k| (k.clone(), Vec::new())).collect();
    for w in &wants {
        let Some(v) = values.get(&w.metric) else {
            continue;
        };
        match w.scope {
            MetricScope::Instance => {
                for (k, row) in &mut rows {
                    if let Some(x) = v.get(k.as_str()) {
                        row.push((w.metric.clone(), *x));
                    }
                }
            }
            MetricScope::Chassis | MetricScope::Rack => {
                if let Some(x) = v.values().next() {
                    match rows.iter_mut().find(|(k, _)| *k == dev.id) {
                        Some((_, row)) => row.push((w.metric.clone(), *x)),
                        None => rows.push((dev.id.clone(), vec![(w.metric.clone(), *x)])),
                    }
                }
            }
        }
    }
    Ok(Json(wire::live::device_metrics(
        &device_id, &rack_id, rows, error,
    ))
    .into_response())
}

/// One metric's range answer for a device: a labelled line per series, sorted by label.
pub struct MetricRange<'c> {
    pub def: &'c MetricDef,
    /// The last query sent for it (one per batch of targets).
    pub query: String,
    pub series: Vec<(String, Vec<(f64, f64)>)>,
    /// The first failure, if any query failed.
    pub error: Option<String>,
}

/// A range query per metric of the device's template for all the device's nodes (batched
/// like the live reads), every metric's queries sent together within the engine's bound:
/// one after another, a page of ten charts waited ten round trips.
pub async fn device_ranges<'c>(
    engine: &Engine,
    config: &'c Config,
    d: DeviceIx,
    spec: RangeSpec,
) -> Vec<MetricRange<'c>> {
    let topo = &config.topology;
    let dev = &topo.devices[d];
    let via = rackscope_core::telemetry::routing::Routes::of(config).rack(topo, dev.rack);
    let Some(tpl) = config.catalog.devices.get(&dev.template_id) else {
        return Vec::new();
    };
    let names: Vec<String> = if dev.instances.is_empty() {
        vec![dev.id.clone()]
    } else {
        topo.device_instances(dev)
            .iter()
            .map(|i| i.name.clone())
            .collect()
    };
    let mut wanted = Vec::new();
    for m in &tpl.def.metrics {
        let Some(def) = config.metrics.get(&m.value).map(|x| &x.def) else {
            continue;
        };
        let (ids, scope): (Vec<&str>, _) = match metricq::scope_of(def) {
            Some(MetricScope::Instance) => (
                names.iter().map(String::as_str).collect(),
                MetricScope::Instance,
            ),
            Some(MetricScope::Chassis) => (vec![dev.id.as_str()], MetricScope::Chassis),
            Some(MetricScope::Rack) => (vec![topo.racks[dev.rack].id.as_str()], MetricScope::Rack),
            None => continue,
        };
        wanted.push((def, metricq::queries(def, scope, &ids)));
    }
    let mut futures = Vec::new();
    for (_, queries) in &wanted {
        for q in queries {
            futures.push(engine.range_via(via, &q.expr, spec));
        }
    }
    let limit = (config.app.planner.max_concurrent_queries as usize).max(1);
    let mut answers = futures_util::stream::iter(futures)
        .buffered(limit)
        .collect::<Vec<_>>()
        .await
        .into_iter();
    let mut out = Vec::new();
    for (def, queries) in wanted {
        let mut m = MetricRange {
            def,
            query: String::new(),
            series: Vec::new(),
            error: None,
        };
        for q in queries {
            m.query = q.expr.clone();
            let Some(answer) = answers.next() else {
                break;
            };
            match answer {
                Ok(res) => m.series.extend(
                    res.series
                        .into_iter()
                        .map(|s| (series_label(def, &q, &s.labels), s.points)),
                ),
                Err(e) => {
                    m.error.get_or_insert_with(|| e.to_string());
                }
            }
        }
        m.series.sort_by(|a, b| a.0.cmp(&b.0));
        out.push(m);
    }
    out
}

/// A chart line's name: its target, and for several series of one target (sensors, PSUs)
/// what tells them apart.
fn series_label(def: &MetricDef, q: &MetricQuery, labels: &source::Labels) -> String {
    let who = match (&q.label, &q.target) {
        (Some(l), _) => labels.get(l).map(str::to_owned),
        (None, Some(t)) => Some(t.clone()),
        (None, None) => None,
    }
    .unwrap_or_else(|| def.name.clone());
    let extra = labels
        .iter()
        .filter(|(k, _)| {
            !matches!(*k, "__name__" | "instance" | "job")
                && Some(*k) != q.label.as_deref()
                && !k.ends_with("_id")
        })
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>();
    if extra.is_empty() {
        who
    } else {
        format!("{who} {}", extra.join(","))
    }
}

/// The checks page's tester: admitted like `POST /api/checks/test`, then run now. The
/// expression sent, with the answer or why Prometheus gave none; refused before sending
/// when the tester is off, over its rate, or the expression is not sendable.
pub async fn test_now(
    st: &AppState,
    expr: String,
    variables: HashMap<String, String>,
) -> Result<(String, Result<source::InstantResult, String>), ApiError> {
    let query = admit_test(st, expr, variables).await?;
    let res = st
        .engine
        .instant_now(&query)
        .await
        .map_err(|e| e.to_string());
    Ok((query, res))
}

/// `30m`, `6h`, `7d`, `2w`, or plain seconds.
pub fn parse_range(s: &str) -> Option<Duration> {
    let s = s.trim();
    let (num, unit) = match s.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => (&s[..i], &s[i..]),
        None => (s, "s"),
    };
    let n: u64 = num.parse().ok().filter(|n| *n > 0)?;
    let mult = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        "w" => 604_800,
        _ => return None,
    };
    n.checked_mul(mult)
        .filter(|s| *s <= MAX_RANGE_SECONDS)
        .map(Duration::from_secs)
}

/// The longest chart range or step a request may ask for: ten years, far past any
/// retention, and small enough that no time arithmetic can overflow.
pub const MAX_RANGE_SECONDS: u64 = 10 * 366 * 86_400;

/// The Python version's automatic step: about 60–170 points per chart.
pub fn auto_step(range: Duration) -> Duration {
    let s = range.as_secs();
    Duration::from_secs(match s {
        0..=3600 => 60,
        3601..=21_600 => 300,
        21_601..=86_400 => 900,
        86_401..=604_800 => 3600,
        _ => 21_600,
    })
}

/// Every field optional for serde, so that a missing one is refused with its name (400)
/// rather than by the extractor; the document still says which are required.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct DataQuery {
    /// Metric id
    #[param(value_type = String)]
    metric_id: Option<String>,
    /// Instance, device or rack id, as the metric's placeholder needs
    #[param(value_type = String)]
    target_id: Option<String>,
    /// 1h, 6h, 24h, 7d (any <n>[smhdw])
    time_range: Option<String>,
    /// Resolution, e.g. 1m
    step: Option<String>,
    /// Echoed for the chart
    aggregation: Option<String>,
}

/// Prometheus refuses ranges of more points than this.
const MAX_POINTS: u64 = 11_000;

#[utoipa::path(
    get,
    path = "/api/metrics/data",
    operation_id = "metricsData",
    tag = "live",
    summary = "A metric's history for a chart (range query)",
    description = "Both placeholder styles ($instance and {instance}) are filled in. Step is automatic unless given: ≤1h → 1m, ≤6h → 5m, ≤24h → 15m, ≤7d → 1h.",
    params(
        DataQuery,
    ),
    responses(
        (status = 200, description = "Series", body = ChartData, example = json!({"metric_id": "node_temperature", "target_id": "compute001", "time_range": "1h", "step": "60s", "unit": "°C", "aggregation": "avg", "query": "node_temperature_celsius{instance=\"compute001\"}", "series": [{"metric": {"instance": "compute001"}, "values": [[1709292000.0, 41.5]]}], "warnings": []})),
        (status = 400, description = "Missing or invalid parameter", body = ErrorBody),
        (status = 404, description = "Unknown id", body = ErrorBody, example = json!({"detail": "rack `x` not found"})),
        (status = 502, description = "Prometheus unreachable", body = ErrorBody),
        (status = 504, description = "Prometheus timed out", body = ErrorBody),
    )
)]
async fn metrics_data(
    State(st): State<AppState>,
    Query(q): Query<DataQuery>,
) -> Result<Response, ApiError> {
    let config = st.engine.config();
    let metric_id = q
        .metric_id
        .ok_or_else(|| ApiError::BadRequest("metric_id is required".into()))?;
    let target = q
        .target_id
        .ok_or_else(|| ApiError::BadRequest("target_id is required".into()))?;
    let def = &config
        .metrics
        .get(&metric_id)
        .ok_or_else(|| ApiError::not_found("metric", &metric_id))?
        .def;
    let range_text = q
        .time_range
        .unwrap_or_else(|| def.display.default_range.clone());
    let range = parse_range(&range_text).ok_or_else(|| {
        ApiError::BadRequest(format!(
            "time_range `{range_text}` is not a duration such as 1h, 6h, 24h or 7d"
        ))
    })?;
    let step = match q.step.as_deref() {
        None | Some("") => auto_step(range),
        Some(s) => parse_range(s).ok_or_else(|| {
            ApiError::BadRequest(format!("step `{s}` is not a duration such as 1m"))
        })?,
    };
    if range.as_secs() / step.as_secs().max(1) > MAX_POINTS {
        return Err(ApiError::BadRequest(format!(
            "time_range {range_text} at this step is more than {MAX_POINTS} points; choose a larger step"
        )));
    }
    let scope = metricq::scope_of(def);
    let topo = &config.topology;
    // The id Prometheus knows the target by: a qualified path names its object's own id.
    // A shared id charts every series carrying it, as the checks see them.
    let label_id: Option<&str> = match scope {
        Some(MetricScope::Instance) => {
            topo.instance(&target).map(|i| i.name.as_str()).or_else(|| {
                topo.find_device(&target)
                    .all()
                    .first()
                    .map(|&d| topo.devices[d].id.as_str())
            })
        }
        Some(MetricScope::Chassis) => topo
            .find_device(&target)
            .all()
            .first()
            .map(|&d| topo.devices[d].id.as_str()),
        Some(MetricScope::Rack) => topo
            .find_rack(&target)
            .all()
            .first()
            .map(|&r| topo.racks[r].id.as_str()),
        None => Some(target.as_str()),
    };
    let Some(label_id) = label_id else {
        return Err(ApiError::not_found("target", &target));
    };
    let query = match scope {
        Some(s) => metricq::queries(def, s, &[label_id])
            .into_iter()
            .next()
            .map(|q| q.expr),
        None => def.query().map(|q| q.to_string()),
    }
    .ok_or_else(|| ApiError::BadRequest(format!("metric `{metric_id}` has no query")))?;
    let end = SystemTime::now();
    let start = end
        .checked_sub(range)
        .ok_or_else(|| ApiError::BadRequest(format!("time_range {range_text} is too long")))?;
    // Asked of the Prometheus of the target's site (the default one for a free target).
    let rack = match scope {
        None => None,
        Some(_) => topo
            .instance(&target)
            .map(|i| topo.devices[i.device].rack)
            .or_else(|| {
                topo.find_device(&target)
                    .all()
                    .first()
                    .map(|&d| topo.devices[d].rack)
            })
            .or_else(|| topo.find_rack(&target).all().first().copied()),
    };
    let via = rack.map_or(0, |r| {
        rackscope_core::telemetry::routing::Routes::of(&config).rack(topo, r)
    });
    let res = st
        .engine
        .range_via(via, &query, RangeSpec { start, end, step })
        .await?;
    // Serialized straight from the answer: a `json!` value per point cost about 25 times
    // the points' own size (300 series × 11,000 points peaked at 1.6 GB).
    let series: Vec<ChartSeries<'_>> = res
        .series
        .iter()
        .map(|s| ChartSeries {
            metric: s.labels.iter().collect(),
            values: Points(&s.points),
        })
        .collect();
    let body = ChartData {
        metric_id: &metric_id,
        target_id: &target,
        time_range: &range_text,
        step: format!("{}s", step.as_secs()),
        unit: &def.display.unit,
        aggregation: q
            .aggregation
            .unwrap_or_else(|| def.display.aggregation.clone()),
        query: &query,
        series,
        warnings: &res.warnings,
    };
    Ok(Json(body).into_response())
}

#[derive(Deserialize, ToSchema)]
struct TestBody {
    expr: String,
    #[serde(default)]
    variables: HashMap<String, String>,
}

/// `POST /api/checks/test`: `{expr, variables}` with each `$name` replaced (escaped for the
/// string it sits in), parsed, then run through the engine, so the configured
/// authentication, TLS and timeouts apply (the Python version used a bare client).
#[utoipa::path(
    post,
    path = "/api/checks/test",
    operation_id = "checksTest",
    tag = "live",
    summary = "Run a check expression against the configured Prometheus",
    description = "Replaces each `$name` of `variables` (escaped for the string it sits in), parses the result, and runs it with the configured authentication, TLS and timeouts. The result is Prometheus's vector shape.",
    request_body(content = TestBody, example = json!({"expr": "up{instance=~\"$instances\"}", "variables": {"instances": "compute001|compute002"}})),
    responses(
        (status = 200, description = "Result", body = wire::live::TestResult, example = json!({"expr": "up{instance=~\"compute001|compute002\"}", "prometheus": {"status": "success", "data": {"resultType": "vector", "result": [{"metric": {"instance": "compute001"}, "value": [1709295600.0, "1"]}]}}})),
        (status = 400, description = "Empty expression, missing variable, invalid PromQL or refused by Prometheus", body = ErrorBody),
        (status = 502, description = "Prometheus unreachable", body = ErrorBody),
        (status = 504, description = "Prometheus timed out", body = ErrorBody),
    )
)]
async fn checks_test(
    State(st): State<AppState>,
    body: Result<Json<TestBody>, JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(body) = body.map_err(|e| {
        if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::TooLarge(format!(
                "the request body is over {} KiB",
                TESTER_BODY_LIMIT / 1024
            ))
        } else {
            ApiError::BadRequest(e.body_text())
        }
    })?;
    let expr = admit_test(&st, body.expr, body.variables).await?;
    let at = SystemTime::now();
    let res = st.engine.instant_now(&expr).await?;
    let ts = rackscope_core::telemetry::source::unix_seconds(at);
    Ok(Json(wire::live::tester(&expr, &res, ts)).into_response())
}

/// Lets a tester request through when the tester is on and the rate allows, and prepares
/// its expression on the blocking pool: parsing is CPU work that must not hold an async
/// worker, whatever the guard lets through.
pub async fn admit_test(
    st: &AppState,
    expr: String,
    variables: HashMap<String, String>,
) -> Result<String, ApiError> {
    if !st.engine.config().app.api.query_tester {
        return Err(ApiError::Forbidden(
            "the query tester is off: it sends any PromQL to Prometheus with this server's \
             credentials; set `api.query_tester: true` in app.yaml to turn it on"
                .into(),
        ));
    }
    st.tester.take().map_err(ApiError::TooManyRequests)?;
    if variables.len() > MAX_TEST_VARIABLES {
        return Err(ApiError::BadRequest(format!(
            "at most {MAX_TEST_VARIABLES} variables may be given"
        )));
    }
    tokio::task::spawn_blocking(move || prepare_test(&expr, &variables))
        .await
        .map_err(|e| ApiError::BadRequest(format!("the expression could not be checked: {e}")))?
}

/// The expression to test with each `$name` of `variables` replaced (escaped for the
/// string it sits in); refused when it is empty, when a placeholder has no value, or when
/// it does not parse, before anything reaches Prometheus.
pub fn prepare_test(expr: &str, variables: &HashMap<String, String>) -> Result<String, ApiError> {
    if expr.trim().is_empty() {
        return Err(ApiError::BadRequest("expr is empty".into()));
    }
    // Refused before substitution too, so that a huge expression costs no copy.
    rackscope_core::promql::guard(expr)
        .map_err(|e| ApiError::BadRequest(format!("invalid PromQL: {e}")))?;
    let vars: HashMap<String, &str> = variables
        .iter()
        .map(|(k, v)| (format!("${}", k.trim_start_matches('$')), v.as_str()))
        .collect();
    let max = rackscope_core::promql::MAX_EXPR_BYTES;
    let expr =
        rackscope_core::placeholder::substitute_bounded(expr, |w| vars.get(w).copied(), max)
            .map_err(|len| {
                ApiError::BadRequest(format!(
                    "invalid PromQL: with its variables filled in the expression would be {len} bytes or more; the limit is {max}"
                ))
            })?;
    let left = rackscope_core::placeholder::unknown_placeholders(&expr)
        .into_iter()
        .chain(
            rackscope_core::placeholder::CHECK_PLACEHOLDERS
                .iter()
                .filter(|p| expr.contains(*p))
                .map(|p| p.to_string()),
        )
        .collect::<Vec<_>>();
    if !left.is_empty() {
        return Err(ApiError::BadRequest(format!(
            "no value given for {}; pass them in `variables`",
            left.join(", ")
        )));
    }
    rackscope_core::promql::parse(&expr)
        .map_err(|e| ApiError::BadRequest(format!("invalid PromQL: {e}")))?;
    Ok(expr)
}

/// The settings page's "test connection": `vector(1)` sent to `url` with this server's
/// client settings (timeouts, authentication, TLS), answering how long it took or why it
/// failed. Admin only (it sends a request to an address the user typed).
pub async fn probe_prometheus(config: &Config, url: &str) -> Result<String, String> {
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err("the URL must start with http:// or https://".into());
    }
    let mut t = config.app.telemetry.clone();
    // The server's Prometheus credentials go to its Prometheus only, never to an address
    // typed into the form.
    if url.trim_end_matches('/') != t.url().trim_end_matches('/') {
        t.basic_auth_user = None;
        t.basic_auth_password = None;
    }
    t.prometheus_url = Some(url.to_owned());
    let client = rackscope_prometheus::PrometheusClient::from_config(&t, &config.base_dir)
        .map_err(|e| e.to_string())?;
    let started = std::time::Instant::now();
    match source::MetricsSource::instant(&client, "vector(1)", SystemTime::now()).await {
        Ok(answer) if !answer.samples.is_empty() => Ok(format!(
            "Prometheus answered in {} ms.",
            started.elapsed().as_millis()
        )),
        Ok(_) => Err("it answered, but not as a Prometheus would (no result for vector(1))".into()),
        Err(e) => Err(e.to_string()),
    }
}
