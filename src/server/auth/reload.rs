//! Users and tokens change while the server runs: `rackscope token revoke` on this host or
//! a `git pull` of the users file on every replica. The server looks at app.yaml and the
//! users file every few seconds and takes the new users when they check out; a file that
//! no longer checks out leaves the last good users in place (logged and counted), as a
//! typo should not lock every operator out in the middle of an incident.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, SystemTime};

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

/// Reads the users again now; `Err` lists why the files were not taken.
pub fn reload(auth: &AuthState, app_file: &Path) -> Result<(), String> {
    let (access, diags) = rackscope_core::load::access_of(app_file, std::env::vars());
    if diags.has_errors() {
        auth.reload_failures.fetch_add(1, Ordering::Relaxed);
        let why = diags
            .errors()
            .map(|d| {
                format!(
                    "{}:{}:{}: {}",
                    d.span.file.display(),
                    d.span.pos.line,
                    d.span.pos.col,
                    d.message
                )
            })
            .collect::<Vec<_>>()
            .join("; ");
        tracing::error!(target: "rackscope::audit", %why, "the users were not reloaded; the last good ones stay");
        return Err(why);
    }
    // Only who the users and tokens are changes while the server runs. The settings
    // (enabled, anonymous, networks, proxies, the secret) take effect at a restart: a
    // half-written app.yaml reads as the defaults, auth off, and must not open the server
    // for a moment.
    let current = auth.access.load_full();
    if (
        access.enabled,
        access.anonymous,
        access.trusted_role,
        &access.trusted,
        &access.proxies,
        &access.secret,
    ) != (
        current.enabled,
        current.anonymous,
        current.trusted_role,
        &current.trusted,
        &current.proxies,
        &current.secret,
    ) {
        tracing::warn!(
            target: "rackscope::audit",
            "auth settings in app.yaml changed; they take effect when the server restarts (users and tokens are reloaded now)"
        );
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
            if reload(&auth, &app_file).is_ok() {
                tracing::info!(target: "rackscope::audit", "users reloaded");
            }
        }
    }
}
