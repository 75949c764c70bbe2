//! The demo district: accounts for every role, a team, and six spaces (five in Longgang,
//! one partner lab in Berlin) with tools, instruments, inn rooms, seat zones, opening
//! hours, a public-holiday closure and a maintenance closure on one unit.
//!
//! Everything goes through the use cases the API calls ([`crate::service`]), acting as the
//! demo's admin, operator and maker. Running it twice changes nothing: a space that exists
//! already is left as it is. The 90 days of past use are made by [`crate::demo_history`].

use crate::domain::calendar::{format_utc, local_to_utc, utc_to_local};
use crate::domain::catalog::SpaceKind;
use crate::domain::identity::{OrganisationKind, Role};
use crate::domain::ids::{AccountId, SpaceId};
use crate::domain::policy::ResourceKind;
use crate::service::accounts::{self, GrantRole, NewAdmin, RegisterRequest};
use crate::service::catalog::{self, CreateClosure, CreateOpeningRule, CreateResource, CreateSpace, UnitsSpec};
use crate::service::checkin::{self, CreateKiosk};
use crate::service::organisations::{self, CreateOrganisation};
use crate::service::trainings::{self, CreateTraining};
use crate::service::{Code, Identity, Services};
use crate::store::StoreError;
use anyhow::Context;
use serde_json::{Value, json};

/// One demo login, printed at start.
#[derive(Debug, Clone)]
pub struct DemoLogin {
    pub role: &'static str,
    pub email: &'static str,
    pub password: &'static str,
}

pub const DEMO_LOGINS: [DemoLogin; 4] = [
    DemoLogin { role: "admin", email: "admin@labinn.demo", password: "demo-admin-2026" },
    DemoLogin { role: "operator", email: "operator@labinn.demo", password: "demo-operator-2026" },
    DemoLogin { role: "reviewer", email: "reviewer@labinn.demo", password: "demo-reviewer-2026" },
    DemoLogin { role: "maker", email: "maker@labinn.demo", password: "demo-maker-2026" },
];

struct DemoResource {
    kind: ResourceKind,
    name_zh: &'static str,
    name_en: &'static str,
    description: &'static str,
    units: &'static [&'static str],
    /// Or a count with a prefix.
    numbered: Option<(&'static str, u32)>,
    policy: fn() -> Value,
}

struct DemoSpace {
    slug: &'static str,
    name_zh: &'static str,
    name_en: &'static str,
    kind: &'static str,
    timezone: &'static str,
    address: &'static str,
    lat: f64,
    lon: f64,
    area: f64,
    contact: &'static str,
    /// (RRULE, local start, minutes)
    hours: &'static [(&'static str, &'static str, i64)],
    resources: &'static [DemoResource],
}

fn none() -> Value {
    json!({})
}

const DISTRICT: &[DemoSpace] = &[
    DemoSpace {
        slug: "longgang-factory",
        name_zh: "龙岗旧厂房创客空间",
        name_en: "Longgang Old Factory Maker Space",
        kind: "maker_space",
        timezone: "Asia/Shanghai",
        address: "深圳市龙岗区龙城街道旧工业区 3 号厂房",
        lat: 22.7208,
        lon: 114.2469,
        area: 2400.0,
        contact: "0755-2888 0001 · factory@labinn.demo",
        hours: &[("FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR,SA", "2026-01-05T09:00", 720)],
        resources: &[
            DemoResource {
                kind: ResourceKind::Tool,
                name_zh: "激光切割机",
                name_en: "Laser cutter",
                description: "100 W CO2, 900 × 600 mm",
                units: &["LC-1"],
                numbered: None,
                policy: || json!({"required_trainings": ["laser-safety"], "buffer_after_minutes": 15, "max_minutes": 120}),
            },
            DemoResource {
                kind: ResourceKind::Tool,
                name_zh: "3D 打印机",
                name_en: "3D printers",
                description: "FDM, 256 mm build volume",
                units: &[],
                numbered: Some(("P", 4)),
                policy: || json!({"max_minutes": 480, "quota": {"hours_per_week": 16.0}}),
            },
            DemoResource {
                kind: ResourceKind::Tool,
                name_zh: "数控铣床",
                name_en: "CNC mill",
                description: "3-axis, aluminium and wood",
                units: &["CNC-1"],
                numbered: None,
                policy: || json!({"requires_approval": true, "required_trainings": ["cnc-basics"], "buffer_before_minutes": 15, "buffer_after_minutes": 30}),
            },
            DemoResource {
                kind: ResourceKind::Tool,
                name_zh: "电子工作台",
                name_en: "Electronics benches",
                description: "Soldering station, bench supply, oscilloscope",
                units: &[],
                numbered: Some(("E", 6)),
                policy: || json!({"walk_ups_allowed": true}),
            },
        ],
    },
    DemoSpace {
        slug: "university-open-lab",
        name_zh: "大学城开放实验室",
        name_en: "University Town Open Lab",
        kind: "university_lab",
        timezone: "Asia/Shanghai",
        address: "深圳市龙岗区大学城 实验楼 B 座",
        lat: 22.6905,
        lon: 114.2098,
        area: 1800.0,
        contact: "openlab@labinn.demo",
        hours: &[("FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR", "2026-01-05T08:30", 540)],
        resources: &[
            DemoResource {
                kind: ResourceKind::LabFacility,
                name_zh: "频谱分析仪",
                name_en: "Spectrum analyser",
                description: "9 kHz – 7.5 GHz",
                units: &["SA-1"],
                numbered: None,
                policy: none,
            },
            DemoResource {
                kind: ResourceKind::LabFacility,
                name_zh: "超净工作台",
                name_en: "Clean benches",
                description: "ISO 5 laminar flow",
                units: &["CB-1", "CB-2"],
                numbered: None,
                policy: || json!({"requires_approval": true, "buffer_after_minutes": 30}),
            },
            DemoResource {
                kind: ResourceKind::LabFacility,
                name_zh: "示波器工位",
                name_en: "Oscilloscope stations",
                description: "4-channel, 1 GHz",
                units: &[],
                numbered: Some(("OS", 3)),
                policy: none,
            },
        ],
    },
    DemoSpace {
        slug: "hakka-walled-village",
        name_zh: "客家围屋文创众创空间",
        name_en: "Hakka Walled Village Culture Maker Space",
        kind: "maker_space",
        timezone: "Asia/Shanghai",
        address: "深圳市龙岗区罗瑞合北街 客家围屋东厢",
        lat: 22.7263,
        lon: 114.2733,
        area: 900.0,
        contact: "hakka@labinn.demo",
        hours: &[("FREQ=WEEKLY;BYDAY=TU,WE,TH,FR,SA,SU", "2026-01-06T10:00", 480)],
        resources: &[
            DemoResource {
                kind: ResourceKind::Tool,
                name_zh: "陶艺电窑",
                name_en: "Ceramics kiln",
                description: "1300 °C electric kiln",
                units: &["KILN"],
                numbered: None,
                policy: || json!({"slot_minutes": 60, "min_minutes": 120, "max_minutes": 480, "buffer_after_minutes": 120}),
            },
            DemoResource {
                kind: ResourceKind::Tool,
                name_zh: "木工台",
                name_en: "Woodworking benches",
                description: "Hand tools, band saw, router",
                units: &["W1", "W2", "W3"],
                numbered: None,
                policy: || json!({"required_trainings": ["workshop-safety"]}),
            },
        ],
    },
    DemoSpace {
        slug: "longgang-maker-inn",
        name_zh: "龙岗创客客栈",
        name_en: "Longgang Maker Inn",
        kind: "maker_inn",
        timezone: "Asia/Shanghai",
        address: "深圳市龙岗区龙翔大道 创客公寓 2 栋",
        lat: 22.7050,
        lon: 114.2398,
        area: 3200.0,
        contact: "inn@labinn.demo",
        hours: &[("FREQ=DAILY", "2026-01-01T00:00", 1440)],
        resources: &[
            DemoResource {
                kind: ResourceKind::InnRoom,
                name_zh: "标准间",
                name_en: "Standard room",
                description: "Single bed, desk, shared kitchen",
                units: &[],
                numbered: Some(("R", 12)),
                policy: || json!({"price": {"amount_minor": 6000, "currency": "CNY", "per": "night"}}),
            },
            DemoResource {
                kind: ResourceKind::InnRoom,
                name_zh: "双人间",
                name_en: "Twin room",
                description: "Two beds, for visiting teams",
                units: &[],
                numbered: Some(("T", 6)),
                policy: || json!({"price": {"amount_minor": 9000, "currency": "CNY", "per": "night"}, "inn": {"check_in_time": "14:00", "check_out_time": "12:00", "max_nights": 30}}),
            },
        ],
    },
    DemoSpace {
        slug: "cloud-valley-incubator",
        name_zh: "云谷孵化器",
        name_en: "Cloud Valley Incubator",
        kind: "incubator",
        timezone: "Asia/Shanghai",
        address: "深圳市龙岗区坂田街道 云谷二期 8 栋",
        lat: 22.6610,
        lon: 114.0620,
        area: 5000.0,
        contact: "incubator@labinn.demo",
        hours: &[("FREQ=DAILY", "2026-01-01T08:00", 840)],
        resources: &[
            DemoResource {
                kind: ResourceKind::BroadbandSeat,
                name_zh: "A 区免费宽带工位",
                name_en: "Free broadband seats, zone A",
                description: "1000 Mbit/s, lockers",
                units: &[],
                numbered: Some(("A-", 40)),
                policy: || json!({"quota": {"max_active_bookings": 2}}),
            },
            DemoResource {
                kind: ResourceKind::BroadbandSeat,
                name_zh: "B 区安静工位",
                name_en: "Quiet seats, zone B",
                description: "Phone-free zone",
                units: &[],
                numbered: Some(("B-", 20)),
                policy: none,
            },
        ],
    },
    DemoSpace {
        slug: "berlin-partner-lab",
        name_zh: "柏林合作实验室",
        name_en: "Berlin Partner FabLab",
        kind: "maker_space",
        timezone: "Europe/Berlin",
        address: "Berlin-Mitte, Germany",
        lat: 52.5125,
        lon: 13.3890,
        area: 600.0,
        contact: "berlin@labinn.demo",
        hours: &[("FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR", "2026-01-05T10:00", 540)],
        resources: &[
            DemoResource {
                kind: ResourceKind::Tool,
                name_zh: "激光切割机",
                name_en: "Laser cutter",
                description: "60 W CO2",
                units: &["LC-B"],
                numbered: None,
                policy: || json!({"required_trainings": ["laser-safety"]}),
            },
            DemoResource {
                kind: ResourceKind::Tool,
                name_zh: "3D 打印机",
                name_en: "3D printers",
                description: "Resin and FDM",
                units: &["R1", "F1"],
                numbered: None,
                policy: none,
            },
        ],
    },
];

/// Public holidays of the demo year, closing every district space (local dates).
const HOLIDAYS: &[(&str, &str, &str)] =
    &[("2027-01-01", "2027-01-02", "元旦 New Year's Day"), ("2027-02-05", "2027-02-12", "春节 Spring Festival")];

/// Seeds the demo through the same use cases the API calls, acting as the demo's admin (and
/// its operator and maker where they act). Idempotent: what exists already is left alone.
///
/// # Errors
/// Service errors.
pub async fn seed(svc: &Services, now: i64) -> anyhow::Result<Vec<DemoLogin>> {
    let mut ids = Vec::new();
    for login in &DEMO_LOGINS {
        ids.push(ensure_account(svc, login, now).await?);
    }
    let admin = accounts::identity_of(svc, &ids[0]).await?;
    let admin_power = admin.admin().context("the demo admin holds the admin role")?;
    let operator_org = match svc.db.organisation("longgang-maker-operations").await {
        Ok(o) => o.id,
        Err(StoreError::NotFound) => {
            let req = CreateOrganisation {
                name: "龙岗创客运营有限公司 Longgang Maker Operations".into(),
                kind: OrganisationKind::Operator,
                slug: Some("longgang-maker-operations".into()),
            };
            organisations::create(svc, &admin, &req, now).await?.id
        }
        Err(e) => return Err(e.into()),
    };
    // The trainings the demo's resources require (granted to nobody: the demo maker sees the refusal).
    for (slug, zh, en) in [
        ("laser-safety", "激光安全培训", "Laser safety"),
        ("cnc-basics", "数控机床入门", "CNC basics"),
        ("workshop-safety", "木工坊安全", "Workshop safety"),
    ] {
        let req = CreateTraining { slug: slug.into(), name_zh: zh.into(), name_en: en.into(), space: None };
        match trainings::create(svc, &admin, &req, now).await {
            Ok(_) => {}
            Err(e) if e.code == Code::SlugTaken => {}
            Err(e) => return Err(e.into()),
        }
    }
    let mut space_ids = Vec::new();
    for s in DISTRICT {
        space_ids.push(
            ensure_space(svc, &admin, s, &operator_org, now).await.with_context(|| format!("demo space {}", s.slug))?,
        );
    }
    for (login, id) in DEMO_LOGINS.iter().zip(&ids) {
        let grant = |role, space: Option<&SpaceId>| GrantRole { role, space: space.map(SpaceId::to_string) };
        match login.role {
            "reviewer" => {
                accounts::grant(svc, &admin_power, id.as_str(), &grant(Role::Reviewer, None), now).await?;
            }
            "operator" => {
                for space in &space_ids {
                    accounts::grant(svc, &admin_power, id.as_str(), &grant(Role::Operator, Some(space)), now).await?;
                }
            }
            _ => {}
        }
    }

    let maker = accounts::identity_of(svc, &ids[3]).await?;
    match svc.db.organisation("demo-hardware-team").await {
        Ok(_) => {}
        Err(StoreError::NotFound) => {
            let req = CreateOrganisation {
                name: "开源硬件小队 Open Hardware Team".into(),
                kind: OrganisationKind::Team,
                slug: Some("demo-hardware-team".into()),
            };
            organisations::create(svc, &maker, &req, now).await?;
        }
        Err(e) => return Err(e.into()),
    }

    // A kiosk at each space's door (operators pair it: POST /api/v1/kiosks/{id}/pairing-code),
    // more makers, and 90 days of past use.
    let operator = accounts::identity_of(svc, &ids[1]).await?;
    let mut kiosks = Vec::new();
    for space in &space_ids {
        let op =
            operator.require_operator_of(svc.db.space(space.as_str()).await?, "the demo operator runs every space")?;
        let existing = checkin::kiosks(svc, &op).await?;
        let id = match existing.first() {
            Some(k) => k.id.clone(),
            None => {
                let req = CreateKiosk { name: "大门 Front door".into(), resource: None };
                checkin::create_kiosk(svc, &op, &req, now).await?.kiosk.id
            }
        };
        kiosks.push((space.clone(), id));
    }
    let mut makers = vec![ids[3].clone()];
    for (i, name) in
        ["陈工 Chen", "王同学 Wang", "李博士 Dr Li", "Anna Schmidt", "赵老师 Zhao", "黄设计 Huang"].iter().enumerate()
    {
        let email = format!("maker{:02}@labinn.demo", i + 1);
        let id = match svc.db.account_by_email(&email).await? {
            Some(a) => a.id,
            None => {
                // Nobody signs in as these: their password is random and never shown.
                let req = RegisterRequest {
                    email,
                    password: crate::auth::new_token()?,
                    display_name: (*name).into(),
                    locale: None,
                };
                accounts::register(svc, &req, now - 120 * crate::domain::calendar::DAY_MS).await?.id
            }
        };
        makers.push(id);
    }
    let history = crate::demo_history::seed(&svc.db, &makers, &kiosks, now).await.context("demo history")?;
    if history.bookings > 0 {
        tracing::info!(?history, "seeded 90 days of demo history");
    }
    Ok(DEMO_LOGINS.to_vec())
}

async fn ensure_space(
    svc: &Services,
    admin: &Identity,
    s: &DemoSpace,
    operator_org: &str,
    now: i64,
) -> anyhow::Result<SpaceId> {
    match svc.db.space(s.slug).await {
        Ok(existing) => return Ok(existing.id),
        Err(StoreError::NotFound) => {}
        Err(e) => return Err(e.into()),
    }
    let req = CreateSpace {
        slug: s.slug.into(),
        name_zh: s.name_zh.into(),
        name_en: s.name_en.into(),
        kind: SpaceKind::from_db(s.kind).with_context(|| format!("space kind {}", s.kind))?,
        operator_org: Some(operator_org.into()),
        address: s.address.into(),
        latitude: Some(s.lat),
        longitude: Some(s.lon),
        floor_area_m2: Some(s.area),
        timezone: Some(s.timezone.into()),
        contact: s.contact.into(),
        // The incubator lets a maker hold one seat at a time, whichever zone.
        kind_quotas: if s.kind == "incubator" {
            json!({"broadband_seat": {"max_active_bookings": 1}})
        } else {
            Value::Null
        },
    };
    let id = catalog::create_space(svc, admin, &req, now).await?;
    let op = catalog::operate(admin, svc.db.space(id.as_str()).await?)?;
    let zone = catalog::zone_of(op.space())?;
    for (rrule, start, minutes) in s.hours {
        let rule = CreateOpeningRule {
            resource: None,
            rrule: (*rrule).into(),
            start: (*start).into(),
            duration_minutes: *minutes,
        };
        catalog::create_opening_rule(svc, &op, &rule, now).await?;
    }
    let mut first_unit_of_second_resource = None;
    for (i, r) in s.resources.iter().enumerate() {
        let units = match r.numbered {
            Some((prefix, n)) => UnitsSpec { labels: None, count: Some(n), prefix: Some(prefix.into()) },
            None => {
                UnitsSpec { labels: Some(r.units.iter().map(|l| (*l).to_owned()).collect()), count: None, prefix: None }
            }
        };
        let req = CreateResource {
            kind: r.kind,
            name_zh: r.name_zh.into(),
            name_en: r.name_en.into(),
            description: r.description.into(),
            policy: (r.policy)(),
            units: Some(units),
        };
        let rid = catalog::create_resource(svc, &op, &req, now).await?;
        if i == 1 {
            first_unit_of_second_resource = svc.db.units_of(&rid).await?.into_iter().nth(2).map(|u| u.id);
        }
    }
    let closure = |reason: &str, start: String, end: String, unit: Option<String>| CreateClosure {
        reason: reason.into(),
        resource: None,
        unit,
        start: Some(start),
        end: Some(end),
        rrule: None,
        duration_minutes: None,
    };
    if s.timezone == "Asia/Shanghai" {
        for (from, until, reason) in HOLIDAYS {
            let req = closure(reason, format!("{from}T00:00"), format!("{until}T00:00"), None);
            catalog::create_closure(svc, &op, &req, now).await?;
        }
    } else {
        let req = closure("Weihnachten Christmas", "2026-12-24T00:00".into(), "2026-12-27T00:00".into(), None);
        catalog::create_closure(svc, &op, &req, now).await?;
    }
    // Maintenance on one unit (the third 3D printer of the factory) from today for three days.
    if s.slug == "longgang-factory"
        && let Some(unit) = first_unit_of_second_resource
    {
        let today = utc_to_local(zone.tz(), now).date_naive();
        let start = local_to_utc(zone.tz(), today.and_time(chrono::NaiveTime::MIN));
        let end = start + 3 * crate::domain::calendar::DAY_MS;
        let reason = "维护：更换喷嘴 Maintenance: nozzle replacement";
        let req = closure(reason, format_utc(start), format_utc(end), Some(unit.to_string()));
        catalog::create_closure(svc, &op, &req, now).await?;
    }
    Ok(id)
}

async fn ensure_account(svc: &Services, login: &DemoLogin, now: i64) -> anyhow::Result<AccountId> {
    if let Some(a) = svc.db.account_by_email(login.email).await? {
        if login.role == "admin" {
            // The role may be missing (an account made by hand before the demo ran).
            let admin = NewAdmin::parse(login.email, login.password, "管理员 Admin")?;
            accounts::ensure_admin(&svc.db, &svc.hasher, &admin, now).await?;
        }
        return Ok(a.id);
    }
    if login.role == "admin" {
        let admin = NewAdmin::parse(login.email, login.password, "管理员 Admin")?;
        return Ok(accounts::ensure_admin(&svc.db, &svc.hasher, &admin, now).await?.id);
    }
    let display = match login.role {
        "operator" => "空间运营 Operator",
        "reviewer" => "区经济促进局 Reviewer",
        _ => "创客小林 Maker Lin",
    };
    let req = RegisterRequest {
        email: login.email.into(),
        password: login.password.into(),
        display_name: display.into(),
        locale: None,
    };
    match accounts::register(svc, &req, now).await {
        Ok(a) => Ok(a.id),
        // Another node seeded it between our look-up and our insert.
        Err(e) if e.code == Code::EmailTaken => {
            Ok(svc.db.account_by_email(login.email).await?.map(|a| a.id).unwrap_or_default())
        }
        Err(e) => Err(e.into()),
    }
}
