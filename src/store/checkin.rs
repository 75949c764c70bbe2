//! Kiosks, scans and metered sessions (a unit's use from check-in to check-out; not to be
//! confused with a login).
//!
//! Every check-in and check-out appends its ledger entry ([`super::ledger`]) inside the same
//! transaction as the change, so there is never one without the other.

use super::bookings::{BOOKING_SELECT, BookingRow};
use super::{Db, StoreResult, new_id};
use crate::domain::checkin::{ScanDecision, SessionOrigin};
use crate::domain::ids::{AccountId, BookingId, ResourceId, SpaceId, UnitId};
use crate::domain::ledger::EntryKind;
use crate::{in_write_tx, ledger_append, on_read};
use serde_json::{Value, json};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct KioskRow {
    pub id: String,
    pub space_id: SpaceId,
    pub resource_id: Option<ResourceId>,
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
pub struct MeteredSession {
    pub id: String,
    pub booking_id: Option<BookingId>,
    pub unit_id: UnitId,
    pub account_id: AccountId,
    pub started_at: i64,
    pub ended_at: Option<i64>,
    pub opened_by: SessionOrigin,
    pub closed_by: Option<SessionOrigin>,
    pub kiosk_id: Option<String>,
    pub note: Option<String>,
    pub overstay_ms: i64,
}

const METERED_COLUMNS: &str =
    "id, booking_id, unit_id, account_id, started_at, ended_at, opened_by, closed_by, kiosk_id, note, overstay_ms";

/// How a session was opened or closed, and by whom.
#[derive(Debug, Clone, Copy)]
pub struct Actor<'a> {
    /// `kiosk`, `operator`, `walk_up` (opening) or `automatic` (closing).
    pub how: SessionOrigin,
    pub kiosk_id: Option<&'a str>,
    pub operator_id: Option<&'a AccountId>,
    pub note: Option<&'a str>,
}

/// The ledger payload that states a session's facts; `verify-ledger` compares rows with it.
pub fn session_facts(s: &MeteredSession) -> Value {
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

impl Db {
    // ---- kiosks ----

    /// # Errors
    /// Database errors.
    #[allow(clippy::too_many_arguments)]
    pub async fn insert_kiosk(
        &self,
        space_id: &SpaceId,
        resource_id: Option<&ResourceId>,
        name: &str,
        pairing_hash: &str,
        pairing_expires_at: i64,
        by: &AccountId,
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
    pub async fn kiosks_of(&self, space_id: &SpaceId) -> StoreResult<Vec<KioskRow>> {
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
        account: &AccountId,
        space_id: &SpaceId,
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

    /// Records a scan (granted scans are recorded by [`Db::check_in`] and [`Db::check_out`]).
    ///
    /// # Errors
    /// Database errors.
    pub async fn record_scan(
        &self,
        kiosk_id: &str,
        space_id: &SpaceId,
        booking_id: Option<&BookingId>,
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
    pub async fn check_in(&self, b: &BookingRow, by: &Actor<'_>, now: i64) -> StoreResult<Option<MeteredSession>> {
        self.check_in_from(b, by, now, false).await
    }

    /// [`Db::check_in`] by an operator: also corrects a booking marked `no_show`.
    ///
    /// # Errors
    /// Database errors.
    pub async fn check_in_manual(
        &self,
        b: &BookingRow,
        by: &Actor<'_>,
        now: i64,
    ) -> StoreResult<Option<MeteredSession>> {
        self.check_in_from(b, by, now, true).await
    }

    async fn check_in_from(
        &self,
        b: &BookingRow,
        by: &Actor<'_>,
        now: i64,
        correct_no_show: bool,
    ) -> StoreResult<Option<MeteredSession>> {
        let lock = self.ledger_lock();
        let session = MeteredSession {
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
                ledger_append!(tx, lock, now, [(EntryKind::CheckIn, session.id.as_str(), facts)]);
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
        booking_id: &BookingId,
        by: &Actor<'_>,
        ended_at: i64,
        now: i64,
    ) -> StoreResult<Option<MeteredSession>> {
        let lock = self.ledger_lock();
        let returning = format!("RETURNING {METERED_COLUMNS}");
        // Never before the start; the overstay is what lies past the booking's end.
        let ended = self.dialect().greatest("started_at", "$2");
        let overstay = self.dialect().greatest("0", &format!("{ended} - $5"));
        let sql = format!(
            "UPDATE sessions SET ended_at = {ended}, closed_by = $3, note = COALESCE($4, note), overstay_ms = {overstay} \
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
                    let s: Option<MeteredSession> = sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
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
                        ledger_append!(tx, lock, now, [(EntryKind::CheckOut, s.id.as_str(), facts)]);
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
    pub async fn metered_sessions(
        &self,
        space_id: Option<&SpaceId>,
        from: i64,
        until: i64,
        limit: i64,
    ) -> StoreResult<Vec<MeteredSession>> {
        let sql = format!(
            "SELECT {} FROM sessions s WHERE s.started_at >= $2 AND s.started_at < $3 AND ($1 IS NULL OR s.unit_id IN \
             (SELECT u.id FROM units u JOIN resources r ON r.id = u.resource_id WHERE r.space_id = $1)) \
             ORDER BY s.started_at, s.id LIMIT $4",
            METERED_COLUMNS.split(", ").map(|c| format!("s.{c}")).collect::<Vec<_>>().join(", ")
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
    pub async fn metered_sessions_of(&self, booking_id: &BookingId) -> StoreResult<Vec<MeteredSession>> {
        let sql = format!("SELECT {METERED_COLUMNS} FROM sessions WHERE booking_id = $1 ORDER BY started_at, id");
        Ok(on_read!(self, |p| sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(booking_id).fetch_all(p).await?))
    }

    /// Every session (for `verify-ledger`).
    ///
    /// # Errors
    /// Database errors.
    pub async fn all_metered_sessions(&self) -> StoreResult<Vec<MeteredSession>> {
        let sql = format!("SELECT {METERED_COLUMNS} FROM sessions ORDER BY id");
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
    ) -> StoreResult<Vec<(Option<BookingId>, ScanDecision, Option<String>, i64)>> {
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
}
