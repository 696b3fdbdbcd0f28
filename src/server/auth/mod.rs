//! Sign-in, sessions, tokens and roles on the HTTP side. `core::access` decides what the
//! configuration allows; `rackscope_auth` does the cryptography; this module puts them on
//! requests: `gate` finds who a request comes from and refuses what its role does not
//! allow, `signin` checks passwords under rate limits, `api` serves `/api/auth/*`, `audit`
//! logs and counts every sign-in and every change.
//!
//! Sessions and login tokens are signed, not stored: any replica with the same
//! `secret_key` accepts them, and nothing is kept per session on the server. What revokes
//! them is in the claims: the user must still exist, and the password fingerprint (`gen`)
//! must match, so changing a password ends its sessions everywhere.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use arc_swap::ArcSwap;
use rackscope_auth::limit::Attempts;
use rackscope_auth::token::Signer;
use rackscope_core::access::Access;
use rackscope_core::model::users::Role;

pub mod api;
pub mod audit;
pub mod cookie;
pub mod gate;
pub mod reload;
pub mod signin;

/// Failed sign-ins allowed per user name from one client network in `ATTEMPT_WINDOW` (the
/// Python version's 10, per name).
pub const ATTEMPTS_PER_USER: u32 = 10;
/// Failed sign-ins allowed per user name from everywhere together: bounds guessing spread
/// over many networks, high enough that locking a user out takes a botnet.
pub const ATTEMPTS_PER_NAME: u32 = 100;
/// Failed sign-ins allowed per client address in `ATTEMPT_WINDOW`: more than per user, as
/// several people may share a NAT address.
pub const ATTEMPTS_PER_ADDRESS: u32 = 30;
pub const ATTEMPT_WINDOW: Duration = Duration::from_secs(15 * 60);
/// Distinct names and addresses remembered by the limiters.
const ATTEMPT_KEYS: usize = 10_000;
/// Password checks running at once: each costs tens of milliseconds of a core, so a flood
/// of sign-ins must queue rather than take the machine.
const CONCURRENT_VERIFIES: usize = 2;

/// The auth half of the server's state.
pub struct AuthState {
    /// The current users, tokens and settings (reloaded when the files change).
    pub access: ArcSwap<Access>,
    pub signer: Signer,
    pub by_user: Attempts,
    pub by_addr: Attempts,
    pub by_name: Attempts,
    pub verifying: Arc<tokio::sync::Semaphore>,
    /// Hashes for unknown users, one per kind of hash in use, so that checking a name that
    /// does not exist costs what checking one that does costs.
    dummies: std::sync::Mutex<std::collections::HashMap<String, String>>,
    pub audit: audit::Counters,
    /// Reloads of the users that failed (`reload`), for `/metrics`.
    pub reload_failures: std::sync::atomic::AtomicU64,
}

impl std::fmt::Debug for AuthState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AuthState")
    }
}

impl AuthState {
    /// With `access`'s secret, or a random one for this process when none is set.
    pub fn new(access: &Access) -> AuthState {
        let secret = access
            .secret
            .clone()
            .unwrap_or_else(rackscope_auth::token::random_secret);
        AuthState {
            signer: Signer::new(secret.as_bytes()),
            access: ArcSwap::from_pointee(access.clone()),
            by_user: Attempts::new(ATTEMPTS_PER_USER, ATTEMPT_WINDOW, ATTEMPT_KEYS),
            by_addr: Attempts::new(ATTEMPTS_PER_ADDRESS, ATTEMPT_WINDOW, ATTEMPT_KEYS),
            by_name: Attempts::new(ATTEMPTS_PER_NAME, ATTEMPT_WINDOW, ATTEMPT_KEYS),
            verifying: Arc::new(tokio::sync::Semaphore::new(CONCURRENT_VERIFIES)),
            dummies: std::sync::Mutex::default(),
            audit: audit::Counters::default(),
            reload_failures: std::sync::atomic::AtomicU64::new(0),
        }
    }
}

impl AuthState {
    /// A hash of the costliest kind the users have (bcrypt at the highest cost, else
    /// Argon2id), made once: an unknown name is checked against it. With users of both
    /// kinds, names of the cheaper kind remain faster to refuse than unknown ones.
    pub fn dummy_hash(&self, access: &Access) -> String {
        use rackscope_auth::password::{Scheme, scheme};
        let bcrypt = access
            .users
            .values()
            .filter_map(|u| match scheme(&u.password_hash) {
                Ok(Scheme::Bcrypt { cost }) => Some(cost),
                _ => None,
            })
            .max();
        let key = bcrypt.map_or_else(|| "argon2id".to_owned(), |c| format!("bcrypt:{c}"));
        let mut cache = self
            .dummies
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(h) = cache.get(&key) {
            return h.clone();
        }
        let secret = rackscope_auth::token::random_secret();
        let made = match bcrypt {
            Some(cost) => rackscope_auth::password::hash_bcrypt(&secret, cost),
            None => rackscope_auth::password::hash(&secret),
        };
        // Should hashing fail, an empty hash fails `verify` at once: the unknown name is
        // still refused, only faster.
        let h = made.unwrap_or_default();
        cache.insert(key, h.clone());
        h
    }
}

/// Who a request comes from, as the gate found it; every handler behind the gate can read
/// it from the request's extensions.
#[derive(Debug, Clone)]
pub struct Principal {
    /// The signed-in user or the API token's name.
    pub name: Option<String>,
    /// What the client may do; `None`: only public routes.
    pub role: Option<Role>,
    pub via: Via,
    /// The value this client's forms must send back as `csrf`.
    pub csrf: String,
    /// The client's address (after trusted proxies), when known.
    pub addr: Option<IpAddr>,
    /// Whether the client reached us over HTTPS (directly or through a trusted proxy).
    pub secure: bool,
}

impl Principal {
    pub fn allows(&self, role: Role) -> bool {
        self.role.is_some_and(|r| r.allows(role))
    }

    /// Whether a person signed in with a password (not a token, not anonymous).
    pub fn signed_in(&self) -> bool {
        matches!(self.via, Via::Session { .. } | Via::Bearer)
    }
}

/// How the principal proved who it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Via {
    /// A browser session cookie; `sid` identifies the session (CSRF tokens are bound to it).
    Session { sid: String },
    /// A token from `POST /api/auth/login`.
    Bearer,
    /// A long-lived API token.
    ApiToken,
    /// Nothing: the anonymous role, a trusted network's role, or none.
    Anonymous,
    /// Auth is disabled and the client is let in with the open role.
    Open,
}

impl Via {
    pub fn label(&self) -> &'static str {
        match self {
            Via::Session { .. } => "session",
            Via::Bearer => "bearer",
            Via::ApiToken => "token",
            Via::Anonymous => "anonymous",
            Via::Open => "open",
        }
    }
}

/// Seconds since the epoch.
pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
