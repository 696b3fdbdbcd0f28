//! Request guards shared by the API and the pages: the refusal of cross-site writes, the
//! tester's rate, and the one test of what a redirect may point to.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::Request;
use axum::http::{Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// A token bucket: `per_minute` tokens a minute, at most `per_minute` saved up.
pub struct Rate {
    per_minute: u32,
    state: Mutex<(f64, Instant)>,
}

impl Rate {
    pub fn per_minute(per_minute: u32) -> Rate {
        let per_minute = per_minute.max(1);
        Rate {
            per_minute,
            state: Mutex::new((f64::from(per_minute), Instant::now())),
        }
    }

    /// Takes a token, or says how long until one is free.
    pub fn take(&self) -> Result<(), Duration> {
        self.take_at(Instant::now())
    }

    fn take_at(&self, now: Instant) -> Result<(), Duration> {
        let rate = f64::from(self.per_minute) / 60.0;
        let Ok(mut s) = self.state.lock() else {
            return Err(Duration::from_secs(1));
        };
        let (tokens, last) = *s;
        let tokens = (tokens + now.saturating_duration_since(last).as_secs_f64() * rate)
            .min(f64::from(self.per_minute));
        if tokens >= 1.0 {
            *s = (tokens - 1.0, now);
            Ok(())
        } else {
            *s = (tokens, now);
            Err(Duration::from_secs_f64(((1.0 - tokens) / rate).ceil()))
        }
    }
}

/// Refuses a request that changes something (any method but GET, HEAD, OPTIONS) when the
/// browser says it comes from another site: without it, any web page an operator opens
/// could make their browser run the tester (and, later, the editors). Clients that are not
/// browsers send neither header and pass.
pub async fn same_site_writes(req: Request, next: Next) -> Response {
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return next.run(req).await;
    }
    let h = req.headers();
    let text = |name: &str| h.get(name).and_then(|v| v.to_str().ok());
    // Browsers of the last years send Sec-Fetch-Site; the Origin is the fallback for older
    // ones, compared with the Host (or the host a reverse proxy says it forwarded).
    // `same-site` is a sibling subdomain, another origin: it is judged by its Origin too.
    let (cross_site, foreign_origin) = match text("sec-fetch-site") {
        Some("same-origin" | "none") => (false, false),
        Some("cross-site") => (true, false),
        _ => (
            false,
            match text(header::ORIGIN.as_str()) {
                None => false,
                Some("null") => true,
                Some(origin) => origin.split_once("://").is_none_or(|(_, authority)| {
                    ![text(header::HOST.as_str()), text("x-forwarded-host")]
                        .into_iter()
                        .flatten()
                        .any(|host| authority.eq_ignore_ascii_case(host))
                }),
            },
        ),
    };
    if cross_site || foreign_origin {
        return (
            StatusCode::FORBIDDEN,
            axum::Json(serde_json::json!({
                "detail": "cross-site requests may not change anything on this server"
            })),
        )
            .into_response();
    }
    next.run(req).await
}

/// Whether `target` is a path on this site, safe to redirect to. Browsers read `/\x`,
/// `/\tx` and `//x` as another host, and drop tabs and newlines anywhere, so a path that
/// starts with a slash is not enough: no backslash, no control character or space, and
/// the second character may not be a slash.
pub fn same_site_path(target: &str) -> bool {
    let b = target.as_bytes();
    b.first() == Some(&b'/')
        && !matches!(b.get(1), Some(b'/' | b'\\'))
        && !target
            .chars()
            .any(|c| c == '\\' || c.is_control() || c.is_whitespace())
        && target.len() <= 2048
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirects_stay_on_this_site() {
        for ok in ["/", "/views/rack/r01?x=1#a", "/alerts?q=a%20b"] {
            assert!(same_site_path(ok), "{ok}");
        }
        for bad in [
            "//evil.example",
            "/\\evil.example",
            "/\t/evil.example",
            "/%09/evil.example".replace("%09", "\t").as_str(),
            "/\n/evil.example",
            "https://evil.example",
            "evil.example",
            "",
            "/a\\b",
            "/ /evil",
        ] {
            assert!(!same_site_path(bad), "{bad:?}");
        }
        assert!(!same_site_path(&format!("/{}", "a".repeat(3000))));
    }

    #[test]
    fn the_rate_refills_over_time_and_never_saves_more_than_a_minute() {
        let r = Rate::per_minute(2);
        let t0 = Instant::now();
        assert!(r.take_at(t0).is_ok());
        assert!(r.take_at(t0).is_ok());
        let wait = r.take_at(t0).unwrap_err();
        assert_eq!(wait, Duration::from_secs(30));
        assert!(r.take_at(t0 + Duration::from_secs(30)).is_ok());
        assert!(r.take_at(t0 + Duration::from_secs(31)).is_err());
        // An hour idle saves up two tokens, not 120.
        let later = t0 + Duration::from_secs(3600);
        assert!(r.take_at(later).is_ok());
        assert!(r.take_at(later).is_ok());
        assert!(r.take_at(later).is_err());
    }
}
