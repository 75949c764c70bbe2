//! Bookings, where the no-double-booking invariant is enforced by the database itself.
//!
//! PostgreSQL: the exclusion constraint `booking_no_overlap`, written to with
//! `INSERT … ON CONFLICT DO NOTHING RETURNING id` (plain INSERTs that collide on an
//! exclusion constraint deadlock under contention; DO NOTHING does not). No row back
//! means the unit is taken. SQLite: the `booking_no_overlap` trigger aborts the write
//! inside its `BEGIN IMMEDIATE` transaction.

use super::{Db, StoreError, StoreResult, new_id};
use crate::domain::interval::Interval;
use crate::{in_write_tx, on_read};

/// What a new booking row needs. `blocked` must contain `span` (the buffers widen it).
#[derive(Debug, Clone)]
pub struct NewBooking<'a> {
    pub unit_id: &'a str,
    pub resource_id: &'a str,
    pub space_id: &'a str,
    pub account_id: &'a str,
    pub organisation_id: Option<&'a str>,
    pub status: &'a str,
    pub span: Interval,
    pub blocked: Interval,
    pub purpose: &'a str,
    pub checkin_nonce: &'a str,
    pub now: i64,
}

const INSERT_BOOKING: &str = "INSERT INTO bookings (id, unit_id, resource_id, space_id, account_id, organisation_id, status, \
     starts_at, ends_at, blocked_from, blocked_until, purpose, checkin_nonce, created_at, updated_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14)";

macro_rules! bind_all {
    ($q:expr, $id:expr, $b:expr) => {
        $q.bind($id)
            .bind($b.unit_id)
            .bind($b.resource_id)
            .bind($b.space_id)
            .bind($b.account_id)
            .bind($b.organisation_id)
            .bind($b.status)
            .bind($b.span.start())
            .bind($b.span.end())
            .bind($b.blocked.start())
            .bind($b.blocked.end())
            .bind($b.purpose)
            .bind($b.checkin_nonce)
            .bind($b.now)
    };
}

impl Db {
    /// Inserts one booking in its own transaction and returns its id.
    ///
    /// # Errors
    /// [`StoreError::Overlap`] when a live booking of the unit overlaps `blocked`; the
    /// database decides this, so it holds however many nodes race.
    pub async fn insert_booking(&self, b: &NewBooking<'_>) -> StoreResult<String> {
        let id = new_id();
        match self {
            Db::Postgres(pool) => {
                let sql = format!("{INSERT_BOOKING} ON CONFLICT DO NOTHING RETURNING id");
                let row: Option<String> =
                    bind_all!(sqlx::query_scalar(sqlx::AssertSqlSafe(sql)), &id, b).fetch_optional(pool).await?;
                row.ok_or(StoreError::Overlap)
            }
            Db::Sqlite { .. } => {
                in_write_tx!(self, |tx| {
                    bind_all!(sqlx::query(INSERT_BOOKING), &id, b).execute(&mut *tx).await?;
                });
                Ok(id)
            }
        }
    }

    /// Live bookings of a unit whose blocked interval overlaps `window`, earliest first.
    ///
    /// # Errors
    /// Database errors.
    pub async fn live_blocks(&self, unit_id: &str, window: Interval) -> StoreResult<Vec<(String, Interval)>> {
        let rows: Vec<(String, i64, i64)> = on_read!(self, |p| {
            sqlx::query_as(
                "SELECT id, blocked_from, blocked_until FROM bookings WHERE unit_id = $1 \
                 AND status IN ('pending', 'confirmed', 'checked_in') \
                 AND blocked_until > $2 AND blocked_from < $3 ORDER BY blocked_from",
            )
            .bind(unit_id)
            .bind(window.start())
            .bind(window.end())
            .fetch_all(p)
            .await?
        });
        Ok(rows.into_iter().filter_map(|(id, s, e)| Interval::new(s, e).ok().map(|i| (id, i))).collect())
    }
}
