//! The JSON API under `/api/v1`, plus `/healthz` and `/readyz`. Every route is registered
//! through utoipa-axum, so the OpenAPI document is generated from the code.

pub mod admin;
pub mod auth;
pub mod availability;
pub mod bookings;
pub mod catalog;
pub mod kiosk;
pub mod ledger;
pub mod organisations;
pub mod registers;
pub mod reports;
pub mod stays;
pub mod system;
pub mod trainings;
pub mod waitlist;

use super::AppState;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;

#[derive(OpenApi)]
#[openapi(
    info(title = "labinn API", description = "Booking, check-in and metered-use evidence for a district's maker spaces."),
    components(schemas(super::error::Problem, crate::service::Code)),
    modifiers(&Security, &ErrorCodes),
    tags(
        (name = "system", description = "Health, readiness, version and this document"),
        (name = "auth", description = "Accounts and sign-in"),
        (name = "organisations", description = "Teams and start-ups that makers belong to"),
        (name = "catalog", description = "Spaces, resources, units, opening rules and closures"),
        (name = "availability", description = "When is this free?"),
        (name = "bookings", description = "Reservations: book, list, cancel, approve, decline"),
        (name = "check-in", description = "Check-in codes, kiosks, scans, metered sessions and the evidence ledger"),
        (name = "trainings", description = "Trainings that resources require, and verified makers"),
        (name = "registers", description = "The area plan, residents, events and documents a space keeps for its evidence"),
        (name = "reports", description = "Utilization reports from metered use"),
        (name = "ledger", description = "The ledger as a Merkle log: signed checkpoints, their keys, inclusion and consistency proofs"),
        (name = "admin", description = "Running labinn itself"),
    )
)]
struct ApiDoc;

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        components.add_security_scheme(
            "cookie",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(crate::auth::COOKIE_NAME))),
        );
    }
}

/// The one list of stable error codes, with the status each is answered with, appended to
/// the document's description (and the `ErrorCode` schema lists them as an enum).
struct ErrorCodes;

impl Modify for ErrorCodes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        openapi.info.description =
            Some(format!("{}\n\n{}", openapi.info.description.clone().unwrap_or_default(), codes_table()));
    }
}

/// The error codes as a Markdown table: code, HTTP status, meaning.
pub fn codes_table() -> String {
    let mut out = String::from(
        "## Error codes\n\nEvery failure answers `{\"error\": {\"code\", \"message\", \"details\"?}}`; \
         clients switch on `code`.\n\n| code | status | meaning |\n| --- | --- | --- |\n",
    );
    for c in crate::service::Code::ALL {
        let status = match c {
            crate::service::Code::HttpError => "the response's".to_owned(),
            _ => super::error::status_of(*c).as_u16().to_string(),
        };
        out.push_str(&format!("| `{}` | {status} | {} |\n", c.as_str(), c.about()));
    }
    out
}

/// Every API route, with its OpenAPI description.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(system::router())
        .merge(auth::router())
        .merge(organisations::router())
        .merge(admin::router())
        .merge(catalog::router())
        .merge(availability::router())
        .merge(bookings::router())
        .merge(trainings::router())
        .merge(stays::router())
        .merge(waitlist::router())
        .merge(kiosk::router())
        .merge(reports::router())
        .merge(registers::router())
        .merge(ledger::router())
}

/// Adds to every operation of the finished document the failures any operation of its shape
/// can answer, where it does not describe them itself: 400 (a malformed path, query or
/// JSON), 401 and 403 (a signed-in one), 404 (one that names an item in its path), 408, 413
/// and 415 (one that takes a body), 422 (one that takes a body or a query), 500 and 503. So the document lists every
/// status the server can give (tested against the router in the schemathesis run and the
/// authorization matrix).
pub fn complete_responses(openapi: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
    let problem = |what: &str| {
        ResponseBuilder::new()
            .description(what)
            .content("application/json", ContentBuilder::new().schema(Some(Ref::from_schema_name("Problem"))).build())
            .build()
    };
    for item in openapi.paths.paths.values_mut() {
        let ops = [
            (false, item.get.as_mut()),
            (true, item.post.as_mut()),
            (true, item.put.as_mut()),
            (true, item.patch.as_mut()),
            (true, item.delete.as_mut()),
        ];
        for (changes, op) in ops {
            let Some(op) = op else { continue };
            let secured = op.security.as_ref().is_some_and(|s| !s.is_empty());
            let cookie =
                op.security.as_ref().is_some_and(|s| serde_json::to_string(s).is_ok_and(|t| t.contains("\"cookie\"")));
            let body = op.request_body.is_some();
            let params = op.parameters.as_deref().unwrap_or_default();
            let placed = |place: utoipa::openapi::path::ParameterIn| {
                params.iter().any(|p| matches!(p, utoipa::openapi::RefOr::T(p) if p.parameter_in == place))
            };
            let (in_path, in_query) =
                (placed(utoipa::openapi::path::ParameterIn::Path), placed(utoipa::openapi::path::ParameterIn::Query));
            let mut add = |status: &str, what: &str| {
                op.responses.responses.entry(status.to_owned()).or_insert_with(|| problem(what).into());
            };
            add("400", "`bad_request`, `invalid_path`, `invalid_query` or `malformed_json`");
            if secured {
                add("401", "`unauthenticated` or `invalid_token`");
            }
            if secured {
                add(
                    "403",
                    "`forbidden` (without the power this needs) or `cross_origin` (a change signed in by the cookie from another site's page)",
                );
            } else if changes && cookie {
                add("403", "`cross_origin`: a change signed in by the cookie from another site's page");
            }
            if in_path {
                add("404", "`not_found`: no such item, or not one the caller may see");
            }
            if body {
                add("413", "`payload_too_large`");
                add("415", "`unsupported_media_type`");
            }
            if body || in_query {
                add("422", "`invalid_body` or `validation_failed`, with every invalid field");
            }
            add("408", "`request_timeout`");
            add("500", "`internal`: a bug, logged");
            add("503", "`try_again` or `not_ready`");
        }
    }
}
