//! For downstream applications written in Rust (HTTP, so outside [`crate::token`]): an actix-web extractor that accepts the xsession
//! and verifies it against fedbridge's JWKS.
//!
//! Register an [`XsessionVerifier`] as `web::Data` and take [`Xsession`] as a handler argument.
//! The token is read from, in order: the `xsession` query parameter (the link style), the
//! `xsession` cookie, and `Authorization: Bearer <token>`. Verification itself is
//! [`crate::token::verify`]; this module only finds the token and keeps the keys.
//!
//! The JWKS is fetched with awc on first use and again when a token names an unknown `kid` (key
//! rotation), at most once per [`REFETCH_INTERVAL_SECONDS`]; when a fetch fails the last good set
//! stays in use. awc is not `Send`: verify on the actix runtime.

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
        }
    }

    /// Verifies `token`: with the cached keys, refetching the JWKS once (rate-limited) when the
    /// token names a key the cache does not hold.
    pub async fn verify(&self, token: &str) -> Result<XsessionClaims, TokenError> {
        let url = match &self.source {
            KeySource::Fixed(keys) => return self.check(token, keys),
            KeySource::Url(url) => url,
        };
        let keys = match self.cached() {
            Some(keys) => keys,
            None => self.refresh(url).await.unwrap_or_default(),
        };
        match self.check(token, &keys) {
            Err(TokenError::UnknownKeyId(kid)) => match self.refresh(url).await {
                Some(fresh) if !Arc::ptr_eq(&fresh, &keys) => self.check(token, &fresh),
                _ => Err(TokenError::UnknownKeyId(kid)),
            },
            other => other,
        }
    }

    fn check(&self, token: &str, keys: &JwkSet) -> Result<XsessionClaims, TokenError> {
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
    /// A token that does not verify: 401.
    Invalid,
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
        }
    }
}

impl ResponseError for XsessionRefusal {
    fn status_code(&self) -> StatusCode {
        match self {
            XsessionRefusal::Missing | XsessionRefusal::Invalid => StatusCode::UNAUTHORIZED,
            XsessionRefusal::NotConfigured => StatusCode::INTERNAL_SERVER_ERROR,
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
        }
        response
            .content_type("text/plain; charset=utf-8")
            .body(self.to_string())
    }
}

/// The request's token: query parameter, then cookie, then `Authorization: Bearer`. Empty values
/// count as absent.
pub fn token_from_request(req: &HttpRequest) -> Option<String> {
    let from_query = url::form_urlencoded::parse(req.query_string().as_bytes())
        .find(|(name, _)| name == TOKEN_NAME)
        .map(|(_, value)| value.into_owned());
    let from_cookie = || req.cookie(TOKEN_NAME).map(|c| c.value().to_owned());
    let from_header = || {
        let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
        let (scheme, token) = value.split_once(' ')?;
        scheme
            .eq_ignore_ascii_case("bearer")
            .then(|| token.trim().to_owned())
    };
    from_query
        .filter(|t| !t.is_empty())
        .or_else(|| from_cookie().filter(|t| !t.is_empty()))
        .or_else(|| from_header().filter(|t| !t.is_empty()))
}

impl FromRequest for Xsession {
    type Error = XsessionRefusal;
    type Future = Pin<Box<dyn Future<Output = Result<Xsession, XsessionRefusal>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let verifier = req.app_data::<web::Data<XsessionVerifier>>().cloned();
        let token = token_from_request(req);
        Box::pin(async move {
            let Some(verifier) = verifier else {
                tracing::error!("no XsessionVerifier registered as web::Data");
                return Err(XsessionRefusal::NotConfigured);
            };
            let token = token.ok_or(XsessionRefusal::Missing)?;
            verifier.verify(&token).await.map(Xsession).map_err(|e| {
                tracing::debug!(error = %e, "xsession refused");
                XsessionRefusal::Invalid
            })
        })
    }
}

#[cfg(test)]
mod tests;
