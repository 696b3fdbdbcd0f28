//! The accept loop: hyper's HTTP/1 connections with a header-read timeout (which also ends
//! kept-alive connections left idle), a cap on open connections (one past it gets a 503 and
//! is closed), and a graceful shutdown bounded in time. `axum::serve` has none of the three:
//! half-sent requests stayed open forever and held shutdown back.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::io::AsyncWriteExt as _;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tokio::task::JoinSet;

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
retry-after: 5\r\nconnection: close\r\ncontent-length: 59\r\n\r\n\
{\"detail\":\"too many connections to this server; try again\"}";

/// Serves `app` on `listener` until `shutdown` completes, then lets open requests finish
/// for at most `limits.shutdown_grace` before closing their connections. `closing` is set
/// as shutdown begins so that endless responses (server-sent events) end first.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    closing: Arc<watch::Sender<bool>>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let refusing = Arc::new(Semaphore::new(MAX_REFUSING));
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut conns = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        // Finished connections are reaped as we go, so the set holds only open ones.
        while conns.try_join_next().is_some() {}
        let (stream, _peer) = tokio::select! {
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
                    app.clone(),
                    limits,
                    slot,
                    stop_rx.clone(),
                ));
            }
            Err(_) => {
                if let Ok(r) = refusing.clone().try_acquire_owned() {
                    conns.spawn(refuse(stream, r));
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
    app: Router,
    limits: Limits,
    _slot: OwnedSemaphorePermit,
    mut stop: watch::Receiver<bool>,
) {
    let conn = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .serve_connection(TokioIo::new(stream), TowerToHyperService::new(app));
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

/// Tells a client over the connection cap why, and closes.
async fn refuse(mut stream: TcpStream, _slot: OwnedSemaphorePermit) {
    let _ = tokio::time::timeout(REFUSAL_TIMEOUT, async {
        stream.write_all(REFUSAL).await?;
        stream.shutdown().await
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
