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
use diesel::sql_types::{Bool, Integer, Nullable, Text};

use crate::store::connection::{DbConnection, lock_identity};
use crate::store::prepared::{Bind, Prepared};
use crate::store::schema::{group_idp_ids, groups, memberships, users};
use crate::store::{Store, StoreError};
use crate::sync::{
    AccountMatch, AccountRefusal, CurrentUser, FieldChanges, GroupClaim, Identity, LocalGroups,
    LoginLookup, MatchedBy, StoredAccount, StoredUser, SyncPlan, SyncPolicy, choose_account,
    login_key, login_lookup, plan,
};

/// What a login sync did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncOutcome {
    /// The user's row id.
    pub user_id: i64,
    /// The user as stored after the sync (its login name is the stored spelling; full name
    /// and e-mail are the stored ones when the assertion left them out).
    pub user: StoredUser,
    /// How an existing user was found (`None`: created).
    pub matched_by: Option<MatchedBy>,
    /// The plan applied (computed inside the transaction).
    pub plan: SyncPlan,
    /// Every group the user is in after the sync, federated or local (the xsession `groups`).
    pub groups: BTreeSet<String>,
    /// The user was disabled before the sync (the login layer refuses such a login and rolls
    /// the sync back).
    pub disabled: bool,
}

impl Store {
    /// Creates or updates the user that `identity` describes and reconciles its memberships as
    /// `policy` says, all in one transaction; `now` is the time in epoch seconds (`created_at`,
    /// `updated_at`). `Ok(Err(_))`: no account for this login (nothing written).
    pub fn sync_login(
        &self,
        identity: &Identity,
        policy: &SyncPolicy,
        now: i64,
    ) -> Result<Result<SyncOutcome, AccountRefusal>, StoreError> {
        self.write(|conn| {
            conn.transaction(|conn| {
                lock_identity(conn, &identity_lock_keys(identity), false)?;
                match sync_in(conn, identity, policy, now)? {
                    Ok((outcome, writes)) => {
                        write_sync(conn, &writes, now)?;
                        Ok(Ok(outcome))
                    }
                    // Nothing was written; the transaction ends without changes either way.
                    Err(refusal) => Ok(Err(refusal)),
                }
            })
            .map_err(|e: diesel::result::Error| self.query_error(&e))
        })
    }
}

/// What [`lock_identity`] locks for a sync of `identity`: every value the sync looks a user up
/// by (the login name's key, shared by every spelling of one name, and each external ID
/// candidate). Whoever changes how [`plan_in`] finds users changes this list with it.
pub(crate) fn identity_lock_keys(identity: &Identity) -> Vec<String> {
    let mut keys = vec![format!("user/login/{}", login_key(&identity.login_name))];
    keys.extend(
        identity
            .external_id_candidates()
            .into_iter()
            .map(|candidate| format!("user/external/{candidate}")),
    );
    keys
}

/// What the sync would do to the stored rows, read on `conn` (inside the login's transaction,
/// or alone for a test login).
pub(crate) struct Planned {
    /// The stored user (id and memberships), if any.
    current: Option<(i64, CurrentUser)>,
    /// How an existing user was found (`None`: to be created).
    matched_by: Option<MatchedBy>,
    /// The user is disabled.
    disabled: bool,
    /// Group name -> id, for the groups the reads saw (saves a lookup per change).
    group_ids: BTreeMap<String, i64>,
    /// The plan.
    plan: SyncPlan,
}

/// The users `filter` selects, each with its `login_key`; on PostgreSQL their rows stay locked
/// (`FOR UPDATE`) until the transaction ends, and a row changed by a transaction that committed
/// meanwhile is read as it now is.
macro_rules! locked_users {
    ($conn:expr, $filter:expr) => {
        match &mut *$conn {
            DbConnection::Postgres(pg) => users::table
                .filter($filter)
                .select((UserRecord::as_select(), users::login_key))
                .for_update()
                .load(pg),
            DbConnection::Sqlite(sqlite) => users::table
                .filter($filter)
                .select((UserRecord::as_select(), users::login_key))
                .load(sqlite),
        }
    };
}

/// Reads the account the identity signs in to, its memberships and the groups the identity
/// names, and plans the sync; `Ok(Err(_))`: no account for this login. Writes nothing.
pub(crate) fn plan_in(
    conn: &mut DbConnection,
    identity: &Identity,
    policy: &SyncPolicy,
) -> QueryResult<Result<Planned, AccountRefusal>> {
    // One statement for both ways of finding the account (every statement is a round trip on
    // PostgreSQL); the rows are told apart here.
    let candidates = identity.external_id_candidates();
    let lookup = login_lookup(identity, policy);
    let rows: Vec<(UserRecord, Option<String>)> = match &lookup {
        LoginLookup::Key(key) => locked_users!(
            conn,
            users::external_id
                .eq_any(&candidates)
                .or(users::login_key.eq(key))
        )?,
        LoginLookup::Exact(name) => locked_users!(
            conn,
            users::external_id
                .eq_any(&candidates)
                .or(users::login_name.eq(name))
        )?,
    };
    let by_external_id: Vec<UserRecord> = rows
        .iter()
        .filter(|(user, _)| {
            user.external_id
                .as_deref()
                .is_some_and(|id| candidates.contains(&id))
        })
        .map(|(user, _)| user.clone())
        .collect();
    let by_login_name: Vec<UserRecord> = rows
        .into_iter()
        .filter(|(user, key)| match &lookup {
            LoginLookup::Key(wanted) => key.as_ref() == Some(wanted),
            LoginLookup::Exact(wanted) => user.login_name == *wanted,
        })
        .map(|(user, _)| user)
        .collect();
    let chosen = choose_account(
        identity,
        accounts(&by_external_id),
        accounts(&by_login_name),
        policy,
    );
    // The chosen row as read (no second read).
    let (found, matched_by) = match chosen {
        Err(refusal) => return Ok(Err(refusal)),
        Ok(AccountMatch::New) => (None, None),
        Ok(AccountMatch::Existing(account, by)) => (
            by_external_id
                .into_iter()
                .chain(by_login_name)
                .find(|user| user.id == account.id),
            Some(by),
        ),
    };
    let disabled = found.as_ref().is_some_and(|user| user.disabled);
    let mut group_ids = BTreeMap::new();
    let values = match &identity.groups {
        GroupClaim::Present(values) => Some(values),
        _ => None,
    };
    let (memberships, local) = read_groups(
        conn,
        found.as_ref().map(|user| user.id),
        values,
        &mut group_ids,
    )?;
    let current = found.map(|user| (user.id, current_user(user, memberships)));
    let plan = plan(identity, current.as_ref().map(|(_, c)| c), &local, policy);
    Ok(Ok(Planned {
        current,
        matched_by,
        disabled,
        group_ids,
        plan,
    }))
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
    /// The sync a login of `identity` would apply now under `policy`, read in one read-only
    /// pass: nothing is written (the test login of the admin console). `Ok(Err(_))`: the login
    /// would be refused for want of an account.
    pub fn plan_login(
        &self,
        identity: &Identity,
        policy: &SyncPolicy,
    ) -> Result<Result<DryRun, AccountRefusal>, StoreError> {
        let mut conn = self.conn()?;
        let planned = plan_in(&mut conn, identity, policy).map_err(|e| self.query_error(&e))?;
        Ok(planned.map(|planned| DryRun {
            current: planned.current.map(|(_, c)| c),
            disabled: planned.disabled,
            plan: planned.plan,
        }))
    }
}

/// The sync inside the caller's transaction, which holds the identity lock already (see
/// [`lock_identity`]): read and decide ([`plan_in`]), create the user and the groups the plan
/// needs, and return the row writes still owed ([`SyncWrites`]), which the caller makes with
/// [`write_sync`] or, on PostgreSQL, in the login's last statement. A refusal is decided before
/// anything is written.
pub(crate) fn sync_in(
    conn: &mut DbConnection,
    identity: &Identity,
    policy: &SyncPolicy,
    now: i64,
) -> QueryResult<Result<(SyncOutcome, SyncWrites), AccountRefusal>> {
    let Planned {
        current,
        matched_by,
        disabled,
        group_ids,
        plan,
    } = match plan_in(conn, identity, policy)? {
        Ok(planned) => planned,
        Err(refusal) => return Ok(Err(refusal)),
    };
    // The memberships after the sync, as the plan leaves them.
    let mut groups: BTreeSet<String> = current
        .as_ref()
        .map(|(_, c)| c.memberships.keys().cloned().collect())
        .unwrap_or_default();
    let (user_id, user) = match current {
        Some((id, current)) => (id, updated(current.user, &plan.fields)),
        None => (create_user(conn, identity, now)?, new_user(identity)),
    };
    // In name order (a set): two logins creating the same groups wait for each other in one
    // order only.
    for name in &plan.create_groups {
        create_group(conn, name)?;
    }
    // The group ids were read with the plan, or are looked up once each (created groups).
    let mut ids_of = |names: &BTreeSet<String>| -> QueryResult<Vec<i64>> {
        names
            .iter()
            .map(|name| match group_ids.get(name) {
                Some(id) => Ok(*id),
                None => group_id(conn, name),
            })
            .collect()
    };
    let writes = SyncWrites {
        user_id,
        fields: plan.fields.clone(),
        add_group_ids: ids_of(&plan.add_memberships)?,
        remove_group_ids: ids_of(&plan.remove_memberships)?,
    };
    groups.extend(plan.add_memberships.iter().cloned());
    for name in &plan.remove_memberships {
        groups.remove(name);
    }
    let outcome = SyncOutcome {
        user_id,
        user,
        matched_by,
        plan,
        groups,
        disabled,
    };
    Ok(Ok((outcome, writes)))
}

/// The writes to an existing user row and its memberships that a sync owes once [`sync_in`]
/// has planned it: kept together so that PostgreSQL can make them in one statement with the
/// login's session and audit row (every statement is a round trip there).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SyncWrites {
    /// The user's row id.
    pub(crate) user_id: i64,
    /// The fields to change (`None`: left as stored).
    pub(crate) fields: FieldChanges,
    /// The groups the user becomes a federated member of.
    pub(crate) add_group_ids: Vec<i64>,
    /// The groups whose memberships go.
    pub(crate) remove_group_ids: Vec<i64>,
}

/// Makes the writes of [`SyncWrites`], one statement each (the way SQLite and a sync without a
/// login make them).
pub(crate) fn write_sync(
    conn: &mut DbConnection,
    writes: &SyncWrites,
    now: i64,
) -> QueryResult<()> {
    update_fields(conn, writes.user_id, &writes.fields, now)?;
    add_memberships(conn, writes.user_id, &writes.add_group_ids)?;
    if !writes.remove_group_ids.is_empty() {
        diesel::delete(
            memberships::table
                .filter(memberships::user_id.eq(writes.user_id))
                .filter(memberships::group_id.eq_any(&writes.remove_group_ids)),
        )
        .execute(conn)?;
    }
    Ok(())
}

/// The rows as the account match sees them.
fn accounts(rows: &[UserRecord]) -> Vec<StoredAccount> {
    rows.iter()
        .map(|user| StoredAccount {
            id: user.id,
            login_name: user.login_name.clone(),
            external_id: user.external_id.clone(),
        })
        .collect()
}

/// The stored fields after `fields` were written.
fn updated(mut user: StoredUser, fields: &FieldChanges) -> StoredUser {
    let set = |slot: &mut Option<String>, new: &Option<String>| {
        if new.is_some() {
            slot.clone_from(new);
        }
    };
    set(&mut user.full_name, &fields.full_name);
    set(&mut user.email, &fields.email);
    set(&mut user.description, &fields.description);
    user
}

/// The fields of a user created from `identity`.
fn new_user(identity: &Identity) -> StoredUser {
    StoredUser {
        login_name: identity.login_name.clone(),
        external_id: None,
        full_name: identity.full_name.clone(),
        email: identity.email.clone(),
        description: identity.description.clone(),
    }
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

/// Makes `user_id` a federated member of `group_ids`: one statement kept prepared on
/// PostgreSQL (one round trip; a multi-row VALUES list would be a new statement for every row
/// count, planned at every execution), one cached statement per row on SQLite (in-process, no
/// round trip).
fn add_memberships(conn: &mut DbConnection, user_id: i64, group_ids: &[i64]) -> QueryResult<()> {
    if group_ids.is_empty() {
        return Ok(());
    }
    match conn {
        DbConnection::Postgres(pg) => Prepared::<()>::new(
            "INSERT INTO memberships (user_id, group_id, federated) \
             SELECT ?, group_id, true FROM unnest(?::bigint[]) AS group_id",
            vec![Bind::BigInt(user_id), Bind::BigInts(group_ids)],
        )
        .execute(pg)
        .map(drop),
        DbConnection::Sqlite(sqlite) => {
            for group_id in group_ids {
                diesel::insert_into(memberships::table)
                    .values((
                        memberships::user_id.eq(user_id),
                        memberships::group_id.eq(*group_id),
                        memberships::federated.eq(true),
                    ))
                    .execute(sqlite)?;
            }
            Ok(())
        }
    }
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

/// The stored user with its `memberships`.
fn current_user(user: UserRecord, memberships: BTreeMap<String, bool>) -> CurrentUser {
    CurrentUser {
        user: StoredUser {
            login_name: user.login_name,
            external_id: user.external_id,
            full_name: user.full_name,
            email: user.email,
            description: user.description,
        },
        memberships,
    }
}

/// Where a row of [`read_groups`] comes from.
const MEMBERSHIP: i32 = 0;
const BY_NAME: i32 = 1;
const BY_IDP_ID: i32 = 2;

/// Reads, in one statement (a round trip on PostgreSQL), the memberships of the user `user_id`
/// (group name -> federated) and the local groups the IdP's group `values` may name
/// ([`LocalGroups::lookups`]: by name and by IdP identifier); records the ids of every group
/// read in `group_ids`. Reads nothing when there is neither.
fn read_groups(
    conn: &mut DbConnection,
    user_id: Option<i64>,
    values: Option<&BTreeSet<String>>,
    group_ids: &mut BTreeMap<String, i64>,
) -> QueryResult<(BTreeMap<String, bool>, LocalGroups)> {
    let mut memberships = BTreeMap::new();
    let mut local = LocalGroups::default();
    let values = values.filter(|values| !values.is_empty());
    if user_id.is_none() && values.is_none() {
        return Ok((memberships, local));
    }
    let (names, keys) = values.map(LocalGroups::lookups).unwrap_or_default();
    // One shape for every case (one cached statement): a part with nothing to find finds no row.
    let of_user = memberships::table
        .inner_join(groups::table)
        .filter(memberships::user_id.eq(user_id.unwrap_or(-1)))
        .select((
            MEMBERSHIP.into_sql::<Integer>(),
            None::<String>.into_sql::<Nullable<Text>>(),
            groups::name,
            groups::id,
            memberships::federated,
        ));
    let by_name = groups::table.filter(groups::name.eq_any(&names)).select((
        BY_NAME.into_sql::<Integer>(),
        None::<String>.into_sql::<Nullable<Text>>(),
        groups::name,
        groups::id,
        false.into_sql::<Bool>(),
    ));
    let by_idp_id = group_idp_ids::table
        .inner_join(groups::table)
        .filter(group_idp_ids::idp_id_key.eq_any(&keys))
        .select((
            BY_IDP_ID.into_sql::<Integer>(),
            group_idp_ids::idp_id_key,
            groups::name,
            groups::id,
            false.into_sql::<Bool>(),
        ));
    let query = of_user.union_all(by_name).union_all(by_idp_id);
    let rows: Vec<(i32, Option<String>, String, i64, bool)> = match conn {
        DbConnection::Postgres(pg) => query.load(pg)?,
        DbConnection::Sqlite(sqlite) => query.load(sqlite)?,
    };
    for (source, key, name, id, federated) in rows {
        group_ids.insert(name.clone(), id);
        match source {
            MEMBERSHIP => {
                memberships.insert(name, federated);
            }
            BY_NAME => {
                local.names.insert(name);
            }
            _ => {
                if let Some(key) = key {
                    local.by_idp_id.insert(key, name);
                }
            }
        }
    }
    Ok((memberships, local))
}

fn group_id(conn: &mut DbConnection, name: &str) -> QueryResult<i64> {
    groups::table
        .filter(groups::name.eq(name))
        .select(groups::id)
        .first(conn)
}

/// Inserts the user under the login name as sent (inheriting licences and permissions from its
/// groups, no external ID: those are the administrator's) and returns its id.
fn create_user(conn: &mut DbConnection, identity: &Identity, now: i64) -> QueryResult<i64> {
    diesel::insert_into(users::table)
        .values((
            users::login_name.eq(&identity.login_name),
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
