//! SP-initiated login (SPEC section 2, flow 1): the `AuthnRequest` we send to the IdP, with the
//! HTTP-Redirect binding (SAML bindings 3.4): raw DEFLATE (RFC 1951, no zlib header), base64,
//! URL-encoding, and optionally a detached signature over the query string (3.4.4.1); or with
//! the HTTP-POST binding (3.5) for IdPs that offer only that: base64 of the XML, optionally with
//! an enveloped signature (3.5.4).
//!
//! Pure: the time and the request ID come in as arguments. [`decode_redirect`] and
//! [`verify_redirect_signature`] are the receiving side (tests, the demo IdP).

use std::io::{Read as _, Write as _};

use base64::Engine as _;
use flate2::Compression;
use flate2::read::DeflateDecoder;
use flate2::write::DeflateEncoder;
use openssl::bn::BigNum;
use openssl::ecdsa::EcdsaSig;
use openssl::hash::MessageDigest;
use openssl::pkey::{HasPublic, Id, PKey, PKeyRef, Private};
use openssl::sign::{Signer, Verifier};
use openssl::x509::X509;
use time::OffsetDateTime;
use time::macros::format_description;
use url::form_urlencoded;

use super::xml::escape;

/// The HTTP-POST binding, where we want the IdP to send its response.
pub const BINDING_HTTP_POST: &str = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST";
/// Largest inflated `SAMLRequest` [`decode_redirect`] accepts.
pub const MAX_INFLATED_BYTES: u64 = 64 * 1024;

/// Why an AuthnRequest could not be encoded, decoded or verified.
#[derive(Debug, thiserror::Error)]
pub enum AuthnRequestError {
    /// OpenSSL failed (random numbers, signing, key handling).
    #[error("openssl: {0}")]
    Crypto(#[from] openssl::error::ErrorStack),
    /// DEFLATE or INFLATE failed.
    #[error("deflate: {0}")]
    Deflate(#[from] std::io::Error),
    /// The query string is not a valid redirect-binding message.
    #[error("invalid redirect binding message: {0}")]
    Malformed(String),
    /// The signature algorithm is unknown, not allowed, or does not fit the key.
    #[error("signature algorithm not accepted: {0}")]
    Algorithm(String),
    /// The signature does not verify.
    #[error("the redirect binding signature does not verify")]
    BadSignature,
    /// The enveloped signature of the HTTP-POST binding could not be made.
    #[error("cannot sign the AuthnRequest: {0}")]
    Sign(#[from] super::xmldsig::sign::SignError),
}

/// Signature algorithms of the redirect binding (`SigAlg`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RedirectSigAlg {
    /// `http://www.w3.org/2000/09/xmldsig#rsa-sha1`: verification only, when SHA-1 is allowed.
    RsaSha1,
    /// `http://www.w3.org/2001/04/xmldsig-more#rsa-sha256`.
    RsaSha256,
    /// `http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256`.
    EcdsaSha256,
}

impl RedirectSigAlg {
    /// The algorithm URI sent as `SigAlg`.
    pub fn uri(self) -> &'static str {
        match self {
            RedirectSigAlg::RsaSha1 => "http://www.w3.org/2000/09/xmldsig#rsa-sha1",
            RedirectSigAlg::RsaSha256 => "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
            RedirectSigAlg::EcdsaSha256 => "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256",
        }
    }

    /// The algorithm of `uri`, if known.
    pub fn from_uri(uri: &str) -> Option<RedirectSigAlg> {
        [
            RedirectSigAlg::RsaSha1,
            RedirectSigAlg::RsaSha256,
            RedirectSigAlg::EcdsaSha256,
        ]
        .into_iter()
        .find(|a| a.uri() == uri)
    }

    /// The algorithm that fits `key`: RSA-SHA256 for RSA keys, ECDSA-SHA256 for EC keys.
    pub fn for_key<T: HasPublic>(key: &PKeyRef<T>) -> Option<RedirectSigAlg> {
        match key.id() {
            Id::RSA => Some(RedirectSigAlg::RsaSha256),
            Id::EC => Some(RedirectSigAlg::EcdsaSha256),
            _ => None,
        }
    }

    fn digest(self) -> MessageDigest {
        match self {
            RedirectSigAlg::RsaSha1 => MessageDigest::sha1(),
            RedirectSigAlg::RsaSha256 | RedirectSigAlg::EcdsaSha256 => MessageDigest::sha256(),
        }
    }

    fn key_id(self) -> Id {
        match self {
            RedirectSigAlg::RsaSha1 | RedirectSigAlg::RsaSha256 => Id::RSA,
            RedirectSigAlg::EcdsaSha256 => Id::EC,
        }
    }
}

/// A fresh request ID: `_` and 32 hex digits from OpenSSL's random generator (an XML `ID`
/// must not start with a digit).
pub fn new_request_id() -> Result<String, AuthnRequestError> {
    let mut bytes = [0u8; 16];
    openssl::rand::rand_bytes(&mut bytes)?;
    let mut id = String::with_capacity(33);
    id.push('_');
    for b in bytes {
        id.push_str(&format!("{b:02x}"));
    }
    Ok(id)
}

/// An `AuthnRequest` to send to the IdP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthnRequest {
    /// The request `ID`, echoed by the IdP as `InResponseTo`.
    pub id: String,
    /// Our entityID, the `Issuer`.
    pub sp_entity_id: String,
    /// Our ACS URL, `AssertionConsumerServiceURL`.
    pub acs_url: String,
    /// The IdP's SSO URL (redirect binding), `Destination`.
    pub destination: String,
    /// `IssueInstant`.
    pub issue_instant: OffsetDateTime,
    /// Ask the IdP to authenticate the user again (`ForceAuthn="true"`).
    pub force_authn: bool,
}

impl AuthnRequest {
    /// A request issued at `now` with the ID `id` (see [`new_request_id`]).
    pub fn new(
        sp_entity_id: &str,
        acs_url: &str,
        destination_sso_url: &str,
        now: OffsetDateTime,
        id: String,
    ) -> AuthnRequest {
        AuthnRequest {
            id,
            sp_entity_id: sp_entity_id.to_string(),
            acs_url: acs_url.to_string(),
            destination: destination_sso_url.to_string(),
            issue_instant: now,
            force_authn: false,
        }
    }

    /// The request as XML (no XML declaration, no signature: the redirect binding signs the
    /// query string).
    pub fn to_xml(&self) -> String {
        let instant = self
            .issue_instant
            .to_offset(time::UtcOffset::UTC)
            .format(format_description!(
                "[year]-[month]-[day]T[hour]:[minute]:[second]Z"
            ))
            .unwrap_or_default();
        let force = if self.force_authn {
            " ForceAuthn=\"true\""
        } else {
            ""
        };
        format!(
            "<samlp:AuthnRequest xmlns:samlp=\"{samlp}\" xmlns:saml=\"{saml}\" ID=\"{id}\" \
             Version=\"2.0\" IssueInstant=\"{instant}\" Destination=\"{dest}\" \
             AssertionConsumerServiceURL=\"{acs}\" ProtocolBinding=\"{binding}\"{force}>\
             <saml:Issuer>{issuer}</saml:Issuer>\
             <samlp:NameIDPolicy AllowCreate=\"true\"/>\
             </samlp:AuthnRequest>",
            samlp = super::ns::SAMLP,
            saml = super::ns::SAML,
            id = escape(&self.id),
            dest = escape(&self.destination),
            acs = escape(&self.acs_url),
            binding = BINDING_HTTP_POST,
            issuer = escape(&self.sp_entity_id),
        )
    }

    /// The `SAMLRequest` form value of the HTTP-POST binding: the XML, signed with an enveloped
    /// signature (after the Issuer, `KeyInfo` with the certificate) when `signing` is given,
    /// base64-encoded (no DEFLATE).
    pub fn post_value(
        &self,
        signing: Option<(&PKey<Private>, &X509)>,
    ) -> Result<String, AuthnRequestError> {
        let xml = self.to_xml();
        let xml = match signing {
            Some((key, certificate)) => {
                super::xmldsig::sign::sign_enveloped(&xml, &self.id, key, certificate)?
            }
            None => xml,
        };
        Ok(base64::engine::general_purpose::STANDARD.encode(xml))
    }

    /// The URL to redirect the browser to: the `Destination` with `SAMLRequest`, `RelayState`
    /// and, when `signing` is given, `SigAlg` and `Signature` (over the exact query string
    /// `SAMLRequest=..&RelayState=..&SigAlg=..`). An empty `relay_state` is left out.
    pub fn redirect_url(
        &self,
        relay_state: &str,
        signing: Option<(&PKey<Private>, RedirectSigAlg)>,
    ) -> Result<String, AuthnRequestError> {
        let mut encoder = DeflateEncoder::new(Vec::new(), Compression::default());
        encoder.write_all(self.to_xml().as_bytes())?;
        let deflated = encoder.finish()?;
        let b64 = base64::engine::general_purpose::STANDARD.encode(deflated);
        let mut query = format!("SAMLRequest={}", url_encode(&b64));
        if !relay_state.is_empty() {
            query.push_str("&RelayState=");
            query.push_str(&url_encode(relay_state));
        }
        if let Some((key, alg)) = signing {
            query.push_str("&SigAlg=");
            query.push_str(&url_encode(alg.uri()));
            let signature = sign(key, alg, query.as_bytes())?;
            query.push_str("&Signature=");
            query.push_str(&url_encode(
                &base64::engine::general_purpose::STANDARD.encode(signature),
            ));
        }
        let separator = if self.destination.contains('?') {
            '&'
        } else {
            '?'
        };
        Ok(format!("{}{separator}{query}", self.destination))
    }
}

/// A redirect-binding message taken apart by [`decode_redirect`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodedRedirect {
    /// The inflated `SAMLRequest`.
    pub xml: String,
    /// `RelayState`, if present.
    pub relay_state: Option<String>,
    /// `SigAlg`, if present.
    pub sig_alg: Option<String>,
    /// The decoded `Signature`, if present.
    pub signature: Option<Vec<u8>>,
    /// The octets the signature covers, rebuilt from the values as received (3.4.4.1).
    pub signed_octets: String,
}

/// Takes apart the query string of a redirect-binding request (with or without the leading
/// URL and `?`): inflates `SAMLRequest` (at most [`MAX_INFLATED_BYTES`]) and decodes the rest.
pub fn decode_redirect(query: &str) -> Result<DecodedRedirect, AuthnRequestError> {
    // A whole URL: drop what precedes the query (a bare query may hold an unencoded `?`).
    let query = match query.split_once('?') {
        Some((prefix, rest)) if !prefix.contains('=') => rest,
        _ => query,
    };
    let query = query.split_once('#').map_or(query, |(q, _)| q);
    let (mut request, mut relay, mut sig_alg, mut signature) = (None, None, None, None);
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (name, raw) = pair.split_once('=').unwrap_or((pair, ""));
        let slot = match name {
            "SAMLRequest" => &mut request,
            "RelayState" => &mut relay,
            "SigAlg" => &mut sig_alg,
            "Signature" => &mut signature,
            _ => continue,
        };
        if slot.is_some() {
            return Err(AuthnRequestError::Malformed(format!(
                "{name} appears twice"
            )));
        }
        *slot = Some(raw);
    }
    let raw_request =
        request.ok_or_else(|| AuthnRequestError::Malformed("no SAMLRequest".into()))?;
    let deflated = base64::engine::general_purpose::STANDARD
        .decode(url_decode(raw_request).as_bytes())
        .map_err(|_| AuthnRequestError::Malformed("SAMLRequest is not base64".into()))?;
    let mut xml = Vec::new();
    DeflateDecoder::new(deflated.as_slice())
        .take(MAX_INFLATED_BYTES + 1)
        .read_to_end(&mut xml)?;
    if xml.len() as u64 > MAX_INFLATED_BYTES {
        return Err(AuthnRequestError::Malformed(format!(
            "SAMLRequest inflates to more than {MAX_INFLATED_BYTES} bytes"
        )));
    }
    let xml = String::from_utf8(xml)
        .map_err(|_| AuthnRequestError::Malformed("SAMLRequest is not UTF-8".into()))?;
    let mut signed_octets = format!("SAMLRequest={raw_request}");
    if let Some(r) = relay {
        signed_octets.push_str("&RelayState=");
        signed_octets.push_str(r);
    }
    if let Some(a) = sig_alg {
        signed_octets.push_str("&SigAlg=");
        signed_octets.push_str(a);
    }
    let signature = signature
        .map(|s| {
            base64::engine::general_purpose::STANDARD
                .decode(url_decode(s).as_bytes())
                .map_err(|_| AuthnRequestError::Malformed("Signature is not base64".into()))
        })
        .transpose()?;
    Ok(DecodedRedirect {
        xml,
        relay_state: relay.map(url_decode),
        sig_alg: sig_alg.map(url_decode),
        signature,
        signed_octets,
    })
}

/// Checks the signature of a decoded redirect message against `key`. RSA-SHA1 only when
/// `allow_sha1`; ECDSA signatures are accepted in both the XMLDSig `r||s` and the DER form.
pub fn verify_redirect_signature<T: HasPublic>(
    message: &DecodedRedirect,
    key: &PKeyRef<T>,
    allow_sha1: bool,
) -> Result<(), AuthnRequestError> {
    let (Some(uri), Some(signature)) = (&message.sig_alg, &message.signature) else {
        return Err(AuthnRequestError::Malformed(
            "no SigAlg or no Signature".into(),
        ));
    };
    let alg =
        RedirectSigAlg::from_uri(uri).ok_or_else(|| AuthnRequestError::Algorithm(uri.clone()))?;
    if alg == RedirectSigAlg::RsaSha1 && !allow_sha1 {
        return Err(AuthnRequestError::Algorithm(format!(
            "{uri} (SHA-1 is not allowed)"
        )));
    }
    if key.id() != alg.key_id() {
        return Err(AuthnRequestError::Algorithm(format!(
            "{uri} does not fit the key"
        )));
    }
    let der;
    let signature: &[u8] =
        if alg == RedirectSigAlg::EcdsaSha256 && EcdsaSig::from_der(signature).is_err() {
            let half = signature.len() / 2;
            if half == 0 || signature.len() % 2 != 0 {
                return Err(AuthnRequestError::BadSignature);
            }
            let r = BigNum::from_slice(&signature[..half])?;
            let s = BigNum::from_slice(&signature[half..])?;
            der = EcdsaSig::from_private_components(r, s)?.to_der()?;
            &der
        } else {
            signature
        };
    let mut verifier = Verifier::new(alg.digest(), key)?;
    verifier.update(message.signed_octets.as_bytes())?;
    if verifier.verify(signature).unwrap_or(false) {
        Ok(())
    } else {
        Err(AuthnRequestError::BadSignature)
    }
}

/// Signs `data`; ECDSA signatures are converted to the XMLDSig `r||s` form (RFC 4051).
fn sign(
    key: &PKey<Private>,
    alg: RedirectSigAlg,
    data: &[u8],
) -> Result<Vec<u8>, AuthnRequestError> {
    if key.id() != alg.key_id() {
        return Err(AuthnRequestError::Algorithm(format!(
            "{} does not fit the key",
            alg.uri()
        )));
    }
    let mut signer = Signer::new(alg.digest(), key)?;
    signer.update(data)?;
    let signature = signer.sign_to_vec()?;
    if alg != RedirectSigAlg::EcdsaSha256 {
        return Ok(signature);
    }
    let size = i32::try_from(key.bits().div_ceil(8))
        .map_err(|_| AuthnRequestError::Algorithm("EC key too large".into()))?;
    let parsed = EcdsaSig::from_der(&signature)?;
    let mut raw = parsed.r().to_vec_padded(size)?;
    raw.extend(parsed.s().to_vec_padded(size)?);
    Ok(raw)
}

fn url_encode(value: &str) -> String {
    form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

fn url_decode(value: &str) -> String {
    form_urlencoded::parse(format!("v={value}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use openssl::ec::{EcGroup, EcKey};
    use openssl::nid::Nid;
    use openssl::rsa::Rsa;
    use openssl::x509::X509;
    use time::macros::datetime;

    use super::*;

    fn request() -> AuthnRequest {
        AuthnRequest::new(
            "https://sp.example.com/saml/metadata",
            "https://sp.example.com/saml/acs?a=1&b=<2>",
            "https://idp.example.com/sso",
            datetime!(2026-11-23 12:00:00.5 +01:00),
            new_request_id().unwrap(),
        )
    }

    fn attr<'a>(xml: &'a str, name: &str) -> &'a str {
        let start = xml.find(&format!(" {name}=\"")).unwrap() + name.len() + 3;
        let len = xml[start..].find('"').unwrap();
        &xml[start..start + len]
    }

    #[test]
    fn request_ids_are_fresh_and_xml_safe() {
        let a = new_request_id().unwrap();
        let b = new_request_id().unwrap();
        assert_ne!(a, b);
        assert_eq!(a.len(), 33);
        assert!(a.starts_with('_'));
        assert!(a[1..].chars().all(|c| c.is_ascii_hexdigit()));
    }

    #[test]
    fn xml_has_the_checked_fields_and_parses() {
        let req = request();
        let xml = req.to_xml();
        assert_eq!(attr(&xml, "ID"), req.id);
        assert_eq!(attr(&xml, "Version"), "2.0");
        assert_eq!(attr(&xml, "IssueInstant"), "2026-11-23T11:00:00Z");
        assert_eq!(attr(&xml, "Destination"), "https://idp.example.com/sso");
        assert_eq!(
            attr(&xml, "AssertionConsumerServiceURL"),
            "https://sp.example.com/saml/acs?a=1&amp;b=&lt;2&gt;"
        );
        assert_eq!(attr(&xml, "ProtocolBinding"), BINDING_HTTP_POST);
        assert!(xml.contains("<saml:Issuer>https://sp.example.com/saml/metadata</saml:Issuer>"));
        assert!(xml.contains("AllowCreate=\"true\""));
        assert!(!xml.contains("ForceAuthn"));
        let forced = AuthnRequest {
            force_authn: true,
            ..req
        };
        assert!(forced.to_xml().contains("ForceAuthn=\"true\""));
        crate::saml::xml::parse(xml.as_bytes(), 64 * 1024).unwrap();
    }

    #[test]
    fn unsigned_round_trip() {
        let req = request();
        let url = req.redirect_url("handle/with&odd=chars", None).unwrap();
        assert!(url.starts_with("https://idp.example.com/sso?SAMLRequest="));
        let decoded = decode_redirect(&url).unwrap();
        assert_eq!(decoded.xml, req.to_xml());
        assert_eq!(
            decoded.relay_state.as_deref(),
            Some("handle/with&odd=chars")
        );
        assert_eq!(decoded.sig_alg, None);
        assert_eq!(decoded.signature, None);
        // Raw DEFLATE: no zlib header (0x78).
        let b64 = url
            .split("SAMLRequest=")
            .nth(1)
            .unwrap()
            .split('&')
            .next()
            .unwrap();
        let raw = base64::engine::general_purpose::STANDARD
            .decode(url_decode(b64))
            .unwrap();
        assert_ne!(raw[0], 0x78);
    }

    #[test]
    fn a_bare_query_may_hold_an_unencoded_question_mark() {
        let url = request().redirect_url("x", None).unwrap();
        let query = url
            .split_once('?')
            .unwrap()
            .1
            .replace("RelayState=x", "RelayState=/a?b");
        let decoded = decode_redirect(&query).unwrap();
        assert_eq!(decoded.relay_state.as_deref(), Some("/a?b"));
    }

    #[test]
    fn destination_with_a_query_gets_an_ampersand() {
        let mut req = request();
        req.destination = "https://idp.example.com/sso?tenant=x".into();
        let url = req.redirect_url("r", None).unwrap();
        assert!(url.starts_with("https://idp.example.com/sso?tenant=x&SAMLRequest="));
        assert_eq!(decode_redirect(&url).unwrap().xml, req.to_xml());
    }

    #[test]
    fn rsa_signed_query_verifies_and_tampering_fails() {
        let key = PKey::from_rsa(Rsa::generate(2048).unwrap()).unwrap();
        let alg = RedirectSigAlg::for_key(&key).unwrap();
        assert_eq!(alg, RedirectSigAlg::RsaSha256);
        let url = request().redirect_url("relay", Some((&key, alg))).unwrap();
        let decoded = decode_redirect(&url).unwrap();
        assert_eq!(decoded.sig_alg.as_deref(), Some(alg.uri()));
        verify_redirect_signature(&decoded, &key, false).unwrap();
        let tampered =
            decode_redirect(&url.replace("RelayState=relay", "RelayState=evil")).unwrap();
        assert!(matches!(
            verify_redirect_signature(&tampered, &key, false),
            Err(AuthnRequestError::BadSignature)
        ));
        let other = PKey::from_rsa(Rsa::generate(2048).unwrap()).unwrap();
        assert!(verify_redirect_signature(&decoded, &other, false).is_err());
    }

    #[test]
    fn ecdsa_signed_query_verifies_raw_and_der() {
        let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap();
        let key = PKey::from_ec_key(EcKey::generate(&group).unwrap()).unwrap();
        let alg = RedirectSigAlg::for_key(&key).unwrap();
        assert_eq!(alg, RedirectSigAlg::EcdsaSha256);
        let url = request().redirect_url("relay", Some((&key, alg))).unwrap();
        let mut decoded = decode_redirect(&url).unwrap();
        assert_eq!(decoded.signature.as_ref().unwrap().len(), 64);
        verify_redirect_signature(&decoded, &key, false).unwrap();
        // The same signature in DER form also verifies.
        let sig = decoded.signature.clone().unwrap();
        let der = EcdsaSig::from_private_components(
            BigNum::from_slice(&sig[..32]).unwrap(),
            BigNum::from_slice(&sig[32..]).unwrap(),
        )
        .unwrap()
        .to_der()
        .unwrap();
        decoded.signature = Some(der);
        verify_redirect_signature(&decoded, &key, false).unwrap();
        decoded.signed_octets.push('x');
        assert!(verify_redirect_signature(&decoded, &key, false).is_err());
        // An RSA algorithm with an EC key is refused when signing.
        assert!(
            request()
                .redirect_url("r", Some((&key, RedirectSigAlg::RsaSha256)))
                .is_err()
        );
    }

    /// crewjam's `TestSPCanProduceSignedRequestRedirectBinding` golden (all eight of its files
    /// are the same RSA-SHA1 query, see tests/fixtures/authn-request/README.md).
    #[test]
    fn crewjam_redirect_golden_verifies_with_the_corpus_sp_cert() {
        let fixture = |name: &str| {
            std::fs::read_to_string(format!(
                "{}/tests/fixtures/authn-request/{name}",
                env!("CARGO_MANIFEST_DIR")
            ))
            .unwrap()
        };
        let cert = X509::from_pem(fixture("crewjam-sp_cert.pem").as_bytes()).unwrap();
        let public = cert.public_key().unwrap();
        let query = fixture("crewjam-rsa-sha1_queryString");
        let decoded = decode_redirect(query.trim()).unwrap();
        assert_eq!(
            decoded.xml.trim(),
            fixture("crewjam-rsa-sha1_decodedRequest").trim()
        );
        assert_eq!(decoded.relay_state.as_deref(), Some("relayState"));
        assert_eq!(
            decoded.sig_alg.as_deref(),
            Some(RedirectSigAlg::RsaSha1.uri())
        );
        verify_redirect_signature(&decoded, &public, true).unwrap();
        // SHA-1 is refused unless allowed.
        assert!(matches!(
            verify_redirect_signature(&decoded, &public, false),
            Err(AuthnRequestError::Algorithm(_))
        ));
        crate::saml::xml::parse(decoded.xml.as_bytes(), 64 * 1024).unwrap();
        let tampered = decode_redirect(&query.trim().replace("relayState", "relayStatf")).unwrap();
        assert!(matches!(
            verify_redirect_signature(&tampered, &public, true),
            Err(AuthnRequestError::BadSignature)
        ));
        // The same message re-encoded by us (different DEFLATE output) no longer verifies:
        // the signature covers the query string as sent, not the XML.
        let mut reencoded = decoded.clone();
        let mut e = DeflateEncoder::new(Vec::new(), Compression::best());
        e.write_all(decoded.xml.as_bytes()).unwrap();
        let b64 = base64::engine::general_purpose::STANDARD.encode(e.finish().unwrap());
        reencoded.signed_octets = decoded.signed_octets.replacen(
            decoded.signed_octets.split('&').next().unwrap(),
            &format!("SAMLRequest={}", url_encode(&b64)),
            1,
        );
        assert!(verify_redirect_signature(&reencoded, &public, true).is_err());
    }

    #[test]
    fn malformed_queries_are_refused() {
        assert!(decode_redirect("RelayState=x").is_err());
        assert!(decode_redirect("SAMLRequest=!!!").is_err());
        assert!(decode_redirect("SAMLRequest=AAAA&SAMLRequest=AAAA").is_err());
        let bomb = {
            let mut e = DeflateEncoder::new(Vec::new(), Compression::best());
            e.write_all(&vec![b'a'; 200_000]).unwrap();
            base64::engine::general_purpose::STANDARD.encode(e.finish().unwrap())
        };
        assert!(matches!(
            decode_redirect(&format!("SAMLRequest={}", url_encode(&bomb))),
            Err(AuthnRequestError::Malformed(_))
        ));
    }
}
