//! A per-node cache of what a booking decision reads about a resource: its row, its space,
//! units, opening rules and closures. Bookings read these on every request, and they change
//! rarely. Why it exists: reading them (five statements) and expanding their RRULEs was most
//! of a single booking's cost once the write path was grouped (BENCHMARKS.md, fifth to
//! seventh rounds).
//!
//! An [`Entry`] is the one source every booking decision reads its catalog from
//! (`service::booking`): taken from the cache when the caller read the catalog's stamp with
//! its login, or read afresh ([`Entry::load`]) when it has no stamp (the jobs, the kiosk).
//!
//! Validity comes from the database, not from a timer: every catalog change bumps
//! `catalog_version` in its own transaction (triggers), and each request reads the stamp
//! together with its login (no extra round trip). An entry made under an older stamp is
//! read again. Entries are loaded after the stamp was read, so an entry is never older than
//! its stamp, on whichever node the change was made. Live bookings (blocked intervals) and
//! `max_blocked_ms` are never cached.

use crate::domain::ids::{ResourceId, UnitId};
use crate::domain::interval::{Interval, normalize};
use crate::domain::policy::{BookingPolicy, Quota};
use crate::store::catalog::{ClosureRow, OpeningRuleRow, ResourceCalendar, ResourceRow, SpaceRow, UnitRow};
use crate::store::{Db, StoreResult};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

/// The tables an [`Entry`] is read from ([`Entry::load`]). Each must bump `catalog_version`
/// on every insert, update and delete (the triggers of migration 0005), or a cached entry
/// outlives the change; a test holds the schema to this list.
pub const TABLES: &[&str] = &["spaces", "resources", "units", "opening_rules", "closures"];

/// The catalog rows of one resource, as of `version`.
#[derive(Debug)]
pub struct Entry {
    /// The stamp it is valid for; `None` for an entry read afresh and kept by no cache.
    pub version: Option<i64>,
    pub resource: ResourceRow,
    pub space: SpaceRow,
    pub units: Vec<UnitRow>,
    /// Every opening rule of the space (the resource's own, if any, replace the space's).
    rules: Vec<OpeningRuleRow>,
    /// Every closure of the space.
    closures: Vec<ClosureRow>,
    /// Opening hours and closures expanded per [`BLOCK_MS`] block (index: start / BLOCK_MS).
    /// Expanding RRULEs was the largest cost of a booking decision; the rules cannot change
    /// without a new entry, so neither can their expansion.
    expanded: Mutex<HashMap<i64, Arc<Expansion>>>,
    /// The resource's policy and the space's quota for its kind, parsed from their JSON
    /// once (by the booking service, which owns the parsing and its errors).
    pub parsed: OnceLock<Rules>,
}

/// A resource's booking policy, merged over its kind's defaults, and the space's quota for
/// its kind.
#[derive(Debug, Clone)]
pub struct Rules {
    pub policy: BookingPolicy,
    pub kind_quota: Option<Quota>,
}

/// A calendar's opening hours and closures within a window, without any bookings.
#[derive(Debug, Clone, Default)]
pub struct Expansion {
    pub hours: Vec<Interval>,
    /// Closures of the space or the resource.
    pub closed: Vec<Interval>,
    /// Closures of single units: (unit id, intervals).
    pub unit_closed: Vec<(UnitId, Vec<Interval>)>,
}

/// The indexes of the blocks that cover `window`.
fn block_range(window: Interval) -> std::ops::RangeInclusive<i64> {
    window.start().div_euclid(BLOCK_MS)..=(window.end() - 1).div_euclid(BLOCK_MS)
}

fn block_span(k: i64) -> Interval {
    Interval::new(k * BLOCK_MS, (k + 1) * BLOCK_MS).expect("a block is a non-empty interval")
}

/// The blocks' expansions clipped to `window`, with pieces cut at block boundaries joined.
fn join(window: Interval, blocks: &[Arc<Expansion>]) -> Expansion {
    let mut hours = Vec::new();
    let mut closed = Vec::new();
    let mut unit_closed: HashMap<&UnitId, Vec<Interval>> = HashMap::new();
    let clip = |v: &[Interval]| v.iter().filter_map(|i| i.intersection(&window)).collect::<Vec<_>>();
    for b in blocks {
        hours.extend(clip(&b.hours));
        closed.extend(clip(&b.closed));
        for (unit, ivs) in &b.unit_closed {
            unit_closed.entry(unit).or_default().extend(clip(ivs));
        }
    }
    let mut unit_closed: Vec<(UnitId, Vec<Interval>)> = unit_closed
        .into_iter()
        .map(|(u, ivs)| (u.clone(), normalize(ivs)))
        .filter(|(_, ivs)| !ivs.is_empty())
        .collect();
    unit_closed.sort_by(|a, b| a.0.cmp(&b.0));
    Expansion { hours: normalize(hours), closed: normalize(closed), unit_closed }
}

/// The span of one memoised expansion: a week, aligned to the epoch.
const BLOCK_MS: i64 = 7 * 86_400_000;
/// Most memoised blocks per entry (about five years).
const MAX_BLOCKS: usize = 256;
/// Windows covering more blocks than this are expanded whole: memoising pays for the short
/// windows of single bookings, read again and again, not for a series' year read once (each
/// block's expansion walks its rule from the rule's start).
const MEMO_BLOCKS: i64 = 8;

#[derive(Debug, Default)]
pub struct CatalogCache {
    entries: Mutex<HashMap<ResourceId, Arc<Entry>>>,
    /// A unit's resource never changes: unit id -> resource id, kept for good.
    unit_resource: Mutex<HashMap<UnitId, ResourceId>>,
}

/// Bounds the cache (a district has hundreds of resources, not hundreds of thousands).
const MAX_ENTRIES: usize = 10_000;

impl CatalogCache {
    /// The entry of `resource_id` valid at `version`, read from the database when missing
    /// or older.
    ///
    /// # Errors
    /// Store errors ([`crate::store::StoreError::NotFound`] for an unknown resource).
    pub async fn entry(&self, db: &Db, version: i64, resource_id: &ResourceId) -> StoreResult<Arc<Entry>> {
        if let Some(e) = self.entries.lock().expect("cache lock").get(resource_id)
            && e.version.is_some_and(|v| v >= version)
        {
            return Ok(e.clone());
        }
        let entry = Arc::new(Entry::read(db, Some(version), resource_id).await?);
        let mut map = self.entries.lock().expect("cache lock");
        if map.len() >= MAX_ENTRIES {
            map.clear();
        }
        map.insert(resource_id.clone(), entry.clone());
        Ok(entry)
    }

    /// The resource of a unit, if the unit exists.
    ///
    /// # Errors
    /// Store errors ([`crate::store::StoreError::NotFound`] for an unknown unit).
    pub async fn resource_of_unit(&self, db: &Db, unit_id: &UnitId) -> StoreResult<ResourceId> {
        if let Some(r) = self.unit_resource.lock().expect("cache lock").get(unit_id) {
            return Ok(r.clone());
        }
        let unit = db.unit(unit_id).await?;
        let mut map = self.unit_resource.lock().expect("cache lock");
        if map.len() >= MAX_ENTRIES * 10 {
            map.clear();
        }
        map.insert(unit_id.clone(), unit.resource_id.clone());
        Ok(unit.resource_id)
    }
}

impl Entry {
    /// The catalog rows of `resource_id` as they are now, for a caller without a stamp to
    /// check a cached entry against; kept by no cache, and its expansions are not memoised.
    ///
    /// # Errors
    /// Store errors ([`crate::store::StoreError::NotFound`] for an unknown resource).
    pub async fn load(db: &Db, resource_id: &ResourceId) -> StoreResult<Arc<Entry>> {
        Ok(Arc::new(Entry::read(db, None, resource_id).await?))
    }

    async fn read(db: &Db, version: Option<i64>, resource_id: &ResourceId) -> StoreResult<Entry> {
        let resource = db.resource(resource_id).await?;
        let (space, units, rules, closures) = tokio::try_join!(
            db.space(resource.space_id.as_str()),
            db.units_of(resource_id),
            db.opening_rules_of(&resource.space_id),
            db.closures_of(&resource.space_id, None),
        )?;
        Ok(Entry {
            version,
            resource,
            space,
            units,
            rules,
            closures,
            expanded: Mutex::default(),
            parsed: OnceLock::new(),
        })
    }

    /// The expansion over `window`: the memoised weekly blocks that cover it (`expand` makes
    /// a missing one), each clipped to `window`. The same as expanding `window` itself,
    /// because an expansion clips every occurrence to its window; pieces that a block
    /// boundary cut are joined again. An entry that no cache keeps, and a window longer than
    /// [`MEMO_BLOCKS`] blocks, are expanded whole.
    ///
    /// # Errors
    /// What `expand` returns.
    pub fn expansion<E>(
        &self,
        window: Interval,
        expand: impl Fn(Interval) -> Result<Expansion, E>,
    ) -> Result<Expansion, E> {
        let range = block_range(window);
        if self.version.is_none() || range.end() - range.start() >= MEMO_BLOCKS {
            let whole = expand(window)?;
            return Ok(join(window, &[Arc::new(whole)]));
        }
        let blocks: Vec<Arc<Expansion>> =
            block_range(window).map(|k| self.block(k, &expand)).collect::<Result<_, E>>()?;
        Ok(join(window, &blocks))
    }

    fn block<E>(&self, k: i64, expand: &impl Fn(Interval) -> Result<Expansion, E>) -> Result<Arc<Expansion>, E> {
        if let Some(b) = self.expanded.lock().expect("cache lock").get(&k) {
            return Ok(b.clone());
        }
        let b = Arc::new(expand(block_span(k))?);
        let mut memo = self.expanded.lock().expect("cache lock");
        if memo.len() >= MAX_BLOCKS {
            memo.clear();
        }
        memo.insert(k, b.clone());
        Ok(b)
    }

    /// What [`Db::calendar_of`] returns about the catalog (no bookings), from the entry's rows.
    pub fn calendar(&self, window: Interval) -> ResourceCalendar {
        let rid = &self.resource.id;
        let own: Vec<OpeningRuleRow> =
            self.rules.iter().filter(|r| r.resource_id.as_ref() == Some(rid)).cloned().collect();
        let opening_rules =
            if own.is_empty() { self.rules.iter().filter(|r| r.resource_id.is_none()).cloned().collect() } else { own };
        let closures = self
            .closures
            .iter()
            .filter(|c| c.ends_at > window.start() && c.starts_at < window.end())
            .filter(|c| {
                c.resource_id.as_ref().is_none_or(|r| r == rid)
                    && c.unit_id.as_ref().is_none_or(|u| self.units.iter().any(|x| &x.id == u))
            })
            .cloned()
            .collect();
        ResourceCalendar {
            space: self.space.clone(),
            resource: self.resource.clone(),
            units: self.units.clone(),
            opening_rules,
            closures,
            blocks: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::calendar::{RecurringWindow, Zone};
    use proptest::prelude::*;

    /// Opening hours 09:00-17:00 and a unit closure 16:00-20:00 every day, Berlin wall clock:
    /// occurrences that cross block edges and DST changes.
    fn expand(w: Interval) -> Result<Expansion, ()> {
        let zone = Zone::parse("timezone", "Europe/Berlin").unwrap();
        let rule = |start: &str, minutes| {
            RecurringWindow::parse_stored(["r", "s", "d"], "FREQ=DAILY", start, minutes, 1440, zone).unwrap()
        };
        let (open, shut) = (rule("2025-01-01T09:00", 480), rule("2025-01-01T16:00", 240));
        Ok(Expansion {
            hours: open.expand(w).unwrap(),
            closed: Vec::new(),
            unit_closed: vec![(UnitId::new("u1"), shut.expand(w).unwrap())],
        })
    }

    proptest! {
        #[test]
        fn memoised_blocks_give_what_expanding_the_window_gives(
            start in 1_735_689_600_000_i64..1_798_761_600_000, hours in 1_i64..24 * 40
        ) {
            let window = Interval::new(start, start + hours * 3_600_000).unwrap();
            let blocks: Vec<Arc<Expansion>> = block_range(window).map(|k| Arc::new(expand(block_span(k)).unwrap())).collect();
            let joined = join(window, &blocks);
            let direct = expand(window).unwrap();
            prop_assert_eq!(joined.hours, normalize(direct.hours));
            let want: Vec<(UnitId, Vec<Interval>)> = direct
                .unit_closed
                .into_iter()
                .map(|(u, v)| (u, normalize(v)))
                .filter(|(_, v)| !v.is_empty())
                .collect();
            prop_assert_eq!(joined.unit_closed, want);
        }
    }
}
