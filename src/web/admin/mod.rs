//! The admin console at `/admin`, reached through SSO itself.
//!
//! # Sessions
//! The xsession is handed to every downstream application, so it never opens the console: a
//! downstream app holding an administrator's token must not become an administrator. Signing
//! in to the console is an SSO login of its own ([`Purpose::Admin`]: `/admin/signin` sends an
//! AuthnRequest marked so); its answer, besides the usual login, opens an admin session: a
//! random secret in the cookie [`ADMIN_COOKIE`] (HttpOnly, SameSite=Lax, Secure over https,
//! never in a URL), its SHA-256 in `admin_sessions` with the sign-in's xsession. Every request
//! ([`Admin`]) checks the session, that its xsession is still active (logout, revocation, a
//! disabled user end it), and that the user is in a group of `FEDBRIDGE_ADMIN_GROUPS` now;
//! otherwise 403.
//!
//! # Forms
//! Every form POSTs a token derived from the session's secret ([`form_token`]); without it the
//! request is refused (403), so another site cannot submit them (the cookie is also SameSite).

pub mod view;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, HttpResponse, dev::Payload, web};
use serde::Deserialize;
use time::format_description::well_known::Rfc3339;

use self::view::{AttemptsForm, GroupView, Section, Viewer};
use crate::login::Purpose;
use crate::store::AuditFilter;
use crate::web::error::WebError;
use crate::web::pages;
use crate::web::state::{ActiveConfig, AppState};
use crate::web::telemetry::{self, CorrelationId};

/// The admin session's cookie.
pub const ADMIN_COOKIE: &str = "fedbridge_admin";

/// Rows per page of login attempts.
const PAGE: i64 = 50;

/// An administrator's request: the session checked, the user in an admin group now.
#[derive(Debug, Clone)]
pub struct Admin {
    /// Who.
    pub login_name: String,
    /// The anti-forgery token of this session's forms.
    pub form_token: String,
    /// The configuration in service.
    pub active: Arc<ActiveConfig>,
}

impl Admin {
    fn viewer(&self) -> Viewer<'_> {
        Viewer {
            login_name: &self.login_name,
            form_token: &self.form_token,
            product: self.active.config.product_name.as_deref(),
        }
    }

    /// Refuses a form whose token is not this session's.
    fn check_form(&self, token: &str) -> Result<(), WebError> {
        let ours = self.form_token.as_bytes();
        if ours.len() == token.len() && openssl::memcmp::eq(ours, token.as_bytes()) {
            Ok(())
        } else {
            Err(WebError::BadFormToken)
        }
    }
}

/// SHA-256 of `text`, hex.
fn sha256_hex(text: &str) -> String {
    openssl::sha::sha256(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The anti-forgery token of the forms of the session whose secret is `secret`.
pub fn form_token(secret: &str) -> String {
    sha256_hex(&format!("fedbridge-admin-form\0{secret}"))
}

impl FromRequest for Admin {
    type Error = WebError;
    type Future = Pin<Box<dyn Future<Output = Result<Admin, WebError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let secret = req.cookie(ADMIN_COOKIE).map(|c| c.value().to_owned());
        let next = req.path().to_owned();
        Box::pin(async move {
            let state =
                state.ok_or_else(|| WebError::Internal("AppState is not registered".into()))?;
            let active = state
                .config()
                .ok_or_else(|| WebError::NotConfigured(state.health()))?;
            let Some(secret) = secret else {
                return Err(WebError::SignInNeeded { next });
            };
            let config = active.clone();
            let token = form_token(&secret);
            let checked = web::block(move || -> Result<Option<(String, bool)>, WebError> {
                let now = state.now().unix_timestamp();
                let store = state.store();
                let Some(session) = store.admin_session(&sha256_hex(&secret), now)? else {
                    return Ok(None);
                };
                if !store.session_active(&session.jti)? {
                    return Ok(None);
                }
                let groups = store.groups_of(&session.login_name)?;
                let admin = groups
                    .iter()
                    .any(|g| config.config.admin_groups.contains(g));
                Ok(Some((session.login_name, admin)))
            })
            .await??;
            match checked {
                None => Err(WebError::SignInNeeded { next }),
                Some((login_name, false)) => Err(WebError::NotAdmin { login_name }),
                Some((login_name, true)) => Ok(Admin {
                    login_name,
                    form_token: token,
                    active,
                }),
            }
        })
    }
}

/// The query of `/admin/signin`.
#[derive(Debug, Deserialize)]
pub struct SignInQuery {
    next: Option<String>,
}

/// `GET /admin/signin?next=`: an SSO login marked for the console; its answer opens the admin
/// session and lands on `next` (a console page).
pub async fn sign_in(
    state: web::Data<AppState>,
    query: web::Query<SignInQuery>,
    req: HttpRequest,
    CorrelationId(correlation_id): CorrelationId,
) -> Result<HttpResponse, WebError> {
    let active = state
        .config()
        .ok_or_else(|| WebError::NotConfigured(state.health()))?;
    let next = query
        .into_inner()
        .next
        .filter(|n| n.starts_with("/admin") && !n.starts_with("/admin/signin"))
        .unwrap_or_else(|| "/admin".to_owned());
    crate::web::login::to_idp(
        state,
        active,
        &req,
        Purpose::Admin,
        Some(next),
        correlation_id,
    )
    .await
}

/// The form of the console's POSTs (a missing field is empty: refused by the token check).
#[derive(Debug, Deserialize)]
pub struct TokenForm {
    #[serde(default)]
    token: String,
}

/// `POST /admin/test-login`: a test login at the IdP; its result is shown instead of applied.
pub async fn test_login(
    admin: Admin,
    state: web::Data<AppState>,
    form: web::Form<TokenForm>,
    req: HttpRequest,
    CorrelationId(correlation_id): CorrelationId,
) -> Result<HttpResponse, WebError> {
    admin.check_form(&form.token)?;
    tracing::info!(correlation_id, admin = %admin.login_name, "test login started");
    crate::web::login::to_idp(
        state,
        admin.active.clone(),
        &req,
        Purpose::Test,
        None,
        correlation_id,
    )
    .await
}

/// Opens the admin session of a sign-in that completed (blocking): stores the secret's hash
/// with the sign-in's xsession; returns the cookie.
pub fn open_session(
    state: &AppState,
    config: &crate::config::Config,
    jti: &str,
    login_name: &str,
    expires_at: i64,
) -> Result<Cookie<'static>, WebError> {
    let secret = crate::ids::random_id().map_err(|e| WebError::Internal(e.to_string()))?;
    let now = state.now().unix_timestamp();
    state
        .store()
        .create_admin_session(&sha256_hex(&secret), jti, login_name, now, expires_at)?;
    Ok(Cookie::build(ADMIN_COOKIE, secret)
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(config.is_https())
        .max_age(time::Duration::seconds((expires_at - now).max(0)))
        .finish())
}

/// `GET /admin`: the status page.
pub async fn status(admin: Admin, state: web::Data<AppState>) -> Result<HttpResponse, WebError> {
    let page = web::block(move || -> Result<String, WebError> {
        let now = state.now().unix_timestamp();
        let hour = now - now.rem_euclid(3600);
        let from = hour - 7 * 24 * 3600 + 3600;
        let per_hour = state.store().logins_per_hour(from)?;
        let expiries = crate::web::certs::current(&state);
        let trust = state.idp_trust();
        let metadata = state.metadata();
        let health = state.health();
        let schema =
            crate::config::schema::schema().map_err(|e| WebError::Internal(e.to_string()))?;
        Ok(view::status(
            &admin.viewer(),
            &view::Status {
                active: &admin.active,
                health: &health,
                metadata: metadata.as_deref(),
                schema,
                idp_entity_id: trust.as_ref().and_then(|t| t.idp.entity_id.clone()),
                sso: trust.as_ref().and_then(|t| t.sso.clone()),
                expiries: &expiries,
                per_hour: &per_hour,
                chart_from: from,
                now,
            },
        ))
    })
    .await??;
    Ok(pages::html(HttpResponse::Ok(), page))
}

/// The query of `/admin/attempts`.
#[derive(Debug, Default, Deserialize)]
pub struct AttemptsQuery {
    outcome: Option<String>,
    reason: Option<String>,
    login: Option<String>,
    since: Option<String>,
    until: Option<String>,
    correlation: Option<String>,
    /// The next page's cursor (an audit row id); anything else is ignored.
    before: Option<String>,
}

/// A time typed in the filter: RFC 3339, or `YYYY-MM-DD[ HH:MM]` in UTC.
fn parse_time(text: &str) -> Option<i64> {
    let text = text.trim();
    if let Ok(t) = time::OffsetDateTime::parse(text, &Rfc3339) {
        return Some(t.unix_timestamp());
    }
    let (date, clock) = text.split_once([' ', 'T']).unwrap_or((text, "00:00"));
    let full = format!("{date}T{clock}:00Z");
    time::OffsetDateTime::parse(&full, &Rfc3339)
        .ok()
        .map(|t| t.unix_timestamp())
}

/// `GET /admin/attempts`: the filtered list, or the attempt of a correlation ID.
pub async fn attempts(
    admin: Admin,
    state: web::Data<AppState>,
    query: web::Query<AttemptsQuery>,
) -> Result<HttpResponse, WebError> {
    let query = query.into_inner();
    let some = |v: Option<String>| v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
    let form = AttemptsForm {
        since: query.since.clone().unwrap_or_default(),
        until: query.until.clone().unwrap_or_default(),
        correlation: query.correlation.clone().unwrap_or_default(),
        query: [
            ("outcome", &query.outcome),
            ("reason", &query.reason),
            ("login", &query.login),
            ("since", &query.since),
            ("until", &query.until),
        ]
        .into_iter()
        .filter_map(|(k, v)| Some((k.to_owned(), some(v.clone())?)))
        .collect(),
    };
    let filter = AuditFilter {
        outcome: some(query.outcome),
        reason: some(query.reason),
        login_name: some(query.login),
        since: query.since.as_deref().and_then(parse_time),
        until: query.until.as_deref().and_then(parse_time),
        before_id: query.before.as_deref().and_then(|b| b.trim().parse().ok()),
    };
    let correlation = some(query.correlation);
    let page = web::block(move || -> Result<String, WebError> {
        if let Some(cid) = correlation {
            let rows = state.store().audit_by_correlation(&cid)?;
            if let Some(row) = rows.first() {
                return Ok(view::attempt(&admin.viewer(), row));
            }
            return Ok(view::attempts(&admin.viewer(), &filter, &form, &[], None));
        }
        let rows = state.store().audit_page(&filter, PAGE)?;
        let more = (rows.len() as i64 == PAGE)
            .then(|| rows.last().map(|r| r.id))
            .flatten();
        Ok(view::attempts(&admin.viewer(), &filter, &form, &rows, more))
    })
    .await??;
    Ok(pages::html(HttpResponse::Ok(), page))
}

/// `GET /admin/attempts/{id}`: one attempt in full.
pub async fn attempt(
    admin: Admin,
    state: web::Data<AppState>,
    id: web::Path<i64>,
) -> Result<HttpResponse, WebError> {
    let id = id.into_inner();
    let page = web::block(move || -> Result<Option<String>, WebError> {
        let rows = state.store().audit_page(
            &AuditFilter {
                before_id: Some(id.saturating_add(1)),
                ..AuditFilter::default()
            },
            1,
        )?;
        Ok(rows
            .first()
            .filter(|row| row.id == id)
            .map(|row| view::attempt(&admin.viewer(), row)))
    })
    .await??;
    page.map(|p| pages::html(HttpResponse::Ok(), p))
        .ok_or(WebError::NotFound)
}

/// The query of `/admin/users`.
#[derive(Debug, Deserialize)]
pub struct UsersQuery {
    q: Option<String>,
}

/// `GET /admin/users?q=`: every user, or those whose login name contains `q`.
pub async fn users(
    admin: Admin,
    state: web::Data<AppState>,
    query: web::Query<UsersQuery>,
) -> Result<HttpResponse, WebError> {
    let q = query.into_inner().q.unwrap_or_default();
    let page = web::block(move || -> Result<String, WebError> {
        let needle = q.trim().to_lowercase();
        let list: Vec<_> = state
            .store()
            .list_users()?
            .into_iter()
            .filter(|u| needle.is_empty() || u.login_name.to_lowercase().contains(&needle))
            .collect();
        Ok(view::users(&admin.viewer(), &list, &q))
    })
    .await??;
    Ok(pages::html(HttpResponse::Ok(), page))
}

/// The query of `/admin/user`.
#[derive(Debug, Deserialize)]
pub struct UserQuery {
    login: String,
}

/// How many audit rows the user page lists.
const RECENT_LOGINS: i64 = 10;

/// `GET /admin/user?login=`: one user with their sessions.
pub async fn user(
    admin: Admin,
    state: web::Data<AppState>,
    query: web::Query<UserQuery>,
) -> Result<HttpResponse, WebError> {
    let login = query.into_inner().login;
    let page = web::block(move || -> Result<Option<String>, WebError> {
        let Some(detail) = state.store().show_user(&login, RECENT_LOGINS)? else {
            return Ok(None);
        };
        let sessions = state
            .store()
            .user_sessions(detail.user.id, state.now().unix_timestamp())?;
        Ok(Some(view::user(&admin.viewer(), &detail, &sessions)))
    })
    .await??;
    page.map(|p| pages::html(HttpResponse::Ok(), p))
        .ok_or(WebError::NotFound)
}

/// The revoke form (a missing field is empty: refused by the token check, or not found).
#[derive(Debug, Deserialize)]
pub struct RevokeForm {
    #[serde(default)]
    token: String,
    #[serde(default)]
    jti: String,
    #[serde(default)]
    login: String,
}

/// `POST /admin/sessions/revoke`: ends one session of a user (introspection answers inactive
/// from then on), back to the user's page.
pub async fn revoke(
    admin: Admin,
    state: web::Data<AppState>,
    form: web::Form<RevokeForm>,
) -> Result<HttpResponse, WebError> {
    admin.check_form(&form.token)?;
    let RevokeForm { jti, login, .. } = form.into_inner();
    let back = format!("/admin/user?login={}", view::encode(&login));
    let by = admin.login_name.clone();
    web::block(move || -> Result<(), WebError> {
        let store = state.store();
        let user = store.show_user(&login, 0)?.ok_or(WebError::NotFound)?;
        // Only a session of that user: the form names both.
        let expires = store
            .session_of_user(user.user.id, &jti)?
            .ok_or(WebError::NotFound)?;
        let expires = time::OffsetDateTime::from_unix_timestamp(expires)
            .map_err(|e| WebError::Internal(e.to_string()))?;
        store.revoke(&jti, expires)?;
        tracing::info!(admin = %by, login_name = %login, "session revoked from the admin console");
        Ok(())
    })
    .await??;
    Ok(HttpResponse::SeeOther()
        .insert_header((header::LOCATION, back))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish())
}

/// `GET /admin/groups`.
pub async fn groups(admin: Admin, state: web::Data<AppState>) -> Result<HttpResponse, WebError> {
    let page = web::block(move || -> Result<String, WebError> {
        let managed = &admin.active.config.managed_groups;
        let list: Vec<GroupView> = state
            .store()
            .groups_with_members()?
            .into_iter()
            .map(|group| GroupView {
                managed: managed.is_managed(&group.name),
                group,
                idp_ids: Vec::new(),
            })
            .collect();
        Ok(view::groups(&admin.viewer(), &list))
    })
    .await??;
    Ok(pages::html(HttpResponse::Ok(), page))
}

/// `GET /metrics`: for a scraper with `FEDBRIDGE_METRICS_TOKEN`, or a signed-in administrator.
pub async fn metrics(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, WebError> {
    if !telemetry::scraper_allowed(&state, &req) {
        // Not the scraper: an administrator's session, or 401 (never a sign-in redirect).
        match Admin::extract(&req).await {
            Ok(_) => {}
            Err(WebError::NotAdmin { .. }) | Err(WebError::SignInNeeded { .. }) => {
                return Err(WebError::MetricsUnauthorized);
            }
            Err(other) => return Err(other),
        }
    }
    let body = web::block(move || telemetry::render(&state)).await?;
    Ok(telemetry::metrics_response(body))
}

/// The console's pages in `Section` order (the browser tests visit each).
pub const PAGES: [(&str, Section); 4] = [
    ("/admin", Section::Status),
    ("/admin/attempts", Section::Attempts),
    ("/admin/users", Section::Users),
    ("/admin/groups", Section::Groups),
];
