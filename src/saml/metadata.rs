//! IdP metadata (`EntityDescriptor` or an `EntitiesDescriptor` aggregate): the entityID, the
//! signing certificates and the single sign-on endpoints of one IdP, read with the same
//! hardened parser as responses.

use std::borrow::Cow;

use super::error::quote;
use super::keys::{KeyError, SigningKey};
use super::ns::MD;
use super::xml::{self, Element};
use super::xmldsig::DSIG_NS;

/// The HTTP-Redirect binding URI.
pub const HTTP_REDIRECT: &str = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect";
/// The HTTP-POST binding URI.
pub const HTTP_POST: &str = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST";
/// Default size limit of a metadata document (aggregates are large).
pub const DEFAULT_MAX_METADATA_BYTES: usize = 64 * 1024 * 1024;

/// What fedbridge takes from an IdP's metadata.
#[derive(Debug, Clone)]
pub struct IdpMetadata {
    /// The IdP's entityID (the expected Issuer).
    pub entity_id: String,
    /// Every signing certificate (base64 DER bodies, as in the document).
    pub signing_certificates: Vec<String>,
    /// The keys of those certificates.
    pub signing_keys: Vec<SigningKey>,
    /// SingleSignOnService endpoints as (binding, location).
    pub sso_endpoints: Vec<(String, String)>,
}

impl IdpMetadata {
    /// The SSO URL for the HTTP-Redirect binding, where AuthnRequests go.
    pub fn redirect_sso_url(&self) -> Option<&str> {
        self.sso_endpoints
            .iter()
            .find(|(b, _)| b == HTTP_REDIRECT)
            .map(|(_, l)| l.as_str())
    }
}

/// Why metadata could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MetadataError {
    /// Not acceptable XML.
    #[error("the metadata is not acceptable XML: {0}")]
    Xml(#[from] xml::XmlError),
    /// The root is neither EntityDescriptor nor EntitiesDescriptor.
    #[error("the metadata root is <{0}>, expected EntityDescriptor or EntitiesDescriptor")]
    NotMetadata(String),
    /// No IdP entity (with the requested entityID).
    #[error("{0}")]
    EntityNotFound(String),
    /// Several IdPs and no entityID to choose one.
    #[error(
        "the metadata holds {count} identity providers ({examples}); set the IdP entityID to choose one"
    )]
    Ambiguous {
        /// How many IdPs.
        count: usize,
        /// A few of their entityIDs.
        examples: String,
    },
    /// The IdP has no usable signing certificate.
    #[error("the IdP {0} has no signing certificate in its metadata")]
    NoSigningCertificate(String),
    /// A certificate did not load.
    #[error("the IdP's signing certificate is unusable: {0}")]
    BadCertificate(#[from] KeyError),
    /// An endpoint URL that is not http(s).
    #[error("the endpoint location {0} is not an http or https URL")]
    BadEndpoint(String),
}

/// Reads the IdP `entity_id` (or the only IdP when `None`) from a metadata document.
pub fn parse_idp_metadata(
    bytes: &[u8],
    entity_id: Option<&str>,
    max_bytes: usize,
) -> Result<IdpMetadata, MetadataError> {
    let doc = xml::parse(bytes, max_bytes)?;
    let root = doc
        .root()
        .ok_or_else(|| MetadataError::NotMetadata(String::new()))?;
    let candidates: Vec<Element<'_>> = if root.is(MD, "EntityDescriptor") {
        vec![root]
    } else if root.is(MD, "EntitiesDescriptor") {
        root.descendants()
            .filter(|e| e.is(MD, "EntityDescriptor"))
            .collect()
    } else {
        return Err(MetadataError::NotMetadata(root.local_name().to_string()));
    };
    let idps: Vec<(Element<'_>, Element<'_>)> = candidates
        .into_iter()
        .filter_map(|e| e.first_child(MD, "IDPSSODescriptor").map(|d| (e, d)))
        .collect();
    let (entity, descriptor) = match entity_id {
        Some(wanted) => idps
            .iter()
            .find(|(e, _)| e.attr("entityID").as_deref() == Some(wanted))
            .copied()
            .ok_or_else(|| {
                MetadataError::EntityNotFound(format!(
                    "the metadata holds no IdP with entityID {}",
                    quote(wanted)
                ))
            })?,
        None => match idps.as_slice() {
            [one] => *one,
            [] => {
                return Err(MetadataError::EntityNotFound(
                    "the metadata holds no IdP (no IDPSSODescriptor)".into(),
                ));
            }
            many => {
                let examples: Vec<String> = many
                    .iter()
                    .take(3)
                    .map(|(e, _)| quote(&e.attr("entityID").unwrap_or_default()))
                    .collect();
                return Err(MetadataError::Ambiguous {
                    count: many.len(),
                    examples: examples.join(", "),
                });
            }
        },
    };
    let entity_id = entity
        .attr("entityID")
        .map(Cow::into_owned)
        .unwrap_or_default();

    let mut signing_certificates = Vec::new();
    for key in descriptor.children_named(MD, "KeyDescriptor") {
        if key.attr("use").is_some_and(|u| u != "signing") {
            continue;
        }
        let certs = key
            .first_child(DSIG_NS, "KeyInfo")
            .into_iter()
            .flat_map(|ki| ki.children_named(DSIG_NS, "X509Data"))
            .flat_map(|data| data.children_named(DSIG_NS, "X509Certificate"));
        for cert in certs {
            let body: String = cert.text().chars().filter(|c| !c.is_whitespace()).collect();
            if !body.is_empty() && !signing_certificates.contains(&body) {
                signing_certificates.push(body);
            }
        }
    }
    if signing_certificates.is_empty() {
        return Err(MetadataError::NoSigningCertificate(quote(&entity_id)));
    }
    let mut signing_keys = Vec::new();
    for body in &signing_certificates {
        signing_keys.extend(SigningKey::from_certificates(body)?);
    }
    let mut sso_endpoints = Vec::new();
    for service in descriptor.children_named(MD, "SingleSignOnService") {
        let binding = service.attr("Binding").unwrap_or_default().into_owned();
        let location = service.attr("Location").unwrap_or_default().into_owned();
        let scheme_ok = location.starts_with("https://") || location.starts_with("http://");
        if !scheme_ok {
            return Err(MetadataError::BadEndpoint(quote(&location)));
        }
        sso_endpoints.push((binding, location));
    }
    Ok(IdpMetadata {
        entity_id,
        signing_certificates,
        signing_keys,
        sso_endpoints,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(idp: &str) -> Vec<u8> {
        std::fs::read(format!(
            "{}/../shared/idp-samples/{idp}/idp-metadata.xml",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap()
    }

    #[test]
    fn reads_the_three_sample_idps() {
        for idp in ["simplesamlphp", "saml-idp", "pysaml2"] {
            let md = parse_idp_metadata(&sample(idp), None, DEFAULT_MAX_METADATA_BYTES).unwrap();
            assert!(
                md.entity_id.starts_with("http://127.0.0.1:"),
                "{idp}: {}",
                md.entity_id
            );
            assert!(!md.signing_keys.is_empty(), "{idp}");
            assert!(md.redirect_sso_url().is_some(), "{idp}");
        }
    }

    #[test]
    fn javascript_endpoint_is_refused() {
        let text = String::from_utf8(sample("simplesamlphp")).unwrap();
        let evil = text.replace("Location=\"http://", "Location=\"javascript:alert(1)//");
        assert!(matches!(
            parse_idp_metadata(evil.as_bytes(), None, DEFAULT_MAX_METADATA_BYTES),
            Err(MetadataError::BadEndpoint(_))
        ));
    }

    #[test]
    fn unknown_entity_is_named() {
        let err = parse_idp_metadata(
            &sample("pysaml2"),
            Some("https://nope"),
            DEFAULT_MAX_METADATA_BYTES,
        )
        .unwrap_err();
        assert!(err.to_string().contains("https://nope"));
    }
}
