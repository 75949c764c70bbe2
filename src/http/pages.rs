//! Server-rendered public pages: the maker map (`/`) and a space's page (`/spaces/{slug}`).
//! Chinese by default; `?lang=en` switches to English. Usable on a phone.

use super::AppState;
use super::api::availability::{MapSpace, map_spaces, open_state, space_day_of};
use super::api::catalog::{find_space, resource_view, stored_policy};
use super::calendar::zone_of;
use super::error::{ApiError, ApiResult};
use super::extract::ApiQuery;
use crate::domain::calendar::format_local;
use crate::domain::catalog::SpaceKind;
use crate::domain::policy::{Eligibility, ResourceKind};
use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::response::Html;
use axum::routing::get;
use chrono::{Duration, NaiveDate};
use serde::Deserialize;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(map_page))
        .route("/spaces/{slug}", get(space_page))
        .route("/kiosk", get(|| kiosk_file("text/html; charset=utf-8", KIOSK_HTML)))
        .route("/kiosk/", get(|| kiosk_file("text/html; charset=utf-8", KIOSK_HTML)))
        .route("/kiosk/kiosk.js", get(|| kiosk_file("text/javascript; charset=utf-8", KIOSK_JS)))
        .route("/kiosk/kiosk.css", get(|| kiosk_file("text/css; charset=utf-8", KIOSK_CSS)))
        .route("/me", get(|| kiosk_file("text/html; charset=utf-8", ME_HTML)))
}

// A maker's phone page: sign in, see the check-in codes of current bookings (`web/me.html`).
const ME_HTML: &str = include_str!("../../web/me.html");

// The kiosk page: plain files in `kiosk/`, compiled into the binary.
const KIOSK_HTML: &str = include_str!("../../kiosk/index.html");
const KIOSK_JS: &str = include_str!("../../kiosk/kiosk.js");
const KIOSK_CSS: &str = include_str!("../../kiosk/kiosk.css");

async fn kiosk_file(content_type: &'static str, body: &'static str) -> impl axum::response::IntoResponse {
    ([(axum::http::header::CONTENT_TYPE, content_type), (axum::http::header::CACHE_CONTROL, "no-cache")], body)
}

#[derive(Debug, Deserialize)]
pub struct PageQuery {
    #[serde(default)]
    lang: Option<String>,
    #[serde(default)]
    date: Option<String>,
}

/// The words of a page in one language.
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
};

fn texts(lang: Option<&str>) -> &'static Texts {
    match lang.map(str::to_ascii_lowercase).as_deref() {
        Some(l) if l.starts_with("en") => &EN,
        _ => &ZH,
    }
}

fn kind_label(kind: &str, zh: bool) -> String {
    SpaceKind::from_db(kind).map_or_else(|| kind.to_owned(), |k| k.label(zh).to_owned())
}

fn resource_kind_label(kind: &str, zh: bool) -> &'static str {
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
    district: Vec<MapCard>,
    partners: Vec<MapCard>,
}

fn card(s: &MapSpace, t: &Texts) -> MapCard {
    let status = match (&s.open_until, &s.next_open) {
        (Some(u), _) if s.open_now => format!("{} · {} {}", t.open_now, t.until, hhmm(&u.start_local)),
        (_, Some(n)) => {
            format!("{} · {} {} {}", t.closed, t.opens, n.start_local.get(5..10).unwrap_or(""), hhmm(&n.start_local))
        }
        _ if s.open_now => t.open_now.to_owned(),
        _ => t.closed.to_owned(),
    };
    MapCard {
        slug: s.slug.clone(),
        name: if t.zh { s.name_zh.clone() } else { s.name_en.clone() },
        other_name: if t.zh { s.name_en.clone() } else { s.name_zh.clone() },
        kind: kind_label(&s.kind, t.zh),
        address: s.address.clone(),
        kinds: s.resource_kinds.iter().map(|k| resource_kind_label(k, t.zh)).collect(),
        open_now: s.open_now,
        status,
        x: 0.0,
        y: 0.0,
        on_map: false,
        label_below: false,
    }
}

async fn map_page(State(state): State<AppState>, ApiQuery(q): ApiQuery<PageQuery>) -> ApiResult<Html<String>> {
    let t = texts(q.lang.as_deref());
    let spaces = map_spaces(&state).await?;
    // The district is where most spaces are; partner labs abroad are listed apart.
    let home_zone = {
        let mut zones: Vec<&str> = spaces.iter().map(|s| s.timezone.as_str()).collect();
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
    let (home, abroad): (Vec<&MapSpace>, Vec<&MapSpace>) = spaces.iter().partition(|s| s.timezone == home_zone);
    let mut district: Vec<MapCard> = home.iter().map(|s| card(s, t)).collect();
    let points: Vec<(f64, f64)> = home.iter().filter_map(|s| s.latitude.zip(s.longitude)).collect();
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
            if let (Some(la), Some(lo)) = (s.latitude, s.longitude) {
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
    render(&MapPage { t, district, partners })
}

pub struct UnitLine {
    pub label: String,
    pub slots: Vec<String>,
}

pub struct ResourceBlock {
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
    Path(slug): Path<String>,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> ApiResult<Html<String>> {
    let t = texts(q.lang.as_deref());
    let space = find_space(&state, &slug).await?;
    let zone = zone_of(&space)?;
    let day = space_day_of(&state, &space, q.date.as_deref()).await?;
    let now = state.clock.now_ms();
    let open = open_state(&state, &space, now).await?;
    let status = match (open.until, open.next_open) {
        (Some(u), _) => format!("{} · {} {}", t.open_now, t.until, hhmm(&format_local(zone.tz(), u))),
        (None, Some(n)) => {
            format!("{} · {} {}", t.closed, t.opens, &format_local(zone.tz(), n)[5..16].replace('T', " "))
        }
        _ if open.open_now => t.open_now.to_owned(),
        _ => t.closed.to_owned(),
    };
    let date = NaiveDate::parse_from_str(&day.date, "%Y-%m-%d").map_err(ApiError::internal)?;
    let units = state.db.units_of_space(&space.id).await?;
    let mut resources = Vec::new();
    for (row, avail) in state.db.resources_of(&space.id).await?.iter().zip(&day.resources) {
        let view = resource_view(row, &units)?;
        let policy = stored_policy(row)?;
        let mut notes = Vec::new();
        if policy.requires_approval {
            notes.push(t.approval.to_owned());
        }
        if !policy.required_trainings.is_empty() {
            notes.push(format!("{}: {}", t.training, policy.required_trainings.join(", ")));
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
            .map(|u| UnitLine {
                label: u.label.clone(),
                slots: u.free.iter().map(|f| format!("{}–{}", hhmm(&f.start_local), hhmm(&f.end_local))).collect(),
            })
            .collect();
        let hidden = lines.len().saturating_sub(SHOWN_UNITS);
        resources.push(ResourceBlock {
            name: if t.zh { view.name_zh.clone() } else { view.name_en.clone() },
            other_name: if t.zh { view.name_en.clone() } else { view.name_zh.clone() },
            kind: resource_kind_label(&view.kind, t.zh),
            description: view.description.clone(),
            unit_count: view.units.len(),
            notes,
            price,
            units: lines.into_iter().take(SHOWN_UNITS).collect(),
            hidden_units: hidden,
        });
    }
    render(&SpacePage {
        t,
        name: if t.zh { space.name_zh.clone() } else { space.name_en.clone() },
        other_name: if t.zh { space.name_en.clone() } else { space.name_zh.clone() },
        kind: kind_label(&space.kind, t.zh),
        address: space.address.clone(),
        contact: space.contact.clone(),
        timezone: space.timezone.clone(),
        status,
        open_now: open.open_now,
        date: day.date.clone(),
        prev: (date - Duration::days(1)).to_string(),
        next: (date + Duration::days(1)).to_string(),
        resources,
    })
}

fn render(t: &impl Template) -> ApiResult<Html<String>> {
    t.render().map(Html).map_err(ApiError::internal)
}
