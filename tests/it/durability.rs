//! Proven, not hoped: a SIGKILL in the middle of a booking load loses no acknowledged
//! booking and leaves nothing half-written; two processes on one PostgreSQL never double-book.

use crate::helpers::{FreshDb, Node, operated_space, postgres_server, spawn_on};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};

/// A seat zone of 100 seats open around the clock, and `makers` signed-in makers.
async fn setup(fresh: &FreshDb, makers: usize) -> (String, Vec<String>, Vec<String>) {
    let app = spawn_on(FreshDb::existing(&fresh.url), |s| s).await;
    let (op, slug) = operated_space(&app, "hub", "Asia/Shanghai").await;
    app.post(
        &format!("/api/v1/spaces/{slug}/opening-rules"),
        Some(&op),
        json!({"rrule": "FREQ=DAILY", "start": "2026-01-01T00:00", "duration_minutes": 1440}),
    )
    .await;
    let r = app
        .post(
            &format!("/api/v1/spaces/{slug}/resources"),
            Some(&op),
            json!({"kind": "broadband_seat", "name_zh": "工位", "name_en": "Seats", "units": {"count": 100, "prefix": "S"}, "policy": {"horizon_days": 60}}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let units: Vec<String> =
        r.body["units"].as_array().unwrap().iter().map(|u| u["id"].as_str().unwrap().to_owned()).collect();
    let mut tokens = Vec::new();
    for i in 0..makers {
        tokens.push(app.maker(&format!("load{i}@example.org")).await.1);
    }
    (r.body["id"].as_str().unwrap().to_owned(), units, tokens)
}

/// The next whole hour, two days from now (a valid future slot whatever day the test runs).
fn base_hour() -> i64 {
    let now = chrono::Utc::now().timestamp_millis();
    (now / 3_600_000 + 48) * 3_600_000
}

fn rfc(ms: i64) -> String {
    labinn::domain::calendar::format_utc(ms)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_sigkill_during_a_booking_load_loses_no_acknowledged_booking_and_no_series_is_half_written() {
    let fresh = FreshDb::new().await;
    let (_, units, tokens) = setup(&fresh, 16).await;
    let mut node = Node::start(&fresh.url);
    let t0 = base_hour();
    let acked: Arc<Mutex<Vec<Value>>> = Arc::default();
    let client = reqwest::Client::new();
    let mut tasks = Vec::new();
    for (w, token) in tokens.into_iter().enumerate() {
        let (client, base, acked, units) = (client.clone(), node.base.clone(), acked.clone(), units.clone());
        tasks.push(tokio::spawn(async move {
            for k in 0..10_000i64 {
                // Each worker owns its units: no conflicts, only the crash can interfere.
                let unit = &units[(w * 6 + usize::try_from(k % 6).unwrap()) % units.len()];
                let start = t0 + (k / 6) * 3_600_000;
                let body = if k % 5 == 4 {
                    json!({"unit": unit, "start": rfc(start), "end": rfc(start + 3_600_000), "recurrence": "FREQ=DAILY;COUNT=3", "on_conflict": "reject"})
                } else {
                    json!({"unit": unit, "start": rfc(start), "end": rfc(start + 3_600_000)})
                };
                match client.post(format!("{base}/api/v1/bookings")).bearer_auth(&token).json(&body).send().await {
                    Ok(res) if res.status() == 201 => {
                        // A body cut off by the kill names no booking to look for.
                        if let Ok(v) = res.json::<Value>().await {
                            acked.lock().unwrap().push(v);
                        }
                    }
                    Ok(_) => {}
                    Err(_) => return, // the server is gone
                }
            }
        }));
    }
    // Let the load run, then pull the plug.
    while acked.lock().unwrap().len() < 150 {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    node.kill_hard();
    for t in tasks {
        t.await.unwrap();
    }
    let acked = acked.lock().unwrap().clone();
    assert!(acked.len() >= 150);

    // Restart on the same data and look.
    let node = Node::start(&fresh.url);
    let check = spawn_on(FreshDb::existing(&fresh.url), |s| s).await;
    for a in &acked {
        if let Some(series) = a["series_id"].as_str() {
            let n: i64 = labinn::on_read!(&check.db, |p| sqlx::query_scalar(
                "SELECT COUNT(*) FROM bookings WHERE series_id = $1"
            )
            .bind(series)
            .fetch_one(p)
            .await
            .unwrap());
            assert_eq!(n, 3, "acknowledged series {series} has all three occurrences");
        } else {
            let id = a["id"].as_str().expect("a booking id");
            let b = check
                .db
                .booking(&labinn::domain::ids::BookingId::new(id))
                .await
                .unwrap_or_else(|e| panic!("acknowledged booking {id} is lost: {e}"));
            assert_eq!(b.status, labinn::domain::booking::BookingStatus::Confirmed);
        }
    }
    // Nothing half-written: every series in the database, acknowledged or not, is whole.
    let partial: i64 = labinn::on_read!(&check.db, |p| sqlx::query_scalar(
        "SELECT COUNT(*) FROM series s WHERE (SELECT COUNT(*) FROM bookings b WHERE b.series_id = s.id) <> 3"
    )
    .fetch_one(p)
    .await
    .unwrap());
    assert_eq!(partial, 0, "a series was half written");
    let r = reqwest::get(format!("{}/readyz", node.base)).await.unwrap();
    assert_eq!(r.status(), 200, "the restarted node is ready");
    // And the evidence ledger's chain is whole after the kill.
    let verify = crate::cli::labinn().args(["verify-ledger", "--database-url", &fresh.url]).output().unwrap();
    assert!(verify.status.success(), "verify-ledger: {}", String::from_utf8_lossy(&verify.stderr));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixty_four_makers_racing_through_two_processes_on_one_postgres_get_exactly_one_booking() {
    let Some(server) = postgres_server().await else { return };
    let fresh = FreshDb::postgres(&server).await;
    let (_, units, tokens) = setup(&fresh, 64).await;
    let (a, b) = (Node::start(&fresh.url), Node::start(&fresh.url));
    let start = base_hour();
    let body = Arc::new(json!({"unit": units[0], "start": rfc(start), "end": rfc(start + 3_600_000)}));
    let client = reqwest::Client::new();
    let tasks: Vec<_> = tokens
        .into_iter()
        .enumerate()
        .map(|(i, t)| {
            let base = if i % 2 == 0 { a.base.clone() } else { b.base.clone() };
            let (client, body) = (client.clone(), body.clone());
            tokio::spawn(async move {
                client
                    .post(format!("{base}/api/v1/bookings"))
                    .bearer_auth(t)
                    .json(&*body)
                    .send()
                    .await
                    .unwrap()
                    .status()
                    .as_u16()
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap());
    }
    assert_eq!(statuses.iter().filter(|s| **s == 201).count(), 1, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 409).count(), 63, "{statuses:?}");
}
