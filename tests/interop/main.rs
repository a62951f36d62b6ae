//! The interop suite: real IdPs and a real browser on loopback (issue 6).
//!
//! Run it with `bash .ci/interop` (installs the IdPs, runs this target with one test thread and
//! prints the IdP x case table), or by hand after `tests/interop/setup/*.sh`:
//! `cargo test --test interop -- --test-threads=1`. The cases share fixed ports (fedbridge on
//! 127.0.0.1:8080, the IdPs on 8081, 7000, 8082), hence one thread.

// Test code may unwrap: a panic with the failing value is how a test reports failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../suite/support.rs"]
mod support;

#[path = "../skips.rs"]
mod skips;

mod harness;

mod cases;

mod browser;
