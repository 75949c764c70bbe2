//! Maker-inn stays (one room for every night, no room change mid-stay) and moving a
//! booking to another time or unit in one atomic step.

use crate::http::AppState;
use crate::http::error::{ApiResult, Problem};
use crate::http::extract::{ApiJson, ApiPath, AuthUser};
use crate::http::views::{BookingView, owner_view, view_for};
use crate::service::booking::{self as booking, CreateStay, MoveBooking};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(create_stay)).routes(routes!(move_booking))
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
    let row = booking::book_stay(&state.svc, &user.identity, &req, state.clock.now_ms()).await?;
    Ok((StatusCode::CREATED, Json(owner_view(&state.svc, &row)?)))
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
    let moved = booking::move_booking(&state.svc, &user.identity, &id, &req, state.clock.now_ms()).await?;
    // The maker keeps their check-in code (a move does not change it); an operator sees none.
    Ok(Json(view_for(&state.svc, user.identity.id(), &moved)?))
}
