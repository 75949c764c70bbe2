//! A maker's pages, as a phone without JavaScript uses them: plain GETs and form POSTs with
//! the cookie the server sets, redirects looked at one by one.

use crate::checkin::{Lab, lab_at_app, ms};
use crate::helpers::{TestApp, spawn_app_at};
use labinn::domain::booking::BookingStatus;
use labinn::domain::ids::BookingId;
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::Mutex;

/// A browser without JavaScript: keeps cookies, sends forms from the server's own origin
/// (as a browser does), follows no redirect by itself.
pub struct Phone<'a> {
    app: &'a TestApp,
    client: reqwest::Client,
    cookies: Mutex<BTreeMap<String, String>>,
    origin: String,
}

#[derive(Debug)]
pub struct Page {
    pub status: u16,
    pub location: Option<String>,
    pub html: String,
    pub retry_after: Option<String>,
}

impl Page {
    /// The value of the first `<input name="{name}" value="…">`.
    pub fn field(&self, name: &str) -> String {
        let marker = format!("name=\"{name}\" value=\"");
        let rest = self.html.split(&marker).nth(1).unwrap_or_else(|| panic!("no field {name} in {}", self.html));
        rest.split('"').next().unwrap().to_owned()
    }

    /// Every `href` that starts with `prefix`, unescaped.
    pub fn links(&self, prefix: &str) -> Vec<String> {
        self.html
            .split("href=\"")
            .skip(1)
            .map(|p| unescape(p.split('"').next().unwrap()))
            .filter(|h| h.starts_with(prefix))
            .collect()
    }
}

impl<'a> Phone<'a> {
    pub fn new(app: &'a TestApp) -> Self {
        let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        Phone { app, client, cookies: Mutex::new(BTreeMap::new()), origin: format!("http://{}", app.addr) }
    }

    fn cookie_header(&self) -> String {
        self.cookies.lock().unwrap().iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ")
    }

    async fn send(&self, req: reqwest::RequestBuilder) -> Page {
        let res = req.header("cookie", self.cookie_header()).send().await.expect("the server answers");
        let url = res.url().to_string();
        for c in res.headers().get_all("set-cookie") {
            let c = c.to_str().unwrap();
            let (kv, attrs) = c.split_once(';').unwrap_or((c, ""));
            let (k, v) = kv.split_once('=').unwrap();
            let mut jar = self.cookies.lock().unwrap();
            if v.is_empty() || attrs.contains("Max-Age=0") {
                jar.remove(k);
            } else {
                jar.insert(k.to_owned(), v.to_owned());
            }
        }
        let header = |n: &str| res.headers().get(n).map(|v| v.to_str().unwrap().to_owned());
        let (location, retry_after) = (header("location"), header("retry-after"));
        let status = res.status().as_u16();
        if status != 303 {
            let ct = header("content-type").unwrap_or_default();
            let html = res.text().await.unwrap();
            assert!(
                ct.starts_with("text/html") || ct.starts_with("image/") || ct.starts_with("text/calendar"),
                "{url}: HTML, not {ct}: {html}"
            );
            return Page { status, location, html, retry_after };
        }
        Page { status, location, html: res.text().await.unwrap(), retry_after }
    }

    pub async fn get(&self, path: &str) -> Page {
        self.send(self.client.get(self.app.url(path))).await
    }

    pub async fn post(&self, path: &str, form: &[(&str, &str)]) -> Page {
        self.post_from(&self.origin.clone(), path, form).await
    }

    /// A form POST as a browser sends it (`application/x-www-form-urlencoded`).
    pub async fn post_from(&self, origin: &str, path: &str, form: &[(&str, &str)]) -> Page {
        let body = form.iter().map(|(k, v)| format!("{}={}", urlencode(k), urlencode(v))).collect::<Vec<_>>().join("&");
        let req = self
            .client
            .post(self.app.url(path))
            .header("origin", origin)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body);
        self.send(req).await
    }

    /// A form POST sent from the page at `from` (its `Referer`), as a browser sends it.
    pub async fn post_on(&self, from: &str, path: &str, form: &[(&str, &str)]) -> Page {
        let body = form.iter().map(|(k, v)| format!("{}={}", urlencode(k), urlencode(v))).collect::<Vec<_>>().join("&");
        let req = self
            .client
            .post(self.app.url(path))
            .header("origin", &self.origin)
            .header("referer", format!("{}{from}", self.origin))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body);
        self.send(req).await
    }

    /// A form of `parts` (name, file name for a file, content) sent as `multipart/form-data`,
    /// as a browser sends a form with a file.
    pub async fn post_multipart(&self, path: &str, parts: &[(&str, Option<&str>, &[u8])]) -> Page {
        let boundary = "----labinn-test-boundary-7d1";
        let mut body = Vec::new();
        for (name, file, content) in parts {
            body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
            match file {
                Some(f) => body.extend_from_slice(
                    format!(
                        "Content-Disposition: form-data; name=\"{name}\"; filename=\"{f}\"\r\nContent-Type: application/pdf\r\n\r\n"
                    )
                    .as_bytes(),
                ),
                None => body.extend_from_slice(format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes()),
            }
            body.extend_from_slice(content);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
        let req = self
            .client
            .post(self.app.url(path))
            .header("origin", &self.origin)
            .header("content-type", format!("multipart/form-data; boundary={boundary}"))
            .body(body);
        self.send(req).await
    }

    /// A file the page links to, fetched with this browser's login: (status, content type,
    /// bytes).
    pub async fn download(&self, path: &str) -> (u16, String, Vec<u8>) {
        let res = self.client.get(self.app.url(path)).header("cookie", self.cookie_header()).send().await.unwrap();
        let ct = res.headers().get("content-type").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
        (res.status().as_u16(), ct, res.bytes().await.unwrap().to_vec())
    }

    pub fn signed_in(&self) -> bool {
        self.cookies.lock().unwrap().contains_key("labinn_session")
    }

    /// Signs in an account made through the API (its password is the helpers' one).
    pub async fn sign_in(&self, email: &str) {
        let form = [("email", email), ("password", "correct horse battery"), ("next", "/me")];
        let p = self.post("/signin", &form).await;
        assert_eq!(p.status, 303, "sign in {email}: {}", p.html);
    }

    pub async fn sign_up(&self, email: &str) -> Page {
        let form = [("email", email), ("display_name", "小林"), ("password", "correct horse battery"), ("next", "/me")];
        let p = self.post("/signup", &form).await;
        assert_eq!((p.status, p.location.as_deref()), (303, Some("/me")), "{}", p.html);
        p
    }
}

/// An attribute's text as a browser reads it (askama writes `&` as `&#38;`).
fn unescape(s: &str) -> String {
    s.replace("&#38;", "&").replace("&amp;", "&").replace("&#34;", "\"").replace("&#39;", "'")
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            b' ' => "+".to_owned(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

async fn lab() -> Lab {
    lab_at_app(spawn_app_at(ms(8, 0)).await).await
}

#[tokio::test]
async fn a_new_maker_signs_up_books_in_three_taps_sees_the_qr_and_cancels() {
    let lab = lab().await;
    let phone = Phone::new(&lab.app);
    // Nothing on the map is hidden: a way to sign in is on every page.
    let map = phone.get("/").await;
    assert!(map.html.contains("href=\"/signin\""), "{}", map.html);
    phone.sign_up("lin@example.org").await;
    assert!(phone.signed_in());
    let me = phone.get("/me").await;
    assert!(me.html.contains("还没有预订"), "{}", me.html);

    // The resource page: the rules in words, a week of times.
    let page = phone.get(&format!("/resources/{}", lab.laser)).await;
    assert_eq!(page.status, 200);
    assert!(page.html.contains("预订规则") && page.html.contains("9月7日 周一"), "{}", page.html);
    let slots = page.links(&format!("/resources/{}/book?start=", lab.laser));
    // Open 08:00–22:00 and it is 08:00: the first start is now, on the slot.
    assert!(slots[0].ends_with("start=2026-09-07T00%3A00%3A00Z"), "{slots:?}");
    let ten = slots.iter().find(|s| s.ends_with("start=2026-09-07T02%3A00%3A00Z")).expect("10:00 is offered");

    // Tap 1: the time. Tap 2 would be a length: the first is chosen already. Tap 3: confirm.
    let confirm = phone.get(ten).await;
    assert_eq!(confirm.status, 200, "{}", confirm.html);
    assert!(confirm.html.contains("9月7日 周一 10:00") && confirm.html.contains(" checked"), "{}", confirm.html);
    let csrf = confirm.field("csrf");
    let start = confirm.field("start");
    let booked = phone
        .post(&format!("/resources/{}/book", lab.laser), &[("csrf", &csrf), ("start", &start), ("minutes", "60")])
        .await;
    assert_eq!(booked.status, 303, "{}", booked.html);
    let at = booked.location.unwrap();
    let id = at.strip_prefix("/bookings/").unwrap().to_owned();
    let b = phone.get(&at).await;
    assert!(b.html.contains("<h1>已预订</h1>") && b.html.contains("9月7日 周一 10:00–11:00"), "{}", b.html);
    assert!(b.html.contains(&format!("/api/v1/bookings/{id}/qr.svg")), "the QR is shown");
    let row = lab.app.db.booking(&BookingId::new(&id)).await.unwrap();
    assert_eq!(row.status, BookingStatus::Confirmed);
    let short = labinn::domain::checkin::display_short(&row.checkin_nonce);
    assert!(b.html.contains(&short), "the typed code {short} is shown");
    // The QR image loads with the same cookie.
    let qr = phone.get(&format!("/api/v1/bookings/{id}/qr.svg")).await;
    assert!(qr.status == 200 && qr.html.contains("<svg"), "{}", qr.status);
    let me = phone.get("/me").await;
    assert!(me.html.contains(&at) && me.html.contains("已确认"), "{}", me.html);

    // Cancel it: the booking's page asks first, and keeping it is one tap back.
    assert!(b.links(&format!("/bookings/{id}/cancel")).len() == 1, "{}", b.html);
    let sure = phone.get(&format!("/bookings/{id}/cancel")).await;
    assert!(sure.html.contains("确定要取消吗") && sure.html.contains("确认取消"), "{}", sure.html);
    assert!(!sure.html.contains("整组全部取消"), "a single booking has no series to cancel");
    assert_eq!(sure.links(&format!("/bookings/{id}")).first().map(String::as_str), Some(&*format!("/bookings/{id}")));
    let gone = phone.post(&format!("/bookings/{id}/cancel"), &[("csrf", &sure.field("csrf")), ("scope", "this")]).await;
    assert_eq!((gone.status, gone.location.as_deref()), (303, Some("/me?cancelled=1")), "{}", gone.html);
    assert_eq!(lab.app.db.booking(&BookingId::new(&id)).await.unwrap().status, BookingStatus::Cancelled);
    let me = phone.get("/me?cancelled=1").await;
    assert!(me.html.contains("预订已取消") && me.html.contains("已取消"), "{}", me.html);

    // Signing out ends the login.
    let out = phone.post("/signout", &[("csrf", &me.field("csrf"))]).await;
    assert_eq!(out.status, 303);
    assert!(!phone.signed_in());
    assert_eq!(phone.get("/me").await.location.as_deref(), Some("/signin?next=/me"));
}

#[tokio::test]
async fn a_missing_training_is_refused_in_the_makers_words() {
    let lab = lab().await;
    let t = lab
        .app
        .post(
            "/api/v1/trainings",
            Some(&lab.op),
            json!({"slug": "cnc-basics", "name_zh": "数控入门", "name_en": "CNC basics", "space": "fab"}),
        )
        .await;
    assert_eq!(t.status, 201, "{}", t.text);
    let cnc = lab
        .app
        .post(
            "/api/v1/spaces/fab/resources",
            Some(&lab.op),
            json!({"kind": "tool", "name_zh": "数控机床", "name_en": "CNC mill", "units": {"labels": ["CNC-1"]},
                   "policy": {"required_trainings": ["cnc-basics"]}}),
        )
        .await;
    let cnc = cnc.body["id"].as_str().unwrap().to_owned();
    let phone = Phone::new(&lab.app);
    phone.sign_up("ada@example.org").await;
    let page = phone.get(&format!("/resources/{cnc}")).await;
    assert!(page.html.contains("需完成培训：数控入门"), "the training by its name, not its slug: {}", page.html);
    let slot = &page.links(&format!("/resources/{cnc}/book?start="))[4];
    let confirm = phone.get(slot).await;
    let form = [("csrf", confirm.field("csrf")), ("start", confirm.field("start")), ("minutes", "60".into())];
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let refused = phone.post(&format!("/resources/{cnc}/book"), &form).await;
    assert_eq!(refused.status, 422, "{}", refused.html);
    assert!(refused.html.contains("无法预订") && refused.html.contains("需要先完成培训"), "{}", refused.html);
    // In English when the maker switched.
    phone.get("/?lang=en").await;
    let refused = phone.post(&format!("/resources/{cnc}/book"), &form).await;
    assert!(refused.html.contains("The training is missing"), "{}", refused.html);
    assert!(refused.html.contains("lang=\"en\""));
}

#[tokio::test]
async fn a_taken_time_offers_its_free_neighbours_as_buttons_that_book_them() {
    let lab = lab().await;
    let (_, other) = lab.app.maker("first@example.org").await;
    lab.book(&other, &lab.laser, (10, 0), (11, 0)).await;
    let phone = Phone::new(&lab.app);
    phone.sign_up("second@example.org").await;
    // A stale page still offers 10:00: the maker taps it.
    let confirm = phone.get(&format!("/resources/{}/book?start=2026-09-07T01%3A00%3A00Z", lab.laser)).await;
    let csrf = confirm.field("csrf");
    let taken = phone
        .post(
            &format!("/resources/{}/book", lab.laser),
            &[("csrf", &csrf), ("start", "2026-09-07T02:00:00Z"), ("minutes", "60")],
        )
        .await;
    assert_eq!(taken.status, 409, "{}", taken.html);
    assert!(taken.html.contains("这个时间已被占用"), "{}", taken.html);
    assert!(taken.html.contains("class=\"btn secondary alternative\""), "{}", taken.html);
    // The first alternative is a form that books it.
    let alt_start = taken.html.split("name=\"start\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_owned();
    let ok = phone
        .post(&format!("/resources/{}/book", lab.laser), &[("csrf", &csrf), ("start", &alt_start), ("minutes", "60")])
        .await;
    assert_eq!(ok.status, 303, "{}", ok.html);
}

#[tokio::test]
async fn a_form_from_another_site_or_without_its_token_changes_nothing() {
    let lab = lab().await;
    let phone = Phone::new(&lab.app);
    phone.sign_up("guard@example.org").await;
    let path = format!("/resources/{}/book", lab.laser);
    let form = [("start", "2026-09-07T02:00:00Z"), ("minutes", "60")];
    let no_token = phone.post(&path, &form).await;
    assert_eq!(no_token.status, 403, "{}", no_token.html);
    let csrf = phone.get("/me").await.field("csrf");
    let with = [("csrf", csrf.as_str()), ("start", "2026-09-07T02:00:00Z"), ("minutes", "60")];
    let foreign = phone.post_from("https://evil.example", &path, &with).await;
    assert_eq!(foreign.status, 403, "{}", foreign.html);
    assert!(foreign.html.contains("cross_origin"), "{}", foreign.html);
    assert!(phone.get("/me").await.html.contains("还没有预订"), "nothing was booked");
    // With both, it books.
    assert_eq!(phone.post(&path, &with).await.status, 303);
    // A form that cannot be read is a page too.
    let bad = phone.post(&path, &[("csrf", csrf.as_str()), ("minutes", "sixty")]).await;
    assert_eq!(bad.status, 400, "{}", bad.html);
}

#[tokio::test]
async fn sign_in_says_what_went_wrong_and_comes_back_to_the_page_it_left() {
    let lab = lab().await;
    lab.app.maker("back@example.org").await;
    let phone = Phone::new(&lab.app);
    // Tapping a time while signed out asks to sign in, and remembers where.
    let tap = phone.get(&format!("/resources/{}/book?start=2026-09-07T02%3A00%3A00Z", lab.laser)).await;
    assert_eq!(tap.status, 303);
    let to = tap.location.unwrap();
    assert!(to.starts_with("/signin?next=/resources/"), "{to}");
    let next = format!("/resources/{}/book?start=2026-09-07T02%3A00%3A00Z", lab.laser);
    let wrong =
        phone.post("/signin", &[("email", "back@example.org"), ("password", "wrong one"), ("next", &next)]).await;
    assert_eq!(wrong.status, 401);
    assert!(wrong.html.contains("邮箱或密码错误") && wrong.html.contains("back@example.org"), "{}", wrong.html);
    let right = phone
        .post("/signin", &[("email", "back@example.org"), ("password", "correct horse battery"), ("next", &next)])
        .await;
    assert_eq!((right.status, right.location.as_deref()), (303, Some(next.as_str())));
    // A `next` off this site is not followed.
    let phone2 = Phone::new(&lab.app);
    let off = phone2
        .post(
            "/signin",
            &[("email", "back@example.org"), ("password", "correct horse battery"), ("next", "//evil.example/")],
        )
        .await;
    assert_eq!(off.location.as_deref(), Some("/me"));

    // Guessing backs off, and the page says how long to wait.
    lab.app.maker("guessed@example.org").await;
    for _ in 0..6 {
        let r = phone2.post("/signin", &[("email", "guessed@example.org"), ("password", "nope nope nope")]).await;
        assert_eq!(r.status, 401);
    }
    let wait = phone2.post("/signin", &[("email", "guessed@example.org"), ("password", "correct horse battery")]).await;
    assert_eq!((wait.status, wait.retry_after.as_deref()), (429, Some("1")), "{}", wait.html);
    assert!(wait.html.contains("尝试次数过多，请稍后再试 (1 秒)"), "{}", wait.html);
}

#[tokio::test]
async fn the_language_switch_is_remembered_on_every_page() {
    let lab = lab().await;
    let phone = Phone::new(&lab.app);
    phone.get("/?lang=en").await;
    let signin = phone.get("/signin").await;
    assert!(signin.html.contains("lang=\"en\"") && signin.html.contains("Sign in"), "{}", signin.html);
    let r = phone.get(&format!("/resources/{}", lab.laser)).await;
    assert!(r.html.contains("Booking rules") && r.html.contains("Mon 7 Sep"), "{}", r.html);
    phone.get("/?lang=zh").await;
    assert!(phone.get("/signin").await.html.contains("lang=\"zh-CN\""));
}

#[tokio::test]
async fn an_inn_stay_booked_from_the_page_names_its_arrival_and_departure_days() {
    let app = spawn_app_at(ms(8, 0)).await;
    let (op, slug) = crate::helpers::operated_space(&app, "inn", "Asia/Shanghai").await;
    crate::helpers::open_daily(&app, &op, &slug, "00:00", 1440).await;
    let rooms = app
        .post(
            "/api/v1/spaces/inn/resources",
            Some(&op),
            json!({"kind": "inn_room", "name_zh": "标准间", "name_en": "Standard room", "units": {"count": 2, "prefix": "R"}}),
        )
        .await;
    assert_eq!(rooms.status, 201, "{}", rooms.text);
    let rooms = rooms.body["id"].as_str().unwrap().to_owned();
    let phone = Phone::new(&app);
    phone.sign_up("stay@example.org").await;
    // Inn rooms are for verified makers: unverified, the page says so in words.
    let page = phone.get(&format!("/resources/{rooms}")).await;
    assert!(page.html.contains("谁可以预订：仅限认证创客"), "{}", page.html);
    let csrf = page.field("csrf");
    let unverified = phone
        .post(&format!("/resources/{rooms}/stay"), &[("csrf", &csrf), ("check_in_date", "2026-09-11"), ("nights", "3")])
        .await;
    assert_eq!(unverified.status, 422, "{}", unverified.html);
    assert!(unverified.html.contains("仅限认证创客预订"), "{}", unverified.html);
    let id = app.db.account_by_email("stay@example.org").await.unwrap().unwrap().id;
    let v = app.post(&format!("/api/v1/accounts/{id}/verified"), Some(&op), json!({"verified": true})).await;
    assert_eq!(v.status, 204, "{}", v.text);
    let page = phone.get(&format!("/resources/{rooms}")).await;
    let csrf = page.field("csrf");
    let stay = phone
        .post(&format!("/resources/{rooms}/stay"), &[("csrf", &csrf), ("check_in_date", "2026-09-11"), ("nights", "3")])
        .await;
    assert_eq!(stay.status, 303, "{}", stay.html);
    let b = phone.get(&stay.location.unwrap()).await;
    assert!(b.html.contains("9月11日 周五") && b.html.contains("9月14日 周一"), "{}", b.html);
    // Too many nights is said in words.
    let long = phone
        .post(
            &format!("/resources/{rooms}/stay"),
            &[("csrf", &csrf), ("check_in_date", "2026-09-20"), ("nights", "30")],
        )
        .await;
    assert_eq!(long.status, 422, "{}", long.html);
    assert!(long.html.contains("入住晚数超过上限"), "{}", long.html);
}

#[tokio::test]
async fn my_page_shows_the_event_code_of_an_event_i_registered_for() {
    let lab = lab().await;
    let hall = lab.book(&lab.op, &lab.laser, (14, 0), (16, 0)).await;
    let event = lab
        .app
        .post(
            "/api/v1/spaces/fab/events",
            Some(&lab.op),
            json!({"kind": "salon", "role": "host", "topic": "激光切割沙龙", "booking": hall.id}),
        )
        .await;
    assert_eq!(event.status, 201, "{}", event.text);
    let event = event.body["id"].as_str().unwrap().to_owned();
    let phone = Phone::new(&lab.app);
    phone.sign_up("salon@example.org").await;
    let token = lab.app.login("salon@example.org").await;
    let r = lab.app.post(&format!("/api/v1/events/{event}/registration"), Some(&token), serde_json::Value::Null).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let me = phone.get("/me").await;
    assert!(me.html.contains("激光切割沙龙") && me.html.contains("9月7日 周一 14:00–16:00"), "{}", me.html);
    assert!(me.html.contains(&format!("/api/v1/events/{event}/registration/qr.svg")), "{}", me.html);
    assert!(me.html.contains("已报名"));
}

/// The events of an iCalendar text, read back with a real parser: (summary, start, end, status).
fn events(text: &str) -> Vec<(String, String, String, String)> {
    use icalendar::Component;
    let cal: icalendar::Calendar = text.parse().unwrap_or_else(|e| panic!("not iCalendar: {e}: {text}"));
    let when = |d: Option<icalendar::DatePerhapsTime>| match d {
        Some(icalendar::DatePerhapsTime::DateTime(icalendar::CalendarDateTime::Utc(t))) => t.to_rfc3339(),
        other => panic!("not a UTC time: {other:?}"),
    };
    cal.components
        .iter()
        .filter_map(|c| c.as_event())
        .map(|e| {
            (
                e.get_summary().unwrap_or("").to_owned(),
                when(e.get_start()),
                when(e.get_end()),
                e.property_value("STATUS").unwrap_or("").to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn calendar_feeds_carry_my_bookings_and_a_resources_busy_times_without_names() {
    let lab = lab().await;
    let phone = Phone::new(&lab.app);
    phone.sign_up("cal@example.org").await;
    let token = lab.app.login("cal@example.org").await;
    let kept = lab.book(&token, &lab.laser, (10, 0), (11, 0)).await;
    let dropped = lab.book(&token, &lab.laser, (12, 0), (13, 0)).await;
    let c = lab.app.post(&format!("/api/v1/bookings/{}/cancel", dropped.id), Some(&token), json!({})).await;
    assert_eq!(c.status, 200, "{}", c.text);
    let (_, other) = lab.app.maker("someone.else@example.org").await;
    lab.book(&other, &lab.laser, (15, 0), (16, 0)).await;

    // One booking, to add to a calendar.
    let one = phone.get(&format!("/bookings/{}/calendar.ics", kept.id)).await;
    assert_eq!(one.status, 200);
    let ev = events(&one.html);
    assert_eq!(ev.len(), 1);
    assert_eq!(ev[0].0, "激光切割机 · LC-1");
    assert_eq!((ev[0].1.as_str(), ev[0].2.as_str()), ("2026-09-07T02:00:00+00:00", "2026-09-07T03:00:00+00:00"));
    assert_eq!(ev[0].3, "CONFIRMED");
    // A cancelled one of mine still downloads (as cancelled); another maker's is not found.
    let gone = phone.get(&format!("/bookings/{}/calendar.ics", dropped.id)).await;
    assert_eq!(events(&gone.html)[0].3, "CANCELLED");
    let stranger = Phone::new(&lab.app);
    stranger.sign_up("nosy@example.org").await;
    assert_eq!(stranger.get(&format!("/bookings/{}/calendar.ics", kept.id)).await.status, 404);

    // The subscription: made on my page, read with no login, renewed and revoked.
    let me = phone.get("/me").await;
    assert!(!me.html.contains("webcal://"));
    let csrf = me.field("csrf");
    assert_eq!(phone.post("/me/calendar", &[("csrf", &csrf)]).await.status, 303);
    let me = phone.get("/me").await;
    let url = me.html.split("webcal://").nth(1).unwrap().split('"').next().unwrap().to_owned();
    let path = format!("/{}", url.split_once('/').unwrap().1);
    let anyone = Phone::new(&lab.app);
    let feed = anyone.get(&path).await;
    assert_eq!(feed.status, 200, "{}", feed.html);
    let mut ev = events(&feed.html);
    ev.sort_by(|a, b| a.1.cmp(&b.1));
    assert_eq!(ev.len(), 2, "mine only: {ev:?}");
    assert_eq!(ev[0].3, "CONFIRMED");
    assert_eq!((ev[1].1.as_str(), ev[1].3.as_str()), ("2026-09-07T04:00:00+00:00", "CANCELLED"));
    assert_eq!(phone.post("/me/calendar", &[("csrf", &csrf)]).await.status, 303);
    assert_eq!(anyone.get(&path).await.status, 404, "a renewed address ends the old one");
    let me = phone.get("/me").await;
    let renewed = me.html.split("webcal://").nth(1).unwrap().split('"').next().unwrap().to_owned();
    let renewed = format!("/{}", renewed.split_once('/').unwrap().1);
    assert_eq!(anyone.get(&renewed).await.status, 200);
    assert_eq!(phone.post("/me/calendar/revoke", &[("csrf", &csrf)]).await.status, 303);
    assert_eq!(anyone.get(&renewed).await.status, 404, "a revoked address is gone");

    // The resource's busy times: every live booking, no one's name or e-mail.
    let busy = anyone.get(&format!("/resources/{}/busy.ics", lab.laser)).await;
    assert_eq!(busy.status, 200);
    let ev = events(&busy.html);
    assert_eq!(ev.len(), 2, "the kept booking and the other maker's, not the cancelled one: {ev:?}");
    assert!(ev.iter().all(|e| e.0 == "已占用 · LC-1"), "{ev:?}");
    assert!(!busy.html.contains("example.org") && !busy.html.contains("小林") && !busy.html.contains("Maker"));
}

impl Phone<'_> {
    /// A GET that may answer anything (the crawler looks at the status itself).
    async fn fetch(&self, path: &str) -> (u16, String, Option<String>, String) {
        let res = self.client.get(self.app.url(path)).header("cookie", self.cookie_header()).send().await.unwrap();
        let status = res.status().as_u16();
        let header = |n: &str| res.headers().get(n).map(|v| v.to_str().unwrap().to_owned());
        let (ct, location) = (header("content-type").unwrap_or_default(), header("location"));
        (status, ct, location, res.text().await.unwrap_or_default())
    }
}

/// Which links count as "the same page" for the crawler: the path with ids and dates
/// replaced, and the names of the query's parameters (a week of 15-minute slots is one page
/// with many starts, not hundreds of pages).
pub fn page_kind(path: &str) -> String {
    let (p, q) = path.split_once('?').unwrap_or((path, ""));
    let segments: Vec<&str> = p
        .split('/')
        .map(|s| if s.len() >= 20 || s.chars().filter(char::is_ascii_digit).count() >= 4 { "{}" } else { s })
        .collect();
    let mut names: Vec<&str> = q.split('&').filter_map(|kv| kv.split('=').next()).filter(|k| !k.is_empty()).collect();
    names.sort_unstable();
    format!("{}?{}", segments.join("/"), names.join("&"))
}

/// Follows every same-origin link from `/` (three of each kind of page), GET only, and
/// returns the pages seen; every answer must be a success or a redirect to this site.
pub async fn crawl(phone: &Phone<'_>) -> Vec<String> {
    let mut pages = Vec::new();
    let mut queue = std::collections::VecDeque::from([("/".to_owned(), String::new())]);
    let mut seen = std::collections::BTreeSet::new();
    let mut kinds: BTreeMap<String, usize> = BTreeMap::new();
    let mut visited = 0;
    while let Some((path, from)) = queue.pop_front() {
        if !seen.insert(path.clone()) {
            continue;
        }
        let n = kinds.entry(page_kind(&path)).or_default();
        if *n >= 3 {
            continue;
        }
        *n += 1;
        let (status, ct, location, body) = phone.fetch(&path).await;
        visited += 1;
        pages.push(path.clone());
        assert!(status < 400, "{path} (linked from {from}): {status}: {}", &body[..body.len().min(600)]);
        if status == 303 || status == 302 {
            let to = location.unwrap();
            assert!(to.starts_with('/'), "{path} redirects off the site: {to}");
            queue.push_back((to, path.clone()));
            continue;
        }
        if !ct.starts_with("text/html") {
            continue;
        }
        let base = path.split('?').next().unwrap().to_owned();
        for href in body.split("href=\"").skip(1).map(|h| unescape(h.split('"').next().unwrap())) {
            let next = if href.starts_with('/') && !href.starts_with("//") {
                href
            } else if href.starts_with('?') {
                format!("{base}{href}")
            } else {
                continue; // webcal://, off-site, fragments
            };
            let next = next.split('#').next().unwrap().to_owned();
            if !seen.contains(&next) {
                queue.push_back((next, path.clone()));
            }
        }
        assert!(visited < 2_000, "the crawl does not end");
    }
    pages
}

#[tokio::test]
async fn a_crawler_finds_no_broken_page_on_the_demo_signed_out_or_signed_in() {
    let now = ms(8, 0);
    let app = spawn_app_at(now).await;
    labinn::demo::seed(&app.state.svc, now).await.unwrap();
    let phone = Phone::new(&app);
    let out = crawl(&phone).await;
    let signed_in = phone
        .post("/signin", &[("email", "maker@labinn.demo"), ("password", "demo-maker-2026"), ("next", "/me")])
        .await;
    assert_eq!(signed_in.status, 303, "{}", signed_in.html);
    let me = phone.get("/me").await;
    assert!(me.html.contains("/bookings/"), "the demo maker has bookings ahead: {}", me.html);
    let inside = crawl(&phone).await;
    assert!(out.len() > 20 && inside.len() > 20, "pages seen: {} signed out, {} signed in", out.len(), inside.len());
    // Signed in, the crawl reaches the pages only a maker has: a booking, a confirm page.
    assert!(inside.iter().any(|p| p.starts_with("/bookings/")), "{inside:?}");
    assert!(inside.iter().any(|p| p.contains("/book?start=")), "{inside:?}");
    eprintln!("crawled {} pages signed out, {} signed in", out.len(), inside.len());
}

#[tokio::test]
async fn a_maker_joins_the_waitlist_from_a_taken_time_and_is_booked_when_it_frees_up() {
    let lab = lab().await;
    let (_, first) = lab.app.maker("holder@example.org").await;
    let held = lab.book(&first, &lab.laser, (10, 0), (11, 0)).await;
    let phone = Phone::new(&lab.app);
    phone.sign_up("waiter@example.org").await;
    let confirm = phone.get(&format!("/resources/{}/book?start=2026-09-07T01%3A00%3A00Z", lab.laser)).await;
    let csrf = confirm.field("csrf");
    let path = format!("/resources/{}/book", lab.laser);
    let taken = phone.post(&path, &[("csrf", &csrf), ("start", "2026-09-07T02:00:00Z"), ("minutes", "60")]).await;
    assert_eq!(taken.status, 409);
    assert!(taken.html.contains("加入候补名单"), "{}", taken.html);
    let joined = phone
        .post(
            &format!("/resources/{}/waitlist", lab.laser),
            &[("csrf", &csrf), ("start", "2026-09-07T02:00:00Z"), ("minutes", "60")],
        )
        .await;
    assert_eq!((joined.status, joined.location.as_deref()), (303, Some("/me?waiting=1")), "{}", joined.html);
    let me = phone.get("/me?waiting=1").await;
    assert!(me.html.contains("已加入候补名单") && me.html.contains("候补中"), "{}", me.html);
    assert!(me.html.contains("9月7日 周一 10:00–11:00"), "{}", me.html);
    // The holder cancels: the wait is booked at once and shows as my booking.
    let c = lab.app.post(&format!("/api/v1/bookings/{}/cancel", held.id), Some(&first), json!({})).await;
    assert_eq!(c.status, 200, "{}", c.text);
    let me = phone.get("/me").await;
    assert!(!me.html.contains("候补中"), "no longer waiting: {}", me.html);
    let upcoming = me.html.split("class=\"list upcoming\"").nth(1).unwrap().split("</ul>").next().unwrap();
    assert!(upcoming.contains("激光切割机 · LC-1") && upcoming.contains("10:00–11:00"), "{upcoming}");
}

/// The links of the password-reset mail waiting in the outbox, oldest first.
async fn reset_links(app: &TestApp) -> Vec<String> {
    let payloads: Vec<String> = labinn::on_read!(&app.db, |p| sqlx::query_scalar(
        "SELECT payload FROM outbox WHERE kind = 'password_reset' ORDER BY created_at, id"
    )
    .fetch_all(p)
    .await
    .unwrap());
    payloads
        .iter()
        .map(|p| serde_json::from_str::<serde_json::Value>(p).unwrap()["link"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn a_forgotten_password_is_reset_by_a_link_that_works_once_and_for_an_hour() {
    let lab = lab().await;
    let phone = Phone::new(&lab.app);
    phone.sign_up("forgetful@example.org").await;
    let signin = Phone::new(&lab.app).get("/signin").await;
    assert!(signin.html.contains("href=\"/forgot\""), "{}", signin.html);

    // An unknown address is answered the same, and nothing is sent.
    let other = Phone::new(&lab.app);
    let unknown = other.post("/forgot", &[("email", "nobody@example.org")]).await;
    assert_eq!(unknown.status, 200);
    assert!(unknown.html.contains("如果这个邮箱有账号"), "{}", unknown.html);
    assert!(reset_links(&lab.app).await.is_empty());
    let asked = other.post("/forgot", &[("email", "forgetful@example.org")]).await;
    assert_eq!(asked.html.split("<main>").nth(1), unknown.html.split("<main>").nth(1), "the same answer");
    let links = reset_links(&lab.app).await;
    assert_eq!(links.len(), 1);
    // The link is to the configured public address, never to a Host header.
    let path = links[0].split_once("/reset?").map(|(_, q)| format!("/reset?{q}")).unwrap();
    assert!(
        links[0].starts_with(&format!("http://{}", lab.app.state.svc.config.bind)) || links[0].starts_with("http://")
    );

    let form = other.get(&path).await;
    assert_eq!(form.status, 200, "{}", form.html);
    let token = form.field("token");
    let short = other.post("/reset", &[("token", &token), ("password", "short")]).await;
    assert_eq!(short.status, 422, "{}", short.html);
    let done = other.post("/reset", &[("token", &token), ("password", "a brand new passphrase")]).await;
    assert_eq!((done.status, done.location.as_deref()), (303, Some("/signin?reset=1")), "{}", done.html);
    assert!(other.get("/signin?reset=1").await.html.contains("密码已更新"));
    // Every login of the account ended; the new password works, the old one does not.
    assert_eq!(phone.get("/me").await.status, 303, "the old login is gone");
    let old = other.post("/signin", &[("email", "forgetful@example.org"), ("password", "correct horse battery")]).await;
    assert_eq!(old.status, 401);
    let new =
        other.post("/signin", &[("email", "forgetful@example.org"), ("password", "a brand new passphrase")]).await;
    assert_eq!(new.status, 303, "{}", new.html);
    // Used once.
    assert_eq!(other.get(&path).await.status, 410);
    let again = other.post("/reset", &[("token", &token), ("password", "yet another passphrase")]).await;
    assert_eq!(again.status, 410, "{}", again.html);
    assert!(again.html.contains("已过期或已使用"));
    // And for an hour only.
    other.post("/forgot", &[("email", "forgetful@example.org")]).await;
    let second = reset_links(&lab.app).await.pop().unwrap();
    let second = second.split_once("/reset?").map(|(_, q)| format!("/reset?{q}")).unwrap();
    lab.app.clock.set(ms(8, 0) + 61 * 60 * 1000);
    assert_eq!(other.get(&second).await.status, 410);
}

/// A booking of the lab on 2026-09-{day} from `from` to `to` (Shanghai).
fn on_day(resource: &str, day: u32, from: u32, to: u32) -> serde_json::Value {
    json!({"resource": resource, "start": format!("2026-09-{day:02}T{from:02}:00:00+08:00"),
           "end": format!("2026-09-{day:02}T{to:02}:00:00+08:00")})
}

/// The section of a page between `start` and the next `end`.
pub(crate) fn section<'p>(html: &'p str, start: &str, end: &str) -> &'p str {
    html.split(start).nth(1).unwrap_or_else(|| panic!("no {start} in {html}")).split(end).next().unwrap()
}

#[tokio::test]
async fn a_weekly_series_booked_from_the_page_names_the_week_it_skipped_and_is_cancelled_whole() {
    let lab = lab().await;
    let (_, other) = lab.app.maker("other@example.org").await;
    // Another maker has the laser on the second Monday.
    lab.app.book(&other, on_day(&lab.laser, 14, 10, 11)).await;
    let phone = Phone::new(&lab.app);
    phone.sign_up("weekly@example.org").await;
    let confirm = phone.get(&format!("/resources/{}/book?start=2026-09-07T02%3A00%3A00Z", lab.laser)).await;
    assert!(confirm.html.contains("每周重复") && confirm.html.contains("跳过那一周"), "{}", confirm.html);
    let csrf = confirm.field("csrf");
    let path = format!("/resources/{}/book", lab.laser);
    let form = |mode: &'static str| {
        [
            ("csrf", csrf.clone()),
            ("start", "2026-09-07T02:00:00Z".into()),
            ("minutes", "60".into()),
            ("weeks", "3".into()),
            ("on_conflict", mode.into()),
        ]
    };
    let pairs = |f: &[(&'static str, String)]| f.iter().map(|(k, v)| (*k, v.clone())).collect::<Vec<_>>();

    // Refusing clashes books nothing, and says which week clashed.
    let refused = form("reject");
    let refused = phone.post(&path, &pairs(&refused).iter().map(|(k, v)| (*k, v.as_str())).collect::<Vec<_>>()).await;
    assert_eq!(refused.status, 409, "{}", refused.html);
    assert!(
        refused.html.contains("有一周的这个时间已被占用") && refused.html.contains("跳过那一周"),
        "{}",
        refused.html
    );
    // Its buttons would book one time, not the series: there are none.
    assert!(!refused.html.contains("class=\"btn secondary alternative\"") && !refused.html.contains("join-waitlist"));

    // Skipping books the other two weeks, and the series page names the skipped one.
    let skip = form("skip");
    let made = phone.post(&path, &pairs(&skip).iter().map(|(k, v)| (*k, v.as_str())).collect::<Vec<_>>()).await;
    assert_eq!(made.status, 303, "{}", made.html);
    let at = made.location.unwrap();
    assert!(at.starts_with("/series/") && at.contains("?skipped="), "{at}");
    let series = phone.get(&at).await;
    assert_eq!(series.status, 200, "{}", series.html);
    let skipped = section(&series.html, "class=\"rules skipped\"", "</ul>");
    assert!(skipped.contains("9月14日 周一 10:00"), "{skipped}");
    let booked = section(&series.html, "class=\"list series\"", "</ul>");
    assert!(booked.contains("9月7日 周一 10:00–11:00") && booked.contains("9月21日 周一 10:00–11:00"), "{booked}");
    assert!(!booked.contains("9月14日"), "{booked}");
    // My page marks them as weekly.
    let me = phone.get("/me").await;
    assert_eq!(me.links("/series/").len(), 2, "{}", me.html);

    // Cancelling asks which: this one, this and the following, or all.
    let first = series.links("/bookings/")[0].clone();
    let id = first.strip_prefix("/bookings/").unwrap().split('/').next().unwrap().to_owned();
    let sure = phone.get(&format!("/bookings/{id}/cancel")).await;
    assert!(sure.html.contains("只取消这一次") && sure.html.contains("这一次及以后 (2)"), "{}", sure.html);
    let gone =
        phone.post(&format!("/bookings/{id}/cancel"), &[("csrf", &sure.field("csrf")), ("scope", "series")]).await;
    assert_eq!(gone.location.as_deref(), Some("/me?cancelled=2"), "{}", gone.html);
    let me = phone.get("/me?cancelled=2").await;
    assert!(me.html.contains("2 个预订已取消"), "{}", me.html);
    assert_eq!(section(&me.html, "class=\"list upcoming\">", "</ul>").trim(), "", "nothing is left upcoming");
}

#[tokio::test]
async fn a_booking_is_moved_from_its_page_and_a_taken_time_is_refused_on_the_page_it_came_from() {
    let lab = lab().await;
    let (_, other) = lab.app.maker("other@example.org").await;
    lab.app.book(&other, on_day(&lab.laser, 7, 16, 17)).await;
    let phone = Phone::new(&lab.app);
    phone.sign_up("mover@example.org").await;
    let confirm = phone.get(&format!("/resources/{}/book?start=2026-09-07T02%3A00%3A00Z", lab.laser)).await;
    let csrf = confirm.field("csrf");
    let booked = phone
        .post(
            &format!("/resources/{}/book", lab.laser),
            &[("csrf", &csrf), ("start", "2026-09-07T02:00:00Z"), ("minutes", "60")],
        )
        .await;
    let id = booked.location.unwrap().strip_prefix("/bookings/").unwrap().to_owned();
    let page = phone.get(&format!("/bookings/{id}")).await;
    assert_eq!(page.links(&format!("/bookings/{id}/move")).len(), 1, "{}", page.html);

    // The move page is the laser's week, saying what it moves; its starts keep the length.
    let week = phone.get(&format!("/bookings/{id}/move")).await;
    assert!(week.html.contains("原预订时间") && week.html.contains("9月7日 周一 10:00–11:00"), "{}", week.html);
    // Its own time is free to move into: half an hour later overlaps only itself.
    assert!(week.links(&format!("/bookings/{id}/move?start=2026-09-07T02%3A30%3A00Z")).len() == 1, "{}", week.html);
    let two = week
        .links(&format!("/bookings/{id}/move?start="))
        .into_iter()
        .find(|l| l.contains("start=2026-09-07T06%3A00%3A00Z"))
        .expect("14:00 is offered");
    assert!(two.ends_with("&minutes=60"), "{two}");
    let confirm = phone.get(&two).await;
    assert!(confirm.html.contains("改到这个时间") && confirm.html.contains(&format!("action=\"/bookings/{id}/move\"")));
    assert!(!confirm.html.contains("每周重复"), "a move is not a series: {}", confirm.html);
    let moved = phone
        .post(&format!("/bookings/{id}/move"), &[("csrf", &csrf), ("start", "2026-09-07T06:00:00Z"), ("minutes", "60")])
        .await;
    assert_eq!(moved.location.as_deref(), Some(&*format!("/bookings/{id}?moved=1")), "{}", moved.html);
    let after = phone.get(&format!("/bookings/{id}?moved=1")).await;
    assert!(after.html.contains("时间已更改") && after.html.contains("9月7日 周一 14:00–15:00"), "{}", after.html);

    // 16:00 is taken: refused on the confirm page, whose language switch stays on it.
    let from = format!("/bookings/{id}/move?start=2026-09-07T08%3A00%3A00Z&minutes=60");
    let taken = phone
        .post_on(
            &from,
            &format!("/bookings/{id}/move"),
            &[("csrf", &csrf), ("start", "2026-09-07T08:00:00Z"), ("minutes", "60")],
        )
        .await;
    assert_eq!(taken.status, 409, "{}", taken.html);
    assert!(taken.html.contains("无法改到这个时间") || taken.html.contains("这个时间已被占用"), "{}", taken.html);
    let switch = taken.links(&format!("/bookings/{id}/move?lang=en"));
    assert_eq!(switch.len(), 1, "{}", taken.html);
    assert!(switch[0].contains("start=2026-09-07T08%3A00%3A00Z"), "{switch:?}");
    let row = lab.app.db.booking(&BookingId::new(&id)).await.unwrap();
    assert_eq!(row.starts_at, ms(14, 0), "the refused move left it where it was");

    // A lapsed login sends a form back to the page it came from, never to a POST-only path.
    let stranger = Phone::new(&lab.app);
    let lapsed =
        stranger.post_on(&format!("/bookings/{id}"), &format!("/bookings/{id}/cancel"), &[("csrf", "x")]).await;
    assert_eq!(lapsed.location.as_deref(), Some(&*format!("/signin?next=/bookings/{id}")));
}

#[tokio::test]
async fn my_profile_changes_my_name_and_language_and_starts_a_team_i_can_book_for() {
    let lab = lab().await;
    let phone = Phone::new(&lab.app);
    phone.sign_up("profile@example.org").await;
    let profile = phone.get("/me/profile").await;
    assert!(profile.html.contains("我的资料") && profile.html.contains("还没有加入团队"), "{}", profile.html);
    let csrf = profile.field("csrf");

    // A blank name is refused in words; nothing changes.
    let blank = phone.post("/me/profile", &[("csrf", &csrf), ("display_name", " "), ("locale", "en")]).await;
    assert_eq!(blank.status, 422);
    assert!(blank.html.contains("昵称：必填"), "{}", blank.html);
    let saved = phone.post("/me/profile", &[("csrf", &csrf), ("display_name", "Lin W."), ("locale", "en")]).await;
    assert_eq!(saved.location.as_deref(), Some("/me/profile?saved=1&lang=en"));
    let en = phone.get("/me/profile?saved=1&lang=en").await;
    assert!(en.html.contains("Your profile is saved") && en.html.contains("value=\"Lin W.\""), "{}", en.html);
    // The language is the profile's from now on, on every page.
    assert!(phone.get("/me").await.html.contains("<html lang=\"en\">"));

    // A team, owned by me, to book for.
    let made = phone.post("/me/teams", &[("csrf", &csrf), ("name", "Laser Crew"), ("kind", "team")]).await;
    assert_eq!(made.location.as_deref(), Some("/me/profile#teams"), "{}", made.html);
    let teams = section(&phone.get("/me/profile").await.html, "class=\"list teams\"", "</ul>").to_owned();
    assert!(teams.contains("Laser Crew") && teams.contains("Owner"), "{teams}");
    let confirm = phone.get(&format!("/resources/{}/book?start=2026-09-07T02%3A00%3A00Z", lab.laser)).await;
    let team = section(&confirm.html, "<option value=\"\">Myself</option>", "</select>");
    let team_id = team.split("value=\"").nth(1).unwrap().split('"').next().unwrap().to_owned();
    let booked = phone
        .post(
            &format!("/resources/{}/book", lab.laser),
            &[("csrf", &csrf), ("start", "2026-09-07T02:00:00Z"), ("minutes", "60"), ("team", &team_id)],
        )
        .await;
    let id = booked.location.unwrap().strip_prefix("/bookings/").unwrap().to_owned();
    let row = lab.app.db.booking(&BookingId::new(&id)).await.unwrap();
    assert_eq!(row.organisation_id.as_deref(), Some(team_id.as_str()));
}

#[tokio::test]
async fn a_seat_is_booked_for_the_whole_day_in_three_taps() {
    let lab = lab().await;
    let phone = Phone::new(&lab.app);
    phone.sign_up("desk@example.org").await;
    let week = phone.get(&format!("/resources/{}?date=2026-09-08", lab.seats)).await;
    // Tomorrow, open 08:00–22:00: the whole day is one link.
    let day = section(&week.html, "9月8日 周二", "</section>");
    assert!(day.contains("全天 08:00–22:00"), "{day}");
    let whole = week
        .links(&format!("/resources/{}/book?start=2026-09-08T00%3A00%3A00Z&minutes=", lab.seats))
        .first()
        .cloned()
        .expect("a whole-day link");
    assert!(whole.ends_with("minutes=840"), "{whole}");
    let confirm = phone.get(&whole).await;
    // Fourteen lengths are a list, with the whole day chosen.
    assert!(confirm.html.contains("<select id=\"minutes\"") && confirm.html.contains("value=\"840\" selected"));
    let booked = phone
        .post(
            &format!("/resources/{}/book", lab.seats),
            &[("csrf", &confirm.field("csrf")), ("start", &confirm.field("start")), ("minutes", "840")],
        )
        .await;
    let b = phone.get(&booked.location.unwrap()).await;
    assert!(b.html.contains("9月8日 周二 08:00–22:00"), "{}", b.html);
}

#[tokio::test]
async fn an_operator_cancelling_my_booking_tells_me_on_my_page() {
    let lab = lab().await;
    let phone = Phone::new(&lab.app);
    phone.sign_up("told@example.org").await;
    let confirm = phone.get(&format!("/resources/{}/book?start=2026-09-07T02%3A00%3A00Z", lab.laser)).await;
    let booked = phone
        .post(
            &format!("/resources/{}/book", lab.laser),
            &[("csrf", &confirm.field("csrf")), ("start", "2026-09-07T02:00:00Z"), ("minutes", "60")],
        )
        .await;
    let id = booked.location.unwrap().strip_prefix("/bookings/").unwrap().to_owned();
    let c =
        lab.app.post(&format!("/api/v1/bookings/{id}/cancel"), Some(&lab.op), json!({"reason": "激光管维修"})).await;
    assert_eq!(c.status, 200, "{}", c.text);
    let me = phone.get("/me").await;
    let notes = section(&me.html, "id=\"notices-h\"", "</section>");
    assert!(notes.contains("运营方取消了预订：激光切割机（激光管维修）"), "{notes}");
    assert!(notes.contains("9月7日 周一 10:00–11:00") && notes.contains(&format!("/bookings/{id}")), "{notes}");
}

#[tokio::test]
async fn an_operator_makes_a_kiosk_pairing_code_on_a_page_and_a_maker_may_not() {
    let lab = lab().await;
    let phone = Phone::new(&lab.app);
    let signed = phone
        .post(
            "/signin",
            &[("email", "op-fab@example.org"), ("password", "correct horse battery"), ("next", "/me/profile")],
        )
        .await;
    assert_eq!(signed.location.as_deref(), Some("/me/profile"), "{}", signed.html);
    let profile = phone.get("/me/profile").await;
    assert_eq!(profile.links("/spaces/fab/kiosks"), ["/spaces/fab/kiosks"], "{}", profile.html);
    let page = phone.get("/spaces/fab/kiosks").await;
    assert_eq!(page.status, 200, "{}", page.html);
    let made = phone.post("/spaces/fab/kiosks", &[("csrf", &page.field("csrf")), ("name", "正门")]).await;
    assert_eq!(made.status, 200, "{}", made.html);
    let code = section(&made.html, "id=\"pairing-code\">", "</p>").to_owned();
    assert_eq!(code.len(), 8, "{code}");
    assert!(made.html.contains("等待配对"), "{}", made.html);
    // The kiosk pairs with it, once.
    let paired = lab.app.post("/api/v1/kiosk/pair", None, json!({"pairing_code": code})).await;
    assert_eq!(paired.status, 200, "{}", paired.text);
    let again = lab.app.post("/api/v1/kiosk/pair", None, json!({"pairing_code": code})).await;
    assert_ne!(again.status, 200);
    let page = phone.get("/spaces/fab/kiosks").await;
    assert!(page.html.contains("正门") && page.html.contains("已配对"), "{}", page.html);
    assert!(!page.html.contains(&code), "the code is shown once only");

    // A maker is not told the kiosks, and cannot add one.
    let maker = Phone::new(&lab.app);
    maker.sign_up("curious@example.org").await;
    let refused = maker.get("/spaces/fab/kiosks").await;
    assert_eq!(refused.status, 403, "{}", refused.html);
    assert!(refused.html.contains("无权访问") && refused.html.contains("退出登录"), "signed-in nav: {}", refused.html);
}

#[tokio::test]
async fn a_page_address_the_server_cannot_read_is_answered_with_a_page_in_the_readers_language() {
    let lab = lab().await;
    let client = reqwest::Client::new();
    for (path, status) in [("/resources/%FF", 400), ("/resources/%FF?lang=en", 400), ("/signout", 405)] {
        let res = client.get(lab.app.url(path)).header("accept", "text/html,*/*").send().await.unwrap();
        assert_eq!(res.status().as_u16(), status, "{path}");
        let ct = res.headers()["content-type"].to_str().unwrap().to_owned();
        let html = res.text().await.unwrap();
        assert!(ct.starts_with("text/html"), "{path}: {ct}: {html}");
        let words = if path.contains("lang=en") { "<html lang=\"en\">" } else { "<html lang=\"zh-CN\">" };
        assert!(html.contains(words), "{path}: {html}");
    }
    // The API keeps its JSON problems.
    let api = client.get(lab.app.url("/api/v1/resources/%FF")).header("accept", "text/html").send().await.unwrap();
    assert!(api.headers()["content-type"].to_str().unwrap().contains("json"));
}

#[tokio::test]
async fn the_hour_a_fall_back_repeats_is_offered_twice_each_with_its_offset() {
    let app = spawn_app_at(ms(8, 0)).await;
    let (op, slug) = crate::helpers::operated_space(&app, "la", "America/Los_Angeles").await;
    crate::helpers::open_daily(&app, &op, &slug, "00:00", 1440).await;
    let r = app
        .post(
            "/api/v1/spaces/la/resources",
            Some(&op),
            json!({"kind": "tool", "name_zh": "车床", "name_en": "Lathe", "units": {"labels": ["L1"]},
                   "policy": {"slot_minutes": 60, "min_minutes": 60, "horizon_days": 90}}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let id = r.body["id"].as_str().unwrap();
    let week = Phone::new(&app).get(&format!("/resources/{id}?date=2026-11-01&lang=en")).await;
    let day = section(&week.html, "Sun 1 Nov", "</section>");
    // 25 hours: 01:00 twice, once in daylight time and once in standard time.
    assert!(day.contains("01:00 PDT") && day.contains("01:00 PST"), "{day}");
    assert_eq!(day.matches("href=").count(), 25, "{day}");
    let next = section(&week.html, "Mon 2 Nov", "</section>");
    assert_eq!(next.matches("href=").count(), 24, "{next}");
    assert!(!next.contains("PST"), "an ordinary day shows plain times: {next}");
}

#[tokio::test]
async fn an_archived_resource_shows_its_rules_but_no_time_to_book_and_field_errors_name_their_field() {
    let lab = lab().await;
    let a = lab.app.post(&format!("/api/v1/resources/{}/archive", lab.laser), Some(&lab.op), json!({})).await;
    assert_eq!(a.status, 204, "{}", a.text);
    let phone = Phone::new(&lab.app);
    phone.sign_up("late@example.org").await;
    let page = phone.get(&format!("/resources/{}", lab.laser)).await;
    assert_eq!(page.status, 200);
    assert!(page.html.contains("这个资源已停用"), "{}", page.html);
    assert!(page.links(&format!("/resources/{}/book", lab.laser)).is_empty(), "no time is offered: {}", page.html);

    // A team without a name: the error names the field in words, not `name`.
    let profile = phone.get("/me/profile").await;
    let refused = phone.post("/me/teams", &[("csrf", &profile.field("csrf")), ("name", "  ")]).await;
    assert_eq!(refused.status, 422, "{}", refused.html);
    assert!(refused.html.contains("名称：必填"), "{}", refused.html);
}

#[tokio::test]
async fn a_request_that_waits_for_approval_says_so_until_the_operator_approves_it() {
    let lab = lab().await;
    let r = lab
        .app
        .post(
            &format!("/api/v1/spaces/{}/resources", lab.slug),
            Some(&lab.op),
            json!({"kind": "lab_facility", "name_zh": "电子显微镜", "name_en": "Electron microscope",
                   "units": {"labels": ["SEM"]}, "policy": {"requires_approval": true}}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let sem = r.body["id"].as_str().unwrap().to_owned();
    let phone = Phone::new(&lab.app);
    phone.sign_up("asks@example.org").await;
    let page = phone.get(&format!("/resources/{sem}")).await;
    assert!(page.html.contains("需运营方审批"), "{}", page.html);
    let confirm = phone.get(&format!("/resources/{sem}/book?start=2026-09-07T02%3A00%3A00Z")).await;
    let booked = phone
        .post(
            &format!("/resources/{sem}/book"),
            &[("csrf", &confirm.field("csrf")), ("start", "2026-09-07T02:00:00Z"), ("minutes", "60")],
        )
        .await;
    let at = booked.location.unwrap();
    let b = phone.get(&at).await;
    assert!(b.html.contains("<h1>已提交申请</h1>") && b.html.contains("等待运营方审批"), "{}", b.html);
    let id = at.strip_prefix("/bookings/").unwrap();
    let ok = lab.app.post(&format!("/api/v1/bookings/{id}/approve"), Some(&lab.op), json!({})).await;
    assert_eq!(ok.status, 200, "{}", ok.text);
    let b = phone.get(&at).await;
    assert!(b.html.contains("<h1>已预订</h1>") && !b.html.contains("等待运营方审批"), "{}", b.html);
    let me = phone.get("/me").await;
    assert!(section(&me.html, "id=\"notices-h\"", "</section>").contains("预订已获批准"), "{}", me.html);
}

#[tokio::test]
async fn a_space_page_opens_the_units_it_could_not_list_on_the_resources_page() {
    let now = ms(8, 0);
    let app = spawn_app_at(now).await;
    labinn::demo::seed(&app.state.svc, now).await.unwrap();
    let page = Phone::new(&app).get("/spaces/cloud-valley-incubator").await;
    // Forty seats in zone A: the rest are a link to the seats' own week.
    let more = page.html.split("更多单元").next().unwrap();
    let href = more.rsplit("<a href=\"").next().unwrap().split('"').next().unwrap();
    assert!(href.starts_with("/resources/"), "{href}");
    let seats = Phone::new(&app).get(href).await;
    assert_eq!(seats.status, 200);
    assert!(seats.html.contains("A 区免费宽带工位"), "{}", seats.html);
}

#[tokio::test]
async fn the_last_days_say_they_are_too_far_ahead_and_the_week_stops_at_the_horizon() {
    // 07:00 on 7 September: 30 days ahead is 07:00 on 7 October, before that day opens.
    let lab = lab_at_app(spawn_app_at(ms(7, 0)).await).await;
    let week = Phone::new(&lab.app).get(&format!("/resources/{}?date=2026-10-06", lab.laser)).await;
    let sixth = section(&week.html, "10月6日 周二", "</section>");
    assert!(sixth.contains("/book?start="), "the day before is bookable: {sixth}");
    let seventh = section(&week.html, "10月7日 周三", "</section>");
    assert!(seventh.contains("超出可预订范围") && !seventh.contains("已约满"), "{seventh}");
    assert!(week.html.contains("已到可预订的最远一周") && !week.html.contains("下一周 →"), "{}", week.html);
}
