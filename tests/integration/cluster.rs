//! Cluster views (issue #22) through the router, JavaScript off, over a copy of the health
//! fixture with sign-in on: racks side by side from `?racks=` and the picker, a view saved
//! to `views.yaml` by an operator (comments kept, read back at once), refused to a viewer,
//! deleted, and a broken or hostile file or request answered clearly.

use std::sync::Arc;

use rackscope::server::AppState;
use rackscope_core::telemetry::Engine;
use rackscope_core::testkit::Table;

use crate::support::auth::{access, browser, sign_in};
use crate::support::router::{Reply, call};

const ADDR: &str = "192.0.2.22";

fn copied(views: Option<&str>) -> (tempfile::TempDir, AppState) {
    let tmp = tempfile::tempdir().unwrap();
    crate::support::copy_dir(
        &crate::support::root().join("tests/fixtures/health"),
        tmp.path(),
    );
    if let Some(v) = views {
        std::fs::write(tmp.path().join("views.yaml"), v).unwrap();
    }
    let loaded = crate::support::load(&tmp.path().join("app.yaml"));
    let mut config = loaded.config;
    config.access = access();
    let engine = Arc::new(Engine::new(
        Arc::new(config),
        Arc::new(Table::new(crate::support::fixture::world())),
    ));
    (tmp, AppState::new(engine).unwrap())
}

async fn page(st: &AppState, cookie: &str, uri: &str) -> Reply {
    call(st, browser("GET", uri, ADDR, cookie, None)).await
}

#[tokio::test]
async fn racks_show_side_by_side_from_the_query_and_the_picker() {
    let (_tmp, st) = copied(None);
    st.engine.refresh().await;
    let (cookie, _) = sign_in(&st, "vera", ADDR).await;
    let index = page(&st, &cookie, "/views/cluster").await;
    assert_eq!(index.status, 200);
    let html = index.text();
    assert!(html.contains("Choose racks"), "{html}");
    assert!(
        html.contains("name=\"rack\" value=\"r10\""),
        "the picker lists racks: {html}"
    );

    // The text field and the picker's boxes both name racks; an unknown one is said.
    let r = page(&st, &cookie, "/views/cluster?racks=r03%2Cnope&rack=r01").await;
    let html = r.text();
    assert_eq!(r.status, 200);
    let (r03, r01) = (
        html.find(">Rack 03</a>").expect("r03 drawn"),
        html.find(">Rack 01</a>").expect("r01 drawn"),
    );
    assert!(r03 < r01, "in the order asked");
    assert_eq!(
        html.matches("class=\"rack-svg rack-mini\"").count(),
        2,
        "{html}"
    );
    assert!(html.contains("2 racks · 2 CRIT · 2 WARN nodes"), "{html}");
    assert!(html.contains("Not in the topology"), "{html}");
    assert!(html.contains("nope"));
    // A viewer may look, not save.
    assert!(!html.contains("Save as a named view"), "{html}");
}

#[tokio::test]
async fn an_operator_saves_a_named_view_and_deletes_it() {
    let (tmp, st) = copied(Some("# our views\nviews: []\n"));
    st.engine.refresh().await;
    let (cookie, csrf) = sign_in(&st, "oscar", ADDR).await;
    let html = page(&st, &cookie, "/views/cluster?racks=r01,r10")
        .await
        .text();
    assert!(html.contains("Save as a named view"), "{html}");

    let form = format!(
        "csrf={csrf}&op=save&id=gpu-row&name=GPU+row&description=The+hot+aisle&racks=r01%2Cr10"
    );
    let r = call(
        &st,
        browser("POST", "/views/cluster", ADDR, &cookie, Some(&form)),
    )
    .await;
    assert_eq!(r.status, 303, "{}", r.text());
    let file = std::fs::read_to_string(tmp.path().join("views.yaml")).unwrap();
    assert!(file.starts_with("# our views\n"), "comments kept: {file}");
    assert!(
        file.contains("id: gpu-row") && file.contains("- r10"),
        "{file}"
    );

    let view = page(&st, &cookie, "/views/cluster/gpu-row?saved=1").await;
    assert_eq!(view.status, 200);
    let html = view.text();
    assert!(html.contains("<h1>GPU row"), "{html}");
    assert!(html.contains("The hot aisle"));
    assert!(html.contains("View saved."));
    assert_eq!(html.matches("class=\"rack-svg rack-mini\"").count(), 2);

    // A viewer cannot write.
    let (vc, vcsrf) = sign_in(&st, "vera", ADDR).await;
    let form = format!("csrf={vcsrf}&op=delete&id=gpu-row");
    let r = call(
        &st,
        browser("POST", "/views/cluster", ADDR, &vc, Some(&form)),
    )
    .await;
    assert_eq!(r.status, 403);

    // Bad ids and empty views are refused with the reason, nothing written.
    for (body, why) in [
        ("op=save&id=..%2Fetc&racks=r01", "view id"),
        ("op=save&id=empty&racks=", "at least one rack"),
        ("op=explode&id=x&racks=r01", "not something this page does"),
    ] {
        let form = format!("csrf={csrf}&{body}");
        let r = call(
            &st,
            browser("POST", "/views/cluster", ADDR, &cookie, Some(&form)),
        )
        .await;
        assert!(r.status.is_client_error(), "{body}: {}", r.status);
        assert!(r.text().contains(why), "{body}: {}", r.text());
    }
    assert_eq!(
        std::fs::read_to_string(tmp.path().join("views.yaml")).unwrap(),
        file
    );

    let form = format!("csrf={csrf}&op=delete&id=gpu-row");
    let r = call(
        &st,
        browser("POST", "/views/cluster", ADDR, &cookie, Some(&form)),
    )
    .await;
    assert_eq!(r.status, 303);
    assert_eq!(
        page(&st, &cookie, "/views/cluster/gpu-row").await.status,
        404
    );
}

#[tokio::test]
async fn a_broken_views_file_is_reported_with_its_position_and_not_written_over() {
    let broken = "views:\n- id: a\n  racks: [r01]\n- id: a\n  racks: [r02]\n";
    let (tmp, st) = copied(Some(broken));
    let loaded = crate::support::load(&tmp.path().join("app.yaml"));
    let d = loaded
        .diagnostics
        .errors()
        .find(|d| d.code == "views")
        .expect("the loader reports it");
    assert_eq!((d.span.pos.line, d.span.pos.col), (4, 3), "{d}");
    assert!(d.to_string().contains("views.yaml"), "{d}");

    let (cookie, csrf) = sign_in(&st, "oscar", ADDR).await;
    let html = page(&st, &cookie, "/views/cluster").await.text();
    assert!(html.contains("views.yaml does not load"), "{html}");
    let form = format!("csrf={csrf}&op=save&id=b&racks=r01");
    let r = call(
        &st,
        browser("POST", "/views/cluster", ADDR, &cookie, Some(&form)),
    )
    .await;
    assert_eq!(r.status, 422, "{}", r.text());
    assert!(r.text().contains("views.yaml:4:3"), "{}", r.text());
    assert_eq!(
        std::fs::read_to_string(tmp.path().join("views.yaml")).unwrap(),
        broken
    );
    // An unknown rack is a warning, not an error.
    let (tmp, _) = copied(Some("views:\n- {id: x, racks: [r01, ghost]}\n"));
    let loaded = crate::support::load(&tmp.path().join("app.yaml"));
    assert!(
        loaded
            .diagnostics
            .warnings()
            .any(|d| d.message.contains("ghost"))
    );
    assert!(!loaded.diagnostics.has_errors());
}
