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

use std::time::Instant;

use time::{Duration, OffsetDateTime};
use url::Url;

pub use self::error::{ErrorKind, LoginError, LoginReason, all_reason_codes};
use self::ledger::DatabaseLedger;
use crate::config::Config;
use crate::metrics::Metrics;
use crate::saml::authn_request::{AuthnRequest, RedirectSigAlg, new_request_id};
use crate::saml::keys::certificates;
use crate::saml::metadata::{SsoBinding, SsoEndpoint};
use crate::saml::{SamlAttribute, VerifiedAssertion};
use crate::saml::{TrustedIdp, decode_post_binding, validate_response};
pub use crate::store::Purpose;
use crate::store::{
    CompleteLoginError, DryRun, LoginAudit, LoginRecord, NewRequest, OutstandingRequest,
    SessionRecord, Store, SyncOutcome, UsedMessages,
};
use crate::sync::{Identity, SyncFlag, SyncPolicy, arrived};
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
    /// Where AuthnRequests go, and with which binding; `None` when the metadata offers no
    /// binding `FEDBRIDGE_AUTHN_REQUEST_BINDING` allows.
    pub sso: Option<SsoEndpoint>,
}

/// How the browser is sent to the IdP with the AuthnRequest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outbound {
    /// HTTP-Redirect: a 303 to this URL (the request in its query string).
    Redirect(String),
    /// HTTP-POST: a form the browser submits at once to `action`.
    Post {
        /// The IdP's SSO URL.
        action: String,
        /// The `SAMLRequest` field: the base64 of the (signed) request.
        saml_request: String,
        /// The `RelayState` field: the opaque handle.
        relay_state: String,
    },
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
    /// Where outcomes, validation times and the IdP's clock offset are counted.
    pub metrics: &'a Metrics,
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
/// RelayState handle, and returns how to send the browser to the IdP (HTTP-Redirect, or
/// HTTP-POST when the IdP offers only that or the settings say so; signed when fedbridge has a
/// key pair). A refusal is logged and audited under `correlation_id`.
pub fn begin(
    ctx: &LoginContext<'_>,
    target: Option<&str>,
    browser_secret: &str,
    correlation_id: &str,
) -> Result<Outbound, LoginError> {
    begin_for(ctx, Purpose::Login, target, browser_secret, correlation_id)
}

/// [`begin`] for `purpose`: a sign-in to the admin console (its answer also opens an admin
/// session) or a test login (its answer is shown, not applied).
pub fn begin_for(
    ctx: &LoginContext<'_>,
    purpose: Purpose,
    target: Option<&str>,
    browser_secret: &str,
    correlation_id: &str,
) -> Result<Outbound, LoginError> {
    run_begin(ctx, purpose, target, browser_secret).map_err(|error| {
        let failed = Failed {
            error,
            idp: None,
            login_name: None,
            dry_run: purpose == Purpose::Test,
        };
        audit_failure(ctx, &failed, correlation_id, &Progress::default());
        failed.error
    })
}

fn run_begin(
    ctx: &LoginContext<'_>,
    purpose: Purpose,
    target: Option<&str>,
    browser_secret: &str,
) -> Result<Outbound, LoginError> {
    let config = ctx.config;
    let idp = ctx.idp.ok_or(LoginError::IdpUnavailable)?;
    let sso = idp.sso.as_ref().ok_or(LoginError::NoSsoUrl)?;
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
    let binding = browser_binding(browser_secret);
    ctx.store.remember_request_for(
        &NewRequest {
            purpose,
            request_id: &request_id,
            relay_handle: &relay_handle,
            target: target.as_ref().map(Url::as_str),
            browser_binding: Some(&binding),
        },
        ctx.now,
        REQUEST_LIFETIME,
    )?;
    let request = AuthnRequest::new(
        &config.sp_entity_id,
        config.consumer_url.as_str(),
        &sso.url,
        ctx.now,
        request_id,
    );
    let internal = |e: &dyn std::fmt::Display| LoginError::Internal(e.to_string());
    match sso.binding {
        SsoBinding::Redirect => {
            let signing = config.sp_key_pair.as_ref().and_then(|pair| {
                let key = pair.private_key.private_key();
                RedirectSigAlg::for_key(key).map(|alg| (key, alg))
            });
            let url = request
                .redirect_url(&relay_handle, signing)
                .map_err(|e| internal(&e))?;
            Ok(Outbound::Redirect(url))
        }
        SsoBinding::Post => {
            let certificate = match &config.sp_key_pair {
                Some(pair) => certificates(&pair.certificate_pem)
                    .map_err(|e| internal(&e))?
                    .into_iter()
                    .next(),
                None => None,
            };
            let signing = config
                .sp_key_pair
                .as_ref()
                .zip(certificate.as_ref())
                .map(|(pair, certificate)| (pair.private_key.private_key(), certificate));
            let saml_request = request.post_value(signing).map_err(|e| internal(&e))?;
            Ok(Outbound::Post {
                action: sso.url.clone(),
                saml_request,
                relay_state: relay_handle,
            })
        }
    }
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

/// What a response that went through led to.
#[derive(Debug, Clone)]
#[expect(
    clippy::large_enum_variant,
    reason = "one per login, moved once to the handler; a boxed token would cost an allocation \
              on every login for nothing"
)]
pub enum Outcome {
    /// A login (of a person, or a sign-in to the admin console): the token and the landing.
    Login(Completed),
    /// A test login: what would have been done, nothing of it done.
    Test(Box<TestReport>),
}

/// A login that went through: the token and where to send the browser.
#[derive(Debug, Clone)]
pub struct Completed {
    /// The signed xsession.
    pub token: String,
    /// Its claims.
    pub claims: XsessionClaims,
    /// The target, with `?xsession=<token>` appended when it is a downstream origin (on
    /// fedbridge's own origin, the admin console included, the cookie carries the token).
    pub landing: Url,
    /// Why the request was sent ([`Purpose::Login`] for IdP-initiated logins).
    pub purpose: Purpose,
}

/// The result of a test login, shown to the administrator instead of applied.
#[derive(Debug, Clone)]
pub struct TestReport {
    /// The verified assertion's Issuer.
    pub issuer: String,
    /// Its NameID (`None`: the Subject has none; the login name is an attribute).
    pub name_id: Option<String>,
    /// The NameID Format, when given.
    pub name_id_format: Option<String>,
    /// Every attribute with every value.
    pub attributes: Vec<SamlAttribute>,
    /// The IdP's clock minus ours (seconds).
    pub clock_offset: Option<i64>,
    /// The profile the configuration maps from it.
    pub identity: Identity,
    /// What the sync would change (and the stored user before), or why the login would be
    /// refused after validation (a disabled user).
    pub dry_run: DryRun,
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
    /// It answered a test login of the admin console (the refusal is shown as its result).
    pub dry_run: bool,
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
#[expect(
    clippy::result_large_err,
    reason = "a failure carries what its audit row recorded; made once per refused login"
)]
pub fn complete(
    ctx: &LoginContext<'_>,
    posted: &PostedResponse<'_>,
    signing_key: &SigningKeyPair,
    attempt: Attempt,
    correlation_id: &str,
) -> Result<Outcome, Failed> {
    let mut progress = Progress::default();
    let result = run_complete(ctx, posted, signing_key, correlation_id, &mut progress);
    if let Err(LoginError::Rejected(rejection)) = &result {
        progress.clock_offset = rejection.clock_offset;
    }
    // The measurement is the IdP's, whatever the login was: a test counts too.
    if let Some(offset) = progress.clock_offset {
        ctx.metrics.record_clock_offset(offset);
    }
    match result {
        Ok(outcome) => {
            if matches!(outcome, Outcome::Login(_)) {
                ctx.metrics.count_login("accepted", None);
            }
            Ok(outcome)
        }
        // Not audited nor counted: the caller tries once more after a metadata refresh.
        Err(error) if attempt == Attempt::RetryOnUnknownKey && error.unknown_key() => Err(Failed {
            error,
            idp: progress.idp,
            login_name: progress.login_name,
            dry_run: progress.purpose == Some(Purpose::Test),
        }),
        Err(error) => {
            // Refused before the request was found: a test's RelayState still names it (only
            // looked up on this failure path, never on a success's).
            let dry_run = match progress.purpose {
                Some(purpose) => purpose == Purpose::Test,
                None => posted
                    .relay_state
                    .filter(|r| !r.is_empty())
                    .and_then(|relay| ctx.store.request_by_relay(relay, ctx.now).ok().flatten())
                    .is_some_and(|request| request.purpose() == Purpose::Test),
            };
            let failed = Failed {
                error,
                idp: progress.idp.take(),
                login_name: progress.login_name.take(),
                dry_run,
            };
            audit_failure(ctx, &failed, correlation_id, &progress);
            Err(failed)
        }
    }
}

/// How far a login got, for the audit row of a failure.
#[derive(Debug, Default)]
struct Progress {
    idp: Option<String>,
    login_name: Option<String>,
    clock_offset: Option<i64>,
    purpose: Option<Purpose>,
    attributes: Option<String>,
}

fn run_complete(
    ctx: &LoginContext<'_>,
    posted: &PostedResponse<'_>,
    signing_key: &SigningKeyPair,
    correlation_id: &str,
    progress: &mut Progress,
) -> Result<Outcome, LoginError> {
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
    let started = Instant::now();
    let validated = validate_response(&xml, &sp, &idp.idp, &mut ledger, ctx.now);
    ctx.metrics.validation.observe(started.elapsed());
    let assertion = validated?;
    if let Some(issued) = assertion.issue_instant() {
        progress.clock_offset = Some((issued - ctx.now).whole_seconds());
    }
    let used = ledger.into_used();
    progress.idp = Some(assertion.issuer().to_owned());
    progress.purpose = Some(
        used.request
            .as_ref()
            .map_or(Purpose::Login, OutstandingRequest::purpose),
    );
    progress.attributes = serde_json::to_string(&arrived(
        assertion.attributes(),
        &config.attributes,
        config.user_id_attribute.as_deref(),
    ))
    .ok();
    let finished = finish(
        ctx,
        posted,
        &assertion,
        &used,
        signing_key,
        correlation_id,
        progress,
    );
    let dry_run = progress.purpose == Some(Purpose::Test);
    if let Err(error) = &finished
        && !matches!(error, LoginError::ClaimLost(_) | LoginError::Database(_))
        && !dry_run
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
) -> Result<Outcome, LoginError> {
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
    let policy = SyncPolicy::of(config);
    let purpose = progress.purpose.unwrap_or(Purpose::Login);
    if purpose == Purpose::Test {
        return dry_run(
            ctx,
            assertion,
            used,
            identity,
            &policy,
            correlation_id,
            progress,
        );
    }
    let internal = |e: &dyn std::fmt::Display| LoginError::Internal(e.to_string());
    let session_id = crate::ids::random_id().map_err(|e| internal(&e))?;
    let issuance = Issuance::new(ctx.now, config.xsession.lifetime).map_err(|e| internal(&e))?;
    let outcome = ctx
        .store
        .complete_login(&LoginRecord {
            used,
            identity: &identity,
            policy: &policy,
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
                flags: None,
                dry_run: false,
                clock_offset: progress.clock_offset,
                attributes: progress.attributes.as_deref(),
                changes: None,
                client: ctx.client,
            },
        })
        .map_err(|e| match e {
            CompleteLoginError::ClaimLost(lost) => LoginError::ClaimLost(lost),
            CompleteLoginError::UserDisabled => LoginError::UserDisabled,
            CompleteLoginError::Refused(refusal) => LoginError::Account(refusal),
            CompleteLoginError::Store(e) => e.into(),
        })?;
    report_sync(&outcome, correlation_id);
    // The claims are made after the transaction, from the groups it left, and signed outside
    // it, so the database's write lock is not held for the signature.
    // The token describes the user as stored: its login name is the spelling stored first, and
    // its name and e-mail stay known when this assertion left them out.
    let user = outcome.user;
    let claims = issuance.claims(&ClaimsInput {
        issuer: config.issuer(),
        audience: config.xsession.audience.clone(),
        subject: user.login_name,
        name: user.full_name,
        email: user.email,
        groups: outcome.groups.into_iter().collect(),
        session_id,
    });
    let token = sign(&claims, signing_key).map_err(|e| internal(&e))?;
    // On our own origin (the admin console, fedbridge's own pages) the cookie carries the
    // session: the token never enters our address bar.
    let own_origin = target.origin() == config.consumer_url.url().origin();
    let landing = if purpose == Purpose::Admin || own_origin {
        target
    } else {
        with_token(target, &token)
    };
    Ok(Outcome::Login(Completed {
        token,
        claims,
        landing,
        purpose,
    }))
}

/// A test login after validation: uses up the single-use messages (as any answered request),
/// plans the sync without writing it, and writes the one audit row, marked as a test. No user,
/// membership, xsession or revocation is written.
fn dry_run(
    ctx: &LoginContext<'_>,
    assertion: &VerifiedAssertion,
    used: &UsedMessages,
    identity: Identity,
    policy: &SyncPolicy,
    correlation_id: &str,
    progress: &Progress,
) -> Result<Outcome, LoginError> {
    match ctx.store.use_up(used, ctx.now)? {
        Ok(()) => {}
        Err(lost) => return Err(LoginError::ClaimLost(lost)),
    }
    let planned = ctx.store.plan_login(&identity, policy)??;
    if planned.disabled {
        return Err(LoginError::UserDisabled);
    }
    let changes = serde_json::to_string(&planned.plan).ok();
    let flags = planned.plan.flags_column();
    let audit = LoginAudit {
        at: ctx.now.unix_timestamp(),
        outcome: "accepted",
        reason_code: None,
        detail: Some("test login from the admin console: shown, not applied"),
        idp: Some(assertion.issuer()),
        login_name: Some(&identity.login_name),
        correlation_id,
        flags: flags.as_deref(),
        dry_run: true,
        clock_offset: progress.clock_offset,
        attributes: progress.attributes.as_deref(),
        client: ctx.client,
        changes: changes.as_deref(),
    };
    ctx.store.audit_login(&audit)?;
    tracing::info!(
        correlation_id,
        login_name = %identity.login_name,
        "test login: would be accepted (nothing applied)"
    );
    Ok(Outcome::Test(Box::new(TestReport {
        issuer: assertion.issuer().to_owned(),
        name_id: assertion.name_id().map(str::to_owned),
        name_id_format: assertion.name_id_format().map(str::to_owned),
        attributes: assertion.attributes().to_vec(),
        clock_offset: progress.clock_offset,
        identity,
        dry_run: planned,
    })))
}

/// Logs what the sync held or reported: a hold (memberships left as they were) at warn, once
/// per login, unknown groups at info. The audit row has the same flags and detail.
fn report_sync(outcome: &SyncOutcome, correlation_id: &str) {
    let flags = outcome.plan.flags();
    if flags.is_empty() {
        return;
    }
    let codes: Vec<&str> = flags.iter().map(|f| f.code()).collect();
    let detail = outcome.plan.report().unwrap_or_default();
    let login_name = outcome.user.login_name.as_str();
    if flags.iter().any(|f| f.is_hold()) {
        tracing::warn!(correlation_id, login_name, flags = %codes.join(","), detail = %detail, "group memberships held");
    } else if flags.contains(&SyncFlag::UnknownGroups) {
        tracing::info!(correlation_id, login_name, flags = %codes.join(","), detail = %detail, "unknown groups ignored");
    }
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
fn audit_failure(
    ctx: &LoginContext<'_>,
    failed: &Failed,
    correlation_id: &str,
    progress: &Progress,
) {
    if !failed.dry_run {
        ctx.metrics
            .count_login(failed.error.outcome(), Some(failed.error.code()));
    }
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
        flags: None,
        dry_run: failed.dry_run,
        clock_offset: progress.clock_offset,
        attributes: progress.attributes.as_deref(),
        changes: None,
        client: ctx.client,
    };
    tracing::warn!(
        correlation_id,
        reason = failed.error.code(),
        detail = ?detail,
        idp = failed.idp.as_deref().unwrap_or("-"),
        login_name = failed.login_name.as_deref().unwrap_or("-"),
        clock_offset = progress.clock_offset,
        test = failed.dry_run,
        "login refused"
    );
    if let Err(error) = ctx.store.audit_login(&audit) {
        tracing::error!(correlation_id, error = %error, "cannot write the login audit row");
    }
}

#[cfg(test)]
mod tests;
