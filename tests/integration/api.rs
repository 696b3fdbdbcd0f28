//! The JSON API through the router (tower `oneshot`), on the health fixture: every endpoint
//! and its error cases, compared with `tests/snapshots/api/*.txt` (rewrite with
//! `RACKSCOPE_BLESS=1` after checking a difference). Prometheus is a table of series here,
//! answered by a small evaluator over promql-parser's syntax tree; the end-to-end test
//! (`api_e2e`) runs the same server against a real Prometheus.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use rackscope::server::AppState;
use rackscope_core::telemetry::source::BoxFuture;
use rackscope_core::telemetry::{
    Engine, InstantResult, MetricsSource, RangeResult, RangeSpec, SourceError,
};
use serde_json::Value;

use crate::support;
use crate::support::fixture::T0;
use crate::support::router::{Reply, call, fixture, get, post};

/// Runs `requests` and renders status and pretty JSON for each, for a snapshot file.
async fn transcript(state: &AppState, requests: &[&str]) -> String {
    let mut out = String::new();
    for r in requests {
        let reply = match r.split_once(' ') {
            Some(("POST", rest)) => {
                let (uri, body) = rest.split_once(' ').unwrap();
                post(state, uri, body).await
            }
            _ => get(state, r).await,
        };
        let body = match serde_json::from_slice::<Value>(&reply.body) {
            Ok(v) => serde_json::to_string_pretty(&v).unwrap(),
            Err(_) => reply.text(),
        };
        out.push_str(&format!("### {r}\n{}\n{body}\n\n", reply.status.as_u16()));
    }
    out
}

#[tokio::test]
async fn every_read_endpoint_answers_the_documented_json() {
    let (state, _) = fixture(true).await;
    let text = transcript(
        &state,
        &[
            "/api/stats/global",
            "/api/alerts/active",
            "/api/sites",
            "/api/rooms",
            "/api/rooms/states",
            "/api/rooms/room-a/layout",
            "/api/rooms/room-a/state",
            "/api/rooms/room-b/state",
            "/api/racks/r01",
            "/api/racks/r01/state",
            "/api/racks/r02/state",
            "/api/racks/r01/state?include_metrics=true",
            "/api/racks/r01/devices/chassis-1",
            "/api/devices/r01/chassis-1/metrics",
            "/api/devices/r01/sw-1/metrics",
            "/api/catalog",
            "/api/checks",
            "/api/metrics/library",
            "/api/metrics/library?category=power&tag=pdu",
            "/api/metrics/library/node_power",
            "/healthz",
            "/readyz",
        ],
    )
    .await;
    support::assert_snapshot("api/health-fixture.txt", &text);
}

#[tokio::test]
async fn unknown_ids_and_bad_input_give_json_errors() {
    let (state, _) = fixture(true).await;
    let text = transcript(
        &state,
        &[
            "/api/rooms/nope/layout",
            "/api/rooms/nope/state",
            "/api/racks/nope",
            "/api/racks/nope/state",
            "/api/racks/r01/state?include_metrics=maybe",
            "/api/racks/r01/devices/nope",
            "/api/racks/nope/devices/chassis-1",
            "/api/devices/nope/chassis-1/metrics",
            "/api/devices/r02/chassis-1/metrics",
            "/api/metrics/library/nope",
            "/api/metrics/data",
            "/api/metrics/data?metric_id=node_power",
            "/api/metrics/data?metric_id=nope&target_id=n03",
            "/api/metrics/data?metric_id=node_power&target_id=nope",
            "/api/metrics/data?metric_id=node_power&target_id=n03&time_range=soon",
            "/api/metrics/data?metric_id=node_power&target_id=n03&time_range=30d&step=1s",
            "POST /api/checks/test {\"expr\": \"  \"}",
            "POST /api/checks/test {\"expr\": \"up{instance=~\\\"$instances\\\"}\"}",
            "POST /api/checks/test {\"expr\": \"up{\"}",
            "POST /api/checks/test {\"exp\": 1}",
            "POST /api/checks/test not json",
            "/api/nothing/here",
        ],
    )
    .await;
    support::assert_snapshot("api/errors.txt", &text);
}

#[tokio::test]
async fn before_the_first_snapshot_the_seed_shapes_are_served() {
    let (state, _) = fixture(false).await;
    let text = transcript(
        &state,
        &[
            "/api/stats/global",
            "/api/alerts/active",
            "/api/rooms/states",
            "/api/rooms/room-a/state",
            "/api/racks/r01/state",
            "/api/devices/r01/chassis-1/metrics",
            "/api/rooms/nope/state",
            "/api/racks/r01",
            "/readyz",
        ],
    )
    .await;
    support::assert_snapshot("api/no-snapshot.txt", &text);
}

#[tokio::test]
async fn stats_report_latency_queries_and_the_last_batch() {
    let (state, _) = fixture(true).await;
    let p = get(&state, "/api/stats/prometheus").await.json();
    for k in [
        "last_ms",
        "avg_ms",
        "last_ts",
        "heartbeat_seconds",
        "next_ts",
    ] {
        assert!(p.get(k).is_some(), "{k} missing from {p}");
    }
    assert!(p["last_ms"].as_f64().unwrap() >= 0.0);
    assert_eq!(p["heartbeat_seconds"], 30);
    let t = get(&state, "/api/stats/telemetry").await.json();
    // Two refreshes of the fixture's 24 planned queries.
    assert_eq!(t["query_count"], 48);
    assert_eq!(t["in_flight"], 0);
    assert_eq!(t["last_batch"]["query_count"], 24, "last batch of {t}");
    assert_eq!(t["last_batch"]["max_ids_per_query"], 3);
    assert_eq!(t["last_batch"]["total_ids"], 25);
    assert_eq!(t["snapshot"]["seq"], 2);
}

#[tokio::test]
async fn live_reads_are_batched_and_cached() {
    let (state, _) = fixture(true).await;
    let before = state.engine.stats().query_count;
    let a = get(&state, "/api/racks/r01/state?include_metrics=true").await;
    assert_eq!(a.status, StatusCode::OK);
    let sent = state.engine.stats().query_count - before;
    // node temperature, node power and the PDU's power: one query each for the rack.
    assert_eq!(sent, 3);
    let b = get(&state, "/api/racks/r01/state?include_metrics=true").await;
    assert_eq!(a.body, b.body);
    assert_eq!(
        state.engine.stats().query_count - before,
        3,
        "second read is cached"
    );
    assert!(state.engine.stats().cache_hits >= 3);
}

#[tokio::test]
async fn prometheus_failures_degrade_live_reads_and_fail_direct_queries() {
    let (state, table) = fixture(true).await;
    table.down.store(true, Ordering::Relaxed);
    let r = get(&state, "/api/racks/r02/state?include_metrics=true").await;
    assert_eq!(r.status, StatusCode::OK);
    let v = r.json();
    assert_eq!(v["state"], "WARN", "health still comes from the snapshot");
    assert_eq!(v["metrics"]["temperature"], 0.0);
    assert!(
        v["metrics_error"].as_str().unwrap().contains("unreachable"),
        "{v}"
    );
    let d = get(&state, "/api/devices/r02/chassis-2/metrics")
        .await
        .json();
    assert_eq!(d["metrics"], serde_json::json!({}));
    assert!(d["error"].as_str().unwrap().contains("unreachable"));
    let t = post(&state, "/api/checks/test", r#"{"expr": "up"}"#).await;
    assert_eq!(t.status, StatusCode::BAD_GATEWAY);
    assert!(t.json()["detail"].as_str().unwrap().contains("unreachable"));
    let m = get(
        &state,
        "/api/metrics/data?metric_id=node_power&target_id=n03&time_range=1h",
    )
    .await;
    assert_eq!(m.status, StatusCode::BAD_GATEWAY);
}

#[tokio::test]
async fn check_tests_and_chart_data_fill_placeholders() {
    let (state, _) = fixture(true).await;
    let t = post(
        &state,
        "/api/checks/test",
        r#"{"expr": "node_temperature_celsius{instance=~\"$instances\"}", "variables": {"instances": "n03|n04"}}"#,
    )
    .await;
    assert_eq!(t.status, StatusCode::OK, "{}", t.text());
    let v = t.json();
    assert_eq!(
        v["expr"],
        r#"node_temperature_celsius{instance=~"n03|n04"}"#
    );
    assert_eq!(v["prometheus"]["status"], "success");
    let result = v["prometheus"]["data"]["result"].as_array().unwrap();
    let got: Vec<(&str, &str)> = result
        .iter()
        .map(|r| {
            (
                r["metric"]["instance"].as_str().unwrap(),
                r["value"][1].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(got, [("n03", "40"), ("n04", "50")]);

    // `{instance}` style, automatic step: 1h at 60 s is 61 points.
    let d = get(
        &state,
        "/api/metrics/data?metric_id=node_power&target_id=n03&time_range=1h",
    )
    .await;
    assert_eq!(d.status, StatusCode::OK, "{}", d.text());
    let v = d.json();
    assert_eq!(v["query"], r#"node_power_watts{instance="n03"}"#);
    assert_eq!(v["step"], "60s");
    assert_eq!(v["unit"], "W");
    assert_eq!(v["series"][0]["metric"]["instance"], "n03");
    assert_eq!(v["series"][0]["values"].as_array().unwrap().len(), 61);
    assert_eq!(v["series"][0]["values"][0][1], 200.0);
    // A rack metric by its rack, and the 7d range at one hour.
    let v = get(
        &state,
        "/api/metrics/data?metric_id=pdu_power&target_id=r03&time_range=7d",
    )
    .await
    .json();
    assert_eq!(v["step"], "3600s");
    assert_eq!(v["series"].as_array().unwrap().len(), 2, "two inlets: {v}");
}

#[tokio::test]
async fn responses_carry_request_ids_and_compress() {
    let (state, _) = fixture(true).await;
    let a = get(&state, "/api/stats/global").await;
    let b = get(&state, "/api/stats/global").await;
    let id = |r: &Reply| {
        r.headers
            .get("x-request-id")
            .expect("x-request-id")
            .to_str()
            .unwrap()
            .to_owned()
    };
    assert_ne!(id(&a), id(&b), "each request gets its own id");
    // A caller's own id is kept.
    let r = call(
        &state,
        Request::get("/api/stats/global")
            .header("x-request-id", "trace-42")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(id(&r), "trace-42");
    // Compressed on request, and the same document once inflated.
    let plain = get(&state, "/api/sites").await;
    let gz = call(
        &state,
        Request::get("/api/sites")
            .header(header::ACCEPT_ENCODING, "gzip")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(gz.headers[header::CONTENT_ENCODING], "gzip");
    assert!(
        gz.body.len() < plain.body.len() / 2,
        "{} vs {}",
        gz.body.len(),
        plain.body.len()
    );
    let mut inflated = Vec::new();
    std::io::Read::read_to_end(
        &mut flate2::read::GzDecoder::new(&gz.body[..]),
        &mut inflated,
    )
    .unwrap();
    assert_eq!(inflated, plain.body);
}

#[tokio::test]
async fn metrics_expose_requests_and_located_health() {
    let (state, _) = fixture(true).await;
    get(&state, "/api/racks/r01/state").await;
    get(&state, "/api/racks/r02/state").await;
    get(&state, "/api/racks/nope/state").await;
    let m = get(&state, "/metrics").await;
    assert_eq!(m.status, StatusCode::OK);
    assert!(
        m.headers[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let text = m.text();
    let has = |line: &str| assert!(text.lines().any(|l| l == line), "`{line}` not in:\n{text}");
    has(
        r#"rackscope_http_requests_total{route="/api/racks/{rack_id}/state",method="GET",status="200"} 2"#,
    );
    has(
        r#"rackscope_http_requests_total{route="/api/racks/{rack_id}/state",method="GET",status="404"} 1"#,
    );
    has("rackscope_refreshes_total 2");
    has("rackscope_refresh_queries 24");
    has("rackscope_snapshot_stale 0");
    has("rackscope_last_refresh_success 1");
    has("rackscope_refreshes_failed_total 0");
    has(r#"rackscope_active_alerts{severity="CRIT"} 2"#);
    has(r#"rackscope_active_alerts{severity="WARN"} 4"#);
    // Located health: 3 = CRIT, 2 = WARN, 1 = UNKNOWN.
    has(r#"rackscope_rack_health{site="dc1",room="room-a",aisle="aisle-1",rack="r01"} 3"#);
    has(r#"rackscope_rack_health{site="dc1",room="room-a",aisle="aisle-2",rack="r03"} 2"#);
    has(r#"rackscope_rack_health{site="dc2",room="room-b",aisle="aisle-b1",rack="r10"} 1"#);
    has(
        r#"rackscope_device_health{site="dc1",room="room-a",aisle="aisle-1",rack="r02",device="chassis-2",u="1"} 2"#,
    );
    // The patch panel has no check: not monitored, no series.
    assert!(!text.contains(r#"device="panel-1""#));
    let pairs = text
        .lines()
        .filter(|l| l.starts_with("rackscope_device_health{"))
        .count();
    assert_eq!(pairs, 6, "every monitored device");
}

#[tokio::test]
async fn the_openapi_document_lists_every_endpoint_and_each_answers() {
    let (state, _) = fixture(true).await;
    let doc = get(&state, "/api/openapi.json").await.json();
    assert_eq!(doc["openapi"], "3.1.0");
    let paths = doc["paths"].as_object().unwrap();
    assert_eq!(paths.len(), 49, "{:?}", paths.keys().collect::<Vec<_>>());
    for (path, ops) in paths {
        let uri = path
            .replace("{room_id}", "room-a")
            .replace("{rack_id}", "r01")
            .replace("{device_id}", "chassis-1")
            .replace("{metric_id}", "node_power")
            .replace("{kind}", "checks")
            .replace("{name}", "checks.yaml")
            // No such window: the writes are refused before anything is written (the
            // fixture is the repository's own; tests/integration/maintenance.rs writes).
            .replace("{id}", "no-such-window");
        for method in ops.as_object().unwrap().keys() {
            let r = match method.as_str() {
                // An endless stream: its status, not its body (tests/integration/logs.rs
                // reads it).
                "get" if uri == "/api/logs/stream" => {
                    use tower::ServiceExt;
                    let res = rackscope::server::router(state.clone())
                        .oneshot(Request::get(&uri).body(Body::empty()).unwrap())
                        .await
                        .unwrap();
                    Reply {
                        status: res.status(),
                        headers: res.headers().clone(),
                        body: Vec::new(),
                    }
                }
                "get" => {
                    let uri = if path == "/api/metrics/data" {
                        "/api/metrics/data?metric_id=node_power&target_id=n03".to_string()
                    } else {
                        uri.clone()
                    };
                    get(&state, &uri).await
                }
                "post" if uri == "/api/config/validate" => {
                    let body =
                        r#"{"kind": "checks", "name": "checks.yaml", "text": "checks: []\n"}"#;
                    post(&state, &uri, body).await
                }
                "post" => post(&state, &uri, r#"{"expr": "up"}"#).await,
                // The fixture is the repository's own: a save without If-Match writes
                // nothing (tests/integration/editing.rs saves in a copy).
                "put" => {
                    let req = Request::put(&uri)
                        .header(header::CONTENT_TYPE, "application/json")
                        .body(Body::from(r#"{"text": "checks: []\n"}"#))
                        .unwrap();
                    call(&state, req).await
                }
                "delete" => call(&state, Request::delete(&uri).body(Body::empty()).unwrap()).await,
                m => panic!("undocumented method {m}"),
            };
            // With sign-in off (the fixture), signing in is refused and there is nobody to
            // be: the auth routes answer, but not 200 (tests/integration/auth.rs has them).
            let want = match uri.as_str() {
                "/api/auth/login" => StatusCode::BAD_REQUEST,
                "/api/auth/change-password" | "/api/auth/me" => StatusCode::UNAUTHORIZED,
                "/api/files/checks/checks.yaml" if method == "put" => {
                    StatusCode::PRECONDITION_REQUIRED
                }
                // `{"expr": "up"}` names no operation: refused, nothing written.
                "/api/topology/edit" => StatusCode::BAD_REQUEST,
                // Not a window (`expr` is no field of one); no window to change.
                "/api/maintenances" if method == "post" => StatusCode::BAD_REQUEST,
                "/api/maintenances/no-such-window" if method == "put" => StatusCode::BAD_REQUEST,
                "/api/maintenances/no-such-window"
                | "/api/maintenances/no-such-window/stop"
                | "/api/maintenances/no-such-window/reactivate" => StatusCode::NOT_FOUND,
                // The fixture does not enable the Slurm view (tests/integration/slurm.rs).
                u if u.starts_with("/api/slurm/") => StatusCode::NOT_FOUND,
                _ => StatusCode::OK,
            };
            assert_eq!(r.status, want, "{method} {uri}: {}", r.text());
        }
    }
    let page = get(&state, "/api/docs").await;
    assert_eq!(page.status, StatusCode::OK);
    let html = page.text();
    for path in paths.keys() {
        let shown = path.replace('&', "&amp;");
        assert!(
            html.contains(&format!("<code>{shown}</code>")),
            "{path} missing from /api/docs"
        );
    }
}

/// The generated document against the hand-written one it replaced
/// (`tests/fixtures/openapi-before.json`): every path and method, with the same operationId,
/// tags, summary and description, every parameter (name, in, required), every response
/// status, and every field of the old examples as a property of the new schema at the same
/// place. The served document is read, so what clients get is what is compared.
#[tokio::test]
async fn the_generated_openapi_document_keeps_every_path_and_field_of_the_hand_written_one() {
    let (state, _) = fixture(true).await;
    let new = get(&state, "/api/openapi.json").await.json();
    let old: Value = serde_json::from_str(include_str!("../fixtures/openapi-before.json")).unwrap();
    let lost = openapi_losses(&old, &new);
    assert!(
        lost.is_empty(),
        "lost from the OpenAPI document:\n{}",
        lost.join("\n")
    );
}

/// What `old` has that `new` lost, each with its location.
fn openapi_losses(old: &Value, new: &Value) -> Vec<String> {
    let mut lost = Vec::new();
    for (path, ops) in old["paths"].as_object().unwrap() {
        for (method, op) in ops.as_object().unwrap() {
            let at = format!("{} {path}", method.to_uppercase());
            let Some(nop) = new["paths"][path].get(method) else {
                lost.push(format!("{at}: the operation"));
                continue;
            };
            for key in ["operationId", "tags", "summary", "description"] {
                if !op[key].is_null() && op[key] != nop[key] {
                    lost.push(format!("{at}: {key} {} became {}", op[key], nop[key]));
                }
            }
            for p in op["parameters"].as_array().into_iter().flatten() {
                let same = nop["parameters"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .find(|q| q["name"] == p["name"] && q["in"] == p["in"]);
                match same {
                    None => lost.push(format!("{at}: parameter {} in {}", p["name"], p["in"])),
                    Some(q)
                        if q["required"].as_bool().unwrap_or(false)
                            != p["required"].as_bool().unwrap_or(false) =>
                    {
                        lost.push(format!(
                            "{at}: parameter {} required {}",
                            p["name"], p["required"]
                        ))
                    }
                    Some(_) => {}
                }
            }
            if let Some(body) = op.pointer("/requestBody/content/application~1json/example") {
                let schema = &nop["requestBody"]["content"]["application/json"]["schema"];
                fields_kept(body, schema, new, &format!("{at} request body"), &mut lost);
            }
            for (code, r) in op["responses"].as_object().unwrap() {
                let Some(nr) = nop["responses"].get(code) else {
                    lost.push(format!("{at}: response {code}"));
                    continue;
                };
                if let Some(ex) = r.pointer("/content/application~1json/example") {
                    let schema = &nr["content"]["application/json"]["schema"];
                    fields_kept(ex, schema, new, &format!("{at} {code}"), &mut lost);
                }
            }
        }
    }
    lost
}

/// `schema` with its `$ref`s resolved, and with `oneOf`/`anyOf`/`allOf` (utoipa's nullable
/// and alternative shapes) flattened into the schemas a value may match.
fn alternatives<'a>(schema: &'a Value, doc: &'a Value) -> Vec<&'a Value> {
    if let Some(r) = schema["$ref"].as_str() {
        let name = r.trim_start_matches("#/components/schemas/");
        return alternatives(&doc["components"]["schemas"][name], doc);
    }
    let mut out = vec![schema];
    for key in ["oneOf", "anyOf", "allOf"] {
        for s in schema[key].as_array().into_iter().flatten() {
            out.extend(alternatives(s, doc));
        }
    }
    out
}

/// Every key of `example` (recursively, through arrays) is a property of `schema`, or a
/// key of a map the schema declares (`additionalProperties`).
fn fields_kept(example: &Value, schema: &Value, doc: &Value, at: &str, lost: &mut Vec<String>) {
    let alts = alternatives(schema, doc);
    match example {
        Value::Object(o) => {
            for (k, v) in o {
                let here = format!("{at}.{k}");
                let prop = alts.iter().find_map(|s| s["properties"].get(k));
                let map = alts.iter().find_map(|s| {
                    s["additionalProperties"]
                        .as_object()
                        .map(|_| &s["additionalProperties"])
                });
                match prop.or(map) {
                    Some(sub) => fields_kept(v, sub, doc, &here, lost),
                    None => lost.push(here),
                }
            }
        }
        Value::Array(items) => {
            let Some(sub) = alts.iter().map(|s| &s["items"]).find(|i| !i.is_null()) else {
                if !items.is_empty() {
                    lost.push(format!("{at}[]"));
                }
                return;
            };
            for v in items {
                fields_kept(v, sub, doc, &format!("{at}[]"), lost);
            }
        }
        _ => {}
    }
}

/// The whole server through a real socket: the simulator scraped by a real Prometheus, the
/// engine refreshing on its own, and every kind of endpoint read as a client would.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_e2e_against_a_real_prometheus() {
    if !crate::support::prom::available() {
        return;
    }
    use crate::support::served::start_simulator;
    let app = support::root().join("config/demo-small/app.yaml");
    let (sim, sim_addr, _sim_stop) = start_simulator(&app, None).await;
    let prom =
        crate::support::prom::Prometheus::scraping(std::slice::from_ref(&sim_addr), 1).unwrap();
    let config = sim.world().config.clone();
    let served = crate::support::served::Served::start(&config, &prom.url()).await;
    let web = served.web.clone();
    let http = rackscope_prometheus::tls::http_client();
    let get = |path: &str| {
        let url = format!("{web}{path}");
        let http = http.clone();
        async move {
            let r = http.get(&url).send().await.unwrap();
            let status = r.status();
            let id = r.headers().get("x-request-id").cloned();
            assert!(id.is_some(), "{url} has no x-request-id");
            let v: Value = r.json().await.unwrap();
            (status.as_u16(), v)
        }
    };

    // Ready once the first snapshot is taken; live values once Prometheus has scraped twice.
    let rooms = get("/api/rooms").await.1;
    let rack_id = rooms[0]["aisles"][0]["racks"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let deadline = std::time::Instant::now() + Duration::from_secs(40);
    let rack_state = loop {
        let (s, v) = get(&format!("/api/racks/{rack_id}/state?include_metrics=true")).await;
        if s == 200 && v["metrics"]["temperature"].as_f64().unwrap_or(0.0) > 0.0 {
            break v;
        }
        assert!(std::time::Instant::now() < deadline, "no live metrics: {v}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    assert_eq!(get("/readyz").await.0, 200);
    assert!(rack_state["metrics"]["power"].as_f64().unwrap() > 0.0);
    let pdus = rack_state["infra_metrics"]["components"]
        .as_object()
        .unwrap();
    assert!(
        pdus.values()
            .any(|c| c["pdu_active_power"].as_f64().unwrap_or(0.0) > 0.0),
        "{pdus:?}"
    );
    let nodes = rack_state["nodes"].as_object().unwrap();
    assert!(nodes.values().all(|n| n["state"].is_string()));

    let g = get("/api/stats/global").await.1;
    assert_eq!(g["total_racks"], config.topology.racks.len());
    // The headline is the worst rack: UNKNOWN outranks OK (a node without data yet).
    let worst = if g["crit_count"] != 0 {
        "CRIT"
    } else if g["warn_count"] != 0 {
        "WARN"
    } else if g["unknown_count"] != 0 {
        "UNKNOWN"
    } else {
        "OK"
    };
    assert_eq!(g["status"], worst, "{g}");
    let room_id = rooms[0]["id"].as_str().unwrap();
    let rs = get(&format!("/api/rooms/{room_id}/state")).await.1;
    assert!(rs["racks"][&rack_id]["node_total"].as_u64().unwrap() > 0);

    // Device metrics: every instance of a server has the template's metrics.
    let rack = get(&format!("/api/racks/{rack_id}")).await.1;
    let device = rack["devices"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["instance"].as_array().is_some_and(|i| !i.is_empty()))
        .unwrap();
    let device_id = device["id"].as_str().unwrap();
    let dm = get(&format!("/api/devices/{rack_id}/{device_id}/metrics"))
        .await
        .1;
    let first = device["instance"][0].as_str().unwrap();
    assert!(
        dm["metrics"][first]["node_temperature"].as_f64().unwrap() > 0.0,
        "{dm}"
    );

    // A chart over the last hour: points every minute since the simulator started.
    let (s, data) = get(&format!(
        "/api/metrics/data?metric_id=node_temperature&target_id={first}&time_range=1h"
    ))
    .await;
    assert_eq!(s, 200, "{data}");
    assert_eq!(data["step"], "60s");
    assert!(
        !data["series"][0]["values"].as_array().unwrap().is_empty(),
        "{data}"
    );

    // The check tester runs with the configured client.
    let t: Value = http
        .post(format!("{web}/api/checks/test"))
        .json(&serde_json::json!({
            "expr": "up{instance=~\"$instances\"}",
            "variables": {"instances": first},
        }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        t["prometheus"]["data"]["result"][0]["metric"]["instance"],
        first
    );

    // Compression over the wire, and the located health in /metrics.
    let r = http
        .get(format!("{web}/api/sites"))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["content-encoding"], "gzip");
    let metrics = http
        .get(format!("{web}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let racks = metrics
        .lines()
        .filter(|l| l.starts_with("rackscope_rack_health{"))
        .count();
    assert_eq!(racks, config.topology.racks.len(), "{metrics}");
    assert!(metrics.contains(r#"route="/api/racks/{rack_id}/state",method="GET",status="200""#));

    served.stop().await.unwrap();
}

#[tokio::test]
async fn when_prometheus_is_gone_past_the_stale_window_nothing_claims_ok() {
    let (state, table) = fixture(true).await;
    table.down.store(true, Ordering::Relaxed);
    // Within planner.stale_after_seconds (60 s): the last states, marked stale.
    state
        .engine
        .refresh_at(UNIX_EPOCH + Duration::from_secs(T0 + 60))
        .await;
    let g = get(&state, "/api/stats/global").await.json();
    assert_eq!(g["status"], "CRIT");
    let p = get(&state, "/api/stats/prometheus").await.json();
    assert_eq!(p["stale"]["expired"], false);
    assert!(
        p["stale"]["reason"]
            .as_str()
            .unwrap()
            .contains("unreachable")
    );
    // Past it: every state is UNKNOWN, and so is the global status.
    state
        .engine
        .refresh_at(UNIX_EPOCH + Duration::from_secs(T0 + 200))
        .await;
    let g = get(&state, "/api/stats/global").await.json();
    assert_eq!(g["status"], "UNKNOWN", "{g}");
    assert_eq!(g["unknown_count"], 4);
    let r = get(&state, "/api/racks/r01/state").await.json();
    assert_eq!(r["state"], "UNKNOWN");
    assert!(
        r["nodes"]["n03"]["checks"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("Prometheus unavailable"),
        "{r}"
    );
    let m = get(&state, "/metrics").await.text();
    assert!(m.lines().any(|l| l == "rackscope_snapshot_stale 1"), "{m}");
}

/// A Prometheus that answers every query with an error: an HTTP 500 error envelope, or
/// a body that is not JSON.
struct Broken(SourceError);

impl MetricsSource for Broken {
    fn instant<'a>(
        &'a self,
        _query: &'a str,
        _at: SystemTime,
    ) -> BoxFuture<'a, Result<InstantResult, SourceError>> {
        let e = self.0.clone();
        Box::pin(async move { Err(e) })
    }
    fn range<'a>(
        &'a self,
        _query: &'a str,
        _range: RangeSpec,
    ) -> BoxFuture<'a, Result<RangeResult, SourceError>> {
        let e = self.0.clone();
        Box::pin(async move { Err(e) })
    }
    fn describe(&self) -> String {
        "broken".into()
    }
}

#[tokio::test]
async fn when_every_query_fails_nothing_claims_ok_and_the_refresh_is_reported_failed() {
    let errors = [
        SourceError::Api {
            status: 500,
            error_type: "internal".into(),
            error: "storage is broken".into(),
            warnings: Vec::new(),
        },
        SourceError::Decode("expected value at line 1 column 1".into()),
    ];
    for err in errors {
        let config = support::load(&support::root().join("tests/fixtures/health/app.yaml")).config;
        let engine = Arc::new(Engine::new(Arc::new(config), Arc::new(Broken(err.clone()))));
        engine
            .refresh_at(UNIX_EPOCH + Duration::from_secs(T0))
            .await;
        let state = AppState::new(engine).unwrap();
        let g = get(&state, "/api/stats/global").await.json();
        assert_eq!(g["status"], "UNKNOWN", "{err}: {g}");
        assert_eq!(g["unknown_count"], 4);
        assert_eq!(g["active_alerts"], 0);
        assert_eq!(g["stale"], true);
        assert_eq!(g["last_refresh_failed"], true);
        let rooms = get(&state, "/api/rooms/states").await.json();
        assert_eq!(rooms["room-a"], "UNKNOWN", "{rooms}");
        let t = get(&state, "/api/stats/telemetry").await.json();
        assert_eq!(t["refreshes_failed"], 1);
        assert_eq!(t["last_refresh_ok"], false);
        assert_eq!(t["snapshot"]["stale"]["cause"], "refresh_failed");
        let ready = get(&state, "/readyz").await.json();
        assert_eq!(
            (ready["stale"].clone(), ready["expired"].clone()),
            (true.into(), true.into())
        );
        let m = get(&state, "/metrics").await.text();
        for line in [
            "rackscope_last_refresh_success 0",
            "rackscope_refreshes_failed_total 1",
            "rackscope_snapshot_stale 1",
            "rackscope_snapshot_expired 1",
            r#"rackscope_engine_restarts_total{task="refresh"} 0"#,
        ] {
            assert!(m.lines().any(|l| l == line), "`{line}` not in:\n{m}");
        }
        let page = String::from_utf8(get(&state, "/").await.body).unwrap();
        assert!(page.contains("Refreshes failing for"), "{page}");
        assert!(page.contains("every query failed"));
    }
}

#[tokio::test]
async fn a_snapshot_the_loop_left_behind_is_shown_stale_then_unknown() {
    let (state, _) = fixture(true).await;
    let now = std::time::Instant::now();
    // As a dead refresh loop would leave it: 2 min with no refresh, past the 60 s window.
    state
        .engine
        .snapshot_at(now + Duration::from_secs(120))
        .unwrap();
    let g = get(&state, "/api/stats/global").await.json();
    assert_eq!(g["status"], "UNKNOWN", "{g}");
    assert_eq!(
        (g["stale"].clone(), g["last_refresh_failed"].clone()),
        (true.into(), false.into())
    );
    let m = get(&state, "/metrics").await.text();
    assert!(m.lines().any(|l| l == "rackscope_snapshot_stale 1"), "{m}");
    assert!(
        m.lines()
            .any(|l| l == r#"rackscope_active_alerts{severity="CRIT"} 0"#),
        "{m}"
    );
    let page = String::from_utf8(get(&state, "/").await.body).unwrap();
    assert!(page.contains("No refresh for"), "{page}");
}
