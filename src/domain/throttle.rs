//! Throttling as plain arithmetic: a fixed window that counts attempts per key, and the
//! back-off of failed sign-ins to one account. Where the counts live (this node's memory, or
//! the database for an account's failures, which every node must see) is the service's
//! business.

use super::interval::Millis;

/// At most `max` attempts per `window_ms` for one key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    pub max: u32,
    pub window_ms: Millis,
}

/// One key's attempts in its current window.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Window {
    pub start: Millis,
    pub count: u32,
}

impl Window {
    /// Counts one attempt at `now`: allowed, or refused with how long until the window ends
    /// (at least 1 ms). A refused attempt is not counted. A clock that went back starts a new
    /// window rather than refusing for longer than one.
    ///
    /// # Errors
    /// The milliseconds to wait.
    pub fn hit(&mut self, limit: Limit, now: Millis) -> Result<(), Millis> {
        let ends = self.start.saturating_add(limit.window_ms);
        if self.count == 0 || now >= ends || now < self.start {
            *self = Window { start: now, count: 0 };
        }
        if self.count >= limit.max {
            return Err((self.start.saturating_add(limit.window_ms) - now).max(1));
        }
        self.count += 1;
        Ok(())
    }

    /// Whether the window has ended at `now` (the key can be forgotten).
    pub fn is_over(&self, limit: Limit, now: Millis) -> bool {
        now >= self.start.saturating_add(limit.window_ms) || now < self.start
    }
}

/// A day without a failed sign-in: the count in a row starts again.
pub const FORGET_FAILURES_MS: Millis = 86_400_000;

/// The back-off of failed sign-ins to one account: the first `free` failures in a row cost
/// nothing; after the n-th failure (n > `free`) the next attempt must wait
/// `base_ms × 2^(n − free − 1)` from that failure, at most `max_ms`. A success, an operator
/// lifting the lockout, or [`FORGET_FAILURES_MS`] without a failure sets the count back to 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    pub free: u32,
    pub base_ms: Millis,
    pub max_ms: Millis,
}

impl Backoff {
    /// How long after the last failure an account with `failures` in a row is locked.
    pub fn lock_ms(&self, failures: u32) -> Millis {
        if failures <= self.free {
            return 0;
        }
        let doublings = (failures - self.free - 1).min(62);
        self.base_ms.saturating_mul(1_i64 << doublings).min(self.max_ms)
    }

    /// How long from `now` until the account may try again (0: at once).
    pub fn wait(&self, failures: u32, last_failure_at: Millis, now: Millis) -> Millis {
        if now.saturating_sub(last_failure_at) >= FORGET_FAILURES_MS {
            return 0;
        }
        (last_failure_at.saturating_add(self.lock_ms(failures)) - now).max(0)
    }
}

/// Whole seconds to put in `Retry-After` for a wait in milliseconds (rounded up, at least 1).
pub fn retry_after_secs(wait_ms: Millis) -> u64 {
    u64::try_from(wait_ms.max(1)).unwrap_or(u64::MAX).div_ceil(1_000)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_window_allows_its_max_then_refuses_until_it_ends() {
        let limit = Limit { max: 3, window_ms: 60_000 };
        let mut w = Window::default();
        for t in [1_000, 2_000, 3_000] {
            assert_eq!(w.hit(limit, t), Ok(()));
        }
        assert_eq!(w.hit(limit, 4_000), Err(57_000), "the window began at 1 s and lasts a minute");
        assert_eq!(w.hit(limit, 60_999), Err(1));
        assert_eq!(w.hit(limit, 61_000), Ok(()), "a new window");
        assert_eq!(w.count, 1);
    }

    #[test]
    fn failures_back_off_doubling_up_to_the_cap() {
        let b = Backoff { free: 5, base_ms: 1_000, max_ms: 900_000 };
        let locks: Vec<Millis> = (0..=16).map(|n| b.lock_ms(n)).collect();
        assert_eq!(
            locks,
            [0, 0, 0, 0, 0, 0, 1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 64_000, 128_000, 256_000, 512_000, 900_000]
        );
        assert_eq!(b.lock_ms(u32::MAX), 900_000, "no overflow");
        assert_eq!(b.wait(7, 10_000, 11_500), 500);
        assert_eq!(b.wait(7, 10_000, 13_000), 0);
        assert_eq!(b.wait(40, 10_000, 10_000 + FORGET_FAILURES_MS), 0, "a day later, forgotten");
        assert_eq!((retry_after_secs(500), retry_after_secs(1_000), retry_after_secs(1_001)), (1, 1, 2));
    }

    proptest! {
        /// However the attempts fall, a window never allows more than `max` in any window
        /// it opens, and a refusal always names a wait that ends inside the window.
        #[test]
        fn a_window_never_allows_more_than_its_max(
            max in 1u32..10,
            window_ms in 1i64..10_000,
            steps in proptest::collection::vec(0i64..3_000, 1..60),
        ) {
            let limit = Limit { max, window_ms };
            let mut w = Window::default();
            let (mut now, mut allowed_in_window, mut window_start) = (0i64, 0u32, i64::MIN);
            for step in steps {
                now += step;
                match w.hit(limit, now) {
                    Ok(()) => {
                        if w.start != window_start {
                            window_start = w.start;
                            allowed_in_window = 0;
                        }
                        allowed_in_window += 1;
                        prop_assert!(allowed_in_window <= max);
                    }
                    Err(wait) => {
                        prop_assert!(wait >= 1 && now + wait <= w.start + window_ms);
                    }
                }
            }
        }
    }
}
