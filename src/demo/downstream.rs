//! The example downstream application, as a library piece: greets the user of the xsession and
//! lists their groups. `fedbridge demo` runs it, and `examples/downstream.rs` wraps it.
//!
//! Register a [`XsessionVerifier`] (see [`verifier`]) as `web::Data`, optionally a
//! [`LoginLink`], and call [`configure`]. A link arrival (`/?xsession=...`) is verified,
//! stored in the app's own `xsession` cookie and redirected to `/`, so the token leaves the
//! address bar and the history. Later requests carry the cookie; API clients may send
//! `Authorization: Bearer <token>` instead.

use std::sync::Arc;

use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};

use crate::clock::SystemClock;
use crate::downstream::{Xsession, XsessionRefusal, XsessionVerifier};
use crate::token::TOKEN_NAME;
use crate::web::pages::{self, STYLESHEET_PATH, escape, html, stylesheet};

/// Where a visitor without a valid xsession is sent to log in (shown as a link on the 401
/// page). Optional `web::Data`.
#[derive(Debug, Clone)]
pub struct LoginLink(pub String);

/// fedbridge's logout address (`{fedbridge}/logout`), the "Log out" link of the greeting page.
/// Optional `web::Data`; without it the link goes to [`LoginLink`]'s origin's `/logout`, if any.
#[derive(Debug, Clone)]
pub struct LogoutLink(pub String);

/// A verifier of fedbridge's xsession tokens: keys from `{fedbridge_origin}/.well-known/jwks.json`,
/// `iss` = `fedbridge_origin` (e.g. `http://127.0.0.1:8080`), `aud` = `audience`.
pub fn verifier(fedbridge_origin: &str, audience: &str) -> XsessionVerifier {
    let origin = fedbridge_origin.trim_end_matches('/');
    XsessionVerifier::from_jwks_url(
        format!("{origin}/.well-known/jwks.json"),
        origin,
        audience,
        Arc::new(SystemClock),
    )
}

/// Registers the app's one route, `GET /`.
pub fn configure(config: &mut web::ServiceConfig) {
    config
        .service(web::resource("/").route(web::get().to(index)))
        .service(web::resource(STYLESHEET_PATH).route(web::get().to(stylesheet)));
}

/// `GET /`: greets the user; a link arrival sets the cookie and redirects to `/`; without a
/// valid token, a 401 page that points to the login.
async fn index(
    req: HttpRequest,
    session: Result<Xsession, XsessionRefusal>,
    login: Option<web::Data<LoginLink>>,
    logout: Option<web::Data<LogoutLink>>,
) -> HttpResponse {
    let claims = match session {
        Ok(Xsession(claims)) => claims,
        Err(XsessionRefusal::NotConfigured) => {
            return html(
                HttpResponse::InternalServerError(),
                page(
                    "Example app",
                    "<div class=\"card\"><p>No xsession verifier is registered.</p></div>",
                ),
            );
        }
        Err(rejection) => return not_logged_in(rejection, login.as_ref().map(|l| l.get_ref())),
    };
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
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .finish();
    }
    let who = claims.name.as_deref().unwrap_or(&claims.sub);
    let groups: String = claims
        .groups
        .iter()
        .map(|g| format!("<li>{}</li>", escape(g)))
        .collect();
    let groups = if groups.is_empty() {
        "<p class=\"muted\">You are in no group.</p>".to_owned()
    } else {
        format!("<h2>Your groups</h2><ul class=\"groups\">{groups}</ul>")
    };
    let logout = logout
        .map(|l| l.0.clone())
        .or_else(|| login.as_ref().and_then(|l| logout_of(&l.0)))
        .map(|url| {
            format!(
                "<p class=\"actions\"><a class=\"button secondary\" id=\"logout\" \
                 href=\"{}\">Log out</a></p>",
                escape(&url)
            )
        })
        .unwrap_or_default();
    let body = format!(
        "<div class=\"card\"><h1>Hello, {who}</h1>\
         <p class=\"lead\">You are signed in to the example app with your fedbridge xsession.</p>\
         <dl class=\"facts\"><dt>Login name</dt><dd><code>{sub}</code></dd>{email}</dl>\
         {groups}{logout}</div>",
        who = escape(who),
        sub = escape(&claims.sub),
        email = claims
            .email
            .as_deref()
            .map(|e| format!("<dt>E-mail</dt><dd>{}</dd>", escape(e)))
            .unwrap_or_default(),
    );
    html(HttpResponse::Ok(), page("Example app", &body))
}

/// `{origin}/logout` of a login URL (`{origin}/saml/login?...`).
fn logout_of(login_url: &str) -> Option<String> {
    let url = url::Url::parse(login_url).ok()?;
    Some(format!("{}/logout", url.origin().ascii_serialization()))
}

/// The 401 page: missing or invalid token, with the login link when one is registered.
fn not_logged_in(rejection: XsessionRefusal, login: Option<&LoginLink>) -> HttpResponse {
    let why = match rejection {
        XsessionRefusal::Missing => "You are not logged in.",
        _ => "Your session is not valid (expired, or not from this fedbridge).",
    };
    let link = login
        .map(|l| {
            format!(
                "<p class=\"actions\"><a class=\"button\" href=\"{}\">Log in using SSO</a></p>",
                escape(&l.0)
            )
        })
        .unwrap_or_default();
    let mut response = HttpResponse::build(StatusCode::UNAUTHORIZED);
    response.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
    html(
        response,
        page(
            "Example app",
            &format!(
                "<div class=\"card\"><h1>Sign in needed</h1><p>{}</p>{link}</div>",
                escape(why)
            ),
        ),
    )
}

/// A page of the example app in fedbridge's layout (the stylesheet served by the app itself).
fn page(title: &str, body: &str) -> String {
    pages::document(&pages::Layout {
        brand: "Example app",
        brand_sub: Some("downstream of fedbridge"),
        width: pages::Width::Narrow,
        ..pages::Layout::plain(title, body)
    })
}
