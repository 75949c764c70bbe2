//! The reads behind utilization reports: a space's units (retired ones too), the bookings
//! and metered sessions that touch a window, and each maker's first session there.
//! Read-only; every query is bounded by the space and the window.

use super::{Db, StoreResult};
use crate::domain::booking::{BookingKind, BookingStatus};
use crate::domain::checkin::SessionOrigin;
use crate::domain::ids::{AccountId, BookingId, ResourceId, SpaceId, UnitId};
use crate::domain::interval::Interval;
use crate::on_read;

/// A unit of a space, with what a report needs of its resource.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ReportUnit {
    pub id: UnitId,
    pub label: String,
    pub resource_id: ResourceId,
    pub resource_kind: String,
    pub resource_name_zh: String,
    pub resource_name_en: String,
    /// The resource's booking policy, JSON (its recorded price).
    pub policy: String,
    pub created_at: i64,
    pub retired_at: Option<i64>,
    pub archived_at: Option<i64>,
}

/// A booking of the space that touches the window.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ReportBooking {
    pub id: BookingId,
    pub unit_id: UnitId,
    pub account_id: AccountId,
    pub organisation_id: Option<String>,
    pub kind: BookingKind,
    pub status: BookingStatus,
    pub starts_at: i64,
    pub ends_at: i64,
    pub cancelled_at: Option<i64>,
    /// It has a metered session of positive length that starts before the report's `now`.
    pub has_session: bool,
}

/// A metered session of the space that touches the window, with its booking's facts.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ReportSession {
    pub id: String,
    pub booking_id: Option<BookingId>,
    pub unit_id: UnitId,
    pub account_id: AccountId,
    pub started_at: i64,
    pub ended_at: Option<i64>,
    pub opened_by: SessionOrigin,
    pub organisation_id: Option<String>,
    pub booking_kind: Option<BookingKind>,
    pub booking_status: Option<BookingStatus>,
    pub booking_starts_at: Option<i64>,
    pub booking_ends_at: Option<i64>,
    pub verified_maker: bool,
}

/// How far before a window a booking or session that reaches into it may start: the longest
/// blocked interval of any of the space's resources (kept by the database), plus two days
/// for automatic check-out's grace and the buffers. A session is closed automatically after
/// its booking's end, so none runs longer; open sessions are read apart.
const LEAD_SLACK_MS: i64 = 2 * 86_400_000;

/// Runs a long read on SQLite directly (rusqlite, on the blocking pool): sqlx hands every row
/// of its SQLite driver over a channel from the connection's thread and copies each value
/// twice, which cost three quarters of a space-year report (about 110,000 rows); read this
/// way the rows cost what the statement costs. On the blocking pool, so that the runtime's
/// workers keep answering other requests meanwhile.
pub(super) async fn read_rows<T: Send + 'static>(
    direct: &std::sync::Arc<super::direct_read::DirectReader>,
    sql: &str,
    rows: impl FnOnce(&mut rusqlite::CachedStatement<'_>) -> rusqlite::Result<Vec<T>> + Send + 'static,
) -> StoreResult<Vec<T>> {
    let (direct, sql) = (std::sync::Arc::clone(direct), sql.to_owned());
    let read = tokio::task::spawn_blocking(move || direct.read(|c| rows(&mut c.prepare_cached(&sql)?)));
    match read.await {
        Ok(rows) => Ok(rows?),
        Err(e) => std::panic::resume_unwind(e.into_panic()),
    }
}

/// A [`ReportSession`] from a row of `report_sessions`' columns, in order.
fn session_of_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ReportSession> {
    Ok(ReportSession {
        id: r.get(0)?,
        booking_id: r.get(1)?,
        unit_id: r.get(2)?,
        account_id: r.get(3)?,
        started_at: r.get(4)?,
        ended_at: r.get(5)?,
        opened_by: r.get(6)?,
        organisation_id: r.get(7)?,
        booking_kind: r.get(8)?,
        booking_status: r.get(9)?,
        booking_starts_at: r.get(10)?,
        booking_ends_at: r.get(11)?,
        verified_maker: r.get(12)?,
    })
}

impl Db {
    /// Every unit of the space's resources, retired and archived ones too (they count while
    /// they existed), ordered by resource and label.
    ///
    /// # Errors
    /// Database errors.
    pub async fn report_units(&self, space_id: &SpaceId) -> StoreResult<Vec<ReportUnit>> {
        let sql = "SELECT u.id, u.label, u.resource_id, r.kind AS resource_kind, r.name_zh AS resource_name_zh, \
                   r.name_en AS resource_name_en, r.policy, u.created_at, u.retired_at, r.archived_at \
                   FROM units u JOIN resources r ON r.id = u.resource_id WHERE r.space_id = $1 \
                   ORDER BY r.created_at, r.id, u.label, u.id";
        Ok(on_read!(self, |p| sqlx::query_as(sql).bind(space_id).fetch_all(p).await?))
    }

    async fn space_lead_ms(&self, space_id: &SpaceId) -> StoreResult<i64> {
        let sql = "SELECT COALESCE(MAX(max_blocked_ms), 0) FROM resources WHERE space_id = $1";
        let longest: i64 = on_read!(self, |p| sqlx::query_scalar(sql).bind(space_id).fetch_one(p).await?);
        Ok(longest + LEAD_SLACK_MS)
    }

    /// The space's bookings, of any status, whose booked time overlaps `window` (only
    /// `account`'s, when given), each with whether it has a metered session as of `now`.
    ///
    /// # Errors
    /// Database errors.
    pub async fn report_bookings(
        &self,
        space_id: &SpaceId,
        window: Interval,
        account: Option<&AccountId>,
        now: i64,
    ) -> StoreResult<Vec<ReportBooking>> {
        let lead = self.space_lead_ms(space_id).await?;
        // Checked in: a session of positive length as of `now` (through `sessions_booking`),
        // wherever it lies, not only the sessions read beside.
        const SQL: &str = "SELECT b.id, b.unit_id, b.account_id, b.organisation_id, b.kind, b.status, b.starts_at, \
                   b.ends_at, b.cancelled_at, EXISTS (SELECT 1 FROM sessions s WHERE s.booking_id = b.id \
                   AND s.started_at < $6 AND (s.ended_at IS NULL OR s.ended_at > s.started_at)) AS has_session \
                   FROM bookings b WHERE b.space_id = $1 AND b.starts_at >= $2 AND b.starts_at < $3 \
                   AND b.ends_at > $4 AND ($5 = '' OR b.account_id = $5) ORDER BY b.starts_at, b.id";
        let (from, until) = (window.start() - lead, window.end());
        let who = account.map_or("", AccountId::as_str).to_owned();
        if let Db::Sqlite { direct, .. } = self {
            let space = space_id.clone();
            return read_rows(direct, SQL, move |stmt| {
                // By name: SQLite numbers `$N` parameters in the order they first appear.
                let params =
                    rusqlite::named_params! {"$1": space, "$2": from, "$3": until, "$4": window.start(), "$5": who, "$6": now};
                stmt.query_map(params, |r| {
                    Ok(ReportBooking {
                        id: r.get(0)?,
                        unit_id: r.get(1)?,
                        account_id: r.get(2)?,
                        organisation_id: r.get(3)?,
                        kind: r.get(4)?,
                        status: r.get(5)?,
                        starts_at: r.get(6)?,
                        ends_at: r.get(7)?,
                        cancelled_at: r.get(8)?,
                        has_session: r.get(9)?,
                    })
                })?
                .collect()
            })
            .await;
        }
        Ok(on_read!(self, |p| sqlx::query_as(SQL)
            .bind(space_id)
            .bind(from)
            .bind(until)
            .bind(window.start())
            .bind(&who)
            .bind(now)
            .fetch_all(p)
            .await?))
    }

    /// The space's metered sessions that overlap `window` (an open one runs on), each with
    /// its booking's organisation, kind, status and booked time, and whether its maker is
    /// verified.
    ///
    /// # Errors
    /// Database errors.
    pub async fn report_sessions(
        &self,
        space_id: &SpaceId,
        window: Interval,
        account: Option<&AccountId>,
    ) -> StoreResult<Vec<ReportSession>> {
        let lead = self.space_lead_ms(space_id).await?;
        const COLUMNS: &str = "SELECT s.id, s.booking_id, s.unit_id, s.account_id, s.started_at, s.ended_at, \
             s.opened_by, b.organisation_id, b.kind AS booking_kind, b.status AS booking_status, \
             b.starts_at AS booking_starts_at, b.ends_at AS booking_ends_at, a.verified_maker";
        // Closed sessions: from the space's resources to their units to each unit's sessions
        // in the window (the `sessions_unit` index). Written as CROSS JOINs because SQLite
        // keeps that order; left to itself it read every session of the district in the
        // window through `sessions_started` and dropped the other spaces' (2 s at 1,000,000
        // sessions; 60 ms this way). PostgreSQL reorders the joins itself.
        let closed = format!(
            "{COLUMNS} FROM resources r CROSS JOIN units u CROSS JOIN sessions s \
             JOIN accounts a ON a.id = s.account_id LEFT JOIN bookings b ON b.id = s.booking_id \
             WHERE r.space_id = $1 AND u.resource_id = r.id AND s.unit_id = u.id \
             AND s.started_at >= $2 AND s.started_at < $3 AND s.ended_at > $4 AND ($5 = '' OR s.account_id = $5)"
        );
        // Open sessions are few: each unit's, through the partial index `sessions_open`.
        let open = format!(
            "{COLUMNS} FROM resources r CROSS JOIN units u CROSS JOIN sessions s \
             JOIN accounts a ON a.id = s.account_id LEFT JOIN bookings b ON b.id = s.booking_id \
             WHERE r.space_id = $1 AND u.resource_id = r.id AND s.unit_id = u.id \
             AND s.started_at < $2 AND s.ended_at IS NULL AND ($3 = '' OR s.account_id = $3)"
        );
        let who = account.map_or("", AccountId::as_str);
        let (from, until) = (window.start() - lead, window.end());
        let mut rows: Vec<ReportSession> = if let Db::Sqlite { direct, .. } = self {
            let (space, who) = (space_id.clone(), who.to_owned());
            let closed = read_rows(direct, &closed, {
                let (space, who) = (space.clone(), who.clone());
                move |stmt| {
                    stmt.query_map(rusqlite::params![space, from, until, window.start(), who], session_of_row)?
                        .collect()
                }
            });
            let open = read_rows(direct, &open, move |stmt| {
                stmt.query_map(rusqlite::params![space, until, who], session_of_row)?.collect()
            });
            let (mut closed, open) = tokio::try_join!(closed, open)?;
            closed.extend(open);
            closed
        } else {
            let mut rows: Vec<ReportSession> = on_read!(self, |p| sqlx::query_as(sqlx::AssertSqlSafe(closed))
                .bind(space_id)
                .bind(from)
                .bind(until)
                .bind(window.start())
                .bind(who)
                .fetch_all(p)
                .await?);
            let still_open: Vec<ReportSession> = on_read!(self, |p| sqlx::query_as(sqlx::AssertSqlSafe(open))
                .bind(space_id)
                .bind(until)
                .bind(who)
                .fetch_all(p)
                .await?);
            rows.extend(still_open);
            rows
        };
        rows.sort_by(|a, b| (a.started_at, &a.id).cmp(&(b.started_at, &b.id)));
        Ok(rows)
    }

    /// Each maker's first metered session in the space, ever (for new against returning
    /// makers), for the makers who have one before `before`.
    ///
    /// # Errors
    /// Database errors.
    pub async fn first_sessions(
        &self,
        space_id: &SpaceId,
        before: i64,
        account: Option<&AccountId>,
    ) -> StoreResult<Vec<(AccountId, i64)>> {
        // The space's sessions through `sessions_unit`, as in `report_sessions`.
        let sql = "SELECT s.account_id, MIN(s.started_at) FROM resources r CROSS JOIN units u CROSS JOIN sessions s \
                   WHERE r.space_id = $1 AND u.resource_id = r.id AND s.unit_id = u.id AND s.started_at < $2 \
                   AND ($3 = '' OR s.account_id = $3) GROUP BY s.account_id";
        Ok(on_read!(self, |p| sqlx::query_as(sql)
            .bind(space_id)
            .bind(before)
            .bind(account.map_or("", AccountId::as_str))
            .fetch_all(p)
            .await?))
    }

    /// The spaces in which `account` has a booking touching `window`.
    ///
    /// # Errors
    /// Database errors.
    pub async fn spaces_used_by(&self, account: &AccountId, window: Interval) -> StoreResult<Vec<SpaceId>> {
        // A booking reaches at most a year before the window (stays are the longest).
        let sql = "SELECT DISTINCT space_id FROM bookings WHERE account_id = $1 AND starts_at >= $2 AND starts_at < $3 \
                   AND ends_at > $4 ORDER BY space_id";
        Ok(on_read!(self, |p| sqlx::query_scalar(sql)
            .bind(account)
            .bind(window.start() - 366 * 86_400_000)
            .bind(window.end())
            .bind(window.start())
            .fetch_all(p)
            .await?))
    }

    /// Dates the space's units and resources from `at` (when they were created later): the
    /// demo's history begins before the demo was seeded, and a unit counts as open only from
    /// its creation.
    ///
    /// # Errors
    /// Database errors.
    pub async fn backdate_catalog(&self, space_id: &SpaceId, at: i64) -> StoreResult<()> {
        crate::in_write_tx!(self, |tx| {
            sqlx::query(
                "UPDATE units SET created_at = $2 WHERE created_at > $2 \
                 AND resource_id IN (SELECT id FROM resources WHERE space_id = $1)",
            )
            .bind(space_id)
            .bind(at)
            .execute(&mut *tx)
            .await?;
            sqlx::query("UPDATE resources SET created_at = $2 WHERE created_at > $2 AND space_id = $1")
                .bind(space_id)
                .bind(at)
                .execute(&mut *tx)
                .await?;
        });
        Ok(())
    }

    /// When the space was created.
    ///
    /// # Errors
    /// [`super::StoreError::NotFound`].
    pub async fn space_created_at(&self, space_id: &SpaceId) -> StoreResult<i64> {
        Ok(on_read!(self, |p| sqlx::query_scalar("SELECT created_at FROM spaces WHERE id = $1")
            .bind(space_id)
            .fetch_one(p)
            .await?))
    }

    /// Whether row `id` of `table` (one of the tables a pack cites) is there.
    ///
    /// # Errors
    /// Database errors; [`super::StoreError::NotFound`] for a table a pack never cites.
    pub async fn row_exists(&self, table: &str, id: &str) -> StoreResult<bool> {
        let sql = match table {
            "sessions" => "SELECT COUNT(*) FROM sessions WHERE id = $1",
            "bookings" => "SELECT COUNT(*) FROM bookings WHERE id = $1",
            "residencies" => "SELECT COUNT(*) FROM residencies WHERE id = $1",
            "area_parts" => "SELECT COUNT(*) FROM area_parts WHERE id = $1",
            "events" => "SELECT COUNT(*) FROM events WHERE id = $1",
            "documents" => "SELECT COUNT(*) FROM documents WHERE id = $1",
            "spaces" => "SELECT COUNT(*) FROM spaces WHERE id = $1",
            _ => return Err(super::StoreError::NotFound),
        };
        let n: i64 = on_read!(self, |p| sqlx::query_scalar(sql).bind(id).fetch_one(p).await?);
        Ok(n > 0)
    }

    /// A space's privacy settings for reports: (operators see per-maker figures, reviewers see
    /// makers' names).
    ///
    /// # Errors
    /// [`super::StoreError::NotFound`].
    pub async fn report_privacy(&self, space_id: &SpaceId) -> StoreResult<(bool, bool)> {
        Ok(on_read!(self, |p| sqlx::query_as(
            "SELECT operators_see_makers, share_maker_names FROM spaces WHERE id = $1"
        )
        .bind(space_id)
        .fetch_one(p)
        .await?))
    }

    /// Sets a space's privacy settings for reports.
    ///
    /// # Errors
    /// Database errors.
    pub async fn set_report_privacy(
        &self,
        space_id: &SpaceId,
        operators_see_makers: bool,
        share_maker_names: bool,
    ) -> StoreResult<()> {
        crate::in_write_tx!(self, |tx| {
            sqlx::query("UPDATE spaces SET operators_see_makers = $2, share_maker_names = $3 WHERE id = $1")
                .bind(space_id)
                .bind(operators_see_makers)
                .bind(share_maker_names)
                .execute(&mut *tx)
                .await?;
        });
        Ok(())
    }
}

impl Db {
    /// Which of `accounts` are verified makers.
    ///
    /// # Errors
    /// Database errors.
    pub async fn verified_among(&self, accounts: &[AccountId]) -> StoreResult<Vec<AccountId>> {
        let mut ids: Vec<&AccountId> = accounts.iter().collect();
        ids.sort_unstable();
        ids.dedup();
        let mut out = Vec::new();
        for chunk in ids.chunks(500) {
            let marks: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
            let sql = format!("SELECT id FROM accounts WHERE verified_maker AND id IN ({})", marks.join(", "));
            let found: Vec<AccountId> = on_read!(self, |p| {
                let mut q = sqlx::query_scalar(sqlx::AssertSqlSafe(sql.clone()));
                for id in chunk {
                    q = q.bind(*id);
                }
                q.fetch_all(p).await?
            });
            out.extend(found);
        }
        Ok(out)
    }
}
