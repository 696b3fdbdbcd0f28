//! Rackscope's Prometheus HTTP client: the production `MetricsSource`.
//!
//! Instant queries are POSTed as form data to `/api/v1/query` (long regex alternations do
//! not fit in a URL), range queries to `/api/v1/query_range`. Basic auth, `tls_verify:
//! false`, a custom CA and a client certificate come from app.yaml's `telemetry` section;
//! connect and read timeouts are separate. Anything that speaks the Prometheus HTTP API
//! (Thanos, Mimir, VictoriaMetrics) works, including behind a path prefix.
//!
//! Bodies are read chunk by chunk and never past `telemetry.max_response_bytes` (an error
//! status's body never past `ERROR_BODY_BYTES`), then decoded by `core` under the same
//! `Limits`. No compression is asked for, so the bytes counted are the bytes kept.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use rackscope_core::model::app::Telemetry;
use rackscope_core::telemetry::source::{
    BoxFuture, InstantResult, Limits, MetricsSource, RangeResult, RangeSpec, SourceError, clip,
    clip_bytes, decode_instant, decode_range, format_time,
};

pub mod tls;

/// The most bytes read of an answer with an error status. Prometheus's own errors are a
/// short JSON envelope; anything longer is a proxy's or a login page, of which only the
/// start is kept (clipped) in the error.
pub const ERROR_BODY_BYTES: usize = 64 * 1024;

/// Why a client could not be built from the configuration.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("telemetry.prometheus_url `{url}` is not a valid http(s) URL")]
    Url { url: String },
    #[error("cannot read {what} {}: {source}", path.display())]
    Read {
        what: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{what} {} is not usable PEM: {source}", path.display())]
    Pem {
        what: &'static str,
        path: PathBuf,
        source: reqwest::Error,
    },
    #[error("telemetry.tls_cert_file and telemetry.tls_key_file must be set together")]
    HalfIdentity,
    #[error("cannot build the HTTP client: {0}")]
    Build(reqwest::Error),
}

/// A Prometheus HTTP API client.
#[derive(Debug, Clone)]
pub struct PrometheusClient {
    http: reqwest::Client,
    base: String,
    auth: Option<(String, Option<String>)>,
    read_timeout: f64,
    limits: Limits,
    /// Bytes of answer bodies read so far, shared by clones: the binary returns freed
    /// memory to the system after large answers (`received_bytes`).
    received: Arc<AtomicU64>,
}

impl PrometheusClient {
    /// Builds a client from app.yaml's `telemetry` section; relative certificate paths are
    /// resolved against `base_dir` (app.yaml's directory).
    pub fn from_config(t: &Telemetry, base_dir: &Path) -> Result<PrometheusClient, ClientError> {
        let url = t.url().trim_end_matches('/').to_owned();
        match reqwest::Url::parse(&url) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {}
            _ => return Err(ClientError::Url { url }),
        }
        let read = |what: &'static str, p: &Path| {
            let path = if p.is_absolute() {
                p.to_path_buf()
            } else {
                base_dir.join(p)
            };
            std::fs::read(&path)
                .map(|b| (b, path.clone()))
                .map_err(|source| ClientError::Read { what, path, source })
        };
        tls::provider();
        let mut b = reqwest::Client::builder()
            .connect_timeout(secs(t.prometheus_connect_timeout_seconds))
            .read_timeout(secs(t.prometheus_timeout_seconds))
            .timeout(secs(
                t.prometheus_connect_timeout_seconds + t.prometheus_timeout_seconds,
            ))
            .user_agent(concat!("rackscope/", env!("CARGO_PKG_VERSION")));
        if !t.tls_verify {
            b = b.danger_accept_invalid_certs(true);
        }
        if let Some(ca) = &t.tls_ca_file {
            let (pem, path) = read("CA file", ca)?;
            let certs =
                reqwest::Certificate::from_pem_bundle(&pem).map_err(|source| ClientError::Pem {
                    what: "CA file",
                    path,
                    source,
                })?;
            b = b.tls_certs_merge(certs);
        }
        match (&t.tls_cert_file, &t.tls_key_file) {
            (Some(cert), Some(key)) => {
                let (mut pem, path) = read("client certificate", cert)?;
                let (key, _) = read("client key", key)?;
                pem.push(b'\n');
                pem.extend_from_slice(&key);
                let id = reqwest::Identity::from_pem(&pem).map_err(|source| ClientError::Pem {
                    what: "client certificate and key",
                    path,
                    source,
                })?;
                b = b.identity(id);
            }
            (None, None) => {}
            _ => return Err(ClientError::HalfIdentity),
        }
        let auth = t
            .basic_auth_user
            .as_ref()
            .filter(|u| !u.is_empty())
            .map(|u| (u.clone(), t.basic_auth_password.clone()));
        Ok(PrometheusClient {
            http: b.build().map_err(ClientError::Build)?,
            base: url,
            auth,
            read_timeout: t.prometheus_timeout_seconds,
            limits: Limits::from_config(t),
            received: Arc::new(AtomicU64::new(0)),
        })
    }

    pub fn base_url(&self) -> &str {
        &self.base
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Bytes of answer bodies read since the client was built, by it and its clones.
    pub fn received_bytes(&self) -> u64 {
        self.received.load(Ordering::Relaxed)
    }

    /// The counter behind `received_bytes`, for a watcher that must not keep the client
    /// alive (the binary's heap trimmer).
    pub fn received_counter(&self) -> std::sync::Weak<AtomicU64> {
        Arc::downgrade(&self.received)
    }

    async fn post(
        &self,
        path: &str,
        form: &[(&str, String)],
    ) -> Result<(u16, Vec<u8>), SourceError> {
        let mut req = self.http.post(format!("{}{path}", self.base)).form(form);
        if let Some((u, p)) = &self.auth {
            req = req.basic_auth(u, p.as_ref());
        }
        let resp = req.send().await.map_err(|e| self.transport(e))?;
        let status = resp.status().as_u16();
        let body = self.body(resp, status).await?;
        if status == 401 || status == 403 {
            return Err(SourceError::Http {
                status,
                body: format!(
                    "authentication refused ({}); check telemetry.basic_auth_user and basic_auth_password",
                    clip_bytes(&body)
                ),
            });
        }
        Ok((status, body))
    }

    /// Reads a body chunk by chunk up to its bound: `max_response_bytes` for an answer,
    /// `ERROR_BODY_BYTES` (then cut, not refused) for an error status. A length announced
    /// past the bound is refused before anything is read.
    async fn body(&self, mut resp: reqwest::Response, status: u16) -> Result<Vec<u8>, SourceError> {
        let max = self.limits.max_response_bytes;
        let error = status >= 400;
        let bound = if error {
            ERROR_BODY_BYTES
        } else {
            usize::try_from(max).unwrap_or(usize::MAX)
        };
        let announced = resp.content_length();
        if !error && announced.is_some_and(|n| n > max) {
            return Err(SourceError::too_many_bytes(max));
        }
        let mut body = Vec::with_capacity(
            announced
                .map_or(0, |n| usize::try_from(n).unwrap_or(0))
                .min(bound),
        );
        while let Some(chunk) = resp.chunk().await.map_err(|e| self.transport(e))? {
            self.received
                .fetch_add(chunk.len() as u64, Ordering::Relaxed);
            let room = bound - body.len();
            if chunk.len() > room {
                if error {
                    body.extend_from_slice(&chunk[..room]);
                    break;
                }
                return Err(SourceError::too_many_bytes(max));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }

    fn transport(&self, e: reqwest::Error) -> SourceError {
        if e.is_timeout() {
            return SourceError::Timeout {
                url: self.base.clone(),
                seconds: self.read_timeout,
            };
        }
        // reqwest's top-level message is generic ("error sending request for url …", and
        // the URL is already in ours); the cause chain says what happened (connection
        // refused, certificate unknown…).
        let mut causes = Vec::new();
        let mut src = std::error::Error::source(&e);
        while let Some(s) = src {
            causes.push(s.to_string());
            src = s.source();
        }
        let reason = clip(&if causes.is_empty() {
            e.to_string()
        } else {
            causes.join(": ")
        });
        SourceError::Unreachable {
            url: self.base.clone(),
            reason,
        }
    }
}

/// A configured timeout as a `Duration`. `rackscope check` refuses values outside
/// (0, 300], but the client must not panic on a configuration that skipped it: NaN (which
/// `clamp` passes through) falls back to the default read timeout.
fn secs(s: f64) -> Duration {
    Duration::try_from_secs_f64(s.clamp(0.001, 86_400.0)).unwrap_or(Duration::from_secs(5))
}

impl MetricsSource for PrometheusClient {
    fn instant<'a>(
        &'a self,
        query: &'a str,
        at: SystemTime,
    ) -> BoxFuture<'a, Result<InstantResult, SourceError>> {
        Box::pin(async move {
            let (status, body) = self
                .post(
                    "/api/v1/query",
                    &[("query", query.to_owned()), ("time", format_time(at))],
                )
                .await?;
            decode_instant(status, &body, &self.limits)
        })
    }

    fn range<'a>(
        &'a self,
        query: &'a str,
        range: RangeSpec,
    ) -> BoxFuture<'a, Result<RangeResult, SourceError>> {
        Box::pin(async move {
            let (status, body) = self
                .post(
                    "/api/v1/query_range",
                    &[
                        ("query", query.to_owned()),
                        ("start", format_time(range.start)),
                        ("end", format_time(range.end)),
                        (
                            "step",
                            format!("{:.3}", range.step.as_secs_f64().max(0.001)),
                        ),
                    ],
                )
                .await?;
            decode_range(status, &body, &self.limits)
        })
    }

    fn describe(&self) -> String {
        self.base.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configuration_errors_are_clear() {
        let mut t = Telemetry {
            prometheus_url: Some("not a url".into()),
            ..Telemetry::default()
        };
        let e = PrometheusClient::from_config(&t, Path::new(".")).unwrap_err();
        assert!(e.to_string().contains("`not a url`"), "{e}");

        t.prometheus_url = Some("http://127.0.0.1:1/prefix/".into());
        t.tls_ca_file = Some("missing-ca.pem".into());
        let e = PrometheusClient::from_config(&t, Path::new("/nonexistent")).unwrap_err();
        assert!(e.to_string().contains("/nonexistent/missing-ca.pem"), "{e}");

        t.tls_ca_file = None;
        t.tls_cert_file = Some("c.pem".into());
        let e = PrometheusClient::from_config(&t, Path::new(".")).unwrap_err();
        assert!(matches!(e, ClientError::HalfIdentity));

        t.tls_cert_file = None;
        let c = PrometheusClient::from_config(&t, Path::new(".")).unwrap();
        assert_eq!(c.base_url(), "http://127.0.0.1:1/prefix");
    }

    #[test]
    fn hostile_timeouts_convert_without_a_panic() {
        assert_eq!(secs(2.0), Duration::from_secs(2));
        assert_eq!(secs(1e20), Duration::from_secs(86_400));
        assert_eq!(secs(f64::INFINITY), Duration::from_secs(86_400));
        assert_eq!(secs(-3.0), Duration::from_millis(1));
        assert_eq!(secs(f64::NAN), Duration::from_secs(5));
        let t = Telemetry {
            prometheus_timeout_seconds: f64::NAN,
            prometheus_connect_timeout_seconds: 1e20,
            ..Telemetry::default()
        };
        assert!(PrometheusClient::from_config(&t, Path::new(".")).is_ok());
    }

    #[tokio::test]
    async fn a_closed_port_is_unavailable_not_a_query_error() {
        let t = Telemetry {
            prometheus_url: Some("http://127.0.0.1:1".into()),
            prometheus_connect_timeout_seconds: 1.0,
            ..Telemetry::default()
        };
        let c = PrometheusClient::from_config(&t, Path::new(".")).unwrap();
        let e = c.instant("up", SystemTime::now()).await.unwrap_err();
        assert!(e.is_unavailable(), "{e}");
        assert!(e.to_string().contains("127.0.0.1:1"), "{e}");
    }
}

/// The client against a loopback server that answers every request with one canned
/// response, so that body bounds are tested on the wire (lengths announced or not).
#[cfg(test)]
mod wire_tests {
    use std::io::{BufRead, BufReader, Read, Write};
    use std::net::TcpListener;

    use rackscope_core::telemetry::source::MAX_UPSTREAM_TEXT;

    use super::*;

    /// Serves `head` (status line and headers, without the blank line) then `body`, to
    /// every connection, chunked when `chunked`; returns the base URL.
    fn serve(head: &'static str, body: Vec<u8>, chunked: bool) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { return };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut length = 0;
                let mut line = String::new();
                while reader.read_line(&mut line).unwrap_or(0) > 2 {
                    if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                        length = v.trim().parse().unwrap_or(0);
                    }
                    line.clear();
                }
                let mut request = vec![0; length];
                let _ = reader.read_exact(&mut request);
                let _ = if chunked {
                    write!(stream, "{head}\r\ntransfer-encoding: chunked\r\n\r\n").and_then(|()| {
                        for c in body.chunks(64 * 1024) {
                            write!(stream, "{:x}\r\n", c.len())?;
                            stream.write_all(c)?;
                            stream.write_all(b"\r\n")?;
                        }
                        stream.write_all(b"0\r\n\r\n")
                    })
                } else {
                    write!(stream, "{head}\r\ncontent-length: {}\r\n\r\n", body.len())
                        .and_then(|()| stream.write_all(&body))
                };
            }
        });
        url
    }

    fn client(url: String, max_bytes: u64) -> PrometheusClient {
        let t = Telemetry {
            prometheus_url: Some(url),
            max_response_bytes: max_bytes,
            ..Telemetry::default()
        };
        PrometheusClient::from_config(&t, Path::new(".")).unwrap()
    }

    #[tokio::test]
    async fn bodies_past_the_byte_cap_are_refused_announced_or_not() {
        let body = rackscope_core::testkit::vector_answer(20_000);
        let len = body.len() as u64;
        for chunked in [false, true] {
            let url = serve("HTTP/1.1 200 OK", body.clone(), chunked);
            let r = client(url.clone(), len)
                .instant("up", SystemTime::now())
                .await;
            assert_eq!(r.unwrap().samples.len(), 20_000, "chunked: {chunked}");
            let e = client(url.clone(), len - 1)
                .instant("up", SystemTime::now())
                .await
                .unwrap_err();
            assert!(matches!(&e, SourceError::TooLarge(_)), "{e}");
            let c = client(url, len / 2);
            let e = c.instant("up", SystemTime::now()).await.unwrap_err();
            assert!(
                matches!(&e, SourceError::TooLarge(m) if m.contains("telemetry.max_response_bytes")),
                "{e}"
            );
            assert!(!e.is_unavailable());
            if !chunked {
                // Refused on the announced length: nothing of the body was read.
                assert_eq!(c.received_bytes(), 0);
            } else {
                // Reading stopped at the first chunk past the cap.
                assert!(
                    c.received_bytes() <= len / 2 + 64 * 1024,
                    "{}",
                    c.received_bytes()
                );
            }
        }
    }

    #[tokio::test]
    async fn a_huge_refusal_keeps_only_a_clipped_start() {
        let page = format!("<html>denied {}</html>", "x".repeat(20_000_000)).into_bytes();
        for chunked in [false, true] {
            let url = serve("HTTP/1.1 401 Unauthorized", page.clone(), chunked);
            let c = client(url, 1 << 30);
            let e = c.instant("up", SystemTime::now()).await.unwrap_err();
            let text = e.to_string();
            assert!(
                text.contains("authentication refused (<html>denied xxx"),
                "{text:.300}"
            );
            assert!(text.len() < 2 * MAX_UPSTREAM_TEXT, "{}", text.len());
            assert!(
                c.received_bytes() <= 2 * ERROR_BODY_BYTES as u64,
                "{}",
                c.received_bytes()
            );
        }
        // Another error status: the same bound, and a proxy's 503 is still "unavailable".
        let url = serve("HTTP/1.1 503 Service Unavailable", page, true);
        let e = client(url, 1 << 30)
            .instant("up", SystemTime::now())
            .await
            .unwrap_err();
        assert!(e.is_unavailable(), "{e}");
        assert!(e.to_string().len() < 2 * MAX_UPSTREAM_TEXT);
    }

    #[tokio::test]
    async fn prometheus_error_envelopes_still_decode() {
        let body = br#"{"status":"error","errorType":"bad_data","error":"parse error"}"#.to_vec();
        let url = serve("HTTP/1.1 400 Bad Request", body, false);
        let e = client(url, 1 << 20)
            .instant("up(", SystemTime::now())
            .await
            .unwrap_err();
        assert!(
            matches!(&e, SourceError::Api { status: 400, error, .. } if error == "parse error"),
            "{e}"
        );
    }
}
