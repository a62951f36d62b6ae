//! What the admin console reads and writes: login attempts with filters, logins per hour, a
//! user's sessions, the groups with their members, and the console's own sessions
//! (`admin_sessions`).
//!
//! `login_audit` has no index on `at` (one page less per login): its rows are appended in time
//! order, so a time range is found by a binary search on the id ([`first_id_at`]) and then read
//! by id, which is the primary key on both backends.

use diesel::prelude::*;

use crate::store::schema::{
    admin_sessions, groups, login_audit, memberships, revoked_sessions, users, xsessions,
};
use crate::store::{Store, StoreError};

/// One row of `login_audit`, every column (the admin console renders it).
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = login_audit)]
pub struct AuditRecord {
    /// The row id.
    pub id: i64,
    /// When (epoch seconds).
    pub at: i64,
    /// `accepted`, `rejected` or `error`.
    pub outcome: String,
    /// The reason code of a refusal.
    pub reason_code: Option<String>,
    /// The detail, for the administrator.
    pub detail: Option<String>,
    /// The IdP (the assertion's Issuer), when known.
    pub idp: Option<String>,
    /// The login name, when known.
    pub login_name: Option<String>,
    /// The correlation ID shown to the person.
    pub correlation_id: Option<String>,
    /// A test login of the admin console.
    pub dry_run: bool,
    /// The IdP's clock minus ours (seconds).
    pub clock_offset: Option<i64>,
    /// The attributes that arrived (JSON).
    pub attributes: Option<String>,
    /// What the sync changed (JSON of the plan).
    pub changes: Option<String>,
}

/// Which login attempts to list; every field narrows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// `accepted`, `rejected` or `error`.
    pub outcome: Option<String>,
    /// A reason code.
    pub reason: Option<String>,
    /// A login name (exact).
    pub login_name: Option<String>,
    /// From this time on (epoch seconds).
    pub since: Option<i64>,
    /// Before this time (epoch seconds).
    pub until: Option<i64>,
    /// Only rows with a smaller id (the next page).
    pub before_id: Option<i64>,
}

/// An xsession of a user, as the console lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionInfo {
    /// The token id.
    pub jti: String,
    /// The login session id.
    pub sid: String,
    /// Issued (epoch seconds).
    pub issued_at: i64,
    /// Expires (epoch seconds).
    pub expires_at: i64,
    /// Revoked before its expiry.
    pub revoked: bool,
}

/// A local group and its members (login name, whether federated).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GroupMembers {
    /// The group's name.
    pub name: String,
    /// Its members by login name; `true`: put there by the login sync.
    pub members: Vec<(String, bool)>,
}

/// An admin console session, as its cookie finds it.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = admin_sessions)]
pub struct AdminSessionRecord {
    /// The xsession of the sign-in (revoked: the admin session ends too).
    pub jti: String,
    /// Who signed in.
    pub login_name: String,
    /// When it ends (epoch seconds).
    pub expires_at: i64,
}

impl Store {
    /// Login attempts matching `filter`, newest first, at most `limit`.
    pub fn audit_page(
        &self,
        filter: &AuditFilter,
        limit: i64,
    ) -> Result<Vec<AuditRecord>, StoreError> {
        let mut conn = self.conn()?;
        let run =
            |conn: &mut crate::store::connection::DbConnection| -> QueryResult<Vec<AuditRecord>> {
                let mut query = login_audit::table
                    .select(AuditRecord::as_select())
                    .order(login_audit::id.desc())
                    .limit(limit)
                    .into_boxed();
                if let Some(since) = filter.since {
                    query = query.filter(login_audit::id.ge(first_id_at(conn, since)?));
                    query = query.filter(login_audit::at.ge(since));
                }
                if let Some(until) = filter.until {
                    query = query.filter(login_audit::at.lt(until));
                }
                if let Some(before) = filter.before_id {
                    query = query.filter(login_audit::id.lt(before));
                }
                if let Some(outcome) = &filter.outcome {
                    query = query.filter(login_audit::outcome.eq(outcome.clone()));
                }
                if let Some(reason) = &filter.reason {
                    query = query.filter(login_audit::reason_code.eq(reason.clone()));
                }
                if let Some(name) = &filter.login_name {
                    query = query.filter(login_audit::login_name.eq(name.clone()));
                }
                query.load(conn)
            };
        run(&mut conn).map_err(|e| self.query_error(&e))
    }

    /// The login attempts with the correlation ID `correlation_id` (normally one).
    pub fn audit_by_correlation(
        &self,
        correlation_id: &str,
    ) -> Result<Vec<AuditRecord>, StoreError> {
        let mut conn = self.conn()?;
        login_audit::table
            .select(AuditRecord::as_select())
            .filter(login_audit::correlation_id.eq(correlation_id))
            .order(login_audit::id.desc())
            .load(&mut conn)
            .map_err(|e| self.query_error(&e))
    }

    /// Accepted and refused logins (tests left out) per hour since `since` (epoch seconds):
    /// (hour start, accepted, refused), hours without logins left out.
    pub fn logins_per_hour(&self, since: i64) -> Result<Vec<(i64, i64, i64)>, StoreError> {
        let mut conn = self.conn()?;
        let run =
            |conn: &mut crate::store::connection::DbConnection| -> QueryResult<Vec<(i64, String)>> {
                let first = first_id_at(conn, since)?;
                login_audit::table
                    .filter(login_audit::id.ge(first))
                    .filter(login_audit::at.ge(since))
                    .filter(login_audit::dry_run.eq(false))
                    .select((login_audit::at, login_audit::outcome))
                    .load(conn)
            };
        let rows = run(&mut conn).map_err(|e| self.query_error(&e))?;
        let mut hours: std::collections::BTreeMap<i64, (i64, i64)> = Default::default();
        for (at, outcome) in rows {
            let entry = hours.entry(at - at.rem_euclid(3600)).or_default();
            if outcome == "accepted" {
                entry.0 += 1;
            } else {
                entry.1 += 1;
            }
        }
        Ok(hours.into_iter().map(|(h, (a, r))| (h, a, r)).collect())
    }

    /// The xsessions of the user `user_id` that have not expired at `now` (epoch seconds),
    /// newest first, each with whether it was revoked.
    pub fn user_sessions(&self, user_id: i64, now: i64) -> Result<Vec<SessionInfo>, StoreError> {
        let mut conn = self.conn()?;
        let rows: Vec<(String, String, i64, i64, Option<String>)> = xsessions::table
            .left_join(revoked_sessions::table.on(revoked_sessions::jti.eq(xsessions::jti)))
            .filter(xsessions::user_id.eq(user_id))
            .filter(xsessions::expires_at.gt(now))
            .order(xsessions::issued_at.desc())
            .select((
                xsessions::jti,
                xsessions::sid,
                xsessions::issued_at,
                xsessions::expires_at,
                revoked_sessions::jti.nullable(),
            ))
            .load(&mut conn)
            .map_err(|e| self.query_error(&e))?;
        Ok(rows
            .into_iter()
            .map(|(jti, sid, issued_at, expires_at, revoked)| SessionInfo {
                jti,
                sid,
                issued_at,
                expires_at,
                revoked: revoked.is_some(),
            })
            .collect())
    }

    /// The expiry (epoch seconds) of the xsession `jti` of the user `user_id`, if it has one.
    pub fn session_of_user(&self, user_id: i64, jti: &str) -> Result<Option<i64>, StoreError> {
        let mut conn = self.conn()?;
        xsessions::table
            .filter(xsessions::user_id.eq(user_id))
            .filter(xsessions::jti.eq(jti))
            .select(xsessions::expires_at)
            .first(&mut conn)
            .optional()
            .map_err(|e| self.query_error(&e))
    }

    /// Every local group with its members, by name.
    pub fn groups_with_members(&self) -> Result<Vec<GroupMembers>, StoreError> {
        let mut conn = self.conn()?;
        let names: Vec<String> = groups::table
            .select(groups::name)
            .order(groups::name.asc())
            .load(&mut conn)
            .map_err(|e| self.query_error(&e))?;
        let rows: Vec<(String, String, bool)> = memberships::table
            .inner_join(groups::table)
            .inner_join(users::table)
            .select((groups::name, users::login_name, memberships::federated))
            .order((groups::name.asc(), users::login_name.asc()))
            .load(&mut conn)
            .map_err(|e| self.query_error(&e))?;
        let mut out: Vec<GroupMembers> = names
            .into_iter()
            .map(|name| GroupMembers {
                name,
                members: Vec::new(),
            })
            .collect();
        for (group, login, federated) in rows {
            if let Some(entry) = out.iter_mut().find(|g| g.name == group) {
                entry.members.push((login, federated));
            }
        }
        Ok(out)
    }

    /// Every group the user `login_name` is in (federated or local).
    pub fn groups_of(&self, login_name: &str) -> Result<Vec<String>, StoreError> {
        let mut conn = self.conn()?;
        memberships::table
            .inner_join(groups::table)
            .inner_join(users::table)
            .filter(users::login_name.eq(login_name))
            .select(groups::name)
            .load(&mut conn)
            .map_err(|e| self.query_error(&e))
    }

    /// Records an admin console session: the SHA-256 (hex) of its cookie's secret, the
    /// sign-in's xsession, who, and until when.
    pub fn create_admin_session(
        &self,
        secret_hash: &str,
        jti: &str,
        login_name: &str,
        now: i64,
        expires_at: i64,
    ) -> Result<(), StoreError> {
        self.write(|conn| {
            diesel::insert_into(admin_sessions::table)
                .values((
                    admin_sessions::secret_hash.eq(secret_hash),
                    admin_sessions::jti.eq(jti),
                    admin_sessions::login_name.eq(login_name),
                    admin_sessions::created_at.eq(now),
                    admin_sessions::expires_at.eq(expires_at),
                ))
                .execute(&mut **conn)
                .map(drop)
                .map_err(|e| self.query_error(&e))
        })
    }

    /// The admin session whose secret hashes to `secret_hash`, if it has not expired at `now`.
    pub fn admin_session(
        &self,
        secret_hash: &str,
        now: i64,
    ) -> Result<Option<AdminSessionRecord>, StoreError> {
        let mut conn = self.conn()?;
        admin_sessions::table
            .select(AdminSessionRecord::as_select())
            .filter(admin_sessions::secret_hash.eq(secret_hash))
            .filter(admin_sessions::expires_at.gt(now))
            .first(&mut conn)
            .optional()
            .map_err(|e| self.query_error(&e))
    }

    /// Deletes admin sessions expired at `now`; returns how many.
    pub fn purge_admin_sessions(&self, now: i64) -> Result<usize, StoreError> {
        self.write(|conn| {
            diesel::delete(admin_sessions::table.filter(admin_sessions::expires_at.le(now)))
                .execute(&mut **conn)
                .map_err(|e| self.query_error(&e))
        })
    }
}

/// The smallest id whose row is at or after `at` (rows are appended in time order), found by a
/// binary search over the id range: O(log n) point reads, no index on `at` needed. A row out
/// of order by a few seconds can only move the boundary by as much.
fn first_id_at(conn: &mut crate::store::connection::DbConnection, at: i64) -> QueryResult<i64> {
    let (low, high): (Option<i64>, Option<i64>) = login_audit::table
        .select((
            diesel::dsl::min(login_audit::id),
            diesel::dsl::max(login_audit::id),
        ))
        .first(conn)?;
    let (Some(mut low), Some(high)) = (low, high) else {
        return Ok(0);
    };
    let mut high = high + 1;
    while low < high {
        let mid = low + (high - low) / 2;
        // The first row at or after `mid` (ids may have gaps).
        let row: Option<(i64, i64)> = login_audit::table
            .filter(login_audit::id.ge(mid))
            .order(login_audit::id.asc())
            .select((login_audit::id, login_audit::at))
            .first(conn)
            .optional()?;
        match row {
            Some((_, row_at)) if row_at < at => low = mid + 1,
            _ => high = mid,
        }
    }
    Ok(low)
}

#[cfg(test)]
mod tests;
