//! Health, readiness, version and the generated OpenAPI document.

use crate::helpers::spawn_app;

#[tokio::test]
async fn healthz_says_the_process_is_up() {
    let app = spawn_app().await;
    let r = app.get("/healthz", None).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["status"], "ok");
}

#[tokio::test]
async fn readyz_confirms_the_database_answers_and_the_schema_is_current() {
    let app = spawn_app().await;
    let r = app.get("/readyz", None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["status"], "ready");
    assert_eq!(r.body["schema_version"].as_i64(), Some(app.db.expected_schema_version()));
    assert_eq!(r.body["backend"], if app.fresh.is_postgres() { "postgres" } else { "sqlite" });
}

#[tokio::test]
async fn readyz_is_a_503_problem_when_the_database_is_gone() {
    let app = spawn_app().await;
    app.db.close().await;
    let r = app.get("/readyz", None).await;
    assert_eq!(r.status, 503, "{}", r.text);
    assert_eq!(r.code(), "not_ready");
}

#[tokio::test]
async fn version_names_the_build_and_the_api() {
    let app = spawn_app().await;
    let r = app.get("/api/v1/version", None).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["name"], "labinn");
    assert_eq!(r.body["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(r.body["api"], "v1");
}

#[tokio::test]
async fn the_openapi_document_is_3_1_and_lists_every_route() {
    let app = spawn_app().await;
    let r = app.get("/api/v1/openapi.json", None).await;
    assert_eq!(r.status, 200);
    assert!(r.body["openapi"].as_str().unwrap().starts_with("3.1"), "{}", r.body["openapi"]);
    let paths = r.body["paths"].as_object().expect("paths");
    for p in [
        "/healthz",
        "/readyz",
        "/api/v1/version",
        "/api/v1/openapi.json",
        "/api/v1/auth/register",
        "/api/v1/auth/login",
        "/api/v1/auth/logout",
        "/api/v1/me",
        "/api/v1/organisations",
        "/api/v1/organisations/{id}",
        "/api/v1/organisations/{id}/members",
        "/api/v1/admin/accounts",
        "/api/v1/admin/accounts/{id}/roles",
        "/api/v1/kiosk/pair",
        "/api/v1/kiosk/scan",
        "/api/v1/kiosk/decode",
        "/api/v1/bookings/{id}/qr.png",
        "/api/v1/bookings/{id}/check-in",
        "/api/v1/spaces/{slug}/kiosks",
        "/api/v1/spaces/{slug}/sessions",
        "/api/v1/ledger/head",
    ] {
        assert!(paths.contains_key(p), "OpenAPI lacks {p}");
    }
    assert!(r.body["components"]["schemas"]["Problem"].is_object());
}

#[tokio::test]
async fn every_response_carries_a_request_id() {
    let app = spawn_app().await;
    let r = app.get("/healthz", None).await;
    assert!(r.headers.get("x-request-id").is_some_and(|v| !v.is_empty()));
}
