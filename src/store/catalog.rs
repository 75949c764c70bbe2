//! Spaces, resources and units: the things that can be booked.
//!
//! This holds the writes the foundation needs (to seed and to prove the booking
//! invariant); the operator API over the catalog builds on them.

use super::{Db, StoreResult, new_id};
use crate::{in_write_tx, on_read};

/// What a new space needs.
#[derive(Debug, Clone, Copy)]
pub struct NewSpace<'a> {
    pub slug: &'a str,
    pub name_zh: &'a str,
    pub name_en: &'a str,
    pub kind: &'a str,
    pub timezone: &'a str,
    pub now: i64,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SpaceRow {
    pub id: String,
    pub slug: String,
    pub name_zh: String,
    pub name_en: String,
    pub kind: String,
    pub timezone: String,
    pub archived_at: Option<i64>,
}

impl Db {
    /// # Errors
    /// [`super::StoreError::Unique`] when the slug is taken.
    pub async fn insert_space(&self, s: NewSpace<'_>) -> StoreResult<String> {
        let id = new_id();
        in_write_tx!(self, |tx| {
            sqlx::query(
                "INSERT INTO spaces (id, slug, name_zh, name_en, kind, timezone, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(&id)
            .bind(s.slug)
            .bind(s.name_zh)
            .bind(s.name_en)
            .bind(s.kind)
            .bind(s.timezone)
            .bind(s.now)
            .execute(&mut *tx)
            .await?;
        });
        Ok(id)
    }

    /// A space by id or slug.
    ///
    /// # Errors
    /// [`super::StoreError::NotFound`].
    pub async fn space(&self, id_or_slug: &str) -> StoreResult<SpaceRow> {
        Ok(on_read!(self, |p| {
            sqlx::query_as(
                "SELECT id, slug, name_zh, name_en, kind, timezone, archived_at FROM spaces WHERE id = $1 OR slug = $1",
            )
            .bind(id_or_slug)
            .fetch_one(p)
            .await?
        }))
    }

    /// # Errors
    /// [`super::StoreError::ForeignKey`] when the space does not exist.
    pub async fn insert_resource(
        &self,
        space_id: &str,
        kind: &str,
        name_zh: &str,
        name_en: &str,
        now: i64,
    ) -> StoreResult<String> {
        let id = new_id();
        in_write_tx!(self, |tx| {
            sqlx::query("INSERT INTO resources (id, space_id, kind, name_zh, name_en, created_at) VALUES ($1, $2, $3, $4, $5, $6)")
                .bind(&id)
                .bind(space_id)
                .bind(kind)
                .bind(name_zh)
                .bind(name_en)
                .bind(now)
                .execute(&mut *tx)
                .await?;
        });
        Ok(id)
    }

    /// # Errors
    /// [`super::StoreError::Unique`] when a live unit of the resource has the label.
    pub async fn insert_unit(&self, resource_id: &str, label: &str, now: i64) -> StoreResult<String> {
        let id = new_id();
        in_write_tx!(self, |tx| {
            sqlx::query("INSERT INTO units (id, resource_id, label, created_at) VALUES ($1, $2, $3, $4)")
                .bind(&id)
                .bind(resource_id)
                .bind(label)
                .bind(now)
                .execute(&mut *tx)
                .await?;
        });
        Ok(id)
    }
}
