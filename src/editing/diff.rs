//! The line diff shown when a save meets a file that changed since it was opened: what is on
//! disk against what was submitted, in unified style, bounded so that a rewritten file
//! cannot make the answer huge.

/// Lines of context around each change.
const CONTEXT: usize = 3;
/// The middle of two files (after their common start and end) above which no longest
/// common subsequence is computed: everything there is shown as removed then added.
const MAX_CELLS: usize = 4_000_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Same,
    Del,
    Add,
}

/// A unified-style diff of `old` (on disk) and `new` (submitted): `@@ -a,b +c,d @@` hunks
/// with `-`, `+` and ` ` lines, at most `max_lines` lines, then one line saying how many
/// were left out. Empty when the texts have the same lines.
pub fn unified(old: &str, new: &str, max_lines: usize) -> String {
    let a: Vec<&str> = old.lines().collect();
    let b: Vec<&str> = new.lines().collect();
    let script = edit_script(&a, &b);
    if script.iter().all(|(op, _)| *op == Op::Same) {
        return String::new();
    }
    let mut out: Vec<String> = Vec::new();
    // Hunks: runs of changes with up to CONTEXT lines either side, merged when close.
    let changed: Vec<usize> = script
        .iter()
        .enumerate()
        .filter(|(_, (op, _))| *op != Op::Same)
        .map(|(i, _)| i)
        .collect();
    let mut groups: Vec<(usize, usize)> = Vec::new();
    for &i in &changed {
        let start = i.saturating_sub(CONTEXT);
        let end = (i + CONTEXT + 1).min(script.len());
        match groups.last_mut() {
            Some(last) if start <= last.1 => last.1 = end,
            _ => groups.push((start, end)),
        }
    }
    // Line numbers in the old and new text at each script position.
    let mut at_old = Vec::with_capacity(script.len() + 1);
    let mut at_new = Vec::with_capacity(script.len() + 1);
    let (mut o, mut n) = (0usize, 0usize);
    for (op, _) in &script {
        at_old.push(o);
        at_new.push(n);
        match op {
            Op::Same => {
                o += 1;
                n += 1;
            }
            Op::Del => o += 1,
            Op::Add => n += 1,
        }
    }
    at_old.push(o);
    at_new.push(n);
    for (start, end) in groups {
        let count = |op: Op| {
            script[start..end]
                .iter()
                .filter(|(x, _)| *x == op || *x == Op::Same)
                .count()
        };
        out.push(format!(
            "@@ -{},{} +{},{} @@",
            at_old[start] + 1,
            count(Op::Del),
            at_new[start] + 1,
            count(Op::Add)
        ));
        for (op, line) in &script[start..end] {
            let mark = match op {
                Op::Same => ' ',
                Op::Del => '-',
                Op::Add => '+',
            };
            out.push(format!("{mark}{line}"));
        }
    }
    if out.len() > max_lines {
        let left = out.len() - max_lines;
        out.truncate(max_lines);
        out.push(format!("… {left} more lines"));
    }
    let mut text = out.join("\n");
    text.push('\n');
    text
}

/// The lines of `a` and `b` as kept, removed and added: the common start and end kept, the
/// middle by longest common subsequence when small enough.
fn edit_script<'t>(a: &[&'t str], b: &[&'t str]) -> Vec<(Op, &'t str)> {
    let prefix = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    let suffix = a[prefix..]
        .iter()
        .rev()
        .zip(b[prefix..].iter().rev())
        .take_while(|(x, y)| x == y)
        .count();
    let (ma, mb) = (&a[prefix..a.len() - suffix], &b[prefix..b.len() - suffix]);
    let mut out: Vec<(Op, &str)> = a[..prefix].iter().map(|l| (Op::Same, *l)).collect();
    if ma.len().saturating_mul(mb.len()) <= MAX_CELLS {
        out.extend(lcs(ma, mb));
    } else {
        out.extend(ma.iter().map(|l| (Op::Del, *l)));
        out.extend(mb.iter().map(|l| (Op::Add, *l)));
    }
    out.extend(a[a.len() - suffix..].iter().map(|l| (Op::Same, *l)));
    out
}

fn lcs<'t>(a: &[&'t str], b: &[&'t str]) -> Vec<(Op, &'t str)> {
    let (n, m) = (a.len(), b.len());
    // table[i][j]: the length of the common subsequence of a[i..] and b[j..].
    let w = m + 1;
    let mut table = vec![0u32; (n + 1) * w];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            table[i * w + j] = if a[i] == b[j] {
                table[(i + 1) * w + j + 1] + 1
            } else {
                table[(i + 1) * w + j].max(table[i * w + j + 1])
            };
        }
    }
    let mut out = Vec::with_capacity(n + m);
    let (mut i, mut j) = (0, 0);
    while i < n && j < m {
        if a[i] == b[j] {
            out.push((Op::Same, a[i]));
            i += 1;
            j += 1;
        } else if table[(i + 1) * w + j] >= table[i * w + j + 1] {
            out.push((Op::Del, a[i]));
            i += 1;
        } else {
            out.push((Op::Add, b[j]));
            j += 1;
        }
    }
    out.extend(a[i..].iter().map(|l| (Op::Del, *l)));
    out.extend(b[j..].iter().map(|l| (Op::Add, *l)));
    out
}

#[cfg(test)]
mod tests {
    use super::unified;

    #[test]
    fn one_changed_line_is_one_hunk_with_context() {
        let old = "a\nb\nc\nd\ne\nf\ng\nh\n";
        let new = "a\nb\nc\nd\nE\nf\ng\nh\n";
        assert_eq!(
            unified(old, new, 200),
            "@@ -2,7 +2,7 @@\n b\n c\n d\n-e\n+E\n f\n g\n h\n"
        );
        assert_eq!(unified(old, old, 200), "");
    }

    #[test]
    fn the_diff_is_bounded() {
        let old: String = (0..1000).map(|i| format!("{i}\n")).collect();
        let new: String = (0..1000).map(|i| format!("x{i}\n")).collect();
        let d = unified(&old, &new, 200);
        assert_eq!(d.lines().count(), 201);
        assert!(d.ends_with("more lines\n"), "{d}");
    }
}
