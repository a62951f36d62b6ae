//! A tiny downstream application: greets the user of the xsession and lists their groups.
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

use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::header;
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use clap::Parser;
use fedbridge::clock::SystemClock;
use fedbridge::token::extract::{TOKEN_NAME, Xsession, XsessionVerifier};
use fedbridge::web::pages::escape;

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
}

/// `/`: greets the user; a link arrival sets the cookie and redirects to `/`.
async fn index(req: HttpRequest, session: Xsession) -> HttpResponse {
    let from_link = url::form_urlencoded::parse(req.query_string().as_bytes())
        .find(|(name, _)| name == TOKEN_NAME)
        .map(|(_, value)| value.into_owned());
    if let Some(token) = from_link {
        let cookie = Cookie::build(TOKEN_NAME, token)
            .path("/")
            .http_only(true)
            .same_site(SameSite::Lax)
            .secure(req.connection_info().scheme() == "https")
            .finish();
        return HttpResponse::SeeOther()
            .cookie(cookie)
            .insert_header((header::LOCATION, "/"))
            .finish();
    }
    let claims = session.0;
    let who = claims.name.as_deref().unwrap_or(&claims.sub);
    let groups: String = claims
        .groups
        .iter()
        .map(|g| format!("<li>{}</li>", escape(g)))
        .collect();
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(format!(
            "<!doctype html><title>downstream</title><h1>Hello, {}</h1><ul>{groups}</ul>",
            escape(who)
        ))
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
    HttpServer::new(move || {
        App::new()
            .app_data(verifier.clone())
            .route("/", web::get().to(index))
    })
    .bind(&args.listen)?
    .run()
    .await
}
