//! hearth-tests — Hearth tested as a system: the golden vectors, crash
//! tests that SIGKILL a sealing process, and (later) the server and the
//! tablet together under fault injection.
#![forbid(unsafe_code)]

pub mod app_harness;
pub mod console;
pub mod fixtures;
pub mod proxy;
pub mod system;
pub mod vectors;
pub mod visit;
pub mod webdriver;
