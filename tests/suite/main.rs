//! fedbridge's integration tests: one test binary, one module per area.

mod support;

mod cli;
mod fixtures;
