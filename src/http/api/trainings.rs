//! Trainings (safety inductions and the like): operators define them, grant them to makers
//! with an expiry, and revoke them; verified makers (for maker-inn rooms) are set here too.
//! The rules live in [`crate::service::trainings`].

use crate::http::AppState;
use crate::http::error::{ApiResult, Problem};
use crate::http::extract::{ApiJson, ApiPath, ApiQuery, AuthUser};
use crate::service::trainings::{self, CreateTraining, GrantTraining};
use crate::store::trainings::{TrainingGrantRow, TrainingRow};
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
        .routes(routes!(lift_lockout))
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
            space_id: t.space_id.as_ref().map(ToString::to_string),
        }
    }
}

/// Defines a training.
#[utoipa::path(post, path = "/api/v1/trainings", tag = "trainings", request_body = CreateTraining, security(("bearer" = [])),
    responses((status = 201, body = TrainingView), (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn create(
    State(state): State<AppState>,
    user: AuthUser,
    ApiJson(req): ApiJson<CreateTraining>,
) -> ApiResult<impl IntoResponse> {
    let t = trainings::create(&state.svc, &user.identity, &req, state.clock.now_ms()).await?;
    Ok((StatusCode::CREATED, Json(TrainingView::from(&t))))
}

/// Every training.
#[utoipa::path(get, path = "/api/v1/trainings", tag = "trainings", security(("bearer" = [])), responses((status = 200, body = Vec<TrainingView>)))]
async fn list(State(state): State<AppState>, user: AuthUser) -> ApiResult<Json<Vec<TrainingView>>> {
    Ok(Json(trainings::list(&state.svc, &user.identity).await?.iter().map(TrainingView::from).collect()))
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

fn grant_views(rows: Vec<TrainingGrantRow>) -> Vec<GrantView> {
    rows.into_iter()
        .map(|g| GrantView {
            account_id: g.account_id.to_string(),
            email: g.email,
            display_name: g.display_name,
            granted_at: crate::clock::rfc3339(g.granted_at),
            expires_at: g.expires_at.map(crate::clock::rfc3339),
        })
        .collect()
}

/// Who holds a training now.
#[utoipa::path(get, path = "/api/v1/trainings/{slug}/grants", tag = "trainings", params(("slug" = String, Path)), security(("bearer" = [])),
    responses((status = 200, body = Vec<GrantView>), (status = 403, body = Problem)))]
async fn grants(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(slug): ApiPath<String>,
) -> ApiResult<Json<Vec<GrantView>>> {
    let t = trainings::managed(&state.svc, &user.identity, &slug).await?;
    Ok(Json(grant_views(trainings::grants(&state.svc, &t).await?)))
}

/// Grants a training to a maker (replacing an earlier grant of it).
#[utoipa::path(post, path = "/api/v1/trainings/{slug}/grants", tag = "trainings", request_body = GrantTraining, params(("slug" = String, Path)),
    security(("bearer" = [])), responses((status = 201, body = Vec<GrantView>), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn grant(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(slug): ApiPath<String>,
    ApiJson(req): ApiJson<GrantTraining>,
) -> ApiResult<impl IntoResponse> {
    let t = trainings::managed(&state.svc, &user.identity, &slug).await?;
    let rows = trainings::grant(&state.svc, &t, &req, state.clock.now_ms()).await?;
    Ok((StatusCode::CREATED, Json(grant_views(rows))))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
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
    let t = trainings::managed(&state.svc, &user.identity, &slug).await?;
    trainings::revoke(&state.svc, &t, &account_id, q.reason.as_deref(), state.clock.now_ms()).await?;
    Ok(StatusCode::NO_CONTENT)
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
    let op = trainings::any_operator(&user.identity)?;
    crate::service::accounts::set_verified(&state.svc, &op, &id, req.verified).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, serde::Serialize, ToSchema)]
pub struct Lifted {
    /// Whether the account had failed sign-ins counted against it.
    lifted: bool,
}

/// Lifts the sign-in back-off of a maker locked out by failed sign-ins. Operators and admins.
#[utoipa::path(delete, path = "/api/v1/accounts/{id}/lockout", tag = "trainings", params(("id" = String, Path)),
    security(("bearer" = [])), responses((status = 200, body = Lifted), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn lift_lockout(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<Lifted>> {
    let op = trainings::any_operator(&user.identity)?;
    let lifted = crate::service::throttle::lift_lockout(&state.svc, &op, &id).await?;
    Ok(Json(Lifted { lifted }))
}
