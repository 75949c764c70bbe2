//! Subsidy schemes as configuration: a versioned TOML file of criteria (a metric, a
//! comparison, a threshold), and their evaluation against a space's figures. Pure.
//!
//! A scheme is named by the SHA-256 of its file, so a pack says exactly which rules it was
//! judged by; schemes change every year, and a changed file is another scheme.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

text_enum! {
    /// Where a figure comes from.
    pub enum SourceKind {
        /// Counted from kiosk sessions and bookings.
        Metered => "metered",
        /// From the registers an operator keeps (each change in the ledger).
        Recorded => "recorded",
        /// Declared by the operator with documents: listed, never counted as measured.
        Attested => "attested",
    }
}

text_enum! {
    /// What a criterion measures. Each is defined in the README's glossary ("Evidence
    /// metrics") and computed by the service from the report and register figures.
    pub enum Metric {
        /// Whole months from the space's start (the earlier of its creation and its first
        /// residency) to the period's last day.
        OperatingMonths => "operating_months",
        AreaTotalM2 => "area_total_m2",
        MakerUseShare => "maker_use_share",
        ResidentsInPeriod => "residents_in_period",
        ResidentsAtEnd => "residents_at_end",
        Residents3Months => "residents_3_months",
        /// Residencies that ended in the period after less than 3 months.
        ResidentsShort => "residents_short",
        NewResidents => "new_residents",
        ResidentOrganisationMonths => "resident_organisation_months",
        StaysPast24Months => "stays_past_24_months",
        Events => "events",
        EventsHosted => "events_hosted",
        EventsCoOrganised => "events_co_organised",
        EventAttendanceMetered => "event_attendance_metered",
        EventAttendanceAttested => "event_attendance_attested",
        Utilization => "utilization",
        UsedHours => "used_hours",
        MakersServed => "makers_served",
        Sessions => "sessions",
        SeatDayRate => "seat_day_rate",
        Occupancy => "occupancy",
        RoomNightsOccupied => "room_nights_occupied",
        NoShowRate => "no_show_rate",
        DocumentsLease => "documents_lease",
        DocumentsBusinessLicence => "documents_business_licence",
        DocumentsFinancingAgreement => "documents_financing_agreement",
        DocumentsFloorPlan => "documents_floor_plan",
        DocumentsOther => "documents_other",
    }
}

impl Metric {
    /// Where this metric's value comes from.
    pub fn source_kind(self) -> SourceKind {
        use Metric::*;
        match self {
            OperatingMonths
            | AreaTotalM2
            | MakerUseShare
            | ResidentsInPeriod
            | ResidentsAtEnd
            | Residents3Months
            | ResidentsShort
            | NewResidents
            | ResidentOrganisationMonths
            | StaysPast24Months
            | Events
            | EventsHosted
            | EventsCoOrganised => SourceKind::Recorded,
            EventAttendanceMetered
            | Utilization
            | UsedHours
            | MakersServed
            | Sessions
            | SeatDayRate
            | Occupancy
            | RoomNightsOccupied
            | NoShowRate => SourceKind::Metered,
            EventAttendanceAttested
            | DocumentsLease
            | DocumentsBusinessLicence
            | DocumentsFinancingAgreement
            | DocumentsFloorPlan
            | DocumentsOther => SourceKind::Attested,
        }
    }

    /// Whether the value is a share (0..=1), shown as a percentage.
    pub fn is_share(self) -> bool {
        use Metric::*;
        matches!(self, MakerUseShare | Utilization | SeatDayRate | Occupancy | NoShowRate)
    }
}

text_enum! {
    /// The period a scheme judges.
    pub enum SchemePeriod {
        CalendarYear => "calendar_year",
        Last12Months => "last_12_months",
        Quarter => "quarter",
    }
}

/// One criterion of a scheme.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Criterion {
    pub id: String,
    pub label_zh: String,
    pub label_en: String,
    pub metric: Metric,
    /// `>=`, `<=`, `>`, `<` or `==`.
    pub comparison: String,
    pub threshold: f64,
    /// Shown only as attested by documents: never `met`, whatever the count.
    #[serde(default)]
    pub attested: bool,
    /// Where the criterion comes from, when it differs from the scheme's source.
    #[serde(default)]
    pub source: Option<String>,
}

/// A scheme file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scheme {
    pub id: String,
    pub version: String,
    pub name_zh: String,
    pub name_en: String,
    pub source: String,
    pub period: SchemePeriod,
    pub criteria: Vec<Criterion>,
}

/// Why a scheme file is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SchemeError {
    #[error("the scheme does not parse: {0}")]
    Parse(String),
    #[error("{0}")]
    Invalid(String),
}

/// A parsed scheme and the SHA-256 (hex) of its file.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadedScheme {
    pub scheme: Scheme,
    pub sha256: String,
    pub text: String,
}

/// Parses and checks a scheme file.
///
/// # Errors
/// [`SchemeError`]: a file that does not parse, an unknown metric or comparison, a
/// duplicate or empty criterion id, no criteria.
pub fn parse(text: &str) -> Result<LoadedScheme, SchemeError> {
    let scheme: Scheme = toml::from_str(text).map_err(|e| SchemeError::Parse(e.to_string()))?;
    let slug_ok = |s: &str| {
        !s.is_empty() && s.len() <= 64 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    if !slug_ok(&scheme.id) {
        return Err(SchemeError::Invalid("id must be 1–64 letters, digits, - or _".into()));
    }
    if scheme.criteria.is_empty() {
        return Err(SchemeError::Invalid("a scheme needs at least one criterion".into()));
    }
    let mut seen = std::collections::HashSet::new();
    for c in &scheme.criteria {
        if !slug_ok(&c.id) || !seen.insert(c.id.as_str()) {
            return Err(SchemeError::Invalid(format!("criterion id {:?} is empty, malformed or repeated", c.id)));
        }
        if !["<=", ">=", "<", ">", "=="].contains(&c.comparison.as_str()) {
            return Err(SchemeError::Invalid(format!("criterion {}: comparison must be >=, <=, >, < or ==", c.id)));
        }
        if !c.threshold.is_finite() {
            return Err(SchemeError::Invalid(format!("criterion {}: the threshold must be a number", c.id)));
        }
        if c.metric.source_kind() == SourceKind::Attested && !c.attested {
            return Err(SchemeError::Invalid(format!(
                "criterion {}: {} counts documents, which are attested: set attested = true",
                c.id,
                c.metric.as_str()
            )));
        }
    }
    Ok(LoadedScheme { sha256: super::hex(&Sha256::digest(text.as_bytes())), text: text.to_owned(), scheme })
}

text_enum! {
    /// A criterion's outcome.
    pub enum Status {
        Met => "met",
        NotMet => "not_met",
        /// Backed by documents only: a reviewer judges it.
        AttestedOnly => "attested_only",
    }
}

/// The outcome of `c` for `value` (`None`: no value, such as a rate with no denominator).
pub fn judge(c: &Criterion, value: Option<f64>) -> Status {
    if c.attested {
        return Status::AttestedOnly;
    }
    let Some(v) = value else { return Status::NotMet };
    let ok = match c.comparison.as_str() {
        ">=" => v >= c.threshold,
        "<=" => v <= c.threshold,
        ">" => v > c.threshold,
        "<" => v < c.threshold,
        _ => (v - c.threshold).abs() < 1e-9,
    };
    if ok { Status::Met } else { Status::NotMet }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHIPPED: [&str; 4] = [
        include_str!("../../schemes/nat-2017.toml"),
        include_str!("../../schemes/sz-zc-2020.toml"),
        include_str!("../../schemes/sz-ck-2015.toml"),
        include_str!("../../schemes/sz-rs-occupancy.toml"),
    ];

    #[test]
    fn the_shipped_schemes_parse_and_have_distinct_ids() {
        let ids: Vec<String> = SHIPPED.iter().map(|t| parse(t).unwrap().scheme.id).collect();
        assert_eq!(ids, ["nat-2017", "sz-zc-2020", "sz-ck-2015", "sz-rs-occupancy"]);
        let sz = parse(SHIPPED[1]).unwrap();
        assert_eq!(sz.sha256.len(), 64);
        assert_eq!(sz.scheme.criteria.iter().find(|c| c.id == "residents").unwrap().threshold, 20.0);
    }

    #[test]
    fn a_bad_scheme_says_what_is_wrong() {
        let base =
            "id = \"x\"\nversion = \"1\"\nname_zh = \"x\"\nname_en = \"x\"\nsource = \"s\"\nperiod = \"quarter\"\n";
        let crit = |m: &str, cmp: &str, extra: &str| {
            format!(
                "{base}[[criteria]]\nid = \"a\"\nlabel_zh = \"a\"\nlabel_en = \"a\"\nmetric = \"{m}\"\ncomparison = \"{cmp}\"\nthreshold = 1\n{extra}"
            )
        };
        assert!(matches!(parse(&crit("colour", ">=", "")), Err(SchemeError::Parse(_))));
        assert!(matches!(parse(&crit("events", "=>", "")), Err(SchemeError::Invalid(_))));
        assert!(matches!(parse(&crit("documents_lease", ">=", "")), Err(SchemeError::Invalid(_))));
        assert!(parse(&crit("documents_lease", ">=", "attested = true")).is_ok());
        assert!(matches!(parse(base), Err(SchemeError::Parse(_)) | Err(SchemeError::Invalid(_))));
    }

    #[test]
    fn judging_compares_and_attested_criteria_are_never_met() {
        let c = |cmp: &str, attested| Criterion {
            id: "c".into(),
            label_zh: String::new(),
            label_en: String::new(),
            metric: Metric::Events,
            comparison: cmp.into(),
            threshold: 10.0,
            attested,
            source: None,
        };
        assert_eq!(judge(&c(">=", false), Some(10.0)), Status::Met);
        assert_eq!(judge(&c(">=", false), Some(9.0)), Status::NotMet);
        assert_eq!(judge(&c("<=", false), Some(9.0)), Status::Met);
        assert_eq!(judge(&c(">=", false), None), Status::NotMet);
        assert_eq!(judge(&c(">=", true), Some(50.0)), Status::AttestedOnly);
    }
}
