//! Utilization reports, checked against values computed by hand. Every figure's definition
//! is in the README's glossary; the arithmetic is written next to each assertion.

use crate::api::UtilizationReport;
use crate::helpers::{TestApp, open_daily, operated_space, spawn_app_at};
use serde_json::{Value, json};

fn utc_ms(rfc3339: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(rfc3339).unwrap().timestamp_millis()
}

async fn resource(app: &TestApp, op: &str, slug: &str, body: Value) -> String {
    let r = app.post(&format!("/api/v1/spaces/{slug}/resources"), Some(op), body).await;
    assert_eq!(r.status, 201, "{}", r.text);
    r.body["id"].as_str().unwrap().to_owned()
}

async fn by_hand(app: &TestApp, op: &str, id: &str, what: &str, at: &str) {
    app.clock.set(utc_ms(at));
    let r = app.post(&format!("/api/v1/bookings/{id}/{what}"), Some(op), json!({"reason": "fixture"})).await;
    assert_eq!(r.status, 200, "{what} {id} at {at}: {}", r.text);
}

async fn run_jobs(app: &TestApp, at: &str) {
    app.clock.set(utc_ms(at));
    labinn::jobs::run_once(&app.state.svc, &reqwest::Client::new(), app.clock.now_ms()).await;
}

/// The Berlin lab of the fixture, through the week of the spring-forward night
/// (Sunday 2026-03-29 has 23 hours). Returns the app, the operator's token and the slug.
///
/// - Laser cutter LC-1: the space's hours, 09:00–19:00 daily (10 h a day).
/// - Hot desk D-1: its own hours, round the clock.
/// - The whole space is closed on Wednesday 2026-03-25.
/// - A: lin books the laser Mon 23rd 10:00–12:00; checked in 10:05, out 12:30 (30 min overstay).
/// - B: ana books the laser Tue 24th 10:00–11:00 and never comes (no-show).
/// - C: lin books the laser Thu 26th 14:00–16:00 and cancels at 08:00 that day (6 h ahead).
/// - W: kai walks up to the desk on Fri 27th at 15:00 and leaves at 17:00.
/// - D: ana books the desk Sat 28th 20:00 CET to Sun 29th 04:00 CEST (7 real hours) and
///   uses all of it: 4 h on Saturday, 3 h on Sunday, across midnight and the lost hour.
/// - E: lin books the desk Sun 29th 22:00 to Mon 30th 02:00 and uses all of it: 2 h fall
///   in the period, 2 h after its end.
pub(crate) async fn berlin_week() -> (TestApp, String, String) {
    let app = spawn_app_at(utc_ms("2026-03-20T12:00:00+01:00")).await;
    let (op, slug) = operated_space(&app, "berlin-lab", "Europe/Berlin").await;
    open_daily(&app, &op, &slug, "09:00", 600).await;
    let no_buffers = json!({"min_notice_minutes": 0, "buffer_before_minutes": 0, "buffer_after_minutes": 0});
    let laser = resource(
        &app,
        &op,
        &slug,
        json!({"kind": "tool", "name_zh": "激光切割机", "name_en": "Laser cutter", "units": {"labels": ["LC-1"]}, "policy": no_buffers}),
    )
    .await;
    let desk = resource(
        &app,
        &op,
        &slug,
        json!({"kind": "broadband_seat", "name_zh": "工位", "name_en": "Hot desk", "units": {"labels": ["D-1"]}, "policy": no_buffers}),
    )
    .await;
    let r = app
        .post(
            &format!("/api/v1/spaces/{slug}/opening-rules"),
            Some(&op),
            json!({"resource": desk, "rrule": "FREQ=DAILY", "start": "2026-01-01T00:00", "duration_minutes": 1440}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let c = app
        .post(
            &format!("/api/v1/spaces/{slug}/closures"),
            Some(&op),
            json!({"reason": "Wartung", "start": "2026-03-25T00:00:00+01:00", "end": "2026-03-26T00:00:00+01:00"}),
        )
        .await;
    assert_eq!(c.status, 201, "{}", c.text);

    let (_, lin) = app.maker("lin@example.org").await;
    let (_, ana) = app.maker("ana@example.org").await;
    let (_, kai) = app.maker("kai@example.org").await;
    let book = |who: &str, unit: &str, start: &str, end: &str| {
        let body = json!({"resource": unit, "start": start, "end": end});
        let (app, who) = (&app, who.to_owned());
        async move { app.book(&who, body).await }
    };
    let a = book(&lin, &laser, "2026-03-23T10:00:00+01:00", "2026-03-23T12:00:00+01:00").await;
    let _b = book(&ana, &laser, "2026-03-24T10:00:00+01:00", "2026-03-24T11:00:00+01:00").await;
    let c = book(&lin, &laser, "2026-03-26T14:00:00+01:00", "2026-03-26T16:00:00+01:00").await;
    let d = book(&ana, &desk, "2026-03-28T20:00:00+01:00", "2026-03-29T04:00:00+02:00").await;
    let e = book(&lin, &desk, "2026-03-29T22:00:00+02:00", "2026-03-30T02:00:00+02:00").await;

    by_hand(&app, &op, &a.id, "check-in", "2026-03-23T10:05:00+01:00").await;
    by_hand(&app, &op, &a.id, "check-out", "2026-03-23T12:30:00+01:00").await;
    run_jobs(&app, "2026-03-24T10:45:00+01:00").await; // B becomes a no-show
    app.clock.set(utc_ms("2026-03-26T08:00:00+01:00"));
    app.cancel(&lin, &c.id, json!({"reason": "plans changed"})).await.unwrap();

    // The walk-up, at a kiosk of the desk.
    app.clock.set(utc_ms("2026-03-27T15:00:00+01:00"));
    let k =
        app.post(&format!("/api/v1/spaces/{slug}/kiosks"), Some(&op), json!({"name": "Desk", "resource": desk})).await;
    assert_eq!(k.status, 201, "{}", k.text);
    let p = app.post("/api/v1/kiosk/pair", None, json!({"pairing_code": k.body["pairing_code"]})).await;
    let kiosk = p.body["token"].as_str().unwrap().to_owned();
    let personal = app.get("/api/v1/me/code", Some(&kai)).await.body["qr"].as_str().unwrap().to_owned();
    let scan = app.post("/api/v1/kiosk/scan", Some(&kiosk), json!({"code": personal})).await;
    assert_eq!(scan.body["walk_up"], true, "{}", scan.text);
    app.clock.set(utc_ms("2026-03-27T17:00:00+01:00"));
    let scan = app.post("/api/v1/kiosk/scan", Some(&kiosk), json!({"code": personal})).await;
    assert_eq!(scan.body["decision"], "check_out", "{}", scan.text);

    by_hand(&app, &op, &d.id, "check-in", "2026-03-28T20:00:00+01:00").await;
    by_hand(&app, &op, &d.id, "check-out", "2026-03-29T04:00:00+02:00").await;
    by_hand(&app, &op, &e.id, "check-in", "2026-03-29T22:00:00+02:00").await;
    by_hand(&app, &op, &e.id, "check-out", "2026-03-30T02:00:00+02:00").await;
    app.clock.set(utc_ms("2026-03-30T09:00:00+02:00"));
    (app, op, slug)
}

#[tokio::test]
async fn a_berlin_week_across_the_spring_forward_night_adds_up_to_the_hand_computed_figures() {
    let (app, op, slug) = berlin_week().await;
    let r: UtilizationReport = app.utilization(&op, &slug, "from=2026-03-23&to=2026-03-29&bucket=day").await.unwrap();
    assert_eq!(
        (r.from.as_str(), r.to.as_str(), r.bucket.as_str(), r.by.as_str()),
        ("2026-03-23", "2026-03-29", "day", "resource")
    );
    assert_eq!(r.whole.buckets.len(), 7);
    assert_eq!(
        (r.whole.key.as_str(), r.whole.buckets[6].from.as_str(), r.whole.buckets[6].to.as_str()),
        ("space", "2026-03-29", "2026-03-29")
    );

    let laser = &r.group("Laser cutter").total;
    // 10 h a day for 6 days (Wednesday closed).
    assert_eq!(laser.open_hours, Some(60.0));
    // A 2 h (completed) + B 1 h (no-show, it held the unit); C was cancelled.
    assert_eq!(laser.booked_hours, 3.0);
    // A: 10:05–12:30 = 145 min = 2.41666… h.
    assert_eq!(laser.used_hours, 2.417);
    assert_eq!(laser.utilization, Some(0.0403)); // 145 / 3600 min
    assert_eq!(laser.booked_share, Some(0.05)); // 180 / 3600 min
    assert_eq!(laser.show_rate, Some(0.6389)); // 10:05–12:00 = 115 of 180 booked minutes
    assert_eq!((laser.bookings, laser.checked_in, laser.check_in_rate), (2, 1, Some(0.5)));
    assert_eq!((laser.no_shows, laser.no_show_rate), (1, Some(0.5)));
    assert_eq!((laser.cancellations, laser.late_cancellations), (1, 1));
    assert_eq!(laser.cancellation_lead_hours_median, Some(6.0));
    assert_eq!(laser.overstay_hours, 0.5);
    assert_eq!((laser.sessions, laser.walk_ups, laser.makers, laser.new_makers), (1, 0, 1, 1));
    assert_eq!(laser.seat_days_open, 0, "seat-days are for seats only");

    let desk = r.group("Hot desk");
    // Round the clock: 5 days of 24 h and Sunday of 23 h (Wednesday closed).
    assert_eq!(desk.total.open_hours, Some(143.0));
    assert_eq!(desk.bucket("2026-03-29").open_hours, Some(23.0));
    assert_eq!(desk.bucket("2026-03-25").open_hours, Some(0.0));
    // D 7 h + E's 2 h inside the period; the walk-up is not booked ahead.
    assert_eq!(desk.total.booked_hours, 9.0);
    // W 2 h + D 7 h + E 2 h.
    assert_eq!(desk.total.used_hours, 11.0);
    assert_eq!(desk.bucket("2026-03-28").used_hours, 4.0); // D 20:00–24:00
    assert_eq!(desk.bucket("2026-03-29").used_hours, 5.0); // D 00:00–04:00 CEST (3 h) + E 22:00–24:00
    assert_eq!(desk.total.utilization, Some(0.0769)); // 11 / 143
    assert_eq!(desk.total.booked_share, Some(0.0629)); // 9 / 143
    assert_eq!(desk.total.show_rate, Some(1.0));
    assert_eq!((desk.total.sessions, desk.total.walk_ups, desk.total.walk_up_share), (3, 1, Some(0.3333)));
    assert_eq!(desk.bucket("2026-03-27").walk_ups, 1);
    // Seats open on 6 days; used (≥ 1 h) on Friday, Saturday and Sunday.
    assert_eq!((desk.total.seat_days_open, desk.total.seat_days_used, desk.total.seat_day_rate), (6, 3, Some(0.5)));
    assert_eq!(desk.total.makers, 3);
    // Sunday (row 6) by local hour: D 00–01, 01–02, (02–03 never happened), 03–04; E 22–24.
    assert_eq!(&desk.heatmap[6][..5], &[1.0, 1.0, 0.0, 1.0, 0.0]);
    assert_eq!(&desk.heatmap[6][22..], &[1.0, 1.0]);

    let all = &r.whole.total;
    assert_eq!(all.open_hours, Some(203.0));
    assert_eq!((all.booked_hours, all.used_hours), (12.0, 13.417)); // 805 min used
    assert_eq!(all.utilization, Some(0.0661)); // 805 / 12180 min
    assert_eq!(all.show_rate, Some(0.9097)); // (115 + 540) / 720 min
    assert_eq!((all.bookings, all.checked_in, all.no_shows, all.cancellations), (4, 3, 1, 1));
    assert_eq!((all.makers, all.new_makers, all.returning_makers, all.peak_concurrent), (3, 3, 0, 1));

    // Splitting the period changes no total; E's last two hours fall in the next day.
    let a = app.utilization(&op, &slug, "from=2026-03-23&to=2026-03-26&by=space").await.unwrap();
    let b = app.utilization(&op, &slug, "from=2026-03-27&to=2026-03-29&by=space").await.unwrap();
    assert_eq!(a.whole.total.used_hours + b.whole.total.used_hours, 13.417);
    assert_eq!(a.whole.total.open_hours.unwrap() + b.whole.total.open_hours.unwrap(), 203.0);
    let monday = app.utilization(&op, &slug, "from=2026-03-30&to=2026-03-30&by=space").await.unwrap();
    assert_eq!(monday.whole.total.used_hours, 2.0);
    // Lin, Ana and Kai came before Monday: nobody is new.
    assert_eq!((monday.whole.total.makers, monday.whole.total.new_makers), (1, 0));
}

#[tokio::test]
async fn an_inn_stay_across_the_months_end_counts_its_nights_in_each_month() {
    let app = spawn_app_at(utc_ms("2026-01-01T12:00:00+08:00")).await;
    let (op, slug) = operated_space(&app, "inn", "Asia/Shanghai").await;
    open_daily(&app, &op, &slug, "00:00", 1440).await;
    let room = resource(
        &app,
        &op,
        &slug,
        json!({"kind": "inn_room", "name_zh": "标准间", "name_en": "Standard room", "units": {"labels": ["R1"]},
               "policy": {"price": {"amount_minor": 6000, "currency": "CNY", "per": "night"}}}),
    )
    .await;
    let (guest_id, guest) = app.maker("guest@example.org").await;
    let v = app.post(&format!("/api/v1/accounts/{guest_id}/verified"), Some(&op), json!({"verified": true})).await;
    assert_eq!(v.status, 204, "{}", v.text);
    let stay =
        app.try_stay(&guest, json!({"resource": room, "check_in_date": "2026-01-30", "nights": 3})).await.unwrap();
    by_hand(&app, &op, &stay.id, "check-in", "2026-01-30T15:00:00+08:00").await;
    app.clock.set(utc_ms("2026-02-02T11:00:00+08:00"));
    let op = app.login("op-inn@example.org").await; // the first login has expired (30 days)
    by_hand(&app, &op, &stay.id, "check-out", "2026-02-02T11:00:00+08:00").await;

    let jan = app.utilization(&op, &slug, "from=2026-01-01&to=2026-01-31&by=kind").await.unwrap();
    let rooms = &jan.group("Inn rooms").total;
    // Nights of Jan 30 and 31 (the session spans the midnights that end them).
    assert_eq!((rooms.room_nights_available, rooms.room_nights_occupied), (31, 2));
    assert_eq!(rooms.occupancy, Some(0.0645)); // 2 / 31
    assert_eq!(rooms.nights_by_verified_makers, 2);
    assert_eq!(rooms.subsidised_value_minor, 12_000); // 2 nights × CNY 60.00
    assert_eq!((rooms.stays, rooms.average_stay_nights), (1, Some(3.0)));
    assert_eq!(rooms.used_hours, 33.0); // Jan 30 15:00 – Feb 1 00:00

    let feb = app.utilization(&op, &slug, "from=2026-02-01&to=2026-02-28&by=kind").await.unwrap();
    let rooms = &feb.group("Inn rooms").total;
    assert_eq!((rooms.room_nights_available, rooms.room_nights_occupied), (28, 1));
    assert_eq!(rooms.stays, 0, "the stay began in January");
    assert_eq!(rooms.used_hours, 35.0); // Feb 1 00:00 – Feb 2 11:00
}

#[tokio::test]
async fn reports_are_for_the_spaces_operators_and_reviewers_and_bad_queries_say_which_field() {
    let (app, op, slug) = berlin_week().await;
    let (_, maker) = app.maker("curious@example.org").await;
    let r =
        app.get(&format!("/api/v1/reports/utilization?space={slug}&from=2026-03-23&to=2026-03-29"), Some(&maker)).await;
    assert_eq!(r.status, 403, "{}", r.text);
    let (other_op, _) = operated_space(&app, "other-lab", "Asia/Shanghai").await;
    let r = app
        .get(&format!("/api/v1/reports/utilization?space={slug}&from=2026-03-23&to=2026-03-29"), Some(&other_op))
        .await;
    assert_eq!(r.status, 403, "{}", r.text);

    for (query, field, code) in [
        ("from=2026-03-29&to=2026-03-23", "to", "before_start"),
        ("from=2026-01-01&to=2028-01-05", "to", "period_too_long"),
        ("from=yesterday&to=2026-03-23", "from", "invalid_date"),
        ("from=9999-01-01&to=9999-12-31", "from", "out_of_range"),
        ("from=2026-03-23&to=2026-03-29&bucket=hour", "bucket", "invalid_choice"),
        ("from=2026-03-23&to=2026-03-29&by=colour", "by", "invalid_choice"),
        ("from=2026-03-23&to=2026-03-29&format=pdf", "format", "invalid_choice"),
        ("from=2026-03-23&to=2026-03-29&format=svg&chart=pie", "chart", "invalid_choice"),
    ] {
        let p = app.utilization(&op, &slug, query).await.unwrap_err();
        assert_eq!(p.code, "validation_failed", "{query}: {p:?}");
        assert_eq!((p.fields()[0].field.as_str(), p.fields()[0].code.as_str()), (field, code), "{query}");
    }
}

#[tokio::test]
async fn the_csv_has_a_bom_and_quoted_fields_and_the_xlsx_opens_with_a_sheet_per_grouping() {
    let (app, op, slug) = berlin_week().await;
    let r = app
        .send(app.client.get(app.url(&format!(
            "/api/v1/reports/utilization?space={slug}&from=2026-03-23&to=2026-03-29&format=csv&by=unit&bucket=day"
        ))).bearer_auth(&op))
        .await;
    assert_eq!(r.status, 200);
    assert!(r.headers["content-type"].to_str().unwrap().starts_with("text/csv"));
    let bytes = r.text.as_bytes();
    assert_eq!(&bytes[..3], [0xEF, 0xBB, 0xBF], "a byte-order mark for Excel");
    let mut csv = csv::Reader::from_reader(&bytes[3..]);
    let header: Vec<String> = csv.headers().unwrap().iter().map(str::to_owned).collect();
    assert_eq!(header[..3], ["分组键", "分组", "时段"]);
    let used = header.iter().position(|h| h == "使用小时").unwrap();
    let rows: Vec<csv::StringRecord> = csv.records().map(Result::unwrap).collect();
    let desk_total = rows.iter().find(|r| &r[1] == "工位 · D-1" && &r[2] == "total").expect("the desk's total row");
    assert_eq!(&desk_total[used], "11");
    assert_eq!(rows.len(), 3 * 8, "two units and the space, 7 days and a total each");

    let x = app
        .client
        .get(app.url(&format!(
            "/api/v1/reports/utilization?space={slug}&from=2026-03-23&to=2026-03-29&format=xlsx&lang=en"
        )))
        .bearer_auth(&op)
        .send()
        .await
        .unwrap();
    assert_eq!(x.status(), 200);
    let disposition = x.headers()["content-disposition"].to_str().unwrap().to_owned();
    assert!(disposition.contains("utilization-berlin-lab-2026-03-23-2026-03-29.xlsx"), "{disposition}");
    let bytes = x.bytes().await.unwrap();
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes.to_vec())).expect("an XLSX is a ZIP");
    let mut workbook = String::new();
    std::io::Read::read_to_string(&mut zip.by_name("xl/workbook.xml").unwrap(), &mut workbook).unwrap();
    for sheet in ["Space", "Resources", "Units", "Kinds", "Organisations", "Makers"] {
        assert!(workbook.contains(&format!("name=\"{sheet}\"")), "sheet {sheet}: {workbook}");
    }
    let mut strings = String::new();
    std::io::Read::read_to_string(&mut zip.by_name("xl/sharedStrings.xml").unwrap(), &mut strings).unwrap();
    assert!(strings.contains("Used hours") && strings.contains("Hot desk · D-1"), "{strings}");
}

#[tokio::test]
async fn a_maker_sees_their_own_use_and_nobody_elses() {
    let (app, _op, _slug) = berlin_week().await;
    // Lin: booking A (laser, 2 h 25 min used, 30 min over), C (cancelled) and E (desk, 2 h in
    // the period); Ana's and Kai's use is not in it.
    let lin = app.login("lin@example.org").await;
    let r = app.get("/api/v1/me/usage?from=2026-03-23&to=2026-03-29", Some(&lin)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let spaces = r.body.as_array().unwrap();
    assert_eq!(spaces.len(), 1);
    let total: crate::api::Figures = serde_json::from_value(spaces[0]["total"].clone()).unwrap();
    assert_eq!((total.used_hours, total.booked_hours, total.overstay_hours), (4.417, 4.0, 0.5)); // 145 + 120 min used
    assert_eq!((total.bookings, total.sessions, total.cancellations, total.no_shows), (2, 2, 1, 0));
    assert_eq!((total.open_hours, total.utilization, total.makers), (None, None, 1));
    let kai = app.login("kai@example.org").await;
    let r = app.get("/api/v1/me/usage?from=2026-03-23&to=2026-03-29", Some(&kai)).await;
    let total: crate::api::Figures = serde_json::from_value(r.body[0]["total"].clone()).unwrap();
    assert_eq!((total.used_hours, total.walk_ups, total.bookings), (2.0, 1, 0), "the walk-up is Kai's only use");
}

#[tokio::test]
async fn per_maker_figures_follow_the_spaces_privacy_settings() {
    let (app, op, slug) = berlin_week().await;
    let admin = app.admin().await;
    let (reviewer_id, _) = app.maker("reviewer@example.org").await;
    let g = app
        .post(&format!("/api/v1/admin/accounts/{reviewer_id}/roles"), Some(&admin), json!({"role": "reviewer"}))
        .await;
    assert_eq!(g.status, 200, "{}", g.text);
    let reviewer = app.login("reviewer@example.org").await;
    let q = "from=2026-03-23&to=2026-03-29&by=maker";
    let names = |r: &UtilizationReport| {
        let mut n: Vec<String> = r.groups.iter().map(|g| g.name_en.clone()).collect();
        n.sort();
        n
    };
    // By default the operators see makers by name, and reviewers by pseudonym.
    assert_eq!(names(&app.utilization(&op, &slug, q).await.unwrap()), ["Maker", "Maker", "Maker"]);
    let seen = names(&app.utilization(&reviewer, &slug, q).await.unwrap());
    assert!(seen.iter().all(|n| n.starts_with("maker-") && n.len() == 16), "{seen:?}");
    // The space turns per-maker figures off for operators and shares names with reviewers.
    let r = app
        .put(
            &format!("/api/v1/spaces/{slug}/report-privacy"),
            Some(&op),
            json!({"operators_see_makers": false, "share_maker_names": true}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let refused = app.utilization(&op, &slug, q).await.unwrap_err();
    assert_eq!((refused.status, refused.code.as_str()), (403, "forbidden"));
    assert_eq!(names(&app.utilization(&reviewer, &slug, q).await.unwrap()), ["Maker", "Maker", "Maker"]);
    // Other groupings are unaffected.
    assert!(app.utilization(&op, &slug, "from=2026-03-23&to=2026-03-29&by=kind").await.is_ok());
}

#[tokio::test]
async fn the_charts_are_svg_drawn_on_the_server_with_chinese_labels() {
    let (app, op, slug) = berlin_week().await;
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/browser-artifacts");
    std::fs::create_dir_all(&dir).unwrap();
    for (chart, expect) in [("trend", "使用小时"), ("heatmap", "周日"), ("groups", "激光切割机")] {
        let r = app
            .get(&format!("/api/v1/reports/utilization?space={slug}&from=2026-03-23&to=2026-03-29&bucket=day&format=svg&chart={chart}"), Some(&op))
            .await;
        assert_eq!(r.status, 200, "{chart}: {}", r.text);
        assert!(r.headers["content-type"].to_str().unwrap().starts_with("image/svg+xml"));
        assert!(r.text.starts_with("<svg") && r.text.contains(expect), "{chart}: {}", &r.text[..r.text.len().min(400)]);
        std::fs::write(dir.join(format!("chart-{chart}.svg")), &r.text).unwrap();
    }
}
