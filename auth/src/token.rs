//! Signed tokens: the browser's session cookie and the bearer token `POST /api/auth/login`
//! hands out are the same thing, a compact JWT signed with HMAC-SHA256.
//!
//! The JWT shape is only so that existing tools can decode one; verification accepts exactly
//! the header this module writes, so `alg: none`, RS256-with-an-HMAC-key and every other
//! algorithm confusion are refused by construction rather than by a list.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::rng;

type HmacSha256 = Hmac<Sha256>;

/// What a token says about its bearer.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Claims {
    /// The user name.
    pub sub: String,
    pub role: String,
    /// Session id: what sign-out revokes and what the CSRF token is bound to.
    pub sid: String,
    /// Issued at, seconds since the Unix epoch.
    pub iat: u64,
    /// Expires at, seconds since the Unix epoch; none for a token that lives until revoked.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub exp: Option<u64>,
    /// `Signer::generation` of the password hash at sign-in.
    pub r#gen: String,
}

/// Why a token was refused. Deliberately coarse: the client learns nothing useful from detail.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TokenError {
    #[error("malformed token")]
    Malformed,
    #[error("bad token signature")]
    BadSignature,
    #[error("token expired")]
    Expired,
}

/// Longest token looked at; anything longer is refused before any decoding or hashing.
pub const MAX_TOKEN_BYTES: usize = 4096;

/// `{"alg":"HS256","typ":"JWT"}`, the only header written and the only one accepted.
const HEADER: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9";

/// Length of an unpadded base64url HMAC-SHA256 tag.
const TAG_CHARS: usize = 43;

/// Length of `Signer::generation`: 96 bits, plenty to notice a change, short in a cookie.
const GENERATION_CHARS: usize = 16;

/// Keys HMAC-SHA256 with any key length. This is RFC 2104's own key schedule (a key longer
/// than the 64-byte block is hashed first, a shorter one zero-padded), done here so that the
/// constructor is infallible instead of returning an impossible error to unwrap.
fn keyed(key: &[u8]) -> HmacSha256 {
    let mut block = hmac::digest::Key::<HmacSha256>::default();
    if key.len() > block.len() {
        let digest = Sha256::digest(key);
        block[..digest.len()].copy_from_slice(&digest);
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    <HmacSha256 as KeyInit>::new(&block)
}

fn tag(mac: &HmacSha256, parts: &[&[u8]]) -> [u8; 32] {
    let mut mac = mac.clone();
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}

/// Decodes a base64url tag of exactly 32 bytes; `None` for anything else.
fn decode_tag(text: &str) -> Option<[u8; 32]> {
    if text.len() != TAG_CHARS {
        return None;
    }
    let mut out = [0u8; 32];
    match URL_SAFE_NO_PAD.decode_slice(text, &mut out) {
        Ok(32) => Some(out),
        _ => None,
    }
}

/// Signs and checks tokens, CSRF tokens and password generations with keys derived from the
/// server's secret.
#[derive(Clone)]
pub struct Signer {
    // Independent subkeys, so a value made for one purpose never verifies for another
    // (a CSRF token is not a session signature, whatever the inputs).
    session: HmacSha256,
    csrf: HmacSha256,
    generation: HmacSha256,
}

impl Signer {
    /// Derives the subkeys as HMAC-SHA256(secret, label). The secret should carry at least
    /// 256 bits (`random_secret` makes one); checking that is the configuration's job.
    pub fn new(secret: &[u8]) -> Signer {
        let root = keyed(secret);
        let derive = |label: &[u8]| keyed(&tag(&root, &[label]));
        Signer {
            session: derive(b"session"),
            csrf: derive(b"csrf"),
            generation: derive(b"generation"),
        }
    }

    /// A compact JWT: `header.payload.signature`, all base64url without padding.
    pub fn sign(&self, c: &Claims) -> String {
        // Serialising strings and integers cannot fail; if it somehow did, an empty payload
        // yields a token that `verify` refuses as malformed, never a valid one.
        let json = serde_json::to_vec(c).unwrap_or_default();
        let mut token = String::with_capacity(HEADER.len() + json.len() * 4 / 3 + TAG_CHARS + 4);
        token.push_str(HEADER);
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(&json, &mut token);
        let signature = tag(&self.session, &[token.as_bytes()]);
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(signature, &mut token);
        token
    }

    /// Checks a token and returns its claims. The signature is checked, in constant time,
    /// before the payload is decoded, so JSON parsing only ever sees what this server signed.
    /// A token whose `exp` is at or before `now` (Unix seconds) is `Expired`.
    pub fn verify(&self, token: &str, now: u64) -> Result<Claims, TokenError> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(TokenError::Malformed);
        }
        let mut parts = token.split('.');
        let (Some(header), Some(payload), Some(signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(TokenError::Malformed);
        };
        if header != HEADER {
            return Err(TokenError::Malformed);
        }
        let signature = decode_tag(signature).ok_or(TokenError::Malformed)?;
        let mut mac = self.session.clone();
        mac.update(header.as_bytes());
        mac.update(b".");
        mac.update(payload.as_bytes());
        mac.verify_slice(&signature)
            .map_err(|_| TokenError::BadSignature)?;
        let json = URL_SAFE_NO_PAD
            .decode(payload)
            .map_err(|_| TokenError::Malformed)?;
        let claims: Claims = serde_json::from_slice(&json).map_err(|_| TokenError::Malformed)?;
        if let Some(exp) = claims.exp
            && exp <= now
        {
            return Err(TokenError::Expired);
        }
        Ok(claims)
    }

    /// The CSRF token of a session: base64url HMAC of its id, so the server keeps no state.
    pub fn csrf(&self, sid: &str) -> String {
        URL_SAFE_NO_PAD.encode(tag(&self.csrf, &[sid.as_bytes()]))
    }

    /// Whether `given` is the CSRF token of `sid`, compared in constant time.
    pub fn csrf_ok(&self, sid: &str, given: &str) -> bool {
        let Some(given) = decode_tag(given) else {
            return false;
        };
        let mut mac = self.csrf.clone();
        mac.update(sid.as_bytes());
        mac.verify_slice(&given).is_ok()
    }

    /// A 16-character keyed fingerprint of a password hash. Sessions carry the one current at
    /// sign-in; after a password change it differs, so the caller can refuse older sessions
    /// without keeping a list. Keyed so the token does not expose a hash of the hash.
    pub fn generation(&self, password_hash: &str) -> String {
        let mut text = URL_SAFE_NO_PAD.encode(tag(&self.generation, &[password_hash.as_bytes()]));
        text.truncate(GENERATION_CHARS);
        text
    }

    /// Compares two generations in constant time (a convenience for the caller's check).
    pub fn generation_ok(&self, password_hash: &str, given: &str) -> bool {
        self.generation(password_hash)
            .as_bytes()
            .ct_eq(given.as_bytes())
            .into()
    }
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Signer { keys: <redacted> }")
    }
}

/// 128 random bits, base64url without padding (22 characters): session ids and the like.
pub fn random_id() -> String {
    let mut bytes = [0u8; 16];
    rng::fill(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// 256 random bits as 64 lowercase hex digits: a fresh `auth.secret_key`.
pub fn random_secret() -> String {
    let mut bytes = [0u8; 32];
    rng::fill(&mut bytes);
    rng::hex(&bytes)
}

#[cfg(test)]
mod tests;
