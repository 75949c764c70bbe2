//! A maker registers, signs in (bearer token or cookie), sees themselves, and signs out.

use crate::helpers::spawn_app;
use serde_json::json;

#[tokio::test]
async fn a_maker_registers_signs_in_and_sees_themselves() {
    let app = spawn_app().await;
    let account = app.register("Lin@Example.org", "小林").await;
    assert_eq!(account["email"], "lin@example.org", "e-mail is stored lower-cased");
    assert_eq!(account["locale"], "zh-CN", "Chinese is the default language");
    assert!(account.get("password_hash").is_none());

    let token = app.login("lin@example.org").await;
    assert!(token.starts_with("lbn_"));
    let me = app.get("/api/v1/me", Some(&token)).await;
    assert_eq!(me.status, 200, "{}", me.text);
    assert_eq!(me.body["account"]["display_name"], "小林");
    assert_eq!(me.body["roles"], json!([{"role": "maker"}]));
    assert_eq!(me.body["organisations"], json!([]));
}

#[tokio::test]
async fn sign_in_also_sets_an_http_only_session_cookie_that_works() {
    let app = spawn_app().await;
    app.register("cookie@example.org", "Cookie").await;
    let r = app
        .post("/api/v1/auth/login", None, json!({"email": "cookie@example.org", "password": "correct horse battery"}))
        .await;
    let cookie = r.headers.get("set-cookie").expect("set-cookie").to_str().unwrap().to_owned();
    assert!(cookie.starts_with("labinn_session=lbn_"), "{cookie}");
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"), "{cookie}");
    let pair = cookie.split(';').next().unwrap().to_owned();
    let me = app.send(app.client.get(app.url("/api/v1/me")).header("cookie", pair)).await;
    assert_eq!(me.status, 200, "{}", me.text);
    assert_eq!(me.body["account"]["email"], "cookie@example.org");
}

#[tokio::test]
async fn registration_lists_every_invalid_field_at_once() {
    let app = spawn_app().await;
    let r = app
        .post(
            "/api/v1/auth/register",
            None,
            json!({"email": "not-an-email", "password": "short", "display_name": "  ", "locale": "fr"}),
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.text);
    assert_eq!(r.code(), "validation_failed");
    let mut fields: Vec<&str> =
        r.body["error"]["details"]["fields"].as_array().unwrap().iter().map(|f| f["field"].as_str().unwrap()).collect();
    fields.sort_unstable();
    assert_eq!(fields, ["display_name", "email", "locale", "password"]);
}

#[tokio::test]
async fn an_email_address_registers_only_once_whatever_its_case() {
    let app = spawn_app().await;
    app.register("twice@example.org", "First").await;
    let r = app
        .post(
            "/api/v1/auth/register",
            None,
            json!({"email": "TWICE@example.org", "password": "correct horse battery", "display_name": "Second"}),
        )
        .await;
    assert_eq!(r.status, 409, "{}", r.text);
    assert_eq!(r.code(), "email_taken");
}

#[tokio::test]
async fn a_wrong_password_and_an_unknown_account_look_the_same() {
    let app = spawn_app().await;
    app.register("known@example.org", "Known").await;
    let wrong = app
        .post("/api/v1/auth/login", None, json!({"email": "known@example.org", "password": "not the password"}))
        .await;
    let unknown = app
        .post("/api/v1/auth/login", None, json!({"email": "nobody@example.org", "password": "not the password"}))
        .await;
    for r in [&wrong, &unknown] {
        assert_eq!(r.status, 401, "{}", r.text);
        assert_eq!(r.code(), "invalid_credentials");
    }
    assert_eq!(wrong.body, unknown.body);
}

#[tokio::test]
async fn signing_out_ends_the_token_at_once() {
    let app = spawn_app().await;
    let (_, token) = app.maker("leaver@example.org").await;
    let r = app.post("/api/v1/auth/logout", Some(&token), json!({})).await;
    assert_eq!(r.status, 204, "{}", r.text);
    assert!(r.headers.get("set-cookie").unwrap().to_str().unwrap().contains("Max-Age=0"));
    let me = app.get("/api/v1/me", Some(&token)).await;
    assert_eq!(me.status, 401);
    assert_eq!(me.code(), "invalid_token");
}

#[tokio::test]
async fn a_bad_token_is_a_401_never_an_anonymous_user() {
    let app = spawn_app().await;
    let none = app.get("/api/v1/me", None).await;
    assert_eq!((none.status, none.code()), (401, "unauthenticated"));
    let forged =
        app.get("/api/v1/me", Some("lbn_0000000000000000000000000000000000000000000000000000000000000000")).await;
    assert_eq!((forged.status, forged.code()), (401, "invalid_token"));
}

#[tokio::test]
async fn passwords_are_stored_as_argon2id_hashes_and_tokens_only_as_digests() {
    let app = spawn_app().await;
    let (id, token) = app.maker("hash@example.org").await;
    let row = app.db.account(&labinn::domain::ids::AccountId::new(id)).await.unwrap();
    assert!(row.password_hash.starts_with("$argon2id$"), "{}", row.password_hash);
    assert!(!row.password_hash.contains("correct horse battery"));
    assert!(
        app.db.account_for_token(&token, app.clock.now_ms()).await.unwrap().is_none(),
        "the raw token is not stored"
    );
    let digest = labinn::auth::token_hash(&token);
    assert!(app.db.account_for_token(&digest, app.clock.now_ms()).await.unwrap().is_some());
}

#[tokio::test]
async fn an_english_speaker_can_choose_english() {
    let app = spawn_app().await;
    let r = app
        .post("/api/v1/auth/register", None, json!({"email": "en@example.org", "password": "correct horse battery", "display_name": "Sam", "locale": "en-GB"}))
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["locale"], "en");
}
