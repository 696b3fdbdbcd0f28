//! `/events`: the live-update stream (server-sent events) of the published snapshots'
//! sequence numbers.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};

use crate::server::AppState;

/// How long one stream lasts before the browser reconnects.
const MAX_STREAM: Duration = Duration::from_secs(15 * 60);

/// Server-sent events: the sequence number of every published snapshot, starting with the
/// current one. Ends when the server shuts down, so that open pages do not hold it up.
pub async fn handler(State(st): State<AppState>) -> Response {
    // Each open stream holds a permit; past `server.max_sse_clients` a page falls back to
    // polling (the script does so after stream errors) instead of growing memory.
    let Ok(permit) = st.sse.clone().try_acquire_owned() else {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::RETRY_AFTER, HeaderValue::from_static("30"))],
            "too many live-update streams are open; this page polls instead",
        )
            .into_response();
    };
    let mut rx = st.engine.subscribe();
    rx.mark_changed();
    let closing = st.closing.subscribe();
    // A stream ends after a while and the browser opens a new one, through the gate again:
    // a session that expired, a user removed or demoted, stops receiving updates.
    let until = tokio::time::Instant::now() + MAX_STREAM;
    let stream = futures_util::stream::unfold(
        (rx, closing, permit),
        move |(mut rx, mut closing, permit)| async move {
            if *closing.borrow() {
                return None;
            }
            let seq = tokio::select! {
                changed = rx.changed() => changed.ok().map(|()| *rx.borrow_and_update()),
                _ = closing.wait_for(|c| *c) => None,
                () = tokio::time::sleep_until(until) => None,
            }?;
            let event = Event::default().data(seq.to_string());
            Some((Ok::<_, Infallible>(event), (rx, closing, permit)))
        },
    );
    Sse::new(stream)
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response()
}
