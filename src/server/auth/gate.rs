//! The gate every request passes: who the client is (a session cookie, a bearer token, an
//! API token, or nothing, with the role its network or `auth.anonymous` gives), whether
//! the route's declared need allows it, and, for a browser's request that changes
//! something, whether it carries this client's CSRF token. Refusals: 401 (API) or a
//! redirect to the sign-in page (pages) when signing in could help, 403 when it could not.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use rackscope_core::access::Access;

use super::signin::{self, Refused};
use super::{Principal, Via, audit, cookie};
use crate::server::AppState;
use crate::server::listen::Transport;
use crate::server::routes::{Need, Policy};

/// The largest form body read to find its CSRF token outside the editors (the tester's
/// form is the largest).
const MAX_FORM_BYTES: usize = crate::server::live::TESTER_BODY_LIMIT + 64 * 1024;
pub const CSRF_HEADER: &str = "x-csrf-token";
pub const CSRF_FIELD: &str = "csrf";

/// The gate's state: the application and the routes' needs.
#[derive(Clone)]
pub struct Gate {
    pub app: AppState,
    pub policy: Arc<Policy>,
}

/// The request as the gate sees it: what it asks for and who asks.
struct Asked {
    path: String,
    route: Option<String>,
    method: Method,
    writes: bool,
    request_id: String,
}

impl Asked {
    fn of(req: &Request) -> Asked {
        let method = req.method().clone();
        Asked {
            path: req.uri().path().to_owned(),
            route: req
                .extensions()
                .get::<MatchedPath>()
                .map(|m| m.as_str().to_owned()),
            writes: !matches!(method, Method::GET | Method::HEAD | Method::OPTIONS),
            method,
            request_id: req
                .headers()
                .get("x-request-id")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_owned(),
        }
    }

    fn route(&self) -> &str {
        self.route.as_deref().unwrap_or("-")
    }
}

pub async fn gate(State(g): State<Gate>, req: Request, next: Next) -> Response {
    let st = &g.app;
    let access = st.auth.access.load_full();
    let asked = Asked::of(&req);
    let need = match &asked.route {
        Some(r) => match g.policy.need(&asked.method, r) {
            Some(n) => n,
            None => {
                // Any client can ask a GET route for another method: not worth more than debug.
                tracing::debug!(method = %asked.method, route = %r, "a method the route does not declare was refused");
                return deny(
                    &asked.path,
                    StatusCode::METHOD_NOT_ALLOWED,
                    "this method is not allowed here",
                );
            }
        },
        // No route: the 404 answer, which shows nothing.
        None => Need::Public,
    };
    let found = identify(st, &access, &req);
    if let Some(refusal) = refuse(st, &access, &asked, need, &found, &req) {
        return refusal;
    }
    let mut principal = found.principal.clone();
    let req = if asked.writes && needs_csrf(req.headers(), &principal.via) {
        // The editors' forms carry whole files; every other form is small, and a large body
        // is only read for a client that already holds the admin role.
        let limit = if need == Need::ADMIN {
            crate::editing::MAX_FORM_BYTES
        } else {
            MAX_FORM_BYTES
        };
        let seed = if found.new_seed {
            ""
        } else {
            found.seed.as_str()
        };
        match check_csrf(st, &principal, &asked.path, seed, limit, req).await {
            Ok(req) => req,
            Err(r) => {
                let who = audit::Who::of(&principal, &asked.request_id);
                st.auth
                    .audit
                    .write(asked.method.as_str(), asked.route(), 403, &who);
                return r;
            }
        }
    } else {
        req
    };
    // The token a page's forms carry; the API's clients send a header bound the same way.
    let has_subject = matches!(principal.via, Via::Session { .. }) || !found.seed.is_empty();
    if principal.csrf.is_empty() && has_subject {
        principal.csrf = st
            .auth
            .signer
            .csrf(&csrf_subject(&principal.via, &found.seed));
    }
    let mut req = req;
    req.extensions_mut().insert(principal.clone());
    let mut res = next.run(req).await;
    finish(st, &asked, &principal, &found, &mut res);
    res
}

/// The answer when the client may not have what it asks: credentials that failed, or a
/// role below the route's need.
fn refuse(
    st: &AppState,
    access: &Access,
    asked: &Asked,
    need: Need,
    found: &Found,
    req: &Request,
) -> Option<Response> {
    let p = &found.principal;
    if let Some(why) = found.refused
        && need != Need::Public
    {
        let who = audit::Who::of(p, &asked.request_id);
        st.auth.audit.event("credentials", why.label(), &who);
        return Some(unauthenticated(
            req,
            &asked.path,
            p.secure,
            "Invalid or expired token",
        ));
    }
    let Need::Role(needed) = need else {
        return None;
    };
    if p.allows(needed) {
        return None;
    }
    if asked.writes {
        let who = audit::Who::of(p, &asked.request_id);
        st.auth
            .audit
            .write(asked.method.as_str(), asked.route(), 403, &who);
    }
    // Signing in can only help when there is something to sign in to.
    Some(if p.name.is_none() && access.enabled {
        unauthenticated(req, &asked.path, p.secure, "Not authenticated")
    } else {
        deny(
            &asked.path,
            StatusCode::FORBIDDEN,
            &format!(
                "this needs the {} role; you have {}",
                needed,
                p.role.map_or("none", |r| r.as_str())
            ),
        )
    })
}

/// What every answer that passed the gate gets: no caching of a signed-in client's pages,
/// the cookies to set or remove, and the audit line of a change.
fn finish(st: &AppState, asked: &Asked, p: &Principal, found: &Found, res: &mut Response) {
    let status = res.status().as_u16();
    let h = res.headers_mut();
    // What a signed-in client sees (its name, its CSRF token) is nobody else's.
    if p.name.is_some() && !h.contains_key(header::CACHE_CONTROL) {
        h.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("private, no-store"),
        );
    }
    // HTTPS ended at a trusted proxy: browsers should keep to it as they do when this
    // server ends TLS itself (`headers` sends HSTS then).
    if p.secure && !h.contains_key(header::STRICT_TRANSPORT_SECURITY) {
        h.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static(crate::server::headers::HSTS),
        );
    }
    // A sign-in that set a new session: a stale cookie's removal must not undo it.
    let sets_session = h.get_all(header::SET_COOKIE).iter().any(|v| {
        v.as_bytes()
            .starts_with(format!("{}=", cookie::SESSION).as_bytes())
    });
    if found.clear_session && !sets_session {
        h.extend(cookie::clear(cookie::SESSION, p.secure).map(|v| (header::SET_COOKIE, v)));
    }
    if found.new_seed {
        h.extend(
            cookie::set(cookie::CSRF_SEED, &found.seed, None, true, p.secure)
                .map(|v| (header::SET_COOKIE, v)),
        );
    }
    if asked.writes {
        let who = audit::Who::of(p, &asked.request_id);
        st.auth
            .audit
            .write(asked.method.as_str(), asked.route(), status, &who);
    }
}

/// What the gate found out about a request.
struct Found {
    principal: Principal,
    /// Credentials were presented and refused.
    refused: Option<Refused>,
    /// The session cookie is bad and should be removed.
    clear_session: bool,
    /// The CSRF seed of a client without a session.
    seed: String,
    /// The seed is new and must be set as a cookie.
    new_seed: bool,
}

fn identify(st: &AppState, access: &Access, req: &Request) -> Found {
    let h = req.headers();
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    let from_proxy = peer.is_some_and(|ip| access.proxies.iter().any(|c| c.contains(ip)));
    let addr: Option<IpAddr> = peer.map(|p| {
        // Every header line, in order: RFC 9110 reads several as one list, and a proxy that
        // adds its own line must not leave the client's forged first line the one read.
        let xff: Vec<&str> = h
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        let xff = xff.join(",");
        rackscope_auth::net::client_addr(
            p,
            (!xff.is_empty()).then_some(xff.as_str()),
            &access.proxies,
        )
    });
    let tls = req.extensions().get::<Transport>().is_some_and(|t| t.tls);
    let secure = tls
        || from_proxy
            && h.get("x-forwarded-proto")
                .and_then(|v| v.to_str().ok())
                .is_some_and(|p| p.eq_ignore_ascii_case("https"));
    let trusted = addr.is_some_and(|a| access.is_trusted(a));
    let base = access.unauthenticated_role(trusted);
    let (seed, new_seed) = match cookie::get(h, cookie::CSRF_SEED) {
        Some(s)
            if s.len() <= 64
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') =>
        {
            (s.to_owned(), false)
        }
        // Only pages carry forms: an API call or a static file gets no seed (no random
        // bytes drawn, no cookie set) when it brings none.
        _ if is_api(req.uri().path()) || req.uri().path().starts_with("/static/") => {
            (String::new(), false)
        }
        _ => (rackscope_auth::token::random_id(), true),
    };
    let mut found = Found {
        principal: Principal {
            name: None,
            role: base,
            via: if access.enabled {
                Via::Anonymous
            } else {
                Via::Open
            },
            csrf: String::new(),
            addr,
            secure,
        },
        refused: None,
        clear_session: false,
        seed,
        new_seed,
    };
    if !access.enabled {
        // Nothing to sign in to: credentials mean nothing, and are not refused either.
        return found;
    }
    let auth = &st.auth;
    if let Some(value) = h.get(header::AUTHORIZATION) {
        let token = value
            .to_str()
            .ok()
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .map(str::trim);
        let proved = match token {
            None => Err(Refused::Malformed),
            Some(t) if t.starts_with("rsk_") => {
                signin::api_token(access, t).map(|(name, role)| (name, role, Via::ApiToken))
            }
            Some(t) => signin::session(auth, access, t).map(|(u, _)| (u.name, u.role, Via::Bearer)),
        };
        match proved {
            Ok((name, role, via)) => {
                found.principal.name = Some(name);
                found.principal.role = Some(role).max(base);
                found.principal.via = via;
            }
            Err(e) => found.refused = Some(e),
        }
        return found;
    }
    if let Some(c) = cookie::get(h, cookie::SESSION) {
        match signin::session(auth, access, c) {
            Ok((u, claims)) => {
                found.principal.name = Some(u.name);
                found.principal.role = Some(u.role).max(base);
                found.principal.via = Via::Session { sid: claims.sid };
            }
            Err(e) => {
                found.refused = Some(e);
                found.clear_session = true;
            }
        }
    }
    found
}

/// A request that carries one of our cookies, and so the authority of a browser's session
/// (or the seed its forms are bound to). Requests without them get no authority from a
/// browser: scripts, and clients let in by their network, which the cross-site check of
/// `guard::same_site_writes` already covers.
fn needs_csrf(h: &HeaderMap, via: &Via) -> bool {
    // A bearer or API token proves itself; anything else a browser may attach on its own
    // (a cached Basic credential of a proxy, say) does not exempt the request.
    !matches!(via, Via::Bearer | Via::ApiToken)
        && (cookie::get(h, cookie::SESSION).is_some()
            || cookie::get(h, cookie::CSRF_SEED).is_some())
}

/// What a CSRF token is bound to: the session, or the seed of a browser without one, kept
/// apart so that a seed a client chose can never stand for a session id.
pub fn csrf_subject(via: &Via, seed: &str) -> String {
    match via {
        Via::Session { sid } => format!("s:{sid}"),
        _ => format!("a:{seed}"),
    }
}

/// Lets the request through when its `x-csrf-token` header or its form's `csrf` field is
/// this client's token. The form body is read (bounded) and handed on unchanged.
/// `seed` is the checked seed cookie (`Found::seed`, empty when the client sent none);
/// `limit` the largest body the route takes.
async fn check_csrf(
    st: &AppState,
    p: &Principal,
    path: &str,
    seed: &str,
    limit: usize,
    req: Request,
) -> Result<Request, Response> {
    let expired = || {
        deny(
            path,
            StatusCode::FORBIDDEN,
            "the form has expired or was sent from another site; reload the page and try again",
        )
    };
    if seed.is_empty() && !matches!(p.via, Via::Session { .. }) {
        return Err(expired());
    }
    let sid = csrf_subject(&p.via, seed);
    if let Some(given) = req.headers().get(CSRF_HEADER).and_then(|v| v.to_str().ok()) {
        return if st.auth.signer.csrf_ok(&sid, given) {
            Ok(req)
        } else {
            Err(expired())
        };
    }
    let is_form = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        return Err(expired());
    }
    let (parts, body) = req.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, limit).await else {
        return Err(deny(
            path,
            StatusCode::PAYLOAD_TOO_LARGE,
            "the form is too large",
        ));
    };
    let given = serde_urlencoded::from_bytes::<Vec<(String, String)>>(&bytes)
        .ok()
        .and_then(|fields| fields.into_iter().find(|(k, _)| k == CSRF_FIELD))
        .map(|(_, v)| v);
    match given {
        Some(g) if st.auth.signer.csrf_ok(&sid, &g) => {
            Ok(Request::from_parts(parts, Body::from(bytes)))
        }
        _ => Err(expired()),
    }
}

fn is_api(path: &str) -> bool {
    path == "/api" || path.starts_with("/api/") || path == "/metrics" || path == "/events"
}

/// JSON for the API and probes, plain text otherwise (the pages' error page needs the
/// UI, which the server does not know; the refusal says what to do).
fn deny(path: &str, status: StatusCode, detail: &str) -> Response {
    if is_api(path) {
        (status, axum::Json(serde_json::json!({ "detail": detail }))).into_response()
    } else {
        let body = format!(
            "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{code}</title>\
             <link rel=\"stylesheet\" href=\"/static/rackscope.css\"></head><body class=\"refusal\">\
             <main><h1>{code} · not allowed</h1><p>{detail}</p><p><a href=\"/\">Back to the overview</a> · \
             <a href=\"/signin\">Sign in</a></p></main></body></html>",
            code = status.as_u16(),
            detail = html_escape(detail),
        );
        let mut r = (status, axum::response::Html(body)).into_response();
        r.headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        r
    }
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Signing in could help: 401 for the API (and for a page's live update, whose script
/// reloads the page), a redirect to the sign-in page for a page.
fn unauthenticated(req: &Request, path: &str, secure: bool, detail: &str) -> Response {
    let fragment = req.headers().contains_key("x-rackscope-fragment");
    let mut r = if is_api(path) || fragment || *req.method() != Method::GET {
        let mut r = (
            StatusCode::UNAUTHORIZED,
            axum::Json(serde_json::json!({ "detail": detail })),
        )
            .into_response();
        r.headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        r
    } else {
        let here = req.uri().path_and_query().map_or("/", |p| p.as_str());
        let next = serde_urlencoded::to_string([("next", here)]).unwrap_or_default();
        Redirect::to(&format!("/signin?{next}")).into_response()
    };
    if cookie::get(req.headers(), cookie::SESSION).is_some() {
        r.headers_mut()
            .extend(cookie::clear(cookie::SESSION, secure).map(|v| (header::SET_COOKIE, v)));
    }
    r
}
