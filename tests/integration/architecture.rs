//! The invariants of ARCHITECTURE.md that a reading of the tree can check: crate
//! dependencies, module layering without cycles, a doc line opening every file, and the
//! concepts that must live in one module. A failure names the file that broke the rule.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::support::root;

/// Every `.rs` file below `dir`, skipping build output.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            let name = e.file_name().to_string_lossy().into_owned();
            if p.is_dir() {
                if name != "target" && !name.starts_with('.') {
                    stack.push(p);
                }
            } else if name.ends_with(".rs") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// Whether a file is test code (a `tests` module file or a file of tests).
fn is_test_file(rel: &Path) -> bool {
    let name = rel.file_name().and_then(|n| n.to_str()).unwrap_or("");
    name.starts_with("tests") || name.ends_with("_tests.rs")
}

/// The source before its `#[cfg(test)]` module, so tests may reach across layers.
fn non_test_source(text: &str) -> &str {
    text.find("#[cfg(test)]\nmod ").map_or(text, |i| &text[..i])
}

/// The top-level module a file of a crate's `src/` belongs to (`telemetry` for
/// `telemetry/eval.rs`), or `None` for the crate root.
fn top_module(rel: &Path) -> Option<String> {
    let first = rel.components().next()?.as_os_str().to_str()?;
    let top = first.strip_suffix(".rs").unwrap_or(first);
    (!matches!(top, "lib" | "main")).then(|| top.to_owned())
}

/// Edges `module -> module` of one crate from its `crate::x` paths, test code left out.
fn module_graph(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let path = regex::Regex::new(r"\bcrate::(\w+)").unwrap();
    let group = regex::Regex::new(r"(?s)\buse crate::\{(.*?)\}").unwrap();
    let name = regex::Regex::new(r"(?:^|,)\s*(\w+)").unwrap();
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in rust_files(src) {
        let rel = file.strip_prefix(src).unwrap();
        let Some(from) = top_module(rel) else {
            continue;
        };
        if is_test_file(rel) {
            continue;
        }
        let text = std::fs::read_to_string(&file).unwrap();
        let text = non_test_source(&text);
        let mut to: BTreeSet<String> = path.captures_iter(text).map(|c| c[1].to_owned()).collect();
        for g in group.captures_iter(text) {
            to.extend(name.captures_iter(&g[1]).map(|c| c[1].to_owned()));
        }
        to.remove(&from);
        graph.entry(from).or_default().extend(to);
    }
    graph
}

/// A cycle of the graph, if it has one (depth-first search with colours).
fn find_cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|n| n == node) {
            let mut cycle = path[at..].to_vec();
            cycle.push(node.to_owned());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_owned());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(c) = visit(next, graph, path, done) {
                return Some(c);
            }
        }
        path.pop();
        done.insert(node.to_owned());
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|n| visit(n, graph, &mut Vec::new(), &mut done))
}

#[test]
fn the_module_graph_of_core_and_of_the_binary_library_has_no_cycle() {
    for src in ["core/src", "src"] {
        let graph = module_graph(&root().join(src));
        assert!(graph.len() > 3, "{src}: no modules found");
        if let Some(cycle) = find_cycle(&graph) {
            panic!("{src}: module cycle {}", cycle.join(" -> "));
        }
    }
}

#[test]
fn the_cycle_finder_finds_a_cycle() {
    let graph: BTreeMap<String, BTreeSet<String>> = [
        ("a", &["b"][..]),
        ("b", &["c"][..]),
        ("c", &["a"][..]),
        ("d", &[][..]),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.iter().map(|s| (*s).to_owned()).collect()))
    .collect();
    assert_eq!(find_cycle(&graph).unwrap(), ["a", "b", "c", "a"]);
}

/// The packages `name` depends on, transitively, from Cargo.lock (all targets and
/// platforms, so an over-approximation: what it reports is at most what could be built).
fn locked_dependencies(name: &str) -> BTreeSet<String> {
    let lock: toml_lock::Lock =
        toml_lock::parse(&std::fs::read_to_string(root().join("Cargo.lock")).unwrap());
    let mut seen = BTreeSet::new();
    let mut todo = vec![name.to_owned()];
    while let Some(p) = todo.pop() {
        for dep in lock.get(&p).into_iter().flatten() {
            if seen.insert(dep.clone()) {
                todo.push(dep.clone());
            }
        }
    }
    seen
}

/// Just enough of Cargo.lock: each package's name and the names of its dependencies.
mod toml_lock {
    use std::collections::BTreeMap;

    pub(super) type Lock = BTreeMap<String, Vec<String>>;

    pub(super) fn parse(text: &str) -> Lock {
        let mut lock = Lock::new();
        for block in text.split("[[package]]").skip(1) {
            let mut name = None;
            let mut deps = Vec::new();
            let mut in_deps = false;
            for line in block.lines() {
                let line = line.trim();
                if let Some(v) = line.strip_prefix("name = ") {
                    name = Some(v.trim_matches('"').to_owned());
                } else if line.starts_with("dependencies = [") {
                    in_deps = true;
                } else if in_deps && line == "]" {
                    in_deps = false;
                } else if in_deps {
                    // `"serde 1.0.228",` or `"serde",`: the name is the first word.
                    let dep = line.trim_matches(|c| c == '"' || c == ',');
                    deps.push(dep.split(' ').next().unwrap_or(dep).to_owned());
                }
            }
            if let Some(n) = name {
                lock.entry(n).or_default().extend(deps);
            }
        }
        lock
    }
}

#[test]
fn core_depends_on_nothing_that_speaks_http_or_html() {
    let deps = locked_dependencies("rackscope-core");
    assert!(deps.contains("serde"), "Cargo.lock not read: {deps:?}");
    for forbidden in [
        "axum",
        "hyper",
        "reqwest",
        "tera",
        "h2",
        "tower",
        "rackscope",
    ] {
        assert!(
            !deps.contains(forbidden),
            "rackscope-core depends on {forbidden}"
        );
    }
    let prom = locked_dependencies("rackscope-prometheus");
    assert!(prom.contains("reqwest"), "the client is where HTTP lives");
}

#[test]
fn every_rust_file_opens_with_a_doc_line() {
    let mut missing = Vec::new();
    for dir in [
        "core",
        "src",
        "importers",
        "plugins",
        "prometheus",
        "tests",
        "benches",
        "fuzz/fuzz_targets",
    ] {
        for file in rust_files(&root().join(dir)) {
            let text = std::fs::read_to_string(&file).unwrap();
            let first = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
            if !first.starts_with("//!") {
                missing.push(file.strip_prefix(root()).unwrap().display().to_string());
            }
        }
    }
    assert!(
        missing.is_empty(),
        "files without a `//!` first line: {missing:#?}"
    );
}

/// The non-test source of every `.rs` file below `dir` (relative to the root), by path.
fn sources(dir: &str) -> Vec<(String, String)> {
    rust_files(&root().join(dir))
        .into_iter()
        .filter(|f| !is_test_file(f.strip_prefix(root().join(dir)).unwrap()))
        .map(|f| {
            let text = std::fs::read_to_string(&f).unwrap();
            let rel = f.strip_prefix(root()).unwrap().display().to_string();
            (rel, non_test_source(&text).to_owned())
        })
        .collect()
}

#[test]
fn planning_binding_and_evaluation_never_read_the_clock() {
    let pure = [
        "core/src/bind.rs",
        "core/src/config.rs",
        "core/src/placeholder.rs",
        "core/src/telemetry/plan.rs",
        "core/src/telemetry/eval.rs",
        "core/src/telemetry/outcome.rs",
        "core/src/telemetry/rollup.rs",
    ];
    let mut read = 0;
    for (path, text) in sources("core/src") {
        if pure.contains(&path.as_str()) {
            read += 1;
            for clock in ["SystemTime::now", "Instant::now", "tokio::"] {
                assert!(!text.contains(clock), "{path} uses {clock}");
            }
        }
    }
    assert_eq!(read, pure.len(), "a file of the list moved: update it");
}

#[test]
fn only_server_live_sends_queries_for_requests() {
    let sends = regex::Regex::new(r"\.(instant_cached|instant_now|range|adhoc)\(").unwrap();
    let mut seen = false;
    for (path, text) in sources("src") {
        if path == "src/server/live.rs" {
            seen = sends.is_match(&text);
        } else if path.starts_with("src/server") || path.starts_with("src/ui") {
            assert!(
                !sends.is_match(&text),
                "{path} sends a query to Prometheus; requests go through src/server/live.rs"
            );
        }
    }
    assert!(
        seen,
        "src/server/live.rs sends no query: the pattern is out of date"
    );
}

#[test]
fn pages_never_read_the_json_wire_types() {
    let ui = sources("src/ui");
    assert!(ui.len() > 10, "src/ui not read");
    for (path, text) in ui {
        assert!(
            !text.contains("server::wire") && !text.contains("serde_json::Value"),
            "{path} reads the API's JSON shapes; pages build from core::read"
        );
    }
}

/// Routes are mounted only through `server::routes::Routes`, which takes each route's role
/// in the same call: a `Router::route` anywhere else would mount a route the policy does
/// not know (the gate would refuse it, but the test says where).
#[test]
fn routes_are_declared_with_their_role() {
    let mounts = regex::Regex::new(r"(Router::new\(\)|\.nest\(|\.route_service\()").unwrap();
    let mut routes_file = false;
    for (path, text) in sources("src") {
        if path == "src/server/routes.rs" {
            routes_file = text.contains(".route(path, handler)");
            continue;
        }
        assert!(
            !mounts.is_match(&text),
            "{path} builds routes outside server::routes::Routes"
        );
    }
    assert!(
        routes_file,
        "src/server/routes.rs no longer mounts routes: update the test"
    );
}
