//! Utilization reports ([`crate::service::reports`]) as JSON, CSV and XLSX.

use crate::clock::rfc3339;
use crate::domain::report::{Figures, GroupBy, GroupReport};
use crate::http::AppState;
use crate::http::error::{ApiResult, Problem};
use crate::http::extract::{AdminUser, ApiJson, ApiPath};
use crate::http::extract::{ApiQuery, AuthUser};
use crate::service::reports::{self, Utilization, UtilizationQuery};
use crate::service::{charts, evidence as packs, exports, powers};
use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(utilization))
        .routes(routes!(evidence))
        .routes(routes!(list_schemes))
        .routes(routes!(load_scheme))
        .routes(routes!(district_overview))
        .routes(routes!(my_usage))
        .routes(routes!(report_privacy, set_report_privacy))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
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
    /// `json` (default), `csv`, `xlsx` (every grouping, a sheet each) or `svg` (a chart).
    format: Option<String>,
    /// The language of a file's headers and names: `zh` (default) or `en`.
    lang: Option<String>,
    /// With `format=svg`: `trend` (used hours by bucket, default), `heatmap` (weekday × hour)
    /// or `groups` (utilization of each group).
    chart: Option<String>,
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
    /// Days of the period served from the per-day roll-up; the others were read from the
    /// bookings and sessions. The figures are the same either way.
    pub rollup_days: usize,
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
        buckets: bucket_views(g),
        heatmap: g.heatmap.iter().map(|row| row.to_vec()).collect(),
    }
}

/// A group's buckets as the API shows them.
fn bucket_views(g: &GroupReport) -> Vec<BucketFigures> {
    g.buckets
        .iter()
        .map(|(b, f)| BucketFigures {
            label: b.label.clone(),
            from: b.first.to_string(),
            to: b.last.to_string(),
            figures: f.clone(),
        })
        .collect()
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
        rollup_days: u.rollup_days,
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
    let lang = lang_of(p.lang.as_deref())?;
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
        "svg" => {
            let u = reports::utilization(&state.svc, &reader, &q, now).await?;
            let svg = match p.chart.as_deref().unwrap_or("trend") {
                "trend" => charts::trend(&u, lang)?,
                "heatmap" => charts::heatmap(&u, lang)?,
                "groups" => charts::by_group(&u, lang)?,
                _ => {
                    return Err(crate::service::ServiceError::invalid_field(
                        "chart",
                        "invalid_choice",
                        "must be trend, heatmap or groups",
                    )
                    .into());
                }
            };
            Ok(([(header::CONTENT_TYPE, "image/svg+xml; charset=utf-8")], svg).into_response())
        }
        _ => Err(crate::service::ServiceError::invalid_field(
            "format",
            "invalid_choice",
            "must be json, csv, xlsx or svg",
        )
        .into()),
    }
}

/// The language of a file or page: `zh` (the default) or `en`.
fn lang_of(lang: Option<&str>) -> Result<&str, crate::service::ServiceError> {
    match lang.unwrap_or("zh") {
        l @ ("zh" | "en") => Ok(l),
        _ => Err(crate::service::ServiceError::invalid_field("lang", "invalid_choice", "must be zh or en")),
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct EvidenceParams {
    /// The scheme's id (its newest file) or the SHA-256 of one file.
    scheme: String,
    /// The first and last local dates of the period, both included.
    from: String,
    to: String,
    /// `json` (default), `html` (a printable page) or `zip`.
    format: Option<String>,
    /// The language of the html page: `zh` (default) or `en`.
    lang: Option<String>,
}

/// The evidence pack of a space for a scheme and period: each criterion's measured value,
/// threshold, outcome (`met`, `not_met`, `attested_only`), source kind (`metered`,
/// `recorded`, `attested`) and the rows behind it with their ledger entries; the ledger head
/// when it was made. `format=zip` gives `pack.json`, `rows.csv`, `documents.csv` and
/// `manifest.json`; `format=html` a printable page (A4; `lang=zh` or `en`) with the
/// charts and the first rows of each criterion. Operators of the space, reviewers and admins.
#[utoipa::path(get, path = "/api/v1/spaces/{slug}/evidence", tag = "reports", params(("slug" = String, Path), EvidenceParams),
    security(("bearer" = [])),
    responses((status = 200, description = "the pack as JSON, or with format=zip a ZIP file"),
        (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn evidence(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(slug): ApiPath<String>,
    ApiQuery(p): ApiQuery<EvidenceParams>,
) -> ApiResult<Response> {
    let reader = powers::reader_of(&state.svc, &user.identity, &slug).await?;
    let format = p.format.as_deref().unwrap_or("json");
    if !["json", "html", "zip"].contains(&format) {
        return Err(crate::service::ServiceError::invalid_field(
            "format",
            "invalid_choice",
            "must be json, html or zip",
        )
        .into());
    }
    let lang = lang_of(p.lang.as_deref())?;
    // The files to keep carry the log's part; the printable page does not need it.
    let now = state.clock.now_ms();
    let pack = if format == "html" {
        packs::pack(&state.svc, &reader, &p.scheme, &p.from, &p.to, now).await?
    } else {
        packs::pack_to_keep(&state.svc, &reader, &p.scheme, &p.from, &p.to, now).await?
    };
    if format == "zip" {
        let name = format!("evidence-{}-{}-{}-{}.zip", pack.space.slug, pack.scheme.id, pack.from, pack.to);
        return Ok(file("application/zip", &name, packs::pack_zip(&pack)?));
    }
    if format == "html" {
        let page = crate::service::pack_page::pack_html(&pack, lang)?;
        return Ok(([(header::CONTENT_TYPE, "text/html; charset=utf-8")], page).into_response());
    }
    Ok(Json(pack).into_response())
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SchemeView {
    pub id: String,
    pub version: String,
    pub name_zh: String,
    pub name_en: String,
    pub period: String,
    pub source: String,
    /// SHA-256 of the file: what a pack names.
    pub sha256: String,
    /// Shipped with labinn, or loaded by an admin.
    pub shipped: bool,
    /// Each criterion: id, labels, metric, comparison, threshold.
    pub criteria: Vec<serde_json::Value>,
}

fn scheme_view(l: &crate::domain::scheme::LoadedScheme) -> SchemeView {
    SchemeView {
        id: l.scheme.id.clone(),
        version: l.scheme.version.clone(),
        name_zh: l.scheme.name_zh.clone(),
        name_en: l.scheme.name_en.clone(),
        period: l.scheme.period.as_str().into(),
        source: l.scheme.source.clone(),
        sha256: l.sha256.clone(),
        shipped: packs::SHIPPED.iter().any(|t| t.as_bytes() == l.text.as_bytes()),
        criteria: l.scheme.criteria.iter().map(|c| serde_json::to_value(c).unwrap_or_default()).collect(),
    }
}

/// Every subsidy scheme: the shipped ones and those admins loaded.
#[utoipa::path(get, path = "/api/v1/schemes", tag = "reports", security(("bearer" = [])),
    responses((status = 200, body = Vec<SchemeView>), (status = 401, body = Problem)))]
async fn list_schemes(State(state): State<AppState>, _user: AuthUser) -> ApiResult<Json<Vec<SchemeView>>> {
    Ok(Json(packs::schemes(&state.svc).await?.iter().map(scheme_view).collect()))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoadScheme {
    /// The scheme file (TOML), as in `schemes/`.
    pub toml: String,
}

/// Loads a scheme file (admins). 201 when new, 200 when the same file was loaded before.
#[utoipa::path(post, path = "/api/v1/admin/schemes", tag = "admin", request_body = LoadScheme, security(("bearer" = [])),
    responses((status = 201, body = SchemeView), (status = 200, body = SchemeView), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn load_scheme(
    State(state): State<AppState>,
    AdminUser(admin): AdminUser,
    ApiJson(body): ApiJson<LoadScheme>,
) -> ApiResult<(axum::http::StatusCode, Json<SchemeView>)> {
    let (loaded, new) = packs::load_scheme(&state.svc, &admin, &body.toml, state.clock.now_ms()).await?;
    let status = if new { axum::http::StatusCode::CREATED } else { axum::http::StatusCode::OK };
    Ok((status, Json(scheme_view(&loaded))))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct OverviewParams {
    scheme: String,
    from: String,
    to: String,
    /// `met` (default), `name`, or a criterion's id (highest value first).
    sort: Option<String>,
    /// `json` (default) or `csv`.
    format: Option<String>,
}

/// Every space of the district judged against one scheme and period, side by side, sorted.
/// Reviewers and admins.
#[utoipa::path(get, path = "/api/v1/district/overview", tag = "reports", params(OverviewParams), security(("bearer" = [])),
    responses((status = 200, description = "{scheme, from, to, spaces: [{slug, names, met, not_met, attested_only, criteria}]}; CSV with format=csv"),
        (status = 401, body = Problem), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn district_overview(
    State(state): State<AppState>,
    user: AuthUser,
    ApiQuery(p): ApiQuery<OverviewParams>,
) -> ApiResult<Response> {
    let format = p.format.as_deref().unwrap_or("json");
    if !["json", "csv"].contains(&format) {
        return Err(
            crate::service::ServiceError::invalid_field("format", "invalid_choice", "must be json or csv").into()
        );
    }
    let (scheme, spaces) =
        packs::overview(&state.svc, &user.identity, &p.scheme, &p.from, &p.to, p.sort.as_deref(), state.clock.now_ms())
            .await?;
    if format == "csv" {
        let bytes = exports::overview_csv(&scheme.id, &spaces)?;
        return Ok(file("text/csv; charset=utf-8", &format!("district-{}-{}-{}.csv", scheme.id, p.from, p.to), bytes));
    }
    Ok(Json(serde_json::json!({"scheme": scheme, "from": p.from, "to": p.to, "spaces": spaces})).into_response())
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct UsageParams {
    /// First and last local dates (each space's own), both included.
    from: String,
    to: String,
    /// `day`, `week`, `month` (default), `quarter` or `year`.
    bucket: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SpaceUsageView {
    pub space: ReportSpace,
    pub from: String,
    pub to: String,
    /// The maker's own figures (open-time figures are null: a maker owns no units).
    pub total: Figures,
    pub buckets: Vec<BucketFigures>,
    /// The maker's used hours by local weekday × hour.
    pub heatmap: Vec<Vec<f64>>,
}

/// The signed-in maker's own use, per space where they booked: bookings, sessions, used
/// hours, no-shows, cancellations, overstay, by bucket. Nobody else's use is in it.
#[utoipa::path(get, path = "/api/v1/me/usage", tag = "reports", params(UsageParams), security(("bearer" = [])),
    responses((status = 200, body = Vec<SpaceUsageView>), (status = 401, body = Problem), (status = 422, body = Problem)))]
async fn my_usage(
    State(state): State<AppState>,
    user: AuthUser,
    ApiQuery(p): ApiQuery<UsageParams>,
) -> ApiResult<Json<Vec<SpaceUsageView>>> {
    let all = reports::my_usage(&state.svc, &user.identity, &p.from, &p.to, p.bucket.as_deref(), state.clock.now_ms())
        .await?;
    Ok(Json(
        all.into_iter()
            .map(|u| SpaceUsageView {
                space: ReportSpace {
                    slug: u.space.slug.clone(),
                    name_zh: u.space.name_zh.clone(),
                    name_en: u.space.name_en.clone(),
                    timezone: u.space.timezone.clone(),
                },
                from: u.period.first.to_string(),
                to: u.period.last.to_string(),
                total: u.figures.total.clone(),
                buckets: bucket_views(&u.figures),
                heatmap: u.figures.heatmap.iter().map(|row| row.to_vec()).collect(),
            })
            .collect(),
    ))
}

/// A space's privacy settings for reports (its operators, reviewers, admins).
#[utoipa::path(get, path = "/api/v1/spaces/{slug}/report-privacy", tag = "reports", params(("slug" = String, Path)),
    security(("bearer" = [])), responses((status = 200, body = reports::Privacy), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn report_privacy(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(slug): ApiPath<String>,
) -> ApiResult<Json<reports::Privacy>> {
    let reader = powers::reader_of(&state.svc, &user.identity, &slug).await?;
    Ok(Json(reports::privacy(&state.svc, &reader).await?))
}

/// Sets whether the space's operators see per-maker figures, and whether reviewers see
/// makers' names (its operators, admins).
#[utoipa::path(put, path = "/api/v1/spaces/{slug}/report-privacy", tag = "reports", params(("slug" = String, Path)),
    request_body = reports::Privacy, security(("bearer" = [])),
    responses((status = 200, body = reports::Privacy), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn set_report_privacy(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(slug): ApiPath<String>,
    ApiJson(body): ApiJson<reports::Privacy>,
) -> ApiResult<Json<reports::Privacy>> {
    let op = powers::operator_of(&state.svc, &user.identity, &slug, "changing the space's report privacy").await?;
    Ok(Json(reports::set_privacy(&state.svc, &op, body).await?))
}
