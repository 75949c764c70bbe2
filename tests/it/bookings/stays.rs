//! Maker-inn stays: whole nights in one room, for verified makers.

use super::*;

#[tokio::test]
async fn a_verified_maker_books_four_nights_in_one_room() {
    let lab = lab().await;
    let rid = inn_rooms(&lab, "Standard room", 3).await;
    let (_, guest) = verified_maker(&lab, "guest@example.org").await;
    let stay = |date: &str, nights: u32| json!({"resource": rid, "check_in_date": date, "nights": nights});

    let s = lab.app.try_stay(&guest, stay("2026-09-10", 4)).await.unwrap();
    assert_eq!(s.kind, "stay");
    assert_eq!(s.when.start_local, "2026-09-10T14:00:00+08:00");
    assert_eq!(s.when.end_local, "2026-09-14T12:00:00+08:00");
    assert!(!s.qr().is_empty(), "the guest gets the check-in code: {s:?}");
    let first_room = s.unit_label;

    let (_, other) = verified_maker(&lab, "guest2@example.org").await;
    let s2 = lab.app.try_stay(&other, stay("2026-09-12", 2)).await.unwrap();
    assert_ne!(s2.unit_label, first_room, "the overlapping stay gets another room");
    // Departure day: a new guest can arrive in the first room at 14:00 after the 12:00 check-out.
    let s3 = lab.app.try_stay(&other, stay("2026-09-14", 1)).await.unwrap();
    assert_eq!(s3.unit_label, first_room, "best fit: the room just freed: {s3:?}");

    let long = lab.app.try_stay(&guest, stay("2026-09-20", 20)).await.unwrap_err();
    assert_eq!(long.violations()[0], "too_many_nights", "{long:?}");
    let not_inn = lab
        .app
        .try_stay(&guest, json!({"resource": lab.seats, "check_in_date": "2026-09-20", "nights": 1}))
        .await
        .unwrap_err();
    assert_eq!(not_inn.fields()[0].code, "not_an_inn_room", "{not_inn:?}");
}

/// A move is held to the rules of a fresh stay: the night limit and the inn's times.
#[tokio::test]
async fn a_stay_moved_past_the_night_limit_is_refused() {
    let lab = lab().await;
    let rid = inn_rooms(&lab, "Standard room", 2).await;
    let (_, guest) = verified_maker(&lab, "mover@example.org").await;
    let s =
        lab.app.try_stay(&guest, json!({"resource": rid, "check_in_date": "2026-09-10", "nights": 1})).await.unwrap();

    // One night stretched to twenty: the limit is 14, as for a new stay.
    let long = lab.app.move_booking(&guest, &s.id, json!({"end": "2026-09-30T12:00:00+08:00"})).await.unwrap_err();
    assert_eq!(long.violations(), ["too_many_nights"], "{long:?}");
    // Leaving at 18:00 is not the inn's check-out time.
    let late = lab.app.move_booking(&guest, &s.id, json!({"end": "2026-09-12T18:00:00+08:00"})).await.unwrap_err();
    assert_eq!(late.violations(), ["not_stay_times"], "{late:?}");
    let still: Booking = lab.app.get(&format!("/api/v1/bookings/{}", s.id), Some(&guest)).await.json();
    assert_eq!(still.when.end_local, "2026-09-11T12:00:00+08:00", "a refused move leaves the stay as it was");
    // Three nights is within the limit.
    let ok = lab.app.move_booking(&guest, &s.id, json!({"end": "2026-09-13T12:00:00+08:00"})).await.unwrap();
    assert_eq!(
        (ok.when.start_local.as_str(), ok.when.end_local.as_str()),
        ("2026-09-10T14:00:00+08:00", "2026-09-13T12:00:00+08:00")
    );
}
