//! Comment-keeping edits of YAML files: change one value or one list item of a file an
//! operator keeps in Git and leave every other byte (comments, blank lines, key order,
//! quoting, line endings) as written.
//!
//! Re-serialising a whole file, what the Python version did, loses its comments. Here each
//! edit is planned on `yaml`'s node tree (which knows the byte range of every scalar and key),
//! applied as a small textual splice, and then checked: the spliced text is parsed again and
//! must give the old tree with exactly the intended change, else nothing changes
//! (`EditError::Verify`). Whatever the planner misjudges can therefore never be written.
//! Constructs the planner does not understand at the place an edit touches (flow
//! collections, anchors, aliases, tags, merge keys, tabs in indentation, several documents)
//! are refused rather than guessed at.

use std::ops::Range;
use std::path::{Path, PathBuf};

use crate::yaml::{self, Kind, Node};

/// The largest file the editor accepts; configuration files are far smaller.
pub const MAX_BYTES: usize = 16 << 20;

/// One step of a path into a document: a mapping key or a list index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seg<'a> {
    Key(&'a str),
    Index(usize),
}

/// Why an edit was not made. In every case the document is unchanged.
#[derive(Debug, thiserror::Error)]
pub enum EditError {
    /// The file does not parse.
    #[error("line {}, column {}: {}", .0.pos.line, .0.pos.col, .0.message)]
    Syntax(yaml::SyntaxError),
    /// The path does not exist (or cannot be created where it points).
    #[error("not found: {0}")]
    NotFound(String),
    /// The edit touches something the editor does not rewrite safely.
    #[error("not supported: {0}")]
    Unsupported(String),
    /// The edited text did not parse to the intended tree: a bug guard.
    #[error("the edit did not verify: {0}")]
    Verify(String),
}

fn unsupported<T>(what: impl Into<String>) -> Result<T, EditError> {
    Err(EditError::Unsupported(what.into()))
}

/// A YAML file held as text, with its parsed tree.
#[derive(Debug, Clone)]
pub struct Doc {
    text: String,
    tree: Node,
    /// The file's line ending, used for every line the editor writes.
    nl: &'static str,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LineKind {
    Blank,
    Comment,
    Content,
}

#[derive(Debug, Clone, Copy)]
struct Line {
    start: usize,
    /// End of the line's text, before `\n` or `\r\n`.
    end: usize,
    /// Start of the next line (`end` when the file ends without a line break).
    next: usize,
    /// Leading spaces.
    indent: usize,
    /// A tab in the leading whitespace of a non-blank line: indentation is then ambiguous.
    tab: bool,
    kind: LineKind,
    /// The line continues a multi-line scalar: it is text, never a comment or a structure.
    scalar: bool,
}

/// The lines of a document, classified.
struct Layout<'a> {
    text: &'a str,
    lines: Vec<Line>,
}

impl<'a> Layout<'a> {
    fn new(text: &'a str, tree: &Node) -> Layout<'a> {
        let mut lines = Vec::new();
        let mut start = 0;
        while start < text.len() {
            let (end, next) = match text[start..].find('\n') {
                Some(i) => {
                    let nl = start + i;
                    let end = if nl > start && text.as_bytes()[nl - 1] == b'\r' {
                        nl - 1
                    } else {
                        nl
                    };
                    (end, nl + 1)
                }
                None => (text.len(), text.len()),
            };
            let body = &text[start..end];
            let indent = body.len() - body.trim_start_matches(' ').len();
            let rest = body.trim_start_matches([' ', '\t']);
            let kind = if rest.is_empty() {
                LineKind::Blank
            } else if rest.starts_with('#') {
                LineKind::Comment
            } else {
                LineKind::Content
            };
            let lead = &body[..body.len() - rest.len()];
            lines.push(Line {
                start,
                end,
                next,
                indent,
                tab: kind != LineKind::Blank && lead.contains('\t'),
                kind,
                scalar: false,
            });
            start = next;
        }
        let mut layout = Layout { text, lines };
        layout.mark_scalar_lines(tree);
        layout
    }

    /// Marks the lines inside multi-line scalars, so that a `#` line of a block scalar is not
    /// taken for a comment and its lines never end a block.
    fn mark_scalar_lines(&mut self, tree: &Node) {
        let mut stack = vec![tree];
        while let Some(n) = stack.pop() {
            match &n.kind {
                Kind::Seq(items) => stack.extend(items.iter()),
                Kind::Map(entries) => {
                    for (k, v) in entries {
                        stack.push(k);
                        stack.push(v);
                    }
                }
                _ => {
                    let Some(span) = n.span() else { continue };
                    let Some(body) = self.text.get(span.clone()) else {
                        continue;
                    };
                    // A block scalar's span runs into the next line's indentation.
                    let body = body.trim_end();
                    if !body.contains('\n') {
                        continue;
                    }
                    let first = self.line_of(span.start);
                    let own_line = self
                        .text
                        .get(self.lines[first].start..span.start)
                        .is_some_and(|p| p.trim().is_empty());
                    let last = self.line_of(span.start + body.len().saturating_sub(1));
                    let from = if own_line { first } else { first + 1 };
                    for l in self.lines.iter_mut().take(last + 1).skip(from) {
                        l.scalar = true;
                        if l.kind == LineKind::Comment {
                            l.kind = LineKind::Content;
                        }
                    }
                }
            }
        }
    }

    /// The index of the line holding byte `at`.
    fn line_of(&self, at: usize) -> usize {
        self.lines
            .partition_point(|l| l.start <= at)
            .saturating_sub(1)
    }

    fn body(&self, l: usize) -> &'a str {
        self.lines
            .get(l)
            .and_then(|l| self.text.get(l.start..l.end))
            .unwrap_or("")
    }

    /// The first line after `start` that no longer belongs to a block whose entries sit at
    /// column `col` (`seq`: a list's dashes; otherwise a mapping's keys).
    fn block_end(&self, start: usize, col: usize, seq: bool) -> usize {
        for (j, l) in self.lines.iter().enumerate().skip(start + 1) {
            if l.kind != LineKind::Content || l.scalar {
                continue;
            }
            if l.indent < col || (seq && l.indent == col && !is_dash(self.body(j).trim_start())) {
                return j;
            }
        }
        self.lines.len()
    }

    /// The last line of what starts at `start` and ends before `end`: its last content line,
    /// then the comment lines directly below it indented deeper than `col` (they comment it).
    fn content_end(&self, start: usize, end: usize, col: usize) -> usize {
        let mut last = start;
        for j in start..end.min(self.lines.len()) {
            if self.lines[j].kind == LineKind::Content {
                last = j;
            }
        }
        while let Some(l) = self.lines.get(last + 1) {
            if last + 1 < end && l.kind == LineKind::Comment && l.indent > col {
                last += 1;
            } else {
                break;
            }
        }
        last
    }

    /// Refuses lines the editor would misread: tabs in indentation, anchors, aliases, tags,
    /// merge keys and complex keys.
    fn check_lines(&self, lines: Range<usize>) -> Result<(), EditError> {
        for j in lines {
            let Some(l) = self.lines.get(j) else { break };
            if l.scalar {
                continue;
            }
            if l.tab {
                return unsupported(format!("a tab in the indentation of line {}", j + 1));
            }
            if l.kind == LineKind::Content && has_node_property(self.body(j)) {
                return unsupported(format!(
                    "an anchor, alias, tag, merge key or complex key on line {}",
                    j + 1
                ));
            }
        }
        Ok(())
    }

    /// Nothing but comments, blank lines, directives and a `---`.
    fn is_empty_doc(&self) -> bool {
        (0..self.lines.len()).all(|j| {
            self.lines[j].kind != LineKind::Content
                || self.body(j).starts_with("---")
                || self.body(j).starts_with('%')
        })
    }

    /// Where text inserted "after line `l`" goes, and whether a line break must come first
    /// (the file ends on that line without one).
    fn after_line(&self, l: usize) -> (usize, bool) {
        match self.lines.get(l) {
            Some(line) => (line.next, line.next == line.end),
            None => (
                self.text.len(),
                !self.text.is_empty() && !self.text.ends_with('\n'),
            ),
        }
    }
}

/// `- x` or a lone `-`: a block list item's indicator.
fn is_dash(s: &str) -> bool {
    s == "-" || s.starts_with("- ") || s.starts_with("-\t")
}

/// Whether a line carries a node property or a construct the planner does not model.
fn has_node_property(line: &str) -> bool {
    let mut s = line.trim_start();
    while is_dash(s) {
        s = s[1..].trim_start();
    }
    if s.starts_with(['&', '*', '!', '?']) || s.starts_with("<<") {
        return true;
    }
    if s.starts_with(['[', '{']) {
        return s.contains(['&', '*', '!']);
    }
    let rest = match after_key_colon(s) {
        Some(i) => s[i..].trim_start(),
        None => return false,
    };
    if rest.starts_with(['&', '*', '!']) {
        return true;
    }
    rest.starts_with(['[', '{']) && rest.contains(['&', '*', '!'])
}

/// The byte after the `:` ending a block mapping key at the start of `s`, if there is one.
fn after_key_colon(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    let mut i = 0;
    if let Some(&q) = b.first().filter(|&&c| c == b'"' || c == b'\'') {
        i = 1;
        while i < b.len() {
            if q == b'"' && b[i] == b'\\' {
                i += 2;
                continue;
            }
            if b[i] == q {
                if q == b'\'' && b.get(i + 1) == Some(&b'\'') {
                    i += 2;
                    continue;
                }
                break;
            }
            i += 1;
        }
        i += 1;
    }
    while i < b.len() {
        match b[i] {
            b'#' if i > 0 && matches!(b[i - 1], b' ' | b'\t') => return None,
            b':' if matches!(b.get(i + 1), None | Some(b' ' | b'\t')) => return Some(i + 1),
            _ => {}
        }
        i += 1;
    }
    None
}

/// A double-quoted YAML scalar: stays a string whatever it holds (`yes`, `null`, `#x`, `: `,
/// leading spaces), with every character outside YAML's printable set escaped.
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\0' => out.push_str("\\0"),
            ' '..='~' => out.push(c),
            '\u{A0}'..='\u{D7FF}' | '\u{E000}'..='\u{FEFE}' | '\u{FF00}'..='\u{FFFD}' => {
                out.push(c)
            }
            c if (c as u32) >= 0x10000 => out.push(c),
            c => out.push_str(&format!("\\u{:04X}", c as u32)),
        }
    }
    out.push('"');
    out
}

/// A mapping key: plain when it is a simple identifier YAML reads as a string, else quoted.
pub fn key_text(k: &str) -> String {
    let mut chars = k.chars();
    let simple = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    // Words some YAML reader (1.1 or 1.2) takes for a boolean or null.
    const RESERVED: &[&str] = &["true", "false", "null", "yes", "no", "on", "off", "y", "n"];
    if simple && !RESERVED.contains(&k.to_ascii_lowercase().as_str()) {
        k.to_string()
    } else {
        quote(k)
    }
}

/// Whether two trees are equal, positions aside. Iterative: depth is whatever the parser
/// accepted.
pub fn same(a: &Node, b: &Node) -> bool {
    let mut stack = vec![(a, b)];
    while let Some((a, b)) = stack.pop() {
        match (&a.kind, &b.kind) {
            (Kind::Null, Kind::Null) => {}
            (Kind::Bool(x), Kind::Bool(y)) if x == y => {}
            (Kind::Int(x), Kind::Int(y)) if x == y => {}
            (Kind::Float(x), Kind::Float(y)) if x == y || (x.is_nan() && y.is_nan()) => {}
            (Kind::Str(x), Kind::Str(y)) if x == y => {}
            (Kind::Seq(x), Kind::Seq(y)) if x.len() == y.len() => stack.extend(x.iter().zip(y)),
            (Kind::Map(x), Kind::Map(y)) if x.len() == y.len() => {
                for ((ka, va), (kb, vb)) in x.iter().zip(y) {
                    stack.push((ka, kb));
                    stack.push((va, vb));
                }
            }
            _ => return false,
        }
    }
    true
}

fn node(kind: Kind) -> Node {
    let mut n = Node::null();
    n.kind = kind;
    n
}

fn str_node(s: &str) -> Node {
    node(Kind::Str(s.to_string()))
}

fn fields_node(fields: &[(&str, &str)]) -> Node {
    node(Kind::Map(
        fields
            .iter()
            .map(|(k, v)| (str_node(k), str_node(v)))
            .collect(),
    ))
}

fn describe(path: &[Seg<'_>]) -> String {
    if path.is_empty() {
        return "the document".into();
    }
    path.iter()
        .map(|s| match s {
            Seg::Key(k) => (*k).to_string(),
            Seg::Index(i) => i.to_string(),
        })
        .collect::<Vec<_>>()
        .join(".")
}

/// The node at `path`, mutable (for the intended tree).
fn get_mut<'t>(mut n: &'t mut Node, path: &[Seg<'_>]) -> Option<&'t mut Node> {
    for seg in path {
        n = match (seg, &mut n.kind) {
            (Seg::Key(k), Kind::Map(entries)) => entries
                .iter_mut()
                .find(|(kn, _)| matches!(&kn.kind, Kind::Str(s) if s == k))
                .map(|(_, v)| v)?,
            (Seg::Index(i), Kind::Seq(items)) => items.get_mut(*i)?,
            _ => return None,
        };
    }
    Some(n)
}

/// The node at `path`.
fn get<'t>(mut n: &'t Node, path: &[Seg<'_>]) -> Option<&'t Node> {
    for seg in path {
        n = match (seg, &n.kind) {
            (Seg::Key(k), Kind::Map(_)) => n.get(k)?,
            (Seg::Index(i), Kind::Seq(items)) => items.get(*i)?,
            _ => return None,
        };
    }
    Some(n)
}

/// One node on the way down a path, with the key that holds it (none for the root and for
/// list items).
#[derive(Clone, Copy)]
struct Step<'t> {
    node: &'t Node,
    key: Option<&'t Node>,
}

/// What to write where a path ends after the missing keys are created.
enum Leaf<'v> {
    /// A scalar: its text as written after `key: `, and the node it reads as.
    Scalar(String, Node),
    /// A list of one item.
    List(&'v NewItem<'v>),
}

impl Leaf<'_> {
    fn node(&self) -> Node {
        match self {
            Leaf::Scalar(_, n) => n.clone(),
            Leaf::List(item) => node(Kind::Seq(vec![item.node.clone()])),
        }
    }
}

/// A list item to append: the node it must read as, and how to write it with its dash at
/// column `dash` and its content `off` columns right of the dash.
struct NewItem<'a> {
    node: Node,
    render: &'a dyn Fn(usize, usize) -> Result<String, EditError>,
}

type Splice = (Range<usize>, String);

impl Doc {
    /// Parses a file for editing. Refuses files over `MAX_BYTES` and files holding several
    /// documents (or a `...` end marker), since appending would land in the wrong one.
    pub fn parse(src: &str) -> Result<Doc, EditError> {
        if src.len() > MAX_BYTES {
            return unsupported(format!("a file over {MAX_BYTES} bytes"));
        }
        let mut content = false;
        let mut starts = 0;
        for line in src.lines() {
            let marker = |m: &str| {
                line.strip_prefix(m)
                    .is_some_and(|r| r.is_empty() || r.starts_with([' ', '\t', '\r']))
            };
            if marker("---") {
                starts += 1;
                if content || starts > 1 {
                    return unsupported("several YAML documents in one file");
                }
            } else if marker("...") {
                return unsupported("a document end marker (`...`)");
            } else {
                let t = line.trim();
                if !t.is_empty() && !t.starts_with('#') && !line.starts_with('%') {
                    content = true;
                }
            }
        }
        let tree = yaml::parse(src).map_err(EditError::Syntax)?;
        let nl = match src.find('\n') {
            Some(i) if i > 0 && src.as_bytes()[i - 1] == b'\r' => "\r\n",
            _ => "\n",
        };
        Ok(Doc {
            text: src.to_string(),
            tree,
            nl,
        })
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    pub fn tree(&self) -> &Node {
        &self.tree
    }

    /// The node at `path`, if there is one.
    pub fn get(&self, path: &[Seg<'_>]) -> Option<&Node> {
        get(&self.tree, path)
    }

    /// The index of the first item of the list at `list` that is a mapping whose `key` is
    /// the string `value`.
    pub fn find_item(&self, list: &[Seg<'_>], key: &str, value: &str) -> Option<usize> {
        let Kind::Seq(items) = &self.get(list)?.kind else {
            return None;
        };
        items
            .iter()
            .position(|it| it.get(key).and_then(Node::as_str) == Some(value))
    }

    /// Replaces the scalar at `path`, or adds the key to its parent block mapping (creating
    /// missing parent mappings as block mappings) when absent.
    pub fn set_str(&mut self, path: &[Seg<'_>], value: &str) -> Result<(), EditError> {
        self.set_with(path, quote(value), str_node(value))
    }

    /// Like `set_str` for any scalar (a number, a boolean, a string): written plain when
    /// that reads back as the same value, else quoted, so that `u_position: 12` stays a
    /// number as operators write it.
    pub fn set_scalar(&mut self, path: &[Seg<'_>], value: &Node) -> Result<(), EditError> {
        let text = scalar_text(value, None, false)?;
        self.set_with(path, text, value.clone())
    }

    fn set_with(&mut self, path: &[Seg<'_>], text: String, value: Node) -> Result<(), EditError> {
        if path.is_empty() {
            return unsupported("replacing the whole document");
        }
        let layout = Layout::new(&self.text, &self.tree);
        let (steps, found) = self.descend(path)?;
        let mut intended = self.tree.clone();
        if found == path.len() {
            let (Some(target), Some(parent)) = (steps.last(), steps.iter().rev().nth(1)) else {
                return unsupported("replacing the whole document");
            };
            if matches!(target.node.kind, Kind::Seq(_) | Kind::Map(_)) {
                return unsupported(format!(
                    "{} is {}, not a scalar",
                    describe(path),
                    target.node.describe()
                ));
            }
            self.check_path(&layout, &steps, parent.node)?;
            let splices = self.replace_scalar(&layout, target)?;
            if let Some(n) = get_mut(&mut intended, path) {
                *n = value;
            }
            let splices = splices
                .into_iter()
                .map(|(r, s)| (r, s.replace("\u{0}VALUE", &text)))
                .collect();
            return self.commit(splices, intended);
        }
        let leaf = || Leaf::Scalar(text.clone(), value.clone());
        let splices = self.create(&layout, &steps, &path[found..], leaf(), path)?;
        self.intend_create(&mut intended, path, found, leaf())?;
        self.commit(splices, intended)
    }

    /// Appends an item that is a block mapping of string fields to the block list at `list`;
    /// creates the key (and missing parents) when absent or null.
    pub fn push_map(&mut self, list: &[Seg<'_>], fields: &[(&str, &str)]) -> Result<(), EditError> {
        for (i, (k, _)) in fields.iter().enumerate() {
            if fields[..i].iter().any(|(o, _)| o == k) {
                return unsupported(format!("the field `{k}` given twice"));
            }
        }
        let render = |dash: usize, off: usize| Ok(self.render_item(dash, off, fields));
        let item = NewItem {
            node: fields_node(fields),
            render: &render,
        };
        let text = self.plan_push(list, &item)?;
        self.commit(text.0, text.1)
    }

    /// Appends `item` (a scalar, or a mapping of scalars, block mappings and lists) to the
    /// block list at `list`, written in block style; creates the key when absent or null.
    /// `from` is the document `item` was read from, when it is a copy: its scalars then keep
    /// the text they were written with (`007` stays `007`), and anchors, aliases, tags or
    /// tabs on its lines are refused, since a copy would not mean the same.
    pub fn push_node(
        &mut self,
        list: &[Seg<'_>],
        item: &Node,
        from: Option<&Doc>,
    ) -> Result<(), EditError> {
        if let Some(src) = from {
            src.check_copyable(item)?;
        }
        let raw = from.map(|d| d.text.as_str());
        // Rendered once up front so that a value the editor cannot write is refused before
        // any planning; the closure only re-indents.
        render_node_item(0, 2, item, raw, self.nl)?;
        let render = |dash: usize, off: usize| render_node_item(dash, off, item, raw, self.nl);
        let new = NewItem {
            node: item.clone(),
            render: &render,
        };
        let (splices, intended) = self.plan_push(list, &new)?;
        self.commit(splices, intended)
    }

    /// Removes the entry `path` (its last segment a key) from its block mapping, with the
    /// lines of its value and the comments directly below it that are indented deeper.
    pub fn remove_key(&mut self, path: &[Seg<'_>]) -> Result<(), EditError> {
        let Some((Seg::Key(k), parent_path)) = path.split_last() else {
            return Err(EditError::NotFound(describe(path)));
        };
        let layout = Layout::new(&self.text, &self.tree);
        let (steps, found) = self.descend(path)?;
        if found < path.len() {
            return Err(EditError::NotFound(describe(path)));
        }
        let (Some(target), Some(parent)) = (steps.last(), steps.iter().rev().nth(1)) else {
            return Err(EditError::NotFound(describe(path)));
        };
        let Kind::Map(entries) = &parent.node.kind else {
            return Err(EditError::NotFound(describe(path)));
        };
        if entries.len() < 2 {
            return unsupported(format!(
                "removing the only key of the mapping at {}",
                describe(parent_path)
            ));
        }
        self.check_path(&layout, &steps, parent.node)?;
        let Some(key) = target.key else {
            return Err(EditError::NotFound(describe(path)));
        };
        let (line, col) = self.key_col(&layout, key)?;
        if !self
            .text
            .get(layout.lines[line].start..)
            .and_then(|t| t.get(..col))
            .is_some_and(|p| p.trim().is_empty())
        {
            return unsupported(format!(
                "the key on line {} shares its line with a list dash",
                line + 1
            ));
        }
        let mut end = layout.lines.len();
        for (j, l) in layout.lines.iter().enumerate().skip(line + 1) {
            if l.kind == LineKind::Content && !l.scalar && l.indent <= col {
                end = j;
                break;
            }
        }
        let last = layout.content_end(line, end, col);
        let start = layout.lines[line].start;
        let stop = layout.lines[last].next;
        let mut intended = self.tree.clone();
        if let Some(Kind::Map(entries)) = get_mut(&mut intended, parent_path).map(|n| &mut n.kind) {
            entries.retain(|(kn, _)| !matches!(&kn.kind, Kind::Str(s) if s == k));
        }
        self.commit(vec![(start..stop, String::new())], intended)
    }

    /// Refuses a node whose text a copy would not reproduce: aliases (defined elsewhere),
    /// anchors, tags, merge keys and tabs on its lines. `push_node` runs it on what it copies;
    /// callers run it first to tell which file is at fault.
    pub fn check_copyable(&self, item: &Node) -> Result<(), EditError> {
        let layout = Layout::new(&self.text, &self.tree);
        let first = layout.line_of(self.check_alias(&layout, item)?);
        let mut last = first;
        let mut stack = vec![item];
        while let Some(n) = stack.pop() {
            // A node without a position is a new value put into the copy (a changed field).
            let Some(span) = n.span() else { continue };
            let start = self.check_alias(&layout, n)?;
            let end = span.end.max(start);
            last = last.max(layout.line_of(end.saturating_sub(1).max(start)));
            match &n.kind {
                Kind::Seq(items) => stack.extend(items.iter()),
                Kind::Map(entries) => {
                    for (k, v) in entries {
                        stack.push(k);
                        stack.push(v);
                    }
                }
                _ => {}
            }
        }
        layout.check_lines(first..last + 1)
    }

    /// The splices and intended tree of appending `item` to the list at `list`.
    fn plan_push(
        &self,
        list: &[Seg<'_>],
        item: &NewItem<'_>,
    ) -> Result<(Vec<Splice>, Node), EditError> {
        let layout = Layout::new(&self.text, &self.tree);
        let (steps, found) = self.descend(list)?;
        let mut intended = self.tree.clone();
        if found < list.len() {
            let splices = self.create(&layout, &steps, &list[found..], Leaf::List(item), list)?;
            self.intend_create(&mut intended, list, found, Leaf::List(item))?;
            return Ok((splices, intended));
        }
        let Some(target) = steps.last().copied() else {
            return Err(EditError::NotFound(describe(list)));
        };
        match &target.node.kind {
            Kind::Seq(items) if !items.is_empty() => {
                self.check_flow(target.node)?;
                let (first_dash, d) = self.dash_of(&layout, &items[0])?;
                let Some(last) = items.last() else {
                    return Err(EditError::NotFound(describe(list)));
                };
                let (last_dash, ld) = self.dash_of(&layout, last)?;
                if ld != d {
                    return unsupported("list items at different columns");
                }
                let end = layout.block_end(last_dash, d, true);
                layout.check_lines(first_dash..end)?;
                self.check_ancestors(&layout, &steps)?;
                let off = self
                    .start_of(last)
                    .filter(|&s| layout.line_of(s) == last_dash)
                    .map_or(2, |s| s - layout.lines[last_dash].start - d);
                let ce = layout.content_end(last_dash, end, d);
                let (at, nl_first) = layout.after_line(ce);
                let mut text = if nl_first {
                    self.nl.to_string()
                } else {
                    String::new()
                };
                text.push_str(&(item.render)(d, off)?);
                if let Some(Kind::Seq(items)) = get_mut(&mut intended, list).map(|n| &mut n.kind) {
                    items.push(item.node.clone());
                }
                Ok((vec![(at..at, text)], intended))
            }
            Kind::Seq(_) | Kind::Null => {
                let (splices, at, col) = self.open_empty(&layout, &steps, true)?;
                let mut splices = splices;
                let (at, nl_first) = at;
                let mut text = if nl_first {
                    self.nl.to_string()
                } else {
                    String::new()
                };
                text.push_str(&(item.render)(col, 2)?);
                splices.push((at..at, text));
                if let Some(n) = get_mut(&mut intended, list) {
                    *n = node(Kind::Seq(vec![item.node.clone()]));
                }
                Ok((splices, intended))
            }
            other => Err(EditError::NotFound(format!(
                "{} is {}, not a list",
                describe(list),
                other.describe()
            ))),
        }
    }

    /// Removes item `index` of the block list at `list`, with the comment lines directly
    /// attached above it (none if a blank line separates them). A list left empty is written
    /// `[]`, so it still reads as a list.
    pub fn remove_item(&mut self, list: &[Seg<'_>], index: usize) -> Result<(), EditError> {
        let layout = Layout::new(&self.text, &self.tree);
        let (steps, found) = self.descend(list)?;
        let Some(target) = steps.last().copied().filter(|_| found == list.len()) else {
            return Err(EditError::NotFound(describe(list)));
        };
        let Kind::Seq(items) = &target.node.kind else {
            return Err(EditError::NotFound(format!(
                "{} is {}, not a list",
                describe(list),
                target.node.describe()
            )));
        };
        let Some(item) = items.get(index) else {
            return Err(EditError::NotFound(format!(
                "{}: no item {index} (the list has {})",
                describe(list),
                items.len()
            )));
        };
        self.check_flow(target.node)?;
        let (first_dash, d) = self.dash_of(&layout, &items[0])?;
        let (dash, col) = self.dash_of(&layout, item)?;
        if col != d {
            return unsupported("list items at different columns");
        }
        let region_end = match items.get(index + 1) {
            Some(next) => self.dash_of(&layout, next)?.0,
            None => layout.block_end(dash, d, true),
        };
        let list_end = match items.last() {
            Some(last) => layout.block_end(self.dash_of(&layout, last)?.0, d, true),
            None => region_end,
        };
        layout.check_lines(first_dash..list_end)?;
        self.check_ancestors(&layout, &steps)?;
        // The comments directly above (for a later item, only those at the dash's column or
        // left of it: deeper ones comment the previous item).
        let mut from = dash;
        while from > 0 {
            let l = layout.lines[from - 1];
            if l.kind == LineKind::Comment && (index == 0 || l.indent <= d) {
                from -= 1;
            } else {
                break;
            }
        }
        let mut to = layout.content_end(dash, region_end, d);
        let blank = |l: usize| {
            layout
                .lines
                .get(l)
                .is_some_and(|l| l.kind == LineKind::Blank)
        };
        // Items separated by blank lines stay so: drop the blank run below the item when one
        // is above it too, or when the item came first.
        if (index == 0 || (from > 0 && blank(from - 1))) && items.len() > 1 && blank(to + 1) {
            while blank(to + 1) && to + 1 < region_end {
                to += 1;
            }
        }
        let start = layout.lines[from].start;
        let end = layout.lines[to].next;
        let mut splices = vec![(start..end, String::new())];
        if items.len() == 1 {
            // The list becomes `[]`: on its key's line, or alone for a root list.
            match target.key {
                Some(key) => {
                    let colon = self.colon_after(key)?;
                    splices.push((colon + 1..colon + 1, " []".to_string()));
                }
                None if steps.len() == 1 => {
                    splices[0].1 = format!("[]{}", self.nl);
                }
                None => return unsupported("emptying a list that is itself a list item"),
            }
        }
        let mut intended = self.tree.clone();
        if let Some(Kind::Seq(items)) = get_mut(&mut intended, list).map(|n| &mut n.kind) {
            items.remove(index);
        }
        self.commit(splices, intended)
    }

    // -------------------------------------------------------------------------------------
    // Planning.

    /// The nodes along `path` from the root, as far as they exist, and how many segments
    /// were found. A missing key is reported by the count; anything else is `NotFound`.
    fn descend<'t>(&'t self, path: &[Seg<'_>]) -> Result<(Vec<Step<'t>>, usize), EditError> {
        let mut steps = vec![Step {
            node: &self.tree,
            key: None,
        }];
        let mut cur = &self.tree;
        for (i, seg) in path.iter().enumerate() {
            let next = match (seg, &cur.kind) {
                (Seg::Key(k), Kind::Map(entries)) => {
                    match entries
                        .iter()
                        .find(|(kn, _)| matches!(&kn.kind, Kind::Str(s) if s == k))
                    {
                        Some((kn, v)) => Step {
                            node: v,
                            key: Some(kn),
                        },
                        None => return Ok((steps, i)),
                    }
                }
                (Seg::Key(_), Kind::Null) => return Ok((steps, i)),
                (Seg::Index(n), Kind::Seq(items)) => match items.get(*n) {
                    Some(v) => Step { node: v, key: None },
                    None => {
                        return Err(EditError::NotFound(format!(
                            "{}: no item {n} (the list has {})",
                            describe(&path[..i]),
                            items.len()
                        )));
                    }
                },
                (_, other) => {
                    return Err(EditError::NotFound(format!(
                        "{} is {}, there is no {} in it",
                        describe(&path[..i]),
                        other.describe(),
                        describe(&path[i..=i])
                    )));
                }
            };
            steps.push(next);
            cur = next.node;
        }
        Ok((steps, path.len()))
    }

    fn start_of(&self, n: &Node) -> Option<usize> {
        n.span().map(|s| s.start)
    }

    /// Refuses a node that is an alias (its definition is elsewhere than its use) or that has
    /// no known position.
    fn check_alias(&self, layout: &Layout<'_>, n: &Node) -> Result<usize, EditError> {
        let Some(start) = self.start_of(n) else {
            return unsupported("a node without a known position");
        };
        if layout.line_of(start) + 1 != n.pos.line as usize && !layout.lines.is_empty() {
            return unsupported(format!("an alias on line {}", n.pos.line));
        }
        Ok(start)
    }

    /// Refuses a flow collection (`[a, b]`, `{a: 1}`).
    fn check_flow(&self, n: &Node) -> Result<(), EditError> {
        // A block list's span starts where its first item does, so a block list of flow
        // mappings (`- {id: a}`) starts with `{` too; a flow collection's first child starts
        // after its bracket.
        let first_child = match &n.kind {
            Kind::Seq(items) => items.first(),
            Kind::Map(entries) => entries.first().map(|(k, _)| k),
            _ => None,
        };
        let start = self.start_of(n);
        let flow = start
            .and_then(|s| self.text.get(s..))
            .is_some_and(|t| t.starts_with(['[', '{']))
            && first_child.and_then(|c| self.start_of(c)) != start;
        if flow {
            return unsupported(format!(
                "a flow-style {} (`[...]`/`{{...}}`) on line {}",
                if matches!(n.kind, Kind::Seq(_)) {
                    "list"
                } else {
                    "mapping"
                },
                n.pos.line
            ));
        }
        Ok(())
    }

    /// The lines of the keys leading to a node must be plain block keys.
    fn check_ancestors(&self, layout: &Layout<'_>, steps: &[Step<'_>]) -> Result<(), EditError> {
        for s in steps {
            self.check_alias(layout, s.node)
                .or_else(|e| match s.node.kind {
                    // The root of an empty document has no position of its own.
                    Kind::Null if layout.is_empty_doc() => Ok(0),
                    _ => Err(e),
                })?;
            if let Some(k) = s.key {
                let l = layout.line_of(self.check_alias(layout, k)?);
                layout.check_lines(l..l + 1)?;
            }
        }
        Ok(())
    }

    /// Everything an edit inside block container `parent` relies on.
    fn check_path(
        &self,
        layout: &Layout<'_>,
        steps: &[Step<'_>],
        parent: &Node,
    ) -> Result<(), EditError> {
        self.check_flow(parent)?;
        self.check_ancestors(layout, steps)?;
        let lines = self.extent(layout, parent)?;
        layout.check_lines(lines)
    }

    /// The lines of a non-empty block mapping or list.
    fn extent(&self, layout: &Layout<'_>, n: &Node) -> Result<Range<usize>, EditError> {
        match &n.kind {
            Kind::Map(entries) => {
                let Some((k, _)) = entries.first() else {
                    return unsupported("an empty mapping");
                };
                let (line, col) = self.key_col(layout, k)?;
                Ok(line..layout.block_end(line, col, false))
            }
            Kind::Seq(items) => {
                let Some(first) = items.first() else {
                    return unsupported("an empty list");
                };
                let (line, d) = self.dash_of(layout, first)?;
                let mut end = layout.block_end(line, d, true);
                if let Some(last) = items.last() {
                    end = end.max(layout.block_end(self.dash_of(layout, last)?.0, d, true));
                }
                Ok(line..end)
            }
            _ => unsupported("a scalar where a container was expected"),
        }
    }

    /// The line and column of a block mapping key, which must have only indentation (and at
    /// most one list dash) before it.
    fn key_col(&self, layout: &Layout<'_>, key: &Node) -> Result<(usize, usize), EditError> {
        let start = self.check_alias(layout, key)?;
        let line = layout.line_of(start);
        let Some(prefix) = self.text.get(layout.lines[line].start..start) else {
            return unsupported("a key at an unexpected place");
        };
        let rest = prefix.trim_start_matches(' ');
        let ok = rest.is_empty()
            || (rest.starts_with('-')
                && rest.len() > 1
                && rest[1..].trim_start_matches(' ').is_empty());
        if !ok {
            return unsupported(format!(
                "the key on line {} is not a plain block key",
                line + 1
            ));
        }
        Ok((line, prefix.len()))
    }

    /// The line and column of the dash of a block list item written `- item` on one line.
    fn dash_of(&self, layout: &Layout<'_>, item: &Node) -> Result<(usize, usize), EditError> {
        let start = self.check_alias(layout, item)?;
        if self
            .text
            .get(start..)
            .is_some_and(|t| t.starts_with(['[', '{']))
            && !matches!(item.kind, Kind::Seq(_) | Kind::Map(_))
        {
            return unsupported("a flow item");
        }
        let line = layout.line_of(start);
        let Some(prefix) = self.text.get(layout.lines[line].start..start) else {
            return unsupported("a list item at an unexpected place");
        };
        let rest = prefix.trim_start_matches(' ');
        let ok =
            rest.starts_with('-') && rest.len() > 1 && rest[1..].trim_start_matches(' ').is_empty();
        if !ok {
            return unsupported(format!(
                "the list item on line {} is not written `- item` on one line",
                line + 1
            ));
        }
        Ok((line, prefix.len() - rest.len()))
    }

    /// The byte of the `:` after a block mapping key.
    fn colon_after(&self, key: &Node) -> Result<usize, EditError> {
        let Some(span) = key.span() else {
            return unsupported("a key without a known position");
        };
        let rest = self.text.get(span.end..).unwrap_or("");
        let skipped = rest.len() - rest.trim_start_matches([' ', '\t']).len();
        if rest[skipped..].starts_with(':') {
            Ok(span.end + skipped)
        } else {
            unsupported(format!(
                "the key on line {} is not followed by `:`",
                key.pos.line
            ))
        }
    }

    /// The splice replacing an existing scalar; `"\0VALUE"` stands for the quoted value.
    fn replace_scalar(
        &self,
        layout: &Layout<'_>,
        target: &Step<'_>,
    ) -> Result<Vec<Splice>, EditError> {
        let n = target.node;
        let start = self.check_alias(layout, n)?;
        let Some(span) = n.span() else {
            return unsupported("a scalar without a known position");
        };
        let Some(body) = self.text.get(span.clone()) else {
            return unsupported("a scalar without a known position");
        };
        const V: &str = "\u{0}VALUE";
        let Some(key) = target.key else {
            // A list item: only `- scalar` on the dash's line.
            let line = layout.line_of(start);
            let prefix = self
                .text
                .get(layout.lines[line].start..start)
                .unwrap_or("x");
            let rest = prefix.trim_start_matches(' ');
            if body.is_empty() || !(rest.starts_with('-') && rest[1..].trim().is_empty()) {
                return unsupported(format!(
                    "the list item on line {} is not `- scalar`",
                    line + 1
                ));
            }
            let end = start + body.trim_end().len();
            return Ok(vec![(start..end, V.to_string())]);
        };
        let colon = self.colon_after(key)?;
        if n.is_null() && body.is_empty() {
            // `key:` with nothing after it.
            return Ok(vec![(colon + 1..colon + 1, format!(" {V}"))]);
        }
        let Some(between) = self.text.get(colon + 1..start) else {
            return unsupported(format!(
                "the value of line {} is not after its key",
                key.pos.line
            ));
        };
        // What stands between the colon and the value, comments aside.
        let mut tokens = String::new();
        let mut header_comment = String::new();
        for (i, l) in between.split('\n').enumerate() {
            let (code, comment) = match l.find('#') {
                Some(c) if c == 0 || l[..c].ends_with([' ', '\t']) => (&l[..c], &l[c..]),
                _ => (l, ""),
            };
            if i == 0 {
                header_comment = comment.trim_end().to_string();
            }
            tokens.push_str(code.trim());
        }
        if tokens.is_empty() {
            let end = start + body.trim_end().len();
            return Ok(vec![(start..end, V.to_string())]);
        }
        let header = tokens.starts_with(['|', '>'])
            && tokens[1..]
                .chars()
                .all(|c| matches!(c, '+' | '-' | '1'..='9'));
        if !header {
            return unsupported(format!(
                "`{tokens}` before the value on line {}",
                key.pos.line
            ));
        }
        // A block scalar: from its indicator to the end of its last line of text; the header's
        // comment moves after the new value.
        let ind = colon + 1 + between.find(['|', '>']).unwrap_or(0);
        let end = (start + body.trim_end().len()).max(ind + 1);
        let mut with = V.to_string();
        if !header_comment.is_empty() {
            with.push(' ');
            with.push_str(&header_comment);
        }
        Ok(vec![(ind..end, with)])
    }

    /// Splices that turn the empty container (null, `[]`, `{}`) of the last step into a
    /// block one, the place where its lines go (with whether a line break must come first)
    /// and the column of its entries.
    #[allow(clippy::type_complexity)]
    fn open_empty(
        &self,
        layout: &Layout<'_>,
        steps: &[Step<'_>],
        list: bool,
    ) -> Result<(Vec<Splice>, (usize, bool), usize), EditError> {
        let Some(target) = steps.last() else {
            return unsupported("an empty path");
        };
        let n = target.node;
        let empty_flow = match &n.kind {
            Kind::Null => false,
            Kind::Seq(items) if list && items.is_empty() => true,
            Kind::Map(entries) if !list && entries.is_empty() => true,
            other => {
                return Err(EditError::NotFound(format!(
                    "{} is in the way",
                    other.describe()
                )));
            }
        };
        let Some(key) = target.key else {
            if steps.len() == 1 && n.is_null() && layout.is_empty_doc() {
                // An empty document, or one of comments only: append.
                layout.check_lines(0..layout.lines.len())?;
                return Ok((vec![], layout.after_line(usize::MAX), 0));
            }
            return unsupported("filling an empty value that is not under a key");
        };
        self.check_ancestors(layout, steps)?;
        let (kl, kcol) = self.key_col(layout, key)?;
        let colon = self.colon_after(key)?;
        let mut splices = Vec::new();
        let body = n
            .span()
            .and_then(|s| self.text.get(s.clone()).map(|b| (s, b)));
        match body {
            Some((span, b)) if !b.is_empty() && span.start > colon => {
                if layout.line_of(span.start) != kl {
                    return unsupported(format!("the value of line {} is on another line", kl + 1));
                }
                let end = if empty_flow {
                    let close = if list { ']' } else { '}' };
                    let after = self.text.get(span.start + 1..).unwrap_or("");
                    let inner = after.len() - after.trim_start_matches([' ', '\t']).len();
                    if !after[inner..].starts_with(close) {
                        return unsupported("a non-empty flow collection");
                    }
                    span.start + 1 + inner + 1
                } else {
                    span.end
                };
                splices.push((colon + 1..end, String::new()));
            }
            _ if empty_flow => return unsupported("a flow collection without a known position"),
            _ => {}
        }
        // Comments directly below the key and deeper than it stay above the new lines.
        let mut last = kl;
        while layout
            .lines
            .get(last + 1)
            .is_some_and(|l| l.kind == LineKind::Comment && l.indent > kcol)
        {
            last += 1;
        }
        // Comments a blank line sets apart describe the whole value, not its first item:
        // the new lines go below the blank run, or removing that item would take them along.
        if last > kl {
            while layout
                .lines
                .get(last + 1)
                .is_some_and(|l| l.kind == LineKind::Blank)
            {
                last += 1;
            }
        }
        layout.check_lines(kl..last + 1)?;
        Ok((splices, layout.after_line(last), kcol + 2))
    }

    /// The splices creating the missing keys `rest` below the last step, ending in `leaf`.
    fn create(
        &self,
        layout: &Layout<'_>,
        steps: &[Step<'_>],
        rest: &[Seg<'_>],
        leaf: Leaf<'_>,
        path: &[Seg<'_>],
    ) -> Result<Vec<Splice>, EditError> {
        let mut keys = Vec::new();
        for s in rest {
            match s {
                Seg::Key(k) => keys.push(*k),
                Seg::Index(_) => return Err(EditError::NotFound(describe(path))),
            }
        }
        let Some(parent) = steps.last() else {
            return Err(EditError::NotFound(describe(path)));
        };
        let (mut splices, (at, nl_first), col) = match &parent.node.kind {
            Kind::Map(entries) if !entries.is_empty() => {
                self.check_path(layout, steps, parent.node)?;
                let ext = self.extent(layout, parent.node)?;
                let Some((k, _)) = entries.first() else {
                    return Err(EditError::NotFound(describe(path)));
                };
                let (_, col) = self.key_col(layout, k)?;
                let mut ce = layout.content_end(ext.start, ext.end, col);
                // A comment at the keys' column right below the last entry still reads as
                // part of the mapping: the new key goes after it.
                while layout.lines.get(ce + 1).is_some_and(|l| {
                    ce + 1 < ext.end && l.kind == LineKind::Comment && l.indent >= col
                }) {
                    ce += 1;
                }
                (vec![], layout.after_line(ce), col)
            }
            _ => self.open_empty(layout, steps, false)?,
        };
        let mut text = if nl_first {
            self.nl.to_string()
        } else {
            String::new()
        };
        text.push_str(&self.render_keys(col, &keys, &leaf)?);
        splices.push((at..at, text));
        Ok(splices)
    }

    /// The intended tree after `create`.
    fn intend_create(
        &self,
        intended: &mut Node,
        path: &[Seg<'_>],
        found: usize,
        leaf: Leaf<'_>,
    ) -> Result<(), EditError> {
        let mut sub = leaf.node();
        for seg in path[found + 1..].iter().rev() {
            if let Seg::Key(k) = seg {
                sub = node(Kind::Map(vec![(str_node(k), sub)]));
            }
        }
        let Some(Seg::Key(first)) = path.get(found) else {
            return Err(EditError::NotFound(describe(path)));
        };
        let Some(parent) = get_mut(intended, &path[..found]) else {
            return Err(EditError::NotFound(describe(path)));
        };
        match &mut parent.kind {
            Kind::Map(entries) => entries.push((str_node(first), sub)),
            Kind::Null => parent.kind = Kind::Map(vec![(str_node(first), sub)]),
            _ => return Err(EditError::NotFound(describe(path))),
        }
        Ok(())
    }

    fn render_keys(&self, col: usize, keys: &[&str], leaf: &Leaf<'_>) -> Result<String, EditError> {
        let mut out = String::new();
        let mut col = col;
        for (i, k) in keys.iter().enumerate() {
            out.push_str(&" ".repeat(col));
            out.push_str(&key_text(k));
            out.push(':');
            if i + 1 == keys.len()
                && let Leaf::Scalar(text, _) = leaf
            {
                out.push(' ');
                out.push_str(text);
            }
            out.push_str(self.nl);
            col += 2;
        }
        if let Leaf::List(item) = leaf {
            out.push_str(&(item.render)(col, 2)?);
        }
        Ok(out)
    }

    /// A list item `- k: "v"` at column `dash`, its further fields `off` columns right of it.
    fn render_item(&self, dash: usize, off: usize, fields: &[(&str, &str)]) -> String {
        let mut out = " ".repeat(dash);
        out.push_str("- ");
        out.push_str(&" ".repeat(off.saturating_sub(2)));
        if fields.is_empty() {
            out.push_str("{}");
            out.push_str(self.nl);
        }
        for (i, (k, v)) in fields.iter().enumerate() {
            if i > 0 {
                out.push_str(&" ".repeat(dash + off.max(2)));
            }
            out.push_str(&key_text(k));
            out.push_str(": ");
            out.push_str(&quote(v));
            out.push_str(self.nl);
        }
        out
    }

    /// Applies `splices`, re-parses, and keeps the result only if it is `intended`.
    fn commit(&mut self, mut splices: Vec<Splice>, intended: Node) -> Result<(), EditError> {
        splices.sort_by_key(|(r, _)| (r.start, r.end));
        let mut out = String::with_capacity(self.text.len() + 256);
        let mut at = 0;
        for (r, with) in &splices {
            let Some(keep) = self.text.get(at..r.start) else {
                return Err(EditError::Verify("overlapping or misplaced splices".into()));
            };
            if r.end < r.start || self.text.get(r.clone()).is_none() {
                return Err(EditError::Verify("a splice outside the text".into()));
            }
            out.push_str(keep);
            out.push_str(with);
            at = r.end;
        }
        out.push_str(self.text.get(at..).unwrap_or(""));
        if out.len() > MAX_BYTES {
            return unsupported(format!("a result over {MAX_BYTES} bytes"));
        }
        let tree = yaml::parse(&out).map_err(|e| {
            EditError::Verify(format!(
                "the edited text does not parse (line {}: {})",
                e.pos.line, e.message
            ))
        })?;
        if !same(&tree, &intended) {
            return Err(EditError::Verify(
                "the edited text does not read as the intended change".into(),
            ));
        }
        self.text = out;
        self.tree = tree;
        Ok(())
    }
}

/// The text of a scalar (or, with `key`, of a mapping key) that reads back as `n`: the text
/// it was read from when `raw` (its source) is given and that text is one line, else plain,
/// else double-quoted. Each candidate is parsed to be sure.
fn scalar_text(n: &Node, raw: Option<&str>, key: bool) -> Result<String, EditError> {
    let reads_as = |text: &str| {
        let doc = if key {
            format!("{text}: x\n")
        } else {
            format!("k: {text}\n")
        };
        match yaml::parse(&doc).map(|t| t.kind) {
            Ok(Kind::Map(entries)) if entries.len() == 1 => {
                let got = if key { &entries[0].0 } else { &entries[0].1 };
                same(got, n)
            }
            _ => false,
        }
    };
    let original = raw
        .zip(n.span())
        .and_then(|(src, span)| src.get(span))
        .map(str::trim)
        .filter(|t| !t.is_empty() && !t.contains(['\n', '\r']));
    let plain = match &n.kind {
        Kind::Null => Some("null".to_string()),
        Kind::Bool(b) => Some(b.to_string()),
        Kind::Int(i) => Some(i.to_string()),
        Kind::Float(f) if f.is_nan() => Some(".nan".into()),
        Kind::Float(f) if f.is_infinite() => Some(if *f > 0.0 { ".inf" } else { "-.inf" }.into()),
        Kind::Float(f) => Some(format!("{f:?}")),
        Kind::Str(s) => Some(s.clone()),
        Kind::Seq(_) | Kind::Map(_) => return unsupported("a collection where a scalar goes"),
    };
    let quoted = n.as_str().map(quote);
    original
        .map(str::to_string)
        .into_iter()
        .chain(plain)
        .chain(quoted)
        .find(|t| reads_as(t))
        .ok_or_else(|| {
            EditError::Unsupported(format!("a {} that cannot be written back", n.describe()))
        })
}

/// A list item in block style: `- ` at column `dash`, its content `off` columns right of it.
fn render_node_item(
    dash: usize,
    off: usize,
    n: &Node,
    raw: Option<&str>,
    nl: &str,
) -> Result<String, EditError> {
    let off = off.max(2);
    let mut out = " ".repeat(dash);
    out.push('-');
    out.push_str(&" ".repeat(off - 1));
    match &n.kind {
        Kind::Map(entries) if !entries.is_empty() => {
            render_entries(&mut out, dash + off, entries, raw, nl, true)?;
        }
        Kind::Map(_) => {
            out.push_str("{}");
            out.push_str(nl);
        }
        Kind::Seq(items) if items.is_empty() => {
            out.push_str("[]");
            out.push_str(nl);
        }
        Kind::Seq(_) => return unsupported("a list directly inside a list"),
        _ => {
            out.push_str(&scalar_text(n, raw, false)?);
            out.push_str(nl);
        }
    }
    Ok(out)
}

/// The entries of a block mapping at column `col`; the first continues the current line when
/// `inline` (after a list dash).
fn render_entries(
    out: &mut String,
    col: usize,
    entries: &[(Node, Node)],
    raw: Option<&str>,
    nl: &str,
    inline: bool,
) -> Result<(), EditError> {
    for (i, (k, v)) in entries.iter().enumerate() {
        if i > 0 || !inline {
            out.push_str(&" ".repeat(col));
        }
        match &k.kind {
            Kind::Str(s) if raw.is_none() => out.push_str(&key_text(s)),
            Kind::Str(_) | Kind::Int(_) | Kind::Bool(_) => {
                out.push_str(&scalar_text(k, raw, true)?)
            }
            _ => return unsupported(format!("a mapping key that is {}", k.describe())),
        }
        out.push(':');
        match &v.kind {
            Kind::Map(e) if !e.is_empty() => {
                out.push_str(nl);
                render_entries(out, col + 2, e, raw, nl, false)?;
            }
            Kind::Seq(items) if !items.is_empty() => {
                out.push_str(nl);
                for it in items {
                    out.push_str(&render_node_item(col + 2, 2, it, raw, nl)?);
                }
            }
            Kind::Map(_) => {
                out.push_str(" {}");
                out.push_str(nl);
            }
            Kind::Seq(_) => {
                out.push_str(" []");
                out.push_str(nl);
            }
            _ => {
                out.push(' ');
                out.push_str(&scalar_text(v, raw, false)?);
                out.push_str(nl);
            }
        }
    }
    Ok(())
}

/// Locks, exclusively and across processes, the directory that holds (or will hold)
/// `path`: its nearest existing ancestor directory. Every writer of configuration files
/// (the editors, `rackscope user`/`token`) takes it around its read-check-write, so two
/// writers of one file cannot interleave. The directory itself is locked (`flock` on its
/// descriptor), not a lock file beside the file: nothing is left behind in a directory
/// kept in Git, and the file, replaced by every write, could not carry the lock itself.
/// Released when the returned handle is dropped.
pub fn lock_dir_of(path: &Path) -> std::io::Result<std::fs::File> {
    lock_dir(&holding_dir(path))
}

/// Locks directory `dir` as `lock_dir_of` does; for a writer of several files, which takes
/// the `holding_dir` of each, sorted and without repeats, so that two writers cannot each
/// hold one and wait for the other.
pub fn lock_dir(dir: &Path) -> std::io::Result<std::fs::File> {
    let f = std::fs::File::open(dir)?;
    f.lock()?;
    Ok(f)
}

/// The nearest existing directory that holds `path`: its parent, or for a file in
/// directories still to be made, the closest ancestor that exists.
pub fn holding_dir(path: &Path) -> PathBuf {
    path.parent()
        .into_iter()
        .flat_map(Path::ancestors)
        .find(|d| d.as_os_str().is_empty() || d.is_dir())
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .to_path_buf()
}

/// Writes `text` to `path` atomically: a temporary file in the same directory, fsync, rename
/// over the target, fsync the directory. Keeps the original file's permission bits (a new
/// file gets 0600 when `private`, else 0644). The original is untouched on any failure.
/// A symbolic link is followed, so the file it points to is replaced, not the link.
pub fn write_atomic(path: &Path, text: &str, private: bool) -> std::io::Result<()> {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);

    let existing = match std::fs::metadata(path) {
        Ok(m) => Some(m),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(e),
    };
    let target = match existing {
        Some(_) => std::fs::canonicalize(path)?,
        None => path.to_path_buf(),
    };
    let dir = match target.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    let Some(name) = target.file_name() else {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "the path names no file",
        ));
    };
    let tmp = dir.join(format!(
        ".{}.{}-{}.tmp",
        name.to_string_lossy(),
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        // Never readable by others, even for the instant before the mode is set.
        opts.mode(0o600);
    }
    let file = opts.open(&tmp)?;
    let result = fill_and_rename(file, text, existing.as_ref(), private, &tmp, &target);
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    // The rename is durable once the directory is: best effort, since some filesystems refuse
    // to sync a directory and the file itself is already in place.
    #[cfg(unix)]
    if let Ok(d) = std::fs::File::open(&dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// The temporary file's part of `write_atomic`: contents, mode, fsync, rename.
fn fill_and_rename(
    mut file: std::fs::File,
    text: &str,
    existing: Option<&std::fs::Metadata>,
    private: bool,
    tmp: &Path,
    target: &Path,
) -> std::io::Result<()> {
    use std::io::Write;
    file.write_all(text.as_bytes())?;
    let perms = match existing {
        Some(m) => m.permissions(),
        None => new_file_permissions(&file, private)?,
    };
    file.set_permissions(perms)?;
    keep_owner(&file, existing)?;
    file.sync_all()?;
    drop(file);
    std::fs::rename(tmp, target)
}

/// The new file gets the old one's owner and group. Without it, `sudo rackscope token
/// revoke` would leave a users file root's, which the server (another user) can no longer
/// read: the revocation would silently never reach it. When the owner cannot be kept (not
/// root, someone else's file), the write is refused instead.
#[cfg(unix)]
fn keep_owner(file: &std::fs::File, existing: Option<&std::fs::Metadata>) -> std::io::Result<()> {
    use std::os::unix::fs::MetadataExt;
    let Some(m) = existing else {
        return Ok(());
    };
    let mine = file.metadata()?;
    if (mine.uid(), mine.gid()) == (m.uid(), m.gid()) {
        return Ok(());
    }
    std::os::unix::fs::fchown(file, Some(m.uid()), Some(m.gid())).map_err(|e| {
        std::io::Error::new(
            e.kind(),
            format!(
                "the file belongs to uid {} gid {}, and rewriting it would change that ({e}); \
                 run the command as its owner",
                m.uid(),
                m.gid()
            ),
        )
    })
}

#[cfg(not(unix))]
fn keep_owner(_: &std::fs::File, _: Option<&std::fs::Metadata>) -> std::io::Result<()> {
    Ok(())
}

#[cfg(unix)]
fn new_file_permissions(
    _file: &std::fs::File,
    private: bool,
) -> std::io::Result<std::fs::Permissions> {
    use std::os::unix::fs::PermissionsExt;
    Ok(std::fs::Permissions::from_mode(if private {
        0o600
    } else {
        0o644
    }))
}

#[cfg(not(unix))]
fn new_file_permissions(
    file: &std::fs::File,
    _private: bool,
) -> std::io::Result<std::fs::Permissions> {
    Ok(file.metadata()?.permissions())
}

#[cfg(test)]
mod tests;
