//! The reviewer console (`/review`): every space of the district against one scheme and
//! period, each criterion met or not, sortable and exported as CSV; a space's evidence pack
//! with the rows behind each criterion and the ZIP; the ledger head, with "record this head"
//! (the district's own copy, [`witness`]) and the copies recorded before, each checked
//! against the ledger. Reviewers and admins; anyone else gets a page that says they may not.

use super::insight::{EvidenceQuery, evidence_view};
use super::*;
use crate::service::evidence as packs;
use crate::service::witness::{self, RecordedHead};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/review", get(overview))
        .route("/review/", get(overview))
        .route("/review/spaces/{slug}", get(space))
        .route("/review/spaces/{slug}/heads", post(record))
}

/// The reader may use the reviewer console, as a refusal page otherwise.
fn district(v: &Visitor, user: &SignedIn) -> Result<(), Response> {
    if user.identity.reviewer().is_none() && user.identity.admin().is_none() {
        return Err(v.fail(ServiceError::forbidden(v.t.w("rev_only"))));
    }
    Ok(())
}

fn when(t: &Texts, at: i64) -> String {
    day_time(t, Zone::default(), at)
}

pub struct HeadLine {
    pub count: i64,
    pub hash: String,
    pub by: String,
    pub at: String,
    pub holds: bool,
}

fn head_line(t: &Texts, h: &RecordedHead) -> HeadLine {
    HeadLine {
        count: h.count,
        hash: h.hash.clone(),
        by: h.recorded_by_name.clone(),
        at: when(t, h.recorded_at),
        holds: h.holds,
    }
}

// ---------- the district overview ----------

#[derive(Debug, Default, Deserialize)]
struct OverviewQuery {
    #[serde(default)]
    scheme: Option<String>,
    #[serde(default)]
    from: Option<String>,
    #[serde(default)]
    to: Option<String>,
    #[serde(default)]
    sort: Option<String>,
    #[serde(default)]
    #[allow(dead_code)]
    lang: Option<String>,
}

pub struct Cellv {
    pub value: String,
    pub class: &'static str,
    pub status: &'static str,
}

pub struct SpaceLine {
    pub slug: String,
    pub name: String,
    pub href: String,
    pub met: usize,
    pub not_met: usize,
    pub attested_only: usize,
    pub cells: Vec<Cellv>,
    pub head: Option<HeadLine>,
}

#[derive(Template)]
#[template(path = "review_overview.html")]
struct OverviewPage {
    t: &'static Texts,
    nav: Nav,
    from: String,
    to: String,
    sort: String,
    schemes: Vec<(String, String, bool)>,
    /// (label, href, sorted by it) of each column that sorts.
    columns: Vec<(String, String, bool)>,
    spaces: Vec<SpaceLine>,
    csv: String,
    errors: Vec<String>,
    head_count: i64,
    head_hash: String,
}

async fn overview(State(state): State<AppState>, v: Visitor, uri: Uri) -> Response {
    let user = or_answer!(v.require());
    let oq: OverviewQuery = or_answer!(query(&v, &uri));
    or_answer!(district(&v, user));
    let t = v.t;
    let now = state.clock.now_ms();
    let schemes = or_answer!(v, packs::schemes(&state.svc).await);
    let scheme = oq
        .scheme
        .clone()
        .filter(|s| !s.trim().is_empty())
        .or_else(|| schemes.first().map(|s| s.scheme.id.clone()))
        .unwrap_or_default();
    // The district's default period: the last twelve months up to today (Asia/Shanghai).
    let today = utc_to_local(Zone::default().tz(), now).date_naive();
    let year_ago = today.checked_sub_months(chrono::Months::new(12)).and_then(|d| d.succ_opt()).unwrap_or(today);
    let from =
        oq.from.clone().filter(|s| !s.trim().is_empty()).unwrap_or_else(|| year_ago.format("%Y-%m-%d").to_string());
    let to = oq.to.clone().filter(|s| !s.trim().is_empty()).unwrap_or_else(|| today.format("%Y-%m-%d").to_string());
    let sort = oq.sort.clone().filter(|s| !s.trim().is_empty()).unwrap_or_else(|| "met".into());
    let heads = or_answer!(v, witness::latest_heads(&state.svc, &user.identity).await);
    let (head_count, head_hash) = or_answer!(v, state.svc.db.ledger_head().await.map_err(ServiceError::from));
    let chosen = schemes.iter().find(|l| l.scheme.id == scheme || l.sha256 == scheme);
    let sort_href =
        |by: &str| format!("/review?{}", query_of(&[("scheme", &scheme), ("from", &from), ("to", &to), ("sort", by)]));
    let mut columns = vec![
        (t.w("rev_space").to_owned(), sort_href("name"), sort == "name"),
        (t.w("ev_met").to_owned(), sort_href("met"), sort == "met"),
    ];
    if let Some(l) = chosen {
        for c in &l.scheme.criteria {
            let label = if t.zh { c.label_zh.clone() } else { c.label_en.clone() };
            columns.push((label, sort_href(&c.id), sort == c.id));
        }
    }
    let (spaces, errors, status) =
        match packs::overview(&state.svc, &user.identity, &scheme, &from, &to, Some(&sort), now).await {
            Ok((_, spaces)) => {
                let lines = spaces
                    .iter()
                    .map(|s| SpaceLine {
                        slug: s.slug.clone(),
                        name: if t.zh { s.name_zh.clone() } else { s.name_en.clone() },
                        href: format!(
                            "/review/spaces/{}?{}",
                            s.slug,
                            query_of(&[("scheme", &scheme), ("from", &from), ("to", &to)])
                        ),
                        met: s.met,
                        not_met: s.not_met,
                        attested_only: s.attested_only,
                        cells: s
                            .criteria
                            .iter()
                            .map(|c| {
                                let metric = chosen
                                    .and_then(|l| l.scheme.criteria.iter().find(|k| k.id == c.id))
                                    .map(|k| k.metric);
                                let (class, key) = super::insight::status_key(c.status);
                                Cellv {
                                    value: match metric {
                                        Some(m) => super::insight::value_text(m, c.value),
                                        None => c.value.map_or_else(|| "—".into(), |x| x.to_string()),
                                    },
                                    class,
                                    status: t.w(key),
                                }
                            })
                            .collect(),
                        head: heads.get(&s.slug).map(|h| head_line(t, h)),
                    })
                    .collect();
                (lines, Vec::new(), StatusCode::OK)
            }
            Err(e) if e.code == Code::ValidationFailed => {
                (Vec::new(), field_errors(t, &e), StatusCode::UNPROCESSABLE_ENTITY)
            }
            Err(e) => return v.fail(e),
        };
    let csv = format!(
        "/api/v1/district/overview?{}",
        query_of(&[("scheme", &scheme), ("from", &from), ("to", &to), ("sort", &sort), ("format", "csv")])
    );
    let schemes = schemes
        .iter()
        .map(|l| {
            let name = if t.zh { l.scheme.name_zh.clone() } else { l.scheme.name_en.clone() };
            (l.scheme.id.clone(), name, l.scheme.id == scheme || l.sha256 == scheme)
        })
        .collect();
    let p =
        OverviewPage { t, nav: v.nav(), from, to, sort, schemes, columns, spaces, csv, errors, head_count, head_hash };
    page(t, status, &p)
}

// ---------- a space ----------

#[derive(Template)]
#[template(path = "review_space.html")]
struct SpacePage {
    t: &'static Texts,
    nav: Nav,
    slug: String,
    space_name: String,
    back: String,
    ev: super::insight::EvidenceView,
    head_count: i64,
    head_hash: String,
    heads: Vec<HeadLine>,
    done: bool,
    /// Reviewers record heads (an admin reads them).
    can_record: bool,
}

#[derive(Debug, Default, Deserialize)]
struct SpaceQuery {
    #[serde(flatten)]
    ev: EvidenceQuery,
    #[serde(default)]
    done: Option<String>,
}

async fn space(State(state): State<AppState>, v: Visitor, Path(slug): Path<String>, uri: Uri) -> Response {
    let user = or_answer!(v.require());
    let sq: SpaceQuery = or_answer!(query(&v, &uri));
    or_answer!(district(&v, user));
    let t = v.t;
    let now = state.clock.now_ms();
    let reader = or_answer!(v, crate::service::powers::reader_of(&state.svc, &user.identity, &slug).await);
    let (ev, status) =
        or_answer!(v, evidence_view(&state, t, &reader, &sq.ev, format!("/review/spaces/{slug}"), now).await);
    let heads = or_answer!(v, witness::heads_of(&state.svc, &user.identity, &slug).await);
    let (head_count, head_hash) = or_answer!(v, state.svc.db.ledger_head().await.map_err(ServiceError::from));
    let back_q: Vec<(&str, &str)> = [("scheme", &sq.ev.scheme), ("from", &sq.ev.from), ("to", &sq.ev.to)]
        .into_iter()
        .filter_map(|(k, v)| v.as_deref().map(|v| (k, v)))
        .collect();
    let space = reader.space();
    let p = SpacePage {
        t,
        nav: v.nav(),
        slug: slug.clone(),
        space_name: if t.zh { space.name_zh.clone() } else { space.name_en.clone() },
        back: format!("/review?{}", query_of(&back_q)),
        ev,
        head_count,
        head_hash,
        heads: heads.iter().map(|h| head_line(t, h)).collect(),
        done: sq.done.as_deref() == Some("recorded"),
        can_record: user.identity.reviewer().is_some(),
    };
    page(t, status, &p)
}

async fn record(
    State(state): State<AppState>,
    v: Visitor,
    Path(slug): Path<String>,
    form: FormResult<CsrfForm>,
) -> Response {
    let (user, _) = or_answer!(signed_form(&v, form));
    let Some(reviewer) = user.identity.reviewer() else {
        return v.fail(ServiceError::forbidden(v.t.w("rev_record_only")));
    };
    or_answer!(v, witness::record_head(&state.svc, &reviewer, &slug, state.clock.now_ms()).await);
    // Back to the page the form was on, keeping its scheme and period.
    let from = v
        .from_page
        .clone()
        .unwrap_or_else(|| format!("/review/spaces/{slug}"))
        .replace("&done=recorded", "")
        .replace("?done=recorded", "?");
    let sep = if from.contains('?') { '&' } else { '?' };
    let back = if from.starts_with(&format!("/review/spaces/{slug}")) {
        format!("{from}{sep}done=recorded#heads")
    } else {
        format!("/review/spaces/{slug}?done=recorded#heads")
    };
    see_other(&back)
}
