//! Recurring series: wall-clock times across DST, one unit where it can, all or nothing
//! unless told to skip, and cancelled in whole or from an occurrence on.

use super::*;

#[tokio::test]
async fn a_weekly_class_keeps_its_local_time_and_its_unit_across_dst() {
    let (app, _, printers) = berlin_lab().await;
    let (_, maker) = app.maker("class@example.org").await;
    let s = app
        .try_book_series(
            &maker,
            json!({"resource": printers, "start": "2026-03-10T14:00:00+01:00", "end": "2026-03-10T16:00:00+01:00",
                   "recurrence": "FREQ=WEEKLY;COUNT=6"}),
        )
        .await
        .unwrap();
    assert_eq!(s.bookings.len(), 6);
    let starts: Vec<&str> = s.bookings.iter().map(|b| b.when.start_local.as_str()).collect();
    assert_eq!(starts[2], "2026-03-24T14:00:00+01:00");
    assert_eq!(starts[3], "2026-03-31T14:00:00+02:00", "14:00 on the wall clock after the change");
    assert!(s.bookings.iter().all(|b| b.unit_label == "P1"), "one unit for the whole series");
    assert!(s.bookings.iter().all(|b| b.series_id.as_ref() == Some(&s.series_id)));
    assert!(s.skipped.is_empty());
}

/// No printer is free on every Tuesday (P-one is taken on the second, the other on the
/// third): the series keeps one unit where it can and names the occurrence that moved.
#[tokio::test]
async fn a_series_that_cannot_keep_one_unit_names_the_occurrences_that_change_unit() {
    let (app, _, printers) = berlin_lab().await;
    let (_, other) = app.maker("other@example.org").await;
    let hour = |day: &str| {
        json!({"resource": printers, "start": format!("2026-03-{day}T14:00:00+01:00"),
               "end": format!("2026-03-{day}T15:00:00+01:00")})
    };
    let second = app.book(&other, hour("17")).await;
    let third = [app.book(&other, hour("24")).await, app.book(&other, hour("24")).await];
    let same_unit = third.iter().find(|b| b.unit_id == second.unit_id).expect("both printers were taken");
    app.cancel(&other, &same_unit.id, json!({})).await.unwrap();

    let (_, maker) = app.maker("class@example.org").await;
    let s = app
        .try_book_series(
            &maker,
            json!({"resource": printers, "start": "2026-03-10T14:00:00+01:00", "end": "2026-03-10T16:00:00+01:00",
                   "recurrence": "FREQ=WEEKLY;COUNT=4"}),
        )
        .await
        .unwrap();
    assert_eq!(s.bookings.len(), 4, "{s:?}");
    assert!(s.skipped.is_empty());
    assert_eq!(s.unit_changes.len(), 1, "one occurrence moves: {s:?}");
    let moved = &s.unit_changes[0];
    let anchor = &s.bookings[0].unit_label;
    assert_ne!(&moved.unit_label, anchor);
    let on_that_day = s.bookings.iter().find(|b| b.when == moved.when).expect("the moved occurrence is booked");
    assert_eq!((&on_that_day.unit_id, &on_that_day.unit_label), (&moved.unit_id, &moved.unit_label));
    assert!(s.bookings.iter().filter(|b| &b.unit_label == anchor).count() == 3, "{s:?}");
}

#[tokio::test]
async fn a_series_is_all_or_nothing_unless_told_to_skip() {
    let (app, _, printers) = berlin_lab().await;
    let (_, other) = app.maker("other@example.org").await;
    // Both printers are taken on the third Tuesday.
    for _ in 0..2 {
        app.book(
            &other,
            json!({"resource": printers, "start": "2026-03-24T14:00:00+01:00", "end": "2026-03-24T15:00:00+01:00"}),
        )
        .await;
    }
    let (_, maker) = app.maker("series@example.org").await;
    let body = |mode: &str| {
        json!({"resource": printers, "start": "2026-03-10T14:00:00+01:00", "end": "2026-03-10T16:00:00+01:00",
               "recurrence": "FREQ=WEEKLY;COUNT=5", "on_conflict": mode})
    };
    let p = app.try_book_series(&maker, body("reject")).await.unwrap_err();
    assert_eq!((p.status, p.code.as_str()), (409, "conflict"), "{p:?}");
    assert!(app.my_bookings(&maker, "").await.is_empty(), "nothing was booked");
    let s = app.try_book_series(&maker, body("skip")).await.unwrap();
    assert_eq!(s.bookings.len(), 4);
    let codes: std::collections::HashSet<&str> =
        s.bookings.iter().filter_map(|b| b.checkin_code.as_ref().map(|c| c.short.as_str())).collect();
    assert_eq!(codes.len(), 4, "each occurrence has its own check-in code: {s:?}");
    assert_eq!(s.skipped[0].when.start_local, "2026-03-24T14:00:00+01:00");
    assert_eq!(s.skipped[0].reasons, ["conflict"]);

    // Cancel this and the following occurrences from the fourth on, then the rest of the series.
    let fourth = &s.bookings[2].id;
    assert_eq!(app.cancel(&maker, fourth, json!({"scope": "following"})).await.unwrap().len(), 2);
    assert_eq!(app.cancel(&maker, &s.bookings[0].id, json!({"scope": "series"})).await.unwrap().len(), 2);
    assert!(app.my_bookings(&maker, "?status=confirmed").await.is_empty());
    let single = app
        .book(
            &other,
            json!({"resource": printers, "start": "2026-04-01T10:00:00+02:00", "end": "2026-04-01T11:00:00+02:00"}),
        )
        .await;
    let p = app.cancel(&other, &single.id, json!({"scope": "series"})).await.unwrap_err();
    assert_eq!((p.status, p.code.as_str()), (409, "not_a_series"));
}

#[tokio::test]
async fn a_series_longer_than_a_year_is_refused() {
    let (app, _, printers) = berlin_lab().await;
    let (_, maker) = app.maker("forever@example.org").await;
    let series = |rule: &str| json!({"resource": printers, "start": "2026-03-10T14:00:00+01:00", "end": "2026-03-10T15:00:00+01:00", "recurrence": rule});
    let p = app.try_book_series(&maker, series("FREQ=WEEKLY")).await.unwrap_err();
    assert_eq!((p.status, p.code.as_str()), (422, "series_too_long"), "{p:?}");
    let p = app.try_book_series(&maker, series("FREQ=SOMETIMES")).await.unwrap_err();
    assert_eq!((p.status, p.code.as_str()), (422, "validation_failed"));
    assert_eq!(p.fields()[0].code, "rrule_invalid");
}
