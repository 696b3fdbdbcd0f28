//! Editing the configuration over the API (issue #18): a save changes only what was
//! edited and is applied by a reload; a save that would not load, or that starts from a
//! text changed since, writes nothing; names outside a kind's files are refused; only
//! admins edit, and with sign-in off only on loopback or with `editors.enabled`; with
//! `editors.git_commit` each save is one commit by its user; a file an importer generated
//! names it.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode, header};
use rackscope::editing::{self, Kind};
use rackscope::server::AppState;
use rackscope_core::access::Access;
use rackscope_core::telemetry::Engine;
use rackscope_core::testkit::Table;

use crate::support::auth::{PASSWORD, access, script};
use crate::support::fixture::world;
use crate::support::git;
use crate::support::router::{Reply, call};

const CHECKS: &str = "/api/files/checks/checks.yaml";

/// The health fixture copied to a temporary directory and served from there, with
/// `access` and app.yaml's settings changed by `tune`.
fn copied_with(
    access: Option<Access>,
    tune: impl FnOnce(&mut rackscope_core::model::app::AppConfig),
) -> (tempfile::TempDir, AppState) {
    copied_over(&[], access, tune)
}

/// `copied_with`, the fixture directories `over` (under `tests/fixtures/`) copied over the
/// health fixture first.
fn copied_over(
    over: &[&str],
    access: Option<Access>,
    tune: impl FnOnce(&mut rackscope_core::model::app::AppConfig),
) -> (tempfile::TempDir, AppState) {
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
    if let Some(a) = access {
        config.access = a;
    }
    tune(&mut config.app);
    let engine = Arc::new(Engine::new(Arc::new(config), Arc::new(Table::new(world()))));
    (tmp, AppState::new(engine).unwrap())
}

fn copied() -> (tempfile::TempDir, AppState) {
    copied_with(None, |_| {})
}

fn threshold(st: &AppState) -> f64 {
    let config = st.engine.config();
    let check = config.checks.get("node_temperature").unwrap();
    check.def.rules[0].value.value.as_number().unwrap()
}

/// A script's request from loopback, with an optional `If-Match`, bearer token and body.
fn request(
    method: &str,
    uri: &str,
    if_match: Option<&str>,
    bearer: Option<&str>,
    json: Option<String>,
) -> Request<Body> {
    let mut b = Request::builder().method(method).uri(uri);
    if let Some(m) = if_match {
        b = b.header(header::IF_MATCH, m);
    }
    if let Some(t) = bearer {
        b = b.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    let body = match json {
        Some(j) => {
            b = b.header(header::CONTENT_TYPE, "application/json");
            Body::from(j)
        }
        None => Body::empty(),
    };
    let mut req = b.body(body).unwrap();
    let peer: SocketAddr = "127.0.0.1:40000".parse().unwrap();
    req.extensions_mut().insert(ConnectInfo(peer));
    req
}

fn text_body(text: &str) -> Option<String> {
    Some(serde_json::json!({ "text": text }).to_string())
}

async fn open(st: &AppState, uri: &str, bearer: Option<&str>) -> Reply {
    call(st, request("GET", uri, None, bearer, None)).await
}

async fn put(st: &AppState, uri: &str, if_match: Option<&str>, text: &str) -> Reply {
    call(st, request("PUT", uri, if_match, None, text_body(text))).await
}

#[tokio::test]
async fn a_save_changes_only_the_edited_line_and_the_reload_applies_it() {
    let (tmp, st) = copied();
    let list = open(&st, "/api/files/checks", None).await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.text());
    assert_eq!(list.json()["files"], serde_json::json!(["checks.yaml"]));
    let app = open(&st, "/api/files/app", None).await.json();
    assert_eq!(app["files"], serde_json::json!(["app.yaml"]));

    let r = open(&st, CHECKS, None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let j = r.json();
    let etag = j["etag"].as_str().unwrap().to_owned();
    assert_eq!(r.headers[header::ETAG], etag.as_str());
    let before = j["text"].as_str().unwrap().to_owned();
    let path = tmp.path().join("checks/checks.yaml");
    assert_eq!(before, std::fs::read_to_string(&path).unwrap());

    let edited = before.replace("value: 45, severity: CRIT", "value: 50, severity: CRIT");
    let r = put(&st, CHECKS, Some(&etag), &edited).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let j = r.json();
    assert_eq!(j["etag"], editing::etag(&edited));
    assert_eq!(r.headers[header::ETAG], editing::etag(&edited).as_str());
    assert_eq!(j["reload"]["ok"], true, "{j}");
    assert_eq!(j["reload"]["trigger"], "editor");
    assert_eq!(threshold(&st), 50.0);

    // Every byte outside the edited line as it was: comments, order, quoting, the end.
    let after = std::fs::read_to_string(&path).unwrap();
    assert_eq!(after, edited);
    let (b, a): (Vec<&str>, Vec<&str>) =
        (before.split('\n').collect(), after.split('\n').collect());
    assert_eq!(b.len(), a.len());
    let differing: Vec<usize> = (0..b.len()).filter(|&i| b[i] != a[i]).collect();
    assert_eq!(differing, vec![16], "only line 17 changed");
    // No temporary file left behind; the lock is hidden, so neither loaded nor watched.
    let names: Vec<String> = std::fs::read_dir(tmp.path().join("checks"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().all(|n| !n.ends_with(".tmp")), "{names:?}");

    // The new etag is what the next save starts from.
    let again = edited.replace("value: 50, severity: CRIT", "value: 52, severity: CRIT");
    let r = put(&st, CHECKS, Some(&editing::etag(&edited)), &again).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(threshold(&st), 52.0);
}

#[tokio::test]
async fn an_invalid_edit_is_refused_where_it_is_wrong_and_writes_nothing() {
    let (tmp, st) = copied();
    let path = tmp.path().join("checks/checks.yaml");
    let before = std::fs::read(&path).unwrap();
    let text = String::from_utf8(before.clone()).unwrap();
    let etag = editing::etag(&text);
    // An unknown severity on line 17 (`SEVERE`): the file parses, the configuration does not load.
    let broken = text.replace("value: 45, severity: CRIT}", "value: 45, severity: SEVERE}");
    let r = put(&st, CHECKS, Some(&etag), &broken).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    let j = r.json();
    assert!(
        j["detail"].as_str().unwrap().contains("would not load"),
        "{j}"
    );
    let p = &j["problems"][0];
    assert!(
        p["file"].as_str().unwrap().ends_with("checks/checks.yaml"),
        "{j}"
    );
    assert_eq!(p["line"], 17, "{j}");
    assert_eq!(p["level"], "error");
    assert_eq!(std::fs::read(&path).unwrap(), before, "byte-identical");
    assert_eq!(threshold(&st), 45.0);

    // A syntax error too, at its line.
    let broken = text.replace(
        "  - {op: '>', value: 45, severity: CRIT}",
        "  - {op: '>', value: 45, severity: CRIT",
    );
    let r = put(&st, CHECKS, Some(&etag), &broken).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    let line = r.json()["problems"][0]["line"].as_u64().unwrap();
    assert!((17..=19).contains(&line), "{}", r.text());
    assert_eq!(std::fs::read(&path).unwrap(), before, "byte-identical");

    // The same verdicts from the validation endpoint, which never writes.
    let body = serde_json::json!({"kind": "checks", "name": "checks.yaml", "text": broken});
    let r = call(
        &st,
        request(
            "POST",
            "/api/config/validate",
            None,
            None,
            Some(body.to_string()),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["ok"], false);
    assert!(
        r.json()["problems"][0]["file"]
            .as_str()
            .unwrap()
            .ends_with("checks.yaml")
    );
    let body = serde_json::json!({"kind": "checks", "name": "checks.yaml", "text": text});
    let r = call(
        &st,
        request(
            "POST",
            "/api/config/validate",
            None,
            None,
            Some(body.to_string()),
        ),
    )
    .await;
    assert_eq!(r.json()["ok"], true, "{}", r.text());
    assert_eq!(std::fs::read(&path).unwrap(), before);
}

#[tokio::test]
async fn a_stale_save_is_refused_with_a_diff_and_a_save_without_if_match_is_428() {
    let (tmp, st) = copied();
    let path = tmp.path().join("checks/checks.yaml");
    let opened = open(&st, CHECKS, None).await.json();
    let etag = opened["etag"].as_str().unwrap().to_owned();
    let text = opened["text"].as_str().unwrap().to_owned();
    // Someone else edits the file meanwhile (a `git pull`, another browser).
    let theirs = text.replace("value: 38, severity: WARN", "value: 39, severity: WARN");
    std::fs::write(&path, &theirs).unwrap();
    let mine = text.replace("value: 45, severity: CRIT", "value: 50, severity: CRIT");
    let r = put(&st, CHECKS, Some(&etag), &mine).await;
    assert_eq!(r.status, StatusCode::PRECONDITION_FAILED, "{}", r.text());
    let j = r.json();
    assert_eq!(j["current_etag"], editing::etag(&theirs));
    let diff = j["diff"].as_str().unwrap();
    for want in [
        "-  - {op: '>', value: 39, severity: WARN}",
        "+  - {op: '>', value: 38, severity: WARN}",
        "-  - {op: '>', value: 45, severity: CRIT}",
        "+  - {op: '>', value: 50, severity: CRIT}",
        "@@ -",
    ] {
        assert!(diff.contains(want), "{want} not in\n{diff}");
    }
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        theirs,
        "nothing written"
    );

    let r = put(&st, CHECKS, None, &mine).await;
    assert_eq!(r.status, StatusCode::PRECONDITION_REQUIRED, "{}", r.text());
    assert!(r.json()["detail"].as_str().unwrap().contains("If-Match"));
    assert_eq!(std::fs::read_to_string(&path).unwrap(), theirs);
}

#[tokio::test]
async fn names_outside_a_kinds_files_are_refused() {
    let (tmp, st) = copied();
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("secret.yaml"), "checks: []\n").unwrap();
    std::os::unix::fs::symlink(
        outside.path().join("secret.yaml"),
        tmp.path().join("checks/escape.yaml"),
    )
    .unwrap();
    std::fs::write(tmp.path().join("checks/notes.txt"), "hello\n").unwrap();
    std::fs::write(tmp.path().join("checks/.hidden.yaml"), "checks: []\n").unwrap();
    for uri in [
        "/api/files/checks/..%2Fapp.yaml",
        "/api/files/checks/sub/..%2F..%2Fapp.yaml",
        "/api/files/checks/%2Fetc%2Fpasswd.yaml",
        "/api/files/checks/notes.txt",
        "/api/files/checks/escape.yaml",
        "/api/files/checks/.hidden.yaml",
        "/api/files/templates/..%2Fchecks%2Fchecks.yaml",
    ] {
        let r = open(&st, uri, None).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "GET {uri}: {}", r.text());
        let r = put(&st, uri, Some("\"x\""), "checks: []\n").await;
        assert!(
            r.status == StatusCode::BAD_REQUEST,
            "PUT {uri}: {} {}",
            r.status,
            r.text()
        );
    }
    assert_eq!(
        std::fs::read_to_string(outside.path().join("secret.yaml")).unwrap(),
        "checks: []\n"
    );
    // Not listed either; an unknown file or kind is a 404; a new file is not created.
    let files = open(&st, "/api/files/checks", None).await.json();
    assert_eq!(files["files"], serde_json::json!(["checks.yaml"]));
    assert_eq!(
        open(&st, "/api/files/checks/new.yaml", None).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        open(&st, "/api/files/users", None).await.status,
        StatusCode::NOT_FOUND
    );
    let r = put(
        &st,
        "/api/files/checks/new.yaml",
        Some("\"x\""),
        "checks: []\n",
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(!tmp.path().join("checks/new.yaml").exists());
    // The library refuses what a URL cannot carry too.
    let config = st.engine.config();
    for name in ["/etc/passwd.yaml", "", "a\\b.yaml", "./checks.yaml"] {
        assert!(
            matches!(
                editing::open(&config, Kind::Checks, name),
                Err(editing::EditingError::BadName(_))
            ),
            "{name:?}"
        );
    }
    assert!(editing::open(&config, Kind::Checks, "checks.yaml").is_ok());
    assert!(editing::open(&config, Kind::App, "app.yaml").is_ok());
    assert!(editing::open(&config, Kind::Topology, "topology.yaml").is_ok());
}

#[tokio::test]
async fn with_sign_in_only_an_admin_edits() {
    let (tmp, st) = copied_with(Some(access()), |_| {});
    let mut tokens = std::collections::HashMap::new();
    for name in ["ada", "oscar", "vera"] {
        let body = format!(r#"{{"username":"{name}","password":"{PASSWORD}"}}"#);
        let r = call(
            &st,
            script("POST", "/api/auth/login", "127.0.0.1", None, Some(&body)),
        )
        .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        tokens.insert(name, r.json()["access_token"].as_str().unwrap().to_owned());
    }
    let path = tmp.path().join("checks/checks.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    let etag = editing::etag(&text);
    let edited = text.replace("value: 45, severity: CRIT", "value: 50, severity: CRIT");
    // Nobody signed in: 401; viewer and operator: 403, for reading too (app.yaml holds
    // secrets); the file untouched.
    assert_eq!(
        open(&st, CHECKS, None).await.status,
        StatusCode::UNAUTHORIZED
    );
    for name in ["vera", "oscar"] {
        let t = Some(tokens[name].as_str());
        assert_eq!(
            open(&st, CHECKS, t).await.status,
            StatusCode::FORBIDDEN,
            "{name}"
        );
        let r = call(
            &st,
            request("PUT", CHECKS, Some(&etag), t, text_body(&edited)),
        )
        .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{name}: {}", r.text());
    }
    assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
    let t = Some(tokens["ada"].as_str());
    assert_eq!(open(&st, CHECKS, t).await.status, StatusCode::OK);
    let r = call(
        &st,
        request("PUT", CHECKS, Some(&etag), t, text_body(&edited)),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(std::fs::read_to_string(&path).unwrap(), edited);
    // Even off loopback: sign-in is the gate then.
    st.local_only.store(false, Ordering::Relaxed);
    assert_eq!(open(&st, CHECKS, t).await.status, StatusCode::OK);
}

#[tokio::test]
async fn with_sign_in_off_editing_needs_loopback_or_editors_enabled() {
    let (tmp, st) = copied();
    st.local_only.store(false, Ordering::Relaxed);
    let path = tmp.path().join("checks/checks.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    let edited = text.replace("value: 45, severity: CRIT", "value: 50, severity: CRIT");
    let r = put(&st, CHECKS, Some(&editing::etag(&text)), &edited).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text());
    let why = r.json()["detail"].as_str().unwrap().to_owned();
    assert!(
        why.contains("loopback") && why.contains("editors.enabled: true"),
        "{why}"
    );
    assert_eq!(
        open(&st, "/api/files/app/app.yaml", None).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(std::fs::read_to_string(&path).unwrap(), text);

    let (tmp, st) = copied_with(None, |app| app.editors.enabled = true);
    st.local_only.store(false, Ordering::Relaxed);
    let path = tmp.path().join("checks/checks.yaml");
    let r = put(&st, CHECKS, Some(&editing::etag(&text)), &edited).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(std::fs::read_to_string(&path).unwrap(), edited);
}

/// A file an importer wrote names it in `generated_by` (and the OpenAPI document declares
/// the field); it still saves like any other; other files have `null` there.
#[tokio::test]
async fn an_imported_file_names_its_importer_and_still_saves() {
    let (tmp, st) = copied_over(&["imported"], None, |_| {});
    let uri = "/api/files/templates/devices/netbox/edge-switch.yaml";
    let r = open(&st, uri, None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let j = r.json();
    assert_eq!(j["generated_by"], "netbox", "{j}");
    let text = j["text"].as_str().unwrap().to_owned();
    let edited = text.replace("u_height: 1", "u_height: 2");
    assert_ne!(edited, text);
    let r = put(&st, uri, j["etag"].as_str(), &edited).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let path = tmp.path().join("templates/devices/netbox/edge-switch.yaml");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), edited);
    // Once saved without its mark, the file is the user's.
    let r = open(&st, uri, None).await.json();
    let unmarked: String = edited.lines().skip(2).map(|l| format!("{l}\n")).collect();
    let r = put(&st, uri, r["etag"].as_str(), &unmarked).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(
        open(&st, uri, None).await.json()["generated_by"],
        serde_json::Value::Null
    );

    let j = open(&st, CHECKS, None).await.json();
    assert!(j["generated_by"].is_null(), "{j}");
    let doc = open(&st, "/api/openapi.json", None).await.json();
    let field = &doc["components"]["schemas"]["FileText"]["properties"]["generated_by"];
    assert!(
        field["description"]
            .as_str()
            .is_some_and(|d| d.contains("rackscope import")),
        "{field}"
    );
}

#[tokio::test]
async fn with_git_commit_each_save_is_one_commit_by_its_user() {
    let (tmp, st) = copied_with(Some(access()), |app| app.editors.git_commit = true);
    git(tmp.path(), &["init", "-q"]);
    git(tmp.path(), &["add", "-A"]);
    git(tmp.path(), &["commit", "-q", "-m", "initial"]);
    // Something else staged must not ride along with the editor's commit.
    std::fs::write(tmp.path().join("other.yaml"), "x: 1\n").unwrap();
    git(tmp.path(), &["add", "other.yaml"]);

    let body = format!(r#"{{"username":"ada","password":"{PASSWORD}"}}"#);
    let r = call(
        &st,
        script("POST", "/api/auth/login", "127.0.0.1", None, Some(&body)),
    )
    .await;
    let token = r.json()["access_token"].as_str().unwrap().to_owned();
    let path = tmp.path().join("checks/checks.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    let edited = text.replace("value: 45, severity: CRIT", "value: 50, severity: CRIT");
    let r = call(
        &st,
        request(
            "PUT",
            CHECKS,
            Some(&editing::etag(&text)),
            Some(&token),
            text_body(&edited),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());

    let log = git(tmp.path(), &["log", "--format=%an <%ae>|%s"]);
    let lines: Vec<&str> = log.lines().collect();
    assert_eq!(lines.len(), 2, "{log}");
    assert_eq!(
        lines[0],
        "ada <ada@rackscope>|rackscope: ada edited checks/checks.yaml"
    );
    let files = git(tmp.path(), &["show", "--name-only", "--format=", "HEAD"]);
    assert_eq!(files.trim(), "checks/checks.yaml");
    assert_eq!(
        git(tmp.path(), &["show", "HEAD:checks/checks.yaml"]),
        edited
    );
    // The other change is still staged, not committed.
    assert_eq!(
        git(tmp.path(), &["diff", "--cached", "--name-only"]).trim(),
        "other.yaml"
    );
}

#[tokio::test]
async fn the_slurm_files_are_edited_like_the_others_and_a_bad_mapping_is_refused_at_its_line() {
    let tmp = tempfile::tempdir().unwrap();
    crate::support::copy_dir(
        &crate::support::root().join("tests/fixtures/health"),
        tmp.path(),
    );
    let app = tmp.path().join("app.yaml");
    let text = std::fs::read_to_string(&app).unwrap();
    std::fs::write(
        &app,
        format!("{text}plugins:\n  slurm:\n    enabled: true\n"),
    )
    .unwrap();
    std::fs::create_dir_all(tmp.path().join("plugins/slurm")).unwrap();
    let mapping = tmp.path().join("plugins/slurm/node_mapping.yaml");
    std::fs::write(&mapping, "mappings:\n- {node: 'x*', instance: 'n*'}\n").unwrap();
    let loaded = crate::support::load(&app);
    assert!(loaded.is_usable(), "{:#?}", loaded.diagnostics);
    let engine = Arc::new(Engine::new(
        Arc::new(loaded.config),
        Arc::new(Table::new(world())),
    ));
    let st = AppState::new(engine).unwrap();
    let uri = "/api/files/slurm/node_mapping.yaml";
    let list = open(&st, "/api/files/slurm", None).await.json();
    assert_eq!(list["files"], serde_json::json!(["node_mapping.yaml"]));
    let r = open(&st, uri, None).await.json();
    let etag = r["etag"].as_str().unwrap().to_owned();
    // A dict whose two sides differ in size: refused at its line, nothing written.
    let bad = "mapping:\n  'x[01-16]': 'n[01-15]'\n";
    let r = put(&st, uri, Some(&etag), bad).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    let p = &r.json()["problems"][0];
    assert_eq!(
        (p["line"].as_u64(), p["code"].as_str()),
        (Some(2), Some("slurm")),
        "{p}"
    );
    assert!(
        p["message"]
            .as_str()
            .unwrap()
            .contains("names 16 nodes but"),
        "{p}"
    );
    assert!(std::fs::read_to_string(&mapping).unwrap().contains("x*"));
    // A good one is written and in force at once.
    let good = "mapping:\n  'x[01-16]': 'n[01-16]'\n";
    let r = put(&st, uri, Some(&etag), good).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let m = open(&st, "/api/slurm/mapping", None).await.json();
    assert_eq!(m["entries"].as_array().unwrap().len(), 16);
    assert_eq!(
        m["entries"][4],
        serde_json::json!({"node": "x05", "instance": "n05"})
    );
}
