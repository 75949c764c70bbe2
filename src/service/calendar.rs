//! Calendar feeds (RFC 5545): a maker's own bookings by a secret URL that they can renew and
//! revoke, one booking, and a resource's busy times with no names. This module decides what
//! goes in a feed and who may read it; `crate::http::ics` writes the iCalendar text.

use super::powers::Identity;
use super::{ServiceError, ServiceResult, Services};
use crate::domain::calendar::DAY_MS;
use crate::domain::checkin::{feed_token, feed_token_matches};
use crate::domain::ids::{AccountId, ResourceId};
use crate::domain::interval::Interval;
use crate::store::bookings::BookingRow;
use crate::store::catalog::{ResourceRow, SpaceRow};

/// How far back a maker's feed reaches, and how far ahead a resource's busy feed looks.
pub const FEED_PAST_DAYS: i64 = 60;
pub const BUSY_DAYS: i64 = 60;

/// The secret part of the signed-in maker's feed URL, if they have a feed.
///
/// # Errors
/// Store errors.
pub async fn feed_token_of(svc: &Services, who: &Identity) -> ServiceResult<Option<String>> {
    let g = svc.db.calendar_feed(who.id()).await?;
    Ok(g.map(|g| feed_token(&svc.secret, who.id().as_str(), g)))
}

/// Starts the signed-in maker's feed, or renews it (the old URL stops working); the new token.
///
/// # Errors
/// Store errors.
pub async fn renew_feed(svc: &Services, who: &Identity, now: i64) -> ServiceResult<String> {
    let old = svc.db.calendar_feed(who.id()).await?;
    // A renewal in the same millisecond must still change the token.
    let generation = old.map_or(now, |g| now.max(g + 1));
    svc.db.renew_calendar_feed(who.id(), generation).await?;
    Ok(feed_token(&svc.secret, who.id().as_str(), generation))
}

/// Ends the signed-in maker's feed; whether there was one.
///
/// # Errors
/// Store errors.
pub async fn revoke_feed(svc: &Services, who: &Identity) -> ServiceResult<bool> {
    Ok(svc.db.revoke_calendar_feed(who.id()).await?)
}

/// The bookings of the feed `account`/`token`: the maker's from [`FEED_PAST_DAYS`] ago on,
/// cancelled ones included (a calendar removes them by their status). A wrong, renewed or
/// revoked token is not found, like an account that does not exist.
///
/// # Errors
/// [`super::Code::NotFound`].
pub async fn feed(svc: &Services, account: &str, token: &str, now: i64) -> ServiceResult<(String, Vec<BookingRow>)> {
    let id = AccountId::new(account);
    let nobody = || ServiceError::not_found("calendar feed");
    let generation = svc.db.calendar_feed(&id).await?.ok_or_else(nobody)?;
    if !feed_token_matches(&svc.secret, account, generation, token) {
        return Err(nobody());
    }
    let who = super::accounts::identity_of(svc, &id).await?;
    let q = super::booking::ListQuery {
        status: None,
        from: Some(crate::clock::rfc3339(now - FEED_PAST_DAYS * DAY_MS)),
        to: None,
    };
    let rows = super::booking::mine(svc, &who, &q).await?;
    Ok((who.account.display_name.clone(), rows))
}

/// One of the signed-in maker's own bookings (another maker's is not found).
///
/// # Errors
/// [`super::Code::NotFound`].
pub async fn own_booking(svc: &Services, who: &Identity, id: &str) -> ServiceResult<BookingRow> {
    let b = super::booking::show(svc, who, id).await?;
    if &b.account_id != who.id() {
        return Err(ServiceError::not_found("booking"));
    }
    Ok(b)
}

/// A resource's busy times for anyone: each unit's blocked intervals from now on for
/// [`BUSY_DAYS`], with the unit's label and nothing of who booked.
#[derive(Debug, Clone)]
pub struct Busy {
    pub resource: ResourceRow,
    pub space: SpaceRow,
    pub busy: Vec<(String, Interval)>,
}

/// [`Busy`] of resource `id`.
///
/// # Errors
/// [`super::Code::NotFound`].
pub async fn busy(svc: &Services, id: &str, now: i64) -> ServiceResult<Busy> {
    let resource = super::catalog::find_resource(svc, &ResourceId::new(id)).await?;
    let window = Interval::new(now, now + BUSY_DAYS * DAY_MS)
        .map_err(|_| ServiceError::internal(anyhow::anyhow!("the busy window is empty")))?;
    let cal = svc.db.resource_calendar(&resource.id, window).await?;
    let label = |u: &crate::domain::ids::UnitId| {
        cal.units.iter().find(|x| &x.id == u).map_or_else(String::new, |x| x.label.clone())
    };
    let mut busy: Vec<(String, Interval)> = cal.blocks.iter().map(|(u, i)| (label(u), *i)).collect();
    busy.sort_by_key(|(l, i)| (i.start(), l.clone()));
    Ok(Busy { resource: cal.resource, space: cal.space, busy })
}
