//! Users and tokens written to their files: the CLI (`rackscope user`, `rackscope token`)
//! and the password change of the API share these. Each change edits one value or one list
//! item in place (`core::edit`), so the comments and layout an operator keeps in Git stay,
//! and writes the file atomically; the server picks the change up on its next look
//! (`server::auth::reload`).

use std::path::{Path, PathBuf};

use rackscope_core::access::{Access, Defined};
use rackscope_core::edit::{Doc, EditError, Seg, write_atomic};
use rackscope_core::model::users::Role;

/// The largest users file or app.yaml edited.
const MAX_FILE_BYTES: u64 = 16 * 1024 * 1024;

/// What a new users file starts with.
const USERS_FILE_HEADER: &str = "# Rackscope users and API tokens (docs/auth.md). Only hashes are stored here;\n\
# edit with `rackscope user` and `rackscope token`, or by hand.\n";

#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: {source}", path.display())]
    Edit { path: PathBuf, source: EditError },
    #[error("user `{0}` already exists")]
    UserExists(String),
    #[error("no user `{0}`")]
    NoUser(String),
    #[error("token `{0}` already exists")]
    TokenExists(String),
    #[error("no token `{0}`")]
    NoToken(String),
    #[error("{0}")]
    Invalid(String),
    #[error("the new password {0}")]
    Policy(String),
    #[error("hashing the password: {0}")]
    Hash(String),
}

fn read(path: &Path) -> Result<String, AccountError> {
    let io = |source| AccountError::Io {
        path: path.to_path_buf(),
        source,
    };
    match rackscope_core::walk::read_bounded(path, MAX_FILE_BYTES) {
        Ok(text) => Ok(text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(String::new()),
        Err(e) => Err(io(e)),
    }
}

/// Applies `change` to the file at `path` and writes it back (creating it, private, with
/// `header` when it does not exist).
fn edit_file(
    path: &Path,
    header: &str,
    change: impl FnOnce(&mut Doc) -> Result<(), AccountError>,
) -> Result<(), AccountError> {
    // One writer at a time, across processes: a `token revoke` racing a password change
    // must not write the revoked token back.
    let _lock = rackscope_core::edit::lock_dir_of(path).map_err(|source| AccountError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let text = read(path)?;
    let text = if text.is_empty() {
        header.to_owned()
    } else {
        text
    };
    let edit = |source| AccountError::Edit {
        path: path.to_path_buf(),
        source,
    };
    let mut doc = Doc::parse(&text).map_err(edit)?;
    change(&mut doc)?;
    write_atomic(path, doc.text(), true).map_err(|source| AccountError::Io {
        path: path.to_path_buf(),
        source,
    })
}

fn edited(path: &Path) -> impl Fn(EditError) -> AccountError + '_ {
    move |source| AccountError::Edit {
        path: path.to_path_buf(),
        source,
    }
}

/// Writes `hash` as the password of `name`, where that user is defined. Returns the file.
pub fn set_password(
    access: &Access,
    app_file: &Path,
    name: &str,
    hash: &str,
) -> Result<PathBuf, AccountError> {
    let user = access
        .users
        .get(name)
        .ok_or_else(|| AccountError::NoUser(name.to_owned()))?;
    match user.defined {
        Defined::Upstream => {
            edit_file(app_file, "", |d| {
                d.set_str(&[Seg::Key("auth"), Seg::Key("password_hash")], hash)
                    .map_err(edited(app_file))
            })?;
            Ok(app_file.to_path_buf())
        }
        Defined::AppYaml => {
            let list = [Seg::Key("auth"), Seg::Key("users")];
            edit_file(app_file, "", |d| {
                let i = d
                    .find_item(&list, "name", name)
                    .ok_or_else(|| AccountError::NoUser(name.to_owned()))?;
                d.set_str(
                    &[
                        Seg::Key("auth"),
                        Seg::Key("users"),
                        Seg::Index(i),
                        Seg::Key("password_hash"),
                    ],
                    hash,
                )
                .map_err(edited(app_file))
            })?;
            Ok(app_file.to_path_buf())
        }
        Defined::UsersFile => {
            let file = &access.users_file;
            edit_file(file, USERS_FILE_HEADER, |d| {
                let i = d
                    .find_item(&[Seg::Key("users")], "name", name)
                    .ok_or_else(|| AccountError::NoUser(name.to_owned()))?;
                d.set_str(
                    &[Seg::Key("users"), Seg::Index(i), Seg::Key("password_hash")],
                    hash,
                )
                .map_err(edited(file))
            })?;
            Ok(file.clone())
        }
    }
}

/// Adds user `name` to the users file.
pub fn add_user(
    access: &Access,
    name: &str,
    role: Role,
    hash: &str,
) -> Result<PathBuf, AccountError> {
    if !rackscope_core::access::valid_name(name) {
        return Err(AccountError::Invalid(format!(
            "user name `{}` must be 1 to 64 letters, digits, `.`, `_`, `-` or `@`",
            name.escape_debug()
        )));
    }
    if access.users.contains_key(name) {
        return Err(AccountError::UserExists(name.to_owned()));
    }
    let file = &access.users_file;
    edit_file(file, USERS_FILE_HEADER, |d| {
        d.push_map(
            &[Seg::Key("users")],
            &[
                ("name", name),
                ("role", role.as_str()),
                ("password_hash", hash),
            ],
        )
        .map_err(edited(file))
    })?;
    Ok(file.clone())
}

/// A token just made: the secret to show once, and where it was written.
pub struct NewToken {
    pub token: String,
    pub id: String,
    pub file: PathBuf,
}

/// Makes API token `name` with `role`, valid until `expires` (seconds since the epoch).
pub fn add_token(
    access: &Access,
    name: &str,
    role: Role,
    now: u64,
    expires: Option<u64>,
) -> Result<NewToken, AccountError> {
    if !rackscope_core::access::valid_name(name) {
        return Err(AccountError::Invalid(format!(
            "token name `{}` must be 1 to 64 letters, digits, `.`, `_`, `-` or `@`",
            name.escape_debug()
        )));
    }
    if access.tokens.values().any(|t| t.name == name) {
        return Err(AccountError::TokenExists(name.to_owned()));
    }
    let key = rackscope_auth::apikey::generate();
    let created = rackscope_core::clock::format_utc(now);
    let expires = expires.map(rackscope_core::clock::format_utc);
    let mut fields = vec![
        ("name", name),
        ("id", key.id.as_str()),
        ("role", role.as_str()),
        ("hash", key.hash.as_str()),
        ("created", created.as_str()),
    ];
    if let Some(e) = &expires {
        fields.push(("expires", e.as_str()));
    }
    let file = &access.users_file;
    edit_file(file, USERS_FILE_HEADER, |d| {
        d.push_map(&[Seg::Key("tokens")], &fields)
            .map_err(edited(file))
    })?;
    Ok(NewToken {
        token: key.token,
        id: key.id,
        file: file.clone(),
    })
}

/// Removes API token `name` from the users file: it stops working on every server that
/// reads the file, within `server::auth::reload::POLL`.
pub fn revoke_token(access: &Access, name: &str) -> Result<PathBuf, AccountError> {
    if !access.tokens.values().any(|t| t.name == name) {
        return Err(AccountError::NoToken(name.to_owned()));
    }
    let file = &access.users_file;
    edit_file(file, USERS_FILE_HEADER, |d| {
        let i = d
            .find_item(&[Seg::Key("tokens")], "name", name)
            .ok_or_else(|| AccountError::NoToken(name.to_owned()))?;
        d.remove_item(&[Seg::Key("tokens")], i)
            .map_err(edited(file))
    })?;
    Ok(file.clone())
}

/// Checks a new password against the policy and hashes it (Argon2id), off the async
/// threads.
pub async fn hash_new(access: &Access, password: &str) -> Result<String, AccountError> {
    rackscope_auth::password::check_policy(password, &access.policy)
        .map_err(AccountError::Policy)?;
    let password = password.to_owned();
    tokio::task::spawn_blocking(move || rackscope_auth::password::hash(&password))
        .await
        .map_err(|e| AccountError::Hash(e.to_string()))?
        .map_err(|e| AccountError::Hash(e.to_string()))
}
