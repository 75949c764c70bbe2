//! Spaces, resources, units, opening rules and closures: the things that can be booked,
//! and when. Spaces and resources are archived, never deleted; units are retired.

use super::{Db, StoreResult, new_id};
use crate::domain::booking::BookingStatus;
use crate::domain::ids::{AccountId, ResourceId, SpaceId, UnitId};
use crate::domain::interval::Interval;
use crate::{in_catalog_tx, on_read};

/// What a new space needs (validated by the caller).
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
    pub id: SpaceId,
    pub slug: String,
    pub name_zh: String,
    pub name_en: String,
    pub kind: String,
    pub operator_org_id: Option<String>,
    pub address: String,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub floor_area_m2: Option<f64>,
    pub timezone: String,
    pub contact: String,
    pub archived_at: Option<i64>,
    pub created_at: i64,
    /// Per-maker quotas per kind of resource, JSON.
    pub kind_quotas: String,
}

const SPACE_COLUMNS: &str = "id, slug, name_zh, name_en, kind, operator_org_id, address, latitude, longitude, \
     floor_area_m2, timezone, contact, archived_at, created_at, kind_quotas";

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ResourceRow {
    pub id: ResourceId,
    pub space_id: SpaceId,
    pub kind: String,
    pub name_zh: String,
    pub name_en: String,
    pub description: String,
    /// The booking policy, JSON.
    pub policy: String,
    pub archived_at: Option<i64>,
    /// The longest blocked interval any booking of this resource ever had (kept by the database).
    pub max_blocked_ms: i64,
}

const RESOURCE_COLUMNS: &str = "id, space_id, kind, name_zh, name_en, description, policy, archived_at, max_blocked_ms";

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct UnitRow {
    pub id: UnitId,
    pub resource_id: ResourceId,
    pub label: String,
    pub retired_at: Option<i64>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OpeningRuleRow {
    pub id: String,
    pub space_id: SpaceId,
    pub resource_id: Option<ResourceId>,
    pub rrule: String,
    pub dtstart_local: String,
    pub duration_min: i64,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ClosureRow {
    pub id: String,
    pub space_id: SpaceId,
    pub resource_id: Option<ResourceId>,
    pub unit_id: Option<UnitId>,
    pub reason: String,
    pub starts_at: i64,
    pub ends_at: i64,
    pub rrule: Option<String>,
    pub dtstart_local: Option<String>,
    pub duration_min: Option<i64>,
}

const CLOSURE_COLUMNS: &str =
    "id, space_id, resource_id, unit_id, reason, starts_at, ends_at, rrule, dtstart_local, duration_min";

/// The mutable fields of a space, all at once (the catalog service merges a patch over the row).
#[derive(Debug, Clone)]
pub struct SpaceFields {
    pub name_zh: String,
    pub name_en: String,
    pub kind: String,
    pub operator_org_id: Option<String>,
    pub address: String,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub floor_area_m2: Option<f64>,
    pub timezone: String,
    pub contact: String,
    pub kind_quotas: String,
}

/// A new resource with its first units.
#[derive(Debug, Clone)]
pub struct NewResource<'a> {
    pub space_id: &'a SpaceId,
    pub kind: &'a str,
    pub name_zh: &'a str,
    pub name_en: &'a str,
    pub description: &'a str,
    pub policy_json: &'a str,
    pub unit_labels: &'a [String],
    pub now: i64,
}

/// A new closure: one-off (`rrule` None) or recurring.
#[derive(Debug, Clone)]
pub struct NewClosure<'a> {
    pub space_id: &'a SpaceId,
    pub resource_id: Option<&'a ResourceId>,
    pub unit_id: Option<&'a UnitId>,
    pub reason: &'a str,
    /// For a recurring closure: first start and last end (or far future), to filter by window.
    pub starts_at: i64,
    pub ends_at: i64,
    pub rrule: Option<&'a str>,
    pub dtstart_local: Option<&'a str>,
    pub duration_min: Option<i64>,
    pub created_by: Option<&'a AccountId>,
    pub now: i64,
}

impl<'a> NewClosure<'a> {
    /// A one-off closure of a space, or of one resource or unit of it.
    pub fn once(
        space_id: &'a SpaceId,
        resource_id: Option<&'a ResourceId>,
        unit_id: Option<&'a UnitId>,
        reason: &'a str,
        interval: Interval,
        now: i64,
    ) -> Self {
        NewClosure {
            space_id,
            resource_id,
            unit_id,
            reason,
            starts_at: interval.start(),
            ends_at: interval.end(),
            rrule: None,
            dtstart_local: None,
            duration_min: None,
            created_by: None,
            now,
        }
    }
}

/// Everything availability needs for one resource.
#[derive(Debug, Clone)]
pub struct ResourceCalendar {
    pub space: SpaceRow,
    pub resource: ResourceRow,
    pub units: Vec<UnitRow>,
    /// The resource's own rules if it has any, else the space's.
    pub opening_rules: Vec<OpeningRuleRow>,
    /// Closures of the space, the resource or its units that may touch the window.
    pub closures: Vec<ClosureRow>,
    /// Live bookings' blocked intervals: (unit id, interval).
    pub blocks: Vec<(UnitId, Interval)>,
}

impl Db {
    /// A space with only the required fields; see [`Db::update_space`] for the rest.
    ///
    /// # Errors
    /// [`super::StoreError::Unique`] when the slug is taken.
    pub async fn insert_space(&self, s: NewSpace<'_>) -> StoreResult<SpaceId> {
        let id = SpaceId::new(new_id());
        in_catalog_tx!(self, |tx| {
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

    /// # Errors
    /// [`super::StoreError::NotFound`].
    pub async fn update_space(&self, id: &SpaceId, f: &SpaceFields) -> StoreResult<()> {
        let n = in_catalog_tx!(self, |tx| {
            sqlx::query(
                "UPDATE spaces SET name_zh = $2, name_en = $3, kind = $4, operator_org_id = $5, address = $6, latitude = $7, \
                 longitude = $8, floor_area_m2 = $9, timezone = $10, contact = $11, kind_quotas = $12 WHERE id = $1",
            )
            .bind(id)
            .bind(&f.name_zh)
            .bind(&f.name_en)
            .bind(&f.kind)
            .bind(&f.operator_org_id)
            .bind(&f.address)
            .bind(f.latitude)
            .bind(f.longitude)
            .bind(f.floor_area_m2)
            .bind(&f.timezone)
            .bind(&f.contact)
            .bind(&f.kind_quotas)
            .execute(&mut *tx)
            .await?
            .rows_affected()
        });
        if n == 0 { Err(super::StoreError::NotFound) } else { Ok(()) }
    }

    /// Archives (or, with `None`, restores) a space. History stays.
    ///
    /// # Errors
    /// Database errors.
    pub async fn set_space_archived(&self, id: &SpaceId, at: Option<i64>) -> StoreResult<()> {
        in_catalog_tx!(self, |tx| {
            sqlx::query("UPDATE spaces SET archived_at = $2 WHERE id = $1").bind(id).bind(at).execute(&mut *tx).await?;
        });
        Ok(())
    }

    /// The catalog's version stamp (bumped by triggers in every catalog change).
    ///
    /// # Errors
    /// Database errors.
    pub async fn catalog_version(&self) -> StoreResult<i64> {
        Ok(on_read!(self, |p| {
            sqlx::query_scalar("SELECT version FROM catalog_version WHERE id = 1").fetch_one(p).await?
        }))
    }

    /// A space by id or slug, archived or not.
    ///
    /// # Errors
    /// [`super::StoreError::NotFound`].
    pub async fn space(&self, id_or_slug: &str) -> StoreResult<SpaceRow> {
        let sql = format!("SELECT {SPACE_COLUMNS} FROM spaces WHERE id = $1 OR slug = $1");
        Ok(on_read!(self, |p| sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id_or_slug).fetch_one(p).await?))
    }

    /// Spaces, by slug; archived ones only when asked.
    ///
    /// # Errors
    /// Database errors.
    pub async fn spaces(&self, include_archived: bool) -> StoreResult<Vec<SpaceRow>> {
        let filter = if include_archived { "" } else { "WHERE archived_at IS NULL" };
        let sql = format!("SELECT {SPACE_COLUMNS} FROM spaces {filter} ORDER BY slug");
        Ok(on_read!(self, |p| sqlx::query_as(sqlx::AssertSqlSafe(sql)).fetch_all(p).await?))
    }

    /// A resource and its first units, in one transaction. A resource needs at least one unit.
    ///
    /// # Errors
    /// [`super::StoreError::Unique`] when two labels repeat.
    pub async fn insert_resource_with_units(&self, r: &NewResource<'_>) -> StoreResult<ResourceId> {
        let id = ResourceId::new(new_id());
        in_catalog_tx!(self, |tx| {
            sqlx::query(
                "INSERT INTO resources (id, space_id, kind, name_zh, name_en, description, policy, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(&id)
            .bind(r.space_id)
            .bind(r.kind)
            .bind(r.name_zh)
            .bind(r.name_en)
            .bind(r.description)
            .bind(r.policy_json)
            .bind(r.now)
            .execute(&mut *tx)
            .await?;
            for label in r.unit_labels {
                sqlx::query("INSERT INTO units (id, resource_id, label, created_at) VALUES ($1, $2, $3, $4)")
                    .bind(new_id())
                    .bind(&id)
                    .bind(label)
                    .bind(r.now)
                    .execute(&mut *tx)
                    .await?;
            }
        });
        Ok(id)
    }

    /// A resource with one unit and the default policy of an empty JSON object.
    ///
    /// # Errors
    /// [`super::StoreError::ForeignKey`] when the space does not exist.
    pub async fn insert_resource(
        &self,
        space_id: &SpaceId,
        kind: &str,
        name_zh: &str,
        name_en: &str,
        now: i64,
    ) -> StoreResult<ResourceId> {
        self.insert_resource_with_units(&NewResource {
            space_id,
            kind,
            name_zh,
            name_en,
            description: "",
            policy_json: "{}",
            unit_labels: &[],
            now,
        })
        .await
    }

    /// # Errors
    /// [`super::StoreError::NotFound`].
    pub async fn update_resource(
        &self,
        id: &ResourceId,
        name_zh: &str,
        name_en: &str,
        description: &str,
        policy_json: &str,
    ) -> StoreResult<()> {
        let n = in_catalog_tx!(self, |tx| {
            sqlx::query("UPDATE resources SET name_zh = $2, name_en = $3, description = $4, policy = $5 WHERE id = $1")
                .bind(id)
                .bind(name_zh)
                .bind(name_en)
                .bind(description)
                .bind(policy_json)
                .execute(&mut *tx)
                .await?
                .rows_affected()
        });
        if n == 0 { Err(super::StoreError::NotFound) } else { Ok(()) }
    }

    /// # Errors
    /// Database errors.
    pub async fn set_resource_archived(&self, id: &ResourceId, at: Option<i64>) -> StoreResult<()> {
        in_catalog_tx!(self, |tx| {
            sqlx::query("UPDATE resources SET archived_at = $2 WHERE id = $1")
                .bind(id)
                .bind(at)
                .execute(&mut *tx)
                .await?;
        });
        Ok(())
    }

    /// # Errors
    /// [`super::StoreError::NotFound`].
    pub async fn resource(&self, id: &ResourceId) -> StoreResult<ResourceRow> {
        let sql = format!("SELECT {RESOURCE_COLUMNS} FROM resources WHERE id = $1");
        Ok(on_read!(self, |p| sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id).fetch_one(p).await?))
    }

    /// Every resource of a space, archived ones too, by kind and English name.
    ///
    /// # Errors
    /// Database errors.
    pub async fn all_resources_of(&self, space_id: &SpaceId) -> StoreResult<Vec<ResourceRow>> {
        let sql = format!("SELECT {RESOURCE_COLUMNS} FROM resources WHERE space_id = $1 ORDER BY kind, name_en, id");
        Ok(on_read!(self, |p| sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(space_id).fetch_all(p).await?))
    }

    /// The resources of a space that are not archived.
    ///
    /// # Errors
    /// Database errors.
    pub async fn resources_of(&self, space_id: &SpaceId) -> StoreResult<Vec<ResourceRow>> {
        let sql = format!(
            "SELECT {RESOURCE_COLUMNS} FROM resources WHERE space_id = $1 AND archived_at IS NULL ORDER BY kind, name_en, id"
        );
        Ok(on_read!(self, |p| sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(space_id).fetch_all(p).await?))
    }

    /// Live (not retired) units of the given resources, by resource and label.
    ///
    /// # Errors
    /// Database errors.
    pub async fn units_of_space(&self, space_id: &SpaceId) -> StoreResult<Vec<UnitRow>> {
        Ok(on_read!(self, |p| {
            sqlx::query_as(
                "SELECT u.id, u.resource_id, u.label, u.retired_at FROM units u JOIN resources r ON r.id = u.resource_id \
                 WHERE r.space_id = $1 AND u.retired_at IS NULL ORDER BY u.resource_id, u.label",
            )
            .bind(space_id)
            .fetch_all(p)
            .await?
        }))
    }

    /// # Errors
    /// Database errors.
    pub async fn units_of(&self, resource_id: &ResourceId) -> StoreResult<Vec<UnitRow>> {
        Ok(on_read!(self, |p| {
            sqlx::query_as(
                "SELECT id, resource_id, label, retired_at FROM units WHERE resource_id = $1 AND retired_at IS NULL ORDER BY label",
            )
            .bind(resource_id)
            .fetch_all(p)
            .await?
        }))
    }

    /// # Errors
    /// [`super::StoreError::NotFound`].
    pub async fn unit(&self, id: &UnitId) -> StoreResult<UnitRow> {
        Ok(on_read!(self, |p| {
            sqlx::query_as("SELECT id, resource_id, label, retired_at FROM units WHERE id = $1")
                .bind(id)
                .fetch_one(p)
                .await?
        }))
    }

    /// # Errors
    /// [`super::StoreError::Unique`] when a live unit of the resource has the label.
    pub async fn insert_unit(&self, resource_id: &ResourceId, label: &str, now: i64) -> StoreResult<UnitId> {
        let ids = self.insert_units(resource_id, &[label.to_owned()], now).await?;
        Ok(ids.into_iter().next().unwrap_or_default())
    }

    /// Adds units, all or none.
    ///
    /// # Errors
    /// [`super::StoreError::Unique`] when a live unit of the resource has one of the labels.
    pub async fn insert_units(
        &self,
        resource_id: &ResourceId,
        labels: &[String],
        now: i64,
    ) -> StoreResult<Vec<UnitId>> {
        let ids: Vec<UnitId> = labels.iter().map(|_| UnitId::new(new_id())).collect();
        in_catalog_tx!(self, |tx| {
            for (id, label) in ids.iter().zip(labels) {
                sqlx::query("INSERT INTO units (id, resource_id, label, created_at) VALUES ($1, $2, $3, $4)")
                    .bind(id)
                    .bind(resource_id)
                    .bind(label)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
            }
        });
        Ok(ids)
    }

    /// # Errors
    /// [`super::StoreError::Unique`] when another live unit has the label.
    pub async fn relabel_unit(&self, id: &UnitId, label: &str) -> StoreResult<()> {
        in_catalog_tx!(self, |tx| {
            sqlx::query("UPDATE units SET label = $2 WHERE id = $1").bind(id).bind(label).execute(&mut *tx).await?;
        });
        Ok(())
    }

    /// Retires a unit: it takes no new bookings; its history stays.
    ///
    /// # Errors
    /// Database errors.
    pub async fn retire_unit(&self, id: &UnitId, now: i64) -> StoreResult<()> {
        in_catalog_tx!(self, |tx| {
            sqlx::query("UPDATE units SET retired_at = $2 WHERE id = $1 AND retired_at IS NULL")
                .bind(id)
                .bind(now)
                .execute(&mut *tx)
                .await?;
        });
        Ok(())
    }

    /// # Errors
    /// Database errors.
    pub async fn insert_opening_rule(
        &self,
        space_id: &SpaceId,
        resource_id: Option<&ResourceId>,
        rrule: &str,
        dtstart_local: &str,
        duration_min: i64,
        now: i64,
    ) -> StoreResult<String> {
        let id = new_id();
        in_catalog_tx!(self, |tx| {
            sqlx::query(
                "INSERT INTO opening_rules (id, space_id, resource_id, rrule, dtstart_local, duration_min, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(&id)
            .bind(space_id)
            .bind(resource_id)
            .bind(rrule)
            .bind(dtstart_local)
            .bind(duration_min)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        });
        Ok(id)
    }

    /// All opening rules of a space (its own and its resources').
    ///
    /// # Errors
    /// Database errors.
    pub async fn opening_rules_of(&self, space_id: &SpaceId) -> StoreResult<Vec<OpeningRuleRow>> {
        Ok(on_read!(self, |p| {
            sqlx::query_as(
                "SELECT id, space_id, resource_id, rrule, dtstart_local, duration_min FROM opening_rules \
                 WHERE space_id = $1 ORDER BY resource_id, dtstart_local, id",
            )
            .bind(space_id)
            .fetch_all(p)
            .await?
        }))
    }

    /// Deletes an opening rule of a space. Returns whether there was one.
    ///
    /// # Errors
    /// Database errors.
    pub async fn delete_opening_rule(&self, space_id: &SpaceId, id: &str) -> StoreResult<bool> {
        let n = in_catalog_tx!(self, |tx| {
            sqlx::query("DELETE FROM opening_rules WHERE id = $1 AND space_id = $2")
                .bind(id)
                .bind(space_id)
                .execute(&mut *tx)
                .await?
                .rows_affected()
        });
        Ok(n > 0)
    }

    /// # Errors
    /// Database errors.
    pub async fn insert_closure(&self, c: &NewClosure<'_>) -> StoreResult<String> {
        let id = new_id();
        in_catalog_tx!(self, |tx| {
            sqlx::query(
                "INSERT INTO closures (id, space_id, resource_id, unit_id, reason, starts_at, ends_at, rrule, dtstart_local, \
                 duration_min, created_at, created_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
            )
            .bind(&id)
            .bind(c.space_id)
            .bind(c.resource_id)
            .bind(c.unit_id)
            .bind(c.reason)
            .bind(c.starts_at)
            .bind(c.ends_at)
            .bind(c.rrule)
            .bind(c.dtstart_local)
            .bind(c.duration_min)
            .bind(c.now)
            .bind(c.created_by)
            .execute(&mut *tx)
            .await?;
        });
        Ok(id)
    }

    /// Closures of a space that may touch `window` (all of them when `None`).
    ///
    /// # Errors
    /// Database errors.
    pub async fn closures_of(&self, space_id: &SpaceId, window: Option<Interval>) -> StoreResult<Vec<ClosureRow>> {
        let (from, until) = window.map_or((i64::MIN, i64::MAX), |w| (w.start(), w.end()));
        let sql = format!(
            "SELECT {CLOSURE_COLUMNS} FROM closures WHERE space_id = $1 AND ends_at > $2 AND starts_at < $3 ORDER BY starts_at, id"
        );
        Ok(on_read!(self, |p| sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(space_id)
            .bind(from)
            .bind(until)
            .fetch_all(p)
            .await?))
    }

    /// # Errors
    /// Database errors.
    pub async fn delete_closure(&self, space_id: &SpaceId, id: &str) -> StoreResult<bool> {
        let n = in_catalog_tx!(self, |tx| {
            sqlx::query("DELETE FROM closures WHERE id = $1 AND space_id = $2")
                .bind(id)
                .bind(space_id)
                .execute(&mut *tx)
                .await?
                .rows_affected()
        });
        Ok(n > 0)
    }

    /// Everything availability needs for one resource and window, read in one snapshot
    /// where the backend allows (PostgreSQL: one transaction; SQLite: one read connection).
    ///
    /// # Errors
    /// [`super::StoreError::NotFound`] when the resource does not exist.
    pub async fn resource_calendar(&self, resource_id: &ResourceId, window: Interval) -> StoreResult<ResourceCalendar> {
        let resource = self.resource(resource_id).await?;
        let space = self.space(resource.space_id.as_str()).await?;
        self.calendar_of(resource, space, window).await
    }

    /// [`Db::resource_calendar`] for a resource and space already read.
    ///
    /// # Errors
    /// Database errors.
    pub async fn calendar_of(
        &self,
        resource: ResourceRow,
        space: SpaceRow,
        window: Interval,
    ) -> StoreResult<ResourceCalendar> {
        let resource_id = &resource.id;
        // Independent reads, concurrently (on separate pooled connections).
        let (units, rules, closures, blocks) = tokio::try_join!(
            self.units_of(resource_id),
            self.opening_rules_of(&resource.space_id),
            self.closures_of(&resource.space_id, Some(window)),
            self.blocked_intervals(&resource, window),
        )?;
        let own: Vec<OpeningRuleRow> =
            rules.iter().filter(|r| r.resource_id.as_ref() == Some(resource_id)).cloned().collect();
        let opening_rules =
            if own.is_empty() { rules.into_iter().filter(|r| r.resource_id.is_none()).collect() } else { own };
        let closures = closures
            .into_iter()
            .filter(|c| {
                c.resource_id.as_ref().is_none_or(|r| r == resource_id)
                    && c.unit_id.as_ref().is_none_or(|u| units.iter().any(|x| &x.id == u))
            })
            .collect();
        Ok(ResourceCalendar { space, resource, units, opening_rules, closures, blocks })
    }

    /// Blocked intervals of the resource's live bookings that touch `window`, one row per
    /// unit (aggregated in SQL: thousands of rows through the driver cost more than the
    /// query). The index range is bounded on both sides by the resource's longest block.
    pub async fn blocked_intervals(
        &self,
        resource: &ResourceRow,
        window: Interval,
    ) -> StoreResult<Vec<(UnitId, Interval)>> {
        // The lower bound reads max_blocked_ms fresh (a cached resource row may be older);
        // the subquery is evaluated once, and the index range is still bounded on both sides.
        /// The longest window read inline on SQLite (a booking decision reads its span ± a day).
        const INLINE_WINDOW_MS: i64 = 8 * 86_400_000;
        static SQL: std::sync::LazyLock<super::TwoDialects> = std::sync::LazyLock::new(|| {
            super::TwoDialects::new(|d| {
                format!(
                    "SELECT unit_id, {} FROM bookings \
                     WHERE resource_id = $1 AND blocked_from >= $2 - (SELECT max_blocked_ms FROM resources WHERE id = $1) \
                     AND blocked_from < $3 AND blocked_until > $4 AND status IN {} GROUP BY unit_id",
                    d.join_intervals("blocked_from", "blocked_until"),
                    super::types::sql_list(&BookingStatus::LIVE),
                )
            })
        });
        let rows: Vec<(UnitId, String)> = match self {
            // A booking decision's window (a few days) is a short index range: inline, without
            // sqlx's thread hand-off. Long windows (availability) stay on the pool.
            Db::Sqlite { direct, .. } if window.end() - window.start() <= INLINE_WINDOW_MS => direct.read(|c| {
                c.prepare_cached(&SQL.sqlite)?
                    .query_map(rusqlite::params![&resource.id, window.start(), window.end(), window.start()], |r| {
                        Ok((r.get(0)?, r.get(1)?))
                    })?
                    .collect::<rusqlite::Result<_>>()
            })?,
            _ => on_read!(self, |p| {
                sqlx::query_as(sqlx::AssertSqlSafe(SQL.of(self)))
                    .bind(&resource.id)
                    .bind(window.start())
                    .bind(window.end())
                    .bind(window.start())
                    .fetch_all(p)
                    .await?
            }),
        };
        let mut out = Vec::new();
        for (unit, list) in rows {
            out.extend(super::parse_interval_list(Some(&list))?.into_iter().map(|i| (unit.clone(), i)));
        }
        Ok(out)
    }
}
