//! Reports and the evidence pack over one district-year. `cargo bench --bench reports` runs,
//! on SQLite and then PostgreSQL (`LABINN_BENCH_PG_URL`, default the local server;
//! `LABINN_BENCH_SQLITE_ONLY=1` / `LABINN_BENCH_PG_ONLY=1` pick one):
//!
//! - **generate** a district-year (2025-12-01 to 2026-11-30): 20 spaces (18 in Asia/Shanghai,
//!   2 in Europe/Berlin) open 08:00–22:00 every day, 500 units (per space: 10 tools, 5 lab
//!   instruments, 10 hot desks), 2,000 makers, `LABINN_BENCH_SESSIONS` metered sessions
//!   (default 1,000,000) from 1.2 × as many bookings (83 % checked in and out, 5 % of them
//!   walk-ups; 9 % no-shows; 8 % cancelled), each session with its check-in and check-out
//!   ledger entries and each no-show and cancellation with its own, chained like the real ones;
//!   300 residents (15 a space, through the register), 400 events (20 a space, each in a
//!   booked instrument) and an area plan. Its duration, the database's size and this
//!   process's peak memory (VmHWM).
//! - **read**, against the release binary in its own process: one space-year utilization
//!   report (`by=resource&bucket=month`), one evidence pack as JSON and as ZIP
//!   (`sz-zc-2020`), and the district overview of the 20 spaces; p50 and p99 (and the max)
//!   of 20 requests each (5 for the overview), one at a time.
//! - **bookings beside reports**: 16 makers booking hour after hour (each their own desk of
//!   a separate resource), for 8 s without and 8 s with a space-year report requested every
//!   100 ms beside them, interleaved off/on/off/on: the booking rate of each phase, and the
//!   ratio of on to off.

mod common;

use common::pct;
use labinn::auth::{new_token, token_hash};
use labinn::config::{Config, Settings};
use labinn::domain::calendar::local_to_utc;
use labinn::domain::identity::Role;
use labinn::domain::ids::{AccountId, SpaceId};
use labinn::domain::ledger::{GENESIS, canonical_json, entry_hash};
use labinn::store::Db;
use labinn::store::accounts::{Grant, NewAccount};
use labinn::store::catalog::{NewResource, NewSpace};
use labinn::store::organisations::NewOrganisation;
use labinn::store::registers::{AreaPartRow, EventRow, ResidencyRow};
use serde_json::json;
use std::sync::Arc;
use std::time::{Duration, Instant};

const SPACES: usize = 20;
const MAKERS: usize = 2000;
const HOUR: i64 = 3_600_000;
const MIN: i64 = 60_000;
const DAYS: i64 = 365;
const FROM: &str = "2025-12-01";
const TO: &str = "2026-11-30";
const BOOKERS: usize = 16;
/// Booking phases: each its own [`BOOKERS`] desks, so every phase starts from the same hour.
const PHASES: usize = 4;
const PHASE: Duration = Duration::from_secs(8);

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// One bound value of a generated row.
#[derive(Clone)]
enum V {
    T(String),
    I(i64),
    NI(Option<i64>),
    NT(Option<String>),
}

/// Inserts `rows` into `table` (`cols`), 500 rows a statement, in one transaction.
async fn insert(db: &Db, table: &str, cols: &[&str], rows: &[Vec<V>]) {
    let n = cols.len();
    let statement = |len: usize| {
        let values: Vec<String> = (0..len)
            .map(|r| format!("({})", (1..=n).map(|c| format!("${}", r * n + c)).collect::<Vec<_>>().join(", ")))
            .collect();
        format!("INSERT INTO {table} ({}) VALUES {}", cols.join(", "), values.join(", "))
    };
    let run = async {
        labinn::in_write_tx!(db, |tx| {
            for chunk in rows.chunks(50) {
                let mut q = sqlx::query(sqlx::AssertSqlSafe(statement(chunk.len())));
                for row in chunk {
                    for v in row {
                        q = match v {
                            V::T(s) => q.bind(s.clone()),
                            V::I(i) => q.bind(*i),
                            V::NI(i) => q.bind(*i),
                            V::NT(s) => q.bind(s.clone()),
                        };
                    }
                }
                q.execute(&mut *tx).await?;
            }
        });
        Ok::<(), labinn::store::StoreError>(())
    };
    run.await.unwrap();
}

fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(f64::NAN, |kib| kib / 1024.0)
}

struct District {
    reviewer: String,
    bookers: Vec<String>,
    live_units: Vec<String>,
    sessions: usize,
    bookings: usize,
    ledger: i64,
}

struct Unit {
    id: String,
    resource: String,
    space: SpaceId,
    tz: chrono_tz::Tz,
    lab: bool,
}

struct Ledger {
    seq: i64,
    prev: String,
    rows: Vec<Vec<V>>,
}

impl Ledger {
    fn push(&mut self, kind: &str, subject: &str, at: i64, payload: &serde_json::Value) {
        self.seq += 1;
        let payload = canonical_json(payload);
        let hash = entry_hash(&self.prev, self.seq, kind, subject, at, &payload);
        self.rows.push(vec![
            V::I(self.seq),
            V::T(kind.into()),
            V::T(subject.into()),
            V::T(payload),
            V::T(std::mem::replace(&mut self.prev, hash.clone())),
            V::T(hash),
            V::I(at),
        ]);
    }
}

const BOOKING_COLS: &[&str] = &[
    "id",
    "unit_id",
    "resource_id",
    "space_id",
    "account_id",
    "kind",
    "status",
    "starts_at",
    "ends_at",
    "blocked_from",
    "blocked_until",
    "purpose",
    "checkin_nonce",
    "created_at",
    "updated_at",
    "cancelled_by",
    "cancelled_at",
];
const SESSION_COLS: &[&str] =
    &["id", "booking_id", "unit_id", "account_id", "started_at", "ended_at", "opened_by", "closed_by", "overstay_ms"];
const LEDGER_COLS: &[&str] = &["seq", "kind", "subject_id", "payload", "prev_hash", "hash", "recorded_at"];

async fn flush(db: &Db, b: &mut Vec<Vec<V>>, s: &mut Vec<Vec<V>>, l: &mut Vec<Vec<V>>, spent: &mut [f64; 3]) {
    for (i, (table, cols, rows)) in
        [("bookings", BOOKING_COLS, b), ("sessions", SESSION_COLS, s), ("ledger", LEDGER_COLS, l)]
            .into_iter()
            .enumerate()
    {
        let t = Instant::now();
        insert(db, table, cols, &std::mem::take(rows)).await;
        spent[i] += t.elapsed().as_secs_f64();
    }
}

#[allow(clippy::too_many_lines)]
async fn generate(db: &Db, target_sessions: usize) -> District {
    let t = Instant::now();
    let first = chrono::NaiveDate::parse_from_str(FROM, "%Y-%m-%d").unwrap();
    let before =
        local_to_utc(chrono_tz::Asia::Shanghai, (first - chrono::Days::new(400)).and_hms_opt(0, 0, 0).unwrap());
    let now = chrono::Utc::now().timestamp_millis();
    let mut rng = Rng(0x5eed_2026_d157_0001);
    let mut makers = Vec::new();
    for i in 0..MAKERS {
        let a = db
            .create_account(&NewAccount {
                email: &format!("m{i:04}@example.org"),
                password_hash: "x",
                display_name: "M",
                locale: "zh-CN",
                now: before,
            })
            .await
            .unwrap();
        makers.push(a.id);
    }
    let mut units = Vec::new();
    let mut spaces = Vec::new();
    for s in 0..SPACES {
        let tz_name = if s >= 18 { "Europe/Berlin" } else { "Asia/Shanghai" };
        let slug = format!("s{s:02}");
        let space = db
            .insert_space(NewSpace {
                slug: &slug,
                name_zh: &format!("空间{s}"),
                name_en: &format!("Space {s}"),
                kind: "maker_space",
                timezone: tz_name,
                now: before,
            })
            .await
            .unwrap();
        db.insert_opening_rule(&space, None, "FREQ=DAILY", "2024-01-01T08:00:00", 840, before).await.unwrap();
        for (kind, n, lab) in [("tool", 10, false), ("lab_facility", 5, true), ("broadband_seat", 10, false)] {
            let labels: Vec<String> = (1..=n).map(|i| format!("{kind}-{i:02}")).collect();
            let r = db
                .insert_resource_with_units(&NewResource {
                    space_id: &space,
                    kind,
                    name_zh: kind,
                    name_en: kind,
                    description: "",
                    policy_json: r#"{"max_minutes": 1440, "horizon_days": 730}"#,
                    unit_labels: &labels,
                    now: before,
                })
                .await
                .unwrap();
            for u in db.units_of(&r).await.unwrap() {
                units.push(Unit {
                    id: u.id.as_str().into(),
                    resource: r.as_str().into(),
                    space: space.clone(),
                    tz: tz_name.parse().unwrap(),
                    lab,
                });
            }
        }
        spaces.push((space, tz_name.parse::<chrono_tz::Tz>().unwrap()));
    }
    println!("  catalog and makers: {:.1} s", t.elapsed().as_secs_f64());

    // Bookings: per unit, `per_day` slots a day from 08:00, each kept with a probability that
    // gives 1.2 × the sessions asked for.
    let bookings_target = target_sessions * 6 / 5;
    let per_unit = bookings_target as f64 / units.len() as f64;
    let per_day = ((per_unit / DAYS as f64) * 1.1).ceil().max(1.0) as i64;
    let slot = (14 * 60 / per_day).min(90) * MIN;
    let length = slot - (slot / 6).max(5 * MIN);
    let keep = (per_unit / (per_day * DAYS) as f64 * 1000.0) as u64;
    let (head_seq, head_hash) = db.ledger_head().await.unwrap();
    let mut ledger =
        Ledger { seq: head_seq, prev: if head_seq == 0 { GENESIS.into() } else { head_hash }, rows: vec![] };
    let (mut n_bookings, mut n_sessions) = (0usize, 0usize);
    let mut event_places: Vec<(SpaceId, String, i64, i64)> = Vec::new();
    let mut b_rows = Vec::new();
    let mut s_rows = Vec::new();
    let mut spent = [0.0f64; 3];
    for u in &units {
        for d in 0..DAYS {
            let day = first + chrono::Days::new(d as u64);
            let open = local_to_utc(u.tz, day.and_hms_opt(8, 0, 0).unwrap());
            for k in 0..per_day {
                if rng.below(1000) >= keep {
                    continue;
                }
                let start = open + k * slot;
                let end = start + length;
                let id = labinn::store::new_id();
                let maker = &makers[rng.below(MAKERS as u64) as usize];
                let roll = rng.below(100);
                let walk_up = roll < 4;
                let (status, cancelled_at) = match roll {
                    0..=82 => ("completed", None),
                    83..=91 => ("no_show", None),
                    _ => ("cancelled", Some(start - (1 + rng.below(48) as i64) * HOUR)),
                };
                let created = if walk_up { start } else { start - (2 + rng.below(70) as i64) * HOUR };
                b_rows.push(vec![
                    V::T(id.clone()),
                    V::T(u.id.clone()),
                    V::T(u.resource.clone()),
                    V::T(u.space.as_str().into()),
                    V::T(maker.as_str().into()),
                    V::T(if walk_up { "walk_up" } else { "single" }.into()),
                    V::T(status.into()),
                    V::I(start),
                    V::I(end),
                    V::I(start),
                    V::I(end),
                    V::T(String::new()),
                    V::T(format!("N{n_bookings:09}")),
                    V::I(created),
                    V::I(cancelled_at.unwrap_or(end)),
                    V::NT(cancelled_at.map(|_| maker.as_str().to_owned())),
                    V::NI(cancelled_at),
                ]);
                n_bookings += 1;
                match status {
                    "completed" => {
                        let sid = labinn::store::new_id();
                        let started = start - 5 * MIN + rng.below(15) as i64 * MIN;
                        let ended = (end - 15 * MIN + rng.below(35) as i64 * MIN).max(started + MIN);
                        let overstay = (ended - end).max(0);
                        let automatic = rng.below(100) < 7;
                        let opened = if walk_up { "walk_up" } else { "kiosk" };
                        let closed = if automatic { "automatic" } else { "kiosk" };
                        s_rows.push(vec![
                            V::T(sid.clone()),
                            V::T(id.clone()),
                            V::T(u.id.clone()),
                            V::T(maker.as_str().into()),
                            V::I(started),
                            V::I(ended),
                            V::T(opened.into()),
                            V::T(closed.into()),
                            V::I(overstay),
                        ]);
                        let facts = |ended: Option<i64>, closed: Option<&str>| {
                            json!({"session": sid, "booking": id, "unit": u.id, "account": maker, "started_at": started,
                                "ended_at": ended, "opened_by": opened, "closed_by": closed, "overstay_ms": overstay})
                        };
                        ledger.push("check_in", &sid, started, &facts(None, None));
                        ledger.push("check_out", &sid, ended, &facts(Some(ended), Some(closed)));
                        n_sessions += 1;
                        if u.lab && k == 0 && d % 18 == 3 && event_places.len() < (SPACES * 20) {
                            event_places.push((u.space.clone(), id.clone(), start, end));
                        }
                    }
                    "no_show" => ledger.push("no_show", &id, start + 30 * MIN, &json!({"booking": id})),
                    _ => ledger.push(
                        "cancellation",
                        &id,
                        cancelled_at.unwrap_or(start),
                        &json!({"booking": id, "by": maker}),
                    ),
                }
            }
        }
        if b_rows.len() >= 20_000 {
            flush(db, &mut b_rows, &mut s_rows, &mut ledger.rows, &mut spent).await;
        }
    }
    flush(db, &mut b_rows, &mut s_rows, &mut ledger.rows, &mut spent).await;
    println!("  inserting: bookings {:.1} s, sessions {:.1} s, ledger {:.1} s", spent[0], spent[1], spent[2]);
    println!(
        "  {n_bookings} bookings, {n_sessions} sessions, {} ledger entries: {:.1} s",
        ledger.seq,
        t.elapsed().as_secs_f64()
    );

    // Registers, through the store as an operator would write them.
    let operator = db
        .create_account(&NewAccount {
            email: "operator@example.org",
            password_hash: "x",
            display_name: "O",
            locale: "zh-CN",
            now: before,
        })
        .await
        .unwrap()
        .id;
    for (s, (space, _)) in spaces.iter().enumerate() {
        for (i, (name, area, class)) in
            [("Desks", 700.0, "maker_work"), ("Hall", 200.0, "public_service"), ("Office", 100.0, "operator_office")]
                .into_iter()
                .enumerate()
        {
            let row = AreaPartRow {
                id: labinn::store::new_id(),
                space_id: space.clone(),
                resource_id: None,
                name: name.into(),
                area_m2: area,
                use_class: class.into(),
                created_at: before + i as i64,
                ended_at: None,
            };
            db.save_area_part(&row, &operator, before).await.unwrap();
        }
        for r in 0..15 {
            let org = db
                .create_organisation(NewOrganisation {
                    slug: &format!("org-{s:02}-{r:02}"),
                    name: &format!("Team {s}-{r}"),
                    kind: "startup",
                    owner: None,
                    now: before,
                })
                .await
                .unwrap();
            let start = first - chrono::Days::new(30 * (r % 12) as u64);
            let row = ResidencyRow {
                id: labinn::store::new_id(),
                space_id: space.clone(),
                organisation_id: org.id.as_str().into(),
                agreement_ref: format!("RZ-{s}-{r}"),
                starts_on: start.to_string(),
                ends_on: (r % 4 == 0).then(|| (start + chrono::Days::new(200)).to_string()),
                desks: 2,
                rooms: 0,
                area_m2: 20.0,
                founder: "林".into(),
                product: "硬件".into(),
                created_at: before,
                updated_at: before,
            };
            db.save_residency(&row, &operator, before).await.unwrap();
        }
    }
    for (i, (space, booking, start, end)) in event_places.iter().enumerate() {
        let row = EventRow {
            id: labinn::store::new_id(),
            space_id: space.clone(),
            kind: "salon".into(),
            role: if i % 4 == 3 { "co_organiser" } else { "host" }.into(),
            topic: format!("沙龙 {i}"),
            booking_id: booking.clone(),
            starts_at: *start,
            ends_at: *end,
            attendance_entered: Some(30),
            attested_by: Some(operator.as_str().into()),
            attested_at: Some(*end),
            cancelled_at: None,
            created_at: *end,
            checked_in: 0,
        };
        db.save_event(&row, &operator, *end).await.unwrap();
    }

    // Who reads, and who books beside the readers.
    let reviewer = db
        .create_account(&NewAccount {
            email: "reviewer@example.org",
            password_hash: "x",
            display_name: "R",
            locale: "zh-CN",
            now,
        })
        .await
        .unwrap()
        .id;
    db.grant_role(Grant { account_id: &reviewer, role: Role::Reviewer, space_id: None, granted_by: None, now })
        .await
        .unwrap();
    let token = |a: AccountId| async move {
        let t = new_token().unwrap();
        db.insert_token(&token_hash(&t), &a, now, now + 30 * 24 * HOUR).await.unwrap();
        t
    };
    let reviewer = token(reviewer).await;
    let labels: Vec<String> = (1..=BOOKERS * PHASES).map(|i| format!("L{i:02}")).collect();
    let live = db
        .insert_resource_with_units(&NewResource {
            space_id: &spaces[0].0,
            kind: "broadband_seat",
            name_zh: "live",
            name_en: "live",
            description: "",
            policy_json: r#"{"max_minutes": 1440, "horizon_days": 730}"#,
            unit_labels: &labels,
            now: before,
        })
        .await
        .unwrap();
    let mut bookers = Vec::new();
    for m in makers.iter().take(BOOKERS) {
        bookers.push(token(m.clone()).await);
    }
    let ledger_count = db.ledger_head().await.unwrap().0;
    println!(
        "  registers (300 residents, {} events, 60 area parts); generated in {:.1} s, peak memory {:.0} MiB",
        event_places.len(),
        t.elapsed().as_secs_f64(),
        peak_rss_mib()
    );
    District {
        reviewer,
        bookers,
        live_units: db.units_of(&live).await.unwrap().into_iter().map(|u| u.id.as_str().to_owned()).collect(),
        sessions: n_sessions,
        bookings: n_bookings,
        ledger: ledger_count,
    }
}

/// `n` requests of `path`, one at a time: (p50, p99, max) in ms, checking each is a 200.
async fn timed(client: &reqwest::Client, base: &str, token: &str, path: &str, n: usize) -> (f64, f64, f64, usize) {
    let mut ms = Vec::new();
    let mut bytes = 0;
    for _ in 0..n {
        let t = Instant::now();
        let r = client.get(format!("{base}{path}")).bearer_auth(token).send().await.unwrap();
        let status = r.status();
        let body = r.bytes().await.unwrap();
        assert_eq!(status, 200, "{path}: {}", String::from_utf8_lossy(&body));
        ms.push(t.elapsed().as_secs_f64() * 1000.0);
        bytes = body.len();
    }
    ms.sort_by(f64::total_cmp);
    (pct(&ms, 0.5), pct(&ms, 0.99), ms[ms.len() - 1], bytes)
}

/// Bookings per second by [`BOOKERS`] makers over `PHASE`, each booking its own desk hour
/// after hour from `hour0` on; with a space-year report every 100 ms beside them if `reports`.
async fn booking_phase(base: &str, d: &Arc<District>, phase: usize, hour0: i64, reports: bool) -> (f64, usize, f64) {
    let client = reqwest::Client::new();
    let stop = Instant::now() + PHASE;
    let mut tasks = Vec::new();
    for (c, token) in d.bookers.iter().enumerate() {
        let (client, base, token, d) = (client.clone(), base.to_owned(), token.clone(), d.clone());
        tasks.push(tokio::spawn(async move {
            let mut ok = 0usize;
            let mut h = 0i64;
            while Instant::now() < stop {
                // Within the space's opening hours (08:00–22:00 in Shanghai: 00:00–14:00 UTC).
                let start = hour0 + (h / 14) * 24 * HOUR + (h % 14) * HOUR;
                h += 1;
                let body = json!({"unit": d.live_units[phase * BOOKERS + c],
                    "start": labinn::domain::calendar::format_utc(start), "end": labinn::domain::calendar::format_utc(start + HOUR)});
                let r = client.post(format!("{base}/api/v1/bookings")).bearer_auth(&token).json(&body).send().await;
                match r.map(|r| r.status().as_u16()) {
                    Ok(201) => ok += 1,
                    Ok(s) => panic!("a booking answered {s}"),
                    Err(e) => panic!("a booking failed: {e}"),
                }
            }
            ok
        }));
    }
    let reporter = reports.then(|| {
        let (client, base, token) = (client.clone(), base.to_owned(), d.reviewer.clone());
        tokio::spawn(async move {
            let mut every = tokio::time::interval(Duration::from_millis(100));
            every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let (mut n, mut ms) = (0usize, Vec::new());
            while Instant::now() < stop {
                every.tick().await;
                let t = Instant::now();
                let r = client
                    .get(format!("{base}/api/v1/reports/utilization?space=s01&from={FROM}&to={TO}"))
                    .bearer_auth(&token)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status(), 200);
                r.bytes().await.unwrap();
                ms.push(t.elapsed().as_secs_f64() * 1000.0);
                n += 1;
            }
            ms.sort_by(f64::total_cmp);
            (n, pct(&ms, 0.5))
        })
    });
    let mut ok = 0;
    for t in tasks {
        ok += t.await.unwrap();
    }
    let (n, p50) = match reporter {
        Some(r) => r.await.unwrap(),
        None => (0, f64::NAN),
    };
    (ok as f64 / PHASE.as_secs_f64(), n, p50)
}

fn db_size_mib(url: &str) -> Option<f64> {
    let path = url.strip_prefix("sqlite://")?;
    let size = |p: &str| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
    Some((size(path) + size(&format!("{path}-wal"))) as f64 / 1_048_576.0)
}

async fn run(label: &str, url: String) {
    let sessions: usize = std::env::var("LABINN_BENCH_SESSIONS").ok().and_then(|s| s.parse().ok()).unwrap_or(1_000_000);
    println!("\n[{label}] generating a district-year with {sessions} sessions");
    let config = Config::from_settings(Settings { database_url: Some(url.clone()), ..Settings::default() }).unwrap();
    let db = Db::connect(&config).await.unwrap();
    db.migrate().await.unwrap();
    let d = Arc::new(generate(&db, sessions).await);
    if label == "postgres" {
        // Fresh statistics, as autovacuum would have gathered over a year of writes.
        let analyze = async {
            labinn::in_write_tx!(&db, |tx| {
                sqlx::query("ANALYZE").execute(&mut *tx).await?;
            });
            Ok::<(), labinn::store::StoreError>(())
        };
        analyze.await.unwrap();
    }
    db.close().await;
    if let Some(mib) = db_size_mib(&url) {
        println!("  database file: {mib:.0} MiB");
    }
    println!(
        "  {} bookings, {} sessions, {} ledger entries; cpu probe {:.0} ms",
        d.bookings,
        d.sessions,
        d.ledger,
        common::cpu_probe_ms()
    );
    // The roll-up, built as `labinn rollup build` builds it (the jobs do it a step a minute).
    let started = std::time::Instant::now();
    let out = std::process::Command::new(common::server_binary())
        .args(["rollup", "build", "--database-url", &url, "--log", "error"])
        .output()
        .expect("labinn rollup build runs");
    assert!(out.status.success(), "rollup build: {}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    let parts: u64 =
        text.lines().filter_map(|l| l.split(" stored parts").next()?.rsplit(' ').next()?.parse::<u64>().ok()).sum();
    println!(
        "  roll-up: built in {:.1} s, {parts} stored parts{}",
        started.elapsed().as_secs_f64(),
        db_size_mib(&url).map_or(String::new(), |m| format!(", database file now {m:.0} MiB"))
    );
    let token = d.reviewer.clone();
    let client = reqwest::Client::new();
    let q = format!("from={FROM}&to={TO}");
    // LABINN_BENCH_SAMPLES: requests of each kind (default 20; the overview a quarter).
    let n: usize = std::env::var("LABINN_BENCH_SAMPLES").ok().and_then(|s| s.parse().ok()).unwrap_or(20);
    let cases = [
        ("space-year utilization report (JSON)", format!("/api/v1/reports/utilization?space=s01&{q}"), n),
        ("evidence pack, JSON", format!("/api/v1/spaces/s01/evidence?scheme=sz-zc-2020&{q}"), n),
        ("evidence pack, ZIP", format!("/api/v1/spaces/s01/evidence?scheme=sz-zc-2020&{q}&format=zip"), n),
        ("district overview, 20 spaces", format!("/api/v1/district/overview?scheme=sz-zc-2020&{q}"), n.div_ceil(4)),
        (
            "district overview, metered (sz-ck-2015)",
            format!("/api/v1/district/overview?scheme=sz-ck-2015&{q}"),
            n.div_ceil(4),
        ),
    ];
    // LABINN_BENCH_ROLLUP_AB=1: the same file served with the roll-up off and on, interleaved
    // (off, on, off, on); the report must say the same either way.
    let modes: &[bool] =
        if std::env::var("LABINN_BENCH_ROLLUP_AB").is_ok() { &[false, true, false, true] } else { &[true] };
    let mut seen: Option<serde_json::Value> = None;
    for on in modes {
        let (mut node, base) = common::start_node(
            &url,
            &[],
            &[("LABINN_REPORT_ROLLUP", on.to_string()), ("LABINN_JOB_INTERVAL_SECS", "0".into())],
        );
        println!("  roll-up {}:", if *on { "on" } else { "off" });
        // One warm request each (statements prepared, pages cached), then the measured ones.
        for (_, path, _) in &cases[..2] {
            timed(&client, &base, &token, path, 1).await;
        }
        for (name, path, n) in &cases {
            let (p50, p99, max, bytes) = timed(&client, &base, &token, path, *n).await;
            println!("    {name:<40} p50 {p50:>7.1} ms  p99 {p99:>7.1} ms  max {max:>7.1} ms  ({bytes} bytes, n={n})");
        }
        let mut report: serde_json::Value =
            client.get(format!("{base}{}", cases[0].1)).bearer_auth(&token).send().await.unwrap().json().await.unwrap();
        println!("    report days from the roll-up: {}", report["rollup_days"]);
        let o = report.as_object_mut().unwrap();
        o.remove("generated_at");
        o.remove("rollup_days");
        if let Some(before) = &seen {
            assert_eq!(before, &report, "the report differs between the roll-up off and on");
        }
        seen = Some(report);
        let _ = node.kill();
        let _ = node.wait();
    }
    let (mut child, base) = common::start_node(&url, &[], &[("LABINN_JOB_INTERVAL_SECS", "0".into())]);
    if std::env::var("LABINN_BENCH_NO_BOOKINGS").is_ok() {
        let _ = child.kill();
        let _ = child.wait();
        return;
    }
    // Bookings without and with reports beside them, interleaved.
    // A UTC midnight (08:00 in Shanghai) two days ahead.
    let hour0 = (chrono::Utc::now().timestamp_millis() / (24 * HOUR) + 2) * 24 * HOUR;
    let mut offs = Vec::new();
    let mut ons = Vec::new();
    for round in 0..PHASES / 2 {
        let (off, _, _) = booking_phase(&base, &d, round * 2, hour0, false).await;
        let (on, n, p50) = booking_phase(&base, &d, round * 2 + 1, hour0, true).await;
        println!(
            "  bookings/s without reports {off:>6.1}, with a report every 100 ms {on:>6.1} ({n} reports, p50 {p50:.0} ms): ratio {:.2}",
            on / off
        );
        offs.push(off);
        ons.push(on);
    }
    println!(
        "  booking rate with reports / without, over both rounds: {:.2}",
        ons.iter().sum::<f64>() / offs.iter().sum::<f64>()
    );
    let _ = child.kill();
    let _ = child.wait();
}

#[tokio::main]
async fn main() {
    common::on_both_backends("reports", run).await;
}
