//! Rescue export: a tablet that cannot reach the server exports everything
//! not yet receipted to one file; `hearth-server import` ingests it as a push
//! would; the tablet's later sync then finds everything already there.

use std::process::Command;
use std::time::Duration;

use hearth_sync::{SyncConfig, SyncEngine, export_rescue};
use hearth_tests::system::{Server, Tablet, server_binary};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_exported_day_imported_by_the_office_syncs_as_duplicates_only() {
    let server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let mut tablet = Tablet::enrol(&server, &server.base, dir.path(), "T0017").await;
    // A few records reach the server before the tablet loses its link for days.
    for _ in 0..5 {
        tablet.seal_step(&[], hearth_sync::now_ms());
    }
    let engine = SyncEngine::new(tablet.store.clone(), SyncConfig::default()).unwrap();
    engine.sync_until_drained(Duration::from_secs(120)).await.unwrap();
    let mut photos = Vec::new();
    for n in 0..500u64 {
        let attach = if n % 25 == 0 {
            let p = tablet.put_photo(1000 + n, 150_000);
            photos.push(p.clone());
            vec![p]
        } else {
            vec![]
        };
        tablet.seal_step(&attach, hearth_sync::now_ms());
    }

    let file = dir.path().join("tablet.rescue");
    let summary = export_rescue(&tablet.store.lock().unwrap(), &file, hearth_sync::now_ms()).unwrap();
    assert_eq!(summary.entries, 500, "only what has no receipt: {summary:?}");
    assert_eq!(summary.blobs, 20, "{summary:?}");

    let import = |expect: &str| {
        let out = Command::new(server_binary())
            .arg("import")
            .arg(&file)
            .arg("--database")
            .arg(server.database())
            .arg("--blobs")
            .arg(&server.blobs)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).to_string();
        assert!(out.status.success(), "import failed: {stdout}{}", String::from_utf8_lossy(&out.stderr));
        let last = stdout.lines().last().unwrap_or_default().to_owned();
        assert!(last.contains(expect), "import said {last:?}, expected {expect:?}");
    };
    import("500 accepted, 0 duplicate, 20 blobs stored, 0 already present");
    assert_eq!(server.entry_counts(&tablet.device_id), (505, 505, 1, 505));
    // Importing the same file again stores nothing twice.
    import("0 accepted, 500 duplicate, 0 blobs stored, 20 already present");
    assert_eq!(server.entry_counts(&tablet.device_id), (505, 505, 1, 505));

    // The link comes back: the tablet only learns that everything is there.
    let before = engine.totals();
    engine.connectivity_regained();
    engine.sync_until_drained(Duration::from_secs(120)).await.unwrap_or_else(|s| panic!("{s:?}"));
    let after = engine.totals();
    assert_eq!(after.accepted - before.accepted, 0, "nothing new was stored: {after:?}");
    assert_eq!(
        (after.duplicates - before.duplicates) + (after.receipts_fetched - before.receipts_fetched),
        500,
        "each exported record came back as already held: {after:?}"
    );
    assert_eq!(after.blobs_uploaded - before.blobs_uploaded, 0, "no photo sent twice");
    assert_eq!(after.blobs_already_there - before.blobs_already_there, 20);
    assert_eq!(server.entry_counts(&tablet.device_id), (505, 505, 1, 505));
    let s = tablet.store.lock().unwrap();
    assert_eq!(s.outbox_len().unwrap(), 0, "every record has its receipt");
    for p in &photos {
        let held = server.blob(&p.sha256.to_hex()).expect("imported photo on the server");
        assert_eq!(hearth_protocol::hash::blob_id(&held), p.sha256);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_export_with_nothing_pending_is_an_empty_valid_file() {
    let server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let tablet = Tablet::enrol(&server, &server.base, dir.path(), "T0017").await;
    let file = dir.path().join("empty.rescue");
    let summary = export_rescue(&tablet.store.lock().unwrap(), &file, hearth_sync::now_ms()).unwrap();
    assert_eq!((summary.entries, summary.blobs), (0, 0));
    let parsed =
        hearth_protocol::rescue::read_rescue(std::io::BufReader::new(std::fs::File::open(&file).unwrap()))
            .unwrap();
    assert_eq!(parsed.header.device_id, tablet.device_id);
    assert!(!dir.path().join("empty.partial").exists(), "no temporary left behind");
}
