//! Serialized health responses, kept for the life of one snapshot: the same snapshot always
//! gives the same bytes, so a room or rack is serialized once per refresh however many
//! screens poll it (the Python version re-serialized on a 5 s TTL). A new snapshot (a higher
//! `seq`) empties the memo; only ids that exist are ever stored, so it holds at most one
//! entry per room, rack and list endpoint.

use std::collections::HashMap;
use std::sync::RwLock;

use axum::Json;
use axum::body::Bytes;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

#[derive(Default)]
pub struct Memo {
    slot: RwLock<Slot>,
}

#[derive(Default)]
struct Slot {
    seq: u64,
    map: HashMap<String, Bytes>,
}

impl std::fmt::Debug for Memo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Memo")
    }
}

impl Memo {
    /// The JSON response stored under `key` for snapshot `seq`, built by `build` on a miss.
    pub fn json<T: Serialize>(&self, seq: u64, key: &str, build: impl FnOnce() -> T) -> Response {
        let bytes = match self.get(seq, key) {
            Some(b) => b,
            None => match serde_json::to_vec(&build()) {
                Ok(v) => {
                    let body = Bytes::from(v);
                    self.put(seq, key, body.clone());
                    body
                }
                // Not expected for our views; never stored, so the next request retries.
                Err(e) => {
                    tracing::error!(key, error = %e, "response serialization failed");
                    return (
                        StatusCode::INTERNAL_SERVER_ERROR,
                        Json(serde_json::json!({ "detail": format!("serialization failed: {e}") })),
                    )
                        .into_response();
                }
            },
        };
        ([(header::CONTENT_TYPE, "application/json")], bytes).into_response()
    }

    fn get(&self, seq: u64, key: &str) -> Option<Bytes> {
        let slot = self.slot.read().ok()?;
        (slot.seq == seq).then(|| slot.map.get(key).cloned())?
    }

    fn put(&self, seq: u64, key: &str, body: Bytes) {
        let Ok(mut slot) = self.slot.write() else {
            return;
        };
        // A request holding an older snapshot must not wipe a newer memo.
        if seq > slot.seq {
            slot.seq = seq;
            slot.map.clear();
        }
        if seq == slot.seq {
            slot.map.insert(key.to_owned(), body);
        }
    }
}
