//! HTTP: the JSON API, the pages and the kiosk's files, their middleware, and the state
//! that handlers share. Handlers are thin: parse, obtain the power they need, call one use
//! case of [`crate::service`], answer. No handler module imports another.

pub mod api;
pub mod error;
pub mod extract;
pub mod pages;
pub mod views;

use crate::clock::Clock;
use crate::service::Services;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, Request};
use std::sync::Arc;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

/// What every handler can reach: the use cases, and the clock (handlers read `now` and
/// pass it down).
#[derive(Clone)]
pub struct AppState {
    /// Behind one `Arc`: axum clones the state for every request, and one reference count is
    /// cheaper than the several inside `Services`.
    pub svc: Arc<Services>,
    pub clock: Clock,
    /// The OpenAPI document, rendered once at start.
    pub openapi_json: Arc<String>,
}

/// One row through the write path (benchmarks only; off unless `bench_endpoints`).
async fn bench_insert(
    axum::extract::State(state): axum::extract::State<AppState>,
) -> error::ApiResult<axum::http::StatusCode> {
    state.svc.db.bench_insert(&crate::store::new_id()).await?;
    Ok(axum::http::StatusCode::CREATED)
}

/// Where [`bench_insert_booking`] writes: a unit with its resource, space and maker, and the
/// start of the hour it books.
#[derive(serde::Deserialize)]
struct BenchBooking {
    unit: crate::domain::ids::UnitId,
    resource: crate::domain::ids::ResourceId,
    space: crate::domain::ids::SpaceId,
    account: crate::domain::ids::AccountId,
    from: i64,
}

/// One booking row through the write path bookings take, and nothing else: no session, no
/// JSON body, no rule, no read (benchmarks only; off unless `bench_endpoints`).
async fn bench_insert_booking(
    axum::extract::State(state): axum::extract::State<AppState>,
    axum::extract::Query(q): axum::extract::Query<BenchBooking>,
) -> error::ApiResult<axum::http::StatusCode> {
    let span = crate::domain::interval::Interval::new(q.from, q.from + 60 * crate::domain::calendar::MINUTE_MS)
        .map_err(|_| crate::service::ServiceError::invalid_field("from", "invalid", "not an instant"))?;
    let now = state.clock.now_ms();
    let id = crate::store::new_id();
    state
        .svc
        .db
        .insert_booking(&crate::store::bookings::NewBooking {
            unit_id: &q.unit,
            resource_id: &q.resource,
            space_id: &q.space,
            account_id: &q.account,
            organisation_id: None,
            status: crate::domain::booking::BookingStatus::Confirmed,
            span,
            blocked: span,
            purpose: "",
            checkin_nonce: &id[id.len() - 10..],
            kind: crate::domain::booking::BookingKind::Single,
            now,
        })
        .await?;
    Ok(axum::http::StatusCode::CREATED)
}

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// A route that does not exist: the API's JSON problem, or for a browser asking for a page
/// outside `/api` (its `Accept` names `text/html`), an error page.
async fn unknown_route(uri: axum::http::Uri, headers: axum::http::HeaderMap) -> axum::response::Response {
    use axum::response::IntoResponse;
    let wants_html =
        headers.get(axum::http::header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|a| a.contains("text/html"));
    if wants_html && !uri.path().starts_with("/api/") {
        return pages::PageError::unknown_page(uri.query()).into_response();
    }
    error::unknown_route().await.into_response()
}

/// The whole application router, with its middleware, ready to serve.
pub fn router(svc: Services, clock: Clock) -> (Router, AppState) {
    let (api, openapi) = api::router().split_for_parts();
    let openapi_json = Arc::new(openapi.to_json().expect("the OpenAPI document serialises"));
    let config = svc.config.clone();
    let state = AppState { svc: Arc::new(svc), clock, openapi_json };

    let api = if config.bench_endpoints {
        api.route("/_bench/insert", axum::routing::post(bench_insert))
            .route("/_bench/insert_booking", axum::routing::post(bench_insert_booking))
    } else {
        api
    };
    let router = api
        .merge(pages::router())
        .fallback(unknown_route)
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
