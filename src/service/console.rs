//! The consoles' use cases: a space's day for its operators (every unit, its bookings with
//! who booked, who is checked in, no-shows and overstays), a booking with its maker and
//! sessions, the approvals queue and the waitlist. The operator console's pages call these,
//! and so may the API; the changes themselves (approve, decline, check in or out by hand,
//! cancel, move) are the use cases of [`super::booking`] and [`super::checkin`].

use super::catalog::zone_of;
use super::powers::{OperatorOf, SpaceReader};
use super::{Code, ServiceError, ServiceResult, Services};
use crate::domain::booking::BookingStatus;
use crate::domain::calendar::{DAY_MS, Zone, local_day, parse_date, utc_to_local};
use crate::domain::ids::{AccountId, ResourceId, UnitId};
use crate::store::bookings::{BookingFilter, BookingRow};
use crate::store::catalog::SpaceRow;
use crate::store::checkin::MeteredSession;
use crate::store::trainings::TrainingRow;
use crate::store::waitlist::WaitRow;
use std::collections::HashMap;

/// Who a booking or session is for, as the space's operators see them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Maker {
    pub id: AccountId,
    pub name: String,
    pub email: String,
    pub verified: bool,
}

/// A booking on the day's board, with its maker and its metered session (the latest).
#[derive(Debug, Clone)]
pub struct BoardBooking {
    pub booking: BookingRow,
    pub maker: Maker,
    pub session: Option<MeteredSession>,
    /// Checked in, and still in after the booking's end (at `now`).
    pub overstaying: bool,
}

/// A unit of the space, with the day's bookings on it.
#[derive(Debug, Clone)]
pub struct BoardUnit {
    pub unit_id: UnitId,
    pub label: String,
    pub resource_id: ResourceId,
    pub resource_name_zh: String,
    pub resource_name_en: String,
    pub bookings: Vec<BoardBooking>,
    /// Sessions on this unit without a booking (walk-ups) that touch the day.
    pub walk_ups: Vec<(MeteredSession, Maker)>,
}

/// A space's local day, unit by unit.
#[derive(Debug, Clone)]
pub struct DayBoard {
    pub space: SpaceRow,
    pub zone: Zone,
    pub date: chrono::NaiveDate,
    /// The day's instants, `[from, to)` (23 or 25 hours on a DST day).
    pub from: i64,
    pub to: i64,
    pub units: Vec<BoardUnit>,
    /// Bookings cancelled or declined that would have touched the day.
    pub withdrawn: Vec<BoardBooking>,
}

impl DayBoard {
    /// The bookings of every unit, in start order.
    pub fn bookings(&self) -> impl Iterator<Item = &BoardBooking> {
        self.units.iter().flat_map(|u| u.bookings.iter())
    }
}

/// The makers with these ids, by id (an id without an account is left out), read at once.
///
/// # Errors
/// Store errors.
pub async fn makers(
    svc: &Services,
    ids: impl IntoIterator<Item = AccountId>,
) -> ServiceResult<HashMap<AccountId, Maker>> {
    let mut ids: Vec<AccountId> = ids.into_iter().collect();
    ids.sort();
    ids.dedup();
    let refs: Vec<&AccountId> = ids.iter().collect();
    Ok(svc
        .db
        .accounts_by_ids(&refs)
        .await?
        .into_iter()
        .map(|a| (a.id.clone(), Maker { id: a.id, name: a.display_name, email: a.email, verified: a.verified_maker }))
        .collect())
}

fn maker_of(makers: &HashMap<AccountId, Maker>, id: &AccountId) -> Maker {
    makers.get(id).cloned().unwrap_or_else(|| Maker {
        id: id.clone(),
        name: String::new(),
        email: String::new(),
        verified: false,
    })
}

/// The local date `date` (`YYYY-MM-DD`) of the space, or today's there.
///
/// # Errors
/// [`Code::ValidationFailed`] for a date that does not parse.
pub fn day_of(zone: Zone, date: Option<&str>, now: i64) -> ServiceResult<chrono::NaiveDate> {
    match date.filter(|d| !d.is_empty()) {
        None => Ok(utc_to_local(zone.tz(), now).date_naive()),
        Some(d) => parse_date("date", d).map_err(|f| ServiceError::from(crate::domain::ValidationErrors(vec![f]))),
    }
}

/// A space's local day for its operators and reviewers: every live unit with the bookings
/// that touch the day (pending, confirmed, checked in, completed, no-show) and who made them,
/// each booking's latest metered session, walk-ups, and the bookings withdrawn that day.
/// A booking is overstaying when it is checked in and `now` is past its end.
///
/// # Errors
/// [`Code::ValidationFailed`] for a date that does not parse; store errors.
pub async fn day_board(svc: &Services, reader: &SpaceReader, date: Option<&str>, now: i64) -> ServiceResult<DayBoard> {
    let space = reader.space().clone();
    let zone = zone_of(&space)?;
    let date = day_of(zone, date, now)?;
    let day = local_day(zone.tz(), date);
    let (from, to) = (day.start(), day.end());
    let resources = svc.db.resources_of(&space.id).await?;
    let units = svc.db.units_of_space(&space.id).await?;
    let bookings = svc
        .db
        .bookings(&BookingFilter { space_id: Some(&space.id), window: Some(day), limit: 5000, ..Default::default() })
        .await?;
    // Sessions that touch the day: those that started up to a day before (a multi-day stay
    // may have started earlier: its booking is on the board, and its session is looked up
    // with the booking) and end inside it or are still open.
    let sessions: Vec<MeteredSession> = svc
        .db
        .metered_sessions(Some(&space.id), from - DAY_MS, to, 20_000)
        .await?
        .into_iter()
        .filter(|s| s.ended_at.is_none_or(|e| e > from))
        .collect();
    let mut by_booking: HashMap<String, MeteredSession> = HashMap::new();
    for s in &sessions {
        if let Some(b) = &s.booking_id {
            // The latest session of a booking wins (they come in start order).
            by_booking.insert(b.to_string(), s.clone());
        }
    }
    let ids = bookings.iter().map(|b| b.account_id.clone()).chain(sessions.iter().map(|s| s.account_id.clone()));
    let makers = makers(svc, ids.collect::<Vec<_>>()).await?;
    let mut board_units: Vec<BoardUnit> = Vec::new();
    for r in resources.iter().filter(|r| r.archived_at.is_none()) {
        for u in units.iter().filter(|u| u.resource_id == r.id && u.retired_at.is_none()) {
            board_units.push(BoardUnit {
                unit_id: u.id.clone(),
                label: u.label.clone(),
                resource_id: r.id.clone(),
                resource_name_zh: r.name_zh.clone(),
                resource_name_en: r.name_en.clone(),
                bookings: Vec::new(),
                walk_ups: Vec::new(),
            });
        }
    }
    let mut withdrawn = Vec::new();
    for b in bookings {
        let mut session = by_booking.get(b.id.as_str()).cloned();
        if session.is_none() && b.status == BookingStatus::CheckedIn {
            session = svc.db.metered_sessions_of(&b.id).await?.pop();
        }
        let overstaying = b.status == BookingStatus::CheckedIn && now > b.ends_at;
        let item = BoardBooking { maker: maker_of(&makers, &b.account_id), session, overstaying, booking: b };
        if matches!(item.booking.status, BookingStatus::Cancelled | BookingStatus::Declined) {
            withdrawn.push(item);
            continue;
        }
        match board_units.iter_mut().find(|u| u.unit_id == item.booking.unit_id) {
            Some(u) => u.bookings.push(item),
            // A booking on a unit retired since: still shown, under its own line.
            None => board_units.push(BoardUnit {
                unit_id: item.booking.unit_id.clone(),
                label: item.booking.unit_label.clone(),
                resource_id: item.booking.resource_id.clone(),
                resource_name_zh: item.booking.resource_name_zh.clone(),
                resource_name_en: item.booking.resource_name_en.clone(),
                bookings: vec![item],
                walk_ups: Vec::new(),
            }),
        }
    }
    for s in sessions.into_iter().filter(|s| s.booking_id.is_none() && s.started_at < to) {
        if let Some(u) = board_units.iter_mut().find(|u| u.unit_id == s.unit_id) {
            let m = maker_of(&makers, &s.account_id);
            u.walk_ups.push((s, m));
        }
    }
    for u in &mut board_units {
        u.bookings.sort_by_key(|b| (b.booking.starts_at, b.booking.id.to_string()));
    }
    Ok(DayBoard { space, zone, date, from, to, units: board_units, withdrawn })
}

/// One booking of the space, for its operators.
///
/// # Errors
/// [`Code::NotFound`] when the booking is not of this space.
pub async fn booking_in(svc: &Services, op: &OperatorOf, id: &str) -> ServiceResult<BookingRow> {
    let b = super::booking::find(svc, id).await?;
    if b.space_id != op.space().id {
        return Err(ServiceError::not_found("booking"));
    }
    Ok(b)
}

/// One booking of the space, with its maker and every metered session, for its operators.
///
/// # Errors
/// [`Code::NotFound`] when the booking is not of this space.
pub async fn booking_of_space(
    svc: &Services,
    op: &OperatorOf,
    id: &str,
) -> ServiceResult<(BookingRow, Maker, Vec<MeteredSession>)> {
    let b = booking_in(svc, op, id).await?;
    let m = makers(svc, [b.account_id.clone()]).await?;
    let sessions = svc.db.metered_sessions_of(&b.id).await?;
    let maker = maker_of(&m, &b.account_id);
    Ok((b, maker, sessions))
}

/// The space's bookings that wait for approval, oldest request first, with their makers.
///
/// # Errors
/// Store errors.
pub async fn pending(svc: &Services, op: &OperatorOf) -> ServiceResult<Vec<(BookingRow, Maker)>> {
    let mut rows = svc
        .db
        .bookings(&BookingFilter {
            space_id: Some(&op.space().id),
            status: Some(BookingStatus::Pending),
            limit: 2000,
            ..Default::default()
        })
        .await?;
    rows.sort_by_key(|b| (b.created_at, b.starts_at));
    let m = makers(svc, rows.iter().map(|b| b.account_id.clone()).collect::<Vec<_>>()).await?;
    Ok(rows
        .into_iter()
        .map(|b| {
            let maker = maker_of(&m, &b.account_id);
            (b, maker)
        })
        .collect())
}

/// Who waits for what in the space: every waiting entry of its resources, with the
/// resource's names and the maker, soonest wanted time first.
///
/// # Errors
/// Store errors.
pub async fn waiting(svc: &Services, op: &OperatorOf) -> ServiceResult<Vec<(WaitRow, String, String, Maker)>> {
    let mut out = Vec::new();
    let resources = svc.db.resources_of(&op.space().id).await?;
    let mut entries = Vec::new();
    for r in &resources {
        for w in svc.db.waiting_for(&r.id).await? {
            entries.push((w, r.name_zh.clone(), r.name_en.clone()));
        }
    }
    let m = makers(svc, entries.iter().map(|(w, _, _)| w.account_id.clone()).collect::<Vec<_>>()).await?;
    for (w, zh, en) in entries {
        let maker = maker_of(&m, &w.account_id);
        out.push((w, zh, en, maker));
    }
    out.sort_by_key(|(w, ..)| (w.starts_at, w.created_at));
    Ok(out)
}

/// The spaces a signed-in account runs (all of them for an admin), by slug.
///
/// # Errors
/// [`Code::Forbidden`] for an account that runs none.
pub async fn operated(svc: &Services, who: &super::Identity) -> ServiceResult<Vec<SpaceRow>> {
    if who.any_operator().is_none() {
        return Err(ServiceError::new(Code::Forbidden, "the operator console is for the operators of a space"));
    }
    let mut spaces: Vec<SpaceRow> = svc.db.spaces(false).await?.into_iter().filter(|s| who.operates(&s.id)).collect();
    spaces.sort_by(|a, b| a.slug.cmp(&b.slug));
    Ok(spaces)
}

// ---------- makers, trainings, verified makers ----------

/// A training a maker holds: which, until when (`None`: no expiry), and whether this
/// operator may revoke it (a training of their space, or a district-wide one).
#[derive(Debug, Clone)]
pub struct Held {
    pub training: TrainingRow,
    pub expires_at: Option<i64>,
    pub manageable: bool,
}

/// A maker an operator found, with the trainings they hold.
#[derive(Debug, Clone)]
pub struct MakerCard {
    pub maker: Maker,
    pub holds: Vec<Held>,
}

/// The most makers one search answers.
pub const MAKERS_FOUND: i64 = 20;

/// The trainings the operator of `op`'s space runs: those of the space, and district-wide
/// ones (any operator runs those).
///
/// # Errors
/// Store errors.
pub async fn trainings_run(svc: &Services, op: &OperatorOf) -> ServiceResult<Vec<TrainingRow>> {
    let space = &op.space().id;
    Ok(svc.db.trainings().await?.into_iter().filter(|t| t.space_id.as_ref().is_none_or(|s| s == space)).collect())
}

/// Makers whose e-mail address or name contains `q` (at least 2 characters), newest first,
/// at most [`MAKERS_FOUND`], with their trainings: how an operator finds the maker to verify
/// or to train. Operators of the space.
///
/// # Errors
/// [`Code::ValidationFailed`] (`q`: `too_short`, `too_long`); store errors.
pub async fn find_makers(svc: &Services, op: &OperatorOf, q: &str) -> ServiceResult<Vec<MakerCard>> {
    let q = q.trim();
    let n = q.chars().count();
    if n < 2 {
        return Err(ServiceError::invalid_field("q", "too_short", "give at least 2 characters of a name or e-mail"));
    }
    if n > 100 {
        return Err(ServiceError::invalid_field("q", "too_long", "at most 100 characters"));
    }
    let all = svc.db.trainings().await?;
    let space = &op.space().id;
    let mut out = Vec::new();
    for a in svc.db.search_accounts(q, MAKERS_FOUND).await? {
        let holds = svc
            .db
            .training_holds(&a.id)
            .await?
            .into_iter()
            .filter_map(|(slug, expires_at)| {
                let t = all.iter().find(|t| t.slug == slug)?.clone();
                let manageable = t.space_id.as_ref().is_none_or(|s| s == space);
                Some(Held { training: t, expires_at, manageable })
            })
            .collect();
        out.push(MakerCard {
            maker: Maker { id: a.id, name: a.display_name, email: a.email, verified: a.verified_maker },
            holds,
        });
    }
    Ok(out)
}

/// The verified makers of the district (verification is district-wide), by name, at most 200.
///
/// # Errors
/// Store errors.
pub async fn verified_makers(svc: &Services, _op: &OperatorOf) -> ServiceResult<Vec<Maker>> {
    Ok(svc
        .db
        .verified_accounts(200)
        .await?
        .into_iter()
        .map(|a| Maker { id: a.id, name: a.display_name, email: a.email, verified: true })
        .collect())
}
