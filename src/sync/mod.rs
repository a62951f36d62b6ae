//! Identity and sync (SPEC sections 5 and 6): what a verified assertion says about the user
//! ([`identity`]), what would change in the store to match it ([`plan()`]), both pure. The store
//! applies a plan in one transaction (`Store::sync_login` in `store/users.rs`), re-planning from
//! the rows it reads inside that transaction.
//!
//! Dependency rule: this module imports `config` and `saml` types only, never the database.
//!
//! # Matching rules
//! - Login names and group names compare exactly: case-sensitive, no trimming, no Unicode
//!   normalisation (`Admins` and `admins` are two groups), like `FEDERATEDLY_MANAGED_GROUPS`.
//! - A stored user is found by its external ID first (the Qualys "External ID" style: a stable
//!   IdP identifier, here the NameID when its Format is `persistent`), then by login name; a
//!   user found by external ID whose login name changed at the IdP is renamed.

pub mod identity;
pub mod plan;

pub use self::identity::{
    ArrivedAttribute, Identity, IdentityError, PERSISTENT_NAME_ID, arrived, find_attribute,
};
pub use self::plan::{CurrentUser, FieldChanges, StoredUser, SyncPlan, plan};
