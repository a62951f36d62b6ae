//! The database: diesel over SQLite (the embedded default, one file) or PostgreSQL (several
//! nodes), one code base for both through [`connection::DbConnection`].
//!
//! [`Store::open`] picks the backend from the URL, creates and migrates the database, and keeps
//! a pool of connections. Each table or aggregate has its own file with the queries on it
//! (`configuration.rs` for `CONFIGURATIONENTITY`, `idp_metadata.rs` for the metadata cache,
//! `users.rs` for users, groups and memberships). The store keeps strings and numbers; what a
//! setting means is `config`'s business, never the store's. Every multi-row write is one
//! transaction.

mod admin;
mod configuration;
pub mod connection;
mod directory;
mod durability;
mod error;
mod idp_metadata;
mod login_state;
mod nodes;
mod prepared;
pub mod schema;
mod sessions;
mod signing_keys;
#[cfg(test)]
pub(crate) mod testing;
mod users;

use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use diesel::r2d2::{Pool, PooledConnection};

pub use self::admin::{AdminSessionRecord, AuditFilter, AuditRecord, GroupMembers, SessionInfo};
pub use self::configuration::{ConfigRows, RowChange};
pub use self::connection::{Backend, Location};
use self::connection::{ConnectionSetup, Manager};
pub use self::directory::{
    AuditEntry, ExternalIdRefused, GroupChangeRefused, GroupSummary, UserDetail, UserSummary,
};
use self::durability::GroupCommit;
pub use self::error::StoreError;
pub use self::idp_metadata::CachedMetadata;
pub use self::login_state::{
    ClaimLost, NewRequest, OutstandingRequest, Purpose, UsedAssertion, UsedMessages,
};
pub use self::nodes::NodeRecord;
pub use self::sessions::{
    AUDIT_PURGE_BATCH, CompleteLoginError, CountedRefusals, LoginAudit, LoginRecord, SessionRecord,
};
pub use self::signing_keys::{SigningKeyError, SigningKeyInfo};
pub use self::users::{DryRun, SyncOutcome, UserRecord};
use crate::metrics::Histogram;

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
    /// Swapped for a new pool by [`Store::reopen`]; connections out keep the old one alive.
    pool: Arc<ArcSwap<Pool<Manager>>>,
    /// What a new pool is made of.
    pool_recipe: Arc<PoolRecipe>,
    location: Location,
    busy_timeout: Duration,
    /// `FEDBRIDGE_DATABASE_WAIT` in milliseconds (see [`Store::set_wait`]).
    wait_ms: Arc<AtomicU64>,
    write_gate: Arc<parking_lot::Mutex<()>>,
    group_commit: Arc<GroupCommit>,
    wait_times: Arc<Histogram>,
    health: Arc<Mutex<WriteHealth>>,
    last_reopen: Arc<Mutex<Option<Instant>>>,
}

/// How to build the connection pool (again).
#[derive(Debug)]
struct PoolRecipe {
    setup: ConnectionSetup,
    max_connections: u32,
    connection_timeout: Duration,
}

/// How the writes of this process went lately: what readiness reports.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WriteHealth {
    /// When a write last committed.
    pub last_ok: Option<Instant>,
    /// The last failed write: when, the kind ([`StoreError::kind`]) and the message.
    pub last_failure: Option<(Instant, &'static str, String)>,
}

impl WriteHealth {
    /// Whether writes work: one committed within `max_age` of `now`, and none failed since.
    pub fn writable(&self, now: Instant, max_age: Duration) -> bool {
        let Some(ok) = self.last_ok else {
            return false;
        };
        let recent = now.saturating_duration_since(ok) <= max_age;
        let failed_since = self
            .last_failure
            .as_ref()
            .is_some_and(|(at, _, _)| *at > ok);
        recent && !failed_since
    }
}

/// An error a write returns: the database's own failure, when it is one (the write health
/// counts it; a refusal of the write's own logic does not).
pub(crate) trait WriteError: From<StoreError> {
    /// The database failure inside, if any.
    fn store_error(&self) -> Option<&StoreError>;
}

impl WriteError for StoreError {
    fn store_error(&self) -> Option<&StoreError> {
        Some(self)
    }
}

impl WriteError for CompleteLoginError {
    fn store_error(&self) -> Option<&StoreError> {
        match self {
            CompleteLoginError::Store(e) => Some(e),
            _ => None,
        }
    }
}

impl WriteError for SigningKeyError {
    fn store_error(&self) -> Option<&StoreError> {
        match self {
            SigningKeyError::Store(e) => Some(e),
            _ => None,
        }
    }
}

/// How soon connections may be replaced again (see [`Store::reopen`]).
pub const REOPEN_INTERVAL: Duration = Duration::from_secs(2);

/// A connection for a write, holding this process's SQLite write gate (see [`Store::writer`]).
pub(crate) struct Writer<'a> {
    conn: PooledConnection<Manager>,
    _gate: Option<parking_lot::MutexGuard<'a, ()>>,
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
        let recipe = PoolRecipe {
            setup,
            max_connections: options.max_connections.max(1),
            connection_timeout: options.connection_timeout,
        };
        let pool = recipe.build(&location);
        Ok(Store {
            pool: Arc::new(ArcSwap::from_pointee(pool)),
            pool_recipe: Arc::new(recipe),
            location,
            busy_timeout: options.busy_timeout,
            wait_ms: Arc::new(AtomicU64::new(
                u64::try_from(options.busy_timeout.as_millis()).unwrap_or(u64::MAX),
            )),
            write_gate: Arc::new(parking_lot::Mutex::new(())),
            group_commit: Arc::new(group_commit),
            wait_times: Arc::new(Histogram::default()),
            health: Arc::new(Mutex::new(WriteHealth::default())),
            last_reopen: Arc::new(Mutex::new(None)),
        })
    }

    /// How long a write waits for the database from now on (`FEDBRIDGE_DATABASE_WAIT`): this
    /// process's writers' queue, a free connection and another process's lock together.
    pub fn set_wait(&self, wait: Duration) {
        let ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX).max(1);
        self.wait_ms.store(ms, Ordering::Relaxed);
    }

    /// The wait in force (see [`Store::set_wait`]).
    pub fn wait(&self) -> Duration {
        Duration::from_millis(self.wait_ms.load(Ordering::Relaxed))
    }

    /// How the writes of this process went lately.
    pub fn write_health(&self) -> WriteHealth {
        self.health
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Replaces every connection with new ones (lazily made), at most once per
    /// [`REOPEN_INTERVAL`]: SQLite opens a file it cannot write read-only without saying so
    /// and never upgrades that connection, so once the permissions (or the file) are fixed
    /// only new connections write. Connections in use finish on the old pool. Returns whether
    /// it replaced them.
    pub fn reopen(&self) -> bool {
        {
            let mut last = self
                .last_reopen
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            if last.is_some_and(|at| at.elapsed() < REOPEN_INTERVAL) {
                return false;
            }
            *last = Some(Instant::now());
        }
        self.pool
            .store(Arc::new(self.pool_recipe.build(&self.location)));
        true
    }

    /// Where the database is (for messages: a PostgreSQL URL is shown without its password).
    pub fn location(&self) -> &Location {
        &self.location
    }

    /// The backend in use.
    pub fn backend(&self) -> Backend {
        self.location.backend()
    }

    /// How long callers waited for a connection (and, on SQLite, for the write gate): the
    /// `fedbridge_database_wait_seconds` histogram.
    pub fn wait_histogram(&self) -> Arc<Histogram> {
        self.wait_times.clone()
    }

    /// A connection from the pool.
    pub(crate) fn conn(&self) -> Result<PooledConnection<Manager>, StoreError> {
        let started = Instant::now();
        let conn = self.pool_conn();
        self.wait_times.observe(started.elapsed());
        conn
    }

    fn pool_conn(&self) -> Result<PooledConnection<Manager>, StoreError> {
        self.pool
            .load()
            .get()
            .map_err(|e| StoreError::from_pool(&self.location, &e, self.busy_timeout))
    }

    /// A connection for a write, within [`Store::wait`]. SQLite has one writer at a time: the
    /// writers of this process queue on an in-process gate first, so they wait for each other
    /// without the busy handler's growing sleeps (which made the slowest logins wait 100 ms
    /// and more), and only other processes (an sqlite3 shell, another command) meet the busy
    /// timeout, set to what is left of the wait. PostgreSQL needs no gate. Past the wait:
    /// [`StoreError::Busy`] (or `Locked`), and the caller answers at once instead of piling up.
    pub(crate) fn writer(&self) -> Result<Writer<'_>, StoreError> {
        let started = Instant::now();
        let wait = self.wait();
        let deadline = Instant::now() + wait;
        let busy = |what: &'static str| StoreError::Busy {
            database: self.location.to_string(),
            waited_ms: wait.as_millis(),
            detail: what,
        };
        let gate = match self.backend() {
            Backend::Sqlite => Some(
                self.write_gate
                    .try_lock_until(deadline)
                    .ok_or_else(|| busy("this node's other writes were ahead"))?,
            ),
            Backend::Postgres => None,
        };
        let left = deadline
            .saturating_duration_since(Instant::now())
            .max(Duration::from_millis(1));
        let conn = self
            .pool
            .load()
            .get_timeout(left)
            .map_err(|_| busy("no connection was free"));
        self.wait_times.observe(started.elapsed());
        let mut conn = conn?;
        if let connection::DbConnection::Sqlite(sqlite) = &mut *conn {
            let left = deadline
                .saturating_duration_since(Instant::now())
                .max(Duration::from_millis(1));
            diesel::connection::SimpleConnection::batch_execute(
                sqlite,
                &format!("PRAGMA busy_timeout = {}", left.as_millis()),
            )
            .map_err(|e| StoreError::from_query(&self.location, &e, left))?;
        }
        Ok(Writer { conn, _gate: gate })
    }

    /// Runs the write `f` on a [`Writer`] (holding the write gate), releases it, and returns
    /// `f`'s value once the write is durable (see [`Store::durable`]). The outcome goes into
    /// the write health; a failure that new connections may cure replaces them.
    pub(crate) fn write<T, E: WriteError>(
        &self,
        f: impl FnOnce(&mut Writer<'_>) -> Result<T, E>,
    ) -> Result<T, E> {
        let outcome: Result<T, E> = (|| {
            let value = {
                let mut writer = self.writer()?;
                f(&mut writer)?
            };
            self.durable()?;
            Ok(value)
        })();
        match &outcome {
            Ok(_) => self.note_write(None),
            Err(error) => {
                if let Some(failure) = error.store_error() {
                    self.note_write(Some(failure));
                }
            }
        }
        outcome
    }

    /// Records a write's outcome; replaces the connections after a failure that needs it.
    fn note_write(&self, failure: Option<&StoreError>) {
        let now = Instant::now();
        {
            let mut health = self.health.lock().unwrap_or_else(PoisonError::into_inner);
            match failure {
                None => health.last_ok = Some(now),
                Some(error) => health.last_failure = Some((now, error.kind(), error.to_string())),
            }
        }
        if failure.is_some_and(StoreError::needs_new_connections) && self.reopen() {
            tracing::info!(
                database = %self.location,
                "the database connections were replaced after a failed write"
            );
        }
    }

    /// Returns once every write this process committed before the call is on disk (see
    /// `durability`): every write method calls it before it returns.
    pub(crate) fn durable(&self) -> Result<(), StoreError> {
        self.group_commit.wait_durable().map_err(|e| {
            let detail = format!("cannot sync the write-ahead log: {e}");
            if e.raw_os_error() == Some(28) {
                StoreError::Full {
                    database: self.location.to_string(),
                    detail,
                }
            } else {
                StoreError::Io {
                    database: self.location.to_string(),
                    detail,
                }
            }
        })
    }

    /// A query error, said with the database's name.
    pub(crate) fn query_error(&self, error: &diesel::result::Error) -> StoreError {
        StoreError::from_query(&self.location, error, self.busy_timeout)
    }
}

impl PoolRecipe {
    /// A lazy pool: connections are made on first use, each set up by [`ConnectionSetup`].
    fn build(&self, location: &Location) -> Pool<Manager> {
        Pool::builder()
            // A PostgreSQL connection may have been dropped by the server: checked before use
            // (see `Manager::is_valid`). An SQLite connection is a file handle: a check would be
            // one more statement on every checkout, inside the write gate too.
            .test_on_check_out(location.backend() == Backend::Postgres)
            .max_size(self.max_connections)
            .min_idle(Some(0))
            .connection_timeout(self.connection_timeout)
            .connection_customizer(Box::new(self.setup.clone()))
            .build_unchecked(Manager::new(location.clone()))
    }
}

#[cfg(test)]
mod tests;
