//! The waitlist: a maker who waits gets the time when it frees up, and is told.

use super::*;

#[tokio::test]
async fn moving_a_booking_away_gives_its_old_time_to_the_waiting_maker() {
    let lab = lab().await;
    let (_, holder) = lab.app.maker("mover-holder@example.org").await;
    let (_, waiter) = lab.app.maker("mover-waiter@example.org").await;
    let b = lab.book(&holder, &lab.laser, (10, 0), (11, 0)).await;
    lab.app.wait(&waiter, json!({"resource": lab.laser, "start": at(10, 0), "end": at(11, 0)})).await;
    lab.app.move_booking(&holder, &b.id, json!({"start": at(13, 0), "end": at(14, 0)})).await.unwrap();
    let mine = lab.app.my_bookings(&waiter, "").await;
    assert_eq!(mine.len(), 1, "{mine:?}");
    assert_eq!(
        (mine[0].status.as_str(), mine[0].when.start_local.as_str()),
        ("confirmed", "2026-09-07T10:00:00+08:00")
    );
    assert_eq!(lab.app.notifications(&waiter).await[0].kind, "waitlist_booked");
}

#[tokio::test]
async fn a_waiting_maker_gets_the_unit_when_it_frees_up_and_is_told() {
    let lab = lab().await;
    let (_, holder) = lab.app.maker("holder@example.org").await;
    let (_, waiter) = lab.app.maker("waiter@example.org").await;
    let (_, later) = lab.app.maker("later@example.org").await;
    let laser = json!({"resource": lab.laser, "start": at(10, 0), "end": at(11, 0)});
    let b = lab.app.book(&holder, laser.clone()).await;
    assert_eq!(lab.app.refused(&waiter, laser.clone()).await.status, 409);
    // First come, first served.
    for t in [&waiter, &later] {
        assert_eq!(lab.app.wait(t, laser.clone()).await.status, "waiting");
    }
    lab.app.cancel(&holder, &b.id, json!({})).await.unwrap();

    let mine = lab.app.my_bookings(&waiter, "").await;
    assert_eq!(mine.len(), 1, "the first waiting maker got it: {mine:?}");
    assert_eq!(mine[0].status, "confirmed");
    let wl = lab.app.my_waitlist(&waiter).await;
    assert_eq!(wl[0].status, "fulfilled");
    assert_eq!(wl[0].booking_id.as_deref(), Some(mine[0].id.as_str()));
    let n = lab.app.notifications(&waiter).await;
    assert_eq!(n[0].kind, "waitlist_booked", "{n:?}");
    assert_eq!(n[0].payload["unit"], "LC-1");
    let still = lab.app.my_waitlist(&later).await;
    assert_eq!(still[0].status, "waiting");
    assert_eq!(lab.app.delete(&format!("/api/v1/waitlist/{}", still[0].id), Some(&later)).await.status, 204);
    assert_eq!(lab.app.my_waitlist(&later).await[0].status, "cancelled");
}
