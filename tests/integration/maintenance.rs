//! Maintenance windows (issue #20) through the router, over a copy of the maintenance
//! fixture (the health fixture with `maintenances.yaml`) with sign-in on: the upstream
//! file as it is, the API's writes (comments kept, in force at once), hide and badge on
//! every surface (the API, the alert list, the overview, the floor plan, the rack page,
//! `/metrics`), the operator role, and windows that start and end between two
//! publications with no other change.

use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use rackscope::server::AppState;
use rackscope_core::telemetry::Engine;
use rackscope_core::testkit::Table;
use serde_json::Value;

use crate::support::auth::{PASSWORD, access, browser, script, sign_in};
use crate::support::fixture::{T0, world};
use crate::support::router::call;

const ADDR: &str = "192.0.2.9";

fn copied() -> (tempfile::TempDir, AppState) {
    let tmp = tempfile::tempdir().unwrap();
    crate::support::copy_dir(
        &crate::support::root().join("tests/fixtures/maintenance"),
        tmp.path(),
    );
    let loaded = crate::support::load(&tmp.path().join("app.yaml"));
    assert!(loaded.is_usable(), "{:?}", loaded.diagnostics);
    let mut config = loaded.config;
    config.access = access();
    let engine = Arc::new(Engine::new(Arc::new(config), Arc::new(Table::new(world()))));
    (tmp, AppState::new(engine).unwrap())
}

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

async fn api(
    st: &AppState,
    tok: &str,
    method: &str,
    uri: &str,
    body: Option<&str>,
) -> (u16, Value) {
    let r = call(st, script(method, uri, ADDR, Some(tok), body)).await;
    let status = r.status.as_u16();
    let text = r.text();
    let v = serde_json::from_str(&text).unwrap_or(Value::Null);
    (status, v)
}

/// The alerts of `/api/alerts/active` on rack `rack`: (node or rack id, maintenance id).
async fn alerts_on(st: &AppState, tok: &str, rack: &str) -> Vec<(String, Option<String>)> {
    let (status, v) = api(st, tok, "GET", "/api/alerts/active", None).await;
    assert_eq!(status, 200);
    v["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["rack_id"] == rack)
        .map(|a| {
            (
                a["node_id"]
                    .as_str()
                    .or(a["rack_id"].as_str())
                    .unwrap()
                    .to_owned(),
                a["maintenance"]["id"].as_str().map(str::to_owned),
            )
        })
        .collect()
}

fn now() -> std::time::SystemTime {
    std::time::SystemTime::now()
}

#[tokio::test]
async fn the_upstream_file_is_listed_with_statuses() {
    let (_tmp, st) = copied();
    let tok = token(&st, "vera").await;
    let (status, v) = api(&st, &tok, "GET", "/api/maintenances", None).await;
    assert_eq!(status, 200);
    let list = v["maintenances"].as_array().unwrap();
    assert_eq!(list.len(), 6, "{v}");
    let by_id = |id: &str| list.iter().find(|m| m["id"] == id).unwrap().clone();
    // Written by the Python version: every field as it was.
    let w = by_id("3f2a9c1b7d4e");
    assert_eq!(w["target_type"], "rack");
    assert_eq!(w["created_at"], "2026-12-01T07:55:12.481516+00:00");
    assert_eq!(w["ended_at"], Value::Null);
    assert_eq!(w["status"], "EXPIRED", "its window is in the past: {w}");
    assert_eq!(by_id("a1b2c3d4e5f6")["status"], "ACTIVE");
    assert_eq!(by_id("stopped-early")["status"], "EXPIRED");
}

#[tokio::test]
async fn an_operator_starts_a_hiding_window_and_every_surface_follows() {
    let (tmp, st) = copied();
    st.engine.refresh_at(now()).await;
    let tok = token(&st, "oscar").await;
    let before = alerts_on(&st, &tok, "r01").await;
    assert!(!before.is_empty(), "the fixture's r01 has alerts");
    let file = tmp.path().join("maintenances.yaml");
    let original = std::fs::read_to_string(&file).unwrap();

    // Start: in force at once, written after the existing windows, comments kept.
    let (status, w) = api(
        &st,
        &tok,
        "POST",
        "/api/maintenances",
        Some(r#"{"target_type":"rack","target_id":"r01","reason":"Firmware","effect":"hide","duration":"2h"}"#),
    )
    .await;
    assert_eq!(status, 201, "{w}");
    let id = w["id"].as_str().unwrap().to_owned();
    assert_eq!(id.len(), 12);
    assert_eq!(w["status"], "ACTIVE");
    assert_eq!(w["created_by"], "oscar");
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(
        text.starts_with(&original),
        "the file was rewritten:\n{text}"
    );
    assert!(text.contains(&format!("- id: {id}")), "{text}");
    // Hidden, n03 included: the fixture's older badge window on it gives way to a hide.
    assert_eq!(alerts_on(&st, &tok, "r01").await, []);
    // Other racks keep theirs.
    assert!(!alerts_on(&st, &tok, "r02").await.is_empty());

    // The state stays the checks' own, with the marker beside it.
    let (_, rack) = api(&st, &tok, "GET", "/api/racks/r01/state", None).await;
    assert_ne!(rack["state"], "OK", "{rack}");
    assert_eq!(rack["maintenance"]["id"], id.as_str());
    let (_, room) = api(&st, &tok, "GET", "/api/rooms/room-a/state", None).await;
    assert_eq!(room["racks"]["r01"]["maintenance"]["effect"], "hide");
    assert!(room["racks"]["r02"].get("maintenance").is_none());

    // Pages: the alert list, the overview, the floor plan and the rack page.
    let (cookie, _) = sign_in(&st, "oscar", ADDR).await;
    let page = |uri: &'static str| {
        let st = st.clone();
        let cookie = cookie.clone();
        async move {
            call(&st, browser("GET", uri, ADDR, &cookie, None))
                .await
                .text()
        }
    };
    let alerts = page("/alerts").await;
    assert!(!alerts.contains("href=\"/views/rack/r01"), "{alerts}");
    // The wallboard shows the same pages in kiosk mode, the notifications the same list.
    for kiosk in ["/views/room/room-a?kiosk=1&pl=0", "/notifications"] {
        let shown = page(kiosk).await;
        assert!(
            !shown.contains("href=\"/views/rack/r01?device="),
            "{kiosk}: {shown}"
        );
        assert!(
            shown.contains("href=\"/views/rack/r02?device="),
            "{kiosk}: {shown}"
        );
    }
    let overview = page("/").await;
    assert!(overview.contains("In maintenance"), "{overview}");
    assert!(overview.contains("rack r01"), "{overview}");
    let room = page("/views/room/room-a").await;
    let class_of = |page: &str, href: &str| {
        let at = page.find(&format!("<a href=\"{href}\" class=\"")).unwrap();
        let rest = &page[at..];
        let start = rest.find("class=\"").unwrap() + 7;
        rest[start..start + rest[start..].find('"').unwrap()].to_owned()
    };
    assert!(
        class_of(&room, "/views/rack/r01").ends_with(" in-maint"),
        "{room}"
    );
    assert!(
        !class_of(&room, "/views/rack/r02").contains("in-maint"),
        "{room}"
    );
    let rack = page("/views/rack/r01").await;
    assert!(rack.contains("⚒ in maintenance"), "{rack}");
    assert!(
        rack.contains("its alerts are left out of the alert lists"),
        "{rack}"
    );

    // /metrics: the companion series and the counts.
    let metrics = call(&st, script("GET", "/metrics", ADDR, Some(&tok), None))
        .await
        .text();
    assert!(
        metrics.contains(&format!("rackscope_rack_maintenance{{site=\"dc1\",room=\"room-a\",aisle=\"aisle-1\",rack=\"r01\",maintenance=\"{id}\",effect=\"hide\"}} 1")),
        "{metrics}"
    );
    assert!(
        metrics.contains("rackscope_maintenance_windows{status=\"ACTIVE\"} 2"),
        "{metrics}"
    );

    // Badge instead: the alerts come back, marked.
    let (status, w) = api(
        &st,
        &tok,
        "PUT",
        &format!("/api/maintenances/{id}"),
        Some(r#"{"effect":"badge"}"#),
    )
    .await;
    assert_eq!(status, 200, "{w}");
    let badged = alerts_on(&st, &tok, "r01").await;
    assert_eq!(badged.len(), before.len());
    // Each marked: by the new window, n03 by the fixture's older window on it.
    for (node, m) in &badged {
        let want = if node == "n03" {
            "a1b2c3d4e5f6"
        } else {
            id.as_str()
        };
        assert_eq!(m.as_deref(), Some(want), "{badged:?}");
    }
    let alerts = page("/alerts").await;
    assert!(alerts.contains("⚒ maintenance"), "{alerts}");

    // Stop: the alerts are back as they were; stopping twice is refused.
    let (status, w) = api(
        &st,
        &tok,
        "POST",
        &format!("/api/maintenances/{id}/stop"),
        None,
    )
    .await;
    assert_eq!(status, 200, "{w}");
    assert_eq!(w["status"], "EXPIRED");
    assert!(w["ended_at"].is_string());
    let after = alerts_on(&st, &tok, "r01").await;
    assert_eq!(
        after.iter().map(|a| &a.0).collect::<Vec<_>>(),
        before.iter().map(|a| &a.0).collect::<Vec<_>>()
    );
    assert!(
        after.iter().all(|(n, m)| m.is_none() || n == "n03"),
        "{after:?}"
    );
    let (status, e) = api(
        &st,
        &tok,
        "POST",
        &format!("/api/maintenances/{id}/stop"),
        None,
    )
    .await;
    assert_eq!(status, 400, "{e}");
    assert!(e["detail"].as_str().unwrap().contains("already stopped"));
    // Reactivate, then delete; an unknown id is a 404.
    let (status, w) = api(
        &st,
        &tok,
        "POST",
        &format!("/api/maintenances/{id}/reactivate"),
        None,
    )
    .await;
    assert_eq!((status, w["status"].as_str()), (200, Some("ACTIVE")));
    let (status, _) = api(
        &st,
        &tok,
        "DELETE",
        &format!("/api/maintenances/{id}"),
        None,
    )
    .await;
    assert_eq!(status, 204);
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        original,
        "deleting gives the file back"
    );
    let (status, _) = api(
        &st,
        &tok,
        "DELETE",
        &format!("/api/maintenances/{id}"),
        None,
    )
    .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn bad_requests_and_viewers_are_refused_and_nothing_is_written() {
    let (tmp, st) = copied();
    let file = tmp.path().join("maintenances.yaml");
    let original = std::fs::read_to_string(&file).unwrap();
    let viewer = token(&st, "vera").await;
    let (status, _) = api(
        &st,
        &viewer,
        "POST",
        "/api/maintenances",
        Some(r#"{"target_type":"rack","target_id":"r01","reason":"x"}"#),
    )
    .await;
    assert_eq!(status, 403);
    let tok = token(&st, "oscar").await;
    for (body, why) in [
        (
            r#"{"target_type":"rack","target_id":"r99","reason":"x"}"#,
            "no rack `r99`",
        ),
        (
            r#"{"target_type":"shelf","target_id":"r01","reason":"x"}"#,
            "not one of",
        ),
        (
            r#"{"target_type":"rack","target_id":"r01","reason":"  "}"#,
            "reason is required",
        ),
        (
            r#"{"target_type":"rack","target_id":"r01","reason":"x","starts_at":"soon"}"#,
            "starts_at `soon`",
        ),
        (
            r#"{"target_type":"rack","target_id":"r01","reason":"x","effect":"mute"}"#,
            "neither hide nor badge",
        ),
        (
            r#"{"target_type":"rack","target_id":"r01","reason":"x","duration":"2h","expires_at":"2030-01-01T00:00:00Z"}"#,
            "not both",
        ),
        (
            r#"{"target_type":"rack","target_id":"r01","reason":"x","expires_at":"2020-01-01T00:00:00Z"}"#,
            "end before it starts",
        ),
        (
            r#"{"target_type":"rack","target_id":"r01","reason":"x","check":"nope"}"#,
            "id or kind `nope`",
        ),
        (
            r#"{"target_type":"rack","target_id":"r01","reason":"x","colour":"red"}"#,
            "unknown field",
        ),
        (
            r#"{"target_type":"rack","target_id":"r01","reason":"x","every":"someday 01:00-02:00"}"#,
            "every `someday 01:00-02:00`",
        ),
    ] {
        let (status, e) = api(&st, &tok, "POST", "/api/maintenances", Some(body)).await;
        assert_eq!(status, 400, "{body}: {e}");
        assert!(e["detail"].as_str().unwrap().contains(why), "{body}: {e}");
    }
    let (status, e) = api(
        &st,
        &tok,
        "PUT",
        "/api/maintenances/a1b2c3d4e5f6",
        Some(r#"{"target_id":"r02"}"#),
    )
    .await;
    assert_eq!(status, 400, "{e}");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), original);
}

#[tokio::test]
async fn a_naive_time_is_the_sites_and_a_partial_update_clears_with_null() {
    let (_tmp, st) = copied();
    let tok = token(&st, "oscar").await;
    // dc1 is Europe/Paris: 2030-07-01T10:00 there is 08:00 UTC (summer time).
    let (status, w) = api(
        &st,
        &tok,
        "POST",
        "/api/maintenances",
        Some(r#"{"target_type":"room","target_id":"room-a","reason":"Cooling","starts_at":"2030-07-01T10:00","expires_at":"2030-07-01T12:00:00+02:00"}"#),
    )
    .await;
    assert_eq!(status, 201, "{w}");
    assert_eq!(w["starts_at"], "2030-07-01T08:00:00Z");
    assert_eq!(w["expires_at"], "2030-07-01T10:00:00Z");
    assert_eq!(w["status"], "SCHEDULED");
    let id = w["id"].as_str().unwrap();
    let (status, w) = api(
        &st,
        &tok,
        "PUT",
        &format!("/api/maintenances/{id}"),
        Some(r#"{"expires_at":null,"reason":"Cooling, open-ended"}"#),
    )
    .await;
    assert_eq!(status, 200, "{w}");
    assert_eq!(w["expires_at"], Value::Null);
    assert_eq!(w["reason"], "Cooling, open-ended");
    // A repeating window: stored as written, judged in the site's time.
    let (status, w) = api(
        &st,
        &tok,
        "POST",
        "/api/maintenances",
        Some(r#"{"target_type":"site","target_id":"dc1","reason":"Weekly patching","every":"sun 02:00-04:00"}"#),
    )
    .await;
    assert_eq!(status, 201, "{w}");
    assert_eq!(w["every"], "sun 02:00-04:00");
    let id = w["id"].as_str().unwrap();
    let window = st.engine.maintenances().get(id).unwrap().clone();
    use rackscope_core::maintenance::{Status, parse_time};
    // Sunday 2 June 2030, 03:00 in Paris (summer time): 01:00 UTC.
    let sunday_3am = parse_time("2030-06-02T01:00:00Z", None).unwrap();
    assert_eq!(window.status(sunday_3am), Status::Active);
    assert_eq!(window.status(sunday_3am + 3 * 3600), Status::Scheduled);
}

#[tokio::test]
async fn instance_and_check_windows_cover_only_what_they_name() {
    let (_tmp, st) = copied();
    st.engine.refresh_at(now()).await;
    let tok = token(&st, "oscar").await;
    // The fixture's upstream-style window names instance n03 as a device: its alert, if
    // any, is badged; n04 beside it in the same chassis is not.
    let all = alerts_on(&st, &tok, "r01").await;
    let n04 = all
        .iter()
        .find(|(k, _)| k == "n04")
        .expect("n04 alerts (temperature)");
    assert_eq!(n04.1, None);
    // Hide only the storage checks of r01's storage array (kind `eseries`).
    let (status, w) = api(
        &st,
        &tok,
        "POST",
        "/api/maintenances",
        Some(r#"{"target_type":"rack","target_id":"r01","check":"eseries","reason":"Shelf reseat","effect":"hide"}"#),
    )
    .await;
    assert_eq!(status, 201, "{w}");
    let (_, v) = api(&st, &tok, "GET", "/api/alerts/active", None).await;
    let checks: Vec<&str> = v["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["rack_id"] == "r01")
        .flat_map(|a| {
            a["checks"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["id"].as_str().unwrap())
        })
        .collect();
    assert!(!checks.contains(&"eseries_drive_status"), "{checks:?}");
    assert!(
        checks.contains(&"node_up"),
        "the other checks stay: {checks:?}"
    );
}

#[tokio::test]
async fn windows_start_and_end_at_a_publication_with_nothing_else_changed() {
    let (tmp, st) = copied();
    let t0 = UNIX_EPOCH + Duration::from_secs(T0);
    let at = |s: u64| rackscope_core::maintenance::format_time((T0 + s) as i64);
    // A hiding window on r02 from T0+60 to T0+120, written by hand.
    let text = std::fs::read_to_string(tmp.path().join("maintenances.yaml")).unwrap();
    let text = format!(
        "{text}- id: timed\n  target_type: rack\n  target_id: r02\n  reason: Timed\n  effect: hide\n  starts_at: '{}'\n  expires_at: '{}'\n",
        at(60),
        at(120)
    );
    let config = st.engine.config();
    let (m, diags) = rackscope_core::load::maintenances_of(&config, Some(&text));
    assert!(!diags.has_errors(), "{diags:?}");
    st.engine.set_maintenances(Arc::new(m));
    let tok = token(&st, "vera").await;
    let mut seen = Vec::new();
    for s in [0, 61, 121] {
        st.engine.refresh_at(t0 + Duration::from_secs(s)).await;
        seen.push(alerts_on(&st, &tok, "r02").await.is_empty());
    }
    assert_eq!(seen, [false, true, false], "scheduled, active, expired");
}

#[tokio::test]
async fn the_pages_start_stop_and_list_windows_for_operators_only() {
    let (tmp, st) = copied();
    st.engine.refresh_at(now()).await;
    let (cookie, csrf) = sign_in(&st, "oscar", ADDR).await;
    let get = |uri: &str, cookie: &str| {
        let req = browser("GET", uri, ADDR, cookie, None);
        let st = st.clone();
        async move { call(&st, req).await.text() }
    };
    // The rack page offers the form to an operator.
    let rack = get("/views/rack/r02", &cookie).await;
    assert!(rack.contains("⚒ Start maintenance"), "{rack}");
    assert!(rack.contains("name=\"target_id\" value=\"r02\""), "{rack}");
    let form = format!(
        "csrf={csrf}&action=create&target_type=rack&target_id=r02&back=%2Fviews%2Frack%2Fr02&reason=PSU+swap&duration=1h&effect=badge"
    );
    let r = call(
        &st,
        browser("POST", "/maintenances", ADDR, &cookie, Some(&form)),
    )
    .await;
    assert_eq!(r.status, 303, "{}", r.text());
    assert_eq!(r.headers["location"], "/views/rack/r02");
    let rack = get("/views/rack/r02", &cookie).await;
    assert!(rack.contains("⚒ in maintenance"), "{rack}");
    assert!(rack.contains("In maintenance: PSU swap (until "), "{rack}");
    // The state badge is still the checks' own beside the marker.
    // (r02 is WARN in the fixture: chassis-2's PSU.)
    let h1 = &rack[rack.find("<h1>").unwrap()..rack.find("</h1>").unwrap()];
    assert!(
        h1.contains("class=\"badge st-WARN\"") && h1.contains("in maintenance"),
        "{h1}"
    );
    let text = std::fs::read_to_string(tmp.path().join("maintenances.yaml")).unwrap();
    assert!(text.contains("reason: PSU swap"), "{text}");
    let id = st
        .engine
        .maintenances()
        .windows
        .last()
        .unwrap()
        .entry
        .id
        .clone();
    // A `back` that leaves the site is not followed.
    let form = format!("csrf={csrf}&action=stop&id={id}&back=https%3A%2F%2Fevil.example%2F");
    let r = call(
        &st,
        browser("POST", "/maintenances", ADDR, &cookie, Some(&form)),
    )
    .await;
    assert_eq!(r.status, 303);
    assert_eq!(r.headers["location"], "/maintenances");
    let list = get("/maintenances", &cookie).await;
    assert!(list.contains(&format!("id=\"m-{id}\"")), "{list}");
    assert!(
        list.contains("name=\"action\" value=\"reactivate\""),
        "{list}"
    );
    assert!(list.contains("Start or schedule a window"), "{list}");
    // A refused form says why and keeps what was typed.
    let form =
        format!("csrf={csrf}&action=create&target_type=rack&rack_id=r01&reason=+&duration=1h");
    let r = call(
        &st,
        browser("POST", "/maintenances", ADDR, &cookie, Some(&form)),
    )
    .await;
    assert_eq!(r.status, 400);
    assert!(
        r.text().contains("Not saved: a reason is required"),
        "{}",
        r.text()
    );
    // A viewer reads the list, without the forms, and cannot post.
    let (vcookie, vcsrf) = sign_in(&st, "vera", ADDR).await;
    let list = get("/maintenances", &vcookie).await;
    assert!(list.contains(&format!("id=\"m-{id}\"")), "{list}");
    assert!(!list.contains("Start or schedule a window"), "{list}");
    let rack = get("/views/rack/r02", &vcookie).await;
    assert!(!rack.contains("Start maintenance"), "{rack}");
    let form = format!("csrf={vcsrf}&action=delete&id={id}");
    let r = call(
        &st,
        browser("POST", "/maintenances", ADDR, &vcookie, Some(&form)),
    )
    .await;
    assert_eq!(r.status, 403);
    assert!(st.engine.maintenances().get(&id).is_some());
}
