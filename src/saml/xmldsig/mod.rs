//! XML-DSig verification of an enveloped signature, as the SAML profile (SAML core 5.4) uses it.
//!
//! [`verify_enveloped`] takes the element that is claimed to be signed and its `ds:Signature`
//! child. It never looks anything up by ID: the Reference must name the very element given, and
//! the digest is computed over that element's subtree. Callers then read data only from that
//! element, which is what defeats XML Signature Wrapping.

pub mod algorithms;
pub mod sign;

use base64::Engine as _;
use openssl::bn::BigNum;
use openssl::ecdsa::EcdsaSig;
use openssl::pkey::Id;
use openssl::sign::Verifier;

use self::algorithms::{
    AlgorithmPolicy, CANONICALIZATIONS, Digest, ENVELOPED_SIGNATURE, KeyFamily, MIN_RSA_BITS,
    SignatureAlgorithm, short,
};
use super::error::{Rejection, RejectionReason as R, quote};
use super::keys::SigningKey;
use super::xml::c14n::{self, Mode};
use super::xml::{Element, XmlDocument};

/// The XML-DSig namespace.
pub const DSIG_NS: &str = "http://www.w3.org/2000/09/xmldsig#";
const EXC_C14N_NS: &str = "http://www.w3.org/2001/10/xml-exc-c14n#";

/// Verifies that `signature` (a `ds:Signature` child of `signed`) is a valid enveloped
/// signature over exactly `signed`, made by one of `keys`.
pub fn verify_enveloped(
    doc: &XmlDocument,
    signed: Element<'_>,
    signature: Element<'_>,
    keys: &[SigningKey],
    policy: AlgorithmPolicy,
) -> Result<(), Rejection> {
    if signature.parent() != Some(signed) {
        return Err(malformed(
            "the signature is not a direct child of the element it signs",
        ));
    }
    let parts = SignatureParts::read(signature)?;
    let info = SignedInfo::read(parts.signed_info, policy)?;

    let signed_id = signed.attr("ID").unwrap_or_default();
    if signed_id.is_empty() || info.reference_uri.strip_prefix('#') != Some(&*signed_id) {
        return Err(Rejection::new(
            R::ReferenceInvalid,
            format!(
                "the Reference URI {} does not name the signed <{}> (it must be '#' followed by its ID)",
                quote(&info.reference_uri),
                signed.local_name()
            ),
        ));
    }

    let canonical = c14n::canonicalize(
        doc,
        signed,
        Some(signature),
        info.reference_c14n.mode,
        &info.reference_c14n.prefixes(),
        info.reference_c14n.with_comments,
    )
    .map_err(|_| {
        Rejection::new(
            R::CanonicalizationFailed,
            format!(
                "the signed <{}> cannot be canonicalized",
                signed.local_name()
            ),
        )
    })?;
    let digest = openssl::hash::hash(info.digest.message_digest(), &canonical).map_err(|_| {
        Rejection::new(
            R::CanonicalizationFailed,
            "the digest could not be computed",
        )
    })?;
    let expected =
        decode_base64(&info.digest_value).ok_or_else(|| malformed("DigestValue is not base64"))?;
    if expected.len() != digest.len() || !openssl::memcmp::eq(&expected, &digest) {
        return Err(Rejection::new(
            R::DigestMismatch,
            format!(
                "the <{}> was changed after it was signed (digest mismatch)",
                signed.local_name()
            ),
        ));
    }

    // SignedInfo is canonicalized with its own CanonicalizationMethod, whichever it is.
    let signed_info_bytes = c14n::canonicalize(
        doc,
        parts.signed_info,
        None,
        info.signed_info_c14n.mode,
        &info.signed_info_c14n.prefixes(),
        info.signed_info_c14n.with_comments,
    )
    .map_err(|_| {
        Rejection::new(
            R::CanonicalizationFailed,
            "SignedInfo cannot be canonicalized",
        )
    })?;
    let signature_value = decode_base64(&parts.signature_value.text())
        .ok_or_else(|| malformed("SignatureValue is not base64"))?;
    verify_signature_value(
        &signed_info_bytes,
        &signature_value,
        info.algorithm,
        keys,
        policy,
    )
}

/// The children of a `ds:Signature`, checked against the schema's order.
struct SignatureParts<'a> {
    signed_info: Element<'a>,
    signature_value: Element<'a>,
}

impl<'a> SignatureParts<'a> {
    fn read(signature: Element<'a>) -> Result<Self, Rejection> {
        let mut children = signature.children();
        let signed_info = children
            .next()
            .filter(|e| e.is(DSIG_NS, "SignedInfo"))
            .ok_or_else(|| malformed("the first child of Signature is not SignedInfo"))?;
        let signature_value = children
            .next()
            .filter(|e| e.is(DSIG_NS, "SignatureValue"))
            .ok_or_else(|| malformed("SignedInfo is not followed by SignatureValue"))?;
        for extra in children {
            if !extra.is(DSIG_NS, "KeyInfo") {
                return Err(malformed(&format!(
                    "Signature contains <{}>; only SignedInfo, SignatureValue and KeyInfo are allowed",
                    extra.local_name()
                )));
            }
        }
        if signature
            .children()
            .filter(|e| e.is(DSIG_NS, "KeyInfo"))
            .count()
            > 1
        {
            return Err(malformed("Signature contains more than one KeyInfo"));
        }
        Ok(SignatureParts {
            signed_info,
            signature_value,
        })
    }
}

/// A canonicalization step: algorithm and PrefixList.
struct C14nStep {
    mode: Mode,
    with_comments: bool,
    prefix_list: String,
}

impl C14nStep {
    fn read(method: Element<'_>, what: &str) -> Result<Self, Rejection> {
        let algorithm = method.attr("Algorithm").unwrap_or_default();
        let Some(&(_, mode, with_comments)) = CANONICALIZATIONS
            .iter()
            .find(|(uri, _, _)| *uri == &*algorithm)
        else {
            return Err(Rejection::new(
                if what == "transform" {
                    R::TransformNotAllowed
                } else {
                    R::AlgorithmNotAllowed
                },
                format!(
                    "{what} {} is not allowed; only exclusive C14N and Canonical XML 1.0 and 1.1 are",
                    short(&algorithm)
                ),
            ));
        };
        let mut prefix_list = String::new();
        for child in method.children() {
            // PrefixList belongs to exclusive C14N; an inclusive method takes no parameter.
            if mode == Mode::Exclusive
                && child.is(EXC_C14N_NS, "InclusiveNamespaces")
                && prefix_list.is_empty()
            {
                prefix_list = child.attr("PrefixList").unwrap_or_default().into_owned();
            } else {
                return Err(malformed(&format!(
                    "unexpected <{}> inside the {what}",
                    child.local_name()
                )));
            }
        }
        Ok(C14nStep {
            mode,
            with_comments,
            prefix_list,
        })
    }

    /// The implicit final step of a Reference without a C14N transform: inclusive C14N 1.0.
    fn implicit() -> Self {
        C14nStep {
            mode: Mode::Inclusive10,
            with_comments: false,
            prefix_list: String::new(),
        }
    }

    fn prefixes(&self) -> Vec<&str> {
        self.prefix_list.split_ascii_whitespace().collect()
    }
}

/// What `SignedInfo` says, after every allow-list check.
struct SignedInfo {
    signed_info_c14n: C14nStep,
    algorithm: SignatureAlgorithm,
    reference_uri: String,
    reference_c14n: C14nStep,
    digest: Digest,
    digest_value: String,
}

impl SignedInfo {
    fn read(signed_info: Element<'_>, policy: AlgorithmPolicy) -> Result<Self, Rejection> {
        let mut children = signed_info.children();
        let c14n_method = children
            .next()
            .filter(|e| e.is(DSIG_NS, "CanonicalizationMethod"))
            .ok_or_else(|| malformed("SignedInfo does not start with CanonicalizationMethod"))?;
        let signature_method = children
            .next()
            .filter(|e| e.is(DSIG_NS, "SignatureMethod"))
            .ok_or_else(|| {
                malformed("CanonicalizationMethod is not followed by SignatureMethod")
            })?;
        let references: Vec<Element<'_>> = children.collect();
        if references.len() != 1 || !references[0].is(DSIG_NS, "Reference") {
            return Err(Rejection::new(
                R::ReferenceInvalid,
                format!(
                    "SignedInfo must hold exactly one Reference, it holds {} elements after SignatureMethod",
                    references.len()
                ),
            ));
        }
        if signature_method.children().next().is_some() {
            return Err(malformed(
                "SignatureMethod has child elements (HMACOutputLength is not allowed)",
            ));
        }
        let signed_info_c14n = C14nStep::read(c14n_method, "canonicalization method")?;
        let algorithm = SignatureAlgorithm::from_uri(
            &signature_method.attr("Algorithm").unwrap_or_default(),
            policy,
        )?;
        let reference = references[0];
        let reference_uri = reference
            .attr("URI")
            .ok_or_else(|| Rejection::new(R::ReferenceInvalid, "the Reference has no URI"))?
            .into_owned();

        let mut parts = reference.children();
        let mut next = parts.next();
        let mut reference_c14n = None;
        let mut enveloped = 0;
        if let Some(transforms) = next.filter(|e| e.is(DSIG_NS, "Transforms")) {
            for transform in transforms.children() {
                if !transform.is(DSIG_NS, "Transform") {
                    return Err(malformed("Transforms holds something other than Transform"));
                }
                let algorithm = transform.attr("Algorithm").unwrap_or_default();
                if algorithm == ENVELOPED_SIGNATURE {
                    if transform.children().next().is_some() {
                        return Err(malformed("the enveloped-signature transform has content"));
                    }
                    enveloped += 1;
                } else if reference_c14n.is_none() {
                    reference_c14n = Some(C14nStep::read(transform, "transform")?);
                } else {
                    return Err(Rejection::new(
                        R::TransformNotAllowed,
                        format!(
                            "a second canonicalization transform {} is not allowed",
                            short(&algorithm)
                        ),
                    ));
                }
            }
            next = parts.next();
        }
        if enveloped != 1 {
            return Err(Rejection::new(
                R::TransformNotAllowed,
                format!(
                    "the Reference must have exactly one enveloped-signature transform, it has {enveloped}"
                ),
            ));
        }
        let digest_method = next
            .filter(|e| e.is(DSIG_NS, "DigestMethod"))
            .ok_or_else(|| malformed("the Reference has no DigestMethod"))?;
        let digest_value = parts
            .next()
            .filter(|e| e.is(DSIG_NS, "DigestValue"))
            .ok_or_else(|| malformed("DigestMethod is not followed by DigestValue"))?;
        if parts.next().is_some() {
            return Err(malformed("the Reference has elements after DigestValue"));
        }
        let digest =
            Digest::from_uri(&digest_method.attr("Algorithm").unwrap_or_default(), policy)?;
        Ok(SignedInfo {
            signed_info_c14n,
            algorithm,
            reference_uri,
            reference_c14n: reference_c14n.unwrap_or_else(C14nStep::implicit),
            digest,
            digest_value: digest_value.text().into_owned(),
        })
    }
}

/// Checks `signature` over `data` with each trusted key of the algorithm's family.
///
/// Success is OpenSSL's verify returning exactly 1 (`Ok(true)` of the `openssl` crate); 0 and
/// every error count as failure.
fn verify_signature_value(
    data: &[u8],
    signature: &[u8],
    algorithm: SignatureAlgorithm,
    keys: &[SigningKey],
    policy: AlgorithmPolicy,
) -> Result<(), Rejection> {
    let wanted = match algorithm.family {
        KeyFamily::Rsa => Id::RSA,
        KeyFamily::Ecdsa => Id::EC,
    };
    let mut candidates = keys
        .iter()
        .map(SigningKey::public_key)
        .filter(|k| k.id() == wanted)
        .peekable();
    if candidates.peek().is_none() {
        return Err(Rejection::new(
            R::NoSuitableKey,
            format!(
                "the message is signed with {:?} but no trusted IdP certificate holds such a key",
                algorithm.family
            ),
        ));
    }
    let mut weak_only = true;
    for key in candidates {
        if wanted == Id::RSA && key.bits() < MIN_RSA_BITS && !policy.insecure_allow_weak_rsa_keys {
            continue;
        }
        weak_only = false;
        let der;
        let value = if algorithm.family == KeyFamily::Ecdsa {
            match raw_ecdsa_to_der(signature) {
                Some(d) => {
                    der = d;
                    &der[..]
                }
                None => continue,
            }
        } else {
            signature
        };
        let verified = Verifier::new(algorithm.digest.message_digest(), key)
            .and_then(|mut v| v.verify_oneshot(value, data));
        if let Ok(true) = verified {
            return Ok(());
        }
    }
    if weak_only {
        return Err(Rejection::new(
            R::WeakKey,
            format!(
                "every trusted RSA key is shorter than {MIN_RSA_BITS} bits; ask the IdP for a stronger signing key"
            ),
        ));
    }
    Err(Rejection::new(
        R::SignatureInvalid,
        "the signature does not verify with any trusted IdP certificate",
    ))
}

/// Converts an XML-DSig ECDSA value (r || s, equal halves) to the DER form OpenSSL verifies.
fn raw_ecdsa_to_der(raw: &[u8]) -> Option<Vec<u8>> {
    if raw.is_empty() || !raw.len().is_multiple_of(2) {
        return None;
    }
    let (r, s) = raw.split_at(raw.len() / 2);
    let sig =
        EcdsaSig::from_private_components(BigNum::from_slice(r).ok()?, BigNum::from_slice(s).ok()?)
            .ok()?;
    sig.to_der().ok()
}

fn decode_base64(text: &str) -> Option<Vec<u8>> {
    let clean: Vec<u8> = text.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    base64::engine::general_purpose::STANDARD.decode(clean).ok()
}

fn malformed(detail: &str) -> Rejection {
    Rejection::new(R::SignatureMalformed, detail)
}
