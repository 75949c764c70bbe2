//! The one error type of the HTTP layer, and the problem shape every failure takes:
//! `{"error": {"code": "...", "message": "...", "details": {...}}}`.
//!
//! `code` is stable: clients switch on it. A 5xx body says nothing internal; the full
//! error chain is logged once, here, inside the request's span.

use crate::domain::ValidationErrors;
use crate::store::StoreError;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::{Value, json};

/// The body of every error response.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Problem {
    pub error: ProblemBody,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ProblemBody {
    /// Stable, machine-readable: `validation_failed`, `conflict`, `not_found`, ...
    pub code: String,
    /// Human-readable, in English.
    pub message: String,
    /// Structured detail, when there is any (for example the invalid fields).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Object)]
    pub details: Option<Value>,
}

/// An error on its way to becoming a problem response.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub details: Option<Value>,
    /// The internal cause of a 5xx, logged and never sent.
    pub source: Option<anyhow::Error>,
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self { status, code, message: message.into(), details: None, source: None }
    }

    pub fn with_details(mut self, details: Value) -> Self {
        self.details = Some(details);
        self
    }

    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    pub fn unauthenticated() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            "sign in first: send a bearer token or the session cookie",
        )
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", format!("{what} not found"))
    }

    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, code, message)
    }

    /// One field is invalid; for several, convert a [`ValidationErrors`].
    pub fn invalid_field(field: &str, code: &str, message: &str) -> Self {
        ValidationErrors(vec![crate::domain::FieldError::new(field, code, message)]).into()
    }

    pub fn internal(source: impl Into<anyhow::Error>) -> Self {
        Self {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            code: "internal",
            message: "an internal error occurred; it has been logged".into(),
            details: None,
            source: Some(source.into()),
        }
    }

    /// The problem response for a bare status (used for errors that arise outside handlers).
    pub fn from_status(status: StatusCode) -> Self {
        let (code, message) = match status.as_u16() {
            400 => ("bad_request", "the request could not be understood"),
            401 => ("unauthenticated", "sign in first"),
            403 => ("forbidden", "not allowed"),
            404 => ("not_found", "no such resource or route"),
            405 => ("method_not_allowed", "this route does not accept that method"),
            408 => ("request_timeout", "the request took too long and was abandoned"),
            413 => ("payload_too_large", "the request body is too large"),
            415 => ("unsupported_media_type", "send the body as application/json"),
            422 => ("unprocessable", "the request body is not valid for this endpoint"),
            429 => ("too_many_requests", "slow down"),
            503 => ("unavailable", "the service is not ready"),
            s if s >= 500 => ("internal", "an internal error occurred; it has been logged"),
            _ => ("http_error", "the request failed"),
        };
        Self::new(status, code, message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if self.status.is_server_error() {
            match &self.source {
                Some(source) => tracing::error!(code = self.code, error = ?source, "request failed"),
                None => tracing::error!(code = self.code, message = %self.message, "request failed"),
            }
        }
        let body =
            Problem { error: ProblemBody { code: self.code.to_owned(), message: self.message, details: self.details } };
        let mut res = (self.status, axum::Json(body)).into_response();
        res.extensions_mut().insert(IsProblem);
        res
    }
}

/// Marks a response whose body already is a problem, so the fallback layer leaves it alone.
#[derive(Clone, Copy, Debug)]
struct IsProblem;

impl From<ValidationErrors> for ApiError {
    fn from(v: ValidationErrors) -> Self {
        let n = v.0.len();
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            format!("{n} field{} invalid", if n == 1 { " is" } else { "s are" }),
        )
        .with_details(json!({ "fields": v.0 }))
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => ApiError::not_found("the requested item"),
            StoreError::Overlap => ApiError::conflict("conflict", "the unit is already booked for an overlapping time"),
            StoreError::Unique(what) => {
                ApiError::conflict("already_exists", "an item with the same unique key already exists")
                    .with_details(json!({ "constraint": what }))
            }
            StoreError::Retry(_) => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "try_again",
                "the database had to abandon the request because of a concurrent one; send it again",
            ),
            StoreError::ForeignKey(_) => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "unknown_reference",
                "the request refers to an item that does not exist",
            ),
            other => ApiError::internal(other),
        }
    }
}

impl From<crate::auth::AuthError> for ApiError {
    fn from(e: crate::auth::AuthError) -> Self {
        ApiError::internal(e)
    }
}

/// Middleware: any error response that is not already a problem (a 404 from an unknown
/// route, a 405, a 408 from the timeout layer, a 413 from the body limit) gets the
/// problem shape, with the same status.
pub async fn problem_for_bare_errors(req: Request, next: Next) -> Response {
    let res = next.run(req).await;
    let status = res.status();
    if (status.is_client_error() || status.is_server_error()) && res.extensions().get::<IsProblem>().is_none() {
        let mut fresh = ApiError::from_status(status).into_response();
        if let Some(allow) = res.headers().get(header::ALLOW) {
            fresh.headers_mut().insert(header::ALLOW, allow.clone());
        }
        if let Some(www) = res.headers().get(header::WWW_AUTHENTICATE) {
            fresh.headers_mut().insert(header::WWW_AUTHENTICATE, www.clone());
        }
        return fresh;
    }
    res
}

/// Fallback for routes that do not exist.
pub async fn unknown_route() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such route")
}

/// The response for a panic inside a handler: a bug, logged, with a generic body.
pub fn panic_response(panic: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let detail = panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .unwrap_or_else(|| "unknown panic".into());
    let mut res = ApiError::internal(anyhow::anyhow!("handler panicked: {detail}")).into_response();
    res.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn body_of(res: Response) -> serde_json::Value {
        let bytes = axum::body::to_bytes(res.into_body(), 64 * 1024).await.unwrap();
        serde_json::from_slice(&bytes).unwrap()
    }

    #[tokio::test]
    async fn a_panic_becomes_a_generic_500_problem() {
        let res = panic_response(Box::new("secret table accounts_v2 is missing"));
        assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let body = body_of(res).await;
        assert_eq!(body["error"]["code"], "internal");
        assert!(!body.to_string().contains("accounts_v2"), "{body}");
    }

    #[tokio::test]
    async fn an_internal_error_says_nothing_internal() {
        let res = ApiError::internal(anyhow::anyhow!("connection to 10.0.0.7:5432 refused")).into_response();
        assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let body = body_of(res).await;
        assert_eq!(body["error"]["code"], "internal");
        assert!(!body.to_string().contains("10.0.0.7"), "{body}");
    }

    #[tokio::test]
    async fn a_store_overlap_is_a_409_not_a_500() {
        let res = ApiError::from(StoreError::Overlap).into_response();
        assert_eq!(res.status(), StatusCode::CONFLICT);
        assert_eq!(body_of(res).await["error"]["code"], "conflict");
    }
}
