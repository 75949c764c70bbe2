//! The waitlist: when a unit is taken, a maker can wait for that resource and time. When a
//! unit frees up (a cancellation, a declined request, a move, a no-show), the first waiting
//! request that now fits is booked automatically — confirmed, or pending where the resource
//! needs approval — and the maker is told in their notifications. We book rather than offer:
//! a maker who asked to wait has already said they want it, and an offer that expires unseen
//! would waste the freed time. They can cancel as usual.

use super::booking::{ForMaker, Placement, decide, entry_of, place, target};
use super::powers::Identity;
use super::{ServiceError, ServiceResult, Services};
use crate::domain::booking::{BookingKind, WaitStatus};
use crate::domain::ids::{ResourceId, UnitId};
use crate::domain::interval::Interval;
use crate::domain::{FieldError, ValidationErrors};
use crate::store::StoreError;
use crate::store::bookings::BookingRow;
use crate::store::waitlist::WaitRow;
use serde::Deserialize;
use utoipa::ToSchema;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct JoinWaitlist {
    pub resource: String,
    /// Wait for this unit only; absent: any unit of the resource.
    #[serde(default)]
    pub unit: Option<String>,
    pub start: String,
    pub end: String,
}

/// The signed-in maker waits for a resource (or one unit of it) and a time. It may fit at
/// once (the unit freed up while the maker was deciding).
///
/// # Errors
/// [`super::Code::ValidationFailed`].
pub async fn join(svc: &Services, who: &Identity, req: &JoinWaitlist, now: i64) -> ServiceResult<WaitRow> {
    let mut e = ValidationErrors::default();
    let start = e.take(super::booking::instant_in_reach("start", &req.start, now));
    let end = e.take(super::booking::instant_in_reach("end", &req.end, now));
    let target = target(svc, Some(who.catalog_version), Some(&req.resource), None, &mut e).await?;
    let (Some(start), Some(end), Some((entry, _))) = (start, end, target) else { return Err(e.into()) };
    if end <= start {
        e.push(FieldError::new("end", "before_start", "must be after start"));
    }
    if start <= now {
        e.push(FieldError::new("start", "in_the_past", "the start has passed"));
    }
    let unit = match req.unit.as_deref() {
        Some(u) => match svc.db.unit(&UnitId::new(u)).await {
            Ok(x) if x.resource_id == entry.resource.id => Some(x.id),
            Ok(_) | Err(StoreError::NotFound) => {
                e.push(FieldError::new("unit", "unknown_unit", "no unit of this resource has this id"));
                None
            }
            // A failing database is not an unknown unit.
            Err(err) => return Err(err.into()),
        },
        None => None,
    };
    e.finish()?;
    let row = svc.db.join_waitlist(who.id(), &entry.resource.id, unit.as_ref(), start, end, now).await?;
    promote(svc, &entry.resource.id, now).await;
    Ok(svc.db.wait_entry(&row.id).await?)
}

/// The signed-in maker's waitlist entries.
///
/// # Errors
/// Store errors.
pub async fn mine(svc: &Services, who: &Identity) -> ServiceResult<Vec<WaitRow>> {
    Ok(svc.db.waitlist_of(who.id()).await?)
}

/// The signed-in maker leaves the waitlist: their waiting entry `id` is cancelled.
///
/// # Errors
/// [`super::Code::NotFound`] (also for someone else's entry, or one no longer waiting).
pub async fn leave(svc: &Services, who: &Identity, id: &str) -> ServiceResult<()> {
    let entry = svc.db.wait_entry(id).await.map_err(ServiceError::missing("waitlist entry"))?;
    if &entry.account_id != who.id()
        || !svc.db.move_wait_entry(id, WaitStatus::Waiting, WaitStatus::Cancelled, None).await?
    {
        return Err(ServiceError::not_found("waitlist entry"));
    }
    Ok(())
}

/// Books the first waiting requests of a resource that now fit. Failures are logged, not
/// returned: the change that freed the unit has already succeeded.
pub async fn promote(svc: &Services, resource_id: &ResourceId, now: i64) {
    if let Err(e) = try_promote(svc, resource_id, now).await {
        tracing::error!(resource = %resource_id, error = %e, "waitlist promotion failed");
    }
}

async fn try_promote(svc: &Services, resource_id: &ResourceId, now: i64) -> ServiceResult<()> {
    for w in svc.db.waiting_for(resource_id).await? {
        if w.starts_at <= now {
            svc.db.move_wait_entry(&w.id, WaitStatus::Waiting, WaitStatus::Expired, None).await?;
            continue;
        }
        // Claim it, so that another node promoting at the same moment skips it.
        if !svc.db.move_wait_entry(&w.id, WaitStatus::Waiting, WaitStatus::Offered, None).await? {
            continue;
        }
        match book_for(svc, &w, now).await {
            Ok(Some(row)) => {
                svc.db.move_wait_entry(&w.id, WaitStatus::Offered, WaitStatus::Fulfilled, Some(&row.id)).await?;
                svc.db.notify(&w.account_id, "waitlist_booked", &super::notify::booking_payload(&row), now).await?;
                tracing::info!(waitlist = %w.id, booking = %row.id, "waitlist request booked");
            }
            Ok(None) => {
                svc.db.move_wait_entry(&w.id, WaitStatus::Offered, WaitStatus::Waiting, None).await?;
            }
            Err(e) => {
                svc.db.move_wait_entry(&w.id, WaitStatus::Offered, WaitStatus::Waiting, None).await?;
                return Err(e);
            }
        }
    }
    Ok(())
}

async fn book_for(svc: &Services, w: &WaitRow, now: i64) -> ServiceResult<Option<BookingRow>> {
    let entry = entry_of(svc, None, &w.resource_id).await.map_err(ServiceError::missing("resource"))?;
    let span = Interval::new(w.starts_at, w.ends_at).map_err(ServiceError::internal)?;
    let d =
        decide(svc, &entry, ForMaker::by_id(&w.account_id), span, w.unit_id.as_ref(), BookingKind::Single, now).await?;
    if !d.violations.is_empty() {
        // The maker can no longer book it (a training lapsed, a quota is full): keep waiting.
        return Ok(None);
    }
    let t = Placement {
        entry: &entry,
        unit: w.unit_id.as_ref(),
        team: None,
        purpose: "waitlist",
        kind: BookingKind::Single,
    };
    place(svc, &w.account_id, &t, &d, span, now).await
}
