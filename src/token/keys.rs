//! Signing keys for the xsession: generated with OpenSSL as PKCS#8 PEM, one algorithm each.
//!
//! The key id (`kid`) is the base64url encoding (no padding) of the first 16 bytes of the SHA-256
//! digest of the public key's DER (SubjectPublicKeyInfo): stable, derived from the key itself,
//! and 22 characters long.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::{Jwk, PublicKeyUse};
use jsonwebtoken::{DecodingKey, EncodingKey};
use openssl::ec::{EcGroup, EcKey};
use openssl::nid::Nid;
use openssl::pkey::{PKey, Private};
use openssl::rsa::Rsa;

/// The JWS algorithms fedbridge signs xsessions with (asymmetric only).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Algorithm {
    /// ECDSA P-256 with SHA-256 (the default).
    Es256,
    /// RSASSA-PKCS1-v1_5 with SHA-256, RSA-2048 keys.
    Rs256,
    /// Ed25519.
    EdDsa,
}

impl Algorithm {
    /// Every algorithm.
    pub const ALL: [Algorithm; 3] = [Algorithm::Es256, Algorithm::Rs256, Algorithm::EdDsa];

    /// The JOSE name (`alg`).
    pub fn as_str(self) -> &'static str {
        match self {
            Algorithm::Es256 => "ES256",
            Algorithm::Rs256 => "RS256",
            Algorithm::EdDsa => "EdDSA",
        }
    }

    /// The algorithm named `name` (exact JOSE spelling).
    pub fn from_name(name: &str) -> Option<Algorithm> {
        Algorithm::ALL.into_iter().find(|a| a.as_str() == name)
    }

    /// jsonwebtoken's name for it.
    pub(crate) fn jwt(self) -> jsonwebtoken::Algorithm {
        match self {
            Algorithm::Es256 => jsonwebtoken::Algorithm::ES256,
            Algorithm::Rs256 => jsonwebtoken::Algorithm::RS256,
            Algorithm::EdDsa => jsonwebtoken::Algorithm::EdDSA,
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A key that could not be generated or loaded.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// OpenSSL failed to generate or encode a key.
    #[error("cannot generate a {algorithm} signing key: {detail}")]
    Generate {
        /// The algorithm asked for.
        algorithm: Algorithm,
        /// OpenSSL's message.
        detail: String,
    },
    /// A stored PEM or JWK is not a key of the expected algorithm.
    #[error("the {algorithm} signing key {kid} cannot be loaded: {detail}")]
    Load {
        /// The algorithm expected.
        algorithm: Algorithm,
        /// The key id.
        kid: String,
        /// What is wrong.
        detail: String,
    },
}

/// A private key in PKCS#8 PEM; `Debug` prints `[redacted]`.
#[derive(Clone)]
pub struct PrivatePem(String);

impl PrivatePem {
    /// Wraps a PEM string.
    pub fn new(pem: String) -> PrivatePem {
        PrivatePem(pem)
    }

    /// The PEM text (to store it; never log it).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for PrivatePem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// A signing key pair: algorithm, key id, private and public PEM, the public JWK, and the
/// jsonwebtoken key built once. `Debug` shows the algorithm and kid only.
#[derive(Clone)]
pub struct SigningKeyPair {
    algorithm: Algorithm,
    kid: String,
    private_pem: PrivatePem,
    public_pem: String,
    encoding: EncodingKey,
    jwk: Jwk,
}

impl fmt::Debug for SigningKeyPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKeyPair")
            .field("algorithm", &self.algorithm)
            .field("kid", &self.kid)
            .field("private_key", &"[redacted]")
            .finish()
    }
}

impl SigningKeyPair {
    /// Generates a fresh key pair: P-256 for ES256, RSA-2048 for RS256, Ed25519 for EdDSA.
    pub fn generate(algorithm: Algorithm) -> Result<SigningKeyPair, KeyError> {
        let fail = |e: openssl::error::ErrorStack| KeyError::Generate {
            algorithm,
            detail: e.to_string(),
        };
        let pkey: PKey<Private> = match algorithm {
            Algorithm::Es256 => {
                let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).map_err(fail)?;
                PKey::from_ec_key(EcKey::generate(&group).map_err(fail)?).map_err(fail)?
            }
            Algorithm::Rs256 => PKey::from_rsa(Rsa::generate(2048).map_err(fail)?).map_err(fail)?,
            Algorithm::EdDsa => PKey::generate_ed25519().map_err(fail)?,
        };
        let private_pem = pkey.private_key_to_pem_pkcs8().map_err(fail)?;
        let public_pem = pkey.public_key_to_pem().map_err(fail)?;
        let public_der = pkey.public_key_to_der().map_err(fail)?;
        let kid = key_id(&public_der);
        let text = |bytes: Vec<u8>| {
            String::from_utf8(bytes).map_err(|e| KeyError::Generate {
                algorithm,
                detail: e.to_string(),
            })
        };
        SigningKeyPair::from_pem(
            algorithm,
            kid,
            PrivatePem::new(text(private_pem)?),
            text(public_pem)?,
        )
    }

    /// Loads a stored key pair (PKCS#8 private PEM, SPKI public PEM).
    pub fn from_pem(
        algorithm: Algorithm,
        kid: String,
        private_pem: PrivatePem,
        public_pem: String,
    ) -> Result<SigningKeyPair, KeyError> {
        let load = |e: jsonwebtoken::errors::Error| KeyError::Load {
            algorithm,
            kid: kid.clone(),
            detail: e.to_string(),
        };
        let bytes = private_pem.expose().as_bytes();
        let encoding = match algorithm {
            Algorithm::Es256 => EncodingKey::from_ec_pem(bytes),
            Algorithm::Rs256 => EncodingKey::from_rsa_pem(bytes),
            Algorithm::EdDsa => EncodingKey::from_ed_pem(bytes),
        }
        .map_err(load)?;
        let mut jwk = Jwk::from_encoding_key(&encoding, algorithm.jwt()).map_err(load)?;
        jwk.common.key_id = Some(kid.clone());
        jwk.common.public_key_use = Some(PublicKeyUse::Signature);
        Ok(SigningKeyPair {
            algorithm,
            kid,
            private_pem,
            public_pem,
            encoding,
            jwk,
        })
    }

    /// The algorithm this key signs with.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// The key id (`kid` header).
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The private key, PKCS#8 PEM (to store it).
    pub fn private_pem(&self) -> &PrivatePem {
        &self.private_pem
    }

    /// The public key, SubjectPublicKeyInfo PEM.
    pub fn public_pem(&self) -> &str {
        &self.public_pem
    }

    /// The public half, as published in the JWKS.
    pub fn public_key(&self) -> PublicKey {
        PublicKey {
            algorithm: self.algorithm,
            kid: self.kid.clone(),
            jwk: self.jwk.clone(),
        }
    }

    pub(crate) fn encoding_key(&self) -> &EncodingKey {
        &self.encoding
    }
}

/// A public verification key: algorithm, kid and its JWK (with `kid`, `alg` and `use` set).
#[derive(Debug, Clone, PartialEq)]
pub struct PublicKey {
    /// The algorithm tokens signed by this key use.
    pub algorithm: Algorithm,
    /// The key id.
    pub kid: String,
    /// The JWK as published.
    pub jwk: Jwk,
}

impl PublicKey {
    /// Parses a stored JWK (JSON) of the given algorithm and kid.
    pub fn from_jwk_json(
        algorithm: Algorithm,
        kid: &str,
        json: &str,
    ) -> Result<PublicKey, KeyError> {
        let jwk: Jwk = serde_json::from_str(json).map_err(|e| KeyError::Load {
            algorithm,
            kid: kid.to_owned(),
            detail: e.to_string(),
        })?;
        DecodingKey::from_jwk(&jwk).map_err(|e| KeyError::Load {
            algorithm,
            kid: kid.to_owned(),
            detail: e.to_string(),
        })?;
        Ok(PublicKey {
            algorithm,
            kid: kid.to_owned(),
            jwk,
        })
    }

    /// The JWK as JSON (to store it).
    pub fn jwk_json(&self) -> Result<String, KeyError> {
        serde_json::to_string(&self.jwk).map_err(|e| KeyError::Load {
            algorithm: self.algorithm,
            kid: self.kid.clone(),
            detail: e.to_string(),
        })
    }
}

/// The key id of a public key: base64url (no padding) of the first 16 bytes of SHA-256(DER).
pub fn key_id(public_der: &[u8]) -> String {
    let digest = openssl::sha::sha256(public_der);
    URL_SAFE_NO_PAD.encode(&digest[..16])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generates_every_algorithm_with_a_derived_kid() {
        for algorithm in Algorithm::ALL {
            let pair = SigningKeyPair::generate(algorithm).unwrap();
            assert_eq!(pair.kid().len(), 22);
            assert!(
                pair.private_pem()
                    .expose()
                    .starts_with("-----BEGIN PRIVATE KEY-----")
            );
            assert!(pair.public_pem().starts_with("-----BEGIN PUBLIC KEY-----"));
            let public = pair.public_key();
            assert_eq!(public.jwk.common.key_id.as_deref(), Some(pair.kid()));
            let back = PublicKey::from_jwk_json(algorithm, pair.kid(), &public.jwk_json().unwrap())
                .unwrap();
            assert_eq!(back, public);
        }
    }

    #[test]
    fn debug_never_shows_the_private_key() {
        let pair = SigningKeyPair::generate(Algorithm::Es256).unwrap();
        let shown = format!("{pair:?} {:?}", pair.private_pem());
        assert!(shown.contains("[redacted]"));
        assert!(!shown.contains("PRIVATE KEY"));
    }

    #[test]
    fn algorithm_names_round_trip() {
        for algorithm in Algorithm::ALL {
            assert_eq!(Algorithm::from_name(algorithm.as_str()), Some(algorithm));
        }
        assert_eq!(Algorithm::from_name("HS256"), None);
    }
}
