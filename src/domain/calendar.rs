//! Opening rules and closures: RFC 5545 recurrence rules in a space's local time, turned
//! into UTC intervals. Pure: the window and the zone are arguments.
//!
//! ## Wall-clock rules and DST
//! A rule says "from 09:00 local, for 540 minutes". Each occurrence starts at its local
//! wall-clock time and ends at the local wall-clock time `start + duration`, so a space
//! that opens 09:00–18:00 shows 09:00–18:00 local on both sides of a DST change and on the
//! day of it. Local times that do not exist or exist twice resolve as follows (tested):
//! - a time in the skipped hour (spring forward) moves forward by the length of the gap:
//!   02:30 in Europe/Berlin on the last Sunday of March is 03:30 CEST;
//! - a time in the repeated hour (fall back) takes its first occurrence: 02:30 on the last
//!   Sunday of October is 02:30 CEST (00:30 UTC), not 02:30 CET.
//!
//! rrule's own expansion follows the same two rules for occurrence starts; [`local_to_utc`]
//! applies them to ends and to one-off local times.
//!
//! ## Bounds
//! Rules may not recur more often than daily (`FREQ=HOURLY` and finer are refused), and an
//! expansion stops at [`MAX_OCCURRENCES`]; a window is at most [`MAX_WINDOW_DAYS`] long.
//! Exceptions are never written into the RRULE text (rrule's `Display` corrupts TZID
//! EXDATEs); closures are separate intervals.

use super::FieldError;
use super::interval::{Interval, Millis};
use chrono::{DateTime, Duration, LocalResult, NaiveDateTime, Offset, TimeZone, Utc};
use chrono_tz::Tz;
use rrule::{Frequency, RRule, RRuleSet, Unvalidated};

pub const MINUTE_MS: i64 = 60_000;
pub const DAY_MS: i64 = 86_400_000;
/// The longest window an availability question may cover.
pub const MAX_WINDOW_DAYS: i64 = 92;
/// The first instant that a request or a new rule may name: 2000-01-01T00:00:00Z. An
/// expansion walks a rule from its start, so a rule dated year 1 cost seconds on every read.
pub const EARLIEST_MS: i64 = 946_684_800_000;
/// How far past now a request may reach: five years. Checked at the edge, before anything is
/// expanded (a booking ending in year 9999 expanded opening hours for minutes).
pub const MAX_REACH_DAYS: i64 = 5 * 366;
/// The years a date or a local time may have anywhere (so that no date arithmetic overflows).
pub const YEARS: std::ops::RangeInclusive<i32> = 2000..=2100;
/// The most occurrences one rule may produce in one expansion.
pub const MAX_OCCURRENCES: u16 = 2_000;
/// The longest occurrence of an opening rule (a full day; "open around the clock" is a
/// daily rule from 00:00 for 1440 minutes).
pub const MAX_OPENING_MINUTES: i64 = 1_440;
/// The longest occurrence of a recurring closure.
pub const MAX_CLOSURE_MINUTES: i64 = 31 * 1_440;

/// An IANA time zone, such as `Asia/Shanghai` or `Europe/Berlin`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Zone(Tz);

impl Zone {
    /// # Errors
    /// `unknown_time_zone`.
    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        raw.trim().parse::<Tz>().map(Zone).map_err(|_| {
            FieldError::new(
                field,
                "unknown_time_zone",
                "must be an IANA time zone such as Asia/Shanghai or Europe/Berlin",
            )
        })
    }

    pub fn tz(self) -> Tz {
        self.0
    }

    pub fn name(self) -> &'static str {
        self.0.name()
    }
}

impl Default for Zone {
    fn default() -> Self {
        Zone(chrono_tz::Asia::Shanghai)
    }
}

/// The UTC instant of a local wall-clock time, resolved as the module documents: skipped
/// times move forward by the gap, repeated times take their first occurrence.
pub fn local_to_utc(zone: Tz, local: NaiveDateTime) -> Millis {
    match zone.from_local_datetime(&local) {
        LocalResult::Single(t) => t.timestamp_millis(),
        LocalResult::Ambiguous(first, _) => first.timestamp_millis(),
        LocalResult::None => {
            // In a gap: read the wall clock with the offset in force just before it.
            let before = zone
                .from_local_datetime(&(local - Duration::hours(3)))
                .earliest()
                .map_or(0, |t| i64::from(t.offset().fix().local_minus_utc()));
            (local - Duration::seconds(before)).and_utc().timestamp_millis()
        }
    }
}

/// The local wall-clock time of an instant.
pub fn utc_to_local(zone: Tz, ms: Millis) -> DateTime<Tz> {
    Utc.timestamp_millis_opt(ms).single().unwrap_or_default().with_timezone(&zone)
}

/// RFC 3339 in the zone's offset: `2026-03-29T09:00:00+02:00`.
pub fn format_local(zone: Tz, ms: Millis) -> String {
    utc_to_local(zone, ms).to_rfc3339_opts(chrono::SecondsFormat::AutoSi, false)
}

/// RFC 3339 in UTC: `2026-03-29T07:00:00Z`.
pub fn format_utc(ms: Millis) -> String {
    Utc.timestamp_millis_opt(ms).single().unwrap_or_default().to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
}

/// An interval as answers show it: in UTC and in a space's local time.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
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

/// `t` when it lies from [`EARLIEST_MS`] to [`MAX_REACH_DAYS`] after `now`.
///
/// # Errors
/// `out_of_range`.
pub fn within_reach(field: &str, t: Millis, now: Millis) -> Result<Millis, FieldError> {
    if (EARLIEST_MS..=now.saturating_add(MAX_REACH_DAYS * DAY_MS)).contains(&t) {
        Ok(t)
    } else {
        Err(FieldError::new(field, "out_of_range", "must be from the year 2000 to at most five years from now"))
    }
}

/// Parses a local date `YYYY-MM-DD` of a year in [`YEARS`].
///
/// # Errors
/// `invalid_date`, `out_of_range`.
pub fn parse_date(field: &str, raw: &str) -> Result<chrono::NaiveDate, FieldError> {
    let d = chrono::NaiveDate::parse_from_str(raw.trim(), "%Y-%m-%d")
        .map_err(|_| FieldError::new(field, "invalid_date", "must be a date such as 2026-03-29"))?;
    if YEARS.contains(&chrono::Datelike::year(&d)) {
        Ok(d)
    } else {
        Err(FieldError::new(field, "out_of_range", "must be a date from 2000 to 2100"))
    }
}

/// Parses a local wall-clock time `YYYY-MM-DDTHH:MM[:SS]` (no offset).
///
/// # Errors
/// `invalid_local_time`.
pub fn parse_local(field: &str, raw: &str) -> Result<NaiveDateTime, FieldError> {
    let s = raw.trim();
    NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S")
        .or_else(|_| NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M"))
        .map_err(|_| {
            FieldError::new(
                field,
                "invalid_local_time",
                "must be a local time such as 2026-01-05T09:00, without offset",
            )
        })
        .and_then(|t| {
            if YEARS.contains(&chrono::Datelike::year(&t)) {
                Ok(t)
            } else {
                Err(FieldError::new(field, "out_of_range", "must be a time from 2000 to 2100"))
            }
        })
}

/// Parses an instant with an offset (RFC 3339), such as `2026-01-05T09:00:00+08:00`.
///
/// # Errors
/// `invalid_instant`.
pub fn parse_instant(field: &str, raw: &str) -> Result<Millis, FieldError> {
    DateTime::parse_from_rfc3339(raw.trim()).map(|t| t.timestamp_millis()).map_err(|_| {
        FieldError::new(
            field,
            "invalid_instant",
            "must be an RFC 3339 time with an offset, such as 2026-01-05T09:00:00+08:00",
        )
    })
}

/// Why an expansion could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalendarError {
    #[error("the window is {days} days long; at most {MAX_WINDOW_DAYS} are allowed")]
    WindowTooLong { days: i64 },
    #[error("a rule produced more than {MAX_OCCURRENCES} occurrences in the window")]
    TooManyOccurrences,
}

/// Checks that a question's window is at most [`MAX_WINDOW_DAYS`] long.
///
/// # Errors
/// [`CalendarError::WindowTooLong`].
pub fn check_window(window: Interval) -> Result<(), CalendarError> {
    if window.duration_ms() > MAX_WINDOW_DAYS * DAY_MS {
        Err(CalendarError::WindowTooLong { days: (window.duration_ms() + DAY_MS - 1) / DAY_MS })
    } else {
        Ok(())
    }
}

/// A validated recurring window: an RRULE anchored at a local start time, each occurrence
/// lasting `duration_min` wall-clock minutes, in a zone.
#[derive(Debug, Clone)]
pub struct RecurringWindow {
    set: RRuleSet,
    rrule_text: String,
    start_local: NaiveDateTime,
    duration_min: i64,
    zone: Tz,
}

impl RecurringWindow {
    /// Parses and validates. `fields` names the input fields (rrule, start, duration) for errors.
    ///
    /// # Errors
    /// Every invalid field: `rrule_invalid`, `rrule_unbounded` (more often than daily),
    /// `invalid_local_time`, `out_of_range`.
    pub fn parse(
        fields: [&str; 3],
        rrule: &str,
        start_local: &str,
        duration_min: i64,
        max_minutes: i64,
        zone: Zone,
    ) -> Result<Self, Vec<FieldError>> {
        Self::build(fields, rrule, start_local, duration_min, max_minutes, zone, true)
    }

    /// Rebuilds a rule that [`RecurringWindow::parse`] accepted when it was saved: the same
    /// parsing, without the density probe (which costs an expansion on every read).
    ///
    /// # Errors
    /// As [`RecurringWindow::parse`], but never `rrule_unbounded` for density.
    pub fn parse_stored(
        fields: [&str; 3],
        rrule: &str,
        start_local: &str,
        duration_min: i64,
        max_minutes: i64,
        zone: Zone,
    ) -> Result<Self, Vec<FieldError>> {
        Self::build(fields, rrule, start_local, duration_min, max_minutes, zone, false)
    }

    fn build(
        fields: [&str; 3],
        rrule: &str,
        start_local: &str,
        duration_min: i64,
        max_minutes: i64,
        zone: Zone,
        probe_density: bool,
    ) -> Result<Self, Vec<FieldError>> {
        let mut errors = Vec::new();
        let start = parse_local(fields[1], start_local).map_err(|e| errors.push(e)).ok();
        if !(1..=max_minutes).contains(&duration_min) {
            errors.push(FieldError::new(
                fields[2],
                "out_of_range",
                format!("must be between 1 and {max_minutes} minutes"),
            ));
        }
        let text = rrule.trim().trim_start_matches("RRULE:").trim().to_owned();
        let parsed = if text.contains('\n') || text.to_ascii_uppercase().contains("DTSTART") {
            errors.push(FieldError::new(
                fields[0],
                "rrule_invalid",
                "give only the RRULE (such as FREQ=WEEKLY;BYDAY=MO,WE); the start is its own field",
            ));
            None
        } else {
            match text.parse::<RRule<Unvalidated>>() {
                Ok(r) => Some(r),
                Err(e) => {
                    errors.push(FieldError::new(fields[0], "rrule_invalid", format!("cannot parse the RRULE: {e}")));
                    None
                }
            }
        };
        if let Some(r) = &parsed
            && matches!(r.get_freq(), Frequency::Hourly | Frequency::Minutely | Frequency::Secondly)
        {
            errors.push(FieldError::new(
                fields[0],
                "rrule_unbounded",
                "recurs more often than daily; opening hours and closures recur DAILY, WEEKLY, MONTHLY or YEARLY",
            ));
        }
        let (Some(start), Some(parsed), true) = (start, parsed, errors.is_empty()) else { return Err(errors) };
        let tz = zone.tz();
        let dt_start = rrule_dt(tz, local_to_utc(tz, start));
        let set = parsed.build(dt_start).map_err(|e| {
            vec![FieldError::new(fields[0], "rrule_invalid", format!("the RRULE is not valid here: {e}"))]
        })?;
        let window = Self { set, rrule_text: text, start_local: start, duration_min, zone: tz };
        // A rule that passes the frequency check can still be dense (BYHOUR lists); test it
        // over the longest window anyone may ask for.
        let probe_start = local_to_utc(tz, start);
        let probe = Interval::new(probe_start, probe_start + MAX_WINDOW_DAYS * DAY_MS).expect("positive window");
        if probe_density && window.expand(probe).is_err() {
            return Err(vec![FieldError::new(
                fields[0],
                "rrule_unbounded",
                format!("produces more than {MAX_OCCURRENCES} occurrences in {MAX_WINDOW_DAYS} days"),
            )]);
        }
        Ok(window)
    }

    pub fn rrule_text(&self) -> &str {
        &self.rrule_text
    }

    pub fn start_local(&self) -> NaiveDateTime {
        self.start_local
    }

    pub fn duration_min(&self) -> i64 {
        self.duration_min
    }

    /// The UTC instant of the first occurrence's start.
    pub fn first_start(&self) -> Millis {
        local_to_utc(self.zone, self.start_local)
    }

    /// The UTC end of the last occurrence, when the rule ends (UNTIL or COUNT); `None` when
    /// it recurs for ever.
    pub fn last_end(&self) -> Option<Millis> {
        let rule = self.set.get_rrule().first()?;
        if rule.get_count().is_none() && rule.get_until().is_none() {
            return None;
        }
        let all = self.set.clone().all(u16::MAX);
        let last = all.dates.last()?;
        Some(local_to_utc(self.zone, last.naive_local() + Duration::minutes(self.duration_min)))
    }

    /// Every occurrence that overlaps `window`, clipped to it, as UTC intervals.
    ///
    /// # Errors
    /// [`CalendarError::TooManyOccurrences`].
    pub fn expand(&self, window: Interval) -> Result<Vec<Interval>, CalendarError> {
        // An occurrence that starts up to one duration (plus a DST hour) before the window
        // can still reach into it.
        let lead = self.duration_min * MINUTE_MS + 2 * 3_600_000;
        let set = self
            .set
            .clone()
            .after(rrule_dt(self.zone, window.start() - lead))
            .before(rrule_dt(self.zone, window.end()));
        let result = set.all(MAX_OCCURRENCES);
        if result.dates.len() >= usize::from(MAX_OCCURRENCES) {
            return Err(CalendarError::TooManyOccurrences);
        }
        let mut out = Vec::with_capacity(result.dates.len());
        for dt in result.dates {
            let start = dt.timestamp_millis();
            let end = local_to_utc(self.zone, dt.naive_local() + Duration::minutes(self.duration_min));
            if let Some(iv) = Interval::new(start, end).ok().and_then(|iv| iv.intersection(&window)) {
                out.push(iv);
            }
        }
        Ok(out)
    }
}

fn rrule_dt(zone: Tz, ms: Millis) -> DateTime<rrule::Tz> {
    Utc.timestamp_millis_opt(ms).single().unwrap_or_default().with_timezone(&rrule::Tz::Tz(zone))
}

/// The local calendar day `date` in `zone` as a UTC interval (23, 24 or 25 hours long).
pub fn local_day(zone: Tz, date: chrono::NaiveDate) -> Interval {
    let start = local_to_utc(zone, date.and_time(chrono::NaiveTime::MIN));
    let end = local_to_utc(zone, (date + Duration::days(1)).and_time(chrono::NaiveTime::MIN));
    Interval::new(start, end).expect("a day has positive length")
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;
    use proptest::prelude::*;

    fn zone(name: &str) -> Zone {
        Zone::parse("tz", name).unwrap()
    }

    fn day(zone: Zone, y: i32, m: u32, d: u32) -> Interval {
        local_day(zone.tz(), NaiveDate::from_ymd_opt(y, m, d).unwrap())
    }

    fn locals(zone: Zone, v: &[Interval]) -> Vec<(String, String)> {
        v.iter().map(|i| (format_local(zone.tz(), i.start()), format_local(zone.tz(), i.end()))).collect()
    }

    fn weekdays_9_to_18(z: Zone) -> RecurringWindow {
        RecurringWindow::parse(
            ["rrule", "start", "duration"],
            "FREQ=DAILY",
            "2026-01-01T09:00",
            540,
            MAX_OPENING_MINUTES,
            z,
        )
        .unwrap()
    }

    #[test]
    fn requests_reach_from_2000_to_five_years_ahead_and_dates_never_overflow() {
        let now = 1_796_000_000_000; // 2026-11-30
        assert!(within_reach("end", now + 365 * DAY_MS, now).is_ok());
        assert_eq!(within_reach("end", 253_402_300_799_000, now).unwrap_err().code, "out_of_range"); // 9999-12-31
        assert_eq!(within_reach("start", EARLIEST_MS - 1, now).unwrap_err().code, "out_of_range");
        assert_eq!(parse_date("date", "-262143-01-01").unwrap_err().code, "out_of_range");
        assert_eq!(parse_date("date", "9999-12-31").unwrap_err().code, "out_of_range");
        assert_eq!(parse_date("date", "2026-13-01").unwrap_err().code, "invalid_date");
        assert!(parse_date("date", "2026-03-29").is_ok());
        assert_eq!(parse_local("start", "0001-01-01T09:00").unwrap_err().code, "out_of_range");
    }

    #[test]
    fn berlin_opens_9_to_18_local_on_both_sides_of_spring_forward_and_on_the_day() {
        let z = zone("Europe/Berlin");
        let rule = weekdays_9_to_18(z);
        let window = Interval::new(day(z, 2026, 3, 28).start(), day(z, 2026, 3, 30).end()).unwrap();
        let got = locals(z, &rule.expand(window).unwrap());
        assert_eq!(
            got,
            vec![
                ("2026-03-28T09:00:00+01:00".into(), "2026-03-28T18:00:00+01:00".into()),
                ("2026-03-29T09:00:00+02:00".into(), "2026-03-29T18:00:00+02:00".into()),
                ("2026-03-30T09:00:00+02:00".into(), "2026-03-30T18:00:00+02:00".into()),
            ]
        );
        assert_eq!(day(z, 2026, 3, 29).duration_ms(), 23 * 3_600_000, "the change day has 23 hours");
    }

    #[test]
    fn los_angeles_opens_9_to_18_local_across_fall_back() {
        let z = zone("America/Los_Angeles");
        let rule = weekdays_9_to_18(z);
        let window = Interval::new(day(z, 2026, 10, 31).start(), day(z, 2026, 11, 2).end()).unwrap();
        let got = locals(z, &rule.expand(window).unwrap());
        assert_eq!(got[0], ("2026-10-31T09:00:00-07:00".into(), "2026-10-31T18:00:00-07:00".into()));
        assert_eq!(got[1], ("2026-11-01T09:00:00-08:00".into(), "2026-11-01T18:00:00-08:00".into()));
        assert_eq!(got[2], ("2026-11-02T09:00:00-08:00".into(), "2026-11-02T18:00:00-08:00".into()));
        assert_eq!(day(z, 2026, 11, 1).duration_ms(), 25 * 3_600_000);
    }

    #[test]
    fn shanghai_has_no_dst_and_the_same_utc_hours_all_year() {
        let z = zone("Asia/Shanghai");
        let rule = weekdays_9_to_18(z);
        for (m, d) in [(1, 15), (3, 29), (7, 1), (11, 1)] {
            let got = rule.expand(day(z, 2026, m, d)).unwrap();
            assert_eq!(got.len(), 1);
            assert_eq!(format_utc(got[0].start()), format!("2026-{m:02}-{d:02}T01:00:00Z"));
        }
    }

    #[test]
    fn a_rule_starting_in_the_skipped_hour_moves_forward_by_the_gap() {
        let z = zone("Europe/Berlin");
        let rule =
            RecurringWindow::parse(["r", "s", "d"], "FREQ=DAILY", "2026-03-27T02:30", 60, MAX_OPENING_MINUTES, z)
                .unwrap();
        let got = locals(z, &rule.expand(day(z, 2026, 3, 29)).unwrap());
        // 02:30 does not exist on 29 March; it becomes 03:30 CEST and lasts until 03:30 + 60 min.
        assert_eq!(got, vec![("2026-03-29T03:30:00+02:00".into(), "2026-03-29T04:30:00+02:00".into())]);
        assert_eq!(
            format_local(
                z.tz(),
                local_to_utc(z.tz(), NaiveDate::from_ymd_opt(2026, 3, 29).unwrap().and_hms_opt(2, 30, 0).unwrap())
            ),
            "2026-03-29T03:30:00+02:00"
        );
    }

    #[test]
    fn a_rule_starting_in_the_repeated_hour_takes_its_first_occurrence() {
        let z = zone("Europe/Berlin");
        let rule =
            RecurringWindow::parse(["r", "s", "d"], "FREQ=DAILY", "2026-10-20T02:30", 20, MAX_OPENING_MINUTES, z)
                .unwrap();
        let got = rule.expand(day(z, 2026, 10, 25)).unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(format_utc(got[0].start()), "2026-10-25T00:30:00Z", "02:30 CEST, the first 02:30");
        assert_eq!(format_local(z.tz(), got[0].start()), "2026-10-25T02:30:00+02:00");
    }

    #[test]
    fn weekly_rules_keep_their_days_and_an_until_ends_them() {
        let z = zone("Asia/Shanghai");
        let rule = RecurringWindow::parse(
            ["r", "s", "d"],
            "RRULE:FREQ=WEEKLY;BYDAY=MO,WE;UNTIL=20260121T000000Z",
            "2026-01-05T14:00",
            120,
            MAX_OPENING_MINUTES,
            z,
        )
        .unwrap();
        let window = Interval::new(day(z, 2026, 1, 1).start(), day(z, 2026, 2, 28).end()).unwrap();
        let got = locals(z, &rule.expand(window).unwrap());
        let starts: Vec<&str> = got.iter().map(|(s, _)| &s[..16]).collect();
        assert_eq!(
            starts,
            ["2026-01-05T14:00", "2026-01-07T14:00", "2026-01-12T14:00", "2026-01-14T14:00", "2026-01-19T14:00"]
        );
        assert!(rule.last_end().is_some());
        assert!(weekdays_9_to_18(z).last_end().is_none());
    }

    #[test]
    fn bad_rules_are_refused_with_every_reason() {
        let z = Zone::default();
        let e =
            RecurringWindow::parse(["rrule", "start", "duration_minutes"], "FREQ=SOMETIMES", "tomorrow", 0, 1440, z)
                .unwrap_err();
        let codes: Vec<&str> = e.iter().map(|f| f.code.as_str()).collect();
        assert_eq!(codes, ["invalid_local_time", "out_of_range", "rrule_invalid"]);
        let e =
            RecurringWindow::parse(["rrule", "s", "d"], "FREQ=MINUTELY", "2026-01-01T00:00", 1, 1440, z).unwrap_err();
        assert_eq!(e[0].code, "rrule_unbounded");
        let e = RecurringWindow::parse(
            ["rrule", "s", "d"],
            "FREQ=DAILY;BYHOUR=0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23;BYMINUTE=0,5,10,15,20,25,30,35,40,45,50,55",
            "2026-01-01T00:00",
            1,
            1440,
            z,
        )
        .unwrap_err();
        assert_eq!(e[0].code, "rrule_unbounded", "{e:?}");
        let e = RecurringWindow::parse(
            ["rrule", "s", "d"],
            "DTSTART:20260101T000000Z\nRRULE:FREQ=DAILY",
            "2026-01-01T00:00",
            1,
            1440,
            z,
        )
        .unwrap_err();
        assert_eq!(e[0].code, "rrule_invalid");
    }

    #[test]
    fn windows_longer_than_92_days_are_refused() {
        let ok = Interval::new(0, 92 * DAY_MS).unwrap();
        assert!(check_window(ok).is_ok());
        let long = Interval::new(0, 92 * DAY_MS + 1).unwrap();
        assert_eq!(check_window(long), Err(CalendarError::WindowTooLong { days: 93 }));
    }

    #[test]
    fn unknown_zones_are_refused() {
        assert_eq!(Zone::parse("timezone", "Mars/Olympus").unwrap_err().code, "unknown_time_zone");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// Whatever the zone and the day, a 09:00 + 540 min rule yields one interval that
        /// reads 09:00–18:00 on the local clock.
        #[test]
        fn daily_rules_hold_their_wall_clock_in_every_zone(
            zone_idx in 0usize..3,
            day_offset in 0i64..730,
        ) {
            let z = zone(["Asia/Shanghai", "Europe/Berlin", "America/Los_Angeles"][zone_idx]);
            let rule = weekdays_9_to_18(z);
            let date = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap() + Duration::days(day_offset);
            let got = rule.expand(local_day(z.tz(), date)).unwrap();
            prop_assert_eq!(got.len(), 1);
            let s = utc_to_local(z.tz(), got[0].start());
            let e = utc_to_local(z.tz(), got[0].end());
            prop_assert_eq!(s.format("%H:%M").to_string(), "09:00");
            prop_assert_eq!(e.format("%H:%M").to_string(), "18:00");
            prop_assert_eq!(s.date_naive(), date);
        }

        /// local_to_utc and utc_to_local agree wherever the local time exists once.
        #[test]
        fn local_and_utc_round_trip(zone_idx in 0usize..3, minutes in 0i64..(2 * 366 * 1440)) {
            let z = ["Asia/Shanghai", "Europe/Berlin", "America/Los_Angeles"][zone_idx].parse::<Tz>().unwrap();
            let local = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap().and_hms_opt(0, 0, 0).unwrap() + Duration::minutes(minutes);
            let ms = local_to_utc(z, local);
            if let LocalResult::Single(_) = z.from_local_datetime(&local) {
                prop_assert_eq!(utc_to_local(z, ms).naive_local(), local);
            } else {
                // Skipped or repeated: still a real instant within two hours of the wall time.
                let back = utc_to_local(z, ms).naive_local();
                prop_assert!((back - local).num_minutes().abs() <= 120);
            }
        }
    }
}
