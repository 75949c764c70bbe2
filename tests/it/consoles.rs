//! The operator console, as an operator uses it from a browser without JavaScript: the day
//! of the space, a booking opened and acted on, the approvals queue; and who may not.

use crate::checkin::{Lab, lab_at, ms};
use crate::maker_pages::{Phone, section};
use labinn::domain::booking::BookingStatus;
use labinn::domain::ids::BookingId;
use serde_json::json;
use sha2::Digest;

/// The lab's operator, signed in on a browser.
async fn operator_phone(lab: &Lab) -> Phone<'_> {
    let phone = Phone::new(&lab.app);
    phone.sign_in(&format!("op-{}@example.org", lab.slug)).await;
    phone
}

/// A maker with a display name: their token.
async fn named(lab: &Lab, email: &str, name: &str) -> String {
    lab.app.register(email, name).await;
    lab.app.login(email).await
}

async fn status_of(lab: &Lab, id: &str) -> BookingStatus {
    lab.app.db.booking(&BookingId::new(id)).await.unwrap().status
}

#[tokio::test]
async fn an_operator_follows_the_day_checks_a_maker_out_by_hand_and_sees_in_now_overstays_and_no_shows() {
    let lab = lab_at(ms(8, 0)).await;
    let ann = named(&lab, "ann@example.org", "安安").await;
    let (_, bo) = lab.app.maker("bo@example.org").await;
    let a = lab.book(&ann, &lab.laser, (9, 0), (10, 0)).await;
    let b = lab.book(&bo, &lab.laser, (10, 0), (11, 0)).await;
    let (_, kiosk) = lab.kiosk("Front door").await;

    let phone = operator_phone(&lab).await;
    // One space: the console opens on its day.
    let home = phone.get("/ops").await;
    assert_eq!((home.status, home.location.as_deref()), (303, Some("/ops/fab")), "{}", home.html);
    let day = phone.get("/ops/fab").await;
    assert_eq!(day.status, 200, "{}", day.html);
    assert!(day.html.contains("9月7日 周一") && day.html.contains("LC-1") && day.html.contains("A-02"), "{}", day.html);
    let list = section(&day.html, "id=\"day-bookings\"", "</table>");
    assert!(list.contains("安安") && list.contains("Maker") && list.matches("已确认").count() == 2, "{list}");
    assert!(day.html.contains(&format!("/ops/fab/bookings/{}", a.id.as_str())), "a booking opens from the board");
    // The page refreshes its board by itself, and says so without JavaScript.
    assert!(day.html.contains("data-live=\"true\"") && day.html.contains("/ops/ops.js"), "{}", day.html);
    let js = lab.app.client.get(lab.app.url("/ops/ops.js")).send().await.unwrap();
    assert_eq!(js.status(), 200);

    // Ann checks in at the kiosk and stays past her end; Bo never comes.
    lab.app.clock.set(ms(8, 55));
    assert_eq!(lab.scan(&kiosk, a.qr()).await["decision"], "check_in");
    let day = phone.get("/ops/fab").await;
    let in_now = section(&day.html, "id=\"in-now\"", "</section>");
    assert!(in_now.contains("(1)") && in_now.contains("安安"), "{in_now}");
    lab.app.clock.set(ms(10, 5));
    let day = phone.get("/ops/fab").await;
    let over = section(&day.html, "id=\"overstays\"", "</section>");
    assert!(over.contains("(1)") && over.contains("安安"), "{over}");
    let in_now = section(&day.html, "id=\"in-now\"", "</section>");
    assert!(in_now.contains("(0)"), "an overstay is listed as such: {in_now}");

    // Ann's booking: who she is and her session; checking her out needs a reason.
    let at = format!("/ops/fab/bookings/{}", a.id.as_str());
    let page = phone.get(&at).await;
    assert!(page.html.contains("ann@example.org") && page.html.contains("签到机扫码"), "{}", page.html);
    assert!(page.html.contains("超时未签退"), "{}", page.html);
    let csrf = page.field("csrf");
    let refused = phone.post(&format!("{at}/checkout"), &[("csrf", &csrf), ("reason", " ")]).await;
    assert_eq!(refused.status, 422, "{}", refused.html);
    assert!(refused.html.contains("原因：必填"), "{}", refused.html);
    assert_eq!(status_of(&lab, a.id.as_str()).await, BookingStatus::CheckedIn);
    let done = phone.post(&format!("{at}/checkout"), &[("csrf", &csrf), ("reason", "忘记签退")]).await;
    assert_eq!((done.status, done.location.as_deref()), (303, Some(format!("{at}?done=checkout").as_str())));
    let page = phone.get(done.location.as_deref().unwrap()).await;
    assert!(page.html.contains("已手动签退") && page.html.contains("签到机扫码 → 运营方手动"), "{}", page.html);
    assert!(page.html.contains("忘记签退"), "the reason is on the session: {}", page.html);
    assert_eq!(status_of(&lab, a.id.as_str()).await, BookingStatus::Completed);

    // Past Bo's grace, the jobs mark him a no-show.
    lab.app.clock.set(ms(10, 20));
    lab.run_jobs().await;
    assert_eq!(status_of(&lab, b.id.as_str()).await, BookingStatus::NoShow);
    let day = phone.get("/ops/fab").await;
    let no_shows = section(&day.html, "id=\"no-shows\"", "</section>");
    assert!(no_shows.contains("(1)") && no_shows.contains("Maker"), "{no_shows}");

    // Bo's no-show is corrected by hand: he was there, the kiosk was down.
    let at_b = format!("/ops/fab/bookings/{}", b.id.as_str());
    let done = phone.post(&format!("{at_b}/checkin"), &[("csrf", &csrf), ("reason", "签到机故障")]).await;
    assert_eq!(done.status, 303, "{}", done.html);
    assert_eq!(status_of(&lab, b.id.as_str()).await, BookingStatus::CheckedIn);

    // In English, the same day.
    let en = phone.get("/ops/fab?lang=en").await;
    assert!(en.html.contains("In now") && en.html.contains("Mon 7 Sep"), "{}", en.html);
}

#[tokio::test]
async fn an_operator_moves_and_cancels_a_booking_with_a_reason_and_the_maker_is_told() {
    let lab = lab_at(ms(8, 0)).await;
    let (_, ann) = lab.app.maker("ann@example.org").await;
    let (_, bo) = lab.app.maker("bo@example.org").await;
    let a = lab.book(&ann, &lab.laser, (14, 0), (15, 0)).await;
    lab.book(&bo, &lab.laser, (16, 0), (17, 0)).await;
    let phone = operator_phone(&lab).await;
    let at = format!("/ops/fab/bookings/{}", a.id.as_str());
    let page = phone.get(&at).await;
    assert_eq!(
        (page.field("date"), page.field("time"), page.field("minutes")),
        ("2026-09-07".into(), "14:00".into(), "60".into())
    );
    let csrf = page.field("csrf");
    // Onto Bo's time: refused in words, nothing moved.
    let clash = phone
        .post(&format!("{at}/move"), &[("csrf", &csrf), ("date", "2026-09-07"), ("time", "16:00"), ("minutes", "60")])
        .await;
    assert_eq!(clash.status, 409, "{}", clash.html);
    assert!(clash.html.contains("这个时间已被占用"), "{}", clash.html);
    let bad = phone
        .post(&format!("{at}/move"), &[("csrf", &csrf), ("date", "7.9.2026"), ("time", "18"), ("minutes", "60")])
        .await;
    assert_eq!(bad.status, 422, "{}", bad.html);
    assert!(bad.html.contains("日期") && bad.html.contains("时间"), "{}", bad.html);
    let moved = phone
        .post(&format!("{at}/move"), &[("csrf", &csrf), ("date", "2026-09-07"), ("time", "18:00"), ("minutes", "90")])
        .await;
    assert_eq!(moved.status, 303, "{}", moved.html);
    let row = lab.app.db.booking(&BookingId::new(a.id.as_str())).await.unwrap();
    assert_eq!((row.starts_at, row.ends_at), (ms(18, 0), ms(19, 30)));

    // Cancelling needs a reason; with one, the maker reads it on their page.
    let refused = phone.post(&format!("{at}/cancel"), &[("csrf", &csrf), ("reason", "")]).await;
    assert_eq!(refused.status, 422, "{}", refused.html);
    let done = phone.post(&format!("{at}/cancel"), &[("csrf", &csrf), ("reason", "设备检修")]).await;
    assert_eq!(done.status, 303, "{}", done.html);
    assert_eq!(status_of(&lab, a.id.as_str()).await, BookingStatus::Cancelled);
    let maker = Phone::new(&lab.app);
    maker.sign_in("ann@example.org").await;
    let me = maker.get("/me").await;
    assert!(me.html.contains("设备检修"), "{}", me.html);
    // The day lists it among the withdrawn.
    let day = phone.get("/ops/fab").await;
    let withdrawn = section(&day.html, "已取消或未获批准 (1)", "</ul>");
    assert!(withdrawn.contains("18:00–19:30") && withdrawn.contains("已取消"), "{withdrawn}");
}

#[tokio::test]
async fn an_operator_approves_and_declines_from_the_queue_and_sees_who_waits() {
    let lab = lab_at(ms(8, 0)).await;
    let r = lab
        .app
        .post(
            &format!("/api/v1/spaces/{}/resources", lab.slug),
            Some(&lab.op),
            json!({"kind": "tool", "name_zh": "数控机床", "name_en": "CNC mill",
                   "units": {"labels": ["CNC-1"]}, "policy": {"requires_approval": true}}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let cnc = r.body["id"].as_str().unwrap().to_owned();
    let (_, ann) = lab.app.maker("ann@example.org").await;
    let (_, bo) = lab.app.maker("bo@example.org").await;
    let a = lab.book(&ann, &cnc, (10, 0), (11, 0)).await;
    let b = lab.book(&bo, &cnc, (12, 0), (13, 0)).await;
    // Someone waits for the laser.
    let (_, cy) = lab.app.maker("cy@example.org").await;
    lab.book(&ann, &lab.laser, (15, 0), (16, 0)).await;
    let w = lab
        .app
        .post(
            "/api/v1/waitlist",
            Some(&cy),
            json!({"resource": lab.laser, "start": crate::checkin::at(15, 0), "end": crate::checkin::at(16, 0)}),
        )
        .await;
    assert_eq!(w.status, 201, "{}", w.text);

    let phone = operator_phone(&lab).await;
    let day = phone.get("/ops/fab").await;
    assert!(day.html.contains("待审批：2"), "the day says what waits: {}", day.html);
    let q = phone.get("/ops/fab/approvals").await;
    let pending = section(&q.html, "id=\"pending\"", "</ul>");
    assert!(pending.contains("数控机床 · CNC-1") && pending.matches("<li").count() == 2, "{pending}");
    let waitlist = section(&q.html, "id=\"waitlist\"", "</table>");
    assert!(waitlist.contains("激光切割机") && waitlist.contains("9月7日 周一 15:00–16:00"), "{waitlist}");
    let csrf = q.field("csrf");

    let ok = phone
        .post(&format!("/ops/fab/bookings/{}/approve", a.id.as_str()), &[("csrf", &csrf), ("back", "approvals")])
        .await;
    assert_eq!(ok.status, 303, "{}", ok.html);
    assert!(ok.location.as_deref().unwrap().starts_with("/ops/fab/approvals?done=approve"));
    assert_eq!(status_of(&lab, a.id.as_str()).await, BookingStatus::Confirmed);
    let no_reason = phone
        .post(
            &format!("/ops/fab/bookings/{}/decline", b.id.as_str()),
            &[("csrf", &csrf), ("back", "approvals"), ("reason", "")],
        )
        .await;
    assert_eq!(no_reason.status, 422, "{}", no_reason.html);
    assert_eq!(status_of(&lab, b.id.as_str()).await, BookingStatus::Pending);
    let no = phone
        .post(
            &format!("/ops/fab/bookings/{}/decline", b.id.as_str()),
            &[("csrf", &csrf), ("back", "approvals"), ("reason", "需要先完成培训")],
        )
        .await;
    assert_eq!(no.status, 303, "{}", no.html);
    assert_eq!(status_of(&lab, b.id.as_str()).await, BookingStatus::Declined);
    let q = phone.get(no.location.as_deref().unwrap()).await;
    assert!(q.html.contains("已拒绝，创客会收到通知") && q.html.contains("没有待审批的预订"), "{}", q.html);
    // Deciding twice says it is decided already.
    let again = phone.post(&format!("/ops/fab/bookings/{}/approve", a.id.as_str()), &[("csrf", &csrf)]).await;
    assert_eq!(again.status, 409, "{}", again.html);
    assert!(again.html.contains("这个预订已不在待审批状态"), "{}", again.html);
}

#[tokio::test]
async fn a_maker_and_the_operator_of_another_space_are_told_they_may_not_and_see_no_data() {
    let lab = lab_at(ms(8, 0)).await;
    let ann = named(&lab, "ann@example.org", "安安").await;
    let a = lab.book(&ann, &lab.laser, (9, 0), (10, 0)).await;

    let maker = Phone::new(&lab.app);
    maker.sign_in("ann@example.org").await;
    for path in ["/ops", "/ops/fab", "/ops/fab/approvals"] {
        let p = maker.get(path).await;
        assert_eq!(p.status, 403, "{path}: {}", p.html);
        assert!(p.html.contains("无权访问") && !p.html.contains("LC-1"), "{path}: {}", p.html);
    }
    let en = maker.get("/ops/fab?lang=en").await;
    assert!(en.status == 403 && en.html.contains("Not allowed"), "{}", en.html);
    // The header offers the console only to those who run a space.
    assert!(!maker.get("/me").await.html.contains("href=\"/ops\""));

    crate::helpers::operated_space(&lab.app, "other", "Asia/Shanghai").await;
    let other = Phone::new(&lab.app);
    other.sign_in("op-other@example.org").await;
    assert!(other.get("/me").await.html.contains("href=\"/ops\""));
    for path in ["/ops/fab".to_owned(), format!("/ops/fab/bookings/{}", a.id.as_str())] {
        let p = other.get(&path).await;
        assert_eq!(p.status, 403, "{path}: {}", p.html);
        assert!(!p.html.contains("安安") && !p.html.contains("ann@example.org"), "{path}: {}", p.html);
    }
    // Nor from its own console's address: a booking of another space is not found there.
    let own = other.get("/ops/other").await;
    assert_eq!(own.status, 200, "{}", own.html);
    let csrf = own.field("csrf");
    let p =
        other.post(&format!("/ops/other/bookings/{}/cancel", a.id.as_str()), &[("csrf", &csrf), ("reason", "x")]).await;
    assert_eq!(p.status, 404, "{}", p.html);
    assert_eq!(status_of(&lab, a.id.as_str()).await, BookingStatus::Confirmed);
    // Signed out: sign in first, then back here.
    let anon = Phone::new(&lab.app).get("/ops/fab").await;
    assert_eq!((anon.status, anon.location.as_deref()), (303, Some("/signin?next=/ops/fab")));
}

#[tokio::test]
async fn the_spaces_booking_list_says_who_booked_over_a_range_of_days_for_its_operators_only() {
    let lab = lab_at(ms(8, 0)).await;
    let ann = named(&lab, "ann@example.org", "安安").await;
    let a = lab.book(&ann, &lab.laser, (9, 0), (10, 0)).await;
    let next_day = lab
        .app
        .book(
            &ann,
            json!({"resource": lab.laser, "start": "2026-09-08T09:00:00+08:00", "end": "2026-09-08T10:00:00+08:00"}),
        )
        .await;
    // One day, as before: who booked it is on each booking.
    let day = lab.app.space_list(&lab.op, "fab", "?date=2026-09-07").await;
    assert_eq!(day.len(), 1);
    let maker = day[0].maker.clone().expect("operators see the maker");
    assert_eq!((maker.display_name.as_str(), maker.email.as_str()), ("安安", "ann@example.org"));
    assert_eq!(day[0].booking.id, a.id.as_str());
    // Two days at once, in start order.
    let both = lab.app.space_list(&lab.op, "fab", "?from=2026-09-07&to=2026-09-08").await;
    let ids: Vec<&str> = both.iter().map(|b| b.booking.id.as_str()).collect();
    assert_eq!(ids, [a.id.as_str(), next_day.id.as_str()]);
    // A reviewer reads the bookings, without the makers.
    let admin = lab.app.admin().await;
    let (rid, _) = lab.app.maker("reviewer@example.org").await;
    let g =
        lab.app.post(&format!("/api/v1/admin/accounts/{rid}/roles"), Some(&admin), json!({"role": "reviewer"})).await;
    assert_eq!(g.status, 200, "{}", g.text);
    let reviewer = lab.app.login("reviewer@example.org").await;
    let seen = lab.app.space_list(&reviewer, "fab", "?from=2026-09-07&to=2026-09-08").await;
    assert!(seen.len() == 2 && seen.iter().all(|b| b.maker.is_none()), "{seen:?}");
    // A range the wrong way round, too long, or beside a date: each says which field.
    for (q, field, code) in [
        ("?from=2026-09-08&to=2026-09-07", "to", "before_start"),
        ("?from=2026-09-01&to=2026-11-30", "to", "period_too_long"),
        ("?date=2026-09-07&from=2026-09-07", "date", "not_allowed"),
        ("?to=2026-09-07", "from", "required"),
    ] {
        let r = lab.app.get(&format!("/api/v1/spaces/fab/bookings{q}"), Some(&lab.op)).await;
        assert_eq!(r.status, 422, "{q}: {}", r.text);
        assert_eq!(r.body["error"]["details"]["fields"][0]["field"], field, "{q}: {}", r.text);
        assert_eq!(r.body["error"]["details"]["fields"][0]["code"], code, "{q}: {}", r.text);
    }
}

#[tokio::test]
async fn an_operator_finds_a_maker_verifies_them_and_grants_and_revokes_a_training_with_an_expiry() {
    let lab = lab_at(ms(8, 0)).await;
    let t = lab
        .app
        .post(
            "/api/v1/trainings",
            Some(&lab.op),
            json!({"slug": "laser-induction", "name_zh": "激光安全培训", "name_en": "Laser induction", "space": "fab"}),
        )
        .await;
    assert_eq!(t.status, 201, "{}", t.text);
    named(&lab, "ann@example.org", "安安").await;
    named(&lab, "bo@example.org", "Bo").await;
    let phone = operator_phone(&lab).await;

    // Too short a search is said next to the box; a name finds her.
    let short = phone.get("/ops/fab/makers?q=a").await;
    assert_eq!(short.status, 422, "{}", short.html);
    assert!(short.html.contains("查找创客：太短"), "{}", short.html);
    let found = phone.get("/ops/fab/makers?q=%E5%AE%89%E5%AE%89").await;
    assert_eq!(found.status, 200, "{}", found.html);
    let list = section(&found.html, "id=\"found\"", "</ul>\n");
    assert!(list.contains("ann@example.org") && !list.contains("bo@example.org"), "{list}");
    let ann_id = lab.app.db.account_by_email("ann@example.org").await.unwrap().unwrap().id.to_string();
    let csrf = found.field("csrf");

    // Verified: the maker's account says so, and the list of verified makers has her.
    let done = phone
        .post(&format!("/ops/fab/makers/{ann_id}/verified"), &[("csrf", &csrf), ("verified", "1"), ("q", "安安")])
        .await;
    assert_eq!(done.status, 303, "{}", done.html);
    assert_eq!(done.location.as_deref(), Some("/ops/fab/makers?q=%E5%AE%89%E5%AE%89&done=verified"));
    assert!(lab.app.db.account_by_email("ann@example.org").await.unwrap().unwrap().verified_maker);
    let page = phone.get(done.location.as_deref().unwrap()).await;
    assert!(page.html.contains("已认证。") && section(&page.html, "id=\"verified\"", "</ul>").contains("安安"));

    // A training until a date; a wrong address is said, and nothing is granted.
    let bad = phone
        .post(
            "/ops/fab/trainings/grant",
            &[
                ("csrf", &csrf),
                ("training", "laser-induction"),
                ("email", "nobody@example.org"),
                ("expires", ""),
                ("q", ""),
            ],
        )
        .await;
    assert_eq!(bad.status, 422, "{}", bad.html);
    assert!(bad.html.contains("电子邮箱：没有这个账号"), "{}", bad.html);
    let granted = phone
        .post(
            "/ops/fab/trainings/grant",
            &[
                ("csrf", &csrf),
                ("training", "laser-induction"),
                ("email", "ann@example.org"),
                ("expires", "2027-06-30"),
                ("q", ""),
            ],
        )
        .await;
    assert_eq!(granted.status, 303, "{}", granted.html);
    let page = phone.get("/ops/fab/makers").await;
    let block = section(&page.html, "id=\"training-laser-induction\"", "</section>");
    assert!(block.contains("安安") && block.contains("至 6月30日 周三") && block.contains("(1)"), "{block}");
    let grants = lab.app.get("/api/v1/trainings/laser-induction/grants", Some(&lab.op)).await;
    assert_eq!(grants.body[0]["email"], "ann@example.org", "{}", grants.text);

    // Revoked from the training's list: nobody holds it, and the API agrees.
    let revoked = phone
        .post(
            "/ops/fab/trainings/laser-induction/revoke",
            &[("csrf", &csrf), ("account", &ann_id), ("reason", "安全违规"), ("q", "")],
        )
        .await;
    assert_eq!(revoked.status, 303, "{}", revoked.html);
    let page = phone.get(revoked.location.as_deref().unwrap()).await;
    assert!(page.html.contains("已撤销培训"), "{}", page.html);
    let block = section(&page.html, "id=\"training-laser-induction\"", "</section>");
    assert!(block.contains("还没有人获得") && block.contains("(0)"), "{block}");
    let grants = lab.app.get("/api/v1/trainings/laser-induction/grants", Some(&lab.op)).await;
    assert_eq!(grants.body.as_array().unwrap().len(), 0, "{}", grants.text);

    // A training defined from the page, district-wide: listed with nobody holding it.
    let defined = phone
        .post(
            "/ops/fab/trainings",
            &[
                ("csrf", &csrf),
                ("slug", "cnc-induction"),
                ("name_zh", "数控入门"),
                ("name_en", "CNC induction"),
                ("scope", "district"),
            ],
        )
        .await;
    assert_eq!(defined.location.as_deref(), Some("/ops/fab/makers?q=&done=defined"), "{}", defined.html);
    let page = phone.get("/ops/fab/makers").await;
    assert!(section(&page.html, "id=\"training-cnc-induction\"", "</section>").contains("全区通用"), "{}", page.html);
    let again = phone
        .post(
            "/ops/fab/trainings",
            &[
                ("csrf", &csrf),
                ("slug", "cnc-induction"),
                ("name_zh", "数控入门"),
                ("name_en", "CNC"),
                ("scope", "space"),
            ],
        )
        .await;
    assert_eq!(again.status, 422, "a taken slug is said: {}", again.html);

    // A maker may not search makers.
    let maker = Phone::new(&lab.app);
    maker.sign_in("ann@example.org").await;
    let refused = maker.get("/ops/fab/makers?q=bo").await;
    assert_eq!(refused.status, 403, "{}", refused.html);
    assert!(!refused.html.contains("bo@example.org"), "{}", refused.html);
}

#[tokio::test]
async fn an_operator_pairs_a_kiosk_by_its_qr_code_reads_its_scan_log_and_revokes_it() {
    let lab = lab_at(ms(8, 0)).await;
    let (_, ann) = lab.app.maker("ann@example.org").await;
    let b = lab.book(&ann, &lab.laser, (9, 0), (10, 0)).await;
    let phone = operator_phone(&lab).await;
    let page = phone.get("/spaces/fab/kiosks").await;
    let csrf = page.field("csrf");
    let made = phone.post("/spaces/fab/kiosks", &[("csrf", &csrf), ("name", "正门")]).await;
    assert_eq!(made.status, 200, "{}", made.html);
    // The code, large, and a QR code of the kiosk page's address with it.
    let code = section(&made.html, "id=\"pairing-code\">", "</p>").to_owned();
    let qr = section(&made.html, "id=\"pairing-qr\"", "</div>");
    let url = format!("http://{}/kiosk?pair={code}", lab.app.addr);
    assert!(qr.contains(&format!("data-url=\"{url}\"")) && qr.contains("<svg"), "{qr}");
    // The kiosk page pairs itself from `?pair=`: what it posts is the code.
    let js = lab.app.client.get(lab.app.url("/kiosk/kiosk.js")).send().await.unwrap().text().await.unwrap();
    assert!(js.contains("params.get(\"pair\")") && js.contains("requestSubmit"), "kiosk.js reads ?pair=");
    let paired = lab.app.post("/api/v1/kiosk/pair", None, json!({"pairing_code": code})).await;
    assert_eq!(paired.status, 200, "{}", paired.text);
    let token = paired.body["token"].as_str().unwrap().to_owned();

    // Two scans: one denied (too early), one check-in; the log says both, newest first.
    lab.app.clock.set(ms(8, 0));
    assert_eq!(lab.scan(&token, b.qr()).await["decision"], "deny");
    lab.app.clock.set(ms(9, 0));
    assert_eq!(lab.scan(&token, b.qr()).await["decision"], "check_in");
    let list = phone.get("/spaces/fab/kiosks").await;
    let log_link = list.links("/spaces/fab/kiosks/").into_iter().find(|l| !l.ends_with("/pairing")).unwrap();
    let log = phone.get(&log_link).await;
    assert_eq!(log.status, 200, "{}", log.html);
    let scans = section(&log.html, "id=\"scans\"", "</table>");
    let (first, second) = (scans.find("签到<").unwrap(), scans.find("还太早").unwrap());
    assert!(first < second, "newest first: {scans}");
    assert!(scans.contains(&format!("/ops/fab/bookings/{}", b.id.as_str())), "{scans}");

    // Revoked: the kiosk's token stops working, and the page says so.
    let id = log_link.trim_start_matches("/spaces/fab/kiosks/").to_owned();
    let revoked = phone.post(&format!("/spaces/fab/kiosks/{id}/revoke"), &[("csrf", &csrf)]).await;
    assert_eq!(revoked.status, 200, "{}", revoked.html);
    assert!(revoked.html.contains("已停用这台签到机") && revoked.html.contains("已停用"), "{}", revoked.html);
    let after = lab.app.post("/api/v1/kiosk/scan", Some(&token), json!({"code": b.qr()})).await;
    assert_eq!(after.status, 401, "{}", after.text);

    // Another space's operator cannot read this kiosk's log.
    crate::helpers::operated_space(&lab.app, "elsewhere", "Asia/Shanghai").await;
    let stranger = Phone::new(&lab.app);
    stranger.sign_in("op-elsewhere@example.org").await;
    let refused = stranger.get(&format!("/spaces/elsewhere/kiosks/{id}")).await;
    assert_eq!(refused.status, 404, "{}", refused.html);
    let refused = stranger.get(&format!("/spaces/fab/kiosks/{id}")).await;
    assert_eq!(refused.status, 403, "{}", refused.html);
}

/// The laser's policy form as the page shows it, with `changes` made.
fn policy_form<'a>(csrf: &'a str, changes: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut form = vec![
        ("csrf", csrf),
        ("name_zh", "激光切割机"),
        ("name_en", "Laser cutter"),
        ("description", ""),
        ("slot_minutes", "15"),
        ("min_minutes", "15"),
        ("max_minutes", "240"),
        ("min_notice_minutes", "0"),
        ("horizon_days", "30"),
        ("buffer_before_minutes", "0"),
        ("buffer_after_minutes", "0"),
        ("checkin_opens_minutes_before", "15"),
        ("no_show_grace_minutes", "15"),
        ("eligibility", "anyone"),
        ("quota.hours_per_week", ""),
        ("quota.max_active_bookings", ""),
        ("price.amount", "12.50"),
        ("price.per", "hour"),
    ];
    for (k, v) in changes {
        form.retain(|(f, _)| f != k);
        form.push((k, v));
    }
    form
}

#[tokio::test]
async fn an_operator_sets_opening_hours_from_a_preview_a_policy_field_by_field_and_a_closure() {
    let lab = lab_at(ms(8, 0)).await;
    let phone = operator_phone(&lab).await;
    let page = phone.get("/ops/fab/catalog").await;
    assert_eq!(page.status, 200, "{}", page.html);
    let rules = section(&page.html, "id=\"rules\"", "</ul>");
    assert!(rules.contains("每天 08:00–22:00"), "the lab opens daily 08:00 for 14 h: {rules}");
    let csrf = page.field("csrf");

    // Saturdays 10:00–16:00 from 7 September for the laser: previewed in local time first.
    let hours = |action: &'static str, open: &'static str| {
        vec![
            ("csrf", csrf.clone()),
            ("sa", "on".into()),
            ("open", open.into()),
            ("close", "16:00".into()),
            ("from", "2026-09-07".into()),
            ("resource", lab.laser.clone()),
            ("rrule", String::new()),
            ("action", action.into()),
        ]
    };
    let as_refs = |v: &Vec<(&'static str, String)>| v.iter().map(|(k, v)| (*k, v.clone())).collect::<Vec<_>>();
    let send = |v: Vec<(&'static str, String)>| {
        let phone = &phone;
        async move {
            let refs: Vec<(&str, &str)> = v.iter().map(|(k, v)| (*k, v.as_str())).collect();
            phone.post("/ops/fab/catalog/hours", &refs).await
        }
    };
    let preview = send(as_refs(&hours("preview", "10:00"))).await;
    assert_eq!(preview.status, 200, "{}", preview.html);
    let next = section(&preview.html, "id=\"preview\"", "</ol>");
    assert!(next.contains("9月12日 周六 10:00–16:00") && next.contains("9月19日 周六 10:00–16:00"), "{next}");
    let unchanged = phone.get("/ops/fab/catalog").await;
    assert!(!section(&unchanged.html, "id=\"rules\"", "</ul>").contains("周六"), "a preview saves nothing");
    let bad = send(as_refs(&hours("save", "ten"))).await;
    assert_eq!(bad.status, 422, "{}", bad.html);
    assert!(bad.html.contains("开门：格式不正确"), "{}", bad.html);
    let saved = send(as_refs(&hours("save", "10:00"))).await;
    assert_eq!((saved.status, saved.location.as_deref()), (303, Some("/ops/fab/catalog?done=hours#hours")));
    let rules = lab.app.get("/api/v1/spaces/fab/opening-rules", None).await;
    let laser_rule = rules.body.as_array().unwrap().iter().find(|r| r["resource_id"] == lab.laser.as_str()).cloned();
    let laser_rule = laser_rule.expect("the laser has its own rule");
    assert_eq!(
        (laser_rule["rrule"].as_str(), laser_rule["duration_minutes"].as_i64()),
        (Some("FREQ=WEEKLY;BYDAY=SA"), Some(360))
    );

    // The policy: a number that is not one, and a shortest longer than the longest, are each
    // said next to their field; nothing is saved until the form is right.
    let at = format!("/ops/fab/resources/{}", lab.laser);
    let form = phone.get(&at).await;
    assert_eq!(form.status, 200, "{}", form.html);
    let refused = phone.post(&at, &policy_form(&csrf, &[("max_minutes", "lots")])).await;
    assert_eq!(refused.status, 422, "{}", refused.html);
    assert!(section(&refused.html, "id=\"field-max_minutes\"", "</div>").contains("无法识别"), "{}", refused.html);
    let refused = phone.post(&at, &policy_form(&csrf, &[("min_minutes", "300")])).await;
    assert_eq!(refused.status, 422, "{}", refused.html);
    assert!(
        section(&refused.html, "id=\"field-min_minutes\"", "</div>").contains("不能大于最长时长"),
        "{}",
        refused.html
    );
    assert!(refused.html.contains("value=\"300\""), "what was typed stays: {}", refused.html);
    for price in ["-0.50", "184467440737095517", "1.234"] {
        let refused = phone.post(&at, &policy_form(&csrf, &[("price.amount", price)])).await;
        assert_eq!(refused.status, 422, "{price}: {}", refused.html);
        assert!(section(&refused.html, "id=\"field-price.amount\"", "</div>").contains("无法识别"), "{price}");
    }
    let saved =
        phone.post(&at, &policy_form(&csrf, &[("requires_approval", "on"), ("quota.hours_per_week", "6")])).await;
    assert_eq!((saved.status, saved.location.as_deref()), (303, Some(format!("{at}?done=saved").as_str())));
    let row = lab.app.db.resource(&labinn::domain::ids::ResourceId::new(lab.laser.as_str())).await.unwrap();
    let policy: serde_json::Value = serde_json::from_str(&row.policy).unwrap();
    assert_eq!((policy["requires_approval"].as_bool(), policy["max_minutes"].as_i64()), (Some(true), Some(240)));
    assert_eq!(
        (policy["quota"]["hours_per_week"].as_f64(), policy["price"]["amount_minor"].as_i64()),
        (Some(6.0), Some(1250))
    );

    // A closure of the whole space: its end before its start is said; then it is listed.
    let bad = phone
        .post(
            "/ops/fab/catalog/closures",
            &[
                ("csrf", &csrf),
                ("reason", "国庆"),
                ("start", "2026-10-07T00:00"),
                ("end", "2026-10-01T00:00"),
                ("resource", ""),
            ],
        )
        .await;
    assert_eq!(bad.status, 422, "{}", bad.html);
    assert!(bad.html.contains("结束：须晚于开始时间"), "{}", bad.html);
    assert!(
        bad.html.contains("value=\"国庆\"") && bad.html.contains("value=\"2026-10-07T00:00\""),
        "kept: {}",
        bad.html
    );
    let ok = phone
        .post(
            "/ops/fab/catalog/closures",
            &[
                ("csrf", &csrf),
                ("reason", "国庆"),
                ("start", "2026-10-01T00:00"),
                ("end", "2026-10-08T00:00"),
                ("resource", ""),
            ],
        )
        .await;
    assert_eq!(ok.status, 303, "{}", ok.html);
    let page = phone.get("/ops/fab/catalog").await;
    assert!(section(&page.html, "id=\"closure-list\"", "</ul>").contains("国庆"), "{}", page.html);

    // A maker may not open the catalog.
    let (_, _) = lab.app.maker("ann@example.org").await;
    let maker = Phone::new(&lab.app);
    maker.sign_in("ann@example.org").await;
    assert_eq!(maker.get("/ops/fab/catalog").await.status, 403);
    assert_eq!(maker.get(&at).await.status, 403);
}

#[tokio::test]
async fn an_operator_keeps_the_registers_area_residents_an_event_with_attendance_and_a_document() {
    let lab = lab_at(ms(8, 0)).await;
    let (_, founder) = lab.app.maker("founder@example.org").await;
    let o = lab
        .app
        .post(
            "/api/v1/organisations",
            Some(&founder),
            json!({"name": "光子工作室", "slug": "photon", "kind": "startup"}),
        )
        .await;
    assert_eq!(o.status, 201, "{}", o.text);
    let phone = operator_phone(&lab).await;
    let page = phone.get("/ops/fab/registers").await;
    assert_eq!(page.status, 200, "{}", page.html);
    let csrf = page.field("csrf");

    // The area plan: a floor area that is not a number is said in its part of the page.
    let bad = phone
        .post(
            "/ops/fab/registers/area",
            &[("csrf", &csrf), ("name", "车间"), ("area_m2", "big"), ("use_class", "maker_work"), ("resource", "")],
        )
        .await;
    assert_eq!(bad.status, 422, "{}", bad.html);
    let area = section(&bad.html, "id=\"area\"", "</section>");
    assert!(area.contains("面积（平方米）：无法识别") && area.contains("value=\"车间\""), "{}", bad.html);
    for (name, m2, class) in [("车间", "300", "maker_work"), ("办公室", "100", "operator_office")] {
        let ok = phone
            .post(
                "/ops/fab/registers/area",
                &[("csrf", &csrf), ("name", name), ("area_m2", m2), ("use_class", class), ("resource", "")],
            )
            .await;
        assert_eq!(ok.status, 303, "{}", ok.html);
    }
    let page = phone.get("/ops/fab/registers").await;
    let area = section(&page.html, "id=\"area\"", "</section>");
    assert!(area.contains("300.0 m²") && area.contains("75.0 %"), "maker work is 300 of 400 m²: {area}");

    // A resident, then its residency ended on a date (kept, with the date).
    let resident = [
        ("csrf", csrf.as_str()),
        ("organisation", "photon"),
        ("agreement_ref", "RZ-001"),
        ("starts_on", "2026-01-01"),
        ("ends_on", ""),
        ("desks", "4"),
        ("rooms", "0"),
        ("area_m2", "40"),
        ("founder", "林光"),
        ("product", "激光雕刻机"),
    ];
    let ok = phone.post("/ops/fab/registers/residents", &resident).await;
    assert_eq!(ok.status, 303, "{}", ok.html);
    let page = phone.get("/ops/fab/registers").await;
    let list = section(&page.html, "id=\"resident-list\"", "</table>");
    assert!(list.contains("光子工作室") && list.contains("2026-01-01 – 至今") && list.contains("4 个工位"), "{list}");
    let id = list.split("id=\"resident-").nth(1).unwrap().split('"').next().unwrap().to_owned();
    let end = [
        ("csrf", csrf.as_str()),
        ("agreement_ref", "RZ-001"),
        ("starts_on", "2026-01-01"),
        ("ends_on", "2026-08-31"),
        ("desks", "4"),
        ("rooms", "0"),
        ("area_m2", "40"),
        ("founder", "林光"),
        ("product", "激光雕刻机"),
    ];
    let ended = phone.post(&format!("/ops/fab/registers/residents/{id}/end"), &end).await;
    assert_eq!(ended.status, 303, "{}", ended.html);
    let page = phone.get("/ops/fab/registers").await;
    assert!(section(&page.html, "id=\"resident-list\"", "</table>").contains("2026-01-01 – 2026-08-31"));

    // An event in a place the operator booked, its attendance entered and attested.
    let place = lab.book(&lab.op, &lab.laser, (18, 0), (20, 0)).await;
    let page = phone.get("/ops/fab/registers").await;
    assert!(page.html.contains(&format!("<option value=\"{}\">", place.id.as_str())), "{}", page.html);
    let ok = phone
        .post(
            "/ops/fab/registers/events",
            &[
                ("csrf", &csrf),
                ("topic", "激光安全沙龙"),
                ("kind", "salon"),
                ("role", "host"),
                ("booking", place.id.as_str()),
            ],
        )
        .await;
    assert_eq!(ok.status, 303, "{}", ok.html);
    let page = phone.get("/ops/fab/registers").await;
    let events = section(&page.html, "id=\"event-list\"", "</table>");
    assert!(events.contains("激光安全沙龙") && events.contains("沙龙") && events.contains("主办"), "{events}");
    let event = events.split("id=\"event-").nth(1).unwrap().split('"').next().unwrap().to_owned();
    let ok = phone
        .post(
            &format!("/ops/fab/registers/events/{event}/attendance"),
            &[("csrf", &csrf), ("count", "23"), ("attested", "on")],
        )
        .await;
    assert_eq!(ok.status, 303, "{}", ok.html);
    let api = lab.app.get("/api/v1/spaces/fab/events", Some(&lab.op)).await;
    assert_eq!(api.body[0]["attendance_entered"], 23, "{}", api.text);

    // A document, uploaded as a file: kept by its SHA-256.
    let pdf = b"%PDF-1.4 lease of the factory";
    let ok = phone
        .post_multipart(
            "/ops/fab/registers/documents",
            &[
                ("csrf", None, csrf.as_bytes()),
                ("kind", None, b"lease"),
                ("title", None, "租赁合同".as_bytes()),
                ("residency", None, b""),
                ("file", Some("lease.pdf"), pdf),
            ],
        )
        .await;
    assert_eq!(ok.status, 303, "{}", ok.html);
    let page = phone.get("/ops/fab/registers").await;
    let docs = section(&page.html, "id=\"document-list\"", "</table>");
    let sha = sha2::Sha256::digest(pdf).iter().map(|b| format!("{b:02x}")).collect::<String>();
    assert!(docs.contains("租赁合同") && docs.contains("lease.pdf") && docs.contains(&sha), "{docs}");
    // Another space's pages cannot change this space's rows, even for an admin who runs both.
    crate::helpers::operated_space(&lab.app, "other", "Asia/Shanghai").await;
    let admin = Phone::new(&lab.app);
    admin.sign_in("root@labinn.test").await;
    let other = admin.get("/ops/other/registers").await;
    assert_eq!(other.status, 200, "{}", other.html);
    let wrong =
        admin.post(&format!("/ops/other/registers/events/{event}/cancel"), &[("csrf", &other.field("csrf"))]).await;
    assert_eq!(wrong.status, 404, "{}", wrong.html);
    let api = lab.app.get("/api/v1/spaces/fab/events", Some(&lab.op)).await;
    assert!(api.body[0]["cancelled_at"].is_null(), "{}", api.text);
    // Without the form token, nothing is attached.
    let refused = phone
        .post_multipart(
            "/ops/fab/registers/documents",
            &[("kind", None, b"lease"), ("title", None, b"x"), ("file", Some("x.pdf"), pdf)],
        )
        .await;
    assert_eq!(refused.status, 403, "{}", refused.html);
}

#[tokio::test]
async fn an_admin_grants_and_revokes_roles_and_loads_a_scheme_file_from_the_admin_page() {
    let lab = lab_at(ms(8, 0)).await;
    lab.app.admin().await;
    named(&lab, "kim@example.org", "Kim").await;
    let phone = Phone::new(&lab.app);
    phone.sign_in("root@labinn.test").await;
    let found = phone.get("/admin?q=kim").await;
    assert_eq!(found.status, 200, "{}", found.html);
    let kim = lab.app.db.account_by_email("kim@example.org").await.unwrap().unwrap().id.to_string();
    assert!(found.html.contains(&format!("id=\"account-{kim}\"")), "{}", found.html);
    let csrf = found.field("csrf");

    // The operator role needs its space: said on the page; with it, Kim runs the lab.
    let refused = phone
        .post(
            &format!("/admin/accounts/{kim}/roles"),
            &[("csrf", &csrf), ("role", "operator"), ("space", ""), ("q", "kim")],
        )
        .await;
    assert_eq!(refused.status, 422, "{}", refused.html);
    let granted = phone
        .post(
            &format!("/admin/accounts/{kim}/roles"),
            &[("csrf", &csrf), ("role", "operator"), ("space", "fab"), ("q", "kim")],
        )
        .await;
    assert_eq!((granted.status, granted.location.as_deref()), (303, Some("/admin?q=kim&done=granted")));
    let kim_phone = Phone::new(&lab.app);
    kim_phone.sign_in("kim@example.org").await;
    assert_eq!(kim_phone.get("/ops/fab").await.status, 200);
    let page = phone.get("/admin?q=kim").await;
    assert!(
        section(&page.html, &format!("id=\"account-{kim}\""), "</li>").contains("空间运营 · 测试空间"),
        "{}",
        page.html
    );
    let revoked = phone
        .post(
            &format!("/admin/accounts/{kim}/roles/revoke"),
            &[("csrf", &csrf), ("role", "operator"), ("space", "fab"), ("q", "kim")],
        )
        .await;
    assert_eq!(revoked.status, 303, "{}", revoked.html);
    assert_eq!(kim_phone.get("/ops/fab").await.status, 403, "Kim no longer runs the lab");

    // The shipped schemes with their hashes; a broken file is refused, a new one loaded once.
    let page = phone.get("/admin").await;
    let schemes = section(&page.html, "id=\"scheme-list\"", "</table>");
    assert!(schemes.contains("nat-2017") && schemes.matches("随系统提供").count() == 4, "{schemes}");
    let bad = phone.post("/admin/schemes", &[("csrf", &csrf), ("toml", "id = ")]).await;
    assert_eq!(bad.status, 422, "{}", bad.html);
    assert!(bad.html.contains("id = "), "the text typed stays: {}", bad.html);
    let text = include_str!("../../schemes/nat-2017.toml").replace("version = ", "version = \"local\"\n# was ");
    let loaded = phone.post("/admin/schemes", &[("csrf", &csrf), ("toml", &text)]).await;
    assert_eq!(loaded.location.as_deref(), Some("/admin?done=scheme_new#schemes"), "{}", loaded.html);
    let again = phone.post("/admin/schemes", &[("csrf", &csrf), ("toml", &text)]).await;
    assert_eq!(again.location.as_deref(), Some("/admin?done=scheme_same#schemes"), "{}", again.html);

    // A new space, then set up in its console; a taken slug is said.
    let made = phone
        .post(
            "/admin/spaces",
            &[
                ("csrf", &csrf),
                ("slug", "lab2"),
                ("name_zh", "二号实验室"),
                ("name_en", "Lab 2"),
                ("kind", "university_lab"),
                ("timezone", "Europe/Berlin"),
                ("address", ""),
            ],
        )
        .await;
    assert_eq!(made.location.as_deref(), Some("/ops/lab2/catalog?done=space"), "{}", made.html);
    let catalog = phone.get("/ops/lab2/catalog").await;
    assert!(catalog.status == 200 && catalog.html.contains("Europe/Berlin"), "{}", catalog.html);
    let taken = phone
        .post(
            "/admin/spaces",
            &[
                ("csrf", &csrf),
                ("slug", "lab2"),
                ("name_zh", "x"),
                ("name_en", "x"),
                ("kind", "maker_space"),
                ("timezone", ""),
                ("address", ""),
            ],
        )
        .await;
    assert_eq!(taken.status, 422, "{}", taken.html);

    // An operator may not open the admin pages.
    let op = operator_phone(&lab).await;
    let refused = op.get("/admin").await;
    assert_eq!(refused.status, 403, "{}", refused.html);
    assert!(refused.html.contains("仅供管理员"), "{}", refused.html);
}
