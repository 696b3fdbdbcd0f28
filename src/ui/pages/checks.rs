//! The checks library, grouped by kind, and the query tester.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use rackscope_core::Config;
use serde::Serialize;

use crate::server::AppState;
use crate::ui::chrome::{Above, chrome, crumbs, world};
use crate::ui::draw::{self, St};
use crate::ui::urls::enc;
use crate::ui::{Ctx, Page, html};

#[derive(Debug, Serialize)]
pub struct CheckCard {
    pub id: String,
    pub name: String,
    pub scope: &'static str,
    pub expr: String,
    pub rules: Vec<String>,
    pub for_: String,
    pub expand: String,
    pub description: String,
    pub templates: Vec<String>,
    pub test_url: String,
    pub file: String,
}

#[derive(Debug, Serialize)]
pub struct KindGroup {
    pub kind: String,
    pub checks: Vec<CheckCard>,
}

#[derive(Debug, Serialize)]
pub struct Var {
    pub name: String,
    pub value: String,
}

#[derive(Debug, Serialize)]
pub struct TestSeries {
    pub labels: String,
    pub value: String,
    /// What the check's rules make of the value (`None` for a scripted check, whose script
    /// decides with more than the value).
    pub decision: Option<St>,
}

#[derive(Debug, Serialize)]
pub struct TestPanel {
    pub check: String,
    pub expr: String,
    pub vars: Vec<Var>,
    pub ran: bool,
    /// `api.query_tester`: without it the form is shown but cannot run.
    pub enabled: bool,
    pub query: String,
    pub error: Option<String>,
    pub series: Vec<TestSeries>,
    /// The series carry the rules' decision.
    pub decides: bool,
}

#[derive(Debug, Serialize)]
pub struct ChecksPage {
    pub groups: Vec<KindGroup>,
    pub test: Option<TestPanel>,
}

impl Page for ChecksPage {
    const TEMPLATE: &'static str = "checks.html";
}

/// The placeholders a check expression may use, with a value to try them with.
pub(crate) fn example_values(config: &Config) -> Vec<(&'static str, String)> {
    let topo = &config.topology;
    vec![
        (
            "$instances",
            topo.instances
                .first()
                .map_or_else(String::new, |i| i.name.clone()),
        ),
        (
            "$chassis",
            topo.devices
                .first()
                .map_or_else(String::new, |d| d.id.clone()),
        ),
        (
            "$racks",
            topo.racks
                .first()
                .map_or_else(String::new, |r| r.id.clone()),
        ),
        ("$jobs", config.app.telemetry.job_regex.clone()),
    ]
}

/// The library, and the tester's form when `?test=` names a check. A GET never sends a
/// query, so that a link or an image on another page cannot make this server run one.
pub async fn handler(
    State(st): State<AppState>,
    ctx: Ctx,
    Query(q): Query<std::collections::HashMap<String, String>>,
) -> Response {
    checks_page(&st, &ctx, &q, false).await
}

/// The tester's form, submitted: runs the query (when the tester is on).
pub async fn run(
    State(st): State<AppState>,
    ctx: Ctx,
    axum::Form(q): axum::Form<std::collections::HashMap<String, String>>,
) -> Response {
    checks_page(&st, &ctx, &q, true).await
}

async fn checks_page(
    st: &AppState,
    ctx: &Ctx,
    q: &std::collections::HashMap<String, String>,
    run: bool,
) -> Response {
    let (snap, config) = world(st);
    let snap = snap.as_deref();
    let test = match q.get("test") {
        Some(id) => Some(test_panel(st, &config, id, q, run).await),
        None => None,
    };
    let crumbs = crumbs(&config.topology, Above::Overview);
    let page = ChecksPage {
        groups: library(&config),
        test,
    };
    let c = chrome(st, ctx, &config, snap, "Checks library", "checks", crumbs);
    html(st, ctx, StatusCode::OK, &c, &page)
}

/// The library: every check as a card, grouped by kind in first-seen order.
pub fn library(config: &Config) -> Vec<KindGroup> {
    let mut groups: Vec<KindGroup> = Vec::new();
    for c in config.checks.iter() {
        let def = &c.def;
        let kind = config
            .check_kinds
            .get(&def.id.value)
            .cloned()
            .unwrap_or_else(|| "other".into());
        let mut templates: Vec<String> = config
            .catalog
            .devices
            .iter()
            // Through its rear components too: the binding's own definition.
            .filter(|t| {
                rackscope_core::bind::device_template_checks(&t.def)
                    .any(|x| x.value == def.id.value)
            })
            .map(|t| format!("device: {}", t.def.id.value))
            .chain(
                config
                    .catalog
                    .racks
                    .iter()
                    .filter(|t| t.def.checks.iter().any(|x| x.value == def.id.value))
                    .map(|t| format!("rack: {}", t.def.id.value)),
            )
            .chain(
                config
                    .catalog
                    .components
                    .iter()
                    .filter(|t| t.def.checks.iter().any(|x| x.value == def.id.value))
                    .map(|t| format!("component: {}", t.def.id.value)),
            )
            .collect();
        templates.sort();
        let card = CheckCard {
            id: def.id.value.clone(),
            name: def.name.clone(),
            scope: def.scope.as_str(),
            expr: def.expr.value.clone(),
            rules: def
                .rules
                .iter()
                .map(|r| {
                    let v = match &r.value.value {
                        rackscope_core::model::checks::RuleValue::Number(n) => {
                            draw::value_text(*n, "")
                        }
                        rackscope_core::model::checks::RuleValue::Text(t) => format!("\"{t}\""),
                    };
                    format!("value {} {v} → {}", r.value.op.as_str(), r.value.severity)
                })
                .collect(),
            for_: def
                .for_duration
                .as_ref()
                .map_or_else(String::new, |f| f.value.to_string()),
            expand: def.expand_by_label.clone().unwrap_or_default(),
            description: def.description.clone().unwrap_or_default(),
            templates,
            test_url: format!("/checks?test={}#test", enc(&def.id.value)),
            file: c.file.display().to_string(),
        };
        match groups.iter_mut().find(|g| g.kind == kind) {
            Some(g) => g.checks.push(card),
            None => groups.push(KindGroup {
                kind,
                checks: vec![card],
            }),
        }
    }
    groups
}

/// The tester: the check's expression (or the edited one) with its placeholders filled
/// from the form, run through the engine's client when the form was submitted.
async fn test_panel(
    st: &AppState,
    config: &Config,
    id: &str,
    q: &std::collections::HashMap<String, String>,
    run: bool,
) -> TestPanel {
    let expr = q
        .get("expr")
        .cloned()
        .or_else(|| config.checks.get(id).map(|c| c.def.expr.value.clone()))
        .unwrap_or_default();
    let vars: Vec<Var> = example_values(config)
        .into_iter()
        .filter(|(name, _)| expr.contains(name))
        .map(|(name, example)| Var {
            name: name.trim_start_matches('$').to_owned(),
            value: q
                .get(name.trim_start_matches('$'))
                .cloned()
                .unwrap_or(example),
        })
        .collect();
    let mut panel = TestPanel {
        check: id.to_owned(),
        expr: expr.clone(),
        ran: run,
        enabled: config.app.api.query_tester,
        query: String::new(),
        error: None,
        series: Vec::new(),
        decides: false,
        vars,
    };
    if !panel.ran {
        return panel;
    }
    let values: std::collections::HashMap<String, String> = panel
        .vars
        .iter()
        .map(|v| (v.name.clone(), v.value.clone()))
        .collect();
    // The saved check's threshold rules, so that the answer says what each value would
    // become (a scripted check decides in its script: no column then).
    let rules = config.checks.index_of(id).and_then(|i| {
        (config.scripts_of(i).is_none() && !config.checks.items[i].def.rules.is_empty())
            .then(|| rackscope_core::telemetry::plan::planned_rules(&config.checks.items[i].def))
    });
    panel.decides = rules.is_some();
    match crate::server::live::test_now(st, expr.clone(), values).await {
        Err(e) => panel.error = Some(e.to_string()),
        Ok((query, answer)) => {
            panel.query = query;
            match answer {
                Ok(res) => {
                    panel.series = res
                        .samples
                        .iter()
                        .take(200)
                        .map(|s| TestSeries {
                            labels: s
                                .labels
                                .iter()
                                .map(|(k, v)| format!("{k}=\"{v}\""))
                                .collect::<Vec<_>>()
                                .join(", "),
                            value: draw::value_text(s.value, ""),
                            decision: rules.as_ref().map(|r| {
                                St::of(Some(rackscope_core::telemetry::plan::classify(r, s.value)))
                            }),
                        })
                        .collect();
                }
                Err(e) => panel.error = Some(e),
            }
        }
    }
    panel
}
