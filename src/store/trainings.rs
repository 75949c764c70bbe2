//! Trainings (safety inductions and the like), the makers who hold them, and until when.

use super::{Db, StoreResult, new_id};
use crate::domain::ids::{AccountId, SpaceId};
use crate::{in_write_tx, on_read};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TrainingRow {
    pub id: String,
    pub slug: String,
    pub name_zh: String,
    pub name_en: String,
    pub space_id: Option<SpaceId>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TrainingGrantRow {
    pub account_id: AccountId,
    pub email: String,
    pub display_name: String,
    pub granted_at: i64,
    pub expires_at: Option<i64>,
}

impl Db {
    /// # Errors
    /// [`StoreError::Unique`] when the slug is taken.
    pub async fn create_training(
        &self,
        slug: &str,
        name_zh: &str,
        name_en: &str,
        space_id: Option<&SpaceId>,
        now: i64,
    ) -> StoreResult<TrainingRow> {
        let id = new_id();
        in_write_tx!(self, |tx| {
            sqlx::query("INSERT INTO trainings (id, slug, name_zh, name_en, space_id, created_at) VALUES ($1, $2, $3, $4, $5, $6)")
                .bind(&id)
                .bind(slug)
                .bind(name_zh)
                .bind(name_en)
                .bind(space_id)
                .bind(now)
                .execute(&mut *tx)
                .await?;
        });
        self.training(slug).await
    }

    /// # Errors
    /// [`StoreError::NotFound`].
    pub async fn training(&self, slug: &str) -> StoreResult<TrainingRow> {
        Ok(on_read!(self, |p| {
            sqlx::query_as("SELECT id, slug, name_zh, name_en, space_id FROM trainings WHERE slug = $1 OR id = $1")
                .bind(slug)
                .fetch_one(p)
                .await?
        }))
    }

    /// # Errors
    /// Database errors.
    pub async fn trainings(&self) -> StoreResult<Vec<TrainingRow>> {
        Ok(on_read!(self, |p| {
            sqlx::query_as("SELECT id, slug, name_zh, name_en, space_id FROM trainings ORDER BY slug")
                .fetch_all(p)
                .await?
        }))
    }

    /// Grants a training (revoking any earlier grant of it, so one grant is live).
    ///
    /// # Errors
    /// Database errors.
    pub async fn grant_training(
        &self,
        training_id: &str,
        account: &AccountId,
        by: &AccountId,
        expires_at: Option<i64>,
        now: i64,
    ) -> StoreResult<()> {
        in_write_tx!(self, |tx| {
            sqlx::query(
                "UPDATE training_grants SET revoked_at = $3, revoked_by = $4, revoke_reason = 'replaced by a new grant' \
                 WHERE training_id = $1 AND account_id = $2 AND revoked_at IS NULL",
            )
            .bind(training_id)
            .bind(account)
            .bind(now)
            .bind(by)
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "INSERT INTO training_grants (id, training_id, account_id, granted_by, granted_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(new_id())
            .bind(training_id)
            .bind(account)
            .bind(by)
            .bind(now)
            .bind(expires_at)
            .execute(&mut *tx)
            .await?;
        });
        Ok(())
    }

    /// Revokes the live grant. Returns whether there was one.
    ///
    /// # Errors
    /// Database errors.
    pub async fn revoke_training(
        &self,
        training_id: &str,
        account: &AccountId,
        by: &AccountId,
        reason: &str,
        now: i64,
    ) -> StoreResult<bool> {
        let n = in_write_tx!(self, |tx| {
            sqlx::query(
                "UPDATE training_grants SET revoked_at = $3, revoked_by = $4, revoke_reason = $5 \
                 WHERE training_id = $1 AND account_id = $2 AND revoked_at IS NULL",
            )
            .bind(training_id)
            .bind(account)
            .bind(now)
            .bind(by)
            .bind(reason)
            .execute(&mut *tx)
            .await?
            .rows_affected()
        });
        Ok(n > 0)
    }

    /// Live grants of a training.
    ///
    /// # Errors
    /// Database errors.
    pub async fn training_grants(&self, training_id: &str) -> StoreResult<Vec<TrainingGrantRow>> {
        Ok(on_read!(self, |p| {
            sqlx::query_as(
                "SELECT g.account_id, a.email, a.display_name, g.granted_at, g.expires_at FROM training_grants g \
                 JOIN accounts a ON a.id = g.account_id WHERE g.training_id = $1 AND g.revoked_at IS NULL ORDER BY a.email",
            )
            .bind(training_id)
            .fetch_all(p)
            .await?
        }))
    }

    /// (slug, expires_at) of the account's training grants that are not revoked.
    ///
    /// # Errors
    /// Database errors.
    pub async fn training_holds(&self, account: &AccountId) -> StoreResult<Vec<(String, Option<i64>)>> {
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
}
