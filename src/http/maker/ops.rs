//! The operator console (`/ops`): the spaces I run; a space's day, every unit by hour with
//! its bookings, who is checked in, no-shows and overstays, updated as scans happen (the
//! page polls itself, `ops.js`; without JavaScript, a refresh link); a booking with its
//! maker and sessions, checked in or out by hand, cancelled, approved or declined with a
//! reason, and moved; the approvals queue and the waitlist. Desktop and tablet first, and
//! usable on a phone. Every change is a use case of the service layer, the same the API
//! calls.

use super::*;
use crate::service::console::{self, BoardBooking, DayBoard};
use crate::service::powers::OperatorOf;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/ops", get(home))
        .route("/ops/", get(home))
        .route("/ops/ops.js", get(script))
        .route("/ops/{slug}", get(today))
        .route("/ops/{slug}/approvals", get(approvals))
        .route("/ops/{slug}/bookings/{id}", get(booking))
        .route("/ops/{slug}/bookings/{id}/{action}", post(act))
}

const OPS_JS: &str = include_str!("../../../ops/ops.js");

async fn script() -> Response {
    ([(header::CONTENT_TYPE, "text/javascript; charset=utf-8")], OPS_JS).into_response()
}

// ---------- the spaces I run ----------

#[derive(Template)]
#[template(path = "ops_home.html")]
struct HomePage {
    t: &'static Texts,
    nav: Nav,
    /// (name, slug, time zone).
    spaces: Vec<(String, String, String)>,
}

async fn home(State(state): State<AppState>, v: Visitor) -> Response {
    let user = or_answer!(v.require());
    let spaces = or_answer!(v, console::operated(&state.svc, &user.identity).await);
    if let [only] = spaces.as_slice() {
        return see_other(&format!("/ops/{}", only.slug));
    }
    let t = v.t;
    let spaces =
        spaces.iter().map(|s| (name_of(t, &s.name_zh, &s.name_en), s.slug.clone(), s.timezone.clone())).collect();
    page(t, StatusCode::OK, &HomePage { t, nav: v.nav(), spaces })
}

// ---------- the day ----------

/// A booking drawn on a unit's lane: its place in percent of the lane's hours.
pub struct Block {
    pub left: String,
    pub width: String,
    pub class: &'static str,
    pub text: String,
    pub title: String,
    pub href: String,
}

pub struct Lane {
    pub label: String,
    pub resource: String,
    pub blocks: Vec<Block>,
}

/// A line of the day's list, and of the lists of who is in, no-shows and overstays.
pub struct Line {
    pub href: String,
    pub when: String,
    pub unit: String,
    pub maker: String,
    pub status: String,
    pub class: &'static str,
}

#[derive(Template)]
#[template(path = "ops_today.html")]
struct TodayPage {
    t: &'static Texts,
    nav: Nav,
    slug: String,
    space_name: String,
    tab: &'static str,
    day: String,
    date: String,
    prev: String,
    next: String,
    is_today: bool,
    stamp: String,
    /// (left %, label) of each hour shown.
    hours: Vec<(String, String)>,
    now_at: Option<String>,
    lanes: Vec<Lane>,
    lines: Vec<Line>,
    checked_in: Vec<Line>,
    no_shows: Vec<Line>,
    overstays: Vec<Line>,
    walk_ups: Vec<Line>,
    withdrawn: Vec<Line>,
    pending: usize,
}

#[derive(Debug, Default, Deserialize)]
struct DayQuery {
    #[serde(default)]
    date: Option<String>,
    #[serde(default)]
    #[allow(dead_code)]
    lang: Option<String>,
}

fn class_of(b: &BoardBooking) -> &'static str {
    state_class(b.booking.status, b.overstaying)
}

/// The class a booking's state is drawn with.
fn state_class(status: BookingStatus, overstaying: bool) -> &'static str {
    if overstaying {
        return "overstay";
    }
    match status {
        BookingStatus::Pending => "pending",
        BookingStatus::Confirmed => "confirmed",
        BookingStatus::CheckedIn => "in",
        BookingStatus::Completed => "done",
        BookingStatus::NoShow => "noshow",
        BookingStatus::Cancelled | BookingStatus::Declined => "withdrawn",
    }
}

fn maker_text(m: &console::Maker) -> String {
    if m.name.is_empty() { m.email.clone() } else { m.name.clone() }
}

/// The lanes' hours: 08:00 to 22:00 local, widened to whatever the day holds.
fn shown_hours(board: &DayBoard) -> (u32, u32) {
    let tz = board.zone.tz();
    let mut lo = 8u32;
    let mut hi = 22u32;
    let mut widen = |a: i64, b: i64| {
        let a = a.clamp(board.from, board.to);
        let b = b.clamp(board.from, board.to);
        if a >= b {
            return;
        }
        let la = utc_to_local(tz, a);
        lo = lo.min(if la.date_naive() == board.date { la.hour() } else { 0 });
        let lb = utc_to_local(tz, b - 1);
        hi = hi.max(if lb.date_naive() == board.date { lb.hour() + 1 } else { 24 });
    };
    for u in &board.units {
        for b in &u.bookings {
            widen(b.booking.starts_at, b.booking.ends_at);
        }
        for (s, _) in &u.walk_ups {
            widen(s.started_at, s.ended_at.unwrap_or(board.to));
        }
    }
    (lo, hi)
}

/// The instant of local hour `h` of the board's day (24 is the next midnight).
fn hour_instant(board: &DayBoard, h: u32) -> i64 {
    if h >= 24 {
        return board.to;
    }
    let at = board.date.and_hms_opt(h, 0, 0).unwrap_or_default();
    crate::domain::calendar::local_to_utc(board.zone.tz(), at).clamp(board.from, board.to)
}

fn percent(x: f64) -> String {
    format!("{:.2}", x.clamp(0.0, 100.0))
}

fn today_view(t: &'static Texts, v: &Visitor, board: &DayBoard, pending: usize, now: i64) -> TodayPage {
    let zone = board.zone;
    let (lo, hi) = shown_hours(board);
    let (w0, w1) = (hour_instant(board, lo), hour_instant(board, hi));
    let span = (w1 - w0).max(1) as f64;
    let at = |x: i64| (x.clamp(w0, w1) - w0) as f64 / span * 100.0;
    let slug = &board.space.slug;
    let hours = (lo..=hi).map(|h| (percent(at(hour_instant(board, h))), format!("{h:02}"))).collect();
    let now_at = (now >= w0 && now < w1).then(|| percent(at(now)));
    let href = |b: &BoardBooking| format!("/ops/{slug}/bookings/{}", b.booking.id);
    let line = |b: &BoardBooking| Line {
        href: href(b),
        when: span_text(t, zone, b.booking.starts_at, b.booking.ends_at),
        unit: booking_title(t, &b.booking),
        maker: maker_text(&b.maker),
        status: if b.overstaying { t.w("ops_overstaying").to_owned() } else { status_text(t, b.booking.status) },
        class: class_of(b),
    };
    let mut lanes = Vec::new();
    let mut walk_ups = Vec::new();
    for u in &board.units {
        let mut blocks: Vec<Block> = u
            .bookings
            .iter()
            .map(|b| {
                let (l, r) = (at(b.booking.starts_at), at(b.booking.ends_at));
                Block {
                    left: percent(l),
                    width: percent((r - l).max(0.8)),
                    class: class_of(b),
                    text: maker_text(&b.maker),
                    title: format!(
                        "{} · {} · {}",
                        span_text(t, zone, b.booking.starts_at, b.booking.ends_at),
                        maker_text(&b.maker),
                        status_text(t, b.booking.status)
                    ),
                    href: href(b),
                }
            })
            .collect();
        for (s, m) in &u.walk_ups {
            let end = s.ended_at.unwrap_or(now.max(s.started_at + MINUTE_MS));
            let (l, r) = (at(s.started_at), at(end));
            blocks.push(Block {
                left: percent(l),
                width: percent((r - l).max(0.8)),
                class: if s.ended_at.is_none() { "in walkup" } else { "done walkup" },
                text: maker_text(m),
                title: format!("{} · {}", t.w("ops_walk_up"), maker_text(m)),
                href: String::new(),
            });
            walk_ups.push(Line {
                href: String::new(),
                when: match s.ended_at {
                    Some(e) => span_text(t, zone, s.started_at, e),
                    None => format!("{} {}–", day_label(t, board.date), hh_mm(zone, s.started_at)),
                },
                unit: format!("{} · {}", name_of(t, &u.resource_name_zh, &u.resource_name_en), u.label),
                maker: maker_text(m),
                status: t.w(if s.ended_at.is_none() { "status.checked_in" } else { "status.completed" }).to_owned(),
                class: if s.ended_at.is_none() { "in" } else { "done" },
            });
        }
        lanes.push(Lane {
            label: u.label.clone(),
            resource: name_of(t, &u.resource_name_zh, &u.resource_name_en),
            blocks,
        });
    }
    let mut all: Vec<&BoardBooking> = board.bookings().collect();
    all.sort_by_key(|b| (b.booking.starts_at, b.booking.unit_label.clone()));
    let lines = all.iter().map(|b| line(b)).collect();
    let checked_in = all
        .iter()
        .filter(|b| b.booking.status == BookingStatus::CheckedIn && !b.overstaying)
        .map(|b| line(b))
        .collect();
    let overstays = all.iter().filter(|b| b.overstaying).map(|b| line(b)).collect();
    let no_shows = all.iter().filter(|b| b.booking.status == BookingStatus::NoShow).map(|b| line(b)).collect();
    let withdrawn = board.withdrawn.iter().map(line).collect();
    let today = utc_to_local(zone.tz(), now).date_naive();
    let fmt = |d: chrono::NaiveDate| d.format("%Y-%m-%d").to_string();
    TodayPage {
        t,
        nav: v.nav(),
        slug: slug.clone(),
        space_name: name_of(t, &board.space.name_zh, &board.space.name_en),
        tab: "today",
        day: day_label(t, board.date),
        date: fmt(board.date),
        prev: fmt(board.date.pred_opt().unwrap_or(board.date)),
        next: fmt(board.date.succ_opt().unwrap_or(board.date)),
        is_today: board.date == today,
        stamp: format!("{} ({})", hh_mm(zone, now), board.space.timezone),
        hours,
        now_at,
        lanes,
        lines,
        checked_in,
        no_shows,
        overstays,
        walk_ups,
        withdrawn,
        pending,
    }
}

async fn today(State(state): State<AppState>, v: Visitor, Path(slug): Path<String>, uri: Uri) -> Response {
    let user = or_answer!(v.require());
    let q: DayQuery = or_answer!(query(&v, &uri));
    let op = or_answer!(operator(&state, &v, user, &slug).await);
    let now = state.clock.now_ms();
    let reader = or_answer!(
        user.identity.reader_of(op.space().clone()).ok_or_else(|| v.fail(ServiceError::forbidden("operators read")))
    );
    let board = or_answer!(v, console::day_board(&state.svc, &reader, q.date.as_deref(), now).await);
    let pending = or_answer!(v, console::pending(&state.svc, &op).await).len();
    page(v.t, StatusCode::OK, &today_view(v.t, &v, &board, pending, now))
}

// ---------- a booking ----------

pub struct SessionLine {
    pub when: String,
    pub how: String,
    pub note: String,
    pub overstay: String,
}

#[derive(Template)]
#[template(path = "ops_booking.html")]
struct BookingPage {
    t: &'static Texts,
    nav: Nav,
    slug: String,
    space_name: String,
    tab: &'static str,
    id: String,
    title: String,
    when: String,
    date: String,
    status: String,
    class: &'static str,
    maker: String,
    email: String,
    verified: bool,
    purpose: String,
    decided: String,
    cancelled: String,
    sessions: Vec<SessionLine>,
    pending: bool,
    can_check_in: bool,
    can_check_out: bool,
    live: bool,
    series: bool,
    movable: bool,
    /// The move form's fields: local date, time, minutes, and the units (id, label, chosen).
    move_date: String,
    move_time: String,
    move_minutes: i64,
    units: Vec<(String, String, bool)>,
    done: String,
    error: String,
}

#[derive(Debug, Default, Deserialize)]
struct BookingQuery {
    #[serde(default)]
    done: Option<String>,
    #[serde(default)]
    #[allow(dead_code)]
    lang: Option<String>,
}

fn how_text(t: &Texts, how: crate::domain::checkin::SessionOrigin) -> String {
    t.w(&format!("origin.{}", how.as_str())).to_owned()
}

async fn booking_view(
    state: &AppState,
    v: &Visitor,
    op: &OperatorOf,
    id: &str,
    done: &str,
    error: String,
    status: StatusCode,
) -> Response {
    let t = v.t;
    let (b, maker, sessions) = or_answer!(v, console::booking_of_space(&state.svc, op, id).await);
    let zone = Zone::parse("timezone", &b.timezone).unwrap_or_default();
    let now = state.clock.now_ms();
    let units = or_answer!(v, state.svc.db.units_of(&b.resource_id).await.map_err(ServiceError::from));
    let local = utc_to_local(zone.tz(), b.starts_at);
    let who = |id: &Option<String>, at: Option<i64>, why: &Option<String>| -> String {
        match at {
            None => String::new(),
            Some(at) => {
                let why = why.clone().unwrap_or_default();
                let by = id.as_deref().map(|i| if i == maker.id.as_str() { maker_text(&maker) } else { String::new() });
                let mut s = day_time(t, zone, at);
                if let Some(by) = by.filter(|x| !x.is_empty()) {
                    s.push_str(&format!(" · {by}"));
                }
                if !why.is_empty() {
                    s.push_str(&format!(" · {why}"));
                }
                s
            }
        }
    };
    let sessions = sessions
        .iter()
        .map(|s| SessionLine {
            when: match s.ended_at {
                Some(e) => span_text(t, zone, s.started_at, e),
                None => format!("{}–", day_time(t, zone, s.started_at)),
            },
            how: match s.closed_by {
                Some(c) => format!("{} → {}", how_text(t, s.opened_by), how_text(t, c)),
                None => how_text(t, s.opened_by),
            },
            note: s.note.clone().unwrap_or_default(),
            overstay: if s.overstay_ms > 0 { minutes_text(t, s.overstay_ms / MINUTE_MS) } else { String::new() },
        })
        .collect();
    let overstaying = b.status == BookingStatus::CheckedIn && now > b.ends_at;
    let p = BookingPage {
        t,
        nav: v.nav(),
        slug: op.space().slug.clone(),
        space_name: name_of(t, &op.space().name_zh, &op.space().name_en),
        tab: "",
        id: b.id.to_string(),
        title: booking_title(t, &b),
        when: span_text(t, zone, b.starts_at, b.ends_at),
        date: local.date_naive().format("%Y-%m-%d").to_string(),
        status: if overstaying { t.w("ops_overstaying").to_owned() } else { status_text(t, b.status) },
        class: state_class(b.status, overstaying),
        maker: maker_text(&maker),
        email: maker.email.clone(),
        verified: maker.verified,
        purpose: b.purpose.clone(),
        decided: who(&b.decided_by, b.decided_at, &b.decision_reason),
        cancelled: who(&b.cancelled_by, b.cancelled_at, &b.cancel_reason),
        sessions,
        pending: b.status == BookingStatus::Pending,
        can_check_in: matches!(b.status, BookingStatus::Confirmed | BookingStatus::NoShow),
        can_check_out: b.status == BookingStatus::CheckedIn,
        live: b.status.is_live(),
        series: b.series_id.is_some(),
        movable: b.status.is_live() && b.status != BookingStatus::CheckedIn,
        move_date: local.date_naive().format("%Y-%m-%d").to_string(),
        move_time: format!("{:02}:{:02}", local.hour(), local.minute()),
        move_minutes: (b.ends_at - b.starts_at) / MINUTE_MS,
        units: units
            .iter()
            .filter(|u| u.retired_at.is_none())
            .map(|u| (u.id.to_string(), u.label.clone(), u.id == b.unit_id))
            .collect(),
        done: if done.is_empty() { String::new() } else { t.w(&format!("ops_done.{done}")).to_owned() },
        error,
    };
    page(t, status, &p)
}

async fn booking(
    State(state): State<AppState>,
    v: Visitor,
    Path((slug, id)): Path<(String, String)>,
    uri: Uri,
) -> Response {
    let user = or_answer!(v.require());
    let q: BookingQuery = or_answer!(query(&v, &uri));
    let op = or_answer!(operator(&state, &v, user, &slug).await);
    booking_view(&state, &v, &op, &id, q.done.as_deref().unwrap_or(""), String::new(), StatusCode::OK).await
}

#[derive(Debug, Deserialize)]
struct ActForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    scope: Option<String>,
    /// Where to go back to: `approvals`, or the booking's page.
    #[serde(default)]
    back: Option<String>,
    #[serde(default)]
    date: String,
    #[serde(default)]
    time: String,
    #[serde(default)]
    minutes: Option<i64>,
    #[serde(default)]
    unit: Option<String>,
}
signed_forms!(ActForm);

/// What a refused change says, in the reader's words.
fn refusal_text(t: &Texts, e: &ServiceError) -> String {
    let key = format!("ops_refused.{}", e.code.as_str());
    match e.code {
        Code::ValidationFailed => field_errors_text(t, e),
        Code::PolicyViolation => {
            violations(t, e, None).into_iter().map(|p| p.text).collect::<Vec<_>>().join(if t.zh { "；" } else { "; " })
        }
        _ if super::super::words::has(&key) => t.w(&key).to_owned(),
        _ => e.message.clone(),
    }
}

/// The move form's local date, time and length as instants, or the fields that are wrong.
fn move_span(zone: Zone, f: &ActForm) -> Result<(i64, i64), ServiceError> {
    let mut errors = crate::domain::ValidationErrors::default();
    let date = errors.take(crate::domain::calendar::parse_date("date", f.date.trim()));
    let time = match chrono::NaiveTime::parse_from_str(f.time.trim(), "%H:%M") {
        Ok(t) => Some(t),
        Err(_) => {
            errors.push(crate::domain::FieldError::new("time", "invalid", "a time looks like 14:30"));
            None
        }
    };
    let minutes = match f.minutes {
        Some(m) if (1..=60 * 24 * 31).contains(&m) => Some(m),
        _ => {
            errors.push(crate::domain::FieldError::new("minutes", "out_of_range", "from 1 minute to 31 days"));
            None
        }
    };
    let (Some(date), Some(time), Some(minutes)) = (date, time, minutes) else { return Err(errors.into()) };
    let start = crate::domain::calendar::local_to_utc(zone.tz(), date.and_time(time));
    Ok((start, start + minutes * MINUTE_MS))
}

async fn act(
    State(state): State<AppState>,
    v: Visitor,
    Path((slug, id, action)): Path<(String, String, String)>,
    form: FormResult<ActForm>,
) -> Response {
    let (user, f) = or_answer!(signed_form(&v, form));
    let op = or_answer!(operator(&state, &v, user, &slug).await);
    // Only a booking of this space is acted on from its console.
    let b = or_answer!(v, console::booking_in(&state.svc, &op, &id).await);
    let who = &user.identity;
    let svc = &state.svc;
    let now = state.clock.now_ms();
    let reason = Some(f.reason.clone()).filter(|r| !r.trim().is_empty());
    let result: Result<(), ServiceError> = match action.as_str() {
        "approve" | "decline" => {
            let body = booking::ReasonBody { reason };
            booking::decide_pending(svc, who, &id, action == "approve", &body, now).await.map(|_| ())
        }
        "checkin" | "checkout" => {
            let body = checkin::ManualBody { reason: f.reason.clone() };
            checkin::by_hand(svc, who, &id, &body, action == "checkin", now).await.map(|_| ())
        }
        "cancel" => {
            let scope = match f.scope.as_deref() {
                Some("following") => booking::CancelScope::Following,
                Some("series") => booking::CancelScope::Series,
                _ => booking::CancelScope::This,
            };
            booking::cancel(svc, who, &id, &CancelBody { reason, scope }, now).await.map(|_| ())
        }
        "move" => {
            let zone = Zone::parse("timezone", &b.timezone).unwrap_or_default();
            match move_span(zone, &f) {
                Err(e) => Err(e),
                Ok((start, end)) => {
                    let req = booking::MoveBooking {
                        start: Some(rfc3339(start)),
                        end: Some(rfc3339(end)),
                        unit: f.unit.clone().filter(|u| !u.is_empty()),
                    };
                    booking::move_booking(svc, who, &id, &req, now).await.map(|_| ())
                }
            }
        }
        _ => return v.fail(ServiceError::not_found("action")),
    };
    match result {
        Ok(()) if f.back.as_deref() == Some("approvals") => see_other(&format!("/ops/{slug}/approvals?done={action}")),
        Ok(()) => see_other(&format!("/ops/{slug}/bookings/{id}?done={action}")),
        Err(e) if matches!(e.code, Code::Internal | Code::NotFound | Code::Forbidden) => v.fail(e),
        Err(e) => {
            let status = super::super::error::status_of(e.code);
            booking_view(&state, &v, &op, &id, "", refusal_text(v.t, &e), status).await
        }
    }
}

// ---------- approvals and the waitlist ----------

pub struct PendingLine {
    pub id: String,
    pub href: String,
    pub when: String,
    pub unit: String,
    pub maker: String,
    pub verified: bool,
    pub purpose: String,
    pub asked: String,
}

#[derive(Template)]
#[template(path = "ops_approvals.html")]
struct ApprovalsPage {
    t: &'static Texts,
    nav: Nav,
    slug: String,
    space_name: String,
    tab: &'static str,
    pending: Vec<PendingLine>,
    /// (wanted time, resource, maker).
    waiting: Vec<(String, String, String)>,
    done: String,
}

#[derive(Debug, Default, Deserialize)]
struct ApprovalsQuery {
    #[serde(default)]
    done: Option<String>,
    #[serde(default)]
    #[allow(dead_code)]
    lang: Option<String>,
}

async fn approvals(State(state): State<AppState>, v: Visitor, Path(slug): Path<String>, uri: Uri) -> Response {
    let user = or_answer!(v.require());
    let q: ApprovalsQuery = or_answer!(query(&v, &uri));
    let op = or_answer!(operator(&state, &v, user, &slug).await);
    let t = v.t;
    let zone = Zone::parse("timezone", &op.space().timezone).unwrap_or_default();
    let rows = or_answer!(v, console::pending(&state.svc, &op).await);
    let pending = rows
        .iter()
        .map(|(b, m)| PendingLine {
            id: b.id.to_string(),
            href: format!("/ops/{slug}/bookings/{}", b.id),
            when: span_text(t, zone, b.starts_at, b.ends_at),
            unit: booking_title(t, b),
            maker: maker_text(m),
            verified: m.verified,
            purpose: b.purpose.clone(),
            asked: day_time(t, zone, b.created_at),
        })
        .collect();
    let waits = or_answer!(v, console::waiting(&state.svc, &op).await);
    let waiting = waits
        .iter()
        .map(|(w, zh, en, m)| (span_text(t, zone, w.starts_at, w.ends_at), name_of(t, zh, en), maker_text(m)))
        .collect();
    let done = match q.done.as_deref() {
        Some(d @ ("approve" | "decline")) => t.w(&format!("ops_done.{d}")).to_owned(),
        _ => String::new(),
    };
    let p = ApprovalsPage {
        t,
        nav: v.nav(),
        slug: slug.clone(),
        space_name: name_of(t, &op.space().name_zh, &op.space().name_en),
        tab: "approvals",
        pending,
        waiting,
        done,
    };
    page(t, StatusCode::OK, &p)
}
