//! Bookings, where the no-double-booking invariant is enforced by the database itself.
//!
//! PostgreSQL: the exclusion constraint `booking_no_overlap`, written to with
//! `INSERT … ON CONFLICT DO NOTHING RETURNING id` (plain INSERTs that collide on an
//! exclusion constraint deadlock under contention; DO NOTHING does not). No row back
//! means the unit is taken (single bookings go in groups of such rows: `pg_batch`). SQLite:
//! the `booking_no_overlap` trigger aborts the write inside its `BEGIN IMMEDIATE` transaction
//! (single bookings: in the group writer's transaction, `group_commit`).

use super::dialect::Dialect;
use super::{Db, StoreError, StoreResult, new_id};
use crate::domain::booking::{BookingKind, BookingStatus};
use crate::domain::ids::{AccountId, BookingId, ResourceId, SpaceId, UnitId};
use crate::domain::interval::Interval;
use crate::domain::ledger::EntryKind;
use crate::{in_write_tx, on_read};

/// What a new booking row needs. `blocked` must contain `span` (the buffers widen it).
#[derive(Debug, Clone)]
pub struct NewBooking<'a> {
    pub unit_id: &'a UnitId,
    pub resource_id: &'a ResourceId,
    pub space_id: &'a SpaceId,
    pub account_id: &'a AccountId,
    pub organisation_id: Option<&'a str>,
    pub status: BookingStatus,
    pub span: Interval,
    pub blocked: Interval,
    pub purpose: &'a str,
    pub checkin_nonce: &'a str,
    /// `single`, `series`, `stay` or `walk_up`.
    pub kind: BookingKind,
    pub now: i64,
}

/// The columns every booking insert names, in the order of its values (`$1` … `$15`, with
/// `$14` twice: created and updated at the same instant).
macro_rules! booking_columns {
    () => {
        "id, unit_id, resource_id, space_id, account_id, organisation_id, status, \
         starts_at, ends_at, blocked_from, blocked_until, purpose, checkin_nonce, created_at, updated_at, kind"
    };
}

/// One booking row; on PostgreSQL followed by `ON CONFLICT DO NOTHING RETURNING id`.
pub(super) const INSERT_BOOKING: &str = concat!(
    "INSERT INTO bookings (",
    booking_columns!(),
    ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14, $15)"
);

/// Many booking rows from arrays, one per column (PostgreSQL; see `pg_batch`).
pub(super) const INSERT_BOOKINGS_UNNEST: &str = concat!(
    "INSERT INTO bookings (",
    booking_columns!(),
    ") SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], \
     $7::text[], $8::bigint[], $9::bigint[], $10::bigint[], $11::bigint[], $12::text[], $13::text[], \
     $14::bigint[], $14::bigint[], $15::text[]) ON CONFLICT DO NOTHING RETURNING id"
);

/// A [`NewBooking`] with its id and its text owned, to travel to a writer (the SQLite group
/// writer's thread, PostgreSQL's batch writers).
#[derive(Debug, Clone)]
pub(super) struct OwnedBooking {
    pub id: String,
    pub unit_id: String,
    pub resource_id: String,
    pub space_id: String,
    pub account_id: String,
    pub organisation_id: Option<String>,
    pub status: String,
    pub span: Interval,
    pub blocked: Interval,
    pub purpose: String,
    pub checkin_nonce: String,
    pub kind: String,
    pub now: i64,
}

impl OwnedBooking {
    fn new(id: &BookingId, b: &NewBooking<'_>) -> Self {
        OwnedBooking {
            id: id.to_string(),
            unit_id: b.unit_id.to_string(),
            resource_id: b.resource_id.to_string(),
            space_id: b.space_id.to_string(),
            account_id: b.account_id.to_string(),
            organisation_id: b.organisation_id.map(str::to_owned),
            status: b.status.as_str().to_owned(),
            span: b.span,
            blocked: b.blocked,
            purpose: b.purpose.to_owned(),
            checkin_nonce: b.checkin_nonce.to_owned(),
            kind: b.kind.as_str().to_owned(),
            now: b.now,
        }
    }
}

static INSERT_BOOKING_SQLITE: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| super::sqlite_numbered(INSERT_BOOKING));

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
            .bind($b.kind)
    };
}

impl Db {
    /// Inserts one booking in its own transaction and returns its id.
    ///
    /// # Errors
    /// [`StoreError::Overlap`] when a live booking of the unit overlaps `blocked`; the
    /// database decides this, so it holds however many nodes race.
    pub async fn insert_booking(&self, b: &NewBooking<'_>) -> StoreResult<BookingId> {
        let id = BookingId::new(new_id());
        match self {
            // With whatever other bookings are waiting, in one statement (see `pg_batch`).
            Db::Postgres { batcher, .. } => batcher.insert(OwnedBooking::new(&id, b)).await?,
            // Through the group writer: committed with whatever other bookings are waiting,
            // in its own savepoint, and answered only after that COMMIT.
            Db::Sqlite { writer, .. } => {
                let b = OwnedBooking::new(&id, b);
                writer
                    .run(move |c| {
                        c.prepare_cached(&INSERT_BOOKING_SQLITE)?.execute(rusqlite::params![
                            b.id,
                            b.unit_id,
                            b.resource_id,
                            b.space_id,
                            b.account_id,
                            b.organisation_id,
                            b.status,
                            b.span.start(),
                            b.span.end(),
                            b.blocked.start(),
                            b.blocked.end(),
                            b.purpose,
                            b.checkin_nonce,
                            b.now,
                            b.kind,
                        ])
                    })
                    .await?;
            }
        }
        Ok(id)
    }
}

/// A booking as stored, with its unit's label.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct BookingRow {
    pub id: BookingId,
    pub unit_id: UnitId,
    pub unit_label: String,
    pub resource_name_zh: String,
    pub resource_name_en: String,
    pub space_slug: String,
    pub timezone: String,
    pub resource_id: ResourceId,
    pub space_id: SpaceId,
    pub account_id: AccountId,
    pub organisation_id: Option<String>,
    pub series_id: Option<String>,
    pub kind: BookingKind,
    pub status: BookingStatus,
    pub starts_at: i64,
    pub ends_at: i64,
    pub blocked_from: i64,
    pub blocked_until: i64,
    pub purpose: String,
    pub checkin_nonce: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub decided_by: Option<String>,
    pub decided_at: Option<i64>,
    pub decision_reason: Option<String>,
    pub cancelled_by: Option<String>,
    pub cancelled_at: Option<i64>,
    pub cancel_reason: Option<String>,
    /// The resource's kind and stored policy (JSON), read with the booking.
    pub resource_kind: String,
    pub resource_policy: String,
}

pub(crate) const BOOKING_SELECT: &str = "SELECT b.id, b.unit_id, u.label AS unit_label, r.name_zh AS resource_name_zh, \
     r.name_en AS resource_name_en, s.slug AS space_slug, s.timezone, b.resource_id, b.space_id, b.account_id, \
     b.organisation_id, b.series_id, b.kind, b.status, b.starts_at, b.ends_at, b.blocked_from, b.blocked_until, b.purpose, \
     b.checkin_nonce, b.created_at, b.updated_at, b.decided_by, b.decided_at, b.decision_reason, b.cancelled_by, \
     b.cancelled_at, b.cancel_reason, r.kind AS resource_kind, r.policy AS resource_policy FROM bookings b JOIN units u ON u.id = b.unit_id \
     JOIN resources r ON r.id = b.resource_id JOIN spaces s ON s.id = b.space_id";

/// Filters for listing bookings. Every field narrows the list.
#[derive(Debug, Clone, Default)]
pub struct BookingFilter<'a> {
    pub account_id: Option<&'a AccountId>,
    pub space_id: Option<&'a SpaceId>,
    pub unit_id: Option<&'a UnitId>,
    pub series_id: Option<&'a str>,
    pub status: Option<BookingStatus>,
    /// Bookings that overlap this window.
    pub window: Option<Interval>,
    pub limit: i64,
}

/// The resource a maker's facts are about: its id, and its space and kind (for kind quotas).
#[derive(Debug, Clone, Copy)]
pub struct ResourceRef<'a> {
    pub id: &'a ResourceId,
    pub space_id: &'a SpaceId,
    pub kind: &'a str,
    /// Whether the space sets a quota for this kind; if not, the kind usage is not computed.
    pub kind_quota: bool,
    /// Whether the resource's policy sets a quota; if not, the usage of it is not computed.
    pub quota: bool,
    /// Also read this unit's live blocks in this window, in the same round trip.
    pub blocks_of: Option<(&'a UnitId, Interval)>,
}

/// What the booking rules need to know about a maker.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MakerRow {
    pub verified: bool,
    /// (training slug, expires_at) of grants not revoked.
    pub trainings: Vec<(String, Option<i64>)>,
    pub week_minutes: i64,
    pub active_bookings: i64,
    /// The same over every resource of this kind in the space.
    pub kind_week_minutes: i64,
    pub kind_active_bookings: i64,
    /// The live blocks of `ResourceRef::blocks_of`'s unit (empty when not asked).
    pub unit_blocks: Vec<Interval>,
}

impl Db {
    /// # Errors
    /// [`StoreError::NotFound`].
    pub async fn booking(&self, id: &BookingId) -> StoreResult<BookingRow> {
        let sql = format!("{BOOKING_SELECT} WHERE b.id = $1");
        Ok(on_read!(self, |p| sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id).fetch_one(p).await?))
    }

    /// Bookings matching every given filter, by start.
    ///
    /// # Errors
    /// Database errors.
    pub async fn bookings(&self, f: &BookingFilter<'_>) -> StoreResult<Vec<BookingRow>> {
        let (from, until) = f.window.map_or((i64::MIN, i64::MAX), |w| (w.start(), w.end()));
        // Only the filters given are in the text: SQLite uses no index for a term such as
        // `$1 IS NULL OR b.account_id = $1`, and a maker's list read every booking.
        let given = [
            ("b.account_id", f.account_id.map(AccountId::as_str)),
            ("b.space_id", f.space_id.map(SpaceId::as_str)),
            ("b.unit_id", f.unit_id.map(UnitId::as_str)),
            ("b.status", f.status.map(BookingStatus::as_str)),
            ("b.series_id", f.series_id),
        ];
        let sql = bookings_sql(&given);
        Ok(on_read!(self, |p| {
            let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(from).bind(until).bind(f.limit);
            for value in given.iter().filter_map(|(_, v)| *v) {
                q = q.bind(value);
            }
            q.fetch_all(p).await?
        }))
    }

    /// Moves a live booking to `cancelled`, keeping who, when and why. Returns false when
    /// it was not live (already cancelled, declined, ...).
    ///
    /// # Errors
    /// Database errors.
    pub async fn cancel_booking(
        &self,
        id: &BookingId,
        by: &AccountId,
        reason: Option<&str>,
        now: i64,
    ) -> StoreResult<bool> {
        let lock = self.ledger_lock();
        let n = in_write_tx!(self, |tx| {
            let n = sqlx::query(
                "UPDATE bookings SET status = 'cancelled', cancelled_by = $2, cancelled_at = $3, cancel_reason = $4, updated_at = $3 \
                 WHERE id = $1 AND status IN ('pending', 'confirmed')",
            )
            .bind(id)
            .bind(by)
            .bind(now)
            .bind(reason)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if n > 0 {
                let facts = serde_json::json!({ "booking": id, "by": by, "reason": reason });
                crate::ledger_append!(tx, lock, now, [(EntryKind::Cancellation, id.as_str(), facts)]);
            }
            n
        });
        Ok(n > 0)
    }

    /// Approves (`confirmed`) or declines a pending booking. Returns false when it was not pending.
    ///
    /// # Errors
    /// Database errors.
    pub async fn decide_booking(
        &self,
        id: &BookingId,
        approve: bool,
        by: &AccountId,
        reason: Option<&str>,
        now: i64,
    ) -> StoreResult<bool> {
        let status = if approve { BookingStatus::Confirmed } else { BookingStatus::Declined };
        let n = in_write_tx!(self, |tx| {
            sqlx::query(
                "UPDATE bookings SET status = $2, decided_by = $3, decided_at = $4, decision_reason = $5, updated_at = $4 \
                 WHERE id = $1 AND status = 'pending'",
            )
            .bind(id)
            .bind(status)
            .bind(by)
            .bind(now)
            .bind(reason)
            .execute(&mut *tx)
            .await?
            .rows_affected()
        });
        Ok(n > 0)
    }

    /// The facts the booking rules need about `account` on `resource`.
    ///
    /// # Errors
    /// Database errors.
    pub async fn maker_facts(
        &self,
        account: &AccountId,
        resource: &ResourceRef<'_>,
        week: Interval,
        now: i64,
    ) -> StoreResult<MakerRow> {
        self.maker_facts_via(account, resource, week, now, true).await
    }

    /// [`Db::maker_facts`] in a statement of its own on PostgreSQL, as a grouped read whose
    /// statement failed asks it; the tests compare the two.
    ///
    /// # Errors
    /// Database errors.
    #[doc(hidden)]
    pub async fn maker_facts_alone(
        &self,
        account: &AccountId,
        resource: &ResourceRef<'_>,
        week: Interval,
        now: i64,
    ) -> StoreResult<MakerRow> {
        self.maker_facts_via(account, resource, week, now, false).await
    }

    async fn maker_facts_via(
        &self,
        account: &AccountId,
        resource: &ResourceRef<'_>,
        week: Interval,
        now: i64,
        grouped: bool,
    ) -> StoreResult<MakerRow> {
        // One round trip: the account flag and the usage in one row, the trainings as text.
        let switches = (usize::from(resource.kind_quota) << 1) | usize::from(resource.quota);
        let sql = &FACTS_SQL[switches];
        let (unit, window) = match resource.blocks_of {
            Some((u, w)) => (Some(u), w),
            None => (None, week),
        };
        let (verified, week_ms, active, trainings, kind_ms, kind_active, blocks): FactsRow = match self {
            // Every booking asks this: inline, without sqlx's thread hand-off.
            Db::Sqlite { direct, .. } => direct.read(|c| {
                c.prepare_cached(&sql.sqlite)?.query_row(
                    rusqlite::params![
                        account,
                        resource.id,
                        week.start(),
                        week.end(),
                        now,
                        resource.space_id,
                        resource.kind,
                        unit,
                        window.start(),
                        window.end(),
                    ],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?)),
                )
            })?,
            // With whatever other facts reads of the same shape are waiting, in one statement.
            Db::Postgres { facts, hot, .. } => {
                let args = FactsArgs {
                    account: account.to_string(),
                    resource: resource.id.to_string(),
                    week: (week.start(), week.end()),
                    now,
                    space: resource.space_id.to_string(),
                    kind: resource.kind.to_owned(),
                    unit: unit.map(UnitId::to_string),
                    window: (window.start(), window.end()),
                };
                if grouped { facts.read(switches, args).await? } else { facts_alone(hot, switches, args).await? }
            }
        };
        let mut unit_blocks = super::parse_interval_list(blocks.as_deref())?;
        unit_blocks.sort_by_key(Interval::start);
        let trainings = trainings
            .unwrap_or_default()
            .split(',')
            .filter(|x| !x.is_empty())
            .filter_map(|x| x.rsplit_once(':'))
            .map(|(slug, exp)| (slug.to_owned(), exp.parse::<i64>().ok()))
            .collect();
        Ok(MakerRow {
            verified,
            trainings,
            week_minutes: week_ms.unwrap_or(0) / 60_000,
            active_bookings: active,
            kind_week_minutes: kind_ms.unwrap_or(0) / 60_000,
            kind_active_bookings: kind_active,
            unit_blocks,
        })
    }
}

/// A recurring series, stored with its bookings.
#[derive(Debug, Clone)]
pub struct NewSeries<'a> {
    pub account_id: &'a AccountId,
    pub resource_id: &'a ResourceId,
    pub rrule: &'a str,
    pub dtstart_local: &'a str,
    pub timezone: &'a str,
    pub duration_min: i64,
    pub now: i64,
}

impl Db {
    /// Inserts bookings (and their series, if given) in one transaction. With
    /// `all_or_nothing`, the first overlap rolls everything back and is reported as
    /// [`StoreError::Overlap`]; otherwise overlapping ones are skipped (`None` in the answer)
    /// and the rest are kept. A booking's `series_id` is set to the new series.
    ///
    /// # Errors
    /// [`StoreError::Overlap`] (all or nothing), database errors.
    pub async fn insert_bookings(
        &self,
        bookings: &[NewBooking<'_>],
        series: Option<&NewSeries<'_>>,
        all_or_nothing: bool,
    ) -> StoreResult<(Option<String>, Vec<Option<BookingId>>)> {
        // Two transactions inserting overlapping rows in different orders can deadlock on
        // PostgreSQL; the loser is rolled back whole and runs again.
        let mut attempt = 0;
        loop {
            match self.insert_bookings_once(bookings, series, all_or_nothing).await {
                Err(StoreError::Retry(why)) if attempt < 3 => {
                    attempt += 1;
                    tracing::warn!(attempt, %why, "retrying a booking transaction");
                }
                other => return other,
            }
        }
    }

    async fn insert_bookings_once(
        &self,
        bookings: &[NewBooking<'_>],
        series: Option<&NewSeries<'_>>,
        all_or_nothing: bool,
    ) -> StoreResult<(Option<String>, Vec<Option<BookingId>>)> {
        let series_id = series.map(|_| new_id());
        let ids: Vec<BookingId> = bookings.iter().map(|_| BookingId::new(new_id())).collect();
        let sql_pg = concat!(
            "INSERT INTO bookings (",
            booking_columns!(),
            ", series_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14, $15, $16) \
             ON CONFLICT DO NOTHING RETURNING id"
        );
        let out = in_write_tx!(self, |tx| {
            if let (Some(s), Some(id)) = (series, &series_id) {
                sqlx::query(
                    "INSERT INTO series (id, account_id, resource_id, rrule, dtstart_local, timezone, duration_min, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                )
                .bind(id)
                .bind(s.account_id)
                .bind(s.resource_id)
                .bind(s.rrule)
                .bind(s.dtstart_local)
                .bind(s.timezone)
                .bind(s.duration_min)
                .bind(s.now)
                .execute(&mut *tx)
                .await?;
            }
            let mut out = Vec::with_capacity(bookings.len());
            for (b, id) in bookings.iter().zip(&ids) {
                let res: Result<Option<String>, sqlx::Error> =
                    bind_all!(sqlx::query_scalar(sql_pg), id, b).bind(&series_id).fetch_optional(&mut *tx).await;
                let inserted = match res {
                    Ok(row) => row.is_some(),
                    Err(e) => match StoreError::from(e) {
                        // SQLite: the trigger aborted this statement only; the transaction goes on.
                        StoreError::Overlap => false,
                        other => return Err(other),
                    },
                };
                if !inserted && all_or_nothing {
                    return Err(StoreError::Overlap);
                }
                out.push(inserted.then(|| id.clone()));
            }
            out
        });
        Ok((series_id, out))
    }

    /// Cancels the live bookings of a series that start at or after `from`.
    /// Returns how many were cancelled.
    ///
    /// # Errors
    /// Database errors.
    pub async fn cancel_series_from(
        &self,
        series_id: &str,
        from: i64,
        by: &AccountId,
        reason: Option<&str>,
        now: i64,
    ) -> StoreResult<u64> {
        let lock = self.ledger_lock();
        let n = in_write_tx!(self, |tx| {
            let ids: Vec<String> = sqlx::query_scalar(
                "UPDATE bookings SET status = 'cancelled', cancelled_by = $3, cancelled_at = $4, cancel_reason = $5, updated_at = $4 \
                 WHERE series_id = $1 AND starts_at >= $2 AND status IN ('pending', 'confirmed') RETURNING id",
            )
            .bind(series_id)
            .bind(from)
            .bind(by)
            .bind(now)
            .bind(reason)
            .fetch_all(&mut *tx)
            .await?;
            if !ids.is_empty() {
                let entries: Vec<(EntryKind, &str, serde_json::Value)> = ids
                    .iter()
                    .map(|id| {
                        (
                            EntryKind::Cancellation,
                            id.as_str(),
                            serde_json::json!({ "booking": id, "by": by, "reason": reason }),
                        )
                    })
                    .collect();
                crate::ledger_append!(tx, lock, now, entries);
            }
            sqlx::query("UPDATE series SET cancelled_at = $2 WHERE id = $1 AND $3 = TRUE")
                .bind(series_id)
                .bind(now)
                .bind(from == i64::MIN)
                .execute(&mut *tx)
                .await?;
            ids.len() as u64
        });
        Ok(n)
    }

    /// Moves a live booking to another unit and time, atomically: it fully succeeds or the
    /// booking is left as it was, from status `was` to `status`. Returns false when the booking
    /// was not live, or not `was` any more.
    ///
    /// # Errors
    /// [`StoreError::Overlap`] when the new place is taken.
    pub async fn move_booking(
        &self,
        id: &BookingId,
        unit_id: &UnitId,
        span: Interval,
        blocked: Interval,
        (was, status): (BookingStatus, BookingStatus),
        now: i64,
    ) -> StoreResult<bool> {
        // Back to `pending`, the earlier decision no longer holds: it is cleared. Only from the
        // status the move was judged on (`was`): one decided meanwhile is not overwritten.
        let undecided = status == BookingStatus::Pending;
        let n = in_write_tx!(self, |tx| {
            sqlx::query(
                "UPDATE bookings SET unit_id = $2, starts_at = $3, ends_at = $4, blocked_from = $5, blocked_until = $6, updated_at = $7, \
                 status = $8, \
                 decided_by = CASE WHEN $9 THEN NULL ELSE decided_by END, \
                 decided_at = CASE WHEN $9 THEN NULL ELSE decided_at END, \
                 decision_reason = CASE WHEN $9 THEN NULL ELSE decision_reason END \
                 WHERE id = $1 AND status IN ('pending', 'confirmed') AND status = $10",
            )
            .bind(id)
            .bind(unit_id)
            .bind(span.start())
            .bind(span.end())
            .bind(blocked.start())
            .bind(blocked.end())
            .bind(now)
            .bind(status)
            .bind(undecided)
            .bind(was)
            .execute(&mut *tx)
            .await?
            .rows_affected()
        });
        Ok(n > 0)
    }
}

/// The maker's facts statement (see [`Db::maker_facts`]): `switches` bit 1 is the space's
/// quota for the kind, bit 0 the resource's own quota; a usage that no switch asks for is a
/// literal 0. Parameters: $1 account, $2 resource, $3/$4 the week, $5 now, $6 space, $7 kind,
/// $8 the unit whose blocks come along, $9/$10 their window.
fn facts_sql(d: Dialect, switches: usize) -> String {
    let trainings = d.join_commas(&format!("t.slug || ':' || COALESCE({}, '')", d.text("g.expires_at")));
    let blocks = d.join_intervals("x.blocked_from", "x.blocked_until");
    let touching = d.blocks_touching("x", "$8", "$9", "$10");
    let live = super::types::sql_list(&BookingStatus::LIVE);
    // The maker's live minutes in the week and live bookings not yet ended, over `scope`.
    let usage = |on: bool, scope: &str| -> [String; 2] {
        if !on {
            return ["CAST(0 AS BIGINT)".to_owned(), "CAST(0 AS BIGINT)".to_owned()];
        }
        [
            format!(
                "(SELECT CAST(SUM(CASE WHEN b.ends_at > $3 AND b.starts_at < $4 THEN b.ends_at - b.starts_at ELSE 0 END) AS BIGINT) \
                 {scope} AND b.status IN {live})"
            ),
            format!("(SELECT COUNT(*) {scope} AND b.ends_at > $5 AND b.status IN {live})"),
        ]
    };
    let [own_minutes, own_active] =
        usage(switches & 1 == 1, "FROM bookings b WHERE b.account_id = a.id AND b.resource_id = $2");
    let [kind_minutes, kind_active] = usage(
        switches & 2 == 2,
        "FROM bookings b JOIN resources r ON r.id = b.resource_id \
         WHERE b.account_id = a.id AND r.space_id = $6 AND r.kind = $7",
    );
    format!(
        "SELECT a.verified_maker, {own_minutes}, {own_active}, \
         (SELECT {trainings} FROM training_grants g JOIN trainings t ON t.id = g.training_id \
            WHERE g.account_id = a.id AND g.revoked_at IS NULL), \
         {kind_minutes}, {kind_active}, \
         (SELECT {blocks} FROM bookings x WHERE x.status IN {live} AND {touching}) \
         FROM accounts a WHERE a.id = $1"
    )
}

/// The maker's facts statement in four texts, one per pair of quota switches: a usage
/// subquery that no quota needs is left out of the statement (a literal 0 in its place),
/// because PostgreSQL sets up every subplan at executor start even when a `CASE` would never
/// run it.
static FACTS_SQL: std::sync::LazyLock<[super::TwoDialects; 4]> =
    std::sync::LazyLock::new(|| [0, 1, 2, 3].map(|switches| super::TwoDialects::new(|d| facts_sql(d, switches))));

/// One row of the maker's facts statement (see [`Db::maker_facts`]).
type FactsRow = (bool, Option<i64>, i64, Option<String>, Option<i64>, i64, Option<String>);

/// The bookings list with an equality term for each column whose value is given: `$1`/`$2`
/// the window, `$3` the limit, then the given values in order.
fn bookings_sql(given: &[(&str, Option<&str>)]) -> String {
    let mut sql = format!("{BOOKING_SELECT} WHERE b.ends_at > $1 AND b.starts_at < $2");
    for (n, (column, _)) in (4..).zip(given.iter().filter(|(_, value)| value.is_some())) {
        sql.push_str(&format!(" AND {column} = ${n}"));
    }
    sql + " ORDER BY b.starts_at, b.id LIMIT $3"
}

/// The parameters of one facts read ($1 … $10 of [`facts_sql`]).
struct FactsArgs {
    account: String,
    resource: String,
    week: (i64, i64),
    now: i64,
    space: String,
    kind: String,
    unit: Option<String>,
    window: (i64, i64),
}

type FactsJob = super::grouped::Job<FactsArgs, FactsRow>;

/// PostgreSQL's facts reads, grouped as the session reads are (see [`super::grouped`]): one
/// grouper per statement text (pair of quota switches).
#[derive(Clone, Debug)]
pub struct FactsReader {
    by_switches: [super::grouped::Grouped<FactsJob>; 4],
}

/// Statements in flight at once per text, and most reads per statement.
const FACTS_WORKERS: usize = 2;
const FACTS_GROUP: usize = 64;

impl FactsReader {
    /// Starts the readers on the current runtime, on `pool`.
    #[must_use]
    pub fn start(pool: &sqlx::PgPool) -> FactsReader {
        FactsReader {
            by_switches: [0, 1, 2, 3].map(|switches| {
                let pool = pool.clone();
                super::grouped::Grouped::start(FACTS_WORKERS, FACTS_GROUP, move |group| {
                    let pool = pool.clone();
                    async move { read_facts(&pool, switches, group).await }
                })
            }),
        }
    }

    async fn read(&self, switches: usize, args: FactsArgs) -> StoreResult<FactsRow> {
        self.by_switches[switches].ask(args).await
    }
}

/// [`facts_sql`] for many reads at once: the parameters come as arrays, one row of `q` per
/// read, and `q.i` says which read a row answers.
fn grouped_facts_sql(switches: usize) -> String {
    let mut sql = facts_sql(Dialect::Postgres, switches);
    // $10 before $1, so that "$1" does not eat the start of "$10".
    for n in (1..=10).rev() {
        sql = sql.replace(&format!("${n}"), &format!("q.c{n}"));
    }
    let from = "FROM accounts a WHERE a.id = q.c1";
    assert!(sql.ends_with(from) && sql.starts_with("SELECT "), "the facts statement changed shape");
    format!(
        "SELECT q.i, {} FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[], $5::bigint[], $6::text[], \
         $7::text[], $8::text[], $9::bigint[], $10::bigint[]) WITH ORDINALITY \
         AS q(c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, i) JOIN accounts a ON a.id = q.c1",
        &sql["SELECT ".len()..sql.len() - from.len()]
    )
}

async fn read_facts(pool: &sqlx::PgPool, switches: usize, group: Vec<FactsJob>) {
    static GROUPED: std::sync::LazyLock<[String; 4]> = std::sync::LazyLock::new(|| [0, 1, 2, 3].map(grouped_facts_sql));
    let col = |f: fn(&FactsArgs) -> String| group.iter().map(|(a, _)| f(a)).collect::<Vec<String>>();
    let num = |f: fn(&FactsArgs) -> i64| group.iter().map(|(a, _)| f(a)).collect::<Vec<i64>>();
    type Grouped = (i64, bool, Option<i64>, i64, Option<String>, Option<i64>, i64, Option<String>);
    let rows: Result<Vec<Grouped>, sqlx::Error> = sqlx::query_as(sqlx::AssertSqlSafe(GROUPED[switches].as_str()))
        .bind(col(|a| a.account.clone()))
        .bind(col(|a| a.resource.clone()))
        .bind(num(|a| a.week.0))
        .bind(num(|a| a.week.1))
        .bind(num(|a| a.now))
        .bind(col(|a| a.space.clone()))
        .bind(col(|a| a.kind.clone()))
        .bind(group.iter().map(|(a, _)| a.unit.clone()).collect::<Vec<Option<String>>>())
        .bind(num(|a| a.window.0))
        .bind(num(|a| a.window.1))
        .fetch_all(pool)
        .await;
    let rows = rows.map(|rows| rows.into_iter().map(|(i, a, b, c, d, e, f, g)| (i, (a, b, c, d, e, f, g))).collect());
    // No row: the account does not exist (as `fetch_one` of the single statement says).
    super::grouped::answer(group, rows, |row| row.ok_or(StoreError::NotFound), |a| facts_alone(pool, switches, a))
        .await;
}

/// One facts read in a statement of its own (PostgreSQL).
async fn facts_alone(pool: &sqlx::PgPool, switches: usize, a: FactsArgs) -> StoreResult<FactsRow> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(FACTS_SQL[switches].postgres.as_str()))
        .bind(&a.account)
        .bind(&a.resource)
        .bind(a.week.0)
        .bind(a.week.1)
        .bind(a.now)
        .bind(&a.space)
        .bind(&a.kind)
        .bind(&a.unit)
        .bind(a.window.0)
        .bind(a.window.1)
        .fetch_one(pool)
        .await?)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_bookings_list_names_only_the_filters_given_numbered_after_the_window_and_limit() {
        let sql = super::bookings_sql(&[
            ("b.account_id", Some("a")),
            ("b.space_id", None),
            ("b.unit_id", None),
            ("b.status", None),
            ("b.series_id", Some("s")),
        ]);
        assert!(
            sql.ends_with(
                "WHERE b.ends_at > $1 AND b.starts_at < $2 AND b.account_id = $4 AND b.series_id = $5 \
                 ORDER BY b.starts_at, b.id LIMIT $3"
            ),
            "{sql}"
        );
        assert!(!sql.contains("IS NULL OR"), "{sql}");
    }

    /// The grouped facts text takes every parameter from its row of `q` (none is left as a
    /// placeholder but the ten arrays) and keeps the single text's columns.
    #[test]
    fn the_grouped_facts_statement_reads_each_parameter_from_its_row() {
        for switches in 0..4 {
            let grouped = super::grouped_facts_sql(switches);
            let after_from = grouped.split(" FROM unnest(").nth(1).expect("an unnest");
            let (arrays, rest) = after_from.split_once(") WITH ORDINALITY").expect("ordinality");
            assert_eq!(arrays.matches('$').count(), 10, "{grouped}");
            assert!(!rest.contains('$'), "a placeholder outside the arrays: {grouped}");
            assert!(!grouped[..grouped.find(" FROM unnest(").unwrap()].contains('$'), "{grouped}");
            assert!(grouped.starts_with("SELECT q.i, a.verified_maker, "), "{grouped}");
            assert!(grouped.contains("(q.c8::text)::uuid"), "{grouped}");
        }
    }
}
