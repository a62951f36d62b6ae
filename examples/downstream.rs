//! A tiny downstream application: greets the user of the xsession and lists their groups. The
//! app itself is [`fedbridge::demo::downstream`] (also run by `fedbridge demo`); this is the
//! command line around it.
//!
//! ```text
//! cargo run --example downstream -- --listen 127.0.0.1:8090 \
//!     --jwks http://127.0.0.1:8080/.well-known/jwks.json \
//!     --issuer https://sso.example.com --audience downstream
//! ```
//!
//! Revocation is checked with fedbridge's introspection (`--introspection-url`, by default the
//! JWKS URL's origin + `/api/xsession/introspect`), answers cached `--revocation-ttl` seconds
//! (10): a revoked token is refused within that window. A link arrival (`/?xsession=...`) goes
//! through the hand-off: adopted into the app's own `xsession` cookie only when the browser has
//! no session or one of the same user, and redirected so the token leaves the address bar.
//! Later requests carry the cookie; API clients may send `Authorization: Bearer <token>`.

use std::sync::Arc;

use actix_web::{App, HttpServer, web};
use clap::Parser;
use fedbridge::clock::SystemClock;
use fedbridge::demo::downstream::{self, LoginLink, LogoutLink};
use fedbridge::downstream::XsessionVerifier;
use fedbridge::downstream::introspection::IntrospectionConfig;

/// Command line of the example.
#[derive(Debug, Parser)]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8090")]
    listen: String,
    /// fedbridge's JWKS URL.
    #[arg(long)]
    jwks: String,
    /// Expected `iss`: fedbridge's base URL.
    #[arg(long)]
    issuer: String,
    /// Expected `aud`.
    #[arg(long)]
    audience: String,
    /// Where to send visitors without a session (e.g. fedbridge's `/saml/login?target=...`).
    #[arg(long)]
    login_url: Option<String>,
    /// fedbridge's logout page (shown when a link was for another user).
    #[arg(long)]
    logout_url: Option<String>,
    /// fedbridge's introspection endpoint (default: the JWKS URL's origin +
    /// /api/xsession/introspect).
    #[arg(long)]
    introspection_url: Option<String>,
    /// FEDBRIDGE_INTROSPECTION_SECRET, when fedbridge has one.
    #[arg(long, env = "FEDBRIDGE_INTROSPECTION_SECRET", hide_env_values = true)]
    introspection_secret: Option<String>,
    /// How long an "active" answer is trusted: a revoked token is refused within this.
    #[arg(long, default_value_t = 10, value_name = "SECONDS")]
    revocation_ttl: u64,
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .init();
    let args = Args::parse();
    let introspection_url = args.introspection_url.unwrap_or_else(|| {
        let origin = url::Url::parse(&args.jwks)
            .map(|u| u.origin().ascii_serialization())
            .unwrap_or_default();
        format!("{origin}/api/xsession/introspect")
    });
    let mut introspection = IntrospectionConfig::new(introspection_url);
    introspection.client_secret = args.introspection_secret;
    introspection.ttl = std::time::Duration::from_secs(args.revocation_ttl);
    let verifier = web::Data::new(
        XsessionVerifier::from_jwks_url(
            args.jwks,
            args.issuer,
            args.audience,
            Arc::new(SystemClock),
        )
        .with_introspection(introspection),
    );
    let login = args.login_url.map(|url| web::Data::new(LoginLink(url)));
    let logout = args.logout_url.map(|url| web::Data::new(LogoutLink(url)));
    HttpServer::new(move || {
        let mut app = App::new()
            .wrap(fedbridge::web::security_headers())
            .app_data(verifier.clone())
            .configure(downstream::configure);
        if let Some(login) = &login {
            app = app.app_data(login.clone());
        }
        if let Some(logout) = &logout {
            app = app.app_data(logout.clone());
        }
        app
    })
    .bind(&args.listen)?
    .run()
    .await
}
