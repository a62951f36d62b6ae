//! `/healthz` and `/readyz`.
//!
//! - `/readyz` (load balancers): 200 `{"ready": true}` when this node can serve logins now: a
//!   configuration in service, the IdP's keys at hand, and the database writable (a write,
//!   the probe's or a login's, committed within [`WRITE_FRESHNESS`] and none failed since:
//!   a lock held too long, a full disk, a read-only file all show); else 503.
//! - `/healthz`: the verdict only (`ok`, `degraded`, `unconfigured`; 200 for ok, else 503),
//!   unless the request carries `Authorization: Bearer FEDBRIDGE_HEALTH_SECRET`: then the whole
//!   report (settings problems, the metadata URL and its errors, why not ready), which would
//!   show anyone internal hosts and errors. A wrong secret is 401.
//!
//! The report is pure ([`report`], [`readiness`]); the handlers read the state.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use std::time::Instant;

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Serialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::config::IdpSource;
use crate::store::WriteHealth;
use crate::web::state::{ActiveConfig, AppState, ConfigHealth, MetadataStatus};

/// The overall verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// A valid configuration in service, the settings valid now, the IdP's keys at hand.
    Ok,
    /// Serving, but something needs attention: invalid settings (the last valid ones are in
    /// service), an unreadable database, IdP metadata missing or stale.
    Degraded,
    /// No valid configuration has been loaded yet.
    Unconfigured,
}

/// How recent a committed write must be for the node to be ready (three probe intervals).
pub const WRITE_FRESHNESS: std::time::Duration = std::time::Duration::from_secs(6);

/// Whether the node can serve logins now, and why not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Readiness {
    /// Ready.
    pub ready: bool,
    /// Why not (empty when ready). Said for administrators: shown only with the secret.
    pub reasons: Vec<String>,
}

/// Readiness from the state's parts. Pure.
pub fn readiness(
    active: Option<&ActiveConfig>,
    idp_trusted: bool,
    writes: &WriteHealth,
    now: Instant,
) -> Readiness {
    let mut reasons = Vec::new();
    if active.is_none() {
        reasons.push("no valid configuration is in service".to_owned());
    } else if !idp_trusted {
        reasons.push("the IdP's signing keys are not at hand (metadata not fetched)".to_owned());
    }
    if !writes.writable(now, WRITE_FRESHNESS) {
        match (&writes.last_failure, writes.last_ok) {
            (Some((at, kind, message)), ok) if ok.is_none_or(|ok| *at > ok) => {
                reasons.push(format!("the last write failed ({kind}): {message}"));
            }
            _ => reasons.push(format!(
                "no write committed in the last {} s",
                WRITE_FRESHNESS.as_secs()
            )),
        }
    }
    Readiness {
        ready: reasons.is_empty(),
        reasons,
    }
}

/// The `/healthz` document (the details: with the health secret only).
#[derive(Debug, Serialize)]
pub struct Report {
    /// The verdict.
    pub status: Status,
    /// Whether the node can serve logins now, and why not.
    pub readiness: Readiness,
    /// The settings.
    pub config: ConfigReport,
    /// The IdP's trust material; `None` while unconfigured.
    pub idp_metadata: Option<IdpReport>,
}

/// The settings part of the report.
#[derive(Debug, Serialize)]
pub struct ConfigReport {
    /// Whether the rows in the database, as last read, are valid.
    pub valid: bool,
    /// Their problems (key and message; secret values never appear).
    pub problems: Vec<ProblemReport>,
    /// When the configuration in service was loaded (RFC 3339).
    pub loaded_at: Option<String>,
    /// When the settings were last read.
    pub checked_at: Option<String>,
    /// Why the last read failed (locked, gone), if it did.
    pub database_error: Option<String>,
}

/// One problem of the settings.
#[derive(Debug, Serialize)]
pub struct ProblemReport {
    /// The setting's name.
    pub key: String,
    /// What is wrong.
    pub message: String,
}

/// The IdP part of the report.
#[derive(Debug, Serialize)]
pub struct IdpReport {
    /// `config` (pinned certificates), `url` (fetched by this process), `cache` (the database's
    /// last good copy) or `None` (no metadata at hand).
    pub source: Option<&'static str>,
    /// The metadata URL (metadata scenario).
    pub url: Option<String>,
    /// The IdP's entityID in use (when known).
    pub entity_id: Option<String>,
    /// How many signing certificates are trusted.
    pub signing_certificates: usize,
    /// When the metadata in use was fetched.
    pub fetched_at: Option<String>,
    /// Why the last fetch failed; `None` when it succeeded.
    pub error: Option<String>,
    /// When the next fetch is due.
    pub next_fetch_at: Option<String>,
}

/// `GET /healthz`: the verdict; the report with the health secret.
pub async fn healthz(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let config = state.config();
    let metadata = state.metadata();
    let ready = node_readiness(&state);
    let report = report(
        config.as_deref(),
        &state.health(),
        metadata.as_deref(),
        ready,
    );
    let status = match report.status {
        Status::Ok => StatusCode::OK,
        Status::Degraded | Status::Unconfigured => StatusCode::SERVICE_UNAVAILABLE,
    };
    match details_allowed(&req, config.as_deref()) {
        Details::Allowed => json(status, &report),
        Details::Public => json(status, &serde_json::json!({ "status": report.status })),
        Details::WrongSecret => json(
            StatusCode::UNAUTHORIZED,
            &serde_json::json!({ "error": "invalid health secret" }),
        ),
    }
}

/// `GET /readyz`: 200 `{"ready": true}` or 503 `{"ready": false}`; the reasons with the
/// health secret.
pub async fn readyz(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let config = state.config();
    let ready = node_readiness(&state);
    let status = if ready.ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    match details_allowed(&req, config.as_deref()) {
        Details::Allowed => json(status, &ready),
        Details::Public => json(status, &serde_json::json!({ "ready": ready.ready })),
        Details::WrongSecret => json(
            StatusCode::UNAUTHORIZED,
            &serde_json::json!({ "error": "invalid health secret" }),
        ),
    }
}

/// This node's readiness now.
pub fn node_readiness(state: &AppState) -> Readiness {
    let config = state.config();
    readiness(
        config.as_deref(),
        state.idp_trust().is_some(),
        &state.store().write_health(),
        Instant::now(),
    )
}

/// What a health request may see.
enum Details {
    /// The whole report: the request carries the health secret.
    Allowed,
    /// The verdict only: no credentials (or no secret configured).
    Public,
    /// Credentials that are not the secret.
    WrongSecret,
}

fn details_allowed(req: &HttpRequest, active: Option<&ActiveConfig>) -> Details {
    let given = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, secret)| secret.trim());
    let Some(given) = given else {
        return Details::Public;
    };
    match active.and_then(|a| a.config.health_secret.as_ref()) {
        Some(secret) if secret.matches(given) => Details::Allowed,
        _ => Details::WrongSecret,
    }
}

fn json(status: StatusCode, body: &impl Serialize) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header((header::CACHE_CONTROL, HeaderValue::from_static("no-store")))
        .json(body)
}

/// Builds the report from the state's parts. Pure.
pub fn report(
    active: Option<&ActiveConfig>,
    health: &ConfigHealth,
    metadata: Option<&MetadataStatus>,
    readiness: Readiness,
) -> Report {
    let idp = active.map(|a| idp_report(&a.config.idp, metadata, a.config.metadata_refresh));
    let idp_ok = idp
        .as_ref()
        .is_some_and(|i| i.source.is_some() && i.error.is_none());
    let status = match active {
        None => Status::Unconfigured,
        Some(_)
            if health.problems.is_empty()
                && health.database_error.is_none()
                && idp_ok
                && readiness.ready =>
        {
            Status::Ok
        }
        Some(_) => Status::Degraded,
    };
    Report {
        status,
        readiness,
        config: ConfigReport {
            valid: health.problems.is_empty() && active.is_some(),
            problems: health
                .problems
                .iter()
                .map(|p| ProblemReport {
                    key: p.key.clone(),
                    message: p.message.clone(),
                })
                .collect(),
            loaded_at: active.and_then(|a| rfc3339(a.loaded_at)),
            checked_at: health.checked_at.and_then(rfc3339),
            database_error: health.database_error.clone(),
        },
        idp_metadata: idp,
    }
}

fn idp_report(
    source: &IdpSource,
    metadata: Option<&MetadataStatus>,
    refresh: time::Duration,
) -> IdpReport {
    match source {
        IdpSource::PublicKey {
            certificates,
            entity_id,
            ..
        } => IdpReport {
            source: Some("config"),
            url: None,
            entity_id: entity_id.clone(),
            signing_certificates: certificates.len(),
            fetched_at: None,
            error: None,
            next_fetch_at: None,
        },
        IdpSource::Metadata { url, entity_id } => {
            let current = metadata.filter(|m| m.url == url.as_str() && m.entity_id == *entity_id);
            let good = current.and_then(|m| m.good.as_ref());
            IdpReport {
                source: good.map(|g| g.source.as_str()),
                url: Some(url.as_str().to_owned()),
                entity_id: good
                    .map(|g| g.metadata.entity_id.clone())
                    .or_else(|| entity_id.clone()),
                signing_certificates: good.map_or(0, |g| g.metadata.signing_keys.len()),
                fetched_at: good.and_then(|g| rfc3339(g.fetched_at)),
                error: match current {
                    Some(m) => m.error.clone(),
                    None => Some("the IdP metadata has not been fetched yet".into()),
                },
                next_fetch_at: current.and_then(|m| {
                    rfc3339(crate::web::idp::next_fetch_at(
                        m.attempted_at,
                        refresh,
                        m.error.is_some(),
                    ))
                }),
            }
        }
    }
}

fn rfc3339(at: OffsetDateTime) -> Option<String> {
    at.format(&Rfc3339).ok()
}

#[cfg(test)]
mod tests;
