//! The handlers of the login flow and of the xsession: thin, each extracts its inputs, calls
//! one function of [`crate::login`] or [`crate::token`] on the blocking pool (the database is
//! synchronous), and maps the result.

use std::sync::Arc;
use std::time::Instant;

use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};
use base64::Engine as _;
use serde::Deserialize;

use crate::config::Config;
use crate::config::IdpSource;
use crate::downstream::handoff;
use crate::login::{
    self, Attempt, ErrorKind, Failed, LoginContext, Outbound, Outcome, PostedResponse, Purpose,
    Refusal, RefusalSink as _,
};
use crate::token::{TOKEN_NAME, XsessionClaims, jwks};
use crate::web::admin;
use crate::web::edge::{self, Class, ClientKey, EdgeRefusal};
use crate::web::error::WebError;
use crate::web::idp;
use crate::web::pages;
use crate::web::state::{ActiveConfig, AppState, Configured};
use crate::web::telemetry::CorrelationId;

/// The query of `/` and `/saml/login`.
#[derive(Debug, Deserialize)]
pub struct TargetQuery {
    /// Where the login should end.
    target: Option<String>,
    /// Present on the page a logout lands on ([`SIGNED_OUT_LANDING`]).
    signed_out: Option<String>,
}

/// Where a logout lands without `FEDBRIDGE_EXIT_URL`: the login page, told not to send the
/// browser straight back to the IdP (with `SAML_AUTOMATIC_LOGIN=1` and the IdP's own session
/// still open, that would sign the person in again at once: a logout that does nothing).
pub const SIGNED_OUT_LANDING: &str = "/?signed_out=1";

/// `GET /`: the login page, or straight to the IdP with `SAML_AUTOMATIC_LOGIN=1`, unless the
/// browser is signed in already and asks for no target: `/` is where a login without a target
/// lands, so sending it back to the IdP would loop. A token in the address (`?xsession=`) is
/// never taken in: 303 to the same address without it, so it leaves the address bar and the
/// history (fedbridge's own pages use the cookie it set).
pub async fn login_page(
    state: web::Data<AppState>,
    Configured(active): Configured,
    query: web::Query<TargetQuery>,
    req: HttpRequest,
) -> HttpResponse {
    if handoff::link_token(&req).is_some() {
        return see_other(&handoff::without_token(&req)).finish();
    }
    let query = query.into_inner();
    let signed_out = query.signed_out.is_some();
    let target = query.target.filter(|t| !t.is_empty());
    let signed_in = signed_in(&state, &active, &req).await;
    if active.config.automatic_login && !signed_out && (signed_in.is_none() || target.is_some()) {
        let mut location = String::from("/saml/login");
        if let Some(target) = &target {
            location.push_str("?target=");
            location.extend(url::form_urlencoded::byte_serialize(target.as_bytes()));
        }
        return see_other(&location).finish();
    }
    let name = signed_in.map(|claims| claims.name.unwrap_or(claims.sub));
    pages::html(
        HttpResponse::Ok(),
        pages::login_page(
            target.as_deref(),
            name.as_deref(),
            signed_out,
            active.config.product_name.as_deref(),
        ),
    )
}

/// `GET /saml/login?target=`, and `GET` of the consumer URL (seed 004's Azure AD Sign-on URL):
/// remembers the request and sends the browser to the IdP.
pub async fn start_login(
    state: web::Data<AppState>,
    Configured(active): Configured,
    query: web::Query<TargetQuery>,
    req: HttpRequest,
    CorrelationId(correlation_id): CorrelationId,
) -> Result<HttpResponse, WebError> {
    let target = query.into_inner().target;
    to_idp(state, active, &req, Purpose::Login, target, correlation_id).await
}

/// Starts a login for `purpose` (a person's, the admin console's sign-in, a test login) in the
/// browser of `req`: 303 to the IdP with the AuthnRequest (or the page that posts it), the
/// login cookie set, or the refusal page. Each client may start `FEDBRIDGE_RATE_LIMIT_LOGIN`
/// logins (429 beyond), and no more than `FEDBRIDGE_MAX_OUTSTANDING_REQUESTS` may wait for the
/// IdP at once (503 beyond).
pub async fn to_idp(
    state: web::Data<AppState>,
    active: Arc<ActiveConfig>,
    req: &HttpRequest,
    purpose: Purpose,
    target: Option<String>,
    correlation_id: String,
) -> Result<HttpResponse, WebError> {
    let edge_settings = &active.config.edge;
    let client = edge::client_of(req, edge_settings);
    state
        .edge()
        .limiter
        .take(
            Class::Login,
            client,
            edge_settings.rate_limit_login,
            Instant::now(),
        )
        .and_then(|()| {
            state
                .edge()
                .admit_outstanding(edge_settings.max_outstanding_requests)
        })
        .map_err(|refusal| refused_at_edge(&state, client, refusal))?;
    let cid = correlation_id.clone();
    // One secret per browser: a login cookie already there is reused, so that logins started
    // in several tabs all stay completable.
    let secret = match login_secret(req, &active.config) {
        Some(secret) => secret,
        None => crate::ids::random_secret()
            .map_err(|e| WebError::Internal(format!("cannot make a login cookie: {e}")))?,
    };
    let cookie = login_cookie(&active.config, secret.clone());
    let outcome = web::block(move || {
        let idp = state.idp_trust();
        let client = client.to_string();
        let ctx = LoginContext {
            config: &active.config,
            idp: idp.as_ref(),
            store: state.store(),
            now: state.now(),
            metrics: state.metrics(),
            client: Some(&client),
            refusals: state.refusals(),
        };
        login::begin_for(&ctx, purpose, target.as_deref(), &secret, &cid)
    })
    .await?;
    match outcome {
        Ok(Outbound::Redirect(location)) => Ok(see_other(&location).cookie(cookie).finish()),
        Ok(Outbound::Post {
            action,
            saml_request,
            relay_state,
        }) => {
            let mut page = pages::auto_post(
                &action,
                &[("SAMLRequest", &saml_request), ("RelayState", &relay_state)],
            );
            page.add_cookie(&cookie)
                .map_err(|e| WebError::Internal(format!("cannot set the login cookie: {e}")))?;
            Ok(page)
        }
        Err(error) => Err(WebError::Login {
            error,
            correlation_id,
        }),
    }
}

/// `POST` at the path of `SAML_CONSUMER_URL`: the assertion consumer service. Success: 303 to
/// the landing page with `?xsession=` and the `xsession` cookie.
///
/// The edge comes first (`web::edge`): a form with a Content-Length under the cap, a token of
/// the client's bucket of refused posts (given back when the login succeeds or fails for our
/// reasons), room in the body budget, the whole body before the deadline, a validation slot.
pub async fn assertion_consumer(
    state: web::Data<AppState>,
    Configured(active): Configured,
    req: HttpRequest,
    mut payload: web::Payload,
    CorrelationId(correlation_id): CorrelationId,
) -> Result<HttpResponse, WebError> {
    let started = Instant::now();
    let config = &active.config;
    let client = edge::client_of(&req, &config.edge);
    let limit = config.edge.rate_limit_acs;
    let refused = |refusal| refused_at_edge(&state, client, refusal);
    edge::form_length(&req, config.acs_body_cap()).map_err(refused)?;
    state
        .edge()
        .limiter
        .take(Class::Acs, client, limit, started)
        .map_err(refused)?;
    let (body, permit) = state
        .edge()
        .read_form(
            &req,
            &mut payload,
            client,
            config.acs_body_cap(),
            &config.edge,
            started,
        )
        .await
        .map_err(refused)?;
    let form = AcsForm::parse(&body);
    drop(body);
    let secret = login_secret(&req, config);
    let solicited = form
        .saml_response
        .as_deref()
        .is_some_and(|encoded| answers_a_request(encoded, config.max_response_bytes));
    if secret.is_none() && !form.hop && solicited {
        // No login cookie: the IdP's cross-site POST did not carry it (SameSite=Lax over http,
        // or a browser that drops SameSite=None). Post the same form again from our own origin.
        // Not a refusal: every login of such a browser takes this hop, so it costs the client
        // no token (the body was read within the edge's limits; the hop validates nothing).
        state.edge().limiter.refund(Class::Acs, client, limit);
        return Ok(same_site_hop(config, &form));
    }
    let wait = config.database_wait.unsigned_abs();
    let slot = state.edge().validation_slot(wait).await.map_err(refused)?;
    let posted = Posted {
        form: Arc::new(form),
        secret,
        client: client.to_string(),
        correlation_id: correlation_id.clone(),
    };
    // In the metadata scenario, a signature by a key the metadata does not hold (the IdP rolled
    // its key over) asks for an early refresh, and the login is tried once more with the
    // keys it brought: the first attempt is then not audited.
    let may_refresh = matches!(active.config.idp, IdpSource::Metadata { .. })
        && state.early_refresh_possible(idp::EARLY_REFRESH_INTERVAL);
    let first = if may_refresh {
        Attempt::RetryOnUnknownKey
    } else {
        Attempt::Final
    };
    let mut outcome = complete_on_pool(&state, &active, &posted, first).await?;
    if first == Attempt::RetryOnUnknownKey
        && matches!(&outcome.0, Err(failed) if failed.error.unknown_key())
    {
        if let Some(mut done) = state.request_refresh(idp::EARLY_REFRESH_INTERVAL) {
            let _ = actix_web::rt::time::timeout(idp::EARLY_REFRESH_WAIT, done.changed()).await;
        }
        outcome = complete_on_pool(&state, &active, &posted, Attempt::Final).await?;
    }
    drop((slot, permit));
    // A refused post counts against the client; a login, or a failure of ours, does not.
    let counts = matches!(&outcome.0, Err(failed)
        if matches!(failed.error.kind(), ErrorKind::Refused | ErrorKind::Forbidden));
    if !counts {
        state.edge().limiter.refund(Class::Acs, client, limit);
    }
    let answer = match outcome {
        (Ok(Outcome::Login(completed)), admin_cookie) => {
            tracing::info!(
                correlation_id,
                login_name = ?completed.claims.sub,
                groups = completed.claims.groups.len(),
                purpose = completed.purpose.as_str(),
                "login accepted"
            );
            let cookie = session_cookie(&active.config, completed.token);
            let mut response = see_other(completed.landing.as_str());
            response.cookie(cookie);
            if let Some(admin_cookie) = admin_cookie {
                response.cookie(admin_cookie);
            }
            Ok(response.finish())
        }
        (Ok(Outcome::Test(report)), _) => Ok(pages::html(
            HttpResponse::Ok(),
            admin::view::test_result(&report, &correlation_id),
        )),
        (Err(failed), _) if failed.dry_run => Ok(pages::html(
            HttpResponse::Ok(),
            admin::view::test_refused(failed.error.code(), &correlation_id),
        )),
        (Err(failed), _) => Err(WebError::Login {
            error: failed.error,
            correlation_id,
        }),
    };
    state.metrics().login.observe(started.elapsed());
    answer
}

/// What one attempt at the ACS led to, and the admin session's cookie when it was a sign-in to
/// the admin console.
type AcsOutcome = (Result<Outcome, Failed>, Option<Cookie<'static>>);

/// What the ACS hands to the blocking pool, kept for a second attempt.
struct Posted {
    form: Arc<AcsForm>,
    secret: Option<String>,
    client: String,
    correlation_id: String,
}

/// One attempt of `login::complete` on the blocking pool.
async fn complete_on_pool(
    state: &web::Data<AppState>,
    active: &Arc<ActiveConfig>,
    posted: &Posted,
    attempt: Attempt,
) -> Result<AcsOutcome, WebError> {
    let (worker, config) = (state.clone(), active.clone());
    let (form, secret, client, cid) = (
        posted.form.clone(),
        posted.secret.clone(),
        posted.client.clone(),
        posted.correlation_id.clone(),
    );
    web::block(move || -> Result<_, WebError> {
        // Cached by the state (re-read once a minute), so cheap for every post.
        let signing_key = worker
            .signing_key(config.config.xsession.algorithm)
            .map_err(|e| {
                WebError::Internal(format!("cannot read the xsession signing key: {e}"))
            })?;
        let posted = PostedResponse {
            saml_response: form.saml_response.as_deref().map(str::as_bytes),
            relay_state: form.relay_state.as_deref(),
            browser_secret: secret.as_deref(),
        };
        let idp = worker.idp_trust();
        let ctx = LoginContext {
            config: &config.config,
            idp: idp.as_ref(),
            store: worker.store(),
            now: worker.now(),
            metrics: worker.metrics(),
            client: Some(&client),
            refusals: worker.refusals(),
        };
        let outcome = login::complete(&ctx, &posted, &signing_key, attempt, &cid);
        // A sign-in to the admin console opens its session here (blocking: a write).
        let admin_cookie = match &outcome {
            Ok(Outcome::Login(done)) if done.purpose == Purpose::Admin => {
                Some(admin::open_session(
                    &worker,
                    &config.config,
                    &done.claims.jti,
                    &done.claims.sub,
                    done.claims.exp,
                )?)
            }
            _ => None,
        };
        Ok((outcome, admin_cookie))
    })
    .await?
}

/// `GET /logout`: changes nothing (a link or an image on any site could point here). Shows
/// who is signed in and a form that POSTs `/logout` with this session's logout token; without
/// a valid session, says so and links to `FEDBRIDGE_EXIT_URL`.
pub async fn logout_page(
    state: web::Data<AppState>,
    Configured(active): Configured,
    req: HttpRequest,
) -> HttpResponse {
    let body = match signed_in(&state, &active, &req).await {
        Some(claims) => pages::logout_confirmation(
            claims.name.as_deref().unwrap_or(&claims.sub),
            &logout_token(&claims.jti),
        ),
        None => pages::not_signed_in(exit_url(&active.config)),
    };
    pages::html(HttpResponse::Ok(), body)
}

/// `POST /logout` (a form): revokes, clears the cookie and goes to `FEDBRIDGE_EXIT_URL`.
/// Revoked is the token in the form field `xsession` (holding it is the authority: a
/// downstream app may post its user's token from anywhere), else the cookie's token, but only
/// for a request from our own pages: `Sec-Fetch-Site: same-origin`, or the form's
/// `logout_token` of that very session (browsers without Fetch metadata). A cross-site POST
/// with only the cookie is refused with 403 (logout CSRF).
pub async fn logout(
    state: web::Data<AppState>,
    Configured(active): Configured,
    req: HttpRequest,
    mut payload: web::Payload,
) -> Result<HttpResponse, WebError> {
    let started = Instant::now();
    let client = edge::client_of(&req, &active.config.edge);
    let (body, _permit) = state
        .edge()
        .read_form(
            &req,
            &mut payload,
            client,
            LOGOUT_BODY_CAP,
            &active.config.edge,
            started,
        )
        .await
        .map_err(|refusal| refused_at_edge(&state, client, refusal))?;
    let field = |wanted: &str| {
        url::form_urlencoded::parse(&body)
            .find(|(name, _)| name == wanted)
            .map(|(_, value)| value.into_owned())
            .filter(|v| !v.is_empty())
    };
    let (token, proof) = match field(TOKEN_NAME) {
        Some(token) => (token, Proof::Holder),
        None => {
            let Some(cookie) = req.cookie(TOKEN_NAME) else {
                return Ok(logout_done(&active.config));
            };
            let same_origin = req
                .headers()
                .get("sec-fetch-site")
                .is_some_and(|v| v.as_bytes() == b"same-origin");
            let proof = match (same_origin, field("logout_token")) {
                (true, _) => Proof::SameOrigin,
                (false, Some(given)) => Proof::LogoutToken(given),
                (false, None) => return Err(WebError::Forbidden),
            };
            (cookie.value().to_owned(), proof)
        }
    };
    let config = active.clone();
    web::block(move || -> Result<(), WebError> {
        let Ok(claims) = verified(&state, &config.config, &token) else {
            return Ok(()); // nothing to revoke; the cookie goes anyway
        };
        if let Proof::LogoutToken(given) = &proof {
            let expected = logout_token(&claims.jti);
            if given.len() != expected.len()
                || !openssl::memcmp::eq(given.as_bytes(), expected.as_bytes())
            {
                return Err(WebError::Forbidden);
            }
        }
        let expires = time::OffsetDateTime::from_unix_timestamp(claims.exp)
            .map_err(|e| WebError::Internal(e.to_string()))?;
        state.store().revoke(&claims.jti, expires)?;
        tracing::info!(login_name = ?claims.sub, sid = %claims.sid, "logged out");
        Ok(())
    })
    .await??;
    Ok(logout_done(&active.config))
}

/// The largest logout form (a token, a logout token).
const LOGOUT_BODY_CAP: usize = 16 * 1024;

/// What allows a logout POST to revoke a token.
#[derive(Debug)]
enum Proof {
    /// The token came in the form: its holder asks.
    Holder,
    /// The cookie's token, from our own origin (Fetch metadata).
    SameOrigin,
    /// The cookie's token, with this logout token from our confirmation page.
    LogoutToken(String),
}

/// The logout token of the session `jti`: what our confirmation page posts, which another site
/// cannot know (base64url of SHA-256 of a label and the jti; the jti never leaves the token).
fn logout_token(jti: &str) -> String {
    use base64::Engine as _;
    let mut input = b"fedbridge-logout\0".to_vec();
    input.extend_from_slice(jti.as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(openssl::sha::sha256(&input))
}

/// `FEDBRIDGE_EXIT_URL`, or our login page.
fn exit_url(config: &Config) -> &str {
    config
        .exit_url
        .as_ref()
        .map_or(SIGNED_OUT_LANDING, |url| url.as_str())
}

/// 303 to the exit URL, the cookie removed.
fn logout_done(config: &Config) -> HttpResponse {
    let mut removal = Cookie::build(TOKEN_NAME, "").path("/").finish();
    removal.make_removal();
    see_other(exit_url(config)).cookie(removal).finish()
}

/// `GET /.well-known/jwks.json`: every public key whose tokens may still be valid.
pub async fn jwks_document(
    state: web::Data<AppState>,
    Configured(active): Configured,
) -> Result<HttpResponse, WebError> {
    let lifetime = active.config.xsession.lifetime;
    let algorithm = active.config.xsession.algorithm;
    let keys = web::block(move || -> Result<_, WebError> {
        // The active key exists before it is published, so a downstream app that fetches the
        // JWKS before the first login can still verify that login's token.
        state
            .signing_key(algorithm)
            .map_err(|e| WebError::Internal(e.to_string()))?;
        state
            .store()
            .public_keys(state.now(), lifetime)
            .map_err(|e| WebError::Internal(e.to_string()))
    })
    .await??;
    Ok(HttpResponse::Ok()
        .insert_header((
            header::CACHE_CONTROL,
            HeaderValue::from_static("public, max-age=300"),
        ))
        .json(jwks(&keys)))
}

/// `POST /api/xsession/introspect` (RFC 7662): form field `token`; answers `{"active": false}`
/// for anything not valid now (bad signature, expired, foreign, revoked, its user disabled),
/// else `active` with
/// the claims. With `FEDBRIDGE_INTROSPECTION_SECRET` set, the client authenticates with HTTP
/// Basic (any client id, the secret as password) or `Authorization: Bearer <secret>`.
pub async fn introspect(
    state: web::Data<AppState>,
    Configured(active): Configured,
    req: HttpRequest,
    mut payload: web::Payload,
) -> Result<HttpResponse, WebError> {
    let started = Instant::now();
    if let Some(secret) = &active.config.introspection_secret
        && !client_secret(&req).is_some_and(|given| secret.matches(&given))
    {
        return Err(WebError::Unauthorized);
    }
    let client = edge::client_of(&req, &active.config.edge);
    let (form, _permit) = state
        .edge()
        .read_form(
            &req,
            &mut payload,
            client,
            edge::INTROSPECTION_BODY_CAP,
            &active.config.edge,
            started,
        )
        .await
        .map_err(|refusal| refused_at_edge(&state, client, refusal))?;
    let token = url::form_urlencoded::parse(&form)
        .find(|(name, _)| name == "token")
        .map(|(_, value)| value.into_owned());
    let answer = match token {
        None => serde_json::json!({ "active": false }),
        Some(token) => {
            let config = active.clone();
            let claims = web::block(move || -> Result<_, WebError> {
                let Ok(claims) = verified(&state, &config.config, &token) else {
                    return Ok(None);
                };
                Ok(state.store().session_active(&claims.jti)?.then_some(claims))
            })
            .await??;
            match claims {
                Some(claims) => active_answer(&claims),
                None => serde_json::json!({ "active": false }),
            }
        }
    };
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, HeaderValue::from_static("no-store")))
        .json(answer))
}

/// Counts an edge refusal (no SAML message was read: see `web::refusals`) and makes it the
/// answer.
fn refused_at_edge(state: &AppState, client: ClientKey, refusal: EdgeRefusal) -> WebError {
    let client = client.to_string();
    let detail = refusal.to_string();
    state.refusals().refused(&Refusal {
        at: state.now(),
        client: Some(&client),
        reason_code: refusal.reason().code(),
        detail: &detail,
        correlation_id: None,
    });
    WebError::Edge(refusal)
}

/// The RFC 7662 answer for a valid token: `active`, the registered names and every claim.
fn active_answer(claims: &XsessionClaims) -> serde_json::Value {
    let mut answer = serde_json::to_value(claims).unwrap_or_default();
    if let Some(object) = answer.as_object_mut() {
        object.insert("active".into(), true.into());
        object.insert("username".into(), claims.sub.clone().into());
        object.insert("token_type".into(), "xsession".into());
    }
    answer
}

/// The client secret of an introspection request: the Basic password or the Bearer token.
fn client_secret(req: &HttpRequest) -> Option<String> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, credentials) = value.split_once(' ')?;
    if scheme.eq_ignore_ascii_case("bearer") {
        return Some(credentials.trim().to_owned());
    }
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(credentials.trim())
        .ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    decoded
        .split_once(':')
        .map(|(_, password)| password.to_owned())
}

/// Verifies `token` against the keys published now, for this configuration's issuer and
/// audience. Blocking (reads the keys).
fn verified(state: &AppState, config: &Config, token: &str) -> Result<XsessionClaims, WebError> {
    let now = state.now();
    let keys = state
        .store()
        .public_keys(now, config.xsession.lifetime)
        .map_err(|e| WebError::Internal(e.to_string()))?;
    crate::token::verify(
        token,
        &jwks(&keys),
        &config.issuer(),
        &config.xsession.audience,
        now,
    )
    .map_err(|_| WebError::Unauthorized)
}

/// The claims of the browser's `xsession` cookie when its token is valid and honoured now
/// (fedbridge's own pages: never the address, never a Bearer header).
async fn signed_in(
    state: &web::Data<AppState>,
    active: &Arc<ActiveConfig>,
    req: &HttpRequest,
) -> Option<XsessionClaims> {
    let token = req.cookie(TOKEN_NAME)?.value().to_owned();
    let (state, config) = (state.clone(), active.clone());
    web::block(move || verified_active(&state, &config.config, &token))
        .await
        .ok()
        .and_then(Result::ok)
}

/// [`verified`], and honoured now (not revoked, its user not disabled): what fedbridge's own
/// pages ask before they say who is signed in.
fn verified_active(
    state: &AppState,
    config: &Config,
    token: &str,
) -> Result<XsessionClaims, WebError> {
    let claims = verified(state, config, token)?;
    if state.store().session_active(&claims.jti)? {
        Ok(claims)
    } else {
        Err(WebError::Unauthorized)
    }
}

/// The `xsession` cookie: for every path of our origin, never readable by scripts, sent on
/// top-level navigations from other sites (the IdP's POST is followed by a redirect), `Secure`
/// when fedbridge is reached over https; it lives as long as the token.
fn session_cookie(config: &Config, token: String) -> Cookie<'static> {
    Cookie::build(TOKEN_NAME, token)
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(config.is_https())
        .max_age(config.xsession.lifetime)
        .finish()
}

/// A 303 to `location` that no cache keeps.
fn see_other(location: &str) -> actix_web::HttpResponseBuilder {
    let mut response = HttpResponse::SeeOther();
    response
        .insert_header((header::LOCATION, location))
        .insert_header((header::CACHE_CONTROL, HeaderValue::from_static("no-store")));
    response
}

/// The form fields the ACS reads (`application/x-www-form-urlencoded`); other fields are
/// ignored, a repeated field counts once (the first).
#[derive(Debug, Default)]
struct AcsForm {
    saml_response: Option<String>,
    relay_state: Option<String>,
    /// Posted by our own hop page (`fedbridge_hop=1`).
    hop: bool,
}

impl AcsForm {
    fn parse(body: &[u8]) -> AcsForm {
        let mut form = AcsForm::default();
        for (name, value) in url::form_urlencoded::parse(body) {
            match name.as_ref() {
                "SAMLResponse" if form.saml_response.is_none() => {
                    form.saml_response = Some(value.into_owned());
                }
                "RelayState" if form.relay_state.is_none() => {
                    form.relay_state = Some(value.into_owned());
                }
                HOP_FIELD => form.hop = true,
                _ => {}
            }
        }
        form
    }
}

/// Whether a posted `SAMLResponse` answers a request (`InResponseTo` anywhere in it): only such
/// a response is bound to the browser that started the login, so only it needs the login
/// cookie and the hop that brings it. An unsolicited (IdP-initiated) response goes straight on.
/// A wrong guess costs nothing: a solicited response that took no hop is refused as
/// `browser_binding_missing`, an unsolicited one that took a hop completes after it.
fn answers_a_request(encoded: &str, max_bytes: usize) -> bool {
    crate::saml::decode_post_binding(encoded.as_bytes(), max_bytes)
        .is_ok_and(|xml| memchr::memmem::find(&xml, b"InResponseTo").is_some())
}

/// The form field our hop page adds: its POST is not answered with another hop.
const HOP_FIELD: &str = "fedbridge_hop";

/// The login cookie over https: `__Host-` (Secure, `Path=/`, no Domain) keeps a sibling
/// subdomain from planting one.
pub const LOGIN_COOKIE_HTTPS: &str = "__Host-fedbridge-login";
/// The login cookie over plain http (loopback, development).
pub const LOGIN_COOKIE_HTTP: &str = "fedbridge-login";

fn login_cookie_name(config: &Config) -> &'static str {
    if config.is_https() {
        LOGIN_COOKIE_HTTPS
    } else {
        LOGIN_COOKIE_HTTP
    }
}

/// The secret of the browser's login cookie, when it holds a well-formed one.
fn login_secret(req: &HttpRequest, config: &Config) -> Option<String> {
    let cookie = req.cookie(login_cookie_name(config))?;
    let value = cookie.value();
    let well_formed = value.len() == 43
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    well_formed.then(|| value.to_owned())
}

/// The login cookie: binds the logins this browser starts to it (its hash is stored with each
/// request; the ACS compares). Never readable by scripts, for the request's lifetime. Over
/// https `SameSite=None` (with `Secure`), so it rides the IdP's cross-site POST; over http
/// `SameSite=Lax` (None needs Secure), and the same-site hop brings it.
fn login_cookie(config: &Config, secret: String) -> Cookie<'static> {
    let mut cookie = Cookie::build(login_cookie_name(config), secret)
        .path("/")
        .http_only(true)
        .secure(config.is_https())
        .max_age(login::REQUEST_LIFETIME)
        .finish();
    cookie.set_same_site(if config.is_https() {
        SameSite::None
    } else {
        SameSite::Lax
    });
    cookie
}

/// The hop page of `form`: the same fields, posted again from our origin.
fn same_site_hop(config: &Config, form: &AcsForm) -> HttpResponse {
    let mut fields = vec![(
        "SAMLResponse",
        form.saml_response.as_deref().unwrap_or_default(),
    )];
    if let Some(relay) = &form.relay_state {
        fields.push(("RelayState", relay.as_str()));
    }
    fields.push((HOP_FIELD, "1"));
    pages::html_submitting(
        HttpResponse::Ok(),
        pages::same_site_hop(config.acs_path(), &fields),
    )
}
