//! The operator console's registers (`/ops/{slug}/registers`): what a kiosk cannot meter.
//! The area plan (parts with their floor area and use class), residents (organisations with
//! their agreement, dates, desks, rooms, founder and product; ended, never deleted), events
//! (in a booked place of the space, with attendance from event codes or entered by hand and
//! attested) and documents (uploaded as files, kept by SHA-256). Every change is a use case
//! of [`crate::service::registers`] and is appended to the ledger there.

use super::*;
use crate::domain::registers::{DocumentKind, EventKind, EventRole, UseClass};
use crate::service::powers::OperatorOf;
use crate::service::registers as reg;
use std::collections::HashMap;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/ops/{slug}/registers", get(registers_page))
        .route("/ops/{slug}/registers/area", post(add_area))
        .route("/ops/{slug}/registers/area/{id}/end", post(end_area))
        .route("/ops/{slug}/registers/residents", post(add_resident))
        .route("/ops/{slug}/registers/residents/{id}/end", post(end_resident))
        .route("/ops/{slug}/registers/events", post(add_event))
        .route("/ops/{slug}/registers/events/{id}/attendance", post(attendance))
        .route("/ops/{slug}/registers/events/{id}/cancel", post(cancel_event))
        .route(
            "/ops/{slug}/registers/documents",
            // A document of at most 5 MiB, and the form around it.
            post(add_document).layer(axum::extract::DefaultBodyLimit::max(6 * 1024 * 1024)),
        )
        .route("/ops/{slug}/registers/documents/{id}/withdraw", post(withdraw_document))
}

pub struct AreaLine {
    pub id: String,
    pub name: String,
    pub area: String,
    pub class: &'static str,
    pub resource: String,
    pub ended: bool,
}

pub struct ResidentLine {
    pub id: String,
    pub organisation: String,
    pub agreement: String,
    pub period: String,
    pub place: String,
    pub founder: String,
    pub product: String,
    pub ended: bool,
    /// The form values to end it: every field as recorded.
    pub starts_on: String,
    pub desks: i64,
    pub rooms: i64,
    pub area_m2: f64,
}

pub struct EventLine {
    pub id: String,
    pub when: String,
    pub topic: String,
    pub kind: &'static str,
    pub role: &'static str,
    pub checked_in: i64,
    pub entered: String,
    pub attested: bool,
    pub cancelled: bool,
}

pub struct DocumentLine {
    pub id: String,
    pub kind: &'static str,
    pub title: String,
    pub file: String,
    pub size: String,
    pub sha256: String,
    pub withdrawn: bool,
}

#[derive(Template)]
#[template(path = "ops_registers.html")]
struct RegistersPage {
    t: &'static Texts,
    nav: Nav,
    slug: String,
    space_name: String,
    tab: &'static str,
    area: Vec<AreaLine>,
    /// Floor area in use by class: (words, m², share).
    area_totals: Vec<(&'static str, String, String)>,
    residents: Vec<ResidentLine>,
    events: Vec<EventLine>,
    documents: Vec<DocumentLine>,
    /// (id, name) of the space's resources, for the area plan.
    resources: Vec<(String, String)>,
    /// (booking id, what and when) of the operator's own bookings ahead: the places an event
    /// can be held in.
    places: Vec<(String, String)>,
    /// (id, words) of the residencies, for a document's owner.
    residencies: Vec<(String, String)>,
    use_classes: Vec<(&'static str, &'static str)>,
    event_kinds: Vec<(&'static str, &'static str)>,
    event_roles: Vec<(&'static str, &'static str)>,
    document_kinds: Vec<(&'static str, &'static str)>,
    /// The part a refusal is about (`area`, `residents`, `events`, `documents`) and its words.
    error_of: &'static str,
    error: String,
    done: String,
    /// What was typed in the refused form, by `part.field`, shown again.
    typed: HashMap<String, String>,
}

impl RegistersPage {
    fn typed(&self, key: &str) -> String {
        self.typed.get(key).cloned().unwrap_or_default()
    }

    fn is(&self, key: &str, value: &str) -> bool {
        self.typed.get(key).is_some_and(|v| v == value)
    }
}

fn word_of(t: &Texts, prefix: &str, value: &str) -> &'static str {
    t.w(&format!("{prefix}.{value}"))
}

/// The page, saying what was done or what is wrong with the form of one part.
async fn registers_view(
    state: &AppState,
    v: &Visitor,
    user: &SignedIn,
    op: &OperatorOf,
    (done, error_of, error, typed): (&str, &'static str, String, HashMap<String, String>),
) -> Response {
    let t = v.t;
    let space = op.space();
    let zone = Zone::parse("timezone", &space.timezone).unwrap_or_default();
    let now = state.clock.now_ms();
    let Some(reader) = user.identity.reader_of(space.clone()) else {
        return v.fail(ServiceError::forbidden("operators read their registers"));
    };
    let resources_rows = or_answer!(v, state.svc.db.resources_of(&space.id).await.map_err(ServiceError::from));
    let resource_name =
        |id: &str| resources_rows.iter().find(|r| r.id.as_str() == id).map(|r| name_of(t, &r.name_zh, &r.name_en));
    let parts = or_answer!(v, reg::area_plan(&state.svc, &reader).await);
    let mut totals: HashMap<String, f64> = HashMap::new();
    for p in parts.iter().filter(|p| p.ended_at.is_none()) {
        *totals.entry(p.use_class.clone()).or_default() += p.area_m2;
    }
    let all: f64 = totals.values().sum();
    let area_totals = UseClass::ALL
        .iter()
        .map(|c| {
            let m2 = totals.get(c.as_str()).copied().unwrap_or(0.0);
            let share = if all > 0.0 { format!("{:.1} %", m2 / all * 100.0) } else { "—".into() };
            (word_of(t, "use", c.as_str()), format!("{m2:.1}"), share)
        })
        .collect();
    let area = parts
        .iter()
        .map(|p| AreaLine {
            id: p.id.clone(),
            name: p.name.clone(),
            area: format!("{:.1}", p.area_m2),
            class: word_of(t, "use", &p.use_class),
            resource: p.resource_id.as_deref().and_then(resource_name).unwrap_or_default(),
            ended: p.ended_at.is_some(),
        })
        .collect();
    let rows = or_answer!(v, reg::residencies(&state.svc, &reader).await);
    let mut residents = Vec::new();
    let mut residencies = Vec::new();
    for r in &rows {
        let org = match state.svc.db.organisation(&r.organisation_id).await {
            Ok(o) => o.name,
            Err(_) => r.organisation_id.clone(),
        };
        residencies.push((r.id.clone(), format!("{org} · {}", r.agreement_ref)));
        residents.push(ResidentLine {
            id: r.id.clone(),
            organisation: org,
            agreement: r.agreement_ref.clone(),
            period: format!(
                "{} – {}",
                r.starts_on,
                r.ends_on.clone().unwrap_or_else(|| t.w("reg_open_ended").to_owned())
            ),
            place: format!("{} {} · {} {} · {:.1} m²", r.desks, t.w("reg_desks"), r.rooms, t.w("reg_rooms"), r.area_m2),
            founder: r.founder.clone(),
            product: r.product.clone(),
            ended: r.ends_on.is_some(),
            starts_on: r.starts_on.clone(),
            desks: r.desks,
            rooms: r.rooms,
            area_m2: r.area_m2,
        });
    }
    let events = or_answer!(v, reg::events(&state.svc, &reader).await)
        .iter()
        .map(|e| EventLine {
            id: e.id.clone(),
            when: span_text(t, zone, e.starts_at, e.ends_at),
            topic: e.topic.clone(),
            kind: word_of(t, "event", &e.kind),
            role: word_of(t, "role", &e.role),
            checked_in: e.checked_in,
            entered: e.attendance_entered.map(|n| n.to_string()).unwrap_or_default(),
            attested: e.attested_at.is_some(),
            cancelled: e.cancelled_at.is_some(),
        })
        .collect();
    let documents = or_answer!(v, reg::documents(&state.svc, &reader).await)
        .iter()
        .map(|d| DocumentLine {
            id: d.id.clone(),
            kind: word_of(t, "doc", &d.kind),
            title: d.title.clone(),
            file: d.file_name.clone(),
            size: format!("{} KB", (d.size_bytes + 1023) / 1024),
            sha256: d.sha256.clone(),
            withdrawn: d.withdrawn_at.is_some(),
        })
        .collect();
    // The places: the operator's own bookings in the space over the next 60 days.
    let today = utc_to_local(zone.tz(), now).date_naive();
    let q = booking::SpaceBookingsQuery {
        date: None,
        from: Some(today.format("%Y-%m-%d").to_string()),
        to: Some((today + chrono::Duration::days(60)).format("%Y-%m-%d").to_string()),
        unit: None,
        status: None,
    };
    // A space too busy to list (more bookings than one list holds) offers no places here; the
    // event can still be recorded through the API with its booking's id.
    let ahead = match booking::of_space(&state.svc, &reader, &q, now).await {
        Ok(rows) => rows,
        Err(e) if e.code == Code::ValidationFailed => Vec::new(),
        Err(e) => return v.fail(e),
    };
    let places = ahead
        .iter()
        .filter(|b| &b.account_id == user.identity.id() && b.ends_at > now)
        .filter(|b| matches!(b.status, BookingStatus::Confirmed | BookingStatus::Pending))
        .map(|b| {
            (b.id.to_string(), format!("{} · {}", booking_title(t, b), span_text(t, zone, b.starts_at, b.ends_at)))
        })
        .collect();
    let choices = |prefix: &str, all: Vec<&'static str>| -> Vec<(&'static str, &'static str)> {
        all.into_iter().map(|c| (c, word_of(t, prefix, c))).collect()
    };
    let p = RegistersPage {
        t,
        nav: v.nav(),
        slug: space.slug.clone(),
        space_name: name_of(t, &space.name_zh, &space.name_en),
        tab: "registers",
        area,
        area_totals,
        residents,
        events,
        documents,
        resources: resources_rows
            .iter()
            .filter(|r| r.archived_at.is_none())
            .map(|r| (r.id.to_string(), name_of(t, &r.name_zh, &r.name_en)))
            .collect(),
        places,
        residencies,
        use_classes: choices("use", UseClass::ALL.iter().map(|c| c.as_str()).collect()),
        event_kinds: choices("event", EventKind::ALL.iter().map(|c| c.as_str()).collect()),
        event_roles: choices("role", EventRole::ALL.iter().map(|c| c.as_str()).collect()),
        document_kinds: choices("doc", DocumentKind::ALL.iter().map(|c| c.as_str()).collect()),
        error_of,
        error,
        typed,
        done: if done.is_empty() { String::new() } else { t.w(&format!("reg_done.{done}")).to_owned() },
    };
    let status = if p.error.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
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

const DONE: [&str; 9] = [
    "area",
    "area_ended",
    "resident",
    "resident_ended",
    "event",
    "attendance",
    "event_cancelled",
    "document",
    "document_withdrawn",
];

async fn registers_page(State(state): State<AppState>, v: Visitor, Path(slug): Path<String>, uri: Uri) -> Response {
    let user = or_answer!(v.require());
    let q: DoneQuery = or_answer!(query(&v, &uri));
    let op = or_answer!(operator(&state, &v, user, &slug).await);
    let done = q.done.as_deref().filter(|d| DONE.contains(d)).unwrap_or_default();
    registers_view(&state, &v, user, &op, (done, "", String::new(), HashMap::new())).await
}

fn back(slug: &str, done: &str, anchor: &str) -> Response {
    see_other(&format!("/ops/{slug}/registers?done={done}#{anchor}"))
}

/// After a change: back to the page, or the page again with what is wrong.
async fn answer<T>(
    state: &AppState,
    v: &Visitor,
    user: &SignedIn,
    op: &OperatorOf,
    result: ServiceResult<T>,
    (done, part, typed): (&str, &'static str, HashMap<String, String>),
) -> Response {
    match result {
        Ok(_) => back(&op.space().slug, done, part),
        Err(e) if e.code == Code::ValidationFailed || e.code == Code::Conflict => {
            let words = if e.code == Code::ValidationFailed { field_errors_text(v.t, &e) } else { e.message.clone() };
            registers_view(state, v, user, op, ("", part, words, typed)).await
        }
        Err(e) => v.fail(e),
    }
}

type ServiceResult<T> = crate::service::ServiceResult<T>;

#[derive(Debug, Deserialize)]
struct AreaForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    area_m2: String,
    #[serde(default)]
    use_class: String,
    #[serde(default)]
    resource: String,
}

#[derive(Debug, Deserialize)]
struct ResidentForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    organisation: String,
    #[serde(default)]
    agreement_ref: String,
    #[serde(default)]
    starts_on: String,
    #[serde(default)]
    ends_on: String,
    #[serde(default)]
    desks: String,
    #[serde(default)]
    rooms: String,
    #[serde(default)]
    area_m2: String,
    #[serde(default)]
    founder: String,
    #[serde(default)]
    product: String,
}

#[derive(Debug, Deserialize)]
struct EventForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    topic: String,
    #[serde(default)]
    booking: String,
}

#[derive(Debug, Deserialize)]
struct AttendanceForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    count: String,
    #[serde(default)]
    attested: Option<String>,
}

signed_forms!(AreaForm, ResidentForm, EventForm, AttendanceForm);

/// A number typed in a form: empty is `default`; text that is not a number is a field error.
fn number<T: std::str::FromStr>(field: &str, raw: &str, default: T) -> Result<T, ServiceError> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(default);
    }
    raw.parse().map_err(|_| ServiceError::invalid_field(field, "invalid", "must be a number"))
}

async fn add_area(
    State(state): State<AppState>,
    v: Visitor,
    Path(slug): Path<String>,
    form: FormResult<AreaForm>,
) -> Response {
    let (user, f) = or_answer!(signed_form(&v, form));
    let op = or_answer!(operator(&state, &v, user, &slug).await);
    let typed = HashMap::from(
        [
            ("area.name", f.name.clone()),
            ("area.area_m2", f.area_m2.clone()),
            ("area.use_class", f.use_class.clone()),
            ("area.resource", f.resource.clone()),
        ]
        .map(|(k, v): (&str, String)| (k.to_owned(), v)),
    );
    let result = match number("area_m2", &f.area_m2, -1.0) {
        Err(e) => Err(e),
        Ok(area_m2) => {
            let req = reg::NewAreaPart {
                name: f.name,
                area_m2,
                use_class: f.use_class,
                resource: Some(f.resource).filter(|r| !r.is_empty()),
            };
            reg::add_area_part(&state.svc, &op, &req, state.clock.now_ms()).await
        }
    };
    answer(&state, &v, user, &op, result, ("area", "area", typed)).await
}

async fn end_area(
    State(state): State<AppState>,
    v: Visitor,
    Path((slug, id)): Path<(String, String)>,
    form: FormResult<CsrfForm>,
) -> Response {
    let (user, _) = or_answer!(signed_form(&v, form));
    let op = or_answer!(operator(&state, &v, user, &slug).await);
    or_answer!(v, reg::of_space(&state.svc, &op, reg::RegisterRow::AreaPart, &id).await);
    let result = reg::end_area_part(&state.svc, &user.identity, &id, state.clock.now_ms()).await;
    answer(&state, &v, user, &op, result, ("area_ended", "area", HashMap::new())).await
}

fn residency_input(f: &ResidentForm) -> Result<reg::ResidencyInput, ServiceError> {
    Ok(reg::ResidencyInput {
        organisation: Some(f.organisation.trim().to_owned()).filter(|o| !o.is_empty()),
        agreement_ref: f.agreement_ref.clone(),
        starts_on: f.starts_on.trim().to_owned(),
        ends_on: Some(f.ends_on.trim().to_owned()).filter(|e| !e.is_empty()),
        desks: number("desks", &f.desks, 0)?,
        rooms: number("rooms", &f.rooms, 0)?,
        area_m2: number("area_m2", &f.area_m2, 0.0)?,
        founder: f.founder.clone(),
        product: f.product.clone(),
    })
}

async fn add_resident(
    State(state): State<AppState>,
    v: Visitor,
    Path(slug): Path<String>,
    form: FormResult<ResidentForm>,
) -> Response {
    let (user, f) = or_answer!(signed_form(&v, form));
    let op = or_answer!(operator(&state, &v, user, &slug).await);
    let typed = HashMap::from(
        [
            ("res.organisation", f.organisation.clone()),
            ("res.agreement_ref", f.agreement_ref.clone()),
            ("res.starts_on", f.starts_on.clone()),
            ("res.ends_on", f.ends_on.clone()),
            ("res.desks", f.desks.clone()),
            ("res.rooms", f.rooms.clone()),
            ("res.area_m2", f.area_m2.clone()),
            ("res.founder", f.founder.clone()),
            ("res.product", f.product.clone()),
        ]
        .map(|(k, v): (&str, String)| (k.to_owned(), v)),
    );
    let result = match residency_input(&f) {
        Err(e) => Err(e),
        Ok(req) => reg::record_residency(&state.svc, &op, &req, state.clock.now_ms()).await,
    };
    answer(&state, &v, user, &op, result, ("resident", "residents", typed)).await
}

/// Ends a residency on a date: the same record with its last date (never deleted).
async fn end_resident(
    State(state): State<AppState>,
    v: Visitor,
    Path((slug, id)): Path<(String, String)>,
    form: FormResult<ResidentForm>,
) -> Response {
    let (user, f) = or_answer!(signed_form(&v, form));
    let op = or_answer!(operator(&state, &v, user, &slug).await);
    or_answer!(v, reg::of_space(&state.svc, &op, reg::RegisterRow::Residency, &id).await);
    let result = match residency_input(&ResidentForm { organisation: String::new(), ..f }) {
        Err(e) => Err(e),
        Ok(req) => reg::change_residency(&state.svc, &user.identity, &id, &req, state.clock.now_ms()).await,
    };
    answer(&state, &v, user, &op, result, ("resident_ended", "residents", HashMap::new())).await
}

async fn add_event(
    State(state): State<AppState>,
    v: Visitor,
    Path(slug): Path<String>,
    form: FormResult<EventForm>,
) -> Response {
    let (user, f) = or_answer!(signed_form(&v, form));
    let op = or_answer!(operator(&state, &v, user, &slug).await);
    let typed = HashMap::from(
        [
            ("event.kind", f.kind.clone()),
            ("event.role", f.role.clone()),
            ("event.topic", f.topic.clone()),
            ("event.booking", f.booking.clone()),
        ]
        .map(|(k, v): (&str, String)| (k.to_owned(), v)),
    );
    let req = reg::NewEvent { kind: f.kind, role: f.role, topic: f.topic, booking: f.booking };
    let result = reg::create_event(&state.svc, &op, &req, state.clock.now_ms()).await;
    answer(&state, &v, user, &op, result, ("event", "events", typed)).await
}

async fn attendance(
    State(state): State<AppState>,
    v: Visitor,
    Path((slug, id)): Path<(String, String)>,
    form: FormResult<AttendanceForm>,
) -> Response {
    let (user, f) = or_answer!(signed_form(&v, form));
    let op = or_answer!(operator(&state, &v, user, &slug).await);
    or_answer!(v, reg::of_space(&state.svc, &op, reg::RegisterRow::Event, &id).await);
    let result = match number("count", &f.count, -1) {
        Err(e) => Err(e),
        Ok(count) => {
            let req = reg::Attendance { count, attested: f.attested.is_some_and(|a| !a.is_empty()) };
            reg::enter_attendance(&state.svc, &user.identity, &id, &req, state.clock.now_ms()).await
        }
    };
    answer(&state, &v, user, &op, result, ("attendance", "events", HashMap::new())).await
}

async fn cancel_event(
    State(state): State<AppState>,
    v: Visitor,
    Path((slug, id)): Path<(String, String)>,
    form: FormResult<CsrfForm>,
) -> Response {
    let (user, _) = or_answer!(signed_form(&v, form));
    let op = or_answer!(operator(&state, &v, user, &slug).await);
    or_answer!(v, reg::of_space(&state.svc, &op, reg::RegisterRow::Event, &id).await);
    let result = reg::cancel_event(&state.svc, &user.identity, &id, state.clock.now_ms()).await;
    answer(&state, &v, user, &op, result, ("event_cancelled", "events", HashMap::new())).await
}

/// A document, uploaded as a file (`multipart/form-data`): its kind, title, residency and
/// the file. The form token is one of its parts.
async fn add_document(
    State(state): State<AppState>,
    v: Visitor,
    Path(slug): Path<String>,
    multipart: Result<axum::extract::Multipart, axum::extract::multipart::MultipartRejection>,
) -> Response {
    let Ok(mut parts) = multipart else { return unreadable(v.t) };
    let mut fields: HashMap<String, String> = HashMap::new();
    let mut file: Option<(String, String, Vec<u8>)> = None;
    loop {
        match parts.next_field().await {
            Ok(Some(field)) => {
                let name = field.name().unwrap_or_default().to_owned();
                if name == "file" {
                    let file_name = field.file_name().unwrap_or("document").to_owned();
                    let content_type = field.content_type().unwrap_or("application/octet-stream").to_owned();
                    match field.bytes().await {
                        Ok(b) => file = Some((file_name, content_type, b.to_vec())),
                        Err(_) => return v.fail(ServiceError::invalid_field("file", "too_large", "at most 5 MiB")),
                    }
                } else {
                    let Ok(text) = field.text().await else { return unreadable(v.t) };
                    fields.insert(name, text);
                }
            }
            Ok(None) => break,
            Err(_) => return v.fail(ServiceError::invalid_field("file", "too_large", "at most 5 MiB")),
        }
    }
    let user = or_answer!(v.check_form(fields.get("csrf").map_or("", String::as_str)));
    let op = or_answer!(operator(&state, &v, user, &slug).await);
    let get = |k: &str| fields.get(k).cloned().unwrap_or_default();
    let typed = HashMap::from(["kind", "title", "residency"].map(|k| (format!("doc.{k}"), get(k))));
    let result = match file.filter(|(_, _, b)| !b.is_empty()) {
        None => Err(ServiceError::invalid_field("file", "required", "choose a file")),
        Some((file_name, content_type, bytes)) => {
            use base64::Engine;
            let req = reg::NewDocument {
                kind: get("kind"),
                title: get("title"),
                file_name,
                content_type,
                content_base64: base64::engine::general_purpose::STANDARD.encode(bytes),
                residency: Some(get("residency")).filter(|r| !r.is_empty()),
            };
            reg::attach_document(&state.svc, &op, &req, state.clock.now_ms()).await
        }
    };
    answer(&state, &v, user, &op, result, ("document", "documents", typed)).await
}

async fn withdraw_document(
    State(state): State<AppState>,
    v: Visitor,
    Path((slug, id)): Path<(String, String)>,
    form: FormResult<CsrfForm>,
) -> Response {
    let (user, _) = or_answer!(signed_form(&v, form));
    let op = or_answer!(operator(&state, &v, user, &slug).await);
    or_answer!(v, reg::of_space(&state.svc, &op, reg::RegisterRow::Document, &id).await);
    let result = reg::withdraw_document(&state.svc, &user.identity, &id, state.clock.now_ms()).await;
    answer(&state, &v, user, &op, result, ("document_withdrawn", "documents", HashMap::new())).await
}
