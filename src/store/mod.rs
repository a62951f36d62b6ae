//! The database: diesel over SQLite (the embedded default, one file) or PostgreSQL (several
//! nodes), one code base for both through [`connection::DbConnection`].
//!
//! [`Store::open`] picks the backend from the URL, creates and migrates the database, and keeps
//! a pool of connections. Each table or aggregate has its own file with the queries on it
//! (`configuration.rs` for `CONFIGURATIONENTITY`, `idp_metadata.rs` for the metadata cache,
//! `users.rs` for users, groups and memberships). The store keeps strings and numbers; what a
//! setting means is `config`'s business, never the store's. Every multi-row write is one
//! transaction.

mod configuration;
pub mod connection;
mod directory;
mod durability;
mod error;
mod idp_metadata;
mod login_state;
mod nodes;
pub mod schema;
mod sessions;
mod signing_keys;
#[cfg(test)]
pub(crate) mod testing;
mod users;

use std::ops::{Deref, DerefMut};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use diesel::r2d2::{Pool, PooledConnection};

pub use self::configuration::{ConfigRows, RowChange};
pub use self::connection::{Backend, Location};
use self::connection::{ConnectionSetup, Manager};
pub use self::directory::{AuditEntry, GroupChangeRefused, GroupSummary, UserDetail, UserSummary};
use self::durability::GroupCommit;
pub use self::error::StoreError;
pub use self::idp_metadata::CachedMetadata;
pub use self::login_state::{ClaimLost, OutstandingRequest, UsedAssertion, UsedMessages};
pub use self::nodes::NodeRecord;
pub use self::sessions::{
    AUDIT_PURGE_BATCH, CompleteLoginError, CountedRefusals, LoginAudit, LoginRecord, SessionRecord,
};
pub use self::signing_keys::SigningKeyError;
pub use self::users::{SyncOutcome, UserRecord};

/// The default database: an SQLite file in the working directory.
pub const DEFAULT_DATABASE: &str = "fedbridge.db";

/// How long an SQLite connection waits for another writer before giving up ("locked").
pub const DEFAULT_BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// How to open a database; [`OpenOptions::default`] is what the commands use.
#[derive(Debug, Clone)]
pub struct OpenOptions {
    /// SQLite: how long to wait for a lock held by another connection.
    pub busy_timeout: Duration,
    /// Most connections kept open at once.
    pub max_connections: u32,
    /// How long to wait for a free connection from the pool.
    pub connection_timeout: Duration,
}

impl Default for OpenOptions {
    fn default() -> OpenOptions {
        OpenOptions {
            busy_timeout: DEFAULT_BUSY_TIMEOUT,
            max_connections: 8,
            connection_timeout: Duration::from_secs(10),
        }
    }
}

/// An open, migrated database and its connection pool. Cheap to clone (the pool is shared).
#[derive(Clone)]
pub struct Store {
    pool: Pool<Manager>,
    location: Location,
    busy_timeout: Duration,
    write_gate: Arc<Mutex<()>>,
    group_commit: Arc<GroupCommit>,
}

/// A connection for a write, holding this process's SQLite write gate (see [`Store::writer`]).
pub(crate) struct Writer<'a> {
    conn: PooledConnection<Manager>,
    _gate: Option<MutexGuard<'a, ()>>,
}

impl Deref for Writer<'_> {
    type Target = connection::DbConnection;

    fn deref(&self) -> &Self::Target {
        &self.conn
    }
}

impl DerefMut for Writer<'_> {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.conn
    }
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("database", &self.location.to_string())
            .finish_non_exhaustive()
    }
}

impl Store {
    /// Opens the database at `url` (see [`Location::parse`]) with the default options: creates
    /// an SQLite file that does not exist yet and applies every pending migration.
    pub fn open(url: &str) -> Result<Store, StoreError> {
        Store::open_with(url, &OpenOptions::default())
    }

    /// [`Store::open`] with explicit options.
    pub fn open_with(url: &str, options: &OpenOptions) -> Result<Store, StoreError> {
        let location = Location::parse(url);
        location.check_before_open()?;
        let group_commit = match &location {
            Location::Sqlite(path) => GroupCommit::for_sqlite(&path.to_string_lossy()),
            Location::Postgres(_) => GroupCommit::EveryCommit,
        };
        let setup = ConnectionSetup {
            busy_timeout: options.busy_timeout,
            synchronous: group_commit.synchronous(),
        };
        let manager = Manager::new(location.clone());
        // One connection first, outside the pool: its error says exactly what is wrong (r2d2
        // would retry until its timeout and then report only the last error), and it migrates.
        let mut first = manager
            .establish()
            .map_err(|e| StoreError::from_connection(&location, &e, options.busy_timeout))?;
        setup
            .apply(&mut first)
            .map_err(|e| StoreError::from_query(&location, &e, options.busy_timeout))?;
        connection::migrate(&mut first)
            .map_err(|e| StoreError::from_migration(&location, e.as_ref(), options.busy_timeout))?;
        drop(first);
        let pool = Pool::builder()
            // A PostgreSQL connection may have been dropped by the server: pinged before use.
            // An SQLite connection is a file handle: the ping would be one more statement on
            // every checkout, inside the write gate too.
            .test_on_check_out(location.backend() == Backend::Postgres)
            .max_size(options.max_connections.max(1))
            .min_idle(Some(0))
            .connection_timeout(options.connection_timeout)
            .connection_customizer(Box::new(setup))
            .build_unchecked(manager);
        Ok(Store {
            pool,
            location,
            busy_timeout: options.busy_timeout,
            write_gate: Arc::new(Mutex::new(())),
            group_commit: Arc::new(group_commit),
        })
    }

    /// Where the database is (for messages: a PostgreSQL URL is shown without its password).
    pub fn location(&self) -> &Location {
        &self.location
    }

    /// The backend in use.
    pub fn backend(&self) -> Backend {
        self.location.backend()
    }

    /// A connection from the pool.
    pub(crate) fn conn(&self) -> Result<PooledConnection<Manager>, StoreError> {
        self.pool
            .get()
            .map_err(|e| StoreError::from_pool(&self.location, &e, self.busy_timeout))
    }

    /// A connection for a write. SQLite has one writer at a time: the writers of this process
    /// queue on an in-process gate first, so they wait for each other without the busy
    /// handler's growing sleeps (which made the slowest logins wait 100 ms and more), and only
    /// other processes (an sqlite3 shell, another command) meet the busy timeout. PostgreSQL
    /// needs no gate.
    pub(crate) fn writer(&self) -> Result<Writer<'_>, StoreError> {
        let gate = match self.backend() {
            Backend::Sqlite => Some(
                self.write_gate
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner),
            ),
            Backend::Postgres => None,
        };
        Ok(Writer {
            conn: self.conn()?,
            _gate: gate,
        })
    }

    /// Runs the write `f` on a [`Writer`] (holding the write gate), releases it, and returns
    /// `f`'s value once the write is durable (see [`Store::durable`]).
    pub(crate) fn write<T, E: From<StoreError>>(
        &self,
        f: impl FnOnce(&mut Writer<'_>) -> Result<T, E>,
    ) -> Result<T, E> {
        let value = {
            let mut writer = self.writer()?;
            f(&mut writer)?
        };
        self.durable()?;
        Ok(value)
    }

    /// Returns once every write this process committed before the call is on disk (see
    /// `durability`): every write method calls it before it returns.
    pub(crate) fn durable(&self) -> Result<(), StoreError> {
        self.group_commit
            .wait_durable()
            .map_err(|e| StoreError::Query {
                database: self.location.to_string(),
                detail: format!("cannot sync the write-ahead log: {e}"),
            })
    }

    /// A query error, said with the database's name.
    pub(crate) fn query_error(&self, error: &diesel::result::Error) -> StoreError {
        StoreError::from_query(&self.location, error, self.busy_timeout)
    }
}

#[cfg(test)]
mod tests;
