//! Booking a unit or any free unit of a resource: the best seat, a team, and a taken time as
//! a conflict with the nearest alternatives.

use super::*;

#[tokio::test]
async fn a_maker_books_the_laser_cutter_and_finds_it_in_their_list() {
    let lab = lab().await;
    let (_, maker) = lab.app.maker("lin@example.org").await;
    let r = lab
        .app
        .post(
            "/api/v1/bookings",
            Some(&maker),
            json!({"unit": lab.laser_unit, "start": at(10, 0), "end": at(11, 0), "purpose": "acrylic signs"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert!(r.body.as_object().unwrap().contains_key("checkin_code"), "the field is reserved");
    let b: Booking = r.json();
    assert_eq!((b.status.as_str(), b.unit_label.as_str()), ("confirmed", "LC-1"));
    assert_eq!(b.when.start, "2026-09-07T02:00:00Z");
    assert_eq!(b.when.start_local, "2026-09-07T10:00:00+08:00");
    let mine = lab.app.my_bookings(&maker, "").await;
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0].purpose, "acrylic signs");
    // The booking and its cool-down buffer are gone from availability.
    let a =
        lab.app.get(&format!("/api/v1/resources/{}/availability?from=2026-09-07&to=2026-09-08", lab.laser), None).await;
    let free: Vec<&str> = a.body["units"][0]["free"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| &f["start_local"].as_str().unwrap()[11..16])
        .collect();
    assert_eq!(free, ["08:00", "11:15"]);
}

#[tokio::test]
async fn a_taken_unit_is_a_409_naming_the_conflict_and_offering_alternatives() {
    let (lab, b) = laser_taken_ten_to_eleven().await;
    let p = lab.app.refused(&b, json!({"resource": lab.laser, "start": at(10, 30), "end": at(11, 30)})).await;
    assert_eq!((p.status, p.code.as_str()), (409, "conflict"), "{p:?}");
    let conflicts = p.conflicts();
    assert_eq!(conflicts[0].start_local, "2026-09-07T10:00:00+08:00");
    assert_eq!(conflicts[0].end_local, "2026-09-07T11:15:00+08:00", "the conflict includes the buffer");
    let alts: Vec<String> = p.alternatives().into_iter().map(|a| a.when.start_local).collect();
    assert_eq!(alts[0], "2026-09-07T11:15:00+08:00", "the nearest free start: {alts:?}");
    assert_eq!(alts.len(), 3);
}

/// A unit named outright, on a resource whose rules read nothing of the maker: the decision
/// reads no blocks, so the database's refusal is what answers, and the 409 still names the
/// conflict (buffer included) and offers the nearest free times.
#[tokio::test]
async fn a_named_unit_taken_only_by_the_buffer_is_a_409_with_the_conflict_and_alternatives() {
    let (lab, b) = laser_taken_ten_to_eleven().await;
    // 11:00 touches the first booking's end, but its 15-minute cool-down runs to 11:15.
    let p = lab.app.refused(&b, json!({"unit": lab.laser_unit, "start": at(11, 0), "end": at(12, 0)})).await;
    assert_eq!((p.status, p.code.as_str()), (409, "conflict"), "{p:?}");
    let conflicts = p.conflicts();
    assert_eq!(conflicts.len(), 1, "{p:?}");
    assert_eq!(conflicts[0].start_local, "2026-09-07T10:00:00+08:00");
    assert_eq!(conflicts[0].end_local, "2026-09-07T11:15:00+08:00");
    assert_eq!(p.alternatives()[0].when.start_local, "2026-09-07T11:15:00+08:00", "{p:?}");
    // Nothing of the refused request was written: b holds no booking.
    assert_eq!(lab.app.my_bookings(&b, "").await.len(), 0);
    // And the rules that need no record still refuse what they should.
    let closed = lab.app.refused(&b, json!({"unit": lab.laser_unit, "start": at(22, 0), "end": at(23, 0)})).await;
    assert_eq!((closed.status, closed.code.as_str()), (422, "policy_violation"), "{closed:?}");
}

#[tokio::test]
async fn a_seat_request_gets_a_concrete_seat_and_fills_the_pool_best_fit() {
    let lab = lab().await;
    let (_, maker) = lab.app.maker("desk@example.org").await;
    assert_eq!(lab.book(&maker, &lab.seats, (9, 0), (12, 0)).await.unit_label, "A-01");
    // The afternoon goes next to the morning booking on A-01 (tightest gap), not to A-02.
    assert_eq!(lab.book(&maker, &lab.seats, (12, 0), (15, 0)).await.unit_label, "A-01");
    assert_eq!(lab.book(&maker, &lab.seats, (10, 0), (11, 0)).await.unit_label, "A-02");
}

#[tokio::test]
async fn booking_for_a_team_needs_membership_and_quotas_apply() {
    let lab = lab().await;
    set_policy(&lab, &lab.seats, json!({"quota": {"max_active_bookings": 1}})).await;
    let (_, maker) = lab.app.maker("team@example.org").await;
    let team = lab
        .app
        .post("/api/v1/organisations", Some(&maker), json!({"name": "Robots", "kind": "team", "slug": "robots"}))
        .await;
    assert_eq!(team.status, 201);
    let (_, outsider) = lab.app.maker("out@example.org").await;
    let body = json!({"resource": lab.seats, "start": at(9, 0), "end": at(10, 0), "team": "robots"});
    let p = lab.app.refused(&outsider, body.clone()).await;
    assert_eq!(p.fields()[0].code, "not_a_member", "{p:?}");
    let b = lab.app.book(&maker, body).await;
    assert_eq!(b.team_id.as_deref(), team.body["id"].as_str());
    let second = lab.app.refused(&maker, json!({"resource": lab.seats, "start": at(11, 0), "end": at(12, 0)})).await;
    assert_eq!(second.violations()[0], "quota_active_exceeded", "{second:?}");
}
