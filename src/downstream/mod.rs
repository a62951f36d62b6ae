//! For downstream applications written in Rust (HTTP, so outside [`crate::token`]): an actix-web
//! extractor that accepts the xsession, verifies it against fedbridge's JWKS and, when asked
//! to, checks that fedbridge still honours it (revocation), and the safe hand-off of a token
//! that arrives in a link.
//!
//! Register an [`XsessionVerifier`] as `web::Data` and take [`Xsession`] as a handler argument.
//! The token is read from the app's own `xsession` cookie, or `Authorization: Bearer <token>`
//! (API clients). A token in the address (`?xsession=`, the link style) is never taken as the
//! session by the extractor: [`handoff::link_handoff`] decides whether the browser may adopt it
//! (it has no session, or one of the same user) and [`handoff::handoff_response`] sets the
//! cookie and takes the token out of the address. Verification itself is
//! [`crate::token::verify`]; revocation is [`introspection`] with a short cache
//! ([`XsessionVerifier::with_introspection`]).
//!
//! The JWKS is fetched with awc on first use and again when a token names an unknown `kid` (key
//! rotation), at most once per [`REFETCH_INTERVAL_SECONDS`]; when a fetch fails the last good set
//! stays in use. awc is not `Send`: verify on the actix runtime.

pub mod handoff;
pub mod introspection;

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration as StdDuration;

use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, HttpResponse, ResponseError, web};
use jsonwebtoken::jwk::JwkSet;
use time::OffsetDateTime;

use self::introspection::{Answers, IntrospectionConfig};
use crate::clock::Clock;
use crate::token::{TOKEN_NAME, TokenError, XsessionClaims, verify};

/// The shortest interval between two JWKS fetches, in seconds.
pub const REFETCH_INTERVAL_SECONDS: i64 = 30;

/// The time limit of one JWKS fetch.
const FETCH_TIMEOUT: StdDuration = StdDuration::from_secs(10);

/// The largest JWKS document accepted, in bytes.
const MAX_JWKS_BYTES: usize = 256 * 1024;

/// Where the verification keys come from.
#[derive(Debug, Clone)]
enum KeySource {
    Fixed(Arc<JwkSet>),
    Url(String),
}

/// The fetched keys and when the last fetch was attempted.
#[derive(Debug, Default)]
struct Cache {
    keys: Option<Arc<JwkSet>>,
    last_attempt: Option<OffsetDateTime>,
}

/// Verifies xsession tokens for one issuer and audience against a JWKS URL or a fixed key set.
pub struct XsessionVerifier {
    source: KeySource,
    issuer: String,
    audience: String,
    clock: Arc<dyn Clock>,
    cache: Mutex<Cache>,
    introspection: Option<IntrospectionConfig>,
    answers: Answers,
}

/// Why [`XsessionVerifier::check`] refused a token.
#[derive(Debug, thiserror::Error)]
pub enum Refused {
    /// It does not verify (signature, times, issuer, audience, key).
    #[error(transparent)]
    Invalid(#[from] TokenError),
    /// fedbridge no longer honours it: revoked (logout), its user disabled, or unknown.
    #[error("the token is no longer active (revoked)")]
    Revoked,
    /// fedbridge could not be asked (introspection down or refused): fail closed.
    #[error("cannot check the token's revocation: {0}")]
    Unavailable(String),
}

impl fmt::Debug for XsessionVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("XsessionVerifier")
            .field("source", &self.source)
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .finish_non_exhaustive()
    }
}

impl XsessionVerifier {
    /// A verifier that fetches the keys from `jwks_url` (fedbridge's `/.well-known/jwks.json`).
    pub fn from_jwks_url(
        jwks_url: impl Into<String>,
        issuer: impl Into<String>,
        audience: impl Into<String>,
        clock: Arc<dyn Clock>,
    ) -> XsessionVerifier {
        XsessionVerifier::new(KeySource::Url(jwks_url.into()), issuer, audience, clock)
    }

    /// A verifier with a fixed key set (tests, or keys distributed out of band).
    pub fn from_jwks(
        keys: JwkSet,
        issuer: impl Into<String>,
        audience: impl Into<String>,
        clock: Arc<dyn Clock>,
    ) -> XsessionVerifier {
        XsessionVerifier::new(KeySource::Fixed(Arc::new(keys)), issuer, audience, clock)
    }

    fn new(
        source: KeySource,
        issuer: impl Into<String>,
        audience: impl Into<String>,
        clock: Arc<dyn Clock>,
    ) -> XsessionVerifier {
        XsessionVerifier {
            source,
            issuer: issuer.into(),
            audience: audience.into(),
            clock,
            cache: Mutex::new(Cache::default()),
            introspection: None,
            answers: Answers::default(),
        }
    }

    /// The same verifier, checking revocation with fedbridge's introspection too (see
    /// [`introspection`]: a revoked token is refused within `config.ttl`).
    pub fn with_introspection(mut self, config: IntrospectionConfig) -> XsessionVerifier {
        self.introspection = Some(config);
        self
    }

    /// Verifies `token` ([`XsessionVerifier::verify`]) and, with introspection configured,
    /// checks that fedbridge still honours it (cached: see [`introspection`]).
    pub async fn check(&self, token: &str) -> Result<XsessionClaims, Refused> {
        let claims = self.verify(token).await?;
        let Some(config) = &self.introspection else {
            return Ok(claims);
        };
        let now = std::time::Instant::now();
        let active = match self.answers.get(&claims.jti, now) {
            Some(active) => active,
            None => {
                let active = introspection::ask(config, token)
                    .await
                    .map_err(Refused::Unavailable)?;
                let lifetime =
                    introspection::answer_lifetime(&claims, active, config.ttl, self.clock.now());
                self.answers
                    .put(&claims.jti, active, now + lifetime, config.max_entries, now);
                active
            }
        };
        if active {
            Ok(claims)
        } else {
            Err(Refused::Revoked)
        }
    }

    /// Verifies `token`: with the cached keys, refetching the JWKS once (rate-limited) when the
    /// token names a key the cache does not hold.
    pub async fn verify(&self, token: &str) -> Result<XsessionClaims, TokenError> {
        let url = match &self.source {
            KeySource::Fixed(keys) => return self.verify_with(token, keys),
            KeySource::Url(url) => url,
        };
        let keys = match self.cached() {
            Some(keys) => keys,
            None => self.refresh(url).await.unwrap_or_default(),
        };
        match self.verify_with(token, &keys) {
            Err(TokenError::UnknownKeyId(kid)) => match self.refresh(url).await {
                Some(fresh) if !Arc::ptr_eq(&fresh, &keys) => self.verify_with(token, &fresh),
                _ => Err(TokenError::UnknownKeyId(kid)),
            },
            other => other,
        }
    }

    fn verify_with(&self, token: &str, keys: &JwkSet) -> Result<XsessionClaims, TokenError> {
        verify(token, keys, &self.issuer, &self.audience, self.clock.now())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Cache> {
        self.cache
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn cached(&self) -> Option<Arc<JwkSet>> {
        self.lock().keys.clone()
    }

    /// Fetches the JWKS unless a fetch was attempted less than [`REFETCH_INTERVAL_SECONDS`] ago;
    /// returns the keys in use afterwards (the new set, or the last good one).
    async fn refresh(&self, url: &str) -> Option<Arc<JwkSet>> {
        let now = self.clock.now();
        {
            let mut cache = self.lock();
            if let Some(last) = cache.last_attempt
                && (now - last).whole_seconds() < REFETCH_INTERVAL_SECONDS
                && now >= last
            {
                return cache.keys.clone();
            }
            cache.last_attempt = Some(now);
        }
        match fetch(url).await {
            Ok(keys) => {
                let keys = Arc::new(keys);
                self.lock().keys = Some(keys.clone());
                Some(keys)
            }
            Err(e) => {
                tracing::warn!(url, error = %e, "cannot fetch the xsession JWKS, keeping the last good keys");
                self.cached()
            }
        }
    }
}

/// GETs and parses the JWKS: no redirects, [`FETCH_TIMEOUT`], at most [`MAX_JWKS_BYTES`].
async fn fetch(url: &str) -> Result<JwkSet, String> {
    let client = awc::Client::builder()
        .connector(awc::Connector::new().timeout(FETCH_TIMEOUT))
        .timeout(FETCH_TIMEOUT)
        .disable_redirects()
        .finish();
    let mut response = client
        .get(url)
        .insert_header((header::ACCEPT, "application/json"))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if !response.status().is_success() {
        return Err(format!("HTTP {}", response.status()));
    }
    let body = response
        .body()
        .limit(MAX_JWKS_BYTES)
        .await
        .map_err(|e| e.to_string())?;
    serde_json::from_slice(&body).map_err(|e| e.to_string())
}

/// The verified claims of the request's xsession; an actix extractor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Xsession(pub XsessionClaims);

/// Why a request was refused: the response carries no detail about the token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum XsessionRefusal {
    /// No token in the query, cookie or `Authorization` header: 401 with `WWW-Authenticate`.
    Missing,
    /// A token that does not verify, or that fedbridge revoked: 401.
    Invalid,
    /// Revocation could not be checked (fedbridge unreachable): 503, fail closed.
    Unavailable,
    /// No [`XsessionVerifier`] registered as `web::Data`: 500.
    NotConfigured,
}

impl fmt::Display for XsessionRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            XsessionRefusal::Missing | XsessionRefusal::Invalid => {
                f.write_str("authentication required")
            }
            XsessionRefusal::NotConfigured => f.write_str("internal server error"),
            XsessionRefusal::Unavailable => f.write_str("service unavailable, try again shortly"),
        }
    }
}

impl ResponseError for XsessionRefusal {
    fn status_code(&self) -> StatusCode {
        match self {
            XsessionRefusal::Missing | XsessionRefusal::Invalid => StatusCode::UNAUTHORIZED,
            XsessionRefusal::NotConfigured => StatusCode::INTERNAL_SERVER_ERROR,
            XsessionRefusal::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status_code());
        match self {
            XsessionRefusal::Missing => {
                response.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
            }
            XsessionRefusal::Invalid => {
                response
                    .insert_header((header::WWW_AUTHENTICATE, "Bearer error=\"invalid_token\""));
            }
            XsessionRefusal::NotConfigured => {}
            XsessionRefusal::Unavailable => {
                response.insert_header((header::RETRY_AFTER, "5"));
            }
        }
        response
            .content_type("text/plain; charset=utf-8")
            .body(self.to_string())
    }
}

/// The request's session token: the `xsession` cookie, then `Authorization: Bearer`. Empty
/// values count as absent. The link parameter is not a session: see [`handoff`].
pub fn token_from_request(req: &HttpRequest) -> Option<String> {
    cookie_token(req).or_else(|| bearer_token(req))
}

/// The `xsession` cookie's token.
pub fn cookie_token(req: &HttpRequest) -> Option<String> {
    req.cookie(TOKEN_NAME)
        .map(|c| c.value().to_owned())
        .filter(|t| !t.is_empty())
}

/// The `Authorization: Bearer` token.
pub fn bearer_token(req: &HttpRequest) -> Option<String> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_owned())
        .filter(|t| !t.is_empty())
}

/// A refusal of [`XsessionVerifier::check`] as the extractor answers it.
fn refusal(refused: &Refused) -> XsessionRefusal {
    tracing::debug!(error = %refused, "xsession refused");
    match refused {
        Refused::Unavailable(_) => XsessionRefusal::Unavailable,
        Refused::Invalid(_) | Refused::Revoked => XsessionRefusal::Invalid,
    }
}

impl FromRequest for Xsession {
    type Error = XsessionRefusal;
    type Future = Pin<Box<dyn Future<Output = Result<Xsession, XsessionRefusal>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let verifier = req.app_data::<web::Data<XsessionVerifier>>().cloned();
        let (cookie, bearer) = (cookie_token(req), bearer_token(req));
        Box::pin(async move {
            let Some(verifier) = verifier else {
                tracing::error!("no XsessionVerifier registered as web::Data");
                return Err(XsessionRefusal::NotConfigured);
            };
            let (token, other) = match (cookie, bearer) {
                (Some(cookie), bearer) => (cookie, bearer),
                (None, Some(bearer)) => (bearer, None),
                (None, None) => return Err(XsessionRefusal::Missing),
            };
            let claims = verifier.check(&token).await.map_err(|e| refusal(&e))?;
            // A cookie and a Bearer token of two different users: neither is believed.
            if let Some(other) = other.filter(|o| *o != token) {
                let second = verifier.check(&other).await.map_err(|e| refusal(&e))?;
                if second.sub != claims.sub {
                    return Err(XsessionRefusal::Invalid);
                }
            }
            Ok(Xsession(claims))
        })
    }
}

#[cfg(test)]
mod tests;
