//! Operations endpoints: liveness and readiness probes, Rackscope's own Prometheus metrics
//! (including the health of every rack and device, labelled with its physical location, so
//! that Grafana and Alertmanager users get it in their own tools), and the OpenAPI document
//! with a page to browse it.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock};
use std::time::{Instant, SystemTime};

use axum::Json;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{
    DescriptorEncoder, EncodeLabelSet, EncodeMetric, LabelSetEncoder,
};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use rackscope_core::Severity;
use rackscope_core::telemetry::{Engine, Snapshot, StatsView};
use serde::Serialize;
use tower_http::request_id::{MakeRequestId, RequestId};
use utoipa::ToSchema;

use crate::server::AppState;
use crate::server::routes::Routes;

pub fn routes() -> Routes {
    Routes::new()
        .public("/healthz", get(healthz))
        .public("/readyz", get(readyz))
        .read("/metrics", get(metrics))
        .read("/api/openapi.json", get(openapi))
        .read("/api/docs", get(docs))
}

#[utoipa::path(
    get,
    path = "/healthz",
    operation_id = "healthz",
    tag = "operations",
    summary = "Liveness",
    responses(
        (status = 200, description = "Alive", body = Status, example = json!({"status": "ok"})),
    )
)]
async fn healthz() -> Response {
    Json(Status { status: "ok" }).into_response()
}

/// `/healthz`.
#[derive(Serialize, ToSchema)]
pub struct Status {
    #[schema(value_type = String, example = "ok")]
    status: &'static str,
}

/// `/readyz` when ready.
#[derive(Serialize, ToSchema)]
pub struct Ready {
    #[schema(value_type = String, example = "ready")]
    status: &'static str,
    /// The sequence number of the snapshot served.
    snapshot: u64,
    stale: bool,
    expired: bool,
}

/// `/readyz` before the first snapshot.
#[derive(Serialize, ToSchema)]
pub struct Starting {
    #[schema(value_type = String, example = "starting")]
    status: &'static str,
    #[schema(value_type = String)]
    reason: &'static str,
}

/// Ready once a configuration is loaded and a first snapshot is published. A stale snapshot
/// is still served (with its marker, or UNKNOWN past the window), so it stays ready: taking
/// the dashboard out of a load balancer would hide the very outage it reports.
#[utoipa::path(
    get,
    path = "/readyz",
    operation_id = "readyz",
    tag = "operations",
    summary = "Readiness: configuration loaded and first snapshot taken",
    responses(
        (status = 200, description = "Ready", body = Ready, example = json!({"status": "ready", "snapshot": 1, "stale": false, "expired": false})),
        (status = 503, description = "Starting", body = Starting, example = json!({"status": "starting", "reason": "no snapshot yet"})),
    )
)]
async fn readyz(State(st): State<AppState>) -> Response {
    match st.engine.snapshot() {
        Some(s) => Json(Ready {
            status: "ready",
            snapshot: s.seq,
            stale: s.stale.is_some(),
            expired: s.stale.as_ref().is_some_and(|x| x.expired),
        })
        .into_response(),
        None => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(Starting {
                status: "starting",
                reason: "no snapshot yet",
            }),
        )
            .into_response(),
    }
}

// ---------------------------------------------------------------- request metrics and ids

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    route: String,
    method: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: String,
}

/// HTTP metrics of this process, filled by the `track` middleware.
pub struct HttpMetrics {
    requests: Family<RequestLabels, prometheus_client::metrics::counter::Counter>,
    durations: Family<RouteLabels, Histogram>,
}

impl Default for HttpMetrics {
    fn default() -> Self {
        HttpMetrics {
            requests: Family::default(),
            durations: Family::new_with_constructor(|| {
                Histogram::new([
                    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1, 0.5, 2.5, 10.0,
                ])
            }),
        }
    }
}

impl std::fmt::Debug for HttpMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HttpMetrics")
    }
}

/// Counts every request by route template (never the raw path, so ids do not explode the
/// label space) and status, and times it.
pub async fn track(State(st): State<AppState>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", |m| m.as_str())
        .to_owned();
    let method = method_label(req.method()).to_owned();
    let started = Instant::now();
    let res = next.run(req).await;
    let m = &st.http;
    m.durations
        .get_or_create(&RouteLabels {
            route: route.clone(),
        })
        .observe(started.elapsed().as_secs_f64());
    m.requests
        .get_or_create(&RequestLabels {
            route,
            method,
            status: res.status().as_u16(),
        })
        .inc();
    res
}

/// The method as a metric label: the standard ones by name, anything a client made up as
/// `other`, so that no request can add a series of its own.
fn method_label(m: &axum::http::Method) -> &'static str {
    use axum::http::Method;
    match *m {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// Request ids: a per-process prefix and a counter, short and sortable in the logs.
#[derive(Clone)]
pub struct Ids {
    prefix: Arc<str>,
    next: Arc<AtomicU64>,
}

impl Default for Ids {
    fn default() -> Ids {
        let nanos = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        Ids {
            prefix: Arc::from(format!(
                "{:08x}",
                (nanos ^ u64::from(std::process::id())) as u32
            )),
            next: Arc::new(AtomicU64::new(1)),
        }
    }
}

impl MakeRequestId for Ids {
    fn make_request_id<B>(&mut self, _: &axum::http::Request<B>) -> Option<RequestId> {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        HeaderValue::from_str(&format!("{}-{n}", self.prefix))
            .ok()
            .map(RequestId::new)
    }
}

// ---------------------------------------------------------------- /metrics

/// Everything read at scrape time from the engine: nothing is kept between scrapes.
struct EngineCollector {
    engine: Arc<Engine>,
}

impl std::fmt::Debug for EngineCollector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EngineCollector")
    }
}

/// Label pairs given as a slice.
struct Pairs<'a>(&'a [(&'a str, &'a str)]);

impl EncodeLabelSet for Pairs<'_> {
    fn encode(&self, encoder: &mut LabelSetEncoder) -> Result<(), std::fmt::Error> {
        for (k, v) in self.0 {
            let mut label = encoder.encode_label();
            let mut key = label.encode_label_key()?;
            key.write_str(k)?;
            let mut value = key.encode_label_value()?;
            value.write_str(v)?;
            value.finish()?;
        }
        Ok(())
    }
}

/// The gauge value of a health state: the severity order, so `max` rolls up.
fn severity_value(s: Severity) -> i64 {
    match s {
        Severity::Ok => 0,
        Severity::Unknown => 1,
        Severity::Warn => 2,
        Severity::Crit => 3,
    }
}

fn gauge<N: prometheus_client::encoding::EncodeGaugeValue>(
    enc: &mut DescriptorEncoder<'_>,
    name: &str,
    help: &str,
    v: N,
) -> Result<(), std::fmt::Error> {
    let m = enc.encode_descriptor(name, help, None, MetricType::Gauge)?;
    ConstGauge::new(v).encode(m)
}

fn counter(
    enc: &mut DescriptorEncoder<'_>,
    name: &str,
    help: &str,
    v: u64,
) -> Result<(), std::fmt::Error> {
    let m = enc.encode_descriptor(name, help, None, MetricType::Counter)?;
    ConstCounter::new(v).encode(m)
}

/// Whether the refresh loop works: failed refreshes, the last one's outcome, restarts.
fn engine_health(enc: &mut DescriptorEncoder<'_>, s: &StatsView) -> Result<(), std::fmt::Error> {
    counter(
        enc,
        "rackscope_refreshes_failed",
        "Refreshes in which every query failed",
        s.refreshes_failed,
    )?;
    if let Some(ok) = s.last_refresh_ok {
        gauge(
            enc,
            "rackscope_last_refresh_success",
            "1 when the last refresh got at least one answer, 0 when every query failed",
            i64::from(ok),
        )?;
    }
    let mut m = enc.encode_descriptor(
        "rackscope_engine_restarts",
        "Panics caught in the engine's loops, each followed by a restart",
        None,
        MetricType::Counter,
    )?;
    for (task, n) in [
        ("refresh", s.refresh_restarts),
        ("heartbeat", s.heartbeat_restarts),
    ] {
        ConstCounter::new(n).encode(m.encode_family(&Pairs(&[("task", task)]))?)?;
    }
    Ok(())
}

impl Collector for EngineCollector {
    fn encode(&self, mut enc: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        engine_figures(&mut enc, &self.engine, &self.engine.stats())?;
        let Some(snap) = self.engine.snapshot() else {
            return Ok(());
        };
        snapshot_figures(&mut enc, &snap)?;
        health_states(&mut enc, &snap)?;
        maintenance_states(&mut enc, &snap, &self.engine.maintenances())
    }
}

/// The windows by status, and every rack and device a window covers whole, located as
/// the health series are: an alerting rule can leave them out (`unless on(rack)
/// rackscope_rack_maintenance`) or Alertmanager can inhibit on them. Companion series
/// rather than a label on the health series, so that a window does not start a new series
/// of a rack's health.
fn maintenance_states(
    enc: &mut DescriptorEncoder<'_>,
    snap: &Snapshot,
    m: &rackscope_core::maintenance::Maintenances,
) -> Result<(), std::fmt::Error> {
    use rackscope_core::maintenance::Status;
    let cover = rackscope_core::read::maintenance::coverage(m, snap);
    let now = rackscope_core::clock::unix_seconds(snap.windows_at);
    {
        let mut f = enc.encode_descriptor(
            "rackscope_maintenance_windows",
            "Maintenance windows by status (ACTIVE, SCHEDULED, EXPIRED)",
            None,
            MetricType::Gauge,
        )?;
        for status in [Status::Active, Status::Scheduled, Status::Expired] {
            let n = m.windows.iter().filter(|w| w.status(now) == status).count();
            ConstGauge::new(n as i64)
                .encode(f.encode_family(&Pairs(&[("status", status.as_str())]))?)?;
        }
    }
    if cover.is_empty() {
        return Ok(());
    }
    let topo = &snap.config.topology;
    let help =
        "1 for each target a maintenance window covers whole, with the window's id and effect";
    {
        let mut f =
            enc.encode_descriptor("rackscope_rack_maintenance", help, None, MetricType::Gauge)?;
        for (x, r) in topo.racks.iter_ix() {
            let Some(w) = cover.rack(x) else { continue };
            let room = &topo.rooms[r.room];
            let aisle = r.aisle.map_or("", |a| topo.aisles[a].id.as_str());
            let labels = [
                ("site", topo.sites[room.site].id.as_str()),
                ("room", room.id.as_str()),
                ("aisle", aisle),
                ("rack", r.id.as_str()),
                ("maintenance", w.entry.id.as_str()),
                ("effect", w.effect().as_str()),
            ];
            ConstGauge::new(1).encode(f.encode_family(&Pairs(&labels))?)?;
        }
    }
    {
        let mut f = enc.encode_descriptor(
            "rackscope_device_maintenance",
            help,
            None,
            MetricType::Gauge,
        )?;
        for (d, dev) in topo.devices.iter_ix() {
            let Some(w) = cover.device(d) else { continue };
            let r = &topo.racks[dev.rack];
            let room = &topo.rooms[r.room];
            let aisle = r.aisle.map_or("", |a| topo.aisles[a].id.as_str());
            let u = dev.u_position.to_string();
            let labels = [
                ("site", topo.sites[room.site].id.as_str()),
                ("room", room.id.as_str()),
                ("aisle", aisle),
                ("rack", r.id.as_str()),
                ("device", dev.id.as_str()),
                ("u", u.as_str()),
                ("maintenance", w.entry.id.as_str()),
                ("effect", w.effect().as_str()),
            ];
            ConstGauge::new(1).encode(f.encode_family(&Pairs(&labels))?)?;
        }
    }
    Ok(())
}

/// The engine's queries, cache, bounds and Prometheus's reachability and latency.
fn engine_figures(
    enc: &mut DescriptorEncoder<'_>,
    engine: &Engine,
    s: &StatsView,
) -> Result<(), std::fmt::Error> {
    counter(
        enc,
        "rackscope_prometheus_queries",
        "Queries sent to Prometheus since start",
        s.query_count,
    )?;
    counter(
        enc,
        "rackscope_prometheus_query_errors",
        "Queries to Prometheus that got no answer (unreachable, timeout, refused)",
        s.query_errors,
    )?;
    counter(
        enc,
        "rackscope_query_cache_hits",
        "Ad-hoc queries answered from the short cache",
        s.cache_hits,
    )?;
    counter(
        enc,
        "rackscope_query_cache_misses",
        "Ad-hoc queries that went to Prometheus",
        s.cache_misses,
    )?;
    let (in_flight, limit) = engine.adhoc_in_flight();
    gauge(
        enc,
        "rackscope_adhoc_queries_in_flight",
        "Queries sent to Prometheus for requests (live values, charts, the tester) now",
        i64::try_from(in_flight).unwrap_or(i64::MAX),
    )?;
    gauge(
        enc,
        "rackscope_adhoc_queries_limit",
        "server.max_adhoc_queries: the bound on those queries",
        i64::try_from(limit).unwrap_or(i64::MAX),
    )?;
    gauge(
        enc,
        "rackscope_prometheus_in_flight",
        "Queries awaiting Prometheus now",
        s.in_flight as i64,
    )?;
    if let Some(ok) = s.heartbeat_ok {
        gauge(
            enc,
            "rackscope_prometheus_up",
            "1 when the last heartbeat query got an answer",
            i64::from(ok),
        )?;
    }
    engine_health(enc, s)?;
    if let Some(ms) = s.last_ms {
        gauge(
            enc,
            "rackscope_prometheus_latency_seconds",
            "Latency of the last Prometheus query",
            ms / 1000.0,
        )?;
    }
    Ok(())
}

/// The refresh behind the current snapshot and how current it is.
fn snapshot_figures(
    enc: &mut DescriptorEncoder<'_>,
    snap: &Snapshot,
) -> Result<(), std::fmt::Error> {
    let now = SystemTime::now();
    counter(
        enc,
        "rackscope_refreshes",
        "Snapshots published since start",
        snap.seq,
    )?;
    gauge(
        enc,
        "rackscope_refresh_duration_seconds",
        "Wall time of the refresh behind the current snapshot",
        snap.duration.as_secs_f64(),
    )?;
    gauge(
        enc,
        "rackscope_refresh_queries",
        "Queries the last refresh sent",
        snap.query_count as i64,
    )?;
    gauge(
        enc,
        "rackscope_refresh_failed_queries",
        "Queries of the last refresh that got no answer",
        snap.errors.len() as i64,
    )?;
    gauge(
        enc,
        "rackscope_snapshot_age_seconds",
        "Age of the health data served",
        snap.age(now).as_secs_f64(),
    )?;
    gauge(
        enc,
        "rackscope_snapshot_stale",
        "1 while the states served are not current: the last refresh failed, or none finished in time",
        i64::from(snap.stale.is_some()),
    )?;
    gauge(
        enc,
        "rackscope_snapshot_expired",
        "1 while the data is older than planner.stale_after_seconds and every state is UNKNOWN",
        i64::from(snap.stale.as_ref().is_some_and(|x| x.expired)),
    )?;
    {
        // Alert on `rackscope_source_up == 0`: one site's Prometheus gone while the others
        // answer leaves the snapshot fresh, and only that site stale.
        let mut m = enc.encode_descriptor(
            "rackscope_source_up",
            "1 when the Prometheus source answered some query of the last refresh, 0 when it answered none; a source sent no query (it answers for no site) is left out",
            None,
            MetricType::Gauge,
        )?;
        // A source asked nothing proved nothing: no sample rather than a 1.
        for st in snap.sources.iter().filter(|st| st.queries > 0) {
            ConstGauge::new(i64::from(st.down.is_none()))
                .encode(m.encode_family(&Pairs(&[("source", &*st.name)]))?)?;
        }
    }
    Ok(())
}

/// The active alerts by severity and every rack's and device's health, with their place.
fn health_states(enc: &mut DescriptorEncoder<'_>, snap: &Snapshot) -> Result<(), std::fmt::Error> {
    let h = &snap.health;
    {
        let mut m = enc.encode_descriptor(
            "rackscope_active_alerts",
            "Targets in WARN or CRIT, by severity",
            None,
            MetricType::Gauge,
        )?;
        for sev in [Severity::Warn, Severity::Crit] {
            let n = h.alerts.iter().filter(|a| a.state == sev).count();
            ConstGauge::new(n as i64)
                .encode(m.encode_family(&Pairs(&[("severity", sev.as_str())]))?)?;
        }
    }
    let topo = &snap.config.topology;
    let help = "Health of the target: 0 OK, 1 UNKNOWN, 2 WARN, 3 CRIT (worst wins: max() rolls up); absent when nothing checks it";
    {
        let mut m =
            enc.encode_descriptor("rackscope_rack_health", help, None, MetricType::Gauge)?;
        for (i, r) in topo.racks.iter().enumerate() {
            let Some(state) = h.racks.get(i).and_then(|x| x.state) else {
                continue;
            };
            let room = &topo.rooms[r.room];
            let site = &topo.sites[room.site];
            let aisle = r.aisle.map_or("", |a| topo.aisles[a].id.as_str());
            let labels = [
                ("site", site.id.as_str()),
                ("room", room.id.as_str()),
                ("aisle", aisle),
                ("rack", r.id.as_str()),
            ];
            ConstGauge::new(severity_value(state)).encode(m.encode_family(&Pairs(&labels))?)?;
        }
    }
    {
        let mut m =
            enc.encode_descriptor("rackscope_device_health", help, None, MetricType::Gauge)?;
        for (i, d) in topo.devices.iter().enumerate() {
            let Some(state) = h.devices.get(i).and_then(|x| x.state) else {
                continue;
            };
            let r = &topo.racks[d.rack];
            let room = &topo.rooms[r.room];
            let site = &topo.sites[room.site];
            let aisle = r.aisle.map_or("", |a| topo.aisles[a].id.as_str());
            let u = d.u_position.to_string();
            let labels = [
                ("site", site.id.as_str()),
                ("room", room.id.as_str()),
                ("aisle", aisle),
                ("rack", r.id.as_str()),
                ("device", d.id.as_str()),
                ("u", u.as_str()),
            ];
            ConstGauge::new(severity_value(state)).encode(m.encode_family(&Pairs(&labels))?)?;
        }
    }
    Ok(())
}

/// Content type of the text exposition (Prometheus 0.0.4 text, which every scraper reads).
const TEXT_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

#[utoipa::path(
    get,
    path = "/metrics",
    operation_id = "metrics",
    tag = "operations",
    summary = "Rackscope's own metrics, and rack and device health with their location (Prometheus text)",
    description = "rackscope_rack_health{site,room,aisle,rack} and rackscope_device_health{site,room,aisle,rack,device,u}: 0 OK, 1 UNKNOWN, 2 WARN, 3 CRIT.",
    responses(
        (status = 200, description = "Text exposition", content_type = "text/plain", body = String),
    )
)]
async fn metrics(State(st): State<AppState>) -> Response {
    let mut registry = Registry::default();
    registry.register_collector(Box::new(EngineCollector {
        engine: st.engine.clone(),
    }));
    registry.register(
        "rackscope_http_requests",
        "HTTP requests served, by route template, method and status",
        st.http.requests.clone(),
    );
    registry.register(
        "rackscope_http_request_duration_seconds",
        "Time to answer an HTTP request, by route template",
        st.http.durations.clone(),
    );
    st.auth.audit.register(&mut registry);
    st.alertmanager.register(&mut registry);
    let reload = st.reload.status();
    registry.register(
        "rackscope_config_last_reload_success",
        "1 when the configuration on disk is the one running, 0 when the last reload was refused",
        ConstGauge::new(i64::from(reload.ok)),
    );
    registry.register(
        "rackscope_config_last_reload_success_timestamp_seconds",
        "When the configuration running was loaded (Unix seconds)",
        ConstGauge::new(reload.last_success),
    );
    registry.register(
        "rackscope_config_errors",
        "Errors of the configuration on disk at the last reload",
        ConstGauge::new(reload.error_count as i64),
    );
    registry.register(
        "rackscope_config_generation",
        "Reloads applied since the server started",
        ConstGauge::new(reload.generation as i64),
    );
    registry.register(
        "rackscope_auth_reload_failures",
        "Reloads of the users file that failed (the last good users stay)",
        prometheus_client::metrics::counter::ConstCounter::new(
            st.auth
                .reload_failures
                .load(std::sync::atomic::Ordering::Relaxed),
        ),
    );
    let mut out = String::with_capacity(64 * 1024);
    if let Err(e) = prometheus_client::encoding::text::encode(&mut out, &registry) {
        tracing::warn!(error = %e, "metrics encoding stopped early");
    }
    ([(header::CONTENT_TYPE, TEXT_CONTENT_TYPE)], out).into_response()
}

// ---------------------------------------------------------------- OpenAPI

#[utoipa::path(
    get,
    path = "/api/openapi.json",
    operation_id = "openapi",
    tag = "operations",
    summary = "This document",
    responses(
        (status = 200, description = "OpenAPI 3 document", body = Object),
    )
)]
async fn openapi() -> Response {
    let doc: &str = &crate::server::openapi::DOCUMENT;
    ([(header::CONTENT_TYPE, "application/json")], doc).into_response()
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The `/api/docs` page's inline style. The Content-Security-Policy allows it by its hash
/// (`headers`), so the page stays one self-contained response.
pub const DOCS_STYLE: &str = "\
body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#1f2937}\
code,pre{font:13px ui-monospace,monospace;background:#f3f4f6;border-radius:4px}pre{padding:.6rem;overflow:auto}\
.op{border:1px solid #e5e7eb;border-radius:6px;padding:.6rem 1rem;margin:1rem 0}\
.m{font-weight:700;display:inline-block;min-width:4rem}.get{color:#047857}.post{color:#1d4ed8}\
table{border-collapse:collapse}td,th{border-bottom:1px solid #e5e7eb;padding:.2rem .6rem;text-align:left}\
@media(prefers-color-scheme:dark){body{background:#111827;color:#e5e7eb}code,pre{background:#1f2937}.op,td,th{border-color:#374151}}";

/// `/api/docs`: the OpenAPI document as one readable page, without JavaScript.
pub fn docs_html(doc: &serde_json::Value) -> String {
    let mut h = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Rackscope API</title>\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><style>{DOCS_STYLE}\
         </style></head><body>"
    );
    let info = &doc["info"];
    let _ = write!(
        h,
        "<h1>{} <small>{}</small></h1><p>{}</p><p><a href=\"/api/openapi.json\">openapi.json</a></p>",
        esc(info["title"].as_str().unwrap_or("")),
        esc(info["version"].as_str().unwrap_or("")),
        esc(info["description"].as_str().unwrap_or(""))
    );
    if let Some(paths) = doc["paths"].as_object() {
        for (path, ops) in paths {
            let Some(ops) = ops.as_object() else { continue };
            for (method, op) in ops {
                let _ = write!(
                    h,
                    "<div class=\"op\" id=\"{id}\"><span class=\"m {method}\">{M}</span> <code>{p}</code><p>{s}</p>",
                    id = esc(op["operationId"].as_str().unwrap_or("")),
                    M = method.to_uppercase(),
                    p = esc(path),
                    s = esc(op["summary"].as_str().unwrap_or(""))
                );
                if let Some(d) = op["description"].as_str() {
                    let _ = write!(h, "<p>{}</p>", esc(d));
                }
                if let Some(params) = op["parameters"].as_array() {
                    h.push_str("<table><tr><th>parameter</th><th>in</th><th>description</th></tr>");
                    for p in params {
                        let _ = write!(
                            h,
                            "<tr><td><code>{}</code></td><td>{}</td><td>{}</td></tr>",
                            esc(p["name"].as_str().unwrap_or("")),
                            esc(p["in"].as_str().unwrap_or("")),
                            esc(p["description"].as_str().unwrap_or(""))
                        );
                    }
                    h.push_str("</table>");
                }
                if let Some(rs) = op["responses"].as_object() {
                    for (code, r) in rs {
                        let _ = write!(
                            h,
                            "<p><b>{}</b> {}</p>",
                            esc(code),
                            esc(r["description"].as_str().unwrap_or(""))
                        );
                        if let Some(ex) = r.pointer("/content/application~1json/example") {
                            let pretty = serde_json::to_string_pretty(ex).unwrap_or_default();
                            let _ = write!(h, "<pre>{}</pre>", esc(&pretty));
                        }
                    }
                }
                h.push_str("</div>");
            }
        }
    }
    h.push_str("</body></html>");
    h
}

#[utoipa::path(
    get,
    path = "/api/docs",
    operation_id = "docs",
    tag = "operations",
    summary = "This document as a page",
    responses(
        (status = 200, description = "HTML", content_type = "text/html", body = String),
    )
)]
async fn docs() -> Response {
    match &*DOCS_PAGE {
        Ok(page) => Html(page.as_str()).into_response(),
        Err(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("openapi.json: {e}"),
        )
            .into_response(),
    }
}

/// The `/api/docs` page, rendered once from the served document (the document does not
/// change while the process runs).
static DOCS_PAGE: LazyLock<Result<String, String>> = LazyLock::new(|| {
    serde_json::from_str::<serde_json::Value>(&crate::server::openapi::DOCUMENT)
        .map(|doc| docs_html(&doc))
        .map_err(|e| e.to_string())
});
