//! Diagnostics: every problem found in a configuration, with its file, line and column.
//!
//! Loading never stops at the first problem; each stage pushes what it finds here so that
//! `rackscope check` can report everything at once, the way a compiler does.

use std::fmt;
use std::path::Path;
use std::sync::Arc;

/// How bad a diagnostic is. Errors make a configuration unusable; warnings do not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Error,
    Warning,
}

/// A position in a source file, 1-based. Line 0 means "the file as a whole".
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, serde::Serialize)]
pub struct Pos {
    pub line: u32,
    pub col: u32,
}

impl Pos {
    pub const FILE: Pos = Pos { line: 0, col: 0 };
    pub fn new(line: u32, col: u32) -> Pos {
        Pos { line, col }
    }
}

/// A place in the configuration: a file and a position in it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
pub struct Span {
    pub file: Arc<Path>,
    #[serde(flatten)]
    pub pos: Pos,
}

impl Span {
    pub fn new(file: &Arc<Path>, pos: Pos) -> Span {
        Span {
            file: Arc::clone(file),
            pos,
        }
    }
    pub fn file_only(file: &Arc<Path>) -> Span {
        Span::new(file, Pos::FILE)
    }
}

impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.pos.line == 0 {
            write!(f, "{}", self.file.display())
        } else {
            write!(
                f,
                "{}:{}:{}",
                self.file.display(),
                self.pos.line,
                self.pos.col
            )
        }
    }
}

/// One problem in the configuration.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Diagnostic {
    pub level: Level,
    /// A stable short name for the kind of problem, for CI filters and tests.
    pub code: &'static str,
    #[serde(flatten)]
    pub span: Span,
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let level = match self.level {
            Level::Error => "error",
            Level::Warning => "warning",
        };
        write!(f, "{}: {level}[{}]: {}", self.span, self.code, self.message)
    }
}

/// The diagnostics gathered while loading one configuration.
#[derive(Debug, Default, Clone)]
pub struct Diagnostics {
    items: Vec<Diagnostic>,
}

impl Diagnostics {
    pub fn push(&mut self, d: Diagnostic) {
        self.items.push(d);
    }
    pub fn error(&mut self, code: &'static str, span: Span, message: impl Into<String>) {
        self.push(Diagnostic {
            level: Level::Error,
            code,
            span,
            message: message.into(),
        });
    }
    pub fn warning(&mut self, code: &'static str, span: Span, message: impl Into<String>) {
        self.push(Diagnostic {
            level: Level::Warning,
            code,
            span,
            message: message.into(),
        });
    }
    pub fn extend(&mut self, other: impl IntoIterator<Item = Diagnostic>) {
        self.items.extend(other);
    }
    pub fn has_errors(&self) -> bool {
        self.items.iter().any(|d| d.level == Level::Error)
    }
    pub fn errors(&self) -> impl Iterator<Item = &Diagnostic> {
        self.items.iter().filter(|d| d.level == Level::Error)
    }
    pub fn warnings(&self) -> impl Iterator<Item = &Diagnostic> {
        self.items.iter().filter(|d| d.level == Level::Warning)
    }
    pub fn iter(&self) -> impl Iterator<Item = &Diagnostic> {
        self.items.iter()
    }
    pub fn len(&self) -> usize {
        self.items.len()
    }
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
    /// Files first, then positions: the order a reader walks the configuration in.
    pub fn sort(&mut self) {
        self.items.sort_by(|a, b| {
            (&a.span.file, a.span.pos, a.level, &a.message).cmp(&(
                &b.span.file,
                b.span.pos,
                b.level,
                &b.message,
            ))
        });
        self.items.dedup();
    }
    pub fn into_vec(self) -> Vec<Diagnostic> {
        self.items
    }
}

/// Renders a diagnostic like a compiler: the header line, then the offending source line
/// with a caret under the column. `source` is the text of the diagnostic's file, when known.
pub fn render(d: &Diagnostic, source: Option<&str>) -> String {
    let mut out = format!("{d}\n");
    if let (Some(src), true) = (source, d.span.pos.line > 0)
        && let Some(text) = src.lines().nth(d.span.pos.line as usize - 1)
    {
        let gutter = d.span.pos.line.to_string();
        let pad = " ".repeat(gutter.len());
        let caret_at = text
            .chars()
            .take(d.span.pos.col.saturating_sub(1) as usize)
            .map(|c| if c == '\t' { '\t' } else { ' ' })
            .collect::<String>();
        out.push_str(&format!(
            "{pad} |\n{gutter} | {text}\n{pad} | {caret_at}^\n"
        ));
    }
    out
}
