//! Issuing and verifying xsession tokens, and the JWKS that publishes the verification keys.
//!
//! [`verify`] holds every validation setting in one place: the algorithm is pinned to the key's
//! own algorithm (found by `kid`; the header's `alg` must agree and never chooses), `iss` and
//! `aud` are required and compared, `exp`, `nbf`, `iat`, `sub` must be present, and `exp`/`nbf`
//! are checked against the injected `now` with [`LEEWAY_SECONDS`] of tolerance for clock skew
//! between fedbridge nodes and downstream applications.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::jwk::{Jwk, JwkSet, KeyAlgorithm};
use jsonwebtoken::{DecodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use time::{Duration, OffsetDateTime};

use super::keys::{Algorithm, PublicKey, SigningKeyPair};

/// Clock skew tolerated on `exp` and `nbf`, in seconds: 30 s, small against any useful token
/// lifetime and large enough for nodes kept in time by NTP.
pub const LEEWAY_SECONDS: i64 = 30;

/// The name of the query parameter (the link hand-off) and of the cookie that carry the token.
pub const TOKEN_NAME: &str = "xsession";

/// The claims of an xsession (SPEC.md section 7).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct XsessionClaims {
    /// Issuer: fedbridge's own URL.
    pub iss: String,
    /// Audience: the downstream applications' audience setting.
    pub aud: String,
    /// The user's login name.
    pub sub: String,
    /// Full name, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// E-mail address, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Every group of the user after sync.
    pub groups: Vec<String>,
    /// Issued at (epoch seconds).
    pub iat: i64,
    /// Not before (epoch seconds).
    pub nbf: i64,
    /// Expires at (epoch seconds).
    pub exp: i64,
    /// Token id: 128 random bits, base64url; the key of the revocation list.
    pub jti: String,
    /// The login session this token belongs to.
    pub sid: String,
}

/// What the caller decides about a token; an [`Issuance`] adds the times and the `jti`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimsInput {
    /// `iss`.
    pub issuer: String,
    /// `aud`.
    pub audience: String,
    /// `sub`: the login name.
    pub subject: String,
    /// `name`.
    pub name: Option<String>,
    /// `email`.
    pub email: Option<String>,
    /// `groups`.
    pub groups: Vec<String>,
    /// `sid`.
    pub session_id: String,
}

/// Why a token was not issued or not accepted. Each attack of the tests has its own variant.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Not three base64url parts with a JSON header and payload.
    #[error("the token is malformed: {0}")]
    Malformed(String),
    /// The header's `alg` is not one fedbridge signs with (`none`, `HS256`, ...).
    #[error("the token's algorithm {0:?} is not accepted")]
    AlgorithmNotAllowed(String),
    /// The header has no `kid`.
    #[error("the token has no key id")]
    MissingKeyId,
    /// No published key has the header's `kid`.
    #[error("the token's key id {0:?} is not a published key")]
    UnknownKeyId(String),
    /// The header's `alg` differs from the algorithm of the key it names.
    #[error("the token says {header} but its key is {key}")]
    AlgorithmMismatch {
        /// The header's `alg`.
        header: String,
        /// The key's algorithm.
        key: String,
    },
    /// The published key cannot be used (no or a foreign `alg`, bad parameters).
    #[error("the verification key is unusable: {0}")]
    UnusableKey(String),
    /// The signature does not verify (tampered token or wrong key).
    #[error("the token's signature is invalid")]
    BadSignature,
    /// `iss` is not the expected issuer.
    #[error("the token was issued by someone else")]
    WrongIssuer,
    /// `aud` is not the expected audience.
    #[error("the token is meant for another audience")]
    WrongAudience,
    /// A required claim is absent or has the wrong type.
    #[error("the token lacks the claim {0}")]
    MissingClaim(String),
    /// `exp` (plus leeway) is in the past.
    #[error("the token has expired")]
    Expired,
    /// `nbf` (minus leeway) is in the future.
    #[error("the token is not valid yet")]
    NotYetValid,
    /// Signing failed.
    #[error("cannot sign the token: {0}")]
    Signing(String),
}

/// Signs an xsession for `input` with `key`: `iat` = `nbf` = `now`, `exp` = `now + lifetime`, a
/// fresh random `jti`, and the key's `kid` in the header.
pub fn issue(
    input: &ClaimsInput,
    key: &SigningKeyPair,
    now: OffsetDateTime,
    lifetime: Duration,
) -> Result<String, TokenError> {
    sign(&Issuance::new(now, lifetime)?.claims(input), key)
}

/// A token's id and validity, fixed before its claims are known: a login records them with
/// the user in its transaction and makes the claims from what the transaction left.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issuance {
    /// `jti`: 128 random bits, base64url.
    pub jti: String,
    /// `iat` and `nbf` (epoch seconds).
    pub issued_at: i64,
    /// `exp` (epoch seconds).
    pub expires_at: i64,
}

impl Issuance {
    /// A token issued at `now` that expires after `lifetime`, with a fresh random `jti`.
    pub fn new(now: OffsetDateTime, lifetime: Duration) -> Result<Issuance, TokenError> {
        let issued_at = now.unix_timestamp();
        Ok(Issuance {
            jti: crate::ids::random_id().map_err(|e| TokenError::Signing(e.to_string()))?,
            issued_at,
            expires_at: issued_at.saturating_add(lifetime.whole_seconds()),
        })
    }

    /// The claims of this token for `input`. Sign them with [`sign`].
    pub fn claims(&self, input: &ClaimsInput) -> XsessionClaims {
        XsessionClaims {
            iss: input.issuer.clone(),
            aud: input.audience.clone(),
            sub: input.subject.clone(),
            name: input.name.clone(),
            email: input.email.clone(),
            groups: input.groups.clone(),
            iat: self.issued_at,
            nbf: self.issued_at,
            exp: self.expires_at,
            jti: self.jti.clone(),
            sid: input.session_id.clone(),
        }
    }
}

/// Signs `claims` with `key`, its `kid` in the header.
pub fn sign(claims: &XsessionClaims, key: &SigningKeyPair) -> Result<String, TokenError> {
    let mut header = Header::new(key.algorithm().jwt());
    header.kid = Some(key.kid().to_owned());
    jsonwebtoken::encode(&header, claims, key.encoding_key())
        .map_err(|e| TokenError::Signing(e.to_string()))
}

/// Verifies `token` against the published `keys` for `issuer` and `audience` at `now`. Every
/// validation setting is here; see the module documentation.
pub fn verify(
    token: &str,
    keys: &JwkSet,
    issuer: &str,
    audience: &str,
    now: OffsetDateTime,
) -> Result<XsessionClaims, TokenError> {
    let (alg, kid) = read_header(token)?;
    let header_algorithm =
        Algorithm::from_name(&alg).ok_or_else(|| TokenError::AlgorithmNotAllowed(alg.clone()))?;
    let kid = kid.ok_or(TokenError::MissingKeyId)?;
    let jwk = keys
        .find(&kid)
        .ok_or_else(|| TokenError::UnknownKeyId(kid.clone()))?;
    let key_algorithm = jwk_algorithm(jwk)?;
    if key_algorithm != header_algorithm {
        return Err(TokenError::AlgorithmMismatch {
            header: alg,
            key: key_algorithm.as_str().to_owned(),
        });
    }
    let decoding =
        DecodingKey::from_jwk(jwk).map_err(|e| TokenError::UnusableKey(e.to_string()))?;

    // Pinned to the key's algorithm; time is checked below against the injected `now`, because
    // jsonwebtoken would read the system clock.
    let mut validation = Validation::new(key_algorithm.jwt());
    validation.required_spec_claims = ["exp", "nbf", "iss", "aud", "sub"]
        .into_iter()
        .map(str::to_owned)
        .collect::<HashSet<_>>();
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.leeway = 0;
    validation.validate_aud = true;
    validation.set_audience(&[audience]);
    validation.set_issuer(&[issuer]);

    let claims = jsonwebtoken::decode::<XsessionClaims>(token, &decoding, &validation)
        .map_err(|e| map_error(e.kind()))?
        .claims;
    let now = now.unix_timestamp();
    if claims.exp.saturating_add(LEEWAY_SECONDS) <= now {
        return Err(TokenError::Expired);
    }
    if claims.nbf.saturating_sub(LEEWAY_SECONDS) > now {
        return Err(TokenError::NotYetValid);
    }
    Ok(claims)
}

/// The JWKS document for `keys` (publish current and retired-but-unexpired keys).
pub fn jwks(keys: &[PublicKey]) -> JwkSet {
    JwkSet {
        keys: keys.iter().map(|k| k.jwk.clone()).collect(),
    }
}

/// The header's `alg` and `kid`, read without trusting anything else in the token.
fn read_header(token: &str) -> Result<(String, Option<String>), TokenError> {
    #[derive(Deserialize)]
    struct RawHeader {
        alg: Option<String>,
        kid: Option<String>,
    }
    let mut parts = token.split('.');
    let (Some(header), Some(_), Some(_), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(TokenError::Malformed(
            "not three dot-separated parts".into(),
        ));
    };
    let bytes = URL_SAFE_NO_PAD
        .decode(header)
        .map_err(|e| TokenError::Malformed(format!("header: {e}")))?;
    let raw: RawHeader = serde_json::from_slice(&bytes)
        .map_err(|e| TokenError::Malformed(format!("header: {e}")))?;
    let alg = raw
        .alg
        .ok_or_else(|| TokenError::Malformed("header without alg".into()))?;
    Ok((alg, raw.kid))
}

/// The algorithm a published key is for: its `alg` member, which fedbridge always sets.
fn jwk_algorithm(jwk: &Jwk) -> Result<Algorithm, TokenError> {
    match jwk.common.key_algorithm {
        Some(KeyAlgorithm::ES256) => Ok(Algorithm::Es256),
        Some(KeyAlgorithm::RS256) => Ok(Algorithm::Rs256),
        Some(KeyAlgorithm::EdDSA) => Ok(Algorithm::EdDsa),
        Some(other) => Err(TokenError::UnusableKey(format!(
            "key algorithm {other:?} is not accepted"
        ))),
        None => Err(TokenError::UnusableKey("the key has no alg".into())),
    }
}

fn map_error(kind: &ErrorKind) -> TokenError {
    match kind {
        ErrorKind::InvalidSignature => TokenError::BadSignature,
        ErrorKind::InvalidIssuer => TokenError::WrongIssuer,
        ErrorKind::InvalidAudience => TokenError::WrongAudience,
        ErrorKind::MissingRequiredClaim(claim) => TokenError::MissingClaim(claim.clone()),
        ErrorKind::InvalidClaimFormat(claim) => TokenError::MissingClaim(claim.clone()),
        ErrorKind::ExpiredSignature => TokenError::Expired,
        ErrorKind::ImmatureSignature => TokenError::NotYetValid,
        ErrorKind::InvalidAlgorithm | ErrorKind::MissingAlgorithm => {
            TokenError::AlgorithmNotAllowed(String::new())
        }
        ErrorKind::InvalidEcdsaKey
        | ErrorKind::InvalidEddsaKey
        | ErrorKind::InvalidRsaKey(_)
        | ErrorKind::InvalidKeyFormat => TokenError::UnusableKey(format!("{kind:?}")),
        ErrorKind::Json(e) => TokenError::MissingClaim(e.to_string()),
        other => TokenError::Malformed(format!("{other:?}")),
    }
}

#[cfg(test)]
mod tests;
