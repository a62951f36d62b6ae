//! What fedbridge tells its operators: one log line per request with its correlation ID
//! ([`log_requests`], which also makes the ID every handler, error page and audit row uses) and
//! `/metrics` in the Prometheus text format ([`render`], served by `web::admin::metrics`).
//!
//! Logs never carry a query string (an `xsession` may be in it), a token, a key or a SAML
//! message: the request line has the method, the path, the status and the time.

use std::future::{Ready, ready};
use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{FromRequest, HttpMessage, HttpRequest, HttpResponse, web};

use crate::metrics::Snapshot;
use crate::web::certs;
use crate::web::error::WebError;
use crate::web::state::AppState;

/// The response header that carries the correlation ID (to quote it to support).
pub const CORRELATION_HEADER: &str = "x-correlation-id";

/// The correlation ID of a request: made by [`log_requests`], in the request line of the log,
/// on error pages, in the login audit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CorrelationId(pub String);

impl CorrelationId {
    /// A fresh ID; should the random generator fail, one from the time (still unique enough to
    /// find the log line).
    pub fn fresh(now: time::OffsetDateTime) -> CorrelationId {
        CorrelationId(
            crate::ids::correlation_id()
                .unwrap_or_else(|_| format!("t{:x}", now.unix_timestamp_nanos())),
        )
    }
}

impl FromRequest for CorrelationId {
    type Error = WebError;
    type Future = Ready<Result<CorrelationId, WebError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let id = req.extensions().get::<CorrelationId>().cloned();
        ready(Ok(id.unwrap_or_else(|| {
            let now = req
                .app_data::<web::Data<AppState>>()
                .map(|state| state.now())
                .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
            CorrelationId::fresh(now)
        })))
    }
}

/// The middleware of every request: a correlation ID for it, and one log line once answered
/// (method, path without the query, status, milliseconds, correlation ID); counts it.
pub async fn log_requests(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let now = state
        .as_ref()
        .map_or(time::OffsetDateTime::UNIX_EPOCH, |s| s.now());
    let id = CorrelationId::fresh(now);
    req.extensions_mut().insert(id.clone());
    let method = req.method().clone();
    let path = req.path().to_owned();
    let mut response = next.call(req).await?;
    let status = response.status().as_u16();
    tracing::info!(
        target: "fedbridge::request",
        correlation_id = %id.0,
        method = %method,
        path = %path,
        status,
        ms = started.elapsed().as_secs_f64() * 1000.0,
        "request"
    );
    if let Some(state) = state {
        state.metrics().count_request();
    }
    if let Ok(value) = HeaderValue::from_str(&id.0) {
        response
            .headers_mut()
            .insert(HeaderName::from_static(CORRELATION_HEADER), value);
    }
    Ok(response)
}

/// Who may read `/metrics`: a scraper with `FEDBRIDGE_METRICS_TOKEN` as Bearer token, or a
/// signed-in administrator (see `web::admin`).
pub fn scraper_allowed(state: &AppState, req: &HttpRequest) -> bool {
    let Some(active) = state.config() else {
        return false;
    };
    let Some(token) = &active.config.metrics_token else {
        return false;
    };
    req.headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .is_some_and(|(_, given)| token.matches(given.trim()))
}

/// The body of `/metrics`: the counters and what is read at scrape time (certificate expiry,
/// outstanding requests, database wait). Blocking: reads the database.
pub fn render(state: &AppState) -> String {
    let now = state.now();
    let expiry_days = certs::current(state)
        .into_iter()
        .filter_map(|expiry| {
            let days = expiry.days_left(now.unix_timestamp())?;
            Some((expiry.kind.label(), expiry.subject, days))
        })
        .collect();
    let outstanding = state
        .store()
        .count_outstanding_requests(now)
        .map_err(|error| tracing::warn!(%error, "metrics: cannot count outstanding requests"))
        .ok();
    state.metrics().render(&Snapshot {
        expiry_days,
        outstanding_requests: outstanding,
        database_wait: Some(state.store().wait_histogram()),
        configured: state.config().is_some(),
    })
}

/// `GET /metrics` for a scraper or an administrator (see `web::admin::metrics`): the text
/// format, never cached.
pub fn metrics_response(body: String) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        ))
        .insert_header((header::CACHE_CONTROL, HeaderValue::from_static("no-store")))
        .body(body)
}
