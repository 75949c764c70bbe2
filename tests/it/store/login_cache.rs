//! Logins kept by a node (PostgreSQL: `store::login_cache`) end wherever they are ended.
//! A sign-out, a revoked role or a disabled account on one node, or a change written straight
//! into the database, reaches every other node; a node that loses its notification
//! connection reads logins from the database until it listens again. On SQLite (one file,
//! logins read in-process, no cache) the same stories hold at once.

use crate::checkin::sqlx_exec;
use crate::helpers::{FreshDb, TestApp, cache_generation, notified_since, spawn_app, spawn_with_clock};
use labinn::clock::Clock;
use serde_json::json;
use std::time::{Duration, Instant};

/// Waits (at most 10 s) until `app`'s node listens for session notifications (PostgreSQL),
/// so that what it reads next is kept.
async fn listening(app: &TestApp) {
    let Some(cache) = app.db.login_cache() else { return };
    let deadline = Instant::now() + Duration::from_secs(10);
    while !cache.is_listening() {
        assert!(Instant::now() < deadline, "the node did not listen within 10 s");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// A second node on `app`'s database.
async fn second_node(app: &TestApp) -> TestApp {
    spawn_with_clock(FreshDb::existing(&app.fresh.url), |s| s, Clock::system()).await
}

/// How many sessions `app`'s node keeps (0 on SQLite).
fn kept(app: &TestApp) -> usize {
    app.db.login_cache().map_or(0, labinn::store::LoginCache::len)
}

/// Asserts that `token` no longer opens a session on `app`'s node.
async fn signed_out(app: &TestApp, token: &str) {
    let me = app.get("/api/v1/me", Some(token)).await;
    assert_eq!((me.status, me.code()), (401, "invalid_token"), "{}", me.text);
}

fn roles(me: &crate::helpers::Reply) -> Vec<String> {
    me.body["roles"].as_array().unwrap().iter().map(|r| r["role"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn a_role_granted_or_revoked_or_a_sign_out_on_one_node_holds_on_the_other() {
    let a = spawn_app().await;
    listening(&a).await;
    let b = second_node(&a).await;
    let admin = b.admin().await;
    let (id, token) = a.maker("kept@example.org").await;
    let me = a.get("/api/v1/me", Some(&token)).await;
    assert_eq!((me.status, roles(&me)), (200, vec!["maker".to_owned()]), "{}", me.text);
    if a.db.login_cache().is_some() {
        assert!(kept(&a) >= 1, "node A keeps the session it read");
    }

    let seen = cache_generation(&a.db);
    let r = b.post(&format!("/api/v1/admin/accounts/{id}/roles"), Some(&admin), json!({"role": "reviewer"})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    notified_since(&a.db, seen).await;
    let me = a.get("/api/v1/me", Some(&token)).await;
    assert_eq!(roles(&me), ["maker", "reviewer"], "{}", me.text);

    let seen = cache_generation(&a.db);
    let r = b.delete(&format!("/api/v1/admin/accounts/{id}/roles/reviewer"), Some(&admin)).await;
    assert_eq!(r.status, 204, "{}", r.text);
    notified_since(&a.db, seen).await;
    let me = a.get("/api/v1/me", Some(&token)).await;
    assert_eq!(roles(&me), ["maker"], "{}", me.text);

    let seen = cache_generation(&a.db);
    let r = b.post("/api/v1/auth/logout", Some(&token), json!({})).await;
    assert_eq!(r.status, 204, "{}", r.text);
    notified_since(&a.db, seen).await;
    signed_out(&a, &token).await;
}

#[tokio::test]
async fn a_sign_out_on_the_node_that_kept_the_session_ends_it_at_once() {
    let a = spawn_app().await;
    listening(&a).await;
    let (_, token) = a.maker("here@example.org").await;
    let (_, other) = a.maker("stays@example.org").await;
    for t in [&token, &other] {
        assert_eq!(a.get("/api/v1/me", Some(t)).await.status, 200);
    }
    let r = a.post("/api/v1/auth/logout", Some(&token), json!({})).await;
    assert_eq!(r.status, 204, "{}", r.text);
    // No waiting: the node forgets its own change after the commit.
    signed_out(&a, &token).await;
    assert_eq!(a.get("/api/v1/me", Some(&other)).await.status, 200, "another maker's session is untouched");
}

#[tokio::test]
async fn a_change_written_straight_into_the_database_reaches_the_node_that_kept_the_session() {
    let a = spawn_app().await;
    listening(&a).await;
    let (id, token) = a.maker("disabled@example.org").await;
    assert_eq!(a.get("/api/v1/me", Some(&token)).await.status, 200);
    // No labinn code runs for this change: only the database's trigger can tell the node.
    let seen = cache_generation(&a.db);
    sqlx_exec(&a, &format!("UPDATE accounts SET disabled = TRUE WHERE id = '{id}'")).await;
    notified_since(&a.db, seen).await;
    signed_out(&a, &token).await;
}

#[tokio::test]
async fn a_node_that_loses_its_notification_connection_forgets_its_sessions_and_listens_again() {
    let a = spawn_app().await;
    let b = second_node(&a).await;
    let (_, token) = a.maker("patient@example.org").await;
    let Some(cache) = a.db.login_cache() else {
        // SQLite: nothing is kept, so a sign-out elsewhere holds at once.
        assert_eq!(a.get("/api/v1/me", Some(&token)).await.status, 200);
        assert_eq!(b.post("/api/v1/auth/logout", Some(&token), json!({})).await.status, 204);
        assert_eq!(a.get("/api/v1/me", Some(&token)).await.status, 401);
        return;
    };
    listening(&a).await;
    assert_eq!(a.get("/api/v1/me", Some(&token)).await.status, 200);
    assert!(!cache.is_empty());
    // The database ends the listening connections of this database (node A's and node B's).
    let seen = cache.generation();
    let ended = crate::checkin::sqlx_scalar(
        &a,
        "SELECT COUNT(pg_terminate_backend(pid))::text FROM pg_stat_activity \
         WHERE datname = current_database() AND query LIKE 'LISTEN %'",
    )
    .await;
    assert!(ended.is_some_and(|n| n.parse::<i64>().unwrap() >= 1), "a listening connection was ended");
    // The node notices, forgets what it kept, and listens again on a new connection.
    notified_since(&a.db, Some(seen)).await;
    listening(&a).await;
    assert_eq!(a.get("/api/v1/me", Some(&token)).await.status, 200);
    // What is told on the new connection still reaches it.
    listening(&b).await;
    let seen = cache.generation();
    assert_eq!(b.post("/api/v1/auth/logout", Some(&token), json!({})).await.status, 204);
    notified_since(&a.db, Some(seen)).await;
    signed_out(&a, &token).await;
}
