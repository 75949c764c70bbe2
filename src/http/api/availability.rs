//! "When is this free?" and the maker map's list of spaces with "open now, until …".

use super::catalog::{find_resource, find_space};
use crate::domain::availability::{free_by_unit, open_intervals};
use crate::domain::calendar::{CalendarError, DAY_MS, Zone, local_day, local_to_utc, parse_instant, utc_to_local};
use crate::domain::interval::Interval;
use crate::http::AppState;
use crate::http::calendar::{Span, closures, opening_windows, zone_of};
use crate::http::error::{ApiError, ApiResult, Problem};
use crate::http::extract::{ApiPath, ApiQuery};
use crate::store::catalog::SpaceRow;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_spaces)).routes(routes!(resource_availability)).routes(routes!(space_day))
}

impl From<CalendarError> for ApiError {
    fn from(e: CalendarError) -> Self {
        match e {
            CalendarError::WindowTooLong { days } => {
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "window_too_long", e.to_string())
                    .with_details(json!({ "days": days, "max_days": crate::domain::calendar::MAX_WINDOW_DAYS }))
            }
            CalendarError::TooManyOccurrences => {
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "rrule_unbounded", e.to_string())
            }
        }
    }
}

/// Whether a space is open at `now`, and until when; or when it opens next (within a week).
pub(crate) struct OpenState {
    pub open_now: bool,
    pub until: Option<i64>,
    pub next_open: Option<i64>,
}

pub(crate) async fn open_state(state: &AppState, space: &SpaceRow, now: i64) -> ApiResult<OpenState> {
    let zone = zone_of(space)?;
    let rules: Vec<_> =
        state.db.opening_rules_of(&space.id).await?.into_iter().filter(|r| r.resource_id.is_none()).collect();
    let window = Interval::new(now - DAY_MS, now + 8 * DAY_MS).expect("positive");
    let closure_rows = state.db.closures_of(&space.id, Some(window)).await?;
    let open = open_intervals(&opening_windows(zone, &rules)?, &closures(zone, &closure_rows)?, None, window)?;
    let current = open.iter().find(|i| i.contains_instant(now));
    Ok(OpenState {
        open_now: current.is_some(),
        // Open up to the edge of the look-ahead: open around the clock, no closing time to show.
        until: current.filter(|i| i.end() < window.end()).map(|i| i.end()),
        next_open: if current.is_some() { None } else { open.iter().find(|i| i.start() > now).map(|i| i.start()) },
    })
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MapSpace {
    pub slug: String,
    pub name_zh: String,
    pub name_en: String,
    pub kind: String,
    pub address: String,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub timezone: String,
    /// The kinds of resource that can be booked here.
    pub resource_kinds: Vec<String>,
    pub open_now: bool,
    /// While open: when it closes (UTC and local); absent when open around the clock.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub open_until: Option<Span>,
    /// While closed: when it opens next, if within a week.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_open: Option<Span>,
}

pub(crate) async fn map_spaces(state: &AppState) -> ApiResult<Vec<MapSpace>> {
    let now = state.clock.now_ms();
    let mut out = Vec::new();
    for s in state.db.spaces(false).await? {
        let zone = zone_of(&s)?;
        let open = open_state(state, &s, now).await?;
        let mut kinds: Vec<String> = state.db.resources_of(&s.id).await?.into_iter().map(|r| r.kind).collect();
        kinds.dedup();
        let point = |t: i64| Span::new(zone, Interval::new(t, t + 1).expect("positive"));
        out.push(MapSpace {
            slug: s.slug,
            name_zh: s.name_zh,
            name_en: s.name_en,
            kind: s.kind,
            address: s.address,
            latitude: s.latitude,
            longitude: s.longitude,
            timezone: s.timezone,
            resource_kinds: kinds,
            open_now: open.open_now,
            open_until: open.until.map(point),
            next_open: open.next_open.map(point),
        });
    }
    Ok(out)
}

/// The maker map: every space that is not archived, with what can be booked there and
/// whether it is open now. Public.
#[utoipa::path(get, path = "/api/v1/spaces", tag = "catalog", responses((status = 200, body = Vec<MapSpace>)))]
async fn list_spaces(State(state): State<AppState>) -> ApiResult<Json<Vec<MapSpace>>> {
    Ok(Json(map_spaces(&state).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct WindowQuery {
    /// RFC 3339 with offset, or a date (`2026-03-29`: the start of that local day).
    from: String,
    /// RFC 3339 with offset, or a date (the start of that local day; exclusive).
    to: String,
}

fn instant_or_date(field: &str, raw: &str, zone: Zone) -> ApiResult<i64> {
    if let Ok(ms) = parse_instant(field, raw) {
        return Ok(ms);
    }
    NaiveDate::parse_from_str(raw.trim(), "%Y-%m-%d").map(|d| local_day(zone.tz(), d).start()).map_err(|_| {
        ApiError::invalid_field(field, "invalid_time", "must be RFC 3339 with an offset, or a date such as 2026-03-29")
    })
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UnitAvailability {
    pub id: String,
    pub label: String,
    /// Free intervals: opening hours minus closures minus booked time (with buffers).
    pub free: Vec<Span>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ResourceAvailability {
    pub resource_id: String,
    pub kind: String,
    pub name_zh: String,
    pub name_en: String,
    pub space: String,
    pub timezone: String,
    pub window: Span,
    pub units: Vec<UnitAvailability>,
}

pub(crate) async fn availability_of(
    state: &AppState,
    resource_id: &str,
    window: Interval,
) -> ApiResult<ResourceAvailability> {
    crate::domain::calendar::check_window(window)?;
    let cal = state.db.resource_calendar(resource_id, window).await?;
    let zone = zone_of(&cal.space)?;
    let unit_ids: Vec<String> = cal.units.iter().map(|u| u.id.clone()).collect();
    let free = free_by_unit(
        &cal.resource.id,
        &unit_ids,
        &opening_windows(zone, &cal.opening_rules)?,
        &closures(zone, &cal.closures)?,
        &cal.blocks,
        window,
    )?;
    Ok(ResourceAvailability {
        resource_id: cal.resource.id,
        kind: cal.resource.kind,
        name_zh: cal.resource.name_zh,
        name_en: cal.resource.name_en,
        space: cal.space.slug,
        timezone: zone.name().into(),
        window: Span::new(zone, window),
        units: cal
            .units
            .iter()
            .zip(free)
            .map(|(u, f)| UnitAvailability {
                id: u.id.clone(),
                label: u.label.clone(),
                free: f.free.iter().map(|i| Span::new(zone, *i)).collect(),
            })
            .collect(),
    })
}

/// Free intervals of each unit of a resource, in UTC and the space's local time. At most 92 days.
#[utoipa::path(get, path = "/api/v1/resources/{id}/availability", tag = "availability", params(("id" = String, Path), WindowQuery),
    responses((status = 200, body = ResourceAvailability), (status = 404, body = Problem), (status = 422, body = Problem, description = "`window_too_long`, `validation_failed`")))]
async fn resource_availability(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): ApiQuery<WindowQuery>,
) -> ApiResult<Json<ResourceAvailability>> {
    let resource = find_resource(&state, &id).await?;
    let space = find_space(&state, &resource.space_id).await?;
    let zone = zone_of(&space)?;
    let from = instant_or_date("from", &q.from, zone)?;
    let to = instant_or_date("to", &q.to, zone)?;
    let window =
        Interval::new(from, to).map_err(|_| ApiError::invalid_field("to", "before_start", "must be after from"))?;
    Ok(Json(availability_of(&state, &resource.id, window).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct DayQuery {
    /// A local date of the space (default: today there).
    #[serde(default)]
    date: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SpaceDay {
    pub space: String,
    pub timezone: String,
    pub date: String,
    pub window: Span,
    pub resources: Vec<ResourceAvailability>,
}

pub(crate) async fn space_day_of(state: &AppState, space: &SpaceRow, date: Option<&str>) -> ApiResult<SpaceDay> {
    let zone = zone_of(space)?;
    let date = match date {
        Some(d) => NaiveDate::parse_from_str(d.trim(), "%Y-%m-%d")
            .map_err(|_| ApiError::invalid_field("date", "invalid_date", "must be a date such as 2026-03-29"))?,
        None => utc_to_local(zone.tz(), state.clock.now_ms()).date_naive(),
    };
    let window = local_day(zone.tz(), date);
    let mut resources = Vec::new();
    for r in state.db.resources_of(&space.id).await? {
        resources.push(availability_of(state, &r.id, window).await?);
    }
    debug_assert_eq!(window.start(), local_to_utc(zone.tz(), date.and_time(chrono::NaiveTime::MIN)));
    Ok(SpaceDay {
        space: space.slug.clone(),
        timezone: zone.name().into(),
        date: date.to_string(),
        window: Span::new(zone, window),
        resources,
    })
}

/// A whole local day of a space: every resource, every unit, its free intervals.
#[utoipa::path(get, path = "/api/v1/spaces/{slug}/availability", tag = "availability", params(("slug" = String, Path), DayQuery),
    responses((status = 200, body = SpaceDay), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn space_day(
    State(state): State<AppState>,
    ApiPath(slug): ApiPath<String>,
    ApiQuery(q): ApiQuery<DayQuery>,
) -> ApiResult<Json<SpaceDay>> {
    let space = find_space(&state, &slug).await?;
    Ok(Json(space_day_of(&state, &space, q.date.as_deref()).await?))
}
