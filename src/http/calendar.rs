//! Turns stored opening rules and closures back into validated calendar values, and
//! formats intervals for answers (UTC and the space's local time).

use super::error::{ApiError, ApiResult};
use crate::domain::availability::{Closure, Scope, When};
use crate::domain::calendar::{
    MAX_CLOSURE_MINUTES, MAX_OPENING_MINUTES, RecurringWindow, Zone, format_local, format_utc,
};
use crate::domain::interval::Interval;
use crate::store::catalog::{ClosureRow, OpeningRuleRow, SpaceRow};
use serde::Serialize;
use utoipa::ToSchema;

/// The zone of a stored space (validated when it was saved).
pub fn zone_of(space: &SpaceRow) -> ApiResult<Zone> {
    Zone::parse("timezone", &space.timezone).map_err(|e| {
        ApiError::internal(anyhow::anyhow!("space {} has a stored zone that no longer parses: {e:?}", space.slug))
    })
}

/// Stored rules were validated when saved; one that no longer parses is a bug.
pub fn opening_windows(zone: Zone, rows: &[OpeningRuleRow]) -> ApiResult<Vec<RecurringWindow>> {
    rows.iter()
        .map(|r| {
            RecurringWindow::parse_stored(
                ["rrule", "start", "duration"],
                &r.rrule,
                &r.dtstart_local,
                r.duration_min,
                MAX_OPENING_MINUTES,
                zone,
            )
            .map_err(|e| ApiError::internal(anyhow::anyhow!("stored opening rule {} no longer parses: {e:?}", r.id)))
        })
        .collect()
}

pub fn closures(zone: Zone, rows: &[ClosureRow]) -> ApiResult<Vec<Closure>> {
    rows.iter()
        .map(|c| {
            let scope = match (&c.unit_id, &c.resource_id) {
                (Some(u), _) => Scope::Unit(u.clone()),
                (None, Some(r)) => Scope::Resource(r.clone()),
                (None, None) => Scope::Space,
            };
            let when = match (&c.rrule, &c.dtstart_local, c.duration_min) {
                (Some(rrule), Some(start), Some(d)) => When::Recurring(Box::new(
                    RecurringWindow::parse_stored(
                        ["rrule", "start", "duration"],
                        rrule,
                        start,
                        d,
                        MAX_CLOSURE_MINUTES,
                        zone,
                    )
                    .map_err(|e| {
                        ApiError::internal(anyhow::anyhow!("stored closure {} no longer parses: {e:?}", c.id))
                    })?,
                )),
                _ => When::Once(
                    Interval::new(c.starts_at, c.ends_at)
                        .map_err(|e| ApiError::internal(anyhow::anyhow!("stored closure {} is empty: {e}", c.id)))?,
                ),
            };
            Ok(Closure { scope, when })
        })
        .collect()
}

/// An interval in UTC and in the space's local time.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Span {
    /// RFC 3339, UTC.
    pub start: String,
    pub end: String,
    /// RFC 3339 with the space's offset at that instant.
    pub start_local: String,
    pub end_local: String,
}

impl Span {
    pub fn new(zone: Zone, i: Interval) -> Self {
        Span {
            start: format_utc(i.start()),
            end: format_utc(i.end()),
            start_local: format_local(zone.tz(), i.start()),
            end_local: format_local(zone.tz(), i.end()),
        }
    }
}
