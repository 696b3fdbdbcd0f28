//! The entry points of the fuzz targets in `fuzz/`, kept here so that ordinary tests can
//! replay seed inputs through exactly the same code on a stable toolchain.

use std::path::Path;
use std::sync::Arc;

use crate::diag::Diagnostics;
use crate::model::app::AppConfig;
use crate::model::catalog::{DeviceTemplate, RackComponentTemplate, RackTemplate};
use crate::model::checks::CheckDef;
use crate::model::metrics::MetricDef;
use crate::model::topology::{AisleFile, DeviceDef, RackDef, RoomDef, SiteDef};
use crate::yaml::{self, Ctx, Node};

/// Parses arbitrary bytes as a configuration file and decodes the tree as every kind of
/// configuration object. Must never panic, whatever the input.
pub fn config_file(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(node) = yaml::parse(text) else { return };
    let file: Arc<Path> = Arc::from(Path::new("fuzz.yaml"));
    let ctx = Ctx::new(text, &file);
    decode_everything(&node, &ctx, &file);
    if let Some(items) = node.get("devices").and_then(Node::seq) {
        for item in items {
            decode_everything(item, &ctx, &file);
        }
    }
}

fn decode_everything(node: &Node, ctx: &Ctx<'_>, file: &Arc<Path>) {
    let _ = yaml::decode::<AppConfig>(node, ctx);
    let _ = yaml::decode::<SiteDef>(node, ctx);
    let _ = yaml::decode::<RoomDef>(node, ctx);
    let _ = yaml::decode::<AisleFile>(node, ctx);
    let _ = yaml::decode::<RackDef>(node, ctx);
    if let Ok(d) = yaml::decode::<DeviceDef>(node, ctx)
        && let Some(spec) = d.instance
    {
        let _ = crate::load::expand_instances(&spec.value);
    }
    let _ = yaml::decode::<DeviceTemplate>(node, ctx);
    let _ = yaml::decode::<RackTemplate>(node, ctx);
    let _ = yaml::decode::<RackComponentTemplate>(node, ctx);
    let _ = yaml::decode::<MetricDef>(node, ctx);
    if let Ok(c) = yaml::decode::<CheckDef>(node, ctx) {
        let mut diags = Diagnostics::default();
        crate::validate::check(&c, file, &mut diags);
    }
    let _ = ctx.take_warnings();
}

/// The expression guard in front of the PromQL parser: whatever passes it must parse, or
/// fail to, on a thread with a 256 KiB stack (a blocking-pool thread has 2 MiB). An error
/// names what went wrong; a stack overflow aborts the fuzzer, which is the crash it hunts.
pub fn expr_guard(data: &[u8]) -> Result<(), String> {
    let Ok(text) = std::str::from_utf8(data) else {
        return Ok(());
    };
    if crate::promql::guard(text).is_err() {
        return Ok(());
    }
    let text = text.to_owned();
    std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(move || {
            let _ = crate::promql::parse(&text);
        })
        .map_err(|e| format!("no thread: {e}"))?
        .join()
        .map_err(|_| "the parser panicked on an expression the guard let through".to_owned())
}

/// Expands arbitrary text as an instance pattern; when it expands, folding the names and
/// expanding again must give the same names. Returns the violated property, if any.
pub fn expansion(data: &[u8]) -> Result<(), String> {
    let Ok(text) = std::str::from_utf8(data) else {
        return Ok(());
    };
    let Ok(names) = crate::expand::expand(text) else {
        return Ok(());
    };
    let mut again = Vec::with_capacity(names.len());
    for p in crate::expand::fold(&names) {
        again.extend(
            crate::expand::expand(&p)
                .map_err(|e| format!("folded pattern `{p}` does not expand: {e}"))?,
        );
    }
    if again != names {
        return Err(format!(
            "`{text}` folds to patterns that expand differently"
        ));
    }
    Ok(())
}

/// Compiles arbitrary text as a series script and as an aggregate script and runs each
/// that compiles once, with realistic inputs, under the engine's limits. Must never panic
/// and never hang, whatever the text.
pub fn script(data: &[u8]) {
    use crate::script::{CheckScripts, Kind, SeriesInput, SeriesResult, Verdict};
    use crate::severity::Severity;
    use crate::telemetry::source::Labels;

    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // The params of the demo's scripted checks, so their paths through `params` are taken.
    let params: std::collections::BTreeMap<String, serde_json::Value> = [
        ("warn", serde_json::json!(38)),
        ("crit", serde_json::json!(45)),
        ("clear", serde_json::json!(2)),
        ("expected", serde_json::json!(2)),
        ("tolerated", serde_json::json!(1)),
        (
            "codes",
            serde_json::json!({"0": ["OK", "nominal"], "2": ["CRIT", "critical threshold crossed"]}),
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    let labels: Labels = [
        ("__name__", "ipmi_sensor_state"),
        ("instance", "n1"),
        ("job", "node"),
        ("sensor", "CPU1 Temp"),
    ]
    .into_iter()
    .collect();
    let ctx = crate::script::context([("instance", "n1")]);

    let mut first: Option<SeriesResult> = None;
    if let Ok(compiled) = crate::script::compile(Kind::Series, text) {
        let scripts = CheckScripts::new(Some(compiled), None, &params);
        let mut runner = scripts.runner();
        runner.target(&ctx, Some(Severity::Warn));
        let input = SeriesInput::new(&labels, &scripts);
        let verdict = runner.series(&input, 1.5, Severity::Ok);
        first = Some(SeriesResult {
            value: 1.5,
            labels: input.labels(),
            verdict: verdict.unwrap_or(Verdict {
                severity: Severity::Unknown,
                message: None,
            }),
        });
    }
    if let Ok(compiled) = crate::script::compile(Kind::Aggregate, text) {
        let scripts = CheckScripts::new(None, Some(compiled), &params);
        let mut runner = scripts.runner();
        runner.target(&ctx, Some(Severity::Warn));
        let _ = runner.aggregate(&[]);
        // And over one result, as a target with one series gives it.
        let one = first.unwrap_or_else(|| SeriesResult {
            value: 1.5,
            labels: SeriesInput::new(&labels, &scripts).labels(),
            verdict: Verdict {
                severity: Severity::Ok,
                message: None,
            },
        });
        let _ = runner.aggregate(std::slice::from_ref(&one));
    }
}

/// The longest `Display` of an error built from an answer: two clipped texts (an API error
/// has a type and a message) with their "… (N more bytes)" marks, and the fixed words.
pub const MAX_ERROR_DISPLAY: usize = 2 * (crate::telemetry::source::MAX_UPSTREAM_TEXT + 40) + 200;

/// Decodes arbitrary bytes as the answer to an instant and to a range query, under the
/// default limits and under tiny ones, with a success and two error statuses. Must never
/// panic; returns the violated property, if any: a result past its limits, more warnings
/// than kept, or an error or warning text past its bound.
pub fn prometheus_answer(data: &[u8]) -> Result<(), String> {
    use crate::telemetry::source::{Limits, decode_instant, decode_range};

    let tiny = Limits {
        max_response_bytes: 4096,
        max_series: 3,
        max_points: 5,
    };
    for limits in [Limits::default(), tiny] {
        for status in [200, 400, 503] {
            match decode_instant(status, data, &limits) {
                Ok(r) => {
                    answer_within(&limits, r.samples.len(), r.samples.len(), &r.warnings)?;
                }
                Err(e) => error_within(&e)?,
            }
            match decode_range(status, data, &limits) {
                Ok(r) => {
                    let points = r.series.iter().map(|s| s.points.len()).sum();
                    answer_within(&limits, r.series.len(), points, &r.warnings)?;
                }
                Err(e) => error_within(&e)?,
            }
        }
    }
    Ok(())
}

fn answer_within(
    limits: &crate::telemetry::source::Limits,
    series: usize,
    points: usize,
    warnings: &[String],
) -> Result<(), String> {
    use crate::telemetry::source::{MAX_UPSTREAM_TEXT, MAX_WARNINGS};
    if series > limits.max_series || points > limits.max_points {
        return Err(format!(
            "{series} series and {points} points accepted under {limits:?}"
        ));
    }
    if warnings.len() > MAX_WARNINGS + 1 {
        return Err(format!("{} warnings kept", warnings.len()));
    }
    match warnings
        .iter()
        .find(|w| w.chars().count() > MAX_UPSTREAM_TEXT + 40)
    {
        Some(w) => Err(format!("a warning of {} characters", w.chars().count())),
        None => Ok(()),
    }
}

fn error_within(e: &crate::telemetry::source::SourceError) -> Result<(), String> {
    use crate::telemetry::source::SourceError;
    let n = e.to_string().chars().count();
    if n > MAX_ERROR_DISPLAY {
        let start: String = e.to_string().chars().take(200).collect();
        return Err(format!("an error of {n} characters: {start}"));
    }
    match e {
        SourceError::Api { warnings, .. } => {
            answer_within(&crate::telemetry::source::Limits::default(), 0, 0, warnings)
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod decode_tests {
    //! The decoder's bounds, through the fuzz target's property checks.
    use proptest::prelude::*;

    use super::prometheus_answer;
    use crate::telemetry::source::{
        Limits, MAX_UPSTREAM_TEXT, MAX_WARNINGS, SourceError, decode_instant,
    };

    proptest! {
        /// Whatever the error text and the number of warnings, what is kept is bounded.
        #[test]
        fn kept_texts_are_bounded(error in any::<String>(), len in 0usize..5000,
                                  warnings in 0usize..40, status in 200u16..600) {
            let error = error.repeat(len / error.len().max(1) + 1);
            let ws: Vec<String> = (0..warnings).map(|_| serde_json::to_string(&error).unwrap()).collect();
            let body = format!(
                r#"{{"status":"error","errorType":"bad_data","error":{},"warnings":[{}]}}"#,
                serde_json::to_string(&error).unwrap(),
                ws.join(",")
            );
            let e = decode_instant(status, body.as_bytes(), &Limits::default()).unwrap_err();
            prop_assert_eq!(prometheus_answer(body.as_bytes()), Ok(()));
            let SourceError::Api { error: kept, warnings: kw, .. } = e else {
                return Err(TestCaseError::fail("not an API error"));
            };
            prop_assert!(kept.chars().count() <= MAX_UPSTREAM_TEXT + 40);
            prop_assert!(kw.len() <= MAX_WARNINGS + 1);
            prop_assert_eq!(kw.len(), warnings.min(MAX_WARNINGS) + usize::from(warnings > MAX_WARNINGS));
        }

        /// Arbitrary bytes never panic the decoder and never escape the bounds.
        #[test]
        fn any_bytes_hold_the_fuzz_properties(data in proptest::collection::vec(any::<u8>(), 0..512)) {
            prop_assert_eq!(prometheus_answer(&data), Ok(()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hostile and edge-case inputs, plus every real example file when they are present.
    #[test]
    fn seeds_never_panic() {
        let seeds: &[&[u8]] = &[
            b"",
            b"\xff\xfe",
            b"a: &x [*x]",
            b"a: &a [*a, *a, *a]\nb: &b [*a, *a, *a]\nc: [*b, *b, *b, *b]",
            b"- - - - - - - - - - - - - - - - - -",
            b"id: [1, {a: b}]\nexpr: 'sum('\nrules: [{op: '>', value: x, severity: CRIT}]\nscope: node\nname: x",
            b"id: x\nname: y\nscope: node\nexpr: up\nrules: [{op: '<', value: 1e308, severity: WARN}, {op: '>', value: -1e308, severity: CRIT}]",
            b"devices:\n- id: a\n  template_id: t\n  u_position: 99999999999999999999\n  instance: {0: x, 4294967295: y[1-9]}",
            b"{? [a, b] : c}",
            b"u_height: -1\nid: 7\nname: ~",
        ];
        for s in seeds {
            config_file(s);
        }
        let root =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/fixtures/upstream-examples");
        let mut stack = vec![root];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
                let p = e.path();
                if p.is_dir() {
                    stack.push(p);
                } else if let Ok(bytes) = std::fs::read(&p) {
                    config_file(&bytes);
                }
            }
        }
    }

    /// Prometheus answers of every shape, and inputs aimed at the caps and the bounds,
    /// through the `prometheus_answer` target's code.
    #[test]
    fn prometheus_answer_seeds_hold() {
        let long = "x".repeat(3000);
        let many: String = (0..100)
            .map(|i| format!(r#"{{"value":[{i},"{i}"]}},"#))
            .collect();
        let seeds: Vec<String> = vec![
            String::new(),
            "null".into(),
            "[]".into(),
            r#"{"status":"success"}"#.into(),
            r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{"a":"b"},"value":[1,"NaN"]}]},"warnings":["w"],"infos":["i"]}"#.into(),
            r#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1,"1"],[2,"+Inf"]]}]}}"#.into(),
            r#"{"status":"success","data":{"result":[{"values":[[1,"1"],[2,"2"],[3,"3"]]},{"values":[[1,"1"],[2,"2"],[3,"3"]]}],"resultType":"matrix"}}"#.into(),
            r#"{"status":"success","data":{"resultType":"scalar","result":[1,"-Inf"]}}"#.into(),
            r#"{"status":"success","data":{"resultType":"string","result":[1,"s"]}}"#.into(),
            r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{"a":"1"},"histogram":[1,{"count":"1"}]}]}}"#.into(),
            format!(r#"{{"status":"success","data":{{"resultType":"vector","result":[{many}{{}}]}}}}"#),
            format!(r#"{{"status":"error","errorType":"{long}","error":"{long}","warnings":["{long}","{long}"]}}"#),
            format!(r#"{{"status":"{long}"}}"#),
            format!("<html>{long}</html>"),
            "[".repeat(200),
            r#"{"data":{"result":["#.repeat(100),
        ];
        for s in &seeds {
            assert_eq!(prometheus_answer(s.as_bytes()), Ok(()), "{s:.200}");
        }
    }

    #[test]
    fn expansion_seeds_hold_the_round_trip() {
        for s in [
            "n[1-3]",
            "a[01-10,12]b[1-2]",
            "x[abc]1",
            "[fe80::1]:9100",
            "a[1-",
            "z[9-10]",
            "q[0-0]",
            "n[1-3,2]",
            "r[1R[2,[1-24445]n]",
            "1ˑ0ˑ",
            "é[1-3]ü",
        ] {
            assert_eq!(expansion(s.as_bytes()), Ok(()), "{s}");
        }
    }

    /// The demo's and the fixtures' scripts, and inputs aimed at the limits, through the
    /// `script` target's code.
    #[test]
    fn script_seeds_never_panic() {
        let seeds: &[&str] = &[
            "",
            "OK",
            "loop {}",
            "fn f(x) { f(x) } f(1)",
            "let s = \"a\"; loop { s += s; }",
            "let a = [1]; loop { a += a; }",
            "-9223372036854775808 / -1",
            "1 << -9223372036854775808",
            "\"abc\"[-9223372036854775808..9223372036854775807]",
            "range(0, 10, 0)",
            "let a = [1]; a.push(a); a.push(a); `${a}`",
            "#{severity: 42}",
            "sleep(1e20)",
            "timestamp()",
            "results.filter(|r| r.value != 0.0).len()",
        ];
        for s in seeds {
            script(s.as_bytes());
        }
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        for dir in [
            "config/demo-small/checks/library/scripts",
            "tests/fixtures/scripted/checks/scripts",
        ] {
            for e in std::fs::read_dir(root.join(dir))
                .into_iter()
                .flatten()
                .flatten()
            {
                if let Ok(bytes) = std::fs::read(e.path()) {
                    script(&bytes);
                }
            }
        }
    }
}
