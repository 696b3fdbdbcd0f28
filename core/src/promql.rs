//! PromQL parsing through promql-parser, behind a guard that bounds what reaches it.
//! Placeholders are `placeholder`'s.

/// Parses PromQL; the error text is promql-parser's, which carries no position. Every
/// expression passes [`guard`] first, so no text, from a request or a file, reaches the
/// parser unbounded.
pub fn parse(expr: &str) -> Result<(), String> {
    guard(expr).map_err(|e| e.to_string())?;
    promql_parser::parser::parse(expr)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// The most bytes an expression may have. The longest check of the bundled and example
/// libraries is under 1 KiB; placeholder values for the tester add regex alternations.
pub const MAX_EXPR_BYTES: usize = 64 * 1024;
/// The deepest nesting: brackets of any kind plus a chain of unary operators. promql-parser
/// recurses per level (60,000 levels overflowed a worker's stack); 64 is far beyond any
/// real query and parses within a few hundred KiB of stack.
pub const MAX_EXPR_DEPTH: usize = 64;
/// The most operators (binary, unary, set and comparison): the parser's cost grows with
/// the square of their number (20,000 took 10 s), 500 parse in milliseconds.
pub const MAX_EXPR_OPERATORS: usize = 500;

/// Why an expression was refused before parsing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GuardError {
    #[error("the expression is {0} bytes long; the limit is {MAX_EXPR_BYTES}")]
    TooLong(usize),
    #[error(
        "the expression nests deeper than {MAX_EXPR_DEPTH} levels (brackets and unary operators)"
    )]
    TooDeep,
    #[error("the expression has more than {MAX_EXPR_OPERATORS} operators")]
    TooManyOperators,
    #[error("the duration `{0}` is out of range (at most {MAX_DURATION_SECONDS:e} seconds)")]
    Duration(String),
}

/// The longest duration written as a plain number of seconds (`up[300]`, `offset 1e6`).
/// promql-parser converts such numbers with a panicking conversion: 2e19 aborted it.
pub const MAX_DURATION_SECONDS: f64 = 1e15;

/// Whether a word in a duration's place is a number too large for one (or not finite).
/// Durations with units (`5m`, `99999999999y`) are checked by the parser itself.
fn oversized_duration(word: &str) -> bool {
    // A subquery's range and step arrive as one word (`5m:1e30`).
    word.split(':').any(|number| {
        if number.eq_ignore_ascii_case("inf") || number.eq_ignore_ascii_case("nan") {
            return true;
        }
        number.starts_with(|c: char| c.is_ascii_digit() || c == '.')
            && number
                .parse::<f64>()
                .is_ok_and(|v| !(v.is_finite() && v < MAX_DURATION_SECONDS))
    })
}

/// Checks an expression against the limits above with a linear scan of its tokens, strings
/// and comments skipped, so that the check itself costs nothing a request could inflate.
///
/// Longer than our usual functions on purpose: it is one scanner whose states (depth,
/// pending unary operators, whether an operand is due, inside `[…]` or after `offset`)
/// change together at each byte; split, they would travel as one struct through every part.
pub fn guard(expr: &str) -> Result<(), GuardError> {
    if expr.len() > MAX_EXPR_BYTES {
        return Err(GuardError::TooLong(expr.len()));
    }
    let b = expr.as_bytes();
    let (mut i, mut depth, mut unary, mut ops) = (0, 0usize, 0usize, 0usize);
    // Whether the next token is an operand: an operator there is unary.
    let mut want_operand = true;
    let mut braces = 0usize;
    // Durations: inside `[…]`, and the word after `offset`.
    let (mut squares, mut after_offset) = (0usize, false);
    while i < b.len() {
        let c = b[i];
        match c {
            b'"' | b'\'' | b'`' => {
                i = skip_string(b, i);
                want_operand = false;
                unary = 0;
                continue;
            }
            b'#' => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            b'(' | b'[' | b'{' => {
                depth += 1;
                if c == b'{' {
                    braces += 1;
                }
                if c == b'[' {
                    squares += 1;
                }
                want_operand = true;
            }
            b')' | b']' | b'}' => {
                depth = depth.saturating_sub(1);
                if c == b'}' {
                    braces = braces.saturating_sub(1);
                }
                if c == b']' {
                    squares = squares.saturating_sub(1);
                }
                unary = 0;
                want_operand = false;
            }
            b',' => want_operand = true,
            b'+' | b'-' | b'*' | b'/' | b'%' | b'^' | b'=' | b'!' | b'<' | b'>' | b'~'
                if braces == 0 =>
            {
                // Two-character operators (`==`, `!=`, `>=`, `=~`…) count once.
                if i + 1 < b.len() && matches!(b[i + 1], b'=' | b'~') && c != b'~' {
                    i += 1;
                }
                ops += 1;
                if want_operand {
                    unary += 1;
                }
                want_operand = true;
            }
            c if c.is_ascii_alphanumeric() || c == b'_' || c == b':' || c == b'.' => {
                let start = i;
                while i < b.len()
                    && (b[i].is_ascii_alphanumeric() || matches!(b[i], b'_' | b':' | b'.'))
                {
                    i += 1;
                }
                // An exponent's sign belongs to the number (`1e+30`).
                if i + 1 < b.len()
                    && matches!(b[i - 1], b'e' | b'E')
                    && b[start].is_ascii_digit()
                    && matches!(b[i], b'+' | b'-')
                    && b[i + 1].is_ascii_digit()
                {
                    i += 1;
                    while i < b.len() && b[i].is_ascii_digit() {
                        i += 1;
                    }
                }
                let word = &expr[start..i];
                if (squares > 0 || after_offset) && braces == 0 && oversized_duration(word) {
                    return Err(GuardError::Duration(word.chars().take(40).collect()));
                }
                after_offset = word.eq_ignore_ascii_case("offset");
                if braces == 0 && matches!(word, "and" | "or" | "unless" | "atan2") {
                    ops += 1;
                    want_operand = true;
                } else {
                    want_operand = false;
                    unary = 0;
                }
                if ops > MAX_EXPR_OPERATORS {
                    return Err(GuardError::TooManyOperators);
                }
                continue;
            }
            _ => {}
        }
        if depth + unary > MAX_EXPR_DEPTH {
            return Err(GuardError::TooDeep);
        }
        if ops > MAX_EXPR_OPERATORS {
            return Err(GuardError::TooManyOperators);
        }
        i += 1;
    }
    Ok(())
}

/// The index just past the string literal starting at `start` (or the end of the text).
fn skip_string(b: &[u8], start: usize) -> usize {
    let quote = b[start];
    let mut i = start + 1;
    while i < b.len() {
        match b[i] {
            b'\\' if quote != b'`' => i += 2,
            x if x == quote => return i + 1,
            _ => i += 1,
        }
    }
    b.len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::placeholder::{unknown_placeholders, with_sample_ids, with_sample_metric_values};

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

    #[test]
    fn the_guard_refuses_every_kind_of_deep_nesting_before_the_parser() {
        let deep =
            |open: &str, close: &str, n: usize| format!("{}1{}", open.repeat(n), close.repeat(n));
        for e in [
            deep("(", ")", 30_000),
            deep("-", "", 30_000),
            deep("abs(", ")", 5_000),
            deep("sum(", ")", 5_000),
            deep("-(", ")", 5_000),
            deep("sum by (x) (", ")", 2_000),
        ] {
            assert!(
                matches!(guard(&e), Err(GuardError::TooDeep)),
                "{}",
                &e[..20]
            );
            assert!(parse(&e).unwrap_err().contains("nests deeper"));
        }
        let chain = vec!["1"; 20_000].join("+");
        assert_eq!(guard(&chain), Err(GuardError::TooManyOperators));
        let words = vec!["up"; 1_000].join(" or ");
        assert_eq!(guard(&words), Err(GuardError::TooManyOperators));
        let huge = "(".repeat(70_000);
        assert_eq!(guard(&huge), Err(GuardError::TooLong(70_000)));
        let long = format!("up{{job=\"{}\"}}", "x".repeat(MAX_EXPR_BYTES));
        assert!(matches!(guard(&long), Err(GuardError::TooLong(_))));
    }

    #[test]
    fn numbers_too_large_for_a_duration_are_refused_where_the_parser_would_panic() {
        // Each of these panicked promql-parser 0.11 (Duration::from_secs_f64), found by
        // the fuzz target `expr_guard`.
        for e in [
            "up[888888888800709999906:]",
            "up[1e30]",
            "up[1e30:]",
            "up[5m:1e30]",
            "up offset 1e30",
            "up offset -1e30",
            "up offset Inf",
            "up[1e+30]",
            "up[5m] OFFSET 1E30",
            "rate(up[5m:1e20])",
            "up[2e19]",
            "up[18446744073709551616]",
        ] {
            assert!(matches!(guard(e), Err(GuardError::Duration(_))), "{e}");
        }
        // Large numbers elsewhere, and durations in range, are fine.
        for e in [
            "up > 1e30",
            "up[1e10]",
            "up[5m:30s] offset 1h",
            "up @ 1e30",
            "vector(1e+30)",
        ] {
            assert_eq!(guard(e), Ok(()), "{e}");
            assert!(parse(e).is_ok(), "{e}");
        }
    }

    #[test]
    fn strings_comments_and_matchers_do_not_count() {
        // Brackets and operators inside strings, comments and label matchers are not
        // nesting or arithmetic.
        let s = format!(
            r#"up{{job="{}", a!="-", b='(((('}} # {}"#,
            "((((-".repeat(1_000),
            "(".repeat(500)
        );
        assert_eq!(guard(&s), Ok(()));
        assert!(parse(&s).is_ok());
        let matchers = (0..600)
            .map(|i| format!("l{i}!=\"x\""))
            .collect::<Vec<_>>()
            .join(",");
        assert_eq!(guard(&format!("up{{{matchers}}}")), Ok(()));
    }

    #[test]
    fn expressions_at_the_limits_parse_on_a_small_stack() {
        // A blocking-pool thread has a 2 MiB stack; at the limits the parser must fit in
        // far less, whatever the kind of nesting.
        let at = MAX_EXPR_DEPTH;
        let cases = vec![
            format!("{}1{}", "(".repeat(at), ")".repeat(at)),
            format!("{}1", "-".repeat(at)),
            format!("{}up{}", "abs(".repeat(at - 1), ")".repeat(at - 1)),
            format!("{}1{}", "-(".repeat(at / 2), ")".repeat(at / 2)),
            vec!["1"; MAX_EXPR_OPERATORS + 1].join("+"),
            vec!["up"; MAX_EXPR_OPERATORS + 1].join(" or "),
            vec!["rate(x[5m])"; MAX_EXPR_OPERATORS + 1].join(" / "),
        ];
        for e in cases {
            assert_eq!(guard(&e), Ok(()), "{}", &e[..e.len().min(40)]);
            let r = std::thread::Builder::new()
                .stack_size(512 * 1024)
                .spawn(move || parse(&e))
                .unwrap()
                .join()
                .unwrap();
            assert!(r.is_ok(), "{r:?}");
        }
    }

    /// Expressions built from every way of nesting and chaining, up to far past the limits.
    fn nested() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        // Vectors only, so that every combination is also well typed and must parse.
        let leaf = prop_oneof![
            Just("up".to_owned()),
            Just(r#"up{job="a(b"}"#.to_owned()),
            Just("rate(x[5m])".to_owned()),
        ];
        leaf.prop_recursive(12, 4_000, 3, |inner| {
            prop_oneof![
                inner.clone().prop_map(|e| format!("({e})")),
                inner.clone().prop_map(|e| format!("-{e}")),
                inner.clone().prop_map(|e| format!("abs({e})")),
                inner.clone().prop_map(|e| format!("sum by (a) ({e})")),
                (inner.clone(), inner.clone(), 0..4usize)
                    .prop_map(|(a, b, op)| { format!("{a} {} {b}", ["+", "/", "and", ">="][op]) }),
                (inner, 1..200usize).prop_map(|(e, n)| format!(
                    "{}{e}{}",
                    "(".repeat(n),
                    ")".repeat(n)
                )),
            ]
        })
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(128))]
        #[test]
        fn whatever_the_guard_lets_through_parses_on_a_small_stack(e in nested()) {
            if guard(&e).is_ok() {
                let r = std::thread::Builder::new()
                    .stack_size(256 * 1024)
                    .spawn(move || parse(&e).is_ok())
                    .unwrap()
                    .join();
                proptest::prop_assert!(matches!(r, Ok(true)), "{r:?}");
            }
        }
    }
}
