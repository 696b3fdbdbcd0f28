//! The NOC console's triage (issue #22) through the router, JavaScript off: the alerts
//! page sorts, filters, searches, pages and exports from its URL, says how long each alert
//! has been active and lists the escalations pending their `for:`; the bell counts on
//! every page and the feed that drives toasts.

use axum::http::StatusCode;

use crate::support::router::{fixture, fixture_with, get};

/// A page with the entities Tera writes for `/` and `&` decoded.
fn page(r: &crate::support::router::Reply) -> String {
    r.text().replace("&#x2F;", "/").replace("&amp;", "&")
}

/// The names of the alerts table's rows, in order.
fn names(html: &str) -> Vec<String> {
    let table = html
        .split("<table class=\"alerts triage\"")
        .nth(1)
        .and_then(|t| t.split("</table>").next())
        .unwrap_or_default();
    table
        .split("<tr class=\"st-")
        .skip(1)
        .filter_map(|row| {
            let a = row.split("<td><a href=\"").nth(1)?;
            let name = a.split('>').nth(1)?.split('<').next()?;
            Some(name.to_owned())
        })
        .collect()
}

#[tokio::test]
async fn the_alerts_page_sorts_filters_searches_and_pages_from_its_url() {
    let (st, _) = fixture(true).await;
    let all = page(&get(&st, "/alerts").await);
    // Worst first by default, as before.
    let default = names(&all);
    assert_eq!(default.len(), 6, "{all}");
    assert_eq!(&default[..2], ["node.1", "n04"]);
    assert!(
        all.contains("<th aria-sort=\"none\"><a href=\"/alerts?sort=where&dir=asc\">Where</a>"),
        "{all}"
    );

    // By name, both ways; the header says which.
    let asc = page(&get(&st, "/alerts?sort=where&dir=asc").await);
    let mut sorted = default.clone();
    sorted.sort();
    assert_eq!(names(&asc), sorted);
    assert!(
        asc.contains(
            "<th aria-sort=\"ascending\"><a href=\"/alerts?sort=where&dir=desc\">Where ▲</a>"
        ),
        "{asc}"
    );
    let desc = page(&get(&st, "/alerts?sort=where&dir=desc").await);
    sorted.reverse();
    assert_eq!(names(&desc), sorted);

    // Each filter, alone and together; each kept in the URL of the sort links.
    let crit = page(&get(&st, "/alerts?severity=CRIT").await);
    assert_eq!(names(&crit), ["node.1", "n04"]);
    assert!(
        crit.contains("href=\"/alerts?severity=CRIT&sort=state&dir=desc\""),
        "{crit}"
    );
    assert_eq!(names(&page(&get(&st, "/alerts?type=rack").await)), ["r03"]);
    assert_eq!(
        names(&page(&get(&st, "/alerts?type=chassis").await)),
        ["chassis-2"]
    );
    assert_eq!(
        names(&page(&get(&st, "/alerts?type=slot").await)),
        ["da01-c1"]
    );
    assert_eq!(
        names(&page(
            &get(&st, "/alerts?check=node_temperature&sort=where").await
        )),
        ["n03", "n04"]
    );
    assert_eq!(
        names(&page(&get(&st, "/alerts?rack=r02").await)),
        ["chassis-2"]
    );
    assert_eq!(
        names(&page(
            &get(&st, "/alerts?rack=dc1%2Froom-a%2Faisle-2%2Fr03").await
        )),
        ["r03"]
    );
    // Text search covers names, places and checks, any case.
    assert_eq!(
        names(&page(&get(&st, "/alerts?q=PSU").await)),
        ["chassis-2"]
    );
    assert_eq!(
        names(&page(&get(&st, "/alerts?q=aisle%202").await)),
        ["r03"]
    );
    let none = page(&get(&st, "/alerts?q=nothing-like-this").await);
    assert!(
        none.contains("No alert matches.") && none.contains("0 of 6"),
        "{none}"
    );
    // A value that means nothing is no filter, never an error.
    let odd = get(
        &st,
        "/alerts?severity=PURPLE&type=x&sort=nope&page=-3&per=zero",
    )
    .await;
    assert_eq!(odd.status, StatusCode::OK);
    assert_eq!(names(&page(&odd)).len(), 6);

    // Pages instead of truncation, with the filters kept in the links.
    let p1 = page(&get(&st, "/alerts?per=4").await);
    assert_eq!(names(&p1), default[..4]);
    assert!(p1.contains("1–4 of 6 · page 1 of 2"), "{p1}");
    assert!(
        p1.contains("<a href=\"/alerts?per=4&page=2\" rel=\"next\">"),
        "{p1}"
    );
    let p2 = page(&get(&st, "/alerts?per=4&page=2").await);
    assert_eq!(names(&p2), default[4..]);
    assert!(
        p2.contains("<a href=\"/alerts?per=4\" rel=\"prev\">"),
        "{p2}"
    );
    // Past the last page is the last page.
    assert_eq!(
        names(&page(&get(&st, "/alerts?per=4&page=99").await)),
        default[4..]
    );

    // How long each has been active: the fixture's alerts began at its first refresh,
    // 30 s before the second.
    assert!(all.contains("<td class=\"active\">30 s</td>"), "{all}");
    // n05's fan has been CRIT for 30 s of its 60 s `for:`: not an alert, listed as pending.
    assert!(all.contains("<h2>Pending escalations"), "{all}");
    let pending = all.split("Pending escalations").nth(1).unwrap();
    assert!(
        pending.contains(">n05</a>") && pending.contains("node_fan"),
        "{pending}"
    );
    assert!(
        pending.contains("<span class=\"badge st-CRIT\">"),
        "{pending}"
    );
    assert!(!default.contains(&"n05".to_owned()));
}

#[tokio::test]
async fn the_export_gives_the_filtered_rows_as_csv_and_json() {
    let (st, _) = fixture(true).await;
    let page_html = page(&get(&st, "/alerts?severity=WARN").await);
    assert!(
        page_html.contains("<a href=\"/alerts/export?severity=WARN&format=csv\" download>CSV</a>"),
        "{page_html}"
    );
    let csv = get(&st, "/alerts/export?severity=WARN&sort=where&format=csv").await;
    assert_eq!(csv.status, StatusCode::OK);
    assert_eq!(
        csv.headers["content-type"].to_str().unwrap(),
        "text/csv; charset=utf-8"
    );
    assert!(
        csv.headers["content-disposition"]
            .to_str()
            .unwrap()
            .contains("rackscope-alerts.csv")
    );
    let text = csv.text();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        "state,type,target,site,room,aisle,rack,rack_path,device,u,checks,active_since,pending,maintenance"
    );
    // Every WARN alert, every page of them, sorted as asked.
    assert_eq!(lines.len(), 1 + 4, "{text}");
    let targets: Vec<&str> = lines[1..]
        .iter()
        .map(|l| l.split(',').nth(2).unwrap())
        .collect();
    assert_eq!(targets, ["chassis-2", "da01-c1", "n03", "r03"]);
    assert!(
        lines[3].starts_with("WARN,node,n03,Primary DC,Room A,Aisle 1,Rack 01,dc1/room-a/aisle-1/r01,chassis-1,1,node_temperature WARN = 40,2023-11-14T22:13:20Z,"),
        "{}",
        lines[3]
    );

    let json = get(&st, "/alerts/export?type=rack&format=json").await;
    assert_eq!(json.status, StatusCode::OK);
    let v = json.json();
    let alerts = v["alerts"].as_array().unwrap();
    assert_eq!(alerts.len(), 1);
    // The API's shape, with what the triage adds.
    assert_eq!(alerts[0]["rack_id"], "r03");
    assert_eq!(alerts[0]["target_type"], "rack");
    assert_eq!(alerts[0]["active_since"], 1_700_000_000);
    assert_eq!(
        get(&st, "/alerts/export?format=xlsx").await.status,
        StatusCode::BAD_REQUEST
    );
}

#[tokio::test]
async fn the_bell_counts_on_every_page_and_the_feed_names_each_alert_once() {
    let (st, _) = fixture(true).await;
    for uri in ["/", "/alerts", "/checks", "/views/rack/r01"] {
        let p = page(&get(&st, uri).await);
        assert!(
            p.contains("<span class=\"n crit\" id=\"bell-crit\">2</span> <span class=\"n warn\" id=\"bell-warn\">4</span>"),
            "{uri}: {p}"
        );
        assert!(p.contains("<script src=\"/static/notify.js?v="), "{uri}");
    }
    let f = get(&st, "/alerts/feed").await;
    assert_eq!(f.status, StatusCode::OK);
    let f = f.json();
    assert_eq!(
        (f["crit"].as_u64(), f["warn"].as_u64(), f["total"].as_u64()),
        (Some(2), Some(4), Some(6))
    );
    let ids: std::collections::BTreeSet<&str> = f["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 6, "ids are distinct: {f}");
    assert!(
        ids.contains("node:dc1/room-a/aisle-1/r01:node.1"),
        "{ids:?}"
    );
    let n04 = f["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == "n04")
        .unwrap();
    assert_eq!(n04["url"], "/views/device/r01/chassis-1");
    assert!(n04["place"].as_str().unwrap().contains("Rack 01"));

    // `features.notifications: false` takes the bell and its script away.
    let (off, _) = fixture_with(true, |app| app.features.notifications = false).await;
    let p = page(&get(&off, "/alerts").await);
    assert!(
        !p.contains("id=\"bell\"") && !p.contains("notify.js"),
        "{p}"
    );
    // The static file is served, under the CSP's `script-src 'self'`.
    let js = get(&st, "/static/notify.js").await;
    assert_eq!(js.status, StatusCode::OK);
    assert!(js.text().contains("rackscope:tick"));
}
