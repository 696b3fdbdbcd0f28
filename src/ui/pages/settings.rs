//! `/editors/settings`: the common keys of app.yaml as a form (the Prometheus URL with a
//! connection test, refresh and planner settings), saved through the same pipeline as the
//! file editor: one value edited in place per changed field, the whole configuration
//! checked before anything is written, then reloaded. The rest of app.yaml is edited as
//! text in the file editor.

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use rackscope_core::Config;
use rackscope_core::edit::{Doc, Seg};
use rackscope_core::yaml::{Kind as YamlKind, Node};
use serde::{Deserialize, Serialize};

use crate::editing::blocking;
use crate::editing::{self, EditingError, Kind, Problem};
use crate::server::AppState;
use crate::ui::chrome::{chrome, world};
use crate::ui::pages::editors::{editor_url, editors_crumbs, refused};
use crate::ui::{Ctx, Page, html};

/// A field of the form: where it lives in app.yaml and what it holds.
struct Field {
    name: &'static str,
    label: &'static str,
    path: &'static [&'static str],
    kind: Value,
    get: fn(&Config) -> String,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Value {
    Text,
    Integer,
    Number,
    Flag,
}

const FIELDS: &[Field] = &[
    Field {
        name: "app_name",
        label: "Name shown in the header",
        path: &["app", "name"],
        kind: Value::Text,
        get: |c| c.app.app.name.clone(),
    },
    Field {
        name: "prometheus_url",
        label: "Prometheus URL",
        path: &["telemetry", "prometheus_url"],
        kind: Value::Text,
        get: |c| c.app.telemetry.url().to_owned(),
    },
    Field {
        name: "prometheus_timeout_seconds",
        label: "Prometheus timeout (seconds)",
        path: &["telemetry", "prometheus_timeout_seconds"],
        kind: Value::Number,
        get: |c| c.app.telemetry.prometheus_timeout_seconds.to_string(),
    },
    Field {
        name: "cache_ttl_seconds",
        label: "Refresh every (seconds)",
        path: &["planner", "cache_ttl_seconds"],
        kind: Value::Integer,
        get: |c| c.app.planner.cache_ttl_seconds.to_string(),
    },
    Field {
        name: "max_ids_per_query",
        label: "Ids per query",
        path: &["planner", "max_ids_per_query"],
        kind: Value::Integer,
        get: |c| c.app.planner.max_ids_per_query.to_string(),
    },
    Field {
        name: "room_state_seconds",
        label: "Pages reload without JavaScript every (seconds)",
        path: &["refresh", "room_state_seconds"],
        kind: Value::Integer,
        get: |c| c.app.refresh.room_state_seconds.to_string(),
    },
    Field {
        name: "query_tester",
        label: "Query tester on",
        path: &["api", "query_tester"],
        kind: Value::Flag,
        get: |c| c.app.api.query_tester.to_string(),
    },
];

#[derive(Debug, Serialize)]
pub struct FieldView {
    pub name: &'static str,
    pub label: &'static str,
    pub value: String,
    pub flag: bool,
    pub number: bool,
}

#[derive(Debug, Serialize, Default)]
pub struct SettingsPage {
    pub fields: Vec<FieldView>,
    pub etag: String,
    pub raw_url: String,
    pub refused: Option<String>,
    pub saved: Option<String>,
    pub error: Option<String>,
    pub problems: Vec<Problem>,
    pub probe: Option<Probe>,
}

/// What the connection test found.
#[derive(Debug, Serialize)]
pub struct Probe {
    pub ok: bool,
    pub message: String,
}

impl Page for SettingsPage {
    const TEMPLATE: &'static str = "settings.html";
}

fn views(config: &Config, submitted: Option<&HashMap<String, String>>) -> Vec<FieldView> {
    FIELDS
        .iter()
        .map(|f| {
            let value = match submitted {
                Some(form) if f.kind == Value::Flag => form.contains_key(f.name).to_string(),
                Some(form) => form.get(f.name).cloned().unwrap_or_default(),
                None => (f.get)(config),
            };
            FieldView {
                name: f.name,
                label: f.label,
                value,
                flag: f.kind == Value::Flag,
                number: matches!(f.kind, Value::Integer | Value::Number),
            }
        })
        .collect()
}

fn render(st: &AppState, ctx: &Ctx, status: StatusCode, page: &SettingsPage) -> Response {
    let (snap, config) = world(st);
    let c = chrome(
        st,
        ctx,
        &config,
        snap.as_deref(),
        "Settings",
        "editors",
        editors_crumbs(),
    );
    html(st, ctx, status, &c, page)
}

/// The application file's name as the editors know it (`app.yaml`, or whatever the server
/// was started with).
fn app_name(config: &Config) -> String {
    editing::list(config, Kind::App)
        .into_iter()
        .next()
        .unwrap_or_else(|| "app.yaml".to_owned())
}

async fn etag_of(config: &std::sync::Arc<Config>) -> String {
    let config = config.clone();
    blocking(move || editing::open(&config, Kind::App, &app_name(&config)))
        .await
        .map(|o| o.etag)
        .unwrap_or_default()
}

#[derive(Deserialize)]
pub struct Saved {
    #[serde(default)]
    pub saved: Option<String>,
}

/// `GET /editors/settings`.
pub async fn form(State(st): State<AppState>, ctx: Ctx, Query(q): Query<Saved>) -> Response {
    let config = st.engine.config();
    let status = st.reload.status();
    let page = SettingsPage {
        fields: views(&config, None),
        etag: etag_of(&config).await,
        raw_url: editor_url(Kind::App, &app_name(&config)),
        refused: refused(&st),
        saved: q.saved.map(|_| {
            if status.ok {
                format!(
                    "Saved; the configuration reloaded (generation {}).",
                    status.generation
                )
            } else {
                "Saved, but the reload failed: see the banner.".to_owned()
            }
        }),
        ..SettingsPage::default()
    };
    render(&st, &ctx, StatusCode::OK, &page)
}

/// The value of `f` in the form as a YAML scalar, or why it is not one.
fn scalar(f: &Field, form: &HashMap<String, String>) -> Result<Node, String> {
    let raw = form.get(f.name).map_or("", |v| v.trim());
    let kind = match f.kind {
        Value::Text => YamlKind::Str(raw.to_owned()),
        Value::Flag => YamlKind::Bool(form.contains_key(f.name)),
        Value::Integer => YamlKind::Int(
            raw.parse::<i64>()
                .map_err(|_| format!("{}: `{raw}` is not a whole number", f.label))?,
        ),
        Value::Number => {
            let n = raw
                .parse::<f64>()
                .ok()
                .filter(|n| n.is_finite())
                .ok_or_else(|| format!("{}: `{raw}` is not a number", f.label))?;
            YamlKind::Float(n)
        }
    };
    let mut node = Node::null();
    node.kind = kind;
    Ok(node)
}

/// app.yaml's text with every changed field set in place.
fn edited(text: &str, config: &Config, form: &HashMap<String, String>) -> Result<String, String> {
    let mut doc = Doc::parse(text).map_err(|e| e.to_string())?;
    for f in FIELDS {
        let now = (f.get)(config);
        let sent = match f.kind {
            Value::Flag => form.contains_key(f.name).to_string(),
            _ => form
                .get(f.name)
                .map_or(String::new(), |v| v.trim().to_owned()),
        };
        if sent == now {
            continue;
        }
        let value = scalar(f, form)?;
        let path: Vec<Seg<'_>> = f.path.iter().map(|k| Seg::Key(k)).collect();
        doc.set_scalar(&path, &value)
            .map_err(|e| format!("{}: {e}", f.label))?;
    }
    Ok(doc.text().to_owned())
}

/// `POST /editors/settings`: `action=test` probes the URL typed; `action=save` saves.
pub async fn submit(
    State(st): State<AppState>,
    ctx: Ctx,
    axum::Form(form): axum::Form<HashMap<String, String>>,
) -> Response {
    let config = st.engine.config();
    let mut page = SettingsPage {
        fields: views(&config, Some(&form)),
        etag: form.get("etag").cloned().unwrap_or_default(),
        raw_url: editor_url(Kind::App, &app_name(&config)),
        refused: refused(&st),
        ..SettingsPage::default()
    };
    // Refused before the test too: it makes the server send a request, with its
    // Prometheus settings, to an address the client chose.
    if let Some(why) = &page.refused {
        page.error = Some(format!("Not allowed: {why}"));
        return render(&st, &ctx, StatusCode::FORBIDDEN, &page);
    }
    if form.get("action").map(String::as_str) == Some("test") {
        let url = form.get("prometheus_url").map_or("", |v| v.trim());
        page.probe = Some(
            match crate::server::live::probe_prometheus(&config, url).await {
                Ok(message) => Probe { ok: true, message },
                Err(e) => Probe {
                    ok: false,
                    message: format!("No answer from {url}: {e}"),
                },
            },
        );
        return render(&st, &ctx, StatusCode::OK, &page);
    }
    let who = crate::editing::actor(ctx.user.name.clone());
    let (cfg, etag) = (config.clone(), page.etag.clone());
    let form2 = form.clone();
    let saved = blocking(move || {
        let name = app_name(&cfg);
        let opened = editing::open(&cfg, Kind::App, &name)?;
        let text = edited(&opened.text, &cfg, &form2).map_err(|e| {
            EditingError::Invalid(vec![Problem {
                file: name.clone(),
                line: 0,
                col: 0,
                code: "form",
                level: "error",
                message: e,
            }])
        })?;
        editing::save(&cfg, Kind::App, &name, &text, &etag, &who)
    })
    .await;
    match saved {
        Ok(_) => {
            st.reload.reload("editor").await;
            Redirect::to("/editors/settings?saved=1").into_response()
        }
        Err(EditingError::Invalid(problems)) => {
            page.error = Some("Not saved: the configuration would not load.".into());
            page.problems = problems;
            render(&st, &ctx, StatusCode::UNPROCESSABLE_ENTITY, &page)
        }
        Err(EditingError::Conflict { current_etag, .. }) => {
            page.error = Some(
                "Not saved: app.yaml changed on disk since this page was opened. The form now \
                 holds your values over the new version; save again to apply them."
                    .into(),
            );
            page.etag = current_etag;
            render(&st, &ctx, StatusCode::CONFLICT, &page)
        }
        Err(e) => {
            page.error = Some(format!("Not saved: {e}"));
            render(&st, &ctx, StatusCode::INTERNAL_SERVER_ERROR, &page)
        }
    }
}
