//! The demo district: a realistic set of spaces, seeded twice without duplicates.

use crate::helpers::spawn_app;

async fn count(app: &crate::helpers::TestApp, table: &str) -> i64 {
    let sql = format!("SELECT COUNT(*) FROM {table}");
    labinn::on_read!(&app.db, |p| sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).fetch_one(p).await.unwrap())
}

#[tokio::test]
async fn the_demo_seeds_a_whole_district_and_seeding_again_duplicates_nothing() {
    let app = spawn_app().await;
    let now = 1_795_000_000_000; // 2026-11-17
    labinn::demo::seed(&app.state.svc, now).await.unwrap();
    let tables = [
        "spaces",
        "resources",
        "units",
        "opening_rules",
        "closures",
        "accounts",
        "role_grants",
        "organisations",
        "kiosks",
        "bookings",
        "sessions",
        "scans",
        "ledger",
        "area_parts",
        "residencies",
        "events",
    ];
    let mut first = Vec::new();
    for t in tables {
        first.push(count(&app, t).await);
    }
    labinn::demo::seed(&app.state.svc, now + 86_400_000).await.unwrap();
    for (t, n) in tables.iter().zip(&first) {
        assert_eq!(count(&app, t).await, *n, "{t} grew on the second run");
    }

    // 90 days of past use, made the way real days are, with an intact ledger.
    let no_shows = labinn::on_read!(&app.db, |p| sqlx::query_scalar::<_, i64>(
        "SELECT COUNT(*) FROM bookings WHERE status = 'no_show'"
    )
    .fetch_one(p)
    .await
    .unwrap());
    let cancelled = labinn::on_read!(&app.db, |p| sqlx::query_scalar::<_, i64>(
        "SELECT COUNT(*) FROM bookings WHERE status = 'cancelled'"
    )
    .fetch_one(p)
    .await
    .unwrap());
    let automatic = labinn::on_read!(&app.db, |p| sqlx::query_scalar::<_, i64>(
        "SELECT COUNT(*) FROM sessions WHERE closed_by = 'automatic'"
    )
    .fetch_one(p)
    .await
    .unwrap());
    let sessions = count(&app, "sessions").await;
    assert!(sessions > 500, "{sessions} sessions");
    assert!(
        no_shows > 30 && cancelled > 20 && automatic > 10,
        "{no_shows} no-shows, {cancelled} cancelled, {automatic} automatic"
    );
    let (entries, _) = app.db.verify_ledger().await.unwrap().expect("the demo ledger verifies");
    assert_eq!(entries, count(&app, "ledger").await);
    let first = app.db.ledger_entries().await.unwrap()[0].recorded_at;
    assert!(now - first > 85 * 86_400_000, "the history starts about 90 days back");
    let open = labinn::on_read!(&app.db, |p| sqlx::query_scalar::<_, i64>(
        "SELECT COUNT(*) FROM sessions WHERE ended_at IS NULL"
    )
    .fetch_one(p)
    .await
    .unwrap());
    assert_eq!(open, 0, "every past session is closed");
    // Inn stays of whole nights, each checked in and out.
    let stays = labinn::on_read!(&app.db, |p| sqlx::query_scalar::<_, i64>(
        "SELECT COUNT(*) FROM bookings b JOIN sessions s ON s.booking_id = b.id \
         WHERE b.kind = 'stay' AND b.status = 'completed' AND s.ended_at > s.started_at + 43200000"
    )
    .fetch_one(p)
    .await
    .unwrap());
    assert!(stays > 200, "{stays} stays checked in and out, each over a night");
    // Walk-ups on hot desks: booked at the kiosk on arrival, checked in then, out later.
    let walk_ups = labinn::on_read!(&app.db, |p| {
        sqlx::query_scalar::<_, i64>(
        "SELECT COUNT(*) FROM bookings b JOIN sessions s ON s.booking_id = b.id JOIN resources r ON r.id = b.resource_id \
         WHERE b.kind = 'walk_up' AND r.kind = 'broadband_seat' AND s.started_at = b.starts_at AND s.ended_at IS NOT NULL"
    )
    .fetch_one(p)
    .await
    .unwrap()
    });
    assert!(walk_ups > 100, "{walk_ups} seat walk-ups");
    // Events whose participants checked in with their event codes (metered attendance).
    let attended = labinn::on_read!(&app.db, |p| sqlx::query_scalar::<_, i64>(
        "SELECT COUNT(DISTINCT a.event_id) FROM event_attendance a JOIN event_registrations r \
         ON r.event_id = a.event_id AND r.account_id = a.account_id WHERE a.kiosk_id IS NOT NULL"
    )
    .fetch_one(p)
    .await
    .unwrap());
    assert_eq!(attended, 4, "the two latest events of two spaces");
    // The demo maker has two bookings ahead, with codes to show on /me.
    let maker = app.db.account_by_email("maker@labinn.demo").await.unwrap().unwrap();
    let ahead = labinn::on_read!(&app.db, |p| sqlx::query_scalar::<_, i64>(
        "SELECT COUNT(*) FROM bookings WHERE account_id = $1 AND status = 'confirmed' AND starts_at > $2"
    )
    .bind(&maker.id)
    .bind(now)
    .fetch_one(p)
    .await
    .unwrap());
    assert_eq!(ahead, 2);

    let spaces = app.get("/api/v1/spaces", None).await;
    let list = spaces.body.as_array().unwrap();
    assert!(list.len() >= 6, "{}", spaces.text);
    let kinds: Vec<&str> = list.iter().map(|s| s["kind"].as_str().unwrap()).collect();
    for k in ["maker_space", "university_lab", "maker_inn", "incubator"] {
        assert!(kinds.contains(&k), "no {k} in {kinds:?}");
    }
    assert!(list.iter().any(|s| s["timezone"] == "Europe/Berlin"), "a partner lab in Berlin");
    assert!(list.iter().any(|s| s["slug"] == "hakka-walled-village"));

    let incubator = app.get("/api/v1/spaces/cloud-valley-incubator", None).await;
    let seats = &incubator.body["resources"][0];
    assert_eq!(seats["kind"], "broadband_seat");
    assert_eq!(seats["units"].as_array().unwrap().len(), 40);
    assert_eq!(seats["units"][0]["label"], "A-01");

    let closures = app.get("/api/v1/spaces/longgang-factory/closures", None).await;
    let reasons: Vec<&str> = closures.body.as_array().unwrap().iter().map(|c| c["reason"].as_str().unwrap()).collect();
    assert!(reasons.iter().any(|r| r.contains("Spring Festival")), "{reasons:?}");
    let maintenance: Vec<_> = closures.body.as_array().unwrap().iter().filter(|c| c["unit_id"].is_string()).collect();
    assert_eq!(maintenance.len(), 1, "a maintenance closure on one unit");

    // The public holiday closes the whole space.
    let day = app.get("/api/v1/spaces/longgang-factory/availability?date=2027-02-08", None).await;
    assert_eq!(day.status, 200, "{}", day.text);
    for r in day.body["resources"].as_array().unwrap() {
        for u in r["units"].as_array().unwrap() {
            assert_eq!(u["free"], serde_json::json!([]), "{} is free during Spring Festival", u["label"]);
        }
    }

    // The district's registers: the reviewer sees the old factory meet the Shenzhen
    // recognition rules over the last 12 months, and the incubator miss two of them.
    let reviewer = app.login_with("reviewer@labinn.demo", "demo-reviewer-2026").await;
    let r = app.get("/api/v1/district/overview?scheme=sz-zc-2020&from=2025-11-17&to=2026-11-16", Some(&reviewer)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let spaces = r.body["spaces"].as_array().unwrap();
    let judged = |slug: &str| spaces.iter().find(|s| s["slug"] == slug).unwrap_or_else(|| panic!("{slug}: {}", r.text));
    let factory = judged("longgang-factory");
    assert_eq!((factory["met"].as_u64(), factory["not_met"].as_u64()), (Some(7), Some(0)), "{factory}");
    assert_eq!(spaces[0]["slug"], "longgang-factory", "sorted by criteria met");
    let incubator = judged("cloud-valley-incubator");
    let missed: Vec<&str> = incubator["criteria"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["status"] == "not_met")
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(missed, ["residents", "residency_length"], "{incubator}");

    // A scheme with a metered criterion: the overview reads the sessions, and its value is
    // the pack's (the incubator's hot desks: booked seats and walk-ups).
    let q = "scheme=sz-rs-occupancy&from=2025-11-17&to=2026-11-16";
    let r = app.get(&format!("/api/v1/district/overview?{q}"), Some(&reviewer)).await;
    let spaces = r.body["spaces"].as_array().unwrap();
    let incubator = spaces.iter().find(|s| s["slug"] == "cloud-valley-incubator").unwrap();
    let occupancy = incubator["criteria"].as_array().unwrap().iter().find(|c| c["id"] == "occupancy").unwrap();
    let pack = app.get(&format!("/api/v1/spaces/cloud-valley-incubator/evidence?{q}"), Some(&reviewer)).await;
    let in_pack = pack.body["criteria"].as_array().unwrap().iter().find(|c| c["id"] == "occupancy").unwrap();
    assert!(occupancy["value"].as_f64().unwrap() > 0.0, "{occupancy}");
    assert_eq!(occupancy["value"], in_pack["value"]);
}
