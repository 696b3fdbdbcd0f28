//! Long-lived API tokens for scripts (`rackscope token create NAME`), stored hashed in the
//! users file.
//!
//! A token reads `rsk_<id>_<secret>`. The id (12 lowercase letters and digits) is not secret:
//! listings show it, and it finds the stored hash without comparing against every one. The
//! secret is 32 random bytes, base64url. Only `sha256:<hex>` of the secret is stored: a plain
//! SHA-256 is right here, unlike for passwords, because the secret has 256 bits of entropy, so
//! there is nothing for a slow hash to protect against guessing, and a fast hash keeps every
//! API request cheap.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::rng;

/// What every token starts with, so secret scanners and people recognise one.
pub const PREFIX: &str = "rsk_";
/// Characters of an id.
pub const ID_LEN: usize = 12;
/// Characters of a secret: 32 bytes in unpadded base64url.
pub const SECRET_LEN: usize = 43;
/// Characters of a whole token.
pub const TOKEN_LEN: usize = PREFIX.len() + ID_LEN + 1 + SECRET_LEN;

const HASH_PREFIX: &str = "sha256:";

/// A token just made: `token` is shown once to the person who asked; `id` and `hash` are
/// what is stored.
#[derive(Clone, PartialEq, Eq)]
pub struct NewKey {
    pub token: String,
    pub id: String,
    pub hash: String,
}

/// Leaves the token out, so a stray `{:?}` in a log line does not leak a working credential.
impl std::fmt::Debug for NewKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewKey")
            .field("token", &"<redacted>")
            .field("id", &self.id)
            .field("hash", &self.hash)
            .finish()
    }
}

fn random_id() -> String {
    const ALPHABET: &[u8; 36] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut id = String::with_capacity(ID_LEN);
    let mut pool = [0u8; 32];
    while id.len() < ID_LEN {
        rng::fill(&mut pool);
        // 252 = 7 × 36: bytes at or above it are dropped so every character is equally likely.
        for &b in pool.iter().filter(|&&b| b < 252) {
            if id.len() == ID_LEN {
                break;
            }
            id.push(char::from(ALPHABET[usize::from(b % 36)]));
        }
    }
    id
}

/// The stored form of a secret: `sha256:` and the lowercase hex SHA-256 of the secret's text
/// (as it appears in the token, so `printf %s SECRET | sha256sum` reproduces it).
pub fn hash_secret(secret: &str) -> String {
    format!(
        "{HASH_PREFIX}{}",
        rng::hex(&Sha256::digest(secret.as_bytes()))
    )
}

/// Makes a new token.
pub fn generate() -> NewKey {
    let id = random_id();
    let mut bytes = [0u8; 32];
    rng::fill(&mut bytes);
    let secret = URL_SAFE_NO_PAD.encode(bytes);
    NewKey {
        token: format!("{PREFIX}{id}_{secret}"),
        hash: hash_secret(&secret),
        id,
    }
}

/// Splits a token into `(id, secret)`; `None` for anything not exactly of that shape.
pub fn parse(token: &str) -> Option<(&str, &str)> {
    // Length first: the rest never looks at more than TOKEN_LEN bytes.
    if token.len() != TOKEN_LEN || !token.is_ascii() {
        return None;
    }
    let rest = token.strip_prefix(PREFIX)?;
    let (id, rest) = rest.split_at_checked(ID_LEN)?;
    let secret = rest.strip_prefix('_')?;
    let secret_ok = secret.len() == SECRET_LEN
        && secret
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    (valid_id(id) && secret_ok).then_some((id, secret))
}

/// Whether `secret` hashes to `stored_hash`, compared in constant time; false for a stored
/// hash that is not `sha256:` and 64 lowercase hex digits.
pub fn matches(stored_hash: &str, secret: &str) -> bool {
    if !valid_hash(stored_hash) {
        return false;
    }
    hash_secret(secret)
        .as_bytes()
        .ct_eq(stored_hash.as_bytes())
        .into()
}

/// Whether a stored hash has the shape `generate` writes.
pub fn valid_hash(stored: &str) -> bool {
    stored.strip_prefix(HASH_PREFIX).is_some_and(|hex| {
        hex.len() == 64 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    })
}

/// Whether an id has the shape `generate` makes: 12 lowercase ASCII letters and digits.
pub fn valid_id(id: &str) -> bool {
    id.len() == ID_LEN
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn generated_keys_parse_and_match() {
        let key = generate();
        assert_eq!(key.token.len(), TOKEN_LEN);
        assert!(key.token.starts_with("rsk_"));
        assert!(valid_id(&key.id));
        assert!(valid_hash(&key.hash));
        let (id, secret) = parse(&key.token).unwrap();
        assert_eq!(id, key.id);
        assert_eq!(secret.len(), SECRET_LEN);
        assert!(matches(&key.hash, secret));
        assert!(!key.hash.contains(secret));
        assert!(!format!("{key:?}").contains(secret));
    }

    #[test]
    fn keys_differ() {
        let (a, b) = (generate(), generate());
        assert_ne!(a.id, b.id);
        assert_ne!(a.token, b.token);
        assert_ne!(a.hash, b.hash);
    }

    #[test]
    fn hash_is_sha256_of_the_secret_text() {
        // echo -n abc | sha256sum
        assert_eq!(
            hash_secret("abc"),
            "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn wrong_secret_or_bad_hash_does_not_match() {
        let key = generate();
        let other = generate();
        let (_, secret) = parse(&key.token).unwrap();
        let (_, other_secret) = parse(&other.token).unwrap();
        assert!(!matches(&key.hash, other_secret));
        assert!(!matches(&key.hash.to_uppercase(), secret));
        assert!(!matches(&key.hash[..70], secret));
        assert!(!matches(
            &key.hash.replacen("sha256:", "sha512:", 1),
            secret
        ));
        assert!(!matches("", secret));
        assert!(!matches(&format!("{} ", key.hash), secret));
    }

    #[test]
    fn parse_refuses_other_shapes() {
        let key = generate();
        let t = key.token.as_str();
        let bad = [
            String::new(),
            t[..TOKEN_LEN - 1].to_owned(),
            format!("{t}A"),
            t.replacen("rsk_", "rsx_", 1),
            t.replacen("rsk_", "RSK_", 1),
            format!("rsk_{}_{}", key.id.to_uppercase(), &t[17..]),
            format!("rsk_{}-{}", key.id, &t[17..]),
            format!("rsk_{}_{}=", key.id, &t[17..59]),
            format!("rsk_{}_{}é", key.id, &t[17..58]),
            format!(" {}", &t[1..]),
            format!("rsk_abcdefghijk!_{}", &t[17..]),
        ];
        for b in bad {
            assert_eq!(parse(&b), None, "{b}");
        }
    }

    #[test]
    fn ids_use_the_whole_alphabet() {
        let mut seen = std::collections::HashSet::new();
        for _ in 0..200 {
            seen.extend(random_id().chars());
        }
        assert_eq!(seen.len(), 36);
    }

    proptest! {
        #[test]
        fn parse_never_panics(s in ".{0,80}") {
            let _ = parse(&s);
        }

        #[test]
        fn parse_never_panics_near_the_shape(id in "[a-z0-9é]{10,13}", secret in "[A-Za-z0-9_=é-]{40,45}") {
            let t = format!("rsk_{id}_{secret}");
            if let Some((i, s)) = parse(&t) {
                prop_assert!(valid_id(i));
                prop_assert_eq!(s.len(), SECRET_LEN);
            }
        }

        #[test]
        fn matches_never_panics(stored in ".{0,80}", secret in ".{0,60}") {
            let _ = matches(&stored, &secret);
        }
    }
}
