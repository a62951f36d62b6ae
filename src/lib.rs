//! fedbridge: a SAML 2.0 Service Provider that turns a company IdP's signed assertion into one
//! `xsession` token for downstream applications.
//!
//! Module map and dependency rule: ARCHITECTURE.md (a test keeps them true). [`saml`] is pure
//! protocol and crypto code (no HTTP, no database, time injected through [`clock`]). The
//! `fedbridge` command (cli/) and the setup wizard (installer/) are packages of their own on top
//! of this library.

pub mod clock;
pub mod config;
pub mod demo;
pub mod downstream;
pub mod ids;
pub mod logdedup;
pub mod login;
pub mod metrics;
pub mod saml;
pub mod store;
pub mod sync;
pub mod text;
pub mod token;
pub mod web;
