//! Reports and evidence from pages: an operator reads the space's use and its evidence in
//! the console and downloads them; a reviewer reads the district side by side, opens a
//! space's pack and records the ledger head, and sees when the ledger no longer holds it.

use crate::checkin::{Lab, lab_at, ms, sqlx_exec};
use crate::maker_pages::{Phone, section};
use serde_json::json;

/// Ann books the laser 09:00–10:00 on 2026-09-07 and uses it 09:00–09:30.
async fn half_an_hour_of_laser() -> Lab {
    let lab = lab_at(ms(8, 0)).await;
    let (_, ann) = lab.app.maker("ann@example.org").await;
    let b = lab.book(&ann, &lab.laser, (9, 0), (10, 0)).await;
    let (_, kiosk) = lab.kiosk("Front door").await;
    lab.app.clock.set(ms(9, 0));
    assert_eq!(lab.scan(&kiosk, b.qr()).await["decision"], "check_in");
    lab.app.clock.set(ms(9, 30));
    assert_eq!(lab.scan(&kiosk, b.qr()).await["decision"], "check_out");
    lab.app.clock.set(ms(12, 0));
    lab
}

/// The text of the headline figure `name` on a reports page.
fn headline(html: &str, name: &str) -> String {
    let figures = section(html, "id=\"headline\"", "</div></div>");
    let after = figures.split(&format!("<span>{name}</span>")).nth(1).unwrap_or_else(|| panic!("{name}: {figures}"));
    after.split("<strong>").nth(1).unwrap().split("</strong>").next().unwrap().to_owned()
}

/// The cells of the row named `name` in the table with id `table`.
fn row(html: &str, table: &str, name: &str) -> Vec<String> {
    let t = section(html, &format!("id=\"{table}\""), "</table>");
    let r = t.split(&format!("<th scope=\"row\">{name}</th>")).nth(1).unwrap_or_else(|| panic!("{name}: {t}"));
    let r = r.split("</tr>").next().unwrap();
    r.split("<td>").skip(1).map(|c| c.split("</td>").next().unwrap().to_owned()).collect()
}

async fn reviewer(lab: &Lab) -> Phone<'_> {
    let admin = lab.app.admin().await;
    let (id, _) = lab.app.maker("reviewer@example.org").await;
    let g =
        lab.app.post(&format!("/api/v1/admin/accounts/{id}/roles"), Some(&admin), json!({"role": "reviewer"})).await;
    assert_eq!(g.status, 200, "{}", g.text);
    let phone = Phone::new(&lab.app);
    phone.sign_in("reviewer@example.org").await;
    phone
}

#[tokio::test]
async fn an_operator_reads_the_days_use_on_the_reports_page_and_downloads_it() {
    let lab = half_an_hour_of_laser().await;
    let phone = Phone::new(&lab.app);
    phone.sign_in("op-fab@example.org").await;

    let q = "from=2026-09-07&to=2026-09-07&by=resource&bucket=day";
    let p = phone.get(&format!("/ops/fab/reports?{q}")).await;
    assert_eq!(p.status, 200, "{}", p.html);
    // Hand-computed: 0.5 h used of 42 open (3 units × 14 h): 1.2 %; 0.5 of 1 booked h: 50 %.
    assert_eq!(headline(&p.html, "使用小时"), "0.5");
    assert_eq!(headline(&p.html, "使用率"), "1.2 %");
    assert_eq!(headline(&p.html, "到场率（时长）"), "50.0 %");
    // The laser alone: 14 open, 1 booked, 0.5 used (3.6 %), 1 booking, no no-show, one maker.
    let laser = row(&p.html, "groups", "激光切割机");
    assert_eq!(laser, ["14.0", "1.0", "0.5", "3.6 %", "7.1 %", "50.0 %", "1", "0", "0.0 %", "1"], "{laser:?}");
    assert_eq!(row(&p.html, "buckets", "2026-09-07")[2], "0.5");
    assert_eq!(p.html.matches("<svg").count(), 3, "the trend, the heatmap and by group are drawn");

    // The page and the JSON API give the same figure: one use case.
    let api = lab.app.get(&format!("/api/v1/reports/utilization?space=fab&{q}"), Some(&lab.op)).await;
    assert_eq!(api.body["whole"]["total"]["used_hours"], 0.5);

    // The downloads carry the same period and grouping, and the login of the page.
    let csv = p.links("/api/v1/reports/utilization?").into_iter().find(|l| l.contains("format=csv")).unwrap();
    assert!(csv.contains("from=2026-09-07") && csv.contains("bucket=day") && csv.contains("lang=zh"), "{csv}");
    let (status, ct, bytes) = phone.download(&csv).await;
    assert_eq!((status, ct.as_str()), (200, "text/csv; charset=utf-8"));
    let text = String::from_utf8(bytes).unwrap();
    assert!(text.starts_with('\u{feff}') && text.contains("激光切割机"), "{text}");
    let xlsx = p.links("/api/v1/reports/utilization?").into_iter().find(|l| l.contains("format=xlsx")).unwrap();
    let (status, _, bytes) = phone.download(&xlsx).await;
    assert_eq!((status, &bytes[..2]), (200, b"PK".as_slice()), "a workbook is a ZIP");

    // A period the wrong way round is said next to the pickers.
    let bad = phone.get("/ops/fab/reports?from=2026-09-30&to=2026-09-01").await;
    assert_eq!(bad.status, 422, "{}", bad.html);
    assert!(bad.html.contains("结束日期：须晚于开始时间") && !bad.html.contains("id=\"headline\""), "{}", bad.html);
    let bad = phone.get("/ops/fab/reports?from=soon&to=2026-09-01&bucket=fortnight").await;
    assert!(bad.html.contains("开始日期：须为日期"), "{}", bad.html);
    // And in English.
    let en = phone.get(&format!("/ops/fab/reports?{q}&lang=en")).await;
    assert_eq!(headline(&en.html, "Used hours"), "0.5");

    // A maker may not read the space's reports: a page that says so, no figures.
    let maker = Phone::new(&lab.app);
    maker.sign_in("ann@example.org").await;
    let refused = maker.get(&format!("/ops/fab/reports?{q}")).await;
    assert_eq!(refused.status, 403, "{}", refused.html);
    assert!(!refused.html.contains("id=\"headline\""), "{}", refused.html);
}

#[tokio::test]
async fn an_operator_sees_which_criteria_of_a_scheme_the_space_meets_and_the_rows_behind_them() {
    let lab = half_an_hour_of_laser().await;
    for (name, area, class) in [("Bench", 400.0, "maker_work"), ("Office", 100.0, "operator_office")] {
        let r = lab
            .app
            .post(
                "/api/v1/spaces/fab/area-plan",
                Some(&lab.op),
                json!({"name": name, "area_m2": area, "use_class": class}),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.text);
    }
    let phone = Phone::new(&lab.app);
    phone.sign_in("op-fab@example.org").await;
    let q = "scheme=nat-2017&from=2025-09-08&to=2026-09-07";
    let p = phone.get(&format!("/ops/fab/evidence?{q}")).await;
    assert_eq!(p.status, 200, "{}", p.html);
    let pack = lab.app.get(&format!("/api/v1/spaces/fab/evidence?{q}"), Some(&lab.op)).await;
    assert_eq!(pack.status, 200, "{}", pack.text);
    // The counts and each criterion's outcome are the pack's.
    let count = |id: &str| section(&p.html, &format!("id=\"{id}\">"), "<").to_owned();
    assert!(count("count-met").contains(&pack.body["met"].to_string()), "{}", count("count-met"));
    assert!(count("count-not-met").contains(&pack.body["not_met"].to_string()));
    for c in pack.body["criteria"].as_array().unwrap() {
        let line = section(&p.html, &format!("id=\"criterion-{}\"", c["id"].as_str().unwrap()), "</tr>");
        let class = match c["status"].as_str().unwrap() {
            "met" => "verdict met",
            "not_met" => "verdict not-met",
            _ => "verdict attested",
        };
        assert!(line.contains(class), "{c}: {line}");
    }
    // 500 m² of floor: the area criterion (≥ 500) is met, and its rows are the two parts,
    // each with its ledger entry.
    let area = section(&p.html, "id=\"criterion-floor_area\"", "</tr>");
    assert!(area.contains("500") && area.contains("verdict met"), "{area}");
    let rows = section(&p.html, "id=\"rows-floor_area\"", "</details>");
    assert_eq!(rows.matches("area_parts").count(), 2, "{rows}");
    // The printable page and the ZIP are the API's, for the same scheme and period.
    let zip = p.links("/api/v1/spaces/fab/evidence?").into_iter().find(|l| l.contains("format=zip")).unwrap();
    let (status, ct, bytes) = phone.download(&zip).await;
    assert_eq!((status, ct.as_str(), &bytes[..2]), (200, "application/zip", b"PK".as_slice()));
    let html = p.links("/api/v1/spaces/fab/evidence?").into_iter().find(|l| l.contains("format=html")).unwrap();
    assert!(html.contains("scheme=nat-2017") && html.contains("from=2025-09-08"), "{html}");
    // An unknown scheme is said on the page.
    let bad = phone.get("/ops/fab/evidence?scheme=atlantis&from=2025-09-08&to=2026-09-07").await;
    assert_eq!(bad.status, 422, "{}", bad.html);
    assert!(bad.html.contains("补贴政策：没有这个补贴政策"), "{}", bad.html);
}

#[tokio::test]
async fn a_reviewer_compares_the_district_opens_a_pack_and_records_the_ledger_head_that_later_shows_a_rewrite() {
    let lab = half_an_hour_of_laser().await;
    let phone = reviewer(&lab).await;
    let q = "scheme=nat-2017&from=2025-09-08&to=2026-09-07";
    let p = phone.get(&format!("/review?{q}")).await;
    assert_eq!(p.status, 200, "{}", p.html);
    let line = section(&p.html, "id=\"space-fab\"", "</tr>");
    assert!(line.contains("/review/spaces/fab?scheme=nat-2017") && line.contains("尚未记录"), "{line}");
    // Sortable by every criterion, and exported with the same choice.
    assert!(p.links("/review?").iter().any(|l| l.contains("sort=floor_area")), "{}", p.html);
    let csv = p.links("/api/v1/district/overview?").pop().unwrap();
    let (status, ct, bytes) = phone.download(&csv).await;
    assert_eq!((status, ct.as_str()), (200, "text/csv; charset=utf-8"));
    assert!(String::from_utf8(bytes).unwrap().contains("fab"));
    let sorted = phone.get(&format!("/review?{q}&sort=name")).await;
    assert_eq!(sorted.status, 200, "{}", sorted.html);
    let bad = phone.get(&format!("/review?{q}&sort=nonsense")).await;
    assert_eq!(bad.status, 422, "{}", bad.html);

    // The space's pack, and its ledger head: recorded, it holds.
    let at = format!("/review/spaces/fab?{q}");
    let space = phone.get(&at).await;
    assert_eq!(space.status, 200, "{}", space.html);
    assert!(space.html.contains("id=\"criterion-floor_area\""), "{}", space.html);
    let head: (i64, String) = lab.app.db.ledger_head().await.unwrap();
    assert!(head.0 >= 2, "the check-in and check-out are in the ledger");
    let recorded = phone.post_on(&at, "/review/spaces/fab/heads", &[("csrf", &space.field("csrf"))]).await;
    assert_eq!(recorded.status, 303, "{}", recorded.html);
    let back = recorded.location.unwrap();
    assert!(back.starts_with(&at) && back.ends_with("done=recorded#heads"), "{back}");
    let space = phone.get(back.trim_end_matches("#heads")).await;
    let heads = section(&space.html, "id=\"recorded-heads\"", "</table>");
    assert!(heads.contains(&head.1) && heads.contains("一致") && !heads.contains("不一致"), "{heads}");
    // The record is a signed checkpoint, and the page links the district's copies to keep.
    assert!(space.html.contains("href=\"/api/v1/district/checkpoints\""), "{}", space.html);
    let (status, kind, zip) = phone.download("/api/v1/district/checkpoints").await;
    assert_eq!((status, kind.as_str()), (200, "application/zip"));
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(zip)).unwrap();
    assert_eq!(zip.len(), 2, "keys.txt and the one checkpoint");
    let mut note = String::new();
    std::io::Read::read_to_string(&mut zip.by_index(1).unwrap(), &mut note).unwrap();
    assert!(note.starts_with(&format!("labinn.local/ledger\n{}\n", head.0)), "{note}");
    let over = phone.get(&format!("/review?{q}")).await;
    assert!(section(&over.html, "id=\"space-fab\"", "</tr>").contains("一致"), "{}", over.html);

    // Someone rewrites the last entry behind labinn's back: the district's copy no longer holds.
    sqlx_exec(&lab.app, &format!("UPDATE ledger SET hash = '{}' WHERE seq = {}", "f".repeat(64), head.0)).await;
    let space = phone.get(&at).await;
    let heads = section(&space.html, "id=\"recorded-heads\"", "</table>");
    assert!(heads.contains("不一致：账本被改写"), "{heads}");

    // An operator may not review the district, nor record a head; a maker neither.
    let op = Phone::new(&lab.app);
    op.sign_in("op-fab@example.org").await;
    let refused = op.get(&format!("/review?{q}")).await;
    assert_eq!(refused.status, 403, "{}", refused.html);
    assert!(refused.html.contains("仅供区级审核人员") && !refused.html.contains("id=\"overview\""), "{}", refused.html);
    let refused = op.get(&at).await;
    assert_eq!(refused.status, 403, "{}", refused.html);
    let page = op.get("/ops/fab").await;
    let refused = op.post("/review/spaces/fab/heads", &[("csrf", &page.field("csrf"))]).await;
    assert_eq!(refused.status, 403, "{}", refused.html);
    let maker = Phone::new(&lab.app);
    maker.sign_in("ann@example.org").await;
    let refused = maker.get("/review?lang=en").await;
    assert!(refused.status == 403 && refused.html.contains("reviewers and admins"), "{}", refused.html);
}
