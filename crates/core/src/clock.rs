//! Where "now" comes from: the system clock, or a shifted one in tests (skew, expiry), so every
//! time decision in the engine can be driven from outside.

use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{DateTime, TimeZone, Utc};

/// Where "now" comes from (swappable in tests).
pub trait Clock: Send + Sync {
    /// Seconds since the Unix epoch.
    fn now(&self) -> i64;
}

/// The system clock.
#[derive(Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> i64 {
        Utc::now().timestamp()
    }
}

/// The system clock shifted by an adjustable offset (tests: skew, expiry).
#[derive(Debug, Default)]
pub struct OffsetClock {
    offset: AtomicI64,
}

impl OffsetClock {
    /// A clock `offset_secs` seconds ahead of the system clock (negative: behind).
    pub fn new(offset_secs: i64) -> Self {
        Self {
            offset: AtomicI64::new(offset_secs),
        }
    }
    /// Moves the clock to `secs` seconds from the system clock (replacing, not adding to,
    /// the previous offset); takes effect for every holder of the clock at once.
    pub fn set_offset(&self, secs: i64) {
        self.offset.store(secs, Ordering::SeqCst);
    }
}

impl Clock for OffsetClock {
    fn now(&self) -> i64 {
        Utc::now()
            .timestamp()
            .saturating_add(self.offset.load(Ordering::SeqCst))
    }
}

/// How long something issued at `issued_at` lives (Unix seconds): the one rule for when tokens
/// and AWS credentials are due to be renewed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Lifetime {
    pub issued_at: i64,
    pub expires_at: i64,
}

/// The largest share of a lifetime a renewal margin may take (`numerator / denominator`), so
/// something short-lived still serves the rest of its lifetime before it is renewed, never
/// being due at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct MarginCap {
    numerator: i64,
    denominator: i64,
}

impl MarginCap {
    /// At most half the lifetime (tokens: a larger margin would refresh, and rotate the refresh
    /// token, on every call).
    pub const HALF: MarginCap = MarginCap {
        numerator: 1,
        denominator: 2,
    };
    /// At most three quarters of the lifetime (AWS credentials: they serve their first quarter).
    pub const THREE_QUARTERS: MarginCap = MarginCap {
        numerator: 3,
        denominator: 4,
    };
}

impl Lifetime {
    /// When it is due to be renewed: `margin` seconds before it expires, the margin capped at
    /// `cap` of the lifetime. Absurd values (expiry before issue) make it due at expiry;
    /// nothing overflows.
    pub fn due_at(&self, margin: i64, cap: MarginCap) -> i64 {
        let lifetime = self.expires_at.saturating_sub(self.issued_at).max(0);
        let capped = (lifetime / cap.denominator).saturating_mul(cap.numerator);
        self.expires_at.saturating_sub(margin.min(capped))
    }
}

/// Seconds since the epoch as a UTC time (out-of-range values clamp to the epoch).
pub(crate) fn utc(secs: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(secs, 0).single().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::{Lifetime, MarginCap};

    #[test]
    fn a_lifetime_is_due_a_margin_before_expiry_capped_at_a_share_of_it() {
        let hour = Lifetime {
            issued_at: 0,
            expires_at: 3600,
        };
        assert_eq!(hour.due_at(300, MarginCap::HALF), 3300);
        assert_eq!(hour.due_at(3600, MarginCap::HALF), 1800);
        assert_eq!(hour.due_at(3600, MarginCap::THREE_QUARTERS), 900);
        let absurd = Lifetime {
            issued_at: 100,
            expires_at: 50,
        };
        assert_eq!(absurd.due_at(300, MarginCap::HALF), 50);
    }
}
