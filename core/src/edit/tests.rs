//! Tests of the comment-keeping editor: the data cases of `core/testdata/edit/`, generated
//! documents and edits (proptest), and `write_atomic`.

use std::path::{Path, PathBuf};

use proptest::prelude::*;
use proptest::strategy::ValueTree;

use super::*;

// ---------------------------------------------------------------------------------------
// Data cases: `--- before [crlf] [noeol]`, `--- edit`, `--- after [crlf] [noeol]`.

/// A path written `a.b.0.c`; `.` is the document itself.
fn parse_path(s: &str) -> Vec<Seg<'_>> {
    if s == "." {
        return vec![];
    }
    s.split('.')
        .map(|p| match p.parse::<usize>() {
            Ok(i) => Seg::Index(i),
            Err(_) => Seg::Key(p),
        })
        .collect()
}

/// `{name: alice, role: "a, b"}`: bare or JSON-quoted values.
fn parse_fields(s: &str) -> Vec<(String, String)> {
    let inner = s.trim().trim_start_matches('{').trim_end_matches('}');
    let mut parts = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut escaped = false;
    for c in inner.chars() {
        if quoted {
            cur.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                quoted = false;
            }
            continue;
        }
        match c {
            '"' => {
                quoted = true;
                cur.push(c);
            }
            ',' => parts.push(std::mem::take(&mut cur)),
            _ => cur.push(c),
        }
    }
    if !cur.trim().is_empty() {
        parts.push(cur);
    }
    parts
        .iter()
        .map(|p| {
            let (k, v) = p.split_once(':').expect("field `k: v`");
            let v = v.trim();
            let v = if v.starts_with('"') {
                serde_json::from_str::<String>(v).expect("JSON string")
            } else {
                v.to_string()
            };
            (k.trim().to_string(), v)
        })
        .collect()
}

fn error_name(e: &EditError) -> &'static str {
    match e {
        EditError::Syntax(_) => "Syntax",
        EditError::NotFound(_) => "NotFound",
        EditError::Unsupported(_) => "Unsupported",
        EditError::Verify(_) => "Verify",
    }
}

/// Runs one edit line; the text after it, or `error: Kind`, or `found: N`.
fn run_edit(before: &str, edit: &str) -> String {
    let mut doc = match Doc::parse(before) {
        Ok(d) => d,
        Err(e) => return format!("error: {}\n", error_name(&e)),
    };
    let (op, rest) = edit.split_once(' ').unwrap_or((edit, ""));
    let result = match op {
        "set" => {
            let (path, value) = rest.split_once(" = ").expect("set PATH = \"value\"");
            let value: String = serde_json::from_str(value.trim()).expect("a JSON string");
            doc.set_str(&parse_path(path.trim()), &value)
        }
        "push" => {
            let (path, fields) = rest.split_once(' ').expect("push PATH {fields}");
            let fields = parse_fields(fields);
            let refs: Vec<(&str, &str)> = fields
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            doc.push_map(&parse_path(path), &refs)
        }
        "remove" => {
            let (path, i) = rest.split_once(' ').expect("remove PATH N");
            doc.remove_item(&parse_path(path), i.trim().parse().expect("an index"))
        }
        "find" => {
            let w: Vec<&str> = rest.split_whitespace().collect();
            let found = doc.find_item(&parse_path(w[0]), w[1], w[2]);
            return match found {
                Some(i) => format!("found: {i}\n"),
                None => "found: none\n".into(),
            };
        }
        other => panic!("unknown edit `{other}`"),
    };
    match result {
        Ok(()) => doc.text().to_string(),
        Err(e) => {
            assert_eq!(doc.text(), before, "a failed edit changed the text");
            format!("error: {}\n", error_name(&e))
        }
    }
}

struct Case {
    raw: String,
    before: String,
    edit: String,
    after: String,
    /// Byte where the `--- after` header starts, for blessing.
    after_at: usize,
}

fn section_text(lines: &[&str], flags: &str) -> String {
    let mut t: String = lines.iter().map(|l| format!("{l}\n")).collect();
    if flags.split_whitespace().any(|f| f == "crlf") {
        t = t.replace('\n', "\r\n");
    }
    if flags.split_whitespace().any(|f| f == "noeol") {
        t = t
            .strip_suffix("\r\n")
            .or_else(|| t.strip_suffix('\n'))
            .unwrap_or(&t)
            .to_string();
    }
    t
}

fn parse_case(raw: &str) -> Case {
    let mut sections: Vec<(String, String, Vec<&str>, usize)> = Vec::new();
    let mut at = 0;
    for line in raw.split_inclusive('\n') {
        let l = line.trim_end_matches('\n');
        let header = l.strip_prefix("--- ").and_then(|h| {
            let (name, flags) = h.split_once(' ').unwrap_or((h, ""));
            ["before", "edit", "after"]
                .contains(&name)
                .then(|| (name.to_string(), flags.to_string()))
        });
        match header {
            Some((name, flags)) => sections.push((name, flags, vec![], at)),
            None => {
                if let Some(s) = sections.last_mut() {
                    s.2.push(l);
                }
            }
        }
        at += line.len();
    }
    let get = |n: &str| {
        sections
            .iter()
            .find(|s| s.0 == n)
            .unwrap_or_else(|| panic!("no `--- {n}` section"))
    };
    let before = get("before");
    let edit = get("edit");
    let after = get("after");
    Case {
        raw: raw.to_string(),
        before: section_text(&before.2, &before.1),
        edit: edit
            .2
            .iter()
            .find(|l| !l.trim().is_empty())
            .unwrap_or(&"")
            .to_string(),
        after: section_text(&after.2, &after.1),
        after_at: after.3,
    }
}

fn diff(expected: &str, actual: &str) -> String {
    let a: Vec<&str> = expected.split_inclusive('\n').collect();
    let b: Vec<&str> = actual.split_inclusive('\n').collect();
    // Longest common subsequence, small inputs only.
    let mut lcs = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let (mut i, mut j, mut out) = (0, 0, String::new());
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            out.push_str(&format!("  {:?}\n", a[i]));
            i += 1;
            j += 1;
        } else if j < b.len() && (i == a.len() || lcs[i][j + 1] >= lcs[i + 1][j]) {
            out.push_str(&format!("+ {:?}\n", b[j]));
            j += 1;
        } else {
            out.push_str(&format!("- {:?}\n", a[i]));
            i += 1;
        }
    }
    out
}

fn bless(path: &Path, case: &Case, actual: &str) {
    let mut flags = String::new();
    let mut body = actual.to_string();
    if body.contains("\r\n") {
        flags.push_str(" crlf");
        body = body.replace("\r\n", "\n");
    }
    if !body.is_empty() && !body.ends_with('\n') {
        flags.push_str(" noeol");
        body.push('\n');
    }
    let text = format!("{}--- after{flags}\n{body}", &case.raw[..case.after_at]);
    std::fs::write(path, text).expect("write the blessed case");
}

fn case_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/edit")
}

#[test]
fn data_cases() {
    let blessing = std::env::var("BLESS").is_ok_and(|v| v == "1")
        && std::env::var("CI").as_deref() != Ok("true");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(case_dir())
        .expect("core/testdata/edit")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "case"))
        .collect();
    paths.sort();
    assert!(paths.len() >= 20, "only {} cases", paths.len());
    let mut failures = Vec::new();
    for path in &paths {
        let raw = std::fs::read_to_string(path).expect("read case");
        let case = parse_case(&raw);
        let actual = run_edit(&case.before, &case.edit);
        if actual != case.after {
            if blessing {
                bless(path, &case, &actual);
            } else {
                failures.push(format!(
                    "{}: `{}`\n{}",
                    path.display(),
                    case.edit,
                    diff(&case.after, &actual)
                ));
            }
        }
        // A successful edit is a file that still parses; the case's text must agree.
        if !actual.starts_with("error: ") && !actual.starts_with("found: ") {
            yaml::parse(&actual).expect("the output parses");
        }
    }
    assert!(
        failures.is_empty(),
        "{} case(s) differ (BLESS=1 rewrites them):\n{}",
        failures.len(),
        failures.join("\n")
    );
}

// ---------------------------------------------------------------------------------------
// Unit checks.

fn doc(src: &str) -> Doc {
    Doc::parse(src).expect("parses")
}

#[test]
fn a_replaced_value_touches_only_its_bytes() {
    let mut d = doc("# head\nauth:\n  password_hash: old  # the hash\n  user: x\n");
    d.set_str(&[Seg::Key("auth"), Seg::Key("password_hash")], "$2b$13$abc")
        .unwrap();
    assert_eq!(
        d.text(),
        "# head\nauth:\n  password_hash: \"$2b$13$abc\"  # the hash\n  user: x\n"
    );
}

#[test]
fn a_failed_edit_changes_nothing() {
    let src = "a: [1, 2]\n";
    let mut d = doc(src);
    assert!(matches!(
        d.remove_item(&[Seg::Key("a")], 0),
        Err(EditError::Unsupported(_))
    ));
    assert!(matches!(
        d.set_str(&[Seg::Key("b"), Seg::Index(0)], "x"),
        Err(EditError::NotFound(_))
    ));
    assert_eq!(d.text(), src);
}

#[test]
fn oversized_input_is_refused() {
    let big = "a: b\n".repeat(MAX_BYTES / 5 + 1);
    assert!(matches!(Doc::parse(&big), Err(EditError::Unsupported(_))));
}

#[test]
fn keys_are_plain_only_when_they_read_as_themselves() {
    assert_eq!(key_text("password_hash"), "password_hash");
    assert_eq!(key_text("a-b"), "a-b");
    assert_eq!(key_text("true"), "\"true\"");
    assert_eq!(key_text("Null"), "\"Null\"");
    assert_eq!(key_text("a b"), "\"a b\"");
    assert_eq!(key_text("1x"), "\"1x\"");
    assert_eq!(key_text(""), "\"\"");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Any string survives a round trip through `quote`, whatever it holds.
    #[test]
    fn any_string_is_written_and_read_back(v in any::<String>(), k in "[a-z_][a-z0-9 _:#-]{0,6}") {
        let mut d = doc("x: 1\n");
        d.set_str(&[Seg::Key("x")], &v).unwrap();
        prop_assert_eq!(d.get(&[Seg::Key("x")]).and_then(Node::as_str), Some(v.as_str()));
        d.set_str(&[Seg::Key(&k)], &v).unwrap();
        prop_assert_eq!(d.get(&[Seg::Key(&k)]).and_then(Node::as_str), Some(v.as_str()));
    }
}

// ---------------------------------------------------------------------------------------
// Generated documents.

#[derive(Debug, Clone)]
enum G {
    /// A scalar as written (`alpha`, `"q"`, `|` block...) with the tree it reads as.
    Scalar(&'static str),
    Null,
    EmptyList,
    Map(Vec<(&'static str, G, Deco)>),
    /// `indented`: dashes two columns right of the key, else under it.
    Seq(Vec<(G, Deco)>, bool),
}

/// Comments around an entry or item.
#[derive(Debug, Clone, Copy)]
struct Deco {
    /// 0: none, 1: a comment directly above, 2: a comment then a blank line, 3: a blank line.
    above: u8,
    /// A comment at the end of a scalar's line.
    trailing: bool,
}

const SCALARS: &[&str] = &[
    "alpha",
    "hello world",
    "42",
    "3.5",
    "true",
    "~",
    "\"dq \\\" x\"",
    "'sq ''x'''",
    "$2b$13$abc",
    "|\n  line one\n  # not a comment\n",
    ">-\n  folded\n  text\n",
];

const KEYS: &[&str] = &["name", "role", "users", "tokens", "auth", "a", "b", "key_1"];

fn deco() -> impl Strategy<Value = Deco> {
    (0u8..4, any::<bool>()).prop_map(|(above, trailing)| Deco { above, trailing })
}

fn scalar() -> impl Strategy<Value = G> {
    prop_oneof![
        4 => (0..SCALARS.len()).prop_map(|i| G::Scalar(SCALARS[i])),
        1 => Just(G::Null),
        1 => Just(G::EmptyList),
    ]
}

fn map_of(inner: BoxedStrategy<G>) -> impl Strategy<Value = G> {
    prop::collection::vec((0..KEYS.len(), inner, deco()), 1..4).prop_map(|entries| {
        let mut seen = Vec::new();
        G::Map(
            entries
                .into_iter()
                .filter(|(k, _, _)| {
                    let new = !seen.contains(k);
                    seen.push(*k);
                    new
                })
                .map(|(k, v, d)| (KEYS[k], v, d))
                .collect(),
        )
    })
}

fn document() -> impl Strategy<Value = G> {
    let leaf = scalar().boxed();
    let tree = leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            map_of(inner.clone()),
            (
                prop::collection::vec((prop_oneof![scalar(), map_of(inner.clone())], deco()), 1..4),
                any::<bool>()
            )
                .prop_map(|(items, ind)| G::Seq(items, ind)),
        ]
        .boxed()
    });
    map_of(tree.boxed())
}

/// The text of a generated document, and for each comment the path of what it belongs to.
struct Rendered {
    text: String,
    comments: Vec<(String, Vec<PSeg>)>,
}

#[derive(Debug, Clone, PartialEq)]
enum PSeg {
    Key(String),
    Index(usize),
}

struct Writer {
    out: String,
    comments: Vec<(String, Vec<PSeg>)>,
}

impl Writer {
    fn comment(&mut self, col: usize, at: &[PSeg]) {
        let id = format!("# c{}", self.comments.len());
        self.out.push_str(&format!("{}{id}\n", " ".repeat(col)));
        self.comments.push((id, at.to_vec()));
    }

    fn above(&mut self, d: Deco, col: usize, inside: &[PSeg], outside: &[PSeg]) {
        match d.above {
            1 => self.comment(col, inside),
            2 => {
                self.comment(col, outside);
                self.out.push('\n');
            }
            3 => self.out.push('\n'),
            _ => {}
        }
    }

    fn trailing(&mut self, d: Deco, at: &[PSeg]) {
        if d.trailing {
            let id = format!("# c{}", self.comments.len());
            self.out.push_str(&format!("  {id}"));
            self.comments.push((id, at.to_vec()));
        }
    }

    /// The value after `key:` (or after `- `), `col` being the column of the key (or dash).
    fn value(&mut self, g: &G, col: usize, d: Deco, at: &[PSeg]) {
        match g {
            G::Scalar(s) if s.starts_with(['|', '>']) => {
                let (head, body) = s.split_once('\n').unwrap();
                self.out.push_str(&format!(" {head}"));
                self.trailing(d, at);
                self.out.push('\n');
                for l in body.lines() {
                    self.out.push_str(&format!("{}{l}\n", " ".repeat(col)));
                }
            }
            G::Scalar(s) => {
                self.out.push_str(&format!(" {s}"));
                self.trailing(d, at);
                self.out.push('\n');
            }
            G::Null => {
                self.trailing(d, at);
                self.out.push('\n');
            }
            G::EmptyList => {
                self.out.push_str(" []");
                self.trailing(d, at);
                self.out.push('\n');
            }
            G::Map(entries) => {
                self.trailing(d, at);
                self.out.push('\n');
                self.map(entries, col + 2, at, false);
            }
            G::Seq(items, indented) => {
                self.trailing(d, at);
                self.out.push('\n');
                self.seq(items, if *indented { col + 2 } else { col }, at);
            }
        }
    }

    /// A block mapping at `col`; `first_inline`: its first key follows a dash already written.
    fn map(&mut self, entries: &[(&str, G, Deco)], col: usize, at: &[PSeg], first_inline: bool) {
        for (i, (k, v, d)) in entries.iter().enumerate() {
            let mut here = at.to_vec();
            here.push(PSeg::Key(k.to_string()));
            if !(first_inline && i == 0) {
                self.above(*d, col, &here, at);
                self.out.push_str(&" ".repeat(col));
            }
            self.out.push_str(&format!("{k}:"));
            self.value(v, col, *d, &here);
        }
    }

    fn seq(&mut self, items: &[(G, Deco)], col: usize, at: &[PSeg]) {
        for (i, (g, d)) in items.iter().enumerate() {
            let mut here = at.to_vec();
            here.push(PSeg::Index(i));
            self.above(*d, col, &here, at);
            self.out.push_str(&format!("{}-", " ".repeat(col)));
            match g {
                G::Map(entries) => {
                    self.out.push(' ');
                    self.map(entries, col + 2, &here, true);
                }
                G::Scalar(s) if !s.starts_with(['|', '>']) => self.value(g, col + 2, *d, &here),
                _ => self.value(&G::Scalar("alpha"), col + 2, *d, &here),
            }
        }
    }
}

fn render(g: &G, header: bool) -> Rendered {
    let mut w = Writer {
        out: String::new(),
        comments: Vec::new(),
    };
    if header {
        w.comment(0, &[]);
    }
    if let G::Map(entries) = g {
        w.map(entries, 0, &[], false);
    }
    w.comment(0, &[]);
    Rendered {
        text: w.out,
        comments: w.comments,
    }
}

/// Paths of a parsed tree, by what an edit can do there.
#[derive(Default)]
struct Targets {
    scalars: Vec<Vec<PSeg>>,
    maps: Vec<Vec<PSeg>>,
    lists: Vec<Vec<PSeg>>,
}

fn targets(n: &Node, at: Vec<PSeg>, t: &mut Targets) {
    match &n.kind {
        Kind::Map(entries) => {
            t.maps.push(at.clone());
            for (k, v) in entries {
                if let Kind::Str(k) = &k.kind {
                    let mut p = at.clone();
                    p.push(PSeg::Key(k.clone()));
                    targets(v, p, t);
                }
            }
        }
        Kind::Seq(items) => {
            t.lists.push(at.clone());
            for (i, v) in items.iter().enumerate() {
                let mut p = at.clone();
                p.push(PSeg::Index(i));
                targets(v, p, t);
            }
        }
        Kind::Null => {
            t.scalars.push(at.clone());
            t.lists.push(at);
        }
        _ => t.scalars.push(at),
    }
}

fn segs(p: &[PSeg]) -> Vec<Seg<'_>> {
    p.iter()
        .map(|s| match s {
            PSeg::Key(k) => Seg::Key(k),
            PSeg::Index(i) => Seg::Index(*i),
        })
        .collect()
}

/// The tree an edit should give, computed apart from the editor.
fn expect_set(tree: &Node, path: &[PSeg], value: &str) -> Option<Node> {
    let mut t = tree.clone();
    let mut n = &mut t;
    for (i, seg) in path.iter().enumerate() {
        let last = i + 1 == path.len();
        match seg {
            PSeg::Key(k) => {
                if n.is_null() {
                    n.kind = Kind::Map(vec![]);
                }
                let Kind::Map(entries) = &mut n.kind else {
                    return None;
                };
                let pos = match entries.iter().position(|(kn, _)| kn.as_str() == Some(k)) {
                    Some(p) => p,
                    None => {
                        entries.push((
                            str_node(k),
                            if last {
                                Node::null()
                            } else {
                                node(Kind::Map(vec![]))
                            },
                        ));
                        entries.len() - 1
                    }
                };
                n = &mut entries[pos].1;
            }
            PSeg::Index(i) => {
                let Kind::Seq(items) = &mut n.kind else {
                    return None;
                };
                n = items.get_mut(*i)?;
            }
        }
    }
    n.kind = Kind::Str(value.to_string());
    Some(t)
}

#[derive(Debug, Clone)]
enum Op {
    Set(usize, String),
    SetNew(usize, &'static str, bool),
    Push(usize, usize),
    PushNew(usize),
    Remove(usize, usize),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (any::<usize>(), "[ -~]{0,8}|\\PC{0,4}").prop_map(|(i, v)| Op::Set(i, v)),
        (any::<usize>(), 0..KEYS.len(), any::<bool>())
            .prop_map(|(i, k, deep)| Op::SetNew(i, KEYS[k], deep)),
        (any::<usize>(), 0usize..3).prop_map(|(i, n)| Op::Push(i, n)),
        any::<usize>().prop_map(Op::PushNew),
        (any::<usize>(), any::<usize>()).prop_map(|(i, j)| Op::Remove(i, j)),
    ]
}

const FIELDS: &[(&str, &str)] = &[
    ("name", "alice"),
    ("role", "admin"),
    ("password_hash", "$2b$13$x y"),
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Generated documents and edits: no panic; a success reads as the intended tree and
    /// keeps every comment that was not inside a removed item.
    #[test]
    fn generated_edits_keep_comments_and_mean_what_they_say(
        g in document(),
        header in any::<bool>(),
        crlf in any::<bool>(),
        ops in prop::collection::vec(op(), 1..4),
    ) {
        let r = render(&g, header);
        let text = if crlf { r.text.replace('\n', "\r\n") } else { r.text.clone() };
        let mut d = Doc::parse(&text).map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
        let mut comments: Vec<(String, Vec<PSeg>)> = r.comments.clone();
        for op in ops {
            let before = d.text().to_string();
            let tree = d.tree().clone();
            let mut t = Targets::default();
            targets(&tree, vec![], &mut t);
            let pick = |v: &Vec<Vec<PSeg>>, i: usize| (!v.is_empty()).then(|| v[i % v.len()].clone());
            let mut removed: Option<Vec<PSeg>> = None;
            let (result, intended) = match &op {
                Op::Set(i, v) => {
                    let Some(p) = pick(&t.scalars, *i).filter(|p| !p.is_empty()) else { continue };
                    (d.set_str(&segs(&p), v), expect_set(&tree, &p, v))
                }
                Op::SetNew(i, k, deep) => {
                    let Some(mut p) = pick(&t.maps, *i) else { continue };
                    p.push(PSeg::Key(k.to_string()));
                    if *deep { p.push(PSeg::Key("nested".into())); }
                    (d.set_str(&segs(&p), "v"), expect_set(&tree, &p, "v"))
                }
                Op::Push(i, n) => {
                    let Some(p) = pick(&t.lists, *i) else { continue };
                    let mut want = tree.clone();
                    let target = get_mut(&mut want, &segs(&p));
                    let ok = match target {
                        Some(n2) if n2.is_null() => { n2.kind = Kind::Seq(vec![fields_node(&FIELDS[..*n])]); true }
                        Some(Node { kind: Kind::Seq(items), .. }) => { items.push(fields_node(&FIELDS[..*n])); true }
                        _ => false,
                    };
                    (d.push_map(&segs(&p), &FIELDS[..*n]), ok.then_some(want))
                }
                Op::PushNew(i) => {
                    let Some(mut p) = pick(&t.maps, *i) else { continue };
                    p.push(PSeg::Key("fresh".into()));
                    if tree_get(&tree, &p).is_some() { continue }
                    let mut want = tree.clone();
                    let parent = get_mut(&mut want, &segs(&p[..p.len() - 1]));
                    if let Some(Node { kind: Kind::Map(e), .. }) = parent {
                        e.push((str_node("fresh"), node(Kind::Seq(vec![fields_node(&FIELDS[..2])]))));
                    }
                    (d.push_map(&segs(&p), &FIELDS[..2]), Some(want))
                }
                Op::Remove(i, j) => {
                    let Some(p) = pick(&t.lists, *i) else { continue };
                    let Some(Kind::Seq(items)) = tree_get(&tree, &p).map(|n| &n.kind) else { continue };
                    if items.is_empty() { continue }
                    let j = j % items.len();
                    let mut want = tree.clone();
                    if let Some(Node { kind: Kind::Seq(items), .. }) = get_mut(&mut want, &segs(&p)) {
                        items.remove(j);
                    }
                    let mut item = p.clone();
                    item.push(PSeg::Index(j));
                    removed = Some(item);
                    (d.remove_item(&segs(&p), j), Some(want))
                }
            };
            match result {
                Err(e) => {
                    prop_assert!(!matches!(e, EditError::Verify(_)), "{op:?} on\n{before}\n{e}");
                    prop_assert_eq!(d.text(), before.as_str());
                }
                Ok(()) => {
                    let reparsed = yaml::parse(d.text()).map_err(|e| TestCaseError::fail(format!("{e:?}")))?;
                    let want = intended.ok_or_else(|| TestCaseError::fail(format!("{op:?} succeeded where it should not:\n{before}")))?;
                    prop_assert!(same(&reparsed, &want), "{:?}:\n{}\n=>\n{}", op, before, d.text());
                    if let Some(item) = &removed {
                        comments.retain(|(_, at)| !at.starts_with(item));
                        // Later items move up one: their comments' paths too.
                        let list = &item[..item.len() - 1];
                        let PSeg::Index(j) = item[item.len() - 1] else { return Err(TestCaseError::fail("an item path")) };
                        for (_, at) in comments.iter_mut() {
                            if at.len() > list.len() && at.starts_with(list)
                                && let PSeg::Index(k) = &mut at[list.len()] && *k > j {
                                *k -= 1;
                            }
                        }
                    }
                    for (id, _) in &comments {
                        prop_assert!(
                            d.text().lines().any(|l| l.trim_end_matches('\r').trim_end().ends_with(id.as_str())),
                            "{} lost by {:?}:\n{}\n=>\n{}", id, op, before, d.text()
                        );
                    }
                    if crlf {
                        prop_assert!(!d.text().replace("\r\n", "").contains('\n'), "a bare LF in a CRLF file");
                    }
                }
            }
        }
    }

    /// Arbitrary text and edits: never a panic, and a success is always what was asked.
    #[test]
    fn arbitrary_text_never_panics(
        src in "([a-z]{1,3}|-|:|#|\\[|\\]|\\{|\\}|&a|\\*a|!|\"|'|\\||>| |\n|\t|\r\n|---|0){0,40}",
        k in "[a-z]{1,3}",
        i in 0usize..3,
    ) {
        if let Ok(mut d) = Doc::parse(&src) {
            let p = [Seg::Key(k.as_str())];
            let _ = d.set_str(&p, "v");
            let _ = d.push_map(&p, &[("n", "x")]);
            let _ = d.remove_item(&p, i);
            let _ = d.set_str(&[Seg::Key(k.as_str()), Seg::Index(i)], "w");
            let _ = d.find_item(&p, "n", "x");
            prop_assert!(yaml::parse(d.text()).is_ok());
        }
    }
}

fn tree_get<'t>(n: &'t Node, p: &[PSeg]) -> Option<&'t Node> {
    get(n, &segs(p))
}

#[test]
fn generated_documents_parse_as_generated() {
    // The generator itself must write valid YAML, or the property above proves little.
    let mut runner = proptest::test_runner::TestRunner::default();
    for _ in 0..200 {
        let g = document().new_tree(&mut runner).unwrap().current();
        let r = render(&g, true);
        assert!(yaml::parse(&r.text).is_ok(), "{}", r.text);
    }
}

// ---------------------------------------------------------------------------------------
// write_atomic.

#[cfg(unix)]
fn mode(p: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

#[cfg(unix)]
#[test]
fn write_atomic_keeps_the_mode_and_makes_new_private_files_0600() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("app.yaml");
    std::fs::write(&p, "a: 1\n").unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o640)).unwrap();
    write_atomic(&p, "a: 2\n", true).unwrap();
    assert_eq!(std::fs::read_to_string(&p).unwrap(), "a: 2\n");
    assert_eq!(mode(&p), 0o640);

    let new = dir.path().join("users.yaml");
    write_atomic(&new, "users: []\n", true).unwrap();
    assert_eq!(mode(&new), 0o600);
    let public = dir.path().join("public.yaml");
    write_atomic(&public, "x: 1\n", false).unwrap();
    assert_eq!(mode(&public), 0o644);

    // A link is followed: the file it names changes, the link stays a link.
    let link = dir.path().join("link.yaml");
    std::os::unix::fs::symlink(&p, &link).unwrap();
    write_atomic(&link, "a: 3\n", false).unwrap();
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(std::fs::read_to_string(&p).unwrap(), "a: 3\n");
    // No temporary file is left behind.
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 4, "{names:?}");
}

#[cfg(unix)]
#[test]
fn write_atomic_leaves_the_target_alone_when_the_directory_is_not_writable() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("app.yaml");
    std::fs::write(&p, "a: 1\n").unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o555)).unwrap();
    // Root writes anyway: the test would prove nothing.
    let probe = dir.path().join(".probe");
    if std::fs::write(&probe, "").is_ok() {
        let _ = std::fs::remove_file(&probe);
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        eprintln!("skipped: running as root, a read-only directory is still writable");
        return;
    }
    let err = write_atomic(&p, "a: 2\n", false);
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    assert!(err.is_err());
    assert_eq!(std::fs::read_to_string(&p).unwrap(), "a: 1\n");
}

// ---------------------------------------------------------------------------------------
// Directory locks.

#[test]
fn the_lock_is_on_the_nearest_existing_directory_and_excludes_a_second_holder() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir(root.join("a")).unwrap();
    assert_eq!(holding_dir(&root.join("a/x.yaml")), root.join("a"));
    assert_eq!(
        holding_dir(&root.join("a/new/deeper/x.yaml")),
        root.join("a")
    );
    assert_eq!(holding_dir(Path::new("x.yaml")), Path::new("."));
    let held = lock_dir_of(&root.join("a/x.yaml")).unwrap();
    // Another open of the same directory (another writer) cannot take it meanwhile.
    let other = std::fs::File::open(root.join("a")).unwrap();
    assert!(other.try_lock().is_err());
    drop(held);
    assert!(other.try_lock().is_ok());
    // Nothing was created beside the files.
    assert_eq!(std::fs::read_dir(root.join("a")).unwrap().count(), 0);
}
