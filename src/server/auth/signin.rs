//! Checking credentials: a password under the rate limits (for the sign-in page and
//! `POST /api/auth/login`), a session or login token, an API token. Every failure looks the
//! same to the client: a wrong name and a wrong password get the same answer in about the
//! same time.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rackscope_auth::token::{Claims, TokenError};
use rackscope_core::access::{Access, User};
use rackscope_core::model::users::Role;

use super::audit::Who;
use super::{AuthState, Principal, now};

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

/// The per-user key is the user with the client's network (/24 for IPv4, /64 for IPv6):
/// a user name is often public (`/api/auth/status`, the Python version's `admin`), so a
/// per-name key alone would let anyone lock anyone out. Guessing one user from many
/// networks is bounded by `by_name`, far higher.
fn keys(name: &str, addr: Option<IpAddr>) -> [String; 3] {
    let net = addr.map_or_else(|| "unknown".to_owned(), |a| network(a).to_string());
    [
        format!("a:{net}"),
        format!("u:{name}@{net}"),
        format!("n:{name}"),
    ]
}

/// The network an address's limit applies to: one IPv4 address, or an IPv6 /64 (what one
/// client can spread over).
fn network(a: IpAddr) -> IpAddr {
    match a {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => {
            let s = v6.segments();
            IpAddr::V6(std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
        }
    }
}

/// Checks `password` for `name`, under the per-address, per-user-and-network and per-user
/// limits. Each attempt is charged before the password is checked (so concurrent attempts
/// cannot all pass the limit first, and a client that hangs up still pays) and forgiven
/// when it succeeds: only failures count. The Python version counted successes too, which
/// locked out whoever signed in often.
pub async fn check_password(
    auth: &Arc<AuthState>,
    name: &str,
    password: &str,
    addr: Option<IpAddr>,
) -> Result<User, SignInError> {
    let access = auth.access.load_full();
    if !access.enabled {
        return Err(SignInError::Disabled);
    }
    let [akey, ukey, nkey] = keys(name, addr);
    let limiters = [
        (&auth.by_addr, &akey),
        (&auth.by_user, &ukey),
        (&auth.by_name, &nkey),
    ];
    let at = Instant::now();
    for (i, (limiter, key)) in limiters.iter().enumerate() {
        if let Err(wait) = limiter.charge(key, at) {
            for (l, k) in &limiters[..i] {
                l.forgive(k);
            }
            return Err(SignInError::RateLimited(wait));
        }
    }
    let forgive_all = || {
        for (l, k) in &limiters {
            l.forgive(k);
        }
    };
    let user = access
        .users
        .get(name)
        .filter(|u| !u.password_hash.is_empty())
        .cloned();
    // The permit goes with the work: were the client to hang up, the request's future is
    // dropped but the hashing thread runs on, and must keep its place in the bound.
    let Ok(Ok(permit)) =
        tokio::time::timeout(VERIFY_QUEUE_TIMEOUT, auth.verifying.clone().acquire_owned()).await
    else {
        forgive_all();
        return Err(SignInError::Busy);
    };
    let password = password.to_owned();
    let hash = user.as_ref().map(|u| u.password_hash.clone());
    let (state, access) = (auth.clone(), access.clone());
    let ok = tokio::task::spawn_blocking(move || {
        let _permit = permit;
        let hash = hash.unwrap_or_else(|| state.dummy_hash(&access));
        rackscope_auth::password::verify(&password, &hash).unwrap_or(false)
    })
    .await
    .unwrap_or(false);
    match user {
        Some(u) if ok => {
            forgive_all();
            auth.by_user.clear(&ukey);
            Ok(u)
        }
        _ => Err(SignInError::Invalid),
    }
}

/// A sign-in done: the user, the signed session (or login token) and its claims.
pub struct SignedIn {
    pub user: User,
    pub token: String,
    pub claims: Claims,
    /// How long the session lasts, for the cookie's `Max-Age`.
    pub seconds: u64,
}

/// A sign-in as the page and the API both do it: the password under the limits, a new
/// session, and the audit line either way. `p` is the client as the gate found it.
pub async fn sign_in(
    auth: &Arc<AuthState>,
    name: &str,
    password: &str,
    p: &Principal,
    request_id: &str,
) -> Result<SignedIn, SignInError> {
    let claimed = Principal {
        name: Some(name.to_owned()),
        ..p.clone()
    };
    match check_password(auth, name, password, p.addr).await {
        Ok(user) => {
            let access = auth.access.load_full();
            let (token, claims) = issue(auth, &access, &user);
            let who = Principal {
                role: Some(user.role),
                ..claimed
            };
            auth.audit.event("signin", "ok", &Who::of(&who, request_id));
            Ok(SignedIn {
                user,
                token,
                claims,
                seconds: access.session_seconds,
            })
        }
        Err(e) => {
            auth.audit
                .event("signin", e.label(), &Who::of(&claimed, request_id));
            Err(e)
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
        // Always an expiry, `unlimited` included (a year): a token without one would outlive
        // every later change of `session_duration`.
        exp: Some(iat.saturating_add(access.session_seconds)),
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
    // A shorter `session_duration` than when the session began applies to it too.
    if claims.exp.is_none() || now() >= claims.iat.saturating_add(access.session_seconds) {
        return Err(Refused::Expired);
    }
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
