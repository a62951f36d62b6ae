use std::collections::BTreeSet;
use std::sync::Arc;
use std::thread;

use diesel::prelude::*;

use crate::config::ManagedGroups;
use crate::store::schema::{groups, memberships, users};
use crate::store::{OpenOptions, Store, StoreError};
use crate::sync::Identity;

fn names(list: &[&str]) -> BTreeSet<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

fn identity(login: &str, groups: Option<&[&str]>) -> Identity {
    Identity {
        login_name: login.into(),
        external_id: None,
        full_name: Some(format!("{login} full")),
        email: None,
        description: None,
        groups: groups.map(names),
    }
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

    let first = store
        .sync_login(
            &identity("ada", Some(&["Staff", "Ghost", "New"])),
            &managed,
            true,
            10,
        )
        .unwrap();
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
    let second = store.sync_login(&again, &managed, true, 20).unwrap();
    assert!(!second.plan.create_user);
    assert_eq!(second.plan.fields.full_name.as_deref(), Some("Ada L."));
    assert_eq!(second.groups, names(&["Admins", "Local"]));
    let third = store.sync_login(&again, &managed, true, 30).unwrap();
    assert!(third.plan.is_noop());
    assert_eq!(third.groups, second.groups);
    assert_eq!(count_users(&store), 1);
}

#[test]
fn external_id_follows_a_renamed_user() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir, 2);
    let mut before = identity("ada@old.example", None);
    before.external_id = Some("X1".into());
    let created = store
        .sync_login(&before, &ManagedGroups::All, false, 1)
        .unwrap();
    let mut after = identity("ada@new.example", None);
    after.external_id = Some("X1".into());
    let renamed = store
        .sync_login(&after, &ManagedGroups::All, false, 2)
        .unwrap();
    assert_eq!(renamed.user_id, created.user_id);
    assert_eq!(
        renamed.plan.fields.login_name.as_deref(),
        Some("ada@new.example")
    );
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
    let result = store.sync_login(&eve, &ManagedGroups::All, true, 1);
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
    let user = store
        .sync_login(&identity("ada", None), &managed, false, 0)
        .unwrap();
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
            let managed = managed.clone();
            let id = identity("ada", Some(named));
            thread::spawn(move || {
                barrier.wait();
                let mut attempts = 0;
                loop {
                    match store.sync_login(&id, &managed, false, i64::try_from(i).unwrap_or(0)) {
                        Err(StoreError::Locked { .. }) if attempts < 20 => attempts += 1,
                        other => return other,
                    }
                }
            })
        })
        .collect();
    let outcomes: Vec<_> = handles
        .into_iter()
        .map(|h| h.join().unwrap().unwrap())
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
