//! Check-in: codes for makers, kiosks (registered and paired by operators), scans, walk-ups,
//! operators' manual check-in and check-out, metered sessions, the no-show and automatic
//! check-out jobs, access events, and the evidence ledger.

use super::booking::{Placement, assemble, entry_of, maker_facts, place};
use super::catalog::{policy_of, stored_policy};
use super::powers::{Identity, Operated, OperatorOf, SpaceReader};
use super::throttle::Counted;
use super::{Code, ServiceError, ServiceResult, Services};
use crate::domain::booking::{BookingKind, BookingStatus, Change};
use crate::domain::calendar::MINUTE_MS;
use crate::domain::checkin::{
    self as codes, BookingAtKiosk, DenyReason, Outcome, ScanDecision, Scanned, SessionOrigin,
};
use crate::domain::ids::{AccountId, BookingId, ResourceId};
use crate::domain::interval::Interval;
use crate::events::AccessEvent;
use crate::store::StoreError;
use crate::store::bookings::BookingRow;
use crate::store::catalog::SpaceRow;
use crate::store::checkin::{Actor, KioskRow, MeteredSession};
use serde::Deserialize;
use std::collections::BTreeSet;
use utoipa::ToSchema;

const KIOSK_TOKEN_PREFIX: &str = "lbk_";
const PAIRING_MINUTES: i64 = 15;
/// A second read of the same code within this time (a scanner that fires twice) repeats
/// the check-in answer instead of checking out.
const REPEAT_MS: i64 = 3_000;
use super::JOB_BATCH as BATCH;

// ---------- codes ----------

/// A booking's check-in code: the text of its QR code and the short typed form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeText {
    pub qr: String,
    pub short: String,
}

/// The check-in code of a booking, for its owner. `None` for bookings that can no longer
/// check in or out.
pub fn code_of(svc: &Services, b: &BookingRow) -> Option<CodeText> {
    if !b.status.is_live() {
        return None;
    }
    Some(CodeText {
        qr: codes::booking_code(&svc.secret, b.id.as_str(), &b.checkin_nonce)?,
        short: codes::display_short(&b.checkin_nonce),
    })
}

/// The QR text of the signed-in maker's own live booking `id`.
///
/// # Errors
/// [`Code::NotFound`] (also for another maker's booking), [`Code::NotCheckable`].
pub async fn own_booking_code(svc: &Services, who: &Identity, id: &str) -> ServiceResult<String> {
    let b = super::booking::find(svc, id).await?;
    if &b.account_id != who.id() {
        return Err(ServiceError::not_found("booking"));
    }
    code_of(svc, &b)
        .map(|c| c.qr)
        .ok_or_else(|| ServiceError::new(Code::NotCheckable, format!("a {} booking has no check-in code", b.status)))
}

/// The signed-in maker's personal code: at a kiosk it checks in their booking there, or
/// starts a walk-up.
///
/// # Errors
/// [`Code::Internal`] for an account id that is not a UUID.
pub fn personal_code(svc: &Services, who: &Identity) -> ServiceResult<String> {
    codes::personal_code(&svc.secret, who.id().as_str())
        .ok_or_else(|| ServiceError::internal(anyhow::anyhow!("account id {} is not a UUID", who.id())))
}

// ---------- kiosks (operators) ----------

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateKiosk {
    /// Where it stands, e.g. "Front door" or "Laser room".
    pub name: String,
    /// A kiosk at one resource: walk-ups scanned here go to it.
    #[serde(default)]
    pub resource: Option<String>,
}

/// A kiosk with the one-time code that pairs its device, and until when it works.
#[derive(Debug)]
pub struct Pairing {
    pub kiosk: KioskRow,
    pub code: String,
    pub expires_at: i64,
}

fn fresh_pairing_code() -> ServiceResult<String> {
    let raw = crate::auth::random_bytes::<8>().map_err(ServiceError::internal)?;
    let mut ten = [0u8; codes::SHORT_LEN];
    ten[..8].copy_from_slice(&raw);
    Ok(codes::short_code(&ten)[..8].to_owned())
}

/// The operator of the space `slug`, in the kiosks' words.
///
/// # Errors
/// [`Code::NotFound`], [`Code::Forbidden`].
pub async fn kiosk_operator(svc: &Services, who: &Identity, slug: &str) -> ServiceResult<OperatorOf> {
    super::powers::operator_of(svc, who, slug, "this needs the operator role for the space").await
}

/// Registers a kiosk for the space and returns its one-time pairing code.
///
/// # Errors
/// [`Code::ValidationFailed`].
pub async fn create_kiosk(svc: &Services, op: &OperatorOf, req: &CreateKiosk, now: i64) -> ServiceResult<Pairing> {
    let space = op.space();
    let name = req.name.trim();
    if name.is_empty() || name.chars().count() > 80 {
        return Err(ServiceError::invalid_field("name", "invalid_length", "give a name of 1 to 80 characters"));
    }
    if let Some(r) = &req.resource {
        match svc.db.resource(&ResourceId::new(r.as_str())).await {
            Ok(res) if res.space_id == space.id => {}
            Ok(_) | Err(StoreError::NotFound) => {
                return Err(ServiceError::invalid_field(
                    "resource",
                    "unknown_resource",
                    "no resource of this space has this id",
                ));
            }
            Err(e) => return Err(e.into()),
        }
    }
    let code = fresh_pairing_code()?;
    let expires_at = now + PAIRING_MINUTES * 60_000;
    let id = svc
        .db
        .insert_kiosk(
            &space.id,
            req.resource.as_deref().map(ResourceId::new).as_ref(),
            name,
            &crate::auth::token_hash(&code),
            expires_at,
            op.id(),
            now,
        )
        .await?;
    let kiosk = svc.db.kiosk(&id).await?;
    tracing::info!(kiosk = %id, space = %space.slug, "kiosk registered");
    Ok(Pairing { kiosk, code, expires_at })
}

/// The kiosks of the space.
///
/// # Errors
/// Store errors.
pub async fn kiosks(svc: &Services, op: &OperatorOf) -> ServiceResult<Vec<KioskRow>> {
    Ok(svc.db.kiosks_of(&op.space().id).await?)
}

/// A kiosk that the signed-in operator runs (anyone else is not told it exists).
///
/// # Errors
/// [`Code::NotFound`].
pub async fn operated_kiosk(svc: &Services, who: &Identity, id: &str) -> ServiceResult<Operated<KioskRow>> {
    let k = svc.db.kiosk(id).await.map_err(ServiceError::missing("kiosk"))?;
    if !who.operates(&k.space_id) {
        return Err(ServiceError::not_found("kiosk"));
    }
    let space = svc.db.space(k.space_id.as_str()).await?;
    let op = who.operator_of(space).ok_or_else(|| ServiceError::not_found("kiosk"))?;
    Ok(Operated::new(op, k))
}

/// Revokes a kiosk of the operator's space: its device token stops working at once.
///
/// # Errors
/// Store errors.
pub async fn revoke_kiosk(svc: &Services, k: &Operated<KioskRow>, now: i64) -> ServiceResult<KioskRow> {
    let by = k.op().id();
    let k = k.row();
    svc.db.revoke_kiosk(&k.id, now).await?;
    tracing::info!(kiosk = %k.id, %by, "kiosk revoked");
    Ok(svc.db.kiosk(&k.id).await?)
}

/// A new pairing code for a kiosk of the operator's space (a replaced tablet); the old
/// device token stops working.
///
/// # Errors
/// [`Code::KioskAlreadyRevoked`].
pub async fn new_pairing_code(svc: &Services, k: &Operated<KioskRow>, now: i64) -> ServiceResult<Pairing> {
    let k = k.row();
    let code = fresh_pairing_code()?;
    let expires_at = now + PAIRING_MINUTES * 60_000;
    if !svc.db.repair_kiosk(&k.id, &crate::auth::token_hash(&code), expires_at).await? {
        return Err(ServiceError::new(
            Code::KioskAlreadyRevoked,
            "a revoked kiosk cannot be paired again; register a new one",
        ));
    }
    Ok(Pairing { kiosk: svc.db.kiosk(&k.id).await?, code, expires_at })
}

/// The latest scans of a kiosk of the operator's space (granted and denied), newest first:
/// (booking, decision, reason, scanned at).
///
/// # Errors
/// Store errors.
pub async fn kiosk_scans(
    svc: &Services,
    k: &Operated<KioskRow>,
) -> ServiceResult<Vec<(Option<BookingId>, ScanDecision, Option<String>, i64)>> {
    Ok(svc.db.scans_of(&k.row().id, 200).await?)
}

// ---------- the kiosk device ----------

/// A paired, unrevoked kiosk: the power a kiosk device acts with.
#[derive(Debug, Clone)]
pub struct Kiosk(pub KioskRow);

/// The kiosk whose device token this is.
///
/// # Errors
/// [`Code::KioskUnauthenticated`] for no kiosk token, [`Code::KioskRevoked`].
pub async fn kiosk_for_token(svc: &Services, token: Option<&str>) -> ServiceResult<Kiosk> {
    let token = token.filter(|t| t.starts_with(KIOSK_TOKEN_PREFIX)).ok_or_else(|| {
        ServiceError::new(Code::KioskUnauthenticated, "this needs a kiosk's device token; pair the kiosk first")
    })?;
    let k =
        svc.db.kiosk_for_token(&crate::auth::token_hash(token)).await?.ok_or_else(|| {
            ServiceError::new(Code::KioskRevoked, "this kiosk was revoked or re-paired; pair it again")
        })?;
    Ok(Kiosk(k))
}

/// A kiosk device, paired: its device token (shown once), the kiosk and its space.
#[derive(Debug)]
pub struct Paired {
    pub token: String,
    pub kiosk: KioskRow,
    pub space: SpaceRow,
}

/// Exchanges a pairing code for the kiosk's device token (once), for a request from `from`:
/// a wrong code counts as a failure of that address ([`super::throttle`]).
///
/// # Errors
/// [`Code::InvalidPairingCode`], [`Code::TooManyRequests`].
pub async fn pair(
    svc: &Services,
    pairing_code: &str,
    from: Option<std::net::IpAddr>,
    now: i64,
) -> ServiceResult<Paired> {
    let (address, limit) = (super::throttle::address_key(from), svc.config.throttle.address_failures);
    // Counted before the code is tried, given back unless it was wrong: parallel guesses
    // cannot pass the limit together.
    svc.throttles.hit(Counted::AddressFailures, &address, limit, now)?;
    let paired = pair_code(svc, pairing_code, now).await;
    if !matches!(&paired, Err(e) if e.code == Code::InvalidPairingCode) {
        svc.throttles.release(Counted::AddressFailures, &address);
    }
    paired
}

async fn pair_code(svc: &Services, pairing_code: &str, now: i64) -> ServiceResult<Paired> {
    let code: String =
        pairing_code.chars().filter(|c| c.is_ascii_alphanumeric()).map(|c| c.to_ascii_uppercase()).collect();
    let token = format!(
        "{KIOSK_TOKEN_PREFIX}{}",
        crate::auth::to_hex(&crate::auth::random_bytes::<32>().map_err(ServiceError::internal)?)
    );
    let Some(id) = svc.db.pair_kiosk(&crate::auth::token_hash(&code), &crate::auth::token_hash(&token), now).await?
    else {
        return Err(ServiceError::new(
            Code::InvalidPairingCode,
            "this pairing code is unknown, used or expired; ask an operator for a new one",
        ));
    };
    let kiosk = svc.db.kiosk(&id).await?;
    tracing::info!(kiosk = %id, "kiosk paired");
    let space = svc.db.space(kiosk.space_id.as_str()).await?;
    Ok(Paired { token, kiosk, space })
}

/// The space a kiosk stands in.
///
/// # Errors
/// Store errors.
pub async fn kiosk_space(svc: &Services, k: &Kiosk) -> ServiceResult<SpaceRow> {
    Ok(svc.db.space(k.0.space_id.as_str()).await?)
}

/// What a scan decided.
#[derive(Debug)]
pub enum Scan {
    /// Checked in (`check_in`) or out; `walk_up` when a walk-up made the booking.
    Granted { booking: BookingRow, session: Box<MeteredSession>, check_in: bool, walk_up: bool },
    /// A participant checked in at an event with its code: `first` unless they already
    /// had (then `at` is that first time and nothing changed).
    Attended { event: Box<crate::store::registers::EventRow>, zone: chrono_tz::Tz, at: i64, first: bool },
    /// An event code refused, with why and, for `too_early`, when the doors open.
    EventDenied {
        reason: DenyReason,
        event: Box<crate::store::registers::EventRow>,
        zone: chrono_tz::Tz,
        allowed_from: Option<i64>,
    },
    /// Refused, with why, the booking it was about (if known) and, for `too_early`, when
    /// check-in opens.
    Denied { reason: DenyReason, booking: Option<BookingRow>, allowed_from: Option<i64> },
}

/// A kiosk read a code (a booking's QR code, a typed short code or a maker's personal code):
/// check in, check out, or deny with a reason. Every scan is recorded.
///
/// Codes that are unknown or forged count against the kiosk: past `kiosk_refusals_per_minute`
/// it reads no code until the minute is over ([`super::throttle`]); such a refused request is
/// answered 429 and not recorded as a scan.
///
/// # Errors
/// Store errors, [`Code::TooManyRequests`].
pub async fn scan(svc: &Services, k: &Kiosk, code: &str, now: i64) -> ServiceResult<Scan> {
    let limit = svc.config.throttle.kiosk_refusals;
    // Counted before, given back unless the code was unknown or forged (so parallel forgeries
    // cannot pass the limit together).
    svc.throttles.hit(Counted::KioskRefusals, k.0.id.as_str(), limit, now)?;
    let scanned = scan_code(svc, k, code, now).await;
    let forged = matches!(&scanned, Ok(Scan::Denied { reason: DenyReason::Unknown | DenyReason::Forged, .. }));
    if !forged {
        svc.throttles.release(Counted::KioskRefusals, k.0.id.as_str());
    }
    let scanned = scanned?;
    let decision = match &scanned {
        Scan::Granted { check_in: true, .. } => "check_in",
        Scan::Granted { check_in: false, .. } => "check_out",
        Scan::Attended { .. } => "attend",
        Scan::EventDenied { .. } | Scan::Denied { .. } => "deny",
    };
    crate::metrics::METRICS.scans.get_or_create(&crate::metrics::ScanLabels { decision: decision.to_owned() }).inc();
    Ok(scanned)
}

async fn scan_code(svc: &Services, k: &Kiosk, code: &str, now: i64) -> ServiceResult<Scan> {
    let k = &k.0;
    if code.len() > 512 {
        return deny(svc, k, None, DenyReason::Unknown, None, now).await;
    }
    match codes::parse(&svc.secret, code) {
        Scanned::Unknown => deny(svc, k, None, DenyReason::Unknown, None, now).await,
        Scanned::Forged => deny(svc, k, None, DenyReason::Forged, None, now).await,
        Scanned::Booking { id, tag } => match svc.db.booking(&BookingId::new(id)).await {
            Err(StoreError::NotFound) => deny(svc, k, None, DenyReason::Unknown, None, now).await,
            Err(e) => Err(e.into()),
            Ok(b) if !codes::verify_booking(&svc.secret, b.id.as_str(), &b.checkin_nonce, &tag) => {
                deny(svc, k, None, DenyReason::Forged, None, now).await
            }
            Ok(b) => act(svc, k, b, now, false).await,
        },
        Scanned::Short(short) => {
            let mut found = svc.db.bookings_by_nonce(&short).await?;
            if found.len() == 1 {
                act(svc, k, found.remove(0), now, false).await
            } else {
                deny(svc, k, None, DenyReason::Unknown, None, now).await
            }
        }
        Scanned::Person { account_id } => personal_scan(svc, k, &AccountId::new(account_id), now).await,
        Scanned::Event { event_id, account_id } => {
            event_scan(svc, k, &event_id, &AccountId::new(account_id), now).await
        }
    }
}

/// How long before an event's start its participants may check in.
pub const EVENT_DOORS_OPEN_MS: i64 = 30 * MINUTE_MS;

/// An event code: the participant's attendance is recorded once (metered, in the ledger),
/// at a kiosk of the event's space, from [`EVENT_DOORS_OPEN_MS`] before its start to its end,
/// while their registration stands.
async fn event_scan(
    svc: &Services,
    k: &KioskRow,
    event_id: &str,
    account: &AccountId,
    now: i64,
) -> ServiceResult<Scan> {
    let event = match svc.db.event(event_id).await {
        Ok(e) => e,
        Err(StoreError::NotFound) => return deny(svc, k, None, DenyReason::Unknown, None, now).await,
        Err(e) => return Err(e.into()),
    };
    let reason = if event.space_id != k.space_id {
        Some((DenyReason::WrongSpace, None))
    } else if event.cancelled_at.is_some() {
        Some((DenyReason::Cancelled, None))
    } else if svc.db.registration(&event.id, account).await?.is_none() {
        Some((DenyReason::NotRegistered, None))
    } else if now < event.starts_at - EVENT_DOORS_OPEN_MS {
        Some((DenyReason::TooEarly, Some(event.starts_at - EVENT_DOORS_OPEN_MS)))
    } else if now >= event.ends_at {
        Some((DenyReason::EventEnded, None))
    } else {
        None
    };
    let zone = super::catalog::zone_of(&svc.db.space(k.space_id.as_str()).await?)?.tz();
    if let Some((reason, at)) = reason {
        record_denial(svc, k, None, reason, now).await?;
        return Ok(Scan::EventDenied { reason, event: Box::new(event), zone, allowed_from: at });
    }
    let (at, first) = svc.db.record_attendance(&event.id, account, &k.id, now).await?;
    tracing::info!(kiosk = %k.id, event = %event.id, %account, first, "event attendance");
    let event = svc.db.event(&event.id).await?;
    Ok(Scan::Attended { event: Box::new(event), zone, at, first })
}

/// A personal code: check out what is checked in, else check in what is due, else walk up.
async fn personal_scan(svc: &Services, k: &KioskRow, account: &AccountId, now: i64) -> ServiceResult<Scan> {
    let near = svc.db.bookings_near(account, &k.space_id, now - 86_400_000, now + 86_400_000).await?;
    if let Some(b) = near.iter().find(|b| b.status == BookingStatus::CheckedIn) {
        return act(svc, k, b.clone(), now, false).await;
    }
    for b in &near {
        if outcome(svc, k, b, now).await? == Outcome::CheckIn {
            return act(svc, k, b.clone(), now, false).await;
        }
    }
    match walk_up(svc, k, account, now).await? {
        Some(b) => act(svc, k, b, now, true).await,
        None => deny(svc, k, None, DenyReason::NoBooking, None, now).await,
    }
}

/// Books a unit that is free from now (until the opening window closes, the next booking,
/// or the longest booking allowed) on the kiosk's resource, or a walk-up resource of the space.
async fn walk_up(svc: &Services, k: &KioskRow, account: &AccountId, now: i64) -> ServiceResult<Option<BookingRow>> {
    let resources = match &k.resource_id {
        Some(r) => vec![svc.db.resource(r).await?],
        None => svc.db.resources_of(&k.space_id).await?,
    };
    let start = now - now.rem_euclid(MINUTE_MS);
    for resource in resources.iter().filter(|r| r.archived_at.is_none()) {
        let policy = stored_policy(resource)?;
        if !policy.walk_ups_allowed || policy.requires_approval {
            continue;
        }
        let longest =
            Interval::new(start, start + policy.max_minutes.max(1) * MINUTE_MS).map_err(ServiceError::internal)?;
        let entry = entry_of(svc, None, &resource.id).await?;
        let blocks = svc.db.blocked_intervals(&entry.resource, longest).await?;
        let loaded = assemble(&entry, longest, None, &blocks)?;
        let Some(window) = loaded.open().into_iter().find(|w| w.contains_instant(start)) else { continue };
        let Some((unit, until)) = crate::domain::allocation::walk_up(
            &loaded.units,
            start,
            window.end().min(longest.end()),
            policy.buffer_before_minutes * MINUTE_MS,
            policy.buffer_after_minutes * MINUTE_MS,
            policy.min_minutes.clamp(1, 15) * MINUTE_MS,
        ) else {
            continue;
        };
        let span = Interval::new(start, until).map_err(ServiceError::internal)?;
        let (facts, _) = maker_facts(svc, account, &entry, &loaded, start, None, now).await?;
        // From now until it must end: no slot, length or notice rule applies (`judge`).
        let blocking = loaded.judge(&facts, span, Some(&unit.id), BookingKind::WalkUp, Change::Create, now).violations;
        if !blocking.is_empty() {
            tracing::info!(%account, resource = %resource.id, rules = ?blocking.iter().map(|v| &v.rule).collect::<Vec<_>>(), "walk-up refused");
            continue;
        }
        let unit = unit.id.clone();
        let d = loaded.decision(vec![]);
        let t =
            Placement { entry: &entry, unit: Some(&unit), team: None, purpose: "walk-up", kind: BookingKind::WalkUp };
        if let Some(b) = place(svc, account, &t, &d, span, now).await? {
            return Ok(Some(b));
        }
    }
    Ok(None)
}

async fn deny(
    svc: &Services,
    k: &KioskRow,
    b: Option<&BookingRow>,
    reason: DenyReason,
    at: Option<i64>,
    now: i64,
) -> ServiceResult<Scan> {
    record_denial(svc, k, b, reason, now).await?;
    Ok(Scan::Denied { reason, booking: b.cloned(), allowed_from: at })
}

/// Records a denied scan (the scan row, and the log line).
async fn record_denial(
    svc: &Services,
    k: &KioskRow,
    b: Option<&BookingRow>,
    reason: DenyReason,
    now: i64,
) -> ServiceResult<()> {
    svc.db.record_scan(&k.id, &k.space_id, b.map(|b| &b.id), reason.code(), now).await?;
    tracing::info!(kiosk = %k.id, reason = reason.code(), booking = ?b.map(|b| &b.id), "scan denied");
    Ok(())
}

/// Publishes the access event of a committed check-in or check-out.
pub async fn announce(svc: &Services, b: &BookingRow, s: &MeteredSession, check_in: bool, now: i64) {
    let event = AccessEvent {
        action: if check_in { ScanDecision::CheckIn } else { ScanDecision::CheckOut }.as_str().into(),
        space: b.space_slug.clone(),
        unit: b.unit_id.to_string(),
        unit_label: b.unit_label.clone(),
        resource: b.resource_id.to_string(),
        maker: b.account_id.to_string(),
        booking: b.id.to_string(),
        session: s.id.clone(),
        until: check_in.then(|| crate::clock::rfc3339(b.ends_at)),
        at: crate::clock::rfc3339(now),
        by: if check_in { s.opened_by } else { s.closed_by.unwrap_or(SessionOrigin::Automatic) }.as_str().to_owned(),
    };
    svc.events.publish(&svc.db, &event, now).await;
}

async fn trainings_valid(svc: &Services, b: &BookingRow, required: &[String], now: i64) -> ServiceResult<bool> {
    if required.is_empty() {
        return Ok(true);
    }
    let holds = svc.db.training_holds(&b.account_id).await?;
    Ok(required.iter().all(|slug| holds.iter().any(|(s, exp)| s == slug && exp.is_none_or(|e| e > now))))
}

/// What the kiosk rule says about `b` at `now`.
async fn outcome(svc: &Services, k: &KioskRow, b: &BookingRow, now: i64) -> ServiceResult<Outcome> {
    let policy = policy_of(&b.resource_id, &b.resource_kind, &b.resource_policy)?;
    let facts = BookingAtKiosk {
        status: b.status,
        starts_at: b.starts_at,
        ends_at: b.ends_at,
        same_space: b.space_id == k.space_id,
        checkin_opens_minutes_before: policy.checkin_opens_minutes_before,
        no_show_grace_minutes: policy.no_show_grace_minutes,
        trainings_valid: trainings_valid(svc, b, &policy.required_trainings, now).await?,
    };
    Ok(codes::decide(&facts, now))
}

async fn act(svc: &Services, k: &KioskRow, b: BookingRow, now: i64, walk_up: bool) -> ServiceResult<Scan> {
    let actor = Actor {
        how: if walk_up { SessionOrigin::WalkUp } else { SessionOrigin::Kiosk },
        kiosk_id: Some(&k.id),
        operator_id: None,
        note: None,
    };
    match outcome(svc, k, &b, now).await? {
        Outcome::CheckIn => match svc.db.check_in(&b, &actor, now).await? {
            Some(s) => {
                tracing::info!(kiosk = %k.id, booking = %b.id, session = %s.id, "checked in");
                announce(svc, &b, &s, true, now).await;
                Ok(Scan::Granted { booking: b, session: Box::new(s), check_in: true, walk_up })
            }
            // Another kiosk or a job changed it since we read it: decide on what is there now.
            None => {
                let fresh = svc.db.booking(&b.id).await?;
                match outcome(svc, k, &fresh, now).await? {
                    Outcome::Deny(r, at) => deny(svc, k, Some(&fresh), r, at, now).await,
                    _ => repeat_check_in(svc, k, fresh, now).await,
                }
            }
        },
        Outcome::CheckOut if now - b.updated_at < REPEAT_MS => repeat_check_in(svc, k, b, now).await,
        Outcome::CheckOut => match svc.db.check_out(&b.id, &actor, now, now).await? {
            Some(s) => {
                tracing::info!(kiosk = %k.id, booking = %b.id, session = %s.id, "checked out");
                announce(svc, &b, &s, false, now).await;
                Ok(Scan::Granted { booking: b, session: Box::new(s), check_in: false, walk_up: false })
            }
            None => deny(svc, k, Some(&b), DenyReason::AlreadyCheckedOut, None, now).await,
        },
        Outcome::Deny(r, at) => deny(svc, k, Some(&b), r, at, now).await,
    }
}

/// A scanner that read the code twice: answer the check-in again, change nothing.
async fn repeat_check_in(svc: &Services, k: &KioskRow, b: BookingRow, now: i64) -> ServiceResult<Scan> {
    match svc.db.metered_sessions_of(&b.id).await?.into_iter().rev().find(|s| s.ended_at.is_none()) {
        Some(s) if b.status == BookingStatus::CheckedIn => {
            Ok(Scan::Granted { booking: b, session: Box::new(s), check_in: true, walk_up: false })
        }
        _ => deny(svc, k, Some(&b), DenyReason::AlreadyCheckedOut, None, now).await,
    }
}

/// The largest frame [`decode_frame`] reads: 640 × 480 bytes of grey.
pub const MAX_FRAME_BYTES: usize = 640 * 480;

/// Decodes one camera frame (`width × height` bytes of 8-bit grey, row by row, at most
/// 640 × 480) for kiosks whose browser cannot: the text of the first QR code found.
///
/// # Errors
/// [`Code::ValidationFailed`] for a frame of the wrong size.
pub async fn decode_frame(_k: &Kiosk, width: u32, height: u32, frame: Vec<u8>) -> ServiceResult<Option<String>> {
    let (w, h) = (width as usize, height as usize);
    if w == 0 || h == 0 || w > 640 || h > 480 || frame.len() != w * h {
        return Err(ServiceError::invalid_field(
            "body",
            "bad_frame",
            "send width × height grey bytes, at most 640 × 480, with width and height in the query",
        ));
    }
    tokio::task::spawn_blocking(move || {
        let mut img = rqrr::PreparedImage::prepare_from_greyscale(w, h, |x, y| frame[y * w + x]);
        img.detect_grids().into_iter().find_map(|g| g.decode().ok().map(|(_, text)| text))
    })
    .await
    .map_err(ServiceError::internal)
}

// ---------- operators: by hand ----------

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ManualBody {
    /// Why this was done by hand (kept in the ledger).
    pub reason: String,
}

/// An operator of a booking's space checks it in (a maker without a phone, a broken kiosk;
/// it also corrects a no-show) or out by hand, with a reason kept in the ledger.
///
/// # Errors
/// [`Code::NotFound`], [`Code::Forbidden`], [`Code::ValidationFailed`], [`Code::NotCheckable`],
/// [`Code::NotCheckedIn`].
pub async fn by_hand(
    svc: &Services,
    who: &Identity,
    id: &str,
    body: &ManualBody,
    check_in: bool,
    now: i64,
) -> ServiceResult<MeteredSession> {
    let b = super::booking::find(svc, id).await?;
    if !who.operates(&b.space_id) {
        return Err(who.not_operator_of_booking(&b.account_id, "this needs the operator role for the booking's space"));
    }
    let reason = body.reason.trim();
    if reason.is_empty() || reason.chars().count() > 500 {
        return Err(ServiceError::invalid_field("reason", "required", "say why, in 1 to 500 characters"));
    }
    let actor = Actor { how: SessionOrigin::Operator, kiosk_id: None, operator_id: Some(who.id()), note: Some(reason) };
    let s = if check_in {
        svc.db.check_in_manual(&b, &actor, now).await?.ok_or_else(|| {
            ServiceError::new(Code::NotCheckable, format!("a {} booking cannot be checked in", b.status))
        })?
    } else {
        svc.db
            .check_out(&b.id, &actor, now, now)
            .await?
            .ok_or_else(|| ServiceError::new(Code::NotCheckedIn, format!("a {} booking is not checked in", b.status)))?
    };
    announce(svc, &b, &s, check_in, now).await;
    Ok(s)
}

/// The metered sessions of a booking (its owner, the space's operators, reviewers).
///
/// # Errors
/// [`Code::NotFound`].
pub async fn sessions_of_booking(svc: &Services, who: &Identity, id: &str) -> ServiceResult<Vec<MeteredSession>> {
    let b = super::booking::show(svc, who, id).await?;
    Ok(svc.db.metered_sessions_of(&b.id).await?)
}

/// The metered sessions of a space that started in `[from, to)` (operators, reviewers).
///
/// # Errors
/// Store errors.
pub async fn sessions_of_space(
    svc: &Services,
    reader: &SpaceReader,
    from: i64,
    to: i64,
) -> ServiceResult<Vec<MeteredSession>> {
    Ok(svc.db.metered_sessions(Some(&reader.space().id), from, to, 5000).await?)
}

// ---------- the ledger ----------

/// The head of the evidence ledger: (entries, SHA-256 of the newest), for reviewers,
/// operators and admins.
///
/// # Errors
/// [`Code::Forbidden`].
pub async fn ledger_head(svc: &Services, who: &Identity) -> ServiceResult<(i64, String)> {
    super::log::may_read(who)?;
    Ok(svc.db.ledger_head().await?)
}

/// Recomputes the ledger's chain and checks the evidence rows against it: `Ok((entries,
/// head))`, or `Err(why)` naming the first entry or row that was altered, inserted or removed.
/// It reads and writes nothing else (no check-in secret), so `labinn verify-ledger` works
/// with a read-only database role.
///
/// # Errors
/// Store errors.
pub async fn verify_ledger(db: &crate::store::Db) -> ServiceResult<Result<(i64, String), String>> {
    Ok(db.verify_ledger().await?)
}

// ---------- jobs ----------

/// Marks every due no-show (confirmed bookings not checked in by their start + the
/// resource's grace), then offers the freed time to the waitlists. Returns how many.
///
/// # Errors
/// Store errors.
pub async fn release_no_shows(svc: &Services, now: i64) -> ServiceResult<usize> {
    let mut total = 0;
    let mut resources = BTreeSet::new();
    loop {
        let batch = svc.db.release_no_shows(now, BATCH).await?;
        total += batch.len();
        resources.extend(batch.iter().map(|r| r.resource_id.clone()));
        if (batch.len() as i64) < BATCH {
            break;
        }
    }
    for r in &resources {
        super::waitlist::promote(svc, r, now).await;
    }
    if total > 0 {
        tracing::info!(no_shows = total, resources = resources.len(), "released no-shows");
    }
    Ok(total)
}

/// Closes sessions still open at their booking's end + the check-out grace, as `automatic`
/// at that instant, with the overstay recorded. Returns how many.
///
/// # Errors
/// Store errors.
pub async fn auto_check_out(svc: &Services, now: i64) -> ServiceResult<usize> {
    let grace = svc.config.checkout_grace_minutes * 60_000;
    let actor =
        Actor { how: SessionOrigin::Automatic, kiosk_id: None, operator_id: None, note: Some("no check-out scanned") };
    let mut total = 0;
    loop {
        let due = svc.db.overdue_check_outs(now, grace, BATCH).await?;
        for (booking, ends_at) in &due {
            if let Some(s) = svc.db.check_out(booking, &actor, ends_at + grace, now).await? {
                total += 1;
                if let Ok(b) = svc.db.booking(booking).await {
                    announce(svc, &b, &s, false, now).await;
                }
            }
        }
        if (due.len() as i64) < BATCH {
            break;
        }
    }
    if total > 0 {
        tracing::info!(checked_out = total, "closed sessions automatically");
    }
    Ok(total)
}
