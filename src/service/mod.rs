//! The use cases: everything labinn does, once. The JSON API, the pages, the scheduled jobs,
//! the demo seeding and the CLI all call these functions and never each other.
//!
//! Each function takes the [`Services`] it may use, typed inputs, the acting identity or the
//! power it needs ([`powers`]), and `now` (nothing here reads the clock); it answers with
//! rows and domain values, or a [`ServiceError`] with a stable [`Code`]. It loads what the
//! rules need from the store, asks the pure domain for the decision, and has the store write
//! the result in one transaction.
//!
//! One module per family: [`catalog`] (spaces, resources, units, rules; stored rules turned
//! into calendar values), [`availability`], [`booking`] (single, series, stay, move,
//! cancel, approve, decline; a seat is a single booking of a seat pool), [`waitlist`], [`checkin`] (codes, kiosks, scans, walk-ups,
//! manual check-in, no-shows, the ledger), [`notify`] (what makers are told, reminders,
//! webhooks), [`accounts`], [`organisations`], [`trainings`].

pub mod accounts;
pub mod availability;
pub mod booking;
pub mod calendar;
pub mod catalog;
pub mod charts;
pub mod checkin;
pub mod console;
pub mod error;
pub mod evidence;
pub mod exports;
pub mod log;
pub mod notify;
pub mod organisations;
pub mod pack_page;
pub mod powers;
pub mod registers;
pub mod reports;
pub mod rollup;
pub mod throttle;
pub mod trainings;
pub mod waitlist;
pub mod witness;

pub use error::{Code, ServiceError, ServiceResult};
pub use powers::Identity;

use crate::auth::Hasher;
use crate::config::Config;
use crate::domain::checkin::Secret;
use crate::events::Events;
use crate::store::Db;
use crate::store::catalog_cache::CatalogCache;
use std::sync::Arc;

/// Rows per transaction of the jobs (no-shows, check-outs, reminders, deliveries): big enough
/// to be quick, small enough not to hold the writer long.
pub(crate) const JOB_BATCH: i64 = 500;

/// What the use cases may reach: the store, the settings, password hashing, the key of
/// check-in codes, where access events go, and this node's catalog cache. Cheap to clone.
#[derive(Clone)]
pub struct Services {
    pub db: Db,
    pub config: Arc<Config>,
    pub hasher: Hasher,
    /// The key of check-in codes.
    pub secret: Secret,
    /// Where access events go (MQTT, webhook).
    pub events: Events,
    /// Catalog rows of resources, valid by the database's version stamp.
    pub(crate) catalog: Arc<CatalogCache>,
    /// This node's counts of throttled attempts.
    pub throttles: Arc<throttle::Throttles>,
}

impl Services {
    pub fn new(db: Db, config: Arc<Config>, secret: Secret, events: Events) -> Self {
        Services {
            hasher: Hasher::new(config.hash_cost),
            db,
            config,
            secret,
            events,
            catalog: Arc::default(),
            throttles: Arc::default(),
        }
    }

    /// For one-off commands that only read (`labinn verify-pack`, `labinn report`): no events,
    /// and a random check-in key that signs nothing (the node's key is neither read nor made).
    ///
    /// # Errors
    /// When the system has no randomness.
    pub fn offline(db: Db, config: Arc<Config>) -> anyhow::Result<Self> {
        let mut key = vec![0u8; 32];
        getrandom::fill(&mut key).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
        let secret = Secret::new(key).map_err(|e| anyhow::anyhow!(e))?;
        Ok(Self::new(db, config, secret, Events::none()))
    }
}

impl std::fmt::Debug for Services {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Services").field("backend", &self.db.backend()).finish_non_exhaustive()
    }
}
