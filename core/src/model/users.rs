//! Who may sign in and what they may do: roles, users and API tokens, as written in
//! app.yaml's `auth.users` or in the users file beside it (`users.yaml`). Only hashes are
//! stored; the files are meant to live in Git with the rest of the configuration.

use std::fmt;

use serde::{Deserialize, Serialize};

/// What a signed-in user, a token or an anonymous client may do. Ordered: each role may do
/// everything the roles before it may.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default,
)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Reads every page and every read route of the API.
    #[default]
    Viewer,
    /// Also maintenance windows, acknowledgements and the query tester.
    Operator,
    /// Also the editors and the settings.
    Admin,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Viewer, Role::Operator, Role::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Operator => "operator",
            Role::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// Whether this role may do what `needed` allows.
    pub fn allows(self, needed: Role) -> bool {
        self >= needed
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

/// One user: a name, a role and a password hash (Argon2id, or bcrypt as the Python version
/// wrote it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserEntry {
    pub name: String,
    pub role: Role,
    #[serde(default)]
    pub password_hash: String,
}

/// One long-lived API token: only the hash of its secret is kept.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TokenEntry {
    pub name: String,
    /// The public part of the token (`rsk_<id>_…`), shown in listings.
    pub id: String,
    pub role: Role,
    /// `sha256:<hex>` of the token's secret part.
    pub hash: String,
    /// When it was made, RFC 3339 UTC (`2026-12-02T12:00:00Z`).
    #[serde(default)]
    pub created: String,
    /// When it stops working, RFC 3339 UTC; absent means never.
    #[serde(default)]
    pub expires: Option<String>,
}

/// The users file (`auth.users_file`, by default `users.yaml` beside app.yaml).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct UsersFile {
    pub users: Vec<UserEntry>,
    pub tokens: Vec<TokenEntry>,
}
