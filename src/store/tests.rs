use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::{Connection, RunQueryDsl, SqliteConnection};

use super::*;

fn temp_db() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("test.db").display().to_string();
    (dir, path)
}

fn rows(pairs: &[(&str, Option<&str>)]) -> ConfigRows {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.map(str::to_owned)))
        .collect()
}

#[test]
fn open_creates_and_migrates_a_new_file() {
    let (_dir, path) = temp_db();
    let store = Store::open(&path).unwrap();
    assert!(Path::new(&path).is_file());
    assert_eq!(store.backend(), Backend::Sqlite);
    assert!(store.config_rows().unwrap().is_empty());
    // Every table of the migrations exists, and WAL mode is on.
    let mut conn = SqliteConnection::establish(&path).unwrap();
    #[derive(diesel::QueryableByName)]
    struct Name {
        #[diesel(sql_type = diesel::sql_types::Text)]
        name: String,
    }
    let tables: BTreeSet<String> =
        diesel::sql_query("SELECT name FROM sqlite_master WHERE type = 'table'")
            .load::<Name>(&mut conn)
            .unwrap()
            .into_iter()
            .map(|n| n.name)
            .collect();
    for table in [
        "CONFIGURATIONENTITY",
        "users",
        "groups",
        "memberships",
        "signing_keys",
        "outstanding_requests",
        "replay_cache",
        "revoked_sessions",
        "xsessions",
        "login_audit",
        "idp_metadata_cache",
    ] {
        assert!(tables.contains(table), "{table} missing from {tables:?}");
    }
    #[derive(diesel::QueryableByName)]
    struct Mode {
        #[diesel(sql_type = diesel::sql_types::Text)]
        journal_mode: String,
    }
    let mode = diesel::sql_query("PRAGMA journal_mode")
        .get_result::<Mode>(&mut conn)
        .unwrap();
    assert_eq!(mode.journal_mode, "wal");
    // Opening again finds nothing to migrate and keeps the data.
    store.set_config("A", Some("1")).unwrap();
    drop(store);
    let again = Store::open(&format!("sqlite://{path}")).unwrap();
    assert_eq!(again.config_rows().unwrap(), rows(&[("A", Some("1"))]));
}

#[test]
fn set_unset_and_null_versus_absent() {
    let (_dir, path) = temp_db();
    let store = Store::open(&path).unwrap();
    store
        .set_config("FEDERATEDLY_MANAGED_GROUPS", None)
        .unwrap();
    store.set_config("SAML_AUTOMATIC_LOGIN", Some("1")).unwrap();
    store.set_config("SAML_AUTOMATIC_LOGIN", Some("0")).unwrap();
    assert_eq!(
        store.config_rows().unwrap(),
        rows(&[
            ("FEDERATEDLY_MANAGED_GROUPS", None),
            ("SAML_AUTOMATIC_LOGIN", Some("0")),
        ])
    );
    assert!(store.unset_config("FEDERATEDLY_MANAGED_GROUPS").unwrap());
    assert!(!store.unset_config("FEDERATEDLY_MANAGED_GROUPS").unwrap());
    assert_eq!(
        store.config_rows().unwrap(),
        rows(&[("SAML_AUTOMATIC_LOGIN", Some("0"))])
    );
}

#[test]
fn a_failing_multi_row_write_leaves_nothing() {
    let (_dir, path) = temp_db();
    let store = Store::open(&path).unwrap();
    store.set_config("KEEP", Some("old")).unwrap();
    // The schema refuses names with surrounding blanks; "Z " sorts after the good rows, so
    // they are written first and must be rolled back.
    let changes = BTreeMap::from([
        ("A".to_owned(), RowChange::Set(Some("1".into()))),
        ("KEEP".to_owned(), RowChange::Delete),
        ("Z ".to_owned(), RowChange::Set(Some("2".into()))),
    ]);
    let error = store.write_config(&changes).unwrap_err();
    assert!(matches!(error, StoreError::Query { .. }), "{error}");
    assert_eq!(store.config_rows().unwrap(), rows(&[("KEEP", Some("old"))]));

    let replacement = rows(&[("B", Some("1")), ("C", None), ("Z ", Some("3"))]);
    assert!(store.replace_config(&replacement).is_err());
    assert_eq!(store.config_rows().unwrap(), rows(&[("KEEP", Some("old"))]));

    let good = rows(&[("B", Some("1")), ("C", None)]);
    store.replace_config(&good).unwrap();
    assert_eq!(store.config_rows().unwrap(), good);
}

#[test]
fn update_config_decides_on_the_rows_it_reads() {
    let (_dir, path) = temp_db();
    let store = Store::open(&path).unwrap();
    store.set_config("N", Some("1")).unwrap();
    let seen = store
        .update_config(|current| {
            let next = current["N"].as_deref().unwrap().parse::<u32>().unwrap() + 1;
            let changes =
                BTreeMap::from([("N".to_owned(), RowChange::Set(Some(next.to_string())))]);
            (changes, current.clone())
        })
        .unwrap();
    assert_eq!(seen, rows(&[("N", Some("1"))]));
    assert_eq!(store.config_rows().unwrap(), rows(&[("N", Some("2"))]));
    // Deciding to write nothing writes nothing.
    store.update_config(|_| (BTreeMap::new(), ())).unwrap();
    assert_eq!(store.config_rows().unwrap(), rows(&[("N", Some("2"))]));
}

#[test]
fn a_row_written_by_plain_sql_is_read() {
    let (_dir, path) = temp_db();
    let store = Store::open(&path).unwrap();
    let mut conn = SqliteConnection::establish(&path).unwrap();
    conn.batch_execute(
        "INSERT INTO CONFIGURATIONENTITY (NAME, VALUE) VALUES ('SAML_CONSUMER_URL', 'https://x/');
         INSERT INTO CONFIGURATIONENTITY (NAME, VALUE) VALUES ('FEDERATEDLY_MANAGED_GROUPS', NULL);",
    )
    .unwrap();
    assert_eq!(
        store.config_rows().unwrap(),
        rows(&[
            ("FEDERATEDLY_MANAGED_GROUPS", None),
            ("SAML_CONSUMER_URL", Some("https://x/")),
        ])
    );
}

#[test]
fn foreign_keys_are_enforced_and_cascade() {
    let (_dir, path) = temp_db();
    let store = Store::open(&path).unwrap();
    let mut conn = store.conn().unwrap();
    let orphan = diesel::sql_query(
        "INSERT INTO memberships (user_id, group_id, federated) VALUES (1, 1, 1)",
    )
    .execute(&mut *conn);
    assert!(
        orphan.is_err(),
        "a membership without user and group was accepted"
    );
    conn.batch_execute(
        "INSERT INTO users (login_name, created_at, updated_at) VALUES ('alice', 0, 0);
         INSERT INTO groups (name) VALUES ('g');
         INSERT INTO memberships (user_id, group_id, federated) VALUES (1, 1, 1);
         DELETE FROM users;",
    )
    .unwrap();
    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let left = diesel::sql_query("SELECT COUNT(*) AS n FROM memberships")
        .get_result::<Count>(&mut *conn)
        .unwrap();
    assert_eq!(left.n, 0);
}

#[test]
fn a_missing_directory_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nope").join("fedbridge.db");
    let error = Store::open(&path.display().to_string()).unwrap_err();
    assert!(
        matches!(error, StoreError::MissingDirectory { .. }),
        "{error}"
    );
    let message = error.to_string();
    assert!(message.contains(&path.display().to_string()), "{message}");
    assert!(message.contains("does not exist"), "{message}");
    assert!(!path.parent().unwrap().exists());
}

#[test]
fn a_directory_is_not_a_database() {
    let dir = tempfile::tempdir().unwrap();
    let error = Store::open(&dir.path().display().to_string()).unwrap_err();
    assert!(matches!(error, StoreError::IsADirectory { .. }), "{error}");
}

#[test]
fn a_file_that_is_not_a_database_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notes.txt");
    std::fs::write(
        &path,
        "this is not SQLite, but it is long enough to have a header.\n".repeat(20),
    )
    .unwrap();
    let error = Store::open(&path.display().to_string()).unwrap_err();
    assert!(matches!(error, StoreError::NotADatabase { .. }), "{error}");
    assert!(error.to_string().contains("notes.txt"), "{error}");
}

#[test]
fn a_lock_held_too_long_is_reported_as_locked() {
    let (_dir, path) = temp_db();
    let options = OpenOptions {
        busy_timeout: Duration::from_millis(100),
        ..OpenOptions::default()
    };
    let store = Store::open_with(&path, &options).unwrap();
    let mut holder = SqliteConnection::establish(&path).unwrap();
    holder
        .batch_execute("BEGIN IMMEDIATE; INSERT INTO CONFIGURATIONENTITY VALUES ('X', '1');")
        .unwrap();
    let error = store.set_config("Y", Some("2")).unwrap_err();
    assert!(matches!(error, StoreError::Locked { .. }), "{error}");
    assert!(error.to_string().contains("locked"), "{error}");
    holder.batch_execute("ROLLBACK;").unwrap();
    store.set_config("Y", Some("2")).unwrap();
}

#[test]
fn backends_come_from_the_url_scheme() {
    assert_eq!(Location::parse("fedbridge.db").backend(), Backend::Sqlite);
    assert_eq!(
        Location::parse("sqlite:///var/lib/fedbridge/db"),
        Location::Sqlite("/var/lib/fedbridge/db".into())
    );
    assert_eq!(
        Location::parse("postgres://u@h/db").backend(),
        Backend::Postgres
    );
    assert_eq!(
        Location::parse("PostgreSQL://u@h/db").backend(),
        Backend::Postgres
    );
    // Anything else is a file name, even when it looks like another scheme.
    assert_eq!(Location::parse("mysql://h/db").backend(), Backend::Sqlite);
}

#[test]
fn postgres_urls_are_shown_without_password() {
    let shown = Location::parse("postgres://fed:s3cret@db.example.com:5432/fed?password=s3cret")
        .to_string();
    assert!(!shown.contains("s3cret"), "{shown}");
    assert!(shown.contains("db.example.com"), "{shown}");
}

#[test]
fn postgres_errors_name_the_server_without_password() {
    // Nothing listens on port 1; libpq fails at once.
    let error = Store::open("postgresql://fed:s3cret@127.0.0.1:1/fedbridge").unwrap_err();
    assert!(matches!(error, StoreError::Unreachable { .. }), "{error}");
    let message = error.to_string();
    assert!(message.contains("127.0.0.1"), "{message}");
    assert!(!message.contains("s3cret"), "{message}");
}

/// The two backends must have the same migrations, in the same order.
#[test]
fn both_backends_have_the_same_migration_names() {
    let names = |backend: &str| -> Vec<String> {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("migrations")
            .join(backend);
        let mut names: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap())
            .filter(|e| e.file_type().unwrap().is_dir())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        for name in &names {
            for file in ["up.sql", "down.sql"] {
                assert!(
                    dir.join(name).join(file).is_file(),
                    "{backend}/{name}/{file}"
                );
            }
        }
        names
    };
    let sqlite = names("sqlite");
    assert!(!sqlite.is_empty());
    assert_eq!(sqlite, names("postgres"));
}

/// The same store code against a real PostgreSQL server (see `store::testing`).
#[test]
fn postgres_round_trip() {
    let Some(url) = testing::postgres_database("postgres_round_trip") else {
        return;
    };
    let store = Store::open(&url).unwrap();
    assert_eq!(store.backend(), Backend::Postgres);
    store.replace_config(&ConfigRows::new()).unwrap();
    store
        .set_config("FEDERATEDLY_MANAGED_GROUPS", None)
        .unwrap();
    store.set_config("A", Some("1")).unwrap();
    store.set_config("A", Some("2")).unwrap();
    assert_eq!(
        store.config_rows().unwrap(),
        rows(&[("A", Some("2")), ("FEDERATEDLY_MANAGED_GROUPS", None)])
    );
    let changes = BTreeMap::from([
        ("B".to_owned(), RowChange::Set(Some("1".into()))),
        ("Z ".to_owned(), RowChange::Set(Some("2".into()))),
    ]);
    assert!(store.write_config(&changes).is_err());
    assert!(!store.config_rows().unwrap().contains_key("B"));
    store
        .update_config(|current| {
            let changes = BTreeMap::from([("A".to_owned(), RowChange::Delete)]);
            assert!(current.contains_key("A"));
            (changes, ())
        })
        .unwrap();
    assert!(store.unset_config("FEDERATEDLY_MANAGED_GROUPS").unwrap());
    assert!(store.config_rows().unwrap().is_empty());
    // Opening again runs no migration twice.
    Store::open(&url).unwrap();
}

#[test]
fn an_empty_or_in_memory_database_is_refused() {
    for url in ["", ":memory:", "sqlite://"] {
        let error = Store::open(url).unwrap_err();
        assert!(
            error.to_string().contains("database file"),
            "{url}: {error}"
        );
    }
}

#[test]
fn idp_metadata_cache_keeps_the_last_copy_per_url() {
    let (_dir, path) = temp_db();
    let store = Store::open(&path).unwrap();
    let url = "https://idp.example.com/metadata";
    assert_eq!(store.cached_idp_metadata(url).unwrap(), None);
    let first = CachedMetadata {
        body: "<md:EntityDescriptor/>".into(),
        fetched_at: 1_700_000_000,
    };
    store.save_idp_metadata(url, &first).unwrap();
    assert_eq!(store.cached_idp_metadata(url).unwrap(), Some(first));
    let second = CachedMetadata {
        body: "<md:EntitiesDescriptor/>".into(),
        fetched_at: 1_700_003_600,
    };
    store.save_idp_metadata(url, &second).unwrap();
    assert_eq!(store.cached_idp_metadata(url).unwrap(), Some(second));
    assert_eq!(
        store
            .cached_idp_metadata("https://other.example.com/md")
            .unwrap(),
        None
    );
}

/// Nodes that start together on a new PostgreSQL database: one migrates, the others wait for
/// its advisory lock and find nothing pending (without the lock they race on creating
/// `__diesel_schema_migrations` and on applying the same version twice).
#[test]
fn nodes_migrating_one_new_postgres_database_at_once_all_start() {
    for round in 0..5 {
        let Some(url) = testing::postgres_database("nodes_migrating_one_new_postgres_database")
        else {
            return;
        };
        let barrier = std::sync::Barrier::new(8);
        let opened: Vec<Result<Store, StoreError>> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..8)
                .map(|_| {
                    scope.spawn(|| {
                        barrier.wait();
                        Store::open(&url)
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        for (node, result) in opened.iter().enumerate() {
            assert!(result.is_ok(), "round {round}, node {node}: {result:?}");
        }
        let mut conn = diesel::PgConnection::establish(&url).unwrap();
        let (versions, distinct): (i64, i64) = diesel::sql_query(
            "SELECT count(*) AS versions, count(DISTINCT version) AS distinct_versions \
             FROM __diesel_schema_migrations",
        )
        .get_result::<MigrationCount>(&mut conn)
        .map(|c| (c.versions, c.distinct_versions))
        .unwrap();
        assert_eq!(
            versions, distinct,
            "round {round}: a migration was applied twice"
        );
        let expected = i64::try_from(
            std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations/postgres"))
                .unwrap()
                .count(),
        )
        .unwrap();
        assert_eq!(versions, expected, "round {round}");
    }
}

#[derive(diesel::QueryableByName)]
struct MigrationCount {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    versions: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    distinct_versions: i64,
}

/// A node whose database connections are cut (a server restart, a failover, a firewall) carries
/// on by itself: the pool checks a connection before handing it out (what the server sent while
/// it sat idle) and replaces a dead one.
#[test]
fn a_store_reconnects_after_postgres_drops_its_connections() {
    let Some(url) = testing::postgres_database("a_store_reconnects_after_postgres_drops") else {
        return;
    };
    let store = Store::open(&url).unwrap();
    store.set_config("A", Some("1")).unwrap();
    assert_eq!(store.config_rows().unwrap().len(), 1);
    let mut admin = diesel::PgConnection::establish(&url).unwrap();
    let terminated: Vec<Terminated> = diesel::sql_query(
        // Waits (up to 5 s) until each backend has exited, so that the store meets closed
        // connections, not ones about to close.
        "SELECT pg_terminate_backend(pid, 5000) AS terminated FROM pg_stat_activity \
         WHERE datname = current_database() AND pid <> pg_backend_pid()",
    )
    .load(&mut admin)
    .unwrap();
    assert!(
        terminated.iter().any(|t| t.terminated),
        "the store held no connection to cut"
    );
    // Reads and writes right after, without an error in between.
    store.set_config("A", Some("2")).unwrap();
    assert_eq!(store.config_rows().unwrap(), rows(&[("A", Some("2"))]));
}

#[derive(diesel::QueryableByName)]
struct Terminated {
    #[diesel(sql_type = diesel::sql_types::Bool)]
    terminated: bool,
}
