//! The SQLite writer with group commit: one thread owns the write connection and runs many
//! requests in one `BEGIN IMMEDIATE` transaction.
//!
//! Why: with one transaction per request, every booking waits for its own WAL fsync
//! (`synchronous = FULL`), and sqlx's SQLite driver hands every statement to its connection
//! thread and back. Here a request is a closure that runs on the writer thread itself, with
//! no hand-off per statement; the thread takes whatever requests are waiting (up to
//! [`MAX_BATCH`]), runs each inside its own SAVEPOINT (a failed request is rolled back to its
//! savepoint and does not disturb its neighbours), commits once, and only then answers every
//! request. An answer is therefore never given for a write that is not durable, and a crash
//! before COMMIT loses only requests that were not answered.
//!
//! The no-overlap trigger still decides inside the transaction, so the guarantee is the
//! database's, as on every other write path.
//!
//! Checkpoints (copying WAL pages back into the database file, and that file's fsync) do not
//! run on the writer thread, where SQLite's automatic checkpoint would run them inside a
//! batch's COMMIT and delay every answer of that batch: a second thread with its own
//! connection runs a PASSIVE checkpoint (it never blocks the writer or a reader) after
//! commits, at most every [`CHECKPOINT_PAUSE`].
//!
//! A PASSIVE checkpoint copies pages back but never restarts the WAL: only a write transaction
//! that begins when every frame is back in the database file (and no reader still reads an
//! older one) starts the log again from its beginning. Under sustained load the writer begins
//! its next batch the moment it answered the last, so that moment never came, and the WAL grew
//! without bound (3.3 GiB after a 40 s benchmark; every read that looks for a page the WAL does
//! not hold searches all of its index, so reads slowed as it grew). So when the checkpointer
//! finds the WAL longer than [`RESTART_FRAMES`], the writer — between two batches, after
//! answering, so no answer waits for it — runs a RESTART checkpoint: it copies the few frames
//! the checkpointer has not (nothing is written meanwhile) and waits for readers of older
//! frames to finish, so that the next `BEGIN IMMEDIATE` starts the log from its beginning.
//! That wait is bounded by [`RESTART_WAIT`], not by the connection's busy timeout: a reader
//! that is still busy then only means that a later batch tries again. `journal_size_limit`
//! trims the file when the log restarts.

use rusqlite::Connection;
use std::path::Path;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, mpsc};
use std::time::Duration;
use tokio::sync::oneshot;

/// Most requests committed together. Bounds the latency one batch adds to its first request.
pub const MAX_BATCH: usize = 128;

/// The least time between two checkpoints.
pub const CHECKPOINT_PAUSE: Duration = Duration::from_millis(25);

/// A WAL longer than this many frames (16 MiB of 4 KiB pages) is restarted by the writer.
pub const RESTART_FRAMES: i64 = 4096;

/// How long the writer waits for readers of old frames when it restarts the WAL.
const RESTART_WAIT: Duration = Duration::from_millis(10);

/// The WAL file is trimmed to this size when it restarts.
const WAL_SIZE_LIMIT: i64 = 64 << 20;

/// What a write through the group writer can end in.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// The request itself failed (its savepoint was rolled back; the others were not).
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
    /// The batch could not begin or commit: nothing of it was written.
    #[error("the write transaction failed: {0}")]
    Batch(String),
    /// The request panicked; it was rolled back.
    #[error("the write panicked")]
    Panicked,
    /// The writer thread is gone (the node is shutting down).
    #[error("the writer has stopped")]
    Stopped,
    /// The writer thread could not be started.
    #[error("cannot start the writer thread: {0}")]
    Start(std::io::Error),
}

/// One request in a batch, type-erased so requests of any result type share the queue.
trait Task: Send {
    /// Runs the work; `true` when it succeeded (its savepoint is kept).
    fn run(&mut self, c: &Connection) -> bool;
    /// Answers the caller once the batch's fate is known (`commit` is its error, if any).
    fn answer(self: Box<Self>, commit: Option<&str>);
}

struct Request<T, F> {
    work: Option<F>,
    result: Option<Result<T, WriteError>>,
    reply: oneshot::Sender<Result<T, WriteError>>,
}

impl<T, F> Task for Request<T, F>
where
    T: Send,
    F: FnOnce(&Connection) -> rusqlite::Result<T> + Send,
{
    fn run(&mut self, c: &Connection) -> bool {
        let Some(work) = self.work.take() else { return false };
        let out = match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| work(c))) {
            Ok(r) => r.map_err(WriteError::from),
            Err(_) => Err(WriteError::Panicked),
        };
        let ok = out.is_ok();
        self.result = Some(out);
        ok
    }

    fn answer(self: Box<Self>, commit: Option<&str>) {
        let out = match (commit, self.result) {
            // A request that failed on its own says so, whatever became of the batch.
            (_, Some(Err(e))) => Err(e),
            (None, Some(ok)) => ok,
            (Some(e), _) => Err(WriteError::Batch(e.to_owned())),
            (None, None) => Err(WriteError::Batch("the request was not run".into())),
        };
        // The caller may have given up (timeout, disconnect): nothing to tell then.
        let _ = self.reply.send(out);
    }
}

/// A handle on the writer thread; cheap to clone. The thread stops when the last handle is
/// dropped, after finishing what it holds.
#[derive(Clone, Debug)]
pub struct GroupWriter {
    queue: mpsc::Sender<Box<dyn Task>>,
}

impl GroupWriter {
    /// Opens the write connection to `path` (the schema must exist) and starts its thread.
    ///
    /// # Errors
    /// When the file cannot be opened, the connection's settings cannot be applied or the
    /// thread cannot be started.
    pub fn start(path: &Path, busy_timeout: Duration) -> Result<GroupWriter, WriteError> {
        Self::start_with(path, busy_timeout, RESTART_FRAMES)
    }

    /// [`GroupWriter::start`], restarting the WAL past `restart_frames` frames.
    fn start_with(path: &Path, busy_timeout: Duration, restart_frames: i64) -> Result<GroupWriter, WriteError> {
        let conn = Connection::open(path)?;
        conn.busy_timeout(busy_timeout)?;
        // The same settings as the sqlx connections: WAL, FULL (an acknowledged booking
        // survives power loss), foreign keys enforced.
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", true)?;
        conn.pragma_update(None, "mmap_size", super::MMAP_BYTES)?;
        // Checkpoints are the checkpointer thread's (see the module doc).
        conn.pragma_update(None, "wal_autocheckpoint", 0)?;
        conn.pragma_update(None, "journal_size_limit", WAL_SIZE_LIMIT)?;
        conn.set_prepared_statement_cache_capacity(64);
        let checkpoints = Connection::open(path)?;
        checkpoints.busy_timeout(busy_timeout)?;
        // One pending nudge is enough: it means "there was a commit since the last checkpoint".
        let (nudge, nudged) = mpsc::sync_channel::<()>(1);
        // The WAL's length in frames as the checkpointer last saw it.
        let wal = Arc::new(AtomicI64::new(0));
        let seen = wal.clone();
        std::thread::Builder::new()
            .name("labinn-sqlite-checkpoint".into())
            .spawn(move || checkpoint_loop(&checkpoints, &nudged, &seen))
            .map_err(WriteError::Start)?;
        let (queue, rx) = mpsc::channel::<Box<dyn Task>>();
        std::thread::Builder::new()
            .name("labinn-sqlite-writer".into())
            .spawn(move || writer_loop(&conn, &rx, &nudge, &Restart { wal, frames: restart_frames, busy_timeout }))
            .map_err(WriteError::Start)?;
        Ok(GroupWriter { queue })
    }

    /// Runs `work` in the next batch and answers after that batch committed. `work` runs on
    /// the writer thread: it must only talk to the database, never block on anything else.
    ///
    /// # Errors
    /// See [`WriteError`].
    pub async fn run<T, F>(&self, work: F) -> Result<T, WriteError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let task: Box<dyn Task> = Box::new(Request { work: Some(work), result: None, reply });
        self.queue.send(task).map_err(|_| WriteError::Stopped)?;
        answer.await.map_err(|_| WriteError::Stopped)?
    }
}

/// When the writer restarts the WAL: `wal` is its length as last seen, `frames` the limit.
struct Restart {
    wal: Arc<AtomicI64>,
    frames: i64,
    /// The connection's busy timeout, set again after the restart's shorter one.
    busy_timeout: Duration,
}

fn writer_loop(conn: &Connection, rx: &mpsc::Receiver<Box<dyn Task>>, nudge: &mpsc::SyncSender<()>, restart: &Restart) {
    let mut batch: Vec<Box<dyn Task>> = Vec::with_capacity(MAX_BATCH);
    while let Ok(first) = rx.recv() {
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(t) => batch.push(t),
                Err(_) => break,
            }
        }
        let outcome = run_batch(conn, &mut batch);
        for task in batch.drain(..) {
            task.answer(outcome.as_ref().err().map(String::as_str));
        }
        // Full means a nudge is already waiting: nothing to add.
        let _ = nudge.try_send(());
        if restart.wal.load(Ordering::Relaxed) > restart.frames {
            // Between batches, after the answers (see the module doc). Until the checkpointer
            // looks again; if the log did not restart, it is still long then.
            restart.wal.store(0, Ordering::Relaxed);
            let restarted = conn
                .busy_timeout(RESTART_WAIT)
                .and_then(|()| conn.query_row("PRAGMA wal_checkpoint(RESTART)", [], |_| Ok(())))
                .and_then(|()| conn.busy_timeout(restart.busy_timeout));
            if let Err(e) = restarted {
                let _ = conn.busy_timeout(restart.busy_timeout);
                tracing::warn!(error = %e, "SQLite WAL restart failed; a later batch tries again");
            }
        }
    }
    // Dropping `nudge` on return stops the checkpointer after a last checkpoint.
}

/// Checkpoints after commits until the writer stops. PASSIVE copies what no reader still
/// needs and never waits for a lock, so neither the writer nor a reader waits for it.
/// Each checkpoint's row says how long the WAL is (`wal`, for the writer's restart).
fn checkpoint_loop(conn: &Connection, nudged: &mpsc::Receiver<()>, wal: &AtomicI64) {
    let checkpoint = || match conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| r.get::<_, i64>(1)) {
        Ok(frames) => wal.store(frames, Ordering::Relaxed),
        Err(e) => tracing::warn!(error = %e, "SQLite checkpoint failed; the next commit tries again"),
    };
    while nudged.recv().is_ok() {
        checkpoint();
        std::thread::sleep(CHECKPOINT_PAUSE);
    }
    checkpoint();
}

/// Runs every task of `batch` in one transaction; the error is the batch's (begin/commit).
fn run_batch(conn: &Connection, batch: &mut [Box<dyn Task>]) -> Result<(), String> {
    exec(conn, "BEGIN IMMEDIATE")?;
    for task in batch.iter_mut() {
        if let Err(e) = exec(conn, "SAVEPOINT request") {
            let _ = exec(conn, "ROLLBACK");
            return Err(e);
        }
        let kept = task.run(conn);
        let end = if kept { exec(conn, "RELEASE request") } else { rollback_to(conn) };
        if let Err(e) = end {
            let _ = exec(conn, "ROLLBACK");
            return Err(e);
        }
    }
    exec(conn, "COMMIT").inspect_err(|_| {
        let _ = exec(conn, "ROLLBACK");
    })
}

fn rollback_to(conn: &Connection) -> Result<(), String> {
    exec(conn, "ROLLBACK TO request")?;
    exec(conn, "RELEASE request")
}

fn exec(conn: &Connection, sql: &str) -> Result<(), String> {
    conn.prepare_cached(sql).and_then(|mut s| s.execute([])).map(|_| ()).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::OptionalExtension;

    fn writer() -> (tempfile::TempDir, GroupWriter) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.db");
        let c = Connection::open(&path).unwrap();
        c.execute_batch(
            "PRAGMA journal_mode = WAL; CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT NOT NULL); \
             CREATE TABLE total (n INTEGER NOT NULL); INSERT INTO total VALUES (0);",
        )
        .unwrap();
        drop(c);
        let w = GroupWriter::start(&path, Duration::from_secs(5)).unwrap();
        (dir, w)
    }

    fn count(dir: &tempfile::TempDir) -> i64 {
        let c = Connection::open(dir.path().join("w.db")).unwrap();
        c.query_row("SELECT COUNT(*) FROM t", [], |r| r.get(0)).unwrap()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_requests_commit_and_a_failed_one_leaves_its_neighbours_alone() {
        let (dir, w) = writer();
        let mut tasks = Vec::new();
        for i in 0..200_i64 {
            let w = w.clone();
            tasks.push(tokio::spawn(async move {
                // Every tenth request writes twice and then fails on a duplicate key: its
                // first write must be undone with it, and no other request may be lost.
                w.run(move |c| {
                    c.execute("UPDATE total SET n = n + 1", [])?;
                    c.execute("INSERT INTO t (k, v) VALUES (?1, 'x')", [i])?;
                    if i % 10 == 0 {
                        c.execute("INSERT INTO t (k, v) VALUES (?1, 'again')", [i])?;
                    }
                    Ok(i)
                })
                .await
            }));
        }
        let mut ok = 0;
        let mut failed = 0;
        for t in tasks {
            match t.await.unwrap() {
                Ok(_) => ok += 1,
                Err(WriteError::Sqlite(e)) => {
                    assert!(e.to_string().contains("UNIQUE"), "{e}");
                    failed += 1;
                }
                Err(e) => panic!("unexpected {e}"),
            }
        }
        assert_eq!((ok, failed), (180, 20));
        // Answered means committed: every success is on disk, no trace of a failure.
        assert_eq!(count(&dir), 180);
        let c = Connection::open(dir.path().join("w.db")).unwrap();
        let total: i64 = c.query_row("SELECT n FROM total", [], |r| r.get(0)).unwrap();
        assert_eq!(total, 180);
    }

    #[tokio::test]
    async fn commits_are_checkpointed_into_the_database_file_off_the_writer_thread() {
        let (dir, w) = writer();
        let file = dir.path().join("w.db");
        let before = std::fs::metadata(&file).unwrap().len();
        // About 2 MB of rows: only a checkpoint moves them from the WAL into the file, and
        // the writer's own connection no longer checkpoints.
        for k in 0..200_i64 {
            w.run(move |c| c.execute("INSERT INTO t (k, v) VALUES (?1, ?2)", rusqlite::params![k, "x".repeat(10_000)]))
                .await
                .unwrap();
        }
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while std::fs::metadata(&file).unwrap().len() < before + 1_000_000 {
            assert!(std::time::Instant::now() < deadline, "no checkpoint reached the database file");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(count(&dir), 200);
    }

    /// Under a write load that never pauses, with a reader reading all the while, the WAL is
    /// still restarted and trimmed: its file stays near the restart limit instead of growing
    /// with every commit.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_wal_is_restarted_under_a_load_that_never_pauses() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.db");
        let c = Connection::open(&path).unwrap();
        c.execute_batch("PRAGMA journal_mode = WAL; CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT NOT NULL);").unwrap();
        drop(c);
        // Restart past 64 frames (256 KiB).
        let w = GroupWriter::start_with(&path, Duration::from_secs(5), 64).unwrap();
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let reader = {
            let (path, stop) = (path.clone(), stop.clone());
            std::thread::spawn(move || {
                // Point reads, as the inline readers make.
                let r = Connection::open(&path).unwrap();
                let mut reads = 0_i64;
                while !stop.load(Ordering::Relaxed) {
                    let _: Option<String> =
                        r.query_row("SELECT v FROM t WHERE k = ?1", [reads % 32_000], |x| x.get(0)).optional().unwrap();
                    reads += 1;
                }
                reads
            })
        };
        // 32 writers back to back, 4,000 rows of 3 KB.
        let mut tasks = Vec::new();
        for t in 0..32_i64 {
            let w = w.clone();
            tasks.push(tokio::spawn(async move {
                for i in 0..125_i64 {
                    let k = t * 1_000 + i;
                    w.run(move |c| {
                        c.execute("INSERT INTO t (k, v) VALUES (?1, ?2)", rusqlite::params![k, "x".repeat(3_000)])
                    })
                    .await
                    .unwrap();
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        stop.store(true, Ordering::Relaxed);
        assert!(reader.join().unwrap() > 0);
        assert_eq!(count(&dir), 4_000);
        // Without restarts this load left a WAL of 65 MiB (measured with the limit set out of
        // reach); with them about 9 MiB: what is appended between two looks of the
        // checkpointer, plus a batch.
        let wal = std::fs::metadata(dir.path().join("w.db-wal")).map(|m| m.len()).unwrap_or(0);
        assert!(wal < 24 << 20, "the WAL grew to {wal} bytes");
    }

    #[tokio::test]
    async fn a_panicking_request_is_rolled_back_and_the_writer_goes_on() {
        let (dir, w) = writer();
        let r = w
            .run(|c| -> rusqlite::Result<()> {
                c.execute("INSERT INTO t (k, v) VALUES (1, 'x')", [])?;
                panic!("bug in a request")
            })
            .await;
        assert!(matches!(r, Err(WriteError::Panicked)), "{r:?}");
        w.run(|c| c.execute("INSERT INTO t (k, v) VALUES (2, 'y')", [])).await.unwrap();
        assert_eq!(count(&dir), 1);
    }
}
