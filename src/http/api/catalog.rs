//! The catalog: spaces, resources and their units, opening rules and closures.
//!
//! Reading is public (the maker map). Writing needs the operator role for the space, or
//! admin. Spaces and resources are archived, never deleted; units are retired. The rules
//! live in [`crate::service::catalog`].

use crate::domain::calendar::{Span, Zone};
use crate::domain::ids::ResourceId;
use crate::domain::interval::Interval;
use crate::domain::policy::BookingPolicy;
use crate::http::AppState;
use crate::http::error::{ApiResult, Problem};
use crate::http::extract::{ApiJson, ApiPath, AuthUser};
use crate::service::catalog::{
    self as catalog, CreateClosure, CreateOpeningRule, CreateResource, CreateSpace, FOREVER, ResourceDetail, UnitsSpec,
    UpdateResource, UpdateSpace,
};
use crate::store::catalog::{ClosureRow, OpeningRuleRow, SpaceRow, UnitRow};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_space))
        .routes(routes!(show_space, update_space))
        .routes(routes!(archive_space))
        .routes(routes!(create_resource))
        .routes(routes!(update_resource))
        .routes(routes!(archive_resource))
        .routes(routes!(add_units))
        .routes(routes!(relabel_unit))
        .routes(routes!(retire_unit))
        .routes(routes!(list_opening_rules, create_opening_rule))
        .routes(routes!(delete_opening_rule))
        .routes(routes!(list_closures, create_closure))
        .routes(routes!(delete_closure))
}

// ---------- views ----------

#[derive(Debug, Serialize, ToSchema)]
pub struct SpaceView {
    pub id: String,
    pub slug: String,
    pub name_zh: String,
    pub name_en: String,
    pub kind: String,
    pub operator_org_id: Option<String>,
    pub address: String,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub floor_area_m2: Option<f64>,
    /// IANA zone; every rule of the space is in this zone's local time.
    pub timezone: String,
    pub contact: String,
    pub archived: bool,
    /// Per-maker quotas per kind of resource across the space, such as
    /// `{"broadband_seat": {"max_active_bookings": 1}}`.
    #[schema(value_type = Object)]
    pub kind_quotas: Value,
}

impl From<&SpaceRow> for SpaceView {
    fn from(s: &SpaceRow) -> Self {
        SpaceView {
            id: s.id.to_string(),
            slug: s.slug.clone(),
            name_zh: s.name_zh.clone(),
            name_en: s.name_en.clone(),
            kind: s.kind.clone(),
            operator_org_id: s.operator_org_id.clone(),
            address: s.address.clone(),
            latitude: s.latitude,
            longitude: s.longitude,
            floor_area_m2: s.floor_area_m2,
            timezone: s.timezone.clone(),
            contact: s.contact.clone(),
            archived: s.archived_at.is_some(),
            kind_quotas: serde_json::from_str(&s.kind_quotas).unwrap_or_else(|_| serde_json::json!({})),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UnitView {
    pub id: String,
    pub label: String,
}

impl From<&UnitRow> for UnitView {
    fn from(u: &UnitRow) -> Self {
        UnitView { id: u.id.to_string(), label: u.label.clone() }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ResourceView {
    pub id: String,
    pub space_id: String,
    pub kind: String,
    pub name_zh: String,
    pub name_en: String,
    pub description: String,
    pub policy: BookingPolicy,
    pub units: Vec<UnitView>,
}

impl From<ResourceDetail> for ResourceView {
    fn from(d: ResourceDetail) -> Self {
        let r = d.resource;
        ResourceView {
            id: r.id.to_string(),
            space_id: r.space_id.to_string(),
            kind: r.kind,
            name_zh: r.name_zh,
            name_en: r.name_en,
            description: r.description,
            policy: d.policy,
            units: d.units.iter().map(UnitView::from).collect(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SpaceDetail {
    #[serde(flatten)]
    pub space: SpaceView,
    pub resources: Vec<ResourceView>,
}

async fn space_detail(state: &AppState, slug: &str) -> ApiResult<SpaceDetail> {
    let d = catalog::space_detail(&state.svc, slug).await?;
    Ok(SpaceDetail { space: (&d.space).into(), resources: d.resources.into_iter().map(ResourceView::from).collect() })
}

async fn resource_detail(state: &AppState, id: &ResourceId) -> ApiResult<ResourceView> {
    Ok(catalog::resource_detail(&state.svc, id).await?.into())
}

// ---------- spaces ----------

/// Creates a space. Admins and operators may; an operator who creates one runs it.
#[utoipa::path(post, path = "/api/v1/spaces", tag = "catalog", request_body = CreateSpace, security(("bearer" = [])),
    responses((status = 201, body = SpaceDetail), (status = 403, body = Problem), (status = 409, body = Problem, description = "`slug_taken`"), (status = 422, body = Problem)))]
async fn create_space(
    State(state): State<AppState>,
    user: AuthUser,
    ApiJson(req): ApiJson<CreateSpace>,
) -> ApiResult<impl IntoResponse> {
    let id = catalog::create_space(&state.svc, &user.identity, &req, state.clock.now_ms()).await?;
    Ok((StatusCode::CREATED, Json(space_detail(&state, id.as_str()).await?)))
}

/// A space with its resources, their policies and their units. Public.
#[utoipa::path(get, path = "/api/v1/spaces/{slug}", tag = "catalog", params(("slug" = String, Path, description = "slug or id")),
    responses((status = 200, body = SpaceDetail), (status = 404, body = Problem)))]
async fn show_space(State(state): State<AppState>, ApiPath(slug): ApiPath<String>) -> ApiResult<Json<SpaceDetail>> {
    Ok(Json(space_detail(&state, &slug).await?))
}

/// Changes the fields given; the others stay.
#[utoipa::path(patch, path = "/api/v1/spaces/{slug}", tag = "catalog", request_body = UpdateSpace, security(("bearer" = [])),
    params(("slug" = String, Path)), responses((status = 200, body = SpaceDetail), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn update_space(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(slug): ApiPath<String>,
    ApiJson(req): ApiJson<UpdateSpace>,
) -> ApiResult<Json<SpaceDetail>> {
    let op = catalog::operator_of_space(&state.svc, &user.identity, &slug).await?;
    catalog::update_space(&state.svc, &op, &req).await?;
    Ok(Json(space_detail(&state, op.space().id.as_str()).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ArchiveRequest {
    /// `false` restores an archived space or resource.
    #[serde(default = "yes")]
    archived: bool,
}

fn yes() -> bool {
    true
}

/// Archives a space (or restores it). It leaves the map; its history stays.
#[utoipa::path(post, path = "/api/v1/spaces/{slug}/archive", tag = "catalog", request_body = ArchiveRequest, security(("bearer" = [])),
    params(("slug" = String, Path)), responses((status = 200, body = SpaceDetail), (status = 403, body = Problem)))]
async fn archive_space(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(slug): ApiPath<String>,
    ApiJson(req): ApiJson<ArchiveRequest>,
) -> ApiResult<Json<SpaceDetail>> {
    let op = catalog::operator_of_space(&state.svc, &user.identity, &slug).await?;
    catalog::archive_space(&state.svc, &op, req.archived, state.clock.now_ms()).await?;
    Ok(Json(space_detail(&state, op.space().id.as_str()).await?))
}

// ---------- resources and units ----------

/// Adds a bookable resource and its units to a space.
#[utoipa::path(post, path = "/api/v1/spaces/{slug}/resources", tag = "catalog", request_body = CreateResource, security(("bearer" = [])),
    params(("slug" = String, Path)), responses((status = 201, body = ResourceView), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn create_resource(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(slug): ApiPath<String>,
    ApiJson(req): ApiJson<CreateResource>,
) -> ApiResult<impl IntoResponse> {
    let op = catalog::operator_of_space(&state.svc, &user.identity, &slug).await?;
    let id = catalog::create_resource(&state.svc, &op, &req, state.clock.now_ms()).await?;
    Ok((StatusCode::CREATED, Json(resource_detail(&state, &id).await?)))
}

/// Changes a resource's names, description or policy fields.
#[utoipa::path(patch, path = "/api/v1/resources/{id}", tag = "catalog", request_body = UpdateResource, security(("bearer" = [])),
    params(("id" = String, Path)), responses((status = 200, body = ResourceView), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn update_resource(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<UpdateResource>,
) -> ApiResult<Json<ResourceView>> {
    let r = catalog::operator_of_resource(&state.svc, &user.identity, &id).await?;
    catalog::update_resource(&state.svc, &r, &req).await?;
    Ok(Json(resource_detail(&state, &r.row().id).await?))
}

/// Archives a resource (or restores it): it takes no new bookings; history stays.
#[utoipa::path(post, path = "/api/v1/resources/{id}/archive", tag = "catalog", request_body = ArchiveRequest, security(("bearer" = [])),
    params(("id" = String, Path)), responses((status = 204), (status = 403, body = Problem)))]
async fn archive_resource(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<ArchiveRequest>,
) -> ApiResult<StatusCode> {
    let r = catalog::operator_of_resource(&state.svc, &user.identity, &id).await?;
    catalog::archive_resource(&state.svc, &r, req.archived, state.clock.now_ms()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Adds units to a resource.
#[utoipa::path(post, path = "/api/v1/resources/{id}/units", tag = "catalog", request_body = UnitsSpec, security(("bearer" = [])),
    params(("id" = String, Path)), responses((status = 201, body = ResourceView), (status = 409, body = Problem, description = "`label_taken`"), (status = 422, body = Problem)))]
async fn add_units(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<UnitsSpec>,
) -> ApiResult<impl IntoResponse> {
    let r = catalog::operator_of_resource(&state.svc, &user.identity, &id).await?;
    catalog::add_units(&state.svc, &r, &req, state.clock.now_ms()).await?;
    Ok((StatusCode::CREATED, Json(resource_detail(&state, &r.row().id).await?)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Relabel {
    label: String,
}

/// Relabels a unit.
#[utoipa::path(patch, path = "/api/v1/units/{id}", tag = "catalog", request_body = Relabel, security(("bearer" = [])),
    params(("id" = String, Path)), responses((status = 200, body = UnitView), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn relabel_unit(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<Relabel>,
) -> ApiResult<Json<UnitView>> {
    let unit = catalog::operator_of_unit(&state.svc, &user.identity, &id).await?;
    let label = catalog::relabel_unit(&state.svc, &unit, &req.label).await?;
    Ok(Json(UnitView { id: unit.row().id.to_string(), label }))
}

/// Retires a unit: it takes no new bookings; its history stays.
#[utoipa::path(post, path = "/api/v1/units/{id}/retire", tag = "catalog", security(("bearer" = [])),
    params(("id" = String, Path)), responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn retire_unit(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<StatusCode> {
    let unit = catalog::operator_of_unit(&state.svc, &user.identity, &id).await?;
    catalog::retire_unit(&state.svc, &unit, state.clock.now_ms()).await?;
    Ok(StatusCode::NO_CONTENT)
}

// ---------- opening rules ----------

#[derive(Debug, Serialize, ToSchema)]
pub struct OpeningRuleView {
    id: String,
    /// Absent: the rule is the space's; present: it overrides the space's rules for that resource.
    resource_id: Option<String>,
    rrule: String,
    /// Local wall-clock time of the first occurrence.
    start: String,
    duration_minutes: i64,
}

impl From<&OpeningRuleRow> for OpeningRuleView {
    fn from(r: &OpeningRuleRow) -> Self {
        OpeningRuleView {
            id: r.id.clone(),
            resource_id: r.resource_id.as_ref().map(ToString::to_string),
            rrule: r.rrule.clone(),
            start: r.dtstart_local.clone(),
            duration_minutes: r.duration_min,
        }
    }
}

/// Opening hours of a space (and its resources' overrides).
#[utoipa::path(get, path = "/api/v1/spaces/{slug}/opening-rules", tag = "catalog", params(("slug" = String, Path)),
    responses((status = 200, body = Vec<OpeningRuleView>), (status = 404, body = Problem)))]
async fn list_opening_rules(
    State(state): State<AppState>,
    ApiPath(slug): ApiPath<String>,
) -> ApiResult<Json<Vec<OpeningRuleView>>> {
    Ok(Json(catalog::opening_rules(&state.svc, &slug).await?.iter().map(OpeningRuleView::from).collect()))
}

/// Adds an opening rule in the space's local time.
#[utoipa::path(post, path = "/api/v1/spaces/{slug}/opening-rules", tag = "catalog", request_body = CreateOpeningRule, security(("bearer" = [])),
    params(("slug" = String, Path)), responses((status = 201, body = OpeningRuleView), (status = 422, body = Problem, description = "`validation_failed`: `rrule_invalid`, `rrule_unbounded`, ...")))]
async fn create_opening_rule(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(slug): ApiPath<String>,
    ApiJson(req): ApiJson<CreateOpeningRule>,
) -> ApiResult<impl IntoResponse> {
    let op = catalog::operator_of_space(&state.svc, &user.identity, &slug).await?;
    let row = catalog::create_opening_rule(&state.svc, &op, &req, state.clock.now_ms()).await?;
    Ok((StatusCode::CREATED, Json(OpeningRuleView::from(&row))))
}

/// Removes an opening rule.
#[utoipa::path(delete, path = "/api/v1/spaces/{slug}/opening-rules/{id}", tag = "catalog", security(("bearer" = [])),
    params(("slug" = String, Path), ("id" = String, Path)), responses((status = 204), (status = 404, body = Problem)))]
async fn delete_opening_rule(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath((slug, id)): ApiPath<(String, String)>,
) -> ApiResult<StatusCode> {
    let op = catalog::operator_of_space(&state.svc, &user.identity, &slug).await?;
    catalog::delete_opening_rule(&state.svc, &op, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

// ---------- closures ----------

#[derive(Debug, Serialize, ToSchema)]
pub struct ClosureView {
    id: String,
    resource_id: Option<String>,
    unit_id: Option<String>,
    reason: String,
    /// For a one-off closure: when. For a recurring one: its first start and last end
    /// (the end is absent when it recurs for ever).
    start: Span,
    #[serde(skip_serializing_if = "Option::is_none")]
    rrule: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    start_local: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    duration_minutes: Option<i64>,
}

fn closure_view(zone: Zone, c: &ClosureRow) -> ClosureView {
    ClosureView {
        id: c.id.clone(),
        resource_id: c.resource_id.as_ref().map(ToString::to_string),
        unit_id: c.unit_id.as_ref().map(ToString::to_string),
        reason: c.reason.clone(),
        start: Span::new(
            zone,
            Interval::new(c.starts_at, c.ends_at.min(FOREVER)).unwrap_or_else(|_| Interval::new(0, 1).expect("valid")),
        ),
        rrule: c.rrule.clone(),
        start_local: c.dtstart_local.clone(),
        duration_minutes: c.duration_min,
    }
}

/// Closures of a space, its resources and units.
#[utoipa::path(get, path = "/api/v1/spaces/{slug}/closures", tag = "catalog", params(("slug" = String, Path)),
    responses((status = 200, body = Vec<ClosureView>), (status = 404, body = Problem)))]
async fn list_closures(
    State(state): State<AppState>,
    ApiPath(slug): ApiPath<String>,
) -> ApiResult<Json<Vec<ClosureView>>> {
    let (space, rows) = catalog::closures(&state.svc, &slug).await?;
    let zone = catalog::zone_of(&space)?;
    Ok(Json(rows.iter().map(|c| closure_view(zone, c)).collect()))
}

/// Closes a space, a resource or a unit: once, or recurring.
#[utoipa::path(post, path = "/api/v1/spaces/{slug}/closures", tag = "catalog", request_body = CreateClosure, security(("bearer" = [])),
    params(("slug" = String, Path)), responses((status = 201, body = ClosureView), (status = 422, body = Problem)))]
async fn create_closure(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(slug): ApiPath<String>,
    ApiJson(req): ApiJson<CreateClosure>,
) -> ApiResult<impl IntoResponse> {
    let op = catalog::operator_of_space(&state.svc, &user.identity, &slug).await?;
    let row = catalog::create_closure(&state.svc, &op, &req, state.clock.now_ms()).await?;
    let zone = catalog::zone_of(op.space())?;
    Ok((StatusCode::CREATED, Json(closure_view(zone, &row))))
}

/// Removes a closure.
#[utoipa::path(delete, path = "/api/v1/spaces/{slug}/closures/{id}", tag = "catalog", security(("bearer" = [])),
    params(("slug" = String, Path), ("id" = String, Path)), responses((status = 204), (status = 404, body = Problem)))]
async fn delete_closure(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath((slug, id)): ApiPath<(String, String)>,
) -> ApiResult<StatusCode> {
    let op = catalog::operator_of_space(&state.svc, &user.identity, &slug).await?;
    catalog::delete_closure(&state.svc, &op, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
