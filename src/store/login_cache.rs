//! A per-node cache of logins (PostgreSQL), kept true by the database's notifications.
//!
//! Every authenticated request needs its token's login: the account, its role grants and
//! the catalog's stamp. Reading it on every request cost about a quarter of PostgreSQL's
//! booking rate (see BENCHMARKS.md, ninth round), although it changes rarely. A node now keeps the logins it has read, and forgets them when the
//! database says they changed:
//!
//! - Triggers (migration 0009) `NOTIFY labinn_sessions` with the account's id when one of its
//!   tokens is deleted or changed, its row changes (verified, disabled, password, name) or a
//!   role grant of it is added or removed, and with `*` when the catalog's stamp moves. A
//!   writer cannot forget: the trigger runs in its transaction, and PostgreSQL delivers the
//!   notification to every listening node when that transaction commits.
//! - Each node (a server: [`crate::app::Application`] starts it; one-off commands such as
//!   `labinn migrate` do not) listens on one connection of its own. Until it listens, and from the moment
//!   the connection fails until it listens again, the cache answers nothing (every request
//!   reads the database), and it is emptied when listening starts again, since notifications
//!   sent in between are lost.
//! - A node's own writes also forget at once, after their commit ([`crate::store::Db::forget_logins`]),
//!   so its next request does not wait for the notification's round trip.
//! - An entry read before a change but stored after its notification arrived would be stale:
//!   every forgetting bumps a generation, and an entry is stored only if the generation did
//!   not move while it was read.
//! - A token's own expiry is checked on every use, and an entry is kept at most [`MAX_AGE_MS`]
//!   (a bound, should a notification ever not arrive).
//!
//! So on another node a logout, a revoked role or a catalog change takes effect when the
//! notification arrives (milliseconds on one network), not only at the next statement.
//! SQLite has one node and reads its logins in-process; it has no cache.

use super::accounts::Login;
use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// The channel the triggers notify.
pub const CHANNEL: &str = "labinn_sessions";

/// The payload that forgets every login (a catalog change).
pub const ALL: &str = "*";

/// The longest an entry is kept, whatever the notifications say.
pub const MAX_AGE_MS: i64 = 60_000;

/// The most entries; a full cache is emptied and starts again.
const MAX_ENTRIES: usize = 100_000;

#[derive(Debug, Clone)]
struct Entry {
    login: Login,
    token_expires_at: i64,
    stored_at: i64,
}

/// What to forget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Forget<'a> {
    /// Every login of this account.
    Account(&'a str),
    /// The login of this token hash.
    Token(&'a str),
    /// Everything (the catalog's stamp moved, or notifications may have been lost).
    All,
}

impl<'a> Forget<'a> {
    /// What a notification's payload asks to forget.
    #[must_use]
    pub fn from_payload(payload: &'a str) -> Forget<'a> {
        if payload == ALL { Forget::All } else { Forget::Account(payload) }
    }
}

/// The cache of one node.
#[derive(Debug)]
pub struct LoginCache {
    entries: Mutex<HashMap<String, Entry>>,
    /// Moves on every forgetting (under the lock).
    generation: AtomicU64,
    /// The node listens for notifications: only then are entries used or stored.
    listening: AtomicBool,
    /// Dropped with the cache, which tells the listener to stop.
    stop: tokio::sync::watch::Sender<()>,
    /// The listener is started once ([`LoginCache::start`]).
    started: std::sync::Once,
}

impl Default for LoginCache {
    fn default() -> LoginCache {
        LoginCache {
            entries: Mutex::default(),
            generation: AtomicU64::new(0),
            listening: AtomicBool::new(false),
            stop: tokio::sync::watch::channel(()).0,
            started: std::sync::Once::new(),
        }
    }
}

impl LoginCache {
    /// The login of `token_hash` if one is kept, its token is live at `now` and it is
    /// younger than [`MAX_AGE_MS`].
    #[must_use]
    pub fn get(&self, token_hash: &str, now: i64) -> Option<Login> {
        if !self.listening.load(Ordering::Acquire) {
            return None;
        }
        let entries = self.entries.lock().expect("the login cache's lock");
        let e = entries.get(token_hash)?;
        (e.token_expires_at > now && now - e.stored_at < MAX_AGE_MS && now >= e.stored_at).then(|| e.login.clone())
    }

    /// The generation to give [`LoginCache::put`]: read it before the database.
    #[must_use]
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Keeps `login`, read from the database after [`LoginCache::generation`] gave
    /// `generation`, unless something was forgotten since or the node does not listen.
    pub fn put(&self, token_hash: &str, login: &Login, token_expires_at: i64, now: i64, generation: u64) {
        if !self.listening.load(Ordering::Acquire) {
            return;
        }
        let mut entries = self.entries.lock().expect("the login cache's lock");
        if self.generation.load(Ordering::Acquire) != generation {
            return;
        }
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        entries.insert(token_hash.to_owned(), Entry { login: login.clone(), token_expires_at, stored_at: now });
    }

    /// Forgets what `what` names.
    pub fn forget(&self, what: Forget<'_>) {
        let mut entries = self.entries.lock().expect("the login cache's lock");
        self.generation.fetch_add(1, Ordering::AcqRel);
        match what {
            Forget::All => entries.clear(),
            Forget::Token(hash) => {
                entries.remove(hash);
            }
            Forget::Account(id) => entries.retain(|_, e| e.login.0.id != id),
        }
    }

    /// Whether the node listens (the listener says so); either way, everything kept so far
    /// is forgotten.
    pub fn set_listening(&self, listening: bool) {
        self.listening.store(listening, Ordering::Release);
        self.forget(Forget::All);
    }

    /// How many logins are kept.
    #[must_use]
    pub fn len(&self) -> usize {
        self.entries.lock().expect("the login cache's lock").len()
    }

    /// Whether no login is kept.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Starts [`listen`] on `pool` for this cache, on the current runtime; a second call does
    /// nothing. Until it listens the cache is out of use.
    pub fn start(self: &std::sync::Arc<Self>, pool: &sqlx::PgPool) {
        self.started.call_once(|| {
            tokio::spawn(listen(pool.clone(), std::sync::Arc::downgrade(self)));
        });
    }

    /// Whether the node listens for notifications (the cache is in use).
    #[must_use]
    pub fn is_listening(&self) -> bool {
        self.listening.load(Ordering::Acquire)
    }
}

/// Listens for [`CHANNEL`] on a connection of `pool` (a pool of its own) and tells `cache`,
/// until the cache is dropped or the pool is closed. A failed connection is opened again
/// after a pause; the cache is out of use meanwhile.
pub async fn listen(pool: sqlx::PgPool, cache: std::sync::Weak<LoginCache>) {
    use sqlx::postgres::PgListener;
    let Some(mut dropped) = cache.upgrade().map(|c| c.stop.subscribe()) else { return };
    let mut pause = std::time::Duration::from_millis(100);
    let mut lost = false;
    loop {
        let attempt = async {
            let mut l = PgListener::connect_with(&pool).await?;
            l.listen(CHANNEL).await?;
            Ok::<_, sqlx::Error>(l)
        };
        let attempt = tokio::select! {
            a = attempt => a,
            _ = dropped.changed() => return,
        };
        match attempt {
            Ok(mut listener) => {
                let Some(c) = cache.upgrade() else { return };
                c.set_listening(true);
                drop(c);
                if lost {
                    tracing::info!("login notifications: listening again; kept logins start afresh");
                }
                lost = true;
                pause = std::time::Duration::from_millis(100);
                loop {
                    let next = tokio::select! {
                        n = listener.try_recv() => n,
                        _ = dropped.changed() => return,
                    };
                    let Some(c) = cache.upgrade() else { return };
                    match next {
                        Ok(Some(n)) => c.forget(Forget::from_payload(n.payload())),
                        // The connection was lost (and notifications with it), or failed.
                        Ok(None) | Err(_) => {
                            c.set_listening(false);
                            break;
                        }
                    }
                }
                if pool.is_closed() {
                    return; // the node is shutting down (`Db::close`)
                }
                tracing::warn!(
                    "login notifications: the connection was lost; logins are read from the database until it is back"
                );
            }
            Err(e) => {
                lost = true;
                tracing::warn!(error = %e, "login notifications: cannot listen; logins are read from the database meanwhile");
            }
        }
        if pool.is_closed() {
            return;
        }
        tokio::select! {
            () = tokio::time::sleep(pause) => {}
            _ = dropped.changed() => return,
        }
        pause = (pause * 2).min(std::time::Duration::from_secs(5));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::accounts::{AccountRow, RoleGrantRow};

    fn login(account: &str) -> Login {
        let a = AccountRow {
            id: crate::domain::ids::AccountId::new(account),
            email: format!("{account}@example.org"),
            password_hash: String::new(),
            display_name: account.into(),
            locale: "zh-CN".into(),
            verified_maker: true,
            disabled: false,
            created_at: 0,
        };
        (a, vec![RoleGrantRow { role: crate::domain::identity::Role::Maker, space_id: None }], 7)
    }

    fn listening() -> LoginCache {
        let c = LoginCache::default();
        c.set_listening(true);
        c
    }

    #[test]
    fn nothing_is_kept_or_given_until_the_node_listens() {
        let c = LoginCache::default();
        let g = c.generation();
        c.put("h1", &login("a"), 1_000, 0, g);
        assert!(c.is_empty());
        c.set_listening(true);
        let g = c.generation();
        c.put("h1", &login("a"), 1_000, 0, g);
        assert_eq!(c.get("h1", 10).map(|s| s.0.id), Some(crate::domain::ids::AccountId::new("a")));
        c.set_listening(false);
        assert!(c.get("h1", 10).is_none(), "a node that stopped listening reads the database");
        assert!(c.is_empty(), "and forgets what it kept");
    }

    #[test]
    fn an_entry_read_before_a_forgetting_is_not_kept() {
        let c = listening();
        let g = c.generation();
        c.forget(Forget::Account("someone else"));
        c.put("h1", &login("a"), 1_000, 0, g);
        assert!(c.get("h1", 1).is_none());
        let g = c.generation();
        c.put("h1", &login("a"), 1_000, 0, g);
        assert!(c.get("h1", 1).is_some());
    }

    #[test]
    fn expired_tokens_and_old_entries_are_not_given() {
        let c = listening();
        let g = c.generation();
        c.put("h1", &login("a"), 500, 100, g);
        assert!(c.get("h1", 499).is_some());
        assert!(c.get("h1", 500).is_none(), "the token expires at 500");
        let g = c.generation();
        c.put("h2", &login("b"), i64::MAX, 100, g);
        assert!(c.get("h2", 100 + MAX_AGE_MS - 1).is_some());
        assert!(c.get("h2", 100 + MAX_AGE_MS).is_none(), "kept at most MAX_AGE_MS");
        assert!(c.get("h2", 99).is_none(), "a clock that went back does not extend an entry");
    }

    #[test]
    fn forgetting_an_account_forgets_only_its_tokens() {
        let c = listening();
        for (h, a) in [("h1", "a"), ("h2", "a"), ("h3", "b")] {
            let g = c.generation();
            c.put(h, &login(a), 1_000, 0, g);
        }
        c.forget(Forget::from_payload("a"));
        assert!(c.get("h1", 1).is_none() && c.get("h2", 1).is_none());
        assert!(c.get("h3", 1).is_some());
        c.forget(Forget::Token("h3"));
        assert!(c.get("h3", 1).is_none());
        let g = c.generation();
        c.put("h4", &login("d"), 1_000, 0, g);
        c.forget(Forget::from_payload(ALL));
        assert!(c.is_empty());
    }
}
