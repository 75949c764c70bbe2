//! What a maker can pick on a resource's page: the starts of a day on which some unit is
//! free for a booking of a given length, and the lengths that fit from a chosen start. The
//! server judges the booking itself ([`super::booking::judge`]); this only decides what to
//! offer, from the same free time the availability API answers.

use super::booking::on_slot;
use super::calendar::{MINUTE_MS, Zone};
use super::interval::{Interval, Millis};

/// A start that can be offered, and on how many units a booking from it would fit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Offer {
    pub start: Millis,
    pub free_units: usize,
}

/// How many units are free for all of `span`.
fn free_units(free: &[Vec<Interval>], span: Interval) -> usize {
    free.iter().filter(|f| f.iter().any(|i| i.contains(&span))).count()
}

/// The slot starts in `day` (local slot boundaries, so a DST day has one more or one fewer
/// hour of them), not before `not_before`, from which at least one unit (`free`, per unit)
/// is free for `length_ms`.
pub fn offers(
    zone: Zone,
    day: Interval,
    free: &[Vec<Interval>],
    slot_minutes: i64,
    length_ms: i64,
    not_before: Millis,
) -> Vec<Offer> {
    let slot = slot_minutes.max(1);
    let mut out = Vec::new();
    // Minute by minute, so that slot boundaries follow local time across a DST change.
    let mut t = day.start().max(not_before);
    t += (MINUTE_MS - t.rem_euclid(MINUTE_MS)) % MINUTE_MS;
    while t < day.end() {
        if on_slot(zone, t, slot)
            && let Ok(span) = Interval::new(t, t + length_ms)
        {
            let n = free_units(free, span);
            if n > 0 {
                out.push(Offer { start: t, free_units: n });
            }
        }
        t += MINUTE_MS;
    }
    out
}

/// The lengths (in minutes) a booking from `start` may have: whole slots from `min_minutes`
/// to `max_minutes`, those for which some unit is free, at most `max_choices` of them.
pub fn lengths(
    free: &[Vec<Interval>],
    start: Millis,
    slot_minutes: i64,
    min_minutes: i64,
    max_minutes: i64,
    max_choices: usize,
) -> Vec<i64> {
    let slot = slot_minutes.max(1);
    let first = ((min_minutes.max(slot) + slot - 1) / slot) * slot;
    let mut out = Vec::new();
    let mut m = first;
    while m <= max_minutes && out.len() < max_choices {
        match Interval::new(start, start + m * MINUTE_MS) {
            Ok(span) if free_units(free, span) > 0 => out.push(m),
            // Longer ones cannot fit either once none does.
            _ => break,
        }
        m += slot;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::calendar::{local_day, local_to_utc};
    use chrono::NaiveDate;
    use proptest::prelude::*;

    fn zone(name: &str) -> Zone {
        Zone::parse("timezone", name).unwrap()
    }

    fn at(z: Zone, d: NaiveDate, h: u32, m: u32) -> Millis {
        local_to_utc(z.tz(), d.and_hms_opt(h, m, 0).unwrap())
    }

    #[test]
    fn a_day_offers_every_slot_where_a_unit_is_free_for_the_length() {
        let z = zone("Asia/Shanghai");
        let d = NaiveDate::from_ymd_opt(2026, 9, 7).unwrap();
        // Unit A free 09:00–12:00, unit B free 10:00–11:00.
        let free = vec![
            vec![Interval::new(at(z, d, 9, 0), at(z, d, 12, 0)).unwrap()],
            vec![Interval::new(at(z, d, 10, 0), at(z, d, 11, 0)).unwrap()],
        ];
        let got = offers(z, local_day(z.tz(), d), &free, 30, 60 * MINUTE_MS, at(z, d, 9, 10));
        let starts: Vec<(Millis, usize)> = got.iter().map(|o| (o.start, o.free_units)).collect();
        // 09:00 is before not_before; 11:30 would end after 12:00.
        assert_eq!(
            starts,
            vec![(at(z, d, 9, 30), 1), (at(z, d, 10, 0), 2), (at(z, d, 10, 30), 1), (at(z, d, 11, 0), 1)]
        );
    }

    #[test]
    fn on_the_spring_forward_day_in_berlin_the_missing_hour_offers_nothing() {
        let z = zone("Europe/Berlin");
        let d = NaiveDate::from_ymd_opt(2026, 3, 29).unwrap();
        let day = local_day(z.tz(), d);
        let free = vec![vec![day]];
        let got = offers(z, day, &free, 60, 60 * MINUTE_MS, 0);
        // 23 hours: 00:00, 01:00, then 03:00 … 23:00 (02:00 does not exist).
        assert_eq!(got.len(), 23);
        assert_eq!(got[2].start, at(z, d, 3, 0));
        assert_eq!(got[2].start - got[1].start, 60 * MINUTE_MS);
    }

    #[test]
    fn on_the_fall_back_day_in_los_angeles_the_repeated_hour_is_offered_twice() {
        let z = zone("America/Los_Angeles");
        let d = NaiveDate::from_ymd_opt(2026, 11, 1).unwrap();
        let day = local_day(z.tz(), d);
        let got = offers(z, day, &[vec![day]], 60, 60 * MINUTE_MS, 0);
        assert_eq!(got.len(), 25, "01:00 PDT and 01:00 PST are two slots");
    }

    #[test]
    fn lengths_stop_at_the_first_that_no_unit_can_hold() {
        let z = zone("Asia/Shanghai");
        let d = NaiveDate::from_ymd_opt(2026, 9, 7).unwrap();
        let free = vec![vec![Interval::new(at(z, d, 9, 0), at(z, d, 11, 0)).unwrap()]];
        assert_eq!(lengths(&free, at(z, d, 9, 0), 30, 45, 240, 8), vec![60, 90, 120]);
        assert_eq!(lengths(&free, at(z, d, 9, 0), 30, 0, 240, 2), vec![30, 60]);
        assert!(lengths(&free, at(z, d, 11, 0), 30, 30, 240, 8).is_empty());
    }

    proptest! {
        /// Every offer is on a slot, inside the day, not before `not_before`, and a unit is
        /// free for the whole length from it.
        #[test]
        fn every_offer_fits_a_unit(
            day_offset in 0i64..400,
            frees in proptest::collection::vec(proptest::collection::vec((0i64..1440, 1i64..600), 0..3), 1..4),
            slot in prop_oneof![Just(15i64), Just(30), Just(45), Just(60)],
            length in 1i64..8,
            lead in 0i64..1440,
            zone_name in prop_oneof![Just("Europe/Berlin"), Just("America/Los_Angeles"), Just("Asia/Shanghai")],
        ) {
            let z = zone(zone_name);
            let d = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap() + chrono::Duration::days(day_offset);
            let day = local_day(z.tz(), d);
            let free: Vec<Vec<Interval>> = frees
                .iter()
                .map(|u| u.iter().map(|(s, l)| Interval::new(day.start() + s * MINUTE_MS, day.start() + (s + l) * MINUTE_MS).unwrap()).collect())
                .collect();
            let length_ms = length * slot * MINUTE_MS;
            let not_before = day.start() + lead * MINUTE_MS;
            for o in offers(z, day, &free, slot, length_ms, not_before) {
                prop_assert!(day.start() <= o.start && o.start < day.end() && o.start >= not_before);
                prop_assert!(on_slot(z, o.start, slot));
                let span = Interval::new(o.start, o.start + length_ms).unwrap();
                prop_assert_eq!(o.free_units, free.iter().filter(|f| f.iter().any(|i| i.contains(&span))).count());
                prop_assert!(o.free_units > 0);
            }
        }
    }
}
