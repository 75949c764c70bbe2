//! Liveness, readiness, version and the OpenAPI document.

use crate::http::AppState;
use crate::http::error::{ApiError, ApiResult};
use crate::service::Code;
use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(healthz))
        .routes(routes!(readyz))
        .routes(routes!(version))
        .routes(routes!(openapi))
}

#[derive(Serialize, ToSchema)]
pub struct Health {
    /// `ok` while the process is up.
    status: &'static str,
}

/// The process is up.
#[utoipa::path(get, path = "/healthz", tag = "system", responses((status = 200, body = Health)))]
async fn healthz() -> Json<Health> {
    Json(Health { status: "ok" })
}

#[derive(Serialize, ToSchema)]
pub struct Ready {
    /// `ready` when the database answers and its schema is current.
    status: &'static str,
    backend: &'static str,
    schema_version: i64,
}

/// The database answers and every migration embedded in this binary is applied.
#[utoipa::path(get, path = "/readyz", tag = "system", responses(
    (status = 200, body = Ready),
    (status = 503, body = crate::http::error::Problem, description = "database unreachable or schema behind (`not_ready`)"),
))]
async fn readyz(State(state): State<AppState>) -> ApiResult<Json<Ready>> {
    let db = &state.svc.db;
    let expected = db.expected_schema_version();
    let not_ready = |reason: String| ApiError {
        details: Some(json!({ "expected_schema_version": expected })),
        ..ApiError::new(Code::NotReady, reason)
    };
    match db.applied_schema_version().await {
        Ok(Some(v)) if v >= expected => Ok(Json(Ready { status: "ready", backend: db.backend(), schema_version: v })),
        Ok(applied) => Err(not_ready(format!("schema is at {applied:?}, this binary needs {expected}"))),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check: database does not answer");
            Err(not_ready("the database does not answer".into()))
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct Version {
    name: &'static str,
    version: &'static str,
    api: &'static str,
    backend: &'static str,
    schema_version: i64,
}

/// The running version of labinn.
#[utoipa::path(get, path = "/api/v1/version", tag = "system", responses((status = 200, body = Version)))]
async fn version(State(state): State<AppState>) -> Json<Version> {
    Json(Version {
        name: env!("CARGO_PKG_NAME"),
        version: env!("CARGO_PKG_VERSION"),
        api: "v1",
        backend: state.svc.db.backend(),
        schema_version: state.svc.db.expected_schema_version(),
    })
}

/// This document: OpenAPI 3.1, generated from the code.
#[utoipa::path(get, path = "/api/v1/openapi.json", tag = "system", responses((status = 200, description = "OpenAPI 3.1 document", content_type = "application/json")))]
async fn openapi(State(state): State<AppState>) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], state.openapi_json.as_str().to_owned())
}
