//! Settings: small named values every node must agree on (the check-in secret on
//! PostgreSQL, that the demo history was seeded), first writer wins.

use super::{Db, StoreResult};
use crate::{in_write_tx, on_read};

impl Db {
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
}
