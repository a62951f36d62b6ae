//! `users`, `groups`, `memberships`: the login sync (SPEC section 6) applied in one transaction.
//!
//! [`Store::sync_login`] takes the write lock as the transaction's first statement, reads the
//! user, its memberships and the local groups, plans with [`crate::sync::plan()`] from those
//! fresh rows, and writes the plan. Concurrent logins of the same user are serialised by that
//! lock, so each one plans from what the previous one committed and memberships never end
//! half-reconciled; any failure rolls the whole sync back.
//!
//! SQLite: the first statement is a write (which takes the database's write lock, waiting up to
//! the busy timeout), the equivalent of `BEGIN IMMEDIATE`. PostgreSQL: a `SHARE ROW EXCLUSIVE`
//! lock on `users`, which serialises syncs (of every user) but not readers.

use std::collections::{BTreeMap, BTreeSet};

use diesel::prelude::*;

use crate::config::ManagedGroups;
use crate::store::connection::{DbConnection, lock_for_write};
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
                lock_for_write(conn, "users")?;
                sync_in(conn, identity, managed, create_missing, now)
            })
            .map_err(|e| self.query_error(&e))
        })
    }
}

/// What the sync would do to the stored rows, read on `conn` (inside the login's transaction,
/// or alone for a test login).
pub(crate) struct Planned {
    /// The stored user (id and memberships), if any.
    current: Option<(i64, CurrentUser)>,
    /// The user is disabled.
    disabled: bool,
    /// Group name -> id, for the groups the reads saw.
    group_ids: BTreeMap<String, i64>,
    /// The plan.
    plan: SyncPlan,
}

/// Reads the user, its memberships and the groups the identity names, and plans the sync.
pub(crate) fn plan_in(
    conn: &mut DbConnection,
    identity: &Identity,
    managed: &ManagedGroups,
    create_missing: bool,
) -> QueryResult<Planned> {
    let found = find_user(conn, identity)?;
    let disabled = found.as_ref().is_some_and(|user| user.disabled);
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
    Ok(Planned {
        current,
        disabled,
        group_ids,
        plan,
    })
}

/// What a test login would change, read without writing anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DryRun {
    /// The stored user before, if any.
    pub current: Option<CurrentUser>,
    /// The user is disabled (the login would be refused).
    pub disabled: bool,
    /// The plan the sync would apply.
    pub plan: SyncPlan,
}

impl Store {
    /// The sync a login of `identity` would apply now, read in one read-only pass: nothing is
    /// written (the test login of the admin console).
    pub fn plan_login(
        &self,
        identity: &Identity,
        managed: &ManagedGroups,
        create_missing: bool,
    ) -> Result<DryRun, StoreError> {
        let mut conn = self.conn()?;
        let planned = plan_in(&mut conn, identity, managed, create_missing)
            .map_err(|e| self.query_error(&e))?;
        Ok(DryRun {
            current: planned.current.map(|(_, c)| c),
            disabled: planned.disabled,
            plan: planned.plan,
        })
    }
}

/// The sync inside the caller's transaction, which holds the write lock already (see
/// [`lock_for_write`]): read, plan and write.
pub(crate) fn sync_in(
    conn: &mut DbConnection,
    identity: &Identity,
    managed: &ManagedGroups,
    create_missing: bool,
    now: i64,
) -> QueryResult<SyncOutcome> {
    let Planned {
        current,
        disabled,
        group_ids,
        plan,
    } = plan_in(conn, identity, managed, create_missing)?;
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
    for name in &plan.create_groups {
        diesel::insert_into(groups::table)
            .values(groups::name.eq(name))
            .execute(conn)?;
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

/// The user with the identity's external ID, else the one with its login name.
fn find_user(conn: &mut DbConnection, identity: &Identity) -> QueryResult<Option<UserRecord>> {
    if let Some(external_id) = &identity.external_id {
        let found = users::table
            .filter(users::external_id.eq(external_id))
            .select(UserRecord::as_select())
            .first(conn)
            .optional()?;
        if found.is_some() {
            return Ok(found);
        }
    }
    users::table
        .filter(users::login_name.eq(&identity.login_name))
        .select(UserRecord::as_select())
        .first(conn)
        .optional()
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
