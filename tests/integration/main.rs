//! Rackscope's integration tests: one binary, one module per area (ripgrep's layout).

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod adversarial;
mod alertmanager;
mod api;
mod architecture;
mod auth;
mod bad_configs;
mod browser;
mod checktests;
mod cli;
mod cluster;
mod editing;
mod editors;
mod examples;
mod faults;
mod floorplan;
mod health;
mod identity;
mod import;
mod logs;
mod maintenance;
mod package;
mod plans;
mod reload;
mod replicas;
mod scripts;
mod security;
mod simulator;
mod slurm;
mod sources;
mod support;
mod topology_forms;
mod triage;
mod ui;
