//! Organisations (teams, start-ups, operators) and who belongs to them, over time.

use super::{Db, StoreError, StoreResult, new_id};
use crate::domain::identity::MemberRole;
use crate::domain::ids::AccountId;
use crate::{in_write_tx, on_read};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OrganisationRow {
    pub id: String,
    pub slug: String,
    pub name: String,
    pub kind: String,
    pub created_at: i64,
}

/// An active membership, seen from the organisation or from the member.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MemberRow {
    pub organisation_id: String,
    pub account_id: AccountId,
    pub email: String,
    pub display_name: String,
    pub role: MemberRole,
    pub joined_at: i64,
}

/// What a new organisation needs.
#[derive(Debug, Clone, Copy)]
pub struct NewOrganisation<'a> {
    pub slug: &'a str,
    pub name: &'a str,
    pub kind: &'a str,
    /// Becomes the first owner, if given.
    pub owner: Option<&'a AccountId>,
    pub now: i64,
}

const MEMBER_SELECT: &str = "SELECT m.organisation_id, m.account_id, a.email, a.display_name, m.role, m.joined_at \
     FROM memberships m JOIN accounts a ON a.id = m.account_id WHERE m.left_at IS NULL";

impl Db {
    /// Creates an organisation and makes `owner` its first owner, in one transaction.
    ///
    /// # Errors
    /// [`StoreError::Unique`] (`organisations_slug_key`) when the slug is taken.
    pub async fn create_organisation(&self, o: NewOrganisation<'_>) -> StoreResult<OrganisationRow> {
        let id = new_id();
        in_write_tx!(self, |tx| {
            let taken: Option<String> = sqlx::query_scalar("SELECT id FROM organisations WHERE slug = $1")
                .bind(o.slug)
                .fetch_optional(&mut *tx)
                .await?;
            if taken.is_some() {
                return Err(StoreError::Unique("organisations_slug_key".into()));
            }
            sqlx::query("INSERT INTO organisations (id, slug, name, kind, created_at) VALUES ($1, $2, $3, $4, $5)")
                .bind(&id)
                .bind(o.slug)
                .bind(o.name)
                .bind(o.kind)
                .bind(o.now)
                .execute(&mut *tx)
                .await?;
            if let Some(owner) = o.owner {
                sqlx::query(
                    "INSERT INTO memberships (id, organisation_id, account_id, role, joined_at) VALUES ($1, $2, $3, 'owner', $4)",
                )
                .bind(new_id())
                .bind(&id)
                .bind(owner)
                .bind(o.now)
                .execute(&mut *tx)
                .await?;
            }
        });
        self.organisation(&id).await
    }

    /// # Errors
    /// [`StoreError::NotFound`].
    pub async fn organisation(&self, id: &str) -> StoreResult<OrganisationRow> {
        Ok(on_read!(self, |p| {
            sqlx::query_as("SELECT id, slug, name, kind, created_at FROM organisations WHERE id = $1 OR slug = $1")
                .bind(id)
                .fetch_one(p)
                .await?
        }))
    }

    /// The organisations an account belongs to now, with its role in each.
    ///
    /// # Errors
    /// Database errors.
    pub async fn organisations_of(&self, account_id: &AccountId) -> StoreResult<Vec<(OrganisationRow, MemberRole)>> {
        #[derive(sqlx::FromRow)]
        struct Row {
            id: String,
            slug: String,
            name: String,
            kind: String,
            created_at: i64,
            role: MemberRole,
        }
        let rows: Vec<Row> = on_read!(self, |p| {
            sqlx::query_as(
                "SELECT o.id, o.slug, o.name, o.kind, o.created_at, m.role FROM organisations o \
                 JOIN memberships m ON m.organisation_id = o.id \
                 WHERE m.account_id = $1 AND m.left_at IS NULL ORDER BY o.name, o.id",
            )
            .bind(account_id)
            .fetch_all(p)
            .await?
        });
        Ok(rows
            .into_iter()
            .map(|r| {
                (
                    OrganisationRow { id: r.id, slug: r.slug, name: r.name, kind: r.kind, created_at: r.created_at },
                    r.role,
                )
            })
            .collect())
    }

    /// Active members of an organisation, owners first.
    ///
    /// # Errors
    /// Database errors.
    pub async fn members(&self, organisation_id: &str) -> StoreResult<Vec<MemberRow>> {
        let sql = format!("{MEMBER_SELECT} AND m.organisation_id = $1 ORDER BY m.role DESC, a.display_name, a.id");
        Ok(on_read!(self, |p| sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(organisation_id).fetch_all(p).await?))
    }

    /// The active membership of one account in one organisation.
    ///
    /// # Errors
    /// Database errors.
    pub async fn membership(&self, organisation_id: &str, account_id: &AccountId) -> StoreResult<Option<MemberRow>> {
        let sql = format!("{MEMBER_SELECT} AND m.organisation_id = $1 AND m.account_id = $2");
        Ok(on_read!(self, |p| {
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(organisation_id).bind(account_id).fetch_optional(p).await?
        }))
    }

    /// Adds a member, or changes the role of one who already belongs.
    ///
    /// # Errors
    /// [`StoreError::ForeignKey`] when the account or organisation does not exist.
    pub async fn put_member(
        &self,
        organisation_id: &str,
        account_id: &AccountId,
        role: MemberRole,
        now: i64,
    ) -> StoreResult<()> {
        in_write_tx!(self, |tx| {
            let changed = sqlx::query(
                "UPDATE memberships SET role = $3 WHERE organisation_id = $1 AND account_id = $2 AND left_at IS NULL",
            )
            .bind(organisation_id)
            .bind(account_id)
            .bind(role)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if changed == 0 {
                sqlx::query(
                    "INSERT INTO memberships (id, organisation_id, account_id, role, joined_at) VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(new_id())
                .bind(organisation_id)
                .bind(account_id)
                .bind(role)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            }
        });
        Ok(())
    }

    /// Ends a membership (the row stays, with `left_at`, as residency evidence).
    /// Returns whether there was one to end.
    ///
    /// # Errors
    /// Database errors.
    pub async fn end_membership(&self, organisation_id: &str, account_id: &AccountId, now: i64) -> StoreResult<bool> {
        let n = in_write_tx!(self, |tx| {
            sqlx::query("UPDATE memberships SET left_at = $3 WHERE organisation_id = $1 AND account_id = $2 AND left_at IS NULL")
                .bind(organisation_id)
                .bind(account_id)
                .bind(now)
                .execute(&mut *tx)
                .await?
                .rows_affected()
        });
        Ok(n > 0)
    }
}
