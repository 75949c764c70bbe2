//! HTTP: the JSON API, the pages and the kiosk's files, their middleware, and the state
//! that handlers share. Handlers are thin: parse, obtain the power they need, call one use
//! case of [`crate::service`], answer. No handler module imports another.

pub mod api;
pub mod error;
pub mod extract;
pub mod ics;
pub mod maker;
pub mod pages;
pub mod views;
pub mod words;

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

/// The pages' Content-Security-Policy: scripts and everything else from this server only
/// (no inline script, except the evidence pack's one print button, allowed by its hash),
/// inline styles allowed, images also as `data:` (QR codes), the kiosk's camera stream, and
/// no framing by any site.
pub const CSP: &str = "default-src 'self'; \
    script-src 'self' 'unsafe-hashes' 'sha256-MguIPR6qNR8D3B+eAlK+bIRTZe8t3wkOY4B/56Me9FU='; \
    style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; media-src 'self' blob: mediastream:; \
    connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// Middleware: the security headers of every answer (pages and API alike); with
/// `cookie_secure` (served over HTTPS), `Strict-Transport-Security` too.
async fn security_headers(
    secure: bool,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::http::{HeaderValue, header};
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    h.insert(HeaderName::from_static("cross-origin-opener-policy"), HeaderValue::from_static("same-origin"));
    h.insert(
        HeaderName::from_static("permissions-policy"),
        HeaderValue::from_static("camera=(self), microphone=(), geolocation=()"),
    );
    if secure {
        h.insert(header::STRICT_TRANSPORT_SECURITY, HeaderValue::from_static("max-age=31536000"));
    }
    res
}

/// A route that does not exist: the API's JSON problem, or for a browser asking for a page
/// outside `/api` (its `Accept` names `text/html`), an error page.
async fn unknown_route(uri: axum::http::Uri, headers: axum::http::HeaderMap) -> axum::response::Response {
    use axum::response::IntoResponse;
    if error::accepts_html(&headers) && !uri.path().starts_with("/api/") {
        return pages::PageError::unknown_page(uri.query()).into_response();
    }
    error::unknown_route().await.into_response()
}

/// Middleware (on matched routes): the request's latency by method, route pattern and
/// status, and a count of those throttled.
async fn measure(req: axum::extract::Request, next: axum::middleware::Next) -> axum::response::Response {
    let route = req
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = req.method().as_str().to_owned();
    let started = std::time::Instant::now();
    let res = next.run(req).await;
    let m = &crate::metrics::METRICS;
    let status = res.status().as_u16();
    if status == 429 {
        m.throttled.get_or_create(&crate::metrics::RouteLabels { route: route.clone() }).inc();
    }
    m.requests
        .get_or_create(&crate::metrics::RequestLabels { method, route, status })
        .observe(started.elapsed().as_secs_f64());
    res
}

/// `GET /metrics`: the node's metrics for Prometheus (OpenMetrics text).
async fn metrics() -> impl axum::response::IntoResponse {
    (
        [(axum::http::header::CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")],
        crate::metrics::METRICS.render(),
    )
}

/// The whole application router, with its middleware, ready to serve.
pub fn router(svc: Services, clock: Clock) -> (Router, AppState) {
    let (api, mut openapi) = api::router().split_for_parts();
    api::complete_responses(&mut openapi);
    let openapi_json = Arc::new(openapi.to_json().expect("the OpenAPI document serialises"));
    let config = svc.config.clone();
    let secure = config.cookie_secure;
    let state = AppState { svc: Arc::new(svc), clock, openapi_json };

    let api = if config.bench_endpoints {
        api.route("/_bench/insert", axum::routing::post(bench_insert))
            .route("/_bench/insert_booking", axum::routing::post(bench_insert_booking))
    } else {
        api
    };
    let router = api
        .merge(pages::router())
        .route("/metrics", axum::routing::get(metrics))
        .route_layer(axum::middleware::from_fn(measure))
        .fallback(unknown_route)
        // A bare 405: `problem_for_bare_errors` answers it (a problem, or a page for a browser).
        .method_not_allowed_fallback(|| async { axum::http::StatusCode::METHOD_NOT_ALLOWED })
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
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
        .layer(axum::middleware::from_fn(move |req, next| security_headers(secure, req, next)));
    (router, state)
}
