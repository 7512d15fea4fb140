//! hearth-sync — the tablet's sync engine (protocol §5–§8, issue 4).
//!
//! Three lanes, each draining its own queue: **records** (ask the server's
//! head, push sealed entries from head + 1 in batches, store receipts),
//! **blobs** (ask which files the server lacks, upload them over tus with the
//! offset saved after every chunk) and **feed** (pull pages, apply each with
//! its cursor in one transaction, start over on reset). Backoff is per lane
//! and per file. Conflicts and rejections stop a lane and raise an alert;
//! they are never retried in a loop.
//!
//! The engine keeps nothing a restart needs in memory: where to push from,
//! how far an upload got and the feed cursor are all in the store, or asked
//! of the server.
#![forbid(unsafe_code)]

mod backoff;
mod client;
mod engine;
mod enrol;
mod error;
mod rescue;

pub use backoff::Backoff;
pub use client::{FeedAnswer, RequestStats, ServerClient};
pub use engine::{LaneState, LaneStatus, SharedStore, SyncConfig, SyncEngine, SyncReport, SyncStatus};
pub use enrol::{enrol_device, enrol_technician};
pub use error::SyncError;
pub use rescue::{RescueSummary, export_rescue};

/// The device clock, in Unix milliseconds.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}
