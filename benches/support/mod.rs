//! What the benchmarks share: process CPU time, and queries written without folding.
//! Included by each bench with `#[path]` (a bench is its own crate).

/// On-CPU time of every thread of the process, in nanoseconds.
pub(crate) fn process_cpu_ns() -> u64 {
    std::fs::read_dir("/proc/self/task")
        .map(|d| {
            d.filter_map(|t| t.ok())
                .filter_map(|t| std::fs::read_to_string(t.path().join("schedstat")).ok())
                .filter_map(|s| s.split_whitespace().next()?.parse::<u64>().ok())
                .sum()
        })
        .unwrap_or(0)
}

/// `expr` with every folded alternation written flat (`^(?:a|b|c)$`), as before folding:
/// whether the backend matches one form faster than the other.
pub(crate) fn flatten(expr: &str) -> String {
    use rackscope_core::telemetry::alternation::{expand, plain};
    let mut out = String::new();
    let mut rest = expr;
    while let Some(start) = rest.find("=~\"^(?:") {
        let from = start + "=~\"^(?:".len();
        out.push_str(&rest[..from]);
        rest = &rest[from..];
        let end = rest.find(")$\"").unwrap_or(rest.len());
        let body = rest[..end].replace("\\\\", "\\");
        match expand(&body, 1_000_000) {
            Some(ids) => {
                let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
                out.push_str(&plain(&ids).replace('\\', "\\\\"));
            }
            None => out.push_str(&rest[..end]),
        }
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}
