//! The per-day roll-up of reports (migration 0016): its state per space, its stored day parts
//! and the dirty marks that the triggers leave. Only `service::rollup` writes here; reports
//! read through it.

use super::{Db, StoreResult};
use crate::domain::ids::SpaceId;
use crate::on_read;

/// A space's roll-up state.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct RollupSpace {
    pub space_id: SpaceId,
    pub fingerprint: String,
    pub generation: i64,
    /// Local days `[from_day, until_day)` (days from the common era) are built.
    pub from_day: i32,
    pub until_day: i32,
    /// The database's clock when the state was made.
    pub created_at: i64,
    /// The `now` of the last build.
    pub built_at: i64,
    /// Build steps written.
    pub steps: i64,
}

/// A dirty mark: facts in `[from_ms, until_ms)` changed after they may have been built.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::FromRow)]
pub struct DirtyMark {
    pub id: i64,
    pub from_ms: i64,
    pub until_ms: i64,
}

/// A stored day part.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct RollupRow {
    pub day: i32,
    pub scope: String,
    pub part: Vec<u8>,
}

/// What one build step writes for a space, in one transaction.
#[derive(Debug, Clone, Default)]
pub struct RollupWrite {
    /// The state's `steps` when the step read it: the write is dropped if another step wrote since.
    pub read_steps: i64,
    pub fingerprint: String,
    pub generation: i64,
    pub until_day: i32,
    pub built_at: i64,
    /// Runs of days `[from, until)` rebuilt: their old rows go, `rows` take their place.
    pub rebuilt: Vec<(i32, i32)>,
    pub rows: Vec<(i32, String, Vec<u8>)>,
    /// The marks the step saw and fully rebuilt.
    pub done_marks: Vec<i64>,
    /// Days skipped (an open session ran across them), marked so that a later step builds them.
    pub skipped: Vec<(i64, i64)>,
}

const CLOCK_SQLITE: &str = "SELECT CAST((julianday('now') - 2440587.5) * 86400000.0 AS INTEGER)";

impl Db {
    /// The space's roll-up state, if it has one.
    ///
    /// # Errors
    /// Database errors.
    pub async fn rollup_space(&self, space_id: &SpaceId) -> StoreResult<Option<RollupSpace>> {
        let sql = "SELECT space_id, fingerprint, generation, from_day, until_day, created_at, built_at, \
                   steps FROM rollup_spaces WHERE space_id = $1";
        Ok(on_read!(self, |p| sqlx::query_as(sql).bind(space_id).fetch_optional(p).await?))
    }

    /// Starts the space's roll-up (nothing built yet) unless it has one.
    ///
    /// # Errors
    /// Database errors.
    pub async fn create_rollup_space(&self, space_id: &SpaceId, fingerprint: &str, from_day: i32) -> StoreResult<()> {
        let clock = match self {
            Db::Sqlite { .. } => CLOCK_SQLITE.trim_start_matches("SELECT "),
            Db::Postgres { .. } => "rollup_clock_ms()",
        };
        let sql = format!(
            "INSERT INTO rollup_spaces (space_id, fingerprint, generation, from_day, until_day, created_at, built_at) \
             VALUES ($1, $2, 1, $3, $3, {clock}, 0) ON CONFLICT (space_id) DO NOTHING"
        );
        crate::in_write_tx!(self, |tx| {
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(space_id)
                .bind(fingerprint)
                .bind(from_day)
                .execute(&mut *tx)
                .await?;
        });
        Ok(())
    }

    /// The latest instant up to which every write that has not committed yet will see its
    /// range marked: a write whose trigger runs later compares with a later clock.
    ///
    /// SQLite: the clock read inside a write transaction, which waits for the writer that
    /// holds the lock, so every write whose trigger ran earlier has committed. PostgreSQL: the
    /// clock, or the start of the oldest transaction still running if that is earlier (a
    /// transaction's statements run after it starts); when another role's sessions cannot be
    /// seen, ten minutes before the clock.
    ///
    /// # Errors
    /// Database errors.
    pub async fn rollup_safe_clock(&self) -> StoreResult<i64> {
        match self {
            Db::Sqlite { .. } => Ok(crate::in_write_tx!(self, |tx| {
                sqlx::query_scalar::<_, i64>(CLOCK_SQLITE).fetch_one(&mut *tx).await?
            })),
            Db::Postgres { pool, .. } => {
                let (clock, oldest, hidden): (i64, Option<i64>, bool) = sqlx::query_as(
                    "SELECT rollup_clock_ms(), \
                     (SELECT (extract(epoch FROM MIN(xact_start)) * 1000)::bigint FROM pg_stat_activity \
                      WHERE pid <> pg_backend_pid() AND datname = current_database() AND backend_type = 'client backend'), \
                     EXISTS (SELECT 1 FROM pg_stat_activity WHERE datname = current_database() \
                      AND backend_type = 'client backend' AND state IS NULL)",
                )
                .fetch_one(pool)
                .await?;
                // A second of slack for the moment between a commit and its backend's entry.
                let safe = oldest.map_or(clock, |o| o.min(clock)) - 1_000;
                Ok(if hidden { safe.min(clock - 600_000) } else { safe })
            }
        }
    }

    /// The earliest instant the space's facts reach: its first booking, or its units'
    /// creation if earlier.
    ///
    /// # Errors
    /// Database errors.
    pub async fn rollup_first_fact(&self, space_id: &SpaceId) -> StoreResult<Option<i64>> {
        let sql = "SELECT MIN(t) FROM (SELECT MIN(starts_at) AS t FROM bookings WHERE space_id = $1 \
                   UNION ALL SELECT MIN(u.created_at) FROM units u JOIN resources r ON r.id = u.resource_id \
                   WHERE r.space_id = $1) AS firsts";
        Ok(on_read!(self, |p| sqlx::query_scalar(sql).bind(space_id).fetch_one(p).await?))
    }

    /// The space's dirty marks that overlap `[from_ms, until_ms)`.
    ///
    /// # Errors
    /// Database errors.
    pub async fn rollup_marks(&self, space_id: &SpaceId, from_ms: i64, until_ms: i64) -> StoreResult<Vec<DirtyMark>> {
        let sql = "SELECT id, from_ms, until_ms FROM rollup_dirty WHERE space_id = $1 AND from_ms < $2 \
                   AND until_ms > $3 ORDER BY id";
        Ok(on_read!(self, |p| sqlx::query_as(sql).bind(space_id).bind(until_ms).bind(from_ms).fetch_all(p).await?))
    }

    /// The stored parts of `generation` for local days `[from_day, until_day)`: the space's, and
    /// those whose scope starts with `prefix` (`r:` resources, `k:` kinds; empty: none).
    ///
    /// # Errors
    /// Database errors.
    pub async fn rollup_rows(
        &self,
        space_id: &SpaceId,
        generation: i64,
        from_day: i32,
        until_day: i32,
        prefix: &str,
    ) -> StoreResult<Vec<RollupRow>> {
        let sql = "SELECT day, scope, part FROM rollup_days WHERE space_id = $1 AND day >= $2 AND day < $3 \
                   AND generation = $4 AND (scope = 'space' OR (scope >= $5 AND scope < $6)) ORDER BY day, scope";
        // The scopes from `prefix` up to the next prefix (its last byte plus one).
        let lo = prefix.to_owned();
        let hi = match prefix.as_bytes().split_last() {
            Some((last, head)) => {
                let mut b = head.to_vec();
                b.push(last + 1);
                String::from_utf8(b).unwrap_or_default()
            }
            None => String::new(),
        };
        if let Db::Sqlite { direct, .. } = self {
            let space = space_id.clone();
            return super::reports::read_rows(direct, sql, move |stmt| {
                stmt.query_map(rusqlite::params![space, from_day, until_day, generation, lo, hi], |r| {
                    Ok(RollupRow { day: r.get(0)?, scope: r.get(1)?, part: r.get(2)? })
                })?
                .collect()
            })
            .await;
        }
        Ok(on_read!(self, |p| sqlx::query_as(sql)
            .bind(space_id)
            .bind(from_day)
            .bind(until_day)
            .bind(generation)
            .bind(&lo)
            .bind(&hi)
            .fetch_all(p)
            .await?))
    }

    /// Writes one build step of the space's roll-up, in one transaction, unless another step
    /// wrote since this one read the state (then nothing is written and the answer is false).
    ///
    /// # Errors
    /// Database errors.
    pub async fn write_rollup(&self, space_id: &SpaceId, w: &RollupWrite) -> StoreResult<bool> {
        Ok(crate::in_write_tx!(self, |tx| {
            // First, so that a concurrent step waits here (PostgreSQL) and then finds 0 rows.
            let claimed = sqlx::query(
                "UPDATE rollup_spaces SET fingerprint = $2, generation = $3, until_day = $4, built_at = $5, \
                 steps = steps + 1 WHERE space_id = $1 AND steps = $6",
            )
            .bind(space_id)
            .bind(&w.fingerprint)
            .bind(w.generation)
            .bind(w.until_day)
            .bind(w.built_at)
            .bind(w.read_steps)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if claimed == 1 {
                for (from, until) in &w.rebuilt {
                    sqlx::query("DELETE FROM rollup_days WHERE space_id = $1 AND day >= $2 AND day < $3")
                        .bind(space_id)
                        .bind(from)
                        .bind(until)
                        .execute(&mut *tx)
                        .await?;
                }
                for (day, scope, part) in &w.rows {
                    sqlx::query(
                        "INSERT INTO rollup_days (space_id, day, scope, generation, part) VALUES ($1, $2, $3, $4, $5) \
                         ON CONFLICT (space_id, day, scope) DO UPDATE SET generation = excluded.generation, \
                         part = excluded.part",
                    )
                    .bind(space_id)
                    .bind(day)
                    .bind(scope)
                    .bind(w.generation)
                    .bind(part)
                    .execute(&mut *tx)
                    .await?;
                }
                for id in &w.done_marks {
                    sqlx::query("DELETE FROM rollup_dirty WHERE id = $1").bind(id).execute(&mut *tx).await?;
                }
                for (from, until) in &w.skipped {
                    sqlx::query("INSERT INTO rollup_dirty (space_id, from_ms, until_ms) VALUES ($1, $2, $3)")
                        .bind(space_id)
                        .bind(from)
                        .bind(until)
                        .execute(&mut *tx)
                        .await?;
                }
            }
            claimed == 1
        }))
    }

    /// Every roll-up state (for `labinn rollup status`).
    ///
    /// # Errors
    /// Database errors.
    pub async fn rollup_states(&self) -> StoreResult<Vec<(RollupSpace, i64, i64)>> {
        let states: Vec<RollupSpace> = on_read!(self, |p| {
            sqlx::query_as(
                "SELECT space_id, fingerprint, generation, from_day, until_day, created_at, built_at, steps \
             FROM rollup_spaces ORDER BY space_id",
            )
            .fetch_all(p)
            .await?
        });
        let mut out = Vec::with_capacity(states.len());
        for s in states {
            let (rows, marks): (i64, i64) = on_read!(self, |p| sqlx::query_as(
                "SELECT (SELECT COUNT(*) FROM rollup_days WHERE space_id = $1 AND generation = $2), \
                 (SELECT COUNT(*) FROM rollup_dirty WHERE space_id = $1)"
            )
            .bind(&s.space_id)
            .bind(s.generation)
            .fetch_one(p)
            .await?);
            out.push((s, rows, marks));
        }
        Ok(out)
    }
}

impl Db {
    /// Each maker's first metered session in the space, ever, as the triggers of migration 0017
    /// keep it (the same as [`Db::first_sessions`] for every maker a report serves).
    ///
    /// # Errors
    /// Database errors.
    pub async fn kept_first_sessions(
        &self,
        space_id: &SpaceId,
    ) -> StoreResult<Vec<(crate::domain::ids::AccountId, i64)>> {
        let sql = "SELECT account_id, first_started_at FROM rollup_first_sessions WHERE space_id = $1";
        Ok(on_read!(self, |p| sqlx::query_as(sql).bind(space_id).fetch_all(p).await?))
    }
}
