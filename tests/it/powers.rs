//! Who may do what, route by route. Every operation in the OpenAPI document has a row in
//! [`ROUTES`] naming who may call it; a route that is added without a row fails the test. For
//! each row the story tries the operation, with a valid body and real ids, as each of nine
//! identities (nobody, two makers, the space's kiosk and another space's, a reviewer, the
//! space's operator, another space's operator, an admin): everyone who must be refused is
//! (401, 403 or 404, nothing written), and whoever may passes the gate (no 401, 403 or 404;
//! reads as each of them, writes as the narrowest power). The sample bodies are checked against
//! the document's schemas too, so a body the document describes wrongly fails here. The only
//! routes outside the document are the pages and the kiosk's files, which take GET alone
//! (checked), and the benchmark's endpoints, which are off unless `--bench-endpoints`.

use crate::helpers::{TestApp, open_daily, operated_space, spawn_app_at};
use serde_json::{Value, json};
use std::collections::{BTreeSet, HashMap};

/// Monday 2026-09-07 08:00 in Shanghai.
const NOW: i64 = 1_788_739_200_000;

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum May {
    /// Anyone, signed in or not (reading the catalog, signing up, pairing a kiosk).
    Anyone,
    /// Any signed-in account.
    SignedIn,
    /// The maker who owns the check-in code, the waitlist entry or the event registration.
    Owner,
    /// An owner of the organisation, or an admin.
    TeamOwner,
    /// A member of the organisation, a reviewer or an admin.
    TeamReader,
    /// The maker who owns the booking, or an operator of its space.
    Party,
    /// Whoever may change the booking, or a reviewer.
    Witness,
    /// An operator of the space the thing belongs to.
    Operator,
    /// An operator of the space, or a reviewer.
    SpaceReader,
    /// An operator of any space, or an admin.
    AnyOperator,
    /// A reviewer, an operator or an admin.
    Overseer,
    /// The district office: a reviewer or an admin.
    District,
    /// A reviewer (recording the district's copy of the log's head).
    Reviewer,
    /// An admin.
    Admin,
    /// A paired kiosk's device token.
    Kiosk,
}

/// One operation: method, path (with `{…}` for the world's ids), who may call it, and a
/// valid body (`Value::Null` for none).
struct Route {
    method: &'static str,
    path: &'static str,
    may: May,
    body: fn(&World) -> Value,
}

const fn route(method: &'static str, path: &'static str, may: May, body: fn(&World) -> Value) -> Route {
    Route { method, path, may, body }
}

fn none(_: &World) -> Value {
    Value::Null
}

/// Every operation of the API, the destructive ones last (the allowed pass runs in this order).
const ROUTES: &[Route] = &[
    route("GET", "/healthz", May::Anyone, none),
    route("GET", "/readyz", May::Anyone, none),
    route("GET", "/api/v1/version", May::Anyone, none),
    route("GET", "/api/v1/openapi.json", May::Anyone, none),
    route("GET", "/api/v1/spaces", May::Anyone, none),
    route("GET", "/api/v1/spaces/{slug}", May::Anyone, none),
    route("GET", "/api/v1/spaces/{slug}/availability?date=2026-09-07", May::Anyone, none),
    route("GET", "/api/v1/spaces/{slug}/closures", May::Anyone, none),
    route("GET", "/api/v1/spaces/{slug}/opening-rules", May::Anyone, none),
    route("GET", "/api/v1/resources/{resource}/availability?from=2026-09-07&to=2026-09-08", May::Anyone, none),
    route(
        "POST",
        "/api/v1/auth/register",
        May::Anyone,
        |_| json!({"email": "new@example.org", "password": "correct horse battery", "display_name": "New"}),
    ),
    route(
        "POST",
        "/api/v1/auth/login",
        May::Anyone,
        |_| json!({"email": "maker@example.org", "password": "correct horse battery"}),
    ),
    route("POST", "/api/v1/kiosk/pair", May::Anyone, |w| json!({"pairing_code": w.spare_pairing_code})),
    route("GET", "/api/v1/me", May::SignedIn, none),
    route("GET", "/api/v1/me/code", May::SignedIn, none),
    route("GET", "/api/v1/me/qr.png", May::SignedIn, none),
    route("GET", "/api/v1/me/qr.svg", May::SignedIn, none),
    route("GET", "/api/v1/notifications", May::SignedIn, none),
    route("GET", "/api/v1/bookings", May::SignedIn, none),
    route(
        "POST",
        "/api/v1/bookings",
        May::SignedIn,
        |w| json!({"resource": w.resource, "start": "2026-09-07T14:00:00+08:00", "end": "2026-09-07T15:00:00+08:00"}),
    ),
    route(
        "POST",
        "/api/v1/stays",
        May::SignedIn,
        |w| json!({"resource": w.rooms, "check_in_date": "2026-09-08", "nights": 1}),
    ),
    route("GET", "/api/v1/waitlist", May::SignedIn, none),
    route(
        "POST",
        "/api/v1/waitlist",
        May::SignedIn,
        |w| json!({"resource": w.resource, "start": "2026-09-07T10:00:00+08:00", "end": "2026-09-07T11:00:00+08:00"}),
    ),
    route("GET", "/api/v1/organisations", May::SignedIn, none),
    route("POST", "/api/v1/organisations", May::SignedIn, |_| json!({"name": "Drones", "kind": "team"})),
    route("GET", "/api/v1/trainings", May::SignedIn, none),
    route("GET", "/api/v1/bookings/{booking}", May::Witness, none),
    route("GET", "/api/v1/bookings/{booking}/qr.png", May::Owner, none),
    route("GET", "/api/v1/bookings/{booking}/qr.svg", May::Owner, none),
    route("GET", "/api/v1/bookings/{booking}/sessions", May::Witness, none),
    route(
        "POST",
        "/api/v1/bookings/{booking}/move",
        May::Party,
        |_| json!({"start": "2026-09-07T16:00:00+08:00", "end": "2026-09-07T17:00:00+08:00"}),
    ),
    route("GET", "/api/v1/organisations/{organisation}", May::TeamReader, none),
    route(
        "PUT",
        "/api/v1/organisations/{organisation}/members",
        May::TeamOwner,
        |_| json!({"email": "member@example.org", "role": "member"}),
    ),
    route("GET", "/api/v1/ledger/head", May::Overseer, none),
    route("GET", "/api/v1/ledger/checkpoint", May::Overseer, none),
    route("GET", "/api/v1/ledger/keys", May::Anyone, none),
    route("GET", "/.well-known/labinn-log-keys", May::Anyone, none),
    route("GET", "/api/v1/ledger/proof/inclusion?entry=1", May::Overseer, none),
    route("GET", "/api/v1/ledger/proof/consistency?from=1", May::Overseer, none),
    route("GET", "/api/v1/district/checkpoints", May::District, none),
    route("GET", "/api/v1/spaces/{slug}/recorded-heads", May::District, none),
    route("POST", "/api/v1/spaces/{slug}/recorded-heads", May::Reviewer, none),
    route("GET", "/api/v1/spaces/{slug}/bookings?date=2026-09-07", May::SpaceReader, none),
    route("GET", "/api/v1/spaces/{slug}/sessions", May::SpaceReader, none),
    route("GET", "/api/v1/reports/utilization?space={slug}&from=2026-09-01&to=2026-09-30", May::SpaceReader, none),
    route(
        "GET",
        "/api/v1/spaces/{slug}/evidence?scheme=sz-zc-2020&from=2026-01-01&to=2026-08-31",
        May::SpaceReader,
        none,
    ),
    route("GET", "/api/v1/schemes", May::SignedIn, none),
    route("GET", "/api/v1/spaces/{slug}/report-privacy", May::SpaceReader, none),
    route(
        "PUT",
        "/api/v1/spaces/{slug}/report-privacy",
        May::Operator,
        |_| json!({"operators_see_makers": true, "share_maker_names": false}),
    ),
    route("GET", "/api/v1/me/usage?from=2026-09-01&to=2026-09-30", May::SignedIn, none),
    route("GET", "/api/v1/district/overview?scheme=sz-zc-2020&from=2026-01-01&to=2026-08-31", May::District, none),
    route(
        "POST",
        "/api/v1/admin/schemes",
        May::Admin,
        |_| json!({"toml": include_str!("../../schemes/sz-zc-2020.toml")}),
    ),
    route("GET", "/api/v1/spaces/{slug}/area-plan", May::SpaceReader, none),
    route(
        "POST",
        "/api/v1/spaces/{slug}/area-plan",
        May::Operator,
        |_| json!({"name": "Hall", "area_m2": 120.0, "use_class": "public_service"}),
    ),
    route("GET", "/api/v1/spaces/{slug}/residents", May::SpaceReader, none),
    route(
        "POST",
        "/api/v1/spaces/{slug}/residents",
        May::Operator,
        |w| json!({"organisation": w.ids["organisation"], "agreement_ref": "RZ-2", "starts_on": "2026-09-01", "founder": "Lin", "product": "robots"}),
    ),
    route(
        "PUT",
        "/api/v1/residents/{residency}",
        May::Operator,
        |_| json!({"agreement_ref": "RZ-1", "starts_on": "2026-08-01", "founder": "Lin", "product": "robots"}),
    ),
    route("GET", "/api/v1/spaces/{slug}/events", May::SpaceReader, none),
    route(
        "POST",
        "/api/v1/spaces/{slug}/events",
        May::Operator,
        |w| json!({"kind": "salon", "role": "host", "topic": "Open day", "booking": w.ids["booking"]}),
    ),
    route("PUT", "/api/v1/events/{event}/attendance", May::Operator, |_| json!({"count": 30, "attested": true})),
    route("GET", "/api/v1/spaces/{slug}/events/upcoming", May::Anyone, none),
    route("POST", "/api/v1/events/{event}/registration", May::SignedIn, none),
    route("GET", "/api/v1/me/events", May::SignedIn, none),
    route("GET", "/api/v1/events/{event}/registration/qr.svg", May::Owner, none),
    route("GET", "/api/v1/spaces/{slug}/documents", May::SpaceReader, none),
    route(
        "POST",
        "/api/v1/spaces/{slug}/documents",
        May::Operator,
        |_| json!({"kind": "lease", "title": "Lease", "file_name": "lease.pdf", "content_type": "application/pdf", "content_base64": "JVBERi0="}),
    ),
    route("GET", "/api/v1/documents/{document}/content", May::SpaceReader, none),
    route("PATCH", "/api/v1/spaces/{slug}", May::Operator, |_| json!({"name_en": "Fab lab"})),
    route(
        "POST",
        "/api/v1/spaces/{slug}/resources",
        May::Operator,
        |_| json!({"kind": "tool", "name_zh": "铣床", "name_en": "Mill", "units": {"labels": ["M-1"]}}),
    ),
    route("PATCH", "/api/v1/resources/{resource}", May::Operator, |_| json!({"name_en": "Laser"})),
    route("POST", "/api/v1/resources/{resource}/units", May::Operator, |_| json!({"labels": ["LC-2"]})),
    route("PATCH", "/api/v1/units/{unit}", May::Operator, |_| json!({"label": "LC-A"})),
    route(
        "POST",
        "/api/v1/spaces/{slug}/opening-rules",
        May::Operator,
        |_| json!({"rrule": "FREQ=WEEKLY;BYDAY=SA", "start": "2026-01-03T22:00", "duration_minutes": 60}),
    ),
    route(
        "POST",
        "/api/v1/spaces/{slug}/closures",
        May::Operator,
        |_| json!({"reason": "Mid-autumn", "start": "2026-09-25T00:00", "end": "2026-09-26T00:00"}),
    ),
    route("GET", "/api/v1/spaces/{slug}/kiosks", May::Operator, none),
    route("POST", "/api/v1/spaces/{slug}/kiosks", May::Operator, |_| json!({"name": "Back door"})),
    route("GET", "/api/v1/kiosks/{kiosk}/scans", May::Operator, none),
    route("POST", "/api/v1/kiosks/{spare}/pairing-code", May::Operator, none),
    route("POST", "/api/v1/bookings/{pending}/approve", May::Operator, |_| json!({"reason": "ok"})),
    route("POST", "/api/v1/bookings/{booking}/decline", May::Operator, |_| json!({"reason": "no"})),
    route("POST", "/api/v1/bookings/{booking}/check-in", May::Operator, |_| json!({"reason": "phone died"})),
    route("POST", "/api/v1/bookings/{booking}/check-out", May::Operator, |_| json!({"reason": "forgot to scan"})),
    route("POST", "/api/v1/trainings/{training}/grants", May::Operator, |_| json!({"email": "maker@example.org"})),
    route(
        "POST",
        "/api/v1/trainings",
        May::AnyOperator,
        |_| json!({"slug": "cnc-basics", "name_zh": "数控入门", "name_en": "CNC basics"}),
    ),
    route("POST", "/api/v1/accounts/{maker}/verified", May::AnyOperator, |_| json!({"verified": true})),
    route("DELETE", "/api/v1/accounts/{maker}/lockout", May::AnyOperator, none),
    route("GET", "/api/v1/trainings/{training}/grants", May::Operator, none),
    route(
        "POST",
        "/api/v1/spaces",
        May::AnyOperator,
        |_| json!({"slug": "annex", "name_zh": "分部", "name_en": "Annex", "kind": "maker_space"}),
    ),
    route("GET", "/api/v1/admin/accounts", May::Admin, none),
    route("POST", "/api/v1/admin/accounts/{maker}/roles", May::Admin, |_| json!({"role": "reviewer"})),
    route("GET", "/api/v1/kiosk/me", May::Kiosk, none),
    route("POST", "/api/v1/kiosk/scan", May::Kiosk, |w| json!({"code": w.qr})),
    route("POST", "/api/v1/kiosk/decode?width=2&height=2", May::Kiosk, |_| json!("frame")),
    // Destructive: last.
    route("POST", "/api/v1/area-plan/{area}/end", May::Operator, none),
    route("DELETE", "/api/v1/events/{event}/registration", May::SignedIn, none),
    route("POST", "/api/v1/events/{event}/cancel", May::Operator, none),
    route("POST", "/api/v1/documents/{document}/withdraw", May::Operator, none),
    route("DELETE", "/api/v1/admin/accounts/{maker}/roles/reviewer", May::Admin, none),
    route("DELETE", "/api/v1/trainings/{training}/grants/{maker}", May::Operator, none),
    route("DELETE", "/api/v1/organisations/{organisation}/members/{member}", May::TeamOwner, none),
    route("DELETE", "/api/v1/waitlist/{wait}", May::Owner, none),
    route("POST", "/api/v1/bookings/{booking}/cancel", May::Party, |_| json!({"reason": "plans changed"})),
    route("DELETE", "/api/v1/spaces/{slug}/closures/{closure}", May::Operator, none),
    route("DELETE", "/api/v1/spaces/{slug}/opening-rules/{rule}", May::Operator, none),
    route("POST", "/api/v1/kiosks/{kiosk}/revoke", May::Operator, none),
    route("POST", "/api/v1/units/{unit}/retire", May::Operator, none),
    route("POST", "/api/v1/resources/{resource}/archive", May::Operator, |_| json!({"archived": true})),
    route("POST", "/api/v1/spaces/{slug}/archive", May::Operator, |_| json!({"archived": true})),
    route("POST", "/api/v1/auth/logout", May::SignedIn, none),
];

/// A space with one of everything, and someone of every kind.
struct World {
    app: TestApp,
    ids: HashMap<&'static str, String>,
    qr: String,
    spare_pairing_code: String,
    resource: String,
    rooms: String,
    anon: Option<String>,
    maker: String,
    stranger: String,
    op: String,
    op2: String,
    reviewer: String,
    admin: String,
    kiosk: String,
    kiosk2: String,
}

async fn world() -> World {
    let app = spawn_app_at(NOW).await;
    let admin = app.admin().await;
    let (op, slug) = operated_space(&app, "fab", "Asia/Shanghai").await;
    open_daily(&app, &op, &slug, "08:00", 840).await;
    let (op2, _) = operated_space(&app, "elsewhere", "Asia/Shanghai").await;
    let other_door = app.post("/api/v1/spaces/elsewhere/kiosks", Some(&op2), json!({"name": "Door"})).await;
    let paired2 = app.post("/api/v1/kiosk/pair", None, json!({"pairing_code": other_door.body["pairing_code"]})).await;
    assert_eq!(paired2.status, 200, "{}", paired2.text);
    let (reviewer_id, reviewer) = app.maker("reviewer@example.org").await;
    let g = app
        .post(&format!("/api/v1/admin/accounts/{reviewer_id}/roles"), Some(&admin), json!({"role": "reviewer"}))
        .await;
    assert_eq!(g.status, 200, "{}", g.text);
    let (maker_id, maker) = app.maker("maker@example.org").await;
    let (_, stranger) = app.maker("stranger@example.org").await;
    let (member_id, member) = app.maker("member@example.org").await;

    let laser = app
        .post(
            "/api/v1/spaces/fab/resources",
            Some(&op),
            json!({"kind": "tool", "name_zh": "激光切割机", "name_en": "Laser cutter", "units": {"labels": ["LC-1"]}}),
        )
        .await;
    assert_eq!(laser.status, 201, "{}", laser.text);
    let resource = laser.body["id"].as_str().unwrap().to_owned();
    let unit = laser.body["units"][0]["id"].as_str().unwrap().to_owned();
    let needs_approval = app
        .post(
            "/api/v1/spaces/fab/resources",
            Some(&op),
            json!({"kind": "tool", "name_zh": "数控机床", "name_en": "CNC", "units": {"labels": ["CNC-1"]},
                   "policy": {"requires_approval": true}}),
        )
        .await;
    let rooms = app
        .post(
            "/api/v1/spaces/fab/resources",
            Some(&op),
            json!({"kind": "inn_room", "name_zh": "客房", "name_en": "Rooms", "units": {"count": 2, "prefix": "R"}}),
        )
        .await;
    let rule = app
        .post(
            "/api/v1/spaces/fab/opening-rules",
            Some(&op),
            json!({"rrule": "FREQ=WEEKLY;BYDAY=SU", "start": "2026-01-04T22:00", "duration_minutes": 30}),
        )
        .await;
    let closure = app
        .post(
            "/api/v1/spaces/fab/closures",
            Some(&op),
            json!({"reason": "National day", "start": "2026-10-01T00:00", "end": "2026-10-02T00:00"}),
        )
        .await;
    let kiosk = app.post("/api/v1/spaces/fab/kiosks", Some(&op), json!({"name": "Door"})).await;
    let paired = app.post("/api/v1/kiosk/pair", None, json!({"pairing_code": kiosk.body["pairing_code"]})).await;
    let spare = app.post("/api/v1/spaces/fab/kiosks", Some(&op), json!({"name": "Spare"})).await;
    let booking = app
        .book(
            &maker,
            json!({"resource": resource, "start": "2026-09-07T10:00:00+08:00", "end": "2026-09-07T11:00:00+08:00"}),
        )
        .await;
    let pending = app
        .book(
            &maker,
            json!({"resource": needs_approval.body["id"], "start": "2026-09-07T12:00:00+08:00", "end": "2026-09-07T13:00:00+08:00"}),
        )
        .await;
    assert_eq!(pending.status, "pending");
    // The maker waits for a slot the member holds (and keeps).
    let evening =
        json!({"resource": resource, "start": "2026-09-07T18:00:00+08:00", "end": "2026-09-07T19:00:00+08:00"});
    app.book(&member, evening.clone()).await;
    let wait = app.post("/api/v1/waitlist", Some(&maker), evening).await;
    let org = app.post("/api/v1/organisations", Some(&maker), json!({"name": "Robots", "kind": "team"})).await;
    let organisation = org.body["id"].as_str().unwrap().to_owned();
    let m = app
        .put(
            &format!("/api/v1/organisations/{organisation}/members"),
            Some(&maker),
            json!({"email": "member@example.org"}),
        )
        .await;
    let training = app
        .post(
            "/api/v1/trainings",
            Some(&op),
            json!({"slug": "laser-safety", "name_zh": "激光安全", "name_en": "Laser safety", "space": "fab"}),
        )
        .await;
    for r in [&needs_approval, &rooms, &rule, &closure, &kiosk, &paired, &spare, &wait, &org, &training] {
        assert!(r.status == 201 || r.status == 200, "{}", r.text);
    }
    assert_eq!(m.status, 200, "{}", m.text);
    let area = app
        .post(
            "/api/v1/spaces/fab/area-plan",
            Some(&op),
            json!({"name": "Floor", "area_m2": 800.0, "use_class": "maker_work"}),
        )
        .await;
    let residency = app
        .post(
            "/api/v1/spaces/fab/residents",
            Some(&op),
            json!({"organisation": organisation, "agreement_ref": "RZ-1", "starts_on": "2026-08-01", "founder": "Lin", "product": "robots"}),
        )
        .await;
    let event = app
        .post(
            "/api/v1/spaces/fab/events",
            Some(&op),
            json!({"kind": "training", "role": "host", "topic": "Laser basics", "booking": booking.id}),
        )
        .await;
    let document = app
        .post(
            "/api/v1/spaces/fab/documents",
            Some(&op),
            json!({"kind": "lease", "title": "Lease", "file_name": "租约.pdf", "content_type": "application/pdf", "content_base64": "JVBERi0="}),
        )
        .await;
    for r in [&area, &residency, &event, &document] {
        assert_eq!(r.status, 201, "{}", r.text);
    }
    let path = format!("/api/v1/events/{}/registration", event.body["id"].as_str().unwrap());
    let registered = app.post(&path, Some(&maker), Value::Null).await;
    assert_eq!(registered.status, 201, "{}", registered.text);

    let ids = HashMap::from([
        ("slug", slug),
        ("resource", resource.clone()),
        ("unit", unit),
        ("rule", rule.body["id"].as_str().unwrap().to_owned()),
        ("closure", closure.body["id"].as_str().unwrap().to_owned()),
        ("kiosk", kiosk.body["kiosk"]["id"].as_str().unwrap().to_owned()),
        ("spare", spare.body["kiosk"]["id"].as_str().unwrap().to_owned()),
        ("booking", booking.id.clone()),
        ("pending", pending.id),
        ("wait", wait.body["id"].as_str().unwrap().to_owned()),
        ("organisation", organisation),
        ("training", "laser-safety".to_owned()),
        ("maker", maker_id),
        ("member", member_id),
        ("area", area.body["id"].as_str().unwrap().to_owned()),
        ("residency", residency.body["id"].as_str().unwrap().to_owned()),
        ("event", event.body["id"].as_str().unwrap().to_owned()),
        ("document", document.body["id"].as_str().unwrap().to_owned()),
    ]);
    World {
        qr: booking.qr().to_owned(),
        spare_pairing_code: spare.body["pairing_code"].as_str().unwrap().to_owned(),
        resource,
        rooms: rooms.body["id"].as_str().unwrap().to_owned(),
        anon: None,
        kiosk: paired.body["token"].as_str().unwrap().to_owned(),
        kiosk2: paired2.body["token"].as_str().unwrap().to_owned(),
        ids,
        maker,
        stranger,
        op,
        op2,
        reviewer,
        admin,
        app,
    }
}

impl World {
    fn path(&self, template: &str) -> String {
        let mut p = template.to_owned();
        for (name, id) in &self.ids {
            p = p.replace(&format!("{{{name}}}"), id);
        }
        assert!(!p.contains('{'), "no id for {template}");
        p
    }

    /// Everyone the matrix tries, in the order the allowed pass takes them (the least
    /// powerful first, so that a write is made by whoever needs the narrowest power).
    fn everyone(&self) -> [Actor<'_>; 9] {
        [
            (Who::Nobody, self.anon.as_deref()),
            (Who::OtherMaker, Some(self.stranger.as_str())),
            (Who::Maker, Some(self.maker.as_str())),
            (Who::OtherKiosk, Some(self.kiosk2.as_str())),
            (Who::Kiosk, Some(self.kiosk.as_str())),
            (Who::Reviewer, Some(self.reviewer.as_str())),
            (Who::OtherOperator, Some(self.op2.as_str())),
            (Who::Operator, Some(self.op.as_str())),
            (Who::Admin, Some(self.admin.as_str())),
        ]
    }

    /// Those who must be refused, and those who may: every identity is one or the other.
    fn actors(&self, may: May) -> (Vec<Actor<'_>>, Vec<Actor<'_>>) {
        self.everyone().into_iter().partition(|(who, _)| !who.may(may))
    }

    async fn call(&self, r: &Route, token: Option<&str>) -> crate::helpers::Reply {
        let url = self.app.url(&self.path(r.path));
        let mut req = match r.method {
            "GET" => self.app.client.get(url),
            "POST" => self.app.client.post(url),
            "PUT" => self.app.client.put(url),
            "PATCH" => self.app.client.patch(url),
            "DELETE" => self.app.client.delete(url),
            m => panic!("method {m}"),
        };
        match (body_of(r, self), r.path.starts_with("/api/v1/kiosk/decode")) {
            (Value::Null, _) => {}
            (Value::String(raw), true) => {
                req = req.header("content-type", "application/octet-stream").body(raw.into_bytes());
            }
            (b, _) => req = req.json(&b),
        }
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        self.app.send(req).await
    }
}

/// The nine identities of the matrix: nobody, two makers (the maker owns the world's
/// booking, waitlist entry and organisation), the kiosk of the space and one of another
/// space, a reviewer, the space's operator, another space's operator, and an admin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    Nobody,
    Maker,
    OtherMaker,
    Kiosk,
    OtherKiosk,
    Reviewer,
    Operator,
    OtherOperator,
    Admin,
}

impl Who {
    /// Whether this identity passes the gate of a route that `may` calls.
    fn may(self, may: May) -> bool {
        use Who::*;
        let account = !matches!(self, Nobody | Kiosk | OtherKiosk);
        match may {
            May::Anyone => true,
            May::SignedIn => account,
            May::Owner => self == Maker,
            May::TeamOwner => matches!(self, Maker | Admin),
            May::TeamReader => matches!(self, Maker | Reviewer | Admin),
            May::Party => matches!(self, Maker | Operator | Admin),
            May::Witness => matches!(self, Maker | Operator | Reviewer | Admin),
            May::Operator => matches!(self, Operator | Admin),
            May::SpaceReader => matches!(self, Operator | Reviewer | Admin),
            May::AnyOperator => matches!(self, Operator | OtherOperator | Admin),
            May::Overseer => matches!(self, Operator | OtherOperator | Reviewer | Admin),
            May::District => matches!(self, Reviewer | Admin),
            May::Reviewer => self == Reviewer,
            May::Admin => self == Admin,
            // Any paired kiosk passes the gate; a kiosk of another space is then denied
            // the scan itself (checked below).
            May::Kiosk => matches!(self, Kiosk | OtherKiosk),
        }
    }

    fn is_kiosk(self) -> bool {
        matches!(self, Who::Kiosk | Who::OtherKiosk)
    }
}

/// Someone who calls, and their token (`None`: not signed in).
type Actor<'a> = (Who, Option<&'a str>);

fn body_of(r: &Route, w: &World) -> Value {
    (r.body)(w)
}

/// The route's `(METHOD, /path/{param})` as the OpenAPI document spells it.
fn documented(r: &Route) -> (String, String) {
    let path = r.path.split('?').next().unwrap();
    let mut out = String::new();
    let mut rest = path;
    while let Some(i) = rest.find('{') {
        out.push_str(&rest[..i]);
        let j = rest[i..].find('}').unwrap() + i;
        let name = &rest[i + 1..j];
        // The world's names for ids; the document names them by position.
        let param = match (name, out.as_str()) {
            ("slug", _) => "{slug}",
            ("training", _) => "{slug}",
            ("maker" | "member", o) if o.ends_with("/grants/") || o.ends_with("/members/") => "{account_id}",
            _ => "{id}",
        };
        out.push_str(param);
        rest = &rest[j + 1..];
    }
    out.push_str(rest);
    let out = out.replace("/roles/reviewer", "/roles/{role}");
    (r.method.to_owned(), out)
}

#[tokio::test]
async fn every_route_refuses_whoever_may_not_call_it_and_admits_whoever_may() {
    let w = world().await;
    let doc = w.app.get("/api/v1/openapi.json", None).await.body;

    // Every documented operation has exactly one row, and every row is documented.
    let mut operations = BTreeSet::new();
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for method in ops.as_object().unwrap().keys() {
            if ["get", "post", "put", "patch", "delete"].contains(&method.as_str()) {
                operations.insert((method.to_uppercase(), path.clone()));
            }
        }
    }
    let rows: Vec<(String, String)> = ROUTES.iter().map(documented).collect();
    let listed: BTreeSet<_> = rows.iter().cloned().collect();
    assert_eq!(listed.len(), rows.len(), "a route has two rows");
    let missing: Vec<_> = operations.difference(&listed).collect();
    assert!(missing.is_empty(), "routes with no row in ROUTES (say who may call them): {missing:?}");
    let stale: Vec<_> = listed.difference(&operations).collect();
    assert!(stale.is_empty(), "rows for routes the document does not have: {stale:?}");

    // The sample bodies are what the document describes.
    for (r, (method, path)) in ROUTES.iter().zip(&rows) {
        let op = &doc["paths"][path][method.to_lowercase()];
        let body = body_of(r, &w);
        let Value::Object(fields) = body else { continue };
        let schema = resolve(&doc, &op["requestBody"]["content"]["application/json"]["schema"]);
        let props = schema["properties"].as_object().unwrap_or_else(|| panic!("{method} {path}: no body schema"));
        for f in fields.keys() {
            assert!(props.contains_key(f), "{method} {path}: the document has no field {f}");
        }
        for req in schema["required"].as_array().into_iter().flatten() {
            assert!(fields.contains_key(req.as_str().unwrap()), "{method} {path}: the document requires {req}");
        }
        // A security requirement in the document exactly when the route needs one.
        let open = op["security"].is_null();
        assert_eq!(open, r.may == May::Anyone, "{method} {path}: documented security {}", op["security"]);
    }

    // The routes outside the document are pages and the kiosk's files: they change nothing.
    for page in ["/", "/spaces/fab", "/kiosk", "/kiosk/kiosk.js", "/me"] {
        for method in [reqwest::Method::POST, reqwest::Method::PUT, reqwest::Method::PATCH, reqwest::Method::DELETE] {
            let r = w.app.send(w.app.client.request(method.clone(), w.app.url(page))).await;
            assert_eq!(r.status, 405, "{method} {page}: {}", r.text);
        }
    }

    // Refusals first: they write nothing, so every row still finds its world.
    let mut tried = 0;
    for r in ROUTES {
        let (refused, _) = w.actors(r.may);
        for (who, token) in refused {
            let reply = w.call(r, token).await;
            tried += 1;
            // Not signed in (no token, or a device token where a login is meant, or a login
            // where a device is meant) is a 401; signed in without the power, 403 or 404.
            let unauthenticated = token.is_none() || (r.may == May::Kiosk) != who.is_kiosk();
            let expected: &[u16] = if unauthenticated { &[401] } else { &[403, 404] };
            assert!(
                expected.contains(&reply.status),
                "{} {} as {who:?}: expected {expected:?}, got {}: {}",
                r.method,
                r.path,
                reply.status,
                reply.text
            );
            if r.may == May::Kiosk && token.is_some() {
                assert_eq!(reply.code(), "kiosk_unauthenticated", "{} {}", r.method, r.path);
            }
        }
    }
    // Then whoever may: they pass the gate (the answer may still be a 409 or 422 of the use
    // case). A read is tried as every one of them; a write as the first (the narrowest
    // power), since a write spends what it is given: a pairing code pairs once, a deleted
    // closure is gone. A public write is tried as nobody; a scan as both kiosks.
    for r in ROUTES {
        let (_, allowed) = w.actors(r.may);
        let take = if r.method == "GET" || r.may == May::Kiosk { allowed.len() } else { 1 };
        for (who, token) in allowed.into_iter().take(take) {
            let reply = w.call(r, token).await;
            tried += 1;
            assert!(
                ![401, 403, 404].contains(&reply.status) && reply.status < 500,
                "{} {} as {who:?}: {}: {}",
                r.method,
                r.path,
                reply.status,
                reply.text
            );
            // A kiosk of another space reaches the scan, and is told the code is not for it.
            if r.path == "/api/v1/kiosk/scan" && who == Who::OtherKiosk {
                assert_eq!(
                    (reply.body["decision"].as_str(), reply.body["reason"].as_str()),
                    (Some("deny"), Some("wrong_space")),
                    "{}",
                    reply.text
                );
            }
        }
    }
    assert!(tried > ROUTES.len() * 5, "{tried} calls for {} routes", ROUTES.len());
}

fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    match schema["$ref"].as_str() {
        Some(r) => &doc["components"]["schemas"][r.rsplit('/').next().unwrap()],
        None => schema,
    }
}

/// A training of a space is that space's: another space's operator can neither define one
/// for it nor grant or read its grants; a district-wide one is any operator's.
#[tokio::test]
async fn a_training_of_a_space_is_defined_and_run_by_that_spaces_operators() {
    let w = world().await;
    let scoped = |slug: &str| json!({"slug": slug, "name_zh": "安全", "name_en": "Safety", "space": "fab"});
    let r = w.app.post("/api/v1/trainings", Some(&w.op2), scoped("fab-safety")).await;
    assert_eq!((r.status, r.code()), (403, "forbidden"), "{}", r.text);
    let r = w.app.post("/api/v1/trainings", Some(&w.op), scoped("fab-safety")).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let r = w.app.post("/api/v1/trainings", Some(&w.admin), scoped("admin-safety")).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let grant = json!({"email": "maker@example.org"});
    let r = w.app.post("/api/v1/trainings/fab-safety/grants", Some(&w.op2), grant.clone()).await;
    assert_eq!(r.status, 403, "{}", r.text);
    assert_eq!(w.app.get("/api/v1/trainings/fab-safety/grants", Some(&w.op2)).await.status, 403);
    let district = json!({"slug": "first-aid", "name_zh": "急救", "name_en": "First aid"});
    assert_eq!(w.app.post("/api/v1/trainings", Some(&w.op2), district).await.status, 201);
    let r = w.app.post("/api/v1/trainings/first-aid/grants", Some(&w.op), grant).await;
    assert_eq!(r.status, 201, "{}", r.text);
}
