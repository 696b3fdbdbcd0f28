//! The topology forms (issue #18) through the router with sign-in on, over a temporary copy
//! of the health fixture: an administrator adds a device on the rack page (a minimal diff,
//! reloaded, shown); an overlap is refused with its message and nothing written; viewers
//! cannot post; the JSON API moves a device and removes a rack; a file changed between
//! planning and applying is a conflict; the room and site pages add and remove racks, add
//! aisles and rooms, in the single-file layout and in a split one (new files in new
//! directories, removed files); a free unit on the elevation fills the add form.

use std::sync::Arc;

use rackscope::server::AppState;
use rackscope_core::telemetry::Engine;
use rackscope_core::testkit::Table;

use crate::support::auth::{PASSWORD, access, browser, script, sign_in};
use crate::support::fixture::world;
use crate::support::git;
use crate::support::router::call;

const ADDR: &str = "192.0.2.7";

fn copied() -> (tempfile::TempDir, AppState) {
    copied_from("tests/fixtures/health")
}

fn copied_from(rel: &str) -> (tempfile::TempDir, AppState) {
    copied_with_app(rel, "")
}

/// A signed-in server over a temporary copy of the configuration at `rel`, with `extra`
/// appended to its app.yaml (on disk, so that it holds across the reload after a save).
fn copied_with_app(rel: &str, extra: &str) -> (tempfile::TempDir, AppState) {
    let tmp = tempfile::tempdir().unwrap();
    crate::support::copy_dir(&crate::support::root().join(rel), tmp.path());
    let app = tmp.path().join("app.yaml");
    let text = std::fs::read_to_string(&app).unwrap();
    std::fs::write(&app, format!("{text}{extra}")).unwrap();
    let loaded = crate::support::load(&tmp.path().join("app.yaml"));
    assert!(loaded.is_usable());
    let mut config = loaded.config;
    config.access = access();
    let engine = Arc::new(Engine::new(Arc::new(config), Arc::new(Table::new(world()))));
    (tmp, AppState::new(engine).unwrap())
}

/// The lines of `after` not in `before`, and of `before` not in `after`.
fn changed_lines(before: &str, after: &str) -> (Vec<String>, Vec<String>) {
    let b: Vec<&str> = before.lines().collect();
    let a: Vec<&str> = after.lines().collect();
    let added = a
        .iter()
        .filter(|l| !b.contains(l))
        .map(|l| l.to_string())
        .collect();
    let removed = b
        .iter()
        .filter(|l| !a.contains(l))
        .map(|l| l.to_string())
        .collect();
    (added, removed)
}

async fn token(st: &AppState, name: &str) -> String {
    let body = format!(r#"{{"username":"{name}","password":"{PASSWORD}"}}"#);
    let r = call(
        st,
        script("POST", "/api/auth/login", "127.0.0.1", None, Some(&body)),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()["access_token"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn an_admin_adds_a_device_on_the_rack_page() {
    let (tmp, st) = copied();
    let path = tmp.path().join("topology.yaml");
    let before = std::fs::read_to_string(&path).unwrap();
    let (cookie, csrf) = sign_in(&st, "ada", ADDR).await;
    let page = call(&st, browser("GET", "/views/rack/r02", ADDR, &cookie, None))
        .await
        .text();
    assert!(page.contains("<h2>Edit rack</h2>"), "{page}");
    assert!(page.contains("action=\"/views/rack/r02/edit\""), "{page}");
    assert!(page.contains("<option value=\"switch\""), "{page}");

    let form =
        format!("csrf={csrf}&op=add_device&id=sw-9&name=Switch+9&template=switch&u=20&face=front");
    let r = call(
        &st,
        browser("POST", "/views/rack/r02/edit", ADDR, &cookie, Some(&form)),
    )
    .await;
    assert_eq!(r.status, 303, "{}", r.text());
    let to = r.headers["location"].to_str().unwrap().to_owned();
    assert_eq!(to, "/views/rack/r02?edited=add_device");
    let after = std::fs::read_to_string(&path).unwrap();
    let (added, removed) = changed_lines(&before, &after);
    assert!(removed.is_empty(), "{removed:?}");
    // Only the new item's lines: its id, name, template, U and face.
    assert_eq!(added.len(), 5, "{added:?}");
    let item = added.join("\n");
    assert!(
        item.contains("- id: sw-9") && item.contains("u_position: 20"),
        "{item}"
    );
    assert_eq!(after.lines().count(), before.lines().count() + 5);
    let s = st.reload.status();
    assert!(s.ok, "{:?}", s.errors);
    assert_eq!(s.generation, 1);
    let config = st.engine.config();
    let r02 = config.topology.rack_ix("r02").unwrap();
    assert!(config.topology.device_ix_in_rack(r02, "sw-9").is_some());
    let page = call(&st, browser("GET", &to, ADDR, &cookie, None))
        .await
        .text();
    assert!(
        page.contains("Device added; the configuration reloaded (generation 1)."),
        "{page}"
    );
    assert!(page.contains("Switch 9"), "{page}");
}

#[tokio::test]
async fn an_overlap_is_refused_with_its_message_and_nothing_written() {
    let (tmp, st) = copied();
    let path = tmp.path().join("topology.yaml");
    let before = std::fs::read_to_string(&path).unwrap();
    let (cookie, csrf) = sign_in(&st, "ada", ADDR).await;
    // chassis-2 (a quad, 2U) is at U1–U2 of r02.
    let form = format!("csrf={csrf}&op=add_device&id=sw-9&template=switch&u=2&face=front");
    let r = call(
        &st,
        browser("POST", "/views/rack/r02/edit", ADDR, &cookie, Some(&form)),
    )
    .await;
    assert_eq!(r.status, 400);
    let page = r.text();
    assert!(page.contains("would overlap device"), "{page}");
    assert!(page.contains("chassis-2"), "{page}");
    // What was typed is kept.
    assert!(page.contains("value=\"sw-9\""), "{page}");
    // The rack template form still shows the rack's template, not "none": a Change
    // clicked next would otherwise remove it.
    let tpl = &page[page.find("<h3>Rack template</h3>").unwrap()..];
    assert!(
        tpl.contains("<option value=\"rack-pdu\" selected>"),
        "{tpl}"
    );
    assert_eq!(std::fs::read_to_string(&path).unwrap(), before);
    assert_eq!(st.reload.status().generation, 0);
    // A U that is not a number is the form's error too.
    let form = format!("csrf={csrf}&op=add_device&id=sw-9&template=switch&u=top");
    let r = call(
        &st,
        browser("POST", "/views/rack/r02/edit", ADDR, &cookie, Some(&form)),
    )
    .await;
    assert_eq!(r.status, 400);
    assert!(r.text().contains("whole number"));
}

#[tokio::test]
async fn viewers_and_operators_cannot_edit() {
    let (tmp, st) = copied();
    let path = tmp.path().join("topology.yaml");
    let before = std::fs::read_to_string(&path).unwrap();
    for who in ["vera", "oscar"] {
        let (cookie, csrf) = sign_in(&st, who, ADDR).await;
        let page = call(&st, browser("GET", "/views/rack/r02", ADDR, &cookie, None))
            .await
            .text();
        assert!(!page.contains("Edit rack"), "{who}");
        let form = format!("csrf={csrf}&op=add_device&id=sw-9&template=switch&u=20");
        let r = call(
            &st,
            browser("POST", "/views/rack/r02/edit", ADDR, &cookie, Some(&form)),
        )
        .await;
        assert!(
            matches!(r.status.as_u16(), 303 | 403),
            "{who}: {}",
            r.status
        );
        let t = token(&st, who).await;
        let r = call(
            &st,
            script(
                "POST",
                "/api/topology/edit",
                "127.0.0.1",
                Some(&t),
                Some(r#"{"op": "remove_rack", "rack": "r02"}"#),
            ),
        )
        .await;
        assert_eq!(r.status, 403, "{who}");
    }
    assert_eq!(std::fs::read_to_string(&path).unwrap(), before);
}

#[tokio::test]
async fn the_api_moves_a_device_between_racks_and_removes_a_rack() {
    let (tmp, st) = copied();
    let path = tmp.path().join("topology.yaml");
    let t = token(&st, "ada").await;
    let edit = |body: &'static str| {
        let st = st.clone();
        let t = t.clone();
        async move {
            call(
                &st,
                script(
                    "POST",
                    "/api/topology/edit",
                    "127.0.0.1",
                    Some(&t),
                    Some(body),
                ),
            )
            .await
        }
    };
    let r = edit(
        r#"{"op": "move_device", "rack": "r01", "device": "sw-1", "to_rack": "r02", "u": 30}"#,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    assert_eq!(v["changed"].as_array().unwrap().len(), 1, "{v}");
    assert_eq!(v["reload"]["ok"], true, "{v}");
    let config = st.engine.config();
    let topo = &config.topology;
    let r02 = topo.rack_ix("r02").unwrap();
    let d = topo.device_ix_in_rack(r02, "sw-1").unwrap();
    assert!(
        topo.device_ix_in_rack(topo.rack_ix("r01").unwrap(), "sw-1")
            .is_none()
    );
    assert_eq!(topo.devices[d].u_position, 30);

    let r = edit(r#"{"op": "remove_rack", "rack": "r03"}"#).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(st.engine.config().topology.rack_ix("r03").is_none());
    assert!(!std::fs::read_to_string(&path).unwrap().contains("id: r03"));

    // Refusals: an unknown rack is the operation's (400), a body without an op too.
    let r = edit(r#"{"op": "remove_rack", "rack": "nope"}"#).await;
    assert_eq!(r.status, 400);
    assert!(r.text().contains("nope"), "{}", r.text());
    let r = edit(r#"{"expr": "up"}"#).await;
    assert_eq!(r.status, 400);
}

#[tokio::test]
async fn a_file_changed_between_plan_and_apply_is_a_conflict() {
    let (tmp, st) = copied();
    let path = tmp.path().join("topology.yaml");
    let config = st.engine.config();
    let op = rackscope::topology_edit::Op::RemoveDevice {
        rack: "r01".into(),
        device: "sw-1".into(),
    };
    let changes = rackscope::topology_edit::plan(&config, &op).unwrap();
    assert_eq!(changes.len(), 1);
    let edited = std::fs::read_to_string(&path)
        .unwrap()
        .replace("name: Rack 02", "name: Rack Two");
    std::fs::write(&path, &edited).unwrap();
    let e = rackscope::editing::apply(&config, &changes, "ada").unwrap_err();
    assert!(
        matches!(e, rackscope::editing::EditingError::Conflict { .. }),
        "{e:?}"
    );
    assert_eq!(std::fs::read_to_string(&path).unwrap(), edited);
    // Applied to the file as planned, it writes.
    std::fs::write(&path, &changes[0].before).unwrap();
    let done = rackscope::editing::apply(&config, &changes, "ada").unwrap();
    assert_eq!(done, vec![changes[0].path.clone()]);
    assert_eq!(std::fs::read_to_string(&path).unwrap(), changes[0].after);
}

#[tokio::test]
async fn a_change_that_would_not_load_is_invalid_and_nothing_is_written() {
    let (tmp, st) = copied();
    let path = tmp.path().join("topology.yaml");
    let before = std::fs::read_to_string(&path).unwrap();
    let config = st.engine.config();
    let changes = vec![rackscope::topology_edit::Change {
        path: path.clone(),
        before: before.clone(),
        after: before.replace("template_id: switch", "template_id: nope"),
        delete: false,
    }];
    let e = rackscope::editing::apply(&config, &changes, "ada").unwrap_err();
    assert!(
        matches!(e, rackscope::editing::EditingError::Invalid(ref p) if !p.is_empty()),
        "{e:?}"
    );
    assert_eq!(std::fs::read_to_string(&path).unwrap(), before);
    // A new file that already exists is a conflict.
    let changes = vec![rackscope::topology_edit::Change {
        path: path.clone(),
        before: String::new(),
        after: "x: 1\n".into(),
        delete: false,
    }];
    let e = rackscope::editing::apply(&config, &changes, "ada").unwrap_err();
    assert!(
        matches!(e, rackscope::editing::EditingError::Conflict { .. }),
        "{e:?}"
    );
}

#[tokio::test]
async fn new_and_removed_files_are_validated_in_memory_and_nothing_is_written_when_invalid() {
    let (tmp, st) = copied();
    let config = st.engine.config();
    let apply = |changes: &[rackscope::topology_edit::Change]| {
        rackscope::editing::apply(&config, changes, "ada")
    };
    let change = |path: &std::path::Path, after: &str, delete: bool, before: &str| {
        rackscope::topology_edit::Change {
            path: path.to_path_buf(),
            before: before.into(),
            after: after.into(),
            delete,
        }
    };
    let listing = |dir: &std::path::Path| -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    };
    let templates_before = listing(&tmp.path().join("templates"));
    // A broken new file in a new directory: refused, so the walk of templates (recursive)
    // found it in a directory that does not exist; neither was ever made.
    let vendor = tmp.path().join("templates/vendor-x/extra.yaml");
    let e = apply(&[change(&vendor, "templates: [\n", false, "")]).unwrap_err();
    assert!(
        matches!(e, rackscope::editing::EditingError::Invalid(_)),
        "{e:?}"
    );
    assert_eq!(listing(&tmp.path().join("templates")), templates_before);
    assert!(!vendor.parent().unwrap().exists());
    // A good one is written, with its directory.
    apply(&[change(&vendor, "templates: []\n", false, "")]).unwrap();
    assert_eq!(std::fs::read_to_string(&vendor).unwrap(), "templates: []\n");
    // Removing a file the configuration needs is refused and leaves it as it was.
    let templates = tmp.path().join("templates/templates.yaml");
    let text = std::fs::read_to_string(&templates).unwrap();
    let e = apply(&[change(&templates, "", true, &text)]).unwrap_err();
    assert!(
        matches!(e, rackscope::editing::EditingError::Invalid(_)),
        "{e:?}"
    );
    assert_eq!(std::fs::read_to_string(&templates).unwrap(), text);
    // Removed as it was written: gone; a stale `before` is a conflict and keeps it.
    let stale = apply(&[change(&vendor, "", true, "templates: [x]\n")]).unwrap_err();
    assert!(
        matches!(stale, rackscope::editing::EditingError::Conflict { .. }),
        "{stale:?}"
    );
    assert!(vendor.exists());
    apply(&[change(&vendor, "", true, "templates: []\n")]).unwrap();
    assert!(!vendor.exists());
}

/// Posts a page's form and follows the redirect; returns the page shown after it.
async fn post_form(st: &AppState, cookie: &str, action: &str, form: &str) -> String {
    let r = call(st, browser("POST", action, ADDR, cookie, Some(form))).await;
    assert_eq!(r.status, 303, "{action} {form}: {}", r.text());
    let to = r.headers["location"].to_str().unwrap().to_owned();
    call(st, browser("GET", &to, ADDR, cookie, None))
        .await
        .text()
}

#[tokio::test]
async fn the_room_and_site_pages_add_aisles_racks_and_rooms_in_one_file() {
    let (tmp, st) = copied();
    let path = tmp.path().join("topology.yaml");
    let (cookie, csrf) = sign_in(&st, "ada", ADDR).await;
    let room = call(
        &st,
        browser("GET", "/views/room/room-a", ADDR, &cookie, None),
    )
    .await
    .text();
    assert!(room.contains("<h2>Edit room</h2>"), "{room}");
    assert!(
        room.contains("<option value=\"dc1/room-a/aisle-2\">aisle Aisle 2</option>"),
        "{room}"
    );
    assert!(
        room.contains("<option value=\"dc1/room-a\">standalone, in the room</option>"),
        "{room}"
    );

    // An aisle, then a rack in it, then a standalone rack: each a minimal diff.
    let before = std::fs::read_to_string(&path).unwrap();
    let page = post_form(
        &st,
        &cookie,
        "/views/room/room-a/edit",
        &format!("csrf={csrf}&op=add_aisle&id=aisle-3&name=Aisle+Three"),
    )
    .await;
    assert!(
        page.contains("Aisle added; the configuration reloaded"),
        "{page}"
    );
    assert!(page.contains("Aisle Three"), "{page}");
    let after = std::fs::read_to_string(&path).unwrap();
    let (added, removed) = changed_lines(&before, &after);
    assert!(removed.is_empty(), "{removed:?}");
    assert!(added.iter().any(|l| l.contains("id: aisle-3")), "{added:?}");

    let page = post_form(
        &st,
        &cookie,
        "/views/room/room-a/edit",
        &format!("csrf={csrf}&op=add_rack&aisle=aisle-3&id=r04&name=Rack+04&template=rack-pdu"),
    )
    .await;
    assert!(
        page.contains("Rack added; the configuration reloaded"),
        "{page}"
    );
    // The floor plan shows it, linked.
    assert!(page.contains("href=\"/views/rack/r04\""), "{page}");
    let config = st.engine.config();
    let r04 = config.topology.rack_ix("r04").unwrap();
    assert_eq!(
        config.topology.racks[r04].template_id.as_deref(),
        Some("rack-pdu")
    );
    let aisle = config.topology.racks[r04].aisle.unwrap();
    assert_eq!(config.topology.aisles[aisle].id, "aisle-3");

    post_form(
        &st,
        &cookie,
        "/views/room/room-a/edit",
        &format!("csrf={csrf}&op=add_rack&aisle=room-a&id=s01&name=Standalone+1"),
    )
    .await;
    let config = st.engine.config();
    let s01 = config.topology.rack_ix("s01").unwrap();
    assert!(config.topology.racks[s01].aisle.is_none());

    // A rack id that exists is refused, with the form kept.
    let r = call(
        &st,
        browser(
            "POST",
            "/views/room/room-a/edit",
            ADDR,
            &cookie,
            Some(&format!(
                "csrf={csrf}&op=add_rack&aisle=aisle-1&id=r01&name=Again"
            )),
        ),
    )
    .await;
    assert_eq!(r.status, 400);
    let text = r.text();
    assert!(
        text.contains("Not saved: rack `r01` already exists."),
        "{text}"
    );
    assert!(text.contains("value=\"Again\""), "{text}");

    // Removing a rack removes its item only, devices included.
    let before = std::fs::read_to_string(&path).unwrap();
    let page = post_form(
        &st,
        &cookie,
        "/views/room/room-a/edit",
        &format!("csrf={csrf}&op=remove_rack&rack=r02"),
    )
    .await;
    assert!(page.contains("Rack removed"), "{page}");
    assert!(!page.contains("href=\"/views/rack/r02\""), "{page}");
    let (added, removed) = changed_lines(&before, &std::fs::read_to_string(&path).unwrap());
    assert!(added.is_empty(), "{added:?}");
    assert!(removed.iter().any(|l| l.contains("id: r02")), "{removed:?}");
    assert!(
        removed.iter().any(|l| l.contains("chassis-2")),
        "{removed:?}"
    );
    assert!(st.engine.config().topology.rack_ix("r02").is_none());
    assert!(st.engine.config().topology.rack_ix("r04").is_some());

    // The site page adds a room.
    let site = call(&st, browser("GET", "/views/site/dc1", ADDR, &cookie, None))
        .await
        .text();
    assert!(site.contains("<h2>Edit site</h2>"), "{site}");
    let page = post_form(
        &st,
        &cookie,
        "/views/site/dc1/edit",
        &format!("csrf={csrf}&op=add_room&id=room-c&name=Room+C"),
    )
    .await;
    assert!(
        page.contains("Room added; the configuration reloaded"),
        "{page}"
    );
    assert!(page.contains("href=\"/views/room/room-c\""), "{page}");
    let config = st.engine.config();
    let rc = config.topology.room_ix("room-c").unwrap();
    assert_eq!(
        config.topology.sites[config.topology.rooms[rc].site].id,
        "dc1"
    );
    assert!(st.reload.status().ok);

    // Viewers see no forms and cannot post.
    let (vcookie, vcsrf) = sign_in(&st, "vera", ADDR).await;
    let room = call(
        &st,
        browser("GET", "/views/room/room-a", ADDR, &vcookie, None),
    )
    .await
    .text();
    assert!(!room.contains("Edit room"), "{room}");
    let r = call(
        &st,
        browser(
            "POST",
            "/views/site/dc1/edit",
            ADDR,
            &vcookie,
            Some(&format!("csrf={vcsrf}&op=add_room&id=room-d")),
        ),
    )
    .await;
    assert_eq!(r.status, 403);
    assert!(st.engine.config().topology.room_ix("room-d").is_none());
}

#[tokio::test]
async fn in_a_split_layout_the_forms_create_and_remove_files() {
    let (tmp, st) = copied_from("config/demo-small");
    let room_dir = tmp
        .path()
        .join("topology/datacenters/uga-lab/rooms/lab-room");
    let (cookie, csrf) = sign_in(&st, "ada", ADDR).await;
    let page = post_form(
        &st,
        &cookie,
        "/views/room/lab-room/edit",
        &format!("csrf={csrf}&op=add_aisle&id=aisle-c&name=Aisle+C"),
    )
    .await;
    assert!(page.contains("Aisle added"), "{page}");
    assert!(room_dir.join("aisles/aisle-c/aisle.yaml").is_file());
    let page = post_form(
        &st,
        &cookie,
        "/views/room/lab-room/edit",
        &format!("csrf={csrf}&op=add_rack&aisle=aisle-c&id=rack-c01&name=Rack+C01"),
    )
    .await;
    assert!(page.contains("Rack added"), "{page}");
    let rack_file = room_dir.join("aisles/aisle-c/racks/rack-c01.yaml");
    assert!(rack_file.is_file());
    assert!(st.engine.config().topology.rack_ix("rack-c01").is_some());
    let page = post_form(
        &st,
        &cookie,
        "/views/room/lab-room/edit",
        &format!("csrf={csrf}&op=remove_rack&rack=rack-c01"),
    )
    .await;
    assert!(page.contains("Rack removed"), "{page}");
    assert!(!rack_file.exists());
    assert!(st.engine.config().topology.rack_ix("rack-c01").is_none());
    assert!(st.reload.status().ok, "{:?}", st.reload.status().errors);
}

#[tokio::test]
async fn a_free_unit_on_the_elevation_fills_the_add_form() {
    let (_tmp, st) = copied();
    let (cookie, _) = sign_in(&st, "ada", ADDR).await;
    let page = call(&st, browser("GET", "/views/rack/r02", ADDR, &cookie, None))
        .await
        .text();
    // chassis-2 (a 2U quad at U1) takes U1 and U2 of the front; U3 is free, U1 is not.
    assert!(
        page.contains("href=\"/views/rack/r02?add_u=3&amp;add_face=front#edit\""),
        "{page}"
    );
    assert!(!page.contains("add_u=1&amp;add_face=front"), "{page}");
    assert!(page.contains("add_u=1&amp;add_face=rear"), "{page}");
    let page = call(
        &st,
        browser(
            "GET",
            "/views/rack/r02?add_u=3&add_face=rear",
            ADDR,
            &cookie,
            None,
        ),
    )
    .await
    .text();
    let add = &page[page.find("<h3>Add a device</h3>").unwrap()..];
    let add = &add[..add.find("</form>").unwrap()];
    assert!(
        add.contains("name=\"u\" inputmode=\"numeric\" required size=\"3\" value=\"3\""),
        "{add}"
    );
    assert!(add.contains("<option value=\"rear\" selected>"), "{add}");
    // A unit that is not one opens the page with the form empty.
    let r = call(
        &st,
        browser("GET", "/views/rack/r02?add_u=x", ADDR, &cookie, None),
    )
    .await;
    assert_eq!(r.status, 200);
    // Without the editors (a viewer), no unit is a link.
    let (vcookie, _) = sign_in(&st, "vera", ADDR).await;
    let page = call(&st, browser("GET", "/views/rack/r02", ADDR, &vcookie, None))
        .await
        .text();
    assert!(!page.contains("add_u="), "{page}");
}

#[tokio::test]
async fn with_git_commit_a_form_touching_several_files_is_one_commit() {
    let (tmp, st) = copied_with_app("config/demo-small", "editors:\n  git_commit: true\n");
    git(tmp.path(), &["init", "-q"]);
    git(tmp.path(), &["add", "-A"]);
    git(tmp.path(), &["commit", "-q", "-m", "initial"]);
    let (cookie, csrf) = sign_in(&st, "ada", ADDR).await;
    let aisle = "topology/datacenters/uga-lab/rooms/lab-room/aisles/aisle-b";
    post_form(
        &st,
        &cookie,
        "/views/room/lab-room/edit",
        &format!("csrf={csrf}&op=add_rack&aisle=aisle-b&id=rack-b03&name=Rack+B03"),
    )
    .await;
    let head = |what: &str| git(tmp.path(), &["show", "--name-status", what, "HEAD"]);
    let shown = head("--format=%an|%s");
    let mut lines = shown.lines().filter(|l| !l.is_empty());
    assert_eq!(
        lines.next(),
        Some("ada|rackscope: ada edited the topology"),
        "{shown}"
    );
    let mut files: Vec<&str> = lines.collect();
    files.sort();
    assert_eq!(
        files,
        [
            format!("A\t{aisle}/racks/rack-b03.yaml"),
            format!("M\t{aisle}/aisle.yaml"),
        ],
        "{shown}"
    );
    post_form(
        &st,
        &cookie,
        "/views/room/lab-room/edit",
        &format!("csrf={csrf}&op=remove_rack&rack=rack-b03"),
    )
    .await;
    let shown = head("--format=%an|%s");
    let mut files: Vec<&str> = shown.lines().skip(1).filter(|l| !l.is_empty()).collect();
    files.sort();
    assert_eq!(
        files,
        [
            format!("D\t{aisle}/racks/rack-b03.yaml"),
            format!("M\t{aisle}/aisle.yaml"),
        ],
        "{shown}"
    );
    assert_eq!(
        git(tmp.path(), &["rev-list", "--count", "HEAD"]).trim(),
        "3"
    );
    // Nothing left uncommitted.
    assert_eq!(git(tmp.path(), &["status", "--porcelain"]).trim(), "");
}
