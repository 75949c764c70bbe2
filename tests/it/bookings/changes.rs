//! Changing a booking: cancelling (with the maker told), approving and declining, moving all
//! or nothing; and who may.

use super::*;

#[tokio::test]
async fn cancelling_frees_the_unit_and_keeps_who_when_and_why() {
    let lab = lab().await;
    let (_, maker) = lab.app.maker("c@example.org").await;
    let laser = json!({"unit": lab.laser_unit, "start": at(10, 0), "end": at(11, 0)});
    let id = lab.app.book(&maker, laser.clone()).await.id;
    let cancelled = lab.app.cancel(&maker, &id, json!({"reason": "plans changed"})).await.unwrap();
    assert_eq!(cancelled[0].status, "cancelled");
    assert_eq!(cancelled[0].cancel_reason.as_deref(), Some("plans changed"));
    assert!(cancelled[0].cancelled_at.is_some());
    let again = lab.app.cancel(&maker, &id, json!({})).await.unwrap_err();
    assert_eq!((again.status, again.code.as_str()), (409, "not_cancellable"));
    let (_, other) = lab.app.maker("d@example.org").await;
    let other_id = lab.app.book(&other, laser).await.id; // the unit is free again

    // After the start only an operator can cancel, and must say why.
    lab.app.clock.set(NOW + 2 * 3_600_000 + 60_000); // 10:01
    let late = lab.app.cancel(&other, &other_id, json!({})).await.unwrap_err();
    assert_eq!((late.status, late.code.as_str()), (409, "too_late_to_cancel"));
    let no_reason = lab.app.cancel(&lab.op, &other_id, json!({})).await.unwrap_err();
    assert_eq!((no_reason.status, no_reason.code.as_str()), (422, "validation_failed"));
    lab.app.cancel(&lab.op, &other_id, json!({"reason": "machine fault"})).await.unwrap();
    // The maker is told, with the operator's reason; a maker's own cancellation tells no one.
    let told = lab.app.notifications(&other).await;
    assert_eq!(told.len(), 1, "{told:?}");
    assert_eq!(
        (told[0].kind.as_str(), told[0].payload["reason"].as_str()),
        ("booking_cancelled", Some("machine fault"))
    );
    assert_eq!(told[0].payload["booking_id"], other_id.as_str());
    assert!(lab.app.notifications(&maker).await.is_empty());
    // The history stays: both cancelled bookings are still listed.
    let day = lab.app.space_bookings(&lab.op, &lab.slug, "?date=2026-09-07").await;
    assert_eq!(day.iter().filter(|b| b.status == "cancelled").count(), 2, "{day:?}");
}

#[tokio::test]
async fn a_booking_that_needs_approval_holds_the_unit_until_declined() {
    let lab = lab().await;
    set_policy(&lab, &lab.laser, json!({"requires_approval": true})).await;
    let (_, maker) = lab.app.maker("p@example.org").await;
    let laser = json!({"resource": lab.laser, "start": at(10, 0), "end": at(11, 0)});
    let b = lab.app.book(&maker, laser.clone()).await;
    assert_eq!(b.status, "pending");
    let (_, other) = lab.app.maker("q@example.org").await;
    assert_eq!(lab.app.refused(&other, laser.clone()).await.status, 409, "a pending booking holds the unit");

    assert_eq!(lab.app.space_bookings(&lab.op, &lab.slug, "?status=pending").await.len(), 1);
    assert_eq!(lab.app.my_bookings(&maker, "?status=pending").await.len(), 1);
    assert_eq!(lab.app.decide(&maker, &b.id, true, None).await.unwrap_err().status, 403);
    assert_eq!(lab.app.decide(&lab.op, &b.id, false, None).await.unwrap_err().status, 422);
    let d = lab.app.decide(&lab.op, &b.id, false, Some("no safety officer that day")).await.unwrap();
    assert_eq!(d.status, "declined");
    assert_eq!(d.decision_reason.as_deref(), Some("no safety officer that day"));
    let now_free = lab.app.book(&other, laser).await; // declining freed the unit
    let ok = lab.app.decide(&lab.op, &now_free.id, true, None).await.unwrap();
    assert_eq!(ok.status, "confirmed");
    // Each maker is told the decision.
    let kinds = |token: &str| {
        let app = &lab.app;
        let token = token.to_owned();
        async move {
            app.notifications(&token)
                .await
                .into_iter()
                .map(|n| (n.kind, n.payload["reason"].clone()))
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(kinds(&maker).await, [("booking_declined".to_owned(), json!("no safety officer that day"))]);
    assert_eq!(kinds(&other).await, [("booking_approved".to_owned(), Value::Null)]);
}

#[tokio::test]
async fn moving_a_booking_is_all_or_nothing() {
    let lab = lab().await;
    let (_, maker) = lab.app.maker("mover@example.org").await;
    let (_, other) = lab.app.maker("blocker@example.org").await;
    let b = lab.app.book(&maker, json!({"unit": lab.laser_unit, "start": at(10, 0), "end": at(11, 0)})).await;
    lab.app.book(&other, json!({"unit": lab.laser_unit, "start": at(13, 0), "end": at(14, 0)})).await;

    // Overlapping its own old time is fine; the other booking is not.
    let ok = lab.app.move_booking(&maker, &b.id, json!({"start": at(10, 30), "end": at(11, 30)})).await.unwrap();
    assert_eq!(ok.when.start_local, "2026-09-07T10:30:00+08:00");
    let (moved, code) = (ok.checkin_code.as_ref().unwrap(), b.checkin_code.as_ref().unwrap());
    assert_eq!((&moved.qr, &moved.short), (&code.qr, &code.short), "a move keeps the maker's check-in code");
    let clash = lab.app.move_booking(&maker, &b.id, json!({"start": at(12, 30), "end": at(13, 30)})).await.unwrap_err();
    assert_eq!((clash.status, clash.code.as_str()), (409, "conflict"), "{clash:?}");
    let after: Booking = lab.app.get(&format!("/api/v1/bookings/{}", b.id), Some(&maker)).await.json();
    assert_eq!(after.when.start_local, "2026-09-07T10:30:00+08:00", "the original is untouched");
    let bad = lab.app.move_booking(&maker, &b.id, json!({"start": at(21, 30), "end": at(22, 30)})).await.unwrap_err();
    assert_eq!(bad.violations()[0], "outside_opening_hours", "{bad:?}");
    let space = lab.app.get(&format!("/api/v1/spaces/{}", lab.slug), None).await;
    let seats =
        space.body["resources"].as_array().unwrap().iter().find(|r| r["kind"] == "broadband_seat").unwrap().clone();
    let seat = seats["units"][0]["id"].as_str().unwrap().to_owned();
    // An operator may move it too; the maker is told, and the operator sees no check-in code.
    let by_op = lab.app.move_booking(&lab.op, &b.id, json!({"start": at(15, 0), "end": at(16, 0)})).await.unwrap();
    assert!(by_op.checkin_code.is_none(), "{by_op:?}");
    let told = lab.app.notifications(&maker).await;
    assert_eq!(
        (told[0].kind.as_str(), told[0].payload["when"]["start_local"].as_str()),
        ("booking_moved", Some("2026-09-07T15:00:00+08:00")),
        "{told:?}"
    );
    let wrong = lab.app.move_booking(&maker, &b.id, json!({"unit": seat})).await.unwrap_err();
    assert_eq!(wrong.fields()[0].code, "unknown_unit", "another resource's unit: {wrong:?}");
}

/// A move is a new request: an approved booking that its maker moves waits for approval
/// again, while an operator's move keeps it approved.
#[tokio::test]
async fn a_makers_move_of_an_approved_booking_waits_for_approval_again() {
    let lab = lab().await;
    set_policy(&lab, &lab.laser, json!({"requires_approval": true})).await;
    let (_, maker) = lab.app.maker("approved@example.org").await;
    let b = lab.app.book(&maker, json!({"unit": lab.laser_unit, "start": at(10, 0), "end": at(11, 0)})).await;
    assert_eq!(b.status, "pending");
    assert_eq!(lab.app.decide(&lab.op, &b.id, true, None).await.unwrap().status, "confirmed");

    let by_op = lab.app.move_booking(&lab.op, &b.id, json!({"start": at(11, 0), "end": at(12, 0)})).await.unwrap();
    assert_eq!(by_op.status, "confirmed", "the operator decides: {by_op:?}");
    let moved = lab.app.move_booking(&maker, &b.id, json!({"start": at(14, 0), "end": at(15, 0)})).await.unwrap();
    assert_eq!(moved.status, "pending", "{moved:?}");
    assert_eq!(lab.app.space_bookings(&lab.op, &lab.slug, "?status=pending").await.len(), 1, "back in the queue");
    // Approved again, it is confirmed at its new time.
    let again = lab.app.decide(&lab.op, &b.id, true, None).await.unwrap();
    assert_eq!((again.status.as_str(), again.when.start_local.as_str()), ("confirmed", "2026-09-07T14:00:00+08:00"));
}

/// A reviewer reads every booking but changes none, and is told so; another maker is not
/// told the booking exists.
#[tokio::test]
async fn a_reviewer_reads_a_booking_but_may_not_cancel_or_move_it() {
    let lab = lab().await;
    let (_, maker) = lab.app.maker("reviewed@example.org").await;
    let id = lab.book(&maker, &lab.seats, (9, 0), (10, 0)).await.id;
    let admin = lab.app.admin().await;
    let (rid, reviewer) = lab.app.maker("district@example.org").await;
    let g =
        lab.app.post(&format!("/api/v1/admin/accounts/{rid}/roles"), Some(&admin), json!({"role": "reviewer"})).await;
    assert_eq!(g.status, 200, "{}", g.text);
    let (_, stranger) = lab.app.maker("stranger@example.org").await;

    let seen = lab.app.get(&format!("/api/v1/bookings/{id}"), Some(&reviewer)).await.result::<Booking>(200).unwrap();
    assert!(seen.checkin_code.is_none(), "{seen:?}");
    let cancel = json!({"reason": "audit"});
    let c = lab.app.cancel(&reviewer, &id, cancel.clone()).await.unwrap_err();
    assert_eq!((c.status, c.code.as_str()), (403, "forbidden"), "{c:?}");
    let m = lab.app.move_booking(&reviewer, &id, json!({"start": at(11, 0), "end": at(12, 0)})).await.unwrap_err();
    assert_eq!((m.status, m.code.as_str()), (403, "forbidden"), "{m:?}");
    let c = lab.app.cancel(&stranger, &id, cancel).await.unwrap_err();
    assert_eq!((c.status, c.code.as_str()), (404, "not_found"), "{c:?}");
    let still: Booking = lab.app.get(&format!("/api/v1/bookings/{id}"), Some(&maker)).await.json();
    assert_eq!((still.status.as_str(), still.when.start_local.as_str()), ("confirmed", "2026-09-07T09:00:00+08:00"));
}
