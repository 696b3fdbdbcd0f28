//! app.yaml beyond its types: the documented range of every number, the upstream keys this
//! server refuses (asking for protection it does not give) and those it does not honour.
//!
//! The tables are the documentation's source: docs/configuration.md lists the same ranges
//! and keys, and a test keeps every numeric field of the structs in the range table.

use std::path::Path;
use std::sync::Arc;

use crate::diag::{Diagnostics, Pos, Span};
use crate::model::app::{AppConfig, MAX_INTERVAL_SECONDS, MAX_TIMEOUT_SECONDS};
use crate::yaml::Node;

/// A number's accepted range. `min_open` makes the minimum itself refused (timeouts of 0).
pub struct Limit {
    pub path: &'static [&'static str],
    pub min: f64,
    pub min_open: bool,
    pub max: f64,
    pub unit: &'static str,
    pub get: fn(&AppConfig) -> f64,
}

const DAY: f64 = MAX_INTERVAL_SECONDS as f64;

/// Every number of app.yaml that the server uses, with the range outside which it would
/// break (a panic, a busy loop, an unbounded allocation) or mean nothing sensible.
pub const LIMITS: &[Limit] = &[
    Limit {
        path: &["auth", "policy", "min_length"],
        min: 1.0,
        min_open: false,
        max: 128.0,
        unit: "characters",
        get: |a| f64::from(a.auth.policy.min_length),
    },
    Limit {
        path: &["auth", "policy", "max_length"],
        min: 6.0,
        min_open: false,
        max: 512.0,
        unit: "characters",
        get: |a| f64::from(a.auth.policy.max_length),
    },
    Limit {
        path: &["auth", "replicas"],
        min: 1.0,
        min_open: false,
        max: 1000.0,
        unit: "processes",
        get: |a| f64::from(a.auth.replicas),
    },
    Limit {
        path: &["refresh", "room_state_seconds"],
        min: 10.0,
        min_open: false,
        max: DAY,
        unit: "seconds",
        get: |a| f64::from(a.refresh.room_state_seconds),
    },
    Limit {
        path: &["cache", "metrics_ttl_seconds"],
        min: 0.0,
        min_open: false,
        max: DAY,
        unit: "seconds",
        get: |a| f64::from(a.cache.metrics_ttl_seconds),
    },
    Limit {
        path: &["telemetry", "prometheus_timeout_seconds"],
        min: 0.0,
        min_open: true,
        max: MAX_TIMEOUT_SECONDS,
        unit: "seconds",
        get: |a| a.telemetry.prometheus_timeout_seconds,
    },
    Limit {
        path: &["telemetry", "prometheus_connect_timeout_seconds"],
        min: 0.0,
        min_open: true,
        max: MAX_TIMEOUT_SECONDS,
        unit: "seconds",
        get: |a| a.telemetry.prometheus_connect_timeout_seconds,
    },
    Limit {
        path: &["telemetry", "prometheus_heartbeat_seconds"],
        min: 0.0,
        min_open: false,
        max: DAY,
        unit: "seconds",
        get: |a| f64::from(a.telemetry.prometheus_heartbeat_seconds),
    },
    Limit {
        path: &["telemetry", "prometheus_latency_window"],
        min: 1.0,
        min_open: false,
        max: 10_000.0,
        unit: "queries",
        get: |a| f64::from(a.telemetry.prometheus_latency_window),
    },
    Limit {
        path: &["planner", "cache_ttl_seconds"],
        min: 1.0,
        min_open: false,
        max: DAY,
        unit: "seconds",
        get: |a| f64::from(a.planner.cache_ttl_seconds),
    },
    Limit {
        path: &["planner", "max_ids_per_query"],
        min: 1.0,
        min_open: false,
        max: 100_000.0,
        unit: "ids",
        get: |a| f64::from(a.planner.max_ids_per_query),
    },
    Limit {
        path: &["planner", "max_query_bytes"],
        min: 0.0,
        min_open: false,
        max: 64.0 * 1024.0 * 1024.0,
        unit: "bytes",
        get: |a| f64::from(a.planner.max_query_bytes),
    },
    Limit {
        path: &["planner", "unfiltered_coverage_percent"],
        min: 0.0,
        min_open: false,
        max: 100.0,
        unit: "percent",
        get: |a| f64::from(a.planner.unfiltered_coverage_percent),
    },
    Limit {
        path: &["planner", "max_concurrent_queries"],
        min: 1.0,
        min_open: false,
        max: 256.0,
        unit: "queries",
        get: |a| f64::from(a.planner.max_concurrent_queries),
    },
    Limit {
        path: &["planner", "stale_after_seconds"],
        min: 0.0,
        min_open: false,
        max: 7.0 * DAY,
        unit: "seconds",
        get: |a| a.planner.stale_after_seconds.into(),
    },
    Limit {
        path: &["telemetry", "max_response_bytes"],
        min: 1024.0,
        min_open: false,
        max: 16.0 * 1024.0 * 1024.0 * 1024.0,
        unit: "bytes",
        get: |a| a.telemetry.max_response_bytes as f64,
    },
    Limit {
        path: &["telemetry", "max_series_per_answer"],
        min: 1.0,
        min_open: false,
        max: 100_000_000.0,
        unit: "series",
        get: |a| a.telemetry.max_series_per_answer as f64,
    },
    Limit {
        path: &["telemetry", "max_points_per_answer"],
        min: 1.0,
        min_open: false,
        max: 1_000_000_000.0,
        unit: "points",
        get: |a| a.telemetry.max_points_per_answer as f64,
    },
    Limit {
        path: &["server", "max_connections"],
        min: 1.0,
        min_open: false,
        max: 1_000_000.0,
        unit: "connections",
        get: |a| f64::from(a.server.max_connections),
    },
    Limit {
        path: &["server", "max_sse_clients"],
        min: 1.0,
        min_open: false,
        max: 100_000.0,
        unit: "streams",
        get: |a| f64::from(a.server.max_sse_clients),
    },
    Limit {
        path: &["server", "header_timeout_seconds"],
        min: 1.0,
        min_open: false,
        max: 300.0,
        unit: "seconds",
        get: |a| f64::from(a.server.header_timeout_seconds),
    },
    Limit {
        path: &["server", "request_timeout_seconds"],
        min: 1.0,
        min_open: false,
        max: 3_600.0,
        unit: "seconds",
        get: |a| f64::from(a.server.request_timeout_seconds),
    },
    Limit {
        path: &["server", "shutdown_grace_seconds"],
        min: 1.0,
        min_open: false,
        max: 300.0,
        unit: "seconds",
        get: |a| f64::from(a.server.shutdown_grace_seconds),
    },
    Limit {
        path: &["server", "max_adhoc_queries"],
        min: 1.0,
        min_open: false,
        max: 1_024.0,
        unit: "queries",
        get: |a| f64::from(a.server.max_adhoc_queries),
    },
    Limit {
        path: &["api", "query_tester_per_minute"],
        min: 1.0,
        min_open: false,
        max: 10_000.0,
        unit: "runs",
        get: |a| f64::from(a.api.query_tester_per_minute),
    },
    Limit {
        path: &["alertmanager", "timeout_seconds"],
        min: 0.0,
        min_open: true,
        max: MAX_TIMEOUT_SECONDS,
        unit: "seconds",
        get: |a| a.alertmanager.timeout_seconds,
    },
    Limit {
        path: &["alertmanager", "sync_seconds"],
        min: 5.0,
        min_open: false,
        max: DAY,
        unit: "seconds",
        get: |a| f64::from(a.alertmanager.sync_seconds),
    },
    Limit {
        path: &["playlist", "interval_seconds"],
        min: 5.0,
        min_open: false,
        max: DAY,
        unit: "seconds",
        get: |a| f64::from(a.playlist.interval_seconds),
    },
];

impl Limit {
    /// NaN fails both comparisons, so it is refused like any other out-of-range value.
    pub fn accepts(&self, v: f64) -> bool {
        let above_min = if self.min_open {
            v > self.min
        } else {
            v >= self.min
        };
        above_min && v <= self.max
    }

    pub fn describe(&self) -> String {
        let low = if self.min_open { "above" } else { "at least" };
        format!("{low} {} and at most {} {}", self.min, self.max, self.unit)
    }
}

/// Position of a dotted key in app.yaml, or the file when it is not written there (a value
/// set by an environment variable).
pub fn key_pos(node: &Node, path: &[&str]) -> Pos {
    written(node, path).map_or(Pos::FILE, |n| n.pos)
}

fn written<'n>(node: &'n Node, path: &[&str]) -> Option<&'n Node> {
    path.iter().try_fold(node, |n, k| n.get(k))
}

/// Every number against its range; an error at the key, since the server cannot run with it.
pub fn ranges(app: &AppConfig, node: &Node, file: &Arc<Path>, diags: &mut Diagnostics) {
    for l in LIMITS {
        let v = (l.get)(app);
        if !l.accepts(v) {
            diags.error(
                "bad-value",
                Span::new(file, key_pos(node, l.path)),
                format!(
                    "{} is {}; it must be {}",
                    l.path.join("."),
                    shown(v),
                    l.describe()
                ),
            );
        }
    }
}

/// Whole numbers as written (`4000000000`), others in the short form (`1e20`, `NaN`).
fn shown(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{v}")
    } else {
        format!("{v:?}")
    }
}

/// An upstream key that is accepted (so configurations of the Python version load) but has
/// no effect here. `inert` says which values ask for nothing Rackscope does not do anyway;
/// `None` means the key has no effect whatever its value.
struct Ignored {
    path: &'static [&'static str],
    inert: Option<fn(&AppConfig) -> bool>,
    why: &'static str,
}

const IGNORED: &[Ignored] = &[
    Ignored {
        path: &["refresh", "rack_state_seconds"],
        inert: None,
        why: "pages refresh every refresh.room_state_seconds",
    },
    Ignored {
        path: &["cache", "ttl_seconds"],
        inert: None,
        why: "health is refreshed every planner.cache_ttl_seconds",
    },
    Ignored {
        path: &["cache", "health_checks_ttl_seconds"],
        inert: None,
        why: "health queries run once per refresh, every planner.cache_ttl_seconds",
    },
    Ignored {
        path: &["cache", "service_ttl_seconds"],
        inert: None,
        why: "responses are cached per health snapshot, not for a fixed time",
    },
    Ignored {
        path: &["telemetry", "debug_stats"],
        inert: Some(|a| !a.telemetry.debug_stats),
        why: "query statistics are served by /metrics and the API, not logged",
    },
    Ignored {
        path: &["features", "notifications"],
        inert: Some(|a| a.features.notifications),
        why: "the alerts page is always available",
    },
    Ignored {
        path: &["features", "notifications_max_visible"],
        inert: None,
        why: "there is no notification bell; the alerts page lists every alert",
    },
    Ignored {
        path: &["features", "playlist"],
        inert: Some(|a| a.features.playlist),
        why: "the wallboard playlist is always available",
    },
    Ignored {
        path: &["features", "wizard"],
        inert: Some(|a| !a.features.wizard),
        why: "there is no first-launch wizard",
    },
    Ignored {
        path: &["features", "worldmap"],
        inert: Some(|a| a.features.worldmap),
        why: "the world map is always shown",
    },
    Ignored {
        path: &["features", "show_logs"],
        inert: Some(|a| !a.features.show_logs),
        why: "there is no logs page",
    },
    Ignored {
        path: &["features", "dev_tools"],
        inert: Some(|a| !a.features.dev_tools),
        why: "there are no developer pages",
    },
    Ignored {
        path: &["features", "toast_duration_seconds"],
        inert: None,
        why: "a setting of the Python version's front end",
    },
    Ignored {
        path: &["features", "toast_position"],
        inert: None,
        why: "a setting of the Python version's front end",
    },
    Ignored {
        path: &["features", "toast_stack_threshold"],
        inert: None,
        why: "a setting of the Python version's front end",
    },
    Ignored {
        path: &["features", "aisle_dashboard"],
        inert: None,
        why: "a setting of the Python version's front end",
    },
    Ignored {
        path: &["map"],
        inert: None,
        why: "the world map is drawn with a fixed projection and zoom",
    },
    Ignored {
        path: &["simulator"],
        inert: None,
        why: "the simulator reads plugins/simulator/config/plugin.yaml",
    },
    Ignored {
        path: &["slurm"],
        inert: None,
        why: "there is no Slurm plugin",
    },
];

/// A warning at each written key that has no effect, so an operator never believes a
/// setting works when it is silently dropped.
pub fn ignored(app: &AppConfig, node: &Node, file: &Arc<Path>, diags: &mut Diagnostics) {
    for k in IGNORED {
        let Some(n) = written(node, k.path) else {
            continue;
        };
        if k.inert.is_some_and(|inert| inert(app)) {
            continue;
        }
        diags.warning(
            "ignored-key",
            Span::new(file, n.pos),
            format!(
                "`{}` has no effect in Rackscope: {}",
                k.path.join("."),
                k.why
            ),
        );
    }
    plugins(app, node, file, diags);
}

/// `plugins.<id>.enabled: true` starts nothing here but the Slurm view (its settings are
/// `plugins/slurm/config.yml`, checked by `load`): the simulator is its own command.
fn plugins(app: &AppConfig, node: &Node, file: &Arc<Path>, diags: &mut Diagnostics) {
    for id in app.plugins.keys() {
        if !app.plugin_enabled(id) {
            continue;
        }
        let why = match id.as_str() {
            "simulator" => "run the simulator with `rackscope simulate` or `rackscope demo`",
            "slurm" => continue,
            _ => "Rackscope has no plugin of that name",
        };
        diags.warning(
            "ignored-key",
            Span::new(file, key_pos(node, &["plugins", id, "enabled"])),
            format!("`plugins.{id}.enabled` has no effect in Rackscope: {why}"),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nan_infinite_negative_and_huge_values_are_all_refused() {
        let timeout = LIMITS
            .iter()
            .find(|l| l.path == ["telemetry", "prometheus_connect_timeout_seconds"])
            .unwrap();
        for v in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, -1.0, 0.0, 1e20] {
            assert!(!timeout.accepts(v), "{v}");
        }
        assert!(timeout.accepts(2.0));
        assert!(timeout.accepts(300.0));
    }

    fn numbers(v: &serde_json::Value, path: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
        match v {
            serde_json::Value::Object(m) => {
                for (k, c) in m {
                    path.push(k.clone());
                    numbers(c, path, out);
                    path.pop();
                }
            }
            serde_json::Value::Number(_) => out.push(path.clone()),
            _ => {}
        }
    }

    /// A number added to app.yaml without a range fails here: every number the server
    /// reads must be range-checked (or be a key it does not use).
    #[test]
    fn every_number_of_app_yaml_has_a_range_or_is_not_used() {
        let mut found = Vec::new();
        numbers(
            &serde_json::to_value(AppConfig::default()).unwrap(),
            &mut Vec::new(),
            &mut found,
        );
        assert!(found.len() > 10, "{found:?}");
        for p in found {
            let covered = LIMITS
                .iter()
                .map(|l| l.path)
                .chain(IGNORED.iter().map(|k| k.path))
                .any(|known| {
                    p.starts_with(&known.iter().map(|s| s.to_string()).collect::<Vec<_>>())
                });
            assert!(
                covered,
                "app.yaml number `{}` has no range in LIMITS",
                p.join(".")
            );
        }
    }

    #[test]
    fn the_defaults_are_inside_every_range_and_ignore_nothing() {
        let app = AppConfig::default();
        for l in LIMITS {
            assert!(l.accepts((l.get)(&app)), "{}", l.path.join("."));
        }
        for k in IGNORED {
            if let Some(inert) = k.inert {
                // Only the upstream defaults that ask for something absent are not inert.
                let asks = !inert(&app);
                let expected = matches!(k.path, ["features", "playlist" | "wizard" | "show_logs"]);
                assert_eq!(asks, expected, "{}", k.path.join("."));
            }
        }
    }
}
