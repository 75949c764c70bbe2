//! Check-in: codes and QR images for makers, kiosks (pairing, scanning), operators'
//! manual check-in/out, sessions, and the ledger head. The rules live in
//! [`crate::service::checkin`]; here are the answers' shapes, the kiosk's words in both
//! languages, and the QR images.

use crate::domain::checkin::{DenyReason, ScanDecision};
use crate::http::AppState;
use crate::http::error::{ApiError, ApiResult, Problem};
use crate::http::extract::{ApiJson, ApiPath, ApiQuery, AuthUser, ClientAddr, KioskAuth};
use crate::service::checkin::{self, CreateKiosk, ManualBody, Pairing, Scan};
use crate::service::powers;
use crate::store::bookings::BookingRow;
use crate::store::catalog::SpaceRow;
use crate::store::checkin::{KioskRow, MeteredSession};
use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

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
        .routes(routes!(event_qr_svg))
        .routes(routes!(my_code))
        .routes(routes!(manual_check_in))
        .routes(routes!(manual_check_out))
        .routes(routes!(booking_sessions))
        .routes(routes!(space_sessions))
        .routes(routes!(ledger_head))
}

// ---------- codes ----------

fn qr(text: &str) -> ApiResult<qrcode::QrCode> {
    qrcode::QrCode::with_error_correction_level(text.as_bytes(), qrcode::EcLevel::M).map_err(ApiError::internal)
}

fn svg(text: &str) -> ApiResult<axum::response::Response> {
    let image = crate::http::views::qr_svg(text, 256)?;
    Ok(([(header::CONTENT_TYPE, "image/svg+xml"), (header::CACHE_CONTROL, "private, no-store")], image).into_response())
}

fn png(text: &str) -> ApiResult<axum::response::Response> {
    let image = qr(text)?.render::<image::Luma<u8>>().min_dimensions(320, 320).quiet_zone(true).build();
    let mut out = std::io::Cursor::new(Vec::new());
    image::DynamicImage::ImageLuma8(image).write_to(&mut out, image::ImageFormat::Png).map_err(ApiError::internal)?;
    Ok(([(header::CONTENT_TYPE, "image/png"), (header::CACHE_CONTROL, "private, no-store")], out.into_inner())
        .into_response())
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
    svg(&checkin::own_booking_code(&state.svc, &user.identity, &id).await?)
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
    png(&checkin::own_booking_code(&state.svc, &user.identity, &id).await?)
}

/// My personal code: at a kiosk it checks in my booking there, or starts a walk-up.
#[utoipa::path(get, path = "/api/v1/me/code", tag = "check-in", security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, body = crate::http::views::CheckinCode), (status = 401, body = Problem)))]
async fn my_code(State(state): State<AppState>, user: AuthUser) -> ApiResult<Json<crate::http::views::CheckinCode>> {
    Ok(Json(crate::http::views::CheckinCode {
        qr: checkin::personal_code(&state.svc, &user.identity)?,
        short: String::new(),
        qr_svg: "/api/v1/me/qr.svg".into(),
        qr_png: "/api/v1/me/qr.png".into(),
    }))
}

/// My personal QR code as SVG.
#[utoipa::path(get, path = "/api/v1/me/qr.svg", tag = "check-in", security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, content_type = "image/svg+xml", description = "the QR code")))]
async fn my_qr_svg(State(state): State<AppState>, user: AuthUser) -> ApiResult<impl IntoResponse> {
    svg(&checkin::personal_code(&state.svc, &user.identity)?)
}

/// My personal QR code as PNG.
#[utoipa::path(get, path = "/api/v1/me/qr.png", tag = "check-in", security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, content_type = "image/png", description = "the QR code")))]
async fn my_qr_png(State(state): State<AppState>, user: AuthUser) -> ApiResult<impl IntoResponse> {
    png(&checkin::personal_code(&state.svc, &user.identity)?)
}

/// The QR code of my registration for an event, as SVG (scanned at the space's kiosk).
#[utoipa::path(get, path = "/api/v1/events/{id}/registration/qr.svg", tag = "check-in", params(("id" = String, Path)),
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, content_type = "image/svg+xml", description = "the QR code"), (status = 404, body = Problem)))]
async fn event_qr_svg(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<impl IntoResponse> {
    svg(&crate::service::registers::my_event_code(&state.svc, &user.identity, &id).await?)
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
        space_id: k.space_id.to_string(),
        resource_id: k.resource_id.as_ref().map(ToString::to_string),
        name: k.name.clone(),
        state: state.into(),
        paired_at: k.paired_at.map(crate::clock::rfc3339),
        revoked_at: k.revoked_at.map(crate::clock::rfc3339),
        last_scan_at: k.last_seen_at.map(crate::clock::rfc3339),
        created_at: crate::clock::rfc3339(k.created_at),
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PairingCode {
    pub kiosk: KioskView,
    /// Type this into the kiosk page once, within 15 minutes.
    pub pairing_code: String,
    pub expires_at: String,
}

impl From<Pairing> for PairingCode {
    fn from(p: Pairing) -> Self {
        PairingCode {
            kiosk: kiosk_view(&p.kiosk),
            pairing_code: p.code,
            expires_at: crate::clock::rfc3339(p.expires_at),
        }
    }
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
    let op = checkin::kiosk_operator(&state.svc, &user.identity, &slug).await?;
    let pairing = checkin::create_kiosk(&state.svc, &op, &req, state.clock.now_ms()).await?;
    Ok((StatusCode::CREATED, Json(pairing.into())))
}

/// The kiosks of a space.
#[utoipa::path(get, path = "/api/v1/spaces/{slug}/kiosks", tag = "check-in", params(("slug" = String, Path)),
    security(("bearer" = [])), responses((status = 200, body = Vec<KioskView>), (status = 403, body = Problem)))]
async fn list_kiosks(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(slug): ApiPath<String>,
) -> ApiResult<Json<Vec<KioskView>>> {
    let op = checkin::kiosk_operator(&state.svc, &user.identity, &slug).await?;
    Ok(Json(checkin::kiosks(&state.svc, &op).await?.iter().map(kiosk_view).collect()))
}

/// Revokes a kiosk: its device token stops working at once.
#[utoipa::path(post, path = "/api/v1/kiosks/{id}/revoke", tag = "check-in", params(("id" = String, Path)),
    security(("bearer" = [])), responses((status = 200, body = KioskView), (status = 404, body = Problem)))]
async fn revoke_kiosk(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<KioskView>> {
    let k = checkin::operated_kiosk(&state.svc, &user.identity, &id).await?;
    Ok(Json(kiosk_view(&checkin::revoke_kiosk(&state.svc, &k, state.clock.now_ms()).await?)))
}

/// A new pairing code for a kiosk (a replaced tablet); the old device token stops working.
#[utoipa::path(post, path = "/api/v1/kiosks/{id}/pairing-code", tag = "check-in", params(("id" = String, Path)),
    security(("bearer" = [])), responses((status = 200, body = PairingCode), (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn new_pairing_code(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<PairingCode>> {
    let k = checkin::operated_kiosk(&state.svc, &user.identity, &id).await?;
    Ok(Json(checkin::new_pairing_code(&state.svc, &k, state.clock.now_ms()).await?.into()))
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
    let k = checkin::operated_kiosk(&state.svc, &user.identity, &id).await?;
    Ok(Json(
        checkin::kiosk_scans(&state.svc, &k)
            .await?
            .into_iter()
            .map(|(booking_id, decision, reason, at)| ScanRecord {
                booking_id: booking_id.map(String::from),
                decision: decision.as_str().into(),
                reason,
                scanned_at: crate::clock::rfc3339(at),
            })
            .collect(),
    ))
}

// ---------- the kiosk device ----------

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

fn hello(k: &KioskRow, space: SpaceRow) -> KioskHello {
    KioskHello {
        id: k.id.clone(),
        name: k.name.clone(),
        space: space.slug,
        space_name_zh: space.name_zh,
        space_name_en: space.name_en,
        timezone: space.timezone,
    }
}

/// Exchanges a pairing code for the kiosk's device token (once).
#[utoipa::path(post, path = "/api/v1/kiosk/pair", tag = "check-in", request_body = PairRequest,
    responses((status = 200, body = KioskSession), (status = 401, body = Problem),
        (status = 429, body = Problem, description = "`too_many_requests`: too many wrong codes from this address; `Retry-After`")))]
async fn pair(
    State(state): State<AppState>,
    ClientAddr(from): ClientAddr,
    ApiJson(req): ApiJson<PairRequest>,
) -> ApiResult<Json<KioskSession>> {
    let p = checkin::pair(&state.svc, &req.pairing_code, from, state.clock.now_ms()).await?;
    Ok(Json(KioskSession { token: p.token, kiosk: hello(&p.kiosk, p.space) }))
}

/// Who this kiosk is (the kiosk page shows it).
#[utoipa::path(get, path = "/api/v1/kiosk/me", tag = "check-in", security(("bearer" = [])),
    responses((status = 200, body = KioskHello), (status = 401, body = Problem)))]
async fn kiosk_me(State(state): State<AppState>, KioskAuth(k): KioskAuth) -> ApiResult<Json<KioskHello>> {
    let space = checkin::kiosk_space(&state.svc, &k).await?;
    Ok(Json(hello(&k.0, space)))
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

/// The event named in a kiosk's answer to an event code.
#[derive(Debug, Serialize, ToSchema)]
pub struct ScannedEvent {
    pub id: String,
    pub topic: String,
    /// Local start and end, `HH:MM`.
    pub from_local: String,
    pub until_local: String,
    /// Participants checked in so far.
    pub checked_in: i64,
}

/// What the kiosk shows.
#[derive(Debug, Serialize, ToSchema)]
pub struct ScanResult {
    /// `check_in`, `check_out`, `attend` (an event code, counted) or `deny`.
    pub decision: String,
    /// Why a scan was denied: `unknown`, `forged`, `cancelled`, `wrong_space`, `too_early`,
    /// `no_show`, `already_checked_out`, `pending_approval`, `training_expired`, `no_booking`;
    /// for event codes also `not_registered` and `event_ended`.
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
    /// For an event code: the event.
    pub event: Option<ScannedEvent>,
    /// For `attend`: false when this participant had already checked in (counted once).
    pub first: Option<bool>,
}

fn scanned_event(e: &crate::store::registers::EventRow, tz: chrono_tz::Tz) -> ScannedEvent {
    ScannedEvent {
        id: e.id.clone(),
        topic: e.topic.clone(),
        from_local: hhmm(tz, e.starts_at),
        until_local: hhmm(tz, e.ends_at),
        checked_in: e.checked_in,
    }
}

fn hhmm(tz: chrono_tz::Tz, at: i64) -> String {
    crate::domain::calendar::utc_to_local(tz, at).format("%H:%M").to_string()
}

/// The day and time of an instant in the space's zone, in Chinese and English ("9月8日
/// 09:45", "8 Sep 09:45"): a "too early" that does not name the day reads as today.
fn day_and_time(tz: chrono_tz::Tz, at: i64) -> (String, String) {
    let l = crate::domain::calendar::utc_to_local(tz, at);
    (l.format("%-m月%-d日 %H:%M").to_string(), l.format("%-d %b %H:%M").to_string())
}

fn scanned(b: &BookingRow) -> (ScannedBooking, chrono_tz::Tz) {
    let tz: chrono_tz::Tz = b.timezone.parse().unwrap_or(chrono_tz::UTC);
    (
        ScannedBooking {
            id: b.id.to_string(),
            resource_zh: b.resource_name_zh.clone(),
            resource_en: b.resource_name_en.clone(),
            unit: b.unit_label.clone(),
            from_local: hhmm(tz, b.starts_at),
            until_local: hhmm(tz, b.ends_at),
        },
        tz,
    )
}

fn deny_text(r: DenyReason, at: Option<&(String, String)>) -> (String, String) {
    let (at_zh, at_en) = at.map_or(("", ""), |(z, e)| (z.as_str(), e.as_str()));
    let (zh, en) = match r {
        DenyReason::Unknown => ("无法识别此二维码", "This code is not recognised"),
        DenyReason::Forged => ("二维码无效（签名不符）", "This code is not valid (bad signature)"),
        DenyReason::Cancelled => ("此预约已取消", "This booking was cancelled"),
        DenyReason::WrongSpace => ("此预约不在本空间", "This booking is for another space"),
        DenyReason::TooEarly => {
            return (format!("还太早：{at_zh} 起可签到"), format!("Too early: check-in opens {at_en}"));
        }
        DenyReason::NoShow => ("已超过签到时间，预约已释放", "Check-in time has passed; the booking was released"),
        DenyReason::AlreadyCheckedOut => ("此预约已签退", "This booking is already checked out"),
        DenyReason::PendingApproval => ("此预约尚待审批", "This booking is still waiting for approval"),
        DenyReason::TrainingExpired => ("所需培训已过期", "A required training has expired"),
        DenyReason::NoBooking => {
            ("现在没有可签到的预约，也无空闲设备", "No booking to check in now, and nothing free to walk up to")
        }
        DenyReason::NotAllowed => ("不允许此操作", "Not allowed"),
        DenyReason::NotRegistered => ("此活动报名已取消", "This registration was withdrawn"),
        DenyReason::EventEnded => ("活动已结束", "This event is over"),
    };
    (zh.to_owned(), en.to_owned())
}

/// What the kiosk shows for a scan's decision, in both languages.
fn scan_result(scan: Scan) -> ScanResult {
    match scan {
        Scan::Denied { reason, booking, allowed_from } => {
            let view = booking.as_ref().map(scanned);
            let tz = view.as_ref().map_or(chrono_tz::UTC, |(_, tz)| *tz);
            let local = allowed_from.map(|t| hhmm(tz, t));
            let (zh, en) = deny_text(reason, allowed_from.map(|t| day_and_time(tz, t)).as_ref());
            ScanResult {
                decision: ScanDecision::Deny.as_str().into(),
                reason: Some(reason.code().into()),
                message_zh: zh,
                message_en: en,
                booking: view.map(|(v, _)| v),
                allowed_from: allowed_from.map(crate::clock::rfc3339),
                allowed_from_local: local,
                session: None,
                walk_up: false,
                event: None,
                first: None,
            }
        }
        Scan::EventDenied { reason, event, zone, allowed_from } => {
            let local = allowed_from.map(|t| hhmm(zone, t));
            let (day_zh, day_en) = allowed_from.map(|t| day_and_time(zone, t)).unwrap_or_default();
            let (zh, en) = match reason {
                DenyReason::Cancelled => ("此活动已取消".to_owned(), "This event was cancelled".to_owned()),
                DenyReason::WrongSpace => ("此活动不在本空间".to_owned(), "This event is in another space".to_owned()),
                DenyReason::TooEarly => {
                    (format!("还太早：{day_zh} 起可入场"), format!("Too early: doors open {day_en}"))
                }
                r => deny_text(r, None),
            };
            ScanResult {
                decision: ScanDecision::Deny.as_str().into(),
                reason: Some(reason.code().into()),
                message_zh: zh,
                message_en: en,
                booking: None,
                allowed_from: allowed_from.map(crate::clock::rfc3339),
                allowed_from_local: local,
                session: None,
                walk_up: false,
                event: Some(scanned_event(&event, zone)),
                first: None,
            }
        }
        Scan::Attended { event, zone, at, first } => {
            let (zh, en) = if first {
                (format!("欢迎参加：{}", event.topic), format!("Welcome to: {}", event.topic))
            } else {
                (
                    format!("已于 {} 签到：{}", hhmm(zone, at), event.topic),
                    format!("Already checked in at {}: {}", hhmm(zone, at), event.topic),
                )
            };
            ScanResult {
                decision: "attend".into(),
                reason: None,
                message_zh: zh,
                message_en: en,
                booking: None,
                allowed_from: None,
                allowed_from_local: None,
                session: None,
                walk_up: false,
                event: Some(scanned_event(&event, zone)),
                first: Some(first),
            }
        }
        Scan::Granted { booking: b, session, check_in, walk_up } => {
            let (view, _) = scanned(&b);
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
            ScanResult {
                decision: if check_in { ScanDecision::CheckIn } else { ScanDecision::CheckOut }.as_str().into(),
                reason: None,
                message_zh: zh,
                message_en: en,
                booking: Some(view),
                allowed_from: None,
                allowed_from_local: None,
                session: Some(session.id),
                walk_up,
                event: None,
                first: None,
            }
        }
    }
}

/// A kiosk read a code: check in, check out, or deny with a reason. Every scan is recorded.
#[utoipa::path(post, path = "/api/v1/kiosk/scan", tag = "check-in", request_body = ScanRequest, security(("bearer" = [])),
    responses((status = 200, body = ScanResult, description = "the decision (a denial is a decision, not an error)"),
              (status = 401, body = Problem, description = "`kiosk_unauthenticated` or `kiosk_revoked`"),
              (status = 429, body = Problem, description = "`too_many_requests`: too many unknown or forged codes at this kiosk this minute; `Retry-After`")))]
async fn scan(
    State(state): State<AppState>,
    KioskAuth(k): KioskAuth,
    ApiJson(req): ApiJson<ScanRequest>,
) -> ApiResult<Json<ScanResult>> {
    Ok(Json(scan_result(checkin::scan(&state.svc, &k, &req.code, state.clock.now_ms()).await?)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
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
    security(("bearer" = [])), responses((status = 200, body = Decoded), (status = 401, body = Problem),
        (status = 413, body = Problem, description = "`payload_too_large`: more than 640 × 480 bytes"),
        (status = 422, body = Problem)))]
async fn decode_frame(
    KioskAuth(k): KioskAuth,
    ApiQuery(q): ApiQuery<FrameQuery>,
    body: axum::body::Body,
) -> ApiResult<Json<Decoded>> {
    // A whole frame is larger than the node's usual body limit: this route reads up to one
    // frame of its own, and no more.
    let frame = axum::body::to_bytes(body, checkin::MAX_FRAME_BYTES).await.map_err(|_| {
        crate::http::error::ApiError::new(
            crate::service::Code::PayloadTooLarge,
            "a frame is at most 640 × 480 bytes of grey",
        )
    })?;
    Ok(Json(Decoded { text: checkin::decode_frame(&k, q.width, q.height, frame.to_vec()).await? }))
}

// ---------- operators: by hand ----------

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

fn session_view(s: &MeteredSession, now: i64) -> SessionView {
    SessionView {
        id: s.id.clone(),
        booking_id: s.booking_id.as_ref().map(ToString::to_string),
        unit_id: s.unit_id.to_string(),
        account_id: s.account_id.to_string(),
        started_at: crate::clock::rfc3339(s.started_at),
        ended_at: s.ended_at.map(crate::clock::rfc3339),
        opened_by: s.opened_by.as_str().to_owned(),
        closed_by: s.closed_by.as_ref().map(ToString::to_string),
        kiosk_id: s.kiosk_id.clone(),
        note: s.note.clone(),
        minutes: (s.ended_at.unwrap_or(now) - s.started_at).max(0) / 60_000,
        overstay_minutes: s.overstay_ms / 60_000,
    }
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
    let now = state.clock.now_ms();
    let s = checkin::by_hand(&state.svc, &user.identity, &id, &body, true, now).await?;
    Ok(Json(session_view(&s, now)))
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
    let now = state.clock.now_ms();
    let s = checkin::by_hand(&state.svc, &user.identity, &id, &body, false, now).await?;
    Ok(Json(session_view(&s, now)))
}

/// The metered sessions of a booking (its owner, the space's operators, reviewers).
#[utoipa::path(get, path = "/api/v1/bookings/{id}/sessions", tag = "check-in", params(("id" = String, Path)),
    security(("bearer" = []), ("cookie" = [])), responses((status = 200, body = Vec<SessionView>), (status = 404, body = Problem)))]
async fn booking_sessions(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<Vec<SessionView>>> {
    let now = state.clock.now_ms();
    let rows = checkin::sessions_of_booking(&state.svc, &user.identity, &id).await?;
    Ok(Json(rows.iter().map(|s| session_view(s, now)).collect()))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
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
    let reader = powers::reader_of(&state.svc, &user.identity, &slug).await?;
    let now = state.clock.now_ms();
    let parse = |name: &str, v: &Option<String>, default: i64| -> ApiResult<i64> {
        match v {
            None => Ok(default),
            Some(t) => Ok(crate::domain::calendar::parse_instant(name, t)
                .map_err(|e| crate::service::ServiceError::from(crate::domain::ValidationErrors(vec![e])))?),
        }
    };
    let from = parse("from", &q.from, now - 7 * 86_400_000)?;
    let to = parse("to", &q.to, now + 1)?;
    let rows = checkin::sessions_of_space(&state.svc, &reader, from, to).await?;
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
    let (count, head) = checkin::ledger_head(&state.svc, &user.identity).await?;
    Ok(Json(LedgerHead { count, head, at: crate::clock::rfc3339(state.clock.now_ms()) }))
}
