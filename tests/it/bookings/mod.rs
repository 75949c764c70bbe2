//! Reservations, one story a file: makers book units or resources, every rule is applied on
//! the server, a taken unit is a 409 with alternatives, and races never double-book.
//! The lab every story starts from is here.

mod book;
mod changes;
mod quotas;
mod races;
mod rules;
mod series;
mod stays;
mod waitlist;

pub use crate::api::{Booking, Problem};
pub use crate::checkin::at;
pub use crate::helpers::{TestApp, open_daily, operated_space, spawn_app_at};
pub use serde_json::{Value, json};

/// Monday 2026-09-07 08:00 in Shanghai.
pub const NOW: i64 = 1_788_739_200_000;

/// A space ("fab", Shanghai, open 08:00-22:00) with its operator, a laser cutter (one unit,
/// LC-1, a 15-minute cool-down, at most 120 minutes) and ten seats (A-01 … A-10).
pub struct Lab {
    pub app: TestApp,
    pub op: String,
    pub slug: String,
    pub laser: String,
    pub laser_unit: String,
    pub seats: String,
}

pub async fn lab() -> Lab {
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
pub async fn inn_rooms(lab: &Lab, name_en: &str, count: u32) -> String {
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
pub async fn verified_maker(lab: &Lab, email: &str) -> (String, String) {
    let (id, token) = lab.app.maker(email).await;
    let v = lab.app.post(&format!("/api/v1/accounts/{id}/verified"), Some(&lab.op), json!({"verified": true})).await;
    assert_eq!(v.status, 204, "{}", v.text);
    (id, token)
}

impl Lab {
    /// Books `resource` from `from` to `to` (local hours and minutes) as `token`'s maker;
    /// asserts 201.
    pub async fn book(&self, token: &str, resource: &str, from: (u32, u32), to: (u32, u32)) -> Booking {
        self.app.book(token, json!({"resource": resource, "start": at(from.0, from.1), "end": at(to.0, to.1)})).await
    }
}

/// The space's "laser-safety" training, created by its operator.
pub async fn laser_safety(lab: &Lab) {
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
pub async fn seat_zone_b(lab: &Lab) -> String {
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
pub async fn set_policy(lab: &Lab, resource: &str, policy: Value) -> crate::helpers::Reply {
    lab.app.patch_json(&format!("/api/v1/resources/{resource}"), &lab.op, json!({ "policy": policy })).await
}

/// The operator sets the space's quotas per kind of resource.
pub async fn kind_quotas(lab: &Lab, quotas: Value) -> crate::helpers::Reply {
    lab.app.patch_json(&format!("/api/v1/spaces/{}", lab.slug), &lab.op, json!({ "kind_quotas": quotas })).await
}

/// The lab with LC-1 booked 10:00-11:00 by one maker (its cool-down runs to 11:15), and a
/// second maker's token.
pub async fn laser_taken_ten_to_eleven() -> (Lab, String) {
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

pub async fn berlin_lab() -> (TestApp, String, String) {
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
