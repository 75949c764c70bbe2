//! The Merkle log over the ledger ([`crate::service::log`]): checkpoints, the keys that sign
//! them (public), inclusion and consistency proofs (whoever reads the ledger's head), and the
//! district's copies of recorded checkpoints (reviewers).

use crate::http::AppState;
use crate::http::error::{ApiResult, Problem};
use crate::http::extract::{ApiPath, ApiQuery, AuthUser};
use crate::service::ServiceError;
use crate::service::log::{self, ConsistencyProof, InclusionProof, LogKey, SignedCheckpoint};
use crate::service::witness::{self, RecordedHead};
use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(checkpoint))
        .routes(routes!(keys))
        .routes(routes!(well_known_keys))
        .routes(routes!(inclusion))
        .routes(routes!(consistency))
        .routes(routes!(district_checkpoints))
        .routes(routes!(recorded_heads, record_head))
}

/// Records the log's head now for a space, as the district's copy: a checkpoint signed now
/// (or the one already signed at this size), kept with who recorded it. Reviewers only.
#[utoipa::path(post, path = "/api/v1/spaces/{slug}/recorded-heads", tag = "ledger", security(("bearer" = [])),
    params(("slug" = String, Path, description = "The space")),
    responses((status = 201, description = "{id, count, hash, recorded_by, recorded_at, holds, checkpoint}"),
        (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn record_head(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(slug): ApiPath<String>,
) -> ApiResult<(axum::http::StatusCode, Json<RecordedHead>)> {
    let Some(reviewer) = user.identity.reviewer() else {
        return Err(ServiceError::forbidden("only reviewers record the district's copies of the log's head").into());
    };
    let head = witness::record_head(&state.svc, &reviewer, &slug, state.clock.now_ms()).await?;
    Ok((axum::http::StatusCode::CREATED, Json(head)))
}

/// The heads recorded for a space, newest first (at most 20), each checked against the
/// ledger today. Reviewers and admins.
#[utoipa::path(get, path = "/api/v1/spaces/{slug}/recorded-heads", tag = "ledger", security(("bearer" = [])),
    params(("slug" = String, Path, description = "The space")),
    responses((status = 200, description = "[{id, count, hash, recorded_by, recorded_at, holds, checkpoint}]"),
        (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn recorded_heads(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(slug): ApiPath<String>,
) -> ApiResult<Json<Vec<RecordedHead>>> {
    Ok(Json(witness::heads_of(&state.svc, &user.identity, &slug).await?))
}

/// The newest signed checkpoint of the log (a C2SP tlog-checkpoint in a signed note, in
/// `note`): the tree's size and root, signed with Ed25519. Signed hourly, for every evidence
/// pack and whenever a reviewer records a head. Reviewers, operators and admins.
#[utoipa::path(get, path = "/api/v1/ledger/checkpoint", tag = "ledger", security(("bearer" = [])),
    responses((status = 200, description = "{size, root (hex), signed_at, key_id, note}"),
        (status = 401, body = Problem), (status = 403, body = Problem)))]
async fn checkpoint(State(state): State<AppState>, user: AuthUser) -> ApiResult<Json<SignedCheckpoint>> {
    log::may_read(&user.identity)?;
    Ok(Json(log::latest(&state.svc, state.clock.now_ms()).await?))
}

/// Every key the log has signed checkpoints with, the current one first; retired keys stay
/// listed so that old checkpoints stay verifiable.
#[utoipa::path(get, path = "/api/v1/ledger/keys", tag = "ledger",
    responses((status = 200, description = "[{id, vkey, created_at, retired_at}]")))]
async fn keys(State(state): State<AppState>) -> ApiResult<Json<Vec<LogKey>>> {
    Ok(Json(log::keys(&state.svc).await?))
}

/// The log's verifier keys, one a line, as Go's `sumdb/note` reads them (`name+id+key`).
#[utoipa::path(get, path = "/.well-known/labinn-log-keys", tag = "ledger",
    responses((status = 200, description = "text/plain: one verifier key a line", content_type = "text/plain")))]
async fn well_known_keys(State(state): State<AppState>) -> ApiResult<Response> {
    let mut text = String::new();
    for k in log::keys(&state.svc).await? {
        text.push_str(&k.vkey);
        text.push('\n');
    }
    Ok(([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], text).into_response())
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct InclusionParams {
    /// The ledger entry's sequence number (leaf `entry − 1`).
    entry: i64,
    /// The tree size [default: the newest checkpoint's].
    size: Option<u64>,
}

/// The inclusion proof (RFC 9162, 2.1.3) of a ledger entry in the tree of `size`: O(log n)
/// hashes, read from the stored tree. Reviewers, operators and admins.
#[utoipa::path(get, path = "/api/v1/ledger/proof/inclusion", tag = "ledger", params(InclusionParams),
    security(("bearer" = [])),
    responses((status = 200, description = "{entry, leaf_index, size, leaf_hash, root, proof: [hex]}"),
        (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 422, body = Problem, description = "`out_of_range`, `beyond_log`")))]
async fn inclusion(
    State(state): State<AppState>,
    user: AuthUser,
    ApiQuery(p): ApiQuery<InclusionParams>,
) -> ApiResult<Json<InclusionProof>> {
    log::may_read(&user.identity)?;
    Ok(Json(log::inclusion(&state.svc, p.entry, p.size, state.clock.now_ms()).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ConsistencyParams {
    /// The older tree size.
    from: u64,
    /// The newer tree size [default: the newest checkpoint's].
    to: Option<u64>,
}

/// The consistency proof (RFC 9162, 2.1.4) from the tree of `from` to the tree of `to`: the
/// log only grew in between. Reviewers, operators and admins.
#[utoipa::path(get, path = "/api/v1/ledger/proof/consistency", tag = "ledger", params(ConsistencyParams),
    security(("bearer" = [])),
    responses((status = 200, description = "{from, to, from_root, to_root, proof: [hex]}"),
        (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 422, body = Problem, description = "`out_of_range`, `beyond_log`")))]
async fn consistency(
    State(state): State<AppState>,
    user: AuthUser,
    ApiQuery(p): ApiQuery<ConsistencyParams>,
) -> ApiResult<Json<ConsistencyProof>> {
    log::may_read(&user.identity)?;
    Ok(Json(log::consistency(&state.svc, p.from, p.to, state.clock.now_ms()).await?))
}

/// The district's copies: every checkpoint a reviewer recorded, and the keys that signed
/// them, as a ZIP (`keys.txt`, `checkpoints/*.checkpoint`) for `labinn verify-pack
/// --checkpoints`. Reviewers and admins.
#[utoipa::path(get, path = "/api/v1/district/checkpoints", tag = "ledger", security(("bearer" = [])),
    responses((status = 200, description = "application/zip", content_type = "application/zip"),
        (status = 401, body = Problem), (status = 403, body = Problem)))]
async fn district_checkpoints(State(state): State<AppState>, user: AuthUser) -> ApiResult<Response> {
    let bytes = crate::service::witness::export(&state.svc, &user.identity).await?;
    let disposition = "attachment; filename=\"district-checkpoints.zip\"";
    Ok(([(header::CONTENT_TYPE, "application/zip"), (header::CONTENT_DISPOSITION, disposition)], bytes).into_response())
}
