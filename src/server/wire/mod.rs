//! The JSON shapes of the API, built from the core's read models (`rackscope_core::read`)
//! and the topology: the handlers fetch, these shape. Key order and field names are the
//! seed 003 and Python Rackscope contracts, pinned by the API snapshot tests.

use rackscope_core::Severity;
use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};

pub mod alerts;
pub mod live;
pub mod rack;
pub mod stats;
pub mod topology;

/// A JSON object whose keys keep the order given (topology order), as the Python version's
/// dicts do.
pub struct Ordered<K, V>(pub Vec<(K, V)>);

impl<K: Serialize, V: Serialize> Serialize for Ordered<K, V> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

/// A level's state as the API writes it: not monitored reads UNKNOWN.
pub fn state_str(s: Option<Severity>) -> &'static str {
    s.unwrap_or(Severity::Unknown).as_str()
}
