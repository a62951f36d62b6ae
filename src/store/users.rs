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

use diesel::PgConnection;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Integer, Nullable, Text};

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
    /// The version of the user's row as read, when read without its lock (see
    /// [`plan_at_once`]).
    version: Option<String>,
}

/// The columns of a user the sync reads.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = users)]
struct SyncUser {
    id: i64,
    login_name: String,
    external_id: Option<String>,
    full_name: Option<String>,
    email: Option<String>,
    description: Option<String>,
    disabled: bool,
}

/// A user a login may sign in to, as read.
#[derive(Debug)]
struct FoundUser {
    user: SyncUser,
    login_key: Option<String>,
    /// The row's version (PostgreSQL's `xmin`), when read without the row's lock.
    version: Option<String>,
}

/// What a sync reads before it plans: the users a login may sign in to, their memberships, and
/// the local groups the IdP's group values may name.
#[derive(Debug, Default)]
struct SyncRows {
    users: Vec<FoundUser>,
    /// User id -> (group name -> federated).
    memberships: BTreeMap<i64, BTreeMap<String, bool>>,
    local: LocalGroups,
    /// Group name -> id, for every group read (saves a lookup per change).
    group_ids: BTreeMap<String, i64>,
}

/// The users `filter` selects, each with its `login_key`; on PostgreSQL their rows stay locked
/// (`FOR UPDATE`) until the transaction ends, and a row changed by a transaction that committed
/// meanwhile is read as it now is.
macro_rules! locked_users {
    ($conn:expr, $filter:expr) => {
        match &mut *$conn {
            DbConnection::Postgres(pg) => users::table
                .filter($filter)
                .select((SyncUser::as_select(), users::login_key))
                .for_update()
                .load(pg),
            DbConnection::Sqlite(sqlite) => users::table
                .filter($filter)
                .select((SyncUser::as_select(), users::login_key))
                .load(sqlite),
        }
    };
}

/// The group values of `identity` a sync looks local groups up by: names and IdP identifier
/// keys ([`LocalGroups::lookups`]).
fn group_lookups(identity: &Identity) -> (Vec<String>, Vec<String>) {
    match &identity.groups {
        GroupClaim::Present(values) if !values.is_empty() => {
            let (names, keys) = LocalGroups::lookups(values);
            (names.into_iter().collect(), keys.into_iter().collect())
        }
        _ => (Vec::new(), Vec::new()),
    }
}

/// Reads [`SyncRows`] inside a transaction that holds the identity lock, the user rows locked.
fn read_locked(
    conn: &mut DbConnection,
    identity: &Identity,
    lookup: &LoginLookup,
) -> QueryResult<SyncRows> {
    let candidates = identity.external_id_candidates();
    let found: Vec<(SyncUser, Option<String>)> = match lookup {
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
    let user_ids: Vec<i64> = found.iter().map(|(user, _)| user.id).collect();
    let mut rows = SyncRows {
        users: found
            .into_iter()
            .map(|(user, login_key)| FoundUser {
                user,
                login_key,
                version: None,
            })
            .collect(),
        ..SyncRows::default()
    };
    let (names, keys) = group_lookups(identity);
    read_groups(conn, &user_ids, &names, &keys, &mut rows)?;
    Ok(rows)
}

/// One row of [`read_at_once`]: a user (user columns set) with one of its memberships (group
/// columns set) or none, or a local group the IdP's values name (user columns NULL;
/// `idp_id_key` set when found by IdP identifier).
#[derive(Queryable)]
struct AtOnceRow {
    user_id: Option<i64>,
    version: Option<String>,
    login_name: Option<String>,
    external_id: Option<String>,
    full_name: Option<String>,
    email: Option<String>,
    description: Option<String>,
    disabled: Option<bool>,
    login_key: Option<String>,
    group_name: Option<String>,
    group_id: Option<i64>,
    idp_id_key: Option<String>,
    federated: Option<bool>,
}

/// The SQL types of [`AtOnceRow`].
type AtOnceRowType = (
    Nullable<BigInt>,
    Nullable<Text>,
    Nullable<Text>,
    Nullable<Text>,
    Nullable<Text>,
    Nullable<Text>,
    Nullable<Text>,
    Nullable<Bool>,
    Nullable<Text>,
    Nullable<Text>,
    Nullable<BigInt>,
    Nullable<Text>,
    Nullable<Bool>,
);

/// Reads [`SyncRows`] on PostgreSQL in one statement outside any transaction, each user with
/// its row's version (`xmin`, which every login's write changes: see
/// `sessions::write_login`).
fn read_at_once(
    pg: &mut PgConnection,
    identity: &Identity,
    lookup: &LoginLookup,
) -> QueryResult<SyncRows> {
    let candidates: Vec<String> = identity
        .external_id_candidates()
        .into_iter()
        .map(str::to_owned)
        .collect();
    let (login_column, login_value) = match lookup {
        LoginLookup::Key(key) => ("login_key", key.as_str()),
        LoginLookup::Exact(name) => ("login_name", name.as_str()),
    };
    let (names, keys) = group_lookups(identity);
    let no_user = "NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL";
    let found: Vec<AtOnceRow> = Prepared::<AtOnceRowType>::new(
        format!(
            "SELECT u.id, u.xmin::text, u.login_name, u.external_id, u.full_name, u.email, \
             u.description, u.disabled, u.login_key, g.name, g.id, NULL::text, m.federated \
             FROM users u LEFT JOIN memberships m ON m.user_id = u.id \
             LEFT JOIN groups g ON g.id = m.group_id \
             WHERE u.external_id = ANY(?) OR u.{login_column} = ? \
             UNION ALL SELECT {no_user}, name, id, NULL, false FROM groups WHERE name = ANY(?) \
             UNION ALL SELECT {no_user}, g.name, g.id, i.idp_id_key, false \
             FROM group_idp_ids i JOIN groups g ON g.id = i.group_id WHERE i.idp_id_key = ANY(?)"
        ),
        vec![
            Bind::Texts(&candidates),
            Bind::Text(login_value),
            Bind::Texts(&names),
            Bind::Texts(&keys),
        ],
    )
    .load(pg)?;
    let mut rows = SyncRows::default();
    for row in found {
        let group = row.group_name.zip(row.group_id);
        if let Some((name, id)) = &group {
            rows.group_ids.insert(name.clone(), *id);
        }
        let Some(user_id) = row.user_id else {
            match (group, row.idp_id_key) {
                (Some((name, _)), Some(key)) => {
                    rows.local.by_idp_id.insert(key, name);
                }
                (Some((name, _)), None) => {
                    rows.local.names.insert(name);
                }
                (None, _) => {}
            }
            continue;
        };
        let memberships = rows.memberships.entry(user_id).or_default();
        if let Some((name, _)) = group {
            memberships.insert(name, row.federated.unwrap_or(false));
        }
        if rows.users.iter().any(|found| found.user.id == user_id) {
            continue;
        }
        rows.users.push(FoundUser {
            user: SyncUser {
                id: user_id,
                login_name: row.login_name.unwrap_or_default(),
                external_id: row.external_id,
                full_name: row.full_name,
                email: row.email,
                description: row.description,
                disabled: row.disabled.unwrap_or(false),
            },
            login_key: row.login_key,
            version: row.version,
        });
    }
    Ok(rows)
}

/// Reads the account the identity signs in to, its memberships and the groups the identity
/// names, and plans the sync; `Ok(Err(_))`: no account for this login. Writes nothing. Inside
/// a transaction that holds the identity lock, or alone for a test login.
pub(crate) fn plan_in(
    conn: &mut DbConnection,
    identity: &Identity,
    policy: &SyncPolicy,
) -> QueryResult<Result<Planned, AccountRefusal>> {
    let lookup = login_lookup(identity, policy);
    let rows = read_locked(conn, identity, &lookup)?;
    Ok(plan_from(identity, policy, &lookup, rows))
}

/// [`plan_in`] on PostgreSQL in one statement, without a transaction or a lock: the plan of a
/// login that [`Planned::settle_existing`] may write at once, in one statement that checks the
/// user's row is still the version read (see `sessions::write_login`).
pub(crate) fn plan_at_once(
    pg: &mut PgConnection,
    identity: &Identity,
    policy: &SyncPolicy,
) -> QueryResult<Result<Planned, AccountRefusal>> {
    let lookup = login_lookup(identity, policy);
    let rows = read_at_once(pg, identity, &lookup)?;
    Ok(plan_from(identity, policy, &lookup, rows))
}

/// Chooses the account among the rows read and plans the sync.
fn plan_from(
    identity: &Identity,
    policy: &SyncPolicy,
    lookup: &LoginLookup,
    rows: SyncRows,
) -> Result<Planned, AccountRefusal> {
    let candidates = identity.external_id_candidates();
    let SyncRows {
        users: found,
        mut memberships,
        local,
        group_ids,
    } = rows;
    // Both ways of finding the account were one read; the rows are told apart here.
    let by_external_id: Vec<&FoundUser> = found
        .iter()
        .filter(|found| {
            found
                .user
                .external_id
                .as_deref()
                .is_some_and(|id| candidates.contains(&id))
        })
        .collect();
    let by_login_name: Vec<&FoundUser> = found
        .iter()
        .filter(|found| match lookup {
            LoginLookup::Key(wanted) => found.login_key.as_ref() == Some(wanted),
            LoginLookup::Exact(wanted) => found.user.login_name == *wanted,
        })
        .collect();
    let chosen = choose_account(
        identity,
        accounts(&by_external_id),
        accounts(&by_login_name),
        policy,
    )?;
    // The chosen row as read (no second read).
    let (chosen, matched_by) = match chosen {
        AccountMatch::New => (None, None),
        AccountMatch::Existing(account, by) => (
            found.into_iter().find(|found| found.user.id == account.id),
            Some(by),
        ),
    };
    let disabled = chosen.as_ref().is_some_and(|found| found.user.disabled);
    let version = chosen.as_ref().and_then(|found| found.version.clone());
    let current = chosen.map(|found| {
        let held = memberships.remove(&found.user.id).unwrap_or_default();
        (found.user.id, current_user(found.user, held))
    });
    let plan = plan(identity, current.as_ref().map(|(_, c)| c), &local, policy);
    Ok(Planned {
        current,
        matched_by,
        disabled,
        group_ids,
        plan,
        version,
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
    let planned = match plan_in(conn, identity, policy)? {
        Ok(planned) => planned,
        Err(refusal) => return Ok(Err(refusal)),
    };
    let (user_id, user) = match planned.existing_user() {
        Some(existing) => existing,
        None => (create_user(conn, identity, now)?, new_user(identity)),
    };
    // In name order (a set): two logins creating the same groups wait for each other in one
    // order only.
    for name in &planned.plan.create_groups {
        create_group(conn, name)?;
    }
    // The group ids were read with the plan, or are looked up once each (created groups).
    let mut ids_of = |names: &BTreeSet<String>| -> QueryResult<Vec<i64>> {
        names
            .iter()
            .map(|name| match planned.group_ids.get(name) {
                Some(id) => Ok(*id),
                None => group_id(conn, name),
            })
            .collect()
    };
    let add = ids_of(&planned.plan.add_memberships)?;
    let remove = ids_of(&planned.plan.remove_memberships)?;
    Ok(Ok(planned.settle(user_id, user, add, remove)))
}

impl Planned {
    /// The user is disabled (a login is refused, nothing written).
    pub(crate) fn disabled(&self) -> bool {
        self.disabled
    }

    /// The existing user's id and its fields as the sync leaves them; `None`: a user to create.
    fn existing_user(&self) -> Option<(i64, StoredUser)> {
        let (id, current) = self.current.as_ref()?;
        Some((*id, updated(current.user.clone(), &self.plan.fields)))
    }

    /// What the sync did and owes, for the user `user_id` (stored as `user` after it) and the
    /// group ids of the memberships to add and remove.
    fn settle(
        self,
        user_id: i64,
        user: StoredUser,
        add_group_ids: Vec<i64>,
        remove_group_ids: Vec<i64>,
    ) -> (SyncOutcome, SyncWrites) {
        let Planned {
            current,
            matched_by,
            disabled,
            plan,
            version,
            ..
        } = self;
        // The memberships after the sync, as the plan leaves them.
        let mut groups: BTreeSet<String> = current
            .map(|(_, c)| c.memberships.into_keys().collect())
            .unwrap_or_default();
        groups.extend(plan.add_memberships.iter().cloned());
        for name in &plan.remove_memberships {
            groups.remove(name);
        }
        let writes = SyncWrites {
            user_id,
            version,
            fields: plan.fields.clone(),
            add_group_ids,
            remove_group_ids,
        };
        let outcome = SyncOutcome {
            user_id,
            user,
            matched_by,
            plan,
            groups,
            disabled,
        };
        (outcome, writes)
    }

    /// [`Planned::settle`] for a plan that needs nothing created first (an existing user, every
    /// group known, their ids read): `None` otherwise.
    pub(crate) fn settle_existing(self) -> Option<(SyncOutcome, SyncWrites)> {
        let (user_id, user) = self.existing_user()?;
        if !self.plan.create_groups.is_empty() {
            return None;
        }
        let ids_of = |names: &BTreeSet<String>| -> Option<Vec<i64>> {
            names
                .iter()
                .map(|name| self.group_ids.get(name).copied())
                .collect()
        };
        let add = ids_of(&self.plan.add_memberships)?;
        let remove = ids_of(&self.plan.remove_memberships)?;
        Some(self.settle(user_id, user, add, remove))
    }
}

/// The writes to an existing user row and its memberships that a sync owes once [`sync_in`]
/// has planned it: kept together so that PostgreSQL can make them in one statement with the
/// login's session and audit row (every statement is a round trip there).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SyncWrites {
    /// The user's row id.
    pub(crate) user_id: i64,
    /// The row's version the plan was made from, when it was read without the row's lock:
    /// the write checks it is still current.
    pub(crate) version: Option<String>,
    /// The fields to change (`None`: left as stored).
    pub(crate) fields: FieldChanges,
    /// The groups the user becomes a federated member of.
    pub(crate) add_group_ids: Vec<i64>,
    /// The groups whose memberships go.
    pub(crate) remove_group_ids: Vec<i64>,
}

/// Makes the writes of [`SyncWrites`], one statement each (the way SQLite and a sync without a
/// login make them). On PostgreSQL the user's row is written even when no field changes, as a
/// login's write does: its new version tells a login planned without the lock that the user
/// changed meanwhile (see [`plan_at_once`]).
pub(crate) fn write_sync(
    conn: &mut DbConnection,
    writes: &SyncWrites,
    now: i64,
) -> QueryResult<()> {
    match conn {
        DbConnection::Postgres(pg) if writes.fields.is_empty() => {
            diesel::update(users::table.find(writes.user_id))
                .set(users::updated_at.eq(users::updated_at))
                .execute(pg)?;
        }
        _ => update_fields(conn, writes.user_id, &writes.fields, now)?,
    }
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
fn accounts(rows: &[&FoundUser]) -> Vec<StoredAccount> {
    rows.iter()
        .map(|found| StoredAccount {
            id: found.user.id,
            login_name: found.user.login_name.clone(),
            external_id: found.user.external_id.clone(),
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
fn current_user(user: SyncUser, memberships: BTreeMap<String, bool>) -> CurrentUser {
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

/// Reads in one statement the memberships of the users `user_ids` and the local groups the
/// IdP's group values may name (`names` and IdP identifier `keys`, see
/// [`LocalGroups::lookups`]) into `rows`. Reads nothing when there is nothing to find.
fn read_groups(
    conn: &mut DbConnection,
    user_ids: &[i64],
    names: &[String],
    keys: &[String],
    rows: &mut SyncRows,
) -> QueryResult<()> {
    if user_ids.is_empty() && names.is_empty() && keys.is_empty() {
        return Ok(());
    }
    // One shape for every case (one cached statement): a part with nothing to find finds no row.
    let of_users = memberships::table
        .inner_join(groups::table)
        .filter(memberships::user_id.eq_any(user_ids))
        .select((
            MEMBERSHIP.into_sql::<Integer>(),
            memberships::user_id,
            None::<String>.into_sql::<Nullable<Text>>(),
            groups::name,
            groups::id,
            memberships::federated,
        ));
    let by_name = groups::table.filter(groups::name.eq_any(names)).select((
        BY_NAME.into_sql::<Integer>(),
        0_i64.into_sql::<BigInt>(),
        None::<String>.into_sql::<Nullable<Text>>(),
        groups::name,
        groups::id,
        false.into_sql::<Bool>(),
    ));
    let by_idp_id = group_idp_ids::table
        .inner_join(groups::table)
        .filter(group_idp_ids::idp_id_key.eq_any(keys))
        .select((
            BY_IDP_ID.into_sql::<Integer>(),
            0_i64.into_sql::<BigInt>(),
            group_idp_ids::idp_id_key,
            groups::name,
            groups::id,
            false.into_sql::<Bool>(),
        ));
    let query = of_users.union_all(by_name).union_all(by_idp_id);
    let found: Vec<(i32, i64, Option<String>, String, i64, bool)> = match conn {
        DbConnection::Postgres(pg) => query.load(pg)?,
        DbConnection::Sqlite(sqlite) => query.load(sqlite)?,
    };
    for (source, user_id, key, name, id, federated) in found {
        rows.group_ids.insert(name.clone(), id);
        match source {
            MEMBERSHIP => {
                rows.memberships
                    .entry(user_id)
                    .or_default()
                    .insert(name, federated);
            }
            BY_NAME => {
                rows.local.names.insert(name);
            }
            _ => {
                if let Some(key) = key {
                    rows.local.by_idp_id.insert(key, name);
                }
            }
        }
    }
    Ok(())
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
