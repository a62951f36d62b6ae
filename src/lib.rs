//! fedbridge: a SAML 2.0 Service Provider that turns a company IdP's signed assertion into one
//! `xsession` token for downstream applications.
//!
//! Module map (see ARCHITECTURE.md): [`saml`] is pure protocol and crypto code (no HTTP, no
//! database, time injected through [`clock`]); [`cli`] is the command line on top of it.

pub mod cli;
pub mod clock;
pub mod config;
pub mod demo;
pub mod downstream;
pub mod ids;
#[path = "../installer/src/mod.rs"]
pub mod installer;
pub mod login;
pub mod saml;
pub mod store;
pub mod sync;
pub mod token;
pub mod web;
