//! "When is this free?": opening hours minus closures minus blocked bookings, per unit.
//! Pure: everything it needs is passed in.

use super::calendar::{CalendarError, RecurringWindow, check_window};
use super::ids::{ResourceId, UnitId};
use super::interval::{Interval, normalize, subtract};

/// When a closure applies.
#[derive(Debug, Clone)]
pub enum When {
    Once(Interval),
    Recurring(Box<RecurringWindow>),
}

impl When {
    /// The closure's intervals within `window`.
    ///
    /// # Errors
    /// [`CalendarError::TooManyOccurrences`].
    pub fn within(&self, window: Interval) -> Result<Vec<Interval>, CalendarError> {
        match self {
            When::Once(i) => Ok(i.intersection(&window).into_iter().collect()),
            When::Recurring(r) => r.expand(window),
        }
    }
}

/// What a closure covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// The whole space: every resource and unit.
    Space,
    /// One resource: all its units.
    Resource(ResourceId),
    /// One unit.
    Unit(UnitId),
}

#[derive(Debug, Clone)]
pub struct Closure {
    pub scope: Scope,
    pub when: When,
}

/// One unit's free time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitFree {
    pub unit_id: UnitId,
    pub free: Vec<Interval>,
}

/// Opening hours within `window`, minus closures that apply to the whole space or to
/// `resource_id` (when given).
///
/// # Errors
/// [`CalendarError`] when the window is too long or a rule expands too far.
pub fn open_intervals(
    openings: &[RecurringWindow],
    closures: &[Closure],
    resource_id: Option<&ResourceId>,
    window: Interval,
) -> Result<Vec<Interval>, CalendarError> {
    check_window(window)?;
    let mut open = Vec::new();
    for rule in openings {
        open.extend(rule.expand(window)?);
    }
    let mut closed = Vec::new();
    for c in closures {
        let applies = match &c.scope {
            Scope::Space => true,
            Scope::Resource(r) => Some(r) == resource_id,
            Scope::Unit(_) => false,
        };
        if applies {
            closed.extend(c.when.within(window)?);
        }
    }
    Ok(subtract(open, closed))
}

/// Free intervals of each unit of a resource within `window`: the resource's open hours,
/// minus closures of its units, minus the blocked intervals (booking plus buffers) of live
/// bookings. `blocks` pairs a unit id with a blocked interval.
///
/// # Errors
/// [`CalendarError`] when the window is too long or a rule expands too far.
pub fn free_by_unit(
    resource_id: &ResourceId,
    unit_ids: &[UnitId],
    openings: &[RecurringWindow],
    closures: &[Closure],
    blocks: &[(UnitId, Interval)],
    window: Interval,
) -> Result<Vec<UnitFree>, CalendarError> {
    let open = open_intervals(openings, closures, Some(resource_id), window)?;
    let mut unit_closed: Vec<(&UnitId, Vec<Interval>)> = Vec::new();
    for c in closures {
        if let Scope::Unit(u) = &c.scope {
            unit_closed.push((u, c.when.within(window)?));
        }
    }
    // Group once: scanning every block for every unit would be quadratic.
    let mut by_unit: std::collections::HashMap<&UnitId, Vec<Interval>> = std::collections::HashMap::new();
    for (u, i) in blocks {
        if let Some(i) = i.intersection(&window) {
            by_unit.entry(u).or_default().push(i);
        }
    }
    Ok(unit_ids
        .iter()
        .map(|unit| {
            let mut taken: Vec<Interval> = by_unit.remove(unit).unwrap_or_default();
            for (u, ivs) in &unit_closed {
                if *u == unit {
                    taken.extend(ivs.iter().copied());
                }
            }
            UnitFree { unit_id: unit.clone(), free: subtract(open.clone(), normalize(taken)) }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::calendar::{MAX_OPENING_MINUTES, Zone, format_local, local_day};
    use chrono::NaiveDate;
    use proptest::prelude::*;

    const H: i64 = 3_600_000;

    fn berlin() -> Zone {
        Zone::parse("tz", "Europe/Berlin").unwrap()
    }

    fn nine_to_six(z: Zone) -> RecurringWindow {
        RecurringWindow::parse(["r", "s", "d"], "FREQ=DAILY", "2026-01-01T09:00", 540, MAX_OPENING_MINUTES, z).unwrap()
    }

    #[test]
    fn a_booking_and_a_unit_closure_cut_only_their_unit() {
        let z = berlin();
        let day = local_day(z.tz(), NaiveDate::from_ymd_opt(2026, 3, 29).unwrap());
        let open = nine_to_six(z).expand(day).unwrap()[0];
        let units = vec![UnitId::new("u1"), UnitId::new("u2")];
        let blocks = vec![(UnitId::new("u1"), Interval::new(open.start() + H, open.start() + 2 * H).unwrap())];
        let closures = vec![Closure {
            scope: Scope::Unit(UnitId::new("u2")),
            when: When::Once(Interval::new(open.start(), open.start() + 4 * H).unwrap()),
        }];
        let got = free_by_unit(&ResourceId::new("r"), &units, &[nine_to_six(z)], &closures, &blocks, day).unwrap();
        let show = |f: &UnitFree| -> Vec<String> {
            f.free
                .iter()
                .map(|i| {
                    format!("{}..{}", &format_local(z.tz(), i.start())[11..16], &format_local(z.tz(), i.end())[11..16])
                })
                .collect()
        };
        assert_eq!(show(&got[0]), ["09:00..10:00", "11:00..18:00"]);
        assert_eq!(show(&got[1]), ["13:00..18:00"]);
    }

    #[test]
    fn a_space_closure_closes_every_resource_and_a_resource_closure_only_its_own() {
        let z = berlin();
        let day = local_day(z.tz(), NaiveDate::from_ymd_opt(2026, 5, 1).unwrap());
        let closures = vec![Closure { scope: Scope::Resource(ResourceId::new("other")), when: When::Once(day) }];
        assert_eq!(open_intervals(&[nine_to_six(z)], &closures, Some(&ResourceId::new("r")), day).unwrap().len(), 1);
        let closures = vec![Closure { scope: Scope::Space, when: When::Once(day) }];
        assert!(open_intervals(&[nine_to_six(z)], &closures, Some(&ResourceId::new("r")), day).unwrap().is_empty());
    }

    #[test]
    fn a_window_over_92_days_is_refused() {
        let w = Interval::new(0, 93 * 86_400_000).unwrap();
        assert!(matches!(open_intervals(&[], &[], None, w), Err(CalendarError::WindowTooLong { .. })));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        /// Free time is inside opening hours and never overlaps a block of its unit.
        #[test]
        fn free_time_is_open_and_unblocked(blocks in prop::collection::vec((0usize..3, 0i64..(7 * 24), 1i64..10), 0..20)) {
            let z = berlin();
            let week = Interval::new(
                local_day(z.tz(), NaiveDate::from_ymd_opt(2026, 3, 26).unwrap()).start(),
                local_day(z.tz(), NaiveDate::from_ymd_opt(2026, 4, 1).unwrap()).end(),
            ).unwrap();
            let units: Vec<UnitId> = (0..3).map(|i| UnitId::new(format!("u{i}"))).collect();
            let blocks: Vec<(UnitId, Interval)> = blocks
                .into_iter()
                .map(|(u, h, len)| (UnitId::new(format!("u{u}")), Interval::new(week.start() + h * H, week.start() + (h + len) * H).unwrap()))
                .collect();
            let rules = [nine_to_six(z)];
            let open = open_intervals(&rules, &[], Some(&ResourceId::new("r")), week).unwrap();
            for uf in free_by_unit(&ResourceId::new("r"), &units, &rules, &[], &blocks, week).unwrap() {
                for f in &uf.free {
                    prop_assert!(open.iter().any(|o| o.contains(f)));
                    for (u, b) in &blocks {
                        if *u == uf.unit_id { prop_assert!(!f.overlaps(b)); }
                    }
                }
            }
        }
    }
}
