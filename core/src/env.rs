//! Environment overrides of app.yaml, layered with figment: `RACKSCOPE_SECTION__KEY=value`
//! sets `section.key` (for example `RACKSCOPE_TELEMETRY__PROMETHEUS_URL`).
//!
//! The file itself is decoded by our YAML layer (which keeps positions); figment only layers
//! the variables over the decoded value, so an error in a variable names the variable.

use figment2::Figment;
use figment2::providers::Serialized;
use figment2::value::Value;

use crate::model::app::AppConfig;

pub const PREFIX: &str = "RACKSCOPE_";

/// Applies every `RACKSCOPE_A__B` variable of `env` over `app`. Variables without `__`
/// (such as `RACKSCOPE_LOG`) are settings of the program, not of app.yaml, and are skipped.
pub fn apply(
    app: &AppConfig,
    env: impl IntoIterator<Item = (String, String)>,
) -> Result<AppConfig, String> {
    let mut overrides: Vec<(String, String, String)> = env
        .into_iter()
        .filter_map(|(k, v)| {
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
    if overrides.is_empty() {
        return Ok(app.clone());
    }
    overrides.sort();
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
    fn a_bad_value_names_the_variable() {
        let e = apply(
            &AppConfig::default(),
            env(&[("RACKSCOPE_PLANNER__MAX_IDS_PER_QUERY", "many")]),
        )
        .unwrap_err();
        assert!(e.contains("RACKSCOPE_PLANNER__MAX_IDS_PER_QUERY"), "{e}");
    }
}
