//! The configuration editors in the browser (issue #18): the file kinds and their files, the
//! checks library with a link from each check to its line, and one file in a plain form (a
//! textarea beside a line-number gutter the server draws). Validating and saving go through
//! `crate::editing`, which never writes an invalid configuration; a save then reloads the
//! configuration. A file an importer generated says so, and what its next run does to
//! edits. Everything works without JavaScript; `rackscope.js` only keeps the gutter in
//! step, inserts spaces on Tab, selects the line of a `#L<n>` link and, for YAML, lays
//! Prism's highlighting under the text.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use rackscope_core::Config;
use serde::{Deserialize, Serialize};

use crate::editing::{self, EditingError, Kind, Problem};
use crate::server::AppState;
use crate::ui::chrome::{Link, chrome, world};
use crate::ui::pages::checks;
use crate::ui::urls::enc;
use crate::ui::{Ctx, Page, PageError, error_page, html};

/// A form carries the whole file, URL-encoded (up to three bytes per byte): room for the
/// largest file `editing` accepts, so that it, not the body limit, says "too large".
pub const EDITOR_BODY_LIMIT: usize = editing::MAX_FORM_BYTES;

/// Line numbers drawn at most.
const MAX_GUTTER_LINES: usize = 100_000;

#[derive(Debug, Serialize)]
pub struct FileLink {
    pub name: String,
    pub url: String,
}

#[derive(Debug, Serialize)]
pub struct KindFiles {
    pub kind: &'static str,
    pub title: &'static str,
    pub files: Vec<FileLink>,
}

/// `/editors`: every kind of file with its files.
#[derive(Debug, Serialize)]
pub struct EditorsPage {
    pub kinds: Vec<KindFiles>,
    /// Why this server does not let the editors write (`editors_allowed`), if it does not.
    pub refused: Option<String>,
}

impl Page for EditorsPage {
    const TEMPLATE: &'static str = "editors.html";
}

#[derive(Debug, Serialize)]
pub struct CheckLink {
    pub id: String,
    pub name: String,
    pub scope: &'static str,
    pub file: String,
    pub line: u32,
    /// The check's file in the editor, at the line of its id.
    pub url: String,
}

#[derive(Debug, Serialize)]
pub struct CheckGroup {
    pub kind: String,
    pub checks: Vec<CheckLink>,
}

/// `/editors/checks`: the checks library by kind, each check linked to its line.
#[derive(Debug, Serialize)]
pub struct ChecksEditorPage {
    pub groups: Vec<CheckGroup>,
    pub files: Vec<FileLink>,
    pub refused: Option<String>,
}

impl Page for ChecksEditorPage {
    const TEMPLATE: &'static str = "editors-checks.html";
}

/// One line of the gutter.
#[derive(Debug, Serialize)]
pub struct GutterLine {
    pub n: usize,
    /// The diagnostics of this line, for the number's tooltip; empty when it has none.
    pub problems: String,
    /// The worst level among them (`error`, `warning`), for the number's class.
    pub level: &'static str,
}

#[derive(Debug, Serialize)]
pub struct ProblemView {
    pub line: u32,
    pub col: u32,
    pub level: &'static str,
    pub code: &'static str,
    pub message: String,
    /// The file, when the problem is in another one (a check naming a missing metric).
    pub other_file: Option<String>,
}

/// One check of the edited text, with a form that sends its edited expression to the tester.
#[derive(Debug, Serialize)]
pub struct TestForm {
    pub id: String,
    pub expr: String,
    pub vars: Vec<checks::Var>,
}

#[derive(Debug, Serialize)]
pub struct Notice {
    /// `ok` or `error`, for its class.
    pub class: &'static str,
    pub text: String,
    /// The reload's problems when it did not apply.
    pub problems: Vec<ProblemView>,
}

/// The file carries an importer's mark (`import::layout::MARK`): which command generated
/// it and what that command's next run does to what is saved here.
#[derive(Debug, Serialize)]
pub struct Generated {
    /// `rackscope import <importer>`.
    pub command: String,
    /// What that import read, as the mark says.
    pub source: Option<String>,
    /// What the next run of the command does to hand edits.
    pub reimport: &'static str,
    /// How to keep hand edits; empty when the import leaves the file alone anyway.
    pub keep: &'static str,
}

/// `/editors/{kind}/{name}`: one file in the editor.
#[derive(Debug, Serialize)]
pub struct EditorPage {
    pub kind: &'static str,
    pub kind_title: &'static str,
    pub name: String,
    /// Where the form posts (this page).
    pub action: String,
    pub text: String,
    pub etag: String,
    /// Textarea size: every line shown, so the gutter lines up without a script.
    pub rows: usize,
    pub cols: usize,
    pub lines: Vec<GutterLine>,
    pub problems: Vec<ProblemView>,
    /// A validation ran and found nothing.
    pub clean: bool,
    pub notice: Option<Notice>,
    /// The file changed under the user: the difference, their text kept in the form.
    pub conflict: Option<String>,
    pub error: Option<String>,
    pub refused: Option<String>,
    pub is_checks: bool,
    /// The text does not parse, so its checks cannot be listed for testing.
    pub tests_unparsed: bool,
    pub tests: Vec<TestForm>,
    pub tester_enabled: bool,
    /// A YAML file: the page loads the highlighter for `rackscope.js` to use (without
    /// JavaScript the text area stays plain).
    pub highlight: bool,
    /// The text is an importer's output.
    pub generated: Option<Generated>,
}

impl Page for EditorPage {
    const TEMPLATE: &'static str = "editor.html";
}

/// The editor's URL for a file: each path segment encoded, the slashes kept.
pub fn editor_url(kind: Kind, name: &str) -> String {
    let path: Vec<String> = name.split('/').map(enc).collect();
    format!("/editors/{}/{}", kind.as_str(), path.join("/"))
}

pub(crate) fn refused(st: &AppState) -> Option<String> {
    crate::server::editing_api::editors_allowed(st).err()
}

pub(crate) fn editors_crumbs() -> Vec<Link> {
    vec![
        Link {
            name: "Overview".into(),
            url: "/".into(),
        },
        Link {
            name: "Editors".into(),
            url: "/editors".into(),
        },
    ]
}

async fn files_of(config: &Arc<Config>, kind: Kind) -> Vec<FileLink> {
    let config = config.clone();
    let names = editing::blocking(move || Ok(editing::list(&config, kind)))
        .await
        .unwrap_or_default();
    names
        .into_iter()
        .map(|name| FileLink {
            url: editor_url(kind, &name),
            name,
        })
        .collect()
}

/// `GET /editors`.
pub async fn index(State(st): State<AppState>, ctx: Ctx) -> Response {
    // The running configuration, not the snapshot's: right after a save it is the newer.
    let config = st.engine.config();
    let mut kinds = Vec::new();
    for kind in Kind::ALL {
        kinds.push(KindFiles {
            kind: kind.as_str(),
            title: kind.title(),
            files: files_of(&config, kind).await,
        });
    }
    let page = EditorsPage {
        kinds,
        refused: refused(&st),
    };
    let (snap, _) = world(&st);
    let mut crumbs = editors_crumbs();
    crumbs.truncate(1);
    let c = chrome(
        &st,
        &ctx,
        &config,
        snap.as_deref(),
        "Editors",
        "editors",
        crumbs,
    );
    html(&st, &ctx, StatusCode::OK, &c, &page)
}

/// `GET /editors/checks`: seed 002's checks editor.
pub async fn checks_index(State(st): State<AppState>, ctx: Ctx) -> Response {
    let config = st.engine.config();
    let groups = checks::library(&config)
        .into_iter()
        .map(|g| CheckGroup {
            kind: g.kind,
            checks: g
                .checks
                .into_iter()
                .map(|c| {
                    let found = config.checks.get(&c.id);
                    let line = found.map_or(1, |s| s.def.id.pos.line.max(1));
                    let name = found.map_or_else(
                        || c.file.clone(),
                        |s| relative(&config.paths.checks, &s.file),
                    );
                    CheckLink {
                        url: format!("{}#L{line}", editor_url(Kind::Checks, &name)),
                        id: c.id,
                        name: c.name,
                        scope: c.scope,
                        file: name,
                        line,
                    }
                })
                .collect(),
        })
        .collect();
    let page = ChecksEditorPage {
        groups,
        files: files_of(&config, Kind::Checks).await,
        refused: refused(&st),
    };
    let (snap, _) = world(&st);
    let c = chrome(
        &st,
        &ctx,
        &config,
        snap.as_deref(),
        "Checks editor",
        "editors",
        editors_crumbs(),
    );
    html(&st, &ctx, StatusCode::OK, &c, &page)
}

/// A file's name as `editing` lists it: relative to its kind's directory, `/`-separated.
fn relative(dir: &std::path::Path, file: &std::path::Path) -> String {
    let rel = file
        .strip_prefix(dir)
        .ok()
        .filter(|r| !r.as_os_str().is_empty())
        .or_else(|| file.file_name().map(std::path::Path::new))
        .unwrap_or(file);
    rel.components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/")
}

#[derive(Debug, Deserialize)]
pub struct Saved {
    #[serde(default)]
    pub saved: Option<String>,
}

/// What the editor shows besides the file: the state of the form.
#[derive(Default)]
struct Shown {
    problems: Vec<Problem>,
    clean: bool,
    notice: Option<Notice>,
    conflict: Option<String>,
    error: Option<String>,
}

fn problem_view(p: &Problem, here: bool) -> ProblemView {
    ProblemView {
        line: p.line,
        col: p.col,
        level: p.level,
        code: p.code,
        message: p.message.clone(),
        other_file: (!here).then(|| p.file.clone()),
    }
}

/// Whether a problem's file is the one being edited (`editing` reports the path it
/// validated; the stub and the real module may spell it relative or absolute).
fn is_here(p: &Problem, name: &str) -> bool {
    let file = p.file.replace('\\', "/");
    file == name || file.ends_with(&format!("/{name}"))
}

fn parse_kind(s: &str) -> Result<Kind, PageError> {
    Kind::parse(s).ok_or_else(|| PageError::NotFound {
        kind: "editor",
        id: s.to_owned(),
    })
}

/// The page's error for a file that cannot be opened at all.
fn open_error(kind: Kind, name: &str, e: &EditingError) -> PageError {
    match e {
        EditingError::BadName(_) | EditingError::NotFound(_) => PageError::NotFound {
            kind: "file",
            id: format!("{}/{name}", kind.as_str()),
        },
        other => PageError::Internal(other.to_string()),
    }
}

fn fail(st: &AppState, ctx: &Ctx, err: &PageError) -> Response {
    let (snap, config) = world(st);
    let c = chrome(
        st,
        ctx,
        &config,
        snap.as_deref(),
        "Editors",
        "editors",
        editors_crumbs(),
    );
    error_page(st, ctx, &c, err)
}

/// `GET /editors/{kind}/{*name}`.
pub async fn open(
    State(st): State<AppState>,
    ctx: Ctx,
    Path((kind, name)): Path<(String, String)>,
    Query(q): Query<Saved>,
) -> Response {
    let kind = match parse_kind(&kind) {
        Ok(k) => k,
        Err(e) => return fail(&st, &ctx, &e),
    };
    let config = st.engine.config();
    let opened = {
        let (config, name) = (config.clone(), name.clone());
        editing::blocking(move || editing::open(&config, kind, &name)).await
    };
    let opened = match opened {
        Ok(o) => o,
        Err(e) => return fail(&st, &ctx, &open_error(kind, &name, &e)),
    };
    let mut shown = Shown::default();
    if q.saved.is_some() {
        shown.notice = Some(reload_notice(&st, &name));
    }
    editor(
        &st,
        &ctx,
        &config,
        kind,
        &name,
        opened.text,
        opened.etag,
        shown,
        StatusCode::OK,
    )
}

/// What the reload after a save did, from the reloader's status.
fn reload_notice(st: &AppState, name: &str) -> Notice {
    let s = st.reload.status();
    if s.ok {
        Notice {
            class: "ok",
            text: format!(
                "Saved; the configuration reloaded (generation {}).",
                s.generation
            ),
            problems: Vec::new(),
        }
    } else {
        Notice {
            class: "error",
            text: format!(
                "Saved, but the configuration did not reload ({} error(s)): the last good one keeps running.",
                s.error_count
            ),
            problems: s
                .errors
                .iter()
                .map(|p| problem_view(p, is_here(p, name)))
                .collect(),
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct EditForm {
    #[serde(default)]
    pub text: String,
    #[serde(default)]
    pub etag: String,
    #[serde(default)]
    pub action: String,
}

/// `POST /editors/{kind}/{*name}`: validate or save the submitted text. Whatever happens,
/// the user's text comes back in the form: nothing they typed is lost.
pub async fn submit(
    State(st): State<AppState>,
    ctx: Ctx,
    Path((kind, name)): Path<(String, String)>,
    axum::Form(f): axum::Form<EditForm>,
) -> Response {
    let kind = match parse_kind(&kind) {
        Ok(k) => k,
        Err(e) => return fail(&st, &ctx, &e),
    };
    let config = st.engine.config();
    // Browsers send a textarea's line breaks as CRLF; the files are LF.
    let text = f.text.replace("\r\n", "\n");
    let mut shown = Shown::default();
    if let Some(why) = refused(&st) {
        shown.error = Some(format!("The editors cannot write on this server: {why}"));
        return editor(
            &st,
            &ctx,
            &config,
            kind,
            &name,
            text,
            f.etag,
            shown,
            StatusCode::FORBIDDEN,
        );
    }
    let save = f.action == "save";
    let result = {
        let (config, name, text, etag) =
            (config.clone(), name.clone(), text.clone(), f.etag.clone());
        let who = crate::editing::actor(ctx.user.name.clone());
        editing::blocking(move || {
            if save {
                editing::save(&config, kind, &name, &text, &etag, &who).map(|_| Vec::new())
            } else {
                editing::validate(&config, kind, &name, &text)
            }
        })
        .await
    };
    let mut etag = f.etag;
    let status = match result {
        Ok(_) if save => {
            tracing::info!(kind = kind.as_str(), file = %name, who = ?ctx.user.name, "Saved from the editor.");
            // The pipeline wrote a valid configuration: apply it now rather than wait for
            // the file watcher, so that the page after the redirect reports the outcome.
            st.reload.reload("editor").await;
            let url = format!("{}?saved=1", editor_url(kind, &name));
            return Redirect::to(&url).into_response();
        }
        Ok(problems) => {
            shown.clean = problems.is_empty();
            shown.problems = problems;
            StatusCode::OK
        }
        // Validating found errors: that is the answer asked for, not a failure.
        Err(EditingError::Invalid(problems)) if !save => {
            shown.error = Some("The configuration would not load with this text.".into());
            shown.problems = problems;
            StatusCode::OK
        }
        Err(EditingError::Invalid(problems)) => {
            shown.error = Some("Not saved: the configuration would not load.".into());
            shown.problems = problems;
            StatusCode::UNPROCESSABLE_ENTITY
        }
        Err(EditingError::Conflict { current_etag, diff }) => {
            // The next save is a deliberate choice to replace the file the user has now
            // seen the difference with, so the form carries the current version's tag.
            etag = current_etag;
            shown.conflict = Some(diff);
            StatusCode::CONFLICT
        }
        Err(e @ (EditingError::BadName(_) | EditingError::NotFound(_))) => {
            return fail(&st, &ctx, &open_error(kind, &name, &e));
        }
        Err(e @ EditingError::TooLarge(_)) => {
            shown.error = Some(format!("Not saved: {e}."));
            StatusCode::PAYLOAD_TOO_LARGE
        }
        Err(e @ EditingError::Io(_)) => {
            tracing::error!(kind = kind.as_str(), file = %name, error = %e, "The editor could not save.");
            shown.error = Some(format!("Not saved: {e}."));
            StatusCode::INTERNAL_SERVER_ERROR
        }
    };
    editor(&st, &ctx, &config, kind, &name, text, etag, shown, status)
}

/// The editor page for `text`, with the state of the form.
#[allow(clippy::too_many_arguments)]
fn editor(
    st: &AppState,
    ctx: &Ctx,
    config: &Config,
    kind: Kind,
    name: &str,
    text: String,
    etag: String,
    shown: Shown,
    status: StatusCode,
) -> Response {
    let mut by_line: BTreeMap<usize, (Vec<String>, &'static str)> = BTreeMap::new();
    for p in shown.problems.iter().filter(|p| is_here(p, name)) {
        let e = by_line
            .entry(p.line.max(1) as usize)
            .or_insert((Vec::new(), "warning"));
        e.0.push(format!("{}[{}] {}", p.level, p.code, p.message));
        if p.level == "error" {
            e.1 = "error";
        }
    }
    // A textarea shows one more line after a final line break: count it, so the gutter
    // has a number for every line the user sees.
    // One pass for both the line count and the widest line.
    let (count, widest) = text.split('\n').fold((0usize, 0usize), |(n, w), l| {
        (n + 1, w.max(l.chars().count()))
    });
    // The gutter is one element per line: past this many lines (a file of blank lines, say)
    // it stops, rather than turn one request into a page of hundreds of megabytes.
    let lines = (1..=count.min(MAX_GUTTER_LINES))
        .map(|n| {
            let (problems, level) = by_line
                .get(&n)
                .map_or((String::new(), ""), |(m, l)| (m.join("\n"), *l));
            GutterLine { n, problems, level }
        })
        .collect();
    let cols = widest.clamp(60, 400) + 2;
    let is_checks = kind == Kind::Checks;
    let (tests, tests_unparsed) = if is_checks {
        test_forms(config, &text)
    } else {
        (Vec::new(), false)
    };
    let page = EditorPage {
        highlight: name.ends_with(".yaml") || name.ends_with(".yml"),
        generated: generated(config, kind, name, &text),
        kind: kind.as_str(),
        kind_title: kind.title(),
        name: name.to_owned(),
        action: editor_url(kind, name),
        rows: count + 1,
        cols,
        lines,
        problems: shown
            .problems
            .iter()
            .map(|p| problem_view(p, is_here(p, name)))
            .collect(),
        clean: shown.clean,
        notice: shown.notice,
        conflict: shown.conflict,
        error: shown.error,
        refused: refused(st),
        is_checks,
        tests_unparsed,
        tests,
        tester_enabled: config.app.api.query_tester,
        text,
        etag,
    };
    let (snap, _) = world(st);
    let mut crumbs = editors_crumbs();
    if is_checks {
        crumbs.push(Link {
            name: "Checks".into(),
            url: "/editors/checks".into(),
        });
    }
    let c = chrome(st, ctx, config, snap.as_deref(), name, "editors", crumbs);
    html(st, ctx, status, &c, &page)
}

/// The notice for a text that carries an importer's mark, stating what that importer does
/// with the file at this place (`import::layout::reimport`, the import's own rule): the
/// place is the file's path under the configuration's directory, where `rackscope import
/// --out` writes.
fn generated(config: &Config, kind: Kind, name: &str, text: &str) -> Option<Generated> {
    use crate::import::layout::{Reimport, mark, reimport};
    let m = mark(text)?;
    let path = editing::configured_path(config, kind, name);
    let at = path.strip_prefix(&config.base_dir).unwrap_or(&path);
    const KEEP: &str = "To keep your changes for good, delete the first two lines (the mark) \
        before saving: the importer then treats the file as yours and stops with a conflict \
        rather than overwrite it (unless run with --force).";
    let (reimport, keep) = match reimport(m.importer, at) {
        Reimport::Replaced => (
            "Its next run into this configuration's directory rewrites the whole file from \
             the source: changes saved here last only until then. A run whose source no \
             longer has what the file describes may remove it.",
            KEEP,
        ),
        Reimport::KeepsChecksAndMetrics => (
            "Its next run into this configuration's directory rewrites the whole file from \
             the source, keeping only the one-line checks: and metrics: entries added to the \
             template (such as checks: [node_up]): every other change saved here lasts only \
             until then.",
            KEEP,
        ),
        Reimport::LeftAlone => (
            "This file is not at a path that importer writes in this configuration's \
             directory, so an import there neither rewrites nor removes it.",
            "",
        ),
    };
    Some(Generated {
        command: format!("rackscope import {}", m.importer),
        source: m.source.map(str::to_owned),
        reimport,
        keep,
    })
}

/// The checks of the edited text (`checks:` and the lists under `kinds:`), each with the
/// tester's placeholders filled with values from the running topology; and whether the
/// text did not parse.
fn test_forms(config: &Config, text: &str) -> (Vec<TestForm>, bool) {
    use rackscope_core::yaml::{Kind as Y, Node};
    let Ok(doc) = rackscope_core::yaml::parse(text) else {
        return (Vec::new(), true);
    };
    let mut items: Vec<&Node> = Vec::new();
    if let Some(list) = doc.get("checks").and_then(Node::seq) {
        items.extend(list);
    }
    if let Some(Node {
        kind: Y::Map(groups),
        ..
    }) = doc.get("kinds")
    {
        for (_, list) in groups {
            items.extend(list.seq().unwrap_or(&[]));
        }
    }
    let examples = checks::example_values(config);
    let forms = items
        .into_iter()
        .filter_map(|c| {
            let id = c.get("id")?.as_str()?.to_owned();
            let expr = c.get("expr")?.as_str()?.to_owned();
            let vars = examples
                .iter()
                .filter(|(name, _)| expr.contains(name))
                .map(|(name, example)| checks::Var {
                    name: name.trim_start_matches('$').to_owned(),
                    value: example.clone(),
                })
                .collect();
            Some(TestForm { id, expr, vars })
        })
        .collect();
    (forms, false)
}
