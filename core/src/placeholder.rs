//! The one placeholder lexer of PromQL expressions (`$instances`, `$rack_id`, and the metrics
//! library's braced `{instance}`), each placeholder with the literal it sits in, and the one
//! substitution built on it: values escaped for that literal.

use std::borrow::Cow;

/// The literal a placeholder sits in, which decides how a value is escaped there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Literal {
    /// Outside any string.
    Code,
    /// In a `"…"` or `'…'` string.
    Quoted(u8),
    /// In a `` `…` `` string, which has no escapes.
    Raw,
}

/// One placeholder of an expression.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Placeholder<'e> {
    /// Its bytes in the expression, `$` or braces included.
    pub start: usize,
    pub end: usize,
    /// Its name, without `$` or braces; empty for a lone `$`.
    pub name: &'e str,
    pub literal: Literal,
    /// Written `{name}` rather than `$name`.
    pub braced: bool,
    /// Right after a backslash in a quoted string, where the `$` is escaped: reported, never
    /// substituted.
    pub escaped: bool,
}

/// The placeholders of an expression, in order.
#[derive(Debug, Clone)]
pub struct Lexer<'e> {
    expr: &'e str,
    pos: usize,
    literal: Literal,
    braced: bool,
}

/// `$word` placeholders, the checks' style.
pub fn dollars(expr: &str) -> Lexer<'_> {
    Lexer {
        expr,
        pos: 0,
        literal: Literal::Code,
        braced: false,
    }
}

/// `$word` and `{word}` placeholders, the metrics library's two styles.
pub fn with_braces(expr: &str) -> Lexer<'_> {
    Lexer {
        braced: true,
        ..dollars(expr)
    }
}

fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

impl<'e> Lexer<'e> {
    /// The placeholder starting at `at`, if one does.
    fn at(&self, at: usize, escaped: bool) -> Option<Placeholder<'e>> {
        let bytes = self.expr.as_bytes();
        let word_end = |from: usize| {
            from + bytes[from..]
                .iter()
                .position(|b| !is_word(*b))
                .unwrap_or(bytes.len() - from)
        };
        let (name_start, name_end, end, braced) = match bytes[at] {
            b'$' => {
                let name_end = word_end(at + 1);
                (at + 1, name_end, name_end, false)
            }
            b'{' if self.braced => {
                let name_end = word_end(at + 1);
                if name_end == at + 1 || bytes.get(name_end) != Some(&b'}') {
                    return None;
                }
                (at + 1, name_end, name_end + 1, true)
            }
            _ => return None,
        };
        Some(Placeholder {
            start: at,
            end,
            name: &self.expr[name_start..name_end],
            literal: self.literal,
            braced,
            escaped,
        })
    }
}

impl<'e> Iterator for Lexer<'e> {
    type Item = Placeholder<'e>;

    fn next(&mut self) -> Option<Placeholder<'e>> {
        let bytes = self.expr.as_bytes();
        while self.pos < bytes.len() {
            let at = self.pos;
            let b = bytes[at];
            self.pos += 1;
            match (self.literal, b) {
                (Literal::Code, b'"' | b'\'') => self.literal = Literal::Quoted(b),
                (Literal::Code, b'`') => self.literal = Literal::Raw,
                (Literal::Quoted(q), _) if b == q => self.literal = Literal::Code,
                (Literal::Raw, b'`') => self.literal = Literal::Code,
                (Literal::Quoted(_), b'\\') => {
                    // The escaped character never closes the string nor starts a placeholder
                    // that would be substituted.
                    if at + 1 < bytes.len() {
                        if let Some(p) = self.at(at + 1, true) {
                            self.pos = p.end;
                            return Some(p);
                        }
                        self.pos = at + 2;
                    }
                }
                _ => {
                    if let Some(p) = self.at(at, false) {
                        self.pos = p.end;
                        return Some(p);
                    }
                }
            }
        }
        None
    }
}

impl Placeholder<'_> {
    /// The placeholder as written in `expr`.
    pub fn text<'e>(&self, expr: &'e str) -> &'e str {
        &expr[self.start..self.end]
    }
}

/// Copies `value` into `out`, escaped for the literal it lands in: backslashes and the quote
/// doubled in `"…"` and `'…'`, and backticks (which a raw string cannot hold) as `\x60`.
fn push_escaped(out: &mut String, value: &str, literal: Literal) {
    match literal {
        Literal::Quoted(q) => {
            for ch in value.chars() {
                if ch == '\\' || ch == char::from(q) {
                    out.push('\\');
                }
                out.push(ch);
            }
        }
        Literal::Raw => out.push_str(&value.replace('`', "\\x60")),
        Literal::Code => out.push_str(value),
    }
}

/// The one substitution: each placeholder for which `value` answers is replaced, escaped
/// for its literal; the rest of the expression is copied as written.
pub fn replace<'e, 'v>(
    expr: &'e str,
    lexer: Lexer<'e>,
    mut value: impl FnMut(&Placeholder<'e>) -> Option<Cow<'v, str>>,
) -> String {
    let mut out = String::with_capacity(expr.len() + 64);
    let mut copied = 0;
    for p in lexer {
        if let Some(v) = value(&p) {
            out.push_str(&expr[copied..p.start]);
            push_escaped(&mut out, &v, p.literal);
            copied = p.end;
        }
    }
    out.push_str(&expr[copied..]);
    out
}

/// Replaces `$word` placeholders in a PromQL expression, `value` answering for the whole
/// `$word`, each value escaped for the string literal it lands in.
pub fn substitute<'r>(expr: &str, mut value: impl FnMut(&str) -> Option<&'r str>) -> String {
    replace(expr, dollars(expr), |p| {
        if p.escaped {
            return None;
        }
        value(p.text(expr)).map(Cow::Borrowed)
    })
}

/// The length `value` takes once escaped for `literal`, as `push_escaped` writes it.
fn escaped_len(value: &str, literal: Literal) -> usize {
    match literal {
        Literal::Quoted(q) => value.len() + value.bytes().filter(|&b| b == b'\\' || b == q).count(),
        Literal::Raw => value.len() + 3 * value.bytes().filter(|&b| b == b'`').count(),
        Literal::Code => value.len(),
    }
}

/// As `substitute`, for text from a request: the length of the result is added up before
/// anything is copied, and `Err(length)` is returned past `max`, so that a short expression
/// repeating a placeholder with a long value cannot make the server allocate gigabytes.
pub fn substitute_bounded<'r>(
    expr: &str,
    mut value: impl FnMut(&str) -> Option<&'r str>,
    max: usize,
) -> Result<String, usize> {
    let mut len = expr.len();
    for p in dollars(expr) {
        if p.escaped {
            continue;
        }
        if let Some(v) = value(p.text(expr)) {
            len = len
                .saturating_sub(p.end - p.start)
                .saturating_add(escaped_len(v, p.literal));
            if len > max {
                return Err(len);
            }
        }
    }
    Ok(substitute(expr, value))
}

/// Whether an expression uses a placeholder (`$racks`) where substitution would fill it.
pub fn uses(expr: &str, placeholder: &str) -> bool {
    dollars(expr).any(|p| !p.escaped && p.text(expr) == placeholder)
}

/// The placeholders a check expression may use, each replaced by an anchored alternation
/// of ids when the planner builds queries.
pub const CHECK_PLACEHOLDERS: [&str; 4] = ["$instances", "$chassis", "$racks", "$jobs"];

/// The placeholders filled with target ids, one per check scope.
pub const ID_PLACEHOLDERS: [&str; 3] = ["$instances", "$chassis", "$racks"];

/// The id placeholder of a scope: the one its checks' targets fill.
pub fn of_scope(scope: crate::model::checks::Scope) -> &'static str {
    use crate::model::checks::Scope;
    match scope {
        Scope::Node => ID_PLACEHOLDERS[0],
        Scope::Chassis => ID_PLACEHOLDERS[1],
        Scope::Rack => ID_PLACEHOLDERS[2],
    }
}

/// Replaces every check placeholder by a harmless word so the expression can be parsed.
pub fn with_sample_ids(expr: &str) -> String {
    replace(expr, dollars(expr), |p| {
        CHECK_PLACEHOLDERS
            .contains(&p.text(expr))
            .then_some(Cow::Borrowed("sample"))
    })
}

/// Replaces every metrics-library placeholder (`$instance`, `{instance}`, `$rack_id`…) by
/// a harmless word so the expression can be parsed.
pub fn with_sample_metric_values(expr: &str) -> String {
    replace(expr, with_braces(expr), |p| {
        (!p.name.is_empty()).then_some(Cow::Borrowed("sample"))
    })
}

/// `$words` in an expression that are not check placeholders (typos like `$instance`),
/// each once.
pub fn unknown_placeholders(expr: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for p in dollars(expr).filter(|p| !p.name.is_empty()) {
        let word = p.text(expr);
        if !CHECK_PLACEHOLDERS.contains(&word) && !out.iter().any(|w| w == word) {
            out.push(word.to_owned());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn substitution_escapes_for_the_literal() {
        let re = r"^(?:node\.1)$";
        let f = |p: &str| (p == "$instances").then_some(re);
        assert_eq!(
            substitute(r#"up{instance=~"$instances"}"#, f),
            r#"up{instance=~"^(?:node\\.1)$"}"#
        );
        assert_eq!(
            substitute(r#"up{instance=~`$instances`}"#, f),
            r#"up{instance=~`^(?:node\.1)$`}"#
        );
        assert_eq!(
            substitute(r#"up{instance=~'$instances', x="\"$y"}"#, f),
            r#"up{instance=~'^(?:node\\.1)$', x="\"$y"}"#
        );
        // A longer word is not the placeholder, and an escaped `$` is not one.
        assert_eq!(
            substitute(r#"x{a="$instances_x"}"#, f),
            r#"x{a="$instances_x"}"#
        );
        assert_eq!(
            substitute(r#"x{a="\$instances"}"#, f),
            r#"x{a="\$instances"}"#
        );
    }

    #[test]
    fn both_styles_are_lexed_with_their_literal() {
        let e = r#"a{x="{instance}", y=`$rack_id`} + $z + {job="j"}"#;
        let found: Vec<(&str, Literal, bool)> = with_braces(e)
            .map(|p| (p.name, p.literal, p.braced))
            .collect();
        assert_eq!(
            found,
            [
                ("instance", Literal::Quoted(b'"'), true),
                ("rack_id", Literal::Raw, false),
                ("z", Literal::Code, false),
            ]
        );
        assert_eq!(dollars(e).count(), 2, "braces only in the metrics' style");
    }

    #[test]
    fn unknown_placeholders_are_listed_once() {
        assert_eq!(
            unknown_placeholders(r#"up{a="$instance", b="$instances", c="$instance"} $"#),
            ["$instance"]
        );
    }
    #[test]
    fn bounded_substitution_adds_up_the_result_before_copying() {
        let vars = |w: &str| (w == "$a").then_some(r#"x"y"#);
        let expr = r#"up{a="$a"} + $a"#;
        let full = substitute(expr, vars);
        assert_eq!(substitute_bounded(expr, vars, full.len()).unwrap(), full);
        assert_eq!(
            substitute_bounded(expr, vars, full.len() - 1),
            Err(full.len())
        );
        let many = "$a ".repeat(20_000);
        let long = "v".repeat(200_000);
        assert!(
            substitute_bounded(&many, |w| (w == "$a").then_some(long.as_str()), 65_536).is_err()
        );
    }
}
