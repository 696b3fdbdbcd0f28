//! Editing the configuration's files through the server (issue #18): list, open, validate
//! and save one file of one kind (app.yaml, topology, templates, checks, metrics). A save
//! happens under a lock on its directory, only when the file is still what the editor
//! opened (its entity tag) and only when the whole configuration with the new text loads
//! (`core::load::load_overlay`, nothing written otherwise); then it is written atomically
//! with its mode and owner kept, audited, and committed to Git when asked. Blocking
//! functions, no HTTP: the JSON API (`server::editing_api`) and the editor pages call them
//! from `spawn_blocking`.

use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};

use rackscope_core::Config;
use rackscope_core::edit::write_atomic;
use rackscope_core::vfs::Overlay;
use rackscope_core::walk::read_bounded;
use serde::Serialize;
use utoipa::ToSchema;

pub mod apply;
pub mod diff;

pub use apply::apply;

/// The largest text an editor opens or saves: configuration files are written by people;
/// a generated topology past this is edited by its generator, not in a browser.
pub const MAX_TEXT_BYTES: usize = 16 * 1024 * 1024;
/// The largest form carrying a file's text: URL-encoding takes up to three bytes per byte.
pub const MAX_FORM_BYTES: usize = 3 * MAX_TEXT_BYTES + 64 * 1024;
/// Problems returned by a validation (the count of the rest is in the log).
const MAX_PROBLEMS: usize = 200;
/// Lines of the diff returned with a conflict.
const MAX_DIFF_LINES: usize = 200;

/// The kinds of files an editor edits, one per configured path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    App,
    Topology,
    Templates,
    Checks,
    Metrics,
    /// The Slurm view's files: `plugins/slurm/config.yml` and its node mapping.
    Slurm,
}

impl Kind {
    pub const ALL: [Kind; 6] = [
        Kind::App,
        Kind::Topology,
        Kind::Templates,
        Kind::Checks,
        Kind::Metrics,
        Kind::Slurm,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::App => "app",
            Kind::Topology => "topology",
            Kind::Templates => "templates",
            Kind::Checks => "checks",
            Kind::Metrics => "metrics",
            Kind::Slurm => "slurm",
        }
    }

    pub fn parse(s: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    pub fn title(self) -> &'static str {
        match self {
            Kind::App => "Settings (app.yaml)",
            Kind::Topology => "Topology",
            Kind::Templates => "Templates",
            Kind::Checks => "Checks",
            Kind::Metrics => "Metrics",
            Kind::Slurm => "Slurm (plugins/slurm)",
        }
    }

    /// Whether files of this kind may end in `ext`: YAML everywhere, Rhai scripts among the
    /// checks.
    fn accepts(self, ext: &str) -> bool {
        matches!(ext, "yaml" | "yml") || (self == Kind::Checks && ext == "rhai")
    }
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One diagnostic, as `rackscope check` would print it: the shape of a refused reload and
/// of a refused edit alike (re-exported as `server::reload::Problem`).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Problem {
    pub file: String,
    pub line: u32,
    pub col: u32,
    pub code: &'static str,
    /// `error` or `warning`.
    pub level: &'static str,
    pub message: String,
}

impl Problem {
    pub fn of(d: &rackscope_core::Diagnostic) -> Problem {
        Problem {
            file: d.span.file.display().to_string(),
            line: d.span.pos.line,
            col: d.span.pos.col,
            code: d.code,
            level: match d.level {
                rackscope_core::Level::Error => "error",
                _ => "warning",
            },
            message: d.message.clone(),
        }
    }
}

/// A file as an editor opened it.
#[derive(Debug, Clone)]
pub struct Opened {
    pub kind: Kind,
    /// Relative to the kind's `root` (the file name when the root is a file).
    pub name: String,
    /// Where it is on disk (symlinks resolved).
    pub path: PathBuf,
    pub text: String,
    /// `etag(text)`: what a save must send back as `If-Match`.
    pub etag: String,
}

#[derive(Debug, thiserror::Error)]
pub enum EditingError {
    /// A name that is not one of this kind's files: absolute, with `..`, hidden, of another
    /// extension, or leaving the kind's root once symlinks are resolved.
    #[error("`{0}` is not a file name this editor accepts")]
    BadName(String),
    #[error("no file `{0}`")]
    NotFound(String),
    #[error("the text is {0} bytes; the editor takes at most 16 MiB")]
    TooLarge(usize),
    /// The whole configuration with this text would not load; nothing was written.
    #[error("the configuration would not load with this text: {}", first_problem(.0))]
    Invalid(Vec<Problem>),
    /// The file changed on disk since it was opened; nothing was written.
    #[error("the file changed on disk since it was opened; reload it and apply the edit again")]
    Conflict { current_etag: String, diff: String },
    #[error("{0}")]
    Io(String),
}

fn first_problem(problems: &[Problem]) -> String {
    match problems.first() {
        Some(p) => format!(
            "{}:{}:{}: {} ({} problem(s))",
            p.file,
            p.line,
            p.col,
            p.message,
            problems.len()
        ),
        None => "no detail".to_owned(),
    }
}

/// The entity tag of a text: `"sha256-<first 32 hex digits>"`, quotes included, as HTTP
/// writes it in `ETag` and `If-Match`.
pub fn etag(text: &str) -> String {
    use sha2::Digest as _;
    let digest = sha2::Sha256::digest(text.as_bytes());
    let hex: String = digest.iter().take(16).map(|b| format!("{b:02x}")).collect();
    format!("\"sha256-{hex}\"")
}

/// Where files of `kind` live: app.yaml itself; `paths.topology` (a file or a directory);
/// the configured templates, checks and metrics paths.
pub fn root(config: &Config, kind: Kind) -> PathBuf {
    match kind {
        Kind::App => config.app_file.clone(),
        Kind::Topology => config.paths.topology.clone(),
        Kind::Templates => config.paths.templates.clone(),
        Kind::Checks => config.paths.checks.clone(),
        Kind::Metrics => config.paths.metrics.clone(),
        Kind::Slurm => config.base_dir.join("plugins/slurm"),
    }
}

/// Where file `name` of `kind` is as the configuration names it, links not followed
/// (how an import into the configuration's directory sees it): the root itself when it is
/// that YAML file, else the name under the root. No check and no I/O: for a file `open`
/// accepted.
pub fn configured_path(config: &Config, kind: Kind, name: &str) -> PathBuf {
    let root = root(config, kind);
    let is_the_root = kind == Kind::App
        || (file_name(&root).as_deref() == Some(name)
            && root
                .extension()
                .and_then(|x| x.to_str())
                .is_some_and(|x| kind.accepts(x)));
    if is_the_root { root } else { root.join(name) }
}

/// The files of `kind`, relative to `root`, sorted: every YAML file under a directory root
/// (and the Rhai scripts among the checks), hidden ones and those whose links leave the
/// root left out; a root that is a file gives its name.
pub fn list(config: &Config, kind: Kind) -> Vec<String> {
    let root = root(config, kind);
    if root.is_file() {
        return file_name(&root).into_iter().collect();
    }
    let Ok(real_root) = std::fs::canonicalize(&root) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let mut stack = vec![root.clone()];
    while let Some(dir) = stack.pop() {
        // Each directory once, whatever the links: a loop cannot hang the listing.
        if !rackscope_core::walk::dir_id(&dir).is_some_and(|id| seen.insert(id)) {
            continue;
        }
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if e.file_name().to_string_lossy().starts_with('.') {
                continue;
            }
            if p.is_dir() {
                stack.push(p);
            } else if p
                .extension()
                .and_then(|x| x.to_str())
                .is_some_and(|x| kind.accepts(x))
                && std::fs::canonicalize(&p).is_ok_and(|r| r.starts_with(&real_root))
                && let Ok(rel) = p.strip_prefix(&root)
            {
                out.push(slashed(rel));
            }
        }
    }
    out.sort();
    out
}

fn file_name(p: &Path) -> Option<String> {
    p.file_name().map(|n| n.to_string_lossy().into_owned())
}

/// A relative path with `/` between its parts, as names travel in URLs.
fn slashed(rel: &Path) -> String {
    rel.components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

/// The file `name` of `kind` on disk (symlinks resolved), or why not.
fn resolve(config: &Config, kind: Kind, name: &str) -> Result<PathBuf, EditingError> {
    let bad = || EditingError::BadName(name.to_owned());
    let rel = Path::new(name);
    let plain = !name.is_empty()
        && !name.contains('\\')
        && !name.contains('\0')
        && rel.components().all(|c| match c {
            Component::Normal(part) => !part.to_string_lossy().starts_with('.'),
            _ => false,
        });
    if !plain {
        return Err(bad());
    }
    if !rel
        .extension()
        .and_then(|x| x.to_str())
        .is_some_and(|x| kind.accepts(x))
    {
        return Err(bad());
    }
    let root = root(config, kind);
    let candidate = if root.is_dir() {
        root.join(rel)
    } else if file_name(&root).as_deref() == Some(name) {
        root.clone()
    } else {
        return Err(EditingError::NotFound(name.to_owned()));
    };
    let real = std::fs::canonicalize(&candidate).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => EditingError::NotFound(name.to_owned()),
        _ => EditingError::Io(format!("{}: {e}", candidate.display())),
    })?;
    // After links: a file of a directory root stays inside it; a file root's link may
    // point anywhere, since the operator configured that file by that path.
    if root.is_dir() {
        let real_root = std::fs::canonicalize(&root)
            .map_err(|e| EditingError::Io(format!("{}: {e}", root.display())))?;
        if !real.starts_with(&real_root) {
            return Err(bad());
        }
    }
    if !real.is_file() {
        return Err(EditingError::NotFound(name.to_owned()));
    }
    Ok(real)
}

/// Reads a file an editor may open: at most `MAX_TEXT_BYTES`.
fn read_text(path: &Path) -> Result<String, EditingError> {
    read_bounded(path, MAX_TEXT_BYTES as u64).map_err(|e| {
        if e.kind() == std::io::ErrorKind::FileTooLarge {
            EditingError::TooLarge(std::fs::metadata(path).map_or(0, |m| m.len() as usize))
        } else {
            EditingError::Io(format!("{}: {e}", path.display()))
        }
    })
}

pub fn open(config: &Config, kind: Kind, name: &str) -> Result<Opened, EditingError> {
    let path = resolve(config, kind, name)?;
    let text = read_text(&path)?;
    Ok(Opened {
        kind,
        name: name.to_owned(),
        etag: etag(&text),
        path,
        text,
    })
}

/// Whether the whole configuration loads with file `name` of `kind` replaced by `text`:
/// its warnings when it does, `Invalid` with its errors when it does not, each in file and
/// line order, at most 200.
pub fn validate(
    config: &Config,
    kind: Kind,
    name: &str,
    text: &str,
) -> Result<Vec<Problem>, EditingError> {
    if text.len() > MAX_TEXT_BYTES {
        return Err(EditingError::TooLarge(text.len()));
    }
    let path = resolve(config, kind, name)?;
    validate_at(config, &path, text)
}

fn validate_at(config: &Config, path: &Path, text: &str) -> Result<Vec<Problem>, EditingError> {
    validate_overlay(
        config,
        &Overlay::texts(HashMap::from([(path.to_path_buf(), text.to_owned())])),
    )
}

/// Whether the whole configuration loads with each file of `overlay` read as its text.
fn validate_overlay(config: &Config, overlay: &Overlay) -> Result<Vec<Problem>, EditingError> {
    let loaded = rackscope_core::load::load_overlay(&config.app_file, std::env::vars(), overlay);
    if loaded.is_usable() {
        Ok(loaded
            .diagnostics
            .warnings()
            .take(MAX_PROBLEMS)
            .map(Problem::of)
            .collect())
    } else {
        Err(EditingError::Invalid(
            loaded
                .diagnostics
                .errors()
                .take(MAX_PROBLEMS)
                .map(Problem::of)
                .collect(),
        ))
    }
}

/// Writes `text` as file `name` of `kind` when the file is still the one opened (`if_match`
/// is its etag) and the configuration loads with it; `who` is audited and, with
/// `editors.git_commit`, the commit's author. Only existing files are edited.
pub fn save(
    config: &Config,
    kind: Kind,
    name: &str,
    text: &str,
    if_match: &str,
    who: &str,
) -> Result<Opened, EditingError> {
    if text.len() > MAX_TEXT_BYTES {
        return Err(EditingError::TooLarge(text.len()));
    }
    let path = resolve(config, kind, name)?;
    // One writer at a time, across processes and with `rackscope user`/`token` on app.yaml:
    // the check of the etag and the write must not interleave with another save.
    let lock = apply::lock(&path)?;
    let current = read_text(&path)?;
    let current_etag = etag(&current);
    if current_etag != if_match.trim() {
        return Err(EditingError::Conflict {
            diff: diff::unified(&current, text, MAX_DIFF_LINES),
            current_etag,
        });
    }
    validate_at(config, &path, text)?;
    write_atomic(&path, text, false)
        .map_err(|e| EditingError::Io(format!("{}: {e}", path.display())))?;
    tracing::info!(
        target: "rackscope::audit",
        event = "save",
        user = %who.escape_debug(),
        kind = kind.as_str(),
        name = %name.escape_debug(),
        "configuration file saved"
    );
    if config.app.editors.git_commit {
        git_commit(&path, kind, name, who);
    }
    drop(lock);
    Ok(Opened {
        kind,
        name: name.to_owned(),
        etag: etag(text),
        path,
        text: text.to_owned(),
    })
}

/// Who an edit is audited and committed as: the signed-in user or token, else `anonymous`
/// (editing with sign-in off, where the server allows it).
pub fn actor(name: Option<String>) -> String {
    name.unwrap_or_else(|| "anonymous".to_owned())
}

/// Runs blocking editing work (file IO, whole loads) off the async threads; a task that
/// panicked is an I/O error.
pub async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, EditingError> + Send + 'static,
) -> Result<T, EditingError> {
    tokio::task::spawn_blocking(f)
        .await
        .unwrap_or_else(|e| Err(EditingError::Io(format!("the editing task failed: {e}"))))
}

/// A user name as it may appear in a Git identity: no `<`, `>`, newline or space.
fn identity(who: &str) -> String {
    let clean: String = who
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@') {
                c
            } else {
                '_'
            }
        })
        .take(64)
        .collect();
    if clean.is_empty() {
        "anonymous".to_owned()
    } else {
        clean
    }
}

/// Commits the saved file alone, authored by `who`, when its directory is in a Git work
/// tree. A failure is logged, never the save's: the file is written and running.
fn git_commit(path: &Path, kind: Kind, name: &str, who: &str) {
    let message = format!("rackscope: {} edited {kind}/{name}", identity(who));
    commit(&[path.to_path_buf()], &message, kind.as_str(), who);
}

/// Commits the files of one topology edit together (removed ones included), as
/// `git_commit` does for one file.
pub(crate) fn git_commit_files(paths: &[PathBuf], what: &str, who: &str) {
    let message = format!("rackscope: {} edited the {what}", identity(who));
    commit(paths, &message, what, who);
}

fn commit(paths: &[PathBuf], message: &str, what: &str, who: &str) {
    let Some(dir) = paths.first().and_then(|p| p.parent()) else {
        return;
    };
    // The nearest directory that still exists (a removed rack's directory may be gone).
    let Some(dir) = dir.ancestors().find(|d| d.is_dir()) else {
        return;
    };
    let git = |args: &[&str]| {
        std::process::Command::new("git")
            .arg("-C")
            .arg(dir)
            .args(args)
            .stdin(std::process::Stdio::null())
            .env("GIT_TERMINAL_PROMPT", "0")
            .output()
    };
    match git(&["rev-parse", "--is-inside-work-tree"]) {
        Ok(o) if o.status.success() && o.stdout.starts_with(b"true") => {}
        Ok(_) => {
            tracing::warn!(dir = %dir.display(), "editors.git_commit is set but the configuration is not in a Git work tree; not committed");
            return;
        }
        Err(e) => {
            tracing::warn!(error = %e, "editors.git_commit is set but git does not run; not committed");
            return;
        }
    }
    let who = identity(who);
    let author = format!("{who} <{who}@rackscope>");
    let files: Vec<String> = paths
        .iter()
        .map(|p| p.as_os_str().to_string_lossy().into_owned())
        .collect();
    // The committer is the server's Git identity when it has one; otherwise the user's,
    // so that a server without any Git configuration still commits.
    let mut args: Vec<String> = Vec::new();
    for key in ["user.name", "user.email"] {
        let set = git(&["config", "--get", key]).is_ok_and(|o| o.status.success());
        if !set {
            let value = if key == "user.name" {
                who.clone()
            } else {
                format!("{who}@rackscope")
            };
            args.extend(["-c".to_owned(), format!("{key}={value}")]);
        }
    }
    args.extend(
        [
            "commit", "--quiet", "-m", message, "--author", &author, "--",
        ]
        .map(str::to_owned),
    );
    args.extend(files.iter().cloned());
    // `-A` stages a removed file's deletion as well as a new or changed file.
    let mut add: Vec<&str> = vec!["add", "-A", "--"];
    add.extend(files.iter().map(String::as_str));
    let done = match git(&add) {
        Ok(o) if o.status.success() => {
            let refs: Vec<&str> = args.iter().map(String::as_str).collect();
            git(&refs)
        }
        other => other,
    };
    match done {
        Ok(o) if o.status.success() => {
            tracing::info!(target: "rackscope::audit", event = "commit", user = %who, kind = what, files = files.len(), "configuration committed");
        }
        Ok(o) => tracing::warn!(
            status = %o.status,
            stderr = %String::from_utf8_lossy(&o.stderr).trim(),
            "the saved file was not committed"
        ),
        Err(e) => tracing::warn!(error = %e, "the saved file was not committed"),
    }
}

#[cfg(test)]
mod tests {
    use super::{Kind, etag, identity};

    #[test]
    fn etags_are_quoted_sha256_prefixes() {
        let t = etag("a: 1\n");
        assert_eq!(t.len(), 2 + "sha256-".len() + 32);
        assert!(t.starts_with("\"sha256-") && t.ends_with('"'), "{t}");
        assert_eq!(t, etag("a: 1\n"));
        assert_ne!(t, etag("a: 2\n"));
        // SHA-256 of the empty string.
        assert_eq!(etag(""), "\"sha256-e3b0c44298fc1c149afbf4c8996fb924\"");
    }

    #[test]
    fn kinds_round_trip_and_identities_are_safe() {
        for k in Kind::ALL {
            assert_eq!(Kind::parse(k.as_str()), Some(k));
        }
        assert_eq!(Kind::parse("users"), None);
        assert_eq!(identity("ada"), "ada");
        assert_eq!(identity("x <y>\nz"), "x__y__z");
        assert_eq!(identity(""), "anonymous");
    }
}
