//! What the benches share: percentiles, and running one measurement on a temporary SQLite
//! file and then on a fresh PostgreSQL database (`LABINN_BENCH_PG_URL`, default the local
//! server; skipped with a note when unreachable; `LABINN_BENCH_SQLITE_ONLY=1` skips it, and
//! `LABINN_BENCH_PG_ONLY=1` skips SQLite).

use std::future::Future;

/// The `p` quantile (0..=1) of sorted samples; NaN when there are none.
pub fn pct(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// A fixed single-core workload (SipHash over 256 MiB), in ms: this VM's speed varies from day
/// to day by up to twice, so every run prints it next to its rates.
#[allow(dead_code)] // each bench compiles this module; not every one prints it
pub fn cpu_probe_ms() -> f64 {
    use std::hash::Hasher;
    let block = vec![0x5au8; 1 << 20];
    let t = std::time::Instant::now();
    let mut h = std::collections::hash_map::DefaultHasher::new();
    for i in 0..256u64 {
        h.write_u64(i);
        h.write(&block);
    }
    std::hint::black_box(h.finish());
    t.elapsed().as_secs_f64() * 1000.0
}

/// Runs `run(label, database_url)` on SQLite, then on a PostgreSQL database made for it and
/// dropped afterwards.
pub async fn on_both_backends<F, Fut>(tag: &str, run: F)
where
    F: Fn(&'static str, String) -> Fut,
    Fut: Future<Output = ()>,
{
    let dir = tempfile::tempdir().unwrap();
    if std::env::var("LABINN_BENCH_PG_ONLY").is_err() {
        // LABINN_BENCH_SQLITE_FILE keeps the SQLite database (to look at it afterwards).
        let file = std::env::var("LABINN_BENCH_SQLITE_FILE")
            .unwrap_or_else(|_| dir.path().join("bench.db").display().to_string());
        run("sqlite", format!("sqlite://{file}")).await;
    }
    if std::env::var("LABINN_BENCH_SQLITE_ONLY").is_ok() {
        return;
    }
    let server =
        std::env::var("LABINN_BENCH_PG_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    match sqlx::PgPool::connect(&server).await {
        Ok(admin) => {
            let name = format!("labinn_bench_{tag}_{}", std::process::id());
            sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).execute(&admin).await.unwrap();
            let url = match server.rsplit_once('/') {
                Some((base, _)) => format!("{base}/{name}"),
                None => server.clone(),
            };
            run("postgres", url).await;
            let _ = sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")))
                .execute(&admin)
                .await;
        }
        Err(e) => println!("\n[postgres] skipped: {server} is unreachable ({e})"),
    }
}

/// The server binary the benches start: `LABINN_BENCH_BIN` (another build, to compare two
/// builds interleaved in one sitting), else this build's release `labinn`.
#[allow(dead_code)] // each bench compiles this module; not every one starts a node
pub fn server_binary() -> std::path::PathBuf {
    std::env::var_os("LABINN_BENCH_BIN").map_or_else(|| env!("CARGO_BIN_EXE_labinn").into(), Into::into)
}

/// Starts the release `labinn serve` ([`server_binary`]) on port 0 over `url`, with `extra`
/// flags and `env`, and returns the child and its base URL (read from the "listening on" line).
#[allow(dead_code)] // each bench compiles this module; not every one starts a node
pub fn start_node(url: &str, extra: &[&str], env: &[(&str, String)]) -> (std::process::Child, String) {
    use std::io::BufRead;
    let mut cmd = std::process::Command::new(server_binary());
    cmd.args(["serve", "--bind", "127.0.0.1:0", "--database-url", url, "--log", "error"]).args(extra);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child =
        cmd.stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::null()).spawn().expect("labinn starts");
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let base = lines
        .by_ref()
        .map_while(Result::ok)
        .find_map(|l| {
            // `serve --demo` prints its banner instead of the one line.
            l.split("listening on ")
                .nth(1)
                .or_else(|| l.split("demo is running at ").nth(1))
                .map(|s| s.trim().to_owned())
        })
        .expect("labinn prints where it listens");
    std::thread::spawn(move || lines.for_each(drop));
    (child, base)
}

/// The bench space ("bench", Asia/Shanghai) of `kind`, open daily from `open_local` for
/// `open_minutes`; returns its id.
#[allow(dead_code)] // each bench compiles this module; not every one seeds a space
pub async fn bench_space(
    db: &labinn::store::Db,
    kind: &str,
    open_local: &str,
    open_minutes: i64,
    now: i64,
) -> labinn::domain::ids::SpaceId {
    let space = db
        .insert_space(labinn::store::catalog::NewSpace {
            slug: "bench",
            name_zh: "基准",
            name_en: "Bench",
            kind,
            timezone: "Asia/Shanghai",
            now,
        })
        .await
        .unwrap();
    db.insert_opening_rule(&space, None, "FREQ=DAILY", open_local, open_minutes, now).await.unwrap();
    space
}
