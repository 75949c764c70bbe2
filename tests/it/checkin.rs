//! Check-in at the kiosk: signed codes and QR images, kiosk pairing, every scan decision,
//! walk-ups, operators by hand, metered sessions, the jobs, and the tamper-evident ledger.

use crate::api::Booking;
use crate::helpers::{TestApp, open_daily, operated_space, spawn_app_at};
use serde_json::{Value, json};

/// Monday 2026-09-07 08:00 in Shanghai.
const NOW: i64 = 1_788_739_200_000;
const MIN: i64 = 60_000;

pub struct Lab {
    pub app: TestApp,
    pub op: String,
    pub slug: String,
    pub laser: String,
    pub seats: String,
}

pub async fn lab_at(now: i64) -> Lab {
    lab_at_app(spawn_app_at(now).await).await
}

pub fn at(hh: u32, mm: u32) -> String {
    format!("2026-09-07T{hh:02}:{mm:02}:00+08:00")
}

/// 2026-09-07 hh:mm in Shanghai, as epoch milliseconds.
pub fn ms(hh: i64, mm: i64) -> i64 {
    NOW + (hh - 8) * 60 * MIN + mm * MIN
}

impl Lab {
    pub async fn book(&self, token: &str, resource: &str, from: (u32, u32), to: (u32, u32)) -> Booking {
        self.app.book(token, json!({"resource": resource, "start": at(from.0, from.1), "end": at(to.0, to.1)})).await
    }

    /// A paired kiosk of the lab: (kiosk id, device token).
    pub async fn kiosk(&self, name: &str) -> (String, String) {
        let k =
            self.app.post(&format!("/api/v1/spaces/{}/kiosks", self.slug), Some(&self.op), json!({"name": name})).await;
        assert_eq!(k.status, 201, "{}", k.text);
        let code = k.body["pairing_code"].as_str().unwrap().to_owned();
        let p = self.app.post("/api/v1/kiosk/pair", None, json!({"pairing_code": code})).await;
        assert_eq!(p.status, 200, "{}", p.text);
        (k.body["kiosk"]["id"].as_str().unwrap().to_owned(), p.body["token"].as_str().unwrap().to_owned())
    }

    pub async fn scan(&self, kiosk: &str, code: &str) -> Value {
        let r = self.app.post("/api/v1/kiosk/scan", Some(kiosk), json!({"code": code})).await;
        assert_eq!(r.status, 200, "{}", r.text);
        r.body
    }

    pub async fn run_jobs(&self) -> labinn::jobs::Report {
        labinn::jobs::run_once(&self.app.state.svc, &reqwest::Client::new(), self.app.clock.now_ms()).await
    }
}

#[tokio::test]
async fn a_booking_has_a_signed_code_whose_qr_png_decodes_back_to_it() {
    let lab = lab_at(NOW).await;
    let (_, maker) = lab.app.maker("lin@example.org").await;
    let b = lab.book(&maker, &lab.laser, (10, 0), (11, 0)).await;
    let code = b.qr().to_owned();
    assert!(code.starts_with("B.") && code.len() == 45, "{code}");
    let short = b.short();
    assert_eq!(short.len(), 11, "ABCDE-FGHJK: {short}");
    assert!(!short.contains(['0', 'O', '1', 'I', 'L']), "no ambiguous letters: {short}");

    assert_eq!(b.space, lab.slug);
    let id = b.id.as_str();
    let images = b.checkin_code.as_ref().unwrap();
    assert_eq!(images.qr_png, format!("/api/v1/bookings/{id}/qr.png"));
    let png = lab.app.client.get(lab.app.url(&images.qr_png)).bearer_auth(&maker).send().await.unwrap();
    assert_eq!(png.status(), 200);
    assert_eq!(png.headers()["content-type"], "image/png");
    let bytes = png.bytes().await.unwrap();
    let img = image::load_from_memory(&bytes).expect("a PNG").to_luma8();
    let mut prepared = rqrr::PreparedImage::prepare(img);
    let grids = prepared.detect_grids();
    assert_eq!(grids.len(), 1);
    let (_, text) = grids[0].decode().expect("decodes");
    assert_eq!(text, code);

    let svg = lab.app.get(&images.qr_svg, Some(&maker)).await;
    assert_eq!(svg.status, 200);
    assert!(svg.text.contains("<svg"), "{}", &svg.text[..60.min(svg.text.len())]);

    // Only the owner gets the image, or the code in the booking.
    let (_, other) = lab.app.maker("other@example.org").await;
    assert_eq!(lab.app.get(&format!("/api/v1/bookings/{id}/qr.png"), Some(&other)).await.status, 404);
    let seen_by_op = lab.app.get(&format!("/api/v1/bookings/{id}"), Some(&lab.op)).await;
    assert_eq!(seen_by_op.body["checkin_code"], Value::Null);
    let mine = lab.app.my_bookings(&maker, "").await;
    assert_eq!(mine[0].qr(), code);
}

#[tokio::test]
async fn kiosks_pair_once_and_a_revoked_kiosk_is_refused() {
    let lab = lab_at(NOW).await;
    let k = lab
        .app
        .post(&format!("/api/v1/spaces/{}/kiosks", lab.slug), Some(&lab.op), json!({"name": "Front door"}))
        .await;
    assert_eq!(k.status, 201, "{}", k.text);
    let code = k.body["pairing_code"].as_str().unwrap().to_owned();
    let id = k.body["kiosk"]["id"].as_str().unwrap().to_owned();
    assert_eq!(k.body["kiosk"]["state"], "awaiting_pairing");

    // Makers cannot register kiosks.
    let (_, maker) = lab.app.maker("lin@example.org").await;
    let denied = lab.app.post(&format!("/api/v1/spaces/{}/kiosks", lab.slug), Some(&maker), json!({"name": "x"})).await;
    assert_eq!(denied.status, 403);

    let p = lab.app.post("/api/v1/kiosk/pair", None, json!({"pairing_code": code.to_lowercase()})).await;
    assert_eq!(p.status, 200, "{}", p.text);
    let token = p.body["token"].as_str().unwrap().to_owned();
    assert_eq!(p.body["kiosk"]["space"], "fab");
    let again = lab.app.post("/api/v1/kiosk/pair", None, json!({"pairing_code": code})).await;
    assert_eq!((again.status, again.code()), (401, "invalid_pairing_code"));

    // Only the hash of the device token is stored.
    let stored: Option<String> =
        sqlx_scalar(&lab.app, &format!("SELECT device_token_hash FROM kiosks WHERE id = '{id}'")).await;
    assert_ne!(stored.as_deref(), Some(token.as_str()));
    assert_eq!(stored.unwrap().len(), 64);

    let me = lab.app.get("/api/v1/kiosk/me", Some(&token)).await;
    assert_eq!(me.status, 200);
    let list = lab.app.get(&format!("/api/v1/spaces/{}/kiosks", lab.slug), Some(&lab.op)).await;
    assert_eq!(list.body[0]["state"], "paired");

    let r = lab.app.post(&format!("/api/v1/kiosks/{id}/revoke"), Some(&lab.op), json!({})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["state"], "revoked");
    let scan = lab.app.post("/api/v1/kiosk/scan", Some(&token), json!({"code": "x"})).await;
    assert_eq!((scan.status, scan.code()), (401, "kiosk_revoked"));
    // A user's token is not a kiosk's.
    let as_user = lab.app.post("/api/v1/kiosk/scan", Some(&maker), json!({"code": "x"})).await;
    assert_eq!((as_user.status, as_user.code()), (401, "kiosk_unauthenticated"));
}

/// Runs one query through a fresh connection of the test database (the backend's own driver).
pub async fn sqlx_scalar(app: &TestApp, sql: &str) -> Option<String> {
    if app.fresh.is_postgres() {
        let pool = sqlx::PgPool::connect(&app.fresh.url).await.unwrap();
        let v: Option<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_owned())).fetch_one(&pool).await.unwrap();
        pool.close().await;
        v
    } else {
        let pool = sqlx::SqlitePool::connect(&app.fresh.url).await.unwrap();
        let v: Option<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_owned())).fetch_one(&pool).await.unwrap();
        pool.close().await;
        v
    }
}

pub async fn sqlx_exec(app: &TestApp, sql: &str) {
    if app.fresh.is_postgres() {
        let pool = sqlx::PgPool::connect(&app.fresh.url).await.unwrap();
        sqlx::query(sqlx::AssertSqlSafe(sql.to_owned())).execute(&pool).await.unwrap();
        pool.close().await;
    } else {
        let pool = sqlx::SqlitePool::connect(&app.fresh.url).await.unwrap();
        sqlx::query(sqlx::AssertSqlSafe(sql.to_owned())).execute(&pool).await.unwrap();
        pool.close().await;
    }
}

#[tokio::test]
async fn a_maker_checks_in_and_out_and_every_scan_is_recorded() {
    let lab = lab_at(ms(9, 30)).await;
    let (_, maker) = lab.app.maker("lin@example.org").await;
    let (kiosk_id, kiosk) = lab.kiosk("Front door").await;
    let b = lab.book(&maker, &lab.laser, (10, 0), (11, 0)).await;
    let code = b.qr().to_owned();

    let early = lab.scan(&kiosk, &code).await;
    assert_eq!(early["decision"], "deny");
    assert_eq!(early["reason"], "too_early");
    assert_eq!(early["allowed_from_local"], "09:45");
    assert_eq!(early["allowed_from"], "2026-09-07T01:45:00Z");
    // The day is named, so that "too early" never reads as "later today" for tomorrow.
    assert_eq!(early["message_zh"], "还太早：9月7日 09:45 起可签到");
    assert_eq!(early["message_en"], "Too early: check-in opens 7 Sep 09:45");

    lab.app.clock.set(ms(9, 50));
    let head_before = lab.app.db.ledger_head().await.unwrap().0;
    let ok = lab.scan(&kiosk, &code).await;
    assert_eq!(ok["decision"], "check_in", "{ok}");
    assert_eq!(ok["booking"]["until_local"], "11:00");
    assert_eq!(ok["booking"]["unit"], "LC-1");
    assert_eq!(ok["message_en"], "Checked in: Laser cutter LC-1, until 11:00");
    assert_eq!(lab.app.db.ledger_head().await.unwrap().0, head_before + 1, "check-in is in the ledger");
    let id = b.id.as_str();
    let s = lab.app.get(&format!("/api/v1/bookings/{id}/sessions"), Some(&maker)).await;
    assert_eq!(s.body.as_array().unwrap().len(), 1);
    assert_eq!(s.body[0]["opened_by"], "kiosk");
    assert_eq!(s.body[0]["kiosk_id"], kiosk_id.as_str());
    assert_eq!(s.body[0]["ended_at"], Value::Null);

    // A scanner that reads twice within a moment does not check the maker straight out.
    lab.app.clock.set(ms(9, 50) + 1_000);
    let twice = lab.scan(&kiosk, &code).await;
    assert_eq!(twice["decision"], "check_in");
    assert_eq!(twice["session"], ok["session"]);

    lab.app.clock.set(ms(10, 55));
    let out = lab.scan(&kiosk, &code).await;
    assert_eq!(out["decision"], "check_out", "{out}");
    let s = lab.app.get(&format!("/api/v1/bookings/{id}/sessions"), Some(&maker)).await;
    assert_eq!(s.body[0]["closed_by"], "kiosk");
    assert_eq!(s.body[0]["minutes"], 65);
    assert_eq!(s.body[0]["overstay_minutes"], 0);
    let done = lab.app.get(&format!("/api/v1/bookings/{id}"), Some(&maker)).await;
    assert_eq!(done.body["status"], "completed");

    lab.app.clock.set(ms(10, 58));
    let third = lab.scan(&kiosk, &code).await;
    assert_eq!(third["reason"], "already_checked_out");

    let scans = lab.app.get(&format!("/api/v1/kiosks/{kiosk_id}/scans"), Some(&lab.op)).await;
    let decisions: Vec<&str> =
        scans.body.as_array().unwrap().iter().rev().map(|s| s["decision"].as_str().unwrap()).collect();
    assert_eq!(
        decisions,
        ["deny", "check_in", "check_out", "deny"],
        "every scan, granted or denied; the repeat changed nothing"
    );
}

#[tokio::test]
async fn forged_unknown_cancelled_pending_and_foreign_codes_are_denied_with_their_reason() {
    let lab = lab_at(ms(9, 50)).await;
    let (_, maker) = lab.app.maker("lin@example.org").await;
    let (_, kiosk) = lab.kiosk("Front door").await;
    let b = lab.book(&maker, &lab.laser, (10, 0), (11, 0)).await;
    let code = b.qr().to_owned();

    // Flip one character of the signature.
    let mut forged: Vec<char> = code.chars().collect();
    let last = forged.len() - 3;
    forged[last] = if forged[last] == 'A' { 'B' } else { 'A' };
    let forged: String = forged.into_iter().collect();
    assert_eq!(lab.scan(&kiosk, &forged).await["reason"], "forged");
    assert_eq!(lab.scan(&kiosk, "hello world").await["reason"], "unknown");
    assert_eq!(lab.scan(&kiosk, "ABCDE-FGHJK").await["reason"], "unknown");

    // Another space's kiosk.
    let (op2, slug2) = operated_space(&lab.app, "other", "Asia/Shanghai").await;
    let k = lab.app.post(&format!("/api/v1/spaces/{slug2}/kiosks"), Some(&op2), json!({"name": "B"})).await;
    let p = lab.app.post("/api/v1/kiosk/pair", None, json!({"pairing_code": k.body["pairing_code"]})).await;
    let foreign = p.body["token"].as_str().unwrap();
    assert_eq!(lab.scan(foreign, &code).await["reason"], "wrong_space");

    // A cancelled booking's code stops working at once.
    let id = b.id.as_str();
    let c = lab.app.post(&format!("/api/v1/bookings/{id}/cancel"), Some(&maker), json!({})).await;
    assert_eq!(c.status, 200, "{}", c.text);
    let denied = lab.scan(&kiosk, &code).await;
    assert_eq!(denied["reason"], "cancelled");
    assert_eq!(denied["message_zh"], "此预约已取消");

    // Pending approval.
    let approvals = lab
        .app
        .post(
            &format!("/api/v1/spaces/{}/resources", lab.slug),
            Some(&lab.op),
            json!({"kind": "lab_facility", "name_zh": "显微镜", "name_en": "Microscope", "units": {"count": 1},
                   "policy": {"requires_approval": true}}),
        )
        .await;
    let pending = lab.book(&maker, approvals.body["id"].as_str().unwrap(), (10, 0), (11, 0)).await;
    assert_eq!(lab.scan(&kiosk, pending.qr()).await["reason"], "pending_approval");
}

#[tokio::test]
async fn the_short_code_is_typed_and_a_lapsed_training_is_refused_at_the_door() {
    let lab = lab_at(ms(9, 50)).await;
    let (_, maker) = lab.app.maker("lin@example.org").await;
    let (_, kiosk) = lab.kiosk("Front door").await;
    let b = lab.book(&maker, &lab.laser, (10, 0), (11, 0)).await;
    let short = b.short().to_lowercase();
    let ok = lab.scan(&kiosk, &short).await;
    assert_eq!(ok["decision"], "check_in", "{ok}");

    // A resource that needs a training which expires before the booking starts.
    let t = lab
        .app
        .post(
            "/api/v1/trainings",
            Some(&lab.app.admin().await),
            json!({"slug": "laser-safety", "name_zh": "激光安全", "name_en": "Laser safety"}),
        )
        .await;
    assert_eq!(t.status, 201, "{}", t.text);
    let cnc = lab
        .app
        .post(
            &format!("/api/v1/spaces/{}/resources", lab.slug),
            Some(&lab.op),
            json!({"kind": "tool", "name_zh": "数控机床", "name_en": "CNC", "units": {"count": 1},
                   "policy": {"required_trainings": ["laser-safety"]}}),
        )
        .await;
    assert_eq!(cnc.status, 201, "{}", cnc.text);
    let admin = lab.app.admin().await;
    let grant = |expires: Value| {
        lab.app.post(
            "/api/v1/trainings/laser-safety/grants",
            Some(&admin),
            json!({"email": "lin@example.org", "expires": expires}),
        )
    };
    let g = grant(Value::Null).await;
    assert_eq!(g.status, 201, "{}", g.text);
    let booked = lab.book(&maker, cnc.body["id"].as_str().unwrap(), (10, 0), (11, 0)).await;
    // The training is renewed with an expiry that passes before the maker arrives.
    let g = grant(json!("2026-09-07T02:05:00Z")).await;
    assert_eq!(g.status, 201, "{}", g.text);
    lab.app.clock.set(ms(10, 10));
    assert_eq!(lab.scan(&kiosk, booked.qr()).await["reason"], "training_expired");
}

#[tokio::test]
async fn operators_check_in_and_out_by_hand_with_a_reason_and_correct_a_no_show() {
    let lab = lab_at(ms(9, 50)).await;
    let (_, maker) = lab.app.maker("lin@example.org").await;
    let b = lab.book(&maker, &lab.laser, (10, 0), (11, 0)).await;
    let id = b.id.as_str();
    let by_maker =
        lab.app.post(&format!("/api/v1/bookings/{id}/check-in"), Some(&maker), json!({"reason": "me"})).await;
    assert_eq!(by_maker.status, 403);
    let no_reason =
        lab.app.post(&format!("/api/v1/bookings/{id}/check-in"), Some(&lab.op), json!({"reason": " "})).await;
    assert_eq!(no_reason.status, 422);

    // Nobody came: the job marks the no-show; the maker turns up late and the operator corrects it.
    lab.app.clock.set(ms(10, 20));
    assert_eq!(lab.run_jobs().await.no_shows, 1);
    assert_eq!(lab.app.get(&format!("/api/v1/bookings/{id}"), Some(&maker)).await.body["status"], "no_show");
    let s = lab
        .app
        .post(&format!("/api/v1/bookings/{id}/check-in"), Some(&lab.op), json!({"reason": "phone battery dead"}))
        .await;
    assert_eq!(s.status, 200, "{}", s.text);
    assert_eq!(s.body["opened_by"], "operator");
    assert_eq!(s.body["note"], "phone battery dead");
    lab.app.clock.set(ms(10, 40));
    let out = lab
        .app
        .post(&format!("/api/v1/bookings/{id}/check-out"), Some(&lab.op), json!({"reason": "left in a hurry"}))
        .await;
    assert_eq!(out.status, 200, "{}", out.text);
    assert_eq!(out.body["closed_by"], "operator");
    assert_eq!(out.body["minutes"], 20);
    let again = lab.app.post(&format!("/api/v1/bookings/{id}/check-out"), Some(&lab.op), json!({"reason": "x"})).await;
    assert_eq!((again.status, again.code()), (409, "not_checked_in"));

    let sessions = lab.app.get(&format!("/api/v1/spaces/{}/sessions", lab.slug), Some(&lab.op)).await;
    assert_eq!(sessions.body.as_array().unwrap().len(), 1);
    assert_eq!(lab.app.db.verify_ledger().await.unwrap().map(|(n, _)| n), Ok(3), "no-show, check-in, check-out");
}

#[tokio::test]
async fn the_no_show_job_releases_once_even_when_two_nodes_run_it_together_and_offers_the_waitlist() {
    let lab = lab_at(ms(9, 0)).await;
    let mut bookings = Vec::new();
    for i in 0..2 {
        let (_, m) = lab.app.maker(&format!("m{i}@example.org")).await;
        bookings.push(lab.book(&m, &lab.seats, (10, 0), (12, 0)).await);
    }
    // A third maker waits for a seat at that time.
    let (_, waiting) = lab.app.maker("wait@example.org").await;
    let full = lab
        .app
        .post("/api/v1/bookings", Some(&waiting), json!({"resource": lab.seats, "start": at(11, 0), "end": at(12, 0)}))
        .await;
    assert_eq!(full.status, 409, "{}", full.text);
    let w = lab
        .app
        .post("/api/v1/waitlist", Some(&waiting), json!({"resource": lab.seats, "start": at(11, 0), "end": at(12, 0)}))
        .await;
    assert_eq!(w.status, 201, "{}", w.text);

    // Seats have 30 minutes' grace; at 10:29 nothing is due.
    lab.app.clock.set(ms(10, 29));
    assert_eq!(lab.run_jobs().await.no_shows, 0);
    lab.app.clock.set(ms(10, 31));
    let (a, b) = tokio::join!(lab.run_jobs(), lab.run_jobs());
    assert_eq!(a.no_shows + b.no_shows, 2, "each booking released exactly once");
    let entries = lab.app.db.ledger_entries().await.unwrap();
    assert_eq!(entries.iter().filter(|e| e.kind == "no_show").count(), 2);
    for b in &bookings {
        let id = b.id.as_str();
        let row = lab.app.db.booking(&labinn::domain::ids::BookingId::new(id)).await.unwrap();
        assert_eq!(row.status, labinn::domain::booking::BookingStatus::NoShow);
    }
    let mine = lab.app.get("/api/v1/bookings", Some(&waiting)).await;
    assert_eq!(mine.body.as_array().unwrap().len(), 1, "the waiting maker got a freed seat: {}", mine.text);
    assert!(lab.app.db.verify_ledger().await.unwrap().is_ok());
}

#[tokio::test]
async fn an_open_session_is_closed_automatically_after_the_end_and_the_overstay_is_kept() {
    let lab = lab_at(ms(9, 55)).await;
    let (_, maker) = lab.app.maker("lin@example.org").await;
    let (_, kiosk) = lab.kiosk("Front door").await;
    let b = lab.book(&maker, &lab.laser, (10, 0), (11, 0)).await;
    assert_eq!(lab.scan(&kiosk, b.qr()).await["decision"], "check_in");
    lab.app.clock.set(ms(11, 14));
    assert_eq!(lab.run_jobs().await.checked_out, 0, "15 minutes' grace after the end");
    lab.app.clock.set(ms(11, 16));
    assert_eq!(lab.run_jobs().await.checked_out, 1);
    assert_eq!(lab.run_jobs().await.checked_out, 0, "idempotent");
    let id = b.id.as_str();
    let s = lab.app.get(&format!("/api/v1/bookings/{id}/sessions"), Some(&maker)).await;
    assert_eq!(s.body[0]["closed_by"], "automatic");
    assert_eq!(s.body[0]["ended_at"], "2026-09-07T03:15:00Z");
    assert_eq!(s.body[0]["overstay_minutes"], 15);
}

#[tokio::test]
async fn a_reminder_is_queued_once_before_the_start() {
    let lab = lab_at(ms(8, 30)).await;
    let (_, maker) = lab.app.maker("lin@example.org").await;
    lab.book(&maker, &lab.laser, (10, 0), (11, 0)).await;
    assert_eq!(lab.run_jobs().await.reminders, 0, "more than an hour ahead");
    lab.app.clock.set(ms(9, 5));
    assert_eq!(lab.run_jobs().await.reminders, 1);
    assert_eq!(lab.run_jobs().await.reminders, 0);
    let n = lab.app.get("/api/v1/notifications", Some(&maker)).await;
    assert!(n.body.as_array().unwrap().iter().any(|x| x["kind"] == "reminder"), "{}", n.text);
    assert_eq!(lab.app.db.outbox_of("reminder").await.unwrap().len(), 0, "no SMTP relay configured: in-app only");
}

/// A one-connection-at-a-time SMTP server that records each message's DATA; the first
/// `refuse` connections are answered 421 (busy).
async fn fake_smtp(refuse: usize) -> (u16, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let got: std::sync::Arc<std::sync::Mutex<Vec<String>>> = Default::default();
    let g = got.clone();
    tokio::spawn(async move {
        let mut n = 0;
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            n += 1;
            let (r, mut w) = stream.into_split();
            if n <= refuse {
                let _ = w.write_all(b"421 busy, try later\r\n").await;
                continue;
            }
            let mut r = BufReader::new(r);
            w.write_all(b"220 fake ESMTP\r\n").await.unwrap();
            let mut data = String::new();
            let mut in_data = false;
            loop {
                let mut line = String::new();
                if r.read_line(&mut line).await.unwrap() == 0 {
                    break;
                }
                if in_data {
                    if line == ".\r\n" {
                        in_data = false;
                        g.lock().unwrap().push(std::mem::take(&mut data));
                        w.write_all(b"250 queued\r\n").await.unwrap();
                    } else {
                        data.push_str(&line);
                    }
                } else if line.starts_with("EHLO") {
                    w.write_all(b"250-fake\r\n250 8BITMIME\r\n").await.unwrap();
                } else if line.starts_with("DATA") {
                    in_data = true;
                    w.write_all(b"354 go on\r\n").await.unwrap();
                } else if line.starts_with("QUIT") {
                    w.write_all(b"221 bye\r\n").await.unwrap();
                    break;
                } else {
                    w.write_all(b"250 ok\r\n").await.unwrap();
                }
            }
        }
    });
    (port, got)
}

#[tokio::test]
async fn with_an_smtp_relay_the_reminder_is_mailed_and_retried_when_the_relay_is_busy() {
    let (port, got) = fake_smtp(1).await;
    let lab = lab_with(ms(9, 5), |s| labinn::config::Settings {
        smtp_url: Some(format!("smtp://127.0.0.1:{port}")),
        smtp_from: Some("reminders@labinn.test".into()),
        ..s
    })
    .await;
    let (_, maker) = lab.app.maker("lin@example.org").await;
    let b = lab.book(&maker, &lab.laser, (10, 0), (11, 0)).await;
    let first = lab.run_jobs().await;
    assert_eq!((first.reminders, first.mailed), (1, 0), "the relay said 421");
    lab.app.clock.set(ms(9, 5) + 2_000);
    assert_eq!(lab.run_jobs().await.mailed, 1, "retried after 2 s");
    let mail = got.lock().unwrap()[0].clone();
    assert!(mail.contains("To: lin@example.org"), "{mail}");
    assert!(mail.contains("Subject: =?UTF-8?B?"), "a Chinese subject is encoded: {mail}");
    assert!(mail.contains("starts at 2026-09-07 10:00 (Asia/Shanghai)"), "{mail}");
    let short = b.short();
    assert!(mail.contains(short), "the typed code is in the mail: {mail}");
    assert_eq!(lab.run_jobs().await.mailed, 0, "sent once");
}

#[tokio::test]
async fn a_walk_up_with_a_personal_code_books_a_free_seat_and_checks_in() {
    let lab = lab_at(ms(13, 7)).await;
    let (_, maker) = lab.app.maker("walk@example.org").await;
    let (_, kiosk) = lab.kiosk("Desk area").await;
    let me = lab.app.get("/api/v1/me/code", Some(&maker)).await;
    let personal = me.body["qr"].as_str().unwrap().to_owned();
    assert!(personal.starts_with("P."));
    let r = lab.scan(&kiosk, &personal).await;
    assert_eq!(r["decision"], "check_in", "{r}");
    assert_eq!(r["walk_up"], true);
    assert_eq!(r["booking"]["resource_en"], "Hot desks");
    assert_eq!(r["booking"]["from_local"], "13:07");
    // The seat policy allows up to 24 h, so the walk-up runs to closing time (22:00).
    assert_eq!(r["booking"]["until_local"], "22:00");
    let mine = lab.app.my_bookings(&maker, "").await;
    assert_eq!(mine[0].kind, "walk_up");
    assert_eq!(mine[0].status, "checked_in");

    // The same personal code checks out.
    lab.app.clock.set(ms(15, 0));
    assert_eq!(lab.scan(&kiosk, &personal).await["decision"], "check_out");

    // Tampered personal codes are forged; the laser cutter allows no walk-ups.
    let mut bad = personal.clone();
    bad.replace_range(5..6, if &personal[5..6] == "A" { "B" } else { "A" });
    assert_eq!(lab.scan(&kiosk, &bad).await["reason"], "forged");
    let k = lab
        .app
        .post(
            &format!("/api/v1/spaces/{}/kiosks", lab.slug),
            Some(&lab.op),
            json!({"name": "Laser", "resource": lab.laser}),
        )
        .await;
    let p = lab.app.post("/api/v1/kiosk/pair", None, json!({"pairing_code": k.body["pairing_code"]})).await;
    let laser_kiosk = p.body["token"].as_str().unwrap().to_owned();
    assert_eq!(lab.scan(&laser_kiosk, &personal).await["reason"], "no_booking");
}

#[tokio::test]
async fn the_ledger_catches_an_edited_session_and_a_rewritten_entry() {
    let lab = lab_at(ms(9, 50)).await;
    let (_, maker) = lab.app.maker("lin@example.org").await;
    let (_, kiosk) = lab.kiosk("Front door").await;
    let b = lab.book(&maker, &lab.laser, (10, 0), (11, 0)).await;
    lab.scan(&kiosk, b.qr()).await;
    lab.app.clock.set(ms(10, 30));
    lab.scan(&kiosk, b.qr()).await;
    let head = lab.app.get("/api/v1/ledger/head", Some(&lab.op)).await;
    assert_eq!(head.status, 200, "{}", head.text);
    assert_eq!(head.body["count"], 2);
    let (_, plain) = lab.app.maker("nobody@example.org").await;
    assert_eq!(lab.app.get("/api/v1/ledger/head", Some(&plain)).await.status, 403);
    let verdict = lab.app.db.verify_ledger().await.unwrap();
    assert_eq!(verdict, Ok((2, head.body["head"].as_str().unwrap().to_owned())));

    // Someone stretches the metered time directly in the database.
    let id = b.id.as_str();
    sqlx_exec(&lab.app, &format!("UPDATE sessions SET ended_at = ended_at + 3600000 WHERE booking_id = '{id}'")).await;
    let broken = lab.app.db.verify_ledger().await.unwrap().unwrap_err();
    assert!(broken.contains("differs from ledger entry 2 in ended_at"), "{broken}");

    // ... and then rewrites the ledger entry to match: the chain breaks there.
    let payload = sqlx_scalar(&lab.app, "SELECT payload FROM ledger WHERE seq = 2").await.unwrap();
    let mut v: Value = serde_json::from_str(&payload).unwrap();
    v["ended_at"] = json!(v["ended_at"].as_i64().unwrap() + 3_600_000);
    sqlx_exec(
        &lab.app,
        &format!("UPDATE ledger SET payload = '{}' WHERE seq = 2", labinn::domain::ledger::canonical_json(&v)),
    )
    .await;
    let broken = lab.app.db.verify_ledger().await.unwrap().unwrap_err();
    assert_eq!(broken, "entry 2 was altered: its stored hash does not match its contents");

    // The command says the same and exits 1.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_labinn"))
        .args(["verify-ledger", "--database-url", &lab.app.fresh.url, "--log", "error"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("entry 2 was altered"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test]
async fn a_camera_frame_is_decoded_on_the_server_for_kiosks_without_barcode_detector() {
    let lab = lab_at(ms(9, 50)).await;
    let (_, kiosk) = lab.kiosk("Front door").await;
    let code = qrcode::QrCode::new(b"B.hello-frame").unwrap();
    let img = code.render::<image::Luma<u8>>().min_dimensions(200, 200).build();
    let (w, h) = img.dimensions();
    let r = lab
        .app
        .send(
            lab.app
                .client
                .post(lab.app.url(&format!("/api/v1/kiosk/decode?width={w}&height={h}")))
                .bearer_auth(&kiosk)
                .header("content-type", "application/octet-stream")
                .body(img.into_raw()),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["text"], "B.hello-frame");
    let bad = lab
        .app
        .send(
            lab.app
                .client
                .post(lab.app.url("/api/v1/kiosk/decode?width=10&height=10"))
                .bearer_auth(&kiosk)
                .body(vec![0u8; 5]),
        )
        .await;
    assert_eq!((bad.status, bad.code()), (422, "validation_failed"));
}

/// A lab whose node publishes access events (settings changed before start).
pub async fn lab_with(now: i64, tweak: impl FnOnce(labinn::config::Settings) -> labinn::config::Settings) -> Lab {
    let fresh = crate::helpers::FreshDb::new().await;
    let app = crate::helpers::spawn_with_clock(fresh, tweak, labinn::clock::Clock::fixed(now)).await;
    lab_at_app(app).await
}

/// A space in Shanghai open 08:00–22:00 with a laser cutter (LC-1) and two hot desks.
pub async fn lab_at_app(app: TestApp) -> Lab {
    let (op, slug) = operated_space(&app, "fab", "Asia/Shanghai").await;
    open_daily(&app, &op, &slug, "08:00", 840).await;
    let resource = |body: Value| {
        let (app, op, slug) = (&app, op.clone(), slug.clone());
        async move {
            let r = app.post(&format!("/api/v1/spaces/{slug}/resources"), Some(&op), body).await;
            assert_eq!(r.status, 201, "{}", r.text);
            r.body["id"].as_str().unwrap().to_owned()
        }
    };
    let laser = resource(
        json!({"kind": "tool", "name_zh": "激光切割机", "name_en": "Laser cutter", "units": {"labels": ["LC-1"]}}),
    )
    .await;
    let seats = resource(
        json!({"kind": "broadband_seat", "name_zh": "工位", "name_en": "Hot desks", "units": {"count": 2, "prefix": "A-"}}),
    )
    .await;
    Lab { op, slug, laser, seats, app }
}

#[tokio::test]
async fn a_check_in_is_published_to_the_mqtt_topic_of_its_unit() {
    if tokio::net::TcpStream::connect("127.0.0.1:1883").await.is_err() {
        crate::helpers::missing_component("Mosquitto at 127.0.0.1:1883 is not running");
        return;
    }
    let lab =
        lab_with(ms(9, 55), |s| labinn::config::Settings { mqtt_url: Some("mqtt://127.0.0.1:1883".into()), ..s }).await;
    let (maker_id, maker) = lab.app.maker("lin@example.org").await;
    let (_, kiosk) = lab.kiosk("Front door").await;
    let b = lab.book(&maker, &lab.laser, (10, 0), (11, 0)).await;
    let unit = b.unit_id.as_str().to_owned();

    // A door controller subscribes to its unit's topic.
    let topic = format!("labinn/fab/{unit}/access");
    let mut options = rumqttc::MqttOptions::new(format!("door-{}", &unit[..8]), "127.0.0.1", 1883);
    options.set_keep_alive(std::time::Duration::from_secs(5));
    let (client, mut events) = rumqttc::AsyncClient::new(options, 10);
    client.subscribe(&topic, rumqttc::QoS::AtLeastOnce).await.unwrap();
    let subscribed = tokio::time::timeout(std::time::Duration::from_secs(5), async {
        loop {
            if let rumqttc::Event::Incoming(rumqttc::Packet::SubAck(_)) = events.poll().await.unwrap() {
                break;
            }
        }
    })
    .await;
    assert!(subscribed.is_ok(), "subscribed to the broker");

    assert_eq!(lab.scan(&kiosk, b.qr()).await["decision"], "check_in");
    let got = tokio::time::timeout(std::time::Duration::from_secs(5), async {
        loop {
            if let rumqttc::Event::Incoming(rumqttc::Packet::Publish(p)) = events.poll().await.unwrap() {
                return (p.topic.clone(), serde_json::from_slice::<Value>(&p.payload).unwrap());
            }
        }
    })
    .await
    .expect("the access event arrives within 5 s");
    assert_eq!(got.0, topic);
    assert_eq!(got.1["action"], "check_in");
    assert_eq!(got.1["maker"], maker_id.as_str());
    assert_eq!(got.1["unit_label"], "LC-1");
    assert_eq!(got.1["until"], "2026-09-07T03:00:00Z");
    assert_eq!(got.1["by"], "kiosk");
}

#[tokio::test]
async fn webhooks_are_signed_and_retried_until_the_receiver_takes_them() {
    use std::sync::{Arc, Mutex};
    // A receiver that fails the first delivery.
    let seen: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let s2 = seen.clone();
    let receiver = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: axum::http::HeaderMap, body: String| {
            let seen = s2.clone();
            async move {
                let sig = headers["x-labinn-signature"].to_str().unwrap().to_owned();
                let mut v = seen.lock().unwrap();
                v.push((sig, body));
                if v.len() == 1 {
                    axum::http::StatusCode::SERVICE_UNAVAILABLE
                } else {
                    axum::http::StatusCode::NO_CONTENT
                }
            }
        }),
    );
    tokio::spawn(async move { axum::serve(listener, receiver).await.unwrap() });

    let key = "a-shared-webhook-key";
    let lab = lab_with(ms(9, 55), |s| labinn::config::Settings {
        webhook_url: Some(format!("http://{addr}/hook")),
        webhook_secret: Some(key.into()),
        ..s
    })
    .await;
    let (_, maker) = lab.app.maker("lin@example.org").await;
    let (_, kiosk) = lab.kiosk("Front door").await;
    let b = lab.book(&maker, &lab.laser, (10, 0), (11, 0)).await;
    assert_eq!(lab.scan(&kiosk, b.qr()).await["decision"], "check_in");

    let client = reqwest::Client::new();
    let now = lab.app.clock.now_ms();
    assert_eq!(
        labinn::service::notify::deliver_webhooks(&lab.app.state.svc, &client, now).await.unwrap(),
        0,
        "the receiver said 503"
    );
    assert_eq!(
        labinn::service::notify::deliver_webhooks(&lab.app.state.svc, &client, now + 1_000).await.unwrap(),
        0,
        "not due again yet"
    );
    assert_eq!(
        labinn::service::notify::deliver_webhooks(&lab.app.state.svc, &client, now + 2_000).await.unwrap(),
        1,
        "retried after 2 s"
    );
    let v = seen.lock().unwrap().clone();
    assert_eq!(v.len(), 2);
    let (sig, body) = &v[1];
    assert_eq!(sig, &format!("sha256={}", labinn::domain::checkin::hmac_sha256_hex(key.as_bytes(), body.as_bytes())));
    let event: Value = serde_json::from_str(body).unwrap();
    assert_eq!(event["action"], "check_in");
    let log = lab.app.db.outbox_of("webhook").await.unwrap();
    assert_eq!((log[0].1.is_some(), log[0].2), (true, 2), "sent on the second attempt");
}

#[tokio::test]
async fn a_second_node_on_the_same_database_accepts_the_codes_of_the_first() {
    let lab = lab_at(ms(9, 55)).await;
    let (_, maker) = lab.app.maker("lin@example.org").await;
    let b = lab.book(&maker, &lab.laser, (10, 0), (11, 0)).await;
    // Another node on the same database (and, for SQLite, the same data directory), with no
    // secret configured: it finds the one the first node generated.
    let other = crate::helpers::spawn_with_clock(
        crate::helpers::FreshDb::existing(&lab.app.fresh.url),
        |s| s,
        labinn::clock::Clock::fixed(ms(9, 55)),
    )
    .await;
    let k = other.post(&format!("/api/v1/spaces/{}/kiosks", lab.slug), Some(&lab.op), json!({"name": "Node B"})).await;
    assert_eq!(k.status, 201, "{}", k.text);
    let p = other.post("/api/v1/kiosk/pair", None, json!({"pairing_code": k.body["pairing_code"]})).await;
    let token = p.body["token"].as_str().unwrap();
    let r = other.post("/api/v1/kiosk/scan", Some(token), json!({"code": b.qr().to_owned()})).await;
    assert_eq!(r.body["decision"], "check_in", "{}", r.text);
    if !lab.app.fresh.is_postgres() {
        let dir = std::path::Path::new(lab.app.fresh.url.trim_start_matches("sqlite://")).parent().unwrap().to_owned();
        let secret = std::fs::read_to_string(dir.join("checkin-secret")).unwrap();
        assert_eq!(secret.trim().len(), 64, "32 random bytes, hex");
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(dir.join("checkin-secret")).unwrap().permissions().mode() & 0o777, 0o600);
    }
}

fn utc_ms(rfc3339: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(rfc3339).unwrap().timestamp_millis()
}

/// A space in `zone`, open around the clock, with one tool; a maker's booking of `from`–`to`.
async fn round_the_clock(zone: &str, now: &str, from: &str, to: &str) -> (TestApp, String, Booking) {
    let app = spawn_app_at(utc_ms(now)).await;
    let (op, slug) = operated_space(&app, "zone-lab", zone).await;
    open_daily(&app, &op, &slug, "00:00", 1440).await;
    let tool = app
        .post(
            &format!("/api/v1/spaces/{slug}/resources"),
            Some(&op),
            json!({"kind": "tool", "name_zh": "激光切割机", "name_en": "Laser cutter", "units": {"labels": ["LC-1"]}}),
        )
        .await;
    let (_, maker) = app.maker("night@example.org").await;
    let b = app.book(&maker, json!({"resource": tool.body["id"], "start": from, "end": to})).await;
    let k = app.post(&format!("/api/v1/spaces/{slug}/kiosks"), Some(&op), json!({"name": "Door"})).await;
    let p = app.post("/api/v1/kiosk/pair", None, json!({"pairing_code": k.body["pairing_code"]})).await;
    (app, p.body["token"].as_str().unwrap().to_owned(), b)
}

#[tokio::test]
async fn across_the_spring_forward_night_in_berlin_the_kiosk_speaks_wall_clock_and_meters_real_time() {
    // 01:30 CET to 03:30 CEST on 2026-03-29 is one real hour: 02:00-03:00 does not exist.
    let (app, kiosk, b) = round_the_clock(
        "Europe/Berlin",
        "2026-03-29T00:00:00Z",
        "2026-03-29T01:30:00+01:00",
        "2026-03-29T03:30:00+02:00",
    )
    .await;
    let code = b.qr().to_owned();
    let scan = |c: String| app.post("/api/v1/kiosk/scan", Some(&kiosk), json!({"code": c}));
    let early = scan(code.clone()).await;
    assert_eq!(early.body["reason"], "too_early");
    assert_eq!(early.body["allowed_from_local"], "01:15", "{}", early.text);
    app.clock.set(utc_ms("2026-03-29T01:20:00+01:00"));
    let ok = scan(code.clone()).await;
    assert_eq!(ok.body["booking"]["until_local"], "03:30", "{}", ok.text);
    app.clock.set(utc_ms("2026-03-29T03:30:00+02:00"));
    assert_eq!(scan(code).await.body["decision"], "check_out");
    let id = b.id.as_str();
    let s = app.db.metered_sessions_of(&labinn::domain::ids::BookingId::new(id)).await.unwrap();
    assert_eq!(s[0].ended_at.unwrap() - s[0].started_at, 70 * MIN, "01:20 CET to 03:30 CEST is 70 real minutes");
}

#[tokio::test]
async fn across_the_fall_back_night_in_los_angeles_a_no_show_waits_for_real_time() {
    // 00:30 PDT to 01:30 PST on 2026-11-01 is two real hours (01:00-02:00 happens twice).
    let (app, kiosk, b) = round_the_clock(
        "America/Los_Angeles",
        "2026-11-01T00:00:00-07:00",
        "2026-11-01T00:30:00-07:00",
        "2026-11-01T01:30:00-08:00",
    )
    .await;
    assert_eq!(b.when.end_local, "2026-11-01T01:30:00-08:00");
    // The no-show grace (15 minutes) is real time: at the first 00:44 nothing is due...
    app.clock.set(utc_ms("2026-11-01T00:44:00-07:00"));
    let jobs = labinn::jobs::run_once(&app.state.svc, &reqwest::Client::new(), app.clock.now_ms()).await;
    assert_eq!(jobs.no_shows, 0);
    // ... and at the second 01:00 (PST), 90 real minutes after the start, the booking is a no-show.
    app.clock.set(utc_ms("2026-11-01T01:00:00-08:00"));
    let jobs = labinn::jobs::run_once(&app.state.svc, &reqwest::Client::new(), app.clock.now_ms()).await;
    assert_eq!(jobs.no_shows, 1);
    let r = app.post("/api/v1/kiosk/scan", Some(&kiosk), json!({"code": b.qr().to_owned()})).await;
    assert_eq!(r.body["reason"], "no_show", "{}", r.text);
    assert_eq!(r.body["booking"]["until_local"], "01:30");
}

#[tokio::test]
async fn a_walk_up_ends_where_the_next_booking_and_the_cool_down_begin() {
    let lab = lab_at(ms(13, 7)).await;
    let printer = lab
        .app
        .post(
            &format!("/api/v1/spaces/{}/resources", lab.slug),
            Some(&lab.op),
            json!({"kind": "tool", "name_zh": "3D 打印机", "name_en": "3D printer", "units": {"labels": ["P1"]},
                   "policy": {"walk_ups_allowed": true, "buffer_after_minutes": 15}}),
        )
        .await;
    assert_eq!(printer.status, 201, "{}", printer.text);
    let pid = printer.body["id"].as_str().unwrap().to_owned();
    let (_, early_bird) = lab.app.maker("booked@example.org").await;
    lab.book(&early_bird, &pid, (14, 0), (15, 0)).await;
    let k = lab
        .app
        .post(
            &format!("/api/v1/spaces/{}/kiosks", lab.slug),
            Some(&lab.op),
            json!({"name": "Printer", "resource": pid}),
        )
        .await;
    let p = lab.app.post("/api/v1/kiosk/pair", None, json!({"pairing_code": k.body["pairing_code"]})).await;
    let kiosk = p.body["token"].as_str().unwrap().to_owned();
    let (_, walker) = lab.app.maker("walker@example.org").await;
    let personal = lab.app.get("/api/v1/me/code", Some(&walker)).await.body["qr"].as_str().unwrap().to_owned();
    let r = lab.scan(&kiosk, &personal).await;
    assert_eq!(r["walk_up"], true, "{r}");
    // Its own cool-down (15 minutes) must end before the 14:00 booking starts.
    assert_eq!(r["booking"]["until_local"], "13:45", "{r}");
}

#[tokio::test]
async fn a_password_reset_link_is_mailed_through_the_relay_once() {
    let (port, got) = fake_smtp(0).await;
    let lab = lab_with(ms(9, 5), |s| labinn::config::Settings {
        smtp_url: Some(format!("smtp://127.0.0.1:{port}")),
        smtp_from: Some("accounts@labinn.test".into()),
        public_url: Some("https://labinn.example".into()),
        ..s
    })
    .await;
    lab.app.maker("forgot@example.org").await;
    labinn::service::accounts::request_reset(&lab.app.state.svc, "forgot@example.org", None, ms(9, 5)).await.unwrap();
    assert_eq!(lab.run_jobs().await.mailed, 1);
    let mail = got.lock().unwrap()[0].clone();
    assert!(mail.contains("To: forgot@example.org"), "{mail}");
    assert!(mail.contains("https://labinn.example/reset?token=lbn_"), "the link is to public_url: {mail}");
    assert_eq!(lab.run_jobs().await.mailed, 0, "sent once");
}
