//! Sign-in, sessions, tokens and roles through the router: every way in, every way of
//! being refused, and every route that changes something checked against every role.

use axum::http::StatusCode;
use rackscope::server::routes::Need;
use rackscope_core::model::users::Role;

use crate::support::auth::{
    PASSWORD, SECRET, access, browser, csrf_of, script, set_cookie, sign_in, state,
};
use crate::support::router::call;

const HOME: &str = "10.9.8.7";

/// The query tester run by a script from `addr`, with a bearer token or none.
async fn tester(
    st: &rackscope::server::AppState,
    addr: &str,
    bearer: Option<&String>,
) -> crate::support::router::Reply {
    let body = Some(r#"{"expr":"up"}"#);
    call(
        st,
        script(
            "POST",
            "/api/checks/test",
            addr,
            bearer.map(String::as_str),
            body,
        ),
    )
    .await
}

#[tokio::test]
async fn a_browser_signs_in_sees_its_name_and_signs_out() {
    let st = state(access());
    // A page without a session sends the browser to sign in, and back afterwards.
    let r = call(&st, browser("GET", "/views/rack/r01", HOME, "", None)).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.headers["location"], "/signin?next=%2Fviews%2Frack%2Fr01");
    // The sign-in page shows no place names to a client that has not signed in.
    let page = call(&st, browser("GET", "/signin", HOME, "", None)).await;
    assert_eq!(page.status, 200);
    assert!(!page.text().contains("Room A"), "{}", page.text());
    let seed = set_cookie(&page, "rackscope_csrf").unwrap();
    assert!(
        seed.contains("HttpOnly") && seed.contains("SameSite=Strict"),
        "{seed}"
    );

    let (cookie, csrf) = sign_in(&st, "ada", HOME).await;
    let r = call(&st, browser("GET", "/", HOME, &cookie, None)).await;
    assert_eq!(r.status, 200);
    let html = r.text();
    assert!(
        html.contains("class=\"user-menu\"")
            && html.contains(">ada <small class=\"role\">admin</small>"),
        "{html}"
    );

    let r = call(
        &st,
        browser(
            "POST",
            "/signout",
            HOME,
            &cookie,
            Some(&format!("csrf={csrf}")),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let cleared = set_cookie(&r, "rackscope_session").unwrap();
    assert!(cleared.contains("Max-Age=0"), "{cleared}");
}

#[tokio::test]
async fn the_session_cookie_is_http_only_lax_and_secure_only_over_https() {
    let st = state(access());
    let page = call(&st, browser("GET", "/signin", HOME, "", None)).await;
    let seed = set_cookie(&page, "rackscope_csrf").unwrap();
    let seed = seed.split(';').next().unwrap().to_owned();
    let form = format!(
        "csrf={}&username=ada&password=correct+horse+battery",
        csrf_of(&page.text())
    );
    let r = call(&st, browser("POST", "/signin", HOME, &seed, Some(&form))).await;
    let c = set_cookie(&r, "rackscope_session").unwrap();
    assert!(
        c.contains("HttpOnly") && c.contains("SameSite=Lax") && c.contains("Max-Age=28800"),
        "{c}"
    );
    assert!(!c.contains("Secure"), "plain HTTP: {c}");
    assert_eq!(r.headers["location"], "/");
}

#[tokio::test]
async fn a_wrong_user_and_a_wrong_password_get_the_same_answer() {
    let st = state(access());
    let page = call(&st, browser("GET", "/signin", HOME, "", None)).await;
    let seed = set_cookie(&page, "rackscope_csrf").unwrap();
    let seed = seed.split(';').next().unwrap().to_owned();
    let csrf = csrf_of(&page.text());
    let mut answers = Vec::new();
    for (user, pw) in [("ada", "wrong password"), ("nobody", PASSWORD)] {
        let form = format!(
            "csrf={csrf}&username={user}&password={}",
            pw.replace(' ', "+")
        );
        let r = call(&st, browser("POST", "/signin", HOME, &seed, Some(&form))).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
        assert!(set_cookie(&r, "rackscope_session").is_none());
        let text = r.text();
        assert!(text.contains("Wrong user name or password."), "{text}");
        answers.push(text.replace(user, "USER"));
    }
    assert_eq!(answers[0], answers[1]);
    // The API says the same for both.
    for (user, pw) in [("ada", "nope"), ("nobody", PASSWORD)] {
        let body = format!(r#"{{"username":"{user}","password":"{pw}"}}"#);
        let r = call(
            &st,
            script("POST", "/api/auth/login", HOME, None, Some(&body)),
        )
        .await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
        assert_eq!(r.json()["detail"], "Invalid credentials");
    }
}

#[tokio::test]
async fn failed_sign_ins_are_limited_per_user_and_per_address() {
    let st = state(access());
    let body = r#"{"username":"vera","password":"guess"}"#;
    for _ in 0..10 {
        let r = call(
            &st,
            script("POST", "/api/auth/login", HOME, None, Some(body)),
        )
        .await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    }
    // The 11th for vera from there is refused before any password check, even with the
    // right one; from another network vera still signs in (a public name is not a lockout).
    let right = format!(r#"{{"username":"vera","password":"{PASSWORD}"}}"#);
    let r = call(
        &st,
        script("POST", "/api/auth/login", HOME, None, Some(&right)),
    )
    .await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(r.headers.contains_key("retry-after"));
    let r = call(
        &st,
        script("POST", "/api/auth/login", "10.0.0.99", None, Some(&right)),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    // Another user is not locked out by vera's attempts.
    let ok = format!(r#"{{"username":"oscar","password":"{PASSWORD}"}}"#);
    let r = call(
        &st,
        script("POST", "/api/auth/login", HOME, None, Some(&ok)),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    // One address guessing many names is stopped after 30 failures.
    for i in 0..30 {
        let b = format!(r#"{{"username":"u{i}","password":"x"}}"#);
        call(
            &st,
            script("POST", "/api/auth/login", "10.1.1.1", None, Some(&b)),
        )
        .await;
    }
    let r = call(
        &st,
        script("POST", "/api/auth/login", "10.1.1.1", None, Some(&ok)),
    )
    .await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn the_api_login_token_works_on_every_route_and_the_api_refuses_without_it() {
    let st = state(access());
    let r = call(&st, script("GET", "/api/auth/status", HOME, None, None)).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["enabled"], true);
    assert_eq!(r.json()["configured"], true);

    let r = call(&st, script("GET", "/api/stats/global", HOME, None, None)).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.headers["www-authenticate"], "Bearer");
    assert_eq!(r.json()["detail"], "Not authenticated");

    let body = format!(r#"{{"username":"vera","password":"{PASSWORD}"}}"#);
    let r = call(
        &st,
        script("POST", "/api/auth/login", HOME, None, Some(&body)),
    )
    .await;
    assert_eq!(r.status, 200);
    let j = r.json();
    assert_eq!(j["token_type"], "bearer");
    assert_eq!(j["expires_in"], 8 * 3600);
    assert_eq!(j["username"], "vera");
    let token = j["access_token"].as_str().unwrap().to_owned();

    let r = call(
        &st,
        script("GET", "/api/stats/global", HOME, Some(&token), None),
    )
    .await;
    assert_eq!(r.status, 200);
    let r = call(&st, script("GET", "/api/auth/me", HOME, Some(&token), None)).await;
    assert_eq!(r.json()["username"], "vera");
    assert_eq!(r.json()["role"], "viewer");
    // A viewer may not run the tester.
    let r = tester(&st, HOME, Some(&token)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // Pages take the bearer token too.
    let r = call(&st, script("GET", "/alerts", HOME, Some(&token), None)).await;
    assert_eq!(r.status, 200);
}

#[tokio::test]
async fn expired_and_tampered_credentials_are_refused_never_downgraded() {
    let mut a = access();
    a.anonymous = Some(Role::Viewer);
    let st = state(a);
    let signer = rackscope_auth::token::Signer::new(SECRET.as_bytes());
    let now = rackscope::server::auth::now();
    let user = crate::support::auth::user("ada", Role::Admin);
    let mut claims = rackscope_auth::token::Claims {
        sub: "ada".into(),
        role: "admin".into(),
        sid: "s1".into(),
        iat: now - 7200,
        exp: Some(now - 10),
        r#gen: signer.generation(&user.password_hash),
    };
    let expired = signer.sign(&claims);
    claims.exp = Some(now + 3600);
    let good = signer.sign(&claims);
    let mut tampered = good.clone().into_bytes();
    let mid = tampered.len() / 2;
    tampered[mid] = if tampered[mid] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).unwrap();
    let other =
        rackscope_auth::token::Signer::new(b"another secret, another deployment!!").sign(&claims);

    let r = call(&st, script("GET", "/api/sites", HOME, Some(&good), None)).await;
    assert_eq!(r.status, 200);
    for bad in [&expired, &tampered, &other, &"garbage".to_owned()] {
        // The API: 401, even though anonymous clients may read.
        let r = call(&st, script("GET", "/api/sites", HOME, Some(bad), None)).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{bad}");
        assert_eq!(r.json()["detail"], "Invalid or expired token");
        // A page: back to sign-in, with the bad cookie removed.
        let cookie = format!("rackscope_session={bad}");
        let r = call(&st, browser("GET", "/alerts", HOME, &cookie, None)).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{bad}");
        assert!(
            r.headers["location"]
                .to_str()
                .unwrap()
                .starts_with("/signin?next=")
        );
        assert!(
            set_cookie(&r, "rackscope_session")
                .unwrap()
                .contains("Max-Age=0")
        );
    }
}

#[tokio::test]
async fn a_form_without_this_browsers_csrf_token_is_refused() {
    let st = state(access());
    let (cookie, csrf) = sign_in(&st, "oscar", HOME).await;
    let form = |t: &str| format!("csrf={t}&test=node_up&expr=up");
    // The right token runs the tester; none, a wrong one, or another browser's does not.
    let r = call(
        &st,
        browser("POST", "/checks", HOME, &cookie, Some(&form(&csrf))),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let (_, other) = sign_in(&st, "ada", HOME).await;
    for bad in ["", "forged", other.as_str()] {
        let r = call(
            &st,
            browser("POST", "/checks", HOME, &cookie, Some(&form(bad))),
        )
        .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "csrf {bad:?}");
        assert!(r.text().contains("the form has expired"), "{}", r.text());
    }
    let r = call(
        &st,
        browser("POST", "/checks", HOME, &cookie, Some("test=node_up")),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // Signing in needs the token too (no login CSRF).
    let r = call(
        &st,
        browser(
            "POST",
            "/signin",
            HOME,
            "rackscope_csrf=abc",
            Some("username=ada&password=x"),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn anonymous_viewers_see_pages_but_change_nothing() {
    let mut a = access();
    a.anonymous = Some(Role::Viewer);
    let st = state(a);
    let r = call(&st, browser("GET", "/", HOME, "", None)).await;
    assert_eq!(r.status, 200);
    assert!(r.text().contains("Sign in"), "the menu offers sign-in");
    let r = call(&st, script("GET", "/api/stats/global", HOME, None, None)).await;
    assert_eq!(r.status, 200);
    let r = tester(&st, HOME, None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn trusted_networks_grant_their_role_and_forwarded_for_counts_only_from_proxies() {
    let mut a = access();
    a.trusted = vec!["10.20.0.0/16".parse().unwrap()];
    a.trusted_role = Some(Role::Operator);
    a.proxies = vec!["192.0.2.10".parse().unwrap()];
    let st = state(a);
    let test = |addr: &'static str, xff: Option<&'static str>| {
        let mut req = script(
            "POST",
            "/api/checks/test",
            addr,
            None,
            Some(r#"{"expr":"up"}"#),
        );
        if let Some(x) = xff {
            req.headers_mut()
                .insert("x-forwarded-for", x.parse().unwrap());
        }
        req
    };
    // From the trusted network: operator, without signing in. The fake Prometheus
    // answers, so the tester's own answer comes back.
    let r = call(&st, test("10.20.3.4", None)).await;
    assert_ne!(r.status, StatusCode::UNAUTHORIZED, "{}", r.text());
    assert_ne!(r.status, StatusCode::FORBIDDEN, "{}", r.text());
    // Elsewhere: nothing.
    let r = call(&st, test("172.16.0.1", None)).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    // A client cannot claim a trusted address itself...
    let r = call(&st, test("172.16.0.1", Some("10.20.3.4"))).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    // ...but the configured proxy can say it forwarded one.
    let r = call(&st, test("192.0.2.10", Some("172.16.0.1, 10.20.3.4"))).await;
    assert_ne!(r.status, StatusCode::UNAUTHORIZED, "{}", r.text());
}

/// Every route that changes something, from the router's own list: anonymous clients are
/// sent to sign in, a role below the route's is refused, and the route's role gets past
/// the gate. A new write route with no role fails here (and, unlisted, is refused by the
/// gate: see `architecture::routes_are_declared_with_their_role`).
#[tokio::test]
async fn every_state_changing_route_refuses_the_roles_below_its_own() {
    let st = state(access());
    let routes = rackscope::server::all_routes(&rackscope::ui::app::PAGES);
    let writes: Vec<_> = routes.entries().iter().filter(|e| e.writes()).collect();
    assert!(writes.len() >= 5, "{writes:?}");
    let public_writes = ["/signin", "/signout", "/api/auth/login"];
    let mut tokens = std::collections::HashMap::new();
    for (name, role) in [
        ("ada", Role::Admin),
        ("oscar", Role::Operator),
        ("vera", Role::Viewer),
    ] {
        let body = format!(r#"{{"username":"{name}","password":"{PASSWORD}"}}"#);
        let r = call(
            &st,
            script("POST", "/api/auth/login", HOME, None, Some(&body)),
        )
        .await;
        tokens.insert(role, r.json()["access_token"].as_str().unwrap().to_owned());
    }
    for e in writes {
        // The editors' file route: a save without If-Match, refused before any write.
        let path = e
            .path
            .replace("{id}", "x")
            .replace("{kind}", "checks")
            .replace("{*name}", "checks.yaml");
        match e.need {
            Need::Public => {
                assert!(
                    public_writes.contains(&e.path),
                    "{} {} is open to anyone",
                    e.method,
                    e.path
                );
                continue;
            }
            Need::Role(needed) => {
                let r = call(
                    &st,
                    script(e.method.as_str(), &path, HOME, None, Some("{}")),
                )
                .await;
                assert_eq!(
                    r.status,
                    StatusCode::UNAUTHORIZED,
                    "anonymous {} {}",
                    e.method,
                    e.path
                );
                for role in Role::ALL {
                    let r = call(
                        &st,
                        script(
                            e.method.as_str(),
                            &path,
                            HOME,
                            Some(&tokens[&role]),
                            Some("{}"),
                        ),
                    )
                    .await;
                    if role < needed {
                        assert_eq!(
                            r.status,
                            StatusCode::FORBIDDEN,
                            "{role} {} {}",
                            e.method,
                            e.path
                        );
                    } else {
                        assert!(
                            r.status != StatusCode::FORBIDDEN
                                && r.status != StatusCode::UNAUTHORIZED,
                            "{role} {} {}: {} {}",
                            e.method,
                            e.path,
                            r.status,
                            r.text()
                        );
                    }
                }
            }
        }
    }
}

#[tokio::test]
async fn two_servers_sharing_a_secret_accept_each_others_sessions() {
    let a = state(access());
    let b = state(access());
    let (cookie, _) = sign_in(&a, "ada", HOME).await;
    let r = call(&b, browser("GET", "/alerts", HOME, &cookie, None)).await;
    assert_eq!(r.status, 200);
    // With another secret: refused.
    let mut other = access();
    other.secret = Some("a different secret of at least 32 bytes".into());
    let c = state(other);
    let r = call(&c, browser("GET", "/alerts", HOME, &cookie, None)).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn a_demoted_or_removed_user_loses_the_role_at_once() {
    let st = state(access());
    let (cookie, _) = sign_in(&st, "oscar", HOME).await;
    let mut a = access();
    a.users.get_mut("oscar").unwrap().role = Role::Viewer;
    st.auth.access.store(std::sync::Arc::new(a));
    let r = call(&st, browser("GET", "/api/auth/me", HOME, &cookie, None)).await;
    assert_eq!(r.json()["role"], "viewer");
    let mut a = access();
    a.users.remove("oscar");
    st.auth.access.store(std::sync::Arc::new(a));
    let r = call(&st, browser("GET", "/api/auth/me", HOME, &cookie, None)).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn with_auth_disabled_everything_is_open_as_before_unless_trusted_networks_say_otherwise() {
    let st = state(rackscope_core::access::Access::default());
    let r = tester(&st, HOME, None).await;
    assert_ne!(r.status, StatusCode::FORBIDDEN);
    assert_ne!(r.status, StatusCode::UNAUTHORIZED);
    let r = call(
        &st,
        script(
            "POST",
            "/api/auth/login",
            HOME,
            None,
            Some(r#"{"username":"a","password":"b"}"#),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    // The Python version's meaning: with trusted networks, only they may change things.
    let st = state(rackscope_core::access::Access {
        trusted: vec!["10.20.0.0/16".parse().unwrap()],
        trusted_role: Some(Role::Admin),
        ..Default::default()
    });
    let r = tester(&st, HOME, None).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = call(&st, script("GET", "/api/sites", HOME, None, None)).await;
    assert_eq!(r.status, 200);
}

#[tokio::test]
async fn sign_ins_and_refusals_are_counted_on_metrics() {
    let st = state(access());
    let bad = r#"{"username":"ada","password":"nope"}"#;
    call(
        &st,
        script("POST", "/api/auth/login", HOME, None, Some(bad)),
    )
    .await;
    let good = format!(r#"{{"username":"ada","password":"{PASSWORD}"}}"#);
    let r = call(
        &st,
        script("POST", "/api/auth/login", HOME, None, Some(&good)),
    )
    .await;
    let token = r.json()["access_token"].as_str().unwrap().to_owned();
    tester(&st, HOME, Some(&token)).await;
    let m = call(&st, script("GET", "/metrics", HOME, Some(&token), None))
        .await
        .text();
    for line in [
        r#"rackscope_auth_events_total{event="signin",outcome="invalid"} 1"#,
        r#"rackscope_auth_events_total{event="signin",outcome="ok"} 1"#,
        r#"rackscope_audit_writes_total{role="admin",outcome="done"} 1"#,
    ] {
        assert!(m.contains(line), "{line} not in\n{m}");
    }
}

/// The commands an operator runs, against a real `rackscope serve`: the first admin from
/// stdin, a comment in the users file kept through a password change, a token made, used
/// and revoked, and a changed password taking effect, all without restarting the server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_makes_users_and_tokens_that_a_running_server_honours_and_revokes() {
    use std::io::Write;
    use std::process::Stdio;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    crate::support::copy_dir(&crate::support::root().join("tests/fixtures/base"), dir);
    let app = "# The NOC's configuration.\npaths:\n  topology: topology\nauth:\n  enabled: true  # sign-in for everyone\n  secret_key: 0123456789abcdef0123456789abcdef\n";
    std::fs::write(dir.join("app.yaml"), app).unwrap();
    let run = |args: &[&str], stdin: Option<&str>| {
        let mut c = crate::support::bin();
        c.args(args).arg("--config").arg(dir);
        c.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = c.spawn().unwrap();
        if let Some(s) = stdin {
            child.stdin.take().unwrap().write_all(s.as_bytes()).unwrap();
        }
        let out = child.wait_with_output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(out.status.success(), "{args:?}: {text}{err}");
        (text, err)
    };
    // Before the first user, `check` says nobody could sign in.
    let out = crate::support::bin()
        .arg("check")
        .arg(dir)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("nobody can sign in"));

    run(
        &["user", "add", "ada", "--role", "admin"],
        Some("first password 1\n"),
    );
    let users = dir.join("users.yaml");
    let text = std::fs::read_to_string(&users).unwrap();
    assert!(
        text.contains("$argon2id$") && !text.contains("first password"),
        "{text}"
    );
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&users).unwrap().permissions().mode() & 0o777,
        0o600
    );
    // An operator's comment survives the next edits.
    std::fs::write(
        &users,
        text.replace("users:", "# Ada runs the NOC.\nusers:"),
    )
    .unwrap();
    run(
        &["user", "add", "vera", "--role", "viewer"],
        Some("vera password\n"),
    );
    let (list, _) = run(&["user", "list"], None);
    assert!(
        list.contains("ada") && list.contains("admin") && list.contains("vera"),
        "{list}"
    );
    let (token, _) = run(
        &[
            "token",
            "create",
            "grafana",
            "--role",
            "viewer",
            "--expires",
            "90d",
        ],
        None,
    );
    let token = token.trim().to_owned();
    assert!(token.starts_with("rsk_"), "{token}");
    let text = std::fs::read_to_string(&users).unwrap();
    assert!(
        text.contains("# Ada runs the NOC.") && !text.contains(&token[17..]),
        "{text}"
    );
    let out = crate::support::bin()
        .arg("check")
        .arg(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut server = crate::support::bin()
        .arg("serve")
        .arg(dir)
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let http = rackscope_prometheus::tls::http_client();
    let mut up = false;
    for _ in 0..100 {
        if http.get(format!("{base}/healthz")).send().await.is_ok() {
            up = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(up, "the server did not start");
    let login = |pw: &'static str| {
        http.post(format!("{base}/api/auth/login"))
            .json(&serde_json::json!({"username": "ada", "password": pw}))
            .send()
    };
    assert_eq!(login("first password 1").await.unwrap().status(), 200);
    let sites = |t: String| http.get(format!("{base}/api/sites")).bearer_auth(t).send();
    assert_eq!(sites(token.clone()).await.unwrap().status(), 200);
    assert_eq!(
        http.get(format!("{base}/api/sites"))
            .send()
            .await
            .unwrap()
            .status(),
        401
    );

    // Revoked and re-passworded while the server runs: both take effect within seconds.
    run(&["token", "revoke", "grafana"], None);
    run(&["user", "passwd", "ada"], Some("second password 2\n"));
    assert!(
        std::fs::read_to_string(&users)
            .unwrap()
            .contains("# Ada runs the NOC.")
    );
    let mut revoked = false;
    for _ in 0..50 {
        if sites(token.clone()).await.unwrap().status() == 401
            && login("first password 1").await.unwrap().status() == 401
        {
            revoked = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let _ = server.kill();
    let _ = server.wait();
    assert!(
        revoked,
        "the revoked token or the old password still worked after 10 s"
    );
}

#[tokio::test]
async fn the_openapi_document_names_each_routes_role() {
    let st = state(access());
    let good = format!(r#"{{"username":"vera","password":"{PASSWORD}"}}"#);
    let r = call(
        &st,
        script("POST", "/api/auth/login", HOME, None, Some(&good)),
    )
    .await;
    let token = r.json()["access_token"].as_str().unwrap().to_owned();
    let doc = call(
        &st,
        script("GET", "/api/openapi.json", HOME, Some(&token), None),
    )
    .await
    .json();
    let role = |path: &str, method: &str| doc["paths"][path][method]["x-rackscope-role"].clone();
    assert_eq!(role("/api/checks/test", "post"), "operator");
    assert_eq!(role("/api/sites", "get"), "viewer");
    assert_eq!(role("/api/auth/login", "post"), "public");
    assert_eq!(role("/healthz", "get"), "public");
    assert!(doc["paths"]["/api/sites"]["get"]["security"].is_array());
    assert!(doc["paths"]["/healthz"]["get"].get("security").is_none());
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    // Every documented operation says its role.
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for (method, op) in ops.as_object().unwrap() {
            assert!(
                op["x-rackscope-role"].is_string(),
                "{method} {path} has no role"
            );
        }
    }
}

/// A Python Rackscope app.yaml, as it was: its single user's bcrypt hash (made by Python's
/// `bcrypt` at the upstream cost, 13) signs in with the same password.
#[tokio::test]
async fn an_upstream_app_yaml_and_its_bcrypt_hash_sign_in_unchanged() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    crate::support::copy_dir(&crate::support::root().join("tests/fixtures/base"), dir);
    std::fs::write(
        dir.join("app.yaml"),
        "paths:\n  topology: topology\nauth:\n  enabled: true\n  username: admin\n  \
         password_hash: $2b$13$aGIF2T7VQxsZN/ubxf2cieYCR18xoypg7u6VdQV1cRyLINp4ArdqO\n  \
         secret_key: 9f1c2b7e4a6d8c0e3b5a7f9d1c3e5a7b\n  session_duration: 8h\n  policy:\n    \
         min_length: 10\n",
    )
    .unwrap();
    let loaded = crate::support::load(&dir.join("app.yaml"));
    assert!(loaded.is_usable(), "{:?}", loaded.diagnostics);
    let st = state(loaded.config.access.clone());
    let body = r#"{"username":"admin","password":"migrated from python"}"#;
    let r = call(
        &st,
        script("POST", "/api/auth/login", HOME, None, Some(body)),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["expires_in"], 8 * 3600);
    assert_eq!(r.json()["role"], "admin");
    let r = call(&st, script("GET", "/api/auth/status", HOME, None, None)).await;
    assert_eq!(r.json()["policy"]["min_length"], 10);
    let wrong = r#"{"username":"admin","password":"migrated from perl"}"#;
    let r = call(
        &st,
        script("POST", "/api/auth/login", HOME, None, Some(wrong)),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
}

/// What a security review found, each kept closed.
#[tokio::test]
async fn concurrent_guesses_cannot_all_pass_the_limit_before_one_is_counted() {
    let st = state(access());
    let body = r#"{"username":"ada","password":"guess"}"#;
    let answers = futures_util::future::join_all((0..25).map(|_| {
        call(
            &st,
            script("POST", "/api/auth/login", HOME, None, Some(body)),
        )
    }))
    .await;
    let tried = answers
        .iter()
        .filter(|r| r.status == StatusCode::UNAUTHORIZED)
        .count();
    let limited = answers
        .iter()
        .filter(|r| r.status == StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert_eq!((tried, limited), (10, 15));
}

#[tokio::test]
async fn a_proxy_that_adds_its_own_forwarded_for_line_does_not_let_the_client_pick_its_address() {
    let mut a = access();
    a.trusted = vec!["10.20.0.0/16".parse().unwrap()];
    a.trusted_role = Some(Role::Operator);
    a.proxies = vec!["192.0.2.10".parse().unwrap()];
    let st = state(a);
    let mut req = script(
        "POST",
        "/api/checks/test",
        "192.0.2.10",
        None,
        Some(r#"{"expr":"up"}"#),
    );
    // The client's own (forged) line first, the proxy's line after it.
    req.headers_mut()
        .append("x-forwarded-for", "10.20.3.4".parse().unwrap());
    req.headers_mut()
        .append("x-forwarded-for", "172.16.0.1".parse().unwrap());
    let r = call(&st, req).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.text());
}

#[tokio::test]
async fn a_shorter_session_duration_ends_older_sessions() {
    let st = state(access());
    let signer = rackscope_auth::token::Signer::new(SECRET.as_bytes());
    let now = rackscope::server::auth::now();
    let user = crate::support::auth::user("ada", Role::Admin);
    let token = signer.sign(&rackscope_auth::token::Claims {
        sub: "ada".into(),
        role: "admin".into(),
        sid: "s2".into(),
        iat: now - 2 * 3600,
        exp: Some(now + 365 * 86_400),
        r#gen: signer.generation(&user.password_hash),
    });
    let r = call(&st, script("GET", "/api/sites", HOME, Some(&token), None)).await;
    assert_eq!(r.status, 200);
    let mut shorter = access();
    shorter.session_seconds = 3600;
    st.auth.access.store(std::sync::Arc::new(shorter));
    let r = call(&st, script("GET", "/api/sites", HOME, Some(&token), None)).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_client_without_a_role_learns_no_place_and_no_user_name() {
    let st = state(access());
    // The 404 page on a wallboard URL would name the next room of the playlist.
    let r = call(&st, browser("GET", "/nope?kiosk=1&pl=0", HOME, "", None)).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let text = r.text();
    // The navigation's fixed entries (such as /views/cluster) name no place.
    assert!(
        ![
            "/views/site/",
            "/views/room/",
            "/views/rack/",
            "/views/device/",
            "Room A"
        ]
        .iter()
        .any(|p| text.contains(p)),
        "{text}"
    );
    let r = call(&st, script("GET", "/api/auth/status", HOME, None, None)).await;
    assert_eq!(r.json()["username"], "");
}

#[tokio::test]
async fn signing_in_over_a_stale_session_keeps_the_new_one() {
    let st = state(access());
    let page = call(
        &st,
        browser("GET", "/signin", HOME, "rackscope_session=stale", None),
    )
    .await;
    let seed = set_cookie(&page, "rackscope_csrf").unwrap();
    let seed = seed.split(';').next().unwrap().to_owned();
    let form = format!(
        "csrf={}&username=ada&password=correct+horse+battery",
        csrf_of(&page.text())
    );
    let cookies = format!("rackscope_session=stale; {seed}");
    let r = call(&st, browser("POST", "/signin", HOME, &cookies, Some(&form))).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let sessions: Vec<_> = r
        .headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter(|v| v.starts_with("rackscope_session="))
        .collect();
    assert_eq!(sessions.len(), 1, "{sessions:?}");
    assert!(!sessions[0].contains("Max-Age=0"), "{sessions:?}");
}

#[tokio::test]
async fn a_reload_takes_new_users_but_never_turns_sign_in_off() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    crate::support::copy_dir(&crate::support::root().join("tests/fixtures/base"), dir);
    let hash = rackscope_auth::password::hash_bcrypt(PASSWORD, 4).unwrap();
    let app = dir.join("app.yaml");
    std::fs::write(
        &app,
        format!(
            "paths:\n  topology: topology\nauth:\n  enabled: true\n  secret_key: {SECRET}\n  \
             users:\n    - {{name: ada, role: admin, password_hash: \"{hash}\"}}\n"
        ),
    )
    .unwrap();
    let loaded = crate::support::load(&app);
    assert!(loaded.is_usable(), "{:?}", loaded.diagnostics);
    let st = state(loaded.config.access.clone());
    // Half-written: the file now reads as the defaults, sign-in off, nobody defined.
    std::fs::write(&app, "paths:\n  topology: topology\n").unwrap();
    assert!(rackscope::server::auth::reload::reload(&st.auth, &app).is_err());
    let a = st.auth.access.load();
    assert!(a.enabled, "a reload turned sign-in off");
    assert!(
        a.users.contains_key("ada"),
        "a half-written app.yaml dropped the users"
    );
    let r = call(&st, script("GET", "/api/sites", HOME, None, None)).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn https_ended_at_a_trusted_proxy_makes_cookies_secure_and_sends_hsts() {
    let mut a = access();
    a.proxies = vec!["192.0.2.10".parse().unwrap()];
    let st = state(a);
    let signin = |addr: &'static str| {
        let mut req = browser("GET", "/signin", addr, "", None);
        req.headers_mut()
            .insert("x-forwarded-proto", "https".parse().unwrap());
        req
    };
    let r = call(&st, signin("192.0.2.10")).await;
    assert!(set_cookie(&r, "rackscope_csrf").unwrap().contains("Secure"));
    assert_eq!(r.headers["strict-transport-security"], "max-age=31536000");
    // The same header from anyone else means nothing.
    let r = call(&st, signin("198.51.100.7")).await;
    assert!(!set_cookie(&r, "rackscope_csrf").unwrap().contains("Secure"));
    assert!(!r.headers.contains_key("strict-transport-security"));
}

/// Issue #24's replicas: two servers with the same `auth.secret_key` (two `AppState`s, as two
/// processes behind a load balancer) accept each other's sessions and tokens; a server with
/// another secret accepts neither.
#[tokio::test]
async fn sessions_and_tokens_work_on_any_replica_sharing_the_secret() {
    let (a, b) = (state(access()), state(access()));
    let (cookie, _) = sign_in(&a, "oscar", HOME).await;
    let r = call(&b, browser("GET", "/checks", HOME, &cookie, None)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.text().contains("oscar"), "signed in on the other replica");
    let login = call(
        &a,
        script(
            "POST",
            "/api/auth/login",
            HOME,
            None,
            Some(r#"{"username":"vera","password":"correct horse battery"}"#),
        ),
    )
    .await;
    assert_eq!(login.status, StatusCode::OK, "{}", login.text());
    let token = login.json()["access_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let r = call(&b, script("GET", "/api/sites", HOME, Some(&token), None)).await;
    assert_eq!(r.status, StatusCode::OK);

    let mut other = access();
    other.secret = Some("another replica's own secret, not shared".into());
    let c = state(other);
    let r = call(&c, script("GET", "/api/sites", HOME, Some(&token), None)).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let r = call(&c, browser("GET", "/checks", HOME, &cookie, None)).await;
    assert_ne!(
        r.status,
        StatusCode::OK,
        "the session does not open elsewhere"
    );
}
