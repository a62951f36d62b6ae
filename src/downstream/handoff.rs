//! The link hand-off: fedbridge sends a user to a downstream app with the token in the address
//! (`https://app.example.com/page?xsession=<token>`). Taking any such token as the session
//! would let any web page sign a visitor in as someone else (a link with the attacker's
//! token: the victim then works in the attacker's account). So a link's token is adopted only
//! when the browser has no valid session yet, or a session of the same user (then it is the
//! fresher token); a browser signed in as another user keeps its session and is told
//! ([`Handoff::Conflict`]). Either way the token leaves the address at once (a 303 to the same
//! address without it, sent with `Referrer-Policy: no-referrer`).
//!
//! ```ignore
//! async fn page(req: HttpRequest, verifier: web::Data<XsessionVerifier>) -> HttpResponse {
//!     let handoff = link_handoff(&req, &verifier).await;
//!     if let Some(response) = handoff_response(&handoff, &req) {
//!         return response; // adopted: cookie set, token out of the address
//!     }
//!     match handoff {
//!         Handoff::Conflict { current, offered } => conflict_page(&current, &offered),
//!         Handoff::Invalid => HttpResponse::Unauthorized().finish(),
//!         _ => the_page(req).await, // no link token: the Xsession extractor as usual
//!     }
//! }
//! ```
//!
//! What stays exposed: a browser with no session that follows an attacker's link becomes the
//! attacker in the downstream app (SECURITY.md).

use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse};

use crate::downstream::{XsessionVerifier, cookie_token};
use crate::token::{TOKEN_NAME, XsessionClaims};

/// What to do with a token that arrived in a link.
#[derive(Debug)]
pub enum Handoff {
    /// No token in the address.
    None,
    /// Adopt it: the browser had no valid session, or one of the same user.
    Adopt {
        /// The link's token, to set as the app's cookie.
        token: String,
        /// Its claims.
        claims: Box<XsessionClaims>,
    },
    /// The browser is signed in as another user: keep that session, never switch silently.
    Conflict {
        /// The session the browser has.
        current: Box<XsessionClaims>,
        /// The user the link was for.
        offered: Box<XsessionClaims>,
    },
    /// The link's token does not verify, is revoked, or cannot be checked now.
    Invalid,
}

/// Decides about the request's link token (see the module documentation).
pub async fn link_handoff(req: &HttpRequest, verifier: &XsessionVerifier) -> Handoff {
    let Some(offered_token) = link_token(req) else {
        return Handoff::None;
    };
    let Ok(offered) = verifier.check(&offered_token).await else {
        return Handoff::Invalid;
    };
    let current = match cookie_token(req) {
        Some(token) => verifier.check(&token).await.ok(),
        None => None,
    };
    match current {
        Some(current) if current.sub != offered.sub => Handoff::Conflict {
            current: Box::new(current),
            offered: Box::new(offered),
        },
        _ => Handoff::Adopt {
            token: offered_token,
            claims: Box::new(offered),
        },
    }
}

/// The answer that completes an [`Handoff::Adopt`]: 303 to the same address without the token,
/// the token in the app's `xsession` cookie (HttpOnly, `SameSite=Lax`, `Secure` over https).
/// `None` for every other hand-off: the app answers those itself.
pub fn handoff_response(handoff: &Handoff, req: &HttpRequest) -> Option<HttpResponse> {
    let Handoff::Adopt { token, .. } = handoff else {
        return None;
    };
    let cookie = Cookie::build(TOKEN_NAME, token.clone())
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(req.connection_info().scheme() == "https")
        .finish();
    Some(
        HttpResponse::SeeOther()
            .cookie(cookie)
            .insert_header((header::LOCATION, without_token(req)))
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .insert_header((header::REFERRER_POLICY, "no-referrer"))
            .finish(),
    )
}

/// The `xsession` parameter of the request's address, when it has a non-empty one.
pub fn link_token(req: &HttpRequest) -> Option<String> {
    url::form_urlencoded::parse(req.query_string().as_bytes())
        .find(|(name, _)| name == TOKEN_NAME)
        .map(|(_, value)| value.into_owned())
        .filter(|t| !t.is_empty())
}

/// The request's path and query without its `xsession` parameters.
pub fn without_token(req: &HttpRequest) -> String {
    let kept: Vec<(String, String)> = url::form_urlencoded::parse(req.query_string().as_bytes())
        .filter(|(name, _)| name != TOKEN_NAME)
        .map(|(n, v)| (n.into_owned(), v.into_owned()))
        .collect();
    let mut location = req.path().to_owned();
    if !kept.is_empty() {
        location.push('?');
        location.push_str(
            &url::form_urlencoded::Serializer::new(String::new())
                .extend_pairs(kept)
                .finish(),
        );
    }
    location
}
