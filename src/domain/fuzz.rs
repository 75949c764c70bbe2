//! Property tests over every parser of outside input: whatever text arrives, the parsers of
//! instants, dates, local times and `HH:MM`, of RRULEs (and the expansion of any rule they
//! accept), and of scanned check-in codes answer with a value or an error, never a panic,
//! and an accepted instant stays inside the bounds requests are held to.

use super::calendar::{
    EARLIEST_MS, MAX_OCCURRENCES, RecurringWindow, Zone, local_to_utc, parse_date, parse_instant, parse_local,
    within_reach,
};
use super::checkin::{Secret, parse};
use super::interval::Interval;
use proptest::prelude::*;

/// 2026-12-02T00:00Z.
const NOW: i64 = 1_796_169_600_000;

fn rrule() -> impl Strategy<Value = String> {
    let part = prop_oneof![
        "INTERVAL=[0-9]{1,7}",
        "COUNT=[0-9]{1,8}",
        "UNTIL=[0-9]{8}T[0-9]{6}Z?",
        "BYDAY=(MO|TU|-1FR|53SU|\\+2WE)(,(MO|SA|-5TH))?",
        "BYMONTHDAY=-?[0-9]{1,3}",
        "BYSETPOS=-?[0-9]{1,4}",
        "BYHOUR=[0-9]{1,3}",
        "BYMINUTE=[0-9]{1,3}",
        "BYYEARDAY=-?[0-9]{1,4}",
        "BYWEEKNO=-?[0-9]{1,3}",
        "BYMONTH=[0-9]{1,2}",
        "WKST=(MO|SU|XX)",
        ".{0,12}",
    ];
    ("FREQ=(DAILY|WEEKLY|MONTHLY|YEARLY|HOURLY|SECONDLY|BOGUS)", proptest::collection::vec(part, 0..5))
        .prop_map(|(freq, parts)| std::iter::once(freq).chain(parts).collect::<Vec<_>>().join(";"))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn the_time_parsers_never_panic(raw in ".{0,40}", shaped in "[-+]?[0-9]{1,7}-[0-9]{1,3}-[0-9]{1,3}(T[0-9]{1,3}:[0-9]{1,3}(:[0-9]{1,3}(\\.[0-9]{1,12})?)?(Z|[+-][0-9]{2}:?[0-9]{2})?)?") {
        for text in [raw.as_str(), shaped.as_str()] {
            let _ = parse_date("date", text);
            let _ = parse_local("start", text);
            let _ = super::policy::parse_hh_mm(text);
            if let Ok(t) = parse_instant("start", text)
                && let Ok(t) = within_reach("start", t, NOW)
            {
                prop_assert!((EARLIEST_MS..=NOW + super::calendar::MAX_REACH_DAYS * super::calendar::DAY_MS).contains(&t));
            }
        }
    }

    #[test]
    fn any_rule_parses_or_is_refused_and_expands_within_its_budget(
        text in rrule(),
        start in "(1999|2000|2026|2100|2101)-(01|02|03|10|12|13)-(01|29|31|32)T(00|02|23|24):(00|30|60)",
        duration in -5i64..2_000,
        zone in prop_oneof![Just("Europe/Berlin"), Just("America/Los_Angeles"), Just("Asia/Shanghai")],
    ) {
        let zone = Zone::parse("tz", zone).unwrap();
        if let Ok(rule) = RecurringWindow::parse(["rrule", "start", "duration_minutes"], &text, &start, duration, 1_440, zone) {
            let from = local_to_utc(zone.tz(), parse_local("start", &start).unwrap());
            let window = Interval::new(from, from + 92 * super::calendar::DAY_MS).unwrap();
            if let Ok(occurrences) = rule.expand(window) {
                prop_assert!(occurrences.len() < usize::from(MAX_OCCURRENCES));
                prop_assert!(occurrences.iter().all(|o| window.contains(o)));
            }
        }
    }

    #[test]
    fn a_scanned_code_is_read_or_refused_never_a_panic(
        raw in ".{0,200}",
        shaped in "(B|P|E|LBN1)?[.]?[A-Za-z0-9_-]{0,60}([.][A-Za-z0-9_-]{0,40})?",
    ) {
        let secret = Secret::new(vec![7u8; 32]).unwrap();
        let _ = parse(&secret, &raw);
        let _ = parse(&secret, &shaped);
    }
}
