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

/// Answers every request of a group. When the group's statement gave `rows`, each row goes to
/// the request of its position (see [`by_position`]) and `found` makes the answer of a slot.
/// When the statement failed (a lost connection, or one request's arguments that PostgreSQL
/// refused), each request is asked `alone`, in turn, and gets its own answer or error: one
/// request's failure is not the whole group's.
pub(crate) async fn answer<A, R, T, Alone, Fut>(
    group: Vec<Job<A, R>>,
    rows: Result<Vec<(i64, T)>, sqlx::Error>,
    found: impl Fn(Option<T>) -> StoreResult<R>,
    alone: Alone,
) where
    Alone: Fn(A) -> Fut,
    Fut: Future<Output = StoreResult<R>>,
{
    match rows {
        Ok(rows) => {
            let slots = by_position(group.len(), rows);
            for ((_, reply), slot) in group.into_iter().zip(slots) {
                let _ = reply.send(found(slot));
            }
        }
        Err(error) => {
            tracing::warn!(%error, requests = group.len(), "a grouped statement failed; each request asks alone");
            for (args, reply) in group {
                let _ = reply.send(alone(args).await);
            }
        }
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
    use super::{Grouped, Job, answer, by_position};
    use crate::store::{StoreError, StoreResult};

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

    /// Runs `answer` on jobs 1..=4 and returns what each was answered.
    async fn answered(rows: Result<Vec<(i64, u32)>, sqlx::Error>) -> (Vec<StoreResult<u32>>, Vec<u32>) {
        let mut group: Vec<Job<u32, u32>> = Vec::new();
        let mut replies = Vec::new();
        for args in 1..=4 {
            let (tx, rx) = oneshot::channel();
            group.push((args, tx));
            replies.push(rx);
        }
        let asked_alone = std::sync::Mutex::new(Vec::new());
        answer(
            group,
            rows,
            |slot| slot.ok_or(StoreError::NotFound),
            |args| {
                asked_alone.lock().unwrap().push(args);
                // Alone, request 3 fails and the others are answered ten times their number.
                async move { if args == 3 { Err(StoreError::NotFound) } else { Ok(args * 10) } }
            },
        )
        .await;
        let mut out = Vec::new();
        for rx in replies {
            out.push(rx.await.expect("every request is answered"));
        }
        (out, asked_alone.into_inner().unwrap())
    }

    #[tokio::test]
    async fn a_group_whose_statement_worked_is_answered_from_its_rows() {
        let (out, alone) = answered(Ok(vec![(2, 200), (1, 100), (4, 400)])).await;
        assert!(alone.is_empty(), "nobody asks alone: {alone:?}");
        assert!(matches!(out[0], Ok(100)) && matches!(out[1], Ok(200)) && matches!(out[3], Ok(400)), "{out:?}");
        assert!(matches!(out[2], Err(StoreError::NotFound)), "no row for request 3: {:?}", out[2]);
    }

    #[tokio::test]
    async fn when_the_group_statement_fails_each_request_asks_alone_and_gets_its_own_answer() {
        let (out, alone) = answered(Err(sqlx::Error::PoolTimedOut)).await;
        assert_eq!(alone, [1, 2, 3, 4]);
        assert!(matches!(out[0], Ok(10)) && matches!(out[1], Ok(20)) && matches!(out[3], Ok(40)), "{out:?}");
        assert!(matches!(out[2], Err(StoreError::NotFound)), "only request 3 fails: {:?}", out[2]);
    }
}
