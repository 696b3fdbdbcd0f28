//! Live-reload benchmark (issue #18), printing figures rather than asserting them: the
//! generated 100,000-instance topology is served (a fake Prometheus answering one series per
//! id), a client asks `/api/stats/global` and a rack's state every few milliseconds, and
//! the configuration is reloaded several times. Printed: how long each reload takes (load,
//! validation, plan, the refresh that follows) and the longest gap between two answers
//! while it runs, against the longest gap without one: requests keep being answered during
//! a reload, since readers use the snapshot in place until the new one is published.
//!
//! Run: `cargo bench --bench reload` (release build).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use rackscope_core::telemetry::{Engine, plan};
use rackscope_core::testkit::{Table, one_series_per_id};

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(run());
}

async fn run() {
    let dir = tempfile::tempdir().unwrap();
    let shape = rackscope_core::generate::Shape::for_instances(100_000);
    rackscope_core::generate::write(dir.path(), shape).unwrap();
    let app = dir.path().join("app.yaml");
    let t0 = Instant::now();
    let loaded = rackscope_core::load_with_env(&app, std::iter::empty());
    println!("initial load: {:.0} ms", t0.elapsed().as_secs_f64() * 1e3);
    assert!(loaded.is_usable());
    let config = Arc::new(loaded.config);
    let p = plan(&config);
    let answers = one_series_per_id(&config, &p, 1.0);
    // Queries the plan did not make (after a reload, the same ones) answer empty.
    let table = Table::new(Vec::new())
        .with_hook(move |q| Some(Ok(answers.get(q).cloned().unwrap_or_default())));
    let engine = Arc::new(Engine::new(config.clone(), Arc::new(table)));
    engine.refresh().await;
    let rack = config.topology.racks.iter().next().unwrap().id.clone();
    let state = rackscope::server::AppState::new(engine.clone()).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, mut stop_rx) = tokio::sync::watch::channel(false);
    let server = tokio::spawn(rackscope::server::run(
        listener,
        state.clone(),
        async move {
            let _ = stop_rx.wait_for(|s| *s).await;
        },
    ));

    // The client: one request after the other, recording the longest gap between answers,
    // separately while a reload runs and while none does.
    let reloading = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicBool::new(false));
    let client = {
        let (reloading, done) = (reloading.clone(), done.clone());
        tokio::spawn(async move {
            let http = rackscope_prometheus::tls::http_client();
            let urls = [
                format!("{base}/api/stats/global"),
                format!("{base}/api/racks/{rack}/state"),
            ];
            let (mut gap_idle, mut gap_reload, mut served, mut failed) = (0f64, 0f64, 0u64, 0u64);
            let mut last = Instant::now();
            let mut i = 0usize;
            while !done.load(Ordering::Relaxed) {
                let ok = http
                    .get(&urls[i % 2])
                    .send()
                    .await
                    .is_ok_and(|r| r.status().is_success());
                i += 1;
                let gap = last.elapsed().as_secs_f64() * 1e3;
                last = Instant::now();
                if ok {
                    served += 1;
                } else {
                    failed += 1;
                }
                if reloading.load(Ordering::Relaxed) {
                    gap_reload = gap_reload.max(gap);
                } else {
                    gap_idle = gap_idle.max(gap);
                }
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            (gap_idle, gap_reload, served, failed)
        })
    };
    tokio::time::sleep(Duration::from_secs(2)).await;
    let mut times = Vec::new();
    for _ in 0..3 {
        reloading.store(true, Ordering::Relaxed);
        let t = Instant::now();
        let status = state.reload.reload("bench").await;
        times.push(t.elapsed().as_secs_f64() * 1e3);
        reloading.store(false, Ordering::Relaxed);
        assert!(status.ok, "{:?}", status.errors);
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    done.store(true, Ordering::Relaxed);
    let (gap_idle, gap_reload, served, failed) = client.await.unwrap();
    let _ = stop.send(true);
    server.await.unwrap().unwrap();
    println!(
        "reload of {} instances ({} racks): {} ms (load, checks, plan and the refresh after it)",
        config.topology.instances.len(),
        config.topology.racks.len(),
        times
            .iter()
            .map(|t| format!("{t:.0}"))
            .collect::<Vec<_>>()
            .join(" / ")
    );
    println!(
        "serving during reloads: {served} answers, {failed} failed; longest gap between answers {gap_reload:.1} ms while reloading, {gap_idle:.1} ms otherwise"
    );
}
