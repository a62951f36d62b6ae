//! Test support for the store: a fresh database on each backend.
//!
//! PostgreSQL tests need a server: `.ci/postgres start` starts a throwaway one and prints its
//! URL, which goes in `FEDBRIDGE_TEST_POSTGRES_URL`; each test then gets a database of its own.
//! Without it the PostgreSQL half of a test says SKIPPED, unless `FEDBRIDGE_REQUIRE_POSTGRES=1`
//! (CI), which makes it fail.

use diesel::{Connection, PgConnection, RunQueryDsl};

/// Skips are counted for the summary at the end of `cargo test` (tests/summary.rs).
#[path = "../../tests/skips.rs"]
pub(crate) mod skips;

/// The command that starts a server for the tests.
const HOW: &str = "export FEDBRIDGE_TEST_POSTGRES_URL=$(bash .ci/postgres start)";

/// A fresh, empty SQLite database file (deleted with the directory).
pub(crate) fn sqlite_database() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("fedbridge.db").display().to_string();
    (dir, path)
}

/// The URL of a fresh, empty PostgreSQL database on the test server, or `None` (after saying
/// SKIPPED) when no server is configured and none is required.
pub(crate) fn postgres_database(test: &str) -> Option<String> {
    let Some(server) = std::env::var("FEDBRIDGE_TEST_POSTGRES_URL")
        .ok()
        .filter(|url| !url.is_empty())
    else {
        assert!(
            std::env::var("FEDBRIDGE_REQUIRE_POSTGRES").as_deref() != Ok("1"),
            "FEDBRIDGE_REQUIRE_POSTGRES=1 but FEDBRIDGE_TEST_POSTGRES_URL is not set ({HOW})"
        );
        eprintln!("SKIPPED (PostgreSQL half of {test}): no test server; run `{HOW}`");
        skips::record(
            test,
            "no PostgreSQL test server (FEDBRIDGE_TEST_POSTGRES_URL)",
        );
        return None;
    };
    let name = format!(
        "fedbridge_test_{}",
        crate::ids::random_id()
            .expect("random")
            .to_ascii_lowercase()
            .replace(|c: char| !c.is_ascii_alphanumeric(), "")
    );
    let mut admin = PgConnection::establish(&server)
        .unwrap_or_else(|e| panic!("cannot connect to {server}: {e}"));
    diesel::sql_query(format!("CREATE DATABASE {name}"))
        .execute(&mut admin)
        .unwrap_or_else(|e| panic!("cannot create the database {name}: {e}"));
    let (base, _) = server.rsplit_once('/').expect("a URL with a database name");
    Some(format!("{base}/{name}"))
}

/// The switch that runs the whole test suite against PostgreSQL: `FEDBRIDGE_TEST_DATABASE`
/// `postgres` (the server is `FEDBRIDGE_TEST_POSTGRES_URL`'s); unset or `sqlite`: SQLite.
pub(crate) fn postgres_switch() -> bool {
    match std::env::var("FEDBRIDGE_TEST_DATABASE").as_deref() {
        Ok("postgres") => true,
        Ok("sqlite") | Err(_) => false,
        Ok(other) => panic!("FEDBRIDGE_TEST_DATABASE={other:?}: say sqlite or postgres"),
    }
}

/// The database of a test that runs on the backend under test: the file `name` in `dir`
/// (SQLite), or, under the PostgreSQL switch, a fresh database on the test server (each call
/// a new one: open one URL twice for two handles on one database).
pub(crate) fn database_in(dir: &std::path::Path, name: &str, test: &str) -> String {
    if postgres_switch() {
        return postgres_database(test)
            .unwrap_or_else(|| panic!("FEDBRIDGE_TEST_DATABASE=postgres needs a server: {HOW}"));
    }
    dir.join(name).display().to_string()
}

/// A set of group names.
pub(crate) fn names(list: &[&str]) -> std::collections::BTreeSet<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

/// An identity of `login` (also its NameID, its full name "`login` full") with the groups
/// claim `groups` (`None`: the groups attribute not mapped).
pub(crate) fn identity(login: &str, groups: Option<&[&str]>) -> crate::sync::Identity {
    use crate::sync::GroupClaim;
    crate::sync::Identity {
        login_name: login.into(),
        name_id: Some(login.into()),
        full_name: Some(format!("{login} full")),
        email: None,
        description: None,
        groups: groups.map_or(GroupClaim::NotMapped, |g| GroupClaim::Present(names(g))),
    }
}
