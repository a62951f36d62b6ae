//! An enveloped XML-DSig signer: signs one element of a SAML document (exclusive C14N, SHA-256
//! digest, RSA-SHA256 or ECDSA-SHA256) the way real IdPs do, with the signing certificate in
//! `KeyInfo`. The development IdP signs its responses with it, the login its AuthnRequests sent
//! with the HTTP-POST binding.
//!
//! The `ds:Signature` goes right after the element's `saml:Issuer`, where the SAML schema wants
//! it. The digest is computed over the element before the signature exists, which is what the
//! enveloped-signature transform gives back to a verifier. Every signature is checked with
//! fedbridge's own verifier before it is returned, so a document this module returns verifies.

use base64::Engine as _;
use openssl::ecdsa::EcdsaSig;
use openssl::hash::{MessageDigest, hash};
use openssl::pkey::{Id, PKey, Private};
use openssl::sign::Signer;
use openssl::x509::X509;

use crate::saml::SigningKey;
use crate::saml::ns::SAML;
use crate::saml::xml::c14n::{Mode, canonicalize};
use crate::saml::xml::{self, Element, XmlDocument, escape};
use crate::saml::xmldsig::algorithms::{AlgorithmPolicy, ENVELOPED_SIGNATURE, EXC_C14N};
use crate::saml::xmldsig::{DSIG_NS, verify_enveloped};

/// `SignatureMethod` of RSA keys.
pub const RSA_SHA256: &str = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256";
/// `SignatureMethod` of EC keys.
pub const ECDSA_SHA256: &str = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256";
/// `DigestMethod`: SHA-256.
pub const SHA256: &str = "http://www.w3.org/2001/04/xmlenc#sha256";

/// The largest document [`sign_enveloped`] parses.
const MAX_BYTES: usize = 16 * 1024 * 1024;

/// Why a document could not be signed.
#[derive(Debug, thiserror::Error)]
pub enum SignError {
    /// The document does not parse.
    #[error("the document to sign is not acceptable XML: {0}")]
    Xml(#[from] xml::XmlError),
    /// No element, or more than one, carries the ID.
    #[error("the document must hold exactly one element with ID {0:?}")]
    Id(String),
    /// The element to sign has no `saml:Issuer` as its first child element.
    #[error("the element with ID {0:?} has no saml:Issuer as its first child")]
    NoIssuer(String),
    /// The element already holds a signature.
    #[error("the element with ID {0:?} is signed already")]
    AlreadySigned(String),
    /// The place for the signature cannot be found in the text unambiguously.
    #[error("cannot locate the insertion point of the signature: {0}")]
    Layout(&'static str),
    /// The key is neither RSA nor EC.
    #[error("only RSA and EC keys can sign")]
    UnsupportedKey,
    /// Exclusive C14N failed.
    #[error("canonicalization failed")]
    Canonicalization,
    /// OpenSSL failed.
    #[error("openssl: {0}")]
    Crypto(#[from] openssl::error::ErrorStack),
    /// The certificate does not load as a signing key, or does not belong to the key.
    #[error("the certificate does not fit the signing key: {0}")]
    Certificate(String),
    /// The self-check with fedbridge's verifier failed (a bug of this module).
    #[error("the signature just made does not verify: {0}")]
    SelfCheck(String),
}

/// Signs the element whose `ID` attribute is `id` with an enveloped signature: the returned
/// document has a `ds:Signature` as that element's child right after its `saml:Issuer`.
/// RSA keys sign with RSA-SHA256, EC keys with ECDSA-SHA256 (raw `r||s`); the digest is
/// SHA-256 over the exclusive C14N of the element; `KeyInfo` holds `certificate`.
pub fn sign_enveloped(
    xml: &str,
    id: &str,
    key: &PKey<Private>,
    certificate: &X509,
) -> Result<String, SignError> {
    let method = match key.id() {
        Id::RSA => RSA_SHA256,
        Id::EC => ECDSA_SHA256,
        _ => return Err(SignError::UnsupportedKey),
    };
    let certificate_public = certificate.public_key()?;
    if !key.public_eq(&certificate_public) {
        return Err(SignError::Certificate(
            "its public key is not the signing key's".into(),
        ));
    }

    // 1. The digest of the element as it is (no signature yet: what the enveloped-signature
    //    transform will give back), and the place of the signature in the text.
    let (digest, insert_at) = {
        let doc = xml::parse(xml.as_bytes(), MAX_BYTES)?;
        let element = element_with_id(&doc, id)?;
        let first = element.children().next();
        if !first.is_some_and(|c| c.is(SAML, "Issuer")) {
            return Err(SignError::NoIssuer(id.to_owned()));
        }
        if element.children().any(|c| c.is(DSIG_NS, "Signature")) {
            return Err(SignError::AlreadySigned(id.to_owned()));
        }
        let canonical = canonicalize(&doc, element, None, Mode::Exclusive, &[], false)
            .map_err(|_| SignError::Canonicalization)?;
        let digest = hash(MessageDigest::sha256(), &canonical)?;
        (digest, after_issuer(xml, id)?)
    };

    // 2. The signature with an empty value, to canonicalize SignedInfo where it will live.
    let b64 = base64::engine::general_purpose::STANDARD;
    let certificate_b64 = b64.encode(certificate.to_der()?);
    let signed_info = format!(
        "<ds:SignedInfo>\
         <ds:CanonicalizationMethod Algorithm=\"{EXC_C14N}\"/>\
         <ds:SignatureMethod Algorithm=\"{method}\"/>\
         <ds:Reference URI=\"#{uri}\">\
         <ds:Transforms>\
         <ds:Transform Algorithm=\"{ENVELOPED_SIGNATURE}\"/>\
         <ds:Transform Algorithm=\"{EXC_C14N}\"/>\
         </ds:Transforms>\
         <ds:DigestMethod Algorithm=\"{SHA256}\"/>\
         <ds:DigestValue>{digest}</ds:DigestValue>\
         </ds:Reference>\
         </ds:SignedInfo>",
        uri = escape(id),
        digest = b64.encode(digest),
    );
    let signature = |value: &str| {
        format!(
            "<ds:Signature xmlns:ds=\"{DSIG_NS}\">{signed_info}\
             <ds:SignatureValue>{value}</ds:SignatureValue>\
             <ds:KeyInfo><ds:X509Data><ds:X509Certificate>{certificate_b64}\
             </ds:X509Certificate></ds:X509Data></ds:KeyInfo></ds:Signature>"
        )
    };
    let (head, tail) = xml.split_at(insert_at);
    let unsigned = format!("{head}{}{tail}", signature(""));

    // 3. The signature value over the canonical SignedInfo.
    let value = {
        let doc = xml::parse(unsigned.as_bytes(), MAX_BYTES)?;
        let element = element_with_id(&doc, id)?;
        let info = element
            .children()
            .find(|c| c.is(DSIG_NS, "Signature"))
            .and_then(|s| s.first_child(DSIG_NS, "SignedInfo"))
            .ok_or(SignError::Layout("the inserted signature is not found"))?;
        let canonical = canonicalize(&doc, info, None, Mode::Exclusive, &[], false)
            .map_err(|_| SignError::Canonicalization)?;
        b64.encode(sign(key, &canonical)?)
    };
    let signed = format!("{head}{}{tail}", signature(&value));

    // 4. The self-check: fedbridge's verifier must accept what we made.
    self_check(&signed, id, certificate)?;
    Ok(signed)
}

/// The one element of `doc` whose `ID` is `id`.
fn element_with_id<'a>(doc: &'a XmlDocument, id: &str) -> Result<Element<'a>, SignError> {
    let root = doc.root().ok_or_else(|| SignError::Id(id.to_owned()))?;
    let mut found = std::iter::once(root)
        .chain(root.descendants())
        .filter(|e| e.attr("ID").as_deref() == Some(id));
    match (found.next(), found.next()) {
        (Some(element), None) => Ok(element),
        _ => Err(SignError::Id(id.to_owned())),
    }
}

/// The byte offset right after the end tag of the `Issuer` that is the first child of the
/// element with `ID="id"`: found in the text, and refused when ambiguous.
fn after_issuer(xml: &str, id: &str) -> Result<usize, SignError> {
    let attribute = format!("ID=\"{}\"", escape(id));
    let mut hits = xml
        .match_indices(&attribute)
        .filter(|(at, _)| {
            xml[..*at]
                .chars()
                .next_back()
                .is_some_and(char::is_whitespace)
        })
        .map(|(at, _)| at);
    let at = match (hits.next(), hits.next()) {
        (Some(at), None) => at,
        _ => {
            return Err(SignError::Layout(
                "the ID attribute is not unique in the text",
            ));
        }
    };
    let start_tag_end = xml[at..]
        .find('>')
        .map(|i| at + i + 1)
        .ok_or(SignError::Layout("the start tag does not end"))?;
    if xml[..start_tag_end].ends_with("/>") {
        return Err(SignError::Layout("the element is empty"));
    }
    let rest = &xml[start_tag_end..];
    let issuer_start = rest.trim_start();
    let tag: String = issuer_start
        .strip_prefix('<')
        .unwrap_or_default()
        .chars()
        .take_while(|c| !c.is_whitespace() && *c != '>' && *c != '/')
        .collect();
    if tag != "Issuer" && !tag.ends_with(":Issuer") {
        return Err(SignError::Layout(
            "the Issuer does not follow the start tag",
        ));
    }
    let issuer_offset = start_tag_end + (rest.len() - issuer_start.len());
    let end_tag = xml[issuer_offset..]
        .find("</")
        .map(|i| issuer_offset + i)
        .ok_or(SignError::Layout("the Issuer does not end"))?;
    let name = xml[end_tag + 2..]
        .split('>')
        .next()
        .ok_or(SignError::Layout("the Issuer end tag does not end"))?;
    if name != "Issuer" && !name.ends_with(":Issuer") {
        return Err(SignError::Layout("the Issuer holds markup"));
    }
    Ok(end_tag + 2 + name.len() + 1)
}

/// Signs `data` with SHA-256; ECDSA signatures in the XML-DSig `r||s` form (RFC 4051).
fn sign(key: &PKey<Private>, data: &[u8]) -> Result<Vec<u8>, SignError> {
    let signature = Signer::new(MessageDigest::sha256(), key)?.sign_oneshot_to_vec(data)?;
    if key.id() != Id::EC {
        return Ok(signature);
    }
    let size = i32::try_from(key.bits().div_ceil(8)).map_err(|_| SignError::UnsupportedKey)?;
    let parsed = EcdsaSig::from_der(&signature)?;
    let mut raw = parsed.r().to_vec_padded(size)?;
    raw.extend(parsed.s().to_vec_padded(size)?);
    Ok(raw)
}

/// Verifies the signature of the element `id` in `signed` with fedbridge's verifier.
fn self_check(signed: &str, id: &str, certificate: &X509) -> Result<(), SignError> {
    let pem = String::from_utf8(certificate.to_pem()?)
        .map_err(|_| SignError::Certificate("PEM is not UTF-8".into()))?;
    let keys =
        SigningKey::from_certificates(&pem).map_err(|e| SignError::Certificate(e.to_string()))?;
    let doc = xml::parse(signed.as_bytes(), MAX_BYTES)?;
    let element = element_with_id(&doc, id)?;
    let children: Vec<Element<'_>> = element.children().collect();
    let signature = match children.as_slice() {
        [issuer, signature, ..]
            if issuer.is(SAML, "Issuer") && signature.is(DSIG_NS, "Signature") =>
        {
            *signature
        }
        _ => {
            return Err(SignError::SelfCheck(
                "the signature is not right after the Issuer".into(),
            ));
        }
    };
    verify_enveloped(&doc, element, signature, &keys, AlgorithmPolicy::default())
        .map_err(|e| SignError::SelfCheck(e.to_string()))
}
