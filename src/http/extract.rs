//! Extractors: request bodies, paths and queries whose rejections are problems, and who is
//! asking: the signed-in account ([`AuthUser`], a bad token is a 401, never an anonymous
//! user), an admin ([`AdminUser`]) and a kiosk device ([`KioskAuth`]).

use super::AppState;
use super::error::ApiError;
use crate::auth::{COOKIE_NAME, token_hash};
use crate::service::checkin::Kiosk;
use crate::service::powers::Admin;
use crate::service::{Code, Identity, ServiceError};
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
        let text = r.body_text();
        match r.status() {
            StatusCode::BAD_REQUEST => ApiError::new(Code::MalformedJson, text),
            StatusCode::UNPROCESSABLE_ENTITY => ApiError::new(Code::InvalidBody, text),
            StatusCode::UNSUPPORTED_MEDIA_TYPE => {
                ApiError::new(Code::UnsupportedMediaType, "send the body as JSON with Content-Type: application/json")
            }
            StatusCode::PAYLOAD_TOO_LARGE => ApiError::new(Code::PayloadTooLarge, "the request body is too large"),
            status => ApiError { status, ..ApiError::new(Code::BadRequest, text) },
        }
    }
}

/// Path parameters; a parameter that does not parse is a 400 `invalid_path`.
#[derive(Debug, FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct ApiPath<T>(pub T);

impl From<PathRejection> for ApiError {
    fn from(r: PathRejection) -> Self {
        ApiError::new(Code::InvalidPath, r.body_text())
    }
}

/// Query parameters; a malformed query is a 400 `invalid_query`.
#[derive(Debug, FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct ApiQuery<T>(pub T);

impl From<QueryRejection> for ApiError {
    fn from(r: QueryRejection) -> Self {
        ApiError::new(Code::InvalidQuery, r.body_text())
    }
}

/// A signed-in account (the [`Identity`] the use cases take), and the hash of its login
/// token (to sign out).
#[derive(Debug, Clone)]
pub struct AuthUser {
    pub identity: Identity,
    pub token_hash: String,
}

/// The token of a request: `Authorization: Bearer …` first, then the login cookie.
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
        let identity =
            crate::service::accounts::identify(&state.svc, &hash, state.clock.now_ms()).await?.ok_or_else(|| {
                ApiError::new(Code::InvalidToken, "the token is unknown, expired or revoked; sign in again")
            })?;
        Ok(AuthUser { identity, token_hash: hash })
    }
}

/// An account holding the `admin` role: only obtainable after the role check passed.
#[derive(Debug, Clone)]
pub struct AdminUser(pub Admin);

impl FromRequestParts<AppState> for AdminUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let user = AuthUser::from_request_parts(parts, state).await?;
        match user.identity.admin() {
            Some(admin) => Ok(AdminUser(admin)),
            None => Err(ServiceError::forbidden("this needs the admin role")
                .with_details(json!({ "required_role": "admin" }))
                .into()),
        }
    }
}

/// A paired, unrevoked kiosk (its device token in `Authorization: Bearer lbk_…`).
pub struct KioskAuth(pub Kiosk);

impl FromRequestParts<AppState> for KioskAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let token = request_token(parts);
        Ok(KioskAuth(crate::service::checkin::kiosk_for_token(&state.svc, token.as_deref()).await?))
    }
}
