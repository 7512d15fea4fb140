//! What every handler shares: storage, the server key, the blob directory,
//! per-device ingest locks and rate limits, and the clock.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use hearth_protocol::SigningKey;

use crate::storage::Storage;

/// The time source; tests may pin it.
pub type Clock = Arc<dyn Fn() -> i64 + Send + Sync>;

pub fn system_clock() -> Clock {
    Arc::new(|| chrono::Utc::now().timestamp_millis())
}

#[derive(Clone)]
pub struct AppState {
    pub storage: Arc<dyn Storage>,
    pub server_key: Arc<SigningKey>,
    pub epoch: Arc<str>,
    pub blob_dir: PathBuf,
    pub clock: Clock,
    pub limits: Limits,
    /// One ingest at a time per device: a batch pushed on four connections at
    /// once is checked and stored once.
    pub device_locks: Arc<Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>>,
    pub rate: Arc<crate::limits::RateLimiter>,
    /// Live updates for the office console (`office::complaints::events`).
    pub events: crate::office::complaints::events::Events,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState").field("blob_dir", &self.blob_dir).finish_non_exhaustive()
    }
}

/// Sizes and rates the server enforces.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Largest JSON body, bytes (a batch is at most 2 MiB).
    pub max_json_body: usize,
    /// Largest tus chunk, bytes.
    pub max_chunk: usize,
    /// Largest blob, bytes.
    pub max_blob: u64,
    /// Requests per device per second (token bucket refill) and burst.
    pub device_rate_per_sec: u32,
    pub device_burst: u32,
    /// Unfinished uploads expire after this long.
    pub upload_ttl_ms: i64,
    /// Device clocks outside [bracket − tolerance, receive + tolerance] are suspect (§8).
    pub clock_tolerance_ms: i64,
    /// Bytes of unfinished uploads one device may hold at once (413 `quota_exceeded`).
    pub device_upload_quota: u64,
    /// A connection must deliver a request's whole header within this long
    /// (from the connection's start, or the previous response); else it is closed.
    pub header_timeout_ms: u64,
    /// A request body that sends nothing for this long is cut off (408).
    pub body_timeout_ms: u64,
    /// A request (body and handling) taking longer than this is answered 408.
    pub request_timeout_ms: u64,
    /// Requests handled at once; more wait up to `overload_wait_ms`, then 503 `overloaded`.
    pub max_concurrent: usize,
    pub overload_wait_ms: u64,
    /// Per client address, for what needs no token (enrolment) and for
    /// failed bearer tokens: a bucket of `address_burst` refilled at
    /// `address_rate_per_min` a minute; empty answers 429 `rate_limited`.
    pub address_rate_per_min: u32,
    pub address_burst: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_json_body: hearth_protocol::api::MAX_BATCH_BYTES,
            max_chunk: 8 * 1024 * 1024,
            max_blob: 64 * 1024 * 1024,
            device_rate_per_sec: 20,
            device_burst: 60,
            upload_ttl_ms: 24 * 3600 * 1000,
            clock_tolerance_ms: 10 * 60 * 1000,
            device_upload_quota: 512 * 1024 * 1024,
            header_timeout_ms: 10_000,
            body_timeout_ms: 30_000,
            request_timeout_ms: 300_000,
            max_concurrent: 256,
            overload_wait_ms: 2_000,
            address_rate_per_min: 30,
            address_burst: 30,
        }
    }
}

impl AppState {
    pub fn now_ms(&self) -> i64 {
        (self.clock)()
    }

    pub fn device_lock(&self, device_id: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut map = match self.device_locks.lock() {
            Ok(m) => m,
            Err(poisoned) => poisoned.into_inner(),
        };
        map.entry(device_id.to_owned()).or_default().clone()
    }
}
