//! Why a SAML response was rejected: a stable reason code plus one sentence for the administrator.
//!
//! The code is part of fedbridge's interface (`saml check` output, the login audit, metrics):
//! codes are added, never renamed. The detail may quote short pieces of the message and is for
//! the administrator only, never for the browser.

use std::fmt;

/// Declares an enum of stable reason codes: `ALL`, `code()`, `from_code()` and a test that the
/// codes are unique, snake_case and round-trip. Used for the
/// validator's [`RejectionReason`] and the login's own reasons (`login::LoginReason`).
macro_rules! reason_codes {
    ($(#[$enum_doc:meta])* $name:ident {
        $( $(#[$doc:meta])* $variant:ident => $code:literal, )*
    }) => {
        $(#[$enum_doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $( $(#[$doc])* $variant, )*
        }

        impl $name {
            /// Every reason, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant,)*];

            /// The snake_case code used in output, logs and the audit trail.
            pub fn code(self) -> &'static str {
                match self { $($name::$variant => $code,)* }
            }

            /// The reason with this code, if any.
            pub fn from_code(code: &str) -> Option<Self> {
                match code { $($code => Some($name::$variant),)* _ => None }
            }
        }

        #[cfg(test)]
        mod reason_code_tests {
            use super::$name;

            #[test]
            fn codes_are_unique_snake_case_and_round_trip() {
                let mut seen = std::collections::HashSet::new();
                for reason in $name::ALL {
                    let code = reason.code();
                    assert!(
                        code.chars()
                            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'),
                        "{code}"
                    );
                    assert!(seen.insert(code), "duplicate code {code}");
                    assert_eq!($name::from_code(code), Some(*reason));
                }
            }
        }
    };
}
pub(crate) use reason_codes;

reason_codes! {
    /// The stable reason a response was rejected.
    RejectionReason {
        /// Nothing was posted.
        EmptyInput => "empty_input",
        /// Larger than the configured size limit.
        InputTooLarge => "input_too_large",
        /// The form value is not base64.
        InvalidBase64 => "invalid_base64",
        /// libxml2 refused the XML (not well-formed, several roots, truncated...).
        MalformedXml => "malformed_xml",
        /// A DOCTYPE, entity declaration or entity reference.
        DtdForbidden => "dtd_forbidden",
        /// Nested too deep.
        TooDeep => "too_deep",
        /// The root is not a SAML 2.0 `samlp:Response`.
        NotAResponse => "not_a_response",
        /// `Version` is not "2.0".
        UnsupportedVersion => "unsupported_version",
        /// The Response or Assertion has no `ID`.
        MissingId => "missing_id",
        /// The Response or Assertion `ID` is not an `xs:ID` (an NCName: it starts with a
        /// letter or `_`).
        InvalidId => "invalid_id",
        /// The document contains a NUL byte (libxml2 would ignore what follows it).
        NulByte => "nul_byte",
        /// Two elements share an `ID`.
        DuplicateId => "duplicate_id",
        /// The IdP answered with a status other than Success.
        StatusNotSuccess => "status_not_success",
        /// No Assertion or EncryptedAssertion.
        NoAssertion => "no_assertion",
        /// More than one Assertion (plain or encrypted) anywhere in the document.
        MultipleAssertions => "multiple_assertions",
        /// Neither the Response nor the Assertion carries a signature.
        SignatureMissing => "signature_missing",
        /// A `ds:Signature` that does not follow the XML-DSig/SAML structure.
        SignatureMalformed => "signature_malformed",
        /// Not exactly one Reference, or its URI is not `#ID` of the signed element.
        ReferenceInvalid => "reference_invalid",
        /// A transform other than enveloped-signature and one C14N (exclusive, 1.0 or 1.1).
        TransformNotAllowed => "transform_not_allowed",
        /// An algorithm outside the allow-list (HMAC, DSA, MD5, 3DES, unknown).
        AlgorithmNotAllowed => "algorithm_not_allowed",
        /// SHA-1 without the explicit insecure setting.
        InsecureAlgorithm => "insecure_algorithm",
        /// The only trusted keys of the right type are too short (RSA below 2048 bits).
        WeakKey => "weak_key",
        /// Canonicalization failed.
        CanonicalizationFailed => "canonicalization_failed",
        /// The digest of the signed element does not match `DigestValue`.
        DigestMismatch => "digest_mismatch",
        /// The signature value does not verify with any trusted key.
        SignatureInvalid => "signature_invalid",
        /// No trusted key of the type the signature algorithm needs.
        NoSuitableKey => "no_suitable_key",
        /// Decryption of an EncryptedAssertion failed (one uniform reason for every cause).
        DecryptionFailed => "decryption_failed",
        /// RSA PKCS#1 v1.5 key transport, refused.
        KeyTransportNotAllowed => "key_transport_not_allowed",
        /// The Issuer is not the trusted IdP.
        IssuerMismatch => "issuer_mismatch",
        /// The Assertion has no Issuer.
        IssuerMissing => "issuer_missing",
        /// `Destination` is not our consumer URL.
        DestinationMismatch => "destination_mismatch",
        /// `SubjectConfirmationData/@Recipient` is not our consumer URL.
        RecipientMismatch => "recipient_mismatch",
        /// No usable bearer SubjectConfirmation.
        SubjectConfirmationInvalid => "subject_confirmation_invalid",
        /// The Assertion has no Conditions.
        ConditionsMissing => "conditions_missing",
        /// Our SP entityID is not in the AudienceRestriction.
        AudienceMismatch => "audience_mismatch",
        /// `NotBefore` is still in the future (beyond the clock skew).
        NotYetValid => "not_yet_valid",
        /// `NotOnOrAfter` or `SessionNotOnOrAfter` has passed (beyond the clock skew).
        Expired => "expired",
        /// A timestamp that is not an `xs:dateTime`.
        InvalidTimestamp => "invalid_timestamp",
        /// `InResponseTo` names no request we have outstanding.
        InResponseToUnknown => "in_response_to_unknown",
        /// `InResponseTo` values of the Response and the Assertion disagree.
        InResponseToMismatch => "in_response_to_mismatch",
        /// An unsolicited (IdP-initiated) response while those are not allowed.
        UnsolicitedNotAllowed => "unsolicited_not_allowed",
        /// This Assertion ID was already used.
        Replay => "replay",
        /// No Subject or NameID, or an empty NameID.
        NameIdMissing => "name_id_missing",
        /// No AuthnStatement.
        AuthnStatementMissing => "authn_statement_missing",
        /// An EncryptedAttribute, which fedbridge does not decrypt.
        EncryptedAttributeUnsupported => "encrypted_attribute_unsupported",
        /// Two Attributes with the same Name that cannot be one (another NameFormat or
        /// FriendlyName); repeats of one attribute are merged.
        DuplicateAttribute => "duplicate_attribute",
        /// The Assertion carries no signature of its own while `SpSettings::
        /// require_signed_assertion` asks for one (a Response signature is not enough).
        AssertionSignatureMissing => "assertion_signature_missing",
        /// A required element or attribute of the SAML schema is missing or misplaced.
        SchemaViolation => "schema_violation",
    }
}

impl fmt::Display for RejectionReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// A rejected response: the stable reason and a sentence saying what exactly was wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// The stable reason code.
    pub reason: RejectionReason,
    /// One sentence for the administrator (may quote short, truncated pieces of the message).
    pub detail: String,
    /// The IdP's clock minus ours in seconds, from the IssueInstant of the assertion, when the
    /// refusal came after its signature was verified (`None` before: unsigned data is not
    /// measured).
    pub clock_offset: Option<i64>,
}

impl Rejection {
    /// A rejection for `reason` with `detail`.
    pub fn new(reason: RejectionReason, detail: impl Into<String>) -> Self {
        Rejection {
            reason,
            detail: detail.into(),
            clock_offset: None,
        }
    }

    /// The same rejection with the measured clock offset.
    pub fn with_clock_offset(self, clock_offset: Option<i64>) -> Self {
        Rejection {
            clock_offset,
            ..self
        }
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.reason.code(), self.detail)
    }
}

impl std::error::Error for Rejection {}

/// Quotes a value from the message for a detail sentence, cut to a safe length.
pub(crate) fn quote(value: &str) -> String {
    const MAX: usize = 100;
    let mut s: String = value
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX)
        .collect();
    if value.chars().count() > MAX {
        s.push('…');
    }
    format!("'{s}'")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quote_truncates_and_strips_control_characters() {
        assert_eq!(quote("a\nb"), "'ab'");
        assert_eq!(quote(&"x".repeat(150)).chars().count(), 103);
    }
}
