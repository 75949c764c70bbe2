//! Utilization reports ([`crate::service::reports`]) as JSON, CSV and XLSX.

use crate::clock::rfc3339;
use crate::domain::report::{Figures, GroupBy, GroupReport};
use crate::http::AppState;
use crate::http::error::{ApiResult, Problem};
use crate::http::extract::{ApiQuery, AuthUser};
use crate::service::reports::{self, Utilization, UtilizationQuery};
use crate::service::{exports, powers};
use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(utilization))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct UtilizationParams {
    /// The space's slug.
    space: String,
    /// The first local date of the period (`2026-03-01`), in the space's zone.
    from: String,
    /// The last local date of the period, inclusive. At most 731 days after `from`.
    to: String,
    /// `space`, `resource` (default), `unit`, `kind`, `organisation` or `maker`.
    by: Option<String>,
    /// `day`, `week` (ISO), `month` (default), `quarter` or `year`.
    bucket: Option<String>,
    /// `json` (default), `csv` or `xlsx` (every grouping, a sheet each).
    format: Option<String>,
    /// The language of a file's headers and names: `zh` (default) or `en`.
    lang: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReportSpace {
    pub slug: String,
    pub name_zh: String,
    pub name_en: String,
    pub timezone: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BucketFigures {
    /// `2026-03-29`, `2026-W13`, `2026-03`, `2026-Q1` or `2026`.
    pub label: String,
    /// The bucket's first and last local dates (clipped to the period).
    pub from: String,
    pub to: String,
    #[serde(flatten)]
    pub figures: Figures,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct GroupFigures {
    /// A resource or unit id, a kind, an organisation id (empty: no organisation), a maker's
    /// pseudonym, or `space`.
    pub key: String,
    pub name_zh: String,
    pub name_en: String,
    pub total: Figures,
    pub buckets: Vec<BucketFigures>,
    /// Used hours by local weekday (Monday first) × local hour (0–23), over the period.
    pub heatmap: Vec<Vec<f64>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UtilizationReport {
    pub space: ReportSpace,
    pub from: String,
    pub to: String,
    pub bucket: String,
    pub by: String,
    /// When it was computed (UTC); an open session counts up to here.
    pub generated_at: String,
    pub groups: Vec<GroupFigures>,
    /// The space as a whole.
    pub whole: GroupFigures,
}

fn group_view(u: &Utilization, g: &GroupReport) -> GroupFigures {
    let (name_zh, name_en) = u.names.get(&g.key).map(|n| (n.zh.clone(), n.en.clone())).unwrap_or_default();
    GroupFigures {
        key: u.shown_key(&g.key),
        name_zh,
        name_en,
        total: g.total.clone(),
        buckets: g
            .buckets
            .iter()
            .map(|(b, f)| BucketFigures {
                label: b.label.clone(),
                from: b.first.to_string(),
                to: b.last.to_string(),
                figures: f.clone(),
            })
            .collect(),
        heatmap: g.heatmap.iter().map(|row| row.to_vec()).collect(),
    }
}

fn report_view(u: &Utilization) -> UtilizationReport {
    UtilizationReport {
        space: ReportSpace {
            slug: u.space.slug.clone(),
            name_zh: u.space.name_zh.clone(),
            name_en: u.space.name_en.clone(),
            timezone: u.space.timezone.clone(),
        },
        from: u.period.first.to_string(),
        to: u.period.last.to_string(),
        bucket: u.bucket.as_str().into(),
        by: u.by.as_str().into(),
        generated_at: rfc3339(u.generated_at),
        groups: u.report.groups.iter().map(|g| group_view(u, g)).collect(),
        whole: group_view(u, &u.report.whole),
    }
}

fn file(content_type: &str, name: &str, bytes: Vec<u8>) -> Response {
    let disposition = format!("attachment; filename=\"{name}\"");
    ([(header::CONTENT_TYPE, content_type.to_owned()), (header::CONTENT_DISPOSITION, disposition)], bytes)
        .into_response()
}

/// A space's utilization over local dates `from..=to`, per grouping and bucket: open,
/// booked and used hours, the ratios over them, no-shows, cancellations, makers served,
/// peak use, seat-days, room-nights and an hour-of-week heatmap. Operators of the space,
/// reviewers and admins. Every figure is defined in the README's glossary.
#[utoipa::path(get, path = "/api/v1/reports/utilization", tag = "reports", params(UtilizationParams),
    security(("bearer" = [])),
    responses(
        (status = 200, body = UtilizationReport, description = "JSON; with format=csv a CSV file (UTF-8, BOM), with format=xlsx a workbook"),
        (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn utilization(
    State(state): State<AppState>,
    user: AuthUser,
    ApiQuery(p): ApiQuery<UtilizationParams>,
) -> ApiResult<Response> {
    let reader = powers::reader_of(&state.svc, &user.identity, &p.space).await?;
    let q = UtilizationQuery { from: p.from, to: p.to, bucket: p.bucket, by: p.by };
    let lang = p.lang.as_deref().unwrap_or("zh");
    let now = state.clock.now_ms();
    let stem = |u: &Utilization| format!("utilization-{}-{}-{}", u.space.slug, u.period.first, u.period.last);
    match p.format.as_deref().unwrap_or("json") {
        "json" => Ok(Json(report_view(&reports::utilization(&state.svc, &reader, &q, now).await?)).into_response()),
        "csv" => {
            let u = reports::utilization(&state.svc, &reader, &q, now).await?;
            let bytes = exports::utilization_csv(&u, lang)?;
            Ok(file("text/csv; charset=utf-8", &format!("{}-{}.csv", stem(&u), u.by), bytes))
        }
        "xlsx" => {
            let all = reports::utilization_by(&state.svc, &reader, &q, GroupBy::ALL, now).await?;
            let bytes = exports::utilization_xlsx(&all, lang)?;
            Ok(file(
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                &format!("{}.xlsx", stem(&all[0])),
                bytes,
            ))
        }
        _ => {
            Err(crate::service::ServiceError::invalid_field("format", "invalid_choice", "must be json, csv or xlsx")
                .into())
        }
    }
}
