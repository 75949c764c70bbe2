//! Server-rendered public pages: the maker map (`/`) and a space's page (`/spaces/{slug}`).
//! Chinese by default; `?lang=en` switches to English. Usable on a phone. They call the
//! same use cases as the API ([`crate::service`]); a failure is an HTML page in the
//! reader's language ([`PageError`]), never the API's JSON.

use super::AppState;
use super::error::{IsProblem, status_of};
use crate::domain::calendar::format_local;
use crate::domain::catalog::SpaceKind;
use crate::domain::policy::{Eligibility, ResourceKind};
use crate::service::availability::{self, SpaceOnMap};
use crate::service::catalog::{find_space, space_detail, zone_of};
use crate::service::{Code, ServiceError};
use askama::Template;
use axum::Router;
use axum::extract::{Path, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, Uri, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use chrono::Duration;
use serde::Deserialize;

pub fn router() -> Router<AppState> {
    Router::new()
        .merge(super::maker::router())
        .route("/", get(map_page))
        .route("/spaces/{slug}", get(space_page))
        .route("/kiosk", get(|| kiosk_file("text/html; charset=utf-8", KIOSK_HTML)))
        .route("/kiosk/", get(|| kiosk_file("text/html; charset=utf-8", KIOSK_HTML)))
        .route("/kiosk/kiosk.js", get(|| kiosk_file("text/javascript; charset=utf-8", KIOSK_JS)))
        .route("/kiosk/kiosk.css", get(|| kiosk_file("text/css; charset=utf-8", KIOSK_CSS)))
        .route("/favicon.svg", get(favicon))
        .route("/favicon.ico", get(favicon))
        .layer(axum::middleware::from_fn(remember_lang))
}

/// The cookie that remembers the reader's language (`zh` or `en`), set by a `?lang=` switch.
pub const LANG_COOKIE: &str = "labinn_lang";

/// A page asked for with `?lang=` remembers the choice for the pages after it (the kiosk's
/// page reads the same cookie).
/// The `Set-Cookie` value that remembers a language (`zh` or `en`) for a year.
pub fn lang_cookie(lang: &str) -> Option<HeaderValue> {
    HeaderValue::from_str(&format!("{LANG_COOKIE}={lang}; Path=/; Max-Age=31536000; SameSite=Lax")).ok()
}

async fn remember_lang(req: Request, next: Next) -> Response {
    let chosen =
        lang_param(req.uri().query()).map(|l| if l.to_ascii_lowercase().starts_with("en") { "en" } else { "zh" });
    let mut res = next.run(req).await;
    if let Some(lang) = chosen
        && let Some(v) = lang_cookie(lang)
    {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
    res
}

fn lang_param(query: Option<&str>) -> Option<&str> {
    query.unwrap_or_default().split('&').find_map(|kv| kv.strip_prefix("lang=")).filter(|l| !l.is_empty())
}
// The kiosk page: plain files in `kiosk/`, compiled into the binary.
const KIOSK_HTML: &str = include_str!("../../kiosk/index.html");
const KIOSK_JS: &str = include_str!("../../kiosk/kiosk.js");
const KIOSK_CSS: &str = include_str!("../../kiosk/kiosk.css");

/// The site's icon: a door with a check mark, in the pages' blue.
const FAVICON: &str = "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 32 32\">\
<rect width=\"32\" height=\"32\" rx=\"7\" fill=\"#1f5fbf\"/>\
<path d=\"M9 17l5 5 9-11\" fill=\"none\" stroke=\"#fff\" stroke-width=\"3.5\" stroke-linecap=\"round\" stroke-linejoin=\"round\"/></svg>";

async fn favicon() -> impl axum::response::IntoResponse {
    (
        [
            (axum::http::header::CONTENT_TYPE, "image/svg+xml"),
            (axum::http::header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        FAVICON,
    )
}

async fn kiosk_file(content_type: &'static str, body: &'static str) -> impl axum::response::IntoResponse {
    ([(axum::http::header::CONTENT_TYPE, content_type), (axum::http::header::CACHE_CONTROL, "no-cache")], body)
}

#[derive(Debug, Default, Deserialize)]
pub struct PageQuery {
    /// Read by [`texts_of`] from the raw query; here so that it is not an unknown field.
    #[serde(default)]
    #[allow(dead_code)]
    lang: Option<String>,
    #[serde(default)]
    date: Option<String>,
}

impl PageQuery {
    /// The query of a page request. One that does not parse is an error page in the
    /// language its `lang=` asks for, if that much can be read.
    fn parse(uri: &Uri) -> Result<PageQuery, PageError> {
        axum::extract::Query::<PageQuery>::try_from_uri(uri).map(|q| q.0).map_err(|e| PageError {
            t: texts_of_query(uri.query()),
            error: ServiceError::new(Code::InvalidQuery, e.body_text()),
            nav: None,
        })
    }
}

/// The signed-in reader in a page's header (signed out: the default).
#[derive(Debug, Default)]
pub struct Nav {
    pub signed_in: bool,
    pub name: String,
    pub csrf: String,
    /// The page's query without `lang=`, as `&k=v…`, so that the language switch stays on
    /// the same page (a confirm page keeps its start time).
    pub keep: String,
    /// The path the language switch goes to: empty for this page; for a page answering a
    /// form, the page the form was sent from.
    pub path: String,
    /// The reader runs a space (or is an admin): the header links to the operator console.
    pub operator: bool,
    /// The reader reviews the district (or is an admin): the header links to `/review`.
    pub reviewer: bool,
    /// The reader is an admin: the header links to `/admin`.
    pub admin: bool,
}

impl Nav {
    /// The `keep` of a request's raw query.
    pub fn keep_of(query: Option<&str>) -> String {
        query
            .unwrap_or_default()
            .split('&')
            .filter(|kv| !kv.is_empty() && !kv.starts_with("lang="))
            .map(|kv| format!("&{kv}"))
            .collect()
    }
}

/// The words of a page in one language.
#[derive(Debug)]
pub struct Texts {
    pub zh: bool,
    pub html_lang: &'static str,
    pub other_lang_label: &'static str,
    pub other_lang_param: &'static str,
    pub lang_param: &'static str,
    pub site: &'static str,
    pub tagline: &'static str,
    pub open_now: &'static str,
    pub closed: &'static str,
    pub until: &'static str,
    pub opens: &'static str,
    pub partners: &'static str,
    pub no_spaces: &'static str,
    pub back: &'static str,
    pub free_on: &'static str,
    pub none_free: &'static str,
    pub prev_day: &'static str,
    pub next_day: &'static str,
    pub units: &'static str,
    pub unit: &'static str,
    pub approval: &'static str,
    pub training: &'static str,
    pub verified_only: &'static str,
    pub free_of_charge: &'static str,
    pub walk_ups: &'static str,
    pub more_units: &'static str,
    pub local_time: &'static str,
    pub api_hint: &'static str,
    pub error_code: &'static str,
}

const ZH: Texts = Texts {
    zh: true,
    html_lang: "zh-CN",
    other_lang_label: "English",
    other_lang_param: "en",
    lang_param: "zh",
    site: "龙岗创客地图",
    tagline: "找到身边的众创空间、共享设备、创客客栈和免费工位",
    open_now: "营业中",
    closed: "已关闭",
    until: "至",
    opens: "开放时间",
    partners: "国际合作实验室",
    no_spaces: "还没有空间。",
    back: "← 返回创客地图",
    free_on: "空闲时段",
    none_free: "今日无空闲",
    prev_day: "← 前一天",
    next_day: "后一天 →",
    units: "个单元",
    unit: "个单元",
    approval: "需运营方审批",
    training: "需完成培训",
    verified_only: "仅限认证创客",
    free_of_charge: "免费",
    walk_ups: "可现场扫码使用",
    more_units: "更多单元",
    local_time: "当地时间",
    api_hint: "开发者：JSON 接口见",
    error_code: "错误代码",
};

const EN: Texts = Texts {
    zh: false,
    html_lang: "en",
    other_lang_label: "中文",
    other_lang_param: "zh",
    lang_param: "en",
    site: "Longgang Maker Map",
    tagline: "Find maker spaces, shared tools, maker-inn rooms and free desks near you",
    open_now: "Open now",
    closed: "Closed",
    until: "until",
    opens: "opens",
    partners: "International partner labs",
    no_spaces: "No spaces yet.",
    back: "← Back to the maker map",
    free_on: "Free on",
    none_free: "nothing free this day",
    prev_day: "← Previous day",
    next_day: "Next day →",
    units: "units",
    unit: "unit",
    approval: "needs operator approval",
    training: "needs training",
    verified_only: "verified makers only",
    free_of_charge: "free",
    walk_ups: "walk-ups welcome",
    more_units: "more units",
    local_time: "local time",
    api_hint: "Developers: the JSON API is described at",
    error_code: "Error code",
};

impl Texts {
    /// A word of the maker pages ([`super::words`]).
    pub fn w(&self, key: &str) -> &'static str {
        super::words::word(self.zh, key)
    }
}

/// The words a raw query's `lang=` asks for, when the query as a whole could not be read.
fn texts_of_query(query: Option<&str>) -> &'static Texts {
    texts(lang_param(query))
}

/// The reader's language: the query's `lang=`, else the remembered choice, else Chinese.
pub fn texts_of(parts: &Parts) -> &'static Texts {
    match lang_param(parts.uri.query()) {
        Some(l) => texts(Some(l)),
        None => texts(super::extract::cookie(parts, LANG_COOKIE)),
    }
}

pub fn texts(lang: Option<&str>) -> &'static Texts {
    match lang.map(str::to_ascii_lowercase).as_deref() {
        Some(l) if l.starts_with("en") => &EN,
        _ => &ZH,
    }
}

fn kind_label(kind: &str, zh: bool) -> String {
    SpaceKind::from_db(kind).map_or_else(|| kind.to_owned(), |k| k.label(zh).to_owned())
}

pub fn resource_kind_label(kind: &str, zh: bool) -> &'static str {
    match (ResourceKind::from_db(kind), zh) {
        (Some(ResourceKind::Tool), true) => "共享设备",
        (Some(ResourceKind::LabFacility), true) => "开放实验设施",
        (Some(ResourceKind::InnRoom), true) => "创客客栈房间",
        (Some(ResourceKind::BroadbandSeat), true) => "免费宽带工位",
        (Some(ResourceKind::Tool), false) => "Tools",
        (Some(ResourceKind::LabFacility), false) => "Lab facilities",
        (Some(ResourceKind::InnRoom), false) => "Inn rooms",
        (Some(ResourceKind::BroadbandSeat), false) => "Broadband seats",
        (None, _) => "",
    }
}

/// `HH:MM` of an RFC 3339 local string.
fn hhmm(local: &str) -> String {
    local.get(11..16).unwrap_or(local).to_owned()
}

pub struct MapCard {
    pub slug: String,
    pub name: String,
    pub other_name: String,
    pub kind: String,
    pub address: String,
    pub kinds: Vec<&'static str>,
    pub open_now: bool,
    pub status: String,
    /// Position on the mini-map, in per cent of its width and height.
    pub x: f64,
    pub y: f64,
    pub on_map: bool,
    /// Put the label under the dot (when another pin above it is close).
    pub label_below: bool,
}

#[derive(Template)]
#[template(path = "map.html")]
struct MapPage {
    t: &'static Texts,
    nav: Nav,
    district: Vec<MapCard>,
    partners: Vec<MapCard>,
}

fn card(m: &SpaceOnMap, t: &Texts) -> MapCard {
    let s = &m.space;
    let local = |at: i64| format_local(m.zone.tz(), at);
    let status = match (m.open.until, m.open.next_open) {
        (Some(u), _) if m.open.open_now => format!("{} · {} {}", t.open_now, t.until, hhmm(&local(u))),
        (_, Some(n)) => {
            let n = local(n);
            format!("{} · {} {} {}", t.closed, t.opens, n.get(5..10).unwrap_or(""), hhmm(&n))
        }
        _ if m.open.open_now => t.open_now.to_owned(),
        _ => t.closed.to_owned(),
    };
    MapCard {
        slug: s.slug.clone(),
        name: if t.zh { s.name_zh.clone() } else { s.name_en.clone() },
        other_name: if t.zh { s.name_en.clone() } else { s.name_zh.clone() },
        kind: kind_label(&s.kind, t.zh),
        address: s.address.clone(),
        kinds: m.resource_kinds.iter().map(|k| resource_kind_label(k, t.zh)).collect(),
        open_now: m.open.open_now,
        status,
        x: 0.0,
        y: 0.0,
        on_map: false,
        label_below: false,
    }
}

async fn map_page(State(state): State<AppState>, v: super::maker::Visitor, uri: Uri) -> PageResult {
    PageQuery::parse(&uri)?;
    let t = v.t;
    let spaces = availability::map(&state.svc, state.clock.now_ms()).await.map_err(|e| PageError::new(t, e))?;
    // The district is where most spaces are; partner labs abroad are listed apart.
    let home_zone = {
        let mut zones: Vec<&str> = spaces.iter().map(|s| s.space.timezone.as_str()).collect();
        zones.sort_unstable();
        let mut best = ("Asia/Shanghai", 0);
        for z in &zones {
            let n = zones.iter().filter(|x| *x == z).count();
            if n > best.1 {
                best = (z, n);
            }
        }
        best.0.to_owned()
    };
    let (home, abroad): (Vec<&SpaceOnMap>, Vec<&SpaceOnMap>) =
        spaces.iter().partition(|s| s.space.timezone == home_zone);
    let mut district: Vec<MapCard> = home.iter().map(|s| card(s, t)).collect();
    let points: Vec<(f64, f64)> = home.iter().filter_map(|s| s.space.latitude.zip(s.space.longitude)).collect();
    if !points.is_empty() {
        let (mut lat0, mut lat1, mut lon0, mut lon1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
        for (la, lo) in &points {
            lat0 = lat0.min(*la);
            lat1 = lat1.max(*la);
            lon0 = lon0.min(*lo);
            lon1 = lon1.max(*lo);
        }
        let (dlat, dlon) = ((lat1 - lat0).max(0.002), (lon1 - lon0).max(0.002));
        for (c, s) in district.iter_mut().zip(&home) {
            if let (Some(la), Some(lo)) = (s.space.latitude, s.space.longitude) {
                c.on_map = true;
                c.x = 14.0 + 72.0 * (lo - lon0) / dlon;
                c.y = 18.0 + 70.0 * (lat1 - la) / dlat;
            }
        }
    }
    // Pins close to an earlier one get their label below the dot, so labels do not overlap.
    for i in 0..district.len() {
        let (xi, yi, on) = (district[i].x, district[i].y, district[i].on_map);
        district[i].label_below = on
            && district[..i]
                .iter()
                .any(|c| c.on_map && !c.label_below && (c.x - xi).abs() < 30.0 && (c.y - yi).abs() < 12.0);
    }
    let partners = abroad.iter().map(|s| card(s, t)).collect();
    render(t, &MapPage { t, nav: v.nav(), district, partners })
}

pub struct UnitLine {
    pub label: String,
    pub slots: Vec<String>,
}

pub struct ResourceBlock {
    pub href: String,
    pub name: String,
    pub other_name: String,
    pub kind: &'static str,
    pub description: String,
    pub unit_count: usize,
    pub notes: Vec<String>,
    pub price: String,
    pub units: Vec<UnitLine>,
    pub hidden_units: usize,
}

#[derive(Template)]
#[template(path = "space.html")]
struct SpacePage {
    t: &'static Texts,
    nav: Nav,
    name: String,
    other_name: String,
    kind: String,
    address: String,
    contact: String,
    timezone: String,
    status: String,
    open_now: bool,
    date: String,
    prev: String,
    next: String,
    resources: Vec<ResourceBlock>,
}

const SHOWN_UNITS: usize = 8;

async fn space_page(
    State(state): State<AppState>,
    v: super::maker::Visitor,
    Path(slug): Path<String>,
    uri: Uri,
) -> PageResult {
    let q = PageQuery::parse(&uri)?;
    let t = v.t;
    space_page_in(&state, &slug, &q, t, v.nav()).await.map_err(|e| PageError::new(t, e))
}

async fn space_page_in(
    state: &AppState,
    slug: &str,
    q: &PageQuery,
    t: &'static Texts,
    nav: Nav,
) -> Result<Html<String>, ServiceError> {
    let svc = &state.svc;
    let now = state.clock.now_ms();
    let space = find_space(svc, slug).await?;
    let zone = zone_of(&space)?;
    let open = availability::open_state(svc, &space, now).await?;
    let detail = space_detail(svc, space.id.as_str()).await?;
    let day = availability::space_day(svc, space.clone(), q.date.as_deref(), now).await?;
    let status = match (open.until, open.next_open) {
        (Some(u), _) => format!("{} · {} {}", t.open_now, t.until, hhmm(&format_local(zone.tz(), u))),
        (None, Some(n)) => {
            format!("{} · {} {}", t.closed, t.opens, &format_local(zone.tz(), n)[5..16].replace('T', " "))
        }
        _ if open.open_now => t.open_now.to_owned(),
        _ => t.closed.to_owned(),
    };
    let local_hhmm = |at: i64| hhmm(&format_local(zone.tz(), at));
    let mut resources = Vec::new();
    for (r, avail) in detail.resources.iter().zip(&day.resources) {
        let (row, policy) = (&r.resource, &r.policy);
        let mut notes = Vec::new();
        if policy.requires_approval {
            notes.push(t.approval.to_owned());
        }
        if !policy.required_trainings.is_empty() {
            let names = crate::service::trainings::named(svc, &policy.required_trainings).await?;
            let names: Vec<String> = names.into_iter().map(|(zh, en)| if t.zh { zh } else { en }).collect();
            notes.push(format!("{}: {}", t.training, names.join(", ")));
        }
        if policy.eligibility == Eligibility::VerifiedMakers {
            notes.push(t.verified_only.to_owned());
        }
        if policy.walk_ups_allowed {
            notes.push(t.walk_ups.to_owned());
        }
        let price = if policy.price.amount_minor == 0 {
            t.free_of_charge.to_owned()
        } else {
            let per = match (policy.price.per.as_str(), t.zh) {
                ("night", true) => "晚",
                ("night", false) => "night",
                (_, true) => "小时",
                (_, false) => "hour",
            };
            format!("{} {:.2} / {per}", policy.price.currency, policy.price.amount_minor as f64 / 100.0)
        };
        let lines: Vec<UnitLine> = avail
            .units
            .iter()
            .map(|(u, free)| UnitLine {
                label: u.label.clone(),
                slots: free.iter().map(|f| format!("{}–{}", local_hhmm(f.start()), local_hhmm(f.end()))).collect(),
            })
            .collect();
        let hidden = lines.len().saturating_sub(SHOWN_UNITS);
        resources.push(ResourceBlock {
            href: format!("/resources/{}", row.id),
            name: if t.zh { row.name_zh.clone() } else { row.name_en.clone() },
            other_name: if t.zh { row.name_en.clone() } else { row.name_zh.clone() },
            kind: resource_kind_label(&row.kind, t.zh),
            description: row.description.clone(),
            unit_count: r.units.len(),
            notes,
            price,
            units: lines.into_iter().take(SHOWN_UNITS).collect(),
            hidden_units: hidden,
        });
    }
    let page = SpacePage {
        t,
        nav,
        name: if t.zh { space.name_zh.clone() } else { space.name_en.clone() },
        other_name: if t.zh { space.name_en.clone() } else { space.name_zh.clone() },
        kind: kind_label(&space.kind, t.zh),
        address: space.address.clone(),
        contact: space.contact.clone(),
        timezone: space.timezone.clone(),
        status,
        open_now: open.open_now,
        date: day.date.to_string(),
        prev: (day.date - Duration::days(1)).to_string(),
        next: (day.date + Duration::days(1)).to_string(),
        resources,
    };
    page.render().map(Html).map_err(ServiceError::internal)
}

fn render(t: &'static Texts, page: &impl Template) -> PageResult {
    page.render().map(Html).map_err(|e| PageError::new(t, ServiceError::internal(e)))
}

type PageResult = Result<Html<String>, PageError>;

/// A failure on a page: an HTML page in the reader's language, with the status the API
/// would answer and the stable code in a `<meta name="labinn-error">` (the API's JSON
/// problem is for the API).
#[derive(Debug)]
pub struct PageError {
    t: &'static Texts,
    error: ServiceError,
    /// The reader's navigation, when known (boxed: most errors have none).
    nav: Option<Box<Nav>>,
}

impl PageError {
    pub fn new(t: &'static Texts, error: ServiceError) -> Self {
        PageError { t, error, nav: None }
    }

    /// The same error, with the reader's own navigation (signed in, their form token).
    #[must_use]
    pub fn with_nav(mut self, nav: Nav) -> Self {
        self.nav = Some(Box::new(nav));
        self
    }

    /// The page for a bare refusal of `status` (one axum made before any handler ran), in
    /// the language the query's `lang=` asks for.
    pub fn for_status(status: axum::http::StatusCode, query: Option<&str>) -> Self {
        let code = match status.as_u16() {
            404 => Code::NotFound,
            401 | 403 => Code::Forbidden,
            405 => Code::MethodNotAllowed,
            413 => Code::PayloadTooLarge,
            500..=599 => Code::Internal,
            _ => Code::BadRequest,
        };
        PageError {
            t: texts_of_query(query),
            error: ServiceError::new(code, status.canonical_reason().unwrap_or("refused")),
            nav: None,
        }
    }

    /// A page that does not exist, in the language the query's `lang=` asks for (Chinese
    /// first).
    pub fn unknown_page(query: Option<&str>) -> Self {
        PageError { t: texts_of_query(query), error: ServiceError::new(Code::NotFound, "no such page"), nav: None }
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    t: &'static Texts,
    nav: Nav,
    title: &'static str,
    message: &'static str,
    code: &'static str,
    reference: String,
}

/// What a reader is told of an error: a title and a sentence, in their language.
fn error_words(code: Code, zh: bool) -> (&'static str, &'static str) {
    match (code, zh) {
        (Code::NotFound, true) => ("找不到页面", "没有这个页面，或它已不存在。"),
        (Code::NotFound, false) => ("Not found", "There is no such page, or it no longer exists."),
        (Code::Forbidden | Code::Unauthenticated | Code::InvalidToken, true) => {
            ("无权访问", "请先登录，或联系空间运营方。")
        }
        (Code::Forbidden | Code::Unauthenticated | Code::InvalidToken, false) => {
            ("Not allowed", "Sign in first, or ask the space's operator.")
        }
        (Code::ValidationFailed | Code::InvalidQuery | Code::BadRequest, true) => {
            ("请求有误", "链接中的参数无法识别，例如日期应写作 2026-03-29。")
        }
        (Code::ValidationFailed | Code::InvalidQuery | Code::BadRequest, false) => {
            ("Something in the link is wrong", "A value in the link could not be read; a date looks like 2026-03-29.")
        }
        (Code::Internal, true) => ("出错了", "服务器出了问题，已记录在案。请稍后再试。"),
        (Code::Internal, false) => {
            ("Something went wrong", "The server had a problem; it has been logged. Try again later.")
        }
        (_, true) => ("无法完成", "这个请求无法完成。"),
        (_, false) => ("That did not work", "This request could not be completed."),
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let code = self.error.code;
        let status = status_of(code);
        if status.is_server_error() {
            tracing::error!(code = %code, error = %self.error, "page failed");
        }
        let (title, message) = error_words(code, self.t.zh);
        // A server error names no detail; a client error may say what was wrong (in English,
        // as the API does).
        let reference = if status.is_server_error() { String::new() } else { self.error.message.clone() };
        let nav = self.nav.map(|n| *n).unwrap_or_default();
        let page = ErrorPage { t: self.t, nav, title, message, code: code.as_str(), reference };
        let body = page.render().unwrap_or_else(|_| format!("<!doctype html><title>{code}</title><p>{code}</p>"));
        let mut res = (status, Html(body)).into_response();
        res.extensions_mut().insert(IsProblem);
        res
    }
}
