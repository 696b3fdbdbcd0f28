//! Rackscope's engine: configuration, topology, checks and query planning.
//!
//! This crate knows nothing of HTTP or HTML; the server and the UI live in the binary.

pub mod access;
pub mod app_keys;
pub mod bind;
pub mod checktest;
pub mod clock;
pub mod config;
pub mod diag;
pub mod duration;
pub mod edit;
pub mod env;
pub mod expand;
pub mod labels;
pub mod library;
pub mod load;
pub mod maintenance;
pub mod model;
pub mod placeholder;
pub mod promql;
pub mod read;
pub mod script;
pub mod severity;
pub mod slurm;
pub mod telemetry;
pub mod topology;
pub mod util;
pub mod validate;
pub mod vfs;
pub mod views;
pub mod walk;
pub mod yaml;

pub use config::Config;
pub use diag::{Diagnostic, Diagnostics, Level};
pub use load::{Loaded, load, load_overlay, load_with_env};
pub use severity::Severity;
pub mod fuzzing;
pub mod generate;
#[cfg(any(test, feature = "testkit"))]
pub mod testkit;
