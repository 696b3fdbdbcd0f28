//! The web UI in a real headless Chromium (WebDriver through Debian's `chromedriver`, on
//! loopback), over the simulator scraped by a real Prometheus: the walk from the overview
//! to a device, the rack of a CRIT node drawn CRIT, a state change reaching an open page
//! without a reload, and screenshots at 1920×1080 and at a 390-pixel phone width (under
//! `target/screenshots/`) where nothing overflows sideways; and, over a writable copy of the
//! health fixture with no Prometheus, the editor's YAML highlighting and the rack page's
//! edit forms. Chromium's console is read after each session: no Content-Security-Policy
//! violation may have happened on any page.

use std::collections::BTreeSet;
use std::net::TcpListener as StdListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use rackscope_simulator::IncidentMode;
use serde_json::{Value, json};

use crate::support::prom::{Prometheus, available};
use crate::support::root;
use crate::support::served::{Served, simulator, start_simulator, start_simulator_seeded};

/// A chromedriver process on a free loopback port, killed on drop.
struct Driver {
    child: Child,
    url: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn chromium_binary() -> Option<PathBuf> {
    [
        "/usr/bin/chromium",
        "/usr/bin/chromium-browser",
        "/usr/bin/google-chrome",
    ]
    .iter()
    .map(PathBuf::from)
    .find(|p| p.exists())
}

/// Chromium and its driver, or `None` with a message (a failure under CI, where `.ci/run`
/// installs them).
fn driver() -> Option<Driver> {
    let ok = chromium_binary().is_some()
        && Command::new("chromedriver")
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
    if !ok {
        if std::env::var_os("CI").is_some() {
            panic!("chromium and chromedriver are required under CI; .ci/run installs them");
        }
        eprintln!(
            "skipping: chromium/chromedriver not installed (apt-get install chromium chromium-driver, or run .ci/run)"
        );
        return None;
    }
    let port = StdListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new("chromedriver")
        .arg(format!("--port={port}"))
        .arg("--allowed-ips=127.0.0.1")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    Some(Driver {
        child,
        url: format!("http://127.0.0.1:{port}"),
    })
}

/// A headless session; `phone` emulates a 390-pixel-wide screen.
async fn session(d: &Driver, phone: bool) -> Client {
    let mut opts = json!({
        "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--window-size=1920,1080", "--hide-scrollbars", "--force-device-scale-factor=1"],
        "binary": chromium_binary().unwrap(),
    });
    if phone {
        opts["mobileEmulation"] = json!({"deviceMetrics": {"width": 390, "height": 844, "pixelRatio": 1.0, "touch": true}});
    }
    let mut caps = serde_json::Map::new();
    caps.insert("goog:chromeOptions".into(), opts);
    // The console is where Chromium reports a resource the CSP refused.
    caps.insert("goog:loggingPrefs".into(), json!({"browser": "ALL"}));
    // chromedriver needs a moment to listen.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        match ClientBuilder::new(HttpConnector::new())
            .capabilities(caps.clone())
            .connect(&d.url)
            .await
        {
            Ok(c) => return c,
            Err(e) if Instant::now() < deadline => {
                let _ = e;
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) => panic!("no WebDriver session at {}: {e}", d.url),
        }
    }
}

fn shots_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target"));
    let dir = target.join("screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

async fn shot(c: &Client, name: &str) {
    let png = c.screenshot().await.unwrap();
    assert!(png.starts_with(b"\x89PNG"), "{name}: not a PNG");
    std::fs::write(shots_dir().join(format!("{name}.png")), png).unwrap();
}

/// chromedriver's browser log since the last read, which fantoccini has no call for.
#[derive(Debug)]
struct BrowserLog;

impl fantoccini::wd::WebDriverCompatibleCommand for BrowserLog {
    fn endpoint(
        &self,
        base: &url::Url,
        session: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base.join(&format!("session/{}/se/log", session.unwrap_or_default()))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        (http::Method::POST, Some(r#"{"type":"browser"}"#.to_owned()))
    }
}

/// Fails on any Content-Security-Policy violation Chromium logged since the last read: a
/// script in the page cannot see those that happen while it parses, the console can.
async fn no_csp_violation(c: &Client, during: &str) {
    let log = c.issue_cmd(BrowserLog).await.unwrap();
    let violations: Vec<&str> = log
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["message"].as_str())
        .filter(|m| m.contains("Content Security Policy"))
        .collect();
    assert!(
        violations.is_empty(),
        "Content-Security-Policy violations during {during}: {violations:#?}"
    );
}

async fn js(c: &Client, script: &str) -> Value {
    c.execute(script, Vec::new()).await.unwrap()
}

/// Each page at a 390-pixel phone width: nothing overflows sideways; a screenshot each.
async fn fits_a_phone(p: &Client, web: &str, pages: &[(&str, String)]) {
    for (name, path) in pages {
        p.goto(&format!("{web}{path}")).await.unwrap();
        until(p, 10, "return document.readyState == 'complete'", name).await;
        let w = js(p, "return [window.innerWidth, document.documentElement.scrollWidth, document.body.scrollWidth]").await;
        assert_eq!(w[0], 390, "{name}: viewport {w}");
        assert!(
            w[1].as_u64().unwrap() <= 390 && w[2].as_u64().unwrap() <= 390,
            "{name} overflows sideways at 390 px: {w}"
        );
        shot(p, &format!("{name}-390")).await;
    }
}

/// Waits until `script` returns true, or fails with what `describe` returns then.
async fn until(c: &Client, secs: u64, script: &str, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if js(c, script).await == Value::Bool(true) {
            return;
        }
        if Instant::now() > deadline {
            let body = js(c, "var m = document.querySelector('main'); return 'live=' + document.documentElement.dataset.live + ' hidden=' + document.hidden + ' updates=' + (window.rackscopeUpdates || 0) + ' seq=' + (m && m.getAttribute('data-seq')) + '\\n' + (m ? m.innerText.slice(0, 300) : document.title)").await;
            panic!("{what}: not true after {secs} s: {script}\npage: {body}");
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Clicks the element; found again when a live update replaced it in between.
async fn click(c: &Client, css: &str) {
    let mut last = String::new();
    for _ in 0..10 {
        let el = c
            .wait()
            .at_most(Duration::from_secs(10))
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css}: {e}"));
        match el.click().await {
            Ok(()) => return,
            Err(e) => last = e.to_string(),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("click {css}: {last}");
}

async fn h1_state(c: &Client) -> String {
    js(
        c,
        "var b = document.querySelector('main h1 .badge'); return b ? b.textContent : ''",
    )
    .await
    .as_str()
    .unwrap_or("")
    .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_walks_to_a_crit_node_and_sees_live_changes() {
    if !available() {
        return;
    }
    let Some(drv) = driver() else { return };
    let app = root().join("config/demo-small/app.yaml");
    // Incidents are drawn from the seed and the cycle (the time): a seed whose draw, at the
    // time the test will run, has CRIT nodes and leaves some compute rack without any, so
    // that there is a rack to watch turn CRIT. Start well clear of a cycle boundary.
    let probe = simulator(&app, Some(IncidentMode::Light), 2026);
    let mut at = rackscope_simulator::unix_now();
    let left = probe.status(at).next_change_in_seconds;
    if left < 90 {
        at += (left + 1) as f64;
    }
    let calm_rack = |s: &rackscope_simulator::Simulator| {
        let status = s.status(at);
        let crit: BTreeSet<&str> = status
            .incidents
            .crit
            .iter()
            .map(|n| n.rack_id.as_str())
            .collect();
        let topo = &s.world().config.topology;
        let compute = |name: &str| {
            s.world()
                .nodes
                .iter()
                .any(|n| n.name == name && n.class == rackscope_simulator::world::Class::Compute)
        };
        // A CRIT compute node to walk to: its device page draws metric charts (a switch's
        // has none).
        status.incidents.crit.iter().any(|n| compute(&n.instance))
            && status.incidents.racks_down.is_empty()
            && s.world().nodes.iter().any(|n| {
                n.class == rackscope_simulator::world::Class::Compute
                    && !crit.contains(topo.racks[n.rack].id.as_str())
            })
    };
    let seed = (2026..2226)
        .find(|&seed| calm_rack(&simulator(&app, Some(IncidentMode::Light), seed)))
        .expect("a seed that leaves a compute rack without CRIT nodes");
    let (sim, sim_addr, _sim_stop) =
        start_simulator_seeded(&app, Some(IncidentMode::Light), seed).await;
    if left < 90 {
        tokio::time::sleep(Duration::from_secs(left + 1)).await;
    }
    let prom = Prometheus::scraping(std::slice::from_ref(&sim_addr), 1).unwrap();
    let config = sim.world().config.clone();
    let served = Served::start(&config, &prom.url()).await;
    let (web, engine) = (served.web.clone(), served.engine.clone());

    // The simulator's CRIT nodes, and wait for the engine to see them all; the walk goes to
    // a compute node among them.
    let status = sim.status(rackscope_simulator::unix_now());
    let crit: Vec<(String, String)> = status
        .incidents
        .crit
        .iter()
        .map(|n| (n.instance.clone(), n.rack_id.clone()))
        .collect();
    assert!(!crit.is_empty());
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(s) = engine.snapshot() {
            let m = engine.maintenances();
            let views = rackscope::server::alert_views(&s, &m);
            let seen: BTreeSet<&str> = views
                .iter()
                .filter(|a| a.state == "CRIT")
                .filter_map(|a| a.node_id)
                .collect();
            if crit.iter().all(|(n, _)| seen.contains(n.as_str())) {
                break;
            }
        }
        assert!(Instant::now() < deadline, "engine never saw {crit:?}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let compute = |name: &str| {
        sim.world()
            .nodes
            .iter()
            .any(|n| n.name == name && n.class == rackscope_simulator::world::Class::Compute)
    };
    let (node, rack_id) = crit
        .iter()
        .find(|(n, _)| compute(n))
        .unwrap_or(&crit[0])
        .clone();
    let topo = &config.topology;
    let rack_ix = topo.rack_ix(&rack_id).unwrap();
    let room = &topo.rooms[topo.racks[rack_ix].room];
    let site = &topo.sites[room.site];

    let c = session(&drv, false).await;
    // Overview → site → room → rack → device, by clicking.
    c.goto(&format!("{web}/")).await.unwrap();
    until(
        &c,
        10,
        "return !!document.querySelector('svg.worldmap path.land')",
        "world map",
    )
    .await;
    shot(&c, "overview-1920").await;
    // The easter eggs: `help` boots a terminal (slowly), Esc closes it; the Konami code.
    let keys = |ks: &[&str]| {
        let list = ks
            .iter()
            .map(|k| format!("'{k}'"))
            .collect::<Vec<_>>()
            .join(",");
        format!(
            "[{list}].forEach(function (k) {{ document.dispatchEvent(new KeyboardEvent('keydown', {{key: k, bubbles: true}})); }}); return true"
        )
    };
    js(&c, &keys(&["h", "e", "l", "p"])).await;
    until(&c, 15, "var t = document.getElementById('terminal'); return !!t && t.textContent.indexOf('login') >= 0", "the help terminal booting").await;
    shot(&c, "help-terminal-1920").await;
    js(&c, &keys(&["Escape"])).await;
    until(
        &c,
        5,
        "return !document.getElementById('terminal')",
        "Esc closing the terminal",
    )
    .await;
    js(
        &c,
        &keys(&[
            "ArrowUp",
            "ArrowUp",
            "ArrowDown",
            "ArrowDown",
            "ArrowLeft",
            "ArrowRight",
            "ArrowLeft",
            "ArrowRight",
            "b",
            "a",
        ]),
    )
    .await;
    until(
        &c,
        5,
        "return document.body.classList.contains('konami')",
        "the Konami code",
    )
    .await;
    click(
        &c,
        &format!("table.sites a[href='/views/site/{}']", site.id),
    )
    .await;
    until(
        &c,
        10,
        &format!("return location.pathname == '/views/site/{}'", site.id),
        "site page",
    )
    .await;
    shot(&c, "site-1920").await;
    click(
        &c,
        &format!(".room-card h2 a[href='/views/room/{}']", room.id),
    )
    .await;
    until(
        &c,
        10,
        "return !!document.querySelector('svg.floorplan')",
        "room page",
    )
    .await;
    // The rack holding the CRIT node is drawn CRIT.
    let rack_sel = format!("svg.floorplan a.rack[href='/views/rack/{rack_id}']");
    // Read in one script: a live update may replace the element between two commands.
    let class = js(
        &c,
        &format!("return document.querySelector(\"{rack_sel}\").getAttribute('class')"),
    )
    .await;
    let class = class.as_str().unwrap_or_default().to_owned();
    assert!(
        class.contains("st-CRIT"),
        "rack {rack_id} of CRIT {node}: class {class}"
    );
    shot(&c, "room-1920").await;
    // Hovering a rack shows its name and state.
    js(&c, &format!("var r = document.querySelector(\"{rack_sel} rect\"); var b = r.getBoundingClientRect(); r.dispatchEvent(new PointerEvent('pointermove', {{bubbles: true, pointerType: 'mouse', clientX: b.x + 5, clientY: b.y + 5}})); return true")).await;
    until(&c, 5, "var h = document.getElementById('hud'); return !!h && !h.hidden && h.textContent.indexOf('CRIT') >= 0", "HUD on hover").await;
    // A live update replaces the plan under a pointer that has not moved: the HUD stays, on the new element.
    let seen = js(&c, "return window.rackscopeUpdates || 0").await;
    until(
        &c,
        30,
        &format!("return (window.rackscopeUpdates || 0) > {seen}"),
        "a live update while hovering",
    )
    .await;
    until(&c, 2, &format!("var h = document.getElementById('hud'); return !!h && !h.hidden && h.textContent.indexOf('CRIT') >= 0 && !!document.querySelector(\"{rack_sel}\")"), "HUD kept across the update").await;
    click(&c, &rack_sel).await;
    until(
        &c,
        10,
        "return !!document.querySelector('svg.rack-svg')",
        "rack page",
    )
    .await;
    assert!(h1_state(&c).await.contains("CRIT"));
    shot(&c, "rack-1920").await;
    // The node's device, drawn CRIT in the elevation, opens the device page.
    let place = topo.locate_instance(&node).unwrap();
    let dev_id = &topo.devices[place.device].id;
    let dev_link = format!("/views/device/{rack_id}/{dev_id}");
    let dev_sel = format!("svg.rack-svg g.device.st-CRIT a[href='{dev_link}']");
    click(&c, &dev_sel).await;
    until(
        &c,
        10,
        &format!("return location.pathname == '{dev_link}'"),
        "device page",
    )
    .await;
    assert!(h1_state(&c).await.contains("CRIT"));
    let card = js(
        &c,
        &format!("var e = document.getElementById('inst-{node}'); return e ? e.className : ''"),
    )
    .await;
    assert!(
        card.as_str().unwrap_or("").contains("st-CRIT"),
        "{node}: {card}"
    );
    until(
        &c,
        10,
        "return !!document.querySelector('svg.chart path.series')",
        "a metric chart",
    )
    .await;
    shot(&c, "device-1920").await;
    for (name, path) in [
        ("alerts", "/alerts"),
        ("checks", "/checks?test=node_up#test"),
        ("api-docs", "/api/docs"),
    ] {
        c.goto(&format!("{web}{path}")).await.unwrap();
        shot(&c, &format!("{name}-1920")).await;
    }
    no_csp_violation(&c, "the walk from the overview to the device page").await;

    // A state change in Prometheus reaches an open page without a reload.
    let snap = engine.snapshot().unwrap();
    let (victim, victim_rack) = sim
        .world()
        .nodes
        .iter()
        .find_map(|n| {
            // Any rack not CRIT yet (light incidents may leave no compute rack OK).
            let ok =
                snap.health.racks[n.rack.index()].state != Some(rackscope_core::Severity::Crit);
            // Only a compute node that `node_up` watches turns CRIT when its `up` goes to 0;
            // the first OK rack may hold only switches, whose `up` the check's job filter
            // does not select.
            let watched = n.class == rackscope_simulator::world::Class::Compute
                && topo.instance_ix(&n.name).is_some_and(|i| {
                    snap.health.nodes.get(i.index()).is_some_and(|h| {
                        h.checks
                            .iter()
                            .any(|c| &*snap.plan.checks[c.check as usize].id == "node_up")
                    })
                });
            (ok && watched).then(|| (n.name.clone(), topo.racks[n.rack].id.clone()))
        })
        .expect("some compute rack is not CRIT in light mode");
    // A fresh browser: the walk above left live-update streams that a browser may keep
    // open, and six of them exhaust its connections to one host, so the page's fetch of
    // the update would wait for a free one.
    c.close().await.unwrap();
    let c = session(&drv, false).await;
    c.goto(&format!("{web}/views/rack/{victim_rack}"))
        .await
        .unwrap();
    until(
        &c,
        10,
        "return document.documentElement.dataset.live == 'sse'",
        "live updates over SSE",
    )
    .await;
    assert!(!h1_state(&c).await.contains("CRIT"));
    js(&c, "window.__sameDocument = 42; return true").await;
    let res = rackscope_prometheus::tls::http_client()
        .post(format!("http://{sim_addr}/api/overrides"))
        .json(&json!({"instance": victim, "metric": "up", "value": 0}))
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success());
    // First the engine (the data path), then the page (the live channel).
    let deadline = Instant::now() + Duration::from_secs(45);
    loop {
        let s = engine.snapshot().unwrap();
        let r = s.config.topology.rack_ix(&victim_rack).unwrap();
        if s.health.racks[r.index()].state == Some(rackscope_core::Severity::Crit) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the engine never saw {victim} down: rack {victim_rack} is {:?}",
            s.health.racks[r.index()].state
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    until(
        &c,
        30,
        "var b = document.querySelector('main h1 .badge'); return window.__sameDocument === 42 && !!b && b.textContent.indexOf('CRIT') >= 0 && (window.rackscopeUpdates || 0) > 0",
        "the rack turning CRIT without a reload",
    )
    .await;
    shot(&c, "rack-live-1920").await;
    no_csp_violation(&c, "the live update").await;
    c.close().await.unwrap();

    // A phone: every page fits its 390 pixels.
    let p = session(&drv, true).await;
    let pages = [
        ("overview", "/".to_owned()),
        ("site", format!("/views/site/{}", site.id)),
        ("room", format!("/views/room/{}", room.id)),
        ("rack", format!("/views/rack/{rack_id}")),
        ("device", dev_link.clone()),
        ("alerts", "/alerts".to_owned()),
        ("checks", "/checks".to_owned()),
    ];
    fits_a_phone(&p, &web, &pages).await;
    no_csp_violation(&p, "the phone's pages").await;
    p.close().await.unwrap();

    tokio::time::timeout(Duration::from_secs(10), served.stop())
        .await
        .expect("the server stops with pages open")
        .unwrap();
}

/// Sign-in in a real browser: a protected page sends it to the sign-in form, the form
/// brings it back signed in with the user menu showing, and after sign-out a protected page
/// sends it to sign in again. (No Prometheus needed: the pages only have to be served.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_signs_in_sees_the_user_menu_and_signs_out() {
    use crate::support::auth::{PASSWORD, access, state};
    let Some(drv) = driver() else { return };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let web = format!("http://{}", listener.local_addr().unwrap());
    let (stop, mut stop_rx) = tokio::sync::watch::channel(false);
    let task = tokio::spawn(rackscope::server::run(
        listener,
        state(access()),
        async move {
            let _ = stop_rx.wait_for(|s| *s).await;
        },
    ));
    let c = session(&drv, false).await;
    c.goto(&format!("{web}/alerts")).await.unwrap();
    until(
        &c,
        10,
        "return location.pathname === '/signin' && !!document.querySelector('#username')",
        "sent to sign in",
    )
    .await;
    shot(&c, "signin").await;
    c.find(Locator::Css("#username"))
        .await
        .unwrap()
        .send_keys("ada")
        .await
        .unwrap();
    c.find(Locator::Css("#password"))
        .await
        .unwrap()
        .send_keys("not the password")
        .await
        .unwrap();
    click(&c, "#signin").await;
    until(&c, 10, "var e = document.querySelector('.signin .error'); return !!e && e.textContent.indexOf('Wrong user name or password') >= 0", "a wrong password is refused").await;
    c.find(Locator::Css("#password"))
        .await
        .unwrap()
        .send_keys(PASSWORD)
        .await
        .unwrap();
    click(&c, "#signin").await;
    until(
        &c,
        10,
        "return location.pathname === '/alerts' && !!document.querySelector('.user-menu .who')",
        "back on the page, signed in",
    )
    .await;
    let who = js(
        &c,
        "return document.querySelector('.user-menu .who').textContent",
    )
    .await;
    assert!(who.as_str().unwrap().contains("ada"), "{who}");
    assert!(who.as_str().unwrap().contains("admin"), "{who}");
    // The session cookie is not readable by scripts.
    let visible = js(&c, "return document.cookie").await;
    assert!(
        !visible.as_str().unwrap().contains("rackscope_session"),
        "{visible}"
    );
    shot(&c, "signed-in").await;
    click(&c, ".user-menu button.signout").await;
    until(
        &c,
        10,
        "return location.pathname === '/signin' && !!document.querySelector('#username')",
        "signed out",
    )
    .await;
    c.goto(&format!("{web}/checks")).await.unwrap();
    until(
        &c,
        10,
        "return location.pathname === '/signin' && location.search.indexOf('next=%2Fchecks') >= 0",
        "a protected page sends to sign in again",
    )
    .await;
    c.close().await.unwrap();
    let _ = stop.send(true);
    task.await.unwrap().unwrap();
}

/// Seed 002 in a real browser, over the simulator scraped by a real Prometheus: a rack page
/// is open in one window; in another, the checks editor opens the power check's file, lowers
/// its CRIT threshold below every node's draw, and saves. The open rack page turns CRIT
/// without a restart. Then a broken edit is refused inline and nothing is written.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_edits_a_threshold_and_the_open_rack_page_follows() {
    if !available() {
        return;
    }
    let Some(drv) = driver() else { return };
    let tmp = tempfile::tempdir().unwrap();
    crate::support::copy_dir(&root().join("config/demo-small"), tmp.path());
    let app = tmp.path().join("app.yaml");
    let (sim, sim_addr, _sim_stop) = start_simulator(&app, Some(IncidentMode::FullOk)).await;
    let prom = Prometheus::scraping(std::slice::from_ref(&sim_addr), 1).unwrap();
    let config = sim.world().config.clone();
    // A rack holding a node the power check watches.
    let rack = config
        .topology
        .devices
        .iter()
        .find(|d| {
            config.catalog.devices.get(&d.template_id).is_some_and(|t| {
                rackscope_core::bind::device_template_checks(&t.def)
                    .any(|c| c.value == "node_power_high")
            })
        })
        .map(|d| config.topology.racks[d.rack].id.clone())
        .unwrap();
    let served = Served::start(&config, &prom.url()).await;
    let web = served.web.clone();

    let watcher = session(&drv, false).await;
    watcher
        .goto(&format!("{web}/views/rack/{rack}"))
        .await
        .unwrap();
    until(&watcher, 60, "var b = document.querySelector('main h1 .badge'); return !!b && / OK$/.test(b.textContent.trim())", "the rack is OK first").await;

    let editor = session(&drv, false).await;
    editor.goto(&format!("{web}/editors/checks")).await.unwrap();
    click(&editor, "a[href*='node.yaml']").await;
    until(
        &editor,
        10,
        "return !!document.querySelector('textarea[name=text]')",
        "the editor opens",
    )
    .await;
    let file = tmp.path().join("checks/library/node.yaml");
    let before = std::fs::read_to_string(&file).unwrap();
    js(&editor, "var t = document.querySelector('textarea[name=text]'); t.value = t.value.replace('value: 800', 'value: 1'); return true").await;
    click(&editor, "button[name=action][value=save]").await;
    until(&editor, 20, "return location.search.indexOf('saved=1') >= 0 && document.body.textContent.indexOf('Saved') >= 0", "saved and reloaded").await;
    let after = std::fs::read_to_string(&file).unwrap();
    assert_eq!(
        after,
        before.replace("value: 800", "value: 1"),
        "only the threshold changed"
    );
    shot(&editor, "editor-saved").await;

    until(&watcher, 60, "var b = document.querySelector('main h1 .badge'); return !!b && / CRIT$/.test(b.textContent.trim())", "the open rack page turns CRIT").await;
    shot(&watcher, "rack-after-edit").await;

    // A broken edit: refused at its line, the file untouched.
    js(&editor, "var t = document.querySelector('textarea[name=text]'); t.value = t.value.replace('rules:', 'rules: ['); return true").await;
    click(&editor, "button[name=action][value=save]").await;
    until(&editor, 20, "return !!document.querySelector('.gutter .mark-error') && document.body.textContent.indexOf('Not saved') >= 0", "the error is shown inline").await;
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        after,
        "nothing written"
    );
    shot(&editor, "editor-refused").await;

    editor.close().await.unwrap();
    watcher.close().await.unwrap();
    served.stop().await.unwrap();
}

/// A copy of the health fixture served on loopback with sign-in on, for tests that write
/// (no Prometheus: the pages only have to be served and the edits saved and reloaded).
struct Writable {
    tmp: tempfile::TempDir,
    web: String,
    state: rackscope::server::AppState,
    stop: tokio::sync::watch::Sender<bool>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Writable {
    async fn start() -> Writable {
        use crate::support::auth::access;
        use rackscope_core::telemetry::Engine;
        use rackscope_core::testkit::Table;
        let tmp = tempfile::tempdir().unwrap();
        crate::support::copy_dir(&root().join("tests/fixtures/health"), tmp.path());
        let loaded = crate::support::load(&tmp.path().join("app.yaml"));
        assert!(loaded.is_usable());
        let mut config = loaded.config;
        config.access = access();
        let table = Table::new(crate::support::fixture::world());
        let engine = std::sync::Arc::new(Engine::new(
            std::sync::Arc::new(config),
            std::sync::Arc::new(table),
        ));
        let state = rackscope::server::AppState::new(engine).unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let web = format!("http://{}", listener.local_addr().unwrap());
        let (stop, mut stop_rx) = tokio::sync::watch::channel(false);
        let task = tokio::spawn(rackscope::server::run(
            listener,
            state.clone(),
            async move {
                let _ = stop_rx.wait_for(|s| *s).await;
            },
        ));
        Writable {
            tmp,
            web,
            state,
            stop,
            task,
        }
    }

    async fn stop(self) {
        let _ = self.stop.send(true);
        tokio::time::timeout(Duration::from_secs(10), self.task)
            .await
            .expect("the server stops with pages open")
            .unwrap()
            .unwrap();
    }
}

/// Signs `ada` (admin) in through the form and lands on `next`.
async fn sign_in_as_admin(c: &Client, web: &str, next: &str) {
    c.goto(&format!(
        "{web}/signin?next={}",
        url::form_urlencoded::byte_serialize(next.as_bytes()).collect::<String>()
    ))
    .await
    .unwrap();
    for (field, value) in [
        ("#username", "ada"),
        ("#password", crate::support::auth::PASSWORD),
    ] {
        c.wait()
            .at_most(Duration::from_secs(10))
            .for_element(Locator::Css(field))
            .await
            .unwrap()
            .send_keys(value)
            .await
            .unwrap();
    }
    click(c, "#signin").await;
    until(
        c,
        10,
        &format!(
            "return location.pathname + location.search === {} && !!document.querySelector('.user-menu .who')",
            json!(next)
        ),
        "signed in and sent on",
    )
    .await;
}

/// Issue #18's highlighting: on a YAML file's editor, Prism (served by the binary, run by
/// rackscope.js, nothing inline) paints a layer exactly under the text area, follows what
/// is typed, steps aside for a text too large, keeps the gutter's diagnostics, and the form
/// still saves what was typed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_highlights_yaml_under_the_editor_and_the_form_still_saves() {
    let Some(drv) = driver() else { return };
    let w = Writable::start().await;
    let file = w.tmp.path().join("checks/checks.yaml");
    let before = std::fs::read_to_string(&file).unwrap();
    let c = session(&drv, false).await;
    let page = "/editors/checks/checks.yaml";
    sign_in_as_admin(&c, &w.web, page).await;
    until(
        &c,
        10,
        "return !!document.querySelector('.editor-pane.hl pre.editor-hl[aria-hidden=true] > code .token.key')",
        "YAML keys highlighted",
    )
    .await;
    let layer = js(
        &c,
        "var t = document.querySelector('textarea.editor-text'), p = document.querySelector('pre.editor-hl');
         var a = t.getBoundingClientRect(), b = p.getBoundingClientRect(), s = getComputedStyle(t), q = getComputedStyle(p);
         var look = function (x) { return [x.fontFamily, x.fontSize, x.lineHeight, x.paddingTop, x.paddingLeft, x.tabSize, x.whiteSpace, x.letterSpacing].join('|'); };
         return {
           box: [a.left, a.top, a.width, a.height].join() === [b.left, b.top, b.width, b.height].join(),
           look: look(s) === look(q) ? 'same' : look(s) + ' / ' + look(q),
           color: s.color, caret: s.caretColor,
           text: p.textContent === t.value + '\\n',
           keys: Array.prototype.map.call(p.querySelectorAll('.token.key.atrule'), function (k) { return k.textContent; }),
           numbers: p.querySelectorAll('.token.number').length,
           inForm: t.form === document.querySelector('form.editor-form')
         };",
    )
    .await;
    assert_eq!(
        layer["box"], true,
        "the layer is not under the text: {layer}"
    );
    assert_eq!(layer["look"], "same", "{layer}");
    assert_eq!(layer["color"], "rgba(0, 0, 0, 0)", "{layer}");
    assert_ne!(layer["caret"], "rgba(0, 0, 0, 0)", "{layer}");
    assert_eq!(layer["text"], true, "{layer}");
    let keys: Vec<&str> = layer["keys"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    for k in ["checks", "id", "expr", "rules"] {
        assert!(keys.contains(&k), "no key token {k}: {keys:?}");
    }
    assert!(layer["numbers"].as_u64().unwrap() > 0, "{layer}");
    assert_eq!(layer["inForm"], true, "{layer}");
    shot(&c, "editor-highlighted").await;

    // Typed keys (real key events) repaint the layer.
    js(&c, "var t = document.querySelector('textarea.editor-text'); t.focus(); t.setSelectionRange(t.value.length, t.value.length); return true").await;
    c.find(Locator::Css("textarea.editor-text"))
        .await
        .unwrap()
        .send_keys("# typed in the browser\n")
        .await
        .unwrap();
    until(
        &c,
        5,
        "var p = document.querySelector('pre.editor-hl'), t = document.querySelector('textarea.editor-text');
         return p.textContent === t.value + '\\n' && Array.prototype.some.call(p.querySelectorAll('.token.comment'), function (e) { return e.textContent === '# typed in the browser'; })",
        "the layer following what is typed",
    )
    .await;

    // Past 2 MiB the text is left plain (no layer, visible text), and highlighted again below.
    js(&c, "var t = document.querySelector('textarea.editor-text'); window.__kept = t.value; t.value += '# ' + 'x'.repeat(2200000) + '\\n'; t.dispatchEvent(new Event('input')); return true").await;
    until(
        &c,
        5,
        "var t = document.querySelector('textarea.editor-text'); return !t.closest('.editor-pane').classList.contains('hl') && getComputedStyle(t).color !== 'rgba(0, 0, 0, 0)' && document.querySelector('pre.editor-hl').textContent === ''",
        "a large text left plain",
    )
    .await;
    js(&c, "var t = document.querySelector('textarea.editor-text'); t.value = window.__kept; t.dispatchEvent(new Event('input')); return true").await;
    until(
        &c,
        5,
        "return !!document.querySelector('.editor-pane.hl pre.editor-hl .token.comment')",
        "highlighted again",
    )
    .await;
    no_csp_violation(&c, "highlighting and typing").await;

    click(&c, "button[name=action][value=save]").await;
    until(
        &c,
        10,
        "return location.search.indexOf('saved=1') >= 0 && document.body.textContent.indexOf('Saved') >= 0 && !!document.querySelector('.editor-pane.hl .editor-hl .token.comment')",
        "saved, and highlighted after the reload",
    )
    .await;
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        format!("{before}# typed in the browser\n"),
        "what was typed is saved"
    );

    // The diagnostics still mark the gutter, the highlighting beside them.
    js(&c, "var t = document.querySelector('textarea.editor-text'); t.value = t.value.replace('rules:', 'rules: ['); t.dispatchEvent(new Event('input')); return true").await;
    click(&c, "button[name=action][value=validate]").await;
    until(
        &c,
        10,
        "var m = document.querySelector('.gutter .mark-error'); return !!m && !!m.title && !!document.querySelector('.editor-pane.hl .editor-hl .token.key') && document.querySelector('textarea.editor-text').value.indexOf('rules: [') >= 0",
        "the error marked in the gutter of a highlighted editor",
    )
    .await;
    shot(&c, "editor-highlighted-error").await;
    no_csp_violation(&c, "saving and validating").await;
    c.close().await.unwrap();
    w.stop().await;
}

/// Issue #18's rack forms in a real browser: an admin adds a device at a free U and sees it
/// in the elevation after the redirect, with no restart; an overlapping U is refused with
/// its reason and the file is not touched.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_adds_a_device_on_the_rack_page_and_an_overlap_is_refused() {
    let Some(drv) = driver() else { return };
    let w = Writable::start().await;
    let file = w.tmp.path().join("topology.yaml");
    let c = session(&drv, false).await;
    sign_in_as_admin(&c, &w.web, "/views/rack/r02").await;
    let add = "#edit form.edit-form:has(input[name=op][value=add_device])";
    let device = "svg.rack-svg a[href='/views/device/r02/sw-9']";
    until(
        &c,
        10,
        &format!(
            "return !!document.querySelector(\"{add}\") && !!document.querySelector('svg.rack-svg') && !document.querySelector(\"{device}\")"
        ),
        "the rack page with its edit panel, no sw-9 yet",
    )
    .await;
    // Typed, as a user would: nothing refreshes the page before the first edit.
    for (field, value) in [("id", "sw-9"), ("name", "Switch 9"), ("u", "20")] {
        c.find(Locator::Css(&format!("{add} input[name={field}]")))
            .await
            .unwrap()
            .send_keys(value)
            .await
            .unwrap();
    }
    c.find(Locator::Css(&format!(
        "{add} select[name=template] option[value=switch]"
    )))
    .await
    .unwrap()
    .click()
    .await
    .unwrap();
    click(&c, &format!("{add} button[type=submit]")).await;
    until(
        &c,
        10,
        &format!(
            "var n = document.querySelector('#edit .notice.ok'); return location.pathname === '/views/rack/r02' && location.search === '?edited=add_device' && !!n && n.textContent.indexOf('Device added') >= 0 && !!document.querySelector(\"{device}\")"
        ),
        "the device in the elevation after the redirect",
    )
    .await;
    let after = std::fs::read_to_string(&file).unwrap();
    assert!(
        after.contains("- id: sw-9") && after.contains("u_position: 20"),
        "{after}"
    );
    js(
        &c,
        "document.getElementById('edit').scrollIntoView(); return true",
    )
    .await;
    shot(&c, "rack-device-added").await;

    // chassis-2, a 2U quad, holds U1-U2. Filled and sent in one script: the reload's
    // refresh may replace the panel (a live update) between two WebDriver commands.
    js(
        &c,
        &format!(
            "var f = document.querySelector(\"{add}\"), set = function (n, v) {{ f.querySelector('[name=' + n + ']').value = v; }};
             set('id', 'sw-10'); set('name', 'Switch 10'); set('template', 'switch'); set('u', '2');
             f.querySelector('button[type=submit]').click(); return true"
        ),
    )
    .await;
    until(
        &c,
        10,
        "var e = document.querySelector('#edit .notice.error'); return !!e && e.textContent.indexOf('would overlap') >= 0 && e.textContent.indexOf('chassis-2') >= 0",
        "the overlap refused with its reason",
    )
    .await;
    let kept = js(
        &c,
        &format!("return document.querySelector(\"{add} input[name=id]\").value"),
    )
    .await;
    assert_eq!(kept, "sw-10", "what was typed is kept");
    assert_eq!(
        std::fs::read(&file).unwrap(),
        after.as_bytes(),
        "nothing written"
    );
    js(
        &c,
        "document.getElementById('edit').scrollIntoView(); return true",
    )
    .await;
    shot(&c, "rack-overlap-refused").await;
    no_csp_violation(&c, "the rack forms").await;
    c.close().await.unwrap();
    w.stop().await;
}

/// Issue #20 in a real browser: on the CRIT rack r01, an operator starts a hiding
/// maintenance from the rack page; the floor plan marks the rack and its alerts leave the
/// room's list while its state stays shown; stopping it on the maintenances page brings
/// the alerts back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_starts_a_maintenance_on_a_crit_rack_and_stops_it() {
    let Some(drv) = driver() else { return };
    let w = Writable::start().await;
    w.state.engine.refresh().await;
    let c = session(&drv, false).await;
    sign_in_as_admin(&c, &w.web, "/views/rack/r01").await;
    until(
        &c,
        10,
        "return !!document.querySelector('details.start-maint') && !!document.querySelector('h1 .badge.st-CRIT')",
        "the CRIT rack page with its Start maintenance form",
    )
    .await;
    click(&c, "details.start-maint summary").await;
    let form = "details.start-maint form";
    c.find(Locator::Css(&format!("{form} input[name=reason]")))
        .await
        .unwrap()
        .send_keys("Firmware update")
        .await
        .unwrap();
    c.find(Locator::Css(&format!(
        "{form} select[name=effect] option[value=hide]"
    )))
    .await
    .unwrap()
    .click()
    .await
    .unwrap();
    click(&c, &format!("{form} button[type=submit]")).await;
    until(
        &c,
        10,
        "var h = document.querySelector('h1'); return location.pathname === '/views/rack/r01' && !!h && h.textContent.indexOf('in maintenance') >= 0 && !!h.querySelector('.badge.st-CRIT')",
        "the rack marked in maintenance, its CRIT state still shown",
    )
    .await;
    shot(&c, "maintenance-rack").await;
    c.goto(&format!("{}/views/room/room-a", w.web))
        .await
        .unwrap();
    let r01_alerts = "return [...document.querySelectorAll('table.alerts a')].filter(function (a) { return a.getAttribute('href').indexOf('/views/rack/r01') === 0 }).length";
    until(
        &c,
        10,
        &format!(
            "return !!document.querySelector(\"a.rack.in-maint[href='/views/rack/r01']\") && !document.querySelector(\"a.rack.in-maint[href='/views/rack/r02']\") && (function () {{ {r01_alerts} }})() === 0"
        ),
        "r01 marked on the floor plan, its alerts gone from the room's list",
    )
    .await;
    shot(&c, "maintenance-floor-plan").await;
    c.goto(&format!("{}/maintenances", w.web)).await.unwrap();
    until(
        &c,
        10,
        "return !!document.querySelector('table.maint-table button[value=stop]')",
        "the window listed with its Stop button",
    )
    .await;
    click(&c, "table.maint-table button[value=stop]").await;
    until(
        &c,
        10,
        "return !!document.querySelector('table.maint-table button[value=reactivate]')",
        "the window stopped",
    )
    .await;
    c.goto(&format!("{}/views/room/room-a", w.web))
        .await
        .unwrap();
    until(
        &c,
        10,
        &format!(
            "return !!document.querySelector(\"a.rack[href='/views/rack/r01']\") && !document.querySelector('a.rack.in-maint') && (function () {{ {r01_alerts} }})() > 0"
        ),
        "the alerts of r01 back, the marker gone",
    )
    .await;
    no_csp_violation(&c, "the maintenance pages").await;
    c.close().await.unwrap();
    w.stop().await;
}

/// The NOC console's notice and triage (issue #22): on an open alerts page, a node forced
/// down through the simulator raises a toast and increments the bell within a refresh or
/// two, with no reload; the table sorts and filters by clicks, marks what went into alert
/// since the last visit, and fits a phone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_is_told_of_a_new_crit_and_triages_it() {
    if !available() {
        return;
    }
    let Some(drv) = driver() else { return };
    let app = root().join("config/demo-small/app.yaml");
    let (sim, sim_addr, _sim_stop) = start_simulator(&app, Some(IncidentMode::FullOk)).await;
    let prom = Prometheus::scraping(std::slice::from_ref(&sim_addr), 1).unwrap();
    let config = sim.world().config.clone();
    let served = Served::start(&config, &prom.url()).await;
    let web = served.web.clone();
    // A healthy estate first, so that the CRIT to come is the only one.
    let deadline = Instant::now() + Duration::from_secs(60);
    while served
        .engine
        .snapshot()
        .is_none_or(|s| s.health.global != Some(rackscope_core::Severity::Ok))
    {
        assert!(Instant::now() < deadline, "the demo never came up all OK");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let node = sim
        .world()
        .nodes
        .iter()
        .find(|n| n.class == rackscope_simulator::world::Class::Compute)
        .unwrap()
        .name
        .clone();

    let c = session(&drv, false).await;
    c.goto(&format!("{web}/alerts")).await.unwrap();
    until(
        &c,
        10,
        "var s = document.getElementById('notify-settings'); return !!s && !s.hidden && document.getElementById('bell-crit').textContent === '0'",
        "the bell at 0 CRIT, its settings shown with JavaScript on",
    )
    .await;
    sim.add_override(
        rackscope_simulator::Override {
            id: "down".into(),
            instance: Some(node.clone()),
            rack_id: None,
            metric: "up".into(),
            value: 0.0,
            slot: None,
            expires_at: None,
        },
        Some(0),
        rackscope_simulator::unix_now(),
    )
    .unwrap();
    until(
        &c,
        30,
        &format!(
            "var t = document.querySelector('.toasts .alert-toast.st-CRIT'); return !!t && t.textContent.indexOf('{node}') >= 0 && document.getElementById('bell-crit').textContent === '1' && document.getElementById('bell').classList.contains('ring')"
        ),
        "a CRIT toast naming the node, and the bell at 1",
    )
    .await;
    shot(&c, "toast-1920").await;
    // The toast links to the node's device.
    let href = js(
        &c,
        "return document.querySelector('.toasts .alert-toast.st-CRIT').getAttribute('href')",
    )
    .await;
    assert!(
        href.as_str()
            .unwrap_or_default()
            .starts_with("/views/device/"),
        "{href}"
    );
    // The live table has the node, marked new: it arrived while the page was open.
    let marked_new = format!(
        "var r = document.querySelector('table.triage tbody tr.new'); return !!r && !!r.querySelector('.badge-new') && r.textContent.indexOf('{node}') >= 0"
    );
    until(
        &c,
        10,
        &marked_new,
        "the node's row in the live table, marked new",
    )
    .await;
    // A click on a header sorts by it, in the URL; this visit comes after the one that
    // saw the estate healthy, so the row is still new.
    click(&c, "table.triage th:nth-child(5) a").await;
    until(&c, 10, "return location.search.indexOf('sort=since') >= 0 && !!document.querySelector('table.triage th[aria-sort=ascending]')", "sorted by how long active").await;
    until(
        &c,
        10,
        &marked_new,
        "the row still marked new after the sort",
    )
    .await;
    shot(&c, "alerts-triage-1920").await;
    // Seen now: the next visit marks nothing.
    c.goto(&format!("{web}/alerts?q={node}")).await.unwrap();
    until(&c, 10, &format!("return [...document.querySelectorAll('table.triage a')].some(function (a) {{ return a.textContent === '{node}' }}) && !document.querySelector('table.triage tr.new')"), "nothing new on the next visit").await;
    // The settings are kept per browser: toasts moved to the bottom left.
    click(&c, "#notify-settings summary").await;
    c.find(Locator::Css(
        "#notify-form select[name=position] option[value=bottom-left]",
    ))
    .await
    .unwrap()
    .click()
    .await
    .unwrap();
    until(&c, 5, "return JSON.parse(localStorage.getItem('rackscope.notify') || '{}').position === 'bottom-left' && !!document.querySelector('.toasts.pos-bottom-left')", "the position kept").await;
    no_csp_violation(&c, "the notifications").await;
    c.close().await.unwrap();

    let p = session(&drv, true).await;
    let pages = [
        ("alerts-triage", "/alerts?sort=since&dir=desc".to_owned()),
        ("alerts-export-page", format!("/alerts?q={node}")),
    ];
    fits_a_phone(&p, &web, &pages).await;
    p.close().await.unwrap();
    tokio::time::timeout(Duration::from_secs(10), served.stop())
        .await
        .expect("the server stops with pages open")
        .unwrap();
}

/// The wallboard's controls (issue #22): a countdown to the next view, pause (kept while
/// the wallboard moves on by hand), previous and next by click and by key.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_pauses_and_skips_the_wallboard() {
    let Some(drv) = driver() else { return };
    let w = Writable::start().await;
    w.state.engine.refresh().await;
    let c = session(&drv, false).await;
    sign_in_as_admin(&c, &w.web, "/checks").await;
    c.goto(&format!("{}/wallboard", w.web)).await.unwrap();
    let count = "return document.querySelector('#pl-bar .pl-count').textContent";
    until(
        &c,
        10,
        "var b = document.getElementById('pl-bar'); return location.search.indexOf('pl=0') >= 0 && !!b && !b.querySelector('.pl-pause').hidden && /^next in [0-9]+ s$/.test(b.querySelector('.pl-count').textContent)",
        "the first view with its countdown",
    )
    .await;
    let first = js(&c, count).await;
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let later = js(&c, count).await;
    assert_ne!(first, later, "the countdown runs");
    shot(&c, "wallboard-controls-1920").await;
    click(&c, "#pl-bar .pl-pause").await;
    until(
        &c,
        5,
        "return document.querySelector('#pl-bar .pl-count').textContent === 'paused'",
        "paused",
    )
    .await;
    // Skipping by hand keeps the wallboard paused.
    click(&c, "#pl-bar .pl-next").await;
    until(&c, 10, "return location.search.indexOf('pl=1') >= 0 && document.querySelector('#pl-bar .pl-count').textContent === 'paused'", "the next view, still paused").await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(js(&c, count).await, json!("paused"));
    // Resumed by key; the arrow goes back.
    js(
        &c,
        "document.activeElement && document.activeElement.blur(); return true",
    )
    .await;
    c.active_element()
        .await
        .unwrap()
        .send_keys(" ")
        .await
        .unwrap();
    until(
        &c,
        5,
        "return /^next in [0-9]+ s$/.test(document.querySelector('#pl-bar .pl-count').textContent)",
        "resumed by space",
    )
    .await;
    c.active_element()
        .await
        .unwrap()
        .send_keys("\u{E012}")
        .await
        .unwrap();
    until(
        &c,
        10,
        "return location.search.indexOf('pl=0') >= 0",
        "back by the left arrow",
    )
    .await;
    no_csp_violation(&c, "the wallboard").await;
    c.close().await.unwrap();
    w.stop().await;
}

/// The logs page (issue #22): with JavaScript on it follows the stream and appends each new
/// entry without a reload, holds them while paused and adds them on resume; a message of
/// thousands of characters without a space wraps instead of widening a phone's page.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_follows_the_log_live_pauses_and_fits_a_phone() {
    use rackscope::logbook::Entry;
    use tracing::Level;
    let Some(drv) = driver() else { return };
    let w = Writable::start().await;
    let logs = w.state.logs.clone();
    logs.push(Entry::new(
        Level::WARN,
        "rackscope_core::telemetry::engine::a::very::long::module::path::indeed",
        &format!("query failed: {}", "x".repeat(3000)),
    ));
    logs.push(
        Entry::new(Level::INFO, "rackscope::audit", "users reloaded")
            .field("who", &"y".repeat(500)),
    );
    let c = session(&drv, false).await;
    sign_in_as_admin(&c, &w.web, "/logs").await;
    until(
        &c,
        10,
        "var s = document.getElementById('log-status'); return !document.getElementById('log-controls').hidden && !!s && s.textContent === 'live'",
        "the stream open, its controls shown",
    )
    .await;
    js(&c, "window.__sameDocument = 7; return true").await;
    logs.push(Entry::new(
        Level::ERROR,
        "rackscope::ui",
        "appended <b>live</b>",
    ));
    until(
        &c,
        10,
        "var r = document.querySelector('#log-rows tr:last-child'); return window.__sameDocument === 7 && !!r && r.querySelector('.log-msg').textContent === 'appended <b>live</b>' && !!r.querySelector('.badge.st-CRIT')",
        "the new entry appended as text, without a reload",
    )
    .await;
    click(&c, "#log-pause").await;
    until(
        &c,
        5,
        "return document.getElementById('log-status').textContent === 'paused'",
        "paused",
    )
    .await;
    logs.push(Entry::new(Level::INFO, "rackscope::x", "held while paused"));
    until(
        &c,
        10,
        "return document.getElementById('log-status').textContent === 'paused, 1 new'",
        "one entry held",
    )
    .await;
    assert_eq!(
        js(&c, "return document.getElementById('log-rows').textContent.indexOf('held while paused') >= 0").await,
        json!(false)
    );
    click(&c, "#log-pause").await;
    until(
        &c,
        5,
        "return document.getElementById('log-rows').textContent.indexOf('held while paused') >= 0",
        "the held entry added on resume",
    )
    .await;
    shot(&c, "logs-1920").await;
    no_csp_violation(&c, "the logs page").await;
    c.close().await.unwrap();

    let p = session(&drv, true).await;
    sign_in_as_admin(&p, &w.web, "/logs").await;
    fits_a_phone(&p, &w.web, &[("logs", "/logs".to_owned())]).await;
    p.close().await.unwrap();
    w.stop().await;
}

/// Issue #22's floor plan: the heat style colours racks from live temperatures, the hover
/// card carries the failing checks and the temperature bar, and the plan zooms by button
/// and wheel, pans by drag, keeps its zoom across a reload and fits back; every style fits
/// a phone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_zooms_pans_and_heats_a_room() {
    let Some(drv) = driver() else { return };
    let w = Writable::start().await;
    w.state.engine.refresh().await;
    let c = session(&drv, false).await;
    sign_in_as_admin(&c, &w.web, "/views/room/room-a?style=heat").await;
    until(
        &c,
        10,
        "var z = document.querySelector('.plan-zoom'); return !!z && !z.hidden && document.querySelector('svg.floorplan').classList.contains('zoomable')",
        "the zoom buttons, shown by the script",
    )
    .await;
    // r01 holds n04 at 50 °C, past the CRIT threshold: drawn red; r02's 30 °C nodes are not.
    let fills = js(
        &c,
        "return ['r01', 'r02'].map(function (id) { return getComputedStyle(document.querySelector('a[href=\"/views/rack/' + id + '\"] > rect')).fill; })",
    )
    .await;
    let rgb = |v: &Value| -> Vec<u64> {
        v.as_str()
            .unwrap_or("")
            .trim_start_matches("rgb(")
            .trim_end_matches(')')
            .split(',')
            .filter_map(|x| x.trim().parse().ok())
            .collect()
    };
    let (hot, cool) = (rgb(&fills[0]), rgb(&fills[1]));
    assert!(
        hot.len() == 3 && hot[0] > 150 && hot[2] < 60,
        "r01 red: {fills}"
    );
    assert!(cool.len() == 3 && cool[2] > cool[0], "r02 bluer: {fills}");
    shot(&c, "room-heat-1920").await;

    // The hover card: the failing nodes, the temperature bar.
    js(&c, "var r = document.querySelector('a[href=\"/views/rack/r01\"] rect'), b = r.getBoundingClientRect(); r.dispatchEvent(new PointerEvent('pointermove', {bubbles: true, pointerType: 'mouse', clientX: b.x + 5, clientY: b.y + 5})); return true").await;
    until(
        &c,
        5,
        "var h = document.getElementById('hud'); return !h.hidden && /hottest node 50.0/.test(h.textContent) && /node_temperature/.test(h.textContent) && !!h.querySelector('.hud-bar.temp b')",
        "the hover card with checks and temperature",
    )
    .await;
    shot(&c, "room-hud-1920").await;

    let vb = "return document.querySelector('svg.floorplan').getAttribute('viewBox').split(' ').map(Number)";
    let full = js(&c, vb).await;
    click(&c, "[data-zoom=in]").await;
    let zoomed = js(&c, vb).await;
    let width = |v: &Value| v[2].as_f64().unwrap_or(0.0);
    assert!(
        (width(&full) / width(&zoomed) - 1.5).abs() < 0.01,
        "one step is 1.5×: {full} → {zoomed}"
    );
    // The wheel zooms in further around the pointer.
    js(&c, "var s = document.querySelector('svg.floorplan'), r = s.getBoundingClientRect(); s.dispatchEvent(new WheelEvent('wheel', {deltaY: -200, clientX: r.left + r.width / 2, clientY: r.top + r.height / 2, bubbles: true, cancelable: true})); return true").await;
    let wheeled = js(&c, vb).await;
    assert!(width(&wheeled) < width(&zoomed), "{zoomed} → {wheeled}");
    // A drag pans: the view moves against the pointer.
    js(&c, "var s = document.querySelector('svg.floorplan'), r = s.getBoundingClientRect(), x = r.left + r.width / 2, y = r.top + 5; function p(t, dx) { s.dispatchEvent(new PointerEvent(t, {pointerId: 7, pointerType: 'mouse', button: 0, clientX: x + dx, clientY: y, bubbles: true})); } p('pointerdown', 0); p('pointermove', -40); p('pointermove', -80); p('pointerup', -80); return true").await;
    let panned = js(&c, vb).await;
    assert!(
        panned[0].as_f64() > wheeled[0].as_f64() && width(&panned) == width(&wheeled),
        "{wheeled} → {panned}"
    );
    shot(&c, "room-zoomed-1920").await;
    // Kept across a reload of the page (and so across live updates), until "Fit".
    c.refresh().await.unwrap();
    until(
        &c,
        10,
        &format!(
            "var v = document.querySelector('svg.floorplan').getAttribute('viewBox'); return v === {}",
            json!(panned
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.to_string())
                .collect::<Vec<_>>()
                .join(" "))
        ),
        "the zoom kept across a reload",
    )
    .await;
    click(&c, "[data-zoom=reset]").await;
    assert_eq!(js(&c, vb).await, full);
    no_csp_violation(&c, "the floor plan").await;

    // A device's hover card on the rack page, and a node's.
    c.goto(&format!("{}/views/rack/r01", w.web)).await.unwrap();
    until(
        &c,
        10,
        "return !!document.querySelector('#dev-chassis-1 .device-body')",
        "the rack page",
    )
    .await;
    js(&c, "var r = document.querySelector('#dev-chassis-1 .device-body'), b = r.getBoundingClientRect(); r.dispatchEvent(new PointerEvent('pointermove', {bubbles: true, pointerType: 'mouse', clientX: b.x + 3, clientY: b.y + 3})); return true").await;
    until(&c, 5, "var h = document.getElementById('hud'); return !h.hidden && /chassis-1/.test(h.textContent) && /hottest node 50.0/.test(h.textContent) && /n04/.test(h.textContent)", "the device's hover card").await;
    js(&c, "var r = document.querySelector('#dev-chassis-1 rect.cell[data-name=n04]'), b = r.getBoundingClientRect(); r.dispatchEvent(new PointerEvent('pointermove', {bubbles: true, pointerType: 'mouse', clientX: b.x + 1, clientY: b.y + 1})); return true").await;
    until(&c, 5, "var h = document.getElementById('hud'); return !h.hidden && h.querySelector('.hud-name').textContent === 'n04' && /node_temperature = 50/.test(h.textContent)", "the node's hover card").await;
    shot(&c, "rack-hud-1920").await;

    // The world map zooms the same way, and its markers grow less than the map.
    c.goto(&format!("{}/", w.web)).await.unwrap();
    until(
        &c,
        10,
        "var z = document.querySelector('[data-for=map]'); return !!z && !z.hidden",
        "the map's zoom buttons",
    )
    .await;
    let map = "return document.querySelector('svg.worldmap').getAttribute('viewBox').split(' ').map(Number)";
    let home = js(&c, map).await;
    click(&c, "[data-for=map] [data-zoom=in]").await;
    click(&c, "[data-for=map] [data-zoom=in]").await;
    let closer = js(&c, map).await;
    assert!(
        (width(&home) / width(&closer) - 2.25).abs() < 0.01,
        "{home} → {closer}"
    );
    shot(&c, "worldmap-zoomed-1920").await;
    click(&c, "[data-for=map] [data-zoom=reset]").await;
    assert_eq!(js(&c, map).await, home);
    no_csp_violation(&c, "the world map").await;
    c.close().await.unwrap();

    let p = session(&drv, true).await;
    sign_in_as_admin(&p, &w.web, "/").await;
    let pages: Vec<(&str, String)> = ["state", "compact", "cells", "gauge", "heat"]
        .iter()
        .map(|s| ("room", format!("/views/room/room-a?style={s}")))
        .collect();
    for (i, (_, path)) in pages.iter().enumerate() {
        let name = format!("room-{}", ["state", "compact", "cells", "gauge", "heat"][i]);
        fits_a_phone(&p, &w.web, &[(name.as_str(), path.clone())]).await;
    }
    p.close().await.unwrap();
    w.stop().await;
}

/// Issue #22's own playlist: built on /playlist, kept in this browser, played with the
/// wallboard's controls; a reload of /playlist shows what was saved.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_builds_its_own_playlist_and_plays_it() {
    let Some(drv) = driver() else { return };
    let w = Writable::start().await;
    w.state.engine.refresh().await;
    let c = session(&drv, false).await;
    sign_in_as_admin(&c, &w.web, "/playlist").await;
    until(
        &c,
        10,
        "return !document.getElementById('my-playlist').hidden",
        "the builder, shown by the script",
    )
    .await;
    js(&c, "var f = document.getElementById('my-playlist'); ['/alerts', '/views/room/room-a'].forEach(function (v) { var b = f.querySelector('input[type=checkbox][value=\"' + v + '\"]'); b.checked = true; b.closest('label').querySelector('.pl-secs').value = v === '/alerts' ? '7' : '40'; }); return true").await;
    shot(&c, "playlist-1920").await;
    click(&c, "#my-playlist button[type=submit]").await;
    until(
        &c,
        10,
        "var b = document.getElementById('pl-bar'); return location.pathname === '/alerts' && !!b && b.querySelector('.pl-pos').textContent === '1 / 2 (yours)' && /mine=1$/.test(b.querySelector('.pl-next').href) && /^next in [0-7] s$/.test(b.querySelector('.pl-count').textContent)",
        "the first view of my playlist, with its own time",
    )
    .await;
    click(&c, "#pl-bar .pl-next").await;
    until(&c, 10, "return location.pathname === '/views/room/room-a' && document.querySelector('#pl-bar .pl-pos').textContent === '2 / 2 (yours)'", "the second view").await;
    c.goto(&format!("{}/playlist", w.web)).await.unwrap();
    until(&c, 10, "var b = document.querySelector('#my-playlist input[value=\"/alerts\"]'); return !!b && b.checked && b.closest('label').querySelector('.pl-secs').value === '7'", "the saved playlist shown again").await;
    no_csp_violation(&c, "the playlist").await;
    c.close().await.unwrap();
    let p = session(&drv, true).await;
    sign_in_as_admin(&p, &w.web, "/").await;
    fits_a_phone(
        &p,
        &w.web,
        &[
            ("playlist", "/playlist".to_owned()),
            ("cluster", "/views/cluster?racks=r01,r02,r03".to_owned()),
            ("site", "/views/site/dc1".to_owned()),
            ("overview", "/".to_owned()),
        ],
    )
    .await;
    p.close().await.unwrap();
    w.stop().await;
}
