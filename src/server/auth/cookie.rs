//! The two cookies of sign-in: the session (`rackscope_session`, a signed token) and the
//! CSRF seed of a browser that has not signed in (`rackscope_csrf`, random), which binds
//! the sign-in form's token to that browser.

use axum::http::{HeaderMap, HeaderValue, header};

pub const SESSION: &str = "rackscope_session";
pub const CSRF_SEED: &str = "rackscope_csrf";
/// The longest cookie value read; a longer one is ignored as if absent.
const MAX_VALUE: usize = 4096;

/// The value of cookie `name`, if the request sent one.
pub fn get<'h>(h: &'h HeaderMap, name: &str) -> Option<&'h str> {
    h.get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().strip_prefix(name)?.strip_prefix('='))
        .find(|v| !v.is_empty() && v.len() <= MAX_VALUE)
}

/// `Set-Cookie` for a cookie scripts cannot read. `SameSite=Lax` for the session, so that
/// a link from a ticket or a chat opens the page signed in; `Strict` for the CSRF seed.
pub fn set(
    name: &str,
    value: &str,
    max_age: Option<u64>,
    strict: bool,
    secure: bool,
) -> Option<HeaderValue> {
    let mut c = format!(
        "{name}={value}; Path=/; HttpOnly; SameSite={}",
        if strict { "Strict" } else { "Lax" }
    );
    if let Some(age) = max_age {
        c.push_str(&format!("; Max-Age={age}"));
    }
    if secure {
        c.push_str("; Secure");
    }
    HeaderValue::from_str(&c).ok()
}

/// `Set-Cookie` that removes `name`.
pub fn clear(name: &str, secure: bool) -> Option<HeaderValue> {
    set(name, "", Some(0), false, secure)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn cookies_are_found_among_others_and_oversized_ones_ignored() {
        let mut h = HeaderMap::new();
        h.append(
            header::COOKIE,
            HeaderValue::from_static("rackscope_theme=dark; rackscope_session=abc"),
        );
        assert_eq!(get(&h, SESSION), Some("abc"));
        assert_eq!(get(&h, CSRF_SEED), None);
        let big = format!("{SESSION}={}", "a".repeat(5000));
        let mut h = HeaderMap::new();
        h.append(header::COOKIE, HeaderValue::from_str(&big).unwrap());
        assert_eq!(get(&h, SESSION), None);
    }

    #[test]
    fn set_cookie_flags() {
        let v = set(SESSION, "t", Some(60), false, true).unwrap();
        assert_eq!(
            v.to_str().unwrap(),
            "rackscope_session=t; Path=/; HttpOnly; SameSite=Lax; Max-Age=60; Secure"
        );
        let v = clear(SESSION, false).unwrap();
        assert!(v.to_str().unwrap().contains("Max-Age=0"));
    }
}
