//! Security headers on every response the router gives, pages, API, files and errors alike:
//! a Content-Security-Policy that lets a page run only our own script and style files (so
//! an injected `<script>`, `on*=` handler or `style=` does nothing), no sniffing, no
//! framing, no referrer to other sites, its own browsing context group, no camera,
//! microphone or location, and HSTS when the connection is TLS terminated here.

use std::sync::LazyLock;

use axum::extract::Request;
use axum::http::header::{self, HeaderName};
use axum::http::{HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use base64::Engine as _;

use crate::server::listen::Transport;

/// A year: a browser that saw HTTPS once keeps to it. Subdomains are not ours to commit.
pub const HSTS: &str = "max-age=31536000";

/// The Content-Security-Policy sent with every response. `style-src` allows, besides our
/// stylesheet, exactly the inline style of `/api/docs`, by its hash; `img-src data:` is the
/// SVG background the stylesheet embeds (the matrix theme). Nothing inline runs: no 'unsafe-inline', no
/// 'unsafe-eval'.
pub fn content_security_policy() -> String {
    format!(
        "default-src 'none'; script-src 'self'; style-src 'self' '{}'; img-src 'self' data:; \
         connect-src 'self'; font-src 'self'; manifest-src 'self'; form-action 'self'; \
         frame-ancestors 'none'; base-uri 'none'",
        source_hash(crate::server::ops::DOCS_STYLE)
    )
}

/// The CSP source expression (`sha256-…`) allowing one inline element with this content.
pub fn source_hash(content: &str) -> String {
    use sha2::Digest as _;
    let digest = sha2::Sha256::digest(content.as_bytes());
    format!(
        "sha256-{}",
        base64::engine::general_purpose::STANDARD.encode(digest.as_slice())
    )
}

static CSP: LazyLock<HeaderValue> = LazyLock::new(|| {
    // Base64 and the fixed text are visible ASCII, so this cannot fail; were it to, a policy
    // stricter than ours beats none.
    HeaderValue::from_str(&content_security_policy())
        .unwrap_or_else(|_| HeaderValue::from_static("default-src 'none'"))
});

/// Computes the policy now rather than on the first request.
pub fn prepare() {
    LazyLock::force(&CSP);
}

/// Every header but HSTS, as sent.
pub fn fixed() -> [(HeaderName, HeaderValue); 6] {
    [
        (header::CONTENT_SECURITY_POLICY, CSP.clone()),
        (
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ),
        (
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        ),
        (header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")),
        (
            HeaderName::from_static("cross-origin-opener-policy"),
            HeaderValue::from_static("same-origin"),
        ),
        (
            HeaderName::from_static("permissions-policy"),
            HeaderValue::from_static("camera=(), microphone=(), geolocation=()"),
        ),
    ]
}

/// The middleware: the headers set on the response, whatever produced it.
pub async fn security(req: Request, next: Next) -> Response {
    let tls = req.extensions().get::<Transport>().is_some_and(|t| t.tls);
    let mut res = next.run(req).await;
    set(res.headers_mut(), tls);
    res
}

fn set(h: &mut HeaderMap, tls: bool) {
    for (name, value) in fixed() {
        h.insert(name, value);
    }
    if tls {
        h.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static(HSTS),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_allows_nothing_inline_but_the_docs_style() {
        let csp = content_security_policy();
        assert!(!csp.contains("unsafe"), "{csp}");
        assert_eq!(csp.matches("'sha256-").count(), 1, "{csp}");
        assert!(csp.contains(&source_hash(crate::server::ops::DOCS_STYLE)));
        // The hash of the empty string, as browsers compute it (a known answer).
        assert_eq!(
            source_hash(""),
            "sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
        );
    }

    #[test]
    fn hsts_only_over_tls() {
        let mut h = HeaderMap::new();
        set(&mut h, false);
        assert!(!h.contains_key(header::STRICT_TRANSPORT_SECURITY));
        set(&mut h, true);
        assert_eq!(h[header::STRICT_TRANSPORT_SECURITY], HSTS);
        assert_eq!(h.len(), 7);
    }
}
