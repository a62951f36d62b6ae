//! Why a login did not go through: one stable reason code per cause (the audit trail and the
//! log carry it), a detail for the administrator, and a kind the web layer maps to a status.
//! Nothing here is shown to the browser except the kind's generic sentence.

use crate::saml::error::reason_codes;
use crate::saml::{Rejection, RejectionReason, ValidationError};
use crate::store::{ClaimLost, StoreError};
use crate::sync::{AccountRefusal, IdentityError};

reason_codes! {
    /// Why a login failed, besides the validator's [`RejectionReason`]s (a code is never in
    /// both: a test says so).
    LoginReason {
        /// The ACS was called without a `SAMLResponse`.
        SamlResponseMissing => "saml_response_missing",
        /// `RelayState` is not the handle sent with the request.
        RelayStateMismatch => "relay_state_mismatch",
        /// The login target is not allowed.
        TargetNotAllowed => "target_not_allowed",
        /// The login-name attribute is absent.
        LoginNameMissing => "login_name_missing",
        /// The login-name attribute has several values.
        LoginNameAmbiguous => "login_name_ambiguous",
        /// The login name is empty.
        LoginNameEmpty => "login_name_empty",
        /// The login name has an invisible or control character or a space at either end.
        LoginNameInvalid => "login_name_invalid",
        /// The user is disabled.
        UserDisabled => "user_disabled",
        /// No account matches and `FEDBRIDGE_EXISTING_USERS_ONLY` creates none.
        UserNotProvisioned => "user_not_provisioned",
        /// The NameID and the login name are the external IDs of two accounts.
        ExternalIdAmbiguous => "external_id_ambiguous",
        /// Several stored spellings of the login name, none of them the one sent.
        LoginNameAmbiguousCase => "login_name_ambiguous_case",
        /// The IdP metadata was never fetched.
        IdpMetadataUnavailable => "idp_metadata_unavailable",
        /// The IdP names no usable SSO service.
        IdpSsoUrlMissing => "idp_sso_url_missing",
        /// The database failed.
        DatabaseError => "database_error",
        /// fedbridge failed otherwise.
        InternalError => "internal_error",
        /// The edge refused the body unread: no Content-Length, not a form, or it broke off.
        BodyRejected => "body_rejected",
        /// The body's Content-Length is over the cap: refused unread.
        BodyTooLarge => "body_too_large",
        /// The body did not arrive within the deadline.
        BodyTimeout => "body_timeout",
        /// The client's rate limit (or its cap of bodies in flight) is used up.
        RateLimited => "rate_limited",
        /// The body memory budget or the validation slots are taken.
        Overloaded => "overloaded",
        /// Too many logins are waiting for the IdP's answer.
        LoginCapacityExceeded => "login_capacity_exceeded",
        /// The RelayState is longer than any of ours (1 KiB; SAML allows 80 bytes).
        RelayStateTooLong => "relay_state_too_long",
        /// A solicited response was posted by a browser without the login cookie.
        BrowserBindingMissing => "browser_binding_missing",
        /// A solicited response was posted by another browser than the one that started it.
        BrowserBindingMismatch => "browser_binding_mismatch",
    }
}

/// Why a login (its start or its completion) failed.
#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    /// The response was refused by the validator (SPEC section 4); the code is the
    /// validator's.
    #[error("{}: {}", .0.reason.code(), .0.detail)]
    Rejected(#[from] Rejection),
    /// A concurrent login committed the same assertion or answered the same request first
    /// (the response was valid when checked): a replay that raced.
    #[error("{0}")]
    ClaimLost(ClaimLost),
    /// The ACS was called without a `SAMLResponse`.
    #[error("the request has no SAMLResponse form field")]
    NoSamlResponse,
    /// `RelayState` came back different from the handle sent with the request it answers.
    #[error("the RelayState sent back is not the one sent with the request the response answers")]
    RelayStateMismatch,
    /// The login target is not our origin nor an allowed downstream URL.
    #[error("the target is not on fedbridge's origin nor in FEDBRIDGE_ALLOWED_DOWNSTREAM_URLS")]
    TargetNotAllowed,
    /// A solicited response came from a browser without the login cookie.
    #[error(
        "the response answers a login started in a browser, and this browser has no login \
         cookie (another browser, or cookies blocked)"
    )]
    BrowserBindingMissing,
    /// A solicited response came from another browser than the one that started the login.
    #[error("{0}")]
    BrowserBindingMismatch(&'static str),
    /// The `RelayState` is longer than [`crate::login::MAX_RELAY_STATE`].
    #[error("the RelayState is longer than 1024 bytes")]
    RelayStateTooLong,
    /// No login name could be taken from the assertion.
    #[error("{0}")]
    Identity(#[from] IdentityError),
    /// The user exists and is disabled.
    #[error("the user is disabled")]
    UserDisabled,
    /// No account for this login (SPEC section 5).
    #[error("{0}")]
    Account(#[from] AccountRefusal),
    /// No IdP can be trusted yet (its metadata was never fetched).
    #[error("the IdP metadata has not been fetched yet (see /healthz)")]
    IdpUnavailable,
    /// The IdP's metadata names no SSO service with a binding the settings allow.
    #[error(
        "the IdP metadata names no SingleSignOnService with a binding FEDBRIDGE_AUTHN_REQUEST_BINDING allows (HTTP-Redirect, HTTP-POST)"
    )]
    NoSsoUrl,
    /// The database failed.
    #[error("{0}")]
    Database(#[from] StoreError),
    /// Anything else that is our fault (random generator, signing).
    #[error("{0}")]
    Internal(String),
}

/// How the web layer answers a [`LoginError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The request or the response was refused (400).
    Refused,
    /// The user may not log in (403).
    Forbidden,
    /// fedbridge cannot serve logins right now (503).
    Unavailable,
    /// Our fault (500).
    Internal,
}

/// Every reason code a login can be refused with: the validator's and the login's own (the
/// labels of `fedbridge_logins_total`).
pub fn all_reason_codes() -> Vec<&'static str> {
    RejectionReason::ALL
        .iter()
        .map(|r| r.code())
        .chain(LoginReason::ALL.iter().map(|r| r.code()))
        .collect()
}

impl LoginError {
    /// The stable reason code (snake_case), as in the audit trail and the log.
    pub fn code(&self) -> &'static str {
        match self {
            LoginError::Rejected(rejection) => rejection.reason.code(),
            LoginError::ClaimLost(lost) => match lost {
                ClaimLost::Assertion => RejectionReason::Replay.code(),
                ClaimLost::Request => RejectionReason::InResponseToUnknown.code(),
            },
            LoginError::NoSamlResponse => LoginReason::SamlResponseMissing.code(),
            LoginError::RelayStateMismatch => LoginReason::RelayStateMismatch.code(),
            LoginError::TargetNotAllowed => LoginReason::TargetNotAllowed.code(),
            LoginError::RelayStateTooLong => LoginReason::RelayStateTooLong.code(),
            LoginError::BrowserBindingMissing => LoginReason::BrowserBindingMissing.code(),
            LoginError::BrowserBindingMismatch(_) => LoginReason::BrowserBindingMismatch.code(),
            LoginError::Identity(IdentityError::MissingUserId { .. } | IdentityError::NoNameId) => {
                LoginReason::LoginNameMissing.code()
            }
            LoginError::Identity(IdentityError::AmbiguousUserId { .. }) => {
                LoginReason::LoginNameAmbiguous.code()
            }
            LoginError::Identity(IdentityError::EmptyLoginName) => {
                LoginReason::LoginNameEmpty.code()
            }
            LoginError::Identity(IdentityError::InvalidLoginName(_)) => {
                LoginReason::LoginNameInvalid.code()
            }
            LoginError::UserDisabled => LoginReason::UserDisabled.code(),
            LoginError::Account(AccountRefusal::NotProvisioned(_)) => {
                LoginReason::UserNotProvisioned.code()
            }
            LoginError::Account(AccountRefusal::ExternalIdAmbiguous(_)) => {
                LoginReason::ExternalIdAmbiguous.code()
            }
            LoginError::Account(AccountRefusal::LoginNameAmbiguousCase(_)) => {
                LoginReason::LoginNameAmbiguousCase.code()
            }
            LoginError::IdpUnavailable => LoginReason::IdpMetadataUnavailable.code(),
            LoginError::NoSsoUrl => LoginReason::IdpSsoUrlMissing.code(),
            LoginError::Database(_) => LoginReason::DatabaseError.code(),
            LoginError::Internal(_) => LoginReason::InternalError.code(),
        }
    }

    /// How it is answered.
    pub fn kind(&self) -> ErrorKind {
        match self {
            LoginError::Rejected(_)
            | LoginError::ClaimLost(_)
            | LoginError::NoSamlResponse
            | LoginError::RelayStateMismatch
            | LoginError::TargetNotAllowed
            | LoginError::RelayStateTooLong
            | LoginError::BrowserBindingMissing
            | LoginError::BrowserBindingMismatch(_)
            | LoginError::Identity(_) => ErrorKind::Refused,
            LoginError::UserDisabled | LoginError::Account(_) => ErrorKind::Forbidden,
            LoginError::IdpUnavailable | LoginError::NoSsoUrl | LoginError::Database(_) => {
                ErrorKind::Unavailable
            }
            LoginError::Internal(_) => ErrorKind::Internal,
        }
    }

    /// Whether the response was signed by no key the trusted IdP holds: after an IdP's key
    /// rollover, until its metadata is fetched again.
    pub fn unknown_key(&self) -> bool {
        matches!(
            self,
            LoginError::Rejected(rejection) if matches!(
                rejection.reason,
                RejectionReason::SignatureInvalid | RejectionReason::NoSuitableKey
            )
        )
    }

    /// Whether the request carried no SAML message (nothing parsed to a `samlp:Response`):
    /// counted per minute, client and reason instead of one audit row each. Anyone can send
    /// such requests by the million; a response that parses is bounded by the rate limit.
    pub fn counted(&self) -> bool {
        match self {
            LoginError::Rejected(rejection) => matches!(
                rejection.reason,
                RejectionReason::EmptyInput
                    | RejectionReason::InputTooLarge
                    | RejectionReason::InvalidBase64
                    | RejectionReason::MalformedXml
                    | RejectionReason::DtdForbidden
                    | RejectionReason::TooDeep
                    | RejectionReason::NulByte
                    | RejectionReason::NotAResponse
            ),
            // The database cannot take the row now: counted, and written once it can.
            LoginError::NoSamlResponse
            | LoginError::TargetNotAllowed
            | LoginError::RelayStateTooLong
            | LoginError::Database(_) => true,
            _ => false,
        }
    }

    /// The audit row's outcome: `rejected` for refusals, `error` when fedbridge failed.
    pub fn outcome(&self) -> &'static str {
        match self.kind() {
            ErrorKind::Refused | ErrorKind::Forbidden => "rejected",
            ErrorKind::Unavailable | ErrorKind::Internal => "error",
        }
    }
}

impl From<ValidationError<StoreError>> for LoginError {
    fn from(error: ValidationError<StoreError>) -> LoginError {
        match error {
            ValidationError::Rejected(rejection) => LoginError::Rejected(rejection),
            ValidationError::Ledger(error) => LoginError::Database(error),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn no_login_code_is_also_a_validator_code() {
        let validator: HashSet<&str> = RejectionReason::ALL.iter().map(|r| r.code()).collect();
        for reason in LoginReason::ALL {
            assert!(
                !validator.contains(reason.code()),
                "{} is also a validator code",
                reason.code()
            );
        }
    }
}
