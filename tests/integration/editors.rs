//! The configuration editors in the browser, through the router with sign-in on, over a
//! temporary copy of the health fixture (saves write to it): only administrators reach
//! them; validating shows problems at their line and writes nothing; a save writes and
//! reloads; a stale version is a conflict that keeps the user's text; a file an importer
//! generated says so and what a re-import does to it; a YAML file's page loads the
//! highlighter, served from the binary, and nothing else does.

use std::sync::Arc;

use rackscope::server::AppState;
use rackscope_core::telemetry::Engine;
use rackscope_core::testkit::Table;

use crate::support::auth::{access, browser, sign_in};
use crate::support::fixture::world;
use crate::support::router::{Reply, call};

const ADDR: &str = "192.0.2.7";
const FILE: &str = "/editors/checks/checks.yaml";

/// The health fixture copied to a temporary directory, with sign-in on.
fn copied() -> (tempfile::TempDir, AppState) {
    copied_over(&[])
}

/// The same, with the fixture directories `over` (under `tests/fixtures/`) copied over it.
fn copied_over(over: &[&str]) -> (tempfile::TempDir, AppState) {
    let tmp = tempfile::tempdir().unwrap();
    crate::support::copy_dir(
        &crate::support::root().join("tests/fixtures/health"),
        tmp.path(),
    );
    for dir in over {
        crate::support::copy_dir(
            &crate::support::root().join("tests/fixtures").join(dir),
            tmp.path(),
        );
    }
    let loaded = crate::support::load(&tmp.path().join("app.yaml"));
    assert!(loaded.is_usable());
    let mut config = loaded.config;
    config.access = access();
    let engine = Arc::new(Engine::new(Arc::new(config), Arc::new(Table::new(world()))));
    (tmp, AppState::new(engine).unwrap())
}

/// Form-encodes one value.
fn enc(s: &str) -> String {
    serde_urlencoded::to_string([("v", s)]).unwrap()[2..].to_owned()
}

/// Tera escapes `/`, quotes and `&` in text; the page shows them so.
fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#x27;")
        .replace('/', "&#x2F;")
}

/// Whether the page shows `needle`, as written or as Tera escapes text.
#[track_caller]
fn has(page: &str, needle: &str) {
    assert!(
        page.contains(needle) || page.contains(&esc(needle)),
        "`{needle}` not in:\n{page}"
    );
}

/// The hidden `etag` of an editor page.
/// The form's `etag` field as a browser submits it (the HTML entities decoded: the tag is
/// quoted, `"sha256-…"`).
fn etag_of(html: &str) -> String {
    let at = html.find("name=\"etag\" value=\"").unwrap();
    let rest = &html[at + "name=\"etag\" value=\"".len()..];
    rest[..rest.find('"').unwrap()]
        .replace("&quot;", "\"")
        .replace("&#x2F;", "/")
        .replace("&#x27;", "'")
        .replace("&amp;", "&")
}

async fn post(
    st: &AppState,
    cookie: &str,
    csrf: &str,
    action: &str,
    text: &str,
    etag: &str,
) -> Reply {
    post_to(st, FILE, cookie, csrf, action, text, etag).await
}

async fn post_to(
    st: &AppState,
    url: &str,
    cookie: &str,
    csrf: &str,
    action: &str,
    text: &str,
    etag: &str,
) -> Reply {
    let form = format!(
        "csrf={csrf}&etag={}&action={action}&text={}",
        enc(etag),
        enc(text)
    );
    call(st, browser("POST", url, ADDR, cookie, Some(&form))).await
}

#[tokio::test]
async fn only_administrators_reach_the_editors() {
    let (_tmp, st) = copied();
    let gets = ["/editors", "/editors/checks", FILE];
    // Not signed in: sent to sign in (or refused), never shown.
    for url in gets {
        let r = call(&st, browser("GET", url, ADDR, "", None)).await;
        assert!(
            matches!(r.status.as_u16(), 303 | 401 | 403),
            "{url}: {}",
            r.status
        );
        assert!(!r.text().contains("editor-text"), "{url}");
    }
    for who in ["vera", "oscar"] {
        let (cookie, csrf) = sign_in(&st, who, ADDR).await;
        for url in gets {
            let r = call(&st, browser("GET", url, ADDR, &cookie, None)).await;
            assert_eq!(r.status, 403, "{who} {url}");
        }
        let before = std::fs::read_to_string(_tmp.path().join("checks/checks.yaml")).unwrap();
        let r = post(&st, &cookie, &csrf, "save", "checks: []\n", "x").await;
        assert_eq!(r.status, 403, "{who} save");
        let after = std::fs::read_to_string(_tmp.path().join("checks/checks.yaml")).unwrap();
        assert_eq!(before, after, "{who} wrote");
        // The sidebar offers no editors to them.
        let page = call(&st, browser("GET", "/alerts", ADDR, &cookie, None)).await;
        assert!(!page.text().contains("href=\"/editors\""), "{who}");
    }
    let (cookie, _) = sign_in(&st, "ada", ADDR).await;
    let page = call(&st, browser("GET", "/alerts", ADDR, &cookie, None)).await;
    assert!(page.text().contains("href=\"/editors\""));
    // A POST without the CSRF token is refused by the gate, even for an administrator.
    let form = format!("etag=x&action=save&text={}", enc("checks: []\n"));
    let r = call(&st, browser("POST", FILE, ADDR, &cookie, Some(&form))).await;
    assert_eq!(r.status, 403);
}

#[tokio::test]
async fn an_administrator_browses_the_kinds_the_checks_and_a_file_with_line_numbers() {
    let (_tmp, st) = copied();
    let (cookie, _) = sign_in(&st, "ada", ADDR).await;
    let r = call(&st, browser("GET", "/editors", ADDR, &cookie, None)).await;
    assert_eq!(r.status, 200);
    let page = r.text();
    for kind in [
        "Settings (app.yaml)",
        "Topology",
        "Templates",
        "Checks",
        "Metrics",
    ] {
        assert!(page.contains(&format!("<h2>{kind} ")), "{kind}: {page}");
    }
    has(&page, &format!("href=\"{FILE}\""));
    assert!(page.contains("checks.yaml"));

    let r = call(&st, browser("GET", "/editors/checks", ADDR, &cookie, None)).await;
    assert_eq!(r.status, 200);
    let page = r.text();
    // Grouped by kind; each check links to the line of its id.
    for kind in ["core", "server", "ipmi"] {
        assert!(page.contains(&format!("<h2>{kind} ")), "{kind}: {page}");
    }
    has(&page, &format!("href=\"{FILE}#L2\""));
    has(&page, &format!("href=\"{FILE}#L10\""));

    let r = call(&st, browser("GET", FILE, ADDR, &cookie, None)).await;
    assert_eq!(r.status, 200);
    let page = r.text();
    let text = std::fs::read_to_string(_tmp.path().join("checks/checks.yaml")).unwrap();
    let lines = text.split('\n').count();
    assert!(page.contains("<pre class=\"gutter\""), "{page}");
    assert!(page.contains("<span id=\"L1\">1</span>"), "{page}");
    assert!(page.contains(&format!("<span id=\"L{lines}\">{lines}</span>")));
    assert!(!page.contains(&format!("id=\"L{}\"", lines + 1)));
    assert!(page.contains("name=\"text\""));
    assert!(page.contains("spellcheck=\"false\""));
    assert!(page.contains("wrap=\"off\""));
    assert!(page.contains("value=\"validate\""));
    assert!(page.contains("value=\"save\""));
    has(&page, "up{job=~\"$jobs\",instance=~\"$instances\"}");
    // A tester form per check, posting the expression as it is in the text.
    assert!(page.contains("action=\"/checks#test\""), "{page}");
    assert!(page.contains("name=\"test\" value=\"node_up\""), "{page}");
    assert!(page.contains("name=\"instances\""), "{page}");

    // Unknown kinds and files are 404 pages.
    let r = call(
        &st,
        browser("GET", "/editors/nope/x.yaml", ADDR, &cookie, None),
    )
    .await;
    assert_eq!(r.status, 404);
    let r = call(
        &st,
        browser("GET", "/editors/checks/nope.yaml", ADDR, &cookie, None),
    )
    .await;
    assert_eq!(r.status, 404);
}

#[tokio::test]
async fn validate_shows_problems_at_their_line_and_writes_nothing() {
    let (tmp, st) = copied();
    let path = tmp.path().join("checks/checks.yaml");
    let good = std::fs::read_to_string(&path).unwrap();
    let (cookie, csrf) = sign_in(&st, "ada", ADDR).await;
    let page = call(&st, browser("GET", FILE, ADDR, &cookie, None))
        .await
        .text();
    let etag = etag_of(&page);
    // Line 17 loses its closing brace.
    let broken = good.replace(
        "  - {op: '>', value: 45, severity: CRIT}",
        "  - {op: '>', value: 45, severity: CRIT",
    );
    assert_ne!(broken, good);
    let r = post(&st, &cookie, &csrf, "validate", &broken, &etag).await;
    assert_eq!(r.status, 200);
    let page = r.text();
    let marked =
        regex::Regex::new(r#"<span id="L(\d+)" class="mark-error" title="[^"]+">"#).unwrap();
    let line: usize = marked
        .captures(&page)
        .unwrap_or_else(|| panic!("no marked line in {page}"))[1]
        .parse()
        .unwrap();
    assert!((16..=19).contains(&line), "marked line {line}");
    assert!(
        page.contains(&format!("<a href=\"#L{line}\">{line}:")),
        "{page}"
    );
    // The text as submitted, not the file's.
    has(&page, "severity: CRIT\n");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), good);
    // Saving it is refused too (422), the text kept, nothing written.
    let r = post(&st, &cookie, &csrf, "save", &broken, &etag).await;
    assert_eq!(r.status, 422);
    assert!(r.text().contains("mark-error"));
    assert_eq!(std::fs::read_to_string(&path).unwrap(), good);
    assert_eq!(st.reload.status().generation, 0);
    // A good text validates clean.
    let r = post(&st, &cookie, &csrf, "validate", &good, &etag).await;
    assert_eq!(r.status, 200);
    assert!(r.text().contains("No problems"));
}

#[tokio::test]
async fn save_writes_reloads_and_a_stale_version_is_a_conflict_that_keeps_the_text() {
    let (tmp, st) = copied();
    let path = tmp.path().join("checks/checks.yaml");
    let good = std::fs::read_to_string(&path).unwrap();
    let (cookie, csrf) = sign_in(&st, "ada", ADDR).await;
    let page = call(&st, browser("GET", FILE, ADDR, &cookie, None))
        .await
        .text();
    let etag = etag_of(&page);
    // Browsers send CRLF line breaks; the file stays LF.
    let edited = good.replace("value: 45, severity: CRIT", "value: 50, severity: CRIT");
    let r = post(
        &st,
        &cookie,
        &csrf,
        "save",
        &edited.replace('\n', "\r\n"),
        &etag,
    )
    .await;
    assert_eq!(r.status, 303, "{}", r.text());
    let to = r.headers["location"].to_str().unwrap().to_owned();
    assert_eq!(to, format!("{FILE}?saved=1"));
    assert_eq!(std::fs::read_to_string(&path).unwrap(), edited);
    let s = st.reload.status();
    assert!(s.ok, "{:?}", s.errors);
    assert_eq!(s.generation, 1);
    assert_eq!(s.trigger, "editor");
    let check = st.engine.config();
    let rule = check.checks.get("node_temperature").unwrap().def.rules[0]
        .value
        .value
        .as_number();
    assert_eq!(rule, Some(50.0));
    let page = call(&st, browser("GET", &to, ADDR, &cookie, None))
        .await
        .text();
    assert!(
        page.contains("Saved; the configuration reloaded (generation 1)."),
        "{page}"
    );

    // The old version's tag is stale now: a conflict, the user's text kept, nothing written.
    let mine = edited.replace("value: 50, severity: CRIT", "value: 55, severity: CRIT");
    let r = post(&st, &cookie, &csrf, "save", &mine, &etag).await;
    assert_eq!(r.status, 409);
    let page = r.text();
    assert!(page.contains("class=\"diff\""), "{page}");
    assert!(page.contains("value: 55, severity: CRIT"), "{page}");
    assert!(page.contains("The file changed since you opened it"));
    assert_eq!(std::fs::read_to_string(&path).unwrap(), edited);
    // The form now carries the current version: saving again is a deliberate overwrite.
    let current = etag_of(&page);
    assert_ne!(current, etag);
    let r = post(&st, &cookie, &csrf, "save", &mine, &current).await;
    assert_eq!(r.status, 303, "{}", r.text());
    assert_eq!(std::fs::read_to_string(&path).unwrap(), mine);
}

/// The settings form: a changed value is written in place (the comments and every other
/// line stay), checked first and reloaded; a value the configuration refuses is not
/// written; the connection test reaches a Prometheus or says why not.
#[tokio::test]
async fn the_settings_form_edits_app_yaml_in_place_and_refuses_what_would_not_load() {
    let (tmp, st) = copied();
    let (cookie, csrf) = sign_in(&st, "ada", ADDR).await;
    let page = call(
        &st,
        browser("GET", "/editors/settings", ADDR, &cookie, None),
    )
    .await
    .text();
    assert!(page.contains("name=\"prometheus_url\""), "{page}");
    let etag = enc(&etag_of(&page));
    let app = tmp.path().join("app.yaml");
    let before = std::fs::read_to_string(&app).unwrap();
    let form = |ttl: &str, etag: &str| {
        format!(
            "csrf={csrf}&etag={etag}&action=save&app_name=Health+fixture&prometheus_url={}&prometheus_timeout_seconds=5&cache_ttl_seconds={ttl}&max_ids_per_query=3&room_state_seconds=30&query_tester=on",
            enc("http://127.0.0.1:9090")
        )
    };
    // Out of range: refused with the reason, nothing written.
    let r = call(
        &st,
        browser(
            "POST",
            "/editors/settings",
            ADDR,
            &cookie,
            Some(&form("0", &etag)),
        ),
    )
    .await;
    assert_eq!(r.status, 422, "{}", r.text());
    assert!(r.text().contains("cache_ttl_seconds"), "{}", r.text());
    assert_eq!(std::fs::read_to_string(&app).unwrap(), before);
    // In range: only that line changes, and the reload applies it.
    let r = call(
        &st,
        browser(
            "POST",
            "/editors/settings",
            ADDR,
            &cookie,
            Some(&form("7", &etag)),
        ),
    )
    .await;
    assert_eq!(r.status, 303, "{}", r.text());
    let after = std::fs::read_to_string(&app).unwrap();
    assert_eq!(
        after,
        before.replace("cache_ttl_seconds: 5", "cache_ttl_seconds: 7")
    );
    assert_eq!(st.engine.config().app.planner.cache_ttl_seconds, 7);
    // The connection test: nothing listens there.
    let probe = format!(
        "csrf={csrf}&action=test&prometheus_url={}",
        enc("http://127.0.0.1:9")
    );
    let r = call(
        &st,
        browser("POST", "/editors/settings", ADDR, &cookie, Some(&probe)),
    )
    .await;
    assert_eq!(r.status, 200);
    assert!(
        r.text().contains("No answer from http://127.0.0.1:9: ")
            && r.text().contains("unreachable"),
        "{}",
        r.text()
    );
}

/// A file far larger than any other form of the UI (here 2 MiB of comments) saves from the
/// browser: the CSRF check reads the editor's form within the editor's own limit.
#[tokio::test]
async fn a_large_file_saves_from_the_browser_form() {
    let (tmp, st) = copied();
    let path = tmp.path().join("checks/checks.yaml");
    let good = std::fs::read_to_string(&path).unwrap();
    let (cookie, csrf) = sign_in(&st, "ada", ADDR).await;
    let page = call(&st, browser("GET", FILE, ADDR, &cookie, None))
        .await
        .text();
    let etag = etag_of(&page);
    let large = format!(
        "{good}{}",
        "# a long note kept with the checks\n".repeat(60_000)
    );
    assert!(large.len() > 2_000_000);
    let r = post(&st, &cookie, &csrf, "save", &large, &etag).await;
    assert_eq!(r.status, 303, "{}", &r.text()[..r.text().len().min(2000)]);
    assert_eq!(std::fs::read_to_string(&path).unwrap(), large);
}

/// The imported fixture's template, as the netbox importer writes it.
const IMPORTED: &str = "/editors/templates/devices/netbox/edge-switch.yaml";

#[tokio::test]
async fn a_file_an_importer_generated_says_so_and_what_a_reimport_does_to_edits() {
    let (tmp, st) = copied_over(&["imported"]);
    let path = tmp.path().join("templates/devices/netbox/edge-switch.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    // The fixture's mark is the one the importer writes.
    let mark = rackscope::import::layout::header("netbox", "NetBox at https://netbox.example.com");
    assert!(text.starts_with(&mark), "{text}");
    assert!(
        st.engine
            .config()
            .catalog
            .devices
            .get("nb-edge-switch")
            .is_some()
    );
    let (cookie, csrf) = sign_in(&st, "ada", ADDR).await;
    let r = call(&st, browser("GET", IMPORTED, ADDR, &cookie, None)).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let page = r.text();
    assert!(page.contains("id=\"generated\""), "{page}");
    assert!(
        page.contains("Generated by <code>rackscope import netbox</code>"),
        "{page}"
    );
    has(&page, " from NetBox at https://netbox.example.com.");
    // A template: its one-line checks and metrics survive, nothing else does.
    has(
        &page,
        "keeping only the one-line checks: and metrics: entries",
    );
    has(&page, "delete the first two lines (the mark)");
    // Editing stays allowed: the form is live, and a save writes (the mark kept).
    assert!(!page.contains("<fieldset disabled"), "{page}");
    let edited = text.replace("name: Edge switch", "name: Edge switch (row A)");
    let r = post_to(
        &st,
        IMPORTED,
        &cookie,
        &csrf,
        "save",
        &edited,
        &etag_of(&page),
    )
    .await;
    assert_eq!(r.status, 303, "{}", r.text());
    assert_eq!(std::fs::read_to_string(&path).unwrap(), edited);
    // The notice follows the text in the form: without the mark, the file is the user's.
    let page = call(&st, browser("GET", IMPORTED, ADDR, &cookie, None))
        .await
        .text();
    let unmarked: String = edited.lines().skip(2).map(|l| format!("{l}\n")).collect();
    let r = post_to(
        &st,
        IMPORTED,
        &cookie,
        &csrf,
        "validate",
        &unmarked,
        &etag_of(&page),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(!r.text().contains("id=\"generated\""), "{}", r.text());
    // Files without the mark say nothing of importers.
    let page = call(&st, browser("GET", FILE, ADDR, &cookie, None))
        .await
        .text();
    assert!(!page.contains("id=\"generated\""), "{page}");
    // A marked file where the importer never writes (this fixture's one-file topology):
    // an import leaves it alone, and the page says that instead.
    let topo = tmp.path().join("topology.yaml");
    let marked = format!("{mark}{}", std::fs::read_to_string(&topo).unwrap());
    std::fs::write(&topo, marked).unwrap();
    let page = call(
        &st,
        browser(
            "GET",
            "/editors/topology/topology.yaml",
            ADDR,
            &cookie,
            None,
        ),
    )
    .await
    .text();
    assert!(page.contains("id=\"generated\""), "{page}");
    has(&page, "neither rewrites nor removes it");
    assert!(!page.contains("delete the first two lines"), "{page}");
}

#[tokio::test]
async fn a_yaml_file_loads_the_highlighter_served_from_the_binary_and_no_other_page_does() {
    let (_tmp, st) = copied();
    let (cookie, _) = sign_in(&st, "ada", ADDR).await;
    let page = call(&st, browser("GET", FILE, ADDR, &cookie, None))
        .await
        .text();
    let v = &st.ui.version;
    let prism = format!("<script src=\"/static/prism.js?v={v}\" data-manual defer></script>");
    let ours = format!("<script src=\"/static/rackscope.js?v={v}\" defer></script>");
    let (at, then) = (page.find(&prism), page.find(&ours));
    assert!(
        at.is_some() && then.is_some() && at < then,
        "Prism must load, before rackscope.js: {page}"
    );
    // Without JavaScript the page is the plain text area and its gutter: the highlight
    // layer is the script's.
    assert!(!page.contains("editor-hl"), "{page}");
    for other in ["/alerts", "/editors", "/editors/checks"] {
        let page = call(&st, browser("GET", other, ADDR, &cookie, None))
            .await
            .text();
        assert!(page.contains(&ours), "{other}: {page}");
        assert!(!page.contains("prism.js"), "{other}: {page}");
    }
    // The vendored files as they were fetched, core then the YAML grammar.
    let r = call(
        &st,
        browser("GET", &format!("/static/prism.js?v={v}"), ADDR, "", None),
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.headers[axum::http::header::CONTENT_TYPE],
        "text/javascript; charset=utf-8"
    );
    assert_eq!(
        r.headers[axum::http::header::CACHE_CONTROL],
        "public, max-age=86400"
    );
    let core = include_str!("../../templates/static/vendor/prism/prism-core.min.js");
    let yaml = include_str!("../../templates/static/vendor/prism/prism-yaml.min.js");
    assert_eq!(r.text(), format!("{core}\n{yaml}\n"));
    assert!(yaml.contains("languages.yaml="), "not Prism's YAML grammar");
}
