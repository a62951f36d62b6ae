//! Why a login did not go through: one stable reason code per cause (the audit trail and the
//! log carry it), a detail for the administrator, and a kind the web layer maps to a status.
//! Nothing here is shown to the browser except the kind's generic sentence.

use crate::saml::{Rejection, RejectionReason};
use crate::store::{ClaimLost, StoreError};
use crate::sync::IdentityError;

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
    /// No login name could be taken from the assertion.
    #[error("{0}")]
    Identity(#[from] IdentityError),
    /// The user exists and is disabled.
    #[error("the user is disabled")]
    UserDisabled,
    /// No IdP can be trusted yet (its metadata was never fetched).
    #[error("the IdP metadata has not been fetched yet (see /healthz)")]
    IdpUnavailable,
    /// The IdP's metadata names no SSO service with the HTTP-Redirect binding.
    #[error("the IdP metadata names no SingleSignOnService with the HTTP-Redirect binding")]
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

impl LoginError {
    /// The stable reason code (snake_case), as in the audit trail and the log.
    pub fn code(&self) -> &'static str {
        match self {
            LoginError::Rejected(rejection) => rejection.reason.code(),
            LoginError::ClaimLost(lost) => match lost {
                ClaimLost::Assertion => RejectionReason::Replay.code(),
                ClaimLost::Request => RejectionReason::InResponseToUnknown.code(),
            },
            LoginError::NoSamlResponse => "saml_response_missing",
            LoginError::RelayStateMismatch => "relay_state_mismatch",
            LoginError::TargetNotAllowed => "target_not_allowed",
            LoginError::Identity(IdentityError::MissingUserId { .. }) => "login_name_missing",
            LoginError::Identity(IdentityError::AmbiguousUserId { .. }) => "login_name_ambiguous",
            LoginError::Identity(IdentityError::EmptyLoginName) => "login_name_empty",
            LoginError::UserDisabled => "user_disabled",
            LoginError::IdpUnavailable => "idp_metadata_unavailable",
            LoginError::NoSsoUrl => "idp_sso_url_missing",
            LoginError::Database(_) => "database_error",
            LoginError::Internal(_) => "internal_error",
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
            | LoginError::Identity(_) => ErrorKind::Refused,
            LoginError::UserDisabled => ErrorKind::Forbidden,
            LoginError::IdpUnavailable | LoginError::NoSsoUrl | LoginError::Database(_) => {
                ErrorKind::Unavailable
            }
            LoginError::Internal(_) => ErrorKind::Internal,
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
