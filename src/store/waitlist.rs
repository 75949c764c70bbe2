//! The waitlist, and makers' notifications.

use super::{Db, StoreResult, new_id};
use crate::domain::booking::WaitStatus;
use crate::domain::ids::{AccountId, BookingId, ResourceId, UnitId};
use crate::{in_write_tx, on_read};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct WaitRow {
    pub id: String,
    pub account_id: AccountId,
    pub resource_id: ResourceId,
    pub unit_id: Option<UnitId>,
    pub starts_at: i64,
    pub ends_at: i64,
    pub status: WaitStatus,
    pub booking_id: Option<BookingId>,
    pub created_at: i64,
}

const WAIT_COLUMNS: &str = "id, account_id, resource_id, unit_id, starts_at, ends_at, status, booking_id, created_at";

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct NotificationRow {
    pub id: String,
    pub kind: String,
    pub payload: String,
    pub created_at: i64,
    pub read_at: Option<i64>,
}

impl Db {
    /// # Errors
    /// Database errors.
    pub async fn join_waitlist(
        &self,
        account: &AccountId,
        resource: &ResourceId,
        unit: Option<&UnitId>,
        start: i64,
        end: i64,
        now: i64,
    ) -> StoreResult<WaitRow> {
        let id = new_id();
        in_write_tx!(self, |tx| {
            sqlx::query(
                "INSERT INTO waitlist (id, account_id, resource_id, unit_id, starts_at, ends_at, status, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, 'waiting', $7)",
            )
            .bind(&id)
            .bind(account)
            .bind(resource)
            .bind(unit)
            .bind(start)
            .bind(end)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        });
        self.wait_entry(&id).await
    }

    /// # Errors
    /// [`super::StoreError::NotFound`].
    pub async fn wait_entry(&self, id: &str) -> StoreResult<WaitRow> {
        let sql = format!("SELECT {WAIT_COLUMNS} FROM waitlist WHERE id = $1");
        Ok(on_read!(self, |p| sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id).fetch_one(p).await?))
    }

    /// # Errors
    /// Database errors.
    pub async fn waitlist_of(&self, account: &AccountId) -> StoreResult<Vec<WaitRow>> {
        let sql =
            format!("SELECT {WAIT_COLUMNS} FROM waitlist WHERE account_id = $1 ORDER BY created_at DESC, id LIMIT 200");
        Ok(on_read!(self, |p| sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(account).fetch_all(p).await?))
    }

    /// Waiting entries of a resource, first come first served.
    ///
    /// # Errors
    /// Database errors.
    pub async fn waiting_for(&self, resource: &ResourceId) -> StoreResult<Vec<WaitRow>> {
        let sql = format!(
            "SELECT {WAIT_COLUMNS} FROM waitlist WHERE resource_id = $1 AND status = 'waiting' ORDER BY created_at, id"
        );
        Ok(on_read!(self, |p| sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(resource).fetch_all(p).await?))
    }

    /// Moves an entry from one status to another if it is still in the first. Returns
    /// whether it moved: how concurrent nodes agree on who handles an entry.
    ///
    /// # Errors
    /// Database errors.
    pub async fn move_wait_entry(
        &self,
        id: &str,
        from: WaitStatus,
        to: WaitStatus,
        booking: Option<&BookingId>,
    ) -> StoreResult<bool> {
        let n = in_write_tx!(self, |tx| {
            sqlx::query(
                "UPDATE waitlist SET status = $3, booking_id = COALESCE($4, booking_id) WHERE id = $1 AND status = $2",
            )
            .bind(id)
            .bind(from)
            .bind(to)
            .bind(booking)
            .execute(&mut *tx)
            .await?
            .rows_affected()
        });
        Ok(n > 0)
    }

    /// # Errors
    /// Database errors.
    pub async fn notify(
        &self,
        account: &AccountId,
        kind: &str,
        payload: &serde_json::Value,
        now: i64,
    ) -> StoreResult<()> {
        in_write_tx!(self, |tx| {
            sqlx::query(
                "INSERT INTO notifications (id, account_id, kind, payload, created_at) VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(new_id())
            .bind(account)
            .bind(kind)
            .bind(payload.to_string())
            .bind(now)
            .execute(&mut *tx)
            .await?;
        });
        Ok(())
    }

    /// # Errors
    /// Database errors.
    pub async fn notifications_of(&self, account: &AccountId) -> StoreResult<Vec<NotificationRow>> {
        Ok(on_read!(self, |p| {
            sqlx::query_as(
                "SELECT id, kind, payload, created_at, read_at FROM notifications WHERE account_id = $1 ORDER BY created_at DESC, id DESC LIMIT 200",
            )
            .bind(account)
            .fetch_all(p)
            .await?
        }))
    }
}
