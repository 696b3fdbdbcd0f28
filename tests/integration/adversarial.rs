//! Requests as a hostile client sends them: expressions built to overflow the parser's
//! stack or cost it quadratic time, made-up methods, numbers that overflow time
//! arithmetic, redirects off-site, cross-site writes, half-sent requests, too many
//! connections and live streams, and a hung Prometheus behind a room full of pages. Each
//! must get a clear refusal while the server keeps answering everyone else.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use rackscope::server::{AppState, router};
use rackscope_core::telemetry::source::BoxFuture;
use rackscope_core::telemetry::{
    Engine, InstantResult, MetricsSource, RangeResult, RangeSpec, SourceError,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tower::ServiceExt;

use crate::support;
use crate::support::router::{call, fixture, fixture_with, get, post};

fn tester_body(expr: &str) -> String {
    serde_json::json!({ "expr": expr }).to_string()
}

#[tokio::test]
async fn deep_and_costly_expressions_are_refused_before_the_parser() {
    let (st, _) = fixture(true).await;
    let nest =
        |open: &str, close: &str, n: usize| format!("{}1{}", open.repeat(n), close.repeat(n));
    // The reported crash: 60,000 parentheses in a 120 KB body.
    let r = post(
        &st,
        "/api/checks/test",
        &tester_body(&nest("(", ")", 60_000)),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text());
    assert!(r.text().contains("bytes long"), "{}", r.text());
    // Every kind of nesting, under the length limit.
    for e in [
        nest("(", ")", 30_000),
        nest("-", "", 30_000),
        nest("abs(", ")", 5_000),
        nest("sum(", ")", 5_000),
        nest("sum by (x) (", ")", 2_000),
        nest("-(", ")", 5_000),
    ] {
        let r = post(&st, "/api/checks/test", &tester_body(&e)).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", &e[..12]);
        assert!(r.text().contains("nests deeper than 64"), "{}", r.text());
    }
    // The quadratic one: 20,000 terms.
    let chain = vec!["1"; 20_000].join("+");
    let r = post(&st, "/api/checks/test", &tester_body(&chain)).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.text().contains("more than 500 operators"), "{}", r.text());
    // A body past the tester's limit is refused before it is decoded.
    let huge = tester_body(&"x".repeat(300 * 1024));
    assert_eq!(
        post(&st, "/api/checks/test", &huge).await.status,
        StatusCode::PAYLOAD_TOO_LARGE
    );
    // Too many variables.
    let vars: serde_json::Map<String, serde_json::Value> = (0..40)
        .map(|i| (format!("v{i}"), serde_json::json!("x")))
        .collect();
    let body = serde_json::json!({ "expr": "up", "variables": vars }).to_string();
    let r = post(&st, "/api/checks/test", &body).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text());
    // And the server still answers.
    assert_eq!(get(&st, "/healthz").await.status, StatusCode::OK);
    assert_eq!(
        post(&st, "/api/checks/test", &tester_body("up"))
            .await
            .status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn the_tester_is_off_unless_configured_and_then_rate_limited() {
    let (off, _) = fixture_with(true, |a| a.api.query_tester = false).await;
    let r = post(&off, "/api/checks/test", &tester_body("up")).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.text().contains("api.query_tester: true"), "{}", r.text());
    let page = get(&off, "/checks?test=node_up").await.text();
    assert!(page.contains("The query tester is off"), "{page}");

    let (on, _) = fixture_with(true, |a| a.api.query_tester_per_minute = 3).await;
    for _ in 0..3 {
        let r = post(&on, "/api/checks/test", &tester_body("up")).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    }
    let r = post(&on, "/api/checks/test", &tester_body("up")).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    let wait: u64 = r.headers[header::RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=20).contains(&wait), "retry after {wait}");
}

#[tokio::test]
async fn cross_site_writes_are_refused() {
    let (st, _) = fixture(true).await;
    let send = |headers: Vec<(&'static str, &'static str)>| {
        let mut b = Request::post("/api/checks/test")
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::HOST, "127.0.0.1:8000");
        for (k, v) in headers {
            b = b.header(k, v);
        }
        b.body(Body::from(tester_body("up"))).unwrap()
    };
    for h in [
        vec![("origin", "http://evil.example")],
        vec![("origin", "null")],
        vec![("sec-fetch-site", "cross-site")],
        // A sibling subdomain is same-site but another origin.
        vec![
            ("sec-fetch-site", "same-site"),
            ("origin", "http://intranet.example"),
        ],
    ] {
        let r = call(&st, send(h.clone())).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{h:?}");
    }
    for h in [
        vec![],
        vec![("origin", "http://127.0.0.1:8000")],
        vec![("sec-fetch-site", "same-origin")],
        vec![
            ("sec-fetch-site", "same-site"),
            ("origin", "http://127.0.0.1:8000"),
        ],
    ] {
        let r = call(&st, send(h.clone())).await;
        assert_eq!(r.status, StatusCode::OK, "{h:?}: {}", r.text());
    }
}

#[tokio::test]
async fn made_up_methods_add_no_series() {
    let (st, _) = fixture(true).await;
    let before = get(&st, "/metrics").await.body.len();
    for i in 0..500 {
        let method = format!("M{}{i}", "X".repeat(5_000));
        let req = Request::builder()
            .method(Method::from_bytes(method.as_bytes()).unwrap())
            .uri("/api/stats/global")
            .body(Body::empty())
            .unwrap();
        call(&st, req).await;
    }
    let text = get(&st, "/metrics").await.text();
    assert!(text.contains(r#"method="other""#), "{text}");
    assert!(
        text.len() < before + 4_096,
        "/metrics grew from {before} to {} bytes",
        text.len()
    );
}

#[tokio::test]
async fn numbers_from_requests_cannot_overflow_time_arithmetic() {
    let (st, _) = fixture(true).await;
    let max = u64::MAX;
    for q in [
        format!("time_range={max}s&step={max}s"),
        format!("time_range={max}s"),
        "time_range=99999999999w".to_owned(),
        "time_range=1h&step=99999999999w".to_owned(),
        "time_range=0s".to_owned(),
        "time_range=-1h".to_owned(),
    ] {
        let r = get(
            &st,
            &format!("/api/metrics/data?metric_id=node_power&target_id=n03&{q}"),
        )
        .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{q}: {}", r.text());
    }
    let r = get(
        &st,
        "/api/metrics/data?metric_id=node_power&target_id=n03&time_range=1h",
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    // The device page with a range it does not offer falls back to 1h.
    let r = get(
        &st,
        "/views/device/r01/chassis-1?range=18446744073709551615s",
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
}

#[tokio::test]
async fn redirects_never_leave_the_site() {
    let (st, _) = fixture(true).await;
    for back in [
        "/%5Cevil.example",
        "/%09/evil.example",
        "//evil.example",
        "/%0A/evil.example",
        "https://evil.example",
        "/%20/evil.example",
    ] {
        let r = get(&st, &format!("/theme/dark?back={back}")).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{back}");
        assert_eq!(r.headers[header::LOCATION], "/", "{back}");
    }
    let r = get(&st, "/theme/dark?back=/views/rack/r01").await;
    assert_eq!(r.headers[header::LOCATION], "/views/rack/r01");
}

/// A Prometheus that never answers, counting the queries it holds.
#[derive(Default)]
struct Hung {
    open: AtomicUsize,
    most: AtomicUsize,
    total: AtomicUsize,
}

impl Hung {
    /// Counted when polled, as a real request is sent only then.
    fn hold<T: Send + 'static>(&self) -> Pin<Box<dyn Future<Output = T> + Send + '_>> {
        Box::pin(async move {
            let now = self.open.fetch_add(1, Ordering::SeqCst) + 1;
            self.most.fetch_max(now, Ordering::SeqCst);
            self.total.fetch_add(1, Ordering::SeqCst);
            struct Release<'a>(&'a AtomicUsize);
            impl Drop for Release<'_> {
                fn drop(&mut self) {
                    self.0.fetch_sub(1, Ordering::SeqCst);
                }
            }
            let _r = Release(&self.open);
            std::future::pending::<T>().await
        })
    }
}

impl MetricsSource for Hung {
    fn instant<'a>(
        &'a self,
        _query: &'a str,
        _at: SystemTime,
    ) -> BoxFuture<'a, Result<InstantResult, SourceError>> {
        self.hold()
    }
    fn range<'a>(
        &'a self,
        _query: &'a str,
        _range: RangeSpec,
    ) -> BoxFuture<'a, Result<RangeResult, SourceError>> {
        self.hold()
    }
    fn describe(&self) -> String {
        "hung".into()
    }
}

fn hung_state(
    tune: impl FnOnce(&mut rackscope_core::model::app::AppConfig),
) -> (AppState, Arc<Hung>) {
    let mut config = support::load(&support::root().join("tests/fixtures/health/app.yaml")).config;
    config.app.telemetry.prometheus_timeout_seconds = 0.5;
    config.app.telemetry.prometheus_connect_timeout_seconds = 0.5;
    tune(&mut config.app);
    let hung = Arc::new(Hung::default());
    let engine = Arc::new(Engine::new(Arc::new(config), hung.clone()));
    (AppState::new(engine).unwrap(), hung)
}

#[tokio::test]
async fn a_hung_prometheus_and_many_open_pages_keep_queries_bounded() {
    let (st, hung) = hung_state(|a| a.server.max_adhoc_queries = 16);
    let pages = (0..200).map(|i| {
        let st = st.clone();
        let uri = match i % 3 {
            0 => "/api/racks/r01/state?include_metrics=true",
            1 => "/api/devices/r01/chassis-1/metrics",
            _ => "/views/device/r01/chassis-1",
        };
        async move {
            router(st)
                .oneshot(Request::get(uri).body(Body::empty()).unwrap())
                .await
                .unwrap()
                .status()
        }
    });
    let statuses = futures_util::future::join_all(pages).await;
    assert!(
        hung.most.load(Ordering::SeqCst) <= 16,
        "{} queries were in flight at once",
        hung.most.load(Ordering::SeqCst)
    );
    // Once the first wave timed out, the failure was remembered: the rest were not sent.
    assert!(
        hung.total.load(Ordering::SeqCst) <= 32,
        "{} queries were sent for 200 pages",
        hung.total.load(Ordering::SeqCst)
    );
    // The pages did ask (a fixture whose ids stopped resolving would send nothing and 404).
    assert!(hung.total.load(Ordering::SeqCst) > 0, "no query was sent");
    assert!(
        statuses
            .iter()
            .all(|s| matches!(s.as_u16(), 200 | 503 | 504)),
        "{statuses:?}"
    );
    assert_eq!(hung.open.load(Ordering::SeqCst), 0);
}

/// A server on a real socket with small limits, and the handle that stops it.
struct Served {
    addr: std::net::SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

async fn serve(st: AppState) -> Served {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(rackscope::server::run(listener, st, async move {
        let _ = rx.await;
    }));
    Served {
        addr,
        stop: Some(tx),
        task,
    }
}

/// Reads until the peer closes or `limit` passes; what was read.
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

async fn status_of(addr: std::net::SocketAddr, path: &str) -> String {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(format!("GET {path} HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let out = read_to_close(&mut s, Duration::from_secs(10))
        .await
        .unwrap();
    String::from_utf8_lossy(&out)
        .lines()
        .next()
        .unwrap_or("")
        .to_owned()
}

#[tokio::test]
async fn slow_clients_time_out_connections_and_streams_are_capped_and_shutdown_is_bounded() {
    let (st, _) = fixture_with(true, |a| {
        a.server.header_timeout_seconds = 1;
        a.server.max_connections = 8;
        a.server.max_sse_clients = 2;
        a.server.shutdown_grace_seconds = 2;
    })
    .await;
    let mut served = serve(st).await;
    let addr = served.addr;

    // Half-sent requests fill the server…
    let mut half = Vec::new();
    for _ in 0..8 {
        let mut s = TcpStream::connect(addr).await.unwrap();
        s.write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\n")
            .await
            .unwrap();
        half.push(s);
    }
    // …so the next connection is told why and closed…
    let refused = status_of(addr, "/healthz").await;
    assert!(refused.contains("503"), "{refused}");
    // …until the header timeout closes them.
    for s in &mut half {
        let got = read_to_close(s, Duration::from_secs(15)).await;
        assert!(got.is_some(), "a half-sent request was kept open");
    }
    let mut ok = String::new();
    for _ in 0..50 {
        ok = status_of(addr, "/healthz").await;
        if ok.contains("200") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(ok.contains("200"), "{ok}");

    // A kept-alive connection left idle after its request is closed too.
    let mut idle = TcpStream::connect(addr).await.unwrap();
    idle.write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 1024];
    let n = idle.read(&mut buf).await.unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).contains("200 OK"));
    assert!(
        read_to_close(&mut idle, Duration::from_secs(15))
            .await
            .is_some(),
        "an idle kept-alive connection was kept open"
    );

    // Live streams: two fit, a third is refused with a reason.
    let mut streams = Vec::new();
    for _ in 0..2 {
        let mut s = TcpStream::connect(addr).await.unwrap();
        s.write_all(b"GET /events HTTP/1.1\r\nhost: x\r\n\r\n")
            .await
            .unwrap();
        let mut buf = [0u8; 512];
        let n = s.read(&mut buf).await.unwrap();
        assert!(String::from_utf8_lossy(&buf[..n]).contains("200 OK"));
        streams.push(s);
    }
    let third = status_of(addr, "/events").await;
    assert!(third.contains("503"), "{third}");

    // Shutdown with streams and a half-sent request open ends within the grace period.
    let mut lingering = TcpStream::connect(addr).await.unwrap();
    lingering.write_all(b"GET / HTTP/1.1\r\n").await.unwrap();
    served.stop.take().unwrap().send(()).unwrap();
    let ended = tokio::time::timeout(Duration::from_secs(10), &mut served.task).await;
    assert!(
        ended.is_ok(),
        "the server did not stop within its grace period"
    );
    for s in &mut streams {
        assert!(read_to_close(s, Duration::from_secs(5)).await.is_some());
    }
}

#[tokio::test]
async fn reads_answer_while_tester_queries_hang() {
    let (st, hung) = hung_state(|a| {
        a.api.query_tester = true;
        a.telemetry.prometheus_timeout_seconds = 30.0;
    });
    let served = serve(st).await;
    let addr = served.addr;
    let mut pending = Vec::new();
    for _ in 0..4 {
        let mut s = TcpStream::connect(addr).await.unwrap();
        let body = tester_body("up");
        s.write_all(
            format!(
                "POST /api/checks/test HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
                body.len()
            )
            .as_bytes(),
        )
        .await
        .unwrap();
        pending.push(s);
    }
    for _ in 0..100 {
        if hung.open.load(Ordering::SeqCst) == 4 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(hung.open.load(Ordering::SeqCst), 4);
    let health = status_of(addr, "/healthz").await;
    assert!(health.contains("200"), "{health}");
    let stats = status_of(addr, "/api/stats/global").await;
    assert!(stats.contains("200"), "{stats}");
}
