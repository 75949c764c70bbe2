//! The kiosk page in a real browser: headless Chromium driven over WebDriver (chromedriver),
//! with a small client written against the W3C protocol. Screenshots of the green and red
//! panels are saved under `target/browser-artifacts/`.

use crate::checkin::{Lab, lab_at, ms};
use crate::helpers::missing_component;
use labinn::domain::booking::BookingStatus;
use labinn::domain::checkin::SessionOrigin;
use labinn::domain::ids::BookingId;
use serde_json::{Value, json};
use std::path::PathBuf;
use std::time::{Duration, Instant};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

struct Driver {
    child: std::process::Child,
    base: String,
    http: reqwest::Client,
}

impl Drop for Driver {
    fn drop(&mut self) {
        // chromedriver leads its own process group: end the browsers it started too, even
        // when a failed test never closed its session.
        let _ = std::process::Command::new("kill").args(["-9", "--", &format!("-{}", self.child.id())]).status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct Browser<'a> {
    driver: &'a Driver,
    session: String,
}

impl Driver {
    async fn start() -> Option<Driver> {
        if !std::path::Path::new(CHROMIUM).exists() || !std::path::Path::new(CHROMEDRIVER).exists() {
            missing_component("Chromium and chromedriver (apt-get install chromium chromium-driver)");
            return None;
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        use std::os::unix::process::CommandExt;
        let child = std::process::Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .process_group(0)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let d = Driver { child, base: format!("http://127.0.0.1:{port}"), http: reqwest::Client::new() };
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(r) = d.http.get(format!("{}/status", d.base)).send().await
                && let Ok(v) = r.json::<Value>().await
                && v["value"]["ready"] == true
            {
                return Some(d);
            }
            assert!(Instant::now() < deadline, "chromedriver did not become ready");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn browser(&self, extra_args: &[String]) -> Browser<'_> {
        self.browser_with(extra_args, json!({})).await
    }

    /// A browser that saves downloads into `dir`.
    async fn downloading(&self, dir: &std::path::Path) -> Browser<'_> {
        std::fs::create_dir_all(dir).unwrap();
        let prefs = json!({"download.default_directory": dir.to_str().unwrap(), "download.prompt_for_download": false});
        self.browser_with(&["--window-size=1280,900".to_owned()], prefs).await
    }

    async fn browser_with(&self, extra_args: &[String], prefs: Value) -> Browser<'_> {
        let mut args: Vec<String> = [
            "--headless=new",
            "--no-sandbox",
            "--disable-background-networking",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--window-size=1024,768",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        args.extend_from_slice(extra_args);
        let caps = json!({"capabilities": {"alwaysMatch": {"browserName": "chrome",
            "goog:chromeOptions": {"binary": CHROMIUM, "args": args, "prefs": prefs},
            "goog:loggingPrefs": {"browser": "ALL"}}}});
        let r: Value =
            self.http.post(format!("{}/session", self.base)).json(&caps).send().await.unwrap().json().await.unwrap();
        let session = r["value"]["sessionId"].as_str().unwrap_or_else(|| panic!("no session: {r}")).to_owned();
        Browser { driver: self, session }
    }
}

impl Browser<'_> {
    async fn cmd(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}/session/{}{path}", self.driver.base, self.session);
        let mut req = self.driver.http.request(method, url);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let v: Value = req.send().await.unwrap().json().await.unwrap();
        v["value"].clone()
    }

    async fn goto(&self, url: &str) {
        self.cmd(reqwest::Method::POST, "/url", Some(json!({"url": url}))).await;
    }

    async fn find(&self, css: &str) -> Option<String> {
        let v = self.cmd(reqwest::Method::POST, "/element", Some(json!({"using": "css selector", "value": css}))).await;
        v.as_object().and_then(|o| o.values().next()).and_then(|x| x.as_str()).map(str::to_owned)
    }

    async fn click(&self, css: &str) {
        let el = self.find(css).await.unwrap_or_else(|| panic!("no element {css}"));
        assert!(!el.contains(' '), "no element {css}: {el}");
        self.cmd(reqwest::Method::POST, &format!("/element/{el}/click"), Some(json!({}))).await;
    }

    async fn type_into(&self, css: &str, text: &str) {
        let el = self.find(css).await.unwrap_or_else(|| panic!("no element {css}"));
        self.cmd(reqwest::Method::POST, &format!("/element/{el}/value"), Some(json!({"text": text}))).await;
    }

    /// The console's errors since the last call (failed loads, CSP refusals, exceptions).
    async fn console_errors(&self) -> Vec<String> {
        let log = self.cmd(reqwest::Method::POST, "/se/log", Some(json!({"type": "browser"}))).await;
        log.as_array()
            .unwrap_or_else(|| panic!("no browser log: {log}"))
            .iter()
            .filter(|e| e["level"] == "SEVERE")
            .map(|e| e["message"].as_str().unwrap_or("").to_owned())
            .collect()
    }

    async fn js(&self, script: &str) -> Value {
        self.cmd(reqwest::Method::POST, "/execute/sync", Some(json!({"script": script, "args": []}))).await
    }

    /// Waits until `script` returns something truthy; returns it.
    async fn wait_for(&self, script: &str, what: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let v = self.js(script).await;
            if !(v.is_null() || v == false || v == "") {
                return v;
            }
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn screenshot(&self, name: &str) -> PathBuf {
        use base64::Engine;
        let v = self.cmd(reqwest::Method::GET, "/screenshot", None).await;
        let png = base64::engine::general_purpose::STANDARD.decode(v.as_str().unwrap()).unwrap();
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/browser-artifacts");
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, png).unwrap();
        path
    }

    async fn quit(self) {
        let url = format!("{}/session/{}", self.driver.base, self.session);
        let _ = self.driver.http.delete(url).send().await;
    }
}

const RESULT: &str = "const r = document.getElementById('result'); return r.hidden ? null : r.dataset.decision + '|' + (r.dataset.reason || '') + '|' + document.getElementById('result-detail').textContent;";
const READY: &str = "return !document.getElementById('ready').hidden;";

async fn booked(lab: &Lab, email: &str) -> (String, String) {
    let (_, maker) = lab.app.maker(email).await;
    let b = lab.book(&maker, &lab.laser, (10, 0), (11, 0)).await;
    (b.id.clone(), b.qr().to_owned())
}

#[tokio::test]
async fn the_kiosk_page_pairs_checks_in_with_a_wedge_scanner_denies_a_forgery_and_checks_out() {
    let Some(driver) = Driver::start().await else { return };
    let lab = lab_at(ms(9, 55)).await;
    let (booking, code) = booked(&lab, "lin@example.org").await;
    let k = lab
        .app
        .post(&format!("/api/v1/spaces/{}/kiosks", lab.slug), Some(&lab.op), json!({"name": "Front door"}))
        .await;
    let pairing = k.body["pairing_code"].as_str().unwrap().to_owned();

    let b = driver.browser(&[]).await;
    b.goto(&lab.app.url("/kiosk?reset=800")).await;
    b.wait_for("return !document.getElementById('pairing').hidden;", "the pairing screen").await;
    b.type_into("#pair-code", &pairing).await;
    b.type_into("#pair-code", "\u{E007}").await;
    b.wait_for(READY, "the ready screen after pairing").await;
    assert_eq!(b.js("return document.getElementById('space-name').textContent").await, "测试空间");

    // The scanner types the code and Enter into whatever has focus.
    b.type_into("#scan-input", &format!("{code}\u{E007}")).await;
    let green = b.wait_for(RESULT, "the check-in answer").await;
    assert!(green.as_str().unwrap().starts_with("check_in||已签到：激光切割机 LC-1，至 11:00"), "{green}");
    let shot = b.screenshot("kiosk-green-check-in.png").await;
    assert!(std::fs::metadata(shot).unwrap().len() > 1000);
    let sessions = lab.app.db.metered_sessions_of(&BookingId::new(&booking)).await.unwrap();
    assert_eq!(sessions.len(), 1, "the session exists");
    assert_eq!(sessions[0].opened_by, SessionOrigin::Kiosk);

    // Forged: flip a character of the signature.
    b.wait_for(READY, "the reset").await;
    let mut forged = code.clone();
    let i = forged.len() - 2;
    let c = if &forged[i..=i] == "A" { "B" } else { "A" };
    forged.replace_range(i..=i, c);
    b.type_into("#scan-input", &format!("{forged}\u{E007}")).await;
    let red = b.wait_for(RESULT, "the forged answer").await;
    assert!(red.as_str().unwrap().starts_with("deny|forged|"), "{red}");
    b.screenshot("kiosk-red-forged.png").await;

    // English, and the second scan checks out.
    b.wait_for(READY, "the reset").await;
    b.js("document.getElementById('lang').click(); return true;").await;
    lab.app.clock.set(ms(10, 45));
    b.type_into("#scan-input", &format!("{code}\u{E007}")).await;
    let out = b.wait_for(RESULT, "the check-out answer").await;
    assert!(out.as_str().unwrap().starts_with("check_out||Checked out: Laser cutter LC-1"), "{out}");
    assert!(lab.app.db.metered_sessions_of(&BookingId::new(&booking)).await.unwrap()[0].ended_at.is_some());
    b.quit().await;
}

/// A Y4M video (Chromium's fake camera) showing `text` as a QR code, 640 × 480, a few frames.
fn qr_video(text: &str) -> PathBuf {
    let code = qrcode::QrCode::new(text.as_bytes()).unwrap();
    let img = code.render::<image::Luma<u8>>().min_dimensions(300, 300).build();
    let (w, h) = (640usize, 480usize);
    let mut y = vec![255u8; w * h];
    let (iw, ih) = (img.width() as usize, img.height() as usize);
    let (ox, oy) = ((w - iw) / 2, (h - ih) / 2);
    for (x, yy, p) in img.enumerate_pixels() {
        y[(oy + yy as usize) * w + ox + x as usize] = p.0[0];
    }
    let mut out = b"YUV4MPEG2 W640 H480 F10:1 Ip A1:1 C420jpeg\n".to_vec();
    for _ in 0..10 {
        out.extend_from_slice(b"FRAME\n");
        out.extend_from_slice(&y);
        out.extend(std::iter::repeat_n(128u8, w * h / 2));
    }
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/browser-artifacts");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("qr-{}.y4m", uuid::Uuid::new_v4().simple()));
    std::fs::write(&path, out).unwrap();
    path
}

#[tokio::test]
async fn the_kiosk_camera_reads_a_qr_code_from_chromiums_fake_camera() {
    let Some(driver) = Driver::start().await else { return };
    let lab = lab_at(ms(9, 55)).await;
    let (booking, code) = booked(&lab, "cam@example.org").await;
    let (_, token) = lab.kiosk("Camera kiosk").await;
    let video = qr_video(&code);

    let b = driver
        .browser(&[
            "--use-fake-ui-for-media-stream".into(),
            "--use-fake-device-for-media-stream".into(),
            format!("--use-file-for-fake-video-capture={}", video.display()),
        ])
        .await;
    // The device token is already there, as after pairing.
    b.goto(&lab.app.url("/kiosk/kiosk.css")).await;
    b.js(&format!("localStorage.setItem('labinn.kiosk.token', '{token}'); return true;")).await;
    // `away=1000`: a code is read again only after a second out of view.
    b.goto(&lab.app.url("/kiosk?camera=1&reset=800&away=1000")).await;
    let answer = b.wait_for(RESULT, "a check-in from the camera").await;
    assert!(answer.as_str().unwrap().starts_with("check_in||"), "{answer}");
    assert_eq!(lab.app.db.metered_sessions_of(&BookingId::new(&booking)).await.unwrap().len(), 1);
    b.screenshot("kiosk-camera-check-in.png").await;
    // The phone stays in front of the camera, three times as long as `away`, after the panel
    // resets: it is still in view, so it must not check out.
    lab.app.clock.set(ms(9, 55) + 10_000);
    tokio::time::sleep(Duration::from_millis(3000)).await;
    assert_eq!(lab.app.db.booking(&BookingId::new(&booking)).await.unwrap().status, BookingStatus::CheckedIn);
    assert!(lab.app.db.metered_sessions_of(&BookingId::new(&booking)).await.unwrap()[0].ended_at.is_none());
    b.quit().await;
    let _ = std::fs::remove_file(video);
}

#[tokio::test]
async fn the_kiosk_says_when_the_network_drops_and_retries_the_scan() {
    let Some(driver) = Driver::start().await else { return };
    let lab = lab_at(ms(9, 55)).await;
    let (booking, code) = booked(&lab, "offline@example.org").await;
    let (_, token) = lab.kiosk("Front door").await;
    let b = driver.browser(&[]).await;
    b.goto(&lab.app.url("/kiosk/kiosk.css")).await;
    b.js(&format!("localStorage.setItem('labinn.kiosk.token', '{token}'); return true;")).await;
    b.goto(&lab.app.url("/kiosk?reset=800")).await;
    b.wait_for(READY, "the ready screen").await;

    // The network drops just as a maker scans.
    let offline = json!({"network_conditions": {"offline": true, "latency": 0, "download_throughput": 0, "upload_throughput": 0}});
    b.cmd(reqwest::Method::POST, "/chromium/network_conditions", Some(offline)).await;
    b.type_into("#scan-input", &format!("{code}\u{E007}")).await;
    let banner = b
        .wait_for("const n = document.getElementById('network'); return n.hidden ? null : n.textContent;", "the banner")
        .await;
    assert!(banner.as_str().unwrap().contains("网络中断"), "{banner}");
    assert!(
        lab.app.db.metered_sessions_of(&BookingId::new(&booking)).await.unwrap().is_empty(),
        "nothing reached the server"
    );

    // It comes back: the same scan goes through and the banner goes away.
    let online = json!({"network_conditions": {"offline": false, "latency": 0, "download_throughput": -1, "upload_throughput": -1}});
    b.cmd(reqwest::Method::POST, "/chromium/network_conditions", Some(online)).await;
    let answer = b.wait_for(RESULT, "the retried check-in").await;
    assert!(answer.as_str().unwrap().starts_with("check_in||"), "{answer}");
    assert_eq!(b.js("return document.getElementById('network').hidden").await, true);
    assert_eq!(lab.app.db.metered_sessions_of(&BookingId::new(&booking)).await.unwrap().len(), 1);
    b.quit().await;
}

/// The phone's viewport of the issue (390 × 844).
const PHONE: &str = "--window-size=390,844";

#[tokio::test]
async fn a_new_maker_signs_up_books_in_three_taps_sees_the_qr_and_cancels_on_a_phone() {
    let Some(driver) = Driver::start().await else { return };
    let lab = lab_at(ms(8, 0)).await;
    let br = driver.browser(&[PHONE.to_owned()]).await;
    // From the map: sign in, then sign up.
    br.goto(&lab.app.url("/")).await;
    br.click("a[href='/signin']").await;
    br.wait_for("return location.pathname === '/signin';", "the sign-in page").await;
    br.click("a[href^='/signup']").await;
    br.wait_for("return location.pathname === '/signup';", "the sign-up page").await;
    br.type_into("#email", "phone@example.org").await;
    br.type_into("#display_name", "小林").await;
    br.type_into("#password", "correct horse battery").await;
    br.screenshot("pages-1-sign-up.png").await;
    br.click("button[type=submit].btn").await;
    br.wait_for("return location.pathname === '/me';", "my page after signing up").await;

    // The space, the tool, its week.
    br.goto(&lab.app.url(&format!("/spaces/{}", lab.slug))).await;
    br.click(&format!("a[href='/resources/{}']", lab.laser)).await;
    br.wait_for("return document.querySelector('.times a') !== null;", "the week of free times").await;
    br.screenshot("pages-2-resource-week.png").await;
    let rules = br.js("return document.querySelector('ul.rules').textContent").await;
    assert!(rules.as_str().unwrap().contains("无需审批"), "{rules}");

    // Tap 1: 10:00. Tap 2: the length (the first is chosen). Tap 3: confirm.
    br.click("a[href$='start=2026-09-07T02%3A00%3A00Z']").await;
    br.wait_for("return document.getElementById('confirm') !== null;", "the confirm page").await;
    br.click("#minutes option[value='60']").await;
    br.screenshot("pages-3-confirm.png").await;
    br.click("#confirm").await;
    let shown = br
        .wait_for(
            "const img = document.querySelector('img.qr'); \
             return img && img.complete && img.naturalWidth > 0 ? document.querySelector('.short').textContent : null;",
            "the booking with its QR image loaded",
        )
        .await;
    let id = br.js("return location.pathname.split('/').pop()").await.as_str().unwrap().to_owned();
    let row = lab.app.db.booking(&BookingId::new(&id)).await.unwrap();
    assert_eq!(shown, labinn::domain::checkin::display_short(&row.checkin_nonce).as_str());
    assert_eq!(br.js("return document.querySelector('.booking h2').textContent").await, "激光切割机 · LC-1");
    br.screenshot("pages-4-booked-qr.png").await;

    // Cancel it from its page: it asks first.
    br.click("#cancel").await;
    br.wait_for("return document.getElementById('cancel-this') !== null;", "the cancel question").await;
    br.screenshot("pages-4b-cancel-question.png").await;
    br.click("#cancel-this").await;
    br.wait_for("return location.search === '?cancelled=1';", "my page after cancelling").await;
    assert_eq!(lab.app.db.booking(&BookingId::new(&id)).await.unwrap().status, BookingStatus::Cancelled);
    br.screenshot("pages-5-cancelled.png").await;

    // The same pages in English, and at desktop width.
    br.goto(&lab.app.url(&format!("/resources/{}?lang=en", lab.laser))).await;
    let rules = br.js("return document.querySelector('ul.rules').textContent").await;
    assert!(
        rules.as_str().unwrap().contains("Confirmed at once") && rules.as_str().unwrap().contains("Price: Free"),
        "{rules}"
    );
    assert_eq!(br.js("return document.documentElement.lang").await, "en");
    br.screenshot("pages-6-resource-week-en.png").await;
    br.cmd(reqwest::Method::POST, "/window/rect", Some(json!({"width": 1280, "height": 900}))).await;
    br.screenshot("pages-7-resource-week-en-desktop.png").await;
    br.goto(&lab.app.url("/me")).await;
    assert_eq!(br.js("return document.documentElement.lang").await, "en", "the choice is remembered");
    br.screenshot("pages-8-mine-en-desktop.png").await;
    br.quit().await;
}

/// Signs up through the sign-up page, as a new maker on a phone does.
async fn sign_up_in(br: &Browser<'_>, app: &crate::helpers::TestApp, email: &str) {
    br.goto(&app.url("/signup")).await;
    br.type_into("#email", email).await;
    br.type_into("#display_name", "小林").await;
    br.type_into("#password", "correct horse battery").await;
    br.click("button[type=submit].btn").await;
    br.wait_for("return location.pathname === '/me';", "my page after signing up").await;
}

#[tokio::test]
async fn a_maker_books_three_inn_nights_a_seat_for_tomorrow_and_is_booked_from_the_waitlist_on_a_phone() {
    let Some(driver) = Driver::start().await else { return };
    let lab = lab_at(ms(8, 0)).await;
    // An inn open day and night, next to the lab.
    let (inn_op, inn_slug) = crate::helpers::operated_space(&lab.app, "inn", "Asia/Shanghai").await;
    crate::helpers::open_daily(&lab.app, &inn_op, &inn_slug, "00:00", 1440).await;
    let r = lab
        .app
        .post(
            "/api/v1/spaces/inn/resources",
            Some(&inn_op),
            json!({"kind": "inn_room", "name_zh": "创客客栈", "name_en": "Maker inn", "units": {"labels": ["201"]}}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let inn = r.body["id"].as_str().unwrap().to_owned();
    let br = driver.browser(&[PHONE.to_owned()]).await;
    sign_up_in(&br, &lab.app, "traveller@example.org").await;
    // The inn takes verified makers: its operator verifies this one.
    let account = lab.app.db.account_by_email("traveller@example.org").await.unwrap().unwrap();
    let v = lab
        .app
        .post(&format!("/api/v1/accounts/{}/verified", account.id), Some(&inn_op), json!({"verified": true}))
        .await;
    assert_eq!(v.status, 204, "{}", v.text);

    // Three nights from Friday.
    br.goto(&lab.app.url(&format!("/resources/{inn}"))).await;
    br.js("document.getElementById('check_in_date').value = '2026-09-11'; \
           document.getElementById('nights').value = '3'; return true;")
        .await;
    br.screenshot("pages-9-inn-stay.png").await;
    br.click("form[action$='/stay'] button[type=submit]").await;
    let when = br
        .wait_for(
            "return location.pathname.startsWith('/bookings/') && document.querySelector('.when').textContent;",
            "the stay",
        )
        .await;
    assert_eq!(when, "9月11日 周五 14:00 – 9月14日 周一 12:00");
    br.screenshot("pages-10-inn-booked.png").await;

    // A seat for the whole of tomorrow.
    br.goto(&lab.app.url(&format!("/resources/{}?date=2026-09-08", lab.seats))).await;
    br.click("a.whole-day").await;
    br.wait_for("return document.getElementById('confirm') !== null;", "the seat's confirm page").await;
    br.screenshot("pages-11-seat-whole-day.png").await;
    br.click("#confirm").await;
    let when = br
        .wait_for(
            "return location.pathname.startsWith('/bookings/') && document.querySelector('.when').textContent;",
            "the seat",
        )
        .await;
    assert_eq!(when, "9月8日 周二 08:00–22:00");

    // The laser at 10:00 is taken: wait for it, and be booked when its holder cancels.
    // Someone takes it while the confirm page is open.
    br.goto(&lab.app.url(&format!("/resources/{}/book?start=2026-09-07T02%3A00%3A00Z", lab.laser))).await;
    let (_, holder) = lab.app.maker("holder@example.org").await;
    let held = lab.book(&holder, &lab.laser, (10, 0), (11, 0)).await;
    br.click("#minutes option[value='60']").await;
    br.click("#confirm").await;
    br.wait_for("return document.getElementById('join-waitlist') !== null;", "the taken time").await;
    br.screenshot("pages-12-taken-join-waitlist.png").await;
    br.click("#join-waitlist").await;
    br.wait_for("return location.search === '?waiting=1';", "my page, waiting").await;
    let c = lab.app.post(&format!("/api/v1/bookings/{}/cancel", held.id), Some(&holder), json!({})).await;
    assert_eq!(c.status, 200, "{}", c.text);
    br.goto(&lab.app.url("/me")).await;
    let upcoming = br.js("return document.querySelector('ul.upcoming').textContent").await;
    let upcoming = upcoming.as_str().unwrap();
    assert!(upcoming.contains("激光切割机 · LC-1") && upcoming.contains("9月7日 周一 10:00–11:00"), "{upcoming}");
    assert!(upcoming.contains("创客客栈") && upcoming.contains("工位"), "{upcoming}");
    let notes = br.js("return document.querySelector('.notices').textContent").await;
    assert!(notes.as_str().unwrap().contains("候补成功"), "{notes}");
    br.screenshot("pages-13-booked-from-waitlist.png").await;
    // Moving the laser booking: its week says what it moves.
    br.click("ul.upcoming a[href^='/bookings/']").await;
    br.wait_for("return document.getElementById('move') !== null;", "the booking's page").await;
    br.click("#move").await;
    br.wait_for("return document.querySelector('.times a') !== null;", "the move week").await;
    br.screenshot("pages-14-move-week.png").await;
    br.goto(&lab.app.url("/me/profile")).await;
    br.screenshot("pages-15-profile.png").await;
    let errors = br.console_errors().await;
    // The refused booking is answered 409, which the console notes; nothing else.
    assert!(errors.iter().all(|e| e.contains("status of 409")), "{errors:#?}");
    br.quit().await;
}

#[tokio::test]
async fn a_crawl_in_chromium_finds_no_console_error_on_any_kind_of_page_signed_out_or_in() {
    let Some(driver) = Driver::start().await else { return };
    let now = ms(8, 0);
    let app = crate::helpers::spawn_app_at(now).await;
    labinn::demo::seed(&app.state.svc, now).await.unwrap();
    // The pages the crawler over HTTP finds, signed out and signed in, one of each kind.
    let phone = crate::maker_pages::Phone::new(&app);
    let out = crate::maker_pages::crawl(&phone).await;
    let signed = phone
        .post("/signin", &[("email", "maker@labinn.demo"), ("password", "demo-maker-2026"), ("next", "/me")])
        .await;
    assert_eq!(signed.status, 303);
    let inside = crate::maker_pages::crawl(&phone).await;
    let one_of_each = |pages: &[String]| {
        let mut kinds = std::collections::BTreeSet::new();
        pages.iter().filter(|p| kinds.insert(crate::maker_pages::page_kind(p))).cloned().collect::<Vec<_>>()
    };
    let (out, inside) = (one_of_each(&out), one_of_each(&inside));
    let br = driver.browser(&[PHONE.to_owned()]).await;
    let mut errors = Vec::new();
    for p in out.iter().chain(["/kiosk".to_owned()].iter()) {
        br.goto(&app.url(p)).await;
        errors.extend(br.console_errors().await.into_iter().map(|e| format!("{p}: {e}")));
    }
    br.goto(&app.url("/signin")).await;
    br.type_into("#email", "maker@labinn.demo").await;
    br.type_into("#password", "demo-maker-2026").await;
    br.click("button[type=submit].btn").await;
    br.wait_for("return location.pathname === '/me';", "my page after signing in").await;
    for p in &inside {
        br.goto(&app.url(p)).await;
        errors.extend(br.console_errors().await.into_iter().map(|e| format!("{p}: {e}")));
    }
    assert!(errors.is_empty(), "console errors: {errors:#?}");
    assert!(out.len() > 8 && inside.len() > 12, "kinds of page: {} signed out, {} signed in", out.len(), inside.len());
    eprintln!("Chromium loaded {} kinds of page signed out and {} signed in", out.len() + 1, inside.len());
    br.quit().await;
}

// ---------- the consoles in a browser ----------

/// Signs in through the sign-in page.
async fn sign_in_in(br: &Browser<'_>, app: &crate::helpers::TestApp, email: &str) {
    br.goto(&app.url("/signin")).await;
    br.type_into("#email", email).await;
    br.type_into("#password", "correct horse battery").await;
    br.click("button[type=submit].btn").await;
    br.wait_for("return location.pathname !== '/signin';", "the page after signing in").await;
}

/// The first file in `dir` ending in `ext`, once it is whole (Chromium writes `.crdownload`).
async fn downloaded(dir: &std::path::Path, ext: &str) -> PathBuf {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok(entries) = std::fs::read_dir(dir) {
            for e in entries.flatten() {
                let p = e.path();
                if p.extension().is_some_and(|x| x == ext) {
                    return p;
                }
            }
        }
        assert!(Instant::now() < deadline, "no .{ext} was downloaded into {}", dir.display());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn download_dir(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/browser-downloads").join(format!(
        "{name}-{}-{}",
        std::process::id(),
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

#[tokio::test]
async fn an_operator_approves_a_pending_booking_in_the_console_and_the_makers_page_shows_it_approved() {
    let Some(driver) = Driver::start().await else { return };
    let lab = lab_at(ms(8, 0)).await;
    let r = lab
        .app
        .patch_json(
            &format!("/api/v1/resources/{}", lab.laser),
            &lab.op,
            json!({"policy": {"requires_approval": true}}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let (_, maker) = lab.app.maker("lin@example.org").await;
    let b = lab.book(&maker, &lab.laser, (10, 0), (11, 0)).await;
    assert_eq!(b.status, "pending");

    let op = driver.browser(&["--window-size=1280,900".to_owned()]).await;
    sign_in_in(&op, &lab.app, "op-fab@example.org").await;
    op.goto(&lab.app.url("/ops/fab/approvals")).await;
    op.wait_for(&format!("return document.getElementById('pending-{}') !== null;", b.id), "the pending booking").await;
    op.screenshot("console-1-approvals.png").await;
    op.click(&format!("#pending-{} form[action$='/approve'] button", b.id)).await;
    let done =
        op.wait_for("const d = document.getElementById('done'); return d && d.textContent;", "the approval").await;
    assert!(!done.as_str().unwrap().is_empty());
    assert_eq!(lab.app.db.booking(&BookingId::new(&b.id)).await.unwrap().status, BookingStatus::Confirmed);
    op.quit().await;

    let phone = driver.browser(&[PHONE.to_owned()]).await;
    sign_in_in(&phone, &lab.app, "lin@example.org").await;
    phone.goto(&lab.app.url(&format!("/bookings/{}", b.id))).await;
    let text = phone.js("return document.querySelector('main').textContent").await;
    assert!(text.as_str().unwrap().contains("已确认"), "{text}");
    phone.screenshot("console-2-maker-sees-approved.png").await;
    phone.quit().await;
}

#[tokio::test]
async fn an_operator_pairs_a_kiosk_from_the_console_and_the_day_shows_the_check_in_without_a_reload() {
    let Some(driver) = Driver::start().await else { return };
    let lab = lab_at(ms(9, 55)).await;
    let (_, code) = booked(&lab, "lin@example.org").await;
    let op = driver.browser(&["--window-size=1280,900".to_owned()]).await;
    sign_in_in(&op, &lab.app, "op-fab@example.org").await;
    op.goto(&lab.app.url("/spaces/fab/kiosks")).await;
    op.type_into("#kiosk-name", "正门").await;
    op.click("#add-kiosk").await;
    let pairing =
        op.wait_for("const c = document.getElementById('pairing-code'); return c && c.textContent;", "the code").await;
    op.screenshot("console-3-pairing-code.png").await;

    let kiosk = driver.browser(&[]).await;
    kiosk.goto(&lab.app.url("/kiosk?reset=800")).await;
    kiosk.wait_for("return !document.getElementById('pairing').hidden;", "the pairing screen").await;
    kiosk.type_into("#pair-code", pairing.as_str().unwrap()).await;
    kiosk.type_into("#pair-code", "\u{E007}").await;
    kiosk.wait_for(READY, "the ready screen after pairing").await;

    // The day's page, marked, so that a reload would show.
    op.goto(&lab.app.url("/ops/fab")).await;
    op.wait_for("return document.querySelector('#in-now h2') !== null;", "the day").await;
    op.js("window.notReloaded = true; return true;").await;
    assert!(op.js("return document.querySelector('#in-now h2').textContent").await.as_str().unwrap().contains("(0)"));
    kiosk.type_into("#scan-input", &format!("{code}\u{E007}")).await;
    let green = kiosk.wait_for(RESULT, "the check-in answer").await;
    assert!(green.as_str().unwrap().starts_with("check_in"), "{green}");
    op.wait_for("return document.querySelector('#in-now h2').textContent.includes('(1)');", "the check-in on the day")
        .await;
    assert_eq!(op.js("return window.notReloaded === true").await, true, "the board changed in place");
    op.screenshot("console-4-today-checked-in.png").await;
    kiosk.quit().await;
    op.quit().await;
}

#[tokio::test]
async fn an_operator_changes_opening_hours_and_the_makers_resource_page_shows_the_new_free_times() {
    let Some(driver) = Driver::start().await else { return };
    let lab = lab_at(ms(8, 0)).await;
    let op = driver.browser(&["--window-size=1280,900".to_owned()]).await;
    sign_in_in(&op, &lab.app, "op-fab@example.org").await;
    op.goto(&lab.app.url("/ops/fab/catalog")).await;
    // Saturdays only, 10:00–16:00, for the laser.
    for day in ["mo", "tu", "we", "th", "fr", "sa"] {
        op.click(&format!("#hours-form input[name={day}]")).await;
    }
    op.js(&format!(
        "const f = document.getElementById('hours-form'); f.open.value = '10:00'; f.close.value = '16:00'; \
         f.from.value = '2026-09-07'; f.resource.value = '{}'; return true;",
        lab.laser
    ))
    .await;
    op.click("#preview-hours").await;
    let preview =
        op.wait_for("const p = document.getElementById('preview'); return p && p.textContent;", "the preview").await;
    assert!(preview.as_str().unwrap().contains("9月12日 周六 10:00–16:00"), "{preview}");
    op.screenshot("console-5-hours-preview.png").await;
    op.click("#save-hours").await;
    op.wait_for("return location.search.includes('done=hours');", "the saved hours").await;
    op.quit().await;

    let phone = driver.browser(&[PHONE.to_owned()]).await;
    sign_in_in(&phone, &lab.app, "op-fab@example.org").await;
    phone.goto(&lab.app.url(&format!("/resources/{}", lab.laser))).await;
    phone.wait_for("return document.querySelector('.times a') !== null;", "the week of free times").await;
    let starts: Vec<String> = phone
        .js("return [...document.querySelectorAll('.times a')].map(a => a.getAttribute('href'))")
        .await
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect();
    assert!(starts.iter().any(|h| h.contains("start=2026-09-12T02%3A00%3A00Z")), "Saturday 10:00: {starts:?}");
    assert!(!starts.iter().any(|h| h.contains("start=2026-09-08")), "no Tuesday any more: {starts:?}");
    phone.screenshot("console-6-maker-sees-new-hours.png").await;
    phone.quit().await;
}

#[tokio::test]
async fn an_operator_downloads_the_xlsx_and_a_real_reader_finds_the_json_reports_figure_in_it() {
    let Some(driver) = Driver::start().await else { return };
    // Debian's Python with its openpyxl package, as `.ci/run` installs them.
    const PYTHON: &str = "/usr/bin/python3";
    let reader = std::process::Command::new(PYTHON).args(["-c", "import openpyxl"]).output();
    if !reader.is_ok_and(|o| o.status.success()) {
        missing_component("Python's openpyxl (apt-get install python3-openpyxl) to read the XLSX");
        return;
    }
    let lab = lab_at(ms(8, 0)).await;
    let (_, code) = booked(&lab, "lin@example.org").await;
    let (_, kiosk) = lab.kiosk("Front door").await;
    lab.app.clock.set(ms(10, 0));
    assert_eq!(lab.scan(&kiosk, &code).await["decision"], "check_in");
    lab.app.clock.set(ms(10, 45));
    assert_eq!(lab.scan(&kiosk, &code).await["decision"], "check_out");
    let q = "from=2026-09-07&to=2026-09-07&by=resource&bucket=day";
    let json = lab.app.get(&format!("/api/v1/reports/utilization?space=fab&{q}"), Some(&lab.op)).await;
    let laser = json.body["groups"].as_array().unwrap().iter().find(|g| g["name_zh"] == "激光切割机").unwrap().clone();
    let used = laser["total"]["used_hours"].as_f64().unwrap();
    assert_eq!(used, 0.75, "hand-computed: 10:00 to 10:45");

    let dir = download_dir("xlsx");
    let br = driver.downloading(&dir).await;
    sign_in_in(&br, &lab.app, "op-fab@example.org").await;
    br.goto(&lab.app.url(&format!("/ops/fab/reports?{q}"))).await;
    br.wait_for("return document.getElementById('xlsx') !== null;", "the report").await;
    br.screenshot("console-7-reports.png").await;
    br.click("#xlsx").await;
    let file = downloaded(&dir, "xlsx").await;
    br.quit().await;
    let script = "import sys, openpyxl\n\
wb = openpyxl.load_workbook(sys.argv[1], data_only=True)\n\
ws = wb['资源']\n\
rows = list(ws.iter_rows(values_only=True))\n\
col = rows[0].index('使用小时')\n\
print([r for r in rows[1:] if '激光切割机' in r][0][col])\n";
    let out = std::process::Command::new(PYTHON).args(["-c", script, file.to_str().unwrap()]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let read: f64 = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
    assert_eq!(read, used, "the workbook says what the JSON says");
}

#[tokio::test]
async fn a_reviewer_opens_the_overview_and_a_pack_and_downloads_the_zip() {
    let Some(driver) = Driver::start().await else { return };
    let lab = lab_at(ms(8, 0)).await;
    let admin = lab.app.admin().await;
    let (id, _) = lab.app.maker("reviewer@example.org").await;
    let g =
        lab.app.post(&format!("/api/v1/admin/accounts/{id}/roles"), Some(&admin), json!({"role": "reviewer"})).await;
    assert_eq!(g.status, 200, "{}", g.text);
    let dir = download_dir("zip");
    let br = driver.downloading(&dir).await;
    sign_in_in(&br, &lab.app, "reviewer@example.org").await;
    br.goto(&lab.app.url("/review?scheme=nat-2017&from=2025-09-08&to=2026-09-07")).await;
    br.wait_for("return document.getElementById('space-fab') !== null;", "the overview").await;
    br.screenshot("console-8-review-overview.png").await;
    br.click("#space-fab th a").await;
    br.wait_for("return document.getElementById('criteria') !== null;", "the pack").await;
    let rows = br.js("return document.querySelectorAll('#criteria tbody tr').length").await;
    assert_eq!(rows, 7, "nat-2017 has seven criteria");
    br.screenshot("console-9-review-pack.png").await;
    br.click("#pack-zip").await;
    let file = downloaded(&dir, "zip").await;
    br.quit().await;
    let mut zip = zip::ZipArchive::new(std::fs::File::open(&file).unwrap()).unwrap();
    let names: Vec<String> = (0..zip.len()).map(|i| zip.by_index(i).unwrap().name().unwrap().to_string()).collect();
    assert!(names.iter().any(|n| n == "pack.json") && names.iter().any(|n| n == "rows.csv"), "{names:?}");
}

#[tokio::test]
async fn a_maker_in_the_console_and_an_operator_in_another_spaces_pages_are_told_they_may_not() {
    let Some(driver) = Driver::start().await else { return };
    let lab = lab_at(ms(8, 0)).await;
    let (_, maker) = lab.app.maker("lin@example.org").await;
    lab.book(&maker, &lab.laser, (10, 0), (11, 0)).await;
    crate::helpers::operated_space(&lab.app, "other", "Asia/Shanghai").await;

    let phone = driver.browser(&[PHONE.to_owned()]).await;
    sign_in_in(&phone, &lab.app, "lin@example.org").await;
    phone.goto(&lab.app.url("/ops")).await;
    let text = phone.js("return document.querySelector('main').textContent").await;
    assert!(text.as_str().unwrap().contains("无权访问"), "{text}");
    phone.screenshot("console-10-maker-may-not.png").await;
    phone.quit().await;

    let other = driver.browser(&["--window-size=1280,900".to_owned()]).await;
    sign_in_in(&other, &lab.app, "op-other@example.org").await;
    for path in ["/ops/fab?lang=en", "/ops/fab/reports", "/ops/fab/registers", "/review"] {
        other.goto(&lab.app.url(path)).await;
        let text = other.js("return document.querySelector('main').textContent").await;
        let text = text.as_str().unwrap();
        assert!(
            text.contains("Not allowed") && !text.contains("LC-1") && !text.contains("lin@example.org"),
            "{path}: {text}"
        );
    }
    other.screenshot("console-11-other-operator-may-not.png").await;
    other.quit().await;
}
