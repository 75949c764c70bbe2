//! The one error type of the use cases, and the one list of every stable error code.
//!
//! A [`ServiceError`] carries a [`Code`] (what clients switch on), a message in English,
//! optional structured details, and for a bug its cause (logged, never sent). The HTTP
//! layer turns a code into a status in one place (`http::error::status_of`), the pages into
//! a page in the reader's language; nothing below them knows about either.

use crate::domain::ValidationErrors;
use crate::domain::calendar::CalendarError;
use crate::store::StoreError;
use serde::Serialize;
use serde_json::{Value, json};

/// Defines [`Code`], its text and [`Code::ALL`] from one list, so that none can miss a code.
macro_rules! codes {
    ($($(#[doc = $doc:literal])* $name:ident => $text:literal,)*) => {
        /// Every stable error code labinn answers with. Adding one means adding its status to
        /// `http::error::status_of` (the match there is exhaustive).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, utoipa::ToSchema)]
        #[serde(rename_all = "snake_case")]
        pub enum Code {
            $($(#[doc = $doc])* $name,)*
        }

        impl Code {
            /// Every code, in the order of the list (the OpenAPI document's table).
            pub const ALL: &'static [Code] = &[$(Code::$name,)*];

            /// The text clients switch on.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Code::$name => $text,)*
                }
            }

            /// What it means (its documentation, for the OpenAPI document's table).
            pub fn about(self) -> &'static str {
                match self {
                    $(Code::$name => concat!($($doc),*).trim_start(),)*
                }
            }
        }
    };
}

codes! {
    // --- the request itself (raised by the HTTP layer) ---
    /// The request could not be understood.
    BadRequest => "bad_request",
    /// The body is not JSON.
    MalformedJson => "malformed_json",
    /// A path parameter does not parse.
    InvalidPath => "invalid_path",
    /// The query string does not parse.
    InvalidQuery => "invalid_query",
    /// The JSON has unknown or missing fields, or wrong types.
    InvalidBody => "invalid_body",
    /// The body is not `application/json`.
    UnsupportedMediaType => "unsupported_media_type",
    /// The body is larger than `max_body_bytes`.
    PayloadTooLarge => "payload_too_large",
    /// The route does not take this method.
    MethodNotAllowed => "method_not_allowed",
    /// The request took longer than `request_timeout_secs` and was abandoned.
    RequestTimeout => "request_timeout",
    /// A bare 422 from outside a handler.
    Unprocessable => "unprocessable",
    /// Slow down.
    TooManyRequests => "too_many_requests",
    /// A bare 503 from outside a handler.
    Unavailable => "unavailable",
    /// Any other status from outside a handler (the response carries it).
    HttpError => "http_error",
    // --- who is asking ---
    /// No token or session cookie.
    Unauthenticated => "unauthenticated",
    /// The token is unknown, expired or revoked.
    InvalidToken => "invalid_token",
    /// The e-mail address or password is wrong.
    InvalidCredentials => "invalid_credentials",
    /// A kiosk route without a kiosk's device token.
    KioskUnauthenticated => "kiosk_unauthenticated",
    /// The kiosk was revoked or paired again.
    KioskRevoked => "kiosk_revoked",
    /// The pairing code is unknown, used or expired.
    InvalidPairingCode => "invalid_pairing_code",
    /// Signed in, but without the power this needs.
    Forbidden => "forbidden",
    /// A change carried by the login cookie from a page of another site (its `Origin` is not
    /// this server's, or missing).
    CrossOrigin => "cross_origin",
    /// No such item (or not one the caller may see), or no such route.
    NotFound => "not_found",
    // --- what was asked ---
    /// Fields are invalid: `details.fields` lists every one.
    ValidationFailed => "validation_failed",
    /// A booking breaks rules of its resource: `details.violations` (or `details.occurrences`).
    PolicyViolation => "policy_violation",
    /// A series longer than a year or 366 occurrences.
    SeriesTooLong => "series_too_long",
    /// A window longer than 92 days.
    WindowTooLong => "window_too_long",
    /// A rule that recurs too often.
    RruleUnbounded => "rrule_unbounded",
    /// The request refers to an item that does not exist.
    UnknownReference => "unknown_reference",
    // --- the state of things ---
    /// The unit is taken: `details.conflicts` and `details.alternatives`.
    Conflict => "conflict",
    /// An item with the same unique key exists (`details.constraint`).
    AlreadyExists => "already_exists",
    /// The slug is taken (`details.field`).
    SlugTaken => "slug_taken",
    /// An account with this e-mail address exists.
    EmailTaken => "email_taken",
    /// Another live unit of the resource has the label.
    LabelTaken => "label_taken",
    /// The booking has started; only an operator may cancel it.
    TooLateToCancel => "too_late_to_cancel",
    /// The booking has started; only an operator may move it.
    TooLateToMove => "too_late_to_move",
    /// The booking is not live.
    NotCancellable => "not_cancellable",
    /// The booking is not live.
    NotMovable => "not_movable",
    /// The booking is not part of a series.
    NotASeries => "not_a_series",
    /// The booking does not await approval.
    NotPending => "not_pending",
    /// The booking cannot be checked in (or has no check-in code).
    NotCheckable => "not_checkable",
    /// The booking is not checked in.
    NotCheckedIn => "not_checked_in",
    /// An admin cannot revoke their own admin role.
    LastAdminGuard => "last_admin_guard",
    /// A revoked kiosk cannot be paired again.
    KioskAlreadyRevoked => "kiosk_already_revoked",
    /// The register row (a part of the area plan, an event, a document) was already ended,
    /// cancelled or withdrawn.
    AlreadyEnded => "already_ended",
    // --- the server ---
    /// The database abandoned the request for a concurrent one: send it again.
    TryAgain => "try_again",
    /// The database is unreachable or its schema is behind.
    NotReady => "not_ready",
    /// A bug: logged, and the body says nothing internal.
    Internal => "internal",
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A use case that did not happen, and why.
#[derive(Debug)]
pub struct ServiceError {
    pub code: Code,
    /// Human-readable, in English.
    pub message: String,
    /// Structured detail, when there is any (for example the invalid fields).
    pub details: Option<Value>,
    /// The internal cause of an [`Code::Internal`] error: logged, never sent.
    pub source: Option<anyhow::Error>,
}

impl std::fmt::Display for ServiceError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)?;
        if let Some(s) = &self.source {
            write!(f, " ({s:#})")?;
        }
        Ok(())
    }
}

impl std::error::Error for ServiceError {}

pub type ServiceResult<T> = Result<T, ServiceError>;

impl ServiceError {
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        Self { code, message: message.into(), details: None, source: None }
    }

    #[must_use]
    pub fn with_details(mut self, details: Value) -> Self {
        self.details = Some(details);
        self
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(Code::Forbidden, message)
    }

    /// `what` (a booking, a kiosk, ...) does not exist or is not the caller's to see.
    pub fn not_found(what: &str) -> Self {
        Self::new(Code::NotFound, format!("{what} not found"))
    }

    /// One field is invalid; for several, convert a [`ValidationErrors`].
    pub fn invalid_field(field: &str, code: &str, message: &str) -> Self {
        ValidationErrors(vec![crate::domain::FieldError::new(field, code, message)]).into()
    }

    /// A bug: the cause is logged, the answer says nothing internal.
    pub fn internal(source: impl Into<anyhow::Error>) -> Self {
        Self {
            code: Code::Internal,
            message: "an internal error occurred; it has been logged".into(),
            details: None,
            source: Some(source.into()),
        }
    }

    /// A booking that breaks rules: every one of them in `details.violations`.
    pub fn policy(violations: &[crate::domain::booking::Violation]) -> Self {
        let n = violations.len();
        Self::new(
            Code::PolicyViolation,
            format!("the booking breaks {n} rule{} of this resource", if n == 1 { "" } else { "s" }),
        )
        .with_details(json!({ "violations": violations }))
    }

    /// A [`StoreError::NotFound`] as `what` not found; any other store error as itself (so
    /// that a database outage never reads as "not found").
    pub fn missing(what: &'static str) -> impl Fn(StoreError) -> ServiceError {
        move |e| match e {
            StoreError::NotFound => ServiceError::not_found(what),
            other => other.into(),
        }
    }
}

impl From<ValidationErrors> for ServiceError {
    fn from(v: ValidationErrors) -> Self {
        let n = v.0.len();
        ServiceError::new(Code::ValidationFailed, format!("{n} field{} invalid", if n == 1 { " is" } else { "s are" }))
            .with_details(json!({ "fields": v.0 }))
    }
}

impl From<CalendarError> for ServiceError {
    fn from(e: CalendarError) -> Self {
        match e {
            CalendarError::WindowTooLong { days } => ServiceError::new(Code::WindowTooLong, e.to_string())
                .with_details(json!({ "days": days, "max_days": crate::domain::calendar::MAX_WINDOW_DAYS })),
            CalendarError::TooManyOccurrences => {
                crate::metrics::METRICS.expansion_budget_hits.inc();
                ServiceError::new(Code::RruleUnbounded, e.to_string())
            }
        }
    }
}

impl From<crate::auth::AuthError> for ServiceError {
    fn from(e: crate::auth::AuthError) -> Self {
        ServiceError::internal(e)
    }
}

impl From<StoreError> for ServiceError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => ServiceError::not_found("the requested item"),
            StoreError::Overlap => {
                ServiceError::new(Code::Conflict, "the unit is already booked for an overlapping time")
            }
            StoreError::Unique(key) => unique_violation(&key),
            StoreError::Retry(_) => ServiceError::new(
                Code::TryAgain,
                "the database had to abandon the request because of a concurrent one; send it again",
            ),
            StoreError::BadText(_) => ServiceError::new(
                Code::BadRequest,
                "the request carries text with a NUL character (U+0000), which cannot be stored or looked up",
            ),
            StoreError::ForeignKey(_) => {
                ServiceError::new(Code::UnknownReference, "the request refers to an item that does not exist")
            }
            other => ServiceError::internal(other),
        }
    }
}

/// A unique key of the schema, the field of the input it concerns, and what a violation of it
/// answers.
struct UniqueKey {
    /// Its name in both dialects (PostgreSQL reports it; SQLite reports the columns).
    constraint: &'static str,
    /// How SQLite names it: `UNIQUE constraint failed: <columns>`.
    sqlite_columns: &'static str,
    field: &'static str,
    code: Code,
    message: &'static str,
}

/// Every unique key a request can run into, by constraint name.
const UNIQUE_KEYS: &[UniqueKey] = &[
    UniqueKey {
        constraint: "accounts_email_key",
        sqlite_columns: "accounts.email",
        field: "email",
        code: Code::EmailTaken,
        message: "an account with this e-mail address already exists",
    },
    UniqueKey {
        constraint: "spaces_slug_key",
        sqlite_columns: "spaces.slug",
        field: "slug",
        code: Code::SlugTaken,
        message: "another space already uses this slug",
    },
    UniqueKey {
        constraint: "organisations_slug_key",
        sqlite_columns: "organisations.slug",
        field: "slug",
        code: Code::SlugTaken,
        message: "another organisation already uses this slug",
    },
    UniqueKey {
        constraint: "trainings_slug_key",
        sqlite_columns: "trainings.slug",
        field: "slug",
        code: Code::SlugTaken,
        message: "another training already uses this slug",
    },
    UniqueKey {
        constraint: "units_live_label_key",
        sqlite_columns: "units.resource_id, units.label",
        field: "label",
        code: Code::LabelTaken,
        message: "another unit of this resource already has that label",
    },
];

/// The answer to a violated unique key: its own code and the field it concerns, or
/// `already_exists` naming the constraint for a key no input names.
fn unique_violation(reported: &str) -> ServiceError {
    let key = UNIQUE_KEYS.iter().find(|k| {
        reported == k.constraint
            || reported.ends_with(k.sqlite_columns)
            || reported.contains(&format!("index '{}'", k.constraint))
    });
    match key {
        Some(k) => {
            ServiceError::new(k.code, k.message).with_details(json!({ "field": k.field, "constraint": k.constraint }))
        }
        None => ServiceError::new(Code::AlreadyExists, "an item with the same unique key already exists")
            .with_details(json!({ "constraint": reported })),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_is_listed_once_and_spelt_in_snake_case() {
        let mut seen = std::collections::HashSet::new();
        for c in Code::ALL {
            assert!(seen.insert(c.as_str()), "{c} is listed twice");
            assert_eq!(serde_json::to_value(c).unwrap(), c.as_str());
        }
    }

    #[test]
    fn a_unique_violation_names_its_field_on_either_backend() {
        let pg = ServiceError::from(StoreError::Unique("spaces_slug_key".into()));
        let sqlite = ServiceError::from(StoreError::Unique("UNIQUE constraint failed: spaces.slug".into()));
        for e in [pg, sqlite] {
            assert_eq!(e.code, Code::SlugTaken);
            assert_eq!(e.details.unwrap()["field"], "slug");
        }
        let label =
            ServiceError::from(StoreError::Unique("UNIQUE constraint failed: units.resource_id, units.label".into()));
        assert_eq!(label.code, Code::LabelTaken);
        let other = ServiceError::from(StoreError::Unique("memberships_active_key".into()));
        assert_eq!(
            (other.code, other.details.unwrap()["constraint"].as_str()),
            (Code::AlreadyExists, Some("memberships_active_key"))
        );
    }

    #[test]
    fn an_outage_is_never_not_found() {
        let outage = StoreError::Db(sqlx::Error::PoolTimedOut);
        assert_eq!(ServiceError::missing("booking")(outage).code, Code::Internal);
        assert_eq!(ServiceError::missing("booking")(StoreError::NotFound).code, Code::NotFound);
    }
}
