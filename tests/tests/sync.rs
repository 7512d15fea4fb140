//! The sync engine against the real server: push, upload, pull, and what
//! each lane does with gaps, lost data, skewed clocks and feed resets.

use std::time::Duration;

use hearth_sync::{LaneState, SyncConfig, SyncEngine};
use hearth_tests::proxy::{FaultPlan, FaultProxy};
use hearth_tests::system::{Server, Tablet};

const DRAIN: Duration = Duration::from_secs(300);

fn receipts(tablet: &Tablet) -> u64 {
    let s = tablet.store.lock().unwrap();
    hearth_tests::system::receipt_count(&s)
}

fn pending(tablet: &Tablet) -> u64 {
    tablet.store.lock().unwrap().outbox_len().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_day_of_records_and_photos_reaches_the_server_once() {
    let server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let mut tablet = Tablet::enrol(&server, &server.base, dir.path(), "T0017").await;
    let mut photos = Vec::new();
    for i in 0..450u64 {
        let attach = if i % 90 == 0 {
            let p = tablet.put_photo(i, 520_000);
            photos.push(p.clone());
            vec![p]
        } else {
            vec![]
        };
        tablet.seal_step(&attach, hearth_sync::now_ms());
    }
    let engine = SyncEngine::new(tablet.store.clone(), SyncConfig::default()).unwrap();
    let report = engine.sync_until_drained(DRAIN).await.unwrap_or_else(|s| panic!("not drained: {s:?}"));

    assert_eq!(report.accepted, 450, "every record accepted once: {report:?}");
    assert_eq!(report.duplicates, 0);
    assert_eq!(server.entry_counts(&tablet.device_id), (450, 450, 1, 450), "contiguous, each once");
    assert_eq!(receipts(&tablet), 450, "a receipt for every record");
    assert_eq!(pending(&tablet), 0, "the outbox is empty");
    for p in &photos {
        let held = server.blob(&p.sha256.to_hex()).expect("the server holds the photo");
        assert_eq!(hearth_protocol::hash::blob_id(&held), p.sha256, "the server's copy has the right hash");
    }
    let stats = engine.request_stats();
    assert!(stats.record_requests <= 450u64.div_ceil(200) + 5, "record requests: {stats:?}");
    assert!(report.feed_items > 0, "the feed brought the technician's work orders");
    let s = tablet.store.lock().unwrap();
    let orders = s.snapshots(hearth_protocol::api::FeedKind::WorkOrder).unwrap();
    assert!(!orders.is_empty(), "work orders assigned to T0017 arrived");
    // Uploaded and receipted: the photos leave the tablet.
    for p in &photos {
        assert!(s.blob_removed(&p.sha256).unwrap(), "photo {} removed after upload", p.sha256);
        assert!(!s.blob_path(&p.sha256).exists());
    }
    assert!(s.server_clock().unwrap().is_some(), "the server clock was measured");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_photo_still_referenced_by_an_unreceipted_record_stays() {
    let server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let mut tablet = Tablet::enrol(&server, &server.base, dir.path(), "T0017").await;
    let photo = tablet.put_photo(7, 50_000);
    tablet.seal_step(std::slice::from_ref(&photo), hearth_sync::now_ms());
    let engine = SyncEngine::new(tablet.store.clone(), SyncConfig::default()).unwrap();
    engine.sync_until_drained(DRAIN).await.unwrap();
    assert!(tablet.store.lock().unwrap().blob_removed(&photo.sha256).unwrap());

    // The same photo again, in a record not yet sent: it must not be removed.
    let again = tablet.put_photo(7, 50_000);
    assert_eq!(again.sha256, photo.sha256);
    tablet.seal_step(std::slice::from_ref(&again), hearth_sync::now_ms());
    let s = tablet.store.lock().unwrap();
    assert!(!s.blob_removed(&again.sha256).unwrap(), "stored again, it is back");
    assert!(
        s.prune_uploaded_blobs(hearth_sync::now_ms()).unwrap().is_empty(),
        "a record without receipt refers to it"
    );
    assert!(s.read_blob(&again.sha256).unwrap().is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_restored_from_an_older_copy_is_told_everything_again() {
    let mut server = Server::start();
    let link = FaultProxy::start(server.addr(), FaultPlan::none()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut tablet = Tablet::enrol(&server, &server.base, dir.path(), "T0017").await;
    for _ in 0..300 {
        tablet.seal_step(&[], hearth_sync::now_ms());
    }
    let cfg = SyncConfig { server_url: Some(link.url()), ..SyncConfig::default() };
    let engine = SyncEngine::new(tablet.store.clone(), cfg).unwrap();
    engine.sync_until_drained(DRAIN).await.unwrap();
    assert_eq!(server.entry_counts(&tablet.device_id).0, 300);

    // Keep a copy of the database at 300 entries.
    let backup = server.dir.path().join("backup.db");
    server.db().execute("VACUUM INTO ?1", [backup.to_str().unwrap()]).unwrap();
    for _ in 0..200 {
        tablet.seal_step(&[], hearth_sync::now_ms());
    }
    engine.sync_until_drained(DRAIN).await.unwrap();
    assert_eq!(server.entry_counts(&tablet.device_id).0, 500);

    // Simulated loss: the server comes back on the old copy.
    server.kill();
    for ext in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{ext}", server.database_path.display()));
    }
    std::fs::copy(&backup, &server.database_path).unwrap();
    server.spawn();
    link.set_upstream(server.addr());
    for _ in 0..10 {
        tablet.seal_step(&[], hearth_sync::now_ms());
    }
    let before = engine.totals();
    let report = engine.sync_until_drained(DRAIN).await.unwrap_or_else(|s| panic!("not drained: {s:?}"));
    assert!(report.gaps >= 1, "the server said gap: {report:?}");
    assert_eq!(report.accepted, 210, "the 200 lost entries and the 10 new ones: {report:?}");
    assert_eq!(server.entry_counts(&tablet.device_id), (510, 510, 1, 510));
    assert_eq!(
        engine.totals().reissued_receipts - before.reissued_receipts,
        200,
        "lost entries were receipted again"
    );
    assert_eq!(engine.status().reissued_receipts, 200, "kept as evidence and shown");
    assert_eq!(pending(&tablet), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_clock_years_off_is_flagged_never_rejected() {
    let server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let mut tablet = Tablet::enrol(&server, &server.base, dir.path(), "T0017").await;
    let year_ms = 365 * 24 * 3600 * 1000i64;
    let now = hearth_sync::now_ms();
    tablet.seal_step(&[], now);
    tablet.seal_step(&[], now + 3 * year_ms);
    tablet.seal_step(&[], now - 5 * year_ms);
    let engine = SyncEngine::new(tablet.store.clone(), SyncConfig::default()).unwrap();
    let report = engine.sync_until_drained(DRAIN).await.unwrap_or_else(|s| panic!("not drained: {s:?}"));
    assert_eq!(report.accepted, 3, "nothing rejected: {report:?}");
    let flags: Vec<(i64, String)> = {
        let db = server.db();
        let mut stmt = db.prepare("SELECT seq, flags FROM entry WHERE device_id = ?1 ORDER BY seq").unwrap();
        stmt.query_map([&tablet.device_id], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    assert_eq!(flags.len(), 3);
    assert!(flags[1].1.contains("clock_suspect"), "years ahead flagged: {flags:?}");
    assert!(flags[2].1.contains("clock_suspect"), "years behind flagged: {flags:?}");
    let s = tablet.store.lock().unwrap();
    let clock = s.server_clock().unwrap().expect("measured");
    assert!(clock.offset_ms.abs() < 60_000, "this machine's clock and the server's agree: {clock:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_conflict_stops_the_record_lane_with_an_alert_and_nothing_else() {
    let server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let mut tablet = Tablet::enrol(&server, &server.base, dir.path(), "T0017").await;
    tablet.seal_step(&[], hearth_sync::now_ms());
    let engine = SyncEngine::new(tablet.store.clone(), SyncConfig::default()).unwrap();
    engine.sync_until_drained(DRAIN).await.unwrap();

    // A tablet restored from nothing that kept working: the same device,
    // the same seq, another entry — a fork.
    let forked_dir = tempfile::tempdir().unwrap();
    let mut other = tablet.fork_into(forked_dir.path());
    other.seal_step(&[], hearth_sync::now_ms());
    let forked = other.store.clone();
    let engine = SyncEngine::new(forked.clone(), SyncConfig::default()).unwrap();
    let status = engine.sync_until_drained(DRAIN).await.expect_err("a fork never drains");
    let records = status.lanes.iter().find(|l| l.lane == "records").unwrap();
    assert!(
        matches!(&records.state, LaneState::Stopped { code, .. } if code.contains("fork")),
        "stopped with a fork alert: {records:?}"
    );
    assert_eq!(pending(&other), 1, "the record stays queued, never dropped");
    // A stopped lane stays stopped after a restart.
    let engine = SyncEngine::new(forked.clone(), SyncConfig::default()).unwrap();
    engine.sync_now().await;
    assert!(matches!(engine.status().lanes[0].state, LaneState::Stopped { .. }));
    assert_eq!(server.entry_counts(&other.device_id).0, 1, "the server kept its own entry 1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_engine_runs_by_itself_and_says_what_it_is_doing() {
    let server = Server::start();
    // The tablet's link goes through a proxy that can go offline: losing the
    // signal, not the server (a killed server's port may be taken by another
    // test's server meanwhile, which would answer 401 instead).
    let link = FaultProxy::start(server.addr(), FaultPlan::none()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut tablet = Tablet::enrol(&server, &server.base, dir.path(), "T0017").await;
    let cfg = SyncConfig { server_url: Some(link.url()), ..SyncConfig::default() };
    let engine = SyncEngine::new(tablet.store.clone(), cfg).unwrap();
    let task = tokio::spawn(engine.clone().run());
    let mut status = engine.subscribe();
    // A sealed record and a nudge: it goes out without anyone asking.
    tablet.seal_step(&[], hearth_sync::now_ms());
    engine.nudge();
    // The records lane's own success: an empty blob lane also "succeeds",
    // and before the engine has counted the new record nothing is pending.
    wait_for(&mut status, "the record is receipted", |s| {
        s.pending_records == 0 && s.lanes[0].last_success_ms.is_some()
    })
    .await;

    // The link goes away: the record waits, the lane backs off, and the status says why.
    link.set_offline(true);
    tablet.seal_step(&[], hearth_sync::now_ms());
    engine.nudge();
    let s = wait_for(&mut status, "the records lane backs off", |s| {
        matches!(s.lanes[0].state, LaneState::BackingOff { .. }) && s.pending_records == 1
    })
    .await;
    let (code, words) = s.last_error.clone().expect("the failure is shown");
    assert!(
        code == "server_unreachable" || code == "connection_interrupted",
        "a network failure, in plain words: {code}: {words}"
    );
    assert!(s.oldest_pending_ms.is_some(), "the age of the oldest pending item is known");

    // Back online: it drains and the error clears.
    link.set_offline(false);
    engine.connectivity_regained();
    wait_for(&mut status, "drained after reconnecting", |s| s.pending_records == 0).await;
    assert_eq!(server.entry_counts(&tablet.device_id), (2, 2, 1, 2));
    wait_for(&mut status, "the error clears", |s| s.last_error.is_none()).await;
    task.abort();
}

async fn wait_for(
    rx: &mut tokio::sync::watch::Receiver<hearth_sync::SyncStatus>,
    what: &str,
    cond: impl FnMut(&hearth_sync::SyncStatus) -> bool,
) -> hearth_sync::SyncStatus {
    let waited = tokio::time::timeout(Duration::from_secs(60), rx.wait_for(cond)).await;
    let found = waited.map(|r| r.map(|s| s.clone()));
    match found {
        Ok(status) => status.expect("the engine is alive"),
        Err(_) => panic!("timed out waiting until {what}; the status was {:?}", rx.borrow().clone()),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batches_fit_the_body_limit_and_a_413_halves_them() {
    let server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let mut tablet = Tablet::enrol(&server, &server.base, dir.path(), "T0017").await;
    let mut note = serde_json::Map::new();
    note.insert("note".into(), serde_json::json!("暖气片阀门锈死，已更换。".repeat(700)));
    for _ in 0..400 {
        tablet.seal_step_with(&[], hearth_sync::now_ms(), note.clone());
    }
    // Each entry is ~20 KB on the wire: 200 of them would be ~4 MB, over the 2 MiB limit.
    let engine = SyncEngine::new(tablet.store.clone(), SyncConfig::default()).unwrap();
    let report = engine.sync_until_drained(DRAIN).await.unwrap();
    assert_eq!(report.batches_halved, 0, "sized before sending: no 413 {report:?}");
    assert_eq!(report.accepted, 400);

    // A client that believes in bigger bodies meets the server's 413 and halves.
    let dir = tempfile::tempdir().unwrap();
    let mut tablet = Tablet::enrol(&server, &server.base, dir.path(), "T0023").await;
    for _ in 0..300 {
        tablet.seal_step_with(&[], hearth_sync::now_ms(), note.clone());
    }
    let cfg = SyncConfig { max_batch_bytes: 64 * 1024 * 1024, ..SyncConfig::default() };
    let engine = SyncEngine::new(tablet.store.clone(), cfg).unwrap();
    let report = engine.sync_until_drained(DRAIN).await.unwrap_or_else(|s| panic!("{s:?}"));
    assert!(report.batches_halved >= 1, "413 answered and the batch halved: {report:?}");
    assert_eq!(report.accepted, 300);
    assert_eq!(server.entry_counts(&tablet.device_id), (300, 300, 1, 300));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rejected_record_stops_the_lane_once_and_is_never_retried_in_a_loop() {
    let server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let mut tablet = Tablet::enrol(&server, &server.base, dir.path(), "T0017").await;
    tablet.seal_step(&[], hearth_sync::now_ms());
    // Signed with a key the server never bound to this tablet.
    tablet.replace_key_locally();
    tablet.seal_step(&[], hearth_sync::now_ms());
    tablet.seal_step(&[], hearth_sync::now_ms());
    let engine = SyncEngine::new(tablet.store.clone(), SyncConfig::default()).unwrap();
    let status = engine.sync_until_drained(DRAIN).await.expect_err("a rejection never drains");
    let records = &status.lanes[0];
    assert!(
        matches!(&records.state, LaneState::Stopped { code, .. } if code.starts_with("rejected_")),
        "stopped with the reason: {records:?}"
    );
    let (code, _) = status.last_error.clone().expect("an alert with the reason");
    assert!(code.starts_with("rejected_"), "{code}");
    assert_eq!(server.entry_counts(&tablet.device_id).0, 1, "the first record went through");
    assert_eq!(pending(&tablet), 2, "the refused records stay on the tablet");
    let pushes = engine.request_stats().record_requests;
    for _ in 0..3 {
        engine.sync_now().await;
    }
    assert_eq!(engine.request_stats().record_requests, pushes, "no retry loop against a rejection");
    // The other lanes keep working.
    assert!(!matches!(status.lanes[2].state, LaneState::Stopped { .. }), "the feed still runs");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_killed_mid_sync_and_restarted_loses_and_duplicates_nothing() {
    let mut server = Server::start();
    let link = FaultProxy::start(server.addr(), FaultPlan::none()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut tablet = Tablet::enrol(&server, &server.base, dir.path(), "T0017").await;
    for _ in 0..2000 {
        tablet.seal_step(&[], hearth_sync::now_ms());
    }
    let quick = hearth_sync::Backoff { base: Duration::from_millis(200), cap: Duration::from_secs(2) };
    let cfg =
        SyncConfig { batch_size: 25, backoff: quick, server_url: Some(link.url()), ..SyncConfig::default() };
    let engine = SyncEngine::new(tablet.store.clone(), cfg).unwrap();
    let syncing = {
        let engine = engine.clone();
        tokio::spawn(async move { engine.sync_until_drained(DRAIN).await })
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    while server.entry_counts(&tablet.device_id).0 < 300 {
        assert!(std::time::Instant::now() < deadline, "sync did not start");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    server.kill();
    let at_kill = server.entry_counts(&tablet.device_id).0;
    assert!(at_kill < 2000, "killed mid-sync at {at_kill}");
    tokio::time::sleep(Duration::from_millis(500)).await;
    server.spawn();
    link.set_upstream(server.addr());
    syncing.await.unwrap().unwrap_or_else(|s| panic!("not drained after the restart: {s:?}"));
    assert_eq!(server.entry_counts(&tablet.device_id), (2000, 2000, 1, 2000), "each entry once, contiguous");
    assert_eq!(receipts(&tablet), 2000);
    assert!(engine.totals().transient_failures >= 1, "the restart was noticed: {:?}", engine.totals());
}

/// Issue 16 item 6: with the server down "last synced" moved on (a lane with
/// nothing to send counted as a success), and once it was back the red
/// "cannot reach the server" stayed and records waited out the backoff —
/// minutes. While a lane waits out a failure a cheap probe asks whether the
/// server is back; when it answers, everything waiting leaves at once. The
/// test drives the probe tick by tick: the backoff here is ten minutes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_killed_and_restarted_is_noticed_by_the_next_probe_and_what_waits_leaves_at_once() {
    let mut server = Server::start();
    let link = FaultProxy::start(server.addr(), FaultPlan::none()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut tablet = Tablet::enrol(&server, &server.base, dir.path(), "T0017").await;
    let slow = hearth_sync::Backoff { base: Duration::from_secs(600), cap: Duration::from_secs(600) };
    let cfg = SyncConfig {
        backoff: slow,
        blob_backoff: slow,
        probe_interval: Duration::from_millis(100),
        server_url: Some(link.url()),
        ..SyncConfig::default()
    };
    let engine = SyncEngine::new(tablet.store.clone(), cfg).unwrap();
    tablet.seal_step(&[], hearth_sync::now_ms());
    engine.sync_until_drained(DRAIN).await.unwrap_or_else(|s| panic!("{s:?}"));
    let synced = engine.status();
    let last_receipt = synced.last_receipt_ms.expect("a record reached the server");
    assert_eq!(engine.probe().await, None, "nothing failing: nothing to probe");

    // The server dies. Passes with nothing to send claim no success.
    server.kill();
    engine.sync_now().await;
    let down = engine.status();
    assert_eq!(down.last_receipt_ms, Some(last_receipt), "\"last synced\" stands still");
    for (before, after) in synced.lanes.iter().zip(&down.lanes) {
        assert_eq!(before.last_success_ms, after.last_success_ms, "no lane succeeded while down: {after:?}");
    }
    assert!(down.last_error.is_some(), "the failure is shown: {down:?}");

    // Work goes on: records and a photo wait, the lanes back off for ten minutes.
    let photo = tablet.put_photo(7, 60_000);
    tablet.seal_step(std::slice::from_ref(&photo), hearth_sync::now_ms());
    tablet.seal_step(&[], hearth_sync::now_ms());
    engine.sync_now().await;
    let waiting = engine.status();
    assert_eq!((waiting.pending_records, waiting.pending_blobs), (2, 1));
    assert!(waiting.lanes.iter().any(|l| matches!(l.state, LaneState::BackingOff { .. })), "{waiting:?}");
    for _ in 0..3 {
        assert!(engine.probe_tick().await.is_none(), "the server is still away");
    }
    assert_eq!(engine.status().pending_records, 2);

    // It comes back: the next probe tick notices, and everything leaves in that tick.
    server.spawn();
    link.set_upstream(server.addr());
    let report = engine.probe_tick().await.expect("the probe reached the restarted server");
    assert_eq!(report.accepted, 2, "{report:?}");
    let back = engine.status();
    assert_eq!((back.pending_records, back.pending_blobs), (0, 0), "{back:?}");
    assert_eq!(back.last_error, None, "the red \"cannot reach the server\" is gone");
    assert!(back.lanes.iter().all(|l| l.state == LaneState::Idle), "no backoff left: {back:?}");
    assert!(
        back.last_receipt_ms.is_some_and(|t| t > last_receipt),
        "\"last synced\" moved with the receipts"
    );
    assert_eq!(server.entry_counts(&tablet.device_id), (3, 3, 1, 3));
    assert!(server.blob(&photo.sha256.to_hex()).is_some(), "the photo went too");

    // The engine running by itself probes too: a second outage with the
    // same ten-minute backoff ends as soon as the server is back.
    let task = tokio::spawn(engine.clone().run());
    let mut status = engine.subscribe();
    server.kill();
    tablet.seal_step(&[], hearth_sync::now_ms());
    engine.nudge();
    wait_for(&mut status, "the records lane backs off", |s| {
        s.pending_records == 1 && matches!(s.lanes[0].state, LaneState::BackingOff { .. })
    })
    .await;
    server.spawn();
    link.set_upstream(server.addr());
    wait_for(&mut status, "the record leaves long before the backoff ends", |s| s.pending_records == 0).await;
    assert_eq!(server.entry_counts(&tablet.device_id).0, 4);
    task.abort();
}
