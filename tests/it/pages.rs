//! The public pages: the maker map and a space's page, Chinese first, English on request.

use crate::helpers::{operated_space, spawn_app};
use serde_json::json;

async fn page(app: &crate::helpers::TestApp, path: &str) -> (u16, String) {
    let r = app.send(app.client.get(app.url(path))).await;
    assert!(
        r.headers.get("content-type").is_some_and(|v| v.to_str().unwrap().starts_with("text/html")),
        "{path}: {:?}",
        r.headers
    );
    (r.status, r.text)
}

#[tokio::test]
async fn a_newcomer_sees_the_maker_map_in_chinese_and_can_switch_to_english() {
    let app = spawn_app().await;
    let (op, slug) = operated_space(&app, "map-space", "Asia/Shanghai").await;
    app.post(
        &format!("/api/v1/spaces/{slug}/resources"),
        Some(&op),
        json!({"kind": "tool", "name_zh": "激光切割机", "name_en": "Laser cutter"}),
    )
    .await;
    let (status, html) = page(&app, "/").await;
    assert_eq!(status, 200);
    assert!(html.contains("lang=\"zh-CN\""), "Chinese by default");
    assert!(html.contains("龙岗创客地图") && html.contains("测试空间"), "{html}");
    assert!(html.contains("href=\"/spaces/map-space?lang=zh\""));
    assert!(html.contains("name=\"viewport\""), "usable on a phone");
    let (_, en) = page(&app, "/?lang=en").await;
    assert!(en.contains("lang=\"en\"") && en.contains("Longgang Maker Map") && en.contains("Test Space"));
}

#[tokio::test]
async fn a_space_page_shows_its_resources_and_todays_free_slots() {
    let app = spawn_app().await;
    let (op, slug) = operated_space(&app, "page-space", "Asia/Shanghai").await;
    app.post(
        &format!("/api/v1/spaces/{slug}/opening-rules"),
        Some(&op),
        json!({"rrule": "FREQ=DAILY", "start": "2026-01-01T09:00", "duration_minutes": 540}),
    )
    .await;
    app.post(
        &format!("/api/v1/spaces/{slug}/resources"),
        Some(&op),
        json!({"kind": "tool", "name_zh": "3D打印机", "name_en": "3D printer <fast>", "units": {"labels": ["P1", "P2"]}}),
    )
    .await;
    let (status, html) = page(&app, &format!("/spaces/{slug}?lang=en&date=2026-06-01")).await;
    assert_eq!(status, 200, "{html}");
    assert!(
        html.contains("3D printer &#60;fast&#62;") || html.contains("3D printer &lt;fast&gt;"),
        "names are escaped: {html}"
    );
    assert!(html.contains("P1") && html.contains("09:00–18:00"), "{html}");
    assert!(html.contains("2026-05-31") && html.contains("2026-06-02"), "previous and next day links");
    let (_, zh) = page(&app, &format!("/spaces/{slug}?date=2026-06-01")).await;
    assert!(zh.contains("空闲时段") && zh.contains("3D打印机"));
}

/// The stable code an error page carries (`<meta name="labinn-error" content="…">`).
fn error_code(html: &str) -> &str {
    let needle = "name=\"labinn-error\" content=\"";
    let at = html.find(needle).map(|i| i + needle.len()).expect("an error page names its code");
    &html[at..at + html[at..].find('"').unwrap()]
}

#[tokio::test]
async fn an_unknown_space_page_is_a_404_page_in_the_readers_language() {
    let app = spawn_app().await;
    let (status, zh) = page(&app, "/spaces/nowhere").await;
    assert_eq!((status, error_code(&zh)), (404, "not_found"));
    assert!(zh.contains("lang=\"zh-CN\"") && zh.contains("找不到页面") && zh.contains("href=\"/?lang=zh\""), "{zh}");
    let (status, en) = page(&app, "/spaces/nowhere?lang=en").await;
    assert_eq!((status, error_code(&en)), (404, "not_found"));
    assert!(en.contains("lang=\"en\"") && en.contains("Not found") && en.contains("Back to the maker map"), "{en}");
}

#[tokio::test]
async fn a_bad_date_on_a_page_is_an_error_page_not_json() {
    let app = spawn_app().await;
    operated_space(&app, "dated-space", "Asia/Shanghai").await;
    let (status, en) = page(&app, "/spaces/dated-space?lang=en&date=tomorrow").await;
    assert_eq!((status, error_code(&en)), (422, "validation_failed"));
    assert!(en.contains("a date looks like 2026-03-29"), "{en}");
    // A query that does not parse at all (`lang` twice) is a 400 page, in the first language asked.
    let (status, zh) = page(&app, "/?lang=zh&lang=en").await;
    assert_eq!((status, error_code(&zh)), (400, "invalid_query"), "{zh}");
    assert!(zh.contains("请求有误"), "{zh}");
}

#[tokio::test]
async fn a_browser_asking_for_a_page_that_does_not_exist_gets_a_page() {
    let app = spawn_app().await;
    let r = app.send(app.client.get(app.url("/no/such/page?lang=en")).header("accept", "text/html,*/*")).await;
    assert_eq!(r.status, 404);
    assert!(r.headers["content-type"].to_str().unwrap().starts_with("text/html"), "{:?}", r.headers);
    assert_eq!(error_code(&r.text), "not_found");
    // The API stays JSON, whatever the client accepts.
    let api = app.send(app.client.get(app.url("/api/v1/nope")).header("accept", "text/html")).await;
    assert_eq!((api.status, api.code()), (404, "not_found"));
}
