//! `xsessions`, `revoked_sessions` and `login_audit`: what a login leaves behind.
//!
//! [`Store::complete_login`] is the one write transaction of a successful login: the used-up
//! messages, the sync of [`crate::store::users`], the xsession row, the revocation of the
//! user's earlier tokens when the login removed memberships, and the audit row (with the sync's
//! flags: memberships held, unknown groups). A token is only handed out if all of that
//! committed; if anything fails, nothing of it stays.

use diesel::prelude::*;
use diesel::result::Error as DieselError;
use time::OffsetDateTime;

use diesel::PgConnection;
use diesel::sql_types::BigInt;

use crate::store::connection::{DbConnection, advisory_ids};
use crate::store::login_state::{ClaimLost, UsedMessages, use_up_and_lock};
use crate::store::prepared::{Bind, Prepared};
use crate::store::schema::{login_audit, revoked_sessions, users, xsessions};
use crate::store::users::{
    SyncOutcome, SyncWrites, identity_lock_keys, plan_at_once, sync_in, write_sync,
};
use crate::store::{Store, StoreError};
use crate::sync::{AccountRefusal, Identity, SyncPolicy};
use crate::token::LEEWAY_SECONDS;

/// The xsession a login hands out, recorded with its user in the login's transaction (the
/// token itself is made and signed after it commits).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionRecord<'a> {
    /// The token's `jti`.
    pub jti: &'a str,
    /// The token's `sid`.
    pub sid: &'a str,
    /// The token's `exp` (epoch seconds).
    pub expires_at: i64,
}

/// Everything a successful login writes, in one transaction ([`Store::complete_login`]).
#[derive(Debug, Clone, Copy)]
pub struct LoginRecord<'a> {
    /// The single-use messages the validation found unused.
    pub used: &'a UsedMessages,
    /// Who logged in, as the IdP says.
    pub identity: &'a Identity,
    /// How the sync is configured.
    pub policy: &'a SyncPolicy,
    /// The xsession to record.
    pub session: SessionRecord<'a>,
    /// The audit row (its `outcome` is ignored: it is `accepted`; its login name becomes the
    /// stored one and its flags and detail are the sync's).
    pub audit: LoginAudit<'a>,
}

/// One login attempt as the audit trail records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoginAudit<'a> {
    /// When (epoch seconds).
    pub at: i64,
    /// `accepted`, `rejected` (the request or the assertion was refused) or `error` (ours).
    pub outcome: &'a str,
    /// The reason code of a refusal or an error.
    pub reason_code: Option<&'a str>,
    /// The detail, for the administrator (never shown to the browser).
    pub detail: Option<&'a str>,
    /// The IdP (the assertion's Issuer), when known.
    pub idp: Option<&'a str>,
    /// The login name, when known.
    pub login_name: Option<&'a str>,
    /// The correlation ID shown to the person.
    pub correlation_id: &'a str,
    /// The stable codes of what an accepted login's sync held or reported, comma-separated.
    pub flags: Option<&'a str>,
    /// A test login of the admin console: nothing else was written.
    pub dry_run: bool,
    /// The IdP's clock minus ours (seconds), when measured.
    pub clock_offset: Option<i64>,
    /// The attributes that arrived (JSON: names; values only for mapped ones).
    pub attributes: Option<&'a str>,
    /// What the sync changed, or for a test would change (JSON of the plan); an accepted
    /// login's is filled in by [`Store::complete_login`].
    pub changes: Option<&'a str>,
    /// The client (an IP address or IPv6 /64), when known.
    pub client: Option<&'a str>,
}

/// Identical refusals that carried no SAML message, counted over one minute from one client:
/// one audit row with `count` ([`Store::audit_counted`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CountedRefusals {
    /// The start of the minute (epoch seconds).
    pub at: i64,
    /// The client, or `*` for the clients merged when too many were counted at once.
    pub client: String,
    /// The reason code.
    pub reason_code: String,
    /// The first refusal's detail, and some of the others' correlation IDs.
    pub detail: String,
    /// The first refusal's correlation ID, if it had one.
    pub correlation_id: Option<String>,
    /// How many.
    pub count: i64,
}

/// Why [`Store::complete_login`] wrote nothing.
#[derive(Debug, thiserror::Error)]
pub enum CompleteLoginError {
    /// The user exists and is disabled.
    #[error("the user is disabled")]
    UserDisabled,
    /// No account for this login.
    #[error(transparent)]
    Refused(#[from] AccountRefusal),
    /// A message of the validation was used up first by a concurrent login.
    #[error(transparent)]
    ClaimLost(#[from] ClaimLost),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The error inside the transaction (it must convert from diesel's to roll back).
enum TxError {
    Lost(ClaimLost),
    Disabled,
    Refused(AccountRefusal),
    Db(DieselError),
}

impl From<DieselError> for TxError {
    fn from(error: DieselError) -> Self {
        TxError::Db(error)
    }
}

impl Store {
    /// Completes a login in one transaction: uses up the validation's messages (refusing the
    /// login when a concurrent one used them first), syncs the identity (see
    /// [`Store::sync_login`]), refuses a disabled user, records the session, revokes the user's
    /// other live tokens when memberships were removed (they name groups the user has lost),
    /// and writes the accepted audit row. Returns what the sync did; the caller makes the token
    /// from it.
    pub fn complete_login(
        &self,
        login: &LoginRecord<'_>,
    ) -> Result<SyncOutcome, CompleteLoginError> {
        let now = login.audit.at;
        self.write(|conn| {
            if let DbConnection::Postgres(pg) = &mut **conn
                && let Some(done) = complete_at_once(pg, login)
                    .map_err(|e| CompleteLoginError::Store(self.query_error(&e)))?
            {
                return done;
            }
            let result = conn.transaction(|conn| {
                // The messages are used up first (a lost race ends the login here), then the
                // identity lock is taken, before the sync reads anything (see `store::users`).
                use_up_and_lock(conn, login.used, now, &identity_lock_keys(login.identity))?
                    .map_err(TxError::Lost)?;
                let (outcome, writes) =
                    sync_in(conn, login.identity, login.policy, now)?.map_err(TxError::Refused)?;
                if outcome.disabled {
                    return Err(TxError::Disabled);
                }
                let sync_audit = SyncAudit::of(&outcome);
                let audit = sync_audit.row(&outcome, &login.audit);
                write_login(conn, &writes, &login.session, &audit)?;
                Ok(outcome)
            });
            result.map_err(|e| match e {
                TxError::Lost(lost) => CompleteLoginError::ClaimLost(lost),
                TxError::Disabled => CompleteLoginError::UserDisabled,
                TxError::Refused(refusal) => CompleteLoginError::Refused(refusal),
                TxError::Db(e) => CompleteLoginError::Store(self.query_error(&e)),
            })
        })
    }

    /// Whether the xsession `jti` is still honoured: fedbridge issued it (it has a record), it
    /// was not revoked, and its user is not disabled. Introspection's answer beyond the
    /// signature and the times.
    pub fn session_active(&self, jti: &str) -> Result<bool, StoreError> {
        let mut conn = self.conn()?;
        let issued_to_enabled_user = xsessions::table
            .inner_join(users::table)
            .filter(xsessions::jti.eq(jti))
            .filter(users::disabled.eq(false));
        let revoked = revoked_sessions::table.filter(revoked_sessions::jti.eq(jti));
        diesel::select(
            diesel::dsl::exists(issued_to_enabled_user)
                .and(diesel::dsl::not(diesel::dsl::exists(revoked))),
        )
        .get_result(&mut conn)
        .map_err(|e| self.query_error(&e))
    }

    /// Writes counted refusals, one row each, in one transaction.
    pub fn audit_counted(&self, counted: &[CountedRefusals]) -> Result<(), StoreError> {
        if counted.is_empty() {
            return Ok(());
        }
        self.write(|conn| {
            conn.transaction(|conn| {
                for row in counted {
                    diesel::insert_into(login_audit::table)
                        .values((
                            login_audit::at.eq(row.at),
                            login_audit::outcome.eq("rejected"),
                            login_audit::reason_code.eq(&row.reason_code),
                            login_audit::detail.eq(&row.detail),
                            login_audit::correlation_id.eq(&row.correlation_id),
                            login_audit::client.eq(&row.client),
                            login_audit::count.eq(row.count),
                        ))
                        .execute(conn)?;
                }
                Ok(())
            })
            .map_err(|e| self.query_error(&e))
        })
    }

    /// Deletes `login_audit` rows older than `cutoff` (epoch seconds), in batches of
    /// [`AUDIT_PURGE_BATCH`] ids, one transaction each, for at most `budget` (so a first purge
    /// of millions of rows never holds the write lock for long); returns how many went. Rows are
    /// appended in time order, so the oldest id tells whether there is anything to do.
    pub fn purge_audit(
        &self,
        cutoff: i64,
        budget: std::time::Duration,
    ) -> Result<usize, StoreError> {
        let started = std::time::Instant::now();
        let mut purged = 0;
        loop {
            let oldest: Option<(i64, i64)> = {
                let mut conn = self.conn()?;
                login_audit::table
                    .select((login_audit::id, login_audit::at))
                    .order(login_audit::id)
                    .first(&mut conn)
                    .optional()
                    .map_err(|e| self.query_error(&e))?
            };
            let Some((id, _)) = oldest.filter(|(_, at)| *at < cutoff) else {
                return Ok(purged);
            };
            purged += self.write(|conn| {
                diesel::delete(
                    login_audit::table
                        .filter(login_audit::id.lt(id + AUDIT_PURGE_BATCH))
                        .filter(login_audit::at.lt(cutoff)),
                )
                .execute(&mut **conn)
                .map_err(|e| self.query_error(&e))
            })?;
            if started.elapsed() >= budget {
                return Ok(purged);
            }
        }
    }

    /// Writes one audit row (a refused or failed login; accepted ones are written by
    /// [`Store::complete_login`]).
    pub fn audit_login(&self, audit: &LoginAudit<'_>) -> Result<(), StoreError> {
        self.write(|conn| insert_audit(conn, audit).map_err(|e| self.query_error(&e)))
    }

    /// Deletes the records of xsessions expired at `now`, leeway included (their revocations are
    /// purged by
    /// [`Store::purge_revoked`]); returns how many.
    pub fn purge_expired_sessions(&self, now: OffsetDateTime) -> Result<usize, StoreError> {
        self.write(|conn| {
            diesel::delete(xsessions::table.filter(
                xsessions::expires_at.le(now.unix_timestamp().saturating_sub(LEEWAY_SECONDS)),
            ))
            .execute(&mut **conn)
            .map_err(|e| self.query_error(&e))
        })
    }
}

/// Revokes every xsession of `user_ids` that a verifier may still accept at `now` (epoch
/// seconds; `exp` plus the verification leeway) and that is not revoked yet; returns how many. Used by logins that remove memberships and by group removal.
pub(crate) fn revoke_users(
    conn: &mut DbConnection,
    user_ids: &[i64],
    now: i64,
) -> QueryResult<usize> {
    let mut revoked = 0;
    // One (cached) statement per user rather than one `IN (...)` statement prepared anew. A
    // session revoked already is skipped by its primary key (`ON CONFLICT DO NOTHING`), not by
    // an anti-join: the anti-join's plan depends on the table's statistics, and a PostgreSQL
    // whose `revoked_sessions` grew since its last ANALYZE read the whole table per login.
    for user_id in user_ids {
        let live = xsessions::table
            .filter(xsessions::user_id.eq(user_id))
            .filter(xsessions::expires_at.gt(revocable_after(now)))
            .select((xsessions::jti, xsessions::expires_at));
        let insert = diesel::insert_into(revoked_sessions::table)
            .values(live)
            .into_columns((revoked_sessions::jti, revoked_sessions::expires_at))
            .on_conflict_do_nothing();
        revoked += match conn {
            DbConnection::Postgres(pg) => insert.execute(pg)?,
            DbConnection::Sqlite(sqlite) => insert.execute(sqlite)?,
        };
    }
    Ok(revoked)
}

/// The `exp` after which a token may still be accepted at `now` (the verification leeway).
fn revocable_after(now: i64) -> i64 {
    now.saturating_sub(LEEWAY_SECONDS)
}

/// Ids deleted per transaction by [`Store::purge_audit`].
pub const AUDIT_PURGE_BATCH: i64 = 5000;

/// A login of an existing user on PostgreSQL in two statements and no transaction, when its
/// sync needs nothing created first: the read and the plan ([`plan_at_once`]), then
/// [`write_login_postgres`] with the claim. Every statement is a round trip, about 60 us of
/// CPU on this machine's two sides; the transactional way takes six. `Ok(None)`: the login goes
/// the transactional way, nothing written (a refusal, a new user or group to create, or a
/// concurrent login of the same user wrote the row in between).
fn complete_at_once(
    pg: &mut PgConnection,
    login: &LoginRecord<'_>,
) -> QueryResult<Option<Result<SyncOutcome, CompleteLoginError>>> {
    // A refusal goes the transactional way too, which judges the claim first.
    let Ok(planned) = plan_at_once(pg, login.identity, login.policy)? else {
        return Ok(None);
    };
    if planned.disabled() {
        return Ok(None);
    }
    let Some((outcome, writes)) = planned.settle_existing() else {
        return Ok(None);
    };
    let claim = Claim {
        used: login.used,
        lock_ids: advisory_ids(&identity_lock_keys(login.identity)),
    };
    let sync_audit = SyncAudit::of(&outcome);
    let audit = sync_audit.row(&outcome, &login.audit);
    Ok(
        match write_login_postgres(pg, &writes, Some(&claim), &login.session, &audit)? {
            Written::Done => Some(Ok(outcome)),
            Written::Lost(lost) => Some(Err(CompleteLoginError::ClaimLost(lost))),
            Written::Stale => None,
        },
    )
}

/// The columns of an accepted login's audit row that its sync decides.
struct SyncAudit {
    flags: Option<String>,
    detail: Option<String>,
    changes: Option<String>,
}

impl SyncAudit {
    fn of(outcome: &SyncOutcome) -> SyncAudit {
        SyncAudit {
            flags: outcome.plan.flags_column(),
            detail: outcome.plan.report(),
            changes: serde_json::to_string(&outcome.plan).ok(),
        }
    }

    /// The accepted row: `audit` with the stored login name and the sync's columns (its
    /// detail when the sync has none to say).
    fn row<'a>(&'a self, outcome: &'a SyncOutcome, audit: &LoginAudit<'a>) -> LoginAudit<'a> {
        LoginAudit {
            outcome: "accepted",
            login_name: Some(&outcome.user.login_name),
            flags: self.flags.as_deref(),
            detail: self.detail.as_deref().or(audit.detail),
            changes: self.changes.as_deref(),
            ..*audit
        }
    }
}

/// What [`write_login_postgres`] also does when no transaction did it before: use up the
/// messages, holding the identity lock (advisory lock ids, ascending).
struct Claim<'a> {
    used: &'a UsedMessages,
    lock_ids: Vec<i64>,
}

/// What [`write_login_postgres`] did.
#[derive(Debug, PartialEq, Eq)]
enum Written {
    /// Everything.
    Done,
    /// Nothing: the user's row is no longer the version the plan was made from.
    Stale,
    /// Nothing but the row's version: a message was used up before.
    Lost(ClaimLost),
}

/// Writes what a login leaves, inside the login's transaction: the sync's `writes`, the
/// xsession of their user (issued at `login.audit.at`) and the audit row; when the sync
/// removes memberships, first revokes the user's other live tokens (see [`revoke_users`]: they
/// name groups the user has lost). One statement on PostgreSQL ([`write_login_postgres`]), one
/// per part on SQLite.
fn write_login(
    conn: &mut DbConnection,
    writes: &SyncWrites,
    session: &SessionRecord<'_>,
    audit: &LoginAudit<'_>,
) -> Result<(), TxError> {
    if let DbConnection::Postgres(pg) = conn {
        return match write_login_postgres(pg, writes, None, session, audit)? {
            Written::Done => Ok(()),
            Written::Lost(lost) => Err(TxError::Lost(lost)),
            // The transaction holds the row's lock, or created the row.
            Written::Stale => Err(TxError::Db(DieselError::NotFound)),
        };
    }
    let user_id = writes.user_id;
    write_sync(conn, writes, audit.at)?;
    if !writes.remove_group_ids.is_empty() {
        revoke_users(conn, &[user_id], audit.at)?;
    }
    diesel::insert_into(xsessions::table)
        .values((
            xsessions::jti.eq(session.jti),
            xsessions::sid.eq(session.sid),
            xsessions::user_id.eq(user_id),
            xsessions::issued_at.eq(audit.at),
            xsessions::expires_at.eq(session.expires_at),
        ))
        .execute(conn)?;
    insert_audit(conn, audit)?;
    Ok(())
}

/// [`write_login`] on PostgreSQL in one statement: its parts read the tables as they were
/// before it, so the new session is not among those revoked. It updates the user's row
/// (every login does, so that the row's version says whether a login wrote the user since a
/// plan was read) and, when `writes` carries the version read, only if it is still that one
/// (a row a concurrent login changed is reread with its lock, [`Written::Stale`]); with a
/// `claim`, it first takes the identity lock and then uses up the messages. Every other part
/// runs only once the row and the claim are settled, so a stale or lost login writes nothing
/// (a lost one leaves the row's new version, no data changed).
fn write_login_postgres(
    pg: &mut PgConnection,
    writes: &SyncWrites,
    claim: Option<&Claim<'_>>,
    session: &SessionRecord<'_>,
    audit: &LoginAudit<'_>,
) -> QueryResult<Written> {
    let user_id = writes.user_id;
    let fields = &writes.fields;
    let used = claim.map(|claim| claim.used);
    let request_id = used
        .and_then(|used| used.request.as_ref())
        .map(|request| request.request_id.as_str());
    let assertion = used.and_then(|used| used.assertion.as_ref());
    let assertion_id = assertion.map(|assertion| assertion.assertion_id.as_str());
    let no_locks = Vec::new();
    let lock_ids = claim.map_or(&no_locks, |claim| &claim.lock_ids);
    let (stale, answered, inserted): (i64, i64, i64) = Prepared::<(BigInt, BigInt, BigInt)>::new(
        "WITH locks AS (SELECT count(pg_advisory_xact_lock(id)) AS n \
         FROM unnest(?::bigint[]) AS id), \
         settled AS (UPDATE users SET full_name = coalesce(?, full_name), \
         email = coalesce(?, email), description = coalesce(?, description), \
         updated_at = CASE WHEN ? THEN ? ELSE updated_at END \
         WHERE id = ? AND (?::text IS NULL OR xmin::text = ?) \
         AND (SELECT n FROM locks) >= 0 RETURNING 1), \
         answered AS (DELETE FROM outstanding_requests \
         WHERE request_id = ? AND expires_at > ? AND EXISTS (SELECT 1 FROM settled) RETURNING 1), \
         used AS (INSERT INTO replay_cache (assertion_id, expires_at) \
         SELECT ?, ? WHERE ?::text IS NOT NULL AND EXISTS (SELECT 1 FROM settled) \
         ON CONFLICT DO NOTHING RETURNING 1), \
         ok AS (SELECT 1 FROM settled WHERE (SELECT count(*) FROM answered) = ? \
         AND (SELECT count(*) FROM used) = ?), \
         removed AS (DELETE FROM memberships WHERE user_id = ? AND group_id = ANY(?) \
         AND EXISTS (SELECT 1 FROM ok)), \
         added AS (INSERT INTO memberships (user_id, group_id, federated) \
         SELECT ?, group_id, true FROM unnest(?::bigint[]) AS group_id \
         WHERE EXISTS (SELECT 1 FROM ok)), \
         revoked AS (INSERT INTO revoked_sessions (jti, expires_at) \
         SELECT jti, expires_at FROM xsessions \
         WHERE ? AND user_id = ? AND expires_at > ? AND EXISTS (SELECT 1 FROM ok) \
         ON CONFLICT DO NOTHING), \
         session AS (INSERT INTO xsessions (jti, sid, user_id, issued_at, expires_at) \
         SELECT ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM ok)), \
         audit AS (INSERT INTO login_audit (at, outcome, reason_code, detail, idp, login_name, \
         correlation_id, flags, dry_run, clock_offset, attributes, changes, client) \
         SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM ok)) \
         SELECT 1 - (SELECT count(*) FROM settled), (SELECT count(*) FROM answered), \
         (SELECT count(*) FROM used)",
        vec![
            Bind::BigInts(lock_ids),
            Bind::OptionalText(fields.full_name.as_deref()),
            Bind::OptionalText(fields.email.as_deref()),
            Bind::OptionalText(fields.description.as_deref()),
            Bind::Bool(!fields.is_empty()),
            Bind::BigInt(audit.at),
            Bind::BigInt(user_id),
            Bind::OptionalText(writes.version.as_deref()),
            Bind::OptionalText(writes.version.as_deref()),
            Bind::OptionalText(request_id),
            Bind::BigInt(audit.at),
            Bind::OptionalText(assertion_id),
            Bind::OptionalBigInt(assertion.map(|assertion| assertion.expires_at)),
            Bind::OptionalText(assertion_id),
            Bind::BigInt(i64::from(request_id.is_some())),
            Bind::BigInt(i64::from(assertion_id.is_some())),
            Bind::BigInt(user_id),
            Bind::BigInts(&writes.remove_group_ids),
            Bind::BigInt(user_id),
            Bind::BigInts(&writes.add_group_ids),
            Bind::Bool(!writes.remove_group_ids.is_empty()),
            Bind::BigInt(user_id),
            Bind::BigInt(revocable_after(audit.at)),
            Bind::Text(session.jti),
            Bind::Text(session.sid),
            Bind::BigInt(user_id),
            Bind::BigInt(audit.at),
            Bind::BigInt(session.expires_at),
            Bind::BigInt(audit.at),
            Bind::Text(audit.outcome),
            Bind::OptionalText(audit.reason_code),
            Bind::OptionalText(audit.detail),
            Bind::OptionalText(audit.idp),
            Bind::OptionalText(audit.login_name),
            Bind::Text(audit.correlation_id),
            Bind::OptionalText(audit.flags),
            Bind::Bool(audit.dry_run),
            Bind::OptionalBigInt(audit.clock_offset),
            Bind::OptionalText(audit.attributes),
            Bind::OptionalText(audit.changes),
            Bind::OptionalText(audit.client),
        ],
    )
    .get_result(pg)?;
    Ok(if stale != 0 {
        Written::Stale
    } else if request_id.is_some() && answered != 1 {
        Written::Lost(ClaimLost::Request)
    } else if assertion_id.is_some() && inserted != 1 {
        Written::Lost(ClaimLost::Assertion)
    } else {
        Written::Done
    })
}

fn insert_audit(conn: &mut DbConnection, audit: &LoginAudit<'_>) -> QueryResult<()> {
    diesel::insert_into(login_audit::table)
        .values((
            login_audit::at.eq(audit.at),
            login_audit::outcome.eq(audit.outcome),
            login_audit::reason_code.eq(audit.reason_code),
            login_audit::detail.eq(audit.detail),
            login_audit::idp.eq(audit.idp),
            login_audit::login_name.eq(audit.login_name),
            login_audit::correlation_id.eq(audit.correlation_id),
            login_audit::flags.eq(audit.flags),
            login_audit::dry_run.eq(audit.dry_run),
            login_audit::clock_offset.eq(audit.clock_offset),
            login_audit::attributes.eq(audit.attributes),
            login_audit::changes.eq(audit.changes),
            login_audit::client.eq(audit.client),
        ))
        .execute(conn)
        .map(drop)
}

#[cfg(test)]
mod tests;
