//! A tablet's sync as its own process, so a test can SIGKILL it mid-push or
//! mid-upload: opens the store in DIR, syncs until drained, then prints
//! `stats <json>` and `report <json>`.
//!
//! usage: tablet-sync DIR SERVER_URL BATCH_SIZE CHUNK_BYTES

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hearth_store::Store;
use hearth_sync::{SyncConfig, SyncEngine};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let [_, dir, url, batch, chunk] = args.as_slice() else {
        eprintln!("usage: tablet-sync DIR SERVER_URL BATCH_SIZE CHUNK_BYTES");
        return ExitCode::from(2);
    };
    let (Ok(batch_size), Ok(chunk_size)) = (batch.parse(), chunk.parse()) else {
        eprintln!("BATCH_SIZE and CHUNK_BYTES are numbers");
        return ExitCode::from(2);
    };
    let store = match Store::open(&PathBuf::from(dir)) {
        Ok(s) => Arc::new(Mutex::new(s)),
        Err(e) => {
            eprintln!("tablet-sync: {e}");
            return ExitCode::FAILURE;
        }
    };
    let Ok(rt) = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() else {
        return ExitCode::FAILURE;
    };
    rt.block_on(async move {
        let cfg =
            // Fixed chunks (no growth), so a test can count them.
            SyncConfig {
                batch_size,
                chunk_size,
                max_chunk_size: chunk_size,
                server_url: Some(url.clone()),
                ..SyncConfig::default()
            };
        let engine = match SyncEngine::new(store, cfg) {
            Ok(e) => e,
            Err(e) => {
                eprintln!("tablet-sync: {e}");
                return ExitCode::FAILURE;
            }
        };
        let result = engine.sync_until_drained(Duration::from_secs(300)).await;
        println!("stats {}", serde_json::to_string(&engine.request_stats()).unwrap_or_default());
        println!("report {}", serde_json::to_string(&engine.totals()).unwrap_or_default());
        match result {
            Ok(_) => ExitCode::SUCCESS,
            Err(status) => {
                eprintln!("tablet-sync: not drained: {status:?}");
                ExitCode::FAILURE
            }
        }
    })
}
