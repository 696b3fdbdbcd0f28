//! The simulator scraped by a real Prometheus: every example topology gets an `up` series
//! per instance and an answer to every query its checks plan; the demo's path end to end
//! (alerts with locations, a node forced down turns its rack CRIT); and `rackscope demo`
//! itself as a user runs it.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use rackscope_core::Severity;
use rackscope_core::telemetry::{Engine, MetricsSource, plan};
use rackscope_prometheus::PrometheusClient;
use rackscope_simulator::IncidentMode;
use serde_json::Value;

use crate::support::prom::{Prometheus, available};
use crate::support::served::{client_for, start_simulator};
use crate::support::{root, shared};

async fn series(client: &PrometheusClient, q: &str) -> Vec<rackscope_core::telemetry::Sample> {
    match client.instant(q, SystemTime::now()).await {
        Ok(r) => r.samples,
        Err(e) => panic!("{q}: {e}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_example_shows_live_series_for_every_instance_and_check() {
    let Some(examples) = shared("upstream-examples") else {
        return;
    };
    if !available() {
        return;
    }
    let mut apps = vec![
        root().join("config/demo-small/app.yaml"),
        root().join("config/demo-multisite/app.yaml"),
    ];
    for e in ["homelab", "small-cluster", "hpc-cluster"] {
        apps.push(examples.join(e).join("app.yaml"));
    }
    let mut sims = Vec::new();
    for app in &apps {
        sims.push(start_simulator(app, None).await);
    }
    // One Prometheus per simulator: instance names repeat between examples.
    let proms: Vec<Prometheus> = sims
        .iter()
        .map(|(_, addr, _)| Prometheus::scraping(std::slice::from_ref(addr), 1).unwrap())
        .collect();

    for ((app, (sim, _, _)), prom) in apps.iter().zip(&sims).zip(&proms) {
        let config = &sim.world().config;
        let client = client_for(config, &prom.url());
        let p = plan(config);
        // Every instance (and instance-less device) must have its own `up` series.
        let expected: BTreeSet<String> = sim.world().nodes.iter().map(|n| n.name.clone()).collect();
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut missing_queries;
        loop {
            let up: BTreeSet<String> = series(&client, "up{job=\"node\"}")
                .await
                .iter()
                .filter_map(|s| s.labels.get("instance").map(|v| v.to_string()))
                .collect();
            missing_queries = Vec::new();
            for q in &p.queries {
                if series(&client, &q.expr).await.is_empty() {
                    missing_queries.push(q.expr.clone());
                }
            }
            if up == expected && missing_queries.is_empty() {
                break;
            }
            if Instant::now() > deadline {
                let lacking: Vec<_> = expected.difference(&up).take(5).collect();
                panic!(
                    "{}: instances without up: {lacking:?}; queries without series: {missing_queries:#?}",
                    app.display()
                );
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        eprintln!(
            "{}: {} instances with up, {} planned queries all answered",
            app.display(),
            expected.len(),
            p.queries.len()
        );
    }
}

async fn get_json(url: &str) -> Value {
    rackscope_prometheus::tls::http_client()
        .get(url)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alerts_locate_failing_nodes_and_a_forced_down_node_turns_its_rack_crit() {
    if !available() {
        return;
    }
    let app = root().join("config/demo-small/app.yaml");
    let (sim, sim_addr, _sim_stop) = start_simulator(&app, Some(IncidentMode::Light)).await;
    let prom = Prometheus::scraping(std::slice::from_ref(&sim_addr), 1).unwrap();
    let config = sim.world().config.clone();
    let client = client_for(&config, &prom.url());
    let engine = Arc::new(Engine::new(config.clone(), Arc::new(client)));

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let web = format!("http://{}", listener.local_addr().unwrap());
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(rackscope::server::run(
        listener,
        rackscope::server::AppState::new(engine.clone()).unwrap(),
        async move {
            let _ = stop_rx.await;
        },
    ));

    // The simulator's CRIT nodes appear in /api/alerts/active with their full location.
    // The incidents are redrawn every cycle: too close to a boundary, the set drawn now
    // would be gone before Prometheus has scraped it, so start with the next cycle.
    let left = sim
        .status(rackscope_simulator::unix_now())
        .next_change_in_seconds;
    if left < 45 {
        tokio::time::sleep(Duration::from_secs(left + 1)).await;
    }
    let status = sim.status(rackscope_simulator::unix_now());
    let crit: BTreeSet<String> = status
        .incidents
        .crit
        .iter()
        .map(|n| n.instance.clone())
        .collect();
    assert!(!crit.is_empty(), "light mode draws at least one CRIT node");
    let deadline = Instant::now() + Duration::from_secs(30);
    let alerts = loop {
        engine.refresh().await;
        let v = get_json(&format!("{web}/api/alerts/active")).await;
        let alerts = v["alerts"].as_array().cloned().unwrap_or_default();
        let listed: BTreeSet<String> = alerts
            .iter()
            .filter(|a| a["state"] == "CRIT")
            .filter_map(|a| a["node_id"].as_str().map(str::to_string))
            .collect();
        if crit.is_subset(&listed) {
            break alerts;
        }
        assert!(
            Instant::now() < deadline,
            "CRIT nodes {crit:?} never all listed; alerts: {alerts:#?}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    let topo = &config.topology;
    for a in alerts.iter().filter(|a| a["type"] == "node") {
        let name = a["node_id"].as_str().unwrap();
        let placement = topo.locate_instance(name).unwrap_or_else(|| {
            let d = topo
                .devices
                .iter_ix()
                .find(|(_, d)| d.id == name)
                .unwrap()
                .0;
            topo.placement_of_device(d)
        });
        let rack = &topo.racks[placement.rack];
        let room = &topo.rooms[rack.room];
        assert_eq!(a["rack_id"], rack.id.as_str(), "{a}");
        assert_eq!(a["room_id"], room.id.as_str(), "{a}");
        assert_eq!(a["site_id"], topo.sites[room.site].id.as_str(), "{a}");
        assert_eq!(
            a["u_position"], topo.devices[placement.device].u_position,
            "{a}"
        );
        assert!(a["checks"].as_array().is_some_and(|c| !c.is_empty()), "{a}");
    }

    // Force a node of an OK rack down through the control API.
    let snap = engine.snapshot().unwrap();
    let (victim, rack_ix) = sim
        .world()
        .nodes
        .iter()
        .find_map(|n| {
            let ok = snap.health.racks[n.rack.index()].state == Some(Severity::Ok);
            ok.then(|| (n.name.clone(), n.rack))
        })
        .expect("some rack is OK in light mode");
    let res = rackscope_prometheus::tls::http_client()
        .post(format!("http://{sim_addr}/api/overrides"))
        .json(&serde_json::json!({"instance": victim, "metric": "up", "value": 0}))
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "{}", res.text().await.unwrap());
    // Once Prometheus has scraped it, the next refresh turns the rack CRIT.
    let scraped = Instant::now() + Duration::from_secs(30);
    let client = client_for(&config, &prom.url());
    loop {
        let s = series(&client, &format!("up{{instance=\"{victim}\"}}")).await;
        if s.first().is_some_and(|s| s.value == 0.0) {
            break;
        }
        assert!(
            Instant::now() < scraped,
            "Prometheus never scraped the override"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let snap = engine.refresh().await;
    assert_eq!(
        snap.health.racks[rack_ix.index()].state,
        Some(Severity::Crit),
        "rack {} of {victim}",
        topo.racks[rack_ix].id
    );
    let v = get_json(&format!("{web}/api/alerts/active")).await;
    assert!(
        v["alerts"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["node_id"] == victim.as_str()
                && a["state"] == "CRIT"
                && a["rack_id"] == topo.racks[rack_ix].id.as_str()),
        "{v:#}"
    );
    let _ = stop_tx.send(());
    server.await.unwrap().unwrap();
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn demo_refuses_a_port_in_use_and_names_it() {
    let held = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = held.local_addr().unwrap().port();
    let state = tempfile::tempdir().unwrap();
    let out = crate::support::bin()
        .current_dir(root())
        .args(["demo", "--config", "config/demo-small", "--port"])
        .arg(port.to_string())
        .arg("--state-dir")
        .arg(state.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("port {port} (Rackscope) is already in use"))
            && err.contains("--port"),
        "{err}"
    );
}

#[test]
fn the_demo_command_shows_alerts_and_stops_cleanly_on_ctrl_c() {
    if !available() {
        return;
    }
    let state = tempfile::tempdir().unwrap();
    let (web, prom_port, sim) = (free_port(), free_port(), free_port());
    let run = |state: &std::path::Path| {
        crate::support::bin()
            .current_dir(root())
            .args([
                "demo",
                "--config",
                "config/demo-small",
                "--scrape-interval",
                "1",
            ])
            .args(["--seed", "11", "--incident-mode", "medium"])
            .arg(format!("--port={web}"))
            .arg(format!("--prometheus-port={prom_port}"))
            .arg(format!("--simulator-port={sim}"))
            .arg("--state-dir")
            .arg(state)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    // Twice: a second run on the same state directory works too.
    for round in 0..2 {
        let mut child = run(state.path());
        let started = Instant::now();
        let url = format!("http://127.0.0.1:{web}/api/alerts/active");
        let alerts = loop {
            if let Some(st) = child.try_wait().unwrap() {
                let mut err = String::new();
                use std::io::Read as _;
                child
                    .stderr
                    .take()
                    .unwrap()
                    .read_to_string(&mut err)
                    .unwrap();
                panic!("demo exited early ({st}): {err}");
            }
            let got = reqwest::blocking_get(&url);
            if let Some(a) = got.filter(|a| !a.is_empty()) {
                break a;
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "no alerts after 60 s"
            );
            std::thread::sleep(Duration::from_millis(500));
        };
        eprintln!(
            "round {round}: {} alerts after {:.1} s",
            alerts.len(),
            started.elapsed().as_secs_f64()
        );
        assert!(
            alerts
                .iter()
                .all(|a| a["site_id"].is_string() && a["rack_id"].is_string())
        );

        // Ctrl-C: the process group would get SIGINT; the demo handles it and stops all three.
        std::process::Command::new("kill")
            .args(["-INT", &child.id().to_string()])
            .status()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        let status = loop {
            if let Some(s) = child.try_wait().unwrap() {
                break s;
            }
            assert!(Instant::now() < deadline, "demo did not stop within 20 s");
            std::thread::sleep(Duration::from_millis(100));
        };
        assert!(status.success(), "demo exited with {status}");
        for p in [web, prom_port, sim] {
            assert!(
                std::net::TcpStream::connect(("127.0.0.1", p)).is_err(),
                "port {p} still answers after the demo stopped"
            );
        }
    }
}

/// A tiny blocking GET for the subprocess test: the alerts array, or None if not up yet.
mod reqwest {
    pub(super) fn blocking_get(url: &str) -> Option<Vec<serde_json::Value>> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .ok()?;
        rt.block_on(async {
            let v: serde_json::Value = rackscope_prometheus::tls::http_client()
                .get(url)
                .send()
                .await
                .ok()?
                .json()
                .await
                .ok()?;
            v["alerts"].as_array().cloned()
        })
    }
}
