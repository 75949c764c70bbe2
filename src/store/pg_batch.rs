//! Group insert for PostgreSQL bookings: concurrent single bookings are written as one
//! multi-row `INSERT … SELECT FROM unnest(…) ON CONFLICT DO NOTHING RETURNING id`.
//!
//! One statement, one commit and one WAL flush for many bookings. The exclusion constraint
//! still decides every row (a row that overlaps a live booking — or an earlier row of the same
//! batch — is skipped and its request answered `Overlap`). Rows are sent in unit order, so two
//! batches on two nodes wait for each other's units in the same order and cannot deadlock.
//! When the batch statement fails as a whole (a foreign key, a deadlock), its rows are written
//! one by one, so each request gets its own answer. Every request is answered after the
//! statement's commit.

use super::bookings::{INSERT_BOOKING, INSERT_BOOKINGS_UNNEST, OwnedBooking};
use super::grouped::Grouped;
use super::{StoreError, StoreResult};
use sqlx::PgPool;

/// Most bookings per statement.
const MAX_BATCH: usize = 64;
/// Statements in flight at once (each on its own pooled connection).
const WORKERS: usize = 2;

type Job = super::grouped::Job<OwnedBooking, ()>;

/// A handle on the batch writers of one pool; cheap to clone.
#[derive(Clone, Debug)]
pub struct Batcher {
    queue: Grouped<Job>,
}

impl Batcher {
    /// Starts the writers on the current runtime. They stop when every handle is dropped.
    #[must_use]
    pub fn start(pool: PgPool) -> Batcher {
        Batcher {
            queue: Grouped::start(WORKERS, MAX_BATCH, move |batch| {
                let pool = pool.clone();
                async move { write(&pool, batch).await }
            }),
        }
    }

    /// Inserts `row` with the next batch; answers after its commit.
    ///
    /// # Errors
    /// [`StoreError::Overlap`] when the unit is taken; database errors.
    pub(super) async fn insert(&self, row: OwnedBooking) -> StoreResult<()> {
        self.queue.ask(row).await
    }
}

async fn write(pool: &PgPool, mut batch: Vec<Job>) {
    // Unit order (stable, so the first request for a unit stays first): see the module doc.
    batch.sort_by(|a, b| a.0.unit_id.cmp(&b.0.unit_id));
    match insert_many(pool, &batch).await {
        Ok(inserted) => {
            for (row, reply) in batch {
                let _ = reply.send(if inserted.contains(&row.id) { Ok(()) } else { Err(StoreError::Overlap) });
            }
        }
        Err(_) => {
            for (row, reply) in batch {
                let _ = reply.send(insert_one(pool, &row).await);
            }
        }
    }
}

async fn insert_many(pool: &PgPool, batch: &[Job]) -> StoreResult<std::collections::HashSet<String>> {
    let col = |f: fn(&OwnedBooking) -> String| batch.iter().map(|(r, _)| f(r)).collect::<Vec<String>>();
    let num = |f: fn(&OwnedBooking) -> i64| batch.iter().map(|(r, _)| f(r)).collect::<Vec<i64>>();
    let ids: Vec<String> = sqlx::query_scalar(INSERT_BOOKINGS_UNNEST)
        .bind(col(|r| r.id.clone()))
        .bind(col(|r| r.unit_id.clone()))
        .bind(col(|r| r.resource_id.clone()))
        .bind(col(|r| r.space_id.clone()))
        .bind(col(|r| r.account_id.clone()))
        .bind(batch.iter().map(|(r, _)| r.organisation_id.clone()).collect::<Vec<Option<String>>>())
        .bind(col(|r| r.status.clone()))
        .bind(num(|r| r.span.start()))
        .bind(num(|r| r.span.end()))
        .bind(num(|r| r.blocked.start()))
        .bind(num(|r| r.blocked.end()))
        .bind(col(|r| r.purpose.clone()))
        .bind(col(|r| r.checkin_nonce.clone()))
        .bind(num(|r| r.now))
        .bind(col(|r| r.kind.clone()))
        .fetch_all(pool)
        .await?;
    Ok(ids.into_iter().collect())
}

async fn insert_one(pool: &PgPool, r: &OwnedBooking) -> StoreResult<()> {
    static SQL: std::sync::LazyLock<String> =
        std::sync::LazyLock::new(|| format!("{INSERT_BOOKING} ON CONFLICT DO NOTHING RETURNING id"));
    let id: Option<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(SQL.as_str()))
        .bind(&r.id)
        .bind(&r.unit_id)
        .bind(&r.resource_id)
        .bind(&r.space_id)
        .bind(&r.account_id)
        .bind(&r.organisation_id)
        .bind(&r.status)
        .bind(r.span.start())
        .bind(r.span.end())
        .bind(r.blocked.start())
        .bind(r.blocked.end())
        .bind(&r.purpose)
        .bind(&r.checkin_nonce)
        .bind(r.now)
        .bind(&r.kind)
        .fetch_optional(pool)
        .await?;
    id.map(|_| ()).ok_or(StoreError::Overlap)
}
