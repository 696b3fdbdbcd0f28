//! The test-file format: promtool's value notation, series selectors, and malformed files
//! reported at their positions.

#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::sync::Arc;

use super::series::{Step, expand, selector};
use super::*;

fn values(s: &str) -> Vec<Step> {
    expand(s).unwrap()
}

#[test]
fn the_value_notation_is_promtools() {
    use Step::{Missing, Stale, Value};
    assert_eq!(values("1 1 0"), [Value(1.0), Value(1.0), Value(0.0)]);
    assert_eq!(
        values("0+10x3"),
        [Value(0.0), Value(10.0), Value(20.0), Value(30.0)]
    );
    assert_eq!(values("5-2x2"), [Value(5.0), Value(3.0), Value(1.0)]);
    assert_eq!(values("-1+1x1"), [Value(-1.0), Value(0.0)]);
    assert_eq!(values("7x2"), [Value(7.0), Value(7.0), Value(7.0)]);
    assert_eq!(
        values("1e3 _ _x2 stale 2"),
        [Value(1000.0), Missing, Missing, Missing, Stale, Value(2.0)]
    );
    assert!(matches!(values("NaN")[0], Value(v) if v.is_nan()));
    assert_eq!(
        values("Inf -Inf"),
        [Value(f64::INFINITY), Value(f64::NEG_INFINITY)]
    );
    for (bad, at, why) in [
        ("1 two 3", 2, "`two`: not a number"),
        ("1 1+ax2", 2, "`1+ax2`: the step is not a number"),
        ("stalex2", 0, "`stalex2`: `stale` does not repeat"),
        ("", 0, "no values"),
        ("1x100000", 0, "at most 100000 steps"),
    ] {
        let (o, e) = expand(bad).unwrap_err();
        assert_eq!(o, at, "{bad}");
        assert!(e.contains(why), "{bad}: {e}");
    }
}

#[test]
fn selectors_are_parsed_with_their_labels_sorted() {
    let s = selector(r#"up{job="node", instance="a\"b"}"#).unwrap();
    assert_eq!(s.name, "up");
    assert_eq!(
        s.labels,
        [
            ("instance".into(), "a\"b".into()),
            ("job".into(), "node".into())
        ]
    );
    assert_eq!(selector("node:power:sum").unwrap().labels, []);
    for (bad, at, why) in [
        ("{a=\"b\"}", 0, "metric name"),
        ("up{a=b}", 3, "double quotes"),
        ("up{a=\"b\"", 8, "not closed"),
        ("up{a=\"b\",a=\"c\"}", 9, "given twice"),
        ("up{a=\"b\"} x", 9, "after the closing"),
        ("up[5m]", 2, "expected `{`"),
    ] {
        let (o, e) = selector(bad).unwrap_err();
        assert!(e.contains(why), "{bad}: {e}");
        assert_eq!(o, at, "{bad}: {e}");
    }
}

fn parsed(src: &str) -> (Option<TestFile>, Vec<String>) {
    let file: Arc<Path> = Arc::from(Path::new("t.yaml"));
    let mut d = Diagnostics::default();
    let t = parse(&file, src, &mut d);
    let msgs = d
        .iter()
        .map(|d| format!("{}:{}: {}", d.span.pos.line, d.span.pos.col, d.message))
        .collect();
    (t, msgs)
}

#[test]
fn a_good_file_decodes_with_the_position_of_every_expected_value() {
    let src = "interval: 15s\ninput_series:\n- series: 'up{instance=\"n1\"}'\n  values: 1 0 0\ntests:\n- at: 30s\n  expect:\n  - node: n1\n    state: CRIT\n  - global: CRIT\n- at: 0\n  expect:\n  - rack: r1\n    check: pdu\n    value: 1.5\n";
    let (t, msgs) = parsed(src);
    assert_eq!(msgs, Vec::<String>::new());
    let t = t.unwrap();
    assert_eq!(t.interval, 15);
    assert_eq!(t.series[0].steps.len(), 3);
    // Sorted by instant.
    assert_eq!(t.evals.iter().map(|e| e.at).collect::<Vec<_>>(), [0, 30]);
    let crit = t.evals[1].expect[0].state.as_ref().unwrap();
    assert_eq!(crit.value, Some(Severity::Crit));
    assert_eq!((crit.pos.line, crit.pos.col), (9, 12));
    assert_eq!(&src[crit.span.clone().unwrap()], "CRIT");
    assert_eq!(t.evals[1].expect[1].target, Target::Estate);
    let v = t.evals[0].expect[0].value.as_ref().unwrap();
    assert_eq!(&src[v.span.clone().unwrap()], "1.5");
}

#[test]
fn malformed_files_are_reported_where_they_are_wrong() {
    for (src, want) in [
        ("tests: [", "1:"),
        ("- a\n- b\n", "1:1: a check test file is a mapping"),
        ("input_series: []\n", "1:1: a test file needs `tests:`"),
        (
            "tets: []\ntests:\n- at: 0\n  expect:\n  - global: OK\n",
            "1:1: `tets` is not a key of a test file",
        ),
        (
            "tests:\n- at: 5x\n  expect:\n  - global: OK\n",
            "2:7: invalid duration `5x`",
        ),
        (
            "tests:\n- at: 0\n  expect:\n  - rack: r1\n    state: RED\n",
            "5:12: `RED` is not OK, WARN, CRIT, UNKNOWN or NONE",
        ),
        (
            "tests:\n- at: 0\n  expect:\n  - rack: r1\n    node: n1\n    state: OK\n",
            "4:5: an expectation names one of node, device, rack, room, site or global; this one names node, rack",
        ),
        (
            "tests:\n- at: 0\n  expect:\n  - rack: r1\n    value: 3\n",
            "4:5: value, reason and message are a check's",
        ),
        (
            "tests:\n- at: 0\n  expect:\n  - rack: r1\n",
            "4:5: an expectation says what must hold",
        ),
        (
            "tests:\n- at: 0\n  expect:\n  - rack: r1\n    pending: yes please\n",
            "5:14: `pending` is true or false",
        ),
        (
            "input_series:\n- series: up{a=b}\n  values: 1\ntests:\n- at: 0\n  expect:\n  - global: OK\n",
            "2:14: the value of `a` is written in double quotes",
        ),
        (
            "input_series:\n- series: 'up'\n  values: 1 x 3\ntests:\n- at: 0\n  expect:\n  - global: OK\n",
            "3:13: `x`: not a number",
        ),
        (
            "interval: 0s\ntests:\n- at: 0\n  expect:\n  - global: OK\n",
            "1:11: interval is a positive duration",
        ),
        (
            "interval: 1s\ntests:\n- at: 1y\n  expect:\n  - global: OK\n",
            "3:7: at 1y is 31536000 steps of 1 s from the start; a test runs at most 10000",
        ),
    ] {
        let (t, msgs) = parsed(src);
        assert!(t.is_none(), "{src}");
        assert!(
            msgs.iter()
                .any(|m| m.starts_with(want) || (want.ends_with(':') && m.starts_with(want))),
            "{src}\nwant {want}\ngot {msgs:?}"
        );
    }
}

#[test]
fn an_update_rewrites_only_the_values_that_were_wrong() {
    let text = "state: CRIT\nvalue: 1.5\nstate: OK\n";
    let failures = vec![
        Failure {
            pos: Pos::new(1, 8),
            message: String::new(),
            rewrite: Some((7..11, "WARN".into())),
        },
        Failure {
            pos: Pos::new(2, 8),
            message: String::new(),
            rewrite: Some((19..22, "2".into())),
        },
        Failure {
            pos: Pos::new(3, 8),
            message: String::new(),
            rewrite: None,
        },
    ];
    assert_eq!(
        rewrite(text, &failures),
        "state: WARN\nvalue: 2\nstate: OK\n"
    );
}

#[test]
fn the_input_series_of_a_file_are_bounded_in_all() {
    let mut src = String::from("input_series:\n");
    for i in 0..11 {
        src.push_str(&format!("- series: m{i}\n  values: 1x99999\n"));
    }
    src.push_str("tests:\n- at: 0\n  expect:\n  - global: OK\n");
    let (t, msgs) = parsed(&src);
    assert!(t.is_none());
    assert_eq!(
        msgs,
        ["22:3: the input series hold more than 1000000 samples in all"]
    );
}
