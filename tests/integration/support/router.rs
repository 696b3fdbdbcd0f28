//! The server through its router, without a socket (tower `oneshot`): the state over the
//! health fixture and the table, and requests with their whole replies.

use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use rackscope::server::{AppState, router};
use rackscope_core::telemetry::Engine;
use rackscope_core::testkit::Table;
use serde_json::Value;
use tower::ServiceExt;

use super::fixture::{T0, world};
use super::{load, root};

/// The server state over the fixture, after two refreshes 30 s apart (so n05's fan is
/// pending, not yet CRIT), or none when `refreshed` is false.
pub(crate) async fn fixture(refreshed: bool) -> (AppState, Arc<Table>) {
    fixture_with(refreshed, |_| {}).await
}

/// As `fixture`, with app.yaml's settings changed by `tune` first.
pub(crate) async fn fixture_with(
    refreshed: bool,
    tune: impl FnOnce(&mut rackscope_core::model::app::AppConfig),
) -> (AppState, Arc<Table>) {
    let mut config = load(&root().join("tests/fixtures/health/app.yaml")).config;
    tune(&mut config.app);
    let table = Arc::new(Table::new(world()));
    let engine = Arc::new(Engine::new(Arc::new(config), table.clone()));
    if refreshed {
        engine
            .refresh_at(UNIX_EPOCH + Duration::from_secs(T0))
            .await;
        engine
            .refresh_at(UNIX_EPOCH + Duration::from_secs(T0 + 30))
            .await;
    }
    (AppState::new(engine).unwrap(), table)
}

pub(crate) struct Reply {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub body: Vec<u8>,
}

impl Reply {
    pub(crate) fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }
    pub(crate) fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

pub(crate) async fn call(state: &AppState, req: Request<Body>) -> Reply {
    let res = router(state.clone()).oneshot(req).await.unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    let body = axum::body::to_bytes(res.into_body(), usize::MAX)
        .await
        .unwrap()
        .to_vec();
    Reply {
        status,
        headers,
        body,
    }
}

pub(crate) async fn get(state: &AppState, uri: &str) -> Reply {
    call(state, Request::get(uri).body(Body::empty()).unwrap()).await
}

pub(crate) async fn post(state: &AppState, uri: &str, body: &str) -> Reply {
    call(
        state,
        Request::post(uri)
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_owned()))
            .unwrap(),
    )
    .await
}
