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
//! A link arrival (`/?xsession=...`) is verified, stored in the app's own `xsession` cookie and
//! redirected to `/`, so the token leaves the address bar and the history. Later requests carry
//! the cookie; API clients may send `Authorization: Bearer <token>` instead.

use std::sync::Arc;

use actix_web::{App, HttpServer, web};
use clap::Parser;
use fedbridge::clock::SystemClock;
use fedbridge::demo::downstream::{self, LoginLink};
use fedbridge::downstream::XsessionVerifier;

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
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .init();
    let args = Args::parse();
    let verifier = web::Data::new(XsessionVerifier::from_jwks_url(
        args.jwks,
        args.issuer,
        args.audience,
        Arc::new(SystemClock),
    ));
    let login = args.login_url.map(|url| web::Data::new(LoginLink(url)));
    HttpServer::new(move || {
        let app = App::new()
            .app_data(verifier.clone())
            .configure(downstream::configure);
        match &login {
            Some(login) => app.app_data(login.clone()),
            None => app,
        }
    })
    .bind(&args.listen)?
    .run()
    .await
}
