//! Accounts: registration, signing in and out, who is signed in, and the roles an admin
//! grants (operator of a space, reviewer, admin); makers verified for inn rooms.

use super::powers::{Admin, AnyOperator, Identity};
use super::throttle::{Counted, address_key, too_many};
use super::{Code, ServiceError, ServiceResult, Services};
use crate::auth::new_token;
use crate::domain::ValidationErrors;
use crate::domain::identity::{DisplayName, Email, Locale, Password, Role};
use crate::domain::ids::{AccountId, SpaceId};
use crate::store::StoreError;
use crate::store::accounts::{AccountRow, Grant, NewAccount, RoleGrantRow};
use serde::Deserialize;
use std::net::IpAddr;
use utoipa::ToSchema;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterRequest {
    pub email: String,
    /// At least 10 characters.
    pub password: String,
    pub display_name: String,
    /// `zh-CN` (default) or `en`.
    #[serde(default)]
    pub locale: Option<String>,
}

/// Creates a maker account for a request from `from` (the public sign-up): at most
/// `registrations_per_hour` from one address, counted whether they succeed or not.
///
/// # Errors
/// [`Code::TooManyRequests`], and those of [`register`].
pub async fn register_from(
    svc: &Services,
    req: &RegisterRequest,
    from: Option<IpAddr>,
    now: i64,
) -> ServiceResult<AccountRow> {
    let limit = svc.config.throttle.registrations;
    svc.throttles.hit(Counted::Registrations, &address_key(from), limit, now)?;
    register(svc, req, now).await
}

/// Creates a maker account.
///
/// # Errors
/// [`Code::ValidationFailed`] (every invalid field), [`Code::EmailTaken`].
pub async fn register(svc: &Services, req: &RegisterRequest, now: i64) -> ServiceResult<AccountRow> {
    let mut errors = ValidationErrors::default();
    let email = errors.take(Email::parse("email", &req.email));
    let password = errors.take(Password::parse("password", &req.password));
    let name = errors.take(DisplayName::parse("display_name", &req.display_name));
    let locale = match req.locale.as_deref() {
        Some(l) => errors.take(Locale::parse("locale", l)),
        None => Some(Locale::default()),
    };
    // A field that did not parse left its error behind, so `errors` is what to answer.
    let (Some(email), Some(password), Some(name), Some(locale)) = (email, password, name, locale) else {
        return Err(errors.into());
    };
    let hash = svc.hasher.hash(password.expose().to_owned()).await?;
    let account = svc
        .db
        .create_account(&NewAccount {
            email: email.as_str(),
            password_hash: &hash,
            display_name: name.as_str(),
            locale: locale.as_str(),
            now,
        })
        .await?;
    tracing::info!(account_id = %account.id, "account registered");
    Ok(account)
}

/// A maker's own profile: the name others see on bookings and teams, and the language of
/// the pages and mails.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProfileChange {
    pub display_name: String,
    /// `zh-CN` or `en` (also `zh`, `en-US`, ...).
    pub locale: String,
}

/// Changes the signed-in account's display name and language.
///
/// # Errors
/// [`Code::ValidationFailed`] (every invalid field).
pub async fn update_profile(svc: &Services, who: &Identity, req: &ProfileChange) -> ServiceResult<AccountRow> {
    let mut errors = ValidationErrors::default();
    let name = errors.take(DisplayName::parse("display_name", &req.display_name));
    let locale = errors.take(Locale::parse("locale", &req.locale));
    let (Some(name), Some(locale)) = (name, locale) else { return Err(errors.into()) };
    svc.db.update_profile(who.id(), name.as_str(), locale.as_str()).await.map_err(ServiceError::missing("account"))?;
    tracing::info!(account_id = %who.id(), "profile changed");
    Ok(svc.db.account(who.id()).await?)
}

/// How long a password-reset link works.
pub const RESET_TTL_MS: i64 = 60 * 60 * 1000;

/// Sends a password-reset link to `email` through the outbox (the mail job delivers it),
/// if an account has that address; the answer is the same either way, so it does not tell
/// who has an account. Limited per client address like registrations.
///
/// # Errors
/// [`Code::TooManyRequests`]; store errors.
pub async fn request_reset(svc: &Services, email: &str, from: Option<IpAddr>, now: i64) -> ServiceResult<()> {
    svc.throttles.hit(Counted::Resets, &address_key(from), svc.config.throttle.registrations, now)?;
    let Ok(email) = Email::parse("email", email) else { return Ok(()) };
    let Some(account) = svc.db.account_by_email(email.as_str()).await? else { return Ok(()) };
    let token = new_token()?;
    svc.db.insert_password_reset(&crate::auth::token_hash(&token), &account.id, now + RESET_TTL_MS, now).await?;
    let link = format!("{}/reset?token={token}", svc.config.public_url);
    let payload = serde_json::json!({ "link": link, "locale": account.locale }).to_string();
    svc.db.enqueue(Some(&account.id), "password_reset", &payload, now, now).await?;
    tracing::info!(account_id = %account.id, "password reset link queued");
    Ok(())
}

/// Whether a reset link can still be used (the page asks before showing its form).
///
/// # Errors
/// Store errors.
pub async fn reset_usable(svc: &Services, token: &str, now: i64) -> ServiceResult<bool> {
    Ok(svc.db.password_reset_usable(&crate::auth::token_hash(token), now).await?)
}

/// Sets a new password with a reset link: once, within [`RESET_TTL_MS`]. Every login of
/// the account ends, and its sign-in back-off is forgotten.
///
/// # Errors
/// [`Code::ValidationFailed`] (the password), [`Code::InvalidToken`] (unknown, used or
/// expired link).
pub async fn reset_password(svc: &Services, token: &str, password: &str, now: i64) -> ServiceResult<()> {
    let password = Password::parse("password", password).map_err(|f| ServiceError::from(ValidationErrors(vec![f])))?;
    let hash_of_token = crate::auth::token_hash(token);
    let expired = || ServiceError::new(Code::InvalidToken, "the reset link has expired or was used");
    // No costly hash for a link that cannot work.
    if !svc.db.password_reset_usable(&hash_of_token, now).await? {
        return Err(expired());
    }
    let hash = svc.hasher.hash(password.expose().to_owned()).await?;
    match svc.db.use_password_reset(&hash_of_token, &hash, now).await? {
        Some(account) => {
            tracing::info!(account_id = %account, "password reset");
            Ok(())
        }
        None => Err(expired()),
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub email: String,
    pub password: String,
}

/// A new login: the bearer token (`lbn_` + 256 random bits; only its hash is stored), until
/// when it works, and the account.
#[derive(Debug)]
pub struct LoggedIn {
    pub token: String,
    pub expires_at: i64,
    pub account: AccountRow,
}

/// Signs in from `from`. A malformed or unknown address spends the same hashing time as a
/// real one. Throttled ([`super::throttle`]): after `signin_free_failures` failures in a
/// row, an account (or an unknown address, on this node) waits 1 s, then 2, 4 … up to
/// `signin_lock_max_secs` before the next attempt is even checked, until a success or an
/// operator lifts it; one client address may fail `address_failures_per_10min` times.
///
/// # Errors
/// [`Code::InvalidCredentials`], [`Code::TooManyRequests`].
pub async fn login(svc: &Services, req: LoginRequest, from: Option<IpAddr>, now: i64) -> ServiceResult<LoggedIn> {
    let bad = || ServiceError::new(Code::InvalidCredentials, "the e-mail address or password is wrong");
    let limits = svc.config.throttle;
    let address = address_key(from);
    // A malformed address cannot have an account; still spend the hashing time.
    let email = Email::parse("email", &req.email).ok();
    let key = email.as_ref().map_or_else(|| req.email.trim().to_lowercase(), |e| e.as_str().to_owned());
    // One sign-in per e-mail address at a time (on this node), and the attempt counted against
    // the client address before the hash, given back if it succeeds: parallel guesses cannot
    // pass a limit together.
    let _turn = svc.throttles.turn(&key).await;
    svc.throttles.hit(Counted::AddressFailures, &address, limits.address_failures, now)?;
    let account = match &email {
        Some(email) => svc.db.account_by_email(email.as_str()).await?,
        None => None,
    };
    let failures = match &account {
        Some(a) => svc.db.signin_failures(&a.id).await?,
        None => svc.throttles.unknown_failures(&key),
    };
    if let Some((n, last)) = failures {
        let wait = limits.signin.wait(u32::try_from(n).unwrap_or(u32::MAX), last, now);
        if wait > 0 {
            // Refused before any password is checked: not a failure of the address.
            svc.throttles.release(Counted::AddressFailures, &address);
            return Err(too_many("too many failed sign-ins to this account", wait));
        }
    }
    let ok = svc.hasher.verify(req.password, account.as_ref().map(|a| a.password_hash.clone())).await?;
    let account = match account {
        Some(a) if ok && !a.disabled => a,
        other => {
            match &other {
                Some(a) => {
                    svc.db.record_signin_failure(&a.id, now).await?;
                }
                None => svc.throttles.unknown_failed(&key, now),
            }
            return Err(bad());
        }
    };
    svc.throttles.release(Counted::AddressFailures, &address);
    if failures.is_some() {
        svc.db.clear_signin_failures(&account.id).await?;
    }
    issue_login(svc, account, now).await
}

/// A new login token for an account whose password was just checked or set.
async fn issue_login(svc: &Services, account: AccountRow, now: i64) -> ServiceResult<LoggedIn> {
    let token = new_token()?;
    let ttl_ms = i64::try_from(svc.config.session_ttl.as_millis()).unwrap_or(i64::MAX);
    let expires_at = now.saturating_add(ttl_ms);
    svc.db.insert_token(&crate::auth::token_hash(&token), &account.id, now, expires_at).await?;
    tracing::info!(account_id = %account.id, "signed in");
    Ok(LoggedIn { token, expires_at, account })
}

/// Creates a maker account ([`register_from`], with its limit per client address) and signs
/// it in at once: the password was just chosen, so it is not checked again, and the sign-in
/// throttles (which count failures) do not stand between a new maker and their first page.
///
/// # Errors
/// As [`register_from`].
pub async fn register_and_sign_in(
    svc: &Services,
    req: &RegisterRequest,
    from: Option<IpAddr>,
    now: i64,
) -> ServiceResult<LoggedIn> {
    let account = register_from(svc, req, from, now).await?;
    issue_login(svc, account, now).await
}

/// The signed-in account of a login token (its hash), with its roles and the catalog's
/// stamp; `None` for a token that is unknown, expired or revoked, or a disabled account.
///
/// # Errors
/// Store errors.
pub async fn identify(svc: &Services, token_hash: &str, now: i64) -> ServiceResult<Option<Identity>> {
    Ok(svc.db.login_for_token(token_hash, now).await?.map(|(account, roles, catalog_version)| Identity {
        account,
        roles,
        catalog_version,
    }))
}

/// Signs out: the login token (by its hash) stops working at once, on every node.
///
/// # Errors
/// Store errors.
pub async fn logout(svc: &Services, _who: &Identity, token_hash: &str) -> ServiceResult<()> {
    Ok(svc.db.delete_token(token_hash).await?)
}

/// Accounts whose e-mail or name contains `q`, newest first, with their roles (admins).
///
/// # Errors
/// [`Code::ValidationFailed`] for a limit outside 1–200.
pub async fn search(
    svc: &Services,
    _admin: &Admin,
    q: &str,
    limit: Option<i64>,
) -> ServiceResult<Vec<(AccountRow, Vec<RoleGrantRow>)>> {
    let limit = limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(ServiceError::invalid_field("limit", "out_of_range", "must be between 1 and 200"));
    }
    let mut out = Vec::new();
    for a in svc.db.search_accounts(q, limit).await? {
        let roles = svc.db.roles_of(&a.id).await?;
        out.push((a, roles));
    }
    Ok(out)
}

async fn resolve_space(svc: &Services, role: Role, space: Option<&str>) -> ServiceResult<Option<SpaceId>> {
    match (role.is_space_scoped(), space) {
        (true, None) => {
            Err(ServiceError::invalid_field("space", "required", "an operator role names the space it runs"))
        }
        (false, Some(_)) => {
            Err(ServiceError::invalid_field("space", "not_allowed", "only the operator role is scoped to a space"))
        }
        (false, None) => Ok(None),
        (true, Some(s)) => match svc.db.space(s).await {
            Ok(space) => Ok(Some(space.id)),
            Err(StoreError::NotFound) => {
                Err(ServiceError::invalid_field("space", "unknown_space", "no space has this id or slug"))
            }
            Err(e) => Err(e.into()),
        },
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GrantRole {
    pub role: Role,
    /// Required for `operator` (the space's id or slug); not allowed for other roles.
    #[serde(default)]
    pub space: Option<String>,
}

/// Grants a role (granting one that is already held changes nothing); returns the account's
/// roles.
///
/// # Errors
/// [`Code::NotFound`] for an unknown account, [`Code::ValidationFailed`].
pub async fn grant(
    svc: &Services,
    admin: &Admin,
    account_id: &str,
    req: &GrantRole,
    now: i64,
) -> ServiceResult<Vec<RoleGrantRow>> {
    let account = svc.db.account(&AccountId::new(account_id)).await.map_err(ServiceError::missing("account"))?;
    let space_id = resolve_space(svc, req.role, req.space.as_deref()).await?;
    svc.db
        .grant_role(Grant {
            account_id: &account.id,
            role: req.role,
            space_id: space_id.as_ref(),
            granted_by: Some(admin.id()),
            now,
        })
        .await?;
    tracing::info!(account_id = %account.id, role = req.role.as_str(), space_id = ?space_id, by = %admin.id(), "role granted");
    Ok(svc.db.roles_of(&account.id).await?)
}

/// Revokes a role (an operator's: of the space named).
///
/// # Errors
/// [`Code::LastAdminGuard`] (an admin's own admin role), [`Code::ValidationFailed`],
/// [`Code::NotFound`] when it was not held.
pub async fn revoke(
    svc: &Services,
    admin: &Admin,
    account_id: &str,
    role: Role,
    space: Option<&str>,
) -> ServiceResult<()> {
    let account_id = AccountId::new(account_id);
    if role == Role::Admin && &account_id == admin.id() {
        return Err(ServiceError::new(Code::LastAdminGuard, "an admin cannot revoke their own admin role"));
    }
    let space_id = resolve_space(svc, role, space).await?;
    if svc.db.revoke_role(&account_id, role, space_id.as_ref()).await? {
        Ok(())
    } else {
        Err(ServiceError::not_found("role grant"))
    }
}

/// Marks a maker as verified (eligible for maker-inn rooms), or not.
///
/// # Errors
/// [`Code::NotFound`] for an unknown account.
pub async fn set_verified(svc: &Services, _op: &AnyOperator, account_id: &str, verified: bool) -> ServiceResult<()> {
    svc.db.set_verified(&AccountId::new(account_id), verified).await.map_err(ServiceError::missing("account"))
}

/// Who `labinn admin create` makes an admin: its flags, parsed.
#[derive(Debug)]
pub struct NewAdmin {
    email: Email,
    password: Password,
    name: DisplayName,
}

impl NewAdmin {
    /// Parses the flags (before any database is reached).
    ///
    /// # Errors
    /// [`Code::ValidationFailed`] naming the flags.
    pub fn parse(email: &str, password: &str, display_name: &str) -> ServiceResult<NewAdmin> {
        let mut errors = ValidationErrors::default();
        let email = errors.take(Email::parse("--email", email));
        let password = errors.take(Password::parse("--password", password));
        let name = errors.take(DisplayName::parse("--display-name", display_name));
        match (email, password, name) {
            (Some(email), Some(password), Some(name)) => Ok(NewAdmin { email, password, name }),
            _ => Err(errors.into()),
        }
    }
}

/// Creates an admin account, or gives an existing account the admin role (`labinn admin
/// create` and the demo: run by whoever runs the machine, so it needs no power). It takes
/// only the database and the hasher, so the command needs no check-in secret. Returns the
/// account.
///
/// # Errors
/// Store errors.
pub async fn ensure_admin(
    db: &crate::store::Db,
    hasher: &crate::auth::Hasher,
    admin: &NewAdmin,
    now: i64,
) -> ServiceResult<AccountRow> {
    let account = match db.account_by_email(admin.email.as_str()).await? {
        Some(a) => a,
        None => {
            let hash = hasher.hash(admin.password.expose().to_owned()).await?;
            db.create_account(&NewAccount {
                email: admin.email.as_str(),
                password_hash: &hash,
                display_name: admin.name.as_str(),
                locale: "zh-CN",
                now,
            })
            .await?
        }
    };
    db.grant_role(Grant { account_id: &account.id, role: Role::Admin, space_id: None, granted_by: None, now }).await?;
    Ok(account)
}

/// The identity of an account as a login would give it (its roles, the catalog's stamp),
/// for trusted code acting as that account: the demo seeding acts as its admin and makers.
///
/// # Errors
/// [`Code::NotFound`].
pub async fn identity_of(svc: &Services, account_id: &AccountId) -> ServiceResult<Identity> {
    let account = svc.db.account(account_id).await.map_err(ServiceError::missing("account"))?;
    let roles = svc.db.roles_of(account_id).await?;
    Ok(Identity { account, roles, catalog_version: svc.db.catalog_version().await? })
}
