//! Extractors: request bodies, paths and queries whose rejections are problems, and
//! identity. A bad token is a 401, never an anonymous user.

use super::AppState;
use super::error::ApiError;
use crate::auth::{COOKIE_NAME, token_hash};
use crate::domain::identity::Role;
use crate::store::accounts::{AccountRow, RoleGrantRow};
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts};
use axum::http::{StatusCode, header, request::Parts};
use serde_json::json;

/// A JSON body. Malformed JSON is a 400 `malformed_json`; unknown fields, missing fields
/// and wrong types are a 422 `invalid_body`; a missing content type is a 415; a body over
/// the limit is a 413.
#[derive(Debug, FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct ApiJson<T>(pub T);

impl From<JsonRejection> for ApiError {
    fn from(r: JsonRejection) -> Self {
        let status = r.status();
        let text = r.body_text();
        match status {
            StatusCode::BAD_REQUEST => ApiError::bad_request("malformed_json", text),
            StatusCode::UNPROCESSABLE_ENTITY => ApiError::new(status, "invalid_body", text),
            StatusCode::UNSUPPORTED_MEDIA_TYPE => ApiError::new(
                status,
                "unsupported_media_type",
                "send the body as JSON with Content-Type: application/json",
            ),
            StatusCode::PAYLOAD_TOO_LARGE => {
                ApiError::new(status, "payload_too_large", "the request body is too large")
            }
            _ => ApiError::new(status, "bad_request", text),
        }
    }
}

/// Path parameters; a parameter that does not parse is a 400 `invalid_path`.
#[derive(Debug, FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct ApiPath<T>(pub T);

impl From<PathRejection> for ApiError {
    fn from(r: PathRejection) -> Self {
        ApiError::bad_request("invalid_path", r.body_text())
    }
}

/// Query parameters; a malformed query is a 400 `invalid_query`.
#[derive(Debug, FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct ApiQuery<T>(pub T);

impl From<QueryRejection> for ApiError {
    fn from(r: QueryRejection) -> Self {
        ApiError::bad_request("invalid_query", r.body_text())
    }
}

/// A signed-in account, with its roles.
#[derive(Debug, Clone)]
pub struct AuthUser {
    pub account: AccountRow,
    pub roles: Vec<RoleGrantRow>,
    pub token_hash: String,
    /// The catalog's version stamp, read with the session (see `http::catalog_cache`).
    pub catalog_version: i64,
}

impl AuthUser {
    pub fn has_role(&self, role: Role) -> bool {
        self.roles.iter().any(|g| g.role == role.as_str())
    }

    pub fn is_admin(&self) -> bool {
        self.has_role(Role::Admin)
    }

    /// The spaces this account operates.
    pub fn operated_spaces(&self) -> impl Iterator<Item = &str> {
        self.roles.iter().filter(|g| g.role == Role::Operator.as_str()).filter_map(|g| g.space_id.as_deref())
    }
}

/// The token of a request: `Authorization: Bearer …` first, then the session cookie.
pub fn request_token(parts: &Parts) -> Option<String> {
    if let Some(v) = parts.headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) {
        let mut it = v.splitn(2, ' ');
        if let (Some(scheme), Some(token)) = (it.next(), it.next())
            && scheme.eq_ignore_ascii_case("bearer")
        {
            return Some(token.trim().to_owned());
        }
    }
    parts
        .headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == COOKIE_NAME)
        .map(|(_, v)| v.to_owned())
}

impl FromRequestParts<AppState> for AuthUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let token = request_token(parts).ok_or_else(ApiError::unauthenticated)?;
        let hash = token_hash(&token);
        let now = state.clock.now_ms();
        let (account, roles, catalog_version) = state.db.login_for_token(&hash, now).await?.ok_or_else(|| {
            ApiError::new(
                StatusCode::UNAUTHORIZED,
                "invalid_token",
                "the token is unknown, expired or revoked; sign in again",
            )
        })?;
        Ok(AuthUser { account, roles, token_hash: hash, catalog_version })
    }
}

/// An account holding the `admin` role: only obtainable after the role check passed.
#[derive(Debug, Clone)]
pub struct AdminUser(pub AuthUser);

impl FromRequestParts<AppState> for AdminUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let user = AuthUser::from_request_parts(parts, state).await?;
        if user.is_admin() {
            Ok(AdminUser(user))
        } else {
            Err(ApiError::forbidden("this needs the admin role").with_details(json!({ "required_role": "admin" })))
        }
    }
}
