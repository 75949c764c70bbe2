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

/// The `Set-Cookie` value of the login cookie (`value` empty and `max_age_secs` 0 clear it).
///
/// # Errors
/// A token with characters a header cannot carry (never one of ours).
pub fn login_cookie(
    value: &str,
    max_age_secs: u64,
    secure: bool,
) -> Result<axum::http::HeaderValue, axum::http::header::InvalidHeaderValue> {
    let secure = if secure { "; Secure" } else { "" };
    axum::http::HeaderValue::from_str(&format!(
        "{COOKIE_NAME}={value}; HttpOnly; SameSite=Lax; Path=/; Max-Age={max_age_secs}{secure}"
    ))
}

/// The value of cookie `name` in a request.
pub fn cookie<'a>(parts: &'a Parts, name: &str) -> Option<&'a str> {
    parts
        .headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// The token of a request: `Authorization: Bearer …` first, then the login cookie.
pub fn request_token(parts: &Parts) -> Option<String> {
    bearer_token(parts).or_else(|| cookie_token(parts))
}

/// The token of `Authorization: Bearer …`.
fn bearer_token(parts: &Parts) -> Option<String> {
    if let Some(v) = parts.headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) {
        let mut it = v.splitn(2, ' ');
        if let (Some(scheme), Some(token)) = (it.next(), it.next())
            && scheme.eq_ignore_ascii_case("bearer")
        {
            return Some(token.trim().to_owned());
        }
    }
    None
}

/// The login cookie's token.
pub fn cookie_token(parts: &Parts) -> Option<String> {
    cookie(parts, COOKIE_NAME).map(str::to_owned)
}

impl FromRequestParts<AppState> for AuthUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let token = match bearer_token(parts) {
            Some(t) => t,
            None => {
                let t = cookie_token(parts).ok_or_else(ApiError::unauthenticated)?;
                // The cookie rides along with any request the browser makes, from any site: a
                // change it carries must come from a page of this server.
                if !parts.method.is_safe() && !same_origin(parts) {
                    return Err(ApiError::new(
                        Code::CrossOrigin,
                        "a change signed in by the cookie must come from this server's own pages \
                         (its Origin is another site's, or missing); send a bearer token instead",
                    ));
                }
                t
            }
        };
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

/// Whether a request comes from a page of this server: `Sec-Fetch-Site: same-origin`, or an
/// `Origin` (else a `Referer`) whose host and port are the request's `Host`. A request that
/// names neither is not taken for same-origin.
pub fn same_origin(parts: &Parts) -> bool {
    let text = |name: header::HeaderName| parts.headers.get(name).and_then(|v| v.to_str().ok());
    if text(header::HeaderName::from_static("sec-fetch-site")) == Some("same-origin") {
        return true;
    }
    let Some(host) = text(header::HOST).or_else(|| parts.uri.authority().map(axum::http::uri::Authority::as_str))
    else {
        return false;
    };
    let from = text(header::ORIGIN).or_else(|| text(header::REFERER));
    from.and_then(|o| o.parse::<axum::http::Uri>().ok())
        .and_then(|u| u.authority().map(|a| a.as_str().eq_ignore_ascii_case(host)))
        .unwrap_or(false)
}

/// The address a request came from: the peer of the connection, or, with
/// `trust_forwarded_for`, the last `X-Forwarded-For` entry (what the one proxy in front saw).
/// `None` when neither is known.
#[derive(Debug, Clone, Copy)]
pub struct ClientAddr(pub Option<std::net::IpAddr>);

impl FromRequestParts<AppState> for ClientAddr {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        if state.svc.config.trust_forwarded_for
            && let Some(ip) = parts
                .headers
                .get_all("x-forwarded-for")
                .iter()
                .filter_map(|v| v.to_str().ok())
                .flat_map(|v| v.split(','))
                .next_back()
                .and_then(|s| s.trim().parse().ok())
        {
            return Ok(ClientAddr(Some(ip)));
        }
        let peer = parts.extensions.get::<axum::extract::ConnectInfo<std::net::SocketAddr>>().map(|c| c.0.ip());
        Ok(ClientAddr(peer))
    }
}
