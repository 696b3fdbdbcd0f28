//! Secrets out of log text, applied as entries are captured (the Python version's rule):
//! credentials in URLs, `password|passwd|secret_key|token|bearer|api_key|authorization =
//! value` and their JSON and header forms, and ours besides: API tokens (`rsk_<id>_…`) and
//! JSON Web Tokens, which are our session cookies. Over-redacting a harmless word costs a
//! reader little; a leaked credential in a log shipper costs a rotation.

use std::borrow::Cow;
use std::sync::LazyLock;

use regex::{Captures, Regex};

/// What a secret is replaced with.
pub const MASK: &str = "***";

/// `scheme://user:password@` (the password masked, the user kept for the reader) and
/// `scheme://token@` (all of it masked: a lone user part is often a token).
static URL_USERINFO: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(r"(?i)\b([a-z][a-z0-9+.\-]{0,31}://)([^\s/?#@:]*)(:[^\s/?#@]*)?@").ok()
});

/// A secret's name and what separates it from its value: `password=`, `"token": "`,
/// `Authorization: `, `api_key=`, `\"secret_key\":\"` (a `{:?}` of JSON). Names that merely
/// end in one (`basic_auth_password`, `access_token`) count; `password_file=` does not.
static KEY: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(
        r#"(?i)[a-z0-9_.\-]*(?:password|passwd|secret_key|secret|token|api_key|apikey|authorization)(?:\\?["'])?\s*[:=]\s*(\\?["'])?"#,
    )
    .ok()
});

/// `Bearer <token>` wherever it appears (a header copied into a message).
static BEARER: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"(?i)\b(bearer)\s+[a-z0-9._~+/=\-]+").ok());

/// Our API tokens (`rsk_<id>_<secret>`): the id is not secret and says which token it was.
static API_TOKEN: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"\b(rsk_[a-z0-9]{1,32}_)[A-Za-z0-9_\-]+").ok());

/// A JSON Web Token: three base64url parts, the first a JSON header (`eyJ`).
static JWT: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(r"\beyJ[A-Za-z0-9_\-]{4,}\.[A-Za-z0-9_\-]{4,}\.[A-Za-z0-9_\-]+").ok()
});

/// Whether a field of this name holds a secret whatever its value looks like.
pub fn is_secret_name(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    [
        "password",
        "passwd",
        "secret",
        "token",
        "api_key",
        "apikey",
        "authorization",
        "bearer",
        "cookie",
    ]
    .iter()
    .any(|k| n.ends_with(k))
}

/// `text` with every secret it shows masked; borrowed when there was none.
pub fn redact(text: &str) -> Cow<'_, str> {
    let mut out = Cow::Borrowed(text);
    if let Some(re) = URL_USERINFO.as_ref() {
        out = replace(out, re, |c| {
            let scheme = c.get(1).map_or("", |m| m.as_str());
            let user = c.get(2).map_or("", |m| m.as_str());
            if c.get(3).is_some() {
                format!("{scheme}{user}:{MASK}@")
            } else {
                format!("{scheme}{MASK}@")
            }
        });
    }
    if let Some(re) = KEY.as_ref() {
        out = mask_values(out, re);
    }
    if let Some(re) = BEARER.as_ref() {
        out = replace(out, re, |c| {
            format!("{} {MASK}", c.get(1).map_or("", |m| m.as_str()))
        });
    }
    if let Some(re) = API_TOKEN.as_ref() {
        out = replace(out, re, |c| {
            format!("{}{MASK}", c.get(1).map_or("", |m| m.as_str()))
        });
    }
    if let Some(re) = JWT.as_ref() {
        out = replace(out, re, |_| MASK.to_owned());
    }
    out
}

fn replace<'a>(text: Cow<'a, str>, re: &Regex, f: impl Fn(&Captures) -> String) -> Cow<'a, str> {
    if !re.is_match(&text) {
        return text;
    }
    Cow::Owned(re.replace_all(&text, |c: &Captures| f(c)).into_owned())
}

/// After each secret's name and separator, its value masked: up to the closing quote when
/// it is quoted, else past an auth scheme (`Bearer`, `Basic`) up to a space or punctuation.
/// One forward pass: the text is scanned once whatever it holds.
fn mask_values<'a>(text: Cow<'a, str>, re: &Regex) -> Cow<'a, str> {
    if !re.is_match(&text) {
        return text;
    }
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for c in re.captures_iter(&text) {
        let Some(whole) = c.get(0) else { continue };
        if whole.start() < at {
            continue;
        }
        out.push_str(&text[at..whole.end()]);
        let rest = &text[whole.end()..];
        let quote = c.get(1).map(|m| m.as_str());
        let len = match quote {
            Some(q) => rest.find(q).unwrap_or(rest.len()),
            None => bare_value_len(rest),
        };
        let value = &rest[..len];
        if quote.is_none()
            && let Some(scheme) = auth_scheme(value)
        {
            out.push_str(scheme);
        }
        if !value.is_empty() {
            out.push_str(MASK);
        }
        at = whole.end() + len;
    }
    out.push_str(&text[at..]);
    Cow::Owned(out)
}

/// An unquoted value: past an optional `Bearer ` or `Basic `, to the first space or
/// separator.
fn bare_value_len(rest: &str) -> usize {
    let scheme = auth_scheme(rest).map_or(0, str::len);
    let end = |s: &str| {
        s.find(|c: char| c.is_whitespace() || "\"',;&)}]\\".contains(c))
            .unwrap_or(s.len())
    };
    scheme + end(&rest[scheme..])
}

/// `Bearer ` or `Basic ` (with the space) at the start of a header value.
fn auth_scheme(s: &str) -> Option<&str> {
    ["bearer ", "basic ", "token "].iter().find_map(|p| {
        let head = s.get(..p.len())?;
        head.eq_ignore_ascii_case(p)
            .then_some(head)
            .filter(|_| s.len() > p.len())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn is(input: &str, want: &str) {
        assert_eq!(redact(input), want, "{input}");
    }

    #[test]
    fn url_credentials_keep_the_user_and_mask_the_password() {
        is(
            "GET http://user:pass@host:9090/api failed",
            "GET http://user:***@host:9090/api failed",
        );
        is(
            "https://admin:s3cr%40t@prom.example/x",
            "https://admin:***@prom.example/x",
        );
        is(
            "https://ghp_abc123@github.com/x",
            "https://***@github.com/x",
        );
        is("see http://host/a@b", "see http://host/a@b");
        is("mail me at a@b.org", "mail me at a@b.org");
    }

    #[test]
    fn key_value_pairs_are_masked() {
        is("password=hunter2 user=ada", "password=*** user=ada");
        is("PASSWD: hunter2", "PASSWD: ***");
        is(
            "login with basic_auth_password=x&y=1",
            "login with basic_auth_password=***&y=1",
        );
        is("token: xyz", "token: ***");
        is("secret_key = abc, next", "secret_key = ***, next");
        is("api_key=k1;", "api_key=***;");
        is("password_file=/etc/pw", "password_file=/etc/pw");
        is("the token expired", "the token expired");
    }

    #[test]
    fn json_forms_are_masked_to_the_closing_quote() {
        is(r#"{"password":"x"}"#, r#"{"password":"***"}"#);
        is(
            r#"{"user": "ada", "password": "two words"}"#,
            r#"{"user": "ada", "password": "***"}"#,
        );
        is(r#"{\"token\":\"abc\"}"#, r#"{\"token\":\"***\"}"#);
        is("{'secret': 'v'}", "{'secret': '***'}");
        is(r#"{"password":""}"#, r#"{"password":""}"#);
    }

    #[test]
    fn authorization_headers_are_masked_past_their_scheme() {
        is("Authorization: Bearer abc.def", "Authorization: Bearer ***");
        is(
            "authorization=Basic dXNlcjpwYXNz",
            "authorization=Basic ***",
        );
        is("sent bearer eyJabc with it", "sent bearer *** with it");
    }

    #[test]
    fn our_tokens_and_json_web_tokens_are_masked() {
        is(
            "used rsk_abcdef123456_Zm9vYmFyYmF6cXV4 from cron",
            "used rsk_abcdef123456_*** from cron",
        );
        is(
            "cookie eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhZGEifQ.c2lnbmF0dXJl end",
            "cookie *** end",
        );
    }

    #[test]
    fn text_without_secrets_is_borrowed() {
        assert!(matches!(
            redact("query failed: connection refused"),
            Cow::Borrowed(_)
        ));
    }

    #[test]
    fn field_names_that_hold_secrets() {
        for n in [
            "password",
            "db_password",
            "Authorization",
            "api_key",
            "token",
            "cookie",
        ] {
            assert!(is_secret_name(n), "{n}");
        }
        for n in ["user", "request_id", "uri", "password_file"] {
            assert!(!is_secret_name(n), "{n}");
        }
    }
}
