//! Instance expansion: the one grammar for `compute[001-004]` and friends, used everywhere.
//!
//! Grammar (documented in docs/instances.md):
//! - A pattern is literal text with bracket groups: `compute[001-004]`, `n[01-03,07]`,
//!   `r[1-2]n[01-02]`.
//! - A group holds comma-separated items; an item is a range `START-END` of decimal numbers
//!   or a single word of letters, digits, `_` and `.`.
//! - A range is zero-padded to the width of START: `[001-004]` gives 001…004, `[8-10]` gives
//!   8, 9, 10, `[08-10]` gives 08, 09, 10. START greater than END is an error.
//! - Several groups multiply, the leftmost varying slowest: `r[1-2]n[1-2]` gives r1n1, r1n2,
//!   r2n1, r2n2.
//! - A bracket whose content is not a range list stays literal text, so IPv6 targets such
//!   as `[fe80::1]:9100` are names, not patterns. So does a group of one plain word.
//! - A pattern that produces the same name twice is an error, never silently de-duplicated,
//!   and so is one that produces a name which would itself read as a pattern.

use std::fmt;

/// Patterns larger than this are rejected: nobody means a million nodes in one device.
pub const MAX_EXPANSION: usize = 100_000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpandError {
    pub message: String,
}

impl fmt::Display for ExpandError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

fn err(message: String) -> ExpandError {
    ExpandError { message }
}

enum Part<'a> {
    Lit(&'a str),
    Group(Vec<Item<'a>>),
}

enum Item<'a> {
    Range { start: u64, end: u64, width: usize },
    Word(&'a str),
}

impl Item<'_> {
    fn len(&self) -> usize {
        match self {
            Item::Range { start, end, .. } => (end - start + 1) as usize,
            Item::Word(_) => 1,
        }
    }
}

fn parse_item(s: &str) -> Option<Item<'_>> {
    let s = s.trim();
    if let Some((a, b)) = s.split_once('-') {
        if !a.is_empty()
            && !b.is_empty()
            && a.bytes().all(|c| c.is_ascii_digit())
            && b.bytes().all(|c| c.is_ascii_digit())
        {
            let start = a.parse().ok()?;
            let end = b.parse().ok()?;
            return Some(Item::Range {
                start,
                end,
                width: a.len(),
            });
        }
        return None;
    }
    if !s.is_empty()
        && s.bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'.')
    {
        return Some(Item::Word(s));
    }
    None
}

/// Splits a pattern into literal text and groups. A group is kept only when its content is
/// a valid item list with at least a range or two items.
fn parse(pattern: &str) -> Vec<Part<'_>> {
    let mut parts = Vec::new();
    let mut lit_start = 0;
    let mut i = 0;
    let bytes = pattern.as_bytes();
    while i < bytes.len() {
        if bytes[i] == b'['
            && let Some(close) = pattern[i + 1..].find(']')
        {
            let inner = &pattern[i + 1..i + 1 + close];
            let items: Option<Vec<Item>> = inner.split(',').map(parse_item).collect();
            if let Some(items) = items {
                let is_pattern =
                    items.len() > 1 || items.iter().any(|it| matches!(it, Item::Range { .. }));
                if is_pattern {
                    if lit_start < i {
                        parts.push(Part::Lit(&pattern[lit_start..i]));
                    }
                    parts.push(Part::Group(items));
                    i += close + 2;
                    lit_start = i;
                    continue;
                }
            }
        }
        i += 1;
    }
    if lit_start < pattern.len() {
        parts.push(Part::Lit(&pattern[lit_start..]));
    }
    parts
}

/// Whether a string contains at least one expansion group.
pub fn is_pattern(s: &str) -> bool {
    parse(s).iter().any(|p| matches!(p, Part::Group(_)))
}

/// Expands one pattern into names, in order.
pub fn expand(pattern: &str) -> Result<Vec<String>, ExpandError> {
    let parts = parse(pattern);
    let mut total: usize = 1;
    for p in &parts {
        if let Part::Group(items) = p {
            for it in items {
                if let Item::Range { start, end, .. } = it
                    && start > end
                {
                    return Err(err(format!(
                        "range `{start}-{end}` in `{pattern}` runs backwards; write the smaller number first"
                    )));
                }
            }
            let n: usize = items.iter().map(Item::len).sum();
            total = total.saturating_mul(n);
        }
    }
    if total > MAX_EXPANSION {
        return Err(err(format!(
            "`{pattern}` expands to {total} names, more than the limit of {MAX_EXPANSION}"
        )));
    }
    let mut out = vec![String::new()];
    for p in &parts {
        match p {
            Part::Lit(l) => out.iter_mut().for_each(|s| s.push_str(l)),
            Part::Group(items) => {
                let mut next =
                    Vec::with_capacity(out.len() * items.iter().map(Item::len).sum::<usize>());
                for prefix in &out {
                    for it in items {
                        match it {
                            Item::Word(w) => next.push(format!("{prefix}{w}")),
                            Item::Range { start, end, width } => {
                                for n in *start..=*end {
                                    next.push(format!("{prefix}{n:0width$}"));
                                }
                            }
                        }
                    }
                }
                out = next;
            }
        }
    }
    if out.len() > 1 {
        let mut seen = std::collections::HashSet::with_capacity(out.len());
        for name in &out {
            if !seen.insert(name.as_str()) {
                return Err(err(format!("`{pattern}` produces `{name}` more than once")));
            }
        }
    }
    if out.iter().any(String::is_empty) {
        return Err(err("an instance name is empty".into()));
    }
    // A name must mean itself wherever it is written again (a list, a slot map, a search),
    // so a pattern may not produce a name that would itself expand.
    if (total > 1 || parts.iter().any(|p| matches!(p, Part::Group(_))))
        && let Some(name) = out.iter().find(|n| n.contains('[') && is_pattern(n))
    {
        return Err(err(format!(
            "`{pattern}` produces `{name}`, which would itself be read as a pattern"
        )));
    }
    Ok(out)
}

/// Folds a list of names back into as few patterns as possible, preserving order, such
/// that expanding the patterns one after another gives the list again.
pub fn fold(names: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < names.len() {
        let Some((pre, digits, suf)) = split_number(&names[i]) else {
            out.push(names[i].clone());
            i += 1;
            continue;
        };
        let width = digits.len();
        let Ok(start) = digits.parse::<u64>() else {
            out.push(names[i].clone());
            i += 1;
            continue;
        };
        let mut end = start;
        let mut j = i + 1;
        while j < names.len() {
            let want = format!("{pre}{:0width$}{suf}", end + 1);
            if names[j] != want {
                break;
            }
            end += 1;
            j += 1;
        }
        if j - i == 1 {
            out.push(names[i].clone());
        } else {
            out.push(format!("{pre}[{digits}-{:0width$}]{suf}", end));
        }
        i = j;
    }
    out
}

/// The last run of digits of a name, with what stands before and after it.
fn split_number(name: &str) -> Option<(&str, &str, &str)> {
    let end = name.rfind(|c: char| c.is_ascii_digit())? + 1;
    // Char-aware: the character before the digits may be several bytes long.
    let start = name[..end]
        .char_indices()
        .rev()
        .find(|(_, c)| !c.is_ascii_digit())
        .map(|(i, c)| i + c.len_utf8())
        .unwrap_or(0);
    if name[..start].contains(['[', ']']) || name[end..].contains(['[', ']']) {
        return None;
    }
    Some((&name[..start], &name[start..end], &name[end..]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ex(p: &str) -> Vec<String> {
        expand(p).unwrap()
    }

    #[test]
    fn documented_examples() {
        assert_eq!(
            ex("compute[001-004]"),
            ["compute001", "compute002", "compute003", "compute004"]
        );
        assert_eq!(ex("n[01-03,07]"), ["n01", "n02", "n03", "n07"]);
        assert_eq!(ex("r[1-2]n[01-02]"), ["r1n01", "r1n02", "r2n01", "r2n02"]);
        assert_eq!(ex("c[8-10]"), ["c8", "c9", "c10"]);
        assert_eq!(ex("c[08-10]-ib"), ["c08-ib", "c09-ib", "c10-ib"]);
        assert_eq!(ex("[1-3]"), ["1", "2", "3"]);
        assert_eq!(ex("node01"), ["node01"]);
        assert_eq!(ex("sw[a,b]"), ["swa", "swb"]);
    }

    #[test]
    fn brackets_that_are_not_patterns_stay_literal() {
        assert_eq!(ex("[fe80::1]:9100"), ["[fe80::1]:9100"]);
        assert_eq!(ex("x[abc]"), ["x[abc]"]);
        assert_eq!(ex("x[1-"), ["x[1-"]);
        assert!(!is_pattern("[::1]"));
        assert!(is_pattern("a[1-2]"));
    }

    #[test]
    fn mistakes_are_errors() {
        assert!(expand("c[10-1]").unwrap_err().message.contains("backwards"));
        assert!(
            expand("n[1-3,2]")
                .unwrap_err()
                .message
                .contains("more than once")
        );
        assert!(expand("n[0-999999]").unwrap_err().message.contains("limit"));
        // Found by the expansion fuzzer: the names would re-expand.
        assert!(
            expand("r[1R[2,[1-24445]n]")
                .unwrap_err()
                .message
                .contains("itself be read as a pattern")
        );
    }

    #[test]
    fn fold_examples() {
        let names = ex("compute[001-004]");
        assert_eq!(fold(&names), ["compute[001-004]"]);
        let names: Vec<String> = ["a1", "a2", "b", "a9", "a10"].map(String::from).to_vec();
        assert_eq!(fold(&names), ["a[1-2]", "b", "a[9-10]"]);
    }

    fn name_strategy() -> impl Strategy<Value = String> {
        ("[a-z]{1,4}", 0u64..2000, 1usize..5, "(-[a-z]{1,3})?")
            .prop_map(|(p, n, w, s)| format!("{p}{n:0w$}{s}"))
    }

    proptest! {
        #[test]
        fn fold_then_expand_is_identity(names in proptest::collection::vec(name_strategy(), 0..40)) {
            let folded = fold(&names);
            let mut again = Vec::new();
            for p in &folded {
                again.extend(expand(p).unwrap());
            }
            prop_assert_eq!(again, names);
        }

        #[test]
        fn ranges_expand_to_distinct_names(pre in "[a-z]{1,5}", start in 0u64..500, len in 1u64..300, width in 1usize..5) {
            let end = start + len - 1;
            let pattern = format!("{pre}[{start:0width$}-{end}]");
            let names = expand(&pattern).unwrap();
            prop_assert_eq!(names.len() as u64, len);
            let unique: std::collections::HashSet<_> = names.iter().collect();
            prop_assert_eq!(unique.len(), names.len());
            // A contiguous run folds back into a single pattern (or a plain name for one).
            prop_assert_eq!(fold(&names).len(), 1);
        }

        #[test]
        fn expansion_never_panics(s in "\\PC{0,30}") {
            let _ = expand(&s);
        }

        #[test]
        fn fold_never_panics_and_round_trips_plain_names(names in proptest::collection::vec("[a-zé0-9ˑ_.-]{1,8}", 0..20)) {
            let folded = fold(&names);
            let mut again = Vec::new();
            for p in &folded {
                again.extend(expand(p).unwrap());
            }
            prop_assert_eq!(again, names);
        }

        #[test]
        fn overlapping_values_are_reported(pre in "[a-z]{1,4}", a in 0u64..50, extra in 0u64..10) {
            let pattern = format!("{pre}[{a}-{},{}]", a + 10, a + extra);
            prop_assert!(expand(&pattern).is_err());
        }
    }
}
