//! Bookings: book a unit or any free unit of a resource (single — a seat of a pool is one —,
//! a recurring series, an inn stay), move, cancel (with a scope for series), approve and decline, and the
//! lists. Every rule is checked here; a refusal lists every broken rule; a taken unit is a
//! `conflict` naming what took it and the nearest free alternatives. The database has the
//! last word on overlaps, so a race is a conflict too, never a double booking.
//!
//! One decision path. A booking request is decided in four steps: [`target`] (or, for the
//! walk-up and the waitlist's promotion, which know their resource, [`entry_of`]) finds the
//! resource's catalog [`Entry`] (from the node's cache when the caller read the catalog's
//! stamp with its login, read afresh otherwise: the jobs, the kiosk); [`decide`] reads the
//! live blocks and the maker's facts (as few as the rules need) and checks every rule;
//! `rank()` orders the units that can take it by best fit; [`place`] inserts on the first,
//! and on an overlap (a racing request won that unit) tries the next.

use super::catalog::{entry_rules, expansion, zone_of};
use super::powers::{Identity, SpaceReader};
use super::{Code, ServiceError, ServiceResult, Services};
use crate::domain::allocation::{UnitState, alternatives, rank};
use crate::domain::booking::{
    BookingContext, Change, MakerFacts, TrainingHold, Verdict, Violation, judge, local_week, needs_maker_record,
    out_of_reach,
};
use crate::domain::booking::{BookingKind, BookingStatus};
use crate::domain::calendar::{DAY_MS, MINUTE_MS, Span, Zone, parse_instant};
use crate::domain::catalog::text;
use crate::domain::ids::{AccountId, BookingId, ResourceId, UnitId};
use crate::domain::interval::Interval;
use crate::domain::policy::{BookingPolicy, ResourceKind, parse_hh_mm};
use crate::domain::{FieldError, ValidationErrors};
use crate::store::StoreError;
use crate::store::bookings::{BookingFilter, BookingRow, NewBooking};
use crate::store::catalog_cache::{Entry, Expansion};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::sync::Arc;
use utoipa::ToSchema;

/// The most occurrences one series may have.
pub const MAX_SERIES_OCCURRENCES: usize = 366;

// ---------- the decision ----------

/// An instant of a request: RFC 3339, from the year 2000 to five years from `now`
/// ([`crate::domain::calendar::within_reach`]), checked before any rule is expanded for it.
///
/// # Errors
/// `invalid_instant`, `out_of_range`.
pub(crate) fn instant_in_reach(field: &str, raw: &str, now: i64) -> Result<i64, FieldError> {
    parse_instant(field, raw).and_then(|t| crate::domain::calendar::within_reach(field, t, now))
}

/// Who a booking is for: the maker's account and, when a login carries it, whether they are
/// verified (then rules that read no other record of theirs need no read at all).
#[derive(Debug, Clone, Copy)]
pub(crate) struct ForMaker<'a> {
    pub id: &'a AccountId,
    pub verified: Option<bool>,
}

impl<'a> ForMaker<'a> {
    /// The signed-in maker, booking for themselves.
    pub fn of(who: &'a Identity) -> Self {
        ForMaker { id: who.id(), verified: Some(who.account.verified_maker) }
    }

    /// A maker known by id only (the waitlist books for them; a walk-up).
    pub fn by_id(id: &'a AccountId) -> Self {
        ForMaker { id, verified: None }
    }
}

/// The calendar of a resource over a window, loaded once for any number of checks.
pub(crate) struct Loaded {
    pub zone: Zone,
    pub policy: BookingPolicy,
    /// Opening hours, before closures.
    pub hours: Vec<Interval>,
    /// Closures of the space or the resource.
    pub closed: Vec<Interval>,
    pub units: Vec<UnitState>,
    /// The space's quota for this kind of resource.
    pub kind_quota: Option<crate::domain::policy::Quota>,
}

impl Loaded {
    /// Opening hours minus space/resource closures.
    pub fn open(&self) -> Vec<Interval> {
        crate::domain::interval::subtract(self.hours.clone(), self.closed.clone())
    }

    /// The judgement of `span` ([`judge`]: every rule it breaks and the status it gets) on
    /// this calendar; a named unit's closures count too.
    pub fn judge(
        &self,
        maker: &MakerFacts,
        span: Interval,
        unit: Option<&UnitId>,
        kind: BookingKind,
        change: Change,
        now: i64,
    ) -> Verdict {
        let mut closed = self.closed.clone();
        if let Some(u) = unit {
            closed.extend(self.units.iter().filter(|x| &x.id == u).flat_map(|x| x.closed.iter().copied()));
        }
        judge(
            &BookingContext {
                policy: &self.policy,
                zone: self.zone,
                now,
                open: &self.hours,
                closed: &closed,
                kind_quota: self.kind_quota.as_ref(),
            },
            maker,
            span,
            kind,
            change,
        )
    }

    /// Whether the rules read any of the maker's record (trainings, usage).
    fn needs_maker_record(&self) -> bool {
        needs_maker_record(&self.policy, self.kind_quota.as_ref())
    }

    pub(crate) fn decision(self, violations: Vec<Violation>) -> Decision {
        Decision { zone: self.zone, open: self.open(), policy: self.policy, units: self.units, violations }
    }
}

/// The entry's calendar over `window`: its rules, the units (`only` one, when named) and
/// their live `blocks`.
///
/// # Errors
/// [`Code::Internal`] for stored rules that no longer parse.
pub(crate) fn assemble(
    entry: &Entry,
    window: Interval,
    only: Option<&UnitId>,
    blocks: &[(UnitId, Interval)],
) -> ServiceResult<Loaded> {
    let rules = entry_rules(entry)?;
    let zone = zone_of(&entry.space)?;
    let Expansion { hours, closed, unit_closed } = expansion(entry, window)?;
    // Group once: scanning every block for every unit would be quadratic.
    let mut by_unit: std::collections::HashMap<&UnitId, Vec<Interval>> = std::collections::HashMap::new();
    for (id, i) in blocks {
        by_unit.entry(id).or_default().push(*i);
    }
    let units = entry
        .units
        .iter()
        .filter(|u| only.is_none_or(|id| *id == u.id))
        .map(|u| UnitState {
            id: u.id.clone(),
            label: u.label.clone(),
            blocks: by_unit.remove(&u.id).unwrap_or_default(),
            closed: unit_closed.iter().filter(|(id, _)| id == &u.id).flat_map(|(_, ivs)| ivs.iter().copied()).collect(),
        })
        .collect();
    Ok(Loaded { zone, policy: rules.policy, hours, closed, units, kind_quota: rules.kind_quota })
}

/// The maker's facts for the rules of `loaded` at `at`, and in the same round trip the live
/// blocks of `blocks_of`'s unit.
///
/// # Errors
/// Store errors.
pub(crate) async fn maker_facts(
    svc: &Services,
    maker: &AccountId,
    entry: &Entry,
    loaded: &Loaded,
    at: i64,
    blocks_of: Option<(&UnitId, Interval)>,
    now: i64,
) -> ServiceResult<(MakerFacts, Vec<Interval>)> {
    let resource = &entry.resource;
    let r = crate::store::bookings::ResourceRef {
        id: &resource.id,
        space_id: &resource.space_id,
        kind: &resource.kind,
        kind_quota: loaded.kind_quota.is_some(),
        quota: loaded.policy.quota.hours_per_week.is_some() || loaded.policy.quota.max_active_bookings.is_some(),
        blocks_of,
    };
    let facts = svc.db.maker_facts(maker, &r, local_week(loaded.zone, at), now).await?;
    Ok((
        MakerFacts {
            verified: facts.verified,
            trainings: facts
                .trainings
                .into_iter()
                .map(|(slug, expires_at)| TrainingHold { slug, expires_at })
                .collect(),
            week_minutes: facts.week_minutes,
            active_bookings: facts.active_bookings,
            kind_week_minutes: facts.kind_week_minutes,
            kind_active_bookings: facts.kind_active_bookings,
        },
        facts.unit_blocks,
    ))
}

/// Everything a placement needs: the calendar around the request and the rules it breaks.
pub(crate) struct Decision {
    pub zone: Zone,
    pub policy: BookingPolicy,
    /// Opening hours minus space/resource closures, around the request.
    pub open: Vec<Interval>,
    pub units: Vec<UnitState>,
    pub violations: Vec<Violation>,
}

/// The one booking decision: the calendar of `entry` around `span` (a day each side), the
/// live blocks of the units that can take it, and every rule it breaks for `maker`.
///
/// What is read depends on what the rules need:
/// - a named unit, on a resource whose rules read no maker record (no training, no quota),
///   for a maker whose verified flag the login carries: nothing. The insert asks the
///   database, whose no-overlap guarantee decides, and a refusal reads everything afresh
///   for the answer's conflicts and alternatives.
/// - a named unit otherwise: the maker's facts and that unit's blocks, in one round trip.
/// - any unit of the resource: every unit's blocks, then the maker's facts.
///
/// # Errors
/// Store errors; [`Code::Internal`] for stored rules that no longer parse.
pub(crate) async fn decide(
    svc: &Services,
    entry: &Entry,
    maker: ForMaker<'_>,
    span: Interval,
    unit: Option<&UnitId>,
    kind: BookingKind,
    now: i64,
) -> ServiceResult<Decision> {
    // Refused before any opening hours are expanded for it: longer than any policy allows.
    let policy = entry_rules(entry)?.policy;
    let early = out_of_reach(&policy, span, kind);
    if !early.is_empty() {
        let zone = zone_of(&entry.space)?;
        return Ok(Decision { zone, policy, open: vec![], units: vec![], violations: early });
    }
    let window = around(span)?;
    let (loaded, facts) = match unit {
        Some(u) => {
            let mut loaded = assemble(entry, window, Some(u), &[])?;
            match maker.verified {
                Some(verified) if !loaded.needs_maker_record() => {
                    (loaded, MakerFacts { verified, ..MakerFacts::default() })
                }
                _ => {
                    let (facts, blocks) =
                        maker_facts(svc, maker.id, entry, &loaded, span.start(), Some((u, window)), now).await?;
                    for x in &mut loaded.units {
                        x.blocks.clone_from(&blocks);
                    }
                    (loaded, facts)
                }
            }
        }
        None => {
            let blocks = svc.db.blocked_intervals(&entry.resource, window).await?;
            let loaded = assemble(entry, window, None, &blocks)?;
            let (facts, _) = maker_facts(svc, maker.id, entry, &loaded, span.start(), None, now).await?;
            (loaded, facts)
        }
    };
    let violations = loaded.judge(&facts, span, unit, kind, Change::Create, now).violations;
    Ok(loaded.decision(violations))
}

/// A day either side of `span`: the window a decision looks at.
fn around(span: Interval) -> ServiceResult<Interval> {
    Interval::new(span.start() - DAY_MS, span.end() + DAY_MS).map_err(ServiceError::internal)
}

/// A unit that could take the request, at the time it could.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Alternative {
    #[schema(value_type = String)]
    pub unit_id: UnitId,
    pub unit_label: String,
    pub when: Span,
}

/// The conflict for a taken unit (or a resource with no free unit): the blocks it overlaps
/// and the nearest free alternatives on the same resource.
pub(crate) fn conflict(
    d: &Decision,
    span: Interval,
    blocked: Interval,
    unit: Option<&UnitId>,
    now: i64,
) -> ServiceError {
    let conflicts: Vec<Span> = d
        .units
        .iter()
        .filter(|u| unit.is_none_or(|id| *id == u.id))
        .flat_map(|u| u.blocks.iter().filter(|b| b.overlaps(&blocked)).copied())
        .take(20)
        .map(|i| Span::new(d.zone, i))
        .collect();
    let step = d.policy.slot_minutes * MINUTE_MS;
    let alts: Vec<Alternative> = alternatives(
        &d.units,
        &d.open,
        span,
        d.policy.buffer_before_minutes * MINUTE_MS,
        d.policy.buffer_after_minutes * MINUTE_MS,
        step,
        now + d.policy.min_notice_minutes * MINUTE_MS,
        3,
        (DAY_MS / step).max(1),
    )
    .into_iter()
    .map(|(u, s)| Alternative { unit_id: u.id.clone(), unit_label: u.label.clone(), when: Span::new(d.zone, s) })
    .collect();
    let message = match unit {
        Some(_) => "the unit is already booked for part of that time",
        None => "no unit of this resource is free for the whole time",
    };
    ServiceError::new(Code::Conflict, message).with_details(json!({ "conflicts": conflicts, "alternatives": alts }))
}

/// The catalog entry of a resource: this node's cached one, valid at `version` (the stamp
/// read with the caller's login), or, without a stamp, one read now.
///
/// # Errors
/// Store errors ([`StoreError::NotFound`] for an unknown resource).
pub(crate) async fn entry_of(
    svc: &Services,
    version: Option<i64>,
    resource_id: &ResourceId,
) -> Result<Arc<Entry>, StoreError> {
    match version {
        Some(v) => svc.catalog.entry(&svc.db, v, resource_id).await,
        None => Entry::load(&svc.db, resource_id).await,
    }
}

/// Where a new booking goes: the resource's catalog entry and, if named, the unit. `None`
/// when the input is wrong, with every reason in `e`.
///
/// # Errors
/// Store errors.
pub(crate) async fn target(
    svc: &Services,
    version: Option<i64>,
    resource: Option<&str>,
    unit: Option<&str>,
    e: &mut ValidationErrors,
) -> ServiceResult<Option<(Arc<Entry>, Option<UnitId>)>> {
    let unit = unit.map(UnitId::new);
    let resource_id = match (resource, &unit) {
        (Some(r), None) => ResourceId::new(r),
        (None, Some(u)) => {
            let found = match version {
                Some(_) => svc.catalog.resource_of_unit(&svc.db, u).await,
                None => svc.db.unit(u).await.map(|x| x.resource_id),
            };
            match found {
                Ok(r) => r,
                Err(StoreError::NotFound) => {
                    e.push(FieldError::new("unit", "unknown_unit", "no unit has this id"));
                    return Ok(None);
                }
                Err(err) => return Err(err.into()),
            }
        }
        _ => {
            e.push(FieldError::new("resource", "invalid_choice", "give either resource or unit"));
            return Ok(None);
        }
    };
    let entry = match entry_of(svc, version, &resource_id).await {
        Ok(x) => x,
        Err(StoreError::NotFound) => {
            e.push(FieldError::new("resource", "unknown_resource", "no resource has this id"));
            return Ok(None);
        }
        Err(err) => return Err(err.into()),
    };
    if let Some(u) = &unit
        && !entry.units.iter().any(|x| &x.id == u)
    {
        // Not among the live units: retired (the entry keeps only live ones), or gone.
        match svc.db.unit(u).await {
            Ok(x) if x.retired_at.is_some() => e.push(FieldError::new("unit", "retired", "this unit is retired")),
            Ok(_) | Err(StoreError::NotFound) => e.push(FieldError::new("unit", "unknown_unit", "no unit has this id")),
            Err(err) => return Err(err.into()),
        }
        return Ok(None);
    }
    if entry.resource.archived_at.is_some() {
        e.push(FieldError::new("resource", "archived", "this resource takes no new bookings"));
        return Ok(None);
    }
    if entry.space.archived_at.is_some() {
        e.push(FieldError::new("resource", "archived", "this space is archived"));
        return Ok(None);
    }
    Ok(Some((entry, unit)))
}

/// The team a maker books for: one they belong to.
///
/// # Errors
/// Store errors.
pub(crate) async fn team_of(
    svc: &Services,
    maker: &AccountId,
    team: Option<&str>,
    e: &mut ValidationErrors,
) -> ServiceResult<Option<String>> {
    let Some(team) = team else { return Ok(None) };
    let org = match svc.db.organisation(team).await {
        Ok(o) => o,
        Err(StoreError::NotFound) => {
            e.push(FieldError::new("team", "unknown_team", "no team or start-up has this id or slug"));
            return Ok(None);
        }
        Err(err) => return Err(err.into()),
    };
    if svc.db.membership(&org.id, maker).await?.is_none() {
        e.push(FieldError::new("team", "not_a_member", "you can only book for a team you belong to"));
        return Ok(None);
    }
    Ok(Some(org.id))
}

/// A fresh nonce for the check-in code of a booking; it is also the short typed code
/// (10 characters, about 50 bits).
///
/// # Errors
/// When the system has no randomness.
pub(crate) fn nonce() -> ServiceResult<String> {
    Ok(crate::auth::checkin_nonce()?)
}

/// Where a booking goes and for whom.
pub(crate) struct Placement<'a> {
    pub entry: &'a Entry,
    pub unit: Option<&'a UnitId>,
    pub team: Option<&'a str>,
    pub purpose: &'a str,
    pub kind: BookingKind,
}

/// Books `span` for `maker` on the best-fit unit (or the placement's unit), trying the next
/// best when a racing request took one first. `None`: no unit could take it.
///
/// # Errors
/// Store errors other than an overlap.
pub(crate) async fn place(
    svc: &Services,
    maker: &AccountId,
    t: &Placement<'_>,
    d: &Decision,
    span: Interval,
    now: i64,
) -> ServiceResult<Option<BookingRow>> {
    let blocked = d.policy.blocked(span);
    let horizon = around(span)?;
    let candidates: Vec<&UnitState> =
        rank(&d.units, span, blocked, horizon).into_iter().filter(|u| t.unit.is_none_or(|id| *id == u.id)).collect();
    let status = BookingStatus::new_booking(d.policy.requires_approval);
    let nonce = nonce()?;
    let (resource, space) = (&t.entry.resource, &t.entry.space);
    for candidate in &candidates {
        let new = NewBooking {
            unit_id: &candidate.id,
            resource_id: &resource.id,
            space_id: &space.id,
            account_id: maker,
            organisation_id: t.team,
            status,
            span,
            blocked,
            purpose: t.purpose,
            checkin_nonce: &nonce,
            kind: t.kind,
            now,
        };
        match svc.db.insert_booking(&new).await {
            Ok(id) => {
                tracing::info!(booking = %id, unit = %candidate.label, %status, kind = %t.kind, "booked");
                crate::metrics::METRICS.booked(t.kind.as_str(), status.as_str());
                // Everything the answer shows is known here: no read-back.
                return Ok(Some(BookingRow {
                    id,
                    unit_id: candidate.id.clone(),
                    unit_label: candidate.label.clone(),
                    resource_name_zh: resource.name_zh.clone(),
                    resource_name_en: resource.name_en.clone(),
                    space_slug: space.slug.clone(),
                    timezone: space.timezone.clone(),
                    resource_id: resource.id.clone(),
                    space_id: space.id.clone(),
                    account_id: maker.clone(),
                    organisation_id: t.team.map(str::to_owned),
                    series_id: None,
                    kind: t.kind,
                    status,
                    starts_at: span.start(),
                    ends_at: span.end(),
                    blocked_from: blocked.start(),
                    blocked_until: blocked.end(),
                    purpose: t.purpose.to_owned(),
                    checkin_nonce: nonce.clone(),
                    created_at: now,
                    updated_at: now,
                    decided_by: None,
                    decided_at: None,
                    decision_reason: None,
                    cancelled_by: None,
                    cancelled_at: None,
                    cancel_reason: None,
                    resource_kind: resource.kind.clone(),
                    resource_policy: resource.policy.clone(),
                }));
            }
            // Someone else took this unit since we looked: try the next best one.
            Err(StoreError::Overlap) => continue,
            Err(err) => return Err(err.into()),
        }
    }
    Ok(None)
}

// ---------- booking ----------

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateBooking {
    /// Book any free unit of this resource (best fit) ...
    #[serde(default)]
    pub resource: Option<String>,
    /// ... or this unit.
    #[serde(default)]
    pub unit: Option<String>,
    /// RFC 3339 with offset.
    pub start: String,
    pub end: String,
    /// Book for a team or start-up you belong to.
    #[serde(default)]
    pub team: Option<String>,
    #[serde(default)]
    pub purpose: String,
    /// Makes a recurring series: an RFC 5545 RRULE (such as `FREQ=WEEKLY;COUNT=10`) in the
    /// space's local time; `start`/`end` are the first occurrence. At most one year and 366
    /// occurrences. The answer is then a `SeriesView`.
    #[serde(default)]
    pub recurrence: Option<String>,
    /// For a series: `reject` (default) refuses the whole series if any occurrence cannot
    /// be booked; `skip` books the others and reports the skipped ones.
    #[serde(default)]
    pub on_conflict: OnConflict,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OnConflict {
    #[default]
    Reject,
    Skip,
}

/// An occurrence of a series that was not booked, with why.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Skipped {
    pub when: Span,
    /// `conflict`, or the rules the occurrence breaks.
    pub reasons: Vec<String>,
}

/// A series and the bookings it made.
#[derive(Debug)]
pub struct SeriesBooked {
    pub series_id: String,
    pub bookings: Vec<BookingRow>,
    /// Occurrences not booked (`skip` mode), with why.
    pub skipped: Vec<Skipped>,
    /// Occurrences that could not keep the series' unit and went to another.
    pub unit_changes: Vec<Alternative>,
}

/// What a booking request made.
#[derive(Debug)]
pub enum Booked {
    One(Box<BookingRow>),
    Series(SeriesBooked),
}

/// Books a unit, or any free unit of a resource (best fit), for the signed-in maker; with
/// `recurrence`, a series.
///
/// # Errors
/// [`Code::ValidationFailed`], [`Code::PolicyViolation`] (every broken rule),
/// [`Code::Conflict`] (with the conflicts and the nearest alternatives), [`Code::SeriesTooLong`].
pub async fn book(svc: &Services, who: &Identity, req: &CreateBooking, now: i64) -> ServiceResult<Booked> {
    let mut e = ValidationErrors::default();
    let start = e.take(instant_in_reach("start", &req.start, now));
    let end = e.take(instant_in_reach("end", &req.end, now));
    let purpose = e.take(text("purpose", &req.purpose, 500));
    let target = target(svc, Some(who.catalog_version), req.resource.as_deref(), req.unit.as_deref(), &mut e).await?;
    let team = team_of(svc, who.id(), req.team.as_deref(), &mut e).await?;
    let span = match (start, end) {
        (Some(s), Some(en)) => match Interval::new(s, en) {
            Ok(i) => Some(i),
            Err(_) => {
                e.push(FieldError::new("end", "before_start", "must be after start"));
                None
            }
        },
        _ => None,
    };
    let (Some(span), Some(purpose), Some((entry, unit))) = (span, purpose, target) else {
        return Err(e.into());
    };
    e.finish()?;
    if let Some(rrule) = req.recurrence.as_deref() {
        let t = Placement {
            entry: &entry,
            unit: unit.as_ref(),
            team: team.as_deref(),
            purpose: &purpose,
            kind: BookingKind::Series,
        };
        return Ok(Booked::Series(book_series(svc, who, &t, span, rrule, req.on_conflict, now).await?));
    }
    let maker = ForMaker::of(who);
    let d = decide(svc, &entry, maker, span, unit.as_ref(), BookingKind::Single, now).await?;
    if !d.violations.is_empty() {
        return Err(ServiceError::policy(&d.violations));
    }
    let t = Placement {
        entry: &entry,
        unit: unit.as_ref(),
        team: team.as_deref(),
        purpose: &purpose,
        kind: BookingKind::Single,
    };
    if let Some(row) = place(svc, who.id(), &t, &d, span, now).await? {
        return Ok(Booked::One(Box::new(row)));
    }
    // Refresh what we know, so the answer names what took the time: every unit's blocks, for
    // the alternatives on the same resource.
    let fresh = decide(svc, &entry, maker, span, None, BookingKind::Single, now).await?;
    Err(conflict(&fresh, span, d.policy.blocked(span), unit.as_ref(), now))
}

async fn book_series(
    svc: &Services,
    who: &Identity,
    t: &Placement<'_>,
    first: Interval,
    rrule: &str,
    mode: OnConflict,
    now: i64,
) -> ServiceResult<SeriesBooked> {
    let zone = zone_of(&t.entry.space)?;
    let start_local = crate::domain::calendar::utc_to_local(zone.tz(), first.start()).naive_local();
    let start_text = start_local.format("%Y-%m-%dT%H:%M:%S").to_string();
    if first.duration_ms() % MINUTE_MS != 0 {
        return Err(ServiceError::invalid_field("end", "not_whole_minutes", "a series occurrence lasts whole minutes"));
    }
    let rule = crate::domain::calendar::RecurringWindow::parse(
        ["recurrence", "start", "end"],
        rrule,
        &start_text,
        first.duration_ms() / MINUTE_MS,
        crate::domain::calendar::MAX_CLOSURE_MINUTES,
        zone,
    )
    .map_err(|v| ServiceError::from(ValidationErrors(v)))?;
    let year = Interval::new(first.start(), first.start() + 366 * DAY_MS).map_err(ServiceError::internal)?;
    let occurrences: Vec<Interval> = rule.expand(year)?.into_iter().filter(|o| o.start() >= first.start()).collect();
    if occurrences.is_empty() {
        return Err(ServiceError::invalid_field(
            "recurrence",
            "no_occurrences",
            "the rule produces no occurrence within a year",
        ));
    }
    if occurrences.len() > MAX_SERIES_OCCURRENCES || rule.last_end().is_none_or(|e| e > year.end()) {
        return Err(ServiceError::new(
            Code::SeriesTooLong,
            format!(
                "a series ends within one year and has at most {MAX_SERIES_OCCURRENCES} occurrences; add COUNT or UNTIL"
            ),
        ));
    }
    let last = occurrences.last().expect("not empty");
    let window = Interval::new(first.start() - DAY_MS, last.end() + DAY_MS).map_err(ServiceError::internal)?;
    let blocks = svc.db.blocked_intervals(&t.entry.resource, window).await?;
    let loaded = assemble(t.entry, window, None, &blocks)?;
    let p = &loaded.policy;

    // Check every occurrence, counting the series' own earlier occurrences toward the quotas.
    // The maker's facts of each local week the series touches, all asked at once (on
    // PostgreSQL they share one grouped statement), or none when the rules need no record.
    let mut firsts: Vec<(i64, i64)> = Vec::new();
    for occ in &occurrences {
        let week = local_week(zone, occ.start()).start();
        if !firsts.iter().any(|(w, _)| *w == week) {
            firsts.push((week, occ.start()));
        }
    }
    let weeks: std::collections::HashMap<i64, MakerFacts> = if loaded.needs_maker_record() {
        let read = futures_util::future::try_join_all(
            firsts.iter().map(|(_, at)| maker_facts(svc, who.id(), t.entry, &loaded, *at, None, now)),
        )
        .await?;
        firsts.iter().map(|(w, _)| *w).zip(read.into_iter().map(|(f, _)| f)).collect()
    } else {
        let none = MakerFacts { verified: who.account.verified_maker, ..MakerFacts::default() };
        firsts.iter().map(|(w, _)| (*w, none.clone())).collect()
    };
    let mut accepted: Vec<Interval> = Vec::new();
    let mut skipped: Vec<Skipped> = Vec::new();
    let mut broken: Vec<serde_json::Value> = Vec::new();
    for occ in &occurrences {
        let week = local_week(zone, occ.start());
        let mut facts = weeks[&week.start()].clone();
        for a in &accepted {
            facts.count(*a, week, now, 1);
        }
        let v = loaded.judge(&facts, *occ, t.unit, BookingKind::Series, Change::Create, now).violations;
        if v.is_empty() {
            accepted.push(*occ);
        } else {
            broken.push(json!({ "when": Span::new(zone, *occ), "violations": v }));
            skipped.push(Skipped { when: Span::new(zone, *occ), reasons: v.into_iter().map(|x| x.rule).collect() });
        }
    }
    if mode == OnConflict::Reject && !broken.is_empty() {
        let n = broken.len();
        return Err(ServiceError::new(
            Code::PolicyViolation,
            format!("{n} occurrence(s) break rules of this resource"),
        )
        .with_details(json!({ "occurrences": broken })));
    }

    // One unit for the whole series where it can; each occurrence otherwise to its best fit.
    let pairs: Vec<(Interval, Interval)> = accepted.iter().map(|o| (*o, loaded.policy.blocked(*o))).collect();
    let units: Vec<UnitState> = match t.unit {
        Some(id) => loaded.units.iter().filter(|u| &u.id == id).cloned().collect(),
        None => loaded.units.clone(),
    };
    let chosen = crate::domain::allocation::assign_series(&units, &pairs, window);
    let anchor = chosen.iter().flatten().next().map(|u| u.id.clone());
    let mut plan: Vec<(Interval, Interval, &UnitState)> = Vec::new();
    let mut unit_changes = Vec::new();
    for ((span, blocked), unit) in pairs.iter().zip(&chosen) {
        match unit {
            Some(u) => {
                if anchor.as_ref() != Some(&u.id) {
                    unit_changes.push(Alternative {
                        unit_id: u.id.clone(),
                        unit_label: u.label.clone(),
                        when: Span::new(zone, *span),
                    });
                }
                plan.push((*span, *blocked, u));
            }
            None if mode == OnConflict::Reject => {
                return Err(conflict(&loaded.decision(vec![]), *span, *blocked, t.unit, now));
            }
            None => skipped.push(Skipped { when: Span::new(zone, *span), reasons: vec!["conflict".into()] }),
        }
    }
    if plan.is_empty() {
        return Err(ServiceError::new(Code::Conflict, "no occurrence of the series can be booked")
            .with_details(json!({ "skipped": skipped })));
    }
    let status = BookingStatus::new_booking(p.requires_approval);
    let nonces: Vec<String> = plan.iter().map(|_| nonce()).collect::<ServiceResult<_>>()?;
    let (resource, space) = (&t.entry.resource, &t.entry.space);
    let news: Vec<NewBooking<'_>> = plan
        .iter()
        .zip(&nonces)
        .map(|((span, blocked, u), n)| NewBooking {
            unit_id: &u.id,
            resource_id: &resource.id,
            space_id: &space.id,
            account_id: who.id(),
            organisation_id: t.team,
            status,
            span: *span,
            blocked: *blocked,
            purpose: t.purpose,
            checkin_nonce: n,
            kind: t.kind,
            now,
        })
        .collect();
    let series = crate::store::bookings::NewSeries {
        account_id: who.id(),
        resource_id: &resource.id,
        rrule: rule.rrule_text(),
        dtstart_local: &start_text,
        timezone: zone.name(),
        duration_min: rule.duration_min(),
        now,
    };
    let (series_id, ids) = match svc.db.insert_bookings(&news, Some(&series), mode == OnConflict::Reject).await {
        Ok(r) => r,
        Err(StoreError::Overlap) => {
            return Err(ServiceError::new(
                Code::Conflict,
                "another booking took one of the occurrences meanwhile; nothing was booked",
            ));
        }
        Err(e) => return Err(e.into()),
    };
    for ((span, _, _), id) in plan.iter().zip(&ids) {
        if id.is_none() {
            skipped.push(Skipped { when: Span::new(zone, *span), reasons: vec!["conflict".into()] });
        }
    }
    let series_id = series_id.ok_or_else(|| ServiceError::internal(anyhow::anyhow!("series insert returned no id")))?;
    let rows =
        svc.db.bookings(&BookingFilter { series_id: Some(&series_id), limit: 1000, ..Default::default() }).await?;
    tracing::info!(series = %series_id, booked = rows.len(), skipped = skipped.len(), "series booked");
    for r in &rows {
        crate::metrics::METRICS.booked(r.kind.as_str(), r.status.as_str());
    }
    Ok(SeriesBooked { series_id, bookings: rows, skipped, unit_changes })
}

// ---------- stays ----------

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateStay {
    /// An inn-room resource (a room type).
    pub resource: String,
    /// The local date of arrival, such as 2026-09-10.
    pub check_in_date: String,
    pub nights: u32,
    #[serde(default)]
    pub team: Option<String>,
    #[serde(default)]
    pub purpose: String,
}

/// The most nights a stay request may name, whatever the room's own limit (so that no date
/// arithmetic overflows and nothing is expanded for years).
pub const MAX_STAY_NIGHTS: u32 = 366;

/// Books one room of a room type for every night of a stay, from the resource's check-in
/// time on the arrival date to its check-out time on the departure date.
///
/// # Errors
/// [`Code::ValidationFailed`], [`Code::PolicyViolation`] (`too_many_nights`, `not_eligible`,
/// ...), [`Code::Conflict`].
pub async fn book_stay(svc: &Services, who: &Identity, req: &CreateStay, now: i64) -> ServiceResult<BookingRow> {
    let mut e = ValidationErrors::default();
    let date = e.take(crate::domain::calendar::parse_date("check_in_date", &req.check_in_date));
    if !(1..=MAX_STAY_NIGHTS).contains(&req.nights) {
        e.push(FieldError::new("nights", "out_of_range", format!("from 1 to {MAX_STAY_NIGHTS} nights")));
    }
    let purpose = e.take(text("purpose", &req.purpose, 500));
    let target = target(svc, Some(who.catalog_version), Some(&req.resource), None, &mut e).await?;
    let team = team_of(svc, who.id(), req.team.as_deref(), &mut e).await?;
    let (Some(date), Some(purpose), Some((entry, _))) = (date, purpose, target) else { return Err(e.into()) };
    e.finish()?;
    let policy = entry_rules(&entry)?.policy;
    let inn = match (ResourceKind::from_db(&entry.resource.kind), &policy.inn) {
        (Some(ResourceKind::InnRoom), Some(inn)) => inn.clone(),
        _ => {
            return Err(ServiceError::invalid_field(
                "resource",
                "not_an_inn_room",
                "stays are booked on inn-room resources",
            ));
        }
    };
    let zone = zone_of(&entry.space)?;
    let (Some(arrive), Some(leave)) = (parse_hh_mm(&inn.check_in_time), parse_hh_mm(&inn.check_out_time)) else {
        return Err(ServiceError::internal(anyhow::anyhow!("resource {} has bad inn times", entry.resource.id)));
    };
    let start = crate::domain::calendar::local_to_utc(zone.tz(), date.and_time(arrive));
    crate::domain::calendar::within_reach("check_in_date", start, now)
        .map_err(|f| ServiceError::from(ValidationErrors(vec![f])))?;
    let end = crate::domain::calendar::local_to_utc(
        zone.tz(),
        (date + chrono::Duration::days(i64::from(req.nights))).and_time(leave),
    );
    let span = Interval::new(start, end)
        .map_err(|_| ServiceError::invalid_field("nights", "out_of_range", "the stay must end after it starts"))?;

    // A stay is measured in nights, not slots and minutes (`too_many_nights`).
    let d = decide(svc, &entry, ForMaker::of(who), span, None, BookingKind::Stay, now).await?;
    if !d.violations.is_empty() {
        return Err(ServiceError::policy(&d.violations));
    }
    let t = Placement { entry: &entry, unit: None, team: team.as_deref(), purpose: &purpose, kind: BookingKind::Stay };
    match place(svc, who.id(), &t, &d, span, now).await? {
        Some(row) => Ok(row),
        None => Err(conflict(&d, span, span, None, now)),
    }
}

// ---------- moves ----------

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MoveBooking {
    /// New start and end (RFC 3339); absent: unchanged.
    #[serde(default)]
    pub start: Option<String>,
    #[serde(default)]
    pub end: Option<String>,
    /// Another unit of the same resource; absent: the same unit.
    #[serde(default)]
    pub unit: Option<String>,
}

/// Moves a booking to another time or unit: it fully succeeds, or the booking is left as it
/// was. Its maker before the start; an operator of its space at any time. The rules are those
/// of the booking's maker, without counting the booking being moved; the time it leaves goes
/// to the waitlist, and a maker is told when an operator moved their booking.
///
/// # Errors
/// [`Code::NotFound`], [`Code::Forbidden`] (a reviewer), [`Code::TooLateToMove`],
/// [`Code::ValidationFailed`], [`Code::PolicyViolation`], [`Code::Conflict`], [`Code::NotMovable`].
pub async fn move_booking(
    svc: &Services,
    who: &Identity,
    id: &str,
    req: &MoveBooking,
    now: i64,
) -> ServiceResult<BookingRow> {
    let b = find(svc, id).await?;
    let as_operator = who.operates(&b.space_id);
    if &b.account_id != who.id() && !as_operator {
        return Err(who.not_theirs("moving"));
    }
    if !as_operator && b.starts_at <= now {
        return Err(ServiceError::new(Code::TooLateToMove, "the booking has started; ask an operator of the space"));
    }
    let mut e = ValidationErrors::default();
    let start = req.start.as_deref().map_or(Some(b.starts_at), |s| e.take(instant_in_reach("start", s, now)));
    let end = req.end.as_deref().map_or(Some(b.ends_at), |s| e.take(instant_in_reach("end", s, now)));
    let unit = match req.unit.as_ref() {
        None => Some(b.unit_id.clone()),
        Some(u) => match svc.db.unit(&UnitId::new(u)).await {
            Ok(x) if x.resource_id == b.resource_id && x.retired_at.is_none() => Some(x.id),
            Ok(_) | Err(StoreError::NotFound) => {
                e.push(FieldError::new("unit", "unknown_unit", "no live unit of this booking's resource has this id"));
                None
            }
            Err(err) => return Err(err.into()),
        },
    };
    let (Some(start), Some(end), Some(unit)) = (start, end, unit) else { return Err(e.into()) };
    e.finish()?;
    let span = Interval::new(start, end)
        .map_err(|_| ServiceError::invalid_field("end", "before_start", "must be after start"))?;
    let entry =
        entry_of(svc, Some(who.catalog_version), &b.resource_id).await.map_err(ServiceError::missing("resource"))?;
    // Refused before any opening hours are expanded for it, as a fresh booking would be.
    let early = out_of_reach(&entry_rules(&entry)?.policy, span, b.kind);
    if !early.is_empty() {
        return Err(ServiceError::policy(&early));
    }
    if b.kind == BookingKind::Stay && span.duration_ms() > i64::from(MAX_STAY_NIGHTS + 1) * DAY_MS {
        return Err(ServiceError::invalid_field(
            "end",
            "out_of_range",
            &format!("a stay is at most {MAX_STAY_NIGHTS} nights"),
        ));
    }

    // The rules, for the booking's maker, without counting the booking being moved.
    let window = around(span)?;
    let blocks = svc.db.blocked_intervals(&entry.resource, window).await?;
    let mut loaded = assemble(&entry, window, None, &blocks)?;
    let own = Interval::new(b.blocked_from, b.blocked_until).map_err(ServiceError::internal)?;
    for u in &mut loaded.units {
        if u.id == b.unit_id {
            u.blocks.retain(|x| *x != own);
        }
    }
    let (mut facts, _) = maker_facts(svc, &b.account_id, &entry, &loaded, span.start(), None, now).await?;
    let week = local_week(loaded.zone, span.start());
    facts.count(Interval::new(b.starts_at, b.ends_at).map_err(ServiceError::internal)?, week, now, -1);
    // Judged as a fresh booking of the result would be; a maker's move of a booking that
    // needs approval waits for it again.
    let change = Change::Move { was: b.status, by_operator: as_operator };
    let Verdict { violations, status } = loaded.judge(&facts, span, Some(&unit), b.kind, change, now);
    if !violations.is_empty() {
        return Err(ServiceError::policy(&violations));
    }
    let blocked = loaded.policy.blocked(span);
    let d = loaded.decision(vec![]);
    let free = d.units.iter().find(|u| u.id == unit).is_some_and(|u| crate::domain::allocation::fits(u, span, blocked));
    if !free {
        return Err(conflict(&d, span, blocked, Some(&unit), now));
    }
    match svc.db.move_booking(&b.id, &unit, span, blocked, (b.status, status), now).await {
        Ok(true) => {}
        Ok(false) => {
            return Err(ServiceError::new(
                Code::NotMovable,
                format!("the booking is not {} any more (it changed meanwhile, or is no longer live)", b.status),
            ));
        }
        Err(StoreError::Overlap) => return Err(conflict(&d, span, blocked, Some(&unit), now)),
        Err(err) => return Err(err.into()),
    }
    tracing::info!(booking = %b.id, by = %who.id(), "booking moved");
    // The time it left may be what someone is waiting for.
    super::waitlist::promote(svc, &b.resource_id, now).await;
    let moved = find(svc, b.id.as_str()).await?;
    super::notify::tell_maker(svc, who.id(), &moved, "booking_moved", None, 1, now).await;
    Ok(moved)
}

// ---------- reading ----------

/// A booking by id.
///
/// # Errors
/// [`Code::NotFound`].
pub async fn find(svc: &Services, id: &str) -> ServiceResult<BookingRow> {
    svc.db.booking(&BookingId::new(id)).await.map_err(ServiceError::missing("booking"))
}

/// A booking: its maker, the space's operators, reviewers and admins may see it.
///
/// # Errors
/// [`Code::NotFound`] (also for a booking the caller may not see).
pub async fn show(svc: &Services, who: &Identity, id: &str) -> ServiceResult<BookingRow> {
    let b = find(svc, id).await?;
    if &b.account_id != who.id() && !who.operates(&b.space_id) && who.reviewer().is_none() {
        return Err(ServiceError::not_found("booking"));
    }
    Ok(b)
}

/// Which bookings a list shows.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// Only this status.
    #[serde(default)]
    pub status: Option<String>,
    /// Only bookings that end after this instant (RFC 3339) ...
    #[serde(default)]
    pub from: Option<String>,
    /// ... and start before this one.
    #[serde(default)]
    pub to: Option<String>,
}

fn list_window(q: &ListQuery) -> ServiceResult<(Option<BookingStatus>, Option<Interval>)> {
    let mut e = ValidationErrors::default();
    let status = match q.status.as_deref() {
        None => None,
        Some(s) => {
            let parsed = BookingStatus::from_db(s);
            if parsed.is_none() {
                let all: Vec<&str> = BookingStatus::ALL.iter().map(|s| s.as_str()).collect();
                e.push(FieldError::new("status", "invalid_choice", format!("must be one of {}", all.join(", "))));
            }
            parsed
        }
    };
    let from = q.from.as_deref().map(|f| e.take(parse_instant("from", f))).unwrap_or(Some(i64::MIN / 2));
    let to = q.to.as_deref().map(|t| e.take(parse_instant("to", t))).unwrap_or(Some(i64::MAX / 2));
    e.finish()?;
    let window = match (from, to) {
        (Some(a), Some(b)) => Some(
            Interval::new(a, b).map_err(|_| ServiceError::invalid_field("to", "before_start", "must be after from"))?,
        ),
        _ => None,
    };
    Ok((status, window))
}

/// The signed-in maker's bookings, by start (at most 500).
///
/// # Errors
/// [`Code::ValidationFailed`].
pub async fn mine(svc: &Services, who: &Identity, q: &ListQuery) -> ServiceResult<Vec<BookingRow>> {
    let (status, window) = list_window(q)?;
    Ok(svc
        .db
        .bookings(&BookingFilter { account_id: Some(who.id()), status, window, limit: 500, ..Default::default() })
        .await?)
}

/// The signed-in maker's bookings of one series, by start; another maker's series reads
/// as one that does not exist.
///
/// # Errors
/// [`Code::NotFound`].
pub async fn my_series(svc: &Services, who: &Identity, series_id: &str) -> ServiceResult<Vec<BookingRow>> {
    let filter =
        BookingFilter { account_id: Some(who.id()), series_id: Some(series_id), limit: 1000, ..Default::default() };
    let mut rows = svc.db.bookings(&filter).await?;
    if rows.is_empty() {
        return Err(ServiceError::not_found("series"));
    }
    rows.sort_by_key(|b| b.starts_at);
    Ok(rows)
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct SpaceBookingsQuery {
    /// A local date of the space (default: today there).
    #[serde(default)]
    pub date: Option<String>,
    /// Instead of `date`: the first local date of a range (with `to`, inclusive; at most
    /// [`SPACE_LIST_DAYS`] days).
    #[serde(default)]
    pub from: Option<String>,
    /// The last local date of the range (default: `from`).
    #[serde(default)]
    pub to: Option<String>,
    #[serde(default)]
    pub unit: Option<String>,
    /// For example `pending`, to see what awaits approval.
    #[serde(default)]
    pub status: Option<String>,
}

/// The longest range of a space's booking list, in local days.
pub const SPACE_LIST_DAYS: i64 = 62;

fn date_field(field: &str, raw: &str) -> ServiceResult<chrono::NaiveDate> {
    crate::domain::calendar::parse_date(field, raw).map_err(|f| ServiceError::from(ValidationErrors(vec![f])))
}

/// A space's bookings on one local day, or over local dates `from..=to` (pending ones
/// whatever their day unless a date or range is given), for its operators and reviewers.
///
/// # Errors
/// [`Code::ValidationFailed`]: a date that does not parse, `date` with `from`/`to`, `to`
/// without `from`, a reversed range or one longer than [`SPACE_LIST_DAYS`].
pub async fn of_space(
    svc: &Services,
    reader: &SpaceReader,
    q: &SpaceBookingsQuery,
    now: i64,
) -> ServiceResult<Vec<BookingRow>> {
    use crate::domain::calendar::local_day;
    let space = reader.space();
    let zone = zone_of(space)?;
    let window = match (q.date.as_deref(), q.from.as_deref(), q.to.as_deref()) {
        (Some(_), Some(_), _) | (Some(_), _, Some(_)) => {
            return Err(ServiceError::invalid_field("date", "not_allowed", "give a date, or from and to, not both"));
        }
        (None, None, Some(_)) => {
            return Err(ServiceError::invalid_field("from", "required", "a range needs its first date"));
        }
        (None, Some(f), t) => {
            let first = date_field("from", f)?;
            let last = match t {
                Some(t) => date_field("to", t)?,
                None => first,
            };
            if last < first {
                return Err(ServiceError::invalid_field("to", "before_start", "must not be before from"));
            }
            if (last - first).num_days() >= SPACE_LIST_DAYS {
                return Err(ServiceError::invalid_field(
                    "to",
                    "period_too_long",
                    &format!("a range is at most {SPACE_LIST_DAYS} days"),
                ));
            }
            let (a, b) = (local_day(zone.tz(), first), local_day(zone.tz(), last));
            Some(crate::domain::interval::Interval::new(a.start(), b.end()).map_err(ServiceError::internal)?)
        }
        // Pending bookings are listed whatever their day unless a date is given.
        (None, None, None) if q.status.as_deref() == Some(BookingStatus::Pending.as_str()) => None,
        (None, None, None) => {
            Some(local_day(zone.tz(), crate::domain::calendar::utc_to_local(zone.tz(), now).date_naive()))
        }
        (Some(d), None, None) => Some(local_day(zone.tz(), date_field("date", d)?)),
    };
    let (status, _) = list_window(&ListQuery { status: q.status.clone(), from: None, to: None })?;
    let unit = q.unit.as_deref().map(UnitId::new);
    let rows = svc
        .db
        .bookings(&BookingFilter {
            space_id: Some(&space.id),
            unit_id: unit.as_ref(),
            status,
            window,
            limit: SPACE_LIST_MAX + 1,
            ..Default::default()
        })
        .await?;
    // Never a list cut short without saying so.
    if rows.len() as i64 > SPACE_LIST_MAX {
        return Err(ServiceError::invalid_field(
            "to",
            "too_many_rows",
            &format!("more than {SPACE_LIST_MAX} bookings: ask for fewer days, a unit or a status"),
        ));
    }
    Ok(rows)
}

/// The most bookings one answer of a space's list holds.
pub const SPACE_LIST_MAX: i64 = 5000;

// ---------- cancelling and deciding ----------

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CancelScope {
    /// This booking only.
    #[default]
    This,
    /// This occurrence of its series and every later one.
    Following,
    /// Every occurrence of its series that has not started.
    Series,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CancelBody {
    /// Required when an operator cancels.
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(default)]
    pub scope: CancelScope,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReasonBody {
    /// Required when an operator cancels or declines.
    #[serde(default)]
    pub reason: Option<String>,
}

fn reason_of(reason: Option<&str>, required: bool) -> ServiceResult<Option<String>> {
    match reason.map(str::trim).filter(|r| !r.is_empty()) {
        Some(r) if r.chars().count() > 500 => {
            Err(ServiceError::invalid_field("reason", "too_long", "must be at most 500 characters"))
        }
        Some(r) => Ok(Some(r.to_owned())),
        None if required => Err(ServiceError::invalid_field("reason", "required", "say why")),
        None => Ok(None),
    }
}

/// Cancels a booking: its maker before the start, an operator of the space at any time with
/// a reason. With `scope`, also the following occurrences of its series, or the whole series.
/// Cancelled bookings stay, marked with who, when and why. Returns the bookings cancelled.
///
/// # Errors
/// [`Code::NotFound`], [`Code::Forbidden`] (a reviewer), [`Code::ValidationFailed`] (no reason
/// from an operator), [`Code::NotASeries`], [`Code::TooLateToCancel`], [`Code::NotCancellable`].
pub async fn cancel(
    svc: &Services,
    who: &Identity,
    id: &str,
    body: &CancelBody,
    now: i64,
) -> ServiceResult<Vec<BookingRow>> {
    let b = find(svc, id).await?;
    let as_operator = who.operates(&b.space_id);
    let own = &b.account_id == who.id();
    if !own && !as_operator {
        return Err(who.not_theirs("cancelling"));
    }
    let reason = reason_of(body.reason.as_deref(), !own)?;
    let series = match (body.scope, &b.series_id) {
        (CancelScope::This, _) => None,
        (_, None) => return Err(ServiceError::new(Code::NotASeries, "this booking is not part of a series")),
        (CancelScope::Following, Some(s)) => Some((s.clone(), b.starts_at)),
        (CancelScope::Series, Some(s)) => Some((s.clone(), i64::MIN)),
    };
    if let Some((series_id, from)) = series {
        // A maker cancels only what has not started; an operator, anything live.
        let from = if as_operator { from } else { from.max(now + 1) };
        let filter = BookingFilter { series_id: Some(&series_id), limit: 1000, ..Default::default() };
        let before = svc.db.bookings(&filter).await?;
        let n = svc.db.cancel_series_from(&series_id, from, who.id(), reason.as_deref(), now).await?;
        tracing::info!(series = %series_id, cancelled = n, by = %who.id(), "series cancelled");
        super::waitlist::promote(svc, &b.resource_id, now).await;
        let after = svc.db.bookings(&filter).await?;
        let changed: Vec<BookingRow> =
            after.into_iter().filter(|a| before.iter().any(|x| x.id == a.id && x.status != a.status)).collect();
        if let Some(first) = changed.first() {
            let n = changed.len();
            super::notify::tell_maker(svc, who.id(), first, "booking_cancelled", reason.as_deref(), n, now).await;
        }
        return Ok(changed);
    }
    if !as_operator && b.starts_at <= now {
        return Err(ServiceError::new(Code::TooLateToCancel, "the booking has started; ask an operator of the space"));
    }
    if !svc.db.cancel_booking(&b.id, who.id(), reason.as_deref(), now).await? {
        return Err(ServiceError::new(Code::NotCancellable, format!("the booking is {}", b.status)));
    }
    tracing::info!(booking = %b.id, by = %who.id(), "booking cancelled");
    super::waitlist::promote(svc, &b.resource_id, now).await;
    let cancelled = svc.db.booking(&b.id).await?;
    super::notify::tell_maker(svc, who.id(), &cancelled, "booking_cancelled", reason.as_deref(), 1, now).await;
    Ok(vec![cancelled])
}

/// Approves (`approve`) or declines a pending booking, as an operator of its space; a
/// decline needs a reason and frees the unit for the waitlist. The maker is told.
///
/// # Errors
/// [`Code::NotFound`], [`Code::Forbidden`], [`Code::ValidationFailed`], [`Code::NotPending`].
pub async fn decide_pending(
    svc: &Services,
    who: &Identity,
    id: &str,
    approve: bool,
    body: &ReasonBody,
    now: i64,
) -> ServiceResult<BookingRow> {
    let reason = reason_of(body.reason.as_deref(), !approve)?;
    let b = find(svc, id).await?;
    if !who.operates(&b.space_id) {
        return Err(
            who.not_operator_of_booking(&b.account_id, "approving and declining needs the operator role for the space")
        );
    }
    if !svc.db.decide_booking(&b.id, approve, who.id(), reason.as_deref(), now).await? {
        return Err(ServiceError::new(Code::NotPending, format!("the booking is {}", b.status)));
    }
    if !approve {
        super::waitlist::promote(svc, &b.resource_id, now).await;
    }
    let decided = svc.db.booking(&b.id).await?;
    let kind = if approve { "booking_approved" } else { "booking_declined" };
    super::notify::tell_maker(svc, who.id(), &decided, kind, reason.as_deref(), 1, now).await;
    Ok(decided)
}
