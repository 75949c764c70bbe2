//! Kiosks, scans, metered sessions and the evidence ledger.
//!
//! Every change that is evidence (check-in, check-out, no-show, cancellation, manual
//! correction) appends its ledger entry inside the same transaction as the change, so
//! there is never one without the other. Appends are serialised: SQLite has one writer, and
//! PostgreSQL nodes take a transaction-scoped advisory lock before reading the head.

use super::bookings::{BOOKING_SELECT, BookingRow};
use super::{Db, StoreResult, new_id};
use crate::domain::ledger::{Entry, GENESIS};
use crate::{in_write_tx, on_read};
use serde_json::{Value, json};

/// Appends `entries` (kind, subject, payload) to the ledger inside transaction `$tx`.
/// `$lock` is [`Db::ledger_lock`]. Evaluates to the last sequence number written. Rows go in
/// as multi-row INSERTs (200 a statement): the no-show job appends hundreds at once.
#[macro_export]
macro_rules! ledger_append {
    ($tx:ident, $lock:expr, $now:expr, $entries:expr) => {{
        let lock: Option<&'static str> = $lock;
        if let Some(l) = lock {
            sqlx::query(l).execute(&mut *$tx).await?;
        }
        let head: Option<(i64, String)> =
            sqlx::query_as("SELECT seq, hash FROM ledger ORDER BY seq DESC LIMIT 1").fetch_optional(&mut *$tx).await?;
        let (mut seq, mut prev) = head.unwrap_or((0, $crate::domain::ledger::GENESIS.to_owned()));
        let mut rows: Vec<(i64, String, String, String, String, String)> = Vec::new();
        for (kind, subject, payload) in $entries {
            let kind: &str = kind;
            let subject: &str = subject;
            seq += 1;
            let payload = $crate::domain::ledger::canonical_json(&payload);
            let hash = $crate::domain::ledger::entry_hash(&prev, seq, kind, subject, $now, &payload);
            rows.push((seq, kind.to_owned(), subject.to_owned(), payload, prev, hash.clone()));
            prev = hash;
        }
        for chunk in rows.chunks(200) {
            let values: Vec<String> = (0..chunk.len())
                .map(|i| {
                    let b = i * 7;
                    format!("(${}, ${}, ${}, ${}, ${}, ${}, ${})", b + 1, b + 2, b + 3, b + 4, b + 5, b + 6, b + 7)
                })
                .collect();
            let sql = format!(
                "INSERT INTO ledger (seq, kind, subject_id, payload, prev_hash, hash, recorded_at) VALUES {}",
                values.join(", ")
            );
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for (seq, kind, subject, payload, prev, hash) in chunk {
                q = q.bind(*seq).bind(kind).bind(subject).bind(payload).bind(prev).bind(hash).bind($now);
            }
            q.execute(&mut *$tx).await?;
        }
        seq
    }};
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct KioskRow {
    pub id: String,
    pub space_id: String,
    pub resource_id: Option<String>,
    pub name: String,
    pub pairing_expires_at: Option<i64>,
    pub paired_at: Option<i64>,
    pub revoked_at: Option<i64>,
    pub created_at: i64,
    pub last_seen_at: Option<i64>,
}

const KIOSK_SELECT: &str = "SELECT k.id, k.space_id, k.resource_id, k.name, k.pairing_expires_at, k.paired_at, \
     k.revoked_at, k.created_at, (SELECT MAX(scanned_at) FROM scans WHERE kiosk_id = k.id) AS last_seen_at FROM kiosks k";

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SessionRow {
    pub id: String,
    pub booking_id: Option<String>,
    pub unit_id: String,
    pub account_id: String,
    pub started_at: i64,
    pub ended_at: Option<i64>,
    pub opened_by: String,
    pub closed_by: Option<String>,
    pub kiosk_id: Option<String>,
    pub note: Option<String>,
    pub overstay_ms: i64,
}

const SESSION_COLUMNS: &str =
    "id, booking_id, unit_id, account_id, started_at, ended_at, opened_by, closed_by, kiosk_id, note, overstay_ms";

/// How a session was opened or closed, and by whom.
#[derive(Debug, Clone, Copy)]
pub struct Actor<'a> {
    /// `kiosk`, `operator`, `walk_up` (opening) or `automatic` (closing).
    pub how: &'a str,
    pub kiosk_id: Option<&'a str>,
    pub operator_id: Option<&'a str>,
    pub note: Option<&'a str>,
}

/// The ledger payload that states a session's facts; `verify-ledger` compares rows with it.
pub fn session_facts(s: &SessionRow) -> Value {
    json!({
        "session": s.id,
        "booking": s.booking_id,
        "unit": s.unit_id,
        "account": s.account_id,
        "started_at": s.started_at,
        "ended_at": s.ended_at,
        "opened_by": s.opened_by,
        "closed_by": s.closed_by,
        "overstay_ms": s.overstay_ms,
    })
}

fn with_actor(mut facts: Value, a: &Actor<'_>) -> Value {
    if let Value::Object(m) = &mut facts {
        m.insert("kiosk".into(), json!(a.kiosk_id));
        m.insert("operator".into(), json!(a.operator_id));
        m.insert("note".into(), json!(a.note));
    }
    facts
}

/// A booking that became a no-show, or a session that was closed automatically.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Released {
    pub booking_id: String,
    pub resource_id: String,
    pub account_id: String,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OutboxRow {
    pub id: String,
    pub account_id: Option<String>,
    pub kind: String,
    pub payload: String,
    pub attempts: i64,
}

impl Db {
    /// The statement that serialises ledger appends (see the module documentation).
    pub fn ledger_lock(&self) -> Option<&'static str> {
        match self {
            // One writer connection: transactions are serial already.
            Db::Sqlite { .. } => None,
            Db::Postgres { .. } => Some("SELECT pg_advisory_xact_lock(7461001)"),
        }
    }

    /// A stored setting.
    ///
    /// # Errors
    /// Database errors.
    pub async fn setting(&self, key: &str) -> StoreResult<Option<String>> {
        Ok(on_read!(self, |p| {
            sqlx::query_scalar("SELECT value FROM settings WHERE key = $1").bind(key).fetch_optional(p).await?
        }))
    }

    /// Stores `value` under `key` unless a value is there, and returns the one that is
    /// (so that racing nodes agree on the first).
    ///
    /// # Errors
    /// Database errors.
    pub async fn setting_or_insert(&self, key: &str, value: &str) -> StoreResult<String> {
        in_write_tx!(self, |tx| {
            sqlx::query("INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING")
                .bind(key)
                .bind(value)
                .execute(&mut *tx)
                .await?;
        });
        Ok(self.setting(key).await?.unwrap_or_else(|| value.to_owned()))
    }

    // ---- kiosks ----

    /// # Errors
    /// Database errors.
    #[allow(clippy::too_many_arguments)]
    pub async fn insert_kiosk(
        &self,
        space_id: &str,
        resource_id: Option<&str>,
        name: &str,
        pairing_hash: &str,
        pairing_expires_at: i64,
        by: &str,
        now: i64,
    ) -> StoreResult<String> {
        let id = new_id();
        in_write_tx!(self, |tx| {
            sqlx::query(
                "INSERT INTO kiosks (id, space_id, resource_id, name, pairing_code_hash, pairing_expires_at, created_by, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(&id)
            .bind(space_id)
            .bind(resource_id)
            .bind(name)
            .bind(pairing_hash)
            .bind(pairing_expires_at)
            .bind(by)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        });
        Ok(id)
    }

    /// Exchanges a pairing code (by its hash) for a device token (by its hash). The code
    /// works once, before it expires, for a kiosk not revoked.
    ///
    /// # Errors
    /// Database errors.
    pub async fn pair_kiosk(&self, pairing_hash: &str, token_hash: &str, now: i64) -> StoreResult<Option<String>> {
        Ok(in_write_tx!(self, |tx| {
            sqlx::query_scalar(
                "UPDATE kiosks SET device_token_hash = $2, paired_at = $3, pairing_code_hash = NULL, pairing_expires_at = NULL \
                 WHERE pairing_code_hash = $1 AND pairing_expires_at > $3 AND revoked_at IS NULL RETURNING id",
            )
            .bind(pairing_hash)
            .bind(token_hash)
            .bind(now)
            .fetch_optional(&mut *tx)
            .await?
        }))
    }

    /// Issues a new pairing code for a kiosk (re-pairing replaces the device token).
    ///
    /// # Errors
    /// Database errors.
    pub async fn repair_kiosk(&self, id: &str, pairing_hash: &str, expires_at: i64) -> StoreResult<bool> {
        let n = in_write_tx!(self, |tx| {
            sqlx::query(
                "UPDATE kiosks SET pairing_code_hash = $2, pairing_expires_at = $3, device_token_hash = NULL \
                 WHERE id = $1 AND revoked_at IS NULL",
            )
            .bind(id)
            .bind(pairing_hash)
            .bind(expires_at)
            .execute(&mut *tx)
            .await?
            .rows_affected()
        });
        Ok(n > 0)
    }

    /// The live kiosk with this device token (by hash).
    ///
    /// # Errors
    /// Database errors.
    pub async fn kiosk_for_token(&self, token_hash: &str) -> StoreResult<Option<KioskRow>> {
        let sql = "SELECT id, space_id, resource_id, name, pairing_expires_at, paired_at, revoked_at, created_at, \
                   NULL AS last_seen_at FROM kiosks WHERE device_token_hash = $1 AND revoked_at IS NULL";
        Ok(on_read!(self, |p| sqlx::query_as(sql).bind(token_hash).fetch_optional(p).await?))
    }

    /// # Errors
    /// [`super::StoreError::NotFound`].
    pub async fn kiosk(&self, id: &str) -> StoreResult<KioskRow> {
        let sql = format!("{KIOSK_SELECT} WHERE k.id = $1");
        Ok(on_read!(self, |p| sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id).fetch_one(p).await?))
    }

    /// # Errors
    /// Database errors.
    pub async fn kiosks_of(&self, space_id: &str) -> StoreResult<Vec<KioskRow>> {
        let sql = format!("{KIOSK_SELECT} WHERE k.space_id = $1 ORDER BY k.created_at, k.id");
        Ok(on_read!(self, |p| sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(space_id).fetch_all(p).await?))
    }

    /// # Errors
    /// Database errors.
    pub async fn revoke_kiosk(&self, id: &str, now: i64) -> StoreResult<bool> {
        let n = in_write_tx!(self, |tx| {
            sqlx::query(
                "UPDATE kiosks SET revoked_at = $2, device_token_hash = NULL, pairing_code_hash = NULL \
                 WHERE id = $1 AND revoked_at IS NULL",
            )
            .bind(id)
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected()
        });
        Ok(n > 0)
    }

    // ---- scans and sessions ----

    /// Bookings whose short code (nonce) is `nonce`.
    ///
    /// # Errors
    /// Database errors.
    pub async fn bookings_by_nonce(&self, nonce: &str) -> StoreResult<Vec<BookingRow>> {
        let sql = format!("{BOOKING_SELECT} WHERE b.checkin_nonce = $1 LIMIT 2");
        Ok(on_read!(self, |p| sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(nonce).fetch_all(p).await?))
    }

    /// The maker's bookings in a space that a personal code could mean: checked in, or
    /// confirmed and touching `[from, until)`.
    ///
    /// # Errors
    /// Database errors.
    pub async fn bookings_near(
        &self,
        account: &str,
        space_id: &str,
        from: i64,
        until: i64,
    ) -> StoreResult<Vec<BookingRow>> {
        let sql = format!(
            "{BOOKING_SELECT} WHERE b.account_id = $1 AND b.space_id = $2 AND (b.status = 'checked_in' \
             OR (b.status = 'confirmed' AND b.starts_at < $4 AND b.ends_at > $3)) ORDER BY b.starts_at LIMIT 20"
        );
        Ok(on_read!(self, |p| {
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(account)
                .bind(space_id)
                .bind(from)
                .bind(until)
                .fetch_all(p)
                .await?
        }))
    }

    /// (slug, expires_at) of the account's training grants that are not revoked.
    ///
    /// # Errors
    /// Database errors.
    pub async fn training_holds(&self, account: &str) -> StoreResult<Vec<(String, Option<i64>)>> {
        Ok(on_read!(self, |p| {
            sqlx::query_as(
                "SELECT t.slug, g.expires_at FROM training_grants g JOIN trainings t ON t.id = g.training_id \
                 WHERE g.account_id = $1 AND g.revoked_at IS NULL",
            )
            .bind(account)
            .fetch_all(p)
            .await?
        }))
    }

    /// Records a scan (granted scans are recorded by [`Db::check_in`] and [`Db::check_out`]).
    ///
    /// # Errors
    /// Database errors.
    pub async fn record_scan(
        &self,
        kiosk_id: &str,
        space_id: &str,
        booking_id: Option<&str>,
        reason: &str,
        now: i64,
    ) -> StoreResult<()> {
        in_write_tx!(self, |tx| {
            sqlx::query(
                "INSERT INTO scans (id, kiosk_id, space_id, booking_id, decision, reason, scanned_at) \
                 VALUES ($1, $2, $3, $4, 'deny', $5, $6)",
            )
            .bind(new_id())
            .bind(kiosk_id)
            .bind(space_id)
            .bind(booking_id)
            .bind(reason)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        });
        Ok(())
    }

    /// Checks a confirmed booking in: the booking becomes `checked_in`, a session opens, the
    /// scan (if any) and the ledger entry are written, all in one transaction. `None` when
    /// the booking was no longer confirmed (a racing scan or job got there first).
    ///
    /// # Errors
    /// Database errors.
    pub async fn check_in(&self, b: &BookingRow, by: &Actor<'_>, now: i64) -> StoreResult<Option<SessionRow>> {
        self.check_in_from(b, by, now, false).await
    }

    /// [`Db::check_in`] by an operator: also corrects a booking marked `no_show`.
    ///
    /// # Errors
    /// Database errors.
    pub async fn check_in_manual(&self, b: &BookingRow, by: &Actor<'_>, now: i64) -> StoreResult<Option<SessionRow>> {
        self.check_in_from(b, by, now, true).await
    }

    async fn check_in_from(
        &self,
        b: &BookingRow,
        by: &Actor<'_>,
        now: i64,
        correct_no_show: bool,
    ) -> StoreResult<Option<SessionRow>> {
        let lock = self.ledger_lock();
        let session = SessionRow {
            id: new_id(),
            booking_id: Some(b.id.clone()),
            unit_id: b.unit_id.clone(),
            account_id: b.account_id.clone(),
            started_at: now,
            ended_at: None,
            opened_by: by.how.to_owned(),
            closed_by: None,
            kiosk_id: by.kiosk_id.map(str::to_owned),
            note: by.note.map(str::to_owned),
            overstay_ms: 0,
        };
        let done = in_write_tx!(self, |tx| {
            let n = sqlx::query(
                "UPDATE bookings SET status = 'checked_in', updated_at = $2 WHERE id = $1 \
                 AND (status = 'confirmed' OR ($3 AND status = 'no_show'))",
            )
            .bind(&b.id)
            .bind(now)
            .bind(correct_no_show)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if n == 0 {
                false
            } else {
                sqlx::query(
                    "INSERT INTO sessions (id, booking_id, unit_id, account_id, started_at, opened_by, kiosk_id, note) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                )
                .bind(&session.id)
                .bind(&b.id)
                .bind(&b.unit_id)
                .bind(&b.account_id)
                .bind(now)
                .bind(by.how)
                .bind(by.kiosk_id)
                .bind(by.note)
                .execute(&mut *tx)
                .await?;
                if let Some(k) = by.kiosk_id {
                    sqlx::query(
                        "INSERT INTO scans (id, kiosk_id, space_id, booking_id, decision, scanned_at) \
                         VALUES ($1, $2, $3, $4, 'check_in', $5)",
                    )
                    .bind(new_id())
                    .bind(k)
                    .bind(&b.space_id)
                    .bind(&b.id)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                }
                let facts = with_actor(session_facts(&session), by);
                ledger_append!(tx, lock, now, [("check_in", session.id.as_str(), facts)]);
                true
            }
        });
        Ok(done.then_some(session))
    }

    /// Checks a checked-in booking out: its open session closes (with any overstay), the
    /// booking becomes `completed`, scan and ledger entry are written, in one transaction.
    /// `ended_at` is `now` for people and the booking's end + grace for the automatic close.
    ///
    /// # Errors
    /// Database errors.
    pub async fn check_out(
        &self,
        booking_id: &str,
        by: &Actor<'_>,
        ended_at: i64,
        now: i64,
    ) -> StoreResult<Option<SessionRow>> {
        let lock = self.ledger_lock();
        let returning = format!("RETURNING {SESSION_COLUMNS}");
        let max = match self {
            Db::Sqlite { .. } => "MAX",
            Db::Postgres { .. } => "GREATEST",
        };
        let sql = format!(
            "UPDATE sessions SET ended_at = {max}(started_at, $2), closed_by = $3, \
             note = COALESCE($4, note), overstay_ms = {max}(0, {max}(started_at, $2) - $5) \
             WHERE booking_id = $1 AND ended_at IS NULL {returning}"
        );
        let out = in_write_tx!(self, |tx| {
            let ends: Option<(i64, String)> = sqlx::query_as(
                "UPDATE bookings SET status = 'completed', updated_at = $2 WHERE id = $1 AND status = 'checked_in' \
                 RETURNING ends_at, space_id",
            )
            .bind(booking_id)
            .bind(now)
            .fetch_optional(&mut *tx)
            .await?;
            match ends {
                None => None,
                Some((ends_at, space_id)) => {
                    let s: Option<SessionRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
                        .bind(booking_id)
                        .bind(ended_at)
                        .bind(by.how)
                        .bind(by.note)
                        .bind(ends_at)
                        .fetch_optional(&mut *tx)
                        .await?;
                    if s.is_none() {
                        // Checked in without an open session (should not happen): change nothing.
                        tracing::error!(booking = %booking_id, "checked-in booking has no open session");
                        return Ok(None);
                    }
                    if let Some(k) = by.kiosk_id {
                        sqlx::query(
                            "INSERT INTO scans (id, kiosk_id, space_id, booking_id, decision, scanned_at) \
                             VALUES ($1, $2, $3, $4, 'check_out', $5)",
                        )
                        .bind(new_id())
                        .bind(k)
                        .bind(&space_id)
                        .bind(booking_id)
                        .bind(now)
                        .execute(&mut *tx)
                        .await?;
                    }
                    if let Some(s) = &s {
                        let facts = with_actor(session_facts(s), by);
                        ledger_append!(tx, lock, now, [("check_out", s.id.as_str(), facts)]);
                    }
                    s
                }
            }
        });
        Ok(out)
    }

    /// Sessions that started in `[from, until)`, optionally of one space, by start.
    ///
    /// # Errors
    /// Database errors.
    pub async fn sessions(
        &self,
        space_id: Option<&str>,
        from: i64,
        until: i64,
        limit: i64,
    ) -> StoreResult<Vec<SessionRow>> {
        let sql = format!(
            "SELECT {} FROM sessions s WHERE s.started_at >= $2 AND s.started_at < $3 AND ($1 IS NULL OR s.unit_id IN \
             (SELECT u.id FROM units u JOIN resources r ON r.id = u.resource_id WHERE r.space_id = $1)) \
             ORDER BY s.started_at, s.id LIMIT $4",
            SESSION_COLUMNS.split(", ").map(|c| format!("s.{c}")).collect::<Vec<_>>().join(", ")
        );
        Ok(on_read!(self, |p| {
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(space_id)
                .bind(from)
                .bind(until)
                .bind(limit)
                .fetch_all(p)
                .await?
        }))
    }

    /// The sessions of a booking, oldest first.
    ///
    /// # Errors
    /// Database errors.
    pub async fn sessions_of_booking(&self, booking_id: &str) -> StoreResult<Vec<SessionRow>> {
        let sql = format!("SELECT {SESSION_COLUMNS} FROM sessions WHERE booking_id = $1 ORDER BY started_at, id");
        Ok(on_read!(self, |p| sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(booking_id).fetch_all(p).await?))
    }

    /// Every session (for `verify-ledger`).
    ///
    /// # Errors
    /// Database errors.
    pub async fn all_sessions(&self) -> StoreResult<Vec<SessionRow>> {
        let sql = format!("SELECT {SESSION_COLUMNS} FROM sessions ORDER BY id");
        Ok(on_read!(self, |p| sqlx::query_as(sqlx::AssertSqlSafe(sql)).fetch_all(p).await?))
    }

    /// Scans of a kiosk, newest first: (booking, decision, reason, scanned_at).
    ///
    /// # Errors
    /// Database errors.
    pub async fn scans_of(
        &self,
        kiosk_id: &str,
        limit: i64,
    ) -> StoreResult<Vec<(Option<String>, String, Option<String>, i64)>> {
        Ok(on_read!(self, |p| {
            sqlx::query_as(
                "SELECT booking_id, decision, reason, scanned_at FROM scans WHERE kiosk_id = $1 \
                 ORDER BY scanned_at DESC, id DESC LIMIT $2",
            )
            .bind(kiosk_id)
            .bind(limit)
            .fetch_all(p)
            .await?
        }))
    }

    // ---- ledger ----

    /// (count, head hash) of the ledger.
    ///
    /// # Errors
    /// Database errors.
    pub async fn ledger_head(&self) -> StoreResult<(i64, String)> {
        let head: Option<(i64, String)> = on_read!(self, |p| {
            sqlx::query_as("SELECT seq, hash FROM ledger ORDER BY seq DESC LIMIT 1").fetch_optional(p).await?
        });
        Ok(head.unwrap_or((0, GENESIS.to_owned())))
    }

    /// The whole ledger in order.
    ///
    /// # Errors
    /// Database errors.
    pub async fn ledger_entries(&self) -> StoreResult<Vec<Entry>> {
        type Row = (i64, String, String, String, String, String, i64);
        let rows: Vec<Row> = on_read!(self, |p| {
            sqlx::query_as(
                "SELECT seq, kind, subject_id, payload, prev_hash, hash, recorded_at FROM ledger ORDER BY seq",
            )
            .fetch_all(p)
            .await?
        });
        Ok(rows
            .into_iter()
            .map(|(seq, kind, subject, payload, prev_hash, hash, recorded_at)| Entry {
                seq,
                kind,
                subject,
                payload,
                prev_hash,
                hash,
                recorded_at,
            })
            .collect())
    }

    // ---- jobs ----

    /// Marks up to `limit` confirmed bookings whose start + the resource's no-show grace has
    /// passed as `no_show`, with their ledger entries, in one transaction. Concurrent nodes
    /// each claim different rows (the conditional UPDATE), so a booking is released once.
    ///
    /// # Errors
    /// Database errors.
    pub async fn release_no_shows(&self, now: i64, limit: i64) -> StoreResult<Vec<Released>> {
        let grace = match self {
            Db::Sqlite { .. } => "COALESCE(CAST(json_extract(r.policy, '$.no_show_grace_minutes') AS INTEGER), 15)",
            Db::Postgres { .. } => "COALESCE((r.policy::jsonb ->> 'no_show_grace_minutes')::bigint, 15)",
        };
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
                let entries: Vec<(&str, &str, Value)> = rows
                    .iter()
                    .map(|r| {
                        ("no_show", r.booking_id.as_str(), json!({ "booking": r.booking_id, "account": r.account_id }))
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
    pub async fn overdue_check_outs(&self, now: i64, grace_ms: i64, limit: i64) -> StoreResult<Vec<(String, i64)>> {
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
    pub async fn queue_reminders(&self, now: i64, lead_ms: i64, limit: i64, email: bool) -> StoreResult<Vec<String>> {
        let sql = "UPDATE bookings SET reminded_at = $1 WHERE id IN (SELECT id FROM bookings WHERE status = 'confirmed' \
             AND starts_at > $1 AND starts_at <= $2 AND reminded_at IS NULL ORDER BY starts_at LIMIT $3) \
             AND reminded_at IS NULL RETURNING id";
        let select = format!("{BOOKING_SELECT} WHERE b.id = $1");
        Ok(in_write_tx!(self, |tx| {
            let ids: Vec<String> =
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

    // ---- outbox ----

    /// Queues a message for delivery at `due_at`.
    ///
    /// # Errors
    /// Database errors.
    pub async fn enqueue(
        &self,
        account: Option<&str>,
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

impl Db {
    /// Recomputes the ledger's chain, then checks the evidence rows against it: every
    /// session must equal its last ledger entry, and every cancelled or no-show booking must
    /// have its entry. `Ok(Ok((count, head)))` when all holds; `Ok(Err(why))` names the
    /// first entry or row that was altered, inserted or removed.
    ///
    /// # Errors
    /// Database errors.
    pub async fn verify_ledger(&self) -> StoreResult<Result<(i64, String), String>> {
        let entries = self.ledger_entries().await?;
        let head = match crate::domain::ledger::verify(entries.iter().cloned()) {
            Ok(h) => h,
            Err(b) => return Ok(Err(b.to_string())),
        };
        let sessions = self.all_sessions().await?;
        if let Err(why) = cross_check(&sessions, &entries) {
            return Ok(Err(why));
        }
        let released: Vec<(String, String)> = on_read!(self, |p| {
            sqlx::query_as("SELECT id, status FROM bookings WHERE status IN ('cancelled', 'no_show') ORDER BY id")
                .fetch_all(p)
                .await?
        });
        let noted: std::collections::HashSet<(&str, &str)> =
            entries.iter().map(|e| (e.subject.as_str(), e.kind.as_str())).collect();
        for (id, status) in &released {
            let kind = if status == "cancelled" { "cancellation" } else { "no_show" };
            if !noted.contains(&(id.as_str(), kind)) {
                return Ok(Err(format!("booking {id} is {status} but the ledger has no {kind} entry for it")));
            }
        }
        Ok(Ok(head))
    }
}

/// Compares every session row with the last ledger entry about it. Returns the first
/// difference: a session changed, or one with no entry at all.
pub fn cross_check(sessions: &[SessionRow], entries: &[Entry]) -> Result<(), String> {
    let mut last: std::collections::HashMap<&str, &Entry> = std::collections::HashMap::new();
    for e in entries {
        if e.kind == "check_in" || e.kind == "check_out" || e.kind == "correction" {
            last.insert(e.subject.as_str(), e);
        }
    }
    for s in sessions {
        let Some(e) = last.get(s.id.as_str()) else {
            return Err(format!("session {} has no ledger entry: it was inserted outside labinn", s.id));
        };
        let recorded: Value = serde_json::from_str(&e.payload).map_err(|err| format!("entry {}: {err}", e.seq))?;
        let facts = session_facts(s);
        let Value::Object(want) = &facts else { unreachable!("session facts are an object") };
        for (k, v) in want {
            if recorded.get(k) != Some(v) {
                return Err(format!(
                    "session {} differs from ledger entry {} in {k}: the row says {v}, the ledger {}",
                    s.id,
                    e.seq,
                    recorded.get(k).cloned().unwrap_or(Value::Null)
                ));
            }
        }
    }
    Ok(())
}
