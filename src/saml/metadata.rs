//! IdP metadata (`EntityDescriptor` or an `EntitiesDescriptor` aggregate): the entityID, the
//! signing certificates and the single sign-on endpoints of one IdP, read with the same
//! hardened parser as responses.

use std::borrow::Cow;

use base64::Engine as _;

use super::error::quote;
use super::keys::{CredentialError, SigningKey};
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
    /// The SSO URL for the HTTP-Redirect binding.
    pub fn redirect_sso_url(&self) -> Option<&str> {
        self.sso_endpoints
            .iter()
            .find(|(b, _)| b.eq_ignore_ascii_case(HTTP_REDIRECT))
            .map(|(_, l)| l.as_str())
    }

    /// Where AuthnRequests go: the first binding of `preference` the IdP offers.
    pub fn sso_endpoint(&self, preference: &[SsoBinding]) -> Option<SsoEndpoint> {
        preference.iter().find_map(|binding| {
            self.sso_endpoints
                .iter()
                .find(|(b, _)| b.eq_ignore_ascii_case(binding.uri()))
                .map(|(_, url)| SsoEndpoint {
                    binding: *binding,
                    url: url.clone(),
                })
        })
    }
}

/// A binding fedbridge sends AuthnRequests with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SsoBinding {
    /// HTTP-Redirect: the deflated request in the query string (a signature over it).
    Redirect,
    /// HTTP-POST: the request in an auto-submitted form (an enveloped signature).
    Post,
}

impl SsoBinding {
    /// The binding's URI.
    pub fn uri(self) -> &'static str {
        match self {
            SsoBinding::Redirect => HTTP_REDIRECT,
            SsoBinding::Post => HTTP_POST,
        }
    }
}

/// An IdP SingleSignOnService: its binding and location.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SsoEndpoint {
    /// How the request is sent.
    pub binding: SsoBinding,
    /// Where.
    pub url: String,
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
        /// Every IdP's entityID, in document order (to choose from).
        entity_ids: Vec<String>,
    },
    /// The IdP has no usable signing certificate.
    #[error("the IdP {0} has no signing certificate in its metadata")]
    NoSigningCertificate(String),
    /// A certificate did not load.
    #[error("the IdP's signing certificate is unusable: {0}")]
    BadCertificate(#[from] CredentialError),
    /// An endpoint URL that is not http(s).
    #[error("the endpoint location {0} is not an http or https URL")]
    BadEndpoint(String),
}

/// The SAML 2.0 protocol token of `protocolSupportEnumeration`.
const SAML2_PROTOCOL: &str = "urn:oasis:names:tc:SAML:2.0:protocol";

/// Reads the IdP `entity_id` (or the only IdP when `None`) from a metadata document.
///
/// The document is an `EntityDescriptor` or an `EntitiesDescriptor` aggregate (nested
/// aggregates included). An IdP is an entity with an `IDPSSODescriptor` that supports the SAML
/// 2.0 protocol. Its signing certificates are those of every `KeyDescriptor` with
/// `use="signing"` or without `use`; every `SingleSignOnService` location must be an http(s)
/// URL. Binding URIs are compared without regard to ASCII case and kept in their standard
/// spelling.
pub fn parse_idp_metadata(
    bytes: &[u8],
    entity_id: Option<&str>,
    max_bytes: usize,
) -> Result<IdpMetadata, MetadataError> {
    let doc = xml::parse(bytes, max_bytes)?;
    let root = doc
        .root()
        .ok_or_else(|| MetadataError::NotMetadata(String::new()))?;
    let entities = entity_descriptors(root)?;
    let (entity, descriptor) = match entity_id {
        Some(wanted) => select(&entities, wanted)?,
        None => {
            let idps: Vec<(Element<'_>, Element<'_>)> = entities
                .iter()
                .filter_map(|e| idp_descriptor(*e).map(|d| (*e, d)))
                .collect();
            match idps.as_slice() {
                [one] => *one,
                [] => {
                    return Err(MetadataError::EntityNotFound(
                        "the metadata holds no identity provider (no SAML 2.0 IDPSSODescriptor)"
                            .into(),
                    ));
                }
                many => {
                    let examples: Vec<String> = many
                        .iter()
                        .take(3)
                        .map(|(e, _)| quote(&e.attr("entityID").unwrap_or_default()))
                        .collect();
                    let more = if many.len() > 3 { ", ..." } else { "" };
                    return Err(MetadataError::Ambiguous {
                        count: many.len(),
                        examples: format!("{}{more}", examples.join(", ")),
                        entity_ids: many
                            .iter()
                            .map(|(e, _)| e.attr("entityID").unwrap_or_default().into_owned())
                            .collect(),
                    });
                }
            }
        }
    };
    let entity_id = entity
        .attr("entityID")
        .map(Cow::into_owned)
        .unwrap_or_default();

    let signing_certificates = signing_certificates(descriptor);
    if signing_certificates.is_empty() {
        return Err(MetadataError::NoSigningCertificate(quote(&entity_id)));
    }
    let mut signing_keys = Vec::new();
    for body in &signing_certificates {
        signing_keys.extend(SigningKey::from_certificates(body)?);
    }
    let mut sso_endpoints = Vec::new();
    for service in descriptor.children_named(MD, "SingleSignOnService") {
        let binding = service.attr("Binding").unwrap_or_default();
        let binding = [HTTP_REDIRECT, HTTP_POST]
            .into_iter()
            .find(|known| known.eq_ignore_ascii_case(binding.trim()))
            .map_or_else(|| binding.trim().to_owned(), str::to_owned);
        let location = service.attr("Location").unwrap_or_default();
        let location = location.trim();
        if !is_http_url(location) {
            return Err(MetadataError::BadEndpoint(quote(location)));
        }
        sso_endpoints.push((binding, location.to_owned()));
    }
    Ok(IdpMetadata {
        entity_id,
        signing_certificates,
        signing_keys,
        sso_endpoints,
    })
}

/// Every `EntityDescriptor` of the document, in document order: the root itself, or the
/// members of an aggregate and of the aggregates nested in it. Only the aggregate structure is
/// walked, not the entities' contents.
fn entity_descriptors(root: Element<'_>) -> Result<Vec<Element<'_>>, MetadataError> {
    if root.is(MD, "EntityDescriptor") {
        return Ok(vec![root]);
    }
    if !root.is(MD, "EntitiesDescriptor") {
        return Err(MetadataError::NotMetadata(root.local_name().to_string()));
    }
    let mut found = Vec::new();
    // Depth-first, children pushed in reverse so the document order is kept.
    let mut stack = vec![root];
    while let Some(aggregate) = stack.pop() {
        let mut nested = Vec::new();
        for child in aggregate.children() {
            if child.is(MD, "EntityDescriptor") {
                found.push(child);
            } else if child.is(MD, "EntitiesDescriptor") {
                nested.push(child);
            }
        }
        stack.extend(nested.into_iter().rev());
    }
    Ok(found)
}

/// The entity `wanted` and its IdP descriptor; an error naming it when it is absent, not an
/// IdP, or there more than once.
fn select<'a>(
    entities: &[Element<'a>],
    wanted: &str,
) -> Result<(Element<'a>, Element<'a>), MetadataError> {
    let matching: Vec<Element<'a>> = entities
        .iter()
        .copied()
        .filter(|e| e.attr("entityID").as_deref() == Some(wanted))
        .collect();
    match matching.as_slice() {
        [] => Err(MetadataError::EntityNotFound(format!(
            "the metadata holds no entity with entityID {} ({} entit{} in the document)",
            quote(wanted),
            entities.len(),
            if entities.len() == 1 { "y" } else { "ies" }
        ))),
        [one] => idp_descriptor(*one).map(|d| (*one, d)).ok_or_else(|| {
            MetadataError::EntityNotFound(format!(
                "the entity {} in the metadata is not an identity provider (no SAML 2.0 \
                 IDPSSODescriptor)",
                quote(wanted)
            ))
        }),
        many => Err(MetadataError::EntityNotFound(format!(
            "the metadata describes the entity {} {} times; refusing to choose",
            quote(wanted),
            many.len()
        ))),
    }
}

/// The entity's `IDPSSODescriptor` that supports SAML 2.0, if any.
fn idp_descriptor(entity: Element<'_>) -> Option<Element<'_>> {
    entity.children_named(MD, "IDPSSODescriptor").find(|d| {
        d.attr("protocolSupportEnumeration")
            .is_some_and(|p| p.split_whitespace().any(|t| t == SAML2_PROTOCOL))
    })
}

/// The base64 bodies of the signing certificates: every `X509Certificate` of every
/// `KeyDescriptor` whose `use` is `signing` or absent, each once.
fn signing_certificates(descriptor: Element<'_>) -> Vec<String> {
    let mut found: Vec<String> = Vec::new();
    for key in descriptor.children_named(MD, "KeyDescriptor") {
        if key.attr("use").is_some_and(|u| u.trim() != "signing") {
            continue;
        }
        let certs = key
            .children_named(DSIG_NS, "KeyInfo")
            .flat_map(|ki| ki.children_named(DSIG_NS, "X509Data"))
            .flat_map(|data| data.children_named(DSIG_NS, "X509Certificate"));
        for cert in certs {
            let body = unwrap_double_encoded(squeeze(&cert.text()));
            if !body.is_empty() && !found.contains(&body) {
                found.push(body);
            }
        }
    }
    found
}

fn squeeze(text: &str) -> String {
    text.chars().filter(|c| !c.is_whitespace()).collect()
}

/// Some metadata (python3-saml's `idp_multiple_descriptors.xml`) carries the base64 of a whole
/// PEM file instead of the base64 of the DER: that is unwrapped to the DER body inside. Any
/// other body is returned as it is (and fails later if it is not a certificate).
fn unwrap_double_encoded(body: String) -> String {
    const BEGIN: &str = "-----BEGIN CERTIFICATE-----";
    const END: &str = "-----END CERTIFICATE-----";
    // "-----BEGIN" in base64.
    if !body.starts_with("LS0tLS1CRUdJTi") {
        return body;
    }
    let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(&body) else {
        return body;
    };
    let Ok(pem) = std::str::from_utf8(&decoded) else {
        return body;
    };
    match (pem.find(BEGIN), pem.find(END)) {
        (Some(start), Some(end)) if start + BEGIN.len() <= end => {
            squeeze(&pem[start + BEGIN.len()..end])
        }
        _ => body,
    }
}

/// Whether `location` is an absolute http or https URL with a host (scheme in any case).
fn is_http_url(location: &str) -> bool {
    url::Url::parse(location)
        .is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
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
    fn an_entity_described_twice_is_refused() {
        let one = String::from_utf8(sample("pysaml2")).unwrap();
        let body = one.trim_start_matches(|c| c != '>').trim_start_matches('>');
        let body = if one.starts_with("<?xml") {
            body
        } else {
            one.as_str()
        };
        let twice = format!(
            "<md:EntitiesDescriptor xmlns:md=\"{MD}\">{body}{body}</md:EntitiesDescriptor>"
        );
        let wanted = parse_idp_metadata(&sample("pysaml2"), None, DEFAULT_MAX_METADATA_BYTES)
            .unwrap()
            .entity_id;
        let err = parse_idp_metadata(twice.as_bytes(), Some(&wanted), DEFAULT_MAX_METADATA_BYTES)
            .unwrap_err();
        assert!(err.to_string().contains("2 times"), "{err}");
    }

    #[test]
    fn a_pem_file_in_base64_is_unwrapped() {
        let pem = include_str!("../../tests/fixtures/xmlsec/keys/idp-rsa.crt");
        let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
        let wrapped = base64::engine::general_purpose::STANDARD.encode(pem);
        assert_eq!(unwrap_double_encoded(wrapped), body);
        assert_eq!(unwrap_double_encoded(body.clone()), body);
        assert_eq!(
            unwrap_double_encoded("LS0tLS1CRUdJTiBx".into()),
            "LS0tLS1CRUdJTiBx"
        );
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
