//! Many concurrent requests answered by one PostgreSQL statement: the queue and the worker
//! loop that the grouped statements share (the booking insert of [`super::pg_batch`], the
//! session read of [`super::accounts`]).
//!
//! A statement has a fixed price in PostgreSQL whatever it reads or writes (the protocol
//! messages, a snapshot, executor start-up, for a write the commit and its WAL flush). Under
//! load the requests that are waiting at one moment share one statement and pay that price
//! once; a request that arrives alone is sent alone, without waiting for company.

use super::{StoreError, StoreResult};
use std::future::Future;
use std::sync::Arc;
use tokio::sync::{Mutex, mpsc, oneshot};

/// A request of a grouped statement: what it asks, and where its answer goes.
pub(crate) type Job<A, R> = (A, oneshot::Sender<StoreResult<R>>);

/// A handle on the workers of one grouped statement; cheap to clone. The workers stop when
/// every handle is dropped.
pub(crate) struct Grouped<J> {
    queue: mpsc::UnboundedSender<J>,
}

impl<J> Clone for Grouped<J> {
    fn clone(&self) -> Self {
        Grouped { queue: self.queue.clone() }
    }
}

impl<J> std::fmt::Debug for Grouped<J> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Grouped").finish_non_exhaustive()
    }
}

impl<J: Send + 'static> Grouped<J> {
    /// Starts `workers` tasks on the current runtime. Each takes every job that is waiting
    /// (at least one, at most `max`) and hands them to `run` together; so at most `workers`
    /// statements are in flight at once.
    pub(crate) fn start<F, Fut>(workers: usize, max: usize, run: F) -> Grouped<J>
    where
        F: Fn(Vec<J>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let (queue, rx) = mpsc::unbounded_channel::<J>();
        let rx = Arc::new(Mutex::new(rx));
        let run = Arc::new(run);
        for _ in 0..workers {
            let (rx, run) = (rx.clone(), run.clone());
            tokio::spawn(async move {
                loop {
                    let mut group = Vec::with_capacity(max);
                    {
                        let mut rx = rx.lock().await;
                        let Some(first) = rx.recv().await else { return };
                        group.push(first);
                        while group.len() < max {
                            match rx.try_recv() {
                                Ok(j) => group.push(j),
                                Err(_) => break,
                            }
                        }
                    }
                    run(group).await;
                }
            });
        }
        Grouped { queue }
    }

    /// Queues `job`; `Err` gives it back when the workers are gone (the node is stopping).
    pub(crate) fn send(&self, job: J) -> Result<(), J> {
        self.queue.send(job).map_err(|e| e.0)
    }
}

impl<A: Send + 'static, R: Send + 'static> Grouped<Job<A, R>> {
    /// Queues `args` with the next group and waits for its answer.
    ///
    /// # Errors
    /// The statement's own errors; `PoolClosed` when the workers are gone.
    pub(crate) async fn ask(&self, args: A) -> StoreResult<R> {
        let (tx, rx) = oneshot::channel();
        self.send((args, tx)).map_err(|_| StoreError::Db(sqlx::Error::PoolClosed))?;
        rx.await.map_err(|_| StoreError::Db(sqlx::Error::PoolClosed))?
    }
}

/// The rows of a grouped read, each in the slot of the request it answers: `position` is the
/// 1-based `WITH ORDINALITY` number a row carries; a request no row answers keeps `None`.
pub(crate) fn by_position<T>(requests: usize, rows: impl IntoIterator<Item = (i64, T)>) -> Vec<Option<T>> {
    let mut found: Vec<Option<T>> = (0..requests).map(|_| None).collect();
    for (position, row) in rows {
        if let Some(slot) = usize::try_from(position - 1).ok().and_then(|k| found.get_mut(k)) {
            *slot = Some(row);
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::{Grouped, by_position};

    #[test]
    fn rows_go_to_the_request_they_answer_and_strays_are_dropped() {
        let placed = by_position(4, [(3, "c"), (1, "a"), (9, "stray"), (0, "stray")]);
        assert_eq!(placed, [Some("a"), None, Some("c"), None]);
    }
    use tokio::sync::oneshot;

    #[tokio::test]
    async fn every_job_is_run_once_in_groups_no_larger_than_the_limit() {
        type Job = (u32, oneshot::Sender<usize>);
        // Each job is answered with the size of the group it ran in.
        let g: Grouped<Job> = Grouped::start(2, 8, |group: Vec<Job>| async move {
            tokio::task::yield_now().await;
            let n = group.len();
            for (_, reply) in group {
                let _ = reply.send(n);
            }
        });
        let mut waiting = Vec::new();
        for i in 0..100 {
            let (tx, rx) = oneshot::channel();
            assert!(g.send((i, tx)).is_ok());
            waiting.push(rx);
        }
        let mut sizes = Vec::new();
        for rx in waiting {
            sizes.push(rx.await.expect("every job is answered"));
        }
        assert!(sizes.iter().all(|n| (1..=8).contains(n)), "{sizes:?}");
        // 100 jobs queued at once cannot all have run alone.
        assert!(sizes.iter().any(|n| *n > 1), "{sizes:?}");
    }
}
