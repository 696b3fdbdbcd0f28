//! Templates and static files: the ones built into the binary, each replaceable from a
//! directory, all parsed at start; and rendering a template with the frame and the page's
//! view model. Knows Tera, not the pages.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

pub mod assets;

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

    /// Renders `template` with `chrome` and `page`; with `fragment` (the sequence number of
    /// the snapshot shown), only what goes inside `<main>` (the banner and the `main`
    /// block), wrapped in the same `<main>` element, then the sidebar tree, whose state
    /// dots follow the snapshot too.
    pub fn render<C: Serialize, P: Serialize>(
        &self,
        template: &str,
        chrome: &C,
        page: &P,
        fragment: Option<u64>,
    ) -> Result<String, String> {
        let mut ctx = tera::Context::new();
        ctx.insert("chrome", chrome);
        ctx.insert("page", page);
        if let Some(seq) = fragment {
            let banner = self
                .tera
                .render("partials/banner.html", &ctx)
                .map_err(|e| error_text(&e))?;
            let body = self
                .tera
                .render_block(template, "main", &ctx)
                .map_err(|e| error_text(&e))?;
            let tree = self
                .tera
                .render("partials/tree.html", &ctx)
                .map_err(|e| error_text(&e))?;
            Ok(format!(
                "<main id=\"main\" data-seq=\"{seq}\">{banner}{body}</main>{tree}"
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
