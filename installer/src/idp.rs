//! The summary of a metadata URL, shown before the administrator trusts it: fetched and parsed
//! exactly as `fedbridge serve` does (`web::idp::fetch`, `saml::metadata`).

use std::fmt;

use base64::Engine as _;

use fedbridge::config::AuthnRequestBinding;
use fedbridge::saml::metadata::{MetadataError, SsoBinding, SsoEndpoint, parse_idp_metadata};
use fedbridge::web::idp::{FETCH_TIMEOUT, MAX_METADATA_BYTES, fetch};

/// What the administrator checks before trusting an IdP, and the document to cache.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdpSummary {
    /// The URL fetched.
    pub url: String,
    /// The IdP's entityID.
    pub entity_id: String,
    /// Where logins are sent (HTTP-Redirect preferred, else HTTP-POST).
    pub sso: Option<SsoEndpoint>,
    /// Each signing certificate: (subject, notAfter).
    pub certificates: Vec<(String, String)>,
    /// The document as fetched, for `idp_metadata_cache` (so `serve` has it from the start).
    pub body: String,
}

/// Why a metadata URL has no summary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SummaryError {
    /// Nothing usable came back (no connection, a timeout, an HTTP error): the URL may work
    /// later, and can be saved anyway once confirmed.
    Unreachable(String),
    /// A document came, and it holds several IdPs: one must be chosen (their entityIDs).
    Ambiguous(String, Vec<String>),
    /// A document came and is refused: never saved.
    Refused(String),
}

impl fmt::Display for SummaryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SummaryError::Unreachable(message)
            | SummaryError::Ambiguous(message, _)
            | SummaryError::Refused(message) => f.write_str(message),
        }
    }
}

impl fmt::Display for IdpSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "IdP metadata at {}:", self.url)?;
        writeln!(f, "  entity ID    {}", self.entity_id)?;
        match &self.sso {
            Some(sso) => {
                let binding = match sso.binding {
                    SsoBinding::Redirect => "HTTP-Redirect",
                    SsoBinding::Post => "HTTP-POST",
                };
                writeln!(f, "  SSO URL      {} ({binding})", sso.url)?;
            }
            None => writeln!(
                f,
                "  SSO URL      (none with the HTTP-Redirect or HTTP-POST binding)"
            )?,
        }
        for (subject, not_after) in &self.certificates {
            writeln!(f, "  certificate  {subject} (valid until {not_after})")?;
        }
        Ok(())
    }
}

/// Fetches `url` (no redirects, the server's timeout and size limit) and summarises the IdP
/// (`entity_id` picks it in an aggregate). The error says what went wrong, for a re-ask.
pub fn summarise(url: &str, entity_id: Option<&str>) -> Result<IdpSummary, SummaryError> {
    let body = actix_web::rt::System::new()
        .block_on(async {
            let client = awc::Client::builder()
                .connector(awc::Connector::new().timeout(FETCH_TIMEOUT))
                .timeout(FETCH_TIMEOUT)
                .disable_redirects()
                .finish();
            fetch(&client, url, MAX_METADATA_BYTES).await
        })
        .map_err(SummaryError::Unreachable)?;
    let metadata =
        parse_idp_metadata(&body, entity_id, MAX_METADATA_BYTES).map_err(|e| match e {
            MetadataError::Ambiguous { ref entity_ids, .. } => {
                SummaryError::Ambiguous(format!("the IdP metadata: {e}"), entity_ids.clone())
            }
            other => SummaryError::Refused(format!("the IdP metadata is refused: {other}")),
        })?;
    let body = String::from_utf8(body)
        .map_err(|_| SummaryError::Refused("the IdP metadata is not UTF-8".to_owned()))?;
    let certificates = metadata
        .signing_certificates
        .iter()
        .map(|b64| describe_certificate(b64))
        .collect();
    Ok(IdpSummary {
        url: url.to_owned(),
        sso: metadata.sso_endpoint(AuthnRequestBinding::Auto.preference()),
        entity_id: metadata.entity_id,
        certificates,
        body,
    })
}

/// (subject, notAfter) of a base64 DER certificate, as openssl prints them.
fn describe_certificate(b64: &str) -> (String, String) {
    let compact: String = b64.chars().filter(|c| !c.is_whitespace()).collect();
    let der = base64::engine::general_purpose::STANDARD
        .decode(compact)
        .unwrap_or_default();
    match openssl::x509::X509::from_der(&der) {
        Ok(cert) => {
            let subject: Vec<String> = cert
                .subject_name()
                .entries()
                .map(|e| {
                    let field = e.object().nid().short_name().unwrap_or("?");
                    let value = e.data().to_string().unwrap_or_default();
                    format!("{field}={value}")
                })
                .collect();
            (subject.join(", "), cert.not_after().to_string())
        }
        Err(e) => (format!("(unreadable certificate: {e})"), String::new()),
    }
}
