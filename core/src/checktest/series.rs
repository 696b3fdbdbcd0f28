//! The input series of a check test: a selector (`metric{label="value"}`) and promtool's
//! compact value notation (`1 1 0`, `0+10x5`, `_`, `_x3`, `stale`).

/// One sample of an input series at one step.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Step {
    Value(f64),
    /// No sample at this step (the last one stays visible within Prometheus's lookback).
    Missing,
    /// The series ends here until its next value.
    Stale,
}

/// The most steps one series may expand to: a test's input is meant to be read.
pub const MAX_STEPS: u64 = 100_000;

/// Expands promtool's notation. Errors name the token, and its byte offset in `text`.
pub fn expand(text: &str) -> Result<Vec<Step>, (usize, String)> {
    let mut out = Vec::new();
    let base = text.as_ptr() as usize;
    for token in text.split_whitespace() {
        let at = token.as_ptr() as usize - base;
        let err = |why: &str| (at, format!("`{token}`: {why}"));
        let (head, times) = match token.rsplit_once('x') {
            // `0x1f` is not a repetition, nor is `x` inside a word such as `Inf`.
            Some((h, n))
                if !h.is_empty() && n.chars().all(|c| c.is_ascii_digit()) && !n.is_empty() =>
            {
                let n: u64 = n
                    .parse()
                    .map_err(|_| err("the repeat count is too large"))?;
                (h, Some(n))
            }
            _ => (token, None),
        };
        let grow = |out: &mut Vec<Step>, n: u64| -> Result<(), (usize, String)> {
            if out.len() as u64 + n > MAX_STEPS {
                return Err(err(&format!("a series holds at most {MAX_STEPS} steps")));
            }
            Ok(())
        };
        match (head, times) {
            ("_", n) => {
                let n = n.unwrap_or(1);
                grow(&mut out, n)?;
                out.extend((0..n).map(|_| Step::Missing));
            }
            ("stale", None) => out.push(Step::Stale),
            ("stale", Some(_)) => return Err(err("`stale` does not repeat")),
            (h, None) => {
                grow(&mut out, 1)?;
                out.push(Step::Value(number(h).ok_or_else(|| err("not a number"))?));
            }
            (h, Some(n)) => {
                // `a+bxn` / `a-bxn`: n+1 values from a, by b; `axn`: a, n+1 times.
                let split = h
                    .char_indices()
                    .skip(1)
                    .find(|&(i, c)| (c == '+' || c == '-') && !h[..i].ends_with(['e', 'E']))
                    .map(|(i, _)| i);
                let (a, b) = match split {
                    Some(i) => (&h[..i], &h[i..]),
                    None => (h, "0"),
                };
                let a = number(a).ok_or_else(|| err("the start is not a number"))?;
                let b = number(b.trim_start_matches('+'))
                    .ok_or_else(|| err("the step is not a number"))?;
                grow(&mut out, n.saturating_add(1))?;
                out.extend((0..=n).map(|k| Step::Value(a + b * k as f64)));
            }
        }
    }
    if out.is_empty() {
        return Err((0, "no values".into()));
    }
    Ok(out)
}

fn number(s: &str) -> Option<f64> {
    match s {
        "NaN" => Some(f64::NAN),
        "Inf" | "+Inf" => Some(f64::INFINITY),
        "-Inf" => Some(f64::NEG_INFINITY),
        _ => s.parse::<f64>().ok().filter(|v| v.is_finite()),
    }
}

/// A series selector with its labels, as promtool's tests write it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selector {
    pub name: String,
    pub labels: Vec<(String, String)>,
}

fn name_char(c: char, first: bool) -> bool {
    c.is_ascii_alphabetic() || c == '_' || c == ':' || (!first && c.is_ascii_digit())
}

/// Parses `metric{a="b", c="d"}` (labels optional). Errors carry a byte offset.
pub fn selector(text: &str) -> Result<Selector, (usize, String)> {
    let s = text.trim_end();
    let lead = s.len() - s.trim_start().len();
    let s = s.trim_start();
    let end = s
        .char_indices()
        .find(|&(i, c)| !name_char(c, i == 0))
        .map_or(s.len(), |(i, _)| i);
    if end == 0 {
        return Err((lead, "a series starts with its metric name".into()));
    }
    let name = s[..end].to_owned();
    let mut labels = Vec::new();
    let rest = &s[end..];
    if rest.is_empty() {
        return Ok(Selector { name, labels });
    }
    let at = |i: usize| lead + end + i;
    let Some(body) = rest.strip_prefix('{') else {
        return Err((at(0), "expected `{` after the metric name".into()));
    };
    let mut chars = body.char_indices().peekable();
    loop {
        while chars
            .next_if(|(_, c)| c.is_whitespace() || *c == ',')
            .is_some()
        {}
        let Some(&(i, c)) = chars.peek() else {
            return Err((at(rest.len()), "the labels are not closed with `}`".into()));
        };
        if c == '}' {
            chars.next();
            if let Some(&(j, _)) = chars.peek() {
                return Err((at(j + 1), "text after the closing `}`".into()));
            }
            break;
        }
        let mut key = String::new();
        while let Some((_, c)) = chars.next_if(|&(_, c)| name_char(c, false)) {
            key.push(c);
        }
        if key.is_empty() || key.starts_with(|c: char| c.is_ascii_digit()) {
            return Err((at(i + 1), "expected a label name".into()));
        }
        while chars.next_if(|(_, c)| c.is_whitespace()).is_some() {}
        if chars.next().map(|(_, c)| c) != Some('=') {
            return Err((at(i + 1), format!("expected `=` after `{key}`")));
        }
        while chars.next_if(|(_, c)| c.is_whitespace()).is_some() {}
        if chars.next().map(|(_, c)| c) != Some('"') {
            return Err((
                at(i + 1),
                format!("the value of `{key}` is written in double quotes"),
            ));
        }
        let mut value = String::new();
        loop {
            match chars.next() {
                None => return Err((at(i + 1), format!("the value of `{key}` is not closed"))),
                Some((_, '"')) => break,
                Some((_, '\\')) => match chars.next() {
                    Some((_, 'n')) => value.push('\n'),
                    Some((_, c)) => value.push(c),
                    None => return Err((at(i + 1), format!("the value of `{key}` is not closed"))),
                },
                Some((_, c)) => value.push(c),
            }
        }
        if labels.iter().any(|(k, _)| k == &key) {
            return Err((at(i + 1), format!("label `{key}` is given twice")));
        }
        labels.push((key, value));
    }
    labels.sort();
    Ok(Selector { name, labels })
}
