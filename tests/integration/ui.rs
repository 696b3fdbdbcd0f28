//! The web UI through the router (tower `oneshot`) on the health fixture: every page with
//! its status and key content, the live fragment, themes, search, the wallboard, and the
//! 404 and 500 pages. The browser tests (`browser.rs`) drive the same pages in Chromium.

use std::collections::BTreeSet;
use std::sync::atomic::Ordering;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use rackscope::server::AppState;

use crate::support::router::{Reply, call, fixture, get};

/// The pages of the fixture, one URL per template that renders a whole page.
const PAGES: &[(&str, &str)] = &[
    ("overview.html", "/"),
    ("site.html", "/views/site/dc1"),
    ("room.html", "/views/room/room-a"),
    ("rack.html", "/views/rack/r01"),
    ("device.html", "/views/device/r01/chassis-1"),
    ("alerts.html", "/alerts"),
    ("checks.html", "/checks"),
    ("search.html", "/search?q=n0"),
    ("error.html", "/views/rack/nope"),
    ("signin.html", "/signin"),
    ("editors.html", "/editors"),
    ("maintenances.html", "/maintenances"),
    ("slurm-overview.html", "/slurm/overview"),
    ("slurm-nodes.html", "/slurm/nodes"),
    ("slurm-wallboard.html", "/slurm/wallboard"),
    ("settings.html", "/editors/settings"),
    ("editors-checks.html", "/editors/checks"),
    ("editor.html", "/editors/checks/checks.yaml"),
    ("logs.html", "/logs"),
    ("cluster.html", "/views/cluster?racks=r01,r03"),
    ("playlist.html", "/playlist"),
];

fn html(r: &Reply) -> String {
    let ct = r
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    assert!(ct.starts_with("text/html"), "content type {ct}");
    r.text()
}

/// Tera escapes `/` and quotes in text; tests compare with the escaped form.
fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#x27;")
        .replace('/', "&#x2F;")
}

fn contains(page: &str, needle: &str) -> bool {
    page.contains(needle) || page.contains(&esc(needle))
}

#[track_caller]
fn has(page: &str, needle: &str) {
    assert!(contains(page, needle), "`{needle}` not in:\n{page}");
}

#[tokio::test]
async fn every_template_is_rendered_by_a_page() {
    let (st, _) = fixture(true).await;
    let names: BTreeSet<&str> = st.ui.template_names().collect();
    let covered: BTreeSet<&str> = PAGES
        .iter()
        .map(|(t, _)| *t)
        // The disambiguation page needs a shared id, which this fixture has not: it is
        // rendered over the multi-site fixture by `identity::pages_open_by_short_id_or_path_and_a_shared_id_asks_which`.
        .chain([
            "base.html",
            "components.html",
            "partials/banner.html",
            // Every page includes it; the fragment test checks it after <main>.
            "partials/tree.html",
            "ambiguous.html",
        ])
        .collect();
    assert_eq!(names, covered, "a template without a page test");
    for (template, url) in PAGES {
        let r = get(&st, url).await;
        let want = if *template == "error.html" {
            StatusCode::NOT_FOUND
        } else {
            StatusCode::OK
        };
        assert_eq!(r.status, want, "{url}");
        let page = html(&r);
        assert!(page.starts_with("<!doctype html>"), "{url}");
        assert!(page.trim_end().ends_with("</html>"), "{url}");
        has(&page, "<main id=\"main\"");
        assert!(page.len() < 200 * 1024, "{url}: {} bytes", page.len());
    }
}

#[tokio::test]
async fn overview_shows_the_global_state_the_map_and_located_alerts() {
    let (st, _) = fixture(true).await;
    let page = html(&get(&st, "/").await);
    has(
        &page,
        "<h1>Health fixture <span class=\"badge st-CRIT\">✖ CRIT</span>",
    );
    // Both sites on the map, at their coordinates (Paris: 2.35 E, 48.85 N).
    has(&page, "cx=\"182.35\" cy=\"41.15\"");
    has(&page, "Primary DC — CRIT");
    has(&page, "Second DC");
    // The down node, with its full physical path and a link to its rack and device.
    has(&page, ">node.1</a>");
    has(&page, "Primary DC › Room A › Aisle 1 › Rack 01 › U1");
    has(&page, "/views/rack/r01?device=chassis-1#dev-chassis-1");
    has(&page, "Prometheus");
}

#[tokio::test]
async fn site_room_rack_and_device_pages_show_their_part_of_the_tree() {
    let (st, _) = fixture(true).await;
    let site = html(&get(&st, "/views/site/dc1").await);
    has(&site, "Room A");
    has(&site, "class=\"mini st-CRIT\" href=\"/views/rack/r01\"");
    // Its totals from the fixture's series: n04 at 50 °C is the hottest node; the site's
    // alerts are listed, another site's are not.
    has(&site, "hottest node 50.0 °C");
    has(&site, "1 room · 3 racks · ");
    has(&site, "Alerts at this site");
    has(&site, "n04");
    assert!(!contains(&site, "n16"), "n16 is at the second site: {site}");

    let room = html(&get(&st, "/views/room/room-a").await);
    has(&room, "class=\"floorplan style-state\"");
    // r01 holds the down node: drawn CRIT, with its CRIT node count.
    has(
        &room,
        "href=\"/views/rack/r01\" class=\"rack st-CRIT\" data-name=\"Rack 01\" data-state=\"CRIT\" data-crit=\"2\" data-warn=\"2\"",
    );
    has(&room, "Aisle 1");
    has(&room, "Aisle 2");
    has(&room, "class=\"door\"");

    let rack = html(&get(&st, "/views/rack/r01?device=chassis-1").await);
    has(&rack, "id=\"dev-chassis-1\"");
    has(&rack, "device st-CRIT highlight");
    has(&rack, "node.1 — CRIT");
    // Hover cards: the device's failing nodes, its hottest node, each failing node's checks.
    let chassis = &rack[rack.find("id=\"dev-chassis-1\"").unwrap()..];
    let chassis = &chassis[..chassis.find("</g>").unwrap()];
    assert!(
        contains(
            chassis,
            "data-name=\"chassis-1\" data-state=\"CRIT\" data-checks=\""
        ),
        "{chassis}"
    );
    assert!(
        contains(chassis, "data-temp=\"hottest node 50.0 °C\""),
        "{chassis}"
    );
    assert!(contains(chassis, "data-power=\"800 W drawn\""), "{chassis}");
    assert!(
        contains(
            chassis,
            "data-name=\"n04\" data-state=\"CRIT\" data-checks=\"node_temperature = 50\""
        ),
        "{chassis}"
    );
    // The storage array draws one cell per disk; slot 3 failed.
    has(&rack, "da01-c1:slot3 — ");
    assert!(!contains(&rack, "da01-c1:slot3 — OK"), "{rack}");
    has(&rack, "da01-c1:slot1 — OK");
    // The side PDU of the rack template, and the rack's live power from the PDU metric.
    has(&rack, "pdu-left — ");
    has(&rack, "U40");
    // Infrastructure of the rack template, where it is mounted.
    has(&rack, "Patch panel 1 (U30, rack infrastructure)");
    has(&rack, "Front");
    has(&rack, "Rear");

    let dev = html(&get(&st, "/views/device/r01/chassis-1?instance=n03").await);
    has(&dev, "node.1 <span class=\"badge st-CRIT\">");
    has(&dev, "id=\"inst-n03\"");
    has(&dev, "instance st-WARN highlight");
    has(&dev, "<code>node_up</code>");
    // The template's metrics, drawn from range queries: one line per node.
    has(&dev, "class=\"chart\"");
    has(&dev, "class=\"series s0\"");
    has(&dev, "href=\"/views/device/r01/chassis-1?range=6h\"");

    let r = get(&st, "/views/device/r01/nope").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    has(&html(&r), "device `r01/nope` not found");
}

#[tokio::test]
async fn alerts_filter_by_severity_site_and_room() {
    let (st, _) = fixture(true).await;
    let all = html(&get(&st, "/alerts").await);
    let crit = html(&get(&st, "/alerts?severity=CRIT").await);
    let rows = |p: &str| p.matches("<tr class=\"st-").count();
    assert!(rows(&all) > rows(&crit), "WARN alerts are filtered out");
    assert!(rows(&crit) > 0);
    assert!(!crit.contains("<tr class=\"st-WARN\""), "{crit}");
    let other = html(&get(&st, "/alerts?site=dc2").await);
    assert!(!contains(&other, "Primary DC ›"), "{other}");
    let room = html(&get(&st, "/alerts?room=room-a&severity=").await);
    assert_eq!(rows(&room), rows(&all) - rows(&other));
}

#[tokio::test]
async fn checks_library_and_its_query_tester() {
    let (st, _) = fixture(true).await;
    let page = html(&get(&st, "/checks").await);
    has(&page, "Node up");
    has(&page, "device: quad");
    has(&page, "component: pdu");
    has(&page, "/checks?test=node_up#test");
    // The form posts; a GET with the old `run=1` only shows it and sends nothing.
    let queries = st.engine.stats().query_count;
    let shown = html(&get(&st, "/checks?test=node_up&run=1&instances=n03").await);
    has(&shown, "method=\"post\"");
    assert!(!contains(&shown, "series."), "a GET ran the query");
    assert_eq!(st.engine.stats().query_count, queries);
    let r = html(&form(&st, "/checks", "test=node_up&instances=n03").await);
    has(&r, "id=\"test\"");
    has(&r, "1 series");
    has(&r, "instance=\"n03\"");
    let bad = html(&form(&st, "/checks", "test=node_up&expr=up%7B&instances=n03").await);
    has(&bad, "invalid PromQL");
}

/// A page's live fragment, as the page's script asks for it.
async fn fragment(st: &AppState, uri: &str) -> Reply {
    call(
        st,
        Request::get(uri)
            .header("x-rackscope-fragment", "main")
            .body(Body::empty())
            .unwrap(),
    )
    .await
}

async fn form(st: &AppState, uri: &str, body: &str) -> Reply {
    call(
        st,
        Request::post(uri)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(body.to_owned()))
            .unwrap(),
    )
    .await
}

#[tokio::test]
async fn search_jumps_to_an_exact_match_and_lists_others() {
    let (st, _) = fixture(true).await;
    let r = get(&st, "/search?q=a%2Bb").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(
        r.headers[header::LOCATION],
        "/views/device/r01/chassis-1?instance=a%2Bb#inst-a%2Bb"
    );
    let r = get(&st, "/search?q=rack%2010").await;
    let page = html(&r);
    has(&page, "Rack 10");
    let none = html(&get(&st, "/search?q=zzz").await);
    has(&none, "Nothing matches");
}

#[tokio::test]
async fn wallboard_rotates_through_the_playlist_in_kiosk_mode() {
    let (st, _) = fixture(true).await;
    let r = get(&st, "/wallboard").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let first = r.headers[header::LOCATION].to_str().unwrap().to_owned();
    assert!(first.ends_with("kiosk=1&pl=0"), "{first}");
    let page = html(&get(&st, &first).await);
    has(&page, "<body class=\"kiosk\">");
    // Moves on by itself, JavaScript or not.
    assert!(page.contains("http-equiv=\"refresh\""), "{page}");
    assert!(page.contains("pl=1"), "{page}");
    // The position comes from the URL: the largest one still gives the next view.
    let last = html(&get(&st, &format!("/?kiosk=1&pl={}", usize::MAX)).await);
    assert!(last.contains("http-equiv=\"refresh\""), "{last}");
    // Without JavaScript the page refreshes to the next view; with it, the controls
    // count down, pause and skip, so the refresh is for browsers without scripts only.
    has(
        &page,
        "<noscript><meta http-equiv=\"refresh\" content=\"30;url=/views/worldmap?kiosk=1&amp;pl=1\"></noscript>",
    );
    // Previous and next are links, so they work without JavaScript too.
    has(
        &page,
        "<nav class=\"pl-bar\" id=\"pl-bar\" aria-label=\"Wallboard\"",
    );
    has(&page, "<span class=\"pl-pos\">1 / 2</span>");
    has(
        &page,
        "class=\"pl-next\" href=\"/views/worldmap?kiosk=1&amp;pl=1\"",
    );
    has(
        &page,
        "class=\"pl-prev\" href=\"/views/worldmap?kiosk=1&amp;pl=1\"",
    );
    assert!(
        !html(&get(&st, "/").await).contains("pl-bar"),
        "only on the wallboard"
    );
}

#[tokio::test]
async fn a_playlist_view_may_have_its_own_time_on_screen() {
    let (st, _) = crate::support::router::fixture_with(true, |app| {
        app.playlist.views = serde_json::from_str(
            r#"["/alerts", {"view": "/views/room/room-a", "seconds": 90}, "/nowhere"]"#,
        )
        .unwrap();
        app.playlist.interval_seconds = 20;
    })
    .await;
    let alerts = html(&get(&st, "/alerts?kiosk=1&pl=0").await);
    assert!(alerts.contains("data-seconds=\"20\""), "{alerts}");
    has(&alerts, "<span class=\"pl-pos\">1 / 2</span>");
    let room = html(&get(&st, "/views/room/room-a?kiosk=1&pl=1").await);
    assert!(room.contains("data-seconds=\"90\""), "{room}");
    assert!(room.contains("content=\"90;url=/alerts?kiosk=1"), "{room}");
}

#[test]
fn app_yaml_writes_a_timed_view_as_a_mapping() {
    let (_tmp, app) = crate::support::health_with(
        "playlist:\n  interval_seconds: 15\n  views:\n  - /alerts\n  - {view: /views/room/room-a, seconds: 60}\n  - {view: /views/room/nope, seconds: 60}\n",
    );
    let loaded = crate::support::load(&app);
    assert!(loaded.is_usable(), "{:?}", loaded.diagnostics);
    assert_eq!(
        rackscope::ui::chrome::playlist_timed(&loaded.config),
        [
            ("/alerts".to_owned(), 15),
            ("/views/room/room-a".to_owned(), 60),
            ("/views/room/nope".to_owned(), 60)
        ]
    );
    // A timed view naming no room is warned about at its line, as a plain one is.
    let w: Vec<_> = loaded
        .diagnostics
        .iter()
        .filter(|d| d.code == "playlist")
        .collect();
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(w[0].message.contains("nope"), "{w:?}");
}

#[tokio::test]
async fn live_fragment_themes_and_static_files() {
    let (st, _) = fixture(true).await;
    let r = fragment(&st, "/views/room/room-a").await;
    let frag = html(&r);
    assert!(frag.starts_with("<main id=\"main\" data-seq=\""), "{frag}");
    // Then the sidebar tree, so that its state dots follow the live updates too.
    let (main, tree) = frag.split_once("</main>").unwrap();
    assert!(!main.contains("id=\"tree\""));
    assert!(
        tree.trim_start()
            .starts_with("<div class=\"tree\" id=\"tree\">"),
        "{tree}"
    );
    has(tree, "class=\"dot st-CRIT\" title=\"CRIT\"></span>Rack 01");
    assert!(!frag.contains("<html"));
    has(&frag, "class=\"rack st-CRIT\"");

    let r = get(&st, "/theme/matrix?back=%2Falerts").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.headers[header::LOCATION], "/alerts");
    let cookie = r.headers[header::SET_COOKIE].to_str().unwrap().to_owned();
    assert!(cookie.starts_with("rackscope_theme=matrix;"), "{cookie}");
    let themed = call(
        &st,
        Request::get("/")
            .header(header::COOKIE, "a=b; rackscope_theme=matrix")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    has(&html(&themed), "<html lang=\"en\" data-theme=\"matrix\">");
    // An open redirect is refused.
    let r = get(&st, "/theme/light?back=%2F%2Fevil.example").await;
    assert_eq!(r.headers[header::LOCATION], "/");

    let css = get(&st, "/static/rackscope.css").await;
    assert_eq!(css.status, StatusCode::OK);
    assert_eq!(css.headers[header::CONTENT_TYPE], "text/css; charset=utf-8");
    assert!(css.body.len() > 1000);
    assert_eq!(
        get(&st, "/static/nope.js").await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn unknown_pages_are_html_404s_and_the_api_keeps_json() {
    let (st, _) = fixture(true).await;
    let r = call(
        &st,
        Request::get("/views/rack/nope")
            .header("x-request-id", "req-42")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let page = html(&r);
    has(&page, "rack `nope` not found");
    has(&page, "req-42");
    let r = get(&st, "/no/such/page").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    has(&html(&r), "no page at /no/such/page");
    let r = get(&st, "/api/nope").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.json()["detail"], "no route for /api/nope");
}

#[tokio::test]
async fn before_the_first_refresh_and_when_prometheus_is_down_a_banner_says_so() {
    let (st, _) = fixture(false).await;
    let page = html(&get(&st, "/views/room/room-a").await);
    has(&page, "Waiting for the first refresh");
    has(&page, "class=\"rack st-NONE\"");

    let (st, table) = fixture(true).await;
    table.down.store(true, Ordering::Relaxed);
    st.engine.refresh().await;
    let page = html(&get(&st, "/").await);
    has(&page, "class=\"banner st-");
    has(&page, "Refreshes failing for");
    has(&page, "is unreachable");
}

#[tokio::test]
async fn a_template_that_fails_gives_the_error_page_with_the_request_id() {
    let dir = tempfile::tempdir().unwrap();
    // Parses, but names a variable that does not exist: fails at render time.
    std::fs::write(
        dir.path().join("site.html"),
        "{% extends \"base.html\" %}{% block main %}{{ page.no_such_field }}{% endblock main %}",
    )
    .unwrap();
    let (st, _) = fixture(true).await;
    let st = AppState::with_templates(st.engine.clone(), Some(dir.path())).unwrap();
    let r = call(
        &st,
        Request::get("/views/site/dc1")
            .header("x-request-id", "req-500")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR);
    let page = html(&r);
    has(&page, "req-500");
    has(&page, "could not be rendered");
    assert!(!page.contains("no_such_field"), "internals stay in the log");
    // The other pages still render.
    assert_eq!(get(&st, "/").await.status, StatusCode::OK);

    // A template that does not parse stops the start, naming the file and position.
    std::fs::write(
        dir.path().join("room.html"),
        "{% extends \"base.html\" %}\n{% block main %}{{ x }\n",
    )
    .unwrap();
    let err = AppState::with_templates(st.engine.clone(), Some(dir.path()))
        .err()
        .expect("a broken template is refused")
        .to_string();
    assert!(err.contains("room.html"), "{err}");
    assert!(err.contains(":2:"), "{err}");
}

/// Every page of the fixture, byte for byte, compared with `tests/snapshots/ui/*.html`: the
/// proof that restructuring the page code changes no output. Only what differs between two
/// renderings of the same snapshot (the request id, the wall-clock ages) is masked.
#[tokio::test]
async fn every_page_matches_its_snapshot() {
    let (st, _) = fixture(true).await;
    let mut pages: Vec<(&str, &str)> = PAGES.to_vec();
    pages.extend([
        ("wallboard.html", "/?kiosk=1&pl=0"),
        ("alerts-crit.html", "/alerts?severity=CRIT"),
        ("worldmap.html", "/views/worldmap"),
    ]);
    for (name, url) in pages {
        let r = get(&st, url).await;
        let text = format!("{} {url}\n{}", r.status.as_u16(), mask(&r.text()));
        crate::support::assert_snapshot(&format!("ui/{name}"), &text);
    }
    let r = fragment(&st, "/views/room/room-a").await;
    let text = format!("{} fragment\n{}", r.status.as_u16(), mask(&r.text()));
    crate::support::assert_snapshot("ui/room-fragment.html", &text);
    let r = form(&st, "/checks", "test=node_up&instances=n03").await;
    let text = format!("{} tester\n{}", r.status.as_u16(), mask(&r.text()));
    crate::support::assert_snapshot("ui/checks-tester.html", &text);
}

/// What in `page` the Content-Security-Policy would refuse: an inline script, an event
/// handler attribute, a style attribute, a `javascript:` URL, a `<base>`, a script, style or
/// image from elsewhere than this site, or a `<style>` element whose hash the policy does
/// not name.
fn csp_violations(page: &str) -> Vec<String> {
    let csp = rackscope::server::headers::content_security_policy();
    let tag = regex::Regex::new(r"(?is)<([a-z][a-z0-9-]*)\b([^>]*)>").unwrap();
    let attr =
        regex::Regex::new(r#"(?is)\s([a-z][a-z0-9:-]*)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))"#)
            .unwrap();
    let style = regex::Regex::new(r"(?is)<style\b[^>]*>(.*?)</style>").unwrap();
    let mut found = Vec::new();
    for t in tag.captures_iter(page) {
        let name = t[1].to_ascii_lowercase();
        let attrs: Vec<(String, String)> = attr
            .captures_iter(&t[2])
            .map(|a| {
                let v = a
                    .get(2)
                    .or(a.get(3))
                    .or(a.get(4))
                    .map_or("", |m| m.as_str());
                (a[1].to_ascii_lowercase(), v.to_owned())
            })
            .collect();
        let get = |n: &str| attrs.iter().find(|(k, _)| k == n).map(|(_, v)| v.as_str());
        if name == "script" && get("src").is_none() {
            found.push(format!("inline script: {}", &t[0]));
        }
        if name == "base" {
            found.push(format!("base element: {}", &t[0]));
        }
        for (k, v) in &attrs {
            if k.starts_with("on") {
                found.push(format!("event handler `{k}`: {}", &t[0]));
            }
            if k == "style" {
                found.push(format!("style attribute: {}", &t[0]));
            }
            if v.trim_start()
                .to_ascii_lowercase()
                .starts_with("javascript:")
            {
                found.push(format!("javascript: URL: {}", &t[0]));
            }
        }
        // Loaded resources come from this site (or, for images, data: URLs).
        let own = |v: &str| v.starts_with('/') && !v.starts_with("//");
        let src = get("src").unwrap_or("");
        let loaded = match name.as_str() {
            "script" => !src.is_empty() && !own(src),
            "img" => !own(src) && !src.starts_with("data:"),
            "link" => get("rel") == Some("stylesheet") && !get("href").is_some_and(own),
            _ => false,
        };
        if loaded {
            found.push(format!("resource from elsewhere: {}", &t[0]));
        }
    }
    for s in style.captures_iter(page) {
        let hash = rackscope::server::headers::source_hash(&s[1]);
        if !csp.contains(&hash) {
            found.push(format!("inline style not in the policy ({hash})"));
        }
    }
    found
}

/// Every page, fragment and form answer of the fixture obeys the Content-Security-Policy:
/// nothing inline runs or styles, so the policy needs no 'unsafe-inline'. Chromium checks
/// the same in `browser.rs`; this finds the offending markup without a browser.
#[tokio::test]
async fn every_page_satisfies_the_content_security_policy() {
    let (st, _) = fixture(true).await;
    let mut pages: Vec<(&str, &str)> = PAGES.to_vec();
    pages.extend([
        ("wallboard", "/?kiosk=1&pl=0"),
        ("alerts-crit", "/alerts?severity=CRIT"),
        ("worldmap", "/views/worldmap"),
        ("rack with a device", "/views/rack/r01?device=chassis-1"),
        (
            "device instance",
            "/views/device/r01/chassis-1?instance=n03",
        ),
        ("device range", "/views/device/r01/chassis-1?range=6h"),
        ("tester", "/checks?test=node_up&run=1&instances=n03"),
        ("404", "/no/such/page"),
        ("api docs", "/api/docs"),
    ]);
    let mut bad = Vec::new();
    let mut check = |name: &str, text: &str| {
        assert!(text.contains('<'), "{name}: no HTML");
        bad.extend(
            csp_violations(text)
                .into_iter()
                .map(|v| format!("{name}: {v}")),
        );
    };
    for (name, url) in pages {
        check(name, &get(&st, url).await.text());
    }
    check(
        "room fragment",
        &fragment(&st, "/views/room/room-a").await.text(),
    );
    check(
        "tester answer",
        &form(&st, "/checks", "test=node_up&instances=n03")
            .await
            .text(),
    );
    // The editor's answer to a validation, with a problem marked in the gutter (nothing
    // is written: only `save` writes).
    check(
        "editor validation",
        &form(
            &st,
            "/editors/checks/checks.yaml",
            "action=validate&etag=x&text=checks%3A%0A-+%7Bid%3A+x",
        )
        .await
        .text(),
    );
    assert!(bad.is_empty(), "{bad:#?}");
    // The audit itself finds what it looks for.
    let planted = r#"<p style="x" onclick="y"><a href="javascript:z"></a><script>1</script><style>p{}</style><script src="https://cdn.example/x.js"></script>"#;
    assert_eq!(
        csp_violations(planted).len(),
        6,
        "{:#?}",
        csp_violations(planted)
    );
}

/// Replaces what changes from one request to the next with a fixed mark.
fn mask(page: &str) -> String {
    let volatile = regex::Regex::new(
        r"(?x)
        [0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}   # request ids
        | \b[0-9a-f]{8}-[0-9]+\b   # request ids this server makes (process prefix, counter)
        ",
    )
    .unwrap();
    // Wall-clock ages and measured latencies (refresh age, refresh duration, query round
    // trips): only the number is masked, the unit and the wording stay compared.
    let timing = regex::Regex::new(r"\b[0-9]+(?:\.[0-9]+)?( ms\b| s ago)").unwrap();
    // The checkout's path (a check's source file) depends on where the tests run.
    let root = crate::support::root().display().to_string();
    let page = page.replace(&root, "<root>").replace(&esc(&root), "<root>");
    let page = volatile.replace_all(&page, "<masked>");
    let page = timing.replace_all(&page, "<n>$1");
    // A form's CSRF token is bound to a random per-browser seed.
    let csrf = regex::Regex::new(r#"name="csrf" value="[^"]*""#).unwrap();
    let page = csrf.replace_all(&page, r#"name="csrf" value="<csrf>""#);
    // An editor's version tag is the pipeline's hash of the file, not the page's output.
    let etag = regex::Regex::new(r#"name="etag" value="[^"]*""#).unwrap();
    let page = etag.replace_all(&page, r#"name="etag" value="<etag>""#);
    // Charts span "the last hour from now": the time labels and the x of each point move
    // with the clock; the values (y) and everything else stay compared.
    let clock = regex::Regex::new(r">[0-9]{2}:[0-9]{2}</text>").unwrap();
    let page = clock.replace_all(&page, "><hh:mm></text>");
    let series = regex::Regex::new(r#"<path class="series[^"]*" d="[^"]*""#).unwrap();
    let x = regex::Regex::new(r"([ML])[0-9]+(?:\.[0-9]+)?,").unwrap();
    series
        .replace_all(&page, |c: &regex::Captures| {
            x.replace_all(&c[0], "$1<x>,").into_owned()
        })
        .into_owned()
}

#[test]
fn the_checks_library_lists_a_device_template_for_its_rear_components_checks() {
    let config =
        crate::support::load(&crate::support::root().join("tests/fixtures/rear/app.yaml")).config;
    let cards: Vec<_> = rackscope::ui::pages::checks::library(&config)
        .into_iter()
        .flat_map(|g| g.checks)
        .collect();
    for id in ["psu_state", "psu_fan"] {
        let card = cards.iter().find(|c| c.id == id).unwrap();
        assert_eq!(card.templates, ["device: server"], "{id}");
    }
}

/// The query tester says what the check's own rules make of each value it returns (n04
/// runs at 50 °C, over node_temperature's 45 °C CRIT threshold; n03 at 40 °C, over 38 °C
/// WARN).
#[tokio::test]
async fn the_tester_shows_what_the_rules_decide_for_each_series() {
    let (st, _) = fixture(true).await;
    let r = form(&st, "/checks", "test=node_temperature&instances=n04|n03").await;
    assert_eq!(r.status, StatusCode::OK);
    let page = r.text();
    let row = |n: &str| {
        page.split("<tr>")
            .find(|l| l.contains(&format!("instance=&quot;{n}&quot;")))
            .unwrap_or_else(|| panic!("no row for {n} in {page}"))
            .to_owned()
    };
    assert!(row("n04").contains("st-CRIT"), "{}", row("n04"));
    assert!(row("n03").contains("st-WARN"), "{}", row("n03"));
}

/// The sidebar tree (issue #22): site → room, and under the room the page is in, its aisles
/// and racks with their states; the current place marked for the eye and for readers.
#[tokio::test]
async fn the_sidebar_tree_opens_on_the_current_room_and_marks_the_current_place() {
    let (st, _) = fixture(true).await;
    let tree = |p: &str| {
        p.split("<div class=\"tree\" id=\"tree\">")
            .nth(1)
            .and_then(|t| t.split("</div>").next())
            .unwrap_or_default()
            .to_owned()
    };
    let rack = tree(&html(&get(&st, "/views/rack/r02").await));
    // Room A is open on its two aisles and three racks; r02 is the current page.
    assert_eq!(
        rack.matches("<details class=\"aisle\" open>").count(),
        2,
        "{rack}"
    );
    has(
        &rack,
        "<a class=\"rack current\" href=\"/views/rack/r02\" aria-current=\"page\"><span class=\"dot st-WARN\"",
    );
    has(
        &rack,
        "<a class=\"rack\" href=\"/views/rack/r01\"><span class=\"dot st-CRIT\"",
    );
    // Room B stays closed: its rack is not listed.
    assert!(!rack.contains("/views/rack/r10"), "{rack}");
    // A device page is in its rack; a room page marks the room; a site page the site.
    let dev = tree(&html(&get(&st, "/views/device/r01/chassis-1").await));
    has(&dev, "<a class=\"rack current\" href=\"/views/rack/r01\"");
    let room = tree(&html(&get(&st, "/views/room/room-b").await));
    has(
        &room,
        "<a class=\"room current\" href=\"/views/room/room-b\" aria-current=\"page\"",
    );
    assert!(
        room.contains("/views/rack/r10") && !room.contains("/views/rack/r01"),
        "{room}"
    );
    let site = tree(&html(&get(&st, "/views/site/dc2").await));
    has(
        &site,
        "<a class=\"site current\" href=\"/views/site/dc2\" aria-current=\"page\"",
    );
    assert!(!site.contains("<details"), "{site}");
    // Elsewhere nothing is open or current.
    let alerts = tree(&html(&get(&st, "/alerts").await));
    assert!(
        !alerts.contains("current") && !alerts.contains("<details"),
        "{alerts}"
    );
}

/// `map.*` of app.yaml sets where the world map opens and how far it zooms, without
/// JavaScript; the zoom buttons follow `map.zoom_controls`.
#[tokio::test]
async fn the_world_map_opens_where_app_yaml_says() {
    let (st, _) = crate::support::router::fixture_with(true, |app| {
        app.map.default_zoom = Some(5);
        app.map.center = rackscope_core::model::app::LatLon {
            lat: 48.85,
            lon: 2.35,
        };
    })
    .await;
    let page = html(&get(&st, "/").await);
    let want = rackscope::ui::draw::map_view(&st.engine.config().app.map);
    has(
        &page,
        &format!("viewBox=\"{}\" data-zoom-key=\"map\"", want.home),
    );
    assert!(want.home.contains(" 45.00 "), "{}", want.home);
    has(
        &page,
        "class=\"map-zoom plan-zoom\" data-for=\"map\" hidden",
    );
    let (st, _) = crate::support::router::fixture_with(true, |app| {
        app.map.zoom_controls = false;
    })
    .await;
    let page = html(&get(&st, "/").await);
    has(&page, "viewBox=\"0.00 10.00 360.00 140.00\"");
    assert!(!page.contains("map-zoom"), "no buttons: {page}");
}

/// `/playlist` lists the configured playlist with its times and what a browser's own can
/// show; the builder itself needs the page's script, and says so without it.
#[tokio::test]
async fn the_playlist_page_lists_the_configured_views_and_the_candidates() {
    let (st, _) = fixture(true).await;
    let page = html(&get(&st, "/playlist").await);
    has(&page, "The configured playlist");
    has(&page, "href=\"/wallboard\"");
    has(
        &page,
        "<input type=\"checkbox\" value=\"/views/room/room-a\">",
    );
    has(&page, "Primary DC › Room A");
    has(&page, "needs JavaScript");
    has(&page, "id=\"my-playlist\"");
}
