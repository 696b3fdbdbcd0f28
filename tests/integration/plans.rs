//! Snapshot tests of the query plans: the exact PromQL every refresh sends for the example
//! configurations (ours and the Python Rackscope's). A change in batching, escaping or
//! binding shows up as a diff of `tests/snapshots/plans/*.txt`; after checking it, rewrite
//! them with `RACKSCOPE_BLESS=1 cargo test plans`.

use std::path::Path;

use rackscope_core::telemetry::plan;

use crate::support;

fn check_plan(name: &str, app: &Path) {
    let loaded = support::load(app);
    assert!(loaded.is_usable(), "{name} does not load");
    let text = plan(&loaded.config).describe(&loaded.config, false);
    support::assert_snapshot(&format!("plans/{name}.txt"), &text);
}

#[test]
fn our_examples() {
    for name in ["demo-small", "demo-multisite"] {
        check_plan(
            name,
            &support::root().join(format!("config/{name}/app.yaml")),
        );
    }
    check_plan(
        "health-fixture",
        &support::root().join("tests/fixtures/health/app.yaml"),
    );
}

#[test]
fn upstream_examples() {
    for name in ["homelab", "small-cluster", "hpc-cluster"] {
        let Some(dir) = support::shared(&format!("upstream-examples/{name}")) else {
            return;
        };
        check_plan(name, &dir.join("app.yaml"));
    }
}

/// Every query of every example parses as PromQL once its ids are substituted.
#[test]
fn planned_queries_parse() {
    let mut apps = vec![
        support::root().join("config/demo-small/app.yaml"),
        support::root().join("config/demo-multisite/app.yaml"),
    ];
    for name in ["homelab", "small-cluster", "hpc-cluster"] {
        if let Some(dir) = support::shared(&format!("upstream-examples/{name}")) {
            apps.push(dir.join("app.yaml"));
        }
    }
    for app in apps {
        let loaded = support::load(&app);
        for q in plan(&loaded.config).queries {
            assert!(
                rackscope_core::promql::parse(&q.expr).is_ok(),
                "{}: {}",
                app.display(),
                q.expr
            );
            assert!(q.ids as usize <= loaded.config.app.planner.max_ids_per_query as usize);
        }
    }
}
