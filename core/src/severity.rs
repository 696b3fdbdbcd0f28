//! Health states and the one order everything aggregates by: CRIT > WARN > UNKNOWN > OK.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A health state. The derived order is the severity order, worst last, so `max` is
/// "worst wins" everywhere.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum Severity {
    #[default]
    Ok,
    Unknown,
    Warn,
    Crit,
}

impl Severity {
    pub const ALL: [Severity; 4] = [
        Severity::Ok,
        Severity::Unknown,
        Severity::Warn,
        Severity::Crit,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Ok => "OK",
            Severity::Unknown => "UNKNOWN",
            Severity::Warn => "WARN",
            Severity::Crit => "CRIT",
        }
    }

    /// The worst of several states; `None` for no states at all.
    pub fn worst(states: impl IntoIterator<Item = Severity>) -> Option<Severity> {
        states.into_iter().max()
    }

    pub fn is_alert(self) -> bool {
        matches!(self, Severity::Warn | Severity::Crit)
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Severity {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_uppercase().as_str() {
            "OK" => Ok(Severity::Ok),
            "UNKNOWN" => Ok(Severity::Unknown),
            "WARN" | "WARNING" => Ok(Severity::Warn),
            "CRIT" | "CRITICAL" => Ok(Severity::Crit),
            _ => Err(format!(
                "unknown severity `{s}`, expected one of OK, WARN, CRIT, UNKNOWN"
            )),
        }
    }
}

impl Serialize for Severity {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Severity {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::Severity::*;
    use super::*;

    #[test]
    fn order_is_crit_warn_unknown_ok() {
        assert_eq!(Severity::worst([Ok, Unknown]), Some(Unknown));
        assert_eq!(Severity::worst([Unknown, Warn, Ok]), Some(Warn));
        assert_eq!(Severity::worst([Warn, Crit]), Some(Crit));
        assert_eq!(Severity::worst([]), None);
        assert_eq!("crit".parse::<Severity>(), std::result::Result::Ok(Crit));
    }
}
