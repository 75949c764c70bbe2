//! Registers: what an operator records that no kiosk can meter (the area plan, resident
//! organisations, events, documents), and the figures computed from them. Pure.
//!
//! Like the report figures, each figure here is defined once, at its function, and in the
//! README's glossary ("Register figures").

use super::interval::Millis;
use super::{FieldError, ValidationErrors};
use chrono::{Months, NaiveDate};
use serde::Serialize;

text_enum! {
    /// What a part of a space's floor area is used for.
    pub enum UseClass {
        /// Desks, benches, tools: where makers work.
        MakerWork => "maker_work",
        /// Meeting rooms, the event hall, a shared lab: public service area.
        PublicService => "public_service",
        OperatorOffice => "operator_office",
        Other => "other",
    }
}

text_enum! {
    /// What kind of event.
    pub enum EventKind {
        Salon => "salon",
        Roadshow => "roadshow",
        Competition => "competition",
        Training => "training",
        MakerMarket => "maker_market",
    }
}

text_enum! {
    /// The space's part in an event.
    pub enum EventRole {
        Host => "host",
        CoOrganiser => "co_organiser",
    }
}

text_enum! {
    /// What an attached document is.
    pub enum DocumentKind {
        Lease => "lease",
        BusinessLicence => "business_licence",
        FinancingAgreement => "financing_agreement",
        FloorPlan => "floor_plan",
        Other => "other",
    }
}

/// The largest document labinn keeps, in bytes.
pub const MAX_DOCUMENT_BYTES: usize = 5 * 1024 * 1024;

/// Parses one of an enum's texts for `field`.
///
/// # Errors
/// `invalid_choice`, naming the allowed values.
pub fn choice<T: Copy>(field: &str, raw: &str, all: &[T], text: fn(T) -> &'static str) -> Result<T, FieldError> {
    all.iter().copied().find(|v| text(*v) == raw.trim()).ok_or_else(|| {
        let names: Vec<&str> = all.iter().map(|v| text(*v)).collect();
        FieldError::new(field, "invalid_choice", format!("must be one of {}", names.join(", ")))
    })
}

/// A required text of at most `max` characters, trimmed.
///
/// # Errors
/// `required` or `too_long`.
pub fn text(field: &str, raw: &str, max: usize) -> Result<String, FieldError> {
    let t = raw.trim();
    if t.is_empty() {
        Err(FieldError::new(field, "required", "must not be empty"))
    } else if t.chars().count() > max {
        Err(FieldError::new(field, "too_long", format!("must be at most {max} characters")))
    } else {
        Ok(t.to_owned())
    }
}

/// A local date `YYYY-MM-DD` between 2000 and 2100.
///
/// # Errors
/// `invalid_date`.
pub fn date(field: &str, raw: &str) -> Result<NaiveDate, FieldError> {
    NaiveDate::parse_from_str(raw.trim(), "%Y-%m-%d")
        .ok()
        .filter(|d| (2000..=2100).contains(&chrono::Datelike::year(d)))
        .ok_or_else(|| FieldError::new(field, "invalid_date", "must be a date such as 2026-03-29, 2000–2100"))
}

/// A floor area in m²: more than 0 (or at least 0 when `zero_ok`), at most 1,000,000.
///
/// # Errors
/// `out_of_range`.
pub fn area(field: &str, v: f64, zero_ok: bool) -> Result<f64, FieldError> {
    let ok = v.is_finite() && v <= 1_000_000.0 && if zero_ok { v >= 0.0 } else { v > 0.0 };
    if ok { Ok(v) } else { Err(FieldError::new(field, "out_of_range", "must be a floor area in m², up to 1,000,000")) }
}

/// A residency: an organisation resident from `starts_on` to `ends_on` (both included;
/// `None` while it runs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Residency {
    pub id: String,
    pub organisation: String,
    pub starts_on: NaiveDate,
    pub ends_on: Option<NaiveDate>,
}

/// Checks a residency's dates.
///
/// # Errors
/// `before_start` on `ends_on`.
pub fn check_residency_dates(starts_on: NaiveDate, ends_on: Option<NaiveDate>) -> Result<(), ValidationErrors> {
    let mut e = ValidationErrors::default();
    if ends_on.is_some_and(|end| end < starts_on) {
        e.push(FieldError::new("ends_on", "before_start", "must not be before starts_on"));
    }
    e.finish()
}

impl Residency {
    /// Resident on `day`.
    pub fn on(&self, day: NaiveDate) -> bool {
        self.starts_on <= day && self.ends_on.is_none_or(|e| day <= e)
    }

    /// Its last day as far as `as_of` knows: the end of the agreement, or `as_of` while it runs.
    pub fn last_day(&self, as_of: NaiveDate) -> NaiveDate {
        self.ends_on.map_or(as_of, |e| e.min(as_of))
    }

    /// Whether, up to `as_of`, it has lasted at least `months` calendar months: the day after
    /// its last day is on or after the start plus that many months (1 January to 31 March
    /// is 3 months; to 30 March is 2 months and 29 days).
    pub fn lasted_months(&self, months: u32, as_of: NaiveDate) -> bool {
        let Some(after) = self.last_day(as_of).succ_opt() else { return false };
        self.starts_on.checked_add_months(Months::new(months)).is_some_and(|m| after >= m)
    }
}

/// Figures from the residents register over local dates `first..=last`.
#[derive(Debug, Clone, PartialEq, Serialize, Default, utoipa::ToSchema)]
pub struct ResidentFigures {
    /// Residents at period end: organisations resident on the period's last day.
    pub residents_at_end: u64,
    /// Resident organisation-months: for each calendar month the period touches, the
    /// organisations resident on at least one of its days within the period; summed.
    pub resident_organisation_months: u64,
    /// Residents of ≥ 3 months: organisations resident at some time in the period whose
    /// residency, up to its end or the period's last day, lasted at least 3 calendar months.
    pub residents_3_months: u64,
    /// Stays past 24 months: residencies overlapping the period that, up to their end or the
    /// period's last day, lasted more than 24 calendar months.
    pub stays_past_24_months: u64,
    /// New residents: organisations whose residency starts in the period.
    pub new_residents: u64,
    /// Organisations resident at some time in the period.
    pub residents_in_period: u64,
}

/// The resident figures of `residencies` over `first..=last` (see [`ResidentFigures`]).
/// An organisation with several residencies counts once in each count of organisations.
pub fn resident_figures(residencies: &[Residency], first: NaiveDate, last: NaiveDate) -> ResidentFigures {
    use std::collections::HashSet;
    let overlapping: Vec<&Residency> =
        residencies.iter().filter(|r| r.starts_on <= last && r.ends_on.is_none_or(|e| e >= first)).collect();
    let orgs = |f: &dyn Fn(&Residency) -> bool| -> u64 {
        overlapping.iter().filter(|r| f(r)).map(|r| r.organisation.as_str()).collect::<HashSet<_>>().len() as u64
    };
    let mut months = 0;
    let mut month_start = NaiveDate::from_ymd_opt(chrono::Datelike::year(&first), chrono::Datelike::month(&first), 1)
        .expect("a month's first day");
    while month_start <= last {
        let next = month_start.checked_add_months(Months::new(1)).expect("in range");
        let (a, b) = (month_start.max(first), next.pred_opt().expect("in range").min(last));
        months += orgs(&|r| r.starts_on <= b && r.ends_on.is_none_or(|e| e >= a));
        month_start = next;
    }
    ResidentFigures {
        residents_at_end: orgs(&|r| r.on(last)),
        resident_organisation_months: months,
        residents_3_months: orgs(&|r| r.lasted_months(3, last)),
        stays_past_24_months: overlapping
            .iter()
            .filter(|r| {
                let after = r.last_day(last).succ_opt();
                r.starts_on.checked_add_months(Months::new(24)).zip(after).is_some_and(|(m, a)| a > m)
            })
            .count() as u64,
        new_residents: orgs(&|r| r.starts_on >= first),
        residents_in_period: orgs(&|_| true),
    }
}

/// A part of the area plan.
#[derive(Debug, Clone, PartialEq)]
pub struct AreaPart {
    pub area_m2: f64,
    pub use_class: UseClass,
    /// When it was ended (removed from the plan), if it was.
    pub ended_at: Option<Millis>,
}

/// Figures from the area plan as it stood at instant `at`.
#[derive(Debug, Clone, PartialEq, Serialize, Default, utoipa::ToSchema)]
pub struct AreaFigures {
    /// Total floor area: every part of the plan not ended at the instant, in m².
    pub total_m2: f64,
    /// Maker-use area: the parts used for maker work or public service, in m².
    pub maker_use_m2: f64,
    /// Maker-use share: maker-use area ÷ total floor area (4 decimals; `None` without a plan).
    pub maker_use_share: Option<f64>,
}

/// The area figures of `parts` at `at` (see [`AreaFigures`]). Areas are summed in cm² so that
/// the share does not depend on the order of the parts.
pub fn area_figures(parts: &[AreaPart], at: Millis) -> AreaFigures {
    let cm2 = |m2: f64| (m2 * 10_000.0).round() as i64;
    let live: Vec<&AreaPart> = parts.iter().filter(|p| p.ended_at.is_none_or(|e| e > at)).collect();
    let total: i64 = live.iter().map(|p| cm2(p.area_m2)).sum();
    let maker: i64 = live
        .iter()
        .filter(|p| matches!(p.use_class, UseClass::MakerWork | UseClass::PublicService))
        .map(|p| cm2(p.area_m2))
        .sum();
    AreaFigures {
        total_m2: total as f64 / 10_000.0,
        maker_use_m2: maker as f64 / 10_000.0,
        maker_use_share: super::report::ratio(maker, total),
    }
}

/// An event as the figures see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventFacts {
    pub role: EventRole,
    pub starts_at: Millis,
    pub cancelled: bool,
    /// Participants whose event code was scanned at a kiosk.
    pub checked_in: u64,
    /// Attendance entered by hand, when it was attested by an operator.
    pub attested: Option<u64>,
}

/// Figures from the events register over `[from, until)`.
#[derive(Debug, Clone, PartialEq, Serialize, Default, utoipa::ToSchema)]
pub struct EventFigures {
    /// Events hosted: events the space hosts that start in the period, not cancelled.
    pub hosted: u64,
    /// Events co-organised: likewise, as co-organiser.
    pub co_organised: u64,
    /// Events in all: hosted + co-organised.
    pub events: u64,
    /// Metered attendance: participants checked in at a kiosk with their event code, summed
    /// over those events.
    pub attendance_metered: u64,
    /// Attested attendance: the attested hand-entered counts of those events that have no
    /// kiosk check-ins.
    pub attendance_attested: u64,
}

/// The event figures of `events` over `[from, until)` (see [`EventFigures`]).
pub fn event_figures(events: &[EventFacts], from: Millis, until: Millis) -> EventFigures {
    let mut f = EventFigures::default();
    for e in events.iter().filter(|e| !e.cancelled && from <= e.starts_at && e.starts_at < until) {
        match e.role {
            EventRole::Host => f.hosted += 1,
            EventRole::CoOrganiser => f.co_organised += 1,
        }
        if e.checked_in > 0 {
            f.attendance_metered += e.checked_in;
        } else {
            f.attendance_attested += e.attested.unwrap_or(0);
        }
    }
    f.events = f.hosted + f.co_organised;
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn res(org: &str, from: &str, to: Option<&str>) -> Residency {
        Residency { id: org.into(), organisation: org.into(), starts_on: d(from), ends_on: to.map(d) }
    }

    #[test]
    fn three_months_is_counted_in_calendar_months_and_two_months_29_days_is_not() {
        let as_of = d("2026-12-31");
        assert!(res("a", "2026-01-01", Some("2026-03-31")).lasted_months(3, as_of));
        assert!(!res("b", "2026-01-01", Some("2026-03-30")).lasted_months(3, as_of));
        // From the 31st: a month later is the 28th of February, clamped by chrono.
        assert!(res("c", "2026-01-31", Some("2026-04-29")).lasted_months(3, as_of));
        assert!(!res("d", "2026-05-01", None).lasted_months(3, d("2026-07-30")));
        assert!(res("d", "2026-05-01", None).lasted_months(3, d("2026-07-31")));
    }

    #[test]
    fn resident_figures_count_organisations_months_and_long_stays() {
        let rs = vec![
            res("alpha", "2024-01-01", None),               // 3 years by the end of 2026
            res("beta", "2026-01-01", Some("2026-03-30")),  // 2 months 29 days
            res("gamma", "2026-02-01", Some("2026-04-30")), // 3 months
            res("delta", "2025-03-01", Some("2025-12-31")), // before the period
            res("beta", "2026-11-15", None),                // beta again, from November
        ];
        let f = resident_figures(&rs, d("2026-01-01"), d("2026-12-31"));
        assert_eq!(f.residents_at_end, 2); // alpha, beta
        assert_eq!(f.residents_in_period, 3);
        assert_eq!(f.residents_3_months, 2); // alpha, gamma (beta's two stays are each shorter)
        assert_eq!(f.stays_past_24_months, 1); // alpha
        assert_eq!(f.new_residents, 2); // beta, gamma (beta counted once)
        // alpha 12 months; beta Jan–Mar and Nov–Dec: 5; gamma Feb–Apr: 3.
        assert_eq!(f.resident_organisation_months, 20);
    }

    #[test]
    fn the_maker_use_share_is_desks_and_public_service_over_the_live_plan() {
        let parts = [
            AreaPart { area_m2: 600.0, use_class: UseClass::MakerWork, ended_at: None },
            AreaPart { area_m2: 300.0, use_class: UseClass::PublicService, ended_at: None },
            AreaPart { area_m2: 150.0, use_class: UseClass::OperatorOffice, ended_at: None },
            AreaPart { area_m2: 150.0, use_class: UseClass::Other, ended_at: Some(10) },
        ];
        let now = area_figures(&parts, 20);
        assert_eq!((now.total_m2, now.maker_use_m2, now.maker_use_share), (1050.0, 900.0, Some(0.8571)));
        let before = area_figures(&parts, 5);
        assert_eq!(before.maker_use_share, Some(0.75)); // 900 / 1200
        assert_eq!(area_figures(&[], 0).maker_use_share, None);
    }

    #[test]
    fn attendance_is_metered_when_codes_were_scanned_else_attested() {
        let ev = |role, at, checked_in, attested, cancelled| EventFacts {
            role,
            starts_at: at,
            cancelled,
            checked_in,
            attested,
        };
        let f = event_figures(
            &[
                ev(EventRole::Host, 10, 25, Some(40), false),
                ev(EventRole::Host, 20, 0, Some(30), false),
                ev(EventRole::CoOrganiser, 30, 0, None, false),
                ev(EventRole::Host, 40, 0, Some(99), true),
                ev(EventRole::Host, 100, 5, None, false),
            ],
            0,
            100,
        );
        assert_eq!((f.hosted, f.co_organised, f.events), (2, 1, 3));
        assert_eq!((f.attendance_metered, f.attendance_attested), (25, 30));
    }
}
