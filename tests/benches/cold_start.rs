//! App cold start (issue 17): the real `hearth-app` under Xvfb, from exec
//! to its first interactive element (the sign-in button; WebDriver polled
//! every 10 ms), on a store holding 1 000 sealed and receipted records and
//! 500 work orders, against an empty Tauri 2 app (`tests/empty-app`: one
//! window, one button, the same Tauri and build profile) from exec to its
//! button. Runs alternate between the two, HEARTH_BENCH_COLD_RUNS each
//! (default 5); the medians are compared. Goal: ≤ 1.3 × the empty app.
//!
//! Both are the debug builds `cargo test --workspace` makes (a release
//! build of two Tauri apps would add minutes to CI); the ratio compares
//! like with like. The server is stopped before the app starts: a tablet in
//! a basement starts without a network, and sync runs in the background.
//!
//! `cargo bench --workspace --bench cold_start`, after `cargo test
//! --workspace --no-run` (both apps) and `cargo bench --workspace --bench
//! '*' --no-run` (the release server), as `.ci/run` does.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use hearth_protocol::api::{FeedItem, FeedKind, FeedPage};
use hearth_sync::{SyncConfig, SyncEngine};
use hearth_tests::app_harness::cold_starts;
use hearth_tests::system::{Server, Tablet, profile_dir};
use serde_json::json;

const RECORDS: u64 = 1000;
const ORDERS: usize = 500;

/// A debug binary of the workspace, where `cargo test` put it:
/// `HEARTH_DEBUG_BIN_DIR` (when the benches have a target directory of
/// their own, as in `.ci/run`), else `debug/` beside this bench's profile.
fn debug_binary(name: &str) -> Result<PathBuf, String> {
    let dir = match std::env::var_os("HEARTH_DEBUG_BIN_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => profile_dir().parent().ok_or("no target directory")?.join("debug"),
    };
    let bin = dir.join(name);
    if bin.is_file() {
        Ok(bin)
    } else {
        Err(format!("{} is missing: run `cargo test --workspace --no-run` first", bin.display()))
    }
}

/// 500 work orders as the office's feed would bring them.
fn orders_page() -> FeedPage {
    let items = (0..ORDERS)
        .map(|n| FeedItem {
            feed_seq: n as u64 + 1,
            kind: FeedKind::WorkOrder,
            id: format!("WO-COLD-{n:05}"),
            rev: 1,
            body: Some(json!({
                "id": format!("WO-COLD-{n:05}"),
                "category": if n.is_multiple_of(4) { "temperature_test" } else { "repair" },
                "priority": "normal",
                "customer": {
                    "name": format!("用户{n}"),
                    "phone": format!("139{n:08}"),
                    "address": {
                        "community": "阳光花园",
                        "building": format!("{}号楼", n % 20 + 1),
                        "unit": format!("{}单元", n % 4 + 1),
                        "room": format!("{}", 101 + n % 30),
                    },
                },
                "fault_description": "暖气不热",
                "received_at": "2026-12-04T23:10:00Z",
                "assigned_technicians": ["T0017"],
            })),
        })
        .collect();
    FeedPage { items, cursor: "cold-start".into(), has_more: false }
}

/// A tablet's store as a working day leaves it: enrolled, a technician,
/// 1 000 records sealed and receipted, 500 orders from the feed.
async fn working_store(dir: &Path) -> Result<(), String> {
    let server = Server::start();
    let mut tablet = Tablet::enrol(&server, &server.base, dir, "T0017").await;
    for _ in 0..RECORDS {
        tablet.seal_step(&[], hearth_sync::now_ms());
    }
    let engine = SyncEngine::new(tablet.store.clone(), SyncConfig::default()).map_err(|e| e.to_string())?;
    engine.sync_until_drained(Duration::from_secs(300)).await.map_err(|s| format!("not drained: {s:?}"))?;
    tablet
        .store
        .lock()
        .map_err(|e| e.to_string())?
        .apply_feed_page(&orders_page(), hearth_sync::now_ms())
        .map_err(|e| e.to_string())?;
    Ok(())
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

async fn run(runs: usize) -> Result<(), String> {
    let app = debug_binary("hearth-app")?;
    let empty = debug_binary("hearth-empty-app")?;
    let data = tempfile::tempdir().map_err(|e| e.to_string())?;
    working_store(data.path()).await?;
    let empty_data = tempfile::tempdir().map_err(|e| e.to_string())?;
    // Nothing listens here: the server is down, as in a basement.
    let offline = "http://127.0.0.1:9";
    println!(
        "cold start: hearth-app ({RECORDS} records, {ORDERS} orders) vs an empty Tauri 2 app, {runs} runs each, alternating"
    );
    let (mut app_times, mut empty_times) = (Vec::new(), Vec::new());
    for _ in 0..runs {
        empty_times.extend(cold_starts(&empty, empty_data.path(), offline, "[data-testid=ready]", 1).await?);
        app_times.extend(cold_starts(&app, data.path(), offline, "[data-testid=sign-in]", 1).await?);
    }
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let show = |v: &[Duration]| v.iter().map(|d| format!("{:.0}", ms(*d))).collect::<Vec<_>>().join(" ");
    println!("empty Tauri app   runs (ms): {}", show(&empty_times));
    println!("hearth-app        runs (ms): {}", show(&app_times));
    let (a, e) = (median(app_times), median(empty_times));
    let ratio = a.as_secs_f64() / e.as_secs_f64();
    println!(
        "median: hearth-app {:.0} ms, empty app {:.0} ms: {ratio:.2} x (goal <= 1.3): {}",
        ms(a),
        ms(e),
        if ratio <= 1.3 { "met" } else { "NOT met" }
    );
    Ok(())
}

fn main() -> ExitCode {
    let runs =
        std::env::var("HEARTH_BENCH_COLD_RUNS").ok().and_then(|v| v.parse().ok()).unwrap_or(5usize).max(1);
    let Ok(rt) = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() else {
        return ExitCode::FAILURE;
    };
    match rt.block_on(run(runs)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("cold start bench FAILED: {e}");
            ExitCode::FAILURE
        }
    }
}
