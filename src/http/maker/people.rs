//! The operator console's makers (`/ops/{slug}/makers`): find a maker by name or e-mail
//! address, mark them verified (or not), grant a training with an expiry or revoke it; the
//! trainings the space runs with who holds them until when; the verified makers. Each change
//! is a use case of the service layer that the API calls too ([`trainings`],
//! [`accounts::set_verified`]).

use super::*;
use crate::service::console::{self, Held, MakerCard};
use crate::service::powers::OperatorOf;
use crate::service::trainings::GrantTraining;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/ops/{slug}/makers", get(makers_page))
        .route("/ops/{slug}/makers/{account}/verified", post(set_verified))
        .route("/ops/{slug}/trainings/grant", post(grant))
        .route("/ops/{slug}/trainings", post(define_training))
        .route("/ops/{slug}/trainings/{training}/revoke", post(revoke))
}

/// "until 6月30日 周三" or "no expiry".
fn expiry(t: &Texts, at: Option<i64>) -> String {
    match at {
        None => t.w("mk_no_expiry").to_owned(),
        Some(at) => {
            format!("{} {}", t.w("mk_until"), day_label(t, utc_to_local(Zone::default().tz(), at - 1).date_naive()))
        }
    }
}

pub struct HeldLine {
    pub name: String,
    pub until: String,
    pub slug: String,
    pub manageable: bool,
}

pub struct Found {
    pub id: String,
    pub name: String,
    pub email: String,
    pub verified: bool,
    pub holds: Vec<HeldLine>,
}

pub struct Holder {
    pub id: String,
    pub name: String,
    pub email: String,
    pub until: String,
}

pub struct TrainingBlock {
    pub slug: String,
    pub name: String,
    pub district: bool,
    pub holders: Vec<Holder>,
}

#[derive(Template)]
#[template(path = "ops_makers.html")]
struct MakersPage {
    t: &'static Texts,
    nav: Nav,
    slug: String,
    space_name: String,
    tab: &'static str,
    q: String,
    searched: bool,
    found: Vec<Found>,
    /// (slug, name) of the trainings this operator grants.
    trainings: Vec<(String, String)>,
    blocks: Vec<TrainingBlock>,
    verified: Vec<(String, String)>,
    done: String,
    error: String,
}

#[derive(Debug, Default, Deserialize)]
struct MakersQuery {
    #[serde(default)]
    q: Option<String>,
    #[serde(default)]
    done: Option<String>,
    #[serde(default)]
    #[allow(dead_code)]
    lang: Option<String>,
}

fn held_line(t: &Texts, h: &Held) -> HeldLine {
    HeldLine {
        name: name_of(t, &h.training.name_zh, &h.training.name_en),
        until: expiry(t, h.expires_at),
        slug: h.training.slug.clone(),
        manageable: h.manageable,
    }
}

fn found(t: &Texts, c: &MakerCard) -> Found {
    Found {
        id: c.maker.id.to_string(),
        name: c.maker.name.clone(),
        email: c.maker.email.clone(),
        verified: c.maker.verified,
        holds: c.holds.iter().map(|h| held_line(t, h)).collect(),
    }
}

/// The page for `q`, with a change's outcome (`done`) or a failure's words (`error`).
async fn makers_view(
    state: &AppState,
    v: &Visitor,
    user: &SignedIn,
    op: &OperatorOf,
    q: &str,
    (done, error, status): (&str, String, StatusCode),
) -> Response {
    let t = v.t;
    let q = q.trim();
    let (found, error, status) = if q.is_empty() {
        (Vec::new(), error, status)
    } else {
        match console::find_makers(&state.svc, op, q).await {
            Ok(cards) => (cards.iter().map(|c| found(t, c)).collect(), error, status),
            Err(e) if e.code == Code::ValidationFailed => {
                (Vec::new(), field_errors_text(t, &e), StatusCode::UNPROCESSABLE_ENTITY)
            }
            Err(e) => return v.fail(e),
        }
    };
    let run = or_answer!(v, console::trainings_run(&state.svc, op).await);
    let mut blocks = Vec::new();
    for tr in &run {
        let m = or_answer!(v, crate::service::trainings::managed(&state.svc, &user.identity, &tr.slug).await);
        let holders = or_answer!(v, crate::service::trainings::grants(&state.svc, &m).await);
        blocks.push(TrainingBlock {
            slug: tr.slug.clone(),
            name: name_of(t, &tr.name_zh, &tr.name_en),
            district: tr.space_id.is_none(),
            holders: holders
                .iter()
                .map(|g| Holder {
                    id: g.account_id.to_string(),
                    name: g.display_name.clone(),
                    email: g.email.clone(),
                    until: expiry(t, g.expires_at),
                })
                .collect(),
        });
    }
    let verified =
        or_answer!(v, console::verified_makers(&state.svc, op).await).into_iter().map(|m| (m.name, m.email)).collect();
    let space = op.space();
    let p = MakersPage {
        t,
        nav: v.nav(),
        slug: space.slug.clone(),
        space_name: name_of(t, &space.name_zh, &space.name_en),
        tab: "makers",
        q: q.to_owned(),
        searched: !q.is_empty(),
        found,
        trainings: run.iter().map(|tr| (tr.slug.clone(), name_of(t, &tr.name_zh, &tr.name_en))).collect(),
        blocks,
        verified,
        done: if done.is_empty() { String::new() } else { t.w(&format!("mk_done.{done}")).to_owned() },
        error,
    };
    page(t, status, &p)
}

async fn makers_page(State(state): State<AppState>, v: Visitor, Path(slug): Path<String>, uri: Uri) -> Response {
    let user = or_answer!(v.require());
    let mq: MakersQuery = or_answer!(query(&v, &uri));
    let op = or_answer!(operator(&state, &v, user, &slug).await);
    let done =
        mq.done.as_deref().filter(|d| ["verified", "unverified", "granted", "revoked"].contains(d)).unwrap_or_default();
    makers_view(&state, &v, user, &op, mq.q.as_deref().unwrap_or(""), (done, String::new(), StatusCode::OK)).await
}

/// The training `slug` is one this space runs (its own, or a district-wide one): a space's
/// pages act on its trainings only.
async fn run_here(state: &AppState, v: &Visitor, op: &OperatorOf, slug: &str) -> Result<(), Response> {
    let run = console::trainings_run(&state.svc, op).await.map_err(|e| v.fail(e))?;
    if run.iter().any(|t| t.slug == slug) { Ok(()) } else { Err(v.fail(ServiceError::not_found("training"))) }
}

/// Back to the makers page, on the same search, saying what was done.
fn back(slug: &str, q: &str, done: &str) -> Response {
    see_other(&format!("/ops/{slug}/makers?q={}&done={done}", encode(q.trim())))
}

#[derive(Debug, Deserialize)]
struct VerifiedForm {
    #[serde(default)]
    csrf: String,
    /// `1` to mark verified, `0` to take it back.
    #[serde(default)]
    verified: String,
    #[serde(default)]
    q: String,
}

#[derive(Debug, Deserialize)]
struct GrantForm {
    #[serde(default)]
    csrf: String,
    /// The training's slug.
    #[serde(default)]
    training: String,
    #[serde(default)]
    email: String,
    /// A date (valid through its end); empty: no expiry.
    #[serde(default)]
    expires: String,
    #[serde(default)]
    q: String,
}

#[derive(Debug, Deserialize)]
struct RevokeForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    account: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    q: String,
}

#[derive(Debug, Deserialize)]
struct TrainingForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    slug: String,
    #[serde(default)]
    name_zh: String,
    #[serde(default)]
    name_en: String,
    /// `space` (this space's own) or `district` (any operator runs it).
    #[serde(default)]
    scope: String,
}

signed_forms!(VerifiedForm, GrantForm, RevokeForm, TrainingForm);

/// Defines a training: this space's own, or a district-wide one.
async fn define_training(
    State(state): State<AppState>,
    v: Visitor,
    Path(slug): Path<String>,
    form: FormResult<TrainingForm>,
) -> Response {
    let (user, f) = or_answer!(signed_form(&v, form));
    let op = or_answer!(operator(&state, &v, user, &slug).await);
    let req = crate::service::trainings::CreateTraining {
        slug: f.slug.trim().to_owned(),
        name_zh: f.name_zh,
        name_en: f.name_en,
        space: (f.scope != "district").then(|| op.space().slug.clone()),
    };
    match crate::service::trainings::create(&state.svc, &user.identity, &req, state.clock.now_ms()).await {
        Ok(_) => back(&slug, "", "defined"),
        Err(e) if matches!(e.code, Code::ValidationFailed | Code::SlugTaken) => {
            let words = if e.code == Code::ValidationFailed { field_errors_text(v.t, &e) } else { e.message.clone() };
            makers_view(&state, &v, user, &op, "", ("", words, StatusCode::UNPROCESSABLE_ENTITY)).await
        }
        Err(e) => v.fail(e),
    }
}

async fn set_verified(
    State(state): State<AppState>,
    v: Visitor,
    Path((slug, account)): Path<(String, String)>,
    form: FormResult<VerifiedForm>,
) -> Response {
    let (user, f) = or_answer!(signed_form(&v, form));
    or_answer!(operator(&state, &v, user, &slug).await);
    let Some(any) = user.identity.any_operator() else { return v.fail(ServiceError::forbidden("operators verify")) };
    let on = f.verified == "1";
    or_answer!(v, accounts::set_verified(&state.svc, &any, &account, on).await);
    back(&slug, &f.q, if on { "verified" } else { "unverified" })
}

async fn grant(
    State(state): State<AppState>,
    v: Visitor,
    Path(slug): Path<String>,
    form: FormResult<GrantForm>,
) -> Response {
    let (user, f) = or_answer!(signed_form(&v, form));
    let op = or_answer!(operator(&state, &v, user, &slug).await);
    let m = or_answer!(v, crate::service::trainings::managed(&state.svc, &user.identity, &f.training).await);
    or_answer!(run_here(&state, &v, &op, &f.training).await);
    let req = GrantTraining {
        email: f.email.trim().to_owned(),
        expires: Some(f.expires.trim().to_owned()).filter(|e| !e.is_empty()),
    };
    match crate::service::trainings::grant(&state.svc, &m, &req, state.clock.now_ms()).await {
        Ok(_) => back(&slug, &f.q, "granted"),
        Err(e) if e.code == Code::ValidationFailed => {
            let words = field_errors_text(v.t, &e);
            makers_view(&state, &v, user, &op, &f.q, ("", words, StatusCode::UNPROCESSABLE_ENTITY)).await
        }
        Err(e) => v.fail(e),
    }
}

async fn revoke(
    State(state): State<AppState>,
    v: Visitor,
    Path((slug, training)): Path<(String, String)>,
    form: FormResult<RevokeForm>,
) -> Response {
    let (user, f) = or_answer!(signed_form(&v, form));
    let op = or_answer!(operator(&state, &v, user, &slug).await);
    let m = or_answer!(v, crate::service::trainings::managed(&state.svc, &user.identity, &training).await);
    or_answer!(run_here(&state, &v, &op, &training).await);
    let reason = Some(f.reason.trim()).filter(|r| !r.is_empty());
    or_answer!(v, crate::service::trainings::revoke(&state.svc, &m, &f.account, reason, state.clock.now_ms()).await);
    back(&slug, &f.q, "revoked")
}
