//! Trainings (safety inductions and the like): operators define them, grant them to makers
//! with an expiry, and revoke them. Resources require them; the booking check runs on the
//! server. Verified makers (for maker-inn rooms) are set here too.

use crate::domain::calendar::{local_day, parse_instant};
use crate::domain::catalog::name;
use crate::domain::identity::{Email, Role, Slug};
use crate::domain::{FieldError, ValidationErrors};
use crate::http::AppState;
use crate::http::error::{ApiError, ApiResult, Problem};
use crate::http::extract::{ApiJson, ApiPath, ApiQuery, AuthUser};
use crate::store::StoreError;
use crate::store::trainings::TrainingRow;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create, list))
        .routes(routes!(grants, grant))
        .routes(routes!(revoke))
        .routes(routes!(set_verified))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TrainingView {
    id: String,
    slug: String,
    name_zh: String,
    name_en: String,
    /// The space that runs it; absent for district-wide trainings.
    space_id: Option<String>,
}

impl From<&TrainingRow> for TrainingView {
    fn from(t: &TrainingRow) -> Self {
        TrainingView {
            id: t.id.clone(),
            slug: t.slug.clone(),
            name_zh: t.name_zh.clone(),
            name_en: t.name_en.clone(),
            space_id: t.space_id.clone(),
        }
    }
}

fn any_operator(user: &AuthUser) -> ApiResult<()> {
    if user.is_admin() || user.has_role(Role::Operator) {
        Ok(())
    } else {
        Err(ApiError::forbidden("this needs the operator or admin role"))
    }
}

/// A training scoped to a space is managed by that space's operators; others by any operator.
fn may_manage(user: &AuthUser, t: &TrainingRow) -> ApiResult<()> {
    any_operator(user)?;
    match &t.space_id {
        Some(space) if !user.is_admin() && !user.operated_spaces().any(|s| s == space) => {
            Err(ApiError::forbidden("this training belongs to a space you do not operate"))
        }
        _ => Ok(()),
    }
}

async fn find(state: &AppState, slug: &str) -> ApiResult<TrainingRow> {
    state.db.training(slug).await.map_err(|e| match e {
        StoreError::NotFound => ApiError::not_found("training"),
        other => other.into(),
    })
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTraining {
    slug: String,
    name_zh: String,
    name_en: String,
    /// The space that runs it (id or slug); absent for a district-wide training.
    #[serde(default)]
    space: Option<String>,
}

/// Defines a training.
#[utoipa::path(post, path = "/api/v1/trainings", tag = "trainings", request_body = CreateTraining, security(("bearer" = [])),
    responses((status = 201, body = TrainingView), (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn create(
    State(state): State<AppState>,
    user: AuthUser,
    ApiJson(req): ApiJson<CreateTraining>,
) -> ApiResult<impl IntoResponse> {
    any_operator(&user)?;
    let mut e = ValidationErrors::default();
    let slug = e.take(Slug::parse("slug", &req.slug));
    let zh = e.take(name("name_zh", &req.name_zh));
    let en = e.take(name("name_en", &req.name_en));
    let space = match req.space.as_deref() {
        None => None,
        Some(s) => match state.db.space(s).await {
            Ok(sp) => Some(sp.id),
            Err(StoreError::NotFound) => {
                e.push(FieldError::new("space", "unknown_space", "no space has this id or slug"));
                None
            }
            Err(err) => return Err(err.into()),
        },
    };
    let (Some(slug), Some(zh), Some(en)) = (slug, zh, en) else { return Err(e.into()) };
    e.finish()?;
    let t = state.db.create_training(slug.as_str(), &zh, &en, space.as_deref(), state.clock.now_ms()).await.map_err(
        |err| match err {
            StoreError::Unique(_) => ApiError::conflict("slug_taken", "another training already uses this slug"),
            other => other.into(),
        },
    )?;
    Ok((StatusCode::CREATED, Json(TrainingView::from(&t))))
}

/// Every training.
#[utoipa::path(get, path = "/api/v1/trainings", tag = "trainings", security(("bearer" = [])), responses((status = 200, body = Vec<TrainingView>)))]
async fn list(State(state): State<AppState>, _user: AuthUser) -> ApiResult<Json<Vec<TrainingView>>> {
    Ok(Json(state.db.trainings().await?.iter().map(TrainingView::from).collect()))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct GrantView {
    account_id: String,
    email: String,
    display_name: String,
    granted_at: String,
    /// Absent: does not expire.
    expires_at: Option<String>,
}

/// Who holds a training now.
#[utoipa::path(get, path = "/api/v1/trainings/{slug}/grants", tag = "trainings", params(("slug" = String, Path)), security(("bearer" = [])),
    responses((status = 200, body = Vec<GrantView>), (status = 403, body = Problem)))]
async fn grants(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(slug): ApiPath<String>,
) -> ApiResult<Json<Vec<GrantView>>> {
    let t = find(&state, &slug).await?;
    may_manage(&user, &t)?;
    Ok(Json(
        state
            .db
            .training_grants(&t.id)
            .await?
            .into_iter()
            .map(|g| GrantView {
                account_id: g.account_id,
                email: g.email,
                display_name: g.display_name,
                granted_at: crate::clock::rfc3339(g.granted_at),
                expires_at: g.expires_at.map(crate::clock::rfc3339),
            })
            .collect(),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GrantRequest {
    /// The maker's e-mail address.
    email: String,
    /// RFC 3339, or a date (valid through the end of that day, Asia/Shanghai); absent: no expiry.
    #[serde(default)]
    expires: Option<String>,
}

/// Grants a training to a maker (replacing an earlier grant of it).
#[utoipa::path(post, path = "/api/v1/trainings/{slug}/grants", tag = "trainings", request_body = GrantRequest, params(("slug" = String, Path)),
    security(("bearer" = [])), responses((status = 201, body = Vec<GrantView>), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn grant(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(slug): ApiPath<String>,
    ApiJson(req): ApiJson<GrantRequest>,
) -> ApiResult<impl IntoResponse> {
    let t = find(&state, &slug).await?;
    may_manage(&user, &t)?;
    let mut e = ValidationErrors::default();
    let email = e.take(Email::parse("email", &req.email));
    let expires = match req.expires.as_deref() {
        None => None,
        Some(x) => match parse_instant("expires", x) {
            Ok(ms) => Some(ms),
            Err(_) => match chrono::NaiveDate::parse_from_str(x.trim(), "%Y-%m-%d") {
                Ok(d) => Some(local_day(chrono_tz::Asia::Shanghai, d).end()),
                Err(_) => {
                    e.push(FieldError::new("expires", "invalid_time", "must be RFC 3339 or a date such as 2027-06-30"));
                    None
                }
            },
        },
    };
    let Some(email) = email else { return Err(e.into()) };
    e.finish()?;
    let account = state
        .db
        .account_by_email(email.as_str())
        .await?
        .ok_or_else(|| ApiError::invalid_field("email", "unknown_account", "no account has this e-mail address"))?;
    state.db.grant_training(&t.id, &account.id, &user.account.id, expires, state.clock.now_ms()).await?;
    tracing::info!(training = %t.slug, account = %account.id, by = %user.account.id, "training granted");
    Ok((StatusCode::CREATED, grants(State(state), user, ApiPath(t.slug)).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct RevokeQuery {
    /// Why (kept with the grant).
    #[serde(default)]
    reason: Option<String>,
}

/// Revokes a maker's training. Their next booking that needs it is refused.
#[utoipa::path(delete, path = "/api/v1/trainings/{slug}/grants/{account_id}", tag = "trainings", params(("slug" = String, Path), ("account_id" = String, Path), RevokeQuery),
    security(("bearer" = [])), responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn revoke(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath((slug, account_id)): ApiPath<(String, String)>,
    ApiQuery(q): ApiQuery<RevokeQuery>,
) -> ApiResult<StatusCode> {
    let t = find(&state, &slug).await?;
    may_manage(&user, &t)?;
    let reason = q.reason.unwrap_or_else(|| "revoked".into());
    if state.db.revoke_training(&t.id, &account_id, &user.account.id, &reason, state.clock.now_ms()).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found("training grant"))
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifiedRequest {
    verified: bool,
}

/// Marks a maker as verified (eligible for maker-inn rooms), or not. Operators and admins.
#[utoipa::path(post, path = "/api/v1/accounts/{id}/verified", tag = "trainings", request_body = VerifiedRequest, params(("id" = String, Path)),
    security(("bearer" = [])), responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn set_verified(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<VerifiedRequest>,
) -> ApiResult<StatusCode> {
    any_operator(&user)?;
    state.db.set_verified(&id, req.verified).await.map_err(|e| match e {
        StoreError::NotFound => ApiError::not_found("account"),
        other => other.into(),
    })?;
    Ok(StatusCode::NO_CONTENT)
}
