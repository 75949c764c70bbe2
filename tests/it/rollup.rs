//! The reports' per-day roll-up: a report served from stored days says exactly what the same
//! report read from the bookings and sessions says, and a change to an old fact is never
//! hidden by a stored day.

use crate::checkin::sqlx_exec;
use crate::helpers::TestApp;
use crate::reports::berlin_week;
use serde_json::Value;

fn utc_ms(rfc3339: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(rfc3339).unwrap().timestamp_millis()
}

/// A report's JSON without what says when and how it was made, and the number of days it
/// took from the roll-up.
async fn report(app: &TestApp, op: &str, slug: &str, query: &str) -> (Value, u64) {
    let r = app.get(&format!("/api/v1/reports/utilization?space={slug}&{query}"), Some(op)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let mut body = r.body;
    let days = body["rollup_days"].as_u64().expect("rollup_days");
    let o = body.as_object_mut().unwrap();
    o.remove("generated_at");
    o.remove("rollup_days");
    (body, days)
}

/// The criteria of the space's pack for March under the Shenzhen scheme.
async fn pack(app: &TestApp, op: &str, slug: &str) -> Value {
    let url = format!("/api/v1/spaces/{slug}/evidence?scheme=sz-zc-2020&from=2026-03-01&to=2026-03-31");
    let r = app.get(&url, Some(op)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.body["criteria"].clone()
}

async fn build(app: &TestApp, at: &str) -> usize {
    labinn::service::rollup::build_all(&app.state.svc, utc_ms(at)).await.unwrap()
}

const QUERIES: [&str; 4] = [
    "from=2026-03-23&to=2026-03-29&bucket=day&by=resource",
    "from=2026-03-20&to=2026-04-05&bucket=week&by=kind",
    "from=2026-03-01&to=2026-03-31&bucket=month&by=space",
    "from=2026-03-23&to=2026-03-29&bucket=day&by=unit",
];

#[tokio::test]
async fn a_report_from_the_roll_up_says_what_the_raw_facts_say_and_an_edit_of_an_old_session_is_never_hidden() {
    let (app, op, slug) = berlin_week().await;
    app.clock.set(utc_ms("2026-04-10T12:00:00+02:00"));
    let mut raw = Vec::new();
    for q in QUERIES {
        let (body, days) = report(&app, &op, &slug, q).await;
        assert_eq!(days, 0, "nothing is built yet: {q}");
        raw.push(body);
    }
    let raw_pack = pack(&app, &op, &slug).await;

    // Built from the space's first day (the 20th) up to two days before the clock.
    let built = build(&app, "2026-04-10T12:00:00+02:00").await;
    assert_eq!(built, 19, "2026-03-20 to 2026-04-07");
    for (q, want) in QUERIES.iter().zip(&raw) {
        let (body, days) = report(&app, &op, &slug, q).await;
        // By unit is always read raw; the others come from the roll-up.
        let expected_days = if q.contains("by=unit") { 0 } else { 7 };
        assert!(days >= expected_days, "{q}: {days} days from the roll-up");
        assert_eq!(&body, want, "{q}: the roll-up and the raw facts differ");
    }
    assert_eq!(pack(&app, &op, &slug).await, raw_pack, "the pack's criteria from the roll-up");

    // An old session is corrected by hand (A on Monday the 23rd runs an hour longer): the
    // database marks its days, and the report reads them raw until they are rebuilt.
    sqlx_exec(&app, "UPDATE sessions SET ended_at = ended_at + 3600000 WHERE started_at = 1774256700000").await;
    let (after, days) = report(&app, &op, &slug, QUERIES[0]).await;
    assert_eq!(days, 6, "Monday is read raw");
    let laser = after["groups"].as_array().unwrap().iter().find(|g| g["name_en"] == "Laser cutter").unwrap();
    // 10:05–13:30: 205 min.
    assert_eq!(laser["total"]["used_hours"], 3.417);
    // As of a moment before the last build the roll-up is not used at all: the same digits.
    app.clock.set(utc_ms("2026-04-09T12:00:00+02:00"));
    let (raw_after, days) = report(&app, &op, &slug, QUERIES[0]).await;
    assert_eq!((days, &raw_after), (0, &after));

    // The next build rebuilds Monday and the mark is gone.
    build(&app, "2026-04-10T13:00:00+02:00").await;
    app.clock.set(utc_ms("2026-04-10T13:00:00+02:00"));
    let (rebuilt, days) = report(&app, &op, &slug, QUERIES[0]).await;
    assert_eq!((days, &rebuilt), (7, &after));
    let states = app.state.svc.db.rollup_states().await.unwrap();
    assert_eq!(states.iter().map(|(_, _, marks)| *marks).sum::<i64>(), 0, "{states:?}");
}

#[tokio::test]
async fn a_change_of_opening_hours_sends_the_old_days_back_to_raw_until_they_are_rebuilt() {
    let (app, op, slug) = berlin_week().await;
    build(&app, "2026-04-10T12:00:00+02:00").await;
    app.clock.set(utc_ms("2026-04-10T12:00:00+02:00"));
    let (before, days) = report(&app, &op, &slug, QUERIES[0]).await;
    assert_eq!(days, 7);
    // A closure of the whole space on Monday the 23rd, recorded late.
    let c = app
        .post(
            &format!("/api/v1/spaces/{slug}/closures"),
            Some(&op),
            serde_json::json!({"reason": "Nachtrag", "start": "2026-03-23T00:00:00+01:00", "end": "2026-03-24T00:00:00+01:00"}),
        )
        .await;
    assert_eq!(c.status, 201, "{}", c.text);
    let (after, days) = report(&app, &op, &slug, QUERIES[0]).await;
    assert_eq!(days, 0, "another catalog: nothing stored is used");
    assert_ne!(after, before);
    let laser = after["groups"].as_array().unwrap().iter().find(|g| g["name_en"] == "Laser cutter").unwrap();
    assert_eq!(laser["total"]["open_hours"], 50.0, "10 h a day for 5 days");
    build(&app, "2026-04-10T12:00:00+02:00").await;
    let (rebuilt, days) = report(&app, &op, &slug, QUERIES[0]).await;
    assert_eq!((days, &rebuilt), (7, &after));
}

#[tokio::test]
async fn a_booking_ahead_and_its_check_in_leave_no_dirty_mark() {
    // On the real clock, so that "ahead" means ahead of the database's clock too.
    // A quarter hour, as bookings start on 15-minute slots.
    let now = chrono::Utc::now().timestamp_millis() / 900_000 * 900_000;
    let app = crate::helpers::spawn_app_at(now).await;
    let (op, slug) = crate::helpers::operated_space(&app, "today-lab", "Asia/Shanghai").await;
    crate::helpers::open_daily(&app, &op, &slug, "00:00", 1440).await;
    let r = app
        .post(
            &format!("/api/v1/spaces/{slug}/resources"),
            Some(&op),
            serde_json::json!({"kind": "tool", "name_zh": "3D 打印机", "name_en": "Printer", "units": {"labels": ["P-1"]},
                               "policy": {"min_notice_minutes": 0, "buffer_before_minutes": 0, "buffer_after_minutes": 0}}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let printer = r.body["id"].as_str().unwrap().to_owned();
    // The space's roll-up state exists, so a write that reached back would mark.
    labinn::service::rollup::step(&app.state.svc, now, 93).await.unwrap();
    let svc = &app.state.svc;
    assert_eq!(svc.db.rollup_states().await.unwrap().len(), 1);

    let (_, maker) = app.maker("mei@example.org").await;
    let start = chrono::DateTime::from_timestamp_millis(now + 3_600_000).unwrap().to_rfc3339();
    let end = chrono::DateTime::from_timestamp_millis(now + 2 * 3_600_000).unwrap().to_rfc3339();
    let booking = app.book(&maker, serde_json::json!({"resource": printer, "start": start, "end": end})).await;
    app.clock.set(now + 3_600_000);
    let r = app
        .post(
            &format!("/api/v1/bookings/{}/check-in", booking.id),
            Some(&op),
            serde_json::json!({"reason": "at the desk"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let states = svc.db.rollup_states().await.unwrap();
    assert_eq!(states[0].2, 0, "a booking ahead and a check-in now mark nothing: {states:?}");
}

#[tokio::test]
async fn two_builders_at_once_store_one_step_and_the_report_still_says_what_the_facts_say() {
    let (app, op, slug) = berlin_week().await;
    app.clock.set(utc_ms("2026-04-10T12:00:00+02:00"));
    let (raw, _) = report(&app, &op, &slug, QUERIES[0]).await;
    let svc = &app.state.svc;
    let at = utc_ms("2026-04-10T12:00:00+02:00");
    // The fixture's jobs made the space's state; nothing is built yet.
    assert_eq!(svc.db.rollup_states().await.unwrap()[0].0.steps, 0);
    tokio::time::sleep(std::time::Duration::from_millis(1_200)).await; // PostgreSQL's second of slack
    let (a, b) = tokio::join!(labinn::service::rollup::step(svc, at, 93), labinn::service::rollup::step(svc, at, 93));
    let (a, b) = (a.unwrap(), b.unwrap());
    // One step stored the 19 days; the other stored nothing (its write was dropped, or it came
    // second and found nothing to do).
    assert_eq!(a.days.max(b.days), 19, "{a:?} {b:?}");
    let states = svc.db.rollup_states().await.unwrap();
    assert_eq!(states[0].0.steps, 1, "{states:?}");
    let (served, days) = report(&app, &op, &slug, QUERIES[0]).await;
    assert_eq!((days, &served), (7, &raw));
}
