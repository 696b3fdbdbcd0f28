//! Scripted (Rhai) checks end to end: series backfilled into a real Prometheus, planned,
//! queried and judged by scripts at fixed times; messages reach the JSON API and the UI.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rackscope_core::Severity::{self, *};
use rackscope_core::telemetry::{CheckResult, Engine, Snapshot};
use rackscope_prometheus::PrometheusClient;

use crate::support;
use crate::support::prom::{OpenMetrics, Prometheus};
use crate::support::router::get;

const T0: u64 = 1_700_000_000;

fn at(offset: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(T0 + offset)
}

fn app() -> std::path::PathBuf {
    support::root().join("tests/fixtures/scripted/app.yaml")
}

fn data() -> String {
    let config = support::load(&app()).config;
    let (from, to) = (T0 - 600, T0 + 600);
    let mut om = OpenMetrics::default();
    for i in &config.topology.instances {
        let n = i.name.as_str();
        let code = match n {
            "a+b" => 2.0,
            "n03" => 9.0,
            _ => 0.0,
        };
        let sensor = [("instance", n), ("sensor", "PSU1 Status")];
        om.constant("ipmi_sensor_state", &sensor, from, to, code);
        let mode = match n {
            "n09" => "loop",
            "n10" => "bad",
            _ => "ok",
        };
        om.constant(
            "scripted_probe",
            &[("instance", n), ("mode", mode)],
            from,
            to,
            1.0,
        );
        if n == "n05" {
            // 72 °C, then 67 (inside the hysteresis band), then 64 (below it).
            let l = [("instance", n)];
            om.series(
                "node_temperature_celsius",
                &l,
                &[
                    (T0 - 30, 72.0),
                    (T0, 72.0),
                    (T0 + 30, 67.0),
                    (T0 + 60, 67.0),
                    (T0 + 90, 64.0),
                    (T0 + 120, 64.0),
                ],
            );
        } else {
            let t = if n == "n06" { 67.0 } else { 40.0 };
            om.constant("node_temperature_celsius", &[("instance", n)], from, to, t);
        }
    }
    // chassis-1 healthy; chassis-2 lost one of three; chassis-3 lost two; chassis-4
    // reports only two of its three supplies.
    for (chassis, failed, reported) in [
        ("chassis-1", &[][..], 3),
        ("chassis-2", &["2"][..], 3),
        ("chassis-3", &["1", "2"][..], 3),
        ("chassis-4", &[][..], 2),
    ] {
        for psu in ["1", "2", "3"].into_iter().take(reported) {
            let v = if failed.contains(&psu) { 1.0 } else { 0.0 };
            om.constant(
                "chassis_psu_status",
                &[("chassis_id", chassis), ("psu", psu)],
                from,
                to,
                v,
            );
        }
    }
    om.finish()
}

fn engine(prom: &Prometheus) -> Arc<Engine> {
    let mut loaded = support::load(&app());
    assert!(loaded.is_usable(), "{:?}", loaded.diagnostics);
    loaded.config.app.telemetry.prometheus_url = Some(prom.url());
    let client =
        PrometheusClient::from_config(&loaded.config.app.telemetry, Path::new(".")).unwrap();
    Arc::new(Engine::new(Arc::new(loaded.config), Arc::new(client)))
}

fn result(s: &Snapshot, target: &str, id: &str) -> CheckResult {
    let topo = &s.config.topology;
    let th = match topo.instance_ix(target) {
        Some(i) => &s.health.nodes[i.index()],
        None => {
            let d = topo.devices.iter().position(|d| d.id == target).unwrap();
            &s.health.devices[d]
        }
    };
    th.checks
        .iter()
        .find(|c| &*s.plan.checks[c.check as usize].id == id)
        .cloned()
        .unwrap_or_else(|| panic!("no {id} result for {target}"))
}

fn said(s: &Snapshot, target: &str, id: &str) -> (Severity, String) {
    let r = result(s, target, id);
    let text = r
        .message
        .as_deref()
        .or(r.reason())
        .map(|m| m.to_string())
        .unwrap_or_default();
    (r.severity, text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scripted_checks_judge_real_series() {
    let Some(prom) = Prometheus::start(&data()) else {
        return;
    };
    let engine = engine(&prom);
    let s = engine.refresh_at(at(0)).await;
    assert!(s.errors.is_empty(), "{:?}", s.errors);

    // Vendor code map, from a .rhai file.
    assert_eq!(said(&s, "node.1", "ipmi_sensor"), (Ok, String::new()));
    assert_eq!(
        said(&s, "a+b", "ipmi_sensor"),
        (Crit, "PSU1 Status: critical threshold crossed".into())
    );
    assert_eq!(
        said(&s, "n03", "ipmi_sensor"),
        (Unknown, "unknown vendor code 9".into())
    );

    // PSU redundancy: one aggregate verdict per chassis from all of its series.
    assert_eq!(said(&s, "chassis-1", "psu_redundancy"), (Ok, String::new()));
    assert_eq!(
        said(&s, "chassis-2", "psu_redundancy"),
        (Warn, "1 of 3 PSUs lost".into())
    );
    assert_eq!(
        said(&s, "chassis-3", "psu_redundancy"),
        (Crit, "2 of 3 PSUs lost".into())
    );
    assert_eq!(
        said(&s, "chassis-4", "psu_redundancy"),
        (Warn, "1 of 3 PSUs lost".into())
    );

    // A script that loops or returns nonsense makes its own target UNKNOWN with the reason;
    // its neighbours are judged as usual.
    let (sev, why) = said(&s, "n09", "probe");
    assert_eq!(sev, Unknown);
    assert!(why.contains("Too many operations"), "{why}");
    let (sev, why) = said(&s, "n10", "probe");
    assert_eq!(sev, Unknown);
    assert!(why.contains("expected \"OK\""), "{why}");
    assert_eq!(said(&s, "n11", "probe").0, Ok);

    // Hysteresis: WARN at 72 °C; at 67 °C it holds because it was WARN before, while n06,
    // at 67 °C all along, is OK; at 64 °C it clears.
    assert_eq!(said(&s, "n05", "temperature").0, Warn);
    assert_eq!(said(&s, "n06", "temperature").0, Ok);
    let s = engine.refresh_at(at(60)).await;
    assert_eq!(
        said(&s, "n05", "temperature"),
        (Warn, "still 67.0 °C, clears below 65".into())
    );
    assert_eq!(said(&s, "n06", "temperature").0, Ok);
    let s = engine.refresh_at(at(120)).await;
    assert_eq!(said(&s, "n05", "temperature"), (Ok, String::new()));

    // The messages reach the API and the UI.
    let state = rackscope::server::AppState::new(engine.clone()).unwrap();
    let rack = get(&state, "/api/racks/r02/state?include_metrics=false")
        .await
        .json();
    let text = rack.to_string();
    assert!(text.contains(r#""message":"1 of 3 PSUs lost""#), "{text}");
    let alerts = get(&state, "/api/alerts/active").await.text();
    assert!(alerts.contains("1 of 3 PSUs lost"), "{alerts}");
    let page = get(&state, "/views/rack/r02").await.text();
    assert!(
        page.contains("1 of 3 PSUs lost"),
        "rack page lacks the script message"
    );
}
