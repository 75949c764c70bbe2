//! Availability of one resource with 100,000 bookings in the database.
//!
//! `cargo bench --bench availability` seeds, on SQLite (a temp file) and on PostgreSQL
//! (`LABINN_BENCH_PG_URL`, default the local server; skipped with a note if unreachable):
//! one space in Asia/Shanghai open 09:00–21:00 daily, three resources with 10, 40 and 160
//! units, and about 100,000 confirmed bookings over one year (two a day on two days in
//! three, per unit). It then measures, for the 40-unit resource over 31 days:
//! - core: the store load (`resource_calendar`) plus the domain computation (`free_by_unit`);
//! - load only: the store part of core;
//! - http: `GET /api/v1/resources/{id}/availability` end to end, JSON included, over loopback;
//!
//! and how the core cost grows with the window (1, 7, 31, 92 days) and the units (10, 40, 160).

mod common;

use common::pct;
use labinn::app::Application;
use labinn::config::{Config, Settings};
use labinn::domain::availability::free_by_unit;
use labinn::domain::calendar::{DAY_MS, MAX_OPENING_MINUTES, RecurringWindow, Zone, local_to_utc};
use labinn::domain::ids::{AccountId, ResourceId, SpaceId, UnitId};
use labinn::domain::interval::Interval;
use labinn::store::Db;
use labinn::store::catalog::NewResource;
use std::time::Instant;

const ITERATIONS: usize = 300;
const DAYS: i64 = 365;
const YEAR_START: &str = "2026-01-01T00:00";

struct Seeded {
    resources: Vec<(usize, ResourceId)>,
    bookings: usize,
}

async fn seed(db: &Db) -> Seeded {
    let zone = Zone::parse("tz", "Asia/Shanghai").unwrap();
    let space = common::bench_space(db, "maker_space", "2026-01-01T09:00:00", 720, 0).await;
    let (account, _) = {
        let a = db
            .create_account(&labinn::store::accounts::NewAccount {
                email: "bench@example.org",
                password_hash: "x",
                display_name: "Bench",
                locale: "en",
                now: 0,
            })
            .await
            .unwrap();
        (a.id, ())
    };
    let t0 = local_to_utc(zone.tz(), labinn::domain::calendar::parse_local("s", YEAR_START).unwrap());
    let mut resources = Vec::new();
    let mut rows: Vec<(UnitId, ResourceId, i64, i64)> = Vec::new();
    for n in [10usize, 40, 160] {
        let labels: Vec<String> = (1..=n).map(|i| format!("U{i:03}")).collect();
        let rid = db
            .insert_resource_with_units(&NewResource {
                space_id: &space,
                kind: "broadband_seat",
                name_zh: "工位",
                name_en: &format!("Seats x{n}"),
                description: "",
                policy_json: "{}",
                unit_labels: &labels,
                now: 0,
            })
            .await
            .unwrap();
        for unit in db.units_of(&rid).await.unwrap() {
            for d in 0..DAYS {
                if d % 3 == 2 {
                    continue;
                }
                let day = t0 + d * DAY_MS;
                rows.push((unit.id.clone(), rid.clone(), day + 2 * 3_600_000, day + 4 * 3_600_000)); // 10:00–12:00 local
                rows.push((unit.id.clone(), rid.clone(), day + 6 * 3_600_000, day + 8 * 3_600_000)); // 14:00–16:00 local
            }
        }
        resources.push((n, rid));
    }
    let bookings = rows.len();
    for chunk in rows.chunks(2_000) {
        insert_chunk(db, chunk, &space, &account).await.unwrap();
    }
    labinn::on_read!(db, |p| sqlx::query("ANALYZE").execute(p).await.map(|_| ()).unwrap());

    Seeded { resources, bookings }
}

async fn insert_chunk(
    db: &Db,
    chunk: &[(UnitId, ResourceId, i64, i64)],
    space: &SpaceId,
    account: &AccountId,
) -> Result<(), labinn::store::StoreError> {
    {
        labinn::in_write_tx!(db, |tx| {
            let mut qb = sqlx::QueryBuilder::new(
                "INSERT INTO bookings (id, unit_id, resource_id, space_id, account_id, status, starts_at, ends_at, \
                 blocked_from, blocked_until, checkin_nonce, created_at, updated_at) ",
            );
            qb.push_values(chunk, |mut b, (unit, rid, s, e)| {
                b.push_bind(labinn::store::new_id())
                    .push_bind(unit)
                    .push_bind(rid)
                    .push_bind(space)
                    .push_bind(account)
                    .push_bind("confirmed")
                    .push_bind(*s)
                    .push_bind(*e)
                    .push_bind(*s)
                    .push_bind(*e)
                    .push_bind("n")
                    .push_bind(0i64)
                    .push_bind(0i64);
            });
            qb.build().execute(&mut *tx).await?;
        });
    }
    Ok(())
}

async fn core(db: &Db, resource: &ResourceId, window: Interval) -> usize {
    let cal = db.resource_calendar(resource, window).await.unwrap();
    let zone = Zone::parse("tz", &cal.space.timezone).unwrap();
    let rules: Vec<RecurringWindow> = cal
        .opening_rules
        .iter()
        .map(|r| {
            RecurringWindow::parse(
                ["r", "s", "d"],
                &r.rrule,
                &r.dtstart_local,
                r.duration_min,
                MAX_OPENING_MINUTES,
                zone,
            )
            .unwrap()
        })
        .collect();
    let units: Vec<UnitId> = cal.units.iter().map(|u| u.id.clone()).collect();
    let free = free_by_unit(&cal.resource.id, &units, &rules, &[], &cal.blocks, window).unwrap();
    free.iter().map(|f| f.free.len()).sum()
}

async fn time_core(db: &Db, resource: &ResourceId, window: Interval) -> (f64, f64, usize) {
    for _ in 0..20 {
        core(db, resource, window).await;
    }
    let mut ms = Vec::with_capacity(ITERATIONS);
    let mut intervals = 0;
    for _ in 0..ITERATIONS {
        let t = Instant::now();
        intervals = core(db, resource, window).await;
        ms.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    ms.sort_by(f64::total_cmp);
    (pct(&ms, 0.5), pct(&ms, 0.99), intervals)
}

async fn time_load(db: &Db, resource: &ResourceId, window: Interval) -> (f64, f64) {
    let mut ms = Vec::with_capacity(ITERATIONS);
    for _ in 0..ITERATIONS {
        let t = Instant::now();
        db.resource_calendar(resource, window).await.unwrap();
        ms.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    ms.sort_by(f64::total_cmp);
    (pct(&ms, 0.5), pct(&ms, 0.99))
}

async fn run(label: &str, database_url: String) {
    let config = Config::from_settings(Settings {
        bind: Some("127.0.0.1:0".parse().unwrap()),
        database_url: Some(database_url),
        log: Some("warn".into()),
        ..Settings::default()
    })
    .unwrap();
    let app = Application::build(config).await.unwrap();
    let db = app.db().clone();
    let addr = app.local_addr();
    let t = Instant::now();
    let seeded = seed(&db).await;
    println!("\n[{label}] seeded {} bookings in {:.1} s", seeded.bookings, t.elapsed().as_secs_f64());
    tokio::spawn(app.run_until_stopped(std::future::pending()));

    let zone = Zone::parse("tz", "Asia/Shanghai").unwrap();
    let mid = local_to_utc(zone.tz(), labinn::domain::calendar::parse_local("s", "2026-06-01T00:00").unwrap());
    let window = |days: i64| Interval::new(mid, mid + days * DAY_MS).unwrap();
    let r40 = &seeded.resources[1].1;

    let (p50, p99, n) = time_core(&db, r40, window(31)).await;
    println!("[{label}] core, 40 units x 31 days: p50 {p50:.2} ms, p99 {p99:.2} ms ({n} free intervals)");
    let (l50, l99) = time_load(&db, r40, window(31)).await;
    println!("[{label}] load only (store), 40 units x 31 days: p50 {l50:.2} ms, p99 {l99:.2} ms");

    let client = reqwest::Client::new();
    let url = format!("http://{addr}/api/v1/resources/{r40}/availability?from=2026-06-01&to=2026-07-02");
    for _ in 0..20 {
        client.get(&url).send().await.unwrap().bytes().await.unwrap();
    }
    let mut ms = Vec::with_capacity(ITERATIONS);
    let mut size = 0;
    for _ in 0..ITERATIONS {
        let t = Instant::now();
        let body = client.get(&url).send().await.unwrap().bytes().await.unwrap();
        ms.push(t.elapsed().as_secs_f64() * 1000.0);
        size = body.len();
    }
    ms.sort_by(f64::total_cmp);
    println!(
        "[{label}] http, 40 units x 31 days: p50 {:.2} ms, p99 {:.2} ms ({} KiB of JSON)",
        pct(&ms, 0.5),
        pct(&ms, 0.99),
        size / 1024
    );

    for days in [1, 7, 31, 92] {
        let (p50, p99, _) = time_core(&db, r40, window(days)).await;
        println!("[{label}] core, 40 units x {days:>2} days: p50 {p50:.2} ms, p99 {p99:.2} ms");
    }
    for (n, rid) in &seeded.resources {
        let (p50, p99, _) = time_core(&db, rid, window(31)).await;
        let (l50, l99) = time_load(&db, rid, window(31)).await;
        println!(
            "[{label}] core, {n:>3} units x 31 days: p50 {p50:.2} ms, p99 {p99:.2} ms (load only: p50 {l50:.2} ms, p99 {l99:.2} ms)"
        );
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    common::on_both_backends("a", run).await;
}
