//! hearth-tablet — the tablet's use cases, tested without a webview. The
//! Tauri shell (`src-tauri`) is a thin adapter over [`App`]: one command per
//! method, named alike.
//!
//! It owns turning domain events into sealed records, today's work list,
//! sessions, visits, temperature tests, sign-offs, photos, the customer's
//! copy, and the `{code, message}` error shape. It must never know Tauri, keep a PIN (only the unlocked key
//! of the signed-in technician lives in memory), or put a PIN in an error.
#![forbid(unsafe_code)]

pub mod app;
mod copy;
pub mod error;
pub mod records;
pub mod temperature;
pub mod today;
pub mod views;
mod visit;

pub use app::{App, Clock, DEFAULT_TZ_OFFSET_MINUTES};
pub use error::{AppError, ErrorCode, ReviewFlag};
pub use views::*;

/// What the shell passes through unchanged: the shell depends on this
/// crate alone (docs/architecture.md).
pub use hearth_domain::input::NumberKind;
pub use hearth_domain::{StepEvidence, VisitOutcome};

/// The screens' live checks of typed numbers, by the one grammar
/// (`hearth_domain::input`): each text's integer, or `None` where refused.
pub fn parse_numbers(items: &[(NumberKind, String)]) -> Vec<Option<i64>> {
    items.iter().map(|(kind, text)| kind.parse(text)).collect()
}
pub use hearth_sync::{RescueSummary, SyncConfig, SyncStatus};
