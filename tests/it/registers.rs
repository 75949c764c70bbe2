//! The registers an operator keeps for the evidence: the area plan, residents, events and
//! documents. Every change is a ledger entry; nothing is deleted.

use crate::helpers::{TestApp, operated_space, spawn_app_at};
use serde_json::{Value, json};
use sha2::Digest;

const NOW: i64 = 1_788_739_200_000; // Monday 2026-09-07 08:00 in Shanghai

async fn ledger_count(app: &TestApp, token: &str) -> i64 {
    app.get("/api/v1/ledger/head", Some(token)).await.body["count"].as_i64().unwrap()
}

async fn created(app: &TestApp, path: &str, token: &str, body: Value) -> Value {
    let r = app.post(path, Some(token), body).await;
    assert_eq!(r.status, 201, "{path}: {}", r.text);
    r.body
}

#[tokio::test]
async fn an_operator_keeps_the_registers_and_every_change_is_in_the_ledger() {
    let app = spawn_app_at(NOW).await;
    let (op, slug) = operated_space(&app, "fab", "Asia/Shanghai").await;
    let (_, maker) = app.maker("lin@example.org").await;
    let admin = app.admin().await;
    let team = app.post("/api/v1/organisations", Some(&maker), json!({"name": "Robots", "kind": "startup"})).await;
    let org = team.body["id"].as_str().unwrap().to_owned();
    let before = ledger_count(&app, &admin).await;

    let floor = created(
        &app,
        &format!("/api/v1/spaces/{slug}/area-plan"),
        &op,
        json!({"name": "Workshop floor", "area_m2": 600.0, "use_class": "maker_work"}),
    )
    .await;
    created(
        &app,
        &format!("/api/v1/spaces/{slug}/area-plan"),
        &op,
        json!({"name": "Office", "area_m2": 100.0, "use_class": "operator_office"}),
    )
    .await;
    let bad = app
        .post(
            &format!("/api/v1/spaces/{slug}/area-plan"),
            Some(&op),
            json!({"name": " ", "area_m2": -3.0, "use_class": "garden"}),
        )
        .await;
    assert_eq!(bad.status, 422);
    let fields: Vec<&str> = bad.body["error"]["details"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["name", "area_m2", "use_class"], "every bad field at once");

    let r = created(
        &app,
        &format!("/api/v1/spaces/{slug}/residents"),
        &op,
        json!({
        "organisation": org, "agreement_ref": "RZ-2026-01", "starts_on": "2026-06-01", "desks": 4,
        "area_m2": 40.0, "founder": "林工", "product": "教育机器人"}),
    )
    .await;
    let rid = r["id"].as_str().unwrap().to_owned();
    assert_eq!(r["ends_on"], Value::Null);
    // Backdating the start is allowed, and is its own ledger entry.
    let changed = app
        .put(
            &format!("/api/v1/residents/{rid}"),
            Some(&op),
            json!({
        "agreement_ref": "RZ-2026-01", "starts_on": "2026-03-01", "ends_on": "2026-08-31", "desks": 4,
        "area_m2": 40.0, "founder": "林工", "product": "教育机器人"}),
        )
        .await;
    assert_eq!(changed.status, 200, "{}", changed.text);
    assert_eq!(changed.body["starts_on"], "2026-03-01");
    let reversed = app.put(&format!("/api/v1/residents/{rid}"), Some(&op), json!({
        "agreement_ref": "RZ-2026-01", "starts_on": "2026-03-01", "ends_on": "2026-02-01", "founder": "x", "product": "y"})).await;
    assert_eq!(reversed.body["error"]["details"]["fields"][0]["code"], "before_start", "{}", reversed.text);

    // An event in a booked hall.
    let hall = app
        .post(
            &format!("/api/v1/spaces/{slug}/resources"),
            Some(&op),
            json!({"kind": "lab_facility", "name_zh": "活动厅", "name_en": "Event hall", "units": {"labels": ["H"]}}),
        )
        .await;
    crate::helpers::open_daily(&app, &op, &slug, "08:00", 840).await;
    let booking = app.book(&op, json!({"resource": hall.body["id"], "start": "2026-09-08T14:00:00+08:00", "end": "2026-09-08T17:00:00+08:00"})).await;
    let ev = created(
        &app,
        &format!("/api/v1/spaces/{slug}/events"),
        &op,
        json!({"kind": "roadshow", "role": "host", "topic": "项目路演", "booking": booking.id}),
    )
    .await;
    assert_eq!(ev["start"], "2026-09-08T06:00:00Z");
    let eid = ev["id"].as_str().unwrap();
    let att =
        app.put(&format!("/api/v1/events/{eid}/attendance"), Some(&op), json!({"count": 42, "attested": true})).await;
    assert_eq!((att.body["attendance_entered"].as_i64(), att.body["attested"].as_bool()), (Some(42), Some(true)));

    // A document, stored by its SHA-256, downloaded byte for byte with its Chinese name.
    let pdf = b"%PDF-1.4 lease of the workshop".to_vec();
    use base64::Engine;
    let doc = created(
        &app,
        &format!("/api/v1/spaces/{slug}/documents"),
        &op,
        json!({
        "kind": "lease", "title": "厂房租赁合同", "file_name": "租赁合同.pdf", "content_type": "application/pdf",
        "content_base64": base64::engine::general_purpose::STANDARD.encode(&pdf), "residency": rid}),
    )
    .await;
    let sha = labinn::domain::hex(&sha2::Sha256::digest(&pdf));
    assert_eq!(doc["sha256"], sha);
    let got = app
        .client
        .get(app.url(&format!("/api/v1/documents/{}/content", doc["id"].as_str().unwrap())))
        .bearer_auth(&op)
        .send()
        .await
        .unwrap();
    assert_eq!(got.status(), 200);
    assert!(got.headers()["content-disposition"].to_str().unwrap().contains("UTF-8''%E7%A7%9F"), "{:?}", got.headers());
    assert_eq!(got.bytes().await.unwrap().to_vec(), pdf);

    // Ending and withdrawing keep the rows.
    let end = app.post(&format!("/api/v1/area-plan/{}/end", floor["id"].as_str().unwrap()), Some(&op), json!({})).await;
    assert_eq!(end.status, 200, "{}", end.text);
    let again =
        app.post(&format!("/api/v1/area-plan/{}/end", floor["id"].as_str().unwrap()), Some(&op), json!({})).await;
    assert_eq!((again.status, again.code()), (409, "already_ended"));
    let plan = app.get(&format!("/api/v1/spaces/{slug}/area-plan"), Some(&op)).await;
    assert_eq!(plan.body.as_array().unwrap().len(), 2);

    // Area parts 2 + end 1, residency 1 + change 1, event 1 + attendance 1, document 1.
    assert_eq!(ledger_count(&app, &admin).await - before, 8);

    // Makers cannot read the registers; another space's operator cannot write them.
    let r = app.get(&format!("/api/v1/spaces/{slug}/residents"), Some(&maker)).await;
    assert_eq!(r.status, 403);
    let (other, _) = operated_space(&app, "other", "Asia/Shanghai").await;
    let r = app
        .put(
            &format!("/api/v1/residents/{rid}"),
            Some(&other),
            json!({
        "agreement_ref": "X", "starts_on": "2020-01-01", "founder": "x", "product": "y"}),
        )
        .await;
    assert_eq!(r.status, 403, "{}", r.text);
}
