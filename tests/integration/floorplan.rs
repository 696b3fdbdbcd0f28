//! The room floor plan's display choices through the router, JavaScript off: rack styles
//! (cells, gauge, compact, heat from the fixture's temperatures and power), aisle order and
//! hidden aisles, the hover card's data, and the cookie that remembers the choice.

use axum::body::Body;
use axum::http::{Request, header};

use crate::support::router::{Reply, call, fixture, get};

/// The `<a>` element of rack `id` on a room page, up to its closing tag.
fn rack<'a>(page: &'a str, id: &str) -> &'a str {
    let at = page
        .find(&format!("href=\"/views/rack/{id}\" class=\"rack"))
        .unwrap_or_else(|| panic!("rack {id} not drawn:\n{page}"));
    let end = page[at..].find("</a>").map_or(page.len(), |e| at + e);
    &page[at..end]
}

/// The floor plan's `Set-Cookie`, if the reply has one (the CSRF cookie may come too).
fn set_cookie(r: &Reply) -> Option<String> {
    r.headers
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("rackscope_plan="))
        .map(str::to_owned)
}

#[tokio::test]
async fn the_heat_style_colours_racks_by_their_hottest_node_or_their_power() {
    let (st, _) = fixture(true).await;
    let page = get(&st, "/views/room/room-a?style=heat").await.text();
    assert!(page.contains("class=\"floorplan style-heat\""), "{page}");
    // r01 holds n04 at 50 °C, over the 45 °C CRIT threshold: the top of the scale, red.
    let r01 = rack(&page, "r01");
    assert!(r01.contains("fill=\"hsl(0 70% 42%)\""), "{r01}");
    assert!(r01.contains("50.0 °C"), "{r01}");
    // r02's nodes run at 30 °C: cooler, so bluer.
    let r02 = rack(&page, "r02");
    assert!(r02.contains("30.0 °C") && !r02.contains("hsl(0 "), "{r02}");
    assert!(
        page.contains("Hottest node of each rack"),
        "the legend: {page}"
    );

    let page = get(&st, "/views/room/room-a?style=heat&heat=power")
        .await
        .text();
    // Four nodes at 200 W each.
    assert!(rack(&page, "r01").contains("800 W"), "{page}");
    assert!(page.contains("Power drawn by each rack"), "{page}");
}

#[tokio::test]
async fn cells_draw_every_node_and_the_gauge_shares_them_by_state() {
    let (st, _) = fixture(true).await;
    let page = get(&st, "/views/room/room-a?style=cells").await.text();
    let r01 = rack(&page, "r01");
    // node.1 and n04 are CRIT: two cells in the CRIT path.
    let crit = r01
        .split("class=\"cell st-CRIT\" d=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap_or_else(|| panic!("no CRIT cells: {r01}"));
    assert_eq!(crit.matches('M').count(), 2, "{crit}");

    let page = get(&st, "/views/room/room-a?style=gauge").await.text();
    let r01 = rack(&page, "r01");
    assert!(r01.contains("class=\"gauge st-CRIT\""), "{r01}");
    assert!(r01.contains("class=\"gauge st-OK\""), "{r01}");

    let page = get(&st, "/views/room/room-a?style=compact").await.text();
    assert!(page.contains("class=\"floorplan style-compact\""));
    assert!(page.contains("font-size=\"7\""), "compact labels");
}

#[tokio::test]
async fn the_hover_card_carries_failing_checks_temperature_and_power() {
    let (st, _) = fixture(true).await;
    let page = get(&st, "/views/room/room-a").await.text();
    let r01 = rack(&page, "r01");
    assert!(r01.contains("data-checks=\""), "{r01}");
    assert!(r01.contains("node_temperature"), "n04's check: {r01}");
    assert!(r01.contains("data-temp=\"hottest node 50.0 °C\""), "{r01}");
    assert!(r01.contains("data-temp-f=\"1"), "{r01}");
    assert!(r01.contains("data-power=\"800 W drawn\""), "{r01}");
    // Each rack lists its own failing nodes only.
    let r03 = rack(&page, "r03");
    assert!(r03.contains("pdu_current") && !r03.contains("n04"), "{r03}");
}

#[tokio::test]
async fn aisles_hide_and_sort_and_the_browser_remembers() {
    let (st, _) = fixture(true).await;
    let r = get(
        &st,
        "/views/room/room-a?plan=1&style=gauge&hide=dc1%2Froom-a%2Faisle-1",
    )
    .await;
    let page = r.text();
    assert!(
        !page.contains("/views/rack/r01\" class=\"rack"),
        "aisle 1 hidden"
    );
    assert!(
        page.contains("/views/rack/r03\" class=\"rack"),
        "aisle 2 shown"
    );
    assert!(page.contains("Show all aisles"), "{page}");
    assert!(page.contains("1 aisle hidden"), "{page}");
    let cookie = set_cookie(&r).expect("the choice is remembered");
    assert!(
        cookie.starts_with("rackscope_plan=style=gauge&"),
        "{cookie}"
    );
    assert!(cookie.contains("hide=dc1%2Froom-a%2Faisle-1"), "{cookie}");
    assert!(cookie.contains("SameSite=Lax"), "{cookie}");

    // The same browser back without a query: drawn as it chose, and nothing set again.
    let value = cookie.split(';').next().unwrap_or_default().to_owned();
    let again = call(
        &st,
        Request::get("/views/room/room-a")
            .header(header::COOKIE, value.clone())
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    let page = again.text();
    assert!(page.contains("style-gauge"), "{page}");
    assert!(!page.contains("/views/rack/r01\" class=\"rack"));
    assert_eq!(set_cookie(&again), None);

    // Another room's choice keeps this room's hidden aisle.
    let other = call(
        &st,
        Request::get("/views/room/room-b?plan=1&style=state")
            .header(header::COOKIE, value)
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    let c = set_cookie(&other).unwrap_or_default();
    assert!(c.contains("hide=dc1%2Froom-a%2Faisle-1"), "{c}");

    // Most failing first (the order itself is `draw::worst_first`'s unit test): the
    // choice reaches the form and the plan.
    let page = get(&st, "/views/room/room-a?plan=1&sort=severity")
        .await
        .text();
    let a1 = page.find(">Aisle 1</text>").unwrap_or(usize::MAX);
    let a2 = page.find(">Aisle 2</text>").unwrap_or(usize::MAX);
    assert!(a1 < a2, "{page}");
    assert!(
        page.contains("<option value=\"severity\" selected>"),
        "{page}"
    );
}

#[tokio::test]
async fn nonsense_display_choices_draw_the_default_plan() {
    let (st, _) = fixture(true).await;
    for q in [
        "style=%3Cscript%3E",
        "style=heat&heat=%00",
        "hide=..%2F..%2Fetc&sort=%FF",
        "plan=1&hide=",
    ] {
        let r = get(&st, &format!("/views/room/room-a?{q}")).await;
        assert_eq!(r.status, 200, "{q}");
        let page = r.text();
        assert!(!page.contains("<script>"), "{q}");
        assert!(page.contains("class=\"floorplan style-"), "{q}");
        assert!(
            page.contains("/views/rack/r01\" class=\"rack"),
            "{q}: nothing hidden"
        );
    }
}
