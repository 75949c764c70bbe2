//! Trainings (safety inductions and the like): operators define them, grant them to makers
//! with an expiry, and revoke them. Resources require them; the booking rules check them.

use super::powers::{AnyOperator, Identity};
use super::{ServiceError, ServiceResult, Services};
use crate::domain::calendar::{local_day, parse_instant};
use crate::domain::catalog::name;
use crate::domain::identity::{Email, Slug};
use crate::domain::{FieldError, ValidationErrors};
use crate::store::StoreError;
use crate::store::trainings::{TrainingGrantRow, TrainingRow};
use serde::Deserialize;
use utoipa::ToSchema;

/// An operator of any space (or an admin), refused in the trainings' words.
///
/// # Errors
/// [`super::Code::Forbidden`].
pub fn any_operator(who: &Identity) -> ServiceResult<AnyOperator> {
    who.any_operator().ok_or_else(|| ServiceError::forbidden("this needs the operator or admin role"))
}

/// A training, with the power to run it: made only by [`managed`], so the use cases that take
/// one cannot be handed a training of a space their caller does not run.
#[derive(Debug, Clone)]
pub struct Managed {
    op: AnyOperator,
    training: TrainingRow,
}

impl Managed {
    pub fn training(&self) -> &TrainingRow {
        &self.training
    }
}

/// A training scoped to a space is managed by that space's operators; others by any operator.
///
/// # Errors
/// [`super::Code::NotFound`], [`super::Code::Forbidden`].
pub async fn managed(svc: &Services, who: &Identity, slug: &str) -> ServiceResult<Managed> {
    let t = svc.db.training(slug).await.map_err(ServiceError::missing("training"))?;
    let op = any_operator(who)?;
    match &t.space_id {
        Some(space) if !op.is_admin() && !who.operated_spaces().any(|s| s == space) => {
            Err(ServiceError::forbidden("this training belongs to a space you do not operate"))
        }
        _ => Ok(Managed { op, training: t }),
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTraining {
    pub slug: String,
    pub name_zh: String,
    pub name_en: String,
    /// The space that runs it (id or slug); absent for a district-wide training.
    #[serde(default)]
    pub space: Option<String>,
}

/// Defines a training: a district-wide one (no `space`) by any operator, one of a space by
/// that space's operators (or an admin), as [`managed`] decides who runs it afterwards.
///
/// # Errors
/// [`super::Code::Forbidden`], [`super::Code::ValidationFailed`], [`super::Code::SlugTaken`].
pub async fn create(svc: &Services, who: &Identity, req: &CreateTraining, now: i64) -> ServiceResult<TrainingRow> {
    let op = any_operator(who)?;
    let mut e = ValidationErrors::default();
    let slug = e.take(Slug::parse("slug", &req.slug));
    let zh = e.take(name("name_zh", &req.name_zh));
    let en = e.take(name("name_en", &req.name_en));
    let space = match req.space.as_deref() {
        None => None,
        Some(s) => match svc.db.space(s).await {
            Ok(sp) if !op.is_admin() && !who.operates(&sp.id) => {
                return Err(ServiceError::forbidden("a training of a space is defined by that space's operators"));
            }
            Ok(sp) => Some(sp.id),
            Err(StoreError::NotFound) => {
                e.push(FieldError::new("space", "unknown_space", "no space has this id or slug"));
                None
            }
            Err(err) => return Err(err.into()),
        },
    };
    let (Some(slug), Some(zh), Some(en)) = (slug, zh, en) else { return Err(e.into()) };
    e.finish()?;
    Ok(svc.db.create_training(slug.as_str(), &zh, &en, space.as_ref(), now).await?)
}

/// Every training (any signed-in account may read them).
///
/// # Errors
/// Store errors.
pub async fn list(svc: &Services, _who: &Identity) -> ServiceResult<Vec<TrainingRow>> {
    Ok(svc.db.trainings().await?)
}

/// The names of the trainings `slugs` (a resource's required ones), for anyone to read; a
/// slug no training has is named by itself.
///
/// # Errors
/// Store errors other than not found.
pub async fn named(svc: &Services, slugs: &[String]) -> ServiceResult<Vec<(String, String)>> {
    let mut out = Vec::new();
    for slug in slugs {
        match svc.db.training(slug).await {
            Ok(t) => out.push((t.name_zh, t.name_en)),
            Err(StoreError::NotFound) => out.push((slug.clone(), slug.clone())),
            Err(e) => return Err(e.into()),
        }
    }
    Ok(out)
}

/// Who holds a training now.
///
/// # Errors
/// Store errors.
pub async fn grants(svc: &Services, t: &Managed) -> ServiceResult<Vec<TrainingGrantRow>> {
    Ok(svc.db.training_grants(&t.training.id).await?)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GrantTraining {
    /// The maker's e-mail address.
    pub email: String,
    /// RFC 3339, or a date (valid through the end of that day, Asia/Shanghai); absent: no expiry.
    #[serde(default)]
    pub expires: Option<String>,
}

/// Grants a training to a maker (replacing an earlier grant of it).
///
/// # Errors
/// [`super::Code::ValidationFailed`].
pub async fn grant(svc: &Services, m: &Managed, req: &GrantTraining, now: i64) -> ServiceResult<Vec<TrainingGrantRow>> {
    let (op, t) = (&m.op, &m.training);
    let mut e = ValidationErrors::default();
    let email = e.take(Email::parse("email", &req.email));
    let expires = match req.expires.as_deref() {
        None => None,
        Some(x) => match parse_instant("expires", x) {
            Ok(ms) => Some(ms),
            Err(_) => match crate::domain::calendar::parse_date("expires", x) {
                Ok(d) => Some(local_day(chrono_tz::Asia::Shanghai, d).end()),
                Err(_) => {
                    e.push(FieldError::new("expires", "invalid_time", "must be RFC 3339 or a date such as 2027-06-30"));
                    None
                }
            },
        },
    };
    let Some(email) = email else { return Err(e.into()) };
    e.finish()?;
    let account =
        svc.db.account_by_email(email.as_str()).await?.ok_or_else(|| {
            ServiceError::invalid_field("email", "unknown_account", "no account has this e-mail address")
        })?;
    svc.db.grant_training(&t.id, &account.id, op.id(), expires, now).await?;
    tracing::info!(training = %t.slug, account = %account.id, by = %op.id(), "training granted");
    grants(svc, m).await
}

/// Revokes a maker's training. Their next booking that needs it is refused.
///
/// # Errors
/// [`super::Code::NotFound`] when they held none.
pub async fn revoke(
    svc: &Services,
    m: &Managed,
    account_id: &str,
    reason: Option<&str>,
    now: i64,
) -> ServiceResult<()> {
    let (op, t) = (&m.op, &m.training);
    let reason = reason.unwrap_or("revoked");
    if svc.db.revoke_training(&t.id, &crate::domain::ids::AccountId::new(account_id), op.id(), reason, now).await? {
        Ok(())
    } else {
        Err(ServiceError::not_found("training grant"))
    }
}
