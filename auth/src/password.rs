//! Password hashes: Argon2id for new ones, bcrypt still read so a users file written by the
//! Python version (`$2b$13$…`) keeps working, and the password policy shown to people.
//!
//! The stored hash is read from a file an operator may not fully trust, so its parameters are
//! bounded before any hashing: a hash that asks for 4 GiB of memory or a bcrypt cost of 31
//! is refused instead of letting one sign-in attempt stall or exhaust the server.

use argon2::password_hash::{self, SaltString};
use argon2::{Algorithm, Argon2, Params, PasswordHash, PasswordHasher, PasswordVerifier, Version};

use crate::rng;

/// Which algorithm a stored hash uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    Argon2id,
    Bcrypt { cost: u32 },
}

/// Why a password could not be hashed or checked. No variant carries the hash or the password.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PasswordError {
    #[error("unknown password hash format: {0}")]
    UnknownFormat(String),
    #[error("password hash parameters out of bounds: {0}")]
    OutOfBounds(String),
    #[error("password longer than {max} bytes")]
    TooLong { max: usize },
    #[error("password hashing failed: {0}")]
    Hashing(String),
}

/// Longest password accepted, in bytes: enough for any passphrase, short enough that hashing
/// a hostile request body is not a denial of service.
pub const MAX_PASSWORD_BYTES: usize = 1024;

/// Argon2id parameters of new hashes: OWASP's first recommendation (19 MiB, 2 passes, 1 lane).
pub const ARGON2_M_KIB: u32 = 19_456;
pub const ARGON2_T: u32 = 2;
pub const ARGON2_P: u32 = 1;

/// Largest Argon2 parameters accepted from a stored hash (256 MiB, 16 passes, 8 lanes).
pub const MAX_ARGON2_M_KIB: u32 = 262_144;
pub const MAX_ARGON2_T: u32 = 16;
pub const MAX_ARGON2_P: u32 = 8;

/// bcrypt costs accepted from a stored hash; 17 is already about 10 s a check.
pub const BCRYPT_COSTS: std::ops::RangeInclusive<u32> = 4..=17;

/// bcrypt only ever reads the first 72 bytes of a password.
pub const BCRYPT_MAX_PASSWORD_BYTES: usize = 72;

/// The PHC base64 alphabet (standard, no padding) of Argon2 salts and outputs.
fn is_b64(s: &str) -> bool {
    s.bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/')
}

/// bcrypt's own base64 alphabet.
fn is_bcrypt64(s: &str) -> bool {
    s.bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'/')
}

/// Names the start of an unrecognised hash without quoting it: a plain-text password pasted
/// into the users file by mistake must not end up in a log, so only a `$id$` prefix of at most
/// four characters is ever shown.
fn describe(stored: &str) -> String {
    if stored.is_empty() {
        return "empty".to_owned();
    }
    if !stored.starts_with('$') {
        return "does not start with `$`".to_owned();
    }
    let prefix: String = stored.chars().take(4).collect();
    let shown = match prefix[1..].find('$') {
        Some(end) => &prefix[..end + 2],
        None => "$",
    };
    format!("starts with `{shown}`")
}

/// Reads a decimal parameter: digits only (no sign, no spaces), anything past `u32` is out of
/// bounds rather than unknown, since the shape is right and only the size is hostile.
fn param(text: &str, name: &str) -> Result<u32, PasswordError> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(PasswordError::UnknownFormat(format!(
            "argon2id parameter `{name}` is not a number"
        )));
    }
    text.parse::<u32>()
        .map_err(|_| PasswordError::OutOfBounds(format!("argon2id `{name}` is too large")))
}

fn argon2_scheme(stored: &str) -> Result<Scheme, PasswordError> {
    let unknown = |why: &str| PasswordError::UnknownFormat(format!("argon2id hash {why}"));
    let mut parts = stored.split('$');
    // "", "argon2id", "v=19", "m=..,t=..,p=..", salt, hash
    let (Some(""), Some("argon2id"), Some(version), Some(params), Some(salt), Some(hash), None) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return Err(unknown(
            "does not have the fields `$argon2id$v=19$m=,t=,p=$salt$hash`",
        ));
    };
    if version != "v=19" {
        return Err(unknown("is not version 19"));
    }
    let mut kv = params.split(',');
    let (Some(m), Some(t), Some(p), None) = (kv.next(), kv.next(), kv.next(), kv.next()) else {
        return Err(unknown("parameters are not exactly `m=,t=,p=`"));
    };
    let (Some(m), Some(t), Some(p)) = (
        m.strip_prefix("m="),
        t.strip_prefix("t="),
        p.strip_prefix("p="),
    ) else {
        return Err(unknown("parameters are not exactly `m=,t=,p=`"));
    };
    let (m, t, p) = (param(m, "m")?, param(t, "t")?, param(p, "p")?);
    if m > MAX_ARGON2_M_KIB {
        return Err(PasswordError::OutOfBounds(format!(
            "argon2id memory m={m} KiB is over {MAX_ARGON2_M_KIB}"
        )));
    }
    if t == 0 || t > MAX_ARGON2_T {
        return Err(PasswordError::OutOfBounds(format!(
            "argon2id passes t={t} is outside 1..={MAX_ARGON2_T}"
        )));
    }
    if p == 0 || p > MAX_ARGON2_P {
        return Err(PasswordError::OutOfBounds(format!(
            "argon2id lanes p={p} is outside 1..={MAX_ARGON2_P}"
        )));
    }
    if u64::from(m) < 8 * u64::from(p) {
        return Err(PasswordError::OutOfBounds(format!(
            "argon2id memory m={m} KiB is under 8 × p={p}"
        )));
    }
    // 8..48 salt bytes and 10..64 output bytes, as the PHC string format allows.
    if !(11..=64).contains(&salt.len()) || !is_b64(salt) {
        return Err(unknown("salt is not 11 to 64 base64 characters"));
    }
    if !(14..=86).contains(&hash.len()) || !is_b64(hash) {
        return Err(unknown("output is not 14 to 86 base64 characters"));
    }
    Ok(Scheme::Argon2id)
}

fn bcrypt_scheme(stored: &str) -> Result<Scheme, PasswordError> {
    let unknown = |why: &str| PasswordError::UnknownFormat(format!("bcrypt hash {why}"));
    // `$2b$13$` + 22 characters of salt + 31 of hash: 60 ASCII bytes.
    let b = stored.as_bytes();
    if b.len() != 60 || !stored.is_ascii() || b[3] != b'$' || b[6] != b'$' {
        return Err(unknown("is not `$2b$NN$` followed by 53 characters"));
    }
    if !matches!(&stored[..4], "$2a$" | "$2b$" | "$2y$") {
        return Err(PasswordError::UnknownFormat(describe(stored)));
    }
    let cost = &stored[4..6];
    if !cost.bytes().all(|c| c.is_ascii_digit()) {
        return Err(unknown("cost is not two digits"));
    }
    if !is_bcrypt64(&stored[7..]) {
        return Err(unknown("salt and hash are not bcrypt base64"));
    }
    let cost: u32 = cost
        .parse()
        .map_err(|_| unknown("cost is not two digits"))?;
    if !BCRYPT_COSTS.contains(&cost) {
        return Err(PasswordError::OutOfBounds(format!(
            "bcrypt cost {cost} is outside {}..={}",
            BCRYPT_COSTS.start(),
            BCRYPT_COSTS.end()
        )));
    }
    Ok(Scheme::Bcrypt { cost })
}

/// Recognises a stored hash and checks its parameters are within bounds, without hashing.
pub fn scheme(stored: &str) -> Result<Scheme, PasswordError> {
    if stored.starts_with("$argon2id$") {
        argon2_scheme(stored)
    } else if stored.starts_with("$argon2i$") || stored.starts_with("$argon2d$") {
        // The hybrid resists both side channels and GPU cracking; the other two do one each.
        Err(PasswordError::UnknownFormat(
            "argon2i and argon2d hashes are not accepted, only argon2id".to_owned(),
        ))
    } else if stored.starts_with("$2") {
        bcrypt_scheme(stored)
    } else {
        // argon2i and argon2d land here too: only the side-channel resistant hybrid is taken.
        Err(PasswordError::UnknownFormat(describe(stored)))
    }
}

/// Whether a stored hash should be replaced after the next successful sign-in: anything that
/// is not Argon2id at this crate's parameters (bcrypt from the Python version, older costs).
pub fn needs_rehash(stored: &str) -> bool {
    if !matches!(scheme(stored), Ok(Scheme::Argon2id)) {
        return true;
    }
    let current = format!("$argon2id$v=19$m={ARGON2_M_KIB},t={ARGON2_T},p={ARGON2_P}$");
    !stored.starts_with(&current)
}

fn argon2() -> Result<Argon2<'static>, PasswordError> {
    let params = Params::new(ARGON2_M_KIB, ARGON2_T, ARGON2_P, None)
        .map_err(|e| PasswordError::Hashing(e.to_string()))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// Hashes a new password with Argon2id (OWASP parameters, random 16-byte salt) as a PHC string.
pub fn hash(password: &str) -> Result<String, PasswordError> {
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(PasswordError::TooLong {
            max: MAX_PASSWORD_BYTES,
        });
    }
    let mut salt = [0u8; 16];
    rng::try_fill(&mut salt).map_err(|e| PasswordError::Hashing(format!("no random salt: {e}")))?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| PasswordError::Hashing(e.to_string()))?;
    let hashed = argon2()?
        .hash_password(password.as_bytes(), &salt)
        .map_err(|e| PasswordError::Hashing(e.to_string()))?;
    Ok(hashed.to_string())
}

/// Hashes with bcrypt (`$2b$`), the Python version's format; cost 13 matches it. Passwords
/// over 72 bytes are refused rather than silently cut, since bcrypt would ignore the rest.
pub fn hash_bcrypt(password: &str, cost: u32) -> Result<String, PasswordError> {
    if password.len() > BCRYPT_MAX_PASSWORD_BYTES {
        return Err(PasswordError::TooLong {
            max: BCRYPT_MAX_PASSWORD_BYTES,
        });
    }
    if !BCRYPT_COSTS.contains(&cost) {
        return Err(PasswordError::OutOfBounds(format!(
            "bcrypt cost {cost} is outside {}..={}",
            BCRYPT_COSTS.start(),
            BCRYPT_COSTS.end()
        )));
    }
    bcrypt::hash(password, cost).map_err(|e| PasswordError::Hashing(e.to_string()))
}

/// Checks a password against a stored hash: `Ok(false)` on mismatch, `Err` when the hash is
/// unreadable or out of bounds (checked before any hashing) or the password is too long.
///
/// bcrypt only reads the first 72 bytes, and the `bcrypt` crate's `verify` cuts longer
/// passwords silently, so a password that merely shares its first 72 bytes with the real one
/// would be accepted. A password over 72 bytes against a bcrypt hash is therefore a mismatch.
/// (Someone who set such a password under the Python version, which cut it the same way,
/// has to have it reset; the alternative is accepting passwords nobody set.)
pub fn verify(password: &str, stored: &str) -> Result<bool, PasswordError> {
    let scheme = scheme(stored)?;
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(PasswordError::TooLong {
            max: MAX_PASSWORD_BYTES,
        });
    }
    match scheme {
        Scheme::Argon2id => {
            let parsed = PasswordHash::new(stored).map_err(|e| {
                PasswordError::UnknownFormat(format!("argon2id hash does not parse: {e}"))
            })?;
            // The parameters come from the hash, not from `argon2()`: old hashes keep verifying.
            match Argon2::default().verify_password(password.as_bytes(), &parsed) {
                Ok(()) => Ok(true),
                Err(password_hash::Error::Password) => Ok(false),
                Err(e) => Err(PasswordError::Hashing(e.to_string())),
            }
        }
        Scheme::Bcrypt { .. } => {
            if password.len() > BCRYPT_MAX_PASSWORD_BYTES {
                return Ok(false);
            }
            bcrypt::verify(password, stored).map_err(|e| PasswordError::Hashing(e.to_string()))
        }
    }
}

/// Spends about the time of `verify` against a hash made by `hash`, for a user that does not
/// exist, so the answer time does not tell which user names are real.
///
/// A password over `MAX_PASSWORD_BYTES` returns at once, as `verify` does for a real user.
/// Users still on bcrypt hashes take bcrypt's time instead; `needs_rehash` lets the caller
/// move them to Argon2id at their next sign-in, which closes that difference.
pub fn dummy_verify(password: &str) {
    if password.len() > MAX_PASSWORD_BYTES {
        return;
    }
    let Ok(argon2) = argon2() else {
        return;
    };
    let mut out = [0u8; 32];
    let result = argon2.hash_password_into(password.as_bytes(), b"rackscope-dummy-salt", &mut out);
    let _ = std::hint::black_box((result, out));
}

/// What a new password must look like.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// In characters, not bytes.
    pub min_length: u32,
    /// In characters; 0 means no limit beyond `MAX_PASSWORD_BYTES`.
    pub max_length: u32,
    /// An ASCII digit `0`-`9`.
    pub require_digit: bool,
    /// ASCII punctuation: ``!"#$%&'()*+,-./:;<=>?@[\]^_`{|}~``.
    pub require_symbol: bool,
}

impl Default for Policy {
    /// The Python version's defaults.
    fn default() -> Policy {
        Policy {
            min_length: 6,
            max_length: 128,
            require_digit: false,
            require_symbol: false,
        }
    }
}

/// Checks a new password against the policy; the message lists everything that is missing
/// and never quotes the password.
pub fn check_policy(password: &str, p: &Policy) -> Result<(), String> {
    let mut problems = Vec::new();
    let chars = password.chars().count();
    if chars < p.min_length as usize {
        problems.push(format!("at least {} characters", p.min_length));
    }
    if p.max_length != 0 && chars > p.max_length as usize {
        problems.push(format!("at most {} characters", p.max_length));
    }
    if password.len() > MAX_PASSWORD_BYTES {
        problems.push(format!("at most {MAX_PASSWORD_BYTES} bytes"));
    }
    if p.require_digit && !password.chars().any(|c| c.is_ascii_digit()) {
        problems.push("a digit (0-9)".to_owned());
    }
    if p.require_symbol && !password.chars().any(|c| c.is_ascii_punctuation()) {
        problems.push("a symbol such as ! # - _ or @".to_owned());
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!("the password needs {}", problems.join(", ")))
    }
}

#[cfg(test)]
mod tests;
