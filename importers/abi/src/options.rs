//! An importer's options: declared once as [`OptionDef`]s, listed by `describe()` and read
//! from the JSON object the host builds out of the importer file and `--set` flags.
//!
//! The reading rules are the same for every importer: the configuration is an object (null
//! is an empty one), an unknown key is an error naming the valid ones (a typo is never
//! silently ignored), null means "not given", and flags arrive as YAML scalars, so numbers
//! and booleans are read as text and numbers may come as strings.

use serde_json::{Map, Value};

use crate::OptionSpec;

/// One option: the single declaration behind `describe()` and the unknown-key check, so the
/// two cannot drift apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OptionDef {
    pub name: &'static str,
    pub required: bool,
    pub default: Option<&'static str>,
    pub help: &'static str,
}

impl OptionDef {
    /// An optional option without a documented default.
    pub const fn new(name: &'static str, help: &'static str) -> Self {
        OptionDef {
            name,
            required: false,
            default: None,
            help,
        }
    }

    pub const fn required(mut self) -> Self {
        self.required = true;
        self
    }

    pub const fn default(mut self, default: &'static str) -> Self {
        self.default = Some(default);
        self
    }
}

/// The options as `describe()` lists them.
pub fn specs(defs: &[OptionDef]) -> Vec<OptionSpec> {
    defs.iter()
        .map(|d| OptionSpec {
            name: d.name.to_owned(),
            help: d.help.to_owned(),
            required: d.required,
            default: d.default.map(str::to_owned),
        })
        .collect()
}

/// Why a configuration was refused; every message names the option.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OptionError {
    #[error("the {importer} importer configuration must be an object, not {found}")]
    NotAnObject {
        importer: &'static str,
        found: String,
    },
    #[error("unknown option `{key}` for the {importer} importer; valid options: {valid}")]
    Unknown {
        importer: &'static str,
        key: String,
        valid: String,
    },
    #[error("option `{key}` must be {expected}, not {found}")]
    Invalid {
        key: String,
        expected: String,
        found: String,
    },
    #[error("option `{key}` must not be empty")]
    Empty { key: String },
}

/// Importers report errors as text across the ABI.
impl From<OptionError> for String {
    fn from(e: OptionError) -> String {
        e.to_string()
    }
}

/// A value as an error shows it: its JSON, cut after 60 characters so that a huge value
/// does not bury the message.
pub fn short(v: &Value) -> String {
    let s = v.to_string();
    match s.char_indices().nth(60) {
        Some((i, _)) => format!("{}…", s.get(..i).unwrap_or_default()),
        None => s,
    }
}

/// The configuration object, checked against the declared options; the getters read one
/// option each and return `None` when it is not given (absent or null).
#[derive(Debug, Clone, Copy)]
pub struct Config<'a> {
    map: Option<&'a Map<String, Value>>,
}

impl<'a> Config<'a> {
    /// Checks that `config` is an object (or null) whose keys are all in `defs`.
    pub fn read(
        importer: &'static str,
        config: &'a Value,
        defs: &[OptionDef],
    ) -> Result<Config<'a>, OptionError> {
        let map = match config {
            Value::Object(m) => m,
            Value::Null => return Ok(Config { map: None }),
            other => {
                return Err(OptionError::NotAnObject {
                    importer,
                    found: short(other),
                });
            }
        };
        if let Some(key) = map.keys().find(|k| !defs.iter().any(|d| d.name == *k)) {
            return Err(OptionError::Unknown {
                importer,
                key: key.clone(),
                valid: defs.iter().map(|d| d.name).collect::<Vec<_>>().join(", "),
            });
        }
        Ok(Config { map: Some(map) })
    }

    /// The raw value of `key`, null included, for options with their own reading rules.
    pub fn raw(&self, key: &str) -> Option<&'a Value> {
        self.map.and_then(|m| m.get(key))
    }

    fn get(&self, key: &str) -> Option<&'a Value> {
        self.raw(key).filter(|v| !v.is_null())
    }

    /// The error for a value of `key` that is not what it `expected` (e.g. "auto or json").
    pub fn invalid(&self, key: &str, expected: &str) -> OptionError {
        OptionError::Invalid {
            key: key.to_owned(),
            expected: expected.to_owned(),
            found: self.raw(key).map_or_else(|| "nothing".to_owned(), short),
        }
    }

    /// A scalar as trimmed text.
    pub fn text(&self, key: &str) -> Result<Option<String>, OptionError> {
        self.get(key)
            .map(|v| scalar_text(v).ok_or_else(|| self.invalid(key, "a string")))
            .transpose()
    }

    /// Like [`Config::text`], but an empty text is an error.
    pub fn non_empty(&self, key: &str) -> Result<Option<String>, OptionError> {
        match self.text(key)? {
            Some(s) if s.is_empty() => Err(OptionError::Empty {
                key: key.to_owned(),
            }),
            other => Ok(other),
        }
    }

    /// A list: a JSON list, or one text that may hold several comma-separated items (a
    /// `--set` flag can only give a text). Items are trimmed; empty ones are dropped.
    pub fn list(&self, key: &str) -> Result<Option<Vec<String>>, OptionError> {
        let Some(v) = self.get(key) else {
            return Ok(None);
        };
        let bad = || self.invalid(key, "a string or a list of strings");
        let texts: Vec<String> = match v {
            Value::Array(items) => items
                .iter()
                .map(|x| scalar_text(x).ok_or_else(bad))
                .collect::<Result<_, _>>()?,
            other => vec![scalar_text(other).ok_or_else(bad)?],
        };
        Ok(Some(
            texts
                .iter()
                .flat_map(|s| s.split(','))
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
        ))
    }

    /// An integer from `min` to `max`, as a number or a text; a blank text is not given.
    pub fn integer(&self, key: &str, min: u64, max: u64) -> Result<Option<u64>, OptionError> {
        let Some(v) = self.get(key) else {
            return Ok(None);
        };
        let n = match v {
            Value::Number(n) => n.as_u64(),
            Value::String(s) if s.trim().is_empty() => return Ok(None),
            Value::String(s) => s.trim().parse::<u64>().ok(),
            _ => None,
        };
        match n {
            Some(n) if (min..=max).contains(&n) => Ok(Some(n)),
            _ => Err(self.invalid(key, &format!("an integer from {min} to {max}"))),
        }
    }

    /// A TCP port, 1 to 65535.
    pub fn port(&self, key: &str) -> Result<Option<u16>, OptionError> {
        Ok(self
            .integer(key, 1, u64::from(u16::MAX))?
            .and_then(|n| u16::try_from(n).ok()))
    }
}

/// Strings trimmed; numbers and booleans as their text; anything else is not a scalar.
fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.trim().to_owned()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const DEFS: &[OptionDef] = &[
        OptionDef::new("name", "a name").required(),
        OptionDef::new("list", "a list"),
        OptionDef::new("size", "a size").default("5"),
    ];

    #[test]
    fn unknown_keys_and_non_objects_are_refused() {
        let e = Config::read("demo", &json!({"nmae": 1}), DEFS).unwrap_err();
        assert_eq!(
            e.to_string(),
            "unknown option `nmae` for the demo importer; valid options: name, list, size"
        );
        let e = Config::read("demo", &json!([1]), DEFS).unwrap_err();
        assert_eq!(
            e.to_string(),
            "the demo importer configuration must be an object, not [1]"
        );
        let c = Config::read("demo", &Value::Null, DEFS).unwrap();
        assert_eq!(c.text("name").unwrap(), None);
    }

    #[test]
    fn getters_read_scalars_lists_and_bounded_integers() {
        let v = json!({"name": " x ", "list": ["a, b", 3], "size": "7"});
        let c = Config::read("demo", &v, DEFS).unwrap();
        assert_eq!(c.text("name").unwrap().as_deref(), Some("x"));
        assert_eq!(c.list("list").unwrap().unwrap(), ["a", "b", "3"]);
        assert_eq!(c.integer("size", 1, 10).unwrap(), Some(7));
        assert_eq!(
            c.integer("size", 1, 5).unwrap_err().to_string(),
            "option `size` must be an integer from 1 to 5, not \"7\""
        );
        let v = json!({"name": "", "list": {}, "size": null});
        let c = Config::read("demo", &v, DEFS).unwrap();
        assert_eq!(
            c.non_empty("name").unwrap_err().to_string(),
            "option `name` must not be empty"
        );
        assert!(c.list("list").unwrap_err().to_string().contains("`list`"));
        assert_eq!(c.port("size").unwrap(), None);
        let specs = specs(DEFS);
        assert!(specs[0].required && specs[2].default.as_deref() == Some("5"));
    }
}
