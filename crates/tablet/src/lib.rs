//! hearth-tablet — the tablet's use cases, tested without a webview. The
//! Tauri shell (`src-tauri`) is a thin adapter over this crate.
//!
//! It holds the mapping from domain events to signed-record content and
//! today's work list; the app's other use cases (sessions, visits,
//! temperature tests) join it with issue 5.
#![forbid(unsafe_code)]

pub mod records;
pub mod today;
