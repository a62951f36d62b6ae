//! What can go wrong with the database, said so that an administrator knows which database and
//! what to do. The detail of the driver is kept; passwords never appear (see `Location`).

use std::time::Duration;

use diesel::ConnectionError;

use crate::store::Location;
use crate::store::connection::Backend;

/// A database that cannot be opened or used.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The SQLite file's directory does not exist (SQLite creates the file, not directories).
    #[error(
        "cannot create the SQLite database {database}: the directory {directory} does not exist \
         (create it first, or point --database / FEDBRIDGE_DATABASE at an existing directory)"
    )]
    MissingDirectory {
        /// The database as given.
        database: String,
        /// The missing directory.
        directory: String,
    },
    /// A directory was given where the database file belongs.
    #[error(
        "{database} is a directory, not an SQLite database file (give a file path such as \
         {database}/fedbridge.db)"
    )]
    IsADirectory {
        /// The database as given.
        database: String,
    },
    /// The file exists but is not an SQLite database.
    #[error(
        "{database} is not an SQLite database file (wrong --database? fedbridge creates the \
         database itself when the file does not exist)"
    )]
    NotADatabase {
        /// The database as given.
        database: String,
    },
    /// Another connection held a lock for longer than the busy timeout.
    #[error(
        "the SQLite database {database} is locked: another process kept it busy for more than \
         {waited_ms} ms (a long transaction in an sqlite3 shell?); try again once it ends"
    )]
    Locked {
        /// The database as given.
        database: String,
        /// How long we waited.
        waited_ms: u128,
    },
    /// The file or its directory cannot be written by this user.
    #[error(
        "the SQLite database {database} cannot be written: {detail} (check the permissions of \
         the file, of its -wal and -shm files, and of the directory)"
    )]
    ReadOnly {
        /// The database as given.
        database: String,
        /// SQLite's message.
        detail: String,
    },
    /// The PostgreSQL server cannot be reached or refuses the connection.
    #[error("cannot connect to the PostgreSQL database {database}: {detail}")]
    Unreachable {
        /// The URL without password.
        database: String,
        /// The server's or libpq's message.
        detail: String,
    },
    /// Any other failure to open the database.
    #[error("cannot open the database {database}: {detail}")]
    Open {
        /// The database as given.
        database: String,
        /// The driver's message.
        detail: String,
    },
    /// The migrations cannot be applied.
    #[error("cannot bring the database {database} up to date (migrations): {detail}")]
    Migration {
        /// The database as given.
        database: String,
        /// The driver's message.
        detail: String,
    },
    /// The disk (or the file system) holding the database is full.
    #[error(
        "the database {database} cannot grow: the disk is full ({detail}); free some space, \
         fedbridge picks up again by itself"
    )]
    Full {
        /// The database as given.
        database: String,
        /// The driver's message.
        detail: String,
    },
    /// The database could not be reached within `FEDBRIDGE_DATABASE_WAIT`: this node's writers
    /// queue, or no connection was free.
    #[error("the database {database} did not answer within {waited_ms} ms ({detail})")]
    Busy {
        /// The database as given.
        database: String,
        /// How long we waited.
        waited_ms: u128,
        /// What we waited for.
        detail: &'static str,
    },
    /// The operating system reported an I/O error (a failing disk, a file removed or replaced).
    #[error("the database {database} has an I/O error: {detail}")]
    Io {
        /// The database as given.
        database: String,
        /// The driver's or the system's message.
        detail: String,
    },
    /// A query failed.
    #[error("database {database}: {detail}")]
    Query {
        /// The database as given.
        database: String,
        /// The driver's message.
        detail: String,
    },
}

impl StoreError {
    /// A short, stable name of the kind of failure (logs, health, de-duplication).
    pub fn kind(&self) -> &'static str {
        match self {
            StoreError::MissingDirectory { .. } => "missing_directory",
            StoreError::IsADirectory { .. } => "is_a_directory",
            StoreError::NotADatabase { .. } => "not_a_database",
            StoreError::Locked { .. } => "locked",
            StoreError::ReadOnly { .. } => "read_only",
            StoreError::Unreachable { .. } => "unreachable",
            StoreError::Open { .. } => "open",
            StoreError::Migration { .. } => "migration",
            StoreError::Full { .. } => "full",
            StoreError::Busy { .. } => "busy",
            StoreError::Io { .. } => "io",
            StoreError::Query { .. } => "query",
        }
    }

    /// Whether the connections may be stuck in this state (SQLite falls back to a read-only
    /// connection and never upgrades it; a replaced file keeps failing): new connections are
    /// needed once the cause is fixed (see `Store::reopen`).
    pub fn needs_new_connections(&self) -> bool {
        matches!(
            self,
            StoreError::ReadOnly { .. } | StoreError::Open { .. } | StoreError::Io { .. }
        )
    }

    pub(crate) fn from_connection(
        location: &Location,
        error: &ConnectionError,
        busy_timeout: Duration,
    ) -> StoreError {
        let detail = match error {
            ConnectionError::BadConnection(message) => message.trim().to_owned(),
            other => other.to_string(),
        };
        StoreError::cannot_connect(location, detail, busy_timeout)
    }

    pub(crate) fn from_query(
        location: &Location,
        error: &diesel::result::Error,
        busy_timeout: Duration,
    ) -> StoreError {
        let detail = match error {
            diesel::result::Error::DatabaseError(_, info) => info.message().to_owned(),
            other => other.to_string(),
        };
        classify(location, detail, busy_timeout, |database, detail| {
            StoreError::Query { database, detail }
        })
    }

    pub(crate) fn from_migration(
        location: &Location,
        error: &(dyn std::error::Error + Send + Sync + 'static),
        busy_timeout: Duration,
    ) -> StoreError {
        let detail = match error.downcast_ref::<diesel::result::Error>() {
            Some(diesel::result::Error::DatabaseError(_, info)) => info.message().to_owned(),
            _ => error.to_string(),
        };
        classify(location, detail, busy_timeout, |database, detail| {
            StoreError::Migration { database, detail }
        })
    }

    pub(crate) fn from_pool(
        location: &Location,
        error: &diesel::r2d2::PoolError,
        busy_timeout: Duration,
    ) -> StoreError {
        StoreError::cannot_connect(location, error.to_string(), busy_timeout)
    }

    /// No connection: a PostgreSQL server out of reach, or an SQLite file that cannot be opened.
    fn cannot_connect(location: &Location, detail: String, busy_timeout: Duration) -> StoreError {
        match location.backend() {
            Backend::Postgres => StoreError::Unreachable {
                database: location.to_string(),
                detail,
            },
            Backend::Sqlite => classify(location, detail, busy_timeout, |database, detail| {
                StoreError::Open { database, detail }
            }),
        }
    }
}

fn lower_contains(text: &str, needle: &str) -> bool {
    text.to_ascii_lowercase().contains(needle)
}

/// Turns SQLite's well-known messages into the errors that say what to do; anything else
/// becomes `otherwise(database, detail)`.
fn classify(
    location: &Location,
    detail: String,
    busy_timeout: Duration,
    otherwise: impl FnOnce(String, String) -> StoreError,
) -> StoreError {
    let database = location.to_string();
    if location.backend() == Backend::Sqlite {
        let lower = detail.to_ascii_lowercase();
        if lower.contains("database is locked") || lower.contains("database table is locked") {
            return StoreError::Locked {
                database,
                waited_ms: busy_timeout.as_millis(),
            };
        }
        if lower.contains("file is not a database") || lower.contains("file is encrypted") {
            return StoreError::NotADatabase { database };
        }
        if lower.contains("readonly database") || lower.contains("read-only") {
            return StoreError::ReadOnly { database, detail };
        }
        if lower.contains("database or disk is full") || lower.contains("no space left") {
            return StoreError::Full { database, detail };
        }
        if lower.contains("disk i/o error") || lower.contains("cannot sync") {
            return StoreError::Io { database, detail };
        }
    }
    if lower_contains(&detail, "timed out waiting for connection") {
        return StoreError::Busy {
            database,
            waited_ms: busy_timeout.as_millis(),
            detail: "no connection was free",
        };
    }
    otherwise(database, detail)
}
