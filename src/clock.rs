//! The one place that reads the wall clock. Handlers and jobs take `now` from here and
//! pass it down; tests can pin it.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

/// Milliseconds since the Unix epoch, UTC: the system clock, or a fixed instant in tests.
#[derive(Clone, Debug, Default)]
pub struct Clock {
    fixed: Option<Arc<AtomicI64>>,
}

impl Clock {
    pub fn system() -> Self {
        Self { fixed: None }
    }

    /// A clock that reads `ms` until [`Clock::set`] moves it.
    pub fn fixed(ms: i64) -> Self {
        Self { fixed: Some(Arc::new(AtomicI64::new(ms))) }
    }

    pub fn set(&self, ms: i64) {
        if let Some(f) = &self.fixed {
            f.store(ms, Ordering::SeqCst);
        }
    }

    pub fn now_ms(&self) -> i64 {
        match &self.fixed {
            Some(f) => f.load(Ordering::SeqCst),
            None => chrono::Utc::now().timestamp_millis(),
        }
    }
}

/// Formats epoch milliseconds as RFC 3339 UTC (`2026-11-25T08:00:00Z`).
pub fn rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true))
        .unwrap_or_default()
}
