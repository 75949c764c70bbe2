//! The catalog: spaces, resources and their units, opening rules and closures; and the
//! stored rules turned back into calendar values (zones, recurring windows, closures,
//! booking policies), for bookings, availability and reports alike.
//!
//! Reading is public (the maker map). Writing needs the operator of the space
//! ([`OperatorOf`]), or for a new space an operator of any space or an admin. Spaces and
//! resources are archived, never deleted; units are retired.

use super::powers::{Identity, Operated, OperatorOf};
use super::{ServiceError, ServiceResult, Services};
use crate::domain::availability::{Closure, Scope, When};
use crate::domain::calendar::{
    MAX_CLOSURE_MINUTES, MAX_OPENING_MINUTES, RecurringWindow, Zone, local_to_utc, parse_instant, parse_local,
};
use crate::domain::catalog::{SpaceKind, coordinates, name, numbered_labels, text, unit_label};
use crate::domain::identity::{Role, Slug};
use crate::domain::ids::{ResourceId, SpaceId, UnitId};
use crate::domain::interval::{Interval, normalize};
use crate::domain::policy::{BookingPolicy, ResourceKind};
use crate::domain::{FieldError, ValidationErrors};
use crate::store::StoreError;
use crate::store::accounts::Grant;
use crate::store::catalog::{
    ClosureRow, NewClosure, NewResource, NewSpace, OpeningRuleRow, ResourceRow, SpaceFields, SpaceRow, UnitRow,
};
use crate::store::catalog_cache::{Entry, Expansion, Rules};
use serde::Deserialize;
use serde_json::Value;
use utoipa::ToSchema;

// ---------- stored rows -> calendar values ----------

/// The zone of a stored space (validated when it was saved; one that no longer parses is a bug).
///
/// # Errors
/// [`super::Code::Internal`].
pub fn zone_of(space: &SpaceRow) -> ServiceResult<Zone> {
    Zone::parse("timezone", &space.timezone).map_err(|e| {
        ServiceError::internal(anyhow::anyhow!("space {} has a stored zone that no longer parses: {e:?}", space.slug))
    })
}

/// Stored opening rules as recurring windows (validated when saved; one that no longer
/// parses is a bug).
///
/// # Errors
/// [`super::Code::Internal`].
pub fn opening_windows(zone: Zone, rows: &[OpeningRuleRow]) -> ServiceResult<Vec<RecurringWindow>> {
    rows.iter()
        .map(|r| {
            RecurringWindow::parse_stored(
                ["rrule", "start", "duration"],
                &r.rrule,
                &r.dtstart_local,
                r.duration_min,
                MAX_OPENING_MINUTES,
                zone,
            )
            .map_err(|e| {
                ServiceError::internal(anyhow::anyhow!("stored opening rule {} no longer parses: {e:?}", r.id))
            })
        })
        .collect()
}

/// Stored closures as closures of a scope (the space, a resource, a unit), once or recurring.
///
/// # Errors
/// [`super::Code::Internal`] for a stored closure that no longer parses.
pub fn closures_of(zone: Zone, rows: &[ClosureRow]) -> ServiceResult<Vec<Closure>> {
    rows.iter()
        .map(|c| {
            let scope = match (&c.unit_id, &c.resource_id) {
                (Some(u), _) => Scope::Unit(u.clone()),
                (None, Some(r)) => Scope::Resource(r.clone()),
                (None, None) => Scope::Space,
            };
            let when =
                match (&c.rrule, &c.dtstart_local, c.duration_min) {
                    (Some(rrule), Some(start), Some(d)) => When::Recurring(Box::new(
                        RecurringWindow::parse_stored(
                            ["rrule", "start", "duration"],
                            rrule,
                            start,
                            d,
                            MAX_CLOSURE_MINUTES,
                            zone,
                        )
                        .map_err(|e| {
                            ServiceError::internal(anyhow::anyhow!("stored closure {} no longer parses: {e:?}", c.id))
                        })?,
                    )),
                    _ => When::Once(Interval::new(c.starts_at, c.ends_at).map_err(|e| {
                        ServiceError::internal(anyhow::anyhow!("stored closure {} is empty: {e}", c.id))
                    })?),
                };
            Ok(Closure { scope, when })
        })
        .collect()
}

/// The stored policy, over the kind's defaults (so fields added later get defaults).
///
/// # Errors
/// [`super::Code::Internal`] for a stored policy that no longer validates.
pub fn stored_policy(r: &ResourceRow) -> ServiceResult<BookingPolicy> {
    policy_of(&r.id, &r.kind, &r.policy)
}

/// [`stored_policy`] from the columns (a booking row carries its resource's).
///
/// # Errors
/// [`super::Code::Internal`].
pub fn policy_of(id: &ResourceId, kind: &str, policy: &str) -> ServiceResult<BookingPolicy> {
    let kind = ResourceKind::from_db(kind)
        .ok_or_else(|| ServiceError::internal(anyhow::anyhow!("resource {id} has kind {kind}")))?;
    let stored: Value = serde_json::from_str(policy).map_err(ServiceError::internal)?;
    BookingPolicy::defaults(kind)
        .merged(kind, &stored)
        .map_err(|e| ServiceError::internal(anyhow::anyhow!("stored policy of resource {id} is invalid: {e:?}")))
}

/// The kind of a stored resource.
///
/// # Errors
/// [`super::Code::Internal`].
pub fn resource_kind(r: &ResourceRow) -> ServiceResult<ResourceKind> {
    ResourceKind::from_db(&r.kind)
        .ok_or_else(|| ServiceError::internal(anyhow::anyhow!("resource {} has kind {}", r.id, r.kind)))
}

/// The resource's booking policy (stored, merged over its kind's defaults) and the space's
/// quota for its kind.
///
/// # Errors
/// [`super::Code::Internal`].
pub(crate) fn rules_of(resource: &ResourceRow, space: &SpaceRow) -> ServiceResult<Rules> {
    let policy = stored_policy(resource)?;
    let kind_quota = match ResourceKind::from_db(&resource.kind) {
        Some(kind) => serde_json::from_str::<Value>(&space.kind_quotas)
            .ok()
            .and_then(|v| crate::domain::policy::parse_kind_quotas(&v).ok())
            .and_then(|mut q| q.remove(&kind)),
        None => None,
    };
    Ok(Rules { policy, kind_quota })
}

/// [`rules_of`] a catalog entry, parsed once per entry.
///
/// # Errors
/// [`super::Code::Internal`].
pub(crate) fn entry_rules(entry: &Entry) -> ServiceResult<Rules> {
    if let Some(r) = entry.parsed.get() {
        return Ok(r.clone());
    }
    let r = rules_of(&entry.resource, &entry.space)?;
    Ok(entry.parsed.get_or_init(|| r).clone())
}

/// An entry's opening hours and closures within `window` (its bookings are not looked at):
/// the space's (or the resource's own) opening rules expanded in the space's zone, and its
/// closures split into those of the space or resource and those of single units.
///
/// # Errors
/// [`super::Code::Internal`] for stored rules that no longer parse; [`super::Code::RruleUnbounded`].
pub(crate) fn expansion(entry: &Entry, window: Interval) -> ServiceResult<Expansion> {
    entry.expansion(window, |w| {
        let cal = entry.calendar(w);
        let zone = zone_of(&cal.space)?;
        let mut hours = Vec::new();
        for rule in opening_windows(zone, &cal.opening_rules)? {
            hours.extend(rule.expand(w)?);
        }
        let mut closed = Vec::new();
        let mut unit_closed: Vec<(UnitId, Vec<Interval>)> = Vec::new();
        for c in &closures_of(zone, &cal.closures)? {
            let ivs = c.when.within(w)?;
            match &c.scope {
                Scope::Space | Scope::Resource(_) => closed.extend(ivs),
                Scope::Unit(u) => unit_closed.push((u.clone(), ivs)),
            }
        }
        Ok(Expansion { hours: normalize(hours), closed, unit_closed })
    })
}

// ---------- look-ups ----------

/// A space by slug or id, archived or not.
///
/// # Errors
/// [`super::Code::NotFound`].
pub async fn find_space(svc: &Services, slug: &str) -> ServiceResult<SpaceRow> {
    svc.db.space(slug).await.map_err(ServiceError::missing("space"))
}

/// A resource by id, archived or not.
///
/// # Errors
/// [`super::Code::NotFound`].
pub async fn find_resource(svc: &Services, id: &ResourceId) -> ServiceResult<ResourceRow> {
    svc.db.resource(id).await.map_err(ServiceError::missing("resource"))
}

/// The operator of the space of resource `id`.
///
/// # Errors
/// [`super::Code::NotFound`], [`super::Code::Forbidden`].
pub async fn operator_of_resource(svc: &Services, who: &Identity, id: &str) -> ServiceResult<Operated<ResourceRow>> {
    let r = find_resource(svc, &ResourceId::new(id)).await?;
    let op = operate(who, find_space(svc, r.space_id.as_str()).await?)?;
    Ok(Operated::new(op, r))
}

/// The operator of the space of unit `id`.
///
/// # Errors
/// [`super::Code::NotFound`], [`super::Code::Forbidden`].
pub async fn operator_of_unit(svc: &Services, who: &Identity, id: &str) -> ServiceResult<Operated<UnitRow>> {
    let unit = svc.db.unit(&UnitId::new(id)).await.map_err(ServiceError::missing("unit"))?;
    let resource = operator_of_resource(svc, who, unit.resource_id.as_str()).await?;
    Ok(Operated::new(resource.op().clone(), unit))
}

/// The operator of `space`, refused in the catalog's words.
///
/// # Errors
/// [`super::Code::Forbidden`].
pub fn operate(who: &Identity, space: SpaceRow) -> ServiceResult<OperatorOf> {
    let why = format!("this needs the operator role for space {}", space.slug);
    who.require_operator_of(space, why)
}

/// The operator of the space `slug`, refused in the catalog's words.
///
/// # Errors
/// [`super::Code::NotFound`], [`super::Code::Forbidden`].
pub async fn operator_of_space(svc: &Services, who: &Identity, slug: &str) -> ServiceResult<OperatorOf> {
    operate(who, find_space(svc, slug).await?)
}

/// A resource with its parsed policy and its live units.
#[derive(Debug, Clone)]
pub struct ResourceDetail {
    pub resource: ResourceRow,
    pub policy: BookingPolicy,
    pub units: Vec<UnitRow>,
}

/// A space with its resources.
#[derive(Debug, Clone)]
pub struct SpaceDetail {
    pub space: SpaceRow,
    pub resources: Vec<ResourceDetail>,
}

fn resource_detail_of(r: &ResourceRow, units: &[UnitRow]) -> ServiceResult<ResourceDetail> {
    Ok(ResourceDetail {
        resource: r.clone(),
        policy: stored_policy(r)?,
        units: units.iter().filter(|u| u.resource_id == r.id).cloned().collect(),
    })
}

/// A space with its resources, their policies and their units. Public.
///
/// # Errors
/// [`super::Code::NotFound`].
pub async fn space_detail(svc: &Services, slug: &str) -> ServiceResult<SpaceDetail> {
    let space = find_space(svc, slug).await?;
    let resources = svc.db.resources_of(&space.id).await?;
    let units = svc.db.units_of_space(&space.id).await?;
    let resources = resources.iter().map(|r| resource_detail_of(r, &units)).collect::<ServiceResult<Vec<_>>>()?;
    Ok(SpaceDetail { space, resources })
}

/// A resource with its policy and units.
///
/// # Errors
/// [`super::Code::NotFound`].
pub async fn resource_detail(svc: &Services, id: &ResourceId) -> ServiceResult<ResourceDetail> {
    let r = find_resource(svc, id).await?;
    let units = svc.db.units_of(&r.id).await?;
    resource_detail_of(&r, &units)
}

async fn operator_org(
    svc: &Services,
    errors: &mut ValidationErrors,
    org: Option<&str>,
) -> ServiceResult<Option<String>> {
    let Some(org) = org else { return Ok(None) };
    match svc.db.organisation(org).await {
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
    pub slug: String,
    pub name_zh: String,
    pub name_en: String,
    pub kind: SpaceKind,
    /// Id or slug of the operating organisation.
    #[serde(default)]
    pub operator_org: Option<String>,
    #[serde(default)]
    pub address: String,
    #[serde(default)]
    pub latitude: Option<f64>,
    #[serde(default)]
    pub longitude: Option<f64>,
    #[serde(default)]
    pub floor_area_m2: Option<f64>,
    /// IANA time zone (default Asia/Shanghai).
    #[serde(default)]
    pub timezone: Option<String>,
    #[serde(default)]
    pub contact: String,
    /// Per-maker quotas per kind of resource across the space.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub kind_quotas: Value,
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

/// Creates a space. Admins and operators may; an operator who creates one runs it. Returns
/// its id.
///
/// # Errors
/// [`super::Code::Forbidden`], [`super::Code::ValidationFailed`], [`super::Code::SlugTaken`].
pub async fn create_space(svc: &Services, who: &Identity, req: &CreateSpace, now: i64) -> ServiceResult<SpaceId> {
    if who.admin().is_none() && !who.has_role(Role::Operator) {
        return Err(ServiceError::forbidden("creating a space needs the admin or operator role"));
    }
    let mut e = ValidationErrors::default();
    let slug = e.take(Slug::parse("slug", &req.slug));
    let name_zh = e.take(name("name_zh", &req.name_zh));
    let name_en = e.take(name("name_en", &req.name_en));
    let zone = e.take(Zone::parse("timezone", req.timezone.as_deref().unwrap_or("Asia/Shanghai")));
    let address = e.take(text("address", &req.address, 500));
    let contact = e.take(text("contact", &req.contact, 500));
    if let Err(v) = coordinates(req.latitude, req.longitude) {
        v.into_iter().for_each(|f| e.push(f));
    }
    if req.floor_area_m2.is_some_and(|a| !(0.0..=10_000_000.0).contains(&a)) {
        e.push(FieldError::new("floor_area_m2", "out_of_range", "must be between 0 and 10000000"));
    }
    let org = operator_org(svc, &mut e, req.operator_org.as_deref()).await?;
    let quotas = kind_quotas_json(&mut e, &req.kind_quotas);
    let (Some(slug), Some(name_zh), Some(name_en), Some(zone), Some(address), Some(contact), Some(quotas)) =
        (slug, name_zh, name_en, zone, address, contact, quotas)
    else {
        return Err(e.into());
    };
    e.finish()?;
    let id = svc
        .db
        .insert_space(NewSpace {
            slug: slug.as_str(),
            name_zh: &name_zh,
            name_en: &name_en,
            kind: req.kind.as_str(),
            timezone: zone.name(),
            now,
        })
        .await?;
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
    svc.db.update_space(&id, &fields).await?;
    if who.admin().is_none() {
        svc.db
            .grant_role(Grant {
                account_id: who.id(),
                role: Role::Operator,
                space_id: Some(&id),
                granted_by: Some(who.id()),
                now,
            })
            .await?;
    }
    tracing::info!(space = %slug.as_str(), by = %who.id(), "space created");
    Ok(id)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateSpace {
    pub name_zh: Option<String>,
    pub name_en: Option<String>,
    pub kind: Option<SpaceKind>,
    pub operator_org: Option<String>,
    pub address: Option<String>,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub floor_area_m2: Option<f64>,
    pub timezone: Option<String>,
    pub contact: Option<String>,
    #[serde(default)]
    #[schema(value_type = Object)]
    pub kind_quotas: Option<Value>,
}

/// Changes the fields given; the others stay.
///
/// # Errors
/// [`super::Code::ValidationFailed`].
pub async fn update_space(svc: &Services, op: &OperatorOf, req: &UpdateSpace) -> ServiceResult<()> {
    let space = op.space();
    let mut e = ValidationErrors::default();
    let name_zh = match &req.name_zh {
        Some(n) => e.take(name("name_zh", n)),
        None => Some(space.name_zh.clone()),
    };
    let name_en = match &req.name_en {
        Some(n) => e.take(name("name_en", n)),
        None => Some(space.name_en.clone()),
    };
    let zone = e.take(Zone::parse("timezone", req.timezone.as_deref().unwrap_or(&space.timezone)));
    let address = e.take(text("address", req.address.as_deref().unwrap_or(&space.address), 500));
    let contact = e.take(text("contact", req.contact.as_deref().unwrap_or(&space.contact), 500));
    let (lat, lon) = (req.latitude.or(space.latitude), req.longitude.or(space.longitude));
    if let Err(v) = coordinates(lat, lon) {
        v.into_iter().for_each(|f| e.push(f));
    }
    let area = req.floor_area_m2.or(space.floor_area_m2);
    if area.is_some_and(|a| !(0.0..=10_000_000.0).contains(&a)) {
        e.push(FieldError::new("floor_area_m2", "out_of_range", "must be between 0 and 10000000"));
    }
    let org = match req.operator_org.as_deref() {
        Some(o) => operator_org(svc, &mut e, Some(o)).await?,
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
    svc.db.update_space(&space.id, &fields).await?;
    Ok(())
}

/// Archives a space (`archived`), or restores it. It leaves the map; its history stays.
///
/// # Errors
/// Store errors.
pub async fn archive_space(svc: &Services, op: &OperatorOf, archived: bool, now: i64) -> ServiceResult<()> {
    Ok(svc.db.set_space_archived(&op.space().id, archived.then_some(now)).await?)
}

// ---------- resources and units ----------

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UnitsSpec {
    /// Explicit labels, such as ["LC-1"].
    #[serde(default)]
    pub labels: Option<Vec<String>>,
    /// Or a count, labelled prefix01, prefix02, …
    #[serde(default)]
    pub count: Option<u32>,
    #[serde(default)]
    pub prefix: Option<String>,
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
    pub kind: ResourceKind,
    pub name_zh: String,
    pub name_en: String,
    #[serde(default)]
    pub description: String,
    /// Fields to change from the kind's default policy.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub policy: Value,
    /// The units; one unit labelled "1" when absent.
    #[serde(default)]
    pub units: Option<UnitsSpec>,
}

/// Adds a bookable resource and its units to the space. Returns its id.
///
/// # Errors
/// [`super::Code::ValidationFailed`].
pub async fn create_resource(
    svc: &Services,
    op: &OperatorOf,
    req: &CreateResource,
    now: i64,
) -> ServiceResult<ResourceId> {
    let mut e = ValidationErrors::default();
    let name_zh = e.take(name("name_zh", &req.name_zh));
    let name_en = e.take(name("name_en", &req.name_en));
    let description = e.take(text("description", &req.description, 4000));
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
    let policy_json = serde_json::to_string(&policy).map_err(ServiceError::internal)?;
    Ok(svc
        .db
        .insert_resource_with_units(&NewResource {
            space_id: &op.space().id,
            kind: req.kind.as_str(),
            name_zh: &name_zh,
            name_en: &name_en,
            description: &description,
            policy_json: &policy_json,
            unit_labels: &labels,
            now,
        })
        .await?)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateResource {
    pub name_zh: Option<String>,
    pub name_en: Option<String>,
    pub description: Option<String>,
    /// Fields to change in the current policy.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub policy: Value,
}

/// Changes a resource's names, description or policy fields (of a resource of the
/// operator's space).
///
/// # Errors
/// [`super::Code::ValidationFailed`].
pub async fn update_resource(svc: &Services, r: &Operated<ResourceRow>, req: &UpdateResource) -> ServiceResult<()> {
    let r = r.row();
    let kind = resource_kind(r)?;
    let mut e = ValidationErrors::default();
    let name_zh = e.take(name("name_zh", req.name_zh.as_deref().unwrap_or(&r.name_zh)));
    let name_en = e.take(name("name_en", req.name_en.as_deref().unwrap_or(&r.name_en)));
    let description = e.take(text("description", req.description.as_deref().unwrap_or(&r.description), 4000));
    let policy = match stored_policy(r)?.merged(kind, &req.policy) {
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
    let policy_json = serde_json::to_string(&policy).map_err(ServiceError::internal)?;
    svc.db.update_resource(&r.id, &name_zh, &name_en, &description, &policy_json).await?;
    Ok(())
}

/// Archives a resource (or restores it): it takes no new bookings; history stays.
///
/// # Errors
/// Store errors.
pub async fn archive_resource(
    svc: &Services,
    r: &Operated<ResourceRow>,
    archived: bool,
    now: i64,
) -> ServiceResult<()> {
    Ok(svc.db.set_resource_archived(&r.row().id, archived.then_some(now)).await?)
}

/// Adds units to a resource.
///
/// # Errors
/// [`super::Code::ValidationFailed`], [`super::Code::LabelTaken`].
pub async fn add_units(svc: &Services, r: &Operated<ResourceRow>, req: &UnitsSpec, now: i64) -> ServiceResult<()> {
    let mut e = ValidationErrors::default();
    let labels = unit_labels(Some(req), &mut e);
    e.finish()?;
    svc.db.insert_units(&r.row().id, &labels, now).await?;
    Ok(())
}

/// Relabels a unit. Returns the label.
///
/// # Errors
/// [`super::Code::ValidationFailed`], [`super::Code::LabelTaken`].
pub async fn relabel_unit(svc: &Services, unit: &Operated<UnitRow>, label: &str) -> ServiceResult<String> {
    let label = unit_label("label", label).map_err(|f| ServiceError::from(ValidationErrors(vec![f])))?;
    svc.db.relabel_unit(&unit.row().id, &label).await?;
    Ok(label)
}

/// Retires a unit: it takes no new bookings; its history stays.
///
/// # Errors
/// Store errors.
pub async fn retire_unit(svc: &Services, unit: &Operated<UnitRow>, now: i64) -> ServiceResult<()> {
    Ok(svc.db.retire_unit(&unit.row().id, now).await?)
}

// ---------- opening rules ----------

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateOpeningRule {
    /// A resource of this space whose own rules replace the space's; absent for the space.
    #[serde(default)]
    pub resource: Option<String>,
    /// RFC 5545 RRULE, such as `FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR`. At most daily.
    pub rrule: String,
    /// Local wall-clock start of the first occurrence, such as `2026-01-05T09:00`.
    pub start: String,
    /// 1–1440 wall-clock minutes.
    pub duration_minutes: i64,
}

async fn resource_in_space(
    svc: &Services,
    space: &SpaceRow,
    field: &str,
    id: Option<&str>,
    e: &mut ValidationErrors,
) -> ServiceResult<Option<ResourceId>> {
    let Some(id) = id else { return Ok(None) };
    match svc.db.resource(&ResourceId::new(id)).await {
        Ok(r) if r.space_id == space.id => Ok(Some(r.id)),
        Ok(_) | Err(StoreError::NotFound) => {
            e.push(FieldError::new(field, "unknown_resource", "no resource of this space has this id"));
            Ok(None)
        }
        Err(err) => Err(err.into()),
    }
}

/// Opening hours of a space (and its resources' overrides). Public.
///
/// # Errors
/// [`super::Code::NotFound`].
pub async fn opening_rules(svc: &Services, slug: &str) -> ServiceResult<Vec<OpeningRuleRow>> {
    let space = find_space(svc, slug).await?;
    Ok(svc.db.opening_rules_of(&space.id).await?)
}

/// Adds an opening rule in the space's local time.
///
/// # Errors
/// [`super::Code::ValidationFailed`]: `rrule_invalid`, `rrule_unbounded`, ...
pub async fn create_opening_rule(
    svc: &Services,
    op: &OperatorOf,
    req: &CreateOpeningRule,
    now: i64,
) -> ServiceResult<OpeningRuleRow> {
    let space = op.space();
    let zone = zone_of(space)?;
    let mut e = ValidationErrors::default();
    let resource = resource_in_space(svc, space, "resource", req.resource.as_deref(), &mut e).await?;
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
    let id = svc
        .db
        .insert_opening_rule(&space.id, resource.as_ref(), rule.rrule_text(), &start, rule.duration_min(), now)
        .await?;
    Ok(OpeningRuleRow {
        id,
        space_id: space.id.clone(),
        resource_id: resource,
        rrule: rule.rrule_text().into(),
        dtstart_local: start,
        duration_min: rule.duration_min(),
    })
}

/// The next `n` times an opening rule would open (as [`create_opening_rule`] would save it,
/// nothing saved), from `now` over the next 60 days: what the console previews in local time.
///
/// # Errors
/// [`super::Code::ValidationFailed`] as [`create_opening_rule`].
pub fn preview_opening_rule(
    op: &OperatorOf,
    req: &CreateOpeningRule,
    now: i64,
    n: usize,
) -> ServiceResult<Vec<crate::domain::interval::Interval>> {
    let zone = zone_of(op.space())?;
    let rule = RecurringWindow::parse(
        ["rrule", "start", "duration_minutes"],
        &req.rrule,
        &req.start,
        req.duration_minutes,
        MAX_OPENING_MINUTES,
        zone,
    )
    .map_err(|v| ServiceError::from(ValidationErrors(v)))?;
    let window = crate::domain::interval::Interval::new(now, now + 60 * crate::domain::calendar::DAY_MS)
        .map_err(ServiceError::internal)?;
    let mut all = rule.expand(window).map_err(|e| ServiceError::internal(anyhow::anyhow!("{e:?}")))?;
    all.retain(|w| w.end() > now);
    all.truncate(n);
    Ok(all)
}

/// Removes an opening rule of the space.
///
/// # Errors
/// [`super::Code::NotFound`].
pub async fn delete_opening_rule(svc: &Services, op: &OperatorOf, id: &str) -> ServiceResult<()> {
    if svc.db.delete_opening_rule(&op.space().id, id).await? {
        Ok(())
    } else {
        Err(ServiceError::not_found("opening rule"))
    }
}

// ---------- closures ----------

/// The far-future end stored for closures that recur for ever.
pub const FOREVER: i64 = 253_402_300_799_999; // 9999-12-31T23:59:59.999Z

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateClosure {
    /// Why: a holiday, maintenance, an event.
    pub reason: String,
    /// Close one resource of the space (absent: the whole space).
    #[serde(default)]
    pub resource: Option<String>,
    /// Close one unit of the space.
    #[serde(default)]
    pub unit: Option<String>,
    /// One-off: RFC 3339 with offset, or a local time of the space (`2026-10-01T00:00`).
    #[serde(default)]
    pub start: Option<String>,
    #[serde(default)]
    pub end: Option<String>,
    /// Recurring: an RRULE with a local `start` and `duration_minutes`.
    #[serde(default)]
    pub rrule: Option<String>,
    #[serde(default)]
    pub duration_minutes: Option<i64>,
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

/// Closures of a space, its resources and units, with the space. Public.
///
/// # Errors
/// [`super::Code::NotFound`].
pub async fn closures(svc: &Services, slug: &str) -> ServiceResult<(SpaceRow, Vec<ClosureRow>)> {
    let space = find_space(svc, slug).await?;
    let rows = svc.db.closures_of(&space.id, None).await?;
    Ok((space, rows))
}

/// Closes the space, a resource or a unit of it: once, or recurring.
///
/// # Errors
/// [`super::Code::ValidationFailed`].
pub async fn create_closure(
    svc: &Services,
    op: &OperatorOf,
    req: &CreateClosure,
    now: i64,
) -> ServiceResult<ClosureRow> {
    let space = op.space();
    let zone = zone_of(space)?;
    let mut e = ValidationErrors::default();
    let reason = e.take(name("reason", &req.reason));
    let mut resource = resource_in_space(svc, space, "resource", req.resource.as_deref(), &mut e).await?;
    let unit = match req.unit.as_deref() {
        None => None,
        Some(u) => match svc.db.unit(&UnitId::new(u)).await {
            Ok(unit) => {
                let r = svc.db.resource(&unit.resource_id).await?;
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
            let s = e.take(instant_or_local("start", s, zone));
            let en = e.take(instant_or_local("end", en, zone));
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
    let id = svc
        .db
        .insert_closure(&NewClosure {
            space_id: &space.id,
            resource_id: resource.as_ref(),
            unit_id: unit.as_ref(),
            reason: &reason,
            starts_at: from,
            ends_at: until,
            rrule: rrule.as_deref(),
            dtstart_local: start_local.as_deref(),
            duration_min: duration,
            created_by: Some(op.id()),
            now,
        })
        .await?;
    Ok(ClosureRow {
        id,
        space_id: space.id.clone(),
        resource_id: resource,
        unit_id: unit,
        reason,
        starts_at: from,
        ends_at: until,
        rrule,
        dtstart_local: start_local,
        duration_min: duration,
    })
}

/// Removes a closure of the space.
///
/// # Errors
/// [`super::Code::NotFound`].
pub async fn delete_closure(svc: &Services, op: &OperatorOf, id: &str) -> ServiceResult<()> {
    if svc.db.delete_closure(&op.space().id, id).await? { Ok(()) } else { Err(ServiceError::not_found("closure")) }
}
