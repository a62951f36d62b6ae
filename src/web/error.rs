//! The one error type of the web layer and the one place that maps it to HTTP. The browser
//! gets a status code and a plain page; the detail goes to the log, never to the browser.

use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};

use crate::login::{ErrorKind, LoginError};
use crate::store::StoreError;
use crate::web::edge::EdgeRefusal;
use crate::web::pages;
use crate::web::state::ConfigHealth;

/// Why a request cannot be answered normally.
#[derive(Debug, thiserror::Error)]
pub enum WebError {
    /// No such page (while configured).
    #[error("not found")]
    NotFound,
    /// No valid configuration has been loaded yet: the page lists the problems (503).
    #[error("fedbridge is not configured yet")]
    NotConfigured(Arc<ConfigHealth>),
    /// Anything that is our fault or the database's: logged in full, answered with 500.
    #[error("internal error: {0}")]
    Internal(String),
    /// A login that could not start or complete. The person sees a generic sentence and the
    /// correlation ID; the reason code and detail are in the log and the login audit.
    #[error("login failed ({correlation_id}): {error}")]
    Login {
        /// Why.
        error: LoginError,
        /// The ID shown to the person, logged and audited with the detail.
        correlation_id: String,
    },
    /// A protected API was called without valid client credentials (401).
    #[error("client authentication failed")]
    Unauthorized,
    /// `/metrics` without the scraper's token or an administrator's session (401).
    #[error("metrics: no valid Bearer token or administrator session")]
    MetricsUnauthorized,
    /// The admin console for someone who is not in an administrator group (403); the page
    /// names who is signed in and how to sign out.
    #[error("not an administrator: {login_name}")]
    NotAdmin {
        /// Who is signed in.
        login_name: String,
    },
    /// The admin console without an admin session: 303 to its SSO sign-in, back to `next`.
    #[error("sign-in to the admin console needed")]
    SignInNeeded {
        /// The console page asked for.
        next: String,
    },
    /// A form of the admin console without a valid anti-forgery token (403).
    #[error("the form's anti-forgery token is missing or wrong")]
    BadFormToken,
    /// A state-changing request from another site (403): the page points to the way that works.
    #[error("refused: not from fedbridge's own pages")]
    Forbidden,
    /// The edge refused the request before looking at it (408, 411, 413, 415, 429, 503).
    #[error("{0}")]
    Edge(EdgeRefusal),
}

impl From<EdgeRefusal> for WebError {
    fn from(refusal: EdgeRefusal) -> WebError {
        WebError::Edge(refusal)
    }
}

impl From<StoreError> for WebError {
    fn from(error: StoreError) -> WebError {
        WebError::Internal(error.to_string())
    }
}

impl From<actix_web::error::BlockingError> for WebError {
    fn from(error: actix_web::error::BlockingError) -> WebError {
        WebError::Internal(format!("the blocking pool failed: {error}"))
    }
}

impl ResponseError for WebError {
    fn status_code(&self) -> StatusCode {
        match self {
            WebError::NotFound => StatusCode::NOT_FOUND,
            WebError::NotConfigured(_) => StatusCode::SERVICE_UNAVAILABLE,
            WebError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            WebError::Login { error, .. } => match error.kind() {
                ErrorKind::Refused => StatusCode::BAD_REQUEST,
                ErrorKind::Forbidden => StatusCode::FORBIDDEN,
                ErrorKind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
                ErrorKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            },
            WebError::Unauthorized | WebError::MetricsUnauthorized => StatusCode::UNAUTHORIZED,
            WebError::NotAdmin { .. } | WebError::BadFormToken | WebError::Forbidden => {
                StatusCode::FORBIDDEN
            }
            WebError::SignInNeeded { .. } => StatusCode::SEE_OTHER,
            WebError::Edge(refusal) => {
                StatusCode::from_u16(refusal.status()).unwrap_or(StatusCode::SERVICE_UNAVAILABLE)
            }
        }
    }

    fn error_response(&self) -> HttpResponse {
        let body = match self {
            WebError::NotFound => pages::message("Not found", "There is no page at this address."),
            WebError::Forbidden => pages::logout_refused(),
            WebError::NotConfigured(health) => pages::not_configured(health),
            WebError::Internal(detail) => {
                if let Some(repeated) = crate::logdedup::check(detail) {
                    tracing::error!(detail = %detail, repeated, "request failed");
                }
                pages::message(
                    "Something went wrong",
                    "fedbridge could not answer this request. The details are in its log.",
                )
            }
            WebError::Login {
                error,
                correlation_id,
            } => pages::login_failed(error.kind(), correlation_id),
            WebError::Edge(refusal) => {
                let mut response = HttpResponse::build(self.status_code());
                // The body may be unread: the connection closes after the answer, so a slow
                // client cannot keep it (and its buffers) by dribbling on.
                response.force_close();
                if let Some(seconds) = refusal.retry_after() {
                    response.insert_header((header::RETRY_AFTER, seconds.to_string()));
                }
                return pages::html(
                    response,
                    pages::message("Request refused", refusal.sentence()),
                );
            }
            WebError::Unauthorized => {
                return HttpResponse::Unauthorized()
                    .insert_header((
                        header::WWW_AUTHENTICATE,
                        HeaderValue::from_static("Basic realm=\"fedbridge introspection\""),
                    ))
                    .insert_header((header::CACHE_CONTROL, HeaderValue::from_static("no-store")))
                    .json(serde_json::json!({ "error": "invalid_client" }));
            }
            WebError::MetricsUnauthorized => {
                return HttpResponse::Unauthorized()
                    .insert_header((
                        header::WWW_AUTHENTICATE,
                        HeaderValue::from_static("Bearer realm=\"fedbridge metrics\""),
                    ))
                    .insert_header((header::CACHE_CONTROL, HeaderValue::from_static("no-store")))
                    .content_type("text/plain; charset=utf-8")
                    .body(
                        "401: send FEDBRIDGE_METRICS_TOKEN as a Bearer token, or sign in to the \
                         admin console\n",
                    );
            }
            WebError::NotAdmin { login_name } => pages::not_admin(login_name),
            WebError::SignInNeeded { next } => {
                let next: String = url::form_urlencoded::byte_serialize(next.as_bytes()).collect();
                return HttpResponse::SeeOther()
                    .insert_header((header::LOCATION, format!("/admin/signin?next={next}")))
                    .insert_header((header::CACHE_CONTROL, HeaderValue::from_static("no-store")))
                    .finish();
            }
            WebError::BadFormToken => pages::message(
                "This form has expired",
                "The form was not sent from the admin console of this session. Go back, reload \
                 the page and try again.",
            ),
        };
        let mut response = HttpResponse::build(self.status_code());
        let unavailable = matches!(self, WebError::NotConfigured(_))
            || matches!(self, WebError::Login { error, .. } if error.kind() == ErrorKind::Unavailable);
        if unavailable {
            response.insert_header((header::RETRY_AFTER, HeaderValue::from_static("5")));
        }
        pages::html(response, body)
    }
}

#[cfg(test)]
mod tests {
    use actix_web::body::MessageBody;

    use super::*;

    fn body(error: &WebError) -> String {
        let bytes = error.error_response().into_body().try_into_bytes().unwrap();
        String::from_utf8(bytes.to_vec()).unwrap()
    }

    #[test]
    fn an_edge_refusal_closes_its_connection() {
        // Its body may be unread: a kept-alive connection (`serve --keep-alive`) would stay with
        // the client, which could go on dribbling.
        for refusal in [
            EdgeRefusal::TooLarge,
            EdgeRefusal::Timeout,
            EdgeRefusal::RateLimited { retry_after: 3 },
            EdgeRefusal::Overloaded,
        ] {
            let response = WebError::Edge(refusal).error_response();
            assert_eq!(
                response.head().connection_type(),
                actix_web::http::ConnectionType::Close,
                "{refusal:?}"
            );
        }
    }

    #[test]
    fn internal_detail_stays_out_of_the_page() {
        let error = WebError::Internal("database /srv/secret.db: disk I/O error".into());
        assert_eq!(error.status_code(), StatusCode::INTERNAL_SERVER_ERROR);
        let page = body(&error);
        assert!(!page.contains("/srv/secret.db"), "{page}");
        assert!(page.contains("Something went wrong"), "{page}");
    }

    #[test]
    fn statuses() {
        assert_eq!(WebError::NotFound.status_code(), StatusCode::NOT_FOUND);
        let unconfigured = WebError::NotConfigured(Arc::new(ConfigHealth::default()));
        assert_eq!(unconfigured.status_code(), StatusCode::SERVICE_UNAVAILABLE);
        let response = unconfigured.error_response();
        assert_eq!(
            response.headers().get(header::CONTENT_TYPE).unwrap(),
            "text/html; charset=utf-8"
        );
    }
}
