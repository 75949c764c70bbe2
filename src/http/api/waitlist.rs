//! The waitlist (join, list, leave) and the maker's notifications; the rules live in
//! [`crate::service::waitlist`].

use crate::domain::booking::WaitStatus;
use crate::http::AppState;
use crate::http::error::{ApiResult, Problem};
use crate::http::extract::{ApiJson, ApiPath, AuthUser};
use crate::service::waitlist::{self, JoinWaitlist};
use crate::store::waitlist::WaitRow;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::Serialize;
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
            resource_id: w.resource_id.to_string(),
            unit_id: w.unit_id.as_ref().map(ToString::to_string),
            start: crate::clock::rfc3339(w.starts_at),
            end: crate::clock::rfc3339(w.ends_at),
            // A claimed entry is still waiting, as far as its maker can tell.
            status: if w.status == WaitStatus::Offered { WaitStatus::Waiting } else { w.status }.as_str().to_owned(),
            booking_id: w.booking_id.as_ref().map(ToString::to_string),
            created_at: crate::clock::rfc3339(w.created_at),
        }
    }
}

/// Joins the waitlist for a resource and time.
#[utoipa::path(post, path = "/api/v1/waitlist", tag = "bookings", request_body = JoinWaitlist, security(("bearer" = []), ("cookie" = [])),
    responses((status = 201, body = WaitView), (status = 422, body = Problem)))]
async fn join(
    State(state): State<AppState>,
    user: AuthUser,
    ApiJson(req): ApiJson<JoinWaitlist>,
) -> ApiResult<impl IntoResponse> {
    let row = waitlist::join(&state.svc, &user.identity, &req, state.clock.now_ms()).await?;
    Ok((StatusCode::CREATED, Json(WaitView::from(&row))))
}

/// My waitlist entries.
#[utoipa::path(get, path = "/api/v1/waitlist", tag = "bookings", security(("bearer" = []), ("cookie" = [])), responses((status = 200, body = Vec<WaitView>)))]
async fn list_mine(State(state): State<AppState>, user: AuthUser) -> ApiResult<Json<Vec<WaitView>>> {
    Ok(Json(waitlist::mine(&state.svc, &user.identity).await?.iter().map(WaitView::from).collect()))
}

/// Leaves the waitlist.
#[utoipa::path(delete, path = "/api/v1/waitlist/{id}", tag = "bookings", params(("id" = String, Path)), security(("bearer" = []), ("cookie" = [])),
    responses((status = 204), (status = 404, body = Problem)))]
async fn leave(State(state): State<AppState>, user: AuthUser, ApiPath(id): ApiPath<String>) -> ApiResult<StatusCode> {
    waitlist::leave(&state.svc, &user.identity, &id).await?;
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
        crate::service::notify::mine(&state.svc, &user.identity)
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
