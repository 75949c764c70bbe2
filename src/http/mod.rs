//! HTTP: the JSON API (and later the portal and kiosk pages), its middleware, and the
//! state that handlers share. Handlers are thin: parse, call the store/domain, answer.

pub mod api;
pub mod calendar;
pub mod error;
pub mod extract;
pub mod pages;

use crate::auth::Hasher;
use crate::clock::Clock;
use crate::config::Config;
use crate::store::Db;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, Request};
use std::sync::Arc;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub config: Arc<Config>,
    pub hasher: Hasher,
    pub clock: Clock,
    /// The key of check-in codes.
    pub secret: crate::domain::checkin::Secret,
    /// Where access events go (MQTT, webhook).
    pub events: crate::events::Events,
    /// Catalog rows of resources, valid by the database's version stamp.
    pub catalog: Arc<crate::store::catalog_cache::CatalogCache>,
    /// The OpenAPI document, rendered once at start.
    pub openapi_json: Arc<String>,
}

/// One row through the write path (benchmarks only; off unless `bench_endpoints`).
async fn bench_insert(
    axum::extract::State(state): axum::extract::State<AppState>,
) -> error::ApiResult<axum::http::StatusCode> {
    state.db.bench_insert(&crate::store::new_id()).await?;
    Ok(axum::http::StatusCode::CREATED)
}

/// Where [`bench_insert_booking`] writes: a unit with its resource, space and maker, and the
/// start of the hour it books.
#[derive(serde::Deserialize)]
struct BenchBooking {
    unit: String,
    resource: String,
    space: String,
    account: String,
    from: i64,
}

/// One booking row through the write path bookings take, and nothing else: no session, no
/// JSON body, no rule, no read (benchmarks only; off unless `bench_endpoints`).
async fn bench_insert_booking(
    axum::extract::State(state): axum::extract::State<AppState>,
    axum::extract::Query(q): axum::extract::Query<BenchBooking>,
) -> error::ApiResult<axum::http::StatusCode> {
    let span = crate::domain::interval::Interval::new(q.from, q.from + 60 * crate::domain::calendar::MINUTE_MS)
        .map_err(|_| error::ApiError::invalid_field("from", "invalid", "not an instant"))?;
    let now = state.clock.now_ms();
    let id = crate::store::new_id();
    state
        .db
        .insert_booking(&crate::store::bookings::NewBooking {
            unit_id: &q.unit,
            resource_id: &q.resource,
            space_id: &q.space,
            account_id: &q.account,
            organisation_id: None,
            status: "confirmed",
            span,
            blocked: span,
            purpose: "",
            checkin_nonce: &id[id.len() - 10..],
            now,
        })
        .await?;
    Ok(axum::http::StatusCode::CREATED)
}

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The whole application router, with its middleware, ready to serve.
pub fn router(
    db: Db,
    config: Arc<Config>,
    clock: Clock,
    secret: crate::domain::checkin::Secret,
    events: crate::events::Events,
) -> (Router, AppState) {
    let (api, openapi) = api::router().split_for_parts();
    let openapi_json = Arc::new(openapi.to_json().expect("the OpenAPI document serialises"));
    let state = AppState {
        hasher: Hasher::new(config.hash_cost),
        db,
        config: config.clone(),
        clock,
        secret,
        events,
        catalog: Arc::default(),
        openapi_json,
    };

    let api = if config.bench_endpoints {
        api.route("/_bench/insert", axum::routing::post(bench_insert))
            .route("/_bench/insert_booking", axum::routing::post(bench_insert_booking))
    } else {
        api
    };
    let router = api
        .merge(pages::router())
        .fallback(error::unknown_route)
        .method_not_allowed_fallback(|| async {
            error::ApiError::from_status(axum::http::StatusCode::METHOD_NOT_ALLOWED)
        })
        .with_state(state.clone())
        .layer(DefaultBodyLimit::max(config.max_body_bytes))
        .layer(axum::middleware::from_fn(error::problem_for_bare_errors))
        .layer(TimeoutLayer::with_status_code(axum::http::StatusCode::REQUEST_TIMEOUT, config.request_timeout))
        .layer(CatchPanicLayer::custom(error::panic_response))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(TraceLayer::new_for_http().make_span_with(|req: &Request<_>| {
            let id = req.headers().get(REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or("-");
            tracing::info_span!("request", method = %req.method(), path = %req.uri().path(), request_id = %id)
        }))
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid));
    (router, state)
}
