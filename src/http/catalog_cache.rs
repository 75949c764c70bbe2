//! A per-node cache of what a booking decision reads about a resource: its row, its space,
//! units, opening rules and closures. Bookings read these on every request, and they change
//! rarely.
//!
//! Validity comes from the database, not from a timer: every catalog change bumps
//! `catalog_version` in its own transaction (triggers), and each request reads the stamp
//! together with its session (no extra round trip). An entry made under an older stamp is
//! read again. Entries are loaded after the stamp was read, so an entry is never older than
//! its stamp, on whichever node the change was made. Live bookings (blocked intervals) and
//! `max_blocked_ms` are never cached.

use crate::domain::interval::Interval;
use crate::store::catalog::{ClosureRow, OpeningRuleRow, ResourceCalendar, ResourceRow, SpaceRow, UnitRow};
use crate::store::{Db, StoreResult};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// The catalog rows of one resource, as of `version`.
#[derive(Debug)]
pub struct Entry {
    pub version: i64,
    pub resource: ResourceRow,
    pub space: SpaceRow,
    pub units: Vec<UnitRow>,
    /// Every opening rule of the space (the resource's own, if any, replace the space's).
    rules: Vec<OpeningRuleRow>,
    /// Every closure of the space.
    closures: Vec<ClosureRow>,
}

#[derive(Debug, Default)]
pub struct CatalogCache {
    entries: Mutex<HashMap<String, Arc<Entry>>>,
    /// A unit's resource never changes: unit id -> resource id, kept for good.
    unit_resource: Mutex<HashMap<String, String>>,
}

/// Bounds the cache (a district has hundreds of resources, not hundreds of thousands).
const MAX_ENTRIES: usize = 10_000;

impl CatalogCache {
    /// The entry of `resource_id` valid at `version`, read from the database when missing
    /// or older.
    ///
    /// # Errors
    /// Store errors ([`crate::store::StoreError::NotFound`] for an unknown resource).
    pub async fn entry(&self, db: &Db, version: i64, resource_id: &str) -> StoreResult<Arc<Entry>> {
        if let Some(e) = self.entries.lock().expect("cache lock").get(resource_id)
            && e.version >= version
        {
            return Ok(e.clone());
        }
        let resource = db.resource(resource_id).await?;
        let (space, units, rules, closures) = tokio::try_join!(
            db.space(&resource.space_id),
            db.units_of(resource_id),
            db.opening_rules_of(&resource.space_id),
            db.closures_of(&resource.space_id, None),
        )?;
        let entry = Arc::new(Entry { version, resource, space, units, rules, closures });
        let mut map = self.entries.lock().expect("cache lock");
        if map.len() >= MAX_ENTRIES {
            map.clear();
        }
        map.insert(resource_id.to_owned(), entry.clone());
        Ok(entry)
    }

    /// The resource of a unit, if the unit exists.
    ///
    /// # Errors
    /// Store errors ([`crate::store::StoreError::NotFound`] for an unknown unit).
    pub async fn resource_of_unit(&self, db: &Db, unit_id: &str) -> StoreResult<String> {
        if let Some(r) = self.unit_resource.lock().expect("cache lock").get(unit_id) {
            return Ok(r.clone());
        }
        let unit = db.unit(unit_id).await?;
        let mut map = self.unit_resource.lock().expect("cache lock");
        if map.len() >= MAX_ENTRIES * 10 {
            map.clear();
        }
        map.insert(unit_id.to_owned(), unit.resource_id.clone());
        Ok(unit.resource_id)
    }
}

impl Entry {
    /// What [`Db::calendar_of`] returns, from the cached rows and the live `blocks`.
    pub fn calendar(&self, window: Interval, blocks: Vec<(String, Interval)>) -> ResourceCalendar {
        let rid = self.resource.id.as_str();
        let own: Vec<OpeningRuleRow> =
            self.rules.iter().filter(|r| r.resource_id.as_deref() == Some(rid)).cloned().collect();
        let opening_rules =
            if own.is_empty() { self.rules.iter().filter(|r| r.resource_id.is_none()).cloned().collect() } else { own };
        let closures = self
            .closures
            .iter()
            .filter(|c| c.ends_at > window.start() && c.starts_at < window.end())
            .filter(|c| {
                c.resource_id.as_deref().is_none_or(|r| r == rid)
                    && c.unit_id.as_deref().is_none_or(|u| self.units.iter().any(|x| x.id == u))
            })
            .cloned()
            .collect();
        ResourceCalendar {
            space: self.space.clone(),
            resource: self.resource.clone(),
            units: self.units.clone(),
            opening_rules,
            closures,
            blocks,
        }
    }
}
