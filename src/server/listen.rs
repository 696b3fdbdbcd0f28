//! The accept loop: hyper's HTTP/1 connections, over TLS when configured, with a
//! header-read timeout (which also bounds the TLS handshake and ends kept-alive connections
//! left idle), a cap on open connections (one past it gets a 503 and is closed), and a
//! graceful shutdown bounded in time. `axum::serve` has none of the three: half-sent
//! requests stayed open forever and held shutdown back. Every request carries the peer's
//! address (`ConnectInfo<SocketAddr>`) and its `Transport`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt as _;

/// How a request reached the server, as a request extension: handlers and middleware read
/// it rather than guess from headers a client can forge. Absent on requests that did not
/// come through `serve` (tests calling the router directly).
#[derive(Clone, Copy, Debug)]
pub struct Transport {
    /// Whether the connection is TLS terminated by this process.
    pub tls: bool,
}

/// The server's limits on connections, from app.yaml's `server:` section.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_connections: usize,
    pub header_timeout: Duration,
    pub shutdown_grace: Duration,
}

impl Limits {
    pub fn of(s: &rackscope_core::model::app::Server) -> Limits {
        Limits {
            max_connections: (s.max_connections as usize).max(1),
            header_timeout: Duration::from_secs(u64::from(s.header_timeout_seconds.max(1))),
            shutdown_grace: Duration::from_secs(u64::from(s.shutdown_grace_seconds.max(1))),
        }
    }
}

/// Refusals being written at once; past it a connection over the cap is dropped unanswered.
const MAX_REFUSING: usize = 64;
/// How long a refusal may take to write.
const REFUSAL_TIMEOUT: Duration = Duration::from_secs(2);
const REFUSAL: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n\
retry-after: 5\r\nconnection: close\r\nx-content-type-options: nosniff\r\n\
content-security-policy: default-src 'none'; frame-ancestors 'none'\r\nx-frame-options: DENY\r\n\
referrer-policy: same-origin\r\ncontent-length: 59\r\n\r\n\
{\"detail\":\"too many connections to this server; try again\"}";

/// Serves `app` on `listener` (over TLS with `tls`) until `shutdown` completes, then lets
/// open requests finish for at most `limits.shutdown_grace` before closing their
/// connections. `closing` is set as shutdown begins so that endless responses (server-sent
/// events) end first.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    tls: Option<Arc<rustls::ServerConfig>>,
    closing: Arc<watch::Sender<bool>>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_boxed(listener, app, limits, tls, closing, Box::pin(shutdown)).await
}

/// `serve` with the shutdown's type erased (`server::Shutdown`), compiled once.
pub(crate) async fn serve_boxed(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    tls: Option<Arc<rustls::ServerConfig>>,
    closing: Arc<watch::Sender<bool>>,
    mut shutdown: super::Shutdown,
) -> std::io::Result<()> {
    let tls = tls.map(TlsAcceptor::from);
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let refusing = Arc::new(Semaphore::new(MAX_REFUSING));
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut conns = JoinSet::new();
    loop {
        // Finished connections are reaped as we go, so the set holds only open ones.
        while conns.try_join_next().is_some() {}
        let (stream, peer) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(c) => c,
                Err(e) => {
                    // Out of file descriptors, or a connection reset before it was accepted:
                    // wait a moment rather than spin.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        match slots.clone().try_acquire_owned() {
            Ok(slot) => {
                conns.spawn(connection(
                    stream,
                    peer,
                    app.clone(),
                    limits,
                    tls.clone(),
                    slot,
                    stop_rx.clone(),
                ));
            }
            Err(_) => {
                if let Ok(r) = refusing.clone().try_acquire_owned() {
                    conns.spawn(refuse(stream, tls.clone(), r));
                }
            }
        }
    }
    closing.send_replace(true);
    let _ = stop_tx.send(true);
    let drained = tokio::time::timeout(limits.shutdown_grace, async {
        while conns.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            open = conns.len(),
            grace_s = limits.shutdown_grace.as_secs(),
            "closing the connections still open after the shutdown grace period"
        );
        conns.shutdown().await;
    }
    Ok(())
}

/// One connection, until the client closes it, the header timeout ends it, or shutdown.
async fn connection(
    stream: TcpStream,
    peer: SocketAddr,
    app: Router,
    limits: Limits,
    tls: Option<TlsAcceptor>,
    _slot: OwnedSemaphorePermit,
    mut stop: watch::Receiver<bool>,
) {
    let Some(acceptor) = tls else {
        return http(stream, peer, false, app, limits, stop).await;
    };
    // The handshake runs here, in the connection's own task and under the header timeout,
    // so that a client that connects and never says hello neither blocks the accept loop
    // nor keeps its slot.
    let handshake = tokio::select! {
        r = tokio::time::timeout(limits.header_timeout, acceptor.accept(stream)) => r,
        () = stopped(&mut stop) => return,
    };
    match handshake {
        Ok(Ok(stream)) => http(stream, peer, true, app, limits, stop).await,
        // Scanners, plain HTTP sent to the TLS port, clients that distrust the certificate:
        // everyday noise on a server, not a warning.
        Ok(Err(e)) => tracing::debug!(%peer, error = %e, "TLS handshake failed"),
        Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
    }
}

/// HTTP/1 over an established connection; every request is given the peer's address and
/// the transport.
async fn http<I>(
    io: I,
    peer: SocketAddr,
    tls: bool,
    app: Router,
    limits: Limits,
    mut stop: watch::Receiver<bool>,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let svc = app.map_request(move |mut req: hyper::Request<Incoming>| {
        let ext = req.extensions_mut();
        ext.insert(ConnectInfo(peer));
        ext.insert(Transport { tls });
        req
    });
    let conn = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .serve_connection(TokioIo::new(io), TowerToHyperService::new(svc));
    tokio::pin!(conn);
    tokio::select! {
        r = conn.as_mut() => {
            if let Err(e) = r {
                tracing::debug!(error = %e, "connection ended with an error");
            }
        }
        () = stopped(&mut stop) => {
            conn.as_mut().graceful_shutdown();
            let _ = conn.await;
        }
    }
}

/// Resolves when shutdown begins (the watch's guard is not held across an await).
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await.map(|_| ());
}

/// Tells a client over the connection cap why (after the handshake on TLS, where plain
/// bytes would read as garbage), and closes.
async fn refuse(stream: TcpStream, tls: Option<TlsAcceptor>, _slot: OwnedSemaphorePermit) {
    async fn write<S: AsyncWrite + Unpin>(mut s: S) -> std::io::Result<()> {
        s.write_all(REFUSAL).await?;
        s.shutdown().await
    }
    let _ = tokio::time::timeout(REFUSAL_TIMEOUT, async {
        match tls {
            None => write(stream).await,
            Some(acceptor) => write(acceptor.accept(stream).await?).await,
        }
    })
    .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_refusal_is_well_formed() {
        let text = std::str::from_utf8(REFUSAL).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        let len: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length: "))
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(len, body.len());
        serde_json::from_str::<serde_json::Value>(body).unwrap();
    }
}
