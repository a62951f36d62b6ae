//! The summary of a metadata URL, shown before the administrator trusts it: fetched and parsed
//! exactly as `fedbridge serve` does (`web::idp::fetch`, `saml::metadata`).

use std::fmt;

use base64::Engine as _;

use fedbridge::saml::metadata::parse_idp_metadata;
use fedbridge::web::idp::{FETCH_TIMEOUT, MAX_METADATA_BYTES, fetch};

/// What the administrator checks before trusting an IdP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdpSummary {
    /// The URL fetched.
    pub url: String,
    /// The IdP's entityID.
    pub entity_id: String,
    /// The HTTP-Redirect SSO URL, where logins are sent.
    pub sso_url: Option<String>,
    /// Each signing certificate: (subject, notAfter).
    pub certificates: Vec<(String, String)>,
}

impl fmt::Display for IdpSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "IdP metadata at {}:", self.url)?;
        writeln!(f, "  entity ID    {}", self.entity_id)?;
        let sso = self
            .sso_url
            .as_deref()
            .unwrap_or("(none with the HTTP-Redirect binding)");
        writeln!(f, "  SSO URL      {sso}")?;
        for (subject, not_after) in &self.certificates {
            writeln!(f, "  certificate  {subject} (valid until {not_after})")?;
        }
        Ok(())
    }
}

/// Fetches `url` (no redirects, the server's timeout and size limit) and summarises the IdP
/// (`entity_id` picks it in an aggregate). The error says what went wrong, for a re-ask.
pub fn summarise(url: &str, entity_id: Option<&str>) -> Result<IdpSummary, String> {
    let body = actix_web::rt::System::new().block_on(async {
        let client = awc::Client::builder()
            .connector(awc::Connector::new().timeout(FETCH_TIMEOUT))
            .timeout(FETCH_TIMEOUT)
            .disable_redirects()
            .finish();
        fetch(&client, url, MAX_METADATA_BYTES).await
    })?;
    let metadata = parse_idp_metadata(&body, entity_id, MAX_METADATA_BYTES)
        .map_err(|e| format!("the IdP metadata is refused: {e}"))?;
    let certificates = metadata
        .signing_certificates
        .iter()
        .map(|b64| describe_certificate(b64))
        .collect();
    Ok(IdpSummary {
        url: url.to_owned(),
        sso_url: metadata.redirect_sso_url().map(str::to_owned),
        entity_id: metadata.entity_id,
        certificates,
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
