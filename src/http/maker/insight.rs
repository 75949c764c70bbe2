//! What a space was used for, from pages: the operator console's reports
//! (`/ops/{slug}/reports`: period and grouping pickers, the charts, the figures by group and
//! by bucket, CSV and XLSX) and evidence (`/ops/{slug}/evidence`: a scheme's criteria met,
//! not met or attested only, with the rows behind each). The reviewer console shows the same
//! evidence view for every space ([`evidence_view`]). The figures are those of the API and
//! the files: the same use cases, [`reports::utilization`] and [`packs::pack`].

use super::*;
use crate::domain::report::{BucketSize, GroupBy};
use crate::domain::scheme::{SchemePeriod, SourceKind, Status};
use crate::service::evidence::{self as packs, Pack};
use crate::service::exports::{COLUMNS, Cell};
use crate::service::powers::SpaceReader;
use crate::service::reports::{self, Utilization, UtilizationQuery};
use chrono::{Months, NaiveDate};

pub fn router() -> Router<AppState> {
    Router::new().route("/ops/{slug}/reports", get(reports_page)).route("/ops/{slug}/evidence", get(ops_evidence))
}

/// The figures the console's tables show, by their field names (every figure is in the
/// files and in the space's full list below the tables).
const SHOWN: [&str; 10] = [
    "open_hours",
    "booked_hours",
    "used_hours",
    "utilization",
    "booked_share",
    "show_rate",
    "bookings",
    "no_shows",
    "no_show_rate",
    "makers",
];

/// The headline figures of the space, above the charts.
const HEADLINE: [&str; 6] = ["used_hours", "utilization", "show_rate", "no_show_rate", "makers", "peak_concurrent"];

/// A figure as a page shows it: hours to one decimal, ratios as percentages, money in yuan;
/// "—" where the figure has no value (a ratio over nothing). The files keep the exact values.
pub(super) fn shown(cell: Cell) -> String {
    match cell {
        Cell::Hours(Some(h)) => format!("{h:.1}"),
        Cell::Ratio(Some(r)) => format!("{:.1} %", r * 100.0),
        Cell::Hours(None) | Cell::Ratio(None) => "—".to_owned(),
        Cell::Count(n) => n.to_string(),
        Cell::Money(m) => format!("¥{}.{:02}", m / 100, (m % 100).abs()),
    }
}

fn column(field: &str) -> Option<&'static crate::service::exports::Column> {
    COLUMNS.iter().find(|c| c.field == field)
}

fn label(t: &Texts, c: &crate::service::exports::Column) -> &'static str {
    if t.zh { c.zh } else { c.en }
}

/// The reader's own operator power over `slug`, as a page otherwise.
async fn reader_for_ops(state: &AppState, v: &Visitor, user: &SignedIn, slug: &str) -> Result<SpaceReader, Response> {
    let op = operator(state, v, user, slug).await?;
    user.identity.reader_of(op.space().clone()).ok_or_else(|| v.fail(ServiceError::forbidden("operators read")))
}

fn space_name(t: &Texts, reader: &SpaceReader) -> String {
    let s = reader.space();
    if t.zh { s.name_zh.clone() } else { s.name_en.clone() }
}

/// Today's local date in the space's zone.
fn today_of(reader: &SpaceReader, now: i64) -> NaiveDate {
    let zone = Zone::parse("timezone", &reader.space().timezone).unwrap_or_default();
    utc_to_local(zone.tz(), now).date_naive()
}

fn ymd(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

fn month_start(d: NaiveDate) -> NaiveDate {
    d.with_day(1).unwrap_or(d)
}

fn quarter_start(d: NaiveDate) -> NaiveDate {
    NaiveDate::from_ymd_opt(d.year(), (d.month0() / 3) * 3 + 1, 1).unwrap_or(d)
}

/// Named periods ending today or before, as (label, from, to) in local dates.
fn quick_periods(t: &Texts, today: NaiveDate) -> Vec<(&'static str, String, String)> {
    let this_month = month_start(today);
    let last_month_end = this_month.pred_opt().unwrap_or(this_month);
    let last_month = month_start(last_month_end);
    let year_start = NaiveDate::from_ymd_opt(today.year(), 1, 1).unwrap_or(today);
    let last_year_start = NaiveDate::from_ymd_opt(today.year() - 1, 1, 1).unwrap_or(today);
    let last_year_end = year_start.pred_opt().unwrap_or(year_start);
    let twelve = today.checked_sub_months(Months::new(12)).and_then(|d| d.succ_opt()).unwrap_or(today);
    let _ = t;
    vec![
        ("rep_this_month", ymd(this_month), ymd(today)),
        ("rep_last_month", ymd(last_month), ymd(last_month_end)),
        ("rep_this_quarter", ymd(quarter_start(today)), ymd(today)),
        ("rep_this_year", ymd(year_start), ymd(today)),
        ("rep_last_12_months", ymd(twelve), ymd(today)),
        ("rep_last_year", ymd(last_year_start), ymd(last_year_end)),
    ]
}

// ---------- reports ----------

#[derive(Debug, Default, Deserialize)]
struct ReportQuery {
    #[serde(default)]
    from: Option<String>,
    #[serde(default)]
    to: Option<String>,
    #[serde(default)]
    by: Option<String>,
    #[serde(default)]
    bucket: Option<String>,
    #[serde(default)]
    #[allow(dead_code)]
    lang: Option<String>,
}

/// A row of a figures table: its name and its cells.
pub struct Row {
    pub name: String,
    pub cells: Vec<String>,
}

pub struct ReportView {
    pub headline: Vec<(&'static str, String)>,
    pub charts: Vec<String>,
    pub columns: Vec<&'static str>,
    pub groups: Vec<Row>,
    pub buckets: Vec<Row>,
    pub all: Vec<(&'static str, String)>,
    pub csv: String,
    pub xlsx: String,
    pub pseudonyms: bool,
    pub generated: String,
}

#[derive(Template)]
#[template(path = "ops_reports.html")]
struct ReportsPage {
    t: &'static Texts,
    nav: Nav,
    slug: String,
    space_name: String,
    tab: &'static str,
    from: String,
    to: String,
    /// (value, label, chosen) of each grouping and bucket size.
    bys: Vec<(&'static str, String, bool)>,
    buckets: Vec<(&'static str, &'static str, bool)>,
    /// (label, href) of the named periods.
    quick: Vec<(&'static str, String)>,
    errors: Vec<String>,
    report: Option<ReportView>,
}

fn group_label(t: &Texts, by: GroupBy) -> String {
    let n = reports::grouping_name(by);
    if t.zh { n.zh } else { n.en }
}

fn report_view(t: &Texts, u: &Utilization, q: &UtilizationQuery) -> crate::service::ServiceResult<ReportView> {
    let lang = if t.zh { "zh" } else { "en" };
    let cols: Vec<&crate::service::exports::Column> = SHOWN.iter().filter_map(|f| column(f)).collect();
    let name_of = |key: &str| -> String {
        match u.names.get(key) {
            Some(n) if t.zh => n.zh.clone(),
            Some(n) => n.en.clone(),
            None => u.shown_key(key),
        }
    };
    let cells = |f: &crate::domain::report::Figures| cols.iter().map(|c| shown((c.get)(f))).collect::<Vec<_>>();
    let whole = &u.report.whole.total;
    let api = |format: &str| {
        format!(
            "/api/v1/reports/utilization?{}",
            query_of(&[
                ("space", &u.space.slug),
                ("from", &q.from),
                ("to", &q.to),
                ("by", u.by.as_str()),
                ("bucket", u.bucket.as_str()),
                ("format", format),
                ("lang", lang),
            ])
        )
    };
    Ok(ReportView {
        headline: HEADLINE.iter().filter_map(|f| column(f)).map(|c| (label(t, c), shown((c.get)(whole)))).collect(),
        charts: vec![
            crate::service::charts::trend(u, lang)?,
            crate::service::charts::heatmap(u, lang)?,
            crate::service::charts::by_group(u, lang)?,
        ],
        columns: cols.iter().map(|c| label(t, c)).collect(),
        groups: u.report.groups.iter().map(|g| Row { name: name_of(&g.key), cells: cells(&g.total) }).collect(),
        buckets: u.report.whole.buckets.iter().map(|(b, f)| Row { name: b.label.clone(), cells: cells(f) }).collect(),
        all: COLUMNS.iter().map(|c| (label(t, c), shown((c.get)(whole)))).collect(),
        csv: api("csv"),
        xlsx: api("xlsx"),
        pseudonyms: u.by == GroupBy::Maker && !u.names_shown,
        generated: format!("{} ({})", day_time(t, u.zone, u.generated_at), u.space.timezone),
    })
}

async fn reports_page(State(state): State<AppState>, v: Visitor, Path(slug): Path<String>, uri: Uri) -> Response {
    let user = or_answer!(v.require());
    let q: ReportQuery = or_answer!(query(&v, &uri));
    let reader = or_answer!(reader_for_ops(&state, &v, user, &slug).await);
    let t = v.t;
    let now = state.clock.now_ms();
    let today = today_of(&reader, now);
    // By default the last three whole months and this one, by month.
    let default_from = month_start(today).checked_sub_months(Months::new(2)).unwrap_or(today);
    let uq = UtilizationQuery {
        from: q.from.clone().filter(|s| !s.trim().is_empty()).unwrap_or_else(|| ymd(default_from)),
        to: q.to.clone().filter(|s| !s.trim().is_empty()).unwrap_or_else(|| ymd(today)),
        bucket: q.bucket.clone(),
        by: q.by.clone(),
    };
    let (report, errors, status) = match reports::utilization(&state.svc, &reader, &uq, now).await {
        Ok(u) => match report_view(t, &u, &uq) {
            Ok(r) => (Some(r), Vec::new(), StatusCode::OK),
            Err(e) => return v.fail(e),
        },
        Err(e) if e.code == Code::ValidationFailed => (None, field_errors(t, &e), StatusCode::UNPROCESSABLE_ENTITY),
        Err(e) if e.code == Code::Forbidden => (None, vec![e.message.clone()], StatusCode::FORBIDDEN),
        Err(e) => return v.fail(e),
    };
    let by = uq.by.clone().unwrap_or_else(|| "resource".into());
    let bucket = uq.bucket.clone().unwrap_or_else(|| "month".into());
    let quick = quick_periods(t, today)
        .into_iter()
        .map(|(key, f, to)| {
            (
                key,
                format!(
                    "/ops/{slug}/reports?{}",
                    query_of(&[("from", &f), ("to", &to), ("by", &by), ("bucket", &bucket)])
                ),
            )
        })
        .collect();
    let p = ReportsPage {
        t,
        nav: v.nav(),
        slug: slug.clone(),
        space_name: space_name(t, &reader),
        tab: "reports",
        from: uq.from.clone(),
        to: uq.to.clone(),
        bys: GroupBy::ALL.iter().map(|b| (b.as_str(), group_label(t, *b), b.as_str() == by)).collect(),
        buckets: BucketSize::ALL
            .iter()
            .map(|b| (b.as_str(), t.w(&format!("rep_bucket.{}", b.as_str())), b.as_str() == bucket))
            .collect(),
        quick,
        errors,
        report,
    };
    page(t, status, &p)
}

// ---------- evidence ----------

#[derive(Debug, Default, Deserialize)]
pub(super) struct EvidenceQuery {
    #[serde(default)]
    pub scheme: Option<String>,
    #[serde(default)]
    pub from: Option<String>,
    #[serde(default)]
    pub to: Option<String>,
    #[serde(default)]
    #[allow(dead_code)]
    pub lang: Option<String>,
}

/// A row behind a criterion, as the page lists it.
pub struct RowLine {
    pub table: &'static str,
    pub id: String,
    pub seq: String,
    pub hash: String,
}

pub struct CriterionLine {
    pub id: String,
    pub label: String,
    pub value: String,
    pub threshold: String,
    pub status: &'static str,
    pub status_text: &'static str,
    pub source: &'static str,
    pub rows: Vec<RowLine>,
    pub more_rows: usize,
}

pub struct PackView {
    pub scheme_name: String,
    pub scheme_hash: String,
    pub scheme_source: String,
    pub met: usize,
    pub not_met: usize,
    pub attested_only: usize,
    pub criteria: Vec<CriterionLine>,
    /// (kind, title, size, sha-256) of each document.
    pub documents: Vec<(String, String, String, String)>,
    pub head_count: i64,
    pub head_hash: String,
    pub generated: String,
    pub html: String,
    pub zip: String,
    pub json: String,
}

/// The evidence form and its pack, for the operator console and the reviewer console.
pub struct EvidenceView {
    /// Where the form goes (`/ops/{slug}/evidence` or `/review/spaces/{slug}`).
    pub action: String,
    pub from: String,
    pub to: String,
    /// (id, name, chosen) of every scheme.
    pub schemes: Vec<(String, String, bool)>,
    pub quick: Vec<(&'static str, String)>,
    pub errors: Vec<String>,
    pub pack: Option<PackView>,
}

pub(super) fn value_text(metric: crate::domain::scheme::Metric, v: Option<f64>) -> String {
    match v {
        None => "—".to_owned(),
        Some(x) if metric.is_share() => format!("{:.1} %", x * 100.0),
        Some(x) if x.fract() == 0.0 => format!("{x:.0}"),
        Some(x) => format!("{x:.2}"),
    }
}

/// A comparison as people write it: `>=` is ≥.
fn comparison_sign(c: &str) -> &str {
    match c {
        ">=" => "≥",
        "<=" => "≤",
        "==" => "=",
        other => other,
    }
}

pub(super) fn status_key(s: Status) -> (&'static str, &'static str) {
    match s {
        Status::Met => ("met", "ev_met"),
        Status::NotMet => ("not-met", "ev_not_met"),
        Status::AttestedOnly => ("attested", "ev_attested_only"),
    }
}

fn source_key(s: SourceKind) -> &'static str {
    match s {
        SourceKind::Metered => "ev_source.metered",
        SourceKind::Recorded => "ev_source.recorded",
        SourceKind::Attested => "ev_source.attested",
    }
}

fn pack_view(t: &Texts, pack: &Pack, schemes: &[crate::domain::scheme::LoadedScheme]) -> PackView {
    let lang = if t.zh { "zh" } else { "en" };
    let metric_of = |id: &str| -> Option<crate::domain::scheme::Metric> {
        schemes
            .iter()
            .find(|s| s.sha256 == pack.scheme.sha256)
            .and_then(|s| s.scheme.criteria.iter().find(|c| c.id == id))
            .map(|c| c.metric)
    };
    let api = |format: &str| {
        format!(
            "/api/v1/spaces/{}/evidence?{}",
            pack.space.slug,
            query_of(&[
                ("scheme", &pack.scheme.id),
                ("from", &pack.from),
                ("to", &pack.to),
                ("format", format),
                ("lang", lang)
            ])
        )
    };
    let criteria = pack
        .criteria
        .iter()
        .map(|c| {
            let (status, key) = status_key(c.status);
            let metric = metric_of(&c.id);
            let shown_value = |x: Option<f64>| match metric {
                Some(m) => value_text(m, x),
                None => x.map_or_else(|| "—".to_owned(), |x| format!("{x}")),
            };
            CriterionLine {
                id: c.id.clone(),
                label: if t.zh { c.label_zh.clone() } else { c.label_en.clone() },
                value: shown_value(c.value),
                threshold: format!("{} {}", comparison_sign(&c.comparison), shown_value(Some(c.threshold))),
                status,
                status_text: t.w(key),
                source: t.w(source_key(c.source_kind)),
                rows: c
                    .rows
                    .iter()
                    .take(crate::service::pack_page::ROWS_SHOWN)
                    .map(|r| RowLine {
                        table: r.table,
                        id: r.id.clone(),
                        seq: r.ledger_seq.map(|s| s.to_string()).unwrap_or_else(|| "—".into()),
                        hash: r.ledger_hash.as_deref().map(|h| h.chars().take(16).collect()).unwrap_or_default(),
                    })
                    .collect(),
                more_rows: c.rows.len().saturating_sub(crate::service::pack_page::ROWS_SHOWN),
            }
        })
        .collect();
    PackView {
        scheme_name: if t.zh { pack.scheme.name_zh.clone() } else { pack.scheme.name_en.clone() },
        scheme_hash: pack.scheme.sha256.clone(),
        scheme_source: pack.scheme.source.clone(),
        met: pack.met,
        not_met: pack.not_met,
        attested_only: pack.attested_only,
        criteria,
        documents: pack
            .documents
            .iter()
            .map(|d| {
                (d.kind.clone(), d.title.clone(), format!("{} KB", (d.size_bytes + 1023) / 1024), d.sha256.clone())
            })
            .collect(),
        head_count: pack.ledger_head.count,
        head_hash: pack.ledger_head.hash.clone(),
        // In the space's local time (the pack itself keeps UTC).
        generated: chrono::DateTime::parse_from_rfc3339(&pack.generated_at)
            .ok()
            .and_then(|at| Zone::parse("timezone", &pack.space.timezone).ok().map(|z| (at, z)))
            .map_or_else(
                || pack.generated_at.clone(),
                |(at, z)| format!("{} ({})", day_time(t, z, at.timestamp_millis()), pack.space.timezone),
            ),
        html: api("html"),
        zip: api("zip"),
        json: api("json"),
    }
}

/// The default period of a scheme: the quarter so far for a quarterly scheme, else the last
/// twelve months up to today.
fn scheme_period(period: SchemePeriod, today: NaiveDate) -> (NaiveDate, NaiveDate) {
    match period {
        SchemePeriod::Quarter => (quarter_start(today), today),
        SchemePeriod::CalendarYear | SchemePeriod::Last12Months => {
            (today.checked_sub_months(Months::new(12)).and_then(|d| d.succ_opt()).unwrap_or(today), today)
        }
    }
}

/// The evidence view of `reader`'s space for the query: the form's values, and the pack or
/// the reasons it could not be made. `action` is the form's path.
///
/// # Errors
/// A service error that is not the reader's input (store failures) as the page's error.
pub(super) async fn evidence_view(
    state: &AppState,
    t: &Texts,
    reader: &SpaceReader,
    q: &EvidenceQuery,
    action: String,
    now: i64,
) -> Result<(EvidenceView, StatusCode), ServiceError> {
    let schemes = packs::schemes(&state.svc).await?;
    let today = today_of(reader, now);
    let scheme =
        q.scheme.clone().filter(|s| !s.trim().is_empty()).or_else(|| schemes.first().map(|s| s.scheme.id.clone()));
    let chosen = scheme.as_deref().and_then(|s| schemes.iter().find(|l| l.scheme.id == s || l.sha256 == s));
    let (df, dt) = scheme_period(chosen.map_or(SchemePeriod::Last12Months, |l| l.scheme.period), today);
    let from = q.from.clone().filter(|s| !s.trim().is_empty()).unwrap_or_else(|| ymd(df));
    let to = q.to.clone().filter(|s| !s.trim().is_empty()).unwrap_or_else(|| ymd(dt));
    let scheme = scheme.unwrap_or_default();
    let (pack, errors, status) = match packs::pack(&state.svc, reader, &scheme, &from, &to, now).await {
        Ok(p) => (Some(pack_view(t, &p, &schemes)), Vec::new(), StatusCode::OK),
        Err(e) if e.code == Code::ValidationFailed => (None, field_errors(t, &e), StatusCode::UNPROCESSABLE_ENTITY),
        Err(e) => return Err(e),
    };
    let quick = quick_periods(t, today)
        .into_iter()
        .map(|(key, f, to)| (key, format!("{action}?{}", query_of(&[("scheme", &scheme), ("from", &f), ("to", &to)]))))
        .collect();
    let names = schemes
        .iter()
        .map(|l| {
            let name = if t.zh { l.scheme.name_zh.clone() } else { l.scheme.name_en.clone() };
            (l.scheme.id.clone(), name, l.scheme.id == scheme || l.sha256 == scheme)
        })
        .collect();
    Ok((EvidenceView { action, from, to, schemes: names, quick, errors, pack }, status))
}

#[derive(Template)]
#[template(path = "ops_evidence.html")]
struct OpsEvidencePage {
    t: &'static Texts,
    nav: Nav,
    slug: String,
    space_name: String,
    tab: &'static str,
    ev: EvidenceView,
}

async fn ops_evidence(State(state): State<AppState>, v: Visitor, Path(slug): Path<String>, uri: Uri) -> Response {
    let user = or_answer!(v.require());
    let q: EvidenceQuery = or_answer!(query(&v, &uri));
    let reader = or_answer!(reader_for_ops(&state, &v, user, &slug).await);
    let now = state.clock.now_ms();
    let (ev, status) =
        or_answer!(v, evidence_view(&state, v.t, &reader, &q, format!("/ops/{slug}/evidence"), now).await);
    let p = OpsEvidencePage {
        t: v.t,
        nav: v.nav(),
        slug: slug.clone(),
        space_name: space_name(v.t, &reader),
        tab: "evidence",
        ev,
    };
    page(v.t, status, &p)
}
