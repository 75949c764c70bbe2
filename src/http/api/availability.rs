//! "When is this free?" and the maker map's list of spaces with "open now, until …"; the
//! answers of [`crate::service::availability`].

use crate::domain::calendar::{Span, Zone};
use crate::domain::interval::Interval;
use crate::http::AppState;
use crate::http::error::{ApiResult, Problem};
use crate::http::extract::{ApiPath, ApiQuery};
use crate::service::availability::{self, ResourceFree, SpaceOnMap};
use crate::service::catalog::find_space;
use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_spaces)).routes(routes!(resource_availability)).routes(routes!(space_day))
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

fn map_space(m: SpaceOnMap) -> MapSpace {
    let zone = m.zone;
    let point = |t: i64| Span::new(zone, Interval::new(t, t + 1).expect("positive"));
    let s = m.space;
    MapSpace {
        slug: s.slug,
        name_zh: s.name_zh,
        name_en: s.name_en,
        kind: s.kind,
        address: s.address,
        latitude: s.latitude,
        longitude: s.longitude,
        timezone: s.timezone,
        resource_kinds: m.resource_kinds,
        open_now: m.open.open_now,
        open_until: m.open.until.map(point),
        next_open: m.open.next_open.map(point),
    }
}

/// The maker map: every space that is not archived, with what can be booked there and
/// whether it is open now. Public.
#[utoipa::path(get, path = "/api/v1/spaces", tag = "catalog", responses((status = 200, body = Vec<MapSpace>)))]
async fn list_spaces(State(state): State<AppState>) -> ApiResult<Json<Vec<MapSpace>>> {
    Ok(Json(availability::map(&state.svc, state.clock.now_ms()).await?.into_iter().map(map_space).collect()))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct WindowQuery {
    /// RFC 3339 with offset, or a date (`2026-03-29`: the start of that local day).
    from: String,
    /// RFC 3339 with offset, or a date (the start of that local day; exclusive).
    to: String,
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

fn resource_availability_of(f: ResourceFree) -> ResourceAvailability {
    let zone: Zone = f.zone;
    ResourceAvailability {
        resource_id: f.resource.id.to_string(),
        kind: f.resource.kind,
        name_zh: f.resource.name_zh,
        name_en: f.resource.name_en,
        space: f.space.slug,
        timezone: zone.name().into(),
        window: Span::new(zone, f.window),
        units: f
            .units
            .into_iter()
            .map(|(u, free)| UnitAvailability {
                id: u.id.to_string(),
                label: u.label,
                free: free.iter().map(|i| Span::new(zone, *i)).collect(),
            })
            .collect(),
    }
}

/// Free intervals of each unit of a resource, in UTC and the space's local time. At most 92 days.
#[utoipa::path(get, path = "/api/v1/resources/{id}/availability", tag = "availability", params(("id" = String, Path), WindowQuery),
    responses((status = 200, body = ResourceAvailability), (status = 404, body = Problem), (status = 422, body = Problem, description = "`window_too_long`, `validation_failed`")))]
async fn resource_availability(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): ApiQuery<WindowQuery>,
) -> ApiResult<Json<ResourceAvailability>> {
    let free = availability::of_resource_between(&state.svc, &id, &q.from, &q.to, state.clock.now_ms()).await?;
    Ok(Json(resource_availability_of(free)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
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

/// A whole local day of a space: every resource, every unit, its free intervals.
#[utoipa::path(get, path = "/api/v1/spaces/{slug}/availability", tag = "availability", params(("slug" = String, Path), DayQuery),
    responses((status = 200, body = SpaceDay), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn space_day(
    State(state): State<AppState>,
    ApiPath(slug): ApiPath<String>,
    ApiQuery(q): ApiQuery<DayQuery>,
) -> ApiResult<Json<SpaceDay>> {
    let space = find_space(&state.svc, &slug).await?;
    let day = availability::space_day(&state.svc, space, q.date.as_deref(), state.clock.now_ms()).await?;
    Ok(Json(SpaceDay {
        space: day.space.slug,
        timezone: day.zone.name().into(),
        date: day.date.to_string(),
        window: Span::new(day.zone, day.window),
        resources: day.resources.into_iter().map(resource_availability_of).collect(),
    }))
}
