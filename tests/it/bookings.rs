//! Reservations: makers book units or resources, every rule is applied on the server, a
//! taken unit is a 409 with alternatives, and races never double-book.

use crate::checkin::at;
use crate::helpers::{TestApp, open_daily, operated_space, spawn_app_at};
use serde_json::{Value, json};
use std::sync::Arc;

/// Monday 2026-09-07 08:00 in Shanghai.
const NOW: i64 = 1_788_739_200_000;

struct Lab {
    app: TestApp,
    op: String,
    slug: String,
    laser: String,
    laser_unit: String,
    seats: String,
}

async fn lab() -> Lab {
    let app = spawn_app_at(NOW).await;
    let (op, slug) = operated_space(&app, "fab", "Asia/Shanghai").await;
    open_daily(&app, &op, &slug, "08:00", 840).await;
    let laser = app
        .post(
            &format!("/api/v1/spaces/{slug}/resources"),
            Some(&op),
            json!({"kind": "tool", "name_zh": "激光切割机", "name_en": "Laser cutter", "units": {"labels": ["LC-1"]},
                   "policy": {"buffer_after_minutes": 15, "max_minutes": 120}}),
        )
        .await;
    assert_eq!(laser.status, 201, "{}", laser.text);
    let seats = app
        .post(
            &format!("/api/v1/spaces/{slug}/resources"),
            Some(&op),
            json!({"kind": "broadband_seat", "name_zh": "工位", "name_en": "Seats", "units": {"count": 10, "prefix": "A-"}}),
        )
        .await;
    assert_eq!(seats.status, 201, "{}", seats.text);
    Lab {
        op,
        slug,
        laser: laser.body["id"].as_str().unwrap().to_owned(),
        laser_unit: laser.body["units"][0]["id"].as_str().unwrap().to_owned(),
        seats: seats.body["id"].as_str().unwrap().to_owned(),
        app,
    }
}

/// An inn-room resource of `count` rooms, bookable around the clock: (resource id).
async fn inn_rooms(lab: &Lab, name_en: &str, count: u32) -> String {
    let room = lab
        .app
        .post(
            &format!("/api/v1/spaces/{}/resources", lab.slug),
            Some(&lab.op),
            json!({"kind": "inn_room", "name_zh": "客房", "name_en": name_en, "units": {"count": count, "prefix": "R"}}),
        )
        .await;
    assert_eq!(room.status, 201, "{}", room.text);
    let rid = room.body["id"].as_str().unwrap().to_owned();
    // The lab opens 08:00-22:00; rooms get their own hours.
    let r = lab
        .app
        .post(
            &format!("/api/v1/spaces/{}/opening-rules", lab.slug),
            Some(&lab.op),
            json!({"resource": rid, "rrule": "FREQ=DAILY", "start": "2026-01-01T00:00", "duration_minutes": 1440}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    rid
}

/// A signed-in maker whom the operator has verified: (account id, token).
async fn verified_maker(lab: &Lab, email: &str) -> (String, String) {
    let (id, token) = lab.app.maker(email).await;
    let v = lab.app.post(&format!("/api/v1/accounts/{id}/verified"), Some(&lab.op), json!({"verified": true})).await;
    assert_eq!(v.status, 204, "{}", v.text);
    (id, token)
}

impl Lab {
    /// Books `resource` from `from` to `to` (local hours and minutes) as `token`'s maker;
    /// asserts 201.
    async fn book(&self, token: &str, resource: &str, from: (u32, u32), to: (u32, u32)) -> crate::helpers::Reply {
        crate::helpers::book_ok(&self.app, token, resource, &at(from.0, from.1), &at(to.0, to.1)).await
    }
}

/// The space's "laser-safety" training, created by its operator.
async fn laser_safety(lab: &Lab) {
    let t = lab
        .app
        .post(
            "/api/v1/trainings",
            Some(&lab.op),
            json!({"slug": "laser-safety", "name_zh": "激光安全", "name_en": "Laser safety", "space": lab.slug}),
        )
        .await;
    assert_eq!(t.status, 201, "{}", t.text);
}

/// A second zone of five seats in the lab's space: (resource id).
async fn seat_zone_b(lab: &Lab) -> String {
    let zone = lab
        .app
        .post(
            &format!("/api/v1/spaces/{}/resources", lab.slug),
            Some(&lab.op),
            json!({"kind": "broadband_seat", "name_zh": "B区", "name_en": "Zone B", "units": {"count": 5, "prefix": "B-"}}),
        )
        .await;
    assert_eq!(zone.status, 201, "{}", zone.text);
    zone.body["id"].as_str().unwrap().to_owned()
}

/// The operator changes a resource's booking policy (the fields given; the rest stays).
async fn set_policy(lab: &Lab, resource: &str, policy: Value) -> crate::helpers::Reply {
    lab.app.patch_json(&format!("/api/v1/resources/{resource}"), &lab.op, json!({ "policy": policy })).await
}

/// The operator sets the space's quotas per kind of resource.
async fn kind_quotas(lab: &Lab, quotas: Value) -> crate::helpers::Reply {
    lab.app.patch_json(&format!("/api/v1/spaces/{}", lab.slug), &lab.op, json!({ "kind_quotas": quotas })).await
}

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
    assert_eq!(r.body["status"], "confirmed");
    assert_eq!(r.body["unit_label"], "LC-1");
    assert_eq!(r.body["when"]["start"], "2026-09-07T02:00:00Z");
    assert_eq!(r.body["when"]["start_local"], "2026-09-07T10:00:00+08:00");
    assert!(r.body.as_object().unwrap().contains_key("checkin_code"), "the field is reserved");
    let mine = lab.app.get("/api/v1/bookings", Some(&maker)).await;
    assert_eq!(mine.body.as_array().unwrap().len(), 1);
    assert_eq!(mine.body[0]["purpose"], "acrylic signs");
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

/// The lab with LC-1 booked 10:00-11:00 by one maker (its cool-down runs to 11:15), and a
/// second maker's token.
async fn laser_taken_ten_to_eleven() -> (Lab, String) {
    let lab = lab().await;
    let (_, a) = lab.app.maker("a@example.org").await;
    let (_, b) = lab.app.maker("b@example.org").await;
    let first = lab
        .app
        .post("/api/v1/bookings", Some(&a), json!({"unit": lab.laser_unit, "start": at(10, 0), "end": at(11, 0)}))
        .await;
    assert_eq!(first.status, 201, "{}", first.text);
    (lab, b)
}

#[tokio::test]
async fn a_taken_unit_is_a_409_naming_the_conflict_and_offering_alternatives() {
    let (lab, b) = laser_taken_ten_to_eleven().await;
    let r = lab
        .app
        .post("/api/v1/bookings", Some(&b), json!({"resource": lab.laser, "start": at(10, 30), "end": at(11, 30)}))
        .await;
    assert_eq!((r.status, r.code()), (409, "conflict"), "{}", r.text);
    let conflicts = r.body["error"]["details"]["conflicts"].as_array().unwrap();
    assert_eq!(conflicts[0]["start_local"], "2026-09-07T10:00:00+08:00");
    assert_eq!(conflicts[0]["end_local"], "2026-09-07T11:15:00+08:00", "the conflict includes the buffer");
    let alts: Vec<&str> = r.body["error"]["details"]["alternatives"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["when"]["start_local"].as_str().unwrap())
        .collect();
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
    let r = lab
        .app
        .post("/api/v1/bookings", Some(&b), json!({"unit": lab.laser_unit, "start": at(11, 0), "end": at(12, 0)}))
        .await;
    assert_eq!((r.status, r.code()), (409, "conflict"), "{}", r.text);
    let conflicts = r.body["error"]["details"]["conflicts"].as_array().unwrap();
    assert_eq!(conflicts.len(), 1, "{}", r.text);
    assert_eq!(conflicts[0]["start_local"], "2026-09-07T10:00:00+08:00");
    assert_eq!(conflicts[0]["end_local"], "2026-09-07T11:15:00+08:00");
    let alts = r.body["error"]["details"]["alternatives"].as_array().unwrap();
    assert_eq!(alts[0]["when"]["start_local"], "2026-09-07T11:15:00+08:00", "{}", r.text);
    // Nothing of the refused request was written: b holds no booking.
    let mine = lab.app.get("/api/v1/bookings", Some(&b)).await;
    assert_eq!(mine.status, 200, "{}", mine.text);
    assert_eq!(mine.body.as_array().map(Vec::len), Some(0), "{}", mine.text);
    // And the rules that need no record still refuse what they should.
    let closed = lab
        .app
        .post("/api/v1/bookings", Some(&b), json!({"unit": lab.laser_unit, "start": at(22, 0), "end": at(23, 0)}))
        .await;
    assert_eq!((closed.status, closed.code()), (422, "policy_violation"), "{}", closed.text);
}

#[tokio::test]
async fn a_refusal_lists_every_broken_rule() {
    let lab = lab().await;
    let (_, maker) = lab.app.maker("rules@example.org").await;
    // 21:07–00:07: off the slot grid, longer than 120 minutes, past closing at 22:00.
    let r = lab
        .app
        .post(
            "/api/v1/bookings",
            Some(&maker),
            json!({"resource": lab.laser, "start": at(21, 7), "end": "2026-09-08T00:07:00+08:00"}),
        )
        .await;
    assert_eq!((r.status, r.code()), (422, "policy_violation"), "{}", r.text);
    let rules: Vec<&str> = r.body["error"]["details"]["violations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["rule"].as_str().unwrap())
        .collect();
    assert_eq!(rules, ["outside_opening_hours", "not_on_slot", "too_long"]);
    let r = lab
        .app
        .post(
            "/api/v1/bookings",
            Some(&maker),
            json!({"resource": lab.laser, "start": "2026-09-06T10:00:00+08:00", "end": "2026-09-06T11:00:00+08:00"}),
        )
        .await;
    assert_eq!(r.body["error"]["details"]["violations"][0]["rule"], "in_the_past");
    let r = lab
        .app
        .post(
            "/api/v1/bookings",
            Some(&maker),
            json!({"resource": lab.laser, "start": "2026-12-01T10:00:00+08:00", "end": "2026-12-01T11:00:00+08:00"}),
        )
        .await;
    assert_eq!(r.body["error"]["details"]["violations"][0]["rule"], "beyond_horizon");
}

#[tokio::test]
async fn a_required_training_is_checked_on_the_server() {
    let lab = lab().await;
    let r = set_policy(&lab, &lab.laser, json!({"required_trainings": ["laser-safety"]})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let (_, maker) = lab.app.maker("untrained@example.org").await;
    let r = lab
        .app
        .post("/api/v1/bookings", Some(&maker), json!({"resource": lab.laser, "start": at(10, 0), "end": at(11, 0)}))
        .await;
    assert_eq!((r.status, r.code()), (422, "policy_violation"));
    assert_eq!(r.body["error"]["details"]["violations"][0]["rule"], "training_missing");
}

#[tokio::test]
async fn a_seat_request_gets_a_concrete_seat_and_fills_the_pool_best_fit() {
    let lab = lab().await;
    let (_, maker) = lab.app.maker("desk@example.org").await;
    let r = lab.book(&maker, &lab.seats, (9, 0), (12, 0)).await;
    assert_eq!(r.body["unit_label"], "A-01");
    // The afternoon goes next to the morning booking on A-01 (tightest gap), not to A-02.
    let r = lab
        .app
        .post("/api/v1/bookings", Some(&maker), json!({"resource": lab.seats, "start": at(12, 0), "end": at(15, 0)}))
        .await;
    assert_eq!(r.body["unit_label"], "A-01", "{}", r.text);
    let r = lab
        .app
        .post("/api/v1/bookings", Some(&maker), json!({"resource": lab.seats, "start": at(10, 0), "end": at(11, 0)}))
        .await;
    assert_eq!(r.body["unit_label"], "A-02", "{}", r.text);
}

#[tokio::test]
async fn cancelling_frees_the_unit_and_keeps_who_when_and_why() {
    let lab = lab().await;
    let (_, maker) = lab.app.maker("c@example.org").await;
    let b = lab
        .app
        .post("/api/v1/bookings", Some(&maker), json!({"unit": lab.laser_unit, "start": at(10, 0), "end": at(11, 0)}))
        .await;
    let id = b.body["id"].as_str().unwrap().to_owned();
    let r =
        lab.app.post(&format!("/api/v1/bookings/{id}/cancel"), Some(&maker), json!({"reason": "plans changed"})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body[0]["status"], "cancelled");
    assert_eq!(r.body[0]["cancel_reason"], "plans changed");
    assert!(r.body[0]["cancelled_at"].is_string());
    let again = lab.app.post(&format!("/api/v1/bookings/{id}/cancel"), Some(&maker), json!({})).await;
    assert_eq!((again.status, again.code()), (409, "not_cancellable"));
    let (_, other) = lab.app.maker("d@example.org").await;
    let r = lab
        .app
        .post("/api/v1/bookings", Some(&other), json!({"unit": lab.laser_unit, "start": at(10, 0), "end": at(11, 0)}))
        .await;
    assert_eq!(r.status, 201, "the unit is free again: {}", r.text);

    // After the start only an operator can cancel, and must say why.
    lab.app.clock.set(NOW + 2 * 3_600_000 + 60_000); // 10:01
    let other_id = r.body["id"].as_str().unwrap().to_owned();
    let late = lab.app.post(&format!("/api/v1/bookings/{other_id}/cancel"), Some(&other), json!({})).await;
    assert_eq!((late.status, late.code()), (409, "too_late_to_cancel"));
    let no_reason = lab.app.post(&format!("/api/v1/bookings/{other_id}/cancel"), Some(&lab.op), json!({})).await;
    assert_eq!((no_reason.status, no_reason.code()), (422, "validation_failed"));
    let ok = lab
        .app
        .post(&format!("/api/v1/bookings/{other_id}/cancel"), Some(&lab.op), json!({"reason": "machine fault"}))
        .await;
    assert_eq!(ok.status, 200, "{}", ok.text);
    // The maker is told, with the operator's reason; a maker's own cancellation tells no one.
    let told = lab.app.get("/api/v1/notifications", Some(&other)).await;
    assert_eq!(told.body.as_array().map(Vec::len), Some(1), "{}", told.text);
    assert_eq!(
        (told.body[0]["kind"].as_str(), told.body[0]["payload"]["reason"].as_str()),
        (Some("booking_cancelled"), Some("machine fault"))
    );
    assert_eq!(told.body[0]["payload"]["booking_id"], other_id.as_str());
    assert_eq!(lab.app.get("/api/v1/notifications", Some(&maker)).await.body, json!([]));
    // The history stays: both cancelled bookings are still listed.
    let day = lab.app.get(&format!("/api/v1/spaces/{}/bookings?date=2026-09-07", lab.slug), Some(&lab.op)).await;
    assert_eq!(day.body.as_array().unwrap().iter().filter(|b| b["status"] == "cancelled").count(), 2, "{}", day.text);
}

#[tokio::test]
async fn a_booking_that_needs_approval_holds_the_unit_until_declined() {
    let lab = lab().await;
    set_policy(&lab, &lab.laser, json!({"requires_approval": true})).await;
    let (_, maker) = lab.app.maker("p@example.org").await;
    let r = lab
        .app
        .post("/api/v1/bookings", Some(&maker), json!({"resource": lab.laser, "start": at(10, 0), "end": at(11, 0)}))
        .await;
    assert_eq!((r.status, r.body["status"].as_str()), (201, Some("pending")), "{}", r.text);
    let id = r.body["id"].as_str().unwrap().to_owned();
    let (_, other) = lab.app.maker("q@example.org").await;
    let taken = lab
        .app
        .post("/api/v1/bookings", Some(&other), json!({"resource": lab.laser, "start": at(10, 0), "end": at(11, 0)}))
        .await;
    assert_eq!(taken.status, 409, "a pending booking holds the unit");

    let pending = lab.app.get(&format!("/api/v1/spaces/{}/bookings?status=pending", lab.slug), Some(&lab.op)).await;
    assert_eq!(pending.body.as_array().unwrap().len(), 1, "{}", pending.text);
    let mine = lab.app.get("/api/v1/bookings?status=pending", Some(&maker)).await;
    assert_eq!(mine.body.as_array().unwrap().len(), 1);
    let denied = lab.app.post(&format!("/api/v1/bookings/{id}/approve"), Some(&maker), json!({})).await;
    assert_eq!(denied.status, 403);
    let no_reason = lab.app.post(&format!("/api/v1/bookings/{id}/decline"), Some(&lab.op), json!({})).await;
    assert_eq!(no_reason.status, 422);
    let d = lab
        .app
        .post(&format!("/api/v1/bookings/{id}/decline"), Some(&lab.op), json!({"reason": "no safety officer that day"}))
        .await;
    assert_eq!((d.status, d.body["status"].as_str()), (200, Some("declined")), "{}", d.text);
    assert_eq!(d.body["decision_reason"], "no safety officer that day");
    let now_free = lab
        .app
        .post("/api/v1/bookings", Some(&other), json!({"resource": lab.laser, "start": at(10, 0), "end": at(11, 0)}))
        .await;
    assert_eq!(now_free.status, 201, "declining freed the unit: {}", now_free.text);
    let ok = lab
        .app
        .post(&format!("/api/v1/bookings/{}/approve", now_free.body["id"].as_str().unwrap()), Some(&lab.op), json!({}))
        .await;
    assert_eq!(ok.body["status"], "confirmed", "{}", ok.text);
    // Each maker is told the decision.
    let kinds = |token: &str| {
        let app = &lab.app;
        let token = token.to_owned();
        async move {
            let n = app.get("/api/v1/notifications", Some(&token)).await;
            n.body
                .as_array()
                .unwrap()
                .iter()
                .map(|x| (x["kind"].clone(), x["payload"]["reason"].clone()))
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(kinds(&maker).await, [(json!("booking_declined"), json!("no safety officer that day"))]);
    assert_eq!(kinds(&other).await, [(json!("booking_approved"), Value::Null)]);
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
    let r = lab
        .app
        .post(
            "/api/v1/bookings",
            Some(&outsider),
            json!({"resource": lab.seats, "start": at(9, 0), "end": at(10, 0), "team": "robots"}),
        )
        .await;
    assert_eq!(r.body["error"]["details"]["fields"][0]["code"], "not_a_member", "{}", r.text);
    let r = lab
        .app
        .post(
            "/api/v1/bookings",
            Some(&maker),
            json!({"resource": lab.seats, "start": at(9, 0), "end": at(10, 0), "team": "robots"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["team_id"], team.body["id"]);
    let second = lab
        .app
        .post("/api/v1/bookings", Some(&maker), json!({"resource": lab.seats, "start": at(11, 0), "end": at(12, 0)}))
        .await;
    assert_eq!(second.body["error"]["details"]["violations"][0]["rule"], "quota_active_exceeded", "{}", second.text);
}

async fn race(lab: &Lab, body: Value, clients: usize) -> Vec<(u16, Value)> {
    let mut tokens = Vec::new();
    for i in 0..clients {
        tokens.push(lab.app.maker(&format!("racer{i}@example.org")).await.1);
    }
    let url = lab.app.url("/api/v1/bookings");
    let client = lab.app.client.clone();
    let body = Arc::new(body);
    let tasks: Vec<_> = tokens
        .into_iter()
        .map(|t| {
            let (client, url, body) = (client.clone(), url.clone(), body.clone());
            tokio::spawn(async move {
                let res = client.post(url).bearer_auth(t).json(&*body).send().await.unwrap();
                let status = res.status().as_u16();
                (status, res.json::<Value>().await.unwrap())
            })
        })
        .collect();
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.unwrap());
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixty_four_makers_race_for_one_unit_and_exactly_one_wins() {
    let lab = lab().await;
    let results = race(&lab, json!({"unit": lab.laser_unit, "start": at(14, 0), "end": at(15, 0)}), 64).await;
    let created = results.iter().filter(|(s, _)| *s == 201).count();
    let conflicts = results.iter().filter(|(s, b)| *s == 409 && b["error"]["code"] == "conflict").count();
    assert_eq!((created, conflicts), (1, 63), "{:?}", results.iter().map(|(s, _)| s).collect::<Vec<_>>());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixty_four_makers_race_for_ten_seats_and_exactly_ten_get_different_seats() {
    let lab = lab().await;
    let results = race(&lab, json!({"resource": lab.seats, "start": at(9, 0), "end": at(17, 0)}), 64).await;
    let mut seats: Vec<&str> =
        results.iter().filter(|(s, _)| *s == 201).map(|(_, b)| b["unit_label"].as_str().unwrap()).collect();
    assert_eq!(seats.len(), 10, "{:?}", results.iter().map(|(s, _)| s).collect::<Vec<_>>());
    seats.sort_unstable();
    seats.dedup();
    assert_eq!(seats.len(), 10, "each on a different seat");
    assert_eq!(results.iter().filter(|(s, _)| *s == 409).count(), 54);
}

#[tokio::test]
async fn an_operator_grants_a_training_with_an_expiry_and_the_server_checks_it_at_booking_time() {
    let lab = lab().await;
    set_policy(&lab, &lab.laser, json!({"required_trainings": ["laser-safety"]})).await;
    laser_safety(&lab).await;
    let (maker_id, maker) = lab.app.maker("trainee@example.org").await;
    let book = || {
        lab.app.post(
            "/api/v1/bookings",
            Some(&maker),
            json!({"resource": lab.laser, "start": at(10, 0), "end": at(11, 0)}),
        )
    };
    let rule = |r: &crate::helpers::Reply| {
        r.body["error"]["details"]["violations"][0]["rule"].as_str().unwrap_or("none").to_owned()
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
    assert_eq!(rule(&book().await), "training_expired");
    let g = lab
        .app
        .post(
            "/api/v1/trainings/laser-safety/grants",
            Some(&lab.op),
            json!({"email": "trainee@example.org", "expires": "2027-09-06"}),
        )
        .await;
    assert_eq!(g.body.as_array().unwrap().len(), 1, "the new grant replaces the old: {}", g.text);
    let ok = book().await;
    assert_eq!(ok.status, 201, "{}", ok.text);

    let r = lab
        .app
        .delete(&format!("/api/v1/trainings/laser-safety/grants/{maker_id}?reason=unsafe%20use"), Some(&lab.op))
        .await;
    assert_eq!(r.status, 204, "{}", r.text);
    let again = lab
        .app
        .post("/api/v1/bookings", Some(&maker), json!({"resource": lab.laser, "start": at(13, 0), "end": at(14, 0)}))
        .await;
    assert_eq!(rule(&again), "training_missing");
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
    let r = lab.app.post("/api/v1/bookings", Some(&maker), body.clone()).await;
    assert_eq!(r.body["error"]["details"]["violations"][0]["rule"], "not_eligible", "{}", r.text);
    let v =
        lab.app.post(&format!("/api/v1/accounts/{maker_id}/verified"), Some(&lab.op), json!({"verified": true})).await;
    assert_eq!(v.status, 204, "{}", v.text);
    let r = lab.app.post("/api/v1/bookings", Some(&maker), body).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let me = lab.app.get("/api/v1/me", Some(&maker)).await;
    assert_eq!(me.body["account"]["verified_maker"], true);
}

async fn berlin_lab() -> (TestApp, String, String) {
    // Monday 2026-03-02 09:00 in Berlin.
    let app = spawn_app_at(1_772_438_400_000).await;
    let (op, slug) = operated_space(&app, "berlin", "Europe/Berlin").await;
    open_daily(&app, &op, &slug, "08:00", 840).await;
    let r = app
        .post(
            &format!("/api/v1/spaces/{slug}/resources"),
            Some(&op),
            json!({"kind": "tool", "name_zh": "打印机", "name_en": "Printers", "units": {"labels": ["P1", "P2"]}, "policy": {"horizon_days": 365}}),
        )
        .await;
    (app, op, r.body["id"].as_str().unwrap().to_owned())
}

#[tokio::test]
async fn a_weekly_class_keeps_its_local_time_and_its_unit_across_dst() {
    let (app, _, printers) = berlin_lab().await;
    let (_, maker) = app.maker("class@example.org").await;
    let r = app
        .post(
            "/api/v1/bookings",
            Some(&maker),
            json!({"resource": printers, "start": "2026-03-10T14:00:00+01:00", "end": "2026-03-10T16:00:00+01:00",
                   "recurrence": "FREQ=WEEKLY;COUNT=6"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let bookings = r.body["bookings"].as_array().unwrap();
    assert_eq!(bookings.len(), 6);
    let starts: Vec<&str> = bookings.iter().map(|b| b["when"]["start_local"].as_str().unwrap()).collect();
    assert_eq!(starts[2], "2026-03-24T14:00:00+01:00");
    assert_eq!(starts[3], "2026-03-31T14:00:00+02:00", "14:00 on the wall clock after the change");
    assert!(bookings.iter().all(|b| b["unit_label"] == "P1"), "one unit for the whole series");
    assert!(bookings.iter().all(|b| b["series_id"] == r.body["series_id"]));
    assert_eq!(r.body["skipped"], json!([]));
}

#[tokio::test]
async fn a_series_is_all_or_nothing_unless_told_to_skip() {
    let (app, _, printers) = berlin_lab().await;
    let (_, other) = app.maker("other@example.org").await;
    // Both printers are taken on the third Tuesday.
    for _ in 0..2 {
        let r = app
            .post(
                "/api/v1/bookings",
                Some(&other),
                json!({"resource": printers, "start": "2026-03-24T14:00:00+01:00", "end": "2026-03-24T15:00:00+01:00"}),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.text);
    }
    let (_, maker) = app.maker("series@example.org").await;
    let body = |mode: &str| {
        json!({"resource": printers, "start": "2026-03-10T14:00:00+01:00", "end": "2026-03-10T16:00:00+01:00",
               "recurrence": "FREQ=WEEKLY;COUNT=5", "on_conflict": mode})
    };
    let r = app.post("/api/v1/bookings", Some(&maker), body("reject")).await;
    assert_eq!((r.status, r.code()), (409, "conflict"), "{}", r.text);
    assert_eq!(app.get("/api/v1/bookings", Some(&maker)).await.body, json!([]), "nothing was booked");
    let r = app.post("/api/v1/bookings", Some(&maker), body("skip")).await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["bookings"].as_array().unwrap().len(), 4);
    let codes: std::collections::HashSet<&str> =
        r.body["bookings"].as_array().unwrap().iter().filter_map(|b| b["checkin_code"]["short"].as_str()).collect();
    assert_eq!(codes.len(), 4, "each occurrence has its own check-in code: {}", r.text);
    assert_eq!(r.body["skipped"][0]["when"]["start_local"], "2026-03-24T14:00:00+01:00");
    assert_eq!(r.body["skipped"][0]["reasons"], json!(["conflict"]));

    // Cancel this and the following occurrences from the fourth on, then the rest of the series.
    let fourth = r.body["bookings"][2]["id"].as_str().unwrap().to_owned();
    let c = app.post(&format!("/api/v1/bookings/{fourth}/cancel"), Some(&maker), json!({"scope": "following"})).await;
    assert_eq!(c.status, 200, "{}", c.text);
    assert_eq!(c.body.as_array().unwrap().len(), 2);
    let first = r.body["bookings"][0]["id"].as_str().unwrap().to_owned();
    let c = app.post(&format!("/api/v1/bookings/{first}/cancel"), Some(&maker), json!({"scope": "series"})).await;
    assert_eq!(c.body.as_array().unwrap().len(), 2, "{}", c.text);
    let live = app.get("/api/v1/bookings?status=confirmed", Some(&maker)).await;
    assert_eq!(live.body, json!([]));
    let single = app
        .post(
            "/api/v1/bookings",
            Some(&other),
            json!({"resource": printers, "start": "2026-04-01T10:00:00+02:00", "end": "2026-04-01T11:00:00+02:00"}),
        )
        .await;
    let c = app
        .post(
            &format!("/api/v1/bookings/{}/cancel", single.body["id"].as_str().unwrap()),
            Some(&other),
            json!({"scope": "series"}),
        )
        .await;
    assert_eq!((c.status, c.code()), (409, "not_a_series"));
}

#[tokio::test]
async fn a_series_longer_than_a_year_is_refused() {
    let (app, _, printers) = berlin_lab().await;
    let (_, maker) = app.maker("forever@example.org").await;
    let r = app
        .post("/api/v1/bookings", Some(&maker), json!({"resource": printers, "start": "2026-03-10T14:00:00+01:00", "end": "2026-03-10T15:00:00+01:00", "recurrence": "FREQ=WEEKLY"}))
        .await;
    assert_eq!((r.status, r.code()), (422, "series_too_long"), "{}", r.text);
    let r = app
        .post("/api/v1/bookings", Some(&maker), json!({"resource": printers, "start": "2026-03-10T14:00:00+01:00", "end": "2026-03-10T15:00:00+01:00", "recurrence": "FREQ=SOMETIMES"}))
        .await;
    assert_eq!((r.status, r.code()), (422, "validation_failed"));
    assert_eq!(r.body["error"]["details"]["fields"][0]["code"], "rrule_invalid");
}

#[tokio::test]
async fn a_verified_maker_books_four_nights_in_one_room() {
    let lab = lab().await;
    let rid = inn_rooms(&lab, "Standard room", 3).await;
    let (_, guest) = verified_maker(&lab, "guest@example.org").await;

    let r = lab
        .app
        .post("/api/v1/stays", Some(&guest), json!({"resource": rid, "check_in_date": "2026-09-10", "nights": 4}))
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["kind"], "stay");
    assert_eq!(r.body["when"]["start_local"], "2026-09-10T14:00:00+08:00");
    assert_eq!(r.body["when"]["end_local"], "2026-09-14T12:00:00+08:00");
    assert!(r.body["checkin_code"]["qr"].is_string(), "the guest gets the check-in code: {}", r.text);
    let first_room = r.body["unit_label"].as_str().unwrap().to_owned();

    let (_, other) = verified_maker(&lab, "guest2@example.org").await;
    let r2 = lab
        .app
        .post("/api/v1/stays", Some(&other), json!({"resource": rid, "check_in_date": "2026-09-12", "nights": 2}))
        .await;
    assert_eq!(r2.status, 201, "{}", r2.text);
    assert_ne!(r2.body["unit_label"].as_str().unwrap(), first_room, "the overlapping stay gets another room");
    // Departure day: a new guest can arrive in the first room at 14:00 after the 12:00 check-out.
    let r3 = lab
        .app
        .post("/api/v1/stays", Some(&other), json!({"resource": rid, "check_in_date": "2026-09-14", "nights": 1}))
        .await;
    assert_eq!(r3.body["unit_label"].as_str().unwrap(), first_room, "best fit: the room just freed: {}", r3.text);

    let long = lab
        .app
        .post("/api/v1/stays", Some(&guest), json!({"resource": rid, "check_in_date": "2026-09-20", "nights": 20}))
        .await;
    assert_eq!(long.body["error"]["details"]["violations"][0]["rule"], "too_many_nights", "{}", long.text);
    let not_inn = lab
        .app
        .post("/api/v1/stays", Some(&guest), json!({"resource": lab.seats, "check_in_date": "2026-09-20", "nights": 1}))
        .await;
    assert_eq!(not_inn.body["error"]["details"]["fields"][0]["code"], "not_an_inn_room", "{}", not_inn.text);
}

#[tokio::test]
async fn moving_a_booking_is_all_or_nothing() {
    let lab = lab().await;
    let (_, maker) = lab.app.maker("mover@example.org").await;
    let (_, other) = lab.app.maker("blocker@example.org").await;
    let b = lab
        .app
        .post("/api/v1/bookings", Some(&maker), json!({"unit": lab.laser_unit, "start": at(10, 0), "end": at(11, 0)}))
        .await;
    let id = b.body["id"].as_str().unwrap().to_owned();
    lab.app
        .post("/api/v1/bookings", Some(&other), json!({"unit": lab.laser_unit, "start": at(13, 0), "end": at(14, 0)}))
        .await;

    // Overlapping its own old time is fine; the other booking is not.
    let ok = lab
        .app
        .post(&format!("/api/v1/bookings/{id}/move"), Some(&maker), json!({"start": at(10, 30), "end": at(11, 30)}))
        .await;
    assert_eq!(ok.status, 200, "{}", ok.text);
    assert_eq!(ok.body["when"]["start_local"], "2026-09-07T10:30:00+08:00");
    assert_eq!(ok.body["checkin_code"], b.body["checkin_code"], "a move keeps the maker's check-in code");
    assert!(ok.body["checkin_code"]["qr"].is_string(), "{}", ok.text);
    let clash = lab
        .app
        .post(&format!("/api/v1/bookings/{id}/move"), Some(&maker), json!({"start": at(12, 30), "end": at(13, 30)}))
        .await;
    assert_eq!((clash.status, clash.code()), (409, "conflict"), "{}", clash.text);
    let after = lab.app.get(&format!("/api/v1/bookings/{id}"), Some(&maker)).await;
    assert_eq!(after.body["when"]["start_local"], "2026-09-07T10:30:00+08:00", "the original is untouched");
    let bad = lab
        .app
        .post(&format!("/api/v1/bookings/{id}/move"), Some(&maker), json!({"start": at(21, 30), "end": at(22, 30)}))
        .await;
    assert_eq!(bad.body["error"]["details"]["violations"][0]["rule"], "outside_opening_hours", "{}", bad.text);
    let space = lab.app.get(&format!("/api/v1/spaces/{}", lab.slug), None).await;
    let seats =
        space.body["resources"].as_array().unwrap().iter().find(|r| r["kind"] == "broadband_seat").unwrap().clone();
    let seat = seats["units"][0]["id"].as_str().unwrap().to_owned();
    // An operator may move it too; the maker is told, and the operator sees no check-in code.
    let by_op = lab
        .app
        .post(&format!("/api/v1/bookings/{id}/move"), Some(&lab.op), json!({"start": at(15, 0), "end": at(16, 0)}))
        .await;
    assert_eq!((by_op.status, &by_op.body["checkin_code"]), (200, &Value::Null), "{}", by_op.text);
    let told = lab.app.get("/api/v1/notifications", Some(&maker)).await;
    assert_eq!(
        (told.body[0]["kind"].as_str(), told.body[0]["payload"]["when"]["start_local"].as_str()),
        (Some("booking_moved"), Some("2026-09-07T15:00:00+08:00")),
        "{}",
        told.text
    );
    let wrong = lab.app.post(&format!("/api/v1/bookings/{id}/move"), Some(&maker), json!({"unit": seat})).await;
    assert_eq!(
        wrong.body["error"]["details"]["fields"][0]["code"], "unknown_unit",
        "another resource's unit: {}",
        wrong.text
    );
}

#[tokio::test]
async fn moving_a_booking_away_gives_its_old_time_to_the_waiting_maker() {
    let lab = lab().await;
    let (_, holder) = lab.app.maker("mover-holder@example.org").await;
    let (_, waiter) = lab.app.maker("mover-waiter@example.org").await;
    let b = lab.book(&holder, &lab.laser, (10, 0), (11, 0)).await;
    let w = lab
        .app
        .post("/api/v1/waitlist", Some(&waiter), json!({"resource": lab.laser, "start": at(10, 0), "end": at(11, 0)}))
        .await;
    assert_eq!(w.status, 201, "{}", w.text);
    let id = b.body["id"].as_str().unwrap();
    let m = lab
        .app
        .post(&format!("/api/v1/bookings/{id}/move"), Some(&holder), json!({"start": at(13, 0), "end": at(14, 0)}))
        .await;
    assert_eq!(m.status, 200, "{}", m.text);
    let mine = lab.app.get("/api/v1/bookings", Some(&waiter)).await;
    assert_eq!(mine.body.as_array().map(Vec::len), Some(1), "{}", mine.text);
    assert_eq!(
        (mine.body[0]["status"].as_str(), mine.body[0]["when"]["start_local"].as_str()),
        (Some("confirmed"), Some("2026-09-07T10:00:00+08:00"))
    );
    assert_eq!(lab.app.get("/api/v1/notifications", Some(&waiter)).await.body[0]["kind"], "waitlist_booked");
}

#[tokio::test]
async fn a_waiting_maker_gets_the_unit_when_it_frees_up_and_is_told() {
    let lab = lab().await;
    let (_, holder) = lab.app.maker("holder@example.org").await;
    let (_, waiter) = lab.app.maker("waiter@example.org").await;
    let (_, later) = lab.app.maker("later@example.org").await;
    let b = lab
        .app
        .post("/api/v1/bookings", Some(&holder), json!({"resource": lab.laser, "start": at(10, 0), "end": at(11, 0)}))
        .await;
    let taken = lab
        .app
        .post("/api/v1/bookings", Some(&waiter), json!({"resource": lab.laser, "start": at(10, 0), "end": at(11, 0)}))
        .await;
    assert_eq!(taken.status, 409);
    // First come, first served.
    for t in [&waiter, &later] {
        let w = lab
            .app
            .post("/api/v1/waitlist", Some(t), json!({"resource": lab.laser, "start": at(10, 0), "end": at(11, 0)}))
            .await;
        assert_eq!((w.status, w.body["status"].as_str()), (201, Some("waiting")), "{}", w.text);
    }
    let c = lab
        .app
        .post(&format!("/api/v1/bookings/{}/cancel", b.body["id"].as_str().unwrap()), Some(&holder), json!({}))
        .await;
    assert_eq!(c.status, 200, "{}", c.text);

    let mine = lab.app.get("/api/v1/bookings", Some(&waiter)).await;
    assert_eq!(mine.body.as_array().unwrap().len(), 1, "the first waiting maker got it: {}", mine.text);
    assert_eq!(mine.body[0]["status"], "confirmed");
    let wl = lab.app.get("/api/v1/waitlist", Some(&waiter)).await;
    assert_eq!(wl.body[0]["status"], "fulfilled");
    assert_eq!(wl.body[0]["booking_id"], mine.body[0]["id"]);
    let n = lab.app.get("/api/v1/notifications", Some(&waiter)).await;
    assert_eq!(n.body[0]["kind"], "waitlist_booked", "{}", n.text);
    assert_eq!(n.body[0]["payload"]["unit"], "LC-1");
    let still = lab.app.get("/api/v1/waitlist", Some(&later)).await;
    assert_eq!(still.body[0]["status"], "waiting");
    let id = still.body[0]["id"].as_str().unwrap();
    assert_eq!(lab.app.delete(&format!("/api/v1/waitlist/{id}"), Some(&later)).await.status, 204);
    assert_eq!(lab.app.get("/api/v1/waitlist", Some(&later)).await.body[0]["status"], "cancelled");
}

#[tokio::test]
async fn a_space_can_limit_a_maker_to_one_seat_at_a_time_whichever_zone() {
    let lab = lab().await;
    let zone_b = seat_zone_b(&lab).await;
    let bad = kind_quotas(&lab, json!({"broadband_seat": {"max_active_bookings": 0}})).await;
    assert_eq!(
        bad.body["error"]["details"]["fields"][0]["field"], "kind_quotas.broadband_seat.max_active_bookings",
        "{}",
        bad.text
    );
    let ok = kind_quotas(&lab, json!({"broadband_seat": {"max_active_bookings": 1}})).await;
    assert_eq!(ok.body["kind_quotas"]["broadband_seat"]["max_active_bookings"], 1, "{}", ok.text);

    let (_, maker) = lab.app.maker("one-seat@example.org").await;
    lab.book(&maker, &lab.seats, (9, 0), (10, 0)).await;
    let r = lab
        .app
        .post("/api/v1/bookings", Some(&maker), json!({"resource": zone_b, "start": at(11, 0), "end": at(12, 0)}))
        .await;
    assert_eq!(
        r.body["error"]["details"]["violations"][0]["rule"], "quota_active_exceeded",
        "another zone counts too: {}",
        r.text
    );
    // Other kinds are not limited by it.
    lab.book(&maker, &lab.laser, (11, 0), (12, 0)).await;

    // Moving the one seat is not a second seat.
    let seat = lab.app.get("/api/v1/bookings?status=confirmed", Some(&maker)).await;
    let seat = seat.body.as_array().unwrap().iter().find(|b| b["resource_id"] == lab.seats.as_str()).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let moved = lab
        .app
        .post(&format!("/api/v1/bookings/{seat}/move"), Some(&maker), json!({"start": at(14, 0), "end": at(15, 0)}))
        .await;
    assert_eq!(moved.status, 200, "{}", moved.text);

    // A series counts its own occurrences against the space's limit: only the first fits.
    let (_, weekly) = lab.app.maker("weekly-seat@example.org").await;
    let series = json!({"resource": zone_b, "start": at(9, 0), "end": at(10, 0), "recurrence": "FREQ=DAILY;COUNT=3"});
    let r = lab.app.post("/api/v1/bookings", Some(&weekly), series.clone()).await;
    assert_eq!((r.status, r.code()), (422, "policy_violation"), "{}", r.text);
    let broken = r.body["error"]["details"]["occurrences"].as_array().unwrap();
    assert_eq!(broken.len(), 2, "{}", r.text);
    assert!(broken.iter().all(|o| o["violations"][0]["rule"] == "quota_active_exceeded"), "{}", r.text);
    let mut skip = series;
    skip["on_conflict"] = json!("skip");
    let r = lab.app.post("/api/v1/bookings", Some(&weekly), skip).await;
    assert_eq!((r.status, r.body["bookings"].as_array().map(Vec::len)), (201, Some(1)), "{}", r.text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_series_on_the_same_units_never_fail_with_a_500() {
    let lab = lab().await;
    let mut tokens = Vec::new();
    for i in 0..16 {
        tokens.push(lab.app.maker(&format!("series{i}@example.org")).await.1);
    }
    let tasks: Vec<_> = tokens
        .into_iter()
        .enumerate()
        .map(|(i, t)| {
            let client = lab.app.client.clone();
            let url = lab.app.url("/api/v1/bookings");
            // Overlapping daily series on the 10 seats, starting at different hours so that
            // transactions collide in different orders.
            let h = 9 + u32::try_from(i % 4).unwrap();
            let body = json!({"resource": lab.seats, "start": at(h, 0), "end": at(h + 2, 0),
                              "recurrence": "FREQ=DAILY;COUNT=5", "on_conflict": if i % 2 == 0 { "reject" } else { "skip" }});
            tokio::spawn(async move { client.post(url).bearer_auth(t).json(&body).send().await.unwrap().status().as_u16() })
        })
        .collect();
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap());
    }
    assert!(statuses.iter().all(|s| *s == 201 || *s == 409), "{statuses:?}");
    // And the invariant held: no seat is double-booked.
    let day = lab.app.get(&format!("/api/v1/spaces/{}/bookings?date=2026-09-09", lab.slug), Some(&lab.op)).await;
    let mut by_unit: std::collections::HashMap<String, Vec<(String, String)>> = std::collections::HashMap::new();
    for b in day.body.as_array().unwrap().iter().filter(|b| b["status"] == "confirmed") {
        by_unit
            .entry(b["unit_id"].as_str().unwrap().to_owned())
            .or_default()
            .push((b["when"]["start"].as_str().unwrap().to_owned(), b["when"]["end"].as_str().unwrap().to_owned()));
    }
    for (_, mut spans) in by_unit {
        spans.sort();
        for w in spans.windows(2) {
            assert!(w[0].1 <= w[1].0, "overlap {w:?}");
        }
    }
}

#[tokio::test]
async fn a_node_that_cached_a_resource_sees_another_nodes_catalog_change_once_told() {
    let lab = lab().await;
    let (_, maker) = lab.app.maker("lin@example.org").await;
    // Node A books (and caches the laser cutter's catalog rows).
    lab.book(&maker, &lab.laser, (9, 0), (10, 0)).await;
    // Node B, on the same database, closes the space for the afternoon.
    let b = crate::helpers::spawn_with_clock(
        crate::helpers::FreshDb::existing(&lab.app.fresh.url),
        |s| s,
        labinn::clock::Clock::fixed(NOW),
    )
    .await;
    let seen = crate::helpers::cache_generation(&lab.app.db);
    let c = b
        .post(
            &format!("/api/v1/spaces/{}/closures", lab.slug),
            Some(&lab.op),
            json!({"reason": "停电 power cut", "start": at(13, 0), "end": at(18, 0)}),
        )
        .await;
    assert_eq!(c.status, 201, "{}", c.text);
    // Node A's next booking in the afternoon is refused once the database's notification of
    // the change has reached it (PostgreSQL; SQLite has one node): its session carried the
    // catalog's stamp, and the cached resource is stale by it.
    crate::helpers::notified_since(&lab.app.db, seen).await;
    let r = lab
        .app
        .post("/api/v1/bookings", Some(&maker), json!({"resource": lab.laser, "start": at(14, 0), "end": at(15, 0)}))
        .await;
    assert_eq!((r.status, r.code()), (422, "policy_violation"), "{}", r.text);
    assert!(r.text.contains("in_closure"), "{}", r.text);
    // And a policy change on node B (shorter bookings) holds on node A too.
    let seen = crate::helpers::cache_generation(&lab.app.db);
    let p = b
        .patch_json(&format!("/api/v1/resources/{}", lab.laser), &lab.op, json!({"policy": {"max_minutes": 30}}))
        .await;
    assert_eq!(p.status, 200, "{}", p.text);
    crate::helpers::notified_since(&lab.app.db, seen).await;
    let r = lab
        .app
        .post("/api/v1/bookings", Some(&maker), json!({"resource": lab.laser, "start": at(11, 0), "end": at(12, 0)}))
        .await;
    assert!(r.status == 422 && r.text.contains("too_long"), "{}", r.text);
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
            app.post(
                "/api/v1/bookings",
                Some(&token),
                json!({"resource": resource, "start": at(from.0, from.1), "end": at(to.0, to.1)}),
            )
            .await
        }
    };
    let rules = |r: &crate::helpers::Reply| -> Vec<String> {
        r.body["error"]["details"]["violations"]
            .as_array()
            .map(|v| v.iter().map(|x| x["rule"].as_str().unwrap_or_default().to_owned()).collect())
            .unwrap_or_default()
    };

    // On the resource: 1.5 h held, 1 h more would make 2.5 h of the 2 allowed; 0.5 h fits.
    let (_, maker) = lab.app.maker("hours@example.org").await;
    let r = book(maker.clone(), lab.seats.clone(), (9, 0), (10, 30)).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let r = book(maker.clone(), lab.seats.clone(), (11, 0), (12, 0)).await;
    assert_eq!((r.status, rules(&r)), (422, vec!["quota_hours_exceeded".to_owned()]), "{}", r.text);
    assert!(r.text.contains("1.5 already booked"), "{}", r.text);
    let r = book(maker.clone(), lab.seats.clone(), (11, 0), (11, 30)).await;
    assert_eq!(r.status, 201, "exactly at the limit is allowed: {}", r.text);

    // Across the kind: the space allows 3 h a week of seats, whichever zone.
    let zone_b = seat_zone_b(&lab).await;
    let q = kind_quotas(&lab, json!({"broadband_seat": {"hours_per_week": 3}})).await;
    assert_eq!(q.status, 200, "{}", q.text);
    let (_, other) = lab.app.maker("kind-hours@example.org").await;
    let r = book(other.clone(), zone_b.clone(), (9, 0), (11, 0)).await;
    assert_eq!(r.status, 201, "{}", r.text);
    // 2 h in zone B plus 1.5 h here: within this resource's 2 h, over the kind's 3 h.
    let r = book(other.clone(), lab.seats.clone(), (13, 0), (14, 30)).await;
    assert_eq!((r.status, rules(&r)), (422, vec!["quota_hours_exceeded".to_owned()]), "{}", r.text);
    assert!(r.text.contains("of this kind"), "{}", r.text);
    let r = book(other, lab.seats.clone(), (13, 0), (14, 0)).await;
    assert_eq!(r.status, 201, "3 h in all is allowed: {}", r.text);
}

/// Many makers' reads at one moment share one statement on PostgreSQL; the answers must be
/// each maker's own, and equal to what a read in a statement of its own gives (the path a
/// group takes when its statement fails). On SQLite both are the same inline read.
#[tokio::test]
async fn reads_asked_together_give_each_maker_their_own_facts_and_session() {
    use labinn::domain::interval::Interval;
    use labinn::store::bookings::ResourceRef;
    let lab = lab().await;
    laser_safety(&lab).await;
    let q = kind_quotas(&lab, json!({"broadband_seat": {"hours_per_week": 30}})).await;
    assert_eq!(q.status, 200, "{}", q.text);
    // Maker k holds k one-hour seat bookings, and makers 2, 4 and 6 hold the training.
    let mut makers = Vec::new();
    for k in 0..8u32 {
        let email = format!("together{k}@example.org");
        let (id, token) = lab.app.maker(&email).await;
        for h in 0..k {
            let r = lab
                .app
                .post(
                    "/api/v1/bookings",
                    Some(&token),
                    json!({"resource": lab.seats, "start": at(9 + h, 0), "end": at(10 + h, 0)}),
                )
                .await;
            assert_eq!(r.status, 201, "{}", r.text);
        }
        if k % 2 == 0 && k > 0 {
            let g = lab.app.post("/api/v1/trainings/laser-safety/grants", Some(&lab.op), json!({"email": email})).await;
            assert_eq!(g.status, 201, "{}", g.text);
        }
        makers.push((id, token));
    }
    let r = lab
        .app
        .post(
            "/api/v1/bookings",
            Some(&makers[3].1),
            json!({"unit": lab.laser_unit, "start": at(10, 0), "end": at(11, 0)}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let space = lab.app.db.space(&lab.slug).await.unwrap().id;
    let week = Interval::new(NOW - 86_400_000, NOW + 6 * 86_400_000).unwrap();
    let day = Interval::new(NOW, NOW + 86_400_000).unwrap();

    for switches in 0..4u8 {
        for blocks in [false, true] {
            let mut asked = Vec::new();
            for (id, _) in &makers {
                let (db, id, space, seats, unit) = (
                    lab.app.db.clone(),
                    labinn::domain::ids::AccountId::new(id),
                    space.clone(),
                    labinn::domain::ids::ResourceId::new(&lab.seats),
                    labinn::domain::ids::UnitId::new(&lab.laser_unit),
                );
                asked.push(tokio::spawn(async move {
                    let r = ResourceRef {
                        id: &seats,
                        space_id: &space,
                        kind: "broadband_seat",
                        kind_quota: switches & 2 != 0,
                        quota: switches & 1 != 0,
                        blocks_of: blocks.then_some((&unit, day)),
                    };
                    let together = db.maker_facts(&id, &r, week, NOW).await.unwrap();
                    let alone = db.maker_facts_alone(&id, &r, week, NOW).await.unwrap();
                    (together, alone)
                }));
            }
            for (k, task) in asked.into_iter().enumerate() {
                let (together, alone) = task.await.unwrap();
                let ctx = format!("maker {k}, switches {switches}, blocks {blocks}");
                assert_eq!(together, alone, "{ctx}");
                let k = k as i64;
                assert_eq!(together.trainings.len(), usize::from(k % 2 == 0 && k > 0), "{ctx}");
                if switches & 1 != 0 {
                    assert_eq!((together.week_minutes, together.active_bookings), (60 * k, k), "{ctx}");
                }
                if switches & 2 != 0 {
                    assert_eq!((together.kind_week_minutes, together.kind_active_bookings), (60 * k, k), "{ctx}");
                }
                // The laser's one booking (10:00-11:00 and its 15-minute buffer), whoever asks.
                assert_eq!(together.unit_blocks.len(), usize::from(blocks), "{ctx}");
            }
        }
    }

    let mut asked = Vec::new();
    for (_, token) in makers.iter().map(|(i, t)| (i, t.clone())).chain([(&String::new(), "no-such-token".to_owned())]) {
        let db = lab.app.db.clone();
        asked.push(tokio::spawn(async move {
            let hash = labinn::auth::token_hash(&token);
            (db.login_for_token(&hash, NOW).await.unwrap(), db.login_for_token_alone(&hash, NOW).await.unwrap())
        }));
    }
    for (k, task) in asked.into_iter().enumerate() {
        let (together, alone) = task.await.unwrap();
        assert_eq!(together, alone, "session {k}");
        match makers.get(k) {
            Some((id, _)) => {
                assert_eq!(together.map(|s| s.0.id.into_string()).as_deref(), Some(id.as_str()), "session {k}")
            }
            None => assert!(together.is_none(), "an unknown token has no session"),
        }
    }
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
    let r = lab
        .app
        .post(
            "/api/v1/bookings",
            Some(&maker),
            json!({"resource": lab.seats, "start": "2026-09-14T09:00:00+08:00", "end": "2026-09-14T11:00:00+08:00"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let series = json!({"resource": lab.seats, "start": at(13, 0), "end": at(14, 0),
                        "recurrence": "FREQ=WEEKLY;COUNT=4", "on_conflict": "skip"});
    let r = lab.app.post("/api/v1/bookings", Some(&maker), series).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let booked: Vec<&str> =
        r.body["bookings"].as_array().unwrap().iter().map(|b| b["when"]["start_local"].as_str().unwrap()).collect();
    assert_eq!(
        booked,
        ["2026-09-07T13:00:00+08:00", "2026-09-21T13:00:00+08:00", "2026-09-28T13:00:00+08:00"],
        "{}",
        r.text
    );
    assert_eq!(r.body["skipped"][0]["when"]["start_local"], "2026-09-14T13:00:00+08:00");
    assert_eq!(r.body["skipped"][0]["reasons"], json!(["quota_hours_exceeded"]));
}

/// A reviewer reads every booking but changes none, and is told so; another maker is not
/// told the booking exists.
#[tokio::test]
async fn a_reviewer_reads_a_booking_but_may_not_cancel_or_move_it() {
    let lab = lab().await;
    let (_, maker) = lab.app.maker("reviewed@example.org").await;
    let b = lab.book(&maker, &lab.seats, (9, 0), (10, 0)).await;
    let id = b.body["id"].as_str().unwrap();
    let admin = lab.app.admin().await;
    let (rid, reviewer) = lab.app.maker("district@example.org").await;
    let g =
        lab.app.post(&format!("/api/v1/admin/accounts/{rid}/roles"), Some(&admin), json!({"role": "reviewer"})).await;
    assert_eq!(g.status, 200, "{}", g.text);
    let (_, stranger) = lab.app.maker("stranger@example.org").await;

    let seen = lab.app.get(&format!("/api/v1/bookings/{id}"), Some(&reviewer)).await;
    assert_eq!((seen.status, &seen.body["checkin_code"]), (200, &Value::Null), "{}", seen.text);
    let cancel = json!({"reason": "audit"});
    let c = lab.app.post(&format!("/api/v1/bookings/{id}/cancel"), Some(&reviewer), cancel.clone()).await;
    assert_eq!((c.status, c.code()), (403, "forbidden"), "{}", c.text);
    let m = lab
        .app
        .post(&format!("/api/v1/bookings/{id}/move"), Some(&reviewer), json!({"start": at(11, 0), "end": at(12, 0)}))
        .await;
    assert_eq!((m.status, m.code()), (403, "forbidden"), "{}", m.text);
    let c = lab.app.post(&format!("/api/v1/bookings/{id}/cancel"), Some(&stranger), cancel).await;
    assert_eq!((c.status, c.code()), (404, "not_found"), "{}", c.text);
    let still = lab.app.get(&format!("/api/v1/bookings/{id}"), Some(&maker)).await;
    assert_eq!(
        (still.body["status"].as_str(), still.body["when"]["start_local"].as_str()),
        (Some("confirmed"), Some("2026-09-07T09:00:00+08:00"))
    );
}
