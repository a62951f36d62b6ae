//! Group commit for SQLite: every write is on disk before its caller goes on, with one `fsync`
//! shared by all the writes that committed meanwhile.
//!
//! SQLite in WAL mode with `synchronous = FULL` syncs the WAL file at every commit, and the
//! commits of one database are serial: at about 0.13 ms per sync on this kind of disk, the
//! syncs alone would cap a node at a few thousand logins per second, and they hold the write
//! lock while they wait. Instead, connections commit with `synchronous = NORMAL` (the WAL is
//! written but not synced; the database stays consistent after any crash), and every write
//! method then calls [`GroupCommit::wait_durable`]: the first caller syncs the WAL file for
//! everyone who committed before the sync started, the others wait for that sync (or the next
//! one). No write is reported done before it is durable, as with `FULL`.
//!
//! When the WAL file's path cannot be known (an SQLite `file:` URI), connections use `FULL`
//! and [`GroupCommit`] does nothing.

use std::path::PathBuf;
use std::sync::{Condvar, Mutex, PoisonError};

/// The `synchronous` setting connections of this store use, and the syncing it needs.
#[derive(Debug)]
pub(crate) enum GroupCommit {
    /// SQLite syncs at every commit (`FULL`), or the backend is PostgreSQL: nothing to do.
    EveryCommit,
    /// Commits are `NORMAL`; writers wait for a shared sync of the WAL file.
    Shared {
        /// `<database>-wal`.
        wal: PathBuf,
        /// Tickets handed out and synced.
        state: Mutex<Tickets>,
        /// Signalled when a sync ends.
        synced: Condvar,
    },
}

/// The bookkeeping of [`GroupCommit::Shared`].
#[derive(Debug, Default)]
pub(crate) struct Tickets {
    /// The last ticket handed out (one per write that waits).
    issued: u64,
    /// Every ticket up to this one is durable.
    durable: u64,
    /// A sync is under way.
    syncing: bool,
    /// Syncs done (fewer than tickets when writers shared them).
    syncs: u64,
}

impl GroupCommit {
    /// Group commit for the SQLite database at `database` (a file path), or syncing at every
    /// commit when the path is a `file:` URI.
    pub(crate) fn for_sqlite(database: &str) -> GroupCommit {
        if database.starts_with("file:") {
            return GroupCommit::EveryCommit;
        }
        GroupCommit::Shared {
            wal: PathBuf::from(format!("{database}-wal")),
            state: Mutex::new(Tickets::default()),
            synced: Condvar::new(),
        }
    }

    /// The `synchronous` pragma value connections use.
    pub(crate) fn synchronous(&self) -> &'static str {
        match self {
            GroupCommit::EveryCommit => "FULL",
            GroupCommit::Shared { .. } => "NORMAL",
        }
    }

    /// Returns once every write committed before this call is on disk.
    pub(crate) fn wait_durable(&self) -> std::io::Result<()> {
        let GroupCommit::Shared { wal, state, synced } = self else {
            return Ok(());
        };
        let lock = || state.lock().unwrap_or_else(PoisonError::into_inner);
        let mut tickets = lock();
        tickets.issued += 1;
        let ticket = tickets.issued;
        loop {
            if tickets.durable >= ticket {
                return Ok(());
            }
            if tickets.syncing {
                tickets = synced.wait(tickets).unwrap_or_else(PoisonError::into_inner);
                continue;
            }
            // This caller syncs for every ticket issued so far: their commits all returned
            // before their tickets were taken, so their frames are in the WAL file now.
            tickets.syncing = true;
            let covered = tickets.issued;
            drop(tickets);
            let outcome = sync_file(wal);
            tickets = lock();
            tickets.syncing = false;
            if outcome.is_ok() {
                tickets.durable = tickets.durable.max(covered);
                tickets.syncs += 1;
            }
            synced.notify_all();
            outcome?;
        }
    }
}

/// `fdatasync` of the WAL file. No WAL file means no frames waiting: SQLite checkpointed them
/// into the database (and synced it) and removed the file when its last connection closed.
fn sync_file(path: &std::path::Path) -> std::io::Result<()> {
    match std::fs::File::open(path) {
        Ok(file) => file.sync_data(),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(error) => Err(error),
    }
}

#[cfg(test)]
mod tests;
