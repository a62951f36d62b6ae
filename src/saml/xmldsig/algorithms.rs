//! The allow-lists of XML-DSig algorithms: anything not named here is refused.

use openssl::hash::MessageDigest;

use crate::saml::error::{Rejection, RejectionReason};
use crate::saml::xml::c14n::Mode;

/// Which legacy algorithms an operator has knowingly let through.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AlgorithmPolicy {
    /// Accept SHA-1 digests and RSA/ECDSA-SHA1 signatures. Off by default: SHA-1 collisions are
    /// practical.
    pub insecure_allow_sha1: bool,
    /// Accept RSA signing keys shorter than [`MIN_RSA_BITS`]. Off by default.
    pub insecure_allow_weak_rsa_keys: bool,
}

/// Shortest RSA signing key accepted without [`AlgorithmPolicy::insecure_allow_weak_rsa_keys`].
pub const MIN_RSA_BITS: u32 = 2048;

/// A digest algorithm of `DigestMethod`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Digest {
    /// SHA-1 (legacy, refused by default).
    Sha1,
    /// SHA-256.
    Sha256,
    /// SHA-384.
    Sha384,
    /// SHA-512.
    Sha512,
}

impl Digest {
    /// Maps a `DigestMethod/@Algorithm` URI, applying `policy`.
    pub fn from_uri(uri: &str, policy: AlgorithmPolicy) -> Result<Self, Rejection> {
        let digest = match uri {
            "http://www.w3.org/2000/09/xmldsig#sha1" => Digest::Sha1,
            "http://www.w3.org/2001/04/xmlenc#sha256" => Digest::Sha256,
            "http://www.w3.org/2001/04/xmldsig-more#sha384" => Digest::Sha384,
            "http://www.w3.org/2001/04/xmlenc#sha512" => Digest::Sha512,
            other => {
                return Err(Rejection::new(
                    RejectionReason::AlgorithmNotAllowed,
                    format!(
                        "digest algorithm {} is not allowed; use SHA-256 or stronger",
                        short(other)
                    ),
                ));
            }
        };
        if digest == Digest::Sha1 && !policy.insecure_allow_sha1 {
            return Err(Rejection::new(
                RejectionReason::InsecureAlgorithm,
                "the signature uses a SHA-1 digest, refused unless SHA-1 is explicitly allowed",
            ));
        }
        Ok(digest)
    }

    /// The OpenSSL digest.
    pub fn message_digest(self) -> MessageDigest {
        match self {
            Digest::Sha1 => MessageDigest::sha1(),
            Digest::Sha256 => MessageDigest::sha256(),
            Digest::Sha384 => MessageDigest::sha384(),
            Digest::Sha512 => MessageDigest::sha512(),
        }
    }
}

/// The key family a signature algorithm needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyFamily {
    /// RSA, PKCS#1 v1.5 signatures.
    Rsa,
    /// ECDSA over a NIST curve; XML-DSig carries the raw r||s.
    Ecdsa,
}

/// A `SignatureMethod` from the allow-list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignatureAlgorithm {
    /// Which keys can verify it.
    pub family: KeyFamily,
    /// The hash it signs.
    pub digest: Digest,
}

impl SignatureAlgorithm {
    /// Maps a `SignatureMethod/@Algorithm` URI, applying `policy`. HMAC and DSA are refused.
    pub fn from_uri(uri: &str, policy: AlgorithmPolicy) -> Result<Self, Rejection> {
        use Digest::*;
        use KeyFamily::*;
        let (family, digest) = match uri {
            "http://www.w3.org/2000/09/xmldsig#rsa-sha1" => (Rsa, Sha1),
            "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256" => (Rsa, Sha256),
            "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384" => (Rsa, Sha384),
            "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512" => (Rsa, Sha512),
            "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha1" => (Ecdsa, Sha1),
            "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256" => (Ecdsa, Sha256),
            "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384" => (Ecdsa, Sha384),
            "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha512" => (Ecdsa, Sha512),
            other => {
                return Err(Rejection::new(
                    RejectionReason::AlgorithmNotAllowed,
                    format!(
                        "signature algorithm {} is not allowed; use RSA or ECDSA with SHA-256 or stronger",
                        short(other)
                    ),
                ));
            }
        };
        if digest == Sha1 && !policy.insecure_allow_sha1 {
            return Err(Rejection::new(
                RejectionReason::InsecureAlgorithm,
                "the signature algorithm is SHA-1 based, refused unless SHA-1 is explicitly allowed",
            ));
        }
        Ok(SignatureAlgorithm { family, digest })
    }
}

/// Canonicalization algorithm URIs accepted for `CanonicalizationMethod` and as a transform.
pub const EXC_C14N: &str = "http://www.w3.org/2001/10/xml-exc-c14n#";
/// Exclusive C14N keeping comments.
pub const EXC_C14N_WITH_COMMENTS: &str = "http://www.w3.org/2001/10/xml-exc-c14n#WithComments";
/// Canonical XML 1.0 (inclusive).
pub const C14N_10: &str = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315";
/// Canonical XML 1.0 keeping comments.
pub const C14N_10_WITH_COMMENTS: &str =
    "http://www.w3.org/TR/2001/REC-xml-c14n-20010315#WithComments";
/// Canonical XML 1.1 (inclusive).
pub const C14N_11: &str = "http://www.w3.org/2006/12/xml-c14n11";
/// Canonical XML 1.1 keeping comments.
pub const C14N_11_WITH_COMMENTS: &str = "http://www.w3.org/2006/12/xml-c14n11#WithComments";

/// Every canonicalization algorithm allowed (as `CanonicalizationMethod` and as the one C14N
/// transform of a Reference): its URI, the mode and whether comments are kept.
pub const CANONICALIZATIONS: [(&str, Mode, bool); 6] = [
    (EXC_C14N, Mode::Exclusive, false),
    (EXC_C14N_WITH_COMMENTS, Mode::Exclusive, true),
    (C14N_10, Mode::Inclusive10, false),
    (C14N_10_WITH_COMMENTS, Mode::Inclusive10, true),
    (C14N_11, Mode::Inclusive11, false),
    (C14N_11_WITH_COMMENTS, Mode::Inclusive11, true),
];
/// The enveloped-signature transform.
pub const ENVELOPED_SIGNATURE: &str = "http://www.w3.org/2000/09/xmldsig#enveloped-signature";

/// An algorithm URI cut to a length that is safe to log.
pub(crate) fn short(uri: &str) -> String {
    let mut s: String = uri.chars().take(120).collect();
    if s.len() < uri.len() {
        s.push('…');
    }
    format!("'{s}'")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha1_needs_the_insecure_switch() {
        let strict = AlgorithmPolicy::default();
        let lax = AlgorithmPolicy {
            insecure_allow_sha1: true,
            ..strict
        };
        let uri = "http://www.w3.org/2000/09/xmldsig#rsa-sha1";
        assert_eq!(
            SignatureAlgorithm::from_uri(uri, strict)
                .unwrap_err()
                .reason,
            RejectionReason::InsecureAlgorithm
        );
        assert!(SignatureAlgorithm::from_uri(uri, lax).is_ok());
        assert_eq!(
            Digest::from_uri("http://www.w3.org/2000/09/xmldsig#sha1", strict)
                .unwrap_err()
                .reason,
            RejectionReason::InsecureAlgorithm
        );
    }

    #[test]
    fn hmac_and_dsa_are_refused_even_when_lax() {
        let lax = AlgorithmPolicy {
            insecure_allow_sha1: true,
            insecure_allow_weak_rsa_keys: true,
        };
        for uri in [
            "http://www.w3.org/2000/09/xmldsig#hmac-sha1",
            "http://www.w3.org/2001/04/xmldsig-more#hmac-sha256",
            "http://www.w3.org/2000/09/xmldsig#dsa-sha1",
            "http://www.w3.org/2009/xmldsig11#dsa-sha256",
        ] {
            assert_eq!(
                SignatureAlgorithm::from_uri(uri, lax).unwrap_err().reason,
                RejectionReason::AlgorithmNotAllowed
            );
        }
        assert_eq!(
            Digest::from_uri("http://www.w3.org/2001/04/xmldsig-more#md5", lax)
                .unwrap_err()
                .reason,
            RejectionReason::AlgorithmNotAllowed
        );
    }
}
