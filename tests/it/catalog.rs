//! Operators describe their space once: spaces, resources, units, policies, rules, closures.

use crate::helpers::{operated_space, spawn_app};
use serde_json::json;

#[tokio::test]
async fn an_operator_describes_a_seat_zone_of_forty_labelled_desks() {
    let app = spawn_app().await;
    let (op, slug) = operated_space(&app, "incubator-a", "Asia/Shanghai").await;
    let r = app
        .post(
            &format!("/api/v1/spaces/{slug}/resources"),
            Some(&op),
            json!({"kind": "broadband_seat", "name_zh": "A区工位", "name_en": "Hot desks, zone A",
                   "units": {"count": 40, "prefix": "A-"}, "policy": {"quota": {"max_active_bookings": 2}}}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let units = r.body["units"].as_array().unwrap();
    assert_eq!(units.len(), 40);
    assert_eq!((units[0]["label"].as_str(), units[39]["label"].as_str()), (Some("A-01"), Some("A-40")));
    assert_eq!(r.body["policy"]["walk_ups_allowed"], true, "seat defaults apply");
    assert_eq!(r.body["policy"]["quota"]["max_active_bookings"], 2);
    assert_eq!(r.body["policy"]["price"]["amount_minor"], 0, "broadband seats are free");

    // Anyone can read the space with its resources, policy and units.
    let space = app.get(&format!("/api/v1/spaces/{slug}"), None).await;
    assert_eq!(space.status, 200, "{}", space.text);
    assert_eq!(space.body["timezone"], "Asia/Shanghai");
    assert_eq!(space.body["resources"][0]["units"].as_array().unwrap().len(), 40);
    assert!(space.body["resources"][0]["units"][0]["id"].is_string());
}

#[tokio::test]
async fn a_space_with_many_mistakes_gets_one_answer_listing_them_all() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let r = app
        .post(
            "/api/v1/spaces",
            Some(&admin),
            json!({"slug": "Bad Slug", "name_zh": "", "name_en": "X", "kind": "maker_space", "timezone": "Mars/Base",
                   "latitude": 100.0, "longitude": 0.0, "floor_area_m2": -5.0}),
        )
        .await;
    assert_eq!((r.status, r.code()), (422, "validation_failed"), "{}", r.text);
    let mut fields: Vec<&str> =
        r.body["error"]["details"]["fields"].as_array().unwrap().iter().map(|f| f["field"].as_str().unwrap()).collect();
    fields.sort_unstable();
    assert_eq!(fields, ["floor_area_m2", "latitude", "name_zh", "slug", "timezone"]);
}

#[tokio::test]
async fn makers_cannot_create_spaces_and_operators_run_only_their_own() {
    let app = spawn_app().await;
    let (_, maker) = app.maker("m@example.org").await;
    let r = app
        .post(
            "/api/v1/spaces",
            Some(&maker),
            json!({"slug": "mine", "name_zh": "我的", "name_en": "Mine", "kind": "maker_space"}),
        )
        .await;
    assert_eq!((r.status, r.code()), (403, "forbidden"));

    let (op_a, _) = operated_space(&app, "space-a", "Asia/Shanghai").await;
    let (_, b) = operated_space(&app, "space-b", "Asia/Shanghai").await;
    let r = app.patch_json(&format!("/api/v1/spaces/{b}"), &op_a, json!({"name_en": "Taken over"})).await;
    assert_eq!((r.status, r.code()), (403, "forbidden"));

    // An operator who creates a new space runs it.
    let r = app
        .post(
            "/api/v1/spaces",
            Some(&op_a),
            json!({"slug": "space-c", "name_zh": "丙", "name_en": "C", "kind": "incubator"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let r = app.patch_json("/api/v1/spaces/space-c", &op_a, json!({"contact": "0755-12345678"})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["contact"], "0755-12345678");
    assert_eq!(r.body["name_en"], "C", "fields not named stay");
}

#[tokio::test]
async fn units_are_added_relabelled_and_retired_and_labels_stay_unique() {
    let app = spawn_app().await;
    let (op, slug) = operated_space(&app, "fab", "Asia/Shanghai").await;
    let r = app
        .post(
            &format!("/api/v1/spaces/{slug}/resources"),
            Some(&op),
            json!({"kind": "tool", "name_zh": "3D打印机", "name_en": "3D printer", "units": {"labels": ["P1", "P2"]}}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let rid = r.body["id"].as_str().unwrap().to_owned();
    let p2 = r.body["units"][1]["id"].as_str().unwrap().to_owned();

    let r = app.post(&format!("/api/v1/resources/{rid}/units"), Some(&op), json!({"labels": ["P3"]})).await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["units"].as_array().unwrap().len(), 3);
    let r = app.post(&format!("/api/v1/resources/{rid}/units"), Some(&op), json!({"labels": ["P1"]})).await;
    assert_eq!((r.status, r.code()), (409, "label_taken"));

    let r = app.patch_json(&format!("/api/v1/units/{p2}"), &op, json!({"label": "P2-new"})).await;
    assert_eq!((r.status, r.body["label"].as_str()), (200, Some("P2-new")), "{}", r.text);
    let r = app.post(&format!("/api/v1/units/{p2}/retire"), Some(&op), json!({})).await;
    assert_eq!(r.status, 204, "{}", r.text);
    let space = app.get(&format!("/api/v1/spaces/{slug}"), None).await;
    let labels: Vec<&str> =
        space.body["resources"][0]["units"].as_array().unwrap().iter().map(|u| u["label"].as_str().unwrap()).collect();
    assert_eq!(labels, ["P1", "P3"]);
}

#[tokio::test]
async fn a_policy_is_changed_field_by_field_and_a_bad_one_is_refused_whole() {
    let app = spawn_app().await;
    let (op, slug) = operated_space(&app, "lab", "Asia/Shanghai").await;
    let r = app
        .post(
            &format!("/api/v1/spaces/{slug}/resources"),
            Some(&op),
            json!({"kind": "tool", "name_zh": "激光切割机", "name_en": "Laser cutter",
                   "policy": {"buffer_after_minutes": 15, "required_trainings": ["laser-safety"], "requires_approval": true}}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let rid = r.body["id"].as_str().unwrap().to_owned();
    assert_eq!(r.body["policy"]["required_trainings"], json!(["laser-safety"]));

    let r = app.patch_json(&format!("/api/v1/resources/{rid}"), &op, json!({"policy": {"max_minutes": 120}})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["policy"]["max_minutes"], 120);
    assert_eq!(r.body["policy"]["buffer_after_minutes"], 15, "fields not named stay");

    let r = app
        .patch_json(
            &format!("/api/v1/resources/{rid}"),
            &op,
            json!({"policy": {"min_minutes": 600, "horizon_days": 0}}),
        )
        .await;
    assert_eq!((r.status, r.code()), (422, "validation_failed"));
    let fields: Vec<&str> =
        r.body["error"]["details"]["fields"].as_array().unwrap().iter().map(|f| f["field"].as_str().unwrap()).collect();
    assert!(fields.contains(&"policy.horizon_days") && fields.contains(&"policy.min_minutes"), "{fields:?}");

    // Inn rooms get inn rules and are only for verified makers.
    let r = app
        .post(&format!("/api/v1/spaces/{slug}/resources"), Some(&op), json!({"kind": "inn_room", "name_zh": "标准间", "name_en": "Standard room", "units": {"count": 12, "prefix": "R"}}))
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["policy"]["eligibility"], "verified_makers");
    assert_eq!(r.body["policy"]["inn"]["check_in_time"], "14:00");
    assert_eq!(r.body["policy"]["price"]["per"], "night");
}

#[tokio::test]
async fn an_archived_space_leaves_the_map_but_keeps_its_page() {
    let app = spawn_app().await;
    let (op, slug) = operated_space(&app, "old-factory", "Asia/Shanghai").await;
    let listed = |body: &serde_json::Value| body.as_array().unwrap().iter().any(|s| s["slug"] == "old-factory");
    assert!(listed(&app.get("/api/v1/spaces", None).await.body));
    let r = app.post(&format!("/api/v1/spaces/{slug}/archive"), Some(&op), json!({})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["archived"], true);
    assert!(!listed(&app.get("/api/v1/spaces", None).await.body));
    assert_eq!(app.get(&format!("/api/v1/spaces/{slug}"), None).await.status, 200);
    let r = app.post(&format!("/api/v1/spaces/{slug}/archive"), Some(&op), json!({"archived": false})).await;
    assert_eq!(r.body["archived"], false);
}

#[tokio::test]
async fn opening_rules_that_cannot_be_parsed_or_expand_without_bound_are_refused_with_why() {
    let app = spawn_app().await;
    let (op, slug) = operated_space(&app, "rules", "Europe/Berlin").await;
    let path = format!("/api/v1/spaces/{slug}/opening-rules");
    let r = app
        .post(
            &path,
            Some(&op),
            json!({"rrule": "FREQ=FORTNIGHTLY", "start": "2026-01-05T09:00", "duration_minutes": 540}),
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.text);
    assert_eq!(r.body["error"]["details"]["fields"][0]["code"], "rrule_invalid");
    let r = app
        .post(&path, Some(&op), json!({"rrule": "FREQ=SECONDLY", "start": "2026-01-05T09:00", "duration_minutes": 1}))
        .await;
    assert_eq!(r.body["error"]["details"]["fields"][0]["code"], "rrule_unbounded", "{}", r.text);
    let r = app
        .post(
            &path,
            Some(&op),
            json!({"rrule": "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR", "start": "2026-01-05T09:00", "duration_minutes": 540}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let rule_id = r.body["id"].as_str().unwrap().to_owned();
    let list = app.get(&path, None).await;
    assert_eq!(list.body.as_array().unwrap().len(), 1);
    assert_eq!(app.delete(&format!("{path}/{rule_id}"), Some(&op)).await.status, 204);
    assert_eq!(app.get(&path, None).await.body, json!([]));
}
