//! The login flow (SPEC.md section 2), between the browser-facing handlers and the parts that do
//! the work: [`begin`] sends the browser to the IdP, [`complete`] turns the IdP's response into a
//! user, memberships and an xsession.
//!
//! No HTTP here: the web layer extracts the inputs, calls one function and maps the result (or
//! the [`LoginError`]) to a response. Time comes in as an argument; the state every node shares
//! (outstanding requests, RelayState handles, the replay cache, users, tokens, the audit trail)
//! goes through the [`Store`].

mod error;
mod ledger;

use time::{Duration, OffsetDateTime};
use url::Url;

pub use self::error::{ErrorKind, LoginError, LoginReason};
use self::ledger::DatabaseLedger;
use crate::config::Config;
use crate::saml::VerifiedAssertion;
use crate::saml::authn_request::{AuthnRequest, RedirectSigAlg, new_request_id};
use crate::saml::{TrustedIdp, decode_post_binding, validate_response};
use crate::store::{
    CompleteLoginError, LoginAudit, LoginRecord, OutstandingRequest, SessionRecord, Store,
    UsedMessages,
};
use crate::sync::Identity;
use crate::token::{ClaimsInput, Issuance, SigningKeyPair, TOKEN_NAME, XsessionClaims, sign};

/// The longest `RelayState` taken (SAML bindings 3.4.3 allows 80 bytes; ours are 22).
pub const MAX_RELAY_STATE: usize = 1024;

/// How long an AuthnRequest may be answered: long enough for a person to type a password and
/// pass a second factor, short enough that a stale tab cannot finish a login.
pub const REQUEST_LIFETIME: Duration = Duration::minutes(10);

/// The IdP fedbridge trusts now, from either configuration scenario.
#[derive(Debug, Clone)]
pub struct IdpTrust {
    /// The expected Issuer and the signing keys.
    pub idp: TrustedIdp,
    /// Where AuthnRequests go (HTTP-Redirect binding); `None` when the metadata names none.
    pub sso_url: Option<String>,
}

/// What one login works with: the configuration in service, the IdP it trusts, the database,
/// the time, who sent the request and where refusals without a SAML message are counted.
#[derive(Clone, Copy)]
pub struct LoginContext<'a> {
    /// The settings.
    pub config: &'a Config,
    /// The trusted IdP; `None` while it is not known (metadata not fetched yet).
    pub idp: Option<&'a IdpTrust>,
    /// The database.
    pub store: &'a Store,
    /// Now.
    pub now: OffsetDateTime,
    /// The client (an IP address or IPv6 /64), for the audit.
    pub client: Option<&'a str>,
    /// Where refusals that carry no SAML message go ([`LoginError::counted`]).
    pub refusals: &'a dyn RefusalSink,
}

impl std::fmt::Debug for LoginContext<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginContext")
            .field("now", &self.now)
            .field("client", &self.client)
            .finish_non_exhaustive()
    }
}

/// A refused request that carries no SAML message (garbage, an empty or oversized post, a
/// target not allowed...): anyone can send millions, so they are counted per minute, client and
/// reason ([`RefusalSink`]) rather than written one audit row each.
#[derive(Debug, Clone, Copy)]
pub struct Refusal<'a> {
    /// When.
    pub at: OffsetDateTime,
    /// Who sent it.
    pub client: Option<&'a str>,
    /// The reason code.
    pub reason_code: &'static str,
    /// The detail, for the administrator.
    pub detail: &'a str,
    /// The correlation ID shown to the person, if any.
    pub correlation_id: Option<&'a str>,
}

/// Counts [`Refusal`]s (the web layer's aggregator writes them to `login_audit` in batches).
pub trait RefusalSink: Send + Sync {
    /// Counts one refusal.
    fn refused(&self, refusal: &Refusal<'_>);
}

/// Starts an SP-initiated login that ends at `target` (absolute, or relative to our origin;
/// `None`: the default landing page), in the browser that holds the login cookie whose secret
/// is `browser_secret`: remembers a fresh request bound to that browser and an opaque
/// RelayState handle, and returns the IdP URL to redirect the browser to (HTTP-Redirect binding,
/// signed when fedbridge has a key pair). A refusal is logged and audited under
/// `correlation_id`.
pub fn begin(
    ctx: &LoginContext<'_>,
    target: Option<&str>,
    browser_secret: &str,
    correlation_id: &str,
) -> Result<String, LoginError> {
    run_begin(ctx, target, browser_secret).map_err(|error| {
        let failed = Failed {
            error,
            idp: None,
            login_name: None,
        };
        audit_failure(ctx, &failed, correlation_id);
        failed.error
    })
}

fn run_begin(
    ctx: &LoginContext<'_>,
    target: Option<&str>,
    browser_secret: &str,
) -> Result<String, LoginError> {
    let config = ctx.config;
    let idp = ctx.idp.ok_or(LoginError::IdpUnavailable)?;
    let sso_url = idp.sso_url.as_deref().ok_or(LoginError::NoSsoUrl)?;
    let target = match target.filter(|t| !t.is_empty()) {
        Some(target) => Some(
            config
                .allowed_target(target)
                .ok_or(LoginError::TargetNotAllowed)?,
        ),
        None => None,
    };
    let request_id = new_request_id().map_err(|e| LoginError::Internal(e.to_string()))?;
    let relay_handle = crate::ids::random_id().map_err(|e| LoginError::Internal(e.to_string()))?;
    ctx.store.remember_request(
        &request_id,
        &relay_handle,
        target.as_ref().map(Url::as_str),
        Some(&browser_binding(browser_secret)),
        ctx.now,
        REQUEST_LIFETIME,
    )?;
    let request = AuthnRequest::new(
        &config.sp_entity_id,
        config.consumer_url.as_str(),
        sso_url,
        ctx.now,
        request_id,
    );
    let signing = config.sp_key_pair.as_ref().and_then(|pair| {
        let key = pair.private_key.private_key();
        RedirectSigAlg::for_key(key).map(|alg| (key, alg))
    });
    request
        .redirect_url(&relay_handle, signing)
        .map_err(|e| LoginError::Internal(e.to_string()))
}

/// What the IdP posted to the ACS.
#[derive(Debug, Clone, Copy)]
pub struct PostedResponse<'a> {
    /// The `SAMLResponse` form field, as posted (base64); `None` when absent.
    pub saml_response: Option<&'a [u8]>,
    /// The `RelayState` form field, when present.
    pub relay_state: Option<&'a str>,
    /// The secret of the posting browser's login cookie, when it sent one.
    pub browser_secret: Option<&'a str>,
}

/// A login that went through: the token and where to send the browser.
#[derive(Debug, Clone)]
pub struct Completed {
    /// The signed xsession.
    pub token: String,
    /// Its claims.
    pub claims: XsessionClaims,
    /// The target, with `?xsession=<token>` appended when it is a downstream origin (on
    /// fedbridge's own origin the cookie carries the token).
    pub landing: Url,
}

/// A login that did not go through, with what the audit row recorded about it.
#[derive(Debug)]
pub struct Failed {
    /// Why.
    pub error: LoginError,
    /// The IdP (the assertion's Issuer), when it got that far.
    pub idp: Option<String>,
    /// The login name, when it got that far.
    pub login_name: Option<String>,
}

/// Whether a failure of [`complete`] is final.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attempt {
    /// Audited, whatever the failure.
    Final,
    /// A signature by a key the trusted IdP does not hold ([`LoginError::unknown_key`]) is
    /// returned unaudited: the caller may fetch the IdP's metadata again (a key rollover) and
    /// try once more with [`Attempt::Final`]. Nothing was written: the ledger only reads until
    /// every check passed.
    RetryOnUnknownKey,
}

/// Completes a login from what the IdP posted: validates the response (SPEC section 4, with
/// the replay cache and outstanding requests in the database), takes the identity (section
/// 5), syncs the user and records the session in one transaction (section 6), then makes the
/// xsession from what the sync left and signs it with `signing_key` (section 7), and finds the
/// landing page. Writes the audit row either way (see [`Attempt`]), under `correlation_id`.
pub fn complete(
    ctx: &LoginContext<'_>,
    posted: &PostedResponse<'_>,
    signing_key: &SigningKeyPair,
    attempt: Attempt,
    correlation_id: &str,
) -> Result<Completed, Failed> {
    let mut progress = Progress::default();
    let result = run_complete(ctx, posted, signing_key, correlation_id, &mut progress);
    match result {
        Ok(completed) => Ok(completed),
        Err(error) if attempt == Attempt::RetryOnUnknownKey && error.unknown_key() => Err(Failed {
            error,
            idp: progress.idp,
            login_name: progress.login_name,
        }),
        Err(error) => {
            let failed = Failed {
                error,
                idp: progress.idp,
                login_name: progress.login_name,
            };
            audit_failure(ctx, &failed, correlation_id);
            Err(failed)
        }
    }
}

/// How far a login got, for the audit row of a failure.
#[derive(Debug, Default)]
struct Progress {
    idp: Option<String>,
    login_name: Option<String>,
}

fn run_complete(
    ctx: &LoginContext<'_>,
    posted: &PostedResponse<'_>,
    signing_key: &SigningKeyPair,
    correlation_id: &str,
    progress: &mut Progress,
) -> Result<Completed, LoginError> {
    let config = ctx.config;
    let idp = ctx.idp.ok_or(LoginError::IdpUnavailable)?;
    let sp = config.sp_settings();
    let encoded = posted.saml_response.ok_or(LoginError::NoSamlResponse)?;
    if posted
        .relay_state
        .is_some_and(|r| r.len() > MAX_RELAY_STATE)
    {
        return Err(LoginError::RelayStateTooLong);
    }
    let xml = decode_post_binding(encoded, sp.max_response_bytes)?;
    let mut ledger = DatabaseLedger::new(ctx.store, ctx.now);
    let assertion = validate_response(&xml, &sp, &idp.idp, &mut ledger, ctx.now)?;
    let used = ledger.into_used();
    progress.idp = Some(assertion.issuer().to_owned());
    let finished = finish(
        ctx,
        posted,
        &assertion,
        &used,
        signing_key,
        correlation_id,
        progress,
    );
    if let Err(error) = &finished
        && !matches!(error, LoginError::ClaimLost(_) | LoginError::Database(_))
    {
        // Validated but not completed: the assertion is used and the request answered all
        // the same, so the same response cannot be tried again.
        if let Err(e) = ctx.store.use_up(&used, ctx.now)
            && crate::logdedup::check(&format!("use_up:{}", e.kind())).is_some()
        {
            tracing::error!(correlation_id, error = %e, "cannot record the used assertion");
        }
    }
    finished
}

/// The steps after validation: landing page, identity, the login's one transaction, and the
/// token made from what it left.
fn finish(
    ctx: &LoginContext<'_>,
    posted: &PostedResponse<'_>,
    assertion: &VerifiedAssertion,
    used: &UsedMessages,
    signing_key: &SigningKeyPair,
    correlation_id: &str,
    progress: &mut Progress,
) -> Result<Completed, LoginError> {
    let config = ctx.config;
    if let Some(request) = &used.request {
        check_browser(request, posted.browser_secret)?;
    }
    let target = landing_target(config, used.request.as_ref(), posted.relay_state)?;
    let identity = Identity::from_assertion(
        assertion,
        &config.attributes,
        config.user_id_attribute.as_deref(),
    )?;
    progress.login_name = Some(identity.login_name.clone());
    let internal = |e: &dyn std::fmt::Display| LoginError::Internal(e.to_string());
    let session_id = crate::ids::random_id().map_err(|e| internal(&e))?;
    let issuance = Issuance::new(ctx.now, config.xsession.lifetime).map_err(|e| internal(&e))?;
    let outcome = ctx
        .store
        .complete_login(&LoginRecord {
            used,
            identity: &identity,
            managed: &config.managed_groups,
            create_missing_groups: config.create_missing_groups,
            session: SessionRecord {
                jti: &issuance.jti,
                sid: &session_id,
                expires_at: issuance.expires_at,
            },
            audit: LoginAudit {
                at: ctx.now.unix_timestamp(),
                outcome: "accepted",
                reason_code: None,
                detail: None,
                idp: Some(assertion.issuer()),
                login_name: Some(&identity.login_name),
                correlation_id,
                client: ctx.client,
            },
        })
        .map_err(|e| match e {
            CompleteLoginError::ClaimLost(lost) => LoginError::ClaimLost(lost),
            CompleteLoginError::UserDisabled => LoginError::UserDisabled,
            CompleteLoginError::Store(e) => e.into(),
        })?;
    // The claims are made after the transaction, from the groups it left, and signed outside
    // it, so the database's write lock is not held for the signature.
    let claims = issuance.claims(&ClaimsInput {
        issuer: config.issuer(),
        audience: config.xsession.audience.clone(),
        subject: identity.login_name,
        name: identity.full_name,
        email: identity.email,
        groups: outcome.groups.into_iter().collect(),
        session_id,
    });
    let token = sign(&claims, signing_key).map_err(|e| internal(&e))?;
    // On our own origin the cookie carries the session: the token never enters our address bar.
    let landing = if target.origin() == config.consumer_url.url().origin() {
        target
    } else {
        with_token(target, &token)
    };
    Ok(Completed {
        token,
        claims,
        landing,
    })
}

/// The browser binding stored with a request: SHA-256 of the login cookie's secret, hex.
pub fn browser_binding(secret: &str) -> String {
    openssl::sha::sha256(secret.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A solicited response is completed only by the browser that started the login (login CSRF:
/// otherwise an attacker's own response, posted from the victim's browser by a cross-site form,
/// would sign the victim in as the attacker). Compared in constant time.
fn check_browser(request: &OutstandingRequest, secret: Option<&str>) -> Result<(), LoginError> {
    let Some(secret) = secret else {
        return Err(LoginError::BrowserBindingMissing);
    };
    let Some(expected) = request.browser_binding.as_deref() else {
        return Err(LoginError::BrowserBindingMismatch(
            "the request was remembered before logins were bound to their browser",
        ));
    };
    let given = browser_binding(secret);
    if given.len() == expected.len() && openssl::memcmp::eq(given.as_bytes(), expected.as_bytes()) {
        Ok(())
    } else {
        Err(LoginError::BrowserBindingMismatch(
            "the login cookie is not the one of the browser that started the login",
        ))
    }
}

/// Where a login ends. Solicited: the target stored with the request (checked when the login
/// began), after checking that `RelayState`, when the IdP sent one back, is the request's own
/// handle. Unsolicited: `RelayState` when it names an allowed target, else the default.
fn landing_target(
    config: &Config,
    taken: Option<&OutstandingRequest>,
    relay_state: Option<&str>,
) -> Result<Url, LoginError> {
    let relay_state = relay_state.filter(|r| !r.is_empty());
    match taken {
        Some(request) => {
            if relay_state.is_some_and(|r| r != request.relay_handle) {
                return Err(LoginError::RelayStateMismatch);
            }
            match request
                .target
                .as_deref()
                .and_then(|t| config.allowed_target(t))
            {
                Some(url) => Ok(url),
                None => default_landing(config),
            }
        }
        // An IdP may send anything as RelayState; only a URL (absolute, or a path on our
        // origin) that is allowed is followed.
        None => match relay_state
            .filter(|r| looks_like_url(r))
            .and_then(|r| config.allowed_target(r))
        {
            Some(url) => Ok(url),
            None => default_landing(config),
        },
    }
}

/// Whether an IdP's RelayState is meant as a URL: absolute http(s), or a path on our origin.
fn looks_like_url(relay_state: &str) -> bool {
    relay_state.starts_with("https://")
        || relay_state.starts_with("http://")
        || (relay_state.starts_with('/') && !relay_state.starts_with("//"))
}

/// The page a login without a target ends at: the first allowed downstream URL, else our own
/// login page (which then says who is signed in).
pub fn default_landing(config: &Config) -> Result<Url, LoginError> {
    let first = config
        .allowed_downstream
        .first()
        .map(String::as_str)
        .unwrap_or("/");
    config.allowed_target(first).ok_or_else(|| {
        LoginError::Internal(format!("the default landing page {first} is not allowed"))
    })
}

/// `target` with `xsession=<token>` in its query (replacing any `xsession` there already).
fn with_token(mut target: Url, token: &str) -> Url {
    let kept: Vec<(String, String)> = target
        .query_pairs()
        .filter(|(name, _)| name != TOKEN_NAME)
        .map(|(n, v)| (n.into_owned(), v.into_owned()))
        .collect();
    {
        let mut query = target.query_pairs_mut();
        query.clear();
        for (name, value) in &kept {
            query.append_pair(name, value);
        }
        query.append_pair(TOKEN_NAME, token);
    }
    target
}

/// Writes the audit row of a failed login (or counts it, when it carried no SAML message: see
/// [`LoginError::counted`]); a failure to write it is logged (the login has failed anyway, and
/// the log line carries the same facts).
fn audit_failure(ctx: &LoginContext<'_>, failed: &Failed, correlation_id: &str) {
    let detail = failed.error.to_string();
    if failed.error.counted() {
        ctx.refusals.refused(&Refusal {
            at: ctx.now,
            client: ctx.client,
            reason_code: failed.error.code(),
            detail: &detail,
            correlation_id: Some(correlation_id),
        });
        return;
    }
    let audit = LoginAudit {
        at: ctx.now.unix_timestamp(),
        outcome: failed.error.outcome(),
        reason_code: Some(failed.error.code()),
        detail: Some(&detail),
        idp: failed.idp.as_deref(),
        login_name: failed.login_name.as_deref(),
        correlation_id,
        client: ctx.client,
    };
    tracing::warn!(
        correlation_id,
        reason = failed.error.code(),
        detail = ?detail,
        idp = failed.idp.as_deref().unwrap_or("-"),
        login_name = failed.login_name.as_deref().unwrap_or("-"),
        "login refused"
    );
    if let Err(error) = ctx.store.audit_login(&audit) {
        tracing::error!(correlation_id, error = %error, "cannot write the login audit row");
    }
}

#[cfg(test)]
mod tests;
