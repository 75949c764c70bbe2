//! Registration, sign-in and sign-out, and "who am I".

use crate::auth::{COOKIE_NAME, new_token};
use crate::clock::rfc3339;
use crate::domain::ValidationErrors;
use crate::domain::identity::{DisplayName, Email, Locale, Password};
use crate::http::AppState;
use crate::http::error::{ApiError, ApiResult, Problem};
use crate::http::extract::{ApiJson, AuthUser};
use crate::store::StoreError;
use crate::store::accounts::{AccountRow, NewAccount, RoleGrantRow};
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(register)).routes(routes!(login)).routes(routes!(logout)).routes(routes!(me))
}

/// An account as others may see it (never the password hash).
#[derive(Debug, Serialize, ToSchema)]
pub struct AccountView {
    pub id: String,
    pub email: String,
    pub display_name: String,
    /// `zh-CN` or `en`.
    pub locale: String,
    /// Verified makers may book inn rooms.
    pub verified_maker: bool,
    /// RFC 3339, UTC.
    pub created_at: String,
}

impl From<&AccountRow> for AccountView {
    fn from(a: &AccountRow) -> Self {
        AccountView {
            id: a.id.clone(),
            email: a.email.clone(),
            display_name: a.display_name.clone(),
            locale: a.locale.clone(),
            verified_maker: a.verified_maker,
            created_at: rfc3339(a.created_at),
        }
    }
}

/// A role the account holds; operators hold it for one space each.
#[derive(Debug, Serialize, ToSchema)]
pub struct RoleView {
    /// `maker`, `operator`, `reviewer` or `admin`.
    pub role: String,
    /// The space an operator runs; absent for global roles.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub space_id: Option<String>,
}

impl From<&RoleGrantRow> for RoleView {
    fn from(g: &RoleGrantRow) -> Self {
        RoleView { role: g.role.clone(), space_id: g.space_id.clone() }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterRequest {
    email: String,
    /// At least 10 characters.
    password: String,
    display_name: String,
    /// `zh-CN` (default) or `en`.
    #[serde(default)]
    locale: Option<String>,
}

/// Creates a maker account.
#[utoipa::path(post, path = "/api/v1/auth/register", tag = "auth", request_body = RegisterRequest, responses(
    (status = 201, body = AccountView),
    (status = 409, body = Problem, description = "`email_taken`"),
    (status = 422, body = Problem, description = "`validation_failed`, with every invalid field"),
))]
async fn register(
    State(state): State<AppState>,
    ApiJson(req): ApiJson<RegisterRequest>,
) -> ApiResult<impl IntoResponse> {
    let mut errors = ValidationErrors::default();
    let email = errors.take(Email::parse("email", &req.email));
    let password = errors.take(Password::parse("password", &req.password));
    let name = errors.take(DisplayName::parse("display_name", &req.display_name));
    let locale = match req.locale.as_deref() {
        Some(l) => errors.take(Locale::parse("locale", l)),
        None => Some(Locale::default()),
    };
    // A field that did not parse left its error behind, so `errors` is what to answer.
    let (Some(email), Some(password), Some(name), Some(locale)) = (email, password, name, locale) else {
        return Err(errors.into());
    };

    let hash = state.hasher.hash(password.expose().to_owned()).await?;
    let account = state
        .db
        .create_account(&NewAccount {
            email: email.as_str(),
            password_hash: &hash,
            display_name: name.as_str(),
            locale: locale.as_str(),
            now: state.clock.now_ms(),
        })
        .await
        .map_err(|e| match e {
            StoreError::Unique(_) => {
                ApiError::conflict("email_taken", "an account with this e-mail address already exists")
            }
            other => other.into(),
        })?;
    tracing::info!(account_id = %account.id, "account registered");
    Ok((StatusCode::CREATED, Json(AccountView::from(&account))))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    email: String,
    password: String,
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

/// Signs in: returns a bearer token and sets the session cookie.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = LoginRequest, responses(
    (status = 200, body = LoginResponse),
    (status = 401, body = Problem, description = "`invalid_credentials`"),
))]
async fn login(State(state): State<AppState>, ApiJson(req): ApiJson<LoginRequest>) -> ApiResult<impl IntoResponse> {
    let bad =
        || ApiError::new(StatusCode::UNAUTHORIZED, "invalid_credentials", "the e-mail address or password is wrong");
    // A malformed address cannot have an account; still spend the hashing time.
    let account = match Email::parse("email", &req.email) {
        Ok(email) => state.db.account_by_email(email.as_str()).await?,
        Err(_) => None,
    };
    let ok = state.hasher.verify(req.password, account.as_ref().map(|a| a.password_hash.clone())).await?;
    let account = match account {
        Some(a) if ok && !a.disabled => a,
        _ => return Err(bad()),
    };

    let token = new_token()?;
    let now = state.clock.now_ms();
    let ttl_ms = i64::try_from(state.config.session_ttl.as_millis()).unwrap_or(i64::MAX);
    let expires_at = now.saturating_add(ttl_ms);
    state.db.insert_token(&crate::auth::token_hash(&token), &account.id, now, expires_at).await?;
    tracing::info!(account_id = %account.id, "signed in");

    let mut headers = HeaderMap::new();
    headers.insert(
        header::SET_COOKIE,
        session_cookie(&token, state.config.session_ttl.as_secs(), state.config.cookie_secure)?,
    );
    let body = LoginResponse {
        token,
        token_type: "Bearer",
        expires_at: rfc3339(expires_at),
        account: AccountView::from(&account),
    };
    Ok((headers, Json(body)))
}

fn session_cookie(value: &str, max_age_secs: u64, secure: bool) -> ApiResult<HeaderValue> {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{COOKIE_NAME}={value}; HttpOnly; SameSite=Lax; Path=/; Max-Age={max_age_secs}{secure}"
    ))
    .map_err(ApiError::internal)
}

/// Signs out: the token stops working at once and the cookie is cleared.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth", security(("bearer" = []), ("cookie" = [])), responses(
    (status = 204, description = "signed out"),
    (status = 401, body = Problem),
))]
async fn logout(State(state): State<AppState>, user: AuthUser) -> ApiResult<impl IntoResponse> {
    state.db.delete_token(&user.token_hash).await?;
    let mut headers = HeaderMap::new();
    headers.insert(header::SET_COOKIE, session_cookie("", 0, state.config.cookie_secure)?);
    Ok((StatusCode::NO_CONTENT, headers))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MeResponse {
    account: AccountView,
    roles: Vec<RoleView>,
    organisations: Vec<super::organisations::MyOrganisation>,
}

/// The signed-in account, its roles and its organisations.
#[utoipa::path(get, path = "/api/v1/me", tag = "auth", security(("bearer" = []), ("cookie" = [])), responses(
    (status = 200, body = MeResponse),
    (status = 401, body = Problem),
))]
async fn me(State(state): State<AppState>, user: AuthUser) -> ApiResult<Json<MeResponse>> {
    let organisations = super::organisations::mine(&state, &user.account.id).await?;
    Ok(Json(MeResponse {
        account: AccountView::from(&user.account),
        roles: user.roles.iter().map(RoleView::from).collect(),
        organisations,
    }))
}
