//! The ledger heads that reviewers recorded (migration 0018): the district's own copies.

use super::{Db, StoreResult};
use crate::domain::ids::{AccountId, SpaceId};
use crate::on_read;

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct RecordedHeadRow {
    pub id: String,
    pub space_id: String,
    pub space_slug: String,
    pub seq: i64,
    pub hash: String,
    pub recorded_by: String,
    pub recorded_by_name: String,
    pub recorded_at: i64,
    /// The signed checkpoint of this head (heads recorded before the Merkle log have none).
    pub note: Option<String>,
}

const SELECT: &str = "SELECT h.id, h.space_id, s.slug AS space_slug, h.seq, h.hash, h.recorded_by, \
                      a.display_name AS recorded_by_name, h.recorded_at, h.note FROM recorded_heads h \
                      JOIN accounts a ON a.id = h.recorded_by JOIN spaces s ON s.id = h.space_id";

impl Db {
    /// Keeps a copy of the ledger head (`seq`, `hash`, its signed checkpoint `note`) for
    /// `space`, recorded by `by`.
    ///
    /// # Errors
    /// Database errors.
    #[allow(clippy::too_many_arguments)]
    pub async fn record_head(
        &self,
        id: &str,
        space: &SpaceId,
        seq: i64,
        hash: &str,
        note: Option<&str>,
        by: &AccountId,
        now: i64,
    ) -> StoreResult<()> {
        crate::in_write_tx!(self, |tx| {
            sqlx::query(
                "INSERT INTO recorded_heads (id, space_id, seq, hash, recorded_by, recorded_at, note) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(id)
            .bind(space)
            .bind(seq)
            .bind(hash)
            .bind(by)
            .bind(now)
            .bind(note)
            .execute(&mut *tx)
            .await?
            .rows_affected()
        });
        Ok(())
    }

    /// The heads recorded for `space`, newest first, at most `limit`.
    ///
    /// # Errors
    /// Database errors.
    pub async fn recorded_heads(&self, space: &SpaceId, limit: i64) -> StoreResult<Vec<RecordedHeadRow>> {
        let sql = format!("{SELECT} WHERE h.space_id = $1 ORDER BY h.recorded_at DESC, h.id DESC LIMIT $2");
        Ok(on_read!(self, |p| sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
            .bind(space)
            .bind(limit)
            .fetch_all(p)
            .await?))
    }

    /// The newest recorded head of every space that has one.
    ///
    /// # Errors
    /// Database errors.
    pub async fn latest_recorded_heads(&self) -> StoreResult<Vec<RecordedHeadRow>> {
        let sql = format!(
            "{SELECT} WHERE NOT EXISTS (SELECT 1 FROM recorded_heads n WHERE n.space_id = h.space_id \
             AND (n.recorded_at > h.recorded_at OR (n.recorded_at = h.recorded_at AND n.id > h.id)))"
        );
        Ok(on_read!(self, |p| sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())).fetch_all(p).await?))
    }

    /// Every recorded head with its signed checkpoint, oldest first: what the district
    /// exports.
    ///
    /// # Errors
    /// Database errors.
    pub async fn district_checkpoints(&self) -> StoreResult<Vec<RecordedHeadRow>> {
        let sql = format!("{SELECT} WHERE h.note IS NOT NULL ORDER BY h.recorded_at, h.id");
        Ok(on_read!(self, |p| sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())).fetch_all(p).await?))
    }

    /// The distinct sizes of the signed checkpoints the district recorded.
    ///
    /// # Errors
    /// Database errors.
    pub async fn district_checkpoint_sizes(&self) -> StoreResult<Vec<i64>> {
        Ok(on_read!(self, |p| sqlx::query_scalar("SELECT DISTINCT seq FROM recorded_heads WHERE note IS NOT NULL")
            .fetch_all(p)
            .await?))
    }

    /// The hash of ledger entry `seq`, if there is one.
    ///
    /// # Errors
    /// Database errors.
    pub async fn ledger_hash_at(&self, seq: i64) -> StoreResult<Option<String>> {
        Ok(on_read!(self, |p| sqlx::query_scalar("SELECT hash FROM ledger WHERE seq = $1")
            .bind(seq)
            .fetch_optional(p)
            .await?))
    }
}
