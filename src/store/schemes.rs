//! Subsidy schemes loaded by admins (the shipped ones are in the binary), by SHA-256.

use super::{Db, StoreResult};
use crate::domain::ids::AccountId;
use crate::on_read;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SchemeRow {
    pub sha256: String,
    pub id: String,
    pub version: String,
    pub body: String,
    pub loaded_at: i64,
}

impl Db {
    /// Stores a scheme file; loading the same file again changes nothing. Returns whether it
    /// was new.
    ///
    /// # Errors
    /// Database errors.
    pub async fn save_scheme(&self, row: &SchemeRow, by: &AccountId) -> StoreResult<bool> {
        let n = crate::in_write_tx!(self, |tx| {
            sqlx::query(
                "INSERT INTO schemes (sha256, id, version, body, loaded_at, loaded_by) VALUES ($1, $2, $3, $4, $5, $6) \
                 ON CONFLICT (sha256) DO NOTHING",
            )
            .bind(&row.sha256)
            .bind(&row.id)
            .bind(&row.version)
            .bind(&row.body)
            .bind(row.loaded_at)
            .bind(by)
            .execute(&mut *tx)
            .await?
            .rows_affected()
        });
        Ok(n > 0)
    }

    /// Every loaded scheme, oldest first.
    ///
    /// # Errors
    /// Database errors.
    pub async fn schemes(&self) -> StoreResult<Vec<SchemeRow>> {
        Ok(on_read!(self, |p| sqlx::query_as(
            "SELECT sha256, id, version, body, loaded_at FROM schemes ORDER BY loaded_at, sha256"
        )
        .fetch_all(p)
        .await?))
    }
}
