//! `rackscope user` and `rackscope token`: users and API tokens in the users file (or
//! app.yaml, for users defined there), edited in place so the file's comments stay.
//! Passwords are read from a prompt, or from stdin when it is not a terminal; never from
//! the command line, where `ps` and the shell history would show them.

use std::io::{BufRead, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use rackscope::accounts;
use rackscope_core::access::Access;
use rackscope_core::model::users::Role;

/// Where the configuration is, for both commands.
#[derive(clap::Args)]
struct Where {
    /// The configuration directory or its app.yaml.
    #[arg(
        long,
        short,
        env = "RACKSCOPE_APP_CONFIG",
        default_value = ".",
        global = true
    )]
    config: PathBuf,
}

#[derive(clap::Args)]
pub(super) struct UserArgs {
    #[command(subcommand)]
    command: UserCommand,
    #[command(flatten)]
    at: Where,
}

#[derive(clap::Subcommand)]
enum UserCommand {
    /// Add a user to the users file, asking for the password.
    Add {
        name: String,
        #[arg(long, value_parser = parse_role)]
        role: Role,
    },
    /// Set a user's password (ends the user's sessions everywhere).
    Passwd { name: String },
    /// List users with their role and where each is defined.
    List,
}

#[derive(clap::Args)]
pub(super) struct TokenArgs {
    #[command(subcommand)]
    command: TokenCommand,
    #[command(flatten)]
    at: Where,
}

#[derive(clap::Subcommand)]
enum TokenCommand {
    /// Make an API token for scripts; it is printed once and only its hash is stored.
    Create {
        name: String,
        #[arg(long, value_parser = parse_role)]
        role: Role,
        /// How long it works (`90d`, `1y`); without it, until revoked.
        #[arg(long)]
        expires: Option<String>,
    },
    /// List tokens (names, roles, expiry; never secrets).
    List,
    /// Remove a token: it stops working on every server reading the file within seconds.
    Revoke { name: String },
}

fn parse_role(s: &str) -> Result<Role, String> {
    Role::parse(s).ok_or_else(|| "one of viewer, operator, admin".to_owned())
}

fn app_file(config: &Path) -> PathBuf {
    if config.is_dir() {
        config.join("app.yaml")
    } else {
        config.to_path_buf()
    }
}

/// The current users and tokens. Errors elsewhere in the auth section (such as "nobody
/// can sign in", the state before the first `user add`) do not stop an edit; an error in
/// the users file itself does, since the edit could not know what the file holds.
fn access(app: &Path) -> anyhow::Result<Access> {
    if !app.is_file() {
        bail!("{} does not exist (pass --config DIR)", app.display());
    }
    let (access, diags) = rackscope_core::load::access_of(app, std::env::vars());
    let in_files: Vec<_> = diags
        .errors()
        .filter(|d| match d.code {
            "auth" => *d.span.file == *access.users_file,
            // An `auth.users_file` named but not made yet: the edit makes it.
            "missing-file" => false,
            _ => true,
        })
        .collect();
    if !in_files.is_empty() {
        for d in in_files {
            eprintln!("{}", rackscope_core::diag::render(d, None));
        }
        bail!("fix these errors first (`rackscope check` shows them all)");
    }
    Ok(access)
}

/// After a change: what still stands between the users and signing in.
fn report(app: &Path) {
    let (access, diags) = rackscope_core::load::access_of(app, std::env::vars());
    for d in diags.iter() {
        eprintln!("{}", rackscope_core::diag::render(d, None));
    }
    if !access.enabled {
        eprintln!(
            "note: auth.enabled is false in {}: nobody needs to sign in until it is true",
            app.display()
        );
    }
}

/// A new password: typed twice at a terminal, else the first line of stdin.
fn read_new_password(access: &Access) -> anyhow::Result<String> {
    let stdin = std::io::stdin();
    let password = if stdin.is_terminal() {
        let first = rpassword::prompt_password("New password: ")?;
        let second = rpassword::prompt_password("Again: ")?;
        if first != second {
            bail!("the two passwords differ");
        }
        first
    } else {
        let mut line = String::new();
        stdin
            .lock()
            .take(4096)
            .read_line(&mut line)
            .context("reading the password from stdin")?;
        line.trim_end_matches(['\n', '\r']).to_owned()
    };
    rackscope_auth::password::check_policy(&password, &access.policy)
        .map_err(|e| anyhow::anyhow!("the password {e}"))?;
    Ok(password)
}

fn hash(password: &str) -> anyhow::Result<String> {
    rackscope_auth::password::hash(password).map_err(|e| anyhow::anyhow!("hashing: {e}"))
}

pub(super) fn user(args: &UserArgs) -> anyhow::Result<ExitCode> {
    let app = app_file(&args.at.config);
    let access = access(&app)?;
    match &args.command {
        UserCommand::Add { name, role } => {
            if access.users.contains_key(name) {
                bail!(
                    "user `{name}` already exists; `rackscope user passwd {name}` sets its password"
                );
            }
            let password = read_new_password(&access)?;
            let file = accounts::add_user(&access, name, *role, &hash(&password)?)?;
            println!("added {role} `{name}` to {}", file.display());
        }
        UserCommand::Passwd { name } => {
            if !access.users.contains_key(name) {
                bail!("no user `{name}`; `rackscope user add {name} --role viewer` adds one");
            }
            let password = read_new_password(&access)?;
            let file = accounts::set_password(&access, &app, name, &hash(&password)?)?;
            println!("set the password of `{name}` in {}", file.display());
        }
        UserCommand::List => {
            let mut out = std::io::stdout().lock();
            writeln!(
                out,
                "{:<24} {:<9} {:<9} DEFINED IN",
                "NAME", "ROLE", "PASSWORD"
            )?;
            for u in access.users.values() {
                let place = match u.defined {
                    rackscope_core::access::Defined::Upstream => {
                        format!("{} (auth.username)", app.display())
                    }
                    rackscope_core::access::Defined::AppYaml => {
                        format!("{} (auth.users)", app.display())
                    }
                    rackscope_core::access::Defined::UsersFile => {
                        access.users_file.display().to_string()
                    }
                };
                let pw = if u.password_hash.is_empty() {
                    "none"
                } else {
                    "set"
                };
                writeln!(out, "{:<24} {:<9} {:<9} {place}", u.name, u.role, pw)?;
            }
            return Ok(ExitCode::SUCCESS);
        }
    }
    report(&app);
    Ok(ExitCode::SUCCESS)
}

pub(super) fn token(args: &TokenArgs) -> anyhow::Result<ExitCode> {
    let app = app_file(&args.at.config);
    let access = access(&app)?;
    let now = rackscope::server::auth::now();
    match &args.command {
        TokenCommand::Create {
            name,
            role,
            expires,
        } => {
            let expires = match expires {
                None => None,
                Some(d) => {
                    let d = rackscope_core::duration::Duration::parse(d)
                        .map_err(|e| anyhow::anyhow!("--expires: {e}"))?;
                    Some(now.saturating_add(d.seconds))
                }
            };
            let t = accounts::add_token(&access, name, *role, now, expires)?;
            eprintln!(
                "made {role} token `{name}` (id {}) in {}; it is shown once, keep it now:",
                t.id,
                t.file.display()
            );
            println!("{}", t.token);
        }
        TokenCommand::List => {
            let mut out = std::io::stdout().lock();
            writeln!(out, "{:<24} {:<14} {:<9} EXPIRES", "NAME", "ID", "ROLE")?;
            for t in access.tokens.values() {
                let exp = match t.expires {
                    None => "never".to_owned(),
                    Some(e) if e <= now => {
                        format!("{} (expired)", rackscope_core::clock::format_utc(e))
                    }
                    Some(e) => rackscope_core::clock::format_utc(e),
                };
                writeln!(out, "{:<24} {:<14} {:<9} {exp}", t.name, t.id, t.role)?;
            }
            return Ok(ExitCode::SUCCESS);
        }
        TokenCommand::Revoke { name } => {
            let file = accounts::revoke_token(&access, name)?;
            println!("revoked token `{name}` in {}", file.display());
        }
    }
    report(&app);
    Ok(ExitCode::SUCCESS)
}
