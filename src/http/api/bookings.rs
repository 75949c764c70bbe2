//! Bookings: create (a unit, or a resource and the allocator picks the unit; with a
//! recurrence, a series), list, show, cancel, approve and decline. The rules live in
//! [`crate::service::booking`]; these handlers parse, call it and answer.

use crate::http::AppState;
use crate::http::error::{ApiResult, Problem};
use crate::http::extract::{ApiJson, ApiPath, ApiQuery, AuthUser};
use crate::http::views::{BookingView, booking_view, owner_view, view_for};
use crate::service::booking::{
    self as booking, Alternative, Booked, CancelBody, CreateBooking, ListQuery, ReasonBody, Skipped, SpaceBookingsQuery,
};
use crate::service::powers;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create, list_mine))
        .routes(routes!(show))
        .routes(routes!(cancel))
        .routes(routes!(approve))
        .routes(routes!(decline))
        .routes(routes!(space_bookings))
}

/// A series and the bookings it made.
#[derive(Debug, Serialize, ToSchema)]
pub struct SeriesView {
    pub series_id: String,
    pub bookings: Vec<BookingView>,
    /// Occurrences not booked (`skip` mode), with why.
    pub skipped: Vec<Skipped>,
    /// Occurrences that could not keep the series' unit and went to another.
    pub unit_changes: Vec<Alternative>,
}

/// Books a unit, or any free unit of a resource (best fit); with `recurrence`, a series.
#[utoipa::path(post, path = "/api/v1/bookings", tag = "bookings", request_body = CreateBooking, security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 201, body = BookingView, description = "a booking; with `recurrence`, a `SeriesView`"),
        (status = 409, body = Problem, description = "`conflict`: details.conflicts and details.alternatives"),
        (status = 422, body = Problem, description = "`policy_violation` (details.violations lists every broken rule) or `validation_failed`"),
    ))]
async fn create(
    State(state): State<AppState>,
    user: AuthUser,
    ApiJson(req): ApiJson<CreateBooking>,
) -> ApiResult<impl IntoResponse> {
    let svc = &state.svc;
    Ok(match booking::book(svc, &user.identity, &req, state.clock.now_ms()).await? {
        Booked::One(row) => (StatusCode::CREATED, Json(owner_view(svc, &row)?)).into_response(),
        Booked::Series(s) => {
            let bookings = s.bookings.iter().map(|b| owner_view(svc, b)).collect::<Result<_, _>>()?;
            let view =
                SeriesView { series_id: s.series_id, bookings, skipped: s.skipped, unit_changes: s.unit_changes };
            (StatusCode::CREATED, Json(view)).into_response()
        }
    })
}

/// My bookings, by start (at most 500).
#[utoipa::path(get, path = "/api/v1/bookings", tag = "bookings", params(ListQuery), security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, body = Vec<BookingView>), (status = 401, body = Problem)))]
async fn list_mine(
    State(state): State<AppState>,
    user: AuthUser,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult<Json<Vec<BookingView>>> {
    let rows = booking::mine(&state.svc, &user.identity, &q).await?;
    Ok(Json(rows.iter().map(|b| owner_view(&state.svc, b)).collect::<Result<_, _>>()?))
}

/// A booking: its maker, the space's operators, reviewers and admins may see it.
#[utoipa::path(get, path = "/api/v1/bookings/{id}", tag = "bookings", params(("id" = String, Path)), security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, body = BookingView), (status = 404, body = Problem)))]
async fn show(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<BookingView>> {
    let b = booking::show(&state.svc, &user.identity, &id).await?;
    Ok(Json(view_for(&state.svc, user.identity.id(), &b)?))
}

/// Cancels a booking: its maker before the start, an operator of the space at any time with
/// a reason. With `scope`, also the following occurrences of its series, or the whole series.
/// Cancelled bookings stay, marked with who, when and why.
#[utoipa::path(post, path = "/api/v1/bookings/{id}/cancel", tag = "bookings", request_body = CancelBody, params(("id" = String, Path)),
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, body = Vec<BookingView>, description = "the bookings cancelled"), (status = 409, body = Problem, description = "`too_late_to_cancel`, `not_cancellable`, `not_a_series`"), (status = 422, body = Problem)))]
async fn cancel(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<CancelBody>,
) -> ApiResult<Json<Vec<BookingView>>> {
    let rows = booking::cancel(&state.svc, &user.identity, &id, &body, state.clock.now_ms()).await?;
    Ok(Json(rows.iter().map(booking_view).collect::<Result<_, _>>()?))
}

/// Approves a pending booking.
#[utoipa::path(post, path = "/api/v1/bookings/{id}/approve", tag = "bookings", request_body = ReasonBody, params(("id" = String, Path)),
    security(("bearer" = [])), responses((status = 200, body = BookingView), (status = 403, body = Problem), (status = 409, body = Problem)))]
async fn approve(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<ReasonBody>,
) -> ApiResult<Json<BookingView>> {
    let b = booking::decide_pending(&state.svc, &user.identity, &id, true, &body, state.clock.now_ms()).await?;
    Ok(Json(booking_view(&b)?))
}

/// Declines a pending booking, with a reason. The unit is free again.
#[utoipa::path(post, path = "/api/v1/bookings/{id}/decline", tag = "bookings", request_body = ReasonBody, params(("id" = String, Path)),
    security(("bearer" = [])), responses((status = 200, body = BookingView), (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn decline(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<ReasonBody>,
) -> ApiResult<Json<BookingView>> {
    let b = booking::decide_pending(&state.svc, &user.identity, &id, false, &body, state.clock.now_ms()).await?;
    Ok(Json(booking_view(&b)?))
}

/// Who made a booking, as the space's operators see them.
#[derive(Debug, Serialize, ToSchema)]
pub struct MakerView {
    pub id: String,
    pub display_name: String,
    pub email: String,
    pub verified_maker: bool,
}

/// A booking of a space's list: the booking, and for the space's operators who made it.
#[derive(Debug, Serialize, ToSchema)]
pub struct SpaceBookingView {
    #[serde(flatten)]
    pub booking: BookingView,
    /// The maker, for the space's operators (and admins); `null` for reviewers, who read
    /// makers only as the space's report privacy allows.
    pub maker: Option<MakerView>,
}

/// A space's bookings on one local day (`date`, default today there) or over local dates
/// `from..=to` (at most 62 days, 5000 bookings), with who made each (operators, reviewers
/// and admins; reviewers without the maker).
#[utoipa::path(get, path = "/api/v1/spaces/{slug}/bookings", tag = "bookings", params(("slug" = String, Path), SpaceBookingsQuery),
    security(("bearer" = [])), responses((status = 200, body = Vec<SpaceBookingView>), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn space_bookings(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(slug): ApiPath<String>,
    ApiQuery(q): ApiQuery<SpaceBookingsQuery>,
) -> ApiResult<Json<Vec<SpaceBookingView>>> {
    let reader = powers::reader_of(&state.svc, &user.identity, &slug).await?;
    let rows = booking::of_space(&state.svc, &reader, &q, state.clock.now_ms()).await?;
    let makers = if reader.operates() {
        crate::service::console::makers(&state.svc, rows.iter().map(|b| b.account_id.clone())).await?
    } else {
        Default::default()
    };
    let mut out = Vec::with_capacity(rows.len());
    for b in &rows {
        out.push(SpaceBookingView {
            booking: booking_view(b)?,
            maker: makers.get(&b.account_id).map(|m| MakerView {
                id: m.id.to_string(),
                display_name: m.name.clone(),
                email: m.email.clone(),
                verified_maker: m.verified,
            }),
        });
    }
    Ok(Json(out))
}
