//! `outstanding_requests` and `replay_cache`: the login state every node shares, so that any
//! node can finish a login another node started and an assertion is used once across all nodes.
//!
//! A validation only reads ([`Store::assertion_used_and_request`]; for a response that answers
//! no request, nothing) and notes what it would use up ([`UsedMessages`]); the login's
//! transaction then uses them up
//! ([`use_up_in`]): the request's delete must remove the row and the assertion's insert must be
//! new, so two nodes answering the same request or using the same assertion at once succeed
//! once. Expired rows are refused and removed by [`Store::purge_expired_login_state`].

use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel::sql_types::{BigInt, Bool, Nullable, Text};
use time::{Duration, OffsetDateTime};

use crate::store::connection::{DbConnection, advisory_ids, advisory_lock_calls, lock_identity};
use crate::store::prepared::{Bind, Prepared};
use crate::store::schema::{outstanding_requests, replay_cache};
use crate::store::{Store, StoreError};

/// An outstanding AuthnRequest, as a response that answers it finds it.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = outstanding_requests)]
pub struct OutstandingRequest {
    /// The AuthnRequest `ID`.
    pub request_id: String,
    /// The handle sent as `RelayState`.
    pub relay_handle: String,
    /// Where to send the user after the login, if the login started with a target.
    pub target: Option<String>,
    /// Why it was sent (see [`Purpose`]), as stored.
    pub purpose: String,
    /// The browser that started the login: SHA-256 (hex) of its login cookie's secret. `None`:
    /// remembered before browser binding existed (refused: fail closed).
    pub browser_binding: Option<String>,
}

impl OutstandingRequest {
    /// Why it was sent; an unknown value (a newer node's) is taken as a plain login.
    pub fn purpose(&self) -> Purpose {
        Purpose::from_name(&self.purpose).unwrap_or(Purpose::Login)
    }
}

/// Why an AuthnRequest was sent: what its answer does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// A person signs in: sync, xsession, landing page.
    Login,
    /// Signing in to the admin console: a login, and an admin session besides.
    Admin,
    /// A test login from the admin console: the answer is shown, nothing is applied.
    Test,
}

impl Purpose {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::Login => "login",
            Purpose::Admin => "admin",
            Purpose::Test => "test",
        }
    }

    /// The purpose stored as `name`.
    pub fn from_name(name: &str) -> Option<Purpose> {
        [Purpose::Login, Purpose::Admin, Purpose::Test]
            .into_iter()
            .find(|p| p.as_str() == name)
    }
}

/// An assertion ID to record as used, and until when (epoch seconds) it is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsedAssertion {
    /// The Assertion `ID`.
    pub assertion_id: String,
    /// Kept until then: a replay after it would fail the validity window anyway.
    pub expires_at: i64,
}

/// The single-use messages a login uses up: the assertion ID to record and the outstanding
/// request to delete. [`Store::complete_login`] uses them up in the login's own transaction (or
/// [`Store::use_up`] alone, when the login fails after validation), so a successful login is
/// one write transaction.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UsedMessages {
    /// The assertion.
    pub assertion: Option<UsedAssertion>,
    /// The outstanding request the response answers.
    pub request: Option<OutstandingRequest>,
}

impl UsedMessages {
    /// Whether there is nothing to use up.
    pub fn is_empty(&self) -> bool {
        self.assertion.is_none() && self.request.is_none()
    }
}

/// A message that another login (on this node or another) used up first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ClaimLost {
    /// The assertion ID was recorded meanwhile: a replay.
    #[error("the assertion was used meanwhile by a concurrent login")]
    Assertion,
    /// The request was answered meanwhile (or expired).
    #[error("the request was answered meanwhile by a concurrent login")]
    Request,
}

/// An AuthnRequest about to be sent, as [`Store::remember_request_for`] records it.
#[derive(Debug, Clone, Copy)]
pub struct NewRequest<'a> {
    /// Why it is sent.
    pub purpose: Purpose,
    /// Its ID (the answer's `InResponseTo`).
    pub request_id: &'a str,
    /// The opaque `RelayState` sent with it.
    pub relay_handle: &'a str,
    /// Where the login ends; `None`: the default landing page.
    pub target: Option<&'a str>,
    /// SHA-256 (hex) of the starting browser's login cookie secret.
    pub browser_binding: Option<&'a str>,
}

impl Store {
    /// Records an AuthnRequest of a plain login sent at `now`, answerable until `now + ttl`,
    /// started by the browser whose login cookie hashes to `browser_binding`.
    pub fn remember_request(
        &self,
        request_id: &str,
        relay_handle: &str,
        target: Option<&str>,
        browser_binding: Option<&str>,
        now: OffsetDateTime,
        ttl: Duration,
    ) -> Result<(), StoreError> {
        let request = NewRequest {
            purpose: Purpose::Login,
            request_id,
            relay_handle,
            target,
            browser_binding,
        };
        self.remember_request_for(&request, now, ttl)
    }

    /// Records `request`, sent at `now` and answerable until `now + ttl`.
    pub fn remember_request_for(
        &self,
        request: &NewRequest<'_>,
        now: OffsetDateTime,
        ttl: Duration,
    ) -> Result<(), StoreError> {
        let NewRequest {
            purpose,
            request_id,
            relay_handle,
            target,
            browser_binding,
        } = *request;
        self.write(|conn| {
            let created = now.unix_timestamp();
            diesel::insert_into(outstanding_requests::table)
                .values((
                    outstanding_requests::request_id.eq(request_id),
                    outstanding_requests::relay_handle.eq(relay_handle),
                    outstanding_requests::target.eq(target),
                    outstanding_requests::browser_binding.eq(browser_binding),
                    outstanding_requests::created_at.eq(created),
                    outstanding_requests::expires_at.eq((now + ttl).unix_timestamp()),
                    outstanding_requests::purpose.eq(purpose.as_str()),
                ))
                .execute(&mut **conn)
                .map(drop)
                .map_err(|e| self.query_error(&e))
        })
    }

    /// Whether `assertion_id` was recorded as used.
    pub fn assertion_used(&self, assertion_id: &str) -> Result<bool, StoreError> {
        let mut conn = self.conn()?;
        assertion_used_in(&mut conn, assertion_id).map_err(|e| self.query_error(&e))
    }

    /// The outstanding request `request_id` if it exists and has not expired at `now` (left in
    /// place: a login uses it up in its transaction, see [`UsedMessages`]).
    pub fn outstanding_request(
        &self,
        request_id: &str,
        now: OffsetDateTime,
    ) -> Result<Option<OutstandingRequest>, StoreError> {
        let mut conn = self.conn()?;
        outstanding_request_in(&mut conn, request_id, now.unix_timestamp())
            .map_err(|e| self.query_error(&e))
    }

    /// [`Store::assertion_used`] and [`Store::outstanding_request`] at once, as a validation
    /// of a response that answers a request asks them: one statement on PostgreSQL (one round
    /// trip), two reads of one connection on SQLite.
    pub fn assertion_used_and_request(
        &self,
        assertion_id: &str,
        request_id: &str,
        now: OffsetDateTime,
    ) -> Result<(bool, Option<OutstandingRequest>), StoreError> {
        let now = now.unix_timestamp();
        let mut conn = self.conn()?;
        let read = match &mut *conn {
            DbConnection::Postgres(pg) => Prepared::<(
                Bool,
                Nullable<Text>,
                Nullable<Text>,
                Nullable<Text>,
                Nullable<Text>,
                Nullable<Text>,
            )>::new(
                "SELECT EXISTS (SELECT 1 FROM replay_cache WHERE assertion_id = ?), \
                 r.request_id, r.relay_handle, r.target, r.purpose, r.browser_binding \
                 FROM (SELECT 1) AS one LEFT JOIN outstanding_requests r \
                 ON r.request_id = ? AND r.expires_at > ?",
                vec![
                    Bind::Text(assertion_id),
                    Bind::Text(request_id),
                    Bind::BigInt(now),
                ],
            )
            .get_result::<RequestRow>(pg)
            .map(
                |(used, request_id, relay_handle, target, purpose, browser_binding)| {
                    let request = match (request_id, relay_handle, purpose) {
                        (Some(request_id), Some(relay_handle), Some(purpose)) => {
                            Some(OutstandingRequest {
                                request_id,
                                relay_handle,
                                target,
                                purpose,
                                browser_binding,
                            })
                        }
                        _ => None,
                    };
                    (used, request)
                },
            ),
            sqlite => assertion_used_in(sqlite, assertion_id)
                .and_then(|used| Ok((used, outstanding_request_in(sqlite, request_id, now)?))),
        };
        read.map_err(|e| self.query_error(&e))
    }

    /// The outstanding request whose RelayState handle is `relay_handle`, if it has not expired
    /// at `now` (a failed login asks whether it was a test).
    pub fn request_by_relay(
        &self,
        relay_handle: &str,
        now: OffsetDateTime,
    ) -> Result<Option<OutstandingRequest>, StoreError> {
        let mut conn = self.conn()?;
        outstanding_requests::table
            .select(OutstandingRequest::as_select())
            .filter(outstanding_requests::relay_handle.eq(relay_handle))
            .filter(outstanding_requests::expires_at.gt(now.unix_timestamp()))
            .first(&mut conn)
            .optional()
            .map_err(|e| self.query_error(&e))
    }

    /// Uses up `used` on its own, for a login that failed after validation: the assertion is
    /// used and the request answered all the same. `Ok(Err(_))` names a message another login
    /// used up first (it is used either way).
    pub fn use_up(
        &self,
        used: &UsedMessages,
        now: OffsetDateTime,
    ) -> Result<Result<(), ClaimLost>, StoreError> {
        self.write(|conn| {
            conn.transaction(|conn| use_up_in(conn, used, now.unix_timestamp()))
                .map_err(|e| self.query_error(&e))
        })
    }

    /// How many outstanding requests are still answerable at `now`.
    pub fn count_outstanding_requests(&self, now: OffsetDateTime) -> Result<u64, StoreError> {
        let mut conn = self.conn()?;
        outstanding_requests::table
            .filter(outstanding_requests::expires_at.gt(now.unix_timestamp()))
            .count()
            .get_result::<i64>(&mut conn)
            .map(|n| n.max(0).unsigned_abs())
            .map_err(|e| self.query_error(&e))
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

/// The row of [`Store::assertion_used_and_request`]: whether the assertion was used, then the
/// request's columns (all NULL when there is no such request).
type RequestRow = (
    bool,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
);

fn assertion_used_in(conn: &mut DbConnection, assertion_id: &str) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        replay_cache::table.filter(replay_cache::assertion_id.eq(assertion_id)),
    ))
    .get_result(conn)
}

fn outstanding_request_in(
    conn: &mut DbConnection,
    request_id: &str,
    now: i64,
) -> QueryResult<Option<OutstandingRequest>> {
    outstanding_requests::table
        .select(OutstandingRequest::as_select())
        .filter(outstanding_requests::request_id.eq(request_id))
        .filter(outstanding_requests::expires_at.gt(now))
        .first(conn)
        .optional()
}

/// Uses up `used` ([`use_up_in`]) and then takes the identity lock on `lock_keys`
/// ([`lock_identity`]), inside the caller's transaction: the start of a login's transaction.
/// On PostgreSQL both are one statement (one round trip), the lock taken once both messages
/// are used up, so that two logins racing with one response never hold the lock while waiting
/// for each other's claim.
pub(crate) fn use_up_and_lock(
    conn: &mut DbConnection,
    used: &UsedMessages,
    now: i64,
    lock_keys: &[String],
) -> Result<Result<(), ClaimLost>, DieselError> {
    let DbConnection::Postgres(pg) = conn else {
        if let Err(lost) = use_up_in(conn, used, now)? {
            return Ok(Err(lost));
        }
        // SQLite holds its write lock once the transaction has written.
        lock_identity(conn, lock_keys, !used.is_empty())?;
        return Ok(Ok(()));
    };
    let ids = advisory_ids(lock_keys);
    // The locks are taken in a lateral part that reads both counts, so only once both
    // messages are used up.
    let locks = if ids.is_empty() {
        String::new()
    } else {
        format!(
            " CROSS JOIN LATERAL (SELECT {} WHERE a.n >= 0 AND u.n >= 0) locks",
            advisory_lock_calls(ids.len())
        )
    };
    let assertion_id = used.assertion.as_ref().map(|a| a.assertion_id.as_str());
    let mut binds = vec![
        Bind::OptionalText(used.request.as_ref().map(|r| r.request_id.as_str())),
        Bind::BigInt(now),
        Bind::OptionalText(assertion_id),
        Bind::OptionalBigInt(used.assertion.as_ref().map(|a| a.expires_at)),
        Bind::OptionalText(assertion_id),
    ];
    binds.extend(ids.into_iter().map(Bind::BigInt));
    let (answered, inserted): (i64, i64) = Prepared::<(BigInt, BigInt)>::new(
        format!(
            "WITH answered AS (DELETE FROM outstanding_requests \
             WHERE request_id = ? AND expires_at > ? RETURNING 1), \
             used AS (INSERT INTO replay_cache (assertion_id, expires_at) \
             SELECT ?, ? WHERE ?::text IS NOT NULL ON CONFLICT DO NOTHING RETURNING 1) \
             SELECT a.n, u.n FROM (SELECT count(*) AS n FROM answered) a \
             CROSS JOIN (SELECT count(*) AS n FROM used) u{locks}"
        ),
        binds,
    )
    .get_result(pg)?;
    Ok(if used.request.is_some() && answered != 1 {
        Err(ClaimLost::Request)
    } else if used.assertion.is_some() && inserted != 1 {
        Err(ClaimLost::Assertion)
    } else {
        Ok(())
    })
}

/// Uses up `used` inside the caller's transaction: deletes the request (it must still be there,
/// unexpired) and records the assertion ID (it must be new). `Ok(Err(_))` names the first
/// message another login used up first; the caller rolls back.
pub(crate) fn use_up_in(
    conn: &mut DbConnection,
    used: &UsedMessages,
    now: i64,
) -> Result<Result<(), ClaimLost>, DieselError> {
    if let Some(request) = &used.request {
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
    if let Some(assertion) = &used.assertion {
        let inserted = diesel::insert_into(replay_cache::table)
            .values((
                replay_cache::assertion_id.eq(&assertion.assertion_id),
                replay_cache::expires_at.eq(assertion.expires_at),
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
        let path = crate::store::testing::database_in(dir.path(), "fedbridge.db", "login_state");
        let a = Store::open(&path).unwrap();
        let b = Store::open(&path).unwrap();
        (dir, a, b)
    }

    fn request_claim(request: OutstandingRequest) -> UsedMessages {
        UsedMessages {
            assertion: None,
            request: Some(request),
        }
    }

    fn assertion_claim(id: &str, expires: OffsetDateTime) -> UsedMessages {
        UsedMessages {
            assertion: Some(UsedAssertion {
                assertion_id: id.to_owned(),
                expires_at: expires.unix_timestamp(),
            }),
            request: None,
        }
    }

    #[test]
    fn a_claimed_request_is_answered_once_on_any_node() {
        let (_dir, a, b) = temp_store();
        a.remember_request("_id1", "h1", Some("/app"), None, NOW, Duration::minutes(5))
            .unwrap();
        let later = NOW + Duration::minutes(1);
        let found = b.outstanding_request("_id1", later).unwrap().unwrap();
        assert_eq!(
            found,
            OutstandingRequest {
                request_id: "_id1".into(),
                relay_handle: "h1".into(),
                target: Some("/app".into()),
                purpose: "login".into(),
                browser_binding: None,
            }
        );
        // Finding leaves it in place; committing the claim answers it, on every node.
        assert!(a.outstanding_request("_id1", later).unwrap().is_some());
        b.use_up(&request_claim(found), later).unwrap().unwrap();
        assert_eq!(a.outstanding_request("_id1", later).unwrap(), None);
        assert_eq!(a.outstanding_request("_unknown", NOW).unwrap(), None);
    }

    #[test]
    fn expired_requests_and_assertions_are_refused_and_purged() {
        let (_dir, a, _b) = temp_store();
        a.remember_request("_old", "h-old", None, None, NOW, Duration::minutes(5))
            .unwrap();
        assert_eq!(
            a.outstanding_request("_old", NOW + Duration::minutes(5))
                .unwrap(),
            None
        );

        a.remember_request("_x", "hx", None, None, NOW, Duration::minutes(5))
            .unwrap();
        a.remember_request("_y", "hy", None, None, NOW, Duration::minutes(30))
            .unwrap();
        a.use_up(&assertion_claim("_a1", NOW + Duration::minutes(5)), NOW)
            .unwrap()
            .unwrap();
        a.use_up(&assertion_claim("_a2", NOW + Duration::minutes(30)), NOW)
            .unwrap()
            .unwrap();
        assert!(a.assertion_used("_a1").unwrap());
        // _old, _x and _a1 have expired 10 minutes on.
        assert_eq!(
            a.purge_expired_login_state(NOW + Duration::minutes(10))
                .unwrap(),
            3
        );
        assert_eq!(a.outstanding_request("_x", NOW).unwrap(), None);
        assert!(a.outstanding_request("_y", NOW).unwrap().is_some());
        assert!(!a.assertion_used("_a1").unwrap());
        assert!(a.assertion_used("_a2").unwrap());
    }

    #[test]
    fn concurrent_claims_on_two_nodes_answer_the_request_once() {
        let (_dir, a, b) = temp_store();
        for round in 0..5 {
            let id = format!("_race{round}");
            a.remember_request(
                &id,
                &format!("h{round}"),
                None,
                None,
                NOW,
                Duration::minutes(5),
            )
            .unwrap();
            let claims = request_claim(a.outstanding_request(&id, NOW).unwrap().unwrap());
            let results: Vec<_> = std::thread::scope(|scope| {
                let handles: Vec<_> = (0..6)
                    .map(|i| {
                        let store = if i % 2 == 0 { &a } else { &b };
                        let claims = &claims;
                        scope.spawn(move || {
                            let mut conn = store.writer().unwrap();
                            conn.transaction(|conn| use_up_in(conn, claims, NOW.unix_timestamp()))
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
        a.remember_request("_r1", "same", None, None, NOW, Duration::minutes(5))
            .unwrap();
        assert!(
            a.remember_request("_r2", "same", None, None, NOW, Duration::minutes(5))
                .is_err()
        );
    }
}
