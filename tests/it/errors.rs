//! Every failure is a JSON problem with a stable code and a 4xx (a 5xx is a bug).

use crate::helpers::{Reply, spawn_app, spawn_app_with};
use serde_json::json;

fn assert_problem(r: &Reply, status: u16, code: &str) {
    assert_eq!(r.status, status, "{}", r.text);
    assert_eq!(r.code(), code, "{}", r.text);
    assert!(r.body["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "{}", r.text);
    assert!(
        r.headers.get("content-type").is_some_and(|v| v.to_str().unwrap().starts_with("application/json")),
        "{:?}",
        r.headers
    );
}

#[tokio::test]
async fn an_unknown_route_is_a_json_404() {
    let app = spawn_app().await;
    assert_problem(&app.get("/api/v1/no-such-thing", None).await, 404, "not_found");
    assert_problem(&app.get("/definitely/not/here", None).await, 404, "not_found");
}

#[tokio::test]
async fn a_wrong_method_is_a_json_405() {
    let app = spawn_app().await;
    let r = app.delete("/api/v1/auth/login", None).await;
    assert_problem(&r, 405, "method_not_allowed");
}

#[tokio::test]
async fn malformed_json_is_a_400_problem() {
    let app = spawn_app().await;
    let req = app
        .client
        .post(app.url("/api/v1/auth/register"))
        .header("content-type", "application/json")
        .body("{\"email\": ");
    assert_problem(&app.send(req).await, 400, "malformed_json");
}

#[tokio::test]
async fn an_unknown_field_is_a_422_problem_naming_it() {
    let app = spawn_app().await;
    let r = app
        .post(
            "/api/v1/auth/register",
            None,
            json!({"email": "a@b.org", "password": "correct horse battery", "display_name": "A", "is_admin": true}),
        )
        .await;
    assert_problem(&r, 422, "invalid_body");
    assert!(r.body["error"]["message"].as_str().unwrap().contains("is_admin"), "{}", r.text);
}

#[tokio::test]
async fn a_wrong_type_is_a_422_problem() {
    let app = spawn_app().await;
    let r = app.post("/api/v1/auth/login", None, json!({"email": 42, "password": "x"})).await;
    assert_problem(&r, 422, "invalid_body");
}

#[tokio::test]
async fn a_body_without_json_content_type_is_a_415_problem() {
    let app = spawn_app().await;
    let req = app.client.post(app.url("/api/v1/auth/login")).body("{}");
    assert_problem(&app.send(req).await, 415, "unsupported_media_type");
}

#[tokio::test]
async fn an_oversized_body_is_a_413_problem() {
    let app = spawn_app_with(|mut s| {
        s.max_body_bytes = Some(2048);
        s
    })
    .await;
    let big = "x".repeat(10_000);
    let r = app
        .post("/api/v1/auth/register", None, json!({"email": "a@b.org", "password": big, "display_name": "A"}))
        .await;
    assert_problem(&r, 413, "payload_too_large");
}

#[tokio::test]
async fn a_bad_path_parameter_is_a_400_problem() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let r = app.delete("/api/v1/admin/accounts/x/roles/emperor", Some(&admin)).await;
    assert_problem(&r, 400, "invalid_path");
}

#[tokio::test]
async fn a_malformed_query_is_a_400_problem() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let r = app.get("/api/v1/admin/accounts?limit=many", Some(&admin)).await;
    assert_problem(&r, 400, "invalid_query");
}

/// When the database is gone, looking something up is a server failure, never "not found":
/// a maker told that their waitlist entry or booking does not exist would believe it.
#[tokio::test]
async fn a_database_that_is_gone_is_never_answered_as_not_found() {
    let lab = crate::bookings::lab().await;
    let (maker_id, maker) = lab.app.maker("lin@example.org").await;
    let admin = lab.app.admin().await;
    let b = lab.book(&maker, &lab.laser, (10, 0), (11, 0)).await;
    lab.app.db.close().await;
    let space = format!("/api/v1/spaces/{}", lab.slug);
    let replies = [
        ("the space", lab.app.get(&space, None).await),
        ("the space page", lab.app.get(&format!("/spaces/{}", lab.slug), None).await),
        ("a booking", lab.app.get(&format!("/api/v1/bookings/{}", b.id), Some(&maker)).await),
        (
            "a waitlist entry",
            lab.app.delete("/api/v1/waitlist/01900000-0000-7000-8000-000000000000", Some(&maker)).await,
        ),
        (
            "an account's roles",
            lab.app
                .post(&format!("/api/v1/admin/accounts/{maker_id}/roles"), Some(&admin), json!({"role": "reviewer"}))
                .await,
        ),
    ];
    for (what, r) in replies {
        assert!(r.status >= 500, "{what}: {} {}", r.status, r.text);
        assert!(
            ["internal", "not_ready", "try_again"].contains(&r.code()) || r.text.contains("labinn-error"),
            "{what}: {}",
            r.text
        );
    }
}
