//! "When is this free?", and the maker map's "open now, until …". Public.

use super::catalog::{closures_of, find_resource, find_space, opening_windows, zone_of};
use super::{ServiceError, ServiceResult, Services};
use crate::domain::availability::{free_by_unit, open_intervals};
use crate::domain::calendar::{
    DAY_MS, Zone, local_day, local_to_utc, parse_date, parse_instant, utc_to_local, within_reach,
};
use crate::domain::ids::{ResourceId, UnitId};
use crate::domain::interval::Interval;
use crate::store::catalog::{ResourceRow, SpaceRow, UnitRow};
use chrono::NaiveDate;

/// Whether a space is open at `now`, and until when; or when it opens next (within a week).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpenState {
    pub open_now: bool,
    /// While open: when it closes; `None` when open around the clock.
    pub until: Option<i64>,
    /// While closed: when it opens next, if within a week.
    pub next_open: Option<i64>,
}

/// [`OpenState`] of `space` at `now`, from its own opening rules and closures.
///
/// # Errors
/// Store errors; [`super::Code::Internal`] for stored rules that no longer parse.
pub async fn open_state(svc: &Services, space: &SpaceRow, now: i64) -> ServiceResult<OpenState> {
    let zone = zone_of(space)?;
    let rules: Vec<_> =
        svc.db.opening_rules_of(&space.id).await?.into_iter().filter(|r| r.resource_id.is_none()).collect();
    let window = Interval::new(now - DAY_MS, now + 8 * DAY_MS).expect("positive");
    let closure_rows = svc.db.closures_of(&space.id, Some(window)).await?;
    let open = open_intervals(&opening_windows(zone, &rules)?, &closures_of(zone, &closure_rows)?, None, window)?;
    let current = open.iter().find(|i| i.contains_instant(now));
    Ok(OpenState {
        open_now: current.is_some(),
        // Open up to the edge of the look-ahead: open around the clock, no closing time to show.
        until: current.filter(|i| i.end() < window.end()).map(|i| i.end()),
        next_open: if current.is_some() { None } else { open.iter().find(|i| i.start() > now).map(|i| i.start()) },
    })
}

/// One space of the maker map.
#[derive(Debug, Clone)]
pub struct SpaceOnMap {
    pub space: SpaceRow,
    pub zone: Zone,
    /// The kinds of resource that can be booked there (each once).
    pub resource_kinds: Vec<String>,
    pub open: OpenState,
}

/// The maker map: every space that is not archived, with what can be booked there and
/// whether it is open at `now`.
///
/// # Errors
/// Store errors.
pub async fn map(svc: &Services, now: i64) -> ServiceResult<Vec<SpaceOnMap>> {
    let mut out = Vec::new();
    for s in svc.db.spaces(false).await? {
        let zone = zone_of(&s)?;
        let open = open_state(svc, &s, now).await?;
        let mut kinds: Vec<String> = svc.db.resources_of(&s.id).await?.into_iter().map(|r| r.kind).collect();
        kinds.dedup();
        out.push(SpaceOnMap { space: s, zone, resource_kinds: kinds, open });
    }
    Ok(out)
}

/// A resource's free time over a window, per unit.
#[derive(Debug, Clone)]
pub struct ResourceFree {
    pub resource: ResourceRow,
    pub space: SpaceRow,
    pub zone: Zone,
    pub window: Interval,
    /// Each live unit with its free intervals: opening hours minus closures minus booked
    /// time (with buffers).
    pub units: Vec<(UnitRow, Vec<Interval>)>,
}

/// The free time of each unit of resource `resource_id` in `window` (at most 92 days).
///
/// # Errors
/// [`super::Code::WindowTooLong`], [`super::Code::NotFound`].
pub async fn of_resource(svc: &Services, resource_id: &ResourceId, window: Interval) -> ServiceResult<ResourceFree> {
    crate::domain::calendar::check_window(window)?;
    let cal = svc.db.resource_calendar(resource_id, window).await?;
    let zone = zone_of(&cal.space)?;
    let unit_ids: Vec<UnitId> = cal.units.iter().map(|u| u.id.clone()).collect();
    let free = free_by_unit(
        &cal.resource.id,
        &unit_ids,
        &opening_windows(zone, &cal.opening_rules)?,
        &closures_of(zone, &cal.closures)?,
        &cal.blocks,
        window,
    )?;
    Ok(ResourceFree {
        units: cal.units.into_iter().zip(free).map(|(u, f)| (u, f.free)).collect(),
        resource: cal.resource,
        space: cal.space,
        zone,
        window,
    })
}

/// An instant or a local date of the space, within reach of `now`
/// ([`crate::domain::calendar::within_reach`]).
fn instant_or_date(field: &str, raw: &str, zone: Zone, now: i64) -> ServiceResult<i64> {
    let t = match parse_instant(field, raw) {
        Ok(ms) => ms,
        Err(_) => match parse_date(field, raw) {
            Ok(d) => local_day(zone.tz(), d).start(),
            Err(f) if f.code == "out_of_range" => return Err(invalid(f)),
            Err(_) => {
                return Err(ServiceError::invalid_field(
                    field,
                    "invalid_time",
                    "must be RFC 3339 with an offset, or a date such as 2026-03-29",
                ));
            }
        },
    };
    within_reach(field, t, now).map_err(invalid)
}

fn invalid(f: crate::domain::FieldError) -> ServiceError {
    ServiceError::from(crate::domain::ValidationErrors(vec![f]))
}

/// [`of_resource`] between `from` and `to`, each RFC 3339 or a local date of the space (the
/// start of that day; `to` is exclusive).
///
/// # Errors
/// [`super::Code::NotFound`], [`super::Code::ValidationFailed`], [`super::Code::WindowTooLong`].
pub async fn of_resource_between(
    svc: &Services,
    id: &str,
    from: &str,
    to: &str,
    now: i64,
) -> ServiceResult<ResourceFree> {
    let resource = find_resource(svc, &ResourceId::new(id)).await?;
    let space = find_space(svc, resource.space_id.as_str()).await?;
    let zone = zone_of(&space)?;
    let from = instant_or_date("from", from, zone, now)?;
    let to = instant_or_date("to", to, zone, now)?;
    let window =
        Interval::new(from, to).map_err(|_| ServiceError::invalid_field("to", "before_start", "must be after from"))?;
    of_resource(svc, &resource.id, window).await
}

/// A whole local day of a space: every resource, every unit, its free time.
#[derive(Debug, Clone)]
pub struct SpaceDay {
    pub space: SpaceRow,
    pub zone: Zone,
    pub date: NaiveDate,
    pub window: Interval,
    pub resources: Vec<ResourceFree>,
}

/// The local day `date` of `space` (`YYYY-MM-DD`; default: today there at `now`).
///
/// # Errors
/// [`super::Code::ValidationFailed`] for a date that does not parse.
pub async fn space_day(svc: &Services, space: SpaceRow, date: Option<&str>, now: i64) -> ServiceResult<SpaceDay> {
    let zone = zone_of(&space)?;
    let date = match date {
        Some(d) => parse_date("date", d).map_err(invalid)?,
        None => utc_to_local(zone.tz(), now).date_naive(),
    };
    let window = local_day(zone.tz(), date);
    within_reach("date", window.start(), now).map_err(invalid)?;
    let mut resources = Vec::new();
    for r in svc.db.resources_of(&space.id).await? {
        resources.push(of_resource(svc, &r.id, window).await?);
    }
    debug_assert_eq!(window.start(), local_to_utc(zone.tz(), date.and_time(chrono::NaiveTime::MIN)));
    Ok(SpaceDay { space, zone, date, window, resources })
}

/// A week (or so) of one resource as a maker's page shows it: the opening hours (minus
/// closures), each unit's free time, and the closures that touch it (to name them).
#[derive(Debug, Clone)]
pub struct ResourceWeek {
    pub resource: ResourceRow,
    pub space: SpaceRow,
    pub zone: Zone,
    pub policy: crate::domain::policy::BookingPolicy,
    /// The first local day shown.
    pub first: NaiveDate,
    pub days: Vec<(NaiveDate, Interval)>,
    pub window: Interval,
    /// When the resource is open (opening hours minus closures).
    pub open: Vec<Interval>,
    pub units: Vec<UnitRow>,
    /// Free time per unit, in the order of `units`.
    pub free: Vec<Vec<Interval>>,
    /// Closures in the window: (reason, when).
    pub closed: Vec<(String, Interval)>,
}

impl ResourceWeek {
    /// The week as moving a booking of `unit` sees it: that unit alone (a move keeps its
    /// unit), with the booking's own time (`own`, as it blocks) free again where the
    /// resource is open, since the move does not count it.
    pub fn for_moving(&mut self, unit: &UnitId, own: Interval) {
        let Some(i) = self.units.iter().position(|u| &u.id == unit) else {
            self.units.clear();
            self.free.clear();
            return;
        };
        let mut free = std::mem::take(&mut self.free[i]);
        free.extend(self.open.iter().filter_map(|o| o.intersection(&own)));
        self.units = vec![self.units.swap_remove(i)];
        self.free = vec![crate::domain::interval::normalize(free)];
    }
}

/// The most days a resource's page shows at once.
pub const MAX_PAGE_DAYS: i64 = 14;

/// Where a resource's days begin.
#[derive(Debug, Clone, Copy)]
pub enum FirstDay<'a> {
    /// A local date, `YYYY-MM-DD`; `None`: today there.
    Date(Option<&'a str>),
    /// The local day of this instant.
    Of(i64),
}

/// `days` local days of resource `id` from `first`.
///
/// # Errors
/// [`super::Code::NotFound`], [`super::Code::ValidationFailed`] (a date that does not
/// parse or is out of reach).
pub async fn resource_week(
    svc: &Services,
    id: &str,
    first: FirstDay<'_>,
    days: i64,
    now: i64,
) -> ServiceResult<ResourceWeek> {
    let resource = find_resource(svc, &ResourceId::new(id)).await?;
    let space = find_space(svc, resource.space_id.as_str()).await?;
    let zone = zone_of(&space)?;
    let first = match first {
        FirstDay::Date(Some(d)) => parse_date("date", d).map_err(invalid)?,
        FirstDay::Date(None) => utc_to_local(zone.tz(), now).date_naive(),
        FirstDay::Of(at) => utc_to_local(zone.tz(), within_reach("start", at, now).map_err(invalid)?).date_naive(),
    };
    let n = days.clamp(1, MAX_PAGE_DAYS);
    let day_list: Vec<(NaiveDate, Interval)> = (0..n)
        .map(|i| {
            let d = first + chrono::Duration::days(i);
            (d, local_day(zone.tz(), d))
        })
        .collect();
    let window = Interval::new(day_list[0].1.start(), day_list[day_list.len() - 1].1.end())
        .map_err(|_| ServiceError::invalid_field("date", "out_of_range", "no such days"))?;
    within_reach("date", window.start(), now).map_err(invalid)?;
    within_reach("date", window.end() - 1, now).map_err(invalid)?;
    let cal = svc.db.resource_calendar(&resource.id, window).await?;
    let windows = opening_windows(zone, &cal.opening_rules)?;
    let closures = closures_of(zone, &cal.closures)?;
    let open = open_intervals(&windows, &closures, Some(&resource.id), window)?;
    let unit_ids: Vec<UnitId> = cal.units.iter().map(|u| u.id.clone()).collect();
    let free = free_by_unit(&resource.id, &unit_ids, &windows, &closures, &cal.blocks, window)?
        .into_iter()
        .map(|f| f.free)
        .collect();
    let mut closed = Vec::new();
    for (row, c) in cal.closures.iter().zip(&closures) {
        let applies = row.unit_id.is_none() && row.resource_id.as_ref().is_none_or(|r| *r == resource.id);
        if applies {
            for i in c.when.within(window)? {
                closed.push((row.reason.clone(), i));
            }
        }
    }
    let policy = super::catalog::stored_policy(&resource)?;
    Ok(ResourceWeek {
        policy,
        resource,
        space,
        zone,
        first,
        days: day_list,
        window,
        open,
        units: cal.units,
        free,
        closed,
    })
}
