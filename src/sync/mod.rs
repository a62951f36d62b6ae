//! Identity and sync (SPEC sections 5 and 6): what a verified assertion says about the user
//! ([`identity`]), which stored account it is for ([`account`]) and what would change in the
//! store to match it ([`plan()`]), all pure. The store applies a plan in one transaction
//! (`Store::sync_login` in `store/users.rs`), reading the rows it decides from inside that
//! transaction.
//!
//! Dependency rule: this module imports `config` and `saml` types only, never the database.
//!
//! # Matching rules
//! - Login names compare without regard to ASCII case by default ([`login_key`]; a setting makes
//!   them exact); the first spelling seen is stored and kept. No trimming, no Unicode
//!   normalisation.
//! - Group names compare exactly (`Admins` and `admins` are two groups), like
//!   `FEDERATEDLY_MANAGED_GROUPS`; IdP identifiers recorded on groups compare without regard to
//!   ASCII case (object IDs, SIDs).
//! - A stored account is found by its external ID first (the Qualys "External ID": equal to the
//!   NameID of any Format, or to the login name), then by login name; it keeps its login name.

pub mod account;
pub mod identity;
pub mod plan;

pub use self::account::{
    AccountMatch, AccountRefusal, LoginLookup, MatchedBy, StoredAccount, choose_account,
    login_lookup,
};
pub use self::identity::{
    ArrivedAttribute, GroupClaim, Identity, IdentityError, OVERAGE_MARKERS, arrived, find_attribute,
};
pub use self::plan::{
    CurrentUser, FieldChanges, Hold, LocalGroups, StoredUser, SyncFlag, SyncPlan, SyncPolicy, plan,
};

/// The key login names are matched by (unless `FEDBRIDGE_LOGIN_NAME_MATCH=exact`): the name
/// folded to ASCII lower case, nothing else. Unicode case folding would merge identities that
/// differ (the Kelvin sign and `k`, `ß` and `ss`); the databases compute the same key in SQL
/// (`users.login_key`), which a store test checks.
pub fn login_key(login_name: &str) -> String {
    login_name.to_ascii_lowercase()
}
