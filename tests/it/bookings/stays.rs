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
