//! Users and tokens change while the server runs: `rackscope token revoke` on this host or
//! a `git pull` of the users file on every replica. The server looks at app.yaml and the
//! users file every few seconds and takes the new users when they check out; a file that
//! no longer checks out leaves the last good users in place (logged and counted), as a
//! typo should not lock every operator out in the middle of an incident.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, SystemTime};

use rackscope_core::access::Access;

use super::AuthState;

/// How often the files are looked at: a revoked token stops working within this.
pub const POLL: Duration = Duration::from_secs(2);

/// What identifies a version of a file without reading it.
type Stamp = Option<(SystemTime, u64)>;

fn stamp(p: &Path) -> Stamp {
    std::fs::metadata(p)
        .ok()
        .map(|m| (m.modified().unwrap_or(SystemTime::UNIX_EPOCH), m.len()))
}

/// Reads the users again now; `Err` says why the files were not taken. Blocking (it
/// reads files): async callers use `spawn_blocking`.
pub fn reload(auth: &AuthState, app_file: &Path) -> Result<(), String> {
    let (access, diags) = rackscope_core::load::access_of(app_file, std::env::vars());
    if diags.has_errors() {
        auth.reload_failures.fetch_add(1, Ordering::Relaxed);
        let why = diags
            .errors()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; ");
        tracing::error!(target: "rackscope::audit", %why, "the users were not reloaded; the last good ones stay");
        return Err(why);
    }
    // Only who the users and tokens are changes while the server runs. The settings
    // (enabled, anonymous, networks, proxies, the secret, where the users file is) take
    // effect at a restart, and while app.yaml says other settings than the running ones,
    // its users are not taken either: a half-written app.yaml reads as the defaults (auth
    // off, no users of its own) and must neither open the server nor drop its users.
    let current = auth.access.load_full();
    let settings = |a: &Access| {
        (
            a.enabled,
            a.anonymous,
            a.trusted_role,
            a.trusted.clone(),
            a.proxies.clone(),
            a.secret.clone(),
            a.users_file.clone(),
            a.session_seconds,
        )
    };
    if settings(&access) != settings(&current) {
        auth.reload_failures.fetch_add(1, Ordering::Relaxed);
        let why = "the auth settings in app.yaml differ from the running ones; they, and \
                   the users with them, take effect when the server restarts"
            .to_owned();
        tracing::warn!(target: "rackscope::audit", %why, "the users were not reloaded");
        return Err(why);
    }
    let mut next = (*current).clone();
    next.users = access.users;
    next.tokens = access.tokens;
    auth.access.store(Arc::new(next));
    Ok(())
}

/// Polls the two files until the server stops.
pub async fn watch(
    auth: Arc<AuthState>,
    app_file: PathBuf,
    mut closing: tokio::sync::watch::Receiver<bool>,
) {
    let users_file = || auth.access.load().users_file.clone();
    let mut seen = (stamp(&app_file), stamp(&users_file()));
    loop {
        tokio::select! {
            _ = tokio::time::sleep(POLL) => {}
            _ = closing.wait_for(|c| *c) => return,
        }
        let now = (stamp(&app_file), stamp(&users_file()));
        if now != seen {
            seen = now;
            let (state, file) = (auth.clone(), app_file.clone());
            let done = tokio::task::spawn_blocking(move || reload(&state, &file)).await;
            if matches!(done, Ok(Ok(()))) {
                tracing::info!(target: "rackscope::audit", "users reloaded");
            }
        }
    }
}
