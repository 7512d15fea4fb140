//! hearth-tablet — the tablet's use cases, tested without a webview. The
//! Tauri shell (`src-tauri`) is a thin adapter over this crate.
//!
//! For now it holds the mapping from domain events to signed-record content;
//! the app's use cases (sessions, today's work, visits, temperature tests)
//! join it with issue 5.
#![forbid(unsafe_code)]

pub mod records;
