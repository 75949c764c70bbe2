//! 90 days of past activity for the demo, made through the store calls that a real day
//! makes (booking inserts, kiosk check-ins and check-outs, the no-show job, cancellations,
//! automatic check-outs, inn stays checked in and out over their nights), each at its own moment in the past, so that sessions, scans and
//! the ledger are what a real district would have. Deterministic (a fixed seed) and done
//! once per database (the `demo_history` setting).

use crate::domain::booking::{BookingKind, BookingStatus};
use crate::domain::calendar::{DAY_MS, MINUTE_MS, local_to_utc, utc_to_local};
use crate::domain::checkin::SessionOrigin;
use crate::domain::ids::{AccountId, BookingId, SpaceId};
use crate::domain::interval::Interval;
use crate::domain::policy::ResourceKind;
use crate::store::Db;
use crate::store::bookings::NewBooking;
use crate::store::checkin::Actor;

/// What the history holds.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct History {
    pub bookings: usize,
    pub sessions: usize,
    pub no_shows: usize,
    pub cancellations: usize,
    /// Walk-ups on hot desks (booked at the kiosk on arrival).
    pub walk_ups: usize,
    /// Participants checked in at events with their event codes.
    pub event_check_ins: usize,
}

/// A small deterministic generator (xorshift64*): the same demo on every machine.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

enum Step {
    Cancel { booking: BookingId, by: AccountId },
    CheckIn { booking: BookingId, kiosk: String },
    CheckOut { booking: BookingId, kiosk: Option<String>, ended_at: i64 },
    NoShowTick,
}

/// Seeds the history unless it is there. `makers` book; `kiosks` maps a space id to its kiosk.
///
/// # Errors
/// Store errors.
pub async fn seed(db: &Db, makers: &[AccountId], kiosks: &[(SpaceId, String)], now: i64) -> anyhow::Result<History> {
    if db.setting("demo_history").await?.is_some() || makers.is_empty() {
        return Ok(History::default());
    }
    let mut rng = Rng(0x1ab1_2026_cafe_f00d);
    let mut h = History::default();
    let mut units_of_space = Vec::new();
    // Inn rooms: stays of whole nights, from their own generator (so that the hourly history
    // is the same as before they were added). (space, kiosk, tz, resource, unit, free from).
    let mut rooms = Vec::new();
    let mut stay_rng = Rng(0x57a7_2026_0b0e_cafe);
    // Hot desks: walk-ups (booked at the kiosk on arrival), from their own generator too.
    // (space, kiosk, tz, resource, unit).
    let mut seats = Vec::new();
    let mut walk_rng = Rng(0x3a1c_2026_5ea7_d35c);
    for (space_id, kiosk) in kiosks {
        let space = db.space(space_id.as_str()).await?;
        let tz: chrono_tz::Tz = space.timezone.parse().map_err(|e| anyhow::anyhow!("{e}"))?;
        let mut units = Vec::new();
        for r in db.resources_of(space_id).await? {
            if r.kind == ResourceKind::InnRoom.as_str() && r.archived_at.is_none() {
                for u in db.units_of(&r.id).await?.into_iter().filter(|u| u.retired_at.is_none()).take(6) {
                    rooms.push((space_id.clone(), kiosk.clone(), tz, r.id.clone(), u.id, 0u64));
                }
                continue;
            }
            if r.archived_at.is_some() {
                continue;
            }
            if r.kind == ResourceKind::BroadbandSeat.as_str() {
                for u in db.units_of(&r.id).await?.into_iter().filter(|u| u.retired_at.is_none()).skip(4).take(4) {
                    seats.push((space_id.clone(), kiosk.clone(), tz, r.id.clone(), u.id));
                }
            }
            for u in db.units_of(&r.id).await?.into_iter().filter(|u| u.retired_at.is_none()).take(4) {
                units.push((r.id.clone(), u.id));
            }
        }
        units_of_space.push((space_id.clone(), kiosk.clone(), tz, units));
    }
    let today = utc_to_local(chrono_tz::Asia::Shanghai, now).date_naive();
    // The units were there before the history began (they count as open from creation).
    for (space_id, _) in kiosks {
        let first =
            local_to_utc(chrono_tz::Asia::Shanghai, (today - chrono::Days::new(91)).and_time(chrono::NaiveTime::MIN));
        db.backdate_catalog(space_id, first).await?;
    }
    // Steps of stays that fall on later days (check-outs), run when their day comes.
    let mut later: Vec<(i64, Step)> = Vec::new();
    for back in (1..=90).rev() {
        let day = today - chrono::Days::new(back);
        let mut steps: Vec<(i64, Step)> = Vec::new();
        let mut inserts = Vec::new();
        for (space_id, kiosk, tz, resource, unit, busy_until_back) in &mut rooms {
            // `busy_until_back`: the room is taken until `busy_until_back` days ago.
            if *busy_until_back != 0 && back > *busy_until_back {
                continue;
            }
            if stay_rng.below(100) >= 55 {
                *busy_until_back = 0;
                continue;
            }
            let nights = 1 + stay_rng.below(4);
            if nights >= back {
                continue; // it would still be running: the history ends yesterday
            }
            let at =
                |d: chrono::NaiveDate, h: u32, m: u32| local_to_utc(*tz, d.and_hms_opt(h, m, 0).expect("a valid time"));
            let departure = day + chrono::Days::new(nights);
            let span = Interval::new(at(day, 14, 0), at(departure, 12, 0))?;
            let nonce = crate::auth::checkin_nonce()?;
            let maker = makers[stay_rng.below(makers.len() as u64) as usize].clone();
            let new = NewBooking {
                unit_id: unit,
                resource_id: resource,
                space_id,
                account_id: &maker,
                organisation_id: None,
                status: BookingStatus::Confirmed,
                span,
                blocked: span,
                purpose: "demo stay",
                checkin_nonce: &nonce,
                kind: BookingKind::Stay,
                now: span.start() - 3 * DAY_MS,
            };
            let (_, got) = db.insert_bookings(std::slice::from_ref(&new), None, false).await?;
            let Some(Some(id)) = got.into_iter().next() else { continue };
            h.bookings += 1;
            // Within the no-show grace, which the hourly history's no-show job applies.
            let arrive = at(day, 14, 5 + stay_rng.below(20) as u32);
            let leave = at(departure, 9 + stay_rng.below(3) as u32, stay_rng.below(60) as u32);
            steps.push((arrive, Step::CheckIn { booking: id.clone(), kiosk: kiosk.clone() }));
            later.push((leave, Step::CheckOut { booking: id, kiosk: Some(kiosk.clone()), ended_at: leave }));
            *busy_until_back = back - nights;
        }
        // Walk-ups on hot desks (units past the first four, which the hourly history leaves
        // alone): a maker scans their personal code on arrival, Monday to Saturday.
        if chrono::Datelike::weekday(&day).number_from_monday() <= 6 {
            for (space_id, kiosk, tz, resource, unit) in &seats {
                if walk_rng.below(100) >= 45 {
                    continue;
                }
                let at = |h: u32, m: u32| local_to_utc(*tz, day.and_hms_opt(h, m, 0).expect("a valid time"));
                let start = at(9 + walk_rng.below(5) as u32, walk_rng.below(60) as u32);
                let span = Interval::new(start, start + (2 + walk_rng.below(5) as i64) * 60 * MINUTE_MS)?;
                let nonce = crate::auth::checkin_nonce()?;
                let maker = makers[walk_rng.below(makers.len() as u64) as usize].clone();
                let new = NewBooking {
                    unit_id: unit,
                    resource_id: resource,
                    space_id,
                    account_id: &maker,
                    organisation_id: None,
                    status: BookingStatus::Confirmed,
                    span,
                    blocked: span,
                    purpose: "walk-up",
                    checkin_nonce: &nonce,
                    kind: BookingKind::WalkUp,
                    now: start,
                };
                let (_, got) = db.insert_bookings(std::slice::from_ref(&new), None, false).await?;
                let Some(Some(id)) = got.into_iter().next() else { continue };
                h.bookings += 1;
                h.walk_ups += 1;
                let leave = span.end() - walk_rng.below(40) as i64 * MINUTE_MS;
                steps.push((start, Step::CheckIn { booking: id.clone(), kiosk: kiosk.clone() }));
                steps.push((leave, Step::CheckOut { booking: id, kiosk: Some(kiosk.clone()), ended_at: leave }));
            }
        }
        let end_of_day = crate::domain::calendar::local_day(chrono_tz::Asia::Shanghai, day).end();
        let (due, keep): (Vec<_>, Vec<_>) = later.drain(..).partition(|(t, _)| *t < end_of_day);
        later = keep;
        steps.extend(due);
        for (space_id, kiosk, tz, units) in &units_of_space {
            if units.is_empty() || chrono::Datelike::weekday(&day).number_from_monday() > 6 {
                continue;
            }
            let mut taken: Vec<(usize, Interval)> = Vec::new();
            for _ in 0..(2 + rng.below(3)) {
                let u = rng.below(units.len() as u64) as usize;
                let hour = 9 + rng.below(8) as u32;
                let local = day.and_hms_opt(hour, 0, 0).expect("a valid hour");
                let start = local_to_utc(*tz, local);
                let span = Interval::new(start, start + (1 + rng.below(3) as i64) * 60 * MINUTE_MS)?;
                if taken.iter().any(|(x, i)| *x == u && i.overlaps(&span)) {
                    continue;
                }
                taken.push((u, span));
                let maker = makers[rng.below(makers.len() as u64) as usize].clone();
                let nonce = crate::auth::checkin_nonce()?;
                inserts.push((space_id.clone(), kiosk.clone(), units[u].clone(), maker, span, nonce));
            }
        }
        // Booked a day or two ahead.
        let mut ids = Vec::new();
        for (space_id, _, (resource, unit), maker, span, nonce) in &inserts {
            let new = NewBooking {
                unit_id: unit,
                resource_id: resource,
                space_id,
                account_id: maker,
                organisation_id: None,
                status: BookingStatus::Confirmed,
                span: *span,
                blocked: *span,
                purpose: "demo",
                checkin_nonce: nonce,
                kind: BookingKind::Single,
                now: span.start() - (1 + rng.below(2) as i64) * DAY_MS,
            };
            let (_, got) = db.insert_bookings(std::slice::from_ref(&new), None, false).await?;
            ids.push(got.into_iter().next().flatten());
        }
        for ((_, kiosk, _, maker, span, _), id) in inserts.iter().zip(ids) {
            let Some(id) = id else { continue };
            h.bookings += 1;
            match rng.below(100) {
                0..=7 => {
                    steps.push((
                        span.start() - (2 + rng.below(20) as i64) * 60 * MINUTE_MS,
                        Step::Cancel { booking: id, by: maker.clone() },
                    ));
                    h.cancellations += 1;
                }
                8..=17 => {
                    // Nobody came: the no-show job releases it after the grace period.
                    steps.push((span.start() + 31 * MINUTE_MS, Step::NoShowTick));
                }
                roll => {
                    let arrive = span.start() - 5 * MINUTE_MS + rng.below(15) as i64 * MINUTE_MS;
                    steps.push((arrive, Step::CheckIn { booking: id.clone(), kiosk: kiosk.clone() }));
                    let (kiosk, ended_at) = if roll >= 93 {
                        // Forgot to scan out: closed automatically at the end + 15 minutes.
                        (None, span.end() + 15 * MINUTE_MS)
                    } else {
                        (Some(kiosk.clone()), span.end() - 20 * MINUTE_MS + rng.below(35) as i64 * MINUTE_MS)
                    };
                    steps.push((ended_at.max(arrive + MINUTE_MS), Step::CheckOut { booking: id, kiosk, ended_at }));
                }
            }
        }
        steps.sort_by_key(|(t, _)| *t);
        for (at, step) in steps {
            match step {
                Step::Cancel { booking, by } => {
                    if db.cancel_booking(&booking, &by, Some("plans changed"), at).await? {
                        continue;
                    }
                }
                Step::CheckIn { booking, kiosk } => {
                    let b = db.booking(&booking).await?;
                    let actor =
                        Actor { how: SessionOrigin::Kiosk, kiosk_id: Some(&kiosk), operator_id: None, note: None };
                    if db.check_in(&b, &actor, at).await?.is_some() {
                        h.sessions += 1;
                    }
                }
                Step::CheckOut { booking, kiosk, ended_at } => {
                    let actor = match &kiosk {
                        Some(k) => {
                            Actor { how: SessionOrigin::Kiosk, kiosk_id: Some(k), operator_id: None, note: None }
                        }
                        None => Actor {
                            how: SessionOrigin::Automatic,
                            kiosk_id: None,
                            operator_id: None,
                            note: Some("no check-out scanned"),
                        },
                    };
                    db.check_out(&booking, &actor, ended_at, at).await?;
                }
                Step::NoShowTick => h.no_shows += db.release_no_shows(at, 500).await?.len(),
            }
        }
    }
    upcoming(db, &makers[0], now).await?;
    h.event_check_ins = registers(db, makers, kiosks, now).await?;
    db.setting_or_insert("demo_history", &format!("{h:?}")).await?;
    Ok(h)
}

/// Two bookings ahead for the demo maker, so that `/me` shows real check-in codes: a 3D
/// printer tomorrow 10:00-12:00 in the factory, and a hot desk the day after, 09:00-17:00.
async fn upcoming(db: &Db, maker: &AccountId, now: i64) -> anyhow::Result<()> {
    let tz = chrono_tz::Asia::Shanghai;
    let today = utc_to_local(tz, now).date_naive();
    for (space, resource_en, days, from, to) in [
        ("longgang-factory", "3D printers", 1, 10, 12),
        ("cloud-valley-incubator", "Free broadband seats, zone A", 2, 9, 17),
    ] {
        let space = db.space(space).await?;
        let Some(resource) = db.resources_of(&space.id).await?.into_iter().find(|r| r.name_en == resource_en) else {
            continue;
        };
        let Some(unit) = db.units_of(&resource.id).await?.into_iter().next() else { continue };
        let day = today + chrono::Days::new(days);
        let at = |h: u32| local_to_utc(tz, day.and_hms_opt(h, 0, 0).expect("a valid hour"));
        let span = Interval::new(at(from), at(to))?;
        let nonce = crate::auth::checkin_nonce()?;
        let new = NewBooking {
            unit_id: &unit.id,
            resource_id: &resource.id,
            space_id: &space.id,
            account_id: maker,
            organisation_id: None,
            status: BookingStatus::Confirmed,
            span,
            blocked: span,
            purpose: "demo",
            checkin_nonce: &nonce,
            kind: BookingKind::Single,
            now,
        };
        db.insert_bookings(std::slice::from_ref(&new), None, false).await?;
    }
    Ok(())
}

/// The registers of two spaces, written as their operators would have kept them over the
/// past two years, so that the district has something to judge: the old factory meets the
/// Shenzhen recognition rules (`sz-zc-2020`) over the last 12 months, and the incubator misses
/// two of them (fewer than 20 residents, and fewer than 20 of 3 months or more).
/// The two most recent events of each have their participants checked in with event codes at
/// the space's kiosk (metered attendance); older ones have attested counts entered by hand.
/// Returns the event check-ins.
async fn registers(db: &Db, makers: &[AccountId], kiosks: &[(SpaceId, String)], now: i64) -> anyhow::Result<usize> {
    use crate::store::registers::{AreaPartRow, EventRow, ResidencyRow};
    let tz = chrono_tz::Asia::Shanghai;
    let today = utc_to_local(tz, now).date_naive();
    let day = |back: u64| (today - chrono::Days::new(back)).to_string();
    // The registers are the demo operator's (the ledger says who changed each row).
    let by = match db.account_by_email("operator@labinn.demo").await? {
        Some(a) => a.id,
        None => makers[0].clone(),
    };
    let maker = &by;
    let mut check_ins = 0;
    for (slug, residents, parts) in [
        (
            "longgang-factory",
            22u64,
            [
                ("共享工位区 Desks", 620.0, "maker_work"),
                ("路演厅 Event hall", 280.0, "public_service"),
                ("运营办公室 Office", 100.0, "operator_office"),
            ],
        ),
        (
            "cloud-valley-incubator",
            15,
            [
                ("孵化工位 Incubation desks", 900.0, "maker_work"),
                ("会议室 Meeting rooms", 250.0, "public_service"),
                ("运营办公室 Office", 150.0, "operator_office"),
            ],
        ),
    ] {
        let space = db.space(slug).await?;
        for (name, area_m2, use_class) in parts {
            let row = AreaPartRow {
                id: crate::store::new_id(),
                space_id: space.id.clone(),
                resource_id: None,
                name: name.into(),
                area_m2,
                use_class: use_class.into(),
                created_at: now - 700 * DAY_MS,
                ended_at: None,
            };
            db.save_area_part(&row, maker, now - 700 * DAY_MS).await?;
        }
        for i in 0..residents {
            let org_slug = format!("{slug}-team-{:02}", i + 1);
            let org = match db.organisation(&org_slug).await {
                Ok(o) => o,
                Err(crate::store::StoreError::NotFound) => {
                    db.create_organisation(crate::store::organisations::NewOrganisation {
                        slug: &org_slug,
                        name: &format!("创客团队 {:02}", i + 1),
                        kind: "team",
                        owner: None,
                        now,
                    })
                    .await?
                }
                Err(e) => return Err(e.into()),
            };
            // Starts 4 to 21 months ago (the incubator's first teams 5 to 15); every third one
            // ended a month or so ago.
            let back = if slug == "cloud-valley-incubator" { 150 + i * 40 } else { 120 + i * 25 };
            let (starts_on, ends_on) = if i % 3 == 2 { (day(back), Some(day(30 + i))) } else { (day(back), None) };
            let (starts_on, ends_on) = if slug == "cloud-valley-incubator" && i >= 9 {
                // The incubator's newer teams arrived six weeks ago.
                (day(40 + i), None)
            } else {
                (starts_on, ends_on)
            };
            let row = ResidencyRow {
                id: crate::store::new_id(),
                space_id: space.id.clone(),
                organisation_id: org.id.clone(),
                agreement_ref: format!("RZ-{}-{:03}", &slug[..3].to_uppercase(), i + 1),
                starts_on,
                ends_on,
                desks: 2 + (i % 4) as i64,
                rooms: 0,
                area_m2: 12.0 + (i % 5) as f64 * 4.0,
                founder: format!("创始人 {:02}", i + 1),
                product: ["智能硬件", "教育机器人", "无人机", "可穿戴设备", "开源电子"][(i % 5) as usize].into(),
                created_at: now - 30 * DAY_MS,
                updated_at: now - 30 * DAY_MS,
            };
            db.save_residency(&row, maker, now - 30 * DAY_MS).await?;
        }
        // Events: eight in the last year, each in a booked place of the space.
        let Some(resource) = db.resources_of(&space.id).await?.into_iter().find(|r| r.archived_at.is_none()) else {
            continue;
        };
        let Some(unit) = db.units_of(&resource.id).await?.into_iter().next() else { continue };
        for (n, (kind, topic)) in [
            ("salon", "硬件创业沙龙"),
            ("roadshow", "项目路演日"),
            ("training", "激光切割安全培训"),
            ("competition", "创客大赛初赛"),
            ("maker_market", "创客市集"),
            ("salon", "开源硬件分享会"),
            ("roadshow", "投资人路演"),
            ("training", "3D 打印入门"),
        ]
        .into_iter()
        .enumerate()
        {
            let date = today - chrono::Days::new(20 + 40 * n as u64);
            let start = local_to_utc(tz, date.and_hms_opt(19, 0, 0).expect("a valid hour"));
            let span = Interval::new(start, start + 2 * 60 * MINUTE_MS)?;
            let nonce = crate::auth::checkin_nonce()?;
            let new = NewBooking {
                unit_id: &unit.id,
                resource_id: &resource.id,
                space_id: &space.id,
                account_id: maker,
                organisation_id: None,
                status: BookingStatus::Completed,
                span,
                blocked: span,
                purpose: topic,
                checkin_nonce: &nonce,
                kind: BookingKind::Single,
                now: start - 7 * DAY_MS,
            };
            let (_, got) = db.insert_bookings(std::slice::from_ref(&new), None, false).await?;
            let Some(Some(booking)) = got.into_iter().next() else { continue };
            let metered = n < 2;
            // Metered events were announced a week ahead; attested ones recorded afterwards.
            let recorded = if metered { start - 7 * DAY_MS } else { span.end() };
            let row = EventRow {
                id: crate::store::new_id(),
                space_id: space.id.clone(),
                kind: kind.into(),
                role: if n % 4 == 3 { "co_organiser" } else { "host" }.into(),
                topic: topic.into(),
                booking_id: booking.as_str().to_owned(),
                starts_at: span.start(),
                ends_at: span.end(),
                attendance_entered: (!metered).then_some(20 + 7 * n as i64),
                attested_by: (!metered).then(|| maker.as_str().to_owned()),
                attested_at: (!metered).then_some(span.end()),
                cancelled_at: None,
                created_at: recorded,
                checked_in: 0,
            };
            db.save_event(&row, maker, recorded).await?;
            let kiosk = kiosks.iter().find(|(id, _)| *id == space.id).map(|(_, k)| k);
            if let (true, Some(kiosk)) = (metered, kiosk) {
                // Registered in the week before; at the door from 15 minutes before the start.
                for (i, m) in makers.iter().enumerate().take(makers.len() - n) {
                    db.register_for_event(&row.id, m, start - 3 * DAY_MS + i as i64 * 60 * MINUTE_MS).await?;
                    if db.record_attendance(&row.id, m, kiosk, start - 15 * MINUTE_MS + i as i64 * MINUTE_MS).await?.1 {
                        check_ins += 1;
                    }
                }
            }
        }
    }
    Ok(check_ins)
}
