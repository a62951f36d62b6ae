//! The database as the validator's [`MessageLedger`]: the replay cache and the outstanding
//! requests every node shares.
//!
//! The ledger notes what the login will use up; the login's transaction then uses it up
//! ([`crate::store::Store::complete_login`]), refusing a message used up before or by a racing
//! login, so a response is used once across all nodes. For a response that answers a request
//! the ledger also reads now, in one look (the request's row is needed before the
//! transaction, to check the browser and the landing page): a used assertion or an unknown
//! request is refused at once, a replay before anything else. For an IdP-initiated response it
//! reads nothing: a replay is refused by the transaction's claim (reason `replay` all the same,
//! unless a check after validation refuses it first), which saves every login a round trip to
//! the database.

use time::OffsetDateTime;

use crate::saml::{Claim, MessageLedger};
use crate::store::{Store, StoreError, UsedAssertion, UsedMessages};

/// A [`MessageLedger`] over the store, for one validation at `now`.
#[derive(Debug)]
pub(crate) struct DatabaseLedger<'a> {
    store: &'a Store,
    now: OffsetDateTime,
    used: UsedMessages,
}

impl<'a> DatabaseLedger<'a> {
    /// A ledger for a validation at `now`.
    pub(crate) fn new(store: &'a Store, now: OffsetDateTime) -> DatabaseLedger<'a> {
        DatabaseLedger {
            store,
            now,
            used: UsedMessages::default(),
        }
    }

    /// What the validation claimed, for the login's transaction to use up.
    pub(crate) fn into_used(self) -> UsedMessages {
        self.used
    }
}

impl MessageLedger for DatabaseLedger<'_> {
    type Error = StoreError;

    fn claim(
        &mut self,
        assertion_id: &str,
        expires: OffsetDateTime,
        request_id: Option<&str>,
    ) -> Result<Claim, StoreError> {
        if let Some(request_id) = request_id {
            let (used, request) =
                self.store
                    .assertion_used_and_request(assertion_id, request_id, self.now)?;
            if used {
                return Ok(Claim::AssertionUsed);
            }
            let Some(request) = request else {
                return Ok(Claim::RequestUnknown);
            };
            self.used.request = Some(request);
        }
        // Without a request, the transaction's claim is the replay check.
        self.used.assertion = Some(UsedAssertion {
            assertion_id: assertion_id.to_owned(),
            expires_at: expires.unix_timestamp(),
        });
        Ok(Claim::Taken)
    }
}

#[cfg(test)]
mod tests {
    use time::Duration;
    use time::macros::datetime;

    use super::*;
    use crate::store::ClaimLost;

    const NOW: OffsetDateTime = datetime!(2026-11-23 12:00 UTC);

    fn store_pair(test: &str) -> (tempfile::TempDir, Store, Store) {
        let dir = tempfile::tempdir().unwrap();
        let path = crate::store::testing::database_in(dir.path(), "fedbridge.db", test);
        let (a, b) = (Store::open(&path).unwrap(), Store::open(&path).unwrap());
        (dir, a, b)
    }

    #[test]
    fn the_ledger_shares_replay_protection_across_nodes() {
        let (_dir, a, b) = store_pair("ledger");
        a.remember_request("_req", "h", Some("/t"), None, NOW, Duration::minutes(5))
            .unwrap();
        let expires = NOW + Duration::minutes(5);
        // Both nodes validate the same response at once: both claims look fine...
        let mut node_a = DatabaseLedger::new(&a, NOW);
        let mut node_b = DatabaseLedger::new(&b, NOW);
        for ledger in [&mut node_a, &mut node_b] {
            let claim = ledger.claim("_assertion", expires, Some("_req")).unwrap();
            assert_eq!(claim, Claim::Taken);
        }
        let (used_a, used_b) = (node_a.into_used(), node_b.into_used());
        assert_eq!(
            used_b.request.as_ref().unwrap().target.as_deref(),
            Some("/t")
        );
        // ...the first to use them up wins, the second finds them used...
        b.use_up(&used_b, NOW).unwrap().unwrap();
        assert_eq!(a.use_up(&used_a, NOW).unwrap(), Err(ClaimLost::Request));
        let only_assertion = UsedMessages {
            request: None,
            ..used_a
        };
        assert_eq!(
            a.use_up(&only_assertion, NOW).unwrap(),
            Err(ClaimLost::Assertion)
        );
        // ...and later validations on any node are refused at once, as a replay first (the
        // request is answered too, but a response used before is a replay).
        let mut node_c = DatabaseLedger::new(&a, NOW);
        let claim = node_c.claim("_assertion", expires, Some("_req")).unwrap();
        assert_eq!(claim, Claim::AssertionUsed);
        let claim = node_c.claim("_new", expires, Some("_req")).unwrap();
        assert_eq!(claim, Claim::RequestUnknown);
        // The one-look reads agree with the single ones.
        assert!(a.assertion_used("_assertion").unwrap());
        assert_eq!(a.outstanding_request("_req", NOW).unwrap(), None);
    }

    #[test]
    fn an_unsolicited_response_reads_nothing_and_its_replay_is_refused_by_the_claim() {
        let (_dir, a, b) = store_pair("ledger_unsolicited");
        let expires = NOW + Duration::minutes(5);
        let mut first = DatabaseLedger::new(&a, NOW);
        assert_eq!(first.claim("_idp", expires, None).unwrap(), Claim::Taken);
        a.use_up(&first.into_used(), NOW).unwrap().unwrap();
        // A replay on the other node: validation notes it (no read: a round trip saved for
        // every IdP-initiated login), the transaction's claim refuses it as used.
        let mut replay = DatabaseLedger::new(&b, NOW);
        assert_eq!(replay.claim("_idp", expires, None).unwrap(), Claim::Taken);
        let used = replay.into_used();
        assert_eq!(used.assertion.as_ref().unwrap().assertion_id, "_idp");
        assert_eq!(b.use_up(&used, NOW).unwrap(), Err(ClaimLost::Assertion));
    }
}
