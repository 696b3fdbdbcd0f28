//! `for:` durations: `30s`, `5m`, `1h`, `1d`, `1w`, `1y`, and compound forms like `1h30m`.

use std::fmt;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Duration {
    pub seconds: u64,
}

impl Duration {
    pub fn parse(s: &str) -> Result<Duration, String> {
        let t = s.trim();
        let bad = || {
            format!(
                "invalid duration `{s}`: expected a number followed by s, m, h, d, w or y (for example 30s, 5m, 1h)"
            )
        };
        if t.is_empty() {
            return Err(bad());
        }
        let mut total: u64 = 0;
        let mut digits = String::new();
        let mut saw_unit = false;
        for c in t.chars() {
            if c.is_ascii_digit() {
                digits.push(c);
                continue;
            }
            let unit = match c {
                's' => 1,
                'm' => 60,
                'h' => 3600,
                'd' => 86_400,
                'w' => 604_800,
                'y' => 31_536_000,
                _ => return Err(bad()),
            };
            let n: u64 = digits.parse().map_err(|_| bad())?;
            total = total
                .checked_add(n.checked_mul(unit).ok_or_else(bad)?)
                .ok_or_else(bad)?;
            digits.clear();
            saw_unit = true;
        }
        if !digits.is_empty() || !saw_unit {
            return Err(bad());
        }
        Ok(Duration { seconds: total })
    }
}

impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.seconds;
        if s != 0 && s.is_multiple_of(86_400) {
            write!(f, "{}d", s / 86_400)
        } else if s != 0 && s.is_multiple_of(3600) {
            write!(f, "{}h", s / 3600)
        } else if s != 0 && s.is_multiple_of(60) {
            write!(f, "{}m", s / 60)
        } else {
            write!(f, "{s}s")
        }
    }
}

impl Serialize for Duration {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Duration {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Duration::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::Duration;

    #[test]
    fn parses_the_documented_forms() {
        for (s, secs) in [
            ("30s", 30),
            ("5m", 300),
            ("1h", 3600),
            ("1d", 86_400),
            ("1h30m", 5400),
            ("0s", 0),
        ] {
            assert_eq!(Duration::parse(s).map(|d| d.seconds), Ok(secs), "{s}");
        }
    }

    #[test]
    fn rejects_what_prometheus_would_reject() {
        // The Python version silently reads these as 0 s, which fires on the second failing cycle.
        for s in ["5min", "1 m", "5M", "30", "", "m", "-1m"] {
            assert!(Duration::parse(s).is_err(), "{s}");
        }
    }
}
