//! hearth-server — the central server: receives records from tablets,
//! verifies every layer (protocol §6), stores them append-only with signed
//! receipts, feeds work orders and reference data down (§7), keeps blobs
//! (tus, §5), and serves the office.
//!
//! Routes are thin: they authenticate, extract, call one function and map
//! the result. The protocol lives in hearth-protocol, the rules in
//! hearth-domain, and storage behind one trait with SQLite and PostgreSQL
//! implementations. Errors leave as `{"error", "message"}`; internal causes
//! are logged, never shown.
#![forbid(unsafe_code)]

pub mod admin;
pub mod api;
pub mod app;
pub mod auth;
pub mod blobs;
pub mod cli;
pub mod console;
pub mod demo;
pub mod error;
pub mod feed;
pub mod import;
pub mod ingest;
pub mod limits;
pub mod office;
pub mod openapi;
pub mod orders;
pub mod rules;
pub mod server_key;
pub mod state;
pub mod storage;
pub mod verify;
