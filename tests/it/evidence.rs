//! The evidence pack: a space judged against a shipped scheme with values computed by hand,
//! the same ZIP for the same inputs, and `labinn verify-pack` naming what changed since.

use crate::checkin::sqlx_exec;
use crate::helpers::{TestApp, operated_space, spawn_app_at};
use serde_json::{Value, json};
use sha2::Digest;

const NOW: i64 = 1_788_739_200_000; // Monday 2026-09-07 08:00 in Shanghai

async fn created(app: &TestApp, path: &str, token: &str, body: Value) -> String {
    let r = app.post(path, Some(token), body).await;
    assert_eq!(r.status, 201, "{path}: {}", r.text);
    r.body["id"].as_str().unwrap().to_owned()
}

/// A hub with an area plan of 900 m² (800 of it maker use) and three residents: A for 2
/// months 29 days, B for 3 months, C since 2024 and still there. Returns (app, operator, ids).
pub(crate) async fn hub() -> (TestApp, String, Vec<String>) {
    let app = spawn_app_at(NOW).await;
    let (op, slug) = operated_space(&app, "hub", "Asia/Shanghai").await;
    let (_, maker) = app.maker("founder@example.org").await;
    for (name, area, class) in
        [("Desks", 600.0, "maker_work"), ("Hall", 200.0, "public_service"), ("Office", 100.0, "operator_office")]
    {
        created(
            &app,
            &format!("/api/v1/spaces/{slug}/area-plan"),
            &op,
            json!({"name": name, "area_m2": area, "use_class": class}),
        )
        .await;
    }
    let mut ids = Vec::new();
    for (org, from, to) in [
        ("alpha", "2026-01-01", Some("2026-03-30")),
        ("beta", "2026-01-01", Some("2026-03-31")),
        ("gamma", "2024-01-01", None),
    ] {
        let o =
            app.post("/api/v1/organisations", Some(&maker), json!({"name": org, "slug": org, "kind": "startup"})).await;
        assert_eq!(o.status, 201, "{}", o.text);
        ids.push(created(&app, &format!("/api/v1/spaces/{slug}/residents"), &op, json!({"organisation": org,
            "agreement_ref": format!("RZ-{org}"), "starts_on": from, "ends_on": to, "founder": "林", "product": "硬件"})).await);
    }
    (app, op, ids)
}

fn criterion<'a>(pack: &'a Value, id: &str) -> &'a Value {
    pack["criteria"].as_array().unwrap().iter().find(|c| c["id"] == id).unwrap_or_else(|| panic!("no criterion {id}"))
}

#[tokio::test]
async fn a_pack_judges_each_criterion_from_the_registers_and_cites_their_ledger_entries() {
    let (app, op, ids) = hub().await;
    let r = app.get("/api/v1/spaces/hub/evidence?scheme=sz-zc-2020&from=2026-01-01&to=2026-08-31", Some(&op)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let pack = r.body;
    assert_eq!(pack["scheme"]["id"], "sz-zc-2020");
    assert_eq!(pack["scheme"]["sha256"].as_str().unwrap().len(), 64);
    let expect = [
        ("operating_history", 32.0, "met", "recorded"), // 2024-01-01 to 2026-08-31: 32 whole months
        ("floor_area", 900.0, "met", "recorded"),
        ("maker_use_share", 0.8889, "met", "recorded"),   // 800 / 900
        ("residents", 3.0, "not_met", "recorded"),        // needs 20
        ("residency_length", 2.0, "not_met", "recorded"), // beta (3 months) and gamma; alpha is 2 months 29 days
        ("stay_limit", 1.0, "not_met", "recorded"),       // gamma: 32 months
        ("events", 0.0, "not_met", "recorded"),
    ];
    for (id, value, status, source) in expect {
        let c = criterion(&pack, id);
        assert_eq!(
            (c["value"].as_f64(), c["status"].as_str(), c["source_kind"].as_str()),
            (Some(value), Some(status), Some(source)),
            "{id}: {c}"
        );
    }
    let attested = criterion(&pack, "incubation_output");
    assert_eq!(
        (attested["status"].as_str(), attested["source_kind"].as_str()),
        (Some("attested_only"), Some("attested"))
    );
    assert_eq!(
        (pack["met"].as_u64(), pack["not_met"].as_u64(), pack["attested_only"].as_u64()),
        (Some(3), Some(4), Some(1))
    );
    // Each resident behind the criterion, with its ledger entry.
    let rows = criterion(&pack, "residents")["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 3);
    let mut cited: Vec<&str> = rows.iter().map(|r| r["id"].as_str().unwrap()).collect();
    cited.sort_unstable();
    let mut mine: Vec<&str> = ids.iter().map(String::as_str).collect();
    mine.sort_unstable();
    assert_eq!(cited, mine);
    for row in rows {
        assert_eq!(row["table"], "residencies");
        assert!(row["ledger_seq"].as_i64().unwrap() > 0 && row["ledger_hash"].as_str().unwrap().len() == 64, "{row}");
    }
    assert!(pack["ledger_head"]["count"].as_i64().unwrap() >= 6);

    // The ZIP: the same inputs give the same bytes; the manifest hashes every file.
    let zip = |app: &TestApp| {
        let req = app
            .client
            .get(app.url("/api/v1/spaces/hub/evidence?scheme=sz-zc-2020&from=2026-01-01&to=2026-08-31&format=zip"))
            .bearer_auth(&op);
        async move { req.send().await.unwrap().bytes().await.unwrap().to_vec() }
    };
    let (a, b) = (zip(&app).await, zip(&app).await);
    assert!(a == b, "byte-identical");
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(a)).unwrap();
    let names: Vec<String> =
        (0..archive.len()).map(|i| archive.by_index(i).unwrap().name().unwrap().into_owned()).collect();
    assert_eq!(
        names,
        [
            "pack.json",
            "rows.csv",
            "documents.csv",
            "checkpoint.txt",
            "charts/trend.svg",
            "charts/heatmap.svg",
            "charts/resources.svg",
            "manifest.json"
        ]
    );
    let mut manifest = String::new();
    std::io::Read::read_to_string(&mut archive.by_name("manifest.json").unwrap(), &mut manifest).unwrap();
    let manifest: Value = serde_json::from_str(&manifest).unwrap();
    let mut pack_json = Vec::new();
    std::io::Read::read_to_end(&mut archive.by_name("pack.json").unwrap(), &mut pack_json).unwrap();
    assert_eq!(manifest["files"][0]["sha256"], labinn::domain::hex(&sha2::Sha256::digest(&pack_json)));

    // Makers may not; an unknown scheme names the field.
    let (_, maker) = app.maker("curious@example.org").await;
    let r = app.get("/api/v1/spaces/hub/evidence?scheme=sz-zc-2020&from=2026-01-01&to=2026-08-31", Some(&maker)).await;
    assert_eq!(r.status, 403);
    let r = app.get("/api/v1/spaces/hub/evidence?scheme=moon-base&from=2026-01-01&to=2026-08-31", Some(&op)).await;
    assert_eq!(r.body["error"]["details"]["fields"][0]["code"], "unknown_scheme", "{}", r.text);
}

#[tokio::test]
async fn the_printable_pack_shows_each_outcome_its_figures_charts_and_documents_in_chinese_or_english() {
    let (app, op, _) = hub().await;
    use base64::Engine;
    let pdf = b"%PDF-1.4 lease".to_vec();
    let r = app
        .post(
            "/api/v1/spaces/hub/documents",
            Some(&op),
            json!({"kind": "lease", "title": "厂房租赁合同", "file_name": "lease.pdf", "content_type": "application/pdf",
                "content_base64": base64::engine::general_purpose::STANDARD.encode(&pdf)}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let path = "/api/v1/spaces/hub/evidence?scheme=sz-zc-2020&from=2026-01-01&to=2026-08-31&format=html";
    let zh = app.get(path, Some(&op)).await;
    assert_eq!(zh.status, 200, "{}", zh.text);
    assert!(zh.headers["content-type"].to_str().unwrap().starts_with("text/html"));
    let page = &zh.text;
    assert!(page.contains(r#"<html lang="zh-CN">"#));
    assert!(page.contains("@page { size: A4"), "A4 print styles");
    // The tally (3 met, 4 not met, 1 attested only), and a row of the criteria table.
    assert!(page.contains("达标 3") && page.contains("未达标 4") && page.contains("仅有书面材料 1"), "{page}");
    assert!(page.contains("创业工位和公共服务场地面积不低于75%"));
    assert!(page.contains("≥ 75.0 %") && page.contains("88.9 %"), "the maker-use share as a percentage");
    assert_eq!(page.matches("<svg").count(), 3, "three charts inline");
    assert!(page.contains("租赁合同") && page.contains(&labinn::domain::hex(&sha2::Sha256::digest(&pdf))));
    assert!(page.contains("labinn verify-pack"));
    let en = app.get(&format!("{path}&lang=en"), Some(&op)).await;
    assert_eq!(en.status, 200);
    assert!(en.text.contains(r#"<html lang="en">"#) && en.text.contains("not met 4"));
    assert!(en.text.contains("Desks and public service area at least 75 % of the floor area"));
    assert!(!en.text.contains("创业工位"), "no Chinese labels in the English page");
    let bad = app.get(&format!("{path}&lang=fr"), Some(&op)).await;
    assert_eq!((bad.status, bad.body["error"]["details"]["fields"][0]["field"].as_str()), (422, Some("lang")));
}

fn verify(app: &TestApp, pack: &std::path::Path) -> (bool, String) {
    let out = crate::cli::labinn()
        .args(["verify-pack", pack.to_str().unwrap(), "--database-url", &app.fresh.url])
        .output()
        .unwrap();
    (out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

#[tokio::test]
async fn verify_pack_names_a_residency_changed_or_removed_since_and_a_changed_scheme() {
    let (app, op, ids) = hub().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("pack.zip");
    let bytes = app
        .client
        .get(app.url("/api/v1/spaces/hub/evidence?scheme=sz-zc-2020&from=2026-01-01&to=2026-08-31&format=zip"))
        .bearer_auth(&op)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    std::fs::write(&file, &bytes).unwrap();
    let (ok, said) = verify(&app, &file);
    assert!(ok, "a fresh pack holds: {said}");

    // Alpha's residency is extended by the operator: a new ledger entry, and a new value.
    let r = app
        .put(
            &format!("/api/v1/residents/{}", ids[0]),
            Some(&op),
            json!({"agreement_ref": "RZ-alpha",
        "starts_on": "2026-01-01", "ends_on": "2026-06-30", "founder": "林", "product": "硬件"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    // Beta's row is deleted behind labinn's back.
    sqlx_exec(&app, &format!("DELETE FROM residencies WHERE id = '{}'", ids[1])).await;
    let (ok, said) = verify(&app, &file);
    assert!(!ok);
    assert!(said.contains(&format!("residencies {} was changed after the pack was made", ids[0])), "{said}");
    assert!(said.contains(&format!("residencies {} cited by the pack is no longer in the database", ids[1])), "{said}");
    assert!(said.contains("criterion residents: the pack says 3 (not_met), the database now gives 2"), "{said}");

    // A pack that claims another scheme file.
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes.to_vec())).unwrap();
    let mut text = String::new();
    std::io::Read::read_to_string(&mut zip.by_name("pack.json").unwrap(), &mut text).unwrap();
    let mut pack: Value = serde_json::from_str(&text).unwrap();
    pack["scheme"]["sha256"] = json!("0".repeat(64));
    let edited = dir.path().join("edited.json");
    std::fs::write(&edited, serde_json::to_vec(&pack).unwrap()).unwrap();
    let (ok, said) = verify(&app, &edited);
    assert!(!ok && said.contains("the scheme changed"), "{said}");
}

#[tokio::test]
async fn verify_pack_names_a_metered_value_that_a_session_edited_behind_labinns_back_changed() {
    // The Berlin week: the desk is used on 3 of its 6 open days (the walk-up's 2 h on Friday).
    let (app, op, slug) = crate::reports::berlin_week().await;
    let url = format!("/api/v1/spaces/{slug}/evidence?scheme=sz-rs-occupancy&from=2026-03-23&to=2026-03-29");
    let pack = app.get(&url, Some(&op)).await;
    assert_eq!(pack.status, 200, "{}", pack.text);
    let occupancy = criterion(&pack.body, "occupancy");
    assert_eq!((occupancy["value"].as_f64(), occupancy["status"].as_str()), (Some(0.5), Some("not_met")));
    assert_eq!(occupancy["source_kind"], "metered");
    assert_eq!(occupancy["rows"].as_array().unwrap().len(), 3, "the desk's three sessions: {occupancy}");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("pack.json");
    std::fs::write(&file, &pack.text).unwrap();
    assert!(verify(&app, &file).0);

    // The walk-up is cut to 30 minutes in the database, with no ledger entry.
    sqlx_exec(&app, "UPDATE sessions SET ended_at = started_at + 1800000 WHERE opened_by = 'walk_up'").await;
    let (ok, said) = verify(&app, &file);
    assert!(!ok);
    assert!(said.contains("criterion occupancy: the pack says 0.5 (not_met), the database now gives 0.3333"), "{said}");
}
