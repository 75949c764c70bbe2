//! Bookings: create (a unit, or a resource and the allocator picks the unit), list, show,
//! cancel, approve and decline. Every rule is checked on the server; a refusal lists every
//! broken rule; a taken unit is a 409 with the conflicts and the nearest free alternatives.
//! The database has the last word on overlaps, so a race is a 409 too, never a double booking.

use super::catalog::{find_space, stored_policy};
use crate::domain::allocation::{UnitState, alternatives, rank};
use crate::domain::availability::{Closure, Scope};
use crate::domain::booking::{
    BookingContext, MakerFacts, TrainingHold, Violation, check, local_week, needs_maker_record,
};
use crate::domain::calendar::{DAY_MS, MINUTE_MS, parse_instant};
use crate::domain::catalog::text;
use crate::domain::interval::{Interval, normalize};
use crate::domain::{FieldError, ValidationErrors};
use crate::http::AppState;
use crate::http::calendar::{Span, closures as closures_of_rows, opening_windows, zone_of};
use crate::http::error::{ApiError, ApiResult, Problem};
use crate::http::extract::{ApiJson, ApiPath, ApiQuery, AuthUser};
use crate::store::StoreError;
use crate::store::bookings::{BookingFilter, BookingRow, NewBooking};
use crate::store::catalog::{ResourceRow, SpaceRow};
use crate::store::catalog_cache::{Expansion, Rules};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::sync::Arc;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create, list_mine))
        .routes(routes!(show))
        .routes(routes!(cancel))
        .routes(routes!(approve))
        .routes(routes!(decline))
        .routes(routes!(space_bookings))
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
    pub checkin_code: Option<super::kiosk::CheckinCode>,
    pub created_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decision_reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cancelled_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cancel_reason: Option<String>,
}

pub(crate) fn booking_view(b: &BookingRow) -> ApiResult<BookingView> {
    let zone = crate::domain::calendar::Zone::parse("timezone", &b.timezone)
        .map_err(|e| ApiError::internal(anyhow::anyhow!("booking {} has a bad zone: {e:?}", b.id)))?;
    let when = Interval::new(b.starts_at, b.ends_at).map_err(ApiError::internal)?;
    Ok(BookingView {
        id: b.id.clone(),
        status: b.status.clone(),
        kind: b.kind.clone(),
        resource_id: b.resource_id.clone(),
        resource_name_zh: b.resource_name_zh.clone(),
        resource_name_en: b.resource_name_en.clone(),
        unit_id: b.unit_id.clone(),
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

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateBooking {
    /// Book any free unit of this resource (best fit) ...
    #[serde(default)]
    resource: Option<String>,
    /// ... or this unit.
    #[serde(default)]
    unit: Option<String>,
    /// RFC 3339 with offset.
    start: String,
    end: String,
    /// Book for a team or start-up you belong to.
    #[serde(default)]
    team: Option<String>,
    #[serde(default)]
    purpose: String,
    /// Makes a recurring series: an RFC 5545 RRULE (such as `FREQ=WEEKLY;COUNT=10`) in the
    /// space's local time; `start`/`end` are the first occurrence. At most one year and 366
    /// occurrences. The answer is then a `SeriesView`.
    #[serde(default)]
    recurrence: Option<String>,
    /// For a series: `reject` (default) refuses the whole series if any occurrence cannot
    /// be booked; `skip` books the others and reports the skipped ones.
    #[serde(default)]
    on_conflict: OnConflict,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OnConflict {
    #[default]
    Reject,
    Skip,
}

/// A series and the bookings it made.
#[derive(Debug, Serialize, ToSchema)]
pub struct SeriesView {
    pub series_id: String,
    pub bookings: Vec<BookingView>,
    /// Occurrences not booked (`skip` mode), with why.
    pub skipped: Vec<Skipped>,
    /// Occurrences that could not keep the series' unit and went to another.
    pub unit_changes: Vec<Alternative>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Skipped {
    pub when: Span,
    /// `conflict`, or the rules the occurrence breaks.
    pub reasons: Vec<String>,
}

/// The most occurrences one series may have.
pub const MAX_SERIES_OCCURRENCES: usize = 366;

/// A unit is taken: the conflicting intervals, and the nearest free alternatives.
#[derive(Debug, Serialize, ToSchema)]
pub struct Alternative {
    pub unit_id: String,
    pub unit_label: String,
    pub when: Span,
}

/// Everything a booking decision needs, loaded once.
pub(crate) struct Decision {
    pub zone: crate::domain::calendar::Zone,
    pub policy: crate::domain::policy::BookingPolicy,
    /// Opening hours minus space/resource closures, around the request.
    pub open: Vec<Interval>,
    pub units: Vec<UnitState>,
    pub violations: Vec<Violation>,
}

/// The calendar of a resource over a window, loaded once for any number of checks.
pub(crate) struct Loaded {
    pub zone: crate::domain::calendar::Zone,
    pub policy: crate::domain::policy::BookingPolicy,
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

    /// Every rule `span` breaks (a named unit's closures count too).
    pub fn violations(&self, maker: &MakerFacts, span: Interval, unit: Option<&str>, now: i64) -> Vec<Violation> {
        let mut closed = self.closed.clone();
        if let Some(u) = unit {
            closed.extend(self.units.iter().filter(|x| x.id == u).flat_map(|x| x.closed.iter().copied()));
        }
        check(
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
        )
    }
}

pub(crate) async fn load(state: &AppState, resource: &ResourceRow, window: Interval) -> ApiResult<Loaded> {
    let space = find_space(state, &resource.space_id).await?;
    load_in(state, resource, space, window).await
}

/// [`load`] for a resource whose space the caller has already read.
pub(crate) async fn load_in(
    state: &AppState,
    resource: &ResourceRow,
    space: SpaceRow,
    window: Interval,
) -> ApiResult<Loaded> {
    let cal = state.db.calendar_of(resource.clone(), space, window).await?;
    loaded_from(resource, &cal, window)
}

/// [`load_in`] from a calendar already read (or made from the catalog cache).
pub(crate) fn loaded_from(
    resource: &ResourceRow,
    cal: &crate::store::catalog::ResourceCalendar,
    window: Interval,
) -> ApiResult<Loaded> {
    let expansion = expand_rules(cal, window)?;
    assemble(&cal.space, rules_of(resource, &cal.space)?, &cal.units, &cal.blocks, expansion)
}

/// A calendar's opening hours and closures within `window` (its bookings are not looked at).
fn expand_rules(cal: &crate::store::catalog::ResourceCalendar, window: Interval) -> ApiResult<Expansion> {
    let zone = zone_of(&cal.space)?;
    let mut hours = Vec::new();
    for rule in opening_windows(zone, &cal.opening_rules)? {
        hours.extend(rule.expand(window)?);
    }
    let closures: Vec<Closure> = closures_of_rows(zone, &cal.closures)?;
    let mut closed = Vec::new();
    let mut unit_closed: Vec<(String, Vec<Interval>)> = Vec::new();
    for c in &closures {
        let ivs = c.when.within(window)?;
        match &c.scope {
            Scope::Space | Scope::Resource(_) => closed.extend(ivs),
            Scope::Unit(u) => unit_closed.push((u.clone(), ivs)),
        }
    }
    Ok(Expansion { hours: normalize(hours), closed, unit_closed })
}

/// The resource's booking policy (stored, merged over its kind's defaults) and the space's
/// quota for its kind: parsed from JSON, so the catalog cache keeps them per entry.
fn rules_of(resource: &ResourceRow, space: &SpaceRow) -> ApiResult<Rules> {
    let policy = stored_policy(resource)?;
    let kind_quota = match crate::domain::policy::ResourceKind::from_db(&resource.kind) {
        Some(kind) => serde_json::from_str::<serde_json::Value>(&space.kind_quotas)
            .ok()
            .and_then(|v| crate::domain::policy::parse_kind_quotas(&v).ok())
            .and_then(|mut q| q.remove(&kind)),
        None => None,
    };
    Ok(Rules { policy, kind_quota })
}

/// [`rules_of`] a cache entry, parsed once per entry.
fn cached_rules(entry: &crate::store::catalog_cache::Entry) -> ApiResult<Rules> {
    if let Some(r) = entry.parsed.get() {
        return Ok(r.clone());
    }
    let r = rules_of(&entry.resource, &entry.space)?;
    Ok(entry.parsed.get_or_init(|| r).clone())
}

/// [`Loaded`] from the rules' expansion, the units and their live blocks.
fn assemble(
    space: &SpaceRow,
    rules: Rules,
    units: &[crate::store::catalog::UnitRow],
    blocks: &[(String, Interval)],
    expansion: Expansion,
) -> ApiResult<Loaded> {
    let Rules { policy, kind_quota } = rules;
    let zone = zone_of(space)?;
    let Expansion { hours, closed, unit_closed } = expansion;
    // Group once: scanning every block for every unit would be quadratic.
    let mut by_unit: std::collections::HashMap<&str, Vec<Interval>> = std::collections::HashMap::new();
    for (id, i) in blocks {
        by_unit.entry(id.as_str()).or_default().push(*i);
    }
    let units = units
        .iter()
        .map(|u| UnitState {
            id: u.id.clone(),
            label: u.label.clone(),
            blocks: by_unit.remove(u.id.as_str()).unwrap_or_default(),
            closed: unit_closed.iter().filter(|(id, _)| id == &u.id).flat_map(|(_, ivs)| ivs.iter().copied()).collect(),
        })
        .collect();
    Ok(Loaded { zone, policy, hours, closed, units, kind_quota })
}

pub(crate) async fn maker(
    state: &AppState,
    account: &str,
    resource: &ResourceRow,
    loaded: &Loaded,
    at: i64,
) -> ApiResult<MakerFacts> {
    Ok(maker_and_blocks(state, account, resource, loaded, at, None).await?.0)
}

/// [`maker`], and in the same round trip the live blocks of `blocks_of`'s unit.
async fn maker_and_blocks(
    state: &AppState,
    account: &str,
    resource: &ResourceRow,
    loaded: &Loaded,
    at: i64,
    blocks_of: Option<(&str, Interval)>,
) -> ApiResult<(MakerFacts, Vec<Interval>)> {
    let r = crate::store::bookings::ResourceRef {
        id: &resource.id,
        space_id: &resource.space_id,
        kind: &resource.kind,
        kind_quota: loaded.kind_quota.is_some(),
        quota: loaded.policy.quota.hours_per_week.is_some() || loaded.policy.quota.max_active_bookings.is_some(),
        blocks_of,
    };
    let facts = state.db.maker_facts(account, &r, local_week(loaded.zone, at), state.clock.now_ms()).await?;
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

/// Loads the calendar around `span` and checks every rule for `account`.
pub(crate) async fn decide(
    state: &AppState,
    resource: &ResourceRow,
    space: &SpaceRow,
    account: &str,
    span: Interval,
    unit: Option<&str>,
) -> ApiResult<Decision> {
    let window = Interval::new(span.start() - DAY_MS, span.end() + DAY_MS).map_err(ApiError::internal)?;
    let loaded = load_in(state, resource, space.clone(), window).await?;
    let facts = maker(state, account, resource, &loaded, span.start()).await?;
    let violations = loaded.violations(&facts, span, unit, state.clock.now_ms());
    let open = loaded.open();
    Ok(Decision { zone: loaded.zone, policy: loaded.policy, open, units: loaded.units, violations })
}

/// [`decide`] with the catalog rows from the node's cache: only the live bookings and the
/// maker's facts are read.
async fn decide_cached(
    state: &AppState,
    entry: &crate::store::catalog_cache::Entry,
    user: &AuthUser,
    span: Interval,
    unit: Option<&str>,
) -> ApiResult<Decision> {
    let account = user.account.id.as_str();
    let window = Interval::new(span.start() - DAY_MS, span.end() + DAY_MS).map_err(ApiError::internal)?;
    // A named unit needs only its own blocks (the others are not candidates; a 409 answer
    // reads everything afresh): a few rows instead of every unit's.
    // Opening hours and closures come expanded from the cache entry.
    let expansion = entry.expansion(window, |w| expand_rules(&entry.calendar(w, Vec::new()), w))?;
    let rules = cached_rules(entry)?;
    let (loaded, facts) = match unit {
        // Rules that read no maker record (no training, no quota) need nothing from the
        // database but the session's verified flag; the unit's blocks are not read either:
        // the insert asks the database, whose no-overlap guarantee decides, and a refusal
        // reads everything afresh for the 409's conflicts and alternatives.
        Some(u) if !needs_maker_record(&rules.policy, rules.kind_quota.as_ref()) => {
            let units: Vec<_> = entry.units.iter().filter(|x| x.id == u).cloned().collect();
            let loaded = assemble(&entry.space, rules, &units, &[], expansion)?;
            (loaded, MakerFacts { verified: user.account.verified_maker, ..MakerFacts::default() })
        }
        Some(u) => {
            // The unit's blocks come with the maker's facts, in one round trip.
            let units: Vec<_> = entry.units.iter().filter(|x| x.id == u).cloned().collect();
            let mut loaded = assemble(&entry.space, rules, &units, &[], expansion)?;
            let (facts, blocks) =
                maker_and_blocks(state, account, &entry.resource, &loaded, span.start(), Some((u, window))).await?;
            for x in &mut loaded.units {
                x.blocks.clone_from(&blocks);
            }
            (loaded, facts)
        }
        None => {
            let blocks = state.db.blocked_intervals(&entry.resource, window).await?;
            let loaded = assemble(&entry.space, rules, &entry.units, &blocks, expansion)?;
            let facts = maker(state, account, &entry.resource, &loaded, span.start()).await?;
            (loaded, facts)
        }
    };
    let violations = loaded.violations(&facts, span, unit, state.clock.now_ms());
    let open = loaded.open();
    Ok(Decision { zone: loaded.zone, policy: loaded.policy, open, units: loaded.units, violations })
}

/// [`target`] through the catalog cache: `None` when the cache cannot answer alone (the
/// caller then asks [`target`], which also names what is wrong with the input).
async fn target_cached(
    state: &AppState,
    version: i64,
    resource: Option<&str>,
    unit: Option<&str>,
) -> ApiResult<Option<Arc<crate::store::catalog_cache::Entry>>> {
    let resource_id = match (resource, unit) {
        (Some(r), None) => r.to_owned(),
        (None, Some(u)) => match state.catalog.resource_of_unit(&state.db, u).await {
            Ok(r) => r,
            Err(StoreError::NotFound) => return Ok(None),
            Err(e) => return Err(e.into()),
        },
        _ => return Ok(None),
    };
    let entry = match state.catalog.entry(&state.db, version, &resource_id).await {
        Ok(e) => e,
        Err(StoreError::NotFound) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let usable = entry.resource.archived_at.is_none()
        && entry.space.archived_at.is_none()
        && unit.is_none_or(|u| entry.units.iter().any(|x| x.id == u && x.retired_at.is_none()));
    Ok(usable.then_some(entry))
}

pub(crate) fn policy_violation(violations: Vec<Violation>) -> ApiError {
    let n = violations.len();
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "policy_violation",
        format!("the booking breaks {n} rule{} of this resource", if n == 1 { "" } else { "s" }),
    )
    .with_details(json!({ "violations": violations }))
}

/// The 409 for a taken unit (or a resource with no free unit).
pub(crate) fn conflict(d: &Decision, span: Interval, blocked: Interval, unit: Option<&str>, now: i64) -> ApiError {
    let conflicts: Vec<Span> = d
        .units
        .iter()
        .filter(|u| unit.is_none_or(|id| id == u.id))
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
    ApiError::conflict("conflict", message).with_details(json!({ "conflicts": conflicts, "alternatives": alts }))
}

/// Where a new booking goes: the resource and, if named, the unit.
pub(crate) async fn target(
    state: &AppState,
    resource: Option<&str>,
    unit: Option<&str>,
    e: &mut ValidationErrors,
) -> ApiResult<Option<(ResourceRow, SpaceRow, Option<String>)>> {
    let (resource_id, unit_id) = match (resource, unit) {
        (Some(r), None) => (r.to_owned(), None),
        (None, Some(u)) => match state.db.unit(u).await {
            Ok(unit) if unit.retired_at.is_none() => (unit.resource_id, Some(unit.id)),
            Ok(_) => {
                e.push(FieldError::new("unit", "retired", "this unit is retired"));
                return Ok(None);
            }
            Err(StoreError::NotFound) => {
                e.push(FieldError::new("unit", "unknown_unit", "no unit has this id"));
                return Ok(None);
            }
            Err(err) => return Err(err.into()),
        },
        _ => {
            e.push(FieldError::new("resource", "invalid_choice", "give either resource or unit"));
            return Ok(None);
        }
    };
    let resource = match state.db.resource(&resource_id).await {
        Ok(r) if r.archived_at.is_none() => r,
        Ok(_) => {
            e.push(FieldError::new("resource", "archived", "this resource takes no new bookings"));
            return Ok(None);
        }
        Err(StoreError::NotFound) => {
            e.push(FieldError::new("resource", "unknown_resource", "no resource has this id"));
            return Ok(None);
        }
        Err(err) => return Err(err.into()),
    };
    let space = find_space(state, &resource.space_id).await?;
    if space.archived_at.is_some() {
        e.push(FieldError::new("resource", "archived", "this space is archived"));
        return Ok(None);
    }
    Ok(Some((resource, space, unit_id)))
}

pub(crate) async fn team_of(
    state: &AppState,
    user: &AuthUser,
    team: Option<&str>,
    e: &mut ValidationErrors,
) -> ApiResult<Option<String>> {
    let Some(team) = team else { return Ok(None) };
    let org = match state.db.organisation(team).await {
        Ok(o) => o,
        Err(StoreError::NotFound) => {
            e.push(FieldError::new("team", "unknown_team", "no team or start-up has this id or slug"));
            return Ok(None);
        }
        Err(err) => return Err(err.into()),
    };
    if state.db.membership(&org.id, &user.account.id).await?.is_none() {
        e.push(FieldError::new("team", "not_a_member", "you can only book for a team you belong to"));
        return Ok(None);
    }
    Ok(Some(org.id))
}

/// A fresh nonce for the check-in code of a booking; it is also the short typed code
/// (10 characters, about 50 bits).
pub(crate) fn nonce() -> ApiResult<String> {
    Ok(crate::auth::checkin_nonce()?)
}

/// Books a unit, or any free unit of a resource (best fit); with `recurrence`, a series.
#[utoipa::path(post, path = "/api/v1/bookings", tag = "bookings", request_body = CreateBooking, security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 201, body = BookingView, description = "a booking; with `recurrence`, a `SeriesView`"),
        (status = 409, body = Problem, description = "`conflict`: details.conflicts and details.alternatives"),
        (status = 422, body = Problem, description = "`policy_violation` (details.violations lists every broken rule) or `validation_failed`"),
    ))]
async fn create(
    State(state): State<AppState>,
    user: AuthUser,
    ApiJson(req): ApiJson<CreateBooking>,
) -> ApiResult<impl IntoResponse> {
    let mut e = ValidationErrors::default();
    let start = e.take(parse_instant("start", &req.start));
    let end = e.take(parse_instant("end", &req.end));
    let purpose = e.take(text("purpose", &req.purpose, 500));
    // Single bookings (the hot path) take the catalog rows from the node's cache.
    let cached = if req.recurrence.is_none() {
        target_cached(&state, user.catalog_version, req.resource.as_deref(), req.unit.as_deref()).await?
    } else {
        None
    };
    let target = match &cached {
        Some(entry) => Some((entry.resource.clone(), entry.space.clone(), req.unit.clone())),
        None => target(&state, req.resource.as_deref(), req.unit.as_deref(), &mut e).await?,
    };
    let team = team_of(&state, &user, req.team.as_deref(), &mut e).await?;
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
    let (Some(span), Some(purpose), Some((resource, space, unit))) = (span, purpose, target) else {
        return Err(e.into());
    };
    e.finish()?;
    if let Some(rrule) = req.recurrence.as_deref() {
        let t = Target {
            resource: &resource,
            space: &space,
            unit: unit.as_deref(),
            team: team.as_deref(),
            purpose: &purpose,
        };
        let view = create_series(&state, &user, &t, span, rrule, req.on_conflict).await?;
        return Ok((StatusCode::CREATED, Json(view)).into_response());
    }

    let d = match &cached {
        Some(entry) => decide_cached(&state, entry, &user, span, unit.as_deref()).await?,
        None => decide(&state, &resource, &space, &user.account.id, span, unit.as_deref()).await?,
    };
    if !d.violations.is_empty() {
        return Err(policy_violation(d.violations));
    }
    let t =
        Target { resource: &resource, space: &space, unit: unit.as_deref(), team: team.as_deref(), purpose: &purpose };
    if let Some(row) = place(&state, &user.account.id, &t, &d, span, "single").await? {
        let view = super::kiosk::owner_view(&state, &row)?;
        return Ok((StatusCode::CREATED, Json(view)).into_response());
    }
    // Refresh what we know, so the answer names what took the time: every unit's blocks, for
    // the alternatives on the same resource.
    let fresh = match &cached {
        Some(entry) => decide_cached(&state, entry, &user, span, None).await?,
        None => decide(&state, &resource, &space, &user.account.id, span, unit.as_deref()).await?,
    };
    let blocked = span.widened(d.policy.buffer_before_minutes * MINUTE_MS, d.policy.buffer_after_minutes * MINUTE_MS);
    Err(conflict(&fresh, span, blocked, unit.as_deref(), state.clock.now_ms()))
}

/// Books `span` for `account` on the best-fit unit (or the target's unit), trying the next
/// best when a racing request took one first. `None`: no unit could take it.
pub(crate) async fn place(
    state: &AppState,
    account: &str,
    t: &Target<'_>,
    d: &Decision,
    span: Interval,
    kind: &str,
) -> ApiResult<Option<BookingRow>> {
    let blocked = span.widened(d.policy.buffer_before_minutes * MINUTE_MS, d.policy.buffer_after_minutes * MINUTE_MS);
    let horizon = Interval::new(span.start() - DAY_MS, span.end() + DAY_MS).map_err(ApiError::internal)?;
    let candidates: Vec<&UnitState> =
        rank(&d.units, span, blocked, horizon).into_iter().filter(|u| t.unit.is_none_or(|id| id == u.id)).collect();
    let status = if d.policy.requires_approval { "pending" } else { "confirmed" };
    let now = state.clock.now_ms();
    let nonce = nonce()?;
    for candidate in &candidates {
        let new = NewBooking {
            unit_id: &candidate.id,
            resource_id: &t.resource.id,
            space_id: &t.space.id,
            account_id: account,
            organisation_id: t.team,
            status,
            span,
            blocked,
            purpose: t.purpose,
            checkin_nonce: &nonce,
            now,
        };
        let result = if kind == "single" {
            state.db.insert_booking(&new).await.map(Some)
        } else {
            state
                .db
                .insert_bookings(std::slice::from_ref(&new), kind, None, true)
                .await
                .map(|(_, ids)| ids.into_iter().next().flatten())
        };
        match result {
            Ok(Some(id)) => {
                tracing::info!(booking = %id, unit = %candidate.label, status, kind, "booked");
                // Everything the answer shows is known here: no read-back.
                return Ok(Some(BookingRow {
                    id,
                    unit_id: candidate.id.clone(),
                    unit_label: candidate.label.clone(),
                    resource_name_zh: t.resource.name_zh.clone(),
                    resource_name_en: t.resource.name_en.clone(),
                    space_slug: t.space.slug.clone(),
                    timezone: t.space.timezone.clone(),
                    resource_id: t.resource.id.clone(),
                    space_id: t.space.id.clone(),
                    account_id: account.to_owned(),
                    organisation_id: t.team.map(str::to_owned),
                    series_id: None,
                    kind: kind.to_owned(),
                    status: status.to_owned(),
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
                    resource_kind: t.resource.kind.clone(),
                    resource_policy: t.resource.policy.clone(),
                }));
            }
            // Someone else took this unit since we looked: try the next best one.
            Ok(None) | Err(StoreError::Overlap) => continue,
            Err(err) => return Err(err.into()),
        }
    }
    Ok(None)
}

/// Where a booking goes and for whom.
pub(crate) struct Target<'a> {
    pub resource: &'a ResourceRow,
    pub space: &'a SpaceRow,
    pub unit: Option<&'a str>,
    pub team: Option<&'a str>,
    pub purpose: &'a str,
}

async fn create_series(
    state: &AppState,
    user: &AuthUser,
    t: &Target<'_>,
    first: Interval,
    rrule: &str,
    mode: OnConflict,
) -> ApiResult<SeriesView> {
    let zone = zone_of(t.space)?;
    let start_local = crate::domain::calendar::utc_to_local(zone.tz(), first.start()).naive_local();
    let start_text = start_local.format("%Y-%m-%dT%H:%M:%S").to_string();
    if first.duration_ms() % MINUTE_MS != 0 {
        return Err(ApiError::invalid_field("end", "not_whole_minutes", "a series occurrence lasts whole minutes"));
    }
    let rule = crate::domain::calendar::RecurringWindow::parse(
        ["recurrence", "start", "end"],
        rrule,
        &start_text,
        first.duration_ms() / MINUTE_MS,
        crate::domain::calendar::MAX_CLOSURE_MINUTES,
        zone,
    )
    .map_err(|v| ApiError::from(ValidationErrors(v)))?;
    let year = Interval::new(first.start(), first.start() + 366 * DAY_MS).map_err(ApiError::internal)?;
    let occurrences: Vec<Interval> = rule.expand(year)?.into_iter().filter(|o| o.start() >= first.start()).collect();
    if occurrences.is_empty() {
        return Err(ApiError::invalid_field(
            "recurrence",
            "no_occurrences",
            "the rule produces no occurrence within a year",
        ));
    }
    if occurrences.len() > MAX_SERIES_OCCURRENCES || rule.last_end().is_none_or(|e| e > year.end()) {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "series_too_long",
            format!(
                "a series ends within one year and has at most {MAX_SERIES_OCCURRENCES} occurrences; add COUNT or UNTIL"
            ),
        ));
    }
    let last = occurrences.last().expect("not empty");
    let window = Interval::new(first.start() - DAY_MS, last.end() + DAY_MS).map_err(ApiError::internal)?;
    let loaded = load_in(state, t.resource, t.space.clone(), window).await?;
    let now = state.clock.now_ms();
    let p = &loaded.policy;
    let (before, after) = (p.buffer_before_minutes * MINUTE_MS, p.buffer_after_minutes * MINUTE_MS);

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
    let weeks: std::collections::HashMap<i64, MakerFacts> =
        if needs_maker_record(&loaded.policy, loaded.kind_quota.as_ref()) {
            let read = futures_util::future::try_join_all(
                firsts.iter().map(|(_, at)| maker(state, &user.account.id, t.resource, &loaded, *at)),
            )
            .await?;
            firsts.iter().map(|(w, _)| *w).zip(read).collect()
        } else {
            let none = MakerFacts { verified: user.account.verified_maker, ..MakerFacts::default() };
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
        let v = loaded.violations(&facts, *occ, t.unit, now);
        if v.is_empty() {
            accepted.push(*occ);
        } else {
            broken.push(json!({ "when": Span::new(zone, *occ), "violations": v }));
            skipped.push(Skipped { when: Span::new(zone, *occ), reasons: v.into_iter().map(|x| x.rule).collect() });
        }
    }
    if mode == OnConflict::Reject && !broken.is_empty() {
        let n = broken.len();
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "policy_violation",
            format!("{n} occurrence(s) break rules of this resource"),
        )
        .with_details(json!({ "occurrences": broken })));
    }

    // One unit for the whole series where it can; each occurrence otherwise to its best fit.
    let pairs: Vec<(Interval, Interval)> = accepted.iter().map(|o| (*o, o.widened(before, after))).collect();
    let units: Vec<UnitState> = match t.unit {
        Some(id) => loaded.units.iter().filter(|u| u.id == id).cloned().collect(),
        None => loaded.units.clone(),
    };
    let chosen = crate::domain::allocation::assign_series(&units, &pairs, window);
    let anchor = chosen.iter().flatten().next().map(|u| u.id.clone());
    let mut plan: Vec<(Interval, Interval, &UnitState)> = Vec::new();
    let mut unit_changes = Vec::new();
    for ((span, blocked), unit) in pairs.iter().zip(&chosen) {
        match unit {
            Some(u) => {
                if anchor.as_deref() != Some(u.id.as_str()) {
                    unit_changes.push(Alternative {
                        unit_id: u.id.clone(),
                        unit_label: u.label.clone(),
                        when: Span::new(zone, *span),
                    });
                }
                plan.push((*span, *blocked, u));
            }
            None if mode == OnConflict::Reject => {
                let d = Decision {
                    zone,
                    policy: loaded.policy.clone(),
                    open: loaded.open(),
                    units: loaded.units.clone(),
                    violations: vec![],
                };
                return Err(conflict(&d, *span, *blocked, t.unit, now));
            }
            None => skipped.push(Skipped { when: Span::new(zone, *span), reasons: vec!["conflict".into()] }),
        }
    }
    if plan.is_empty() {
        return Err(ApiError::conflict("conflict", "no occurrence of the series can be booked")
            .with_details(json!({ "skipped": skipped })));
    }
    let status = if p.requires_approval { "pending" } else { "confirmed" };
    let nonces: Vec<String> = plan.iter().map(|_| nonce()).collect::<ApiResult<_>>()?;
    let news: Vec<NewBooking<'_>> = plan
        .iter()
        .zip(&nonces)
        .map(|((span, blocked, u), n)| NewBooking {
            unit_id: &u.id,
            resource_id: &t.resource.id,
            space_id: &t.space.id,
            account_id: &user.account.id,
            organisation_id: t.team,
            status,
            span: *span,
            blocked: *blocked,
            purpose: t.purpose,
            checkin_nonce: n,
            now,
        })
        .collect();
    let series = crate::store::bookings::NewSeries {
        account_id: &user.account.id,
        resource_id: &t.resource.id,
        rrule: rule.rrule_text(),
        dtstart_local: &start_text,
        timezone: zone.name(),
        duration_min: rule.duration_min(),
        now,
    };
    let (series_id, ids) =
        match state.db.insert_bookings(&news, "series", Some(&series), mode == OnConflict::Reject).await {
            Ok(r) => r,
            Err(StoreError::Overlap) => {
                return Err(ApiError::conflict(
                    "conflict",
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
    let series_id = series_id.ok_or_else(|| ApiError::internal(anyhow::anyhow!("series insert returned no id")))?;
    let rows =
        state.db.bookings(&BookingFilter { series_id: Some(&series_id), limit: 1000, ..Default::default() }).await?;
    tracing::info!(series = %series_id, booked = rows.len(), skipped = skipped.len(), "series booked");
    Ok(SeriesView {
        series_id,
        bookings: rows.iter().map(|b| super::kiosk::owner_view(state, b)).collect::<ApiResult<_>>()?,
        skipped,
        unit_changes,
    })
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// Only this status.
    #[serde(default)]
    status: Option<String>,
    /// Only bookings that end after this instant (RFC 3339) ...
    #[serde(default)]
    from: Option<String>,
    /// ... and start before this one.
    #[serde(default)]
    to: Option<String>,
}

const STATUSES: [&str; 7] = ["pending", "confirmed", "checked_in", "completed", "cancelled", "declined", "no_show"];

fn list_window(q: &ListQuery) -> ApiResult<(Option<String>, Option<Interval>)> {
    let mut e = ValidationErrors::default();
    if let Some(s) = &q.status
        && !STATUSES.contains(&s.as_str())
    {
        e.push(FieldError::new("status", "invalid_choice", format!("must be one of {}", STATUSES.join(", "))));
    }
    let from = q.from.as_deref().map(|f| e.take(parse_instant("from", f))).unwrap_or(Some(i64::MIN / 2));
    let to = q.to.as_deref().map(|t| e.take(parse_instant("to", t))).unwrap_or(Some(i64::MAX / 2));
    e.finish()?;
    let window = match (from, to) {
        (Some(a), Some(b)) => {
            Some(Interval::new(a, b).map_err(|_| ApiError::invalid_field("to", "before_start", "must be after from"))?)
        }
        _ => None,
    };
    Ok((q.status.clone(), window))
}

/// My bookings, by start (at most 500).
#[utoipa::path(get, path = "/api/v1/bookings", tag = "bookings", params(ListQuery), security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, body = Vec<BookingView>), (status = 401, body = Problem)))]
async fn list_mine(
    State(state): State<AppState>,
    user: AuthUser,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult<Json<Vec<BookingView>>> {
    let (status, window) = list_window(&q)?;
    let rows = state
        .db
        .bookings(&BookingFilter {
            account_id: Some(&user.account.id),
            status: status.as_deref(),
            window,
            limit: 500,
            ..Default::default()
        })
        .await?;
    Ok(Json(rows.iter().map(|b| super::kiosk::owner_view(&state, b)).collect::<ApiResult<_>>()?))
}

pub(crate) fn operates(user: &AuthUser, space_id: &str) -> bool {
    user.is_admin() || user.operated_spaces().any(|s| s == space_id)
}

pub(crate) async fn find_booking(state: &AppState, id: &str) -> ApiResult<BookingRow> {
    state.db.booking(id).await.map_err(|e| match e {
        StoreError::NotFound => ApiError::not_found("booking"),
        other => other.into(),
    })
}

/// A booking: its maker, the space's operators, reviewers and admins may see it.
#[utoipa::path(get, path = "/api/v1/bookings/{id}", tag = "bookings", params(("id" = String, Path)), security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, body = BookingView), (status = 404, body = Problem)))]
async fn show(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<BookingView>> {
    let b = find_booking(&state, &id).await?;
    if b.account_id != user.account.id
        && !operates(&user, &b.space_id)
        && !user.has_role(crate::domain::identity::Role::Reviewer)
    {
        return Err(ApiError::not_found("booking"));
    }
    Ok(Json(super::kiosk::view_for(&state, &user.account.id, &b)?))
}

/// The refusal of a change to another maker's booking by someone who does not operate its
/// space: a reviewer, who reads every booking, is told why; anyone else is not told it exists.
pub(crate) fn not_theirs(user: &AuthUser, doing: &str) -> ApiError {
    if user.has_role(crate::domain::identity::Role::Reviewer) {
        return ApiError::forbidden(format!("{doing} another maker's booking needs the operator role for the space"));
    }
    ApiError::not_found("booking")
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReasonBody {
    /// Required when an operator cancels or declines.
    #[serde(default)]
    reason: Option<String>,
}

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

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CancelBody {
    /// Required when an operator cancels.
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    scope: CancelScope,
}

fn reason_of(body: &ReasonBody, required: bool) -> ApiResult<Option<String>> {
    match body.reason.as_deref().map(str::trim).filter(|r| !r.is_empty()) {
        Some(r) if r.chars().count() > 500 => {
            Err(ApiError::invalid_field("reason", "too_long", "must be at most 500 characters"))
        }
        Some(r) => Ok(Some(r.to_owned())),
        None if required => Err(ApiError::invalid_field("reason", "required", "say why")),
        None => Ok(None),
    }
}

/// Cancels a booking: its maker before the start, an operator of the space at any time with
/// a reason. With `scope`, also the following occurrences of its series, or the whole series.
/// Cancelled bookings stay, marked with who, when and why.
#[utoipa::path(post, path = "/api/v1/bookings/{id}/cancel", tag = "bookings", request_body = CancelBody, params(("id" = String, Path)),
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, body = Vec<BookingView>, description = "the bookings cancelled"), (status = 409, body = Problem, description = "`too_late_to_cancel`, `not_cancellable`, `not_a_series`"), (status = 422, body = Problem)))]
async fn cancel(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<CancelBody>,
) -> ApiResult<Json<Vec<BookingView>>> {
    let b = find_booking(&state, &id).await?;
    let now = state.clock.now_ms();
    let as_operator = operates(&user, &b.space_id);
    let own = b.account_id == user.account.id;
    if !own && !as_operator {
        return Err(not_theirs(&user, "cancelling"));
    }
    let reason = reason_of(&ReasonBody { reason: body.reason.clone() }, !own)?;
    let series = match (body.scope, &b.series_id) {
        (CancelScope::This, _) => None,
        (_, None) => return Err(ApiError::conflict("not_a_series", "this booking is not part of a series")),
        (CancelScope::Following, Some(s)) => Some((s.clone(), b.starts_at)),
        (CancelScope::Series, Some(s)) => Some((s.clone(), i64::MIN)),
    };
    if let Some((series_id, from)) = series {
        // A maker cancels only what has not started; an operator, anything live.
        let from = if as_operator { from } else { from.max(now + 1) };
        let filter = BookingFilter { series_id: Some(&series_id), limit: 1000, ..Default::default() };
        let before = state.db.bookings(&filter).await?;
        let n = state.db.cancel_series_from(&series_id, from, &user.account.id, reason.as_deref(), now).await?;
        tracing::info!(series = %series_id, cancelled = n, by = %user.account.id, "series cancelled");
        super::waitlist::promote(&state, &b.resource_id).await;
        let after = state.db.bookings(&filter).await?;
        let changed: Vec<&BookingRow> =
            after.iter().filter(|a| before.iter().any(|x| x.id == a.id && x.status != a.status)).collect();
        if let Some(first) = changed.first() {
            let n = changed.len();
            super::waitlist::tell_maker(&state, &user.account.id, first, "booking_cancelled", reason.as_deref(), n)
                .await;
        }
        return Ok(Json(changed.into_iter().map(booking_view).collect::<ApiResult<_>>()?));
    }
    if !as_operator && b.starts_at <= now {
        return Err(ApiError::conflict("too_late_to_cancel", "the booking has started; ask an operator of the space"));
    }
    if !state.db.cancel_booking(&b.id, &user.account.id, reason.as_deref(), now).await? {
        return Err(ApiError::conflict("not_cancellable", format!("the booking is {}", b.status)));
    }
    tracing::info!(booking = %b.id, by = %user.account.id, "booking cancelled");
    super::waitlist::after_release(&state, &b.id).await;
    let cancelled = state.db.booking(&b.id).await?;
    super::waitlist::tell_maker(&state, &user.account.id, &cancelled, "booking_cancelled", reason.as_deref(), 1).await;
    Ok(Json(vec![booking_view(&cancelled)?]))
}

async fn decide_pending(
    state: &AppState,
    user: &AuthUser,
    id: &str,
    approve: bool,
    reason: Option<String>,
) -> ApiResult<Json<BookingView>> {
    let b = find_booking(state, id).await?;
    if !operates(user, &b.space_id) {
        return Err(ApiError::forbidden("approving and declining needs the operator role for the space"));
    }
    if !state.db.decide_booking(&b.id, approve, &user.account.id, reason.as_deref(), state.clock.now_ms()).await? {
        return Err(ApiError::conflict("not_pending", format!("the booking is {}", b.status)));
    }
    if !approve {
        super::waitlist::promote(state, &b.resource_id).await;
    }
    let decided = state.db.booking(&b.id).await?;
    let kind = if approve { "booking_approved" } else { "booking_declined" };
    super::waitlist::tell_maker(state, &user.account.id, &decided, kind, reason.as_deref(), 1).await;
    Ok(Json(booking_view(&decided)?))
}

/// Approves a pending booking.
#[utoipa::path(post, path = "/api/v1/bookings/{id}/approve", tag = "bookings", request_body = ReasonBody, params(("id" = String, Path)),
    security(("bearer" = [])), responses((status = 200, body = BookingView), (status = 403, body = Problem), (status = 409, body = Problem)))]
async fn approve(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<ReasonBody>,
) -> ApiResult<Json<BookingView>> {
    let reason = reason_of(&body, false)?;
    decide_pending(&state, &user, &id, true, reason).await
}

/// Declines a pending booking, with a reason. The unit is free again.
#[utoipa::path(post, path = "/api/v1/bookings/{id}/decline", tag = "bookings", request_body = ReasonBody, params(("id" = String, Path)),
    security(("bearer" = [])), responses((status = 200, body = BookingView), (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn decline(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<ReasonBody>,
) -> ApiResult<Json<BookingView>> {
    let reason = reason_of(&body, true)?;
    decide_pending(&state, &user, &id, false, reason).await
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct SpaceBookingsQuery {
    /// A local date of the space (default: today there).
    #[serde(default)]
    date: Option<String>,
    #[serde(default)]
    unit: Option<String>,
    /// For example `pending`, to see what awaits approval.
    #[serde(default)]
    status: Option<String>,
}

/// A space's bookings on one local day (operators, reviewers and admins).
#[utoipa::path(get, path = "/api/v1/spaces/{slug}/bookings", tag = "bookings", params(("slug" = String, Path), SpaceBookingsQuery),
    security(("bearer" = [])), responses((status = 200, body = Vec<BookingView>), (status = 403, body = Problem)))]
async fn space_bookings(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(slug): ApiPath<String>,
    ApiQuery(q): ApiQuery<SpaceBookingsQuery>,
) -> ApiResult<Json<Vec<BookingView>>> {
    let space = find_space(&state, &slug).await?;
    if !operates(&user, &space.id) && !user.has_role(crate::domain::identity::Role::Reviewer) {
        return Err(ApiError::forbidden("this needs the operator role for the space, or reviewer"));
    }
    let zone = zone_of(&space)?;
    let window = match q.date.as_deref() {
        // Pending bookings are listed whatever their day unless a date is given.
        None if q.status.as_deref() == Some("pending") => None,
        None => Some(crate::domain::calendar::local_day(
            zone.tz(),
            crate::domain::calendar::utc_to_local(zone.tz(), state.clock.now_ms()).date_naive(),
        )),
        Some(d) => Some(crate::domain::calendar::local_day(
            zone.tz(),
            NaiveDate::parse_from_str(d, "%Y-%m-%d")
                .map_err(|_| ApiError::invalid_field("date", "invalid_date", "must be a date such as 2026-03-29"))?,
        )),
    };
    let (status, _) = list_window(&ListQuery { status: q.status.clone(), from: None, to: None })?;
    let rows = state
        .db
        .bookings(&BookingFilter {
            space_id: Some(&space.id),
            unit_id: q.unit.as_deref(),
            status: status.as_deref(),
            window,
            limit: 2000,
            ..Default::default()
        })
        .await?;
    Ok(Json(rows.iter().map(booking_view).collect::<ApiResult<_>>()?))
}
