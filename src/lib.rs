//! The `rackscope` library side of the binary: the HTTP server, the web UI, the importer
//! host and the demo orchestration, kept here (not in `core`) because they know axum, Tera,
//! libloading and processes. The subcommands over them are `src/cli/` (binary only); the
//! integration tests drive this library directly.

pub mod accounts;
pub mod checktest;
pub mod cluster_views;
pub mod demo;
pub mod editing;
pub mod import;
pub mod logbook;
pub mod maintenance;
pub mod mem;
pub mod render;
pub mod resolve;
pub mod server;
pub mod topology_edit;
pub mod ui;
