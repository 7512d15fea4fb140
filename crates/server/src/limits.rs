//! Per-device rate limits: a token bucket per device id, answered with 429
//! and Retry-After when empty.

use std::collections::HashMap;
use std::sync::Mutex;

#[derive(Debug, Default)]
pub struct RateLimiter {
    buckets: Mutex<HashMap<String, (f64, i64)>>,
}

impl RateLimiter {
    /// Takes one token for `key` at `now_ms`; `Err(seconds)` to wait when empty.
    pub fn take(&self, key: &str, now_ms: i64, per_sec: u32, burst: u32) -> Result<(), u64> {
        let mut map = match self.buckets.lock() {
            Ok(m) => m,
            Err(poisoned) => poisoned.into_inner(),
        };
        let (tokens, last) = map.entry(key.to_owned()).or_insert((f64::from(burst), now_ms));
        let elapsed = (now_ms - *last).max(0) as f64 / 1000.0;
        *tokens = (*tokens + elapsed * f64::from(per_sec)).min(f64::from(burst));
        *last = now_ms;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            let wait = ((1.0 - *tokens) / f64::from(per_sec.max(1))).ceil();
            Err((wait as u64).max(1))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_is_allowed_then_refused_until_tokens_refill() {
        let rl = RateLimiter::default();
        for _ in 0..3 {
            assert!(rl.take("d", 0, 1, 3).is_ok());
        }
        assert_eq!(rl.take("d", 0, 1, 3), Err(1));
        assert!(rl.take("other", 0, 1, 3).is_ok(), "buckets are per device");
        assert!(rl.take("d", 1000, 1, 3).is_ok(), "a second later one token is back");
    }
}
