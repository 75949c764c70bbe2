//! The no-double-booking invariant lives in the database. These tests write through the
//! store (no application check in front) and through raw SQL, and race.

use crate::helpers::{FreshDb, TestApp, postgres_server, spawn_app, spawn_on};
use labinn::domain::booking::{BookingKind, BookingStatus};
use labinn::domain::ids::{AccountId, BookingId, ResourceId, SpaceId, UnitId};
use labinn::domain::interval::Interval;
use labinn::store::bookings::NewBooking;
use labinn::store::catalog::NewSpace;
use labinn::store::{Db, StoreError};
use std::sync::Arc;

const MIN: i64 = 60_000;
const T0: i64 = 1_798_761_600_000; // 2027-01-01T00:00:00Z

struct Fixture {
    space: SpaceId,
    resource: ResourceId,
    unit: UnitId,
    account: AccountId,
}

async fn fixture(app: &TestApp) -> Fixture {
    let (account, _) = app.maker("racer@example.org").await;
    let account = AccountId::new(account);
    let space = app
        .db
        .insert_space(NewSpace {
            slug: "lab",
            name_zh: "实验室",
            name_en: "Lab",
            kind: "maker_space",
            timezone: "Asia/Shanghai",
            now: 0,
        })
        .await
        .unwrap();
    let resource = app.db.insert_resource(&space, "tool", "激光切割机", "Laser cutter", 0).await.unwrap();
    let unit = app.db.insert_unit(&resource, "LC-1", 0).await.unwrap();
    Fixture { space, resource, unit, account }
}

async fn book(db: &Db, f: &Fixture, from: i64, until: i64) -> Result<BookingId, StoreError> {
    book_on(db, f, &f.unit, from, until).await
}

/// [`book`] on `unit` (which may not exist), with the fixture's resource, space and maker.
async fn book_on(db: &Db, f: &Fixture, unit: &UnitId, from: i64, until: i64) -> Result<BookingId, StoreError> {
    let span = Interval::new(from, until).unwrap();
    db.insert_booking(&NewBooking {
        unit_id: unit,
        resource_id: &f.resource,
        space_id: &f.space,
        account_id: &f.account,
        organisation_id: None,
        status: BookingStatus::Confirmed,
        span,
        blocked: span,
        purpose: "",
        checkin_nonce: "n",
        kind: BookingKind::Single,
        now: 0,
    })
    .await
}

async fn live_count(db: &Db, unit: &UnitId) -> i64 {
    labinn::on_read!(db, |p| sqlx::query_scalar(
        "SELECT COUNT(*) FROM bookings WHERE unit_id = $1 AND status IN ('pending', 'confirmed', 'checked_in')"
    )
    .bind(unit)
    .fetch_one(p)
    .await
    .unwrap())
}

/// 32 tasks each insert a 60-minute booking starting one minute after the previous one:
/// every pair overlaps, so exactly one may survive.
async fn race(dbs: &[Db], f: Arc<Fixture>) -> (usize, usize) {
    let mut tasks = Vec::new();
    for i in 0..32 {
        let db = dbs[i % dbs.len()].clone();
        let f = f.clone();
        tasks.push(tokio::spawn(async move {
            let from = T0 + i64::try_from(i).unwrap() * MIN;
            book(&db, &f, from, from + 60 * MIN).await
        }));
    }
    let (mut ok, mut overlap) = (0, 0);
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => ok += 1,
            Err(StoreError::Overlap) => overlap += 1,
            Err(e) => panic!("a racing insert failed with something other than an overlap: {e}"),
        }
    }
    (ok, overlap)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn of_32_racing_overlapping_bookings_exactly_one_survives() {
    let app = spawn_app().await;
    let f = Arc::new(fixture(&app).await);
    let (ok, overlap) = race(std::slice::from_ref(&app.db), f.clone()).await;
    assert_eq!((ok, overlap), (1, 31));
    assert_eq!(live_count(&app.db, &f.unit).await, 1);
}

/// Bookings written together (SQLite group commit, PostgreSQL multi-row insert) still get
/// their own answers: one row that names a unit that does not exist fails alone, while the
/// others, on free times, are all written.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_bad_row_among_concurrent_bookings_fails_alone() {
    let app = spawn_app().await;
    let f = Arc::new(fixture(&app).await);
    let mut tasks = Vec::new();
    for i in 0..24_i64 {
        let (db, f) = (app.db.clone(), f.clone());
        tasks.push(tokio::spawn(async move {
            let unit = if i == 7 { UnitId::new(labinn::store::new_id()) } else { f.unit.clone() };
            book_on(&db, &f, &unit, T0 + i * 60 * MIN, T0 + (i + 1) * 60 * MIN).await
        }));
    }
    let mut results = Vec::new();
    for t in tasks {
        results.push(t.await.unwrap());
    }
    for (i, r) in results.iter().enumerate() {
        if i == 7 {
            assert!(matches!(r, Err(StoreError::ForeignKey(_))), "row 7: {r:?}");
        } else {
            assert!(r.is_ok(), "row {i}: {r:?}");
        }
    }
    assert_eq!(live_count(&app.db, &f.unit).await, 23);
}

#[tokio::test]
async fn touching_bookings_do_not_conflict() {
    let app = spawn_app().await;
    let f = fixture(&app).await;
    book(&app.db, &f, T0 + 9 * 60 * MIN, T0 + 10 * 60 * MIN).await.unwrap();
    book(&app.db, &f, T0 + 10 * 60 * MIN, T0 + 11 * 60 * MIN)
        .await
        .expect("[10,11) touches [9,10) without overlapping");
    book(&app.db, &f, T0 + 8 * 60 * MIN, T0 + 9 * 60 * MIN).await.expect("[8,9) touches [9,10)");
    assert!(matches!(book(&app.db, &f, T0 + 9 * 60 * MIN + 1, T0 + 9 * 60 * MIN + 2).await, Err(StoreError::Overlap)));
}

#[tokio::test]
async fn raw_sql_that_bypasses_the_application_is_refused_by_the_database() {
    let app = spawn_app().await;
    let f = fixture(&app).await;
    book(&app.db, &f, T0, T0 + 60 * MIN).await.unwrap();
    let sql = "INSERT INTO bookings (id, unit_id, resource_id, space_id, account_id, status, starts_at, ends_at, \
               blocked_from, blocked_until, checkin_nonce, created_at, updated_at) \
               VALUES ('sneak', $1, $2, $3, $4, 'confirmed', $5, $6, $5, $6, 'n', 0, 0)";
    let err = labinn::on_read!(&app.db, |p| sqlx::query(sql)
        .bind(&f.unit)
        .bind(&f.resource)
        .bind(&f.space)
        .bind(&f.account)
        .bind(T0 + 30 * MIN)
        .bind(T0 + 90 * MIN)
        .execute(p)
        .await
        .expect_err("the database must refuse an overlapping row"));
    assert!(matches!(StoreError::from(err), StoreError::Overlap));
    assert_eq!(live_count(&app.db, &f.unit).await, 1);
}

#[tokio::test]
async fn a_cancelled_booking_frees_its_unit_and_cannot_come_back_over_another() {
    let app = spawn_app().await;
    let f = fixture(&app).await;
    let first = book(&app.db, &f, T0, T0 + 60 * MIN).await.unwrap();
    labinn::on_read!(&app.db, |p| sqlx::query("UPDATE bookings SET status = 'cancelled' WHERE id = $1")
        .bind(&first)
        .execute(p)
        .await
        .map(|_| ())
        .unwrap());
    book(&app.db, &f, T0, T0 + 60 * MIN).await.expect("the cancelled booking no longer blocks");
    let revive = labinn::on_read!(&app.db, |p| sqlx::query("UPDATE bookings SET status = 'confirmed' WHERE id = $1")
        .bind(&first)
        .execute(p)
        .await
        .map(|_| ()));
    assert!(matches!(StoreError::from(revive.unwrap_err()), StoreError::Overlap), "reviving it would double-book");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_nodes_on_one_postgres_start_together_and_still_never_double_book() {
    let Some(server) = postgres_server().await else { return };
    let fresh = FreshDb::postgres(&server).await;
    let url = fresh.url.clone();
    // Two nodes start at the same moment: both migrate the empty database.
    let node = |url: String| async move {
        let config = labinn::config::Config::from_settings(labinn::config::Settings {
            bind: Some("127.0.0.1:0".parse().unwrap()),
            database_url: Some(url),
            db_max_connections: Some(8),
            ..Default::default()
        })
        .unwrap();
        labinn::app::Application::build(config).await.expect("node starts")
    };
    let (a, b) = tokio::join!(node(url.clone()), node(url));
    let (db_a, db_b) = (a.db().clone(), b.db().clone());
    assert_eq!(db_a.applied_schema_version().await.unwrap(), Some(db_a.expected_schema_version()));

    let app = spawn_on(fresh, |s| s).await;
    let f = Arc::new(fixture(&app).await);
    let (ok, overlap) = race(&[db_a, db_b], f.clone()).await;
    assert_eq!((ok, overlap), (1, 31));
    assert_eq!(live_count(&app.db, &f.unit).await, 1);
}

/// The benchmark's bare booking insert is off unless asked for; on, it writes through the
/// same path as bookings, so the database still refuses an overlap.
#[tokio::test]
async fn the_bare_booking_insert_is_off_by_default_and_obeys_the_guarantee_when_on() {
    let off = spawn_app().await;
    let r =
        off.send(off.client.post(off.url("/_bench/insert_booking?unit=u&resource=r&space=s&account=a&from=0"))).await;
    assert_eq!(r.status, 404, "{}", r.text);

    let app = crate::helpers::spawn_app_with(|s| labinn::config::Settings { bench_endpoints: Some(true), ..s }).await;
    let f = fixture(&app).await;
    let path = |from: i64| {
        format!(
            "/_bench/insert_booking?unit={}&resource={}&space={}&account={}&from={from}",
            f.unit, f.resource, f.space, f.account
        )
    };
    let first = app.send(app.client.post(app.url(&path(T0)))).await;
    assert_eq!(first.status, 201, "{}", first.text);
    let again = app.send(app.client.post(app.url(&path(T0 + 30 * MIN)))).await;
    assert_eq!((again.status, again.code()), (409, "conflict"), "{}", again.text);
    let next = app.send(app.client.post(app.url(&path(T0 + 60 * MIN)))).await;
    assert_eq!(next.status, 201, "{}", next.text);
    assert_eq!(live_count(&app.db, &f.unit).await, 2);
}

/// The database's decision, for hundreds of random bookings, moves and cancellations on one
/// unit, is exactly the model's: a booking or move is refused precisely when its interval
/// overlaps a live booking of the unit (another than itself). The SQLite trigger looks only at
/// the first live booking ending after the new start, so this checks that shortcut against the
/// plain definition, with long and short intervals, touching ends and cancelled rows about.
#[tokio::test]
async fn the_database_refuses_exactly_the_overlapping_bookings_and_moves() {
    let app = spawn_app().await;
    let f = fixture(&app).await;
    let mut live: Vec<(BookingId, i64, i64)> = Vec::new();
    let mut seed: u64 = 0x5eed_1abb;
    let mut next = |n: u64| {
        seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        (seed >> 33) % n
    };
    let (mut refused, mut moved, mut cancelled) = (0, 0, 0);
    for step in 0..400 {
        // Quarter hours over about four days; mostly short, sometimes a day long.
        let from = T0 + i64::try_from(next(400)).unwrap() * 15 * MIN;
        let len = if next(10) == 0 { 96 } else { 1 + i64::try_from(next(8)).unwrap() } * 15 * MIN;
        let (until, action) = (from + len, next(10));
        let overlaps =
            |skip: Option<&BookingId>| live.iter().any(|(id, a, b)| skip != Some(id) && *a < until && from < *b);
        if action == 0 && !live.is_empty() {
            let k = usize::try_from(next(live.len() as u64)).unwrap();
            let (id, _, _) = live.remove(k);
            assert!(app.db.cancel_booking(&id, &f.account, Some("test"), 0).await.unwrap(), "step {step}");
            cancelled += 1;
        } else if action == 1 && !live.is_empty() {
            let k = usize::try_from(next(live.len() as u64)).unwrap();
            let id = live[k].0.clone();
            let span = Interval::new(from, until).unwrap();
            let r = app
                .db
                .move_booking(&id, &f.unit, span, span, (BookingStatus::Confirmed, BookingStatus::Confirmed), 0)
                .await;
            if overlaps(Some(&id)) {
                assert!(matches!(r, Err(StoreError::Overlap)), "step {step}: move {from}..{until}: {r:?}");
                refused += 1;
            } else {
                assert!(matches!(r, Ok(true)), "step {step}: move {from}..{until}: {r:?}");
                live[k] = (id, from, until);
                moved += 1;
            }
        } else {
            let r = book(&app.db, &f, from, until).await;
            if overlaps(None) {
                assert!(matches!(r, Err(StoreError::Overlap)), "step {step}: {from}..{until}: {r:?}");
                refused += 1;
            } else {
                live.push((r.unwrap_or_else(|e| panic!("step {step}: {from}..{until}: {e:?}")), from, until));
            }
        }
    }
    assert_eq!(live_count(&app.db, &f.unit).await, i64::try_from(live.len()).unwrap());
    // The walk met every case.
    assert!(refused > 50 && moved > 5 && cancelled > 10, "refused {refused}, moved {moved}, cancelled {cancelled}");
}
