//! Hot SQLite reads run directly on the calling thread, without a hand-off.
//!
//! sqlx's SQLite driver gives every connection its own thread and passes each statement and
//! each row over a channel; on two cores those thread switches cost more than the reads.
//! The reads every booking makes (the session behind its token, the maker's facts and the
//! unit's blocks) are index lookups of a few microseconds in WAL mode, where readers never
//! wait for the writer, so they run here inline on a connection taken from a small idle list.
//! A connection is used by one caller at a time; the list only grows to the number of threads
//! that read at once (the runtime's worker threads) and keeps at most [`MAX_IDLE`].

use rusqlite::{Connection, OpenFlags};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

/// Most idle connections kept.
const MAX_IDLE: usize = 16;

/// Read-only connections to one SQLite file, used inline.
#[derive(Debug)]
pub struct DirectReader {
    path: PathBuf,
    busy_timeout: Duration,
    idle: Mutex<Vec<Connection>>,
}

impl DirectReader {
    #[must_use]
    pub fn new(path: &Path, busy_timeout: Duration) -> DirectReader {
        DirectReader { path: path.to_owned(), busy_timeout, idle: Mutex::new(Vec::new()) }
    }

    fn open(&self) -> rusqlite::Result<Connection> {
        let c = Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX | OpenFlags::SQLITE_OPEN_URI,
        )?;
        c.busy_timeout(self.busy_timeout)?;
        // A read transaction that follows a commit starts with an empty page cache (WAL
        // mode), so every page it needs is fetched again: mapped, not copied, where the
        // page is in the database file.
        c.pragma_update(None, "mmap_size", super::MMAP_BYTES)?;
        c.set_prepared_statement_cache_capacity(32);
        Ok(c)
    }

    /// Runs `f` on an idle read connection (opening one when none is idle). `f` must only
    /// read: it runs on the caller's thread and should take microseconds.
    ///
    /// # Errors
    /// What opening the connection or `f` returns.
    pub fn read<T>(&self, f: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> rusqlite::Result<T> {
        let taken = self.idle.lock().unwrap_or_else(PoisonError::into_inner).pop();
        let conn = match taken {
            Some(c) => c,
            None => self.open()?,
        };
        let out = f(&conn);
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        if idle.len() < MAX_IDLE {
            idle.push(conn);
        }
        out
    }
}
