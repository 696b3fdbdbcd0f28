//! The server with sign-in on: three users (one per role) and a fixed secret, over the
//! health fixture, and requests that carry a client address, cookies and a CSRF token the
//! way a browser does.

use std::net::SocketAddr;
use std::sync::{Arc, LazyLock};

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, header};
use rackscope::server::AppState;
use rackscope_core::access::{Access, Defined, User};
use rackscope_core::model::users::Role;
use rackscope_core::telemetry::Engine;
use rackscope_core::testkit::Table;

use super::fixture::world;
use super::router::{Reply, call};
use super::{load, root};

pub(crate) const SECRET: &str = "0123456789abcdef0123456789abcdef-test";
pub(crate) const PASSWORD: &str = "correct horse battery";

/// One hash per test run: bcrypt at the lowest cost keeps the suite fast; the upstream
/// format at its real cost has a test of its own.
static HASH: LazyLock<String> =
    LazyLock::new(|| rackscope_auth::password::hash_bcrypt(PASSWORD, 4).unwrap());

pub(crate) fn user(name: &str, role: Role) -> User {
    User {
        name: name.to_owned(),
        role,
        password_hash: HASH.clone(),
        defined: Defined::UsersFile,
    }
}

/// Sign-in on, users `ada` (admin), `oscar` (operator) and `vera` (viewer).
pub(crate) fn access() -> Access {
    let mut a = Access {
        enabled: true,
        secret: Some(SECRET.to_owned()),
        session_seconds: 8 * 3600,
        policy: rackscope_auth::password::Policy {
            min_length: 6,
            max_length: 128,
            require_digit: false,
            require_symbol: false,
        },
        ..Access::default()
    };
    for (n, r) in [
        ("ada", Role::Admin),
        ("oscar", Role::Operator),
        ("vera", Role::Viewer),
    ] {
        a.users.insert(n.to_owned(), user(n, r));
    }
    a
}

/// The health fixture's server (not refreshed) with `access`; the query tester is on.
pub(crate) fn state(access: Access) -> AppState {
    let mut config = load(&root().join("tests/fixtures/health/app.yaml")).config;
    config.access = access;
    config.app.api.query_tester = true;
    let table = Arc::new(Table::new(world()));
    let engine = Arc::new(Engine::new(Arc::new(config), table));
    AppState::new(engine).unwrap()
}

/// A request as a browser on `addr` sends it, with `cookies`.
pub(crate) fn browser(
    method: &str,
    uri: &str,
    addr: &str,
    cookies: &str,
    form: Option<&str>,
) -> Request<Body> {
    let mut b = Request::builder()
        .method(method)
        .uri(uri)
        .header("sec-fetch-site", "same-origin");
    if !cookies.is_empty() {
        b = b.header(header::COOKIE, cookies);
    }
    let body = match form {
        Some(f) => {
            b = b.header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
            Body::from(f.to_owned())
        }
        None => Body::empty(),
    };
    let mut req = b.body(body).unwrap();
    let peer: SocketAddr = format!("{addr}:40000").parse().unwrap();
    req.extensions_mut().insert(ConnectInfo(peer));
    req
}

/// A script's request (no cookies, no Origin) with an optional bearer token and JSON body.
pub(crate) fn script(
    method: &str,
    uri: &str,
    addr: &str,
    bearer: Option<&str>,
    json: Option<&str>,
) -> Request<Body> {
    let mut b = Request::builder().method(method).uri(uri);
    if let Some(t) = bearer {
        b = b.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    let body = match json {
        Some(j) => {
            b = b.header(header::CONTENT_TYPE, "application/json");
            Body::from(j.to_owned())
        }
        None => Body::empty(),
    };
    let mut req = b.body(body).unwrap();
    let peer: SocketAddr = format!("{addr}:40000").parse().unwrap();
    req.extensions_mut().insert(ConnectInfo(peer));
    req
}

/// The value of the `Set-Cookie` for `name` in a reply (`None` when not set).
pub(crate) fn set_cookie(r: &Reply, name: &str) -> Option<String> {
    r.headers
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .map(str::to_owned)
}

/// The `csrf` hidden field of a page.
pub(crate) fn csrf_of(html: &str) -> String {
    let at = html
        .find("name=\"csrf\" value=\"")
        .unwrap_or_else(|| panic!("no csrf field in {html}"));
    let rest = &html[at + "name=\"csrf\" value=\"".len()..];
    rest[..rest.find('"').unwrap()].to_owned()
}

/// A browser signed in as `name`: its cookie header and its CSRF token.
pub(crate) async fn sign_in(st: &AppState, name: &str, addr: &str) -> (String, String) {
    let page = call(st, browser("GET", "/signin", addr, "", None)).await;
    let seed = set_cookie(&page, "rackscope_csrf").unwrap();
    let seed = seed.split(';').next().unwrap().to_owned();
    let csrf = csrf_of(&page.text());
    let form = format!("csrf={csrf}&username={name}&password=correct+horse+battery&next=%2F");
    let r = call(st, browser("POST", "/signin", addr, &seed, Some(&form))).await;
    assert_eq!(r.status, 303, "{}", r.text());
    let session = set_cookie(&r, "rackscope_session").unwrap();
    let cookie = format!("{}; {seed}", session.split(';').next().unwrap());
    let page = call(st, browser("GET", "/checks", addr, &cookie, None)).await;
    (cookie, csrf_of(&page.text()))
}
