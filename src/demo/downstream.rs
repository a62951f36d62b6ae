//! The example downstream application, as a library piece: greets the user of the xsession and
//! lists their groups. `fedbridge demo` runs it, and `examples/downstream.rs` wraps it.
//!
//! Register a [`XsessionVerifier`] (see [`verifier`]: revocation checked through fedbridge's
//! introspection, at most 10 s stale) as `web::Data`, optionally a [`LoginLink`] and a
//! [`LogoutLink`], and call [`configure`]. A link arrival (`/?xsession=...`) goes through the
//! hand-off ([`crate::downstream::handoff`]): adopted into the app's own `xsession` cookie
//! when the browser has no session or one of the same user, with a redirect that takes the
//! token out of the address; a browser signed in as someone else keeps its session and is told.
//! Later requests carry the cookie; API clients may send `Authorization: Bearer <token>`.

use std::sync::Arc;

use actix_web::http::{StatusCode, header};
use actix_web::{FromRequest as _, HttpRequest, HttpResponse, web};

use crate::clock::SystemClock;
use crate::downstream::handoff::{Handoff, handoff_response, link_handoff};
use crate::downstream::introspection::IntrospectionConfig;
use crate::downstream::{Xsession, XsessionRefusal, XsessionVerifier};
use crate::token::XsessionClaims;
use crate::web::pages::{self, STYLESHEET_PATH, escape, html, stylesheet};

/// Where a visitor without a valid xsession is sent to log in (shown as a link on the 401
/// page). Optional `web::Data`.
#[derive(Debug, Clone)]
pub struct LoginLink(pub String);

/// fedbridge's logout address (`{fedbridge}/logout`): the "Log out" button of the greeting page,
/// and the way out when a link was for another user than the one signed in. Optional
/// `web::Data`; without it the button goes to [`LoginLink`]'s origin's `/logout`, if any.
#[derive(Debug, Clone)]
pub struct LogoutLink(pub String);

/// A verifier of fedbridge's xsession tokens: keys from `{fedbridge_origin}/.well-known/jwks.json`,
/// `iss` = `fedbridge_origin` (e.g. `http://127.0.0.1:8080`), `aud` = `audience`; revocation
/// through `{fedbridge_origin}/api/xsession/introspect` (cached 10 s, with `secret` as the
/// client secret when fedbridge requires one).
pub fn verifier(
    fedbridge_origin: &str,
    audience: &str,
    secret: Option<String>,
) -> XsessionVerifier {
    let origin = fedbridge_origin.trim_end_matches('/');
    let mut introspection = IntrospectionConfig::new(format!("{origin}/api/xsession/introspect"));
    introspection.client_secret = secret;
    XsessionVerifier::from_jwks_url(
        format!("{origin}/.well-known/jwks.json"),
        origin,
        audience,
        Arc::new(SystemClock),
    )
    .with_introspection(introspection)
}

/// Registers the app's routes: `GET /` and the stylesheet.
pub fn configure(config: &mut web::ServiceConfig) {
    config
        .service(web::resource("/").route(web::get().to(index)))
        .service(web::resource(STYLESHEET_PATH).route(web::get().to(stylesheet)));
}

/// `GET /`: greets the user; a link arrival goes through the hand-off; without a valid token,
/// a 401 page that points to the login (503 when revocation cannot be checked).
async fn index(
    req: HttpRequest,
    verifier: Option<web::Data<XsessionVerifier>>,
    login: Option<web::Data<LoginLink>>,
    logout: Option<web::Data<LogoutLink>>,
) -> HttpResponse {
    let Some(verifier) = verifier else {
        return html(
            HttpResponse::InternalServerError(),
            page(
                "Example app",
                "<div class=\"card\"><p>No xsession verifier is registered.</p></div>",
            ),
        );
    };
    let login = login.as_ref().map(|l| l.get_ref());
    let logout = logout
        .map(|l| l.0.clone())
        .or_else(|| login.and_then(|l| logout_of(&l.0)));
    let handoff = link_handoff(&req, &verifier).await;
    if let Some(response) = handoff_response(&handoff, &req) {
        return response;
    }
    match handoff {
        Handoff::Conflict { current, offered } => {
            return conflict(&current, &offered, logout.as_deref());
        }
        Handoff::Invalid => return not_logged_in(XsessionRefusal::Invalid, login),
        Handoff::None | Handoff::Adopt { .. } => {}
    }
    let claims = match Xsession::extract(&req).await {
        Ok(Xsession(claims)) => claims,
        Err(rejection) => return not_logged_in(rejection, login),
    };
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

/// The page of a link for another user than the one signed in (409): nothing switches
/// silently.
fn conflict(
    current: &XsessionClaims,
    offered: &XsessionClaims,
    logout: Option<&str>,
) -> HttpResponse {
    let link = logout
        .map(|url| {
            format!(
                "<p class=\"actions\"><a class=\"button secondary\" href=\"{}\">Log out to \
                 switch</a></p>",
                escape(url)
            )
        })
        .unwrap_or_default();
    html(
        HttpResponse::Conflict(),
        page(
            "Example app",
            &format!(
                "<div class=\"card\"><h1>Another user's link</h1><p>You are signed in as \
                 <strong>{}</strong>; the link you followed was for <strong>{}</strong>, so it \
                 was not used.</p>{link}</div>",
                escape(&current.sub),
                escape(&offered.sub)
            ),
        ),
    )
}

/// The 401 page: missing or invalid token, with the login link when one is registered; 503
/// when fedbridge could not be asked whether the token is revoked.
fn not_logged_in(rejection: XsessionRefusal, login: Option<&LoginLink>) -> HttpResponse {
    if rejection == XsessionRefusal::Unavailable {
        let mut response = HttpResponse::build(StatusCode::SERVICE_UNAVAILABLE);
        response.insert_header((header::RETRY_AFTER, "5"));
        return html(
            response,
            page(
                "Example app",
                "<div class=\"card\"><h1>Please try again</h1><p>Your session cannot be \
                 checked right now. Please try again shortly.</p></div>",
            ),
        );
    }
    let why = match rejection {
        XsessionRefusal::Missing => "You are not logged in.",
        _ => "Your session is not valid (expired, revoked, or not from this fedbridge).",
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
