//! Live configuration: the whole configuration loaded again, on a change of its files
//! (watched, debounced, so a `git pull` of twenty files is one reload), on SIGHUP and on
//! `POST /api/config/reload`. A new configuration is applied only when it is usable;
//! otherwise the last good one keeps running and the diagnostics are kept for the banner,
//! `GET /api/config/status` and `/metrics`. `Engine::reload` carries the `for:` timers of
//! unchanged checks over.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use arc_swap::ArcSwap;
use rackscope_core::telemetry::Engine;
use serde::Serialize;
use utoipa::ToSchema;

/// Quiet time after the last file event before reloading: a checkout writes its files
/// within milliseconds of each other.
const DEBOUNCE: Duration = Duration::from_millis(400);
/// A stream of events that never pauses (a log file in the directory) still reloads this
/// often at most.
const MAX_DELAY: Duration = Duration::from_secs(5);
/// Diagnostics kept for the status (the count is exact; the list is what people read).
const MAX_KEPT: usize = 200;

/// One diagnostic of a refused reload, as `rackscope check` would print it; defined with
/// the editors, which refuse an edit with the same shape.
pub use crate::editing::Problem;

/// How the last reload went; `ConfigStatus` in the OpenAPI document, where `Status` is
/// the probes' answer.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = ConfigStatus)]
pub struct Status {
    /// The configuration running is the one on disk (the last reload, if any, succeeded).
    pub ok: bool,
    /// Reloads applied since the server started (0: the one it started with).
    pub generation: u64,
    /// Unix seconds of the last attempt and of the last success (the start counts as one).
    pub last_attempt: f64,
    pub last_success: f64,
    /// What started the last attempt: `start`, `files`, `signal`, `api`, `editor`.
    pub trigger: String,
    pub error_count: usize,
    pub warning_count: usize,
    /// The errors (at most 200) that kept the last attempt from being applied.
    pub errors: Vec<Problem>,
}

/// The reloads of one server.
pub struct Reloader {
    app_file: PathBuf,
    engine: Arc<Engine>,
    status: ArcSwap<Status>,
    /// One reload at a time: a signal during a file-triggered reload waits its turn.
    running: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for Reloader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reloader")
            .field("app_file", &self.app_file)
            .finish_non_exhaustive()
    }
}

fn unix(t: SystemTime) -> f64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

impl Reloader {
    pub fn new(engine: Arc<Engine>) -> Reloader {
        let now = unix(SystemTime::now());
        Reloader {
            app_file: engine.config().app_file.clone(),
            engine,
            status: ArcSwap::from_pointee(Status {
                ok: true,
                generation: 0,
                last_attempt: now,
                last_success: now,
                trigger: "start".into(),
                error_count: 0,
                warning_count: 0,
                errors: Vec::new(),
            }),
            running: tokio::sync::Mutex::new(()),
        }
    }

    pub fn status(&self) -> Arc<Status> {
        self.status.load_full()
    }

    /// Loads the configuration again and applies it when usable; then refreshes, so that
    /// pages show the new checks without waiting for the next cycle.
    pub async fn reload(&self, trigger: &str) -> Arc<Status> {
        let _turn = self.running.lock().await;
        let app = self.app_file.clone();
        let started = SystemTime::now();
        let loaded = tokio::task::spawn_blocking(move || rackscope_core::load(&app)).await;
        let before = self.status.load_full();
        let mut next = Status {
            ok: false,
            generation: before.generation,
            last_attempt: unix(started),
            last_success: before.last_success,
            trigger: trigger.to_owned(),
            error_count: 0,
            warning_count: 0,
            errors: Vec::new(),
        };
        match loaded {
            Ok(loaded) => {
                next.error_count = loaded.diagnostics.errors().count();
                next.warning_count = loaded.diagnostics.warnings().count();
                if loaded.is_usable() {
                    self.engine.reload(Arc::new(loaded.config)).await;
                    next.ok = true;
                    next.generation += 1;
                    next.last_success = unix(started);
                    tracing::info!(
                        trigger,
                        generation = next.generation,
                        warnings = next.warning_count,
                        "configuration reloaded"
                    );
                } else {
                    next.errors = loaded
                        .diagnostics
                        .errors()
                        .take(MAX_KEPT)
                        .map(Problem::of)
                        .collect();
                    tracing::error!(
                        trigger,
                        errors = next.error_count,
                        first = %next.errors.first().map(|p| format!("{}:{}:{}: {}", p.file, p.line, p.col, p.message)).unwrap_or_default(),
                        "the configuration on disk is not usable; the last good one keeps running"
                    );
                }
            }
            Err(e) => {
                next.error_count = 1;
                next.errors.push(Problem {
                    file: self.app_file.display().to_string(),
                    line: 0,
                    col: 0,
                    code: "internal",
                    level: "error",
                    message: format!("loading stopped: {e}"),
                });
            }
        }
        let next = Arc::new(next);
        self.status.store(next.clone());
        if next.ok {
            self.engine.refresh().await;
        }
        next
    }

    /// The directories to watch: app.yaml's, and each configured path outside it.
    fn watched(&self) -> Vec<PathBuf> {
        let config = self.engine.config();
        let base = config.base_dir.clone();
        let mut dirs = vec![base.clone()];
        let p = &config.paths;
        for extra in [&p.topology, &p.templates, &p.checks, &p.metrics] {
            let dir = if extra.is_dir() {
                extra.clone()
            } else {
                extra.parent().map(Path::to_path_buf).unwrap_or_default()
            };
            if !dir.as_os_str().is_empty() && !dir.starts_with(&base) {
                dirs.push(dir);
            }
        }
        dirs
    }
}

/// Whether a changed path can change the configuration: YAML and Rhai files, not the
/// editors' temporary files and locks, nor hidden files.
fn relevant(p: &Path) -> bool {
    let name = p
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    !name.starts_with('.')
        && matches!(
            p.extension().and_then(|e| e.to_str()),
            Some("yaml" | "yml" | "rhai")
        )
}

/// Watches the configuration's files and reloads after each burst of changes, until
/// `closing`. Without a working watcher (no inotify), SIGHUP and the API still reload.
pub async fn watch(reloader: Arc<Reloader>, mut closing: tokio::sync::watch::Receiver<bool>) {
    use notify::Watcher as _;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<()>();
    let watcher = notify::recommended_watcher(move |ev: notify::Result<notify::Event>| {
        if let Ok(ev) = ev
            && !ev.kind.is_access()
            && ev.paths.iter().any(|p| relevant(p))
        {
            let _ = tx.send(());
        }
    });
    let mut watcher = match watcher {
        Ok(w) => w,
        Err(e) => {
            tracing::warn!(error = %e, "configuration files are not watched; SIGHUP and POST /api/config/reload still reload");
            return;
        }
    };
    for dir in reloader.watched() {
        if let Err(e) = watcher.watch(&dir, notify::RecursiveMode::Recursive) {
            tracing::warn!(dir = %dir.display(), error = %e, "a configuration directory is not watched");
        }
    }
    loop {
        tokio::select! {
            got = rx.recv() => if got.is_none() { return },
            _ = closing.wait_for(|c| *c) => return,
        }
        // The burst: wait for quiet, but not forever.
        let deadline = tokio::time::Instant::now() + MAX_DELAY;
        loop {
            let quiet = tokio::time::sleep(DEBOUNCE);
            tokio::select! {
                got = rx.recv() => if got.is_none() { return },
                () = quiet => break,
                () = tokio::time::sleep_until(deadline) => break,
            }
        }
        reloader.reload("files").await;
    }
}

/// Reloads on every SIGHUP, until `closing`.
pub async fn on_hangup(reloader: Arc<Reloader>, mut closing: tokio::sync::watch::Receiver<bool>) {
    let Ok(mut hup) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) else {
        return;
    };
    loop {
        tokio::select! {
            got = hup.recv() => if got.is_none() { return },
            _ = closing.wait_for(|c| *c) => return,
        }
        reloader.reload("signal").await;
    }
}

/// `GET /api/config/status` and `POST /api/config/reload`.
pub fn routes() -> crate::server::routes::Routes {
    use axum::http::Method;
    use axum::routing::{get, post};

    use crate::server::routes::{Need, Routes};
    Routes::new().read("/api/config/status", get(status)).route(
        "/api/config/reload",
        &[(Method::POST, Need::ADMIN)],
        post(reload_now),
    )
}

#[utoipa::path(
    get,
    path = "/api/config/status",
    operation_id = "configStatus",
    tag = "operations",
    summary = "How the last configuration reload went",
    description = "`ok` is false when the configuration on disk does not load: the last good one keeps running, and `errors` lists why, as `rackscope check` prints them.",
    responses((status = 200, description = "Status", body = Status))
)]
async fn status(
    axum::extract::State(st): axum::extract::State<crate::server::AppState>,
) -> axum::Json<Status> {
    axum::Json((*st.reload.status()).clone())
}

#[utoipa::path(
    post,
    path = "/api/config/reload",
    operation_id = "configReload",
    tag = "operations",
    summary = "Load the configuration from disk again",
    description = "Applied only when it loads without error; the answer is the new status either way (200). The files are also watched, and SIGHUP reloads too.",
    responses((status = 200, description = "Status after the attempt", body = Status))
)]
async fn reload_now(
    axum::extract::State(st): axum::extract::State<crate::server::AppState>,
) -> axum::Json<Status> {
    axum::Json((*st.reload.reload("api").await).clone())
}
