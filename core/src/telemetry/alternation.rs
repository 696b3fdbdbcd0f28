//! The regex a query matches a list of ids with: `^(?:…)$`, the ids folded into a prefix
//! trie (`compute0(?:0[1-9]|[1-9][0-9])` for compute001 to compute099) so that a chunk of
//! 200 ids costs Prometheus a few hundred bytes rather than a few thousand, and never
//! matching a string that is not in the list. `expand` reads such a regex back into its
//! ids (the test kit answers "one series per id" with it).

/// Past this length an id is not folded: the trie recurses once per character.
const MAX_FOLDED_ID: usize = 256;

/// `^(?:…)$` matching exactly `ids`, every regex metacharacter escaped.
pub fn alternation(ids: &[&str]) -> String {
    format!("^(?:{})$", body(ids))
}

/// The plain form, `a|b|c`: for ids too long to fold, and for comparison (the benchmark
/// sends both).
pub fn plain(ids: &[&str]) -> String {
    let mut s = String::new();
    for (i, id) in ids.iter().enumerate() {
        if i > 0 {
            s.push('|');
        }
        escape_regex(id, &mut s);
    }
    s
}

/// What goes between `^(?:` and `)$`.
pub fn body(ids: &[&str]) -> String {
    if ids.iter().any(|id| id.len() > MAX_FOLDED_ID) {
        return plain(ids);
    }
    let mut t = Trie::default();
    for id in ids {
        t.insert(id);
    }
    t.render(0, true)
}

#[derive(Default)]
struct Node {
    /// Sorted by character.
    children: Vec<(char, usize)>,
    end: bool,
}

struct Trie {
    nodes: Vec<Node>,
}

impl Default for Trie {
    fn default() -> Self {
        Trie {
            nodes: vec![Node::default()],
        }
    }
}

impl Trie {
    fn insert(&mut self, id: &str) {
        let mut n = 0;
        for c in id.chars() {
            n = match self.nodes[n].children.binary_search_by_key(&c, |(k, _)| *k) {
                Ok(i) => self.nodes[n].children[i].1,
                Err(i) => {
                    let new = self.nodes.len();
                    self.nodes.push(Node::default());
                    self.nodes[n].children.insert(i, (c, new));
                    new
                }
            };
        }
        self.nodes[n].end = true;
    }

    /// The regex of the suffixes below node `n`. Children whose own suffixes render alike
    /// share one branch behind a character class (`[1-9][0-9]`); a node that ends an id
    /// makes what follows optional. `top`: the caller's group already encloses an
    /// alternation, so none is added.
    fn render(&self, n: usize, top: bool) -> String {
        let node = &self.nodes[n];
        // (suffix, first characters), in the order of the first character.
        let mut branches: Vec<(String, Vec<char>)> = Vec::new();
        for &(c, child) in &node.children {
            let suffix = self.render(child, false);
            match branches.iter_mut().find(|(s, _)| *s == suffix) {
                Some((_, chars)) => chars.push(c),
                None => branches.push((suffix, vec![c])),
            }
        }
        let alts: Vec<String> = branches
            .iter()
            .map(|(suffix, chars)| format!("{}{suffix}", class(chars)))
            .collect();
        match (alts.len(), node.end) {
            (0, _) => String::new(),
            (1, false) => alts.concat(),
            (_, false) if top => alts.join("|"),
            (_, false) => format!("(?:{})", alts.join("|")),
            (_, true) => format!("(?:{})?", alts.join("|")),
        }
    }
}

/// One character, or a class of several (runs of three or more as ranges).
fn class(chars: &[char]) -> String {
    let mut out = String::new();
    if let [c] = chars {
        escape_regex(c.encode_utf8(&mut [0; 4]), &mut out);
        return out;
    }
    out.push('[');
    let mut i = 0;
    while i < chars.len() {
        let mut j = i;
        while j + 1 < chars.len() && chars[j + 1] as u32 == chars[j] as u32 + 1 {
            j += 1;
        }
        if j >= i + 2 {
            escape_class(chars[i], &mut out);
            out.push('-');
            escape_class(chars[j], &mut out);
        } else {
            for &c in &chars[i..=j] {
                escape_class(c, &mut out);
            }
        }
        i = j + 1;
    }
    out.push(']');
    out
}

fn escape_class(c: char, out: &mut String) {
    if matches!(c, '\\' | ']' | '[' | '^' | '-') {
        out.push('\\');
    }
    out.push(c);
}

/// Escapes the characters that mean something outside a character class, in RE2 (which
/// Prometheus uses) and the regex crate alike. Unlike `regex::escape` it leaves `-`, `#`, `&`
/// and `~` alone: they are literal there, and ids are full of dashes.
pub(crate) fn escape_regex(id: &str, out: &mut String) {
    for c in id.chars() {
        if matches!(
            c,
            '\\' | '.' | '+' | '*' | '?' | '(' | ')' | '|' | '[' | ']' | '{' | '}' | '^' | '$'
        ) {
            out.push('\\');
        }
        out.push(c);
    }
}

/// A query as two queries that together ask for what it asks: the ids of its first
/// alternation (`=~"^(?:…)$"`, every occurrence of it) split in halves. `None` when it has
/// none, or one of a single id.
pub fn split_query(expr: &str) -> Option<[String; 2]> {
    const OPEN: &str = "=~\"^(?:";
    let start = expr.find(OPEN)? + OPEN.len();
    let len = expr[start..].find(")$\"")?;
    let written = &expr[start..start + len];
    // The PromQL string's escaping, undone and done again.
    let ids = expand(&written.replace("\\\\", "\\"), 1_000_000)?;
    if ids.len() < 2 {
        return None;
    }
    let (a, b) = ids.split_at(ids.len() / 2);
    let whole = format!("^(?:{written})$");
    let half = |ids: &[String]| {
        let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
        expr.replace(&whole, &alternation(&refs).replace('\\', "\\\\"))
    };
    Some([half(a), half(b)])
}

/// The strings a regex body written by `body` matches, at most `cap` of them; `None` for
/// a body it did not write (or one over the cap).
pub fn expand(body: &str, cap: usize) -> Option<Vec<String>> {
    let chars: Vec<char> = body.chars().collect();
    let mut p = Parser {
        s: &chars,
        at: 0,
        cap,
    };
    let mut out = p.alt()?;
    // Classes gather characters that are not neighbours in the trie: sorted, the list reads
    // in the order the ids were sorted by.
    out.sort();
    out.dedup();
    (p.at == chars.len()).then_some(out)
}

struct Parser<'a> {
    s: &'a [char],
    at: usize,
    cap: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<char> {
        self.s.get(self.at).copied()
    }

    fn alt(&mut self) -> Option<Vec<String>> {
        let mut out = self.seq()?;
        while self.peek() == Some('|') {
            self.at += 1;
            out.extend(self.seq()?);
            if out.len() > self.cap {
                return None;
            }
        }
        Some(out)
    }

    fn seq(&mut self) -> Option<Vec<String>> {
        let mut out = vec![String::new()];
        while let Some(c) = self.peek() {
            if c == '|' || c == ')' {
                break;
            }
            let mut atom = self.atom()?;
            if self.peek() == Some('?') {
                self.at += 1;
                atom.insert(0, String::new());
            }
            let mut next = Vec::with_capacity(out.len() * atom.len());
            for a in &out {
                for b in &atom {
                    next.push(format!("{a}{b}"));
                }
            }
            if next.len() > self.cap {
                return None;
            }
            out = next;
        }
        Some(out)
    }

    fn atom(&mut self) -> Option<Vec<String>> {
        let c = self.peek()?;
        self.at += 1;
        match c {
            '(' => {
                if self.s.get(self.at..self.at + 2) != Some(&['?', ':']) {
                    return None;
                }
                self.at += 2;
                let inner = self.alt()?;
                (self.peek() == Some(')')).then_some(())?;
                self.at += 1;
                Some(inner)
            }
            '[' => {
                let mut out = Vec::new();
                let mut prev: Option<char> = None;
                loop {
                    let mut c = self.peek()?;
                    self.at += 1;
                    match c {
                        ']' => return Some(out),
                        '-' if prev.is_some() && self.peek() != Some(']') => {
                            let mut hi = self.peek()?;
                            self.at += 1;
                            if hi == '\\' {
                                hi = self.peek()?;
                                self.at += 1;
                            }
                            let lo = prev.take()?;
                            for x in (lo as u32 + 1)..=(hi as u32) {
                                out.push(char::from_u32(x)?.to_string());
                            }
                            continue;
                        }
                        '\\' => {
                            c = self.peek()?;
                            self.at += 1;
                        }
                        _ => {}
                    }
                    out.push(c.to_string());
                    prev = Some(c);
                }
            }
            '\\' => {
                let e = self.peek()?;
                self.at += 1;
                Some(vec![e.to_string()])
            }
            '?' | '*' | '+' | '{' | '}' | '.' | '^' | '$' | ']' => None,
            _ => Some(vec![c.to_string()]),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use proptest::prelude::*;

    fn set(ids: &[&str]) -> Vec<String> {
        let mut v: Vec<String> = ids.iter().map(|s| (*s).to_owned()).collect();
        v.sort();
        v.dedup();
        v
    }

    #[test]
    fn runs_of_numbers_fold_into_classes() {
        let ids: Vec<String> = (1..=99).map(|i| format!("compute{i:03}")).collect();
        let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
        assert_eq!(alternation(&ids), "^(?:compute0(?:0[1-9]|[1-9][0-9]))$");
        assert_eq!(alternation(&["rack-01"]), "^(?:rack-01)$");
        assert_eq!(alternation(&["n1", "n1a", "n1b"]), "^(?:n1(?:[ab])?)$");
        assert_eq!(alternation(&["node.1", "a+b"]), r"^(?:a\+b|node\.1)$");
        assert_eq!(alternation(&[]), "^(?:)$");
    }

    #[test]
    fn a_class_escapes_what_it_must() {
        let ids = ["x-", "x]", "x^", "x\\"];
        let re = regex::Regex::new(&alternation(&ids)).unwrap();
        for id in ids {
            assert!(re.is_match(id), "{id}: {re}");
        }
        assert!(!re.is_match("x"));
        assert_eq!(expand(&body(&ids), 100).unwrap(), set(&ids));
    }

    #[test]
    fn a_query_splits_into_two_that_ask_for_its_ids() {
        let ids: Vec<String> = (1..=9).map(|i| format!("n.{i}")).collect();
        let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
        let lit = alternation(&refs).replace('\\', "\\\\");
        let q = format!("rate(a{{instance=~\"{lit}\"}}[5m]) + b{{instance=~\"{lit}\"}}");
        let [x, y] = split_query(&q).unwrap();
        let ids_of = |q: &str| {
            let s = q.find("=~\"^(?:").unwrap() + 7;
            let e = q[s..].find(")$\"").unwrap();
            expand(&q[s..s + e].replace("\\\\", "\\"), 100).unwrap()
        };
        let (a, b) = (ids_of(&x), ids_of(&y));
        assert_eq!((a.len(), b.len()), (4, 5));
        let mut all = [a, b].concat();
        all.sort();
        assert_eq!(all, ids);
        // Both occurrences changed alike.
        assert_eq!(x.matches("instance=~").count(), 2);
        assert!(!x.contains(&lit) && !y.contains(&lit));
        assert!(split_query("up{instance=~\"^(?:n1)$\"}").is_none());
        assert!(split_query("up").is_none());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(400))]
        /// The folded regex matches every id of the list and nothing else: checked with the
        /// regex crate against the ids and near misses, and read back by `expand`.
        #[test]
        fn folding_matches_exactly_the_ids(
            ids in proptest::collection::vec("[a-c0-9.\\-\\]\\[^\\\\]{1,7}", 1..60),
            others in proptest::collection::vec("[a-c0-9.\\-]{0,8}", 0..40),
        ) {
            let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
            let alt = alternation(&refs);
            let re = regex::Regex::new(&alt).unwrap();
            for id in &ids {
                prop_assert!(re.is_match(id), "{} does not match {}", alt, id);
            }
            for o in &others {
                prop_assert_eq!(re.is_match(o), ids.contains(o), "{} on {}", alt, o);
            }
            let flat = format!("^(?:{})$", plain(&refs));
            let flat_re = regex::Regex::new(&flat).unwrap();
            for o in &others {
                prop_assert_eq!(re.is_match(o), flat_re.is_match(o));
            }
            prop_assert_eq!(expand(&body(&refs), 100_000).unwrap(), set(&refs));
        }
    }
}
