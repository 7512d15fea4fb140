//! Exponential backoff with full jitter: the wait before attempt n is drawn
//! uniformly from [0, min(cap, base · 2^n)], so tablets that lost the
//! server together do not come back together.

use std::time::Duration;

use rand_core::{OsRng, RngCore};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    pub base: Duration,
    pub cap: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Self { base: Duration::from_secs(2), cap: Duration::from_secs(300) }
    }
}

impl Backoff {
    /// The ceiling of the wait after `failures` failures in a row (≥ 1).
    pub fn ceiling(&self, failures: u32) -> Duration {
        let exp = failures.saturating_sub(1).min(30);
        self.base.saturating_mul(1u32 << exp).min(self.cap)
    }

    /// The wait after `failures` failures, drawn with `random` in [0, 1];
    /// never shorter than what the server asked for.
    pub fn delay_with(&self, failures: u32, random: f64, retry_after: Option<Duration>) -> Duration {
        let jittered = self.ceiling(failures).mul_f64(random.clamp(0.0, 1.0));
        match retry_after {
            Some(asked) => jittered.max(asked),
            None => jittered,
        }
    }

    pub fn delay(&self, failures: u32, retry_after: Option<Duration>) -> Duration {
        let random = (OsRng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
        self.delay_with(failures, random, retry_after)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ceiling_doubles_from_base_up_to_cap() {
        let b = Backoff::default();
        assert_eq!(b.ceiling(1), Duration::from_secs(2));
        assert_eq!(b.ceiling(2), Duration::from_secs(4));
        assert_eq!(b.ceiling(5), Duration::from_secs(32));
        assert_eq!(b.ceiling(9), Duration::from_secs(300), "capped at 5 minutes");
        assert_eq!(b.ceiling(u32::MAX), Duration::from_secs(300), "no overflow");
    }

    #[test]
    fn full_jitter_spans_zero_to_ceiling() {
        let b = Backoff::default();
        assert_eq!(b.delay_with(3, 0.0, None), Duration::ZERO);
        assert_eq!(b.delay_with(3, 1.0, None), Duration::from_secs(8));
        assert_eq!(b.delay_with(3, 0.5, None), Duration::from_secs(4));
        for _ in 0..1000 {
            let d = b.delay(4, None);
            assert!(d <= Duration::from_secs(16), "{d:?} beyond the ceiling");
        }
    }

    #[test]
    fn retry_after_is_a_floor() {
        let b = Backoff::default();
        assert_eq!(b.delay_with(1, 0.1, Some(Duration::from_secs(30))), Duration::from_secs(30));
        assert_eq!(b.delay_with(9, 1.0, Some(Duration::from_secs(1))), Duration::from_secs(300));
    }
}
