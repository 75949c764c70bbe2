//! The JSON shapes that more than one group of handlers answers with (a booking, its
//! check-in code, an account and its roles, an organisation of mine), built from the rows
//! the use cases return. Handler modules share these instead of importing each other.

use crate::domain::calendar::{Span, Zone};
use crate::domain::interval::Interval;
use crate::service::{ServiceError, Services};
use crate::store::accounts::{AccountRow, RoleGrantRow};
use crate::store::bookings::BookingRow;
use crate::store::organisations::OrganisationRow;
use serde::Serialize;
use utoipa::ToSchema;

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

#[derive(Debug, Serialize, ToSchema)]
pub struct BookingView {
    pub id: String,
    /// `pending` (awaits approval), `confirmed`, `checked_in`, `completed`, `cancelled`, `declined`, `no_show`.
    pub status: String,
    pub kind: String,
    pub resource_id: String,
    pub resource_name_zh: String,
    pub resource_name_en: String,
    pub unit_id: String,
    pub unit_label: String,
    pub space: String,
    pub timezone: String,
    /// The booked time, in UTC and in the space's local time.
    pub when: Span,
    pub team_id: Option<String>,
    pub series_id: Option<String>,
    pub purpose: String,
    /// The code to show at the kiosk: only in answers to the booking's owner, and only while
    /// it can still be checked in or out.
    pub checkin_code: Option<CheckinCode>,
    pub created_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decision_reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cancelled_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cancel_reason: Option<String>,
}

/// A booking as anyone who may read it sees it (without its check-in code).
///
/// # Errors
/// [`crate::service::Code::Internal`] for a stored zone or interval that no longer parses.
pub fn booking_view(b: &BookingRow) -> Result<BookingView, ServiceError> {
    let zone = Zone::parse("timezone", &b.timezone)
        .map_err(|e| ServiceError::internal(anyhow::anyhow!("booking {} has a bad zone: {e:?}", b.id)))?;
    let when = Interval::new(b.starts_at, b.ends_at).map_err(ServiceError::internal)?;
    Ok(BookingView {
        id: b.id.to_string(),
        status: b.status.as_str().to_owned(),
        kind: b.kind.as_str().to_owned(),
        resource_id: b.resource_id.to_string(),
        resource_name_zh: b.resource_name_zh.clone(),
        resource_name_en: b.resource_name_en.clone(),
        unit_id: b.unit_id.to_string(),
        unit_label: b.unit_label.clone(),
        space: b.space_slug.clone(),
        timezone: b.timezone.clone(),
        when: Span::new(zone, when),
        team_id: b.organisation_id.clone(),
        series_id: b.series_id.clone(),
        purpose: b.purpose.clone(),
        checkin_code: None,
        created_at: crate::clock::rfc3339(b.created_at),
        decision_reason: b.decision_reason.clone(),
        cancelled_at: b.cancelled_at.map(crate::clock::rfc3339),
        cancel_reason: b.cancel_reason.clone(),
    })
}

/// The check-in code of a booking, for its owner (`None` once it can no longer check in).
pub fn checkin_code(svc: &Services, b: &BookingRow) -> Option<CheckinCode> {
    crate::service::checkin::code_of(svc, b).map(|c| CheckinCode {
        qr: c.qr,
        short: c.short,
        qr_svg: format!("/api/v1/bookings/{}/qr.svg", b.id),
        qr_png: format!("/api/v1/bookings/{}/qr.png", b.id),
    })
}

/// The booking view for its owner: with the check-in code.
///
/// # Errors
/// As [`booking_view`].
pub fn owner_view(svc: &Services, b: &BookingRow) -> Result<BookingView, ServiceError> {
    let mut v = booking_view(b)?;
    v.checkin_code = checkin_code(svc, b);
    Ok(v)
}

/// The booking view for `viewer`: with the check-in code when it is their own booking.
///
/// # Errors
/// As [`booking_view`].
pub fn view_for(
    svc: &Services,
    viewer: &crate::domain::ids::AccountId,
    b: &BookingRow,
) -> Result<BookingView, ServiceError> {
    if &b.account_id == viewer { owner_view(svc, b) } else { booking_view(b) }
}

/// An account as others may see it (never the password hash).
#[derive(Debug, Serialize, ToSchema)]
pub struct AccountView {
    pub id: String,
    pub email: String,
    pub display_name: String,
    /// `zh-CN` or `en`.
    pub locale: String,
    /// Verified makers may book inn rooms.
    pub verified_maker: bool,
    /// RFC 3339, UTC.
    pub created_at: String,
}

impl From<&AccountRow> for AccountView {
    fn from(a: &AccountRow) -> Self {
        AccountView {
            id: a.id.to_string(),
            email: a.email.clone(),
            display_name: a.display_name.clone(),
            locale: a.locale.clone(),
            verified_maker: a.verified_maker,
            created_at: crate::clock::rfc3339(a.created_at),
        }
    }
}

/// A role the account holds; operators hold it for one space each.
#[derive(Debug, Serialize, ToSchema)]
pub struct RoleView {
    /// `maker`, `operator`, `reviewer` or `admin`.
    pub role: String,
    /// The space an operator runs; absent for global roles.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub space_id: Option<String>,
}

impl From<&RoleGrantRow> for RoleView {
    fn from(g: &RoleGrantRow) -> Self {
        RoleView { role: g.role.as_str().to_owned(), space_id: g.space_id.as_ref().map(ToString::to_string) }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OrganisationView {
    pub id: String,
    pub slug: String,
    pub name: String,
    /// `team`, `startup`, `operator` or `university`.
    pub kind: String,
    pub created_at: String,
}

impl From<&OrganisationRow> for OrganisationView {
    fn from(o: &OrganisationRow) -> Self {
        OrganisationView {
            id: o.id.clone(),
            slug: o.slug.clone(),
            name: o.name.clone(),
            kind: o.kind.clone(),
            created_at: crate::clock::rfc3339(o.created_at),
        }
    }
}

/// An organisation I belong to, with my role in it.
#[derive(Debug, Serialize, ToSchema)]
pub struct MyOrganisation {
    #[serde(flatten)]
    pub organisation: OrganisationView,
    /// `owner` or `member`.
    pub my_role: String,
}

impl MyOrganisation {
    pub fn of((o, role): &(OrganisationRow, crate::domain::identity::MemberRole)) -> Self {
        MyOrganisation { organisation: o.into(), my_role: role.as_str().to_owned() }
    }
}

/// `text` as a QR code in SVG (error correction M, a quiet zone, at least `min` px square):
/// the booking codes of the API and the kiosk pairing code of the console.
///
/// # Errors
/// [`crate::service::Code::Internal`] when the text is too long for a QR code.
pub fn qr_svg(text: &str, min: u32) -> Result<String, ServiceError> {
    let code = qrcode::QrCode::with_error_correction_level(text.as_bytes(), qrcode::EcLevel::M)
        .map_err(|e| ServiceError::internal(anyhow::anyhow!("qr: {e:?}")))?;
    Ok(code.render::<qrcode::render::svg::Color>().min_dimensions(min, min).quiet_zone(true).build())
}
