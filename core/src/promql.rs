//! PromQL helpers: placeholder substitution and parsing through promql-parser.

/// The placeholders a check expression may use, each replaced by an anchored alternation
/// of ids when the planner builds queries.
pub const CHECK_PLACEHOLDERS: [&str; 4] = ["$instances", "$chassis", "$racks", "$jobs"];

/// Replaces every check placeholder by a harmless regex so the expression can be parsed.
pub fn with_sample_ids(expr: &str) -> String {
    let mut s = expr.to_owned();
    for p in CHECK_PLACEHOLDERS {
        s = s.replace(p, "sample");
    }
    s
}

/// `$words` in an expression that are not check placeholders (typos like `$instance`).
pub fn unknown_placeholders(expr: &str) -> Vec<String> {
    let mut out = Vec::new();
    let b = expr.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'$' {
            let start = i;
            i += 1;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                i += 1;
            }
            let word = &expr[start..i];
            if word.len() > 1
                && !CHECK_PLACEHOLDERS.contains(&word)
                && !out.iter().any(|w| w == word)
            {
                out.push(word.to_owned());
            }
        } else {
            i += 1;
        }
    }
    out
}

/// Parses PromQL; the error text is promql-parser's, which carries no position.
pub fn parse(expr: &str) -> Result<(), String> {
    promql_parser::parser::parse(expr)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// Replaces the metric-library placeholders (`$instance`, `{instance}`, `$rack_id`…) by a
/// sample value so the expression can be parsed.
pub fn with_sample_metric_values(expr: &str) -> String {
    let mut out = String::with_capacity(expr.len());
    let b = expr.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'$' {
            let mut j = i + 1;
            while j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == b'_') {
                j += 1;
            }
            if j > i + 1 {
                out.push_str("sample");
                i = j;
                continue;
            }
        }
        if b[i] == b'{'
            && let Some(close) = expr[i + 1..].find('}')
        {
            let inner = &expr[i + 1..i + 1 + close];
            if !inner.is_empty()
                && inner
                    .bytes()
                    .all(|c| c.is_ascii_alphanumeric() || c == b'_')
            {
                out.push_str("sample");
                i += close + 2;
                continue;
            }
        }
        let ch = expr[i..].chars().next().unwrap_or(' ');
        out.push(ch);
        i += ch.len_utf8();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders() {
        assert!(
            parse(&with_sample_ids(
                r#"up{instance=~"$instances",job=~"$jobs"}"#
            ))
            .is_ok()
        );
        assert!(parse(&with_sample_ids("sum(rate(x[5m])")).is_err());
        assert_eq!(
            unknown_placeholders(r#"up{instance=~"$instance"} and $racks"#),
            ["$instance"]
        );
        assert!(
            parse(&with_sample_metric_values(
                r#"node_hwmon_temp_celsius{instance="{instance}"}"#
            ))
            .is_ok()
        );
        assert!(parse(&with_sample_metric_values(r#"x{rack_id="$rack_id"}"#)).is_ok());
    }
}
