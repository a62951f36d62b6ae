//! Connections: the backend picked from the URL, per-connection SQLite settings, the pool's
//! connection manager and the embedded migrations of each backend.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::r2d2::{CustomizeConnection, ManageConnection, R2D2Connection};
use diesel::sqlite::SqliteConnection;
use diesel::{Connection, ConnectionError, QueryResult, RunQueryDsl};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use crate::store::StoreError;
use crate::store::prepared::{Bind, Prepared};

/// The SQLite migrations (`migrations/sqlite`), compiled in.
pub const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
/// The PostgreSQL migrations (`migrations/postgres`), compiled in; same names as SQLite's.
pub const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

pub use self::multi::DbConnection;

/// In a private module: the derive generates public helper items without doc comments.
mod multi {
    use diesel::pg::PgConnection;
    use diesel::sqlite::SqliteConnection;

    /// A connection to either backend. Queries written once against this type run on both;
    /// the variant is chosen by [`super::Location`], never by trying one backend after the
    /// other (SQLite would accept any string as a file name).
    #[derive(diesel::MultiConnection)]
    pub enum DbConnection {
        /// PostgreSQL, for several nodes sharing one database.
        Postgres(PgConnection),
        /// SQLite, the embedded default.
        Sqlite(SqliteConnection),
    }
}

/// The database backends fedbridge supports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// SQLite: one file.
    Sqlite,
    /// PostgreSQL: a server.
    Postgres,
}

/// Where the database is, parsed from `--database` / `FEDBRIDGE_DATABASE`.
#[derive(Clone, PartialEq, Eq)]
pub enum Location {
    /// An SQLite file (or an SQLite `file:` URI).
    Sqlite(PathBuf),
    /// A PostgreSQL connection URL (`postgres://` or `postgresql://`).
    Postgres(String),
}

impl Location {
    /// `postgres://...` and `postgresql://...` are PostgreSQL; `sqlite://PATH` and anything else
    /// is the path of an SQLite file.
    pub fn parse(url: &str) -> Location {
        let lower = url.to_ascii_lowercase();
        if lower.starts_with("postgres://") || lower.starts_with("postgresql://") {
            return Location::Postgres(url.to_owned());
        }
        let path = if lower.starts_with("sqlite://") {
            &url["sqlite://".len()..]
        } else {
            url
        };
        Location::Sqlite(PathBuf::from(path))
    }

    /// The backend this location needs.
    pub fn backend(&self) -> Backend {
        match self {
            Location::Sqlite(_) => Backend::Sqlite,
            Location::Postgres(_) => Backend::Postgres,
        }
    }

    /// Refuses, with a clear message, what SQLite would only report as "unable to open
    /// database file": a missing directory, a directory given as the file.
    pub(crate) fn check_before_open(&self) -> Result<(), StoreError> {
        let Location::Sqlite(path) = self else {
            return Ok(());
        };
        let text = path.to_string_lossy();
        if text.is_empty() || text == ":memory:" {
            return Err(StoreError::Open {
                database: format!("{text:?}"),
                detail: "give the path of a database file, such as fedbridge.db (an in-memory \
                         database would be lost when the command ends)"
                    .into(),
            });
        }
        if text.starts_with("file:") {
            return Ok(()); // an SQLite URI: SQLite interprets it
        }
        if path.is_dir() {
            return Err(StoreError::IsADirectory {
                database: self.to_string(),
            });
        }
        let directory = match path.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent,
            _ => Path::new("."),
        };
        if !directory.is_dir() {
            return Err(StoreError::MissingDirectory {
                database: self.to_string(),
                directory: directory.display().to_string(),
            });
        }
        Ok(())
    }
}

/// The SQLite path as given, or the PostgreSQL URL without password or query (which may hold
/// one).
impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Sqlite(path) => write!(f, "{}", path.display()),
            Location::Postgres(url) => match url::Url::parse(url) {
                Ok(mut parsed) => {
                    if parsed.password().is_some() {
                        let _ = parsed.set_password(Some("********"));
                    }
                    parsed.set_query(None);
                    f.write_str(parsed.as_str())
                }
                Err(_) => f.write_str("(a PostgreSQL URL that does not parse)"),
            },
        }
    }
}

impl fmt::Debug for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.to_string())
    }
}

/// Makes connections of the backend that the location names.
#[derive(Debug)]
pub struct Manager {
    location: Location,
}

impl Manager {
    pub(crate) fn new(location: Location) -> Manager {
        Manager { location }
    }

    /// A new connection, without the per-connection settings (see [`ConnectionSetup`]).
    pub(crate) fn establish(&self) -> Result<DbConnection, ConnectionError> {
        match &self.location {
            Location::Sqlite(path) => {
                SqliteConnection::establish(&path.to_string_lossy()).map(DbConnection::Sqlite)
            }
            Location::Postgres(url) => PgConnection::establish(url).map(DbConnection::Postgres),
        }
    }
}

impl ManageConnection for Manager {
    type Connection = DbConnection;
    type Error = diesel::r2d2::Error;

    fn connect(&self) -> Result<DbConnection, Self::Error> {
        self.establish()
            .map_err(diesel::r2d2::Error::ConnectionError)
    }

    /// A PostgreSQL connection is pinged (a round trip) only when the server sent something
    /// while it sat in the pool that says it is gone (`closed_by_server`); otherwise it is
    /// taken as it is, saving two round trips per login.
    fn is_valid(&self, conn: &mut DbConnection) -> Result<(), Self::Error> {
        if let DbConnection::Postgres(pg) = conn
            && !closed_by_server(pg)
        {
            return Ok(());
        }
        conn.ping().map_err(diesel::r2d2::Error::QueryError)
    }

    fn has_broken(&self, conn: &mut DbConnection) -> bool {
        conn.is_broken()
    }
}

/// Whether the server closed `pg` while it sat idle (a restart, `pg_terminate_backend`, an idle
/// timeout): reads what arrived, without waiting. Such a server sends its reason, then the end of
/// the stream, which libpq reports as an error by the second read. A connection lost without a
/// word from the server (a network cut) is not seen here, as a ping would not see it sooner.
fn closed_by_server(pg: &mut PgConnection) -> bool {
    (0..2).any(|_| pg.notifications_iter().any(|read| read.is_err()))
}

/// Settings applied to every new connection. SQLite keeps them per connection, so each one
/// gets them: wait for locks instead of failing at once, enforce foreign keys, and WAL mode
/// (readers never block the writer; stored in the file, so this is a no-op after the first).
#[derive(Debug, Clone)]
pub(crate) struct ConnectionSetup {
    pub(crate) busy_timeout: Duration,
    /// `FULL`, or `NORMAL` under group commit (see `store::durability`).
    pub(crate) synchronous: &'static str,
}

impl ConnectionSetup {
    pub(crate) fn apply(&self, conn: &mut DbConnection) -> QueryResult<()> {
        match conn {
            DbConnection::Sqlite(conn) => conn.batch_execute(&format!(
                "PRAGMA busy_timeout = {}; PRAGMA foreign_keys = ON; PRAGMA journal_mode = WAL; \
                 PRAGMA synchronous = {};",
                self.busy_timeout.as_millis(),
                self.synchronous
            )),
            // The store's statements look rows up by key: the generic plan of a prepared
            // statement is as good as a plan made for its values, and PostgreSQL would
            // otherwise plan some of them anew at every execution (those whose custom plans
            // look cheaper, such as `= ANY($1)` lookups; measured: 3 of the login's statements,
            // about 0.17 ms of server CPU per login). Servers before 12 lack the setting:
            // they keep their own choice.
            DbConnection::Postgres(pg) => {
                if let Err(e) = pg.batch_execute("SET plan_cache_mode = force_generic_plan") {
                    tracing::debug!("plan_cache_mode not set: {e}");
                }
                Ok(())
            }
        }
    }
}

impl CustomizeConnection<DbConnection, diesel::r2d2::Error> for ConnectionSetup {
    fn on_acquire(&self, conn: &mut DbConnection) -> Result<(), diesel::r2d2::Error> {
        self.apply(conn).map_err(diesel::r2d2::Error::QueryError)
    }
}

/// Takes `table`'s write lock as the transaction's first statement, so that a concurrent writer
/// waits (SQLite: busy timeout) instead of failing when the transaction upgrades from reading to
/// writing. SQLite: any write statement takes the database's write lock, even one that changes
/// nothing. PostgreSQL: a table lock that blocks other writers of the table, not its readers.
pub(crate) fn lock_for_write(conn: &mut DbConnection, table: &'static str) -> QueryResult<()> {
    let statement = match conn {
        DbConnection::Sqlite(_) => format!("DELETE FROM {table} WHERE 1 = 0"),
        DbConnection::Postgres(_) => format!("LOCK TABLE {table} IN SHARE ROW EXCLUSIVE MODE"),
    };
    diesel::sql_query(statement).execute(conn).map(drop)
}

/// Serialises the transactions that may change one user, and only those: the login sync and the
/// records it writes. `keys` are the values the sync looks the user up by (see
/// `users::identity_lock_keys`); `holds_write_lock` says whether the transaction has written
/// already (then SQLite holds its write lock).
///
/// SQLite: the database's write lock (one writer at a time anyway), taken by a write that
/// changes nothing unless the transaction holds it already; it must come before the
/// transaction's reads. PostgreSQL: one transaction-scoped advisory lock per key, so that two
/// logins of one user wait for each other and logins of different users never do (a hash
/// collision only makes two of them wait). The keys are locked in ascending order, in one
/// statement whose select list PostgreSQL evaluates left to right, so two transactions never
/// wait for each other in opposite orders.
pub(crate) fn lock_identity(
    conn: &mut DbConnection,
    keys: &[String],
    holds_write_lock: bool,
) -> QueryResult<()> {
    match conn {
        DbConnection::Sqlite(_) if holds_write_lock => Ok(()),
        DbConnection::Sqlite(_) => lock_for_write(conn, "users"),
        DbConnection::Postgres(pg) => {
            let ids = advisory_ids(keys);
            if ids.is_empty() {
                return Ok(());
            }
            Prepared::<()>::new(
                format!("SELECT {}", advisory_lock_calls(ids.len())),
                ids.into_iter().map(Bind::BigInt).collect(),
            )
            .execute(pg)
            .map(drop)
        }
    }
}

/// The advisory lock ids of `keys`, ascending and without repeats: the order every
/// transaction takes them in.
pub(crate) fn advisory_ids(keys: &[String]) -> Vec<i64> {
    let mut ids: Vec<i64> = keys.iter().map(|key| advisory_key(key)).collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}

/// `pg_advisory_xact_lock(?), ...` for `count` ids, as a select list (evaluated left to right)
/// of a [`Prepared`] statement.
pub(crate) fn advisory_lock_calls(count: usize) -> String {
    vec!["pg_advisory_xact_lock(?)"; count].join(", ")
}

/// The advisory lock number of `key`: the first 8 bytes of SHA-256("fedbridge/" + key), so
/// that fedbridge's locks stay apart from any other application's on the same server.
pub(crate) fn advisory_key(key: &str) -> i64 {
    let digest = openssl::sha::sha256(format!("fedbridge/{key}").as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    i64::from_be_bytes(first)
}

/// The error of a migration run (diesel_migrations reports a boxed error).
pub(crate) type MigrationError = Box<dyn std::error::Error + Send + Sync>;

/// Applies every pending migration of the connection's backend. On SQLite the check and the
/// run happen under one write lock, on PostgreSQL under an advisory lock, so two processes (two
/// nodes) opening a new database at once do not both create the tables.
pub(crate) fn migrate(conn: &mut DbConnection) -> Result<(), MigrationError> {
    match conn {
        DbConnection::Sqlite(conn) => {
            if !conn.has_pending_migration(SQLITE_MIGRATIONS)? {
                return Ok(());
            }
            conn.immediate_transaction(|conn| {
                conn.run_pending_migrations(SQLITE_MIGRATIONS)
                    .map(drop)
                    .map_err(MigrationFailed)
            })
            .map_err(|e: MigrationFailed| e.0)
        }
        DbConnection::Postgres(conn) => {
            // Nodes starting together: one migrates while the others wait, then find nothing
            // pending. A session lock (diesel commits each migration on its own, and creates
            // its version table outside them), released on every path; a connection that dies
            // releases it too.
            let key = advisory_key("migrations");
            diesel::sql_query("SELECT pg_advisory_lock($1)")
                .bind::<diesel::sql_types::BigInt, _>(key)
                .execute(conn)?;
            let migrated = conn.run_pending_migrations(POSTGRES_MIGRATIONS).map(drop);
            let unlocked = diesel::sql_query("SELECT pg_advisory_unlock($1)")
                .bind::<diesel::sql_types::BigInt, _>(key)
                .execute(conn);
            migrated?;
            unlocked.map(drop).map_err(Into::into)
        }
    }
}

/// Carries a migration error out of a diesel transaction (whose error type must come from
/// diesel's).
struct MigrationFailed(MigrationError);

impl From<diesel::result::Error> for MigrationFailed {
    fn from(error: diesel::result::Error) -> Self {
        MigrationFailed(Box::new(error))
    }
}
