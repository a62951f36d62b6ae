//! SAML 2.0 Web Browser SSO, SP side: bytes + settings + trusted keys + `now` -> a verified
//! assertion or a precise rejection.
//!
//! Pure protocol code: no HTTP, no database, no wall clock. The stateful parts (outstanding
//! requests, replay cache) come in through [`MessageLedger`], so the server can back them with
//! its database and `saml check` with memory.

pub mod authn_request;
pub mod error;
pub mod keys;
pub mod metadata;
mod response;
pub mod sp_metadata;
#[expect(
    unsafe_code,
    reason = "the one FFI room: libxml2's parser, tree and C14N (every block has a SAFETY comment)"
)]
pub mod xml;
pub mod xmldsig;
pub mod xmlenc;

use std::collections::{HashMap, HashSet};

use base64::Engine as _;
use time::{Duration, OffsetDateTime};

pub use self::error::{Rejection, RejectionReason};
pub use self::keys::{DecryptionKey, KeyError, SigningKey};
pub use self::response::{SamlAttribute, VerifiedAssertion};
pub use self::xmldsig::algorithms::AlgorithmPolicy;

/// Default limit on the size of a response, before any parsing.
pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 1024 * 1024;
/// Default allowed clock skew between the IdP and us.
pub const DEFAULT_CLOCK_SKEW: Duration = Duration::seconds(180);

/// What the validator needs to know about us, the Service Provider.
#[derive(Debug, Clone)]
pub struct SpSettings {
    /// Our entityID, the expected `Audience`. `None` skips the audience check (only
    /// `saml check` run without `--sp-entity-id` does that; the server always sets it).
    pub entity_id: Option<String>,
    /// Our ACS URL, the expected `Destination` and `Recipient`. `None` skips both checks
    /// (only `saml check` without `--acs-url`).
    pub acs_url: Option<String>,
    /// Allowed difference between the IdP's clock and ours.
    pub clock_skew: Duration,
    /// Responses longer than this are refused before parsing.
    pub max_response_bytes: usize,
    /// Accept responses without `InResponseTo` (IdP-initiated login).
    pub allow_unsolicited: bool,
    /// Legacy algorithms knowingly allowed.
    pub algorithms: AlgorithmPolicy,
    /// Our private keys for `EncryptedAssertion`.
    pub decryption_keys: Vec<DecryptionKey>,
}

impl Default for SpSettings {
    fn default() -> Self {
        SpSettings {
            entity_id: None,
            acs_url: None,
            clock_skew: DEFAULT_CLOCK_SKEW,
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            allow_unsolicited: false,
            algorithms: AlgorithmPolicy::default(),
            decryption_keys: Vec::new(),
        }
    }
}

/// The IdP we trust: its entityID (when known) and its signing keys.
#[derive(Debug, Clone)]
pub struct TrustedIdp {
    /// Expected `Issuer`. `None`: not compared (the pinned keys are the trust anchor); the
    /// Issuer seen is still reported.
    pub entity_id: Option<String>,
    /// Every signing key currently trusted (several during a certificate rollover).
    pub signing_keys: Vec<SigningKey>,
}

/// The state a validation consults and updates: our outstanding AuthnRequests and the IDs of
/// assertions already used. Called only after every other check has passed.
pub trait MessageLedger {
    /// Records `assertion_id` as used until `expires`; false if it was already used.
    fn record_assertion(&mut self, assertion_id: &str, expires: OffsetDateTime) -> bool;
    /// Consumes the outstanding request `request_id`; false if we never issued it or it was
    /// already answered or expired.
    fn consume_request(&mut self, request_id: &str) -> bool;
}

/// An in-memory [`MessageLedger`], for `saml check` and tests.
#[derive(Debug, Default, Clone)]
pub struct MemoryLedger {
    outstanding: HashSet<String>,
    seen: HashMap<String, OffsetDateTime>,
}

impl MemoryLedger {
    /// A ledger where `request_ids` are outstanding.
    pub fn with_requests<I: IntoIterator<Item = S>, S: Into<String>>(request_ids: I) -> Self {
        MemoryLedger {
            outstanding: request_ids.into_iter().map(Into::into).collect(),
            seen: HashMap::new(),
        }
    }
}

impl MessageLedger for MemoryLedger {
    fn record_assertion(&mut self, assertion_id: &str, expires: OffsetDateTime) -> bool {
        if self.seen.contains_key(assertion_id) {
            return false;
        }
        self.seen.insert(assertion_id.to_string(), expires);
        true
    }

    fn consume_request(&mut self, request_id: &str) -> bool {
        self.outstanding.remove(request_id)
    }
}

/// Validates the XML of a SAML Response (SPEC section 4) and returns the verified assertion.
pub fn validate_response(
    xml: &[u8],
    sp: &SpSettings,
    idp: &TrustedIdp,
    ledger: &mut dyn MessageLedger,
    now: OffsetDateTime,
) -> Result<VerifiedAssertion, Rejection> {
    response::validate(xml, sp, idp, ledger, now)
}

/// Decodes the `SAMLResponse` value of an HTTP-POST binding (base64, line breaks allowed),
/// refusing anything that would decode to more than `max_bytes`.
pub fn decode_post_binding(form_value: &[u8], max_bytes: usize) -> Result<Vec<u8>, Rejection> {
    let clean: Vec<u8> = form_value
        .iter()
        .copied()
        .filter(|b| !b.is_ascii_whitespace())
        .collect();
    if clean.is_empty() {
        return Err(Rejection::new(
            RejectionReason::EmptyInput,
            "the SAMLResponse is empty",
        ));
    }
    if clean.len() / 4 * 3 > max_bytes.saturating_add(3) {
        return Err(Rejection::new(
            RejectionReason::InputTooLarge,
            format!("the SAMLResponse decodes to more than the limit of {max_bytes} bytes"),
        ));
    }
    base64::engine::general_purpose::STANDARD
        .decode(&clean)
        .map_err(|_| {
            Rejection::new(
                RejectionReason::InvalidBase64,
                "the SAMLResponse is not valid base64",
            )
        })
}

/// Namespace URIs of SAML 2.0.
pub mod ns {
    /// SAML 2.0 protocol (`samlp:`).
    pub const SAMLP: &str = "urn:oasis:names:tc:SAML:2.0:protocol";
    /// SAML 2.0 assertion (`saml:`).
    pub const SAML: &str = "urn:oasis:names:tc:SAML:2.0:assertion";
    /// SAML 2.0 metadata (`md:`).
    pub const MD: &str = "urn:oasis:names:tc:SAML:2.0:metadata";
}
