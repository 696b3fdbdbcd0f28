//! Checking credentials: a password under the rate limits (for the sign-in page and
//! `POST /api/auth/login`), a session or login token, an API token. Every failure looks the
//! same to the client: a wrong name and a wrong password get the same answer in about the
//! same time.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use rackscope_auth::token::{Claims, TokenError};
use rackscope_core::access::{Access, User};
use rackscope_core::model::users::Role;

use super::{AuthState, now};

/// How long a sign-in waits for a free password check before giving up.
const VERIFY_QUEUE_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignInError {
    /// The one answer for a wrong name, a wrong password or a user without one.
    #[error("Invalid credentials")]
    Invalid,
    #[error("too many failed sign-ins; retry in {} s", .0.as_secs().max(1))]
    RateLimited(Duration),
    #[error("authentication is disabled")]
    Disabled,
    #[error("the server is busy checking other sign-ins; retry")]
    Busy,
}

impl SignInError {
    /// The audit and metric label of the failure.
    pub fn label(&self) -> &'static str {
        match self {
            SignInError::Invalid => "invalid",
            SignInError::RateLimited(_) => "rate_limited",
            SignInError::Disabled => "disabled",
            SignInError::Busy => "busy",
        }
    }
}

fn user_key(name: &str) -> String {
    format!("u:{name}")
}

fn addr_key(addr: Option<IpAddr>) -> String {
    addr.map_or_else(|| "a:unknown".to_owned(), |a| format!("a:{a}"))
}

/// Checks `password` for `name`, under the per-user and per-address limits. Only failures
/// count: the Python version counted successes too, which locked out whoever signed in
/// often.
pub async fn check_password(
    auth: &AuthState,
    name: &str,
    password: &str,
    addr: Option<IpAddr>,
) -> Result<User, SignInError> {
    let access = auth.access.load_full();
    if !access.enabled {
        return Err(SignInError::Disabled);
    }
    let (ukey, akey) = (user_key(name), addr_key(addr));
    let at = Instant::now();
    let waits = [auth.by_user.check(&ukey, at), auth.by_addr.check(&akey, at)];
    if let Some(wait) = waits.iter().filter_map(|w| w.err()).max() {
        return Err(SignInError::RateLimited(wait));
    }
    let user = access
        .users
        .get(name)
        .filter(|u| !u.password_hash.is_empty())
        .cloned();
    let Ok(Ok(_permit)) =
        tokio::time::timeout(VERIFY_QUEUE_TIMEOUT, auth.verifying.acquire()).await
    else {
        return Err(SignInError::Busy);
    };
    let password = password.to_owned();
    let hash = user.as_ref().map(|u| u.password_hash.clone());
    let ok = tokio::task::spawn_blocking(move || match hash {
        Some(h) => rackscope_auth::password::verify(&password, &h).unwrap_or(false),
        None => {
            rackscope_auth::password::dummy_verify(&password);
            false
        }
    })
    .await
    .unwrap_or(false);
    match user {
        Some(u) if ok => {
            auth.by_user.clear(&ukey);
            Ok(u)
        }
        _ => {
            let at = Instant::now();
            auth.by_user.fail(&ukey, at);
            auth.by_addr.fail(&akey, at);
            Err(SignInError::Invalid)
        }
    }
}

/// A new session (or login token) for `user`: its signed form and its claims.
pub fn issue(auth: &AuthState, access: &Access, user: &User) -> (String, Claims) {
    let iat = now();
    let claims = Claims {
        sub: user.name.clone(),
        role: user.role.as_str().to_owned(),
        sid: rackscope_auth::token::random_id(),
        iat,
        exp: (!access.unlimited).then(|| iat.saturating_add(access.session_seconds)),
        r#gen: auth.signer.generation(&user.password_hash),
    };
    (auth.signer.sign(&claims), claims)
}

/// Why presented credentials were refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    Malformed,
    Expired,
    /// A bad signature, a user that no longer exists or whose password changed, an
    /// unknown or revoked API token.
    Invalid,
}

impl Refused {
    pub fn label(self) -> &'static str {
        match self {
            Refused::Malformed => "malformed",
            Refused::Expired => "expired",
            Refused::Invalid => "invalid",
        }
    }
}

/// A session or login token: the user it names, with the role the user has now (not the
/// one signed into the token, so a demotion takes effect at once).
pub fn session(auth: &AuthState, access: &Access, token: &str) -> Result<(User, Claims), Refused> {
    let claims = auth.signer.verify(token, now()).map_err(|e| match e {
        TokenError::Malformed => Refused::Malformed,
        TokenError::Expired => Refused::Expired,
        TokenError::BadSignature => Refused::Invalid,
    })?;
    let user = access
        .users
        .get(&claims.sub)
        .filter(|u| !u.password_hash.is_empty())
        .ok_or(Refused::Invalid)?;
    if !auth
        .signer
        .generation_ok(&user.password_hash, &claims.r#gen)
    {
        return Err(Refused::Invalid);
    }
    Ok((user.clone(), claims))
}

/// A long-lived API token (`rsk_…`): its name and role.
pub fn api_token(access: &Access, token: &str) -> Result<(String, Role), Refused> {
    let (id, secret) = rackscope_auth::apikey::parse(token).ok_or(Refused::Malformed)?;
    let t = access.tokens.get(id).ok_or(Refused::Invalid)?;
    if !rackscope_auth::apikey::matches(&t.hash, secret) {
        return Err(Refused::Invalid);
    }
    if t.expires.is_some_and(|e| e <= now()) {
        return Err(Refused::Expired);
    }
    Ok((t.name.clone(), t.role))
}
