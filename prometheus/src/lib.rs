//! Rackscope's Prometheus HTTP client: the production `MetricsSource`.
//!
//! Instant queries are POSTed as form data to `/api/v1/query` (long regex alternations do
//! not fit in a URL), range queries to `/api/v1/query_range`. Basic auth, `tls_verify:
//! false`, a custom CA and a client certificate come from app.yaml's `telemetry` section;
//! connect and read timeouts are separate. Anything that speaks the Prometheus HTTP API
//! (Thanos, Mimir, VictoriaMetrics) works, including behind a path prefix.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use rackscope_core::model::app::Telemetry;
use rackscope_core::telemetry::source::{
    BoxFuture, InstantResult, MetricsSource, RangeResult, RangeSpec, SourceError, decode_instant,
    decode_range, format_time,
};

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
        })
    }

    pub fn base_url(&self) -> &str {
        &self.base
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
        let body = resp.bytes().await.map_err(|e| self.transport(e))?;
        if status == 401 || status == 403 {
            return Err(SourceError::Http {
                status,
                body: format!(
                    "authentication refused ({}); check telemetry.basic_auth_user and basic_auth_password",
                    String::from_utf8_lossy(&body).trim()
                ),
            });
        }
        Ok((status, body.to_vec()))
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
        let reason = if causes.is_empty() {
            e.to_string()
        } else {
            causes.join(": ")
        };
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
            decode_instant(status, &body)
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
            decode_range(status, &body)
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
