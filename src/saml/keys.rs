//! Keys the validator trusts: IdP signing certificates pinned by configuration or metadata, and
//! the SP's own decryption keys. Keys found inside a message (`KeyInfo`) are never used.

use std::fmt;

use base64::Engine as _;
use openssl::asn1::Asn1Time;
use openssl::pkey::{Id, PKey, Private, Public};
use openssl::x509::X509;

/// A pinned IdP signing key, taken from a certificate.
#[derive(Clone)]
pub struct SigningKey {
    key: PKey<Public>,
    subject: String,
    not_after: Option<i64>,
}

/// Why a certificate or key could not be loaded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CredentialError {
    /// No certificate was found in the text.
    #[error(
        "no certificate found: expected one or more PEM blocks '-----BEGIN CERTIFICATE-----' or a bare base64 body"
    )]
    NoCertificate,
    /// A PEM block of another kind (a private key, a request) where a certificate belongs.
    #[error(
        "found a PEM block '-----BEGIN {label}-----', not a certificate: give the certificate \
         ('-----BEGIN CERTIFICATE-----'){hint}"
    )]
    NotACertificate {
        /// The block's label, e.g. `PRIVATE KEY`.
        label: String,
        /// More help for the label at hand.
        hint: &'static str,
    },
    /// The text is a file name, not the certificate in it.
    #[error(
        "the value looks like a file name, not a certificate: give the certificate itself, \
         e.g. fedbridge config set NAME \"$(cat {name})\""
    )]
    FileName {
        /// The file name given.
        name: String,
    },
    /// A certificate block did not parse.
    #[error("certificate {index} does not parse as X.509 ({reason})")]
    BadCertificate {
        /// 1-based position in the text.
        index: usize,
        /// OpenSSL's reason, shortened.
        reason: String,
    },
    /// The certificate's key is neither RSA nor EC.
    #[error("certificate {index} holds a key that is neither RSA nor ECDSA")]
    UnsupportedKey {
        /// 1-based position in the text.
        index: usize,
    },
    /// The private key did not parse.
    #[error("the private key does not parse as PEM ({0})")]
    BadPrivateKey(String),
    /// The private key is not RSA (only RSA-OAEP key transport is supported).
    #[error("the private key is not an RSA key; encrypted assertions use RSA-OAEP key transport")]
    PrivateKeyNotRsa,
}

impl SigningKey {
    /// Loads every certificate in `text`: concatenated PEM blocks, or one bare base64 DER body
    /// (as in metadata and the QPR setting). Several certificates allow a rollover without
    /// downtime.
    pub fn from_certificates(text: &str) -> Result<Vec<SigningKey>, CredentialError> {
        certificates(text)?
            .iter()
            .enumerate()
            .map(|(i, cert)| SigningKey::from_x509(cert, i + 1))
            .collect()
    }

    fn from_x509(cert: &X509, index: usize) -> Result<SigningKey, CredentialError> {
        let key = cert
            .public_key()
            .map_err(|e| CredentialError::BadCertificate {
                index,
                reason: first_error(&e),
            })?;
        if !matches!(key.id(), Id::RSA | Id::EC) {
            return Err(CredentialError::UnsupportedKey { index });
        }
        let subject = cert
            .subject_name()
            .entries()
            .filter_map(|e| e.data().to_string().ok())
            .collect::<Vec<_>>()
            .join(", ");
        // The certificate's own validity is not checked (a pinned key is trusted as
        // configured, as SAML deployments expect); it is reported, so that an expiry is seen.
        let not_after = Asn1Time::from_unix(0)
            .and_then(|epoch| epoch.diff(cert.not_after()))
            .ok()
            .map(|d| i64::from(d.days) * 86_400 + i64::from(d.secs));
        Ok(SigningKey {
            key,
            subject,
            not_after,
        })
    }

    /// When the certificate's validity ends (epoch seconds), when it can be read.
    pub fn not_after(&self) -> Option<i64> {
        self.not_after
    }

    /// The public key.
    pub fn public_key(&self) -> &PKey<Public> {
        &self.key
    }

    /// The certificate subject, for messages.
    pub fn subject(&self) -> &str {
        &self.subject
    }
}

/// Every certificate in `text`: concatenated PEM blocks, or one bare base64 DER body.
pub fn certificates(text: &str) -> Result<Vec<X509>, CredentialError> {
    certificate_bodies(text)?
        .iter()
        .enumerate()
        .map(|(i, der)| {
            X509::from_der(der).map_err(|e| CredentialError::BadCertificate {
                index: i + 1,
                reason: first_error(&e),
            })
        })
        .collect()
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SigningKey({}, {} bits)", self.subject, self.key.bits())
    }
}

/// The DER bodies of the certificates in `text` (PEM blocks or one bare base64 body).
fn certificate_bodies(text: &str) -> Result<Vec<Vec<u8>>, CredentialError> {
    const BEGIN: &str = "-----BEGIN CERTIFICATE-----";
    const END: &str = "-----END CERTIFICATE-----";
    let engine = base64::engine::general_purpose::STANDARD;
    let decode = |body: &str, index: usize| {
        let clean: String = body.chars().filter(|c| !c.is_whitespace()).collect();
        engine
            .decode(clean)
            .map_err(|_| CredentialError::BadCertificate {
                index,
                reason: "the base64 body does not decode".into(),
            })
    };
    if !text.contains(BEGIN) {
        let body = text.trim();
        if body.is_empty() {
            return Err(CredentialError::NoCertificate);
        }
        if let Some(label) = pem_label(body) {
            let hint = if label.contains("PRIVATE KEY") {
                "; a private key is secret and never belongs in a certificate setting"
            } else {
                ""
            };
            return Err(CredentialError::NotACertificate { label, hint });
        }
        // '.', '~' and '\\' are not base64: such a short value is a path.
        if body.chars().count() <= 512
            && !body.contains(char::is_whitespace)
            && (body.contains(['.', '~', '\\']) || body.starts_with('/'))
        {
            return Err(CredentialError::FileName {
                name: body.chars().filter(|c| !c.is_control()).take(200).collect(),
            });
        }
        return Ok(vec![decode(body, 1)?]);
    }
    let mut bodies = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find(BEGIN) {
        let after = &rest[start + BEGIN.len()..];
        let index = bodies.len() + 1;
        let end = after.find(END).ok_or(CredentialError::BadCertificate {
            index,
            reason: "the PEM block has no END line".into(),
        })?;
        bodies.push(decode(&after[..end], index)?);
        rest = &after[end + END.len()..];
    }
    Ok(bodies)
}

/// The label of the first PEM block in `text` (`-----BEGIN <label>-----`), if any.
fn pem_label(text: &str) -> Option<String> {
    let start = text.find("-----BEGIN ")? + "-----BEGIN ".len();
    let rest = &text[start..];
    let end = rest.find("-----")?;
    Some(
        rest[..end]
            .chars()
            .filter(|c| !c.is_control())
            .take(40)
            .collect(),
    )
}

/// An SP private key for EncryptedAssertion key transport (RSA).
#[derive(Clone)]
pub struct DecryptionKey {
    key: PKey<Private>,
}

impl DecryptionKey {
    /// Loads a PEM private key (PKCS#8 or PKCS#1).
    pub fn from_pem(pem: &[u8]) -> Result<DecryptionKey, CredentialError> {
        let key = PKey::private_key_from_pem(pem)
            .map_err(|e| CredentialError::BadPrivateKey(first_error(&e)))?;
        if key.id() != Id::RSA {
            return Err(CredentialError::PrivateKeyNotRsa);
        }
        Ok(DecryptionKey { key })
    }

    /// The private key.
    pub fn private_key(&self) -> &PKey<Private> {
        &self.key
    }
}

impl fmt::Debug for DecryptionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DecryptionKey([redacted])")
    }
}

fn first_error(stack: &openssl::error::ErrorStack) -> String {
    stack
        .errors()
        .first()
        .and_then(|e| e.reason().map(str::to_string))
        .unwrap_or_else(|| "unknown OpenSSL error".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SP_CERT: &str = include_str!("../../../shared/idp-samples/sp-test-keys/sp-test.crt");

    #[test]
    fn loads_pem_blocks_and_bare_base64() {
        let two = format!("{SP_CERT}\n{SP_CERT}");
        assert_eq!(SigningKey::from_certificates(&two).unwrap().len(), 2);
        let body: String = SP_CERT
            .lines()
            .filter(|l| !l.starts_with("-----"))
            .collect();
        assert_eq!(SigningKey::from_certificates(&body).unwrap().len(), 1);
    }

    #[test]
    fn a_private_key_or_a_file_name_is_said_to_be_one() {
        let key = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----\n";
        let error = SigningKey::from_certificates(key).unwrap_err();
        assert!(
            matches!(&error, CredentialError::NotACertificate { label, .. } if label == "PRIVATE KEY"),
            "{error:?}"
        );
        assert!(error.to_string().contains("never belongs"), "{error}");
        for path in [
            "idp.pem",
            "/etc/fedbridge/idp.crt",
            "~/idp.cer",
            "C:\\certs\\idp.cer",
        ] {
            let error = SigningKey::from_certificates(path).unwrap_err();
            assert!(
                matches!(&error, CredentialError::FileName { name } if name == path),
                "{path}: {error:?}"
            );
            assert!(error.to_string().contains("$(cat "), "{error}");
        }
    }

    #[test]
    fn bad_certificates_are_named() {
        assert_eq!(
            SigningKey::from_certificates("  ").unwrap_err(),
            CredentialError::NoCertificate
        );
        assert!(matches!(
            SigningKey::from_certificates("bm90IGEgY2VydA==").unwrap_err(),
            CredentialError::BadCertificate { index: 1, .. }
        ));
        let truncated = &SP_CERT[..SP_CERT.len() - 30];
        assert!(matches!(
            SigningKey::from_certificates(truncated).unwrap_err(),
            CredentialError::BadCertificate { index: 1, .. }
        ));
    }

    #[test]
    fn private_key_debug_is_redacted() {
        let pem = include_bytes!("../../../shared/idp-samples/sp-test-keys/sp-test.key");
        let key = DecryptionKey::from_pem(pem).unwrap();
        assert_eq!(format!("{key:?}"), "DecryptionKey([redacted])");
    }
}
