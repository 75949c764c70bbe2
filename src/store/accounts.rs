//! Accounts, login tokens and role grants.

use super::dialect::Dialect;
use super::login_cache::Forget;
use super::{Db, StoreError, StoreResult, new_id};
use crate::domain::identity::Role;
use crate::domain::ids::{AccountId, SpaceId};
use crate::{in_write_tx, on_read};

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct AccountRow {
    pub id: AccountId,
    pub email: String,
    pub password_hash: String,
    pub display_name: String,
    pub locale: String,
    pub verified_maker: bool,
    pub disabled: bool,
    pub created_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct RoleGrantRow {
    pub role: Role,
    pub space_id: Option<SpaceId>,
}

/// What a new account needs; the password is already hashed.
#[derive(Debug, Clone)]
pub struct NewAccount<'a> {
    pub email: &'a str,
    pub password_hash: &'a str,
    pub display_name: &'a str,
    pub locale: &'a str,
    pub now: i64,
}

/// A grant that may name a space (operators) or not (everyone else).
#[derive(Debug, Clone, Copy)]
pub struct Grant<'a> {
    pub account_id: &'a AccountId,
    pub role: Role,
    pub space_id: Option<&'a SpaceId>,
    pub granted_by: Option<&'a AccountId>,
    pub now: i64,
}

const ACCOUNT_COLUMNS: &str = "id, email, password_hash, display_name, locale, verified_maker, disabled, created_at";

impl Db {
    /// Creates an account with the `maker` role, in one transaction.
    ///
    /// # Errors
    /// [`StoreError::Unique`] (`accounts_email_key`) when the e-mail is taken.
    pub async fn create_account(&self, a: &NewAccount<'_>) -> StoreResult<AccountRow> {
        let id = AccountId::new(new_id());
        in_write_tx!(self, |tx| {
            let taken: Option<String> = sqlx::query_scalar("SELECT id FROM accounts WHERE email = $1")
                .bind(a.email)
                .fetch_optional(&mut *tx)
                .await?;
            if taken.is_some() {
                return Err(StoreError::Unique("accounts_email_key".into()));
            }
            sqlx::query(
                "INSERT INTO accounts (id, email, password_hash, display_name, locale, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(&id)
            .bind(a.email)
            .bind(a.password_hash)
            .bind(a.display_name)
            .bind(a.locale)
            .bind(a.now)
            .execute(&mut *tx)
            .await
            .map_err(|e| match StoreError::from(e) {
                StoreError::Unique(_) => StoreError::Unique("accounts_email_key".into()),
                other => other,
            })?;
            sqlx::query("INSERT INTO role_grants (id, account_id, role, space_id, granted_at) VALUES ($1, $2, 'maker', NULL, $3)")
                .bind(new_id())
                .bind(&id)
                .bind(a.now)
                .execute(&mut *tx)
                .await?;
        });
        self.account(&id).await
    }

    /// # Errors
    /// [`StoreError::NotFound`].
    pub async fn account(&self, id: &AccountId) -> StoreResult<AccountRow> {
        let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE id = $1");
        Ok(on_read!(self, |p| sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id).fetch_one(p).await?))
    }

    /// The accounts with these ids (unknown ids are left out), 500 a statement.
    ///
    /// # Errors
    /// Database errors.
    pub async fn accounts_by_ids(&self, ids: &[&AccountId]) -> StoreResult<Vec<AccountRow>> {
        let mut out = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(500) {
            let marks: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
            let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE id IN ({})", marks.join(", "));
            let rows: Vec<AccountRow> = on_read!(self, |p| {
                let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()));
                for id in chunk {
                    q = q.bind(*id);
                }
                q.fetch_all(p).await?
            });
            out.extend(rows);
        }
        Ok(out)
    }

    /// The verified makers, by name, at most `limit`.
    ///
    /// # Errors
    /// Database errors.
    pub async fn verified_accounts(&self, limit: i64) -> StoreResult<Vec<AccountRow>> {
        let sql = format!(
            "SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE verified_maker AND NOT disabled \
             ORDER BY display_name, email LIMIT $1"
        );
        Ok(on_read!(self, |p| sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(limit).fetch_all(p).await?))
    }

    /// # Errors
    /// Database errors only; an unknown address is `Ok(None)`.
    pub async fn account_by_email(&self, email: &str) -> StoreResult<Option<AccountRow>> {
        let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE email = $1");
        Ok(on_read!(self, |p| sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(email).fetch_optional(p).await?))
    }

    /// Accounts whose e-mail or name contains `q` (case-insensitive), newest first.
    ///
    /// # Errors
    /// Database errors.
    pub async fn search_accounts(&self, q: &str, limit: i64) -> StoreResult<Vec<AccountRow>> {
        let sql = format!(
            "SELECT {ACCOUNT_COLUMNS} FROM accounts \
             WHERE LOWER(email) LIKE $1 OR LOWER(display_name) LIKE $1 ORDER BY created_at DESC, id LIMIT $2"
        );
        let pattern = format!("%{}%", q.to_lowercase().replace(['%', '_'], ""));
        Ok(on_read!(self, |p| sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(&pattern).bind(limit).fetch_all(p).await?))
    }

    /// # Errors
    /// Database errors.
    pub async fn roles_of(&self, account_id: &AccountId) -> StoreResult<Vec<RoleGrantRow>> {
        Ok(on_read!(self, |p| {
            sqlx::query_as("SELECT role, space_id FROM role_grants WHERE account_id = $1 ORDER BY role, space_id")
                .bind(account_id)
                .fetch_all(p)
                .await?
        }))
    }

    /// Grants a role; granting one that is already held changes nothing.
    ///
    /// # Errors
    /// [`StoreError::ForeignKey`] when the account or space does not exist.
    pub async fn grant_role(&self, g: Grant<'_>) -> StoreResult<()> {
        in_write_tx!(self, |tx| {
            let held: Option<String> = sqlx::query_scalar(
                "SELECT id FROM role_grants WHERE account_id = $1 AND role = $2 AND COALESCE(space_id, '') = COALESCE($3, '')",
            )
            .bind(g.account_id)
            .bind(g.role.as_str())
            .bind(g.space_id)
            .fetch_optional(&mut *tx)
            .await?;
            if held.is_none() {
                sqlx::query(
                    "INSERT INTO role_grants (id, account_id, role, space_id, granted_at, granted_by) \
                     VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(new_id())
                .bind(g.account_id)
                .bind(g.role.as_str())
                .bind(g.space_id)
                .bind(g.now)
                .bind(g.granted_by)
                .execute(&mut *tx)
                .await?;
            }
        });
        self.forget_logins(Forget::Account(g.account_id.as_str()));
        Ok(())
    }

    /// Removes a role grant. Returns whether one was held.
    ///
    /// # Errors
    /// Database errors.
    pub async fn revoke_role(
        &self,
        account_id: &AccountId,
        role: Role,
        space_id: Option<&SpaceId>,
    ) -> StoreResult<bool> {
        let n = in_write_tx!(self, |tx| {
            sqlx::query(
                "DELETE FROM role_grants WHERE account_id = $1 AND role = $2 AND COALESCE(space_id, '') = COALESCE($3, '')",
            )
            .bind(account_id)
            .bind(role.as_str())
            .bind(space_id)
            .execute(&mut *tx)
            .await?
            .rows_affected()
        });
        self.forget_logins(Forget::Account(account_id.as_str()));
        Ok(n > 0)
    }

    /// Stores the hash of a new login token.
    ///
    /// # Errors
    /// Database errors.
    pub async fn insert_token(
        &self,
        token_hash: &str,
        account_id: &AccountId,
        now: i64,
        expires_at: i64,
    ) -> StoreResult<()> {
        in_write_tx!(self, |tx| {
            // Expired tokens of this account are dead weight; clear them while we are here.
            sqlx::query("DELETE FROM auth_tokens WHERE account_id = $1 AND expires_at <= $2")
                .bind(account_id)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            sqlx::query(
                "INSERT INTO auth_tokens (token_hash, account_id, created_at, expires_at) VALUES ($1, $2, $3, $4)",
            )
            .bind(token_hash)
            .bind(account_id)
            .bind(now)
            .bind(expires_at)
            .execute(&mut *tx)
            .await?;
        });
        Ok(())
    }

    /// The enabled account a live token belongs to.
    ///
    /// # Errors
    /// Database errors; an unknown, expired or disabled token is `Ok(None)`.
    pub async fn account_for_token(&self, token_hash: &str, now: i64) -> StoreResult<Option<AccountRow>> {
        let sql = format!(
            "SELECT {} FROM accounts a JOIN auth_tokens t ON t.account_id = a.id \
             WHERE t.token_hash = $1 AND t.expires_at > $2 AND a.disabled = FALSE",
            ACCOUNT_COLUMNS.split(", ").map(|c| format!("a.{c}")).collect::<Vec<_>>().join(", ")
        );
        Ok(on_read!(self, |p| sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(token_hash)
            .bind(now)
            .fetch_optional(p)
            .await?))
    }

    /// The enabled account a live token belongs to, with its roles and the catalog's version
    /// stamp (for the per-node catalog cache), in one round trip.
    ///
    /// # Errors
    /// Database errors; an unknown, expired or disabled token is `Ok(None)`.
    pub async fn login_for_token(&self, token_hash: &str, now: i64) -> StoreResult<Option<Login>> {
        let Db::Postgres { login_cache, .. } = self else {
            return self.login_via(token_hash, now, true).await;
        };
        if let Some(kept) = login_cache.get(token_hash, now) {
            return Ok(Some(kept));
        }
        let generation = login_cache.generation();
        let read = self.login_row(token_hash, now, true).await?;
        Ok(read.map(|(session, expires_at)| {
            login_cache.put(token_hash, &session, expires_at, now, generation);
            session
        }))
    }

    /// Forgets this node's kept sessions that `what` names, after a write of its own that
    /// changed them (the database's notification tells every node, this one included; this
    /// is so that the writer's next request does not wait for it). Nothing on SQLite.
    pub fn forget_logins(&self, what: super::login_cache::Forget<'_>) {
        if let Db::Postgres { login_cache, .. } = self {
            login_cache.forget(what);
        }
    }

    /// This node's session cache (PostgreSQL), for the tests.
    #[doc(hidden)]
    #[must_use]
    pub fn login_cache(&self) -> Option<&super::login_cache::LoginCache> {
        match self {
            Db::Postgres { login_cache, .. } => Some(login_cache),
            Db::Sqlite { .. } => None,
        }
    }

    /// [`Db::login_for_token`] in a statement of its own on PostgreSQL, as a grouped read
    /// whose statement failed asks it; the tests compare the two.
    ///
    /// # Errors
    /// Database errors.
    #[doc(hidden)]
    pub async fn login_for_token_alone(&self, token_hash: &str, now: i64) -> StoreResult<Option<Login>> {
        self.login_via(token_hash, now, false).await
    }

    async fn login_via(&self, token_hash: &str, now: i64, grouped: bool) -> StoreResult<Option<Login>> {
        Ok(self.login_row(token_hash, now, grouped).await?.map(|(s, _)| s))
    }

    /// The session and its token's expiry.
    async fn login_row(&self, token_hash: &str, now: i64, grouped: bool) -> StoreResult<Option<(Login, i64)>> {
        let row: Option<LoginRow> = match self {
            // Every authenticated request asks this: inline, without sqlx's thread hand-off.
            Db::Sqlite { direct, .. } => direct.read(|c| {
                use rusqlite::OptionalExtension;
                c.prepare_cached(&LOGIN_SQL.sqlite)?
                    .query_row(rusqlite::params![token_hash, now], |r| {
                        Ok(LoginRow {
                            i: 0,
                            account: AccountRow {
                                id: r.get(0)?,
                                email: r.get(1)?,
                                password_hash: r.get(2)?,
                                display_name: r.get(3)?,
                                locale: r.get(4)?,
                                verified_maker: r.get(5)?,
                                disabled: r.get(6)?,
                                created_at: r.get(7)?,
                            },
                            roles: r.get(8)?,
                            catalog_version: r.get(9)?,
                            token_expires_at: r.get(10)?,
                        })
                    })
                    .optional()
            })?,
            // With whatever other session reads are waiting, in one statement.
            Db::Postgres { sessions, .. } if grouped => sessions.read(token_hash, now).await?,
            Db::Postgres { hot, .. } => login_alone(hot, token_hash.to_owned(), now).await?,
        };
        Ok(row.map(|r| {
            let mut roles: Vec<RoleGrantRow> = r
                .roles
                .unwrap_or_default()
                .split(',')
                .filter_map(|x| x.split_once('@'))
                .filter_map(|(role, space)| {
                    Some(RoleGrantRow {
                        role: Role::from_db(role)?,
                        space_id: (!space.is_empty()).then(|| SpaceId::new(space)),
                    })
                })
                .collect();
            roles.sort_by(|a, b| (&a.role, &a.space_id).cmp(&(&b.role, &b.space_id)));
            ((r.account, roles, r.catalog_version), r.token_expires_at)
        }))
    }

    /// Sets an account's display name and language.
    ///
    /// # Errors
    /// [`StoreError::NotFound`].
    pub async fn update_profile(&self, account: &AccountId, display_name: &str, locale: &str) -> StoreResult<()> {
        let n = in_write_tx!(self, |tx| {
            sqlx::query("UPDATE accounts SET display_name = $2, locale = $3 WHERE id = $1")
                .bind(account)
                .bind(display_name)
                .bind(locale)
                .execute(&mut *tx)
                .await?
                .rows_affected()
        });
        self.forget_logins(super::login_cache::Forget::Account(account.as_str()));
        if n == 0 { Err(StoreError::NotFound) } else { Ok(()) }
    }

    /// Marks an account as a verified maker (or not).
    ///
    /// # Errors
    /// [`StoreError::NotFound`].
    pub async fn set_verified(&self, account: &AccountId, verified: bool) -> StoreResult<()> {
        let n = in_write_tx!(self, |tx| {
            sqlx::query("UPDATE accounts SET verified_maker = $2 WHERE id = $1")
                .bind(account)
                .bind(verified)
                .execute(&mut *tx)
                .await?
                .rows_affected()
        });
        self.forget_logins(super::login_cache::Forget::Account(account.as_str()));
        if n == 0 { Err(StoreError::NotFound) } else { Ok(()) }
    }

    /// # Errors
    /// Database errors.
    pub async fn delete_token(&self, token_hash: &str) -> StoreResult<()> {
        in_write_tx!(self, |tx| {
            sqlx::query("DELETE FROM auth_tokens WHERE token_hash = $1").bind(token_hash).execute(&mut *tx).await?;
        });
        self.forget_logins(Forget::Token(token_hash));
        Ok(())
    }
}

/// A session: the account, its grants, and the catalog's version stamp.
pub type Login = (AccountRow, Vec<RoleGrantRow>, i64);

/// A session as one row: the account, its grants as `role@space,…`, the catalog's stamp, and
/// (grouped reads) which request of the group it answers.
#[derive(sqlx::FromRow)]
struct LoginRow {
    i: i64,
    #[sqlx(flatten)]
    account: AccountRow,
    roles: Option<String>,
    catalog_version: i64,
    token_expires_at: i64,
}

/// The session of one token (`$1` its hash, `$2` now); the PostgreSQL text also lists
/// `i` = 0 so that one row type reads both.
static LOGIN_SQL: std::sync::LazyLock<super::TwoDialects> = std::sync::LazyLock::new(|| {
    super::TwoDialects::new(|d| {
        login_select(
            d,
            "0::bigint AS i",
            "FROM accounts a JOIN auth_tokens t ON t.account_id = a.id \
             WHERE t.token_hash = $1 AND t.expires_at > $2 AND a.disabled = FALSE",
        )
    })
});

/// The login statement's text; `index` (the request a row answers) is listed only on
/// PostgreSQL, where sqlx reads rows by name (SQLite's inline reader reads by position).
fn login_select(d: Dialect, index: &str, from: &str) -> String {
    let grants = d.join_commas("g.role || '@' || COALESCE(g.space_id, '')");
    let columns = ACCOUNT_COLUMNS.split(", ").map(|c| format!("a.{c}")).collect::<Vec<_>>().join(", ");
    let index = if d == Dialect::Postgres { format!("{index}, ") } else { String::new() };
    format!(
        "SELECT {index}{columns}, (SELECT {grants} \
         FROM role_grants g WHERE g.account_id = a.id) AS roles, \
         (SELECT version FROM catalog_version WHERE id = 1) AS catalog_version, t.expires_at AS token_expires_at {from}"
    )
}

/// The sessions of many tokens in one statement (`$1` hashes, `$2` each one's now); `i`
/// is the 1-based position of the token a row answers.
const GROUPED_LOGIN_FROM: &str = "FROM unnest($1::text[], $2::bigint[]) WITH ORDINALITY AS q(hash, now, i) \
     JOIN auth_tokens t ON t.token_hash = q.hash AND t.expires_at > q.now \
     JOIN accounts a ON a.id = t.account_id AND a.disabled = FALSE";

/// A token's hash and the instant it must not have expired by.
type LoginJob = super::grouped::Job<(String, i64), Option<LoginRow>>;

/// PostgreSQL's session reads, grouped: every authenticated request makes one, and alone
/// each was a statement of its own (see [`super::grouped`]).
#[derive(Clone, Debug)]
pub struct LoginReader {
    queue: super::grouped::Grouped<LoginJob>,
}

/// Statements in flight at once, and most sessions per statement.
const LOGIN_WORKERS: usize = 2;
const LOGIN_GROUP: usize = 64;

impl LoginReader {
    /// Starts the readers on the current runtime, on `pool`.
    #[must_use]
    pub fn start(pool: sqlx::PgPool) -> LoginReader {
        LoginReader {
            queue: super::grouped::Grouped::start(LOGIN_WORKERS, LOGIN_GROUP, move |group| {
                let pool = pool.clone();
                async move { read_logins(&pool, group).await }
            }),
        }
    }

    async fn read(&self, token_hash: &str, now: i64) -> StoreResult<Option<LoginRow>> {
        self.queue.ask((token_hash.to_owned(), now)).await
    }
}

async fn read_logins(pool: &sqlx::PgPool, group: Vec<LoginJob>) {
    static SQL: std::sync::LazyLock<String> =
        std::sync::LazyLock::new(|| login_select(Dialect::Postgres, "q.i", GROUPED_LOGIN_FROM));
    let (hashes, nows): (Vec<&str>, Vec<i64>) = group.iter().map(|((h, n), _)| (h.as_str(), *n)).unzip();
    let rows: Result<Vec<LoginRow>, sqlx::Error> =
        sqlx::query_as(sqlx::AssertSqlSafe(SQL.as_str())).bind(&hashes).bind(&nows).fetch_all(pool).await;
    let rows = rows.map(|rows| rows.into_iter().map(|r| (r.i, r)).collect());
    super::grouped::answer(group, rows, Ok, |(hash, now)| login_alone(pool, hash, now)).await;
}

/// One session read in a statement of its own (PostgreSQL).
async fn login_alone(pool: &sqlx::PgPool, hash: String, now: i64) -> StoreResult<Option<LoginRow>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(LOGIN_SQL.postgres.as_str()))
        .bind(&hash)
        .bind(now)
        .fetch_optional(pool)
        .await?)
}

/// Failed sign-ins in a row to one account (the back-off reads them on every node).
impl Db {
    /// The failures in a row of `account` and when the last was, if any.
    ///
    /// # Errors
    /// Database errors.
    pub async fn signin_failures(&self, account: &AccountId) -> StoreResult<Option<(i64, i64)>> {
        Ok(on_read!(self, |p| sqlx::query_as(
            "SELECT CAST(failures AS BIGINT), last_failed_at FROM signin_failures WHERE account_id = $1"
        )
        .bind(account)
        .fetch_optional(p)
        .await?))
    }

    /// Counts one more failure of `account` at `now` (the first again after a day without one:
    /// [`crate::domain::throttle::FORGET_FAILURES_MS`]); the count in a row after it.
    ///
    /// # Errors
    /// Database errors.
    pub async fn record_signin_failure(&self, account: &AccountId, now: i64) -> StoreResult<i64> {
        Ok(in_write_tx!(self, |tx| {
            sqlx::query_scalar(
                "INSERT INTO signin_failures (account_id, failures, last_failed_at) VALUES ($1, 1, $2) \
                 ON CONFLICT (account_id) DO UPDATE SET last_failed_at = $2, failures = CASE \
                   WHEN $2 - signin_failures.last_failed_at >= $3 THEN 1 ELSE signin_failures.failures + 1 END \
                 RETURNING CAST(failures AS BIGINT)",
            )
            .bind(account)
            .bind(now)
            .bind(crate::domain::throttle::FORGET_FAILURES_MS)
            .fetch_one(&mut *tx)
            .await?
        }))
    }

    /// Forgets the failures of `account` (a success, or an operator lifting the lockout);
    /// whether there were any.
    ///
    /// # Errors
    /// Database errors.
    pub async fn clear_signin_failures(&self, account: &AccountId) -> StoreResult<bool> {
        let n = in_write_tx!(self, |tx| {
            sqlx::query("DELETE FROM signin_failures WHERE account_id = $1")
                .bind(account)
                .execute(&mut *tx)
                .await?
                .rows_affected()
        });
        Ok(n > 0)
    }
}

/// A maker's calendar subscription (only its generation: the URL's token is derived from it).
impl Db {
    /// The generation of `account`'s calendar feed, if it has one.
    ///
    /// # Errors
    /// Database errors.
    pub async fn calendar_feed(&self, account: &AccountId) -> StoreResult<Option<i64>> {
        Ok(on_read!(self, |p| sqlx::query_scalar("SELECT generation FROM calendar_feeds WHERE account_id = $1")
            .bind(account)
            .fetch_optional(p)
            .await?))
    }

    /// Starts or renews `account`'s calendar feed at `generation` (the old URL stops working).
    ///
    /// # Errors
    /// Database errors.
    pub async fn renew_calendar_feed(&self, account: &AccountId, generation: i64) -> StoreResult<()> {
        in_write_tx!(self, |tx| {
            sqlx::query(
                "INSERT INTO calendar_feeds (account_id, generation) VALUES ($1, $2) \
                 ON CONFLICT (account_id) DO UPDATE SET generation = $2",
            )
            .bind(account)
            .bind(generation)
            .execute(&mut *tx)
            .await?
            .rows_affected()
        });
        Ok(())
    }

    /// Ends `account`'s calendar feed; whether it had one.
    ///
    /// # Errors
    /// Database errors.
    pub async fn revoke_calendar_feed(&self, account: &AccountId) -> StoreResult<bool> {
        let n = in_write_tx!(self, |tx| {
            sqlx::query("DELETE FROM calendar_feeds WHERE account_id = $1")
                .bind(account)
                .execute(&mut *tx)
                .await?
                .rows_affected()
        });
        Ok(n > 0)
    }
}

/// Password-reset links (only their tokens' hashes).
impl Db {
    /// Keeps a reset link of `account` until `expires_at`.
    ///
    /// # Errors
    /// Database errors.
    pub async fn insert_password_reset(
        &self,
        token_hash: &str,
        account: &AccountId,
        expires_at: i64,
        now: i64,
    ) -> StoreResult<()> {
        in_write_tx!(self, |tx| {
            sqlx::query(
                "INSERT INTO password_resets (token_hash, account_id, expires_at, created_at) VALUES ($1, $2, $3, $4)",
            )
            .bind(token_hash)
            .bind(account)
            .bind(expires_at)
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected()
        });
        Ok(())
    }

    /// Whether the reset link `token_hash` can still be used at `now`.
    ///
    /// # Errors
    /// Database errors.
    pub async fn password_reset_usable(&self, token_hash: &str, now: i64) -> StoreResult<bool> {
        let n: i64 = on_read!(self, |p| sqlx::query_scalar(
            "SELECT COUNT(*) FROM password_resets WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2"
        )
        .bind(token_hash)
        .bind(now)
        .fetch_one(p)
        .await?);
        Ok(n > 0)
    }

    /// Uses the reset link `token_hash` at `now`, if it is unused and not expired: sets the
    /// new password hash, and ends every login of the account, in one transaction. The
    /// account whose password changed, or `None` (unknown, used or expired).
    ///
    /// # Errors
    /// Database errors.
    pub async fn use_password_reset(
        &self,
        token_hash: &str,
        password_hash: &str,
        now: i64,
    ) -> StoreResult<Option<AccountId>> {
        let account: Option<AccountId> = in_write_tx!(self, |tx| {
            let account: Option<AccountId> = sqlx::query_scalar(
                "UPDATE password_resets SET used_at = $2 \
                 WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2 RETURNING account_id",
            )
            .bind(token_hash)
            .bind(now)
            .fetch_optional(&mut *tx)
            .await?;
            if let Some(a) = &account {
                sqlx::query("UPDATE accounts SET password_hash = $2 WHERE id = $1")
                    .bind(a)
                    .bind(password_hash)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query("DELETE FROM auth_tokens WHERE account_id = $1").bind(a).execute(&mut *tx).await?;
                sqlx::query("DELETE FROM signin_failures WHERE account_id = $1").bind(a).execute(&mut *tx).await?;
            }
            account
        });
        if let Some(a) = &account {
            self.forget_logins(super::login_cache::Forget::Account(a.as_str()));
        }
        Ok(account)
    }
}
