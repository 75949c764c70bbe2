//! Registration, sign-in and sign-out, and "who am I"; the rules live in
//! [`crate::service::accounts`]. The login token is also set as an `HttpOnly` cookie.

use crate::clock::rfc3339;
use crate::http::AppState;
use crate::http::error::{ApiError, ApiResult, Problem};
use crate::http::extract::{ApiJson, AuthUser, ClientAddr};
use crate::http::views::{AccountView, MyOrganisation, RoleView};
use crate::service::accounts::{self, LoginRequest, RegisterRequest};
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::IntoResponse;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(register)).routes(routes!(login)).routes(routes!(logout)).routes(routes!(me))
}

/// Creates a maker account.
#[utoipa::path(post, path = "/api/v1/auth/register", tag = "auth", request_body = RegisterRequest, responses(
    (status = 201, body = AccountView),
    (status = 409, body = Problem, description = "`email_taken`"),
    (status = 422, body = Problem, description = "`validation_failed`, with every invalid field"),
    (status = 429, body = Problem, description = "`too_many_requests`: too many new accounts from this address; `Retry-After`"),
))]
async fn register(
    State(state): State<AppState>,
    ClientAddr(from): ClientAddr,
    ApiJson(req): ApiJson<RegisterRequest>,
) -> ApiResult<impl IntoResponse> {
    let account = accounts::register_from(&state.svc, &req, from, state.clock.now_ms()).await?;
    Ok((StatusCode::CREATED, Json(AccountView::from(&account))))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LoginResponse {
    /// Send as `Authorization: Bearer <token>`. The same token is set as an HttpOnly cookie.
    token: String,
    token_type: &'static str,
    /// RFC 3339, UTC.
    expires_at: String,
    account: AccountView,
}

/// Signs in: returns a bearer token and sets the login cookie.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = LoginRequest, responses(
    (status = 200, body = LoginResponse),
    (status = 401, body = Problem, description = "`invalid_credentials`"),
    (status = 429, body = Problem, description = "`too_many_requests`: failed sign-ins back off; `Retry-After` says when to try again"),
))]
async fn login(
    State(state): State<AppState>,
    ClientAddr(from): ClientAddr,
    ApiJson(req): ApiJson<LoginRequest>,
) -> ApiResult<impl IntoResponse> {
    let l = accounts::login(&state.svc, req, from, state.clock.now_ms()).await?;
    let config = &state.svc.config;
    let mut headers = HeaderMap::new();
    headers.insert(header::SET_COOKIE, login_cookie(&l.token, config.session_ttl.as_secs(), config.cookie_secure)?);
    let body = LoginResponse {
        token: l.token,
        token_type: "Bearer",
        expires_at: rfc3339(l.expires_at),
        account: AccountView::from(&l.account),
    };
    Ok((headers, Json(body)))
}

fn login_cookie(value: &str, max_age_secs: u64, secure: bool) -> ApiResult<HeaderValue> {
    crate::http::extract::login_cookie(value, max_age_secs, secure).map_err(ApiError::internal)
}

/// Signs out: the token stops working at once and the cookie is cleared.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth", security(("bearer" = []), ("cookie" = [])), responses(
    (status = 204, description = "signed out"),
    (status = 401, body = Problem),
))]
async fn logout(State(state): State<AppState>, user: AuthUser) -> ApiResult<impl IntoResponse> {
    accounts::logout(&state.svc, &user.identity, &user.token_hash).await?;
    let mut headers = HeaderMap::new();
    headers.insert(header::SET_COOKIE, login_cookie("", 0, state.svc.config.cookie_secure)?);
    Ok((StatusCode::NO_CONTENT, headers))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MeResponse {
    account: AccountView,
    roles: Vec<RoleView>,
    organisations: Vec<MyOrganisation>,
}

/// The signed-in account, its roles and its organisations.
#[utoipa::path(get, path = "/api/v1/me", tag = "auth", security(("bearer" = []), ("cookie" = [])), responses(
    (status = 200, body = MeResponse),
    (status = 401, body = Problem),
))]
async fn me(State(state): State<AppState>, user: AuthUser) -> ApiResult<Json<MeResponse>> {
    let organisations = crate::service::organisations::mine(&state.svc, &user.identity).await?;
    Ok(Json(MeResponse {
        account: AccountView::from(&user.identity.account),
        roles: user.identity.roles.iter().map(RoleView::from).collect(),
        organisations: organisations.iter().map(MyOrganisation::of).collect(),
    }))
}
