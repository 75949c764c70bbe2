//! The demo: accounts for every role, a team, and a space to operate, seeded through the
//! same store calls the API uses. Running it twice changes nothing.

use crate::auth::Hasher;
use crate::domain::identity::Role;
use crate::store::accounts::{Grant, NewAccount};
use crate::store::catalog::NewSpace;
use crate::store::organisations::NewOrganisation;
use crate::store::{Db, StoreError, StoreResult};

/// One demo login, printed at start.
#[derive(Debug, Clone)]
pub struct DemoLogin {
    pub role: &'static str,
    pub email: &'static str,
    pub password: &'static str,
}

pub const DEMO_LOGINS: [DemoLogin; 4] = [
    DemoLogin { role: "admin", email: "admin@labinn.demo", password: "demo-admin-2026" },
    DemoLogin { role: "operator", email: "operator@labinn.demo", password: "demo-operator-2026" },
    DemoLogin { role: "reviewer", email: "reviewer@labinn.demo", password: "demo-reviewer-2026" },
    DemoLogin { role: "maker", email: "maker@labinn.demo", password: "demo-maker-2026" },
];

const DEMO_SPACE: &str = "longgang-factory";

/// Seeds the demo. Idempotent: what exists already is left alone.
///
/// # Errors
/// Store and hashing errors.
pub async fn seed(db: &Db, hasher: &Hasher, now: i64) -> anyhow::Result<Vec<DemoLogin>> {
    let space_id = match db.space(DEMO_SPACE).await {
        Ok(s) => s.id,
        Err(StoreError::NotFound) => {
            db.insert_space(NewSpace {
                slug: DEMO_SPACE,
                name_zh: "龙岗旧厂房创客空间",
                name_en: "Longgang Old Factory Maker Space",
                kind: "maker_space",
                timezone: "Asia/Shanghai",
                now,
            })
            .await?
        }
        Err(e) => return Err(e.into()),
    };

    let mut ids = Vec::new();
    for login in &DEMO_LOGINS {
        let id = ensure_account(db, hasher, login, now).await?;
        let (role, space) = match login.role {
            "admin" => (Role::Admin, None),
            "operator" => (Role::Operator, Some(space_id.as_str())),
            "reviewer" => (Role::Reviewer, None),
            _ => (Role::Maker, None),
        };
        db.grant_role(Grant { account_id: &id, role, space_id: space, granted_by: None, now }).await?;
        ids.push(id);
    }

    let maker_id = &ids[3];
    match db.organisation("demo-hardware-team").await {
        Ok(_) => {}
        Err(StoreError::NotFound) => {
            db.create_organisation(NewOrganisation {
                slug: "demo-hardware-team",
                name: "开源硬件小队 Open Hardware Team",
                kind: "team",
                owner: Some(maker_id),
                now,
            })
            .await?;
        }
        Err(e) => return Err(e.into()),
    }
    Ok(DEMO_LOGINS.to_vec())
}

async fn ensure_account(db: &Db, hasher: &Hasher, login: &DemoLogin, now: i64) -> anyhow::Result<String> {
    if let Some(a) = db.account_by_email(login.email).await? {
        return Ok(a.id);
    }
    let hash = hasher.hash(login.password.to_owned()).await?;
    let display = match login.role {
        "admin" => "管理员 Admin",
        "operator" => "空间运营 Operator",
        "reviewer" => "区经济促进局 Reviewer",
        _ => "创客小林 Maker Lin",
    };
    let created: StoreResult<_> = db
        .create_account(&NewAccount {
            email: login.email,
            password_hash: &hash,
            display_name: display,
            locale: "zh-CN",
            now,
        })
        .await;
    match created {
        Ok(a) => Ok(a.id),
        // Another node seeded it between our look-up and our insert.
        Err(StoreError::Unique(_)) => Ok(db.account_by_email(login.email).await?.map(|a| a.id).unwrap_or_default()),
        Err(e) => Err(e.into()),
    }
}
