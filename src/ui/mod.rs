//! The web UI: pages rendered on the server with Tera from one view-model struct each,
//! SVG drawn on the server, and one small hand-written script for live updates. Handlers
//! build data (`pages`, `draw`); templates (`templates/`, embedded, overridable from a
//! directory) only render it.
//!
//! Live updates: `/events` pushes the snapshot sequence number (server-sent events); the
//! script then fetches the same URL with `X-Rackscope-Fragment: main` and swaps `<main>`.
//! Without JavaScript a `<noscript>` refresh reloads the page.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use axum::extract::{FromRequestParts, Query};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use serde::Serialize;

use crate::server::AppState;

pub mod assets;
pub mod chrome;
pub mod draw;
pub mod events;
pub mod files;
pub mod pages;
pub mod rows;
pub mod theme;
pub mod urls;
pub mod world;

pub use pages::routes;

/// A template or static file that could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum UiError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// Tera's message names the template and the line and column, with the source line.
    #[error("template error: {0}")]
    Template(String),
}

/// A file served under `/static/`.
pub struct Asset {
    pub bytes: Vec<u8>,
    pub content_type: &'static str,
}

/// The loaded templates and static files.
pub struct Ui {
    tera: tera::Tera,
    assets: HashMap<String, Asset>,
    /// Changes with the static files' content, so that their URLs can be cached for long.
    pub version: String,
}

impl Ui {
    /// The templates and files built into the binary.
    pub fn embedded() -> Result<Ui, UiError> {
        Ui::load(None)
    }

    /// The built-in templates, each replaced by the file of the same relative name under
    /// `dir` when there is one; other `.html` files there are added (for includes), and
    /// `dir/static/<name>` replaces a static file. Every template is parsed now, so a
    /// broken one stops the start with its position rather than failing a request.
    pub fn load(dir: Option<&Path>) -> Result<Ui, UiError> {
        let mut sources: Vec<(String, String)> = assets::TEMPLATES
            .iter()
            .map(|(n, t)| ((*n).to_owned(), (*t).to_owned()))
            .collect();
        let mut assets: HashMap<String, Asset> = assets::STATIC
            .iter()
            .map(|(n, ct, body)| {
                (
                    (*n).to_owned(),
                    Asset {
                        bytes: body.as_bytes().to_vec(),
                        content_type: ct,
                    },
                )
            })
            .collect();
        if let Some(dir) = dir {
            let mut files = Vec::new();
            walk(dir, &mut files)?;
            for (rel, path) in files {
                let read = |p: &Path| {
                    std::fs::read(p).map_err(|source| UiError::Io {
                        path: p.to_owned(),
                        source,
                    })
                };
                if let Some(name) = rel.strip_prefix("static/") {
                    if let Some(a) = assets.get_mut(name) {
                        a.bytes = read(&path)?;
                    }
                } else if rel.ends_with(".html") {
                    let text = String::from_utf8(read(&path)?).map_err(|e| UiError::Io {
                        path: path.clone(),
                        source: std::io::Error::new(std::io::ErrorKind::InvalidData, e),
                    })?;
                    match sources.iter_mut().find(|(n, _)| *n == rel) {
                        Some(slot) => slot.1 = text,
                        None => sources.push((rel, text)),
                    }
                }
            }
        }
        let mut tera = tera::Tera::default();
        tera.add_raw_templates(sources)
            .map_err(|e| UiError::Template(error_text(&e)))?;
        let version = {
            use std::hash::{Hash, Hasher};
            let mut h = std::collections::hash_map::DefaultHasher::new();
            let mut names: Vec<_> = assets.keys().collect();
            names.sort();
            for n in names {
                n.hash(&mut h);
                assets[n].bytes.hash(&mut h);
            }
            format!("{:08x}", h.finish() as u32)
        };
        Ok(Ui {
            tera,
            assets,
            version,
        })
    }

    pub fn template_names(&self) -> impl Iterator<Item = &str> {
        self.tera.get_template_names()
    }

    pub fn asset(&self, name: &str) -> Option<&Asset> {
        self.assets.get(name)
    }

    /// Renders `template` with `chrome` and `page`; with `fragment`, only what goes inside
    /// `<main>` (the banner and the `main` block), wrapped in the same `<main>` element.
    pub fn render<P: Serialize>(
        &self,
        template: &str,
        chrome: &chrome::Chrome,
        page: &P,
        fragment: bool,
    ) -> Result<String, String> {
        let mut ctx = tera::Context::new();
        ctx.insert("chrome", chrome);
        ctx.insert("page", page);
        if fragment {
            let banner = self
                .tera
                .render("partials/banner.html", &ctx)
                .map_err(|e| error_text(&e))?;
            let body = self
                .tera
                .render_block(template, "main", &ctx)
                .map_err(|e| error_text(&e))?;
            Ok(format!(
                "<main id=\"main\" data-seq=\"{}\">{banner}{body}</main>",
                chrome.seq
            ))
        } else {
            self.tera.render(template, &ctx).map_err(|e| error_text(&e))
        }
    }
}

/// Tera's message and its causes, one per line (the causes hold the position).
fn error_text(e: &tera::Error) -> String {
    let mut out = e.to_string();
    let mut src = std::error::Error::source(e);
    while let Some(s) = src {
        out.push('\n');
        out.push_str(&s.to_string());
        src = s.source();
    }
    out
}

/// Deepest directory and most entries a templates directory may have; a file larger than
/// this is not a template. Far above a real theme, low enough that a link loop or a link to
/// a device cannot exhaust memory.
const WALK_MAX_DEPTH: usize = 32;
const WALK_MAX_ENTRIES: usize = 100_000;
const WALK_MAX_FILE_BYTES: u64 = 16 << 20;

fn too_much(path: &Path, what: String) -> UiError {
    UiError::Io {
        path: path.to_owned(),
        source: std::io::Error::new(std::io::ErrorKind::InvalidData, what),
    }
}

/// The regular files under `root` with their `/`-separated relative names. Links are
/// followed (a theme may link shared files in), but each directory is entered once, by
/// device and inode, so a link loop is walked once, not until memory runs out.
fn walk(root: &Path, out: &mut Vec<(String, PathBuf)>) -> Result<(), UiError> {
    let mut visited = std::collections::HashSet::new();
    let mut stack = vec![(root.to_path_buf(), 0usize)];
    let mut seen = 0usize;
    while let Some((dir, depth)) = stack.pop() {
        std::fs::metadata(&dir).map_err(|source| UiError::Io {
            path: dir.clone(),
            source,
        })?;
        // One notion of "the same directory" for every walk (`core::walk`).
        if !rackscope_core::walk::dir_id(&dir).is_some_and(|id| visited.insert(id)) {
            continue;
        }
        let entries = std::fs::read_dir(&dir).map_err(|source| UiError::Io {
            path: dir.clone(),
            source,
        })?;
        for e in entries.flatten() {
            seen += 1;
            if seen > WALK_MAX_ENTRIES {
                return Err(too_much(
                    root,
                    format!("more than {WALK_MAX_ENTRIES} entries; not a templates directory"),
                ));
            }
            let path = e.path();
            let Ok(meta) = std::fs::metadata(&path) else {
                continue;
            };
            if meta.is_dir() {
                if depth < WALK_MAX_DEPTH {
                    stack.push((path, depth + 1));
                }
            } else if meta.is_file() {
                if meta.len() > WALK_MAX_FILE_BYTES {
                    return Err(too_much(
                        &path,
                        format!("larger than {} MiB", WALK_MAX_FILE_BYTES >> 20),
                    ));
                }
                if let Ok(rel) = path.strip_prefix(root) {
                    let rel = rel
                        .components()
                        .map(|c| c.as_os_str().to_string_lossy())
                        .collect::<Vec<_>>()
                        .join("/");
                    out.push((rel, path));
                }
            }
        }
    }
    out.sort();
    Ok(())
}

pub const THEMES: [&str; 3] = ["dark", "light", "matrix"];
const THEME_COOKIE: &str = "rackscope_theme";
const FRAGMENT_HEADER: &str = "x-rackscope-fragment";

/// What every page needs to know about its request.
#[derive(Debug, Clone)]
pub struct Ctx {
    pub theme: &'static str,
    /// The position in the NOC playlist, when the page is shown on the wallboard.
    pub playlist: Option<usize>,
    /// Only `<main>` is wanted (a live update).
    pub fragment: bool,
    pub request_id: String,
    /// Path and query, for links back to this page.
    pub here: String,
}

impl FromRequestParts<AppState> for Ctx {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &AppState) -> Result<Ctx, Self::Rejection> {
        let h = &parts.headers;
        let theme = h
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|kv| kv.trim().strip_prefix(THEME_COOKIE)?.strip_prefix('='))
            .find_map(|v| THEMES.iter().find(|t| **t == v).copied())
            .unwrap_or(THEMES[0]);
        let query: HashMap<String, String> = Query::try_from_uri(&parts.uri)
            .map(|Query(q)| q)
            .unwrap_or_default();
        let playlist = query
            .get("kiosk")
            .filter(|v| *v != "0")
            .map(|_| query.get("pl").and_then(|p| p.parse().ok()).unwrap_or(0));
        Ok(Ctx {
            theme,
            playlist,
            fragment: h.contains_key(FRAGMENT_HEADER),
            request_id: h
                .get("x-request-id")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_owned(),
            here: parts
                .uri
                .path_and_query()
                .map_or_else(|| "/".to_owned(), |p| p.as_str().to_owned()),
        })
    }
}

/// A page's view model, bound to the template that renders it.
pub trait Page: Serialize {
    /// The template's name under `templates/`.
    const TEMPLATE: &'static str;
}

/// A page's HTML, or the error page when rendering failed.
pub fn html<P: Page>(
    st: &AppState,
    ctx: &Ctx,
    status: StatusCode,
    chrome: &chrome::Chrome,
    page: &P,
) -> Response {
    let template = P::TEMPLATE;
    match st.ui.render(template, chrome, page, ctx.fragment) {
        Ok(body) => {
            let mut r = (status, Html(body)).into_response();
            // Pages show live state: a cached copy would be a lie.
            let h = r.headers_mut();
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            // The fragment shares the page's URL: caches must keep them apart.
            h.insert(
                header::VARY,
                HeaderValue::from_static("x-rackscope-fragment"),
            );
            r
        }
        Err(e) => {
            tracing::error!(template, error = %e, request_id = %ctx.request_id, "Page rendering failed.");
            let err = PageError::Internal(format!("the page `{template}` could not be rendered"));
            error_page(st, ctx, chrome, &err)
        }
    }
}

/// Why a page cannot be shown.
#[derive(Debug, Clone, thiserror::Error)]
pub enum PageError {
    #[error("{kind} `{id}` not found")]
    NotFound { kind: &'static str, id: String },
    #[error("no page at {0}")]
    NoRoute(String),
    #[error("{0}")]
    Internal(String),
}

impl PageError {
    pub fn status(&self) -> StatusCode {
        match self {
            PageError::NotFound { .. } | PageError::NoRoute(_) => StatusCode::NOT_FOUND,
            PageError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

#[derive(Serialize)]
struct ErrorPage<'a> {
    status: u16,
    title: &'static str,
    message: String,
    request_id: &'a str,
}

impl Page for ErrorPage<'_> {
    const TEMPLATE: &'static str = "error.html";
}

/// The error page; if even that cannot be rendered, plain text, never a loop.
pub fn error_page(st: &AppState, ctx: &Ctx, chrome: &chrome::Chrome, err: &PageError) -> Response {
    let status = err.status();
    let page = ErrorPage {
        status: status.as_u16(),
        title: match err {
            PageError::Internal(_) => "Something broke on our side",
            _ => "Not found",
        },
        message: err.to_string(),
        request_id: &ctx.request_id,
    };
    let chrome = chrome.titled(page.title);
    match st
        .ui
        .render(ErrorPage::TEMPLATE, &chrome, &page, ctx.fragment)
    {
        Ok(body) => (status, Html(body)).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "The error page could not be rendered.");
            (
                status,
                format!("{}\nrequest id: {}\n", page.message, ctx.request_id),
            )
                .into_response()
        }
    }
}

#[cfg(all(test, unix))]
mod walk_tests {
    use super::*;

    #[test]
    fn a_templates_directory_with_link_loops_loads_once() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        std::fs::create_dir_all(dir.join("partials")).unwrap();
        std::fs::write(dir.join("partials/extra.html"), "extra").unwrap();
        // Two self-links: a walk that follows them blindly visits 2^40 paths.
        std::os::unix::fs::symlink(".", dir.join("l1")).unwrap();
        std::os::unix::fs::symlink(".", dir.join("l2")).unwrap();
        std::os::unix::fs::symlink("..", dir.join("partials/up")).unwrap();
        // Not a regular file: never read.
        std::os::unix::fs::symlink("/dev/zero", dir.join("zero.html")).unwrap();
        let mut files = Vec::new();
        walk(dir, &mut files).unwrap();
        let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["partials/extra.html"]);
        assert!(Ui::load(Some(dir)).is_ok());
    }
}
