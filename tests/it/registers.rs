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

#[tokio::test]
async fn participants_register_for_an_event_and_the_kiosk_counts_each_of_them_once_from_their_event_code() {
    use crate::checkin::{at, lab_at, ms};
    let lab = lab_at(NOW).await;
    let (app, op) = (&lab.app, lab.op.as_str());
    let hall = created(
        app,
        "/api/v1/spaces/fab/resources",
        op,
        json!({"kind": "lab_facility", "name_zh": "活动厅", "name_en": "Event hall", "units": {"labels": ["H"]}}),
    )
    .await;
    let place = app.book(op, json!({"resource": hall["id"], "start": at(10, 0), "end": at(12, 0)})).await;
    let ev = created(
        app,
        "/api/v1/spaces/fab/events",
        op,
        json!({"kind": "salon", "role": "host", "topic": "开源硬件沙龙", "booking": place.id}),
    )
    .await;
    let eid = ev["id"].as_str().unwrap().to_owned();

    // Anyone sees it, with its place; a maker registers and gets a code (again: the same one).
    let upcoming = app.get("/api/v1/spaces/fab/events/upcoming", None).await;
    assert_eq!(upcoming.status, 200, "{}", upcoming.text);
    assert_eq!(
        (upcoming.body[0]["id"].as_str(), upcoming.body[0]["place_en"].as_str()),
        (Some(&*eid), Some("Event hall"))
    );
    let (_, lin) = app.maker("lin@example.org").await;
    let (_, kai) = app.maker("kai@example.org").await;
    let reg = app.post(&format!("/api/v1/events/{eid}/registration"), Some(&lin), Value::Null).await;
    assert_eq!(reg.status, 201, "{}", reg.text);
    let code = reg.body["code"].as_str().unwrap().to_owned();
    assert!(code.starts_with("E."), "{code}");
    let again = app.post(&format!("/api/v1/events/{eid}/registration"), Some(&lin), Value::Null).await;
    assert_eq!((again.status, again.body["code"].as_str()), (200, Some(&*code)));
    let kai_code = app.post(&format!("/api/v1/events/{eid}/registration"), Some(&kai), Value::Null).await.body["code"]
        .as_str()
        .unwrap()
        .to_owned();
    let mine = app.get("/api/v1/me/events", Some(&lin)).await;
    assert_eq!((mine.body[0]["event_id"].as_str(), mine.body[0]["code"].as_str()), (Some(&*eid), Some(&*code)));
    assert!(mine.body[0]["attended_at"].is_null());
    let qr = app
        .client
        .get(app.url(&format!("/api/v1/events/{eid}/registration/qr.svg")))
        .bearer_auth(&lin)
        .send()
        .await
        .unwrap();
    assert_eq!((qr.status().as_u16(), qr.headers()["content-type"].to_str().unwrap()), (200, "image/svg+xml"));
    let (_, stranger) = app.maker("stranger@example.org").await;
    assert_eq!(app.get(&format!("/api/v1/events/{eid}/registration/qr.svg"), Some(&stranger)).await.status, 404);

    // At the door: too early before 09:30, then counted once; a withdrawn registration's code
    // stops working; a code with a changed byte is forged; after the end it is over.
    let (_, kiosk) = lab.kiosk("Door").await;
    app.clock.set(ms(9, 20));
    let early = lab.scan(&kiosk, &code).await;
    assert_eq!((early["reason"].as_str(), early["allowed_from_local"].as_str()), (Some("too_early"), Some("09:30")));
    let before = ledger_count(app, op).await;
    app.clock.set(ms(9, 45));
    let first = lab.scan(&kiosk, &code).await;
    assert_eq!((first["decision"].as_str(), first["first"].as_bool()), (Some("attend"), Some(true)), "{first}");
    assert_eq!(first["message_zh"], "欢迎参加：开源硬件沙龙");
    assert_eq!(first["event"]["checked_in"], 1);
    assert_eq!(ledger_count(app, op).await, before + 1, "an attendance entry in the ledger");
    app.clock.set(ms(10, 5));
    let second = lab.scan(&kiosk, &code).await;
    assert_eq!((second["decision"].as_str(), second["first"].as_bool()), (Some("attend"), Some(false)));
    assert_eq!(second["message_en"], "Already checked in at 09:45: 开源硬件沙龙");
    assert_eq!(ledger_count(app, op).await, before + 1, "a second scan changes nothing");
    let w = app.delete(&format!("/api/v1/events/{eid}/registration"), Some(&kai)).await;
    assert_eq!(w.status, 204, "{}", w.text);
    assert_eq!(lab.scan(&kiosk, &kai_code).await["reason"], "not_registered");
    let mut forged = code.clone().into_bytes();
    let i = forged.len() - 30;
    forged[i] = if forged[i] == b'A' { b'B' } else { b'A' };
    assert_eq!(lab.scan(&kiosk, std::str::from_utf8(&forged).unwrap()).await["reason"], "forged");
    app.clock.set(ms(12, 0));
    assert_eq!(lab.scan(&kiosk, &code).await["reason"], "event_ended");
    let late = app.post(&format!("/api/v1/events/{eid}/registration"), Some(&kai), Value::Null).await;
    assert_eq!((late.status, late.code()), (409, "already_ended"));

    // The attendance is metered: in the register, the maker's list, and the pack's figures.
    let events = app.get("/api/v1/spaces/fab/events", Some(op)).await;
    assert_eq!(events.body[0]["checked_in"], 1);
    let mine = app.get("/api/v1/me/events", Some(&lin)).await;
    assert_eq!(mine.body[0]["attended_at"], "2026-09-07T01:45:00Z");
    app.clock.set(ms(11, 0));
    let again = app.post(&format!("/api/v1/events/{eid}/registration"), Some(&lin), Value::Null).await;
    assert_eq!((again.status, again.body["attended_at"].as_str()), (200, Some("2026-09-07T01:45:00Z")));
    app.clock.set(ms(12, 0));
    let pack = app.get("/api/v1/spaces/fab/evidence?scheme=sz-zc-2020&from=2026-09-01&to=2026-09-30", Some(op)).await;
    assert_eq!(
        (pack.body["events"]["events"].as_u64(), pack.body["events"]["attendance_metered"].as_u64()),
        (Some(1), Some(1)),
        "{}",
        pack.body["events"]
    );

    // Another space's kiosk refuses the code.
    let (op2, _) = operated_space(app, "elsewhere", "Asia/Shanghai").await;
    let k = app.post("/api/v1/spaces/elsewhere/kiosks", Some(&op2), json!({"name": "Door"})).await;
    let p = app.post("/api/v1/kiosk/pair", None, json!({"pairing_code": k.body["pairing_code"]})).await;
    app.clock.set(ms(10, 30));
    assert_eq!(lab.scan(p.body["token"].as_str().unwrap(), &code).await["reason"], "wrong_space");
}
