//! The test harness: `spawn_app()` starts labinn on port 0 over a fresh database.
//!
//! Backend: a temporary SQLite file by default; with `TEST_DATABASE_URL=postgres://…`, a
//! fresh PostgreSQL database per test, dropped afterwards.

use labinn::app::Application;
use labinn::clock::Clock;
use labinn::config::{Config, Settings};
use labinn::store::Db;
use serde_json::{Value, json};
use std::net::SocketAddr;

/// True under CI: a test that needs a missing component must fail, not skip.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// Skips (returns `None` and says why) or, under CI, fails.
pub fn missing_component(what: &str) -> Option<std::convert::Infallible> {
    if in_ci() {
        panic!("CI=true and a component this test needs is missing: {what}");
    }
    eprintln!("SKIPPED: {what}");
    None
}

fn test_database_url() -> Option<String> {
    std::env::var("TEST_DATABASE_URL").ok().filter(|u| !u.trim().is_empty())
}

/// Replaces the database name of a PostgreSQL URL.
pub fn with_database(url: &str, name: &str) -> String {
    let (main, query) = match url.split_once('?') {
        Some((m, q)) => (m, format!("?{q}")),
        None => (url, String::new()),
    };
    let scheme_end = main.find("://").map_or(0, |i| i + 3);
    let base = match main[scheme_end..].find('/') {
        Some(i) => &main[..scheme_end + i],
        None => main,
    };
    format!("{base}/{name}{query}")
}

/// A PostgreSQL server URL (to its maintenance database) for tests that need PostgreSQL
/// whatever the selected backend: `TEST_DATABASE_URL` when it is PostgreSQL, otherwise
/// `LABINN_TEST_PG_URL`, otherwise the local server. `None` (skipped) when unreachable.
pub async fn postgres_server() -> Option<String> {
    let url = test_database_url()
        .filter(|u| u.starts_with("postgres"))
        .or_else(|| std::env::var("LABINN_TEST_PG_URL").ok())
        .unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
    let probe = tokio::time::timeout(std::time::Duration::from_secs(5), sqlx::PgPool::connect(&url)).await;
    match probe {
        Ok(Ok(pool)) => {
            pool.close().await;
            Some(url)
        }
        Ok(Err(e)) => missing_component(&format!("PostgreSQL at {url} is unreachable ({e})")).map(|n| match n {}),
        Err(_) => missing_component(&format!("PostgreSQL at {url} did not answer in 5 s")).map(|n| match n {}),
    }
}

/// A fresh, empty database that disappears when dropped.
pub struct FreshDb {
    pub url: String,
    _dir: Option<tempfile::TempDir>,
    drop_pg: Option<(String, String)>,
}

impl FreshDb {
    /// On the backend the test run selected.
    pub async fn new() -> FreshDb {
        match test_database_url() {
            None => Self::sqlite(),
            Some(url) if url.starts_with("postgres") => Self::postgres(&url).await,
            Some(other) => panic!("TEST_DATABASE_URL must be postgres://…, got {other}"),
        }
    }

    pub fn sqlite() -> FreshDb {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}", dir.path().join("labinn.db").display());
        FreshDb { url, _dir: Some(dir), drop_pg: None }
    }

    pub async fn postgres(server: &str) -> FreshDb {
        let name = format!("labinn_t_{}", uuid::Uuid::new_v4().simple());
        let admin = sqlx::PgPool::connect(server)
            .await
            .unwrap_or_else(|e| panic!("TEST_DATABASE_URL is set but PostgreSQL is unreachable: {e}"));
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&admin)
            .await
            .expect("create test database");
        admin.close().await;
        FreshDb { url: with_database(server, &name), _dir: None, drop_pg: Some((server.to_owned(), name)) }
    }

    /// Another handle on a database that someone else owns (it is not dropped with this one).
    pub fn existing(url: &str) -> FreshDb {
        FreshDb { url: url.to_owned(), _dir: None, drop_pg: None }
    }

    pub fn is_postgres(&self) -> bool {
        self.url.starts_with("postgres")
    }

    /// Settings for a node on this database: port 0, cheap password hashing.
    pub fn settings(&self) -> Settings {
        Settings {
            bind: Some("127.0.0.1:0".parse().unwrap()),
            database_url: Some(self.url.clone()),
            argon2_memory_kib: Some(64),
            argon2_iterations: Some(1),
            db_max_connections: Some(8),
            log: Some("warn".into()),
            // Tests run the jobs themselves, with a fixed `now`.
            job_interval_secs: Some(0),
            // Stories register many makers from one address; the throttling tests set it low.
            registrations_per_hour: Some(1_000_000),
            ..Settings::default()
        }
    }
}

impl Drop for FreshDb {
    fn drop(&mut self) {
        if let Some((server, name)) = self.drop_pg.take() {
            // Drop runs outside any runtime we may block; use a thread with its own.
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
                rt.block_on(async {
                    if let Ok(pool) = sqlx::PgPool::connect(&server).await {
                        let _ =
                            sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")))
                                .execute(&pool)
                                .await;
                        pool.close().await;
                    }
                });
            })
            .join();
        }
    }
}

/// A running labinn for one test.
pub struct TestApp {
    pub addr: SocketAddr,
    pub client: reqwest::Client,
    pub db: Db,
    pub clock: Clock,
    pub state: labinn::http::AppState,
    pub fresh: FreshDb,
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|s| s).await
}

/// Like [`spawn_app`], with settings changed first.
pub async fn spawn_app_with(tweak: impl FnOnce(Settings) -> Settings) -> TestApp {
    let fresh = FreshDb::new().await;
    spawn_on(fresh, tweak).await
}

pub async fn spawn_on(fresh: FreshDb, tweak: impl FnOnce(Settings) -> Settings) -> TestApp {
    spawn_with_clock(fresh, tweak, Clock::system()).await
}

/// A test app whose clock reads `now_ms` (move it with `app.clock.set`).
pub async fn spawn_app_at(now_ms: i64) -> TestApp {
    spawn_with_clock(FreshDb::new().await, |s| s, Clock::fixed(now_ms)).await
}

pub async fn spawn_with_clock(fresh: FreshDb, tweak: impl FnOnce(Settings) -> Settings, clock: Clock) -> TestApp {
    let config = Config::from_settings(tweak(fresh.settings())).expect("test config is valid");
    let app = Application::build_with_clock(config, clock.clone()).await.expect("application builds");
    let addr = app.local_addr();
    let db = app.db().clone();
    let state = app.state().clone();
    tokio::spawn(app.run_until_stopped(std::future::pending()));
    let client = reqwest::Client::builder().build().expect("http client");
    TestApp { addr, client, db, clock, state, fresh }
}

/// A response, read whole.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
    pub text: String,
}

impl Reply {
    /// The stable error code of a problem response.
    pub fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("<no error code>")
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub async fn send(&self, req: reqwest::RequestBuilder) -> Reply {
        let res = req.send().await.expect("request reaches the server");
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        let text = res.text().await.expect("body");
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Reply { status, headers, body, text }
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Reply {
        let mut req = self.client.get(self.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        self.send(req).await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> Reply {
        let mut req = self.client.post(self.url(path)).json(&body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        self.send(req).await
    }

    pub async fn put(&self, path: &str, token: Option<&str>, body: Value) -> Reply {
        let mut req = self.client.put(self.url(path)).json(&body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        self.send(req).await
    }

    pub async fn patch_json(&self, path: &str, token: &str, body: Value) -> Reply {
        self.send(self.client.patch(self.url(path)).json(&body).bearer_auth(token)).await
    }

    pub async fn delete(&self, path: &str, token: Option<&str>) -> Reply {
        let mut req = self.client.delete(self.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        self.send(req).await
    }

    /// Registers a maker and returns its account JSON.
    pub async fn register(&self, email: &str, name: &str) -> Value {
        let r = self
            .post(
                "/api/v1/auth/register",
                None,
                json!({"email": email, "password": "correct horse battery", "display_name": name}),
            )
            .await;
        assert_eq!(r.status, 201, "register {email}: {}", r.text);
        r.body
    }

    /// Signs in with the password [`TestApp::register`] uses and returns the bearer token.
    pub async fn login(&self, email: &str) -> String {
        self.login_with(email, "correct horse battery").await
    }

    pub async fn login_with(&self, email: &str, password: &str) -> String {
        let r = self.post("/api/v1/auth/login", None, json!({"email": email, "password": password})).await;
        assert_eq!(r.status, 200, "login {email}: {}", r.text);
        r.body["token"].as_str().expect("token").to_owned()
    }

    /// A signed-in maker: (account id, token).
    pub async fn maker(&self, email: &str) -> (String, String) {
        let account = self.register(email, "Maker").await;
        (account["id"].as_str().unwrap().to_owned(), self.login(email).await)
    }

    /// A signed-in admin (made through the store, as `labinn admin create` does).
    pub async fn admin(&self) -> String {
        if self.db.account_by_email("root@labinn.test").await.unwrap().is_some() {
            return self.login("root@labinn.test").await;
        }
        let (id, _) = self.maker("root@labinn.test").await;
        self.db
            .grant_role(labinn::store::accounts::Grant {
                account_id: &labinn::domain::ids::AccountId::new(id),
                role: labinn::domain::identity::Role::Admin,
                space_id: None,
                granted_by: None,
                now: 0,
            })
            .await
            .expect("grant admin");
        self.login("root@labinn.test").await
    }
}

/// An operator and the space they run: (operator token, space slug).
pub async fn operated_space(app: &TestApp, slug: &str, timezone: &str) -> (String, String) {
    let admin = app.admin().await;
    let r = app
        .post(
            "/api/v1/spaces",
            Some(&admin),
            json!({"slug": slug, "name_zh": "测试空间", "name_en": "Test Space", "kind": "maker_space", "timezone": timezone,
                   "latitude": 22.72, "longitude": 114.25, "floor_area_m2": 1200.0, "address": "龙岗区"}),
        )
        .await;
    assert_eq!(r.status, 201, "create space: {}", r.text);
    let space_id = r.body["id"].as_str().unwrap().to_owned();
    let email = format!("op-{slug}@example.org");
    let (op_id, _) = app.maker(&email).await;
    let g = app
        .post(
            &format!("/api/v1/admin/accounts/{op_id}/roles"),
            Some(&admin),
            json!({"role": "operator", "space": space_id}),
        )
        .await;
    assert_eq!(g.status, 200, "{}", g.text);
    (app.login(&email).await, slug.to_owned())
}

/// Opens a space every day from `start` (local `HH:MM`) for `minutes` (its operator's token).
pub async fn open_daily(app: &TestApp, op: &str, slug: &str, start: &str, minutes: i64) {
    let r = app
        .post(
            &format!("/api/v1/spaces/{slug}/opening-rules"),
            Some(op),
            json!({"rrule": "FREQ=DAILY", "start": format!("2026-01-01T{start}"), "duration_minutes": minutes}),
        )
        .await;
    assert_eq!(r.status, 201, "opening rule: {}", r.text);
}

/// A `labinn serve` process on `database_url`, and its base URL. Killed when dropped.
pub struct Node {
    pub child: std::process::Child,
    pub base: String,
}

impl Node {
    pub fn start(database_url: &str) -> Node {
        use std::io::BufRead;
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_labinn"))
            .args(["serve", "--bind", "127.0.0.1:0", "--database-url", database_url, "--log", "warn"])
            .env("LABINN_ARGON2_MEMORY_KIB", "64")
            .env("LABINN_ARGON2_ITERATIONS", "1")
            .env("LABINN_DB_MAX_CONNECTIONS", "8")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("labinn starts");
        let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
        let base = lines
            .by_ref()
            .map_while(Result::ok)
            .find_map(|l| l.split("listening on ").nth(1).map(|s| s.trim().to_owned()))
            .expect("labinn prints where it listens");
        std::thread::spawn(move || lines.for_each(drop));
        Node { child, base }
    }

    /// SIGKILL: no shutdown, no flush, nothing.
    pub fn kill_hard(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.kill_hard();
    }
}

/// On PostgreSQL, waits (at most 10 s) until `db`'s session cache has forgotten something
/// since `generation` (see `store::login_cache`): another node's change reaches this node
/// when the database's notification arrives. Returns at once on SQLite, which has one node.
pub async fn notified_since(db: &Db, generation: Option<u64>) {
    let (Some(cache), Some(g)) = (db.login_cache(), generation) else { return };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while cache.generation() == g {
        assert!(std::time::Instant::now() < deadline, "no notification reached this node within 10 s");
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
}

/// The generation of `db`'s session cache (PostgreSQL), to give [`notified_since`].
pub fn cache_generation(db: &Db) -> Option<u64> {
    db.login_cache().map(labinn::store::LoginCache::generation)
}
