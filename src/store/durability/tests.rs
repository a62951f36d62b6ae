//! Tests of group commit.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

use diesel::prelude::*;

use super::*;
use crate::store::Store;

/// `(issued, durable, syncing)` of a [`GroupCommit::Shared`].
fn tickets(commit: &GroupCommit) -> (u64, u64, bool) {
    let GroupCommit::Shared { state, .. } = commit else {
        panic!("not shared: {commit:?}");
    };
    let tickets = state.lock().unwrap();
    (tickets.issued, tickets.durable, tickets.syncing)
}

fn wal_of(commit: &GroupCommit) -> &Path {
    let GroupCommit::Shared { wal, .. } = commit else {
        panic!("not shared: {commit:?}");
    };
    wal
}

/// A shared group commit for `fedbridge.db` in `dir`, with a `-wal` file holding some bytes.
fn shared_with_wal(dir: &tempfile::TempDir) -> GroupCommit {
    let database = dir.path().join("fedbridge.db");
    let commit = GroupCommit::for_sqlite(&database.to_string_lossy());
    std::fs::write(wal_of(&commit), b"frames").unwrap();
    commit
}

#[test]
fn a_file_uri_syncs_at_every_commit() {
    for uri in ["file:x.db?mode=rwc", "file:/tmp/fedbridge.db", "file:"] {
        let commit = GroupCommit::for_sqlite(uri);
        assert!(matches!(commit, GroupCommit::EveryCommit), "{uri}");
        assert_eq!(commit.synchronous(), "FULL", "{uri}");
    }
}

#[test]
fn a_path_shares_the_syncs_of_its_wal_file() {
    for (database, wal) in [
        (
            "/srv/fedbridge/fedbridge.db",
            "/srv/fedbridge/fedbridge.db-wal",
        ),
        ("fedbridge.db", "fedbridge.db-wal"),
        ("data/my file.sqlite", "data/my file.sqlite-wal"),
    ] {
        let commit = GroupCommit::for_sqlite(database);
        assert_eq!(commit.synchronous(), "NORMAL", "{database}");
        assert_eq!(wal_of(&commit), PathBuf::from(wal), "{database}");
        assert_eq!(tickets(&commit), (0, 0, false), "{database}");
    }
}

#[test]
fn every_commit_returns_at_once() {
    let commit = GroupCommit::for_sqlite("file:x.db?mode=rwc");
    for _ in 0..3 {
        commit.wait_durable().unwrap();
    }
    assert!(!Path::new("x.db").exists(), "nothing is opened or created");
    GroupCommit::EveryCommit.wait_durable().unwrap();
}

#[test]
fn a_missing_wal_file_has_nothing_to_sync() {
    let dir = tempfile::tempdir().unwrap();
    let commit = GroupCommit::for_sqlite(&dir.path().join("fedbridge.db").to_string_lossy());
    commit.wait_durable().unwrap();
    assert_eq!(tickets(&commit), (1, 1, false));
    assert!(
        !wal_of(&commit).exists(),
        "the sync does not create the file"
    );
    commit.wait_durable().unwrap();
    assert_eq!(tickets(&commit), (2, 2, false));
}

#[test]
fn an_existing_wal_file_is_synced_and_left_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let commit = shared_with_wal(&dir);
    commit.wait_durable().unwrap();
    assert_eq!(tickets(&commit), (1, 1, false));
    assert_eq!(std::fs::read(wal_of(&commit)).unwrap(), b"frames");
}

/// The WAL path cannot be opened (its directory is a file): the caller is told, and the failed
/// sync counts for no one.
#[test]
fn a_failing_sync_is_reported_and_never_counted_as_durable() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("not-a-directory");
    std::fs::write(&file, b"").unwrap();
    let commit = GroupCommit::for_sqlite(&file.join("fedbridge.db").to_string_lossy());
    assert!(commit.wait_durable().is_err());
    assert!(commit.wait_durable().is_err());
    assert_eq!(tickets(&commit), (2, 0, false));
}

/// Runs `f` on another thread and fails the test (instead of hanging) if it does not finish
/// within a minute.
fn within_a_minute<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    let (send, receive) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = send.send(f());
    });
    receive
        .recv_timeout(Duration::from_secs(60))
        .expect("deadlock: not finished within a minute")
}

#[test]
fn many_threads_waiting_at_once_all_return_durable() {
    const THREADS: u64 = 8;
    const CALLS: u64 = 200;
    let dir = tempfile::tempdir().unwrap();
    let commit = Arc::new(shared_with_wal(&dir));
    let shared = Arc::clone(&commit);
    let failures = within_a_minute(move || {
        std::thread::scope(|scope| {
            let handles: Vec<_> = (0..THREADS)
                .map(|_| {
                    let commit = &shared;
                    scope.spawn(move || {
                        (0..CALLS)
                            .filter(|_| commit.wait_durable().is_err())
                            .count()
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap())
                .sum::<usize>()
        })
    });
    assert_eq!(failures, 0);
    assert_eq!(
        tickets(&commit),
        (THREADS * CALLS, THREADS * CALLS, false),
        "every ticket issued is durable, no sync left under way"
    );
    let syncs = match &*commit {
        GroupCommit::Shared { state, .. } => state.lock().unwrap().syncs,
        GroupCommit::EveryCommit => unreachable!(),
    };
    assert!(
        (1..THREADS * CALLS).contains(&syncs),
        "{syncs} syncs for {} waits: waiters shared syncs",
        THREADS * CALLS
    );
}

/// Writers that arrive while a sync is under way wait for it (none returns before a sync that
/// started after its ticket), then one sync covers them all: the first to wake syncs for every
/// ticket issued so far.
#[test]
fn writers_arriving_during_a_sync_wait_for_the_next_one() {
    const THREADS: usize = 8;
    let dir = tempfile::tempdir().unwrap();
    let commit = Arc::new(shared_with_wal(&dir));
    let GroupCommit::Shared { state, synced, .. } = &*commit else {
        unreachable!()
    };
    // A sync is under way (as if another writer were in `sync_file`).
    state.lock().unwrap().syncing = true;
    let returned = Arc::new(AtomicUsize::new(0));
    let handles: Vec<_> = (0..THREADS)
        .map(|_| {
            let commit = Arc::clone(&commit);
            let returned = Arc::clone(&returned);
            std::thread::spawn(move || {
                let outcome = commit.wait_durable();
                returned.fetch_add(1, Ordering::SeqCst);
                outcome
            })
        })
        .collect();
    let deadline = Instant::now() + Duration::from_secs(30);
    while tickets(&commit).0 < THREADS as u64 {
        assert!(Instant::now() < deadline, "the writers never took tickets");
        std::thread::sleep(Duration::from_millis(5));
    }
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(
        returned.load(Ordering::SeqCst),
        0,
        "returned before any sync"
    );
    assert_eq!(tickets(&commit), (THREADS as u64, 0, true));
    // The sync under way ends having covered none of them.
    {
        let mut tickets = state.lock().unwrap();
        tickets.syncing = false;
        synced.notify_all();
    }
    for handle in handles {
        handle.join().unwrap().unwrap();
    }
    assert_eq!(returned.load(Ordering::SeqCst), THREADS);
    assert_eq!(tickets(&commit), (THREADS as u64, THREADS as u64, false));
}

#[derive(diesel::QueryableByName)]
struct Synchronous {
    #[diesel(sql_type = diesel::sql_types::Integer)]
    synchronous: i32,
}

fn synchronous(conn: &mut crate::store::connection::DbConnection) -> i32 {
    diesel::sql_query("PRAGMA synchronous")
        .get_result::<Synchronous>(conn)
        .unwrap()
        .synchronous
}

#[test]
fn a_store_on_a_path_commits_with_synchronous_normal() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fedbridge.db").display().to_string();
    let store = Store::open(&path).unwrap();
    // Several connections of the pool at once: each got the setting.
    let mut held: Vec<_> = (0..3).map(|_| store.conn().unwrap()).collect();
    for conn in &mut held {
        assert_eq!(synchronous(conn), 1, "NORMAL");
    }
    drop(held);
    let mut writer = store.writer().unwrap();
    assert_eq!(synchronous(&mut writer), 1, "NORMAL");
    drop(writer);
    assert!(matches!(*store.group_commit, GroupCommit::Shared { .. }));
}

#[test]
fn a_store_on_a_file_uri_commits_with_synchronous_full() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fedbridge.db").display().to_string();
    let store = Store::open(&format!("file:{path}?mode=rwc")).unwrap();
    assert!(matches!(*store.group_commit, GroupCommit::EveryCommit));
    assert_eq!(synchronous(&mut store.conn().unwrap()), 2, "FULL");
    store.set_config("A", Some("1")).unwrap();
    assert!(Path::new(&path).is_file(), "the URI named this file");
}

#[test]
fn a_write_is_read_by_a_store_opened_after_the_writer_closed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fedbridge.db").display().to_string();
    let first = Store::open(&path).unwrap();
    first
        .set_config("SAML_ENTITY_ID", Some("https://sp"))
        .unwrap();
    let expires = crate::clock::Clock::now(&crate::clock::SystemClock) + time::Duration::hours(1);
    let used = crate::store::UsedMessages {
        assertion: Some(crate::store::UsedAssertion {
            assertion_id: "_a1".to_owned(),
            expires_at: expires.unix_timestamp(),
        }),
        request: None,
    };
    first
        .use_up(&used, crate::clock::Clock::now(&crate::clock::SystemClock))
        .unwrap()
        .unwrap();
    // The first store's group commit saw the write.
    let (issued, durable, syncing) = tickets(&first.group_commit);
    assert!(issued >= 2 && durable == issued && !syncing);
    drop(first);
    let second = Store::open(&path).unwrap();
    assert_eq!(
        second.config_rows().unwrap().get("SAML_ENTITY_ID"),
        Some(&Some("https://sp".to_owned()))
    );
    assert!(second.assertion_used("_a1").unwrap());
}
