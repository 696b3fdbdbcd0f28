//! The `rackscope` library side of the binary: the HTTP server and the demo orchestration,
//! kept here (not in `core`) because they know axum and processes, and the importer host. `src/main.rs` is the
//! command line over it; the integration tests drive it directly.

pub mod demo;
pub mod import;
pub mod mem;
pub mod render;
pub mod server;
pub mod ui;
