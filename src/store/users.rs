//! `users`, `groups`, `memberships`: the login sync (SPEC section 6) applied in one transaction.
//!
//! A sync (in [`Store::sync_login`] and in the login's transaction, `Store::complete_login`)
//! first takes the identity lock ([`lock_identity`] on [`identity_lock_keys`]), then reads the
//! user, its memberships and the local groups, plans with [`crate::sync::plan()`] from those
//! fresh rows, and writes the plan. Concurrent logins of the same user are serialised by that
//! lock, so each one plans from what the previous one committed and memberships never end
//! half-reconciled; any failure rolls the whole sync back.
//!
//! SQLite: the lock is the database's write lock (one writer at a time), taken before the
//! reads. PostgreSQL: advisory locks on the values the user is looked up by, so logins of
//! different users never wait for each other; the user's row is read `FOR UPDATE`, so two logins
//! that reach one user through different names (an external ID and a login name) wait for each
//! other too; and missing groups are created with `ON CONFLICT DO NOTHING` in name order, so two
//! users' logins creating the same group both succeed (the second waits for the first's commit
//! and uses its row) and never deadlock.

use std::collections::{BTreeMap, BTreeSet};

use diesel::prelude::*;

use crate::config::ManagedGroups;
use crate::store::connection::{DbConnection, lock_identity};
use crate::store::schema::{groups, memberships, users};
use crate::store::{Store, StoreError};
use crate::sync::{CurrentUser, FieldChanges, Identity, StoredUser, SyncPlan, plan};

/// What a login sync did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncOutcome {
    /// The user's row id.
    pub user_id: i64,
    /// The plan applied (computed inside the transaction).
    pub plan: SyncPlan,
    /// Every group the user is in after the sync, federated or local (the xsession `groups`).
    pub groups: BTreeSet<String>,
    /// The user was disabled before the sync (the login layer refuses such a login and rolls
    /// the sync back).
    pub disabled: bool,
}

impl Store {
    /// Creates or updates the user that `identity` describes and reconciles its memberships of
    /// `managed` groups (creating missing managed groups when `create_missing`), all in one
    /// transaction; `now` is the time in epoch seconds (`created_at`, `updated_at`).
    ///
    /// Fails, changing nothing, when the database does (for example a user found by external ID
    /// renamed to a login name that another user holds: the login name is unique).
    pub fn sync_login(
        &self,
        identity: &Identity,
        managed: &ManagedGroups,
        create_missing: bool,
        now: i64,
    ) -> Result<SyncOutcome, StoreError> {
        self.write(|conn| {
            conn.transaction(|conn| {
                lock_identity(conn, &identity_lock_keys(identity), false)?;
                sync_in(conn, identity, managed, create_missing, now)
            })
            .map_err(|e| self.query_error(&e))
        })
    }
}

/// What [`lock_identity`] locks for a sync of `identity`: every value the sync looks a user up
/// by (the login name, case-folded so that spellings of one name share a lock, and the external
/// ID). Whoever changes how `sync_in` finds users changes this list with it.
pub(crate) fn identity_lock_keys(identity: &Identity) -> Vec<String> {
    let mut keys = vec![format!(
        "user/login/{}",
        identity.login_name.to_ascii_lowercase()
    )];
    if let Some(external_id) = &identity.external_id {
        keys.push(format!("user/external/{external_id}"));
    }
    keys
}

/// The sync inside the caller's transaction, which holds the identity lock already (see
/// [`lock_identity`]): read, plan and write.
pub(crate) fn sync_in(
    conn: &mut DbConnection,
    identity: &Identity,
    managed: &ManagedGroups,
    create_missing: bool,
    now: i64,
) -> QueryResult<SyncOutcome> {
    let found = find_user(conn, identity)?;
    let disabled = found.as_ref().is_some_and(|user| user.disabled);
    // Group name -> id, for the groups the reads below saw (saves a lookup per change).
    let mut group_ids = BTreeMap::new();
    let current = match found {
        Some(user) => Some((user.id, read_current(conn, user, &mut group_ids)?)),
        None => None,
    };
    let local = existing_groups(conn, identity.groups.as_ref(), &mut group_ids)?;
    let plan = plan(
        identity,
        current.as_ref().map(|(_, c)| c),
        &local,
        managed,
        create_missing,
    );
    // The memberships after the sync, as the plan leaves them.
    let mut groups: BTreeSet<String> = current
        .as_ref()
        .map(|(_, c)| c.memberships.keys().cloned().collect())
        .unwrap_or_default();
    let user_id = match current {
        Some((id, _)) => {
            update_fields(conn, id, &plan.fields, now)?;
            id
        }
        None => create_user(conn, identity, now)?,
    };
    // In name order (a set): two logins creating the same groups wait for each other in one
    // order only.
    for name in &plan.create_groups {
        create_group(conn, name)?;
    }
    for name in &plan.add_memberships {
        let group_id = match group_ids.get(name) {
            Some(id) => *id,
            None => group_id(conn, name)?,
        };
        diesel::insert_into(memberships::table)
            .values((
                memberships::user_id.eq(user_id),
                memberships::group_id.eq(group_id),
                memberships::federated.eq(true),
            ))
            .execute(conn)?;
        groups.insert(name.clone());
    }
    for name in &plan.remove_memberships {
        let group_id = match group_ids.get(name) {
            Some(id) => *id,
            None => group_id(conn, name)?,
        };
        diesel::delete(
            memberships::table
                .filter(memberships::user_id.eq(user_id))
                .filter(memberships::group_id.eq(group_id)),
        )
        .execute(conn)?;
        groups.remove(name);
    }
    Ok(SyncOutcome {
        user_id,
        plan,
        groups,
        disabled,
    })
}

/// One `users` row.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = users)]
pub struct UserRecord {
    /// The row id.
    pub id: i64,
    /// The login name.
    pub login_name: String,
    /// The stable IdP identifier, when known.
    pub external_id: Option<String>,
    /// The full name.
    pub full_name: Option<String>,
    /// The e-mail address.
    pub email: Option<String>,
    /// The description.
    pub description: Option<String>,
    /// Licences inherited from the groups.
    pub inherit_licences: bool,
    /// Permissions inherited from the groups.
    pub inherit_permissions: bool,
    /// Whether the account is disabled.
    pub disabled: bool,
    /// Created (epoch seconds).
    pub created_at: i64,
    /// Last updated (epoch seconds).
    pub updated_at: i64,
}

/// The first user `filter` selects; on PostgreSQL its row stays locked (`FOR UPDATE`) until the
/// transaction ends, and a row changed by a transaction that committed meanwhile is read as it
/// now is.
macro_rules! locked_user {
    ($conn:expr, $filter:expr) => {
        match $conn {
            DbConnection::Postgres(pg) => users::table
                .filter($filter)
                .select(UserRecord::as_select())
                .for_update()
                .first(pg)
                .optional(),
            DbConnection::Sqlite(sqlite) => users::table
                .filter($filter)
                .select(UserRecord::as_select())
                .first(sqlite)
                .optional(),
        }
    };
}

/// The user with the identity's external ID, else the one with its login name (row locked, see
/// [`locked_user`]).
fn find_user(conn: &mut DbConnection, identity: &Identity) -> QueryResult<Option<UserRecord>> {
    if let Some(external_id) = &identity.external_id {
        let found = locked_user!(&mut *conn, users::external_id.eq(external_id))?;
        if found.is_some() {
            return Ok(found);
        }
    }
    locked_user!(conn, users::login_name.eq(&identity.login_name))
}

/// Creates the group `name` unless it exists, also when a concurrent login created it first
/// (PostgreSQL waits for that login's commit, then does nothing; SQLite has one writer).
fn create_group(conn: &mut DbConnection, name: &str) -> QueryResult<()> {
    let insert = diesel::insert_into(groups::table).values(groups::name.eq(name));
    match conn {
        DbConnection::Postgres(pg) => insert
            .on_conflict(groups::name)
            .do_nothing()
            .execute(pg)
            .map(drop),
        DbConnection::Sqlite(sqlite) => insert.execute(sqlite).map(drop),
    }
}

/// The stored user and its memberships; records the ids of its groups in `group_ids`.
fn read_current(
    conn: &mut DbConnection,
    user: UserRecord,
    group_ids: &mut BTreeMap<String, i64>,
) -> QueryResult<CurrentUser> {
    let rows: Vec<(String, i64, bool)> = memberships::table
        .inner_join(groups::table)
        .filter(memberships::user_id.eq(user.id))
        .select((groups::name, groups::id, memberships::federated))
        .load(conn)?;
    let mut memberships = BTreeMap::new();
    for (name, group_id, federated) in rows {
        group_ids.insert(name.clone(), group_id);
        memberships.insert(name, federated);
    }
    Ok(CurrentUser {
        user: StoredUser {
            login_name: user.login_name,
            external_id: user.external_id,
            full_name: user.full_name,
            email: user.email,
            description: user.description,
        },
        memberships,
    })
}

/// Which of the groups the IdP named exist locally (the plan asks about no other group);
/// records their ids in `group_ids`.
fn existing_groups(
    conn: &mut DbConnection,
    named: Option<&BTreeSet<String>>,
    group_ids: &mut BTreeMap<String, i64>,
) -> QueryResult<BTreeSet<String>> {
    let Some(named) = named.filter(|n| !n.is_empty()) else {
        return Ok(BTreeSet::new());
    };
    let rows: Vec<(String, i64)> = groups::table
        .filter(groups::name.eq_any(named))
        .select((groups::name, groups::id))
        .load(conn)?;
    let mut existing = BTreeSet::new();
    for (name, id) in rows {
        group_ids.insert(name.clone(), id);
        existing.insert(name);
    }
    Ok(existing)
}

fn group_id(conn: &mut DbConnection, name: &str) -> QueryResult<i64> {
    groups::table
        .filter(groups::name.eq(name))
        .select(groups::id)
        .first(conn)
}

/// Inserts the user (inheriting licences and permissions from its groups) and returns its id.
fn create_user(conn: &mut DbConnection, identity: &Identity, now: i64) -> QueryResult<i64> {
    diesel::insert_into(users::table)
        .values((
            users::login_name.eq(&identity.login_name),
            users::external_id.eq(identity.external_id.as_deref()),
            users::full_name.eq(identity.full_name.as_deref()),
            users::email.eq(identity.email.as_deref()),
            users::description.eq(identity.description.as_deref()),
            users::inherit_licences.eq(true),
            users::inherit_permissions.eq(true),
            users::disabled.eq(false),
            users::created_at.eq(now),
            users::updated_at.eq(now),
        ))
        .execute(conn)?;
    users::table
        .filter(users::login_name.eq(&identity.login_name))
        .select(users::id)
        .first(conn)
}

/// The columns to update; `None` fields are skipped (not set to NULL).
#[derive(AsChangeset)]
#[diesel(table_name = users)]
struct UserChanges<'a> {
    login_name: Option<&'a str>,
    external_id: Option<&'a str>,
    full_name: Option<&'a str>,
    email: Option<&'a str>,
    description: Option<&'a str>,
    updated_at: i64,
}

fn update_fields(
    conn: &mut DbConnection,
    id: i64,
    fields: &FieldChanges,
    now: i64,
) -> QueryResult<()> {
    if fields.is_empty() {
        return Ok(());
    }
    let changes = UserChanges {
        login_name: fields.login_name.as_deref(),
        external_id: fields.external_id.as_deref(),
        full_name: fields.full_name.as_deref(),
        email: fields.email.as_deref(),
        description: fields.description.as_deref(),
        updated_at: now,
    };
    diesel::update(users::table.find(id))
        .set(&changes)
        .execute(conn)
        .map(drop)
}

#[cfg(test)]
mod tests;
