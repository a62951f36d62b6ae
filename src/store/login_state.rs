//! `outstanding_requests` and `replay_cache`: the login state every node shares, so that any
//! node can finish a login another node started and an assertion is used once across all nodes.
//!
//! A validation reads and claims ([`StoreLedger`]); the login's transaction writes the claims
//! ([`claim_in`]): the request's delete must remove the row and the assertion's insert must be
//! new, so two nodes answering the same request or using the same assertion at once succeed
//! once. Expired rows are refused and removed by [`Store::purge_expired_login_state`].

use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use time::{Duration, OffsetDateTime};

use crate::saml::MessageLedger;
use crate::store::connection::DbConnection;
use crate::store::schema::{outstanding_requests, replay_cache};
use crate::store::{Store, StoreError};

/// An outstanding request taken (and removed) from the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TakenRequest {
    /// The AuthnRequest `ID`.
    pub request_id: String,
    /// The handle sent as `RelayState`.
    pub relay_handle: String,
    /// Where to send the user after the login, if the login started with a target.
    pub target: Option<String>,
}

type Row = (String, String, Option<String>, i64);

impl Store {
    /// Records an AuthnRequest sent at `now`, answerable until `now + ttl`.
    pub fn remember_request(
        &self,
        request_id: &str,
        relay_handle: &str,
        target: Option<&str>,
        now: OffsetDateTime,
        ttl: Duration,
    ) -> Result<(), StoreError> {
        self.write(|conn| {
            let created = now.unix_timestamp();
            diesel::insert_into(outstanding_requests::table)
                .values((
                    outstanding_requests::request_id.eq(request_id),
                    outstanding_requests::relay_handle.eq(relay_handle),
                    outstanding_requests::target.eq(target),
                    outstanding_requests::created_at.eq(created),
                    outstanding_requests::expires_at.eq((now + ttl).unix_timestamp()),
                ))
                .execute(&mut **conn)
                .map(drop)
                .map_err(|e| self.query_error(&e))
        })
    }

    /// Deletes outstanding requests and replay-cache entries expired at `now`; returns how many
    /// rows went (one transaction).
    pub fn purge_expired_login_state(&self, now: OffsetDateTime) -> Result<usize, StoreError> {
        let at = now.unix_timestamp();
        self.write(|conn| {
            conn.transaction(|conn| {
                let requests = diesel::delete(
                    outstanding_requests::table.filter(outstanding_requests::expires_at.le(at)),
                )
                .execute(conn)?;
                let assertions =
                    diesel::delete(replay_cache::table.filter(replay_cache::expires_at.le(at)))
                        .execute(conn)?;
                Ok(requests + assertions)
            })
            .map_err(|e| self.query_error(&e))
        })
    }
}

fn columns() -> (
    outstanding_requests::request_id,
    outstanding_requests::relay_handle,
    outstanding_requests::target,
    outstanding_requests::expires_at,
) {
    (
        outstanding_requests::request_id,
        outstanding_requests::relay_handle,
        outstanding_requests::target,
        outstanding_requests::expires_at,
    )
}

/// What a validation claimed from the ledger: the assertion ID to record as used and the
/// outstanding request to consume. [`Store::complete_login`] writes both in the login's own
/// transaction (or [`Store::commit_claims`] alone, when the login fails after validation), so a
/// successful login is one write transaction.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LedgerClaims {
    /// The assertion ID and until when it is kept (epoch seconds).
    pub assertion: Option<(String, i64)>,
    /// The outstanding request the response answers.
    pub request: Option<TakenRequest>,
}

impl LedgerClaims {
    /// Whether the validation claimed nothing.
    pub fn is_empty(&self) -> bool {
        self.assertion.is_none() && self.request.is_none()
    }
}

/// A claim that another login (on this node or another) committed first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ClaimLost {
    /// The assertion ID was recorded meanwhile: a replay.
    #[error("the assertion was used meanwhile by a concurrent login")]
    Assertion,
    /// The request was answered meanwhile (or expired).
    #[error("the request was answered meanwhile by a concurrent login")]
    Request,
}

/// A [`MessageLedger`] over the store, for one validation at `now`: the replay cache and the
/// outstanding requests are shared by every node on the database.
///
/// The ledger reads (a used assertion or an unknown request is refused at once) and claims:
/// the writes happen later in one transaction that refuses a claim another login committed
/// first ([`ClaimLost`]), so two logins racing with the same assertion or request still get it
/// once. The trait answers yes or no; a database error answers no (fail closed) and is kept,
/// so the caller can tell it from a replay with [`StoreLedger::take_error`].
#[derive(Debug)]
pub struct StoreLedger<'a> {
    store: &'a Store,
    now: OffsetDateTime,
    error: Option<StoreError>,
    claims: LedgerClaims,
}

impl<'a> StoreLedger<'a> {
    /// A ledger for a validation at `now`.
    pub fn new(store: &'a Store, now: OffsetDateTime) -> StoreLedger<'a> {
        StoreLedger {
            store,
            now,
            error: None,
            claims: LedgerClaims::default(),
        }
    }

    /// The database error that made an answer "no", if any.
    pub fn take_error(&mut self) -> Option<StoreError> {
        self.error.take()
    }

    /// What the validation claimed.
    pub fn claims(&self) -> &LedgerClaims {
        &self.claims
    }

    /// Keeps a database error (fail closed).
    fn failed(&mut self, what: &str, error: StoreError) -> bool {
        tracing::error!(error = %error, "cannot {what}");
        self.error = Some(error);
        false
    }
}

impl MessageLedger for StoreLedger<'_> {
    fn record_assertion(&mut self, assertion_id: &str, expires: OffsetDateTime) -> bool {
        match self.store.assertion_seen(assertion_id) {
            Ok(true) => false,
            Ok(false) => {
                self.claims.assertion = Some((assertion_id.to_owned(), expires.unix_timestamp()));
                true
            }
            Err(e) => self.failed("read the replay cache", e),
        }
    }

    fn consume_request(&mut self, request_id: &str) -> bool {
        match self.store.find_request(request_id, self.now) {
            Ok(Some(request)) => {
                self.claims.request = Some(request);
                true
            }
            Ok(None) => false,
            Err(e) => self.failed("read the outstanding requests", e),
        }
    }
}

impl Store {
    /// Whether `assertion_id` was recorded as used.
    pub fn assertion_seen(&self, assertion_id: &str) -> Result<bool, StoreError> {
        let mut conn = self.conn()?;
        diesel::select(diesel::dsl::exists(
            replay_cache::table.filter(replay_cache::assertion_id.eq(assertion_id)),
        ))
        .get_result(&mut conn)
        .map_err(|e| self.query_error(&e))
    }

    /// The outstanding request `request_id` if it exists and has not expired at `now`
    /// (left in place: see [`LedgerClaims`]).
    pub fn find_request(
        &self,
        request_id: &str,
        now: OffsetDateTime,
    ) -> Result<Option<TakenRequest>, StoreError> {
        let mut conn = self.conn()?;
        let row = outstanding_requests::table
            .select(columns())
            .filter(outstanding_requests::request_id.eq(request_id))
            .filter(outstanding_requests::expires_at.gt(now.unix_timestamp()))
            .first::<Row>(&mut conn)
            .optional()
            .map_err(|e| self.query_error(&e))?;
        Ok(
            row.map(|(request_id, relay_handle, target, _)| TakenRequest {
                request_id,
                relay_handle,
                target,
            }),
        )
    }

    /// Writes `claims` on their own, for a login that failed after validation: the assertion
    /// is used and the request answered all the same. A claim lost to another login is fine
    /// here (it is used either way).
    pub fn commit_claims(
        &self,
        claims: &LedgerClaims,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        self.write(|conn| {
            conn.transaction(|conn| claim_in(conn, claims, now.unix_timestamp()).map(drop))
                .map_err(|e| self.query_error(&e))
        })
    }
}

/// Writes `claims` inside the caller's transaction: deletes the claimed request (it must still
/// be there, unexpired) and records the assertion ID (it must be new). `Ok(Err(_))` names the
/// first claim lost; the caller rolls back.
pub(crate) fn claim_in(
    conn: &mut DbConnection,
    claims: &LedgerClaims,
    now: i64,
) -> Result<Result<(), ClaimLost>, DieselError> {
    if let Some(request) = &claims.request {
        let deleted = diesel::delete(
            outstanding_requests::table
                .filter(outstanding_requests::request_id.eq(&request.request_id))
                .filter(outstanding_requests::expires_at.gt(now)),
        )
        .execute(conn)?;
        if deleted != 1 {
            return Ok(Err(ClaimLost::Request));
        }
    }
    if let Some((assertion_id, expires)) = &claims.assertion {
        let inserted = diesel::insert_into(replay_cache::table)
            .values((
                replay_cache::assertion_id.eq(assertion_id),
                replay_cache::expires_at.eq(expires),
            ))
            .execute(conn);
        match inserted {
            Ok(_) => {}
            Err(DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _)) => {
                return Ok(Err(ClaimLost::Assertion));
            }
            Err(e) => return Err(e),
        }
    }
    Ok(Ok(()))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use time::macros::datetime;

    use super::*;

    const NOW: OffsetDateTime = datetime!(2026-11-23 12:00 UTC);

    fn temp_store() -> (tempfile::TempDir, Store, Store) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("fedbridge.db");
        let path = path.to_str().unwrap();
        let a = Store::open(path).unwrap();
        let b = Store::open(path).unwrap();
        (dir, a, b)
    }

    fn request_claim(request: TakenRequest) -> LedgerClaims {
        LedgerClaims {
            assertion: None,
            request: Some(request),
        }
    }

    fn assertion_claim(id: &str, expires: OffsetDateTime) -> LedgerClaims {
        LedgerClaims {
            assertion: Some((id.to_owned(), expires.unix_timestamp())),
            request: None,
        }
    }

    #[test]
    fn a_claimed_request_is_answered_once_on_any_node() {
        let (_dir, a, b) = temp_store();
        a.remember_request("_id1", "h1", Some("/app"), NOW, Duration::minutes(5))
            .unwrap();
        let later = NOW + Duration::minutes(1);
        let found = b.find_request("_id1", later).unwrap().unwrap();
        assert_eq!(
            found,
            TakenRequest {
                request_id: "_id1".into(),
                relay_handle: "h1".into(),
                target: Some("/app".into()),
            }
        );
        // Finding leaves it in place; committing the claim answers it, on every node.
        assert!(a.find_request("_id1", later).unwrap().is_some());
        b.commit_claims(&request_claim(found), later).unwrap();
        assert_eq!(a.find_request("_id1", later).unwrap(), None);
        assert_eq!(a.find_request("_unknown", NOW).unwrap(), None);
    }

    #[test]
    fn expired_requests_and_assertions_are_refused_and_purged() {
        let (_dir, a, _b) = temp_store();
        a.remember_request("_old", "h-old", None, NOW, Duration::minutes(5))
            .unwrap();
        assert_eq!(
            a.find_request("_old", NOW + Duration::minutes(5)).unwrap(),
            None
        );

        a.remember_request("_x", "hx", None, NOW, Duration::minutes(5))
            .unwrap();
        a.remember_request("_y", "hy", None, NOW, Duration::minutes(30))
            .unwrap();
        a.commit_claims(&assertion_claim("_a1", NOW + Duration::minutes(5)), NOW)
            .unwrap();
        a.commit_claims(&assertion_claim("_a2", NOW + Duration::minutes(30)), NOW)
            .unwrap();
        assert!(a.assertion_seen("_a1").unwrap());
        // _old, _x and _a1 have expired 10 minutes on.
        assert_eq!(
            a.purge_expired_login_state(NOW + Duration::minutes(10))
                .unwrap(),
            3
        );
        assert_eq!(a.find_request("_x", NOW).unwrap(), None);
        assert!(a.find_request("_y", NOW).unwrap().is_some());
        assert!(!a.assertion_seen("_a1").unwrap());
        assert!(a.assertion_seen("_a2").unwrap());
    }

    #[test]
    fn concurrent_claims_on_two_nodes_answer_the_request_once() {
        let (_dir, a, b) = temp_store();
        for round in 0..5 {
            let id = format!("_race{round}");
            a.remember_request(&id, &format!("h{round}"), None, NOW, Duration::minutes(5))
                .unwrap();
            let claims = request_claim(a.find_request(&id, NOW).unwrap().unwrap());
            let results: Vec<_> = std::thread::scope(|scope| {
                let handles: Vec<_> = (0..6)
                    .map(|i| {
                        let store = if i % 2 == 0 { &a } else { &b };
                        let claims = &claims;
                        scope.spawn(move || {
                            let mut conn = store.writer().unwrap();
                            conn.transaction(|conn| claim_in(conn, claims, NOW.unix_timestamp()))
                                .unwrap()
                        })
                    })
                    .collect();
                handles.into_iter().map(|h| h.join().unwrap()).collect()
            });
            let won = results.iter().filter(|r| r.is_ok()).count();
            assert_eq!(won, 1, "round {round}: {results:?}");
            assert!(
                results
                    .iter()
                    .all(|r| r.is_ok() || *r == Err(ClaimLost::Request))
            );
        }
    }

    #[test]
    fn duplicate_relay_handles_are_refused() {
        let (_dir, a, _b) = temp_store();
        a.remember_request("_r1", "same", None, NOW, Duration::minutes(5))
            .unwrap();
        assert!(
            a.remember_request("_r2", "same", None, NOW, Duration::minutes(5))
                .is_err()
        );
    }

    #[test]
    fn the_ledger_shares_replay_protection_across_nodes() {
        let (_dir, a, b) = temp_store();
        a.remember_request("_req", "h", Some("/t"), NOW, Duration::minutes(5))
            .unwrap();
        let expires = NOW + Duration::minutes(5);
        // Both nodes validate the same response at once: both claims look fine...
        let mut node_a = StoreLedger::new(&a, NOW);
        let mut node_b = StoreLedger::new(&b, NOW);
        for ledger in [&mut node_a, &mut node_b] {
            assert!(ledger.consume_request("_req"));
            assert!(ledger.record_assertion("_assertion", expires));
        }
        assert_eq!(
            node_b.claims().request.as_ref().unwrap().target.as_deref(),
            Some("/t")
        );
        // ...the first commit wins, the second finds its claims lost...
        b.commit_claims(node_b.claims(), NOW).unwrap();
        let mut conn = a.writer().unwrap();
        let lost = conn
            .transaction(|conn| claim_in(conn, node_a.claims(), NOW.unix_timestamp()))
            .unwrap();
        assert_eq!(lost, Err(ClaimLost::Request));
        let only_assertion = LedgerClaims {
            request: None,
            ..node_a.claims().clone()
        };
        let lost = conn
            .transaction(|conn| claim_in(conn, &only_assertion, NOW.unix_timestamp()))
            .unwrap();
        assert_eq!(lost, Err(ClaimLost::Assertion));
        drop(conn);
        // ...and later validations on any node are refused at once.
        let mut node_c = StoreLedger::new(&a, NOW);
        assert!(!node_c.consume_request("_req"));
        assert!(!node_c.record_assertion("_assertion", expires));
        assert!(node_a.take_error().is_none());
        assert!(node_c.take_error().is_none());
    }
}
