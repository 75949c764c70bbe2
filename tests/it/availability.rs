//! "When is this free?" through the API: opening hours minus closures minus bookings,
//! per unit, in UTC and local time, across DST in Berlin and Los Angeles and in Shanghai.

use crate::helpers::{TestApp, operated_space, spawn_app, spawn_app_at};
use labinn::domain::booking::{BookingKind, BookingStatus};
use labinn::domain::ids::{AccountId, ResourceId, SpaceId, UnitId};
use labinn::domain::interval::Interval;
use labinn::store::bookings::NewBooking;
use serde_json::{Value, json};

async fn resource(app: &TestApp, op: &str, slug: &str, body: Value) -> Value {
    let r = app.post(&format!("/api/v1/spaces/{slug}/resources"), Some(op), body).await;
    assert_eq!(r.status, 201, "{}", r.text);
    r.body
}

async fn weekdays_nine_to_six(app: &TestApp, op: &str, slug: &str) {
    let r = app
        .post(
            &format!("/api/v1/spaces/{slug}/opening-rules"),
            Some(op),
            json!({"rrule": "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR,SA,SU", "start": "2026-01-01T09:00", "duration_minutes": 540}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
}

fn local_spans(unit: &Value) -> Vec<(String, String)> {
    unit["free"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["start_local"].as_str().unwrap().to_owned(), f["end_local"].as_str().unwrap().to_owned()))
        .collect()
}

#[tokio::test]
async fn berlin_shows_nine_to_six_local_on_both_sides_of_spring_forward_and_on_the_day() {
    let app = spawn_app().await;
    let (op, slug) = operated_space(&app, "berlin-lab", "Europe/Berlin").await;
    weekdays_nine_to_six(&app, &op, &slug).await;
    let r = resource(&app, &op, &slug, json!({"kind": "lab_facility", "name_zh": "示波器", "name_en": "Oscilloscope"}))
        .await;
    let id = r["id"].as_str().unwrap();
    let a = app.get(&format!("/api/v1/resources/{id}/availability?from=2026-03-28&to=2026-03-31"), None).await;
    assert_eq!(a.status, 200, "{}", a.text);
    assert_eq!(
        local_spans(&a.body["units"][0]),
        [
            ("2026-03-28T09:00:00+01:00".to_owned(), "2026-03-28T18:00:00+01:00".to_owned()),
            ("2026-03-29T09:00:00+02:00".to_owned(), "2026-03-29T18:00:00+02:00".to_owned()),
            ("2026-03-30T09:00:00+02:00".to_owned(), "2026-03-30T18:00:00+02:00".to_owned()),
        ]
    );
    assert_eq!(a.body["units"][0]["free"][1]["start"], "2026-03-29T07:00:00Z");
    assert_eq!(a.body["timezone"], "Europe/Berlin");
}

#[tokio::test]
async fn los_angeles_shows_nine_to_six_local_across_fall_back() {
    let app = spawn_app().await;
    let (op, slug) = operated_space(&app, "la-partner", "America/Los_Angeles").await;
    weekdays_nine_to_six(&app, &op, &slug).await;
    resource(&app, &op, &slug, json!({"kind": "tool", "name_zh": "数控机床", "name_en": "CNC mill"})).await;
    let day = app.get(&format!("/api/v1/spaces/{slug}/availability?date=2026-11-01"), None).await;
    assert_eq!(day.status, 200, "{}", day.text);
    assert_eq!(day.body["window"]["start_local"], "2026-11-01T00:00:00-07:00");
    assert_eq!(day.body["window"]["end_local"], "2026-11-02T00:00:00-08:00", "the fall-back day has 25 hours");
    assert_eq!(
        local_spans(&day.body["resources"][0]["units"][0]),
        [("2026-11-01T09:00:00-08:00".to_owned(), "2026-11-01T18:00:00-08:00".to_owned())]
    );
}

#[tokio::test]
async fn a_booking_with_buffers_and_a_unit_closure_cut_only_their_own_unit() {
    let app = spawn_app().await;
    let (op, slug) = operated_space(&app, "shanghai-fab", "Asia/Shanghai").await;
    weekdays_nine_to_six(&app, &op, &slug).await;
    let r = resource(
        &app,
        &op,
        &slug,
        json!({"kind": "tool", "name_zh": "激光切割机", "name_en": "Laser cutter", "units": {"labels": ["LC-1", "LC-2"]},
               "policy": {"buffer_after_minutes": 30}}),
    )
    .await;
    let rid = r["id"].as_str().unwrap().to_owned();
    let (lc1, lc2) =
        (r["units"][0]["id"].as_str().unwrap().to_owned(), r["units"][1]["id"].as_str().unwrap().to_owned());
    let space_id = app.get(&format!("/api/v1/spaces/{slug}"), None).await.body["id"].as_str().unwrap().to_owned();

    // A booking on LC-1, 10:00–11:00 Shanghai (02:00–03:00Z), blocked until 11:30 by the buffer.
    let (maker, _) = app.maker("booker@example.org").await;
    let t = |h: i64, m: i64| 1_788_739_200_000 + (h * 60 + m) * 60_000 - 8 * 3_600_000; // 2026-09-07 local h:m
    app.db
        .insert_booking(&NewBooking {
            unit_id: &UnitId::new(&lc1),
            resource_id: &ResourceId::new(&rid),
            space_id: &SpaceId::new(&space_id),
            account_id: &AccountId::new(&maker),
            organisation_id: None,
            status: BookingStatus::Confirmed,
            span: Interval::new(t(10, 0), t(11, 0)).unwrap(),
            blocked: Interval::new(t(10, 0), t(11, 30)).unwrap(),
            purpose: "",
            checkin_nonce: "n",
            kind: BookingKind::Single,
            now: 0,
        })
        .await
        .unwrap();
    // Maintenance on LC-2 in the afternoon.
    let c = app
        .post(
            &format!("/api/v1/spaces/{slug}/closures"),
            Some(&op),
            json!({"unit": lc2, "reason": "maintenance", "start": "2026-09-07T13:00", "end": "2026-09-07T18:00"}),
        )
        .await;
    assert_eq!(c.status, 201, "{}", c.text);

    let a = app.get(&format!("/api/v1/resources/{rid}/availability?from=2026-09-07&to=2026-09-08"), None).await;
    assert_eq!(a.status, 200, "{}", a.text);
    let hm = |u: &Value| -> Vec<String> {
        local_spans(u).iter().map(|(s, e)| format!("{}-{}", &s[11..16], &e[11..16])).collect()
    };
    assert_eq!(a.body["units"][0]["label"], "LC-1");
    assert_eq!(hm(&a.body["units"][0]), ["09:00-10:00", "11:30-18:00"]);
    assert_eq!(hm(&a.body["units"][1]), ["09:00-13:00"]);
}

#[tokio::test]
async fn a_public_holiday_closes_the_space_and_a_weekly_closure_recurs() {
    let app = spawn_app().await;
    let (op, slug) = operated_space(&app, "holiday", "Asia/Shanghai").await;
    weekdays_nine_to_six(&app, &op, &slug).await;
    let r = resource(
        &app,
        &op,
        &slug,
        json!({"kind": "broadband_seat", "name_zh": "工位", "name_en": "Seats", "units": {"count": 3, "prefix": "S"}}),
    )
    .await;
    let rid = r["id"].as_str().unwrap().to_owned();
    let c = app
        .post(&format!("/api/v1/spaces/{slug}/closures"), Some(&op), json!({"reason": "国庆节 National Day", "start": "2026-10-01T00:00:00+08:00", "end": "2026-10-02T00:00:00+08:00"}))
        .await;
    assert_eq!(c.status, 201, "{}", c.text);
    let c = app
        .post(
            &format!("/api/v1/spaces/{slug}/closures"),
            Some(&op),
            json!({"reason": "weekly cleaning", "resource": rid, "rrule": "FREQ=WEEKLY;BYDAY=FR", "start": "2026-09-04T16:00", "duration_minutes": 120}),
        )
        .await;
    assert_eq!(c.status, 201, "{}", c.text);
    let a = app.get(&format!("/api/v1/resources/{rid}/availability?from=2026-10-01&to=2026-10-03"), None).await;
    assert_eq!(a.status, 200, "{}", a.text);
    for unit in a.body["units"].as_array().unwrap() {
        let spans = local_spans(unit);
        assert_eq!(spans.len(), 1, "closed on 1 October, open on Friday 2 October: {spans:?}");
        assert_eq!(spans[0], ("2026-10-02T09:00:00+08:00".to_owned(), "2026-10-02T16:00:00+08:00".to_owned()));
    }
    let list = app.get(&format!("/api/v1/spaces/{slug}/closures"), None).await;
    assert_eq!(list.body.as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn a_resource_rule_overrides_the_space_hours() {
    let app = spawn_app().await;
    let (op, slug) = operated_space(&app, "override", "Asia/Shanghai").await;
    weekdays_nine_to_six(&app, &op, &slug).await;
    let inn =
        resource(&app, &op, &slug, json!({"kind": "broadband_seat", "name_zh": "通宵工位", "name_en": "Night desks"}))
            .await;
    let rid = inn["id"].as_str().unwrap();
    let r = app
        .post(
            &format!("/api/v1/spaces/{slug}/opening-rules"),
            Some(&op),
            json!({"resource": rid, "rrule": "FREQ=DAILY", "start": "2026-01-01T00:00", "duration_minutes": 1440}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let a = app.get(&format!("/api/v1/resources/{rid}/availability?from=2026-06-01&to=2026-06-02"), None).await;
    assert_eq!(
        local_spans(&a.body["units"][0]),
        [("2026-06-01T00:00:00+08:00".to_owned(), "2026-06-02T00:00:00+08:00".to_owned())]
    );
}

#[tokio::test]
async fn a_window_longer_than_92_days_is_refused() {
    let app = spawn_app().await;
    let (op, slug) = operated_space(&app, "long", "Asia/Shanghai").await;
    let r = resource(&app, &op, &slug, json!({"kind": "tool", "name_zh": "锯", "name_en": "Saw"})).await;
    let rid = r["id"].as_str().unwrap();
    let a = app.get(&format!("/api/v1/resources/{rid}/availability?from=2026-01-01&to=2026-04-04"), None).await;
    assert_eq!((a.status, a.code()), (422, "window_too_long"), "{}", a.text);
    let a = app.get(&format!("/api/v1/resources/{rid}/availability?from=2026-01-01&to=2026-04-03"), None).await;
    assert_eq!(a.status, 200, "92 days are fine: {}", a.text);
    let a = app.get(&format!("/api/v1/resources/{rid}/availability?from=soon&to=later"), None).await;
    assert_eq!((a.status, a.code()), (422, "validation_failed"));
}

#[tokio::test]
async fn the_map_says_whether_each_space_is_open_now_and_until_when() {
    // Monday 2026-09-07 10:30 in Shanghai.
    let app = spawn_app_at(1_788_748_200_000).await;
    let (op, slug) = operated_space(&app, "open-now", "Asia/Shanghai").await;
    weekdays_nine_to_six(&app, &op, &slug).await;
    resource(&app, &op, &slug, json!({"kind": "tool", "name_zh": "钻床", "name_en": "Drill press"})).await;
    let spaces = app.get("/api/v1/spaces", None).await;
    let s = spaces.body.as_array().unwrap().iter().find(|s| s["slug"] == "open-now").unwrap().clone();
    assert_eq!(s["open_now"], true, "{s}");
    assert_eq!(s["open_until"]["start_local"], "2026-09-07T18:00:00+08:00");
    assert_eq!(s["resource_kinds"], json!(["tool"]));

    app.clock.set(1_788_748_200_000 + 9 * 3_600_000); // 19:30
    let spaces = app.get("/api/v1/spaces", None).await;
    let s = spaces.body.as_array().unwrap().iter().find(|s| s["slug"] == "open-now").unwrap().clone();
    assert_eq!(s["open_now"], false);
    assert_eq!(s["next_open"]["start_local"], "2026-09-08T09:00:00+08:00");
}

#[tokio::test]
async fn a_long_booking_that_began_before_the_window_still_blocks_it() {
    let app = spawn_app().await;
    let (op, slug) = operated_space(&app, "long-stay", "Asia/Shanghai").await;
    app.post(
        &format!("/api/v1/spaces/{slug}/opening-rules"),
        Some(&op),
        json!({"rrule": "FREQ=DAILY", "start": "2026-01-01T00:00", "duration_minutes": 1440}),
    )
    .await;
    let r = resource(&app, &op, &slug, json!({"kind": "inn_room", "name_zh": "房间", "name_en": "Room"})).await;
    let (rid, unit) = (r["id"].as_str().unwrap().to_owned(), r["units"][0]["id"].as_str().unwrap().to_owned());
    let space_id = app.get(&format!("/api/v1/spaces/{slug}"), None).await.body["id"].as_str().unwrap().to_owned();
    let (maker, _) = app.maker("guest@example.org").await;
    // A 20-night stay from 2026-08-01 (Shanghai midnight = 16:00Z the day before).
    let start = 1_785_513_600_000 - 8 * 3_600_000;
    let stay = Interval::new(start, start + 20 * 86_400_000).unwrap();
    app.db
        .insert_booking(&NewBooking {
            unit_id: &UnitId::new(&unit),
            resource_id: &ResourceId::new(&rid),
            space_id: &SpaceId::new(&space_id),
            account_id: &AccountId::new(&maker),
            organisation_id: None,
            status: BookingStatus::Confirmed,
            span: stay,
            blocked: stay,
            purpose: "",
            checkin_nonce: "n",
            kind: BookingKind::Single,
            now: 0,
        })
        .await
        .unwrap();
    let a = app.get(&format!("/api/v1/resources/{rid}/availability?from=2026-08-15&to=2026-08-17"), None).await;
    assert_eq!(a.status, 200, "{}", a.text);
    assert_eq!(a.body["units"][0]["free"], json!([]), "the stay began two weeks before the window: {}", a.text);
    let a = app.get(&format!("/api/v1/resources/{rid}/availability?from=2026-08-21&to=2026-08-22"), None).await;
    assert_eq!(
        local_spans(&a.body["units"][0]),
        [("2026-08-21T00:00:00+08:00".to_owned(), "2026-08-22T00:00:00+08:00".to_owned())]
    );
}
