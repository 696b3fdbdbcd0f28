//! Maintenance windows as silences in a real Alertmanager: created with the window's
//! matchers, end and comment, kept as one, extended while open-ended, replaced when the
//! matchers change, expired when the window ends; silences Rackscope did not create are
//! never touched. Skips without `prometheus-alertmanager` (fails under CI=true).

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use rackscope::maintenance::{Action, act};
use rackscope::server::alertmanager::{NotSent, Stats, Syncer};
use rackscope_core::Config;
use rackscope_core::maintenance::{format_time, parse_time};
use rackscope_core::telemetry::Engine;
use rackscope_core::testkit::Table;
use serde_json::{Value, json};

use crate::support::alertmanager::{Alertmanager, free_port};
use crate::support::{copy_dir, load, root};

fn now() -> i64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// The maintenance fixture in a temporary directory, with `alertmanager:` as given and
/// windows around `t`: a rack for two hours (`w-rack`), an instance with no end
/// (`w-open`, a device target naming an instance as upstream writes it), a rack limited
/// to a check (`w-check`), one to come (`w-later`) and one over (`w-past`).
fn copied(alertmanager: &str, t: i64) -> (tempfile::TempDir, Config) {
    let tmp = tempfile::tempdir().unwrap();
    copy_dir(&root().join("tests/fixtures/maintenance"), tmp.path());
    let app = tmp.path().join("app.yaml");
    let mut text = std::fs::read_to_string(&app).unwrap();
    text.push_str(alertmanager);
    std::fs::write(&app, text).unwrap();
    let at = |d: i64| format_time(t + d);
    std::fs::write(
        tmp.path().join("maintenances.yaml"),
        format!(
            "maintenances:
- id: w-rack
  target_type: rack
  target_id: r01
  reason: Firmware update
  effect: hide
  starts_at: '{}'
  expires_at: '{}'
- id: w-open
  target_type: device
  target_id: n05
  reason: 'Fan swap: open-ended'
- id: w-check
  target_type: rack
  target_id: r03
  check: ipmi
  reason: Fans only
- id: w-later
  target_type: site
  target_id: dc2
  reason: Later
  starts_at: '{}'
  expires_at: '{}'
- id: w-past
  target_type: rack
  target_id: r02
  reason: Over
  starts_at: '{}'
  expires_at: '{}'
",
            at(-600),
            at(7200),
            at(86_400),
            at(90_000),
            at(-7200),
            at(-3600)
        ),
    )
    .unwrap();
    let config = reload(tmp.path());
    (tmp, config)
}

fn reload(dir: &Path) -> Config {
    let loaded = load(&dir.join("app.yaml"));
    assert!(loaded.is_usable(), "{:?}", loaded.diagnostics);
    assert!(
        !loaded
            .diagnostics
            .iter()
            .any(|d| d.span.file.ends_with("app.yaml") || d.code == "maintenance"),
        "{:?}",
        loaded.diagnostics
    );
    loaded.config
}

fn section(url: &str, extra: &str) -> String {
    format!("alertmanager:\n  url: {url}\n{extra}")
}

async fn silences(am: &Alertmanager) -> Vec<Value> {
    rackscope_prometheus::tls::http_client()
        .get(format!("{}/api/v2/silences", am.url()))
        .send()
        .await
        .unwrap()
        .json::<Vec<Value>>()
        .await
        .unwrap()
}

/// Silences whose comment names window `id`, by state.
async fn of_window(am: &Alertmanager, id: &str, state: &str) -> Vec<Value> {
    let prefix = format!("rackscope maintenance {id}");
    silences(am)
        .await
        .into_iter()
        .filter(|s| {
            s["createdBy"] == "rackscope"
                && s["comment"]
                    .as_str()
                    .is_some_and(|c| c == prefix || c.starts_with(&format!("{prefix}:")))
                && s["status"]["state"] == state
        })
        .collect()
}

/// A silence made by someone else, directly in Alertmanager.
async fn foreign(am: &Alertmanager, created_by: &str, comment: &str) -> String {
    let start = format_time(now());
    let end = format_time(now() + 86_400);
    let v: Value = rackscope_prometheus::tls::http_client()
        .post(format!("{}/api/v2/silences", am.url()))
        .json(&json!({
            "matchers": [{"name": "instance", "value": "n0.*", "isRegex": true, "isEqual": true}],
            "startsAt": start,
            "endsAt": end,
            "createdBy": created_by,
            "comment": comment,
        }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v["silenceID"].as_str().unwrap().to_owned()
}

fn ends(s: &Value) -> i64 {
    parse_time(s["endsAt"].as_str().unwrap(), None).unwrap()
}

#[tokio::test]
async fn an_active_window_gets_one_silence_until_it_stops_and_foreign_silences_are_untouched() {
    let Some(am) = Alertmanager::start() else {
        return;
    };
    let t = now();
    let (_tmp, config) = copied(&section(&am.url(), ""), t);
    // Another tool's silence whose comment reads like ours, and a hand-made one that
    // borrows our name: neither carries both marks.
    let lookalike = foreign(
        &am,
        "alice",
        "rackscope maintenance w-rack: looks like ours",
    )
    .await;
    let borrowed = foreign(&am, "rackscope", "made by hand").await;
    let before: Vec<Value> = silences(&am).await;

    let stats = Arc::new(Stats::default());
    let mut syncer = Syncer::new(stats.clone());
    let pass = syncer
        .sync_once(&config, &config.maintenances, t)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((pass.created, pass.expired), (2, 0), "{pass:?}");
    assert_eq!(pass.not_sent, vec![("w-check".to_owned(), NotSent::Check)]);

    let rack = of_window(&am, "w-rack", "active").await;
    assert_eq!(rack.len(), 1, "{rack:?}");
    let s = &rack[0];
    assert_eq!(s["createdBy"], "rackscope");
    assert_eq!(
        s["comment"],
        "rackscope maintenance w-rack: Firmware update"
    );
    // Every node of r01, escaped, with an optional port: `node.1` and `a+b` are literal.
    assert_eq!(
        s["matchers"],
        json!([{
            "name": "instance",
            "value": r"(?:node\.1|a\+b|n03|n04|sw-1|da01-c1)(?:(?::[0-9]+)?)",
            "isRegex": true,
            "isEqual": true,
        }])
    );
    assert_eq!(ends(s), t + 7200, "endsAt is the window's expires_at");

    let open = of_window(&am, "w-open", "active").await;
    assert_eq!(open.len(), 1);
    assert_eq!(open[0]["matchers"][0]["value"], "(?:n05)(?:(?::[0-9]+)?)");
    assert_eq!(
        open[0]["comment"],
        "rackscope maintenance w-open: Fan swap: open-ended"
    );
    assert!(
        (ends(&open[0]) - (t + 3600)).abs() <= 2,
        "a rolling hour: {open:?}"
    );
    for id in ["w-check", "w-later", "w-past"] {
        assert!(of_window(&am, id, "active").await.is_empty(), "{id}");
    }

    // Again: nothing to write.
    let pass = syncer
        .sync_once(&config, &config.maintenances, t + 5)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (pass.created, pass.updated, pass.expired, pass.kept),
        (0, 0, 0, 2)
    );
    assert_eq!(of_window(&am, "w-rack", "active").await, rack);

    // The open-ended window, later: less than half an hour left, so it is extended.
    let later = t + 2000;
    let pass = syncer
        .sync_once(&config, &config.maintenances, later)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(pass.updated, 1, "{pass:?}");
    let open = of_window(&am, "w-open", "active").await;
    assert_eq!(open.len(), 1, "{open:?}");
    assert!((ends(&open[0]) - (later + 3600)).abs() <= 2, "{open:?}");

    // Stopped from the API's store: the rack's silence is expired at the next pass.
    let stopped = act(&config, Action::Stop, "w-rack", "tester").unwrap();
    let pass = syncer
        .sync_once(&config, &stopped, now())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(pass.expired, 1, "{pass:?}");
    assert!(of_window(&am, "w-rack", "active").await.is_empty());
    let gone = of_window(&am, "w-rack", "expired").await;
    assert_eq!(gone.len(), 1, "{gone:?}");
    assert_eq!(gone[0]["id"], rack[0]["id"]);

    // Deleted: the open-ended one goes too.
    let deleted = act(&config, Action::Delete, "w-open", "tester").unwrap();
    let pass = syncer
        .sync_once(&config, &deleted, now())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(pass.expired, 1, "{pass:?}");
    assert!(of_window(&am, "w-open", "active").await.is_empty());

    // Both foreign silences are exactly as they were, through every pass.
    let after = silences(&am).await;
    for id in [&lookalike, &borrowed] {
        let was = before.iter().find(|s| s["id"] == **id).unwrap();
        let is = after.iter().find(|s| s["id"] == **id).unwrap();
        assert_eq!(is, was, "silence {id} was touched");
        assert_eq!(is["status"]["state"], "active");
    }

    assert_eq!(stats.syncs("ok"), 5);
    assert_eq!(stats.syncs("error"), 0);
    assert_eq!(stats.silences(), 0);
}

#[tokio::test]
async fn a_rack_window_matches_the_rack_label_when_configured_and_is_replaced_when_it_changes() {
    let Some(am) = Alertmanager::start() else {
        return;
    };
    let t = now();
    let (tmp, by_names) = copied(&section(&am.url(), ""), t);
    let mut syncer = Syncer::new(Arc::new(Stats::default()));
    syncer
        .sync_once(&by_names, &by_names.maintenances, t)
        .await
        .unwrap();
    let first = of_window(&am, "w-rack", "active").await;
    assert_eq!(first.len(), 1);
    assert_eq!(first[0]["matchers"][0]["name"], "instance");

    // With `labels.rack`, the same window is a label matcher: a new silence replaces the
    // one by names, which is expired.
    let app = tmp.path().join("app.yaml");
    let text = std::fs::read_to_string(&app).unwrap();
    std::fs::write(
        &app,
        format!("{text}  labels:\n    rack: rack\n    site: site\n"),
    )
    .unwrap();
    let by_label = reload(tmp.path());
    let pass = syncer
        .sync_once(&by_label, &by_label.maintenances, t + 1)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (pass.created, pass.expired, pass.kept),
        (1, 1, 1),
        "{pass:?}"
    );
    let now_active = of_window(&am, "w-rack", "active").await;
    assert_eq!(now_active.len(), 1, "{now_active:?}");
    assert_eq!(
        now_active[0]["matchers"],
        json!([{"name": "rack", "value": "r01", "isRegex": false, "isEqual": true}])
    );
    assert_eq!(ends(&now_active[0]), t + 7200);
    let expired = of_window(&am, "w-rack", "expired").await;
    assert_eq!(expired.len(), 1);
    assert_eq!(expired[0]["id"], first[0]["id"]);
    // An instance window has no level label to use: still the instance names.
    let open = of_window(&am, "w-open", "active").await;
    assert_eq!(open[0]["matchers"][0]["name"], "instance");
}

/// A site of 2,505 node names: past the 2,000 a silence may list, so without a site
/// label the window is not sent (and counted); with one, it is a single label matcher.
#[tokio::test]
async fn a_window_over_too_many_instances_is_sent_only_by_its_levels_label() {
    let Some(am) = Alertmanager::start() else {
        return;
    };
    let t = now();
    let (tmp, _) = copied(&section(&am.url(), ""), t);
    let topo = tmp.path().join("topology.yaml");
    let text = std::fs::read_to_string(&topo).unwrap().replace(
        "        - {id: panel-1,",
        "        - {id: big-1, template_id: switch, u_position: 20, instance: \"big[0001-2500]\"}\n        - {id: panel-1,",
    );
    std::fs::write(&topo, text).unwrap();
    std::fs::write(
        tmp.path().join("maintenances.yaml"),
        format!(
            "maintenances:\n- id: w-dc2\n  target_type: site\n  target_id: dc2\n  reason: Power test\n  expires_at: '{}'\n",
            format_time(t + 3600)
        ),
    )
    .unwrap();
    let config = reload(tmp.path());
    assert_eq!(config.topology.instances.len(), 17 + 2_500);
    let stats = Arc::new(Stats::default());
    let mut syncer = Syncer::new(stats.clone());
    let pass = syncer
        .sync_once(&config, &config.maintenances, t)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(pass.created, 0);
    assert_eq!(pass.not_sent, vec![("w-dc2".to_owned(), NotSent::TooLarge)]);
    assert!(of_window(&am, "w-dc2", "active").await.is_empty());

    let app = tmp.path().join("app.yaml");
    let text = std::fs::read_to_string(&app).unwrap();
    std::fs::write(&app, format!("{text}  labels:\n    site: datacenter\n")).unwrap();
    let config = reload(tmp.path());
    let pass = syncer
        .sync_once(&config, &config.maintenances, t)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((pass.created, pass.not_sent.len()), (1, 0), "{pass:?}");
    let s = of_window(&am, "w-dc2", "active").await;
    assert_eq!(
        s[0]["matchers"],
        json!([{"name": "datacenter", "value": "dc2", "isRegex": false, "isEqual": true}])
    );
    assert_eq!(stats.silences(), 1);
}

/// A repeating window's silence ends with the occurrence under way, not at `expires_at`:
/// if Rackscope stops during it, the alerts still come back when it ends.
#[tokio::test]
async fn a_repeating_windows_silence_ends_with_its_occurrence() {
    let Some(am) = Alertmanager::start() else {
        return;
    };
    let t = now();
    let (tmp, _) = copied(&section(&am.url(), ""), t);
    // Every day from ten minutes before this minute, for an hour (r10's site, dc2, has no
    // time zone: UTC).
    let minute = (t.rem_euclid(86_400) / 60 + 1440 - 10) % 1440;
    let end = (minute + 60) % 1440;
    let hhmm = |m: i64| format!("{:02}:{:02}", m / 60, m % 60);
    std::fs::write(
        tmp.path().join("maintenances.yaml"),
        format!(
            "maintenances:\n- id: w-daily\n  target_type: rack\n  target_id: r10\n  reason: Daily backup\n  every: day {}-{}\n  expires_at: '{}'\n",
            hhmm(minute),
            hhmm(end),
            format_time(t + 30 * 86_400)
        ),
    )
    .unwrap();
    let config = reload(tmp.path());
    let mut syncer = Syncer::new(Arc::new(Stats::default()));
    let pass = syncer
        .sync_once(&config, &config.maintenances, t)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(pass.created, 1, "{pass:?}");
    let s = of_window(&am, "w-daily", "active").await;
    assert_eq!(ends(&s[0]), t - t.rem_euclid(60) + 50 * 60, "{s:?}");
    assert_eq!(
        s[0]["matchers"][0]["value"],
        "(?:n13|n14|n15|n16|panel-1)(?:(?::[0-9]+)?)"
    );
}

#[tokio::test]
async fn an_unreachable_alertmanager_is_an_error_counted_and_retried() {
    let t = now();
    let url = format!("http://127.0.0.1:{}", free_port());
    let (_tmp, config) = copied(&section(&url, "  timeout_seconds: 2\n"), t);
    let stats = Arc::new(Stats::default());
    let mut syncer = Syncer::new(stats.clone());
    let started = Instant::now();
    for _ in 0..2 {
        let e = syncer
            .sync_once(&config, &config.maintenances, t)
            .await
            .unwrap_err();
        assert!(e.to_string().contains("unreachable"), "{e}");
    }
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!((stats.syncs("ok"), stats.syncs("error")), (0, 2));

    // Off: nothing sent, nothing counted.
    let (_tmp2, off) = copied("", t);
    assert_eq!(
        syncer.sync_once(&off, &off.maintenances, t).await.unwrap(),
        None
    );
    assert_eq!(stats.syncs("error"), 2);
}

/// Basic auth from the environment, as a secret is best given: accepted, and a wrong
/// password is an error that says which keys to check.
#[tokio::test]
async fn basic_auth_from_the_environment_reaches_a_protected_alertmanager() {
    let hash = rackscope_auth::password::hash_bcrypt("s3cret", 4).unwrap();
    let Some(am) =
        Alertmanager::start_with(Some(&format!("basic_auth_users:\n  rackscope: '{hash}'\n")))
    else {
        return;
    };
    let t = now();
    let (tmp, _) = copied(&section(&am.url(), "  basic_auth_user: rackscope\n"), t);
    let with = |password: &str| {
        let loaded = rackscope_core::load_with_env(
            &tmp.path().join("app.yaml"),
            [(
                "RACKSCOPE_ALERTMANAGER__BASIC_AUTH_PASSWORD".to_owned(),
                password.to_owned(),
            )],
        );
        assert!(loaded.is_usable(), "{:?}", loaded.diagnostics);
        loaded.config
    };
    let mut syncer = Syncer::new(Arc::new(Stats::default()));
    let wrong = with("guess");
    let e = syncer
        .sync_once(&wrong, &wrong.maintenances, t)
        .await
        .unwrap_err();
    assert!(
        e.to_string().contains("401") && e.to_string().contains("basic_auth_password"),
        "{e}"
    );
    let right = with("s3cret");
    let pass = syncer
        .sync_once(&right, &right.maintenances, t)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(pass.created, 2, "{pass:?}");
}

/// The server's reconciler: a pass at start, and one as soon as a window is stopped,
/// long before `sync_seconds`; `/metrics` counts them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_servers_reconciler_follows_a_change_of_the_windows_at_once() {
    let Some(am) = Alertmanager::start() else {
        return;
    };
    let t = now();
    let (_tmp, config) = copied(&section(&am.url(), "  sync_seconds: 3600\n"), t);
    let engine = Arc::new(Engine::new(
        Arc::new(config),
        Arc::new(Table::new(Vec::new())),
    ));
    let state = rackscope::server::AppState::new(engine.clone()).unwrap();
    let (closing, rx) = tokio::sync::watch::channel(false);
    let task = tokio::spawn(rackscope::server::alertmanager::run(
        engine.clone(),
        state.alertmanager.clone(),
        rx,
    ));
    let wait = async |id: &str, state: &str| {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if of_window(&am, id, state).await.len() == 1 {
                return;
            }
            assert!(Instant::now() < deadline, "{id} never {state}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    wait("w-rack", "active").await;
    let stopped = act(&engine.config(), Action::Stop, "w-rack", "tester").unwrap();
    let changed = Instant::now();
    engine.set_maintenances(Arc::new(stopped));
    wait("w-rack", "expired").await;
    assert!(changed.elapsed() < Duration::from_secs(5));

    // The pass has written before it counts: wait for the count.
    let deadline = Instant::now() + Duration::from_secs(5);
    let metrics = loop {
        let m = crate::support::router::get(&state, "/metrics").await.text();
        if m.contains("rackscope_alertmanager_sync_total{result=\"ok\"} 2") {
            break m;
        }
        assert!(Instant::now() < deadline, "{m}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(
        metrics.contains("rackscope_alertmanager_sync_total{result=\"error\"} 0"),
        "{metrics}"
    );
    assert!(
        metrics.contains("rackscope_alertmanager_silences 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("rackscope_alertmanager_windows_not_sent{reason=\"check\"} 1"),
        "{metrics}"
    );
    closing.send_replace(true);
    tokio::time::timeout(Duration::from_secs(5), task)
        .await
        .unwrap()
        .unwrap();
}
