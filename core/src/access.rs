//! Who may do what: app.yaml's `auth:` section and the users file, checked and resolved into
//! the one value the server enforces (`Access`).
//!
//! Every setting that cannot be honoured is an error at its line, which makes the whole
//! configuration unusable: `rackscope check` fails and `serve` refuses to start. Nothing
//! here falls back to open; the worst a mistake does is lock people out.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rackscope_auth::net::Cidr;
use rackscope_auth::password::{self, Policy};

use crate::diag::{Diagnostics, Pos, Span};
use crate::model::app::{AppConfig, Auth};
use crate::model::users::{Role, TokenEntry, UserEntry, UsersFile};
use crate::yaml::Node;

/// The shortest `secret_key` accepted: 32 bytes, as `openssl rand -hex 32` gives twice over.
pub const MIN_SECRET_BYTES: usize = 32;
/// More users or tokens than this is a mistake (or an attack on memory), not a NOC.
pub const MAX_ENTRIES: usize = 10_000;
/// `session_duration: unlimited` still ends; a year is what "unlimited" means for a cookie.
pub const UNLIMITED_SECONDS: u64 = 365 * 86_400;

/// The resolved, checked auth settings.
#[derive(Debug, Clone, Default)]
pub struct Access {
    /// Sign-in is required (else every client has `open_role`).
    pub enabled: bool,
    pub users: BTreeMap<String, User>,
    /// Long-lived API tokens by their public id.
    pub tokens: BTreeMap<String, ApiToken>,
    /// The role of a client that has not signed in, when auth is enabled.
    pub anonymous: Option<Role>,
    pub trusted: Vec<Cidr>,
    /// What `trusted` grants; `None` grants nothing.
    pub trusted_role: Option<Role>,
    pub proxies: Vec<Cidr>,
    /// `None`: a random secret per process.
    pub secret: Option<String>,
    /// How long a session or a login token lasts, in seconds.
    pub session_seconds: u64,
    pub policy: Policy,
    /// The users file, where the CLI writes (whether or not it exists yet).
    pub users_file: PathBuf,
}

impl Access {
    /// The role of a client that has proved nothing, at `trusted` (whether its address is in
    /// `trusted_networks`). With auth disabled and no trusted networks, that is everyone's
    /// role: admin, as the Python version was open.
    pub fn unauthenticated_role(&self, trusted: bool) -> Option<Role> {
        let by_network = trusted.then_some(self.trusted_role).flatten();
        let base = if self.enabled {
            self.anonymous
        } else if self.trusted.is_empty() {
            Some(Role::Admin)
        } else {
            Some(Role::Viewer)
        };
        base.max(by_network)
    }

    /// Whether `ip` is in `trusted_networks`.
    pub fn is_trusted(&self, ip: std::net::IpAddr) -> bool {
        self.trusted.iter().any(|c| c.contains(ip))
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct User {
    pub name: String,
    pub role: Role,
    /// Empty: the user cannot sign in until a password is set.
    pub password_hash: String,
    /// Where the user is defined (the CLI edits that file).
    pub defined: Defined,
}

/// Which of the three places a user comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Defined {
    /// app.yaml's `auth.username`/`auth.password_hash` (the Python version's one user).
    Upstream,
    /// app.yaml's `auth.users`.
    AppYaml,
    /// The users file.
    UsersFile,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ApiToken {
    pub name: String,
    pub id: String,
    pub role: Role,
    pub hash: String,
    /// Seconds since the epoch; `None` never expires.
    pub expires: Option<u64>,
}

/// The users file as read by the loader: its path, tree and decoded value.
pub struct UsersSource<'a> {
    pub file: Arc<Path>,
    pub node: &'a Node,
    pub decoded: UsersFile,
}

/// Checks `app.auth` and the users file, and resolves them. `node` is app.yaml's tree.
pub fn resolve(
    app: &AppConfig,
    node: &Node,
    app_file: &Arc<Path>,
    users_file: PathBuf,
    users: Option<UsersSource<'_>>,
    diags: &mut Diagnostics,
) -> Access {
    let a = &app.auth;
    let at = |path: &[&str]| Span::new(app_file, crate::app_keys::key_pos(node, path));
    let auth_node = node.get("auth");
    let item = |key: &str, i: usize| -> Span {
        let pos = auth_node
            .and_then(|n| n.get(key))
            .and_then(Node::seq)
            .and_then(|s| s.get(i))
            .map_or_else(|| crate::app_keys::key_pos(node, &["auth", key]), |n| n.pos);
        Span::new(app_file, pos)
    };
    // A field of a listed user or token: its value's position, else the item's.
    let field = |list: Option<&Node>, file: &Arc<Path>, i: usize, f: Option<&str>| -> Span {
        let item = list.and_then(Node::seq).and_then(|s| s.get(i));
        let pos = item
            .and_then(|n| f.and_then(|f| n.get(f)))
            .or(item)
            .map_or(Pos::FILE, |n| n.pos);
        Span::new(file, pos)
    };

    let session_seconds = session(a, &at(&["auth", "session_duration"]), diags);
    let secret = secret(a, &at, diags);
    let trusted = cidrs(&a.trusted_networks, "trusted_networks", &item, diags);
    let proxies = cidrs(&a.trusted_proxies, "trusted_proxies", &item, diags);
    let trusted_role = a.trusted_role.or((!a.enabled).then_some(Role::Admin));
    if a.enabled && a.trusted_role.is_none() && !a.trusted_networks.is_empty() {
        diags.warning(
            "auth",
            at(&["auth", "trusted_networks"]),
            "auth.trusted_networks grants nothing while auth is enabled unless \
             auth.trusted_role names the role to grant",
        );
    }
    if a.anonymous.is_some_and(|r| r > Role::Viewer) {
        diags.error(
            "auth",
            at(&["auth", "anonymous"]),
            "auth.anonymous may only be `viewer`: every change needs someone signed in \
             (trusted_networks with trusted_role grant more to known networks)",
        );
    }
    if !a.enabled && a.anonymous.is_some() {
        diags.warning(
            "auth",
            at(&["auth", "anonymous"]),
            "auth.anonymous has no effect while auth is disabled: every client is let in",
        );
    }
    policy_check(a, &at, diags);

    let mut out = Access {
        enabled: a.enabled,
        users: BTreeMap::new(),
        tokens: BTreeMap::new(),
        anonymous: a.anonymous.map(|r| r.min(Role::Viewer)),
        trusted,
        trusted_role,
        proxies,
        secret,
        session_seconds,
        policy: Policy {
            min_length: a.policy.min_length,
            max_length: a.policy.max_length,
            require_digit: a.policy.require_digit,
            require_symbol: a.policy.require_symbol,
        },
        users_file,
    };

    if !a.password_hash.is_empty() {
        let upstream = UserEntry {
            name: a.username.clone(),
            role: Role::Admin,
            password_hash: a.password_hash.clone(),
        };
        let span = |_: Option<&str>| at(&["auth", "password_hash"]);
        add_user(&mut out, upstream, Defined::Upstream, &span, diags);
    }
    let inline = auth_node.and_then(|n| n.get("users"));
    for (i, u) in a.users.iter().enumerate() {
        let span = |f: Option<&str>| field(inline, app_file, i, f);
        add_user(&mut out, u.clone(), Defined::AppYaml, &span, diags);
    }
    if let Some(file) = users {
        for (i, u) in file.decoded.users.iter().enumerate() {
            let span = |f: Option<&str>| field(file.node.get("users"), &file.file, i, f);
            add_user(&mut out, u.clone(), Defined::UsersFile, &span, diags);
        }
        for (i, t) in file.decoded.tokens.iter().enumerate() {
            let span = |f: Option<&str>| field(file.node.get("tokens"), &file.file, i, f);
            add_token(&mut out, t, &span, diags);
        }
        if out.users.len() > MAX_ENTRIES || out.tokens.len() > MAX_ENTRIES {
            diags.error(
                "auth",
                Span::file_only(&file.file),
                format!("more than {MAX_ENTRIES} users or tokens"),
            );
        }
    }

    if a.enabled
        && out.anonymous.is_none()
        && out.tokens.is_empty()
        && out.trusted_role.is_none()
        && !out.users.values().any(|u| !u.password_hash.is_empty())
    {
        diags.error(
            "auth",
            at(&["auth", "enabled"]),
            "auth is enabled but nobody can sign in: no user has a password. Add one with \
             `rackscope user add NAME --role admin` (docs/auth.md)",
        );
    }
    out
}

/// `8h`, `24h`, `unlimited`, or any duration of at least a minute.
fn session(a: &Auth, span: &Span, diags: &mut Diagnostics) -> u64 {
    let s = a.session_duration.trim();
    if s.eq_ignore_ascii_case("unlimited") {
        if a.enabled {
            diags.warning(
                "auth",
                span.clone(),
                "session_duration: unlimited: a session lasts a year, and a stolen cookie \
                 works until then or until secret_key changes",
            );
        }
        return UNLIMITED_SECONDS;
    }
    match crate::duration::Duration::parse(s) {
        Ok(d) if (60..=UNLIMITED_SECONDS).contains(&d.seconds) => d.seconds,
        Ok(_) => {
            diags.error(
                "auth",
                span.clone(),
                format!("session_duration `{s}` must be between 1m and 365d, or `unlimited`"),
            );
            86_400
        }
        Err(e) => {
            diags.error("auth", span.clone(), format!("session_duration: {e}"));
            86_400
        }
    }
}

fn secret(a: &Auth, at: &dyn Fn(&[&str]) -> Span, diags: &mut Diagnostics) -> Option<String> {
    let key = a.secret_key.trim();
    if key.is_empty() {
        if a.enabled && a.replicas > 1 {
            diags.error(
                "auth",
                at(&["auth", "replicas"]),
                format!(
                    "auth.replicas is {} but auth.secret_key is empty: each process would sign \
                     sessions with its own random secret and refuse the others'. Set the same \
                     secret_key on every replica (RACKSCOPE_AUTH__SECRET_KEY keeps it out of \
                     Git; `openssl rand -hex 32` makes one)",
                    a.replicas
                ),
            );
        } else if a.enabled {
            diags.warning(
                "auth",
                at(&["auth", "secret_key"]),
                "auth.secret_key is empty: sessions are signed with a random secret and end \
                 when the server restarts",
            );
        }
        return None;
    }
    if a.enabled && key.len() < MIN_SECRET_BYTES {
        diags.error(
            "auth",
            at(&["auth", "secret_key"]),
            format!(
                "auth.secret_key is {} bytes; at least {MIN_SECRET_BYTES} are needed to sign \
                 sessions (`openssl rand -hex 32` makes one)",
                key.len()
            ),
        );
    }
    Some(key.to_owned())
}

fn cidrs(
    list: &[String],
    key: &str,
    item: &dyn Fn(&str, usize) -> Span,
    diags: &mut Diagnostics,
) -> Vec<Cidr> {
    list.iter()
        .enumerate()
        .filter_map(|(i, s)| match s.parse::<Cidr>() {
            Ok(c) => Some(c),
            Err(e) => {
                diags.error("auth", item(key, i), format!("auth.{key}: {e}"));
                None
            }
        })
        .collect()
}

fn policy_check(a: &Auth, at: &dyn Fn(&[&str]) -> Span, diags: &mut Diagnostics) {
    let p = &a.policy;
    if p.min_length > p.max_length {
        diags.error(
            "auth",
            at(&["auth", "policy", "min_length"]),
            format!(
                "auth.policy.min_length ({}) is above max_length ({})",
                p.min_length, p.max_length
            ),
        );
    }
}

/// A user name: what a person types and what logs show, so nothing that needs escaping.
pub fn valid_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'@'))
}

fn add_user(
    out: &mut Access,
    u: UserEntry,
    defined: Defined,
    at: &dyn Fn(Option<&str>) -> Span,
    diags: &mut Diagnostics,
) {
    if !valid_name(&u.name) {
        diags.error(
            "auth",
            at(Some("name")),
            format!(
                "user name `{}` must be 1 to 64 letters, digits, `.`, `_`, `-` or `@`",
                u.name.escape_debug()
            ),
        );
        return;
    }
    if !u.password_hash.is_empty()
        && let Err(e) = password::scheme(&u.password_hash)
    {
        diags.error(
            "auth",
            at(Some("password_hash")),
            format!("the password hash of user `{}`: {e}", u.name),
        );
        return;
    }
    if u.password_hash.is_empty() && defined != Defined::Upstream {
        diags.warning(
            "auth",
            at(None),
            format!(
                "user `{}` has no password and cannot sign in until \
                 `rackscope user passwd {}`",
                u.name, u.name
            ),
        );
    }
    if out.users.contains_key(&u.name) {
        diags.error(
            "auth",
            at(Some("name")),
            format!("user `{}` is defined twice", u.name),
        );
        return;
    }
    out.users.insert(
        u.name.clone(),
        User {
            name: u.name,
            role: u.role,
            password_hash: u.password_hash,
            defined,
        },
    );
}

fn add_token(
    out: &mut Access,
    t: &TokenEntry,
    at: &dyn Fn(Option<&str>) -> Span,
    diags: &mut Diagnostics,
) {
    let mut bad = |f: &str, what: String| diags.error("auth", at(Some(f)), what);
    if !valid_name(&t.name) {
        bad(
            "name",
            format!("token name `{}` is not valid", t.name.escape_debug()),
        );
        return;
    }
    if !rackscope_auth::apikey::valid_id(&t.id) {
        bad(
            "id",
            format!(
                "token `{}`: id `{}` is not valid",
                t.name,
                t.id.escape_debug()
            ),
        );
        return;
    }
    if !rackscope_auth::apikey::valid_hash(&t.hash) {
        bad(
            "hash",
            format!(
                "token `{}`: hash must be `sha256:` and 64 hex digits",
                t.name
            ),
        );
        return;
    }
    let expires = match t.expires.as_deref() {
        None => None,
        Some(s) => match crate::clock::parse_utc(s) {
            Some(e) => Some(e),
            None => {
                bad(
                    "expires",
                    format!(
                        "token `{}`: expires `{}` must be a UTC time like 2027-03-01T00:00:00Z",
                        t.name,
                        s.escape_debug()
                    ),
                );
                return;
            }
        },
    };
    if out.tokens.contains_key(&t.id) || out.tokens.values().any(|o| o.name == t.name) {
        bad("name", format!("token `{}` is defined twice", t.name));
        return;
    }
    out.tokens.insert(
        t.id.clone(),
        ApiToken {
            name: t.name.clone(),
            id: t.id.clone(),
            role: t.role,
            hash: t.hash.clone(),
            expires,
        },
    );
}
