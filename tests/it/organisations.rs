//! Teams and start-ups: created by makers, membership managed by owners, history kept.

use crate::helpers::spawn_app;
use serde_json::json;

#[tokio::test]
async fn a_maker_founds_a_team_and_adds_a_member_who_later_leaves() {
    let app = spawn_app().await;
    let (_, owner) = app.maker("founder@example.org").await;
    let (member_id, member) = app.maker("member@example.org").await;

    let r =
        app.post("/api/v1/organisations", Some(&owner), json!({"name": "Open Hardware Team", "kind": "team"})).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let org_id = r.body["id"].as_str().unwrap().to_owned();
    assert!(r.body["slug"].as_str().unwrap().starts_with("open-hardware-team-"), "{}", r.body["slug"]);

    let r = app
        .put(&format!("/api/v1/organisations/{org_id}/members"), Some(&owner), json!({"email": "member@example.org"}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["members"].as_array().unwrap().len(), 2);

    let me = app.get("/api/v1/me", Some(&member)).await;
    assert_eq!(me.body["organisations"][0]["id"], org_id.as_str());
    assert_eq!(me.body["organisations"][0]["my_role"], "member");

    // A member cannot add people; they can leave.
    let r = app
        .put(
            &format!("/api/v1/organisations/{org_id}/members"),
            Some(&member),
            json!({"email": "founder@example.org", "role": "member"}),
        )
        .await;
    assert_eq!((r.status, r.code()), (403, "forbidden"));
    let r = app.delete(&format!("/api/v1/organisations/{org_id}/members/{member_id}"), Some(&member)).await;
    assert_eq!(r.status, 204, "{}", r.text);
    let mine = app.get("/api/v1/organisations", Some(&member)).await;
    assert_eq!(mine.body, json!([]));

    // The membership row is ended, not deleted: residency is evidence.
    let kept: i64 = labinn::on_read!(&app.db, |p| sqlx::query_scalar(
        "SELECT COUNT(*) FROM memberships WHERE account_id = $1 AND left_at IS NOT NULL"
    )
    .bind(&member_id)
    .fetch_one(p)
    .await
    .unwrap());
    assert_eq!(kept, 1);
}

#[tokio::test]
async fn outsiders_do_not_see_an_organisation() {
    let app = spawn_app().await;
    let (_, owner) = app.maker("a@example.org").await;
    let (_, outsider) = app.maker("b@example.org").await;
    let r = app
        .post(
            "/api/v1/organisations",
            Some(&owner),
            json!({"name": "Secret Start-up", "kind": "startup", "slug": "secret"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let r = app.get("/api/v1/organisations/secret", Some(&outsider)).await;
    assert_eq!((r.status, r.code()), (404, "not_found"));
    let r = app.get("/api/v1/organisations/secret", Some(&owner)).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["members"][0]["role"], "owner");
}

#[tokio::test]
async fn a_taken_slug_and_an_operator_kind_are_refused_to_makers() {
    let app = spawn_app().await;
    let (_, t) = app.maker("c@example.org").await;
    let ok = app.post("/api/v1/organisations", Some(&t), json!({"name": "One", "kind": "team", "slug": "same"})).await;
    assert_eq!(ok.status, 201);
    let dup = app.post("/api/v1/organisations", Some(&t), json!({"name": "Two", "kind": "team", "slug": "same"})).await;
    assert_eq!((dup.status, dup.code()), (409, "slug_taken"));
    let op = app.post("/api/v1/organisations", Some(&t), json!({"name": "Ops", "kind": "operator"})).await;
    assert_eq!((op.status, op.code()), (422, "validation_failed"));
    let bad = app.post("/api/v1/organisations", Some(&t), json!({"name": "Ops", "kind": "guild"})).await;
    assert_eq!((bad.status, bad.code()), (422, "invalid_body"));
}
