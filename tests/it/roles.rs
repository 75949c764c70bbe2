//! Roles: admins grant operator (for a space), reviewer and admin; others may not.

use crate::helpers::spawn_app;
use labinn::store::catalog::NewSpace;
use serde_json::json;

async fn a_space(app: &crate::helpers::TestApp, slug: &str) -> labinn::domain::ids::SpaceId {
    app.db
        .insert_space(NewSpace {
            slug,
            name_zh: "测试空间",
            name_en: "Test space",
            kind: "maker_space",
            timezone: "Asia/Shanghai",
            now: 0,
        })
        .await
        .unwrap()
}

#[tokio::test]
async fn an_admin_makes_a_maker_the_operator_of_a_space() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let space_id = a_space(&app, "factory").await;
    let (id, token) = app.maker("op@example.org").await;

    let r = app
        .post(
            &format!("/api/v1/admin/accounts/{id}/roles"),
            Some(&admin),
            json!({"role": "operator", "space": "factory"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.body.as_array().unwrap().contains(&json!({"role": "operator", "space_id": space_id})));

    let me = app.get("/api/v1/me", Some(&token)).await;
    assert!(me.body["roles"].as_array().unwrap().contains(&json!({"role": "operator", "space_id": space_id})));

    // Granting again changes nothing; revoking removes it.
    let again = app
        .post(
            &format!("/api/v1/admin/accounts/{id}/roles"),
            Some(&admin),
            json!({"role": "operator", "space": space_id}),
        )
        .await;
    assert_eq!(again.body.as_array().unwrap().len(), 2, "{}", again.text);
    let r = app.delete(&format!("/api/v1/admin/accounts/{id}/roles/operator?space=factory"), Some(&admin)).await;
    assert_eq!(r.status, 204, "{}", r.text);
    let me = app.get("/api/v1/me", Some(&token)).await;
    assert_eq!(me.body["roles"], json!([{"role": "maker"}]));
}

#[tokio::test]
async fn an_operator_grant_must_name_a_real_space_and_a_reviewer_grant_must_not() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (id, _) = app.maker("x@example.org").await;
    let path = format!("/api/v1/admin/accounts/{id}/roles");
    let r = app.post(&path, Some(&admin), json!({"role": "operator"})).await;
    assert_eq!((r.status, r.code()), (422, "validation_failed"));
    assert_eq!(r.body["error"]["details"]["fields"][0]["code"], "required");
    let r = app.post(&path, Some(&admin), json!({"role": "operator", "space": "atlantis"})).await;
    assert_eq!(r.body["error"]["details"]["fields"][0]["code"], "unknown_space");
    let r = app.post(&path, Some(&admin), json!({"role": "reviewer", "space": "atlantis"})).await;
    assert_eq!(r.body["error"]["details"]["fields"][0]["code"], "not_allowed");
    let r = app.post(&path, Some(&admin), json!({"role": "reviewer"})).await;
    assert_eq!(r.status, 200, "{}", r.text);
}

#[tokio::test]
async fn a_maker_cannot_reach_admin_endpoints() {
    let app = spawn_app().await;
    let (id, token) = app.maker("sneaky@example.org").await;
    let r = app.post(&format!("/api/v1/admin/accounts/{id}/roles"), Some(&token), json!({"role": "admin"})).await;
    assert_eq!((r.status, r.code()), (403, "forbidden"));
    let r = app.get("/api/v1/admin/accounts", Some(&token)).await;
    assert_eq!(r.status, 403);
}

#[tokio::test]
async fn an_admin_finds_accounts_by_part_of_their_address() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    app.register("alice@factory.org", "Alice").await;
    app.register("bob@lab.org", "Bob").await;
    let r = app.get("/api/v1/admin/accounts?q=factory", Some(&admin)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let emails: Vec<&str> = r.body.as_array().unwrap().iter().map(|a| a["email"].as_str().unwrap()).collect();
    assert_eq!(emails, ["alice@factory.org"]);
}

#[tokio::test]
async fn an_admin_cannot_revoke_their_own_admin_role() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let me = app.get("/api/v1/me", Some(&admin)).await;
    let id = me.body["account"]["id"].as_str().unwrap();
    let r = app.delete(&format!("/api/v1/admin/accounts/{id}/roles/admin"), Some(&admin)).await;
    assert_eq!((r.status, r.code()), (409, "last_admin_guard"));
}
