//! Calendar dates without a time-zone database: days since the epoch to a civil date and
//! back (H. Hinnant's algorithms), and the one timestamp form the configuration files
//! write, RFC 3339 in UTC (`2026-12-02T12:00:00Z`).

/// Days since 1970-01-01 → (year, month, day), proleptic Gregorian.
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// (year, month, day) → days since 1970-01-01; `None` for a date that does not exist.
pub fn days_from_civil(y: i64, m: u32, d: u32) -> Option<i64> {
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let len = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return None,
    };
    if d == 0 || d > len {
        return None;
    }
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = i64::from((m + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Some(era * 146_097 + doe - 719_468)
}

/// Seconds since the epoch → `YYYY-MM-DDTHH:MM:SSZ`.
pub fn format_utc(unix: u64) -> String {
    let days = (unix / 86_400) as i64;
    let rem = unix % 86_400;
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// `YYYY-MM-DDTHH:MM:SSZ` (or a bare `YYYY-MM-DD`, midnight UTC) → seconds since the
/// epoch. Other offsets are refused rather than guessed.
pub fn parse_utc(s: &str) -> Option<u64> {
    let s = s.trim();
    let (date, time) = match s.split_once(['T', ' ']) {
        Some((d, t)) => (
            d,
            Some(t.strip_suffix('Z').or_else(|| t.strip_suffix('z'))?),
        ),
        None => (s, None),
    };
    let mut parts = date.splitn(3, '-');
    let num = |p: Option<&str>, len: usize| -> Option<u32> {
        let p = p?;
        (p.len() == len && p.bytes().all(|b| b.is_ascii_digit()))
            .then(|| p.parse().ok())
            .flatten()
    };
    let y = num(parts.next(), 4)?;
    let m = num(parts.next(), 2)?;
    let d = num(parts.next(), 2)?;
    let days = days_from_civil(i64::from(y), m, d)?;
    let secs = match time {
        None => 0,
        Some(t) => {
            let mut hms = t.splitn(3, ':');
            let h = num(hms.next(), 2)?;
            let mi = num(hms.next(), 2)?;
            let sec = num(hms.next(), 2)?;
            if h > 23 || mi > 59 || sec > 60 {
                return None;
            }
            u64::from(h * 3600 + mi * 60 + sec)
        }
    };
    u64::try_from(days).ok().map(|d| d * 86_400 + secs)
}

/// A time as Unix seconds, as maintenance windows compare times (0 before 1970).
pub fn unix_seconds(t: std::time::SystemTime) -> i64 {
    t.duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_go_both_ways() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(20_454), (2026, 1, 1));
        assert_eq!(civil_from_days(19_782), (2024, 2, 29));
        for day in [-1000, 0, 59, 60, 19_782, 20_454, 100_000] {
            let (y, m, d) = civil_from_days(day);
            assert_eq!(days_from_civil(y, m, d), Some(day));
        }
        assert_eq!(days_from_civil(2025, 2, 29), None);
        assert_eq!(days_from_civil(2024, 13, 1), None);
    }

    #[test]
    fn timestamps_round_trip_and_odd_forms_are_refused() {
        let t = 1_796_212_800; // 2026-12-02T12:00:00Z
        assert_eq!(format_utc(t), "2026-12-02T12:00:00Z");
        assert_eq!(parse_utc("2026-12-02T12:00:00Z"), Some(t));
        assert_eq!(parse_utc("2026-12-02"), Some(t - 12 * 3600));
        for bad in [
            "",
            "2026-12-02T12:00:00+02:00",
            "2026-12-02T12:00:00",
            "2026-13-02",
            "26-12-02",
            "2026-12-02T25:00:00Z",
            "tomorrow",
        ] {
            assert_eq!(parse_utc(bad), None, "{bad}");
        }
    }
}
