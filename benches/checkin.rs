//! Check-in at scale. `cargo bench --bench checkin` runs, on SQLite and then PostgreSQL
//! (`LABINN_BENCH_PG_URL`, default the local server; `LABINN_BENCH_SQLITE_ONLY=1` skips it):
//!
//! - **scan**: 50 kiosks (50 concurrent clients, each with its own device token) scanning
//!   booking codes against the release binary in its own process for 8 s. Each kiosk cycles
//!   through its 100 bookings, so the mix is what a door sees: first scans check in, the next
//!   round checks out, later rounds are denied (`already_checked_out`, recorded too).
//!   Scan-to-decision latency at the API, p50/p99, per decision: back to back (saturation), then
//!   with each kiosk scanning every 100 ms and every 200 ms (500/s and 250/s offered).
//! - **no-show**: 100,000 confirmed bookings past start + grace, released by the job
//!   (`labinn::jobs::release_no_shows`: batches of 500, a ledger entry each). Its duration.

mod common;

use common::pct;
use labinn::config::{Config, Settings};
use labinn::domain::booking::{BookingKind, BookingStatus};
use labinn::domain::checkin::{Secret, booking_code};
use labinn::domain::ids::{AccountId, BookingId, ResourceId, SpaceId, UnitId};
use labinn::domain::interval::Interval;
use labinn::store::Db;
use labinn::store::accounts::NewAccount;
use labinn::store::bookings::NewBooking;
use labinn::store::catalog::NewResource;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

const KIOSKS: usize = 50;
const PER_KIOSK: usize = 100;
const PHASE: Duration = Duration::from_secs(8);
const SECRET: &str = "bench-checkin-secret-0123456789abcdef";
const MIN: i64 = 60_000;

async fn space_with_units(db: &Db, units: usize, now: i64) -> (SpaceId, ResourceId, Vec<UnitId>) {
    let space = common::bench_space(db, "maker_space", "2026-01-01T00:00:00", 1440, now).await;
    let labels: Vec<String> = (1..=units).map(|i| format!("U{i:06}")).collect();
    let resource = db
        .insert_resource_with_units(&NewResource {
            space_id: &space,
            kind: "tool",
            name_zh: "工具",
            name_en: "Tool",
            description: "",
            policy_json: r#"{"max_minutes": 1440, "horizon_days": 730}"#,
            unit_labels: &labels,
            now,
        })
        .await
        .unwrap();
    let units = db.units_of(&resource).await.unwrap().into_iter().map(|u| u.id).collect();
    (space, resource, units)
}

async fn maker(db: &Db, now: i64) -> AccountId {
    db.create_account(&NewAccount {
        email: "bench@example.org",
        password_hash: "x",
        display_name: "B",
        locale: "en",
        now,
    })
    .await
    .unwrap()
    .id
}

/// Inserts `spans` (unit, interval) as confirmed bookings, 5,000 per transaction; returns the ids.
async fn book_all(
    db: &Db,
    space: &SpaceId,
    resource: &ResourceId,
    account: &AccountId,
    spans: &[(UnitId, Interval)],
    now: i64,
) -> Vec<(BookingId, String)> {
    let mut out = Vec::new();
    for chunk in spans.chunks(5000) {
        let nonces: Vec<String> = chunk.iter().map(|_| labinn::auth::checkin_nonce().unwrap()).collect();
        let news: Vec<NewBooking<'_>> = chunk
            .iter()
            .zip(&nonces)
            .map(|((unit, span), nonce)| NewBooking {
                unit_id: unit,
                resource_id: resource,
                space_id: space,
                account_id: account,
                organisation_id: None,
                status: BookingStatus::Confirmed,
                span: *span,
                blocked: *span,
                purpose: "",
                checkin_nonce: nonce,
                kind: BookingKind::Single,
                now,
            })
            .collect();
        let (_, ids) = db.insert_bookings(&news, None, true).await.unwrap();
        out.extend(ids.into_iter().zip(nonces).map(|(id, n)| (id.unwrap(), n)));
    }
    out
}

fn start_node(url: &str) -> (std::process::Child, String) {
    common::start_node(url, &["--job-interval-secs", "0"], &[("LABINN_CHECKIN_SECRET", SECRET.to_owned())])
}

async fn scan_phase(label: &str, url: &str, pace: Option<Duration>) {
    let config = Config::from_settings(Settings { database_url: Some(url.to_owned()), ..Settings::default() }).unwrap();
    let db = Db::connect(&config).await.unwrap();
    db.migrate().await.unwrap();
    let now = chrono::Utc::now().timestamp_millis();
    let (space, resource, units) = space_with_units(&db, KIOSKS * PER_KIOSK, now).await;
    let account = maker(&db, now).await;
    let start = now - now.rem_euclid(MIN) - 5 * MIN;
    let spans: Vec<(UnitId, Interval)> =
        units.iter().map(|u| (u.clone(), Interval::new(start, start + 120 * MIN).unwrap())).collect();
    let booked = book_all(&db, &space, &resource, &account, &spans, now).await;
    let secret = Secret::new(SECRET.as_bytes().to_vec()).unwrap();
    let codes: Vec<String> =
        booked.iter().map(|(id, nonce)| booking_code(&secret, id.as_str(), nonce).unwrap()).collect();
    let mut tokens = Vec::new();
    for k in 0..KIOSKS {
        let pairing = format!("PAIR{k:04}");
        let id = db
            .insert_kiosk(
                &space,
                None,
                &format!("K{k}"),
                &labinn::auth::token_hash(&pairing),
                now + 3_600_000,
                &account,
                now,
            )
            .await
            .unwrap();
        let token = format!("lbk_bench{k:04}");
        db.pair_kiosk(&labinn::auth::token_hash(&pairing), &labinn::auth::token_hash(&token), now).await.unwrap();
        let _ = id;
        tokens.push(token);
    }
    db.close().await;

    let (mut child, base) = start_node(url);
    let client = reqwest::Client::builder().pool_max_idle_per_host(KIOSKS).build().unwrap();
    let deadline = Instant::now() + PHASE;
    let started = Instant::now();
    let mut tasks = Vec::new();
    for (k, token) in tokens.into_iter().enumerate() {
        let mine: Vec<String> = codes[k * PER_KIOSK..(k + 1) * PER_KIOSK].to_vec();
        let (client, base) = (client.clone(), base.clone());
        tasks.push(tokio::spawn(async move {
            let mut out: Vec<(String, f64)> = Vec::new();
            let mut i = 0;
            // Paced: each kiosk scans once per `pace`, starting at a different moment.
            let offset = pace.map(|p| p.mul_f64(k as f64 / KIOSKS as f64));
            while Instant::now() < deadline {
                if let (Some(p), Some(o)) = (pace, offset) {
                    tokio::time::sleep_until((started + o + p * i as u32).into()).await;
                }
                let code = &mine[i % mine.len()];
                let t = Instant::now();
                let res = client
                    .post(format!("{base}/api/v1/kiosk/scan"))
                    .bearer_auth(&token)
                    .json(&serde_json::json!({ "code": code }))
                    .send()
                    .await
                    .unwrap();
                let status = res.status();
                let body: serde_json::Value = res.json().await.unwrap_or_default();
                let ms = t.elapsed().as_secs_f64() * 1000.0;
                let what = if status == 200 {
                    match body["reason"].as_str() {
                        Some(r) => format!("deny:{r}"),
                        None => body["decision"].as_str().unwrap_or("?").to_owned(),
                    }
                } else {
                    format!("http {status}")
                };
                out.push((what, ms));
                i += 1;
            }
            out
        }));
    }
    let mut all: Vec<(String, f64)> = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    let secs = started.elapsed().as_secs_f64();
    let _ = child.kill();
    let _ = child.wait();
    let mut lat: Vec<f64> = all.iter().map(|(_, l)| *l).collect();
    lat.sort_by(f64::total_cmp);
    println!(
        "\n[{label}] scan, {KIOSKS} kiosks, {}: {} scans in {secs:.1} s = {:.0}/s, p50 {:.2} ms, p99 {:.2} ms",
        match pace {
            None => "back to back".to_owned(),
            Some(p) => format!("each every {} ms", p.as_millis()),
        },
        all.len(),
        all.len() as f64 / secs,
        pct(&lat, 0.5),
        pct(&lat, 0.99)
    );
    let mut by: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    for (what, l) in &all {
        by.entry(what.as_str()).or_default().push(*l);
    }
    for (what, mut l) in by {
        l.sort_by(f64::total_cmp);
        println!("[{label}]   {what:<28} {:>6}  p50 {:.2} ms  p99 {:.2} ms", l.len(), pct(&l, 0.5), pct(&l, 0.99));
    }
}

async fn no_show_phase(label: &str, url: &str) {
    const UNITS: usize = 1000;
    const PER_UNIT: usize = 100;
    let config = Config::from_settings(Settings {
        database_url: Some(url.to_owned()),
        bind: Some("127.0.0.1:0".parse().unwrap()),
        job_interval_secs: Some(0),
        checkin_secret: Some(SECRET.into()),
        log: Some("error".into()),
        ..Settings::default()
    })
    .unwrap();
    let app = labinn::app::Application::build(config).await.unwrap();
    let db = app.db().clone();
    let now = chrono::Utc::now().timestamp_millis();
    let (space, resource, units) = space_with_units(&db, UNITS, now).await;
    let account = maker(&db, now).await;
    // Hour-long bookings ending before now, 100 per unit, going back about 4 days.
    let base = now - now.rem_euclid(3_600_000) - (PER_UNIT as i64 + 1) * 3_600_000;
    let mut spans = Vec::with_capacity(UNITS * PER_UNIT);
    for h in 0..PER_UNIT as i64 {
        for u in &units {
            spans.push((u.clone(), Interval::new(base + h * 3_600_000, base + (h + 1) * 3_600_000).unwrap()));
        }
    }
    let t = Instant::now();
    book_all(&db, &space, &resource, &account, &spans, now - 10 * 86_400_000).await;
    let seeded = t.elapsed();
    let t = Instant::now();
    let released = labinn::service::checkin::release_no_shows(app.services(), now).await.unwrap();
    let took = t.elapsed();
    let (entries, _) = db.ledger_head().await.unwrap();
    println!(
        "\n[{label}] no-show job: {released} due bookings released in {:.2} s ({:.0}/s), {entries} ledger entries (seeded in {:.1} s)",
        took.as_secs_f64(),
        released as f64 / took.as_secs_f64(),
        seeded.as_secs_f64()
    );
    let t = Instant::now();
    let again = labinn::service::checkin::release_no_shows(app.services(), now).await.unwrap();
    println!(
        "[{label}] no-show job again with nothing due: {again} released in {:.1} ms",
        t.elapsed().as_secs_f64() * 1000.0
    );
    let t = Instant::now();
    let verdict = db.verify_ledger().await.unwrap();
    println!(
        "[{label}] verify-ledger over {entries} entries: {:?} in {:.2} s",
        verdict.map(|(n, _)| n),
        t.elapsed().as_secs_f64()
    );
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    rt.block_on(async {
        println!("machine: {} cores", std::thread::available_parallelism().map_or(0, |n| n.get()));
        common::on_both_backends("scan", |label, url| async move { scan_phase(label, &url, None).await }).await;
        for ms in [100, 200] {
            let pace = Some(Duration::from_millis(ms));
            common::on_both_backends("scanpaced", |label, url| async move { scan_phase(label, &url, pace).await })
                .await;
        }
        common::on_both_backends("noshow", |label, url| async move { no_show_phase(label, &url).await }).await;
    });
}
