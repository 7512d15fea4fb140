//! The Tauri shell of the tablet app: one `#[tauri::command]` per use case
//! of [`hearth_tablet::App`] (docs/app.md), and the background sync task.
//! Never SQL, never HTTP, never keys — those live in the crates below.
//!
//! Environment:
//! - `HEARTH_DATA_DIR` overrides where the store lives (tests, demos);
//!   otherwise Tauri's app data directory.
//! - `HEARTH_SERVER_URL` is the server address the first-run screen offers
//!   (`app_state().server_url` before enrolment).

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use hearth_tablet::App;
use tauri::{AppHandle, Emitter, Manager};

mod commands;

/// The event the UI listens to for sync status changes.
pub const SYNC_STATUS_EVENT: &str = "sync-status";

/// The server address to offer on first run (`HEARTH_SERVER_URL`).
fn default_server_url() -> Option<String> {
    std::env::var("HEARTH_SERVER_URL").ok().map(|s| s.trim().to_owned()).filter(|s| !s.is_empty())
}

/// Tauri's managed state: the use cases and whether sync runs.
#[derive(Debug)]
pub struct Shell {
    pub app: Arc<App>,
    /// Offered as `app_state().server_url` until the tablet is enrolled.
    pub default_server_url: Option<String>,
    sync_running: AtomicBool,
}

/// Where the tablet's store lives: `HEARTH_DATA_DIR`, else the app data dir.
fn data_dir(handle: &AppHandle) -> Result<PathBuf, String> {
    if let Some(dir) = std::env::var_os("HEARTH_DATA_DIR").filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(dir));
    }
    handle.path().app_data_dir().map_err(|e| format!("no app data directory: {e}"))
}

/// Starts the sync engine once the tablet is enrolled (at start-up and
/// right after `enrol_device`): its `run()` loops on the async runtime and
/// every status change is emitted as `sync-status`. Idempotent.
pub fn start_sync_if_enrolled(handle: &AppHandle, shell: &Shell) {
    match shell.app.app_state() {
        Ok(state) if state.enrolled => {}
        Ok(_) => return,
        Err(e) => {
            tracing::warn!("sync not started: {e}");
            return;
        }
    }
    if shell.sync_running.swap(true, Ordering::SeqCst) {
        return;
    }
    let engine = match shell.app.start_sync(hearth_tablet::SyncConfig::default()) {
        Ok(engine) => engine,
        Err(e) => {
            tracing::warn!("sync not started: {e}");
            shell.sync_running.store(false, Ordering::SeqCst);
            return;
        }
    };
    let mut status = engine.subscribe();
    tauri::async_runtime::spawn(engine.run());
    let handle = handle.clone();
    tauri::async_runtime::spawn(async move {
        loop {
            let now = status.borrow_and_update().clone();
            if let Err(e) = handle.emit(SYNC_STATUS_EVENT, now) {
                tracing::warn!("sync-status not delivered: {e}");
            }
            if status.changed().await.is_err() {
                break;
            }
        }
    });
}

fn setup(handle: &AppHandle) -> Result<(), Box<dyn std::error::Error>> {
    let dir = data_dir(handle)?;
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    tracing::info!("data directory {}", dir.display());
    let app = App::open(&dir).map_err(|e| format!("cannot open the store in {}: {e}", dir.display()))?;
    let shell = Shell {
        app: Arc::new(app),
        default_server_url: default_server_url(),
        sync_running: AtomicBool::new(false),
    };
    handle.manage(shell);
    start_sync_if_enrolled(handle, &handle.state::<Shell>());
    Ok(())
}

#[cfg_attr(mobile, tauri::mobile_entry_point)]
pub fn run() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .try_init();
    tauri::Builder::default()
        .plugin(tauri_plugin_opener::init())
        .setup(|app| setup(app.handle()))
        .invoke_handler(commands::handler())
        .run(tauri::generate_context!())
        .expect("the Hearth window runs");
}
