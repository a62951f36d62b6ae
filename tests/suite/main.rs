//! fedbridge's integration tests: one test binary, one module per area.

// Test code may unwrap: a panic with the failing value is how a test reports failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

#[path = "../skips.rs"]
mod skips;

mod architecture;
mod attacks;
mod c14n;
mod cli;
mod cli_options;
mod config_cli;
mod corpus;
mod demo;
mod directory_cli;
mod fixtures;
mod idp_signer;
mod install;
mod login;
mod metadata;
mod nodes;
mod serve;
