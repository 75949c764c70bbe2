//! The `labinn` binary: clear one-line failures, `migrate`, `admin create`, and
//! `serve --demo` with graceful shutdown.

use crate::helpers::{FreshDb, spawn_on};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

pub(crate) fn labinn() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_labinn"));
    // Keep the developer's environment out of these runs.
    for (k, _) in std::env::vars() {
        if k.starts_with("LABINN_") {
            c.env_remove(k);
        }
    }
    c.env("LABINN_ARGON2_MEMORY_KIB", "64").env("LABINN_ARGON2_ITERATIONS", "1").env("LABINN_LOG", "warn");
    c
}

/// stderr of a failed run: exactly one line, and the exit code.
fn one_line_failure(out: &std::process::Output) -> String {
    assert!(!out.status.success(), "expected failure, got {:?}", out.status);
    let err = String::from_utf8_lossy(&out.stderr).trim().to_owned();
    assert_eq!(err.lines().count(), 1, "expected one line, got:\n{err}");
    err
}

#[test]
fn a_malformed_config_file_ends_the_process_with_one_line_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("labinn.toml");
    std::fs::write(&file, "bind = \"127.0.0.1:8080\"\nmax_body_bytes = \"lots\"\n").unwrap();
    let out = labinn().arg("--config").arg(&file).arg("migrate").output().unwrap();
    let err = one_line_failure(&out);
    assert_eq!(out.status.code(), Some(2));
    assert!(err.contains("labinn.toml") && err.contains("malformed"), "{err}");
}

#[test]
fn an_unknown_setting_in_the_config_file_is_named() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("labinn.toml"), "bnid = \"127.0.0.1:8080\"\n").unwrap();
    let out = labinn().current_dir(dir.path()).arg("migrate").output().unwrap();
    let err = one_line_failure(&out);
    assert!(err.contains("bnid"), "{err}");
}

#[test]
fn an_invalid_setting_from_the_environment_is_named() {
    let out = labinn().env("LABINN_DATABASE_URL", "mysql://root:hunter2@db/x").arg("migrate").output().unwrap();
    let err = one_line_failure(&out);
    assert!(err.contains("database_url") && !err.contains("hunter2"), "{err}");
}

#[test]
fn an_unreachable_database_ends_the_process_with_one_line_and_no_password() {
    let out = labinn()
        .args(["serve", "--bind", "127.0.0.1:0", "--database-url", "postgres://labinn:hunter2@127.0.0.1:1/labinn"])
        .output()
        .unwrap();
    let err = one_line_failure(&out);
    assert!(err.contains("cannot connect to database postgres://labinn:***@127.0.0.1:1/labinn"), "{err}");
    assert!(err.contains("Connection refused"), "the cause is named: {err}");
    assert!(!err.contains("hunter2"), "{err}");
    assert_eq!(err.matches("Connection refused").count(), 1, "the cause is said once: {err}");
}

#[tokio::test]
async fn migrate_then_admin_create_gives_a_working_admin_login() {
    let fresh = FreshDb::new().await;
    let url = fresh.url.clone();
    let out = labinn().args(["migrate", "--database-url", &url]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("schema version"));

    let out = labinn()
        .args([
            "admin",
            "create",
            "--email",
            "Chief@District.gov",
            "--password",
            "a long admin password",
            "--database-url",
            &url,
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    let app = spawn_on(fresh, |s| s).await;
    let token = app.login_with("chief@district.gov", "a long admin password").await;
    let me = app.get("/api/v1/me", Some(&token)).await;
    let roles: Vec<&str> = me.body["roles"].as_array().unwrap().iter().map(|r| r["role"].as_str().unwrap()).collect();
    assert!(roles.contains(&"admin"), "{roles:?}");
}

/// The one-off commands need no check-in secret: `admin create` and `verify-ledger` on a new
/// SQLite database leave no `checkin-secret` beside it (a file made by whoever ran the
/// command, root perhaps, could later stop the server reading it), and `verify-ledger`
/// writes nothing (a read-only PostgreSQL role may run it).
#[test]
fn admin_create_and_verify_ledger_make_no_check_in_secret() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("x.db").display());
    let out = labinn()
        .args(["admin", "create", "--email", "a@b.org", "--password", "a long admin password", "--database-url", &url])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = labinn().args(["verify-ledger", "--database-url", &url]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("ledger intact: 0 entries"), "{:?}", out);
    assert!(!dir.path().join("checkin-secret").exists(), "a one-off command made the check-in secret");
}

#[test]
fn admin_create_refuses_a_short_password_in_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("x.db").display());
    let out = labinn()
        .args(["admin", "create", "--email", "a@b.org", "--password", "short", "--database-url", &url])
        .output()
        .unwrap();
    let err = one_line_failure(&out);
    assert!(err.contains("--password"), "{err}");
}

/// Starts `serve --demo`, waits for the printed address, and returns (child, base URL, stdout so far).
fn start_demo(url: &str) -> (std::process::Child, String, Vec<String>) {
    let mut child = labinn()
        .args(["serve", "--demo", "--bind", "127.0.0.1:0", "--database-url", url])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = Vec::new();
    let mut base = None;
    let mut reader = BufReader::new(child.stdout.take().unwrap()).lines();
    for line in reader.by_ref() {
        let line = line.unwrap();
        if let Some(rest) = line.split("running at ").nth(1) {
            base = Some(rest.trim().to_owned());
        }
        let done = line.contains("maker@labinn.demo");
        lines.push(line);
        if done {
            break;
        }
    }
    // Keep reading whatever else it prints, as a terminal would.
    std::thread::spawn(move || reader.for_each(drop));
    (child, base.expect("the demo prints its address"), lines)
}

/// Starts `cmd` and reads its output until the line with `marker` names its address: (child,
/// base URL). The rest of its output is drained, as a terminal would.
fn serving(cmd: &mut Command, marker: &str) -> (std::process::Child, String) {
    let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::null()).spawn().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let base = lines
        .by_ref()
        .map(Result::unwrap)
        .find_map(|l| l.split(marker).nth(1).map(|s| s.trim().to_owned()))
        .expect("address printed");
    std::thread::spawn(move || lines.for_each(drop));
    (child, base)
}

fn sigterm_and_wait(mut child: std::process::Child) -> std::process::ExitStatus {
    Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(Instant::now() < deadline, "labinn did not stop after SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[tokio::test]
async fn serve_demo_prints_logins_that_work_twice_over_and_stops_cleanly_on_sigterm() {
    let fresh = FreshDb::new().await;
    let client = reqwest::Client::new();
    let mut accounts_after = Vec::new();
    for _run in 0..2 {
        let (child, base, lines) = start_demo(&fresh.url);
        for who in ["admin@labinn.demo", "operator@labinn.demo", "reviewer@labinn.demo", "maker@labinn.demo"] {
            assert!(lines.iter().any(|l| l.contains(who)), "{who} not printed: {lines:?}");
        }
        let ready = client.get(format!("{base}/readyz")).send().await.unwrap();
        assert_eq!(ready.status(), 200);
        let login: serde_json::Value = client
            .post(format!("{base}/api/v1/auth/login"))
            .json(&serde_json::json!({"email": "operator@labinn.demo", "password": "demo-operator-2026"}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let me: serde_json::Value = client
            .get(format!("{base}/api/v1/me"))
            .bearer_auth(login["token"].as_str().expect("demo login works"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert!(me["roles"].as_array().unwrap().iter().any(|r| r["role"] == "operator"), "{me}");
        let status = sigterm_and_wait(child);
        assert!(status.success(), "graceful shutdown exits 0, got {status:?}");

        let probe = spawn_on(clone_fresh(&fresh), |s| s).await;
        let n: i64 = labinn::on_read!(&probe.db, |p| sqlx::query_scalar("SELECT COUNT(*) FROM accounts")
            .fetch_one(p)
            .await
            .unwrap());
        accounts_after.push(n);
    }
    assert_eq!(accounts_after[0], 10, "four logins and six makers who made the history");
    assert_eq!(accounts_after, [10, 10], "running the demo twice duplicates nothing");
}

/// A handle on the same database that does not drop it.
fn clone_fresh(f: &FreshDb) -> FreshDb {
    FreshDb::existing(&f.url)
}

#[tokio::test]
async fn json_logs_are_one_object_per_line_and_never_show_the_database_password() {
    let fresh = FreshDb::new().await;
    // Give PostgreSQL a password in the URL (trust auth ignores it) so that there is one to leak.
    let url =
        if fresh.is_postgres() { fresh.url.replacen("postgres@", "postgres:hunter2@", 1) } else { fresh.url.clone() };
    let out =
        labinn().args(["migrate", "--log-format", "json", "--log", "info", "--database-url", &url]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<serde_json::Value> =
        stderr.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}"))).collect();
    assert!(lines.iter().any(|l| l["message"] == "migrations applied"), "{stderr}");
    assert!(!stderr.contains("hunter2"), "{stderr}");
}

#[tokio::test]
async fn sigterm_lets_a_request_in_flight_finish() {
    let fresh = FreshDb::new().await;
    // A deliberately expensive password hash keeps the login request busy for a while.
    let (mut child, base) = serving(
        labinn()
            .args(["serve", "--demo", "--bind", "127.0.0.1:0", "--database-url", &fresh.url])
            .env("LABINN_ARGON2_MEMORY_KIB", "262144")
            .env("LABINN_ARGON2_ITERATIONS", "6"),
        "running at ",
    );

    let login = tokio::spawn(
        reqwest::Client::new()
            .post(format!("{base}/api/v1/auth/login"))
            .json(&serde_json::json!({"email": "maker@labinn.demo", "password": "demo-maker-2026"}))
            .send(),
    );
    tokio::time::sleep(Duration::from_millis(150)).await;
    Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    let res = login.await.unwrap().expect("the request in flight is answered, not cut off");
    assert_eq!(res.status(), 200);
    let status = tokio::task::spawn_blocking(move || child.wait().unwrap()).await.unwrap();
    assert!(status.success(), "{status:?}");
}

/// A request still working when the grace period ends does not keep the node up: here a
/// sign-in whose password hash takes far longer than the grace (it runs on the blocking
/// pool, which the runtime used to wait for without end, so the node outlived the SIGTERM).
#[tokio::test]
async fn sigterm_ends_the_node_within_its_grace_whatever_is_in_flight() {
    let fresh = FreshDb::new().await;
    let out = labinn().args(["migrate", "--database-url", &fresh.url]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // An unknown address is hashed with the node's cost: made costly here, tens of seconds.
    let (child, base) = serving(
        labinn()
            .args(["serve", "--bind", "127.0.0.1:0", "--database-url", &fresh.url])
            .env("LABINN_SHUTDOWN_GRACE_SECS", "1")
            .env("LABINN_ARGON2_MEMORY_KIB", "262144")
            .env("LABINN_ARGON2_ITERATIONS", "100"),
        "listening on ",
    );
    let stuck = tokio::spawn(
        reqwest::Client::new()
            .post(format!("{base}/api/v1/auth/login"))
            .json(&serde_json::json!({"email": "nobody@example.org", "password": "a wrong password"}))
            .send(),
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    let sent = Instant::now();
    let status = tokio::task::spawn_blocking(move || sigterm_and_wait(child)).await.unwrap();
    let took = sent.elapsed();
    assert!(took < Duration::from_secs(8), "stopped {took:?} after SIGTERM; the grace is 1 s");
    assert!(status.success(), "{status:?}");
    assert!(stuck.await.unwrap().is_err(), "the stuck request is cut off, not answered");
}
