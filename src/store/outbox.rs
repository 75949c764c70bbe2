//! The outbox: messages (webhooks of access events, reminder e-mail) queued in the database
//! so that once queued they survive a restart, claimed for a lease by whichever node sends
//! them, and retried with backoff.

use super::{Db, StoreResult, new_id};
use crate::domain::ids::AccountId;
use crate::{in_write_tx, on_read};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OutboxRow {
    pub id: String,
    pub account_id: Option<AccountId>,
    pub kind: String,
    pub payload: String,
    pub attempts: i64,
}

impl Db {
    /// Queues a message for delivery at `due_at`.
    ///
    /// # Errors
    /// Database errors.
    pub async fn enqueue(
        &self,
        account: Option<&AccountId>,
        kind: &str,
        payload: &str,
        due_at: i64,
        now: i64,
    ) -> StoreResult<()> {
        in_write_tx!(self, |tx| {
            sqlx::query(
                "INSERT INTO outbox (id, account_id, kind, payload, due_at, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(new_id())
            .bind(account)
            .bind(kind)
            .bind(payload)
            .bind(due_at)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        });
        Ok(())
    }

    /// Claims up to `limit` due messages of `kind` for `lease_ms` (a node that dies while
    /// sending lets them come due again), counting the attempt.
    ///
    /// # Errors
    /// Database errors.
    pub async fn claim_outbox(&self, kind: &str, now: i64, lease_ms: i64, limit: i64) -> StoreResult<Vec<OutboxRow>> {
        Ok(in_write_tx!(self, |tx| {
            sqlx::query_as(
                "UPDATE outbox SET due_at = $2, attempts = attempts + 1 WHERE id IN (SELECT id FROM outbox \
                 WHERE sent_at IS NULL AND due_at <= $1 AND kind = $4 ORDER BY due_at LIMIT $3) \
                 AND sent_at IS NULL AND due_at <= $1 RETURNING id, account_id, kind, payload, attempts",
            )
            .bind(now)
            .bind(now + lease_ms)
            .bind(limit)
            .bind(kind)
            .fetch_all(&mut *tx)
            .await?
        }))
    }

    /// Records the outcome of one delivery attempt: sent, or failed and due again at `retry_at`
    /// (`None`: give up).
    ///
    /// # Errors
    /// Database errors.
    pub async fn outbox_done(&self, id: &str, now: i64, error: Option<&str>, retry_at: Option<i64>) -> StoreResult<()> {
        in_write_tx!(self, |tx| {
            match error {
                None => {
                    sqlx::query("UPDATE outbox SET sent_at = $2, last_error = NULL WHERE id = $1").bind(id).bind(now)
                }
                Some(e) => sqlx::query("UPDATE outbox SET last_error = $2, due_at = $3 WHERE id = $1")
                    .bind(id)
                    .bind(e)
                    .bind(retry_at.unwrap_or(i64::MAX)),
            }
            .execute(&mut *tx)
            .await?;
        });
        Ok(())
    }

    /// Outbox messages of a kind: (payload, sent_at, attempts, last_error), oldest first.
    ///
    /// # Errors
    /// Database errors.
    pub async fn outbox_of(&self, kind: &str) -> StoreResult<Vec<(String, Option<i64>, i64, Option<String>)>> {
        Ok(on_read!(self, |p| {
            sqlx::query_as(
                "SELECT payload, sent_at, attempts, last_error FROM outbox WHERE kind = $1 ORDER BY created_at, id",
            )
            .bind(kind)
            .fetch_all(p)
            .await?
        }))
    }
}
