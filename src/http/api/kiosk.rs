//! Check-in: codes and QR images for makers, kiosks (pairing, scanning), operators'
//! manual check-in/out, sessions, and the ledger head.

use super::bookings::{Loaded, booking_view, find_booking, operates};
use super::catalog::{find_space, stored_policy};
use crate::domain::checkin::{self as codes, BookingAtKiosk, DenyReason, Outcome, Scanned};
use crate::domain::identity::Role;
use crate::domain::interval::Interval;
use crate::events::AccessEvent;
use crate::http::AppState;
use crate::http::error::{ApiError, ApiResult, Problem};
use crate::http::extract::{ApiJson, ApiPath, ApiQuery, AuthUser};
use crate::store::StoreError;
use crate::store::bookings::{BookingRow, NewBooking};
use crate::store::checkin::{Actor, KioskRow, MeteredSession};
use axum::extract::{FromRequestParts, State};
use axum::http::{StatusCode, header, request::Parts};
use axum::response::IntoResponse;
use axum::{Json, body::Bytes};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

const KIOSK_TOKEN_PREFIX: &str = "lbk_";
const PAIRING_MINUTES: i64 = 15;
/// A second read of the same code within this time (a scanner that fires twice) repeats
/// the check-in answer instead of checking out.
const REPEAT_MS: i64 = 3_000;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_kiosk, list_kiosks))
        .routes(routes!(revoke_kiosk))
        .routes(routes!(new_pairing_code))
        .routes(routes!(kiosk_scans))
        .routes(routes!(pair))
        .routes(routes!(kiosk_me))
        .routes(routes!(scan))
        .routes(routes!(decode_frame))
        .routes(routes!(booking_qr_svg))
        .routes(routes!(booking_qr_png))
        .routes(routes!(my_qr_svg))
        .routes(routes!(my_qr_png))
        .routes(routes!(my_code))
        .routes(routes!(manual_check_in))
        .routes(routes!(manual_check_out))
        .routes(routes!(booking_sessions))
        .routes(routes!(space_sessions))
        .routes(routes!(ledger_head))
}

// ---------- codes ----------

/// How a maker checks in: the QR text, the short typed form and the images.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CheckinCode {
    /// The text of the QR code (a signed token).
    pub qr: String,
    /// For people without a camera: type this at the kiosk.
    pub short: String,
    pub qr_svg: String,
    pub qr_png: String,
}

/// The check-in code of a booking, for its owner. `None` for bookings that can no longer check in.
pub(crate) fn code_of(state: &AppState, b: &BookingRow) -> Option<CheckinCode> {
    if !matches!(b.status.as_str(), "pending" | "confirmed" | "checked_in") {
        return None;
    }
    Some(CheckinCode {
        qr: codes::booking_code(&state.secret, &b.id, &b.checkin_nonce)?,
        short: codes::display_short(&b.checkin_nonce),
        qr_svg: format!("/api/v1/bookings/{}/qr.svg", b.id),
        qr_png: format!("/api/v1/bookings/{}/qr.png", b.id),
    })
}

/// The booking view for its owner: with the check-in code.
pub(crate) fn owner_view(state: &AppState, b: &BookingRow) -> ApiResult<super::bookings::BookingView> {
    let mut v = booking_view(b)?;
    v.checkin_code = code_of(state, b);
    Ok(v)
}

/// The booking view for `viewer`: with the check-in code when it is their own booking.
pub(crate) fn view_for(state: &AppState, viewer: &str, b: &BookingRow) -> ApiResult<super::bookings::BookingView> {
    if b.account_id == viewer { owner_view(state, b) } else { booking_view(b) }
}

fn qr(text: &str) -> ApiResult<qrcode::QrCode> {
    qrcode::QrCode::with_error_correction_level(text.as_bytes(), qrcode::EcLevel::M).map_err(ApiError::internal)
}

fn svg(text: &str) -> ApiResult<axum::response::Response> {
    let image = qr(text)?.render::<qrcode::render::svg::Color>().min_dimensions(256, 256).quiet_zone(true).build();
    Ok(([(header::CONTENT_TYPE, "image/svg+xml"), (header::CACHE_CONTROL, "private, no-store")], image).into_response())
}

fn png(text: &str) -> ApiResult<axum::response::Response> {
    let image = qr(text)?.render::<image::Luma<u8>>().min_dimensions(320, 320).quiet_zone(true).build();
    let mut out = std::io::Cursor::new(Vec::new());
    image::DynamicImage::ImageLuma8(image).write_to(&mut out, image::ImageFormat::Png).map_err(ApiError::internal)?;
    Ok(([(header::CONTENT_TYPE, "image/png"), (header::CACHE_CONTROL, "private, no-store")], out.into_inner())
        .into_response())
}

async fn own_live_booking(state: &AppState, user: &AuthUser, id: &str) -> ApiResult<String> {
    let b = find_booking(state, id).await?;
    if b.account_id != user.account.id {
        return Err(ApiError::not_found("booking"));
    }
    code_of(state, &b)
        .map(|c| c.qr)
        .ok_or_else(|| ApiError::conflict("not_checkable", format!("a {} booking has no check-in code", b.status)))
}

/// The booking's check-in QR code as SVG (its owner only).
#[utoipa::path(get, path = "/api/v1/bookings/{id}/qr.svg", tag = "check-in", params(("id" = String, Path)),
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, content_type = "image/svg+xml", description = "the QR code"), (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn booking_qr_svg(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<impl IntoResponse> {
    svg(&own_live_booking(&state, &user, &id).await?)
}

/// The booking's check-in QR code as PNG (its owner only).
#[utoipa::path(get, path = "/api/v1/bookings/{id}/qr.png", tag = "check-in", params(("id" = String, Path)),
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, content_type = "image/png", description = "the QR code"), (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn booking_qr_png(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<impl IntoResponse> {
    png(&own_live_booking(&state, &user, &id).await?)
}

fn personal(state: &AppState, user: &AuthUser) -> ApiResult<String> {
    codes::personal_code(&state.secret, &user.account.id)
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("account id {} is not a UUID", user.account.id)))
}

/// My personal code: at a kiosk it checks in my booking there, or starts a walk-up.
#[utoipa::path(get, path = "/api/v1/me/code", tag = "check-in", security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, body = CheckinCode), (status = 401, body = Problem)))]
async fn my_code(State(state): State<AppState>, user: AuthUser) -> ApiResult<Json<CheckinCode>> {
    Ok(Json(CheckinCode {
        qr: personal(&state, &user)?,
        short: String::new(),
        qr_svg: "/api/v1/me/qr.svg".into(),
        qr_png: "/api/v1/me/qr.png".into(),
    }))
}

/// My personal QR code as SVG.
#[utoipa::path(get, path = "/api/v1/me/qr.svg", tag = "check-in", security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, content_type = "image/svg+xml", description = "the QR code")))]
async fn my_qr_svg(State(state): State<AppState>, user: AuthUser) -> ApiResult<impl IntoResponse> {
    svg(&personal(&state, &user)?)
}

/// My personal QR code as PNG.
#[utoipa::path(get, path = "/api/v1/me/qr.png", tag = "check-in", security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, content_type = "image/png", description = "the QR code")))]
async fn my_qr_png(State(state): State<AppState>, user: AuthUser) -> ApiResult<impl IntoResponse> {
    png(&personal(&state, &user)?)
}

// ---------- kiosks (operators) ----------

#[derive(Debug, Serialize, ToSchema)]
pub struct KioskView {
    pub id: String,
    pub space_id: String,
    pub resource_id: Option<String>,
    pub name: String,
    /// `awaiting_pairing`, `paired` or `revoked`.
    pub state: String,
    pub paired_at: Option<String>,
    pub revoked_at: Option<String>,
    pub last_scan_at: Option<String>,
    pub created_at: String,
}

fn kiosk_view(k: &KioskRow) -> KioskView {
    let state = if k.revoked_at.is_some() {
        "revoked"
    } else if k.paired_at.is_some() && k.pairing_expires_at.is_none() {
        "paired"
    } else {
        "awaiting_pairing"
    };
    KioskView {
        id: k.id.clone(),
        space_id: k.space_id.clone(),
        resource_id: k.resource_id.clone(),
        name: k.name.clone(),
        state: state.into(),
        paired_at: k.paired_at.map(crate::clock::rfc3339),
        revoked_at: k.revoked_at.map(crate::clock::rfc3339),
        last_scan_at: k.last_seen_at.map(crate::clock::rfc3339),
        created_at: crate::clock::rfc3339(k.created_at),
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateKiosk {
    /// Where it stands, e.g. "Front door" or "Laser room".
    name: String,
    /// A kiosk at one resource: walk-ups scanned here go to it.
    #[serde(default)]
    resource: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PairingCode {
    pub kiosk: KioskView,
    /// Type this into the kiosk page once, within 15 minutes.
    pub pairing_code: String,
    pub expires_at: String,
}

async fn operated_space(state: &AppState, user: &AuthUser, slug: &str) -> ApiResult<crate::store::catalog::SpaceRow> {
    let space = find_space(state, slug).await?;
    if !operates(user, &space.id) {
        return Err(ApiError::forbidden("this needs the operator role for the space"));
    }
    Ok(space)
}

fn fresh_pairing_code() -> ApiResult<String> {
    let raw = crate::auth::random_bytes::<8>().map_err(ApiError::internal)?;
    let mut ten = [0u8; codes::SHORT_LEN];
    ten[..8].copy_from_slice(&raw);
    Ok(codes::short_code(&ten)[..8].to_owned())
}

/// Registers a kiosk for a space and returns its one-time pairing code.
#[utoipa::path(post, path = "/api/v1/spaces/{slug}/kiosks", tag = "check-in", params(("slug" = String, Path)),
    request_body = CreateKiosk, security(("bearer" = [])),
    responses((status = 201, body = PairingCode), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn create_kiosk(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(slug): ApiPath<String>,
    ApiJson(req): ApiJson<CreateKiosk>,
) -> ApiResult<(StatusCode, Json<PairingCode>)> {
    let space = operated_space(&state, &user, &slug).await?;
    let name = req.name.trim();
    if name.is_empty() || name.chars().count() > 80 {
        return Err(ApiError::invalid_field("name", "invalid_length", "give a name of 1 to 80 characters"));
    }
    if let Some(r) = &req.resource {
        match state.db.resource(r).await {
            Ok(res) if res.space_id == space.id => {}
            Ok(_) | Err(StoreError::NotFound) => {
                return Err(ApiError::invalid_field(
                    "resource",
                    "unknown_resource",
                    "no resource of this space has this id",
                ));
            }
            Err(e) => return Err(e.into()),
        }
    }
    let code = fresh_pairing_code()?;
    let now = state.clock.now_ms();
    let expires = now + PAIRING_MINUTES * 60_000;
    let id = state
        .db
        .insert_kiosk(
            &space.id,
            req.resource.as_deref(),
            name,
            &crate::auth::token_hash(&code),
            expires,
            &user.account.id,
            now,
        )
        .await?;
    let kiosk = state.db.kiosk(&id).await?;
    tracing::info!(kiosk = %id, space = %space.slug, "kiosk registered");
    Ok((
        StatusCode::CREATED,
        Json(PairingCode { kiosk: kiosk_view(&kiosk), pairing_code: code, expires_at: crate::clock::rfc3339(expires) }),
    ))
}

/// The kiosks of a space.
#[utoipa::path(get, path = "/api/v1/spaces/{slug}/kiosks", tag = "check-in", params(("slug" = String, Path)),
    security(("bearer" = [])), responses((status = 200, body = Vec<KioskView>), (status = 403, body = Problem)))]
async fn list_kiosks(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(slug): ApiPath<String>,
) -> ApiResult<Json<Vec<KioskView>>> {
    let space = operated_space(&state, &user, &slug).await?;
    Ok(Json(state.db.kiosks_of(&space.id).await?.iter().map(kiosk_view).collect()))
}

async fn operated_kiosk(state: &AppState, user: &AuthUser, id: &str) -> ApiResult<KioskRow> {
    let k = state.db.kiosk(id).await.map_err(|e| match e {
        StoreError::NotFound => ApiError::not_found("kiosk"),
        other => other.into(),
    })?;
    if !operates(user, &k.space_id) {
        return Err(ApiError::not_found("kiosk"));
    }
    Ok(k)
}

/// Revokes a kiosk: its device token stops working at once.
#[utoipa::path(post, path = "/api/v1/kiosks/{id}/revoke", tag = "check-in", params(("id" = String, Path)),
    security(("bearer" = [])), responses((status = 200, body = KioskView), (status = 404, body = Problem)))]
async fn revoke_kiosk(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<KioskView>> {
    let k = operated_kiosk(&state, &user, &id).await?;
    state.db.revoke_kiosk(&k.id, state.clock.now_ms()).await?;
    tracing::info!(kiosk = %k.id, by = %user.account.id, "kiosk revoked");
    Ok(Json(kiosk_view(&state.db.kiosk(&k.id).await?)))
}

/// A new pairing code for a kiosk (a replaced tablet); the old device token stops working.
#[utoipa::path(post, path = "/api/v1/kiosks/{id}/pairing-code", tag = "check-in", params(("id" = String, Path)),
    security(("bearer" = [])), responses((status = 200, body = PairingCode), (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn new_pairing_code(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<PairingCode>> {
    let k = operated_kiosk(&state, &user, &id).await?;
    let code = fresh_pairing_code()?;
    let expires = state.clock.now_ms() + PAIRING_MINUTES * 60_000;
    if !state.db.repair_kiosk(&k.id, &crate::auth::token_hash(&code), expires).await? {
        return Err(ApiError::conflict("kiosk_revoked", "a revoked kiosk cannot be paired again; register a new one"));
    }
    let k = state.db.kiosk(&k.id).await?;
    Ok(Json(PairingCode { kiosk: kiosk_view(&k), pairing_code: code, expires_at: crate::clock::rfc3339(expires) }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ScanRecord {
    pub booking_id: Option<String>,
    pub decision: String,
    pub reason: Option<String>,
    pub scanned_at: String,
}

/// The latest scans of a kiosk (granted and denied), newest first.
#[utoipa::path(get, path = "/api/v1/kiosks/{id}/scans", tag = "check-in", params(("id" = String, Path)),
    security(("bearer" = [])), responses((status = 200, body = Vec<ScanRecord>), (status = 404, body = Problem)))]
async fn kiosk_scans(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<Vec<ScanRecord>>> {
    let k = operated_kiosk(&state, &user, &id).await?;
    let rows = state.db.scans_of(&k.id, 200).await?;
    Ok(Json(
        rows.into_iter()
            .map(|(booking_id, decision, reason, at)| ScanRecord {
                booking_id,
                decision,
                reason,
                scanned_at: crate::clock::rfc3339(at),
            })
            .collect(),
    ))
}

// ---------- the kiosk device ----------

/// A paired, unrevoked kiosk (its device token in `Authorization: Bearer lbk_…`).
pub struct KioskAuth(pub KioskRow);

impl FromRequestParts<AppState> for KioskAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let token = crate::http::extract::request_token(parts)
            .filter(|t| t.starts_with(KIOSK_TOKEN_PREFIX))
            .ok_or_else(|| {
                ApiError::new(
                    StatusCode::UNAUTHORIZED,
                    "kiosk_unauthenticated",
                    "this needs a kiosk's device token; pair the kiosk first",
                )
            })?;
        let k = state.db.kiosk_for_token(&crate::auth::token_hash(&token)).await?.ok_or_else(|| {
            ApiError::new(
                StatusCode::UNAUTHORIZED,
                "kiosk_revoked",
                "this kiosk was revoked or re-paired; pair it again",
            )
        })?;
        Ok(KioskAuth(k))
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PairRequest {
    pairing_code: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct KioskSession {
    /// The device token: send it as `Authorization: Bearer …`. Shown once.
    pub token: String,
    pub kiosk: KioskHello,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct KioskHello {
    pub id: String,
    pub name: String,
    pub space: String,
    pub space_name_zh: String,
    pub space_name_en: String,
    pub timezone: String,
}

async fn hello(state: &AppState, k: &KioskRow) -> ApiResult<KioskHello> {
    let space = state.db.space(&k.space_id).await?;
    Ok(KioskHello {
        id: k.id.clone(),
        name: k.name.clone(),
        space: space.slug,
        space_name_zh: space.name_zh,
        space_name_en: space.name_en,
        timezone: space.timezone,
    })
}

/// Exchanges a pairing code for the kiosk's device token (once).
#[utoipa::path(post, path = "/api/v1/kiosk/pair", tag = "check-in", request_body = PairRequest,
    responses((status = 200, body = KioskSession), (status = 401, body = Problem)))]
async fn pair(State(state): State<AppState>, ApiJson(req): ApiJson<PairRequest>) -> ApiResult<Json<KioskSession>> {
    let code: String =
        req.pairing_code.chars().filter(|c| c.is_ascii_alphanumeric()).map(|c| c.to_ascii_uppercase()).collect();
    let token = format!(
        "{KIOSK_TOKEN_PREFIX}{}",
        crate::auth::to_hex(&crate::auth::random_bytes::<32>().map_err(ApiError::internal)?)
    );
    let now = state.clock.now_ms();
    let Some(id) = state.db.pair_kiosk(&crate::auth::token_hash(&code), &crate::auth::token_hash(&token), now).await?
    else {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_pairing_code",
            "this pairing code is unknown, used or expired; ask an operator for a new one",
        ));
    };
    let k = state.db.kiosk(&id).await?;
    tracing::info!(kiosk = %id, "kiosk paired");
    Ok(Json(KioskSession { token, kiosk: hello(&state, &k).await? }))
}

/// Who this kiosk is (the kiosk page shows it).
#[utoipa::path(get, path = "/api/v1/kiosk/me", tag = "check-in", security(("bearer" = [])),
    responses((status = 200, body = KioskHello), (status = 401, body = Problem)))]
async fn kiosk_me(State(state): State<AppState>, KioskAuth(k): KioskAuth) -> ApiResult<Json<KioskHello>> {
    Ok(Json(hello(&state, &k).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScanRequest {
    /// The QR text, a personal code, or a typed short code.
    code: String,
}

/// The booking named in a kiosk's answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct ScannedBooking {
    pub id: String,
    pub resource_zh: String,
    pub resource_en: String,
    pub unit: String,
    /// Local start and end, `HH:MM`.
    pub from_local: String,
    pub until_local: String,
}

/// What the kiosk shows.
#[derive(Debug, Serialize, ToSchema)]
pub struct ScanResult {
    /// `check_in`, `check_out` or `deny`.
    pub decision: String,
    /// Why a scan was denied: `unknown`, `forged`, `cancelled`, `wrong_space`, `too_early`,
    /// `no_show`, `already_checked_out`, `pending_approval`, `training_expired`, `no_booking`.
    pub reason: Option<String>,
    pub message_zh: String,
    pub message_en: String,
    pub booking: Option<ScannedBooking>,
    /// For `too_early`: when check-in opens (RFC 3339 UTC) ...
    pub allowed_from: Option<String>,
    /// ... and the same as local `HH:MM`.
    pub allowed_from_local: Option<String>,
    pub session: Option<String>,
    /// A walk-up created this booking.
    pub walk_up: bool,
}

fn hhmm(tz: chrono_tz::Tz, at: i64) -> String {
    crate::domain::calendar::utc_to_local(tz, at).format("%H:%M").to_string()
}

fn scanned(b: &BookingRow) -> (ScannedBooking, chrono_tz::Tz) {
    let tz: chrono_tz::Tz = b.timezone.parse().unwrap_or(chrono_tz::UTC);
    (
        ScannedBooking {
            id: b.id.clone(),
            resource_zh: b.resource_name_zh.clone(),
            resource_en: b.resource_name_en.clone(),
            unit: b.unit_label.clone(),
            from_local: hhmm(tz, b.starts_at),
            until_local: hhmm(tz, b.ends_at),
        },
        tz,
    )
}

fn deny_text(r: DenyReason, at: Option<&str>) -> (String, String) {
    let at = at.unwrap_or("");
    let (zh, en) = match r {
        DenyReason::Unknown => ("无法识别此二维码", "This code is not recognised"),
        DenyReason::Forged => ("二维码无效（签名不符）", "This code is not valid (bad signature)"),
        DenyReason::Cancelled => ("此预约已取消", "This booking was cancelled"),
        DenyReason::WrongSpace => ("此预约不在本空间", "This booking is for another space"),
        DenyReason::TooEarly => {
            return (format!("还太早：{at} 起可签到"), format!("Too early: check-in opens at {at}"));
        }
        DenyReason::NoShow => ("已超过签到时间，预约已释放", "Check-in time has passed; the booking was released"),
        DenyReason::AlreadyCheckedOut => ("此预约已签退", "This booking is already checked out"),
        DenyReason::PendingApproval => ("此预约尚待审批", "This booking is still waiting for approval"),
        DenyReason::TrainingExpired => ("所需培训已过期", "A required training has expired"),
        DenyReason::NoBooking => {
            ("现在没有可签到的预约，也无空闲设备", "No booking to check in now, and nothing free to walk up to")
        }
        DenyReason::NotAllowed => ("不允许此操作", "Not allowed"),
    };
    (zh.to_owned(), en.to_owned())
}

async fn deny(
    state: &AppState,
    k: &KioskRow,
    b: Option<&BookingRow>,
    reason: DenyReason,
    at: Option<i64>,
    now: i64,
) -> ApiResult<Json<ScanResult>> {
    state.db.record_scan(&k.id, &k.space_id, b.map(|b| b.id.as_str()), reason.code(), now).await?;
    let view = b.map(scanned);
    let tz = view.as_ref().map_or(chrono_tz::UTC, |(_, tz)| *tz);
    let local = at.map(|t| hhmm(tz, t));
    let (zh, en) = deny_text(reason, local.as_deref());
    tracing::info!(kiosk = %k.id, reason = reason.code(), booking = ?b.map(|b| &b.id), "scan denied");
    Ok(Json(ScanResult {
        decision: "deny".into(),
        reason: Some(reason.code().into()),
        message_zh: zh,
        message_en: en,
        booking: view.map(|(v, _)| v),
        allowed_from: at.map(crate::clock::rfc3339),
        allowed_from_local: local,
        session: None,
        walk_up: false,
    }))
}

fn granted(b: &BookingRow, session: &MeteredSession, check_in: bool, walk_up: bool) -> Json<ScanResult> {
    let (view, _) = scanned(b);
    let (zh, en) = if check_in {
        (
            format!("已签到：{} {}，至 {}", b.resource_name_zh, b.unit_label, view.until_local),
            format!("Checked in: {} {}, until {}", b.resource_name_en, b.unit_label, view.until_local),
        )
    } else {
        (
            format!("已签退：{} {}", b.resource_name_zh, b.unit_label),
            format!("Checked out: {} {}", b.resource_name_en, b.unit_label),
        )
    };
    Json(ScanResult {
        decision: if check_in { "check_in" } else { "check_out" }.into(),
        reason: None,
        message_zh: zh,
        message_en: en,
        booking: Some(view),
        allowed_from: None,
        allowed_from_local: None,
        session: Some(session.id.clone()),
        walk_up,
    })
}

/// Publishes the access event of a committed check-in or check-out.
pub(crate) async fn announce(state: &AppState, b: &BookingRow, s: &MeteredSession, check_in: bool, now: i64) {
    let event = AccessEvent {
        action: if check_in { "check_in" } else { "check_out" }.into(),
        space: b.space_slug.clone(),
        unit: b.unit_id.clone(),
        unit_label: b.unit_label.clone(),
        resource: b.resource_id.clone(),
        maker: b.account_id.clone(),
        booking: b.id.clone(),
        session: s.id.clone(),
        until: check_in.then(|| crate::clock::rfc3339(b.ends_at)),
        at: crate::clock::rfc3339(now),
        by: if check_in { s.opened_by.clone() } else { s.closed_by.clone().unwrap_or_default() },
    };
    state.events.publish(&state.db, &event, now).await;
}

async fn trainings_valid(state: &AppState, b: &BookingRow, required: &[String], now: i64) -> ApiResult<bool> {
    if required.is_empty() {
        return Ok(true);
    }
    let holds = state.db.training_holds(&b.account_id).await?;
    Ok(required.iter().all(|slug| holds.iter().any(|(s, exp)| s == slug && exp.is_none_or(|e| e > now))))
}

/// What the kiosk rule says about `b` at `now`.
async fn outcome(state: &AppState, k: &KioskRow, b: &BookingRow, now: i64) -> ApiResult<Outcome> {
    let policy = super::catalog::policy_of(&b.resource_id, &b.resource_kind, &b.resource_policy)?;
    let facts = BookingAtKiosk {
        status: &b.status,
        starts_at: b.starts_at,
        ends_at: b.ends_at,
        same_space: b.space_id == k.space_id,
        checkin_opens_minutes_before: policy.checkin_opens_minutes_before,
        no_show_grace_minutes: policy.no_show_grace_minutes,
        trainings_valid: trainings_valid(state, b, &policy.required_trainings, now).await?,
    };
    Ok(codes::decide(&facts, now))
}

async fn act(state: &AppState, k: &KioskRow, b: BookingRow, now: i64, walk_up: bool) -> ApiResult<Json<ScanResult>> {
    let actor =
        Actor { how: if walk_up { "walk_up" } else { "kiosk" }, kiosk_id: Some(&k.id), operator_id: None, note: None };
    match outcome(state, k, &b, now).await? {
        Outcome::CheckIn => match state.db.check_in(&b, &actor, now).await? {
            Some(s) => {
                tracing::info!(kiosk = %k.id, booking = %b.id, session = %s.id, "checked in");
                announce(state, &b, &s, true, now).await;
                Ok(granted(&b, &s, true, walk_up))
            }
            // Another kiosk or a job changed it since we read it: decide on what is there now.
            None => {
                let fresh = state.db.booking(&b.id).await?;
                match outcome(state, k, &fresh, now).await? {
                    Outcome::Deny(r, at) => deny(state, k, Some(&fresh), r, at, now).await,
                    _ => repeat_check_in(state, k, &fresh, now).await,
                }
            }
        },
        Outcome::CheckOut if now - b.updated_at < REPEAT_MS => repeat_check_in(state, k, &b, now).await,
        Outcome::CheckOut => match state.db.check_out(&b.id, &actor, now, now).await? {
            Some(s) => {
                tracing::info!(kiosk = %k.id, booking = %b.id, session = %s.id, "checked out");
                announce(state, &b, &s, false, now).await;
                Ok(granted(&b, &s, false, false))
            }
            None => deny(state, k, Some(&b), DenyReason::AlreadyCheckedOut, None, now).await,
        },
        Outcome::Deny(r, at) => deny(state, k, Some(&b), r, at, now).await,
    }
}

/// A scanner that read the code twice: answer the check-in again, change nothing.
async fn repeat_check_in(state: &AppState, k: &KioskRow, b: &BookingRow, now: i64) -> ApiResult<Json<ScanResult>> {
    match state.db.metered_sessions_of(&b.id).await?.into_iter().rev().find(|s| s.ended_at.is_none()) {
        Some(s) if b.status == "checked_in" => Ok(granted(b, &s, true, false)),
        _ => deny(state, k, Some(b), DenyReason::AlreadyCheckedOut, None, now).await,
    }
}

/// A kiosk read a code: check in, check out, or deny with a reason. Every scan is recorded.
#[utoipa::path(post, path = "/api/v1/kiosk/scan", tag = "check-in", request_body = ScanRequest, security(("bearer" = [])),
    responses((status = 200, body = ScanResult, description = "the decision (a denial is a decision, not an error)"),
              (status = 401, body = Problem, description = "`kiosk_unauthenticated` or `kiosk_revoked`")))]
async fn scan(
    State(state): State<AppState>,
    KioskAuth(k): KioskAuth,
    ApiJson(req): ApiJson<ScanRequest>,
) -> ApiResult<Json<ScanResult>> {
    let now = state.clock.now_ms();
    if req.code.len() > 512 {
        return deny(&state, &k, None, DenyReason::Unknown, None, now).await;
    }
    match codes::parse(&state.secret, &req.code) {
        Scanned::Unknown => deny(&state, &k, None, DenyReason::Unknown, None, now).await,
        Scanned::ForgedPerson => deny(&state, &k, None, DenyReason::Forged, None, now).await,
        Scanned::Booking { id, tag } => match state.db.booking(&id).await {
            Err(StoreError::NotFound) => deny(&state, &k, None, DenyReason::Unknown, None, now).await,
            Err(e) => Err(e.into()),
            Ok(b) if !codes::verify_booking(&state.secret, &b.id, &b.checkin_nonce, &tag) => {
                deny(&state, &k, None, DenyReason::Forged, None, now).await
            }
            Ok(b) => act(&state, &k, b, now, false).await,
        },
        Scanned::Short(short) => {
            let mut found = state.db.bookings_by_nonce(&short).await?;
            if found.len() == 1 {
                act(&state, &k, found.remove(0), now, false).await
            } else {
                deny(&state, &k, None, DenyReason::Unknown, None, now).await
            }
        }
        Scanned::Person { account_id } => personal_scan(&state, &k, &account_id, now).await,
    }
}

/// A personal code: check out what is checked in, else check in what is due, else walk up.
async fn personal_scan(state: &AppState, k: &KioskRow, account: &str, now: i64) -> ApiResult<Json<ScanResult>> {
    let near = state.db.bookings_near(account, &k.space_id, now - 86_400_000, now + 86_400_000).await?;
    if let Some(b) = near.iter().find(|b| b.status == "checked_in") {
        return act(state, k, b.clone(), now, false).await;
    }
    for b in &near {
        if outcome(state, k, b, now).await? == Outcome::CheckIn {
            return act(state, k, b.clone(), now, false).await;
        }
    }
    match walk_up(state, k, account, now).await? {
        Some(b) => act(state, k, b, now, true).await,
        None => deny(state, k, None, DenyReason::NoBooking, None, now).await,
    }
}

/// Books a unit that is free from now (until the opening window closes, the next booking,
/// or the longest booking allowed) on the kiosk's resource, or a walk-up resource of the space.
async fn walk_up(state: &AppState, k: &KioskRow, account: &str, now: i64) -> ApiResult<Option<BookingRow>> {
    use crate::domain::calendar::MINUTE_MS;
    let resources = match &k.resource_id {
        Some(r) => vec![state.db.resource(r).await?],
        None => state.db.resources_of(&k.space_id).await?,
    };
    let space = state.db.space(&k.space_id).await?;
    let start = now - now.rem_euclid(MINUTE_MS);
    for resource in resources.iter().filter(|r| r.archived_at.is_none()) {
        let policy = stored_policy(resource)?;
        if !policy.walk_ups_allowed || policy.requires_approval {
            continue;
        }
        let longest =
            Interval::new(start, start + policy.max_minutes.max(1) * MINUTE_MS).map_err(ApiError::internal)?;
        let loaded: Loaded = super::bookings::load_in(state, resource, space.clone(), longest).await?;
        let Some(window) = loaded.open().into_iter().find(|w| w.contains_instant(start)) else { continue };
        let end_cap = window.end().min(longest.end());
        let mut best: Option<(&str, i64)> = None;
        for u in &loaded.units {
            let busy = u.blocks.iter().chain(u.closed.iter());
            // The resource's buffers hold for walk-ups too: set-up before, cool-down after.
            let (before, after) = (policy.buffer_before_minutes * MINUTE_MS, policy.buffer_after_minutes * MINUTE_MS);
            let lead = Interval::new(start - before, start + 1).map_err(ApiError::internal)?;
            if busy.clone().any(|b| b.overlaps(&lead)) {
                continue;
            }
            let until = busy.filter(|b| b.start() > start).map(|b| b.start() - after).fold(end_cap, i64::min);
            if until - start >= policy.min_minutes.clamp(1, 15) * MINUTE_MS && best.is_none_or(|(_, t)| until > t) {
                best = Some((u.id.as_str(), until));
            }
        }
        let Some((unit, until)) = best else { continue };
        let span = Interval::new(start, until).map_err(ApiError::internal)?;
        let facts = super::bookings::maker(state, account, resource, &loaded, start).await?;
        let blocking: Vec<_> = loaded
            .violations(&facts, span, Some(unit), now)
            .into_iter()
            .filter(|v| !matches!(v.rule.as_str(), "not_on_slot" | "too_short" | "too_little_notice" | "in_the_past"))
            .collect();
        if !blocking.is_empty() {
            tracing::info!(account, resource = %resource.id, rules = ?blocking.iter().map(|v| &v.rule).collect::<Vec<_>>(), "walk-up refused");
            continue;
        }
        let nonce = super::bookings::nonce()?;
        let new = NewBooking {
            unit_id: unit,
            resource_id: &resource.id,
            space_id: &space.id,
            account_id: account,
            organisation_id: None,
            status: "confirmed",
            span,
            blocked: span.widened(policy.buffer_before_minutes * MINUTE_MS, policy.buffer_after_minutes * MINUTE_MS),
            purpose: "walk-up",
            checkin_nonce: &nonce,
            now,
        };
        match state.db.insert_bookings(std::slice::from_ref(&new), "walk_up", None, true).await {
            Ok((_, ids)) => {
                if let Some(Some(id)) = ids.into_iter().next() {
                    return Ok(Some(state.db.booking(&id).await?));
                }
            }
            Err(StoreError::Overlap) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Ok(None)
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct FrameQuery {
    width: u32,
    height: u32,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Decoded {
    /// The text of the first QR code found, if any.
    pub text: Option<String>,
}

/// Decodes one camera frame for kiosks whose browser has no `BarcodeDetector`. The body is
/// `width × height` bytes of 8-bit grey, row by row (at most 640 × 480).
#[utoipa::path(post, path = "/api/v1/kiosk/decode", tag = "check-in", params(FrameQuery), request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    security(("bearer" = [])), responses((status = 200, body = Decoded), (status = 422, body = Problem)))]
async fn decode_frame(
    KioskAuth(_k): KioskAuth,
    ApiQuery(q): ApiQuery<FrameQuery>,
    body: Bytes,
) -> ApiResult<Json<Decoded>> {
    let (w, h) = (q.width as usize, q.height as usize);
    if w == 0 || h == 0 || w > 640 || h > 480 || body.len() != w * h {
        return Err(ApiError::invalid_field(
            "body",
            "bad_frame",
            "send width × height grey bytes, at most 640 × 480, with width and height in the query",
        ));
    }
    let text = tokio::task::spawn_blocking(move || {
        let mut img = rqrr::PreparedImage::prepare_from_greyscale(w, h, |x, y| body[y * w + x]);
        img.detect_grids().into_iter().find_map(|g| g.decode().ok().map(|(_, text)| text))
    })
    .await
    .map_err(ApiError::internal)?;
    Ok(Json(Decoded { text }))
}

// ---------- operators: by hand ----------

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ManualBody {
    /// Why this was done by hand (kept in the ledger).
    reason: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SessionView {
    pub id: String,
    pub booking_id: Option<String>,
    pub unit_id: String,
    pub account_id: String,
    pub started_at: String,
    pub ended_at: Option<String>,
    /// `kiosk`, `operator` or `walk_up`.
    pub opened_by: String,
    /// `kiosk`, `operator` or `automatic`.
    pub closed_by: Option<String>,
    pub kiosk_id: Option<String>,
    pub note: Option<String>,
    /// Minutes metered (to now for an open session).
    pub minutes: i64,
    /// Minutes past the booking's end.
    pub overstay_minutes: i64,
}

pub(crate) fn session_view(s: &MeteredSession, now: i64) -> SessionView {
    SessionView {
        id: s.id.clone(),
        booking_id: s.booking_id.clone(),
        unit_id: s.unit_id.clone(),
        account_id: s.account_id.clone(),
        started_at: crate::clock::rfc3339(s.started_at),
        ended_at: s.ended_at.map(crate::clock::rfc3339),
        opened_by: s.opened_by.clone(),
        closed_by: s.closed_by.clone(),
        kiosk_id: s.kiosk_id.clone(),
        note: s.note.clone(),
        minutes: (s.ended_at.unwrap_or(now) - s.started_at).max(0) / 60_000,
        overstay_minutes: s.overstay_ms / 60_000,
    }
}

fn reason_of(body: &ManualBody) -> ApiResult<&str> {
    let r = body.reason.trim();
    if r.is_empty() || r.chars().count() > 500 {
        return Err(ApiError::invalid_field("reason", "required", "say why, in 1 to 500 characters"));
    }
    Ok(r)
}

/// An operator checks a booking in or out by hand: the booking, its space's operator, a reason.
async fn by_hand(
    state: &AppState,
    user: &AuthUser,
    id: &str,
    body: &ManualBody,
    check_in: bool,
) -> ApiResult<Json<SessionView>> {
    let b = find_booking(state, id).await?;
    if !operates(user, &b.space_id) {
        return Err(ApiError::forbidden("this needs the operator role for the booking's space"));
    }
    let reason = reason_of(body)?;
    let now = state.clock.now_ms();
    let actor = Actor { how: "operator", kiosk_id: None, operator_id: Some(&user.account.id), note: Some(reason) };
    let s =
        if check_in {
            state.db.check_in_manual(&b, &actor, now).await?.ok_or_else(|| {
                ApiError::conflict("not_checkable", format!("a {} booking cannot be checked in", b.status))
            })?
        } else {
            state.db.check_out(&b.id, &actor, now, now).await?.ok_or_else(|| {
                ApiError::conflict("not_checked_in", format!("a {} booking is not checked in", b.status))
            })?
        };
    announce(state, &b, &s, check_in, now).await;
    Ok(Json(session_view(&s, now)))
}

/// An operator checks a booking in by hand (a maker without a phone, a broken kiosk).
/// Works for a confirmed booking at any time, and corrects a no-show.
#[utoipa::path(post, path = "/api/v1/bookings/{id}/check-in", tag = "check-in", params(("id" = String, Path)),
    request_body = ManualBody, security(("bearer" = [])),
    responses((status = 200, body = SessionView), (status = 403, body = Problem), (status = 409, body = Problem)))]
async fn manual_check_in(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<ManualBody>,
) -> ApiResult<Json<SessionView>> {
    by_hand(&state, &user, &id, &body, true).await
}

/// An operator checks a booking out by hand, with a reason.
#[utoipa::path(post, path = "/api/v1/bookings/{id}/check-out", tag = "check-in", params(("id" = String, Path)),
    request_body = ManualBody, security(("bearer" = [])),
    responses((status = 200, body = SessionView), (status = 403, body = Problem), (status = 409, body = Problem)))]
async fn manual_check_out(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<ManualBody>,
) -> ApiResult<Json<SessionView>> {
    by_hand(&state, &user, &id, &body, false).await
}

/// The metered sessions of a booking (its owner, the space's operators, reviewers).
#[utoipa::path(get, path = "/api/v1/bookings/{id}/sessions", tag = "check-in", params(("id" = String, Path)),
    security(("bearer" = []), ("cookie" = [])), responses((status = 200, body = Vec<SessionView>), (status = 404, body = Problem)))]
async fn booking_sessions(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<Vec<SessionView>>> {
    let b = find_booking(&state, &id).await?;
    if b.account_id != user.account.id && !operates(&user, &b.space_id) && !user.has_role(Role::Reviewer) {
        return Err(ApiError::not_found("booking"));
    }
    let now = state.clock.now_ms();
    Ok(Json(state.db.metered_sessions_of(&b.id).await?.iter().map(|s| session_view(s, now)).collect()))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct SessionsQuery {
    /// RFC 3339; default: 7 days ago.
    from: Option<String>,
    /// RFC 3339; default: now.
    to: Option<String>,
}

/// The metered sessions of a space that started in a window (operators, reviewers).
#[utoipa::path(get, path = "/api/v1/spaces/{slug}/sessions", tag = "check-in", params(("slug" = String, Path), SessionsQuery),
    security(("bearer" = [])), responses((status = 200, body = Vec<SessionView>), (status = 403, body = Problem)))]
async fn space_sessions(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(slug): ApiPath<String>,
    ApiQuery(q): ApiQuery<SessionsQuery>,
) -> ApiResult<Json<Vec<SessionView>>> {
    let space = find_space(&state, &slug).await?;
    if !operates(&user, &space.id) && !user.has_role(Role::Reviewer) {
        return Err(ApiError::forbidden("this needs the operator role for the space, or reviewer"));
    }
    let now = state.clock.now_ms();
    let parse = |name: &str, v: &Option<String>, default: i64| -> ApiResult<i64> {
        match v {
            None => Ok(default),
            Some(t) => crate::domain::calendar::parse_instant(name, t)
                .map_err(|e| ApiError::invalid_field(&e.field, &e.code, &e.message)),
        }
    };
    let from = parse("from", &q.from, now - 7 * 86_400_000)?;
    let to = parse("to", &q.to, now + 1)?;
    let rows = state.db.metered_sessions(Some(&space.id), from, to, 5000).await?;
    Ok(Json(rows.iter().map(|s| session_view(s, now)).collect()))
}

// ---------- ledger ----------

#[derive(Debug, Serialize, ToSchema)]
pub struct LedgerHead {
    /// Entries in the ledger.
    pub count: i64,
    /// SHA-256 (hex) of the newest entry; write it down and compare later.
    pub head: String,
    pub at: String,
}

/// The head of the evidence ledger (reviewers, operators and admins).
#[utoipa::path(get, path = "/api/v1/ledger/head", tag = "check-in", security(("bearer" = [])),
    responses((status = 200, body = LedgerHead), (status = 403, body = Problem)))]
async fn ledger_head(State(state): State<AppState>, user: AuthUser) -> ApiResult<Json<LedgerHead>> {
    if !user.has_role(Role::Reviewer) && !user.is_admin() && user.operated_spaces().next().is_none() {
        return Err(ApiError::forbidden("this needs the reviewer, operator or admin role"));
    }
    let (count, head) = state.db.ledger_head().await?;
    Ok(Json(LedgerHead { count, head, at: crate::clock::rfc3339(state.clock.now_ms()) }))
}
