//! Teams and start-ups: makers create them, owners manage members, and membership
//! history is kept (leaving sets `left_at`), because residency is subsidy evidence.

use crate::clock::rfc3339;
use crate::domain::ValidationErrors;
use crate::domain::identity::{DisplayName, Email, OrganisationKind, Role, Slug};
use crate::http::AppState;
use crate::http::error::{ApiError, ApiResult, Problem};
use crate::http::extract::{ApiJson, ApiPath, AuthUser};
use crate::store::StoreError;
use crate::store::organisations::{MemberRow, NewOrganisation, OrganisationRow};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};
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
pub struct OrganisationView {
    id: String,
    slug: String,
    name: String,
    /// `team`, `startup`, `operator` or `university`.
    kind: String,
    created_at: String,
}

impl From<&OrganisationRow> for OrganisationView {
    fn from(o: &OrganisationRow) -> Self {
        OrganisationView {
            id: o.id.clone(),
            slug: o.slug.clone(),
            name: o.name.clone(),
            kind: o.kind.clone(),
            created_at: rfc3339(o.created_at),
        }
    }
}

/// An organisation I belong to, with my role in it.
#[derive(Debug, Serialize, ToSchema)]
pub struct MyOrganisation {
    #[serde(flatten)]
    organisation: OrganisationView,
    /// `owner` or `member`.
    my_role: String,
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
            account_id: m.account_id.clone(),
            email: m.email.clone(),
            display_name: m.display_name.clone(),
            role: m.role.clone(),
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

pub(crate) async fn mine(state: &AppState, account_id: &str) -> ApiResult<Vec<MyOrganisation>> {
    Ok(state
        .db
        .organisations_of(account_id)
        .await?
        .iter()
        .map(|(o, role)| MyOrganisation { organisation: o.into(), my_role: role.clone() })
        .collect())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateOrganisation {
    name: String,
    /// `team` or `startup` for makers; `operator` and `university` need the admin role.
    kind: OrganisationKind,
    /// Derived from the name when absent.
    #[serde(default)]
    slug: Option<String>,
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
    let mut errors = ValidationErrors::default();
    let name = errors.take(DisplayName::parse("name", &req.name));
    let slug = match req.slug.as_deref() {
        Some(s) => errors.take(Slug::parse("slug", s)),
        None => None,
    };
    if matches!(req.kind, OrganisationKind::Operator | OrganisationKind::University) && !user.is_admin() {
        errors.push(crate::domain::FieldError::new(
            "kind",
            "not_allowed",
            "operator and university organisations are created by an admin",
        ));
    }
    let Some(name) = name else { return Err(errors.into()) };
    errors.finish()?;
    let explicit_slug = slug.is_some();
    let slug = match slug {
        Some(s) => s,
        None => {
            let suffix = crate::auth::to_hex(&crate::auth::random_bytes::<3>()?);
            Slug::derive(&format!("{} {suffix}", name.as_str()), &format!("org-{suffix}"))
        }
    };
    let org = state
        .db
        .create_organisation(NewOrganisation {
            slug: slug.as_str(),
            name: name.as_str(),
            kind: req.kind.as_str(),
            owner: Some(&user.account.id),
            now: state.clock.now_ms(),
        })
        .await
        .map_err(|e| match e {
            StoreError::Unique(_) if explicit_slug => {
                ApiError::conflict("slug_taken", "another organisation already uses this slug")
            }
            other => other.into(),
        })?;
    Ok((StatusCode::CREATED, Json(OrganisationView::from(&org))))
}

/// The organisations I belong to.
#[utoipa::path(get, path = "/api/v1/organisations", tag = "organisations", security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, body = Vec<MyOrganisation>), (status = 401, body = Problem)))]
async fn list_mine(State(state): State<AppState>, user: AuthUser) -> ApiResult<Json<Vec<MyOrganisation>>> {
    Ok(Json(mine(&state, &user.account.id).await?))
}

/// Members see their organisation; admins and reviewers see any.
async fn visible(state: &AppState, user: &AuthUser, id: &str) -> ApiResult<OrganisationRow> {
    let org = state.db.organisation(id).await.map_err(|e| match e {
        StoreError::NotFound => ApiError::not_found("organisation"),
        other => other.into(),
    })?;
    let member = state.db.membership(&org.id, &user.account.id).await?.is_some();
    if member || user.is_admin() || user.has_role(Role::Reviewer) {
        Ok(org)
    } else {
        Err(ApiError::not_found("organisation"))
    }
}

async fn owned(state: &AppState, user: &AuthUser, id: &str) -> ApiResult<OrganisationRow> {
    let org = visible(state, user, id).await?;
    let owner = state.db.membership(&org.id, &user.account.id).await?.is_some_and(|m| m.role == "owner");
    if owner || user.is_admin() {
        Ok(org)
    } else {
        Err(ApiError::forbidden("only an owner of the organisation may do this"))
    }
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
    let org = visible(&state, &user, &id).await?;
    let members = state.db.members(&org.id).await?;
    Ok(Json(OrganisationDetail {
        organisation: (&org).into(),
        members: members.iter().map(MemberView::from).collect(),
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PutMember {
    /// The e-mail of an existing account.
    email: String,
    /// `owner` or `member`.
    #[serde(default = "default_member_role")]
    role: String,
}

fn default_member_role() -> String {
    "member".into()
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
    let org = owned(&state, &user, &id).await?;
    let mut errors = ValidationErrors::default();
    let email = errors.take(Email::parse("email", &req.email));
    if req.role != "owner" && req.role != "member" {
        errors.push(crate::domain::FieldError::new("role", "invalid_choice", "must be owner or member"));
    }
    let Some(email) = email else { return Err(errors.into()) };
    errors.finish()?;
    let account = state
        .db
        .account_by_email(email.as_str())
        .await?
        .ok_or_else(|| ApiError::invalid_field("email", "unknown_account", "no account has this e-mail address"))?;
    state.db.put_member(&org.id, &account.id, &req.role, state.clock.now_ms()).await?;
    show(State(state), user, ApiPath(org.id)).await
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
    let org = if account_id == user.account.id {
        visible(&state, &user, &id).await?
    } else {
        owned(&state, &user, &id).await?
    };
    if state.db.end_membership(&org.id, &account_id, state.clock.now_ms()).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found("membership"))
    }
}
