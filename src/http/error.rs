//! The one error type of the HTTP layer, the one place where a stable code becomes an HTTP
//! status ([`status_of`]), and the problem shape every API failure takes:
//! `{"error": {"code": "...", "message": "...", "details": {...}}}`.
//!
//! `code` is stable: clients switch on it. A 5xx body says nothing internal; the full
//! error chain is logged once, here, inside the request's span.

use crate::service::{Code, ServiceError};
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::Value;

/// The HTTP status of every stable code (the list is [`Code`]; this match is exhaustive,
/// so a new code cannot be answered without one).
pub fn status_of(code: Code) -> StatusCode {
    match code {
        Code::BadRequest | Code::MalformedJson | Code::InvalidPath | Code::InvalidQuery | Code::HttpError => {
            StatusCode::BAD_REQUEST
        }
        Code::Unauthenticated
        | Code::InvalidToken
        | Code::InvalidCredentials
        | Code::KioskUnauthenticated
        | Code::KioskRevoked
        | Code::InvalidPairingCode => StatusCode::UNAUTHORIZED,
        Code::Forbidden | Code::CrossOrigin => StatusCode::FORBIDDEN,
        Code::NotFound => StatusCode::NOT_FOUND,
        Code::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
        Code::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
        Code::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        Code::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        Code::InvalidBody
        | Code::Unprocessable
        | Code::ValidationFailed
        | Code::PolicyViolation
        | Code::SeriesTooLong
        | Code::WindowTooLong
        | Code::RruleUnbounded
        | Code::UnknownReference => StatusCode::UNPROCESSABLE_ENTITY,
        Code::TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
        Code::Conflict
        | Code::AlreadyExists
        | Code::SlugTaken
        | Code::EmailTaken
        | Code::LabelTaken
        | Code::TooLateToCancel
        | Code::TooLateToMove
        | Code::NotCancellable
        | Code::NotMovable
        | Code::NotASeries
        | Code::NotPending
        | Code::NotCheckable
        | Code::NotCheckedIn
        | Code::LastAdminGuard
        | Code::KioskAlreadyRevoked
        | Code::AlreadyEnded => StatusCode::CONFLICT,
        Code::Unavailable | Code::TryAgain | Code::NotReady => StatusCode::SERVICE_UNAVAILABLE,
        Code::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// The body of every error response.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Problem {
    pub error: ProblemBody,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ProblemBody {
    /// Stable, machine-readable: the table in this document's description lists every one.
    pub code: Code,
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
    pub code: Code,
    pub message: String,
    pub details: Option<Value>,
    /// The internal cause of a 5xx, logged and never sent.
    pub source: Option<anyhow::Error>,
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    /// A problem with `code`'s status.
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        Self { status: status_of(code), code, message: message.into(), details: None, source: None }
    }

    pub fn unauthenticated() -> Self {
        Self::new(Code::Unauthenticated, "sign in first: send a bearer token or the session cookie")
    }

    pub fn internal(source: impl Into<anyhow::Error>) -> Self {
        ServiceError::internal(source).into()
    }

    /// The problem response for a bare status (errors that arise outside handlers: an
    /// unknown route, 405, the timeout layer's 408, the body limit's 413). It keeps the
    /// status it was given.
    pub fn from_status(status: StatusCode) -> Self {
        let (code, message) = match status.as_u16() {
            400 => (Code::BadRequest, "the request could not be understood"),
            401 => (Code::Unauthenticated, "sign in first"),
            403 => (Code::Forbidden, "not allowed"),
            404 => (Code::NotFound, "no such resource or route"),
            405 => (Code::MethodNotAllowed, "this route does not accept that method"),
            408 => (Code::RequestTimeout, "the request took too long and was abandoned"),
            413 => (Code::PayloadTooLarge, "the request body is too large"),
            415 => (Code::UnsupportedMediaType, "send the body as application/json"),
            422 => (Code::Unprocessable, "the request body is not valid for this endpoint"),
            429 => (Code::TooManyRequests, "slow down"),
            503 => (Code::Unavailable, "the service is not ready"),
            s if s >= 500 => (Code::Internal, "an internal error occurred; it has been logged"),
            _ => (Code::HttpError, "the request failed"),
        };
        Self { status, ..Self::new(code, message) }
    }
}

impl From<ServiceError> for ApiError {
    fn from(e: ServiceError) -> Self {
        ApiError { status: status_of(e.code), code: e.code, message: e.message, details: e.details, source: e.source }
    }
}

impl From<crate::store::StoreError> for ApiError {
    fn from(e: crate::store::StoreError) -> Self {
        ServiceError::from(e).into()
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if self.status.is_server_error() {
            match &self.source {
                Some(source) => tracing::error!(code = %self.code, error = ?source, "request failed"),
                None => tracing::error!(code = %self.code, message = %self.message, "request failed"),
            }
        }
        // A throttled request is told when to come back, in the header too.
        let retry_after = (self.code == Code::TooManyRequests)
            .then(|| self.details.as_ref().and_then(|d| d["retry_after_secs"].as_u64()))
            .flatten();
        let body = Problem { error: ProblemBody { code: self.code, message: self.message, details: self.details } };
        let mut res = (self.status, axum::Json(body)).into_response();
        if let Some(secs) = retry_after {
            res.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        res.extensions_mut().insert(IsProblem);
        res
    }
}

/// Marks a response whose body already is a problem (or an error page), so the fallback
/// layer leaves it alone.
#[derive(Clone, Copy, Debug)]
pub(crate) struct IsProblem;

/// Middleware: any error response that is not already a problem (a 404 from an unknown
/// route, a 405, a 408 from the timeout layer, a 413 from the body limit) gets the
/// problem shape, with the same status.
/// The request's `Accept` names `text/html`: a browser asking for a page.
pub fn accepts_html(headers: &axum::http::HeaderMap) -> bool {
    headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|a| a.contains("text/html"))
}

pub async fn problem_for_bare_errors(req: Request, next: Next) -> Response {
    // A browser asking for a page (not the API, not the kiosk's files) is answered with an
    // error page in its language, also when axum itself refused the request (a path that
    // does not parse, a method the page does not take).
    let page_for = {
        let path = req.uri().path();
        (accepts_html(req.headers()) && !path.starts_with("/api/") && !path.starts_with("/kiosk/"))
            .then(|| req.uri().query().map(str::to_owned))
    };
    let res = next.run(req).await;
    let status = res.status();
    if (status.is_client_error() || status.is_server_error()) && res.extensions().get::<IsProblem>().is_none() {
        if let Some(query) = page_for {
            let mut page = super::pages::PageError::for_status(status, query.as_deref()).into_response();
            *page.status_mut() = status;
            return page;
        }
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
    ApiError::new(Code::NotFound, "no such route")
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
    use crate::store::StoreError;

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

    #[test]
    fn a_bare_status_keeps_its_status_and_gets_the_code_of_that_status() {
        for code in Code::ALL {
            let status = status_of(*code);
            let bare = ApiError::from_status(status);
            assert_eq!(bare.status, status);
            if bare.code != Code::HttpError {
                assert_eq!(status_of(bare.code), status, "{code} -> {}", bare.code);
            }
        }
        assert_eq!(ApiError::from_status(StatusCode::IM_A_TEAPOT).status, StatusCode::IM_A_TEAPOT);
    }
}
