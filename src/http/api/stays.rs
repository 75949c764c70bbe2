//! Maker-inn stays (one room for every night, no room change mid-stay) and moving a
//! booking to another time or unit in one atomic step.

use super::bookings::{
    BookingView, Decision, Target, conflict, decide, find_booking, load, maker, operates, place, policy_violation,
    team_of,
};
use crate::domain::booking::Violation;
use crate::domain::calendar::{MINUTE_MS, local_to_utc, parse_instant};
use crate::domain::catalog::text;
use crate::domain::interval::Interval;
use crate::domain::policy::{ResourceKind, parse_hh_mm};
use crate::domain::{FieldError, ValidationErrors};
use crate::http::AppState;
use crate::http::error::{ApiError, ApiResult, Problem};
use crate::http::extract::{ApiJson, ApiPath, AuthUser};
use crate::store::StoreError;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use chrono::{Duration, NaiveDate};
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(create_stay)).routes(routes!(move_booking))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateStay {
    /// An inn-room resource (a room type).
    resource: String,
    /// The local date of arrival, such as 2026-09-10.
    check_in_date: String,
    nights: u32,
    #[serde(default)]
    team: Option<String>,
    #[serde(default)]
    purpose: String,
}

/// Books one room of a room type for every night of a stay, from the resource's check-in
/// time on the arrival date to its check-out time on the departure date.
#[utoipa::path(post, path = "/api/v1/stays", tag = "bookings", request_body = CreateStay, security(("bearer" = []), ("cookie" = [])),
    responses((status = 201, body = BookingView), (status = 409, body = Problem), (status = 422, body = Problem, description = "`policy_violation` (`too_many_nights`, `not_eligible`, ...)")))]
async fn create_stay(
    State(state): State<AppState>,
    user: AuthUser,
    ApiJson(req): ApiJson<CreateStay>,
) -> ApiResult<impl IntoResponse> {
    let mut e = ValidationErrors::default();
    let date = NaiveDate::parse_from_str(req.check_in_date.trim(), "%Y-%m-%d")
        .map_err(|_| e.push(FieldError::new("check_in_date", "invalid_date", "must be a date such as 2026-09-10")))
        .ok();
    if req.nights == 0 {
        e.push(FieldError::new("nights", "out_of_range", "at least one night"));
    }
    let purpose = e.take(text("purpose", &req.purpose, 500));
    let target = super::bookings::target(&state, Some(&req.resource), None, &mut e).await?;
    let team = team_of(&state, &user, req.team.as_deref(), &mut e).await?;
    let (Some(date), Some(purpose), Some((resource, space, _))) = (date, purpose, target) else { return Err(e.into()) };
    e.finish()?;
    let policy = super::catalog::stored_policy(&resource)?;
    let inn = match (ResourceKind::from_db(&resource.kind), &policy.inn) {
        (Some(ResourceKind::InnRoom), Some(inn)) => inn.clone(),
        _ => {
            return Err(ApiError::invalid_field(
                "resource",
                "not_an_inn_room",
                "stays are booked on inn-room resources",
            ));
        }
    };
    let zone = crate::http::calendar::zone_of(&space)?;
    let (Some(arrive), Some(leave)) = (parse_hh_mm(&inn.check_in_time), parse_hh_mm(&inn.check_out_time)) else {
        return Err(ApiError::internal(anyhow::anyhow!("resource {} has bad inn times", resource.id)));
    };
    let start = local_to_utc(zone.tz(), date.and_time(arrive));
    let end = local_to_utc(zone.tz(), (date + Duration::days(i64::from(req.nights))).and_time(leave));
    let span = Interval::new(start, end)
        .map_err(|_| ApiError::invalid_field("nights", "out_of_range", "the stay must end after it starts"))?;

    let mut d = decide(&state, &resource, &space, &user.account.id, span, None).await?;
    // A stay is measured in nights, not slots and minutes.
    d.violations.retain(|v| !matches!(v.rule.as_str(), "not_on_slot" | "too_short" | "too_long"));
    if req.nights > inn.max_nights {
        d.violations.push(Violation {
            rule: "too_many_nights".into(),
            message: format!("at most {} nights per stay", inn.max_nights),
        });
    }
    if !d.violations.is_empty() {
        return Err(policy_violation(d.violations));
    }
    let t = Target { resource: &resource, space: &space, unit: None, team: team.as_deref(), purpose: &purpose };
    match place(&state, &user.account.id, &t, &d, span, "stay").await? {
        Some(row) => Ok((StatusCode::CREATED, Json(super::kiosk::owner_view(&state, &row)?))),
        None => Err(conflict(&d, span, span, None, state.clock.now_ms())),
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MoveBooking {
    /// New start and end (RFC 3339); absent: unchanged.
    #[serde(default)]
    start: Option<String>,
    #[serde(default)]
    end: Option<String>,
    /// Another unit of the same resource; absent: the same unit.
    #[serde(default)]
    unit: Option<String>,
}

/// Moves a booking to another time or unit: it fully succeeds, or the booking is left as it was.
#[utoipa::path(post, path = "/api/v1/bookings/{id}/move", tag = "bookings", request_body = MoveBooking, params(("id" = String, Path)),
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, body = BookingView), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn move_booking(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<MoveBooking>,
) -> ApiResult<Json<BookingView>> {
    let b = find_booking(&state, &id).await?;
    let as_operator = operates(&user, &b.space_id);
    if b.account_id != user.account.id && !as_operator {
        return Err(super::bookings::not_theirs(&user, "moving"));
    }
    let now = state.clock.now_ms();
    if !as_operator && b.starts_at <= now {
        return Err(ApiError::conflict("too_late_to_move", "the booking has started; ask an operator of the space"));
    }
    let mut e = ValidationErrors::default();
    let start = req.start.as_deref().map_or(Some(b.starts_at), |s| e.take(parse_instant("start", s)));
    let end = req.end.as_deref().map_or(Some(b.ends_at), |s| e.take(parse_instant("end", s)));
    let unit = match req.unit.as_deref() {
        None => Some(b.unit_id.clone()),
        Some(u) => match state.db.unit(u).await {
            Ok(x) if x.resource_id == b.resource_id && x.retired_at.is_none() => Some(x.id),
            Ok(_) | Err(StoreError::NotFound) => {
                e.push(FieldError::new("unit", "unknown_unit", "no live unit of this booking's resource has this id"));
                None
            }
            Err(err) => return Err(err.into()),
        },
    };
    let (Some(start), Some(end), Some(unit)) = (start, end, unit) else { return Err(e.into()) };
    e.finish()?;
    let span =
        Interval::new(start, end).map_err(|_| ApiError::invalid_field("end", "before_start", "must be after start"))?;
    let resource = super::catalog::find_resource(&state, &b.resource_id).await?;

    // The rules, for the booking's maker, without counting the booking being moved.
    let window =
        Interval::new(span.start() - crate::domain::calendar::DAY_MS, span.end() + crate::domain::calendar::DAY_MS)
            .map_err(ApiError::internal)?;
    let mut loaded = load(&state, &resource, window).await?;
    let own = Interval::new(b.blocked_from, b.blocked_until).map_err(ApiError::internal)?;
    for u in &mut loaded.units {
        if u.id == b.unit_id {
            u.blocks.retain(|x| *x != own);
        }
    }
    let mut facts = maker(&state, &b.account_id, &resource, &loaded, span.start()).await?;
    let week = crate::domain::booking::local_week(loaded.zone, span.start());
    facts.count(Interval::new(b.starts_at, b.ends_at).map_err(ApiError::internal)?, week, now, -1);
    let mut violations = loaded.violations(&facts, span, Some(&unit), now);
    if b.kind == "stay" {
        violations.retain(|v| !matches!(v.rule.as_str(), "not_on_slot" | "too_short" | "too_long"));
    }
    if !violations.is_empty() {
        return Err(policy_violation(violations));
    }
    let p = &loaded.policy;
    let blocked = span.widened(p.buffer_before_minutes * MINUTE_MS, p.buffer_after_minutes * MINUTE_MS);
    let d = Decision {
        zone: loaded.zone,
        policy: loaded.policy.clone(),
        open: loaded.open(),
        units: loaded.units.clone(),
        violations: vec![],
    };
    let free = d.units.iter().find(|u| u.id == unit).is_some_and(|u| crate::domain::allocation::fits(u, span, blocked));
    if !free {
        return Err(conflict(&d, span, blocked, Some(&unit), now));
    }
    match state.db.move_booking(&b.id, &unit, span, blocked, now).await {
        Ok(true) => {}
        Ok(false) => return Err(ApiError::conflict("not_movable", format!("the booking is {}", b.status))),
        Err(StoreError::Overlap) => return Err(conflict(&d, span, blocked, Some(&unit), now)),
        Err(err) => return Err(err.into()),
    }
    tracing::info!(booking = %b.id, by = %user.account.id, "booking moved");
    // The time it left may be what someone is waiting for.
    super::waitlist::promote(&state, &b.resource_id).await;
    let moved = find_booking(&state, &b.id).await?;
    super::waitlist::tell_maker(&state, &user.account.id, &moved, "booking_moved", None, 1).await;
    // The maker keeps their check-in code (a move does not change it); an operator sees none.
    Ok(Json(super::kiosk::view_for(&state, &user.account.id, &moved)?))
}
