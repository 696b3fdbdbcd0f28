//! ClusterShell-style node sets as RacksDB writes them (`mecn[0001-0040]`, `node[01-03,05]`,
//! `r[1-2]n[01-02]`): expansion in the order ClusterShell iterates them, and folding back.
//!
//! The order matters: RacksDB places the k-th name of an equipment set at a position derived
//! from k, and ClusterShell's `NodeSet` iterates sorted (by pattern, then numerically), not in
//! the order written.

use std::collections::BTreeSet;

/// A node set larger than this is refused: no rack holds it, and a typo such as
/// `n[0-99999999]` must not exhaust memory.
pub(crate) const MAX_NAMES: usize = 100_000;

/// All node sets of one source together may not name more than this.
pub(crate) const MAX_TOTAL_NAMES: usize = 1_000_000;

/// Nor may one node set expand to more text than this.
const MAX_BYTES: usize = 16 << 20;

/// Expands a node set, charging its names to `budget` (what is left for the whole source).
pub(crate) fn expand_within(set: &str, budget: &mut usize) -> Result<Vec<String>, String> {
    let names = expand(set)?;
    match budget.checked_sub(names.len()) {
        Some(left) => {
            *budget = left;
            Ok(names)
        }
        None => Err(format!(
            "the source names more than {MAX_TOTAL_NAMES} racks and equipment in all (at `{set}`)"
        )),
    }
}

/// One bracket group: its values with their zero-padding width.
type Group = Vec<(u64, usize)>;

enum Segment {
    Text(String),
    Range(Group),
}

/// Expands a node set into names, sorted and deduplicated as ClusterShell does.
pub fn expand(set: &str) -> Result<Vec<String>, String> {
    let mut names: Vec<(Key, String)> = Vec::new();
    for pattern in split_top_level(set)? {
        let pattern = pattern.trim();
        if pattern.is_empty() {
            continue;
        }
        let segments = parse_pattern(pattern)?;
        expand_segments(&segments, &mut names, set)?;
    }
    if names.is_empty() {
        return Err(format!("`{set}` names no equipment"));
    }
    names.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.cmp(&b.1)));
    let mut seen = BTreeSet::new();
    Ok(names
        .into_iter()
        .filter_map(|(_, n)| seen.insert(n.clone()).then_some(n))
        .collect())
}

fn split_top_level(set: &str) -> Result<Vec<&str>, String> {
    let mut parts = Vec::new();
    let mut depth = 0usize;
    let mut start = 0;
    for (i, c) in set.char_indices() {
        match c {
            '[' => {
                if depth > 0 {
                    return Err(format!("nested `[` in `{set}`"));
                }
                depth += 1;
            }
            ']' => {
                if depth == 0 {
                    return Err(format!("unbalanced `]` in `{set}`"));
                }
                depth -= 1;
            }
            ',' if depth == 0 => {
                parts.push(set.get(start..i).unwrap_or_default());
                start = i + 1;
            }
            _ => {}
        }
    }
    if depth != 0 {
        return Err(format!("unbalanced `[` in `{set}`"));
    }
    parts.push(set.get(start..).unwrap_or_default());
    Ok(parts)
}

fn parse_pattern(pattern: &str) -> Result<Vec<Segment>, String> {
    let mut segments = Vec::new();
    let mut rest = pattern;
    while !rest.is_empty() {
        match rest.find('[') {
            None => {
                segments.push(Segment::Text(rest.to_owned()));
                break;
            }
            Some(open) => {
                if open > 0 {
                    segments.push(Segment::Text(rest.get(..open).unwrap_or_default().into()));
                }
                let after = rest.get(open + 1..).unwrap_or_default();
                let close = after
                    .find(']')
                    .ok_or_else(|| format!("unbalanced `[` in `{pattern}`"))?;
                let body = after.get(..close).unwrap_or_default();
                segments.push(Segment::Range(parse_group(body, pattern)?));
                rest = after.get(close + 1..).unwrap_or_default();
            }
        }
    }
    Ok(segments)
}

fn parse_number(s: &str, pattern: &str) -> Result<(u64, usize), String> {
    let s = s.trim();
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("`{s}` is not a number in `{pattern}`"));
    }
    if s.len() > 20 {
        return Err(format!("`{s}` is too long a number in `{pattern}`"));
    }
    let n = s
        .parse::<u64>()
        .map_err(|_| format!("`{s}` is too large in `{pattern}`"))?;
    let pad = if s.len() > 1 && s.starts_with('0') {
        s.len()
    } else {
        0
    };
    Ok((n, pad))
}

fn parse_group(body: &str, pattern: &str) -> Result<Group, String> {
    let mut values = Vec::new();
    for element in body.split(',') {
        let (range, step) = match element.split_once('/') {
            Some((r, s)) => (r, parse_number(s, pattern)?.0),
            None => (element, 1),
        };
        if step == 0 {
            return Err(format!("a step of 0 in `{pattern}`"));
        }
        match range.split_once('-') {
            None => values.push(parse_number(range, pattern)?),
            Some((lo, hi)) => {
                let (lo, pad) = parse_number(lo, pattern)?;
                let (hi, _) = parse_number(hi, pattern)?;
                if lo > hi {
                    return Err(format!("range {lo}-{hi} runs backwards in `{pattern}`"));
                }
                let count = (hi - lo) / step + 1;
                if count > MAX_NAMES as u64 || values.len() as u64 + count > MAX_NAMES as u64 {
                    return Err(format!("`{pattern}` names more than {MAX_NAMES} items"));
                }
                let mut n = lo;
                while n <= hi {
                    values.push((n, pad));
                    match n.checked_add(step) {
                        Some(next) => n = next,
                        None => break,
                    }
                }
            }
        }
    }
    Ok(values)
}

/// How ClusterShell orders names: by pattern (the text with numbers taken out), then by
/// the numbers themselves.
#[derive(PartialEq, Eq, PartialOrd, Ord)]
struct Key {
    pattern: String,
    numbers: Vec<u64>,
}

fn key_of_literal(name: &str) -> Key {
    let mut pattern = String::new();
    let mut numbers = Vec::new();
    let mut digits = String::new();
    for c in name.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
        } else {
            if !digits.is_empty() {
                pattern.push_str("%s");
                numbers.push(digits.parse::<u64>().unwrap_or(u64::MAX));
                digits.clear();
            }
            pattern.push(c);
        }
    }
    if !digits.is_empty() {
        pattern.push_str("%s");
        numbers.push(digits.parse::<u64>().unwrap_or(u64::MAX));
    }
    Key { pattern, numbers }
}

fn expand_segments(
    segments: &[Segment],
    out: &mut Vec<(Key, String)>,
    set: &str,
) -> Result<(), String> {
    let mut partial: Vec<String> = vec![String::new()];
    for segment in segments {
        match segment {
            Segment::Text(t) => partial.iter_mut().for_each(|p| p.push_str(t)),
            Segment::Range(values) => {
                let total = partial.len().saturating_mul(values.len());
                if total > MAX_NAMES || out.len().saturating_add(total) > MAX_NAMES {
                    return Err(format!("`{set}` names more than {MAX_NAMES} items"));
                }
                let longest = partial.iter().map(String::len).max().unwrap_or(0) + 20;
                if total.saturating_mul(longest) > MAX_BYTES {
                    return Err(format!("`{set}` expands to too much text"));
                }
                let mut next = Vec::with_capacity(total);
                for p in &partial {
                    for (n, pad) in values {
                        next.push(format!("{p}{n:0pad$}"));
                    }
                }
                partial = next;
            }
        }
    }
    for name in partial {
        out.push((key_of_literal(&name), name));
    }
    Ok(())
}

/// Folds names back into a short node set for display: `a01 a02 a03 b7` → `a[01-03],b7`.
/// Only a trailing number is folded; names keep their order.
pub fn fold(names: &[String]) -> String {
    if names.len() == 1 {
        return names.first().cloned().unwrap_or_default();
    }
    // (prefix, width of the number or 0 when unpadded, runs of numbers, the names)
    type Group = (String, usize, Vec<(u64, u64)>, Vec<String>);
    let mut groups: Vec<Group> = Vec::new();
    for name in names {
        let digits = name.bytes().rev().take_while(u8::is_ascii_digit).count();
        let split = name.len() - digits;
        let (prefix, number) = (
            name.get(..split).unwrap_or_default(),
            name.get(split..).unwrap_or_default(),
        );
        let parsed = number.parse::<u64>().ok();
        let (Some(n), false) = (parsed, number.is_empty()) else {
            groups.push((name.clone(), usize::MAX, Vec::new(), vec![name.clone()]));
            continue;
        };
        let pad = if number.len() > 1 && number.starts_with('0') {
            number.len()
        } else {
            0
        };
        match groups.last_mut() {
            Some((p, w, runs, raw)) if p == prefix && *w == pad => {
                raw.push(name.clone());
                match runs.last_mut() {
                    Some((_, hi)) if hi.checked_add(1) == Some(n) => *hi = n,
                    _ => runs.push((n, n)),
                }
            }
            _ => groups.push((prefix.to_owned(), pad, vec![(n, n)], vec![name.clone()])),
        }
    }
    let parts: Vec<String> = groups
        .into_iter()
        .map(|(prefix, pad, runs, raw)| {
            if pad == usize::MAX || raw.len() == 1 {
                return raw.join(",");
            }
            let body: Vec<String> = runs
                .iter()
                .map(|&(lo, hi)| {
                    if lo == hi {
                        format!("{lo:0pad$}")
                    } else {
                        format!("{lo:0pad$}-{hi:0pad$}")
                    }
                })
                .collect();
            format!("{prefix}[{}]", body.join(","))
        })
        .collect();
    parts.join(",")
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn e(s: &str) -> Vec<String> {
        expand(s).unwrap()
    }

    #[test]
    fn expands_ranges_with_padding() {
        assert_eq!(e("mecn[0001-0003]"), ["mecn0001", "mecn0002", "mecn0003"]);
        assert_eq!(e("R1-A[09-11]"), ["R1-A09", "R1-A10", "R1-A11"]);
        assert_eq!(e("n[8-10]"), ["n8", "n9", "n10"]);
        assert_eq!(e("jusrv1"), ["jusrv1"]);
        assert_eq!(e("kvm"), ["kvm"]);
    }

    #[test]
    fn several_ranges_sort_and_dedup_like_clustershell() {
        assert_eq!(
            e("node[01-03,05]"),
            ["node01", "node02", "node03", "node05"]
        );
        assert_eq!(
            e("node[05,01-03]"),
            ["node01", "node02", "node03", "node05"]
        );
        assert_eq!(e("node[1-3],node2"), ["node1", "node2", "node3"]);
        assert_eq!(e("b1,a[1-2]"), ["a1", "a2", "b1"]);
        assert_eq!(e("n[1-7/3]"), ["n1", "n4", "n7"]);
        assert_eq!(e("r[1-2]n[01-02]"), ["r1n01", "r1n02", "r2n01", "r2n02"]);
    }

    #[test]
    fn refuses_malformed_or_huge_sets() {
        for bad in [
            "n[1-",
            "n]1",
            "n[a-b]",
            "n[3-1]",
            "n[[1]]",
            "",
            ",",
            "n[1-9/0]",
            "n[0-99999999]",
            "n[0-999]m[0-999]",
        ] {
            assert!(expand(bad).is_err(), "{bad} should fail");
        }
    }

    #[test]
    fn folds_back() {
        let names = e("mecn[0001-0003,0005]");
        assert_eq!(fold(&names), "mecn[0001-0003,0005]");
        assert_eq!(fold(&["a".into()]), "a");
        assert_eq!(fold(&["a".into(), "b".into()]), "a,b");
        assert_eq!(fold(&["x9".into(), "x10".into(), "y".into()]), "x[9-10],y");
    }
}
