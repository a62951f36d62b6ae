use std::collections::BTreeSet;
use std::sync::Arc;
use std::thread;

use diesel::prelude::*;

use crate::config::{LoginNameMatch, ManagedGroups};
use crate::store::schema::{group_idp_ids, groups, memberships, users};
use crate::store::testing::{identity, names};
use crate::store::{OpenOptions, Store, StoreError, SyncOutcome};
use crate::sync::{AccountRefusal, Identity, MatchedBy, SyncPolicy};

fn policy(managed: &ManagedGroups, create_missing_groups: bool) -> SyncPolicy {
    SyncPolicy {
        managed: managed.clone(),
        create_missing_groups,
        ..SyncPolicy::default()
    }
}

/// A sync that must find (or make) an account.
fn sync(store: &Store, identity: &Identity, policy: &SyncPolicy, now: i64) -> SyncOutcome {
    store.sync_login(identity, policy, now).unwrap().unwrap()
}

fn open(dir: &tempfile::TempDir, max_connections: u32) -> Store {
    let path = crate::store::testing::database_in(dir.path(), "fedbridge.db", "users");
    let options = OpenOptions {
        max_connections,
        ..OpenOptions::default()
    };
    Store::open_with(&path, &options).unwrap()
}

fn add_groups(store: &Store, list: &[&str]) {
    let mut conn = store.conn().unwrap();
    for name in list {
        diesel::insert_into(groups::table)
            .values(groups::name.eq(*name))
            .execute(&mut *conn)
            .unwrap();
    }
}

fn count_users(store: &Store) -> i64 {
    users::table
        .count()
        .get_result(&mut *store.conn().unwrap())
        .unwrap()
}

fn group_names(store: &Store) -> BTreeSet<String> {
    let names: Vec<String> = groups::table
        .select(groups::name)
        .load(&mut *store.conn().unwrap())
        .unwrap();
    names.into_iter().collect()
}

#[test]
fn creates_updates_and_reconciles() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir, 2);
    add_groups(&store, &["Staff", "Admins", "Local"]);
    let managed = ManagedGroups::List(vec!["Staff".into(), "Admins".into(), "New".into()]);

    let first = sync(
        &store,
        &identity("ada", Some(&["Staff", "Ghost", "New"])),
        &policy(&managed, true),
        10,
    );
    assert!(first.plan.create_user);
    assert_eq!(first.groups, names(&["New", "Staff"]));
    assert_eq!(first.plan.unknown_groups, names(&["Ghost"]));
    assert!(group_names(&store).contains("New"));
    let (licences, permissions): (bool, bool) = users::table
        .find(first.user_id)
        .select((users::inherit_licences, users::inherit_permissions))
        .first(&mut *store.conn().unwrap())
        .unwrap();
    assert!(licences && permissions);

    // A local membership of an unmanaged group survives; a managed one not named goes.
    let local_id: i64 = groups::table
        .filter(groups::name.eq("Local"))
        .select(groups::id)
        .first(&mut *store.conn().unwrap())
        .unwrap();
    diesel::insert_into(memberships::table)
        .values((
            memberships::user_id.eq(first.user_id),
            memberships::group_id.eq(local_id),
            memberships::federated.eq(false),
        ))
        .execute(&mut *store.conn().unwrap())
        .unwrap();
    let mut again = identity("ada", Some(&["Admins"]));
    again.full_name = Some("Ada L.".into());
    let second = sync(&store, &again, &policy(&managed, true), 20);
    assert!(!second.plan.create_user);
    assert_eq!(second.plan.fields.full_name.as_deref(), Some("Ada L."));
    assert_eq!(second.groups, names(&["Admins", "Local"]));
    let third = sync(&store, &again, &policy(&managed, true), 30);
    assert!(third.plan.is_noop());
    assert_eq!(third.groups, second.groups);
    assert_eq!(count_users(&store), 1);
}

#[test]
fn a_user_found_by_external_id_keeps_its_login_name() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir, 2);
    let created = sync(&store, &identity("asmith", None), &SyncPolicy::default(), 1);
    diesel::update(users::table.find(created.user_id))
        .set(users::external_id.eq("a.smith@corp.test"))
        .execute(&mut *store.conn().unwrap())
        .unwrap();
    // A NameID of any Format equal to it, or a login name equal to it.
    let mut by_name_id = identity("someone-else@corp.test", None);
    by_name_id.name_id = Some("a.smith@corp.test".into());
    let by_login = identity("a.smith@corp.test", None);
    for login in [by_name_id, by_login] {
        let found = sync(&store, &login, &SyncPolicy::default(), 2);
        assert_eq!(found.user_id, created.user_id);
        assert_eq!(found.matched_by, Some(MatchedBy::ExternalId));
        assert_eq!(found.user.login_name, "asmith");
    }
    let stored: (String, Option<String>) = users::table
        .find(created.user_id)
        .select((users::login_name, users::external_id))
        .first(&mut *store.conn().unwrap())
        .unwrap();
    assert_eq!(stored, ("asmith".into(), Some("a.smith@corp.test".into())));
    assert_eq!(count_users(&store), 1);
}

#[test]
fn a_failure_in_the_middle_rolls_everything_back() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir, 2);
    let trigger = match store.backend() {
        crate::store::Backend::Sqlite => {
            "CREATE TRIGGER injected_failure BEFORE INSERT ON memberships \
             WHEN NEW.group_id = (SELECT id FROM groups WHERE name = 'Boom') \
             BEGIN SELECT RAISE(ABORT, 'injected failure'); END"
        }
        crate::store::Backend::Postgres => {
            "CREATE FUNCTION injected_failure() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
             IF NEW.group_id = (SELECT id FROM groups WHERE name = 'Boom') THEN \
             RAISE EXCEPTION 'injected failure'; END IF; RETURN NEW; END $$; \
             CREATE TRIGGER injected_failure BEFORE INSERT ON memberships FOR EACH ROW \
             EXECUTE FUNCTION injected_failure()"
        }
    };
    diesel::connection::SimpleConnection::batch_execute(&mut *store.conn().unwrap(), trigger)
        .unwrap();
    let eve = identity("eve", Some(&["Boom", "New"]));
    let result = store.sync_login(&eve, &policy(&ManagedGroups::All, true), 1);
    assert!(result.is_err(), "{result:?}");
    // The user and both groups were written before the failing insert: all rolled back.
    assert_eq!(count_users(&store), 0);
    assert!(group_names(&store).is_empty());
}

/// Twenty logins of the same user at once, each with its own group set, each on its own
/// connection: every sync sees a consistent state, and the end state is one of them.
#[test]
fn concurrent_logins_of_one_user_stay_consistent() {
    const MANAGED: &[&str] = &["G0", "G1", "G2", "G3", "G4"];
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir, 20);
    add_groups(
        &store,
        &["G0", "G1", "G2", "G3", "G4", "Unmanaged", "Local"],
    );
    let managed = ManagedGroups::List(MANAGED.iter().map(|g| (*g).to_owned()).collect());
    let user = sync(&store, &identity("ada", None), &policy(&managed, false), 0);
    // Unmanaged memberships, one federated, one local: never touched.
    for (name, federated) in [("Unmanaged", true), ("Local", false)] {
        let group_id: i64 = groups::table
            .filter(groups::name.eq(name))
            .select(groups::id)
            .first(&mut *store.conn().unwrap())
            .unwrap();
        diesel::insert_into(memberships::table)
            .values((
                memberships::user_id.eq(user.user_id),
                memberships::group_id.eq(group_id),
                memberships::federated.eq(federated),
            ))
            .execute(&mut *store.conn().unwrap())
            .unwrap();
    }
    let unmanaged = names(&["Unmanaged", "Local"]);
    let targets: Vec<Vec<&str>> = (0..20u32)
        .map(|i| {
            let mut named: Vec<&str> = MANAGED
                .iter()
                .enumerate()
                .filter(|(bit, _)| i & (1 << bit) != 0)
                .map(|(_, g)| *g)
                .collect();
            named.push("Ghost"); // unknown: ignored
            if i % 3 == 0 {
                named.push("Local"); // named but unmanaged: unchanged
            }
            named
        })
        .collect();
    let store = Arc::new(store);
    let barrier = Arc::new(std::sync::Barrier::new(targets.len()));
    let handles: Vec<_> = targets
        .iter()
        .enumerate()
        .map(|(i, named)| {
            let store = Arc::clone(&store);
            let barrier = Arc::clone(&barrier);
            let policy = policy(&managed, false);
            let id = identity("ada", Some(named));
            thread::spawn(move || {
                barrier.wait();
                let mut attempts = 0;
                loop {
                    match store.sync_login(&id, &policy, i64::try_from(i).unwrap_or(0)) {
                        Err(StoreError::Locked { .. }) if attempts < 20 => attempts += 1,
                        other => return other,
                    }
                }
            })
        })
        .collect();
    let outcomes: Vec<_> = handles
        .into_iter()
        .map(|h| h.join().unwrap().unwrap().unwrap())
        .collect();

    let expected = |named: &[&str]| -> BTreeSet<String> {
        let mut set: BTreeSet<String> = named
            .iter()
            .filter(|g| MANAGED.contains(g))
            .map(|g| (*g).to_owned())
            .collect();
        set.extend(unmanaged.iter().cloned());
        set
    };
    for (outcome, named) in outcomes.iter().zip(&targets) {
        assert_eq!(outcome.user_id, user.user_id);
        assert_eq!(outcome.groups, expected(named));
        assert_eq!(outcome.plan.unknown_groups, names(&["Ghost"]));
    }
    let rows: Vec<(i64, String, bool)> = memberships::table
        .inner_join(groups::table)
        .select((memberships::user_id, groups::name, memberships::federated))
        .load(&mut *store.conn().unwrap())
        .unwrap();
    assert!(rows.iter().all(|(u, _, _)| *u == user.user_id));
    let final_groups: BTreeSet<String> = rows.iter().map(|(_, g, _)| g.clone()).collect();
    assert_eq!(final_groups.len(), rows.len(), "no duplicate rows");
    assert!(
        targets.iter().any(|named| expected(named) == final_groups),
        "the end state is one login's target: {final_groups:?}"
    );
    let local_row = rows.iter().find(|(_, g, _)| g == "Local");
    assert_eq!(
        local_row.map(|(_, _, f)| *f),
        Some(false),
        "unmanaged untouched"
    );
    assert_eq!(count_users(&store), 1);
    assert!(!group_names(&store).contains("Ghost"));
}

/// The `users.login_key` and `group_idp_ids.idp_id_key` the database generates are
/// [`crate::sync::login_key`] of the value: ASCII folded, everything else kept (the Kelvin
/// sign, `ß`, dotted capital I, `ǅ` stay).
fn generated_keys_are_the_ascii_fold(url: &str) {
    use crate::store::schema::group_idp_ids;
    let store = Store::open(url).unwrap();
    let mut conn = store.conn().unwrap();
    let samples = [
        "ALICE@Corp.Test",
        "ÄBİK",
        "\u{212A}elvin",
        "Straße",
        "\u{1C5}ungla",
        "already lower",
    ];
    diesel::insert_into(groups::table)
        .values(groups::name.eq("G"))
        .execute(&mut *conn)
        .unwrap();
    let group: i64 = groups::table.select(groups::id).first(&mut *conn).unwrap();
    for (n, name) in samples.iter().enumerate() {
        diesel::insert_into(users::table)
            .values((
                users::login_name.eq(*name),
                users::created_at.eq(0),
                users::updated_at.eq(0),
            ))
            .execute(&mut *conn)
            .unwrap();
        let key: Option<String> = users::table
            .filter(users::login_name.eq(*name))
            .select(users::login_key)
            .first(&mut *conn)
            .unwrap();
        assert_eq!(key, Some(crate::sync::login_key(name)), "{url}: {name:?}");
        let id = format!("{name}-{n}");
        diesel::insert_into(group_idp_ids::table)
            .values((
                group_idp_ids::group_id.eq(group),
                group_idp_ids::idp_id.eq(&id),
            ))
            .execute(&mut *conn)
            .unwrap();
        let key: Option<String> = group_idp_ids::table
            .filter(group_idp_ids::idp_id.eq(&id))
            .select(group_idp_ids::idp_id_key)
            .first(&mut *conn)
            .unwrap();
        assert_eq!(key, Some(crate::sync::login_key(&id)), "{url}: {id:?}");
    }
    // One IdP identifier names one group, whatever its case.
    let again = diesel::insert_into(group_idp_ids::table)
        .values((
            group_idp_ids::group_id.eq(group),
            group_idp_ids::idp_id.eq("already LOWER-5"),
        ))
        .execute(&mut *conn);
    assert!(
        again.is_err(),
        "{url}: a case variant of an IdP id was accepted"
    );
    // Login keys are not unique: two spellings may be two users (exact matching, old rows).
    diesel::insert_into(users::table)
        .values((
            users::login_name.eq("alice@corp.test"),
            users::created_at.eq(0),
            users::updated_at.eq(0),
        ))
        .execute(&mut *conn)
        .unwrap();
}

#[test]
fn generated_keys_are_the_ascii_fold_on_sqlite() {
    let (_dir, path) = crate::store::testing::sqlite_database();
    generated_keys_are_the_ascii_fold(&path);
}

#[test]
fn generated_keys_are_the_ascii_fold_on_postgres() {
    if let Some(url) =
        crate::store::testing::postgres_database("generated_keys_are_the_ascii_fold_on_postgres")
    {
        generated_keys_are_the_ascii_fold(&url);
    }
}

/// Login names without regard to case, the first spelling kept, legacy spellings, exact
/// matching, existing users only, and groups named by IdP identifier or `DOMAIN\Group`: the
/// store's reads and writes on one backend.
fn login_names_and_group_ids(url: &str) {
    let store = Store::open(url).unwrap();
    add_groups(&store, &["Engineering", "Sales", "Domain Users"]);
    let engineering: i64 = groups::table
        .filter(groups::name.eq("Engineering"))
        .select(groups::id)
        .first(&mut *store.conn().unwrap())
        .unwrap();
    diesel::insert_into(group_idp_ids::table)
        .values((
            group_idp_ids::group_id.eq(engineering),
            group_idp_ids::idp_id.eq("BE9C7CCC-07C4-4149-8FA4-958EA36C9ABA"),
        ))
        .execute(&mut *store.conn().unwrap())
        .unwrap();
    let default = SyncPolicy::default();

    let first = sync(
        &store,
        &identity(
            "alice@corp.test",
            Some(&["be9c7ccc-07c4-4149-8fa4-958ea36c9aba", "CORP\\Domain Users"]),
        ),
        &default,
        1,
    );
    assert_eq!(
        first.groups,
        names(&["Domain Users", "Engineering"]),
        "{url}"
    );
    let again = sync(
        &store,
        &identity("ALICE@Corp.Test", Some(&["Sales"])),
        &default,
        2,
    );
    assert_eq!(again.user_id, first.user_id, "{url}");
    assert_eq!(
        again.user.login_name, "alice@corp.test",
        "{url}: first spelling kept"
    );
    assert_eq!(again.matched_by, Some(MatchedBy::LoginName));
    assert_eq!(again.groups, names(&["Sales"]), "{url}");
    assert_eq!(count_users(&store), 1, "{url}");

    // Exact matching: another spelling is another user.
    let exact = SyncPolicy {
        login_name_match: LoginNameMatch::Exact,
        ..SyncPolicy::default()
    };
    let other = sync(&store, &identity("ALICE@corp.test", None), &exact, 3);
    assert_ne!(other.user_id, first.user_id, "{url}");
    // Two spellings stored now: the exact one wins, a third spelling is refused.
    let upper = sync(&store, &identity("ALICE@corp.test", None), &default, 4);
    assert_eq!(upper.user_id, other.user_id, "{url}");
    assert_eq!(
        store
            .sync_login(&identity("Alice@corp.test", None), &default, 5)
            .unwrap(),
        Err(AccountRefusal::LoginNameAmbiguousCase(vec![
            "ALICE@corp.test".into(),
            "alice@corp.test".into()
        ])),
        "{url}"
    );

    // Existing users only: an unknown user gets nothing, not even its groups.
    let only = SyncPolicy {
        existing_users_only: true,
        create_missing_groups: true,
        ..SyncPolicy::default()
    };
    let refused = store
        .sync_login(&identity("mallory", Some(&["Brand New"])), &only, 6)
        .unwrap();
    assert_eq!(
        refused,
        Err(AccountRefusal::NotProvisioned("mallory".into())),
        "{url}"
    );
    assert_eq!(count_users(&store), 2, "{url}");
    assert!(!group_names(&store).contains("Brand New"), "{url}");
    assert!(
        sync(&store, &identity("alice@corp.test", None), &only, 7)
            .matched_by
            .is_some(),
        "{url}"
    );
}

#[test]
fn login_names_and_group_ids_on_sqlite() {
    let (_dir, path) = crate::store::testing::sqlite_database();
    login_names_and_group_ids(&path);
}

#[test]
fn login_names_and_group_ids_on_postgres() {
    if let Some(url) =
        crate::store::testing::postgres_database("login_names_and_group_ids_on_postgres")
    {
        login_names_and_group_ids(&url);
    }
}

/// Eight first logins at once, each with another letter case of one login name, each on its
/// own connection: the write lock serialises them, so one user is created and the others find
/// it (SQLite; on PostgreSQL the login transaction's lock is issue 14's).
#[test]
fn concurrent_first_logins_in_several_letter_cases_make_one_user() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(open(&dir, 8));
    let spellings = [
        "ada@x.test",
        "ADA@x.test",
        "Ada@X.test",
        "aDa@x.TEST",
        "ada@X.TEST",
        "ADA@X.TEST",
        "Ada@x.test",
        "adA@x.test",
    ];
    let barrier = Arc::new(std::sync::Barrier::new(spellings.len()));
    let handles: Vec<_> = spellings
        .iter()
        .map(|name| {
            let (store, barrier) = (Arc::clone(&store), Arc::clone(&barrier));
            let id = identity(name, Some(&[]));
            thread::spawn(move || {
                barrier.wait();
                let mut attempts = 0;
                loop {
                    match store.sync_login(&id, &SyncPolicy::default(), 1) {
                        Err(StoreError::Locked { .. }) if attempts < 20 => attempts += 1,
                        other => return other.unwrap().unwrap(),
                    }
                }
            })
        })
        .collect();
    let outcomes: Vec<SyncOutcome> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert_eq!(count_users(&store), 1);
    let first = &outcomes[0];
    assert!(outcomes.iter().all(|o| o.user_id == first.user_id));
    assert!(
        outcomes
            .iter()
            .all(|o| o.user.login_name == first.user.login_name)
    );
    assert_eq!(outcomes.iter().filter(|o| o.plan.create_user).count(), 1);
}
