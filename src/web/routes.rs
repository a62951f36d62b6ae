//! Every route of the server, in one place.
//!
//! | route | answer |
//! |---|---|
//! | `GET /healthz` | the health report (JSON), also while unconfigured |
//! | `GET /saml/metadata` | the SP metadata of the configuration in service |
//! | anything else | 404, or the "not configured" page (503) while unconfigured |
//!
//! The login flow (issue 4) adds its routes here.

use actix_web::web;

use crate::web::{handlers, health};

/// Registers every route on an `App` (the server's and the tests').
pub fn configure(config: &mut web::ServiceConfig) {
    config
        .service(web::resource("/healthz").route(web::get().to(health::healthz)))
        .service(web::resource("/saml/metadata").route(web::get().to(handlers::sp_metadata)))
        .default_service(web::to(handlers::not_found));
}
