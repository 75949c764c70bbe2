//! The catalog: spaces, resources and their units, opening rules and closures.
//!
//! Reading is public (the maker map). Writing needs the operator role for the space, or
//! admin. Spaces and resources are archived, never deleted; units are retired.

use crate::domain::calendar::{
    MAX_CLOSURE_MINUTES, MAX_OPENING_MINUTES, RecurringWindow, Zone, local_to_utc, parse_instant, parse_local,
};
use crate::domain::catalog::{SpaceKind, coordinates, name, numbered_labels, text, unit_label};
use crate::domain::identity::{Role, Slug};
use crate::domain::interval::Interval;
use crate::domain::policy::{BookingPolicy, ResourceKind};
use crate::domain::{FieldError, ValidationErrors};
use crate::http::AppState;
use crate::http::calendar::{Span, zone_of};
use crate::http::error::{ApiError, ApiResult, Problem};
use crate::http::extract::{ApiJson, ApiPath, AuthUser};
use crate::store::StoreError;
use crate::store::accounts::Grant;
use crate::store::catalog::{
    ClosureRow, NewClosure, NewResource, NewSpace, OpeningRuleRow, ResourceRow, SpaceFields, SpaceRow, UnitRow,
};
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
            id: s.id.clone(),
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
        UnitView { id: u.id.clone(), label: u.label.clone() }
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

pub(crate) fn resource_view(r: &ResourceRow, units: &[UnitRow]) -> ApiResult<ResourceView> {
    Ok(ResourceView {
        id: r.id.clone(),
        space_id: r.space_id.clone(),
        kind: r.kind.clone(),
        name_zh: r.name_zh.clone(),
        name_en: r.name_en.clone(),
        description: r.description.clone(),
        policy: stored_policy(r)?,
        units: units.iter().filter(|u| u.resource_id == r.id).map(UnitView::from).collect(),
    })
}

/// The stored policy, over the kind's defaults (so fields added later get defaults).
pub(crate) fn stored_policy(r: &ResourceRow) -> ApiResult<BookingPolicy> {
    policy_of(&r.id, &r.kind, &r.policy)
}

/// [`stored_policy`] from the columns (a booking row carries its resource's).
pub(crate) fn policy_of(id: &str, kind: &str, policy: &str) -> ApiResult<BookingPolicy> {
    let kind = ResourceKind::from_db(kind)
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("resource {id} has kind {kind}")))?;
    let stored: Value = serde_json::from_str(policy).map_err(ApiError::internal)?;
    BookingPolicy::defaults(kind)
        .merged(kind, &stored)
        .map_err(|e| ApiError::internal(anyhow::anyhow!("stored policy of resource {id} is invalid: {e:?}")))
}

pub(crate) fn resource_kind(r: &ResourceRow) -> ApiResult<ResourceKind> {
    ResourceKind::from_db(&r.kind)
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("resource {} has kind {}", r.id, r.kind)))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SpaceDetail {
    #[serde(flatten)]
    pub space: SpaceView,
    pub resources: Vec<ResourceView>,
}

// ---------- helpers ----------

pub(crate) async fn find_space(state: &AppState, slug: &str) -> ApiResult<SpaceRow> {
    state.db.space(slug).await.map_err(|e| match e {
        StoreError::NotFound => ApiError::not_found("space"),
        other => other.into(),
    })
}

pub(crate) async fn find_resource(state: &AppState, id: &str) -> ApiResult<ResourceRow> {
    state.db.resource(id).await.map_err(|e| match e {
        StoreError::NotFound => ApiError::not_found("resource"),
        other => other.into(),
    })
}

fn require_operator(user: &AuthUser, space: &SpaceRow) -> ApiResult<()> {
    if user.is_admin() || user.operated_spaces().any(|s| s == space.id) {
        Ok(())
    } else {
        Err(ApiError::forbidden(format!("this needs the operator role for space {}", space.slug)))
    }
}

fn choose<T>(errors: &mut ValidationErrors, r: Result<T, FieldError>) -> Option<T> {
    errors.take(r)
}

async fn operator_org(state: &AppState, errors: &mut ValidationErrors, org: Option<&str>) -> ApiResult<Option<String>> {
    let Some(org) = org else { return Ok(None) };
    match state.db.organisation(org).await {
        Ok(o) => Ok(Some(o.id)),
        Err(StoreError::NotFound) => {
            errors.push(FieldError::new("operator_org", "unknown_organisation", "no organisation has this id or slug"));
            Ok(None)
        }
        Err(e) => Err(e.into()),
    }
}

// ---------- spaces ----------

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateSpace {
    slug: String,
    name_zh: String,
    name_en: String,
    kind: SpaceKind,
    /// Id or slug of the operating organisation.
    #[serde(default)]
    operator_org: Option<String>,
    #[serde(default)]
    address: String,
    #[serde(default)]
    latitude: Option<f64>,
    #[serde(default)]
    longitude: Option<f64>,
    #[serde(default)]
    floor_area_m2: Option<f64>,
    /// IANA time zone (default Asia/Shanghai).
    #[serde(default)]
    timezone: Option<String>,
    #[serde(default)]
    contact: String,
    /// Per-maker quotas per kind of resource across the space.
    #[serde(default)]
    #[schema(value_type = Object)]
    kind_quotas: Value,
}

fn kind_quotas_json(e: &mut ValidationErrors, v: &Value) -> Option<String> {
    if v.is_null() {
        return Some("{}".into());
    }
    match crate::domain::policy::parse_kind_quotas(v) {
        Ok(q) => serde_json::to_string(&q).ok(),
        Err(errs) => {
            errs.0.into_iter().for_each(|f| e.push(f));
            None
        }
    }
}

/// Creates a space. Admins and operators may; an operator who creates one runs it.
#[utoipa::path(post, path = "/api/v1/spaces", tag = "catalog", request_body = CreateSpace, security(("bearer" = [])),
    responses((status = 201, body = SpaceDetail), (status = 403, body = Problem), (status = 409, body = Problem, description = "`slug_taken`"), (status = 422, body = Problem)))]
async fn create_space(
    State(state): State<AppState>,
    user: AuthUser,
    ApiJson(req): ApiJson<CreateSpace>,
) -> ApiResult<impl IntoResponse> {
    if !user.is_admin() && !user.has_role(Role::Operator) {
        return Err(ApiError::forbidden("creating a space needs the admin or operator role"));
    }
    let mut e = ValidationErrors::default();
    let slug = choose(&mut e, Slug::parse("slug", &req.slug));
    let name_zh = choose(&mut e, name("name_zh", &req.name_zh));
    let name_en = choose(&mut e, name("name_en", &req.name_en));
    let zone = choose(&mut e, Zone::parse("timezone", req.timezone.as_deref().unwrap_or("Asia/Shanghai")));
    let address = choose(&mut e, text("address", &req.address, 500));
    let contact = choose(&mut e, text("contact", &req.contact, 500));
    if let Err(v) = coordinates(req.latitude, req.longitude) {
        v.into_iter().for_each(|f| e.push(f));
    }
    if req.floor_area_m2.is_some_and(|a| !(0.0..=10_000_000.0).contains(&a)) {
        e.push(FieldError::new("floor_area_m2", "out_of_range", "must be between 0 and 10000000"));
    }
    let org = operator_org(&state, &mut e, req.operator_org.as_deref()).await?;
    let quotas = kind_quotas_json(&mut e, &req.kind_quotas);
    let (Some(slug), Some(name_zh), Some(name_en), Some(zone), Some(address), Some(contact), Some(quotas)) =
        (slug, name_zh, name_en, zone, address, contact, quotas)
    else {
        return Err(e.into());
    };
    e.finish()?;
    let now = state.clock.now_ms();
    let id = state
        .db
        .insert_space(NewSpace {
            slug: slug.as_str(),
            name_zh: &name_zh,
            name_en: &name_en,
            kind: req.kind.as_str(),
            timezone: zone.name(),
            now,
        })
        .await
        .map_err(|err| match err {
            StoreError::Unique(_) => ApiError::conflict("slug_taken", "another space already uses this slug"),
            other => other.into(),
        })?;
    let fields = SpaceFields {
        name_zh,
        name_en,
        kind: req.kind.as_str().into(),
        operator_org_id: org,
        address,
        latitude: req.latitude,
        longitude: req.longitude,
        floor_area_m2: req.floor_area_m2,
        timezone: zone.name().into(),
        contact,
        kind_quotas: quotas,
    };
    state.db.update_space(&id, &fields).await?;
    if !user.is_admin() {
        state
            .db
            .grant_role(Grant {
                account_id: &user.account.id,
                role: Role::Operator,
                space_id: Some(&id),
                granted_by: Some(&user.account.id),
                now,
            })
            .await?;
    }
    tracing::info!(space = %slug.as_str(), by = %user.account.id, "space created");
    Ok((StatusCode::CREATED, Json(space_detail(&state, &id).await?)))
}

pub(crate) async fn space_detail(state: &AppState, slug: &str) -> ApiResult<SpaceDetail> {
    let space = find_space(state, slug).await?;
    let resources = state.db.resources_of(&space.id).await?;
    let units = state.db.units_of_space(&space.id).await?;
    let resources = resources.iter().map(|r| resource_view(r, &units)).collect::<ApiResult<Vec<_>>>()?;
    Ok(SpaceDetail { space: (&space).into(), resources })
}

/// A space with its resources, their policies and their units. Public.
#[utoipa::path(get, path = "/api/v1/spaces/{slug}", tag = "catalog", params(("slug" = String, Path, description = "slug or id")),
    responses((status = 200, body = SpaceDetail), (status = 404, body = Problem)))]
async fn show_space(State(state): State<AppState>, ApiPath(slug): ApiPath<String>) -> ApiResult<Json<SpaceDetail>> {
    Ok(Json(space_detail(&state, &slug).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateSpace {
    name_zh: Option<String>,
    name_en: Option<String>,
    kind: Option<SpaceKind>,
    operator_org: Option<String>,
    address: Option<String>,
    latitude: Option<f64>,
    longitude: Option<f64>,
    floor_area_m2: Option<f64>,
    timezone: Option<String>,
    contact: Option<String>,
    #[serde(default)]
    #[schema(value_type = Object)]
    kind_quotas: Option<Value>,
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
    let space = find_space(&state, &slug).await?;
    require_operator(&user, &space)?;
    let mut e = ValidationErrors::default();
    let name_zh = match &req.name_zh {
        Some(n) => choose(&mut e, name("name_zh", n)),
        None => Some(space.name_zh.clone()),
    };
    let name_en = match &req.name_en {
        Some(n) => choose(&mut e, name("name_en", n)),
        None => Some(space.name_en.clone()),
    };
    let zone = choose(&mut e, Zone::parse("timezone", req.timezone.as_deref().unwrap_or(&space.timezone)));
    let address = choose(&mut e, text("address", req.address.as_deref().unwrap_or(&space.address), 500));
    let contact = choose(&mut e, text("contact", req.contact.as_deref().unwrap_or(&space.contact), 500));
    let (lat, lon) = (req.latitude.or(space.latitude), req.longitude.or(space.longitude));
    if let Err(v) = coordinates(lat, lon) {
        v.into_iter().for_each(|f| e.push(f));
    }
    let area = req.floor_area_m2.or(space.floor_area_m2);
    if area.is_some_and(|a| !(0.0..=10_000_000.0).contains(&a)) {
        e.push(FieldError::new("floor_area_m2", "out_of_range", "must be between 0 and 10000000"));
    }
    let org = match req.operator_org.as_deref() {
        Some(o) => operator_org(&state, &mut e, Some(o)).await?,
        None => space.operator_org_id.clone(),
    };
    let quotas = match &req.kind_quotas {
        Some(v) => kind_quotas_json(&mut e, v),
        None => Some(space.kind_quotas.clone()),
    };
    let (Some(name_zh), Some(name_en), Some(zone), Some(address), Some(contact), Some(quotas)) =
        (name_zh, name_en, zone, address, contact, quotas)
    else {
        return Err(e.into());
    };
    e.finish()?;
    let fields = SpaceFields {
        name_zh,
        name_en,
        kind: req.kind.map_or(space.kind.clone(), |k| k.as_str().into()),
        operator_org_id: org,
        address,
        latitude: lat,
        longitude: lon,
        floor_area_m2: area,
        timezone: zone.name().into(),
        contact,
        kind_quotas: quotas,
    };
    state.db.update_space(&space.id, &fields).await?;
    Ok(Json(space_detail(&state, &space.id).await?))
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
    let space = find_space(&state, &slug).await?;
    require_operator(&user, &space)?;
    state.db.set_space_archived(&space.id, req.archived.then(|| state.clock.now_ms())).await?;
    Ok(Json(space_detail(&state, &space.id).await?))
}

// ---------- resources and units ----------

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UnitsSpec {
    /// Explicit labels, such as ["LC-1"].
    #[serde(default)]
    labels: Option<Vec<String>>,
    /// Or a count, labelled prefix01, prefix02, …
    #[serde(default)]
    count: Option<u32>,
    #[serde(default)]
    prefix: Option<String>,
}

fn unit_labels(spec: Option<&UnitsSpec>, e: &mut ValidationErrors) -> Vec<String> {
    let labels = match spec {
        None => vec!["1".to_owned()],
        Some(UnitsSpec { labels: Some(l), count: None, .. }) => l.clone(),
        Some(UnitsSpec { labels: None, count: Some(n), prefix }) if (1..=500).contains(n) => {
            numbered_labels(prefix.as_deref().unwrap_or(""), *n)
        }
        Some(UnitsSpec { labels: None, count: Some(_), .. }) => {
            e.push(FieldError::new("units.count", "out_of_range", "must be between 1 and 500"));
            return Vec::new();
        }
        Some(_) => {
            e.push(FieldError::new(
                "units",
                "invalid_choice",
                "give either labels or a count (with an optional prefix)",
            ));
            return Vec::new();
        }
    };
    if labels.is_empty() || labels.len() > 500 {
        e.push(FieldError::new("units.labels", "out_of_range", "give between 1 and 500 labels"));
    }
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    for (i, l) in labels.iter().enumerate() {
        match unit_label(&format!("units.labels[{i}]"), l) {
            Ok(l) if !seen.insert(l.clone()) => {
                e.push(FieldError::new(format!("units.labels[{i}]"), "duplicate", "labels must be unique"));
            }
            Ok(l) => out.push(l),
            Err(f) => e.push(f),
        }
    }
    out
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateResource {
    kind: ResourceKind,
    name_zh: String,
    name_en: String,
    #[serde(default)]
    description: String,
    /// Fields to change from the kind's default policy.
    #[serde(default)]
    #[schema(value_type = Object)]
    policy: Value,
    /// The units; one unit labelled "1" when absent.
    #[serde(default)]
    units: Option<UnitsSpec>,
}

/// Adds a bookable resource and its units to a space.
#[utoipa::path(post, path = "/api/v1/spaces/{slug}/resources", tag = "catalog", request_body = CreateResource, security(("bearer" = [])),
    params(("slug" = String, Path)), responses((status = 201, body = ResourceView), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn create_resource(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(slug): ApiPath<String>,
    ApiJson(req): ApiJson<CreateResource>,
) -> ApiResult<impl IntoResponse> {
    let space = find_space(&state, &slug).await?;
    require_operator(&user, &space)?;
    let mut e = ValidationErrors::default();
    let name_zh = choose(&mut e, name("name_zh", &req.name_zh));
    let name_en = choose(&mut e, name("name_en", &req.name_en));
    let description = choose(&mut e, text("description", &req.description, 4000));
    let policy = match BookingPolicy::defaults(req.kind).merged(req.kind, &req.policy) {
        Ok(p) => Some(p),
        Err(v) => {
            v.0.into_iter().for_each(|f| e.push(f));
            None
        }
    };
    let labels = unit_labels(req.units.as_ref(), &mut e);
    let (Some(name_zh), Some(name_en), Some(description), Some(policy)) = (name_zh, name_en, description, policy)
    else {
        return Err(e.into());
    };
    e.finish()?;
    let policy_json = serde_json::to_string(&policy).map_err(ApiError::internal)?;
    let id = state
        .db
        .insert_resource_with_units(&NewResource {
            space_id: &space.id,
            kind: req.kind.as_str(),
            name_zh: &name_zh,
            name_en: &name_en,
            description: &description,
            policy_json: &policy_json,
            unit_labels: &labels,
            now: state.clock.now_ms(),
        })
        .await?;
    Ok((StatusCode::CREATED, Json(resource_detail(&state, &id).await?)))
}

async fn resource_detail(state: &AppState, id: &str) -> ApiResult<ResourceView> {
    let r = find_resource(state, id).await?;
    let units = state.db.units_of(&r.id).await?;
    resource_view(&r, &units)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateResource {
    name_zh: Option<String>,
    name_en: Option<String>,
    description: Option<String>,
    /// Fields to change in the current policy.
    #[serde(default)]
    #[schema(value_type = Object)]
    policy: Value,
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
    let r = find_resource(&state, &id).await?;
    let space = find_space(&state, &r.space_id).await?;
    require_operator(&user, &space)?;
    let kind = resource_kind(&r)?;
    let mut e = ValidationErrors::default();
    let name_zh = choose(&mut e, name("name_zh", req.name_zh.as_deref().unwrap_or(&r.name_zh)));
    let name_en = choose(&mut e, name("name_en", req.name_en.as_deref().unwrap_or(&r.name_en)));
    let description = choose(&mut e, text("description", req.description.as_deref().unwrap_or(&r.description), 4000));
    let policy = match stored_policy(&r)?.merged(kind, &req.policy) {
        Ok(p) => Some(p),
        Err(v) => {
            v.0.into_iter().for_each(|f| e.push(f));
            None
        }
    };
    let (Some(name_zh), Some(name_en), Some(description), Some(policy)) = (name_zh, name_en, description, policy)
    else {
        return Err(e.into());
    };
    let policy_json = serde_json::to_string(&policy).map_err(ApiError::internal)?;
    state.db.update_resource(&r.id, &name_zh, &name_en, &description, &policy_json).await?;
    Ok(Json(resource_detail(&state, &r.id).await?))
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
    let r = find_resource(&state, &id).await?;
    require_operator(&user, &find_space(&state, &r.space_id).await?)?;
    state.db.set_resource_archived(&r.id, req.archived.then(|| state.clock.now_ms())).await?;
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
    let r = find_resource(&state, &id).await?;
    require_operator(&user, &find_space(&state, &r.space_id).await?)?;
    let mut e = ValidationErrors::default();
    let labels = unit_labels(Some(&req), &mut e);
    e.finish()?;
    state.db.insert_units(&r.id, &labels, state.clock.now_ms()).await.map_err(label_taken)?;
    Ok((StatusCode::CREATED, Json(resource_detail(&state, &r.id).await?)))
}

fn label_taken(e: StoreError) -> ApiError {
    match e {
        StoreError::Unique(_) => {
            ApiError::conflict("label_taken", "another unit of this resource already has that label")
        }
        other => other.into(),
    }
}

async fn unit_and_space(state: &AppState, user: &AuthUser, id: &str) -> ApiResult<UnitRow> {
    let unit = state.db.unit(id).await.map_err(|e| match e {
        StoreError::NotFound => ApiError::not_found("unit"),
        other => other.into(),
    })?;
    let r = find_resource(state, &unit.resource_id).await?;
    require_operator(user, &find_space(state, &r.space_id).await?)?;
    Ok(unit)
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
    let unit = unit_and_space(&state, &user, &id).await?;
    let label = unit_label("label", &req.label).map_err(|f| ApiError::from(ValidationErrors(vec![f])))?;
    state.db.relabel_unit(&unit.id, &label).await.map_err(label_taken)?;
    Ok(Json(UnitView { id: unit.id, label }))
}

/// Retires a unit: it takes no new bookings; its history stays.
#[utoipa::path(post, path = "/api/v1/units/{id}/retire", tag = "catalog", security(("bearer" = [])),
    params(("id" = String, Path)), responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn retire_unit(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<StatusCode> {
    let unit = unit_and_space(&state, &user, &id).await?;
    state.db.retire_unit(&unit.id, state.clock.now_ms()).await?;
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
            resource_id: r.resource_id.clone(),
            rrule: r.rrule.clone(),
            start: r.dtstart_local.clone(),
            duration_minutes: r.duration_min,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateOpeningRule {
    /// A resource of this space whose own rules replace the space's; absent for the space.
    #[serde(default)]
    resource: Option<String>,
    /// RFC 5545 RRULE, such as `FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR`. At most daily.
    rrule: String,
    /// Local wall-clock start of the first occurrence, such as `2026-01-05T09:00`.
    start: String,
    /// 1–1440 wall-clock minutes.
    duration_minutes: i64,
}

async fn resource_in_space(
    state: &AppState,
    space: &SpaceRow,
    field: &str,
    id: Option<&str>,
    e: &mut ValidationErrors,
) -> ApiResult<Option<String>> {
    let Some(id) = id else { return Ok(None) };
    match state.db.resource(id).await {
        Ok(r) if r.space_id == space.id => Ok(Some(r.id)),
        Ok(_) | Err(StoreError::NotFound) => {
            e.push(FieldError::new(field, "unknown_resource", "no resource of this space has this id"));
            Ok(None)
        }
        Err(err) => Err(err.into()),
    }
}

/// Opening hours of a space (and its resources' overrides).
#[utoipa::path(get, path = "/api/v1/spaces/{slug}/opening-rules", tag = "catalog", params(("slug" = String, Path)),
    responses((status = 200, body = Vec<OpeningRuleView>), (status = 404, body = Problem)))]
async fn list_opening_rules(
    State(state): State<AppState>,
    ApiPath(slug): ApiPath<String>,
) -> ApiResult<Json<Vec<OpeningRuleView>>> {
    let space = find_space(&state, &slug).await?;
    Ok(Json(state.db.opening_rules_of(&space.id).await?.iter().map(OpeningRuleView::from).collect()))
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
    let space = find_space(&state, &slug).await?;
    require_operator(&user, &space)?;
    let zone = zone_of(&space)?;
    let mut e = ValidationErrors::default();
    let resource = resource_in_space(&state, &space, "resource", req.resource.as_deref(), &mut e).await?;
    let rule = RecurringWindow::parse(
        ["rrule", "start", "duration_minutes"],
        &req.rrule,
        &req.start,
        req.duration_minutes,
        MAX_OPENING_MINUTES,
        zone,
    );
    let rule = match rule {
        Ok(r) => Some(r),
        Err(v) => {
            v.into_iter().for_each(|f| e.push(f));
            None
        }
    };
    let Some(rule) = rule else { return Err(e.into()) };
    e.finish()?;
    let start = rule.start_local().format("%Y-%m-%dT%H:%M:%S").to_string();
    let id = state
        .db
        .insert_opening_rule(
            &space.id,
            resource.as_deref(),
            rule.rrule_text(),
            &start,
            rule.duration_min(),
            state.clock.now_ms(),
        )
        .await?;
    let row = OpeningRuleRow {
        id,
        space_id: space.id,
        resource_id: resource,
        rrule: rule.rrule_text().into(),
        dtstart_local: start,
        duration_min: rule.duration_min(),
    };
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
    let space = find_space(&state, &slug).await?;
    require_operator(&user, &space)?;
    if state.db.delete_opening_rule(&space.id, &id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found("opening rule"))
    }
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

/// The far-future end stored for closures that recur for ever.
const FOREVER: i64 = 253_402_300_799_999; // 9999-12-31T23:59:59.999Z

fn closure_view(zone: Zone, c: &ClosureRow) -> ClosureView {
    ClosureView {
        id: c.id.clone(),
        resource_id: c.resource_id.clone(),
        unit_id: c.unit_id.clone(),
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

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateClosure {
    /// Why: a holiday, maintenance, an event.
    reason: String,
    /// Close one resource of the space (absent: the whole space).
    #[serde(default)]
    resource: Option<String>,
    /// Close one unit of the space.
    #[serde(default)]
    unit: Option<String>,
    /// One-off: RFC 3339 with offset, or a local time of the space (`2026-10-01T00:00`).
    #[serde(default)]
    start: Option<String>,
    #[serde(default)]
    end: Option<String>,
    /// Recurring: an RRULE with a local `start` and `duration_minutes`.
    #[serde(default)]
    rrule: Option<String>,
    #[serde(default)]
    duration_minutes: Option<i64>,
}

/// When a closure applies: one-off (no rrule) or recurring; `from`/`until` bound it for look-ups.
struct ClosureShape {
    from: i64,
    until: i64,
    rrule: Option<String>,
    start_local: Option<String>,
    duration: Option<i64>,
}

fn instant_or_local(field: &str, raw: &str, zone: Zone) -> Result<i64, FieldError> {
    parse_instant(field, raw).or_else(|_| parse_local(field, raw).map(|l| local_to_utc(zone.tz(), l))).map_err(|_| {
        FieldError::new(
            field,
            "invalid_time",
            "must be RFC 3339 with an offset, or a local time such as 2026-10-01T00:00",
        )
    })
}

/// Closures of a space, its resources and units.
#[utoipa::path(get, path = "/api/v1/spaces/{slug}/closures", tag = "catalog", params(("slug" = String, Path)),
    responses((status = 200, body = Vec<ClosureView>), (status = 404, body = Problem)))]
async fn list_closures(
    State(state): State<AppState>,
    ApiPath(slug): ApiPath<String>,
) -> ApiResult<Json<Vec<ClosureView>>> {
    let space = find_space(&state, &slug).await?;
    let zone = zone_of(&space)?;
    Ok(Json(state.db.closures_of(&space.id, None).await?.iter().map(|c| closure_view(zone, c)).collect()))
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
    let space = find_space(&state, &slug).await?;
    require_operator(&user, &space)?;
    let zone = zone_of(&space)?;
    let mut e = ValidationErrors::default();
    let reason = choose(&mut e, name("reason", &req.reason));
    let mut resource = resource_in_space(&state, &space, "resource", req.resource.as_deref(), &mut e).await?;
    let unit = match req.unit.as_deref() {
        None => None,
        Some(u) => match state.db.unit(u).await {
            Ok(unit) => {
                let r = state.db.resource(&unit.resource_id).await?;
                if r.space_id == space.id {
                    resource = Some(r.id);
                    Some(unit.id)
                } else {
                    e.push(FieldError::new("unit", "unknown_unit", "no unit of this space has this id"));
                    None
                }
            }
            Err(StoreError::NotFound) => {
                e.push(FieldError::new("unit", "unknown_unit", "no unit of this space has this id"));
                None
            }
            Err(err) => return Err(err.into()),
        },
    };
    let shape: Option<ClosureShape> = match (&req.rrule, &req.start, &req.end) {
        (None, Some(s), Some(en)) => {
            let s = choose(&mut e, instant_or_local("start", s, zone));
            let en = choose(&mut e, instant_or_local("end", en, zone));
            match (s, en) {
                (Some(s), Some(en)) if s < en => {
                    Some(ClosureShape { from: s, until: en, rrule: None, start_local: None, duration: None })
                }
                (Some(_), Some(_)) => {
                    e.push(FieldError::new("end", "before_start", "must be after start"));
                    None
                }
                _ => None,
            }
        }
        (Some(rrule), Some(start), None) => {
            match RecurringWindow::parse(
                ["rrule", "start", "duration_minutes"],
                rrule,
                start,
                req.duration_minutes.unwrap_or(0),
                MAX_CLOSURE_MINUTES,
                zone,
            ) {
                Ok(w) => Some(ClosureShape {
                    from: w.first_start(),
                    until: w.last_end().unwrap_or(FOREVER),
                    rrule: Some(w.rrule_text().to_owned()),
                    start_local: Some(w.start_local().format("%Y-%m-%dT%H:%M:%S").to_string()),
                    duration: Some(w.duration_min()),
                }),
                Err(v) => {
                    v.into_iter().for_each(|f| e.push(f));
                    None
                }
            }
        }
        _ => {
            e.push(FieldError::new(
                "start",
                "invalid_choice",
                "give start and end for a one-off closure, or rrule, start and duration_minutes for a recurring one",
            ));
            None
        }
    };
    let (Some(reason), Some(ClosureShape { from, until, rrule, start_local, duration })) = (reason, shape) else {
        return Err(e.into());
    };
    e.finish()?;
    let id = state
        .db
        .insert_closure(&NewClosure {
            space_id: &space.id,
            resource_id: resource.as_deref(),
            unit_id: unit.as_deref(),
            reason: &reason,
            starts_at: from,
            ends_at: until,
            rrule: rrule.as_deref(),
            dtstart_local: start_local.as_deref(),
            duration_min: duration,
            created_by: Some(&user.account.id),
            now: state.clock.now_ms(),
        })
        .await?;
    let row = ClosureRow {
        id,
        space_id: space.id,
        resource_id: resource,
        unit_id: unit,
        reason,
        starts_at: from,
        ends_at: until,
        rrule,
        dtstart_local: start_local,
        duration_min: duration,
    };
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
    let space = find_space(&state, &slug).await?;
    require_operator(&user, &space)?;
    if state.db.delete_closure(&space.id, &id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found("closure"))
    }
}
