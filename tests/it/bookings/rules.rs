//! Every rule of a resource is checked on the server, and a refusal lists every one it
//! breaks: hours, slots, lengths, notice, horizon, trainings, eligibility.

use super::*;

#[tokio::test]
async fn a_refusal_lists_every_broken_rule() {
    let lab = lab().await;
    let (_, maker) = lab.app.maker("rules@example.org").await;
    // 21:07–00:07: off the slot grid, longer than 120 minutes, past closing at 22:00.
    let p = lab
        .app
        .refused(&maker, json!({"resource": lab.laser, "start": at(21, 7), "end": "2026-09-08T00:07:00+08:00"}))
        .await;
    assert_eq!((p.status, p.code.as_str()), (422, "policy_violation"), "{p:?}");
    assert_eq!(p.violations(), ["outside_opening_hours", "not_on_slot", "too_long"]);
    let past = json!({"resource": lab.laser, "start": "2026-09-06T10:00:00+08:00", "end": "2026-09-06T11:00:00+08:00"});
    assert_eq!(lab.app.refused(&maker, past).await.violations()[0], "in_the_past");
    let far = json!({"resource": lab.laser, "start": "2026-12-01T10:00:00+08:00", "end": "2026-12-01T11:00:00+08:00"});
    assert_eq!(lab.app.refused(&maker, far).await.violations()[0], "beyond_horizon");
}

#[tokio::test]
async fn a_required_training_is_checked_on_the_server() {
    let lab = lab().await;
    let r = set_policy(&lab, &lab.laser, json!({"required_trainings": ["laser-safety"]})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let (_, maker) = lab.app.maker("untrained@example.org").await;
    let p = lab.app.refused(&maker, json!({"resource": lab.laser, "start": at(10, 0), "end": at(11, 0)})).await;
    assert_eq!((p.status, p.code.as_str()), (422, "policy_violation"));
    assert_eq!(p.violations()[0], "training_missing");
}

#[tokio::test]
async fn an_operator_grants_a_training_with_an_expiry_and_the_server_checks_it_at_booking_time() {
    let lab = lab().await;
    set_policy(&lab, &lab.laser, json!({"required_trainings": ["laser-safety"]})).await;
    laser_safety(&lab).await;
    let (maker_id, maker) = lab.app.maker("trainee@example.org").await;
    let ten_to_eleven = json!({"resource": lab.laser, "start": at(10, 0), "end": at(11, 0)});
    let first_rule = |r: Result<Booking, Problem>| match r {
        Ok(_) => "none".to_owned(),
        Err(p) => p.violations().first().cloned().unwrap_or_default(),
    };

    // A grant that expires before the booking ends does not count.
    let g = lab
        .app
        .post(
            "/api/v1/trainings/laser-safety/grants",
            Some(&lab.op),
            json!({"email": "trainee@example.org", "expires": "2026-09-07T10:30:00+08:00"}),
        )
        .await;
    assert_eq!(g.status, 201, "{}", g.text);
    assert_eq!(first_rule(lab.app.try_book(&maker, ten_to_eleven.clone()).await), "training_expired");
    let g = lab
        .app
        .post(
            "/api/v1/trainings/laser-safety/grants",
            Some(&lab.op),
            json!({"email": "trainee@example.org", "expires": "2027-09-06"}),
        )
        .await;
    assert_eq!(g.body.as_array().unwrap().len(), 1, "the new grant replaces the old: {}", g.text);
    lab.app.book(&maker, ten_to_eleven).await;

    let r = lab
        .app
        .delete(&format!("/api/v1/trainings/laser-safety/grants/{maker_id}?reason=unsafe%20use"), Some(&lab.op))
        .await;
    assert_eq!(r.status, 204, "{}", r.text);
    let again = lab.app.try_book(&maker, json!({"resource": lab.laser, "start": at(13, 0), "end": at(14, 0)})).await;
    assert_eq!(first_rule(again), "training_missing");
    let (_, other) = lab.app.maker("nosy@example.org").await;
    assert_eq!(
        lab.app
            .post("/api/v1/trainings/laser-safety/grants", Some(&other), json!({"email": "nosy@example.org"}))
            .await
            .status,
        403
    );
}

#[tokio::test]
async fn inn_rooms_are_for_verified_makers_only() {
    let lab = lab().await;
    let rid = inn_rooms(&lab, "Room", 2).await;
    let (maker_id, maker) = lab.app.maker("guest@example.org").await;
    let body = json!({"resource": rid, "start": "2026-09-08T00:00:00+08:00", "end": "2026-09-09T00:00:00+08:00"});
    let p = lab.app.refused(&maker, body.clone()).await;
    assert_eq!(p.violations()[0], "not_eligible", "{p:?}");
    let v =
        lab.app.post(&format!("/api/v1/accounts/{maker_id}/verified"), Some(&lab.op), json!({"verified": true})).await;
    assert_eq!(v.status, 204, "{}", v.text);
    lab.app.book(&maker, body).await;
    let me = lab.app.get("/api/v1/me", Some(&maker)).await;
    assert_eq!(me.body["account"]["verified_maker"], true);
}
