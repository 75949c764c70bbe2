//! What the API answers, as types, and the calls the stories make most, as typed helpers:
//! a story reads `app.book(&maker, …).await.unit_label`, not `body["unit_label"]`.

use crate::helpers::{Reply, TestApp};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

/// An interval in UTC and in the space's local time.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Span {
    pub start: String,
    pub end: String,
    pub start_local: String,
    pub end_local: String,
}

/// How a maker checks in.
#[derive(Debug, Clone, Deserialize)]
pub struct CheckinCode {
    pub qr: String,
    pub short: String,
    pub qr_svg: String,
    pub qr_png: String,
}

/// Who made a booking, as a space's list shows its operators.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct MakerSeen {
    pub id: String,
    pub display_name: String,
    pub email: String,
    pub verified_maker: bool,
}

/// A booking of a space's list, with its maker (`None` for reviewers).
#[derive(Debug, Clone, Deserialize)]
pub struct SpaceBooking {
    #[serde(flatten)]
    pub booking: Booking,
    pub maker: Option<MakerSeen>,
}

/// A booking as the API answers it.
#[derive(Debug, Clone, Deserialize)]
pub struct Booking {
    pub id: String,
    pub status: String,
    pub kind: String,
    pub resource_id: String,
    pub unit_id: String,
    pub unit_label: String,
    pub space: String,
    pub when: Span,
    pub team_id: Option<String>,
    pub series_id: Option<String>,
    pub purpose: String,
    pub checkin_code: Option<CheckinCode>,
    #[serde(default)]
    pub decision_reason: Option<String>,
    #[serde(default)]
    pub cancelled_at: Option<String>,
    #[serde(default)]
    pub cancel_reason: Option<String>,
}

impl Booking {
    /// The QR text of its check-in code (the owner sees it).
    pub fn qr(&self) -> &str {
        &self.checkin_code.as_ref().expect("the owner sees the check-in code").qr
    }

    /// The short code a maker can type instead (`ABCDE-FGHJK`).
    pub fn short(&self) -> &str {
        &self.checkin_code.as_ref().expect("the owner sees the check-in code").short
    }
}

/// A unit that could take a refused request, at the time it could.
#[derive(Debug, Clone, Deserialize)]
pub struct Alternative {
    pub unit_id: String,
    pub unit_label: String,
    pub when: Span,
}

/// An occurrence of a series that was not booked.
#[derive(Debug, Clone, Deserialize)]
pub struct Skipped {
    pub when: Span,
    pub reasons: Vec<String>,
}

/// A series and the bookings it made.
#[derive(Debug, Clone, Deserialize)]
pub struct Series {
    pub series_id: String,
    pub bookings: Vec<Booking>,
    pub skipped: Vec<Skipped>,
    pub unit_changes: Vec<Alternative>,
}

/// A notification of a maker.
#[derive(Debug, Clone, Deserialize)]
pub struct Notification {
    pub kind: String,
    pub payload: Value,
}

/// A waitlist entry.
#[derive(Debug, Clone, Deserialize)]
pub struct WaitEntry {
    pub id: String,
    pub status: String,
    pub booking_id: Option<String>,
}

/// An invalid field of a `validation_failed` problem.
#[derive(Debug, Clone, Deserialize)]
pub struct FieldError {
    pub field: String,
    pub code: String,
}

/// A failure: its status, stable code, message (never empty) and details.
#[derive(Debug, Clone)]
pub struct Problem {
    pub status: u16,
    pub code: String,
    #[allow(dead_code)] // read by `{p:?}` in failing assertions; checked non-empty when parsed
    pub message: String,
    pub details: Value,
}

impl Problem {
    /// The rules a `policy_violation` names, in order.
    pub fn violations(&self) -> Vec<String> {
        self.details["violations"]
            .as_array()
            .map(|v| v.iter().map(|x| x["rule"].as_str().unwrap_or_default().to_owned()).collect())
            .unwrap_or_default()
    }

    /// The blocks a `conflict` names.
    pub fn conflicts(&self) -> Vec<Span> {
        serde_json::from_value(self.details["conflicts"].clone()).unwrap_or_default()
    }

    /// The alternatives a `conflict` offers.
    pub fn alternatives(&self) -> Vec<Alternative> {
        serde_json::from_value(self.details["alternatives"].clone()).unwrap_or_default()
    }

    /// The invalid fields of a `validation_failed`.
    pub fn fields(&self) -> Vec<FieldError> {
        serde_json::from_value(self.details["fields"].clone()).unwrap_or_default()
    }
}

impl Reply {
    /// The body as `T`; panics (with the body) when it is not one.
    pub fn json<T: DeserializeOwned>(&self) -> T {
        serde_json::from_value(self.body.clone())
            .unwrap_or_else(|e| panic!("{} is not a {}: {e}", self.text, std::any::type_name::<T>()))
    }

    /// The problem of a failed request; panics when the request succeeded.
    pub fn problem(&self) -> Problem {
        assert!(self.status >= 400, "expected a failure, got {}: {}", self.status, self.text);
        let message = self.body["error"]["message"].as_str().unwrap_or_default().to_owned();
        assert!(!message.is_empty(), "every problem says what went wrong: {}", self.text);
        Problem {
            status: self.status,
            code: self.code().to_owned(),
            message,
            details: self.body["error"]["details"].clone(),
        }
    }

    /// `T` when the status is `ok`, else the problem.
    pub fn result<T: DeserializeOwned>(&self, ok: u16) -> Result<T, Problem> {
        if self.status == ok { Ok(self.json()) } else { Err(self.problem()) }
    }
}

impl TestApp {
    /// `POST /api/v1/bookings` as `token`'s maker: the booking, or the problem.
    pub async fn try_book(&self, token: &str, body: Value) -> Result<Booking, Problem> {
        self.post("/api/v1/bookings", Some(token), body).await.result(201)
    }

    /// [`TestApp::try_book`] that must succeed.
    pub async fn book(&self, token: &str, body: Value) -> Booking {
        self.try_book(token, body).await.unwrap_or_else(|p| panic!("booking refused: {p:?}"))
    }

    /// [`TestApp::try_book`] that must be refused.
    pub async fn refused(&self, token: &str, body: Value) -> Problem {
        match self.try_book(token, body).await {
            Ok(b) => panic!("booked {} on {}, expected a refusal", b.id, b.unit_label),
            Err(p) => p,
        }
    }

    /// A recurring series (the body has a `recurrence`): the series, or the problem.
    pub async fn try_book_series(&self, token: &str, body: Value) -> Result<Series, Problem> {
        self.post("/api/v1/bookings", Some(token), body).await.result(201)
    }

    /// `POST /api/v1/stays` as `token`'s maker: the stay, or the problem.
    pub async fn try_stay(&self, token: &str, body: Value) -> Result<Booking, Problem> {
        self.post("/api/v1/stays", Some(token), body).await.result(201)
    }

    /// Cancels booking `id` as `token` (`body`: reason, scope): the bookings cancelled.
    pub async fn cancel(&self, token: &str, id: &str, body: Value) -> Result<Vec<Booking>, Problem> {
        self.post(&format!("/api/v1/bookings/{id}/cancel"), Some(token), body).await.result(200)
    }

    /// Moves booking `id` as `token`.
    pub async fn move_booking(&self, token: &str, id: &str, body: Value) -> Result<Booking, Problem> {
        self.post(&format!("/api/v1/bookings/{id}/move"), Some(token), body).await.result(200)
    }

    /// Approves (`approve`) or declines booking `id` as `token`, with `reason`.
    pub async fn decide(&self, token: &str, id: &str, approve: bool, reason: Option<&str>) -> Result<Booking, Problem> {
        let verb = if approve { "approve" } else { "decline" };
        let body = match reason {
            Some(r) => json!({ "reason": r }),
            None => json!({}),
        };
        self.post(&format!("/api/v1/bookings/{id}/{verb}"), Some(token), body).await.result(200)
    }

    /// `token`'s own bookings (`query`: such as `?status=pending`).
    pub async fn my_bookings(&self, token: &str, query: &str) -> Vec<Booking> {
        self.get(&format!("/api/v1/bookings{query}"), Some(token)).await.result(200).expect("my bookings")
    }

    /// A space's bookings as its operator or a reviewer sees them (`query`: `?date=…`).
    pub async fn space_bookings(&self, token: &str, slug: &str, query: &str) -> Vec<Booking> {
        self.get(&format!("/api/v1/spaces/{slug}/bookings{query}"), Some(token))
            .await
            .result(200)
            .expect("the space's bookings")
    }

    /// A space's list with each booking's maker (`query`: `?from=…&to=…`).
    pub async fn space_list(&self, token: &str, slug: &str, query: &str) -> Vec<SpaceBooking> {
        self.get(&format!("/api/v1/spaces/{slug}/bookings{query}"), Some(token))
            .await
            .result(200)
            .expect("the space's bookings")
    }

    /// `token`'s maker waits for `body` (resource, start, end).
    pub async fn wait(&self, token: &str, body: Value) -> WaitEntry {
        self.post("/api/v1/waitlist", Some(token), body).await.result(201).expect("joined the waitlist")
    }

    /// `token`'s waitlist entries, newest first.
    pub async fn my_waitlist(&self, token: &str) -> Vec<WaitEntry> {
        self.get("/api/v1/waitlist", Some(token)).await.result(200).expect("the waitlist")
    }

    /// `token`'s notifications, newest first.
    pub async fn notifications(&self, token: &str) -> Vec<Notification> {
        self.get("/api/v1/notifications", Some(token)).await.result(200).expect("notifications")
    }
}

/// The figures of one group in one bucket of a utilization report (the fields the stories
/// check; the README's glossary defines each).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Figures {
    pub open_hours: Option<f64>,
    pub booked_hours: f64,
    pub used_hours: f64,
    pub utilization: Option<f64>,
    pub booked_share: Option<f64>,
    pub show_rate: Option<f64>,
    pub bookings: u64,
    pub checked_in: u64,
    pub check_in_rate: Option<f64>,
    pub no_shows: u64,
    pub no_show_rate: Option<f64>,
    pub cancellations: u64,
    pub late_cancellations: u64,
    pub cancellation_lead_hours_median: Option<f64>,
    pub overstay_hours: f64,
    pub sessions: u64,
    pub walk_ups: u64,
    pub walk_up_share: Option<f64>,
    pub makers: u64,
    pub new_makers: u64,
    pub returning_makers: u64,
    pub organisations: u64,
    pub peak_concurrent: u64,
    pub seat_days_open: u64,
    pub seat_days_used: u64,
    pub seat_day_rate: Option<f64>,
    pub room_nights_available: u64,
    pub room_nights_occupied: u64,
    pub occupancy: Option<f64>,
    pub nights_by_verified_makers: u64,
    pub stays: u64,
    pub average_stay_nights: Option<f64>,
    pub subsidised_value_minor: i64,
}

/// One bucket of a group.
#[derive(Debug, Clone, Deserialize)]
pub struct BucketFigures {
    pub label: String,
    pub from: String,
    pub to: String,
    #[serde(flatten)]
    pub figures: Figures,
}

/// One group of a report.
#[derive(Debug, Clone, Deserialize)]
pub struct GroupFigures {
    pub key: String,
    pub name_en: String,
    pub total: Figures,
    pub buckets: Vec<BucketFigures>,
    pub heatmap: Vec<Vec<f64>>,
}

impl GroupFigures {
    /// The bucket labelled `label`.
    pub fn bucket(&self, label: &str) -> &Figures {
        &self.buckets.iter().find(|b| b.label == label).unwrap_or_else(|| panic!("no bucket {label}: {self:?}")).figures
    }
}

/// `GET /api/v1/reports/utilization` as JSON.
#[derive(Debug, Clone, Deserialize)]
pub struct UtilizationReport {
    pub from: String,
    pub to: String,
    pub bucket: String,
    pub by: String,
    pub groups: Vec<GroupFigures>,
    pub whole: GroupFigures,
}

impl UtilizationReport {
    /// The group named `name_en`.
    pub fn group(&self, name_en: &str) -> &GroupFigures {
        self.groups.iter().find(|g| g.name_en == name_en).unwrap_or_else(|| panic!("no group {name_en}: {self:?}"))
    }
}

impl TestApp {
    /// The utilization report of `space` for `query` (`from=…&to=…&bucket=…&by=…`) as `token`.
    pub async fn utilization(&self, token: &str, space: &str, query: &str) -> Result<UtilizationReport, Problem> {
        self.get(&format!("/api/v1/reports/utilization?space={space}&{query}"), Some(token)).await.result(200)
    }
}
