//! A resource's booking policy: slots, durations, notice, horizon, buffers, check-in
//! window, approval, trainings, eligibility, quotas, walk-ups, price and inn rules.
//!
//! A policy is stored as JSON on the resource. Input is merged over the current policy
//! (or the kind's defaults, for a new resource), so a client sends only what it changes;
//! the merged whole is then validated and every invalid field is reported at once.

use super::{FieldError, ValidationErrors};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

/// What kind of thing a resource is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ResourceKind {
    /// Shared prototyping tools: laser cutters, 3D printers, CNC, electronics benches.
    Tool,
    /// Shared instruments and clean benches of an open lab.
    LabFacility,
    /// Maker-inn rooms, booked by the night.
    InnRoom,
    /// Free broadband seats (hot desks).
    BroadbandSeat,
}

impl ResourceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ResourceKind::Tool => "tool",
            ResourceKind::LabFacility => "lab_facility",
            ResourceKind::InnRoom => "inn_room",
            ResourceKind::BroadbandSeat => "broadband_seat",
        }
    }

    pub fn from_db(s: &str) -> Option<Self> {
        match s {
            "tool" => Some(Self::Tool),
            "lab_facility" => Some(Self::LabFacility),
            "inn_room" => Some(Self::InnRoom),
            "broadband_seat" => Some(Self::BroadbandSeat),
            _ => None,
        }
    }
}

/// Who may book.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, Default)]
#[serde(rename_all = "snake_case")]
pub enum Eligibility {
    /// Any signed-in maker.
    #[default]
    Anyone,
    /// Only makers an operator has verified (maker-inn rooms).
    VerifiedMakers,
}

/// Per-maker limits. Absent means no limit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields, default)]
pub struct Quota {
    /// Most booked hours per maker per week (Monday to Sunday, space time).
    pub hours_per_week: Option<f64>,
    /// Most bookings a maker may hold at once that have not ended.
    pub max_active_bookings: Option<u32>,
}

/// The recorded price. Not charged, but it is subsidy evidence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Price {
    /// In the currency's smallest unit (fen for CNY). 0 for free seats.
    pub amount_minor: i64,
    /// ISO 4217 code.
    pub currency: String,
    /// `hour` or `night`.
    pub per: String,
}

impl Default for Price {
    fn default() -> Self {
        Price { amount_minor: 0, currency: "CNY".into(), per: "hour".into() }
    }
}

/// Check-in and check-out times and the stay limit of inn rooms.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct InnRules {
    /// Local time, `HH:MM`.
    pub check_in_time: String,
    /// Local time, `HH:MM`, on the day of departure.
    pub check_out_time: String,
    pub max_nights: u32,
}

impl Default for InnRules {
    fn default() -> Self {
        InnRules { check_in_time: "14:00".into(), check_out_time: "12:00".into(), max_nights: 14 }
    }
}

/// Everything an operator decides about how a resource is booked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BookingPolicy {
    /// Bookings start and end on multiples of this many minutes (space time).
    pub slot_minutes: i64,
    pub min_minutes: i64,
    pub max_minutes: i64,
    /// How long before the start a booking must be made.
    pub min_notice_minutes: i64,
    /// How far ahead a booking may start.
    pub horizon_days: i64,
    /// Blocked before each booking (set-up) and after it (cleaning, cool-down).
    pub buffer_before_minutes: i64,
    pub buffer_after_minutes: i64,
    /// Check-in opens this many minutes before the start.
    pub checkin_opens_minutes_before: i64,
    /// A booking not checked in this many minutes after its start is a no-show.
    pub no_show_grace_minutes: i64,
    /// New bookings are `pending` until an operator approves.
    pub requires_approval: bool,
    /// Training slugs a maker must hold, unexpired, to book.
    pub required_trainings: Vec<String>,
    pub eligibility: Eligibility,
    pub quota: Quota,
    /// A maker may scan in at the kiosk while a unit is free, without a booking.
    pub walk_ups_allowed: bool,
    pub price: Price,
    /// Present for inn rooms only.
    pub inn: Option<InnRules>,
}

impl BookingPolicy {
    /// The interval a booking of `span` blocks on its unit: the span with the set-up buffer
    /// before it and the cool-down buffer after it.
    pub fn blocked(&self, span: super::interval::Interval) -> super::interval::Interval {
        use super::calendar::MINUTE_MS;
        span.widened(self.buffer_before_minutes * MINUTE_MS, self.buffer_after_minutes * MINUTE_MS)
    }

    /// Sensible defaults for each kind.
    pub fn defaults(kind: ResourceKind) -> Self {
        let base = BookingPolicy {
            slot_minutes: 30,
            min_minutes: 30,
            max_minutes: 240,
            min_notice_minutes: 0,
            horizon_days: 30,
            buffer_before_minutes: 0,
            buffer_after_minutes: 0,
            checkin_opens_minutes_before: 15,
            no_show_grace_minutes: 15,
            requires_approval: false,
            required_trainings: Vec::new(),
            eligibility: Eligibility::Anyone,
            quota: Quota::default(),
            walk_ups_allowed: false,
            price: Price::default(),
            inn: None,
        };
        match kind {
            ResourceKind::Tool => BookingPolicy { slot_minutes: 15, min_minutes: 15, ..base },
            ResourceKind::LabFacility => BookingPolicy { max_minutes: 480, ..base },
            ResourceKind::InnRoom => BookingPolicy {
                slot_minutes: 1_440,
                min_minutes: 1_440,
                max_minutes: 14 * 1_440,
                horizon_days: 90,
                checkin_opens_minutes_before: 0,
                no_show_grace_minutes: 360,
                eligibility: Eligibility::VerifiedMakers,
                price: Price { amount_minor: 8_000, currency: "CNY".into(), per: "night".into() },
                inn: Some(InnRules::default()),
                ..base
            },
            ResourceKind::BroadbandSeat => BookingPolicy {
                slot_minutes: 60,
                min_minutes: 60,
                max_minutes: 1_440,
                horizon_days: 14,
                no_show_grace_minutes: 30,
                walk_ups_allowed: true,
                ..base
            },
        }
    }

    /// Merges `patch` (a JSON object of top-level policy fields) over `self` and validates
    /// the result for `kind`.
    ///
    /// # Errors
    /// Every invalid field, named `policy.<field>`.
    pub fn merged(&self, kind: ResourceKind, patch: &Value) -> Result<Self, ValidationErrors> {
        let mut base = serde_json::to_value(self).expect("a policy serialises");
        match (patch, base.as_object_mut()) {
            (Value::Object(p), Some(b)) => {
                for (k, v) in p {
                    b.insert(k.clone(), v.clone());
                }
            }
            (Value::Null, _) => {}
            _ => {
                return Err(ValidationErrors(vec![FieldError::new("policy", "invalid_type", "must be a JSON object")]));
            }
        }
        let policy: BookingPolicy = serde_json::from_value(base)
            .map_err(|e| ValidationErrors(vec![FieldError::new("policy", "invalid_field", format!("policy: {e}"))]))?;
        policy.validate(kind)?;
        Ok(policy)
    }

    /// # Errors
    /// Every rule this policy breaks, each naming its field.
    pub fn validate(&self, kind: ResourceKind) -> Result<(), ValidationErrors> {
        let mut e = ValidationErrors::default();
        let mut range = |field: &str, v: i64, lo: i64, hi: i64| {
            if !(lo..=hi).contains(&v) {
                e.push(FieldError::new(
                    format!("policy.{field}"),
                    "out_of_range",
                    format!("must be between {lo} and {hi}"),
                ));
            }
        };
        range("slot_minutes", self.slot_minutes, 1, 1_440);
        range("min_minutes", self.min_minutes, 1, 31 * 1_440);
        range("max_minutes", self.max_minutes, 1, 31 * 1_440);
        range("min_notice_minutes", self.min_notice_minutes, 0, 90 * 1_440);
        range("horizon_days", self.horizon_days, 1, 730);
        range("buffer_before_minutes", self.buffer_before_minutes, 0, 1_440);
        range("buffer_after_minutes", self.buffer_after_minutes, 0, 1_440);
        range("checkin_opens_minutes_before", self.checkin_opens_minutes_before, 0, 1_440);
        range("no_show_grace_minutes", self.no_show_grace_minutes, 1, 1_440);
        range("price.amount_minor", self.price.amount_minor, 0, 100_000_000);
        if self.min_minutes > self.max_minutes {
            e.push(FieldError::new("policy.min_minutes", "greater_than_max", "must not exceed max_minutes"));
        }
        if self.slot_minutes > 0
            && (self.min_minutes % self.slot_minutes != 0 || self.max_minutes % self.slot_minutes != 0)
        {
            e.push(FieldError::new(
                "policy.slot_minutes",
                "not_a_divisor",
                "min_minutes and max_minutes must be multiples of it",
            ));
        }
        if self.slot_minutes > 0 && 1_440 % self.slot_minutes != 0 {
            e.push(FieldError::new("policy.slot_minutes", "not_a_divisor", "must divide a day (1440 minutes) evenly"));
        }
        if let Some(h) = self.quota.hours_per_week
            && !(h > 0.0 && h <= 168.0)
        {
            e.push(FieldError::new(
                "policy.quota.hours_per_week",
                "out_of_range",
                "must be more than 0 and at most 168",
            ));
        }
        if self.quota.max_active_bookings == Some(0) {
            e.push(FieldError::new("policy.quota.max_active_bookings", "out_of_range", "must be at least 1"));
        }
        if self.price.currency.len() != 3 || !self.price.currency.bytes().all(|b| b.is_ascii_uppercase()) {
            e.push(FieldError::new("policy.price.currency", "invalid_format", "must be an ISO 4217 code such as CNY"));
        }
        if self.price.per != "hour" && self.price.per != "night" {
            e.push(FieldError::new("policy.price.per", "invalid_choice", "must be hour or night"));
        }
        for (i, t) in self.required_trainings.iter().enumerate() {
            if super::identity::Slug::parse("", t).is_err() {
                e.push(FieldError::new(
                    format!("policy.required_trainings[{i}]"),
                    "invalid_format",
                    "must be a training slug",
                ));
            }
        }
        match (kind, &self.inn) {
            (ResourceKind::InnRoom, None) => {
                e.push(FieldError::new(
                    "policy.inn",
                    "required",
                    "inn rooms need check-in and check-out times and a stay limit",
                ));
            }
            (ResourceKind::InnRoom, Some(inn)) => {
                for (field, t) in [("check_in_time", &inn.check_in_time), ("check_out_time", &inn.check_out_time)] {
                    if parse_hh_mm(t).is_none() {
                        e.push(FieldError::new(
                            format!("policy.inn.{field}"),
                            "invalid_format",
                            "must be a local time HH:MM",
                        ));
                    }
                }
                if !(1..=366).contains(&inn.max_nights) {
                    e.push(FieldError::new("policy.inn.max_nights", "out_of_range", "must be between 1 and 366"));
                }
            }
            (_, Some(_)) => {
                e.push(FieldError::new("policy.inn", "not_allowed", "only inn rooms have inn rules"));
            }
            (_, None) => {}
        }
        e.finish()
    }
}

/// A space's quotas per kind of resource.
pub type KindQuotas = std::collections::BTreeMap<ResourceKind, Quota>;

/// Parses and validates a space's kind quotas (a JSON object keyed by resource kind).
///
/// # Errors
/// Every invalid field, named `kind_quotas.<kind>.<field>`.
pub fn parse_kind_quotas(v: &Value) -> Result<KindQuotas, ValidationErrors> {
    let q: KindQuotas = serde_json::from_value(v.clone()).map_err(|e| {
        ValidationErrors(vec![FieldError::new("kind_quotas", "invalid_field", format!("kind_quotas: {e}"))])
    })?;
    let mut e = ValidationErrors::default();
    for (kind, quota) in &q {
        if let Some(h) = quota.hours_per_week
            && !(h > 0.0 && h <= 168.0)
        {
            e.push(FieldError::new(
                format!("kind_quotas.{}.hours_per_week", kind.as_str()),
                "out_of_range",
                "must be more than 0 and at most 168",
            ));
        }
        if quota.max_active_bookings == Some(0) {
            e.push(FieldError::new(
                format!("kind_quotas.{}.max_active_bookings", kind.as_str()),
                "out_of_range",
                "must be at least 1",
            ));
        }
    }
    e.finish().map(|()| q)
}

/// `HH:MM` as a time of day.
pub fn parse_hh_mm(s: &str) -> Option<chrono::NaiveTime> {
    chrono::NaiveTime::parse_from_str(s, "%H:%M").ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_kind_has_valid_defaults() {
        for k in [ResourceKind::Tool, ResourceKind::LabFacility, ResourceKind::InnRoom, ResourceKind::BroadbandSeat] {
            BookingPolicy::defaults(k).validate(k).unwrap_or_else(|e| panic!("{k:?}: {e:?}"));
        }
        assert_eq!(BookingPolicy::defaults(ResourceKind::InnRoom).eligibility, Eligibility::VerifiedMakers);
        assert!(BookingPolicy::defaults(ResourceKind::BroadbandSeat).walk_ups_allowed);
    }

    #[test]
    fn a_patch_changes_only_what_it_names() {
        let base = BookingPolicy::defaults(ResourceKind::Tool);
        let p = base
            .merged(ResourceKind::Tool, &json!({"buffer_after_minutes": 15, "required_trainings": ["laser-safety"]}))
            .unwrap();
        assert_eq!(p.buffer_after_minutes, 15);
        assert_eq!(p.required_trainings, ["laser-safety"]);
        assert_eq!(p.slot_minutes, base.slot_minutes);
    }

    #[test]
    fn every_broken_rule_is_listed() {
        let base = BookingPolicy::defaults(ResourceKind::Tool);
        let e = base
            .merged(
                ResourceKind::Tool,
                &json!({"slot_minutes": 7, "min_minutes": 600, "max_minutes": 60, "horizon_days": 0, "inn": {"max_nights": 3}}),
            )
            .unwrap_err();
        let fields: Vec<&str> = e.0.iter().map(|f| f.field.as_str()).collect();
        for f in ["policy.horizon_days", "policy.min_minutes", "policy.slot_minutes", "policy.inn"] {
            assert!(fields.contains(&f), "{f} missing from {fields:?}");
        }
    }

    #[test]
    fn inn_rooms_need_valid_inn_rules() {
        let base = BookingPolicy::defaults(ResourceKind::InnRoom);
        let e =
            base.merged(ResourceKind::InnRoom, &json!({"inn": {"check_in_time": "2pm", "max_nights": 0}})).unwrap_err();
        let fields: Vec<&str> = e.0.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(fields, ["policy.inn.check_in_time", "policy.inn.max_nights"]);
    }

    #[test]
    fn unknown_policy_fields_are_refused() {
        let e = BookingPolicy::defaults(ResourceKind::Tool)
            .merged(ResourceKind::Tool, &json!({"colour": "red"}))
            .unwrap_err();
        assert!(e.0[0].message.contains("colour"), "{:?}", e.0);
    }
}
