//! The configuration files as written, one module per kind of file.

pub mod app;
pub mod catalog;
pub mod checks;
pub mod maintenance;
pub mod metrics;
pub mod slurm;
pub mod topology;
pub mod users;
