//! The waitlist: when a unit is taken, a maker can wait for that resource and time. When a
//! unit frees up (a cancellation or a declined request), the first waiting request that now
//! fits is booked automatically — confirmed, or pending where the resource needs approval —
//! and the maker is told in their notifications. We book rather than offer: a maker who
//! asked to wait has already said they want it, and an offer that expires unseen would waste
//! the freed time. They can cancel as usual.

use super::bookings::{Target, decide, find_booking, place};
use crate::domain::calendar::parse_instant;
use crate::domain::interval::Interval;
use crate::domain::{FieldError, ValidationErrors};
use crate::http::AppState;
use crate::http::calendar::Span;
use crate::http::error::{ApiError, ApiResult, Problem};
use crate::http::extract::{ApiJson, ApiPath, AuthUser};
use crate::store::waitlist::WaitRow;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(join, list_mine)).routes(routes!(leave)).routes(routes!(notifications))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WaitView {
    id: String,
    resource_id: String,
    unit_id: Option<String>,
    start: String,
    end: String,
    /// `waiting`, `fulfilled` (see `booking_id`), `expired` or `cancelled`.
    status: String,
    booking_id: Option<String>,
    created_at: String,
}

impl From<&WaitRow> for WaitView {
    fn from(w: &WaitRow) -> Self {
        WaitView {
            id: w.id.clone(),
            resource_id: w.resource_id.clone(),
            unit_id: w.unit_id.clone(),
            start: crate::clock::rfc3339(w.starts_at),
            end: crate::clock::rfc3339(w.ends_at),
            status: if w.status == "offered" { "waiting".into() } else { w.status.clone() },
            booking_id: w.booking_id.clone(),
            created_at: crate::clock::rfc3339(w.created_at),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct JoinWaitlist {
    resource: String,
    /// Wait for this unit only; absent: any unit of the resource.
    #[serde(default)]
    unit: Option<String>,
    start: String,
    end: String,
}

/// Joins the waitlist for a resource and time.
#[utoipa::path(post, path = "/api/v1/waitlist", tag = "bookings", request_body = JoinWaitlist, security(("bearer" = []), ("cookie" = [])),
    responses((status = 201, body = WaitView), (status = 422, body = Problem)))]
async fn join(
    State(state): State<AppState>,
    user: AuthUser,
    ApiJson(req): ApiJson<JoinWaitlist>,
) -> ApiResult<impl IntoResponse> {
    let mut e = ValidationErrors::default();
    let start = e.take(parse_instant("start", &req.start));
    let end = e.take(parse_instant("end", &req.end));
    let target = super::bookings::target(&state, Some(&req.resource), None, &mut e).await?;
    let (Some(start), Some(end), Some((resource, _, _))) = (start, end, target) else { return Err(e.into()) };
    if end <= start {
        e.push(FieldError::new("end", "before_start", "must be after start"));
    }
    if start <= state.clock.now_ms() {
        e.push(FieldError::new("start", "in_the_past", "the start has passed"));
    }
    let unit = match req.unit.as_deref() {
        Some(u) => match state.db.unit(u).await {
            Ok(x) if x.resource_id == resource.id => Some(x.id),
            _ => {
                e.push(FieldError::new("unit", "unknown_unit", "no unit of this resource has this id"));
                None
            }
        },
        None => None,
    };
    e.finish()?;
    let row = state
        .db
        .join_waitlist(&user.account.id, &resource.id, unit.as_deref(), start, end, state.clock.now_ms())
        .await?;
    // It may fit already (the unit freed up while the maker was deciding).
    promote(&state, &resource.id).await;
    Ok((StatusCode::CREATED, Json(WaitView::from(&state.db.wait_entry(&row.id).await?))))
}

/// My waitlist entries.
#[utoipa::path(get, path = "/api/v1/waitlist", tag = "bookings", security(("bearer" = []), ("cookie" = [])), responses((status = 200, body = Vec<WaitView>)))]
async fn list_mine(State(state): State<AppState>, user: AuthUser) -> ApiResult<Json<Vec<WaitView>>> {
    Ok(Json(state.db.waitlist_of(&user.account.id).await?.iter().map(WaitView::from).collect()))
}

/// Leaves the waitlist.
#[utoipa::path(delete, path = "/api/v1/waitlist/{id}", tag = "bookings", params(("id" = String, Path)), security(("bearer" = []), ("cookie" = [])),
    responses((status = 204), (status = 404, body = Problem)))]
async fn leave(State(state): State<AppState>, user: AuthUser, ApiPath(id): ApiPath<String>) -> ApiResult<StatusCode> {
    let entry = state.db.wait_entry(&id).await.map_err(|_| ApiError::not_found("waitlist entry"))?;
    if entry.account_id != user.account.id || !state.db.move_wait_entry(&id, "waiting", "cancelled", None).await? {
        return Err(ApiError::not_found("waitlist entry"));
    }
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct NotificationView {
    id: String,
    /// For example `waitlist_booked`.
    kind: String,
    #[schema(value_type = Object)]
    payload: serde_json::Value,
    created_at: String,
}

/// My notifications, newest first.
#[utoipa::path(get, path = "/api/v1/notifications", tag = "bookings", security(("bearer" = []), ("cookie" = [])), responses((status = 200, body = Vec<NotificationView>)))]
async fn notifications(State(state): State<AppState>, user: AuthUser) -> ApiResult<Json<Vec<NotificationView>>> {
    Ok(Json(
        state
            .db
            .notifications_of(&user.account.id)
            .await?
            .into_iter()
            .map(|n| NotificationView {
                id: n.id,
                kind: n.kind,
                payload: serde_json::from_str(&n.payload).unwrap_or(serde_json::Value::Null),
                created_at: crate::clock::rfc3339(n.created_at),
            })
            .collect(),
    ))
}

/// Books the first waiting requests of a resource that now fit. Failures are logged, not
/// returned: the cancellation that freed the unit has already succeeded.
pub(crate) async fn promote(state: &AppState, resource_id: &str) {
    if let Err(e) = try_promote(state, resource_id).await {
        tracing::error!(resource = %resource_id, error = ?e, "waitlist promotion failed");
    }
}

async fn try_promote(state: &AppState, resource_id: &str) -> ApiResult<()> {
    let now = state.clock.now_ms();
    for w in state.db.waiting_for(resource_id).await? {
        if w.starts_at <= now {
            state.db.move_wait_entry(&w.id, "waiting", "expired", None).await?;
            continue;
        }
        // Claim it, so that another node promoting at the same moment skips it.
        if !state.db.move_wait_entry(&w.id, "waiting", "offered", None).await? {
            continue;
        }
        let booked = book_for(state, &w).await;
        match booked {
            Ok(Some(row)) => {
                state.db.move_wait_entry(&w.id, "offered", "fulfilled", Some(&row.id)).await?;
                state.db.notify(&w.account_id, "waitlist_booked", &booking_payload(&row), now).await?;
                tracing::info!(waitlist = %w.id, booking = %row.id, "waitlist request booked");
            }
            Ok(None) => {
                state.db.move_wait_entry(&w.id, "offered", "waiting", None).await?;
            }
            Err(e) => {
                state.db.move_wait_entry(&w.id, "offered", "waiting", None).await?;
                return Err(e);
            }
        }
    }
    Ok(())
}

async fn book_for(state: &AppState, w: &WaitRow) -> ApiResult<Option<crate::store::bookings::BookingRow>> {
    let resource = super::catalog::find_resource(state, &w.resource_id).await?;
    let space = super::catalog::find_space(state, &resource.space_id).await?;
    let span = Interval::new(w.starts_at, w.ends_at).map_err(ApiError::internal)?;
    let d = decide(state, &resource, &space, &w.account_id, span, w.unit_id.as_deref()).await?;
    if !d.violations.is_empty() {
        // The maker can no longer book it (a training lapsed, a quota is full): keep waiting.
        return Ok(None);
    }
    let t = Target { resource: &resource, space: &space, unit: w.unit_id.as_deref(), team: None, purpose: "waitlist" };
    place(state, &w.account_id, &t, &d, span, "single").await
}

/// What a notification says about a booking: its id, resource, unit, time and status.
fn booking_payload(b: &crate::store::bookings::BookingRow) -> serde_json::Value {
    let zone = crate::domain::calendar::Zone::parse("tz", &b.timezone).unwrap_or_default();
    let when = Interval::new(b.starts_at, b.ends_at).map(|i| Span::new(zone, i)).ok();
    json!({ "booking_id": b.id, "resource": b.resource_name_en, "resource_zh": b.resource_name_zh,
            "unit": b.unit_label, "when": when, "status": b.status })
}

/// Tells a booking's maker what someone else (`by`) did to it (`booking_cancelled`,
/// `booking_moved`, `booking_approved`, `booking_declined`), with the reason given and how
/// many bookings it covered (a series); a maker's own change tells no one. The change itself
/// is already committed: a notification that cannot be written is logged, not turned into an
/// error.
pub(crate) async fn tell_maker(
    state: &AppState,
    by: &str,
    b: &crate::store::bookings::BookingRow,
    kind: &str,
    reason: Option<&str>,
    bookings: usize,
) {
    if b.account_id == by {
        return;
    }
    let mut payload = booking_payload(b);
    payload["reason"] = json!(reason);
    payload["bookings"] = json!(bookings);
    if let Err(e) = state.db.notify(&b.account_id, kind, &payload, state.clock.now_ms()).await {
        tracing::error!(booking = %b.id, error = ?e, kind, "cannot notify the maker");
    }
}

/// Used by the booking handlers after they free a unit.
pub(crate) async fn after_release(state: &AppState, booking_id: &str) {
    match find_booking(state, booking_id).await {
        Ok(b) => promote(state, &b.resource_id).await,
        Err(e) => tracing::error!(booking = %booking_id, error = ?e, "cannot find the released booking"),
    }
}
