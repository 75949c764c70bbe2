//! The registers: area plan, residencies, events (with attendance) and documents. Every
//! write appends a `register` ledger entry stating the row as it now stands, in the same
//! transaction, so that a backdated residency is as visible as an edited session. Rows are
//! never deleted: ended, cancelled or withdrawn.

use super::{Db, StoreResult};
use crate::domain::ids::{AccountId, SpaceId};
use crate::domain::ledger::EntryKind;
use crate::{in_write_tx, ledger_append, on_read};
use serde::Serialize;
use serde_json::{Value, json};

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct AreaPartRow {
    pub id: String,
    pub space_id: SpaceId,
    pub resource_id: Option<String>,
    pub name: String,
    pub area_m2: f64,
    pub use_class: String,
    pub created_at: i64,
    pub ended_at: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct ResidencyRow {
    pub id: String,
    pub space_id: SpaceId,
    pub organisation_id: String,
    pub agreement_ref: String,
    pub starts_on: String,
    pub ends_on: Option<String>,
    pub desks: i64,
    pub rooms: i64,
    pub area_m2: f64,
    pub founder: String,
    pub product: String,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct EventRow {
    pub id: String,
    pub space_id: SpaceId,
    pub kind: String,
    pub role: String,
    pub topic: String,
    pub booking_id: String,
    pub starts_at: i64,
    pub ends_at: i64,
    pub attendance_entered: Option<i64>,
    pub attested_by: Option<String>,
    pub attested_at: Option<i64>,
    pub cancelled_at: Option<i64>,
    pub created_at: i64,
    /// Participants checked in with their event code (not a column: counted).
    #[sqlx(default)]
    pub checked_in: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct DocumentRow {
    pub id: String,
    pub space_id: SpaceId,
    pub residency_id: Option<String>,
    pub kind: String,
    pub title: String,
    pub file_name: String,
    pub content_type: String,
    pub size_bytes: i64,
    pub sha256: String,
    pub created_at: i64,
    pub withdrawn_at: Option<i64>,
}

const AREA_COLUMNS: &str = "id, space_id, resource_id, name, area_m2, use_class, created_at, ended_at";
const RESIDENCY_COLUMNS: &str = "id, space_id, organisation_id, agreement_ref, starts_on, ends_on, desks, rooms, \
     area_m2, founder, product, created_at, updated_at";
const EVENT_COLUMNS: &str = "e.id, e.space_id, e.kind, e.role, e.topic, e.booking_id, e.starts_at, e.ends_at, \
     e.attendance_entered, e.attested_by, e.attested_at, e.cancelled_at, e.created_at, \
     (SELECT COUNT(*) FROM event_attendance a WHERE a.event_id = e.id) AS checked_in";
const DOCUMENT_COLUMNS: &str = "id, space_id, residency_id, kind, title, file_name, content_type, size_bytes, sha256, \
     created_at, withdrawn_at";

/// The ledger payload of a register row: which register, who changed it, the row.
fn register_facts(register: &str, by: &AccountId, row: &impl Serialize) -> Value {
    json!({"register": register, "by": by, "row": row})
}

impl Db {
    /// Inserts or replaces an area part (by id), with its ledger entry.
    ///
    /// # Errors
    /// Database errors.
    pub async fn save_area_part(&self, row: &AreaPartRow, by: &AccountId, now: i64) -> StoreResult<()> {
        let lock = self.ledger_lock();
        in_write_tx!(self, |tx| {
            sqlx::query(
                "INSERT INTO area_parts (id, space_id, resource_id, name, area_m2, use_class, created_at, created_by, ended_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
                 ON CONFLICT (id) DO UPDATE SET name = excluded.name, area_m2 = excluded.area_m2, \
                 use_class = excluded.use_class, resource_id = excluded.resource_id, ended_at = excluded.ended_at",
            )
            .bind(&row.id)
            .bind(&row.space_id)
            .bind(&row.resource_id)
            .bind(&row.name)
            .bind(row.area_m2)
            .bind(&row.use_class)
            .bind(row.created_at)
            .bind(by)
            .bind(row.ended_at)
            .execute(&mut *tx)
            .await?;
            ledger_append!(
                tx,
                lock,
                now,
                [(EntryKind::Register, row.id.as_str(), register_facts("area_part", by, row))]
            );
        });
        Ok(())
    }

    /// The area plan of a space, ended parts too, in the order they were recorded.
    ///
    /// # Errors
    /// Database errors.
    pub async fn area_parts(&self, space_id: &SpaceId) -> StoreResult<Vec<AreaPartRow>> {
        let sql = format!("SELECT {AREA_COLUMNS} FROM area_parts WHERE space_id = $1 ORDER BY created_at, id");
        Ok(on_read!(self, |p| sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(space_id).fetch_all(p).await?))
    }

    /// # Errors
    /// [`super::StoreError::NotFound`].
    pub async fn area_part(&self, id: &str) -> StoreResult<AreaPartRow> {
        let sql = format!("SELECT {AREA_COLUMNS} FROM area_parts WHERE id = $1");
        Ok(on_read!(self, |p| sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id).fetch_one(p).await?))
    }

    /// Inserts or replaces a residency (by id), with its ledger entry.
    ///
    /// # Errors
    /// Database errors; a foreign key for an unknown organisation.
    pub async fn save_residency(&self, row: &ResidencyRow, by: &AccountId, now: i64) -> StoreResult<()> {
        let lock = self.ledger_lock();
        in_write_tx!(self, |tx| {
            sqlx::query(
                "INSERT INTO residencies (id, space_id, organisation_id, agreement_ref, starts_on, ends_on, desks, rooms, \
                 area_m2, founder, product, created_at, created_by, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) \
                 ON CONFLICT (id) DO UPDATE SET agreement_ref = excluded.agreement_ref, starts_on = excluded.starts_on, \
                 ends_on = excluded.ends_on, desks = excluded.desks, rooms = excluded.rooms, area_m2 = excluded.area_m2, \
                 founder = excluded.founder, product = excluded.product, updated_at = excluded.updated_at",
            )
            .bind(&row.id)
            .bind(&row.space_id)
            .bind(&row.organisation_id)
            .bind(&row.agreement_ref)
            .bind(&row.starts_on)
            .bind(&row.ends_on)
            .bind(row.desks)
            .bind(row.rooms)
            .bind(row.area_m2)
            .bind(&row.founder)
            .bind(&row.product)
            .bind(row.created_at)
            .bind(by)
            .bind(row.updated_at)
            .execute(&mut *tx)
            .await?;
            ledger_append!(
                tx,
                lock,
                now,
                [(EntryKind::Register, row.id.as_str(), register_facts("residency", by, row))]
            );
        });
        Ok(())
    }

    /// The residencies of a space, ended ones too, by start.
    ///
    /// # Errors
    /// Database errors.
    pub async fn residencies(&self, space_id: &SpaceId) -> StoreResult<Vec<ResidencyRow>> {
        let sql = format!(
            "SELECT {RESIDENCY_COLUMNS} FROM residencies WHERE space_id = $1 ORDER BY starts_on, created_at, id"
        );
        Ok(on_read!(self, |p| sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(space_id).fetch_all(p).await?))
    }

    /// # Errors
    /// [`super::StoreError::NotFound`].
    pub async fn residency(&self, id: &str) -> StoreResult<ResidencyRow> {
        let sql = format!("SELECT {RESIDENCY_COLUMNS} FROM residencies WHERE id = $1");
        Ok(on_read!(self, |p| sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id).fetch_one(p).await?))
    }

    /// Inserts or replaces an event (by id), with its ledger entry.
    ///
    /// # Errors
    /// Database errors.
    pub async fn save_event(&self, row: &EventRow, by: &AccountId, now: i64) -> StoreResult<()> {
        let lock = self.ledger_lock();
        in_write_tx!(self, |tx| {
            sqlx::query(
                "INSERT INTO events (id, space_id, kind, role, topic, booking_id, starts_at, ends_at, attendance_entered, \
                 attested_by, attested_at, cancelled_at, created_at, created_by) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) \
                 ON CONFLICT (id) DO UPDATE SET topic = excluded.topic, attendance_entered = excluded.attendance_entered, \
                 attested_by = excluded.attested_by, attested_at = excluded.attested_at, cancelled_at = excluded.cancelled_at",
            )
            .bind(&row.id)
            .bind(&row.space_id)
            .bind(&row.kind)
            .bind(&row.role)
            .bind(&row.topic)
            .bind(&row.booking_id)
            .bind(row.starts_at)
            .bind(row.ends_at)
            .bind(row.attendance_entered)
            .bind(&row.attested_by)
            .bind(row.attested_at)
            .bind(row.cancelled_at)
            .bind(row.created_at)
            .bind(by)
            .execute(&mut *tx)
            .await?;
            ledger_append!(tx, lock, now, [(EntryKind::Register, row.id.as_str(), register_facts("event", by, row))]);
        });
        Ok(())
    }

    /// The events of a space, by start.
    ///
    /// # Errors
    /// Database errors.
    pub async fn events_of(&self, space_id: &SpaceId) -> StoreResult<Vec<EventRow>> {
        let sql = format!("SELECT {EVENT_COLUMNS} FROM events e WHERE e.space_id = $1 ORDER BY e.starts_at, e.id");
        Ok(on_read!(self, |p| sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(space_id).fetch_all(p).await?))
    }

    /// # Errors
    /// [`super::StoreError::NotFound`].
    pub async fn event(&self, id: &str) -> StoreResult<EventRow> {
        let sql = format!("SELECT {EVENT_COLUMNS} FROM events e WHERE e.id = $1");
        Ok(on_read!(self, |p| sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id).fetch_one(p).await?))
    }

    /// Stores a document (content and metadata), with its ledger entry (metadata and hash).
    ///
    /// # Errors
    /// Database errors.
    pub async fn insert_document(
        &self,
        row: &DocumentRow,
        content: &[u8],
        by: &AccountId,
        now: i64,
    ) -> StoreResult<()> {
        let lock = self.ledger_lock();
        in_write_tx!(self, |tx| {
            sqlx::query(
                "INSERT INTO documents (id, space_id, residency_id, kind, title, file_name, content_type, size_bytes, \
                 sha256, content, created_at, created_by, withdrawn_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
            )
            .bind(&row.id)
            .bind(&row.space_id)
            .bind(&row.residency_id)
            .bind(&row.kind)
            .bind(&row.title)
            .bind(&row.file_name)
            .bind(&row.content_type)
            .bind(row.size_bytes)
            .bind(&row.sha256)
            .bind(content)
            .bind(row.created_at)
            .bind(by)
            .bind(row.withdrawn_at)
            .execute(&mut *tx)
            .await?;
            ledger_append!(
                tx,
                lock,
                now,
                [(EntryKind::Register, row.id.as_str(), register_facts("document", by, row))]
            );
        });
        Ok(())
    }

    /// Withdraws a document (it stays, listed as withdrawn), with its ledger entry.
    ///
    /// # Errors
    /// [`super::StoreError::NotFound`] when there is no such document that is not withdrawn.
    pub async fn withdraw_document(&self, id: &str, by: &AccountId, now: i64) -> StoreResult<DocumentRow> {
        let lock = self.ledger_lock();
        let sql = format!(
            "UPDATE documents SET withdrawn_at = $2 WHERE id = $1 AND withdrawn_at IS NULL RETURNING {DOCUMENT_COLUMNS}"
        );
        let row: DocumentRow = in_write_tx!(self, |tx| {
            let row: DocumentRow =
                sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id).bind(now).fetch_one(&mut *tx).await?;
            ledger_append!(
                tx,
                lock,
                now,
                [(EntryKind::Register, row.id.as_str(), register_facts("document", by, &row))]
            );
            row
        });
        Ok(row)
    }

    /// The documents of a space (without their content), withdrawn ones too.
    ///
    /// # Errors
    /// Database errors.
    pub async fn documents_of(&self, space_id: &SpaceId) -> StoreResult<Vec<DocumentRow>> {
        let sql = format!("SELECT {DOCUMENT_COLUMNS} FROM documents WHERE space_id = $1 ORDER BY created_at, id");
        Ok(on_read!(self, |p| sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(space_id).fetch_all(p).await?))
    }

    /// A document and its content.
    ///
    /// # Errors
    /// [`super::StoreError::NotFound`].
    pub async fn document(&self, id: &str) -> StoreResult<(DocumentRow, Vec<u8>)> {
        let sql = format!("SELECT {DOCUMENT_COLUMNS} FROM documents WHERE id = $1");
        let row: DocumentRow =
            on_read!(self, |p| sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id).fetch_one(p).await?);
        let content: Vec<u8> = on_read!(self, |p| sqlx::query_scalar("SELECT content FROM documents WHERE id = $1")
            .bind(id)
            .fetch_one(p)
            .await?);
        Ok((row, content))
    }

    /// Registers `account` for an event; `false` if it already was.
    ///
    /// # Errors
    /// Database errors.
    pub async fn register_for_event(&self, event_id: &str, account: &AccountId, now: i64) -> StoreResult<bool> {
        let done = in_write_tx!(self, |tx| {
            sqlx::query(
                "INSERT INTO event_registrations (event_id, account_id, registered_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (event_id, account_id) DO NOTHING",
            )
            .bind(event_id)
            .bind(account)
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected()
        });
        Ok(done == 1)
    }

    /// Withdraws `account`'s registration for an event; `false` if there was none.
    ///
    /// # Errors
    /// Database errors.
    pub async fn withdraw_registration(&self, event_id: &str, account: &AccountId) -> StoreResult<bool> {
        let done = in_write_tx!(self, |tx| {
            sqlx::query("DELETE FROM event_registrations WHERE event_id = $1 AND account_id = $2")
                .bind(event_id)
                .bind(account)
                .execute(&mut *tx)
                .await?
                .rows_affected()
        });
        Ok(done == 1)
    }

    /// When `account` registered for an event, if they did.
    ///
    /// # Errors
    /// Database errors.
    pub async fn registration(&self, event_id: &str, account: &AccountId) -> StoreResult<Option<i64>> {
        Ok(on_read!(self, |p| sqlx::query_scalar(
            "SELECT registered_at FROM event_registrations WHERE event_id = $1 AND account_id = $2"
        )
        .bind(event_id)
        .bind(account)
        .fetch_optional(p)
        .await?))
    }

    /// When `account` checked in at an event with its code, if they did.
    ///
    /// # Errors
    /// Database errors.
    pub async fn attended_at(&self, event_id: &str, account: &AccountId) -> StoreResult<Option<i64>> {
        Ok(on_read!(self, |p| sqlx::query_scalar(
            "SELECT checked_in_at FROM event_attendance WHERE event_id = $1 AND account_id = $2"
        )
        .bind(event_id)
        .bind(account)
        .fetch_optional(p)
        .await?))
    }

    /// The events `account` registered for, with when they checked in (if they did), by start.
    ///
    /// # Errors
    /// Database errors.
    pub async fn registrations_of(&self, account: &AccountId) -> StoreResult<Vec<(EventRow, Option<i64>)>> {
        #[derive(sqlx::FromRow)]
        struct Row {
            #[sqlx(flatten)]
            event: EventRow,
            attended_at: Option<i64>,
        }
        let sql = format!(
            "SELECT {EVENT_COLUMNS}, (SELECT a.checked_in_at FROM event_attendance a \
             WHERE a.event_id = e.id AND a.account_id = r.account_id) AS attended_at \
             FROM event_registrations r JOIN events e ON e.id = r.event_id \
             WHERE r.account_id = $1 ORDER BY e.starts_at, e.id"
        );
        let rows: Vec<Row> =
            on_read!(self, |p| sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(account).fetch_all(p).await?);
        Ok(rows.into_iter().map(|r| (r.event, r.attended_at)).collect())
    }

    /// Records a participant's check-in at an event (metered attendance), with its ledger
    /// entry. Returns when they first checked in and whether this scan was that first one: a
    /// second scan changes nothing.
    ///
    /// # Errors
    /// Database errors.
    pub async fn record_attendance(
        &self,
        event_id: &str,
        account: &AccountId,
        kiosk_id: &str,
        now: i64,
    ) -> StoreResult<(i64, bool)> {
        let lock = self.ledger_lock();
        let out = in_write_tx!(self, |tx| {
            let inserted = sqlx::query(
                "INSERT INTO event_attendance (event_id, account_id, kiosk_id, checked_in_at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (event_id, account_id) DO NOTHING",
            )
            .bind(event_id)
            .bind(account)
            .bind(kiosk_id)
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected()
                == 1;
            if inserted {
                let facts = json!({"event": event_id, "account": account, "kiosk": kiosk_id});
                ledger_append!(tx, lock, now, [(EntryKind::Attendance, event_id, facts)]);
                (now, true)
            } else {
                let at: i64 = sqlx::query_scalar(
                    "SELECT checked_in_at FROM event_attendance WHERE event_id = $1 AND account_id = $2",
                )
                .bind(event_id)
                .bind(account)
                .fetch_one(&mut *tx)
                .await?;
                (at, false)
            }
        });
        Ok(out)
    }

    /// The events of a space that have not ended and are not cancelled, by start.
    ///
    /// # Errors
    /// Database errors.
    pub async fn upcoming_events(&self, space_id: &SpaceId, now: i64) -> StoreResult<Vec<EventRow>> {
        let sql = format!(
            "SELECT {EVENT_COLUMNS} FROM events e WHERE e.space_id = $1 AND e.ends_at > $2 \
             AND e.cancelled_at IS NULL ORDER BY e.starts_at, e.id"
        );
        Ok(on_read!(self, |p| sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(space_id).bind(now).fetch_all(p).await?))
    }
}
