//! Rackscope's integration tests: one binary, one module per area (ripgrep's layout).

mod bad_configs;
mod cli;
mod examples;
mod support;
