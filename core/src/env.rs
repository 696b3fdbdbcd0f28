//! Environment overrides of app.yaml, layered with figment: `RACKSCOPE_SECTION__KEY=value`
//! sets `section.key` (for example `RACKSCOPE_TELEMETRY__PROMETHEUS_URL`).
//!
//! The Python version's `PROMETHEUS_URL` is honoured too, so a container built for it
//! keeps its Prometheus. Precedence, weakest first: app.yaml's `telemetry.prometheus_url`,
//! then `PROMETHEUS_URL`, then `RACKSCOPE_TELEMETRY__PROMETHEUS_URL` (ours, more specific),
//! then `rackscope health --prometheus`. An empty variable counts as unset.
//!
//! The file itself is decoded by our YAML layer (which keeps positions); figment only layers
//! the variables over the decoded value, so an error in a variable names the variable.

use figment2::Figment;
use figment2::providers::Serialized;
use figment2::value::Value;

use crate::model::app::AppConfig;

pub const PREFIX: &str = "RACKSCOPE_";

/// The Python version's variable for the Prometheus URL.
pub const PROMETHEUS_URL: &str = "PROMETHEUS_URL";

/// Applies every `RACKSCOPE_A__B` variable of `env` over `app`. Variables without `__`
/// (such as `RACKSCOPE_LOG`) are settings of the program, not of app.yaml, and are skipped.
pub fn apply(
    app: &AppConfig,
    env: impl IntoIterator<Item = (String, String)>,
) -> Result<AppConfig, String> {
    let mut upstream_url = None;
    let mut overrides: Vec<(String, String, String)> = env
        .into_iter()
        .filter_map(|(k, v)| {
            if k == PROMETHEUS_URL {
                if !v.trim().is_empty() {
                    upstream_url = Some((k, "telemetry.prometheus_url".to_owned(), v));
                }
                return None;
            }
            let rest = k.strip_prefix(PREFIX)?;
            if !rest.contains("__") {
                return None;
            }
            let path = rest
                .split("__")
                .map(str::to_ascii_lowercase)
                .collect::<Vec<_>>()
                .join(".");
            Some((k, path, v))
        })
        .collect();
    overrides.sort();
    // Merged first, so that our own variables win over it.
    overrides.splice(0..0, upstream_url);
    if overrides.is_empty() {
        return Ok(app.clone());
    }
    let mut fig = Figment::from(Serialized::defaults(app));
    for (_, path, v) in &overrides {
        let value: Value = v.parse().unwrap_or_else(|_| Value::from(v.clone()));
        fig = fig.merge(Serialized::default(path, value));
    }
    fig.extract::<AppConfig>().map_err(|e| {
        let vars = overrides
            .iter()
            .map(|(k, _, _)| k.as_str())
            .collect::<Vec<_>>()
            .join(", ");
        format!("environment override ({vars}): {e}")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn nested_keys_are_overridden() {
        let app = AppConfig::default();
        let out = apply(
            &app,
            env(&[
                ("RACKSCOPE_TELEMETRY__PROMETHEUS_URL", "http://prom:9090"),
                ("RACKSCOPE_PLANNER__MAX_IDS_PER_QUERY", "50"),
                ("RACKSCOPE_LOG", "debug"),
                ("PATH", "/bin"),
            ]),
        )
        .unwrap();
        assert_eq!(out.telemetry.url(), "http://prom:9090");
        assert_eq!(out.planner.max_ids_per_query, 50);
        assert_eq!(out.app, app.app);
    }

    #[test]
    fn prometheus_url_overrides_the_file_and_ours_overrides_it() {
        let mut app = AppConfig::default();
        app.telemetry.prometheus_url = Some("http://from-file:9090".into());
        let out = apply(&app, env(&[("PROMETHEUS_URL", "http://upstream:9090")])).unwrap();
        assert_eq!(out.telemetry.url(), "http://upstream:9090");
        let both = [
            ("RACKSCOPE_TELEMETRY__PROMETHEUS_URL", "http://ours:9090"),
            ("PROMETHEUS_URL", "http://upstream:9090"),
        ];
        let out = apply(&app, env(&both)).unwrap();
        assert_eq!(out.telemetry.url(), "http://ours:9090");
        let out = apply(&app, env(&[("PROMETHEUS_URL", "  ")])).unwrap();
        assert_eq!(out.telemetry.url(), "http://from-file:9090");
    }

    #[test]
    fn a_bad_value_names_the_variable() {
        let e = apply(
            &AppConfig::default(),
            env(&[("RACKSCOPE_PLANNER__MAX_IDS_PER_QUERY", "many")]),
        )
        .unwrap_err();
        assert!(e.contains("RACKSCOPE_PLANNER__MAX_IDS_PER_QUERY"), "{e}");
    }
}
