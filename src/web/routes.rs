//! Every route of the server, in one place.
//!
//! | route | answer |
//! |---|---|
//! | `GET /` | the login page (straight to the IdP with `SAML_AUTOMATIC_LOGIN=1`) |
//! | `GET /saml/login?target=` | 303 to the IdP with an AuthnRequest (HTTP-Redirect binding) |
//! | `POST` at the path of `SAML_CONSUMER_URL` | the ACS: 303 to the target with the xsession |
//! | `GET /saml/metadata` | the SP metadata of the configuration in service |
//! | `GET /logout` | the logout confirmation page (changes nothing) |
//! | `POST /logout` | revokes the xsession (same origin, logout token or the token itself), 303 to `FEDBRIDGE_EXIT_URL` |
//! | `GET /.well-known/jwks.json` | the public keys of the xsession |
//! | `POST /api/xsession/introspect` | RFC 7662 introspection of an xsession |
//! | `GET /healthz` | the verdict (JSON), also while unconfigured; the report with the health secret |
//! | `GET /readyz` | whether this node can serve logins now (load balancers) |
//! | anything else | 404, or the "not configured" page (503) while unconfigured |
//!
//! The ACS path comes from the settings and may change while the server runs, so its resource
//! matches any path and a guard compares it with the configuration in service.

use actix_web::guard::{self, GuardContext};
use actix_web::web;

use crate::web::login;
use crate::web::state::AppState;
use crate::web::{handlers, health};

/// Registers every route on an `App` (the server's and the tests').
pub fn configure(config: &mut web::ServiceConfig) {
    config
        .service(web::resource("/healthz").route(web::get().to(health::healthz)))
        .service(web::resource("/readyz").route(web::get().to(health::readyz)))
        .service(web::resource("/").route(web::get().to(login::login_page)))
        .service(web::resource("/saml/login").route(web::get().to(login::start_login)))
        .service(web::resource("/saml/metadata").route(web::get().to(handlers::sp_metadata)))
        .service(
            web::resource("/logout")
                .route(web::get().to(login::logout_page))
                .route(web::post().to(login::logout)),
        )
        .service(web::resource("/.well-known/jwks.json").route(web::get().to(login::jwks_document)))
        .service(web::resource("/api/xsession/introspect").route(web::post().to(login::introspect)))
        .service(
            web::resource("/{any:.*}")
                .guard(guard::fn_guard(is_acs_path))
                .route(web::post().to(login::assertion_consumer)),
        )
        .default_service(web::to(handlers::not_found));
}

/// Whether the request's path is the ACS path of the configuration in service.
fn is_acs_path(ctx: &GuardContext<'_>) -> bool {
    ctx.app_data::<web::Data<AppState>>()
        .and_then(|state| state.config())
        .is_some_and(|active| active.config.acs_path() == ctx.head().uri.path())
}
