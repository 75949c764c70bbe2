//! The admin pages (`/admin`): find accounts by name or e-mail and see their roles; grant
//! the operator role of a space, the reviewer or the admin role, and revoke them; the subsidy
//! schemes loaded, with their files' SHA-256, and loading a new scheme file. Admins only;
//! the use cases are [`accounts::search`], [`accounts::grant`], [`accounts::revoke`] and
//! [`crate::service::evidence::load_scheme`], the same the API calls.

use super::*;
use crate::domain::identity::Role;
use crate::service::accounts::GrantRole;
use crate::service::evidence as packs;
use crate::service::powers::Admin;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin", get(admin_page))
        .route("/admin/", get(admin_page))
        .route("/admin/accounts/{id}/roles", post(grant_role))
        .route("/admin/accounts/{id}/roles/revoke", post(revoke_role))
        .route("/admin/schemes", post(load_scheme))
        .route("/admin/spaces", post(create_space))
}

fn admin_of(v: &Visitor, user: &SignedIn) -> Result<Admin, Response> {
    user.identity.admin().ok_or_else(|| v.fail(ServiceError::forbidden(v.t.w("adm_only"))))
}

pub struct RoleLine {
    pub role: String,
    pub words: String,
    pub space: String,
    pub space_name: String,
}

pub struct AccountLine {
    pub id: String,
    pub name: String,
    pub email: String,
    pub roles: Vec<RoleLine>,
}

pub struct SchemeLine {
    pub id: String,
    pub version: String,
    pub name: String,
    pub period: String,
    pub sha256: String,
    pub shipped: bool,
    pub criteria: usize,
}

#[derive(Template)]
#[template(path = "admin.html")]
struct AdminPage {
    t: &'static Texts,
    nav: Nav,
    q: String,
    accounts: Vec<AccountLine>,
    searched: bool,
    /// (slug, name) of every space, for the operator role.
    spaces: Vec<(String, String)>,
    schemes: Vec<SchemeLine>,
    scheme_text: String,
    done: String,
    error: String,
}

#[derive(Debug, Default, Deserialize)]
struct AdminQuery {
    #[serde(default)]
    q: Option<String>,
    #[serde(default)]
    done: Option<String>,
    #[serde(default)]
    #[allow(dead_code)]
    lang: Option<String>,
}

impl AdminPage {
    fn space_kind(&self, kind: &str) -> &'static str {
        self.t.w(&format!("adm_space_kind.{kind}"))
    }
}

fn role_words(t: &Texts, role: Role) -> &'static str {
    t.w(&format!("adm_role.{}", role.as_str()))
}

async fn admin_view(
    state: &AppState,
    v: &Visitor,
    admin: &Admin,
    q: &str,
    (done, error, scheme_text): (&str, String, String),
) -> Response {
    let t = v.t;
    let spaces = or_answer!(v, state.svc.db.spaces(true).await.map_err(ServiceError::from));
    let space_of = |id: &crate::domain::ids::SpaceId| {
        spaces
            .iter()
            .find(|s| &s.id == id)
            .map(|s| (s.slug.clone(), if t.zh { s.name_zh.clone() } else { s.name_en.clone() }))
    };
    let q = q.trim();
    let mut accounts = Vec::new();
    if !q.is_empty() {
        for (a, roles) in or_answer!(v, accounts::search(&state.svc, admin, q, Some(30)).await) {
            accounts.push(AccountLine {
                id: a.id.to_string(),
                name: a.display_name,
                email: a.email,
                roles: roles
                    .iter()
                    .map(|g| {
                        let (space, space_name) = g.space_id.as_ref().and_then(space_of).unwrap_or_default();
                        RoleLine {
                            role: g.role.as_str().to_owned(),
                            words: role_words(t, g.role).to_owned(),
                            space,
                            space_name,
                        }
                    })
                    .collect(),
            });
        }
    }
    let schemes = or_answer!(v, packs::schemes(&state.svc).await)
        .iter()
        .map(|l| SchemeLine {
            id: l.scheme.id.clone(),
            version: l.scheme.version.clone(),
            name: if t.zh { l.scheme.name_zh.clone() } else { l.scheme.name_en.clone() },
            period: l.scheme.period.as_str().to_owned(),
            sha256: l.sha256.clone(),
            shipped: packs::SHIPPED.iter().any(|s| s.as_bytes() == l.text.as_bytes()),
            criteria: l.scheme.criteria.len(),
        })
        .collect();
    let p = AdminPage {
        t,
        nav: v.nav(),
        q: q.to_owned(),
        searched: !q.is_empty(),
        accounts,
        spaces: spaces
            .iter()
            .filter(|s| s.archived_at.is_none())
            .map(|s| (s.slug.clone(), if t.zh { s.name_zh.clone() } else { s.name_en.clone() }))
            .collect(),
        schemes,
        scheme_text,
        done: if done.is_empty() { String::new() } else { t.w(&format!("adm_done.{done}")).to_owned() },
        error,
    };
    let status = if p.error.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    page(t, status, &p)
}

async fn admin_page(State(state): State<AppState>, v: Visitor, uri: Uri) -> Response {
    let user = or_answer!(v.require());
    let q: AdminQuery = or_answer!(query(&v, &uri));
    let admin = or_answer!(admin_of(&v, user));
    let done = q
        .done
        .as_deref()
        .filter(|d| ["granted", "revoked", "scheme_new", "scheme_same"].contains(d))
        .unwrap_or_default();
    admin_view(&state, &v, &admin, q.q.as_deref().unwrap_or(""), (done, String::new(), String::new())).await
}

#[derive(Debug, Deserialize)]
struct RoleForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    role: String,
    /// The space's slug, for the operator role.
    #[serde(default)]
    space: String,
    #[serde(default)]
    q: String,
}

#[derive(Debug, Deserialize)]
struct SpaceForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    slug: String,
    #[serde(default)]
    name_zh: String,
    #[serde(default)]
    name_en: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    timezone: String,
    #[serde(default)]
    address: String,
}

#[derive(Debug, Deserialize)]
struct SchemeForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    toml: String,
}

signed_forms!(RoleForm, SchemeForm, SpaceForm);

fn role_of(raw: &str) -> Option<Role> {
    serde_json::from_value(serde_json::Value::String(raw.to_owned())).ok()
}

/// A change's answer: back to the same search, or the page with what is wrong.
async fn answered(
    state: &AppState,
    v: &Visitor,
    admin: &Admin,
    q: &str,
    result: crate::service::ServiceResult<()>,
    done: &str,
) -> Response {
    match result {
        Ok(()) => see_other(&format!("/admin?q={}&done={done}", encode(q.trim()))),
        Err(e) if matches!(e.code, Code::ValidationFailed | Code::NotFound | Code::LastAdminGuard) => {
            let words = if e.code == Code::ValidationFailed { field_errors_text(v.t, &e) } else { e.message.clone() };
            admin_view(state, v, admin, q, ("", words, String::new())).await
        }
        Err(e) => v.fail(e),
    }
}

async fn grant_role(
    State(state): State<AppState>,
    v: Visitor,
    Path(id): Path<String>,
    form: FormResult<RoleForm>,
) -> Response {
    let (user, f) = or_answer!(signed_form(&v, form));
    let admin = or_answer!(admin_of(&v, user));
    let Some(role) = role_of(&f.role) else {
        let e = ServiceError::invalid_field("role", "invalid_choice", "operator, reviewer or admin");
        return answered(&state, &v, &admin, &f.q, Err(e), "").await;
    };
    let space = Some(f.space.trim().to_owned()).filter(|s| !s.is_empty() && role == Role::Operator);
    let result = accounts::grant(&state.svc, &admin, &id, &GrantRole { role, space }, state.clock.now_ms()).await;
    answered(&state, &v, &admin, &f.q, result.map(|_| ()), "granted").await
}

async fn revoke_role(
    State(state): State<AppState>,
    v: Visitor,
    Path(id): Path<String>,
    form: FormResult<RoleForm>,
) -> Response {
    let (user, f) = or_answer!(signed_form(&v, form));
    let admin = or_answer!(admin_of(&v, user));
    let Some(role) = role_of(&f.role) else {
        let e = ServiceError::invalid_field("role", "invalid_choice", "operator, reviewer or admin");
        return answered(&state, &v, &admin, &f.q, Err(e), "").await;
    };
    let space = Some(f.space.trim()).filter(|s| !s.is_empty());
    let result = accounts::revoke(&state.svc, &admin, &id, role, space).await;
    answered(&state, &v, &admin, &f.q, result, "revoked").await
}

async fn load_scheme(State(state): State<AppState>, v: Visitor, form: FormResult<SchemeForm>) -> Response {
    let (user, f) = or_answer!(signed_form(&v, form));
    let admin = or_answer!(admin_of(&v, user));
    match packs::load_scheme(&state.svc, &admin, &f.toml, state.clock.now_ms()).await {
        Ok((_, new)) => see_other(&format!("/admin?done={}#schemes", if new { "scheme_new" } else { "scheme_same" })),
        Err(e) if e.code == Code::ValidationFailed => {
            let words = field_errors_text(v.t, &e);
            admin_view(&state, &v, &admin, "", ("", words, f.toml.clone())).await
        }
        Err(e) => v.fail(e),
    }
}

/// A new space (its catalog is then set up in its console); the admin runs every space.
async fn create_space(State(state): State<AppState>, v: Visitor, form: FormResult<SpaceForm>) -> Response {
    let (user, f) = or_answer!(signed_form(&v, form));
    let admin = or_answer!(admin_of(&v, user));
    let Ok(kind) =
        serde_json::from_value::<crate::domain::catalog::SpaceKind>(serde_json::Value::String(f.kind.clone()))
    else {
        let e = ServiceError::invalid_field("kind", "invalid_choice", "not a kind of space");
        return admin_view(&state, &v, &admin, "", ("", field_errors_text(v.t, &e), String::new())).await;
    };
    let req = crate::service::catalog::CreateSpace {
        slug: f.slug.trim().to_owned(),
        name_zh: f.name_zh,
        name_en: f.name_en,
        kind,
        operator_org: None,
        address: f.address,
        latitude: None,
        longitude: None,
        floor_area_m2: None,
        timezone: Some(f.timezone.trim().to_owned()).filter(|z| !z.is_empty()),
        contact: String::new(),
        kind_quotas: serde_json::Value::Null,
    };
    match crate::service::catalog::create_space(&state.svc, &user.identity, &req, state.clock.now_ms()).await {
        Ok(_) => see_other(&format!("/ops/{}/catalog?done=space", req.slug)),
        Err(e) if matches!(e.code, Code::ValidationFailed | Code::SlugTaken) => {
            let words = if e.code == Code::ValidationFailed { field_errors_text(v.t, &e) } else { e.message.clone() };
            admin_view(&state, &v, &admin, "", ("", words, String::new())).await
        }
        Err(e) => v.fail(e),
    }
}
