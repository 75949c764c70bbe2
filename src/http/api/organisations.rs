//! Teams and start-ups: makers create them, owners manage members, and membership
//! history is kept; the rules live in [`crate::service::organisations`].

use crate::clock::rfc3339;
use crate::http::AppState;
use crate::http::error::{ApiResult, Problem};
use crate::http::extract::{ApiJson, ApiPath, AuthUser};
use crate::http::views::{MyOrganisation, OrganisationView};
use crate::service::organisations::{self, CreateOrganisation, PutMember};
use crate::store::organisations::{MemberRow, OrganisationRow};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create, list_mine))
        .routes(routes!(show))
        .routes(routes!(put_member))
        .routes(routes!(remove_member))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MemberView {
    account_id: String,
    email: String,
    display_name: String,
    role: String,
    joined_at: String,
}

impl From<&MemberRow> for MemberView {
    fn from(m: &MemberRow) -> Self {
        MemberView {
            account_id: m.account_id.to_string(),
            email: m.email.clone(),
            display_name: m.display_name.clone(),
            role: m.role.as_str().to_owned(),
            joined_at: rfc3339(m.joined_at),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OrganisationDetail {
    #[serde(flatten)]
    organisation: OrganisationView,
    members: Vec<MemberView>,
}

fn detail((org, members): (OrganisationRow, Vec<MemberRow>)) -> OrganisationDetail {
    OrganisationDetail { organisation: (&org).into(), members: members.iter().map(MemberView::from).collect() }
}

/// Creates a team or start-up; the creator becomes its owner.
#[utoipa::path(post, path = "/api/v1/organisations", tag = "organisations", request_body = CreateOrganisation,
    security(("bearer" = []), ("cookie" = [])), responses(
    (status = 201, body = OrganisationView),
    (status = 409, body = Problem, description = "`slug_taken`"),
    (status = 422, body = Problem),
))]
async fn create(
    State(state): State<AppState>,
    user: AuthUser,
    ApiJson(req): ApiJson<CreateOrganisation>,
) -> ApiResult<impl IntoResponse> {
    let org = organisations::create(&state.svc, &user.identity, &req, state.clock.now_ms()).await?;
    Ok((StatusCode::CREATED, Json(OrganisationView::from(&org))))
}

/// The organisations I belong to.
#[utoipa::path(get, path = "/api/v1/organisations", tag = "organisations", security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, body = Vec<MyOrganisation>), (status = 401, body = Problem)))]
async fn list_mine(State(state): State<AppState>, user: AuthUser) -> ApiResult<Json<Vec<MyOrganisation>>> {
    Ok(Json(organisations::mine(&state.svc, &user.identity).await?.iter().map(MyOrganisation::of).collect()))
}

/// An organisation and its current members.
#[utoipa::path(get, path = "/api/v1/organisations/{id}", tag = "organisations", security(("bearer" = []), ("cookie" = [])),
    params(("id" = String, Path, description = "id or slug")),
    responses((status = 200, body = OrganisationDetail), (status = 404, body = Problem)))]
async fn show(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<OrganisationDetail>> {
    Ok(Json(detail(organisations::show(&state.svc, &user.identity, &id).await?)))
}

/// Adds a member by e-mail, or changes a member's role. Owners and admins only.
#[utoipa::path(put, path = "/api/v1/organisations/{id}/members", tag = "organisations", request_body = PutMember,
    security(("bearer" = []), ("cookie" = [])), params(("id" = String, Path, description = "id or slug")),
    responses((status = 200, body = OrganisationDetail), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn put_member(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<PutMember>,
) -> ApiResult<Json<OrganisationDetail>> {
    Ok(Json(detail(organisations::put_member(&state.svc, &user.identity, &id, &req, state.clock.now_ms()).await?)))
}

/// Ends a membership. Owners and admins may remove anyone; a member may leave.
#[utoipa::path(delete, path = "/api/v1/organisations/{id}/members/{account_id}", tag = "organisations",
    security(("bearer" = []), ("cookie" = [])),
    params(("id" = String, Path, description = "id or slug"), ("account_id" = String, Path)),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn remove_member(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath((id, account_id)): ApiPath<(String, String)>,
) -> ApiResult<StatusCode> {
    organisations::remove_member(&state.svc, &user.identity, &id, &account_id, state.clock.now_ms()).await?;
    Ok(StatusCode::NO_CONTENT)
}
