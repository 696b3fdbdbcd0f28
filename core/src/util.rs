//! Small helpers shared by the loader and the validator.

/// The candidate closest to `word` by edit distance, if it is close enough to be a typo.
pub fn closest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    // Short words tolerate one edit, longer ones two: beyond that a suggestion misleads.
    let limit = (word.chars().count() / 5).clamp(1, 2);
    candidates
        .into_iter()
        .map(|c| (levenshtein(word, c), c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, c)| (*d, *c))
        .map(|(_, c)| c)
}

fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.chars().enumerate() {
        cur[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// `%XX` sequences decoded, as the router decodes a path segment (invalid ones are kept).
pub fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        if b[i] == b'%'
            && let (Some(h), Some(l)) = (
                b.get(i + 1).copied().and_then(hex),
                b.get(i + 2).copied().and_then(hex),
            )
        {
            out.push((h * 16 + l) as u8);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The `key=value` pairs of a query string or form body, values decoded (`+` is a space),
/// repeated keys kept in order: what serde's flat structs cannot hold (`hide=a&hide=b`).
/// At most `max` pairs are read, so a hostile query costs a bounded amount of work.
pub fn form_pairs(q: &str, max: usize) -> impl Iterator<Item = (&str, String)> {
    q.split('&')
        .filter(|p| !p.is_empty())
        .take(max)
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (k, percent_decode(&v.replace('+', " ")))
        })
}

#[cfg(test)]
mod tests {
    #[test]
    fn form_pairs_decode_keep_repeats_and_stop_at_the_bound() {
        let got: Vec<(&str, String)> =
            super::form_pairs("hide=a%2Fb&hide=c+d&&flag&x=%ZZ", 10).collect();
        assert_eq!(
            got,
            [
                ("hide", "a/b".to_owned()),
                ("hide", "c d".to_owned()),
                ("flag", String::new()),
                ("x", "%ZZ".to_owned())
            ]
        );
        assert_eq!(super::form_pairs(&"a=1&".repeat(1000), 5).count(), 5);
    }

    #[test]
    fn suggests_close_words_only() {
        assert_eq!(
            super::closest("templte_id", ["template_id", "name"]),
            Some("template_id")
        );
        assert_eq!(super::closest("zzz", ["template_id", "name"]), None);
    }
}
