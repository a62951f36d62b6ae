//! Revocation for downstream apps: fedbridge's introspection endpoint (RFC 7662) asked about a
//! token's `jti`, the answer cached.
//!
//! - **Staleness**: a token revoked at *t* (logout, a user disabled, groups taken away) is
//!   refused by every downstream node by *t* + [`IntrospectionConfig::ttl`] (10 s by default)
//!   plus one request's latency: an `active` answer is cached for the TTL, an `inactive` one
//!   until the token expires (revocation is final).
//! - **Cost**: at most one introspection per distinct active token, downstream node and TTL,
//!   only for tokens whose signature verified (garbage never costs a call): 10,000 active
//!   users on 2 nodes with 10 s is at most 2,000 requests a second to fedbridge, each a primary
//!   key lookup, and usually far fewer.
//! - **Fail closed**: when fedbridge cannot be asked (down, timing out, refusing the client
//!   secret), an uncached token is refused as unavailable (503), never accepted unchecked.
//!
//! A revocation feed (the revoked `jti`s since a cursor) would cost fedbridge less with many
//! users; it is not built.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use actix_web::http::header;
use time::OffsetDateTime;

use crate::token::XsessionClaims;

/// How a verifier asks fedbridge whether tokens are still honoured.
#[derive(Clone)]
pub struct IntrospectionConfig {
    /// fedbridge's `{origin}/api/xsession/introspect`.
    pub url: String,
    /// `FEDBRIDGE_INTROSPECTION_SECRET`, sent as `Authorization: Bearer`, when fedbridge has one.
    pub client_secret: Option<String>,
    /// How long an `active` answer is trusted: the longest a revoked token stays accepted.
    pub ttl: Duration,
    /// Most answers cached (the oldest go first).
    pub max_entries: usize,
    /// Time limit of one introspection request.
    pub timeout: Duration,
}

impl std::fmt::Debug for IntrospectionConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IntrospectionConfig")
            .field("url", &self.url)
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

impl IntrospectionConfig {
    /// Introspection at `url` with the defaults: no client secret, a 10 s TTL, 10,000 cached
    /// answers, a 3 s time limit.
    pub fn new(url: impl Into<String>) -> IntrospectionConfig {
        IntrospectionConfig {
            url: url.into(),
            client_secret: None,
            ttl: DEFAULT_TTL,
            max_entries: 10_000,
            timeout: Duration::from_secs(3),
        }
    }
}

/// How long an `active` answer is trusted by default: the documented staleness window.
pub const DEFAULT_TTL: Duration = Duration::from_secs(10);

/// The answers, by `jti`: active or not, and until when that holds.
#[derive(Debug, Default)]
pub(crate) struct Answers {
    entries: Mutex<HashMap<String, (bool, Instant)>>,
}

impl Answers {
    /// The cached answer for `jti` at `now`, if still valid.
    pub(crate) fn get(&self, jti: &str, now: Instant) -> Option<bool> {
        let entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        entries
            .get(jti)
            .filter(|(_, until)| *until > now)
            .map(|(active, _)| *active)
    }

    /// Keeps `active` for `jti` until `until`; beyond `max` entries, expired ones and then the
    /// ones closest to their end go.
    pub(crate) fn put(&self, jti: &str, active: bool, until: Instant, max: usize, now: Instant) {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        if entries.len() >= max {
            entries.retain(|_, (_, end)| *end > now);
        }
        while entries.len() >= max.max(1) {
            let first = entries
                .iter()
                .min_by_key(|(_, (_, end))| *end)
                .map(|(k, _)| k.clone());
            match first {
                Some(key) => entries.remove(&key),
                None => break,
            };
        }
        entries.insert(jti.to_owned(), (active, until));
    }
}

/// How long an answer about `claims` holds from `now`: `active` for the TTL (never past the
/// token's expiry), `inactive` until the token expires.
pub(crate) fn answer_lifetime(
    claims: &XsessionClaims,
    active: bool,
    ttl: Duration,
    wall_now: OffsetDateTime,
) -> Duration {
    let left = (claims.exp - wall_now.unix_timestamp())
        .max(0)
        .unsigned_abs();
    let left = Duration::from_secs(left);
    if active { ttl.min(left) } else { left }
}

/// Asks fedbridge about `token`: `Ok(active)`, or why it could not.
pub(crate) async fn ask(config: &IntrospectionConfig, token: &str) -> Result<bool, String> {
    let client = awc::Client::builder()
        .timeout(config.timeout)
        .disable_redirects()
        .finish();
    let mut request = client
        .post(&config.url)
        .insert_header((header::ACCEPT, "application/json"));
    if let Some(secret) = &config.client_secret {
        request = request.insert_header((header::AUTHORIZATION, format!("Bearer {secret}")));
    }
    let mut response = request
        .send_form(&[("token", token)])
        .await
        .map_err(|e| format!("introspection failed: {e}"))?;
    if !response.status().is_success() {
        return Err(format!("introspection answered HTTP {}", response.status()));
    }
    let body = response
        .body()
        .limit(256 * 1024)
        .await
        .map_err(|e| format!("introspection answer unreadable: {e}"))?;
    let answer: serde_json::Value =
        serde_json::from_slice(&body).map_err(|e| format!("introspection answer: {e}"))?;
    answer["active"]
        .as_bool()
        .ok_or_else(|| "the introspection answer has no boolean \"active\"".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_expire_and_the_cache_stays_bounded() {
        let answers = Answers::default();
        let t0 = Instant::now();
        answers.put("a", true, t0 + Duration::from_secs(10), 2, t0);
        answers.put("b", false, t0 + Duration::from_secs(100), 2, t0);
        assert_eq!(answers.get("a", t0), Some(true));
        assert_eq!(answers.get("a", t0 + Duration::from_secs(10)), None);
        answers.put("c", true, t0 + Duration::from_secs(20), 2, t0);
        assert_eq!(answers.get("a", t0), None, "the closest to its end went");
        assert_eq!(answers.get("b", t0), Some(false));
        assert_eq!(answers.get("c", t0), Some(true));
    }
}
