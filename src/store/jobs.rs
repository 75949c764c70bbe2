//! The scheduled jobs' claims: each is one conditional statement over due rows, so that
//! several nodes may run it at once and each row is handled once.

use super::bookings::{BOOKING_SELECT, BookingRow};
use super::{Db, StoreResult, new_id};
use crate::domain::ids::{AccountId, BookingId, ResourceId};
use crate::domain::ledger::EntryKind;
use crate::{in_write_tx, ledger_append, on_read};
use serde_json::{Value, json};

/// A booking that became a no-show, or a session that was closed automatically.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Released {
    pub booking_id: BookingId,
    pub resource_id: ResourceId,
    pub account_id: AccountId,
}

impl Db {
    /// Marks up to `limit` confirmed bookings whose start + the resource's no-show grace has
    /// passed as `no_show`, with their ledger entries, in one transaction. Concurrent nodes
    /// each claim different rows (the conditional UPDATE), so a booking is released once.
    ///
    /// # Errors
    /// Database errors.
    pub async fn release_no_shows(&self, now: i64, limit: i64) -> StoreResult<Vec<Released>> {
        let grace = self.dialect().json_int("r.policy", "no_show_grace_minutes", 15);
        let sql = format!(
            "UPDATE bookings SET status = 'no_show', updated_at = $1 WHERE id IN (\
               SELECT b.id FROM bookings b JOIN resources r ON r.id = b.resource_id \
               WHERE b.status = 'confirmed' AND b.starts_at <= $1 AND b.starts_at + {grace} * 60000 <= $1 \
               ORDER BY b.starts_at LIMIT $2) AND status = 'confirmed' \
             RETURNING id AS booking_id, resource_id, account_id"
        );
        let lock = self.ledger_lock();
        Ok(in_write_tx!(self, |tx| {
            let rows: Vec<Released> =
                sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(now).bind(limit).fetch_all(&mut *tx).await?;
            if !rows.is_empty() {
                let entries: Vec<(EntryKind, &str, Value)> = rows
                    .iter()
                    .map(|r| {
                        (
                            EntryKind::NoShow,
                            r.booking_id.as_str(),
                            json!({ "booking": r.booking_id, "account": r.account_id }),
                        )
                    })
                    .collect();
                ledger_append!(tx, lock, now, entries);
            }
            rows
        }))
    }

    /// Checked-in bookings whose end + `grace_ms` has passed: (booking id, end).
    ///
    /// # Errors
    /// Database errors.
    pub async fn overdue_check_outs(&self, now: i64, grace_ms: i64, limit: i64) -> StoreResult<Vec<(BookingId, i64)>> {
        Ok(on_read!(self, |p| {
            sqlx::query_as(
                "SELECT id, ends_at FROM bookings WHERE status = 'checked_in' AND ends_at <= $1 ORDER BY ends_at LIMIT $2",
            )
            .bind(now - grace_ms)
            .bind(limit)
            .fetch_all(p)
            .await?
        }))
    }

    /// Claims up to `limit` confirmed bookings starting within `lead_ms` that have had no
    /// reminder, and queues one for each (an in-app notification, and with `email` an outbox
    /// message for the mailer), in one transaction.
    ///
    /// # Errors
    /// Database errors.
    pub async fn queue_reminders(
        &self,
        now: i64,
        lead_ms: i64,
        limit: i64,
        email: bool,
    ) -> StoreResult<Vec<BookingId>> {
        let sql = "UPDATE bookings SET reminded_at = $1 WHERE id IN (SELECT id FROM bookings WHERE status = 'confirmed' \
             AND starts_at > $1 AND starts_at <= $2 AND reminded_at IS NULL ORDER BY starts_at LIMIT $3) \
             AND reminded_at IS NULL RETURNING id";
        let select = format!("{BOOKING_SELECT} WHERE b.id = $1");
        Ok(in_write_tx!(self, |tx| {
            let ids: Vec<BookingId> =
                sqlx::query_scalar(sql).bind(now).bind(now + lead_ms).bind(limit).fetch_all(&mut *tx).await?;
            for id in &ids {
                let b: BookingRow =
                    sqlx::query_as(sqlx::AssertSqlSafe(select.clone())).bind(id).fetch_one(&mut *tx).await?;
                let payload = json!({
                    "booking": b.id, "resource_zh": b.resource_name_zh, "resource_en": b.resource_name_en,
                    "unit": b.unit_label, "space": b.space_slug, "starts_at": crate::clock::rfc3339(b.starts_at),
                    "timezone": b.timezone, "short_code": crate::domain::checkin::display_short(&b.checkin_nonce),
                })
                .to_string();
                let tables: &[(&str, &str)] =
                    if email { &[("outbox", "due_at"), ("notifications", "")] } else { &[("notifications", "")] };
                for (table, extra) in tables {
                    let q = if extra.is_empty() {
                        format!(
                            "INSERT INTO {table} (id, account_id, kind, payload, created_at) VALUES ($1, $2, 'reminder', $3, $4)"
                        )
                    } else {
                        format!(
                            "INSERT INTO {table} (id, account_id, kind, payload, {extra}, created_at) VALUES ($1, $2, 'reminder', $3, $4, $4)"
                        )
                    };
                    sqlx::query(sqlx::AssertSqlSafe(q))
                        .bind(new_id())
                        .bind(&b.account_id)
                        .bind(&payload)
                        .bind(now)
                        .execute(&mut *tx)
                        .await?;
                }
            }
            ids
        }))
    }
}
