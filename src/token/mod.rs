//! The xsession token (SPEC.md section 7): a JWT signed by fedbridge with an asymmetric key.
//!
//! [`keys`] generates and holds signing keys, [`claims`] issues and verifies tokens and builds the
//! JWKS that downstream applications fetch. Pure code: no database, no HTTP; time is passed in
//! (see [`crate::clock`]). Keys are kept by `store::signing_keys`.

pub mod claims;
pub mod keys;

pub use self::claims::{
    ClaimsInput, Issuance, LEEWAY_SECONDS, TOKEN_NAME, TokenError, XsessionClaims, issue, jwks,
    sign, verify,
};
pub use self::keys::{Algorithm, KeyError, PublicKey, SigningKeyPair};
