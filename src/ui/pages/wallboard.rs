//! The NOC wallboard: the playlist's first view in kiosk mode.

use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};

use crate::server::AppState;
use crate::ui::chrome::playlist;

/// The NOC wallboard: the first playlist view in kiosk mode; each view moves on to the
/// next after `playlist.interval_seconds` (a meta refresh, so it runs without JavaScript).
pub async fn handler(State(st): State<AppState>) -> Response {
    let config = st.engine.config();
    let views = playlist(&config);
    let first = views.first().map_or("/", String::as_str);
    let sep = if first.contains('?') { '&' } else { '?' };
    Redirect::to(&format!("{first}{sep}kiosk=1&pl=0")).into_response()
}
