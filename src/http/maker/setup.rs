//! The operator console's catalog: the space's details, its resources and units, each
//! resource's booking policy (every field, with its validation message next to it), opening
//! hours from a builder (weekdays, opening and closing times, from a date; or an RRULE) that
//! previews the next openings in the space's local time, and closures. Every change is a use
//! case of [`crate::service::catalog`], the same the API calls.

use super::*;
use crate::domain::policy::BookingPolicy;
use crate::service::catalog::{self as cat, CreateClosure, CreateOpeningRule, UnitsSpec, UpdateResource, UpdateSpace};
use crate::service::powers::OperatorOf;
use serde_json::{Map, Value, json};
use std::collections::HashMap;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/ops/{slug}/catalog", get(catalog_page))
        .route("/ops/{slug}/catalog/space", post(save_space))
        .route("/ops/{slug}/catalog/resources", post(add_resource))
        .route("/ops/{slug}/catalog/hours", post(add_hours))
        .route("/ops/{slug}/catalog/hours/{id}/delete", post(delete_hours))
        .route("/ops/{slug}/catalog/closures", post(add_closure))
        .route("/ops/{slug}/catalog/closures/{id}/delete", post(delete_closure))
        .route("/ops/{slug}/resources/{id}", get(resource_page).post(save_resource))
        .route("/ops/{slug}/resources/{id}/units", post(add_units))
        .route("/ops/{slug}/resources/{id}/archive", post(archive_resource))
        .route("/ops/{slug}/units/{id}/retire", post(retire_unit))
}

/// Each invalid field of a failure, by field name, in the reader's words (without the name).
fn by_field(t: &Texts, e: &ServiceError) -> HashMap<String, String> {
    let fields = e.details.as_ref().and_then(|d| d["fields"].as_array().cloned()).unwrap_or_default();
    fields.iter().map(|f| (f["field"].as_str().unwrap_or("").to_owned(), what_is_wrong(t, f))).collect()
}

// ---------- the catalog page ----------

pub struct ResourceLine {
    pub href: String,
    pub name: String,
    pub kind: String,
    pub units: usize,
    pub archived: bool,
}

pub struct RuleLine {
    pub id: String,
    pub text: String,
    pub scope: String,
}

pub struct ClosureLine {
    pub id: String,
    pub when: String,
    pub reason: String,
    pub scope: String,
}

/// The opening-hours builder's fields, as typed.
#[derive(Debug, Default, Clone, Deserialize)]
struct HoursForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    mo: Option<String>,
    #[serde(default)]
    tu: Option<String>,
    #[serde(default)]
    we: Option<String>,
    #[serde(default)]
    th: Option<String>,
    #[serde(default)]
    fr: Option<String>,
    #[serde(default)]
    sa: Option<String>,
    #[serde(default)]
    su: Option<String>,
    #[serde(default)]
    open: String,
    #[serde(default)]
    close: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    resource: String,
    /// An RRULE instead of the weekdays (advanced).
    #[serde(default)]
    rrule: String,
    /// `preview` or `save`.
    #[serde(default)]
    action: String,
}

const DAYS: [&str; 7] = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"];

impl HoursForm {
    fn days(&self) -> [bool; 7] {
        let on = |d: &Option<String>| d.as_deref().is_some_and(|v| !v.is_empty());
        [on(&self.mo), on(&self.tu), on(&self.we), on(&self.th), on(&self.fr), on(&self.sa), on(&self.su)]
    }

    /// The rule the builder makes: an RRULE, a local start and minutes (a close at or before
    /// the opening closes the next day). Fields it cannot read are named.
    fn rule(&self) -> Result<CreateOpeningRule, ServiceError> {
        let mut e = crate::domain::ValidationErrors::default();
        let time =
            |field: &str, raw: &str, e: &mut crate::domain::ValidationErrors| match chrono::NaiveTime::parse_from_str(
                raw.trim(),
                "%H:%M",
            ) {
                Ok(t) => Some(t),
                Err(_) => {
                    e.push(crate::domain::FieldError::new(field, "invalid_format", "must be a time such as 09:00"));
                    None
                }
            };
        let open = time("open", &self.open, &mut e);
        let close = time("close", &self.close, &mut e);
        let from = match chrono::NaiveDate::parse_from_str(self.from.trim(), "%Y-%m-%d") {
            Ok(d) => Some(d),
            Err(_) => {
                e.push(crate::domain::FieldError::new("from", "invalid_date", "must be a date such as 2026-03-29"));
                None
            }
        };
        let days = self.days();
        let rrule = if !self.rrule.trim().is_empty() {
            self.rrule.trim().to_owned()
        } else if days.iter().all(|d| *d) {
            "FREQ=DAILY".to_owned()
        } else if days.iter().any(|d| *d) {
            let by: Vec<&str> = DAYS.iter().zip(days).filter(|(_, on)| *on).map(|(d, _)| *d).collect();
            format!("FREQ=WEEKLY;BYDAY={}", by.join(","))
        } else {
            e.push(crate::domain::FieldError::new("days", "required", "choose at least one weekday"));
            String::new()
        };
        let (Some(open), Some(close), Some(from)) = (open, close, from) else { return Err(e.into()) };
        e.finish().map_err(ServiceError::from)?;
        let mut minutes = (close - open).num_minutes();
        if minutes <= 0 {
            minutes += 1440;
        }
        Ok(CreateOpeningRule {
            resource: Some(self.resource.clone()).filter(|r| !r.is_empty()),
            rrule,
            start: format!("{}T{}", from.format("%Y-%m-%d"), open.format("%H:%M")),
            duration_minutes: minutes,
        })
    }
}

#[derive(Template)]
#[template(path = "ops_catalog.html")]
struct CatalogPage {
    t: &'static Texts,
    nav: Nav,
    slug: String,
    space_name: String,
    tab: &'static str,
    zone: String,
    /// The space's fields: (name, label, input type, value, error).
    space_fields: Vec<(&'static str, &'static str, &'static str, String, String)>,
    resources: Vec<ResourceLine>,
    /// (id, name, chosen in the builder) of every live resource, for the rule and closure scopes.
    scopes: Vec<(String, String, bool)>,
    rules: Vec<RuleLine>,
    closures: Vec<ClosureLine>,
    /// The builder: the weekdays (code, word, ticked), the times, the first date, the scope.
    days: Vec<(&'static str, &'static str, bool)>,
    open: String,
    close: String,
    from: String,
    rrule: String,
    hours_errors: HashMap<String, String>,
    preview: Vec<String>,
    closure_errors: HashMap<String, String>,
    resource_errors: HashMap<String, String>,
    /// Refusals of the new-resource form that have no field of their own (a unit's label).
    resource_other: Vec<String>,
    typed: HashMap<String, String>,
    done: String,
}

/// Fields by name: what was typed, or the words of what is wrong with it.
type Typed = HashMap<&'static str, String>;
type Wrong = HashMap<String, String>;

/// What a catalog page answers after a form: which part, and what the reader typed there.
#[derive(Default)]
struct Said {
    done: &'static str,
    space: Option<(Typed, Wrong)>,
    hours: Option<(HoursForm, Wrong, Vec<String>)>,
    closure_errors: HashMap<String, String>,
    resource_errors: HashMap<String, String>,
    typed: HashMap<String, String>,
}

impl CatalogPage {
    fn hours_err(&self, f: &str) -> String {
        self.hours_errors.get(f).cloned().unwrap_or_default()
    }

    fn closure_err(&self, f: &str) -> String {
        self.closure_errors.get(f).cloned().unwrap_or_default()
    }

    fn resource_err(&self, f: &str) -> String {
        self.resource_errors.get(f).cloned().unwrap_or_default()
    }

    fn field_word(&self, f: &str) -> &'static str {
        self.t.w(&format!("cat_field.{f}"))
    }

    fn typed(&self, key: &str) -> String {
        self.typed.get(key).cloned().unwrap_or_default()
    }

    fn is(&self, key: &str, value: &str) -> bool {
        self.typed.get(key).is_some_and(|v| v == value)
    }

    fn kind_word(&self, kind: &str) -> &'static str {
        self.t.w(&format!("cat.kind.{kind}"))
    }
}

fn weekday_words(t: &Texts) -> [&'static str; 7] {
    if t.zh {
        ["周一", "周二", "周三", "周四", "周五", "周六", "周日"]
    } else {
        ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
    }
}

/// An opening rule in words: "周一、周二 09:00–18:00 · 自 2026-01-05".
fn rule_text(t: &Texts, r: &crate::store::catalog::OpeningRuleRow) -> String {
    let words = weekday_words(t);
    // Only FREQ=DAILY, or FREQ=WEEKLY with plain weekdays, is said in words; any other rule
    // (an interval, an end, a count, "the first Monday") is shown as written.
    let plain = r.rrule.split(';').all(|p| {
        p == "FREQ=DAILY"
            || p == "FREQ=WEEKLY"
            || p.strip_prefix("BYDAY=").is_some_and(|d| d.split(',').all(|x| DAYS.contains(&x)))
    });
    let days = if !plain {
        r.rrule.clone()
    } else if r.rrule.contains("FREQ=DAILY") && !r.rrule.contains("BYDAY") {
        t.w("cat_every_day").to_owned()
    } else if let Some(by) = r.rrule.split(';').find_map(|p| p.strip_prefix("BYDAY=")) {
        by.split(',')
            .filter_map(|d| DAYS.iter().position(|x| *x == d).map(|i| words[i]))
            .collect::<Vec<_>>()
            .join(if t.zh { "、" } else { ", " })
    } else {
        r.rrule.clone()
    };
    let start = chrono::NaiveDateTime::parse_from_str(&r.dtstart_local, "%Y-%m-%dT%H:%M:%S").ok();
    match start {
        Some(s) => {
            let end = s + chrono::Duration::minutes(r.duration_min);
            let next_day = if end.date() > s.date() { t.w("cat_next_day") } else { "" };
            format!(
                "{days} {}–{}{next_day} · {} {}",
                s.format("%H:%M"),
                end.format("%H:%M"),
                t.w("cat_since"),
                s.format("%Y-%m-%d")
            )
        }
        None => format!("{days} · {}", r.dtstart_local),
    }
}

fn space_values(s: &crate::store::catalog::SpaceRow) -> HashMap<&'static str, String> {
    HashMap::from([
        ("name_zh", s.name_zh.clone()),
        ("name_en", s.name_en.clone()),
        ("address", s.address.clone()),
        ("contact", s.contact.clone()),
        ("floor_area_m2", s.floor_area_m2.map(|a| a.to_string()).unwrap_or_default()),
        ("timezone", s.timezone.clone()),
    ])
}

async fn catalog_view(state: &AppState, v: &Visitor, op: &OperatorOf, said: Said, status: StatusCode) -> Response {
    let t = v.t;
    let space = op.space();
    let zone = Zone::parse("timezone", &space.timezone).unwrap_or_default();
    let detail = or_answer!(v, cat::space_detail(&state.svc, &space.slug).await);
    let archived = or_answer!(v, state.svc.db.all_resources_of(&space.id).await.map_err(ServiceError::from));
    let mut resources: Vec<ResourceLine> = detail
        .resources
        .iter()
        .map(|r| ResourceLine {
            href: format!("/ops/{}/resources/{}", space.slug, r.resource.id),
            name: name_of(t, &r.resource.name_zh, &r.resource.name_en),
            kind: {
                let k = crate::service::reports::kind_name(&r.resource.kind);
                if t.zh { k.zh } else { k.en }
            },
            units: r.units.iter().filter(|u| u.retired_at.is_none()).count(),
            archived: false,
        })
        .collect();
    let scopes: Vec<(String, String)> = detail
        .resources
        .iter()
        .map(|r| (r.resource.id.to_string(), name_of(t, &r.resource.name_zh, &r.resource.name_en)))
        .collect();
    for r in archived.iter().filter(|r| r.archived_at.is_some()) {
        resources.push(ResourceLine {
            href: format!("/ops/{}/resources/{}", space.slug, r.id),
            name: name_of(t, &r.name_zh, &r.name_en),
            kind: {
                let k = crate::service::reports::kind_name(&r.kind);
                if t.zh { k.zh } else { k.en }
            },
            units: 0,
            archived: true,
        });
    }
    let scope_name = |rid: Option<&crate::domain::ids::ResourceId>| match rid {
        None => t.w("cat_whole_space").to_owned(),
        Some(id) => archived
            .iter()
            .find(|r| &r.id == id)
            .map(|r| name_of(t, &r.name_zh, &r.name_en))
            .unwrap_or_else(|| id.to_string()),
    };
    let rules = or_answer!(v, cat::opening_rules(&state.svc, &space.slug).await)
        .iter()
        .map(|r| RuleLine { id: r.id.clone(), text: rule_text(t, r), scope: scope_name(r.resource_id.as_ref()) })
        .collect();
    let (_, closure_rows) = or_answer!(v, cat::closures(&state.svc, &space.slug).await);
    let now = state.clock.now_ms();
    let closures = closure_rows
        .iter()
        .filter(|c| c.ends_at > now)
        .map(|c| ClosureLine {
            id: c.id.clone(),
            when: match &c.rrule {
                Some(rule) => format!("{rule} · {}", c.dtstart_local.clone().unwrap_or_default()),
                None => span_text(t, zone, c.starts_at, c.ends_at),
            },
            reason: c.reason.clone(),
            scope: scope_name(c.resource_id.as_ref()),
        })
        .collect();
    let (values, space_errors) = said.space.unwrap_or_else(|| (space_values(space), HashMap::new()));
    let space_fields = [
        ("name_zh", "cat.name_zh", "text"),
        ("name_en", "cat.name_en", "text"),
        ("address", "cat.address", "text"),
        ("contact", "cat.contact", "text"),
        ("floor_area_m2", "cat.floor_area_m2", "number"),
        ("timezone", "cat.timezone", "text"),
    ]
    .into_iter()
    .map(|(name, key, input)| {
        let value = values.get(name).cloned().unwrap_or_default();
        (name, t.w(key), input, value, space_errors.get(name).cloned().unwrap_or_default())
    })
    .collect();
    let today = utc_to_local(zone.tz(), now).date_naive().format("%Y-%m-%d").to_string();
    let (hours, hours_errors, preview) = said.hours.unwrap_or_else(|| {
        let f = HoursForm {
            mo: Some("on".into()),
            tu: Some("on".into()),
            we: Some("on".into()),
            th: Some("on".into()),
            fr: Some("on".into()),
            open: "09:00".into(),
            close: "18:00".into(),
            from: today.clone(),
            ..HoursForm::default()
        };
        (f, HashMap::new(), Vec::new())
    });
    let ticked = hours.days();
    let words = weekday_words(t);
    let p = CatalogPage {
        t,
        nav: v.nav(),
        slug: space.slug.clone(),
        space_name: name_of(t, &space.name_zh, &space.name_en),
        tab: "catalog",
        zone: space.timezone.clone(),
        space_fields,
        resources,
        scopes: scopes.iter().map(|(id, name)| (id.clone(), name.clone(), *id == hours.resource)).collect(),
        rules,
        closures,
        days: (0..7).map(|i| (DAYS[i], words[i], ticked[i])).collect(),
        open: hours.open.clone(),
        close: hours.close.clone(),
        from: hours.from.clone(),
        rrule: hours.rrule.clone(),
        hours_errors,
        preview,
        closure_errors: said.closure_errors,
        resource_other: said
            .resource_errors
            .iter()
            .filter(|(k, _)| !["kind", "name_zh", "name_en", "units.count"].contains(&k.as_str()))
            .map(|(k, e)| format!("{k}{}{e}", t.w("colon")))
            .collect(),
        resource_errors: said.resource_errors,
        typed: said.typed,
        done: if said.done.is_empty() { String::new() } else { t.w(said.done).to_owned() },
    };
    page(t, status, &p)
}

#[derive(Debug, Default, Deserialize)]
struct DoneQuery {
    #[serde(default)]
    done: Option<String>,
    #[serde(default)]
    #[allow(dead_code)]
    lang: Option<String>,
}

const DONE: [&str; 8] = [
    "cat_done.space",
    "cat_done.resource",
    "cat_done.hours",
    "cat_done.hours_deleted",
    "cat_done.closure",
    "cat_done.closure_deleted",
    "cat_done.units",
    "cat_done.saved",
];

fn done_of(q: Option<&str>) -> &'static str {
    q.and_then(|d| DONE.iter().find(|k| k.strip_prefix("cat_done.") == Some(d)).copied()).unwrap_or("")
}

async fn catalog_page(State(state): State<AppState>, v: Visitor, Path(slug): Path<String>, uri: Uri) -> Response {
    let user = or_answer!(v.require());
    let q: DoneQuery = or_answer!(query(&v, &uri));
    let op = or_answer!(operator(&state, &v, user, &slug).await);
    let said = Said { done: done_of(q.done.as_deref()), ..Said::default() };
    catalog_view(&state, &v, &op, said, StatusCode::OK).await
}

fn back_to_catalog(slug: &str, done: &str, anchor: &str) -> Response {
    see_other(&format!("/ops/{slug}/catalog?done={done}#{anchor}"))
}

#[derive(Debug, Deserialize)]
struct SpaceForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name_zh: String,
    #[serde(default)]
    name_en: String,
    #[serde(default)]
    address: String,
    #[serde(default)]
    contact: String,
    #[serde(default)]
    floor_area_m2: String,
    #[serde(default)]
    timezone: String,
}

#[derive(Debug, Deserialize)]
struct NewResourceForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    name_zh: String,
    #[serde(default)]
    name_en: String,
    #[serde(default)]
    count: String,
    #[serde(default)]
    prefix: String,
}

#[derive(Debug, Deserialize)]
struct ClosureForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    start: String,
    #[serde(default)]
    end: String,
    #[serde(default)]
    resource: String,
}

signed_forms!(HoursForm, SpaceForm, NewResourceForm, ClosureForm);

async fn save_space(
    State(state): State<AppState>,
    v: Visitor,
    Path(slug): Path<String>,
    form: FormResult<SpaceForm>,
) -> Response {
    let (user, f) = or_answer!(signed_form(&v, form));
    let op = or_answer!(operator(&state, &v, user, &slug).await);
    let typed = HashMap::from([
        ("name_zh", f.name_zh.clone()),
        ("name_en", f.name_en.clone()),
        ("address", f.address.clone()),
        ("contact", f.contact.clone()),
        ("floor_area_m2", f.floor_area_m2.clone()),
        ("timezone", f.timezone.clone()),
    ]);
    let area = f.floor_area_m2.trim();
    let floor_area_m2 = if area.is_empty() {
        None
    } else {
        match area.parse::<f64>() {
            Ok(a) => Some(a),
            Err(_) => {
                let errors = HashMap::from([("floor_area_m2".to_owned(), v.t.w("field.invalid").to_owned())]);
                let said = Said { space: Some((typed, errors)), ..Said::default() };
                return catalog_view(&state, &v, &op, said, StatusCode::UNPROCESSABLE_ENTITY).await;
            }
        }
    };
    let req = UpdateSpace {
        name_zh: Some(f.name_zh),
        name_en: Some(f.name_en),
        kind: None,
        operator_org: None,
        address: Some(f.address),
        latitude: None,
        longitude: None,
        floor_area_m2,
        timezone: Some(f.timezone.trim().to_owned()),
        contact: Some(f.contact),
        kind_quotas: None,
    };
    match cat::update_space(&state.svc, &op, &req).await {
        Ok(()) => back_to_catalog(&slug, "space", "space"),
        Err(e) if e.code == Code::ValidationFailed => {
            let said = Said { space: Some((typed, by_field(v.t, &e))), ..Said::default() };
            catalog_view(&state, &v, &op, said, StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(e) => v.fail(e),
    }
}

async fn add_resource(
    State(state): State<AppState>,
    v: Visitor,
    Path(slug): Path<String>,
    form: FormResult<NewResourceForm>,
) -> Response {
    let (user, f) = or_answer!(signed_form(&v, form));
    let op = or_answer!(operator(&state, &v, user, &slug).await);
    let typed: HashMap<String, String> = [
        ("new.kind", &f.kind),
        ("new.name_zh", &f.name_zh),
        ("new.name_en", &f.name_en),
        ("new.count", &f.count),
        ("new.prefix", &f.prefix),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.clone()))
    .collect();
    let kind = serde_json::from_value::<crate::domain::policy::ResourceKind>(json!(f.kind));
    let count = f.count.trim().parse::<u32>();
    let (Ok(kind), Ok(count)) = (kind, count) else {
        let mut errors = HashMap::new();
        if serde_json::from_value::<crate::domain::policy::ResourceKind>(json!(f.kind)).is_err() {
            errors.insert("kind".to_owned(), v.t.w("field.invalid_choice").to_owned());
        }
        if f.count.trim().parse::<u32>().is_err() {
            errors.insert("units.count".to_owned(), v.t.w("field.invalid").to_owned());
        }
        let said = Said { resource_errors: errors, typed, ..Said::default() };
        return catalog_view(&state, &v, &op, said, StatusCode::UNPROCESSABLE_ENTITY).await;
    };
    let req = cat::CreateResource {
        kind,
        name_zh: f.name_zh,
        name_en: f.name_en,
        description: String::new(),
        policy: Value::Null,
        units: Some(UnitsSpec { labels: None, count: Some(count), prefix: Some(f.prefix.trim().to_owned()) }),
    };
    match cat::create_resource(&state.svc, &op, &req, state.clock.now_ms()).await {
        Ok(id) => see_other(&format!("/ops/{slug}/resources/{id}?done=resource")),
        Err(e) if e.code == Code::ValidationFailed => {
            let said = Said { resource_errors: by_field(v.t, &e), typed, ..Said::default() };
            catalog_view(&state, &v, &op, said, StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(e) => v.fail(e),
    }
}

async fn add_hours(
    State(state): State<AppState>,
    v: Visitor,
    Path(slug): Path<String>,
    form: FormResult<HoursForm>,
) -> Response {
    let (user, f) = or_answer!(signed_form(&v, form));
    let op = or_answer!(operator(&state, &v, user, &slug).await);
    let t = v.t;
    let now = state.clock.now_ms();
    let zone = Zone::parse("timezone", &op.space().timezone).unwrap_or_default();
    let refused = |e: &ServiceError| by_field(t, e);
    let rule = match f.rule() {
        Ok(r) => r,
        Err(e) if e.code == Code::ValidationFailed => {
            let said = Said { hours: Some((f.clone(), refused(&e), Vec::new())), ..Said::default() };
            return catalog_view(&state, &v, &op, said, StatusCode::UNPROCESSABLE_ENTITY).await;
        }
        Err(e) => return v.fail(e),
    };
    if f.action == "preview" {
        return match cat::preview_opening_rule(&op, &rule, now, 8) {
            Ok(next) => {
                let shown = next.iter().map(|w| span_text(t, zone, w.start(), w.end())).collect::<Vec<_>>();
                let shown = if shown.is_empty() { vec![t.w("cat_no_openings").to_owned()] } else { shown };
                let said = Said { hours: Some((f.clone(), HashMap::new(), shown)), ..Said::default() };
                catalog_view(&state, &v, &op, said, StatusCode::OK).await
            }
            Err(e) if e.code == Code::ValidationFailed => {
                let said = Said { hours: Some((f.clone(), refused(&e), Vec::new())), ..Said::default() };
                catalog_view(&state, &v, &op, said, StatusCode::UNPROCESSABLE_ENTITY).await
            }
            Err(e) => v.fail(e),
        };
    }
    match cat::create_opening_rule(&state.svc, &op, &rule, now).await {
        Ok(_) => back_to_catalog(&slug, "hours", "hours"),
        Err(e) if e.code == Code::ValidationFailed => {
            let said = Said { hours: Some((f.clone(), refused(&e), Vec::new())), ..Said::default() };
            catalog_view(&state, &v, &op, said, StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(e) => v.fail(e),
    }
}

async fn delete_hours(
    State(state): State<AppState>,
    v: Visitor,
    Path((slug, id)): Path<(String, String)>,
    form: FormResult<CsrfForm>,
) -> Response {
    let (user, _) = or_answer!(signed_form(&v, form));
    let op = or_answer!(operator(&state, &v, user, &slug).await);
    or_answer!(v, cat::delete_opening_rule(&state.svc, &op, &id).await);
    back_to_catalog(&slug, "hours_deleted", "hours")
}

async fn add_closure(
    State(state): State<AppState>,
    v: Visitor,
    Path(slug): Path<String>,
    form: FormResult<ClosureForm>,
) -> Response {
    let (user, f) = or_answer!(signed_form(&v, form));
    let op = or_answer!(operator(&state, &v, user, &slug).await);
    let typed: HashMap<String, String> = [
        ("closure.reason", &f.reason),
        ("closure.start", &f.start),
        ("closure.end", &f.end),
        ("closure.resource", &f.resource),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.clone()))
    .collect();
    let req = CreateClosure {
        reason: f.reason,
        resource: Some(f.resource).filter(|r| !r.is_empty()),
        unit: None,
        start: Some(f.start.trim().to_owned()),
        end: Some(f.end.trim().to_owned()),
        rrule: None,
        duration_minutes: None,
    };
    match cat::create_closure(&state.svc, &op, &req, state.clock.now_ms()).await {
        Ok(_) => back_to_catalog(&slug, "closure", "closures"),
        Err(e) if e.code == Code::ValidationFailed => {
            let said = Said { closure_errors: by_field(v.t, &e), typed, ..Said::default() };
            catalog_view(&state, &v, &op, said, StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(e) => v.fail(e),
    }
}

async fn delete_closure(
    State(state): State<AppState>,
    v: Visitor,
    Path((slug, id)): Path<(String, String)>,
    form: FormResult<CsrfForm>,
) -> Response {
    let (user, _) = or_answer!(signed_form(&v, form));
    let op = or_answer!(operator(&state, &v, user, &slug).await);
    or_answer!(v, cat::delete_closure(&state.svc, &op, &id).await);
    back_to_catalog(&slug, "closure_deleted", "closures")
}

// ---------- a resource: its names, its policy, its units ----------

/// A field of the policy form.
pub struct PolicyField {
    /// The form's field name, and the policy's (`quota.hours_per_week`).
    pub name: &'static str,
    pub label: &'static str,
    /// `number`, `check`, `select` or `time`.
    pub input: &'static str,
    pub value: String,
    /// For a select: (value, words, chosen).
    pub choices: Vec<(&'static str, &'static str, bool)>,
    pub hint: &'static str,
    pub error: String,
}

/// The number fields of a policy, with their words' keys: (field, words).
const NUMBERS: [(&str, &str); 9] = [
    ("slot_minutes", "pol.slot_minutes"),
    ("min_minutes", "pol.min_minutes"),
    ("max_minutes", "pol.max_minutes"),
    ("min_notice_minutes", "pol.min_notice_minutes"),
    ("horizon_days", "pol.horizon_days"),
    ("buffer_before_minutes", "pol.buffer_before_minutes"),
    ("buffer_after_minutes", "pol.buffer_after_minutes"),
    ("checkin_opens_minutes_before", "pol.checkin_opens_minutes_before"),
    ("no_show_grace_minutes", "pol.no_show_grace_minutes"),
];

/// The policy form's values, from a stored policy.
fn policy_values(p: &BookingPolicy) -> HashMap<String, String> {
    let v = serde_json::to_value(p).unwrap_or_default();
    let mut out = HashMap::new();
    for (f, _) in NUMBERS {
        out.insert(f.to_owned(), v[f].as_i64().map(|n| n.to_string()).unwrap_or_default());
    }
    out.insert("requires_approval".into(), if p.requires_approval { "on".into() } else { String::new() });
    out.insert("walk_ups_allowed".into(), if p.walk_ups_allowed { "on".into() } else { String::new() });
    out.insert("eligibility".into(), v["eligibility"].as_str().unwrap_or("anyone").to_owned());
    out.insert("quota.hours_per_week".into(), p.quota.hours_per_week.map(|h| h.to_string()).unwrap_or_default());
    out.insert(
        "quota.max_active_bookings".into(),
        p.quota.max_active_bookings.map(|h| h.to_string()).unwrap_or_default(),
    );
    out.insert(
        "price.amount".into(),
        format!("{}.{:02}", p.price.amount_minor / 100, (p.price.amount_minor % 100).abs()),
    );
    out.insert("price.per".into(), p.price.per.clone());
    if let Some(inn) = &p.inn {
        out.insert("inn.check_in_time".into(), inn.check_in_time.clone());
        out.insert("inn.check_out_time".into(), inn.check_out_time.clone());
        out.insert("inn.max_nights".into(), inn.max_nights.to_string());
    }
    for tr in &p.required_trainings {
        out.insert(format!("training.{tr}"), "on".into());
    }
    out
}

/// The policy patch a form asks for, or the fields it cannot read (by field name).
fn policy_patch(
    form: &HashMap<String, String>,
    current: &BookingPolicy,
    trainings: &[(String, String)],
) -> Result<Value, HashMap<String, String>> {
    let mut bad = HashMap::new();
    let mut patch = Map::new();
    let get = |k: &str| form.get(k).map(|s| s.trim().to_owned()).unwrap_or_default();
    for (f, _) in NUMBERS {
        match get(f).parse::<i64>() {
            Ok(n) => {
                patch.insert(f.to_owned(), json!(n));
            }
            Err(_) => {
                bad.insert(format!("policy.{f}"), "invalid".to_owned());
            }
        }
    }
    patch.insert("requires_approval".into(), json!(!get("requires_approval").is_empty()));
    patch.insert("walk_ups_allowed".into(), json!(!get("walk_ups_allowed").is_empty()));
    patch.insert("eligibility".into(), json!(get("eligibility")));
    let optional_number = |k: &str, bad: &mut HashMap<String, String>| -> Value {
        let raw = get(k);
        if raw.is_empty() {
            return Value::Null;
        }
        match raw.parse::<f64>() {
            Ok(n) if n.fract() == 0.0 && k.ends_with("bookings") => json!(n as i64),
            Ok(n) if !k.ends_with("bookings") => json!(n),
            _ => {
                bad.insert(format!("policy.{k}"), "invalid".to_owned());
                Value::Null
            }
        }
    };
    let hours = optional_number("quota.hours_per_week", &mut bad);
    let active = optional_number("quota.max_active_bookings", &mut bad);
    patch.insert("quota".into(), json!({"hours_per_week": hours, "max_active_bookings": active}));
    // The price is typed in yuan with up to two decimals, and stored in fen.
    let amount = get("price.amount");
    let digits = |x: &str| !x.is_empty() && x.len() <= 9 && x.chars().all(|c| c.is_ascii_digit());
    let minor = match amount.split_once('.') {
        None if digits(&amount) => amount.parse::<i64>().ok().and_then(|y| y.checked_mul(100)),
        Some((y, f)) if digits(y) && f.len() <= 2 && f.chars().all(|c| c.is_ascii_digit()) => {
            let f = format!("{f:0<2}");
            y.parse::<i64>().ok().zip(f.parse::<i64>().ok()).and_then(|(y, f)| y.checked_mul(100)?.checked_add(f))
        }
        _ => None,
    };
    match minor {
        Some(m) if m >= 0 => {
            patch.insert(
                "price".into(),
                json!({"amount_minor": m, "currency": current.price.currency, "per": get("price.per")}),
            );
        }
        _ => {
            bad.insert("policy.price.amount_minor".into(), "invalid".to_owned());
        }
    }
    if current.inn.is_some() {
        match get("inn.max_nights").parse::<u32>() {
            Ok(n) => {
                patch.insert(
                    "inn".into(),
                    json!({"check_in_time": get("inn.check_in_time"), "check_out_time": get("inn.check_out_time"), "max_nights": n}),
                );
            }
            Err(_) => {
                bad.insert("policy.inn.max_nights".into(), "invalid".to_owned());
            }
        }
    }
    let required: Vec<&String> =
        trainings.iter().map(|(slug, _)| slug).filter(|slug| !get(&format!("training.{slug}")).is_empty()).collect();
    // Trainings the form does not offer (another space's) stay required.
    let kept = current.required_trainings.iter().filter(|s| !trainings.iter().any(|(t, _)| t == *s));
    let all: Vec<&String> = kept.chain(required).collect();
    patch.insert("required_trainings".into(), json!(all));
    if bad.is_empty() { Ok(Value::Object(patch)) } else { Err(bad) }
}

fn policy_fields(
    t: &Texts,
    values: &HashMap<String, String>,
    errors: &HashMap<String, String>,
    inn: bool,
) -> Vec<PolicyField> {
    let value = |k: &str| values.get(k).cloned().unwrap_or_default();
    let error = |k: &str| errors.get(&format!("policy.{k}")).cloned().unwrap_or_default();
    let mut out: Vec<PolicyField> = NUMBERS
        .iter()
        .map(|(f, key)| PolicyField {
            name: f,
            label: t.w(key),
            input: "number",
            value: value(f),
            choices: Vec::new(),
            hint: t.w(&format!("{key}.hint")),
            error: error(f),
        })
        .collect();
    let check = |name: &'static str| PolicyField {
        name,
        label: t.w(&format!("pol.{name}")),
        input: "check",
        value: value(name),
        choices: Vec::new(),
        hint: t.w(&format!("pol.{name}.hint")),
        error: error(name),
    };
    out.push(check("requires_approval"));
    out.push(check("walk_ups_allowed"));
    let eligibility = value("eligibility");
    out.push(PolicyField {
        name: "eligibility",
        label: t.w("pol.eligibility"),
        input: "select",
        value: eligibility.clone(),
        choices: vec![
            ("anyone", t.w("pol.eligibility.anyone"), eligibility == "anyone"),
            ("verified_makers", t.w("pol.eligibility.verified_makers"), eligibility == "verified_makers"),
        ],
        hint: "",
        error: error("eligibility"),
    });
    for (name, key) in [("quota.hours_per_week", "pol.hours_per_week"), ("quota.max_active_bookings", "pol.max_active")]
    {
        out.push(PolicyField {
            name,
            label: t.w(key),
            input: "number",
            value: value(name),
            choices: Vec::new(),
            hint: t.w("pol.empty_no_limit"),
            error: error(name),
        });
    }
    let per = value("price.per");
    out.push(PolicyField {
        name: "price.amount",
        label: t.w("pol.price"),
        input: "money",
        value: value("price.amount"),
        choices: Vec::new(),
        hint: t.w("pol.price.hint"),
        error: error("price.amount_minor"),
    });
    out.push(PolicyField {
        name: "price.per",
        label: t.w("pol.price_per"),
        input: "select",
        value: per.clone(),
        choices: vec![("hour", t.w("pol.per.hour"), per == "hour"), ("night", t.w("pol.per.night"), per == "night")],
        hint: "",
        error: error("price.per"),
    });
    if inn {
        for (name, key, input) in [
            ("inn.check_in_time", "pol.check_in_time", "time"),
            ("inn.check_out_time", "pol.check_out_time", "time"),
            ("inn.max_nights", "pol.max_nights", "number"),
        ] {
            out.push(PolicyField {
                name,
                label: t.w(key),
                input,
                value: value(name),
                choices: Vec::new(),
                hint: "",
                error: error(name),
            });
        }
    }
    out
}

pub struct UnitLine {
    pub id: String,
    pub label: String,
}

#[derive(Template)]
#[template(path = "ops_resource.html")]
struct ResourcePage {
    t: &'static Texts,
    nav: Nav,
    slug: String,
    space_name: String,
    tab: &'static str,
    id: String,
    name_zh: String,
    name_en: String,
    description: String,
    kind: String,
    archived: bool,
    fields: Vec<PolicyField>,
    /// (slug, name, required) of the trainings this operator may require.
    trainings: Vec<(String, String, bool)>,
    units: Vec<UnitLine>,
    /// Errors of the names (by field), and of the units form.
    errors: HashMap<String, String>,
    unit_error: String,
    other_errors: Vec<String>,
    done: String,
}

impl ResourcePage {
    fn err(&self, f: &str) -> String {
        self.errors.get(f).cloned().unwrap_or_default()
    }
}

/// The form values (names and policy) to show, and the errors to show with them.
struct ResourceState {
    names: (String, String, String),
    values: HashMap<String, String>,
    errors: HashMap<String, String>,
    unit_error: String,
    done: &'static str,
}

async fn resource_view(
    state: &AppState,
    v: &Visitor,
    (user, op): (&SignedIn, &OperatorOf),
    id: &str,
    shown: Option<ResourceState>,
    status: StatusCode,
) -> Response {
    let t = v.t;
    let r = or_answer!(v, cat::operator_of_resource(&state.svc, &user.identity, id).await);
    let row = r.row().clone();
    if row.space_id != op.space().id {
        return v.fail(ServiceError::not_found("resource"));
    }
    let policy = or_answer!(v, cat::stored_policy(&row));
    let kind = crate::service::reports::kind_name(&row.kind);
    let runs = or_answer!(v, crate::service::console::trainings_run(&state.svc, op).await);
    let shown = shown.unwrap_or_else(|| ResourceState {
        names: (row.name_zh.clone(), row.name_en.clone(), row.description.clone()),
        values: policy_values(&policy),
        errors: HashMap::new(),
        unit_error: String::new(),
        done: "",
    });
    let units = or_answer!(v, state.svc.db.units_of(&row.id).await.map_err(ServiceError::from))
        .into_iter()
        .filter(|u| u.retired_at.is_none())
        .map(|u| UnitLine { id: u.id.to_string(), label: u.label })
        .collect();
    let known: Vec<String> = NUMBERS
        .iter()
        .map(|(f, _)| format!("policy.{f}"))
        .chain(
            [
                "requires_approval",
                "walk_ups_allowed",
                "eligibility",
                "quota.hours_per_week",
                "quota.max_active_bookings",
                "price.amount_minor",
                "price.per",
                "inn.check_in_time",
                "inn.check_out_time",
                "inn.max_nights",
            ]
            .iter()
            .map(|f| format!("policy.{f}")),
        )
        .chain(["name_zh", "name_en", "description"].iter().map(|s| (*s).to_owned()))
        .collect();
    let other_errors = shown
        .errors
        .iter()
        .filter(|(k, _)| !known.contains(k))
        .map(|(k, m)| format!("{k}{}{m}", t.w("colon")))
        .collect();
    let p = ResourcePage {
        t,
        nav: v.nav(),
        slug: op.space().slug.clone(),
        space_name: name_of(t, &op.space().name_zh, &op.space().name_en),
        tab: "catalog",
        id: row.id.to_string(),
        name_zh: shown.names.0.clone(),
        name_en: shown.names.1.clone(),
        description: shown.names.2.clone(),
        kind: if t.zh { kind.zh } else { kind.en },
        archived: row.archived_at.is_some(),
        fields: policy_fields(t, &shown.values, &shown.errors, policy.inn.is_some()),
        trainings: runs
            .iter()
            .map(|tr| {
                let on = shown.values.get(&format!("training.{}", tr.slug)).is_some_and(|v| !v.is_empty());
                (tr.slug.clone(), name_of(t, &tr.name_zh, &tr.name_en), on)
            })
            .collect(),
        units,
        errors: shown.errors.clone(),
        unit_error: shown.unit_error.clone(),
        other_errors,
        done: if shown.done.is_empty() { String::new() } else { t.w(shown.done).to_owned() },
    };
    page(t, status, &p)
}

#[derive(Debug, Default, Deserialize)]
struct ResourceQuery {
    #[serde(default)]
    done: Option<String>,
    #[serde(default)]
    #[allow(dead_code)]
    lang: Option<String>,
}

async fn resource_page(
    State(state): State<AppState>,
    v: Visitor,
    Path((slug, id)): Path<(String, String)>,
    uri: Uri,
) -> Response {
    let user = or_answer!(v.require());
    let q: ResourceQuery = or_answer!(query(&v, &uri));
    let op = or_answer!(operator(&state, &v, user, &slug).await);
    let done = done_of(q.done.as_deref());
    if done.is_empty() {
        return resource_view(&state, &v, (user, &op), &id, None, StatusCode::OK).await;
    }
    // The stored values, with what was done.
    let r = or_answer!(v, cat::operator_of_resource(&state.svc, &user.identity, &id).await);
    let row = r.row();
    let policy = or_answer!(v, cat::stored_policy(row));
    let shown = ResourceState {
        names: (row.name_zh.clone(), row.name_en.clone(), row.description.clone()),
        values: policy_values(&policy),
        errors: HashMap::new(),
        unit_error: String::new(),
        done,
    };
    resource_view(&state, &v, (user, &op), &id, Some(shown), StatusCode::OK).await
}

/// The resource form: its names, description and every policy field, by the fields' names.
#[derive(Debug, Deserialize)]
#[serde(transparent)]
struct ResourceForm(HashMap<String, String>);

impl SignedFormBody for ResourceForm {
    fn csrf(&self) -> &str {
        self.0.get("csrf").map_or("", String::as_str)
    }
}

async fn save_resource(
    State(state): State<AppState>,
    v: Visitor,
    Path((slug, id)): Path<(String, String)>,
    form: FormResult<ResourceForm>,
) -> Response {
    let (user, ResourceForm(f)) = or_answer!(signed_form(&v, form));
    let op = or_answer!(operator(&state, &v, user, &slug).await);
    let r = or_answer!(v, cat::operator_of_resource(&state.svc, &user.identity, &id).await);
    if r.row().space_id != op.space().id {
        return v.fail(ServiceError::not_found("resource"));
    }
    let current = or_answer!(v, cat::stored_policy(r.row()));
    let runs = or_answer!(v, crate::service::console::trainings_run(&state.svc, &op).await);
    let offered: Vec<(String, String)> = runs.iter().map(|t| (t.slug.clone(), t.name_zh.clone())).collect();
    let get = |k: &str| f.get(k).cloned().unwrap_or_default();
    let names = (get("name_zh"), get("name_en"), get("description"));
    let refused = |errors: HashMap<String, String>| ResourceState {
        names: names.clone(),
        values: f.clone(),
        errors,
        unit_error: String::new(),
        done: "",
    };
    let patch = match policy_patch(&f, &current, &offered) {
        Ok(p) => p,
        Err(bad) => {
            let words = bad.into_iter().map(|(k, code)| (k, v.t.w(&format!("field.{code}")).to_owned())).collect();
            let shown = refused(words);
            return resource_view(&state, &v, (user, &op), &id, Some(shown), StatusCode::UNPROCESSABLE_ENTITY).await;
        }
    };
    let req = UpdateResource {
        name_zh: Some(names.0.clone()),
        name_en: Some(names.1.clone()),
        description: Some(names.2.clone()),
        policy: patch,
    };
    match cat::update_resource(&state.svc, &r, &req).await {
        Ok(()) => see_other(&format!("/ops/{slug}/resources/{id}?done=saved")),
        Err(e) if e.code == Code::ValidationFailed => {
            let shown = refused(by_field(v.t, &e));
            resource_view(&state, &v, (user, &op), &id, Some(shown), StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(e) => v.fail(e),
    }
}

#[derive(Debug, Deserialize)]
struct UnitsForm {
    #[serde(default)]
    csrf: String,
    /// Labels, one per line or separated by commas.
    #[serde(default)]
    labels: String,
}

#[derive(Debug, Deserialize)]
struct ArchiveForm {
    #[serde(default)]
    csrf: String,
    /// `1` to archive, `0` to restore.
    #[serde(default)]
    archived: String,
}

signed_forms!(UnitsForm, ArchiveForm);

async fn add_units(
    State(state): State<AppState>,
    v: Visitor,
    Path((slug, id)): Path<(String, String)>,
    form: FormResult<UnitsForm>,
) -> Response {
    let (user, f) = or_answer!(signed_form(&v, form));
    let op = or_answer!(operator(&state, &v, user, &slug).await);
    let r = or_answer!(v, cat::operator_of_resource(&state.svc, &user.identity, &id).await);
    if r.row().space_id != op.space().id {
        return v.fail(ServiceError::not_found("resource"));
    }
    let labels: Vec<String> =
        f.labels.split(['\n', ',', '，']).map(str::trim).filter(|l| !l.is_empty()).map(str::to_owned).collect();
    let spec = UnitsSpec { labels: Some(labels), count: None, prefix: None };
    match cat::add_units(&state.svc, &r, &spec, state.clock.now_ms()).await {
        Ok(()) => see_other(&format!("/ops/{slug}/resources/{id}?done=units#units")),
        Err(e) if matches!(e.code, Code::ValidationFailed | Code::Conflict | Code::LabelTaken) => {
            let row = r.row();
            let policy = or_answer!(v, cat::stored_policy(row));
            let shown = ResourceState {
                names: (row.name_zh.clone(), row.name_en.clone(), row.description.clone()),
                values: policy_values(&policy),
                errors: HashMap::new(),
                unit_error: if e.code == Code::ValidationFailed {
                    field_errors_text(v.t, &e)
                } else {
                    e.message.clone()
                },
                done: "",
            };
            resource_view(&state, &v, (user, &op), &id, Some(shown), StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(e) => v.fail(e),
    }
}

async fn archive_resource(
    State(state): State<AppState>,
    v: Visitor,
    Path((slug, id)): Path<(String, String)>,
    form: FormResult<ArchiveForm>,
) -> Response {
    let (user, f) = or_answer!(signed_form(&v, form));
    let op = or_answer!(operator(&state, &v, user, &slug).await);
    let r = or_answer!(v, cat::operator_of_resource(&state.svc, &user.identity, &id).await);
    if r.row().space_id != op.space().id {
        return v.fail(ServiceError::not_found("resource"));
    }
    or_answer!(v, cat::archive_resource(&state.svc, &r, f.archived == "1", state.clock.now_ms()).await);
    see_other(&format!("/ops/{slug}/resources/{id}?done=saved"))
}

async fn retire_unit(
    State(state): State<AppState>,
    v: Visitor,
    Path((slug, id)): Path<(String, String)>,
    form: FormResult<CsrfForm>,
) -> Response {
    let (user, _) = or_answer!(signed_form(&v, form));
    let op = or_answer!(operator(&state, &v, user, &slug).await);
    let unit = or_answer!(v, cat::operator_of_unit(&state.svc, &user.identity, &id).await);
    if unit.op().space().id != op.space().id {
        return v.fail(ServiceError::not_found("unit"));
    }
    let resource = unit.row().resource_id.clone();
    or_answer!(v, cat::retire_unit(&state.svc, &unit, state.clock.now_ms()).await);
    see_other(&format!("/ops/{slug}/resources/{resource}?done=units#units"))
}
