//! Which stored account a login is for (SPEC section 5). Pure: the store reads the candidate
//! rows inside the login's transaction and this module decides.
//!
//! # Rules, in order
//! 1. **External ID** (Qualys): an account whose external ID equals, exactly, the NameID
//!    (whatever its Format) or the login name is that login's account, and keeps its own login
//!    name. Two different accounts matched that way: refused, nothing guessed.
//! 2. **Login name**: by default compared without regard to ASCII case ([`login_key`]); the
//!    stored spelling (the first one seen) stays. When several stored spellings share the key
//!    (created by an earlier version, or while matching was exact), the exact spelling wins, and
//!    without one the login is refused. `FEDBRIDGE_LOGIN_NAME_MATCH=exact` compares exactly.
//! 3. Otherwise a new account, unless `FEDBRIDGE_EXISTING_USERS_ONLY` refuses it.

use crate::config::LoginNameMatch;
use crate::sync::{Identity, SyncPolicy, login_key};

/// A stored account as the match sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredAccount {
    /// The row id.
    pub id: i64,
    /// The stored login name.
    pub login_name: String,
    /// The external ID, when recorded.
    pub external_id: Option<String>,
}

/// What the candidates were read by (for the store's queries).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoginLookup {
    /// Accounts whose `login_key` is this.
    Key(String),
    /// The account whose `login_name` is exactly this.
    Exact(String),
}

/// How a login found its account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchedBy {
    /// By the external ID recorded on it.
    ExternalId,
    /// By login name.
    LoginName,
}

/// The account a login is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccountMatch {
    /// This stored account.
    Existing(StoredAccount, MatchedBy),
    /// None: a new account is created.
    New,
}

/// Why a login has no account.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AccountRefusal {
    /// `FEDBRIDGE_EXISTING_USERS_ONLY` is on and no account matches.
    #[error("no account matches {0:?} and FEDBRIDGE_EXISTING_USERS_ONLY=1 creates none")]
    NotProvisioned(String),
    /// The NameID and the login name are the external IDs of two accounts.
    #[error("the NameID and the login name are the external IDs of two accounts: {}", .0.join(", "))]
    ExternalIdAmbiguous(Vec<String>),
    /// Several stored spellings of the login name, none of them the one sent.
    #[error(
        "the login name matches the accounts {} without regard to case, and none exactly; \
         merge them or set FEDBRIDGE_LOGIN_NAME_MATCH=exact",
        .0.join(", ")
    )]
    LoginNameAmbiguousCase(Vec<String>),
}

/// The login-name lookup the policy asks for.
pub fn login_lookup(identity: &Identity, policy: &SyncPolicy) -> LoginLookup {
    match policy.login_name_match {
        LoginNameMatch::CaseInsensitive => LoginLookup::Key(login_key(&identity.login_name)),
        LoginNameMatch::Exact => LoginLookup::Exact(identity.login_name.clone()),
    }
}

/// The account `identity` logs in to, given the accounts whose external ID is one of
/// [`Identity::external_id_candidates`] and those [`login_lookup`] found.
pub fn choose_account(
    identity: &Identity,
    by_external_id: Vec<StoredAccount>,
    by_login_name: Vec<StoredAccount>,
    policy: &SyncPolicy,
) -> Result<AccountMatch, AccountRefusal> {
    let mut by_external_id = by_external_id;
    by_external_id.sort_by_key(|a| a.id);
    by_external_id.dedup_by_key(|a| a.id);
    match by_external_id.len() {
        0 => {}
        1 => {
            let account = by_external_id.remove(0);
            return Ok(AccountMatch::Existing(account, MatchedBy::ExternalId));
        }
        _ => {
            return Err(AccountRefusal::ExternalIdAmbiguous(
                by_external_id.into_iter().map(|a| a.login_name).collect(),
            ));
        }
    }
    let mut found = by_login_name;
    let exact = found
        .iter()
        .position(|a| a.login_name == identity.login_name);
    let account = match (exact, found.len()) {
        (Some(i), _) => Some(found.swap_remove(i)),
        (None, 1) if policy.login_name_match == LoginNameMatch::CaseInsensitive => found.pop(),
        (None, 0 | 1) => None,
        (None, _) => {
            let mut spellings: Vec<String> = found.into_iter().map(|a| a.login_name).collect();
            spellings.sort();
            return Err(AccountRefusal::LoginNameAmbiguousCase(spellings));
        }
    };
    match account {
        Some(account) => Ok(AccountMatch::Existing(account, MatchedBy::LoginName)),
        None if policy.existing_users_only => {
            Err(AccountRefusal::NotProvisioned(identity.login_name.clone()))
        }
        None => Ok(AccountMatch::New),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sync::GroupClaim;

    fn identity(login_name: &str, name_id: Option<&str>) -> Identity {
        Identity {
            login_name: login_name.into(),
            name_id: name_id.map(Into::into),
            full_name: None,
            email: None,
            description: None,
            groups: GroupClaim::NotMapped,
        }
    }

    fn account(id: i64, login_name: &str, external_id: Option<&str>) -> StoredAccount {
        StoredAccount {
            id,
            login_name: login_name.into(),
            external_id: external_id.map(Into::into),
        }
    }

    #[test]
    fn the_external_id_wins_and_two_accounts_by_external_id_are_refused() {
        let policy = SyncPolicy::default();
        let asmith = account(1, "asmith", Some("a.smith@corp.test"));
        let other = account(2, "a.smith@corp.test", None);
        let got = choose_account(
            &identity("a.smith@corp.test", Some("a.smith@corp.test")),
            vec![asmith.clone(), asmith.clone()],
            vec![other],
            &policy,
        );
        assert_eq!(
            got,
            Ok(AccountMatch::Existing(
                asmith.clone(),
                MatchedBy::ExternalId
            ))
        );
        let bob = account(3, "bob", Some("upn-of-bob"));
        assert_eq!(
            choose_account(
                &identity("upn-of-bob", Some("a.smith@corp.test")),
                vec![asmith, bob],
                vec![],
                &policy
            ),
            Err(AccountRefusal::ExternalIdAmbiguous(vec![
                "asmith".into(),
                "bob".into()
            ]))
        );
    }

    #[test]
    fn login_names_match_without_regard_to_case_and_the_exact_spelling_wins() {
        let policy = SyncPolicy::default();
        let alice = account(1, "alice@corp.test", None);
        assert_eq!(
            login_lookup(&identity("ALICE@Corp.test", None), &policy),
            LoginLookup::Key("alice@corp.test".into())
        );
        assert_eq!(
            choose_account(
                &identity("ALICE@corp.test", None),
                vec![],
                vec![alice.clone()],
                &policy
            ),
            Ok(AccountMatch::Existing(alice.clone(), MatchedBy::LoginName))
        );
        // Two stored spellings (an earlier version made them): the exact one, else refused.
        let upper = account(2, "ALICE@corp.test", None);
        let both = vec![alice.clone(), upper.clone()];
        assert_eq!(
            choose_account(
                &identity("ALICE@corp.test", None),
                vec![],
                both.clone(),
                &policy
            ),
            Ok(AccountMatch::Existing(upper, MatchedBy::LoginName))
        );
        assert_eq!(
            choose_account(&identity("Alice@corp.test", None), vec![], both, &policy),
            Err(AccountRefusal::LoginNameAmbiguousCase(vec![
                "ALICE@corp.test".into(),
                "alice@corp.test".into()
            ]))
        );
    }

    #[test]
    fn exact_matching_and_existing_users_only() {
        let exact = SyncPolicy {
            login_name_match: LoginNameMatch::Exact,
            ..SyncPolicy::default()
        };
        assert_eq!(
            login_lookup(&identity("ALICE", None), &exact),
            LoginLookup::Exact("ALICE".into())
        );
        assert_eq!(
            choose_account(&identity("ALICE", None), vec![], vec![], &exact),
            Ok(AccountMatch::New)
        );
        let only = SyncPolicy {
            existing_users_only: true,
            ..SyncPolicy::default()
        };
        assert_eq!(
            choose_account(&identity("mallory", None), vec![], vec![], &only),
            Err(AccountRefusal::NotProvisioned("mallory".into()))
        );
    }
}
