//! Every route of the server, in one place.
//!
//! | route | answer |
//! |---|---|
//! | `GET /` | the login page (straight to the IdP with `SAML_AUTOMATIC_LOGIN=1`) |
//! | `GET /saml/login?target=` | 303 to the IdP with an AuthnRequest (HTTP-Redirect binding) |
//! | `POST` at the path of `SAML_CONSUMER_URL` | the ACS: 303 to the target with the xsession |
//! | `GET` at the path of `SAML_CONSUMER_URL` | as `GET /saml/login` (Azure AD's Sign-on URL, "Test sign-in", My Apps) |
//! | `GET /saml/metadata` | the SP metadata of the configuration in service |
//! | `GET /logout` | the logout confirmation page (changes nothing) |
//! | `POST /logout` | revokes the xsession (same origin, logout token or the token itself), 303 to `FEDBRIDGE_EXIT_URL` |
//! | `GET /.well-known/jwks.json` | the public keys of the xsession |
//! | `GET /metrics` | Prometheus text format: a scraper's Bearer token or an admin session |
//! | `GET /admin`, `/admin/attempts[/{id}]`, `/admin/users`, `/admin/user?login=`, `/admin/groups` | the admin console (`web::admin`) |
//! | `GET /admin/signin?next=` | the console's SSO sign-in |
//! | `POST /admin/test-login`, `/admin/sessions/revoke` | the console's forms (anti-forgery token) |
//! | `POST /api/xsession/introspect` | RFC 7662 introspection of an xsession |
//! | `GET /healthz` | the verdict (JSON), also while unconfigured; the report with the health secret |
//! | `GET /readyz` | whether this node can serve logins now (load balancers) |
//! | `GET /assets/fedbridge.css` | the stylesheet of every page, also while unconfigured |
//! | anything else | 404, or the "not configured" page (503) while unconfigured |
//!
//! The ACS path comes from the settings and may change while the server runs, so its resource
//! matches any path and a guard compares it with the configuration in service.

use actix_web::guard::{self, GuardContext};
use actix_web::web;

use crate::web::login;
use crate::web::state::AppState;
use crate::web::{admin, handlers, health, pages};

/// Registers every route on an `App` (the server's and the tests').
pub fn configure(config: &mut web::ServiceConfig) {
    config
        .service(web::resource("/healthz").route(web::get().to(health::healthz)))
        .service(web::resource(pages::STYLESHEET_PATH).route(web::get().to(pages::stylesheet)))
        .service(web::resource("/readyz").route(web::get().to(health::readyz)))
        .service(web::resource("/").route(web::get().to(login::login_page)))
        .service(web::resource("/saml/login").route(web::get().to(login::start_login)))
        .service(web::resource("/saml/metadata").route(web::get().to(handlers::sp_metadata)))
        .service(
            web::resource("/logout")
                .route(web::get().to(login::logout_page))
                .route(web::post().to(login::logout)),
        )
        .service(web::resource("/metrics").route(web::get().to(admin::metrics)))
        .service(web::resource("/admin").route(web::get().to(admin::status)))
        .service(web::resource("/admin/signin").route(web::get().to(admin::sign_in)))
        .service(web::resource("/admin/attempts").route(web::get().to(admin::attempts)))
        .service(web::resource("/admin/attempts/{id}").route(web::get().to(admin::attempt)))
        .service(web::resource("/admin/users").route(web::get().to(admin::users)))
        .service(web::resource("/admin/user").route(web::get().to(admin::user)))
        .service(web::resource("/admin/groups").route(web::get().to(admin::groups)))
        .service(web::resource("/admin/test-login").route(web::post().to(admin::test_login)))
        .service(web::resource("/admin/sessions/revoke").route(web::post().to(admin::revoke)))
        .service(web::resource("/.well-known/jwks.json").route(web::get().to(login::jwks_document)))
        .service(web::resource("/api/xsession/introspect").route(web::post().to(login::introspect)))
        .service(
            web::resource("/{any:.*}")
                .guard(guard::fn_guard(is_acs_path))
                .route(web::post().to(login::assertion_consumer))
                .route(web::get().to(login::start_login)),
        )
        .default_service(web::to(handlers::not_found));
}

/// Whether the request's path is the ACS path of the configuration in service.
fn is_acs_path(ctx: &GuardContext<'_>) -> bool {
    ctx.app_data::<web::Data<AppState>>()
        .and_then(|state| state.config())
        .is_some_and(|active| active.config.acs_path() == ctx.head().uri.path())
}
