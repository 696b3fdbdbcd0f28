//! Rackscope's engine: configuration, topology, checks and query planning.
//!
//! This crate knows nothing of HTTP or HTML; the server and the UI live in the binary.

pub mod diag;
pub mod util;
pub mod yaml;
pub mod duration;
pub mod expand;
pub mod model;
pub mod severity;
