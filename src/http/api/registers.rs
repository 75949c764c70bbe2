//! The registers of a space ([`crate::service::registers`]): area plan, residents, events,
//! documents. Operators of the space write; its operators, reviewers and admins read.

use crate::clock::rfc3339;
use crate::http::AppState;
use crate::http::error::{ApiResult, Problem};
use crate::http::extract::{ApiJson, ApiPath, AuthUser};
use crate::service::powers;
use crate::service::registers::{self, Attendance, NewAreaPart, NewDocument, NewEvent, ResidencyInput};
use crate::store::registers::{AreaPartRow, DocumentRow, EventRow, ResidencyRow};
use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(area_plan, add_area_part))
        .routes(routes!(end_area_part))
        .routes(routes!(residents, record_resident))
        .routes(routes!(change_resident))
        .routes(routes!(events, create_event))
        .routes(routes!(enter_attendance))
        .routes(routes!(cancel_event))
        .routes(routes!(upcoming_events))
        .routes(routes!(register_for_event, withdraw_registration))
        .routes(routes!(my_events))
        .routes(routes!(documents, attach_document))
        .routes(routes!(document_content))
        .routes(routes!(withdraw_document))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AreaPartView {
    pub id: String,
    pub name: String,
    pub area_m2: f64,
    pub use_class: String,
    pub resource_id: Option<String>,
    pub created_at: String,
    pub ended_at: Option<String>,
}

fn area_view(r: AreaPartRow) -> AreaPartView {
    AreaPartView {
        id: r.id,
        name: r.name,
        area_m2: r.area_m2,
        use_class: r.use_class,
        resource_id: r.resource_id,
        created_at: rfc3339(r.created_at),
        ended_at: r.ended_at.map(rfc3339),
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ResidentView {
    pub id: String,
    pub organisation_id: String,
    pub agreement_ref: String,
    pub starts_on: String,
    pub ends_on: Option<String>,
    pub desks: i64,
    pub rooms: i64,
    pub area_m2: f64,
    pub founder: String,
    pub product: String,
    pub created_at: String,
    pub updated_at: String,
}

fn resident_view(r: ResidencyRow) -> ResidentView {
    ResidentView {
        id: r.id,
        organisation_id: r.organisation_id,
        agreement_ref: r.agreement_ref,
        starts_on: r.starts_on,
        ends_on: r.ends_on,
        desks: r.desks,
        rooms: r.rooms,
        area_m2: r.area_m2,
        founder: r.founder,
        product: r.product,
        created_at: rfc3339(r.created_at),
        updated_at: rfc3339(r.updated_at),
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EventView {
    pub id: String,
    pub kind: String,
    pub role: String,
    pub topic: String,
    /// The booking of its place.
    pub booking_id: String,
    pub start: String,
    pub end: String,
    /// Participants checked in with their event code at a kiosk.
    pub checked_in: i64,
    /// Attendance entered by hand; counted only when attested and nobody was checked in.
    pub attendance_entered: Option<i64>,
    pub attested: bool,
    pub cancelled_at: Option<String>,
}

fn event_view(r: EventRow) -> EventView {
    EventView {
        id: r.id,
        kind: r.kind,
        role: r.role,
        topic: r.topic,
        booking_id: r.booking_id,
        start: rfc3339(r.starts_at),
        end: rfc3339(r.ends_at),
        checked_in: r.checked_in,
        attendance_entered: r.attendance_entered,
        attested: r.attested_at.is_some(),
        cancelled_at: r.cancelled_at.map(rfc3339),
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DocumentView {
    pub id: String,
    pub kind: String,
    pub title: String,
    pub file_name: String,
    pub content_type: String,
    pub size_bytes: i64,
    /// SHA-256 of the content, hex.
    pub sha256: String,
    pub residency_id: Option<String>,
    pub created_at: String,
    pub withdrawn_at: Option<String>,
}

fn document_view(r: DocumentRow) -> DocumentView {
    DocumentView {
        id: r.id,
        kind: r.kind,
        title: r.title,
        file_name: r.file_name,
        content_type: r.content_type,
        size_bytes: r.size_bytes,
        sha256: r.sha256,
        residency_id: r.residency_id,
        created_at: rfc3339(r.created_at),
        withdrawn_at: r.withdrawn_at.map(rfc3339),
    }
}

/// The space's area plan: each part with its floor area and use class (ended parts too).
#[utoipa::path(get, path = "/api/v1/spaces/{slug}/area-plan", tag = "registers", params(("slug" = String, Path)),
    security(("bearer" = [])), responses((status = 200, body = Vec<AreaPartView>), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn area_plan(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(slug): ApiPath<String>,
) -> ApiResult<Json<Vec<AreaPartView>>> {
    let reader = powers::reader_of(&state.svc, &user.identity, &slug).await?;
    Ok(Json(registers::area_plan(&state.svc, &reader).await?.into_iter().map(area_view).collect()))
}

/// Adds a part to the area plan (its operators). Recorded in the ledger.
#[utoipa::path(post, path = "/api/v1/spaces/{slug}/area-plan", tag = "registers", params(("slug" = String, Path)), request_body = NewAreaPart,
    security(("bearer" = [])), responses((status = 201, body = AreaPartView), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn add_area_part(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(slug): ApiPath<String>,
    ApiJson(body): ApiJson<NewAreaPart>,
) -> ApiResult<(StatusCode, Json<AreaPartView>)> {
    let op = powers::operator_of(&state.svc, &user.identity, &slug, "changing the area plan").await?;
    let row = registers::add_area_part(&state.svc, &op, &body, state.clock.now_ms()).await?;
    Ok((StatusCode::CREATED, Json(area_view(row))))
}

/// Ends a part of the area plan (it stays, ended).
#[utoipa::path(post, path = "/api/v1/area-plan/{id}/end", tag = "registers", params(("id" = String, Path)),
    security(("bearer" = [])), responses((status = 200, body = AreaPartView), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn end_area_part(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<AreaPartView>> {
    Ok(Json(area_view(registers::end_area_part(&state.svc, &user.identity, &id, state.clock.now_ms()).await?)))
}

/// The space's residents (ended residencies too).
#[utoipa::path(get, path = "/api/v1/spaces/{slug}/residents", tag = "registers", params(("slug" = String, Path)),
    security(("bearer" = [])), responses((status = 200, body = Vec<ResidentView>), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn residents(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(slug): ApiPath<String>,
) -> ApiResult<Json<Vec<ResidentView>>> {
    let reader = powers::reader_of(&state.svc, &user.identity, &slug).await?;
    Ok(Json(registers::residencies(&state.svc, &reader).await?.into_iter().map(resident_view).collect()))
}

/// Records an organisation as resident (its operators). Recorded in the ledger.
#[utoipa::path(post, path = "/api/v1/spaces/{slug}/residents", tag = "registers", params(("slug" = String, Path)), request_body = ResidencyInput,
    security(("bearer" = [])), responses((status = 201, body = ResidentView), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn record_resident(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(slug): ApiPath<String>,
    ApiJson(body): ApiJson<ResidencyInput>,
) -> ApiResult<(StatusCode, Json<ResidentView>)> {
    let op = powers::operator_of(&state.svc, &user.identity, &slug, "recording a resident").await?;
    let row = registers::record_residency(&state.svc, &op, &body, state.clock.now_ms()).await?;
    Ok((StatusCode::CREATED, Json(resident_view(row))))
}

/// Changes a residency: its dates and terms (set `ends_on` to end it). Recorded in the ledger.
#[utoipa::path(put, path = "/api/v1/residents/{id}", tag = "registers", params(("id" = String, Path)), request_body = ResidencyInput,
    security(("bearer" = [])), responses((status = 200, body = ResidentView), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn change_resident(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<ResidencyInput>,
) -> ApiResult<Json<ResidentView>> {
    let row = registers::change_residency(&state.svc, &user.identity, &id, &body, state.clock.now_ms()).await?;
    Ok(Json(resident_view(row)))
}

/// The space's events (cancelled ones too).
#[utoipa::path(get, path = "/api/v1/spaces/{slug}/events", tag = "registers", params(("slug" = String, Path)),
    security(("bearer" = [])), responses((status = 200, body = Vec<EventView>), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn events(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(slug): ApiPath<String>,
) -> ApiResult<Json<Vec<EventView>>> {
    let reader = powers::reader_of(&state.svc, &user.identity, &slug).await?;
    Ok(Json(registers::events(&state.svc, &reader).await?.into_iter().map(event_view).collect()))
}

/// Records an event in a booked place of the space (its operators). Recorded in the ledger.
#[utoipa::path(post, path = "/api/v1/spaces/{slug}/events", tag = "registers", params(("slug" = String, Path)), request_body = NewEvent,
    security(("bearer" = [])), responses((status = 201, body = EventView), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn create_event(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(slug): ApiPath<String>,
    ApiJson(body): ApiJson<NewEvent>,
) -> ApiResult<(StatusCode, Json<EventView>)> {
    let op = powers::operator_of(&state.svc, &user.identity, &slug, "recording an event").await?;
    let row = registers::create_event(&state.svc, &op, &body, state.clock.now_ms()).await?;
    Ok((StatusCode::CREATED, Json(event_view(row))))
}

/// Enters an event's attendance by hand, attested or not.
#[utoipa::path(put, path = "/api/v1/events/{id}/attendance", tag = "registers", params(("id" = String, Path)), request_body = Attendance,
    security(("bearer" = [])), responses((status = 200, body = EventView), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn enter_attendance(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<Attendance>,
) -> ApiResult<Json<EventView>> {
    let row = registers::enter_attendance(&state.svc, &user.identity, &id, &body, state.clock.now_ms()).await?;
    Ok(Json(event_view(row)))
}

/// Cancels an event (kept, counted for nothing).
#[utoipa::path(post, path = "/api/v1/events/{id}/cancel", tag = "registers", params(("id" = String, Path)),
    security(("bearer" = [])), responses((status = 200, body = EventView), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn cancel_event(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<EventView>> {
    Ok(Json(event_view(registers::cancel_event(&state.svc, &user.identity, &id, state.clock.now_ms()).await?)))
}

/// The space's documents, with their SHA-256 (withdrawn ones too).
#[utoipa::path(get, path = "/api/v1/spaces/{slug}/documents", tag = "registers", params(("slug" = String, Path)),
    security(("bearer" = [])), responses((status = 200, body = Vec<DocumentView>), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn documents(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(slug): ApiPath<String>,
) -> ApiResult<Json<Vec<DocumentView>>> {
    let reader = powers::reader_of(&state.svc, &user.identity, &slug).await?;
    Ok(Json(registers::documents(&state.svc, &reader).await?.into_iter().map(document_view).collect()))
}

/// Attaches a document (base64 in JSON, at most 5 MiB decoded). Recorded in the ledger.
#[utoipa::path(post, path = "/api/v1/spaces/{slug}/documents", tag = "registers", params(("slug" = String, Path)), request_body = NewDocument,
    security(("bearer" = [])), responses((status = 201, body = DocumentView), (status = 403, body = Problem), (status = 413, body = Problem), (status = 422, body = Problem)))]
async fn attach_document(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(slug): ApiPath<String>,
    ApiJson(body): ApiJson<NewDocument>,
) -> ApiResult<(StatusCode, Json<DocumentView>)> {
    let op = powers::operator_of(&state.svc, &user.identity, &slug, "attaching a document").await?;
    let row = registers::attach_document(&state.svc, &op, &body, state.clock.now_ms()).await?;
    Ok((StatusCode::CREATED, Json(document_view(row))))
}

/// A document's file, as stored.
#[utoipa::path(get, path = "/api/v1/documents/{id}/content", tag = "registers", params(("id" = String, Path)),
    security(("bearer" = [])), responses((status = 200, description = "the file"), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn document_content(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Response> {
    let (row, content) = registers::document(&state.svc, &user.identity, &id).await?;
    // RFC 6266 / 5987: an ASCII fallback and the UTF-8 name, percent-encoded.
    let encoded: String = row
        .file_name
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    Ok((
        [
            (header::CONTENT_TYPE, row.content_type.clone()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"document\"; filename*=UTF-8''{encoded}")),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_owned()),
            (header::HeaderName::from_static("x-content-sha256"), row.sha256.clone()),
        ],
        content,
    )
        .into_response())
}

/// Withdraws a document (kept, listed as withdrawn).
#[utoipa::path(post, path = "/api/v1/documents/{id}/withdraw", tag = "registers", params(("id" = String, Path)),
    security(("bearer" = [])), responses((status = 200, body = DocumentView), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn withdraw_document(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<DocumentView>> {
    Ok(Json(document_view(registers::withdraw_document(&state.svc, &user.identity, &id, state.clock.now_ms()).await?)))
}

// ---------- participants ----------

/// An event anyone may register for.
#[derive(Debug, Serialize, ToSchema)]
pub struct PublicEventView {
    pub id: String,
    /// `salon`, `roadshow`, `competition`, `training` or `maker_market`.
    pub kind: String,
    pub topic: String,
    pub start: String,
    pub end: String,
    /// The booked resource it takes place in.
    pub place_zh: String,
    pub place_en: String,
}

fn public_event_view(e: registers::PublicEvent) -> PublicEventView {
    PublicEventView {
        id: e.event.id,
        kind: e.event.kind,
        topic: e.event.topic,
        start: rfc3339(e.event.starts_at),
        end: rfc3339(e.event.ends_at),
        place_zh: e.place_zh,
        place_en: e.place_en,
    }
}

/// A participant's registration and event code.
#[derive(Debug, Serialize, ToSchema)]
pub struct RegistrationView {
    pub event_id: String,
    pub kind: String,
    pub topic: String,
    pub start: String,
    pub end: String,
    pub cancelled: bool,
    /// The event code: show it as a QR code at the space's kiosk (from 30 minutes before the
    /// start to the end). Each scan after the first changes nothing.
    pub code: String,
    /// When this participant checked in with it, if they did.
    pub attended_at: Option<String>,
}

fn registration_view(r: registers::Registration) -> RegistrationView {
    RegistrationView {
        event_id: r.event.id,
        kind: r.event.kind,
        topic: r.event.topic,
        start: rfc3339(r.event.starts_at),
        end: rfc3339(r.event.ends_at),
        cancelled: r.event.cancelled_at.is_some(),
        code: r.code,
        attended_at: r.attended_at.map(rfc3339),
    }
}

/// The events of a space that are neither over nor cancelled, for anyone to register for.
#[utoipa::path(get, path = "/api/v1/spaces/{slug}/events/upcoming", tag = "registers", params(("slug" = String, Path)),
    responses((status = 200, body = Vec<PublicEventView>), (status = 404, body = Problem)))]
async fn upcoming_events(
    State(state): State<AppState>,
    ApiPath(slug): ApiPath<String>,
) -> ApiResult<Json<Vec<PublicEventView>>> {
    let events = registers::upcoming_events(&state.svc, &slug, state.clock.now_ms()).await?;
    Ok(Json(events.into_iter().map(public_event_view).collect()))
}

/// Registers the signed-in account for an event and gives its event code (201; 200 with the
/// same code when already registered).
#[utoipa::path(post, path = "/api/v1/events/{id}/registration", tag = "registers", params(("id" = String, Path)),
    security(("bearer" = [])), responses((status = 201, body = RegistrationView), (status = 200, body = RegistrationView),
        (status = 401, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem, description = "`already_ended`: cancelled or over")))]
async fn register_for_event(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<(StatusCode, Json<RegistrationView>)> {
    let (r, new) = registers::register_for_event(&state.svc, &user.identity, &id, state.clock.now_ms()).await?;
    Ok((if new { StatusCode::CREATED } else { StatusCode::OK }, Json(registration_view(r))))
}

/// Withdraws the signed-in account's registration; its code stops working (204).
#[utoipa::path(delete, path = "/api/v1/events/{id}/registration", tag = "registers", params(("id" = String, Path)),
    security(("bearer" = [])), responses((status = 204), (status = 401, body = Problem), (status = 404, body = Problem)))]
async fn withdraw_registration(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<StatusCode> {
    registers::withdraw_registration(&state.svc, &user.identity, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The signed-in account's event registrations, with their codes.
#[utoipa::path(get, path = "/api/v1/me/events", tag = "registers", security(("bearer" = [])),
    responses((status = 200, body = Vec<RegistrationView>), (status = 401, body = Problem)))]
async fn my_events(State(state): State<AppState>, user: AuthUser) -> ApiResult<Json<Vec<RegistrationView>>> {
    Ok(Json(
        registers::my_registrations(&state.svc, &user.identity).await?.into_iter().map(registration_view).collect(),
    ))
}
