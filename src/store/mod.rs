//! Storage: one store, two dialects. The backend is chosen from the database URL.
//!
//! Queries are written once with `$n` placeholders (both SQLite and PostgreSQL accept
//! them) and run against whichever pool is live through [`on_read!`] and [`in_write_tx!`].
//! Where the dialects differ (the no-overlap guarantee) the code matches on [`Db`].
//!
//! Every write is one transaction: `BEGIN IMMEDIATE` on SQLite (a deferred `BEGIN` fails
//! with "database is locked" when it upgrades under concurrent writers), a plain `BEGIN`
//! on PostgreSQL. Single bookings on PostgreSQL are inserted together with whatever others
//! are waiting, in one autocommit statement ([`pg_batch`]). On SQLite the hot path leaves sqlx: single bookings are written through
//! [`group_commit`] (one thread, many requests per transaction, each in a savepoint, answered
//! after COMMIT), and the reads every booking makes run inline through [`direct_read`]. Every
//! other SQLite write goes through a sqlx pool of one connection; other reads use their own.

pub mod accounts;
pub mod bookings;
pub mod catalog;
pub(crate) mod catalog_cache;
/// The tables the catalog cache reads (each bumps `catalog_version` on every change).
#[doc(hidden)]
pub use catalog_cache::TABLES as CATALOG_TABLES;
pub mod checkin;
pub(crate) mod dialect;
pub(crate) mod direct_read;
pub(crate) mod group_commit;
pub(crate) mod grouped;
pub mod jobs;
pub mod ledger;
pub mod log;
pub(crate) mod login_cache;
pub mod organisations;
pub mod outbox;
pub(crate) mod pg_batch;
pub mod registers;
pub mod reports;
pub mod rollup;
pub mod schemes;
pub mod settings;
pub mod trainings;
pub(crate) mod types;
pub mod waitlist;
pub mod witness;

pub use group_commit::WriteError;
pub use login_cache::Forget;
/// For the tests of the login cache, which wait on its generation.
#[doc(hidden)]
pub use login_cache::LoginCache;

use crate::config::{Config, DatabaseTarget};
use sqlx::Connection;
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};
use std::str::FromStr;
use std::time::Duration;

pub static SQLITE_MIGRATOR: Migrator = sqlx::migrate!("migrations/sqlite");
pub static POSTGRES_MIGRATOR: Migrator = sqlx::migrate!("migrations/postgres");

/// The name of the no-double-booking guarantee, in both dialects (constraint / trigger error).
pub const NO_OVERLAP: &str = "booking_no_overlap";

/// How long a SQLite writer waits for another's write lock before it gives up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// How much of a SQLite file the hot-path connections (the group writer and the inline
/// readers) map into memory: a page that is not in the WAL is then mapped, not copied.
const MMAP_BYTES: i64 = 1 << 30;

/// A connection to the database of this node.
#[derive(Clone, Debug)]
pub enum Db {
    /// `writer` runs the hot single-statement writes (bookings) with group commit; `write`
    /// (one connection) runs every other write transaction. Both take SQLite's write lock
    /// with `BEGIN IMMEDIATE`, so they take turns.
    /// `direct` runs the hot reads (token, maker facts) inline, without sqlx's hand-off.
    Sqlite {
        write: SqlitePool,
        read: SqlitePool,
        writer: group_commit::GroupWriter,
        direct: std::sync::Arc<direct_read::DirectReader>,
        /// This node's copy of the Merkle tree's right edge ([`ledger::TreeEdge`]).
        edge: std::sync::Arc<ledger::TreeEdge>,
    },
    Postgres {
        /// Everything but the hot statements (lists with optional filters keep custom plans).
        pool: PgPool,
        /// The batch writer for single bookings ([`pg_batch`]), on the hot pool.
        batcher: pg_batch::Batcher,
        /// The grouped session reads ([`accounts::LoginReader`]), on the hot pool.
        sessions: accounts::LoginReader,
        /// The grouped maker's-facts reads ([`bookings::FactsReader`]), on the hot pool.
        facts: bookings::FactsReader,
        /// Connections with generic plans, for the statements every booking runs (the
        /// session, the maker's facts and the grouped insert). With custom plans PostgreSQL
        /// planned those again on every execution: the planner was the largest part of its
        /// CPU per booking.
        hot: PgPool,
        /// The sessions this node has read, forgotten when the database notifies a change
        /// ([`login_cache`]).
        login_cache: std::sync::Arc<login_cache::LoginCache>,
        /// One connection of its own, listening for those notifications.
        listener: PgPool,
        /// This node's copy of the Merkle tree's right edge ([`ledger::TreeEdge`]).
        edge: std::sync::Arc<ledger::TreeEdge>,
    },
}

/// Errors of the storage layer.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("row not found")]
    NotFound,
    /// The database refused a booking that would overlap a live one on the same unit.
    #[error("the unit is already booked for an overlapping interval")]
    Overlap,
    #[error("unique constraint violated: {0}")]
    Unique(String),
    #[error("referenced row does not exist: {0}")]
    ForeignKey(String),
    /// Text the database cannot hold (a NUL character, on PostgreSQL).
    #[error("text the database cannot store: {0}")]
    BadText(String),
    /// PostgreSQL gave up on the transaction (deadlock, serialization failure): running it
    /// again is safe and will see what the other transaction committed.
    #[error("transaction must be retried: {0}")]
    Retry(String),
    #[error("cannot connect to database {target}")]
    Connect { target: String, source: sqlx::Error },
    #[error("database migration failed")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("cannot create data directory {path}")]
    DataDir { path: String, source: std::io::Error },
    #[error("database error: {0}")]
    Db(sqlx::Error),
    /// A stored structure does not hold together (the Merkle log's tree): a bug or damage.
    #[error("damaged store: {0}")]
    Corrupt(String),
    /// A statement on SQLite's direct paths (group writer, inline reads) failed for a
    /// reason other than the above.
    #[error("database error: {0}")]
    Direct(group_commit::WriteError),
}

impl From<group_commit::WriteError> for StoreError {
    fn from(e: group_commit::WriteError) -> Self {
        use rusqlite::ffi;
        if let group_commit::WriteError::Sqlite(rusqlite::Error::SqliteFailure(code, message)) = &e {
            let message = message.as_deref().unwrap_or_default();
            if message.contains(NO_OVERLAP) {
                return StoreError::Overlap;
            }
            match code.extended_code {
                ffi::SQLITE_CONSTRAINT_UNIQUE | ffi::SQLITE_CONSTRAINT_PRIMARYKEY => {
                    return StoreError::Unique(message.to_owned());
                }
                ffi::SQLITE_CONSTRAINT_FOREIGNKEY => return StoreError::ForeignKey(message.to_owned()),
                _ => {}
            }
        }
        StoreError::Direct(e)
    }
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        match e {
            rusqlite::Error::QueryReturnedNoRows => StoreError::NotFound,
            e => group_commit::WriteError::Sqlite(e).into(),
        }
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::RowNotFound => StoreError::NotFound,
            sqlx::Error::Database(d) => {
                let message = d.message();
                if d.constraint() == Some(NO_OVERLAP) || message.contains(NO_OVERLAP) {
                    StoreError::Overlap
                } else if d.is_unique_violation() {
                    StoreError::Unique(d.constraint().unwrap_or(message).to_owned())
                } else if matches!(d.code().as_deref(), Some("40P01" | "40001")) {
                    StoreError::Retry(message.to_owned())
                } else if matches!(d.code().as_deref(), Some("22021" | "22P05")) {
                    // PostgreSQL stores no NUL character (U+0000) in text; SQLite would.
                    StoreError::BadText(message.to_owned())
                } else if d.is_foreign_key_violation() {
                    StoreError::ForeignKey(d.constraint().unwrap_or(message).to_owned())
                } else {
                    StoreError::Db(e)
                }
            }
            _ => StoreError::Db(e),
        }
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Runs `$body` with `$p` bound to the read pool of whichever backend is live.
#[macro_export]
macro_rules! on_read {
    ($db:expr, |$p:ident| $body:expr) => {
        match $db {
            $crate::store::Db::Sqlite { read: $p, .. } => $body,
            $crate::store::Db::Postgres { pool: $p, .. } => $body,
        }
    };
}

/// Runs `$body` inside one write transaction bound to `$tx`, and commits it. An early
/// return with `?` drops the transaction, which rolls it back.
#[macro_export]
macro_rules! in_write_tx {
    ($db:expr, |$tx:ident| $body:expr) => {
        match $db {
            $crate::store::Db::Sqlite { write, .. } => {
                #[allow(unused_mut)]
                let mut $tx = write.begin_with("BEGIN IMMEDIATE").await?;
                let out = $body;
                $tx.commit().await?;
                out
            }
            $crate::store::Db::Postgres { pool, .. } => {
                #[allow(unused_mut)]
                let mut $tx = pool.begin().await?;
                let out = $body;
                $tx.commit().await?;
                out
            }
        }
    };
}

/// [`in_write_tx!`] for a change of the catalog: after the commit, this node forgets its kept
/// sessions at once, since each carries the catalog's stamp (other nodes are told by the
/// database; see [`login_cache`]).
#[macro_export]
macro_rules! in_catalog_tx {
    ($db:expr, |$tx:ident| $body:expr) => {{
        let out = $crate::in_write_tx!($db, |$tx| $body);
        $db.forget_logins($crate::store::login_cache::Forget::All);
        out
    }};
}

impl Db {
    /// Connects to the configured database. Does not migrate; see [`Db::migrate`].
    ///
    /// # Errors
    /// [`StoreError::Connect`] naming the (redacted) target when it cannot be reached.
    pub async fn connect(config: &Config) -> StoreResult<Db> {
        match &config.database {
            DatabaseTarget::Sqlite(path) => {
                if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir)
                        .map_err(|source| StoreError::DataDir { path: dir.display().to_string(), source })?;
                }
                let options = SqliteConnectOptions::new()
                    .filename(path)
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    // FULL: an acknowledged booking survives power loss, not only a crash.
                    .synchronous(SqliteSynchronous::Full)
                    .foreign_keys(true)
                    .busy_timeout(BUSY_TIMEOUT);
                let connect_err = |source| StoreError::Connect { target: config.database.redacted(), source };
                let write = SqlitePoolOptions::new()
                    .max_connections(1)
                    .min_connections(1)
                    .connect_with(options.clone())
                    .await
                    .map_err(connect_err)?;
                let read = SqlitePoolOptions::new()
                    .max_connections(config.db_max_connections.clamp(1, 64))
                    .connect_with(options)
                    .await
                    .map_err(connect_err)?;
                // The sqlx connection above created the file; the writer opens the same one.
                let writer = group_commit::GroupWriter::start(path, BUSY_TIMEOUT).map_err(|e| StoreError::Connect {
                    target: config.database.redacted(),
                    source: sqlx::Error::Configuration(Box::new(e)),
                })?;
                let direct = std::sync::Arc::new(direct_read::DirectReader::new(path, BUSY_TIMEOUT));
                Ok(Db::Sqlite { write, read, writer, direct, edge: std::sync::Arc::default() })
            }
            DatabaseTarget::Postgres(url) => {
                let redacted = config.database.redacted();
                let options = PgConnectOptions::from_str(url)
                    .map_err(|source| StoreError::Connect { target: redacted.clone(), source })?;
                // One direct attempt first: a pool that cannot connect only reports that it
                // timed out, while this names the cause ("Connection refused", bad password).
                let probe = tokio::time::timeout(Duration::from_secs(10), PgConnection::connect_with(&options))
                    .await
                    .map_err(|_| StoreError::Connect { target: redacted.clone(), source: sqlx::Error::PoolTimedOut })?
                    .map_err(|source| StoreError::Connect { target: redacted.clone(), source })?;
                let _ = probe.close().await;
                let hot_options = options.clone().options([("plan_cache_mode", "force_generic_plan")]);
                let pool = PgPoolOptions::new()
                    .max_connections(config.db_max_connections)
                    .acquire_timeout(Duration::from_secs(5))
                    .connect_with(options.clone())
                    .await
                    .map_err(|source| StoreError::Connect { target: redacted.clone(), source })?;
                let listener = PgPoolOptions::new()
                    .max_connections(1)
                    .max_lifetime(None)
                    .idle_timeout(None)
                    .acquire_timeout(Duration::from_secs(5))
                    .connect_lazy_with(options.clone());
                let hot = PgPoolOptions::new()
                    .max_connections(config.db_max_connections)
                    .acquire_timeout(Duration::from_secs(5))
                    .connect_with(hot_options)
                    .await
                    .map_err(|source| StoreError::Connect { target: redacted, source })?;
                let batcher = pg_batch::Batcher::start(hot.clone());
                let sessions = accounts::LoginReader::start(hot.clone());
                let facts = bookings::FactsReader::start(&hot);
                let login_cache = std::sync::Arc::new(login_cache::LoginCache::default());
                Ok(Db::Postgres {
                    pool,
                    batcher,
                    sessions,
                    facts,
                    hot,
                    login_cache,
                    listener,
                    edge: std::sync::Arc::default(),
                })
            }
        }
    }

    /// On PostgreSQL, starts listening for changes of sessions, after which this node keeps
    /// the sessions it reads ([`login_cache`]); a second call does nothing. A server calls
    /// it; a one-off command need not, and then reads every session from the database.
    pub fn listen_for_login_changes(&self) {
        if let Db::Postgres { login_cache, listener, .. } = self {
            login_cache.start(listener);
        }
    }

    /// How this backend spells what the two write differently ([`dialect`]).
    pub(crate) fn dialect(&self) -> dialect::Dialect {
        match self {
            Db::Sqlite { .. } => dialect::Dialect::Sqlite,
            Db::Postgres { .. } => dialect::Dialect::Postgres,
        }
    }

    pub fn backend(&self) -> &'static str {
        match self {
            Db::Sqlite { .. } => "sqlite",
            Db::Postgres { .. } => "postgres",
        }
    }

    fn migrator(&self) -> &'static Migrator {
        match self {
            Db::Sqlite { .. } => &SQLITE_MIGRATOR,
            Db::Postgres { .. } => &POSTGRES_MIGRATOR,
        }
    }

    /// Applies the embedded migrations. On PostgreSQL, sqlx holds an advisory lock while it
    /// migrates, so nodes that start at the same moment take turns instead of colliding.
    ///
    /// # Errors
    /// [`StoreError::Migrate`].
    pub async fn migrate(&self) -> StoreResult<()> {
        match self {
            Db::Sqlite { write, .. } => SQLITE_MIGRATOR.run(write).await?,
            Db::Postgres { pool, .. } => POSTGRES_MIGRATOR.run(pool).await?,
        }
        Ok(())
    }

    /// The newest migration embedded in this binary.
    pub fn expected_schema_version(&self) -> i64 {
        self.migrator().iter().map(|m| m.version).max().unwrap_or(0)
    }

    /// The newest migration applied to the database, if the database answers.
    ///
    /// # Errors
    /// [`StoreError::Db`] when the database does not answer.
    pub async fn applied_schema_version(&self) -> StoreResult<Option<i64>> {
        let v: Option<i64> = on_read!(self, |p| {
            sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations WHERE success = TRUE").fetch_one(p).await?
        });
        Ok(v)
    }

    /// Writes one row through the write path and nothing else: the ceiling the booking
    /// benchmark compares itself with.
    ///
    /// # Errors
    /// Database errors.
    pub async fn bench_insert(&self, key: &str) -> StoreResult<()> {
        // The same shape as a booking insert: one statement through the group writer
        // (SQLite), one statement on the pool (PostgreSQL).
        const SQL: &str = "INSERT INTO settings (key, value) VALUES ($1, '')";
        static SQLITE_SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| sqlite_numbered(SQL));
        match self {
            Db::Sqlite { writer, .. } => {
                let key = key.to_owned();
                writer.run(move |c| c.prepare_cached(&SQLITE_SQL)?.execute([key]).map(|_| ())).await?;
            }
            Db::Postgres { pool, .. } => sqlx::query(SQL).bind(key).execute(pool).await.map(|_| ())?,
        }
        Ok(())
    }

    /// Closes every connection, waiting for those in use to be returned.
    pub async fn close(&self) {
        match self {
            Db::Sqlite { write, read, .. } => {
                read.close().await;
                write.close().await;
            }
            Db::Postgres { pool, hot, listener, .. } => {
                listener.close().await;
                hot.close().await;
                pool.close().await;
            }
        }
    }
}

/// One statement in both dialects, built once. The SQLite
/// text is for rusqlite, with [`sqlite_numbered`] placeholders.
pub(crate) struct TwoDialects {
    pub sqlite: String,
    pub postgres: String,
}

impl TwoDialects {
    pub(crate) fn new(build: impl Fn(dialect::Dialect) -> String) -> TwoDialects {
        TwoDialects {
            sqlite: sqlite_numbered(&build(dialect::Dialect::Sqlite)),
            postgres: build(dialect::Dialect::Postgres),
        }
    }

    /// The text for `db`'s backend (sqlx reads SQLite's `?n` as parameter n too).
    pub(crate) fn of(&self, db: &Db) -> &str {
        match db {
            Db::Sqlite { .. } => &self.sqlite,
            Db::Postgres { .. } => &self.postgres,
        }
    }
}

/// `sql` with its `$n` placeholders written `?n` for rusqlite. SQLite reads `$9` as a *named*
/// parameter and numbers named parameters in order of appearance (sqlx binds them by name);
/// `?9` is parameter 9 wherever it appears, so positional binding is right.
pub(crate) fn sqlite_numbered(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '$' && chars.peek().is_some_and(char::is_ascii_digit) {
            out.push('?');
        } else {
            out.push(c);
        }
    }
    out
}

/// A fresh UUIDv7 id as text: time-ordered, so indexes stay compact, and not guessable.
/// Reads intervals that SQL aggregated as `from:until,from:until,…` (`group_concat` /
/// `string_agg`: one row instead of one per booking). An empty or absent list is none.
///
/// # Errors
/// [`StoreError::Db`] for a pair that is not an interval.
pub fn parse_interval_list(list: Option<&str>) -> StoreResult<Vec<crate::domain::interval::Interval>> {
    list.unwrap_or_default()
        .split(',')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            pair.split_once(':')
                .and_then(|(a, b)| crate::domain::interval::Interval::new(a.parse().ok()?, b.parse().ok()?).ok())
                .ok_or_else(|| StoreError::Db(sqlx::Error::Protocol(format!("bad blocked interval {pair:?}"))))
        })
        .collect()
}

pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

#[cfg(test)]
mod tests {
    #[test]
    fn numbered_placeholders_keep_their_number_wherever_they_appear() {
        assert_eq!(
            super::sqlite_numbered("SELECT CASE WHEN $9 THEN $2 END FROM t WHERE a = $1 AND b = $10 AND c = $1"),
            "SELECT CASE WHEN ?9 THEN ?2 END FROM t WHERE a = ?1 AND b = ?10 AND c = ?1"
        );
        assert_eq!(super::sqlite_numbered("SELECT '$x', $ FROM t"), "SELECT '$x', $ FROM t");
    }
}
