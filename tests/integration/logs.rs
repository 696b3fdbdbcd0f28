//! The logs viewer (issue #22) through the router, with sign-in on: `/api/logs`, its
//! stream and the `/logs` page for administrators only, the filters and bounds of the
//! upstream routes, the stream's wake-up and its cap, the page with JavaScript off; and the
//! binary's log as JSON lines (`RACKSCOPE_LOG_FORMAT=json`).

use std::time::Duration;

use axum::body::BodyDataStream;
use axum::http::StatusCode;
use futures_util::StreamExt;
use rackscope::logbook::Entry;
use rackscope::server::{AppState, router};
use serde_json::Value;
use tower::ServiceExt;
use tracing::Level;

use crate::support::auth::{PASSWORD, access, browser, script, sign_in, state};
use crate::support::router::call;

const ADDR: &str = "192.0.2.44";

async fn token(st: &AppState, user: &str) -> String {
    let body = format!(r#"{{"username":"{user}","password":"{PASSWORD}"}}"#);
    let r = call(
        st,
        script("POST", "/api/auth/login", ADDR, None, Some(&body)),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()["access_token"].as_str().unwrap().to_owned()
}

async fn api(st: &AppState, tok: &str, method: &str, uri: &str) -> (StatusCode, Value) {
    let r = call(st, script(method, uri, ADDR, Some(tok), None)).await;
    let v = serde_json::from_slice(&r.body).unwrap_or(Value::Null);
    (r.status, v)
}

/// A few entries of every level, as the server's own would read.
fn seed(st: &AppState) {
    let logs = &st.logs;
    logs.push(Entry::new(
        Level::INFO,
        "rackscope::server::reload",
        "configuration reloaded",
    ));
    logs.push(
        Entry::new(
            Level::WARN,
            "rackscope_core::telemetry::engine",
            "query failed",
        )
        .field("error", "connection refused")
        .field("query", "up"),
    );
    logs.push(Entry::new(
        Level::ERROR,
        "rackscope::ui",
        "Page rendering failed for http://ada:hunter2@prom:9090 with password=hunter2",
    ));
    logs.push(Entry::new(
        Level::INFO,
        "rackscope::audit",
        "users reloaded",
    ));
}

/// A streaming response: its status, headers and the body to read frame by frame.
async fn open(st: &AppState, tok: &str, uri: &str) -> axum::response::Response {
    router(st.clone())
        .oneshot(script("GET", uri, ADDR, Some(tok), None))
        .await
        .unwrap()
}

/// The body's frames until `until` holds for the text read so far, or the stream ends, or
/// `limit` passes.
async fn read_until(
    body: &mut BodyDataStream,
    limit: Duration,
    until: impl Fn(&str) -> bool,
) -> (String, bool) {
    let mut text = String::new();
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        if until(&text) {
            return (text, false);
        }
        match tokio::time::timeout_at(deadline, body.next()).await {
            Err(_) => return (text, false),
            Ok(None) => return (text, true),
            Ok(Some(data)) => text.push_str(&String::from_utf8_lossy(&data.unwrap())),
        }
    }
}

#[tokio::test]
async fn only_administrators_read_stream_or_clear_the_log() {
    let st = state(access());
    seed(&st);
    for uri in ["/api/logs", "/api/logs/stream"] {
        let r = call(&st, script("GET", uri, ADDR, None, None)).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "anonymous {uri}");
    }
    let r = call(&st, script("DELETE", "/api/logs", ADDR, None, None)).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    // The page sends the anonymous to sign in, and shows no log line on the way.
    let r = call(&st, browser("GET", "/logs", ADDR, "", None)).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(!r.text().contains("query failed"));

    for user in ["vera", "oscar"] {
        let tok = token(&st, user).await;
        for (method, uri) in [
            ("GET", "/api/logs"),
            ("GET", "/api/logs/stream"),
            ("DELETE", "/api/logs"),
        ] {
            let r = call(&st, script(method, uri, ADDR, Some(&tok), None)).await;
            assert_eq!(r.status, StatusCode::FORBIDDEN, "{user} {method} {uri}");
            assert!(!r.text().contains("query failed"), "{user} {method} {uri}");
        }
        let (cookie, _) = sign_in(&st, user, ADDR).await;
        let r = call(&st, browser("GET", "/logs", ADDR, &cookie, None)).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{user} /logs");
        assert!(!r.text().contains("query failed"), "{user} /logs");
        // Nor does the navigation offer the page.
        let r = call(&st, browser("GET", "/checks", ADDR, &cookie, None)).await;
        assert!(
            !r.text().contains("href=\"/logs\""),
            "{user} sees the Logs link"
        );
    }
    assert_eq!(st.logs.len(), 4, "nothing was cleared");

    let tok = token(&st, "ada").await;
    let (status, v) = api(&st, &tok, "GET", "/api/logs").await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["records"].as_array().unwrap().len(), 4);
}

#[tokio::test]
async fn the_list_filters_clamps_redacts_and_clears() {
    let st = state(access());
    let tok = token(&st, "ada").await;
    seed(&st);

    let (_, v) = api(&st, &tok, "GET", "/api/logs").await;
    assert_eq!(v["total"], 4);
    assert_eq!(v["last_seq"], 4);
    let recs = v["records"].as_array().unwrap();
    assert_eq!(recs[0]["_seq"], 1, "oldest first");
    assert_eq!(recs[1]["level"], "WARN");
    assert_eq!(recs[1]["logger"], "rackscope_core::telemetry::engine");
    assert_eq!(recs[1]["fields"]["error"], "connection refused");
    assert!(recs[1]["ts"].as_str().unwrap().ends_with('Z'));
    // Redacted when captured: the API never had the secret.
    assert_eq!(
        recs[2]["message"],
        "Page rendering failed for http://ada:***@prom:9090 with password=***"
    );

    let count = |v: &Value| v["records"].as_array().unwrap().len();
    let (_, v) = api(&st, &tok, "GET", "/api/logs?level=info").await;
    assert_eq!((count(&v), v["total"].clone()), (2, 2.into()));
    let (_, v) = api(&st, &tok, "GET", "/api/logs?level=WARNING").await;
    assert_eq!(count(&v), 1);
    let (_, v) = api(&st, &tok, "GET", "/api/logs?level=nope").await;
    assert_eq!((count(&v), v["last_seq"].clone()), (0, 4.into()));
    let (_, v) = api(&st, &tok, "GET", "/api/logs?search=RELOADED").await;
    assert_eq!(count(&v), 2, "case-insensitive, in the message");
    let (_, v) = api(&st, &tok, "GET", "/api/logs?search=audit").await;
    assert_eq!(count(&v), 1, "in the logger");
    let (_, v) = api(&st, &tok, "GET", "/api/logs?level=info&search=users").await;
    assert_eq!(v["records"][0]["message"], "users reloaded");
    let (_, v) = api(&st, &tok, "GET", "/api/logs?since_seq=2").await;
    assert_eq!(v["records"][0]["_seq"], 3);
    assert_eq!(count(&v), 2);

    // n: 1 to 1000, clamped; the buffer keeps the newest 1000.
    for i in 0..1200 {
        st.logs.push(Entry::new(
            Level::INFO,
            "rackscope::load",
            &format!("entry {i}"),
        ));
    }
    let (_, v) = api(&st, &tok, "GET", "/api/logs").await;
    assert_eq!(count(&v), 200, "200 by default");
    assert_eq!(v["total"], 1000);
    assert_eq!(v["records"][199]["message"], "entry 1199");
    let (_, v) = api(&st, &tok, "GET", "/api/logs?n=5000").await;
    assert_eq!(count(&v), 1000);
    assert_eq!(v["records"][0]["_seq"], 205, "the oldest were dropped");
    let (_, v) = api(&st, &tok, "GET", "/api/logs?n=0").await;
    assert_eq!(count(&v), 1);
    let (_, v) = api(&st, &tok, "GET", "/api/logs?n=-3").await;
    assert_eq!(count(&v), 1);
    let (status, v) = api(&st, &tok, "GET", "/api/logs?n=lots").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{v}");
    assert!(v["detail"].as_str().unwrap().contains("n must be"));

    let (status, v) = api(&st, &tok, "DELETE", "/api/logs").await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["cleared"], 1000);
    let (_, v) = api(&st, &tok, "GET", "/api/logs").await;
    assert_eq!(count(&v), 0);
    assert_eq!(v["last_seq"], 1204, "numbering survives a clear");
    st.logs
        .push(Entry::new(Level::INFO, "t", "after the clear"));
    let (_, v) = api(&st, &tok, "GET", "/api/logs").await;
    assert_eq!(v["records"][0]["_seq"], 1205);
}

#[tokio::test]
async fn the_stream_sends_what_is_logged_after_it_opened_with_its_filters() {
    let st = state(access());
    let tok = token(&st, "ada").await;
    seed(&st);
    let res = open(&st, &tok, "/api/logs/stream?level=error&search=disk").await;
    assert_eq!(res.status(), StatusCode::OK);
    let h = res.headers();
    assert!(
        h["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    assert_eq!(h["x-accel-buffering"], "no");
    let mut body = res.into_body().into_data_stream();

    let logs = st.logs.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(100)).await;
        logs.push(Entry::new(
            Level::INFO,
            "rackscope::x",
            "disk info: not for this filter",
        ));
        logs.push(Entry::new(
            Level::ERROR,
            "rackscope::x",
            "disk full token=abc",
        ));
    });
    let (text, ended) = read_until(&mut body, Duration::from_secs(10), |t| {
        t.contains("disk full")
    })
    .await;
    assert!(!ended, "{text}");
    assert!(
        text.contains("id: 6\n"),
        "the event's id is its _seq: {text}"
    );
    assert!(!text.contains("not for this filter"), "{text}");
    assert!(
        !text.contains("query failed"),
        "entries from before it opened: {text}"
    );
    let data = text.lines().find_map(|l| l.strip_prefix("data: ")).unwrap();
    let rec: Value = serde_json::from_str(data).unwrap();
    assert_eq!(rec["_seq"], 6);
    assert_eq!(rec["level"], "ERROR");
    assert_eq!(rec["message"], "disk full token=***");

    // A reconnecting browser resumes after the last id it saw.
    let req = {
        let mut r = script("GET", "/api/logs/stream", ADDR, Some(&tok), None);
        r.headers_mut()
            .insert("last-event-id", "4".parse().unwrap());
        r
    };
    let res = router(st.clone()).oneshot(req).await.unwrap();
    let mut body = res.into_body().into_data_stream();
    let (text, _) = read_until(&mut body, Duration::from_secs(10), |t| {
        t.contains("disk full")
    })
    .await;
    assert!(text.contains("disk info"), "{text}");
    assert!(!text.contains("users reloaded"), "seq 4 was seen: {text}");
}

#[tokio::test]
async fn a_sixth_stream_gets_one_error_event_and_ends() {
    let st = state(access());
    let tok = token(&st, "ada").await;
    let mut open_ones = Vec::new();
    for _ in 0..rackscope::server::logs_api::MAX_STREAMS {
        let res = open(&st, &tok, "/api/logs/stream").await;
        assert_eq!(res.status(), StatusCode::OK);
        open_ones.push(res.into_body().into_data_stream());
    }
    let res = open(&st, &tok, "/api/logs/stream").await;
    assert_eq!(res.headers()["x-accel-buffering"], "no");
    let mut body = res.into_body().into_data_stream();
    let (text, ended) = read_until(&mut body, Duration::from_secs(10), |_| false).await;
    assert!(ended, "the refused stream ends: {text}");
    let data = text.lines().find_map(|l| l.strip_prefix("data: ")).unwrap();
    let v: Value = serde_json::from_str(data).unwrap();
    assert!(
        v["error"]
            .as_str()
            .unwrap()
            .contains("too many log streams"),
        "{v}"
    );

    // A closed stream gives its place back.
    open_ones.pop();
    let res = open(&st, &tok, "/api/logs/stream").await;
    let mut body = res.into_body().into_data_stream();
    st.logs.push(Entry::new(Level::WARN, "t", "welcome back"));
    let (text, _) = read_until(&mut body, Duration::from_secs(10), |t| {
        t.contains("welcome back")
    })
    .await;
    assert!(text.contains("welcome back"), "{text}");
    assert!(!text.contains("error"), "{text}");
}

#[tokio::test]
async fn the_page_renders_the_newest_matching_entries_with_javascript_off() {
    let st = state(access());
    seed(&st);
    st.logs.push(Entry::new(
        Level::WARN,
        "rackscope::server::auth::gate",
        "refused <script>alert(1)</script> from 10.0.0.1",
    ));
    let (cookie, _) = sign_in(&st, "ada", ADDR).await;
    let r = call(&st, browser("GET", "/logs", ADDR, &cookie, None)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let html = r.text();
    // The form works without a script: a GET with the level and the search.
    assert!(html.contains(r#"<form class="filters log-filters" method="get" action="/logs""#));
    assert!(html.contains(r#"<select name="level">"#));
    assert!(html.contains(r#"name="search""#));
    assert!(
        html.contains(r##"href="/logs#log-end">Refresh</a>"##),
        "{html}"
    );
    assert!(html.contains("query failed"));
    assert!(html.contains("<code class=\"log-field\">error=connection refused</code>"));
    assert!(html.contains("http://ada:***@prom:9090"));
    assert!(!html.contains("hunter2"));
    assert!(
        html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "escaped"
    );
    assert!(!html.contains("<script>alert(1)"));
    assert!(html.contains(r#"data-stream="/api/logs/stream?since_seq=5""#));
    assert!(html.contains(r#"<script src="/static/logs.js?v="#));
    // Administrators find it in the navigation.
    assert!(html.contains(r#"<a href="/logs" class="active">Logs</a>"#));
    // Newest at the bottom.
    assert!(html.find("configuration reloaded").unwrap() < html.find("users reloaded").unwrap());

    let r = call(
        &st,
        browser(
            "GET",
            "/logs?level=warn&search=QUERY&n=10",
            ADDR,
            &cookie,
            None,
        ),
    )
    .await;
    let html = r.text();
    assert!(html.contains("query failed"));
    assert!(!html.contains("configuration reloaded"));
    assert!(!html.contains("alert(1)"));
    assert!(html.contains(r#"<option value="WARN" selected>"#));
    assert!(html.contains(r#"value="QUERY""#));
    assert!(html.contains(r#"<option value="10" selected>"#));
    assert!(
        html.contains(
            r#"data-stream="/api/logs/stream?level=WARN&amp;search=QUERY&amp;since_seq=5""#
        ),
        "{html}"
    );

    let r = call(
        &st,
        browser("GET", "/logs?search=nothing-like-this", ADDR, &cookie, None),
    )
    .await;
    assert!(r.text().contains("No entry matches."));

    // The script is served.
    let r = call(&st, browser("GET", "/static/logs.js", ADDR, &cookie, None)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.text().contains("EventSource"));
}

#[test]
fn the_json_log_format_writes_one_object_per_line_redacted() {
    let out = crate::support::bin()
        .args([
            "health",
            "tests/fixtures/health/app.yaml",
            "--prometheus",
            "http://ada:hunter2@127.0.0.1:1",
        ])
        .env("RACKSCOPE_LOG_FORMAT", "json")
        .env("RACKSCOPE_LOG", "info")
        .current_dir(crate::support::root())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("hunter2"), "{stderr}");
    let lines: Vec<&str> = stderr.lines().filter(|l| l.starts_with('{')).collect();
    assert!(!lines.is_empty(), "no JSON line: {stderr}");
    for l in &lines {
        let v: Value = serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"));
        assert!(v["_seq"].as_u64().is_some(), "{l}");
        assert!(v["ts"].as_str().unwrap().ends_with('Z'), "{l}");
        assert!(
            ["INFO", "WARN", "ERROR", "DEBUG", "TRACE"].contains(&v["level"].as_str().unwrap())
        );
        assert!(v["logger"].is_string() && v["message"].is_string(), "{l}");
        assert!(v["fields"].is_object(), "{l}");
    }
    // Whatever is not a log line is the command's own message, not a broken record.
    for l in stderr.lines().filter(|l| !l.starts_with('{')) {
        assert!(!l.contains("\"_seq\""), "{l}");
    }

    let out = crate::support::bin()
        .args(["check", "tests/fixtures/base/app.yaml"])
        .env("RACKSCOPE_LOG_FORMAT", "xml")
        .current_dir(crate::support::root())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("RACKSCOPE_LOG_FORMAT is `xml`; it must be `text` (the default) or `json`")
    );
    assert!(out.stdout.is_empty(), "nothing ran");
}

#[test]
fn the_text_log_is_redacted_too() {
    let out = crate::support::bin()
        .args([
            "health",
            "tests/fixtures/health/app.yaml",
            "--prometheus",
            "http://ada:hunter2@127.0.0.1:1",
        ])
        .env("RACKSCOPE_LOG", "info")
        .env_remove("RACKSCOPE_LOG_FORMAT")
        .current_dir(crate::support::root())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(" WARN "), "{stderr}");
    assert!(!stderr.contains("hunter2"), "{stderr}");
    assert!(!stderr.contains('\u{1b}'), "no colour codes: {stderr}");
}
