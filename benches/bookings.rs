//! Bookings per second over HTTP, against the release binary in its own process, with the
//! load generator (this process) on the same machine.
//!
//! `cargo bench --bench bookings` runs, on SQLite and on PostgreSQL (`LABINN_BENCH_PG_URL`,
//! default the local server; skipped with a note when unreachable; `LABINN_BENCH_SQLITE_ONLY=1`
//! skips it):
//! - distinct: 64 clients, each booking its own unit, one hour after another;
//! - bare booking row: 64 clients calling `POST /_bench/insert_booking`, one booking row
//!   (each client its own unit) through the write path bookings take, with no session, body,
//!   rule or read: the ceiling the booking rate is compared with;
//! - bare settings row: 64 clients calling `POST /_bench/insert`, one two-column row through
//!   the same writer (the ceiling of earlier rounds, kept for comparison);
//! - training required: the distinct load on a resource whose policy requires a training
//!   (every maker holds it), so each decision reads the maker's facts and the unit's blocks;
//! - no database: 64 clients calling `GET /healthz` (the HTTP floor: the same middleware, no
//!   statement);
//! - contended: 64 clients asking for random hours of a 4-unit resource (many 409s);
//! - series: a 52-occurrence weekly series, one at a time.
//!
//! `LABINN_BENCH_CONNS` sets the server's `db_max_connections` (default 16).

mod common;

use common::pct;
use labinn::auth::{new_token, token_hash};
use labinn::config::{Config, Settings};
use labinn::domain::calendar::format_utc;
use labinn::domain::ids::{AccountId, ResourceId, SpaceId, UnitId};
use labinn::store::Db;
use labinn::store::accounts::NewAccount;
use labinn::store::catalog::NewResource;
use serde_json::json;
use std::sync::Arc;
use std::time::{Duration, Instant};

const CLIENTS: usize = 64;
const PHASE: Duration = Duration::from_secs(8);
/// Before the measured phases: the distinct load, not counted, so that the node's pooled
/// connections are open and its statements prepared (a PostgreSQL node opens them on demand).
const WARM_UP: Duration = Duration::from_secs(2);
const HOUR: i64 = 3_600_000;

struct Seeded {
    tokens: Vec<String>,
    accounts: Vec<AccountId>,
    space: SpaceId,
    seats: Vec<UnitId>,
    trained: Vec<UnitId>,
    bare: (ResourceId, Vec<UnitId>),
    contended: ResourceId,
    series_units: Vec<UnitId>,
}

async fn seed(db: &Db) -> Seeded {
    let now = chrono::Utc::now().timestamp_millis();
    let space = common::bench_space(db, "incubator", "2026-01-01T00:00:00", 1440, now).await;
    let policy = r#"{"horizon_days": 730, "max_minutes": 1440}"#;
    let trained_policy = r#"{"horizon_days": 730, "max_minutes": 1440, "required_trainings": ["bench-safety"]}"#;
    let resource = |name: &'static str, n: usize, policy: &'static str| {
        let labels: Vec<String> = (1..=n).map(|i| format!("{name}{i:03}")).collect();
        let db = db.clone();
        let space = space.clone();
        async move {
            let id = db
                .insert_resource_with_units(&NewResource {
                    space_id: &space,
                    kind: "broadband_seat",
                    name_zh: name,
                    name_en: name,
                    description: "",
                    policy_json: policy,
                    unit_labels: &labels,
                    now,
                })
                .await
                .unwrap();
            let units = db.units_of(&id).await.unwrap().into_iter().map(|u| u.id).collect::<Vec<_>>();
            (id, units)
        }
    };
    let (_, seats) = resource("S", CLIENTS, policy).await;
    let (_, trained) = resource("T", CLIENTS, trained_policy).await;
    let bare = resource("X", CLIENTS, policy).await;
    let (contended, _) = resource("C", 4, policy).await;
    let (_, series_units) = resource("W", 40, policy).await;
    let training = db.create_training("bench-safety", "安全", "Safety", Some(&space), now).await.unwrap();
    let (mut tokens, mut accounts) = (Vec::new(), Vec::new());
    for i in 0..CLIENTS {
        let a = db
            .create_account(&NewAccount {
                email: &format!("b{i}@example.org"),
                password_hash: "x",
                display_name: "B",
                locale: "en",
                now,
            })
            .await
            .unwrap();
        let t = new_token().unwrap();
        db.insert_token(&token_hash(&t), &a.id, now, now + 30 * 24 * HOUR).await.unwrap();
        db.grant_training(&training.id, &a.id, &a.id, None, now).await.unwrap();
        tokens.push(t);
        accounts.push(a.id);
    }
    Seeded { tokens, accounts, space, seats, trained, bare, contended, series_units }
}

fn start_node(url: &str) -> (std::process::Child, String) {
    common::start_node(
        url,
        &["--bench-endpoints", "true"],
        &[("LABINN_DB_MAX_CONNECTIONS", std::env::var("LABINN_BENCH_CONNS").unwrap_or_else(|_| "16".into()))],
    )
}

struct PhaseResult {
    ok: usize,
    /// Answers 200 (the no-database phase's).
    plain_ok: usize,
    conflicts: usize,
    other: usize,
    rate: f64,
    p50: f64,
    p99: f64,
}

/// One request of a phase.
enum Req {
    /// `POST /api/v1/bookings` with this body, as the client's maker.
    Booking(serde_json::Value),
    /// `POST` to this bench endpoint (path and query), without a session.
    Bare(String),
    /// `GET` this path, without a session.
    Get(&'static str),
}

/// Runs `CLIENTS` loops for `PHASE`; `body(client, k)` gives the k-th request of a client.
async fn phase(base: &str, tokens: &[String], body: Arc<dyn Fn(usize, i64) -> Req + Send + Sync>) -> PhaseResult {
    phase_for(PHASE, base, tokens, body).await
}

/// [`phase`] for `length`.
async fn phase_for(
    length: Duration,
    base: &str,
    tokens: &[String],
    body: Arc<dyn Fn(usize, i64) -> Req + Send + Sync>,
) -> PhaseResult {
    let client = reqwest::Client::builder().pool_max_idle_per_host(CLIENTS).build().unwrap();
    let deadline = Instant::now() + length;
    let started = Instant::now();
    let mut tasks = Vec::new();
    for (c, token) in tokens.iter().enumerate() {
        let (client, base, token, body) = (client.clone(), base.to_owned(), token.clone(), body.clone());
        tasks.push(tokio::spawn(async move {
            let (mut lat, mut codes) = (Vec::new(), Vec::new());
            let mut k = 0;
            while Instant::now() < deadline {
                let req = match body(c, k) {
                    Req::Booking(b) => client.post(format!("{base}/api/v1/bookings")).bearer_auth(&token).json(&b),
                    Req::Bare(path) => client.post(format!("{base}{path}")),
                    Req::Get(path) => client.get(format!("{base}{path}")),
                };
                let t = Instant::now();
                let res = req.send().await.unwrap();
                let status = res.status().as_u16();
                let _ = res.bytes().await;
                lat.push(t.elapsed().as_secs_f64() * 1000.0);
                codes.push(status);
                k += 1;
            }
            (lat, codes)
        }));
    }
    let (mut lat, mut codes) = (Vec::new(), Vec::new());
    for t in tasks {
        let (l, c) = t.await.unwrap();
        lat.extend(l);
        codes.extend(c);
    }
    let secs = started.elapsed().as_secs_f64();
    lat.sort_by(f64::total_cmp);
    let ok = codes.iter().filter(|c| **c == 201).count();
    let conflicts = codes.iter().filter(|c| **c == 409).count();
    PhaseResult {
        ok,
        plain_ok: codes.iter().filter(|c| **c == 200).count(),
        conflicts,
        other: codes.len() - ok - conflicts,
        rate: codes.len() as f64 / secs,
        p50: pct(&lat, 0.5),
        p99: pct(&lat, 0.99),
    }
}

/// The size of a SQLite database's WAL file, in MiB (`None` on PostgreSQL).
fn wal_mib(url: &str) -> Option<f64> {
    let path = url.strip_prefix("sqlite://")?;
    std::fs::metadata(format!("{path}-wal")).ok().map(|m| m.len() as f64 / (1024.0 * 1024.0))
}

async fn run(label: &str, url: String) {
    let config = Config::from_settings(Settings { database_url: Some(url.clone()), ..Settings::default() }).unwrap();
    let db = Db::connect(&config).await.unwrap();
    db.migrate().await.unwrap();
    let s = Arc::new(seed(&db).await);
    db.close().await;
    let (mut child, base) = start_node(&url);
    let t0 = (chrono::Utc::now().timestamp_millis() / HOUR + 24) * HOUR;

    // The warm-up books hours far beyond those of the measured phase (10,000 hours on).
    let seats = s.clone();
    let warm = phase_for(
        WARM_UP,
        &base,
        &s.tokens,
        Arc::new(move |c, k| {
            let h = 10_000 + k;
            Req::Booking(json!({"unit": seats.seats[c], "start": format_utc(t0 + h * HOUR), "end": format_utc(t0 + (h + 1) * HOUR)}))
        }),
    )
    .await;
    let seats = s.clone();
    let distinct = phase(
        &base,
        &s.tokens,
        Arc::new(move |c, k| Req::Booking(json!({"unit": seats.seats[c], "start": format_utc(t0 + k * HOUR), "end": format_utc(t0 + (k + 1) * HOUR)}))),
    )
    .await;
    let b = s.clone();
    let bare = phase(
        &base,
        &s.tokens,
        Arc::new(move |c, k| {
            Req::Bare(format!(
                "/_bench/insert_booking?unit={}&resource={}&space={}&account={}&from={}",
                b.bare.1[c],
                b.bare.0,
                b.space,
                b.accounts[c],
                t0 + k * HOUR
            ))
        }),
    )
    .await;
    let settings = phase(&base, &s.tokens, Arc::new(|_, _| Req::Bare("/_bench/insert".into()))).await;
    let healthz = phase(&base, &s.tokens, Arc::new(|_, _| Req::Get("/healthz"))).await;
    let t = s.clone();
    let trained = phase(
        &base,
        &s.tokens,
        Arc::new(move |c, k| Req::Booking(json!({"unit": t.trained[c], "start": format_utc(t0 + k * HOUR), "end": format_utc(t0 + (k + 1) * HOUR)}))),
    )
    .await;
    let contended_id = s.contended.clone();
    let contended = phase(
        &base,
        &s.tokens,
        Arc::new(move |c, k| {
            let slot = ((c as i64) * 7919 + k * 104_729) % 200;
            Req::Booking(json!({"resource": contended_id, "start": format_utc(t0 + slot * HOUR), "end": format_utc(t0 + (slot + 1) * HOUR)}))
        }),
    )
    .await;
    let ok_rate = |r: &PhaseResult| r.ok as f64 / PHASE.as_secs_f64();
    if let Some(mib) = wal_mib(&url) {
        println!("[{label}] WAL file after the load phases: {mib:.1} MiB");
    }
    println!(
        "[{label}] warm-up (not counted, {} s): {:.0} bookings/s, p50 {:.2} ms, p99 {:.2} ms ({} created, {} other)",
        WARM_UP.as_secs(),
        warm.rate,
        warm.p50,
        warm.p99,
        warm.ok,
        warm.other + warm.conflicts
    );
    println!(
        "[{label}] distinct units, {CLIENTS} clients: {:.0} bookings/s, p50 {:.2} ms, p99 {:.2} ms ({} created, {} conflicts, {} other)",
        distinct.rate, distinct.p50, distinct.p99, distinct.ok, distinct.conflicts, distinct.other
    );
    println!(
        "[{label}] bare booking row, {CLIENTS} clients: {:.0} inserts/s, p50 {:.2} ms, p99 {:.2} ms ({} created, {} other)",
        bare.rate,
        bare.p50,
        bare.p99,
        bare.ok,
        bare.other + bare.conflicts
    );
    println!("[{label}] booking rate / bare booking row: {:.0} %", 100.0 * distinct.rate / bare.rate);
    println!(
        "[{label}] bare settings row, {CLIENTS} clients: {:.0} inserts/s, p50 {:.2} ms, p99 {:.2} ms",
        settings.rate, settings.p50, settings.p99
    );
    println!("[{label}] booking rate / bare settings row: {:.0} %", 100.0 * distinct.rate / settings.rate);
    println!(
        "[{label}] no database (GET /healthz), {CLIENTS} clients: {:.0} requests/s, p50 {:.2} ms, p99 {:.2} ms ({} not 200)",
        healthz.rate,
        healthz.p50,
        healthz.p99,
        healthz.ok + healthz.conflicts + healthz.other - healthz.plain_ok
    );
    println!(
        "[{label}] training required (facts read), {CLIENTS} clients: {:.0} bookings/s, p50 {:.2} ms, p99 {:.2} ms ({} created, {} conflicts, {} other)",
        trained.rate, trained.p50, trained.p99, trained.ok, trained.conflicts, trained.other
    );
    println!(
        "[{label}] contended (4 units, 200 hours), {CLIENTS} clients: {:.0} requests/s ({:.0} created/s), p50 {:.2} ms, p99 {:.2} ms ({} created, {} conflicts, {} other)",
        contended.rate,
        ok_rate(&contended),
        contended.p50,
        contended.p99,
        contended.ok,
        contended.conflicts,
        contended.other
    );

    let client = reqwest::Client::new();
    let mut ms = Vec::new();
    for (i, unit) in s.series_units.iter().enumerate().take(20) {
        let start = t0 + (i as i64) * HOUR;
        let body = json!({"unit": unit, "start": format_utc(start), "end": format_utc(start + HOUR), "recurrence": "FREQ=WEEKLY;COUNT=52"});
        let t = Instant::now();
        let res =
            client.post(format!("{base}/api/v1/bookings")).bearer_auth(&s.tokens[0]).json(&body).send().await.unwrap();
        let status = res.status();
        let _ = res.bytes().await;
        ms.push(t.elapsed().as_secs_f64() * 1000.0);
        assert_eq!(status, 201, "series {i}");
    }
    ms.sort_by(f64::total_cmp);
    println!(
        "[{label}] 52-occurrence weekly series: p50 {:.1} ms, max {:.1} ms (20 series)",
        pct(&ms, 0.5),
        ms[ms.len() - 1]
    );
    let _ = child.kill();
    let _ = child.wait();
}

#[tokio::main]
async fn main() {
    let probe: Vec<f64> = (0..3).map(|_| common::cpu_probe_ms()).collect();
    println!(
        "machine probe (SipHash of 256 MiB, one core, 3 runs): {:.0} / {:.0} / {:.0} ms",
        probe[0], probe[1], probe[2]
    );
    common::on_both_backends("b", run).await;
}
