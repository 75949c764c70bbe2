//! Health, readiness, version and the generated OpenAPI document.

use crate::helpers::spawn_app;
use serde_json::json;

#[tokio::test]
async fn healthz_says_the_process_is_up() {
    let app = spawn_app().await;
    let r = app.get("/healthz", None).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["status"], "ok");
}

#[tokio::test]
async fn readyz_confirms_the_database_answers_and_the_schema_is_current() {
    let app = spawn_app().await;
    let r = app.get("/readyz", None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["status"], "ready");
    assert_eq!(r.body["schema_version"].as_i64(), Some(app.db.expected_schema_version()));
    assert_eq!(r.body["backend"], if app.fresh.is_postgres() { "postgres" } else { "sqlite" });
}

#[tokio::test]
async fn readyz_is_a_503_problem_when_the_database_is_gone() {
    let app = spawn_app().await;
    app.db.close().await;
    let r = app.get("/readyz", None).await;
    assert_eq!(r.status, 503, "{}", r.text);
    assert_eq!(r.code(), "not_ready");
}

#[tokio::test]
async fn version_names_the_build_and_the_api() {
    let app = spawn_app().await;
    let r = app.get("/api/v1/version", None).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["name"], "labinn");
    assert_eq!(r.body["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(r.body["api"], "v1");
}

#[tokio::test]
async fn the_openapi_document_is_3_1_and_lists_every_route() {
    let app = spawn_app().await;
    let r = app.get("/api/v1/openapi.json", None).await;
    assert_eq!(r.status, 200);
    assert!(r.body["openapi"].as_str().unwrap().starts_with("3.1"), "{}", r.body["openapi"]);
    let paths = r.body["paths"].as_object().expect("paths");
    for p in [
        "/healthz",
        "/readyz",
        "/api/v1/version",
        "/api/v1/openapi.json",
        "/api/v1/auth/register",
        "/api/v1/auth/login",
        "/api/v1/auth/logout",
        "/api/v1/me",
        "/api/v1/organisations",
        "/api/v1/organisations/{id}",
        "/api/v1/organisations/{id}/members",
        "/api/v1/admin/accounts",
        "/api/v1/admin/accounts/{id}/roles",
        "/api/v1/kiosk/pair",
        "/api/v1/kiosk/scan",
        "/api/v1/kiosk/decode",
        "/api/v1/bookings/{id}/qr.png",
        "/api/v1/bookings/{id}/check-in",
        "/api/v1/spaces/{slug}/kiosks",
        "/api/v1/spaces/{slug}/sessions",
        "/api/v1/ledger/head",
    ] {
        assert!(paths.contains_key(p), "OpenAPI lacks {p}");
    }
    assert!(r.body["components"]["schemas"]["Problem"].is_object());
}

/// Clients switch on `code`: the document lists every code with its status and meaning, and
/// the schema of a problem's `code` is exactly that list; so does the README.
#[tokio::test]
async fn the_openapi_document_and_the_readme_list_every_error_code_with_its_status() {
    use labinn::service::Code;
    let app = spawn_app().await;
    let doc = app.get("/api/v1/openapi.json", None).await.body;
    let description = doc["info"]["description"].as_str().unwrap();
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    for c in Code::ALL {
        let status = match c {
            Code::HttpError => "the response's".to_owned(),
            _ => labinn::http::error::status_of(*c).as_u16().to_string(),
        };
        let row = format!("| `{}` | {status} | {} |", c.as_str(), c.about());
        assert!(description.contains(&row), "the document lacks {row}");
        let readme_row = format!("| `{}` | {status} |", c.as_str());
        assert!(readme.contains(&readme_row), "README.md lacks {readme_row}");
    }
    let schemas = &doc["components"]["schemas"];
    assert_eq!(schemas["ProblemBody"]["properties"]["code"]["$ref"], "#/components/schemas/Code");
    let listed: Vec<&str> = schemas["Code"]["enum"].as_array().unwrap().iter().map(|c| c.as_str().unwrap()).collect();
    let all: Vec<&str> = Code::ALL.iter().map(|c| c.as_str()).collect();
    assert_eq!(listed, all);
}

#[tokio::test]
async fn every_response_carries_a_request_id() {
    let app = spawn_app().await;
    let r = app.get("/healthz", None).await;
    assert!(r.headers.get("x-request-id").is_some_and(|v| !v.is_empty()));
}

/// The layers import only what they may (ARCHITECTURE.md): the domain is pure, the store and
/// the service know nothing of HTTP, the other adapters never reach into the JSON handlers,
/// and no handler module imports another.
#[test]
fn the_layers_import_only_what_they_may() {
    fn sources(dir: &std::path::Path, out: &mut Vec<(String, String)>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                sources(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let name = path.strip_prefix(env!("CARGO_MANIFEST_DIR")).unwrap().to_string_lossy().into_owned();
                out.push((name, std::fs::read_to_string(&path).unwrap()));
            }
        }
    }
    let mut files = Vec::new();
    sources(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src"), &mut files);
    assert!(files.len() > 50, "found the sources");
    let rules: &[(&str, &[&str])] = &[
        (
            "src/domain/",
            &[
                "sqlx",
                "axum",
                "tokio",
                "reqwest",
                "std::fs",
                "std::net",
                "crate::store",
                "crate::service",
                "crate::http",
            ],
        ),
        ("src/store/", &["axum", "crate::service", "crate::http"]),
        ("src/service/", &["axum", "crate::http"]),
        ("src/jobs.rs", &["http::api"]),
        ("src/demo", &["http::api"]),
        ("src/main.rs", &["http::api"]),
        ("src/http/pages.rs", &["http::api", "api::"]),
    ];
    let mut broken = Vec::new();
    for (name, text) in &files {
        // Only code: comments may name what they like.
        let code: String = text.lines().filter(|l| !l.trim_start().starts_with("//")).collect::<Vec<_>>().join("\n");
        for (prefix, banned) in rules {
            if name.starts_with(prefix) {
                broken.extend(banned.iter().filter(|b| code.contains(*b)).map(|b| format!("{name} uses {b}")));
            }
        }
        if let Some(module) = name.strip_prefix("src/http/api/").and_then(|m| m.strip_suffix(".rs")) {
            for (other, _) in &files {
                let Some(other) = other.strip_prefix("src/http/api/").and_then(|m| m.strip_suffix(".rs")) else {
                    continue;
                };
                if other != module && other != "mod" {
                    for path in [format!("api::{other}"), format!("super::{other}")] {
                        if code.contains(&format!("{path}::")) || code.contains(&format!("{path};")) {
                            broken.push(format!("{name} imports the handler module {other}"));
                        }
                    }
                }
            }
        }
    }
    assert!(broken.is_empty(), "{broken:#?}");
}

/// The document says where each parameter goes as the router reads it: the names in a path's
/// template are path parameters (all of them, required), every other one is in the query;
/// and every operation lists the failures any operation can give (400, 408, 500, 503; 401
/// when signed in; 413, 415, 422 when it takes a body).
#[tokio::test]
async fn the_openapi_document_places_every_parameter_where_the_router_reads_it() {
    let app = spawn_app().await;
    let doc = app.get("/api/v1/openapi.json", None).await.body;
    let mut checked = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        let in_template: std::collections::BTreeSet<&str> =
            path.split('{').skip(1).filter_map(|s| s.split('}').next()).collect();
        for (method, op) in item.as_object().unwrap() {
            let params = op["parameters"].as_array().cloned().unwrap_or_default();
            let named: std::collections::BTreeSet<String> =
                params.iter().filter(|p| p["in"] == "path").map(|p| p["name"].as_str().unwrap().to_owned()).collect();
            let want: std::collections::BTreeSet<String> = in_template.iter().map(|s| (*s).to_owned()).collect();
            assert_eq!(named, want, "{method} {path}: path parameters");
            for p in &params {
                assert!(p["in"] == "path" || p["in"] == "query", "{method} {path}: {p}");
                if p["in"] == "path" {
                    assert_eq!(p["required"], true, "{method} {path}: {p}");
                }
            }
            let responses = op["responses"].as_object().unwrap();
            for status in ["400", "408", "500", "503"] {
                assert!(responses.contains_key(status), "{method} {path} lacks {status}");
            }
            if op["requestBody"].is_object() {
                for status in ["413", "415", "422"] {
                    assert!(responses.contains_key(status), "{method} {path} lacks {status}");
                }
            }
            if op["security"].as_array().is_some_and(|s| !s.is_empty()) {
                assert!(responses.contains_key("401"), "{method} {path} lacks 401");
            }
            checked += 1;
        }
    }
    assert!(checked > 70, "{checked} operations");
    // The two the hostile test named: resource availability's window is required, in the query.
    let params = doc["paths"]["/api/v1/resources/{id}/availability"]["get"]["parameters"].as_array().unwrap().clone();
    for name in ["from", "to"] {
        let p = params.iter().find(|p| p["name"] == name).unwrap();
        assert_eq!((&p["in"], &p["required"]), (&json!("query"), &json!(true)), "{p}");
    }
}
