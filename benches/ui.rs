//! Page rendering benchmark (issue #6), printing figures rather than asserting them: the
//! server time to build and render the room page and the rack page of the largest example
//! (targets: room under 20 ms, rack under 10 ms), and the weight of every room, rack and
//! device page and of the overview and alerts pages (target: none over 200 KB).
//!
//! Run: `cargo bench --bench ui` (release build). Uses `../shared`'s hpc-cluster when it is
//! there, and the project's `config/demo-multisite` in any case.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant, UNIX_EPOCH};

use rackscope::server::AppState;
use rackscope::ui::chrome::chrome;
use rackscope::ui::pages;
use rackscope::ui::{Ctx, Page};
use rackscope_core::telemetry::{Engine, plan};
use rackscope_core::testkit::{Table, one_series_per_id};
use rackscope_core::topology::RackIx;

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let shared = root.join("../shared/fixtures/upstream-examples/hpc-cluster/app.yaml");
    if shared.exists() {
        bench(&rt, &shared);
    } else {
        println!("skipping hpc-cluster: ../shared is not here");
    }
    bench(&rt, &root.join("config/demo-multisite/app.yaml"));
}

/// Median and maximum of `runs` timings of `f`, in milliseconds.
fn time(runs: usize, mut f: impl FnMut() -> usize) -> (f64, f64, usize) {
    let mut t = Vec::with_capacity(runs);
    let mut size = 0;
    for _ in 0..runs {
        let s = Instant::now();
        size = std::hint::black_box(f());
        t.push(s.elapsed().as_secs_f64() * 1000.0);
    }
    t.sort_by(f64::total_cmp);
    (t[runs / 2], t[runs - 1], size)
}

fn bench(rt: &tokio::runtime::Runtime, app: &Path) {
    let loaded = rackscope_core::load_with_env(app, std::iter::empty());
    assert!(loaded.is_usable(), "{}", app.display());
    let config = Arc::new(loaded.config);
    // Every planned query answers one series per id with value 1: every target has a state.
    let p = plan(&config);
    let answers = one_series_per_id(&config, &p, 1.0);
    let source = Arc::new(
        Table::new(Vec::new())
            .with_hook(move |q| Some(Ok(answers.get(q).cloned().unwrap_or_default()))),
    );
    let engine = Arc::new(Engine::new(config.clone(), source));
    let snap = rt.block_on(engine.refresh_at(UNIX_EPOCH + Duration::from_secs(1_700_000_000)));
    let st = AppState::new(engine.clone()).unwrap();
    let ctx = Ctx {
        theme: "dark",
        playlist: None,
        fragment: false,
        request_id: "bench".into(),
        here: "/".into(),
        user: rackscope::ui::UserView::default(),
    };
    let topo = &config.topology;
    println!(
        "== {}: {} rooms, {} racks, {} devices, {} instances, {} alerts ==",
        app.display(),
        topo.rooms.len(),
        topo.racks.len(),
        topo.devices.len(),
        topo.instances.len(),
        snap.health.alerts.len()
    );

    // The largest room (most racks) and the largest rack (most nodes).
    let room = topo
        .rooms
        .iter()
        .max_by_key(|r| topo.room_racks(topo.room_ix(&r.id).unwrap()).count())
        .unwrap();
    let rack_ix = topo
        .racks
        .ixs()
        .max_by_key(|&x| {
            topo.racks[x]
                .devices
                .iter()
                .map(|&d| snap.plan.targets.device_nodes(topo, d).len())
                .sum::<usize>()
        })
        .unwrap();
    // Every rack warm and drawing power, so the heat style weighs what it will in use.
    let live = rackscope::server::live::RoomLive {
        racks: topo
            .racks
            .ixs()
            .map(|x| {
                (
                    x,
                    rackscope::server::live::RackHeat {
                        temp_max: Some(30.0 + (x.index() % 20) as f64),
                        power_sum: Some(1000.0 * (x.index() % 9) as f64),
                    },
                )
            })
            .collect(),
        temp_thresholds: (Some(38.0), Some(45.0)),
        error: None,
    };
    let render_room_as = |id: &str, style: rackscope::ui::draw::Style| {
        let prefs = pages::room::plan::Prefs {
            style,
            ..Default::default()
        };
        let page = pages::room::build(
            Some(&snap),
            &config,
            &config.maintenances,
            topo.room_ix(id).unwrap(),
            &prefs,
            Some(&live),
        );
        let c = chrome(&st, &ctx, &config, Some(&snap), &page.name, "", Vec::new());
        st.ui
            .render(pages::room::RoomPage::TEMPLATE, &c, &page, None)
            .unwrap()
            .len()
    };
    let render_room = |id: &str| render_room_as(id, rackscope::ui::draw::Style::State);
    let render_rack = |x: RackIx| {
        let page = pages::rack::build(Some(&snap), &config, &config.maintenances, x, None);
        let c = chrome(&st, &ctx, &config, Some(&snap), &page.name, "", Vec::new());
        st.ui
            .render(pages::rack::RackPage::TEMPLATE, &c, &page, None)
            .unwrap()
            .len()
    };
    let runs = 200;
    let (med, max, size) = time(runs, || render_room(&room.id));
    println!(
        "room page `{}` ({} racks): median {med:.2} ms, max {max:.2} ms over {runs} renders, {:.1} KB (target < 20 ms)",
        room.id,
        topo.room_racks(topo.room_ix(&room.id).unwrap()).count(),
        size as f64 / 1024.0
    );
    let (med, max, size) = time(runs, || render_rack(rack_ix));
    println!(
        "rack page `{}` ({} devices): median {med:.2} ms, max {max:.2} ms over {runs} renders, {:.1} KB (target < 10 ms)",
        topo.racks[rack_ix].id,
        topo.racks[rack_ix].devices.len(),
        size as f64 / 1024.0
    );

    for style in rackscope::ui::draw::Style::ALL {
        let (med, _, size) = time(50, || render_room_as(&room.id, style));
        println!(
            "room page `{}` drawn as {}: median {med:.2} ms, {:.1} KB",
            room.id,
            style.name(),
            size as f64 / 1024.0
        );
    }

    // The weight of every page of the example.
    let mut heaviest: Vec<(usize, String)> = Vec::new();
    for r in &topo.rooms {
        for style in rackscope::ui::draw::Style::ALL {
            heaviest.push((
                render_room_as(&r.id, style),
                format!("room {} ({})", r.id, style.name()),
            ));
        }
    }
    for x in topo.racks.ixs() {
        heaviest.push((render_rack(x), format!("rack {}", topo.racks[x].id)));
    }
    for d in topo.devices.ixs() {
        let page = pages::device::build(Some(&snap), &config, d, None, "1h");
        let c = chrome(&st, &ctx, &config, Some(&snap), &page.name, "", Vec::new());
        let size = st
            .ui
            .render(pages::device::DevicePage::TEMPLATE, &c, &page, None)
            .unwrap()
            .len();
        heaviest.push((size, format!("device {}", topo.devices[d].id)));
    }
    let total = heaviest.len();
    heaviest.sort_by_key(|h| std::cmp::Reverse(h.0));
    let over = heaviest.iter().filter(|(s, _)| *s > 200 * 1024).count();
    println!(
        "page weight: {total} room, rack and device pages; heaviest {} at {:.1} KB; {over} over 200 KB (device pages without their charts)",
        heaviest[0].1,
        heaviest[0].0 as f64 / 1024.0
    );
    // Through the router: the pages whose data comes from the whole world, and the site,
    // cluster and playlist pages.
    let racks64: Vec<String> = topo
        .racks
        .ixs()
        .take(rackscope_core::views::MAX_RACKS)
        .map(|x| topo.rack_key(x).into_owned())
        .collect();
    let cluster = format!("/views/cluster?racks={}", racks64.join(","));
    let site = format!(
        "/views/site/{}",
        topo.sites.iter().next().map_or("", |s| s.id.as_str())
    );
    for path in [
        site.as_str(),
        cluster.as_str(),
        "/views/cluster",
        "/playlist",
        "/logs",
        "/",
        "/alerts",
        "/alerts?per=250",
        "/alerts/feed",
        "/alerts/export?format=csv",
        "/checks",
        "/?kiosk=1&pl=0",
    ] {
        let (med, _, size) = time(20, || {
            rt.block_on(async {
                use tower::ServiceExt;
                let req = axum::http::Request::get(path)
                    .body(axum::body::Body::empty())
                    .unwrap();
                let res = rackscope::server::router(st.clone())
                    .oneshot(req)
                    .await
                    .unwrap();
                axum::body::to_bytes(res.into_body(), usize::MAX)
                    .await
                    .unwrap()
                    .len()
            })
        });
        println!("{path}: median {med:.2} ms, {:.1} KB", size as f64 / 1024.0);
    }
}
