//! The registers a space's operators keep for its evidence: the area plan, resident
//! organisations, events and documents. Operators of the space write them; its readers
//! (operators, reviewers, admins) read them. Every change goes to the ledger
//! ([`crate::store::registers`]); nothing is deleted.

use super::catalog::find_space;
use super::powers::{OperatorOf, SpaceReader};
use super::{Identity, ServiceError, ServiceResult, Services};
use crate::domain::ValidationErrors;
use crate::domain::booking::BookingStatus;
use crate::domain::ids::{BookingId, ResourceId};
use crate::domain::registers::{
    self, DocumentKind, EventKind, EventRole, MAX_DOCUMENT_BYTES, UseClass, area, choice, date, text,
};
use crate::store::StoreError;
use crate::store::registers::{AreaPartRow, DocumentRow, EventRow, ResidencyRow};
use base64::Engine;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

/// The operator of the space that row `space_id` belongs to.
async fn operator_of_space(svc: &Services, who: &Identity, space_id: &str, doing: &str) -> ServiceResult<OperatorOf> {
    let space = find_space(svc, space_id).await?;
    who.require_operator_of(space, format!("{doing} needs the operator role for the space"))
}

fn missing(what: &'static str) -> impl Fn(StoreError) -> ServiceError {
    move |e| match e {
        StoreError::NotFound => ServiceError::not_found(what),
        e => e.into(),
    }
}

/// A part of the area plan.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAreaPart {
    /// What the part is (`Workshop floor`, `Event hall`).
    pub name: String,
    pub area_m2: f64,
    /// `maker_work`, `public_service`, `operator_office` or `other`.
    pub use_class: String,
    /// The resource this part is, if it is one (its id).
    #[serde(default)]
    pub resource: Option<String>,
}

async fn resource_of_space(
    svc: &Services,
    op: &OperatorOf,
    field: &str,
    id: Option<&str>,
    e: &mut ValidationErrors,
) -> ServiceResult<Option<String>> {
    let Some(id) = id else { return Ok(None) };
    match svc.db.resource(&ResourceId::new(id)).await {
        Ok(r) if r.space_id == op.space().id => Ok(Some(r.id.as_str().to_owned())),
        Ok(_) | Err(StoreError::NotFound) => {
            e.push(crate::domain::FieldError::new(field, "unknown_resource", "is not a resource of this space"));
            Ok(None)
        }
        Err(err) => Err(err.into()),
    }
}

/// Adds a part to the space's area plan.
///
/// # Errors
/// [`super::Code::ValidationFailed`].
pub async fn add_area_part(svc: &Services, op: &OperatorOf, req: &NewAreaPart, now: i64) -> ServiceResult<AreaPartRow> {
    let mut e = ValidationErrors::default();
    let name = e.take(text("name", &req.name, 200));
    let area_m2 = e.take(area("area_m2", req.area_m2, false));
    let use_class = e.take(choice("use_class", &req.use_class, UseClass::ALL, UseClass::as_str));
    let resource_id = resource_of_space(svc, op, "resource", req.resource.as_deref(), &mut e).await?;
    let (Some(name), Some(area_m2), Some(use_class)) = (name, area_m2, use_class) else { return Err(e.into()) };
    e.finish()?;
    let row = AreaPartRow {
        id: crate::store::new_id(),
        space_id: op.space().id.clone(),
        resource_id,
        name,
        area_m2,
        use_class: use_class.as_str().into(),
        created_at: now,
        ended_at: None,
    };
    svc.db.save_area_part(&row, op.id(), now).await?;
    Ok(row)
}

/// Ends a part of the area plan (it stays in the register, ended).
///
/// # Errors
/// [`super::Code::NotFound`], [`super::Code::Forbidden`], [`super::Code::AlreadyEnded`] when
/// already ended.
pub async fn end_area_part(svc: &Services, who: &Identity, id: &str, now: i64) -> ServiceResult<AreaPartRow> {
    let mut row = svc.db.area_part(id).await.map_err(missing("area part"))?;
    let op = operator_of_space(svc, who, row.space_id.as_str(), "changing the area plan").await?;
    if row.ended_at.is_some() {
        return Err(ServiceError::new(super::Code::AlreadyEnded, "this part of the area plan has already been ended"));
    }
    row.ended_at = Some(now);
    svc.db.save_area_part(&row, op.id(), now).await?;
    Ok(row)
}

/// The area plan of a space, ended parts too.
///
/// # Errors
/// Store errors.
pub async fn area_plan(svc: &Services, reader: &SpaceReader) -> ServiceResult<Vec<AreaPartRow>> {
    Ok(svc.db.area_parts(&reader.space().id).await?)
}

/// A residency, as recorded or changed.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResidencyInput {
    /// The organisation (id or slug). Only when recording.
    #[serde(default)]
    pub organisation: Option<String>,
    /// The resident agreement's reference (入驻协议编号).
    pub agreement_ref: String,
    /// First local date, `2026-01-01`.
    pub starts_on: String,
    /// Last local date, included; absent while it runs.
    #[serde(default)]
    pub ends_on: Option<String>,
    #[serde(default)]
    pub desks: i64,
    #[serde(default)]
    pub rooms: i64,
    #[serde(default)]
    pub area_m2: f64,
    /// The founder's name.
    pub founder: String,
    /// The product direction.
    pub product: String,
}

struct CheckedResidency {
    agreement_ref: String,
    starts_on: String,
    ends_on: Option<String>,
    desks: i64,
    rooms: i64,
    area_m2: f64,
    founder: String,
    product: String,
}

fn check_residency(req: &ResidencyInput, e: &mut ValidationErrors) -> Option<CheckedResidency> {
    let agreement_ref = e.take(text("agreement_ref", &req.agreement_ref, 100));
    let starts_on = e.take(date("starts_on", &req.starts_on));
    let ends_on = match req.ends_on.as_deref() {
        Some(raw) => e.take(date("ends_on", raw)).map(Some),
        None => Some(None),
    };
    for (field, n) in [("desks", req.desks), ("rooms", req.rooms)] {
        if !(0..=10_000).contains(&n) {
            e.push(crate::domain::FieldError::new(field, "out_of_range", "must be between 0 and 10000"));
        }
    }
    let area_m2 = e.take(area("area_m2", req.area_m2, true));
    let founder = e.take(text("founder", &req.founder, 200));
    let product = e.take(text("product", &req.product, 500));
    if let (Some(s), Some(end)) = (starts_on, ends_on)
        && let Err(v) = registers::check_residency_dates(s, end)
    {
        v.0.into_iter().for_each(|f| e.push(f));
    }
    Some(CheckedResidency {
        agreement_ref: agreement_ref?,
        starts_on: starts_on?.to_string(),
        ends_on: ends_on?.map(|d| d.to_string()),
        desks: req.desks,
        rooms: req.rooms,
        area_m2: area_m2?,
        founder: founder?,
        product: product?,
    })
}

/// Records an organisation as resident in the space.
///
/// # Errors
/// [`super::Code::ValidationFailed`] (an unknown organisation is `unknown_organisation`).
pub async fn record_residency(
    svc: &Services,
    op: &OperatorOf,
    req: &ResidencyInput,
    now: i64,
) -> ServiceResult<ResidencyRow> {
    let mut e = ValidationErrors::default();
    let org = match req.organisation.as_deref().map(str::trim).filter(|o| !o.is_empty()) {
        None => {
            e.push(crate::domain::FieldError::new("organisation", "required", "name the resident organisation"));
            None
        }
        Some(o) => match svc.db.organisation(o).await {
            Ok(org) => Some(org.id),
            Err(StoreError::NotFound) => {
                e.push(crate::domain::FieldError::new("organisation", "unknown_organisation", "no such organisation"));
                None
            }
            Err(err) => return Err(err.into()),
        },
    };
    let checked = check_residency(req, &mut e);
    let (Some(org), Some(c)) = (org, checked) else { return Err(e.into()) };
    e.finish()?;
    let row = ResidencyRow {
        id: crate::store::new_id(),
        space_id: op.space().id.clone(),
        organisation_id: org,
        agreement_ref: c.agreement_ref,
        starts_on: c.starts_on,
        ends_on: c.ends_on,
        desks: c.desks,
        rooms: c.rooms,
        area_m2: c.area_m2,
        founder: c.founder,
        product: c.product,
        created_at: now,
        updated_at: now,
    };
    svc.db.save_residency(&row, op.id(), now).await?;
    Ok(row)
}

/// Changes a residency (its dates, its terms; ending it is setting `ends_on`). The
/// organisation cannot change. Every change is in the ledger, so a backdated start shows.
///
/// # Errors
/// [`super::Code::NotFound`], [`super::Code::Forbidden`], [`super::Code::ValidationFailed`].
pub async fn change_residency(
    svc: &Services,
    who: &Identity,
    id: &str,
    req: &ResidencyInput,
    now: i64,
) -> ServiceResult<ResidencyRow> {
    let row = svc.db.residency(id).await.map_err(missing("residency"))?;
    let op = operator_of_space(svc, who, row.space_id.as_str(), "changing a residency").await?;
    let mut e = ValidationErrors::default();
    if req.organisation.as_deref().is_some_and(|o| o != row.organisation_id) {
        e.push(crate::domain::FieldError::new("organisation", "immutable", "a residency's organisation cannot change"));
    }
    let checked = check_residency(req, &mut e);
    let Some(c) = checked else { return Err(e.into()) };
    e.finish()?;
    let row = ResidencyRow {
        agreement_ref: c.agreement_ref,
        starts_on: c.starts_on,
        ends_on: c.ends_on,
        desks: c.desks,
        rooms: c.rooms,
        area_m2: c.area_m2,
        founder: c.founder,
        product: c.product,
        updated_at: now,
        ..row
    };
    svc.db.save_residency(&row, op.id(), now).await?;
    Ok(row)
}

/// The residencies of a space, ended ones too.
///
/// # Errors
/// Store errors.
pub async fn residencies(svc: &Services, reader: &SpaceReader) -> ServiceResult<Vec<ResidencyRow>> {
    Ok(svc.db.residencies(&reader.space().id).await?)
}

/// An event, in a booked place of the space.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewEvent {
    /// `salon`, `roadshow`, `competition`, `training` or `maker_market`.
    pub kind: String,
    /// `host` or `co_organiser`.
    pub role: String,
    pub topic: String,
    /// The booking of the place (a resource of this space, booked for the event's time, so
    /// the hall is blocked). The event takes its time.
    pub booking: String,
}

/// Records an event of the space in the place booking `req.booking` holds.
///
/// # Errors
/// [`super::Code::ValidationFailed`]: an unknown booking, one of another space, or one that
/// holds no place (cancelled, declined, a no-show) is `unknown_booking`.
pub async fn create_event(svc: &Services, op: &OperatorOf, req: &NewEvent, now: i64) -> ServiceResult<EventRow> {
    let mut e = ValidationErrors::default();
    let kind = e.take(choice("kind", &req.kind, EventKind::ALL, EventKind::as_str));
    let role = e.take(choice("role", &req.role, EventRole::ALL, EventRole::as_str));
    let topic = e.take(text("topic", &req.topic, 300));
    let booking = match svc.db.booking(&BookingId::new(req.booking.trim())).await {
        // Live, or completed (an event recorded after it took place): it held the place.
        Ok(b)
            if b.space_id == op.space().id
                && (BookingStatus::LIVE.contains(&b.status) || b.status == BookingStatus::Completed) =>
        {
            Some(b)
        }
        Ok(_) | Err(StoreError::NotFound) => {
            e.push(crate::domain::FieldError::new(
                "booking",
                "unknown_booking",
                "must be a booking of this space that holds its place (pending, confirmed, checked in or completed)",
            ));
            None
        }
        Err(err) => return Err(err.into()),
    };
    let (Some(kind), Some(role), Some(topic), Some(b)) = (kind, role, topic, booking) else { return Err(e.into()) };
    e.finish()?;
    let row = EventRow {
        id: crate::store::new_id(),
        space_id: op.space().id.clone(),
        kind: kind.as_str().into(),
        role: role.as_str().into(),
        topic,
        booking_id: b.id.as_str().to_owned(),
        starts_at: b.starts_at,
        ends_at: b.ends_at,
        attendance_entered: None,
        attested_by: None,
        attested_at: None,
        cancelled_at: None,
        created_at: now,
        checked_in: 0,
    };
    svc.db.save_event(&row, op.id(), now).await?;
    Ok(row)
}

/// Attendance entered by hand.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Attendance {
    /// How many came.
    pub count: i64,
    /// The operator attests the count (a count that is not attested is kept and not used).
    pub attested: bool,
}

/// Enters an event's attendance by hand (counted only when attested, and only when no
/// participant was checked in with an event code).
///
/// # Errors
/// [`super::Code::NotFound`], [`super::Code::Forbidden`], [`super::Code::ValidationFailed`].
pub async fn enter_attendance(
    svc: &Services,
    who: &Identity,
    id: &str,
    req: &Attendance,
    now: i64,
) -> ServiceResult<EventRow> {
    let row = svc.db.event(id).await.map_err(missing("event"))?;
    let op = operator_of_space(svc, who, row.space_id.as_str(), "entering attendance").await?;
    if !(0..=1_000_000).contains(&req.count) {
        return Err(ServiceError::invalid_field("count", "out_of_range", "must be between 0 and 1000000"));
    }
    let row = EventRow {
        attendance_entered: Some(req.count),
        attested_by: req.attested.then(|| op.id().as_str().to_owned()),
        attested_at: req.attested.then_some(now),
        ..row
    };
    svc.db.save_event(&row, op.id(), now).await?;
    Ok(row)
}

/// Cancels an event (it stays in the register, cancelled, and counts for nothing).
///
/// # Errors
/// [`super::Code::NotFound`], [`super::Code::Forbidden`], [`super::Code::AlreadyEnded`].
pub async fn cancel_event(svc: &Services, who: &Identity, id: &str, now: i64) -> ServiceResult<EventRow> {
    let row = svc.db.event(id).await.map_err(missing("event"))?;
    let op = operator_of_space(svc, who, row.space_id.as_str(), "cancelling an event").await?;
    if row.cancelled_at.is_some() {
        return Err(ServiceError::new(super::Code::AlreadyEnded, "this event has already been cancelled"));
    }
    let row = EventRow { cancelled_at: Some(now), ..row };
    svc.db.save_event(&row, op.id(), now).await?;
    Ok(row)
}

// ---------- participants: registering for an event, and its code ----------

/// A participant's registration for an event: the event, their event code (shown as a QR
/// code and scanned at the space's kiosk), and when they checked in with it, if they did.
#[derive(Debug, Clone)]
pub struct Registration {
    pub event: EventRow,
    pub code: String,
    pub attended_at: Option<i64>,
}

fn event_code(svc: &Services, event_id: &str, who: &Identity) -> ServiceResult<String> {
    crate::domain::checkin::event_code(&svc.secret, event_id, who.id().as_str()).ok_or_else(|| {
        ServiceError::internal(anyhow::anyhow!("event {event_id} or account {} is not a UUID", who.id()))
    })
}

/// Registers the signed-in account for an event that is neither cancelled nor over, and
/// gives its event code. Registering again gives the same code (`false`: not new).
///
/// # Errors
/// [`super::Code::NotFound`]; [`super::Code::AlreadyEnded`] for a cancelled or ended event.
pub async fn register_for_event(
    svc: &Services,
    who: &Identity,
    id: &str,
    now: i64,
) -> ServiceResult<(Registration, bool)> {
    let event = svc.db.event(id).await.map_err(missing("event"))?;
    if event.cancelled_at.is_some() {
        return Err(ServiceError::new(super::Code::AlreadyEnded, "this event was cancelled"));
    }
    if event.ends_at <= now {
        return Err(ServiceError::new(super::Code::AlreadyEnded, "this event is over"));
    }
    let new = svc.db.register_for_event(&event.id, who.id(), now).await?;
    let code = event_code(svc, &event.id, who)?;
    // A participant who registers again (or again after withdrawing) may have checked in.
    let attended_at = svc.db.attended_at(&event.id, who.id()).await?;
    Ok((Registration { event, code, attended_at }, new))
}

/// Withdraws the signed-in account's registration: its event code stops working at the
/// kiosk. An attendance already recorded stays (it was metered).
///
/// # Errors
/// [`super::Code::NotFound`] when there is no such registration.
pub async fn withdraw_registration(svc: &Services, who: &Identity, id: &str) -> ServiceResult<()> {
    if svc.db.withdraw_registration(id, who.id()).await? {
        Ok(())
    } else {
        Err(ServiceError::not_found("registration"))
    }
}

/// The event code of the signed-in account's registration for event `id`.
///
/// # Errors
/// [`super::Code::NotFound`] when they are not registered.
pub async fn my_event_code(svc: &Services, who: &Identity, id: &str) -> ServiceResult<String> {
    match svc.db.registration(id, who.id()).await? {
        Some(_) => event_code(svc, id, who),
        None => Err(ServiceError::not_found("registration")),
    }
}

/// The signed-in account's registrations, with their codes, by the event's start.
///
/// # Errors
/// Store errors.
pub async fn my_registrations(svc: &Services, who: &Identity) -> ServiceResult<Vec<Registration>> {
    svc.db
        .registrations_of(who.id())
        .await?
        .into_iter()
        .map(|(event, attended_at)| Ok(Registration { code: event_code(svc, &event.id, who)?, event, attended_at }))
        .collect()
}

/// An event as anyone may see it: with its place (the booked resource's names).
#[derive(Debug, Clone)]
pub struct PublicEvent {
    pub event: EventRow,
    pub place_zh: String,
    pub place_en: String,
}

/// The events of a space that anyone may register for: not cancelled and not over.
///
/// # Errors
/// [`super::Code::NotFound`] for an unknown space.
pub async fn upcoming_events(svc: &Services, slug: &str, now: i64) -> ServiceResult<Vec<PublicEvent>> {
    let space = find_space(svc, slug).await?;
    let mut out = Vec::new();
    for event in svc.db.upcoming_events(&space.id, now).await? {
        let b = svc.db.booking(&BookingId::new(event.booking_id.clone())).await?;
        out.push(PublicEvent { event, place_zh: b.resource_name_zh, place_en: b.resource_name_en });
    }
    Ok(out)
}

/// The events of a space.
///
/// # Errors
/// Store errors.
pub async fn events(svc: &Services, reader: &SpaceReader) -> ServiceResult<Vec<EventRow>> {
    Ok(svc.db.events_of(&reader.space().id).await?)
}

/// A document to attach.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewDocument {
    /// `lease`, `business_licence`, `financing_agreement`, `floor_plan` or `other`.
    pub kind: String,
    pub title: String,
    pub file_name: String,
    /// `application/pdf`, `image/png`, …
    pub content_type: String,
    /// The file, base64 (standard alphabet); at most 5 MiB decoded.
    pub content_base64: String,
    /// The residency it belongs to, if any.
    #[serde(default)]
    pub residency: Option<String>,
}

/// Attaches a document to the space (or a residency of it), stored with its SHA-256.
///
/// # Errors
/// [`super::Code::ValidationFailed`] (`too_large`, `invalid_base64`, …).
pub async fn attach_document(
    svc: &Services,
    op: &OperatorOf,
    req: &NewDocument,
    now: i64,
) -> ServiceResult<DocumentRow> {
    let mut e = ValidationErrors::default();
    let kind = e.take(choice("kind", &req.kind, DocumentKind::ALL, DocumentKind::as_str));
    let title = e.take(text("title", &req.title, 300));
    let file_name = e.take(text("file_name", &req.file_name, 255));
    let content_type = e.take(text("content_type", &req.content_type, 100).and_then(|t| {
        // A media type `type/subtype` of token characters: it is sent back as a header.
        let token =
            |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$&^_.+-".contains(&b));
        match t.split_once('/') {
            Some((a, b)) if token(a) && token(b) => Ok(t.to_ascii_lowercase()),
            _ => Err(crate::domain::FieldError::new(
                "content_type",
                "invalid_format",
                "must be a media type such as application/pdf",
            )),
        }
    }));
    let content = match base64::engine::general_purpose::STANDARD.decode(req.content_base64.trim()) {
        Ok(c) if c.is_empty() => {
            e.push(crate::domain::FieldError::new("content_base64", "required", "the file is empty"));
            None
        }
        Ok(c) if c.len() > MAX_DOCUMENT_BYTES => {
            e.push(crate::domain::FieldError::new("content_base64", "too_large", "at most 5 MiB"));
            None
        }
        Ok(c) => Some(c),
        Err(_) => {
            e.push(crate::domain::FieldError::new("content_base64", "invalid_base64", "must be base64"));
            None
        }
    };
    let residency = match req.residency.as_deref() {
        None => None,
        Some(id) => match svc.db.residency(id).await {
            Ok(r) if r.space_id == op.space().id => Some(r.id),
            Ok(_) | Err(StoreError::NotFound) => {
                e.push(crate::domain::FieldError::new(
                    "residency",
                    "unknown_residency",
                    "not a residency of this space",
                ));
                None
            }
            Err(err) => return Err(err.into()),
        },
    };
    let (Some(kind), Some(title), Some(file_name), Some(content_type), Some(content)) =
        (kind, title, file_name, content_type, content)
    else {
        return Err(e.into());
    };
    e.finish()?;
    let row = DocumentRow {
        id: crate::store::new_id(),
        space_id: op.space().id.clone(),
        residency_id: residency,
        kind: kind.as_str().into(),
        title,
        file_name,
        content_type,
        size_bytes: i64::try_from(content.len()).unwrap_or(i64::MAX),
        sha256: crate::domain::hex(&Sha256::digest(&content)),
        created_at: now,
        withdrawn_at: None,
    };
    svc.db.insert_document(&row, &content, op.id(), now).await?;
    Ok(row)
}

/// Withdraws a document.
///
/// # Errors
/// [`super::Code::NotFound`], [`super::Code::Forbidden`].
pub async fn withdraw_document(svc: &Services, who: &Identity, id: &str, now: i64) -> ServiceResult<DocumentRow> {
    let (row, _) = svc.db.document(id).await.map_err(missing("document"))?;
    let op = operator_of_space(svc, who, row.space_id.as_str(), "withdrawing a document").await?;
    svc.db.withdraw_document(id, op.id(), now).await.map_err(|e| match e {
        StoreError::NotFound => {
            ServiceError::new(super::Code::AlreadyEnded, "this document has already been withdrawn")
        }
        e => e.into(),
    })
}

/// The documents of a space (without content).
///
/// # Errors
/// Store errors.
pub async fn documents(svc: &Services, reader: &SpaceReader) -> ServiceResult<Vec<DocumentRow>> {
    Ok(svc.db.documents_of(&reader.space().id).await?)
}

/// A document with its content, for a reader of its space.
///
/// # Errors
/// [`super::Code::NotFound`], [`super::Code::Forbidden`].
pub async fn document(svc: &Services, who: &Identity, id: &str) -> ServiceResult<(DocumentRow, Vec<u8>)> {
    let (row, content) = svc.db.document(id).await.map_err(missing("document"))?;
    let space = find_space(svc, row.space_id.as_str()).await?;
    who.reader_of(space)
        .ok_or_else(|| ServiceError::forbidden("reading a space's documents needs the operator or reviewer role"))?;
    Ok((row, content))
}

/// A register's row kinds, for [`of_space`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegisterRow {
    AreaPart,
    Residency,
    Event,
    Document,
}

/// That the row `id` is one of `op`'s space: the consoles act on a space's rows only from its
/// own pages (an operator of two spaces, or an admin, cannot change one from the other's).
///
/// # Errors
/// [`super::Code::NotFound`] for a row of another space, or none.
pub async fn of_space(svc: &Services, op: &OperatorOf, row: RegisterRow, id: &str) -> ServiceResult<()> {
    let (space, what) = match row {
        RegisterRow::AreaPart => (svc.db.area_part(id).await.map(|r| r.space_id), "area part"),
        RegisterRow::Residency => (svc.db.residency(id).await.map(|r| r.space_id), "residency"),
        RegisterRow::Event => (svc.db.event(id).await.map(|r| r.space_id), "event"),
        RegisterRow::Document => (svc.db.document(id).await.map(|(r, _)| r.space_id), "document"),
    };
    match space {
        Ok(s) if s == op.space().id => Ok(()),
        Ok(_) | Err(StoreError::NotFound) => Err(ServiceError::not_found(what)),
        Err(e) => Err(e.into()),
    }
}
