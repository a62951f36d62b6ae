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
use std::convert::Infallible;

use base64::Engine as _;
use time::{Duration, OffsetDateTime};

pub use self::error::{Rejection, RejectionReason};
pub use self::keys::{CredentialError, DecryptionKey, SigningKey};
pub use self::response::{SamlAttribute, VerifiedAssertion};
pub use self::xmldsig::algorithms::AlgorithmPolicy;

/// Default limit on the size of a response, before any parsing.
pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 1024 * 1024;
/// Default allowed clock skew between the IdP and us.
pub const DEFAULT_CLOCK_SKEW: Duration = Duration::seconds(180);

/// A value the validator compares with the message, or an explicit decision not to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expected {
    /// The message must name exactly this value.
    Exactly(String),
    /// Not compared. Only `saml check` run without the matching option does this, and its
    /// accepted line lists the rules it skipped under `unchecked`; the server never does.
    Unchecked,
}

impl Expected {
    /// The value to compare with, unless unchecked.
    pub fn value(&self) -> Option<&str> {
        match self {
            Expected::Exactly(value) => Some(value),
            Expected::Unchecked => None,
        }
    }
}

/// What the validator needs to know about us, the Service Provider.
#[derive(Debug, Clone)]
pub struct SpSettings {
    /// Our entityID, the expected `Audience` (and `SPNameQualifier`).
    pub entity_id: Expected,
    /// Our ACS URL, the expected `Destination` and `Recipient`.
    pub acs_url: Expected,
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
    /// The Subject must carry a NameID (or EncryptedID). `false` only when the login name
    /// comes from an attribute: SAML makes NameID optional, and every other Subject rule
    /// (bearer confirmation, Recipient, times) still applies.
    pub name_id_required: bool,
    /// The Assertion must carry its own valid signature; a Response signature covering it is
    /// not enough (`assertion_signature_missing`). Our SP metadata says `WantAssertionsSigned`
    /// accordingly.
    pub require_signed_assertion: bool,
}

impl SpSettings {
    /// The settings of the SP `entity_id` whose ACS is `acs_url`, with the defaults for the
    /// rest: 180 s clock skew, 1 MiB responses, no IdP-initiated login, no legacy algorithms,
    /// no decryption key, a NameID required, a signature of the Response or the Assertion.
    pub fn new(entity_id: impl Into<String>, acs_url: impl Into<String>) -> SpSettings {
        SpSettings {
            entity_id: Expected::Exactly(entity_id.into()),
            acs_url: Expected::Exactly(acs_url.into()),
            clock_skew: DEFAULT_CLOCK_SKEW,
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            allow_unsolicited: false,
            algorithms: AlgorithmPolicy::default(),
            decryption_keys: Vec::new(),
            name_id_required: true,
            require_signed_assertion: false,
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

/// The single-use state a validation consults last, once every other check has passed: our
/// outstanding AuthnRequests and the IDs of assertions already used.
///
/// A ledger *claims*: it answers whether the assertion ID is still unused and the request still
/// outstanding, and marks them as taken by this validation. Whether that is final at once (in
/// memory) or written later in the caller's transaction (the server's database) is the ledger's
/// business. A ledger that cannot answer (its database failed) says so with its error, which
/// the validator hands back as [`ValidationError::Ledger`]: never as a verdict.
pub trait MessageLedger {
    /// Why the ledger could not answer.
    type Error;
    /// Claims `assertion_id` as used until `expires` and, when the response answers one, the
    /// outstanding request `request_id`. The assertion is judged first, so a response used
    /// before is refused as a replay whatever became of its request; a request is unknown when
    /// we never issued it, or it was answered or has expired.
    fn claim(
        &mut self,
        assertion_id: &str,
        expires: OffsetDateTime,
        request_id: Option<&str>,
    ) -> Result<Claim, Self::Error>;
}

/// What [`MessageLedger::claim`] answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// Both messages are this validation's (or, for a ledger that defers, are noted for the
    /// caller's transaction to use up).
    Taken,
    /// The assertion was used before: a replay.
    AssertionUsed,
    /// The request is unknown, answered or expired.
    RequestUnknown,
}

/// An in-memory [`MessageLedger`], for `saml check` and tests: a claim is final at once.
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
    type Error = Infallible;

    fn claim(
        &mut self,
        assertion_id: &str,
        expires: OffsetDateTime,
        request_id: Option<&str>,
    ) -> Result<Claim, Infallible> {
        if self.seen.contains_key(assertion_id) {
            return Ok(Claim::AssertionUsed);
        }
        self.seen.insert(assertion_id.to_string(), expires);
        match request_id {
            Some(request_id) if !self.outstanding.remove(request_id) => Ok(Claim::RequestUnknown),
            _ => Ok(Claim::Taken),
        }
    }
}

/// Why [`validate_response`] returned no assertion: the response was refused, or the ledger
/// could not answer (then nothing is known about the response's freshness).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValidationError<E> {
    /// The response is not acceptable (SPEC section 4).
    #[error(transparent)]
    Rejected(#[from] Rejection),
    /// The ledger failed.
    #[error("the message ledger cannot answer: {0}")]
    Ledger(E),
}

impl From<ValidationError<Infallible>> for Rejection {
    fn from(error: ValidationError<Infallible>) -> Rejection {
        match error {
            ValidationError::Rejected(rejection) => rejection,
            ValidationError::Ledger(never) => match never {},
        }
    }
}

/// Validates the XML of a SAML Response (SPEC section 4) and returns the verified assertion.
pub fn validate_response<L: MessageLedger + ?Sized>(
    xml: &[u8],
    sp: &SpSettings,
    idp: &TrustedIdp,
    ledger: &mut L,
    now: OffsetDateTime,
) -> Result<VerifiedAssertion, ValidationError<L::Error>> {
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
