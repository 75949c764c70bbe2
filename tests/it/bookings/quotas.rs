//! Quotas count what a maker already holds: on the resource, and across its kind in the space.

use super::*;

#[tokio::test]
async fn a_space_can_limit_a_maker_to_one_seat_at_a_time_whichever_zone() {
    let lab = lab().await;
    let zone_b = seat_zone_b(&lab).await;
    let bad = kind_quotas(&lab, json!({"broadband_seat": {"max_active_bookings": 0}})).await.problem();
    assert_eq!(bad.fields()[0].field, "kind_quotas.broadband_seat.max_active_bookings", "{bad:?}");
    let ok = kind_quotas(&lab, json!({"broadband_seat": {"max_active_bookings": 1}})).await;
    assert_eq!(ok.body["kind_quotas"]["broadband_seat"]["max_active_bookings"], 1, "{}", ok.text);

    let (_, maker) = lab.app.maker("one-seat@example.org").await;
    let seat = lab.book(&maker, &lab.seats, (9, 0), (10, 0)).await;
    let p = lab.app.refused(&maker, json!({"resource": zone_b, "start": at(11, 0), "end": at(12, 0)})).await;
    assert_eq!(p.violations()[0], "quota_active_exceeded", "another zone counts too: {p:?}");
    // Other kinds are not limited by it.
    lab.book(&maker, &lab.laser, (11, 0), (12, 0)).await;

    // Moving the one seat is not a second seat.
    let confirmed = lab.app.my_bookings(&maker, "?status=confirmed").await;
    assert_eq!(confirmed.iter().find(|b| b.resource_id == lab.seats).map(|b| &b.id), Some(&seat.id));
    lab.app.move_booking(&maker, &seat.id, json!({"start": at(14, 0), "end": at(15, 0)})).await.unwrap();

    // A series counts its own occurrences against the space's limit: only the first fits.
    let (_, weekly) = lab.app.maker("weekly-seat@example.org").await;
    let series = json!({"resource": zone_b, "start": at(9, 0), "end": at(10, 0), "recurrence": "FREQ=DAILY;COUNT=3"});
    let p = lab.app.try_book_series(&weekly, series.clone()).await.unwrap_err();
    assert_eq!((p.status, p.code.as_str()), (422, "policy_violation"), "{p:?}");
    let broken = p.details["occurrences"].as_array().unwrap();
    assert_eq!(broken.len(), 2, "{p:?}");
    assert!(broken.iter().all(|o| o["violations"][0]["rule"] == "quota_active_exceeded"), "{p:?}");
    let mut skip = series;
    skip["on_conflict"] = json!("skip");
    assert_eq!(lab.app.try_book_series(&weekly, skip).await.unwrap().bookings.len(), 1);
}

#[tokio::test]
async fn weekly_hours_count_what_the_maker_already_holds_on_the_resource_and_across_its_kind() {
    let lab = lab().await;
    let hours =
        set_policy(&lab, &lab.seats, json!({"slot_minutes": 30, "min_minutes": 30, "quota": {"hours_per_week": 2}}))
            .await;
    assert_eq!(hours.status, 200, "{}", hours.text);
    let book = |token: String, resource: String, from: (u32, u32), to: (u32, u32)| {
        let app = &lab.app;
        async move {
            app.try_book(&token, json!({"resource": resource, "start": at(from.0, from.1), "end": at(to.0, to.1)}))
                .await
        }
    };

    // On the resource: 1.5 h held, 1 h more would make 2.5 h of the 2 allowed; 0.5 h fits.
    let (_, maker) = lab.app.maker("hours@example.org").await;
    book(maker.clone(), lab.seats.clone(), (9, 0), (10, 30)).await.unwrap();
    let p = book(maker.clone(), lab.seats.clone(), (11, 0), (12, 0)).await.unwrap_err();
    assert_eq!((p.status, p.violations()), (422, vec!["quota_hours_exceeded".to_owned()]), "{p:?}");
    assert!(p.details.to_string().contains("1.5 already booked"), "{p:?}");
    book(maker.clone(), lab.seats.clone(), (11, 0), (11, 30)).await.expect("exactly at the limit is allowed");

    // Across the kind: the space allows 3 h a week of seats, whichever zone.
    let zone_b = seat_zone_b(&lab).await;
    let q = kind_quotas(&lab, json!({"broadband_seat": {"hours_per_week": 3}})).await;
    assert_eq!(q.status, 200, "{}", q.text);
    let (_, other) = lab.app.maker("kind-hours@example.org").await;
    book(other.clone(), zone_b.clone(), (9, 0), (11, 0)).await.unwrap();
    // 2 h in zone B plus 1.5 h here: within this resource's 2 h, over the kind's 3 h.
    let p = book(other.clone(), lab.seats.clone(), (13, 0), (14, 30)).await.unwrap_err();
    assert_eq!((p.status, p.violations()), (422, vec!["quota_hours_exceeded".to_owned()]), "{p:?}");
    assert!(p.details.to_string().contains("of this kind"), "{p:?}");
    book(other, lab.seats.clone(), (13, 0), (14, 0)).await.expect("3 h in all is allowed");
}

/// A weekly series reads each week's usage (together, in one statement on PostgreSQL) and
/// refuses only the week that the maker's other bookings already fill.
#[tokio::test]
async fn a_weekly_series_counts_each_weeks_own_hours() {
    let lab = lab().await;
    let q = set_policy(&lab, &lab.seats, json!({"horizon_days": 60, "quota": {"hours_per_week": 2}})).await;
    assert_eq!(q.status, 200, "{}", q.text);
    let (_, maker) = lab.app.maker("weekly-hours@example.org").await;
    // Two hours in the second week (Monday 2026-09-14) already.
    lab.app
        .book(
            &maker,
            json!({"resource": lab.seats, "start": "2026-09-14T09:00:00+08:00", "end": "2026-09-14T11:00:00+08:00"}),
        )
        .await;
    let series = json!({"resource": lab.seats, "start": at(13, 0), "end": at(14, 0),
                        "recurrence": "FREQ=WEEKLY;COUNT=4", "on_conflict": "skip"});
    let s = lab.app.try_book_series(&maker, series).await.unwrap();
    let booked: Vec<&str> = s.bookings.iter().map(|b| b.when.start_local.as_str()).collect();
    assert_eq!(booked, ["2026-09-07T13:00:00+08:00", "2026-09-21T13:00:00+08:00", "2026-09-28T13:00:00+08:00"]);
    assert_eq!(s.skipped[0].when.start_local, "2026-09-14T13:00:00+08:00");
    assert_eq!(s.skipped[0].reasons, ["quota_hours_exceeded"]);
}
