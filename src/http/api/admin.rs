//! Admin: find accounts and grant or revoke roles (operator of a space, reviewer, admin).

use crate::domain::identity::Role;
use crate::http::AppState;
use crate::http::error::{ApiResult, Problem};
use crate::http::extract::{AdminUser, ApiJson, ApiPath, ApiQuery};
use crate::http::views::{AccountView, RoleView};
use crate::service::accounts::{self, GrantRole};
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
#[into_params(parameter_in = Query)]
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
    AdminUser(admin): AdminUser,
    ApiQuery(q): ApiQuery<AccountQuery>,
) -> ApiResult<Json<Vec<AccountWithRoles>>> {
    let found = accounts::search(&state.svc, &admin, &q.q, q.limit).await?;
    Ok(Json(
        found
            .iter()
            .map(|(a, roles)| AccountWithRoles { account: a.into(), roles: roles.iter().map(RoleView::from).collect() })
            .collect(),
    ))
}

/// Grants a role. Granting a role that is already held changes nothing.
#[utoipa::path(post, path = "/api/v1/admin/accounts/{id}/roles", tag = "admin", request_body = GrantRole, security(("bearer" = [])),
    params(("id" = String, Path, description = "account id")),
    responses((status = 200, body = Vec<RoleView>), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn grant(
    State(state): State<AppState>,
    AdminUser(admin): AdminUser,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<GrantRole>,
) -> ApiResult<Json<Vec<RoleView>>> {
    let roles = accounts::grant(&state.svc, &admin, &id, &req, state.clock.now_ms()).await?;
    Ok(Json(roles.iter().map(RoleView::from).collect()))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
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
    accounts::revoke(&state.svc, &admin, &id, role, q.space.as_deref()).await?;
    Ok(StatusCode::NO_CONTENT)
}
