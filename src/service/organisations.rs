//! Teams and start-ups: makers create them, owners manage members, and membership history
//! is kept (leaving sets `left_at`), because residency is subsidy evidence.

use super::powers::Identity;
use super::{ServiceError, ServiceResult, Services};
use crate::domain::ValidationErrors;
use crate::domain::identity::{DisplayName, Email, MemberRole, OrganisationKind, Slug};
use crate::domain::ids::AccountId;
use crate::store::organisations::{MemberRow, NewOrganisation, OrganisationRow};
use serde::Deserialize;
use utoipa::ToSchema;

/// The organisations an account belongs to now, with its role in each.
///
/// # Errors
/// Store errors.
pub async fn mine(svc: &Services, who: &Identity) -> ServiceResult<Vec<(OrganisationRow, MemberRole)>> {
    Ok(svc.db.organisations_of(who.id()).await?)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateOrganisation {
    pub name: String,
    /// `team` or `startup` for makers; `operator` and `university` need the admin role.
    pub kind: OrganisationKind,
    /// Derived from the name when absent.
    #[serde(default)]
    pub slug: Option<String>,
}

/// Creates a team or start-up; the creator becomes its owner.
///
/// # Errors
/// [`super::Code::ValidationFailed`], [`super::Code::SlugTaken`].
pub async fn create(
    svc: &Services,
    who: &Identity,
    req: &CreateOrganisation,
    now: i64,
) -> ServiceResult<OrganisationRow> {
    let mut errors = ValidationErrors::default();
    let name = errors.take(DisplayName::parse("name", &req.name));
    let slug = match req.slug.as_deref() {
        Some(s) => errors.take(Slug::parse("slug", s)),
        None => None,
    };
    if matches!(req.kind, OrganisationKind::Operator | OrganisationKind::University) && who.admin().is_none() {
        errors.push(crate::domain::FieldError::new(
            "kind",
            "not_allowed",
            "operator and university organisations are created by an admin",
        ));
    }
    let Some(name) = name else { return Err(errors.into()) };
    errors.finish()?;
    let slug = match slug {
        Some(s) => s,
        None => {
            let suffix = crate::auth::to_hex(&crate::auth::random_bytes::<3>()?);
            Slug::derive(&format!("{} {suffix}", name.as_str()), &format!("org-{suffix}"))
        }
    };
    Ok(svc
        .db
        .create_organisation(NewOrganisation {
            slug: slug.as_str(),
            name: name.as_str(),
            kind: req.kind.as_str(),
            owner: Some(who.id()),
            now,
        })
        .await?)
}

/// An organisation its members may see, and admins and reviewers (anyone else is not told
/// it exists).
///
/// # Errors
/// [`super::Code::NotFound`].
pub async fn visible(svc: &Services, who: &Identity, id: &str) -> ServiceResult<OrganisationRow> {
    let org = svc.db.organisation(id).await.map_err(ServiceError::missing("organisation"))?;
    let member = svc.db.membership(&org.id, who.id()).await?.is_some();
    if member || who.admin().is_some() || who.reviewer().is_some() {
        Ok(org)
    } else {
        Err(ServiceError::not_found("organisation"))
    }
}

/// An organisation that `who` owns (or any, for an admin).
///
/// # Errors
/// [`super::Code::NotFound`], [`super::Code::Forbidden`].
async fn owned(svc: &Services, who: &Identity, id: &str) -> ServiceResult<OrganisationRow> {
    let org = visible(svc, who, id).await?;
    let owner = svc.db.membership(&org.id, who.id()).await?.is_some_and(|m| m.role == MemberRole::Owner);
    if owner || who.admin().is_some() {
        Ok(org)
    } else {
        Err(ServiceError::forbidden("only an owner of the organisation may do this"))
    }
}

/// An organisation and its current members.
///
/// # Errors
/// [`super::Code::NotFound`].
pub async fn show(svc: &Services, who: &Identity, id: &str) -> ServiceResult<(OrganisationRow, Vec<MemberRow>)> {
    let org = visible(svc, who, id).await?;
    let members = svc.db.members(&org.id).await?;
    Ok((org, members))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PutMember {
    /// The e-mail of an existing account.
    pub email: String,
    /// `owner` or `member`.
    #[serde(default = "default_member_role")]
    pub role: String,
}

fn default_member_role() -> String {
    MemberRole::Member.as_str().into()
}

/// Adds a member by e-mail, or changes a member's role (owners and admins); returns the
/// organisation and its members.
///
/// # Errors
/// [`super::Code::NotFound`], [`super::Code::Forbidden`], [`super::Code::ValidationFailed`].
pub async fn put_member(
    svc: &Services,
    who: &Identity,
    id: &str,
    req: &PutMember,
    now: i64,
) -> ServiceResult<(OrganisationRow, Vec<MemberRow>)> {
    let org = owned(svc, who, id).await?;
    let mut errors = ValidationErrors::default();
    let email = errors.take(Email::parse("email", &req.email));
    let role = MemberRole::from_db(&req.role);
    if role.is_none() {
        errors.push(crate::domain::FieldError::new("role", "invalid_choice", "must be owner or member"));
    }
    let (Some(email), Some(role)) = (email, role) else { return Err(errors.into()) };
    errors.finish()?;
    let account =
        svc.db.account_by_email(email.as_str()).await?.ok_or_else(|| {
            ServiceError::invalid_field("email", "unknown_account", "no account has this e-mail address")
        })?;
    svc.db.put_member(&org.id, &account.id, role, now).await?;
    show(svc, who, &org.id).await
}

/// Ends a membership: owners and admins may remove anyone; a member may leave.
///
/// # Errors
/// [`super::Code::NotFound`], [`super::Code::Forbidden`].
pub async fn remove_member(svc: &Services, who: &Identity, id: &str, account_id: &str, now: i64) -> ServiceResult<()> {
    let account_id = AccountId::new(account_id);
    let org = if &account_id == who.id() { visible(svc, who, id).await? } else { owned(svc, who, id).await? };
    if svc.db.end_membership(&org.id, &account_id, now).await? {
        Ok(())
    } else {
        Err(ServiceError::not_found("membership"))
    }
}
