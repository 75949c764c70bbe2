//! The maker's pages: sign up, sign in and out; a resource's week of free times with its
//! rules in plain words; booking a time in three taps (a start, a length, confirm); a
//! booking with its QR code; my bookings, and cancelling one. Server-rendered, Chinese by
//! default, and every form works without JavaScript. They call the same use cases as the
//! API ([`crate::service`]).
//!
//! A page knows its reader by the login cookie alone. Every form that changes something
//! carries a token derived from that cookie (`csrf`) and must come from this server's own
//! page (the `Origin` check of the API, [`same_origin`]).

// The early answer of a page (a redirect to sign in, a refusal) is a whole `Response`, once
// per request: boxing it would buy nothing.
#![allow(clippy::result_large_err)]

use super::AppState;
use super::extract::{ClientAddr, cookie_token, login_cookie, same_origin};
use super::pages::{Nav, PageError, Texts, texts_of};
use crate::auth::token_hash;
use crate::clock::rfc3339;
use crate::domain::booking::BookingStatus;
use crate::domain::calendar::{MINUTE_MS, Zone, parse_instant, utc_to_local};
use crate::domain::policy::{Eligibility, ResourceKind};
use crate::domain::slots;
use crate::service::accounts::{self, LoginRequest, RegisterRequest};
use crate::service::availability::{self, FirstDay, ResourceWeek};
use crate::service::booking::{self, Booked, CancelBody, CreateBooking, CreateStay, ListQuery};
use crate::service::powers::Identity;
use crate::service::{Code, ServiceError, checkin, trainings};
use askama::Template;
use axum::Router;
use axum::extract::{Form, FromRequestParts, Path, Query, State};
use axum::http::Uri;
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use chrono::{Datelike, Timelike};
use serde::Deserialize;
use sha2::{Digest, Sha256};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/signin", get(sign_in_page).post(sign_in))
        .route("/signup", get(sign_up_page).post(sign_up))
        .route("/signout", post(sign_out))
        .route("/forgot", get(forgot_page).post(forgot))
        .route("/reset", get(reset_page).post(reset))
        .route("/me", get(mine_page))
        .route("/resources/{id}", get(resource_page))
        .route("/resources/{id}/book", get(book_page).post(book))
        .route("/resources/{id}/stay", post(stay))
        .route("/bookings/{id}", get(booking_page))
        .route("/bookings/{id}/cancel", get(cancel_page).post(cancel))
        .route("/bookings/{id}/move", get(move_page).post(move_booking))
        .route("/series/{id}", get(series_page))
        .route("/me/profile", get(profile_page).post(save_profile))
        .route("/me/teams", post(create_team))
        .route("/spaces/{slug}/kiosks", get(kiosks_page).post(add_kiosk))
        .route("/spaces/{slug}/kiosks/{id}/pairing", post(repair_kiosk))
        .route("/spaces/{slug}/kiosks/{id}/revoke", post(revoke_kiosk))
        .route("/spaces/{slug}/kiosks/{id}", get(kiosk_log))
        .route("/bookings/{id}/calendar.ics", get(booking_ics))
        .route("/resources/{id}/busy.ics", get(busy_ics))
        .route("/calendar/{account}/{file}", get(feed_ics))
        .route("/resources/{id}/waitlist", post(join_waitlist))
        .route("/waitlist/{id}/leave", post(leave_waitlist))
        .route("/me/calendar", post(renew_feed))
        .route("/me/calendar/revoke", post(revoke_feed))
        .merge(ops::router())
        .merge(insight::router())
        .merge(review::router())
        .merge(people::router())
        .merge(setup::router())
        .merge(records::router())
        .merge(admin::router())
}

// ---------- who is reading ----------

/// The reader of a page: their language, and their login if the cookie carries one.
pub struct Visitor {
    pub t: &'static Texts,
    pub user: Option<SignedIn>,
    /// The request came from this server's own page (see [`same_origin`]).
    pub same_origin: bool,
    /// Path and query of the page, to come back to after signing in.
    pub here: String,
    /// The host the reader asked for (for the calendar feed's URL).
    pub host: String,
    /// For a form's answer: the page of this site the form was sent from (its `Referer`),
    /// where the language switch and a lapsed login go back to.
    pub from_page: Option<String>,
}

pub struct SignedIn {
    pub identity: Identity,
    pub token_hash: String,
    /// The token every form of this login carries.
    pub csrf: String,
}

/// The form token of a login: derived from its secret token, so that another site cannot
/// know it, and it needs no storage.
fn csrf_of(token: &str) -> String {
    let digest = Sha256::digest(format!("labinn-csrf:{token}").as_bytes());
    digest.iter().take(16).map(|b| format!("{b:02x}")).collect()
}

impl FromRequestParts<AppState> for Visitor {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let t = texts_of(parts);
        let mut user = None;
        if let Some(token) = cookie_token(parts) {
            let hash = token_hash(&token);
            let now = state.clock.now_ms();
            if let Some(identity) =
                accounts::identify(&state.svc, &hash, now).await.map_err(|e| PageError::new(t, e))?
            {
                user = Some(SignedIn { identity, token_hash: hash, csrf: csrf_of(&token) });
            }
        }
        let here = parts.uri.path_and_query().map_or_else(|| "/".to_owned(), |p| p.as_str().to_owned());
        let host = parts.headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("localhost").to_owned();
        // Without a `Referer` (it may be withheld), my page.
        let from_page =
            (parts.method != axum::http::Method::GET).then(|| safe_next(referer_path(parts, &host).as_deref()));
        Ok(Visitor { t, user, same_origin: same_origin(parts), here, host, from_page })
    }
}

/// The path and query of a request's `Referer`, when it is a page of this host.
fn referer_path(parts: &Parts, host: &str) -> Option<String> {
    let r = parts.headers.get(header::REFERER)?.to_str().ok()?;
    let rest = r.strip_prefix("http://").or_else(|| r.strip_prefix("https://"))?;
    let (h, path) = rest.split_once('/').unwrap_or((rest, ""));
    (h == host).then(|| format!("/{path}"))
}

impl Visitor {
    /// The page a GET shows, or for a form's answer the page the form was on.
    fn page_of(&self) -> &str {
        self.from_page.as_deref().unwrap_or(&self.here)
    }

    pub fn nav(&self) -> Nav {
        let (path, query) = match self.page_of().split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (self.page_of(), None),
        };
        // A GET's switch stays relative; a form's answer switches on the page it came from.
        let path = if self.from_page.is_some() { path.to_owned() } else { String::new() };
        let keep = Nav::keep_of(query);
        match &self.user {
            Some(u) => Nav {
                signed_in: true,
                name: u.identity.account.display_name.clone(),
                csrf: u.csrf.clone(),
                keep,
                path,
                operator: u.identity.any_operator().is_some(),
                reviewer: u.identity.reviewer().is_some() || u.identity.admin().is_some(),
                admin: u.identity.admin().is_some(),
            },
            None => Nav { keep, path, ..Nav::default() },
        }
    }

    /// The signed-in reader, or a redirect to the sign-in page that comes back here (for a
    /// form, to the page it was sent from: its own path may take only a POST).
    fn require(&self) -> Result<&SignedIn, Response> {
        self.user.as_ref().ok_or_else(|| see_other(&format!("/signin?next={}", encode(self.page_of()))))
    }

    /// A change must come from this server's page and carry the login's form token.
    fn check_form(&self, csrf: &str) -> Result<&SignedIn, Response> {
        let user = self.require()?;
        if !self.same_origin {
            return Err(self.refuse(Code::CrossOrigin, "cross_origin"));
        }
        if !crate::domain::same_secret(csrf, &user.csrf) {
            return Err(self.refuse(Code::Forbidden, "form_expired"));
        }
        Ok(user)
    }

    fn refuse(&self, code: Code, key: &str) -> Response {
        self.fail(ServiceError::new(code, self.t.w(key)))
    }

    fn fail(&self, e: ServiceError) -> Response {
        PageError::new(self.t, e).with_nav(self.nav()).into_response()
    }
}

/// The page's query; one that does not parse is an error page, never the API's JSON.
fn query<T: serde::de::DeserializeOwned>(v: &Visitor, uri: &Uri) -> Result<T, Response> {
    Query::<T>::try_from_uri(uri).map(|q| q.0).map_err(|e| v.fail(ServiceError::new(Code::InvalidQuery, e.body_text())))
}

/// The value of a step of a page, or its early answer: a redirect to sign in, a refusal
/// (`or_answer!(result)`), or a service error as a page (`or_answer!(v, result)`).
macro_rules! or_answer {
    ($e:expr) => {
        match $e {
            Ok(value) => value,
            Err(answer) => return answer,
        }
    };
    ($v:expr, $e:expr) => {
        match $e {
            Ok(value) => value,
            Err(e) => return $v.fail(e),
        }
    };
}

/// A form that changes something, and so carries the login's form token.
trait SignedFormBody {
    fn csrf(&self) -> &str;
}

type FormResult<T> = Result<Form<T>, axum::extract::rejection::FormRejection>;

/// The forms that change something: each has its `csrf` field.
macro_rules! signed_forms {
    ($($form:ty),* $(,)?) => {
        $(impl SignedFormBody for $form {
            fn csrf(&self) -> &str {
                &self.csrf
            }
        })*
    };
}
signed_forms!(CsrfForm, BookForm, StayForm, WaitForm, CancelForm, MoveForm, ProfileForm, TeamForm, KioskForm);

// The operator console: its own pages, on this module's helpers.

/// The operator of the space `slug` for a console page, as a page's refusal otherwise (in the
/// reader's words; never the space's data).
async fn operator(
    state: &AppState,
    v: &Visitor,
    user: &SignedIn,
    slug: &str,
) -> Result<crate::service::powers::OperatorOf, Response> {
    crate::service::powers::operator_of(
        &state.svc,
        &user.identity,
        slug,
        "the operator console needs the operator role for the space",
    )
    .await
    .map_err(|e| v.fail(e))
}

/// A name in the reader's language.
fn name_of(t: &Texts, zh: &str, en: &str) -> String {
    if t.zh { zh.to_owned() } else { en.to_owned() }
}

/// `k=v&…` with each value percent-encoded, for a link's query.
fn query_of(pairs: &[(&str, &str)]) -> String {
    pairs.iter().map(|(k, v)| format!("{k}={}", encode(v))).collect::<Vec<_>>().join("&")
}
mod admin;
mod insight;
mod ops;
mod people;
mod records;
mod review;
mod setup;

/// A form of a signed-in maker, read and checked ([`Visitor::check_form`]); one that cannot
/// be read is a page.
fn signed_form<T: SignedFormBody>(v: &Visitor, form: FormResult<T>) -> Result<(&SignedIn, T), Response> {
    let Ok(Form(f)) = form else { return Err(unreadable(v.t)) };
    let user = v.check_form(f.csrf())?;
    Ok((user, f))
}

fn see_other(location: &str) -> Response {
    (StatusCode::SEE_OTHER, [(header::LOCATION, location.to_owned())]).into_response()
}

/// Percent-encodes a path and query for a `next=` parameter.
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Where to go after signing in: a path of this site only (never `//elsewhere`).
fn safe_next(next: Option<&str>) -> String {
    match next {
        // Browsers drop tabs and newlines in URLs ("/\t/evil" is "//evil"): none may be in it.
        Some(n)
            if n.starts_with('/')
                && !n.starts_with("//")
                && !n.contains('\\')
                && !n.chars().any(|c| c.is_control() || c.is_whitespace()) =>
        {
            n.to_owned()
        }
        _ => "/me".to_owned(),
    }
}

fn page(t: &'static Texts, status: StatusCode, p: &impl Template) -> Response {
    match p.render() {
        Ok(html) => {
            let mut res = (status, Html(html)).into_response();
            // A refusal is already a page in the reader's words: no JSON problem instead.
            res.extensions_mut().insert(super::error::IsProblem);
            // A maker's page (codes, form tokens) must not come back from the cache after
            // signing out on a shared computer.
            res.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
            res
        }
        Err(e) => PageError::new(t, ServiceError::internal(e)).into_response(),
    }
}

/// A form the page could not read (a field missing or of the wrong kind): a page, never the
/// API's JSON.
fn unreadable(t: &'static Texts) -> Response {
    PageError::new(t, ServiceError::new(Code::BadRequest, "the form could not be read")).into_response()
}

// ---------- words for times ----------

const WEEKDAYS_ZH: [&str; 7] = ["周一", "周二", "周三", "周四", "周五", "周六", "周日"];
const WEEKDAYS_EN: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
const MONTHS_EN: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/// "9月7日 周一" or "Mon 7 Sep".
fn day_label(t: &Texts, d: chrono::NaiveDate) -> String {
    let wd = d.weekday().num_days_from_monday() as usize;
    if t.zh {
        format!("{}月{}日 {}", d.month(), d.day(), WEEKDAYS_ZH[wd])
    } else {
        format!("{} {} {}", WEEKDAYS_EN[wd], d.day(), MONTHS_EN[d.month0() as usize])
    }
}

/// "14:00" in the space's zone; in the hour a fall-back repeats, with its offset's name
/// ("01:00 PDT", "01:00 PST"), so that the two are told apart on every page.
fn hh_mm(zone: Zone, at: i64) -> String {
    let l = utc_to_local(zone.tz(), at);
    let plain = format!("{:02}:{:02}", l.hour(), l.minute());
    let hour = 60 * MINUTE_MS;
    let repeated = [at - hour, at + hour].iter().any(|x| {
        let o = utc_to_local(zone.tz(), *x);
        (o.hour(), o.minute()) == (l.hour(), l.minute())
    });
    if repeated { l.format("%H:%M %Z").to_string() } else { plain }
}

/// A day and a time in the space's zone: "9月7日 周一 14:00", or "Mon 7 Sep 14:00".
fn day_time(t: &Texts, zone: Zone, at: i64) -> String {
    format!("{} {}", day_label(t, utc_to_local(zone.tz(), at).date_naive()), hh_mm(zone, at))
}

/// A booking's time in the space's zone: "9月7日 周一 10:00–11:00" (a whole day is
/// "00:00–24:00"), or across days
/// "12月5日 周六 14:00 – 12月8日 周二 12:00".
fn span_text(t: &Texts, zone: Zone, start: i64, end: i64) -> String {
    let (a, b) = (utc_to_local(zone.tz(), start), utc_to_local(zone.tz(), end));
    if a.date_naive() == b.date_naive()
        || (b.date_naive() == a.date_naive().succ_opt().unwrap_or(a.date_naive()) && b.hour() == 0 && b.minute() == 0)
    {
        // Up to the next midnight is "–24:00", not "–00:00".
        let until = if b.date_naive() == a.date_naive() { hh_mm(zone, end) } else { "24:00".to_owned() };
        format!("{} {}–{until}", day_label(t, a.date_naive()), hh_mm(zone, start))
    } else {
        format!(
            "{} {} – {} {}",
            day_label(t, a.date_naive()),
            hh_mm(zone, start),
            day_label(t, b.date_naive()),
            hh_mm(zone, end)
        )
    }
}

fn minutes_text(t: &Texts, m: i64) -> String {
    match (m % 60, m / 60) {
        (0, h) if h > 0 => format!("{h} {}", t.w("hours")),
        (r, 0) => format!("{r} {}", t.w("minutes")),
        (r, h) => format!("{h} {} {r} {}", t.w("hours"), t.w("minutes")),
    }
}

fn status_text(t: &Texts, s: BookingStatus) -> String {
    t.w(&format!("status.{}", s.as_str())).to_owned()
}

// ---------- accounts ----------

#[derive(Debug, Default, Deserialize)]
struct NextQuery {
    #[serde(default)]
    next: Option<String>,
    #[serde(default)]
    reset: Option<String>,
    #[serde(default)]
    #[allow(dead_code)]
    lang: Option<String>,
}

#[derive(Template)]
#[template(path = "signin.html")]
struct SignInPage {
    t: &'static Texts,
    nav: Nav,
    /// Just came from setting a new password.
    reset: bool,
    next: String,
    email: String,
    error: String,
}

#[derive(Debug, Deserialize)]
struct SignInForm {
    email: String,
    password: String,
    #[serde(default)]
    next: Option<String>,
}

async fn sign_in_page(v: Visitor, uri: Uri) -> Response {
    let q: NextQuery = or_answer!(query(&v, &uri));
    let next = safe_next(q.next.as_deref());
    if v.user.is_some() {
        return see_other(&next);
    }
    let p =
        SignInPage { t: v.t, nav: v.nav(), reset: q.reset.is_some(), next, email: String::new(), error: String::new() };
    page(v.t, StatusCode::OK, &p)
}

/// The words and status for a failed sign-in or sign-up, and the `Retry-After` of a 429.
fn account_error(t: &'static Texts, e: &ServiceError) -> (StatusCode, String, Option<u64>) {
    let status = super::error::status_of(e.code);
    let retry = e.details.as_ref().and_then(|d| d["retry_after_secs"].as_u64());
    let text = match e.code {
        Code::InvalidCredentials => t.w("bad_credentials").to_owned(),
        Code::EmailTaken => t.w("email_taken").to_owned(),
        Code::TooManyRequests => format!("{} ({} {})", t.w("too_many"), retry.unwrap_or(1), t.w("seconds")),
        Code::ValidationFailed => field_errors_text(t, e),
        _ => e.message.clone(),
    };
    (status, text, retry)
}

/// Every invalid field of a validation failure, in the reader's words.
fn field_errors(t: &Texts, e: &ServiceError) -> Vec<String> {
    let fields = e.details.as_ref().and_then(|d| d["fields"].as_array().cloned()).unwrap_or_default();
    fields
        .iter()
        .map(|f| {
            let name = match f["field"].as_str().unwrap_or("") {
                "email" => t.w("email"),
                "password" => t.w("password"),
                "display_name" => t.w("display_name"),
                "purpose" => t.w("purpose"),
                "check_in_date" => t.w("arrival_day"),
                "nights" => t.w("nights"),
                "start" => t.w("start_at"),
                "end" | "minutes" => t.w("choose_length"),
                "weeks" => t.w("repeat_weekly"),
                "name" => t.w("name_field"),
                "locale" => t.w("language"),
                "team" => t.w("book_for"),
                "reason" => t.w("ops_reason"),
                "date" => t.w("ops_date"),
                "time" => t.w("ops_time"),
                "unit" => t.w("ops_unit"),
                "from" => t.w("rep_from"),
                "to" => t.w("rep_to"),
                "by" => t.w("rep_by"),
                "bucket" => t.w("rep_bucket"),
                "scheme" => t.w("ev_scheme"),
                "q" => t.w("mk_find"),
                "agreement_ref" => t.w("reg_agreement"),
                "starts_on" => t.w("reg_starts_on"),
                "ends_on" => t.w("reg_ends_on"),
                "founder" => t.w("reg_founder"),
                "product" => t.w("reg_product"),
                "organisation" => t.w("reg_organisation"),
                "topic" => t.w("reg_topic"),
                "booking" => t.w("reg_place_booking"),
                "kind" => t.w("reg_kind"),
                "role" => t.w("reg_role"),
                "title" => t.w("reg_title"),
                "file" => t.w("reg_file"),
                "count" => t.w("reg_attendance"),
                "use_class" => t.w("reg_use_class"),
                "area_m2" => t.w("reg_area_m2"),
                "space" => t.w("rev_space"),
                "toml" => t.w("adm_scheme_file"),
                "expires" => t.w("mk_valid"),
                other => other,
            };
            format!("{name}{}{}", t.w("colon"), what_is_wrong(t, f))
        })
        .collect()
}

/// What is wrong with one field of a validation failure, in the reader's words: the words of
/// its code, else the service's message.
fn what_is_wrong(t: &Texts, field: &serde_json::Value) -> String {
    let code = field["code"].as_str().unwrap_or("");
    let key = format!("field.{code}");
    if super::words::has(&key) { t.w(&key).to_owned() } else { field["message"].as_str().unwrap_or(code).to_owned() }
}

/// [`field_errors`] as one sentence.
fn field_errors_text(t: &Texts, e: &ServiceError) -> String {
    field_errors(t, e).join(if t.zh { "；" } else { "; " })
}

fn with_retry(mut res: Response, retry: Option<u64>) -> Response {
    if let Some(secs) = retry
        && let Ok(v) = HeaderValue::from_str(&secs.to_string())
    {
        res.headers_mut().insert(header::RETRY_AFTER, v);
    }
    res
}

/// Signs in and goes on to `next` with the login cookie set, and the language cookie of the
/// account's language (chosen on its profile, or at sign-up), so that every device speaks it.
fn signed_in_response(state: &AppState, token: &str, locale: &str, next: &str) -> Response {
    let config = &state.svc.config;
    let mut res = see_other(next);
    if let Ok(c) = login_cookie(token, config.session_ttl.as_secs(), config.cookie_secure) {
        res.headers_mut().insert(header::SET_COOKIE, c);
    }
    let lang = if locale.starts_with("en") { "en" } else { "zh" };
    if let Some(c) = super::pages::lang_cookie(lang) {
        res.headers_mut().append(header::SET_COOKIE, c);
    }
    res
}

async fn sign_in(
    State(state): State<AppState>,
    v: Visitor,
    ClientAddr(from): ClientAddr,
    form: FormResult<SignInForm>,
) -> Response {
    let Ok(Form(f)) = form else { return unreadable(v.t) };
    let next = safe_next(f.next.as_deref());
    let again = |status: StatusCode, error: String| {
        let p = SignInPage { t: v.t, nav: v.nav(), reset: false, next: next.clone(), email: f.email.clone(), error };
        page(v.t, status, &p)
    };
    if !v.same_origin {
        return again(StatusCode::FORBIDDEN, v.t.w("cross_origin").to_owned());
    }
    let req = LoginRequest { email: f.email.clone(), password: f.password.clone() };
    match accounts::login(&state.svc, req, from, state.clock.now_ms()).await {
        Ok(l) => signed_in_response(&state, &l.token, &l.account.locale, &next),
        Err(e) => {
            let (status, text, retry) = account_error(v.t, &e);
            with_retry(again(status, text), retry)
        }
    }
}

#[derive(Template)]
#[template(path = "signup.html")]
struct SignUpPage {
    t: &'static Texts,
    nav: Nav,
    next: String,
    email: String,
    display_name: String,
    error: String,
}

#[derive(Debug, Deserialize)]
struct SignUpForm {
    email: String,
    display_name: String,
    password: String,
    #[serde(default)]
    next: Option<String>,
}

async fn sign_up_page(v: Visitor, uri: Uri) -> Response {
    let q: NextQuery = or_answer!(query(&v, &uri));
    let next = safe_next(q.next.as_deref());
    if v.user.is_some() {
        return see_other(&next);
    }
    let p = SignUpPage {
        t: v.t,
        nav: v.nav(),
        next,
        email: String::new(),
        display_name: String::new(),
        error: String::new(),
    };
    page(v.t, StatusCode::OK, &p)
}

async fn sign_up(
    State(state): State<AppState>,
    v: Visitor,
    ClientAddr(from): ClientAddr,
    form: FormResult<SignUpForm>,
) -> Response {
    let Ok(Form(f)) = form else { return unreadable(v.t) };
    let next = safe_next(f.next.as_deref());
    let again = |status: StatusCode, error: String| {
        let p = SignUpPage {
            t: v.t,
            nav: v.nav(),
            next: next.clone(),
            email: f.email.clone(),
            display_name: f.display_name.clone(),
            error,
        };
        page(v.t, status, &p)
    };
    if !v.same_origin {
        return again(StatusCode::FORBIDDEN, v.t.w("cross_origin").to_owned());
    }
    let now = state.clock.now_ms();
    let locale = Some(if v.t.zh { "zh-CN" } else { "en" }.to_owned());
    let req = RegisterRequest {
        email: f.email.clone(),
        password: f.password.clone(),
        display_name: f.display_name.clone(),
        locale,
    };
    let signed = accounts::register_and_sign_in(&state.svc, &req, from, now).await;
    match signed {
        Ok(l) => signed_in_response(&state, &l.token, &l.account.locale, &next),
        Err(e) => {
            let (status, text, retry) = account_error(v.t, &e);
            with_retry(again(status, text), retry)
        }
    }
}

// ---------- forgotten password ----------

#[derive(Template)]
#[template(path = "forgot.html")]
struct ForgotPage {
    t: &'static Texts,
    nav: Nav,
    sent: bool,
    error: String,
}

async fn forgot_page(v: Visitor) -> Response {
    page(v.t, StatusCode::OK, &ForgotPage { t: v.t, nav: v.nav(), sent: false, error: String::new() })
}

#[derive(Debug, Deserialize)]
struct ForgotForm {
    email: String,
}

/// Asks for a reset link. The answer is the same whether or not the address has an
/// account.
async fn forgot(
    State(state): State<AppState>,
    v: Visitor,
    ClientAddr(from): ClientAddr,
    form: FormResult<ForgotForm>,
) -> Response {
    let Ok(Form(f)) = form else { return unreadable(v.t) };
    let again = |status: StatusCode, sent: bool, error: String| {
        page(v.t, status, &ForgotPage { t: v.t, nav: v.nav(), sent, error })
    };
    if !v.same_origin {
        return again(StatusCode::FORBIDDEN, false, v.t.w("cross_origin").to_owned());
    }
    match accounts::request_reset(&state.svc, &f.email, from, state.clock.now_ms()).await {
        Ok(()) => again(StatusCode::OK, true, String::new()),
        Err(e) => {
            let (status, text, retry) = account_error(v.t, &e);
            with_retry(again(status, false, text), retry)
        }
    }
}

#[derive(Template)]
#[template(path = "reset.html")]
struct ResetPage {
    t: &'static Texts,
    nav: Nav,
    token: String,
    usable: bool,
    error: String,
}

#[derive(Debug, Default, Deserialize)]
struct TokenQuery {
    #[serde(default)]
    token: String,
    #[serde(default)]
    #[allow(dead_code)]
    lang: Option<String>,
}

async fn reset_page(State(state): State<AppState>, v: Visitor, uri: Uri) -> Response {
    let q: TokenQuery = or_answer!(query(&v, &uri));
    let usable = or_answer!(v, accounts::reset_usable(&state.svc, &q.token, state.clock.now_ms()).await);
    let status = if usable { StatusCode::OK } else { StatusCode::GONE };
    let error = if usable { String::new() } else { v.t.w("reset_expired").to_owned() };
    page(v.t, status, &ResetPage { t: v.t, nav: v.nav(), token: q.token, usable, error })
}

#[derive(Debug, Deserialize)]
struct ResetForm {
    token: String,
    password: String,
}

async fn reset(State(state): State<AppState>, v: Visitor, form: FormResult<ResetForm>) -> Response {
    let Ok(Form(f)) = form else { return unreadable(v.t) };
    let again = |status: StatusCode, usable: bool, error: String| {
        page(v.t, status, &ResetPage { t: v.t, nav: v.nav(), token: f.token.clone(), usable, error })
    };
    if !v.same_origin {
        return again(StatusCode::FORBIDDEN, true, v.t.w("cross_origin").to_owned());
    }
    match accounts::reset_password(&state.svc, &f.token, &f.password, state.clock.now_ms()).await {
        Ok(()) => see_other("/signin?reset=1"),
        Err(e) if e.code == Code::InvalidToken => again(StatusCode::GONE, false, v.t.w("reset_expired").to_owned()),
        Err(e) => {
            let (status, text, _) = account_error(v.t, &e);
            again(status, true, text)
        }
    }
}

#[derive(Debug, Deserialize)]
struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

async fn sign_out(State(state): State<AppState>, v: Visitor, form: FormResult<CsrfForm>) -> Response {
    let (user, _) = or_answer!(signed_form(&v, form));
    if let Err(e) = accounts::logout(&state.svc, &user.identity, &user.token_hash).await {
        return v.fail(e);
    }
    let mut res = see_other("/");
    if let Ok(c) = login_cookie("", 0, state.svc.config.cookie_secure) {
        res.headers_mut().insert(header::SET_COOKIE, c);
    }
    res
}

// ---------- a resource's week ----------

pub struct SlotLink {
    pub time: String,
    pub href: String,
    pub free: usize,
}

pub struct DayColumn {
    pub label: String,
    /// "closed", "fully booked", "no times left": why there are no slots.
    pub note: String,
    pub slots: Vec<SlotLink>,
    /// A seat's whole day, from its first free start.
    pub all_day: Option<SlotLink>,
}

#[derive(Template)]
#[template(path = "resource.html")]
struct ResourcePage {
    t: &'static Texts,
    nav: Nav,
    id: String,
    name: String,
    other_name: String,
    kind: String,
    space_name: String,
    space_slug: String,
    description: String,
    timezone: String,
    rules: Vec<String>,
    days: Vec<DayColumn>,
    /// Archived: shown, never bookable.
    archived: bool,
    pool: bool,
    inn: bool,
    inn_times: String,
    max_nights: i64,
    today: String,
    prev: String,
    next: String,
    show_prev: bool,
    /// The next week starts within the horizon.
    show_next: bool,
    signed_in: bool,
    csrf: String,
    /// When choosing a booking's new time: its present time.
    moving: String,
}

#[derive(Debug, Default, Deserialize)]
struct DateQuery {
    #[serde(default)]
    date: Option<String>,
    #[serde(default)]
    #[allow(dead_code)]
    lang: Option<String>,
}

/// The rules of a resource in plain words.
async fn rules_in_words(state: &AppState, t: &Texts, w: &ResourceWeek) -> Result<Vec<String>, ServiceError> {
    let p = &w.policy;
    let mut out = Vec::new();
    let inn = w.policy.inn.is_some();
    if !inn {
        out.push(format!("{}{}{}", t.w("slot_length"), t.w("colon"), minutes_text(t, p.slot_minutes)));
        out.push(format!(
            "{}{}{} – {}",
            t.w("length_range"),
            t.w("colon"),
            minutes_text(t, p.min_minutes.max(p.slot_minutes)),
            minutes_text(t, p.max_minutes)
        ));
        if p.min_notice_minutes > 0 {
            out.push(format!("{} {} {}", t.w("notice"), minutes_text(t, p.min_notice_minutes), t.w("notice_after")));
        }
    }
    out.push(format!("{} {} {}", t.w("horizon"), p.horizon_days, t.w("days_ahead")));
    out.push(t.w(if p.requires_approval { "approval_needed" } else { "no_approval" }).to_owned());
    if !p.required_trainings.is_empty() {
        let names = trainings::named(&state.svc, &p.required_trainings).await?;
        let names: Vec<String> = names.into_iter().map(|(zh, en)| if t.zh { zh } else { en }).collect();
        out.push(format!("{}{}{}", t.w("training_needed"), t.w("colon"), names.join(if t.zh { "、" } else { ", " })));
    }
    out.push(format!(
        "{}{}{}",
        t.w("who_may"),
        t.w("colon"),
        t.w(if p.eligibility == Eligibility::VerifiedMakers { "verified_only" } else { "anyone_signed_in" })
    ));
    let price = if p.price.amount_minor == 0 {
        t.w("free_of_charge").to_owned()
    } else {
        let per = t.w(if p.price.per == "night" { "per_night" } else { "per_hour" });
        format!("{} {:.2} / {per}", p.price.currency, p.price.amount_minor as f64 / 100.0)
    };
    out.push(format!("{}{}{price}", t.w("price"), t.w("colon")));
    if p.walk_ups_allowed {
        out.push(t.w("walk_ups").to_owned());
    }
    Ok(out)
}

/// The starts a week shows: every slot, or for slots that divide half an hour, the half
/// hours (a day of 15-minute slots would be 56 buttons). Every one is on a slot, so the
/// server's slot rule holds for all of them.
fn shown_step(slot_minutes: i64) -> i64 {
    let slot = slot_minutes.max(1);
    // Half hours from midnight fall on the slots only when the slot divides 30.
    if slot < 30 && 30 % slot == 0 { 30 } else { slot }
}

fn kind_words(kind: &str, zh: bool) -> String {
    super::pages::resource_kind_label(kind, zh).to_owned()
}

/// The shortest booking a policy allows, in whole slots (as the server's slot rule wants).
fn shortest(p: &crate::domain::policy::BookingPolicy) -> i64 {
    let slot = p.slot_minutes.max(1);
    (p.min_minutes.max(slot) + slot - 1) / slot * slot
}

/// The days of a week of a resource that is not an inn room: every start that fits its
/// shortest booking, from now plus the notice up to the horizon (the server's rule is on the
/// start), and for seats a "whole day" link (the longest booking from the day's first free
/// start). `href(start, minutes)` is where a start leads (booking it, or moving a booking
/// to it).
fn week_days(t: &Texts, w: &ResourceWeek, now: i64, href: &dyn Fn(i64, Option<i64>) -> String) -> Vec<DayColumn> {
    let p = &w.policy;
    let length = shortest(p) * MINUTE_MS;
    let not_before = now + p.min_notice_minutes * MINUTE_MS;
    let horizon = now + p.horizon_days * crate::domain::calendar::DAY_MS;
    let seat = ResourceKind::from_db(&w.resource.kind) == Some(ResourceKind::BroadbandSeat);
    w.days
        .iter()
        .map(|(d, day)| {
            let open_today = w.open.iter().any(|o| o.overlaps(day));
            let offers: Vec<slots::Offer> =
                slots::offers(w.zone, *day, &w.free, shown_step(p.slot_minutes), length, not_before)
                    .into_iter()
                    .filter(|o| o.start <= horizon)
                    .collect();
            let slots: Vec<SlotLink> = offers
                .iter()
                .map(|o| SlotLink { time: hh_mm(w.zone, o.start), href: href(o.start, None), free: o.free_units })
                .collect();
            let all_day = if seat {
                offers.first().and_then(|o| {
                    let longest =
                        *slots::lengths(&w.free, o.start, p.slot_minutes, p.min_minutes, p.max_minutes, 400).last()?;
                    Some(SlotLink {
                        time: format!(
                            "{} {}–{}",
                            t.w("whole_day"),
                            hh_mm(w.zone, o.start),
                            hh_mm(w.zone, o.start + longest * MINUTE_MS)
                        ),
                        href: href(o.start, Some(longest)),
                        free: o.free_units,
                    })
                })
            } else {
                None
            };
            let closure = w.closed.iter().find(|(_, c)| c.overlaps(day)).map(|(why, _)| why.clone());
            let note = if !slots.is_empty() {
                String::new()
            } else if !open_today {
                match closure {
                    Some(why) if !why.is_empty() => format!("{}（{why}）", t.w("closed_day")),
                    _ => t.w("closed_day").to_owned(),
                }
            } else if w
                .open
                .iter()
                .filter_map(|o| o.intersection(day))
                .filter(|o| o.end() > not_before)
                .all(|o| o.start().max(not_before) > horizon)
                && w.open.iter().any(|o| o.overlaps(day) && o.end() > not_before)
            {
                // Open later that day, but only past the horizon.
                t.w("beyond_horizon_day").to_owned()
            } else if day.end() <= not_before
                || w.open.iter().filter(|o| o.overlaps(day)).all(|o| o.end() <= not_before)
            {
                t.w("all_past").to_owned()
            } else {
                t.w("fully_booked").to_owned()
            };
            DayColumn { label: day_label(t, *d), note, slots, all_day }
        })
        .collect()
}

/// A resource's page: its rules, and its week of `days`; when `moving` names a booking's
/// time, the week is for choosing its new time.
fn week_page(
    v: &Visitor,
    w: &ResourceWeek,
    rules: Vec<String>,
    days: Vec<DayColumn>,
    now: i64,
    moving: String,
) -> ResourcePage {
    let t = v.t;
    let p = &w.policy;
    let today = utc_to_local(w.zone.tz(), now).date_naive();
    let last_day = utc_to_local(w.zone.tz(), now + p.horizon_days * crate::domain::calendar::DAY_MS).date_naive();
    let (first, last) = (w.first, w.first + chrono::Duration::days(7));
    let inn_times = p.inn.as_ref().map_or_else(String::new, |i| format!("{} / {}", i.check_in_time, i.check_out_time));
    let space = &w.space;
    let r = &w.resource;
    let archived = r.archived_at.is_some() || space.archived_at.is_some();
    ResourcePage {
        t,
        nav: v.nav(),
        id: r.id.to_string(),
        name: if t.zh { r.name_zh.clone() } else { r.name_en.clone() },
        other_name: if t.zh { r.name_en.clone() } else { r.name_zh.clone() },
        kind: kind_words(&r.kind, t.zh),
        space_name: if t.zh { space.name_zh.clone() } else { space.name_en.clone() },
        space_slug: space.slug.clone(),
        description: r.description.clone(),
        timezone: space.timezone.clone(),
        rules,
        days: if archived { Vec::new() } else { days },
        archived,
        pool: w.units.len() > 1,
        inn: ResourceKind::from_db(&r.kind) == Some(ResourceKind::InnRoom),
        inn_times,
        max_nights: p.inn.as_ref().map_or(14, |i| i64::from(i.max_nights)),
        today: first.max(today).to_string(),
        prev: (first - chrono::Duration::days(7)).max(today).to_string(),
        next: last.to_string(),
        show_prev: first > today,
        show_next: last <= last_day,
        signed_in: v.user.is_some(),
        csrf: v.user.as_ref().map_or_else(String::new, |u| u.csrf.clone()),
        moving,
    }
}

async fn resource_page(State(state): State<AppState>, v: Visitor, Path(id): Path<String>, uri: Uri) -> Response {
    let t = v.t;
    let q: DateQuery = or_answer!(query(&v, &uri));
    let date = q.date;
    let now = state.clock.now_ms();
    let w = or_answer!(v, availability::resource_week(&state.svc, &id, FirstDay::Date(date.as_deref()), 7, now).await);
    let rules = or_answer!(v, rules_in_words(&state, t, &w).await);
    let inn = ResourceKind::from_db(&w.resource.kind) == Some(ResourceKind::InnRoom);
    let rid = w.resource.id.to_string();
    let days = if inn {
        Vec::new()
    } else {
        week_days(t, &w, now, &|start, minutes| {
            let m = minutes.map_or_else(String::new, |m| format!("&minutes={m}"));
            format!("/resources/{rid}/book?start={}{m}", encode(&rfc3339(start)))
        })
    };
    let rp = week_page(&v, &w, rules, days, now, String::new());
    page(t, StatusCode::OK, &rp)
}

// ---------- booking ----------

pub struct Problem {
    pub text: String,
}

pub struct AltButton {
    pub label: String,
    pub start: String,
    pub minutes: i64,
}

#[derive(Template)]
#[template(path = "book.html")]
struct BookPage {
    t: &'static Texts,
    nav: Nav,
    id: String,
    name: String,
    space_name: String,
    when: String,
    start: String,
    lengths: Vec<(i64, String)>,
    chosen: i64,
    /// Many lengths: a list to choose from rather than buttons.
    length_list: bool,
    csrf: String,
    problems: Vec<Problem>,
    conflict: bool,
    alternatives: Vec<AltButton>,
    /// Where the form goes: booking the resource, or moving a booking.
    action: String,
    /// Moving a booking: no series, team, purpose or waitlist.
    moving: bool,
    /// The teams the maker may book for: (id, name).
    teams: Vec<(String, String)>,
    /// The most weeks a weekly series may have.
    max_weeks: u32,
    weeks: u32,
    skip_clashes: bool,
    /// After a refusal: the team and purpose the form had.
    team_chosen: String,
    purpose: String,
}

#[derive(Debug, Default, Deserialize)]
struct StartQuery {
    #[serde(default)]
    start: Option<String>,
    #[serde(default)]
    minutes: Option<i64>,
    #[serde(default)]
    #[allow(dead_code)]
    date: Option<String>,
    #[serde(default)]
    #[allow(dead_code)]
    lang: Option<String>,
}

/// Up to how many weeks the page books a weekly series for.
const MAX_WEEKS: u32 = 12;

/// How many lengths show as buttons; more make a list.
const LENGTH_BUTTONS: usize = 8;

/// What a confirm page is for: booking a resource, or moving one of my bookings.
enum Confirm<'a> {
    Book { form: Option<&'a BookForm> },
    Move { booking: &'a crate::store::bookings::BookingRow },
}

/// The confirm page for a start: the lengths that fit, and after a refused attempt the
/// rules it broke or a conflict's free alternatives.
#[allow(clippy::too_many_arguments)]
async fn confirm_page(
    state: &AppState,
    v: &Visitor,
    user: &SignedIn,
    id: &str,
    start: i64,
    chosen: Option<i64>,
    refusal: Option<&ServiceError>,
    what: Confirm<'_>,
) -> Response {
    let t = v.t;
    let now = state.clock.now_ms();
    let mut w = or_answer!(v, availability::resource_week(&state.svc, id, FirstDay::Of(start), 2, now).await);
    if let Confirm::Move { booking: b } = &what {
        w.for_moving(&b.unit_id, own_block(b));
    }
    let p = &w.policy;
    // Every length that fits (a day of 15-minute slots is under a hundred).
    let lengths: Vec<(i64, String)> = slots::lengths(&w.free, start, p.slot_minutes, p.min_minutes, p.max_minutes, 400)
        .into_iter()
        .map(|m| (m, minutes_text(t, m)))
        .collect();
    let (status, mut problems, alternatives) = match refusal {
        None => (StatusCode::OK, Vec::new(), None),
        Some(e) => {
            let status = super::error::status_of(e.code);
            match e.code {
                Code::PolicyViolation => (status, violations(t, e, Some(w.zone)), None),
                Code::Conflict => (status, Vec::new(), Some(alternatives(t, e, w.zone))),
                Code::ValidationFailed => {
                    (status, field_errors(t, e).into_iter().map(|text| Problem { text }).collect(), None)
                }
                _ => (status, vec![Problem { text: e.message.clone() }], None),
            }
        }
    };
    let moving = matches!(what, Confirm::Move { .. });
    // A weekly series refused whole: its buttons would book one time, not the series. Say
    // that a week is taken, and that skipping it books the others.
    let series = matches!(what, Confirm::Book { form: Some(f) } if f.weeks.unwrap_or(1) > 1);
    let alternatives = if series && alternatives.is_some() {
        problems.push(Problem { text: t.w("series_clash").to_owned() });
        None
    } else {
        alternatives
    };
    if lengths.is_empty() && problems.is_empty() && alternatives.is_none() {
        problems.push(Problem { text: t.w("no_length_fits").to_owned() });
    }
    // The length asked for, while it fits; when nothing fits (the time was taken), still the
    // one asked for, which the waitlist then waits for.
    let chosen = chosen
        .filter(|c| lengths.is_empty() || lengths.iter().any(|(m, _)| m == c))
        .or_else(|| lengths.first().map(|(m, _)| *m))
        .unwrap_or_else(|| shortest(p));
    let teams = if moving {
        Vec::new()
    } else {
        or_answer!(v, crate::service::organisations::mine(&state.svc, &user.identity).await)
            .into_iter()
            .map(|(o, _)| (o.id.to_string(), o.name.clone()))
            .collect()
    };
    let (team_chosen, purpose) = match &what {
        Confirm::Book { form: Some(f) } => (f.team.clone().unwrap_or_default(), f.purpose.clone()),
        _ => (String::new(), String::new()),
    };
    let (action, weeks, skip_clashes) = match what {
        Confirm::Book { form } => (
            format!("/resources/{}/book", w.resource.id),
            form.and_then(|f| f.weeks).unwrap_or(1),
            form.is_some_and(|f| f.on_conflict.as_deref() == Some("skip")),
        ),
        Confirm::Move { booking } => (format!("/bookings/{}/move", booking.id), 1, false),
    };
    let r = &w.resource;
    let inn = ResourceKind::from_db(&r.kind) == Some(ResourceKind::InnRoom);
    let bp = BookPage {
        t,
        nav: v.nav(),
        id: r.id.to_string(),
        name: if t.zh { r.name_zh.clone() } else { r.name_en.clone() },
        space_name: if t.zh { w.space.name_zh.clone() } else { w.space.name_en.clone() },
        when: day_time(t, w.zone, start),
        start: rfc3339(start),
        length_list: lengths.len() > LENGTH_BUTTONS,
        lengths,
        chosen,
        csrf: user.csrf.clone(),
        problems,
        conflict: alternatives.is_some(),
        alternatives: alternatives.unwrap_or_default(),
        action,
        moving,
        teams,
        max_weeks: if inn { 1 } else { MAX_WEEKS },
        weeks,
        skip_clashes,
        team_chosen,
        purpose,
    };
    page(t, status, &bp)
}

/// A start in a page's query.
fn start_of(v: &Visitor, raw: Option<&str>) -> Result<i64, Response> {
    parse_instant("start", raw.unwrap_or_default())
        .map_err(|f| v.fail(ServiceError::from(crate::domain::ValidationErrors(vec![f]))))
}

async fn book_page(State(state): State<AppState>, v: Visitor, Path(id): Path<String>, uri: Uri) -> Response {
    let user = or_answer!(v.require());
    let q: StartQuery = or_answer!(query(&v, &uri));
    let start = or_answer!(start_of(&v, q.start.as_deref()));
    confirm_page(&state, &v, user, &id, start, q.minutes, None, Confirm::Book { form: None }).await
}

#[derive(Debug, Deserialize)]
struct BookForm {
    #[serde(default)]
    csrf: String,
    start: String,
    minutes: i64,
    #[serde(default)]
    purpose: String,
    /// Book for this team (empty: for myself).
    #[serde(default)]
    team: Option<String>,
    /// Every week, this many times (1: once).
    #[serde(default)]
    weeks: Option<u32>,
    /// For a series: `skip` the weeks that clash, or refuse the whole series.
    #[serde(default)]
    on_conflict: Option<String>,
}

/// The broken rules of a refusal, in the reader's words (an unknown rule in the server's);
/// for a weekly series refused whole, each week that breaks a rule with its date.
fn violations(t: &Texts, e: &ServiceError, zone: Option<Zone>) -> Vec<Problem> {
    let details = e.details.as_ref();
    let rules = |list: &[serde_json::Value]| -> Vec<String> {
        list.iter()
            .map(|v| {
                let rule = v["rule"].as_str().unwrap_or("");
                let key = format!("rule.{rule}");
                if super::words::has(&key) {
                    t.w(&key).to_owned()
                } else {
                    v["message"].as_str().unwrap_or(rule).to_owned()
                }
            })
            .collect()
    };
    let list = details.and_then(|d| d["violations"].as_array().cloned()).unwrap_or_default();
    let mut out: Vec<Problem> = rules(&list).into_iter().map(|text| Problem { text }).collect();
    let weeks = details.and_then(|d| d["occurrences"].as_array().cloned()).unwrap_or_default();
    for w in &weeks {
        let when = w["when"]["start"].as_str().and_then(|s| parse_instant("start", s).ok());
        let day = match (when, zone) {
            (Some(at), Some(z)) => day_label(t, utc_to_local(z.tz(), at).date_naive()),
            _ => String::new(),
        };
        let broken = rules(w["violations"].as_array().map_or(&[][..], |v| v.as_slice()));
        let sep = if t.zh { "、" } else { ", " };
        out.push(Problem { text: format!("{day}{}{}", t.w("colon"), broken.join(sep)) });
    }
    out
}

/// The free alternatives of a conflict, as buttons that book them.
fn alternatives(t: &Texts, e: &ServiceError, zone: Zone) -> Vec<AltButton> {
    let list = e.details.as_ref().and_then(|d| d["alternatives"].as_array().cloned()).unwrap_or_default();
    list.iter()
        .filter_map(|a| {
            let s = parse_instant("start", a["when"]["start"].as_str()?).ok()?;
            let en = parse_instant("end", a["when"]["end"].as_str()?).ok()?;
            Some(AltButton {
                label: format!("{} · {}", span_text(t, zone, s, en), a["unit_label"].as_str().unwrap_or("")),
                start: rfc3339(s),
                minutes: (en - s) / MINUTE_MS,
            })
        })
        .collect()
}

async fn book(
    State(state): State<AppState>,
    v: Visitor,
    Path(id): Path<String>,
    form: FormResult<BookForm>,
) -> Response {
    let (user, f) = or_answer!(signed_form(&v, form));
    let (start, end) = or_answer!(v, span_of(&f.start, f.minutes));
    let weeks = f.weeks.unwrap_or(1);
    if !(1..=MAX_WEEKS).contains(&weeks) {
        return v.fail(ServiceError::invalid_field("weeks", "out_of_range", &format!("1 to {MAX_WEEKS} weeks")));
    }
    let req = CreateBooking {
        resource: Some(id.clone()),
        unit: None,
        start: rfc3339(start),
        end: rfc3339(end),
        team: f.team.clone().filter(|t| !t.is_empty()),
        purpose: f.purpose.clone(),
        recurrence: (weeks > 1).then(|| format!("FREQ=WEEKLY;COUNT={weeks}")),
        on_conflict: if f.on_conflict.as_deref() == Some("skip") {
            booking::OnConflict::Skip
        } else {
            booking::OnConflict::Reject
        },
    };
    let now = state.clock.now_ms();
    match booking::book(&state.svc, &user.identity, &req, now).await {
        Ok(Booked::One(b)) => see_other(&format!("/bookings/{}", b.id)),
        Ok(Booked::Series(s)) => {
            // The skipped weeks travel in the address, so that the series page can name them.
            let skipped: Vec<String> =
                s.skipped.iter().filter_map(|k| parse_instant("start", &k.when.start).ok()).map(rfc3339).collect();
            let q = if skipped.is_empty() { String::new() } else { format!("?skipped={}", encode(&skipped.join(","))) };
            see_other(&format!("/series/{}{q}", s.series_id))
        }
        Err(e) if matches!(e.code, Code::PolicyViolation | Code::Conflict | Code::ValidationFailed) => {
            confirm_page(&state, &v, user, &id, start, Some(f.minutes), Some(&e), Confirm::Book { form: Some(&f) })
                .await
        }
        Err(e) => v.fail(e),
    }
}

#[derive(Debug, Deserialize)]
struct StayForm {
    #[serde(default)]
    csrf: String,
    check_in_date: String,
    nights: u32,
}

#[derive(Template)]
#[template(path = "refused.html")]
struct RefusedPage {
    t: &'static Texts,
    nav: Nav,
    back: String,
    problems: Vec<Problem>,
}

async fn stay(
    State(state): State<AppState>,
    v: Visitor,
    Path(id): Path<String>,
    form: FormResult<StayForm>,
) -> Response {
    let (user, f) = or_answer!(signed_form(&v, form));
    let t = v.t;
    let req = CreateStay {
        resource: id.clone(),
        check_in_date: f.check_in_date.clone(),
        nights: f.nights,
        team: None,
        purpose: String::new(),
    };
    match booking::book_stay(&state.svc, &user.identity, &req, state.clock.now_ms()).await {
        Ok(b) => see_other(&format!("/bookings/{}", b.id)),
        Err(e) => {
            let problems = match e.code {
                Code::PolicyViolation => violations(t, &e, None),
                Code::ValidationFailed => field_errors(t, &e).into_iter().map(|text| Problem { text }).collect(),
                Code::Conflict => vec![Problem { text: t.w("no_alternatives").to_owned() }],
                _ => return v.fail(e),
            };
            let back = format!("/resources/{id}?date={}", encode(&f.check_in_date));
            page(t, super::error::status_of(e.code), &RefusedPage { t, nav: v.nav(), back, problems })
        }
    }
}

/// A form's `start` (RFC 3339) and `minutes` as an instant and its end.
fn span_of(start: &str, minutes: i64) -> Result<(i64, i64), ServiceError> {
    let start =
        parse_instant("start", start).map_err(|e| ServiceError::from(crate::domain::ValidationErrors(vec![e])))?;
    let end = minutes
        .checked_mul(MINUTE_MS)
        .and_then(|m| start.checked_add(m))
        .ok_or_else(|| ServiceError::invalid_field("minutes", "out_of_range", "no such length"))?;
    Ok((start, end))
}

// ---------- the waitlist ----------

#[derive(Debug, Deserialize)]
struct WaitForm {
    #[serde(default)]
    csrf: String,
    start: String,
    minutes: i64,
}

/// Waits for a taken time: booked automatically when a unit frees up (the waitlist's
/// promotion), and seen on my page meanwhile.
async fn join_waitlist(
    State(state): State<AppState>,
    v: Visitor,
    Path(id): Path<String>,
    form: FormResult<WaitForm>,
) -> Response {
    let (user, f) = or_answer!(signed_form(&v, form));
    let (start, end) = or_answer!(v, span_of(&f.start, f.minutes));
    let req =
        crate::service::waitlist::JoinWaitlist { resource: id, unit: None, start: rfc3339(start), end: rfc3339(end) };
    match crate::service::waitlist::join(&state.svc, &user.identity, &req, state.clock.now_ms()).await {
        Ok(_) => see_other("/me?waiting=1"),
        Err(e) => v.fail(e),
    }
}

async fn leave_waitlist(
    State(state): State<AppState>,
    v: Visitor,
    Path(id): Path<String>,
    form: FormResult<CsrfForm>,
) -> Response {
    let (user, _) = or_answer!(signed_form(&v, form));
    match crate::service::waitlist::leave(&state.svc, &user.identity, &id).await {
        Ok(()) => see_other("/me"),
        Err(e) => v.fail(e),
    }
}

// ---------- a booking, and mine ----------

#[derive(Template)]
#[template(path = "booking.html")]
struct BookingPage {
    t: &'static Texts,
    nav: Nav,
    id: String,
    heading: &'static str,
    title: String,
    space_name: String,
    space_slug: String,
    resource_id: String,
    when: String,
    status: String,
    pending: bool,
    short: String,
    has_code: bool,
    cancellable: bool,
    movable: bool,
    moved: bool,
    series: String,
}

#[derive(Debug, Default, Deserialize)]
struct BookingQuery {
    #[serde(default)]
    moved: Option<String>,
    #[serde(default)]
    #[allow(dead_code)]
    lang: Option<String>,
}

async fn booking_page(State(state): State<AppState>, v: Visitor, Path(id): Path<String>, uri: Uri) -> Response {
    let user = or_answer!(v.require());
    let q: BookingQuery = or_answer!(query(&v, &uri));
    let t = v.t;
    let (b, zone) = or_answer!(own_booking(&state, &v, user, &id).await);
    let space = or_answer!(v, crate::service::catalog::find_space(&state.svc, &b.space_slug).await);
    let code = checkin::code_of(&state.svc, &b);
    let now = state.clock.now_ms();
    let upcoming = b.status.is_live() && b.starts_at > now;
    let heading = match b.status {
        BookingStatus::Confirmed | BookingStatus::CheckedIn => "booked",
        BookingStatus::Pending => "requested",
        _ => "booking",
    };
    let bp = BookingPage {
        t,
        nav: v.nav(),
        id: b.id.to_string(),
        heading,
        title: booking_title(t, &b),
        space_name: if t.zh { space.name_zh.clone() } else { space.name_en.clone() },
        space_slug: space.slug.clone(),
        resource_id: b.resource_id.to_string(),
        when: span_text(t, zone, b.starts_at, b.ends_at),
        status: status_text(t, b.status),
        pending: b.status == BookingStatus::Pending,
        has_code: code.is_some(),
        short: code.map(|c| c.short).unwrap_or_default(),
        cancellable: upcoming,
        // A stay is moved by an operator; a slot by its maker before it starts.
        movable: upcoming && b.kind != crate::domain::booking::BookingKind::Stay,
        moved: q.moved.is_some(),
        series: b.series_id.clone().map(|s| format!("/series/{s}")).unwrap_or_default(),
    };
    page(t, StatusCode::OK, &bp)
}

#[derive(Template)]
#[template(path = "cancel.html")]
struct CancelPage {
    t: &'static Texts,
    nav: Nav,
    id: String,
    title: String,
    when: String,
    /// Part of a weekly series: cancel this one, the following ones or all.
    series: bool,
    later: usize,
    csrf: String,
}

/// A booking of mine, with its zone, or the error page (another maker's reads as none).
async fn own_booking(
    state: &AppState,
    v: &Visitor,
    user: &SignedIn,
    id: &str,
) -> Result<(crate::store::bookings::BookingRow, Zone), Response> {
    let b = match booking::show(&state.svc, &user.identity, id).await {
        Ok(b) if &b.account_id == user.identity.id() => b,
        Ok(_) => return Err(v.fail(ServiceError::not_found("booking"))),
        Err(e) => return Err(v.fail(e)),
    };
    match Zone::parse("timezone", &b.timezone) {
        Ok(z) => Ok((b, z)),
        Err(_) => Err(v.fail(ServiceError::internal(anyhow::anyhow!("booking {} has a bad zone", b.id)))),
    }
}

fn booking_title(t: &Texts, b: &crate::store::bookings::BookingRow) -> String {
    format!("{} · {}", if t.zh { &b.resource_name_zh } else { &b.resource_name_en }, b.unit_label)
}

/// Asks before cancelling; for a series, which of its bookings.
async fn cancel_page(State(state): State<AppState>, v: Visitor, Path(id): Path<String>) -> Response {
    let user = or_answer!(v.require());
    let (b, zone) = or_answer!(own_booking(&state, &v, user, &id).await);
    if !(b.status.is_live() && b.starts_at > state.clock.now_ms()) {
        return v.fail(ServiceError::new(
            Code::NotCancellable,
            "only a booking that has not started can be cancelled here",
        ));
    }
    let later = match &b.series_id {
        Some(s) => or_answer!(v, booking::my_series(&state.svc, &user.identity, s).await)
            .iter()
            .filter(|x| x.starts_at > b.starts_at && x.status.is_live())
            .count(),
        None => 0,
    };
    let cp = CancelPage {
        t: v.t,
        nav: v.nav(),
        id: b.id.to_string(),
        title: booking_title(v.t, &b),
        when: span_text(v.t, zone, b.starts_at, b.ends_at),
        series: b.series_id.is_some(),
        later,
        csrf: user.csrf.clone(),
    };
    page(v.t, StatusCode::OK, &cp)
}

#[derive(Debug, Deserialize)]
struct CancelForm {
    #[serde(default)]
    csrf: String,
    /// `this` (default), `following` or `series`.
    #[serde(default)]
    scope: Option<String>,
}

async fn cancel(
    State(state): State<AppState>,
    v: Visitor,
    Path(id): Path<String>,
    form: FormResult<CancelForm>,
) -> Response {
    let (user, f) = or_answer!(signed_form(&v, form));
    let scope = match f.scope.as_deref().unwrap_or("this") {
        "this" => booking::CancelScope::This,
        "following" => booking::CancelScope::Following,
        "series" => booking::CancelScope::Series,
        _ => return v.fail(ServiceError::invalid_field("scope", "invalid_format", "this, following or series")),
    };
    let body = CancelBody { reason: None, scope };
    match booking::cancel(&state.svc, &user.identity, &id, &body, state.clock.now_ms()).await {
        Ok(done) => see_other(&format!("/me?cancelled={}", done.len())),
        Err(e) => v.fail(e),
    }
}

// ---------- moving a booking ----------

#[derive(Debug, Default, Deserialize)]
struct MoveQuery {
    #[serde(default)]
    date: Option<String>,
    #[serde(default)]
    start: Option<String>,
    #[serde(default)]
    minutes: Option<i64>,
    #[serde(default)]
    #[allow(dead_code)]
    lang: Option<String>,
}

/// Moving a booking: its resource's week, whose starts lead to confirming the new time; with
/// `start`, that confirm page.
async fn move_page(State(state): State<AppState>, v: Visitor, Path(id): Path<String>, uri: Uri) -> Response {
    let user = or_answer!(v.require());
    let q: MoveQuery = or_answer!(query(&v, &uri));
    let (b, zone) = or_answer!(own_booking(&state, &v, user, &id).await);
    let now = state.clock.now_ms();
    if b.kind == crate::domain::booking::BookingKind::Stay || !b.status.is_live() || b.starts_at <= now {
        let why = if b.kind == crate::domain::booking::BookingKind::Stay {
            "a stay is moved by an operator of the space"
        } else {
            "only a booking that has not started can be moved"
        };
        return v.fail(ServiceError::new(Code::NotMovable, why));
    }
    let rid = b.resource_id.to_string();
    let length = (b.ends_at - b.starts_at) / MINUTE_MS;
    if q.start.is_some() {
        let start = or_answer!(start_of(&v, q.start.as_deref()));
        let chosen = q.minutes.or(Some(length));
        return confirm_page(&state, &v, user, &rid, start, chosen, None, Confirm::Move { booking: &b }).await;
    }
    let first = match q.date.as_deref() {
        Some(d) => FirstDay::Date(Some(d)),
        None => FirstDay::Of(b.starts_at.max(now)),
    };
    let mut w = or_answer!(v, availability::resource_week(&state.svc, &rid, first, 7, now).await);
    w.for_moving(&b.unit_id, own_block(&b));
    let rules = or_answer!(v, rules_in_words(&state, v.t, &w).await);
    let bid = b.id.to_string();
    let days = week_days(v.t, &w, now, &|start, _| {
        format!("/bookings/{bid}/move?start={}&minutes={length}", encode(&rfc3339(start)))
    });
    let moving = span_text(v.t, zone, b.starts_at, b.ends_at);
    page(v.t, StatusCode::OK, &week_page(&v, &w, rules, days, now, moving))
}

/// The time a booking blocks (its span with the buffers).
fn own_block(b: &crate::store::bookings::BookingRow) -> crate::domain::interval::Interval {
    crate::domain::interval::Interval::new(b.blocked_from, b.blocked_until)
        .or_else(|_| crate::domain::interval::Interval::new(b.starts_at, b.ends_at))
        .unwrap_or_else(|_| crate::domain::interval::Interval::new(b.starts_at, b.starts_at + 1).expect("one ms"))
}

#[derive(Debug, Deserialize)]
struct MoveForm {
    #[serde(default)]
    csrf: String,
    start: String,
    minutes: i64,
}

async fn move_booking(
    State(state): State<AppState>,
    v: Visitor,
    Path(id): Path<String>,
    form: FormResult<MoveForm>,
) -> Response {
    let (user, f) = or_answer!(signed_form(&v, form));
    let (start, end) = or_answer!(v, span_of(&f.start, f.minutes));
    let (b, _) = or_answer!(own_booking(&state, &v, user, &id).await);
    let req = booking::MoveBooking { start: Some(rfc3339(start)), end: Some(rfc3339(end)), unit: None };
    match booking::move_booking(&state.svc, &user.identity, &id, &req, state.clock.now_ms()).await {
        Ok(moved) => see_other(&format!("/bookings/{}?moved=1", moved.id)),
        Err(e) if matches!(e.code, Code::PolicyViolation | Code::Conflict | Code::ValidationFailed) => {
            let rid = b.resource_id.to_string();
            confirm_page(&state, &v, user, &rid, start, Some(f.minutes), Some(&e), Confirm::Move { booking: &b }).await
        }
        Err(e) => v.fail(e),
    }
}

// ---------- a weekly series ----------

#[derive(Template)]
#[template(path = "series.html")]
struct SeriesPage {
    t: &'static Texts,
    nav: Nav,
    title: String,
    /// Its bookings still live (not cancelled, declined or a no-show).
    live: usize,
    booked: Vec<MineLine>,
    skipped: Vec<String>,
    /// The first of its bookings that can still be cancelled (to cancel the series from).
    cancel_from: String,
}

#[derive(Debug, Default, Deserialize)]
struct SeriesQuery {
    #[serde(default)]
    skipped: Option<String>,
    #[serde(default)]
    #[allow(dead_code)]
    lang: Option<String>,
}

/// A weekly series of mine: its bookings, and the weeks that were skipped because they
/// clashed or broke a rule.
async fn series_page(State(state): State<AppState>, v: Visitor, Path(id): Path<String>, uri: Uri) -> Response {
    let user = or_answer!(v.require());
    let q: SeriesQuery = or_answer!(query(&v, &uri));
    let t = v.t;
    let rows = or_answer!(v, booking::my_series(&state.svc, &user.identity, &id).await);
    let zone = Zone::parse("timezone", &rows[0].timezone).unwrap_or_default();
    let now = state.clock.now_ms();
    // The address names the skipped weeks; only what reads as an instant is shown.
    let mut skipped: Vec<i64> = q
        .skipped
        .unwrap_or_default()
        .split(',')
        .filter_map(|s| parse_instant("skipped", s).ok())
        .take(usize::try_from(MAX_WEEKS).unwrap_or(12))
        .collect();
    skipped.sort_unstable();
    let skipped = skipped.into_iter().map(|at| day_time(t, zone, at)).collect();
    let cancel_from =
        rows.iter().find(|b| b.status.is_live() && b.starts_at > now).map_or_else(String::new, |b| b.id.to_string());
    let sp = SeriesPage {
        t,
        nav: v.nav(),
        title: booking_title(t, &rows[0]),
        live: rows.iter().filter(|b| b.status.is_live()).count(),
        booked: rows.iter().map(|b| mine_line(t, b)).collect(),
        skipped,
        cancel_from,
    };
    page(t, StatusCode::OK, &sp)
}

fn mine_line(t: &Texts, b: &crate::store::bookings::BookingRow) -> MineLine {
    let when =
        Zone::parse("timezone", &b.timezone).map(|z| span_text(t, z, b.starts_at, b.ends_at)).unwrap_or_default();
    MineLine {
        href: format!("/bookings/{}", b.id),
        title: booking_title(t, b),
        when,
        status: status_text(t, b.status),
        series: b.series_id.clone().map(|s| format!("/series/{s}")).unwrap_or_default(),
    }
}

// ---------- the profile and my teams ----------

#[derive(Template)]
#[template(path = "profile.html")]
struct ProfilePage {
    t: &'static Texts,
    nav: Nav,
    email: String,
    display_name: String,
    zh_chosen: bool,
    verified: bool,
    teams: Vec<(String, String)>,
    /// The spaces I operate: (name, slug), for their kiosks.
    operated: Vec<(String, String)>,
    saved: bool,
    error: String,
    team_error: String,
}

#[derive(Debug, Default, Deserialize)]
struct ProfileQuery {
    #[serde(default)]
    saved: Option<String>,
    #[serde(default)]
    #[allow(dead_code)]
    lang: Option<String>,
}

async fn profile_view(
    state: &AppState,
    v: &Visitor,
    user: &SignedIn,
    saved: bool,
    error: String,
    team_error: String,
) -> Result<ProfilePage, Response> {
    let t = v.t;
    let teams = crate::service::organisations::mine(&state.svc, &user.identity)
        .await
        .map_err(|e| v.fail(e))?
        .into_iter()
        .map(|(o, role)| {
            let role =
                t.w(if role == crate::domain::identity::MemberRole::Owner { "team_owner" } else { "team_member" });
            (o.name, role.to_owned())
        })
        .collect();
    let mut operated = Vec::new();
    for g in user.identity.roles.iter().filter(|g| g.role == crate::domain::identity::Role::Operator) {
        if let Some(space_id) = &g.space_id {
            let space =
                crate::service::catalog::find_space(&state.svc, space_id.as_str()).await.map_err(|e| v.fail(e))?;
            operated.push((if t.zh { space.name_zh } else { space.name_en }, space.slug));
        }
    }
    let a = &user.identity.account;
    Ok(ProfilePage {
        operated,
        t,
        nav: v.nav(),
        email: a.email.clone(),
        display_name: a.display_name.clone(),
        zh_chosen: !a.locale.starts_with("en"),
        verified: a.verified_maker,
        teams,
        saved,
        error,
        team_error,
    })
}

async fn profile_page(State(state): State<AppState>, v: Visitor, uri: Uri) -> Response {
    let user = or_answer!(v.require());
    let q: ProfileQuery = or_answer!(query(&v, &uri));
    let p = or_answer!(profile_view(&state, &v, user, q.saved.is_some(), String::new(), String::new()).await);
    page(v.t, StatusCode::OK, &p)
}

#[derive(Debug, Deserialize)]
struct ProfileForm {
    #[serde(default)]
    csrf: String,
    display_name: String,
    locale: String,
}

/// Saves the name and language; the pages then speak the chosen language.
async fn save_profile(State(state): State<AppState>, v: Visitor, form: FormResult<ProfileForm>) -> Response {
    let (user, f) = or_answer!(signed_form(&v, form));
    let req = accounts::ProfileChange { display_name: f.display_name.clone(), locale: f.locale.clone() };
    match accounts::update_profile(&state.svc, &user.identity, &req).await {
        Ok(a) => {
            let lang = if a.locale.starts_with("en") { "en" } else { "zh" };
            // The switch's `lang=` also remembers the choice in its cookie.
            see_other(&format!("/me/profile?saved=1&lang={lang}"))
        }
        Err(e) if e.code == Code::ValidationFailed => {
            let text = field_errors_text(v.t, &e);
            let p = or_answer!(profile_view(&state, &v, user, false, text, String::new()).await);
            page(v.t, StatusCode::UNPROCESSABLE_ENTITY, &p)
        }
        Err(e) => v.fail(e),
    }
}

#[derive(Debug, Deserialize)]
struct TeamForm {
    #[serde(default)]
    csrf: String,
    name: String,
    /// `team` or `startup`.
    #[serde(default)]
    kind: Option<String>,
}

/// Starts a team or start-up, with me as its owner; bookings can then be made for it.
async fn create_team(State(state): State<AppState>, v: Visitor, form: FormResult<TeamForm>) -> Response {
    let (user, f) = or_answer!(signed_form(&v, form));
    let kind = match f.kind.as_deref() {
        Some("startup") => crate::domain::identity::OrganisationKind::Startup,
        _ => crate::domain::identity::OrganisationKind::Team,
    };
    let req = crate::service::organisations::CreateOrganisation { name: f.name.clone(), kind, slug: None };
    match crate::service::organisations::create(&state.svc, &user.identity, &req, state.clock.now_ms()).await {
        Ok(_) => see_other("/me/profile#teams"),
        Err(e) if e.code == Code::ValidationFailed => {
            let text = field_errors_text(v.t, &e);
            let p = or_answer!(profile_view(&state, &v, user, false, String::new(), text).await);
            page(v.t, StatusCode::UNPROCESSABLE_ENTITY, &p)
        }
        Err(e) => v.fail(e),
    }
}

pub struct MineLine {
    pub href: String,
    pub title: String,
    pub when: String,
    pub status: String,
    /// The page of its weekly series, if it is part of one.
    pub series: String,
}

pub struct Notice {
    pub text: String,
    pub when: String,
    pub href: String,
}

/// A notification in the reader's words: what happened to which booking, and when.
fn notice_line(t: &Texts, n: &crate::store::waitlist::NotificationRow) -> Notice {
    let payload: serde_json::Value = serde_json::from_str(&n.payload).unwrap_or_default();
    let key = format!("notice.{}", n.kind);
    let what = if super::words::has(&key) { t.w(&key).to_owned() } else { n.kind.clone() };
    let resource = payload[if t.zh { "resource_zh" } else { "resource" }].as_str().unwrap_or("");
    let start = payload["when"]["start"].as_str().and_then(|s| parse_instant("start", s).ok());
    let end = payload["when"]["end"].as_str().and_then(|s| parse_instant("end", s).ok());
    let when = match (start, end) {
        (Some(a), Some(b)) => {
            let z = payload["timezone"].as_str().and_then(|z| Zone::parse("timezone", z).ok()).unwrap_or_default();
            span_text(t, z, a, b)
        }
        _ => String::new(),
    };
    let reason = payload["reason"].as_str().filter(|r| !r.is_empty());
    let mut text = format!("{what}{}{resource}", t.w("colon"));
    if let Some(n) = payload["bookings"].as_u64().filter(|n| *n > 1) {
        text.push_str(&format!(" ×{n}"));
    }
    if let Some(r) = reason {
        text.push_str(&format!("（{r}）"));
    }
    let href = payload["booking_id"].as_str().map(|id| format!("/bookings/{id}")).unwrap_or_default();
    Notice { text, when, href }
}

pub struct WaitLine {
    pub id: String,
    pub title: String,
    pub when: String,
}

pub struct EventLine {
    pub topic: String,
    pub when: String,
    pub status: String,
    pub qr: String,
}

#[derive(Template)]
#[template(path = "mine.html")]
struct MinePage {
    t: &'static Texts,
    nav: Nav,
    name: String,
    waiting_ok: bool,
    waiting: Vec<WaitLine>,
    /// The calendar subscription's URL (webcal), when there is one.
    feed: String,
    /// How many bookings were just cancelled.
    cancelled: usize,
    notices: Vec<Notice>,
    events: Vec<EventLine>,
    upcoming: Vec<MineLine>,
    past: Vec<MineLine>,
}

#[derive(Debug, Default, Deserialize)]
struct MineQuery {
    #[serde(default)]
    cancelled: Option<String>,
    #[serde(default)]
    waiting: Option<String>,
    #[serde(default)]
    #[allow(dead_code)]
    lang: Option<String>,
}

/// How far back "past" reaches on my page.
const PAST_DAYS: i64 = 60;

async fn mine_page(State(state): State<AppState>, v: Visitor, uri: Uri) -> Response {
    let user = or_answer!(v.require());
    let q: MineQuery = or_answer!(query(&v, &uri));
    let t = v.t;
    let now = state.clock.now_ms();
    let q_list =
        ListQuery { status: None, from: Some(rfc3339(now - PAST_DAYS * crate::domain::calendar::DAY_MS)), to: None };
    let rows = or_answer!(v, booking::mine(&state.svc, &user.identity, &q_list).await);
    let line = |b: &crate::store::bookings::BookingRow| mine_line(t, b);
    let mut upcoming: Vec<&crate::store::bookings::BookingRow> =
        rows.iter().filter(|b| b.ends_at > now && b.status.is_live()).collect();
    upcoming.sort_by_key(|b| b.starts_at);
    let mut past: Vec<&crate::store::bookings::BookingRow> =
        rows.iter().filter(|b| !(b.ends_at > now && b.status.is_live())).collect();
    past.sort_by_key(|b| std::cmp::Reverse(b.starts_at));
    // Registrations for events not over nor cancelled carry an event code for the kiosk.
    let registrations = or_answer!(v, crate::service::registers::my_registrations(&state.svc, &user.identity).await);
    let mut events = Vec::new();
    for r in registrations.iter().filter(|r| r.event.cancelled_at.is_none() && r.event.ends_at > now) {
        let zone = match crate::service::catalog::find_space(&state.svc, r.event.space_id.as_str()).await {
            Ok(space) => Zone::parse("timezone", &space.timezone).ok(),
            Err(e) => return v.fail(e),
        };
        events.push(EventLine {
            topic: r.event.topic.clone(),
            when: zone.map(|z| span_text(t, z, r.event.starts_at, r.event.ends_at)).unwrap_or_default(),
            status: t.w(if r.attended_at.is_some() { "attended" } else { "registered" }).to_owned(),
            qr: format!("/api/v1/events/{}/registration/qr.svg", r.event.id),
        });
    }
    // Requests waiting for a unit to free up.
    let entries = or_answer!(v, crate::service::waitlist::mine(&state.svc, &user.identity).await);
    let mut waiting = Vec::new();
    for w in entries.iter().filter(|w| w.status == crate::domain::booking::WaitStatus::Waiting) {
        let r = or_answer!(v, crate::service::catalog::find_resource(&state.svc, &w.resource_id).await);
        let zone = match crate::service::catalog::find_space(&state.svc, r.space_id.as_str()).await {
            Ok(space) => Zone::parse("timezone", &space.timezone).ok(),
            Err(e) => return v.fail(e),
        };
        waiting.push(WaitLine {
            id: w.id.clone(),
            title: if t.zh { r.name_zh.clone() } else { r.name_en.clone() },
            when: zone.map(|z| span_text(t, z, w.starts_at, w.ends_at)).unwrap_or_default(),
        });
    }
    let feed = match crate::service::calendar::feed_token_of(&state.svc, &user.identity).await {
        Ok(token) => token.map_or_else(String::new, |tok| feed_url(&v, user, &tok)),
        Err(e) => return v.fail(e),
    };
    let notes = or_answer!(v, crate::service::notify::mine(&state.svc, &user.identity).await);
    // Only what happened to a booking (the outbox's mails are not news here).
    let notices = notes
        .iter()
        .filter(|n| super::words::has(&format!("notice.{}", n.kind)))
        .take(10)
        .map(|n| notice_line(t, n))
        .collect();
    let mp = MinePage {
        t,
        nav: v.nav(),
        name: user.identity.account.display_name.clone(),
        notices,
        waiting_ok: q.waiting.is_some(),
        waiting,
        feed,
        cancelled: q.cancelled.as_deref().map_or(0, |n| n.parse().unwrap_or(1)),
        events,
        upcoming: upcoming.into_iter().map(line).collect(),
        past: past.into_iter().take(30).map(line).collect(),
    };
    page(t, StatusCode::OK, &mp)
}

// ---------- calendar feeds ----------

fn feed_url(v: &Visitor, user: &SignedIn, token: &str) -> String {
    format!("webcal://{}/calendar/{}/{token}.ics", v.host, user.identity.id())
}

fn ics(body: String, file: &str) -> Response {
    let disposition = format!("inline; filename=\"{file}\"");
    let mut res = (
        [(header::CONTENT_TYPE, "text/calendar; charset=utf-8".to_owned()), (header::CONTENT_DISPOSITION, disposition)],
        body,
    )
        .into_response();
    res.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("private, max-age=300"));
    res
}

/// One of my bookings as an `.ics` file ("add to my calendar").
async fn booking_ics(State(state): State<AppState>, v: Visitor, Path(id): Path<String>) -> Response {
    let user = or_answer!(v.require());
    match crate::service::calendar::own_booking(&state.svc, &user.identity, &id).await {
        Ok(b) => {
            let title = if v.t.zh { b.resource_name_zh.clone() } else { b.resource_name_en.clone() };
            ics(super::ics::bookings(&title, std::slice::from_ref(&b), v.t.zh, state.clock.now_ms()), "booking.ics")
        }
        Err(e) => v.fail(e),
    }
}

/// A resource's busy times for anyone, with no names in them.
async fn busy_ics(State(state): State<AppState>, v: Visitor, Path(id): Path<String>) -> Response {
    match crate::service::calendar::busy(&state.svc, &id, state.clock.now_ms()).await {
        Ok(b) => {
            let name = if v.t.zh { &b.resource.name_zh } else { &b.resource.name_en };
            let body = super::ics::busy(name, b.resource.id.as_str(), &b.busy, v.t.zh, state.clock.now_ms());
            ics(body, "busy.ics")
        }
        Err(e) => v.fail(e),
    }
}

/// A maker's calendar subscription, read by their calendar app with no login: the URL is
/// the secret.
async fn feed_ics(
    State(state): State<AppState>,
    v: Visitor,
    Path((account, file)): Path<(String, String)>,
) -> Response {
    let token = file.strip_suffix(".ics").unwrap_or(&file);
    match crate::service::calendar::feed(&state.svc, &account, token, state.clock.now_ms()).await {
        Ok((name, rows)) => {
            let title = format!("labinn · {name}");
            ics(super::ics::bookings(&title, &rows, v.t.zh, state.clock.now_ms()), "labinn.ics")
        }
        Err(e) => v.fail(e),
    }
}

async fn renew_feed(State(state): State<AppState>, v: Visitor, form: FormResult<CsrfForm>) -> Response {
    let (user, _) = or_answer!(signed_form(&v, form));
    match crate::service::calendar::renew_feed(&state.svc, &user.identity, state.clock.now_ms()).await {
        Ok(_) => see_other("/me#calendar"),
        Err(e) => v.fail(e),
    }
}

async fn revoke_feed(State(state): State<AppState>, v: Visitor, form: FormResult<CsrfForm>) -> Response {
    let (user, _) = or_answer!(signed_form(&v, form));
    match crate::service::calendar::revoke_feed(&state.svc, &user.identity).await {
        Ok(_) => see_other("/me#calendar"),
        Err(e) => v.fail(e),
    }
}

// ---------- the kiosks of a space (its operators) ----------

pub struct KioskLine {
    pub id: String,
    pub name: String,
    pub state: String,
    pub revoked: bool,
}

/// A pairing code just made, as the page shows it: large, and as a QR code of the kiosk
/// page's address with the code (a tablet's camera opens it and the kiosk pairs itself).
pub struct PairingShown {
    pub name: String,
    pub code: String,
    pub until: String,
    pub url: String,
    pub qr: String,
}

#[derive(Template)]
#[template(path = "kiosks.html")]
struct KiosksPage {
    t: &'static Texts,
    nav: Nav,
    slug: String,
    space_name: String,
    tab: &'static str,
    kiosks: Vec<KioskLine>,
    /// A pairing code just made.
    code: Option<PairingShown>,
    done: String,
    error: String,
}

async fn kiosks_view(
    state: &AppState,
    v: &Visitor,
    op: &crate::service::powers::OperatorOf,
    code: Option<&checkin::Pairing>,
    (done, error): (&str, String),
) -> Response {
    let t = v.t;
    let space = op.space();
    let zone = Zone::parse("timezone", &space.timezone).unwrap_or_default();
    let rows = or_answer!(v, checkin::kiosks(&state.svc, op).await);
    let kiosks = rows
        .iter()
        .map(|k| KioskLine {
            id: k.id.clone(),
            name: k.name.clone(),
            revoked: k.revoked_at.is_some(),
            state: if k.revoked_at.is_some() {
                t.w("kiosk_revoked").to_owned()
            } else if let Some(seen) = k.last_seen_at {
                let day = day_label(t, utc_to_local(zone.tz(), seen).date_naive());
                format!("{}{}{day} {}", t.w("kiosk_last_scan"), t.w("colon"), hh_mm(zone, seen))
            } else if k.paired_at.is_some() {
                t.w("kiosk_paired").to_owned()
            } else {
                t.w("kiosk_waiting").to_owned()
            },
        })
        .collect();
    let code = match code {
        None => None,
        Some(p) => {
            // Behind TLS (secure cookies), the kiosk page is https too.
            let scheme = if state.svc.config.cookie_secure { "https" } else { "http" };
            let url = format!("{scheme}://{}/kiosk?pair={}", v.host, encode(&p.code));
            Some(PairingShown {
                name: p.kiosk.name.clone(),
                code: p.code.clone(),
                until: format!("{} ({})", hh_mm(zone, p.expires_at), space.timezone),
                qr: or_answer!(v, super::views::qr_svg(&url, 240)),
                url,
            })
        }
    };
    let kp = KiosksPage {
        t,
        nav: v.nav(),
        slug: space.slug.clone(),
        space_name: if t.zh { space.name_zh.clone() } else { space.name_en.clone() },
        tab: "kiosks",
        kiosks,
        code,
        done: if done.is_empty() { String::new() } else { t.w(done).to_owned() },
        error,
    };
    page(t, if kp.error.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY }, &kp)
}

/// The kiosks of a space I operate, and a pairing code for a new one (the kiosk's pairing
/// screen asks for it).
async fn kiosks_page(State(state): State<AppState>, v: Visitor, Path(slug): Path<String>) -> Response {
    let user = or_answer!(v.require());
    let op = or_answer!(v, checkin::kiosk_operator(&state.svc, &user.identity, &slug).await);
    kiosks_view(&state, &v, &op, None, ("", String::new())).await
}

#[derive(Debug, Deserialize)]
struct KioskForm {
    #[serde(default)]
    csrf: String,
    name: String,
}

/// Registers a kiosk and shows its one-time pairing code (once, on this answer only).
async fn add_kiosk(
    State(state): State<AppState>,
    v: Visitor,
    Path(slug): Path<String>,
    form: FormResult<KioskForm>,
) -> Response {
    let (user, f) = or_answer!(signed_form(&v, form));
    let op = or_answer!(v, checkin::kiosk_operator(&state.svc, &user.identity, &slug).await);
    let req = checkin::CreateKiosk { name: f.name.clone(), resource: None };
    match checkin::create_kiosk(&state.svc, &op, &req, state.clock.now_ms()).await {
        Ok(p) => kiosks_view(&state, &v, &op, Some(&p), ("", String::new())).await,
        Err(e) if e.code == Code::ValidationFailed => {
            let text = field_errors_text(v.t, &e);
            kiosks_view(&state, &v, &op, None, ("", text)).await
        }
        Err(e) => v.fail(e),
    }
}

/// A new pairing code for a kiosk of my space (its old device token stops working).
async fn repair_kiosk(
    State(state): State<AppState>,
    v: Visitor,
    Path((slug, id)): Path<(String, String)>,
    form: FormResult<CsrfForm>,
) -> Response {
    let (user, _) = or_answer!(signed_form(&v, form));
    let op = or_answer!(v, checkin::kiosk_operator(&state.svc, &user.identity, &slug).await);
    let k = or_answer!(v, checkin::operated_kiosk(&state.svc, &user.identity, &id).await);
    if k.row().space_id != op.space().id {
        return v.fail(ServiceError::not_found("kiosk"));
    }
    match checkin::new_pairing_code(&state.svc, &k, state.clock.now_ms()).await {
        Ok(p) => kiosks_view(&state, &v, &op, Some(&p), ("", String::new())).await,
        Err(e) => v.fail(e),
    }
}

/// Revokes a kiosk of my space: its device token stops working at once; its scans stay.
async fn revoke_kiosk(
    State(state): State<AppState>,
    v: Visitor,
    Path((slug, id)): Path<(String, String)>,
    form: FormResult<CsrfForm>,
) -> Response {
    let (user, _) = or_answer!(signed_form(&v, form));
    let op = or_answer!(v, checkin::kiosk_operator(&state.svc, &user.identity, &slug).await);
    let k = or_answer!(v, checkin::operated_kiosk(&state.svc, &user.identity, &id).await);
    if k.row().space_id != op.space().id {
        return v.fail(ServiceError::not_found("kiosk"));
    }
    or_answer!(v, checkin::revoke_kiosk(&state.svc, &k, state.clock.now_ms()).await);
    kiosks_view(&state, &v, &op, None, ("kiosk_revoked_done", String::new())).await
}

pub struct ScanLine {
    pub when: String,
    pub decision: String,
    pub class: &'static str,
    pub reason: String,
    pub booking: String,
}

#[derive(Template)]
#[template(path = "kiosk_log.html")]
struct KioskLogPage {
    t: &'static Texts,
    nav: Nav,
    slug: String,
    space_name: String,
    tab: &'static str,
    name: String,
    state: String,
    scans: Vec<ScanLine>,
}

/// A kiosk's scan log: its latest 200 scans, granted and denied, newest first.
async fn kiosk_log(State(state): State<AppState>, v: Visitor, Path((slug, id)): Path<(String, String)>) -> Response {
    let user = or_answer!(v.require());
    let op = or_answer!(v, checkin::kiosk_operator(&state.svc, &user.identity, &slug).await);
    let k = or_answer!(v, checkin::operated_kiosk(&state.svc, &user.identity, &id).await);
    if k.row().space_id != op.space().id {
        return v.fail(ServiceError::not_found("kiosk"));
    }
    let t = v.t;
    let space = op.space();
    let zone = Zone::parse("timezone", &space.timezone).unwrap_or_default();
    let scans = or_answer!(v, checkin::kiosk_scans(&state.svc, &k).await)
        .into_iter()
        .map(|(booking, decision, reason, at)| {
            let granted = decision != crate::domain::checkin::ScanDecision::Deny;
            ScanLine {
                when: day_time(t, zone, at),
                decision: t.w(&format!("scan.{}", decision.as_str())).to_owned(),
                class: if granted { "met" } else { "not-met" },
                reason: reason
                    .map(|r| {
                        let key = format!("deny.{r}");
                        if super::words::has(&key) { t.w(&key).to_owned() } else { r }
                    })
                    .unwrap_or_default(),
                booking: booking.map(|b| format!("/ops/{}/bookings/{b}", space.slug)).unwrap_or_default(),
            }
        })
        .collect();
    let row = k.row();
    let p = KioskLogPage {
        t,
        nav: v.nav(),
        slug: space.slug.clone(),
        space_name: if t.zh { space.name_zh.clone() } else { space.name_en.clone() },
        tab: "kiosks",
        name: row.name.clone(),
        state: if row.revoked_at.is_some() {
            t.w("kiosk_revoked").to_owned()
        } else if row.paired_at.is_some() {
            t.w("kiosk_paired").to_owned()
        } else {
            t.w("kiosk_waiting").to_owned()
        },
        scans,
    };
    page(t, StatusCode::OK, &p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_week_shows_starts_at_least_half_an_hour_apart_on_the_slots() {
        assert_eq!(shown_step(15), 30);
        assert_eq!(shown_step(10), 30);
        // 40 from midnight would hide a 09:00 opening: every slot shows.
        assert_eq!(shown_step(20), 20);
        assert_eq!(shown_step(25), 25);
        assert_eq!(shown_step(30), 30);
        assert_eq!(shown_step(60), 60);
        assert_eq!(shown_step(1440), 1440);
    }

    #[test]
    fn next_stays_on_this_site() {
        assert_eq!(safe_next(Some("/resources/x?date=2026-09-07")), "/resources/x?date=2026-09-07");
        assert_eq!(safe_next(Some("//evil.example/")), "/me");
        assert_eq!(safe_next(Some("https://evil.example/")), "/me");
        assert_eq!(safe_next(Some("/\\evil.example")), "/me");
        assert_eq!(safe_next(Some("/\t/evil.example")), "/me");
        assert_eq!(safe_next(Some("/\n/evil.example")), "/me");
        assert_eq!(safe_next(Some("/ /evil.example")), "/me");
        assert_eq!(safe_next(None), "/me");
    }

    #[test]
    fn a_booking_across_days_names_both_days() {
        let z = Zone::parse("timezone", "Asia/Shanghai").unwrap();
        let at = |d: u32, h: u32| {
            crate::domain::calendar::local_to_utc(
                z.tz(),
                chrono::NaiveDate::from_ymd_opt(2026, 12, d).unwrap().and_hms_opt(h, 0, 0).unwrap(),
            )
        };
        let zh = super::super::pages::texts(Some("zh"));
        let en = super::super::pages::texts(Some("en"));
        assert_eq!(span_text(zh, z, at(5, 14), at(8, 12)), "12月5日 周六 14:00 – 12月8日 周二 12:00");
        assert_eq!(span_text(en, z, at(7, 10), at(7, 11)), "Mon 7 Dec 10:00–11:00");
    }

    #[test]
    fn the_hour_a_fall_back_repeats_names_its_offset_everywhere_and_other_hours_do_not() {
        let z = Zone::parse("timezone", "America/Los_Angeles").unwrap();
        // 2026-11-01: 01:00 PDT is 08:00Z, 01:00 PST is 09:00Z.
        let at = |h: i64| crate::domain::calendar::parse_instant("t", &format!("2026-11-01T{h:02}:00:00Z")).unwrap();
        assert_eq!(hh_mm(z, at(8)), "01:00 PDT");
        assert_eq!(hh_mm(z, at(9)), "01:00 PST");
        assert_eq!(hh_mm(z, at(10)), "02:00");
        assert_eq!(hh_mm(z, at(7)), "00:00");
        let en = super::super::pages::texts(Some("en"));
        assert_eq!(span_text(en, z, at(9), at(10)), "Sun 1 Nov 01:00 PST–02:00");
        let berlin = Zone::parse("timezone", "Europe/Berlin").unwrap();
        // 2026-10-25: 02:00 CEST is 00:00Z, 02:00 CET is 01:00Z.
        let b = |h: i64| crate::domain::calendar::parse_instant("t", &format!("2026-10-25T{h:02}:00:00Z")).unwrap();
        assert_eq!((hh_mm(berlin, b(0)), hh_mm(berlin, b(1))), ("02:00 CEST".into(), "02:00 CET".into()));
    }

    #[test]
    fn the_form_token_is_the_logins_and_no_other() {
        assert_eq!(csrf_of("lbn_a"), csrf_of("lbn_a"));
        assert_ne!(csrf_of("lbn_a"), csrf_of("lbn_b"));
        assert_eq!(csrf_of("lbn_a").len(), 32);
    }
}
