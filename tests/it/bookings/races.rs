//! Races: many makers at once, and the database's guarantee decides; never a double booking, never a 500.

use super::*;
use std::sync::Arc;

async fn race(lab: &Lab, body: Value, clients: usize) -> Vec<(u16, Value)> {
    let mut tokens = Vec::new();
    for i in 0..clients {
        tokens.push(lab.app.maker(&format!("racer{i}@example.org")).await.1);
    }
    let url = lab.app.url("/api/v1/bookings");
    let client = lab.app.client.clone();
    let body = Arc::new(body);
    let tasks: Vec<_> = tokens
        .into_iter()
        .map(|t| {
            let (client, url, body) = (client.clone(), url.clone(), body.clone());
            tokio::spawn(async move {
                let res = client.post(url).bearer_auth(t).json(&*body).send().await.unwrap();
                let status = res.status().as_u16();
                (status, res.json::<Value>().await.unwrap())
            })
        })
        .collect();
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.unwrap());
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixty_four_makers_race_for_one_unit_and_exactly_one_wins() {
    let lab = lab().await;
    let results = race(&lab, json!({"unit": lab.laser_unit, "start": at(14, 0), "end": at(15, 0)}), 64).await;
    let created = results.iter().filter(|(s, _)| *s == 201).count();
    let conflicts = results.iter().filter(|(s, b)| *s == 409 && b["error"]["code"] == "conflict").count();
    assert_eq!((created, conflicts), (1, 63), "{:?}", results.iter().map(|(s, _)| s).collect::<Vec<_>>());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixty_four_makers_race_for_ten_seats_and_exactly_ten_get_different_seats() {
    let lab = lab().await;
    let results = race(&lab, json!({"resource": lab.seats, "start": at(9, 0), "end": at(17, 0)}), 64).await;
    let mut seats: Vec<&str> =
        results.iter().filter(|(s, _)| *s == 201).map(|(_, b)| b["unit_label"].as_str().unwrap()).collect();
    assert_eq!(seats.len(), 10, "{:?}", results.iter().map(|(s, _)| s).collect::<Vec<_>>());
    seats.sort_unstable();
    seats.dedup();
    assert_eq!(seats.len(), 10, "each on a different seat");
    assert_eq!(results.iter().filter(|(s, _)| *s == 409).count(), 54);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_series_on_the_same_units_never_fail_with_a_500() {
    let lab = lab().await;
    let mut tokens = Vec::new();
    for i in 0..16 {
        tokens.push(lab.app.maker(&format!("series{i}@example.org")).await.1);
    }
    let tasks: Vec<_> = tokens
        .into_iter()
        .enumerate()
        .map(|(i, t)| {
            let client = lab.app.client.clone();
            let url = lab.app.url("/api/v1/bookings");
            // Overlapping daily series on the 10 seats, starting at different hours so that
            // transactions collide in different orders.
            let h = 9 + u32::try_from(i % 4).unwrap();
            let body = json!({"resource": lab.seats, "start": at(h, 0), "end": at(h + 2, 0),
                              "recurrence": "FREQ=DAILY;COUNT=5", "on_conflict": if i % 2 == 0 { "reject" } else { "skip" }});
            tokio::spawn(async move { client.post(url).bearer_auth(t).json(&body).send().await.unwrap().status().as_u16() })
        })
        .collect();
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap());
    }
    assert!(statuses.iter().all(|s| *s == 201 || *s == 409), "{statuses:?}");
    // And the invariant held: no seat is double-booked.
    let day = lab.app.space_bookings(&lab.op, &lab.slug, "?date=2026-09-09").await;
    let mut by_unit: std::collections::HashMap<String, Vec<(String, String)>> = std::collections::HashMap::new();
    for b in day.into_iter().filter(|b| b.status == "confirmed") {
        by_unit.entry(b.unit_id).or_default().push((b.when.start, b.when.end));
    }
    for (_, mut spans) in by_unit {
        spans.sort();
        for w in spans.windows(2) {
            assert!(w[0].1 <= w[1].0, "overlap {w:?}");
        }
    }
}
