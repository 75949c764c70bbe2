//! Throttling of what an attacker would repeat: failed sign-ins (per account, kept in the
//! database so that every node sees them, with a back-off an operator can lift; and per
//! client address), registrations per address, failed kiosk pairings per address, and
//! refused scans per kiosk. The per-address and per-kiosk counts live in this node's memory
//! (a fixed window per key, [`crate::domain::throttle`]): behind a load balancer that
//! spreads one client over `n` nodes, it gets up to `n` times the limit.
//!
//! A refusal is [`Code::TooManyRequests`] with `details.retry_after_secs` (the HTTP layer
//! puts it in `Retry-After` too).

use super::powers::AnyOperator;
use super::{Code, ServiceError, ServiceResult, Services};
use crate::domain::ids::AccountId;
use crate::domain::throttle::{Limit, Window, retry_after_secs};
use serde_json::json;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

/// What is counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Counted {
    /// Failed sign-ins and failed pairings from one address.
    AddressFailures,
    /// Registrations from one address.
    Registrations,
    /// Password-reset requests from one address (the registrations' limit).
    Resets,
    /// Refused scans of one kiosk.
    KioskRefusals,
}

/// Keys beyond which ended windows are swept out of memory.
const SWEEP_AT: usize = 10_000;

/// This node's windows, by what is counted and whose.
#[derive(Debug, Default)]
pub struct Throttles {
    windows: Mutex<HashMap<(Counted, String), Window>>,
    /// Failed sign-ins in a row to addresses that have no account, and when the last was:
    /// they back off like an account's, so that a refusal tells nothing of who has one.
    unknown: Mutex<HashMap<String, (i64, i64)>>,
    /// One sign-in at a time per e-mail address on this node, so that a burst of parallel
    /// guesses cannot all pass the back-off before the first failure is counted.
    turns: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

impl Throttles {
    /// Waits for this node's turn to sign in to `email` (held until the guard drops).
    pub async fn turn(&self, email: &str) -> tokio::sync::OwnedMutexGuard<()> {
        let lock = {
            let mut turns = self.turns.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            if turns.len() >= SWEEP_AT {
                turns.retain(|_, l| Arc::strong_count(l) > 1);
            }
            turns.entry(email.to_owned()).or_default().clone()
        };
        lock.lock_owned().await
    }

    /// Gives back one attempt counted by [`Throttles::hit`] (it turned out not to count: a
    /// sign-in or pairing that succeeded).
    pub fn release(&self, what: Counted, key: &str) {
        let mut windows = self.windows.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(w) = windows.get_mut(&(what, key.to_owned())) {
            w.count = w.count.saturating_sub(1);
        }
    }

    /// The failures in a row to `email`, which has no account, and when the last was.
    pub fn unknown_failures(&self, email: &str) -> Option<(i64, i64)> {
        self.unknown.lock().unwrap_or_else(std::sync::PoisonError::into_inner).get(email).copied()
    }

    /// Counts one more failure to `email`, which has no account.
    pub fn unknown_failed(&self, email: &str, now: i64) {
        let mut unknown = self.unknown.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if unknown.len() >= SWEEP_AT {
            // An hour without a failure: forgotten.
            unknown.retain(|_, (_, last)| now - *last < 3_600_000);
        }
        let e = unknown.entry(email.to_owned()).or_insert((0, now));
        let forgotten = now.saturating_sub(e.1) >= crate::domain::throttle::FORGET_FAILURES_MS;
        *e = (if forgotten { 1 } else { e.0 + 1 }, now);
    }

    /// Whether `key` may do one more of `what` at `now` under `limit` (then it is counted).
    ///
    /// # Errors
    /// [`Code::TooManyRequests`].
    pub fn hit(&self, what: Counted, key: &str, limit: Limit, now: i64) -> ServiceResult<()> {
        let mut windows = self.windows.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if windows.len() >= SWEEP_AT {
            // Only windows of this kind are judged by this kind's limit.
            windows.retain(|(kind, _), w| *kind != what || !w.is_over(limit, now));
        }
        let w = windows.entry((what, key.to_owned())).or_default();
        w.hit(limit, now).map_err(|wait| too_many(what_text(what), wait))
    }
}

fn what_text(what: Counted) -> &'static str {
    match what {
        Counted::AddressFailures => "too many failed attempts from this address",
        Counted::Registrations => "too many new accounts from this address",
        Counted::Resets => "too many password resets asked from this address",
        Counted::KioskRefusals => "too many refused scans at this kiosk",
    }
}

/// The refusal: what was too much, and when to try again.
pub fn too_many(what: &str, wait_ms: i64) -> ServiceError {
    let secs = retry_after_secs(wait_ms);
    ServiceError::new(Code::TooManyRequests, format!("{what}; try again in {secs} s"))
        .with_details(json!({ "retry_after_secs": secs }))
}

/// Where a request came from, as the key of the per-address limits: an IPv4 address, or the
/// /64 network of an IPv6 one (one subscriber's share, which they can spread over at will);
/// `unknown` when the server cannot tell (then every such request shares one key).
pub fn address_key(from: Option<IpAddr>) -> String {
    match from {
        None => "unknown".to_owned(),
        Some(IpAddr::V4(ip)) => ip.to_string(),
        Some(IpAddr::V6(ip)) => match ip.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = ip.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
    }
}

/// Lifts the sign-in back-off of an account (an operator, when a maker is locked out); whether
/// it was locked.
///
/// # Errors
/// [`Code::NotFound`], store errors.
pub async fn lift_lockout(svc: &Services, _op: &AnyOperator, account_id: &str) -> ServiceResult<bool> {
    let account = svc.db.account(&AccountId::new(account_id)).await.map_err(ServiceError::missing("account"))?;
    let lifted = svc.db.clear_signin_failures(&account.id).await?;
    tracing::info!(account = %account.id, lifted, "sign-in lockout lifted");
    Ok(lifted)
}
