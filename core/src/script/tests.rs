//! The sandbox's promises, each shown failing closed: loops, bombs, imports, `eval`,
//! file access, deep recursion and bad return values give an error, never a hang or panic.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::*;
use proptest::prelude::*;

fn scripts(src: &str) -> CheckScripts {
    CheckScripts::new(
        Some(compile(Kind::Series, src).unwrap()),
        None,
        &BTreeMap::new(),
    )
}

fn labels() -> Labels {
    [("instance", "n1"), ("sensor", "PSU1 Status")]
        .into_iter()
        .collect()
}

fn run_series(s: &CheckScripts, value: f64, previous: Option<Severity>) -> Result<Verdict, String> {
    let ctx = context([("instance", "n1"), ("rack", "r1")]);
    let input = SeriesInput::new(&labels(), s);
    let mut run = s.runner();
    run.target(&ctx, previous);
    run.series(&input, value, Severity::Ok)
}

#[test]
fn an_endless_loop_stops_at_the_operation_limit() {
    let err = run_series(&scripts("loop {}"), 0.0, None).unwrap_err();
    assert!(err.contains("Too many operations"), "{err}");
}

#[test]
fn a_string_bomb_stops_at_the_size_limit() {
    let err = run_series(&scripts(r#"let s = "xx"; loop { s += s; }"#), 0.0, None).unwrap_err();
    assert!(err.contains("Length of string too large"), "{err}");
}

#[test]
fn an_array_bomb_stops_at_the_size_limit() {
    let err = run_series(&scripts("let a = [1]; loop { a += a; }"), 0.0, None).unwrap_err();
    assert!(
        err.contains("Size of array") || err.contains("too large"),
        "{err}"
    );
}

#[test]
fn deep_recursion_stops_at_the_call_limit() {
    let err = run_series(&scripts("fn f(x) { f(x + 1) } f(0)"), 0.0, None).unwrap_err();
    assert!(
        err.to_lowercase().contains("stack overflow") || err.contains("call"),
        "{err}"
    );
}

#[test]
fn import_and_eval_are_refused_when_the_script_compiles() {
    let e = compile(Kind::Series, "\nimport \"os\" as os;\n\"OK\"").unwrap_err();
    assert!(e.message.contains("import"), "{e:?}");
    assert_eq!((e.line, e.col), (2, 1));
    let e = compile(Kind::Series, r#"eval("1 + 1")"#).unwrap_err();
    assert!(e.message.contains("eval"), "{e:?}");
}

#[test]
fn there_is_no_file_or_process_access() {
    for src in [
        r#"open_file("/etc/passwd")"#,
        r#"read_string(open_file("/etc/passwd"))"#,
        r#"system("true")"#,
    ] {
        let err = run_series(&scripts(src), 0.0, None).unwrap_err();
        assert!(err.contains("Function not found"), "{src}: {err}");
    }
}

#[test]
fn unknown_names_are_compile_errors_with_a_position() {
    let e = compile(
        Kind::Series,
        "if value > 1 {\n  totally_unknown\n} else { OK }",
    )
    .unwrap_err();
    assert!(e.message.contains("totally_unknown"), "{e:?}");
    assert_eq!((e.line, e.col), (2, 3));
    // Aggregate scripts see `results`, not `value`.
    assert!(compile(Kind::Aggregate, "value").is_err());
    assert!(compile(Kind::Aggregate, "results.len()").is_ok());
}

#[test]
fn the_return_value_must_be_a_severity() {
    assert_eq!(
        run_series(&scripts("WARN"), 0.0, None).unwrap().severity,
        Severity::Warn
    );
    assert_eq!(
        run_series(&scripts(r#""crit""#), 0.0, None)
            .unwrap()
            .severity,
        Severity::Crit
    );
    let err = run_series(&scripts("42"), 0.0, None).unwrap_err();
    assert!(
        err.contains("returned a i64") || err.contains("returned a"),
        "{err}"
    );
    let err = run_series(&scripts(r#""BROKEN""#), 0.0, None).unwrap_err();
    assert!(err.contains("\"BROKEN\""), "{err}");
    let err = run_series(&scripts("#{message: \"x\"}"), 0.0, None).unwrap_err();
    assert!(err.contains("without `severity`"), "{err}");
}

#[test]
fn a_map_carries_a_message() {
    let s = scripts(r#"#{severity: CRIT, message: `${labels.sensor} on ${ctx.rack}: ${value}`}"#);
    let v = run_series(&s, 3.0, None).unwrap();
    assert_eq!(v.severity, Severity::Crit);
    assert_eq!(v.message.as_deref(), Some("PSU1 Status on r1: 3.0"));
}

#[test]
fn inputs_are_read_only() {
    let err = run_series(&scripts("value = 3; OK"), 0.0, None).unwrap_err();
    assert!(err.to_lowercase().contains("constant"), "{err}");
    // A mutating method on an input fails too, so `params` stays the same for every series.
    let params: BTreeMap<String, serde_json::Value> =
        serde_json::from_str(r#"{"warn": 70}"#).unwrap();
    let s = CheckScripts::new(
        Some(compile(Kind::Series, "params.clear(); OK").unwrap()),
        None,
        &params,
    );
    assert!(run_series(&s, 0.0, None).is_err());
    let s = CheckScripts::new(
        Some(compile(Kind::Series, "if params.warn == 70 { OK } else { CRIT }").unwrap()),
        None,
        &params,
    );
    let mut run = s.runner();
    let input = SeriesInput::new(&labels(), &s);
    for _ in 0..3 {
        run.target(&context([]), None);
        assert_eq!(
            run.series(&input, 1.0, Severity::Ok).unwrap().severity,
            Severity::Ok
        );
    }
}

#[test]
fn inputs_can_be_nested_in_data() {
    let s = scripts(
        "let a = [ctx, labels, params, [value]]; let m = #{a: a}; if m.a[1].sensor == \"PSU1 Status\" { WARN } else { OK }",
    );
    assert_eq!(run_series(&s, 1.0, None).unwrap().severity, Severity::Warn);
}

#[test]
fn params_and_previous_state_reach_the_script() {
    let src = "if value >= params.crit { CRIT } \
               else if value >= params.warn || (previous != OK && value >= params.warn - params.hysteresis) { WARN } \
               else { OK }";
    let params: BTreeMap<String, serde_json::Value> =
        serde_json::from_str(r#"{"warn": 70, "crit": 85, "hysteresis": 5}"#).unwrap();
    let s = CheckScripts::new(Some(compile(Kind::Series, src).unwrap()), None, &params);
    let sev = |v, prev| run_series(&s, v, prev).unwrap().severity;
    assert_eq!(sev(72.0, None), Severity::Warn);
    assert_eq!(sev(67.0, None), Severity::Ok);
    assert_eq!(sev(67.0, Some(Severity::Warn)), Severity::Warn);
    assert_eq!(sev(64.0, Some(Severity::Warn)), Severity::Ok);
    assert_eq!(sev(90.0, Some(Severity::Ok)), Severity::Crit);
}

#[test]
fn the_aggregate_script_sees_every_series_of_its_target() {
    let agg = compile(
        Kind::Aggregate,
        r#"let lost = results.filter(|r| r.value != 1.0).len();
           if lost == 0 { OK } else if lost == 1 { #{severity: WARN, message: `${lost} of ${results.len()} PSUs lost`} } else { CRIT }"#,
    )
    .unwrap();
    let s = CheckScripts::new(None, Some(agg), &BTreeMap::new());
    let r = |v: f64| SeriesResult {
        value: v,
        labels: Dynamic::UNIT,
        verdict: Verdict {
            severity: Severity::Ok,
            message: None,
        },
    };
    let mut run = s.runner();
    run.target(&context([]), None);
    assert_eq!(
        run.aggregate(&[r(1.0), r(1.0), r(1.0)]).unwrap().severity,
        Severity::Ok
    );
    let v = run.aggregate(&[r(1.0), r(0.0), r(1.0)]).unwrap();
    assert_eq!(
        (v.severity, v.message.as_deref()),
        (Severity::Warn, Some("1 of 3 PSUs lost"))
    );
    assert_eq!(
        run.aggregate(&[r(0.0), r(0.0), r(1.0)]).unwrap().severity,
        Severity::Crit
    );
}

#[test]
fn only_the_labels_a_script_reads_are_built() {
    assert_eq!(occurrences("labels.x", "labels"), [0]);
    assert!(occurrences("my_labels labelsx", "labels").is_empty());
    assert_eq!(occurrences("(ctx)", "ctx"), [1]);
    assert_eq!(label_use("OK"), LabelUse::None);
    assert_eq!(
        label_use("labels.sensor + labels.job + labels.sensor"),
        LabelUse::Some(vec!["sensor".into(), "job".into()])
    );
    assert_eq!(label_use("labels.keys()"), LabelUse::All);
    assert_eq!(label_use("let l = labels; l.sensor"), LabelUse::All);
    assert_eq!(label_use(r#"labels["sensor"]"#), LabelUse::All);
    // A label the script reads is there; one it does not read is not built.
    let s = scripts(r#"if labels.sensor == "PSU1 Status" { WARN } else { OK }"#);
    assert_eq!(run_series(&s, 0.0, None).unwrap().severity, Severity::Warn);
    assert_eq!(
        SeriesInput::new(&labels(), &s)
            .labels()
            .as_map_ref()
            .map(|m| m.len())
            .unwrap(),
        1
    );
}

#[test]
fn equal_inputs_reuse_the_verdict_and_different_ones_do_not() {
    let s = scripts(
        r#"if labels.sensor == "PSU1 Status" && value > 1.0 { #{severity: WARN, message: `${value}`} } else { state }"#,
    );
    let mut run = s.runner();
    let ctx = context([]);
    let series = |sensor: &str| {
        SeriesInput::new(
            &Labels::from_iter([("sensor", sensor), ("instance", "x")]),
            &s,
        )
    };
    run.target(&ctx, None);
    let psu = series("PSU1 Status");
    assert_eq!(
        run.series(&psu, 2.0, Severity::Ok)
            .unwrap()
            .message
            .as_deref(),
        Some("2.0")
    );
    assert_eq!(
        run.series(&psu, 2.0, Severity::Ok)
            .unwrap()
            .message
            .as_deref(),
        Some("2.0")
    );
    assert_eq!(
        run.series(&psu, 3.0, Severity::Ok)
            .unwrap()
            .message
            .as_deref(),
        Some("3.0")
    );
    assert_eq!(
        run.series(&psu, 0.5, Severity::Crit).unwrap().severity,
        Severity::Crit
    );
    assert_eq!(
        run.series(&series("Fan1"), 2.0, Severity::Ok)
            .unwrap()
            .severity,
        Severity::Ok
    );
    assert_eq!(run.memo.len(), 4);
    // `previous` is part of what the script sees.
    let h = scripts("if previous == WARN { WARN } else { OK }");
    let mut run = h.runner();
    let input = SeriesInput::new(&labels(), &h);
    run.target(&ctx, None);
    assert_eq!(
        run.series(&input, 1.0, Severity::Ok).unwrap().severity,
        Severity::Ok
    );
    run.target(&ctx, Some(Severity::Warn));
    assert_eq!(
        run.series(&input, 1.0, Severity::Ok).unwrap().severity,
        Severity::Warn
    );
}

#[test]
fn a_script_that_keeps_failing_stops_being_run() {
    // `ctx` defeats the memo, so every target would pay the operation limit.
    let s = scripts("if ctx.rack != \"\" { loop {} } OK");
    let mut run = s.runner();
    let input = SeriesInput::new(&labels(), &s);
    let mut errors = Vec::new();
    for t in 0..1000 {
        run.target(
            &context([("rack", "r1"), ("instance", &*format!("n{t}"))]),
            None,
        );
        errors.push(run.series(&input, 1.0, Severity::Ok).unwrap_err());
    }
    assert!(
        errors[..MAX_FAILURES]
            .iter()
            .all(|e| e.contains("Too many operations"))
    );
    assert!(
        errors[MAX_FAILURES..]
            .iter()
            .all(|e| e.contains("script not run")),
        "{}",
        errors[MAX_FAILURES]
    );
}

#[test]
fn scripts_cannot_read_the_clock() {
    let err = run_series(&scripts("let t = timestamp(); OK"), 0.0, None).unwrap_err();
    assert!(err.contains("not available"), "{err}");
}

#[test]
/// Found with the `script` fuzz target: Rhai's standard `sleep` blocks outside the operation
/// limit (`sleep(9223372036854775807)` never returns) and panics on `sleep(1e20)`. The
/// override answers every form, the method call and `Fn` included, with its error.
fn sleep_is_refused_not_served() {
    for src in [
        "sleep(2)",
        "sleep(1e20)",
        r#"Fn("sleep").call(9223372036854775807)"#,
        "2.sleep()",
    ] {
        let err = run_series(&scripts(src), 0.0, None).unwrap_err();
        assert!(err.contains("not available"), "{src}: {err}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]
    /// Whatever text is compiled and run, the answer is a verdict or an error.
    #[test]
    fn any_text_compiles_and_runs_without_panicking(src in "[ -~\n]{0,80}") {
        if let Ok(c) = compile(Kind::Series, &src) {
            let s = CheckScripts::new(Some(c), None, &BTreeMap::new());
            let _ = run_series(&s, 1.0, Some(Severity::Warn));
        }
    }

    /// Scripts built from the grammar's pieces, including loops, still end.
    #[test]
    fn generated_scripts_end(body in prop::collection::vec(prop::sample::select(vec![
        "let x = value;", "x += 1;", "loop { x += 1; }", "while x < 1e9 { x *= 2; }",
        "let s = `${x}`;", "s += s;", "if x > 3 { return WARN; }", "fn f(a) { f(a) }",
        "let a = [x, x];", "a += a;", "f(1);", "return OK;",
    ]), 0..8)) {
        let src = format!("let x = 0; let s = \"\"; let a = [];\n{}\nCRIT", body.join("\n"));
        if let Ok(c) = compile(Kind::Series, &src) {
            let s = CheckScripts::new(Some(c), None, &BTreeMap::new());
            let _ = run_series(&s, 1.0, None);
        }
    }
}
