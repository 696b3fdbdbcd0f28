//! A faulty front for a real Prometheus: a loopback HTTP proxy that passes queries through,
//! or, on command, produces the faults a real Prometheus cannot produce on demand (a hang,
//! a closed connection, a 500 with an error envelope, truncated JSON, NaN and ±Inf values,
//! an oversized answer, a 401 with a huge body, a slow drip). It can also pin the
//! evaluation time of instant queries, so that a server asking about "now" sees the
//! backfilled world at a fixed instant.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Fault {
    /// Answers are the real Prometheus's.
    Pass,
    /// Reads the request, never answers.
    Hang,
    /// Closes the connection without a word.
    Close,
    /// HTTP 500 with Prometheus's error envelope.
    Error500,
    /// The real answer, cut in half.
    Truncated,
    /// The real answer with every sample value replaced by this string (`NaN`, `+Inf`).
    Values(&'static str),
    /// A success with this many series, made up.
    Oversized(usize),
    /// HTTP 401 with a body of this many bytes.
    Unauthorized(usize),
    /// The real answer, one byte every `Duration`.
    Drip(Duration),
    /// HTTP 500 for the queries whose request holds this text, the real answer for the
    /// others: one failing query among a refresh's.
    Error500When(&'static str),
}

/// The proxy; lives as long as the test's runtime.
pub(crate) struct Faulty {
    pub port: u16,
    fault: Arc<Mutex<Fault>>,
}

impl Faulty {
    /// Starts a proxy in front of Prometheus on `upstream`, pinning instant queries to
    /// `pin` (unix seconds) when given.
    pub(crate) async fn start(upstream: u16, pin: Option<f64>) -> Faulty {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let fault = Arc::new(Mutex::new(Fault::Pass));
        let f = fault.clone();
        tokio::spawn(async move {
            while let Ok((conn, _)) = listener.accept().await {
                let fault = f.lock().unwrap().clone();
                tokio::spawn(handle(conn, upstream, pin, fault));
            }
        });
        Faulty { port, fault }
    }

    pub(crate) fn set(&self, fault: Fault) {
        *self.fault.lock().unwrap() = fault;
    }

    pub(crate) fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

async fn handle(mut conn: TcpStream, upstream: u16, pin: Option<f64>, fault: Fault) {
    let Some((head, body)) = read_request(&mut conn).await else {
        return;
    };
    let fault = match fault {
        Fault::Error500When(needle) => {
            let hit = head.contains(needle) || String::from_utf8_lossy(&body).contains(needle);
            if hit { Fault::Error500 } else { Fault::Pass }
        }
        f => f,
    };
    let answer = match fault {
        Fault::Hang => {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            return;
        }
        Fault::Close => return,
        Fault::Error500 => (
            500,
            br#"{"status":"error","errorType":"internal","error":"storage is on fire"}"#.to_vec(),
        ),
        Fault::Unauthorized(n) => (401, vec![b'x'; n]),
        Fault::Oversized(n) => (200, rackscope_core::testkit::vector_answer(n)),
        _ => {
            let (status, real) = forward(&head, &body, upstream, pin).await;
            match fault {
                Fault::Truncated => (status, real[..real.len() / 2].to_vec()),
                Fault::Values(v) => (status, replace_values(&real, v)),
                _ => (status, real),
            }
        }
    };
    let (status, bytes) = answer;
    let head = format!(
        "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        bytes.len()
    );
    if conn.write_all(head.as_bytes()).await.is_err() {
        return;
    }
    if let Fault::Drip(every) = fault {
        for b in bytes {
            if conn.write_all(&[b]).await.is_err() {
                return;
            }
            tokio::time::sleep(every).await;
        }
    } else {
        let _ = conn.write_all(&bytes).await;
    }
    let _ = conn.shutdown().await;
}

/// The request line and headers, and the body (by content-length).
async fn read_request(conn: &mut TcpStream) -> Option<(String, Vec<u8>)> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let end = loop {
        let n = conn.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
    };
    let head = String::from_utf8_lossy(&buf[..end]).to_string();
    let len: usize = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse().ok())?
        })
        .unwrap_or(0);
    let mut body = buf[end..].to_vec();
    while body.len() < len {
        let n = conn.read(&mut chunk).await.ok()?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    Some((head, body))
}

/// Sends the request to the real Prometheus; instant queries get `time` pinned.
async fn forward(head: &str, body: &[u8], upstream: u16, pin: Option<f64>) -> (u16, Vec<u8>) {
    let path = head.split_whitespace().nth(1).unwrap_or("/").to_owned();
    let mut form: Vec<(String, String)> = url_decode_form(body);
    if let Some(t) = pin
        && path.starts_with("/api/v1/query")
        && !path.starts_with("/api/v1/query_range")
    {
        form.retain(|(k, _)| k != "time");
        form.push(("time".into(), format!("{t:.3}")));
    }
    let client = rackscope_prometheus::tls::http_client();
    let r = client
        .post(format!("http://127.0.0.1:{upstream}{path}"))
        .form(&form)
        .send()
        .await;
    match r {
        Ok(r) => {
            let status = r.status().as_u16();
            (
                status,
                r.bytes().await.map(|b| b.to_vec()).unwrap_or_default(),
            )
        }
        Err(_) => (502, b"bad gateway".to_vec()),
    }
}

fn url_decode_form(body: &[u8]) -> Vec<(String, String)> {
    let text = String::from_utf8_lossy(body);
    text.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect()
}

fn decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => {
                let hex = std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("00");
                out.push(u8::from_str_radix(hex, 16).unwrap_or(b'?'));
                i += 2;
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Every `"value":[t,"x"]` (and matrix point) with `x` replaced.
fn replace_values(body: &[u8], v: &str) -> Vec<u8> {
    let text = String::from_utf8_lossy(body);
    let re = regex::Regex::new(r#"\[(-?[0-9.e+]+),"[^"]*"\]"#).unwrap();
    re.replace_all(&text, format!(r#"[$1,"{v}"]"#).as_str())
        .into_owned()
        .into_bytes()
}

#[test]
fn values_are_replaced_in_vectors_and_matrices() {
    let v = br#"{"result":[{"metric":{"a":"1"},"value":[1700000000.5,"3"]},{"values":[[1,"2"],[2,"4"]]}]}"#;
    let out = String::from_utf8(replace_values(v, "NaN")).unwrap();
    assert_eq!(out.matches("\"NaN\"").count(), 3, "{out}");
    assert!(out.contains(r#""a":"1""#), "labels are left alone: {out}");
    let big: serde_json::Value =
        serde_json::from_slice(&rackscope_core::testkit::vector_answer(3)).unwrap();
    assert_eq!(big["data"]["result"].as_array().unwrap().len(), 3);
    assert_eq!(decode("a%3D1+b"), "a=1 b");
}
