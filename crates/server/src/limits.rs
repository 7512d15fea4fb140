//! Rate limits: a token bucket per key (a device id, or `ip:<address>` for
//! what a client does without a valid token), answered with 429 and
//! Retry-After when empty.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;
use crate::state::AppState;

#[derive(Debug, Default)]
pub struct RateLimiter {
    buckets: Mutex<HashMap<String, (f64, i64)>>,
}

/// Above this many buckets, those untouched for [`IDLE_MS`] are dropped, so
/// requests from ever new addresses cannot grow the map without bound.
const PRUNE_ABOVE: usize = 10_000;
const IDLE_MS: i64 = 10 * 60 * 1000;

impl RateLimiter {
    /// Takes one token for `key` at `now_ms`; `Err(seconds)` to wait when empty.
    pub fn take(&self, key: &str, now_ms: i64, per_sec: u32, burst: u32) -> Result<(), u64> {
        self.take_at_rate(key, now_ms, f64::from(per_sec.max(1)), burst)
    }

    /// As [`take`](Self::take), refilled at `per_min` tokens a minute.
    pub fn take_per_min(&self, key: &str, now_ms: i64, per_min: u32, burst: u32) -> Result<(), u64> {
        self.take_at_rate(key, now_ms, f64::from(per_min.max(1)) / 60.0, burst)
    }

    fn take_at_rate(&self, key: &str, now_ms: i64, per_sec: f64, burst: u32) -> Result<(), u64> {
        let mut map = match self.buckets.lock() {
            Ok(m) => m,
            Err(poisoned) => poisoned.into_inner(),
        };
        if map.len() > PRUNE_ABOVE {
            map.retain(|_, (_, last)| now_ms.saturating_sub(*last) < IDLE_MS);
        }
        let (tokens, last) = map.entry(key.to_owned()).or_insert((f64::from(burst), now_ms));
        let elapsed = (now_ms - *last).max(0) as f64 / 1000.0;
        *tokens = (*tokens + elapsed * per_sec).min(f64::from(burst));
        *last = now_ms;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            let wait = ((1.0 - *tokens) / per_sec).ceil();
            Err((wait as u64).max(1))
        }
    }
}

/// At most this many requests are handled at once; more wait a little for
/// a turn, then are told the server is busy.
#[derive(Debug, Clone)]
pub struct Gate {
    permits: Arc<tokio::sync::Semaphore>,
    wait: Duration,
}

impl Gate {
    pub fn new(max_concurrent: usize, wait: Duration) -> Self {
        Self { permits: Arc::new(tokio::sync::Semaphore::new(max_concurrent.max(1))), wait }
    }
}

/// Middleware: the concurrency limit (503 `overloaded` with Retry-After).
pub async fn admit(State(gate): State<Gate>, req: Request, next: Next) -> Response {
    let permit = tokio::time::timeout(gate.wait, gate.permits.clone().acquire_owned()).await;
    let Ok(Ok(_permit)) = permit else {
        let mut e = ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "overloaded",
            "the server is handling too many requests; wait a moment and retry",
        );
        e.retry_after = Some(1);
        return e.into_response();
    };
    next.run(req).await
}

/// Middleware: a request whose body and handling take longer than the
/// limit is answered `408 request_timeout` and its connection closed.
pub async fn deadline(State(limit): State<Duration>, req: Request, next: Next) -> Response {
    match tokio::time::timeout(limit, next.run(req)).await {
        Ok(response) => response,
        Err(_) => request_timeout(),
    }
}

/// `408 request_timeout`, closing the connection (the rest of the body was never read).
pub fn request_timeout() -> Response {
    let mut response = ApiError::new(
        StatusCode::REQUEST_TIMEOUT,
        "request_timeout",
        "the request did not arrive in time; the connection is closed, send it again",
    )
    .into_response();
    response.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

/// Whether a body error is the body read timeout firing.
pub fn is_body_timeout(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut cause = Some(error);
    while let Some(e) = cause {
        if e.is::<tower_http::timeout::TimeoutError>() {
            return true;
        }
        cause = e.source();
    }
    false
}

/// The bucket key of a client address: the address itself for IPv4, its
/// /64 network for IPv6 (one subscriber usually holds a whole /64).
pub(crate) fn address_key(addr: IpAddr) -> String {
    match addr {
        IpAddr::V4(v4) => format!("ip:{v4}"),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => format!("ip:{v4}"),
            None => {
                let s = v6.segments();
                format!("ip:{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
    }
}

/// Middleware: the per-address limit on what needs no valid token. Every
/// `POST /v1/enroll/device` takes a token from the client address's bucket
/// before it is looked at; any other request takes one only when it is
/// answered 401 (a wrong or missing device or operator token), and is then
/// answered 429 instead once the bucket is empty. Requests with a valid
/// token are never limited here (tablets behind one office address keep
/// working). The address is the peer of the TCP connection; without one
/// (a router served without `ConnectInfo`) nothing is limited.
pub async fn per_address(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let Some(ConnectInfo(peer)) = req.extensions().get::<ConnectInfo<SocketAddr>>().copied() else {
        return next.run(req).await;
    };
    let key = address_key(peer.ip());
    let limits = state.limits;
    let take =
        || state.rate.take_per_min(&key, state.now_ms(), limits.address_rate_per_min, limits.address_burst);
    if req.method() == Method::POST && req.uri().path() == "/v1/enroll/device" {
        if let Err(wait) = take() {
            return address_limited(wait);
        }
        return next.run(req).await;
    }
    let response = next.run(req).await;
    if response.status() == StatusCode::UNAUTHORIZED
        && let Err(wait) = take()
    {
        return address_limited(wait);
    }
    response
}

fn address_limited(wait: u64) -> Response {
    let mut e = ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        "rate_limited",
        "too many enrolment attempts or wrong tokens from this address; wait and retry",
    );
    e.retry_after = Some(wait);
    e.into_response()
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

    #[test]
    fn a_per_minute_bucket_refills_slowly_and_says_how_long_to_wait() {
        let rl = RateLimiter::default();
        for _ in 0..2 {
            assert!(rl.take_per_min("ip:a", 0, 6, 2).is_ok());
        }
        assert_eq!(rl.take_per_min("ip:a", 0, 6, 2), Err(10), "6 a minute: one every 10 s");
        assert!(rl.take_per_min("ip:a", 10_000, 6, 2).is_ok());
    }

    #[test]
    fn idle_buckets_are_dropped_when_there_are_many() {
        let rl = RateLimiter::default();
        for n in 0..=PRUNE_ABOVE {
            let _ = rl.take(&format!("k{n}"), 0, 1, 1);
        }
        let _ = rl.take("late", IDLE_MS, 1, 1);
        let len = rl.buckets.lock().map(|m| m.len()).unwrap_or(0);
        assert_eq!(len, 1, "only the fresh bucket is kept");
    }
}
