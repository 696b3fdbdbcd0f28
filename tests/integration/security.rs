//! Transport and response security: the peer's address and the transport on every request,
//! HTTPS served directly (a self-signed certificate made here with rcgen, trusted by a
//! reqwest client), what a TLS port does with plain HTTP and with silent clients, `serve`'s
//! TLS flags, and the security headers on every kind of response. The pages' obedience to
//! the Content-Security-Policy is in `ui.rs` (rendered HTML) and `browser.rs` (Chromium).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{ConnectInfo, Extension};
use axum::routing::get as route_get;
use rackscope::server::listen::{Limits, Transport};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::support;
use crate::support::router::{fixture, fixture_with, get};

/// A self-signed certificate for `localhost` and its key, written under `dir`; with the
/// certificate's PEM.
fn self_signed(dir: &Path) -> (PathBuf, PathBuf, String) {
    let ck = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    let pem = ck.cert.pem();
    std::fs::write(&cert, &pem).unwrap();
    std::fs::write(&key, ck.signing_key.serialize_pem()).unwrap();
    (cert, key, pem)
}

/// A client that trusts only `pem` and finds `localhost` at `addr`.
fn client_trusting(pem: &str, addr: SocketAddr) -> reqwest::Client {
    rackscope_prometheus::tls::provider();
    reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(pem.as_bytes()).unwrap()])
        .resolve("localhost", addr)
        .build()
        .unwrap()
}

/// Reads until the peer closes or `limit` passes; what was read, or `None` on the limit.
async fn read_to_close(s: &mut TcpStream, limit: Duration) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    tokio::time::timeout(limit, async {
        loop {
            match s.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => out.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await
    .ok()?;
    Some(out)
}

#[tokio::test]
async fn every_request_carries_the_peer_address_and_the_transport() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key, pem) = self_signed(dir.path());
    let tls = rackscope::server::tls::load(&cert, &key).unwrap();
    let app = Router::new().route(
        "/",
        route_get(
            |ConnectInfo(peer): ConnectInfo<SocketAddr>, Extension(t): Extension<Transport>| async move {
                format!("{} {}", peer.ip(), t.tls)
            },
        ),
    );
    let limits = Limits {
        max_connections: 8,
        header_timeout: Duration::from_secs(5),
        shutdown_grace: Duration::from_secs(1),
    };
    for tls in [None, Some(tls)] {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let over_tls = tls.is_some();
        let task = tokio::spawn(rackscope::server::listen::serve(
            listener,
            app.clone(),
            limits,
            tls,
            Arc::new(tokio::sync::watch::Sender::new(false)),
            async move {
                let _ = rx.await;
            },
        ));
        let scheme = if over_tls { "https" } else { "http" };
        let body = client_trusting(&pem, addr)
            .get(format!("{scheme}://localhost:{}/", addr.port()))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert_eq!(body, format!("127.0.0.1 {over_tls}"));
        tx.send(()).unwrap();
        task.await.unwrap().unwrap();
    }
}

#[tokio::test]
async fn over_tls_pages_answer_with_hsts_and_plain_http_and_silent_clients_get_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key, pem) = self_signed(dir.path());
    let tls = rackscope::server::tls::load(&cert, &key).unwrap();
    let (st, _) = fixture_with(true, |a| a.server.header_timeout_seconds = 1).await;
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(rackscope::server::run_tls(
        listener,
        st,
        Some(tls),
        async move {
            let _ = rx.await;
        },
    ));
    let client = client_trusting(&pem, addr);
    for path in ["/healthz", "/views/rack/r01"] {
        let r = client
            .get(format!("https://localhost:{}{path}", addr.port()))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{path}");
        // ALPN offered h2 and http/1.1; the server only speaks the second.
        assert_eq!(r.version(), reqwest::Version::HTTP_11, "{path}");
        assert_eq!(
            r.headers()["strict-transport-security"],
            "max-age=31536000",
            "{path}"
        );
        assert!(r.headers().contains_key("content-security-policy"));
    }

    // Plain HTTP to the TLS port: the handshake fails, no HTTP answer comes back.
    let mut plain = TcpStream::connect(addr).await.unwrap();
    plain
        .write_all(b"GET /healthz HTTP/1.1\r\nhost: localhost\r\n\r\n")
        .await
        .unwrap();
    let got = read_to_close(&mut plain, Duration::from_secs(10))
        .await
        .expect("the plain-HTTP connection was kept open");
    assert!(
        !got.starts_with(b"HTTP/"),
        "{}",
        String::from_utf8_lossy(&got)
    );

    // A client that connects and says nothing is dropped after the header timeout (1 s).
    let started = Instant::now();
    let mut silent = TcpStream::connect(addr).await.unwrap();
    let got = read_to_close(&mut silent, Duration::from_secs(10))
        .await
        .expect("a silent client kept its connection");
    assert!(got.is_empty(), "{got:?}");
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(900) && waited < Duration::from_secs(5),
        "dropped after {waited:?}"
    );

    tx.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(10), task)
        .await
        .expect("the TLS server stops")
        .unwrap()
        .unwrap();
}

#[test]
fn serve_over_tls_says_https_and_refuses_a_key_that_is_not_its_certificates() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key, _) = self_signed(dir.path());
    let other = tempfile::tempdir().unwrap();
    let (_, other_key, _) = self_signed(other.path());
    let fixture = support::root().join("tests/fixtures/health");

    let out = support::bin()
        .args(["serve", "--listen", "127.0.0.1:0", "--tls-cert"])
        .arg(&cert)
        .arg("--tls-key")
        .arg(&other_key)
        .arg(&fixture)
        .env_remove("RACKSCOPE_APP_CONFIG")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(err.contains("does not match"), "{err}");
    assert!(err.contains(&other_key.display().to_string()), "{err}");

    let out = support::bin()
        .args(["serve", "--listen", "127.0.0.1:0", "--tls-cert"])
        .arg(&cert)
        .arg(&fixture)
        .output()
        .unwrap();
    assert!(!out.status.success(), "--tls-cert alone was accepted");

    let mut child = support::bin()
        .args(["serve", "--listen", "127.0.0.1:0", "--tls-cert"])
        .arg(&cert)
        .arg("--tls-key")
        .arg(&key)
        .arg(&fixture)
        .env_remove("RACKSCOPE_APP_CONFIG")
        .stderr(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let line = std::io::BufRead::lines(std::io::BufReader::new(stderr))
        .map_while(Result::ok)
        .find(|l| l.contains("listening on"));
    let _ = child.kill();
    let _ = child.wait();
    let line = line.expect("serve printed no `listening on` line");
    assert!(line.contains("listening on https://127.0.0.1:"), "{line}");
}

/// Every header, as the router sends it on a plain connection.
fn expected_headers() -> Vec<(&'static str, String)> {
    vec![
        (
            "content-security-policy",
            format!(
                "default-src 'none'; script-src 'self'; style-src 'self' '{}'; img-src 'self' data:; \
                 connect-src 'self'; font-src 'self'; manifest-src 'self'; form-action 'self'; \
                 frame-ancestors 'none'; base-uri 'none'",
                rackscope::server::headers::source_hash(rackscope::server::ops::DOCS_STYLE)
            ),
        ),
        ("x-content-type-options", "nosniff".into()),
        ("referrer-policy", "same-origin".into()),
        ("x-frame-options", "DENY".into()),
        ("cross-origin-opener-policy", "same-origin".into()),
        (
            "permissions-policy",
            "camera=(), microphone=(), geolocation=()".into(),
        ),
    ]
}

#[tokio::test]
async fn every_kind_of_response_carries_the_security_headers() {
    let (st, _) = fixture(true).await;
    for (path, status) in [
        ("/views/room/room-a", 200),
        ("/api/stats/global", 200),
        ("/api/nope", 404),
        ("/no/such/page", 404),
        ("/views/rack/nope", 404),
        ("/static/rackscope.css", 200),
        ("/static/rackscope.js", 200),
        ("/metrics", 200),
        ("/api/docs", 200),
        ("/healthz", 200),
    ] {
        let r = get(&st, path).await;
        assert_eq!(r.status.as_u16(), status, "{path}");
        for (name, value) in expected_headers() {
            assert_eq!(
                r.headers.get(name).and_then(|v| v.to_str().ok()),
                Some(value.as_str()),
                "{path}: {name}"
            );
        }
        // Not over TLS: HSTS on plain HTTP would be ignored, and wrong behind a proxy.
        assert!(
            !r.headers.contains_key("strict-transport-security"),
            "{path}"
        );
    }
    let csp = &expected_headers()[0].1;
    assert!(!csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"));
}
