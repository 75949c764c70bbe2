//! Admin: find accounts and grant or revoke roles (operator of a space, reviewer, admin).

use super::auth::{AccountView, RoleView};
use crate::domain::identity::Role;
use crate::http::AppState;
use crate::http::error::{ApiError, ApiResult, Problem};
use crate::http::extract::{AdminUser, ApiJson, ApiPath, ApiQuery};
use crate::store::StoreError;
use crate::store::accounts::Grant;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_accounts)).routes(routes!(grant)).routes(routes!(revoke))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct AccountQuery {
    /// Part of an e-mail address or name.
    #[serde(default)]
    q: String,
    /// At most this many (1–200, default 50).
    #[serde(default)]
    limit: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AccountWithRoles {
    #[serde(flatten)]
    account: AccountView,
    roles: Vec<RoleView>,
}

/// Accounts matching a search, with their roles.
#[utoipa::path(get, path = "/api/v1/admin/accounts", tag = "admin", params(AccountQuery), security(("bearer" = [])),
    responses((status = 200, body = Vec<AccountWithRoles>), (status = 403, body = Problem)))]
async fn list_accounts(
    State(state): State<AppState>,
    _admin: AdminUser,
    ApiQuery(q): ApiQuery<AccountQuery>,
) -> ApiResult<Json<Vec<AccountWithRoles>>> {
    let limit = q.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(ApiError::invalid_field("limit", "out_of_range", "must be between 1 and 200"));
    }
    let mut out = Vec::new();
    for a in state.db.search_accounts(&q.q, limit).await? {
        let roles = state.db.roles_of(&a.id).await?;
        out.push(AccountWithRoles { account: (&a).into(), roles: roles.iter().map(RoleView::from).collect() });
    }
    Ok(Json(out))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GrantRequest {
    role: Role,
    /// Required for `operator` (the space's id or slug); not allowed for other roles.
    #[serde(default)]
    space: Option<String>,
}

async fn resolve_space(state: &AppState, role: Role, space: Option<&str>) -> ApiResult<Option<String>> {
    match (role.is_space_scoped(), space) {
        (true, None) => Err(ApiError::invalid_field("space", "required", "an operator role names the space it runs")),
        (false, Some(_)) => {
            Err(ApiError::invalid_field("space", "not_allowed", "only the operator role is scoped to a space"))
        }
        (false, None) => Ok(None),
        (true, Some(s)) => match state.db.space(s).await {
            Ok(space) => Ok(Some(space.id)),
            Err(StoreError::NotFound) => {
                Err(ApiError::invalid_field("space", "unknown_space", "no space has this id or slug"))
            }
            Err(e) => Err(e.into()),
        },
    }
}

async fn account_roles(state: &AppState, id: &str) -> ApiResult<Json<Vec<RoleView>>> {
    Ok(Json(state.db.roles_of(id).await?.iter().map(RoleView::from).collect()))
}

/// Grants a role. Granting a role that is already held changes nothing.
#[utoipa::path(post, path = "/api/v1/admin/accounts/{id}/roles", tag = "admin", request_body = GrantRequest, security(("bearer" = [])),
    params(("id" = String, Path, description = "account id")),
    responses((status = 200, body = Vec<RoleView>), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn grant(
    State(state): State<AppState>,
    AdminUser(admin): AdminUser,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<GrantRequest>,
) -> ApiResult<Json<Vec<RoleView>>> {
    let account = state.db.account(&id).await.map_err(|_| ApiError::not_found("account"))?;
    let space_id = resolve_space(&state, req.role, req.space.as_deref()).await?;
    state
        .db
        .grant_role(Grant {
            account_id: &account.id,
            role: req.role,
            space_id: space_id.as_deref(),
            granted_by: Some(&admin.account.id),
            now: state.clock.now_ms(),
        })
        .await?;
    tracing::info!(account_id = %account.id, role = req.role.as_str(), space_id = ?space_id, by = %admin.account.id, "role granted");
    account_roles(&state, &account.id).await
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct RevokeQuery {
    /// The space, for an operator role.
    #[serde(default)]
    space: Option<String>,
}

/// Revokes a role.
#[utoipa::path(delete, path = "/api/v1/admin/accounts/{id}/roles/{role}", tag = "admin", security(("bearer" = [])),
    params(("id" = String, Path, description = "account id"), ("role" = Role, Path), RevokeQuery),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn revoke(
    State(state): State<AppState>,
    AdminUser(admin): AdminUser,
    ApiPath((id, role)): ApiPath<(String, Role)>,
    ApiQuery(q): ApiQuery<RevokeQuery>,
) -> ApiResult<StatusCode> {
    if role == Role::Admin && id == admin.account.id {
        return Err(ApiError::conflict("last_admin_guard", "an admin cannot revoke their own admin role"));
    }
    let space_id = resolve_space(&state, role, q.space.as_deref()).await?;
    if state.db.revoke_role(&id, role, space_id.as_deref()).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found("role grant"))
    }
}
