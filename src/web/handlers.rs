//! Thin handlers: extract, call one function, map the result.

use actix_web::HttpResponse;
use actix_web::http::header::{self, HeaderValue};

use crate::web::error::WebError;
use crate::web::state::Configured;

/// `GET /saml/metadata`: the SP metadata of the configuration in service, the document the
/// IdP imports. Assertions are wanted signed, as `fedbridge metadata` prints it.
pub async fn sp_metadata(Configured(active): Configured) -> HttpResponse {
    let config = &active.config;
    let document = config.sp_metadata();
    HttpResponse::Ok()
        .insert_header((
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/samlmetadata+xml"),
        ))
        .body(document)
}

/// Every other address: 404 once configured; the `Configured` extractor answers with the
/// "not configured" page before that.
pub async fn not_found(_: Configured) -> Result<HttpResponse, WebError> {
    Err(WebError::NotFound)
}
