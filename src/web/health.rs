//! `/healthz`: whether fedbridge is configured, whether the settings in the database are valid
//! now, and where the IdP's keys come from. 200 when everything is fine, 503 otherwise.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, web};
use serde::Serialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::config::IdpSource;
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

/// The `/healthz` document.
#[derive(Debug, Serialize)]
pub struct Report {
    /// The verdict.
    pub status: Status,
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

/// `GET /healthz`.
pub async fn healthz(state: web::Data<AppState>) -> HttpResponse {
    let config = state.config();
    let metadata = state.metadata();
    let report = report(config.as_deref(), &state.health(), metadata.as_deref());
    let status = match report.status {
        Status::Ok => StatusCode::OK,
        Status::Degraded | Status::Unconfigured => StatusCode::SERVICE_UNAVAILABLE,
    };
    HttpResponse::build(status)
        .insert_header((header::CACHE_CONTROL, HeaderValue::from_static("no-store")))
        .json(report)
}

/// Builds the report from the state's parts. Pure.
pub fn report(
    active: Option<&ActiveConfig>,
    health: &ConfigHealth,
    metadata: Option<&MetadataStatus>,
) -> Report {
    let idp = active.map(|a| idp_report(&a.config.idp, metadata));
    let idp_ok = idp
        .as_ref()
        .is_some_and(|i| i.source.is_some() && i.error.is_none());
    let status = match active {
        None => Status::Unconfigured,
        Some(_) if health.problems.is_empty() && health.database_error.is_none() && idp_ok => {
            Status::Ok
        }
        Some(_) => Status::Degraded,
    };
    Report {
        status,
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

fn idp_report(source: &IdpSource, metadata: Option<&MetadataStatus>) -> IdpReport {
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
                next_fetch_at: current.and_then(|m| rfc3339(m.next_fetch_at)),
            }
        }
    }
}

fn rfc3339(at: OffsetDateTime) -> Option<String> {
    at.format(&Rfc3339).ok()
}

#[cfg(test)]
mod tests;
