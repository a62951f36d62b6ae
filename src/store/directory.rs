//! Local administration of `groups` and `users` (`fedbridge groups` and `fedbridge users`):
//! listings, the details of one user, and group changes, each change in one transaction.
//!
//! Group names are exact and case-sensitive, as the login sync matches them: `Sales` and
//! `sales` are two groups. A group may carry IdP identifiers (`group_idp_ids`: Azure AD object
//! IDs, SIDs), unique without regard to ASCII case. Users are named as the login matches them:
//! the exact login name, else the one stored under another letter case.

use std::collections::BTreeMap;

use diesel::prelude::*;

use time::OffsetDateTime;

use crate::store::connection::DbConnection;
use crate::store::schema::{group_idp_ids, groups, login_audit, memberships, users};
use crate::store::sessions::revoke_users;
use crate::store::users::UserRecord;
use crate::store::{Store, StoreError};
use crate::sync::login_key;

/// A local group and how many members it has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupSummary {
    /// The group's name.
    pub name: String,
    /// Members added by the login sync.
    pub federated_members: i64,
    /// Members added locally.
    pub local_members: i64,
    /// The IdP identifiers the group carries, sorted.
    pub idp_ids: Vec<String>,
}

impl GroupSummary {
    /// Every member, federated or local.
    pub fn members(&self) -> i64 {
        self.federated_members + self.local_members
    }
}

/// One line of `fedbridge users list`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserSummary {
    /// The login name.
    pub login_name: String,
    /// The full name, when known.
    pub full_name: Option<String>,
    /// The e-mail address, when known.
    pub email: Option<String>,
    /// Whether the account is disabled.
    pub disabled: bool,
    /// How many groups the user is in.
    pub groups: i64,
    /// The time of the most recent login audit row for this login name (epoch seconds).
    pub last_login: Option<i64>,
}

/// One row of `login_audit`.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = login_audit)]
pub struct AuditEntry {
    /// When (epoch seconds).
    pub at: i64,
    /// The outcome (`accepted` or `rejected`, as the server records it).
    pub outcome: String,
    /// The reason code of a rejection.
    pub reason_code: Option<String>,
    /// The IdP, when known.
    pub idp: Option<String>,
    /// The correlation ID shown to the person.
    pub correlation_id: Option<String>,
    /// What an accepted login's sync held or reported (comma-separated codes).
    pub flags: Option<String>,
}

/// Everything stored about one user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserDetail {
    /// The user's row.
    pub user: UserRecord,
    /// Groups the login sync put the user in, sorted.
    pub federated_groups: Vec<String>,
    /// Groups the user was put in locally, sorted.
    pub local_groups: Vec<String>,
    /// The most recent login audit rows for the login name, newest first.
    pub recent_logins: Vec<AuditEntry>,
}

/// A group change that was refused: nothing was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GroupChangeRefused {
    /// `add`: these groups exist already.
    Exist(Vec<String>),
    /// `add`: this IdP identifier is carried by that group already (without regard to case).
    IdpIdTaken {
        /// The identifier given.
        idp_id: String,
        /// The group that carries it.
        group: String,
    },
    /// `remove`: these groups do not exist.
    Unknown(Vec<String>),
}

impl Store {
    /// Every local group with its member counts, by name.
    pub fn list_groups(&self) -> Result<Vec<GroupSummary>, StoreError> {
        let mut conn = self.conn()?;
        let run = |conn: &mut DbConnection| -> QueryResult<Vec<GroupSummary>> {
            let names: Vec<(i64, String)> = groups::table
                .select((groups::id, groups::name))
                .order(groups::name.asc())
                .load(conn)?;
            let rows: Vec<(i64, bool)> = memberships::table
                .select((memberships::group_id, memberships::federated))
                .load(conn)?;
            let mut counts: BTreeMap<i64, (i64, i64)> = BTreeMap::new();
            for (group_id, federated) in rows {
                let entry = counts.entry(group_id).or_default();
                if federated {
                    entry.0 += 1;
                } else {
                    entry.1 += 1;
                }
            }
            let ids: Vec<(i64, String)> = group_idp_ids::table
                .select((group_idp_ids::group_id, group_idp_ids::idp_id))
                .order(group_idp_ids::idp_id.asc())
                .load(conn)?;
            let mut idp_ids: BTreeMap<i64, Vec<String>> = BTreeMap::new();
            for (group_id, idp_id) in ids {
                idp_ids.entry(group_id).or_default().push(idp_id);
            }
            Ok(names
                .into_iter()
                .map(|(id, name)| {
                    let (federated_members, local_members) =
                        counts.get(&id).copied().unwrap_or_default();
                    GroupSummary {
                        name,
                        federated_members,
                        local_members,
                        idp_ids: idp_ids.remove(&id).unwrap_or_default(),
                    }
                })
                .collect())
        };
        run(&mut conn).map_err(|e| self.query_error(&e))
    }

    /// Creates the groups `names` in one transaction, the IdP identifiers `idp_ids` recorded on
    /// each; when any group exists already, or an identifier is another group's (without regard
    /// to ASCII case), creates nothing and says why.
    pub fn add_groups(
        &self,
        names: &[String],
        idp_ids: &[String],
    ) -> Result<Result<(), GroupChangeRefused>, StoreError> {
        self.write(|conn| {
            conn.transaction(|conn| {
                let existing: Vec<String> = groups::table
                    .filter(groups::name.eq_any(names))
                    .select(groups::name)
                    .order(groups::name.asc())
                    .load(conn)?;
                if !existing.is_empty() {
                    return Ok(Err(GroupChangeRefused::Exist(existing)));
                }
                let keys: Vec<String> = idp_ids.iter().map(|id| login_key(id)).collect();
                let taken: Option<(String, String)> = group_idp_ids::table
                    .inner_join(groups::table)
                    .filter(group_idp_ids::idp_id_key.eq_any(&keys))
                    .select((group_idp_ids::idp_id, groups::name))
                    .first(conn)
                    .optional()?;
                if let Some((idp_id, group)) = taken {
                    return Ok(Err(GroupChangeRefused::IdpIdTaken { idp_id, group }));
                }
                for name in names {
                    diesel::insert_into(groups::table)
                        .values(groups::name.eq(name))
                        .execute(conn)?;
                    let group_id: i64 = groups::table
                        .filter(groups::name.eq(name))
                        .select(groups::id)
                        .first(conn)?;
                    for idp_id in idp_ids {
                        diesel::insert_into(group_idp_ids::table)
                            .values((
                                group_idp_ids::group_id.eq(group_id),
                                group_idp_ids::idp_id.eq(idp_id),
                            ))
                            .execute(conn)?;
                    }
                }
                Ok(Ok(()))
            })
            .map_err(|e: diesel::result::Error| self.query_error(&e))
        })
    }

    /// Removes the groups `names` and their memberships in one transaction and returns how many
    /// memberships went; the xsessions of their members that are live at `now` are revoked (the
    /// tokens name the group). When any group does not exist, removes nothing and says which.
    pub fn remove_groups(
        &self,
        names: &[String],
        now: OffsetDateTime,
    ) -> Result<Result<usize, GroupChangeRefused>, StoreError> {
        self.write(|conn| {
            conn.transaction(|conn| {
                let found: Vec<(i64, String)> = groups::table
                    .filter(groups::name.eq_any(names))
                    .select((groups::id, groups::name))
                    .load(conn)?;
                let mut unknown: Vec<String> = names
                    .iter()
                    .filter(|n| !found.iter().any(|(_, f)| f == *n))
                    .cloned()
                    .collect();
                if !unknown.is_empty() {
                    unknown.sort();
                    unknown.dedup();
                    return Ok(Err(GroupChangeRefused::Unknown(unknown)));
                }
                let ids: Vec<i64> = found.iter().map(|(id, _)| *id).collect();
                // The members' tokens name the group: revoked before the memberships go.
                let members: Vec<i64> = memberships::table
                    .filter(memberships::group_id.eq_any(&ids))
                    .select(memberships::user_id)
                    .distinct()
                    .load(conn)?;
                revoke_users(conn, &members, now.unix_timestamp())?;
                let removed =
                    diesel::delete(memberships::table.filter(memberships::group_id.eq_any(&ids)))
                        .execute(conn)?;
                // Explicitly: the sqlite3 shell does not enforce foreign keys (ON DELETE).
                diesel::delete(group_idp_ids::table.filter(group_idp_ids::group_id.eq_any(&ids)))
                    .execute(conn)?;
                diesel::delete(groups::table.filter(groups::id.eq_any(&ids))).execute(conn)?;
                Ok(Ok(removed))
            })
            .map_err(|e: diesel::result::Error| self.query_error(&e))
        })
    }

    /// Every user, by login name, with group count and last login.
    pub fn list_users(&self) -> Result<Vec<UserSummary>, StoreError> {
        let mut conn = self.conn()?;
        let run = |conn: &mut DbConnection| -> QueryResult<Vec<UserSummary>> {
            let rows: Vec<UserRecord> = users::table
                .select(UserRecord::as_select())
                .order(users::login_name.asc())
                .load(conn)?;
            let member_rows: Vec<i64> =
                memberships::table.select(memberships::user_id).load(conn)?;
            let mut counts: BTreeMap<i64, i64> = BTreeMap::new();
            for user_id in member_rows {
                *counts.entry(user_id).or_default() += 1;
            }
            // One pass over the audit, not one query per user (login_name is not indexed).
            let last: Vec<(Option<String>, Option<i64>)> = login_audit::table
                .group_by(login_audit::login_name)
                .select((login_audit::login_name, diesel::dsl::max(login_audit::at)))
                .load(conn)?;
            let last: BTreeMap<String, i64> = last
                .into_iter()
                .filter_map(|(name, at)| Some((name?, at?)))
                .collect();
            let out = rows
                .into_iter()
                .map(|user| UserSummary {
                    groups: counts.get(&user.id).copied().unwrap_or_default(),
                    last_login: last.get(&user.login_name).copied(),
                    login_name: user.login_name,
                    full_name: user.full_name,
                    email: user.email,
                    disabled: user.disabled,
                })
                .collect();
            Ok(out)
        };
        run(&mut conn).map_err(|e| self.query_error(&e))
    }

    /// Everything stored about the user `login_name` with its `recent` latest login audit rows;
    /// `None` when there is no such user.
    pub fn show_user(
        &self,
        login_name: &str,
        recent: i64,
    ) -> Result<Option<UserDetail>, StoreError> {
        let mut conn = self.conn()?;
        let run = |conn: &mut DbConnection| -> QueryResult<Option<UserDetail>> {
            let Some(user) = find_login(conn, login_name)? else {
                return Ok(None);
            };
            let groups: Vec<(String, bool)> = memberships::table
                .inner_join(groups::table)
                .filter(memberships::user_id.eq(user.id))
                .select((groups::name, memberships::federated))
                .order(groups::name.asc())
                .load(conn)?;
            let (federated, local): (Vec<_>, Vec<_>) = groups.into_iter().partition(|(_, f)| *f);
            let recent_logins: Vec<AuditEntry> = login_audit::table
                .filter(login_audit::login_name.eq(&user.login_name))
                .select(AuditEntry::as_select())
                .order((login_audit::at.desc(), login_audit::id.desc()))
                .limit(recent)
                .load(conn)?;
            Ok(Some(UserDetail {
                user,
                federated_groups: federated.into_iter().map(|(n, _)| n).collect(),
                local_groups: local.into_iter().map(|(n, _)| n).collect(),
                recent_logins,
            }))
        };
        run(&mut conn).map_err(|e| self.query_error(&e))
    }
}

/// Why `users set-external-id` changed nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExternalIdRefused {
    /// No user has that login name (in any letter case).
    UnknownUser,
    /// Another user holds that external ID.
    Taken(String),
}

impl Store {
    /// Records `external_id` (`None`: removes it) on the user `login_name` (exact, else the one
    /// stored under another letter case) in one transaction; returns its stored login name.
    pub fn set_external_id(
        &self,
        login_name: &str,
        external_id: Option<&str>,
    ) -> Result<Result<String, ExternalIdRefused>, StoreError> {
        self.write(|conn| {
            conn.transaction(|conn| {
                let Some(user) = find_login(conn, login_name)? else {
                    return Ok(Err(ExternalIdRefused::UnknownUser));
                };
                if let Some(external_id) = external_id {
                    let holder: Option<String> = users::table
                        .filter(users::external_id.eq(external_id))
                        .filter(users::id.ne(user.id))
                        .select(users::login_name)
                        .first(conn)
                        .optional()?;
                    if let Some(holder) = holder {
                        return Ok(Err(ExternalIdRefused::Taken(holder)));
                    }
                }
                diesel::update(users::table.find(user.id))
                    .set(users::external_id.eq(external_id))
                    .execute(conn)?;
                Ok(Ok(user.login_name))
            })
            .map_err(|e: diesel::result::Error| self.query_error(&e))
        })
    }
}

/// The user `login_name` as an administrator names it: the exact login name, else the only one
/// stored under another ASCII letter case (several such: none, the name must be exact).
fn find_login(conn: &mut DbConnection, login_name: &str) -> QueryResult<Option<UserRecord>> {
    let exact = users::table
        .filter(users::login_name.eq(login_name))
        .select(UserRecord::as_select())
        .first(conn)
        .optional()?;
    if exact.is_some() {
        return Ok(exact);
    }
    let mut folded: Vec<UserRecord> = users::table
        .filter(users::login_key.eq(login_key(login_name)))
        .select(UserRecord::as_select())
        .limit(2)
        .load(conn)?;
    Ok(if folded.len() == 1 {
        folded.pop()
    } else {
        None
    })
}
