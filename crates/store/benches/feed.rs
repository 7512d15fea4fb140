//! Feed apply on the tablet against the floor it stands on: 100 000
//! work-order snapshots as the server sends them (pages of 500, JSON text),
//! parsed and applied with `Store::apply_feed_page` (one transaction per
//! page, the cursor with it), against a bare rusqlite INSERT of the same
//! rows in one transaction on the same file system, in the same run.
//! Goals: ≥ 50 000 rows/s and ≤ 1.5 × the bare time.
//!
//! `cargo bench -p hearth-store --bench feed` (HEARTH_BENCH_FEED_ROWS sets the row count).

use std::time::{Duration, Instant};

use hearth_protocol::api::{FeedItem, FeedKind, FeedPage};
use hearth_store::{DeviceIdentity, Store};
use rusqlite::{Connection, params};
use serde_json::{Value, json};

/// The server's page size (`hearth_sync::SyncConfig::feed_page`).
const PAGE: usize = 500;
const ROUNDS: usize = 3;

/// A work order as the office's feed carries it: customer, address, fault,
/// appointment, milestones.
fn snapshot(n: usize) -> Value {
    json!({
        "id": format!("WO-2026-{n:07}"),
        "category": if n.is_multiple_of(3) { "temperature_test" } else { "repair" },
        "priority": if n.is_multiple_of(17) { "urgent" } else { "normal" },
        "customer": {
            "name": format!("用户{n}"),
            "phone": format!("139{:08}", n),
            "address": {
                "community": format!("阳光花园{}期", n % 40),
                "building": format!("{}号楼", n % 30 + 1),
                "unit": format!("{}单元", n % 6 + 1),
                "room": format!("{}", 100 * (n % 18 + 1) + n % 4 + 1),
            },
        },
        "fault_description": "暖气片不热，卧室温度偏低，已自行排气无效",
        "appointment": { "start": "2026-12-05T01:00:00Z", "end": "2026-12-05T03:00:00Z" },
        "received_at": "2026-12-04T23:10:00Z",
        "assigned_technicians": ["T0017", "T0023"],
        "milestones": { "running_late": false, "accepted_at": "2026-12-04T23:20:00Z" },
        "equipment_type": "散热器",
    })
}

/// The pages as they arrive: JSON text, as the sync client reads it off the wire.
fn pages(rows: usize) -> Vec<String> {
    let items: Vec<FeedItem> = (0..rows)
        .map(|n| FeedItem {
            feed_seq: n as u64 + 1,
            kind: FeedKind::WorkOrder,
            id: format!("WO-2026-{n:07}"),
            rev: 1,
            body: Some(snapshot(n)),
        })
        .collect();
    items
        .chunks(PAGE)
        .enumerate()
        .map(|(i, chunk)| {
            let page = FeedPage {
                items: chunk.to_vec(),
                cursor: format!("epoch.scope.{}", (i + 1) * PAGE),
                has_more: (i + 1) * PAGE < rows,
            };
            serde_json::to_string(&page).expect("a page serialises")
        })
        .collect()
}

fn feed_apply(
    dir: &std::path::Path,
    pages: &[String],
    rows: usize,
) -> Result<Duration, Box<dyn std::error::Error>> {
    let mut store =
        Store::open_with_identity(&dir.join("store"), DeviceIdentity::from_secret_bytes([1; 32], [2; 32]))?;
    store.set_device_id("dev-bench", 0)?;
    let started = Instant::now();
    for text in pages {
        let page: FeedPage = serde_json::from_str(text)?;
        store.apply_feed_page(&page, 1_764_900_000_000)?;
    }
    let took = started.elapsed();
    assert_eq!(store.snapshots(FeedKind::WorkOrder)?.len(), rows, "every row applied");
    Ok(took)
}

/// The same rows, already in memory as text, one prepared INSERT each in
/// one transaction: the database's own cost, nothing of Hearth's.
fn bare_insert(
    dir: &std::path::Path,
    rows: &[(String, String)],
) -> Result<Duration, Box<dyn std::error::Error>> {
    let mut conn = Connection::open(dir.join("bare.sqlite3"))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.execute(
        "CREATE TABLE feed_work_order (id TEXT PRIMARY KEY, rev INTEGER NOT NULL, body TEXT NOT NULL) STRICT",
        [],
    )?;
    let started = Instant::now();
    let tx = conn.transaction()?;
    {
        let mut insert = tx.prepare("INSERT INTO feed_work_order (id, rev, body) VALUES (?1, 1, ?2)")?;
        for (id, body) in rows {
            insert.execute(params![id, body])?;
        }
    }
    tx.commit()?;
    Ok(started.elapsed())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let rows: usize =
        std::env::var("HEARTH_BENCH_FEED_ROWS").ok().and_then(|v| v.parse().ok()).unwrap_or(100_000);
    let base = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    std::fs::create_dir_all(&base)?;
    let pages = pages(rows);
    let bare_rows: Vec<(String, String)> =
        (0..rows).map(|n| (format!("WO-2026-{n:07}"), snapshot(n).to_string())).collect();
    println!("feed apply benchmark: {rows} work-order snapshots in pages of {PAGE}, best of {ROUNDS}");

    let (mut apply, mut bare) = (Duration::MAX, Duration::MAX);
    for _ in 0..ROUNDS {
        // Interleaved, each on a fresh file, so both see the same disk and cache.
        let dir = tempfile::tempdir_in(&base)?;
        apply = apply.min(feed_apply(dir.path(), &pages, rows)?);
        bare = bare.min(bare_insert(dir.path(), &bare_rows)?);
    }
    let rate = |d: Duration| rows as f64 / d.as_secs_f64();
    println!(
        "feed apply (parse + apply)   {:>9.1} ms   {:>9.0} rows/s",
        apply.as_secs_f64() * 1e3,
        rate(apply)
    );
    println!(
        "bare INSERT, one transaction {:>9.1} ms   {:>9.0} rows/s",
        bare.as_secs_f64() * 1e3,
        rate(bare)
    );
    let ratio = apply.as_secs_f64() / bare.as_secs_f64();
    println!(
        "feed apply / bare = {ratio:.2} (goal <= 1.5: {}); {:.0} rows/s (goal >= 50 000: {})",
        if ratio <= 1.5 { "met" } else { "NOT met" },
        rate(apply),
        if rate(apply) >= 50_000.0 { "met" } else { "NOT met" }
    );
    Ok(())
}
